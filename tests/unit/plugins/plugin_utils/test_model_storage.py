"""plugin_utils.model_storage: the model_storage role's decisions, pure (no cluster, no mocks):
OME's URIs and labels, the variables' problems, what hosts hold, the objects, the plan against the
cluster, the report section."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.validation_report import check_section
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage import hosts as ms_hosts
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage import inputs as ms_inputs
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage import objects as ms_objects
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage import report as ms_report

INPUTS = {
    "dir": "/raid/models", "mode": "hostPath", "marker": "config.json", "nodes": [],
    "node_label": "kubernetes.io/hostname", "namespace": "serving", "pv_name": "model-storage-pv",
    "pvc_name": "model-storage-pvc", "capacity": "500Gi", "access_mode": "ReadOnlyMany",
    "storage_class": "local-storage", "manage_storage_class": True, "ome_version": "",
    "ome_pvc_min_version": "v1.3.0", "ome_namespace": "ome", "ome_controller": "ome-controller-manager",
    "models": [
        {"name": "llama", "subpath": "meta/llama"},
        {"name": "qwen", "subpath": "qwen/qwen", "kind": "BaseModel", "spec": {"vendor": "qwen"}},
    ],
}


def stat(exists=True, isdir=True, islnk=False, isreg=False):
    return {"stat": {"exists": exists, "isdir": isdir, "islnk": islnk, "isreg": isreg}} if exists else {"stat": {"exists": False}}


def host(node, states, root=None):
    """A host summary; states per model: held, absent, no-marker, file, symlink."""
    dirs, markers = [], []
    for state in states:
        dirs.append({"held": stat(), "no-marker": stat(), "absent": stat(False), "file": stat(isdir=False, isreg=True),
                     "symlink": stat(isdir=False, islnk=True)}[state])
        markers.append(stat(isdir=False, isreg=True) if state == "held" else stat(False))
    return ms_hosts.summarise_host(node, "/raid/models", root or stat(), dirs, markers, INPUTS["models"], "config.json")


def fleet(**states):
    return dict((name.replace("_", "-"), host(name.replace("_", "-"), s)) for name, s in states.items())


FLEET = fleet(gpu_a=["held", "held"], gpu_b=["held", "held"], gpu_c=["held", "no-marker"], gpu_d=["absent", "absent"])


def inputs(**changes):
    result = copy.deepcopy(INPUTS)
    result.update(changes)
    return result


# --- URIs and labels -------------------------------------------------------------------------

@pytest.mark.parametrize("uri, parsed", [
    ("pvc://claim/meta/llama", {"namespace": "", "claim": "claim", "subpath": "meta/llama"}),
    ("pvc://serving:claim/a", {"namespace": "serving", "claim": "claim", "subpath": "a"}),
])
def test_parse_pvc_uri(uri, parsed):
    assert ms_inputs.parse_pvc_uri(uri) == parsed


@pytest.mark.parametrize("uri, why", [
    ("pvc://a:b:c/x", "more than one ':'"),
    ("pvc://claim", "no subpath"),
    ("pvc://claim/", "no subpath"),
    ("pvc://:claim/x", "empty namespace"),
    ("pvc://ns:/x", "no claim name"),
    ("pvc://Bad_NS:claim/x", "not a valid namespace"),
    ("pvc://claim/a/../b", "'..' segment"),
    ("s3://bucket/x", "does not start with pvc://"),
])
def test_parse_pvc_uri_refuses_what_ome_refuses(uri, why):
    with pytest.raises(ms_inputs.ModelStorageError, match=why):
        ms_inputs.parse_pvc_uri(uri)


def test_pvc_uri_has_a_namespace_only_for_cluster_models():
    assert ms_inputs.pvc_uri("BaseModel", "c", "a/b", "ns") == "pvc://c/a/b"
    assert ms_inputs.pvc_uri("ClusterBaseModel", "c", "a/b", "ns") == "pvc://ns:c/a/b"


def test_ready_label_keys_as_ome_builds_them():
    assert ms_inputs.ready_label_key("ClusterBaseModel", "llama-3-2-1b-instruct") == \
        "models.ome.io/clusterbasemodel.llama-3-2-1b-instruct"
    assert ms_inputs.ready_label_key("BaseModel", "llama-3-8b", "default") == "models.ome.io/default.basemodel.llama-3-8b"
    # Longer than 32 characters: <8 hex of sha256>-<the last 23 characters>.
    name = "meta-llama-3-1-70b-instruct-fp8-dynamic"
    key = ms_inputs.ready_label_key("ClusterBaseModel", name)
    assert key == "models.ome.io/clusterbasemodel.%s-%s" % (hashlib.sha256(name.encode()).hexdigest()[:8], name[-23:])
    assert len(key.split("/", 1)[1]) <= 49
    long_ns = ms_inputs.ready_label_key("BaseModel", "a-very-long-model-name-for-serving", "team-inference-prod")
    assert len(long_ns.split("/", 1)[1]) <= 49 and ".basemodel." in long_ns


@pytest.mark.parametrize("text, version", [
    ("v1.2.2", (1, 2, 2)), ("1.3.0-rc1", (1, 3, 0)), ("v0.1.5-18-g17b77eda", (0, 1, 5)), ("latest", None), ("", None),
])
def test_parse_version(text, version):
    assert ms_inputs.parse_version(text) == version


def test_image_tag():
    assert ms_inputs.image_tag("ghcr.io/moirai-internal/ome-manager:v1.2.2") == "v1.2.2"
    assert ms_inputs.image_tag("registry:5000/ome-manager") == ""
    assert ms_inputs.image_tag("ome-manager:v0.1.5@sha256:" + "a" * 64) == "v0.1.5"
    assert ms_inputs.image_tag("ome-manager:v0.1.5\n") == ""


# --- input checks ----------------------------------------------------------------------------

def test_good_inputs_have_no_problems():
    assert ms_inputs.input_problems(INPUTS) == []
    assert ms_inputs.input_problems(inputs(mode="pvc", models=[
        {"name": "llama", "subpath": "meta/llama", "storage_uri": "pvc://serving:model-storage-pvc/meta/llama"},
        {"name": "qwen", "subpath": "q", "kind": "BaseModel", "storage_uri": "pvc://model-storage-pvc/q"}])) == []


BAD = [
    ({"dir": "raid/models"}, ["model_storage_dir='raid/models' is relative", "'/raid/models'"]),
    ({"models": [{"name": "m", "subpath": "meta/../../etc"}]},
     ["model_storage_models[0].subpath='meta/../../etc' climbs out of the model root with '..'"]),
    ({"models": [{"name": "m", "subpath": "/raid/models/meta/llama"}]},
     ["model_storage_models[0].subpath='/raid/models/meta/llama' is absolute", "'meta/llama'"]),
    ({"mode": "pvc", "models": [{"name": "m", "subpath": "a", "storage_uri": "pvc://a:b:model-storage-pvc/a"}]},
     ["model_storage_models[0].storage_uri is not a pvc:// URI OME accepts", "more than one ':'",
      "'pvc://serving:model-storage-pvc/a'"]),
    ({"mode": "pvc", "models": [{"name": "m", "kind": "BaseModel", "subpath": "a",
                                 "storage_uri": "pvc://serving:model-storage-pvc/a"}]},
     ["model_storage_models[0].storage_uri='pvc://serving:model-storage-pvc/a' names a namespace",
      "Write 'pvc://model-storage-pvc/a'"]),
    ({"mode": "pvc", "models": [{"name": "m", "subpath": "a", "storage_uri": "pvc://model-storage-pvc/a"}]},
     ["model_storage_models[0].storage_uri='pvc://model-storage-pvc/a' names no namespace",
      "Write 'pvc://serving:model-storage-pvc/a'"]),
    ({"mode": "pvc", "models": [{"name": "m", "subpath": "a", "storage_uri": "pvc://serving:other/a"}]},
     ["does not point at the role's claim serving/model-storage-pvc"]),
    ({"models": [{"name": "m", "subpath": "a", "storage_uri": "pvc://serving:model-storage-pvc/a"}]},
     ["does not match the model's directory (pvc:// URIs need model_storage_mode: pvc)", "'local:///raid/models/a'"]),
    ({"capacity": "500GB"}, ["model_storage_capacity='500GB' is not a Kubernetes quantity", "'500Gi'"]),
    ({"capacity": "0Gi"}, ["model_storage_capacity='0Gi' is zero"]),
    ({"access_mode": "ReadWriteOnce"}, ["model_storage_access_mode='ReadWriteOnce'", "use 'ReadOnlyMany'"]),
    ({"mode": "nfs"}, ["model_storage_mode='nfs' is not a mode", "'hostPath'", "'pvc'"]),
    ({"namespace": "Serving"}, ["model_storage_namespace='Serving' is not a valid namespace name"]),
    ({"namespace": "kube-public"}, ["model_storage_namespace='kube-public' is a namespace Kubernetes keeps for its own "
                                    "components (kube-system, kube-public, kube-node-lease); give the release a "
                                    "namespace of its own, e.g. 'model-serving'"]),
    ({"models": [{"name": "m", "subpath": "a", "namespace": "x"}]}, ["a ClusterBaseModel is cluster-scoped"]),
    ({"mode": "pvc", "models": [{"name": "m", "subpath": "a", "kind": "BaseModel", "namespace": "other"}]},
     ["must live in the claim's namespace model_storage_namespace='serving'"]),
    ({"models": [{"name": "m", "subpath": "a", "spec": {"storage": {}}}]}, ["spec.storage is set by the role"]),
    ({"models": [{"name": "m", "subpath": "a"}, {"name": "m", "subpath": "b"}]}, ["ClusterBaseModel 'm' is listed twice"]),
    ({"marker": "../config.json"}, ["model_storage_marker='../config.json' must be a file name"]),
    ({"models": "llama"}, ["model_storage_models='llama' is not a list"]),
    # Hostile input: control characters, signs and overflow, strings for booleans, traversal.
    ({"namespace": "serving\n"}, ["model_storage_namespace='serving\\n' is not a valid namespace name"]),
    ({"pvc_name": "a..b"}, ["model_storage_pvc_name='a..b' is not a valid object name"]),
    ({"pv_name": "pv\x00"}, ["model_storage_pv_name='pv\\x00' is not a valid object name", "control"]),
    ({"capacity": "-500Gi"}, ["model_storage_capacity='-500Gi' is not a Kubernetes quantity", "takes no sign"]),
    ({"capacity": "+500Gi"}, ["model_storage_capacity='+500Gi'", "takes no sign"]),
    ({"capacity": "9Ei"}, ["model_storage_capacity='9Ei' is above"]),
    ({"capacity": "500Gi\n"}, ["model_storage_capacity='500Gi\\n' is not a Kubernetes quantity"]),
    ({"capacity": "500m"}, ["model_storage_capacity='500m' is not a whole number of bytes"]),
    ({"dir": "/raid/models\n"}, ["model_storage_dir='/raid/models\\n'", "control"]),
    ({"dir": "/raid//models"}, ["model_storage_dir='/raid//models' is not a clean path"]),
    ({"models": [{"name": "m", "subpath": "meta/llama\n"}]}, ["model_storage_models[0].subpath='meta/llama\\n' is not a path"]),
    ({"models": [{"name": "M\n", "subpath": "a"}]}, ["model_storage_models[0].name='M\\n' is not a valid object name"]),
    ({"marker": "config.json\n"}, ["model_storage_marker='config.json\\n' must be a file name"]),
    ({"nodes": ["gpu-1", "gpu 2"]}, ["model_storage_nodes=['gpu-1', 'gpu 2'] must be a list of node names"]),
    ({"node_label": "kubernetes.io/hostname,zone"}, ["model_storage_node_label='kubernetes.io/hostname,zone' is not a label key"]),
    ({"manage_storage_class": "maybe"}, ["model_storage_manage_storage_class='maybe' is not a boolean"]),
    ({"create_namespace": "nope"}, ["model_storage_create_namespace='nope' is not a boolean"]),
]


@pytest.mark.parametrize("changes, expected", BAD)
def test_bad_inputs_name_variable_value_and_fix(changes, expected):
    problems = ms_inputs.input_problems(inputs(**changes))
    text = " | ".join(problems)
    for part in expected:
        assert part in text, text


# --- holdings and the plan -------------------------------------------------------------------

def test_holders_follow_the_marker_rule():
    held = ms_hosts.holdings(FLEET, INPUTS["models"])
    assert [(m["name"], m["holders"]) for m in held["models"]] == [
        ("llama", ["gpu-a", "gpu-b", "gpu-c"]), ("qwen", ["gpu-a", "gpu-b"])]
    assert held["models"][1]["states"] == {"gpu-a": "held", "gpu-b": "held", "gpu-c": "no-marker", "gpu-d": "absent"}
    assert held["problems"] == []
    assert any("/raid/models/qwen/qwen on gpu-c has no config.json" in n for n in held["notes"])


def test_plan_points_the_volume_at_the_hosts_that_hold_every_model():
    result = ms_objects.objects_plan(INPUTS, FLEET)
    assert result["problems"] == []
    assert result["nodes"] == ["gpu-a", "gpu-b"]
    pv = result["objects"]["pv"]
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["gpu-a", "gpu-b"]}]
    assert pv["spec"]["accessModes"] == ["ReadOnlyMany"] and pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["local"] == {"path": "/raid/models"} and "claimRef" not in pv["spec"]
    assert "volumeName" not in result["objects"]["pvc"]["spec"]
    # The claim can only take this volume, not another Available PV of the class.
    assert result["objects"]["pvc"]["spec"]["selector"] == {"matchLabels": {ms_inputs.VOLUME_LABEL: "model-storage-pv"}}
    assert pv["metadata"]["labels"][ms_inputs.VOLUME_LABEL] == "model-storage-pv"
    sc = result["objects"]["storage_class"]
    assert (sc["provisioner"], sc["volumeBindingMode"]) == ("kubernetes.io/no-provisioner", "WaitForFirstConsumer")
    llama, qwen = result["objects"]["models"]
    assert llama["kind"] == "ClusterBaseModel" and "namespace" not in llama["metadata"]
    assert llama["spec"]["storage"]["storageUri"] == "local:///raid/models/meta/llama"
    assert llama["spec"]["storage"]["path"] == "/raid/models/meta/llama"
    # hostPath mode: each model's own hosts (gpu-c holds llama, not qwen).
    assert llama["spec"]["storage"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["gpu-a", "gpu-b", "gpu-c"]
    assert qwen["metadata"]["namespace"] == "serving" and qwen["spec"]["vendor"] == "qwen"
    assert result["ome_values"] == {"modelAgent": {"enabled": True, "hostPath": "/raid/models"}}
    assert any("llama is also on gpu-c" in n for n in result["notes"])


def test_pvc_mode_pre_binds_and_uses_pvc_uris():
    result = ms_objects.objects_plan(inputs(mode="pvc"), FLEET)
    assert result["objects"]["pv"]["spec"]["claimRef"] == {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "serving", "name": "model-storage-pvc"}
    assert result["objects"]["pvc"]["spec"]["volumeName"] == "model-storage-pv"
    uris = [m["spec"]["storage"] for m in result["objects"]["models"]]
    assert uris == [{"storageUri": "pvc://serving:model-storage-pvc/meta/llama"}, {"storageUri": "pvc://model-storage-pvc/qwen/qwen"}]


def test_a_model_no_host_holds_is_refused():
    result = ms_objects.objects_plan(inputs(models=[{"name": "gone", "subpath": "meta/llama"}]),
                                     fleet(gpu_a=["no-marker", "absent"], gpu_d=["absent", "absent"]))
    assert result["objects"] == {}
    assert len(result["problems"]) == 1
    assert "model_storage_models[0] (gone): no host holds meta/llama with its marker file (gpu-a: no-marker, gpu-d: absent)" \
        in result["problems"][0]


def test_a_model_path_that_is_a_file_or_symlink_is_refused():
    result = ms_objects.objects_plan(INPUTS, fleet(gpu_a=["held", "held"], gpu_b=["file", "symlink"]))
    text = " | ".join(result["problems"])
    assert "model_storage_models[0].subpath 'meta/llama': /raid/models/meta/llama on gpu-b is a file, not a directory" in text
    assert "/raid/models/qwen/qwen on gpu-b is a symlink" in text
    assert result["objects"] == {}


def test_a_symlinked_root_is_refused():
    bad = {"gpu-a": host("gpu-a", ["held", "held"], root=stat(isdir=False, islnk=True))}
    result = ms_objects.objects_plan(INPUTS, bad)
    assert "model_storage_dir /raid/models on gpu-a is a symlink" in " ".join(result["problems"])


def test_a_requested_node_without_the_model_is_refused():
    result = ms_objects.objects_plan(inputs(nodes=["gpu-a", "gpu-c"]), FLEET)
    assert result["objects"] == {}
    assert result["problems"] == [
        "model_storage_nodes names gpu-c, which does not hold qwen (qwen: no-marker): a PV pointing there would send "
        "serving pods to a node without the model. Remove it from model_storage_nodes"]
    assert ms_objects.objects_plan(inputs(nodes=["gpu-b"]), FLEET)["nodes"] == ["gpu-b"]


def test_no_host_with_every_model_is_refused():
    result = ms_objects.objects_plan(INPUTS, fleet(gpu_a=["held", "absent"], gpu_b=["absent", "held"]))
    assert "no host holds every model" in result["problems"][0]
    assert "llama on gpu-a; qwen on gpu-b" in result["problems"][0]


def test_a_host_with_another_model_root_is_a_warning():
    other = dict(FLEET)
    other["gpu-b"] = dict(FLEET["gpu-b"], root="/data/models")
    result = ms_objects.objects_plan(INPUTS, other)
    assert result["problems"] == []
    assert result["warnings"] == ["gpu-b keeps its models in /data/models, but the local PV names /raid/models on "
                                  "every node (one path for all); give model_storage_dir the same value on every host"]


def test_an_unreported_host_is_a_warning_and_left_out():
    result = ms_objects.objects_plan(INPUTS, dict(FLEET, **{"gpu-e": None}))
    assert result["problems"] == [] and result["nodes"] == ["gpu-a", "gpu-b"]
    assert any("gpu-e did not report" in w for w in result["warnings"])


def test_empty_models_plan_nothing():
    result = ms_objects.objects_plan(inputs(models=[]), FLEET)
    assert result["problems"] == [] and result["objects"] == {}


# --- against the cluster ---------------------------------------------------------------------

CLUSTER = {"node_names": ["gpu-a", "gpu-b", "gpu-c", "gpu-d"], "crds": {"BaseModel": True, "ClusterBaseModel": True},
           "controller": None, "storage_class": None, "pv": None, "pvc": None}


def cluster(**changes):
    result = copy.deepcopy(CLUSTER)
    result.update(changes)
    return result


def test_a_fresh_cluster_has_no_problems():
    the_plan = ms_objects.objects_plan(INPUTS, FLEET)
    check = ms_objects.cluster_problems(the_plan, INPUTS, CLUSTER)
    assert (check["errors"], check["warnings"], check["infos"]) == ([], [], [])
    assert check["model_kinds"] == ["BaseModel", "ClusterBaseModel"]


def test_a_missing_namespace_is_refused_only_when_the_role_is_not_to_create_it():
    the_plan = ms_objects.objects_plan(INPUTS, FLEET)
    assert ms_objects.cluster_problems(the_plan, inputs(create_namespace=True), cluster(serving_namespace=None))["errors"] == []
    assert ms_objects.cluster_problems(the_plan, inputs(create_namespace=False), cluster(serving_namespace={"kind": "Namespace"}))[
        "errors"] == []
    assert ms_objects.cluster_problems(the_plan, inputs(create_namespace=False), cluster(serving_namespace=None))["errors"] == [
        "model_storage_namespace='serving' does not exist and model_storage_create_namespace is false: create the "
        "namespace first (with the labels and quotas your cluster requires) or set model_storage_create_namespace: true"]
    # Read as Ansible reads booleans: the string 'no' is false, not a true non-empty string.
    assert len(ms_objects.cluster_problems(the_plan, inputs(create_namespace="no"), cluster(serving_namespace=None))["errors"]) == 1
    assert ms_objects.cluster_problems(the_plan, inputs(create_namespace="yes"), cluster(serving_namespace=None))["errors"] == []


def test_an_existing_pv_pointing_at_a_node_without_the_model_is_refused():
    the_plan = ms_objects.objects_plan(INPUTS, FLEET)
    old = copy.deepcopy(the_plan["objects"]["pv"])
    old["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] = ["gpu-a", "gpu-d"]
    errors = ms_objects.cluster_problems(the_plan, INPUTS, cluster(pv=old))["errors"]
    assert errors == ["PersistentVolume model-storage-pv already exists and points at gpu-d, which does not hold every "
                      "model; its node affinity is immutable. Delete it (persistentVolumeReclaimPolicy Retain keeps the "
                      "files) and re-run"]
    # The same volume, read back with what the API adds, is fine.
    same = copy.deepcopy(the_plan["objects"]["pv"])
    same["spec"]["claimRef"] = {"namespace": "serving", "name": "model-storage-pvc", "uid": "u"}
    assert ms_objects.cluster_problems(the_plan, INPUTS, cluster(pv=same))["errors"] == []


def test_a_released_volume_is_bound_again_and_another_claims_volume_refused():
    the_plan = ms_objects.objects_plan(INPUTS, FLEET)
    released = copy.deepcopy(the_plan["objects"]["pv"])
    released["spec"]["claimRef"] = {"namespace": "serving", "name": "model-storage-pvc", "uid": "deleted"}
    check = ms_objects.cluster_problems(the_plan, INPUTS, cluster(pv=released, pvc=None))
    assert check["errors"] == [] and check["rebind"]["action"] == "rebind"
    assert check["rebind"]["patch"] == {"spec": {"claimRef": {"uid": None, "resourceVersion": None}}}
    taken = copy.deepcopy(released)
    taken["spec"]["claimRef"]["name"] = "someone-elses"
    errors = ms_objects.cluster_problems(the_plan, INPUTS, cluster(pv=taken, pvc=None))["errors"]
    assert len(errors) == 1 and "claimed by serving/someone-elses" in errors[0] and "model_storage_pv_name" in errors[0]


def test_unknown_nodes_storage_class_and_claims_are_refused():
    the_plan = ms_objects.objects_plan(INPUTS, FLEET)
    errors = ms_objects.cluster_problems(the_plan, INPUTS, cluster(
        node_names=["gpu-b"],
        storage_class={"provisioner": "linstor.csi.linbit.com", "volumeBindingMode": "WaitForFirstConsumer"},
        pvc={"spec": {"volumeName": "other-pv"}}))["errors"]
    text = " | ".join(errors)
    assert "the cluster has no Node named gpu-a; set model_storage_node_name" in text
    assert "StorageClass local-storage exists with provisioner='linstor.csi.linbit.com'" in text
    assert "PersistentVolumeClaim serving/model-storage-pvc is bound to other-pv" in text


def test_absent_crds_skip_model_objects_with_a_note():
    the_plan = ms_objects.objects_plan(INPUTS, FLEET)
    check = ms_objects.cluster_problems(the_plan, INPUTS, cluster(crds={}))
    assert check["errors"] == [] and check["model_kinds"] == []
    assert "OME's CRDs for BaseModel, ClusterBaseModel are not installed" in check["infos"][0]


def test_old_ome_is_refused_in_pvc_mode_and_points_to_hostpath():
    pvc_inputs = inputs(mode="pvc")
    the_plan = ms_objects.objects_plan(pvc_inputs, FLEET)
    old = {"spec": {"template": {"spec": {"containers": [{"name": "manager", "image": "ghcr.io/moirai-internal/ome-manager:v1.2.2"}]}}}}
    errors = ms_objects.cluster_problems(the_plan, pvc_inputs, cluster(controller=old))["errors"]
    assert errors and "OME v1.2.2 is older than pvc:// model storage" in errors[0]
    assert "Set model_storage_mode: hostPath" in errors[0]
    assert ms_objects.cluster_problems(the_plan, inputs(mode="pvc", ome_version="v1.3.1"), cluster(controller=old))["errors"] == []
    unknown = ms_objects.cluster_problems(the_plan, pvc_inputs, CLUSTER)
    assert unknown["errors"] == [] and "The OME version is unknown" in unknown["warnings"][0]
    # hostPath mode works with every OME.
    assert ms_objects.cluster_problems(ms_objects.objects_plan(INPUTS, FLEET), INPUTS, cluster(controller=old))["errors"] == []


def test_a_claim_request_cannot_change():
    the_plan = ms_objects.objects_plan(inputs(capacity="600Gi"), FLEET)
    have = copy.deepcopy(ms_objects.objects_plan(INPUTS, FLEET)["objects"]["pvc"])
    errors = ms_objects.cluster_problems(the_plan, inputs(capacity="600Gi"), cluster(pvc=have))["errors"]
    assert errors == ["PersistentVolumeClaim serving/model-storage-pvc requests 500Gi, not model_storage_capacity='600Gi': "
                      "a claim's request cannot change here (no expansion for local volumes); keep '500Gi' or delete the "
                      "claim (no pod may use it) and re-run"]


def test_a_hostpath_claim_cannot_turn_into_a_pre_bound_one():
    pvc_inputs = inputs(mode="pvc")
    the_plan = ms_objects.objects_plan(pvc_inputs, FLEET)
    spec = {"selector": the_plan["objects"]["pvc"]["spec"]["selector"], "resources": {"requests": {"storage": "500Gi"}}}
    errors = ms_objects.cluster_problems(the_plan, pvc_inputs, cluster(pvc={"spec": spec}))["errors"]
    assert "exists unbound without volumeName" in errors[0]
    errors = ms_objects.cluster_problems(the_plan, pvc_inputs, cluster(pvc={"spec": {"resources": spec["resources"]}}))["errors"]
    assert "exists with selector None" in errors[0] and "(immutable)" in errors[0]


# --- after applying --------------------------------------------------------------------------

def node(name, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}}


def test_label_check_agreeing_labels_say_nothing():
    the_plan = ms_objects.objects_plan(INPUTS, FLEET)
    key = "models.ome.io/clusterbasemodel.llama"
    models = the_plan["objects"]["models"][:1]
    nodes = [node("gpu-a", {key: "Ready"}), node("gpu-b", {key: "Ready"}), node("gpu-c")]
    assert ms_report.label_findings(models, nodes, the_plan["objects"]["pv"]) == []


def test_label_check_reports_both_directions_and_silence():
    the_plan = ms_objects.objects_plan(INPUTS, FLEET)
    key = "models.ome.io/clusterbasemodel.llama"
    nodes = [node("gpu-a", {key: "Ready"}), node("gpu-b", {key: "Updating"}), node("gpu-d", {key: "Ready"})]
    findings = ms_report.label_findings(the_plan["objects"]["models"], nodes, the_plan["objects"]["pv"])
    assert [(f["check"], f["severity"], f["object"]) for f in findings] == [
        (ms_inputs.CHECK_LABELS, "warning", "ClusterBaseModel llama"),
        (ms_inputs.CHECK_LABELS, "warning", "ClusterBaseModel llama"),
        (ms_inputs.CHECK_LABELS, "info", "BaseModel serving/qwen")]
    assert "OME labels gpu-d Ready" in findings[0]["message"] and "does not admit it" in findings[0]["message"]
    assert "admits gpu-b, where OME's model agent has not labelled the model Ready" in findings[1]["message"]
    assert "models.ome.io/serving.basemodel.qwen=Ready" in findings[2]["message"]


def test_report_section_is_valid_and_lists_hosts_per_model():
    the_plan = ms_objects.objects_plan(INPUTS, FLEET)
    models = the_plan["objects"]["models"]
    observed = {"pv": dict(the_plan["objects"]["pv"], status={"phase": "Available"}),
                "pvc": dict(the_plan["objects"]["pvc"], status={"phase": "Pending"}),
                "nodes": [node("gpu-a")], "planned_models": models,
                "models": [models[0], dict(models[1], spec={"vendor": "qwen", "storage": {"storageUri": "x"}})],
                "placement": [{"check": "pvc-pending", "severity": "info", "message": "waits",
                               "object": {"kind": "PersistentVolumeClaim", "namespace": "serving", "name": "model-storage-pvc"}},
                              {"check": "pvc-pending", "severity": "error", "message": "other",
                               "object": {"kind": "PersistentVolumeClaim", "namespace": "x", "name": "y"}}],
                "warnings": [], "infos": ["CRDs absent"],
                "pods": [{"name": "llama-0", "node": "gpu-a", "phase": "Running"},
                         {"name": "llama-1", "node": "", "phase": "Pending"}]}
    section = ms_report.report_section(the_plan, INPUTS, observed)
    assert check_section(section) == []
    # The pods using the model claim follow the volume and its claim: pod, phase, node.
    assert section["tables"][1]["title"] == "Model volume" and section["tables"][1]["rows"][2:] == [
        ["Pod", "serving/llama-0", "Running", "gpu-a"], ["Pod", "serving/llama-1", "Pending", "not scheduled"]]
    rows = section["tables"][0]["rows"]
    assert rows[0][:4] == ["llama", "ClusterBaseModel", "gpu-a, gpu-b, gpu-c", "gpu-d: absent"]
    assert rows[1][2:4] == ["gpu-a, gpu-b", "gpu-c: no-marker, gpu-d: absent"]
    assert section["tables"][1]["rows"][0] == ["PersistentVolume", "model-storage-pv", "Available", "gpu-a, gpu-b"]
    assert section["tables"][2]["rows"] == [["info", "pvc-pending", "PersistentVolumeClaim model-storage-pvc", "waits"]]
    assert section["tables"][3]["rows"] == [["modelAgent.enabled", "true"], ["modelAgent.hostPath", "/raid/models"]]
    messages = [(p["severity"], p["message"]) for p in section["problems"]]
    assert ("info", "CRDs absent") in messages
    pruned = [m for s, m in messages if s == "error"]
    assert len(pruned) == 1 and "came back without spec.storage.storageUri, spec.storage.path, spec.storage.nodeAffinity" in pruned[0]


def test_pvc_mode_section_errors_on_an_unbound_claim():
    pvc_inputs = inputs(mode="pvc")
    the_plan = ms_objects.objects_plan(pvc_inputs, FLEET)
    section = ms_report.report_section(the_plan, pvc_inputs, {"pvc": {"status": {"phase": "Pending"}}})
    assert any(p["severity"] == "error" and "the pre-bound claim is Pending, not Bound" in p["message"]
               for p in section["problems"])
    assert not any(p["severity"] == "error" for p in ms_report.report_section(
        the_plan, pvc_inputs, {"pvc": {"status": {"phase": "Pending"}}, "check_mode": True})["problems"])
