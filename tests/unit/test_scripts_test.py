"""scripts/test itself: a stage stops at its first failing command and is reported FAILED, in a
run of one lane (printed as it goes) and in a run of several lanes side by side.

Runs the real scripts/test and scripts/lib.sh in a scratch copy of the checkout's layout whose
toolchain is two stand-in commands: yamllint fails, ansible-lint records that it ran. (bash
ignores errexit inside a subshell whose status is tested, so `( set -e; stage ) || rc=$?` went on
past yamllint and reported the lint stage ok.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _venv_bin(root, env):
    """The bin directory of the venv scripts/test activates, as lib.sh names it."""
    venv = subprocess.run(["bash", "-c", 'source "$1/scripts/lib.sh" && echo "$GPUFLEET_VENV"', "-", str(root)],
                          env=env, capture_output=True, text=True, check=True).stdout.strip()
    return Path(venv) / "bin"


@pytest.fixture
def scratch(tmp_path):
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    (root / "requirements").mkdir()
    for name in ("scripts/test", "scripts/lib.sh", "requirements/dev.txt", "requirements/constraints.txt"):
        shutil.copy2(REPO / name, root / name)
    bootstrap = root / "scripts" / "bootstrap"
    bootstrap.write_text("#!/bin/sh\nexit 0\n")
    bootstrap.chmod(0o755)
    cache = tmp_path / "cache"
    env = dict(os.environ, GPUFLEET_CACHE=str(cache), GPUFLEET_TEST_OUTPUT=str(tmp_path / "output"))
    env.pop("GPUFLEET_REPO", None)
    tools = _venv_bin(root, env)
    tools.mkdir(parents=True)
    marker = tmp_path / "ansible-lint-ran"
    for name, body in (("yamllint", "echo 'stand-in yamllint: a problem' >&2; exit 1"),
                       ("ansible-lint", "touch '%s'" % marker)):
        (tools / name).write_text("#!/bin/sh\n%s\n" % body)
        (tools / name).chmod(0o755)
    return root, env, marker


def _run(root, env, *stages):
    return subprocess.run([str(root / "scripts" / "test"), *stages], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_one_lane_stage_stops_at_its_first_failing_command(scratch):
    root, env, marker = scratch
    proc = _run(root, env, "lint")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert re.search(r"^lint +FAILED ", out, re.M), out
    assert "stand-in yamllint: a problem" in out
    assert not marker.exists(), "the lint stage went on past yamllint's failure:\n" + out


def test_lanes_side_by_side_report_each_stage_failed(scratch):
    root, env, marker = scratch
    # lint runs in one lane, roles (no tests/roles in this scratch copy) in another.
    proc = _run(root, env, "lint", "roles")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert re.search(r"^lint +FAILED ", out, re.M) and re.search(r"^roles +FAILED ", out, re.M), out
    assert re.search(r"stage lint: FAILED in \d+ s", out), out
    assert "stand-in yamllint: a problem" in out
    assert not marker.exists(), "the lint stage went on past yamllint's failure:\n" + out


JUNIT = """<testsuites><testsuite tests="2" failures="1" errors="0" skipped="0">
<testcase classname="tests.roles.test_x" name="test_refused[a]"><failure message="AssertionError: not refused&#10;assert 1 == 0">
def test_refused():
&gt;       assert rc == 0
E       AssertionError: not refused
tests/roles/test_x.py:12: AssertionError</failure></testcase>
<testcase classname="tests.roles.test_x" name="test_fine"/></testsuite></testsuites>
"""


def test_the_summary_names_each_failed_test_and_the_machines_cpu(scratch, tmp_path):
    """The end of the output (what a truncated CI log keeps) names each failed test from the junit
    files, with its message and where it failed, and says how busy the run kept the machine."""
    root, env, _marker = scratch
    junit = tmp_path / "output" / "junit" / "roles.xml"
    # The stand-in yamllint writes a junit file with one failed test, as a stage's pytest would.
    yamllint = _venv_bin(root, env) / "yamllint"
    (tmp_path / "junit.xml").write_text(JUNIT)
    yamllint.write_text("#!/bin/sh\ncp '%s' '%s'\nexit 1\n" % (tmp_path / "junit.xml", junit))
    proc = _run(root, env, "lint")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    tail = proc.stdout.splitlines()[-4:]
    assert tail[0] == ("FAILED tests.roles.test_x::test_refused[a] (roles.xml): AssertionError: not refused assert 1 == 0"
                       " | >       assert rc == 0 | E       AssertionError: not refused"
                       " | tests/roles/test_x.py:12: AssertionError"), out
    assert tail[1] == "tests: 1 passed, 1 failed, 0 skipped", out
    machine = re.fullmatch(r"machine: \d+ CPU-seconds busy, \d+ idle \((\d+)% busy on \d+ cores\)", tail[2])
    assert machine and 0 <= int(machine.group(1)) <= 100, tail
    assert re.fullmatch(r"suite took \d+ s", tail[3]), tail
