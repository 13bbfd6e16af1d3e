"""docs/reference.md, README.md's role tables and every role's README.md are generated from the argument
specs and module docs, and up to date."""

import os
import re
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_reference_is_current():
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, "scripts", "gen_reference.py"), "--check"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr


def test_reference_names_every_role():
    with open(os.path.join(REPO, "docs", "reference.md")) as f:
        text = f.read()
    roles = [r for r in os.listdir(os.path.join(REPO, "roles"))
             if os.path.isfile(os.path.join(REPO, "roles", r, "meta", "argument_specs.yml"))] \
        if os.path.isdir(os.path.join(REPO, "roles")) else []
    for role in roles:
        assert "### gpufleet.cluster.%s" % role in text, role


def test_readme_has_a_variable_table_for_every_role():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    block = text.split("<!-- BEGIN role variables", 1)[1].split("<!-- END role variables -->", 1)[0]
    roles = sorted(r for r in os.listdir(os.path.join(REPO, "roles"))
                   if os.path.isfile(os.path.join(REPO, "roles", r, "meta", "argument_specs.yml")))
    assert roles
    for role in roles:
        assert "<summary><code>gpufleet.cluster.%s" % role in block, role
    # Both commands stay the first thing a reader sees.
    assert text.split("\n```bash\n", 1)[1].startswith("scripts/lab ")


ROLES = sorted(r for r in os.listdir(os.path.join(REPO, "roles"))
               if os.path.isfile(os.path.join(REPO, "roles", r, "meta", "argument_specs.yml")))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_readme(role):
    """roles/<role>/README.md, the page Galaxy shows for the role (its importer refuses a role
    without one), is generated from the spec: what the role does, an example playbook, its
    variables. test_reference_is_current keeps it current."""
    path = os.path.join(REPO, "roles", role, "README.md")
    assert os.path.isfile(path), "%s has no README.md: run python scripts/gen_reference.py" % role
    with open(path) as f:
        text = f.read()
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as f:
        specs = yaml.safe_load(f)["argument_specs"]
    assert text.startswith("# gpufleet.cluster.%s\n" % role)
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections == ["What it does", "Example", "Variables"], sections
    example = text.split("\n## Example\n", 1)[1].split("\n## Variables\n", 1)[0]
    variables = text.split("\n## Variables\n", 1)[1]
    assert example.count("```yaml\n") == len(specs), "one example playbook per entry point"
    assert "gpufleet.cluster.%s" % role in example
    for entry, spec in specs.items():
        if len(specs) > 1 or entry != "main":
            assert "### Entry point `%s`" % entry in variables, entry
        for name, opt in (spec.get("options") or {}).items():
            assert "| `%s` |" % name in variables, name
            if (opt or {}).get("required"):
                assert re.search(r"^\s*%s:" % re.escape(name), example, re.M), "the example does not set %s" % name
