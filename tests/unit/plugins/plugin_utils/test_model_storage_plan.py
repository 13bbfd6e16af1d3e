"""plugin_utils.model_storage.plan: every decision of the model_storage role, step by step, from its
inputs (the role's own defaults) and what it read (pure, no cluster, no mocks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
from pathlib import Path

import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import role_plan
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage import plan

REPO = Path(__file__).resolve().parents[4]
with open(str(REPO / "roles" / "model_storage" / "defaults" / "main.yml")) as _handle:
    _DEFAULTS = yaml.safe_load(_handle)
# As Ansible templates it without node_prep's variable.
INPUTS = dict(role_plan.unprefixed("model_storage", _DEFAULTS), dir="/raid/models")
INPUTS["models"] = [{"name": "llama", "subpath": "meta/llama"},
                    {"name": "qwen", "subpath": "qwen/qwen", "kind": "BaseModel"}]


def inputs(**overrides):
    result = copy.deepcopy(INPUTS)
    result.update(overrides)
    return result


def _stat(exists=True, isdir=True, isreg=False):
    return {"stat": {"exists": exists, "isdir": isdir, "islnk": False, "isreg": isreg}}


def inspection(host, held=(True, True), node_name=None):
    """A host's inspection as the inspect step makes it from its stat loops."""
    observed = {"root": _stat(), "dirs": {"results": [_stat() for dummy in held]},
                "markers": {"results": [_stat(isdir=False, isreg=True) if h else _stat(False) for h in held]}}
    spec = dict((k, v) for k, v in inputs().items() if k in ("dir", "models", "marker"))
    if node_name:
        spec["node_name"] = node_name
    return plan.plan(spec, observed, host=host)["inspection"]


HOSTS = {"gpu-a": inspection("gpu-a"), "gpu-b": inspection("gpu-b", (True, False)), "gpu-c": None}
CRD = {"BaseModel": True, "ClusterBaseModel": True}


def node(name):
    return {"metadata": {"name": name, "labels": {}}}


def cluster(**changes):
    result = {"nodes": [node("gpu-a"), node("gpu-b")], "crds": dict(CRD), "controller": None,
              "serving_namespace": {"metadata": {"name": "model-serving"}}, "storage_class": None, "pv": None,
              "pvc": None, "models": []}
    result.update(changes)
    return result


def test_the_main_and_inspect_entry_points_name_the_roles_variables():
    assert set(role_plan.role_options("model_storage")) == set(_DEFAULTS)
    assert set(role_plan.role_options("model_storage", "inspect")) == {
        "model_storage_dir", "model_storage_models", "model_storage_marker", "model_storage_node_name"}


def test_the_inspect_step_sums_up_one_host_under_its_node_name():
    assert inspection("gpu-a")["node"] == "gpu-a" and inspection("gpu-a")["host"] == "gpu-a"
    renamed = inspection("gpu-a", node_name="gpu-a.example.org")
    assert (renamed["node"], renamed["host"]) == ("gpu-a.example.org", "gpu-a")
    assert [m["marker_found"] for m in inspection("gpu-b", (True, False))["models"]] == [True, False]


def test_the_hosts_step_plans_the_volume_where_every_model_is():
    result = plan.plan(inputs(), {"inspections": HOSTS})
    assert result["problems"] == [] and result["nodes"] == ["gpu-a"]
    assert any("gpu-c did not report" in w for w in result["warnings"])
    assert set(result["objects"]) == {"storage_class", "pv", "pvc", "models"}
    assert "install_objects" not in result and "report_section" not in result


def test_a_bad_variable_stops_the_plan_before_the_cluster_is_read():
    result = plan.plan(inputs(capacity="-1Gi"), {"inspections": HOSTS, "cluster": cluster()})
    assert result["problems"] and "model_storage_capacity='-1Gi'" in result["problems"][0]
    assert "apply_objects" not in result


def test_the_cluster_step_gives_what_to_write_and_what_to_dry_run():
    result = plan.plan(inputs(), {"inspections": HOSTS, "cluster": cluster()})
    assert result["problems"] == []
    assert [o["kind"] for o in result["install_objects"]] == ["Namespace", "StorageClass"]
    assert [o["kind"] for o in result["apply_objects"]] == ["PersistentVolume", "PersistentVolumeClaim",
                                                            "ClusterBaseModel", "BaseModel"]
    assert [o["kind"] for o in result["dry_run_objects"]] == [o["kind"] for o in result["install_objects"]
                                                              + result["apply_objects"]]
    assert result["dry_run_left_out"] == [] and result["rebind"]["action"] == "none"


