"""The tensor_fusion role (playbooks/observability.yml) against the real control plane.

The tensor-fusion chart is the stand-in of tests/charts/tensor-fusion, staged with the upstream
1.8.7 values.yaml, values.schema.json and twelve CRDs from ../shared/upstream/tensor-fusion
(never committed): Helm validates the role's values against the real schema and installs the
real CRDs, and the controller-manager's StatefulSet and PV controllers do the binding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlparse

import pytest
import yaml
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from cluster_helpers import config_maps_holding, helm_records_holding, REPO, contains_unpruned, play, stage_charts, wait_for

pytestmark = pytest.mark.cluster

PLAYBOOK = REPO / "playbooks" / "observability.yml"
RELEASE = NAMESPACE = "tensor-fusion-sys"
GREPTIME_NS = "greptimedb"
CLAIM = "datanode-tensor-fusion-sys-greptimedb-standalone-0"
PV = "t-tf-greptimedb-datanode"
SC = "t-tf-greptimedb"
AM_SC = "t-tf-alertmanager"
DEFAULT_SC = "t-tf-default"
CLUSTER = "t-tf-cluster"
CONTROLLER = "tensor-fusion-sys-controller"


def shared_dir():
    for candidate in (os.environ.get("GPUFLEET_SHARED"), REPO.parent / "shared", "/work/shared"):
        if candidate and (os.path.isdir(os.path.join(str(candidate), "upstream"))):
            return os.path.join(str(candidate), "upstream", "tensor-fusion")
    pytest.skip("no shared/upstream/tensor-fusion beside the checkout")
    return None


@pytest.fixture(scope="module")
def charts(tmp_path_factory):
    return stage_charts(tmp_path_factory.mktemp("charts"), "tensor-fusion")


@pytest.fixture(scope="module")
def base_vars(cluster, charts):
    return {
        "tensor_fusion_enabled": True,
        "tensor_fusion_chart_ref": str(charts / "tensor-fusion"),
        "tensor_fusion_helm_binary": cluster.env["GPUFLEET_HELM"],
        "tensor_fusion_greptimedb_nfs_server": "10.89.40.10",
        "tensor_fusion_greptimedb_volume_name": PV,
        "tensor_fusion_greptimedb_storage_class": SC,
        "tensor_fusion_cluster_name": CLUSTER,
        "tensor_fusion_wait_timeout": 60,
    }


def _dyn(cluster):
    return dynamic.DynamicClient(cluster.api)


def _helm(cluster, *args):
    return subprocess.run([cluster.env["GPUFLEET_HELM"], *args], env={**os.environ, **cluster.env},
                          capture_output=True, text=True, check=False)


def _revision(cluster):
    out = _helm(cluster, "list", "-n", NAMESPACE, "-a", "-o", "json").stdout
    releases = [r for r in json.loads(out or "[]") if r["name"] == RELEASE]
    return (int(releases[0]["revision"]), releases[0]["status"]) if releases else (None, None)


def _helm_info_values(cluster):
    """The release's values as kubernetes.core.helm_info reads them."""
    cmd = [str(Path_ansible()), "localhost", "-i", "localhost,", "-c", "local", "-m", "kubernetes.core.helm_info",
           "-a", json.dumps({"name": RELEASE, "release_namespace": NAMESPACE, "binary_path": cluster.env["GPUFLEET_HELM"]}),
           "-e", json.dumps({"ansible_python_interpreter": sys.executable})]
    env = {**os.environ, **cluster.env, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    # The JSON document, without the lines ansible.cfg's timing callbacks print around it.
    lines = proc.stdout.splitlines()
    start, end = lines.index("{"), len(lines) - lines[::-1].index("}")
    result = json.loads("\n".join(lines[start:end]))["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return result["status"]["values"]


def Path_ansible():  # pylint: disable=invalid-name
    beside = os.path.join(os.path.dirname(sys.executable), "ansible")
    return beside if os.path.exists(beside) else "ansible"


def _versions(cluster):
    versions = {}
    for read in (lambda: cluster.core.read_namespaced_persistent_volume_claim(CLAIM, GREPTIME_NS),
                 lambda: cluster.core.read_persistent_volume(PV),
                 lambda: cluster.storage.read_storage_class(SC),
                 lambda: cluster.apps.read_namespaced_deployment(CONTROLLER, NAMESPACE),
                 lambda: cluster.core.read_namespaced_config_map("tensor-fusion-sys-config", NAMESPACE)):
        try:
            obj = read()
            versions[obj.kind + "/" + obj.metadata.name] = obj.metadata.resource_version
        except ApiException:
            pass
    try:
        tfc = _dyn(cluster).resources.get(api_version="tensor-fusion.ai/v1", kind="TensorFusionCluster").get(name=CLUSTER)
        versions["tfc"] = tfc.metadata.resourceVersion
    except Exception:  # pylint: disable=broad-except  # kind or object absent
        versions["tfc"] = None
    versions["helm"] = _revision(cluster)
    return versions


def _delete(read_delete):
    try:
        read_delete()
    except ApiException as exc:
        if exc.status != 404:
            raise


def _teardown(cluster):
    """Release, claims, volumes, classes and CRDs of these tests."""
    _helm(cluster, "uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "60s")
    for ns in (GREPTIME_NS, NAMESPACE):
        for pvc in cluster.core.list_namespaced_persistent_volume_claim(ns).items:
            _delete(lambda pvc=pvc, ns=ns: cluster.core.delete_namespaced_persistent_volume_claim(pvc.metadata.name, ns))
    for pv in cluster.core.list_persistent_volume().items:
        if pv.metadata.name.startswith("t-tf-"):
            _delete(lambda pv=pv: cluster.core.delete_persistent_volume(pv.metadata.name))
    for sc in (SC, AM_SC, DEFAULT_SC):
        _delete(lambda sc=sc: cluster.storage.delete_storage_class(sc))
    try:
        _dyn(cluster).resources.get(api_version="tensor-fusion.ai/v1", kind="TensorFusionCluster").delete(name=CLUSTER)
    except Exception:  # pylint: disable=broad-except  # kind or object absent
        pass
    wait_for(lambda: not [p for p in cluster.core.list_persistent_volume().items if p.metadata.name.startswith("t-tf-")],
             timeout=60, what="test volumes deleted")


@pytest.fixture(scope="module")
def installed(cluster, base_vars):
    _teardown(cluster)
    first = play(cluster, base_vars, playbook=PLAYBOOK)
    assert first.rc == 0, first.out[-6000:]
    yield first
    _teardown(cluster)
    for ns in (GREPTIME_NS, NAMESPACE):
        _delete(lambda ns=ns: cluster.core.delete_namespace(ns))
    apiext = client.ApiextensionsV1Api(cluster.api)
    for crd in apiext.list_custom_resource_definition().items:
        if crd.spec.group == "tensor-fusion.ai":
            _delete(lambda crd=crd: apiext.delete_custom_resource_definition(crd.metadata.name))


def _claim_bound_to_our_volume(cluster, size):
    def bound():
        claim = cluster.core.read_namespaced_persistent_volume_claim(CLAIM, GREPTIME_NS)
        return claim if claim.status.phase == "Bound" else None
    claim = wait_for(bound, timeout=60, what="GreptimeDB claim Bound")
    assert claim.spec.volume_name == PV and claim.spec.storage_class_name == SC
    pv = cluster.core.read_persistent_volume(PV)
    assert pv.status.phase == "Bound" and pv.spec.claim_ref.name == CLAIM and pv.spec.claim_ref.uid == claim.metadata.uid
    assert pv.spec.capacity["storage"] == size
    return claim, pv


def test_install_binds_greptimedb_to_the_collections_volume_and_a_rerun_changes_nothing(cluster, base_vars, installed):
    assert installed.changed > 0
    assert _revision(cluster) == (1, "deployed")
    assert not [sc for sc in cluster.storage.list_storage_class().items
                if (sc.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class") == "true"]
    _claim, pv = _claim_bound_to_our_volume(cluster, "20Gi")
    assert pv.spec.nfs.server == "10.89.40.10" and pv.spec.nfs.path == "/srv/nfs/greptimedb"
    sts = cluster.apps.read_namespaced_stateful_set("tensor-fusion-sys-greptimedb-standalone", GREPTIME_NS)
    assert [t.metadata.name for t in sts.spec.volume_claim_templates] == ["datanode"]
    assert sts.spec.volume_claim_templates[0].spec.storage_class_name is None
    # The StatefulSet controller took the pre-made claim: its pod names it, no second claim exists.
    pod = wait_for(lambda: _pod(cluster, GREPTIME_NS, "tensor-fusion-sys-greptimedb-standalone-0"), timeout=60,
                   what="GreptimeDB pod created by the StatefulSet controller")
    assert [v.persistent_volume_claim.claim_name for v in pod.spec.volumes if v.persistent_volume_claim] == [CLAIM]
    assert [c.metadata.name for c in cluster.core.list_namespaced_persistent_volume_claim(GREPTIME_NS).items] == [CLAIM]
    # On NFS it runs as the export's owner (root is squashed there): the template is patched after
    # Helm, and the controller's rolling update makes the pod again from it.
    template = sts.spec.template.spec.security_context
    assert (template.run_as_non_root, template.run_as_user, template.run_as_group) == (True, 10001, 10001)
    wait_for(lambda: (getattr((_pod(cluster, GREPTIME_NS, "tensor-fusion-sys-greptimedb-standalone-0") or pod).spec
                              .security_context, "run_as_user", None) == 10001) or None,
             timeout=60, what="GreptimeDB's pod made again from the patched template")
    # testing: AlertManager on an emptyDir, no claim.
    am = cluster.apps.read_namespaced_stateful_set("tensor-fusion-sys-alert-manager", NAMESPACE)
    assert am.spec.replicas == 1 and not am.spec.volume_claim_templates
    # Pod Security labels, kept through Helm's adoption of the GreptimeDB namespace it renders.
    for namespace, level in ((NAMESPACE, "privileged"), (GREPTIME_NS, "baseline")):
        labels = cluster.core.read_namespace(namespace).metadata.labels
        assert [labels.get("pod-security.kubernetes.io/%s" % mode) for mode in ("enforce", "warn", "audit")] == [level] * 3
    before = _versions(cluster)
    again = play(cluster, base_vars, playbook=PLAYBOOK)
    assert again.rc == 0, again.out[-4000:]
    assert again.changed == 0, again.out[-6000:]
    assert _versions(cluster) == before


def test_objects_changed_by_hand_are_written_again_on_a_rerun(cluster, base_vars, installed):
    """A re-run leaves out the writes that would change nothing (judged from the preflight's read):
    whatever was changed by hand since is still written back, GreptimeDB's run-as patch included."""
    managed = "app.kubernetes.io/managed-by"
    cluster.core.patch_namespace(GREPTIME_NS, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}})
    cluster.storage.patch_storage_class(SC, {"metadata": {"labels": {managed: "by-hand"}}})
    cluster.core.patch_persistent_volume(PV, {"metadata": {"labels": {managed: "by-hand"}}})
    sts = "tensor-fusion-sys-greptimedb-standalone"
    cluster.apps.patch_namespaced_stateful_set(sts, GREPTIME_NS, {"spec": {"template": {"spec": {"securityContext": {"runAsUser": 4242}}}}})
    clusters = _dyn(cluster).resources.get(api_version="tensor-fusion.ai/v1", kind="TensorFusionCluster")
    clusters.patch(name=CLUSTER, body={"metadata": {"labels": {managed: "by-hand"}}},
                   content_type="application/merge-patch+json")

    again = play(cluster, base_vars, playbook=PLAYBOOK)
    assert again.rc == 0, again.out[-4000:]
    # Four tasks: the namespaces, GreptimeDB's StorageClass and volume (one loop), the run-as patch
    # and the TensorFusionCluster.
    assert again.changed >= 4, again.out[-6000:]
    assert cluster.core.read_namespace(GREPTIME_NS).metadata.labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert cluster.storage.read_storage_class(SC).metadata.labels[managed] == "gpufleet.cluster.tensor_fusion"
    assert cluster.core.read_persistent_volume(PV).metadata.labels[managed] == "gpufleet.cluster.tensor_fusion"
    assert cluster.apps.read_namespaced_stateful_set(sts, GREPTIME_NS).spec.template.spec.security_context.run_as_user == 10001
    assert clusters.get(name=CLUSTER).metadata.labels[managed] == "gpufleet.cluster.tensor_fusion"

    settled = play(cluster, base_vars, playbook=PLAYBOOK)
    assert settled.rc == 0 and settled.changed == 0, settled.out[-6000:]


def _pod(cluster, namespace, name):
    try:
        return cluster.core.read_namespaced_pod(name, namespace)
    except ApiException:
        return None


def test_values_read_back_match_the_profile_and_exist_in_the_real_chart(cluster, installed):
    values = _helm_info_values(cluster)
    upstream = yaml.safe_load(open(os.path.join(shared_dir(), "values.yaml"), encoding="utf-8"))
    assert values["controller"]["command"] == upstream["controller"]["command"]
    assert values["controller"]["replicaCount"] == 1
    assert values["greptime"] == {"installStandalone": True, "isCloud": False}
    assert values["alert"]["persistence"] == {"enabled": False} and values["alert"]["replicaCount"] == 1
    assert values["cluster"] == {"enabled": False}
    rules = [r["name"] for r in values["dynamicConfig"]["alertRules"]]
    assert rules[:len(upstream["dynamicConfig"]["alertRules"])] == [r["name"] for r in upstream["dynamicConfig"]["alertRules"]]
    assert rules[-1] == "Watchdog"
    routes = values["alert"]["alertManagerConfig"]["route"]["routes"]
    assert routes[0]["matchers"] == ['alertname="Watchdog"'] and routes[0]["receiver"] == "watchdog"
    assert values["schedulerConfig"] == upstream["schedulerConfig"]
    # The rendered ConfigMap holds what the controller reads.
    config = cluster.core.read_namespaced_config_map("tensor-fusion-sys-config", NAMESPACE)
    assert yaml.safe_load(config.data["config.yaml"])["alertRules"][-1]["name"] == "Watchdog"
    am_config = cluster.core.read_namespaced_config_map("tensor-fusion-sys-alert-manager-config", NAMESPACE)
    assert yaml.safe_load(am_config.data["alertmanager.yml"])["route"]["routes"][0]["receiver"] == "watchdog"
    deployment = cluster.apps.read_namespaced_deployment(CONTROLLER, NAMESPACE)
    assert deployment.spec.template.spec.containers[0].command == upstream["controller"]["command"]


def test_the_tensorfusioncluster_is_accepted_and_read_back_unpruned(cluster, installed):
    tfc = _dyn(cluster).resources.get(api_version="tensor-fusion.ai/v1", kind="TensorFusionCluster").get(name=CLUSTER).to_dict()
    pool = tfc["spec"]["gpuPools"][0]
    assert pool["name"] == "shared" and pool["isDefault"] is True
    template = pool["specTemplate"]
    assert template["capacityConfig"]["oversubscription"] == {"tflopsOversellRatio": 500, "vramExpandToHostMem": 50,
                                                              "vramExpandToHostDisk": 60}
    assert template["capacityConfig"]["maxResources"] == {"tflops": "100", "vram": "100Gi"}
    assert template["nodeManagerConfig"]["provisioningMode"] == "AutoSelect"
    # Sent fields are all there (the CRD adds its defaults: batchInterval, batchPercentage, maxDuration).
    contains_unpruned({"autoUpdateHypervisor": True, "autoUpdateWorker": True, "autoUpdateClient": True},
                      template["nodeManagerConfig"]["nodePoolRollingUpdatePolicy"], "nodePoolRollingUpdatePolicy")
    assert template["nodeManagerConfig"]["nodeSelector"] == {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}]}]}
    env = template["componentConfig"]["hypervisor"]["podTemplate"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "TF_LOG_LEVEL", "value": "info"}]


