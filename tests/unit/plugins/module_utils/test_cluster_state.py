"""The cluster layer's state: Helm release records decoded as Helm stores them, layers present
or absent, claims and the nodes they are on."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import gzip
import json

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils import cluster_state as cs


def release(name, revision, status, chart="hello", version="0.1.0", namespace="apps"):
    return {"name": name, "namespace": namespace, "version": revision,
            "info": {"status": status, "last_deployed": "2026-01-01T00:00:00Z", "description": "Install complete"},
            "chart": {"metadata": {"name": chart, "version": version, "appVersion": "1.0"}},
            "config": {"password": "s3cret"}, "manifest": "apiVersion: v1\nkind: Secret\n"}


def secret(rel, kind="Secret", payload=None):
    labels = {"owner": "helm", "name": rel["name"], "status": rel["info"]["status"], "version": str(rel["version"])}
    return {"kind": kind, "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (rel["name"], rel["version"]),
                                       "namespace": rel["namespace"], "labels": labels},
            "data": {"release": payload if payload is not None else cs.encode_release_payload(rel, kind)}}


def test_a_secret_is_decoded_as_helm_stores_it():
    rel = release("web", 3, "deployed")
    # Built by hand the way helm's encodeRelease does, then base64 once more as a Secret's data.
    helm_text = base64.b64encode(gzip.compress(json.dumps(rel).encode())).decode()
    obj = secret(rel, payload=base64.b64encode(helm_text.encode()).decode())
    record = cs.helm_release(obj)
    assert record == {"name": "web", "namespace": "apps", "revision": 3, "status": "deployed", "chart": "hello",
                      "chart_version": "0.1.0", "app_version": "1.0", "updated": "2026-01-01T00:00:00Z",
                      "description": "Install complete", "storage": "secret", "error": None}
    assert "s3cret" not in json.dumps(record) and "manifest" not in record


def test_configmap_and_uncompressed_payloads():
    rel = release("cm", 1, "deployed")
    assert cs.helm_release(secret(rel, kind="ConfigMap"))["chart"] == "hello"
    plain = base64.b64encode(json.dumps(rel).encode()).decode()  # Helm 3 before gzip, or a hand-made record
    assert cs.decode_release_payload(plain, "ConfigMap")["name"] == "cm"


@pytest.mark.parametrize("payload, message", [
    ("", "missing"),
    ("not base64!", "not base64"),
    (base64.b64encode(base64.b64encode(b"\x1f\x8b\x08garbage")).decode(), "not valid gzip"),
    (base64.b64encode(base64.b64encode(b"[1, 2]")).decode(), "not a JSON object"),
    (base64.b64encode(base64.b64encode(b"{no json")).decode(), "not a JSON release"),
])
def test_undecodable_records_keep_their_labels(payload, message):
    record = cs.helm_release(secret(release("bad", 4, "failed"), payload=payload))
    assert message in record["error"]
    assert (record["name"], record["revision"], record["status"], record["chart"]) == ("bad", 4, "failed", "")


def test_newest_revision_per_release():
    objects = [secret(release("web", 1, "superseded")), secret(release("web", 10, "deployed")),
               secret(release("web", 2, "superseded")), secret(release("web", 1, "deployed", namespace="other")),
               {"kind": "Secret", "metadata": {"name": "x", "namespace": "apps", "labels": {"owner": "someone"}}}]
    releases = cs.helm_releases(objects)
    assert [(r["namespace"], r["name"], r["revision"], r["revisions"]) for r in releases] == [
        ("apps", "web", 10, 3), ("other", "web", 1, 1)]


def k8s_result(api_version, kind, resources=None, failed=False):
    result = {"item": {"api_version": api_version, "kind": kind}, "resources": resources or [], "api_found": True}
    if failed:
        result.update(failed=True, msg="Forbidden")
    return result


def crd(name, version, served=True):
    return {"metadata": {"name": name}, "spec": {"versions": [{"name": version, "served": served}]}}


def test_layers_present_absent_and_unreadable():
    satellite = {"metadata": {"name": "gpu-1"}, "status": {"conditions": [
        {"type": "Available", "status": "False", "reason": "Down", "message": "no pod"}]}}
    model = {"metadata": {"name": "llama", "namespace": "ml"},
             "status": {"state": "Ready", "nodesReady": ["gpu-2", "gpu-1"], "nodesFailed": ["gpu-3"]}}
    results = [k8s_result("piraeus.io/v1", "LinstorCluster", []), k8s_result("piraeus.io/v1", "LinstorSatellite", [satellite]),
               # A stale discovery cache: k8s_info answers for a kind whose CRD is gone.
               k8s_result("tensor-fusion.ai/v1", "TensorFusionCluster", [{"metadata": {"name": "ghost"}}]),
               k8s_result("ome.io/v1beta1", "BaseModel", [model]),
               k8s_result("ome.io/v1beta1", "ClusterBaseModel", failed=True)]
    crds = [crd("linstorclusters.piraeus.io", "v1"), crd("linstorsatellites.piraeus.io", "v1"),
            crd("linstornodeconnections.piraeus.io", "v1", served=False),
            crd("basemodels.ome.io", "v1beta1"), crd("clusterbasemodels.ome.io", "v1beta1")]
    state = cs.cluster_state({"error": "", "helm": [], "crds": crds, "kinds": results, "pvcs": [], "pvs": [], "pods": []})
    linstor, tf, ome = state["layers"]
    assert linstor["present"] and [o["name"] for o in linstor["objects"]] == ["gpu-1"]
    assert linstor["objects"][0]["nodes"] == ["gpu-1"] and linstor["objects"][0]["conditions"][0]["status"] == "False"
    assert [(k["kind"], k["served"], k["count"]) for k in linstor["kinds"]] == [
        ("LinstorCluster", True, 0), ("LinstorSatelliteConfiguration", False, 0), ("LinstorSatellite", True, 1),
        ("LinstorNodeConnection", False, 0)]
    assert tf["present"] is False and tf["objects"] == [] and tf["errors"] == []
    assert ome["objects"][0]["phase"] == "Ready" and ome["objects"][0]["nodes"] == ["gpu-1", "gpu-2"]
    assert ome["errors"] == ["ome.io/v1beta1 ClusterBaseModel: Forbidden"]
    problems = cs.cluster_problems(state)
    assert [(p["severity"], p["subject"]) for p in problems] == [
        ("warning", "LinstorSatellite gpu-1"), ("error", "OME models"), ("warning", "BaseModel ml/llama")]
    # The layer roles' sections say it already: only the read error stays.
    sections = [{"name": "storage", "problems": []}, {"name": "model_storage", "problems": []}]
    assert [p["subject"] for p in cs.cluster_problems(state, sections)] == ["OME models"]


def test_claims_and_their_nodes():
    pvcs = [{"metadata": {"namespace": "a", "name": "data"}, "spec": {"volumeName": "pv-1", "storageClassName": "local"},
             "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}},
            {"metadata": {"namespace": "a", "name": "cache"}, "spec": {"storageClassName": "linstor",
                                                                       "resources": {"requests": {"storage": "5Gi"}}},
             "status": {"phase": "Pending"}},
            {"metadata": {"namespace": "b", "name": "gone"}, "spec": {"volumeName": "pv-x", "volumeMode": "Block"},
             "status": {"phase": "Lost"}}]
    pvs = [{"metadata": {"name": "pv-1"}, "spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["gpu-1"]}]}]}}}}]

    def pod(name, claim, phase, node=None):
        spec = {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]}
        if node:
            spec["nodeName"] = node
        return {"metadata": {"namespace": "a", "name": name}, "spec": spec, "status": {"phase": phase}}

    pods = [pod("p", "data", "Running", "gpu-1"), pod("done", "data", "Succeeded", "gpu-9"), pod("waiting", "cache", "Pending")]
    claims = cs.claims(pvcs, pvs, pods)
    assert [(c["namespace"], c["name"], c["phase"], c["volume"], c["volume_found"], c["nodes"], c["pods"], c["capacity"])
            for c in claims] == [
        ("a", "cache", "Pending", "", None, [], ["waiting"], "5Gi"),
        ("a", "data", "Bound", "pv-1", True, ["gpu-1"], ["p"], "1Gi"),
        ("b", "gone", "Lost", "pv-x", False, [], [], "")]
    assert claims[2]["volume_mode"] == "Block" and claims[1]["pv_nodes"] == ["gpu-1"]
    # pv-1 has no volume source in this fixture; a missing PV has none either.
    assert [(c["volume_source"], c["volume_path"]) for c in claims] == [("", ""), ("", ""), ("", "")]
    state = {"read": True, "error": None, "releases": [], "layers": [], "claims": claims}
    assert [p["subject"] for p in cs.cluster_problems(state)] == ["claim b/gone"]


@pytest.mark.parametrize("spec, expected", [
    ({"local": {"path": "/raid/linstor-standin"}}, ("local", "/raid/linstor-standin")),
    ({"hostPath": {"path": "/raid/r13c", "type": ""}}, ("hostPath", "/raid/r13c")),
    ({"csi": {"driver": "linstor.csi.linbit.com", "volumeHandle": "pvc-1"}}, ("csi:linstor.csi.linbit.com", "")),
    ({"nfs": {"server": "10.0.0.1", "path": "/export"}, "capacity": {"storage": "1Gi"}}, ("nfs", "")),
    ({"capacity": {"storage": "1Gi"}, "claimRef": {"name": "x"}}, ("", "")),
])
def test_a_volumes_source_and_its_path_on_the_node(spec, expected):
    assert cs.volume_source({"metadata": {"name": "pv"}, "spec": spec}) == expected
    pvc = {"metadata": {"namespace": "a", "name": "c"}, "spec": {"volumeName": "pv"}, "status": {"phase": "Bound"}}
    claim = cs.claims([pvc], [{"metadata": {"name": "pv"}, "spec": spec}], [])[0]
    assert (claim["volume_source"], claim["volume_path"]) == expected


def test_unreadable_cluster():
    state = cs.cluster_state({"error": "connection refused", "helm": [secret(release("x", 1, "deployed"))]})
    assert state == {"read": False, "error": "connection refused", "releases": [], "layers": [], "claims": []}
    assert cs.cluster_problems(state)[0]["severity"] == "error"
    assert cs.cluster_problems(None) == [] and cs.cluster_problems({"read": None}) == []


def test_release_problems():
    rels = [cs.helm_release(secret(release(n, 2, s))) for n, s in
            (("ok", "deployed"), ("bad", "failed"), ("stuck", "pending-upgrade"))]
    rels.append(cs.helm_release(secret(release("odd", 1, "deployed"), payload="@@")))
    state = {"read": True, "error": None, "releases": rels, "layers": [], "claims": []}
    assert [(p["severity"], p["subject"]) for p in cs.cluster_problems(state)] == [
        ("error", "helm release apps/bad"), ("warning", "helm release apps/stuck"), ("warning", "helm release apps/odd")]
    assert "helm rollback bad <revision> -n apps" in cs.cluster_problems(state)[0]["message"]


class ApiError(Exception):
    """What kubernetes' dynamic client raises: an HTTP status and a reason."""

    def __init__(self, status, reason):
        super(ApiError, self).__init__(reason)
        self.status, self.reason = status, reason


