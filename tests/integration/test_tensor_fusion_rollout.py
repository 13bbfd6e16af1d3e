"""playbooks/tensor_fusion_rollout.yml: canary and rollback of kwok Deployments, checked through the API."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from cluster_helpers import REPO
from cluster_helpers import play

pytestmark = pytest.mark.cluster

ROLLOUT = REPO / "playbooks" / "tensor_fusion_rollout.yml"
NS = "t-tf-rollout"
GPU_LIMITS = {"nvidia.com/gpu": "1", "cpu": "1", "memory": "1Gi"}


@pytest.fixture(scope="module")
def deployments(cluster):
    try:
        cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    except ApiException as exc:
        if exc.status != 409:
            raise
    for name, replicas in (("t-tf-inference", 10), ("t-tf-trainer", 2)):
        labels = {"app": name}
        cluster.apps.create_namespaced_deployment(NS, client.V1Deployment(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1DeploymentSpec(
                replicas=replicas, selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels, annotations={
                        "tensor-fusion.ai/tflops-request": "100", "tensor-fusion.ai/tflops-limit": "200"}),
                    spec=client.V1PodSpec(containers=[client.V1Container(
                        name="python", image="example.com/never-pulled:1",
                        resources=client.V1ResourceRequirements(limits=GPU_LIMITS))])))))
    yield
    cluster.core.delete_namespace(NS)


def _template(cluster, name):
    return cluster.apps.read_namespaced_deployment(name, NS).spec.template


def test_canary_then_rollback_keeps_the_gpu_limits(cluster, deployments):
    items = [{"name": "t-tf-inference", "namespace": NS, "enabled_replicas": "30%"},
             {"name": "t-tf-trainer", "namespace": NS, "enabled_replicas": 1,
              "annotations": {"tensor-fusion.ai/vram-request": "3Gi", "tensor-fusion.ai/vram-limit": "3Gi"}}]
    run = play(cluster, {"tensor_fusion_rollout": items}, playbook=ROLLOUT)
    assert run.rc == 0 and run.changed == 1, run.out[-4000:]
    inference, trainer = _template(cluster, "t-tf-inference"), _template(cluster, "t-tf-trainer")
    assert inference.metadata.labels["tensor-fusion.ai/enabled"] == "true"
    assert inference.metadata.annotations["tensor-fusion.ai/enabled-replicas"] == "3"
    assert inference.metadata.annotations["tensor-fusion.ai/tflops-limit"] == "200"
    assert trainer.metadata.annotations["tensor-fusion.ai/enabled-replicas"] == "1"
    assert trainer.metadata.annotations["tensor-fusion.ai/vram-limit"] == "3Gi"
    for template in (inference, trainer):
        assert template.spec.containers[0].resources.limits == GPU_LIMITS
    again = play(cluster, {"tensor_fusion_rollout": items}, playbook=ROLLOUT)
    assert again.rc == 0 and again.changed == 0, again.out[-4000:]
    back = play(cluster, {"tensor_fusion_rollout": items, "tensor_fusion_rollout_action": "rollback"}, playbook=ROLLOUT)
    assert back.rc == 0, back.out[-4000:]
    for name in ("t-tf-inference", "t-tf-trainer"):
        template = _template(cluster, name)
        assert template.metadata.labels["tensor-fusion.ai/enabled"] == "false"
        assert template.metadata.annotations["tensor-fusion.ai/enabled-replicas"] == "0"
        assert template.spec.containers[0].resources.limits == GPU_LIMITS


def test_a_missing_deployment_a_count_above_replicas_and_a_request_above_its_limit_change_nothing(cluster, deployments):
    # generation: the controllers keep updating the status (resourceVersion) of the rolled-back Deployments.
    before = {n: cluster.apps.read_namespaced_deployment(n, NS).metadata.generation
              for n in ("t-tf-inference", "t-tf-trainer")}
    items = [{"name": "t-tf-missing", "namespace": NS, "enabled_replicas": 1},
             {"name": "t-tf-trainer", "namespace": NS, "enabled_replicas": 3},
             {"name": "t-tf-inference", "namespace": NS, "enabled_replicas": 2,
              "annotations": {"tensor-fusion.ai/tflops-request": "300"}}]
    run = play(cluster, {"tensor_fusion_rollout": items}, playbook=ROLLOUT)
    assert run.rc != 0 and run.changed == 0
    for message in ("tensor_fusion_rollout[0]: Deployment t-tf-rollout/t-tf-missing does not exist",
                    "tensor_fusion_rollout[1].enabled_replicas=3 is above the 2 replicas of Deployment t-tf-rollout/t-tf-trainer",
                    "tensor_fusion_rollout[2]: tensor-fusion.ai/tflops-request='300' is above tensor-fusion.ai/tflops-limit='200'"):
        assert message in run.out, (message, run.out[-3000:])
    assert before == {n: cluster.apps.read_namespaced_deployment(n, NS).metadata.generation
                      for n in ("t-tf-inference", "t-tf-trainer")}
