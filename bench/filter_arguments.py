#!/usr/bin/env python
"""What plain arguments save, measured side by side in one run through ansible-playbook:

  tensor_fusion's chart values composed from the real chart defaults (../shared/upstream/
  tensor-fusion/values.yaml, read as the role reads `helm show values`), by
  - the role's plan action plugin (gpufleet.cluster.tensor_fusion_plan: the text parsed in the
    plugin, the role's variables made plain once, plugins/plugin_utils/role_plan.py), and
  - the same decision function given Ansible's own arguments (`stdout | from_yaml`: lazy
    containers of tagged data), through a filter of this benchmark's own,
  each in a play of its own, timed by the task's own start and end.

  plain / lazy : task time of the plan vs the filter on Ansible's data  (target <= 0.50)

In the role itself, on the lab's inventory, "Compose the chart values" took 20.2 s before plain
arguments and 0.67 s after (a check-mode run of its preflight, measured side by side on
2026-12-03); this benchmark's play is smaller than the role's, so its ratio is smaller too.

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
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import role_plan
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import inputs, values


def unwrapped_tensor_fusion_values(chart_defaults, defaults_file):
    with open(defaults_file) as handle:
        settings = inputs.settings(role_plan.unprefixed("tensor_fusion", yaml.safe_load(handle)))
    settings["greptimedb_nfs_server"] = "10.89.40.10"
    return values.chart_values(settings, chart_defaults)


class FilterModule(object):
    def filters(self):
        return {"unwrapped_tensor_fusion_values": unwrapped_tensor_fusion_values}
'''
COMPOSE = {
    # The role's own task (roles/tensor_fusion/tasks/preflight.yml).
    "plan": '''gpufleet.cluster.tensor_fusion_plan:
        chart_defaults: "{{ chart_defaults.stdout }}"
      register: plan''',
    "lazy": '''ansible.builtin.set_fact:
        plan:
          chart_values: "{{ chart_defaults.stdout | from_yaml | unwrapped_tensor_fusion_values(defaults_file) }}"''',
}
PLAY = '''
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{defaults}]
  tasks:
    - name: Read the chart's default values
      ansible.builtin.command:
        argv: [cat, "{{ values_file }}"]
      register: chart_defaults
      changed_when: false
    - name: Compose the chart values
      %s
    - name: Check them
      ansible.builtin.assert:
        that: plan.chart_values.controller.command | length > 0
'''


def upstream_values():
    """The chart's defaults under ../shared/upstream, found as tests/charts/stage finds them."""
    shared_dir = runpy.run_path(str(REPO / "tests" / "charts" / "stage"))["shared_dir"]
    return shared_dir() / "upstream" / "tensor-fusion" / "values.yaml"


def task_seconds(work, variant, values_file):
    playbook = work / ("%s.yml" % variant)
    defaults = REPO / "roles" / "tensor_fusion" / "defaults" / "main.yml"
    playbook.write_text((PLAY % COMPOSE[variant]).replace("{defaults}", str(defaults)))
    # An empty configuration: the project's ansible.cfg enables a callback that writes to stdout.
    (work / "ansible.cfg").write_text("")
    env = dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_FILTER_PLUGINS=str(work / "filters"))
    proc = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", str(playbook), "-e", json.dumps({
            "values_file": str(values_file), "defaults_file": str(defaults),
            "tensor_fusion_greptimedb_nfs_server": "10.89.40.10"})],
        capture_output=True, text=True, env=env, cwd=str(work), check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit("%s: the play failed" % variant)
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
        plain = task_seconds(work, "plan", values_file)
        lazy = task_seconds(work, "lazy", values_file)
    ratio = plain / lazy
    print("tensor_fusion chart values from the real chart defaults (%s)" % values_file)
    print("  the role's plan (plain data):               %6.2f s" % plain)
    print("  Ansible's lazy, tagged arguments:           %6.2f s" % lazy)
    ok = ratio <= TARGET
    print("  plain/lazy %5.3f  target <= %.2f  %s" % (ratio, TARGET, "ok" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
