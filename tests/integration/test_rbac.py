"""Every cluster playbook run with a token bound only to its own rules (roles/cluster_access), against
the real API server's RBAC: it converges; with one of its rules taken away it fails, and the failure
names the verb and resource the API server refused.

playbooks/cluster_access.yml (run as the lab's admin) makes one ServiceAccount per playbook and
writes its kubeconfig; each playbook then runs with that kubeconfig and nothing else. The charts are
the stand-ins (tests/charts, staged once), so cluster_access_upstream_charts is false. The sample of
removed rules is one per playbook, each chosen to be used on every run (docs/rbac.md says why each
rule is there); test_every_rule_is_used_by_its_playbook is not possible here for rules of code paths
the lab does not take (benchmark, absent, upstream charts), which docs/rbac.md marks.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from cluster_helpers import REPO, play, stage_charts, wait_for

sys.path.insert(0, str(REPO / "tests"))
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.cluster_access import plan as ca_plan  # noqa: E402 pylint: disable=wrong-import-position
from realnode import cache_dir  # noqa: E402 pylint: disable=wrong-import-position

pytestmark = pytest.mark.cluster

ACCESS = REPO / "playbooks" / "cluster_access.yml"
HOME = "t-rbac-access"
PREFIX = "t-rbac-"
NS = {
    "linstor": ["piraeus-datastore"],
    "linstor_claims": ["t-rbac-claims"],
    "tensor_fusion": ["tensor-fusion-sys", "greptimedb"],
    "model_storage": ["t-rbac-models"],
    "ome": ["ome"],
    "gpu_telemetry": ["t-rbac-telemetry"],
    "helm_releases": ["piraeus-datastore", "tensor-fusion-sys", "t-rbac-telemetry"],
    "migrate_pvc": ["t-rbac-migrate"],
    "tensor_fusion_rollout": ["t-rbac-rollout"],
}
TIMES: dict[str, float] = {}
OME_CRDS = ["basemodels.ome.io", "clusterbasemodels.ome.io"]
SHARED = REPO.parent / "shared" if (REPO.parent / "shared").is_dir() else __import__("pathlib").Path("/work/shared")


def rules_doc():
    return yaml.safe_load((REPO / ca_plan.RULES_FILE).read_text())


class As:
    """A cluster handle whose env is the ServiceAccount's kubeconfig only (play() merges cluster.env)."""

    def __init__(self, cluster, kubeconfig):
        self.env = dict(cluster.env, K8S_AUTH_KUBECONFIG=str(kubeconfig), KUBECONFIG=str(kubeconfig))


@pytest.fixture(scope="module")
def charts(tmp_path_factory):
    return stage_charts(tmp_path_factory.mktemp("charts"), "piraeus", "tensor-fusion")


@pytest.fixture(scope="module")
def access(cluster):
    """The ServiceAccounts and their kubeconfigs, made once as the admin."""
    # Not under /tmp: the role refuses a credentials directory any user of the controller could make first.
    (cache_dir() / "tests").mkdir(parents=True, exist_ok=True)
    creds = Path(tempfile.mkdtemp(prefix="rbac-credentials-", dir=str(cache_dir() / "tests")))
    variables = {"cluster_access_namespace": HOME, "cluster_access_name_prefix": PREFIX,
                 "cluster_access_namespaces": NS, "cluster_access_upstream_charts": False,
                 "cluster_access_credentials_dir": str(creds)}
    started = time.monotonic()
    first = play(cluster, variables, ACCESS)
    assert first.rc == 0, first.out[-5000:]
    TIMES["cluster_access"] = time.monotonic() - started
    again = play(cluster, variables, ACCESS)
    assert again.rc == 0 and again.changed == 0, again.out[-5000:]
    yield dict((name, creds / ("%s.kubeconfig" % name)) for name in rules_doc()["playbooks"]), variables
    play(cluster, dict(variables, cluster_access_state="absent"), ACCESS)
    shutil.rmtree(str(creds), ignore_errors=True)
    for names in NS.values():
        for namespace in names:
            if namespace.startswith("t-rbac-"):
                try:
                    cluster.core.delete_namespace(namespace)
                except ApiException:
                    pass
    try:
        cluster.core.delete_namespace(HOME)
    except ApiException:
        pass
    print("test_rbac timings: %s" % json.dumps(dict((k, round(v, 1)) for k, v in TIMES.items())))


def as_account(cluster, access, playbook):
    kubeconfig = access[0][playbook]
    assert kubeconfig.is_file() and oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
    return As(cluster, kubeconfig)


