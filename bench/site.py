#!/usr/bin/env python
"""Converge cost of the whole of playbooks/site.yml on the lab (every layer), measured in one run:

  first converge   scripts/lab on fresh lab hosts and an empty control plane
  re-run           scripts/lab again (changed=0 expected), every layer and the validation
  re-run, converge only
                   scripts/lab up --skip-tags storage_validation,placement_validation,validation_report:
                   what a user asking for convergence only runs (validation stays explicit;
                   without the measurements the report's gate would fail on unmeasured nodes)

Printed: each run's site.yml time (the sum of its tasks' times, from ansible.posix.profile_tasks,
without the lab's own set-up), the ratios to the first converge with their targets, per-layer
times side by side, and the slowest tasks of the re-run. Targets (issue: converge cost):
  re-run / first converge        <= 0.40
  no task of the re-run over 2 s
Exits non-zero when a target is missed. The lab is taken down at the end (and its control
plane's state deleted). Run through bench/run, or with the toolchain activated:
  bench/site.py
"""

import os
import re
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.40
TARGET_TASK_SECONDS = 2.0
# The layer of each role, in site.yml's order (playbooks/site.yml imports one playbook per layer).
LAYERS = OrderedDict([
    ("nodes", ("common", "node_prep", "xfs_cache", "nfs_server", "nfs_client")),
    ("storage", ("linstor",)),
    ("observability", ("tensor_fusion",)),
    ("model_storage", ("model_storage",)),
    ("telemetry", ("gpu_telemetry",)),
    ("validation", ("storage_validation", "placement_validation", "validation_report")),
])
TASK = re.compile(r"^(?:gpufleet\.cluster\.)?(\w+) : (.*?) -+ (\d+\.\d+)s$")
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
ENV = dict(os.environ, PROFILE_TASKS_TASK_OUTPUT_LIMIT="all", PROFILE_TASKS_SORT_ORDER="none", ANSIBLE_NOCOLOR="1")


def lab(*args):
    proc = subprocess.run([str(REPO / "scripts" / "lab"), *args], cwd=str(REPO), env=ENV,
                          capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def site_tasks(output):
    """(layer, role, task, seconds) of every task of site.yml's roles, from the last TASKS RECAP."""
    recap = output.rsplit("TASKS RECAP", 1)[-1]
    tasks = []
    for line in recap.splitlines():
        match = TASK.match(line.strip())
        if not match:
            continue
        role, name, seconds = match.group(1), match.group(2), float(match.group(3))
        layer = next((layer for layer, roles in LAYERS.items() if role in roles), None)
        if layer:
            tasks.append((layer, role, name, seconds))
    return tasks


def converge(label, *args):
    rc, out = lab(*args)
    recap = RECAP.findall(out.rsplit("PLAY RECAP", 1)[-1])
    if rc != 0 or not recap or any(int(u) or int(f) for _h, _c, u, f in recap):
        sys.stderr.write(out[-5000:])
        raise SystemExit("%s: scripts/lab failed (exit %d)" % (label, rc))
    tasks = site_tasks(out)
    if not tasks:
        sys.stderr.write(out[-3000:])
        raise SystemExit("%s: no task times in the output (is ansible.posix.profile_tasks enabled?)" % label)
    changed = sum(int(c) for host, c, _u, _f in recap if host != "localhost")
    return {"tasks": tasks, "total": sum(t[3] for t in tasks), "changed": changed,
            "layers": OrderedDict((layer, sum(t[3] for t in tasks if t[0] == layer)) for layer in LAYERS)}


def main():
    runs = OrderedDict()
    try:
        lab("down")
        subprocess.run([str(REPO / "lab" / "cluster"), "down", "--purge"], cwd=str(REPO), env=ENV,
                       capture_output=True, check=False)
        runs["first converge"] = converge("first converge")
        runs["re-run"] = converge("re-run")
        skip = "storage_validation,placement_validation,validation_report"
        runs["re-run, converge only"] = converge("re-run, converge only", "up", "--skip-tags", skip)
    finally:
        lab("down")
    first = runs["first converge"]["total"]
    print("playbooks/site.yml on the lab (4 GPU nodes + 1 NFS server, every layer, %d CPUs)" % os.cpu_count())
    print("  %-14s" % "layer" + "".join("%24s" % name for name in runs))
    for layer in LAYERS:
        print("  %-14s" % layer + "".join("%22.1f s" % run["layers"][layer] for run in runs.values()))
    print("  %-14s" % "site.yml" + "".join("%22.1f s" % run["total"] for run in runs.values()))
    print("  %-14s" % "nodes changed" + "".join("%24d" % run["changed"] for run in runs.values()))
    missed = []
    for name in ("re-run", "re-run, converge only"):
        ratio = runs[name]["total"] / first
        ok = ratio <= TARGET_RATIO
        print("  %s / first converge: %.2f  target <= %.2f  %s" % (name, ratio, TARGET_RATIO, "ok" if ok else "MISSED"))
        if not ok:
            missed.append(name)
        if runs[name]["changed"]:
            print("  %s changed %d tasks on the nodes: not idempotent" % (name, runs[name]["changed"]))
            missed.append("idempotence")
    for name in ("re-run", "re-run, converge only"):
        slow = sorted((t for t in runs[name]["tasks"] if t[3] > TARGET_TASK_SECONDS), key=lambda t: -t[3])
        print("  tasks of the %s over %.0f s: %d  target 0  %s" % (name, TARGET_TASK_SECONDS, len(slow), "ok" if not slow else "MISSED"))
        for _layer, role, task, seconds in sorted(runs[name]["tasks"], key=lambda t: -t[3])[:12 if name == "re-run" else 5]:
            print("    %5.2f s  %s : %s" % (seconds, role, task))
        if slow:
            missed.append("slow tasks (%s)" % name)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
