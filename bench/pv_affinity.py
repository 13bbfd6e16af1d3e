#!/usr/bin/env python
"""Benchmark: pv_affinity_info's analysis against json.load of the same snapshot.

Generates a snapshot like `kubectl get nodes,pv,pvc,pods,storageclasses -A -o json` writes for
a fleet of 5,000 nodes, 20,000 PVs, 20,000 PVCs and 40,000 pods over 10 zones, and one twice
that size (0.7 % of the PVs pinned with matchFields, which volume binding ignores, so every check
has work). Measured side by side in this run:

  analysis / json.load   time to check and analyze the parsed snapshot (everything the module
                         does after parsing: shape checks, index, every check, zone map) over
                         the time json.load takes for the same file.        target <= 1.0
  2x objects scaling     analysis time at 2x objects over analysis time at 1x. target <= 2.2

    bench/pv_affinity.py [--scale 1.0] [--repeat 3]

Exits non-zero when a target is missed.
"""

import argparse
import gc
import json
import os
import random
import shutil
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_collection():
    """Make the checkout importable as ansible_collections.gpufleet.cluster."""
    root = (os.environ.get("ANSIBLE_COLLECTIONS_PATH") or "").split(os.pathsep)[0]
    if not (root and os.path.isdir(os.path.join(root, "ansible_collections", "gpufleet", "cluster"))):
        root = tempfile.mkdtemp(prefix="gpufleet-bench-")
        os.makedirs(os.path.join(root, "ansible_collections", "gpufleet"))
        os.symlink(REPO, os.path.join(root, "ansible_collections", "gpufleet", "cluster"))
    sys.path.insert(0, root)


_import_collection()
from ansible_collections.gpufleet.cluster.plugins.module_utils import pv_affinity, snapshot  # noqa: E402

ZONES = ["ucsd", "sdsu", "gatech", "chico", "humboldt", "ucmerced", "brookdale", "cau", "onenet", "udel"]
GPU_PRODUCTS = ["NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3", "NVIDIA-L40S", "NVIDIA-A10"]
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
LINSTOR_NODE = "topology.linstor.csi.linbit.com/node"


def _ts(rng):
    return "2025-%02d-%02dT%02d:%02d:%02dZ" % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))


def _uid(rng):
    return "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(48))


def _node(rng, name, zone):
    gpus = rng.choice([1, 2, 4, 8])
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        HOSTNAME: name,
        ZONE: zone,
        "topology.kubernetes.io/region": "us-west" if zone in ("ucsd", "sdsu", "chico", "humboldt", "ucmerced") else "us-east",
        LINSTOR_NODE: name,
        "nvidia.com/gpu.product": rng.choice(GPU_PRODUCTS),
        "nvidia.com/gpu.count": str(gpus),
        "nvidia.com/cuda.driver.major": "550",
        "node.kubernetes.io/instance-type": "gpu-%dx" % gpus,
    }
    conditions = [
        {"type": t, "status": "False", "reason": "Kubelet" + t, "message": "kubelet has no " + t.lower(),
         "lastHeartbeatTime": _ts(rng), "lastTransitionTime": _ts(rng)}
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ] + [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
          "lastHeartbeatTime": _ts(rng), "lastTransitionTime": _ts(rng)}]
    images = [{"names": ["registry.example.org/ml/image-%d@sha256:%064x" % (i, rng.getrandbits(256)),
                         "registry.example.org/ml/image-%d:v%d" % (i, i)], "sizeBytes": rng.randint(10**7, 10**10)}
              for i in range(8)]
    capacity = {"cpu": "64", "memory": "528280000Ki", "nvidia.com/gpu": str(gpus), "pods": "110",
                "ephemeral-storage": "1843200000Ki", "hugepages-2Mi": "0"}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": _uid(rng), "resourceVersion": str(rng.randint(1, 10**8)),
                     "creationTimestamp": _ts(rng), "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                                     "csi.volume.kubernetes.io/nodeid": json.dumps({"linstor.csi.linbit.com": name})}},
        "spec": {"podCIDR": "10.%d.%d.0/24" % (rng.randint(0, 255), rng.randint(0, 255)), "providerID": "kwok://" + name},
        "status": {"capacity": capacity, "allocatable": capacity, "conditions": conditions,
                   "addresses": [{"type": "InternalIP", "address": "10.0.%d.%d" % (rng.randint(0, 255), rng.randint(1, 254))},
                                 {"type": "Hostname", "address": name}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                   "nodeInfo": {"architecture": "amd64", "bootID": _uid(rng), "containerRuntimeVersion": "containerd://1.7.20",
                                "kernelVersion": "6.1.0-25-amd64", "kubeProxyVersion": "v1.31.0", "kubeletVersion": "v1.31.0",
                                "machineID": "%032x" % rng.getrandbits(128), "operatingSystem": "linux",
                                "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": _uid(rng)},
                   "images": images},
    }


