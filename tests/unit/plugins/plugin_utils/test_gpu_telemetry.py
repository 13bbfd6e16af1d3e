from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.gpu_telemetry import inputs as gt_inputs
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.gpu_telemetry.inputs import CSV_MAX_BYTES, duration_nanos, problems
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.gpu_telemetry.report import report_section, workload_nodes
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.gpu_telemetry.values import values_diff

URI = "mongodb://collector:pw-never-shown@mongo:27017/telemetry"
GOOD = {
    "namespace": "gpu-telemetry",
    "release_name": "gpu-telemetry",
    "credentials_secret_name": "gpu-telemetry-credentials",
    "csv_configmap_name": "gpu-telemetry-csv",
    "queue_image": "registry.example.com/gpu-metrics-streamer/queueservice:1.0",
    "streamer_image": "localhost:5000/gpu-metrics-streamer/streamer@sha256:" + "a" * 64,
    "collector_image": "localhost/gpu-metrics-streamer/collector:0.1.0",
    "namespace_pod_security": "restricted",
    "run_as_user": 65532,
    "run_as_group": 65532,
    "fs_group": 65532,
    "queue_backend": "memory",
    "queue_replicas": 1,
    "queue_port": 8080,
    "queue_visibility_timeout": "5m",
    "queue_max_retries": 3,
    "queue_buffer_size": 1000,
    "queue_resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "500m"}},
    "redis_url": "",
    "redis_port": 6379,
    "redis_egress_to": [],
    "streamer_replicas": 2,
    "streamer_interval": "100ms",
    "streamer_csv_file": "/srv/dcgm.csv",
    "streamer_resources": {},
    "csv_stat": {"exists": True, "isreg": True, "size": 900},
    "collector_replicas": 3,
    "collector_batch_size": 1,
    "collector_max_concurrent_handlers": 10,
    "collector_resources": {},
    "collector_autoscaling": False,
    "collector_min_replicas": 3,
    "collector_max_replicas": 10,
    "collector_target_cpu_utilization": 70,
    "mongodb_uri": URI,
    "mongodb_port": 27017,
    "mongodb_egress_to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}],
    "tls_enabled": False,
    "tls_secret_name": "",
    "tls_ca_key": "ca.crt",
    "pdb_max_unavailable": 1,
    "dns_egress_to": [{"namespaceSelector": {}, "podSelector": {}}],
    "metrics_from": [],
}


def _with(**changes):
    inputs = copy.deepcopy(GOOD)
    inputs.update(changes)
    return inputs


def test_good_input_has_no_problems():
    assert problems(GOOD) == []


@pytest.mark.parametrize("value, nanos", [
    ("100ms", 100 * 10 ** 6), ("1m30s", 90 * 10 ** 9), ("1.5h", 5400 * 10 ** 9), ("250us", 250000), ("0s", 0),
])
def test_go_durations(value, nanos):
    assert duration_nanos(value) == nanos


@pytest.mark.parametrize("value", ["fast", "100", "ms", "10 s", "-1s", "", None, 100, "1h2x"])
def test_not_go_durations(value):
    assert duration_nanos(value) is None


