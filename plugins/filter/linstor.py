# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the linstor role and of job authors; the decisions live in module_utils.linstor."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, linstor
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.piraeus_patch import patch_problems
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.plain import plain_filters


def linstor_input_problems(inputs):
    """All preflight problems of the linstor role's variables (a dict without the prefix)."""
    try:
        problems = []
        if "namespace" in inputs:
            found = checks.owned_namespace_problem("linstor_namespace", inputs["namespace"], "piraeus-datastore")
            problems += [found] if found else []
        pools = inputs.get("storage_pools") or []
        problems += linstor.pool_problems("linstor_storage_pools", pools)
        pool_names = set(p.get("name") for p in pools if isinstance(p, dict))
        pool_names.update(inputs.get("existing_pools") or [])
        classes = inputs.get("storage_classes") or []
        problems += linstor.storageclass_problems("linstor_storage_classes", classes, pool_names)
        names = [c.get("name") for c in classes if isinstance(c, dict)]
        fstypes = dict((c.get("name"), c.get("fstype", "xfs")) for c in classes if isinstance(c, dict))
        problems += linstor.pvc_problems("linstor_pvcs", inputs.get("pvcs") or [], names, fstypes)
        problems += _placement_problems(inputs)
        return problems
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("linstor_input_problems: unexpected input shape: %s" % exc)


def _placement_problems(inputs):
    """Satellite placement, the satellite configuration's selector, properties and patches, and the
    LinstorCluster spec, as the operator's webhooks check them (each key only when given)."""
    problems = []
    nodes = inputs.get("storage_nodes")
    if nodes is not None:
        if not isinstance(nodes, list):
            problems.append("linstor_storage_nodes=%r must be a list of Kubernetes node names" % (nodes,))
        else:
            for index, node in enumerate(nodes):
                found = checks.dns_subdomain_problem("linstor_storage_nodes[%d]" % index, node, "gpu-node-1",
                                                     what="a Kubernetes node name")
                problems += [found] if found else []
    for key in ("satellite_node_selector", "satellite_configuration_node_selector"):
        if key in inputs:
            problems += checks.labels_problems("linstor_%s" % key, inputs[key], "gpufleet.io/storage", "true")
    if "satellite_properties" in inputs:
        problems += linstor.satellite_property_problems("linstor_satellite_properties", inputs["satellite_properties"])
    if "satellite_patches" in inputs:
        problems += patch_problems("linstor_satellite_patches", inputs["satellite_patches"])
    if "cluster_spec" in inputs:
        spec = inputs["cluster_spec"]
        problems += linstor.cluster_spec_problems("linstor_cluster_spec", spec)
        if isinstance(spec, dict) and "patches" in spec:
            problems += patch_problems("linstor_cluster_spec.patches", spec["patches"])
    return problems


def linstor_storageclass(sc):
    """The StorageClass object for one entry of linstor_storage_classes."""
    obj = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": sc["name"], "labels": dict(sc.get("labels") or {})},
        "provisioner": linstor.PROVISIONER,
        "parameters": linstor.storageclass_parameters(sc),
        "reclaimPolicy": sc.get("reclaim_policy", "Delete"),
        "volumeBindingMode": sc.get("volume_binding_mode", "WaitForFirstConsumer"),
        # Checked by linstor_input_problems: a boolean as Ansible reads it ("no" is False, not bool("no")).
        "allowVolumeExpansion": linstor.checks.parse_boolean(sc.get("allow_volume_expansion", True)) is True,
    }
    if sc.get("annotations"):
        obj["metadata"]["annotations"] = dict(sc["annotations"])
    if sc.get("mount_options"):
        obj["mountOptions"] = list(sc["mount_options"])
    return obj


def linstor_immutable_changes(existing, desired):
    return linstor.storageclass_immutable_changes(existing or {}, desired)


def linstor_change_side(changes, side):
    """{class: [{field, before, after}]} -> {class: {field: value on that side}} (for a diff)."""
    if side not in ("before", "after"):
        raise AnsibleFilterError("linstor_change_side: side must be 'before' or 'after', not %r" % side)
    return dict((name, dict((c["field"], c[side]) for c in items)) for name, items in (changes or {}).items())


def linstor_pool_changes(existing, desired):
    return linstor.pool_changes("linstor_storage_pools", existing or [], desired or [])


def claim_users(pods, namespace, claim):
    return linstor.pods_using_claim(pods, namespace, claim)


def zone_affinity(zones, gpu_products=None):
    if not zones:
        raise AnsibleFilterError("zone_affinity: name at least one zone")
    return linstor.zone_affinity(zones, gpu_products)


def zone_affinity_problems(nodes, zones, gpu_products=None, var="zones"):
    return linstor.zone_affinity_problems(var, zones, gpu_products, nodes)


def fio_read_result(log, unavailable_reason=None):
    return linstor.fio_job_result(log, unavailable_reason)


def linstor_report_section(data):
    try:
        return linstor.report_section(data)
    except (AttributeError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("linstor_report_section: unexpected input shape: %s" % exc)


def _problem_line(problem):
    return "%s: %s: %s" % (problem.get("severity"), problem.get("subject") or "storage", problem.get("message"))


def linstor_summary_lines(section):
    """Lines for the run's output: notes, problems, and each claim with its phase."""
    lines = list(section.get("notes") or [])
    lines += [_problem_line(p) for p in section.get("problems") or []]
    for table in section.get("tables") or []:
        if table.get("title") == "Claims":
            for row in table.get("rows") or []:
                where = " on %s" % row[5] if row[5] else ""
                note = " - %s" % row[8] if row[8] else ""
                lines.append("claim %s (%s, %s): %s%s%s" % (row[0], row[1], row[2], row[4] or "?", where, note))
    return lines


def helm_release_pending(status):
    return linstor.release_pending(status)


class FilterModule(object):
    def filters(self):
        return plain_filters({
            "linstor_input_problems": linstor_input_problems,
            "linstor_storageclass": linstor_storageclass,
            "linstor_immutable_changes": linstor_immutable_changes,
            "linstor_pool_changes": linstor_pool_changes,
            "linstor_change_side": linstor_change_side,
            "claim_users": claim_users,
            "zone_affinity": zone_affinity,
            "zone_affinity_problems": zone_affinity_problems,
            "helm_release_pending": helm_release_pending,
            "fio_read_result": fio_read_result,
            "linstor_report_section": linstor_report_section,
            "linstor_summary_lines": linstor_summary_lines,
        })
