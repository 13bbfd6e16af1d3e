"""Fault drill on the lab (the NFS server and one GPU node per zone): one GPU node is stopped (podman stop) in the middle of the first
converge of playbooks/prepare_nodes.yml, while the nodes are installing packages.

- the other hosts finish their run (failed=0, unreachable=0),
- the failure names the stopped host,
- after `podman start`, a re-run converges every host, and nothing the first run made is
  lost (a file written on a finished node's XFS cache is still there, no cache is
  reformatted),
- a third run changes nothing.

Builds its own copy of the lab from scratch (lab/hosts.yml on a copy of inventories/lab with
other container names, network and subnet, so a lab started by scripts/lab is left alone) and
removes it at the end. Needs root, podman and loop devices: `scripts/test lab`.
"""

import os
import re
import subprocess
import threading
from pathlib import Path

import pytest
from lab_inventory import copy_lab_inventory
from play_recap import play_recap

REPO = Path(__file__).resolve().parents[2]
VICTIM = "gpu-sdsu-2"
SURVIVORS = ["gpu-ucsd-1", "nfs-1"]
GPU_SURVIVORS = ["gpu-ucsd-1"]
# One GPU node per zone and the NFS server are enough for a node that goes away, a node that
# finishes and the server both depend on; the lab's other two GPU nodes would only repeat the
# survivor's work (about 40% of the drill's CPU): gpu-ucsd-2 and gpu-sdsu-1 are left out.
# The moment to pull the plug: the GPU nodes are inside apt/dpkg.
TRIGGER = "TASK [gpufleet.cluster.common : Install the missing packages (Debian family)]"


PREFIX = "gpufleet-drill"


def container(host):
    return PREFIX + "-" + host


def drill_inventory(dest):
    """inventories/lab with the drill's own container names, network, subnet and state dir, and
    only the survivor and the victim of the GPU nodes."""
    return copy_lab_inventory(dest, PREFIX, "10.89.42.", gpu_nodes=GPU_SURVIVORS + [VICTIM])


def run(*args, check=True):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check, cwd=str(REPO))


def playbook(inventory, *args, on_line=None):
    """Run ansible-playbook on the drill's inventory, feeding each output line to on_line;
    returns (rc, text, recap)."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_INVENTORY=str(inventory),
               # its own fact cache: the lab's hosts have the same names
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(inventory.parent / "facts"))
    proc = subprocess.Popen(
        ["ansible-playbook", *[str(a) for a in args]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=str(REPO),
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if on_line:
            on_line(line)
    rc = proc.wait()
    text = "".join(lines)
    return rc, text, play_recap(text)


@pytest.fixture(scope="module")
def fresh_lab(tmp_path_factory):
    """The drill's hosts, created from scratch; yields the path of their inventory."""
    inventory = drill_inventory(tmp_path_factory.mktemp("drill") / "inventory")
    run("ansible-playbook", "-i", inventory, "lab/hosts.yml", "-e", "lab_state=absent")
    run("ansible-playbook", "-i", inventory, "lab/hosts.yml")
    try:
        yield inventory
    finally:
        run("ansible-playbook", "-i", inventory, "lab/hosts.yml", "-e", "lab_state=absent", check=False)


def test_stopped_node_mid_run(fresh_lab):
    stopped = threading.Event()

    def pull_the_plug(line):
        if TRIGGER in line and not stopped.is_set():
            stopped.set()
            threading.Thread(target=run, args=("podman", "stop", "--time", "2", container(VICTIM))).start()

    rc, text, recap = playbook(fresh_lab, "playbooks/prepare_nodes.yml", on_line=pull_the_plug)
    assert stopped.is_set(), "the run never reached the trigger task:\n" + text[-3000:]
    assert rc != 0
    # The failure names the host that went away ...
    assert re.search(r"(fatal|failed): \[%s\]" % VICTIM, text), text[-3000:]
    assert recap[VICTIM]["failed"] + recap[VICTIM]["unreachable"] >= 1
    print("\n".join(line for line in text.splitlines() if "[%s]" % VICTIM in line and ("fatal" in line or "failed" in line)))
    # ... and the others finished.
    for host in SURVIVORS:
        assert recap[host]["failed"] == 0 and recap[host]["unreachable"] == 0, (host, recap[host])
    for host in GPU_SURVIVORS:
        out = run("podman", "exec", container(host), "stat", "-f", "-c", "%T", "/raid/models").stdout.strip()
        assert out == "xfs", host

    # Data a service wrote after the first run must survive the re-runs.
    marker = "/raid/models/drill-marker"
    for host in GPU_SURVIVORS:
        run("podman", "exec", container(host), "sh", "-c", "echo %s > %s" % (host, marker))

    run("podman", "start", container(VICTIM))
    rc, text, recap = playbook(fresh_lab, "playbooks/prepare_nodes.yml")
    assert rc == 0, text[-3000:]
    assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in recap.values()), recap

    for host in GPU_SURVIVORS + [VICTIM]:
        mount = run("podman", "exec", container(host), "findmnt", "--noheadings", "--output", "FSTYPE,OPTIONS", "/raid").stdout
        assert mount.startswith("xfs") and "largeio" in mount, (host, mount)
        stat = run("podman", "exec", container(host), "stat", "-c", "%u:%g %a", "/raid/models", "/data/alertmanager").stdout.split("\n")
        assert stat[:2] == ["0:0 750", "65534:65534 750"], (host, stat)
    for host in GPU_SURVIVORS:
        assert run("podman", "exec", container(host), "cat", marker).stdout.strip() == host

    rc, text, recap = playbook(fresh_lab, "playbooks/prepare_nodes.yml")
    assert rc == 0
    assert all(r["changed"] == 0 for r in recap.values()), recap
