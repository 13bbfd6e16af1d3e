"""gpufleet.cluster.model_storage against the local control plane, with OME's real CRDs.

The GPU hosts are local connections, each with a model directory of its own (a temp dir):
the role's inspection stats real files. Their names are the lab's Kubernetes node names, so
the PV's node affinity and the scheduler's decisions are about the lab's (kwok) nodes.

    gpu-ucsd-1  meta/llama  qwen/qwen  mixed/     (all with config.json)
    gpu-ucsd-2  meta/llama  qwen/qwen
    gpu-sdsu-1  meta/llama  qwen/qwen without config.json (an incomplete copy)
    gpu-sdsu-2  nothing; mixed is a file, etc-link a symlink to /etc

OME's CRDs come from ../shared/upstream/ome/crds/ (never copied into the repository).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from cluster_helpers import REPO, assert_nothing_changed, cluster_objects, settled_objects, wait_for

sys.path.insert(0, str(REPO / "tests"))
from argspec_cases import CRASH, empty_cases  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.cluster

PLAYBOOK = REPO / "playbooks" / "model_storage.yml"
SHARED = REPO.parent / "shared" if (REPO.parent / "shared").is_dir() else Path("/work/shared")
CRD_DIR = SHARED / "upstream" / "ome" / "crds"
CRD_NAMES = ["basemodels.ome.io", "clusterbasemodels.ome.io"]
PREFIX = "modelstore"
SC = "modelstore-local"
LAYOUT = {
    "gpu-ucsd-1": {"meta/llama": True, "qwen/qwen": True, "mixed": True},
    "gpu-ucsd-2": {"meta/llama": True, "qwen/qwen": True},
    "gpu-sdsu-1": {"meta/llama": True, "qwen/qwen": False},
    "gpu-sdsu-2": {"mixed": "file", "etc-link": "symlink"},
}


def models(name):
    return [
        {"name": "%s-llama" % name, "subpath": "meta/llama",
         "spec": {"modelFormat": {"name": "safetensors"}, "vendor": "meta", "displayName": "Llama (test)"}},
        {"name": "%s-qwen" % name, "subpath": "qwen/qwen", "kind": "BaseModel",
         "spec": {"modelFormat": {"name": "safetensors"}, "vendor": "qwen"}},
    ]


def names(name, **more):
    return dict({"model_storage_namespace": name, "model_storage_pv_name": "%s-pv" % name,
                 "model_storage_pvc_name": "%s-pvc" % name, "model_storage_storage_class": SC,
                 "model_storage_models": models(name)}, **more)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    root = tmp_path_factory.mktemp("model-hosts")
    for host, content in LAYOUT.items():
        base = root / host / "models"
        base.mkdir(parents=True)
        for sub, what in content.items():
            if what == "file":
                (base / sub).write_text("not a directory\n")
                continue
            if what == "symlink":
                (base / sub).symlink_to("/etc")
                continue
            (base / sub).mkdir(parents=True)
            if what:
                (base / sub / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}\n')
    return root


def _inventory(hosts, path, controller_vars=None, all_vars=None):
    inventory = {"all": {
        "hosts": {"localhost": dict({"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                     "model_storage_dir": "/raid/models"}, **(controller_vars or {}))},
        "children": {"gpu_nodes": {"hosts": dict(
            (host, {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "model_storage_dir": str(hosts / host / "models")}) for host in LAYOUT)}},
        "vars": all_vars or {},
    }}
    path.write_text(yaml.safe_dump(inventory))
    return path


def run_role(cluster, hosts, tmp_path, variables, check=False, controller_vars=None, all_vars=None, tag="run"):
    """Run playbooks/model_storage.yml; return (returncode, parsed json output, seconds)."""
    inventory = _inventory(hosts, tmp_path / ("hosts-%s.yml" % tag), controller_vars, all_vars)
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK)]
    if variables:
        cmd += ["-e", json.dumps(variables)]
    if check:
        cmd += ["--check", "--diff"]
    started = time.monotonic()
    proc = subprocess.run(cmd, env={**os.environ, **cluster.env, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                                    "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json"},
                          capture_output=True, text=True, timeout=600, check=False, cwd=str(tmp_path))
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        pytest.fail("no json output (rc %s): %s\n%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc.returncode, out, time.monotonic() - started


def failures(out):
    messages = []
    for play in out["plays"]:
        for task in play["tasks"]:
            for res in task["hosts"].values():
                if res.get("failed"):
                    messages.append(res.get("msg", ""))
                    messages.extend(item.get("msg", "") for item in res.get("results") or [] if item.get("failed") or "exception" in item)
    return messages


def diffs(value):
    """Every ``diff`` in a task result (not its invocation, which repeats the arguments)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "diff":
                yield item
            elif key != "invocation":
                yield from diffs(item)
    elif isinstance(value, list):
        for item in value:
            yield from diffs(item)


