"""The linstor role and playbooks/migrate_pvc.yml against the real control plane.

The Piraeus operator chart is the stand-in of tests/charts/piraeus, staged with the upstream
v2.6.0 CRDs from ../shared/upstream/piraeus/crds (never committed). The release uses the real
names (piraeus-operator in piraeus-datastore; the CRDs are cluster-wide), so a lab started by
scripts/lab loses its storage layer to these tests: `scripts/lab` puts it back.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from cluster_helpers import (REPO, ansible_bin, assert_nothing_changed, cluster_objects, contains_unpruned, play as run_play,
                             run_cluster, settled_objects, stage_charts, wait_for)

pytestmark = pytest.mark.cluster

NAMESPACE = "piraeus-datastore"
RELEASE = "piraeus-operator"
CLAIMS_NS = "t-linstor-claims"
SC = "linstor-fast-cache"
CRDS = ["linstorclusters.piraeus.io", "linstorsatelliteconfigurations.piraeus.io",
        "linstorsatellites.piraeus.io", "linstornodeconnections.piraeus.io"]
STORAGE_NODES = ["gpu-ucsd-1", "gpu-sdsu-1"]
PLAYBOOK = REPO / "playbooks" / "storage.yml"
MIGRATE = REPO / "playbooks" / "migrate_pvc.yml"


def play(cluster, extra, playbook=PLAYBOOK, **kwargs):
    """playbooks/storage.yml (or another playbook) on localhost against the cluster."""
    return run_play(cluster, extra, playbook, **kwargs)


@pytest.fixture(scope="module")
def charts(tmp_path_factory):
    return stage_charts(tmp_path_factory.mktemp("charts"), "piraeus")


@pytest.fixture(scope="module")
def base_vars(cluster, charts):
    return {
        "linstor_chart_ref": str(charts / "piraeus"),
        "linstor_helm_binary": cluster.env["GPUFLEET_HELM"],
        "linstor_storage_nodes": STORAGE_NODES,
        "linstor_storage_pools": [{"name": "fast-cache", "fileThinPool": {"directory": "/raid/linstor-pools/fast-cache"}}],
        "linstor_pvcs": [
            {"name": "ms-swift-cache-pvc", "namespace": CLAIMS_NS, "storage_class": SC, "size": "500Gi"},
            {"name": "ms-swift-cache-pvc-block", "namespace": CLAIMS_NS, "storage_class": SC, "size": "500Gi",
             "volume_mode": "Block"},
        ],
        # Over the whole cluster: other tests' objects would count. test_seed_flow_... runs it.
        "linstor_verify_placement": False,
        # The claims' namespace is this module's own: the role makes it.
        "linstor_create_claim_namespaces": True,
        # The satellite configuration's properties and patches, as the webhook would take them.
        "linstor_satellite_properties": [
            {"name": "Aux/gpufleet-zone", "valueFrom": {"nodeFieldRef": "metadata.labels['topology.kubernetes.io/zone']"}},
            {"name": "Aux/gpufleet", "expandFrom": {"nodeFieldRef": "metadata.labels['gpufleet.io/*']", "nameTemplate": "$1"},
             "optional": True},
        ],
        "linstor_satellite_patches": [{"target": {"kind": "Pod", "name": "satellite"},
                                       "patch": "- op: add\n  path: /spec/priorityClassName\n  value: system-node-critical\n"}],
    }


def _dyn(cluster):
    return dynamic.DynamicClient(cluster.api)


def _cr(cluster, kind, name):
    return _dyn(cluster).resources.get(api_version="piraeus.io/v1", kind=kind).get(name=name).to_dict()


def _helm_revision(cluster):
    out = subprocess.run([cluster.env["GPUFLEET_HELM"], "list", "-n", NAMESPACE, "-a", "-o", "json"],
                         env={**os.environ, **cluster.env}, capture_output=True, text=True, check=True).stdout
    releases = [r for r in json.loads(out) if r["name"] == RELEASE]
    return (int(releases[0]["revision"]), releases[0]["status"]) if releases else (None, None)


def _resource_versions(cluster):
    """resourceVersion of every object the role touches (absent ones as None)."""
    versions = {}
    dyn = _dyn(cluster)
    for kind, name in (("LinstorCluster", "linstorcluster"), ("LinstorSatelliteConfiguration", "gpufleet-storage-pools")):
        try:
            versions[kind] = _cr(cluster, kind, name)["metadata"]["resourceVersion"]
        except Exception:  # pylint: disable=broad-except  # kind or object absent
            versions[kind] = None
    for sc in cluster.storage.list_storage_class().items:
        if sc.metadata.name in (SC, "t-linstor-extra"):  # other tests' classes come and go
            versions["sc/" + sc.metadata.name] = sc.metadata.resource_version
    for pvc in cluster.core.list_namespaced_persistent_volume_claim(CLAIMS_NS).items:
        versions["pvc/" + pvc.metadata.name] = pvc.metadata.resource_version
    versions["deployment"] = dyn.resources.get(api_version="apps/v1", kind="Deployment").get(
        namespace=NAMESPACE, name="piraeus-operator-controller-manager").metadata.resourceVersion
    versions["helm"] = _helm_revision(cluster)
    return versions


@pytest.fixture(scope="module")
def installed(cluster, base_vars):
    """The storage layer converged once; the tests below build on it."""
    first = play(cluster, base_vars)
    assert first.rc == 0, first.out[-6000:]
    yield first
    # Leave the cluster as the module found it: no release, no CRDs, no claims namespace.
    play(cluster, {**base_vars, "linstor_state": "absent", "linstor_pvcs": []})
    try:
        cluster.core.delete_namespace(CLAIMS_NS)
    except ApiException:
        pass


def test_first_run_installs_and_the_second_changes_nothing(cluster, base_vars, installed):
    assert installed.changed > 0
    revision, status = _helm_revision(cluster)
    assert status == "deployed"
    # CRDs Established and the operator Available before any custom resource was applied.
    order = [line for line in installed.out.splitlines() if line.startswith("TASK [")]
    names = [re.sub(r"^TASK \[gpufleet\.cluster\.linstor : (.*)\].*$", r"\1", t) for t in order]
    assert names.index("Wait until the operator's CRDs are Established") < names.index(
        "Apply the LinstorCluster and the satellite configuration")
    assert "Wait until the operator Deployment is Available" in names, names
    assert names.index("Wait until the operator Deployment is Available") < names.index(
        "Apply the LinstorCluster and the satellite configuration")
    apiext = client.ApiextensionsV1Api(cluster.api)
    for crd in CRDS:
        conditions = {c.type: c.status for c in apiext.read_custom_resource_definition(crd).status.conditions}
        assert conditions["Established"] == "True"
    # Pod Security: the operator's namespace privileged (satellites, CSI node pods), the claims' one
    # the role created baseline, in every mode.
    for namespace, level in ((NAMESPACE, "privileged"), (CLAIMS_NS, "baseline")):
        labels = cluster.core.read_namespace(namespace).metadata.labels
        assert [labels.get("pod-security.kubernetes.io/%s" % mode) for mode in ("enforce", "warn", "audit")] == [level] * 3

    again = play(cluster, base_vars)
    assert again.rc == 0, again.out[-4000:]
    assert again.changed == 0, again.out[-6000:]
    assert _helm_revision(cluster) == (revision, "deployed")


def test_objects_changed_by_hand_are_written_again_on_a_rerun(cluster, base_vars, installed):
    """A re-run leaves out the writes that would change nothing (judged from the preflight's read):
    whatever was changed by hand since is still written back."""
    managed = "app.kubernetes.io/managed-by"
    dyn = _dyn(cluster)
    clusters = dyn.resources.get(api_version="piraeus.io/v1", kind="LinstorCluster")
    clusters.patch(name="linstorcluster", body={"metadata": {"labels": {managed: "by-hand"}}},
                   content_type="application/merge-patch+json")
    cluster.storage.patch_storage_class(SC, {"allowVolumeExpansion": False})
    cluster.core.patch_namespaced_persistent_volume_claim("ms-swift-cache-pvc", CLAIMS_NS,
                                                          {"metadata": {"labels": {managed: "by-hand"}}})
    cluster.core.patch_namespace(NAMESPACE, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}}})

    again = play(cluster, base_vars)
    assert again.rc == 0, again.out[-4000:]
    assert again.changed >= 4, again.out[-6000:]
    assert _cr(cluster, "LinstorCluster", "linstorcluster")["metadata"]["labels"][managed] == "gpufleet.cluster"
    assert cluster.storage.read_storage_class(SC).allow_volume_expansion is True
    claim = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", CLAIMS_NS)
    assert claim.metadata.labels[managed] == "gpufleet.cluster"
    assert cluster.core.read_namespace(NAMESPACE).metadata.labels["pod-security.kubernetes.io/enforce"] == "privileged"

    settled = play(cluster, base_vars)
    assert settled.rc == 0 and settled.changed == 0, settled.out[-6000:]


def test_custom_resources_are_accepted_by_the_real_schema_and_read_back_whole(cluster, base_vars, installed):
    lc = _cr(cluster, "LinstorCluster", "linstorcluster")
    sent = {
        "nodeAffinity": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": sorted(STORAGE_NODES)}]}]},
        "csiNode": {"podTemplate": {"spec": {"tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}}},
        "highAvailabilityController": {"podTemplate": {"spec": {"tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}}},
    }
    contains_unpruned(sent, lc["spec"])
    sat = _cr(cluster, "LinstorSatelliteConfiguration", "gpufleet-storage-pools")
    contains_unpruned({"properties": base_vars["linstor_satellite_properties"],
                       "patches": base_vars["linstor_satellite_patches"]}, sat["spec"])
    contains_unpruned({"storagePools": [{"name": "fast-cache", "fileThinPool": {"directory": "/raid/linstor-pools/fast-cache"}}],
                       "podTemplate": {"spec": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                                                 "effect": "NoSchedule"}]}}}, sat["spec"])
    sc = cluster.storage.read_storage_class(SC)
    assert sc.provisioner == "linstor.csi.linbit.com"
    assert sc.volume_binding_mode == "WaitForFirstConsumer" and sc.allow_volume_expansion is True
    assert sc.parameters == {"linstor.csi.linbit.com/storagePool": "fast-cache",
                             "linstor.csi.linbit.com/placementCount": "1",
                             "linstor.csi.linbit.com/allowRemoteVolumeAccess": "false",
                             "csi.storage.k8s.io/fstype": "xfs"}
    claims = {c.metadata.name: c for c in cluster.core.list_namespaced_persistent_volume_claim(CLAIMS_NS).items}
    assert claims["ms-swift-cache-pvc"].spec.volume_mode == "Filesystem"
    assert claims["ms-swift-cache-pvc-block"].spec.volume_mode == "Block"
    # WaitForFirstConsumer: Pending without a consumer, reported as expected, never waited on.
    assert {c.status.phase for c in claims.values()} == {"Pending"}
    assert "expected: WaitForFirstConsumer" in installed.out


def test_check_mode_changes_nothing_and_diff_shows_the_refused_storageclass_change(cluster, base_vars, installed):
    before = _resource_versions(cluster)
    changed = dict(base_vars, linstor_chart_values={"installCRDs": True, "replicaCount": 2},
                   linstor_storage_classes=[{"name": SC, "storage_pool": "fast-cache", "placement_count": "1"},
                                            {"name": "t-linstor-extra", "storage_pool": "fast-cache"}],
                   linstor_pvcs=base_vars["linstor_pvcs"] + [
                       {"name": "t-new", "namespace": CLAIMS_NS, "storage_class": SC, "size": "1Gi"}])
    check = play(cluster, changed, args=("--check", "--diff"))
    assert check.rc == 0, check.out[-6000:]
    assert check.changed > 0  # it says what would change ...
    assert _resource_versions(cluster) == before  # ... and changes nothing
    assert not any(sc.metadata.name == "t-linstor-extra" for sc in cluster.storage.list_storage_class().items)

    # A changed immutable field: refused with a diff, nothing applied.
    moved = dict(base_vars, linstor_storage_classes=[{"name": SC, "storage_pool": "fast-cache", "placement_count": "2"}])
    refused = play(cluster, moved, args=("--diff",))
    assert refused.rc != 0
    # fact_diff's unified diff of the changed parameter, then the refusal.
    assert re.search(r'^-\s+"linstor.csi.linbit.com/placementCount": "1"', refused.out, re.M), refused.out[-4000:]
    assert re.search(r'^\+\s+"linstor.csi.linbit.com/placementCount": "2"', refused.out, re.M), refused.out[-4000:]
    assert "fields Kubernetes never updates in place" in refused.out
    assert 'linstor_replace_storageclass_names: ["linstor-fast-cache"] (for this run only)' in refused.out
    assert "Traceback" not in refused.out and "Forbidden" not in refused.out  # never a raw API error
    assert _resource_versions(cluster) == before


def _local_pv(name, node, mode="Filesystem"):
    return client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=name, labels={"gpufleet.test": "linstor"}),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": "500Gi"}, access_modes=["ReadWriteOnce"], volume_mode=mode,
            persistent_volume_reclaim_policy="Retain", storage_class_name=SC,
            local=client.V1LocalVolumeSource(path="/raid/linstor-standin"),
            node_affinity=client.V1VolumeNodeAffinity(required=client.V1NodeSelector(node_selector_terms=[
                client.V1NodeSelectorTerm(match_expressions=[client.V1NodeSelectorRequirement(
                    key="kubernetes.io/hostname", operator="In", values=[node])])]))))


def test_seed_flow_claim_binds_when_a_pod_uses_it_on_the_volumes_node(cluster, base_vars, installed, cluster_scoped):
    # Static local PVs of the class stand in for the CSI driver (no LINSTOR runs here), one on each
    # node of the zone: the class names a provisioner, so the scheduler may pick either node.
    standins = {"t-linstor-standin": "gpu-sdsu-1", "t-linstor-standin-2": "gpu-sdsu-2"}
    for name, node in standins.items():
        cluster.core.create_persistent_volume(_local_pv(name, node))
        cluster_scoped(cluster.core.delete_persistent_volume, name)
    assert cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", CLAIMS_NS).status.phase == "Pending"
    # No kubelet pulls or runs it here: a pinned, registry-qualified name as the preflight wants.
    bench = play(cluster, dict(base_vars, linstor_fio_benchmark=True, linstor_fio_benchmark_image="localhost/gpufleet-fio:0.1.0",
                               linstor_job_zones=["sdsu"], linstor_verify_placement=True,
                               linstor_fio_benchmark_pvc={"name": "ms-swift-cache-pvc", "namespace": CLAIMS_NS},
                               linstor_fio_benchmark_timeout=120))
    assert bench.rc == 0, bench.out[-6000:]
    pods = cluster.core.list_namespaced_pod(CLAIMS_NS, label_selector="job-name=storage-benchmark-ms-swift-cache-pvc").items
    claim = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", CLAIMS_NS)
    assert claim.status.phase == "Bound"
    # The pod landed on the node of the volume its claim bound to (a stand-in of this test's, or
    # of a lab run's on the same cluster: lab/standin-volumes.yml makes the same kind).
    volume = cluster.core.read_persistent_volume(claim.spec.volume_name)
    terms = volume.spec.node_affinity.required.node_selector_terms
    assert volume.spec.storage_class_name == "linstor-fast-cache" and volume.spec.local
    assert len(pods) == 1 and [pods[0].spec.node_name] == terms[0].match_expressions[0].values
    # No kubelet: the Job "completes" (kwok) but has no log, and the report says so.
    assert "fio result unavailable" in bench.out
    # pv_affinity_info ran over the cluster with fail_on=error and passed.
    assert "Check PV node affinity and zone co-location over the cluster" in bench.out
    client.BatchV1Api(cluster.api).delete_namespaced_job("storage-benchmark-ms-swift-cache-pvc", CLAIMS_NS,
                                                         propagation_policy="Foreground")


def test_an_unknown_zone_is_refused_with_the_zones_that_exist(cluster, base_vars, installed):
    refused = play(cluster, dict(base_vars, linstor_job_zones=["chico"]))
    assert refused.rc != 0
    assert "zone 'chico' is carried by no node" in refused.out and "sdsu, ucsd" in refused.out


def _pending_upgrade(cluster, charts, base_vars):
    """Leave the release pending-upgrade the way an interrupted run does (helm/helm#7476)."""
    helm = [cluster.env["GPUFLEET_HELM"], "upgrade", RELEASE, str(charts / "piraeus"), "-n", NAMESPACE,
            "--set", "installCRDs=true", "--set", "nodeSelector.gpufleet/none=nowhere", "--wait", "--timeout", "5m"]
    proc = subprocess.Popen(helm, env={**os.environ, **cluster.env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _helm_revision(cluster)[1] == "pending-upgrade", timeout=60, what="release pending-upgrade")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _helm_revision(cluster)[1] == "pending-upgrade"


def test_a_release_left_pending_is_refused_then_recovered_when_allowed(cluster, charts, base_vars, installed):
    revision = _helm_revision(cluster)[0]
    _pending_upgrade(cluster, charts, base_vars)
    pending = revision + 1

    def refused(variables, *expected):
        before = settled_objects(cluster, (NAMESPACE,))
        run = play(cluster, variables)
        assert run.rc != 0 and run.changed == 0, run.out[-4000:]
        for part in expected:
            assert part in run.out, (part, run.out[-4000:])
        # The release's records are Secrets in its namespace: none was removed or rewritten.
        assert_nothing_changed(before, cluster_objects(cluster, (NAMESPACE,)))
        assert _helm_revision(cluster) == (pending, "pending-upgrade")

    refused(base_vars, "is 'pending-upgrade' (revision %d)" % pending,
            "re-run with linstor_recover_pending_revision: %d (for this run only" % pending)
    # The record was written moments ago: it may be a running upgrade's, whatever the revision says.
    refused(dict(base_vars, linstor_recover_pending_revision=pending),
            "pending revision %d (record sh.helm.release.v1.%s.v%d) was last written" % (pending, RELEASE, pending),
            "Recovery waits until it is linstor_pending_release_min_age=600 s old")
    # Another revision than the pending one: refused, whatever its age.
    refused(dict(base_vars, linstor_recover_pending_revision=revision, linstor_pending_release_min_age=0),
            "linstor_recover_pending_revision=%d does not match the pending revision of Helm release %s/%s, which is %d"
            % (revision, NAMESPACE, RELEASE, pending))
    # The old boolean, left on: refused, naming its replacement.
    refused(dict(base_vars, linstor_recover_pending_release=True),
            "linstor_recover_pending_release is no longer taken: use linstor_recover_pending_revision")
    recovered = play(cluster, dict(base_vars, linstor_recover_pending_revision=pending, linstor_pending_release_min_age=1))
    assert recovered.rc == 0, recovered.out[-6000:]
    assert "removed its record sh.helm.release.v1.%s.v%d" % (RELEASE, pending) in recovered.out
    rev, status = _helm_revision(cluster)
    assert status == "deployed" and rev == revision + 1
    deployment = cluster.apps.read_namespaced_deployment("piraeus-operator-controller-manager", NAMESPACE)
    assert not (deployment.spec.template.spec.node_selector or {})


def test_the_api_server_stopped_mid_run_and_the_rerun_converges(cluster, base_vars, installed):
    cluster.core.delete_namespaced_persistent_volume_claim("ms-swift-cache-pvc-block", CLAIMS_NS)
    wait_for(lambda: not [c for c in cluster.core.list_namespaced_persistent_volume_claim(CLAIMS_NS).items
                          if c.metadata.name == "ms-swift-cache-pvc-block"], timeout=60, what="claim deleted")
    proc = play(cluster, base_vars, popen=True)
    output = []
    for line in proc.stdout:
        output.append(line)
        if "TASK [gpufleet.cluster.linstor : Apply the StorageClasses]" in line:
            break
    pid_file = cluster.state_dir / "run" / "kube-apiserver.pid"
    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
    rest = proc.communicate(timeout=300)[0]
    output.append(rest)
    assert proc.returncode != 0, "".join(output)[-4000:]
    up = run_cluster("up", timeout=300)
    assert up.returncode == 0, up.stderr
    cluster.api = cluster.new_api()
    again = play(cluster, base_vars)
    assert again.rc == 0, again.out[-6000:]
    names = [c.metadata.name for c in client.CoreV1Api(cluster.api).list_namespaced_persistent_volume_claim(CLAIMS_NS).items]
    assert "ms-swift-cache-pvc-block" in names
    final = play(cluster, base_vars)
    assert final.changed == 0, final.out[-4000:]


def test_removal_is_refused_while_a_satellite_exists(cluster, base_vars, installed):
    sats = _dyn(cluster).resources.get(api_version="piraeus.io/v1", kind="LinstorSatellite")
    sats.create(body={"apiVersion": "piraeus.io/v1", "kind": "LinstorSatellite", "metadata": {"name": "gpu-ucsd-1"},
                      "spec": {"clusterRef": {"name": "linstorcluster"}}})
    try:
        refused = play(cluster, dict(base_vars, linstor_state="absent"))
        assert refused.rc != 0 and "LinstorSatellites gpu-ucsd-1" in refused.out, refused.out[-3000:]
        assert _helm_revision(cluster)[1] == "deployed"
    finally:
        sats.delete(name="gpu-ucsd-1")


# --- migrate_pvc ------------------------------------------------------------------------------

def _old_claim(cluster, namespace):
    cluster.storage.create_storage_class(client.V1StorageClass(
        metadata=client.V1ObjectMeta(name="t-rook-ceph-block"), provisioner="rook-ceph.rbd.csi.ceph.com",
        volume_binding_mode="Immediate"))
    cluster.core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="ms-swift-cache-pvc", labels={"app": "ms-swift"}),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name="t-rook-ceph-block",
                                                resources=client.V1VolumeResourceRequirements(requests={"storage": "200Gi"}))))


