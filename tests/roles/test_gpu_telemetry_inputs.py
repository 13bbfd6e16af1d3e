"""gpu_telemetry refuses bad input before it touches the cluster.

All cases run in ONE ansible-playbook run: each case is a host of its own (a local alias of
localhost) with one variable made wrong on top of a valid configuration, so each host fails on
its own. The cluster the role would talk to does not exist (the kubeconfig and the helm binary
point nowhere): a case that got past the input checks would fail on a later task, which the
test sees by the name of the task that failed. The MongoDB URI is a secret: it must not appear
anywhere in the run's output, not even in the messages about it.
"""

import configparser
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CSV = REPO / "lab" / "telemetry" / "dcgm_metrics.csv"
URI = "mongodb://collector:s3cr3t-Unl0gged@mongo.example.invalid:27017/telemetry"
BASE = {
    "gpu_telemetry_namespace": "telemetry-preflight",
    "gpu_telemetry_streamer_csv_file": str(CSV),
    "gpu_telemetry_mongodb_uri": URI,
    "gpu_telemetry_queue_image": "registry.example.com/gpu-metrics-streamer/queueservice:1.0",
    "gpu_telemetry_streamer_image": "registry.example.com/gpu-metrics-streamer/streamer:1.0",
    "gpu_telemetry_collector_image": "registry.example.com/gpu-metrics-streamer/collector:1.0",
    "gpu_telemetry_helm_binary": "/nonexistent/helm",
    "gpu_telemetry_kubeconfig": "/nonexistent/kubeconfig",
}
PREFLIGHT_TASKS = ("Check the role's variables", "Validating arguments against arg spec")

