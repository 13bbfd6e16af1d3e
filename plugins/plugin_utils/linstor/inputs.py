# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The linstor role's variables: their problems, one sentence each (variable, value, fix), as the
Piraeus operator's webhooks and the Kubernetes API check them. Pure: plain data in and out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, linstor
from ansible_collections.gpufleet.cluster.plugins.plugin_utils import pod_security
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.piraeus_patch import patch_problems

# What in the operator's namespace needs Pod Security "privileged".
PRIVILEGED_PODS = "the satellites and the CSI node pods run privileged, on the host's network and paths"


def problems(inputs):
    """All problems of the role's variables (a dict without the prefix)."""
    found = []
    if "namespace" in inputs:
        problem = checks.owned_namespace_problem("linstor_namespace", inputs["namespace"], "piraeus-datastore")
        found += [problem] if problem else []
    pools = inputs.get("storage_pools") or []
    found += linstor.pool_problems("linstor_storage_pools", pools)
    pool_names = set(p.get("name") for p in pools if isinstance(p, dict))
    pool_names.update(inputs.get("existing_pools") or [])
    classes = inputs.get("storage_classes") or []
    found += linstor.storageclass_problems("linstor_storage_classes", classes, pool_names)
    names = [c.get("name") for c in classes if isinstance(c, dict)]
    fstypes = dict((c.get("name"), c.get("fstype", "xfs")) for c in classes if isinstance(c, dict))
    found += linstor.pvc_problems("linstor_pvcs", inputs.get("pvcs") or [], names, fstypes)
    found += placement_problems(inputs)
    found += pod_security_problems(inputs)
    found += benchmark_problems(inputs)
    found += checks.helm_problems("linstor", inputs, "oci://ghcr.io/piraeusdatastore/piraeus-operator/piraeus", "2.6.0")
    found += size_problems(inputs)
    return found


# fio's --size: a number of bytes with an optional K, M, G, T or P (then B or i optional), binary
# under fio's default kb_base=1024, or a share of the device. fio 3.33 reads KiB, MiB, GiB... as
# decimal there (measured: --size=1MiB wrote 1,000,000 bytes, 1Mi and 1MB 1,048,576): refused with
# that said, since a Kubernetes-minded GiB would not mean what it says.
_FIO_SIZE_RE = re.compile(r"[1-9][0-9]{0,14}(?:[KMGTPkmgtp][Bbi]?)?|[1-9][0-9]?%|100%")
_FIO_DECIMAL_RE = re.compile(r"([1-9][0-9]{0,14})([KMGTPkmgtp])i[Bb]")


def size_problems(inputs):
    """The benchmark's file size, fio's --size in the Job (one argv entry: it cannot add options)."""
    if "fio_benchmark_size" not in inputs or checks.parse_boolean(inputs.get("fio_benchmark")) is not True:
        return []
    size = inputs["fio_benchmark_size"]
    if isinstance(size, str) and _FIO_SIZE_RE.fullmatch(size):
        return []
    decimal = _FIO_DECIMAL_RE.fullmatch(size) if isinstance(size, str) else None
    if decimal:
        unit = decimal.group(2).upper()
        return [checks.problem("linstor_fio_benchmark_size", size,
                               "is read by fio as a decimal size (with its default kb_base=1024, %siB means 10^%d "
                               "bytes, while %s and %si are binary)" % (unit, 3 * ("KMGTP".index(unit) + 1), unit, unit),
                               "write %r or %r" % (decimal.group(1) + unit, decimal.group(1) + unit + "i"))]
    return [checks.problem("linstor_fio_benchmark_size", size,
                           "is not a size fio reads (digits with an optional K, M, G, T or P, binary under fio's "
                           "default kb_base, or a percentage of the claim)", "use e.g. '10G' or '256M', smaller than the claim")]


