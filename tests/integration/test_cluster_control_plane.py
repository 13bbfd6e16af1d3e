"""The local control plane is a real Kubernetes API with the lab's GPU nodes in it."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from kubernetes import client

from cluster_helpers import wait_for

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]

LAB_NODES = {
    "gpu-ucsd-1": "ucsd",
    "gpu-ucsd-2": "ucsd",
    "gpu-sdsu-1": "sdsu",
    "gpu-sdsu-2": "sdsu",
}


def test_apiserver_reports_a_released_version(cluster):
    info = client.VersionApi(cluster.api).get_code()
    # Without the version ldflags a source build reports v0.0.0-master.
    assert info.git_version.startswith("v1.3"), info.git_version
    assert info.major == "1"


def test_lab_nodes_are_registered_ready_with_gpu_labels(cluster):
    nodes = {n.metadata.name: n for n in cluster.core.list_node().items}
    assert set(LAB_NODES) <= set(nodes)
    for name, zone in LAB_NODES.items():
        node = nodes[name]
        labels = node.metadata.labels
        assert labels["kubernetes.io/hostname"] == name
        assert labels["topology.kubernetes.io/zone"] == zone
        assert labels["topology.kubernetes.io/region"] == "nrp"
        assert labels["nvidia.com/gpu.present"] == "true"
        assert labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
        assert node.status.capacity["nvidia.com/gpu"] == "4"
        assert node.status.allocatable["nvidia.com/gpu"] == "4"
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert ready and ready[0].status == "True", f"{name} is not Ready: {ready}"


def test_kwok_renews_a_lease_for_every_node(cluster):
    # Without leases the node lifecycle controller marks the nodes (and their pods) NotReady
    # after its grace period, and Deployments flap between available and not.
    leases = (
        client.CoordinationV1Api(cluster.api)
        .list_namespaced_lease("kube-node-lease")
        .items
    )
    renewed = {lease.metadata.name: lease.spec.renew_time for lease in leases}
    now = datetime.now(timezone.utc)
    for name in LAB_NODES:
        assert name in renewed, f"no lease for {name}"
        assert (now - renewed[name]).total_seconds() < 40, f"lease of {name} is stale"


def test_scheduler_places_a_gpu_pod_in_the_requested_zone_and_kwok_runs_it(
    cluster, namespace
):
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="train"),
        spec=client.V1PodSpec(
            node_selector={"topology.kubernetes.io/zone": "sdsu"},
            containers=[
                client.V1Container(
                    name="train",
                    image="registry.invalid/train:1",
                    resources=client.V1ResourceRequirements(
                        limits={"nvidia.com/gpu": "2"}
                    ),
                )
            ],
        ),
    )
    cluster.core.create_namespaced_pod(namespace, pod)
    running = wait_for(
        lambda: _pod_if(
            cluster, namespace, "train", lambda p: p.status.phase == "Running"
        ),
        timeout=60,
        what="pod train Running",
    )
    assert LAB_NODES[running.spec.node_name] == "sdsu"


def test_a_pod_asking_for_more_gpus_than_a_node_has_stays_pending(cluster, namespace):
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="greedy"),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="greedy",
                    image="registry.invalid/train:1",
                    resources=client.V1ResourceRequirements(
                        limits={"nvidia.com/gpu": "8"}
                    ),
                )
            ],
        ),
    )
    cluster.core.create_namespaced_pod(namespace, pod)
    event = wait_for(
        lambda: _event(cluster, namespace, "greedy", "FailedScheduling"),
        timeout=60,
        what="a FailedScheduling event for pod greedy",
    )
    assert "nvidia.com/gpu" in event.message
    assert cluster.core.read_namespaced_pod("greedy", namespace).spec.node_name is None


def _pod_if(cluster, namespace, name, condition):
    pod = cluster.core.read_namespaced_pod(name, namespace)
    return pod if condition(pod) else None


def _event(cluster, namespace, name, reason):
    for event in cluster.core.list_namespaced_event(namespace).items:
        if event.involved_object.name == name and event.reason == reason:
            return event
    return None


def test_the_controller_manager_runs_without_the_stale_controller_checks(cluster):
    # docs/cluster.md: with Kubernetes 1.36's checks on, a ReplicaSet sync that has not yet seen
    # its own write is requeued with exponential backoff, which stalled a rollout under load.
    status = subprocess.run([str(REPO / "lab" / "cluster"), "status"], capture_output=True, text=True, check=False)
    pid = re.search(r"^kube-controller-manager +running +\S+ +pid (\d+)", status.stdout, re.M)
    assert pid, status.stdout
    args = Path("/proc/%s/cmdline" % pid.group(1)).read_bytes().decode().split("\0")
    gates = dict(g.split("=") for a in args if a.startswith("--feature-gates=") for g in a.split("=", 1)[1].split(","))
    for kind in ("ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        assert gates.get("StaleControllerConsistency" + kind) == "false", args
