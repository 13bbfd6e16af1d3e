"""The lab's real kubelet node (lab/real-node.yml) on scripts/lab's own lab, after scripts/lab
converged it (conftest.py; tests/commands/test_readme_commands.py checks its report first):
gpu-sdsu-1 is a real node (kubelet, containerd, runc in its container), the other GPU nodes stay
kwok fakes. In priority order:

1. the host's kernel settings are never touched: `sysctl -a`'s vm.* and kernel.* are the same
   before scripts/lab, while its kubelet runs and after teardown; inside the node the six settings
   the kubelet wants read its values (the supervisor's shields); /proc/sys is read-only in the
   node, and with a shield gone the supervisor refuses to start the kubelet;
2. the node: Ready, registered by its kubelet (no kwok annotation, it holds its own Lease), the
   labels, taint and nvidia.com/gpu capacity of a GPU node;
3. the linstor role's fio benchmark Job (the seed's) Complete on the node against the stand-in
   local PV, its log read with kubernetes.core.k8s_log and parsed by linstor.fio_job_result;
4. the seed's Block-mode claim read as a raw device by the lab's block reader (lab/readers.yml)
   through kubernetes.core.k8s_exec, the kubelet's lock over it while the pod runs, none after;
5. a pod's securityContext enforced by runc (the standin's own report), kubernetes.core.k8s_exec
   into it, and a hostPath of the node's /raid showing a file written on the node;
6. the model volume of the model_storage role: read-only in a pod on the node holding the model,
   and a pod pinned to a node without it is never placed; lab/real-node.yml re-run while a pod uses
   the model volume converges (xfs_cache no longer takes the kubelet's bind mount of the local PV for
   the cache device mounted elsewhere);
7. the gpu_telemetry role's pods Running on the node, the queue's readiness probe passing, the
   chart's securityContext enforced;
8. GreptimeDB's claim as the tensor_fusion role made it (NFS, nfs-1's export) mounted by a pod on
   the node through the node's user-space mount.nfs;
9. the kubelet killed in the middle of a run that waits for a pod on the node: a re-run (with
   lab/real-node.yml) converges, the node is Ready again and a third run changes nothing (so
   lab/real-node.yml run again on scripts/lab's lab changes nothing on the node);
10. teardown (scripts/lab's hosts and control plane) leaves nothing: no process, mount, cgroup,
   loop device or podman object of the lab, and the host's kernel settings as before.

Each of these used to need a lab of its own (the node, its control plane, the charts and images,
the model and telemetry converges): on scripts/lab's they cost only what they check. Skipped when
a lab was up before the stage (these tests kill its kubelet and take it down). Needs root, podman
and loop devices: `scripts/test commands`.
"""

import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.module_utils import linstor
from ansible_collections.gpufleet.cluster.plugins.module_utils.units import parse_size
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.linstor import objects as li_objects

from realnode import FAKE, KUBELET_SYSCTLS, REAL, REPO, RealNodeLab, host_sysctls, kubepods_cgroups, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("podman"), reason="needs root and podman")

# Settings that change by themselves: the last pid handed out, the random pool (uuid, entropy),
# the number of pseudo-terminals in use (any `podman exec -t` or login on this shared machine
# opens one) and the perf sample rate (the kernel lowers it itself when perf interrupts run long).
VOLATILE_PREFIXES = ("kernel.random.",)
VOLATILE = {"kernel.ns_last_pid", "kernel.pty.nr", "kernel.perf_event_max_sample_rate"}
TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
SUPERVISOR_LOG = "/var/log/gpufleet-node/supervisor.log"
# The scheduler's reason for a node the bound volume cannot reach (volumebinding's ErrReasonNodeConflict;
# "had volume node affinity conflict" before Kubernetes 1.35).
VOLUME_CONFLICT = ("didn't match PersistentVolume's node affinity", "volume node affinity conflict")


def stable(values):
    return {k: v for k, v in values.items() if k not in VOLATILE and not k.startswith(VOLATILE_PREFIXES)}


def sysctl_changes(before, after):
    before, after = stable(before), stable(after)
    return {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}


@pytest.fixture(scope="module")
def lab(scripts_lab, tmp_path_factory):
    if scripts_lab.was_up:
        pytest.skip("a lab was up before scripts/lab ran: these tests kill its kubelet and take it down")
    assert scripts_lab.rc == 0, scripts_lab.out[-3000:]
    lab = RealNodeLab.scripts_lab(tmp_path_factory.mktemp("realnode"))
    lab.sysctl_before = scripts_lab.sysctl_before
    lab.kubepods_before = scripts_lab.kubepods_before
    lab.container_ids = set(filter(None, (lab.container_id(REAL), lab.container_id(FAKE))))
    try:
        yield lab
    finally:
        if not lab.torn_down:
            lab.down()


