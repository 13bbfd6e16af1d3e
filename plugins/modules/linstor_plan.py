#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name
# (plugins/action/linstor_plan.py, over plugins/plugin_utils/linstor/); this file holds its documentation.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: linstor_plan
short_description: Make every decision of the linstor role, on the controller
version_added: 0.2.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - "The plan of P(gpufleet.cluster.linstor#role): reads the role's variables (every option of the role's argument
    spec, C(linstor_*), from the task's variables), checks them against that spec and returns what the role's tasks
    need: the problems (the role refuses them before anything changes), every object it writes (the LinstorCluster,
    the satellite configuration, the StorageClasses, the claims, the benchmark Job), what the install needs to know
    about the cluster (missing CRDs, a pending release, StorageClasses to replace), the benchmark's figures and the
    report section."
  - "The role calls it in its preflight four times (with nothing read: the variables; with what the cluster holds;
    with the chart rendered, for the server-side dry run; with the dry run's answer), after the benchmark Job (its
    figures) and in its verify step (the report section and the lines it prints)."
  - Never changes anything and reads nothing from the cluster itself.
options:
  observed:
    description:
      - What the role read, by name. A key left out was not read yet, and the decisions that need it are not made.
      - "Without any: the variables' problems, RV(cluster_object), RV(satellite_configuration_object),
        RV(storage_class_objects), RV(claim_objects), RV(claim_namespaces), RV(namespace_object), RV(job_affinity),
        RV(benchmark_job),
        RV(operator_deployment), RV(crd_names)."
      - "C(nodes), C(namespaces), C(crds) (the Piraeus CRDs found), C(satellite_configuration), C(storage_classes)
        (the classes of C(linstor_storage_classes) that exist), C(release) (the release's status as
        C(kubernetes.core.helm_info) returns it, or null): the problems with what the cluster holds (unknown storage
        nodes, zones, claims' namespaces, CRDs the chart would not install, a changed pool, a StorageClass whose
        immutable fields change, a release left pending), RV(crds_missing), RV(crds_established), RV(class_changes),
        RV(class_diff), RV(replace_classes), RV(release_pending), RV(pending_record), RV(force_upgrade), RV(claim_namespace_objects)."
      - "With those, when the release is C(pending-*): C(pending_records) (the metadata of its release records of that
        status, Secrets C(owner=helm)): the record RV(pending_record) a recovery removes, or why not (not the revision
        C(linstor_recover_pending_revision) names, younger than C(linstor_pending_release_min_age))."
      - "With those: C(manifest) (the chart rendered with C(linstor_chart_values)) and C(release_namespace) (the
        operator's namespace, if it exists): RV(dry_run_objects) and RV(dry_run_left_out)."
      - "C(dry_run) (the registered result of C(kubernetes.core.k8s) in check mode on RV(dry_run_objects)): a refusal
        becomes a problem with the API server's sentence."
      - "C(fio_done), C(fio_pods), C(fio_log) (the benchmark Job's wait, pods and log): RV(benchmark)."
      - "C(release_after), C(objects), C(controller_service), C(controller), C(storage_classes_after), C(claims),
        C(pods), C(pvs), C(benchmark) (what verify read): RV(report_section), RV(summary_lines)."
      - "C(failure) (the error message of the helm task, whose result C(no_log) hid): RV(failure_message)."
      - Objects are given as a list of k8s_info resources.
    type: dict
    default: {}
extends_documentation_fragment:
  - gpufleet.cluster.plan
notes:
  - The logic is pure Python in C(plugins/plugin_utils/linstor/) (inputs, objects, plan) over the shared checks of
    C(plugins/module_utils/linstor.py), unit-tested without mocks.
"""

EXAMPLES = r"""
- name: Plan from the role's variables
  gpufleet.cluster.linstor_plan:
  register: __linstor_plan

- name: Refuse what is wrong before anything changes
  ansible.builtin.assert:
    that: __linstor_plan.problems | length == 0
    fail_msg: "linstor: {{ __linstor_plan.problems | join(' | ') }}"
    quiet: true
"""

RETURN = r"""
problems:
  description: What stops the role, one sentence each, naming the variable, the value and the fix.
  returned: always
  type: list
  elements: str
chart_values_redacted:
  description: C(linstor_chart_values) with every credential replaced by C(<redacted>) (what a task may show).
  returned: when the variables have no problem
  type: dict
cluster_object:
  description: The LinstorCluster (satellite placement, tolerations, C(linstor_cluster_spec) merged over them).
  returned: when the variables have no problem
  type: dict
satellite_configuration_object:
  description: The LinstorSatelliteConfiguration (storage pools, node selector, properties, patches, tolerations).
  returned: when the variables have no problem
  type: dict
