# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision of the migrate_pvc role, in one place (the migrate_pvc_plan action plugin).

``plan(inputs, observed)`` takes the role's variables (without the prefix) and what the role read
so far, and returns what its tasks need. Pure: plain dicts in and out, no I/O.

The role calls it three times in its preflight: with nothing read (the variables' problems), with
the claim, its saved copy (the ConfigMap, and the controller's file when there is one) and the new
StorageClass (what to do, the claim to create, the backup to write and its digest), and, before
anything is deleted, with the pods of the namespace, its quotas, the server-side dry run of the
replacement and the volume the claim is bound to (the guards: pods using the claim, what the API
server would refuse, a volume whose reclaim policy would delete its data, the confirmation naming
the claim).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, linstor
from ansible_collections.gpufleet.cluster.plugins.module_utils.node_inputs import path_problem
from ansible_collections.gpufleet.cluster.plugins.plugin_utils import dry_run
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.migrate_pvc import backup, claims
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import first_object

CLAIMS = ("current", "backup", "storage_class")
# Read with the claims when migrate_pvc_backup_dir is set: the text of the controller's backup file
# (None when there is none).
FILES = ("backup_file",)
GUARDS = ("pods", "quotas", "dry_run", "volume")
OBSERVED = tuple(sorted(set(CLAIMS + FILES + GUARDS)))
# The variables the role no longer takes, and what replaced them (a breaking change).
RETIRED = {"confirm_data_loss": "migrate_pvc_confirm (the claim's '<namespace>/<claim>', for one run only)"}
# Reclaim policies under which deleting the claim deletes (or scrubs) the volume's data.
LOSSY_POLICIES = ("Delete", "Recycle")
# The actions that delete the claim (and its data).
DESTRUCTIVE = ("replace", "restore")
BACKUP_KEY = "claim.json"
DRY_RUN_SUFFIX = "-gpufleet-dry-run"


def backup_name(s):
    return "%s-pvc-backup" % s["name"]


def _variable_problems(s):
    """The new claim's variables, as the linstor role checks its claims (a size, mode and access
    modes left empty take the old claim's: checked with a stand-in)."""
    claim = {"name": s["name"], "namespace": s["namespace"], "storage_class": s["storage_class"],
             "size": s["size"] or "1Gi", "volume_mode": s["volume_mode"] or "Filesystem",
             "access_modes": s["access_modes"] or ["ReadWriteOnce"]}
    problems = [p.replace("@[0].", "migrate_pvc_").replace("@[0]", "migrate_pvc") for p in linstor.pvc_problems("@", [claim])]
    # The role deletes and recreates a claim: never among the cluster's own components.
    if s["namespace"] in checks.RESERVED_NAMESPACES:
        problems.append("migrate_pvc_namespace=%r is a namespace Kubernetes keeps for its own components (%s); the "
                        "role deletes and recreates claims and does not do that there: move the claim's workload to a "
                        "namespace of its own" % (s["namespace"], ", ".join(checks.RESERVED_NAMESPACES)))
    # The controller directory the old claim's definition is written to: absolute, clean, no system directory.
    problem = path_problem("migrate_pvc_backup_dir", s["backup_dir"]) if s["backup_dir"] else None
    problems += [problem] if problem else []
    problems += ["migrate_pvc_%s is no longer taken: use %s instead. Nothing was changed." % (name, RETIRED[name])
                 for name in sorted(RETIRED) if name in s]
    if s["confirm"] and s["confirm"] != _target(s):
        problems.append("migrate_pvc_confirm=%r does not name the claim this run would act on (%s); it takes exactly "
                        "'<namespace>/<claim>' of migrate_pvc_namespace and migrate_pvc_name. Nothing was changed. "
                        "Correct it, or check migrate_pvc_name and migrate_pvc_namespace." % (s["confirm"], _target(s)))
    if s["rollback_digest"]:
        problem = backup.digest_problem(s["rollback_digest"])
        if problem:
            problems.append("migrate_pvc_rollback_digest=%s; copy it from the migrating run's output ('Say how to "
                            "roll back')." % problem)
    if s["delete_volume"] and not checks.is_dns_subdomain(s["delete_volume"]):
        problems.append(checks.dns_subdomain_problem("migrate_pvc_delete_volume", s["delete_volume"], "pvc-0b7e3c52"))
    if checks.parse_boolean(s["retain_volume"]) is True and s["delete_volume"]:
        problems.append("migrate_pvc_retain_volume=true and migrate_pvc_delete_volume=%r contradict each other: keep "
                        "the volume or delete it. Nothing was changed. Set only one." % s["delete_volume"])
    return problems


def _target(s):
    return "%s/%s" % (s["namespace"], s["name"])


def _backup_fix(s):
    return ("delete it (a migration writes it again) or put back the claim the file under migrate_pvc_backup_dir "
            "holds (%s_%s.json)" % (s["namespace"], s["name"]))


def saved_from_backup(s, config_map):
    """``(claim, problems)``: the claim the backup ConfigMap holds, or why it cannot be used. Only
    exactly a PersistentVolumeClaim of this name in this namespace with the fields of
    ``backup.FIELDS`` is taken: whoever can write that ConfigMap must not make the job create
    anything else with its credentials. A field outside them is refused, not dropped: a backup
    this role wrote never has one, so it was put there by hand."""
    where = "ConfigMap %s/%s" % (s["namespace"], backup_name(s))
    saved = backup.parse(((config_map or {}).get("data") or {}).get(BACKUP_KEY))
    if saved is None:
        return None, ["%s holds no claim under %s (not a JSON object); %s. Nothing was changed."
                      % (where, BACKUP_KEY, _backup_fix(s))]
    found = backup.shape_problems(saved, s["namespace"], s["name"])
    if found:
        return None, ["%s %s; %s. Nothing was changed." % (where, "; ".join(found), _backup_fix(s))]
    return backup.restorable(saved), []


def _file_digest(s, text):
    """``(digest, problems)`` of the controller's backup file (None: there is none)."""
    if text is None:
        return "", []
    where = "%s/%s_%s.json" % (s["backup_dir"].rstrip("/"), s["namespace"], s["name"])
    saved = backup.parse(text)
    if saved is None:
        found = ["holds no JSON object"]
    else:
        found = backup.shape_problems(backup.restorable(saved), s["namespace"], s["name"])
    if found:
        return "", ["the backup file %s (migrate_pvc_backup_dir) is not the claim's backup: it %s. Nothing was changed. "
                    "Move it away, or give migrate_pvc_rollback_digest." % (where, "; ".join(found))]
    return backup.digest(backup.restorable(saved)), []


def trusted_digest(s, observed):
    """``(digest, source, problems)``: the digest a rollback checks the ConfigMap against, from out of
    the namespace writer's reach: migrate_pvc_rollback_digest, else the controller's backup file."""
    found, problems = _file_digest(s, observed.get("backup_file"))
    if s["rollback_digest"]:
        return s["rollback_digest"], "migrate_pvc_rollback_digest", problems
    return found, ("the backup file under migrate_pvc_backup_dir" if found else ""), problems


def _digest_problems(s, saved, observed, rollback):
    """The ConfigMap's claim checked against the trusted digest. A rollback needs one; a re-run after
    an interrupted migration checks it when there is one (without, it only takes the new claim's
    size, modes and labels from the backup: a claim the namespace's writers could create anyway)."""
    wanted, source, problems = trusted_digest(s, observed)
    if problems:
        return problems
    have = backup.digest(saved)
    where = "ConfigMap %s/%s" % (s["namespace"], backup_name(s))
    if not wanted:
        if not rollback:
            return []
        return ["migrate_pvc_rollback=true restores the claim the %s holds, which anyone who can write ConfigMaps in "
                "%s can rewrite; the role restores it only against a digest from outside the cluster. Nothing was "
                "changed. Give migrate_pvc_rollback_digest, as the migrating run printed it ('Say how to roll back'). "
                "Lost it? The ConfigMap holds now %s, whose digest is %s: check that it is the claim you want back, "
                "then give that digest." % (where, s["namespace"], json.dumps(saved, sort_keys=True), have)]
    if have != wanted:
        return ["the %s holds a claim whose digest %s is not %s (%s): it changed since the migration saved it. Nothing "
                "was changed. It holds now %s; %s." % (where, have, wanted, source, json.dumps(saved, sort_keys=True),
                                                       _backup_fix(s))]
    return []


def backup_config_map(s, current):
    """The ConfigMap the old claim's definition is saved in before it is deleted."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": backup_name(s), "namespace": s["namespace"],
                         "labels": {"app.kubernetes.io/managed-by": "gpufleet.cluster",
                                    "gpufleet.cluster/backup-of": s["name"]}},
            "data": {BACKUP_KEY: json.dumps(backup.restorable(current), sort_keys=True)}}


def _claims_step(s, observed):
    current = first_object(observed.get("current"))
    rollback = checks.parse_boolean(s["rollback"]) is True
    problems, saved = [], None
    config_map = first_object(observed.get("backup"))
    # The backup is only read when it is used: a migration writes it anew.
    if config_map and (rollback or not current):
        saved, problems = saved_from_backup(s, config_map)
        if saved:
            problems = _digest_problems(s, saved, observed, rollback)
            saved = saved if not problems else None
    if not rollback and not first_object(observed.get("storage_class")):
        problems.append("migrate_pvc_storage_class=%s does not exist in the cluster; create it first "
                        "(playbooks/storage.yml) or name an existing class." % s["storage_class"])
    wanted = claims.new_claim(current or saved, s["name"], s["namespace"], s["storage_class"], s["size"],
                              s["volume_mode"], s["access_modes"])
    decided = claims.action(current, saved, wanted, rollback)
    if decided["action"] == "error" and not problems:
        problems.append("claim %s/%s: %s%s." % (
            s["namespace"], s["name"], decided["reason"],
            " (migrate_pvc_rollback=true needs the ConfigMap %s a migration writes)" % backup_name(s) if rollback
            else "; set migrate_pvc_size"))
    replacement = saved if rollback else wanted
    result = {"problems": problems, "action": decided["action"], "reason": decided["reason"],
              "replacement": replacement, "destructive": decided["action"] in DESTRUCTIVE}
    if current:
        result["saved_claim"] = backup.restorable(current)
        result["backup_digest"] = backup.digest(result["saved_claim"])
        result["backup_config_map"] = backup_config_map(s, current)
        result["volume_name"] = (current.get("spec") or {}).get("volumeName") or ""
    if replacement:
        # The old claim still holds the real name: the dry run takes a name of its own.
        result["dry_run_claim"] = dict(replacement, metadata=dict(replacement["metadata"],
                                                                  name=s["name"][:200] + DRY_RUN_SUFFIX))
    return result


def _guards_step(s, observed, step):
    """``(problems, retain)`` before anything is deleted: the pods that use the claim, what the API
    server would refuse (a quota decided again without the old claim, which the dry run still
    counts), the confirmation naming the claim, and the bound volume (see ``_volume_guard``)."""
    problems = []
    where = "%s/%s" % (s["namespace"], s["name"])
    users = linstor.pods_using_claim(observed.get("pods") or [], s["namespace"], s["name"])
    if users:
        problems.append("claim %s is used by %s; deleting it would leave them without their volume (and Kubernetes "
                        "keeps it until they stop). Scale them down or delete them, then run again."
                        % (where, ", ".join(users)))
    refused = dry_run.refusal(observed.get("dry_run"))
    if refused:
        why = refused
        if "exceeded quota" in refused:
            current = first_object(observed.get("current"))
            why = "; ".join(claims.quota_problems(observed.get("quotas") or [], current, step["replacement"]))
        if why:
            problems.append("the API server refuses the new claim %s (%s), so the old claim was not deleted. Nothing "
                            "was changed. Fix what it names (e.g. the namespace's ResourceQuota, migrate_pvc_size, "
                            "migrate_pvc_storage_class), then run again." % (where, why))
    current = first_object(observed.get("current")) or {}
    if s["confirm"] != _target(s):
        problems.append("%s claim %s (%s -> %s) deletes the claim; its volume goes as its reclaim policy says. Nothing "
                        "was changed. Run again with migrate_pvc_confirm=%s (for this run only: leave it out of "
                        "inventories) to go ahead."
                        % ("rolling back" if step["action"] == "restore" else "moving", where,
                           (current.get("spec") or {}).get("storageClassName") or "?",
                           step["replacement"]["spec"].get("storageClassName"), where))
    retain, found = _volume_guard(s, step, first_object(observed.get("volume")))
    return problems + found, retain


def _volume_guard(s, step, volume):
    """``(retain, problems)``: the bound volume whose policy the role sets to Retain before the
    delete (or ''), and why the delete is refused. A volume whose reclaim policy is Delete (or
    Recycle) loses its data with the claim: refused unless migrate_pvc_retain_volume (keep it) or
    migrate_pvc_delete_volume naming it (lose it)."""
    name = step.get("volume_name") or ""
    policy = ((volume or {}).get("spec") or {}).get("persistentVolumeReclaimPolicy") if name else None
    lossy = policy in LOSSY_POLICIES
    where = "%s/%s" % (s["namespace"], s["name"])
    if s["delete_volume"] and (not lossy or s["delete_volume"] != name):
        return "", ["migrate_pvc_delete_volume=%r does not name the volume this run would delete: claim %s is %s. "
                    "Nothing was changed. Leave migrate_pvc_delete_volume out%s." % (
                        s["delete_volume"], where,
                        "bound to PersistentVolume %s (reclaim policy %s)" % (name, policy) if name and volume
                        else "bound to no volume" if not name else "bound to PersistentVolume %s, which is gone" % name,
                        ", or set it to %s" % name if lossy else "")]
    if not lossy or s["delete_volume"] == name:
        return "", []
    if checks.parse_boolean(s["retain_volume"]) is True:
        return name, []
    return "", ["claim %s is bound to PersistentVolume %s, whose reclaim policy %s deletes the volume and all of its "
                "data with the claim (a rollback brings back an empty claim, never the data). Nothing was changed. "
                "Set migrate_pvc_retain_volume=true (the role sets the volume's policy to Retain first: it stays, "
                "Released, with its data, for you to copy from and delete), or migrate_pvc_delete_volume=%s to "
                "accept the loss." % (where, name, policy, name)]


def plan(inputs, observed):
    """What the role's tasks need at the step ``observed`` names (see the module's docstring)."""
    if not any(key in observed for key in CLAIMS):
        return {"problems": _variable_problems(inputs)}
    result = _claims_step(inputs, observed)
    if not result["problems"] and result["destructive"] and all(key in observed for key in GUARDS):
        problems, result["retain_volume"] = _guards_step(inputs, observed, result)
        result["problems"].extend(problems)
    return result