def benchmark_problems(inputs):
    """The benchmark Job's image, when the benchmark runs: with a registry host and pinned
    (checks.pinned_image_problem, as the telemetry images): the Job runs it as root on the claim's
    node, and the seed's dmonakhov/alpine-fio is a Docker Hub name without a tag."""
    if checks.parse_boolean(inputs.get("fio_benchmark")) is not True:
        return []
    problem = checks.pinned_image_problem("linstor_fio_benchmark_image", inputs.get("fio_benchmark_image"),
                                          "registry.example.com/tools/alpine-fio:3.36")
    return [problem + " (the Job runs it as root on the claim's node); or set linstor_fio_benchmark: false"] \
        if problem else []


def pod_security_problems(inputs):
    """The namespaces' Pod Security levels: the operator's pods need privileged; the benchmark Job
    (as root) cannot run in a claim namespace the role makes restricted."""
    found = []
    if "namespace_pod_security" in inputs:
        found.append(pod_security.level_problem("linstor_namespace_pod_security", inputs["namespace_pod_security"],
                                                "privileged", PRIVILEGED_PODS))
    level = inputs.get("claim_namespace_pod_security")
    if level is not None:
        found.append(pod_security.level_problem("linstor_claim_namespace_pod_security", level))
        if level == "restricted" and _benchmark_namespace_created(inputs):
            found.append(checks.problem(
                "linstor_claim_namespace_pod_security", level, "would refuse the fio benchmark Job in namespace %s, "
                "which the role creates (the Job runs as root)" % inputs["fio_benchmark_pvc"]["namespace"],
                "use 'baseline', or set linstor_fio_benchmark: false"))
    return [problem for problem in found if problem]


def _benchmark_namespace_created(inputs):
    """Whether the benchmark Job runs in a claim namespace the role creates (never 'default')."""
    pvc = inputs.get("fio_benchmark_pvc")
    if checks.parse_boolean(inputs.get("fio_benchmark")) is not True or not isinstance(pvc, dict) \
            or checks.parse_boolean(inputs.get("create_claim_namespaces")) is not True:
        return False
    namespace = pvc.get("namespace") or "default"
    claims = [c.get("namespace") or "default" for c in inputs.get("pvcs") or [] if isinstance(c, dict)]
    return namespace != "default" and namespace in claims


def placement_problems(inputs):
    """Satellite placement, the satellite configuration's selector, properties and patches, and the
    LinstorCluster spec, as the operator's webhooks check them (each key only when given)."""
    found = []
    nodes = inputs.get("storage_nodes")
    if nodes is not None:
        if not isinstance(nodes, list):
            found.append("linstor_storage_nodes=%r must be a list of Kubernetes node names" % (nodes,))
        else:
            for index, node in enumerate(nodes):
                problem = checks.dns_subdomain_problem("linstor_storage_nodes[%d]" % index, node, "gpu-node-1",
                                                       what="a Kubernetes node name")
                found += [problem] if problem else []
    for key in ("satellite_node_selector", "satellite_configuration_node_selector"):
        if key in inputs:
            found += checks.labels_problems("linstor_%s" % key, inputs[key], "gpufleet.io/storage", "true")
    if "satellite_properties" in inputs:
        found += linstor.satellite_property_problems("linstor_satellite_properties", inputs["satellite_properties"])
    if "satellite_patches" in inputs:
        found += patch_problems("linstor_satellite_patches", inputs["satellite_patches"])
    if "cluster_spec" in inputs:
        spec = inputs["cluster_spec"]
        found += linstor.cluster_spec_problems("linstor_cluster_spec", spec)
        if isinstance(spec, dict) and "patches" in spec:
            found += patch_problems("linstor_cluster_spec.patches", spec["patches"])
    return found


def satellites_problem(inputs):
    """Satellites need nodes to run on: without storage nodes and a node selector, the operator
    starts one on every node of the cluster."""
    if inputs["state"] == "absent" or inputs.get("storage_nodes") or inputs.get("satellite_node_selector"):
        return ""
    return ("linstor_storage_nodes is empty and linstor_satellite_node_selector is {} — the operator would start a "
            "satellite on every node of the cluster. Name the storage nodes (Kubernetes node names) in "
            "linstor_storage_nodes, or give the labels they carry in linstor_satellite_node_selector.")
