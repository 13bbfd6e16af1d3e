#!/usr/bin/env python
"""The node layer (playbooks/prepare_nodes.yml) on fleets of 1, 4, 16 and 32 GPU hosts, each
against Ansible's own floor on the same hosts, measured in one run.

For each fleet size N, N GPU hosts and one NFS server are made fresh from the lab's image
(podman containers on a network of their own, each GPU host with its loop-device cache disk, as
lab/hosts.yml makes the lab's; an empty fact cache for them), then:

  first converge   ansible-playbook playbooks/prepare_nodes.yml
  re-run           the same again (changed=0 expected)
  floor            a playbook of the same number of tasks per host as the re-run ran on a GPU host,
                   each the cheapest of its kind: an `ansible.builtin.ping` for every task that ran
                   a module on the host, an `ansible.builtin.assert` that is always true for every
                   task that ran on the controller only (set_fact, assert, a plan action, ...), through
                   the same connection (containers.podman.podman, pipelining), forks and interpreter:
                   what Ansible itself costs for that much work on those hosts
  first's floor    the same for the first converge's task counts per GPU host, its skipped tasks
                   included (a `when: false` ping each): Ansible's own cost of a first converge,
                   set beside the first converge's marginal cost per added host

  re-run, Mitogen  the re-run once more under Mitogen's strategies (mitogen_free for the play that
                   runs `free`, mitogen_linear for the other; the `podman` connection, which
                   Mitogen replaces with its own): measured, not adopted unless it wins (see
                   docs/performance.md)

and the hosts are removed. Printed per size: the three times, re-run / floor, and the marginal
cost per added GPU host (between this size and the previous one) of a first converge and of a
re-run. Targets (issue: converge cost):
  re-run / floor at 32 hosts                                        <= 2.0
  marginal first-converge cost per added host (4 -> 32 hosts)        <= 1/4 of the one-host first converge
Exits non-zero when a target is missed. Run through bench/run, or with the toolchain activated:
  bench/fleet.py [sizes...]       (default: 1 4 16 32)
  FLEET_CONNECTION=ssh bench/fleet.py ...
                                  the same over ssh (lab/inventory-ssh: each host's sshd, the lab's
                                  key pair, host keys checked, ControlPersist, pipelining), as a
                                  production fleet is reached, instead of the lab's `podman exec`
The hosts share this machine's CPUs: what a real fleet does on N machines at once queues here, so
the marginal cost per host is an upper bound of a real fleet's.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from converge import cpu_busy_seconds, drop_facts  # bench/, this script's directory

REPO = Path(__file__).resolve().parents[1]
SIZES = (1, 4, 16, 32)
TARGET_FLOOR_RATIO = 2.0
TARGET_MARGINAL = 0.25
# Actions that run on the controller only (no module goes to the host); any other action does.
LOCAL_ACTIONS = {"set_fact", "assert", "debug", "fail", "meta", "include_tasks", "include_role", "import_tasks",
                 "import_role", "include_vars", "add_host", "group_by", "set_stats", "pause"}
# A network, subnet and backing-file directory of the benchmark's own: the lab (and a suite's
# stages) may be up beside it; its containers are gpufleet-lab-fleet-*.
EXTRA = ["-e", "lab_network=gpufleet-fleet", "-e", "lab_subnet=10.89.60.0/24",
         "-e", "lab_state_dir=/var/tmp/gpufleet-fleet"]


SSH = os.environ.get("FLEET_CONNECTION", "podman") == "ssh"


def inventory(directory, size):
    """A lab-like inventory of `size` GPU hosts (half in each zone) and one NFS server, with the
    lab's group_vars (connection, roles' settings)."""
    gpus = ["fleet-%02d" % i for i in range(1, size + 1)]
    zones = {"zone_ucsd": {}, "zone_sdsu": {}}
    for i, host in enumerate(gpus):
        # ansible_host as the lab's group_vars template it, but literal: Mitogen's podman connection
        # takes the variable untemplated.
        zone = zones["zone_ucsd" if i % 2 == 0 else "zone_sdsu"]
        zone[host] = {"ip": "10.89.60.%d" % (11 + i), "ansible_host": "gpufleet-lab-" + host}
        if SSH:  # lab/inventory-ssh's group_vars set it to the host's address
            del zone[host]["ansible_host"]
    data = {"all": {"children": {
        "gpu_nodes": {"children": {zone: {"hosts": hosts} for zone, hosts in zones.items() if hosts}},
        "nfs_servers": {"hosts": {"fleet-nfs": dict({"ip": "10.89.60.10"},
                                                    **({} if SSH else {"ansible_host": "gpufleet-lab-fleet-nfs"}))}},
        "lab_containers": {"children": {"gpu_nodes": {}, "nfs_servers": {}}},
    }}}
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    (directory / "hosts.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    (directory / "group_vars").symlink_to(REPO / "inventories" / "lab" / "group_vars")
    return ["fleet-nfs"] + gpus


def children_seconds():
    """CPU time of this process's waited-for children: ansible-playbook, its workers and the podman
    commands they run (the connection). What runs inside the hosts is podman's conmon's, not counted."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU = {}