def test_migrate_pvc_guards_migration_and_rollback(cluster, installed, namespace, cluster_scoped, tmp_path):
    _old_claim(cluster, namespace)
    cluster_scoped(cluster.storage.delete_storage_class, "t-rook-ceph-block")
    cluster.core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="trainer"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="registry.invalid/x:1")],
                              volumes=[client.V1Volume(name="cache", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                                  claim_name="ms-swift-cache-pvc"))])))
    migrate = {"migrate_pvc_namespace": namespace, "migrate_pvc_backup_dir": str(tmp_path)}
    confirm = {"migrate_pvc_confirm": "%s/ms-swift-cache-pvc" % namespace}
    used = play(cluster, dict(migrate, **confirm), playbook=MIGRATE)
    assert used.rc != 0 and "is used by %s/trainer" % namespace in used.out, used.out[-3000:]
    cluster.core.delete_namespaced_pod("trainer", namespace, grace_period_seconds=0)
    wait_for(lambda: not cluster.core.list_namespaced_pod(namespace).items, timeout=60, what="pod gone")

    unconfirmed = play(cluster, migrate, playbook=MIGRATE)
    assert unconfirmed.rc != 0 and "Nothing was changed" in unconfirmed.out
    assert "Run again with migrate_pvc_confirm=%s/ms-swift-cache-pvc" % namespace in unconfirmed.out
    # The playbook's old confirmation: refused before the role runs, naming the new one.
    retired = play(cluster, dict(migrate, confirm_data_loss=True), playbook=MIGRATE)
    assert retired.rc != 0 and "confirm_data_loss is no longer taken: give migrate_pvc_confirm" in retired.out
    old = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
    assert old.spec.storage_class_name == "t-rook-ceph-block"

    done = play(cluster, dict(migrate, **confirm), playbook=MIGRATE)
    assert done.rc == 0, done.out[-4000:]
    new = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
    assert new.metadata.uid != old.metadata.uid and new.spec.storage_class_name == SC
    assert new.spec.resources.requests["storage"] == "200Gi" and new.metadata.labels["app"] == "ms-swift"
    assert new.status.phase == "Pending" and "as expected for a WaitForFirstConsumer class" in done.out
    saved = json.loads((tmp_path / ("%s_ms-swift-cache-pvc.json" % namespace)).read_text())
    assert saved["spec"]["storageClassName"] == "t-rook-ceph-block"
    # The run prints the backup's digest: sha256 over the saved claim's canonical JSON.
    digest = re.search(r"migrate_pvc_rollback_digest=(sha256:[0-9a-f]{64})", done.out).group(1)
    canonical = json.dumps(saved, sort_keys=True, separators=(",", ":")).encode("ascii")
    assert digest == "sha256:" + hashlib.sha256(canonical).hexdigest()
    again = play(cluster, dict(migrate, **confirm), playbook=MIGRATE)
    assert again.rc == 0 and again.changed == 0, again.out[-3000:]

    # The controller's file is the trusted digest here (migrate_pvc_backup_dir); without it the
    # digest the run printed is needed.
    undigested = play(cluster, dict(confirm, migrate_pvc_namespace=namespace, migrate_pvc_rollback=True), playbook=MIGRATE)
    assert undigested.rc != 0 and "Give migrate_pvc_rollback_digest" in undigested.out, undigested.out[-3000:]
    rollback = play(cluster, dict(migrate, migrate_pvc_rollback=True, **confirm), playbook=MIGRATE)
    assert rollback.rc == 0, rollback.out[-4000:]
    restored = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
    assert restored.spec.storage_class_name == "t-rook-ceph-block" and restored.metadata.uid != new.metadata.uid