class Without:
    """Takes one rule (its verbs on its resources) out of the live Role or ClusterRole of a playbook,
    and puts it back."""

    def __init__(self, cluster, playbook, rule_id, namespace=None):
        doc = rules_doc()
        self.rule = [r for r in doc["playbooks"][playbook]["rules"] if r["id"] == rule_id][0]
        self.policy = ca_plan.policy_rule(self.rule, NS)
        self.name = PREFIX + playbook.replace("_", "-")
        self.rbac = client.RbacAuthorizationV1Api(cluster.api)
        self.namespace = namespace or (None if self.rule["scope"] == "cluster" else NS[self.rule["scope"]][0])
        self.saved = None

    def _read(self):
        if self.namespace:
            return self.rbac.read_namespaced_role(self.name, self.namespace)
        return self.rbac.read_cluster_role(self.name)

    def _write(self, rules):
        body = {"rules": rules}
        if self.namespace:
            self.rbac.patch_namespaced_role(self.name, self.namespace, body)
        else:
            self.rbac.patch_cluster_role(self.name, body)

    def __enter__(self):
        role = self.rbac.api_client.sanitize_for_serialization(self._read())
        self.saved = role["rules"]
        key = (self.policy["apiGroups"], self.policy["resources"], self.policy.get("resourceNames"))
        kept = []
        hit = False
        for rule in self.saved:
            if (rule.get("apiGroups"), rule.get("resources"), rule.get("resourceNames")) == key:
                hit = True
                verbs = [v for v in rule["verbs"] if v not in self.policy["verbs"]]
                if verbs:
                    kept.append(dict(rule, verbs=verbs))
            else:
                kept.append(rule)
        assert hit, "rule %s not found in %s: %s" % (self.rule["id"], self.name, self.saved)
        self._write(kept)
        return self

    def __exit__(self, *exc):
        self._write(self.saved)


def refused(run, verb, resource):
    """The run failed, and says which verb on which resource the API server refused."""
    assert run.rc != 0, run.out[-4000:]
    wanted = 'cannot %s resource \\"%s\\"' % (verb, resource)
    plain = 'cannot %s resource "%s"' % (verb, resource)
    assert wanted in run.out or plain in run.out, run.out[-6000:]


def timed(name, function, *args, **kwargs):
    started = time.monotonic()
    result = function(*args, **kwargs)
    TIMES[name] = TIMES.get(name, 0) + time.monotonic() - started
    return result


# --- the playbooks' inputs, as their own tests give them -------------------------------------------

def storage_vars(cluster, charts):
    return {
        "linstor_chart_ref": str(charts / "piraeus"),
        "linstor_helm_binary": cluster.env["GPUFLEET_HELM"],
        "linstor_storage_nodes": ["gpu-ucsd-1", "gpu-sdsu-1"],
        "linstor_storage_pools": [{"name": "fast-cache", "fileThinPool": {"directory": "/raid/linstor-pools/fast-cache"}}],
        "linstor_pvcs": [{"name": "rbac-claim", "namespace": NS["linstor_claims"][0], "storage_class": "t-rbac-linstor",
                          "size": "1Gi"}],
        "linstor_storage_classes": [{"name": "t-rbac-linstor", "storage_pool": "fast-cache"}],
    }


def test_storage(cluster, access, charts):
    sa = as_account(cluster, access, "storage")
    variables = storage_vars(cluster, charts)
    try:
        run = timed("storage", play, sa, variables, REPO / "playbooks" / "storage.yml")
        assert run.rc == 0, run.out[-8000:]
        with Without(cluster, "storage", "nodes"):
            refused(timed("storage-refused", play, sa, variables, REPO / "playbooks" / "storage.yml"), "list", "nodes")
    finally:
        play(cluster, dict(variables, linstor_state="absent", linstor_pvcs=[]), REPO / "playbooks" / "storage.yml")


def test_observability(cluster, access, charts):
    sa = as_account(cluster, access, "observability")
    playbook = REPO / "playbooks" / "observability.yml"
    variables = {
        "tensor_fusion_enabled": True,
        "tensor_fusion_chart_ref": str(charts / "tensor-fusion"),
        "tensor_fusion_helm_binary": cluster.env["GPUFLEET_HELM"],
        "tensor_fusion_greptimedb_nfs_server": "10.89.40.10",
        "tensor_fusion_greptimedb_volume_name": "t-rbac-greptimedb",
        "tensor_fusion_greptimedb_storage_class": "t-rbac-greptimedb",
        "tensor_fusion_cluster_name": "t-rbac-cluster",
        "tensor_fusion_wait_timeout": 60,
    }
    try:
        run = timed("observability", play, sa, variables, playbook)
        assert run.rc == 0, run.out[-8000:]
        with Without(cluster, "observability", "helm-storage"):
            refused(timed("observability-refused", play, sa, variables, playbook), "list", "secrets")
    finally:
        _uninstall_tensor_fusion(cluster)