# (variable, bad value, fragments the message must hold)
CASES = [
    ("gpu_telemetry_streamer_replicas", -1, ["gpu_telemetry_streamer_replicas=-1 must be >= 0; use e.g. 2"]),
    ("gpu_telemetry_collector_replicas", -3, ["gpu_telemetry_collector_replicas=-3 must be >= 0"]),
    ("gpu_telemetry_streamer_replicas", "two", ["gpu_telemetry_streamer_replicas", "int"]),
    ("gpu_telemetry_streamer_interval", "fast",
     ["gpu_telemetry_streamer_interval='fast' is not a duration", "(ns, us, ms, s, m, h) such as '100ms'"]),
    ("gpu_telemetry_queue_visibility_timeout", "0s", ["gpu_telemetry_queue_visibility_timeout='0s' is zero", "longer than zero"]),
    ("gpu_telemetry_queue_replicas", 2,
     ["gpu_telemetry_queue_replicas=2 with gpu_telemetry_queue_backend='memory'",
      "the in-memory queue keeps its messages in each replica's own memory",
      "(in-memory queue limitation)", "Keep gpu_telemetry_queue_replicas: 1, or set gpu_telemetry_queue_backend: redis"]),
    ("gpu_telemetry_queue_backend", "kafka", ["value of gpu_telemetry_queue_backend must be one of: memory, redis, got: kafka"]),
    ("gpu_telemetry_mongodb_uri", "", ["gpu_telemetry_mongodb_uri is empty", "from a vault", "mongodb://"]),
    ("gpu_telemetry_mongodb_uri", "postgres://collector:s3cr3t-Unl0gged@db:5432/x",
     ["gpu_telemetry_mongodb_uri does not start with mongodb:// or mongodb+srv://", "its value is not shown"]),
    ("gpu_telemetry_tls_enabled", True,
     ["gpu_telemetry_tls_enabled is true but gpu_telemetry_tls_secret_name is empty", "kubernetes.io/tls Secret"]),
    ("gpu_telemetry_collector_batch_size", 0, ["gpu_telemetry_collector_batch_size=0 must be >= 1; use e.g. 1"]),
    ("gpu_telemetry_collector_max_concurrent_handlers", 0, ["gpu_telemetry_collector_max_concurrent_handlers=0 must be >= 1"]),
    ("gpu_telemetry_streamer_csv_file", "/nonexistent/dcgm.csv",
     ["gpu_telemetry_streamer_csv_file='/nonexistent/dcgm.csv' does not exist on the controller"]),
    ("gpu_telemetry_streamer_csv_file", "", ["gpu_telemetry_streamer_csv_file is not set"]),
    # A file that is not the metrics CSV would be published as it is in a ConfigMap: a password file, a
    # configuration file. Refused without quoting a byte of it.
    ("gpu_telemetry_streamer_csv_file", "/etc/passwd",
     ["gpu_telemetry_streamer_csv_file='/etc/passwd' does not start with a CSV header line"]),
    ("gpu_telemetry_streamer_csv_file", str(REPO / "ansible.cfg"), ["does not start with a CSV header line"]),
    ("gpu_telemetry_queue_backend", "redis", ["gpu_telemetry_redis_url is empty", "rediss://"]),
    ("gpu_telemetry_release_name", "GPU_Telemetry", ["gpu_telemetry_release_name='GPU_Telemetry' is not a valid name"]),
    ("gpu_telemetry_credentials_secret_name", "Mongo_Secret",
     ["gpu_telemetry_credentials_secret_name='Mongo_Secret' is not an object name"]),
    # The images have no default: unset, the seed's Docker Hub name, an unpinned one.
    ("gpu_telemetry_queue_image", "", ["gpu_telemetry_queue_image is not set", "registry host and a version tag or digest",
                                       "registry.example.com/gpu-metrics-streamer/queueservice:1.0"]),
    ("gpu_telemetry_streamer_image", "gpu-metrics-streamer/streamer:latest",
     ["gpu_telemetry_streamer_image='gpu-metrics-streamer/streamer:latest' names no registry host",
      "docker.io/gpu-metrics-streamer/streamer", "prefix the registry you pushed it to"]),
    ("gpu_telemetry_collector_image", "registry.example.com/gpu-metrics-streamer/collector:latest",
     ["gpu_telemetry_collector_image='registry.example.com/gpu-metrics-streamer/collector:latest' is not pinned"]),
    ("gpu_telemetry_namespace_pod_security", "strict",
     ["value of gpu_telemetry_namespace_pod_security must be one of: privileged, baseline, restricted, got: strict"]),
    ("gpu_telemetry_run_as_user", 0, ["gpu_telemetry_run_as_user=0 must be between 1 and 2147483647 (0 is root"]),
    ("gpu_telemetry_streamer_loop_mode", "maybe", ["gpu_telemetry_streamer_loop_mode", "bool"]),
    ("gpu_telemetry_pdb_max_unavailable", 0, ["gpu_telemetry_pdb_max_unavailable=0 must be a number of pods >= 1 or a percentage"]),
    ("gpu_telemetry_mongodb_egress_to", [{"cidr": "10.0.0.0/8"}],
     ["gpu_telemetry_mongodb_egress_to[0]={'cidr': '10.0.0.0/8'} is not a NetworkPolicy peer"]),
    # Hostile input, one case per class: control characters, signed / overflowing numbers and
    # quantities, strings for booleans, selector syntax inside a label value.
    ("gpu_telemetry_namespace", "gpu-telemetry\n", ["gpu_telemetry_namespace='gpu-telemetry\\n' is not a valid namespace"]),
    # Selector syntax inside a label value of the pods' nodeSelector.
    ("gpu_telemetry_node_selector", {"nvidia.com/gpu.present": "true,zone=a"},
     ["gpu_telemetry_node_selector['nvidia.com/gpu.present']='true,zone=a' is not a label value (selector syntax"]),
    ("gpu_telemetry_namespace", "kube-system",
     ["gpu_telemetry_namespace='kube-system' is a namespace Kubernetes keeps for its own components", "'gpu-telemetry'"]),
    ("gpu_telemetry_queue_image", "queue:1.0\x00", ["gpu_telemetry_queue_image='queue:1.0\\x00' is not an image reference"]),
    ("gpu_telemetry_streamer_replicas", "+1", ["gpu_telemetry_streamer_replicas='+1' is not a whole number"]),
    ("gpu_telemetry_queue_port", 2 ** 63, ["gpu_telemetry_queue_port=9223372036854775808 must be between 1 and 65535"]),
    ("gpu_telemetry_queue_resources", {"requests": {"cpu": "-250m"}},
     ["gpu_telemetry_queue_resources.requests.cpu='-250m' is not a Kubernetes quantity", "takes no sign"]),
    ("gpu_telemetry_tls_enabled", "maybe", ["gpu_telemetry_tls_enabled", "maybe"]),
    ("gpu_telemetry_metrics_from", [{"podSelector": {"matchLabels": {"app": "prometheus,env in (prod)"}}}],
     ["gpu_telemetry_metrics_from[0].podSelector.matchLabels['app']='prometheus,env in (prod)' is not a label value",
      "selector syntax"]),
]
# Variables set together with the broken one (the case's context).
EXTRA = {
    "gpu_telemetry_collector_max_replicas": {"gpu_telemetry_collector_autoscaling": True, "gpu_telemetry_collector_min_replicas": 5},
}
CASES.append(("gpu_telemetry_collector_max_replicas", 2,
              ["gpu_telemetry_collector_max_replicas=2 is below gpu_telemetry_collector_min_replicas=5"]))


