"""Shared by the module tests: where things are, and the environment ansible-playbook runs in."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "files")
REPO = os.path.dirname(os.path.dirname(HERE))


def environment():
    env = dict(os.environ)
    if not env.get("ANSIBLE_COLLECTIONS_PATH"):
        pytest.skip("ANSIBLE_COLLECTIONS_PATH is not set: run `source scripts/lib.sh && gpufleet_activate` first")
    env.setdefault("ANSIBLE_CONFIG", os.path.join(REPO, "ansible.cfg"))
    env.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    # The fact cache in ansible.cfg is relative to the checkout; keep test runs out of it.
    env["ANSIBLE_CACHE_PLUGIN"] = "memory"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env
