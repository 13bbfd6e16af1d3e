# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OME model storage's vocabulary and the role's variables: OME's storage URIs and Ready node
labels, versions, and the problems with the variables (one sentence each: variable, value, fix).

Pure: plain data in and out, no I/O."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import posixpath
import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, volume_binding
from ansible_collections.gpufleet.cluster.plugins.module_utils.node_inputs import path_problem
from ansible_collections.gpufleet.cluster.plugins.plugin_utils import pod_security

MODES = ("hostPath", "pvc")
KINDS = ("ClusterBaseModel", "BaseModel")
ACCESS_MODE = "ReadOnlyMany"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
PVC_PREFIX = "pvc://"
LOCAL_PREFIX = "local://"
CHECK_LABELS = "model-ready-labels-disagree-with-pv-affinity"
PLACEMENT_TABLE = "pv_affinity_info on the model volume"
VOLUME_LABEL = "model-storage.gpufleet.io/volume"
MANAGED_BY = volume_binding.MANAGED_BY
MANAGER = "gpufleet.cluster.model_storage"
OME_API_VERSION = "ome.io/v1beta1"
# OME's pkg/constants: label keys are models.ome.io/<name part>, the name part at most 49
# characters; longer model or namespace names are cut to "<8 hex of sha256>-<suffix>".
_LABEL_DOMAIN = "models.ome.io"
_LABEL_NAME_MAX = 49
_HASH_LEN = 8

# A prefix: "v0.1.5-18-g17b77eda" is 0.1.5 (ASCII digits only).
_VERSION_RE = re.compile(r"v?([0-9]+)\.([0-9]+)\.([0-9]+)")
# The role's boolean variables: read as Ansible reads them, anything else refused.
FLAGS = ("manage_storage_class", "create_namespace", "ome_objects")
# The Pod Security level the serving namespace needs by mode (model_storage_namespace_pod_security
# empty), and why: OME's serving pods run as their runtime image's user (root), and in hostPath
# mode mount the model directory as a hostPath volume, which only privileged allows.
NAMESPACE_LEVEL = {
    "hostPath": ("privileged", "in hostPath mode OME mounts the model directory into the serving pods as a hostPath "
                               "volume"),
    "pvc": ("baseline", "the serving runtimes run as their image's user, root, without a seccomp profile"),
}


def namespace_level(inputs):
    """The serving namespace's Pod Security level: the variable, else the one the mode needs."""
    return inputs.get("namespace_pod_security") or NAMESPACE_LEVEL.get(inputs.get("mode"), ("privileged",))[0]


class ModelStorageError(ValueError):
    """A storage URI or version that cannot be used; the message says why."""


# --- URIs ----------------------------------------------------------------------------------


def parse_pvc_uri(uri):
    """``pvc://[ns:]claim/subpath`` as OME's storage.ParsePVCStorageURI reads it, as a dict.

    Raises ModelStorageError for what OME rejects: no claim, no subpath, an empty namespace,
    more than one colon, a namespace that is not a DNS label, a ``..`` segment.
    """
    if not isinstance(uri, str) or not uri.startswith(PVC_PREFIX):
        raise ModelStorageError("%r does not start with pvc://" % (uri,))
    rest = uri[len(PVC_PREFIX):]
    if "/" not in rest:
        raise ModelStorageError("%r has no subpath after the claim name" % uri)
    head, subpath = rest.split("/", 1)
    namespace = ""
    claim = head
    if ":" in head:
        namespace, claim = head.split(":", 1)
        if ":" in claim:
            raise ModelStorageError("%r has more than one ':' (only namespace:claim is allowed)" % uri)
        if not namespace:
            raise ModelStorageError("%r has an empty namespace before ':'" % uri)
        if not checks.is_dns_label(namespace):
            raise ModelStorageError("%r names namespace %r, which is not a valid namespace name" % (uri, namespace))
    if not claim:
        raise ModelStorageError("%r has no claim name" % uri)
    if not subpath:
        raise ModelStorageError("%r has no subpath after the claim name" % uri)
    if ".." in subpath.split("/"):
        raise ModelStorageError("%r has a '..' segment in its subpath" % uri)
    if checks.control_characters(uri):
        raise ModelStorageError("%r has control characters" % uri)
    return {"namespace": namespace, "claim": claim, "subpath": subpath}


def pvc_uri(kind, claim, subpath, namespace):
    """The pvc:// URI OME wants for a model of ``kind``: no namespace for a BaseModel."""
    if kind == "BaseModel":
        return "%s%s/%s" % (PVC_PREFIX, claim, subpath)
    return "%s%s:%s/%s" % (PVC_PREFIX, namespace, claim, subpath)


def local_uri(path):
    return LOCAL_PREFIX + path


# --- OME's node labels ---------------------------------------------------------------------


def _truncate(text, limit):
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LEN]
    keep = limit - _HASH_LEN - 1
    if keep <= 0:
        return digest[:limit]
    return "%s-%s" % (digest, text[len(text) - keep:])


