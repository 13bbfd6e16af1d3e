"""Valid minimal input never crashes a cluster role.

Each list or dict variable of a role's argument spec is made empty, one at a time, and each
optional feature that is on by default is turned off, on top of a valid configuration; the
role runs in check mode against the control plane (nothing changes). The run converges, or
it refuses with the role's own message naming that variable; it never stops on an undefined
variable or a template error (`linstor_storage_classes: []` once did: "'__linstor_sc_changes'
is undefined"). The cases are read from meta/argument_specs.yml, so a variable added later is
covered without editing this file. Every case is its own inventory host in one ansible-playbook
run (tests/argspec_cases.run_cases): facts and registered results of one case cannot hide a
variable that another never defines, and Ansible starts once per role, not once per case.
"""

from __future__ import annotations

import os
import sys

import pytest
from kubernetes.client.rest import ApiException

from cluster_helpers import REPO, ansible_bin, stage_charts
from test_tensor_fusion import CLAIM as GREPTIME_CLAIM, GREPTIME_NS

sys.path.insert(0, str(REPO / "tests"))
from argspec_cases import case_problems, empty_cases, run_cases  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def charts(tmp_path_factory):
    return stage_charts(tmp_path_factory.mktemp("charts"), "piraeus", "tensor-fusion")


def _roles(cluster, charts, tmp_path_factory):
    helm = cluster.env["GPUFLEET_HELM"]
    csv = tmp_path_factory.mktemp("csv") / "dcgm.csv"
    csv.write_text("timestamp,gpu_id,metric,value\n1,0,DCGM_FI_DEV_GPU_UTIL,5\n")
    return {
        "linstor": {
            "linstor_chart_ref": str(charts / "piraeus"), "linstor_helm_binary": helm,
            "linstor_namespace": "t-empty-linstor", "linstor_release_name": "t-empty-piraeus",
            "linstor_storage_nodes": ["gpu-ucsd-1"],
            # Pools of their own: the other tests' satellite configuration is not this one's to change.
            "linstor_satellite_configuration_name": "t-empty-pools",
            "linstor_storage_pools": [{"name": "t-empty-pool", "fileThinPool": {"directory": "/raid/linstor-pools/x"}}],
            "linstor_storage_classes": [{"name": "t-empty-class", "storage_pool": "t-empty-pool"}],
            "linstor_pvcs": [{"name": "t-empty-claim", "namespace": "t-empty-claims", "storage_class": "t-empty-class",
                              "size": "1Gi"}], "linstor_create_claim_namespaces": True,
            "linstor_verify_placement": False},
        "tensor_fusion": {
            "tensor_fusion_enabled": True, "tensor_fusion_chart_ref": str(charts / "tensor-fusion"),
            "tensor_fusion_helm_binary": helm, "tensor_fusion_greptimedb_nfs_server": "10.89.40.10",
            "tensor_fusion_greptimedb_volume_name": "t-empty-greptimedb",
            "tensor_fusion_greptimedb_storage_class": "t-empty-greptimedb", "tensor_fusion_cluster_name": "t-empty",
            "tensor_fusion_wait_timeout": 10},
        "gpu_telemetry": {
            "gpu_telemetry_enabled": True, "gpu_telemetry_namespace": "t-empty-telemetry",
            "gpu_telemetry_release_name": "t-empty-telemetry", "gpu_telemetry_helm_binary": helm,
            "gpu_telemetry_streamer_csv_file": str(csv), "gpu_telemetry_mongodb_uri": "mongodb://db.invalid:27017/t",
            "gpu_telemetry_queue_image": "localhost/gpu-metrics-streamer/queueservice:0.1.0",
            "gpu_telemetry_streamer_image": "localhost/gpu-metrics-streamer/streamer:0.1.0",
            "gpu_telemetry_collector_image": "localhost/gpu-metrics-streamer/collector:0.1.0",
            "gpu_telemetry_wait_timeout": 10},
    }


def _on_existing_greptimedb(cluster, base):
    """The base with the volume, class and source of GreptimeDB's claim when it exists already.

    Its name is fixed (the chart's StatefulSet) and what it is bound to cannot change, so the
    cases (check mode) take what a lab converge or an earlier test left; otherwise every case
    would be refused for that, not for its own variable.
    """
    try:
        claim = cluster.core.read_namespaced_persistent_volume_claim(GREPTIME_CLAIM, GREPTIME_NS)
    except ApiException as exc:
        if exc.status == 404:
            return base
        raise
    adopted = dict(base, tensor_fusion_greptimedb_storage_class=claim.spec.storage_class_name)
    if not claim.spec.volume_name:
        return adopted
    adopted["tensor_fusion_greptimedb_volume_name"] = claim.spec.volume_name
    try:
        volume = cluster.core.read_persistent_volume(claim.spec.volume_name)
    except ApiException as exc:
        if exc.status == 404:
            return adopted
        raise
    if volume.spec.nfs:
        adopted.update(tensor_fusion_greptimedb_volume_type="nfs", tensor_fusion_greptimedb_nfs_server=volume.spec.nfs.server,
                       tensor_fusion_greptimedb_nfs_path=volume.spec.nfs.path)
    elif volume.spec.host_path:
        node = volume.spec.node_affinity.required.node_selector_terms[0].match_expressions[0].values[0]
        adopted.update(tensor_fusion_greptimedb_volume_type="hostpath",
                       tensor_fusion_greptimedb_host_path=volume.spec.host_path.path, tensor_fusion_greptimedb_node=node)
    return adopted


# model_storage: tests/integration/test_model_storage.py (it needs its model hosts); the
# validation roles: tests/module/test_empty_inputs.py; the node roles: tests/roles. migrate_pvc
# has no list, dict or default-on variable whose default is not empty already.
@pytest.mark.parametrize("role", ["linstor", "tensor_fusion", "gpu_telemetry"])
def test_each_variable_empty_converges_or_is_refused_by_name(cluster, charts, tmp_path_factory, role):
    base = _roles(cluster, charts, tmp_path_factory)[role]
    if role == "tensor_fusion":
        base = _on_existing_greptimedb(cluster, base)
    cases = empty_cases(role)
    assert cases, role
    results = run_cases(ansible_bin("ansible-playbook"), {**os.environ, **cluster.env}, role, base, cases,
                        tmp_path_factory.mktemp("cases-" + role))
    print("%s: %d cases (%s)" % (role, len(results), ", ".join(
        "%s=%s" % (v, "refused" if failed else "ok") for v, _x, failed, _m in results)))
    bad = case_problems(results)
    assert not bad, "\n\n".join(bad)
