# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migrate_pvc role's claims: what the new claim is, what a run has to do, and what a
namespace's quotas say about the replacement.

``action`` looks at the claim in the cluster, the saved backup and the wanted claim, and says
whether to do nothing, replace the claim (delete + create), create it (an earlier run was
interrupted after the delete), or restore the backup. Pure: no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks
from ansible_collections.gpufleet.cluster.plugins.module_utils.linstor import saved_claim


def _spec_key(claim):
    spec = (claim or {}).get("spec") or {}
    return (spec.get("storageClassName"), spec.get("volumeMode") or "Filesystem",
            ((spec.get("resources") or {}).get("requests") or {}).get("storage"),
            tuple(sorted(spec.get("accessModes") or [])))


def new_claim(base, name, namespace, storage_class, size="", volume_mode="", access_modes=None):
    """The new claim: the old one's labels, size, access and volume mode unless given."""
    base = saved_claim(base) if base else {"metadata": {}, "spec": {}}
    spec = base.get("spec") or {}
    meta = {"name": name, "namespace": namespace}
    if (base.get("metadata") or {}).get("labels"):
        meta["labels"] = base["metadata"]["labels"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta,
        "spec": {
            "storageClassName": storage_class,
            "accessModes": list(access_modes or spec.get("accessModes") or ["ReadWriteOnce"]),
            "volumeMode": volume_mode or spec.get("volumeMode") or "Filesystem",
            "resources": {"requests": {"storage": size or ((spec.get("resources") or {}).get("requests") or {}).get("storage")}},
        },
    }


def action(current, backup, wanted, rollback=False):
    """{action, reason}: action is none, replace, create or restore (see the module docstring)."""
    if rollback:
        if not backup:
            return {"action": "error", "reason": "no saved claim to restore: the migration never saved one"}
        if current and _spec_key(current) == _spec_key(backup):
            return {"action": "none", "reason": "the claim already is the saved one"}
        return {"action": "restore" if current else "create-backup", "reason": "restore the saved claim"}
    if not wanted["spec"]["resources"]["requests"]["storage"]:
        return {"action": "error", "reason": "no size for the new claim"}
    if current is None:
        return {"action": "create", "reason": "the claim does not exist (an earlier run deleted it, or it never existed)"}
    if _spec_key(current) == _spec_key(wanted):
        return {"action": "none", "reason": "the claim already has the new definition"}
    return {"action": "replace", "reason": "the claim's class, size, mode or access modes differ from the new definition"}


def _claim_usage(claim):
    """What a claim counts against a ResourceQuota (pkg/quota/v1/evaluator/core/persistent_volume_claims.go):
    its storage request and itself, in total and for its StorageClass. None counts nothing."""
    if not claim:
        return {}
    spec = claim.get("spec") or {}
    storage = checks.parse_quantity(((spec.get("resources") or {}).get("requests") or {}).get("storage")) or 0
    usage = {"requests.storage": storage, "persistentvolumeclaims": 1}
    klass = spec.get("storageClassName")
    if klass:
        usage["%s.storageclass.storage.k8s.io/requests.storage" % klass] = storage
        usage["%s.storageclass.storage.k8s.io/persistentvolumeclaims" % klass] = 1
    return usage


def quota_problems(quotas, old, new):
    """The namespace's ResourceQuotas the new claim would exceed once the old one is gone.

    A server-side dry run of the replacement counts the old claim too (it still exists), so a quota
    that admits the migration can refuse the dry run; this is the quota admission's arithmetic with
    the old claim's usage taken off: used - old + new <= hard, for every claim resource the quota
    limits (status.used as the quota controller last counted it)."""
    before, after = _claim_usage(old), _claim_usage(new)
    problems = []
    for quota in quotas or []:
        name = (quota.get("metadata") or {}).get("name")
        status = quota.get("status") or {}
        hard, used = status.get("hard") or {}, status.get("used") or {}
        for resource in sorted(set(before) | set(after)):
            if resource not in hard:
                continue
            limit = checks.parse_quantity(hard[resource])
            current = checks.parse_quantity(used.get(resource, "0")) or 0
            if limit is None:
                continue
            then = current - before.get(resource, 0) + after.get(resource, 0)
            if then > limit:
                problems.append("ResourceQuota %s: %s would be %s of %s" % (name, resource, _quantity(then), hard[resource]))
    return problems


def _quantity(number):
    for suffix, power in (("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if number and number % (2 ** power) == 0:
            return "%d%s" % (number / (2 ** power), suffix)
    return "%s" % number.normalize() if hasattr(number, "normalize") else str(number)