def test_check_mode_changes_nothing(cluster, base_vars, installed):
    before = _versions(cluster)
    run = play(cluster, {**base_vars, "tensor_fusion_metrics_ttl": "7d"}, playbook=PLAYBOOK, args=("--check", "--diff"))
    assert run.rc == 0, run.out[-4000:]
    assert run.changed > 0
    assert "dynamicConfig.metricsTTL" in run.out  # --diff without helm-diff: the changed paths
    assert _versions(cluster) == before


def test_an_accepted_receiver_credential_is_only_in_the_configmap_the_chart_renders_and_never_in_any_output(
        cluster, base_vars, installed):
    """The in-chart AlertManager with a receiver credential accepted by name: the run at -vvv --diff
    shows the values with the credential redacted; the credential is in the one ConfigMap upstream's
    chart renders it into (as docs/security.md says) and in Helm's release record (a Secret), in no
    other ConfigMap, and in no output."""
    token = "t-tf-hook-t0ken-" + os.urandom(4).hex()
    config = {"global": {"smtp_auth_password": token + "-smtp"},
              "receivers": [{"name": "hook", "webhook_configs": [{"url": "https://hooks.example.com/" + token}]}],
              "route": {"receiver": "hook"}}
    variables = {**base_vars, "tensor_fusion_alertmanager_config": config,
                 "tensor_fusion_credentials_outside_secrets": ["alert.alertManagerConfig"]}
    try:
        run = play(cluster, variables, playbook=PLAYBOOK, args=("-vvv", "--diff"))
        assert run.rc == 0, run.out[-6000:]
        assert token not in run.out
        assert "'url': '<redacted>'" in run.out or '"url": "<redacted>"' in run.out, "-v shows the values, redacted"
        assert config_maps_holding(cluster, token) == [NAMESPACE + "/" + RELEASE + "-alert-manager-config"]
        assert helm_records_holding(cluster, token), "Helm keeps the values in its release Secret"
        again = play(cluster, variables, playbook=PLAYBOOK, args=("-v",))
        assert again.rc == 0 and again.changed == 0 and token not in again.out, again.out[-4000:]
    finally:
        restored = play(cluster, base_vars, playbook=PLAYBOOK)
        assert restored.rc == 0, restored.out[-4000:]
    assert config_maps_holding(cluster, token) == []


