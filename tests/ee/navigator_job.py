"""Run a playbook the way an operator runs it in the execution environment: ansible-navigator
from a checkout, with the checkout's ansible-navigator.yml (podman, pull policy never, no
playbook artifact) and the command docs/execution-environment.md gives for the lab:

    ansible-navigator run playbooks/site.yml -i inventories/lab -i lab/inventory-ssh \\
      --eei <image> --mode stdout --co=--network=host \\
      --eev <known_hosts>:<known_hosts>:ro \\
      --eev <kubeconfig>:<kubeconfig>:ro --penv K8S_AUTH_KUBECONFIG \\
      --eev <charts>:<charts>:ro --penv GPUFLEET_LAB_CHARTS --senv GPUFLEET_HELM=/usr/local/bin/helm \\
      -e validation_report_dir=<dir>

- the checkout: a copy of the repository's tracked (and unignored) files, its inventories/lab
  naming this run's nodes; navigator mounts it at its own path as the container's working
  directory (its ansible.cfg applies), and the inventories given with -i,
- the lab's key: in an ssh agent of this run's own; navigator mounts the agent's socket
  (SSH_AUTH_SOCK) into the container, never the key,
- host keys: the lab's known_hosts, at the path lab/inventory-ssh names (UserKnownHostsFile),
- the cluster: the control plane's kubeconfig (K8S_AUTH_KUBECONFIG), over the host's network
  (the API server listens on 127.0.0.1).

navigator passes every ANSIBLE_* variable of its environment into the container; the suite's
(gpufleet_activate: the host venv's interpreter and collections path) would break the run, so
navigator gets only what starts podman and the variables above, as from an operator's plain shell.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from awx_job import copy_project
from play_recap import play_recap

NAVIGATOR = Path(sys.executable).parent / "ansible-navigator"
# ansible-runner's event framing in the container's output (base64 between erase-line and
# cursor-back sequences), then any other escape sequence.
EVENT_FRAME = re.compile(r"\x1b\[K[A-Za-z0-9+/=]*\x1b\[\d+D")
ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def plain(text):
    return ESCAPE.sub("", EVENT_FRAME.sub("", text))


@dataclass
class NavigatorResult:
    rc: int
    stdout: str
    recap: dict
    seconds: float
    command: list

    def changed(self, hosts):
        return {h: self.recap[h]["changed"] for h in hosts}


class SshAgent:
    """An ssh-agent of this run's own holding one key; stopped by its pid."""

    def __init__(self, workdir, key):
        workdir.mkdir(parents=True, exist_ok=True)
        self.socket = workdir / "agent.sock"
        out = subprocess.run(["ssh-agent", "-s", "-a", str(self.socket)], capture_output=True, text=True,
                             check=True).stdout
        self.pid = int(re.search(r"SSH_AGENT_PID=(\d+)", out).group(1))
        subprocess.run(["ssh-add", "-q", str(key)], env=dict(os.environ, SSH_AUTH_SOCK=str(self.socket)),
                       capture_output=True, check=True)

    def stop(self):
        try:
            os.kill(self.pid, 15)
        except ProcessLookupError:
            pass


@dataclass
class Navigator:
    """An operator's checkout with the lab's inventory for this run's nodes, and what the
    documented command mounts and passes."""
    image: str
    workdir: Path
    known_hosts: Path
    kubeconfig: Path
    charts: Path
    agent: SshAgent
    timeout: int = 1200

    @staticmethod
    def checkout(dest, lab_inventory):
        """A copy of the project whose inventories/lab is the one lab_inventory(path) writes."""
        copy_project(dest)
        shutil.rmtree(dest / "inventories" / "lab")
        lab_inventory(dest / "inventories" / "lab")
        return dest

    def command(self, playbook, extra_vars):
        # Each file or directory at its own path in the container, read-only.
        mounts = (self.known_hosts, self.kubeconfig, self.charts)
        known_hosts, kubeconfig, charts = ("--eev=%s:%s:ro" % (p, p) for p in mounts)
        cmd = [str(NAVIGATOR), "run", playbook, "-i", "inventories/lab", "-i", "lab/inventory-ssh",
               "--eei", self.image, "--mode", "stdout", "--co=--network=host",
               known_hosts, kubeconfig, "--penv", "K8S_AUTH_KUBECONFIG",
               charts, "--penv", "GPUFLEET_LAB_CHARTS", "--senv", "GPUFLEET_HELM=/usr/local/bin/helm"]
        for key, value in extra_vars.items():
            cmd += ["-e", "%s=%s" % (key, value)]
        return cmd

    def run(self, playbook, extra_vars=None):
        command = self.command(playbook, extra_vars or {})
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env.update(SSH_AUTH_SOCK=str(self.agent.socket), K8S_AUTH_KUBECONFIG=str(self.kubeconfig),
                   GPUFLEET_LAB_CHARTS=str(self.charts))
        t0 = time.monotonic()
        proc = subprocess.run(command, cwd=str(self.workdir), env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=self.timeout, check=False)
        seconds = time.monotonic() - t0
        stdout = plain(proc.stdout + proc.stderr)
        return NavigatorResult(proc.returncode, stdout, play_recap(stdout), seconds, command)