def ready_label_key(kind, name, namespace=None):
    """The node label OME's model agent sets to ``Ready`` where the model is, for a model object.

    ``models.ome.io/clusterbasemodel.<name>`` or ``models.ome.io/<ns>.basemodel.<name>``, with
    OME's truncation of long names (pkg/constants GetClusterBaseModelLabel / GetBaseModelLabel).
    """
    if kind == "ClusterBaseModel":
        return "%s/clusterbasemodel.%s" % (_LABEL_DOMAIN, _truncate(name, _LABEL_NAME_MAX - len("clusterbasemodel") - 1))
    namespace = namespace or ""
    available = _LABEL_NAME_MAX - len("basemodel") - 1 - 1
    if len(namespace) + len(name) > available:
        if available < 16:
            ns_max = available // 2
        elif len(namespace) <= 8:
            ns_max = len(namespace)
        else:
            ns_max = 8
        namespace, name = _truncate(namespace, ns_max), _truncate(name, available - ns_max)
    return "%s/%s.basemodel.%s" % (_LABEL_DOMAIN, namespace, name)


# --- versions ------------------------------------------------------------------------------


def parse_version(text):
    """(major, minor, patch) from "v1.2.2", "1.3.0-rc1", "v0.1.5-18-g17b77eda"; None when not a version."""
    if not isinstance(text, str):
        return None
    match = _VERSION_RE.match(text.strip())
    if not match:
        return None
    return tuple(int(part) for part in match.groups())


def image_tag(image):
    """The tag of a container image reference ("" for a digest-only or untagged reference)."""
    parsed = checks.parse_image(image)
    return parsed["tag"] if parsed else ""

# --- input checks --------------------------------------------------------------------------


def _name_problem(var, value, label=False):
    if label:
        return checks.namespace_problem(var, value, "model-storage")
    return checks.dns_subdomain_problem(var, value, "model-storage")


def quantity_problem(var, value):
    """A capacity: an unsigned Kubernetes quantity above zero, a whole number of bytes."""
    return checks.quantity_problem(var, value, "500Gi", whole=True)


def subpath_problem(var, value, root=None):
    """Problem with a model directory relative to the model root, or None."""
    if not isinstance(value, str) or not value.strip() or checks.control_characters(value):
        return ("%s=%r is not a path; give the model's directory under the model root on one line, e.g. "
                "'meta/llama-3-2-1b-instruct'" % (var, value))
    if value.startswith("/"):
        inside = isinstance(root, str) and root and value.startswith(root.rstrip("/") + "/")
        return ("%s=%r is absolute; give it relative to model_storage_dir, e.g. %r"
                % (var, value, value[len(root.rstrip("/")) + 1:] if inside else value.lstrip("/")))
    segments = value.split("/")
    if ".." in segments:
        return ("%s=%r climbs out of the model root with '..'; a subPath must stay inside the volume. "
                "Give the directory under model_storage_dir, e.g. 'meta/llama-3-2-1b-instruct'" % (var, value))
    norm = posixpath.normpath(value)
    if norm != value or "" in segments or "." in segments:
        return "%s=%r is not normalised; write it as %r" % (var, value, norm)
    return None


def _uri_problems(prefix, model, inputs):
    """What is wrong with a model's explicit storage_uri (it must say what the role computes)."""
    uri = model.get("storage_uri")
    if uri in (None, ""):
        return []
    var = "%s.storage_uri" % prefix
    mode, kind = inputs.get("mode"), model.get("kind") or "ClusterBaseModel"
    subpath, claim = model.get("subpath"), inputs.get("pvc_name")
    if mode == "hostPath":
        expected = local_uri(posixpath.join(inputs.get("dir") or "", subpath or ""))
        if uri != expected:
            hint = " (pvc:// URIs need model_storage_mode: pvc)" if str(uri).startswith(PVC_PREFIX) else ""
            return ["%s=%r does not match the model's directory%s; in hostPath mode use %r or drop storage_uri"
                    % (var, uri, hint, expected)]
        return []
    try:
        parsed = parse_pvc_uri(uri)
    except ModelStorageError as exc:
        return ["%s is not a pvc:// URI OME accepts: %s. Write it as %r" % (
            var, exc, pvc_uri(kind, claim, subpath, model.get("namespace") or inputs.get("namespace")))]
    namespace = inputs.get("namespace")
    expected = pvc_uri(kind, claim, subpath, namespace)
    if kind == "BaseModel" and parsed["namespace"]:
        return ["%s=%r names a namespace; OME rejects that for a BaseModel (its claim is looked up in the "
                "BaseModel's own namespace). Write %r" % (var, uri, expected)]
    if kind == "ClusterBaseModel" and not parsed["namespace"]:
        return ["%s=%r names no namespace; a ClusterBaseModel is cluster-scoped, so OME needs "
                "pvc://<namespace>:<claim>/<subpath>. Write %r" % (var, uri, expected)]
    if uri != expected:
        return ["%s=%r does not point at the role's claim %s/%s and subpath %r; write %r or drop storage_uri"
                % (var, uri, namespace, claim, subpath, expected)]
    return []


