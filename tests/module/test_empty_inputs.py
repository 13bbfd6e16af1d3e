"""Valid minimal input never crashes the validation roles (playbooks/validate.yml, as
test_validate_playbook runs it: two local "GPU nodes" and a cluster snapshot).

Each list or dict variable of storage_validation, placement_validation and validation_report
is made empty, one at a time, and each optional feature that is on by default is turned off
(check mode: nothing is measured or written).
The run converges, or it refuses with the role's own message naming that variable; it never
stops on an undefined variable or a template error.
"""

import os
import sys

import pytest

from playbook_env import REPO
from test_validate_playbook import run_validate

sys.path.insert(0, os.path.join(REPO, "tests"))
from argspec_cases import CRASH, empty_cases  # noqa: E402  pylint: disable=wrong-import-position

CASES = [(role, variable, value) for role in ("storage_validation", "placement_validation", "validation_report")
         for variable, value in empty_cases(role)]


@pytest.mark.parametrize("role, variable, value", CASES, ids=["%s=%r" % (c[1], c[2]) for c in CASES])
def test_each_variable_empty_converges_or_is_refused_by_name(tmp_path, role, variable, value):
    proc = run_validate(tmp_path, {"validation_report_fail_on": "never", variable: value}, check=True)
    out = proc.stdout + proc.stderr
    crash = CRASH.search(out)
    assert not crash, "%s: %s" % (role, out[max(0, crash.start() - 800):crash.end() + 300])
    if proc.returncode != 0:
        failed = "\n".join(line for line in out.splitlines() if "fatal:" in line or '"msg"' in line)
        assert variable in failed, "%s failed without naming %s:\n%s" % (role, variable, out[-3000:])
