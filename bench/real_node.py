#!/usr/bin/env python
"""Benchmark: the lab's real kubelet node (lab/real-node.yml) from a fresh container to Ready, and
what it costs in memory, on a lab of its own (tests/realnode.py: containers gpufleet-rnb-*,
network 10.89.45.0/24, a control plane in $GPUFLEET_CACHE/cluster-realnode-bench on ports
2589/2590/6653/10467/10469/10448), removed at the end.

The lab is brought up once (images built or found, the control plane started), then the real
node's container is removed with its volumes and its Node object, and made again from scratch:
lab/hosts.yml, then lab/real-node.yml. Measured in that one run:

  container start -> Ready   podman's State.StartedAt of the new container to the Node's Ready
                             condition's lastTransitionTime              target <= 30 s
  kubelet start -> Ready     the running kubelet's process start to the same moment (reported)
  memory                     the node container's cgroup (usage and anonymous rss), the kubelet's
                             and containerd's RSS, and per running pod (3 standin pods: the growth
                             of the container's anonymous rss over 3, and each pod's own cgroup)
                                                                                  (reported)

    bench/real_node.py

Exits non-zero when a target is missed or the lab leaves something behind. Needs root and podman.
"""

import datetime
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# tests/realnode.py, and tests/play_recap.py and tests/lab_inventory.py it imports
sys.path.insert(0, str(REPO / "tests"))
from realnode import REAL, RealNodeLab, wait_for  # noqa: E402  pylint: disable=wrong-import-position
from kubernetes.client.exceptions import ApiException  # noqa: E402  pylint: disable=wrong-import-position

PREFIX = "gpufleet-rnb"
SUBNET = "10.89.45."
PORTS = {"etcd": 2589, "etcd_peer": 2590, "apiserver": 6653, "kcm": 10467, "scheduler": 10469, "kwok": 10448}
TARGET_START_TO_READY = 30.0
PODS = 3
MIB = 1024 * 1024


def podman_time(text):
    """podman's '2026-12-05 04:33:12.123456789 +0000 UTC' as an aware datetime."""
    match = re.match(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? \+0000 UTC$", text.strip())
    if not match:
        raise SystemExit("podman's StartedAt %r is not in UTC as expected" % text)
    moment = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return moment + datetime.timedelta(microseconds=int((match.group(2) or "0")[:6].ljust(6, "0")))


def boot_time():
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    raise SystemExit("no btime in /proc/stat")


def process_start(pid):
    """A host process's start as an aware datetime (clock ticks after boot)."""
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[19])
    return datetime.datetime.fromtimestamp(boot_time() + ticks / os.sysconf("SC_CLK_TCK"), datetime.timezone.utc)


def rss(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def memory_cgroup(pid):
    for line in Path("/proc/%d/cgroup" % pid).read_text().splitlines():
        controllers, path = line.split(":", 2)[1:]
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup/memory") / path.lstrip("/")
    raise SystemExit("no memory cgroup for pid %d (cgroup v1 expected)" % pid)


def cgroup_memory(path):
    stat = dict(line.split() for line in (path / "memory.stat").read_text().splitlines())
    return int((path / "memory.usage_in_bytes").read_text()), int(stat["total_rss"])


def node_processes(lab, container_pid):
    """{comm: host pid} of the kubelet and containerd of the node container."""
    cgroup = memory_cgroup(container_pid)
    found = {}
    for pid in (int(p) for p in (cgroup / "cgroup.procs").read_text().split()):
        try:
            comm = Path("/proc/%d/comm" % pid).read_text().strip()
        except OSError:
            continue
        if comm in ("kubelet", "containerd"):
            found[comm] = pid
    return found


def inspect_state(lab):
    out = lab.run("podman", "container", "inspect", "--format", "{{.State.StartedAt}}\t{{.State.Pid}}", lab.container()).stdout
    started, pid = out.strip().split("\t")
    return podman_time(started), int(pid)


def ready_since(core):
    node = core.read_node(REAL)
    cond = [c for c in node.status.conditions or [] if c.type == "Ready" and c.status == "True"]
    return cond[0].last_transition_time if cond else None


def fresh_node(lab, core, coord):
    """The real node's container removed with its volumes and its Node, then made again."""
    lab.run("podman", "rm", "--force", lab.container())
    lab.run("podman", "volume", "rm", "--force", *lab.volumes())
    core.delete_node(REAL)
    # The Lease is the Node's (ownerReference): the garbage collector may have removed it already.
    try:
        coord.delete_namespaced_lease(REAL, "kube-node-lease")
    except ApiException as exc:
        if exc.status != 404:
            raise
    wait_for("the Node deleted", lambda: REAL not in [n.metadata.name for n in core.list_node().items], 30)
    start = time.monotonic()
    lab.hosts()
    hosts_done = datetime.datetime.now(datetime.timezone.utc)
    hosts_took = time.monotonic() - start
    text, _recap = lab.real_node()
    return hosts_took, time.monotonic() - start, hosts_done, slowest_tasks(text)


def slowest_tasks(text, count=4):
    """The slowest tasks of a run, from profile_tasks' recap ('<task> ---- 1.23s')."""
    tasks = []
    for line in text.rsplit("TASKS RECAP", 1)[-1].splitlines():
        match = re.match(r"^(.*?) -+ (\d+\.\d+)s$", line.strip())
        if match:
            tasks.append((float(match.group(2)), match.group(1)))
    return sorted(tasks, reverse=True)[:count]


def pods_memory(lab, core, container_pid):
    """Start PODS standin pods on the node; their memory (growth of the container's rss / PODS, and
    each pod's own cgroup's rss)."""
    before = cgroup_memory(memory_cgroup(container_pid))[1]
    names = ["bench-pod-%d" % i for i in range(PODS)]
    for name in names:
        core.create_namespaced_pod("default", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": REAL},
                     "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                     "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "standin", "image": lab.images["standin"]["ref"],
                                     "imagePullPolicy": "IfNotPresent", "args": ["sleep"]}]}})

    def running(name):
        pod = core.read_namespaced_pod(name, "default")
        return pod if pod.status.phase == "Running" else None

    uids = [wait_for("pod %s Running" % name, lambda n=name: running(n), 90).metadata.uid for name in names]
    time.sleep(2)
    after = cgroup_memory(memory_cgroup(container_pid))[1]
    container_cgroup = memory_cgroup(container_pid)
    own = []
    for uid in uids:
        found = list(container_cgroup.glob("kubepods/**/pod%s" % uid))
        if found:
            own.append(cgroup_memory(found[0])[1])
    return (after - before) / PODS, own


