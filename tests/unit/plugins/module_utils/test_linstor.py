"""The linstor role's decisions: pools, StorageClass parameters, claims, migration, zones, report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils import linstor
from ansible_collections.gpufleet.cluster.plugins.module_utils.validation_report import check_section

V = "linstor_storage_pools"


def one(problems):
    assert len(problems) == 1, problems
    return problems[0]


# --- pools -----------------------------------------------------------------------------------

@pytest.mark.parametrize("pool", [
    {"name": "fast-cache", "lvmThinPool": {"volumeGroup": "vg_nvme", "thinPool": "thin"}},
    {"name": "lvm1", "lvmPool": {"volumeGroup": "vg1"}, "source": {"hostDevices": ["/dev/nvme1n1", "/dev/nvme2n1"]}},
    {"name": "lab-pool", "fileThinPool": {"directory": "/var/lib/linstor-pools/lab"}},
    {"name": "lab-pool2", "filePool": {}},
    {"name": "zfs", "zfsThinPool": {"zPool": "tank"}},
])
def test_good_pools(pool):
    assert linstor.pool_problems(V, [pool]) == []


@pytest.mark.parametrize("pool, expected", [
    ({"name": "a", "lvmPool": {}}, "linstor_storage_pools[0].name='a' is not a LINSTOR storage pool name"),
    ({"name": "-bad", "lvmPool": {}}, "starting and ending with a letter or digit"),
    ({"name": "x" * 49, "lvmPool": {}}, "3 to 48"),
    ({"name": "two", "lvmPool": {}, "filePool": {}}, "has pool types lvmPool and filePool; give exactly one"),
    ({"name": "none"}, "has no pool type"),
    ({"name": "vg1", "lvmPool": {"volumeGroup": "vg one"}}, "volumeGroup='vg one' is not a valid LVM name"),
    ({"name": "tp1", "lvmThinPool": {"volumeGroup": "vg", "thinPool": "th/in"}}, "thinPool='th/in'"),
    ({"name": "rel", "filePool": {"directory": "pools/a"}}, "directory='pools/a' is relative"),
    # LINSTOR fills it with volume files as root on every storage node.
    ({"name": "root", "filePool": {"directory": "/"}}, "directory='/' is a system directory; use a directory of its own"),
    ({"name": "kubelet", "fileThinPool": {"directory": "/var/lib/kubelet/pools"}},
     "directory='/var/lib/kubelet/pools' is inside the system directory '/var/lib/kubelet'"),
    ({"name": "etc", "filePool": {"directory": "/etc/linstor"}}, "e.g. '/var/lib/linstor-pools/etc'"),
    ({"name": "dev", "lvmPool": {}, "source": {"hostDevices": ["sdb"]}},
     "hostDevices[0]='sdb' is not an absolute device path under /dev; write it as '/dev/sdb'"),
    ({"name": "dev", "lvmPool": {}, "source": {"hostDevices": ["/dev/loop3"]}}, "is a loop device: the operator's pvcreate fails"),
    ({"name": "dev", "lvmPool": {}, "source": {"hostDevices": ["/dev//nvme0n1"]}}, "not a clean path; write it as '/dev/nvme0n1'"),
    ({"name": "dev", "lvmPool": {}, "source": {"hostDevices": []}}, "must be a non-empty list"),
    ({"name": "file", "filePool": {}, "source": {"hostDevices": ["/dev/sdb"]}}, "only for LVM and ZFS pools"),
    ({"name": "typo", "lvmPool": {}, "sourc": {}}, "unknown keys sourc"),
    # Hostile input: control characters, traversal, config-file characters.
    ({"name": "nvme-thin\n", "lvmThinPool": {}}, "name='nvme-thin\\n' is not a LINSTOR storage pool name"),
    ({"name": "vg1", "lvmPool": {"volumeGroup": "vg1\n"}}, "volumeGroup='vg1\\n' is not a valid LVM name"),
    ({"name": "file", "filePool": {"directory": "/var/lib/pools/../../etc"}}, "climbs with '..'"),
    ({"name": "file", "filePool": {"directory": "/var/lib/pools/a/"}}, "is not a clean path"),
    ({"name": "dev", "lvmPool": {}, "source": {"hostDevices": ["/dev/nvme1n1\n"]}}, "hostDevices[0]='/dev/nvme1n1\\n'"),
    ({"name": "dev", "lvmPool": {}, "source": {"hostDevices": ["/dev/../etc/shadow"]}}, "climbs with '..'"),
])
def test_bad_pools(pool, expected):
    assert expected in one(linstor.pool_problems(V, [pool]))


def test_duplicate_devices_and_pool_names():
    problems = linstor.pool_problems(V, [
        {"name": "pool1", "lvmPool": {}, "source": {"hostDevices": ["/dev/sdb", "/dev/sdb"]}},
        {"name": "pool1", "filePool": {}},
    ])
    assert any("listed twice" in p for p in problems) and any("used twice" in p for p in problems)


def test_pool_changes_name_old_and_new_values():
    existing = [{"name": "fast", "lvmThinPool": {"volumeGroup": "vg1", "thinPool": "thin"}}]
    assert linstor.pool_changes(V, existing, existing) == []
    assert linstor.pool_changes(V, existing, [{"name": "other", "filePool": {}}]) == []
    changed = linstor.pool_changes(V, existing, [{"name": "fast", "lvmThinPool": {"volumeGroup": "vg2", "thinPool": "thin"}}])
    assert "volumeGroup would change from 'vg1' to 'vg2'" in one(changed)
    changed = linstor.pool_changes(V, existing, [{"name": "fast", "fileThinPool": {"directory": "/p"}}])
    assert "type would change from 'lvmThinPool' to 'fileThinPool'" in changed[0]
    with_source = [{"name": "fast", "lvmPool": {"volumeGroup": "vg"}, "source": {"hostDevices": ["/dev/sdb"]}}]
    changed = linstor.pool_changes(V, with_source, [{"name": "fast", "lvmPool": {"volumeGroup": "vg"}, "source": {"hostDevices": ["/dev/sdc"]}}])
    assert "source would change from ['/dev/sdb'] to ['/dev/sdc']" in one(changed)


# --- StorageClasses --------------------------------------------------------------------------

SEED_CLASS = {"name": "linstor-fast-cache", "storage_pool": "fast-cache", "placement_count": "1",
              "allow_remote_volume_access": "false", "fstype": "xfs", "volume_binding_mode": "WaitForFirstConsumer"}


def test_seed_class_parameters():
    assert linstor.storageclass_parameters(SEED_CLASS) == {
        "linstor.csi.linbit.com/storagePool": "fast-cache",
        "linstor.csi.linbit.com/placementCount": "1",
        "linstor.csi.linbit.com/allowRemoteVolumeAccess": "false",
        "csi.storage.k8s.io/fstype": "xfs",
    }
    assert linstor.storageclass_problems("c", [SEED_CLASS], {"fast-cache"}) == []


@pytest.mark.parametrize("value", ["false", "true", "False", "1",
                                   "- fromSame:\n  - topology.kubernetes.io/zone\n",
                                   "- fromSame: [topology.kubernetes.io/zone]\n- fromDifferent:\n  - kubernetes.io/hostname",
                                   '[{"fromSame": ["topology.kubernetes.io/zone"]}]'])
def test_remote_access_grammar_accepts(value):
    assert linstor.remote_access_problem("v", value) is None


@pytest.mark.parametrize("value", ["maybe", "yes", "", "- fromZone: [a]", "[]", '[{"fromSame": "a"}]', "- fromSame:\nfoo", False])
def test_remote_access_grammar_refuses(value):
    assert linstor.remote_access_problem("v", value)


@pytest.mark.parametrize("change, expected", [
    ({"placement_count": "0"}, "placement_count='0' must be a whole number of replicas of at least 1"),
    ({"placement_count": "abc"}, "placement_count='abc'"),
    ({"placement_count": 1}, "as a string"),
    ({"allow_remote_volume_access": "maybe"}, "allow_remote_volume_access='maybe' is not a remote-access policy"),
    ({"volume_binding_mode": "WaitForFirstConsumr"}, "volume_binding_mode='WaitForFirstConsumr' is not a binding mode"),
    ({"reclaim_policy": "Recycle"}, "must be Delete or Retain"),
    ({"fstype": "btrfs"}, "xfs or ext4"),
    ({"storage_pool": "nope-pool"}, "is not one of the pools this role configures (fast-cache)"),
    ({"name": "Bad_Name"}, "is not a valid StorageClass name"),
    ({"parameters": {"linstor.csi.linbit.com/placementPolicy": "Random"}}, "is not a placement policy"),
    ({"parameters": {"linstor.csi.linbit.com/replicasOnSmae": "zone"}}, "'linstor.csi.linbit.com/replicasOnSmae', which linstor-csi does not know"),
    ({"parameters": {"unknownKey": "1"}}, "'unknownKey', which linstor-csi does not know"),
    ({"parameters": {"linstor.csi.linbit.com/layerList": "drbd zfs"}}, "unknown layers 'zfs'"),
    ({"parameters": {"linstor.csi.linbit.com/encryption": "maybe"}}, "must be \"true\" or \"false\""),
    ({"parameters": {"linstor.csi.linbit.com/encryption": True}}, "must be a string"),
    # What the role sets from the entry's own fields is not overridden through parameters.
    ({"parameters": {"csi.storage.k8s.io/fstype": "ext4"}},
     "linstor_storage_classes[0].parameters has 'csi.storage.k8s.io/fstype', which would override what the role sets "
     "from the entry's fstype; set fstype instead"),
    ({"parameters": {"linstor.csi.linbit.com/placementCount": "2"}}, "from the entry's placement_count; set placement_count"),
    ({"parameters": {"placementcount": "2"}}, "from the entry's placement_count"),
    ({"parameters": {"linstor.csi.linbit.com/autoPlace": "3"}}, "from the entry's placement_count"),
    ({"parameters": {"linstor.csi.linbit.com/storagePool": "other-pool"}}, "from the entry's storage_pool"),
    ({"parameters": {"linstor.csi.linbit.com/allowRemoteVolumeAccess": "true"}},
     "from the entry's allow_remote_volume_access"),
])
def test_bad_storageclasses(change, expected):
    sc = dict(SEED_CLASS, **change)
    assert expected in one(linstor.storageclass_problems("linstor_storage_classes", [sc], {"fast-cache"}))


def test_known_keys_case_and_other_namespaces_pass():
    params = {"linstor.csi.linbit.com/LayerList": "drbd storage", "linstor.csi.linbit.com/replicasOnSame": "zone",
              "property.linstor.csi.linbit.com/DrbdOptions/Net/protocol": "C", "DrbdOptions/auto-quorum": "io-error",
              "csi.storage.k8s.io/node-stage-secret-name": "x", "placementcount": "2",
              "linstor.csi.linbit.com/usePvcName": "true", "linstor.csi.linbit.com/placementPolicy": "FollowTopology"}
    assert linstor.parameter_problems("p", params) == []


def test_every_linstor_csi_key_is_accepted():
    values = {"placementcount": "1", "autoplace": "1", "encryption": "false", "disklessonremaining": "false",
              "usepvcname": "false", "allowremotevolumeaccess": "false", "placementpolicy": "AutoPlaceTopology",
              "layerlist": "drbd storage", "storagepool": "pool"}
    params = dict(("linstor.csi.linbit.com/%s" % k, values.get(k, "x")) for k in linstor.PARAMETER_KEYS)
    assert linstor.parameter_problems("p", params) == []


def test_immutable_changes():
    existing = {"provisioner": "linstor.csi.linbit.com", "parameters": {"a": "1"}, "reclaimPolicy": "Delete",
                "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": False}
    same = dict(existing, allowVolumeExpansion=True, metadata={"labels": {"x": "y"}})
    assert linstor.storageclass_immutable_changes(existing, same) == []
    assert linstor.storageclass_immutable_changes({}, same) == []
    changed = linstor.storageclass_immutable_changes(existing, dict(existing, parameters={"a": "2", "b": "3"}, reclaimPolicy="Retain"))
    assert changed == [{"field": "parameters", "before": {"a": "1"}, "after": {"a": "2", "b": "3"}},
                       {"field": "reclaimPolicy", "before": "Delete", "after": "Retain"}]
    # The API server's defaults count as the values they stand for.
    assert linstor.storageclass_immutable_changes({"provisioner": "p"}, {"provisioner": "p", "reclaimPolicy": "Delete",
                                                                         "volumeBindingMode": "Immediate",
                                                                         "parameters": {}}) == []


# --- claims ----------------------------------------------------------------------------------

CLAIM = {"name": "ms-swift-cache-pvc", "namespace": "default", "storage_class": "linstor-fast-cache", "size": "500Gi"}


@pytest.mark.parametrize("change, expected", [
    ({"size": "5GB"}, "size='5GB' is not a Kubernetes quantity (Kubernetes has no 'B' suffix: write '5Gi')"),
    ({"size": 500}, "is not a Kubernetes quantity"),
    ({"volume_mode": "block"}, "must be Filesystem or Block"),
    ({"volume_mode": "Block", "fstype": "xfs"}, "a Block claim has no filesystem"),
    ({"fstype": "ext4"}, "differs from StorageClass linstor-fast-cache's csi.storage.k8s.io/fstype 'xfs'"),
    ({"storage_class": "linstor-fats-cache"}, "is not one of the StorageClasses this role manages"),
    ({"access_modes": ["RWO"]}, "access_modes=['RWO']"),
    ({"namespace": "Default"}, "is not a valid namespace name"),
    # Hostile input: control characters, signs, overflow, look-alikes.
    ({"name": "cache\n"}, "linstor_pvcs[0].name='cache\\n' is not a valid claim name"),
    ({"name": "a..b"}, "linstor_pvcs[0].name='a..b' is not a valid claim name"),
    ({"namespace": "default\t"}, "linstor_pvcs[0].namespace='default\\t' is not a valid namespace name"),
    ({"namespace": u"def\u0430ult"}, "is not a valid namespace name"),
    ({"size": "-500Gi"}, "linstor_pvcs[0].size='-500Gi' is not a Kubernetes quantity (a size or count takes no sign)"),
    ({"size": "+1Gi"}, "takes no sign"),
    ({"size": "500Gi\n"}, "linstor_pvcs[0].size='500Gi\\n' is not a Kubernetes quantity"),
    ({"size": "16Ei"}, "is above"),
    ({"size": "0"}, "is zero"),
    ({"size": u"\uff15Gi"}, "is not a Kubernetes quantity"),
])
def test_bad_claims(change, expected):
    claim = dict(CLAIM, **change)
    assert expected in one(linstor.pvc_problems("linstor_pvcs", [claim], ["linstor-fast-cache"], {"linstor-fast-cache": "xfs"}))


def test_good_claims_and_duplicates():
    block = dict(CLAIM, name="ms-swift-cache-pvc-block", volume_mode="Block")
    assert linstor.pvc_problems("c", [CLAIM, block], ["linstor-fast-cache"]) == []
    assert "listed twice" in one(linstor.pvc_problems("c", [CLAIM, CLAIM], ["linstor-fast-cache"]))


def pod(name, claim, namespace="default", phase="Running"):
    return {"metadata": {"name": name, "namespace": namespace}, "status": {"phase": phase},
            "spec": {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "c", "persistentVolumeClaim": {"claimName": claim}}]}}


def test_pods_using_claim():
    pods = [pod("b", "cache"), pod("a", "cache"), pod("other-ns", "cache", namespace="x"), pod("done", "cache", phase="Succeeded"),
            pod("other", "data"), {"metadata": {"name": "novol", "namespace": "default"}, "spec": {}}]
    assert linstor.pods_using_claim(pods, "default", "cache") == ["default/a", "default/b"]
    assert linstor.pods_using_claim([], "default", "cache") == []


def test_saved_claim_drops_binding_and_status():
    live = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "c", "namespace": "ns", "uid": "u", "resourceVersion": "9", "finalizers": ["kubernetes.io/pvc-protection"],
                         "labels": {"app": "x"},
                         "annotations": {"pv.kubernetes.io/bind-completed": "yes", "team": "ml",
                                         "volume.kubernetes.io/selected-node": "n1"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "rook", "volumeName": "pv-1",
                     "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
            "status": {"phase": "Bound"}}
    saved = linstor.saved_claim(live)
    assert saved == {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "c", "namespace": "ns", "labels": {"app": "x"}, "annotations": {"team": "ml"}},
                     "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "rook",
                              "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"}}


# --- zones -----------------------------------------------------------------------------------

def node(name, zone, product=None):
    labels = {"topology.kubernetes.io/zone": zone}
    if product:
        labels["nvidia.com/gpu.product"] = product
    return {"metadata": {"name": name, "labels": labels}}


A100 = "NVIDIA-A100-SXM4-80GB"
NODES = [node("u1", "ucsd", A100), node("s1", "sdsu", A100), node("g1", "gatech", "NVIDIA-H100")]


def test_zone_affinity_is_the_seeds_block():
    assert linstor.zone_affinity("ucsd", A100) == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["ucsd"]},
            {"key": "nvidia.com/gpu.product", "operator": "In", "values": [A100]}]}]}}}
    assert linstor.zone_affinity(["ucsd", "sdsu"])["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["ucsd", "sdsu"]}]


def test_zone_affinity_problems():
    assert linstor.zone_affinity_problems("z", ["ucsd"], [A100], NODES) == []
    problem = one(linstor.zone_affinity_problems("z", ["chico"], None, NODES))
    assert "zone 'chico' is carried by no node" in problem and "gatech, sdsu, ucsd" in problem
    assert "GPU product 'H200'" in one(linstor.zone_affinity_problems("z", "ucsd", "H200", NODES))
    assert "no node in zone 'gatech' has GPU product" in one(linstor.zone_affinity_problems("z", ["gatech"], [A100], NODES))
    assert "is empty" in one(linstor.zone_affinity_problems("z", [], None, NODES))


# --- release, fio, controller ----------------------------------------------------------------

@pytest.mark.parametrize("status, pending", [("pending-upgrade", True), ("pending-install", True),
                                             ("pending-rollback", True), ("deployed", False), ("failed", False),
                                             ("", False), (None, False)])
def test_release_pending(status, pending):
    assert linstor.release_pending(status) is pending


FIO = {"fio version": "fio-3.33", "jobs": [{"jobname": "seqread", "error": 0, "read": {
    "io_bytes": 10737418240, "runtime": 5000, "bw_bytes": 2147483648, "total_ios": 2560,
    "clat_ns": {"mean": 1000000.0, "percentile": {"99.000000": 4000000}}}}]}


def test_fio_job_result():
    result = linstor.fio_job_result("fio: some warning\n" + json.dumps(FIO), None)
    assert result["unavailable"] is None
    assert result["result"]["mibps"] == 2048.0 and result["result"]["bytes"] == 10737418240
    assert result["result"]["fio_version"] == "fio-3.33"
    assert linstor.fio_job_result("", "no kubelet")["unavailable"] == "no fio output: no kubelet"
    assert "not fio JSON" in linstor.fio_job_result("{oops", None)["unavailable"]
    failed = dict(FIO, jobs=[{"jobname": "seqread", "error": 5}])
    assert "failed with error 5" in linstor.fio_job_result(json.dumps(failed), None)["unavailable"]


# Real fio 3.33 output, trimmed to the job's read stats (tests/unit/plugins/module_utils/files):
# the seed's command (--rw=read --bs=4M) run with the lab's image (localhost/gpufleet-fio), and
# the same on the host with --lat_percentiles=1 --clat_percentiles=0 (percentiles under lat_ns).
FILES = os.path.join(os.path.dirname(__file__), "files")


def fio_sample(name):
    with open(os.path.join(FILES, name)) as handle:
        return handle.read()


def test_fio_job_result_reads_iops_and_the_completion_p99_of_real_output():
    text = fio_sample("fio-3.33-seqread-clat.json")
    read = json.loads(text)["jobs"][0]["read"]
    result = linstor.fio_job_result(text, None)["result"]
    assert result["iops"] == round(read["iops"], 2) == 285.71
    assert result["p99_ms"] == round(read["clat_ns"]["percentile"]["99.000000"] / 1e6, 3) == 5.734
    assert result["latency_source"] == "clat" and result["latency_us"]["p99"] == 5734.4
    # The keys there were before stay.
    assert result["mibps"] == round(read["bw_bytes"] / 1048576.0, 2) and result["bytes"] == read["io_bytes"]
    assert result["ops"] == 4 and result["fio_version"] == "fio-3.33"


def test_fio_job_result_takes_the_total_latency_when_fio_kept_its_percentiles_there():
    text = fio_sample("fio-3.33-seqread-lat-percentiles.json")
    read = json.loads(text)["jobs"][0]["read"]
    assert "percentile" not in read["clat_ns"]
    result = linstor.fio_job_result(text, None)["result"]
    assert result["latency_source"] == "lat"
    assert result["p99_ms"] == round(read["lat_ns"]["percentile"]["99.000000"] / 1e6, 3) == 6.39
    assert result["iops"] == 235.29


def test_fio_job_result_without_percentiles_has_no_p99():
    data = json.loads(fio_sample("fio-3.33-seqread-clat.json"))
    del data["jobs"][0]["read"]["clat_ns"]["percentile"]
    result = linstor.fio_job_result(json.dumps(data), None)["result"]
    assert result["p99_ms"] is None and result["latency_source"] == "clat"
    assert result["latency_us"]["mean"] == 3152.849 and "p99" not in result["latency_us"]
    del data["jobs"][0]["read"]["clat_ns"], data["jobs"][0]["read"]["lat_ns"], data["jobs"][0]["read"]["iops"]
    result = linstor.fio_job_result(json.dumps(data), None)["result"]
    # No latency at all: none made up; IOPS from the I/Os fio counted over its runtime.
    assert result["p99_ms"] is None and result["latency_source"] is None and result["latency_us"] == {}
    assert result["iops"] == round(4 / 0.014, 2)


def test_fio_2_reports_completion_latency_in_microseconds():
    data = {"fio version": "fio-2.2.10", "jobs": [{"jobname": "seqread", "error": 0, "read": {
        "io_bytes": 16384, "runtime": 14, "bw": 1170285, "iops": 285.714286, "total_ios": 4,
        "clat": {"min": 1864, "max": 5752, "mean": 3152.85, "percentile": {"99.000000": 5728, "99.500000": 5728}}}}]}
    result = linstor.fio_job_result(json.dumps(data), None)["result"]
    assert result["p99_ms"] == 5.728 and result["latency_source"] == "clat" and result["latency_us"]["p99"] == 5728.0


def test_controller_answers():
    nodes = [{"name": "n2", "type": "SATELLITE", "connection_status": "OFFLINE"},
             {"name": "n1", "type": "SATELLITE", "connection_status": "ONLINE", "props": {}}]
    assert linstor.controller_nodes(nodes) == [
        {"name": "n1", "type": "SATELLITE", "connection_status": "ONLINE"},
        {"name": "n2", "type": "SATELLITE", "connection_status": "OFFLINE"}]
    pools = [{"storage_pool_name": "fast", "node_name": "n1", "provider_kind": "LVM_THIN",
              "free_capacity": 1048576 * 100, "total_capacity": 1048576 * 200},
             {"storage_pool_name": "DfltDisklessStorPool", "node_name": "n1", "provider_kind": "DISKLESS"}]
    assert linstor.controller_pools(pools) == [
        {"node": "n1", "name": "DfltDisklessStorPool", "driver": "DISKLESS", "free_gib": None, "total_gib": None},
        {"node": "n1", "name": "fast", "driver": "LVM_THIN", "free_gib": 100.0, "total_gib": 200.0}]
    assert linstor.controller_proxy_path("piraeus-datastore", "linstor-controller", "3370", "/v1/nodes") == (
        "/api/v1/namespaces/piraeus-datastore/services/linstor-controller:3370/proxy/v1/nodes")


# --- report section --------------------------------------------------------------------------

def _report_input(**change):
    data = {
        "release": {"status": {"status": "deployed", "revision": 1, "chart": "piraeus-2.6.0", "app_version": "v2.6.0"}},
        "objects": [{"kind": "LinstorCluster", "metadata": {"name": "linstorcluster"}},
                    {"kind": "LinstorSatellite", "metadata": {"name": "n1"}, "status": {"conditions": [
                        {"type": "Available", "status": "False", "message": "satellite not connected"},
                        {"type": "Applied", "status": "True"}]}}],
        "controller_service": False, "controller": {},
        "storage_classes": [{"metadata": {"name": "linstor-fast-cache"}, "provisioner": "linstor.csi.linbit.com",
                             "parameters": linstor.storageclass_parameters(SEED_CLASS),
                             "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete"}],
        "wanted_classes": ["linstor-fast-cache"],
        "claims": [{"metadata": {"name": "ms-swift-cache-pvc", "namespace": "default"},
                    "spec": {"storageClassName": "linstor-fast-cache", "resources": {"requests": {"storage": "500Gi"}}},
                    "status": {"phase": "Pending"}}],
        "wanted_claims": [CLAIM, dict(CLAIM, name="missing-claim")],
        "pods": [], "pvs": [], "benchmark": None, "release_name": "piraeus-operator", "namespace": "piraeus-datastore",
        "check_mode": False,
    }
    data.update(change)
    return data


def test_report_section():
    section = linstor.report_section(_report_input())
    assert check_section(section) == []
    tables = dict((t["title"], t) for t in section["tables"])
    assert tables["Operator release"]["rows"] == [["piraeus-operator", "piraeus-datastore", "piraeus-2.6.0", "v2.6.0", 1, "deployed"]]
    assert tables["LINSTOR objects"]["rows"][0] == ["LinstorCluster", "linstorcluster", "", "no status yet"]
    assert tables["LINSTOR objects"]["rows"][1] == ["LinstorSatellite", "n1", "n1", "Applied=True, Available=False, Configured=?"]
    claim_row = tables["Claims"]["rows"][0]
    assert claim_row[0] == "default/ms-swift-cache-pvc" and claim_row[4] == "Pending" and "expected" in claim_row[-1]
    messages = [(p["severity"], p["subject"]) for p in section["problems"]]
    assert ("error", "LinstorSatellite n1") in messages and ("error", "pvc default/missing-claim") in messages
    assert any("no status" in n for n in section["notes"]) and any("No LINSTOR controller" in n for n in section["notes"])


def test_report_section_pending_claim_used_by_a_pod_and_benchmark():
    data = _report_input(pods=[pod("trainer", "ms-swift-cache-pvc")], wanted_claims=[CLAIM],
                         benchmark={"job": "default/storage-benchmark-x", "claim": "default/x", "node": "n1",
                                    "completed": True, "result": None, "unavailable": "no kubelet"})
    section = linstor.report_section(data)
    assert ("warning", "pvc default/ms-swift-cache-pvc") in [(p["severity"], p["subject"]) for p in section["problems"]]
    assert not [t for t in section["tables"] if t["title"].startswith("fio")]  # the report builds its table
    assert section["benchmarks"] == [{"title": "fio benchmark Job (seed: --rw=read --bs=4M)",
                                      "job": "default/storage-benchmark-x", "claim": "default/x", "node": "n1",
                                      "completed": True, "read_mibps": None, "read_iops": None, "read_p99_ms": None,
                                      "latency_source": None, "unavailable": "no kubelet"}]
    assert ("info", "job default/storage-benchmark-x") in [(p["severity"], p["subject"]) for p in section["problems"]]
    assert check_section(section) == []


def test_report_section_carries_the_in_pod_figures():
    result = linstor.fio_job_result(fio_sample("fio-3.33-seqread-clat.json"), None)
    data = _report_input(benchmark=dict(result, job="default/storage-benchmark-x", claim="default/x", node="n1",
                                        completed=True))
    section = linstor.report_section(data)
    entry = section["benchmarks"][0]
    assert (entry["read_mibps"], entry["read_iops"], entry["read_p99_ms"], entry["latency_source"], entry["unavailable"]) == (
        1142.86, 285.71, 5.734, "clat", None)
    assert not [p for p in section["problems"] if p["subject"].startswith("job ")]
    assert check_section(section) == []


def test_report_section_with_a_controller():
    controller = {"nodes": [{"name": "n1", "connection_status": "OFFLINE", "type": "SATELLITE"}],
                  "storage_pools": [{"node": "n1", "name": "fast", "driver": "LVM_THIN", "free_gib": 0, "total_gib": 10}]}
    data = _report_input(controller_service=True, controller=controller)
    section = linstor.report_section(data)
    subjects = [p["subject"] for p in section["problems"]]
    assert "satellite n1" in subjects and "storage pool fast on n1" in subjects
    failed = linstor.report_section(_report_input(controller_service=True, controller={"failed": True, "msg": "503"}))
    assert any("did not answer" in p["message"] for p in failed["problems"])


def test_fio_unavailable_reason_is_the_apis_message():
    error = ('Unable to retrieve log from Pod due to: 500\nReason: Internal Server Error\n'
             'HTTP response body: {"kind":"Status","status":"Failure","message":"dial tcp 127.0.0.1:10250: connect: '
             'connection refused","code":500}\n\nOriginal traceback: ...')
    assert linstor.fio_job_result("", error)["unavailable"] == (
        "no fio output: dial tcp 127.0.0.1:10250: connect: connection refused")
    assert linstor.fio_job_result("", "the Job did not complete\nmore")["unavailable"] == "no fio output: the Job did not complete"


@pytest.mark.parametrize("change, expected", [
    ({"placement_count": "+1"}, "placement_count='+1' must be a whole number of replicas"),
    ({"placement_count": "1e3"}, "placement_count='1e3'"),
    ({"placement_count": "0x10"}, "placement_count='0x10'"),
    ({"placement_count": "1\n"}, "placement_count='1\\n'"),
    ({"placement_count": "2147483648"}, "placement_count='2147483648'"),
    ({"name": "fast\n"}, "name='fast\\n' is not a valid StorageClass name"),
    ({"allow_volume_expansion": "maybe"}, "allow_volume_expansion='maybe' is not a boolean"),
    ({"labels": {"tier": "fast,zone=a"}}, "labels['tier']='fast,zone=a' is not a label value"),
    ({"labels": {"bad key": "x"}}, "labels key='bad key' is not a label key"),
])
def test_hostile_classes(change, expected):
    sc = dict(SEED_CLASS, **change)
    assert expected in " | ".join(linstor.storageclass_problems("linstor_storage_classes", [sc]))


@pytest.mark.parametrize("zones, products, expected", [
    (["zone-a,zone-b"], [], "linstor_job_zones[0]='zone-a,zone-b' is not a label value"),
    (["zone-a\n"], [], "linstor_job_zones[0]='zone-a\\n' is not a label value"),
    (["zone-a"], ["A100 80GB"], "linstor_job_gpu_products[0]='A100 80GB' is not a label value"),
])
def test_zone_pins_are_label_values(zones, products, expected):
    assert expected in " | ".join(linstor.zone_affinity_problems("linstor_job_zones", zones, products, []))


# --- the operator's webhooks (api/v1/*_webhook.go, storagepool.go, properties.go; v2.6.0) ---------

def test_a_device_is_refused_when_listed_in_two_pools():
    pools = [{"name": "thin-a", "lvmThinPool": {}, "source": {"hostDevices": ["/dev/nvme1n1"]}},
             {"name": "thick-b", "lvmPool": {}, "source": {"hostDevices": ["/dev/nvme2n1", "/dev/nvme1n1"]}}]
    assert linstor.pool_problems("linstor_storage_pools", pools) == [
        "linstor_storage_pools[1].source.hostDevices[1]='/dev/nvme1n1' is listed twice (first as "
        "linstor_storage_pools[0].source.hostDevices[0]); give each device once, in one pool"]


def test_reordered_host_devices_are_a_change_the_webhook_refuses():
    old = [{"name": "thin", "lvmThinPool": {}, "source": {"hostDevices": ["/dev/sdb", "/dev/sdc"]}}]
    new = [{"name": "thin", "lvmThinPool": {}, "source": {"hostDevices": ["/dev/sdc", "/dev/sdb"]}}]
    changes = linstor.pool_changes("linstor_storage_pools", old, new)
    assert len(changes) == 1 and "source would change from ['/dev/sdb', '/dev/sdc'] to ['/dev/sdc', '/dev/sdb'] (the " \
        "same devices in another order: the operator's webhook refuses that too)" in changes[0]
    assert linstor.pool_changes("linstor_storage_pools", old, old) == []


@pytest.mark.parametrize("ref, wildcard", [
    ("metadata.name", False), ("metadata.uid", False), ("metadata.labels['topology.kubernetes.io/zone']", False),
    ("metadata.annotations['Example.com/Rack']", False),  # annotations are checked lower-cased
    ("metadata.labels", True), ("metadata.annotations", True), ("metadata.labels['gpufleet.io/*']", True),
])
def test_node_field_refs_the_operator_reads(ref, wildcard):
    assert linstor.node_field_ref(ref) == (wildcard, None)


@pytest.mark.parametrize("ref", ["spec.podCIDR", "metadata.labels['a b']", "metadata.name['x']", "", None,
                                 "metadata.labels['zone\n']"])
def test_node_field_refs_refused(ref):
    wildcard, reason = linstor.node_field_ref(ref)
    assert wildcard is None and reason


@pytest.mark.parametrize("props, expected", [
    ([{"name": "Aux/rack", "value": "r1", "valueFrom": {"nodeFieldRef": "metadata.name"}}],
     "linstor_satellite_properties[0] ('Aux/rack') has value and valueFrom; give exactly one of value, valueFrom, expandFrom"),
    ([{"name": "Aux/rack"}], "has none of them"),
    ([{"name": "Aux/all", "valueFrom": {"nodeFieldRef": "metadata.labels"}}],
     "linstor_satellite_properties[0].valueFrom.nodeFieldRef='metadata.labels' reads many keys: use expandFrom"),
    ([{"name": "Aux/x", "expandFrom": {"nodeFieldRef": "metadata.name"}}], "reads one value: expandFrom needs a wildcard"),
    ([{"name": "Aux/x", "expandFrom": {"nodeFieldRef": "metadata.labels['a/*']", "nameTemplate": "$1", "delimiter": ","}}],
     "has both nameTemplate and delimiter"),
    ([{"name": "Aux/x", "valueFrom": {"nodeFieldRef": "status.addresses"}}], "is not a field the operator reads from a Node"),
    ([{"name": "Aux/x", "value": 3}], "linstor_satellite_properties[0].value=3 must be a string"),
    ([{"name": "Aux/x\n", "value": "a"}], "is not a LINSTOR property name"),
    ([{"name": "Aux/x", "value": "a", "optional": "maybe"}], "linstor_satellite_properties[0].optional='maybe' is not a boolean"),
    ({"name": "x"}, "must be a list of properties"),
])
def test_satellite_properties_as_the_webhook_checks_them(props, expected):
    assert any(expected in p for p in linstor.satellite_property_problems("linstor_satellite_properties", props)), \
        linstor.satellite_property_problems("linstor_satellite_properties", props)


def test_satellite_properties_accepted():
    props = [{"name": "Aux/rack", "valueFrom": {"nodeFieldRef": "metadata.labels['topology.kubernetes.io/rack']"}},
             {"name": "PrefNic", "value": "default-ipv4"},
             {"name": "Aux/gpu", "expandFrom": {"nodeFieldRef": "metadata.labels['gpufleet.io/*']", "nameTemplate": "Aux/$1"},
              "optional": True}]
    assert linstor.satellite_property_problems("p", props) == []


@pytest.mark.parametrize("spec, expected", [
    ({"nodeAffinity": {"nodeSelectorTerms": []}},
     "linstor_cluster_spec sets nodeAffinity.nodeSelectorTerms, which the role sets from linstor_storage_nodes: set "
     "linstor_storage_nodes instead"),
    ({"nodeSelector": {"a": "b"}}, "sets nodeSelector.a, which the role sets from linstor_satellite_node_selector"),
    ({"csiNode": {"podTemplate": {"spec": {"tolerations": []}}}}, "which the role sets from linstor_gpu_tolerations"),
    ({"csiNode": None}, "sets csiNode, which the role sets from linstor_gpu_tolerations"),
    ({"externalController": {"url": "http://linstor:3370:1"}},
     "linstor_cluster_spec.externalController.url='http://linstor:3370:1' does not parse as a URL"),
    ({"externalController": {"url": "linstor-controller"}}, "does not start with http:// or https://"),
    ([], "linstor_cluster_spec=[] must be a dict"),
])
def test_cluster_spec_problems(spec, expected):
    problems = linstor.cluster_spec_problems("linstor_cluster_spec", spec)
    assert any(expected in p for p in problems), problems


def test_cluster_spec_the_role_does_not_set_passes():
    spec = {"repository": "quay.io/piraeusdatastore", "properties": [{"name": "x", "value": "y"}],
            "externalController": {"url": "https://linstor.example.org:3371"}, "csiNode": {"enabled": True},
            "controller": {"podTemplate": {"spec": {"priorityClassName": "system-cluster-critical"}}}}
    assert linstor.cluster_spec_problems("linstor_cluster_spec", spec) == []
