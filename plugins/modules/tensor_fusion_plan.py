#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name
# (plugins/action/tensor_fusion_plan.py, over plugins/plugin_utils/tensor_fusion/); this file holds its documentation.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: tensor_fusion_plan
short_description: Make every decision of the tensor_fusion role, on the controller
version_added: 0.2.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - "The plan of P(gpufleet.cluster.tensor_fusion#role): reads the role's variables (every option of the role's
    argument spec, C(tensor_fusion_*), from the task's variables), checks them against that spec, lays them over the
    profile they name and returns what the role's tasks need: the problems (the role refuses them before anything
    changes), the settings, the chart values, the objects to apply and, as the objects the role read are given in
    O(observed), the decisions that depend on them."
  - "The role calls it in its preflight four times (the variables alone, so that nothing is read from the API under
    a name that was not checked; with the chart's defaults and the objects read; with the chart rendered, for the
    server-side dry run; with the dry run's answer), after the chart ran (the controller's config files) and in its
    verify step (the report section)."
  - "Never changes anything, reads nothing from the cluster itself, and always hides its result (C(no_log)): the
    settings and chart values hold what the user gave, passwords and tokens included. The role shows the problems."
options:
  chart_defaults:
    description:
      - The chart's default values as C(helm show values) prints them (YAML text). Given, the result holds
        RV(chart_values), composed from them (Helm replaces lists whole, so the controller command, the alert rules and the
        scheduler profiles restate the chart's own), and a problem when they are not the tensor-fusion chart's.
    type: str
  observed:
    description:
      - What the role read from the API, by name. A key left out was not read yet, and the decisions that need it
        are not made; a key given as null (or an empty list of resources) was read and not found.
      - "Read in the preflight (together they give RV(rebind), RV(force_upgrade), RV(changed_paths),
        RV(restart_hypervisors), RV(apply_cluster) and the problems with GreptimeDB's existing volume and claim):
        C(release) (the release's status as C(kubernetes.core.helm_info) returns it), C(config_map) (the controller's
        ConfigMap), C(greptime_namespace), C(greptime_volume), C(greptime_claim), C(greptime_statefulset),
        C(greptime_node) (the node of a hostPath volume; null when the volume is not a hostPath: an empty list is a
        problem naming the node)."
      - "Read to dry-run (they give RV(dry_run_objects) and RV(dry_run_left_out)): C(manifest) (the chart rendered
        with RV(chart_values), C(kubernetes.core.helm_template)'s C(stdout)), C(release_namespace),
        C(greptime_namespace), C(cluster_crd) (the TensorFusionCluster CustomResourceDefinition)."
      - "The dry run's answer: C(dry_run) (the registered result of C(kubernetes.core.k8s) in check mode on
        RV(dry_run_objects)); a refusal becomes a problem, with every secret the role was given blanked."
      - "Read after the chart ran (with C(release) and C(config_map), they give RV(restart_hash)):
        C(config_map_after), C(controller) (the controller Deployment)."
      - "Read to report (they give RV(report_section) and RV(blocked)): C(release_after), C(greptime_volume_after),
        C(greptime_claim_after), C(alertmanager_claims), C(statefulsets), C(cluster) (the role's
        TensorFusionCluster), C(chart_cluster) (one the chart made)."
      - "The error message of a task that carried the chart values, whose result C(no_log) hid: C(failure) (it gives
        RV(failure_message))."
      - Objects are given as a k8s_info result's C(resources) (a list) or as one object.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    details:
      - Only decides; in check mode the objects a dry run cannot take are left out of RV(storage_objects).
  diff_mode:
    support: none
extends_documentation_fragment:
  - gpufleet.cluster.read_only
notes:
  - The logic is pure Python in C(plugins/plugin_utils/tensor_fusion/) (inputs, values, objects, report, plan),
    unit-tested without mocks.
"""

EXAMPLES = r"""
- name: Plan from the role's variables
  gpufleet.cluster.tensor_fusion_plan:
  register: __tensor_fusion_plan

- name: Refuse what is wrong before anything changes
  ansible.builtin.assert:
    that: __tensor_fusion_plan.problems | length == 0
    fail_msg: "tensor_fusion: {{ __tensor_fusion_plan.problems | join(' | ') }}"
    quiet: true

- name: Plan against the chart's defaults and what the cluster holds
  gpufleet.cluster.tensor_fusion_plan:
    chart_defaults: "{{ __chart_defaults.stdout }}"
    observed:
      release: "{{ __release.status | default(none) }}"
      config_map: "{{ __config_map.resources }}"
      greptime_namespace: "{{ __namespace.resources }}"
      greptime_volume: "{{ __volume.resources | default([]) }}"
      greptime_claim: "{{ __claim.resources | default([]) }}"
      greptime_statefulset: "{{ __statefulset.resources | default([]) }}"
  register: __tensor_fusion_plan