def main():
    lab = RealNodeLab(tempfile.mkdtemp(prefix="gpufleet-bench-realnode-"), PREFIX, SUBNET, "cluster-realnode-bench", PORTS)
    missed = []
    ids = set()
    try:
        lab.purge()
        first = time.monotonic()
        lab.up()
        first_took = time.monotonic() - first
        ids.add(lab.container_id())
        api, client = lab.api()
        core, coord = client.CoreV1Api(api), client.CoordinationV1Api(api)

        hosts_took, total_took, hosts_done, slowest = fresh_node(lab, core, coord)
        ids.add(lab.container_id())
        started, container_pid = inspect_state(lab)
        ready = wait_for("the Node Ready", lambda: ready_since(core), 60)
        procs = node_processes(lab, container_pid)
        kubelet_started = process_start(procs["kubelet"])
        start_to_ready = (ready - started).total_seconds()
        kubelet_to_ready = (ready - kubelet_started).total_seconds()
        usage, total_rss = cgroup_memory(memory_cgroup(container_pid))
        kubelet_rss, containerd_rss = rss(procs["kubelet"]), rss(procs["containerd"])
        per_pod, own = pods_memory(lab, core, container_pid)

        print("The lab's real node (%s), %d CPUs; first lab up (images, control plane, node): %.1f s"
              % (REAL, os.cpu_count(), first_took))
        print("  fresh container: lab/hosts.yml %.1f s, then lab/real-node.yml: %.1f s in all" % (hosts_took, total_took))
        print("  container started %s, kubelet started %s, Node Ready %s" % (started.isoformat(), kubelet_started.isoformat(), ready.isoformat()))
        ok = start_to_ready <= TARGET_START_TO_READY
        print("  container start -> Ready  %6.1f s   target <= %.0f s  %s" % (start_to_ready, TARGET_START_TO_READY, "ok" if ok else "MISSED"))
        if not ok:
            missed.append("container start -> Ready")
        print("    of which: the rest of lab/hosts.yml %.1f s, lab/real-node.yml until the kubelet starts %.1f s"
              % ((hosts_done - started).total_seconds(), (kubelet_started - hosts_done).total_seconds()))
        print("    lab/real-node.yml's slowest tasks: %s" % "; ".join("%s %.1f s" % (name, secs) for secs, name in slowest))
        print("  kubelet start -> Ready    %6.1f s   (reported; the Ready time has 1 s resolution)" % kubelet_to_ready)
        print("  node container memory     usage %.0f MiB (page cache included), anonymous rss %.0f MiB   (reported)"
              % (usage / MIB, total_rss / MIB))
        print("  kubelet RSS               %6.0f MiB   (reported)" % (kubelet_rss / MIB))
        print("  containerd RSS            %6.0f MiB   (reported)" % (containerd_rss / MIB))
        print("  per running pod           %6.1f MiB   the container's anonymous rss growth over %d standin pods (reported)"
              % (per_pod / MIB, PODS))
        if own:
            print("  per pod, its own cgroup   %6.1f MiB   mean anonymous rss of the pods' cgroups (shims not included) (reported)"
                  % (sum(own) / len(own) / MIB))
    finally:
        errors = lab.down()
        shutil.rmtree(str(lab.workdir), ignore_errors=True)
        left = lab.leftovers({i for i in ids if i})
        if errors or left:
            print("  teardown: %s %s" % (errors, left))
            missed.append("teardown")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
