# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which manifests a kubernetes.core.k8s write would leave unchanged, judged from objects already read.

A role reads the cluster before it plans; on a re-run most of the objects it then writes are
already as it would write them. Those writes cost a module run each and change nothing. These
functions tell them apart from that read, and err towards writing: an object counts as in place
only when kubernetes.core.k8s provably changes nothing.

- ``state: present`` (a merge patch onto the live object): every field of the manifest is in the
  live object with the same value (dicts recursively; a list the same length, item by item).
- ``apply: true`` (a three-way patch against the last-applied-configuration annotation): the
  same, and the annotation holds exactly this manifest, so that nothing is removed and the
  annotation is not rewritten.

Anything else (a value of another type, a quantity spelled otherwise, a list in another order,
a missing annotation) counts as not in place, and the write runs as it always did.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _absent_is_same(value):
    """A null field (which a merge patch deletes) or an empty map or list (which the API server
    does not keep) is in place where the live object lacks it."""
    return value is None or value == {} or value == []


def contained(wanted, live):
    """Whether every field of ``wanted`` is in ``live`` with the same value."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(
            (live.get(key) is None and _absent_is_same(value)) or (value is not None and key in live and contained(value, live[key]))
            for key, value in wanted.items())
    if isinstance(wanted, list):
        return isinstance(live, list) and len(wanted) == len(live) and all(contained(a, b) for a, b in zip(wanted, live))
    if isinstance(wanted, bool) or isinstance(live, bool):
        return isinstance(wanted, bool) and isinstance(live, bool) and wanted == live
    if isinstance(wanted, (int, float)) and isinstance(live, (int, float)):
        return wanted == live
    if isinstance(wanted, str) or isinstance(live, str):
        return isinstance(wanted, str) and isinstance(live, str) and wanted == live
    return False


def _without_last_applied(manifest):
    meta = dict(manifest.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(LAST_APPLIED, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return dict(manifest, metadata=meta)


def last_applied(live):
    """The manifest the live object's last-applied-configuration annotation holds, or None."""
    text = (((live or {}).get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def in_place(manifest, live, applied=False):
    """Whether writing ``manifest`` over ``live`` (the object as read; None when it does not
    exist) with kubernetes.core.k8s (``apply: true`` when ``applied``) would change nothing."""
    if not live:
        return False
    if applied and last_applied(live) != _without_last_applied(manifest):
        return False
    return contained(_without_last_applied(manifest) if applied else manifest, live)


def _identity(obj):
    meta = (obj or {}).get("metadata") or {}
    group = ((obj or {}).get("apiVersion") or "").rpartition("/")[0]
    return (group, (obj or {}).get("kind"), meta.get("namespace") or "", meta.get("name"))


def to_write(manifests, live_objects, applied=False):
    """The manifests that are not in place, in their order. ``live_objects`` are the objects read
    (any kinds; matched by API group, kind, namespace and name). An object the read did not return
    is written."""
    live = dict((_identity(obj), obj) for obj in live_objects or [] if isinstance(obj, dict))
    return [m for m in manifests or [] if not in_place(m, live.get(_identity(m)), applied)]