def section(out):
    for play in out["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith("Keep the report section"):
                return task["hosts"]["localhost"]["ansible_facts"]["model_storage_report_section"]
    pytest.fail("no report section in the run")


def converge(cluster, hosts, tmp_path, variables, **kwargs):
    rc, out, seconds = run_role(cluster, hosts, tmp_path, variables, **kwargs)
    assert rc == 0, failures(out)
    return out, seconds


def custom(cluster):
    return client.CustomObjectsApi(cluster.api)


def read_model(cluster, kind, name, namespace=None):
    api = custom(cluster)
    if kind == "ClusterBaseModel":
        return api.get_cluster_custom_object("ome.io", "v1beta1", "clusterbasemodels", name)
    return api.get_namespaced_custom_object("ome.io", "v1beta1", namespace, "basemodels", name)


def affinity_nodes(pv):
    return pv.spec.node_affinity.required.node_selector_terms[0].match_expressions[0].values


def _delete_everything(cluster, wait=True):
    """Delete what the tests made; wait (before the tests) until namespaces and PVs are gone."""
    core, storage, api = cluster.core, cluster.storage, custom(cluster)
    for ns in core.list_namespace().items:
        if ns.metadata.name.startswith(PREFIX + "-"):
            core.delete_namespace(ns.metadata.name)
    for pv in core.list_persistent_volume().items:
        if pv.metadata.name.startswith(PREFIX + "-"):
            core.delete_persistent_volume(pv.metadata.name)
    for sc in storage.list_storage_class().items:
        if sc.metadata.name.startswith(PREFIX + "-"):
            storage.delete_storage_class(sc.metadata.name)
    try:
        for obj in api.list_cluster_custom_object("ome.io", "v1beta1", "clusterbasemodels")["items"]:
            if obj["metadata"]["name"].startswith(PREFIX + "-"):
                api.delete_cluster_custom_object("ome.io", "v1beta1", "clusterbasemodels", obj["metadata"]["name"])
    except ApiException as exc:
        if exc.status != 404:
            raise
    for node in core.list_node().items:
        stale = dict((k, None) for k in (node.metadata.labels or {}) if k.startswith("models.ome.io/") and PREFIX in k)
        if stale:
            core.patch_node(node.metadata.name, {"metadata": {"labels": stale}})

    def gone():
        return not [n for n in core.list_namespace().items if n.metadata.name.startswith(PREFIX + "-")] and \
            not [p for p in core.list_persistent_volume().items if p.metadata.name.startswith(PREFIX + "-")]
    if wait:
        wait_for(gone, timeout=90, what="the test's namespaces and PVs to be deleted")


@pytest.fixture(scope="module")
def clean(cluster):
    _delete_everything(cluster)
    yield
    _delete_everything(cluster, wait=False)


def _remove_crds(cluster):
    ext = client.ApiextensionsV1Api(cluster.api)
    for name in CRD_NAMES:
        try:
            ext.delete_custom_resource_definition(name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def gone():
        present = [c.metadata.name for c in ext.list_custom_resource_definition().items]
        return not any(n in present for n in CRD_NAMES)
    wait_for(gone, timeout=60, what="OME's CRDs to be removed")


@pytest.fixture(scope="module")
def crds(cluster, clean):
    """OME's BaseModel and ClusterBaseModel CRDs, installed for this module and removed after."""
    ext = client.ApiextensionsV1Api(cluster.api)
    for path in sorted(CRD_DIR.glob("ome.io_*.yaml")):
        body = yaml.safe_load(path.read_text())
        try:
            ext.create_custom_resource_definition(body)
        except ApiException as exc:
            if exc.status != 409:
                raise

    def established():
        for name in CRD_NAMES:
            conditions = ext.read_custom_resource_definition(name).status.conditions or []
            if not any(c.type == "Established" and c.status == "True" for c in conditions):
                return False
        return True
    wait_for(established, timeout=60, what="OME's CRDs to be Established")
    yield
    # The namespace controller finishes the deletions; the next run's `clean` waits for them.
    _delete_everything(cluster, wait=False)
    _remove_crds(cluster)


def test_without_ome_crds_the_volume_is_made_and_models_are_skipped(cluster, clean, hosts, tmp_path):
    _remove_crds(cluster)
    out, seconds = converge(cluster, hosts, tmp_path, names("modelstore-nocrd"))
    report = section(out)
    infos = [p["message"] for p in report["problems"] if p["severity"] == "info"]
    assert any("OME's CRDs for BaseModel, ClusterBaseModel are not installed" in m for m in infos), report["problems"]
    assert report["tables"][0]["rows"][0][5] == "not created"
    pv = cluster.core.read_persistent_volume("modelstore-nocrd-pv")
    assert affinity_nodes(pv) == ["gpu-ucsd-1", "gpu-ucsd-2"]
    print("converge without CRDs: %.1f s" % seconds)


def test_check_mode_on_a_fresh_cluster_creates_nothing(cluster, crds, hosts, tmp_path):
    variables = names("modelstore-check", model_storage_storage_class="modelstore-check-local")
    rc, out, _seconds = run_role(cluster, hosts, tmp_path, variables, check=True)
    assert rc == 0, failures(out)
    assert out["stats"]["localhost"]["changed"] > 0  # it says what it would do
    for read in (lambda: cluster.core.read_namespace("modelstore-check"),
                 lambda: cluster.core.read_persistent_volume("modelstore-check-pv"),
                 lambda: cluster.storage.read_storage_class("modelstore-check-local"),
                 lambda: read_model(cluster, "ClusterBaseModel", "modelstore-check-llama")):
        with pytest.raises(ApiException) as err:
            read()
        assert err.value.status == 404


def test_hostpath_mode_binds_on_first_consumer_on_a_model_host(cluster, crds, hosts, tmp_path):
    variables = names("modelstore-hp")
    out, seconds = converge(cluster, hosts, tmp_path, variables)
    print("first converge (hostPath): %.1f s" % seconds)
    core = cluster.core
    pv = core.read_persistent_volume("modelstore-hp-pv")
    # gpu-sdsu-1 has llama but an incomplete qwen, gpu-sdsu-2 nothing: neither is in the volume.
    assert affinity_nodes(pv) == ["gpu-ucsd-1", "gpu-ucsd-2"]
    assert pv.spec.access_modes == ["ReadOnlyMany"] and pv.spec.persistent_volume_reclaim_policy == "Retain"
    assert pv.spec.local.path == "/raid/models" and pv.spec.claim_ref is None
    # hostPath mode: OME's serving pods mount the models as a hostPath volume, which only privileged allows.
    assert core.read_namespace("modelstore-hp").metadata.labels["pod-security.kubernetes.io/enforce"] == "privileged"
    sc = cluster.storage.read_storage_class(SC)
    assert (sc.provisioner, sc.volume_binding_mode) == ("kubernetes.io/no-provisioner", "WaitForFirstConsumer")

    # OME's objects, read back as stored: nothing pruned by the CRD schema.
    llama = read_model(cluster, "ClusterBaseModel", "modelstore-hp-llama")
    assert llama["spec"]["storage"]["storageUri"] == "local:///raid/models/meta/llama"
    assert llama["spec"]["storage"]["path"] == "/raid/models/meta/llama"
    assert llama["spec"]["storage"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["gpu-sdsu-1", "gpu-ucsd-1", "gpu-ucsd-2"]}]
    assert llama["spec"]["displayName"] == "Llama (test)" and llama["spec"]["modelFormat"]["name"] == "safetensors"
    qwen = read_model(cluster, "BaseModel", "modelstore-hp-qwen", "modelstore-hp")
    assert qwen["spec"]["storage"]["storageUri"] == "local:///raid/models/qwen/qwen"
    report = section(out)
    assert report["tables"][0]["rows"][0][:4] == ["modelstore-hp-llama", "ClusterBaseModel",
                                                  "gpu-sdsu-1, gpu-ucsd-1, gpu-ucsd-2", "gpu-sdsu-2: absent"]
    assert report["tables"][0]["rows"][1][2:4] == ["gpu-ucsd-1, gpu-ucsd-2", "gpu-sdsu-1: no-marker, gpu-sdsu-2: absent"]

    # No consumer, no binding (WaitForFirstConsumer).
    time.sleep(3)
    assert core.read_namespaced_persistent_volume_claim("modelstore-hp-pvc", "modelstore-hp").status.phase == "Pending"
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="reader"),
        spec=client.V1PodSpec(containers=[client.V1Container(
            name="reader", image="registry.invalid/reader:1",
            volume_mounts=[client.V1VolumeMount(name="models", mount_path="/opt/ml/model", sub_path="meta/llama",
                                                read_only=True)])],
            volumes=[client.V1Volume(name="models", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                claim_name="modelstore-hp-pvc", read_only=True))]))
    core.create_namespaced_pod("modelstore-hp", pod)
    scheduled = wait_for(lambda: core.read_namespaced_pod("reader", "modelstore-hp").spec.node_name, timeout=60,
                         what="the consumer pod to be scheduled")
    assert scheduled in ("gpu-ucsd-1", "gpu-ucsd-2")

    def bound():
        found = core.read_namespaced_persistent_volume_claim("modelstore-hp-pvc", "modelstore-hp")
        return found if found.status.phase == "Bound" else None

    claim = wait_for(bound, timeout=60, what="the claim to bind")
    assert claim.spec.volume_name == "modelstore-hp-pv"

    # OME's model agent would label the nodes that have the model; here the test does, one
    # of them outside the volume, so the check must speak.
    key = "models.ome.io/clusterbasemodel.modelstore-hp-llama"
    core.patch_node("gpu-ucsd-1", {"metadata": {"labels": {key: "Ready"}}})
    core.patch_node("gpu-sdsu-1", {"metadata": {"labels": {key: "Ready"}}})
    # Re-run with the claim bound: nothing changes.
    out, seconds = converge(cluster, hosts, tmp_path, variables, tag="again")
    print("second converge (hostPath): %.1f s" % seconds)
    assert out["stats"]["localhost"]["changed"] == 0 and all(s["changed"] == 0 for s in out["stats"].values())
    # The model volume's table lists the pod using the claim, on the node it was scheduled to.
    volume = [t for t in section(out)["tables"] if t["title"] == "Model volume"][0]
    pods = [r for r in volume["rows"] if r[0] == "Pod"]
    assert [(r[1], r[3]) for r in pods] == [("modelstore-hp/reader", scheduled)] and pods[0][2] in ("Pending", "Running")
    findings = [p for p in section(out)["problems"] if "model-ready-labels-disagree-with-pv-affinity" in p["message"]]
    messages = " | ".join(p["message"] for p in findings)
    assert "OME labels gpu-sdsu-1 Ready" in messages and "does not admit it" in messages
    assert "admits gpu-ucsd-2, where OME's model agent has not labelled the model Ready" in messages
    assert "models.ome.io/modelstore-hp.basemodel.modelstore-hp-qwen=Ready" in messages  # no label at all: info
    rc, out, _seconds = run_role(cluster, hosts, tmp_path, variables, check=True, tag="check")
    assert rc == 0 and out["stats"]["localhost"]["changed"] == 0, failures(out)
    # A change in check mode with --diff: shown, not made.
    changed = names("modelstore-hp")
    changed["model_storage_models"][0]["spec"]["displayName"] = "Llama (renamed)"
    rc, out, _seconds = run_role(cluster, hosts, tmp_path, changed, check=True, tag="diff")
    assert rc == 0 and out["stats"]["localhost"]["changed"] == 1, failures(out)
    shown = [t["hosts"]["localhost"] for play in out["plays"] for t in play["tasks"]
             if t["task"]["name"].endswith("Model volume, claim and OME model objects")]
    assert "Llama (renamed)" in json.dumps(list(diffs(shown))), shown
    assert read_model(cluster, "ClusterBaseModel", "modelstore-hp-llama")["spec"]["displayName"] == "Llama (test)"


