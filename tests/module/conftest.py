"""Run the collection's modules through ansible-playbook and read back what they returned.

Each test gets ``run_module(module, args, check=False)``: it writes a one-task playbook that
registers the module's result (failures included) and copies it to a JSON file, runs
ansible-playbook on localhost, and returns the result as a dict. Going through a file keeps the
tests independent of the stdout callback that ansible.cfg configures.
"""

import json
import os
import subprocess

import pytest
import yaml

from playbook_env import FILES, environment


@pytest.fixture
def run_module(tmp_path):
    def run(module, args, check=False, extra_task=None):
        out = tmp_path / "result.json"
        task = {"name": "module under test", module: args, "register": "result", "ignore_errors": True}
        if extra_task:
            task.update(extra_task)
        play = [{
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                task,
                {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(out)},
                 "check_mode": False},
            ],
        }]
        playbook = tmp_path / "playbook.yml"
        playbook.write_text(yaml.safe_dump(play))
        cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)]
        if check:
            cmd.append("--check")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=environment(), cwd=str(tmp_path), check=False)
        assert out.exists(), "ansible-playbook did not run the task:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:])
        result = json.loads(out.read_text())
        # A module that crashes leaves a traceback in module_stderr/exception: never acceptable.
        # (ansible-core 2.19 puts "(traceback unavailable)" on every failure from fail_json.)
        assert "module_stderr" not in result, result
        assert result.get("exception", "(traceback unavailable)") == "(traceback unavailable)", result["exception"]
        return result

    return run


@pytest.fixture
def files():
    return lambda name: os.path.join(FILES, name)
