# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API objects of the tensor_fusion role, and the controller's restart decision."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion.chart import (
    ALERTMANAGER_STATEFULSET, CLUSTER_CRD, CONFIG_KEYS, CONFIG_MAP, CONTROLLER_DEPLOYMENT, GREPTIME_CLAIM, GREPTIME_NAMESPACE,
    GREPTIME_STATEFULSET, NAMESPACE)
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion.inputs import flag as _flag


def greptime_security_context(s):
    """The pod securityContext GreptimeDB's StatefulSet is patched with, or None. On NFS the export
    belongs to the service's own ids and squashes root (nfs_server), and the chart (1.8.7,
    templates/greptime-standalone.yaml) sets none and runs the image as root: GreptimeDB would not
    write its data. A hostPath directory is node_prep's, owned by root: left as the chart has it."""
    if s.get("greptimedb_mode") != "standalone" or s.get("greptimedb_volume_type") != "nfs":
        return None
    return {"runAsNonRoot": True, "runAsUser": int(s["greptimedb_run_as_user"]),
            "runAsGroup": int(s["greptimedb_run_as_group"])}


def storage_objects(s):
    """StorageClass, PV and the pre-bound claim the GreptimeDB StatefulSet adopts (standalone only)."""
    if s.get("greptimedb_mode") != "standalone":
        return []
    klass, size, pv_name = s["greptimedb_storage_class"], s["greptimedb_size"], s["greptimedb_volume_name"]
    labels = {"app.kubernetes.io/managed-by": "gpufleet.cluster.tensor_fusion", "app.kubernetes.io/part-of": "tensor-fusion"}
    pv_spec = {
        "capacity": {"storage": size},
        "accessModes": ["ReadWriteOnce"],
        "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": klass,
        "volumeMode": "Filesystem",
        "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": GREPTIME_NAMESPACE,
                     "name": GREPTIME_CLAIM},
    }
    if s["greptimedb_volume_type"] == "nfs":
        pv_spec["nfs"] = {"server": s["greptimedb_nfs_server"], "path": s["greptimedb_nfs_path"]}
        pv_spec["mountOptions"] = ["nfsvers=4.1", "hard"]
    else:
        pv_spec["hostPath"] = {"path": s["greptimedb_host_path"], "type": "DirectoryOrCreate"}
        pv_spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [s["greptimedb_node"]]}]}]}}
    return [
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": klass, "labels": labels},
         # WaitForFirstConsumer: the claim is pre-bound (volumeName), so it binds at once all the same,
         # and no volume of the class is ever placed before its pod (pv_affinity_info's
         # zonal-storageclass-immediate-binding stays quiet).
         "provisioner": "kubernetes.io/no-provisioner", "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name, "labels": labels}, "spec": pv_spec},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": GREPTIME_CLAIM, "namespace": GREPTIME_NAMESPACE,
                      # The StatefulSet's selector labels: the claim looks like one it made itself.
                      "labels": dict(labels, **{"app.greptime.io/component": "greptimedb-standalone"})},
         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": klass, "volumeName": pv_name,
                  "volumeMode": "Filesystem", "resources": {"requests": {"storage": size}}}},
    ]


