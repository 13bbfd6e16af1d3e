# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OME model storage: which hosts hold each model, and the volume and model objects that follow.

The role gpufleet.cluster.model_storage inspects the model directory on every GPU host
(``summarise_host``), plans the cluster objects from what it found (``plan``), checks the plan
against what the cluster already has (``cluster_problems``), and after applying, checks that
the nodes OME's model agent labels Ready agree with the model volume's node affinity
(``label_findings``) and builds the report section (``report_section``).

A host *holds* a model when ``<model dir>/<subpath>`` exists, is a directory and not a symlink,
and contains the model's marker file (``config.json`` by default: what OME's metadata
extraction reads, and the last file a complete download needs). A directory without the
marker does not count (an interrupted download looks like that). A path that is a file or a
symlink is an error, as is a model directory root that is a symlink.

Pure: plain dicts in and out, no I/O, so the unit tests need no mocks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import posixpath
import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, volume_binding
from ansible_collections.gpufleet.cluster.plugins.module_utils.node_inputs import path_problem

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


# --- reading the cluster -------------------------------------------------------------------


def read_paths(query):
    """API paths of what the role reads, from ``query`` (what model_storage_info was asked)."""
    paths = {"nodes": "/api/v1/nodes"}
    for kind, crd in (("BaseModel", "basemodels.ome.io"), ("ClusterBaseModel", "clusterbasemodels.ome.io")):
        paths["crd:" + kind] = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + crd
    if query.get("ome_controller"):
        paths["controller"] = "/apis/apps/v1/namespaces/%s/deployments/%s" % (
            query["ome_namespace"], query["ome_controller"])
    if query.get("namespace"):
        paths["serving_namespace"] = "/api/v1/namespaces/" + query["namespace"]
    if query.get("storage_class"):
        paths["storage_class"] = "/apis/storage.k8s.io/v1/storageclasses/" + query["storage_class"]
    if query.get("pv_name"):
        paths["pv"] = "/api/v1/persistentvolumes/" + query["pv_name"]
    if query.get("pvc_name"):
        paths["pvc"] = "/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (query["namespace"], query["pvc_name"])
    for index, model in enumerate(query.get("models") or []):
        if model.get("kind") == "BaseModel":
            paths["model:%d" % index] = "/apis/ome.io/v1beta1/namespaces/%s/basemodels/%s" % (
                model.get("namespace"), model.get("name"))
        else:
            paths["model:%d" % index] = "/apis/ome.io/v1beta1/clusterbasemodels/%s" % model.get("name")
    return paths


def read_state(get, list_all, query):
    """Read what ``query`` names with ``get(path)`` (None for 404) and ``list_all(path)``.

    Returns {nodes, crds: {kind: bool}, controller, serving_namespace, storage_class, pv, pvc,
    models: [found objects]}; what does not exist is None (or left out of ``models``).
    """
    paths = read_paths(query)
    state = {"nodes": list_all(paths.pop("nodes")), "crds": {}, "controller": None, "serving_namespace": None,
             "storage_class": None, "pv": None, "pvc": None, "models": []}
    # CRDs first: a model whose CRD is absent is not asked for.
    order = sorted(paths, key=lambda k: (k.startswith("model:"), int(k.split(":")[1]) if k.startswith("model:") else 0, k))
    for key in order:
        if key.startswith("model:"):
            kind = query["models"][int(key.split(":")[1])].get("kind") or "ClusterBaseModel"
            if not state["crds"].get(kind):
                continue
        found = get(paths[key])
        if key.startswith("crd:"):
            state["crds"][key[4:]] = found is not None
        elif key.startswith("model:"):
            if found is not None:
                state["models"].append(found)
        else:
            state[key] = found
    return state


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


# --- host inspection -----------------------------------------------------------------------


