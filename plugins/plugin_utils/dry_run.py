# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a server-side dry run can check of the objects a role and its chart would write.

A role renders its chart with the values it planned (``kubernetes.core.helm_template``) and asks
the API server to accept every object of the render and its own objects with a dry run
(``kubernetes.core.k8s`` in check mode sends ``dryRun=All``), before Helm records a revision.
The API server can only take part of them:

- a namespaced object whose namespace does not exist yet is refused by the NamespaceLifecycle
  admission, whatever it holds (a first install into a new namespace);
- a custom resource needs its CustomResourceDefinition installed.

``selection`` keeps what it can take and says why it left the rest out; ``refusal`` turns the
failure of ``kubernetes.core.k8s`` into one sentence, with every secret the role was given blanked.
Pure: plain data in and out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _Loader
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import redaction

# API groups every conformant API server serves (the core group is "").
BUILT_IN_GROUPS = frozenset((
    "", "admissionregistration.k8s.io", "apiextensions.k8s.io", "apps", "autoscaling", "batch", "certificates.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "flowcontrol.apiserver.k8s.io", "networking.k8s.io", "node.k8s.io",
    "policy", "rbac.authorization.k8s.io", "scheduling.k8s.io", "storage.k8s.io"))
CLUSTER_SCOPED = frozenset((
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"), ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"), ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"), ("node.k8s.io", "RuntimeClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"), ("storage.k8s.io", "CSIDriver"), ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "VolumeAttachment")))
_STATUS = re.compile(r"\{.*\}", re.S)


def manifest_objects(text):
    """The objects of a rendered manifest (multi-document YAML), empty documents left out."""
    return [doc for doc in yaml.load_all(text or "", Loader=_Loader) if isinstance(doc, dict) and doc]


def _group(obj):
    api_version = obj.get("apiVersion") or ""
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def label(obj):
    """Kind/namespace/name, or Kind/name for a cluster-scoped object."""
    meta = obj.get("metadata") or {}
    parts = [obj.get("kind") or "?"] + ([meta["namespace"]] if meta.get("namespace") else []) + [meta.get("name") or "?"]
    return "/".join(parts)


def selection(objects, default_namespace, namespaces, custom_kinds=()):
    """``(take, left_out)``: the objects a dry run can check now, each namespaced one given its
    namespace (``default_namespace`` when it has none, as Helm does), and ``[{"object", "reason"}]``
    for the rest. ``namespaces``: the names of the namespaces that exist; ``custom_kinds``: the
    ``(group, kind)`` of custom resources whose definition is installed (custom resources are
    taken as cluster-scoped only when listed with a third item ``True``)."""
    take, left_out = [], []
    custom = dict(((c[0], c[1]), bool(c[2]) if len(c) > 2 else False) for c in custom_kinds)
    for obj in objects:
        group, kind = _group(obj), obj.get("kind")
        if group not in BUILT_IN_GROUPS and (group, kind) not in custom:
            left_out.append({"object": label(obj), "reason": "a custom resource whose definition is not installed yet"})
            continue
        scoped = (group, kind) in CLUSTER_SCOPED or custom.get((group, kind), False)
        obj = dict(obj, metadata=dict(obj.get("metadata") or {}))
        if not scoped:
            obj["metadata"].setdefault("namespace", default_namespace)
            if obj["metadata"]["namespace"] not in namespaces:
                left_out.append({"object": label(obj),
                                 "reason": "its namespace does not exist yet (the API server refuses any object there)"})
                continue
        take.append(obj)
    return take, left_out


def refusal(result, secrets=None):
    """Why the API server refused the dry run of ``kubernetes.core.k8s`` (its registered result,
    failed or registered under ``failed_when: false``), as one sentence ('' when it accepted
    everything or did not run)."""
    if not isinstance(result, dict) or result.get("skipped"):
        return ""
    # Registered under failed_when: false, a refusal has failed: false: it is a result without the
    # module's `result` and with its message.
    if not result.get("failed") and ("result" in result or not (result.get("msg") or result.get("reason"))):
        return ""
    msg = str(result.get("msg") or result.get("reason") or "no reason given")
    found = _STATUS.search(msg)
    if found:
        status = None
        # As JSON, or as the repr of the bytes that held it (backslashes doubled).
        for text in (found.group(0), found.group(0).replace("\\\\", "\\")):
            try:
                status = json.loads(text)
                break
            except ValueError:
                continue
        if isinstance(status, dict) and status.get("message"):
            msg = status["message"]
    return redaction.scrub(" ".join(msg.split()), secrets, "<hidden>")


def refusal_problem(result, secrets, doc):
    """The role's problem for a refused dry run ('' when the API server accepted everything):
    the server's sentence, secrets blanked, and where the variables behind the values are
    mapped (``doc``, e.g. docs/telemetry.md)."""
    refused = refusal(result, secrets)
    if not refused:
        return ""
    return ("the API server refuses what the chart and the role would write with these variables (a server-side "
            "dry run; nothing was installed or changed): %s. Fix the variable behind it (the chart values that "
            "change are listed with --diff; %s maps each to its variable)" % (refused, doc))