def test_a_namespace_to_create_and_a_missing_crd_leave_objects_out_of_the_dry_run():
    result = plan.plan(inputs(), {"inspections": HOSTS, "cluster": cluster(
        serving_namespace=None, crds={"BaseModel": False, "ClusterBaseModel": True})})
    assert [o["kind"] for o in result["model_objects"]] == ["ClusterBaseModel"]
    assert [o["kind"] for o in result["dry_run_objects"]] == ["Namespace", "StorageClass", "PersistentVolume",
                                                              "ClusterBaseModel"]
    assert [o["object"] for o in result["dry_run_left_out"]] == ["PersistentVolumeClaim/model-serving/model-storage-pvc"]
    assert any("BaseModel" in i for i in result["infos"])


def test_flags_read_as_ansible_reads_them():
    result = plan.plan(inputs(create_namespace="no", manage_storage_class="False", ome_objects="off"),
                       {"inspections": HOSTS, "cluster": cluster()})
    assert result["install_objects"] == [] and result["model_objects"] == []


def test_the_cluster_steps_problems_name_the_node_to_set():
    result = plan.plan(inputs(), {"inspections": HOSTS, "cluster": cluster(nodes=[node("gpu-b")])})
    assert any("no Node named gpu-a; set model_storage_node_name" in p for p in result["problems"])


def test_the_dry_runs_refusal_is_a_problem_and_its_acceptance_none():
    refused = {"failed": False, "msg": 'Failed to create object: b\'{"kind":"Status","message":"PersistentVolume '
                                       '\\\\"model-storage-pv\\\\" is invalid: spec.local.path: Required value"}\''}
    problems = plan.plan(inputs(), {"dry_run": refused})["problems"]
    assert len(problems) == 1 and "spec.local.path: Required value" in problems[0] and "docs/model-storage.md" in problems[0]
    assert plan.plan(inputs(), {"dry_run": {"changed": False, "result": {"results": []}}})["problems"] == []
    assert plan.plan(inputs(), {"dry_run": {"skipped": True}})["problems"] == []


def test_the_report_step_fails_on_what_was_not_taken_and_reports_the_hosts():
    read = {"inspections": HOSTS, "cluster": cluster()}
    readback = {"pv": {"status": {"phase": "Available"}}, "pvc": {"status": {"phase": "Pending"}}, "nodes": [],
                "models": []}
    result = plan.plan(inputs(), dict(read, readback=readback, placement=[]))
    section = result["report_section"]
    assert section["name"] == "model_storage"
    assert [r[2] for r in section["tables"][0]["rows"]] == ["gpu-a, gpu-b", "gpu-a"]
    # Applied but not read back: the role fails on both model objects.
    assert sorted(e.split(" was applied")[0] for e in result["report_errors"]) == ["BaseModel qwen",
                                                                                   "ClusterBaseModel llama"]
    assert plan.plan(inputs(), dict(read, readback=readback, placement=[]), check_mode=True)["report_errors"] == []


def test_without_models_nothing_is_read_or_written_and_the_report_says_so():
    result = plan.plan(inputs(models=[]), {"inspections": HOSTS, "cluster": {"skipped": True},
                                           "readback": {"skipped": True}, "placement": []})
    assert result["objects"] == {} and "apply_objects" not in result and result["report_errors"] == []
    assert any("model_storage_models is empty" in n for n in result["report_section"]["notes"])


def test_the_serving_namespace_gets_the_pod_security_level_its_pods_need():
    def level(**overrides):
        result = plan.plan(inputs(**overrides), {"inspections": HOSTS, "cluster": cluster()})
        assert result["problems"] == []
        namespace = [o for o in result["install_objects"] if o["kind"] == "Namespace"][0]["metadata"]
        assert namespace["labels"]["pod-security.kubernetes.io/audit"] == namespace["labels"][
            "pod-security.kubernetes.io/enforce"]
        return namespace["labels"]["pod-security.kubernetes.io/enforce"]

    # hostPath mode: OME mounts the model directory into the serving pods as a hostPath volume.
    assert level() == "privileged"
    assert level(mode="pvc", ome_version="v1.3.0") == "baseline"
    assert level(mode="pvc", ome_version="v1.3.0", namespace_pod_security="privileged") == "privileged"


def test_a_pod_security_level_the_serving_pods_cannot_meet_is_refused():
    found = plan.plan(inputs(namespace_pod_security="baseline"), {"inspections": HOSTS, "cluster": cluster()})["problems"]
    assert found == ["model_storage_namespace_pod_security='baseline' is stricter than the pods in that namespace can "
                     "meet (in hostPath mode OME mounts the model directory into the serving pods as a hostPath volume): "
                     "admission would refuse them; use 'privileged'"]
    found = plan.plan(inputs(mode="pvc", namespace_pod_security="restricted"),
                      {"inspections": HOSTS, "cluster": cluster()})["problems"]
    assert found and found[0].startswith("model_storage_namespace_pod_security='restricted' is stricter") \
        and "use 'baseline' or a looser level" in found[0]