def test_a_model_gone_from_a_host_in_the_volume_is_refused(cluster, crds, hosts, tmp_path):
    """The hostPath test's volume admits gpu-ucsd-2; once qwen is gone from there, re-running is refused."""
    marker = hosts / "gpu-ucsd-2" / "models" / "qwen" / "qwen" / "config.json"
    variables = names("modelstore-hp")
    try:
        before = cluster.core.read_persistent_volume("modelstore-hp-pv")
    except ApiException:  # run on its own (-k): make the volume first
        converge(cluster, hosts, tmp_path, variables)
        before = cluster.core.read_persistent_volume("modelstore-hp-pv")
    marker.rename(marker.with_suffix(".away"))
    try:
        rc, out, _seconds = run_role(cluster, hosts, tmp_path, variables, tag="stale")
    finally:
        marker.with_suffix(".away").rename(marker)
    assert rc != 0
    assert "PersistentVolume modelstore-hp-pv already exists and points at gpu-ucsd-2, which does not hold every " \
        "model" in " ".join(failures(out))
    after = cluster.core.read_persistent_volume("modelstore-hp-pv")
    assert after.metadata.resource_version == before.metadata.resource_version


def test_pvc_mode_claim_is_bound_before_any_pod(cluster, crds, hosts, tmp_path):
    variables = names("modelstore-pvc", model_storage_mode="pvc")
    out, seconds = converge(cluster, hosts, tmp_path, variables)
    print("first converge (pvc): %.1f s" % seconds)
    core = cluster.core
    assert core.list_namespaced_pod("modelstore-pvc").items == []
    claim = core.read_namespaced_persistent_volume_claim("modelstore-pvc-pvc", "modelstore-pvc")
    assert claim.status.phase == "Bound" and claim.spec.volume_name == "modelstore-pvc-pv"
    assert core.read_namespace("modelstore-pvc").metadata.labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert claim.spec.storage_class_name == SC  # a WaitForFirstConsumer class, bound with no consumer
    pv = core.read_persistent_volume("modelstore-pvc-pv")
    assert (pv.spec.claim_ref.namespace, pv.spec.claim_ref.name) == ("modelstore-pvc", "modelstore-pvc-pvc")
    assert pv.status.phase == "Bound"
    llama = read_model(cluster, "ClusterBaseModel", "modelstore-pvc-llama")
    assert llama["spec"]["storage"] == {"storageUri": "pvc://modelstore-pvc:modelstore-pvc-pvc/meta/llama"}
    qwen = read_model(cluster, "BaseModel", "modelstore-pvc-qwen", "modelstore-pvc")
    assert qwen["spec"]["storage"] == {"storageUri": "pvc://modelstore-pvc-pvc/qwen/qwen"}
    warnings = [p["message"] for p in section(out)["problems"] if p["severity"] == "warning"]
    assert any("The OME version is unknown" in w for w in warnings)
    out, _seconds = converge(cluster, hosts, tmp_path, variables, tag="again")
    assert all(s["changed"] == 0 for s in out["stats"].values())