def test_migrate_pvc_deletes_a_claim_only_after_its_replacement_passed_a_dry_run(
        cluster, installed, namespace, cluster_scoped, tmp_path):
    """The replacement goes to the API server as a dry run first. A LimitRange that refuses it, or a
    ResourceQuota it would exceed even with the old claim gone: refused, nothing deleted. A quota
    the dry run exceeds only because the old claim still counts: the migration goes ahead."""
    _old_claim(cluster, namespace)
    cluster_scoped(cluster.storage.delete_storage_class, "t-rook-ceph-block")
    old = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
    migrate = {"migrate_pvc_namespace": namespace, "migrate_pvc_backup_dir": str(tmp_path),
               "migrate_pvc_confirm": "%s/ms-swift-cache-pvc" % namespace}

    def untouched(run, reason):
        assert run.rc != 0
        assert "migrate_pvc: the API server refuses the new claim %s/ms-swift-cache-pvc (" % namespace in run.out, \
            run.out[-4000:]
        assert reason in run.out and "so the old claim was not deleted" in run.out, run.out[-4000:]
        assert run.changed == 0
        kept = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
        assert kept.metadata.uid == old.metadata.uid and kept.spec.storage_class_name == "t-rook-ceph-block"
        # The dry run left no claim of its own, and nothing was saved.
        assert [c.metadata.name for c in cluster.core.list_namespaced_persistent_volume_claim(namespace).items] == [
            "ms-swift-cache-pvc"]
        assert not list(tmp_path.iterdir())

    cluster.core.create_namespaced_limit_range(namespace, client.V1LimitRange(
        metadata=client.V1ObjectMeta(name="claims"), spec=client.V1LimitRangeSpec(limits=[client.V1LimitRangeItem(
            type="PersistentVolumeClaim", max={"storage": "250Gi"})])))
    untouched(play(cluster, dict(migrate, migrate_pvc_size="300Gi"), playbook=MIGRATE),
              "maximum storage usage per PersistentVolumeClaim is 250Gi, but request is 300Gi")
    cluster.core.delete_namespaced_limit_range("claims", namespace)

    cluster.core.create_namespaced_resource_quota(namespace, client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name="storage"), spec=client.V1ResourceQuotaSpec(hard={"requests.storage": "250Gi"})))
    wait_for(lambda: (cluster.core.read_namespaced_resource_quota("storage", namespace).status.used or {}).get(
        "requests.storage") == "200Gi", timeout=60, what="the quota counting the old claim")
    untouched(play(cluster, dict(migrate, migrate_pvc_size="300Gi"), playbook=MIGRATE),
              "ResourceQuota storage: requests.storage would be 300Gi of 250Gi")

    done = play(cluster, migrate, playbook=MIGRATE)  # 200Gi for 200Gi: fits once the old claim is gone
    assert done.rc == 0, done.out[-4000:]
    new = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
    assert new.metadata.uid != old.metadata.uid and new.spec.storage_class_name == SC


