# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progressive move of Deployments to TensorFusion (playbooks/tensor_fusion_rollout.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion.chart import var as _var


ENABLED_LABEL = "tensor-fusion.ai/enabled"
REPLICAS_ANNOTATION = "tensor-fusion.ai/enabled-replicas"
_PAIRS = (("tensor-fusion.ai/tflops-request", "tensor-fusion.ai/tflops-limit", "tflops"),
          ("tensor-fusion.ai/vram-request", "tensor-fusion.ai/vram-limit", "vram"))


def quantity(value):
    """The number (decimal.Decimal) an unsigned Kubernetes quantity stands for; None when it is not one."""
    return checks.parse_quantity(value)


def _replica_count(value, replicas):
    """enabled_replicas as a count: 3, "3" or "30%" of replicas (rounded down)."""
    if checks.is_int(value):
        return value if value >= 0 else None
    text = value if isinstance(value, str) else ""
    # str.isdigit() would take fullwidth and superscript digits; parse_int takes ASCII digits only.
    percent = checks.parse_int(text[:-1], strings=True) if text.endswith("%") else None
    if percent is not None and percent <= 100:
        return percent * replicas // 100
    return checks.parse_int(text, strings=True)


def rollout_plan(deployments, items, action):
    """Problems and patches moving Deployments to TensorFusion (rollout) or back (rollback).

    deployments: the Deployment read for each item (None when it does not exist), in the order of
    items. items: {name, namespace, enabled_replicas, annotations}. Rollout labels the pod template
    tensor-fusion.ai/enabled "true" and sets tensor-fusion.ai/enabled-replicas to a count; rollback
    sets "false" and "0". Containers (their nvidia.com/gpu limits) are never touched.
    """
    problems_, patches = [], []
    var = _var("rollout")
    if action not in ("rollout", "rollback"):
        return {"problems": ["%s=%r is not rollout or rollback" % (_var("rollout_action"), action)], "patches": []}
    for index, (item, deployment) in enumerate(zip(items, deployments)):
        where = "%s[%d]" % (var, index)
        name, namespace = item.get("name"), item.get("namespace", "default")
        if isinstance(deployment, list):  # k8s_info's resources
            deployment = deployment[0] if deployment else None
        if not deployment:
            problems_.append("%s: Deployment %s/%s does not exist; name an existing Deployment (kubectl get deploy -n %s)"
                             % (where, namespace, name, namespace))
            continue
        replicas = deployment.get("spec", {}).get("replicas", 1)
        template_meta = deployment.get("spec", {}).get("template", {}).get("metadata", {}) or {}
        annotations = dict(template_meta.get("annotations") or {})
        annotations.update(item.get("annotations") or {})
        if action == "rollback":
            labels, new = {ENABLED_LABEL: "false"}, {REPLICAS_ANNOTATION: "0"}
        else:
            count = _replica_count(item.get("enabled_replicas", replicas), replicas)
            if count is None:
                problems_.append("%s.enabled_replicas=%r is not a count or a percentage; use e.g. 3 or '30%%'"
                                 % (where, item.get("enabled_replicas")))
                continue
            if count > replicas:
                problems_.append("%s.enabled_replicas=%r is above the %d replicas of Deployment %s/%s; use at most %d"
                                 % (where, item.get("enabled_replicas"), replicas, namespace, name, replicas))
                continue
            for request_key, limit_key, what in _PAIRS:
                request, limit = annotations.get(request_key), annotations.get(limit_key)
                if request is None or limit is None:
                    continue
                if quantity(request) is None or quantity(limit) is None:
                    problems_.append("%s: %s=%r / %s=%r is not a quantity; e.g. '100' tflops or '3Gi' vram"
                                     % (where, request_key, request, limit_key, limit))
                elif quantity(request) > quantity(limit):
                    problems_.append("%s: %s=%r is above %s=%r on Deployment %s/%s; a %s request must not exceed its limit"
                                     % (where, request_key, request, limit_key, limit, namespace, name, what))
            labels = {ENABLED_LABEL: "true"}
            new = dict(item.get("annotations") or {}, **{REPLICAS_ANNOTATION: str(count)})
        patches.append({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": name, "namespace": namespace},
                        "spec": {"template": {"metadata": {"labels": labels, "annotations": new}}}})
    return {"problems": problems_, "patches": patches if not problems_ else []}