def test_a_new_source_for_the_existing_greptimedb_volume_is_refused_before_any_change(cluster, base_vars, installed):
    """A PersistentVolume's source is immutable: the preflight says so (naming the variables,
    both values and the way out) instead of the API server refusing the patch mid-run."""
    before = _versions(cluster)
    run = play(cluster, {**base_vars, "tensor_fusion_greptimedb_nfs_server": "10.89.40.99"}, playbook=PLAYBOOK)
    assert run.rc != 0
    assert "tensor_fusion_greptimedb_nfs_server" in run.out and "10.89.40.99" in run.out
    assert "10.89.40.10" in run.out and "cannot change" in run.out
    assert "Check the chart and what the cluster holds" in run.out
    assert _versions(cluster) == before


def test_a_new_volume_for_the_existing_greptimedb_claim_is_refused_before_any_change(cluster, base_vars, installed):
    """A claim's volume and StorageClass are immutable: a new volume name while the release's claim
    exists is refused in the preflight, naming the variable and the volume the claim is bound to."""
    before = _versions(cluster)
    run = play(cluster, {**base_vars, "tensor_fusion_greptimedb_volume_name": "t-tf-other"}, playbook=PLAYBOOK)
    assert run.rc != 0
    assert "Check the chart and what the cluster holds" in run.out, run.out[-3000:]
    assert "tensor_fusion_greptimedb_volume_name=t-tf-other (the claim is bound to volume %s)" % PV in run.out
    assert _versions(cluster) == before
    assert not [p for p in cluster.core.list_persistent_volume().items if p.metadata.name == "t-tf-other"]


