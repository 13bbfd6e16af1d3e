# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision of the migrate_pvc role, in one place (the migrate_pvc_plan action plugin).

``plan(inputs, observed)`` takes the role's variables (without the prefix) and what the role read
so far, and returns what its tasks need. Pure: plain dicts in and out, no I/O.

The role calls it three times in its preflight: with nothing read (the variables' problems), with
the claim, its saved copy and the new StorageClass (what to do, the claim to create, the backup to
write), and, before anything is deleted, with the pods of the namespace, its quotas and the
server-side dry run of the replacement (the guards: pods using the claim, what the API server
would refuse, the confirmation).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, linstor
from ansible_collections.gpufleet.cluster.plugins.module_utils.node_inputs import path_problem
from ansible_collections.gpufleet.cluster.plugins.plugin_utils import dry_run
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.migrate_pvc import claims
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import first_object

CLAIMS = ("current", "backup", "storage_class")
GUARDS = ("pods", "quotas", "dry_run")
OBSERVED = tuple(sorted(set(CLAIMS + GUARDS)))
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
    return problems + ([problem] if problem else [])


def saved_from_backup(s, config_map):
    """``(claim, problem)``: the claim the backup ConfigMap holds, cut down to what a claim is
    recreated from, or the reason it cannot be used. Only a PersistentVolumeClaim of this name in
    this namespace is taken: whoever can write that ConfigMap must not make the job create anything
    else with its credentials."""
    where = "ConfigMap %s/%s" % (s["namespace"], backup_name(s))
    fix = ("delete it (a migration writes it again) or put back the file migrate_pvc_backup_dir holds "
           "(%s_%s.json)" % (s["namespace"], s["name"]))
    text = ((config_map or {}).get("data") or {}).get(BACKUP_KEY)
    try:
        saved = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        saved = None
    if not isinstance(saved, dict):
        return None, "%s holds no claim under %s (not JSON); %s" % (where, BACKUP_KEY, fix)
    meta = saved.get("metadata") if isinstance(saved.get("metadata"), dict) else {}
    found = (saved.get("apiVersion"), saved.get("kind"), meta.get("namespace"), meta.get("name"))
    if found != ("v1", "PersistentVolumeClaim", s["namespace"], s["name"]):
        return None, ("%s holds %s, not the PersistentVolumeClaim %s/%s it was written for; %s"
                      % (where, "/".join(str(part) for part in found), s["namespace"], s["name"], fix))
    return linstor.saved_claim(saved), ""


def backup_config_map(s, current):
    """The ConfigMap the old claim's definition is saved in before it is deleted."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": backup_name(s), "namespace": s["namespace"],
                         "labels": {"app.kubernetes.io/managed-by": "gpufleet.cluster",
                                    "gpufleet.cluster/backup-of": s["name"]}},
            "data": {BACKUP_KEY: json.dumps(linstor.saved_claim(current), sort_keys=True)}}


def _claims_step(s, observed):
    current = first_object(observed.get("current"))
    rollback = checks.parse_boolean(s["rollback"]) is True
    problems, saved = [], None
    backup = first_object(observed.get("backup"))
    if backup:
        saved, problem = saved_from_backup(s, backup)
        if problem:
            problems.append(problem)
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
        result["saved_claim"] = linstor.saved_claim(current)
        result["backup_config_map"] = backup_config_map(s, current)
    if replacement:
        # The old claim still holds the real name: the dry run takes a name of its own.
        result["dry_run_claim"] = dict(replacement, metadata=dict(replacement["metadata"],
                                                                  name=s["name"][:200] + DRY_RUN_SUFFIX))
    return result


def _guards_step(s, observed, step):
    """Before anything is deleted: the pods that use the claim, what the API server would refuse
    (a quota decided again without the old claim, which the dry run still counts), the confirmation."""
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
    if checks.parse_boolean(s["confirm_data_loss"]) is not True:
        current = first_object(observed.get("current")) or {}
        problems.append("moving claim %s (%s -> %s) deletes the claim and, with it, all of its data. Nothing was "
                        "changed. Run again with confirm_data_loss=true (migrate_pvc_confirm_data_loss) to go ahead."
                        % (where, (current.get("spec") or {}).get("storageClassName") or "?",
                           step["replacement"]["spec"].get("storageClassName")))
    return problems


def plan(inputs, observed):
    """What the role's tasks need at the step ``observed`` names (see the module's docstring)."""
    if not any(key in observed for key in CLAIMS):
        return {"problems": _variable_problems(inputs)}
    result = _claims_step(inputs, observed)
    if not result["problems"] and result["destructive"] and all(key in observed for key in GUARDS):
        result["problems"].extend(_guards_step(inputs, observed, result))
    return result
