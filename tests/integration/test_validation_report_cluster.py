"""validate.yml against the local control plane: the report's cluster part.

A real Helm release (the local hello chart, installed and upgraded with the lab's helm, so
revision 2) and a claim bound to a hostPath PV pinned to a node, used by a pod on that node,
all in the test's own namespace. The report must list the release as Helm stored it (chart,
version, revision, status, decoded from its release Secret), the claim with its PV, the PV's path
and node, and each layer (LINSTOR, TensorFusion, OME) as present exactly when its CRDs are
served; the release's values (a password set on install) must appear nowhere, not even at -vvv.
An in-pod fio figure on that claim (a layer section's benchmark) is laid next to the host-side
figure storage_validation measures on this host, standing for the node, in the directory that
holds the PV's path."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from kubernetes import client

from cluster_helpers import CHARTS, REPO, wait_for

pytestmark = pytest.mark.cluster

NODE = "gpu-ucsd-1"
SECRET_VALUE = "r13c-not-for-the-report"
POD_ENV_VALUE = "r13c-another-teams-token"
LAYER_GROUPS = {"linstor": "piraeus.io", "tensor_fusion": "tensor-fusion.ai", "ome": "ome.io"}


def _helm(cluster, *args):
    proc = subprocess.run([cluster.env["GPUFLEET_HELM"], *args], env={**os.environ, **cluster.env},
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _served_groups(cluster) -> set:
    crds = client.ApiextensionsV1Api(cluster.api).list_custom_resource_definition().items
    return {crd.spec.group for crd in crds}


@pytest.fixture
def bound_claim(cluster, namespace, cluster_scoped, tmp_path):
    core = cluster.core
    pv_name = f"{namespace}-data"
    (tmp_path / "raid" / "r13c").mkdir(parents=True)
    core.create_persistent_volume(client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=pv_name),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": "1Gi"}, access_modes=["ReadWriteOnce"], storage_class_name="",
            host_path=client.V1HostPathVolumeSource(path=str(tmp_path / "raid" / "r13c")),
            claim_ref=client.V1ObjectReference(namespace=namespace, name="data"),
            node_affinity=client.V1VolumeNodeAffinity(required=client.V1NodeSelector(node_selector_terms=[
                client.V1NodeSelectorTerm(match_expressions=[client.V1NodeSelectorRequirement(
                    key="kubernetes.io/hostname", operator="In", values=[NODE])])])))))
    cluster_scoped(core.delete_persistent_volume, pv_name)
    core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="data"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"], storage_class_name="", volume_name=pv_name,
            resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}))))
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="user"),
        spec=client.V1PodSpec(
            node_name=NODE,
            containers=[client.V1Container(name="c", image="registry.invalid/c:1",
                                           env=[client.V1EnvVar(name="TOKEN", value=POD_ENV_VALUE)],
                                           volume_mounts=[client.V1VolumeMount(name="d", mount_path="/d")])],
            volumes=[client.V1Volume(name="d", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                claim_name="data"))])))
    wait_for(lambda: core.read_namespaced_persistent_volume_claim("data", namespace).status.phase == "Bound",
             timeout=60, what="claim data Bound")
    return pv_name


def test_the_report_lists_releases_layers_and_claims(cluster, namespace, bound_claim, tmp_path):
    release = "r13c-hello"
    _helm(cluster, "install", release, str(CHARTS / "hello"), "-n", namespace, "--set", f"password={SECRET_VALUE}")
    _helm(cluster, "upgrade", release, str(CHARTS / "hello"), "-n", namespace, "--reuse-values", "--set", "replicas=1")

    # This host stands for the node: storage_validation measures the directory holding the PV's path.
    (tmp_path / "hosts.yml").write_text(json.dumps({"all": {"children": {"gpu_nodes": {"hosts": {NODE: {
        "ansible_connection": "local", "storage_validation_paths": [str(tmp_path / "raid")],
        "storage_validation_size": "8MiB", "storage_validation_engine": "builtin"}}}}}}))
    groups_before = _served_groups(cluster)
    # Every namespace's records ([]): the default reads only the collection's release namespaces.
    proc = _validate(cluster, tmp_path, "report", "-vvv", "-e", json.dumps({
        "validation_report_helm_namespaces": [], "demo_report_section": _benchmark_section(namespace)}))
    groups_after = _served_groups(cluster)
    failures = [line for line in proc.stdout.splitlines() if line.startswith(("fatal:", "failed:", "ERROR!"))]
    assert proc.returncode == 0, "\n".join(failures)[-6000:] + proc.stderr[-2000:]
    report_text = (tmp_path / "report" / "report.json").read_text()
    html = (tmp_path / "report" / "report.html").read_text()
    # Neither a release's values nor a pod's spec (another team's env) reaches the output, even at -vvv.
    for text in (proc.stdout, proc.stderr, report_text, html):
        assert SECRET_VALUE not in text and POD_ENV_VALUE not in text
    report = json.loads(report_text)
    cluster_part = report["cluster"]
    assert cluster_part["read"] is True and cluster_part["error"] is None

    mine = [r for r in cluster_part["releases"] if r["namespace"] == namespace]
    assert mine == [{"name": release, "namespace": namespace, "revision": 2, "status": "deployed", "chart": "hello",
                     "chart_version": "0.1.0", "app_version": "1.0.0", "updated": mine[0]["updated"],
                     "description": "Upgrade complete", "storage": "secret", "error": None, "revisions": 2}]
    assert mine[0]["updated"].startswith("20")
    assert (f'<tr data-namespace="{namespace}" data-release="{release}">' in html
            and '<td class="num" data-field="revision">2</td>' in html)

    claims = [c for c in cluster_part["claims"] if c["namespace"] == namespace]
    assert [(c["name"], c["phase"], c["volume"], c["pv_nodes"], c["nodes"], c["pods"]) for c in claims] == [
        ("data", "Bound", bound_claim, [NODE], [NODE], ["user"])]
    assert (claims[0]["volume_source"], claims[0]["volume_path"]) == ("hostPath", str(tmp_path / "raid" / "r13c"))
    assert f'data-claim="{namespace}/data"' in html

    # The in-pod figure next to the host-side one of the directory holding the PV's path, with their ratio.
    host = [t for t in report["figures"]["throughput"] if t["host"] == NODE]
    assert [t["directory"] for t in host] == [str(tmp_path / "raid")] and host[0]["read_mibps"] > 0
    bench = report["figures"]["benchmarks"]
    assert [(b["claim"], b["node"], b["volume"], b["host_directory"], b["host_read_mibps"], b["ratio"], b["host_missing"])
            for b in bench] == [(f"{namespace}/data", NODE, bound_claim, str(tmp_path / "raid"), host[0]["read_mibps"],
                                 round(IN_POD_MIBPS / host[0]["read_mibps"], 2), None)]
    table = [t for t in report["sections"][0]["tables"] if t["title"] == "fio in a pod"][0]
    assert table["rows"] == [[f"{namespace}/bench", f"{namespace}/data", NODE, "yes", IN_POD_MIBPS, 250.0, 4.2,
                              host[0]["read_mibps"], "%.2f" % bench[0]["ratio"], "measured"]]
    assert f'<td data-column="In-pod / host ratio">{"%.2f" % bench[0]["ratio"]}</td>' in html

    layers = dict((layer["name"], layer) for layer in cluster_part["layers"])
    assert sorted(layers) == sorted(LAYER_GROUPS)
    for name, group in LAYER_GROUPS.items():
        if (group in groups_before) == (group in groups_after):  # another test may install CRDs meanwhile
            assert layers[name]["present"] is (group in groups_before), name
        shown = f'id="layer-{name}" data-present="{str(layers[name]["present"]).lower()}"'
        assert shown in html
    # The release is deployed, the claim Bound: the cluster part adds no problem about them.
    assert not [p for p in report["problems"] if p["source"] == "cluster" and namespace in (p["subject"] or "")]
    assert "Cluster: " in proc.stdout and " Helm releases, " in proc.stdout

    # Check mode reads the cluster the same way and writes nothing; validating changes no release.
    # Helm's records read in the release's namespace only: the one release there.
    check = _validate(cluster, tmp_path, "check-report", "--check", "-e",
                      json.dumps({"validation_report_helm_namespaces": [namespace]}))
    assert check.returncode == 0, check.stdout[-3000:]
    assert "Cluster: 1 Helm releases, " in check.stdout and "Check mode: no report written" in check.stdout
    assert not (tmp_path / "check-report").exists()
    history = json.loads(_helm(cluster, "history", release, "-n", namespace, "-o", "json"))
    assert [h["revision"] for h in history] == [1, 2]


IN_POD_MIBPS = 1000.0


def _benchmark_section(namespace):
    """A layer's section with one in-pod fio run on the claim (as the linstor role's seed Job reports it)."""
    return {"name": "demo", "title": "Demo layer", "tables": [], "problems": [], "notes": [],
            "benchmarks": [{"title": "fio in a pod", "job": f"{namespace}/bench", "claim": f"{namespace}/data",
                            "node": NODE, "completed": True, "read_mibps": IN_POD_MIBPS, "read_iops": 250.0,
                            "read_p99_ms": 4.2, "latency_source": "clat", "unavailable": None}]}


def _validate(cluster, tmp_path, report_dir, *options):
    variables = {"validation_report_dir": str(tmp_path / report_dir), "validation_report_fail_on": "never",
                 "ansible_python_interpreter": sys.executable}
    return subprocess.run(
        ["ansible-playbook", *options, "-i", str(tmp_path / "hosts.yml"), str(REPO / "playbooks" / "validate.yml"),
         "-e", json.dumps(variables)],
        # The plain strategy, as users and AWX run validate.yml: under the suite's Mitogen strategy
        # storage_validation's background measurement (async, poll 0) never finishes on a local host.
        env={**os.environ, **cluster.env, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_CACHE_PLUGIN": "memory", "ANSIBLE_STRATEGY": "linear"},
        capture_output=True, text=True, timeout=600, cwd=str(tmp_path), check=False)
