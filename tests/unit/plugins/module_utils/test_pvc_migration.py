"""migrate_pvc's decisions: the new claim and what a run has to do."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils.pvc_migration import new_claim, plan

OLD = {"metadata": {"name": "c", "namespace": "ns", "uid": "1", "labels": {"app": "x"}},
       "spec": {"storageClassName": "rook", "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                "resources": {"requests": {"storage": "200Gi"}}, "volumeName": "pv-1"},
       "status": {"phase": "Bound"}}


def test_new_claim_keeps_what_is_not_given():
    claim = new_claim(OLD, "c", "ns", "linstor-fast-cache")
    assert claim == {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "c", "namespace": "ns", "labels": {"app": "x"}},
                     "spec": {"storageClassName": "linstor-fast-cache", "accessModes": ["ReadWriteOnce"],
                              "volumeMode": "Filesystem", "resources": {"requests": {"storage": "200Gi"}}}}
    other = new_claim(OLD, "c", "ns", "linstor-fast-cache", "1Ti", "Block", ["ReadWriteOncePod"])
    assert other["spec"]["resources"]["requests"]["storage"] == "1Ti"
    assert other["spec"]["volumeMode"] == "Block" and other["spec"]["accessModes"] == ["ReadWriteOncePod"]
    assert new_claim(None, "c", "ns", "x", "1Gi")["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_plan():
    wanted = new_claim(OLD, "c", "ns", "linstor-fast-cache")
    assert plan(OLD, None, wanted)["action"] == "replace"
    assert plan(dict(OLD, spec=wanted["spec"]), None, wanted)["action"] == "none"
    assert plan(None, OLD, wanted)["action"] == "create"  # interrupted after the delete
    assert plan(OLD, None, new_claim(None, "c", "ns", "x"))["action"] == "error"  # no size known
    assert plan(None, None, new_claim(None, "c", "ns", "x"))["action"] == "error"
    # Rollback
    current = dict(OLD, spec=wanted["spec"])
    assert plan(current, OLD, wanted, rollback=True)["action"] == "restore"
    assert plan(OLD, OLD, wanted, rollback=True)["action"] == "none"
    assert plan(None, OLD, wanted, rollback=True)["action"] == "create-backup"
    assert plan(current, None, wanted, rollback=True)["action"] == "error"