@pytest.fixture(scope="module")
def k8s(lab):
    from kubernetes.dynamic import DynamicClient  # pylint: disable=import-outside-toplevel
    api, client = lab.api()
    return {"core": client.CoreV1Api(api), "batch": client.BatchV1Api(api), "coord": client.CoordinationV1Api(api),
            "dyn": DynamicClient(api), "client": client}


def create(k8s, obj):
    resource = k8s["dyn"].resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    return resource.create(body=obj, namespace=obj["metadata"].get("namespace"))


def node(k8s, name=REAL):
    return k8s["core"].read_node(name)


def ready(obj):
    return any(c.type == "Ready" and c.status == "True" for c in (obj.status.conditions or []))


def pod_running(k8s, namespace, name):
    def probe():
        pod = k8s["core"].read_namespaced_pod(name, namespace)
        if pod.status.phase in ("Failed", "Succeeded"):
            raise AssertionError("pod %s/%s ended: %s" % (namespace, name, pod.status))
        return pod if pod.status.phase == "Running" else None
    return wait_for("pod %s/%s Running" % (namespace, name), probe, 90)


def events_of(k8s, namespace, name):
    return [(e.reason, e.message) for e in k8s["core"].list_namespaced_event(
        namespace, field_selector="involvedObject.name=%s" % name).items]


