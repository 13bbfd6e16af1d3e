"""The tensor_fusion role refuses bad input before it changes anything, naming variable, value and fix.

problems() reports every problem at once, so one run checks several bad inputs: each group below
is one ansible-playbook run (the cases of a group do not exclude one another).
"""

from __future__ import annotations

import pytest
from kubernetes.client.rest import ApiException

from cluster_helpers import assert_nothing_changed, cluster_objects, play, settled_objects, stage_charts
from test_tensor_fusion import PLAYBOOK

pytestmark = pytest.mark.cluster

SC = "t-tf-bad-input-class"
GOOD = {
    "tensor_fusion_enabled": True,
    "tensor_fusion_chart_ref": "/nonexistent/chart/never/reached",
    "tensor_fusion_greptimedb_nfs_server": "10.89.40.10",
    "tensor_fusion_greptimedb_storage_class": SC,
    "tensor_fusion_greptimedb_volume_name": "t-tf-bad-input-pv",
}
RULE = {"name": "r", "query": "SELECT 1", "threshold": 0, "evaluationInterval": "15s", "consecutiveCount": 1,
        "severity": "P1", "summary": "s", "alertTargetInstance": "x"}

GROUPS = {
    "pools-sizes-rules": ({
        "tensor_fusion_gpu_pools": [
            {"name": "low", "oversubscription": {"tflopsOversellRatio": 50, "vramExpandToHostMem": 120}},
            {"name": "high", "oversubscription": {"tflopsOversellRatio": 200000}, "provisioning_mode": "karpenter",
             "rolling_update": {"maintenanceWindow": {"includes": ["1 1 * *"]}}},
        ],
        "tensor_fusion_greptimedb_size": "5GB",
        "tensor_fusion_alert_rules": [dict(RULE, evaluationInterval="1d"), {k: v for k, v in RULE.items() if k != "query"}],
    }, [
        "tensor_fusion_gpu_pools[0].oversubscription.tflopsOversellRatio=50 must be between 100 and 100000 (the CRD's bounds); "
        "use e.g. 300",
        "tensor_fusion_gpu_pools[0].oversubscription.vramExpandToHostMem=120 must be between 0 and 100 (the CRD's bounds); "
        "use e.g. 40",
        "tensor_fusion_gpu_pools[1].oversubscription.tflopsOversellRatio=200000 must be between 100 and 100000",
        "tensor_fusion_gpu_pools[1].provisioning_mode='karpenter' is not one of AutoSelect, Provisioned, Karpenter "
        "(write 'Karpenter': the CRD's enum is case-sensitive)",
        "tensor_fusion_gpu_pools[1].rolling_update.maintenanceWindow.includes[0]='1 1 * *' is not a cron schedule of 5 fields",
        "tensor_fusion_greptimedb_size='5GB' is not a Kubernetes quantity (Kubernetes has no 'B' suffix: write '5Gi')",
        "tensor_fusion_alert_rules[0].evaluationInterval='1d' is not a Go duration (the rule evaluator aborts on it); "
        "use h, m, s units such as '24h' or '15s'",
        "tensor_fusion_alert_rules[1] (r) has no query",
    ]),
    "alertmanager-persistence-and-production-log-level": ({
        "tensor_fusion_profile": "production",
        "tensor_fusion_alertmanager_size": "",
        "tensor_fusion_log_level": "debug",
        "tensor_fusion_scheduler_plugin_config": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {
            "requestedToCapacityRatio": {"shape": [{"utilization": 75, "score": 9}, {"utilization": 50, "score": 10}]}}}}],
    }, [
        "tensor_fusion_alertmanager_size is empty but tensor_fusion_alertmanager_mode='persistent': the chart's claim has "
        "no default size; set e.g. '5Gi'",
        "tensor_fusion_alertmanager_storage_class is empty but tensor_fusion_alertmanager_mode='persistent'",
        "tensor_fusion_log_level='debug' in the production profile",
        "requestedToCapacityRatio.shape[1].utilization=50 is not above the previous point's 75",
    ]),
    # With a database name that would add a container to the controller's Deployment (the upstream
    # chart writes it unescaped into a double-quoted YAML string).
    "cloud-without-host": ({
        "tensor_fusion_greptimedb_mode": "cloud",
        "tensor_fusion_greptimedb_password": "t-tf-n0t-a-real-secret",
        "tensor_fusion_greptimedb_db": 'public"\n        - name: pwn\n          image: "evil:1',
        "tensor_fusion_alertmanager_mode": "existing",
        "tensor_fusion_alertmanager_address": "alertmanager",
    }, [
        "tensor_fusion_greptimedb_host is empty but tensor_fusion_greptimedb_mode='cloud'; give the GreptimeDB host",
        "tensor_fusion_alertmanager_address='alertmanager' is not host:port",
        "is not a plain name (letters, digits, '_', '.', '-'; up to 64): the upstream chart writes it unescaped",
    ]),
    "external-greptimedb-not-answering": ({
        "tensor_fusion_greptimedb_mode": "external",
        "tensor_fusion_greptimedb_host": "127.0.0.1",
        "tensor_fusion_greptimedb_port": 9,
        "tensor_fusion_greptimedb_check_timeout": 1,
    }, [
        "tensor_fusion_greptimedb_host=127.0.0.1 does not answer on tensor_fusion_greptimedb_port=9 within 1 s",
        "set tensor_fusion_greptimedb_check: false",
    ]),
    # Hostile values, one per class: a control character, a string for a boolean, signed numbers and
    # quantities, selector syntax inside a label value.
    "hostile-values": ({
        "tensor_fusion_greptimedb_size": "-20Gi",
        "tensor_fusion_controller_replicas": "+2",
        "tensor_fusion_metrics_ttl": "30d\n",
        "tensor_fusion_gpu_pools": [{"name": "shared", "isDefault": "maybe",
                                     "node_selector": {"nvidia.com/gpu.present": "true,zone=a"}}],
    }, [
        "tensor_fusion_greptimedb_size='-20Gi' is not a Kubernetes quantity (a size or count takes no sign)",
        "tensor_fusion_controller_replicas='+2' is not a whole number",
        "tensor_fusion_metrics_ttl='30d",
        "is not a retention",
        "tensor_fusion_gpu_pools[0].isDefault='maybe' is not a boolean",
        "tensor_fusion_gpu_pools[0].node_selector['nvidia.com/gpu.present']='true,zone=a' is not a label value",
    ]),
    # Generic chart values that would override what the role sets from its own variables (and a
    # password given there, never shown even at -vvv).
    "chart-values-overriding-the-role": ({
        "tensor_fusion_chart_values": {"cluster": {"enabled": True}, "greptime": {"password": "t-tf-n0t-a-real-secret"},
                                       "controller": {"replicaCount": 3, "image": {"tag": "1.2.3"}}},
    }, [
        "tensor_fusion_chart_values sets cluster.enabled, which the role keeps false: it applies the TensorFusionCluster "
        "itself (tensor_fusion_cluster_name); remove it",
        "tensor_fusion_chart_values sets greptime.password, which the role sets from tensor_fusion_greptimedb_password: "
        "set that instead",
        "tensor_fusion_chart_values sets controller.replicaCount, which the role sets from "
        "tensor_fusion_controller_replicas: set that instead",
    ]),
    # Credentials the chart 1.8.7 renders where the built-in 'view' role reads them (a ConfigMap, the
    # controller's pod spec), not accepted by name; and an acceptance naming what holds none.
    "credentials-outside-secrets": ({
        "tensor_fusion_alertmanager_config": {
            "global": {"smtp_auth_password": "t-tf-n0t-a-real-secret"},
            "receivers": [{"name": "hook", "webhook_configs": [{"url": "https://hooks.example.com/t-tf-n0t-a-real-secret"}]}],
            "route": {"receiver": "hook"}},
        "tensor_fusion_chart_values": {"agent": {"enrollToken": "t-tf-n0t-a-real-secret"}},
        "tensor_fusion_credentials_outside_secrets": ["greptime.password"],
    }, [
        "tensor_fusion_chart_values (chart value agent.enrollToken) would put a credential (agent.enrollToken; the value "
        "is not shown) in the env of the controller Deployment's cluster-agent container (its pod spec)",
        "tensor_fusion_alertmanager_config (chart value alert.alertManagerConfig) would put a credential "
        "(alert.alertManagerConfig.global.smtp_auth_password, alert.alertManagerConfig.receivers[0].webhook_configs[0].url; "
        "the value is not shown) in the ConfigMap tensor-fusion-sys-alert-manager-config",
        "(tensor_fusion_alertmanager_mode: existing with tensor_fusion_alertmanager_address), or add "
        "'alert.alertManagerConfig' to tensor_fusion_credentials_outside_secrets to accept it",
        "tensor_fusion_credentials_outside_secrets names 'greptime.password', but no credential would be rendered there",
    ]),
    "unknown-profile": ({"tensor_fusion_profile": "prod"}, [
        "tensor_fusion_profile", "prod", "testing, production",
    ]),
    # Traversal and a system directory for the hostPath volume GreptimeDB writes as root.
    "hostpath-traversal": ({
        "tensor_fusion_greptimedb_volume_type": "hostpath",
        "tensor_fusion_greptimedb_host_path": "/data/../etc",
        "tensor_fusion_greptimedb_node": "gpu-ucsd-1",
    }, [
        "tensor_fusion_greptimedb_host_path='/data/../etc' climbs with '..'",
    ]),
}
# What the role touches: its release's namespace, GreptimeDB's, and the cluster-scoped objects.
TOUCHED = ("tensor-fusion-sys", "greptimedb")


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_bad_input_is_refused_before_anything_changes(cluster, group):
    variables, expected = GROUPS[group]
    before = settled_objects(cluster, TOUCHED)
    run = play(cluster, {**GOOD, **variables}, playbook=PLAYBOOK, args=("-vvv",))
    assert run.rc != 0
    for message in expected:
        assert message in run.out, (message, run.out[-3000:])
    assert run.changed == 0
    assert_nothing_changed(before, cluster_objects(cluster, TOUCHED))
    assert "t-tf-n0t-a-real-secret" not in run.out
    with pytest.raises(ApiException) as err:
        cluster.storage.read_storage_class(SC)
    assert err.value.status == 404


def test_a_hostpath_volume_on_a_node_that_does_not_exist_is_refused_before_anything_changes(cluster, tmp_path):
    """A reference to a node that does not exist (read from the API, so the real chart is needed to
    get there): a typo is an error, never a volume no pod can ever use."""
    chart = stage_charts(tmp_path, "tensor-fusion") / "tensor-fusion"
    variables = {**GOOD, "tensor_fusion_chart_ref": str(chart), "tensor_fusion_helm_binary": cluster.env["GPUFLEET_HELM"],
                 "tensor_fusion_greptimedb_volume_type": "hostpath", "tensor_fusion_greptimedb_host_path": "/data/greptimedb",
                 "tensor_fusion_greptimedb_node": "gpu-ucsd-9"}
    before = settled_objects(cluster, TOUCHED)
    run = play(cluster, variables, playbook=PLAYBOOK)
    assert run.rc != 0
    assert "tensor_fusion_greptimedb_node='gpu-ucsd-9' is not a node of this cluster" in run.out, run.out[-3000:]
    assert run.changed == 0
    assert_nothing_changed(before, cluster_objects(cluster, TOUCHED))