def is_local(action):
    name = action.rsplit(".", 1)[-1]
    return name in LOCAL_ACTIONS or action.endswith("_plan")


def playbook(inv, path, *args, check=True, env=None, connection=True):
    """Runs a playbook on the fleet with the JSON stdout callback (every run alike, with ansible.cfg's
    other callbacks); returns its wall time and {host: {"local": n, "remote": n, "skipped": n, "changed": n}}."""
    env = dict(os.environ, ANSIBLE_INVENTORY=str(inv), ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               **(env or {}))
    if SSH and connection:  # the ssh inventory over the fleet's, and the lab's key without an agent
        env["ANSIBLE_INVENTORY"] += "," + str(REPO / "lab" / "inventory-ssh")
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(inv.parent / "ssh-control")
        args += ("-e", "ansible_ssh_private_key_file={{ lab_ssh_dir }}/id_ed25519")
    start, machine, controller = time.monotonic(), cpu_busy_seconds(), children_seconds()
    proc = subprocess.run(["ansible-playbook", str(path), *EXTRA, *args], cwd=str(REPO), env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    CPU["last"] = {"controller": children_seconds() - controller, "machine": cpu_busy_seconds() - machine}
    if not check:
        return elapsed, {}
    try:  # the JSON document starts at a line's start; profile_tasks' lines may come before or after it
        start = 0 if proc.stdout.startswith("{") else proc.stdout.index("\n{") + 1
        data = json.JSONDecoder().raw_decode(proc.stdout[start:])[0]
    except ValueError:
        data = {}
    stats = data.get("stats") or {}
    if proc.returncode != 0 or not stats or any(s.get("failures") or s.get("unreachable") for s in stats.values()):
        sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-2000:])
        raise SystemExit("%s failed (exit %d)" % (path, proc.returncode))
    counts = dict((host, {"local": 0, "remote": 0, "skipped": 0, "changed": s.get("changed", 0)})
                  for host, s in stats.items())
    for play in data.get("plays") or []:
        for task in play.get("tasks") or []:
            for host, result in (task.get("hosts") or {}).items():
                kind = "skipped" if result.get("skipped") else "local" if is_local(result.get("action", "")) else "remote"
                counts[host][kind] += 1
    return elapsed, counts


def mitogen_env(work):
    """The environment and playbook of a Mitogen re-run: Mitogen's strategy plugins, and a copy of
    prepare_nodes.yml whose `free` play uses mitogen_free (a play's own strategy wins over the
    configured one)."""
    import ansible_mitogen  # pylint: disable=import-outside-toplevel  # only for this variant
    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    text = (REPO / "playbooks" / "prepare_nodes.yml").read_text()
    copy = work / "prepare_nodes_mitogen.yml"
    copy.write_text(text.replace("strategy: ansible.builtin.free", "strategy: mitogen_free"))
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}, copy


def hosts(inv, state):
    """lab/hosts.yml for the fleet's inventory: make the hosts, or remove them (never failing)."""
    playbook(inv, REPO / "lab" / "hosts.yml", "-e", "lab_state=%s" % state, check=state == "present", connection=False)