def _released(cluster):
    pv = cluster.core.read_persistent_volume(PV)
    return pv if pv.status.phase == "Released" else None


def test_a_deleted_claim_is_bound_again_to_the_same_volume_keeping_its_data(cluster, base_vars, installed):
    """The Retain volume of a deleted claim is Released with the old uid in its claimRef; the
    re-run binds it again to the claim it makes anew (the volume, so its data, is the same)."""
    _claim, pv = _claim_bound_to_our_volume(cluster, "20Gi")
    cluster.core.delete_namespaced_persistent_volume_claim(CLAIM, GREPTIME_NS)
    # The claim is only gone (and the volume Released) once no pod uses it (pvc-protection):
    # GreptimeDB's pod goes too, as in a real clean-up. Its StatefulSet makes both again.
    for pod in cluster.core.list_namespaced_pod(GREPTIME_NS).items:
        if any(v.persistent_volume_claim and v.persistent_volume_claim.claim_name == CLAIM for v in pod.spec.volumes or []):
            _delete(lambda pod=pod: cluster.core.delete_namespaced_pod(pod.metadata.name, GREPTIME_NS, grace_period_seconds=0))
    stale = wait_for(lambda: _released(cluster), timeout=120, what="GreptimeDB volume Released")
    assert stale.spec.claim_ref.uid == pv.spec.claim_ref.uid
    run = play(cluster, base_vars, playbook=PLAYBOOK)
    assert run.rc == 0, run.out[-6000:]
    assert "keeps the data of the claim %s/%s (uid %s)" % (GREPTIME_NS, CLAIM, stale.spec.claim_ref.uid) in run.out
    claim, again = _claim_bound_to_our_volume(cluster, "20Gi")
    assert again.metadata.uid == pv.metadata.uid and again.spec.nfs == pv.spec.nfs
    assert claim.metadata.uid != stale.spec.claim_ref.uid
    rerun = play(cluster, base_vars, playbook=PLAYBOOK)
    assert rerun.rc == 0 and rerun.changed == 0, rerun.out[-6000:]


