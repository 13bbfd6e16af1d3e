#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name
# (plugins/action/model_storage_plan.py, over plugins/plugin_utils/model_storage/); this file holds its documentation.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: model_storage_plan
short_description: Make every decision of the model_storage role, on the controller
version_added: 0.2.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - "The plan of P(gpufleet.cluster.model_storage#role): reads the role's variables (every option of the entry
    point's argument spec, C(model_storage_*), from the task's variables), checks them against that spec and returns
    what the role's tasks need: the problems (the role refuses them before anything changes), the hosts that hold each
    model, the model volume, its claim, the StorageClass and OME's model objects, OME's install values, the volume to
    bind again, the objects for a server-side dry run, the report section."
  - "The role calls it on every GPU host (O(entry_point=inspect), with the stat results of the model directories),
    then in its preflight three times (with every host's inspection; with what
    M(gpufleet.cluster.model_storage_info) read; with the dry run's answer) and in its verify step (with what it read
    back)."
  - Never changes anything and reads nothing from a host or the cluster itself.
options:
  entry_point:
    description:
      - The role's entry point whose variables are read and checked. V(inspect) reads only what a GPU host's
        inspection needs (the model root, the models, the marker and C(model_storage_node_name)).
    type: str
    choices: [main, inspect]
    default: main
  observed:
    description:
      - What the role read, by name. A key left out was not read yet, and the decisions that need it are not made.
      - "On a GPU host (with O(entry_point=inspect)): C(root) (the stat of the model root), C(dirs) and C(markers)
        (the registered stat loops over the models: each model's directory, not followed, and its marker file,
        followed); they give RV(inspection)."
      - "C(inspections): each host of C(model_storage_hosts_group) mapped to its RV(inspection) (null for a host that
        did not report); gives RV(problems) with the variables and the hosts, RV(models), RV(nodes), RV(objects) and
        RV(ome_values). Every later step gives it again."
      - "C(cluster): the result of M(gpufleet.cluster.model_storage_info) in the preflight; gives the problems with the
        cluster, RV(install_objects), RV(apply_objects), RV(model_objects), RV(rebind), RV(dry_run_objects) and
        RV(dry_run_left_out)."
      - "C(dry_run): the registered result of C(kubernetes.core.k8s) in check mode on RV(dry_run_objects); a refusal
        becomes a problem with the API server's sentence."
      - "C(readback) (M(gpufleet.cluster.model_storage_info) after applying) and C(placement)
        (M(gpufleet.cluster.pv_affinity_info)'s findings), with C(inspections) and C(cluster): give RV(report_section)
        and RV(report_errors)."
    type: dict
    default: {}
extends_documentation_fragment:
  - gpufleet.cluster.plan
notes:
  - The logic is pure Python in C(plugins/plugin_utils/model_storage/) (inputs, hosts, objects, report, plan),
    unit-tested without mocks.
"""

EXAMPLES = r"""
- name: What this host holds
  gpufleet.cluster.model_storage_plan:
    entry_point: inspect
    observed:
      root: "{{ __root }}"
      dirs: "{{ __dirs }}"
      markers: "{{ __markers }}"
  register: __inspect

- name: Plan the model volume from the hosts that hold the models
  gpufleet.cluster.model_storage_plan:
    observed:
      inspections: "{{ dict(groups['gpu_nodes'] | zip(groups['gpu_nodes'] | map('extract', hostvars)
                       | map(attribute='model_storage_inspection', default=none))) }}"
  register: __plan

- name: Refuse what is wrong before anything changes
  ansible.builtin.assert:
    that: __plan.problems | length == 0
    fail_msg: "model_storage: {{ __plan.problems | join(' | ') }}"
    quiet: true
"""

RETURN = r"""
problems:
  description: What is wrong, one sentence each, naming the variable (or host, or object), the value and the fix.
  returned: always
  type: list
  elements: str
inspection:
  description:
    - What this host holds (C(node), C(root), C(root_stat), C(models) with each model's state, C(host)).
  returned: with O(entry_point=inspect)
  type: dict
warnings:
  description: What the hosts' inspections found that does not stop the role (a host that did not report).
  returned: when C(inspections) is in O(observed)
  type: list
  elements: str
notes:
  description: What the report notes (incomplete downloads, holders left out of the volume).
  returned: when C(inspections) is in O(observed)
  type: list
  elements: str
models:
  description: Per model, the nodes that hold it and the state on every host.
  returned: when C(inspections) is in O(observed)
  type: list
  elements: dict
nodes:
  description: The nodes the model volume admits.
  returned: when C(inspections) is in O(observed)
  type: list
  elements: str
objects:
  description: C(storage_class), C(pv), C(pvc) and C(models) (every planned model object); empty without models.
  returned: when C(inspections) is in O(observed)
  type: dict
ome_values:
  description: The values to install OME with (its model agent on the model root).
  returned: when C(inspections) is in O(observed)
  type: dict
install_objects:
  description: The namespace and the StorageClass, as far as the role manages them.
  returned: when C(cluster) is in O(observed) and there are objects
  type: list
  elements: dict
apply_objects:
  description: The volume, its claim and RV(model_objects).
  returned: when C(cluster) is in O(observed) and there are objects
  type: list
  elements: dict
model_objects:
  description: The model objects to apply, only the kinds whose CRD is installed, and none without C(model_storage_ome_objects).
  returned: when C(cluster) is in O(observed) and there are objects
  type: list
  elements: dict
rebind:
  description:
    - C(action) (C(none), C(rebind) or C(refuse)), C(message) and C(patch) (for the volume to bind again to a claim made
      again, keeping its files).
  returned: when C(cluster) is in O(observed) and there are objects
  type: dict
cluster_warnings:
  description: What the cluster has that does not stop the role (an OME version that cannot be read).
  returned: when C(cluster) is in O(observed) and there are objects
  type: list
  elements: str
infos:
  description: What the report notes about the cluster (OME's CRDs not installed yet).
  returned: when C(cluster) is in O(observed) and there are objects
  type: list
  elements: str
version:
  description: The OME version in use (C(model_storage_ome_version), else the controller's image tag; empty when unknown).
  returned: when C(cluster) is in O(observed) and there are objects
  type: str
dry_run_objects:
  description: The objects a server-side dry run can take now.
  returned: when C(cluster) is in O(observed) and there are objects
  type: list
  elements: dict
dry_run_left_out:
  description:
    - The objects the API server cannot take yet, each with C(object) and C(reason) (in a namespace that does not exist
      yet).
  returned: when C(cluster) is in O(observed) and there are objects
  type: list
  elements: dict
report_section:
  description: The model_storage section of the validation report.
  returned: when C(readback) and C(placement) are in O(observed)
  type: dict
report_errors:
  description: The errors the role fails on after applying (the section's, and pv_affinity_info's about the model volume).
  returned: when C(readback) and C(placement) are in O(observed)
  type: list
  elements: str
"""
