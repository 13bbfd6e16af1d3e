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
    """(variable, value) for each list/dict variable emptied and each default-on bool turned off."""
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    cases = []
    for name, option in spec["argument_specs"][entry_point]["options"].items():
        if option.get("type") == "list":
            cases.append((name, []))
        elif option.get("type") == "dict":
            cases.append((name, {}))
        elif option.get("type") == "bool" and option.get("default") is True:
            cases.append((name, False))
    return cases
