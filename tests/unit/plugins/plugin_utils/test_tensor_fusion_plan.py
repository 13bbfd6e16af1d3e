"""plugin_utils.tensor_fusion.plan and role_plan: every decision of the tensor_fusion role from its
inputs, the chart's defaults and the objects read (pure, no cluster, no mocks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import role_plan
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import objects, plan

REPO = Path(__file__).resolve().parents[4]
with open(str(REPO / "roles" / "tensor_fusion" / "defaults" / "main.yml")) as _handle:
    _DEFAULTS = yaml.safe_load(_handle)
INPUTS = role_plan.unprefixed("tensor_fusion", _DEFAULTS)
INPUTS.update(greptimedb_nfs_server="10.89.40.10")
NOTHING_YET = {"release": None, "config_map": [], "greptime_namespace": [], "greptime_volume": [], "greptime_claim": [],
               "greptime_statefulset": [], "greptime_node": None}


@pytest.fixture(scope="module")
def chart_defaults():
    for candidate in (os.environ.get("GPUFLEET_SHARED"), REPO.parent / "shared", "/work/shared"):
        path = Path(candidate or "/nonexistent") / "upstream" / "tensor-fusion" / "values.yaml"
        if path.is_file():
            return role_plan.yaml_text(path.read_text())
    pytest.skip("no shared/upstream/tensor-fusion beside the checkout")
    return None


def inputs(**overrides):
    result = copy.deepcopy(INPUTS)
    result.update(overrides)
    return result


def volume(claim_ref=None, labels=None, nfs_path="/srv/nfs/greptimedb"):
    spec = {"nfs": {"server": "10.89.40.10", "path": nfs_path}}
    if claim_ref:
        spec["claimRef"] = claim_ref
    return {"metadata": {"name": "tensor-fusion-greptimedb-datanode", "labels": labels if labels is not None else dict(plan.OWNER_LABELS)},
            "spec": spec}


def claim(uid="u-2", volume_name="tensor-fusion-greptimedb-datanode", storage_class=INPUTS["greptimedb_storage_class"]):
    return {"metadata": {"name": "datanode-tensor-fusion-sys-greptimedb-standalone-0", "namespace": "greptimedb",
                         "uid": uid},
            "spec": {"volumeName": volume_name, "storageClassName": storage_class}, "status": {"phase": "Bound"}}


def test_the_role_spec_is_read_whole_and_every_setting_of_a_profile_is_one_of_its_options():
    options = role_plan.role_options("tensor_fusion")
    assert set(options) == set(_DEFAULTS), "the role's argument spec and defaults/main.yml name the same variables"
    names = set(role_plan.unprefixed("tensor_fusion", options))
    for profile in ("testing", "production"):
        assert set(plan.tf_inputs.PROFILES[profile]) <= names


def test_problems_stop_the_plan_before_any_object_or_value(chart_defaults):
    result = plan.plan(inputs(greptimedb_size="-5Gi"), chart_defaults, dict(NOTHING_YET))
    assert result["problems"] and "tensor_fusion_greptimedb_size" in result["problems"][0]
    assert set(result) == {"settings", "problems"}


def test_inputs_alone_give_the_objects_and_no_step_that_needs_the_cluster():
    result = plan.plan(inputs())
    assert result["problems"] == []
    assert [o["kind"] for o in result["storage_objects"]] == ["StorageClass", "PersistentVolume", "PersistentVolumeClaim"]
    assert result["cluster_object"]["kind"] == "TensorFusionCluster"
    assert not set(result) & {"chart_values", "rebind", "force_upgrade", "restart_hash", "report_section"}


def test_a_chart_that_is_not_tensor_fusion_is_a_problem_naming_the_reference():
    result = plan.plan(inputs(), {"replicaCount": 1}, None, False, ("hello/hello", "0.1.0"))
    assert result["problems"] == [
        "tensor_fusion_chart_ref=hello/hello (version 0.1.0) has no controller.command, dynamicConfig.alertRules or "
        "schedulerConfig in its values: point it at the tensor-fusion chart (1.8.7)"]
    assert "chart_values" not in result


def test_a_new_release_plans_values_objects_and_no_restart(chart_defaults):
    result = plan.plan(inputs(), chart_defaults, dict(NOTHING_YET))
    assert result["problems"] == []
    assert result["chart_values"]["cluster"]["enabled"] is False
    assert result["rebind"]["action"] == "none" and not result["force_upgrade"] and not result["restart_hypervisors"]
    assert result["changed_paths"] and all(isinstance(p, str) for p in result["changed_paths"])
    assert result["apply_cluster"] is True


def test_check_mode_leaves_out_what_a_dry_run_cannot_take(chart_defaults):
    result = plan.plan(inputs(), chart_defaults, dict(NOTHING_YET), check_mode=True)
    assert "PersistentVolumeClaim" not in [o["kind"] for o in result["storage_objects"]]
    assert result["apply_cluster"] is False
    existing = dict(NOTHING_YET, release={"status": "deployed", "release_values": {}}, greptime_namespace=[{"metadata": {}}])
    result = plan.plan(inputs(), chart_defaults, existing, check_mode=True)
    assert "PersistentVolumeClaim" in [o["kind"] for o in result["storage_objects"]] and result["apply_cluster"]


@pytest.mark.parametrize("observed, expected", [
    ({"greptime_volume": [volume({"namespace": "team-a", "name": "data"})]},
     "PersistentVolume tensor-fusion-greptimedb-datanode (tensor_fusion_greptimedb_volume_name) is claimed by team-a/data"),
    ({"greptime_volume": [volume({"namespace": "greptimedb", "name": "datanode-tensor-fusion-sys-greptimedb-standalone-0",
                                  "uid": "u-1"}, labels={})]},
     "the volume was not made by this collection"),
    ({"greptime_claim": [claim(volume_name="other-pv")]},
     "tensor_fusion_greptimedb_volume_name=tensor-fusion-greptimedb-datanode (the claim is bound to volume other-pv)"),
    ({"greptime_volume": [volume(nfs_path="/srv/nfs/old")]},
     "a volume's source and node affinity cannot change"),
])
def test_what_the_cluster_holds_is_refused_before_anything_changes(chart_defaults, observed, expected):
    result = plan.plan(inputs(), chart_defaults, dict(NOTHING_YET, **observed))
    assert len(result["problems"]) == 1 and expected in result["problems"][0], result["problems"]


def test_a_released_volume_of_the_role_is_bound_again_keeping_its_data(chart_defaults):
    ref = {"namespace": "greptimedb", "name": "datanode-tensor-fusion-sys-greptimedb-standalone-0", "uid": "u-1"}
    result = plan.plan(inputs(), chart_defaults, dict(NOTHING_YET, greptime_volume=[volume(ref)]))
    assert result["problems"] == []
    assert result["rebind"]["action"] == "rebind"
    assert result["rebind"]["patch"] == {"spec": {"claimRef": {"uid": None, "resourceVersion": None}}}


def test_a_deployed_release_without_its_statefulset_is_upgraded_all_the_same(chart_defaults):
    deployed = dict(NOTHING_YET, release={"status": "deployed", "release_values": {}})
    assert plan.plan(inputs(), chart_defaults, deployed)["force_upgrade"] is True
    present = dict(deployed, greptime_statefulset=[{"metadata": {"name": "x"}}])
    assert plan.plan(inputs(), chart_defaults, present)["force_upgrade"] is False
    external = inputs(greptimedb_mode="external", greptimedb_host="db.example.org", greptimedb_port=4001)
    assert plan.plan(external, chart_defaults, deployed)["force_upgrade"] is False


def test_a_hostpath_volume_on_a_node_that_does_not_exist_is_refused(chart_defaults):
    hostpath = inputs(greptimedb_volume_type="hostpath", greptimedb_node="gpu-ucsd-9")
    result = plan.plan(hostpath, chart_defaults, dict(NOTHING_YET, greptime_node=[]))
    assert result["problems"] == [
        "tensor_fusion_greptimedb_node='gpu-ucsd-9' is not a node of this cluster; name the node that holds "
        "tensor_fusion_greptimedb_host_path='/data/greptimedb' (kubectl get nodes)"]
    node = [{"kind": "Node", "metadata": {"name": "gpu-ucsd-9"}}]
    assert plan.plan(hostpath, chart_defaults, dict(NOTHING_YET, greptime_node=node))["problems"] == []
    # Not read (an NFS volume): nothing to say.
    assert plan.plan(inputs(), chart_defaults, NOTHING_YET)["problems"] == []


@pytest.mark.parametrize("before, switch, expected", [
    (False, "yes", True), (True, True, False), (False, False, False), (None, "true", True)])
def test_hypervisors_restart_only_when_progressive_migration_is_switched_on(chart_defaults, before, switch, expected):
    values = {} if before is None else {"controller": {"nvidiaOperatorProgressiveMigration": before}}
    observed = dict(NOTHING_YET, release={"status": "deployed", "release_values": values})
    result = plan.plan(inputs(nvidia_operator_progressive_migration=switch), chart_defaults, observed)
    assert result["restart_hypervisors"] is expected
    assert plan.plan(inputs(nvidia_operator_progressive_migration=switch), chart_defaults,
                     dict(NOTHING_YET))["restart_hypervisors"] is False


def test_the_changed_paths_name_no_value(chart_defaults):
    secret = "s3cr3t-token"
    result = plan.plan(inputs(greptimedb_mode="cloud", greptimedb_host="x.greptime.cloud", greptimedb_port=5001,
                              greptimedb_password=secret, credentials_outside_secrets=["greptime.password"]), chart_defaults,
                       dict(NOTHING_YET, release={"status": "deployed", "release_values": {"greptime": {"password": "old"}}}))
    assert "greptime.password" in result["changed_paths"]
    assert secret not in repr(result["changed_paths"]) and secret not in repr(result["problems"])


def test_the_controller_restarts_only_when_its_files_changed():
    files = {"config.yaml": "a", "scheduler-config.yaml": "b"}
    controller = {"spec": {"template": {"metadata": {"annotations": {}}}}}
    step = {"release": {"status": "deployed"}, "config_map": [{"data": files}], "controller": [controller]}
    same = plan.plan(inputs(), None, dict(step, config_map_after=[{"data": dict(files)}]))
    assert same["restart_hash"] == ""
    changed = plan.plan(inputs(), None, dict(step, config_map_after=[{"data": dict(files, **{"config.yaml": "c"})}]))
    assert changed["restart_hash"] == objects.config_hash(dict(files, **{"config.yaml": "c"}))
    new_release = plan.plan(inputs(), None, dict(step, release=None, config_map_after=[{"data": {"config.yaml": "c"}}]))
    assert new_release["restart_hash"] == ""
    assert plan.plan(inputs(), None, dict(step, controller=[], config_map_after=[]))["restart_hash"] == ""


def test_the_report_step_says_why_a_claim_can_never_bind_and_builds_the_section():
    ref = {"namespace": "greptimedb", "name": "datanode-tensor-fusion-sys-greptimedb-standalone-0", "uid": "u-1"}
    observed = {"release_after": {"status": "deployed", "name": "tensor-fusion-sys", "revision": 2, "release_values": {"x": 1}, "values": {"x": 1}},
                "greptime_volume_after": [volume(ref)], "greptime_claim_after": [claim(uid="u-2")],
                "alertmanager_claims": [claim(), {"metadata": {"name": "alertmanager-storage-am-0", "namespace": "t"},
                                                  "spec": {}, "status": {"phase": "Pending"}}],
                "statefulsets": [], "cluster": [], "chart_cluster": [{"metadata": {"name": "tensor-fusion"}}]}
    result = plan.plan(inputs(), None, observed)
    assert "still reserved for an earlier claim" in result["blocked"]
    section = result["report_section"]
    assert section["tables"][0]["rows"][0][3] == "2" and "x" not in repr(section["tables"][0])
    assert [row[0] for row in section["tables"][1]["rows"]] == [
        "greptimedb/datanode-tensor-fusion-sys-greptimedb-standalone-0", "t/alertmanager-storage-am-0"]
    assert any("TensorFusionCluster tensor-fusion" == p["subject"] for p in section["problems"])
    assert plan.plan(inputs(), None, dict(observed, greptime_volume_after=[volume()]))["blocked"] == ""


def test_observed_names_are_the_steps_names():
    assert set(plan.OBSERVED) == set(plan.CLUSTER + plan.RESTART + plan.REPORT + plan.RENDER + plan.DRY_RUN + plan.FAILURE)
    assert len(plan.OBSERVED) == 21


RENDERED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: tensor-fusion-sys-controller}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: tensor-fusion-sys-greptimedb-standalone, namespace: greptimedb}
"""