"""

RETURN = r"""
problems:
  description: What is wrong, one sentence each, naming the variable, its value (never a secret) and the fix.
  returned: always
  type: list
  elements: str
settings:
  description: The role's variables (without the prefix) laid over their profile; holds the GreptimeDB password.
  returned: always
  type: dict
cluster_object:
  description: The TensorFusionCluster the role applies.
  returned: when there is no problem with the variables
  type: dict
namespace_objects:
  description:
    - The namespaces the role creates before the chart, with their Pod Security labels, C(tensor-fusion-sys)
      (C(tensor_fusion_namespace_pod_security)) and, in standalone mode, C(greptimedb)
      (C(tensor_fusion_greptimedb_namespace_pod_security)) with Helm's ownership metadata.
  returned: when there is no problem with the variables
  type: list
  elements: dict
storage_objects:
  description:
    - GreptimeDB's StorageClass, PersistentVolume and pre-bound claim (standalone mode; empty otherwise).
    - With O(observed), in check mode, without the claim when its namespace does not exist yet.
  returned: when there is no problem with the variables
  type: list
  elements: dict
greptime_security_context:
  description:
    - The pod C(securityContext) (C(runAsNonRoot), C(runAsUser), C(runAsGroup)) GreptimeDB's StatefulSet is patched
      with after the chart ran, on an NFS volume (its export belongs to the service's ids and squashes root; the
      chart sets none); null otherwise.
  returned: when there is no problem with the variables
  type: dict
reads:
  description:
    - What the role reads from the API, as M(gpufleet.cluster.k8s_objects_info) queries keyed like O(observed)
      (C(cluster) in the preflight, C(restart) after the chart ran, C(verify) to report).
  returned: when there is no problem with the variables
  type: dict
chart_values:
  description: The chart values (they hold the GreptimeDB password and the AlertManager configuration).
  returned: when O(chart_defaults) is given and there is no problem
  type: dict
chart_values_redacted:
  description:
    - RV(chart_values) with every credential replaced by C(<redacted>) (by key name, a URL with user information, a
      receiver URL that is the secret itself), which is what a task may show.
  returned: when O(chart_defaults) is given and there is no problem
  type: dict
rebind:
  description:
    - What to do with GreptimeDB's existing volume so that its claim binds it, C(action) one of C(none), C(rebind)
      (C(patch) is a JSON merge patch that clears a deleted claim's uid, keeping the data) or C(refuse) (a problem).
  returned: when the preflight's objects are in O(observed)
  type: dict
force_upgrade:
  description: The release is deployed but GreptimeDB's StatefulSet is gone; Helm must upgrade to make it again.
  returned: when the preflight's objects are in O(observed)
  type: bool
changed_paths:
  description: The paths of the chart values that differ from the release's (never the values).
  returned: when the preflight's objects are in O(observed)
  type: list
  elements: str
restart_hypervisors:
  description: Progressive migration is being switched on for an existing release; the hypervisor pods restart.
  returned: when the preflight's objects are in O(observed)
  type: bool
apply_cluster:
  description: The TensorFusionCluster can be applied (false in check mode before the chart's first install).
  returned: when the preflight's objects are in O(observed)
  type: bool
dry_run_objects:
  description:
    - The objects a server-side dry run can take now, the chart's render first, then the role's own (the GreptimeDB
      namespace, storage objects, the TensorFusionCluster); each namespaced one has its namespace.
  returned: when the objects read to dry-run are in O(observed)
  type: list
  elements: dict
dry_run_left_out:
  description:
    - The objects the API server cannot take yet, each with C(object) (Kind/namespace/name) and C(reason) (a namespace
      that does not exist yet, a custom resource whose definition is not installed yet). Helm writes them.
  returned: when the objects read to dry-run are in O(observed)
  type: list
  elements: dict
restart_hash:
  description: The hash of the controller's config files to stamp on its pod template, or empty when no restart is due.
  returned: when the objects read after the chart ran are in O(observed)
  type: str
blocked:
  description: Why GreptimeDB's claim can never bind its volume, or empty.
  returned: when the objects read to report are in O(observed)
  type: str
report_section:
  description: The tensor_fusion section of the validation report (tables, problems with a severity, notes).
  returned: when the objects read to report are in O(observed)
  type: dict
failure_message:
  description: C(failure) of O(observed) with every credential the role was given (and its base64 form) replaced by C(<redacted>).
  returned: when C(failure) is in O(observed)
  type: str
"""
