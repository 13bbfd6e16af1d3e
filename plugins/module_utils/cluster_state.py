# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster layer's state for the validation report, from objects read through the API.

- ``helm_release(obj)`` decodes one Helm release from the Secret (or ConfigMap) Helm 3 keeps
  it in. Helm's storage driver (helm/helm ``pkg/storage/driver/util.go``, ``encodeRelease``)
  stores ``base64(gzip(json(release)))`` in ``data.release`` (a ConfigMap holds that string; a
  Secret holds it base64-encoded once more, as every Secret value is) and labels the object
  ``owner=helm``, ``name``, ``status``, ``version`` (the revision). Only the release's
  identity and state are kept: its values (``config``) and manifest may hold secrets.
- ``helm_releases(objects)``: the newest revision of every release, and how many are kept.
- ``layer_objects(layer, crds, results)``: the LINSTOR, TensorFusion and OME objects of one
  layer with their conditions, from k8s_info results; a layer whose CustomResourceDefinitions
  are not installed is *absent*, which is not an error.
- ``claims(pvcs, pvs, pods)``: every PersistentVolumeClaim, the PV it is bound to and the
  node(s) holding it (the nodes of the pods using it, else the PV's pinned node).
- ``cluster_state(...)`` puts them together with the problems they show.

Pure: no I/O, no Kubernetes client; the unit tests feed it dicts (``read_raw`` reads through
whatever ``request`` callable it is given).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import gzip
import json

from ansible_collections.gpufleet.cluster.plugins.module_utils.k8s_read import list_all

# Kinds read per layer: (group/version, kind, plural); the version is the one the collection writes.
LAYERS = (
    {"name": "linstor", "title": "LINSTOR (Piraeus operator)",
     "kinds": (("piraeus.io/v1", "LinstorCluster", "linstorclusters"),
               ("piraeus.io/v1", "LinstorSatelliteConfiguration", "linstorsatelliteconfigurations"),
               ("piraeus.io/v1", "LinstorSatellite", "linstorsatellites"),
               ("piraeus.io/v1", "LinstorNodeConnection", "linstornodeconnections"))},
    {"name": "tensor_fusion", "title": "TensorFusion",
     "kinds": (("tensor-fusion.ai/v1", "TensorFusionCluster", "tensorfusionclusters"),
               ("tensor-fusion.ai/v1", "GPUPool", "gpupools"),
               ("tensor-fusion.ai/v1", "GPUNode", "gpunodes"))},
    {"name": "ome", "title": "OME models",
     "kinds": (("ome.io/v1beta1", "ClusterBaseModel", "clusterbasemodels"),
               ("ome.io/v1beta1", "BaseModel", "basemodels"))},
)
# The report section a layer role writes, per layer: its problems are not repeated here.
LAYER_SECTIONS = {"linstor": "storage", "tensor_fusion": "tensor_fusion", "ome": "model_storage"}
# Conditions whose False means the object does not work (piraeus-operator, TensorFusion).
HEALTH_CONDITIONS = ("Available", "Applied", "Configured", "Ready")
_GZIP_MAGIC = b"\x1f\x8b\x08"


class ReleaseDecodeError(ValueError):
    """A Helm release object whose data.release cannot be decoded."""


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def decode_release_payload(payload, kind="Secret"):
    """The release dict from ``data.release`` of a Helm Secret (``kind='Secret'``) or ConfigMap."""
    if not isinstance(payload, str) or not payload:
        raise ReleaseDecodeError("data.release is missing")
    try:
        raw = payload.encode("ascii")
        if kind == "Secret":
            raw = base64.b64decode(raw, validate=True)
        raw = base64.b64decode(raw, validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ReleaseDecodeError("data.release is not base64: %s" % exc)
    if raw[:3] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ReleaseDecodeError("data.release is not valid gzip: %s" % exc)
    try:
        release = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReleaseDecodeError("data.release is not a JSON release: %s" % exc)
    if not isinstance(release, dict):
        raise ReleaseDecodeError("data.release is not a JSON object")
    return release


def encode_release_payload(release, kind="Secret"):
    """What Helm stores for ``release`` (the inverse of decode_release_payload; for tests and fixtures)."""
    text = base64.b64encode(gzip.compress(json.dumps(release).encode("utf-8"))).decode("ascii")
    if kind == "Secret":
        text = base64.b64encode(text.encode("ascii")).decode("ascii")
    return text


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def helm_release(obj):
    """One release record from a Helm storage object: identity and state only, never values or manifest."""
    meta = _meta(obj)
    labels = meta.get("labels") or {}
    record = {"name": labels.get("name") or "", "namespace": meta.get("namespace") or "",
              "revision": _int(labels.get("version")), "status": labels.get("status") or "unknown",
              "chart": "", "chart_version": "", "app_version": "", "updated": "", "description": "",
              "storage": (obj.get("kind") or "Secret").lower(), "error": None}
    try:
        release = decode_release_payload((obj.get("data") or {}).get("release"), obj.get("kind") or "Secret")
    except ReleaseDecodeError as exc:
        record["error"] = str(exc)
        return record
    chart = (release.get("chart") or {}).get("metadata") or {}
    info = release.get("info") or {}
    record.update({
        "name": release.get("name") or record["name"],
        "namespace": release.get("namespace") or record["namespace"],
        "revision": _int(release.get("version"), record["revision"]),
        "status": info.get("status") or record["status"],
        "chart": chart.get("name") or "",
        "chart_version": chart.get("version") or "",
        "app_version": chart.get("appVersion") or "",
        "updated": info.get("last_deployed") or "",
        "description": info.get("description") or "",
    })
    return record


def helm_releases(objects):
    """The newest revision of each release (by namespace and name), sorted, with ``revisions`` kept."""
    newest = {}
    counts = {}
    for obj in objects or []:
        labels = _meta(obj).get("labels") or {}
        if labels.get("owner") != "helm":
            continue
        key = (_meta(obj).get("namespace") or "", labels.get("name") or "")
        counts[key] = counts.get(key, 0) + 1
        if key not in newest or _int(labels.get("version")) > _int((_meta(newest[key]).get("labels") or {}).get("version")):
            newest[key] = obj
    releases = []
    for key in sorted(newest):
        record = helm_release(newest[key])
        record["revisions"] = counts[key]
        releases.append(record)
    return releases


def _conditions(obj):
    out = []
    for c in ((obj.get("status") or {}).get("conditions") or []):
        if isinstance(c, dict):
            out.append({"type": c.get("type") or "", "status": c.get("status") or "", "reason": c.get("reason") or "",
                        "message": c.get("message") or ""})
    return out


def _object(kind, obj):
    meta = _meta(obj)
    status = obj.get("status") or {}
    record = {"kind": kind, "namespace": meta.get("namespace") or "", "name": meta.get("name") or "",
              "phase": status.get("phase") or status.get("state") or "", "conditions": _conditions(obj), "nodes": []}
    if kind in ("LinstorSatellite", "GPUNode"):
        record["nodes"] = [record["name"]]
    elif kind in ("BaseModel", "ClusterBaseModel"):
        record["nodes"] = sorted(status.get("nodesReady") or [])
        record["nodes_failed"] = sorted(status.get("nodesFailed") or [])
    return record


def crd_name(api_version, plural):
    """The CustomResourceDefinition's name of a kind: <plural>.<group>."""
    return "%s.%s" % (plural, api_version.split("/")[0])


def _served(crd, api_version):
    version = api_version.split("/")[-1]
    return any(v.get("name") == version and v.get("served") for v in ((crd or {}).get("spec") or {}).get("versions") or [])


def layer_objects(layer, crds, results):
    """One layer's state: which of its kinds the API serves, and their objects with their conditions.

    ``crds``: the CustomResourceDefinitions found (the truth about what is installed: a client's
    discovery cache may still list a kind whose CRD was removed). ``results``: k8s_info results,
    each with ``item: {api_version, kind}`` (a loop's); a kind without a result, or a skipped one,
    was not read. ``present`` is false when none of the layer's kinds is served.
    """
    by_name = dict((_meta(crd).get("name"), crd) for crd in crds or [])
    by_kind = {}
    for result in results or []:
        item = (result or {}).get("item") or {}
        by_kind[(item.get("api_version"), item.get("kind"))] = result
    kinds = []
    objects = []
    errors = []
    for api_version, kind, plural in layer["kinds"]:
        served = _served(by_name.get(crd_name(api_version, plural)), api_version)
        result = by_kind.get((api_version, kind)) or {}
        # A failed read counts when the kind is served, or when its CRD could not be read at all
        # (a refused CRD read says nothing of whether the layer is installed).
        if result.get("failed") and (served or crd_name(api_version, plural) not in by_name):
            errors.append("%s %s: %s" % (api_version, kind, result.get("msg") or "could not be read"))
            continue
        resources = (result.get("resources") or []) if served else []
        kinds.append({"api_version": api_version, "kind": kind, "served": served, "count": len(resources)})
        for obj in resources:
            objects.append(_object(kind, obj))
    present = any(k["served"] for k in kinds) or bool(errors)
    return {"name": layer["name"], "title": layer["title"], "present": present, "kinds": kinds,
            "objects": sorted(objects, key=lambda o: (o["kind"], o["namespace"], o["name"])), "errors": errors}


def layer_kinds():
    """Every kind to read, as ``{layer, api_version, kind, crd}`` (what the role loops over)."""
    return [{"layer": layer["name"], "api_version": api_version, "kind": kind, "crd": crd_name(api_version, plural)}
            for layer in LAYERS for api_version, kind, plural in layer["kinds"]]


def _pv_nodes(pv):
    spec = (pv or {}).get("spec") or {}
    terms = ((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or []
    nodes = set()
    for term in terms:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == "kubernetes.io/hostname" and expr.get("operator") == "In":
                nodes.update(expr.get("values") or [])
    return sorted(nodes)


def volume_source(pv):
    """Where a PersistentVolume's data is: ``(source, path)``, the path on its node for a ``local``
    or ``hostPath`` volume, else ``""`` (source ``csi:<driver>``, ``nfs`` or another volume type)."""
    spec = (pv or {}).get("spec") or {}
    for kind in ("local", "hostPath"):
        path = (spec.get(kind) or {}).get("path")
        if path:
            return kind, path
    if spec.get("csi"):
        return "csi:%s" % ((spec.get("csi") or {}).get("driver") or "?"), ""
    for kind in sorted(spec):
        if isinstance(spec.get(kind), dict) and kind not in ("capacity", "claimRef", "nodeAffinity", "mountOptions"):
            return kind, ""
    return "", ""


def claims(pvcs, pvs, pods):
    """Every claim with its phase, class, PV (its source and host path) and the node(s) it is on."""
    by_pv = dict((_meta(pv).get("name"), pv) for pv in pvs or [])
    users = {}
    for pod in pods or []:
        if ((pod.get("status") or {}).get("phase")) in ("Succeeded", "Failed"):
            continue
        meta = _meta(pod)
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                users.setdefault((meta.get("namespace"), claim), []).append(
                    (meta.get("name"), (pod.get("spec") or {}).get("nodeName") or ""))
    out = []
    for pvc in pvcs or []:
        meta = _meta(pvc)
        spec = pvc.get("spec") or {}
        volume = spec.get("volumeName") or ""
        pv = by_pv.get(volume) if volume else None
        pod_list = sorted(users.get((meta.get("namespace"), meta.get("name")), []))
        pod_nodes = sorted(set(n for _p, n in pod_list if n))
        pv_nodes = _pv_nodes(pv)
        source, path = volume_source(pv)
        out.append({
            "namespace": meta.get("namespace") or "", "name": meta.get("name") or "",
            "phase": (pvc.get("status") or {}).get("phase") or "",
            "storage_class": spec.get("storageClassName") or "",
            "capacity": ((pvc.get("status") or {}).get("capacity") or {}).get("storage")
            or ((spec.get("resources") or {}).get("requests") or {}).get("storage") or "",
            "volume_mode": spec.get("volumeMode") or "Filesystem",
            "volume": volume,
            "volume_found": pv is not None if volume else None,
            "volume_source": source,
            "volume_path": path,
            "pv_nodes": pv_nodes,
            "pods": [p for p, _n in pod_list],
            "nodes": pod_nodes or pv_nodes,
        })
    return sorted(out, key=lambda c: (c["namespace"], c["name"]))


def _problem(severity, subject, message):
    return {"severity": severity, "subject": subject, "message": message}


def _covered(subject_words, covered):
    return any(word and word in text for word in subject_words for text in covered)


def cluster_state(raw):
    """The report's ``cluster`` part from what the validation_report role read.

    ``raw``: ``{"error": str or None, "helm": [Secret or ConfigMap, ...], "crds": [the layers'
    CustomResourceDefinitions found], "kinds": [k8s_info result per kind, each with ``item:
    {api_version, kind}``], "pvcs": [...], "pvs": [...], "pods": [...]}``. An ``error`` (the API could not be read) leaves everything empty.
    """
    raw = raw or {}
    if raw.get("error"):
        return {"read": False, "error": raw["error"], "releases": [], "layers": [], "claims": []}
    return {"read": True, "error": None,
            "releases": helm_releases(raw.get("helm")),
            "layers": [layer_objects(layer, raw.get("crds"), raw.get("kinds")) for layer in LAYERS],
            "claims": claims(raw.get("pvcs"), raw.get("pvs"), raw.get("pods"))}


def cluster_problems(cluster, sections=None):
    """The problems the cluster's state shows, as ``{severity, subject, message}``.

    ``sections``: the layer roles' report sections; what they already say is not repeated (a
    release named in one of their problems, the objects of a layer whose section is there).
    """
    problems = []
    if not cluster or cluster.get("read") is None:
        return problems
    if not cluster["read"]:
        problems.append(_problem("error", "cluster", "The cluster's state could not be read: %s" % cluster["error"]))
        return problems
    covered = [(p.get("subject") or "") + " " + (p.get("message") or "")
               for s in sections or [] for p in s.get("problems") or []]
    names = set(s.get("name") for s in sections or [])
    for r in cluster["releases"]:
        subject = "helm release %s/%s" % (r["namespace"], r["name"])
        if r["error"]:
            problems.append(_problem("warning", subject, "revision %d could not be decoded (%s); its status label is %s"
                                     % (r["revision"], r["error"], r["status"])))
        elif r["status"] != "deployed" and not _covered([r["name"]], covered):
            severity = "error" if r["status"] == "failed" else "warning"
            problems.append(_problem(severity, subject, "revision %d is %s, not deployed (%s); fix what the description "
                                     "says and upgrade, or roll back with helm rollback %s <revision> -n %s"
                                     % (r["revision"], r["status"], r["description"] or "no description",
                                        r["name"], r["namespace"])))
    for layer in cluster["layers"]:
        for error in layer["errors"]:
            problems.append(_problem("error", layer["title"], "could not be read: %s" % error))
        if LAYER_SECTIONS.get(layer["name"]) in names:
            continue
        for obj in layer["objects"]:
            subject = "%s %s" % (obj["kind"], ("%s/%s" % (obj["namespace"], obj["name"])) if obj["namespace"] else obj["name"])
            for c in obj["conditions"]:
                if c["type"] in HEALTH_CONDITIONS and c["status"] == "False":
                    problems.append(_problem("warning", subject, "condition %s is False (%s): %s; see the operator's logs"
                                             % (c["type"], c["reason"] or "no reason", c["message"] or "no message")))
            if obj.get("nodes_failed"):
                problems.append(_problem("warning", subject, "failed on nodes %s; see the model agent's logs there"
                                         % ", ".join(obj["nodes_failed"])))
    for c in cluster["claims"]:
        if c["phase"] == "Lost":
            problems.append(_problem("error", "claim %s/%s" % (c["namespace"], c["name"]),
                                     "Lost: its PersistentVolume %s is gone; restore the PV or recreate the claim"
                                     % (c["volume"] or "?")))
    return problems


# Reading the cluster: one process lists everything the report needs, through any
# ``request(path, query)`` callable (k8s_read.api_request over kubernetes.core's client in the
# module; a dict of canned answers in the unit tests). Only cluster_state()'s summary leaves the
# module: no Secret, no pod spec, no release's values ever appear in a task result.
HELM_KINDS = (("Secret", "secrets"), ("ConfigMap", "configmaps"))
STORAGE_PATHS = (("pvcs", "/api/v1/persistentvolumeclaims"), ("pvs", "/api/v1/persistentvolumes"), ("pods", "/api/v1/pods"))
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def _status(exc):
    return getattr(exc, "status", None)


def _read_error(what, exc, rbac):
    status = _status(exc)
    hint = " The credentials need RBAC %s." % rbac if status == 403 else ""
    return "listing %s failed%s: %s.%s" % (what, " (HTTP %s)" % status if status else "", getattr(exc, "reason", None) or exc, hint)


def read_raw(request, page_size=500, helm_namespaces=None):
    """What cluster_state() takes, read through ``request``.

    Helm's release records (Secrets and ConfigMaps labelled ``owner=helm``) are read in
    ``helm_namespaces`` only when given (RBAC on Secrets in those namespaces is then enough),
    else in every namespace. A CustomResourceDefinition that is not there (HTTP 404) makes its
    kind not served; a kind that cannot be listed is reported as a failed read of that kind. A
    failed read of Helm's records or of the claims, volumes and pods leaves only ``error``.
    """
    raw = {"error": None, "helm": [], "crds": [], "kinds": [], "pvcs": [], "pvs": [], "pods": []}
    selector = [("labelSelector", "owner=helm")]
    what = "Helm's release records"
    try:
        for kind, plural in HELM_KINDS:
            for namespace in helm_namespaces or [None]:
                path = "/api/v1/namespaces/%s/%s" % (namespace, plural) if namespace else "/api/v1/%s" % plural
                what = "%s labelled owner=helm%s" % (plural, " in namespace %s" % namespace if namespace else "")
                # A list's items carry no kind: the decoding depends on it (a Secret's value is base64 once more).
                raw["helm"].extend(dict(obj, kind=kind) for obj in list_all(request, path, page_size, selector))
        for key, path in STORAGE_PATHS:
            what = path.rsplit("/", 1)[1]
            raw[key] = list_all(request, path, page_size)
    except Exception as exc:  # pylint: disable=broad-except  # the client raises many types; each becomes one clear message
        scope = "" if helm_namespaces and "namespace" in what else " (cluster-wide)"
        return {"error": _read_error(what, exc, "list on %s%s" % (what.split()[0], scope))}
    for kind_spec in layer_kinds():
        try:
            crd = request("%s/%s" % (CRD_PATH, kind_spec["crd"]), [])
        except Exception as exc:  # pylint: disable=broad-except
            if _status(exc) == 404:
                continue
            raw["kinds"].append({"item": kind_spec, "failed": True,
                                 "msg": _read_error("customresourcedefinition %s" % kind_spec["crd"], exc,
                                                    "get on customresourcedefinitions.apiextensions.k8s.io")})
            continue
        raw["crds"].append(crd)
        if not _served(crd, kind_spec["api_version"]):
            continue
        plural = kind_spec["crd"].split(".", 1)[0]
        try:
            resources = list_all(request, "/apis/%s/%s" % (kind_spec["api_version"], plural), page_size)
        except Exception as exc:  # pylint: disable=broad-except
            raw["kinds"].append({"item": kind_spec, "failed": True,
                                 "msg": _read_error(kind_spec["crd"], exc, "list on %s (cluster-wide)" % kind_spec["crd"])})
            continue
        raw["kinds"].append({"item": kind_spec, "resources": resources})
    return raw
