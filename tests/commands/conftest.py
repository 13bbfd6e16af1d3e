"""scripts/lab once for the commands stage: tests/commands/test_readme_commands.py checks what it
did and printed, tests/commands/test_real_node.py proves the lab's real node on the lab it left
(and takes it down at the end, checking that nothing of it is left)."""

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from realnode import host_sysctls, kubepods_cgroups

REPO = Path(__file__).resolve().parents[2]
REPORT = re.compile(r"^Validation report: (\S+)/report\.html$", re.M)


def scripts(*args, timeout=1800):
    """One of the README's commands in this checkout: (exit status, output)."""
    proc = subprocess.run([str(REPO / "scripts" / args[0]), *args[1:]], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def lab_is_up():
    out = subprocess.run(["podman", "ps", "--filter", "name=^gpufleet-lab-", "--format", "{{.Names}}"],
                         capture_output=True, text=True, check=False).stdout
    return bool(out.strip())


@pytest.fixture(scope="session")
def scripts_lab():
    """scripts/lab's run: rc, out, report (its directory, or None), was_up (a lab was up before it),
    and the host's kernel settings and kubepods cgroups from before it (before its real node)."""
    before = SimpleNamespace(sysctls=host_sysctls(), kubepods=kubepods_cgroups(), was_up=lab_is_up())
    rc, out = scripts("lab")
    match = REPORT.search(out)
    run = SimpleNamespace(rc=rc, out=out, report=Path(match.group(1)) if match else None, was_up=before.was_up,
                          sysctl_before=before.sysctls, kubepods_before=before.kubepods)
    yield run
    if run.report:
        shutil.rmtree(run.report, ignore_errors=True)
    if not run.was_up:
        scripts("lab", "down")