def _selector(terms):
    return {"required": {"nodeSelectorTerms": terms}}


def _expr(key, operator, values=None):
    req = {"key": key, "operator": operator}
    if values is not None:
        req["values"] = values
    return req


def generate(rng, n_nodes, n_pvs, n_pods, violations=0.002):
    """A v1 List document; PVs and PVCs are paired, half of the pods mount one of them."""
    nodes_by_zone = dict((z, []) for z in ZONES)
    nodes = []
    for i in range(n_nodes):
        zone = ZONES[i % len(ZONES)]
        name = "gpu-%s-%d" % (zone, i // len(ZONES) + 1)
        nodes_by_zone[zone].append(name)
        nodes.append(_node(rng, name, zone))
    names = [n["metadata"]["name"] for n in nodes]
    zone_of = dict((n["metadata"]["name"], n["metadata"]["labels"][ZONE]) for n in nodes)
    classes = [
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local-storage"},
         "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Retain"},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "linstor-fast-cache"},
         "provisioner": "linstor.csi.linbit.com", "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete",
         "parameters": {"linstor.csi.linbit.com/storagePool": "xfs-pool", "linstor.csi.linbit.com/placementCount": "1",
                        "linstor.csi.linbit.com/allowRemoteVolumeAccess": "false", "csi.storage.k8s.io/fstype": "xfs"}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "linstor-replicated"},
         "provisioner": "linstor.csi.linbit.com", "reclaimPolicy": "Delete",
         "parameters": {"linstor.csi.linbit.com/storagePool": "xfs-pool", "linstor.csi.linbit.com/placementCount": "2"}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": "nfs", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": "nfs.csi.k8s.io", "volumeBindingMode": "Immediate", "parameters": {"server": "nfs.example.org", "share": "/export"}},
    ]
    items = list(nodes) + classes
    pvs, pvcs, pods = [], [], []
    placements = []
    for i in range(n_pvs):
        kind = rng.random()
        ns = "team-%d" % (i % 50)
        pvc_name = "data-%d" % i
        pv_name = "pvc-%s" % _uid(rng)
        spec = {"capacity": {"storage": "%dGi" % rng.choice([100, 500, 1000])}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete", "volumeMode": "Filesystem",
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": pvc_name, "apiVersion": "v1",
                             "uid": _uid(rng), "resourceVersion": str(rng.randint(1, 10**8))}}
        home = rng.choice(names)
        if kind < 0.007:
            # Pinned with matchFields, which volume binding ignores (pv-affinity-matchfields-ignored).
            spec.update(storageClassName="local-storage", local={"path": "/mnt/disks/ssd%d" % (i % 8)},
                        nodeAffinity=_selector([{"matchFields": [_expr("metadata.name", "In", [home])]}]))
            allowed = [home]
        elif kind < 0.70:
            spec.update(storageClassName="local-storage", local={"path": "/mnt/disks/ssd%d" % (i % 8)},
                        nodeAffinity=_selector([{"matchExpressions": [_expr(HOSTNAME, "In", [home])]}]))
            allowed = [home]
        elif kind < 0.90:
            other = rng.choice(nodes_by_zone[zone_of[home]])
            spec.update(storageClassName="linstor-fast-cache",
                        csi={"driver": "linstor.csi.linbit.com", "fsType": "xfs", "volumeHandle": pv_name,
                             "volumeAttributes": {"linstor.csi.linbit.com/remote-access-policy": "false",
                                                  "storage.kubernetes.io/csiProvisionerIdentity": "1700000000000-8081-linstor.csi.linbit.com"}},
                        nodeAffinity=_selector([{"matchExpressions": [_expr(LINSTOR_NODE, "In", [home])]},
                                                {"matchExpressions": [_expr(LINSTOR_NODE, "In", [other])]}]))
            allowed = [home, other]
        elif kind < 0.98:
            spec.update(storageClassName="nfs", nfs={"server": "nfs.example.org", "path": "/export/%s" % pv_name})
            allowed = None
        else:
            zone = zone_of[home]
            spec.update(storageClassName="linstor-replicated",
                        csi={"driver": "linstor.csi.linbit.com", "fsType": "xfs", "volumeHandle": pv_name},
                        nodeAffinity=_selector([{"matchExpressions": [
                            _expr(ZONE, "In", [zone]), _expr("nvidia.com/gpu.count", "Gt", ["1"]),
                            _expr("nvidia.com/gpu.product", "NotIn", ["NVIDIA-A10"])]}]))
            allowed = [n["metadata"]["name"] for n in nodes if n["metadata"]["labels"][ZONE] == zone
                       and int(n["metadata"]["labels"]["nvidia.com/gpu.count"]) > 1
                       and n["metadata"]["labels"]["nvidia.com/gpu.product"] != "NVIDIA-A10"] or [home]
        pvs.append({"apiVersion": "v1", "kind": "PersistentVolume",
                    "metadata": {"name": pv_name, "uid": _uid(rng), "resourceVersion": str(rng.randint(1, 10**8)),
                                 "creationTimestamp": _ts(rng), "finalizers": ["kubernetes.io/pv-protection"],
                                 "annotations": {"pv.kubernetes.io/provisioned-by": "linstor.csi.linbit.com"}},
                    "spec": spec, "status": {"phase": "Bound", "lastPhaseTransitionTime": _ts(rng)}})
        pending = rng.random() < 0.01
        pvcs.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": pvc_name, "namespace": ns, "uid": _uid(rng), "resourceVersion": str(rng.randint(1, 10**8)),
                                  "creationTimestamp": _ts(rng), "finalizers": ["kubernetes.io/pvc-protection"],
                                  "annotations": {"pv.kubernetes.io/bind-completed": "yes",
                                                  "volume.kubernetes.io/selected-node": home}},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": spec["capacity"]["storage"]}},
                              "storageClassName": spec["storageClassName"], "volumeMode": "Filesystem",
                              "volumeName": None if pending else pv_name},
                     "status": {"phase": "Pending" if pending else "Bound", "accessModes": ["ReadWriteOnce"],
                                "capacity": spec["capacity"]}})
        placements.append((ns, pvc_name, allowed))
    for i in range(n_pods):
        volumes = [{"name": "kube-api-access-%05d" % i, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}]
        if i < len(placements):
            ns, claim, allowed = placements[i]
            node = rng.choice(allowed) if allowed else rng.choice(names)
            if rng.random() < violations:
                node = rng.choice(names)
            volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": claim}})
        else:
            ns, node = "team-%d" % (i % 50), rng.choice(names)
            volumes.append({"name": "scratch", "emptyDir": {}})
        pods.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "job-%d-%05x" % (i, rng.getrandbits(20)), "namespace": ns, "uid": _uid(rng),
                         "resourceVersion": str(rng.randint(1, 10**8)), "creationTimestamp": _ts(rng),
                         "labels": {"app": "trainer", "batch.kubernetes.io/job-name": "job-%d" % i},
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "job-%d" % i, "uid": _uid(rng),
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"nodeName": node, "restartPolicy": "Never", "serviceAccountName": "default", "schedulerName": "default-scheduler",
                     "containers": [{"name": "trainer", "image": "registry.example.org/ml/trainer:v1.4.2",
                                     "command": ["python", "-m", "train"], "args": ["--config", "/etc/train/config.yaml"],
                                     "env": [{"name": "NCCL_DEBUG", "value": "WARN"}, {"name": "HF_HOME", "value": "/data/hf"}],
                                     "resources": {"limits": {"nvidia.com/gpu": "1", "memory": "64Gi"},
                                                   "requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "1"}},
                                     "volumeMounts": [{"name": v["name"], "mountPath": "/mnt/%s" % v["name"]} for v in volumes],
                                     "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"}],
                     "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                     "volumes": volumes},
            "status": {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.244.%d.%d" % (rng.randint(0, 255), rng.randint(1, 254)),
                       "qosClass": "Burstable", "startTime": _ts(rng),
                       "conditions": [{"type": t, "status": "True", "lastTransitionTime": _ts(rng)}
                                      for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")],
                       "containerStatuses": [{"name": "trainer", "ready": True, "restartCount": 0, "started": True,
                                              "image": "registry.example.org/ml/trainer:v1.4.2",
                                              "imageID": "registry.example.org/ml/trainer@sha256:%064x" % rng.getrandbits(256),
                                              "containerID": "containerd://%064x" % rng.getrandbits(256),
                                              "state": {"running": {"startedAt": _ts(rng)}}}]},
        })
    items.extend(pvs)
    items.extend(pvcs)
    items.extend(pods)
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def _analyse(doc, source):
    """What the module does with one parsed snapshot file."""
    inventory = snapshot.empty_inventory()
    snapshot.add_document(doc, source, inventory)
    return pv_affinity.analyze(inventory)