def floor_playbook(path, remote, local, skipped=0):
    tasks = [{"name": "ping %d" % i, "ansible.builtin.ping": None} for i in range(remote)]
    tasks += [{"name": "no-op %d" % i, "ansible.builtin.assert": {"that": True, "quiet": True}} for i in range(local)]
    tasks += [{"name": "skipped %d" % i, "ansible.builtin.ping": None, "when": False} for i in range(skipped)]
    plays = [{"name": "Ansible's floor: %d module, %d controller and %d skipped no-op tasks per host"
                      % (remote, local, skipped),
              "hosts": "nfs_servers:gpu_nodes", "gather_facts": False, "tasks": tasks}]
    path.write_text("---\n" + yaml.safe_dump(plays, sort_keys=False))


def gpu_tasks(counts):
    """The most tasks of each kind (remote, local, skipped) a GPU host of the fleet ran in one playbook run."""
    gpu = [c for host, c in counts.items() if host != "fleet-nfs"]
    return dict((k, max(c[k] for c in gpu)) for k in ("remote", "local", "skipped"))


def measure(work, size):
    inv = work / ("inventory-%d" % size)
    names = inventory(inv, size)
    try:
        hosts(inv, "present")
        drop_facts(names)
        first, first_counts = playbook(inv, REPO / "playbooks" / "prepare_nodes.yml")
        first_cpu = CPU["last"]
        rerun, counts = playbook(inv, REPO / "playbooks" / "prepare_nodes.yml")
        remote, local, skipped = (gpu_tasks(counts)[k] for k in ("remote", "local", "skipped"))
        floor_playbook(work / "floor.yml", remote, local)
        floor, _counts = playbook(inv, work / "floor.yml")
        # The first converge's floor: as many no-op tasks per host as the first converge ran on a GPU
        # host (modules, controller-only tasks, and skipped ones as `when: false` tasks), without any
        # of their work: what Ansible itself costs for a first converge of that many tasks.
        first_tasks = gpu_tasks(first_counts)
        floor_playbook(work / "floor-first.yml", first_tasks["remote"], first_tasks["local"], first_tasks["skipped"])
        floor_first, _counts = playbook(inv, work / "floor-first.yml")
        env, copy = mitogen_env(work)
        try:
            mitogen, mitogen_counts = playbook(inv, copy, "-e", "ansible_connection=%s" % ("ssh" if SSH else "podman"),
                                               env=env)
        except SystemExit as exc:  # measured where it works; a failure is reported, not fatal
            sys.stderr.write("Mitogen re-run: %s\n" % exc)
            mitogen, mitogen_counts = None, {}
    finally:
        hosts(inv, "absent")
    return {"first": first, "rerun": rerun, "floor": floor, "changed": sum(c["changed"] for c in counts.values()),
            "remote": remote, "local": local, "skipped": skipped, "mitogen": mitogen, "first_cpu": first_cpu,
            "floor_first": floor_first, "first_tasks": first_tasks,
            "mitogen_changed": sum(c["changed"] for c in mitogen_counts.values())}