def test_a_deleted_claim_is_bound_again_to_the_model_volume(cluster, crds, hosts, tmp_path):
    """The claim of pvc mode deleted (by mistake, with its namespace's clean-up...): its Retain
    volume is Released with the old uid; the re-run binds the same volume to the new claim."""
    variables = names("modelstore-pvc", model_storage_mode="pvc")
    core = cluster.core
    pv = core.read_persistent_volume("modelstore-pvc-pv")
    core.delete_namespaced_persistent_volume_claim("modelstore-pvc-pvc", "modelstore-pvc")

    def phase(wanted, read):
        found = read()
        return found if found.status.phase == wanted else None

    released = wait_for(lambda: phase("Released", lambda: core.read_persistent_volume("modelstore-pvc-pv")),
                        timeout=60, what="model volume Released")
    out, _seconds = converge(cluster, hosts, tmp_path, variables, tag="rebind")
    assert "keeps the data of the claim modelstore-pvc/modelstore-pvc-pvc (uid %s)" % released.spec.claim_ref.uid \
        in json.dumps(out)
    claim = wait_for(lambda: phase("Bound", lambda: core.read_namespaced_persistent_volume_claim(
        "modelstore-pvc-pvc", "modelstore-pvc")), timeout=60, what="new claim Bound")
    again = core.read_persistent_volume("modelstore-pvc-pv")
    assert again.metadata.uid == pv.metadata.uid and again.spec.local.path == pv.spec.local.path
    assert claim.spec.volume_name == "modelstore-pvc-pv" and again.spec.claim_ref.uid == claim.metadata.uid
    out, _seconds = converge(cluster, hosts, tmp_path, variables, tag="rebind-again")
    assert all(s["changed"] == 0 for s in out["stats"].values())


