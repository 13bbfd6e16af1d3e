# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The model volume, its claim, the StorageClass and OME's model objects, from the role's variables
and the hosts that hold the models (``objects_plan``); then the same plan against what the cluster
already has (``cluster_problems``), before anything is applied."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, volume_binding
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage.hosts import holdings
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage.inputs import (
    ACCESS_MODE, KINDS, MANAGED_BY, MANAGER, NO_PROVISIONER, OME_API_VERSION, VOLUME_LABEL, image_tag,
    input_problems, local_uri, parse_version, pvc_uri)

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


def objects_plan(inputs, inspections):
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


def affinity_values(pv):
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
        have_nodes = sorted(set(v for (_k, _o, vals) in affinity_values(have_pv) for v in vals))
        if affinity_values(have_pv) != affinity_values(want_pv):
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