def test_a_deleted_namespace_comes_back_with_its_statefulset_and_the_same_volume(cluster, base_vars, installed):
    """A deleted GreptimeDB namespace takes the chart's StatefulSet and the claim with it: the
    re-run makes Helm create what its release lacks and binds the claim to the same volume."""
    _claim, pv = _claim_bound_to_our_volume(cluster, "20Gi")
    revision, _status = _revision(cluster)
    cluster.core.delete_namespace(GREPTIME_NS)
    wait_for(lambda: not [n for n in cluster.core.list_namespace().items if n.metadata.name == GREPTIME_NS],
             timeout=120, what="namespace %s deleted" % GREPTIME_NS)
    wait_for(lambda: _released(cluster), timeout=60, what="GreptimeDB volume Released")
    run = play(cluster, base_vars, playbook=PLAYBOOK)
    assert run.rc == 0, run.out[-6000:]
    _claim, again = _claim_bound_to_our_volume(cluster, "20Gi")
    assert again.metadata.uid == pv.metadata.uid
    assert cluster.apps.read_namespaced_stateful_set("tensor-fusion-sys-greptimedb-standalone", GREPTIME_NS)
    assert _revision(cluster) == (revision + 1, "deployed")
    # Helm's forced upgrade replaced the Namespace it renders; the role put its labels back.
    assert cluster.core.read_namespace(GREPTIME_NS).metadata.labels.get("pod-security.kubernetes.io/enforce") == "baseline"
    rerun = play(cluster, base_vars, playbook=PLAYBOOK)
    assert rerun.rc == 0 and rerun.changed == 0, rerun.out[-6000:]
    assert _revision(cluster) == (revision + 1, "deployed")