def _stat(result):
    stat = (result or {}).get("stat") or {}
    return {
        "exists": bool(stat.get("exists")),
        "isdir": bool(stat.get("isdir")),
        "islnk": bool(stat.get("islnk")),
        "isreg": bool(stat.get("isreg")),
        "lnk_source": stat.get("lnk_source"),
    }


def summarise_host(node, root, root_stat, dir_stats, marker_stats, models, default_marker):
    """What one host has, from ansible.builtin.stat results (registered loops), as a small dict.

    ``dir_stats`` / ``marker_stats`` are the ``results`` lists of a stat loop over the models (in
    the order of ``models``; follow=false for the directory, follow=true for the marker, so a
    marker that is a symlink to a file counts, as in Hugging Face snapshots).
    """
    entries = []
    for index, model in enumerate(models):
        directory = _stat(dir_stats[index] if index < len(dir_stats) else None)
        marker = _stat(marker_stats[index] if index < len(marker_stats) else None)
        entries.append({
            "name": model.get("name"),
            "subpath": model.get("subpath"),
            "path": posixpath.join(root, model.get("subpath") or ""),
            "marker": model.get("marker") or default_marker,
            "exists": directory["exists"],
            "isdir": directory["isdir"],
            "islnk": directory["islnk"],
            "marker_found": marker["exists"] and marker["isreg"],
        })
    return {"node": node, "root": root, "root_stat": _stat(root_stat), "models": entries}


def _state(entry):
    if not entry["exists"]:
        return "absent"
    if entry["islnk"]:
        return "symlink"
    if not entry["isdir"]:
        return "file"
    if not entry["marker_found"]:
        return "no-marker"
    return "held"


def holdings(inspections, models, root=None):
    """Per model: the nodes that hold it, the state on every host, and problems.

    ``inspections`` maps inventory host -> summarise_host() dict (None for a host that did not
    report: unreachable, or the inspection play did not run there). ``root`` is the path the
    local PV names on every node; a host that keeps its models elsewhere is a warning.
    """
    problems, notes, per_model = [], [], []
    root_problem_hosts = set()
    for host in sorted(inspections):
        summary = inspections[host]
        if summary and root and summary.get("root") != root:
            problems.append({"severity": "warning", "subject": host,
                             "message": "%s keeps its models in %s, but the local PV names %s on every node (one "
                                        "path for all); give model_storage_dir the same value on every host"
                                        % (host, summary.get("root"), root)})
        if not summary:
            problems.append({"severity": "warning", "subject": host,
                             "message": "%s did not report its model directories (unreachable, or the inspection "
                                        "play did not run there); it is left out of the volume's node affinity" % host})
            continue
        root_stat = summary["root_stat"]
        if root_stat["islnk"]:
            root_problem_hosts.add(host)
            problems.append({"severity": "error", "subject": host,
                             "message": "model_storage_dir %s on %s is a symlink (to %s); a local PV must name the "
                                        "real directory. Point model_storage_dir (node_prep_model_dir) at it"
                                        % (summary["root"], host, root_stat.get("lnk_source"))})
        elif root_stat["exists"] and not root_stat["isdir"]:
            root_problem_hosts.add(host)
            problems.append({"severity": "error", "subject": host,
                             "message": "model_storage_dir %s on %s is not a directory; move it away or run node_prep"
                                        % (summary["root"], host)})
    for index, model in enumerate(models):
        prefix = "model_storage_models[%d]" % index
        states, holders = {}, []
        for host in sorted(inspections):
            summary = inspections[host]
            if not summary or host in root_problem_hosts:
                continue
            entries = summary["models"]
            entry = entries[index] if index < len(entries) else None
            if entry is None or entry["subpath"] != model.get("subpath"):
                states[summary["node"]] = "unknown"
                continue
            state = _state(entry)
            states[summary["node"]] = state
            if state == "held":
                holders.append(summary["node"])
            elif state in ("file", "symlink"):
                problems.append({"severity": "error", "subject": model.get("name"),
                                 "message": "%s.subpath %r: %s on %s is a %s, not a directory; a model volume's "
                                            "subPath must be a real directory. Move it away or correct the subpath"
                                            % (prefix, model.get("subpath"), entry["path"], host, state)})
            elif state == "no-marker":
                notes.append("%s on %s has no %s: not counted as holding %s (an incomplete download?)"
                             % (entry["path"], host, entry["marker"], model.get("name")))
        if not holders:
            seen = ", ".join("%s: %s" % (h, s) for h, s in sorted(states.items())) or "no host reported"
            problems.append({"severity": "error", "subject": model.get("name"),
                             "message": "%s (%s): no host holds %s with its marker file (%s). Put the model there "
                                        "(OME's model agent, or a copy), or remove it from model_storage_models"
                                        % (prefix, model.get("name"), model.get("subpath"), seen)})
        per_model.append({"name": model.get("name"), "holders": sorted(holders), "states": states})
    return {"models": per_model, "problems": problems, "notes": notes}


