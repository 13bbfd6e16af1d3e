"""Test cases derived from the roles' argument specs (shared by tests/integration and tests/roles)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

# What a role must never stop on: an undefined variable or a template error, instead of its own message.
CRASH = re.compile(r"is undefined|Error while evaluating conditional|has no attribute|object of type '\w+' has no|"
                   r"unexpected templating type error|AnsibleUndefinedVariable|Traceback \(most recent|"
                   r"The task includes an option with an undefined variable")


def empty_cases(role, entry_point="main"):
    """(variable, value) for each list/dict variable emptied and each default-on bool turned off.

    A variable whose default is that value already is left out: every run with the defaults
    covers it.
    """
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    cases = []
    for name, option in spec["argument_specs"][entry_point]["options"].items():
        value = {"list": [], "dict": {}, "bool": False}.get(option.get("type"))
        if value is None or option.get("default") == value or (value is False and option.get("default") is not True):
            continue
        cases.append((name, value))
    return cases


def json_report(stdout):
    """The report ansible.posix.json (the stdout callback) wrote: ValueError when there is none.

    The JSON document is a line "{" on; other callbacks (ansible.cfg's profile_tasks) print around it.
    """
    start = stdout.find("\n{\n")
    report, _end = json.JSONDecoder().raw_decode(stdout[start + 1:] if start >= 0 else stdout)
    return report


def run_cases(ansible_playbook, env, role, base, cases, workdir, args=("--check",), timeout=1800):
    """Run ``role`` once for every case in one ansible-playbook run: each case is its own host.

    Every host (``case0``, ``case1``, ...) is the controller itself (local connection) with the
    valid configuration ``base`` and its case's value as host variables, so facts and registered
    results of one case never reach another (a variable a case never defines stays undefined, as
    in a run of its own), a failing case does not stop the others, and Ansible starts once.
    Returns [(variable, value, failed, messages)]: ``messages`` every failure message of the case.
    """
    import subprocess
    import sys

    workdir = Path(workdir)
    hosts = {}
    for index, (variable, value) in enumerate(cases):
        hosts["case%d" % index] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                   **base, variable: value}
    inventory = workdir / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    playbook = workdir / "cases.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Each case", "hosts": "all", "gather_facts": False,
                                         "roles": ["gpufleet.cluster." + role]}]))
    run = subprocess.run([ansible_playbook, "-i", str(inventory), str(playbook), *args], capture_output=True, text=True,
                         timeout=timeout, check=False,
                         env={**env, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_FORKS": "4",
                              "ANSIBLE_NOCOLOR": "1"})
    try:
        report = json_report(run.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook (rc %d) wrote no JSON report: %s\n%s"
                             % (run.returncode, run.stdout[-3000:], run.stderr[-3000:]))
    messages = {host: [] for host in hosts}
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            for host, result in task.get("hosts", {}).items():
                for one in [result] + list(result.get("results") or []):
                    if isinstance(one, dict) and one.get("failed") and not one.get("ignore_errors"):
                        messages.setdefault(host, []).append(
                            "%s: %s" % (task.get("task", {}).get("name"), one.get("msg") or json.dumps(one)[:2000]))
    stats = report.get("stats", {})
    results = []
    for index, (variable, value) in enumerate(cases):
        host = "case%d" % index
        if host not in stats:
            raise AssertionError("case %s=%r never ran (rc %d): %s" % (variable, value, run.returncode, run.stderr[-3000:]))
        failed = bool(stats[host].get("failures") or stats[host].get("unreachable"))
        results.append((variable, value, failed, messages.get(host, [])))
    return results


def case_problems(results):
    """What is wrong with run_cases' results: a crash, or a failure that does not name its variable."""
    bad = []
    for variable, value, failed, messages in results:
        text = "\n".join(messages)
        crash = CRASH.search(text)
        if crash:
            bad.append("%s=%r crashed: %s" % (variable, value, text[max(0, crash.start() - 600):crash.end() + 300]))
        elif failed and variable not in text:
            bad.append("%s=%r failed without naming it: %s" % (variable, value, text[-2500:] or "(no message)"))
    return bad
