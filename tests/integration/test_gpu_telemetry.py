"""gpu_telemetry and its chart on the lab's control plane.

One namespace for the module; the tests run in file order and build on each other: the first
install (queue first, watched through the API), a re-run (changed=0, same Helm revision),
--check (no object changes), scaling, the in-memory queue's single replica, then the redis
backend with two queue replicas, TLS and the collector autoscaler. kwok marks scheduled pods
Ready, so rollouts are real API state; no container runs (docs/telemetry.md).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from cluster_helpers import REPO, config_maps_holding, helm_records_holding, rollout_diagnosis, wait_for

pytestmark = pytest.mark.cluster

CHART = REPO / "roles" / "gpu_telemetry" / "files" / "gpu-telemetry"
PLAYBOOK = REPO / "playbooks" / "telemetry.yml"
CSV = REPO / "lab" / "telemetry" / "dcgm_metrics.csv"
RELEASE = "tel"
URI = "mongodb://collector:Tel-s3cret-%s@mongo.gputel-db.svc:27017/telemetry" % uuid.uuid4().hex[:8]
REDIS_URL = "rediss://:Redis-s3cret-%s@redis.gputel-db.svc:6379/0" % uuid.uuid4().hex[:8]
SECRETS = ("Tel-s3cret-", "Redis-s3cret-")
# Qualified and pinned, as the role requires (the lab's inventory names the same).
IMAGES = {name: "localhost/gpu-metrics-streamer/%s:0.1.0" % name for name in ("queueservice", "streamer", "collector")}
IMAGE_VALUES = "queue.image=%s,streamer.image=%s,collector.image=%s" % (
    IMAGES["queueservice"], IMAGES["streamer"], IMAGES["collector"])
RESTRICTED = {"pod-security.kubernetes.io/%s%s" % (mode, suffix): "latest" if suffix else "restricted"
              for mode in ("enforce", "audit", "warn") for suffix in ("", "-version")}
TIMINGS: dict[str, float] = {}


def _ansible_playbook() -> str:
    found = Path(sys.executable).parent / "ansible-playbook"
    assert found.exists(), "ansible-playbook not found: source scripts/lib.sh and run gpufleet_activate"
    return str(found)


class Telemetry:
    """Runs playbooks/telemetry.yml against the lab in one namespace of the test's own."""

    def __init__(self, cluster, namespace, workdir):
        self.cluster = cluster
        self.namespace = namespace
        self.workdir = workdir
        self.runs = 0
        self.base = {
            "gpu_telemetry_enabled": True,
            "gpu_telemetry_namespace": namespace,
            "gpu_telemetry_release_name": RELEASE,
            "gpu_telemetry_helm_binary": str(cluster.state_dir / "bin" / "helm"),
            "gpu_telemetry_streamer_csv_file": str(CSV),
            "gpu_telemetry_mongodb_uri": URI,
            "gpu_telemetry_queue_image": IMAGES["queueservice"],
            "gpu_telemetry_streamer_image": IMAGES["streamer"],
            "gpu_telemetry_collector_image": IMAGES["collector"],
            "gpu_telemetry_wait_timeout": 120,
            "ansible_python_interpreter": sys.executable,
        }

    def run(self, *args, json_output=True, **overrides):
        """(returncode, parsed json or None, stdout+stderr, seconds)."""
        self.runs += 1
        vars_file = self.workdir / ("vars-%d.json" % self.runs)
        vars_file.write_text(json.dumps({**self.base, **overrides}))
        env = {**os.environ, **self.cluster.env, "ANSIBLE_NOCOLOR": "1"}
        if json_output:
            env.update(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json")
        started = time.monotonic()
        proc = subprocess.run(
            [_ansible_playbook(), "-i", "localhost,", str(PLAYBOOK), "-e", "@%s" % vars_file, *args],
            env=env, cwd=str(REPO), capture_output=True, text=True, timeout=900, check=False,
        )
        seconds = time.monotonic() - started
        output = proc.stdout + proc.stderr
        parsed = json.loads(proc.stdout[proc.stdout.index("{"):]) if json_output else None
        return proc.returncode, parsed, output, seconds

    # --- reading the API ---------------------------------------------------------------------
    @property
    def apps(self):
        return client.AppsV1Api(self.cluster.api)

    @property
    def core(self):
        return client.CoreV1Api(self.cluster.api)

    def helm(self, *args):
        return subprocess.run([str(self.cluster.state_dir / "bin" / "helm"), "--namespace", self.namespace, *args],
                              env={**os.environ, **self.cluster.env}, capture_output=True, text=True, check=True).stdout

    def revision(self):
        return json.loads(self.helm("status", RELEASE, "--output", "json"))["version"]

    def snapshot(self):
        """Every object of the namespace that the role or the chart makes, by kind/name: resourceVersion."""
        api = self.cluster.api
        lists = {
            "StatefulSet": client.AppsV1Api(api).list_namespaced_stateful_set,
            "Deployment": client.AppsV1Api(api).list_namespaced_deployment,
            "ReplicaSet": client.AppsV1Api(api).list_namespaced_replica_set,
            "Service": client.CoreV1Api(api).list_namespaced_service,
            "ConfigMap": client.CoreV1Api(api).list_namespaced_config_map,
            "Secret": client.CoreV1Api(api).list_namespaced_secret,
            "NetworkPolicy": client.NetworkingV1Api(api).list_namespaced_network_policy,
            "PodDisruptionBudget": client.PolicyV1Api(api).list_namespaced_pod_disruption_budget,
            "HorizontalPodAutoscaler": client.AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler,
        }
        return {
            "%s/%s" % (kind, item.metadata.name): item.metadata.resource_version
            for kind, list_fn in lists.items()
            for item in list_fn(self.namespace).items
        }

    def pods(self, component):
        return self.core.list_namespaced_pod(
            self.namespace, label_selector="app.kubernetes.io/instance=%s,app.kubernetes.io/component=%s" % (RELEASE, component)
        ).items

    def diagnosis(self):
        return rollout_diagnosis(self.cluster, self.namespace)

    def rolled_out(self, kind, name, replicas):
        read = self.apps.read_namespaced_stateful_set if kind == "StatefulSet" else self.apps.read_namespaced_deployment
        obj = read(name, self.namespace)
        status = obj.status
        done = (obj.spec.replicas == replicas and (status.ready_replicas or 0) == replicas
                and (status.updated_replicas or 0) == replicas and status.observed_generation == obj.metadata.generation)
        return obj if done else None


def _stats(parsed):
    return parsed["stats"]["localhost"]


def _recap(output):
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output[-3000:]
    return {"ok": int(match.group(1)), "changed": int(match.group(2)), "failures": int(match.group(4))}


def _fact(parsed, name):
    for play in parsed["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if name in (result.get("ansible_facts") or {}):
                    return result["ansible_facts"][name]
    raise AssertionError("no task set %s" % name)


def _failure(parsed):
    for play in parsed["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if result.get("failed"):
                    return task["task"]["name"], " ".join(str(result.get("msg", "")).split())
    return None, None


def _env(container):
    return {e.name: e for e in container.env or []}


def _no_secret_in(output):
    for secret in SECRETS:
        assert secret not in output, "a secret (%s...) is in the output" % secret


@pytest.fixture(scope="module")
def telemetry(cluster, tmp_path_factory):
    name = "gputel-%s" % uuid.uuid4().hex[:6]
    core = cluster.core
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"gpufleet.test": "integration"})))
    wait_for(lambda: core.read_namespaced_service_account("default", name), timeout=30, what="default service account")
    yield Telemetry(cluster, name, tmp_path_factory.mktemp("gputel"))
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise
    print("gpu_telemetry timings (s): %s" % json.dumps({k: round(v, 1) for k, v in TIMINGS.items()}))