# --- the plan ------------------------------------------------------------------------------


def _affinity(label, nodes):
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": label, "operator": "In", "values": sorted(nodes)}]}]}}


def _model_object(model, inputs, holders):
    kind = model.get("kind") or "ClusterBaseModel"
    path = posixpath.join(inputs["dir"], model["subpath"])
    metadata = {"name": model["name"], "labels": {MANAGED_BY: MANAGER}}
    namespace = None
    if kind == "BaseModel":
        namespace = model.get("namespace") or inputs["namespace"]
        metadata["namespace"] = namespace
    spec = dict(model.get("spec") or {})
    if inputs["mode"] == "pvc":
        storage = {"storageUri": pvc_uri(kind, inputs["pvc_name"], model["subpath"], inputs["namespace"])}
    else:
        storage = {"storageUri": local_uri(path), "path": path,
                   "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                                    _affinity(inputs["node_label"], holders)["required"]}}
    spec["storage"] = storage
    return {"apiVersion": OME_API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def plan(inputs, inspections):
    """Everything the role will create, or the problems that stop it, from inputs and host facts.

    Returns {problems: [messages], warnings: [...], notes: [...], models: [{name, holders, ...}],
    nodes: [the volume's affinity], objects: {storage_class, pv, pvc, models: [...]}, ome_values}.
    """
    errors = input_problems(inputs)
    result = {"problems": errors, "warnings": [], "notes": [], "models": [], "nodes": [],
              "objects": {}, "ome_values": {"modelAgent": {"enabled": True, "hostPath": inputs.get("dir")}}}
    if errors:
        return result
    models = inputs["models"]
    if not models:
        result["notes"].append("model_storage_models is empty: no model volume or model objects.")
        return result
    held = holdings(inspections, models, inputs["dir"])
    result["notes"].extend(held["notes"])
    for problem in held["problems"]:
        (errors if problem["severity"] == "error" else result["warnings"]).append(problem["message"])
    result["models"] = held["models"]
    if errors:
        return result
    holder_sets = [set(m["holders"]) for m in held["models"]]
    every = set.intersection(*holder_sets)
    requested = inputs.get("nodes") or []
    for node in requested:
        missing = [m["name"] for m in held["models"] if node not in m["holders"]]
        if missing:
            errors.append("model_storage_nodes names %s, which does not hold %s (%s): a PV pointing there would "
                          "send serving pods to a node without the model. Remove it from model_storage_nodes"
                          % (node, ", ".join(missing), ", ".join(
                              "%s: %s" % (m["name"], m["states"].get(node, "not inspected"))
                              for m in held["models"] if m["name"] in missing)))
    if errors:
        return result
    nodes = sorted(requested) if requested else sorted(every)
    if not nodes:
        errors.append("no host holds every model of model_storage_models (%s); one volume serves them all, so "
                      "copy the models where they are missing, or run the role once per set of hosts with its own "
                      "model_storage_pv_name and model_storage_pvc_name"
                      % "; ".join("%s on %s" % (m["name"], ", ".join(m["holders"])) for m in held["models"]))
        return result
    for entry in held["models"]:
        extra = sorted(set(entry["holders"]) - set(nodes))
        if extra:
            result["notes"].append("%s is also on %s, which is left out of the volume (it lacks another model)"
                                   % (entry["name"], ", ".join(extra)))
    result["nodes"] = nodes
    labels = {MANAGED_BY: MANAGER}
    pv_labels = dict(labels, **{VOLUME_LABEL: inputs["pv_name"]})
    pv_spec = {
        "capacity": {"storage": inputs["capacity"]},
        "volumeMode": "Filesystem",
        "accessModes": [ACCESS_MODE],
        "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": inputs["storage_class"],
        "local": {"path": inputs["dir"]},
        "nodeAffinity": _affinity(inputs["node_label"], nodes),
    }
    pvc_spec = {
        "accessModes": [ACCESS_MODE],
        "volumeMode": "Filesystem",
        "resources": {"requests": {"storage": inputs["capacity"]}},
        "storageClassName": inputs["storage_class"],
        # Without it, a claim that is not pre-bound may bind any Available PV of the class.
        "selector": {"matchLabels": {VOLUME_LABEL: inputs["pv_name"]}},
    }
    if inputs["mode"] == "pvc":
        # OME's BaseModel controller waits for a Bound claim, and a WaitForFirstConsumer claim
        # binds only when a pod is scheduled: pre-binding both sides binds it at once.
        pv_spec["claimRef"] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                               "namespace": inputs["namespace"], "name": inputs["pvc_name"]}
        pvc_spec["volumeName"] = inputs["pv_name"]
    result["objects"] = {
        "storage_class": {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                          "metadata": {"name": inputs["storage_class"], "labels": labels},
                          "provisioner": NO_PROVISIONER, "volumeBindingMode": "WaitForFirstConsumer",
                          "reclaimPolicy": "Retain"},
        "pv": {"apiVersion": "v1", "kind": "PersistentVolume",
               "metadata": {"name": inputs["pv_name"], "labels": pv_labels}, "spec": pv_spec},
        "pvc": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": inputs["pvc_name"], "namespace": inputs["namespace"], "labels": labels},
                "spec": pvc_spec},
        "models": [_model_object(model, inputs, [n for n in entry["holders"] if not requested or n in requested])
                   for model, entry in zip(models, held["models"])],
    }
    return result