@pytest.mark.parametrize("variable, value", empty_cases("model_storage"))
def test_each_variable_empty_converges_or_is_refused_by_name(cluster, crds, hosts, tmp_path, variable, value):
    """Valid minimal input never crashes the role (tests/integration/test_empty_inputs.py for the others)."""
    rc, out, _seconds = run_role(cluster, hosts, tmp_path, names("modelstore-empty", **{variable: value}), check=True)
    text = json.dumps(out)
    crash = CRASH.search(text)
    assert not crash, text[max(0, crash.start() - 600):crash.end() + 300]
    if rc != 0:
        assert variable in " ".join(failures(out)), failures(out)


def test_pvc_mode_refuses_an_ome_older_than_pvc_support(cluster, crds, hosts, tmp_path):
    core, apps = cluster.core, cluster.apps
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="modelstore-ome")))
    labels = {"control-plane": "ome-controller-manager"}
    apps.create_namespaced_deployment("modelstore-ome", client.V1Deployment(
        metadata=client.V1ObjectMeta(name="ome-controller-manager"),
        spec=client.V1DeploymentSpec(replicas=0, selector=client.V1LabelSelector(match_labels=labels),
                                     template=client.V1PodTemplateSpec(
                                         metadata=client.V1ObjectMeta(labels=labels),
                                         spec=client.V1PodSpec(containers=[client.V1Container(
                                             name="manager", image="ghcr.io/moirai-internal/ome-manager:v1.2.2")])))))
    variables = names("modelstore-old", model_storage_mode="pvc", model_storage_ome_namespace="modelstore-ome")
    rc, out, _seconds = run_role(cluster, hosts, tmp_path, variables)
    assert rc != 0
    message = " ".join(failures(out))
    assert "OME v1.2.2 is older than pvc:// model storage (OEP-0004, in OME v1.3.0 and later)" in message
    assert "Set model_storage_mode: hostPath" in message
    with pytest.raises(ApiException):
        core.read_persistent_volume("modelstore-old-pv")


