"""plugin_utils.gpu_telemetry.plan: every decision of the gpu_telemetry role from its inputs (the
role's own defaults) and the objects read (pure, no cluster, no mocks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import hashlib
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import role_plan
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.gpu_telemetry import plan

REPO = Path(__file__).resolve().parents[4]
with open(str(REPO / "roles" / "gpu_telemetry" / "defaults" / "main.yml")) as _handle:
    _DEFAULTS = yaml.safe_load(_handle)
URI = "mongodb://collector:pw-n3ver-shown@mongo:27017/telemetry"
# As Ansible templates them: the defaults that name the release.
INPUTS = dict((k, v.replace("{{ gpu_telemetry_release_name }}", _DEFAULTS["gpu_telemetry_release_name"])
               .replace("{{ role_path }}", str(REPO / "roles" / "gpu_telemetry"))
               if isinstance(v, str) else v) for k, v in role_plan.unprefixed("gpu_telemetry", _DEFAULTS).items())
# The two secrets and the images have no default: the operator names them.
IMAGES = {"queue_image": "registry.example.com/gpu-metrics-streamer/queueservice:1.0",
          "streamer_image": "registry.example.com/gpu-metrics-streamer/streamer:1.0",
          "collector_image": "registry.example.com/gpu-metrics-streamer/collector:1.0"}
INPUTS.update(mongodb_uri=URI, streamer_csv_file="/srv/dcgm.csv", **IMAGES)
CSV_OK = {"csv_stat": {"exists": True, "isreg": True, "size": 900}}
NOTHING = {"namespace": [], "release": None, "tls_secret": []}


def inputs(**overrides):
    result = copy.deepcopy(INPUTS)
    result.update(overrides)
    return result


def test_the_role_spec_and_its_defaults_name_the_same_variables():
    assert set(role_plan.role_options("gpu_telemetry")) == set(_DEFAULTS)


def test_the_role_defaults_pass_and_a_bad_variable_stops_the_plan():
    assert plan.plan(inputs(), dict(CSV_OK)) == {"problems": []}
    result = plan.plan(inputs(queue_replicas="+2"), dict(CSV_OK, **NOTHING))
    assert result["problems"] and "gpu_telemetry_queue_replicas='+2'" in result["problems"][0]
    assert set(result) == {"problems"}


def test_the_images_have_no_default_and_the_preflight_names_each_one():
    unset = dict((name, _DEFAULTS["gpu_telemetry_" + name]) for name in IMAGES)
    assert set(unset.values()) == {""}
    found = plan.plan(inputs(**unset), dict(CSV_OK))["problems"]
    assert found == ["gpu_telemetry_%s is not set; push the image to a registry your nodes pull from and name it with its "
                     "registry host and a version tag or digest, e.g. 'registry.example.com/gpu-metrics-streamer/%s:1.0'"
                     % (name, seed) for name, seed in (("queue_image", "queueservice"), ("streamer_image", "streamer"),
                                                       ("collector_image", "collector"))]


def test_the_namespace_carries_the_pod_security_labels_in_the_install_and_the_dry_run():
    observed = dict(NOTHING, secret_version="", csv_checksum="x", manifest="", namespace=[])
    result = plan.plan(inputs(namespace_pod_security="baseline"), observed)
    labels = result["namespace_object"]["metadata"]["labels"]
    assert result["namespace_object"]["metadata"]["name"] == "gpu-telemetry"
    assert labels == {"pod-security.kubernetes.io/%s%s" % (mode, suffix): "latest" if suffix else "baseline"
                      for mode in ("enforce", "audit", "warn") for suffix in ("", "-version")}
    # The namespace does not exist yet: the dry run takes it, labels and all (its Secret waits for it).
    assert result["dry_run_objects"] == [result["namespace_object"]]
    assert plan.plan(inputs(), dict(NOTHING))["namespace_object"]["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_chart_values_name_the_pods_user_group_and_volume_group():
    values = plan.plan(inputs(run_as_user="1001", run_as_group=0, fs_group=2000),
                       dict(NOTHING, secret_version="", csv_checksum="x"))["chart_values"]
    assert values["podSecurity"] == {"runAsUser": 1001, "runAsGroup": 0, "fsGroup": 2000, "tmpSizeLimit": "64Mi"}
    assert values["queue"]["image"] == IMAGES["queue_image"]


def test_without_the_csv_stat_the_inputs_are_not_judged_again():
    # The later steps (values, report) come after the preflight refused what was wrong.
    assert plan.plan(inputs(queue_replicas="+2"), {})["problems"] == []


@pytest.mark.parametrize("overrides, observed, expected", [
    ({"create_namespace": False}, {}, "gpu_telemetry_namespace=gpu-telemetry does not exist and "
                                      "gpu_telemetry_create_namespace is false"),
    ({"tls_enabled": True, "tls_secret_name": "queue-tls"}, {},
     "gpu_telemetry_tls_secret_name=queue-tls: no such Secret in namespace gpu-telemetry"),
    ({"tls_enabled": "yes", "tls_secret_name": "queue-tls"}, {"tls_secret": [{"data": {"tls.crt": "x", "tls.key": "y"}}]},
     "gpu_telemetry_tls_secret_name=queue-tls: the Secret lacks ca.crt"),
])
def test_what_the_cluster_lacks_is_refused_before_anything_changes(overrides, observed, expected):
    result = plan.plan(inputs(**overrides), dict(NOTHING, **observed))
    assert len(result["problems"]) == 1 and expected in result["problems"][0], result["problems"]


def test_an_existing_namespace_and_a_complete_tls_secret_pass():
    observed = dict(NOTHING, namespace=[{"metadata": {"name": "gpu-telemetry"}}],
                    tls_secret=[{"data": {"tls.crt": "x", "tls.key": "y", "ca.crt": "z"}}])
    assert plan.plan(inputs(create_namespace=False, tls_enabled=True, tls_secret_name="t"), observed)["problems"] == []


@pytest.mark.parametrize("release, first", [
    (None, True), ({"status": "deployed", "release_values": {"queueOnly": True}}, True),
    ({"status": "deployed", "release_values": {"queueOnly": False}}, False)])
def test_the_queue_goes_first_on_a_fresh_or_half_done_install(release, first):
    assert plan.plan(inputs(), dict(NOTHING, release=release))["queue_first"] is first


def test_the_secret_holds_the_urls_base64_and_redis_only_with_its_backend():
    secret = plan.plan(inputs(), dict(NOTHING))["credentials_secret"]
    assert secret["kind"] == "Secret" and secret["metadata"]["namespace"] == "gpu-telemetry"
    data = secret["data"]
    assert data == {"MONGODB_URI": base64.b64encode(URI.encode()).decode()}
    redis = plan.plan(inputs(queue_backend="redis", redis_url="redis://r:6379/0"), dict(NOTHING))["credentials_secret"]["data"]
    assert base64.b64decode(redis["REDIS_URL"]).decode() == "redis://r:6379/0"


def test_the_chart_values_are_typed_and_name_no_secret():
    checksum = hashlib.sha256(b"a,b\n").hexdigest()
    overrides = dict(queue_replicas="1", collector_autoscaling="true", pdb_max_unavailable="2", streamer_loop_mode="no")
    result = plan.plan(inputs(**overrides), {"release": None, "secret_version": "123", "csv_checksum": checksum})
    values = result["chart_values"]
    assert values["queueOnly"] is False and result["chart_values_queue_only"]["queueOnly"] is True
    assert values["queue"]["replicas"] == 1 and values["collector"]["autoscaling"]["enabled"] is True
    assert values["podDisruptionBudget"]["maxUnavailable"] == 2 and values["streamer"]["loopMode"] is False
    assert values["credentials"]["version"] == "123" and values["streamer"]["csvChecksum"] == checksum
    assert values["streamer"]["csvKey"] == "dcgm_metrics.csv"
    assert URI not in repr(values) and "pw-n3ver-shown" not in repr(result)
    percent = plan.plan(inputs(pdb_max_unavailable="25%"), {"release": None, "secret_version": "", "csv_checksum": ""})
    assert percent["chart_values"]["podDisruptionBudget"]["maxUnavailable"] == "25%"


def test_the_values_that_change_are_listed_against_the_release():
    observed = {"release": {"release_values": {"queue": {"replicas": 1}}}, "secret_version": "", "csv_checksum": "c"}
    changed = plan.plan(inputs(), observed)["changed_values"]
    assert "queue.replicas: 1 -> 1" not in changed and any(line.startswith("queue.image: (unset) -> ") for line in changed)


def test_the_report_section_reads_the_release_without_its_values():
    observed = {"release_after": {"status": "deployed", "revision": 3, "chart": "gpu-telemetry-0.1.0",
                                  "values": {"x": "y"}}, "workloads": [], "autoscalers": [], "pods": []}
    section = plan.plan(inputs(), observed, check_mode=False)["report_section"]
    assert section["tables"][0]["rows"][0][2] == 3 and "'x'" not in repr(section)
    assert {p["subject"] for p in section["problems"]} == {
        "StatefulSet/gpu-telemetry-queue", "Deployment/gpu-telemetry-streamer", "Deployment/gpu-telemetry-collector"}


RENDERED = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: gpu-telemetry-queue}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: gpu-telemetry}
"""