def test_a_first_install_dry_runs_what_the_api_server_can_take_and_says_what_it_leaves_out(chart_defaults):
    observed = dict(NOTHING_YET, manifest=RENDERED, release_namespace=[], cluster_crd=[])
    result = plan.plan(inputs(), chart_defaults, observed)
    assert [o["kind"] for o in result["dry_run_objects"]] == ["Namespace", "Namespace", "StorageClass", "PersistentVolume"]
    assert [e["object"] for e in result["dry_run_left_out"]] == [
        "Deployment/tensor-fusion-sys/tensor-fusion-sys-controller",
        "StatefulSet/greptimedb/tensor-fusion-sys-greptimedb-standalone",
        "PersistentVolumeClaim/greptimedb/datanode-tensor-fusion-sys-greptimedb-standalone-0",
        "TensorFusionCluster/tensor-fusion-gpufleet"]


def test_an_upgrade_dry_runs_everything_the_chart_and_the_role_write(chart_defaults):
    namespace = {"metadata": {"name": "greptimedb"}}
    observed = dict(NOTHING_YET, release={"status": "deployed", "release_values": {}}, greptime_namespace=[namespace],
                    manifest=RENDERED, release_namespace=[{"metadata": {"name": "tensor-fusion-sys"}}],
                    cluster_crd=[{"metadata": {"name": "tensorfusionclusters.tensor-fusion.ai"}}])
    result = plan.plan(inputs(), chart_defaults, observed)
    assert result["dry_run_left_out"] == []
    assert [o["kind"] for o in result["dry_run_objects"]] == [
        "Deployment", "StatefulSet", "Namespace", "Namespace", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
        "TensorFusionCluster"]
    assert result["dry_run_objects"][0]["metadata"]["namespace"] == "tensor-fusion-sys"