BAD_INPUTS = [
    ("relative model path", {"model_storage_dir": "raid/models"}, None,
     ["model_storage_dir='raid/models' is relative", "'/raid/models'"]),
    ("'..' in a subPath", {}, [{"name": "modelstore-bad-m", "subpath": "meta/../../etc"}],
     ["model_storage_models[0].subpath='meta/../../etc' climbs out of the model root", "'meta/llama-3-2-1b-instruct'"]),
    ("a model no host holds", {}, [{"name": "modelstore-bad-m", "subpath": "meta/nope"}],
     ["model_storage_models[0] (modelstore-bad-m): no host holds meta/nope with its marker file",
      "gpu-sdsu-1: absent", "remove it from model_storage_models"]),
    ("pvc:// URI with two colons", {"model_storage_mode": "pvc"},
     [{"name": "modelstore-bad-m", "subpath": "meta/llama", "storage_uri": "pvc://a:b:modelstore-bad-pvc/meta/llama"}],
     ["model_storage_models[0].storage_uri is not a pvc:// URI OME accepts", "more than one ':'",
      "'pvc://modelstore-bad:modelstore-bad-pvc/meta/llama'"]),
    ("namespace in a BaseModel URI", {"model_storage_mode": "pvc"},
     [{"name": "modelstore-bad-m", "kind": "BaseModel", "subpath": "meta/llama",
       "storage_uri": "pvc://modelstore-bad:modelstore-bad-pvc/meta/llama"}],
     ["storage_uri='pvc://modelstore-bad:modelstore-bad-pvc/meta/llama' names a namespace",
      "Write 'pvc://modelstore-bad-pvc/meta/llama'"]),
    ("no namespace in a ClusterBaseModel URI", {"model_storage_mode": "pvc"},
     [{"name": "modelstore-bad-m", "subpath": "meta/llama", "storage_uri": "pvc://modelstore-bad-pvc/meta/llama"}],
     ["storage_uri='pvc://modelstore-bad-pvc/meta/llama' names no namespace",
      "Write 'pvc://modelstore-bad:modelstore-bad-pvc/meta/llama'"]),
    ("capacity 500GB", {"model_storage_capacity": "500GB"}, None,
     ["model_storage_capacity='500GB' is not a Kubernetes quantity", "'500Gi'"]),
    ("access mode ReadWriteOnce", {"model_storage_access_mode": "ReadWriteOnce"}, None,
     ["model_storage_access_mode='ReadWriteOnce'", "use 'ReadOnlyMany'"]),
    ("unknown mode", {"model_storage_mode": "nfs"}, None,
     ["value of model_storage_mode must be one of: hostPath, pvc, got: nfs"]),
    ("model path that is a file", {}, [{"name": "modelstore-bad-m", "subpath": "mixed"}],
     ["model_storage_models[0].subpath 'mixed':", "on gpu-sdsu-2 is a file, not a directory", "correct the subpath"]),
    ("a model path that is a symlink (into /etc)", {}, [{"name": "modelstore-bad-m", "subpath": "etc-link"}],
     ["model_storage_models[0].subpath 'etc-link':", "on gpu-sdsu-2 is a symlink, not a directory"]),
    ("a named node without the model", {"model_storage_nodes": ["gpu-ucsd-1", "gpu-sdsu-2"]}, None,
     ["model_storage_nodes names gpu-sdsu-2, which does not hold modelstore-bad-llama", "Remove it from model_storage_nodes"]),
    # One case of each class of hostile input the role can meet (issue 17): a control character, a
    # string for a boolean, a signed quantity, selector syntax where a node name goes, a reserved
    # namespace, a field the role sets itself.
    ("newline in the namespace", {"model_storage_namespace": "modelstore-bad\n"}, None,
     ["model_storage_namespace='modelstore-bad", "is not a valid namespace name (it contains the control character(s)"]),
    ("a string for a boolean", {"model_storage_create_namespace": "nope"}, None,
     ["model_storage_create_namespace", "nope"]),
    ("signed capacity", {"model_storage_capacity": "-500Gi"}, None,
     ["model_storage_capacity='-500Gi' is not a Kubernetes quantity (a size or count takes no sign)"]),
    ("selector syntax as a node name", {"model_storage_nodes": ["gpu-ucsd-1,zone=b"]}, None,
     ["model_storage_nodes=['gpu-ucsd-1,zone=b'] must be a list of node names"]),
    ("a reserved namespace", {"model_storage_namespace": "kube-system"}, None,
     ["model_storage_namespace='kube-system' is a namespace Kubernetes keeps for its own components"]),
    ("a field the role sets", {}, [{"name": "modelstore-bad-m", "subpath": "meta/llama",
                                    "spec": {"storage": {"storageUri": "pvc://x/y"}}}],
     ["model_storage_models[0].spec.storage is set by the role", "remove it"]),
]