def input_problems(inputs):
    """Problems with the role's variables (without the model_storage_ prefix), one sentence each."""
    problems = [p for p in (checks.boolean_problem("model_storage_%s" % f, inputs[f]) for f in FLAGS if f in inputs) if p]
    if inputs.get("node_label") is not None:
        problem = checks.label_key_problem("model_storage_node_label", inputs["node_label"], "kubernetes.io/hostname")
        if problem:
            problems.append(problem)
    root = inputs.get("dir")
    problem = path_problem("model_storage_dir", root)
    if problem:
        problems.append(problem)
    mode = inputs.get("mode")
    if mode not in MODES:
        problems.append("model_storage_mode=%r is not a mode; use 'hostPath' (local:// models, the seed's working "
                        "approach) or 'pvc' (pvc:// models, OME with PVC support)" % (mode,))
    for var in ("pv_name", "pvc_name", "storage_class"):
        problem = _name_problem("model_storage_%s" % var, inputs.get(var))
        if problem:
            problems.append(problem)
    problem = checks.owned_namespace_problem("model_storage_namespace", inputs.get("namespace"), "model-serving")
    if problem:
        problems.append(problem)
    level = inputs.get("namespace_pod_security")
    if level not in (None, "") and mode in MODES:
        problem = pod_security.level_problem("model_storage_namespace_pod_security", level, *NAMESPACE_LEVEL[mode])
        if problem:
            problems.append(problem)
    problem = quantity_problem("model_storage_capacity", inputs.get("capacity"))
    if problem:
        problems.append(problem)
    access = inputs.get("access_mode")
    if access != ACCESS_MODE:
        problems.append("model_storage_access_mode=%r: the model volume is shared by every serving pod on every "
                        "model host and nothing may write to it; use 'ReadOnlyMany'" % (access,))
    marker = inputs.get("marker")
    if not isinstance(marker, str) or not marker or marker.startswith("/") or ".." in marker.split("/") \
            or checks.control_characters(marker):
        problems.append("model_storage_marker=%r must be a file name inside each model directory, e.g. 'config.json'"
                        % (marker,))
    nodes = inputs.get("nodes")
    if not isinstance(nodes, list) or not all(checks.is_dns_subdomain(n) for n in nodes):
        problems.append("model_storage_nodes=%r must be a list of node names (empty: every host that holds the "
                        "models)" % (nodes,))
    models = inputs.get("models")
    if not isinstance(models, list):
        return problems + ["model_storage_models=%r is not a list; give [{name, subpath}] entries" % (models,)]
    seen = set()
    for index, model in enumerate(models):
        prefix = "model_storage_models[%d]" % index
        if not isinstance(model, dict):
            problems.append("%s=%r is not a mapping; give at least name and subpath" % (prefix, model))
            continue
        problem = _name_problem("%s.name" % prefix, model.get("name"))
        if problem:
            problems.append(problem)
        kind = model.get("kind") or "ClusterBaseModel"
        if kind not in KINDS:
            problems.append("%s.kind=%r must be 'ClusterBaseModel' or 'BaseModel'" % (prefix, kind))
        namespace = model.get("namespace")
        if namespace not in (None, ""):
            if kind == "ClusterBaseModel":
                problems.append("%s.namespace=%r: a ClusterBaseModel is cluster-scoped; drop namespace or use "
                                "kind: BaseModel" % (prefix, namespace))
            elif mode == "pvc" and namespace != inputs.get("namespace"):
                problems.append("%s.namespace=%r: in pvc mode a BaseModel must live in the claim's namespace "
                                "model_storage_namespace=%r (its pvc:// URI cannot name another); drop namespace"
                                % (prefix, namespace, inputs.get("namespace")))
            else:
                problem = _name_problem("%s.namespace" % prefix, namespace, label=True)
                if problem:
                    problems.append(problem)
        problem = subpath_problem("%s.subpath" % prefix, model.get("subpath"), root)
        if problem:
            problems.append(problem)
        marker = model.get("marker")
        if marker is not None and (not isinstance(marker, str) or not marker or marker.startswith("/")
                                   or ".." in marker.split("/") or checks.control_characters(marker)):
            problems.append("%s.marker=%r must be a file name inside the model directory, e.g. 'config.json'"
                            % (prefix, marker))
        spec = model.get("spec")
        if spec is not None and not isinstance(spec, dict):
            problems.append("%s.spec=%r must be a mapping of BaseModel spec fields (modelFormat, vendor, ...)"
                            % (prefix, spec))
        elif isinstance(spec, dict) and "storage" in spec:
            problems.append("%s.spec.storage is set by the role (from the hosts that hold the model); remove it"
                            % prefix)
        if mode in MODES:
            problems.extend(_uri_problems(prefix, model, inputs))
        key = (kind, (namespace or inputs.get("namespace")) if kind == "BaseModel" else "", model.get("name"))
        if key in seen:
            problems.append("%s: %s %r is listed twice; one entry per model" % (prefix, kind, model.get("name")))
        seen.add(key)
    return problems