def _host(index):
    return "case%02d" % index


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run, every case a host; returns (per-host task results, stdout + stderr, stats)."""
    work = tmp_path_factory.mktemp("gpu_telemetry_inputs")
    hosts = {}
    for index, (variable, value, _fragments) in enumerate(CASES):
        hostvars = dict(BASE, **EXTRA.get(variable, {}))
        hostvars[variable] = value
        hostvars.update(ansible_connection="local", ansible_python_interpreter=os.sys.executable)
        hosts[_host(index)] = hostvars
    inventory = work / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    playbook = work / "apply.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: gpufleet.cluster.gpu_telemetry\n"
    )
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO / "ansible.cfg")
    config.set("defaults", "stdout_callback", "ansible.posix.json")
    config.remove_option("defaults", "callbacks_enabled")
    config.remove_option("defaults", "inventory")
    config.set("defaults", "fact_caching_connection", str(work / "facts"))
    with open(work / "ansible.cfg", "w") as handle:
        config.write(handle)
    env = dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               K8S_AUTH_KUBECONFIG="/nonexistent/kubeconfig")
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(playbook)],
                          capture_output=True, text=True, env=env, cwd=str(REPO), timeout=600, check=False)
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    results = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                # "gpufleet.cluster.gpu_telemetry : Check the role's variables" -> the task's own name
                results.setdefault(host, []).append((task["task"]["name"].split(" : ", 1)[-1], result))
    return results, proc.stdout + proc.stderr, report["stats"]


def _failure(results):
    for name, result in results:
        if result.get("failed") and not result.get("skipped"):
            text = str(result.get("msg", ""))
            if result.get("argument_errors"):
                text += " " + " ".join(result["argument_errors"])
            return name, " ".join(text.split())
    return None, None


@pytest.mark.parametrize("index", range(len(CASES)), ids=["%s=%r" % (c[0], c[1]) for c in CASES])
def test_bad_input_is_refused_before_the_cluster_is_touched(run, index):
    results, _output, stats = run
    variable, value, fragments = CASES[index]
    host = _host(index)
    task, message = _failure(results.get(host, []))
    assert message, "%s=%r was accepted" % (variable, value)
    assert task.startswith(PREFLIGHT_TASKS), "failed in %r, not in the input checks: %s" % (task, message)
    for fragment in fragments:
        assert fragment in message, "%r not in the message of %r: %s" % (fragment, task, message)
    # Nothing after the failed check ran for this host, so nothing was applied.
    assert results[host][-1][0] == task
    assert stats[host]["changed"] == 0


def test_the_mongodb_uri_is_in_no_output(run):
    _results, output, _stats = run
    assert "s3cr3t-Unl0gged" not in output
    assert "root:x:0:0" not in output  # nor the refused file's content


def test_at_least_ten_bad_inputs():
    assert len(CASES) >= 10