def test_bad_inputs_are_refused_before_anything_is_applied(cluster, crds, hosts, tmp_path):
    base = {"model_storage_namespace": "modelstore-bad", "model_storage_pv_name": "modelstore-bad-pv",
            "model_storage_pvc_name": "modelstore-bad-pvc", "model_storage_storage_class": "modelstore-bad-local"}

    def case(index):
        _what, controller, model_list, _expected = BAD_INPUTS[index]
        return run_role(cluster, hosts, tmp_path, {}, controller_vars=dict(base, **controller),
                        all_vars={"model_storage_models": model_list or models("modelstore-bad")}, tag="bad%d" % index)

    before = settled_objects(cluster, ("modelstore-bad",))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(case, range(len(BAD_INPUTS))))
    print("%d bad inputs in %.1f s" % (len(BAD_INPUTS), time.monotonic() - started))
    # Not one case changed anything: every object in the role's namespace and every cluster-scoped
    # object (namespaces, volumes, classes, CRDs, RBAC) keeps its resourceVersion.
    assert_nothing_changed(before, cluster_objects(cluster, ("modelstore-bad",)))
    for (what, _c, _m, expected), (rc, out, _s) in zip(BAD_INPUTS, results):
        message = " ".join(failures(out))
        assert rc != 0, what
        for part in expected:
            assert part in message, "%s: %r not in %s" % (what, part, message)
        changed = [task["task"]["name"] for play in out["plays"] for task in play["tasks"]
                   if any(r.get("changed") for r in task["hosts"].values())]
        assert changed == [], (what, changed)
    core = cluster.core
    for read in (lambda: core.read_namespace("modelstore-bad"), lambda: core.read_persistent_volume("modelstore-bad-pv"),
                 lambda: cluster.storage.read_storage_class("modelstore-bad-local")):
        with pytest.raises(ApiException) as err:
            read()
        assert err.value.status == 404


