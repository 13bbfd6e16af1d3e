"""Valid minimal input never crashes a node role.

Each list or dict variable of a node role's argument spec is made empty, one at a time, and
each optional feature that is on by default is turned off, on top of the valid configuration
of test_bad_inputs; the role runs in check mode against the lab node (tests/roles/conftest.py).
The run converges, or it refuses with the role's own message naming that variable; it never
stops on an undefined variable or a template error; and the node is as it was.
"""

import sys

import pytest

from conftest import REPO, failure_message, podman_diff
from test_bad_inputs import BASE

sys.path.insert(0, str(REPO / "tests"))
from argspec_cases import CRASH, empty_cases  # noqa: E402  pylint: disable=wrong-import-position

CASES = [(role, variable, value) for role in sorted(BASE) for variable, value in empty_cases(role)]


@pytest.mark.parametrize("role, variable, value", CASES, ids=["%s=%r" % (c[1], c[2]) for c in CASES])
def test_each_variable_empty_converges_or_is_refused_by_name(target, role, variable, value):
    before = podman_diff()
    rc, report = target.role(role, dict(BASE[role], **{variable: value}), check=True)
    text = str(report)
    crash = CRASH.search(text)
    assert not crash, text[max(0, crash.start() - 600):crash.end() + 300]
    if rc != 0:
        task, message = failure_message(report)
        assert message and variable in message, "%s failed without naming %s: %s" % (task, variable, message)
    assert podman_diff() == before
