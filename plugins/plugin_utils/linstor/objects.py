# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The objects the linstor role writes, from its variables (without the prefix): the LinstorCluster,
the satellite configuration, the StorageClasses, the claims and the seed's fio benchmark Job.
Pure: plain data in and out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, linstor

API_VERSION = "piraeus.io/v1"
MANAGED = {"app.kubernetes.io/managed-by": "gpufleet.cluster"}
CRDS = ("linstorclusters.piraeus.io", "linstorsatelliteconfigurations.piraeus.io", "linstorsatellites.piraeus.io",
        "linstornodeconnections.piraeus.io")


def merge(base, override):
    """``base`` with ``override`` merged in, dicts recursively, anything else replaced (Ansible's
    ``combine(recursive=true)``)."""
    result = dict(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def operator_deployment(s):
    """The chart's operator Deployment: <fullname>-controller-manager, where fullname is the release
    name when it contains the chart name "piraeus" (the chart's standard helper)."""
    name = s["release_name"]
    return (name if "piraeus" in name else name + "-piraeus") + "-controller-manager"


def linstor_cluster(s):
    """The LinstorCluster (cluster-scoped). Satellite placement is decided here, not in the
    satellite configuration (piraeus-operator #599)."""
    spec = {}
    if s["satellite_node_selector"]:
        spec["nodeSelector"] = s["satellite_node_selector"]
    if s["storage_nodes"]:
        spec["nodeAffinity"] = {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": sorted(s["storage_nodes"])}]}]}
    if s["gpu_tolerations"]:
        template = {"podTemplate": {"spec": {"tolerations": s["gpu_tolerations"]}}}
        spec["csiNode"] = template
        spec["highAvailabilityController"] = template
    return {"apiVersion": API_VERSION, "kind": "LinstorCluster",
            "metadata": {"name": s["cluster_name"], "labels": dict(MANAGED)},
            "spec": merge(spec, s["cluster_spec"])}


def satellite_configuration(s):
    """The storage pools of every satellite; which nodes have satellites is the LinstorCluster's
    business. The operator adds Aux/topology/topology.kubernetes.io/zone from the node's label to
    every satellite by itself: nothing about zones here."""
    spec = {"storagePools": s["storage_pools"]}
    if s["satellite_configuration_node_selector"]:
        spec["nodeSelector"] = s["satellite_configuration_node_selector"]
    if s["satellite_properties"]:
        spec["properties"] = s["satellite_properties"]
    if s["satellite_patches"]:
        spec["patches"] = s["satellite_patches"]
    if s["gpu_tolerations"]:
        spec["podTemplate"] = {"spec": {"tolerations": s["gpu_tolerations"]}}
    return {"apiVersion": API_VERSION, "kind": "LinstorSatelliteConfiguration",
            "metadata": {"name": s["satellite_configuration_name"], "labels": dict(MANAGED)}, "spec": spec}


def storage_class(sc):
    """The StorageClass of one entry of linstor_storage_classes."""
    obj = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": sc["name"], "labels": dict(sc.get("labels") or {})},
        "provisioner": linstor.PROVISIONER,
        "parameters": linstor.storageclass_parameters(sc),
        "reclaimPolicy": sc.get("reclaim_policy", "Delete"),
        "volumeBindingMode": sc.get("volume_binding_mode", "WaitForFirstConsumer"),
        # A boolean as Ansible reads it ("no" is False, not bool("no")); checked with the inputs.
        "allowVolumeExpansion": checks.parse_boolean(sc.get("allow_volume_expansion", True)) is True,
    }
    if sc.get("annotations"):
        obj["metadata"]["annotations"] = dict(sc["annotations"])
    if sc.get("mount_options"):
        obj["mountOptions"] = list(sc["mount_options"])
    return obj


def claim(item):
    """One claim of linstor_pvcs."""
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": item["name"], "namespace": item.get("namespace") or "default",
                         "labels": merge(MANAGED, item.get("labels") or {})},
            "spec": {"accessModes": list(item.get("access_modes") or ["ReadWriteOnce"]),
                     "storageClassName": item["storage_class"],
                     "volumeMode": item.get("volume_mode") or "Filesystem",
                     "resources": {"requests": {"storage": item["size"]}}}}