def test_linstor_controller_info_asks_through_the_service_proxy(cluster, namespace):
    """No LINSTOR controller runs here: a Service without endpoints makes the proxy answer 503,
    which the module reports with the path it asked, proving the route it takes."""
    cluster.core.create_namespaced_service(namespace, client.V1Service(
        metadata=client.V1ObjectMeta(name="linstor-controller"),
        spec=client.V1ServiceSpec(ports=[client.V1ServicePort(name="api", port=3370)],
                                  selector={"app.kubernetes.io/component": "linstor-controller"})))
    proc = subprocess.run([ansible_bin("ansible"), "localhost", "-c", "local", "-m", "gpufleet.cluster.linstor_controller_info",
                           "-a", "namespace=%s" % namespace, "-e", "ansible_python_interpreter=%s" % sys.executable],
                          env={**os.environ, **cluster.env}, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert ("GET /api/v1/namespaces/%s/services/linstor-controller:3370/proxy/v1/nodes through the API server's "
            "service proxy failed" % namespace) in proc.stdout, proc.stdout[-2000:]
    assert "503" in proc.stdout or "no endpoints available" in proc.stdout, proc.stdout[-2000:]


# --- last: these leave the release and the class changed (the module's teardown removes both) ---

def test_crds_deleted_under_a_deployed_release_come_back_on_a_rerun(cluster, base_vars, installed):
    """The CRDs are templates of the release (installCRDs): deleted by hand, Helm would never make
    them again for unchanged values; the role upgrades the release all the same and re-applies its
    custom resources."""
    revision = _helm_revision(cluster)[0]
    apiext = client.ApiextensionsV1Api(cluster.api)
    for crd in CRDS:
        apiext.delete_custom_resource_definition(crd)
    wait_for(lambda: not [c for c in apiext.list_custom_resource_definition().items if c.metadata.name in CRDS],
             timeout=60, what="the Piraeus CRDs gone")
    again = play(cluster, base_vars, timeout=420)
    assert again.rc == 0, again.out[-4000:]
    assert _helm_revision(cluster) == (revision + 1, "deployed")
    for crd in CRDS:
        conditions = {c.type: c.status for c in apiext.read_custom_resource_definition(crd).status.conditions}
        assert conditions["Established"] == "True"
    assert _cr(cluster, "LinstorCluster", "linstorcluster")["spec"]["nodeAffinity"]
    settled = play(cluster, base_vars)
    assert settled.rc == 0 and settled.changed == 0, settled.out[-4000:]


def test_upgrade_on_a_changed_value_then_no_change(cluster, base_vars, installed):
    revision = _helm_revision(cluster)[0]
    upgraded = play(cluster, dict(base_vars, linstor_chart_values={"installCRDs": True, "replicaCount": 2}))
    assert upgraded.rc == 0, upgraded.out[-4000:]
    assert _helm_revision(cluster) == (revision + 1, "deployed")
    assert cluster.apps.read_namespaced_deployment("piraeus-operator-controller-manager", NAMESPACE).spec.replicas == 2
    same = play(cluster, dict(base_vars, linstor_chart_values={"installCRDs": True, "replicaCount": 2}))
    assert same.changed == 0 and _helm_revision(cluster) == (revision + 1, "deployed"), same.out[-4000:]


def test_chart_values_the_api_server_refuses_are_refused_before_helm_runs(cluster, base_vars, installed):
    """The chart rendered with linstor_chart_values goes through a server-side dry run: a value the
    API server refuses (here an imagePullPolicy Kubernetes does not know) stops the role with the
    API server's sentence before Helm runs. Without the dry run Helm recorded a failed revision."""
    revision = _helm_revision(cluster)
    versions = _resource_versions(cluster)
    values = {"installCRDs": True, "operator": {"image": {"pullPolicy": "Sometimes"}}}
    refused = play(cluster, dict(base_vars, linstor_chart_values=values))
    assert refused.rc != 0 and refused.changed == 0, refused.out[-4000:]
    assert "linstor: the API server refuses what the chart and the role would write" in refused.out, refused.out[-4000:]
    assert 'Unsupported value: "Sometimes"' in refused.out and "docs/storage.md" in refused.out, refused.out[-4000:]
    assert _helm_revision(cluster) == revision and _resource_versions(cluster) == versions


def test_replace_storageclasses_recreates_a_changed_class(cluster, base_vars, installed):
    uid = cluster.storage.read_storage_class(SC).metadata.uid
    two = dict(base_vars, linstor_storage_classes=[{"name": SC, "storage_pool": "fast-cache", "placement_count": "2"}])
    # A confirmation naming another class too (or the old boolean): refused, nothing changed.
    for variables, expected in (
            ({"linstor_replace_storageclass_names": [SC, "t-linstor-other"]},
             'names t-linstor-other, which this run would not replace (only %s change(s) such fields)' % SC),
            ({"linstor_replace_storageclasses": True},
             "linstor_replace_storageclasses is no longer taken: use linstor_replace_storageclass_names")):
        before = settled_objects(cluster, (NAMESPACE, CLAIMS_NS))
        refused = play(cluster, dict(two, **variables))
        # (fact_diff reports the class's difference as a change, which is what makes --diff show it.)
        assert refused.rc != 0 and expected in refused.out, refused.out[-4000:]
        assert_nothing_changed(before, cluster_objects(cluster, (NAMESPACE, CLAIMS_NS)))
    replaced = play(cluster, dict(two, linstor_replace_storageclass_names=[SC]))
    assert replaced.rc == 0, replaced.out[-4000:]
    sc = cluster.storage.read_storage_class(SC)
    assert sc.metadata.uid != uid and sc.parameters["linstor.csi.linbit.com/placementCount"] == "2"
    # Left on for the next run: the class is as wanted now, so the confirmation names nothing to replace.
    stale = play(cluster, dict(two, linstor_replace_storageclass_names=[SC]))
    assert stale.rc != 0 and "which this run would not replace" in stale.out, stale.out[-4000:]
    assert cluster.storage.read_storage_class(SC).metadata.uid == sc.metadata.uid


MIGRATE_BAD_INPUTS = [
    # One case of each class of hostile input the role can meet (issue 17): a control character, a
    # signed quantity, a string for a boolean, traversal and a system directory on the controller, a
    # reference to something that does not exist, a reserved namespace. (The role takes no label, selector
    # or generic parameters dict: those classes have nothing to reach.)
    ("newline in the claim name", {"migrate_pvc_name": "ms-swift-cache-pvc\n"},
     ["migrate_pvc_name='ms-swift-cache-pvc", "is not a valid claim name (it contains the control character(s)"]),
    ("signed size", {"migrate_pvc_size": "-200Gi"},
     ["migrate_pvc_size='-200Gi' is not a Kubernetes quantity (a size or count takes no sign)"]),
    ("a string for a boolean", {"migrate_pvc_rollback": "maybe"}, ["migrate_pvc_rollback", "maybe"]),
    ("traversal in the backup directory", {"migrate_pvc_backup_dir": "/tmp/gpufleet-backup/../../etc"},
     ["migrate_pvc_backup_dir='/tmp/gpufleet-backup/../../etc' climbs with '..'"]),
    ("a system directory for the backup", {"migrate_pvc_backup_dir": "/etc/gpufleet"},
     ["migrate_pvc_backup_dir='/etc/gpufleet' is inside the system directory '/etc'"]),
    ("a class that does not exist", {"migrate_pvc_storage_class": "t-no-such-class"},
     ["migrate_pvc_storage_class=t-no-such-class does not exist in the cluster"]),
    ("a reserved namespace", {"migrate_pvc_namespace": "kube-system"},
     ["migrate_pvc_namespace='kube-system' is a namespace Kubernetes keeps for its own components"]),
    # Confirmations that do not name what this run would delete (issue 18).
    ("a confirmation naming another claim", {"migrate_pvc_confirm": "default/ms-swift-cache-pvc"},
     ["migrate_pvc_confirm='default/ms-swift-cache-pvc' does not name the claim this run would act on"]),
    ("the retired boolean", {"migrate_pvc_confirm_data_loss": True},
     ["migrate_pvc_confirm_data_loss is no longer taken: use migrate_pvc_confirm"]),
    ("a digest of another form", {"migrate_pvc_rollback": True, "migrate_pvc_rollback_digest": "deadbeef"},
     ["migrate_pvc_rollback_digest='deadbeef' is not a digest of this role"]),
]


def test_migrate_pvc_refuses_bad_input_before_anything_changes(cluster, installed, namespace, cluster_scoped):
    """Each case fails naming the variable and the value, and nothing changed: the claim (its uid and
    resourceVersion), no backup ConfigMap, no file on the controller."""
    _old_claim(cluster, namespace)
    cluster_scoped(cluster.storage.delete_storage_class, "t-rook-ceph-block")

    def read():
        return cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
    # The PV controller annotates a new claim (its provisioner) once: start from the settled claim.
    seen = []
    wait_for(lambda: seen.append(read().metadata.resource_version) or seen[-3:] == [seen[-1]] * 3,
             timeout=60, interval=1, what="the claim to settle")
    old = read()
    for what, variables, expected in MIGRATE_BAD_INPUTS:
        before = settled_objects(cluster, (namespace,))
        run = play(cluster, dict({"migrate_pvc_namespace": namespace,
                                  "migrate_pvc_confirm": "%s/ms-swift-cache-pvc" % namespace}, **variables),
                   playbook=MIGRATE)
        assert run.rc != 0 and run.changed == 0, (what, run.out[-3000:])
        for part in expected:
            assert part in run.out, (what, part, run.out[-3000:])
        # Every object in the claim's namespace and every cluster-scoped one, by resourceVersion.
        assert_nothing_changed(before, cluster_objects(cluster, (namespace,)))
        kept = read()
        assert (kept.metadata.uid, kept.metadata.resource_version) == (old.metadata.uid, old.metadata.resource_version), what
        assert not cluster.core.list_namespaced_config_map(namespace, field_selector=(
            "metadata.name=ms-swift-cache-pvc-pvc-backup")).items, what
    assert not os.path.exists("/etc/gpufleet") and not os.path.exists("/tmp/gpufleet-backup")


def _backup_config_map(cluster, namespace, claim):
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="ms-swift-cache-pvc-pvc-backup"),
                              data={"claim.json": json.dumps(claim)})
    try:
        cluster.core.replace_namespaced_config_map("ms-swift-cache-pvc-pvc-backup", namespace, body)
    except ApiException as exc:
        assert exc.status == 404, exc
        cluster.core.create_namespaced_config_map(namespace, body)


