"""plugin_utils.tensor_fusion: profiles, input checks, chart values and objects (pure, no cluster)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import chart, objects, report, rollout
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import inputs as tf_inputs
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import values as tf_values

REPO = Path(__file__).resolve().parents[4]


def _upstream():
    for candidate in (os.environ.get("GPUFLEET_SHARED"), REPO.parent / "shared", "/work/shared"):
        if candidate and (Path(candidate) / "upstream" / "tensor-fusion" / "values.yaml").is_file():
            return Path(candidate) / "upstream" / "tensor-fusion"
    pytest.skip("no shared/upstream/tensor-fusion beside the checkout")
    return None


@pytest.fixture(scope="module")
def chart_defaults():
    with open(str(_upstream() / "values.yaml")) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def chart_schema():
    with open(str(_upstream() / "values.schema.json")) as handle:
        return yaml.safe_load(handle)


# The role's defaults/main.yml as the role passes them (null = the profile's).
with open(str(REPO / "roles" / "tensor_fusion" / "defaults" / "main.yml")) as _handle:
    _DEFAULTS = yaml.safe_load(_handle)
BASE = dict((k[len(chart.PREFIX):], v) for k, v in _DEFAULTS.items())
BASE.update(greptimedb_nfs_server="10.89.40.10")


def resolved(**overrides):
    inputs = copy.deepcopy(BASE)
    inputs.update(overrides)
    return tf_inputs.settings(inputs)


def test_both_profiles_are_accepted_as_they_are():
    assert tf_inputs.problems(resolved()) == []
    assert tf_inputs.problems(resolved(profile="production", alertmanager_storage_class="nfs-alertmanager")) == []


def test_variables_on_top_of_the_profile():
    s = resolved(profile="production", controller_replicas=3)
    assert s["controller_replicas"] == 3 and s["alertmanager_replicas"] == 3 and s["greptimedb_size"] == "50Gi"
    assert resolved()["greptimedb_size"] == "20Gi" and resolved()["alertmanager_mode"] == "emptydir"


@pytest.mark.parametrize("overrides, expected", [
    ({"profile": "prod"}, "tensor_fusion_profile='prod' is not a profile; use one of production, testing"),
    ({"gpu_pools": [{"name": "shared", "oversubscription": {"tflopsOversellRatio": 50}}]},
     "tensor_fusion_gpu_pools[0].oversubscription.tflopsOversellRatio=50 must be between 100 and 100000"),
    ({"gpu_pools": [{"name": "shared", "oversubscription": {"tflopsOversellRatio": 200000}}]},
     "tflopsOversellRatio=200000 must be between 100 and 100000"),
    ({"gpu_pools": [{"name": "shared", "oversubscription": {"vramExpandToHostMem": 120}}]},
     "vramExpandToHostMem=120 must be between 0 and 100"),
    ({"greptimedb_size": "5GB"}, "tensor_fusion_greptimedb_size='5GB' is not a Kubernetes quantity (Kubernetes has no "
                                 "'B' suffix: write '5Gi')"),
    # Hostile input: control characters, signs, overflow, strings for booleans, selectors in label values.
    ({"greptimedb_size": "-20Gi"}, "tensor_fusion_greptimedb_size='-20Gi' is not a Kubernetes quantity (a size or count "
                                   "takes no sign)"),
    ({"greptimedb_size": "20Gi\n"}, "tensor_fusion_greptimedb_size='20Gi\\n' is not a Kubernetes quantity"),
    ({"greptimedb_size": "99Ei"}, "tensor_fusion_greptimedb_size='99Ei' is above"),
    ({"greptimedb_storage_class": "a..b"}, "tensor_fusion_greptimedb_storage_class='a..b' is not a StorageClass name"),
    ({"controller_replicas": "+2"}, "tensor_fusion_controller_replicas='+2' is not a whole number"),
    ({"controller_replicas": True}, "tensor_fusion_controller_replicas=True is not a whole number"),
    ({"controller_auto_scale": "maybe"}, "tensor_fusion_controller_auto_scale='maybe' is not a boolean"),
    ({"controller_resources": {"limits": {"cpu": "-4"}}}, "tensor_fusion_controller_resources.limits.cpu='-4'"),
    ({"gpu_pools": [{"name": "shared", "capacity": {"maxResources": {"vram": "-100Gi"}}}]},
     "tensor_fusion_gpu_pools[0].capacity.maxResources.vram='-100Gi' is not a quantity"),
    ({"gpu_pools": [{"name": "shared", "node_selector": {"nvidia.com/gpu.present": "true,zone=a"}}]},
     "tensor_fusion_gpu_pools[0].node_selector['nvidia.com/gpu.present']='true,zone=a' is not a label value"),
    ({"gpu_pools": [{"name": "shared", "isDefault": "maybe"}]}, "tensor_fusion_gpu_pools[0].isDefault='maybe' is not a boolean"),
    ({"gpu_pools": [{"name": "shared\n"}]}, "tensor_fusion_gpu_pools[0] has no valid name ('shared\\n')"),
    ({"gpu_pools": [{"name": "shared", "rolling_update": {"batchInterval": "5m\n"}}]}, "batchInterval='5m\\n' is not a Go duration"),
    ({"gpu_pools": [{"name": "shared", "rolling_update": {"maintenanceWindow": {"includes": ["1 1 * * *\n"]}}}]},
     "includes[0]='1 1 * * *\\n' is not a cron string"),
    ({"metrics_ttl": "30d\n"}, "tensor_fusion_metrics_ttl='30d\\n' is not a retention"),
    ({"alertmanager_mode": "existing", "alertmanager_address": "am:9093\n"}, "tensor_fusion_alertmanager_address='am:9093\\n'"),
    ({"alertmanager_mode": "existing", "alertmanager_address": "am:99999"}, "tensor_fusion_alertmanager_address='am:99999'"),
    ({"alertmanager_mode": "persistent", "alertmanager_storage_class": "x", "alertmanager_size": ""},
     "tensor_fusion_alertmanager_size is empty but tensor_fusion_alertmanager_mode='persistent'"),
    ({"alert_rules": [{"name": "r", "query": "SELECT 1", "threshold": 0, "evaluationInterval": "1d", "consecutiveCount": 1,
                       "severity": "P1", "summary": "s", "alertTargetInstance": "x"}]},
     "tensor_fusion_alert_rules[0].evaluationInterval='1d' is not a Go duration"),
    ({"alert_rules": [{"name": "r", "threshold": 0, "evaluationInterval": "1m", "consecutiveCount": 1,
                       "severity": "P1", "summary": "s", "alertTargetInstance": "x"}]},
     "tensor_fusion_alert_rules[0] (r) has no query"),
    ({"gpu_pools": [{"name": "shared", "provisioning_mode": "karpenter"}]},
     "provisioning_mode='karpenter' is not one of AutoSelect, Provisioned, Karpenter (write 'Karpenter'"),
    ({"gpu_pools": [{"name": "shared", "rolling_update": {"maintenanceWindow": {"includes": ["1 1 * *"]}}}]},
     "maintenanceWindow.includes[0]='1 1 * *' is not a cron schedule of 5 fields"),
    ({"greptimedb_mode": "cloud", "greptimedb_password": "s3cret"}, "tensor_fusion_greptimedb_host is empty but "
                                                                    "tensor_fusion_greptimedb_mode='cloud'"),
    ({"chart_version": "1.8.7 --post-renderer /bin/sh"}, "tensor_fusion_chart_version='1.8.7 --post-renderer /bin/sh' "
                                                         "is not one word for helm's command line"),
    ({"profile": "production", "alertmanager_storage_class": "x", "log_level": "debug"},
     "tensor_fusion_log_level='debug' in the production profile"),
    ({"alertmanager_mode": "existing", "alertmanager_address": "alertmanager"}, "tensor_fusion_alertmanager_address="),
    ({"scheduler_plugin_config": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"requestedToCapacityRatio": {
        "shape": [{"utilization": 50, "score": 1}, {"utilization": 40, "score": 2}]}}}}]}, "ascending utilization"),
    ({"scheduler_plugin_config": [{"name": "GPUResourcesFit", "args": {"vramWeight": 0.7, "tflopsWeight": 0.7}}]},
     "they must add up to 1"),
    # The hostPath directory is checked as the node roles check theirs: traversal, system directories.
    ({"greptimedb_volume_type": "hostpath", "greptimedb_node": "gpu-ucsd-1", "greptimedb_host_path": "/data/../etc"},
     "tensor_fusion_greptimedb_host_path='/data/../etc' climbs with '..'"),
    ({"greptimedb_volume_type": "hostpath", "greptimedb_node": "gpu-ucsd-1", "greptimedb_host_path": "/var/lib/kubelet/x"},
     "tensor_fusion_greptimedb_host_path='/var/lib/kubelet/x' is inside the system directory '/var/lib/kubelet'"),
    ({"greptimedb_volume_type": "hostpath", "greptimedb_node": "gpu ucsd", "greptimedb_host_path": "/data/greptimedb"},
     "tensor_fusion_greptimedb_node='gpu ucsd' is not a node name"),
])
def test_bad_input_is_named_with_its_value_and_fix(overrides, expected):
    problems = tf_inputs.problems(resolved(**overrides))
    assert any(expected in p for p in problems), problems


CLOUD = {"greptimedb_mode": "cloud", "greptimedb_host": "db.us-west-2.aws.greptime.cloud", "greptimedb_port": 5001,
         "greptimedb_password": "s3cret", "greptimedb_user": "team-a"}


@pytest.mark.parametrize("overrides, expected", [
    # Written unescaped by the upstream chart into the controller's Deployment: a quote and a line
    # break would add a container of the caller's choosing.
    ({"greptimedb_db": 'public"\n        - name: x'}, "tensor_fusion_greptimedb_db='public\"\\n        - name: x' is not "
                                                      "a plain name"),
    ({"greptimedb_db": "a" * 65}, "is not a plain name"),
    ({"greptimedb_user": "u ser"}, "tensor_fusion_greptimedb_user='u ser' is not a plain name"),
    ({"greptimedb_user": "u}}"}, "e.g. 'my-user'"),
    ({"greptimedb_mode": "external", "greptimedb_port": 4001, "greptimedb_password": "",
      "greptimedb_db": "x;y"}, "tensor_fusion_greptimedb_db='x;y'"),
])
def test_greptime_names_the_chart_writes_unescaped_are_plain(overrides, expected):
    problems = tf_inputs.problems(resolved(**dict(CLOUD, **overrides)))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("password", ['pa"ss', "pa\\ss", "pa\nss", "pa\u2028ss"])
def test_a_password_the_chart_cannot_quote_is_refused_without_showing_it(password):
    settings = dict(CLOUD)
    settings["greptimedb_password"] = password
    problems = tf_inputs.problems(resolved(**settings))
    assert any("tensor_fusion_greptimedb_password holds a quote, a backslash or a control character" in p
               for p in problems), problems
    assert not any(password in p for p in problems)


@pytest.mark.parametrize("overrides", [{}, {"greptimedb_user": ""}, {"greptimedb_db": ""}, {"greptimedb_db": "gpu_metrics-2.a"},
                                       {"greptimedb_password": "p@ss w0rd!'#$%&*"}])
def test_plain_greptime_names_and_passwords_pass(overrides):
    assert tf_inputs.problems(resolved(**dict(CLOUD, **overrides))) == []


def test_the_password_never_appears_in_a_problem():
    problems = tf_inputs.problems(resolved(greptimedb_mode="cloud", greptimedb_password="s3cret", greptimedb_port=0))
    assert problems and not any("s3cret" in p for p in problems)


@pytest.mark.parametrize("chart_values, expected", [
    ({"cluster": {"enabled": True}}, "tensor_fusion_chart_values sets cluster.enabled, which the role keeps false: it "
                                     "applies the TensorFusionCluster itself (tensor_fusion_cluster_name); remove it"),
    ({"greptime": {"installStandalone": False}}, "tensor_fusion_chart_values sets greptime.installStandalone, which the "
                                                 "role sets from tensor_fusion_greptimedb_mode: set that instead"),
    ({"controller": {"replicaCount": 3}}, "sets controller.replicaCount, which the role sets from "
                                          "tensor_fusion_controller_replicas"),
    ({"alert": {"persistence": {"enabled": False}}}, "sets alert.persistence.enabled, which the role sets from "
                                                     "tensor_fusion_alertmanager_mode, tensor_fusion_alertmanager_size, "
                                                     "tensor_fusion_alertmanager_storage_class: set those instead"),
    ({"alert": None}, "sets alert, which the role sets from tensor_fusion_alertmanager_mode"),  # a whole block replaced
    ({"dynamicConfig": {"metricsTTL": "1d"}}, "sets dynamicConfig.metricsTTL, which the role sets from tensor_fusion_metrics_ttl"),
    ({"schedulerConfig": {"profiles": []}}, "sets schedulerConfig.profiles, which the role sets from "
                                            "tensor_fusion_scheduler_plugin_config"),
])
def test_chart_values_never_override_what_the_role_sets_from_its_variables(chart_values, expected):
    problems = tf_inputs.problems(resolved(chart_values=chart_values))
    assert any(expected in p for p in problems), problems


def test_chart_values_the_role_does_not_set_pass_and_a_secret_there_is_never_shown():
    assert tf_inputs.problems(resolved(chart_values={"controller": {"image": {"tag": "1.2.3"}, "nodeSelector": {"a": "b"}},
                                                     "greptime": {}, "agent": {"image": {"repository": "r"}}})) == []
    problems = tf_inputs.problems(resolved(chart_values={"greptime": {"password": "s3cret"}}))
    assert problems == ["tensor_fusion_chart_values sets greptime.password, which the role sets from "
                        "tensor_fusion_greptimedb_password: set that instead (the value given there is not shown)"]


def test_production_debug_allowed_when_asked():
    assert tf_inputs.problems(resolved(profile="production", alertmanager_storage_class="x", log_level="trace",
                                       allow_debug_log_level=True)) == []


def test_controller_command_keeps_every_default_flag(chart_defaults):
    default = chart_defaults["controller"]["command"]
    s = resolved(alertmanager_mode="existing", alertmanager_address="am.monitoring.svc.cluster.local:9093",
                 controller_extra_args=["-metrics-bind-address", ":9100", "-zap-log-level", "info"])
    command = tf_values.controller_command(default, s)
    flags = [t for t in default if t.startswith("-")]
    assert [t for t in command if t.startswith("-")][:len(flags)] == flags
    assert command[command.index("-metrics-bind-address") + 1] == ":9100"
    assert command[-4:] == ["-zap-log-level", "info", "-alert-manager-addr", "am.monitoring.svc.cluster.local:9093"]
    no_scale = tf_values.controller_command(default, resolved(controller_auto_scale=False,
                                                              controller_extra_args=["-enable-auto-scale"]))
    assert "-enable-auto-scale" not in no_scale
    assert [t for t in no_scale if t != "-enable-auto-scale"] == no_scale
    assert len(no_scale) == len(default) - 1


def test_existing_alertmanager_disables_the_chart_one(chart_defaults):
    values = tf_values.chart_values(resolved(alertmanager_mode="existing", alertmanager_address="am:9093"), chart_defaults)
    assert values["alert"] == {"enabled": False}
    assert "-enable-alert" in values["controller"]["command"]


def test_watchdog_receiver_route_and_rule_always_present(chart_defaults):
    values = tf_values.chart_values(resolved(alertmanager_config={"receivers": [{"name": "pager"}], "route": {"receiver": "pager"}}),
                                    chart_defaults)
    config = values["alert"]["alertManagerConfig"]
    assert [r["name"] for r in config["receivers"]] == ["pager", "watchdog"]
    assert config["route"]["routes"][0]["matchers"] == ['alertname="Watchdog"']
    assert config["templates"] == chart_defaults["alert"]["alertManagerConfig"]["templates"]
    twice = tf_values.alertmanager_config(config, {})
    assert twice == config
    names = [r["name"] for r in values["dynamicConfig"]["alertRules"]]
    assert names[:-1] == [r["name"] for r in chart_defaults["dynamicConfig"]["alertRules"]] and names[-1] == "Watchdog"


def test_user_rules_are_added_and_replace_builtins_of_the_same_name(chart_defaults):
    builtin = chart_defaults["dynamicConfig"]["alertRules"]
    mine = dict(builtin[0], threshold=5)
    new = {"name": "Mine", "query": "SELECT 1", "threshold": 0}
    rules = tf_values.alert_rules(builtin, [mine, new])
    assert rules[0]["threshold"] == 5 and rules[-2] == new and rules[-1]["name"] == "Watchdog"
    assert len(rules) == len(builtin) + 2


def test_scheduler_plugin_config_replaces_by_name(chart_defaults):
    default = chart_defaults["schedulerConfig"]
    entry = {"name": "GPUResourcesFit", "args": {"maxWorkerPerNode": 128, "vramWeight": 0.5, "tflopsWeight": 0.5}}
    config = tf_values.scheduler_config(default, [entry])
    plugins = config["profiles"][0]["pluginConfig"]
    assert plugins[0] == entry and plugins[1:] == default["profiles"][0]["pluginConfig"][1:]
    assert tf_values.scheduler_config(default, []) == default


def _exists(path, values, schema):
    node, spec = values, schema
    found_values = found_schema = True
    for key in path.split("."):
        if found_values and isinstance(node, dict) and key in node:
            node = node[key]
        else:
            found_values = False
        props = (spec or {}).get("properties", {}) if isinstance(spec, dict) else {}
        if found_schema and key in props:
            spec = props[key]
        else:
            found_schema = False
    return found_values or found_schema


@pytest.mark.parametrize("overrides", [
    {},
    {"profile": "production", "alertmanager_storage_class": "x"},
    {"greptimedb_mode": "cloud", "greptimedb_host": "h.greptime.cloud", "greptimedb_port": 5001, "greptimedb_user": "u",
     "greptimedb_password": "p", "alertmanager_mode": "existing", "alertmanager_address": "am:9093"},
], ids=["testing", "production", "cloud-existing-alertmanager"])
def test_every_key_the_role_sets_exists_in_the_real_chart(chart_defaults, chart_schema, overrides):
    values = tf_values.chart_values(resolved(**overrides), chart_defaults)
    # Below these the chart takes free-form data (AlertManager's config, the scheduler's, the rules).
    free = ("alert.alertManagerConfig", "schedulerConfig", "dynamicConfig.alertRules", "controller.resources",
            "alert.resources", "agent.resources", "controller.command")
    missing = [p for p in tf_values.value_paths(values) if not p.startswith(free) and not _exists(p, chart_defaults, chart_schema)]
    assert missing == []


def test_schema_only_keys_are_the_documented_ones(chart_defaults, chart_schema):
    values = tf_values.chart_values(resolved(profile="production", alertmanager_storage_class="x", greptimedb_mode="cloud",
                                             greptimedb_host="h", greptimedb_user="u", greptimedb_password="p"), chart_defaults)
    schema_only = [p for p in tf_values.value_paths(values) if _exists(p, {}, chart_schema)
                   and not _exists(p, chart_defaults, {})]
    assert sorted(schema_only) == ["alert.persistence.size", "alert.persistence.storageClass", "greptime.password",
                                   "greptime.user"]


def test_storage_objects_bind_the_claim_to_the_volume():
    sc, pv, pvc = objects.storage_objects(resolved())
    assert sc["provisioner"] == "kubernetes.io/no-provisioner" and sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert pv["spec"]["nfs"] == {"server": "10.89.40.10", "path": "/srv/nfs/greptimedb"}
    assert pv["spec"]["claimRef"]["name"] == pvc["metadata"]["name"] == "datanode-tensor-fusion-sys-greptimedb-standalone-0"
    assert pvc["metadata"]["namespace"] == "greptimedb" and pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert pvc["spec"]["storageClassName"] == pv["spec"]["storageClassName"] == sc["metadata"]["name"]
    hostpath = objects.storage_objects(resolved(greptimedb_volume_type="hostpath", greptimedb_node="gpu-ucsd-1"))[1]
    assert hostpath["spec"]["hostPath"]["path"] == "/data/greptimedb"
    assert objects.storage_objects(resolved(greptimedb_mode="external", greptimedb_host="db")) == []


def test_cluster_resource_uses_the_crd_field_names():
    tfc = objects.cluster_resource(resolved(profile="production", alertmanager_storage_class="x",
                                            computing_vendor={"name": "aws", "type": "aws", "enable": True}))
    pool = tfc["spec"]["gpuPools"][0]["specTemplate"]
    assert pool["capacityConfig"]["oversubscription"] == tf_inputs.CONSERVATIVE
    assert pool["nodeManagerConfig"]["nodePoolRollingUpdatePolicy"] == {
        "autoUpdateHypervisor": False, "autoUpdateWorker": False, "autoUpdateClient": False}
    assert tfc["spec"]["computingVendor"]["type"] == "aws"
    env = pool["componentConfig"]["hypervisor"]["podTemplate"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "TF_LOG_LEVEL", "value": "info"}]


def test_restart_only_when_the_files_changed():
    old, new = {"config.yaml": "a", "scheduler-config.yaml": "b"}, {"config.yaml": "c", "scheduler-config.yaml": "b"}
    assert objects.restart_needed(None, new, "") == ""          # a new release starts with the new files
    assert objects.restart_needed(old, old, "") == ""           # nothing changed
    stamp = objects.restart_needed(old, new, "")
    assert stamp == objects.config_hash(new)
    assert objects.restart_needed(new, new, stamp) == ""        # the re-run
    assert objects.restart_needed(new, new, "stale") == stamp   # an interrupted run is caught up
    assert objects.restart_needed(old, None, "") == ""


def test_report_section():
    claim = {"metadata": {"namespace": "greptimedb", "name": "c"}, "spec": {"volumeName": "v", "storageClassName": "s"},
             "status": {"phase": "Pending"}}
    section = report.report_section({"name": "tensor-fusion-sys", "status": "deployed", "revision": 1, "chart": "tensor-fusion-1.8.7"},
                                    [claim], [], {}, resolved(greptimedb_mode="cloud"), {"chart_cluster": "tensor-fusion"})
    severities = sorted(p["severity"] for p in section["problems"])
    assert severities == ["error", "warning", "warning"]
    assert section["tables"][1]["rows"] == [["greptimedb/c", "Pending", "v", "s", ""]]
    from ansible_collections.gpufleet.cluster.plugins.module_utils.validation_report import check_section
    assert check_section(section) == []


def test_go_durations_and_crons():
    assert tf_inputs.is_go_duration("1m30s") and tf_inputs.is_go_duration("24h") and not tf_inputs.is_go_duration("1d")
    assert tf_inputs.cron_problem("x", "1 1 * * *") is None and tf_inputs.cron_problem("x", "*/5 * * * 1-5") is None
    assert tf_inputs.cron_problem("x", "1 1 * *")


def _deployment(replicas=10, annotations=None):
    return {"spec": {"replicas": replicas, "template": {"metadata": {"annotations": annotations or {}}}}}


def test_rollout_plan_counts_percentages_and_rolls_back():
    items = [{"name": "a", "namespace": "n", "enabled_replicas": "30%"}, {"name": "b", "namespace": "n", "enabled_replicas": 3}]
    plan = rollout.rollout_plan([[_deployment()], _deployment(4)], items, "rollout")
    assert plan["problems"] == []
    meta = [p["spec"]["template"]["metadata"] for p in plan["patches"]]
    assert meta[0] == {"labels": {"tensor-fusion.ai/enabled": "true"}, "annotations": {"tensor-fusion.ai/enabled-replicas": "3"}}
    assert meta[1]["annotations"]["tensor-fusion.ai/enabled-replicas"] == "3"
    back = rollout.rollout_plan([_deployment(), _deployment(4)], items, "rollback")
    assert [p["spec"]["template"]["metadata"] for p in back["patches"]] == [
        {"labels": {"tensor-fusion.ai/enabled": "false"}, "annotations": {"tensor-fusion.ai/enabled-replicas": "0"}}] * 2
    assert "containers" not in str(plan["patches"])


def test_rollout_plan_refuses_missing_deployments_counts_and_requests_above_limits():
    items = [{"name": "gone", "namespace": "n"}, {"name": "a", "namespace": "n", "enabled_replicas": 11},
             {"name": "b", "namespace": "n", "enabled_replicas": 1,
              "annotations": {"tensor-fusion.ai/vram-request": "4Gi", "tensor-fusion.ai/vram-limit": "3Gi"}},
             {"name": "c", "namespace": "n", "enabled_replicas": "x"}]
    plan = rollout.rollout_plan([[], _deployment(), _deployment(2, {"tensor-fusion.ai/tflops-request": "100",
                                                                    "tensor-fusion.ai/tflops-limit": "200"}), _deployment()],
                                items, "rollout")
    assert plan["patches"] == []
    assert plan["problems"] == [
        "tensor_fusion_rollout[0]: Deployment n/gone does not exist; name an existing Deployment (kubectl get deploy -n n)",
        "tensor_fusion_rollout[1].enabled_replicas=11 is above the 10 replicas of Deployment n/a; use at most 10",
        "tensor_fusion_rollout[2]: tensor-fusion.ai/vram-request='4Gi' is above tensor-fusion.ai/vram-limit='3Gi' on "
        "Deployment n/b; a vram request must not exceed its limit",
        "tensor_fusion_rollout[3].enabled_replicas='x' is not a count or a percentage; use e.g. 3 or '30%'",
    ]
    assert rollout.quantity("3Gi") == 3 * 1024 ** 3 and rollout.quantity("100") == 100 and rollout.quantity("3GB") is None


def test_changed_paths_name_no_value():
    before = {"greptime": {"password": "a", "host": "h"}, "dynamicConfig": {"metricsTTL": "30d", "alertRules": [1]}}
    after = {"greptime": {"password": "b", "host": "h"}, "dynamicConfig": {"metricsTTL": "7d", "alertRules": [1]}, "x": 1}
    assert tf_values.changed_paths(before, after) == ["dynamicConfig.metricsTTL", "greptime.password", "x"]


@pytest.mark.parametrize("flag, expected", [("no", False), ("False", False), ("yes", True), (True, True), (False, False)])
def test_boolean_strings_are_read_as_ansible_reads_them(flag, expected):
    values = tf_values.chart_values(resolved(nvidia_operator_progressive_migration=flag,
                                             gpu_pools=[{"name": "a", "isDefault": flag, "auto_update": flag}]), {})
    assert values["controller"]["nvidiaOperatorProgressiveMigration"] is expected


@pytest.mark.parametrize("value", ["+3", "3\n", u"\uff13", "1e1", "0x3", "-1", "30%\n", u"\uff13\uff10%"])
def test_replica_counts_refuse_what_is_not_digits(value):
    assert rollout._replica_count(value, 10) is None
