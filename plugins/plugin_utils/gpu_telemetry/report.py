# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gpu_telemetry section of the validation report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _selects(selector, labels):
    """Whether a workload's label selector (matchLabels, matchExpressions) selects ``labels``.
    An empty or missing selector selects nothing (apps/v1 workloads always have one)."""
    selector = selector or {}
    expressions = selector.get("matchExpressions") or []
    match = selector.get("matchLabels") or {}
    if not match and not expressions:
        return False
    if any(labels.get(key) != value for key, value in match.items()):
        return False
    for expr in expressions:
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _ready(pod):
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions if isinstance(c, dict))


def workload_nodes(workload, pods):
    """The nodes the workload's ready pods run on, sorted: its pods are those in its namespace its
    selector selects (a pod being deleted still counts while it is Ready)."""
    meta = workload.get("metadata") or {}
    selector = (workload.get("spec") or {}).get("selector")
    nodes = set()
    for pod in pods or []:
        pod_meta = pod.get("metadata") or {}
        if pod_meta.get("namespace") and meta.get("namespace") and pod_meta["namespace"] != meta["namespace"]:
            continue
        node = (pod.get("spec") or {}).get("nodeName")
        if node and _ready(pod) and _selects(selector, pod_meta.get("labels") or {}):
            nodes.add(node)
    return sorted(nodes)


def _workload_row(obj, pods):
    kind = obj.get("kind", "")
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    desired = spec.get("replicas", 1)
    ready = status.get("readyReplicas") or 0
    updated = status.get("updatedReplicas") or 0
    current = status.get("observedGeneration") == meta.get("generation")
    if desired == 0:
        state = "scaled to 0"
    elif ready >= desired and updated >= desired and current:
        state = "ready"
    else:
        state = "rolling out" if ready else "not ready"
    return [kind, meta.get("name", ""), desired, ready, state, ", ".join(workload_nodes(obj, pods)) or "none"]


def _rollout_detail(obj):
    """What keeps a workload from counting as rolled out, beyond its ready replicas."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    desired = spec.get("replicas", 1)
    details = []
    updated = status.get("updatedReplicas") or 0
    if updated < desired:
        details.append("%d of %d updated" % (updated, desired))
    total = status.get("replicas") or 0
    if total > desired:
        details.append("%d pods, older ones not gone yet" % total)
    if status.get("observedGeneration") != meta.get("generation"):
        details.append("generation %s not yet observed by its controller (at %s)"
                       % (meta.get("generation"), status.get("observedGeneration")))
    return "; ".join(details)


def _hpa_row(obj):
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    target = (spec.get("scaleTargetRef") or {}).get("name", "")
    bounds = "%s..%s replicas of %s" % (spec.get("minReplicas", 1), spec.get("maxReplicas"), target)
    return ["HorizontalPodAutoscaler", meta.get("name", ""), status.get("desiredReplicas", 0),
            status.get("currentReplicas", 0), bounds, "-"]


def report_section(release, workloads, autoscalers, settings, pods=None):
    """The gpu_telemetry report section.

    ``release``: helm_info's ``status`` (empty when there is no release); ``workloads``: the
    release's StatefulSets and Deployments as read from the API; ``autoscalers``: its
    HorizontalPodAutoscalers; ``settings``: namespace, release_name, queue_backend,
    tls_enabled, network_policies, check_mode; ``pods``: the release's pods (the Workloads
    table's Nodes column: where each workload's ready pods run).
    """
    release = release or {}
    order = {"StatefulSet": 0, "Deployment": 1}
    ordered = sorted(workloads or [], key=lambda w: (order.get(w.get("kind"), 9), w["metadata"]["name"]))
    workload_rows = [_workload_row(w, pods) for w in ordered]
    rows = workload_rows + [_hpa_row(h) for h in autoscalers or []]
    problems_found = []
    name = settings["release_name"]
    if not release:
        problems_found.append({"severity": "info" if settings.get("check_mode") else "error", "subject": name,
                               "message": "release %s is not installed in namespace %s" % (name, settings["namespace"])})
    elif release.get("status") != "deployed":
        problems_found.append({"severity": "error", "subject": name,
                               "message": "release %s is %s, not deployed" % (name, release.get("status"))})
    present = set((row[0], row[1]) for row in rows)
    for kind, component in (("StatefulSet", "queue"), ("Deployment", "streamer"), ("Deployment", "collector")):
        if release and (kind, "%s-%s" % (name, component)) not in present:
            problems_found.append({"severity": "error", "subject": "%s/%s-%s" % (kind, name, component),
                                   "message": "%s/%s-%s of release %s does not exist" % (kind, name, component, name)})
    for row, workload in zip(workload_rows, ordered):
        if row[4] not in ("ready", "scaled to 0"):
            problems_found.append({"severity": "error", "subject": "%s/%s" % (row[0], row[1]),
                                   "message": "%s/%s has %d of %d replicas ready (%s)" % (
                                       row[0], row[1], row[3], row[2],
                                       ": ".join(x for x in (row[4], _rollout_detail(workload)) if x))})
    notes = [
        "queue backend: %s%s" % (settings["queue_backend"],
                                 " (one replica: in-memory state is per replica)" if settings["queue_backend"] == "memory" else ""),
        "queue API over %s" % ("https (certificate from Secret %s)" % settings.get("tls_secret_name") if settings["tls_enabled"] else "http"),
        "NetworkPolicies %s" % ("applied (default deny for the release)" if settings["network_policies"] else "disabled"),
    ]
    return {
        "name": "gpu_telemetry",
        "title": "GPU telemetry pipeline",
        "tables": [
            {"title": "Release", "columns": ["release", "namespace", "revision", "chart", "status"],
             "rows": [[name, settings["namespace"], release.get("revision", ""), release.get("chart", ""),
                       release.get("status", "not installed")]]},
            {"title": "Workloads", "columns": ["kind", "name", "desired", "ready", "state", "nodes"], "rows": rows},
        ],
        "problems": problems_found,
        "notes": notes,
    }