def test_a_released_volume_the_role_did_not_make_is_refused_before_any_change(cluster, base_vars, installed):
    """A volume named by tensor_fusion_greptimedb_volume_name that was Released by a claim of that
    name but not made by the role is never given to the new claim."""
    foreign = "t-tf-foreign"
    cluster.core.create_persistent_volume(client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=foreign),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": "20Gi"}, access_modes=["ReadWriteOnce"], storage_class_name=SC,
            persistent_volume_reclaim_policy="Retain",
            nfs=client.V1NFSVolumeSource(server="10.89.40.10", path="/srv/nfs/greptimedb"),
            claim_ref=client.V1ObjectReference(api_version="v1", kind="PersistentVolumeClaim", namespace=GREPTIME_NS,
                                               name=CLAIM, uid="0d0d0d0d-1111-2222-3333-444444444444"))))
    try:
        before = _versions(cluster)
        run = play(cluster, {**base_vars, "tensor_fusion_greptimedb_volume_name": foreign}, playbook=PLAYBOOK)
        assert run.rc != 0
        assert "PersistentVolume %s (tensor_fusion_greptimedb_volume_name) is Released" % foreign in run.out
        assert "not made by this collection" in run.out
        assert _versions(cluster) == before
        assert cluster.core.read_persistent_volume(foreign).spec.claim_ref.uid == "0d0d0d0d-1111-2222-3333-444444444444"
    finally:
        _delete(lambda: cluster.core.delete_persistent_volume(foreign))


def test_a_config_change_restarts_the_controller_once(cluster, base_vars, installed, tmp_path):
    rule = {"name": "MySpecialAlert", "query": "SELECT worker FROM tf_worker_usage WHERE {{ .Conditions }}",
            "threshold": 0, "evaluationInterval": "15s", "consecutiveCount": 3, "severity": "P1",
            "summary": "My Special Alert", "description": "Worker {{ .worker }}",
            "alertTargetInstance": "{{ .worker }}-{{ .uuid }}", "runbookURL": "https://example.com/runbook"}
    # The rules hold Go templates ({{ .Conditions }}): an inventory marks them !unsafe, or Ansible
    # would take them for Jinja (docs/observability.md). -e JSON cannot, a vars file can.
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text("tensor_fusion_alert_rules:\n" + "".join(
        ("  - " if i == 0 else "    ") + "%s: %s%s\n" % (k, "!unsafe " if isinstance(v, str) else "", json.dumps(v)) for i, (k, v) in enumerate(rule.items())))
    changed = dict(base_vars)
    revision, _status = _revision(cluster)
    generation = cluster.apps.read_namespaced_deployment(CONTROLLER, NAMESPACE).metadata.generation
    run = play(cluster, changed, playbook=PLAYBOOK, args=("-e", "@%s" % rules_file))
    assert run.rc == 0, run.out[-4000:]
    assert _revision(cluster) == (revision + 1, "deployed")
    deployment = cluster.apps.read_namespaced_deployment(CONTROLLER, NAMESPACE)
    stamp = deployment.spec.template.metadata.annotations["gpufleet.cluster/config-sha256"]
    # The chart's upgrade left the pod template alone (only the ConfigMap changed); the restart is the patch.
    assert deployment.metadata.generation == generation + 1
    config = yaml.safe_load(cluster.core.read_namespaced_config_map("tensor-fusion-sys-config", NAMESPACE).data["config.yaml"])
    assert [r for r in config["alertRules"] if r["name"] == "MySpecialAlert"] == [rule]
    again = play(cluster, changed, playbook=PLAYBOOK, args=("-e", "@%s" % rules_file))
    assert again.rc == 0 and again.changed == 0, again.out[-4000:]
    deployment = cluster.apps.read_namespaced_deployment(CONTROLLER, NAMESPACE)
    assert deployment.metadata.generation == generation + 1
    assert deployment.spec.template.metadata.annotations["gpufleet.cluster/config-sha256"] == stamp
    assert _revision(cluster) == (revision + 1, "deployed")