def claim_namespaces(s):
    """The claims' namespaces the role creates (with linstor_create_claim_namespaces), in order."""
    seen = []
    for item in s["pvcs"]:
        namespace = item.get("namespace") or "default"
        if namespace != "default" and namespace not in seen:
            seen.append(namespace)
    return seen


def job_affinity(s):
    """The affinity block pinning jobs to linstor_job_zones (and GPU products); {} without zones."""
    if not s["job_zones"]:
        return {}
    return linstor.zone_affinity(s["job_zones"], s["job_gpu_products"] or None)


def benchmark_job(s):
    """The seed's storage benchmark: sequential 4 MiB reads with fio against the claim."""
    pvc = s["fio_benchmark_pvc"]
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "storage-benchmark-" + pvc["name"], "namespace": pvc.get("namespace") or "default",
                         "labels": dict(MANAGED, **{"app.kubernetes.io/name": "storage-benchmark"})},
            "spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "storage-benchmark"}},
                "spec": {"restartPolicy": "Never", "tolerations": s["gpu_tolerations"], "affinity": job_affinity(s),
                         "containers": [{"name": "fio", "image": s["fio_benchmark_image"],
                                         "command": ["fio", "--name=seqread", "--rw=read", "--bs=4M",
                                                     "--size=%s" % s["fio_benchmark_size"], "--numjobs=1",
                                                     "--directory=/cache", "--output-format=json"],
                                         "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}],
                         "volumes": [{"name": "cache", "persistentVolumeClaim": {"claimName": pvc["name"]}}]}}}}


_CRD = {"kind": "CustomResourceDefinition", "api_version": "apiextensions.k8s.io/v1"}
_CLASS = {"kind": "StorageClass", "api_version": "storage.k8s.io/v1"}


def cluster_reads(s):
    """What the preflight reads from the cluster, as gpufleet.cluster.k8s_objects_info queries keyed
    like the plan's observed cluster (a kind not served, a missing object: nothing, no error)."""
    present = s["state"] == "present"
    reads = [{"key": "nodes", "kind": "Node"}]
    # The claims' namespaces: those missing are refused, or created (only those: one that exists is
    # someone else's, its Pod Security labels too).
    if present and s["pvcs"]:
        reads.append({"key": "namespaces", "kind": "Namespace"})
    reads += [dict(_CRD, key="crds", name=name) for name in CRDS]
    reads.append({"key": "satellite_configuration", "kind": "LinstorSatelliteConfiguration", "api_version": API_VERSION,
                  "name": s["satellite_configuration_name"]})
    reads += [dict(_CLASS, key="storage_classes", name=sc["name"]) for sc in s["storage_classes"]]
    if present:
        # The other objects the configure step writes, as they are: a write that would change
        # nothing is not made (gpufleet.cluster.k8s_to_write).
        reads.append({"key": "written", "kind": "LinstorCluster", "api_version": API_VERSION, "name": s["cluster_name"]})
        reads += [{"key": "written", "kind": "PersistentVolumeClaim", "namespace": pvc.get("namespace") or "default",
                   "name": pvc["name"]} for pvc in s["pvcs"]]
        if checks.parse_boolean(s["fio_benchmark"]) is True:
            job = benchmark_job(s)["metadata"]
            reads.append({"key": "written", "kind": "Job", "api_version": "batch/v1", "namespace": job["namespace"],
                          "name": job["name"]})
        reads.append({"key": "release_namespace", "kind": "Namespace", "name": s["namespace"]})
    return reads


def verify_reads(s):
    """What the verify step reads (but the pods, whose specs are other teams', and the volumes,
    which the claims name), as k8s_objects_info queries keyed like the plan's observed report."""
    reads = [{"key": "objects", "kind": kind, "api_version": API_VERSION}
             for kind in ("LinstorCluster", "LinstorSatelliteConfiguration", "LinstorSatellite")]
    reads.append({"key": "controller_service", "kind": "Service", "namespace": s["namespace"],
                  "name": "linstor-controller"})
    reads += [dict(_CLASS, key="storage_classes_after", name=sc["name"]) for sc in s["storage_classes"]]
    reads += [{"key": "claims", "kind": "PersistentVolumeClaim", "namespace": item.get("namespace") or "default",
               "name": item["name"]} for item in s["pvcs"]]
    return reads