class PodWatch:
    """Pod events of a namespace, stamped with the time this process saw them."""

    def __init__(self, cluster, namespace):
        self.events = []
        self.error = None
        self._api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
        self._watch = watch.Watch()
        self._namespace = namespace
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        core = client.CoreV1Api(self._api)
        try:
            for event in self._watch.stream(core.list_namespaced_pod, self._namespace, timeout_seconds=180):
                pod = event["object"]
                ready = any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
                self.events.append((time.monotonic(), event["type"], pod.metadata.labels.get("app.kubernetes.io/component"), ready))
        except Exception as exc:  # pylint: disable=broad-except
            # A watch that broke early shows as missing events, which the test's assertions catch.
            self.error = exc

    def __enter__(self):
        self._thread.start()
        time.sleep(0.5)  # the watch is open before anything is created
        return self

    def __exit__(self, *exc):
        self._watch.stop()
        self._thread.join(timeout=5)
        self._api.close()


# --- the chart on its own ------------------------------------------------------------------------

def _template(cluster, *args):
    return subprocess.run(
        [str(cluster.state_dir / "bin" / "helm"), "template", "t", str(CHART), "--namespace", "ns", "--kube-version", "1.36.0",
         "--set", "credentials.secretName=c", "--set", "streamer.csvConfigMap=csv", "--set", IMAGE_VALUES, *args],
        capture_output=True, text=True, check=True,
    ).stdout


