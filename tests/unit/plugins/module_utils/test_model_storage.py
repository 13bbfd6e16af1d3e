"""module_utils.model_storage: what model_storage_info reads, over two callables (no cluster, no mocks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import model_storage as ms


def node(name, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}}


# --- reading the cluster ---------------------------------------------------------------------

class Store(object):
    """Objects by API path, as the API server would answer a GET (None for a 404)."""

    def __init__(self, objects):
        self.objects = objects
        self.asked = []

    def get(self, path):
        self.asked.append(path)
        return self.objects.get(path)

    def list_all(self, path):
        self.asked.append(path)
        return self.objects.get(path, [])


QUERY = {"namespace": "serving", "pv_name": "pv", "pvc_name": "pvc", "storage_class": "local-storage",
         "ome_namespace": "ome", "ome_controller": "ome-controller-manager",
         "models": [{"kind": "ClusterBaseModel", "name": "llama"}, {"kind": "BaseModel", "name": "qwen", "namespace": "serving"}]}


def test_read_state_reads_what_exists_and_skips_kinds_without_a_crd():
    store = Store({
        "/api/v1/nodes": [node("gpu-a")],
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusterbasemodels.ome.io": {"kind": "CustomResourceDefinition"},
        "/api/v1/persistentvolumes/pv": {"kind": "PersistentVolume"},
        "/apis/ome.io/v1beta1/clusterbasemodels/llama": {"kind": "ClusterBaseModel"},
    })
    state = ms.read_state(store.get, store.list_all, QUERY)
    assert state["crds"] == {"BaseModel": False, "ClusterBaseModel": True}
    assert state["pv"] == {"kind": "PersistentVolume"} and state["pvc"] is None and state["storage_class"] is None
    assert state["controller"] is None and [n["metadata"]["name"] for n in state["nodes"]] == ["gpu-a"]
    assert state["models"] == [{"kind": "ClusterBaseModel"}]
    assert "/apis/ome.io/v1beta1/namespaces/serving/basemodels/qwen" not in store.asked
    assert "/apis/apps/v1/namespaces/ome/deployments/ome-controller-manager" in store.asked
    assert "/api/v1/namespaces/serving/persistentvolumeclaims/pvc" in store.asked
    assert "/api/v1/namespaces/serving" in store.asked and state["serving_namespace"] is None


def pod(name, claims, node="", phase="Running", **spec):
    spec = dict(spec, volumes=[{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]
                + [{"name": "cfg", "configMap": {"name": "x"}}])
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": "serving"}, "spec": spec, "status": {"phase": phase}}


def test_the_pods_using_the_claim_are_listed_by_name_node_and_phase_only():
    pods = [pod("b-serve", ["pvc"], "gpu-b", containers=[{"env": [{"name": "TOKEN", "value": "s3cret"}]}]),
            pod("a-serve", ["other", "pvc"], phase="Pending"), pod("c-other", ["other"], "gpu-a"), pod("d-none", [])]
    assert ms.claim_pods(pods, "pvc") == [{"name": "a-serve", "node": "", "phase": "Pending"},
                                          {"name": "b-serve", "node": "gpu-b", "phase": "Running"}]
    store = Store({"/api/v1/persistentvolumeclaims": None,
                   "/api/v1/namespaces/serving/persistentvolumeclaims/pvc": {"kind": "PersistentVolumeClaim"},
                   "/api/v1/namespaces/serving/pods": pods})
    state = ms.read_state(store.get, store.list_all, dict(QUERY, models=[]))
    assert [p["name"] for p in state["pods"]] == ["a-serve", "b-serve"] and "s3cret" not in repr(state["pods"])
    # No claim: its namespace's pods are not listed.
    store = Store({"/api/v1/namespaces/serving/pods": pods})
    assert ms.read_state(store.get, store.list_all, dict(QUERY, models=[]))["pods"] == []
    assert "/api/v1/namespaces/serving/pods" not in store.asked


def test_read_state_without_a_controller_name_does_not_ask_for_one():
    store = Store({})
    ms.read_state(store.get, store.list_all, dict(QUERY, ome_controller="", models=[]))
    assert not [p for p in store.asked if "deployments" in p]
