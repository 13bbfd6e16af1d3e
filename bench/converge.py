#!/usr/bin/env python
"""Converge speed of playbooks/prepare_nodes.yml on the podman lab, as ratios measured in
one run, each with its target:

  rerun / first : idempotent re-run of all lab hosts vs their first converge   (<= 0.40)
  all / one     : first converge of all lab hosts vs of one GPU node           (<= 1.50)

Each first converge starts from freshly created hosts and an empty fact cache for them
(a new fleet has none). Exits non-zero when a target is missed. The lab is removed at the
end. Run through bench/run (which activates the toolchain) or with it activated:
  bench/converge.py
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ONE = "gpu-ucsd-1"
TARGETS = {"rerun/first": 0.40, "all/one": 1.50}
CPU = {}
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


# The lab's inventory and fact cache, as scripts/lab sets them (ansible.cfg names neither).
LAB_ENV = dict(os.environ, ANSIBLE_INVENTORY=str(REPO / "inventories" / "lab"))
FACTS = Path(os.environ.get("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(REPO / ".cache" / "facts")))


def sh(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True, cwd=str(REPO),
                          env=LAB_ENV)


def fresh_lab():
    sh("ansible-playbook", "lab/hosts.yml", "-e", "lab_state=absent")
    sh("ansible-playbook", "lab/hosts.yml")
    drop_facts(["nfs-1", "gpu-ucsd-1", "gpu-ucsd-2", "gpu-sdsu-1", "gpu-sdsu-2"])


def drop_facts(hosts):
    """A new fleet has no cached facts: drop these hosts' entries of the fact cache (only theirs)."""
    for host in hosts:
        path = FACTS / host
        if path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


def cpu_busy_seconds():
    """Machine-wide busy CPU time (all processes: ansible, podman, the containers' apt/dpkg)."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def converge(*limit):
    env = dict(LAB_ENV, ANSIBLE_NOCOLOR="1")
    cpu_start = cpu_busy_seconds()
    start = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", "playbooks/prepare_nodes.yml", *limit],
        capture_output=True, text=True, cwd=str(REPO), env=env, check=False,
    )
    elapsed = time.monotonic() - start
    CPU[" ".join(limit) or "all"] = cpu_busy_seconds() - cpu_start
    recap = {m[0]: (int(m[2]), int(m[3]) + int(m[4])) for m in RECAP.findall(proc.stdout)}
    if proc.returncode != 0 or any(bad for _changed, bad in recap.values()):
        sys.stderr.write(proc.stdout[-4000:])
        raise SystemExit("converge %s failed" % " ".join(limit))
    return elapsed, sum(changed for changed, _bad in recap.values())


def main():
    try:
        fresh_lab()
        t_one = converge("--limit", ONE)[0]
        cpu_one = CPU.popitem()[1]
        t_one_rerun = converge("--limit", ONE)[0]
        cpu_one_rerun = CPU.popitem()[1]
        fresh_lab()
        t_first, changed_first = converge()
        cpu_first = CPU.popitem()[1]
        t_rerun, changed_rerun = converge()
        cpu_rerun = CPU.popitem()[1]
    finally:
        subprocess.run(["ansible-playbook", "lab/hosts.yml", "-e", "lab_state=absent"], cwd=str(REPO),
                       capture_output=True, check=False, env=LAB_ENV)

    ratios = {"rerun/first": t_rerun / t_first, "all/one": t_first / t_one}
    print("prepare_nodes.yml on the podman lab (4 GPU nodes + 1 NFS server, %d CPUs)" % os.cpu_count())
    cores = os.cpu_count()
    print("                                      wall    machine CPU busy")
    print("  first converge, one GPU node (%s): %6.1f s  %6.1f core-s" % (ONE, t_one, cpu_one))
    print("  re-run, one GPU node:              %6.1f s  %6.1f core-s" % (t_one_rerun, cpu_one_rerun))
    print("  first converge, all 5 hosts:       %6.1f s  %6.1f core-s  (changed=%d)" % (t_first, cpu_first, changed_first))
    print("  idempotent re-run, all 5 hosts:    %6.1f s  %6.1f core-s  (changed=%d)" % (t_rerun, cpu_rerun, changed_rerun))
    # The lab's hosts are containers sharing this machine's CPUs: work that a fleet does on
    # five machines at once queues here. With all cores busy, the first converge of all
    # hosts cannot take less than its CPU time divided by the cores.
    print("  all/one on re-runs (controller and connection overhead only): %.2f" % (t_rerun / t_one_rerun))
    print("  CPU floor for all/one on %d cores: %.2f (= %.1f core-s / %d / %.1f s)"
          % (cores, cpu_first / cores / t_one, cpu_first, cores, t_one))
    missed = []
    for name, value in ratios.items():
        ok = value <= TARGETS[name]
        print("  %-12s %5.2f  target <= %.2f  %s" % (name, value, TARGETS[name], "ok" if ok else "MISSED"))
        if not ok:
            missed.append(name)
    if changed_rerun:
        print("  re-run changed %d tasks: not idempotent" % changed_rerun)
        missed.append("idempotence")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
