"""A Released volume the collection made, bound again to the claim made anew; anything else refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.volume_binding import blocked_binding, claim_conflict, rebind

OWNER = {"app.kubernetes.io/managed-by": "gpufleet.cluster.tensor_fusion"}
VAR = "tensor_fusion_greptimedb_volume_name"


def _pv(ref=None, labels=None, phase="Released"):
    spec = {"persistentVolumeReclaimPolicy": "Retain"}
    if ref is not None:
        spec["claimRef"] = dict({"apiVersion": "v1", "kind": "PersistentVolumeClaim"}, **ref)
    return {"metadata": {"name": "gt-pv", "labels": OWNER if labels is None else labels},
            "spec": spec, "status": {"phase": phase}}


def _claim(uid, namespace="gt", name="data"):
    return {"metadata": {"name": name, "namespace": namespace, "uid": uid}}


STALE = {"namespace": "gt", "name": "data", "uid": "old-uid", "resourceVersion": "42"}


@pytest.mark.parametrize("pv, claim", [
    (None, None),                                                               # no volume yet
    ({}, None),
    (_pv(None, phase="Available"), None),                                       # free
    (_pv({"namespace": "gt", "name": "data"}, phase="Available"), None),        # pre-bound, claim not made yet
    (_pv({"namespace": "gt", "name": "data"}, phase="Available"), _claim("new")),
    (_pv(dict(STALE, uid="new"), phase="Bound"), _claim("new")),                # bound to the claim as it is
])
def test_nothing_to_do(pv, claim):
    assert rebind(pv, claim, "gt", "data", OWNER, VAR) == {"action": "none", "message": "", "patch": None}


@pytest.mark.parametrize("claim", [None, _claim("new-uid")])
def test_a_released_volume_of_ours_is_rebound_keeping_its_data(claim):
    got = rebind(_pv(STALE), claim, "gt", "data", OWNER, VAR)
    assert got["action"] == "rebind"
    # Only the stale uid and resourceVersion go: the claimRef still names the claim, so no
    # other claim can take the volume in between; nothing else of the volume changes.
    assert got["patch"] == {"spec": {"claimRef": {"uid": None, "resourceVersion": None}}}
    assert "gt-pv" in got["message"] and "gt/data" in got["message"] and "old-uid" in got["message"]


def test_a_volume_for_any_claim_loses_its_whole_claimref():
    got = rebind(_pv(STALE, labels={"lab": "x"}), None, None, None, {"lab": "x"}, "lab volume")
    assert got["action"] == "rebind" and got["patch"] == {"spec": {"claimRef": None}}


@pytest.mark.parametrize("pv, why", [
    (_pv(dict(STALE, name="other")), "claimed by gt/other"),                     # another claim's data
    (_pv(dict(STALE, namespace="team-b")), "claimed by team-b/data"),
    (_pv({"namespace": "gt", "name": "other"}, phase="Available"), "claimed by gt/other"),
    (_pv(STALE, labels={}), "not made by this collection"),                       # someone else's volume
    (_pv(STALE, labels={"app.kubernetes.io/managed-by": "Helm"}), "app.kubernetes.io/managed-by=Helm"),
])
def test_what_is_not_ours_to_rebind_is_refused_naming_the_volume_and_the_variable(pv, why):
    got = rebind(pv, None, "gt", "data", OWNER, VAR)
    assert got["action"] == "refuse" and got["patch"] is None
    assert why in got["message"] and "gt-pv" in got["message"] and VAR in got["message"]


def test_a_wait_that_cannot_succeed_is_named():
    assert blocked_binding(_pv(STALE), _claim("new-uid")) == (
        "PersistentVolume gt-pv is still reserved for an earlier claim gt/data (uid old-uid), not the claim of "
        "that name that exists now (uid new-uid)")
    assert "claimed by gt/other" in blocked_binding(_pv(dict(STALE, name="other")), _claim("new-uid"))
    for pv, claim in [(_pv(STALE), _claim("old-uid")), (_pv({"namespace": "gt", "name": "data"}), _claim("x")),
                      (_pv(None), _claim("x")), (None, _claim("x")), (_pv(STALE), None), ({}, {})]:
        assert blocked_binding(pv, claim) == ""


def _claim_with(volume, storage_class):
    return {"metadata": {"namespace": "ns", "name": "data"},
            "spec": {"volumeName": volume, "storageClassName": storage_class}}


@pytest.mark.parametrize("have", [None, {}, _claim_with("pv-a", "fast"), _claim_with("", "fast")])
def test_a_claim_absent_or_as_wanted_has_no_conflict(have):
    assert claim_conflict(have, "pv-a", "fast", "v_volume", "v_class") == ""


def test_a_claim_bound_to_another_volume_names_the_variable_and_both_volumes():
    message = claim_conflict(_claim_with("pv-old", "fast"), "pv-a", "fast", "v_volume", "v_class")
    assert message.startswith("PersistentVolumeClaim ns/data already exists, and v_volume=pv-a (the claim is bound "
                              "to volume pv-old): ")
    assert "Set v_volume back to the claim's" in message and "v_class" not in message


def test_a_claim_of_another_class_and_volume_names_both_variables():
    message = claim_conflict(_claim_with("pv-old", "slow"), "pv-a", "fast", "v_volume", "v_class")
    assert "v_volume=pv-a (the claim is bound to volume pv-old) and v_class=fast (the claim's StorageClass is slow)" \
        in message
    assert "Set v_volume and v_class back" in message