@pytest.mark.parametrize("changes, fragment", [
    ({"streamer_replicas": -1}, "gpu_telemetry_streamer_replicas=-1 must be >= 0"),
    ({"streamer_interval": "fast"}, "gpu_telemetry_streamer_interval='fast' is not a duration"),
    ({"queue_replicas": 2}, "gpu_telemetry_queue_replicas=2 with gpu_telemetry_queue_backend='memory'"),
    ({"queue_replicas": 0}, "gpu_telemetry_queue_replicas=0 must be >= 1"),
    ({"queue_backend": "redis"}, "gpu_telemetry_redis_url is empty"),
    ({"queue_backend": "redis", "redis_url": "http://redis"}, "gpu_telemetry_redis_url does not start with redis:// or rediss://"),
    ({"mongodb_uri": ""}, "gpu_telemetry_mongodb_uri is empty"),
    ({"tls_enabled": True}, "gpu_telemetry_tls_secret_name is empty"),
    ({"tls_enabled": True, "tls_secret_name": "Bad_Name"}, "gpu_telemetry_tls_secret_name='Bad_Name' is not a Secret name"),
    ({"collector_batch_size": 0}, "gpu_telemetry_collector_batch_size=0 must be >= 1"),
    ({"csv_stat": {"exists": False}}, "does not exist on the controller"),
    ({"csv_stat": {"exists": True, "isreg": False}}, "is not a regular file"),
    ({"csv_stat": {"exists": True, "isreg": True, "size": 0}}, "is empty"),
    ({"csv_stat": {"exists": True, "isreg": True, "size": CSV_MAX_BYTES + 1}}, "more than a ConfigMap holds"),
    ({"csv_stat": {"exists": True, "isreg": True, "size": 900, "readable": False}}, "cannot be read by the user"),
    ({"node_selector": {"nvidia.com/gpu.present": "true,zone=a"}},
     "gpu_telemetry_node_selector['nvidia.com/gpu.present']='true,zone=a' is not a label value (selector syntax"),
    ({"node_selector": {"-bad-key": "x"}}, "gpu_telemetry_node_selector key='-bad-key'"),
    # What is not a CSV file never reaches the ConfigMap: a private key, a kubeconfig, a shadow file, a binary.
    ({"csv_stat": {"exists": True, "isreg": True, "size": 900, "head": b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl"}},
     "gpu_telemetry_streamer_csv_file='/srv/dcgm.csv' does not start with a CSV header line"),
    ({"csv_stat": {"exists": True, "isreg": True, "size": 900, "head": b"apiVersion: v1\nclusters:\n"}},
     "does not start with a CSV header line"),
    ({"csv_stat": {"exists": True, "isreg": True, "size": 900, "head": b"root:$6$salt,x:19000:0:99999:7:::\n"}},
     "does not start with a CSV header line"),
    ({"csv_stat": {"exists": True, "isreg": True, "size": 900, "head": b"\x7fELF\x02\x01\x01\x00\x00"}},
     "is not a text file"),
    ({"collector_autoscaling": True, "collector_min_replicas": 4, "collector_max_replicas": 2}, "is below"),
    ({"collector_autoscaling": True, "collector_target_cpu_utilization": 150}, "must be between 1 and 100"),
    ({"release_name": "a" * 41}, "is not a valid name"),
    ({"credentials_secret_name": "Bad_Name"}, "gpu_telemetry_credentials_secret_name='Bad_Name' is not an object name"),
    ({"queue_port": 70000}, "gpu_telemetry_queue_port=70000 must be between 1 and 65535"),
    ({"pdb_max_unavailable": "0%"}, "gpu_telemetry_pdb_max_unavailable='0%'"),
    ({"metrics_from": [{"ipBlock": {}, "ports": []}]}, "is not a NetworkPolicy peer"),
    ({"queue_resources": {"request": {}}}, "is not a resources block"),
    ({"streamer_replicas": True}, "is not a whole number"),
    # Hostile input: control characters, strings for numbers and booleans, signs, bad quantities.
    ({"namespace": "gpu-telemetry\n"}, "gpu_telemetry_namespace='gpu-telemetry\\n' is not a valid namespace name"),
    ({"release_name": "gpu-telemetry\t"}, "gpu_telemetry_release_name='gpu-telemetry\\t' is not a valid name"),
    ({"csv_configmap_name": "a..b"}, "gpu_telemetry_csv_configmap_name='a..b' is not an object name"),
    ({"queue_image": "queue:1.0\n"}, "gpu_telemetry_queue_image='queue:1.0\\n' is not an image reference"),
    ({"queue_image": "Queue:latest"}, "gpu_telemetry_queue_image='Queue:latest' is not an image reference"),
    # The seed's names: Docker Hub would resolve them, in a namespace anyone can register; 'latest' moves.
    ({"queue_image": "gpu-metrics-streamer/queueservice:latest"},
     "gpu_telemetry_queue_image='gpu-metrics-streamer/queueservice:latest' names no registry host: a container runtime "
     "pulls it from Docker Hub (docker.io/gpu-metrics-streamer/queueservice), a public namespace anyone can register; "
     "prefix the registry you pushed it to (a host with a '.' or a port, or localhost), e.g. "
     "'registry.example.com/gpu-metrics-streamer/queueservice:1.0'"),
    ({"streamer_image": "registry.example.com/gpu-metrics-streamer/streamer:latest"},
     "gpu_telemetry_streamer_image='registry.example.com/gpu-metrics-streamer/streamer:latest' is not pinned (the tag "
     "'latest')"),
    ({"collector_image": "registry.example.com/gpu-metrics-streamer/collector"},
     "is not pinned (no tag, which means 'latest'): the image it runs changes whenever someone pushes; name a version "
     "tag or a digest (@sha256:...), e.g. 'registry.example.com/gpu-metrics-streamer/collector:1.0'"),
    ({"collector_image": ""}, "gpu_telemetry_collector_image is not set; push the image"),
    ({"namespace_pod_security": "strict"},
     "gpu_telemetry_namespace_pod_security='strict' is not a Pod Security level; use one of privileged, baseline, "
     "restricted"),
    ({"run_as_user": 0}, "gpu_telemetry_run_as_user=0 must be between 1 and 2147483647 (0 is root, which Pod Security "
                         "'restricted' and runAsNonRoot refuse); use e.g. 65532"),
    ({"run_as_group": -1}, "gpu_telemetry_run_as_group=-1 must be between 0 and 2147483647"),
    ({"fs_group": "2e3"}, "gpu_telemetry_fs_group='2e3' is not a whole number"),
    ({"streamer_replicas": "1e3"}, "gpu_telemetry_streamer_replicas='1e3' is not a whole number"),
    ({"streamer_replicas": "+1"}, "gpu_telemetry_streamer_replicas='+1' is not a whole number"),
    ({"queue_port": "0x1f90"}, "gpu_telemetry_queue_port='0x1f90' is not a whole number"),
    ({"queue_max_retries": "-0"}, "gpu_telemetry_queue_max_retries='-0' is not a whole number"),
    ({"queue_port": 2 ** 63}, "gpu_telemetry_queue_port=9223372036854775808 must be between 1 and 65535"),
    ({"streamer_interval": "-100ms"}, "gpu_telemetry_streamer_interval='-100ms' is not a duration"),
    ({"streamer_interval": "100ms\n"}, "gpu_telemetry_streamer_interval='100ms\\n' is not a duration"),
    ({"tls_enabled": "maybe"}, "gpu_telemetry_tls_enabled='maybe' is not a boolean"),
    ({"collector_autoscaling": "sometimes"}, "gpu_telemetry_collector_autoscaling='sometimes' is not a boolean"),
    ({"queue_resources": {"requests": {"cpu": "-250m"}}}, "gpu_telemetry_queue_resources.requests.cpu='-250m'"),
    ({"queue_resources": {"limits": {"memory": "1GB"}}}, "no 'B' suffix"),
    ({"metrics_from": [{"podSelector": {"matchLabels": {"app": "prometheus,env in (prod)"}}}]},
     "gpu_telemetry_metrics_from[0].podSelector.matchLabels['app']='prometheus,env in (prod)' is not a label value"),
    ({"metrics_from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name\n": "x"}}}]},
     "is not a label key"),
    ({"mongodb_egress_to": [{"ipBlock": {"cidr": "10.0.0.0/8 except"}}]},
     "gpu_telemetry_mongodb_egress_to[0].ipBlock.cidr='10.0.0.0/8 except' is not an IP address or CIDR"),
    ({"pdb_max_unavailable": "25%\n"}, "gpu_telemetry_pdb_max_unavailable='25%\\n'"),
    ({"tls_enabled": True, "tls_secret_name": "tls", "tls_ca_key": "ca.crt\n"}, "gpu_telemetry_tls_ca_key='ca.crt\\n'"),
])
def test_each_problem_names_the_variable(changes, fragment):
    found = problems(_with(**changes))
    assert any(fragment in p for p in found), found


