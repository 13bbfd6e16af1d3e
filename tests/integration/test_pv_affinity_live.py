"""pv_affinity_info against the real API: each violating situation is created, then reported.

Objects are created through the API (pods placed with spec.nodeName where the situation needs
a pod on a node the scheduler would never pick); the module runs through ansible-playbook with
the lab kubeconfig and a small page size, so paging is exercised too. Cluster-scoped objects
carry the test namespace's name and are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from cluster_helpers import REPO, wait_for

pytestmark = pytest.mark.cluster

HOSTNAME = "kubernetes.io/hostname"


def run_pv_affinity_info(cluster, tmp_path, **args):
    """Run the module through ansible-playbook against the lab cluster; return its result."""
    out = tmp_path / "result.json"
    play = [{
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"name": "check placement", "gpufleet.cluster.pv_affinity_info": args, "register": "result", "ignore_errors": True},
            {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(out)},
             "check_mode": False},
        ],
    }]
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = {**os.environ, **cluster.env, "ANSIBLE_CACHE_PLUGIN": "memory"}
    env.setdefault("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))
    env.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
                          env=env, capture_output=True, text=True, check=False, cwd=str(tmp_path))
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert "module_stderr" not in result, result
    return result


def selector(key, *values):
    return client.V1NodeSelector(node_selector_terms=[client.V1NodeSelectorTerm(
        match_expressions=[client.V1NodeSelectorRequirement(key=key, operator="In", values=list(values))])])


def local_pv(name, node, claim=None, namespace=None, storage_class="", source="local"):
    spec = client.V1PersistentVolumeSpec(
        capacity={"storage": "10Gi"},
        access_modes=["ReadWriteOnce"],
        persistent_volume_reclaim_policy="Retain",
        storage_class_name=storage_class,
        node_affinity=client.V1VolumeNodeAffinity(required=selector(HOSTNAME, node)) if node else None,
    )
    if source == "local":
        spec.local = client.V1LocalVolumeSource(path="/raid/models")
    else:
        spec.host_path = client.V1HostPathVolumeSource(path="/raid/models")
    if claim:
        spec.claim_ref = client.V1ObjectReference(kind="PersistentVolumeClaim", namespace=namespace, name=claim)
    return client.V1PersistentVolume(metadata=client.V1ObjectMeta(name=name), spec=spec)


def claim(name, volume=None, storage_class=""):
    return client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"], storage_class_name=storage_class, volume_name=volume,
            resources=client.V1VolumeResourceRequirements(requests={"storage": "10Gi"})))


def pod(name, claim_name, node=None):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            node_name=node,
            containers=[client.V1Container(name="serve", image="registry.invalid/serve:1",
                                           volume_mounts=[client.V1VolumeMount(name="data", mount_path="/data")])],
            volumes=[client.V1Volume(name="data", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                claim_name=claim_name))]))


def storage_class(name, provisioner, mode=None, parameters=None):
    return client.V1StorageClass(metadata=client.V1ObjectMeta(name=name), provisioner=provisioner,
                                 volume_binding_mode=mode, parameters=parameters)


def findings_about(result, *names):
    return sorted((f["check"], f["severity"], f["object"]["name"]) for f in result["findings"] if f["object"]["name"] in names)


def test_api_refuses_local_pv_without_affinity(cluster, namespace):
    # Why local-pv-without-affinity is only ever seen for hostPath PVs (and in snapshots):
    # the API itself rejects a local PV without node affinity.
    with pytest.raises(ApiException) as exc:
        cluster.core.create_persistent_volume(local_pv(namespace + "-local", None))
    assert exc.value.status == 422 and "node affinity" in exc.value.body


def test_each_violation_is_reported(cluster, namespace, cluster_scoped, tmp_path):
    core, storage = cluster.core, cluster.storage
    names = {}

    def pv(key, body):
        body.metadata.name = names[key] = "%s-%s" % (namespace, key)
        core.create_persistent_volume(body)
        cluster_scoped(core.delete_persistent_volume, body.metadata.name)

    def sc(key, body):
        body.metadata.name = names[key] = "%s-%s" % (namespace, key)
        storage.create_storage_class(body)
        cluster_scoped(storage.delete_storage_class, body.metadata.name)

    # local-pv-without-affinity: a hostPath PV, which the API accepts without affinity.
    pv("anywhere", local_pv("x", None, source="hostPath"))
    # pv-affinity-matches-no-node: the OME seed's PV pinned to a node this cluster does not have.
    pv("gone", local_pv("x", "host-10-97-65-155", claim="gone-claim", namespace=namespace))
    # pod-node-violates-pv-affinity + cross-zone-pod-volume: data on gpu-ucsd-1, pod on gpu-sdsu-1.
    pv("stale", local_pv("x", "gpu-ucsd-1", claim="stale-claim", namespace=namespace))
    core.create_namespaced_persistent_volume_claim(namespace, claim("stale-claim", volume=names["stale"]))
    core.create_namespaced_pod(namespace, pod("misplaced", "stale-claim", node="gpu-sdsu-1"))
    # The healthy twin: data on gpu-ucsd-2, pod on gpu-ucsd-2.
    pv("good", local_pv("x", "gpu-ucsd-2", claim="good-claim", namespace=namespace))
    core.create_namespaced_persistent_volume_claim(namespace, claim("good-claim", volume=names["good"]))
    core.create_namespaced_pod(namespace, pod("placed", "good-claim", node="gpu-ucsd-2"))
    # zonal-storageclass-immediate-binding, and pvc-pending (error): nothing can bind the claim.
    sc("immediate", storage_class("x", "kubernetes.io/no-provisioner", mode="Immediate"))
    core.create_namespaced_persistent_volume_claim(namespace, claim("unbound", storage_class=names["immediate"]))
    # pvc-pending (info): waits for a first consumer.
    sc("wffc", storage_class("x", "kubernetes.io/no-provisioner", mode="WaitForFirstConsumer"))
    core.create_namespaced_persistent_volume_claim(namespace, claim("waiting", storage_class=names["wffc"]))
    # remote-volume-access-enabled: LINSTOR's default; the class with "false" is fine.
    sc("linstor-default", storage_class("x", "linstor.csi.linbit.com", mode="WaitForFirstConsumer",
                                        parameters={"linstor.csi.linbit.com/storagePool": "pool"}))
    sc("linstor-local", storage_class("x", "linstor.csi.linbit.com", mode="WaitForFirstConsumer",
                                      parameters={"linstor.csi.linbit.com/allowRemoteVolumeAccess": "false"}))

    wait_for(lambda: core.read_namespaced_persistent_volume_claim("stale-claim", namespace).status.phase == "Bound",
             timeout=60, what="the pre-bound claim to bind")

    result = run_pv_affinity_info(cluster, tmp_path, page_size=2)
    assert not result.get("failed"), result.get("msg")
    assert result["source"]["type"] == "cluster"
    assert result["summary"]["objects"]["nodes"] >= 4  # read over several pages of 2

    assert findings_about(result, names["anywhere"]) == [("local-pv-without-affinity", "error", names["anywhere"])]
    assert findings_about(result, names["gone"]) == [("pv-affinity-matches-no-node", "error", names["gone"])]
    assert findings_about(result, "misplaced") == [("cross-zone-pod-volume", "warning", "misplaced"),
                                                   ("pod-node-violates-pv-affinity", "error", "misplaced")]
    assert findings_about(result, names["immediate"]) == [("zonal-storageclass-immediate-binding", "warning", names["immediate"])]
    assert findings_about(result, "unbound") == [("pvc-pending", "error", "unbound")]
    assert findings_about(result, "waiting") == [("pvc-pending", "info", "waiting")]
    assert findings_about(result, names["linstor-default"]) == [("remote-volume-access-enabled", "warning", names["linstor-default"])]
    # Nothing about what is right.
    assert findings_about(result, names["good"], "placed", "good-claim", names["wffc"], names["linstor-local"]) == []
    # The zone map places the healthy pair in ucsd and the misplaced pod in sdsu.
    assert names["good"] in result["zones"]["ucsd"]["pvs"]
    assert "%s/placed" % namespace in result["zones"]["ucsd"]["pods"]
    assert "%s/misplaced" % namespace in result["zones"]["sdsu"]["pods"]

    # fail_on=error turns the same findings into a failed task that still returns them.
    failed = run_pv_affinity_info(cluster, tmp_path, fail_on="error")
    assert failed["failed"] is True and "error(s)" in failed["msg"] and failed["findings"]


def test_kubeconfig_option_and_wrong_context(cluster, tmp_path):
    result = run_pv_affinity_info(cluster, tmp_path, kubeconfig=str(cluster.kubeconfig), context="no-such-context")
    assert result["failed"] is True
    assert "no-such-context" in result["msg"]