class FakeApi(object):
    """A read-only API server as a dict: path -> the items listed there (paged by ``limit``), or an ApiError."""

    def __init__(self, objects):
        self.objects, self.calls = objects, []

    def __call__(self, path, query):
        query = dict(query)
        self.calls.append((path, query.get("labelSelector")))
        if path not in self.objects:
            raise ApiError(404, "Not Found")
        found = self.objects[path]
        if isinstance(found, Exception):
            raise found
        if isinstance(found, dict):  # a single object (a GET by name)
            return found
        if query.get("labelSelector") == "owner=helm":
            found = [o for o in found if (o["metadata"].get("labels") or {}).get("owner") == "helm"]
        start = int(query.get("continue") or 0)
        end = start + int(query["limit"])
        return {"items": found[start:end], "metadata": {"continue": str(end) if end < len(found) else None}}


def crd_of(kind_spec, served=True):
    return crd(kind_spec["crd"], kind_spec["api_version"].split("/")[1], served)


def api_objects():
    kinds = dict((k["kind"], k) for k in cs.layer_kinds())
    without_kind = dict(secret(release("web", 1, "deployed")))
    del without_kind["kind"]  # a list's items carry no kind
    cm = dict(secret(release("cm", 2, "deployed", namespace="other"), kind="ConfigMap"))
    del cm["kind"]
    pod = {"metadata": {"name": "p", "namespace": "apps"},
           "spec": {"nodeName": "n1", "volumes": [{"persistentVolumeClaim": {"claimName": "data"}}],
                    "containers": [{"name": "c", "env": [{"name": "TOKEN", "value": "hunter2"}]}]},
           "status": {"phase": "Running"}}
    lc = kinds["LinstorCluster"]
    return {
        "/api/v1/secrets": [without_kind, {"metadata": {"name": "other-team", "namespace": "apps", "labels": {}},
                                           "data": {"password": "aHVudGVyMg=="}}],
        "/api/v1/configmaps": [cm],
        "/api/v1/namespaces/apps/secrets": [without_kind],
        "/api/v1/namespaces/apps/configmaps": [],
        "/api/v1/persistentvolumeclaims": [{"metadata": {"name": "data", "namespace": "apps"},
                                            "spec": {"volumeName": "pv1", "storageClassName": "fast"},
                                            "status": {"phase": "Bound"}},
                                           {"metadata": {"name": "logs", "namespace": "apps"}, "spec": {},
                                            "status": {"phase": "Pending"}}],
        "/api/v1/persistentvolumes": [{"metadata": {"name": "pv1"}, "spec": {}}],
        "/api/v1/pods": [pod],
        cs.CRD_PATH + "/" + lc["crd"]: crd_of(lc),
        "/apis/piraeus.io/v1/linstorclusters": [{"metadata": {"name": "linstorcluster"},
                                                 "status": {"conditions": [{"type": "Available", "status": "False"}]}}],
        cs.CRD_PATH + "/" + kinds["GPUPool"]["crd"]: crd_of(kinds["GPUPool"], served=False),
        cs.CRD_PATH + "/" + kinds["GPUNode"]["crd"]: ApiError(403, "Forbidden"),
        cs.CRD_PATH + "/" + kinds["BaseModel"]["crd"]: crd_of(kinds["BaseModel"]),
        "/apis/ome.io/v1beta1/basemodels": ApiError(500, "Internal Server Error"),
    }