def test_redis_backend_allows_more_queue_replicas():
    assert problems(_with(queue_backend="redis", redis_url="rediss://:pw@redis:6379/0", queue_replicas=3)) == []


def test_percentage_budget_is_accepted():
    assert problems(_with(pdb_max_unavailable="25%")) == []


@pytest.mark.parametrize("changes", [
    {"mongodb_uri": "postgres://collector:pw-never-shown@db/x"},
    {"queue_backend": "redis", "redis_url": "http://:pw-never-shown@redis"},
])
def test_secrets_never_appear_in_a_message(changes):
    found = problems(_with(**changes))
    assert found and not any("pw-never-shown" in p for p in found)


def _workload(kind, name, desired, ready, generation=1, observed=1):
    component = name.rsplit("-", 1)[-1]
    return {"kind": kind, "metadata": {"name": name, "namespace": "ns", "generation": generation},
            "spec": {"replicas": desired, "selector": {"matchLabels": {"app.kubernetes.io/instance": "rel",
                                                                       "app.kubernetes.io/component": component}}},
            "status": {"readyReplicas": ready, "updatedReplicas": ready, "observedGeneration": observed}}


def _pod(name, component, node, ready=True, namespace="ns"):
    return {"metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/instance": "rel", "app.kubernetes.io/component": component}},
            "spec": {"nodeName": node} if node else {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


PODS = [_pod("rel-queue-0", "queue", "gpu-b"),
        _pod("rel-collector-1", "collector", "gpu-b"), _pod("rel-collector-2", "collector", "gpu-a"),
        _pod("rel-collector-3", "collector", "gpu-a"),
        _pod("rel-collector-4", "collector", "gpu-c", ready=False),  # not ready: not counted
        _pod("rel-collector-5", "collector", None, ready=False),  # not scheduled
        _pod("rel-collector-x", "collector", "gpu-d", namespace="other")]  # another namespace's


SETTINGS = {"namespace": "ns", "release_name": "rel", "queue_backend": "memory", "tls_enabled": False,
            "tls_secret_name": "", "network_policies": True, "check_mode": False}


def test_report_lists_the_workloads_queue_first():
    section = report_section(
        {"status": "deployed", "revision": "2", "chart": "gpu-telemetry-0.1.0"},
        [_workload("Deployment", "rel-streamer", 2, 2), _workload("Deployment", "rel-collector", 3, 1),
         _workload("StatefulSet", "rel-queue", 1, 1)],
        [{"metadata": {"name": "rel-collector"}, "spec": {"minReplicas": 3, "maxReplicas": 10,
                                                          "scaleTargetRef": {"name": "rel-collector"}},
          "status": {"desiredReplicas": 3, "currentReplicas": 3}}],
        SETTINGS,
        PODS,
    )
    release, workloads = section["tables"]
    assert release["rows"] == [["rel", "ns", "2", "gpu-telemetry-0.1.0", "deployed"]]
    assert workloads["columns"][-1] == "nodes"
    assert workloads["rows"] == [
        ["StatefulSet", "rel-queue", 1, 1, "ready", "gpu-b"],
        ["Deployment", "rel-collector", 3, 1, "rolling out", "gpu-a, gpu-b"],
        ["Deployment", "rel-streamer", 2, 2, "ready", "none"],
        ["HorizontalPodAutoscaler", "rel-collector", 3, 3, "3..10 replicas of rel-collector", "-"],
    ]
    assert [p["subject"] for p in section["problems"]] == ["Deployment/rel-collector"]
    assert "1 of 3 replicas ready" in section["problems"][0]["message"]


@pytest.mark.parametrize("selector, labels, selected", [
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
    ({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "1"}, False),
    ({}, {"a": "1"}, False),
    (None, {"a": "1"}, False),
])
def test_a_workloads_nodes_are_those_of_the_ready_pods_its_selector_selects(selector, labels, selected):
    pod = {"metadata": {"namespace": "ns", "labels": labels}, "spec": {"nodeName": "gpu-a"},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    workload = {"metadata": {"name": "w", "namespace": "ns"}, "spec": {"selector": selector}}
    assert workload_nodes(workload, [pod]) == (["gpu-a"] if selected else [])


def test_report_of_a_missing_release_is_an_error_except_in_check_mode():
    assert report_section({}, [], [], SETTINGS)["problems"][0]["severity"] == "error"
    assert report_section({}, [], [], dict(SETTINGS, check_mode=True))["problems"][0]["severity"] == "info"


def test_report_counts_an_old_generation_as_not_ready():
    rows = report_section({"status": "deployed"}, [_workload("Deployment", "d", 2, 2, generation=3, observed=2)],
                          [], SETTINGS)["tables"][1]["rows"]
    assert rows[0][4] == "rolling out"


def test_a_rollout_that_did_not_finish_says_what_it_waits_for():
    stale = _workload("Deployment", "rel-streamer", 4, 4, generation=3, observed=2)
    stale["status"].update(updatedReplicas=3, replicas=5)
    problems = report_section({"status": "deployed"}, [stale], [], SETTINGS)["problems"]
    message = [p["message"] for p in problems if p["subject"] == "Deployment/rel-streamer"][0]
    assert message == ("Deployment/rel-streamer has 4 of 4 replicas ready (rolling out: 3 of 4 updated; 5 pods, older "
                       "ones not gone yet; generation 3 not yet observed by its controller (at 2))")


def test_report_names_a_workload_of_the_release_that_is_missing():
    section = report_section({"status": "deployed"}, [_workload("StatefulSet", "rel-queue", 1, 1)], [], SETTINGS)
    assert [p["subject"] for p in section["problems"]] == ["Deployment/rel-streamer", "Deployment/rel-collector"]
    assert "does not exist" in section["problems"][0]["message"]


def test_values_diff_lists_the_changed_paths():
    before = {"streamer": {"replicas": 2, "image": "a"}, "queueOnly": True}
    after = {"streamer": {"replicas": 5, "image": "a"}, "queueOnly": False, "tls": {"enabled": True}}
    assert values_diff(before, after) == [
        "queueOnly: True -> False", "streamer.replicas: 2 -> 5", "tls: (unset) -> {'enabled': True}"]
    assert values_diff(after, after) == []


@pytest.mark.parametrize("changes", [
    {"tls_enabled": "no"}, {"tls_enabled": "False"}, {"collector_autoscaling": "off"}, {"streamer_replicas": "2"},
    {"queue_port": "8080"},
])
def test_strings_ansible_reads_as_booleans_and_digits_are_accepted(changes):
    assert problems(_with(**changes)) == []


def test_secret_url_with_a_newline_is_refused_without_showing_it():
    found = problems(_with(mongodb_uri="mongodb://u:pw-never-shown@db/x\n"))
    assert found and not any("pw-never-shown" in p for p in found)


@pytest.mark.parametrize("head", [
    b"timestamp,metric_name,gpu_id,device,uuid,modelName,Hostname,value\n2026-01-15T10:00:00Z,DCGM_FI_DEV_GPU_UTIL,0",
    b"\xef\xbb\xbftimestamp,metric_name,value\r\n",  # a byte-order mark and CRLF, as spreadsheets write it
    "gpu,temp \u00b0C".encode("utf-8"),  # units in a column's name
    '"timestamp","metric_name","value"'.encode("utf-8"),  # quoted names
    "gpu,temp \u00b0".encode("utf-8")[:-1],  # a character cut by the read's end
    None,  # not read
])
def test_a_csv_header_passes_and_the_content_is_never_quoted(head):
    assert gt_inputs.csv_head_problem("/srv/dcgm.csv", head) is None


def test_the_refusal_never_quotes_the_file():
    problem = gt_inputs.csv_head_problem("/srv/dcgm.csv", b"password=hunter2-s3cret\n")
    assert problem and "hunter2" not in problem


def test_the_chart_path_and_helm_binary_cannot_add_helm_arguments():
    found = problems(dict(GOOD, chart_ref="/charts/gpu-telemetry' --post-renderer '/bin/sh", helm_binary="-helm"))
    assert any("gpu_telemetry_chart_ref=\"/charts/gpu-telemetry' --post-renderer '/bin/sh\" is not one word" in p
               for p in found), found
    assert any("gpu_telemetry_helm_binary='-helm' is not one word" in p for p in found), found
    # kubernetes.core.helm quotes chart_ref: a collection installed under a path with a space works.
    assert problems(dict(GOOD, chart_ref="/home/me/My Collections/gpufleet/cluster/roles/gpu_telemetry/files/gpu-telemetry")) \
        == problems(GOOD)
