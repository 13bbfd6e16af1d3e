# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migrate_pvc role's backup of a claim: what is saved, its digest, and what a rollback may
take back from it. Pure: no I/O.

Whoever can write a ConfigMap in the claim's namespace can rewrite the backup, digest included if
it were kept there. So the role keeps nothing it trusts in the cluster: a backup is only restored
when the sha256 of its claim equals a digest from outside the namespace writer's reach (the one the
migrating run printed, passed back as ``migrate_pvc_rollback_digest``, or the one of the file the
migrating run wrote on the controller under ``migrate_pvc_backup_dir``). And whatever the backup
holds, a rollback only ever creates a PersistentVolumeClaim of the role's name in the role's
namespace from ``FIELDS``: anything else is refused before anything changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks

# The only parts of a claim a backup keeps and a rollback creates. Dropped on purpose: annotations
# (provisioners read some as parameters), spec.selector (would bind another team's Available PV),
# spec.volumeName (binds a named PV), dataSource / dataSourceRef (clone another claim's data),
# resources.limits, volumeAttributesClassName; uid, status and the binding annotations are the old
# claim's, never a new one's.
FIELDS = ("apiVersion", "kind", "metadata.name", "metadata.namespace", "metadata.labels", "spec.storageClassName",
          "spec.accessModes", "spec.volumeMode", "spec.resources.requests.storage")
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
VOLUME_MODES = ("Filesystem", "Block")
PREFIX = "sha256:"


def restorable(claim):
    """A claim (live or saved) cut down to ``FIELDS``."""
    claim = claim if isinstance(claim, dict) else {}
    meta = claim.get("metadata") if isinstance(claim.get("metadata"), dict) else {}
    spec = claim.get("spec") if isinstance(claim.get("spec"), dict) else {}
    kept_meta = {"name": meta.get("name"), "namespace": meta.get("namespace")}
    if meta.get("labels"):
        kept_meta["labels"] = meta["labels"]
    kept_spec = {}
    for field in ("storageClassName", "accessModes", "volumeMode"):
        if spec.get(field) is not None:
            kept_spec[field] = spec[field]
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is not None:
        kept_spec["resources"] = {"requests": {"storage": storage}}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": kept_meta, "spec": kept_spec}


def canonical(claim):
    """The bytes the digest is taken over: JSON with sorted keys, no spaces, ASCII only."""
    return json.dumps(claim, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def digest(claim):
    """``sha256:<hex>`` of the claim's canonical JSON."""
    return PREFIX + hashlib.sha256(canonical(claim)).hexdigest()


def _paths(value, prefix=""):
    """Every leaf path of a dict, dotted (``spec.resources.requests.storage``); a dict of labels is
    one leaf (its keys are data, not fields)."""
    if isinstance(value, dict) and value and prefix != "metadata.labels":
        found = []
        for key in value:
            found += _paths(value[key], "%s.%s" % (prefix, key) if prefix else str(key))
        return found
    return [prefix]


def extra_fields(claim):
    """The fields of ``claim`` outside ``FIELDS``, sorted."""
    return sorted(path for path in _paths(claim) if path and path not in FIELDS)


def shape_problems(claim, namespace, name):
    """What makes ``claim`` (parsed from a backup) something other than the restorable claim of
    ``namespace/name``: its kind, name, namespace, a field outside ``FIELDS``, a value of the wrong
    type. Empty when it is exactly such a claim."""
    if not isinstance(claim, dict):
        return ["holds no JSON object"]
    meta = claim.get("metadata") if isinstance(claim.get("metadata"), dict) else {}
    found = (claim.get("apiVersion"), claim.get("kind"), meta.get("namespace"), meta.get("name"))
    if found != ("v1", "PersistentVolumeClaim", namespace, name):
        return ["holds %s, not the PersistentVolumeClaim %s/%s it was written for"
                % ("/".join(str(part) for part in found), namespace, name)]
    problems = []
    extra = extra_fields(claim)
    if extra:
        problems.append("has field(s) a backup never holds: %s" % ", ".join(extra))
    spec = claim.get("spec") if isinstance(claim.get("spec"), dict) else {}
    if not isinstance(spec.get("storageClassName"), str) or not checks.is_dns_subdomain(spec["storageClassName"]):
        problems.append("has spec.storageClassName %r, not a StorageClass name" % (spec.get("storageClassName"),))
    modes = spec.get("accessModes")
    if not isinstance(modes, list) or not modes or any(m not in ACCESS_MODES for m in modes):
        problems.append("has spec.accessModes %r, not access modes (%s)" % (modes, ", ".join(ACCESS_MODES)))
    if spec.get("volumeMode", "Filesystem") not in VOLUME_MODES:
        problems.append("has spec.volumeMode %r, not %s" % (spec.get("volumeMode"), " or ".join(VOLUME_MODES)))
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if not isinstance(storage, str) or checks.parse_quantity(storage) is None:
        problems.append("has spec.resources.requests.storage %r, not a Kubernetes quantity" % (storage,))
    labels = meta.get("labels", {})
    if not isinstance(labels, dict) or checks.labels_problems("metadata.labels", labels):
        problems.append("has metadata.labels %r, not Kubernetes labels" % (labels,))
    return problems


def parse(text):
    """The JSON object ``text`` holds, or None."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def digest_problem(value):
    """Why ``value`` is not a digest this module writes (``sha256:`` and 64 lowercase hex digits), or ''."""
    hexpart = value[len(PREFIX):] if isinstance(value, str) and value.startswith(PREFIX) else ""
    if len(hexpart) == 64 and all(c in "0123456789abcdef" for c in hexpart):
        return ""
    return "%r is not a digest of this role (sha256: and 64 lowercase hex digits, as the migrating run printed it)" % (
        value,)