def _uninstall_tensor_fusion(cluster):
    import subprocess  # pylint: disable=import-outside-toplevel
    subprocess.run([cluster.env["GPUFLEET_HELM"], "uninstall", "tensor-fusion-sys", "-n", "tensor-fusion-sys", "--wait"],
                   env={**os.environ, **cluster.env}, capture_output=True, check=False, timeout=300)
    ext = client.ApiextensionsV1Api(cluster.api)
    for crd in ext.list_custom_resource_definition().items:
        if crd.spec.group == "tensor-fusion.ai":
            ext.delete_custom_resource_definition(crd.metadata.name)
    for name in ("t-rbac-greptimedb",):
        for delete in (cluster.core.delete_persistent_volume, cluster.storage.delete_storage_class):
            try:
                delete(name)
            except ApiException:
                pass
    for namespace in ("greptimedb",):
        try:
            cluster.core.delete_namespace(namespace)
        except ApiException:
            pass


def test_telemetry(cluster, access):
    sa = as_account(cluster, access, "telemetry")
    playbook = REPO / "playbooks" / "telemetry.yml"
    variables = {
        "gpu_telemetry_enabled": True,
        "gpu_telemetry_namespace": NS["gpu_telemetry"][0],
        "gpu_telemetry_release_name": "tel",
        "gpu_telemetry_helm_binary": cluster.env["GPUFLEET_HELM"],
        "gpu_telemetry_streamer_csv_file": str(REPO / "lab" / "telemetry" / "dcgm_metrics.csv"),
        "gpu_telemetry_mongodb_uri": "mongodb://collector:rbac@mongo.gputel-db.svc:27017/telemetry",
        "gpu_telemetry_wait_timeout": 120,
        # Qualified and pinned, as the role requires (the lab's locally built names).
        "gpu_telemetry_queue_image": "localhost/gpu-metrics-streamer/queueservice:0.1.0",
        "gpu_telemetry_streamer_image": "localhost/gpu-metrics-streamer/streamer:0.1.0",
        "gpu_telemetry_collector_image": "localhost/gpu-metrics-streamer/collector:0.1.0",
    }
    run = timed("telemetry", play, sa, variables, playbook)
    assert run.rc == 0, run.out[-8000:]
    with Without(cluster, "telemetry", "csv"):
        refused(timed("telemetry-refused", play, sa, variables, playbook), "get", "configmaps")


@pytest.fixture
def ome_crds(cluster):
    ext = client.ApiextensionsV1Api(cluster.api)
    for path in sorted((SHARED / "upstream" / "ome" / "crds").glob("ome.io_*.yaml")):
        try:
            ext.create_custom_resource_definition(yaml.safe_load(path.read_text()))
        except ApiException as exc:
            if exc.status != 409:
                raise

    def established():
        return all(any(c.type == "Established" and c.status == "True"
                       for c in ext.read_custom_resource_definition(n).status.conditions or []) for n in OME_CRDS)
    wait_for(established, timeout=60, what="OME's CRDs Established")
    yield
    for name in OME_CRDS:
        try:
            ext.delete_custom_resource_definition(name)
        except ApiException:
            pass
    for name in ("t-rbac-models-pv",):
        try:
            cluster.core.delete_persistent_volume(name)
        except ApiException:
            pass
    try:
        cluster.storage.delete_storage_class("t-rbac-models")
    except ApiException:
        pass


def test_model_storage(cluster, access, ome_crds, tmp_path):
    sa = as_account(cluster, access, "model_storage")
    base = tmp_path / "gpu-ucsd-1" / "models"
    (base / "meta" / "llama").mkdir(parents=True)
    (base / "meta" / "llama" / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}\n')
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
        "children": {"gpu_nodes": {"hosts": {"gpu-ucsd-1": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "model_storage_dir": str(base)}}}}}}))
    variables = {"model_storage_namespace": NS["model_storage"][0], "model_storage_pv_name": "t-rbac-models-pv",
                 "model_storage_pvc_name": "t-rbac-models-pvc", "model_storage_storage_class": "t-rbac-models",
                 "model_storage_models": [{"name": "t-rbac-llama", "subpath": "meta/llama",
                                           "spec": {"modelFormat": {"name": "safetensors"}, "vendor": "meta"}}]}
    playbook = REPO / "playbooks" / "model_storage.yml"
    args = ("-i", str(inventory))
    run = timed("model_storage", play, sa, variables, playbook, args=args)
    assert run.rc == 0, run.out[-8000:]
    with Without(cluster, "model_storage", "ome-crds"):
        refused(timed("model_storage-refused", play, sa, variables, playbook, args=args), "get",
                "customresourcedefinitions")


