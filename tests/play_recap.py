"""An ansible-playbook run's PLAY RECAP as data, for the tests that run playbooks themselves (the
execution environment's jobs, the lab's fault drill and real node)."""

import re

RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def play_recap(stdout):
    """{host: {ok, changed, unreachable, failed}} from a run's PLAY RECAP lines (colour stripped)."""
    recap = {}
    for line in re.sub(r"\x1b\[[0-9;]*m", "", stdout).splitlines():
        match = RECAP.match(line)
        if match:
            host, ok, changed, unreachable, failed = match.groups()
            recap[host] = {"ok": int(ok), "changed": int(changed), "unreachable": int(unreachable),
                           "failed": int(failed)}
    return recap