def test_a_first_install_dry_runs_the_namespace_and_says_what_waits_for_it():
    result = plan.plan(inputs(), {"manifest": RENDERED, "namespace": []})
    assert [dry_run_label(o) for o in result["dry_run_objects"]] == ["Namespace/gpu-telemetry"]
    assert [e["object"] for e in result["dry_run_left_out"]] == [
        "Secret/gpu-telemetry/gpu-telemetry-credentials", "StatefulSet/gpu-telemetry/gpu-telemetry-queue",
        "ServiceMonitor/gpu-telemetry"]


def test_an_existing_namespace_dry_runs_the_secret_and_the_render():
    result = plan.plan(inputs(create_namespace=False), {"manifest": RENDERED, "namespace": [{"metadata": {}}]})
    assert [dry_run_label(o) for o in result["dry_run_objects"]] == [
        "Secret/gpu-telemetry/gpu-telemetry-credentials", "StatefulSet/gpu-telemetry/gpu-telemetry-queue"]
    assert [e["object"] for e in result["dry_run_left_out"]] == ["ServiceMonitor/gpu-telemetry"]


def test_a_refused_dry_run_is_a_problem_without_the_uri_plain_or_encoded():
    encoded = base64.b64encode(URI.encode()).decode()
    msg = 'Secret "c" is invalid: data[MONGODB_URI]: %s and %s' % (URI, encoded)
    result = plan.plan(inputs(), {"dry_run": {"failed": True, "msg": msg}})
    assert len(result["problems"]) == 1 and 'Secret "c" is invalid' in result["problems"][0]
    assert URI not in result["problems"][0] and encoded not in result["problems"][0]


def dry_run_label(obj):
    from ansible_collections.gpufleet.cluster.plugins.plugin_utils import dry_run
    return dry_run.label(obj)


def test_observed_names_are_the_steps_names():
    assert set(plan.OBSERVED) == set(plan.INPUTS + plan.CLUSTER + plan.VALUES + plan.REPORT + plan.RENDER + plan.DRY_RUN)