storage_class_objects:
  description: The StorageClass of each entry of C(linstor_storage_classes).
  returned: when the variables have no problem
  type: list
  elements: dict
claim_objects:
  description: The PersistentVolumeClaim of each entry of C(linstor_pvcs).
  returned: when the variables have no problem
  type: list
  elements: dict
claim_namespaces:
  description: The claims' namespaces the role creates (only with C(linstor_create_claim_namespaces)).
  returned: when the variables have no problem
  type: list
  elements: str
namespace_object:
  description: The operator's Namespace with its Pod Security labels (C(linstor_namespace_pod_security)).
  returned: when the variables have no problem
  type: dict
claim_namespace_objects:
  description:
    - The claims' namespaces the role creates, those that do not exist yet, with their Pod Security labels
      (C(linstor_claim_namespace_pod_security)); empty without C(linstor_create_claim_namespaces).
  returned: when the cluster's objects are in O(observed)
  type: list
  elements: dict
job_affinity:
  description: The affinity block pinning jobs to C(linstor_job_zones) and C(linstor_job_gpu_products) ({} without zones).
  returned: when the variables have no problem
  type: dict
benchmark_job:
  description: The seed's fio benchmark Job (null unless C(linstor_fio_benchmark)).
  returned: when the variables have no problem
  type: dict
operator_deployment:
  description: The name of the chart's operator Deployment.
  returned: when the variables have no problem
  type: str
crd_names:
  description: The Piraeus CRDs the operator needs, in the order the role reads them.
  returned: when the variables have no problem
  type: list
  elements: str
cluster_reads:
  description: What the preflight reads from the API, as M(gpufleet.cluster.k8s_objects_info) queries keyed like O(observed).
  returned: when the variables have no problem
  type: list
  elements: dict
verify_reads:
  description: What the verify step reads to report (but the pods and the bound volumes), as M(gpufleet.cluster.k8s_objects_info) queries.
  returned: when the variables have no problem
  type: list
  elements: dict
crds_missing:
  description: The Piraeus CRDs the cluster does not have.
  returned: when the cluster's objects are in O(observed)
  type: list
  elements: str
crds_established:
  description: Whether every Piraeus CRD exists and is Established.
  returned: when the cluster's objects are in O(observed)
  type: bool
class_changes:
  description: Per StorageClass whose immutable fields would change, the changes (C(field), C(before), C(after)).
  returned: when the cluster's objects are in O(observed)
  type: dict
class_diff:
  description: C(before) and C(after), per class and field, for C(ansible.utils.fact_diff) (what --diff shows).
  returned: when the cluster's objects are in O(observed)
  type: dict
replace_classes:
  description: The StorageClasses to delete and recreate (only when C(linstor_replace_storageclass_names) names exactly them).
  returned: when the cluster's objects are in O(observed)
  type: list
  elements: str
release_pending:
  description: Whether the release is left pending by an interrupted run.
  returned: when the cluster's objects are in O(observed)
  type: bool
pending_record:
  description:
    - The pending revision's release record to remove (C(name), C(uid), C(resourceVersion), C(age) in seconds), or null.
      The role deletes it only if its uid and resourceVersion are still these.
  returned: when the cluster's objects are in O(observed)
  type: dict
force_upgrade:
  description: A deployed release whose CRDs are gone is upgraded all the same, so that Helm creates them again.
  returned: when the cluster's objects are in O(observed)
  type: bool
dry_run_objects:
  description:
    - The objects a server-side dry run can take now (the chart's render, the LinstorCluster and the satellite
      configuration once their CRDs exist, the StorageClasses but those to be replaced).
  returned: when the rendered chart is in O(observed)
  type: list
  elements: dict
dry_run_left_out:
  description:
    - The objects the API server cannot take yet, each with C(object) and C(reason) (in a namespace that does not exist
      yet, a custom resource whose definition is not installed).
  returned: when the rendered chart is in O(observed)
  type: list
  elements: dict
benchmark:
  description: The benchmark's C(job), C(claim), C(node), C(completed), C(result) (MiB/s, IOPS, latency) or C(unavailable).
  returned: when the benchmark's objects are in O(observed)
  type: dict
report_section:
  description: The storage layer's section of the validation report.
  returned: when the objects verify reads are in O(observed)
  type: dict
summary_lines:
  description: The lines the role prints (notes, problems, each claim with its phase).
  returned: when the objects verify reads are in O(observed)
  type: list
  elements: str
failure_message:
  description: C(failure) of O(observed) with every credential of C(linstor_chart_values) (and its base64 form) replaced by
    C(<redacted>).
  returned: when C(failure) is in O(observed)
  type: str
"""
