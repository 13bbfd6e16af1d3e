"""A lab with the real kubelet node, for tests/commands/test_real_node.py and bench/real_node.py.

- bench/real_node.py: a small lab of its own, a copy of inventories/lab with other container names
  and subnet that keeps gpu-sdsu-1 (the real node, lab/real-node.yml) and gpu-sdsu-2 (a kwok fake),
  and a control plane of its own (state dir and ports), so that scripts/lab's lab and the suite's
  other stages are left alone:

    lab = RealNodeLab(workdir, "gpufleet-rnb", "10.89.45.", "cluster-realnode-bench", PORTS)
    lab.up()        # hosts.yml -> lab/cluster up -> lab/images --env -> lab/real-node.yml
    ...
    lab.down()      # hosts.yml -e lab_state=absent, lab/cluster down --purge

- tests/commands/test_real_node.py: scripts/lab's own lab, as scripts/lab converged it
  (RealNodeLab.scripts_lab: inventories/lab itself, its containers, its control plane).

Not a test module (no test_ prefix); plain functions and one class.
"""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import yaml
from lab_inventory import copy_lab_inventory
from play_recap import play_recap

REPO = Path(__file__).resolve().parents[1]
REAL = "gpu-sdsu-1"
FAKE = "gpu-sdsu-2"
KEEP = [REAL, FAKE]
# lab/cluster's default ports (scripts/lab's own control plane).
LAB_PORTS = {"etcd": 2379, "etcd_peer": 2380, "apiserver": 6443, "kcm": 10257, "scheduler": 10259, "kwok": 10247}
# The kernel settings the kubelet wants (setupKernelTunables); the supervisor shields them.
KUBELET_SYSCTLS = {"vm.overcommit_memory": "1", "vm.panic_on_oom": "0", "kernel.panic": "10",
                   "kernel.panic_on_oops": "1", "kernel.keys.root_maxkeys": "1000000",
                   "kernel.keys.root_maxbytes": "25000000"}


def cache_dir():
    return Path(os.environ.get("GPUFLEET_CACHE") or Path.home() / ".cache" / "gpufleet")


def host_sysctls():
    """The host's vm.* and kernel.* settings, as `sysctl -a` reads them (nothing is written)."""
    out = subprocess.run(["sysctl", "-a"], capture_output=True, text=True, check=False).stdout
    values = {}
    for line in out.splitlines():
        key, sep, value = line.partition(" = ")
        if sep and key.startswith(("vm.", "kernel.")):
            values[key] = value.strip()
    return values


def kubepods_cgroups():
    """Every kubepods directory of the host's cgroup hierarchies (a node's kubelet makes them under
    its container's cgroup: /sys/fs/cgroup/<controller>/libpod_parent/libpod-<id>/kubepods)."""
    found = set()
    for pattern in ("/sys/fs/cgroup/*/kubepods", "/sys/fs/cgroup/*/*/kubepods", "/sys/fs/cgroup/*/*/*/kubepods",
                    "/sys/fs/cgroup/*/*/*/*/kubepods"):
        found.update(p for p in glob.glob(pattern) if os.path.isdir(p))
    return found


def proc_cmdline(pid):
    try:
        return Path("/proc/%s/cmdline" % pid).read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def proc_cgroup(pid):
    try:
        return Path("/proc/%s/cgroup" % pid).read_text()
    except OSError:
        return ""


