"""A throw-away lab node for the role tests: one podman container from the lab image, with
three loop devices of its own (blank, ext4, random data) under stable names, and helpers to
run a role against it and to compare its filesystem with a snapshot (podman diff)."""

import configparser
import contextlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONTAINER = "gpufleet-roletest"
# Ansible's own remote tmp (and the mtime of /tmp it bumps) are not changes made by a role.
IGNORED = re.compile(r"^([ACD] /tmp/\.ansible-tmp(/|$)|C /tmp$|[ACD] /root/\.ansible(/|$))")
DEVICES = {"blank": "/dev/gpufleet-blank", "ext4": "/dev/gpufleet-ext4", "data": "/dev/gpufleet-data"}


def sh(*args, check=True, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check, **kwargs)


def podman_diff(container=CONTAINER):
    """The container's changes against its image, as 'A|C|D path' lines, minus Ansible's tmp."""
    data = json.loads(sh("podman", "diff", "--format", "json", container).stdout or "{}")
    lines = set()
    for key, letter in (("added", "A"), ("changed", "C"), ("deleted", "D")):
        for path in data.get(key) or []:
            line = "%s %s" % (letter, path)
            if not IGNORED.match(line):
                lines.add(line)
    return lines


class Target:
    def __init__(self, workdir, loops, container=CONTAINER):
        self.workdir = workdir
        self.loops = loops  # name -> host loop device
        self.container = container
        self.inventory = workdir / "inventory.yml"
        self.inventory.write_text(
            json.dumps(
                {
                    "all": {
                        "hosts": {
                            "roletest": {
                                "ansible_connection": "containers.podman.podman",
                                "ansible_pipelining": True,
                                "ansible_host": container,
                                "ansible_python_interpreter": "/usr/bin/python3",
                                "ansible_remote_tmp": "/tmp/.ansible-tmp",
                            }
                        },
                        "children": {"nfs_servers": {"hosts": {"roletest": {}}}, "gpu_nodes": {"hosts": {"roletest": {}}}},
                    }
                }
            )
        )
        self.runs = 0
        # The repository's ansible.cfg, with the json callback alone on stdout.
        config = configparser.ConfigParser(interpolation=None)
        config.read(REPO / "ansible.cfg")
        config.set("defaults", "stdout_callback", "ansible.posix.json")
        config.remove_option("defaults", "callbacks_enabled")
        config.set("defaults", "roles_path", str(REPO / "roles"))
        config.set("defaults", "fact_caching_connection", str(workdir / "facts"))
        self.config = workdir / "ansible.cfg"
        with open(self.config, "w") as handle:
            config.write(handle)

    def exec(self, *args, check=True):
        return sh("podman", "exec", self.container, *args, check=check)

    def signature(self, name):
        """What blkid says the host's loop device holds, read on the host."""
        return sh("blkid", "--probe", "--output", "export", self.loops[name], check=False).stdout

    def first_mib(self, name):
        with open(self.loops[name], "rb") as handle:
            return handle.read(1024 * 1024)

    def playbook(self, playbook, extra_vars, check=False, diff=False):
        """Run a playbook against the container with the json callback; returns (rc, report)."""
        self.runs += 1
        vars_file = self.workdir / ("vars-%d.json" % self.runs)
        vars_file.write_text(json.dumps(extra_vars))
        env = dict(os.environ)
        env.update(ANSIBLE_CONFIG=str(self.config), ANSIBLE_NOCOLOR="1")
        cmd = ["ansible-playbook", "-i", str(self.inventory), str(playbook), "-e", "@%s" % vars_file]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO), check=False)
        try:
            report = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            raise AssertionError("ansible-playbook gave no JSON report:\n%s\n%s" % (proc.stdout, proc.stderr))
        return proc.returncode, report

    def role(self, role, extra_vars, tasks_from="main", check=False, diff=False):
        extra = dict(extra_vars, role_under_test=role, role_tasks_from=tasks_from)
        return self.playbook(REPO / "tests" / "roles" / "apply_role.yml", extra, check=check, diff=diff)


def task_results(report):
    """(task name, result) for every task result of the run, in order."""
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            for result in task.get("hosts", {}).values():
                yield task["task"]["name"], result


def failure_message(report):
    """The message of the failed task (argument-spec errors included), whitespace collapsed."""
    for name, result in task_results(report):
        if result.get("failed") and not result.get("skipped"):
            # A loop fails as a whole ("One or more items failed"); the item says why. ansible-core
            # 2.21's json callback leaves `failed` out of an item's result; its exception stays.
            failed_items = [item for item in result.get("results", []) if item.get("failed") or "exception" in item]
            if failed_items:
                result = failed_items[0]
            text = result.get("msg", "")
            if result.get("argument_errors"):
                text += " " + " ".join(result["argument_errors"])
            return name, " ".join(str(text).split())
    return None, None


@contextlib.contextmanager
def lab_node(workdir, container=CONTAINER):
    """A fresh node container from the lab image with the three test devices (new loop devices
    of its own under workdir); removed with them on exit."""
    image = sh(REPO / "lab" / "node-image").stdout.strip().splitlines()[-1]
    loops = {}
    sh("podman", "rm", "--force", "--time", "0", container, check=False)
    try:
        for name in DEVICES:
            img = workdir / ("%s.img" % name)
            sh("truncate", "--size", "512M", img)
            loops[name] = sh("losetup", "--find", "--show", img).stdout.strip()
        sh("mkfs.ext4", "-q", "-L", "not-ours", loops["ext4"])
        sh("dd", "if=/dev/urandom", "of=%s" % loops["data"], "bs=1M", "count=1", "conv=notrunc,fsync", "status=none")
        devices = []
        for name, inside in DEVICES.items():
            devices += ["--device", "%s:%s" % (loops[name], inside)]
        sh(
            "podman", "run", "--detach", "--name", container, "--hostname", "roletest", "--init",
            "--cap-add", "SYS_ADMIN", "--cap-add", "DAC_READ_SEARCH", "--security-opt", "apparmor=unconfined",
            *devices, image, "sleep", "infinity",
        )
        # A data directory that is a symlink to somewhere else: node_prep must refuse it. A parent
        # directory that is a symlink into /etc: every node role must refuse paths through it.
        sh("podman", "exec", container, "sh", "-c",
           "mkdir -p /srv/elsewhere /data && ln -s /srv/elsewhere /data/linked && ln -s /etc /data/etc-link")
        yield Target(workdir, loops, container)
    finally:
        sh("podman", "rm", "--force", "--time", "0", container, check=False)
        for loop in loops.values():
            sh("losetup", "--detach", loop, check=False)


@pytest.fixture(scope="session")
def target(tmp_path_factory):
    with lab_node(tmp_path_factory.mktemp("roletest")) as node:
        yield node