@pytest.mark.parametrize("overrides, levels", [
    ({}, {"greptimedb": "baseline", "tensor-fusion-sys": "privileged"}),
    ({"greptimedb_mode": "external", "greptimedb_host": "db.example.com"}, {"tensor-fusion-sys": "privileged"}),
    ({"greptimedb_namespace_pod_security": "privileged"}, {"greptimedb": "privileged", "tensor-fusion-sys": "privileged"}),
])
def test_the_namespaces_the_role_creates_carry_their_pod_security_level(chart_defaults, overrides, levels):
    result = plan.plan(inputs(**overrides), chart_defaults, {})
    assert result["problems"] == []
    found = {o["metadata"]["name"]: o["metadata"]["labels"] for o in result["namespace_objects"]}
    assert {name: labels["pod-security.kubernetes.io/enforce"] for name, labels in found.items()} == levels
    if "greptimedb" in found:  # Helm adopts it: the chart renders that Namespace itself
        greptime = [o for o in result["namespace_objects"] if o["metadata"]["name"] == "greptimedb"][0]["metadata"]
        assert greptime["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert greptime["annotations"] == {"meta.helm.sh/release-name": "tensor-fusion-sys",
                                           "meta.helm.sh/release-namespace": "tensor-fusion-sys"}


@pytest.mark.parametrize("overrides, expected", [
    ({"namespace_pod_security": "baseline"},
     "tensor_fusion_namespace_pod_security='baseline' is stricter than the pods in that namespace can meet (the "
     "hypervisor pods run privileged, with the GPU devices and host paths): admission would refuse them; use 'privileged'"),
    ({"greptimedb_namespace_pod_security": "restricted"},
     "tensor_fusion_greptimedb_namespace_pod_security='restricted' is stricter than the pods in that namespace can meet "
     "(the chart's GreptimeDB sets no security context: it runs as the image's user, without runAsNonRoot or a seccomp "
     "profile): admission would refuse them; use 'baseline' or a looser level"),
])
def test_a_pod_security_level_the_pods_cannot_meet_is_refused(overrides, expected):
    assert plan.plan(inputs(**overrides))["problems"] == [expected]


