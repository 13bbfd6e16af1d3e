"""Run the collection's modules through ansible-playbook and read back what they returned.

Each test gets ``run_module(module, args, check=False)``: it writes a one-task playbook, runs
ansible-playbook on localhost with the JSON stdout callback (ansible.posix.json, set here
whatever ansible.cfg says), and returns the task's result (failures included) as a dict. No
second task copies the result to a file: that was a module run of its own (about 1 s each).
"""

import os
import subprocess
import sys

import pytest
import yaml

from playbook_env import FILES, REPO, environment

sys.path.insert(0, os.path.join(REPO, "tests"))
from argspec_cases import json_report  # noqa: E402  pylint: disable=wrong-import-position


def _task_result(proc):
    """The result of the task "module under test" in ansible.posix.json's report on stdout."""
    try:
        report = json_report(proc.stdout)
        tasks = [t for play in report["plays"] for t in play["tasks"] if t["task"]["name"] == "module under test"]
        return tasks[0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("ansible-playbook did not run the task:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))


@pytest.fixture
def run_module(tmp_path):
    def run(module, args, check=False, extra_task=None):
        task = {"name": "module under test", module: args, "ignore_errors": True}
        if extra_task:
            task.update(extra_task)
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]
        playbook = tmp_path / "playbook.yml"
        playbook.write_text(yaml.safe_dump(play))
        cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)]
        if check:
            cmd.append("--check")
        env = dict(environment(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
        result = _task_result(proc)
        # A module that crashes leaves a traceback in module_stderr/exception: never acceptable.
        # (ansible-core 2.19 puts "(traceback unavailable)" on every failure from fail_json.)
        assert "module_stderr" not in result, result
        assert result.get("exception", "(traceback unavailable)") == "(traceback unavailable)", result["exception"]
        return result

    return run


@pytest.fixture
def files():
    return lambda name: os.path.join(FILES, name)