def _digest(claim):
    return "sha256:" + hashlib.sha256(json.dumps(claim, sort_keys=True, separators=(",", ":")).encode("ascii")).hexdigest()


def test_migrate_pvc_rollback_restores_only_the_claim_its_backup_was_written_for(
        cluster, installed, namespace, cluster_scoped, tmp_path):
    """Whoever can write the backup ConfigMap cannot make the job create anything else with its
    credentials, nor another claim than the one saved: a planted object (a ClusterRoleBinding to
    cluster-admin, in the claim's name), a claim with fields a backup never holds (a volumeName that
    would bind another team's volume), or a claim rewritten after the migration (its digest is not
    the one the migrating run printed) is refused before the claim is touched, and nothing changes."""
    _old_claim(cluster, namespace)
    cluster_scoped(cluster.storage.delete_storage_class, "t-rook-ceph-block")
    # Read once the control plane's controllers are done with the new claim (they annotate it).
    settled_objects(cluster, (namespace,))
    old = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
    saved = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "ms-swift-cache-pvc", "namespace": namespace, "labels": {"app": "ms-swift"}},
             "spec": {"storageClassName": "t-rook-ceph-block", "accessModes": ["ReadWriteOnce"],
                      "volumeMode": "Filesystem", "resources": {"requests": {"storage": "200Gi"}}}}
    planted = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "ms-swift-cache-pvc", "namespace": namespace},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]}
    where = "ConfigMap %s/ms-swift-cache-pvc-pvc-backup" % namespace
    cases = [
        # Each with the digest of what the ConfigMap holds, as an attacker who also wrote the digest would.
        (planted, _digest(planted),
         "%s holds rbac.authorization.k8s.io/v1/ClusterRoleBinding/%s/ms-swift-cache-pvc, not the PersistentVolumeClaim "
         "%s/ms-swift-cache-pvc it was written for" % (where, namespace, namespace)),
        (dict(saved, spec=dict(saved["spec"], volumeName="t-someone-elses-volume")), None,
         "%s has field(s) a backup never holds: spec.volumeName" % where),
        # The claim rewritten (another class, ten times the size) against the digest the migration printed.
        (dict(saved, spec=dict(saved["spec"], storageClassName=SC, resources={"requests": {"storage": "2000Gi"}})),
         _digest(saved), "it changed since the migration saved it"),
    ]
    confirm = {"migrate_pvc_namespace": namespace, "migrate_pvc_confirm": "%s/ms-swift-cache-pvc" % namespace,
               "migrate_pvc_rollback": True}
    for claim, digest, expected in cases:
        _backup_config_map(cluster, namespace, claim)
        before = settled_objects(cluster, (namespace,))
        run = play(cluster, dict(confirm, migrate_pvc_rollback_digest=digest or _digest(claim)), playbook=MIGRATE)
        assert run.rc != 0 and run.changed == 0, run.out[-4000:]
        assert expected in run.out and "Nothing was changed" in run.out, (expected, run.out[-4000:])
        assert_nothing_changed(before, cluster_objects(cluster, (namespace,)))
        kept = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
        assert (kept.metadata.uid, kept.metadata.resource_version) == (old.metadata.uid, old.metadata.resource_version)
    with pytest.raises(ApiException) as err:
        client.RbacAuthorizationV1Api(cluster.api).read_cluster_role_binding("ms-swift-cache-pvc")
    assert err.value.status == 404


