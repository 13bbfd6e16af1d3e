"""lab/cluster under bad input and faults: taken ports, a killed apiserver, a repeated up."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest
from kubernetes import client, config

from cluster_helpers import run_cluster, wait_for

pytestmark = pytest.mark.cluster

COMPONENTS = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
]
PORT_VARS = {
    "etcd": "GPUFLEET_CLUSTER_ETCD_PORT",
    "etcd-peer": "GPUFLEET_CLUSTER_ETCD_PEER_PORT",
    "kube-apiserver": "GPUFLEET_CLUSTER_APISERVER_PORT",
    "kube-controller-manager": "GPUFLEET_CLUSTER_KCM_PORT",
    "kube-scheduler": "GPUFLEET_CLUSTER_SCHEDULER_PORT",
    "kwok": "GPUFLEET_CLUSTER_KWOK_PORT",
}


def _pids(state_dir: Path) -> dict[str, int]:
    pids = {}
    for component in COMPONENTS:
        pidfile = state_dir / "run" / f"{component}.pid"
        if pidfile.exists():
            pids[component] = int(pidfile.read_text().split()[0])
    return pids


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and "lab/cluster" not in cmdline:
            found.append(int(entry.name))
    return found


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _index in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.parametrize("taken", ["etcd-peer", "kube-apiserver", "kwok"])
def test_up_with_a_taken_port_names_it_and_starts_nothing(cluster, tmp_path, taken):
    # A second, separate control plane (own state dir, own ports) so the shared one is untouched.
    ports = dict(zip(PORT_VARS, _free_ports(len(PORT_VARS))))
    state_dir = tmp_path / "cluster"
    env = {"GPUFLEET_CLUSTER_DIR": str(state_dir)}
    env.update({PORT_VARS[name]: str(port) for name, port in ports.items()})
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", ports[taken]))
    blocker.listen()
    try:
        result = run_cluster("up", env=env, timeout=300)
    finally:
        blocker.close()
    assert result.returncode != 0
    assert f"port {ports[taken]}" in result.stderr, result.stderr
    assert "Nothing was started" in result.stderr
    assert _processes_mentioning(str(state_dir)) == []
    assert _pids(state_dir) == {}
    status = run_cluster("status", env=env, timeout=60)
    assert status.returncode == 3, status.stdout
    assert status.stdout.count("stopped") == len(COMPONENTS)


def test_up_when_up_is_a_no_op(cluster):
    before = _pids(cluster.state_dir)
    started = time.monotonic()
    result = run_cluster("up", timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "already up" in result.stderr
    assert _pids(cluster.state_dir) == before
    assert elapsed < 10, f"a no-op up took {elapsed:.1f} s"


@pytest.mark.parametrize("victim", ["kube-apiserver", "etcd"])
def test_a_killed_component_is_reported_and_restarted_with_the_state(
    cluster, namespace, victim
):
    core = cluster.core
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="survivor"), data={"k": "v"}
        ),
    )
    before = _pids(cluster.state_dir)
    os.kill(before[victim], signal.SIGKILL)
    wait_for(
        lambda: not Path(f"/proc/{before[victim]}").exists(),
        timeout=10,
        what=f"{victim} to die",
    )

    status = run_cluster("status", timeout=60)
    assert status.returncode == 1, status.stdout
    lines = {
        line.split()[0]: line for line in status.stdout.splitlines() if line.strip()
    }
    assert "stopped" in lines[victim]
    for other in set(COMPONENTS) - {victim}:
        assert "running" in lines[other], status.stdout
    assert "DEGRADED" in status.stdout

    up = run_cluster("up", timeout=300)
    assert up.returncode == 0, up.stderr
    after = _pids(cluster.state_dir)
    assert after[victim] != before[victim]
    # Only the dead one was restarted; the rest carried on (an apiserver that lost etcd
    # reconnects by itself).
    assert {k: v for k, v in after.items() if k != victim} == {
        k: v for k, v in before.items() if k != victim
    }
    assert run_cluster("status", timeout=60).returncode == 0

    fresh = client.CoreV1Api(cluster.new_api())
    assert fresh.read_namespaced_config_map("survivor", namespace).data == {"k": "v"}
    node = fresh.read_node("gpu-ucsd-1")
    assert [c.status for c in node.status.conditions if c.type == "Ready"] == ["True"]


def test_a_fresh_state_dir_comes_up_and_down_leaves_no_process_behind(
    cluster, tmp_path
):
    # A second control plane from nothing (new certificates, empty etcd) on ports of its own.
    state_dir = tmp_path / "cluster"
    env = {"GPUFLEET_CLUSTER_DIR": str(state_dir)}
    env.update(dict(zip(PORT_VARS.values(), map(str, _free_ports(len(PORT_VARS))))))
    try:
        up = run_cluster("up", env=env, timeout=300)
        assert up.returncode == 0, up.stderr
        assert run_cluster("status", env=env, timeout=60).returncode == 0
        second = client.CoreV1Api(
            config.new_client_from_config(config_file=str(state_dir / "kubeconfig"))
        )
        assert (
            len(second.list_node(label_selector="nvidia.com/gpu.present=true").items)
            == 4
        )
        assert _processes_mentioning(str(state_dir))
    finally:
        down = run_cluster("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert _processes_mentioning(str(state_dir)) == []
    assert run_cluster("status", env=env, timeout=60).returncode == 3
    # Nothing mounted under the state dir either.
    assert str(state_dir) not in Path("/proc/self/mountinfo").read_text()


def test_a_restarted_kwok_runs_pods_at_once(cluster, namespace):
    # kwok takes a new identity on every start and would wait for the old one's node leases
    # to expire (40 s) before it touched the nodes; `up` hands the leases back first.
    before = _pids(cluster.state_dir)
    os.kill(before["kwok"], signal.SIGKILL)
    wait_for(
        lambda: not Path(f"/proc/{before['kwok']}").exists(),
        timeout=10,
        what="kwok to die",
    )
    up = run_cluster("up", timeout=300)
    assert up.returncode == 0, up.stderr
    assert _pids(cluster.state_dir)["kwok"] != before["kwok"]

    core = cluster.core
    core.create_namespaced_pod(
        namespace,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name="after-restart"),
            spec=client.V1PodSpec(
                containers=[client.V1Container(name="c", image="registry.invalid/c:1")]
            ),
        ),
    )
    wait_for(
        lambda: core.read_namespaced_pod("after-restart", namespace).status.phase
        == "Running",
        timeout=15,
        what="pod after-restart Running",
    )