def measure(paths, repeat):
    """Per file: (best json.load seconds, best analysis seconds, last result) over ``repeat``
    rounds. The files take turns within each round, so a busy spell on the machine hits
    both sizes alike instead of skewing one of them."""
    loads = dict((p, []) for p in paths)
    analyses = dict((p, []) for p in paths)
    results = {}
    for _round in range(repeat):
        for path in paths:
            gc.collect()
            start = time.perf_counter()
            with open(path) as handle:
                doc = json.load(handle)
            loads[path].append(time.perf_counter() - start)
            gc.collect()
            start = time.perf_counter()
            results[path] = _analyse(doc, path)
            analyses[path].append(time.perf_counter() - start)
            del doc
    return dict((p, (min(loads[p]), min(analyses[p]), results[p])) for p in paths)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size factor of the 1x snapshot (1.0 = 5,000 nodes)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    args = parser.parse_args()
    base = dict(n_nodes=int(5000 * args.scale), n_pvs=int(20000 * args.scale), n_pods=int(40000 * args.scale))
    workdir = tempfile.mkdtemp(prefix="bench-pv-affinity-")
    try:
        paths = {}
        for factor in (1, 2):
            sizes = dict((k, v * factor) for k, v in base.items())
            doc = generate(random.Random(42 * factor), **sizes)
            paths[factor] = os.path.join(workdir, "snapshot-%dx.json" % factor)
            with open(paths[factor], "w") as handle:
                json.dump(doc, handle)
            del doc
        load_before = os.getloadavg()
        measured = measure([paths[1], paths[2]], args.repeat)
        rows = {}
        for factor in (1, 2):
            load_s, analysis_s, result = measured[paths[factor]]
            rows[factor] = (load_s, analysis_s, os.path.getsize(paths[factor]), result["summary"])
        load1, an1, size1, summary1 = rows[1]
        load2, an2, size2, summary2 = rows[2]
        objects = summary1["objects"]
        print("snapshot 1x: %d nodes, %d PVs, %d PVCs, %d pods, %d StorageClasses, %d zones; %.0f MiB of JSON"
              % (objects["nodes"], objects["pvs"], objects["pvcs"], objects["pods"], objects["storageclasses"],
                 10, size1 / 2.0**20))
        print("snapshot 2x: %d nodes, %d PVs, %d PVCs, %d pods; %.0f MiB of JSON"
              % (summary2["objects"]["nodes"], summary2["objects"]["pvs"], summary2["objects"]["pvcs"],
                 summary2["objects"]["pods"], size2 / 2.0**20))
        print("  findings 1x: %s" % json.dumps(summary1["by_check"], sort_keys=True))
        print("  json.load 1x %.3f s   analysis 1x %.3f s   |  json.load 2x %.3f s   analysis 2x %.3f s   (best of %d rounds, sizes taking turns)"
              % (load1, an1, load2, an2, args.repeat))
        print("  load average before: %s" % " ".join("%.2f" % x for x in load_before))
        ratio = an1 / load1
        scaling = an2 / an1
        ok_ratio = ratio <= 1.0
        ok_scaling = scaling <= 2.2
        print("analysis / json.load (1x):     %.2fx   target <= 1.00x   %s" % (ratio, "ok" if ok_ratio else "MISSED"))
        print("analysis at 2x / at 1x:        %.2fx   target <= 2.20x   %s" % (scaling, "ok" if ok_scaling else "MISSED"))
        return 0 if ok_ratio and ok_scaling else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
