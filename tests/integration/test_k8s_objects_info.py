"""gpufleet.cluster.k8s_objects_info against the local API server: several reads in one task,
waits as kubernetes.core.k8s_info's (a rollout that does not end is reported, not fatal, and the
object is read as it is), a condition wait, and the API server's version."""

from __future__ import annotations

import json

import pytest

from cluster_helpers import play

pytestmark = pytest.mark.cluster

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A Deployment whose pod can never be placed, and a ConfigMap
      kubernetes.core.k8s:
        definition:
          - {apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: "{{ ns }}"}, data: {a: "1"}}
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: stuck, namespace: "{{ ns }}"}
            spec:
              replicas: 1
              selector: {matchLabels: {app: stuck}}
              template:
                metadata: {labels: {app: stuck}}
                spec:
                  nodeSelector: {gpufleet.test/no-such-node: "true"}
                  containers: [{name: c, image: localhost/none:1}]

    - name: Read them, waiting
      gpufleet.cluster.k8s_objects_info:
        server_version: true
        queries:
          - {key: config, kind: ConfigMap, namespace: "{{ ns }}", name: settings, wait: true, wait_timeout: 10}
          - {key: workloads, api_version: apps/v1, kind: Deployment, namespace: "{{ ns }}", name: stuck,
             wait: true, wait_timeout: 3, wait_sleep: 1}
          - {key: condition, api_version: apps/v1, kind: Deployment, namespace: "{{ ns }}", name: stuck,
             wait: true, wait_timeout: 2, wait_sleep: 1, wait_condition: {type: NoSuchCondition}}
          - {key: nodes, kind: Node}
      register: found

    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ found | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def test_reads_wait_and_report_the_waits_that_did_not_end(cluster, namespace, tmp_path):
    playbook = tmp_path / "read.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / "found.json"
    run = play(cluster, {"ns": namespace, "out": str(out)}, playbook, timeout=300)
    assert run.rc == 0, run.out[-4000:]
    found = json.loads(out.read_text())
    resources = found["resources"]
    assert [o["metadata"]["name"] for o in resources["config"]] == ["settings"]
    # The rollout that cannot end: reported under its key, and the Deployment read as it is.
    assert [o["metadata"]["name"] for o in resources["workloads"]] == ["stuck"]
    assert not resources["workloads"][0].get("status", {}).get("readyReplicas")
    assert list(found["waits_failed"]) == ["workloads", "condition"]
    assert "Deployment %s/stuck" % namespace in found["waits_failed"]["workloads"][0]
    assert "after waiting for" in found["waits_failed"]["workloads"][0]
    assert [o["metadata"]["name"] for o in resources["condition"]] == ["stuck"]
    assert resources["nodes"], "no Node read"
    assert found["api_found"] == {"config": True, "workloads": True, "condition": True, "nodes": True}
    assert found["version"]["server"]["kubernetes"]["gitVersion"].startswith("v1.")