def test_what_the_api_server_would_refuse_stops_the_role_before_any_object_is_written(cluster, crds, hosts, tmp_path):
    """A LimitRange of the serving namespace caps a claim below model_storage_capacity: the role's own
    checks cannot know it, the server-side dry run does. Before the dry run, the StorageClass and the
    PersistentVolume were written and the claim then failed, leaving them behind."""
    core = cluster.core
    namespace = "modelstore-limit"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    core.create_namespaced_limit_range(namespace, client.V1LimitRange(
        metadata=client.V1ObjectMeta(name="claims"),
        spec=client.V1LimitRangeSpec(limits=[client.V1LimitRangeItem(type="PersistentVolumeClaim",
                                                                     max={"storage": "100Gi"})])))
    variables = names(namespace, model_storage_storage_class="modelstore-limit-local")
    rc, out, _seconds = run_role(cluster, hosts, tmp_path, variables)
    assert rc != 0
    message = " ".join(failures(out))
    assert "the API server refuses" in message and "maximum storage usage per PersistentVolumeClaim is 100Gi" in message, \
        message
    assert "docs/model-storage.md" in message
    changed = [task["task"]["name"] for play in out["plays"] for task in play["tasks"]
               if any(r.get("changed") for r in task["hosts"].values())]
    assert changed == []
    for read in (lambda: core.read_persistent_volume("%s-pv" % namespace),
                 lambda: core.read_namespaced_persistent_volume_claim("%s-pvc" % namespace, namespace),
                 lambda: cluster.storage.read_storage_class("modelstore-limit-local"),
                 lambda: read_model(cluster, "ClusterBaseModel", "%s-llama" % namespace)):
        with pytest.raises(ApiException) as err:
            read()
        assert err.value.status == 404
    # The same variables within the limit converge.
    converge(cluster, hosts, tmp_path, dict(variables, model_storage_capacity="100Gi"))
    assert core.read_persistent_volume("%s-pv" % namespace).spec.capacity["storage"] == "100Gi"
