"""docs/reference.md is generated from the argument specs and module docs, and up to date."""

import os
import subprocess
import sys

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
