# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A volume the collection made, left Released by a deleted claim, bound again to the new claim.

With persistentVolumeReclaimPolicy Retain, deleting a claim (or its namespace) leaves its volume
``Released``: the data stays, and ``spec.claimRef`` still holds the deleted claim's uid. The
PersistentVolume controller never binds such a volume again, so a claim made anew with the same
name (pre-bound with ``volumeName`` or by selector) stays Pending for ever. Clearing the stale
uid (and resourceVersion) from ``claimRef`` is the documented way to reuse the volume and its
data ("Reclaiming", Kubernetes' persistent volumes concept); the controller then binds it to the
claim that ``claimRef`` names.

Pure functions over the objects as the API returns them (dicts); no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MANAGED_BY = "app.kubernetes.io/managed-by"


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _ref_text(ref):
    return "%s/%s" % (ref.get("namespace") or "?", ref.get("name") or "?")


def rebind(pv, claim, namespace, name, owner, variable):
    """What to do with the existing volume ``pv`` so that the claim ``namespace``/``name`` binds it.

    ``claim`` is that claim as it is now (None when it does not exist yet); ``owner`` the labels
    (a dict) that mark the volume as made by the caller; ``variable`` the variable that names the
    volume, for the messages. ``namespace`` and ``name`` None: the volume may serve any claim (a
    stand-in for a provisioned volume), so a stale claimRef is removed whole.

    Returns ``{"action": "none" | "rebind" | "refuse", "message": str, "patch": dict or None}``:
    ``patch`` is a JSON merge patch for the volume.
    """
    result = {"action": "none", "message": "", "patch": None}
    if not pv:
        return result
    pv_name = _meta(pv).get("name") or "?"
    ref = ((pv.get("spec") or {}).get("claimRef")) or {}
    if not ref:
        return result
    anyone = namespace is None and name is None
    if not anyone and (ref.get("namespace"), ref.get("name")) != (namespace, name):
        result.update(action="refuse", message=(
            "PersistentVolume %s (%s) is claimed by %s, not by %s/%s: it holds another claim's data. Set %s to "
            "another name, or, if that data is to be given to %s/%s, delete the claim %s and clear the volume's "
            "spec.claimRef yourself" % (pv_name, variable, _ref_text(ref), namespace, name, variable, namespace, name,
                                        _ref_text(ref))))
        return result
    uid = ref.get("uid")
    if not uid:
        return result  # pre-bound and not bound yet: the controller binds it to the claim it names
    claim_uid = _meta(claim).get("uid") if claim else None
    if uid == claim_uid:
        return result  # bound to the claim as it is
    labels = _meta(pv).get("labels") or {}
    if any(labels.get(key) != value for key, value in (owner or {}).items()):
        result.update(action="refuse", message=(
            "PersistentVolume %s (%s) is Released: its claim %s (uid %s) was deleted, and the volume was not made by "
            "this collection (labels %s, not %s), so its data is not re-bound here. Set %s to another name, or clear "
            "the volume's spec.claimRef.uid yourself to give its data to the new claim"
            % (pv_name, variable, _ref_text(ref), uid, _sorted(labels), _sorted(owner), variable)))
        return result
    if anyone:
        patch = {"spec": {"claimRef": None}}
        how = "its claimRef is removed so that a new claim binds it"
    else:
        patch = {"spec": {"claimRef": {"uid": None, "resourceVersion": None}}}
        how = "its claimRef's stale uid is cleared so that the new claim %s/%s binds it" % (namespace, name)
    result.update(action="rebind", patch=patch, message=(
        "PersistentVolume %s keeps the data of the claim %s (uid %s), which was deleted; %s, with that data"
        % (pv_name, _ref_text(ref), uid, how)))
    return result


def blocked_binding(pv, claim):
    """Why ``claim``, pre-bound to ``pv``, can never bind it ('' when nothing stands in the way).

    A wait on such a claim cannot succeed: the volume's claimRef names another claim, or the same
    name with another uid (a claim deleted and made again while the volume was Released).
    """
    if not pv or not claim:
        return ""
    ref = ((pv.get("spec") or {}).get("claimRef")) or {}
    meta = _meta(claim)
    if not ref:
        return ""
    pv_name = _meta(pv).get("name") or "?"
    if (ref.get("namespace"), ref.get("name")) != (meta.get("namespace"), meta.get("name")):
        return ("PersistentVolume %s is claimed by %s, not by %s/%s"
                % (pv_name, _ref_text(ref), meta.get("namespace"), meta.get("name")))
    if ref.get("uid") and meta.get("uid") and ref["uid"] != meta["uid"]:
        return ("PersistentVolume %s is still reserved for an earlier claim %s (uid %s), not the claim of that name "
                "that exists now (uid %s)" % (pv_name, _ref_text(ref), ref["uid"], meta["uid"]))
    return ""


def claim_conflict(claim, volume, storage_class, volume_variable, class_variable):
    """Why the existing ``claim`` cannot be given ``volume`` and ``storage_class`` ('' when it can).

    A claim's ``spec.volumeName`` (once set) and ``spec.storageClassName`` cannot change: the API
    server refuses the patch, half-way through a run. ``volume_variable`` and ``class_variable``
    name the variables that gave ``volume`` and ``storage_class``, for the message.
    """
    if not claim:
        return ""
    meta, spec = _meta(claim), claim.get("spec") or {}
    have_volume, have_class = spec.get("volumeName") or "", spec.get("storageClassName")
    changes = []
    if have_volume and have_volume != volume:
        changes.append("%s=%s (the claim is bound to volume %s)" % (volume_variable, volume, have_volume))
    if have_class is not None and have_class != storage_class:
        changes.append("%s=%s (the claim's StorageClass is %s)" % (class_variable, storage_class, have_class))
    if not changes:
        return ""
    return ("PersistentVolumeClaim %s/%s already exists, and %s: a claim's volume and StorageClass cannot change. "
            "Set %s back to the claim's, or move its data, delete the claim (and what uses it) and run again"
            % (meta.get("namespace") or "?", meta.get("name") or "?", " and ".join(changes),
               " and ".join(c.split("=", 1)[0] for c in changes)))


def _sorted(labels):
    return ", ".join("%s=%s" % kv for kv in sorted((labels or {}).items())) or "none"