def test_what_the_api_server_refuses_is_a_problem_with_no_secret_in_it():
    status = ('{"kind":"Status","message":"Secret \\\\"db\\\\" is invalid: data: Invalid value: \\\\"pa55word-x\\\\""}')
    result = plan.plan(inputs(greptimedb_mode="cloud", greptimedb_host="x.greptime.cloud", greptimedb_port=5001,
                              greptimedb_password="pa55word-x", credentials_outside_secrets=["greptime.password"]),
                       None, {"dry_run": {"failed": True, "msg": "Failed to create object: b'%s'" % status}})
    assert len(result["problems"]) == 1
    assert "the API server refuses what the chart and the role would write" in result["problems"][0]
    assert 'Secret "db" is invalid' in result["problems"][0]
    assert "pa55word-x" not in result["problems"][0]
    assert plan.plan(inputs(), None, {"dry_run": {"changed": False}})["problems"] == []


def _reads(result, step):
    return [(r["key"], r["kind"], r.get("namespace"), r.get("name")) for r in result["reads"][step]]


def test_the_plan_names_what_each_step_reads_keyed_as_it_takes_them():
    result = plan.plan(inputs(), None, {})
    cluster = _reads(result, "cluster")
    assert ("config_map", "ConfigMap", "tensor-fusion-sys", "tensor-fusion-sys-config") in cluster
    assert ("cluster_crd", "CustomResourceDefinition", None, "tensorfusionclusters.tensor-fusion.ai") in cluster
    assert ("greptime_claim", "PersistentVolumeClaim", "greptimedb",
            "datanode-tensor-fusion-sys-greptimedb-standalone-0") in cluster
    # What the preflight reads is what the cluster and render steps take (but the release, from Helm,
    # the manifest and a hostPath volume's node), and what the role writes (to leave out the writes
    # that would change nothing).
    keys = set(r[0] for r in cluster)
    assert keys == set(plan.CLUSTER + plan.RENDER) - {"release", "manifest", "greptime_node"} | {"written"}
    assert [r[1:] for r in cluster if r[0] == "written"] == [
        ("StorageClass", None, INPUTS["greptimedb_storage_class"]), ("TensorFusionCluster", None, INPUTS["cluster_name"])]
    assert set(r[0] for r in _reads(result, "restart")) == set(plan.RESTART) - {"release", "config_map"}
    verify = _reads(result, "verify")
    assert set(r[0] for r in verify) == set(plan.REPORT) - {"release_after", "greptime_volume_after",
                                                            "greptime_claim_after"}
    assert ("cluster", "TensorFusionCluster", None, INPUTS["cluster_name"]) in verify