def _kinds(rendered):
    import yaml

    return sorted("%s/%s" % (d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(rendered) if d)


def test_chart_lints_clean(cluster):
    for extra in ([], ["--set", "queue.backend=redis,queue.replicas=2,tls.enabled=true,tls.secretName=t,collector.autoscaling.enabled=true"]):
        lint = subprocess.run([str(cluster.state_dir / "bin" / "helm"), "lint", "--strict", str(CHART), "--kube-version", "1.36.0",
                               "--set", "credentials.secretName=c,streamer.csvConfigMap=csv," + IMAGE_VALUES, *extra],
                              capture_output=True, text=True, check=False)
        assert lint.returncode == 0 and "0 chart(s) failed" in lint.stdout, lint.stdout + lint.stderr
        assert "[WARNING]" not in lint.stdout and "[ERROR]" not in lint.stdout, lint.stdout


def test_chart_renders_the_servicemonitor_only_where_its_crd_is_served(cluster):
    plain = _kinds(_template(cluster))
    assert plain == sorted([
        "NetworkPolicy/t-default-deny", "NetworkPolicy/t-queue", "NetworkPolicy/t-streamer", "NetworkPolicy/t-collector",
        "PodDisruptionBudget/t-streamer", "PodDisruptionBudget/t-collector",
        "Service/t-queue", "Service/t-queue-headless", "StatefulSet/t-queue", "Deployment/t-streamer", "Deployment/t-collector",
        "ServiceAccount/t",
    ])
    monitored = _kinds(_template(cluster, "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor"))
    assert sorted(set(monitored) - set(plain)) == ["ServiceMonitor/t-queue"]
    disabled = _kinds(_template(cluster, "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor", "--set", "serviceMonitor.enabled=false"))
    assert disabled == plain


def test_chart_renders_nothing_without_the_images(cluster):
    """The chart's images have no default (the seed's unqualified ':latest' names would resolve on
    Docker Hub): rendering without them stops with the value to set."""
    proc = subprocess.run(
        [str(cluster.state_dir / "bin" / "helm"), "template", "t", str(CHART), "--kube-version", "1.36.0",
         "--set", "credentials.secretName=c,streamer.csvConfigMap=csv"], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "image: name the" in proc.stderr and "version tag or digest" in proc.stderr, proc.stderr


# --- Pod Security -------------------------------------------------------------------------------

WORKLOADS = {"StatefulSet": "stateful_set", "Deployment": "deployment"}
VARIANTS = {
    "defaults": [],
    "redis, TLS, autoscaling": ["--set", "queue.backend=redis,queue.replicas=2,tls.enabled=true,tls.secretName=t,"
                                         "collector.autoscaling.enabled=true"],
}


def _warnings(headers):
    """The Warning headers of an API answer (RFC 7234: '299 - "text"'), as texts."""
    return re.findall(r'299 - "((?:[^"\\]|\\.)*)"', ", ".join(headers.getlist("Warning")))


def _admit(cluster, namespace, obj):
    """Ask the API server to admit ``obj`` (a dry run): (refusal or None, Pod Security warnings)."""
    apps, core = client.AppsV1Api(cluster.api), client.CoreV1Api(cluster.api)
    create = (core.create_namespaced_pod_with_http_info if obj["kind"] == "Pod"
              else getattr(apps, "create_namespaced_%s_with_http_info" % WORKLOADS[obj["kind"]]))
    try:
        _data, _status, headers = create(namespace, obj, dry_run="All")
    except ApiException as exc:
        return exc.body, []
    return None, [w for w in _warnings(headers) if "PodSecurity" in w]


def _pod_of(workload, namespace):
    template = workload["spec"]["template"]
    metadata = dict(template["metadata"], name=workload["metadata"]["name"] + "-0", namespace=namespace)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}


@pytest.fixture(scope="module")
def restricted_namespace(cluster):
    """A namespace of the test's own that enforces (and warns and audits) Pod Security 'restricted'."""
    name = "gputel-psa-%s" % uuid.uuid4().hex[:6]
    core = cluster.core
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=name, labels=dict(RESTRICTED, **{"gpufleet.test": "integration"}))))
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_chart_pods_meet_pod_security_restricted_at_admission(cluster, restricted_namespace, variant):
    """Pod Security admission is kube-apiserver's own: in a namespace enforcing 'restricted' it refuses
    a pod that does not meet it, and answers a Deployment or StatefulSet whose pods would not with a
    warning. Every workload of the chart is sent as it is (no warning allowed) and each one's pod as
    a Pod (no refusal allowed), both as dry runs; the release's ServiceAccount is created for real,
    the ServiceAccount admission needs it to exist."""
    import yaml

    ns = restricted_namespace
    rendered = [d for d in yaml.safe_load_all(_template(cluster, "--namespace", ns, *VARIANTS[variant])) if d]
    account = [d for d in rendered if d["kind"] == "ServiceAccount"]
    for obj in account:
        try:
            cluster.core.create_namespaced_service_account(ns, obj)
        except ApiException as exc:
            if exc.status != 409:  # the other variant made it
                raise
    workloads = [d for d in rendered if d["kind"] in WORKLOADS]
    assert sorted(w["metadata"]["name"] for w in workloads) == ["t-collector", "t-queue", "t-streamer"]
    for workload in workloads:
        what = "%s/%s (%s)" % (workload["kind"], workload["metadata"]["name"], variant)
        refused, warned = _admit(cluster, ns, workload)
        assert refused is None and warned == [], (what, refused, warned)
        refused, warned = _admit(cluster, ns, _pod_of(workload, ns))
        assert refused is None and warned == [], (what, refused, warned)
        spec = workload["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"] == "t", what
        for container in spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, what
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], what
    assert [a["metadata"]["name"] for a in account] == ["t"] and account[0]["automountServiceAccountToken"] is False