def standin_pod(lab, name, namespace="default", args=("sleep",), run_as=65532, volumes=(), mounts=(), node_selector=None):
    """A pod of the standin image with the restricted security context the lab's pods use."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeSelector": node_selector or {"kubernetes.io/hostname": REAL}, "tolerations": [TOLERATION],
                     "terminationGracePeriodSeconds": 2,
                     "securityContext": {"runAsNonRoot": run_as != 0, "runAsUser": run_as, "runAsGroup": run_as,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [{"name": "standin", "image": lab.images["standin"]["ref"],
                                     "imagePullPolicy": "IfNotPresent", "args": list(args),
                                     "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                                         "runAsNonRoot": run_as != 0, "capabilities": {"drop": ["ALL"]}},
                                     "volumeMounts": list(mounts)}],
                     "volumes": list(volumes)}}


def pod_exec(lab, namespace, name, *command):
    result = lab.module("kubernetes.core.k8s_exec", {"namespace": namespace, "pod": name, "command": " ".join(command)})
    assert not result.get("failed") or "return_code" in result, result
    return result


def supervisor_lines(lab, text):
    log = lab.node_exec("cat", SUPERVISOR_LOG).stdout
    return [line for line in log.splitlines() if text in line]


def kubelet_pid(lab):
    proc = lab.node_exec("pgrep", "-x", "kubelet", check=False)
    return proc.stdout.split()[0] if proc.returncode == 0 else None


# --- 1. the host's kernel settings ---------------------------------------------------------------

def test_host_kernel_settings_untouched_while_the_kubelet_runs(lab, k8s):
    assert ready(node(k8s)) and kubelet_pid(lab), "the kubelet is not running"
    during = host_sysctls()
    assert sysctl_changes(lab.sysctl_before, during) == {}
    for key, wanted in KUBELET_SYSCTLS.items():
        assert during[key] == lab.sysctl_before[key], key
    # Inside the node: the kubelet's values, each entry a bind mount of the supervisor's file.
    paths = ["/proc/sys/" + key.replace(".", "/") for key in KUBELET_SYSCTLS]
    inside = lab.node_exec("cat", *paths).stdout.split()
    assert inside == list(KUBELET_SYSCTLS.values()), inside
    mountpoints = {line.split()[4] for line in lab.node_exec("cat", "/proc/self/mountinfo").stdout.splitlines()}
    assert set(paths) <= mountpoints, sorted(set(paths) - mountpoints)
    print("host: %s; inside the node: %s" % ({k: during[k] for k in KUBELET_SYSCTLS}, dict(zip(KUBELET_SYSCTLS, inside))))


def test_proc_sys_read_only_and_no_kubelet_without_a_shield(lab, k8s):
    # The second safety first: /proc/sys is mounted read-only in the node (no unmask).
    proc_sys = [line.split() for line in lab.node_exec("cat", "/proc/self/mountinfo").stdout.splitlines()
                if line.split()[4] == "/proc/sys"]
    assert proc_sys and all("ro" in fields[5].split(",") for fields in proc_sys), proc_sys
    shielded = "/proc/sys/vm/overcommit_memory"
    refused_before = len(supervisor_lines(lab, "REFUSED"))
    started_before = len(supervisor_lines(lab, "starting the kubelet"))
    old_pid = kubelet_pid(lab)
    assert old_pid
    try:
        lab.node_exec("umount", shielded)
        assert lab.node_exec("cat", shielded).stdout.strip() == lab.sysctl_before["vm.overcommit_memory"]
        lab.node_exec("pkill", "-KILL", "-x", "kubelet")
        wait_for("the supervisor's REFUSED", lambda: len(supervisor_lines(lab, "REFUSED")) > refused_before, 15)
        time.sleep(3)  # three more rounds of the supervisor's loop
        assert kubelet_pid(lab) is None, "a kubelet runs without its shield"
        assert len(supervisor_lines(lab, "starting the kubelet")) == started_before
        print(supervisor_lines(lab, "REFUSED")[-1])
        assert host_sysctls()["vm.overcommit_memory"] == lab.sysctl_before["vm.overcommit_memory"]
    finally:
        lab.node_exec("sh", "-c", "grep -q ' %s ' /proc/self/mountinfo || mount --bind /run/gpufleet-node/sysctl/vm/overcommit_memory %s"
                      % (shielded, shielded))
    # The shield back: the supervisor starts the kubelet again and the node stays (or turns) Ready.
    new_pid = wait_for("the kubelet started again", lambda: kubelet_pid(lab), 30)
    assert new_pid != old_pid
    wait_for("node Ready", lambda: ready(node(k8s)), 60)
    assert sysctl_changes(lab.sysctl_before, host_sysctls()) == {}


# --- 2. the node ---------------------------------------------------------------------------------

def test_node_registered_by_its_kubelet(lab, k8s):
    obj = node(k8s)
    inventory = yaml.safe_load((lab.inventory / "hosts.yml").read_text())
    ip = inventory["all"]["children"]["gpu_nodes"]["children"]["zone_sdsu"]["hosts"][REAL]["ip"]
    gpus = str(lab.group_vars("all", "lab.yml")["lab_real_node_gpus"])
    assert ready(obj)
    assert "kwok.x-k8s.io/node" not in (obj.metadata.annotations or {})
    assert obj.status.node_info.container_runtime_version.startswith("containerd://"), obj.status.node_info
    assert {(a.type, a.address) for a in obj.status.addresses} >= {("InternalIP", ip), ("Hostname", REAL)}
    lease = k8s["coord"].read_namespaced_lease(REAL, "kube-node-lease")
    assert lease.spec.holder_identity == REAL, lease.spec
    labels = obj.metadata.labels
    assert labels["kubernetes.io/hostname"] == REAL
    assert labels["topology.kubernetes.io/zone"] == "sdsu" and labels["topology.kubernetes.io/region"] == "nrp"
    assert labels["nvidia.com/gpu.present"] == "true" and labels["nvidia.com/gpu.count"] == gpus
    assert labels["nvidia.com/gpu.product"] == node(k8s, FAKE).metadata.labels["nvidia.com/gpu.product"]
    assert labels["gpufleet.lab/real"] == "true"
    assert [(t.key, t.value, t.effect) for t in obj.spec.taints] == [("nvidia.com/gpu", "present", "NoSchedule")]
    assert obj.status.capacity["nvidia.com/gpu"] == gpus
    # What the scheduler counts: the kubelet derives allocatable from capacity at its next status update.
    start = time.monotonic()
    wait_for("nvidia.com/gpu allocatable", lambda: node(k8s).status.allocatable.get("nvidia.com/gpu") == gpus, 30)
    print("nvidia.com/gpu allocatable after %.1f s: %s" % (time.monotonic() - start, node(k8s).status.allocatable))
    assert "kwok.x-k8s.io/node" in node(k8s, FAKE).metadata.annotations  # the other one stays a fake
    print("node %s: kubelet %s, %s" % (REAL, obj.status.node_info.kubelet_version, obj.status.node_info.container_runtime_version))
    # lab/real-node.yml again changes nothing: the kubelet drill's third run (9. below) proves it.


# --- 3. the seed's benchmark Job and 4. the Block-mode claim -------------------------------------

def test_seed_benchmark_job_on_the_real_node(lab, k8s):
    """The linstor role's benchmark Job (the seed's, inventories/lab: linstor_fio_benchmark), which
    scripts/lab's site.yml ran: Complete on the real node against the stand-in local PV, its log read
    with kubernetes.core.k8s_log and parsed as the role parses it."""
    settings = lab.group_vars("k8s_control", "linstor.yml")
    claim = settings["linstor_fio_benchmark_pvc"]
    job = li_objects.benchmark_job({"fio_benchmark_pvc": claim, "gpu_tolerations": [], "job_zones": [],
                                    "job_gpu_products": [], "fio_benchmark_image": lab.images["fio"]["ref"],
                                    "fio_benchmark_size": settings["linstor_fio_benchmark_size"]})
    name, namespace = job["metadata"]["name"], job["metadata"]["namespace"]
    status = k8s["batch"].read_namespaced_job(name, namespace).status
    assert {c.type: c.status for c in status.conditions or []}.get("Complete") == "True", status
    pods = k8s["core"].list_namespaced_pod(namespace, label_selector="job-name=" + name).items
    assert [p.spec.node_name for p in pods] == [REAL]
    pvc = k8s["core"].read_namespaced_persistent_volume_claim(claim["name"], claim.get("namespace") or "default")
    assert pvc.status.phase == "Bound"
    pv = k8s["core"].read_persistent_volume(pvc.spec.volume_name)
    assert pv.spec.local.path == "/raid/linstor-standin"
    assert pv.spec.node_affinity.required.node_selector_terms[0].match_expressions[0].values == [REAL]
    result = lab.module("kubernetes.core.k8s_log", {"api_version": "batch/v1", "kind": "Job", "namespace": namespace,
                                                    "name": name})
    assert not result.get("failed"), result
    parsed = linstor.fio_job_result(result["log"], None)
    assert parsed["unavailable"] is None, parsed
    figures = parsed["result"]
    print("benchmark Job Complete on %s (claim on %s): read %s MiB/s, %s IOPS, %s bytes (%s)"
          % (pods[0].spec.node_name, pv.metadata.name, figures["mibps"], figures["iops"], figures["bytes"],
             figures["fio_version"]))
    size = settings["linstor_fio_benchmark_size"]  # fio's M is binary, as parse_size's
    assert figures["bytes"] == parse_size(size), (size, figures)
    assert figures["mibps"] > 0
    # fio really wrote its file on the node's disk, in the stand-in volume's directory.
    listing = lab.node_exec("ls", "-l", "/raid/linstor-standin").stdout
    assert "seqread" in listing, listing


def test_block_claim_consumed_as_a_raw_device(lab, k8s):
    """The seed's Block-mode claim on the node's raw disk (lab/standin-volumes.yml), used by the lab's
    block reader (lab/readers.yml) as the seed's model-loader does (volumeDevices, /dev/cache): the pod
    reads the very device the node has, the kubelet's lock over it while the pod runs, and none once
    the pod is gone."""
    settings = lab.group_vars("k8s_control", "linstor.yml")
    claim = next(c for c in settings["linstor_pvcs"] if c.get("volume_mode") == "Block")
    namespace = claim.get("namespace") or "default"
    running = pod_running(k8s, namespace, "lab-block-reader")
    assert running.spec.node_name == REAL
    pvc = k8s["core"].read_namespaced_persistent_volume_claim(claim["name"], namespace)
    assert (pvc.status.phase, pvc.spec.volume_mode) == ("Bound", "Block")
    device = lab.group_vars("all", "lab.yml")["lab_block_device"]
    pv = k8s["core"].read_persistent_volume(pvc.spec.volume_name)
    assert (pv.metadata.name, pv.spec.local.path) == ("lab-standin-linstor-fast-cache-block", device)
    # A marker at the start of the node's raw disk, written on the node, read in the pod.
    token = uuid.uuid4().hex
    lab.node_exec("sh", "-c", "printf '%s' | dd of=%s bs=4096 conv=notrunc,fsync status=none" % (token, device))
    on_node = lab.node_exec("sh", "-c", "head -c 4096 %s | sha256sum" % device).stdout.split()[0]
    size = int(lab.node_exec("blockdev", "--getsize64", device).stdout)
    read = pod_exec(lab, namespace, "lab-block-reader", "/standin", "blockdev", "/dev/cache")
    assert read.get("return_code") == 0, read
    seen = json.loads(read["stdout"])
    print("block claim in a pod: %s; the node's %s: %d bytes, first 4 KiB %s" % (seen, device, size, on_node))
    assert seen["is_block_device"] and seen["size_bytes"] == size
    assert seen["first_bytes_sha256"] == on_node
    # The kubelet's lock: a loop device of the node, bound over the volume's global map path.
    lock, backing = lab.lock_device()
    assert backing and "/volumeDevices/" in backing and backing.endswith(running.metadata.uid), (lock, backing)

    k8s["core"].delete_namespaced_pod("lab-block-reader", namespace, grace_period_seconds=0)
    wait_for("the kubelet to release %s" % lock, lambda: lab.lock_device()[1] is None, 60)


# --- 5. securityContext, k8s_exec, the node's disk -----------------------------------------------

def test_security_context_enforced_exec_and_hostpath(lab, k8s):
    token = uuid.uuid4().hex
    lab.node_exec("sh", "-c", "printf '%s\\n' > /raid/rnt-marker && chmod 0644 /raid/rnt-marker" % token)
    pod = standin_pod(lab, "rnt-standin", args=("serve",),
                      volumes=[{"name": "raid", "hostPath": {"path": "/raid", "type": "Directory"}}],
                      mounts=[{"name": "raid", "mountPath": "/node-raid", "readOnly": True}])
    create(k8s, pod)
    running = pod_running(k8s, "default", "rnt-standin")
    assert running.spec.node_name == REAL

    def report():
        result = lab.module("kubernetes.core.k8s_log", {"namespace": "default", "name": "rnt-standin"})
        lines = [line for line in (result.get("log") or "").splitlines() if line.startswith("{")]
        return json.loads(lines[0]) if lines else None
    rep = wait_for("the standin's report", report, 30, interval=1)
    print("standin in a pod: %s" % rep)
    assert rep["uid"] == 65532 and rep["gid"] == 65532, rep
    assert rep["root"]["ok"] is False and rep["root"]["errno"] == "EROFS", rep
    assert int(rep["cap_eff"], 16) == 0, rep
    assert rep["seccomp"] == 2 and rep["no_new_privs"] == 1, rep
    assert rep["hostname"] == "rnt-standin"

    hostname = pod_exec(lab, "default", "rnt-standin", "/standin", "cat", "/etc/hostname")
    assert hostname["rc"] == 0 and hostname["stdout"].strip() == "rnt-standin", hostname
    probe = pod_exec(lab, "default", "rnt-standin", "/standin", "probe-write", "/probe")
    assert json.loads(probe["stdout"])["errno"] == "EROFS", probe
    marker = pod_exec(lab, "default", "rnt-standin", "/standin", "cat", "/node-raid/rnt-marker")
    assert marker["rc"] == 0 and marker["stdout"].strip() == token, marker
    # /raid of the node is its cache disk (XFS on the lab's loop device), not the container's root.
    assert lab.node_exec("findmnt", "-n", "-o", "FSTYPE", "/raid").stdout.strip() == "xfs"


# --- 6. the model volume -------------------------------------------------------------------------

def test_model_volume_read_only_and_only_where_the_model_is(lab, k8s):
    settings = yaml.safe_load((REPO / "roles/model_storage/defaults/main.yml").read_text())
    model = lab.group_vars("all", "model_storage.yml")["model_storage_models"][0]
    namespace, claim_name = settings["model_storage_namespace"], settings["model_storage_pvc_name"]
    pv = k8s["core"].read_persistent_volume(settings["model_storage_pv_name"])
    assert pv.spec.local.path == "/raid/models" and pv.spec.access_modes == ["ReadOnlyMany"], pv.spec
    expressions = pv.spec.node_affinity.required.node_selector_terms[0].match_expressions
    # The nodes that hold the whole model (lab/models.yml: the real node among them), not the others.
    nodes = [value for e in expressions for value in e.values]
    assert REAL in nodes and FAKE not in nodes and "gpu-ucsd-2" not in nodes, expressions
    models = k8s["dyn"].resources.get(api_version="ome.io/v1beta1", kind="ClusterBaseModel").get()
    assert model["name"] in [m.metadata.name for m in models.items]

    config = "/models/%s/config.json" % model["subpath"]
    volume = [{"name": "models", "persistentVolumeClaim": {"claimName": claim_name, "readOnly": True}}]
    mount = [{"name": "models", "mountPath": "/models", "readOnly": True}]
    # As root (the model directory is root's, mode 0750, as node_prep makes it): a write fails because
    # the volume is read-only, not for want of permission.
    # Pinned to the real node (the scheduler could place it on the other node with the model, a fake).
    create(k8s, standin_pod(lab, "rnt-model-reader", namespace=namespace, run_as=0, volumes=volume, mounts=mount))
    assert pod_running(k8s, namespace, "rnt-model-reader").spec.node_name == REAL
    # The claim (WaitForFirstConsumer in hostPath mode) bound to the model volume with its first pod.
    pvc = k8s["core"].read_namespaced_persistent_volume_claim(claim_name, namespace)
    assert pvc.status.phase == "Bound" and pvc.spec.volume_name == pv.metadata.name, pvc.status
    read = pod_exec(lab, namespace, "rnt-model-reader", "/standin", "cat", config)
    on_node = lab.node_exec("cat", "/raid/models/%s/config.json" % model["subpath"]).stdout
    assert read["rc"] == 0 and json.loads(read["stdout"]) == json.loads(on_node), read
    probe = pod_exec(lab, namespace, "rnt-model-reader", "/standin", "probe-write", "/models/%s/probe" % model["subpath"])
    assert json.loads(probe["stdout"])["errno"] == "EROFS", probe

    # Pinned to the fake node of the same zone, which holds no model: never placed there.
    create(k8s, standin_pod(lab, "rnt-model-elsewhere", namespace=namespace, run_as=0, volumes=volume, mounts=mount,
                            node_selector={"kubernetes.io/hostname": FAKE}))

    def unschedulable():
        pod = k8s["core"].read_namespaced_pod("rnt-model-elsewhere", namespace)
        assert not pod.spec.node_name, "placed on %s" % pod.spec.node_name
        cond = [c for c in pod.status.conditions or [] if c.type == "PodScheduled"]
        return cond[0] if cond and cond[0].status == "False" and any(r in (cond[0].message or "") for r in VOLUME_CONFLICT) else None
    try:
        cond = wait_for("the pinned pod Unschedulable", unschedulable, 30)
    except AssertionError as exc:
        pod = k8s["core"].read_namespaced_pod("rnt-model-elsewhere", namespace)
        events = events_of(k8s, namespace, "rnt-model-elsewhere")
        raise AssertionError("%s; conditions %s; events %s" % (exc, pod.status.conditions, events)) from exc
    time.sleep(3)
    pod = k8s["core"].read_namespaced_pod("rnt-model-elsewhere", namespace)
    assert not pod.spec.node_name and pod.status.phase == "Pending"
    events = events_of(k8s, namespace, "rnt-model-elsewhere")
    print("pinned to %s: %s; events %s" % (FAKE, cond.message, events))
    assert any(reason == "FailedScheduling" and any(r in message for r in VOLUME_CONFLICT) for reason, message in events), events


def test_rerun_while_a_pod_uses_the_model_volume(lab, k8s):
    namespace = yaml.safe_load((REPO / "roles/model_storage/defaults/main.yml").read_text())["model_storage_namespace"]
    uid = k8s["core"].read_namespaced_pod("rnt-model-reader", namespace).metadata.uid
    # The kubelet's bind mount of the model volume for this pod (other pods' volumes aside).
    mount = "pods/%s/volumes/kubernetes.io~local-volume" % uid
    try:
        pod_running(k8s, namespace, "rnt-model-reader")
        assert mount in lab.node_exec("cat", "/proc/self/mountinfo").stdout
        rc, text, _recap = lab.playbook("lab/real-node.yml")
        assert rc == 0, text[-1500:]
        assert mount in lab.node_exec("cat", "/proc/self/mountinfo").stdout  # left alone
    finally:
        for name in ("rnt-model-reader", "rnt-model-elsewhere"):
            k8s["core"].delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        wait_for("the model volume unmounted on the node", lambda: mount not in
                 lab.node_exec("cat", "/proc/self/mountinfo").stdout, 90)


# --- 7. the telemetry pods and 8. GreptimeDB's NFS claim -----------------------------------------

def test_telemetry_pods_on_the_real_node(lab, k8s):
    namespace = lab.group_vars("k8s_control", "gpu_telemetry.yml")["gpu_telemetry_namespace"]
    values = yaml.safe_load((REPO / "roles/gpu_telemetry/files/gpu-telemetry/values.yaml").read_text())

    def all_ready():
        pods = k8s["core"].list_namespaced_pod(namespace).items
        return pods if pods and all(p.status.phase == "Running" and ready(p) for p in pods) else None
    pods = wait_for("the telemetry pods Running and Ready", all_ready, 120, interval=1)
    components = {p.metadata.labels.get("app.kubernetes.io/component"): p for p in pods}
    print("telemetry pods: %s" % [(p.metadata.name, p.spec.node_name, p.status.phase) for p in pods])
    assert {p.spec.node_name for p in pods} == {REAL}
    assert {"queue", "streamer", "collector"} <= set(components), sorted(components)
    queue = components["queue"]
    assert queue.spec.containers[0].readiness_probe.http_get is not None  # Ready: the kubelet's probe passed
    assert all(c.ready for c in queue.status.container_statuses)

    collector = components["collector"].metadata.name
    result = lab.module("kubernetes.core.k8s_log", {"namespace": namespace, "name": collector})
    rep = json.loads(next(line for line in result["log"].splitlines() if line.startswith("{")))
    print("collector %s: %s" % (collector, rep))
    assert rep["uid"] == values["podSecurity"]["runAsUser"] and rep["gid"] == values["podSecurity"]["runAsGroup"], rep
    assert values["podSecurity"]["fsGroup"] in rep["groups"], rep
    assert rep["root"]["errno"] == "EROFS" and rep["tmp"]["ok"] is True, rep  # /tmp: the chart's emptyDir
    assert int(rep["cap_eff"], 16) == 0 and rep["seccomp"] == 2 and rep["no_new_privs"] == 1, rep


def mount_helpers(lab):
    """The real node's user-space NFS client daemons (lab/realnode.d/mount_nfs.py), one per mount."""
    proc = lab.node_exec("pgrep", "-f", "mount_nfs.py", check=False)
    return proc.stdout.split()