def test_the_preflight_reads_greptimedb_only_when_it_is_in_the_cluster():
    external = set(r[0] for r in _reads(plan.plan(inputs(greptimedb_mode="external", greptimedb_host="db.example.com"),
                                                  None, {}), "cluster"))
    assert not external & {"greptime_volume", "greptime_claim", "greptime_statefulset", "greptime_node"}
    hostpath = _reads(plan.plan(inputs(greptimedb_volume_type="hostpath", greptimedb_node="gpu-a"), None, {}), "cluster")
    assert ("greptime_node", "Node", None, "gpu-a") in hostpath


def test_greptimedb_on_nfs_runs_as_the_exports_owner_and_never_as_root():
    on_nfs = plan.plan(inputs())
    assert on_nfs["problems"] == [] and on_nfs["greptime_security_context"] == {
        "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001}
    assert plan.plan(inputs(greptimedb_run_as_user=20001, greptimedb_run_as_group=20002))["greptime_security_context"] \
        == {"runAsNonRoot": True, "runAsUser": 20001, "runAsGroup": 20002}
    hostpath = plan.plan(inputs(greptimedb_volume_type="hostpath", greptimedb_node="gpu-ucsd-1"))
    assert hostpath["problems"] == [] and hostpath["greptime_security_context"] is None
    root = plan.plan(inputs(greptimedb_run_as_user=0, greptimedb_run_as_group="x"))["problems"]
    assert any(p.startswith("tensor_fusion_greptimedb_run_as_user=0 ") and "squashes" in p for p in root), root
    assert any(p.startswith("tensor_fusion_greptimedb_run_as_group='x' is not a whole number") for p in root), root
