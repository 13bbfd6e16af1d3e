"""Test cases derived from the roles' argument specs (shared by tests/integration and tests/roles)."""

from __future__ import annotations

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
