#!/usr/bin/env python
"""What plain filter arguments save, measured side by side in one run through ansible-playbook:

  tensor_fusion's chart values composed from the real chart defaults (../shared/upstream/
  tensor-fusion/values.yaml, read as the role reads `helm show values`: text | from_yaml), by
  - the collection's filter (arguments made plain once, plugins/plugin_utils/plain.py), and
  - the same decision function given Ansible's own arguments (lazy containers of tagged data),
    through a filter of this benchmark's own,
  each in a play of its own, timed by the task's own start and end.

  wrapped / unwrapped : task time with plain arguments vs with Ansible's  (target <= 0.50)

In the role itself, on the lab's inventory, "Compose the chart values" took 20.2 s before and
0.67 s after (a check-mode run of its preflight, measured side by side on 2026-12-03); this
benchmark's play is smaller than the role's, so its ratio is smaller too.

Needs no cluster and no lab. Run through bench/run (which activates the toolchain):
  bench/run filter_arguments
"""

import json
import os
import runpy
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = 0.50
UNWRAPPED = '''
from ansible_collections.gpufleet.cluster.plugins.module_utils import tensor_fusion as tf


class FilterModule(object):
    def filters(self):
        return {"unwrapped_tensor_fusion_values": tf.chart_values}
'''
PLAY = '''
# The role's own flow (roles/tensor_fusion/tasks/preflight.yml): settings as a fact, the chart's
# defaults as the registered output of a command, the values composed from both.
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{defaults}, {vars}]
  tasks:
    - name: Resolve the settings
      ansible.builtin.set_fact:
        settings: "{{ _tensor_fusion_inputs | gpufleet.cluster.tensor_fusion_settings }}"
    - name: Read the chart's default values
      ansible.builtin.command:
        argv: [cat, "{{ values_file }}"]
      register: chart_defaults
      changed_when: false
    - name: Compose the chart values
      ansible.builtin.set_fact:
        values: "{{ settings | %s(chart_defaults.stdout | from_yaml) }}"
    - name: Check them
      ansible.builtin.assert:
        that: values.controller.command | length > 0
'''


def upstream_values():
    """The chart's defaults under ../shared/upstream, found as tests/charts/stage finds them."""
    shared_dir = runpy.run_path(str(REPO / "tests" / "charts" / "stage"))["shared_dir"]
    return shared_dir() / "upstream" / "tensor-fusion" / "values.yaml"


def task_seconds(work, filter_name, values_file):
    playbook = work / ("%s.yml" % filter_name.replace(".", "_"))
    role = REPO / "roles" / "tensor_fusion"
    playbook.write_text((PLAY % filter_name).replace("{defaults}", str(role / "defaults" / "main.yml"))
                        .replace("{vars}", str(role / "vars" / "main.yml")))
    # An empty configuration: the project's ansible.cfg enables a callback that writes to stdout.
    (work / "ansible.cfg").write_text("")
    env = dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_FILTER_PLUGINS=str(work / "filters"))
    proc = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", str(playbook), "-e", json.dumps({
            "values_file": str(values_file), "tensor_fusion_greptimedb_nfs_server": "10.89.40.10"})],
        capture_output=True, text=True, env=env, cwd=str(work), check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit("%s: the play failed" % filter_name)
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    duration = [t for t in tasks if t["task"]["name"] == "Compose the chart values"][0]["task"]["duration"]
    start, end = (datetime.fromisoformat(duration[k].replace("Z", "+00:00")) for k in ("start", "end"))
    return (end - start).total_seconds()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "filters").mkdir()
        (work / "filters" / "unwrapped.py").write_text(UNWRAPPED)
        values_file = upstream_values()
        wrapped = task_seconds(work, "gpufleet.cluster.tensor_fusion_values", values_file)
        unwrapped = task_seconds(work, "unwrapped_tensor_fusion_values", values_file)
    ratio = wrapped / unwrapped
    print("tensor_fusion chart values from the real chart defaults (%s)" % values_file)
    print("  plain arguments (the collection's filter):  %6.2f s" % wrapped)
    print("  Ansible's lazy, tagged arguments:           %6.2f s" % unwrapped)
    ok = ratio <= TARGET
    print("  wrapped/unwrapped %5.3f  target <= %.2f  %s" % (ratio, TARGET, "ok" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