def processes_named(*names):
    """{pid: comm} of the host's processes with one of these command names."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in names:
            found[int(entry.name)] = comm
    return found


class RealNodeLab:
    """One lab: its inventory under workdir, its containers <prefix>-<host>, its network <prefix>
    on <subnet>0/24, its control plane in $GPUFLEET_CACHE/<cluster_name> on the given ports."""

    def __init__(self, workdir, prefix, subnet, cluster_name, ports, nfs=False, inventory=None):
        self.workdir = Path(workdir)
        # With the lab's NFS server nfs-1 (a container; the nfs_server role sets it up when asked).
        self.nfs = nfs
        self.prefix = prefix
        self.subnet = subnet
        # A name under $GPUFLEET_CACHE, or a path.
        self.cluster_dir = cache_dir() / cluster_name
        # A copy of inventories/lab (make_inventory), or an inventory as it is (never changed here).
        self.inventory = Path(inventory) if inventory else self.workdir / "inventory"
        self.kubeconfig = self.cluster_dir / "kubeconfig"
        self.env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                        ANSIBLE_INVENTORY=str(self.inventory),
                        # its own fact cache: the main lab's hosts have the same names
                        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(self.workdir / "facts"),
                        GPUFLEET_LAB_REAL_NODE=REAL,
                        GPUFLEET_CLUSTER_DIR=str(self.cluster_dir),
                        GPUFLEET_CLUSTER_ETCD_PORT=str(ports["etcd"]),
                        GPUFLEET_CLUSTER_ETCD_PEER_PORT=str(ports["etcd_peer"]),
                        GPUFLEET_CLUSTER_APISERVER_PORT=str(ports["apiserver"]),
                        GPUFLEET_CLUSTER_KCM_PORT=str(ports["kcm"]),
                        GPUFLEET_CLUSTER_SCHEDULER_PORT=str(ports["scheduler"]),
                        GPUFLEET_CLUSTER_KWOK_PORT=str(ports["kwok"]),
                        GPUFLEET_CLUSTER_BIND_ADDRESS="0.0.0.0",
                        GPUFLEET_CLUSTER_REAL_NODES=REAL,
                        K8S_AUTH_KUBECONFIG=str(self.kubeconfig),
                        KUBECONFIG=str(self.kubeconfig),
                        GPUFLEET_HELM=str(self.cluster_dir / "bin" / "helm"))
        for name in ("K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_CONTEXT"):
            self.env.pop(name, None)
        self.images = {}
        self.torn_down = False

    @classmethod
    def scripts_lab(cls, workdir):
        """scripts/lab's lab: inventories/lab, its containers gpufleet-lab-* on 10.89.40.0/24, and the
        control plane scripts/lab used (GPUFLEET_CLUSTER_DIR and the ports as the environment names
        them, else lab/cluster's defaults), with the charts and images scripts/lab gave its run."""
        ports = {name: int(os.environ.get("GPUFLEET_CLUSTER_%s_PORT" % name.upper()) or default)
                 for name, default in LAB_PORTS.items()}
        cluster_dir = Path(os.environ.get("GPUFLEET_CLUSTER_DIR") or cache_dir() / "cluster")
        lab = cls(workdir, "gpufleet-lab", "10.89.40.", cluster_dir, ports, nfs=True,
                  inventory=REPO / "inventories" / "lab")
        # scripts/lab's fact cache (gpufleet_activate's), not one of the workdir's.
        if os.environ.get("ANSIBLE_CACHE_PLUGIN_CONNECTION"):
            lab.env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = os.environ["ANSIBLE_CACHE_PLUGIN_CONNECTION"]
        lab.env["PATH"] = "%s:%s" % (lab.cluster_dir / "bin", lab.env["PATH"])
        lab.load_images()
        # The charts scripts/lab staged for its run (its GPUFLEET_LAB_CHARTS).
        lab.env["GPUFLEET_LAB_CHARTS"] = str(cache_dir() / "lab-charts" / hashlib.sha256(str(REPO).encode()).hexdigest()[:12])
        return lab

    # --- names ---------------------------------------------------------------------------------

    def container(self, host=REAL):
        return "%s-%s" % (self.prefix, host)

    def volumes(self):
        return ["%s-containerd" % self.container(), "%s-kubelet" % self.container()]

    @property
    def state_dir(self):
        return Path("/var/tmp") / self.prefix

    # --- inventory -----------------------------------------------------------------------------

    def make_inventory(self):
        """inventories/lab with this lab's names and subnet, only gpu-sdsu-1 and gpu-sdsu-2 (and nfs-1
        when the lab has its NFS server)."""
        assert self.inventory.is_relative_to(self.workdir), "not a copy of this lab's: %s" % self.inventory
        if self.inventory.exists():
            shutil.rmtree(self.inventory)
        copy_lab_inventory(self.inventory, self.prefix, self.subnet, gpu_nodes=KEEP, nfs=self.nfs)
        for path in self.inventory.rglob("*.yml"):
            # Files of the checkout that the inventory names beside itself (the telemetry CSV).
            path.write_text(path.read_text().replace("inventory_dir ~ '/../../", "'%s/" % REPO))
        for host in os.listdir(self.inventory / "host_vars"):
            if host not in KEEP:
                shutil.rmtree(self.inventory / "host_vars" / host)
        return self.inventory

    def group_vars(self, group, name):
        return yaml.safe_load((self.inventory / "group_vars" / group / name).read_text())

    # --- commands ------------------------------------------------------------------------------

    def run(self, *args, check=True, timeout=900, env=None):
        proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False,
                              cwd=str(REPO), env=env or self.env, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("%s: exit %d\n%s\n%s" % (" ".join(map(str, args)), proc.returncode,
                                                          proc.stdout[-4000:], proc.stderr[-4000:]))
        return proc

    def playbook(self, *args, on_line=None, timeout=900):
        """ansible-playbook on this lab's inventory; (rc, output, {host: recap})."""
        proc = subprocess.Popen(["ansible-playbook", *[str(a) for a in args]], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=self.env, cwd=str(REPO))
        lines = []
        deadline = time.monotonic() + timeout
        for line in proc.stdout:
            lines.append(line)
            if on_line:
                on_line(line)
            if time.monotonic() > deadline:
                proc.kill()
        rc = proc.wait()
        text = "".join(lines)
        return rc, text, play_recap(text)

    def converge(self, *args, **kwargs):
        rc, text, recap = self.playbook(*args, **kwargs)
        assert rc == 0 and recap and all(r["failed"] == 0 and r["unreachable"] == 0 for r in recap.values()), \
            "%s failed (exit %d):\n%s" % (" ".join(map(str, args)), rc, text[-6000:])
        return text, recap

    def module(self, name, args):
        """One module run on localhost through ansible (kubernetes.core.k8s_log, k8s_exec, ...): its result."""
        env = dict(self.env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
        proc = subprocess.run(["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", name,
                               "-a", json.dumps(args)], capture_output=True, text=True, env=env, cwd=str(REPO),
                              check=False, timeout=300)
        # The JSON document, between profile_tasks' lines.
        start = proc.stdout.find("\n{")
        assert start >= 0, "no JSON from ansible -m %s (exit %d):\n%s\n%s" % (name, proc.returncode, proc.stdout, proc.stderr)
        data = json.JSONDecoder().raw_decode(proc.stdout[start + 1:])[0]
        return data["plays"][0]["tasks"][0]["hosts"]["localhost"]

    def node_exec(self, *cmd, check=True, host=REAL):
        return self.run("podman", "exec", self.container(host), *cmd, check=check, timeout=120)

    def api(self):
        from kubernetes import client, config  # pylint: disable=import-outside-toplevel
        return config.new_client_from_config(config_file=str(self.kubeconfig)), client

    # --- the whole lab -------------------------------------------------------------------------

    def purge(self):
        """Whatever an earlier run left: the hosts, the control plane and its state."""
        self.make_inventory()
        self.run("ansible-playbook", "lab/hosts.yml", "-e", "lab_state=absent", check=False)
        self.run("lab/cluster", "down", "--purge", check=False)

    def hosts(self):
        self.converge("lab/hosts.yml")

    def cluster_up(self):
        self.run("lab/cluster", "up")
        self.env["PATH"] = "%s:%s" % (self.cluster_dir / "bin", self.env["PATH"])

    def load_images(self):
        """lab/images --env's GPUFLEET_IMAGE_* (what scripts/lab evals), and lab/images' archives."""
        for line in self.run("lab/images", "--env").stdout.splitlines():
            name, value = line.replace("export ", "", 1).split("=", 1)
            self.env[name] = value
        for line in self.run("lab/images").stdout.splitlines():
            name, ref, archive = line.split("\t")
            self.images[name] = {"ref": ref, "archive": archive}

    def stage_charts(self):
        dest = self.workdir / "charts"
        self.env["GPUFLEET_LAB_CHARTS"] = self.run("python3", "tests/charts/stage", dest).stdout.strip()

    def real_node(self):
        return self.converge("lab/real-node.yml")

    def up(self):
        self.hosts()
        self.cluster_up()
        self.load_images()
        self.stage_charts()
        return self.real_node()

    def down(self):
        """Idempotent: the hosts (containers, volumes, loop devices, network), the control plane."""
        errors = []
        proc = self.run("ansible-playbook", "lab/hosts.yml", "-e", "lab_state=absent", check=False)
        if proc.returncode != 0:
            errors.append(proc.stdout[-3000:] + proc.stderr[-3000:])
        proc = self.run("lab/cluster", "down", "--purge", check=False)
        if proc.returncode != 0:
            errors.append(proc.stderr[-3000:])
        self.torn_down = True
        return errors

    # --- what is left ---------------------------------------------------------------------------

    def container_id(self, host=REAL):
        proc = self.run("podman", "container", "inspect", "--format", "{{.Id}}", self.container(host), check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def lock_device(self):
        """The real node's lock device (lab_real_node_lock_loop: the loop device its kubelet binds over a
        Block volume while a pod uses it) and what it is bound to as this machine's losetup says: the
        backing file, or None when it is free."""
        device = "/dev/loop%d" % (200 + int(self.subnet.split(".")[2]))
        proc = self.run("losetup", "--list", "--noheadings", "--output", "BACK-FILE", device, check=False)
        return device, ((proc.stdout.strip() or None) if proc.returncode == 0 else None)

    def leftovers(self, container_ids):
        """What of this lab is still on the host: processes, mounts, loop devices, podman objects."""
        left = {}
        procs = [(pid, comm) for pid, comm in processes_named("kubelet", "containerd", "containerd-shim",
                                                              "containerd-shim-runc-v2", "runc").items()
                 if any(cid in proc_cgroup(pid) for cid in container_ids)
                 or self.prefix in proc_cmdline(pid) or str(self.cluster_dir) in proc_cmdline(pid)]
        if procs:
            left["processes"] = procs
        mounts = [line for line in Path("/proc/mounts").read_text().splitlines()
                  if self.prefix in line or any(cid in line for cid in container_ids)]
        if mounts:
            left["mounts"] = mounts
        loops = [line for line in self.run("losetup", "-a", check=False).stdout.splitlines()
                 if str(self.state_dir) + "/" in line or self.prefix in line]
        lock, backing = self.lock_device()
        if backing:
            loops.append("%s: %s" % (lock, backing))
        if loops:
            left["loop devices"] = loops
        for kind, cmd in (("containers", ["podman", "ps", "-a", "--format", "{{.Names}}"]),
                          ("volumes", ["podman", "volume", "ls", "--format", "{{.Name}}"]),
                          ("networks", ["podman", "network", "ls", "--format", "{{.Name}}"])):
            names = [n for n in self.run(*cmd, check=False).stdout.split() if n.startswith(self.prefix)]
            if names:
                left[kind] = names
        cgroups = [p for p in kubepods_cgroups() if any(cid in p for cid in container_ids)]
        if cgroups:
            left["kubepods cgroups"] = cgroups
        if self.cluster_dir.exists():
            left["control plane state"] = [str(self.cluster_dir)]
        return left


def wait_for(what, probe, timeout, interval=0.5):
    """probe() until it returns something true; that value, or AssertionError naming what."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("%s: not within %s s (last: %r)" % (what, timeout, last))
