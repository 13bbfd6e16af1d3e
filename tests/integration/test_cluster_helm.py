"""helm (v3, built by lab/cluster) and kubernetes.core.helm work against the local API server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cluster_helpers import CHARTS, REPO, wait_for

pytestmark = pytest.mark.cluster

PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "helm_hello.yml"


def _ansible_playbook() -> str:
    beside_python = Path(sys.executable).parent / "ansible-playbook"
    found = (
        str(beside_python)
        if beside_python.exists()
        else shutil.which("ansible-playbook")
    )
    assert (
        found
    ), "ansible-playbook not found: source scripts/lib.sh and run gpufleet_activate"
    return found


def _play(cluster, **extra_vars) -> dict:
    """Run the helm playbook with the json callback; return its parsed output."""
    extra = {
        "hello_chart": str(CHARTS / "hello"),
        "hello_helm": str(cluster.state_dir / "bin" / "helm"),
        "ansible_python_interpreter": sys.executable,
        **extra_vars,
    }
    result = subprocess.run(
        [
            _ansible_playbook(),
            "-i",
            "localhost,",
            str(PLAYBOOK),
            "-e",
            json.dumps(extra),
        ],
        env={
            **os.environ,
            **cluster.env,
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            # The json stdout callback must be the only writer of stdout (ansible.cfg adds a timer).
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        failed = [
            {"task": task["task"]["name"], "result": res}
            for play in json.loads(result.stdout or '{"plays": []}')["plays"]
            for task in play["tasks"]
            for res in task["hosts"].values()
            if res.get("failed")
        ]
        pytest.fail(
            f"ansible-playbook failed: {json.dumps(failed, indent=1)[-8000:]}\n{result.stderr[-2000:]}"
        )
    return json.loads(result.stdout)


def _available(cluster, namespace, name):
    deployment = cluster.apps.read_namespaced_deployment(name, namespace)
    return deployment if deployment.status.available_replicas == 1 else None


def _changed(output: dict) -> int:
    return output["stats"]["localhost"]["changed"]


def test_helm_cli_is_version_3(cluster):
    version = subprocess.run(
        [str(cluster.state_dir / "bin" / "helm"), "version", "--short"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # kubernetes.core 6.2 refuses helm 4; lab/cluster builds helm 3 with its version stamped.
    assert version.startswith("v3."), version


def test_kubernetes_core_helm_installs_a_local_chart_idempotently(cluster, namespace):
    release = {
        "hello_release": "hello",
        "hello_namespace": namespace,
        "hello_greeting": "hi",
    }

    first = _play(cluster, **release)
    assert _changed(first) == 1

    configmap = cluster.core.read_namespaced_config_map("hello-hello", namespace)
    assert configmap.data == {"greeting": "hi"}
    # helm 3's --wait counts a 1-replica Deployment ready with 0 pods (maxUnavailable 25%
    # rounds down to 0), so wait here for kwok to make the scheduled pod Ready.
    deployment = wait_for(
        lambda: _available(cluster, namespace, "hello-hello"),
        timeout=60,
        what="deployment hello-hello available",
    )
    assert deployment.status.available_replicas == 1
    pods = cluster.core.list_namespaced_pod(
        namespace, label_selector="app.kubernetes.io/instance=hello"
    ).items
    assert len(pods) == 1 and pods[0].spec.node_name.startswith("gpu-")

    again = _play(cluster, **release)
    assert (
        _changed(again) == 0
    ), "a second install of the same release reported a change"

    changed_values = _play(cluster, **{**release, "hello_greeting": "bonjour"})
    assert _changed(changed_values) == 1
    assert cluster.core.read_namespaced_config_map("hello-hello", namespace).data == {
        "greeting": "bonjour"
    }

    removed = _play(cluster, **release, hello_state="absent")
    assert _changed(removed) == 1
    names = {
        cm.metadata.name
        for cm in cluster.core.list_namespaced_config_map(namespace).items
    }
    assert "hello-hello" not in names
