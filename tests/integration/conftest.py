"""Fixtures for tests against the local Kubernetes control plane (lab/cluster).

The session starts the control plane once (`lab/cluster up`: a no-op when it already runs)
and stops it at the end only if this session started it. A control plane that cannot start
makes every test that uses it ERROR; nothing is skipped.
"""

from __future__ import annotations

import os
import re
import shlex
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from cluster_helpers import run_cluster, wait_for


def pytest_configure(config):  # pylint: disable=redefined-outer-name
    config.addinivalue_line(
        "markers", "cluster: needs the local Kubernetes control plane (lab/cluster up)"
    )


@dataclass
class Cluster:
    """What a test needs to talk to the control plane."""

    kubeconfig: Path
    state_dir: Path
    api: client.ApiClient
    env: dict = field(default_factory=dict)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def storage(self) -> client.StorageV1Api:
        return client.StorageV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    def new_api(self) -> client.ApiClient:
        """A fresh client, e.g. after the apiserver restarted."""
        return config.new_client_from_config(config_file=str(self.kubeconfig))


def _exported(env_script: str) -> dict[str, str]:
    """The variables of `lab/cluster env` (export NAME=value lines, shell-quoted)."""
    exported = {}
    for line in env_script.splitlines():
        if line.startswith("export "):
            name, value = line[len("export ") :].split("=", 1)
            exported[name] = shlex.split(value)[0] if value else ""
    return exported


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    """The running control plane; started here if it is not running."""
    was_up = run_cluster("status", timeout=60).returncode == 0
    started = time.monotonic()
    result = run_cluster("up")
    if result.returncode != 0:
        pytest.fail(
            f"lab/cluster up failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    print(f"lab/cluster up took {time.monotonic() - started:.1f} s (was up: {was_up})")
    exported = _exported(run_cluster("env", timeout=60).stdout)
    kubeconfig = Path(exported["K8S_AUTH_KUBECONFIG"])
    state_dir = kubeconfig.parent
    env = {
        "K8S_AUTH_KUBECONFIG": str(kubeconfig),
        "KUBECONFIG": str(kubeconfig),
        "GPUFLEET_HELM": exported["GPUFLEET_HELM"],
        "PATH": f"{state_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    api = config.new_client_from_config(config_file=str(kubeconfig))
    yield Cluster(kubeconfig=kubeconfig, state_dir=state_dir, api=api, env=env)
    api.close()
    if not was_up and os.environ.get("GPUFLEET_CLUSTER_KEEP") != "1":
        down = run_cluster("down", timeout=120)
        assert down.returncode == 0, down.stderr


def _namespace_name(node_name: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", node_name.lower()).strip("-")[:40].strip("-")
    return f"t-{base}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def namespace(cluster: Cluster, request) -> str:
    """A namespace of the test's own, deleted afterwards (with everything in it)."""
    core = cluster.core
    name = _namespace_name(request.node.name)
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(
                name=name, labels={"gpufleet.test": "integration"}
            )
        )
    )
    # The ServiceAccount admission plugin rejects pods until the controller-manager has made
    # the namespace's default service account.
    wait_for(
        lambda: core.read_namespaced_service_account("default", name),
        timeout=30,
        what=f"service account default in {name}",
    )
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture
def cluster_scoped(cluster: Cluster):
    """Register cluster-scoped objects (PVs, StorageClasses) to delete after the test.

    Usage: ``cluster_scoped(delete_fn, name)``; deleted in reverse order, missing ones ignored.
    """
    registered: list[tuple[Callable[[str], object], str]] = []

    def register(delete: Callable[[str], object], name: str) -> None:
        registered.append((delete, name))

    yield register
    for delete, name in reversed(registered):
        try:
            delete(name)
        except ApiException as exc:
            if exc.status != 404:
                raise
