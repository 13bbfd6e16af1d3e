"""migrate_pvc's decisions: the new claim and what a run has to do."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.migrate_pvc import claims as pvc_migration
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.migrate_pvc.claims import action as plan, new_claim

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


def _claim(size, klass="linstor-fast-cache"):
    return {"spec": {"storageClassName": klass, "resources": {"requests": {"storage": size}}}}


def _quota(name, hard, used):
    return {"metadata": {"name": name}, "status": {"hard": hard, "used": used}}


def test_quota_problems_take_the_old_claim_off_before_adding_the_new_one():
    quotas = [_quota("storage", {"requests.storage": "250Gi", "persistentvolumeclaims": "1"},
                     {"requests.storage": "200Gi", "persistentvolumeclaims": "1"})]
    # The same size in another class: fits once the old claim is gone (a dry run would say no).
    assert pvc_migration.quota_problems(quotas, _claim("200Gi", "rook"), _claim("200Gi")) == []
    assert pvc_migration.quota_problems(quotas, _claim("200Gi", "rook"), _claim("300Gi")) == [
        "ResourceQuota storage: requests.storage would be 300Gi of 250Gi"]
    # Without an old claim (a rollback that creates the saved one) nothing is taken off.
    assert pvc_migration.quota_problems(quotas, None, _claim("10Gi")) == [
        "ResourceQuota storage: persistentvolumeclaims would be 2 of 1"]


def test_quota_problems_per_storage_class():
    quotas = [_quota("per-class", {"linstor-fast-cache.storageclass.storage.k8s.io/requests.storage": "100Gi"},
                     {"linstor-fast-cache.storageclass.storage.k8s.io/requests.storage": "0"}),
              _quota("unrelated", {"requests.cpu": "4"}, {"requests.cpu": "1"})]
    assert pvc_migration.quota_problems(quotas, _claim("500Gi", "rook"), _claim("500Gi")) == [
        "ResourceQuota per-class: linstor-fast-cache.storageclass.storage.k8s.io/requests.storage would be 500Gi of 100Gi"]
    assert pvc_migration.quota_problems(quotas, _claim("50Gi"), _claim("100Gi")) == []  # 0 - 50 + 100 counted as used
    assert pvc_migration.quota_problems([], _claim("1Gi"), _claim("1Ti")) == []