def test_greptimedb_claim_on_nfs_mounted_by_a_real_pod(lab, k8s):
    """GreptimeDB's claim as scripts/lab's tensor_fusion role made it (tensor_fusion.objects.storage_objects:
    a PV of type nfs on nfs-1's export, pre-bound), mounted by a pod on the real node through the kubelet's
    NFS volume plugin and the node's user-space mount.nfs (docs/lab.md): what the pod writes as
    GreptimeDB's uid is on nfs-1, the server's, and the mount and its daemon end with the pod."""
    defaults = yaml.safe_load((REPO / "roles/tensor_fusion/defaults/main.yml").read_text())
    nfs_defaults = yaml.safe_load((REPO / "roles/nfs_server/defaults/main.yml").read_text())
    export = dict(next(e for e in nfs_defaults["nfs_server_exports"] if e["name"] == "greptimedb"))
    export.setdefault("path", "%s/%s" % (nfs_defaults["nfs_server_export_root"], export["name"]))
    assert export["path"] == defaults["tensor_fusion_greptimedb_nfs_path"], export
    uid = int(defaults["tensor_fusion_greptimedb_run_as_user"])
    assert (int(export["owner"]), int(export["group"])) == (uid, int(defaults["tensor_fusion_greptimedb_run_as_group"]))
    hosts = yaml.safe_load((lab.inventory / "hosts.yml").read_text())
    server_ip = hosts["all"]["children"]["nfs_servers"]["hosts"]["nfs-1"]["ip"]
    pv = k8s["core"].read_persistent_volume(defaults["tensor_fusion_greptimedb_volume_name"])
    assert (pv.spec.nfs.server, pv.spec.nfs.path) == (server_ip, export["path"]), pv.spec
    claim = pv.spec.claim_ref
    assert claim is not None and pv.status.phase == "Bound", pv.status
    namespace = claim.namespace
    # GreptimeDB's own pod may use the claim on the node too: this pod's mount is the one more.
    helpers_before = len(mount_helpers(lab))
    pod = standin_pod(lab, "rnt-greptimedb-reader", namespace=namespace, run_as=uid,
                      volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": claim.name}}],
                      mounts=[{"name": "data", "mountPath": "/data"}])
    started = time.monotonic()
    create(k8s, pod)
    running = pod_running(k8s, namespace, "rnt-greptimedb-reader")
    print("pod with GreptimeDB's NFS claim Running on %s in %.1f s" % (running.spec.node_name, time.monotonic() - started))
    assert running.spec.node_name == REAL
    # The kubelet's mount of the PV: the export, served by the node's user-space client over FUSE.
    mounts = [line.split() for line in lab.node_exec("cat", "/proc/mounts").stdout.splitlines()]
    volume = [m for m in mounts if running.metadata.uid in m[1] and m[1].endswith("/" + pv.metadata.name)]
    assert len(volume) == 1 and volume[0][0] == "%s:%s" % (server_ip, export["path"]), mounts
    assert volume[0][2] == "fuse.nfs4", volume
    assert len(mount_helpers(lab)) == helpers_before + 1

    name = "rnt-%s" % uuid.uuid4().hex[:12]
    wrote = pod_exec(lab, namespace, "rnt-greptimedb-reader", "/standin", "probe-write", "/data/" + name)
    assert wrote.get("return_code") == 0 and json.loads(wrote["stdout"])["ok"], wrote
    # On the server, GreptimeDB's: the request carried the pod's uid (AUTH_SYS).
    on_server = lab.node_exec("stat", "-c", "%u:%g", "%s/%s" % (export["path"], name), host="nfs-1").stdout.split()
    assert on_server == ["%d:%d" % (uid, uid)], on_server
    assert lab.node_exec("cat", "%s/%s" % (export["path"], name), host="nfs-1").stdout == "written by standin\n"
    # And what the server has reads back through the mount.
    lab.node_exec("sh", "-c", "printf '%s' > %s/%s.server && chown %d:%d %s/%s.server"
                  % (name, export["path"], name, uid, uid, export["path"], name), host="nfs-1")
    read = pod_exec(lab, namespace, "rnt-greptimedb-reader", "/standin", "cat", "/data/%s.server" % name)
    assert read.get("return_code") == 0 and name in read["stdout"], read

    k8s["core"].delete_namespaced_pod("rnt-greptimedb-reader", namespace, grace_period_seconds=0)
    wait_for("the kubelet to unmount the NFS volume and its daemon to end",
             lambda: len(mount_helpers(lab)) == helpers_before, 60)
    assert not [m for m in lab.node_exec("cat", "/proc/mounts").stdout.splitlines() if running.metadata.uid in m]
    lab.node_exec("rm", "-f", "%s/%s" % (export["path"], name), "%s/%s.server" % (export["path"], name), host="nfs-1")


