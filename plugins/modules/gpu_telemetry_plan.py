#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name
# (plugins/action/gpu_telemetry_plan.py, over plugins/plugin_utils/gpu_telemetry/); this file holds its documentation.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gpu_telemetry_plan
short_description: Make every decision of the gpu_telemetry role, on the controller
version_added: 0.2.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - "The plan of P(gpufleet.cluster.gpu_telemetry#role): reads the role's variables (every option of the role's
    argument spec, C(gpu_telemetry_*), from the task's variables), checks them against that spec and returns what the
    role's tasks need: the problems (the role refuses them before anything changes), the credentials Secret's data,
    whether the queue is installed alone first, the chart values and the values that change, the report section."
  - "The role calls it in its preflight four times (with the CSV file's stat: the variables' problems; with the
    objects it read: the namespace, the release, the TLS Secret; with the chart rendered, for the server-side dry
    run; with the dry run's answer), before the chart runs (the credentials Secret as written
    and the CSV's checksum) and in its verify step (the report section)."
  - "Never changes anything, reads nothing from the cluster itself, and always hides its result (C(no_log)): the
    credentials hold the MongoDB URI and the Redis URL. Problems never name them."
options:
  observed:
    description:
      - What the role read, by name. A key left out was not read yet, and the decisions that need it are not made;
        a key given as null (or an empty list of resources) was read and not found.
      - "C(csv_stat): the controller's stat of C(gpu_telemetry_streamer_csv_file); given, the role's variables are
        checked (RV(problems)). The plugin then reads the file's first 4 KiB on the controller: a file that is not
        text or does not start with a CSV header line (a key, a kubeconfig, a password file) is a problem, and its
        content is never quoted; the role would publish it as it is in a ConfigMap."
      - "Read in the preflight (they give RV(queue_first), RV(namespace_object), RV(credentials_secret),
        RV(csv_config_map), RV(csv_key) and
        the problems with the namespace and the TLS Secret): C(namespace), C(release) (the release's status as
        C(kubernetes.core.helm_info) returns it), C(tls_secret)."
      - "Read to dry-run (with C(namespace), they give RV(dry_run_objects) and RV(dry_run_left_out)): C(manifest) (the
        chart rendered with RV(chart_values) by C(helm template) for the API server's Kubernetes version)."
      - "The dry run's answer: C(dry_run) (the registered result of C(kubernetes.core.k8s) in check mode on
        RV(dry_run_objects)); a refusal becomes a problem, with the URIs blanked, plain and base64."
      - "Before the chart runs (they give RV(chart_values), RV(chart_values_queue_only) and RV(changed_values)):
        C(release), C(secret_version) (the credentials Secret's resourceVersion: the pods roll when it changes),
        C(csv_checksum) (sha256 of the CSV)."
      - "Read to report (they give RV(report_section)): C(release_after), C(workloads) (the release's StatefulSet
        and Deployments), C(autoscalers), C(pods) (the release's pods: the nodes each workload's ready pods run on)."
      - Objects are given as a k8s_info result's C(resources) (a list) or as one object.
    type: dict
    default: {}
extends_documentation_fragment:
  - gpufleet.cluster.plan
notes:
  - The logic is pure Python in C(plugins/plugin_utils/gpu_telemetry/) (inputs, values, report, plan), unit-tested
    without mocks.
"""

EXAMPLES = r"""
- name: Plan from the role's variables
  gpufleet.cluster.gpu_telemetry_plan:
    observed:
      csv_stat: "{{ __csv_stat.stat | default({}) }}"
  register: __gpu_telemetry_plan

- name: Refuse what is wrong before anything changes
  ansible.builtin.assert:
    that: __gpu_telemetry_plan.problems | length == 0
    fail_msg: "gpu_telemetry: {{ __gpu_telemetry_plan.problems | join(' | ') }}"
    quiet: true
"""

RETURN = r"""
problems:
  description: What is wrong, one sentence each, naming the variable, its value (never a URL with credentials) and the fix.
  returned: always
  type: list
  elements: str
queue_first:
  description: No release yet, or one that stopped after its first stage; the queue is installed alone first.
  returned: when the preflight's objects are in O(observed)
  type: bool
namespace_object:
  description: The namespace the role creates, with its Pod Security labels (C(gpu_telemetry_namespace_pod_security)).
  returned: when the preflight's objects are in O(observed)
  type: dict
credentials_secret:
  description:
    - The credentials Secret the chart only names; its data (base64) holds C(MONGODB_URI) and, with the redis
      backend, C(REDIS_URL).
  returned: when the preflight's objects are in O(observed)
  type: dict
dry_run_objects:
  description: The objects a server-side dry run can take now (the namespace, the Secret, the chart's render).
  returned: when the objects read to dry-run are in O(observed)
  type: list
  elements: dict
dry_run_left_out:
  description:
    - The objects the API server cannot take yet, each with C(object) and C(reason) (a namespace that does not exist
      yet, a custom resource whose definition is not installed).
  returned: when the objects read to dry-run are in O(observed)
  type: list
  elements: dict
csv_config_map:
  description: The ConfigMap of the metrics CSV without its data (the role adds the file's content under RV(csv_key)).
  returned: when the preflight's objects are in O(observed)
  type: dict
csv_key:
  description: The key of the metrics CSV in its ConfigMap, as the chart's streamers read it.
  returned: when the preflight's objects are in O(observed)
  type: str
chart_values:
  description: The chart's values, every key set, typed (extra vars' strings of digits as numbers), nothing secret.
  returned: when the objects read before the chart runs are in O(observed)
  type: dict
chart_values_queue_only:
  description: The same values with C(queueOnly) true (the first stage of a fresh install).
  returned: when the objects read before the chart runs are in O(observed)
  type: dict
changed_values:
  description: The chart values that differ from the release's, as C(path, old -> new) lines (for --diff).
  returned: when the objects read before the chart runs are in O(observed)
  type: list
  elements: str
report_section:
  description: The gpu_telemetry section of the validation report (tables, problems with a severity, notes).
  returned: when the objects read to report are in O(observed)
  type: dict
"""