def cluster_resource(s):
    """The TensorFusionCluster the role owns."""
    pools = []
    for pool in s["gpu_pools"]:
        capacity = copy.deepcopy(pool.get("capacity") or {})
        if pool.get("oversubscription"):
            capacity["oversubscription"] = copy.deepcopy(pool["oversubscription"])
        auto = _flag(pool.get("auto_update", False))
        rolling = {"autoUpdateHypervisor": auto, "autoUpdateWorker": auto, "autoUpdateClient": auto}
        rolling.update(copy.deepcopy(pool.get("rolling_update") or {}))
        manager = {"provisioningMode": pool.get("provisioning_mode", "AutoSelect"), "nodePoolRollingUpdatePolicy": rolling}
        if pool.get("node_selector"):
            manager["nodeSelector"] = {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": k, "operator": "In", "values": [v]} for k, v in sorted(pool["node_selector"].items())]}]}
        if pool.get("node_provisioner"):
            manager["nodeProvisioner"] = copy.deepcopy(pool["node_provisioner"])
        if pool.get("node_compaction"):
            manager["nodeCompaction"] = copy.deepcopy(pool["node_compaction"])
        template = {"capacityConfig": capacity, "nodeManagerConfig": manager,
                    "componentConfig": {"hypervisor": {"podTemplate": {"spec": {"containers": [
                        {"name": "tensorfusion-hypervisor", "env": [{"name": "TF_LOG_LEVEL", "value": s["log_level"]}]}]}}}}}
        pools.append({"name": pool["name"], "isDefault": _flag(pool.get("isDefault", len(pools) == 0)),
                      "specTemplate": template})
    spec = {"gpuPools": pools}
    if s.get("computing_vendor"):
        spec["computingVendor"] = copy.deepcopy(s["computing_vendor"])
    return {"apiVersion": "tensor-fusion.ai/v1", "kind": "TensorFusionCluster",
            "metadata": {"name": s["cluster_name"],
                         "labels": {"app.kubernetes.io/managed-by": "gpufleet.cluster.tensor_fusion"}},
            "spec": spec}


def config_hash(data):
    """sha256 of the controller's two config files, as the ConfigMap holds them."""
    data = data or {}
    text = json.dumps([data.get(k, "") for k in CONFIG_KEYS])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def restart_needed(before, after, annotation):
    """The hash to stamp on the controller's pod template, or '' when no restart is due.

    before/after: the ConfigMap's data before and after the chart ran (before None: the release is
    new, its pods start with the new files). annotation: the hash on the pod template now.
    """
    if after is None:
        return ""
    new = config_hash(after)
    if annotation:
        return new if annotation != new else ""
    if before is None:
        return ""
    return new if config_hash(before) != new else ""


def cluster_reads(s):
    """What the preflight reads from the API, as gpufleet.cluster.k8s_objects_info queries keyed like
    the plan's observed cluster and render steps: the controller's config files, both namespaces, the
    TensorFusionCluster CRD and, for a standalone GreptimeDB, its volume, claim and StatefulSet (and
    the node of a hostPath volume); under ``written``, the other objects the role writes (GreptimeDB's
    StorageClass, the TensorFusionCluster)."""
    reads = [{"key": "config_map", "kind": "ConfigMap", "namespace": NAMESPACE, "name": CONFIG_MAP},
             {"key": "greptime_namespace", "kind": "Namespace", "name": GREPTIME_NAMESPACE},
             {"key": "release_namespace", "kind": "Namespace", "name": NAMESPACE},
             {"key": "cluster_crd", "kind": "CustomResourceDefinition", "api_version": "apiextensions.k8s.io/v1",
              "name": CLUSTER_CRD}]
    if s.get("greptimedb_mode") == "standalone":
        reads += [{"key": "greptime_volume", "kind": "PersistentVolume", "name": s["greptimedb_volume_name"]},
                  {"key": "greptime_claim", "kind": "PersistentVolumeClaim", "namespace": GREPTIME_NAMESPACE,
                   "name": GREPTIME_CLAIM},
                  {"key": "greptime_statefulset", "kind": "StatefulSet", "api_version": "apps/v1",
                   "namespace": GREPTIME_NAMESPACE, "name": GREPTIME_STATEFULSET}]
        if s.get("greptimedb_volume_type") == "hostpath":
            reads.append({"key": "greptime_node", "kind": "Node", "name": s["greptimedb_node"]})
        reads.append({"key": "written", "kind": "StorageClass", "api_version": "storage.k8s.io/v1",
                      "name": s["greptimedb_storage_class"]})
    # The other objects the role writes, as they are: a write that would change nothing is not made
    # (gpufleet.cluster.k8s_to_write).
    reads.append({"key": "written", "kind": "TensorFusionCluster", "api_version": "tensor-fusion.ai/v1",
                  "name": s["cluster_name"]})
    return reads


def restart_reads():
    """What the install reads after the chart ran: the config files and the controller Deployment."""
    return [{"key": "config_map_after", "kind": "ConfigMap", "namespace": NAMESPACE, "name": CONFIG_MAP},
            {"key": "controller", "kind": "Deployment", "api_version": "apps/v1", "namespace": NAMESPACE,
             "name": CONTROLLER_DEPLOYMENT}]


def verify_reads(s):
    """What the verify step reads to report (but GreptimeDB's volume and claim, which it waits on):
    the AlertManager claims, both StatefulSets, the role's TensorFusionCluster and the chart's own."""
    cluster = {"kind": "TensorFusionCluster", "api_version": "tensor-fusion.ai/v1"}
    return [{"key": "alertmanager_claims", "kind": "PersistentVolumeClaim", "namespace": NAMESPACE},
            {"key": "statefulsets", "kind": "StatefulSet", "api_version": "apps/v1", "namespace": GREPTIME_NAMESPACE,
             "name": GREPTIME_STATEFULSET},
            {"key": "statefulsets", "kind": "StatefulSet", "api_version": "apps/v1", "namespace": NAMESPACE,
             "name": ALERTMANAGER_STATEFULSET},
            dict(cluster, key="cluster", name=s["cluster_name"]),
            dict(cluster, key="chart_cluster", name="tensor-fusion")]