# --- the plan against the cluster ----------------------------------------------------------


def _affinity_values(pv):
    terms = (((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or []
    values = []
    for term in terms:
        for req in term.get("matchExpressions") or []:
            values.append((req.get("key"), req.get("operator"), sorted(req.get("values") or [])))
    return values


def ome_version(controller, override):
    """The OME version in use: the override, else the controller Deployment's image tag ("" unknown)."""
    if override:
        return override
    containers = ((((controller or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    for container in containers:
        if container.get("name") == "manager" or len(containers) == 1:
            return image_tag(container.get("image"))
    return ""


def cluster_problems(the_plan, inputs, cluster):
    """Errors and warnings from comparing the plan with the cluster, before anything is applied.

    ``cluster``: {node_names: [...], crds: {kind: bool}, controller: Deployment or None,
    serving_namespace, storage_class, pv, pvc: the existing objects or None}. Returns {errors, warnings, notes,
    model_kinds: the kinds whose CRD is installed, version}.
    """
    errors, warnings, notes = [], [], []  # notes: info problems in the report
    rebind = {"action": "none", "message": "", "patch": None}
    objects = the_plan.get("objects") or {}
    known = set(cluster.get("node_names") or [])
    for node in the_plan.get("nodes") or []:
        if node not in known:
            errors.append("%s holds the models but the cluster has no Node named %s; set model_storage_node_name "
                          "for that host to the name its kubelet registered" % (node, node))
    # Only when it was read (the module reads it whenever a namespace is named).
    if "serving_namespace" in cluster and cluster["serving_namespace"] is None \
            and checks.parse_boolean(inputs.get("create_namespace", True)) is False:
        errors.append("model_storage_namespace=%r does not exist and model_storage_create_namespace is false: create "
                      "the namespace first (with the labels and quotas your cluster requires) or set "
                      "model_storage_create_namespace: true" % inputs.get("namespace"))
    want_sc, have_sc = objects.get("storage_class"), cluster.get("storage_class")
    if want_sc and have_sc and checks.parse_boolean(inputs.get("manage_storage_class")) is True:
        for field in ("provisioner", "volumeBindingMode"):
            if have_sc.get(field) != want_sc[field]:
                errors.append("StorageClass %s exists with %s=%r (immutable), not %r; delete it or set "
                              "model_storage_storage_class to another name"
                              % (want_sc["metadata"]["name"], field, have_sc.get(field), want_sc[field]))
    want_pv, have_pv = objects.get("pv"), cluster.get("pv")
    if want_pv and have_pv:
        name = want_pv["metadata"]["name"]
        have_nodes = sorted(set(v for (_k, _o, vals) in _affinity_values(have_pv) for v in vals))
        if _affinity_values(have_pv) != _affinity_values(want_pv):
            without = sorted(set(have_nodes) - set(the_plan["nodes"]))
            why = ("points at %s, which does not hold every model" % ", ".join(without)) if without else \
                ("admits only %s while %s hold the models" % (", ".join(have_nodes) or "no node",
                                                              ", ".join(the_plan["nodes"])))
            errors.append("PersistentVolume %s already exists and %s; its node affinity is immutable. Delete it "
                          "(persistentVolumeReclaimPolicy Retain keeps the files) and re-run" % (name, why))
        have_spec = have_pv.get("spec") or {}
        if (have_spec.get("local") or {}).get("path") != want_pv["spec"]["local"]["path"]:
            errors.append("PersistentVolume %s already exists for local path %r, not %r; delete it or set "
                          "model_storage_pv_name to another name"
                          % (name, (have_spec.get("local") or {}).get("path"), want_pv["spec"]["local"]["path"]))
        # A deleted claim leaves the volume Released with the old claim's uid: bound again here.
        rebind = volume_binding.rebind(have_pv, cluster.get("pvc"), inputs["namespace"], inputs["pvc_name"],
                                       {MANAGED_BY: MANAGER}, "model_storage_pv_name")
        if rebind["action"] == "refuse":
            errors.append(rebind["message"])
    want_pvc, have_pvc = objects.get("pvc"), cluster.get("pvc")
    if want_pvc and have_pvc:
        volume = (have_pvc.get("spec") or {}).get("volumeName")
        if volume and volume != inputs["pv_name"]:
            errors.append("PersistentVolumeClaim %s/%s is bound to %s, not %s; use another model_storage_pvc_name"
                          % (inputs["namespace"], inputs["pvc_name"], volume, inputs["pv_name"]))
        elif ((((have_pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
              != want_pvc["spec"]["resources"]["requests"]["storage"]):
            have = (((have_pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
            errors.append("PersistentVolumeClaim %s/%s requests %s, not model_storage_capacity=%r: a claim's request "
                          "cannot change here (no expansion for local volumes); keep %r or delete the claim (no pod may "
                          "use it) and re-run" % (inputs["namespace"], inputs["pvc_name"], have, inputs["capacity"], have))
        elif (have_pvc.get("spec") or {}).get("selector") != want_pvc["spec"]["selector"]:
            errors.append("PersistentVolumeClaim %s/%s exists with selector %r, not %r (immutable); delete the claim "
                          "(no pod may use it) and re-run" % (inputs["namespace"], inputs["pvc_name"],
                                                              (have_pvc.get("spec") or {}).get("selector"),
                                                              want_pvc["spec"]["selector"]))
        elif not volume and inputs["mode"] == "pvc":
            errors.append("PersistentVolumeClaim %s/%s exists unbound without volumeName (made in hostPath mode); a "
                          "claim's volumeName cannot be added later. Delete the claim (no pod may use it) and re-run"
                          % (inputs["namespace"], inputs["pvc_name"]))
    crds = cluster.get("crds") or {}
    kinds = sorted(k for k in KINDS if crds.get(k))
    wanted = sorted(set(m.get("kind") or "ClusterBaseModel" for m in inputs.get("models") or []))
    missing = [k for k in wanted if k not in kinds]
    if missing and objects.get("models"):
        notes.append("OME's CRDs for %s are not installed (%s): those model objects are skipped; the volume is "
                     "created. Install OME with the values in this report, then re-run the role"
                     % (", ".join(missing), ", ".join("%ss.ome.io" % k.lower() for k in missing)))
    version = ome_version(cluster.get("controller"), inputs.get("ome_version"))
    if inputs.get("mode") == "pvc" and objects.get("models"):
        minimum = parse_version(inputs.get("ome_pvc_min_version"))
        found = parse_version(version)
        if found and minimum and found < minimum:
            errors.append("OME %s is older than pvc:// model storage (OEP-0004, in OME %s and later): its BaseModel "
                          "controller leaves pvc:// models In_Transit and serving pods keep hostPath. Set "
                          "model_storage_mode: hostPath, or upgrade OME" % (version, inputs.get("ome_pvc_min_version")))
        elif not found and kinds:
            warnings.append("The OME version is unknown (no %s Deployment in namespace %s, and model_storage_ome_version "
                            "is empty): pvc:// needs OME %s or later; older controllers leave the models In_Transit"
                            % (inputs.get("ome_controller"), inputs.get("ome_namespace"), inputs.get("ome_pvc_min_version")))
    return {"errors": errors, "warnings": warnings, "infos": notes, "model_kinds": kinds, "version": version,
            "rebind": rebind}


# --- after applying ------------------------------------------------------------------------


def _node_labels(node):
    return ((node or {}).get("metadata") or {}).get("labels") or {}


def label_findings(model_objects, nodes, pv):
    """Check ``model-ready-labels-disagree-with-pv-affinity`` for the role's model objects.

    The nodes OME's model agent labels ``<ready_label_key>=Ready`` are where OME sends the
    model's serving pods (a hard nodeSelector); the model PV's node affinity is where the volume
    can be used. Where they differ, pods are sent where the volume is not (warning) or the volume
    admits nodes where the agent has not confirmed the model (warning). No Ready label anywhere
    means the agent has not reported (not installed, disabled, still downloading): info.
    """
    findings = []
    affinity = sorted(set(v for (_k, _o, vals) in _affinity_values(pv or {}) for v in vals))
    pv_name = ((pv or {}).get("metadata") or {}).get("name")
    for obj in model_objects:
        key = ready_label_key(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
        subject = "%s %s" % (obj["kind"], obj["metadata"]["name"] if obj["kind"] == "ClusterBaseModel"
                             else "%s/%s" % (obj["metadata"].get("namespace"), obj["metadata"]["name"]))
        ready = sorted(n["metadata"]["name"] for n in nodes if _node_labels(n).get(key) == "Ready")
        if not ready:
            findings.append({"check": CHECK_LABELS, "severity": "info", "object": subject,
                             "message": "no node is labelled %s=Ready: OME's model agent has not reported this model "
                                        "(not installed, disabled, or still downloading)" % key})
            continue
        outside = [n for n in ready if n not in affinity]
        unconfirmed = [n for n in affinity if n not in ready]
        if outside:
            findings.append({"check": CHECK_LABELS, "severity": "warning", "object": subject,
                             "message": "OME labels %s Ready (%s) but PersistentVolume %s does not admit %s: serving "
                                        "pods that mount the volume cannot run there. Re-run model_storage so the "
                                        "volume follows the hosts that hold the model"
                                        % (", ".join(outside), key, pv_name, "it" if len(outside) == 1 else "them")})
        if unconfirmed:
            findings.append({"check": CHECK_LABELS, "severity": "warning", "object": subject,
                             "message": "PersistentVolume %s admits %s, where OME's model agent has not labelled the "
                                        "model Ready (%s): OME will not send its serving pods there"
                                        % (pv_name, ", ".join(unconfirmed), key)})
    return findings


def _subset_missing(want, have, path=""):
    """Paths of ``want`` (a dict tree) that ``have`` lacks or holds with another value."""
    missing = []
    for key, value in (want or {}).items():
        where = "%s.%s" % (path, key) if path else key
        if isinstance(value, dict) and isinstance((have or {}).get(key), dict):
            missing.extend(_subset_missing(value, have[key], where))
        elif not isinstance(have, dict) or have.get(key) != value:
            missing.append(where)
    return missing


def _related(finding, pv_name, namespace, pvc_name):
    objects = [finding.get("object") or {}] + list(finding.get("related") or [])
    for obj in objects:
        if obj.get("kind") == "PersistentVolume" and obj.get("name") == pv_name:
            return True
        if obj.get("kind") == "PersistentVolumeClaim" and (obj.get("namespace"), obj.get("name")) == (namespace, pvc_name):
            return True
    return False


def observed_problems(the_plan, inputs, observed):
    """Problems found after applying: fields the API dropped, an unbound pre-bound claim, the
    pv_affinity_info findings about the model volume, and the label check."""
    problems = []
    check_mode = observed.get("check_mode")
    back = dict(((o.get("kind"), (o.get("metadata") or {}).get("name")), o) for o in observed.get("models") or [])
    for obj in observed.get("planned_models") or []:
        name = obj["metadata"]["name"]
        got = back.get((obj["kind"], name))
        if check_mode:  # nothing was applied: what is read back is the object before the run
            continue
        if got is None:
            problems.append({"severity": "error", "subject": "%s %s" % (obj["kind"], name),
                             "message": "%s %s was applied but cannot be read back" % (obj["kind"], name)})
            continue
        dropped = _subset_missing(obj["spec"], got.get("spec"))
        if dropped:
            problems.append({"severity": "error", "subject": "%s %s" % (obj["kind"], name),
                             "message": "%s %s came back without spec.%s: the installed CRD prunes them (an older OME "
                                        "schema); upgrade OME's CRDs or use the mode it supports"
                                        % (obj["kind"], name, ", spec.".join(dropped))})
    pvc = observed.get("pvc") or {}
    if inputs.get("mode") == "pvc" and the_plan.get("objects") and not check_mode:
        phase = (pvc.get("status") or {}).get("phase")
        if phase != "Bound":
            subject = "PersistentVolumeClaim %s/%s" % (inputs["namespace"], inputs["pvc_name"])
            problems.append({"severity": "error", "subject": subject,
                             "message": "the pre-bound claim is %s, not Bound: OME's BaseModel controller waits for a "
                                        "Bound claim" % (phase or "missing")})
    # Every planned model, applied or not: without OME (no CRDs), no node has the labels either.
    # hostPath mode only: OME's agent skips pvc:// models and serving pods of those get no
    # node selector on the labels.
    planned = (the_plan.get("objects") or {}).get("models") or []
    if observed.get("pv") and planned and inputs.get("mode") == "hostPath":
        for finding in label_findings(planned, observed.get("nodes") or [], observed["pv"]):
            problems.append({"severity": finding["severity"], "subject": finding["object"],
                             "message": "%s: %s" % (finding["check"], finding["message"])})
    return problems


def report_section(the_plan, inputs, observed):
    """The report section ``model_storage`` (see validation_report.check_section)."""
    observed = observed or {}
    pv, pvc = observed.get("pv") or {}, observed.get("pvc") or {}
    back = dict(((o.get("kind"), (o.get("metadata") or {}).get("name")), o) for o in observed.get("models") or [])
    problems = [{"severity": "error", "subject": "model_storage", "message": m} for m in the_plan.get("problems") or []]
    problems += [{"severity": "warning", "subject": "model_storage", "message": m}
                 for m in (the_plan.get("warnings") or []) + list(observed.get("warnings") or [])]
    problems += [{"severity": "info", "subject": "model_storage", "message": m} for m in observed.get("infos") or []]
    problems += observed_problems(the_plan, inputs, observed)
    model_rows = []
    planned = dict((o["metadata"]["name"], o) for o in (the_plan.get("objects") or {}).get("models") or [])
    for entry in the_plan.get("models") or []:
        obj = planned.get(entry["name"]) or {}
        readback = back.get((obj.get("kind"), entry["name"]))
        state = ((readback or {}).get("status") or {}).get("state") or ("created" if readback else "not created")
        model_rows.append([entry["name"], obj.get("kind", ""), ", ".join(entry["holders"]) or "none",
                           ", ".join("%s: %s" % (h, s) for h, s in sorted(entry["states"].items()) if s != "held") or "-",
                           ((obj.get("spec") or {}).get("storage") or {}).get("storageUri", ""), state])
    tables = [{"title": "Models and the hosts that hold them",
               "columns": ["Model", "Kind", "Held on", "Not held on", "storageUri", "OME object"],
               "rows": model_rows}]
    if the_plan.get("objects"):
        tables.append({"title": "Model volume", "columns": ["Object", "Name", "Phase", "Nodes / volume"], "rows": [
            ["PersistentVolume", inputs["pv_name"], (pv.get("status") or {}).get("phase", "not created"),
             ", ".join(the_plan.get("nodes") or [])],
            ["PersistentVolumeClaim", "%s/%s" % (inputs["namespace"], inputs["pvc_name"]),
             (pvc.get("status") or {}).get("phase", "not created"), (pvc.get("spec") or {}).get("volumeName") or "-"],
        ]})
    placement = [f for f in observed.get("placement") or []
                 if _related(f, inputs.get("pv_name"), inputs.get("namespace"), inputs.get("pvc_name"))]
    if the_plan.get("objects"):
        # The findings themselves are counted once, by placement_validation; the role fails on errors.
        tables.append({"title": PLACEMENT_TABLE, "columns": ["Severity", "Check", "Object", "Message"],
                       "rows": [[f["severity"], f["check"], "%s %s" % ((f.get("object") or {}).get("kind"),
                                                                       (f.get("object") or {}).get("name")),
                                 f["message"]] for f in placement]})
    values = (the_plan.get("ome_values") or {}).get("modelAgent") or {}
    tables.append({"title": "OME install values", "columns": ["Value", "Setting"],
                   "rows": [["modelAgent.%s" % k, str(v).lower() if isinstance(v, bool) else str(v)]
                            for k, v in sorted(values.items())]})
    notes = list(the_plan.get("notes") or [])
    if observed.get("version"):
        notes.append("OME version in use: %s." % observed["version"])
    if observed.get("check_mode"):
        notes.append("Check mode: nothing was created; phases and objects are those found before the run.")
    if inputs.get("mode") == "pvc":
        notes.append("%s is not checked in pvc mode: OME's model agent does not label nodes for pvc:// models, and "
                     "their serving pods get no node selector on those labels (the volume's affinity places them)."
                     % CHECK_LABELS)
    notes.append("Mode %s, model directory %s. OME's own defaults differ by install route (/raid/models in its "
                 "kustomize manifests, /mnt/data/models in the ome-resources chart, /mnt/models for the binary) and "
                 "newer charts leave the model agent disabled: install OME with the values above."
                 % (inputs.get("mode"), inputs.get("dir")))
    return {"name": "model_storage", "title": "OME model storage", "tables": tables, "problems": problems,
            "notes": notes}
