"""Snapshot loading: accepted shapes, and one clear error naming file and place for malformed ones."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import random

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.snapshot import (
    SnapshotError,
    _add_item_checked,
    add_item,
    empty_inventory,
    load_snapshot_files,
    load_text,
)

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-ucsd-1", "labels": {"topology.kubernetes.io/zone": "ucsd"}}}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ml"},
       "spec": {"nodeName": "gpu-ucsd-1", "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}]}}
PV = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
      "spec": {"local": {"path": "/raid/models"}, "claimRef": {"namespace": "ml", "name": "c"},
               "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                   {"key": "kubernetes.io/hostname", "operator": "In", "values": ["gpu-ucsd-1"]}]}]}}}}
PVC = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "ml"},
       "spec": {"volumeName": "pv", "storageClassName": None}, "status": {"phase": "Bound"}}
SC = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local"},
      "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"}


def klist(*items):
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": list(items)}


def load(doc, source="snap.json"):
    return load_text(json.dumps(doc), source)


def error_of(text, source="snap.json"):
    with pytest.raises(SnapshotError) as exc:
        load_text(text if isinstance(text, str) else json.dumps(text), source)
    message = str(exc.value)
    assert message.startswith("snapshot %s: " % source)
    assert "Traceback" not in message
    return message


def test_kubectl_list_with_every_kind():
    inv = load(klist(NODE, PV, PVC, POD, SC))
    assert [len(inv[k]) for k in ("nodes", "pvs", "pvcs", "pods", "storageclasses")] == [1, 1, 1, 1, 1]


def test_typed_api_list_items_without_kind():
    node = dict(NODE)
    del node["kind"]
    inv = load({"apiVersion": "v1", "kind": "NodeList", "items": [node]})
    assert inv["nodes"][0]["metadata"]["name"] == "gpu-ucsd-1"


def test_single_object():
    assert len(load(SC)["storageclasses"]) == 1


def test_yaml_with_several_documents():
    text = "---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: a}\n---\n" \
           "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: s}\nprovisioner: x\n"
    inv = load_text(text, "snap.yaml")
    assert len(inv["nodes"]) == 1 and len(inv["storageclasses"]) == 1


def test_files_are_merged_and_duplicates_count_once(tmp_path):
    a = tmp_path / "a.json"
    b = tmp_path / "b.yaml"
    a.write_text(json.dumps(klist(NODE, POD)))
    b.write_text("apiVersion: v1\nkind: List\nitems:\n- %s\n- %s\n" % (json.dumps(NODE), json.dumps(SC)))
    inv = load_snapshot_files([str(a), str(b)])
    assert len(inv["nodes"]) == 1 and len(inv["pods"]) == 1 and len(inv["storageclasses"]) == 1


def _pv(uid, created, host):
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": "pvc-1", "uid": uid, "creationTimestamp": created},
            "spec": {"claimRef": {"namespace": "ml", "name": "cache", "uid": "claim-uid"},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [
                         {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}}}}


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_a_replaced_object_is_the_newest_incarnation_whatever_the_file_order(tmp_path, order):
    # LINSTOR's affinity controller deletes a PV and creates it again: same name and claim,
    # new uid and creation time, new affinity. Snapshots from before and after hold both.
    old = _pv("uid-old", "2025-01-01T00:00:00Z", "gpu-ucsd-1")
    new = _pv("uid-new", "2025-03-01T12:00:00Z", "gpu-ucsd-2")
    first, second = (old, new) if order == "old-first" else (new, old)
    paths = []
    for i, obj in enumerate((first, second)):
        path = tmp_path / ("%d.json" % i)
        path.write_text(json.dumps(klist(obj)))
        paths.append(str(path))
    inv = load_snapshot_files(paths)
    assert [p["metadata"]["uid"] for p in inv["pvs"]] == ["uid-new"]


def test_the_same_object_read_twice_is_the_last_read(tmp_path):
    early = _pv("uid-1", "2025-01-01T00:00:00Z", "gpu-ucsd-1")
    late = _pv("uid-1", "2025-01-01T00:00:00Z", "gpu-ucsd-2")
    paths = []
    for i, obj in enumerate((early, late)):
        path = tmp_path / ("%d.json" % i)
        path.write_text(json.dumps(klist(obj)))
        paths.append(str(path))
    inv = load_snapshot_files(paths)
    assert len(inv["pvs"]) == 1
    assert inv["pvs"][0]["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["gpu-ucsd-2"]


# -- malformed --------------------------------------------------------------------------------
def test_truncated_json():
    text = json.dumps(klist(NODE, POD))[:-40]
    message = error_of(text)
    assert "not valid JSON at line 1 column" in message and "truncated" in message


@pytest.mark.parametrize("keep", [0.1, 0.25, 0.5, 0.77, 0.9, 0.999])
def test_truncated_pretty_json_anywhere(keep):
    text = json.dumps(klist(NODE, PV, PVC, POD, SC), indent=4)
    message = error_of(text[:int(len(text) * keep)])
    assert "not valid JSON at line" in message and "truncated" in message


def test_json_syntax_error_names_line_and_column():
    message = error_of('{\n  "kind": "List",\n  "items": [,]\n}\n')
    assert "line 3 column" in message


def test_invalid_yaml_names_line():
    message = error_of("kind: List\nitems:\n  - a: [1, 2\n", "snap.yaml")
    assert "not valid YAML at line" in message


def test_empty_file():
    assert "empty" in error_of("   \n")


@pytest.mark.parametrize(
    "doc, expected",
    [
        ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}, "kind 'Deployment'"),
        ({"items": []}, "kind None"),
        ([NODE], "top level must be a v1 List"),
        (klist({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}), "items[0]: kind is 'Service'"),
        (klist(NODE, {"metadata": {"name": "x"}}), "items[1]: kind is missing"),
        (klist("a string"), "items[0] must be a Kubernetes object"),
        ({"kind": "List", "items": {"a": 1}}, "items of the List must be a list"),
        (klist(dict(NODE, apiVersion="v2")), "apiVersion is 'v2'"),
    ],
)
def test_wrong_kind_or_shape(doc, expected):
    assert expected in error_of(doc)


@pytest.mark.parametrize(
    "item, expected",
    [
        ({"apiVersion": "v1", "kind": "Node"}, "items[0] (Node): metadata is missing"),
        ({"apiVersion": "v1", "kind": "Node", "metadata": {}}, "metadata.name is missing"),
        ({"apiVersion": "v1", "kind": "Node", "metadata": {"name": ""}}, "metadata.name must be a non-empty string"),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}, "metadata.namespace is missing"),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ml"}}, "items[0] (Pod ml/p): spec is missing"),
        (dict(NODE, metadata={"name": "n", "labels": {"gpus": 8}}), "metadata.labels['gpus'] must be a string"),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ml"},
          "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {}}]}}, "spec.volumes[0].persistentVolumeClaim.claimName is missing"),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ml"},
          "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"readOnly": True}}]}},
         "spec.volumes[0].persistentVolumeClaim.claimName is missing"),
        ({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
          "spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "k"}]}]}}}},
         "items[0] (PersistentVolume pv): spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].operator is missing"),
        ({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
          "spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": "all"}}}},
         "nodeSelectorTerms must be a list"),
        ({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
          "spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
              {"key": "k", "operator": "In", "values": [1]}]}]}}}},
         "matchExpressions[0].values[0] must be a string"),
        ({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"}, "spec": {"claimRef": {"namespace": "a"}}},
         "spec.claimRef.name is missing"),
        ({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "s"}}, "provisioner is missing"),
        ({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "s"}, "provisioner": "p",
          "parameters": {"placementCount": 1}}, "parameters['placementCount'] must be a string"),
        ({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "ml"},
          "spec": {}, "status": {"phase": 3}}, "status.phase must be a non-empty string"),
    ],
)
def test_missing_or_mistyped_fields(item, expected):
    assert expected in error_of(klist(item))


def test_yaml_multi_document_place_names_the_document():
    text = "kind: List\nitems: []\n---\nkind: List\nitems:\n- kind: Node\n  apiVersion: v1\n"
    assert "document 2, items[0] (Node): metadata is missing" in error_of(text, "b.yaml")


def test_unreadable_file(tmp_path):
    with pytest.raises(SnapshotError) as exc:
        load_snapshot_files([str(tmp_path / "missing.json")])
    assert "missing.json: cannot be read" in str(exc.value)


def test_binary_file(tmp_path):
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")
    with pytest.raises(SnapshotError) as exc:
        load_snapshot_files([str(path)])
    assert "not UTF-8" in str(exc.value)


def _outcome(add, item):
    inventory = empty_inventory()
    try:
        add(copy.deepcopy(item), "snap.json", "items[0]", inventory, None)
    except SnapshotError as exc:
        return str(exc)
    return sum(len(v) for v in inventory.values())


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from _paths(value, prefix + (index,))


def test_fast_path_accepts_nothing_the_detailed_checks_refuse():
    """add_item's fast path and the detailed checks agree on every object and on thousands of
    corruptions of them (a field removed, or replaced by another type)."""
    rng = random.Random(3)
    pv_with_terms = copy.deepcopy(PV)
    pv_with_terms["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"].append(
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gpu-ucsd-1"]}]})
    pvc_annotated = dict(PVC, metadata={"name": "c", "namespace": "ml", "annotations": {"a": "b"}})
    pod_ephemeral = copy.deepcopy(POD)
    pod_ephemeral["spec"]["volumes"].append({"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}})
    pod_ephemeral["status"] = {"phase": "Running"}
    sc_full = dict(SC, parameters={"k": "v"}, allowedTopologies=[], metadata={"name": "s", "annotations": {"x": "y"}})
    replacements = [None, 0, 1.5, True, "", "text", [], ["x"], {}, {"k": 1}]
    checked = 0
    for base in (NODE, PV, pv_with_terms, PVC, pvc_annotated, POD, pod_ephemeral, SC, sc_full):
        assert _outcome(add_item, base) == _outcome(_add_item_checked, base) == 1
        for path in list(_paths(base))[1:]:
            for _attempt in range(12):
                item = copy.deepcopy(base)
                parent = item
                for key in path[:-1]:
                    parent = parent[key]
                if rng.random() < 0.2 and isinstance(parent, dict):
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = rng.choice(replacements)
                assert _outcome(add_item, item) == _outcome(_add_item_checked, item), (path, item)
                checked += 1
    assert checked > 1000
