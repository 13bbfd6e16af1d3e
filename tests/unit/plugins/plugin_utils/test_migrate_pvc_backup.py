"""plugin_utils.migrate_pvc.backup: what a backup keeps, its digest, and what a rollback refuses (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

import pytest

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.migrate_pvc import backup

LIVE = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "c", "namespace": "ns", "uid": "u-1", "resourceVersion": "7", "labels": {"app": "x"},
                     "annotations": {"pv.kubernetes.io/bind-completed": "yes", "nfs.io/storage-path": "../../etc"},
                     "finalizers": ["kubernetes.io/pvc-protection"]},
        "spec": {"storageClassName": "rook", "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                 "resources": {"requests": {"storage": "200Gi"}, "limits": {"storage": "300Gi"}},
                 "volumeName": "pv-1", "selector": {"matchLabels": {"team": "a"}},
                 "dataSource": {"kind": "PersistentVolumeClaim", "name": "other"}},
        "status": {"phase": "Bound"}}
SAVED = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "c", "namespace": "ns", "labels": {"app": "x"}},
         "spec": {"storageClassName": "rook", "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                  "resources": {"requests": {"storage": "200Gi"}}}}


def test_a_backup_keeps_only_the_whitelisted_fields():
    assert backup.restorable(LIVE) == SAVED
    assert backup.restorable(SAVED) == SAVED
    assert backup.extra_fields(SAVED) == []
    assert backup.extra_fields(LIVE) == [
        "metadata.annotations.nfs.io/storage-path", "metadata.annotations.pv.kubernetes.io/bind-completed",
        "metadata.finalizers", "metadata.resourceVersion", "metadata.uid", "spec.dataSource.kind",
        "spec.dataSource.name", "spec.resources.limits.storage", "spec.selector.matchLabels.team", "spec.volumeName",
        "status.phase"]
    # A claim without labels or volume mode keeps none.
    bare = {"metadata": {"name": "c", "namespace": "ns", "labels": {}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    assert backup.restorable(bare) == {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                       "metadata": {"name": "c", "namespace": "ns"},
                                       "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "1Gi"}}}}


def test_the_digest_is_sha256_over_canonical_json():
    text = ('{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"labels":{"app":"x"},"name":"c",'
            '"namespace":"ns"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"200Gi"}},'
            '"storageClassName":"rook","volumeMode":"Filesystem"}}')
    assert backup.canonical(SAVED) == text.encode("ascii")
    assert backup.digest(SAVED) == "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()
    # Key order does not matter; any value does.
    reordered = dict(reversed(list(SAVED.items())))
    assert backup.digest(reordered) == backup.digest(SAVED)
    assert backup.digest(dict(SAVED, spec=dict(SAVED["spec"], storageClassName="rook2"))) != backup.digest(SAVED)
    assert backup.digest_problem(backup.digest(SAVED)) == ""


@pytest.mark.parametrize("value", ["", "abc", "sha256:", "sha256:" + "A" * 64, "md5:" + "a" * 64, "sha256:" + "a" * 63,
                                   None, 42])
def test_a_digest_of_another_form_is_refused(value):
    assert "is not a digest of this role" in backup.digest_problem(value)


@pytest.mark.parametrize("claim, expected", [
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "c"},
      "roleRef": {"name": "cluster-admin"}},
     ["holds rbac.authorization.k8s.io/v1/ClusterRoleBinding/None/c, not the PersistentVolumeClaim ns/c it was "
      "written for"]),
    (dict(SAVED, metadata={"name": "c", "namespace": "kube-system"}),
     ["holds v1/PersistentVolumeClaim/kube-system/c, not the PersistentVolumeClaim ns/c it was written for"]),
    (dict(SAVED, metadata={"name": "d", "namespace": "ns"}),
     ["holds v1/PersistentVolumeClaim/ns/d, not the PersistentVolumeClaim ns/c it was written for"]),
    (dict(SAVED, spec=dict(SAVED["spec"], volumeName="pv-of-another-team")),
     ["has field(s) a backup never holds: spec.volumeName"]),
    (dict(SAVED, spec=dict(SAVED["spec"], storageClassName="Bad Class", accessModes=["ReadWriteAll"],
                           volumeMode="Raw", resources={"requests": {"storage": "-1Gi"}})),
     ["has spec.storageClassName 'Bad Class', not a StorageClass name",
      "has spec.accessModes ['ReadWriteAll'], not access modes (ReadWriteOnce, ReadOnlyMany, ReadWriteMany, "
      "ReadWriteOncePod)", "has spec.volumeMode 'Raw', not Filesystem or Block",
      "has spec.resources.requests.storage '-1Gi', not a Kubernetes quantity"]),
    (dict(SAVED, metadata=dict(SAVED["metadata"], labels={"a,b": "c"})),
     ["has metadata.labels {'a,b': 'c'}, not Kubernetes labels"]),
    ([], ["holds no JSON object"]),
])
def test_anything_but_the_claim_of_its_name_and_namespace_is_refused(claim, expected):
    assert backup.shape_problems(claim, "ns", "c") == expected


def test_the_saved_claim_passes():
    assert backup.shape_problems(SAVED, "ns", "c") == []
    assert backup.parse('{"a": 1}') == {"a": 1}
    assert backup.parse("[1]") is None and backup.parse("{bad") is None and backup.parse(None) is None