def test_the_restricted_namespace_refuses_a_pod_that_does_not_meet_it(cluster, restricted_namespace):
    """The control for the test above: the same pod without its security contexts (the chart's pods
    before they met 'restricted' had no runAsNonRoot and a writable root filesystem) is refused, and
    its Deployment warned about, by the same API server."""
    import yaml

    ns = restricted_namespace
    streamer = [d for d in yaml.safe_load_all(_template(cluster, "--namespace", ns)) if d and d["kind"] == "Deployment"][0]
    spec = streamer["spec"]["template"]["spec"]
    spec["securityContext"].pop("runAsNonRoot")
    for container in spec["containers"]:
        container["securityContext"].pop("runAsNonRoot")
    refused, _warned = _admit(cluster, ns, _pod_of(streamer, ns))
    assert refused and 'violates PodSecurity \\"restricted:latest\\"' in refused and "runAsNonRoot" in refused, refused
    refused, warned = _admit(cluster, ns, streamer)
    assert refused is None and warned and "would violate PodSecurity" in warned[0] and "runAsNonRoot" in warned[0], warned


# --- the role on the lab -------------------------------------------------------------------------

def test_first_install_starts_the_queue_before_streamers_and_collectors(telemetry):
    with PodWatch(telemetry.cluster, telemetry.namespace) as pods:
        rc, _parsed, output, seconds = telemetry.run("-vvv", json_output=False)
    TIMINGS["first install"] = seconds
    assert rc == 0, output[-5000:]
    recap = _recap(output)
    assert recap["changed"] >= 4 and recap["failures"] == 0
    _no_secret_in(output)

    queue_ready = [t for t, _type, component, ready in pods.events if component == "queue" and ready]
    clients_added = [t for t, kind, component, _ready in pods.events if component in ("streamer", "collector") and kind == "ADDED"]
    assert queue_ready and clients_added, (pods.events, pods.error)
    assert min(queue_ready) < min(clients_added), "a streamer or collector pod existed before the queue was Ready"
    # The same order in the objects' own time stamps (seconds), and in the release's history.
    queue_pod = telemetry.pods("queue")[0]
    ready_at = [c.last_transition_time for c in queue_pod.status.conditions if c.type == "Ready"][0]
    clients = telemetry.pods("streamer") + telemetry.pods("collector")
    assert all(p.metadata.creation_timestamp >= ready_at for p in clients)
    first = json.loads(telemetry.helm("get", "values", RELEASE, "--revision", "1", "--output", "json"))
    assert first["queueOnly"] is True and telemetry.revision() == 2

    # Rollouts: the role waited for them, so they are done now.
    assert telemetry.rolled_out("StatefulSet", "%s-queue" % RELEASE, 1)
    assert telemetry.rolled_out("Deployment", "%s-streamer" % RELEASE, 2)
    assert telemetry.rolled_out("Deployment", "%s-collector" % RELEASE, 3)
    assert all(p.spec.node_name.startswith("gpu-") and p.status.phase == "Running" for p in clients + [queue_pod])