def _fake_pod(cluster, name, labels):
    cluster.core.create_namespaced_pod(NAMESPACE, client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(node_name="gpu-ucsd-1", containers=[client.V1Container(
            name="tensorfusion-hypervisor", image="example.com/never-pulled:1")])))


def _gone(cluster, name):
    pod = _pod(cluster, NAMESPACE, name)
    return pod is None or pod.metadata.deletion_timestamp is not None


def test_switching_progressive_migration_on_restarts_the_hypervisors_once(cluster, base_vars, installed):
    hypervisor = {"tensor-fusion.ai/component": "hypervisor"}
    _fake_pod(cluster, "t-tf-hypervisor-a", hypervisor)
    _fake_pod(cluster, "t-tf-not-a-hypervisor", {"app": "t-tf-other"})
    variables = {**base_vars, "tensor_fusion_nvidia_operator_progressive_migration": True}
    run = play(cluster, variables, playbook=PLAYBOOK)
    assert run.rc == 0, run.out[-4000:]
    assert _helm_info_values(cluster)["controller"]["nvidiaOperatorProgressiveMigration"] is True
    assert wait_for(lambda: _gone(cluster, "t-tf-hypervisor-a"), timeout=30, what="hypervisor pod deleted")
    assert not _gone(cluster, "t-tf-not-a-hypervisor")
    # Already on: a hypervisor started since is left alone.
    _fake_pod(cluster, "t-tf-hypervisor-b", hypervisor)
    again = play(cluster, variables, playbook=PLAYBOOK)
    assert again.rc == 0 and again.changed == 0, again.out[-4000:]
    assert not _gone(cluster, "t-tf-hypervisor-b")
    for name in ("t-tf-hypervisor-a", "t-tf-hypervisor-b", "t-tf-not-a-hypervisor"):
        _delete(lambda name=name: cluster.core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0))


