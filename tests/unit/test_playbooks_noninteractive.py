"""Every playbook runs without a person at the keyboard (AWX has none): no vars_prompt, no pause
that waits for input, no value read from the controller's home directory -- in the playbooks and
in every task file of the roles they run."""

import glob
import os
import re

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOKS = sorted(glob.glob(os.path.join(REPO, "playbooks", "*.yml")))
TASK_FILES = sorted(glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml"))
                    + glob.glob(os.path.join(REPO, "roles", "*", "handlers", "*.yml")))
PAUSE = ("pause", "ansible.builtin.pause", "ansible.legacy.pause")
# The controller's home: ~ paths, $HOME, expanduser, lookup('env', 'HOME').
HOME = re.compile(r"(^|[\s'\"=(])~/|\$HOME\b|\bexpanduser\b|lookup\(\s*['\"](ansible\.builtin\.)?env['\"]\s*,\s*['\"]HOME['\"]")


def _tasks(items):
    for item in items or []:
        if not isinstance(item, dict):
            continue
        yield item
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from _tasks(item.get(key))


def _load(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or []


def _problems(path):
    problems = []
    with open(path) as handle:
        text = handle.read()
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0] if line.lstrip().startswith("#") else line
        if HOME.search(code):
            problems.append("%s:%d reads from the home directory: %s" % (os.path.relpath(path, REPO), number, line.strip()))
    for item in _tasks(_load(path)):
        if "vars_prompt" in item:
            problems.append("%s: play %r has vars_prompt" % (os.path.relpath(path, REPO), item.get("name")))
        for key in PAUSE:
            if key in item:
                args = item[key] if isinstance(item[key], dict) else {}
                if not ("seconds" in args or "minutes" in args) or "prompt" in args:
                    problems.append("%s: task %r pauses for input" % (os.path.relpath(path, REPO), item.get("name")))
    return problems


def test_there_are_playbooks_and_task_files():
    assert len(PLAYBOOKS) >= 9 and os.path.join(REPO, "playbooks", "awx_configure.yml") in PLAYBOOKS
    assert len(TASK_FILES) > 30


@pytest.mark.parametrize("path", PLAYBOOKS + TASK_FILES, ids=lambda p: os.path.relpath(p, REPO))
def test_nothing_waits_for_a_person_or_reads_the_home_directory(path):
    assert _problems(path) == []


def test_the_checker_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("""
- name: p
  hosts: all
  vars_prompt: [{name: x}]
  tasks:
    - name: wait
      ansible.builtin.pause: {prompt: "go on"}
    - name: b
      block:
        - name: key
          ansible.builtin.slurp: {src: ~/.ssh/id_rsa}
        - name: h
          ansible.builtin.debug: {msg: "{{ lookup('env', 'HOME') }}"}
""")
    problems = _problems(str(bad))
    assert any("has vars_prompt" in p for p in problems)
    assert any("'wait' pauses for input" in p for p in problems)
    assert sum("reads from the home directory" in p for p in problems) == 2