def test_read_raw_reads_every_part_in_pages_and_only_the_summary_leaves():
    api = FakeApi(api_objects())
    state = cs.cluster_state(cs.read_raw(api, page_size=1))
    assert state["read"] is True and state["error"] is None
    # The ConfigMap record decoded as a ConfigMap: the listed items' kind was restored.
    assert [(r["namespace"], r["name"], r["storage"], r["error"]) for r in state["releases"]] == [
        ("apps", "web", "secret", None), ("other", "cm", "configmap", None)]
    layers = dict((layer["name"], layer) for layer in state["layers"])
    assert layers["linstor"]["present"] and [o["name"] for o in layers["linstor"]["objects"]] == ["linstorcluster"]
    # A CRD that does not serve the version read is not a served kind; a refused read is an error with its fix.
    tf = layers["tensor_fusion"]
    assert [k["kind"] for k in tf["kinds"] if k["served"]] == [] and len(tf["errors"]) == 1
    assert "HTTP 403" in tf["errors"][0] and "RBAC get on customresourcedefinitions" in tf["errors"][0]
    assert "HTTP 500" in layers["ome"]["errors"][0]
    assert [(c["name"], c["pods"], c["nodes"]) for c in state["claims"]] == [("data", ["p"], ["n1"]), ("logs", [], [])]
    # Nothing of a Secret's data, a release's values or a pod's spec is in the summary.
    text = json.dumps(state)
    assert "hunter2" not in text and "aHVudGVyMg" not in text and "s3cret" not in text and "TOKEN" not in text
    # Every list is paged: the two claims took two requests of one.
    assert [c for c in api.calls if c[0] == "/api/v1/persistentvolumeclaims"] == [("/api/v1/persistentvolumeclaims", None)] * 2