def test_objects_carry_the_seed_settings(telemetry):
    ns = telemetry.namespace
    queue = telemetry.apps.read_namespaced_stateful_set("%s-queue" % RELEASE, ns)
    assert queue.spec.service_name == "%s-queue-headless" % RELEASE
    headless = telemetry.core.read_namespaced_service("%s-queue-headless" % RELEASE, ns)
    assert headless.spec.cluster_ip == "None"
    service = telemetry.core.read_namespaced_service("%s-queue" % RELEASE, ns)
    assert [(p.port, p.target_port) for p in service.spec.ports] == [(8080, "http")]
    container = queue.spec.template.spec.containers[0]
    assert container.image == IMAGES["queueservice"]
    # The role labelled its namespace: the pods the role waited for were admitted under 'restricted'.
    labels = telemetry.core.read_namespace(ns).metadata.labels
    assert {k: labels.get(k) for k in RESTRICTED} == RESTRICTED
    assert queue.spec.template.spec.security_context.run_as_non_root is True
    assert queue.spec.template.spec.security_context.run_as_user == 65532
    assert container.security_context.read_only_root_filesystem is True
    env = _env(container)
    assert {k: env[k].value for k in ("VISIBILITY_TIMEOUT", "MAX_RETRIES", "BUFFER_SIZE")} == {
        "VISIBILITY_TIMEOUT": "5m", "MAX_RETRIES": "3", "BUFFER_SIZE": "1000"}
    assert "REDIS_URL" not in env
    assert container.liveness_probe.http_get.path == "/health" and container.readiness_probe.http_get.path == "/health"
    assert container.resources.requests == {"cpu": "250m", "memory": "256Mi"}
    assert container.resources.limits == {"cpu": "500m", "memory": "512Mi"}

    streamer = telemetry.apps.read_namespaced_deployment("%s-streamer" % RELEASE, ns).spec.template.spec
    env = _env(streamer.containers[0])
    url = "http://%s-queue.%s.svc:8080" % (RELEASE, ns)
    assert env["QUEUE_SERVICE_URL"].value == url
    assert (env["CSV_PATH"].value, env["STREAM_INTERVAL"].value, env["LOOP_MODE"].value) == ("/data/dcgm_metrics.csv", "100ms", "true")
    assert env["INSTANCE_ID"].value_from.field_ref.field_path == "metadata.name"
    assert streamer.containers[0].volume_mounts[0].mount_path == "/data"
    assert {v.name: v.config_map.name for v in streamer.volumes if v.config_map} == {"csv": "%s-csv" % RELEASE}
    csv = telemetry.core.read_namespaced_config_map("%s-csv" % RELEASE, ns).data["dcgm_metrics.csv"]
    assert csv == CSV.read_text()

    collector = telemetry.apps.read_namespaced_deployment("%s-collector" % RELEASE, ns).spec.template.spec.containers[0]
    env = _env(collector)
    assert env["QUEUE_SERVICE_URL"].value == url
    assert (env["BATCH_SIZE"].value, env["MAX_CONCURRENT_HANDLERS"].value) == ("1", "10")
    ref = env["MONGODB_URI"].value_from.secret_key_ref
    assert (ref.name, ref.key) == ("%s-credentials" % RELEASE, "MONGODB_URI")
    secret = telemetry.core.read_namespaced_secret(ref.name, ns)
    assert base64.b64decode(secret.data["MONGODB_URI"]).decode() == URI
    # The URI is in the Secret only: not in the release's values, nor anywhere in any release record
    # (values, manifest, hooks) or ConfigMap of the cluster.
    _no_secret_in(telemetry.helm("get", "values", RELEASE, "--all", "--output", "json"))
    for planted in SECRETS:
        assert config_maps_holding(telemetry.cluster, planted) == [] and helm_records_holding(telemetry.cluster, planted) == [], planted


