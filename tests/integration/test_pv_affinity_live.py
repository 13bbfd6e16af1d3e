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


def by_name_only(node):
    """A node affinity that names its node with matchFields alone (what volume binding ignores)."""
    return client.V1NodeSelector(node_selector_terms=[client.V1NodeSelectorTerm(
        match_fields=[client.V1NodeSelectorRequirement(key="metadata.name", operator="In", values=[node])])])


def test_matchfields_pv_is_used_from_another_zone_and_reported(cluster, namespace, cluster_scoped, tmp_path):
    # A static local PV "pinned" to gpu-ucsd-1 with matchFields only, its claim, and a pod that
    # asks for zone sdsu: the real scheduler's volume binding ignores matchFields and places it.
    core = cluster.core
    name = namespace + "-by-name"
    volume = local_pv(name, None, claim="by-name", namespace=namespace)
    volume.spec.node_affinity = client.V1VolumeNodeAffinity(required=by_name_only("gpu-ucsd-1"))
    core.create_persistent_volume(volume)
    cluster_scoped(core.delete_persistent_volume, name)
    core.create_namespaced_persistent_volume_claim(namespace, claim("by-name", volume=name))
    body = pod("reader", "by-name")
    body.spec.node_selector = {"topology.kubernetes.io/zone": "sdsu"}
    core.create_namespaced_pod(namespace, body)

    placed = wait_for(lambda: core.read_namespaced_pod("reader", namespace).spec.node_name, timeout=60,
                      what="the scheduler to place the pod")
    assert placed in ("gpu-sdsu-1", "gpu-sdsu-2")

    result = run_pv_affinity_info(cluster, tmp_path, admitted_nodes=True)
    assert not result.get("failed"), result.get("msg")
    assert findings_about(result, name) == [("pv-affinity-matchfields-ignored", "error", name)]
    (finding,) = [f for f in result["findings"] if f["object"]["name"] == name]
    assert "volume binding ignores" in finding["message"] and "kubernetes.io/hostname" in finding["message"]
    assert "gpu-sdsu-1" in finding["message"] or "every node" in finding["message"]
    # The pod is where the scheduler legitimately put it: no violation, not even cross-zone.
    assert findings_about(result, "reader") == []
    assert {"gpu-ucsd-1", "gpu-ucsd-2", "gpu-sdsu-1", "gpu-sdsu-2"} <= set(result["pvs"][name]["nodes"])


def linstor_pv(name, node, claim_ref):
    return client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": "10Gi"}, access_modes=["ReadWriteOnce"], persistent_volume_reclaim_policy="Retain",
            storage_class_name="", claim_ref=claim_ref,
            csi=client.V1CSIPersistentVolumeSource(driver="linstor.csi.linbit.com", volume_handle=name, fs_type="xfs"),
            node_affinity=client.V1VolumeNodeAffinity(required=selector("kubernetes.io/hostname", node))))


def test_linstor_pv_replaced_by_the_affinity_controller(cluster, namespace, cluster_scoped, tmp_path):
    # The LINSTOR volume's replica sits on gpu-ucsd-2, where its pod runs, but the PV still
    # names gpu-ucsd-1: the message names the affinity controller. Then the PV is replaced as
    # linstor-affinity-controller does it (Retain, delete, drop finalizers, create again with
    # the same name and claimRef): the replacement is the claim's volume, with a new uid.
    core = cluster.core
    name = namespace + "-linstor"
    core.create_persistent_volume(linstor_pv(name, "gpu-ucsd-1", client.V1ObjectReference(
        kind="PersistentVolumeClaim", namespace=namespace, name="cache")))
    cluster_scoped(core.delete_persistent_volume, name)
    core.create_namespaced_persistent_volume_claim(namespace, claim("cache", volume=name))
    core.create_namespaced_pod(namespace, pod("trainer", "cache", node="gpu-ucsd-2"))
    bound = wait_for(lambda: core.read_namespaced_persistent_volume_claim("cache", namespace).status.phase == "Bound"
                     and core.read_namespaced_persistent_volume_claim("cache", namespace), timeout=60, what="the claim to bind")

    result = run_pv_affinity_info(cluster, tmp_path, admitted_nodes=True)
    assert findings_about(result, "trainer") == [("pod-node-violates-pv-affinity", "error", "trainer")]
    (violation,) = [f for f in result["findings"] if f["object"]["name"] == "trainer"]
    assert "LINSTOR Affinity Controller" in violation["message"] and "piraeusdatastore/linstor-affinity-controller" in violation["message"]
    old_uid = core.read_persistent_volume(name).metadata.uid
    assert result["pvs"][name]["uid"] == old_uid

    core.patch_persistent_volume(name, {"spec": {"persistentVolumeReclaimPolicy": "Retain"}})
    core.delete_persistent_volume(name)
    core.patch_persistent_volume(name, {"metadata": {"finalizers": None}})
    wait_for(lambda: name not in [p.metadata.name for p in core.list_persistent_volume().items], timeout=60,
             what="the old PV to go")
    core.create_persistent_volume(linstor_pv(name, "gpu-ucsd-2", client.V1ObjectReference(
        kind="PersistentVolumeClaim", namespace=namespace, name="cache", uid=bound.metadata.uid)))
    wait_for(lambda: core.read_persistent_volume(name).status.phase == "Bound", timeout=60, what="the replacement to bind")

    replaced = run_pv_affinity_info(cluster, tmp_path, admitted_nodes=True)
    assert findings_about(replaced, "trainer", name) == []
    entry = replaced["pvs"][name]
    assert entry["uid"] != old_uid and entry["claim"] == "%s/cache" % namespace and entry["nodes"] == ["gpu-ucsd-2"]
