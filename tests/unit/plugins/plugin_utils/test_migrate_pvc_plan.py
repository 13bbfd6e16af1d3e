"""plugin_utils.migrate_pvc.plan: every decision of the migrate_pvc role, step by step, from its inputs
(the role's own defaults) and what it read (pure, no cluster, no mocks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import role_plan
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.migrate_pvc import plan

REPO = Path(__file__).resolve().parents[4]
with open(str(REPO / "roles" / "migrate_pvc" / "defaults" / "main.yml")) as _handle:
    _DEFAULTS = yaml.safe_load(_handle)
INPUTS = role_plan.unprefixed("migrate_pvc", _DEFAULTS)
NAME, NS = INPUTS["name"], INPUTS["namespace"]
OLD = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
       "metadata": {"name": NAME, "namespace": NS, "uid": "u-1", "labels": {"app": "swift"},
                    "annotations": {"pv.kubernetes.io/bind-completed": "yes", "team": "ml"}},
       "spec": {"storageClassName": "rook-ceph-block", "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                "resources": {"requests": {"storage": "200Gi"}}, "volumeName": "pvc-1"},
       "status": {"phase": "Bound"}}
CLASS = ({"metadata": {"name": INPUTS["storage_class"]}},)
ACCEPTED = {"changed": False, "result": {"metadata": {"name": NAME + "-gpufleet-dry-run"}}}


def inputs(**overrides):
    result = copy.deepcopy(INPUTS)
    result.update(overrides)
    return result


def read(current=(OLD,), backup=(), storage_class=CLASS):
    return {"current": list(current), "backup": list(backup), "storage_class": list(storage_class)}


def backup_of(claim):
    return {"metadata": {"name": NAME + "-pvc-backup", "namespace": NS}, "data": {"claim.json": json.dumps(claim)}}


def pod(name, claim=NAME, phase="Running"):
    return {"metadata": {"name": name, "namespace": NS}, "status": {"phase": phase},
            "spec": {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]}}


def guards(pods=(), quotas=(), dry_run=None, **read_args):
    return dict(read(**read_args), pods=list(pods), quotas=list(quotas), dry_run=dry_run or ACCEPTED)


def test_the_role_spec_and_its_defaults_name_the_same_variables():
    assert set(role_plan.role_options("migrate_pvc")) == set(_DEFAULTS)


def test_the_variables_alone_are_checked_as_the_linstor_roles_claims():
    assert plan.plan(inputs(), {}) == {"problems": []}
    problems = plan.plan(inputs(size="5GB", name="Bad_Name"), {})["problems"]
    assert any(p.startswith("migrate_pvc_size='5GB' is not a Kubernetes quantity") for p in problems), problems
    assert any(p.startswith("migrate_pvc_name='Bad_Name'") for p in problems), problems


def test_a_claim_in_another_class_is_replaced_and_saved_first():
    result = plan.plan(inputs(), read())
    assert (result["action"], result["destructive"], result["problems"]) == ("replace", True, [])
    assert result["replacement"]["spec"] == {"storageClassName": INPUTS["storage_class"], "accessModes": ["ReadWriteOnce"],
                                             "volumeMode": "Filesystem", "resources": {"requests": {"storage": "200Gi"}}}
    saved = json.loads(result["backup_config_map"]["data"]["claim.json"])
    assert saved == result["saved_claim"] and "uid" not in saved["metadata"] and "volumeName" not in saved["spec"]
    assert saved["metadata"]["annotations"] == {"team": "ml"}
    assert result["backup_config_map"]["metadata"]["name"] == NAME + "-pvc-backup"
    assert result["dry_run_claim"]["metadata"]["name"] == NAME + "-gpufleet-dry-run"
    assert result["dry_run_claim"]["spec"] == result["replacement"]["spec"]


def test_a_missing_storage_class_and_an_unknown_size_are_refused():
    problems = plan.plan(inputs(), read(storage_class=()))["problems"]
    assert problems == ["migrate_pvc_storage_class=linstor-fast-cache does not exist in the cluster; create it first "
                        "(playbooks/storage.yml) or name an existing class."]
    problems = plan.plan(inputs(), read(current=()))["problems"]
    assert problems == ["claim default/ms-swift-cache-pvc: no size for the new claim; set migrate_pvc_size."]
    assert plan.plan(inputs(size="10Gi"), read(current=()))["action"] == "create"


def test_a_rerun_after_the_delete_creates_the_new_claim_from_the_saved_one():
    result = plan.plan(inputs(), read(current=(), backup=(backup_of(OLD),)))
    assert (result["action"], result["destructive"]) == ("create", False)
    assert result["replacement"]["spec"]["resources"]["requests"]["storage"] == "200Gi"


def test_a_rollback_restores_only_the_claim_it_saved():
    new = dict(OLD, spec=dict(OLD["spec"], storageClassName=INPUTS["storage_class"]))
    result = plan.plan(inputs(rollback=True), read(current=(new,), backup=(backup_of(OLD),), storage_class=()))
    assert (result["action"], result["problems"]) == ("restore", [])
    assert result["replacement"]["spec"]["storageClassName"] == "rook-ceph-block"
    assert "volumeName" not in result["replacement"]["spec"] and "uid" not in result["replacement"]["metadata"]
    no_backup = plan.plan(inputs(rollback="yes"), read(current=(new,), storage_class=()))["problems"]
    assert no_backup == ["claim default/ms-swift-cache-pvc: no saved claim to restore: the migration never saved one "
                         "(migrate_pvc_rollback=true needs the ConfigMap ms-swift-cache-pvc-pvc-backup a migration "
                         "writes)."]


def test_a_backup_that_holds_anything_but_its_claim_is_refused():
    for planted in ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                     "metadata": {"name": NAME, "namespace": NS}},
                    dict(OLD, metadata=dict(OLD["metadata"], namespace="kube-system")),
                    dict(OLD, metadata=dict(OLD["metadata"], name="other"))):
        result = plan.plan(inputs(rollback=True), read(backup=(backup_of(planted),), storage_class=()))
        assert len(result["problems"]) == 1, planted
        assert "ConfigMap default/ms-swift-cache-pvc-pvc-backup holds" in result["problems"][0]
        assert "not the PersistentVolumeClaim default/ms-swift-cache-pvc it was written for" in result["problems"][0]
        assert result["replacement"] is None and "dry_run_claim" not in result
    broken = dict(backup_of(OLD), data={"claim.json": "{not json"})
    assert "holds no claim under claim.json" in plan.plan(inputs(rollback=True), read(backup=(broken,)))["problems"][0]


def test_the_guards_pods_dry_run_and_confirmation():
    confirm = "Run again with confirm_data_loss=true (migrate_pvc_confirm_data_loss) to go ahead."
    problems = plan.plan(inputs(), guards())["problems"]
    assert len(problems) == 1 and problems[0].endswith(confirm)
    assert "(rook-ceph-block -> linstor-fast-cache)" in problems[0]
    assert plan.plan(inputs(confirm_data_loss="true"), guards())["problems"] == []
    used = plan.plan(inputs(confirm_data_loss=True), guards(pods=[pod("trainer"), pod("done", phase="Succeeded"),
                                                                  pod("other", claim="x")]))["problems"]
    assert used == ["claim default/ms-swift-cache-pvc is used by default/trainer; deleting it would leave them without "
                    "their volume (and Kubernetes keeps it until they stop). Scale them down or delete them, then run "
                    "again."]
    refused = {"failed": False, "msg": 'Failed: b\'{"kind":"Status","message":"persistentvolumeclaims \\\\"x\\\\" is '
                                       'forbidden: maximum storage usage per PersistentVolumeClaim is 100Gi, but request '
                                       'is 200Gi"}\''}
    problems = plan.plan(inputs(confirm_data_loss=True), guards(dry_run=refused))["problems"]
    assert len(problems) == 1 and "maximum storage usage per PersistentVolumeClaim is 100Gi" in problems[0]
    assert "so the old claim was not deleted. Nothing was changed." in problems[0]


def test_a_quota_refusal_is_decided_again_without_the_old_claim():
    refused = {"failed": True, "msg": "exceeded quota: storage, requested: requests.storage=200Gi, used: "
                                      "requests.storage=200Gi, limited: requests.storage=250Gi"}
    quota = {"metadata": {"name": "storage"}, "status": {"hard": {"requests.storage": "250Gi"},
                                                         "used": {"requests.storage": "200Gi"}}}
    assert plan.plan(inputs(confirm_data_loss=True), guards(quotas=[quota], dry_run=refused))["problems"] == []
    problems = plan.plan(inputs(confirm_data_loss=True, size="300Gi"), guards(quotas=[quota], dry_run=refused))["problems"]
    assert len(problems) == 1 and "ResourceQuota storage: requests.storage would be 300Gi of 250Gi" in problems[0]


def test_the_guards_are_not_judged_when_nothing_is_deleted():
    same = dict(OLD, spec=dict(OLD["spec"], storageClassName=INPUTS["storage_class"]))
    result = plan.plan(inputs(), guards(current=(same,)))
    assert (result["action"], result["destructive"], result["problems"]) == ("none", False, [])


def test_the_backup_directory_is_a_clean_path_outside_the_system_directories():
    assert plan.plan(inputs(backup_dir="/srv/backups"), {})["problems"] == []
    problems = plan.plan(inputs(backup_dir="/tmp/x/../../etc"), {})["problems"]
    assert problems == ["migrate_pvc_backup_dir='/tmp/x/../../etc' climbs with '..'; name the directory itself, e.g. "
                        "'/raid/models'"]
    assert "is inside the system directory '/etc'" in plan.plan(inputs(backup_dir="/etc/gpufleet"), {})["problems"][0]


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease"])
def test_a_claim_among_the_clusters_own_components_is_never_deleted(namespace):
    problems = plan.plan(inputs(namespace=namespace), {})["problems"]
    assert problems == [
        "migrate_pvc_namespace=%r is a namespace Kubernetes keeps for its own components (kube-system, kube-public, "
        "kube-node-lease); the role deletes and recreates claims and does not do that there: move the claim's workload "
        "to a namespace of its own" % namespace]
