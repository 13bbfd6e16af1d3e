"""WaitForFirstConsumer local PVs bind through the real scheduler and the real PV controller.

This is the behaviour the PV-affinity validator and the model-cache PVs rely on: a local PV
pinned to one GPU node by a hostname nodeAffinity stays unbound until a pod that uses its
claim is scheduled, and that pod can only land on the PV's node.
"""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from cluster_helpers import wait_for

pytestmark = pytest.mark.cluster

PV_NODE = "gpu-sdsu-2"


def _storage_class(name: str) -> client.V1StorageClass:
    return client.V1StorageClass(
        metadata=client.V1ObjectMeta(name=name),
        provisioner="kubernetes.io/no-provisioner",
        volume_binding_mode="WaitForFirstConsumer",
        reclaim_policy="Retain",
    )


def _local_pv(name: str, storage_class: str, node: str) -> client.V1PersistentVolume:
    return client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": "100Gi"},
            access_modes=["ReadWriteOnce"],
            persistent_volume_reclaim_policy="Retain",
            storage_class_name=storage_class,
            local=client.V1LocalVolumeSource(path="/mnt/model-cache"),
            node_affinity=client.V1VolumeNodeAffinity(
                required=client.V1NodeSelector(
                    node_selector_terms=[
                        client.V1NodeSelectorTerm(
                            match_expressions=[
                                client.V1NodeSelectorRequirement(
                                    key="kubernetes.io/hostname",
                                    operator="In",
                                    values=[node],
                                )
                            ]
                        )
                    ]
                )
            ),
        ),
    )


def _claim(name: str, storage_class: str) -> client.V1PersistentVolumeClaim:
    return client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            storage_class_name=storage_class,
            resources=client.V1VolumeResourceRequirements(requests={"storage": "50Gi"}),
        ),
    )


def _pod(name: str, claim: str, node_selector: dict | None = None) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            node_selector=node_selector,
            containers=[
                client.V1Container(
                    name="serve",
                    image="registry.invalid/serve:1",
                    volume_mounts=[
                        client.V1VolumeMount(name="cache", mount_path="/cache")
                    ],
                )
            ],
            volumes=[
                client.V1Volume(
                    name="cache",
                    persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                        claim_name=claim
                    ),
                )
            ],
        ),
    )


@pytest.fixture
def local_pv(cluster, namespace, cluster_scoped):
    """A WaitForFirstConsumer StorageClass and one local PV on PV_NODE, unique to the test."""
    storage = cluster.storage
    name = f"{namespace}-local"
    storage.create_storage_class(_storage_class(name))
    cluster_scoped(storage.delete_storage_class, name)
    cluster.core.create_persistent_volume(_local_pv(name, name, PV_NODE))
    cluster_scoped(cluster.core.delete_persistent_volume, name)
    cluster.core.create_namespaced_persistent_volume_claim(
        namespace, _claim("cache", name)
    )
    return name


def test_local_pv_binds_only_when_a_pod_is_scheduled_and_the_pod_lands_on_its_node(
    cluster, namespace, local_pv
):
    core = cluster.core
    wait_for(
        lambda: _event(core, namespace, "cache", "WaitForFirstConsumer"),
        timeout=30,
        what="the PV controller to report WaitForFirstConsumer",
    )
    # Long enough for a PV controller resync (the binder runs every few seconds) to have
    # bound it, were it not waiting for a consumer.
    time.sleep(3)
    assert (
        core.read_namespaced_persistent_volume_claim("cache", namespace).status.phase
        == "Pending"
    )
    assert core.read_persistent_volume(local_pv).status.phase == "Available"

    core.create_namespaced_pod(namespace, _pod("serve", "cache"))

    bound = wait_for(
        lambda: _bound_claim(core, namespace, "cache"),
        timeout=60,
        what="claim cache Bound",
    )
    assert bound.spec.volume_name == local_pv
    pod = wait_for(
        lambda: _pod_if_running(core, namespace, "serve"),
        timeout=60,
        what="pod serve Running",
    )
    assert pod.spec.node_name == PV_NODE
    volume = core.read_persistent_volume(local_pv)
    assert volume.status.phase == "Bound"
    assert (volume.spec.claim_ref.namespace, volume.spec.claim_ref.name) == (
        namespace,
        "cache",
    )


def test_a_pod_that_cannot_reach_the_pv_node_stays_pending_and_the_pv_unbound(
    cluster, namespace, local_pv
):
    core = cluster.core
    wait_for(
        lambda: _event(core, namespace, "cache", "WaitForFirstConsumer"),
        timeout=30,
        what="the PV controller to report WaitForFirstConsumer",
    )
    # The PV lives in sdsu; this pod may only run in ucsd.
    core.create_namespaced_pod(
        namespace, _pod("elsewhere", "cache", {"topology.kubernetes.io/zone": "ucsd"})
    )
    # The scheduler's informer may see the pod before the claim ("persistentvolumeclaim not
    # found"); it retries the pod when the claim arrives, and that attempt must name the volume.
    volume_reasons = (
        "volume node affinity conflict",
        "didn't find available persistent volumes",
    )
    wait_for(
        lambda: _event(
            core, namespace, "elsewhere", "FailedScheduling", message_has=volume_reasons
        ),
        timeout=60,
        what=lambda: "FailedScheduling for pod elsewhere naming the volume's node affinity "
        f"(events: {_messages(core, namespace, 'elsewhere')})",
    )
    assert core.read_namespaced_pod("elsewhere", namespace).spec.node_name is None
    assert (
        core.read_namespaced_persistent_volume_claim("cache", namespace).status.phase
        == "Pending"
    )
    assert core.read_persistent_volume(local_pv).status.phase == "Available"


def _event(core, namespace, name, reason, message_has=None):
    for event in core.list_namespaced_event(namespace).items:
        if event.involved_object.name != name or event.reason != reason:
            continue
        if message_has is None or any(text in event.message for text in message_has):
            return event
    return None


def _messages(core, namespace, name):
    return [
        event.message
        for event in core.list_namespaced_event(namespace).items
        if event.involved_object.name == name
    ]


def _bound_claim(core, namespace, name):
    claim = core.read_namespaced_persistent_volume_claim(name, namespace)
    return claim if claim.status.phase == "Bound" else None


def _pod_if_running(core, namespace, name):
    pod = core.read_namespaced_pod(name, namespace)
    return pod if pod.status.phase == "Running" else None