def test_migrate_pvc_refuses_a_volume_whose_reclaim_policy_deletes_its_data(cluster, installed, namespace, cluster_scoped):
    """A claim bound to a PersistentVolume with reclaimPolicy Delete: refused (nothing changes)
    unless the volume is kept (set to Retain first: it stays Released, with its data) or named for
    deletion; a deletion confirmation naming another volume is refused."""
    _old_claim(cluster, namespace)
    cluster_scoped(cluster.storage.delete_storage_class, "t-rook-ceph-block")
    volume = "t-migrate-%s" % namespace[-6:]
    cluster.core.create_persistent_volume(client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=volume),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": "200Gi"}, access_modes=["ReadWriteOnce"], persistent_volume_reclaim_policy="Delete",
            storage_class_name="t-rook-ceph-block", host_path=client.V1HostPathVolumeSource(path="/raid/t-migrate"),
            claim_ref=client.V1ObjectReference(namespace=namespace, name="ms-swift-cache-pvc"))))
    cluster_scoped(cluster.core.delete_persistent_volume, volume)
    wait_for(lambda: cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace).status.phase
             == "Bound", timeout=60, what="the claim bound to its volume")
    old = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
    migrate = {"migrate_pvc_namespace": namespace, "migrate_pvc_confirm": "%s/ms-swift-cache-pvc" % namespace}
    for variables, expected in (
            ({}, "is bound to PersistentVolume %s, whose reclaim policy Delete deletes the volume and all of its data"
                 % volume),
            ({"migrate_pvc_delete_volume": "t-another-volume"},
             "migrate_pvc_delete_volume='t-another-volume' does not name the volume this run would delete"),
            ({"migrate_pvc_confirm": "%s/another-claim" % namespace},
             "migrate_pvc_confirm='%s/another-claim' does not name the claim this run would act on" % namespace)):
        before = settled_objects(cluster, (namespace,))
        run = play(cluster, dict(migrate, **variables), playbook=MIGRATE)
        assert run.rc != 0 and run.changed == 0 and expected in run.out, (variables, run.out[-4000:])
        assert_nothing_changed(before, cluster_objects(cluster, (namespace,)))
    kept = play(cluster, dict(migrate, migrate_pvc_retain_volume=True), playbook=MIGRATE)
    assert kept.rc == 0, kept.out[-4000:]
    assert "Its data stays in the Released PersistentVolume %s" % volume in kept.out
    new = cluster.core.read_namespaced_persistent_volume_claim("ms-swift-cache-pvc", namespace)
    assert new.metadata.uid != old.metadata.uid and new.spec.storage_class_name == SC

    def released():
        found = cluster.core.read_persistent_volume(volume)
        return found if found.status.phase == "Released" else None
    pv = wait_for(released, timeout=60, what="the old volume Released")
    assert pv.spec.persistent_volume_reclaim_policy == "Retain" and pv.spec.claim_ref.uid == old.metadata.uid