def test_validate(cluster, access, tmp_path):
    sa = as_account(cluster, access, "validate")
    (tmp_path / "hosts.yml").write_text("all:\n  children:\n    gpu_nodes:\n      hosts: {}\n")
    variables = {"validation_report_dir": str(tmp_path / "report"), "validation_report_fail_on": "error",
                 "validation_report_helm_namespaces": NS["helm_releases"]}
    playbook = REPO / "playbooks" / "validate.yml"
    args = ("-i", str(tmp_path / "hosts.yml"))
    run = timed("validate", play, sa, variables, playbook, args=args)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["cluster"]["read"] is True and report["cluster"]["error"] is None, report["cluster"]
    assert run.rc == 0 or "validation_report" in run.out, run.out[-6000:]
    with Without(cluster, "validate", "helm-records"):
        failed = timed("validate-refused", play, sa, variables, playbook, args=args)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["cluster"]["read"] is False and "(HTTP 403)" in report["cluster"]["error"], report["cluster"]
    assert "list on secrets" in report["cluster"]["error"], report["cluster"]
    assert failed.rc != 0, failed.out[-4000:]


def test_migrate_pvc(cluster, access):
    sa = as_account(cluster, access, "migrate_pvc")
    namespace = NS["migrate_pvc"][0]
    for name, provisioner in (("t-rbac-old", "example.invalid/old"), ("t-rbac-new", "kubernetes.io/no-provisioner")):
        cluster.storage.create_storage_class(client.V1StorageClass(
            metadata=client.V1ObjectMeta(name=name), provisioner=provisioner, volume_binding_mode="WaitForFirstConsumer"))
    try:
        cluster.core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name="rbac-claim"),
            spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name="t-rbac-old",
                                                    resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}))))
        variables = {"migrate_pvc_name": "rbac-claim", "migrate_pvc_namespace": namespace,
                     "migrate_pvc_storage_class": "t-rbac-new", "migrate_pvc_wait_timeout": 60,
                     "migrate_pvc_confirm": "%s/rbac-claim" % namespace}
        playbook = REPO / "playbooks" / "migrate_pvc.yml"
        with Without(cluster, "migrate_pvc", "guards"):
            refused(timed("migrate_pvc-refused", play, sa, variables, playbook), "list", "pods")
        assert cluster.core.read_namespaced_persistent_volume_claim("rbac-claim", namespace).spec.storage_class_name == "t-rbac-old"
        run = timed("migrate_pvc", play, sa, variables, playbook)
        assert run.rc == 0, run.out[-8000:]
        assert cluster.core.read_namespaced_persistent_volume_claim("rbac-claim", namespace).spec.storage_class_name == "t-rbac-new"
    finally:
        for name in ("t-rbac-old", "t-rbac-new"):
            cluster.storage.delete_storage_class(name)


def test_tensor_fusion_rollout(cluster, access):
    sa = as_account(cluster, access, "tensor_fusion_rollout")
    namespace = NS["tensor_fusion_rollout"][0]
    labels = {"app": "t-rbac-inference"}
    cluster.apps.create_namespaced_deployment(namespace, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="t-rbac-inference"),
        spec=client.V1DeploymentSpec(replicas=2, selector=client.V1LabelSelector(match_labels=labels),
                                     template=client.V1PodTemplateSpec(
                                         metadata=client.V1ObjectMeta(labels=labels),
                                         spec=client.V1PodSpec(containers=[client.V1Container(
                                             name="c", image="example.com/never-pulled:1")])))))
    variables = {"tensor_fusion_rollout": [{"name": "t-rbac-inference", "namespace": namespace, "enabled_replicas": 1}]}
    playbook = REPO / "playbooks" / "tensor_fusion_rollout.yml"
    run = timed("tensor_fusion_rollout", play, sa, variables, playbook)
    assert run.rc == 0 and run.changed == 1, run.out[-6000:]
    template = cluster.apps.read_namespaced_deployment("t-rbac-inference", namespace).spec.template
    assert template.metadata.labels["tensor-fusion.ai/enabled"] == "true"
    rollback = dict(variables, tensor_fusion_rollout_action="rollback")
    with Without(cluster, "tensor_fusion_rollout", "deployments"):
        refused(timed("tensor_fusion_rollout-refused", play, sa, rollback, playbook), "get", "deployments")