# --- 9. the kubelet killed mid-run ---------------------------------------------------------------

POD_PLAY = """---
- name: A pod on the real node, waited for
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: A pod on the real node
      kubernetes.core.k8s:
        state: present
        wait: true
        wait_condition: {type: Ready, status: "True"}
        wait_timeout: 120
        definition: %s
"""


def changed_tasks(text):
    """The tasks of a run's output that reported a change, with the host."""
    task, changed = None, []
    for line in text.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):line.rfind("]")]
        elif line.startswith("changed: ["):
            changed.append("%s: %s" % (line[len("changed: ["):line.find("]")], task))
    return changed


def test_kubelet_killed_mid_run(lab, k8s):
    play = lab.workdir / "pod.yml"
    play.write_text(POD_PLAY % json.dumps(standin_pod(lab, "rnt-drill")))
    started_before = len(supervisor_lines(lab, "starting the kubelet"))
    old_pid = kubelet_pid(lab)
    killed = threading.Event()

    def kill(line):
        if "TASK [A pod on the real node]" in line and not killed.is_set():
            killed.set()
            threading.Thread(target=lab.node_exec, args=("pkill", "-KILL", "-x", "kubelet")).start()

    # The run that is interrupted: a pod on the node, waited for (lab/real-node.yml joins the re-runs,
    # which must also bring the node itself back).
    rc, text, recap = lab.playbook(play, on_line=kill)
    assert killed.is_set(), text[-3000:]
    print("run with the kubelet killed: exit %d, %s" % (rc, recap))
    new_pid = wait_for("the kubelet started again", lambda: kubelet_pid(lab), 30)
    assert new_pid != old_pid
    assert len(supervisor_lines(lab, "starting the kubelet")) > started_before

    text, recap = lab.converge("lab/real-node.yml", play)
    print("second run: %s, changed: %s" % (recap, changed_tasks(text)))
    assert ready(node(k8s))
    gpus = str(lab.group_vars("all", "lab.yml")["lab_real_node_gpus"])
    wait_for("nvidia.com/gpu allocatable again", lambda: node(k8s).status.allocatable.get("nvidia.com/gpu") == gpus, 30)
    assert pod_running(k8s, "default", "rnt-drill").spec.node_name == REAL
    # The restarted kubelet updates the pod's status for a while; kubernetes.core.k8s reports a change
    # when the status moved between its read and its patch (the second run's pod task may): the third
    # run starts once the pod stays the same for 3 s.
    versions = []

    def settled():
        versions.append(k8s["core"].read_namespaced_pod("rnt-drill", "default").metadata.resource_version)
        time.sleep(3)
        return versions[-1] == k8s["core"].read_namespaced_pod("rnt-drill", "default").metadata.resource_version
    wait_for("the pod's status to settle", settled, 60)
    generation = k8s["core"].read_namespaced_pod("rnt-drill", "default").metadata.generation
    text, recap = lab.converge("lab/real-node.yml", play)
    print("third run: %s, changed: %s" % (recap, changed_tasks(text)))
    # Nothing of the node changes; the drill's own pod task may still say "changed" (kubernetes.core.k8s
    # compares the whole pod, status included, which the restarted kubelet keeps writing), but the
    # pod's spec is unchanged: its generation did not move.
    assert recap[REAL]["changed"] == 0, (recap, changed_tasks(text))
    assert set(changed_tasks(text)) <= {"localhost: A pod on the real node"}, (recap, changed_tasks(text))
    assert k8s["core"].read_namespaced_pod("rnt-drill", "default").metadata.generation == generation


# --- 10. teardown --------------------------------------------------------------------------------

def test_teardown_leaves_nothing(lab):
    ids = set(lab.container_ids)
    assert ids, "no container ids recorded"
    errors = lab.down()
    assert errors == [], errors
    assert lab.leftovers(ids) == {}
    new = kubepods_cgroups() - lab.kubepods_before
    # Only another lab's node (scripts/lab re-created meanwhile) may have made one; never ours.
    running = set(lab.run("podman", "ps", "--no-trunc", "--format", "{{.ID}}").stdout.split())
    others = {p for p in new if any(cid in p for cid in running)}
    assert new - others == set(), sorted(new - others)
    changes = sysctl_changes(lab.sysctl_before, host_sysctls())
    assert changes == {}, changes
    assert not Path("/var/tmp", lab.prefix).exists()