def test_network_policies_and_disruption_budgets(telemetry):
    ns = telemetry.namespace
    policies = {p.metadata.name: p.spec for p in client.NetworkingV1Api(telemetry.cluster.api).list_namespaced_network_policy(ns).items}
    assert sorted(policies) == sorted("%s-%s" % (RELEASE, n) for n in ("default-deny", "queue", "streamer", "collector"))
    deny = policies["%s-default-deny" % RELEASE]
    assert deny.pod_selector.match_labels == {"app.kubernetes.io/name": "gpu-telemetry", "app.kubernetes.io/instance": RELEASE}
    assert sorted(deny.policy_types) == ["Egress", "Ingress"] and not deny.ingress and not deny.egress

    queue = policies["%s-queue" % RELEASE]
    assert len(queue.ingress) == 1
    sources = sorted(peer.pod_selector.match_labels["app.kubernetes.io/component"] for peer in queue.ingress[0]._from)
    assert sources == ["collector", "streamer"]
    assert [(p.protocol, p.port) for p in queue.ingress[0].ports] == [("TCP", 8080)]

    collector = policies["%s-collector" % RELEASE]
    assert not collector.ingress and "Ingress" in collector.policy_types
    egress = [sorted((p.protocol, p.port) for p in rule.ports) for rule in collector.egress]
    assert egress == [[("TCP", 8080)], [("TCP", 53), ("UDP", 53)], [("TCP", 27017)]]
    assert collector.egress[0].to[0].pod_selector.match_labels["app.kubernetes.io/component"] == "queue"
    assert collector.egress[1].to[0].namespace_selector.match_labels == {"kubernetes.io/metadata.name": "kube-system"}
    streamer_ports = sorted(p.port for rule in policies["%s-streamer" % RELEASE].egress for p in rule.ports)
    assert streamer_ports == [53, 53, 8080]

    budgets = {b.metadata.name: b for b in client.PolicyV1Api(telemetry.cluster.api).list_namespaced_pod_disruption_budget(ns).items}
    # One queue replica: no budget for it (one that allows no eviction would block every drain).
    assert sorted(budgets) == ["%s-collector" % RELEASE, "%s-streamer" % RELEASE]
    assert budgets["%s-collector" % RELEASE].spec.max_unavailable == 1
    assert wait_for(lambda: budgets and client.PolicyV1Api(telemetry.cluster.api).read_namespaced_pod_disruption_budget(
        "%s-collector" % RELEASE, ns).status.expected_pods == 3, timeout=30, what="collector budget counts 3 pods")


def test_rerun_changes_nothing_and_reports_the_workloads(telemetry):
    before = telemetry.snapshot()
    rc, parsed, output, seconds = telemetry.run()
    TIMINGS["re-run"] = seconds
    assert rc == 0, (_failure(parsed), telemetry.diagnosis())
    assert _stats(parsed)["changed"] == 0
    assert telemetry.revision() == 2
    assert telemetry.snapshot() == before
    _no_secret_in(output)

    section = _fact(parsed, "gpu_telemetry_report_section")
    release, workloads = section["tables"]
    assert release["rows"][0][2] == 2 or release["rows"][0][2] == "2"
    # The nodes column: where each component's ready pods run, as the API server has them.
    pods = telemetry.cluster.core.list_namespaced_pod(telemetry.namespace,
                                                      label_selector="app.kubernetes.io/instance=%s" % RELEASE).items
    nodes = dict((component, ", ".join(sorted(set(
        p.spec.node_name for p in pods if p.metadata.labels.get("app.kubernetes.io/component") == component
        and p.spec.node_name and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])))))
        for component in ("queue", "collector", "streamer"))
    assert all(nodes.values()), nodes
    assert workloads["rows"] == [
        ["StatefulSet", "%s-queue" % RELEASE, 1, 1, "ready", nodes["queue"]],
        ["Deployment", "%s-collector" % RELEASE, 3, 3, "ready", nodes["collector"]],
        ["Deployment", "%s-streamer" % RELEASE, 2, 2, "ready", nodes["streamer"]],
    ]
    assert section["problems"] == []


def test_check_mode_changes_nothing(telemetry):
    before = telemetry.snapshot()
    rc, parsed, output, _seconds = telemetry.run("--check", "--diff", gpu_telemetry_streamer_replicas=5,
                                                 gpu_telemetry_mongodb_uri=URI.replace("collector:", "rotated:"))
    assert rc == 0, (_failure(parsed), telemetry.diagnosis())
    assert _stats(parsed)["changed"] >= 1, "check mode did not see the change"
    assert telemetry.snapshot() == before
    assert telemetry.revision() == 2
    _no_secret_in(output)
    # --diff without the helm-diff plugin: the role lists the values that would change.
    results = [(task["task"]["name"], r) for play in parsed["plays"] for task in play["tasks"] for r in task["hosts"].values()]
    shown = [r["msg"] for name, r in results if name.endswith("Show the values that change") and not r.get("skipped")]
    if shown:
        assert "streamer.replicas: 2 -> 5" in shown[0], shown
    else:  # with the helm-diff plugin, kubernetes.core.helm returns the diff itself
        assert [r["diff"] for name, r in results if name.endswith("Install the pipeline") and r.get("diff")], results


