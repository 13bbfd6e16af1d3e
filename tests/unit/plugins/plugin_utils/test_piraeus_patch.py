"""The operator's patch check (api/v1/patch.go), table-driven."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.piraeus_patch import patch_problems

SMP = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: linstor-satellite
spec:
  template:
    spec:
      priorityClassName: system-node-critical
"""
JSON_PATCH = """- op: add
  path: /spec/template/spec/hostNetwork
  value: true
"""


@pytest.mark.parametrize("patches", [
    [{"patch": SMP}],
    [{"patch": JSON_PATCH, "target": {"kind": "Pod", "name": "satellite"}}],
    [{"patch": '[{"op": "remove", "path": "/spec/template/spec/initContainers/0"}]', "target": {"kind": "DaemonSet"},
      "options": {"allowKindChange": False}}],
    [],
])
def test_patches_the_webhook_accepts(patches):
    assert patch_problems("linstor_satellite_patches", patches) == []


@pytest.mark.parametrize("patches, expected", [
    ([{"patch": JSON_PATCH}], "linstor_satellite_patches[0] has no target; a JSON patch needs one"),
    ([{"patch": "a: [1, 2\n"}], "linstor_satellite_patches[0].patch parses neither as a strategic merge patch"),
    ([{"patch": SMP + "---\n" + SMP}], "parses neither as a strategic merge patch (exactly one YAML object)"),
    ([{"patch": "just text"}], "parses neither"),
    ([{"patch": "- op: upsert\n  path: /spec\n", "target": {"kind": "Pod"}}], "operation 0 has op 'upsert'"),
    ([{"patch": "- op: add\n  path: spec\n", "target": {"kind": "Pod"}}], "operation 0 has path 'spec'"),
    ([{"patch": ""}], "linstor_satellite_patches[0].patch='' is empty"),
    ([{"patch": SMP, "target": {"kind": "Pod", "nodes": "all"}}], "must be a selector with some of group, version"),
    ([{"patch": SMP, "target": {"name": "x\ny"}}], "each selector field is a string on one line"),
    ([{"patch": SMP, "options": {"allowNameChange": "maybe"}}], "must map option names to booleans"),
    ([{"patch": SMP, "targets": {}}], "has unknown keys targets"),
    ({"patch": SMP}, "must be a list of patches"),
])
def test_patches_refused(patches, expected):
    problems = patch_problems("linstor_satellite_patches", patches)
    assert any(expected in p for p in problems), problems
