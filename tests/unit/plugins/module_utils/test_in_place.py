"""module_utils.in_place: which writes would change nothing, from objects already read."""

import json

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.in_place import LAST_APPLIED, contained, in_place, to_write


def _sc(name, params=None, **extra):
    manifest = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
                "provisioner": "linstor.csi.linbit.com", "parameters": params or {"placementCount": "1"}}
    manifest.update(extra)
    return manifest


def _live(manifest, applied=None, **server_fields):
    """``manifest`` as the API returns it: server fields added, and the annotation kubernetes.core's
    apply writes (``applied``: the manifest it holds)."""
    live = json.loads(json.dumps(manifest))
    live["metadata"].update(uid="u-1", resourceVersion="7", creationTimestamp="2026-12-05T00:00:00Z")
    if applied is not None:
        annotations = live["metadata"].setdefault("annotations", {})
        annotations[LAST_APPLIED] = json.dumps(applied, sort_keys=True, separators=(",", ":"))
    live.update(server_fields)
    return live


@pytest.mark.parametrize("wanted, live, expected", [
    ({"a": "1"}, {"a": "1", "b": 2}, True),
    ({"a": "1"}, {"a": 1}, False),              # another type: written
    ({"a": 1}, {"a": 1.0}, True),
    ({"a": True}, {"a": 1}, False),
    ({"a": [1, 2]}, {"a": [1, 2]}, True),
    ({"a": [1, 2]}, {"a": [2, 1]}, False),      # another order: written
    ({"a": [{"n": "x"}]}, {"a": [{"n": "x", "d": 0}]}, True),
    ({"a": [1]}, {"a": [1, 2]}, False),
    ({"a": None}, {"b": 1}, True),              # a merge patch's null deletes: nothing to delete
    ({"a": None}, {"a": 1}, False),
    ({"a": {"b": "1Gi"}}, {"a": {"b": "1024Mi"}}, False),  # a quantity spelled otherwise: written
    ({"a": {}}, {}, True),                      # an empty map the API server does not keep
    ({"a": []}, {"b": 1}, True),
    ({"a": {}}, {"a": {"x": "1"}}, True),
    ({"a": {"x": "1"}}, {}, False),
])
def test_contained(wanted, live, expected):
    assert contained(wanted, live) is expected


def test_a_merge_patch_write_is_in_place_when_every_field_is_there():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}
    assert in_place(ns, _live(ns, status={"phase": "Active"}))
    changed = json.loads(json.dumps(ns))
    changed["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "restricted"
    assert not in_place(changed, _live(ns))
    assert not in_place(ns, None)
    assert not in_place(ns, {})


def test_an_apply_needs_the_annotation_to_hold_exactly_this_manifest():
    sc = _sc("fast")
    assert in_place(sc, _live(sc, applied=sc), applied=True)
    # Applied by hand (kubectl create) or by a merge patch: apply would write the annotation.
    assert not in_place(sc, _live(sc), applied=True)
    # A field the last apply set and this one drops: apply would remove it from the live object.
    before = _sc("fast", mountOptions=["noatime"])
    assert not in_place(sc, _live(before, applied=before), applied=True)
    # A field someone changed by hand since the last apply: apply puts it back.
    edited = _live(sc, applied=sc)
    edited["parameters"]["placementCount"] = "2"
    assert not in_place(sc, edited, applied=True)
    # An annotation that is not JSON is no proof.
    broken = _live(sc)
    broken["metadata"]["annotations"] = {LAST_APPLIED: "{not json"}
    assert not in_place(sc, broken, applied=True)


def test_an_apply_manifest_that_carries_the_annotation_itself_is_compared_without_it():
    sc = _sc("fast")
    stale = dict(sc, metadata={"name": "fast", "annotations": {LAST_APPLIED: "{}"}})
    assert in_place(stale, _live(sc, applied=sc), applied=True)


def test_to_write_keeps_the_order_and_matches_by_group_kind_namespace_and_name():
    fast, slow = _sc("fast"), _sc("slow", {"placementCount": "2"})
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "fast", "namespace": "a"},
             "spec": {"storageClassName": "fast"}}
    live = [_live(fast, applied=fast), _live(dict(claim, metadata={"name": "fast", "namespace": "b"}))]
    assert to_write([slow, fast, claim], live, applied=True) == [slow, claim]
    assert to_write([fast], [], applied=True) == [fast]
    assert to_write([], live) == []
    # The same name in another API group is another object.
    other = dict(fast, apiVersion="example.io/v1")
    assert to_write([other], live, applied=True) == [other]