def test_scaling_is_a_variable_change_and_a_rerun(telemetry):
    rc, parsed, _output, seconds = telemetry.run(gpu_telemetry_streamer_replicas=4, gpu_telemetry_collector_replicas=1)
    TIMINGS["scale"] = seconds
    assert rc == 0, (_failure(parsed), telemetry.diagnosis())
    assert _stats(parsed)["changed"] == 1
    assert telemetry.revision() == 3
    assert telemetry.rolled_out("Deployment", "%s-streamer" % RELEASE, 4)
    assert telemetry.rolled_out("Deployment", "%s-collector" % RELEASE, 1)
    assert len([p for p in telemetry.pods("streamer") if p.metadata.deletion_timestamp is None]) == 4


def test_the_memory_queue_refuses_a_second_replica(telemetry):
    before = telemetry.snapshot()
    rc, parsed, _output, _seconds = telemetry.run(gpu_telemetry_streamer_replicas=4, gpu_telemetry_collector_replicas=1,
                                                  gpu_telemetry_queue_replicas=2)
    assert rc != 0
    task, message = _failure(parsed)
    assert task.endswith("Check the role's variables"), task
    assert "gpu_telemetry_queue_replicas=2 with gpu_telemetry_queue_backend='memory'" in message
    assert "in each replica's own memory" in message
    assert telemetry.snapshot() == before and telemetry.revision() == 3
    assert telemetry.apps.read_namespaced_stateful_set("%s-queue" % RELEASE, telemetry.namespace).spec.replicas == 1


def test_a_value_the_api_server_refuses_is_refused_by_the_dry_run_before_any_change(telemetry):
    """A toleration whose operator is neither Exists nor Equal passes the role's own checks (it takes
    tolerations as the pod spec does) but not the API server's validation of a pod template: the dry
    run of the chart's render refuses it before Helm runs (no failed revision, nothing changed), with
    the server's sentence and no secret."""
    before = telemetry.snapshot()
    rc, parsed, output, _seconds = telemetry.run(gpu_telemetry_streamer_replicas=4, gpu_telemetry_collector_replicas=1,
                                                 gpu_telemetry_tolerations=[{"key": "nvidia.com/gpu",
                                                                             "operator": "Sometimes"}])
    assert rc != 0
    task, message = _failure(parsed)
    assert task.endswith("Refuse what the API server would refuse"), (task, message)
    assert "the API server refuses what the chart and the role would write with these variables" in message
    assert "is invalid" in message and "tolerations" in message and "Sometimes" in message, message
    assert telemetry.snapshot() == before and telemetry.revision() == 3
    assert json.loads(telemetry.helm("status", RELEASE, "--output", "json"))["info"]["status"] == "deployed"
    _no_secret_in(output)


def test_a_release_left_queue_only_is_completed_queue_first(telemetry):
    """A run that stopped after the first stage leaves queueOnly in the release: the next run
    waits for the queue again and then installs the rest."""
    telemetry.helm("upgrade", RELEASE, str(CHART), "--reuse-values", "--set", "queueOnly=true")
    wait_for(lambda: telemetry.rolled_out("Deployment", "%s-streamer" % RELEASE, 0), timeout=60, what="streamers at 0")
    left = telemetry.revision()
    rc, parsed, _output, _seconds = telemetry.run(gpu_telemetry_streamer_replicas=4, gpu_telemetry_collector_replicas=1)
    assert rc == 0, (_failure(parsed), telemetry.diagnosis())
    ran = {task["task"]["name"].split(" : ")[-1]: result for play in parsed["plays"] for task in play["tasks"]
           for result in task["hosts"].values()}
    assert not ran["Wait for the queue to be Ready"].get("skipped")
    assert telemetry.revision() == left + 1
    assert json.loads(telemetry.helm("get", "values", RELEASE, "--output", "json"))["queueOnly"] is False
    assert telemetry.rolled_out("Deployment", "%s-streamer" % RELEASE, 4)


def _tls_secret(telemetry):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    host = "%s-queue.%s.svc" % (RELEASE, telemetry.namespace)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    telemetry.core.create_namespaced_secret(telemetry.namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="queue-tls"), type="kubernetes.io/tls",
        data={k: base64.b64encode(v).decode() for k, v in {"tls.crt": pem, "tls.key": key_pem, "ca.crt": pem}.items()}))