def main(argv):
    sizes = tuple(int(a) for a in argv) or SIZES
    work = Path(tempfile.mkdtemp(prefix="gpufleet-fleet-"))
    results = {}
    try:
        for size in sizes:
            results[size] = measure(work, size)
            sys.stderr.write("fleet of %d: %s\n" % (size, results[size]))
    finally:
        # The ControlPersist masters of the ssh runs: closed, not left to time out after their hosts.
        for socket in sorted((work / "ssh-control").glob("*")):
            subprocess.run(["ssh", "-O", "exit", "-o", "ControlPath=%s" % socket, "fleet"], capture_output=True,
                           check=False)
        shutil.rmtree(work, ignore_errors=True)
    print("playbooks/prepare_nodes.yml on fleets of GPU hosts (+1 NFS server), podman lab hosts over %s, %d CPUs"
          % ("ssh" if SSH else "podman exec", os.cpu_count()))
    print("  %5s %14s %10s %10s %12s %18s %16s %16s %14s" % (
        "hosts", "first converge", "re-run", "floor", "re-run/floor", "+host first (s)", "+host re-run (s)",
        "re-run, Mitogen", "first's floor"))
    previous = None
    for size, r in sorted(results.items()):
        marginal = ("%18.2f %16.2f" % ((r["first"] - previous[1]["first"]) / (size - previous[0]),
                                       (r["rerun"] - previous[1]["rerun"]) / (size - previous[0]))
                    if previous else "%18s %16s" % ("", ""))
        mitogen = "%9.1f s %4.2f" % (r["mitogen"], r["mitogen"] / r["floor"]) if r["mitogen"] else "%16s" % "failed"
        print("  %5d %12.1f s %8.1f s %8.1f s %12.2f %s %s %12.1f s   (per GPU host: %d module, %d controller,"
              " %d skipped tasks; changed=%d)"
              % (size, r["first"], r["rerun"], r["floor"], r["rerun"] / r["floor"], marginal, mitogen,
                 r["floor_first"], r["remote"], r["local"], r["skipped"], r["changed"]))
        previous = (size, r)
    # The hosts here are containers on this machine's CPUs: a first converge's work on N hosts queues
    # on them, which a real fleet (each host its own CPUs) does not. Split out: the controller's CPU
    # (ansible and the connection's podman commands) and the rest (the hosts' own work).
    print("  first converge CPU (core-s): %s" % "; ".join(
        "%d hosts: controller %.1f, hosts %.1f" % (size, r["first_cpu"]["controller"],
                                                   r["first_cpu"]["machine"] - r["first_cpu"]["controller"])
        for size, r in sorted(results.items())))
    missed = []
    big = max(results)
    ratio = results[big]["rerun"] / results[big]["floor"]
    ok = ratio <= TARGET_FLOOR_RATIO
    print("  re-run / floor at %d hosts: %.2f  target <= %.1f  %s" % (big, ratio, TARGET_FLOOR_RATIO,
                                                                      "ok" if ok else "MISSED"))
    if not ok:
        missed.append("floor")
    if 1 in results and len(results) > 2:
        small = min(s for s in results if s > 1)
        marginal = (results[big]["first"] - results[small]["first"]) / (big - small)
        share = marginal / results[1]["first"]
        ok = share <= TARGET_MARGINAL
        print("  first converge per added host (%d -> %d): %.2f s = %.2f of the one-host converge (%.1f s)"
              "  target <= %.2f  %s" % (small, big, marginal, share, results[1]["first"], TARGET_MARGINAL,
                                        "ok" if ok else "MISSED"))
        controller = (results[big]["first_cpu"]["controller"] - results[small]["first_cpu"]["controller"]) / (big - small)
        print("    of which the controller's CPU per added host: %.2f core-s (%.2f s on %d cores = %.2f of the one-host"
              " converge: the cost per host where each host works on CPUs of its own)"
              % (controller, controller / os.cpu_count(), os.cpu_count(),
                 controller / os.cpu_count() / results[1]["first"]))
        # What the hosts' own processes (apt, dpkg, mkfs.xfs, the modules' Python) used per added host.
        # On this machine they share the controller's cores, so the wall per added host cannot go below
        # (controller + hosts) / cores; a real fleet's hosts work on CPUs of their own.
        hosts_cpu = ((results[big]["first_cpu"]["machine"] - results[big]["first_cpu"]["controller"])
                     - (results[small]["first_cpu"]["machine"] - results[small]["first_cpu"]["controller"])) / (big - small)
        print("    the hosts' own CPU per added host: %.2f core-s (%.2f s on %d cores = %.2f of the one-host converge);"
              " controller and hosts together: %.2f s per added host on %d cores, against %.2f s measured"
              % (hosts_cpu, hosts_cpu / os.cpu_count(), os.cpu_count(), hosts_cpu / os.cpu_count() / results[1]["first"],
                 (controller + hosts_cpu) / os.cpu_count(), os.cpu_count(), marginal))
        floor_marginal = (results[big]["floor_first"] - results[small]["floor_first"]) / (big - small)
        tasks = results[big]["first_tasks"]
        print("    Ansible's own floor for a first converge's %d module, %d controller and %d skipped tasks per host:"
              " %.2f s per added host = %.2f of the one-host converge; the first converge costs %.2f x that floor"
              % (tasks["remote"], tasks["local"], tasks["skipped"], floor_marginal,
                 floor_marginal / results[1]["first"], marginal / floor_marginal))
        if not ok:
            missed.append("marginal")
    for size, r in results.items():
        for name, changed in (("re-run", r["changed"]), ("Mitogen re-run", r["mitogen_changed"])):
            if changed:
                print("  %s on %d hosts changed %d tasks: not idempotent" % (name, size, changed))
                missed.append("idempotence")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
