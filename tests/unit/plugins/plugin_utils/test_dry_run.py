"""plugin_utils.dry_run: what a server-side dry run can take, and its refusal as one sentence."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import dry_run

MANIFEST = """
---
# Source: x/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data: {a: b}
---
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: greptimedb
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
---
apiVersion: tensor-fusion.ai/v1
kind: TensorFusionCluster
metadata:
  name: tensor-fusion
"""


def test_the_manifest_is_read_whole_without_its_empty_documents():
    assert [o["kind"] for o in dry_run.manifest_objects(MANIFEST)] == [
        "ConfigMap", "StatefulSet", "ClusterRole", "TensorFusionCluster"]
    assert dry_run.manifest_objects("") == [] and dry_run.manifest_objects(None) == []


@pytest.mark.parametrize("namespaces, custom, taken, left", [
    (set(), [], ["ClusterRole/reader"],
     ["ConfigMap/tensor-fusion-sys/cfg", "StatefulSet/greptimedb/db", "TensorFusionCluster/tensor-fusion"]),
    ({"tensor-fusion-sys"}, [], ["ConfigMap/tensor-fusion-sys/cfg", "ClusterRole/reader"],
     ["StatefulSet/greptimedb/db", "TensorFusionCluster/tensor-fusion"]),
    ({"tensor-fusion-sys", "greptimedb"}, [("tensor-fusion.ai", "TensorFusionCluster", True)],
     ["ConfigMap/tensor-fusion-sys/cfg", "StatefulSet/greptimedb/db", "ClusterRole/reader",
      "TensorFusionCluster/tensor-fusion"], []),
])
def test_a_dry_run_takes_what_the_api_server_can_check_now(namespaces, custom, taken, left):
    take, left_out = dry_run.selection(dry_run.manifest_objects(MANIFEST), "tensor-fusion-sys", namespaces, custom)
    assert [dry_run.label(o) for o in take] == taken
    assert [entry["object"] for entry in left_out] == left
    assert all(entry["reason"] for entry in left_out)


def test_selection_never_changes_the_objects_it_is_given():
    objects = dry_run.manifest_objects(MANIFEST)
    dry_run.selection(objects, "tensor-fusion-sys", {"tensor-fusion-sys"})
    assert "namespace" not in objects[0]["metadata"]


STATUS = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422,
          "message": 'StatefulSet.apps "am" is invalid: spec: Forbidden: updates to statefulset spec for fields other '
                     'than \'replicas\' are forbidden'}


@pytest.mark.parametrize("result, expected", [
    ({"changed": False}, ""),
    ({"changed": False, "failed": False, "result": {"results": []}}, ""),
    ({"skipped": True}, ""),
    # As registered under failed_when: false (what the roles do): failed is false, the message stays.
    ({"failed": False, "changed": False, "reason": "Unprocessable Entity",
      "msg": "Failed to patch object: " + json.dumps(STATUS)}, STATUS["message"]),
    (None, ""),
    ({"failed": True, "msg": "Failed to patch object: " + json.dumps(STATUS)}, STATUS["message"]),
    # The repr of the bytes that held the Status (kubernetes.core on some paths): backslashes doubled.
    ({"failed": True, "msg": "Failed to create object: b'%s'" % json.dumps(
        dict(STATUS, message='x "y" is\tinvalid')).replace("\\", "\\\\")}, 'x "y" is invalid'),
    ({"failed": True, "msg": "Failed to create object: b'{not json}'"}, "Failed to create object: b'{not json}'"),
    ({"failed": True, "reason": "Forbidden"}, "Forbidden"),
    ({"failed": True}, "no reason given"),
    ({"failed": False}, ""),
])
def test_the_refusal_is_one_sentence_from_the_api_servers_status(result, expected):
    assert dry_run.refusal(result) == expected


def test_no_secret_the_role_was_given_reaches_the_sentence():
    message = 'Secret "db" is invalid: data[password]: Invalid value: "hunter2-secret" and token abc'
    result = {"failed": True, "msg": json.dumps(dict(STATUS, message=message))}
    text = dry_run.refusal(result, ["hunter2-secret", {"receivers": [{"token": "abc"}]}, None, "tok-longer-than"])
    assert "hunter2-secret" not in text and "<hidden>" in text
    # Strings shorter than four characters are left: blanking "abc" would blank ordinary words.
    assert "token abc" in text