def test_read_raw_reads_helm_records_only_in_the_namespaces_named():
    api = FakeApi(api_objects())
    state = cs.cluster_state(cs.read_raw(api, helm_namespaces=["apps"]))
    assert [r["name"] for r in state["releases"]] == ["web"]
    assert not [c for c in api.calls if c[0] in ("/api/v1/secrets", "/api/v1/configmaps")]


@pytest.mark.parametrize("path, namespaces, message", [
    ("/api/v1/secrets", None, "listing secrets labelled owner=helm failed (HTTP 403): Forbidden. The credentials need RBAC "
                              "list on secrets (cluster-wide)."),
    ("/api/v1/namespaces/apps/configmaps", ["apps"], "listing configmaps labelled owner=helm in namespace apps failed "
                                                     "(HTTP 403): Forbidden. The credentials need RBAC list on configmaps."),
    ("/api/v1/pods", None, "listing pods failed (HTTP 403): Forbidden. The credentials need RBAC list on pods (cluster-wide)."),
])
def test_a_refused_read_leaves_the_reason_and_the_rule_to_grant(path, namespaces, message):
    objects = api_objects()
    objects[path] = ApiError(403, "Forbidden")
    state = cs.cluster_state(cs.read_raw(FakeApi(objects), helm_namespaces=namespaces))
    assert state == {"read": False, "error": message, "releases": [], "layers": [], "claims": []}