def test_production_profile_binds_with_a_default_storageclass_present(cluster, base_vars, installed):
    """A fresh production install while the cluster has a default StorageClass of its own."""
    _teardown(cluster)
    cluster.storage.create_storage_class(client.V1StorageClass(
        metadata=client.V1ObjectMeta(name=DEFAULT_SC, annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
        provisioner="example.com/never-provisions", volume_binding_mode="Immediate"))
    cluster.storage.create_storage_class(client.V1StorageClass(
        metadata=client.V1ObjectMeta(name=AM_SC), provisioner="kubernetes.io/no-provisioner", volume_binding_mode="Immediate"))
    for index in range(3):
        cluster.core.create_persistent_volume(client.V1PersistentVolume(
            metadata=client.V1ObjectMeta(name="t-tf-am-%d" % index),
            spec=client.V1PersistentVolumeSpec(
                capacity={"storage": "5Gi"}, access_modes=["ReadWriteOnce"], storage_class_name=AM_SC,
                persistent_volume_reclaim_policy="Delete", host_path=client.V1HostPathVolumeSource(path="/data/am-%d" % index),
                claim_ref=client.V1ObjectReference(namespace=NAMESPACE, name="alertmanager-storage-tensor-fusion-sys-alert-manager-%d" % index))))
    variables = {**base_vars, "tensor_fusion_profile": "production", "tensor_fusion_alertmanager_storage_class": AM_SC}
    run = play(cluster, variables, playbook=PLAYBOOK)
    assert run.rc == 0, run.out[-6000:]
    _claim_bound_to_our_volume(cluster, "50Gi")
    am = cluster.apps.read_namespaced_stateful_set("tensor-fusion-sys-alert-manager", NAMESPACE)
    assert am.spec.replicas == 3
    template = am.spec.volume_claim_templates[0]
    assert template.metadata.name == "alertmanager-storage" and template.spec.resources.requests["storage"] == "5Gi"
    claims = wait_for(lambda: [c for c in cluster.core.list_namespaced_persistent_volume_claim(NAMESPACE).items
                               if c.status.phase == "Bound"] if len(cluster.core.list_namespaced_persistent_volume_claim(NAMESPACE).items) == 3 else None,
                      timeout=60, what="three AlertManager claims")
    assert sorted(c.spec.volume_name for c in claims) == ["t-tf-am-0", "t-tf-am-1", "t-tf-am-2"]
    values = _helm_info_values(cluster)
    assert values["controller"]["replicaCount"] == 2
    assert values["controller"]["resources"]["limits"] == {"memory": "4Gi", "cpu": "4000m"}
    assert values["agent"]["resources"]["requests"] == {"cpu": "500m", "memory": "256Mi"}
    assert values["alert"]["persistence"] == {"enabled": True, "size": "5Gi", "storageClass": AM_SC}
    tfc = _dyn(cluster).resources.get(api_version="tensor-fusion.ai/v1", kind="TensorFusionCluster").get(name=CLUSTER).to_dict()
    template = tfc["spec"]["gpuPools"][0]["specTemplate"]
    assert template["capacityConfig"]["oversubscription"] == {"tflopsOversellRatio": 300, "vramExpandToHostMem": 40,
                                                              "vramExpandToHostDisk": 20}
    contains_unpruned({"autoUpdateHypervisor": False, "autoUpdateWorker": False, "autoUpdateClient": False},
                      template["nodeManagerConfig"]["nodePoolRollingUpdatePolicy"], "nodePoolRollingUpdatePolicy")


def test_a_change_the_api_server_forbids_is_refused_by_the_dry_run_before_helm_records_a_revision(
        cluster, base_vars, installed):
    """A StatefulSet's claim templates cannot change (the API server forbids the update): a new
    AlertManager size passes the role's own checks, but the server-side dry run of the chart's
    render refuses it before Helm runs, so the release keeps its revision and nothing changed.
    Runs after the production install above (its AlertManager has claim templates)."""
    am = cluster.apps.read_namespaced_stateful_set("tensor-fusion-sys-alert-manager", NAMESPACE)
    assert am.spec.volume_claim_templates, "needs the production install of the test above"
    variables = {**base_vars, "tensor_fusion_profile": "production", "tensor_fusion_alertmanager_storage_class": AM_SC}
    before = _versions(cluster)
    am_version = am.metadata.resource_version
    run = play(cluster, {**variables, "tensor_fusion_alertmanager_size": "6Gi"}, playbook=PLAYBOOK)
    assert run.rc != 0
    out = " ".join(run.out.split())
    assert "the API server refuses what the chart and the role would write with these variables" in out, run.out[-4000:]
    assert 'StatefulSet.apps "tensor-fusion-sys-alert-manager" is invalid' in out and "Forbidden" in out
    assert "Refuse what the API server would refuse" in run.out
    assert run.changed == 0
    assert _versions(cluster) == before and before["helm"][1] == "deployed"
    assert cluster.apps.read_namespaced_stateful_set("tensor-fusion-sys-alert-manager", NAMESPACE).metadata.resource_version \
        == am_version
    # The same variables as the release's pass the dry run and change nothing.
    again = play(cluster, variables, playbook=PLAYBOOK)
    assert again.rc == 0 and again.changed == 0, again.out[-4000:]


def test_cloud_greptimedb_and_an_existing_alertmanager_keep_the_password_out_of_every_output(cluster, base_vars, installed):
    secret = "t-tf-cl0ud-pass"
    # The API server stands in for a GreptimeDB that answers on its port (whichever the control plane
    # of this run listens on).
    port = urlparse(cluster.api.configuration.host).port
    variables = {**base_vars, "tensor_fusion_greptimedb_mode": "cloud",
                 "tensor_fusion_greptimedb_host": "127.0.0.1", "tensor_fusion_greptimedb_port": port,
                 "tensor_fusion_greptimedb_user": "t-tf-user", "tensor_fusion_greptimedb_password": secret,
                 "tensor_fusion_alertmanager_mode": "existing",
                 "tensor_fusion_alertmanager_address": "alertmanager.monitoring.svc.cluster.local:9093"}
    # The real chart 1.8.7 renders a cloud password into its vector ConfigMap too: refused unless accepted by name.
    refused = play(cluster, variables, playbook=PLAYBOOK, args=("-vvv",))
    assert refused.rc != 0 and refused.changed == 0
    assert "tensor_fusion_greptimedb_password (chart value greptime.password, Greptime Cloud) would put a credential" \
        in refused.out and secret not in refused.out
    variables["tensor_fusion_credentials_outside_secrets"] = ["greptime.password"]
    run = play(cluster, variables, playbook=PLAYBOOK, args=("-vvv", "--diff"))
    assert run.rc == 0, run.out[-6000:]
    assert secret not in run.out
    values = _helm_info_values(cluster)
    assert values["greptime"] == {"installStandalone": False, "isCloud": True, "host": "127.0.0.1", "port": port,
                                  "db": "public", "user": "t-tf-user", "password": secret}
    assert values["alert"] == {"enabled": False}
    command = cluster.apps.read_namespaced_deployment(CONTROLLER, NAMESPACE).spec.template.spec.containers[0].command
    assert command[-2:] == ["-alert-manager-addr", "alertmanager.monitoring.svc.cluster.local:9093"]
    assert "-enable-alert" in command and "-enable-auto-scale" in command
    with pytest.raises(ApiException):
        cluster.apps.read_namespaced_stateful_set("tensor-fusion-sys-alert-manager", NAMESPACE)
