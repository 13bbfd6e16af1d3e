# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the model_storage_info module reads for the model_storage role: the API paths of the
objects named (``read_paths``) and the reading itself over two callables (``read_state``), so that
the unit tests need no cluster and no mocks. The role's decisions are controller-side, in
plugins/plugin_utils/model_storage/."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


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


def claim_pods(pods, claim):
    """The pods that mount ``claim`` (of the namespace they were listed in), as ``{name, node,
    phase}`` sorted by name: nothing else of a pod (its spec may carry another team's values)."""
    out = []
    for pod in pods or []:
        spec = pod.get("spec") or {}
        if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in spec.get("volumes") or []):
            out.append({"name": (pod.get("metadata") or {}).get("name") or "", "node": spec.get("nodeName") or "",
                        "phase": (pod.get("status") or {}).get("phase") or ""})
    return sorted(out, key=lambda p: p["name"])


def read_state(get, list_all, query):
    """Read what ``query`` names with ``get(path)`` (None for 404) and ``list_all(path)``.

    Returns {nodes, crds: {kind: bool}, controller, serving_namespace, storage_class, pv, pvc,
    models: [found objects], pods: [the pods using the claim, see claim_pods]}; what does not
    exist is None (or left out of ``models``). The claim's namespace's pods are listed only
    when the claim exists.
    """
    paths = read_paths(query)
    state = {"nodes": list_all(paths.pop("nodes")), "crds": {}, "controller": None, "serving_namespace": None,
             "storage_class": None, "pv": None, "pvc": None, "models": [], "pods": []}
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
    if state["pvc"] is not None:
        state["pods"] = claim_pods(list_all("/api/v1/namespaces/%s/pods" % query["namespace"]), query["pvc_name"])
    return state