def test_redis_backend_tls_and_collector_autoscaling(telemetry):
    # TLS without its Secret is refused, naming the Secret, before anything changes.
    before = telemetry.snapshot()
    # Four streamers, a queue and the collectors roll at once here. On a loaded 2-core lab the
    # streamers' rollout stalled at "3 of 4 updated" with all 4 Ready (seen twice with a 120 s wait
    # on 2026-12-03 and once with 300 s in CI on 2026-12-05; the role reporting it as it should).
    # That is how a ReplicaSet waits when the controller-manager has not seen a pod it created: it
    # does nothing more until its expectations expire after 5 minutes (ExpectationsTimeout in
    # kube-controller-manager), then carries on. The role's own timeout is what this test gives
    # it, past those 5 minutes; a failure says what the controllers did (rollout_diagnosis).
    wanted = dict(gpu_telemetry_streamer_replicas=4, gpu_telemetry_collector_replicas=1, gpu_telemetry_tls_enabled=True,
                  gpu_telemetry_tls_secret_name="queue-tls", gpu_telemetry_wait_timeout=480)
    rc, parsed, _output, _seconds = telemetry.run(**wanted)
    assert rc != 0
    assert "gpu_telemetry_tls_secret_name=queue-tls: no such Secret in namespace %s" % telemetry.namespace in _failure(parsed)[1]
    assert telemetry.snapshot() == before
    _tls_secret(telemetry)

    wanted.update(gpu_telemetry_queue_backend="redis", gpu_telemetry_redis_url=REDIS_URL, gpu_telemetry_queue_replicas=2,
                  gpu_telemetry_collector_autoscaling=True, gpu_telemetry_collector_min_replicas=2,
                  gpu_telemetry_collector_max_replicas=5)
    revision = telemetry.revision()
    rc, parsed, output, _seconds = telemetry.run(**wanted)
    assert rc == 0, (_failure(parsed), telemetry.diagnosis())
    _no_secret_in(output)
    assert telemetry.revision() == revision + 1
    ns = telemetry.namespace
    assert telemetry.rolled_out("StatefulSet", "%s-queue" % RELEASE, 2)

    secret = telemetry.core.read_namespaced_secret("%s-credentials" % RELEASE, ns)
    assert base64.b64decode(secret.data["REDIS_URL"]).decode() == REDIS_URL
    queue = telemetry.apps.read_namespaced_stateful_set("%s-queue" % RELEASE, ns).spec.template.spec
    env = _env(queue.containers[0])
    assert env["REDIS_URL"].value_from.secret_key_ref.key == "REDIS_URL"
    assert env["TLS_CERT_FILE"].value == "/etc/gpu-telemetry/tls/tls.crt"
    assert queue.containers[0].readiness_probe.http_get.scheme == "HTTPS"
    assert {v.name: v.secret.secret_name for v in queue.volumes if v.secret} == {"tls": "queue-tls"}
    https = "https://%s-queue.%s.svc:8080" % (RELEASE, ns)
    for name in ("streamer", "collector"):
        env = _env(telemetry.apps.read_namespaced_deployment("%s-%s" % (RELEASE, name), ns).spec.template.spec.containers[0])
        assert env["QUEUE_SERVICE_URL"].value == https and env["QUEUE_CA_FILE"].value.endswith("/ca.crt")
        assert ("REDIS_URL" in env) == (name == "streamer")

    budgets = client.PolicyV1Api(telemetry.cluster.api).list_namespaced_pod_disruption_budget(ns).items
    assert "%s-queue" % RELEASE in {b.metadata.name for b in budgets}
    policies = {p.metadata.name: p.spec for p in client.NetworkingV1Api(telemetry.cluster.api).list_namespaced_network_policy(ns).items}
    for name in ("queue", "streamer"):
        assert 6379 in [p.port for rule in policies["%s-%s" % (RELEASE, name)].egress for p in rule.ports]

    hpa = client.AutoscalingV2Api(telemetry.cluster.api).read_namespaced_horizontal_pod_autoscaler("%s-collector" % RELEASE, ns)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (2, 5)
    assert hpa.spec.scale_target_ref.name == "%s-collector" % RELEASE
    assert hpa.spec.metrics[0].resource.target.average_utilization == 70
    # The controller-manager's autoscaler enforces the minimum even without a metrics server.
    wait_for(lambda: telemetry.rolled_out("Deployment", "%s-collector" % RELEASE, 2), timeout=90,
             what="the autoscaler scaling the collectors to its minimum of 2")

    rc, parsed, _output, _seconds = telemetry.run(**wanted)
    assert rc == 0 and _stats(parsed)["changed"] == 0 and telemetry.revision() == revision + 1, _failure(parsed)
