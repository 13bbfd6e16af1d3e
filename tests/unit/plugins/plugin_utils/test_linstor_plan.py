"""plugin_utils.linstor: every decision of the linstor role, step by step, from its inputs (the role's
own defaults) and what it read (pure, no cluster, no mocks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import role_plan
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.linstor import inputs as li_inputs
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.linstor import objects, plan

REPO = Path(__file__).resolve().parents[4]
with open(str(REPO / "roles" / "linstor" / "defaults" / "main.yml")) as _handle:
    _DEFAULTS = yaml.safe_load(_handle)
# As Ansible templates the storage nodes for an inventory with two GPU hosts.
INPUTS = dict(role_plan.unprefixed("linstor", _DEFAULTS), storage_nodes=["gpu-b", "gpu-a"])


# A benchmark image as the preflight takes it: a registry host and a version tag.
FIO = "registry.example.com/tools/alpine-fio:3.36"


def inputs(**overrides):
    result = copy.deepcopy(INPUTS)
    result.update(overrides)
    return result


def node(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def crd(name, established=True):
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": "Established", "status": "True" if established else "False"}]}}


def cluster(**changes):
    result = {"nodes": [node("gpu-a"), node("gpu-b")], "namespaces": [], "crds": [crd(n) for n in objects.CRDS],
              "satellite_configuration": [], "storage_classes": [], "release": None}
    result.update(changes)
    return result


def test_the_role_spec_and_its_defaults_name_the_same_variables():
    assert set(role_plan.role_options("linstor")) == set(_DEFAULTS)


def test_the_inputs_step_builds_every_object_the_role_writes():
    result = plan.plan(inputs(pvcs=[{"name": "c", "namespace": "ml", "storage_class": "linstor-fast-cache",
                                     "size": "1Gi", "labels": {"app": "x"}}], create_claim_namespaces=True), {})
    assert result["problems"] == []
    cluster_object = result["cluster_object"]
    assert cluster_object["spec"]["nodeAffinity"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [
        "gpu-a", "gpu-b"]
    assert cluster_object["spec"]["csiNode"]["podTemplate"]["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert result["satellite_configuration_object"]["spec"]["storagePools"] == INPUTS["storage_pools"]
    sc = result["storage_class_objects"][0]
    assert (sc["provisioner"], sc["volumeBindingMode"], sc["allowVolumeExpansion"]) == (
        "linstor.csi.linbit.com", "WaitForFirstConsumer", True)
    assert result["claim_objects"][0]["metadata"] == {"name": "c", "namespace": "ml", "labels": {
        "app.kubernetes.io/managed-by": "gpufleet.cluster", "app": "x"}}
    assert result["claim_namespaces"] == ["ml"] and result["benchmark_job"] is None
    assert result["operator_deployment"] == "piraeus-operator-controller-manager"
    assert objects.operator_deployment({"release_name": "storage"}) == "storage-piraeus-controller-manager"


@pytest.mark.parametrize("flag, expected", [("no", False), ("False", False), ("yes", True), (True, True)])
def test_a_storage_class_flag_is_read_as_ansible_reads_it(flag, expected):
    sc = objects.storage_class({"name": "fast", "storage_pool": "pool", "allow_volume_expansion": flag})
    assert sc["allowVolumeExpansion"] is expected


def test_the_cluster_spec_is_merged_over_what_the_role_sets():
    spec = plan.plan(inputs(cluster_spec={"csiNode": {"enabled": False}, "linstorPassphraseSecret": "p"}),
                     {})["cluster_object"]["spec"]
    assert spec["csiNode"]["enabled"] is False and spec["csiNode"]["podTemplate"]["spec"]["tolerations"]
    assert spec["linstorPassphraseSecret"] == "p"


def test_input_problems_collect_every_kind():
    problems = li_inputs.problems({
        "storage_pools": [{"name": "a", "lvmPool": {}}],
        "existing_pools": ["old-pool"],
        "storage_classes": [{"name": "c1", "storage_pool": "old-pool"}, {"name": "c2", "storage_pool": "unknown"}],
        "pvcs": [{"name": "p", "storage_class": "c3", "size": "1Gi"}],
    })
    assert len(problems) == 3, problems
    assert "name='a'" in problems[0] and "storage_pool='unknown'" in problems[1] and "storage_class='c3'" in problems[2]


def test_input_problems_cover_placement_properties_patches_and_the_cluster_spec():
    problems = li_inputs.problems({
        "namespace": "kube-system",
        "storage_nodes": ["gpu-ucsd-1", "GPU_2"],
        "satellite_node_selector": {"gpufleet.io/storage": "yes,please"},
        "satellite_configuration_node_selector": {"bad key!": "x"},
        "satellite_properties": [{"name": "Aux/x", "value": "a", "valueFrom": {"nodeFieldRef": "metadata.name"}}],
        "satellite_patches": [{"patch": "- op: add\n  path: /spec\n  value: {}\n"}],
        "cluster_spec": {"nodeAffinity": {"nodeSelectorTerms": []}, "patches": [{"patch": "[[["}],
                         "externalController": {"url": "ftp://x"}},
    })
    expected = ["linstor_namespace='kube-system' is a namespace Kubernetes keeps",
                "linstor_storage_nodes[1]='GPU_2' is not a Kubernetes node name",
                "linstor_satellite_node_selector['gpufleet.io/storage']='yes,please' is not a label value",
                "linstor_satellite_configuration_node_selector key='bad key!' is not a label key",
                "linstor_satellite_properties[0] ('Aux/x') has value and valueFrom",
                "linstor_satellite_patches[0] has no target",
                "linstor_cluster_spec sets nodeAffinity.nodeSelectorTerms, which the role sets from linstor_storage_nodes",
                "linstor_cluster_spec.externalController.url='ftp://x' does not start with http:// or https://",
                "linstor_cluster_spec.patches[0].patch parses neither"]
    for part in expected:
        assert any(part in p for p in problems), (part, problems)
    assert len(problems) == len(expected), problems


def test_satellites_need_nodes_to_run_on_unless_removing():
    problems = plan.plan(inputs(storage_nodes=[]), {})["problems"]
    assert len(problems) == 1 and "the operator would start a satellite on every node" in problems[0]
    assert plan.plan(inputs(storage_nodes=[], state="absent"), {})["problems"] == []
    assert plan.plan(inputs(storage_nodes=[], satellite_node_selector={"storage": "yes"}), {})["problems"] == []


def test_a_fresh_cluster_installs_and_a_deployed_one_without_crds_is_upgraded():
    fresh = plan.plan(inputs(), cluster(crds=[]))
    assert fresh["problems"] == [] and fresh["crds_missing"] == list(objects.CRDS)
    assert (fresh["crds_established"], fresh["force_upgrade"], fresh["release_pending"]) == (False, False, False)
    gone = plan.plan(inputs(), cluster(crds=[], release={"status": "deployed", "revision": 2}))
    assert gone["force_upgrade"] is True
    ready = plan.plan(inputs(), cluster())
    assert (ready["crds_missing"], ready["crds_established"], ready["force_upgrade"]) == ([], True, False)
    assert plan.plan(inputs(), cluster(crds=[crd(n, established=False) for n in objects.CRDS]))["crds_established"] is False


def test_what_the_cluster_holds_is_refused_with_the_variable_and_the_fix():
    result = plan.plan(inputs(storage_nodes=["gpu-a", "gpu-z"], pvcs=[
        {"name": "c", "namespace": "mll", "storage_class": "linstor-fast-cache", "size": "1Gi"}],
        chart_values={"installCRDs": False}), cluster(crds=[], namespaces=[{"metadata": {"name": "default"}}]))
    text = " | ".join(result["problems"])
    assert "linstor_storage_nodes names gpu-z, which the cluster has no Node for; nodes in the cluster: gpu-a, gpu-b" in text
    assert "linstor_pvcs names the namespace(s) mll, which the cluster does not have" in text
    assert "linstor_chart_values has no installCRDs: true (False) and the cluster lacks the CRDs" in text
    assert len(result["problems"]) == 3
    assert plan.plan(inputs(job_zones=["zone-x"]), cluster())["problems"][0].startswith("linstor_job_zones")


def test_a_changed_storage_class_is_refused_unless_replacing_it():
    old = objects.storage_class(dict(INPUTS["storage_classes"][0], placement_count="2"))
    refused = plan.plan(inputs(), cluster(storage_classes=[old]))
    assert refused["class_changes"] and list(refused["class_diff"]["before"]) == ["linstor-fast-cache"]
    assert len(refused["problems"]) == 1 and "differs from the class in the cluster" in refused["problems"][0]
    assert '"linstor.csi.linbit.com/placementCount": "2"' in refused["problems"][0]
    assert 'set linstor_replace_storageclass_names: ["linstor-fast-cache"] (for this run only)' in refused["problems"][0]
    replaced = plan.plan(inputs(replace_storageclass_names=["linstor-fast-cache"]), cluster(storage_classes=[old]))
    assert replaced["problems"] == [] and replaced["replace_classes"] == ["linstor-fast-cache"]
    same = plan.plan(inputs(), cluster(storage_classes=[objects.storage_class(INPUTS["storage_classes"][0])]))
    assert (same["class_changes"], same["replace_classes"]) == ({}, [])


def test_the_classes_to_replace_are_named_exactly_for_one_run():
    old = objects.storage_class(dict(INPUTS["storage_classes"][0], placement_count="2"))
    # Left over from an earlier run: the class is the cluster's already, nothing would be replaced.
    same = [objects.storage_class(INPUTS["storage_classes"][0])]
    stale = plan.plan(inputs(replace_storageclass_names=["linstor-fast-cache"]), cluster(storage_classes=same))
    assert stale["problems"] == [
        'linstor_replace_storageclass_names=["linstor-fast-cache"] names linstor-fast-cache, which this run would not '
        "replace (no class of linstor_storage_classes changes a field Kubernetes never updates in place). Nothing was "
        "changed. It confirms one replacement, for one run: leave it out."]
    assert stale["replace_classes"] == []
    # Another class named (a typo, or one more than changes): refused, and the changed one is not replaced.
    extra = plan.plan(inputs(replace_storageclass_names=["linstor-fast-cache", "linstor-other"]),
                      cluster(storage_classes=[old]))
    assert extra["problems"] == [
        'linstor_replace_storageclass_names=["linstor-fast-cache", "linstor-other"] names linstor-other, which this run '
        "would not replace (only linstor-fast-cache change(s) such fields). Nothing was changed. It confirms one "
        'replacement, for one run: set it to ["linstor-fast-cache"].']
    assert extra["replace_classes"] == []
    # A changed class the list misses.
    missed = plan.plan(inputs(replace_storageclass_names=["linstor-other"]), cluster(storage_classes=[old]))
    assert len(missed["problems"]) == 2 and missed["replace_classes"] == []
    assert missed["problems"][0].endswith('; linstor_replace_storageclass_names=["linstor-other"] misses linstor-fast-cache.')


def test_the_old_booleans_are_refused_naming_their_replacements():
    problems = plan.plan(inputs(replace_storageclasses=True, recover_pending_release=True), {})["problems"]
    assert problems == [
        "linstor_recover_pending_release is no longer taken: use linstor_recover_pending_revision (the pending revision "
        "to remove, for one run) instead. Nothing was changed.",
        "linstor_replace_storageclasses is no longer taken: use linstor_replace_storageclass_names (the names of the "
        "classes to replace, for one run) instead. Nothing was changed."]
    assert plan.plan(inputs(recover_pending_revision=-1), {})["problems"] == [
        "linstor_recover_pending_revision=-1 is not a whole number of at least 0; use e.g. 4"]
    assert plan.plan(inputs(pending_release_min_age="ten"), {})["problems"] == [
        "linstor_pending_release_min_age='ten' is not a whole number of at least 0; use e.g. 600"]


NOW = 1_800_000_000


def record(revision=3, written=NOW - 3600, status="pending-upgrade", **labels):
    return {"name": "sh.helm.release.v1.piraeus-operator.v%s" % revision, "namespace": "piraeus-datastore",
            "uid": "u-%s" % revision, "resourceVersion": "42", "creationTimestamp": "2027-01-15T06:00:00Z",
            "labels": dict({"owner": "helm", "name": "piraeus-operator", "status": status, "version": str(revision),
                            "modifiedAt": str(written)}, **labels)}


def test_a_pending_release_is_refused_unless_its_revision_is_named():
    pending = {"status": "pending-upgrade", "revision": 3}
    refused = plan.plan(inputs(), cluster(release=pending, pending_records=[record()]), now=NOW)
    assert refused["release_pending"] and "is 'pending-upgrade' (revision 3)" in refused["problems"][0]
    assert "re-run with linstor_recover_pending_revision: 3 (for this run only" in refused["problems"][0]
    assert refused["pending_record"] is None
    recovered = plan.plan(inputs(recover_pending_revision="3"), cluster(release=pending, pending_records=[record()]),
                          now=NOW)
    assert recovered["problems"] == []
    assert recovered["pending_record"] == {"name": "sh.helm.release.v1.piraeus-operator.v3", "uid": "u-3",
                                           "resourceVersion": "42", "age": 3600}
    other = plan.plan(inputs(recover_pending_revision=2), cluster(release=pending, pending_records=[record()]), now=NOW)
    assert other["problems"] == [
        "linstor_recover_pending_revision=2 does not match the pending revision of Helm release "
        "piraeus-datastore/piraeus-operator, which is 3 ('pending-upgrade'). Nothing was changed. Check with helm "
        "history that no helm run is working on it, then set it to 3."]
    assert other["pending_record"] is None
    # Nothing pending: a revision left in the inventory is refused.
    deployed = plan.plan(inputs(recover_pending_revision=3), cluster(release={"status": "deployed", "revision": 3}))
    assert deployed["problems"] == [
        "linstor_recover_pending_revision=3, but Helm release piraeus-datastore/piraeus-operator is 'deployed' at "
        "revision 3: there is nothing to recover. Nothing was changed. Leave it out (it confirms one recovery, for one "
        "run)."]


def test_a_young_pending_record_may_be_a_running_upgrade():
    pending = {"status": "pending-upgrade", "revision": 3}
    young = plan.plan(inputs(recover_pending_revision=3),
                      cluster(release=pending, pending_records=[record(written=NOW - 42)]), now=NOW)
    assert young["problems"] == [
        "Helm release piraeus-datastore/piraeus-operator's pending revision 3 (record "
        "sh.helm.release.v1.piraeus-operator.v3) was last written 42 s ago: a helm run may still be working on it (Helm "
        "keeps the revision 'pending-upgrade' until the run ends). Nothing was changed. Recovery waits until it is "
        "linstor_pending_release_min_age=600 s old; check with helm history that no helm run is active, then run again "
        "in 558 s."]
    assert young["pending_record"] is None
    assert plan.plan(inputs(recover_pending_revision=3, pending_release_min_age=30),
                     cluster(release=pending, pending_records=[record(written=NOW - 42)]), now=NOW)["problems"] == []
    # The latest of modifiedAt, createdAt and creationTimestamp counts.
    created = record(written=NOW - 3600, createdAt=str(NOW - 5))
    assert "was last written 5 s ago" in plan.plan(inputs(recover_pending_revision=3), cluster(
        release=pending, pending_records=[created]), now=NOW)["problems"][0]
    assert plan.last_written({"creationTimestamp": "2027-01-15T08:00:00Z"}) == NOW
    assert plan.last_written({}) is None
    # No record (another Helm storage driver, or read nothing): nothing is removed.
    none = plan.plan(inputs(recover_pending_revision=3), cluster(release=pending, pending_records=[]), now=NOW)
    assert "but 0 of its release records" in none["problems"][0] and none["pending_record"] is None


def test_an_existing_pools_type_cannot_change():
    existing = [{"spec": {"storagePools": [{"name": "fast-cache", "lvmPool": {"volumeGroup": "vg"}}]}}]
    problems = plan.plan(inputs(), cluster(satellite_configuration=existing))["problems"]
    assert problems and all(p.startswith("linstor_storage_pools[0] (pool 'fast-cache')") for p in problems), problems
    assert "type would change from 'lvmPool' to 'lvmThinPool'" in problems[0]


def test_the_benchmark_step_reads_the_figures_or_says_why_not():
    log = ('{"fio version": "fio-3.36", "jobs": [{"jobname": "seqread", "error": 0, "read": {"io_bytes": 1073741824, '
           '"runtime": 1000, "total_ios": 256, "bw_bytes": 1073741824, "clat_ns": {"percentile": {"99.000000": 2000}}}}]}')
    observed = {"fio_done": {"changed": False}, "fio_pods": [{"spec": {"nodeName": "gpu-a"}}], "fio_log": {"log": log}}
    bench = plan.plan(inputs(fio_benchmark=True, fio_benchmark_image=FIO), observed)["benchmark"]
    assert (bench["job"], bench["node"], bench["completed"], bench["unavailable"]) == (
        "default/storage-benchmark-ms-swift-cache-pvc", "gpu-a", True, None)
    assert bench["result"]["mibps"] == 1024.0
    failed = plan.plan(inputs(), {"fio_done": {"failed": True}, "fio_pods": [], "fio_log": {"skipped": True}})["benchmark"]
    assert failed["completed"] is False and failed["result"] is None
    assert "the Job did not complete" in failed["unavailable"]
    # A finished Job whose pod log is gone (the lab's real node re-created): said so, not "check mode".
    gone = plan.plan(inputs(), {"fio_done": {"changed": False}, "fio_pods": [], "fio_log": {"changed": False, "log": ""}})
    assert "log is empty or gone" in gone["benchmark"]["unavailable"], gone["benchmark"]
    check = plan.plan(inputs(), {"fio_done": {"skipped": True}, "fio_pods": [], "fio_log": {"skipped": True}})
    assert check["benchmark"]["unavailable"] == "no fio output: check mode"


def test_the_report_step_gives_the_section_and_the_lines():
    observed = {"release_after": {"status": {"status": "deployed", "revision": 1, "chart": "piraeus-2.6.0"}},
                "objects": [], "controller_service": [], "controller": {}, "storage_classes_after": [], "claims": [],
                "pods": [], "pvs": [], "benchmark": None}
    result = plan.plan(inputs(), observed, check_mode=False)
    assert result["report_section"]["name"] and isinstance(result["summary_lines"], list)
    assert any("linstor-fast-cache" in line for line in result["summary_lines"]), result["summary_lines"]


def test_summary_lines():
    section = {"notes": ["n"], "problems": [{"severity": "warning", "subject": "pvc a/b", "message": "Pending"}],
               "tables": [{"title": "Claims", "columns": list("123456789"),
                           "rows": [["a/b", "cls", "Block", "1Gi", "Pending", "", "", "", "expected"],
                                    ["a/c", "cls", "Filesystem", "1Gi", "Bound", "pv-1", "n1", "", ""]]}]}
    assert plan.summary_lines(section) == ["n", "warning: pvc a/b: Pending", "claim a/b (cls, Block): Pending - expected",
                                           "claim a/c (cls, Filesystem): Bound on pv-1"]


MANIFEST = """---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: linstorclusters.piraeus.io
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: piraeus-operator-controller-manager
"""


def test_the_render_step_dry_runs_the_chart_and_the_roles_objects_as_far_as_the_api_server_can():
    first = plan.plan(inputs(), dict(cluster(crds=[]), manifest=MANIFEST, release_namespace=[]))
    assert [o["kind"] for o in first["dry_run_objects"]] == ["CustomResourceDefinition", "StorageClass"]
    assert sorted(o["object"] for o in first["dry_run_left_out"]) == [
        "Deployment/piraeus-datastore/piraeus-operator-controller-manager", "LinstorCluster/linstorcluster",
        "LinstorSatelliteConfiguration/gpufleet-storage-pools"]
    again = plan.plan(inputs(), dict(cluster(), manifest=MANIFEST, release_namespace=[{"metadata": {"name": "x"}}]))
    assert [o["kind"] for o in again["dry_run_objects"]] == ["CustomResourceDefinition", "Deployment", "LinstorCluster",
                                                             "LinstorSatelliteConfiguration", "StorageClass"]
    assert again["dry_run_objects"][1]["metadata"]["namespace"] == "piraeus-datastore" and again["dry_run_left_out"] == []
    # A class the role deletes and creates again is not dry-run as an update (its immutable fields).
    old = objects.storage_class(dict(INPUTS["storage_classes"][0], placement_count="2"))
    replaced = plan.plan(inputs(replace_storageclass_names=["linstor-fast-cache"]),
                         dict(cluster(storage_classes=[old]), manifest=MANIFEST, release_namespace=[]))
    assert "StorageClass" not in [o["kind"] for o in replaced["dry_run_objects"]]


def test_the_dry_runs_refusal_is_a_problem():
    refused = {"failed": True, "msg": "Failed to patch object: b'{\"kind\":\"Status\",\"message\":\"admission webhook "
                                      "\\\\\"vlinstorcluster.piraeus.io\\\\\" denied the request: bad\"}'"}
    problems = plan.plan(inputs(), {"dry_run": refused})["problems"]
    assert len(problems) == 1 and "denied the request: bad" in problems[0] and "docs/storage.md" in problems[0]
    assert plan.plan(inputs(), {"dry_run": {"skipped": True}})["problems"] == []


def _keys(reads):
    return [(r["key"], r["kind"], r.get("namespace"), r.get("name")) for r in reads]


def test_the_inputs_step_names_what_the_preflight_reads():
    result = plan.plan(inputs(pvcs=[{"name": "c", "namespace": "ml", "storage_class": "linstor-fast-cache",
                                     "size": "1Gi"}], create_claim_namespaces=False), {})
    reads = _keys(result["cluster_reads"])
    assert reads[:2] == [("nodes", "Node", None, None), ("namespaces", "Namespace", None, None)]
    assert [r[3] for r in reads if r[0] == "crds"] == list(objects.CRDS)
    assert ("satellite_configuration", "LinstorSatelliteConfiguration", None,
            INPUTS["satellite_configuration_name"]) in reads
    assert [r[3] for r in reads if r[0] == "storage_classes"] == [sc["name"] for sc in INPUTS["storage_classes"]]
    assert reads[-1] == ("release_namespace", "Namespace", None, INPUTS["namespace"])
    # What the configure step writes, to leave out the writes that would change nothing.
    assert [r[1:] for r in reads if r[0] == "written"] == [
        ("LinstorCluster", None, INPUTS["cluster_name"]), ("PersistentVolumeClaim", "ml", "c")]
    # Every key it reads is one the cluster step takes (the operator's namespace is the render step's,
    # what is written the configure step's).
    assert set(r[0] for r in reads) == set(plan.CLUSTER) - {"release"} | {"release_namespace", "written"}


def test_the_preflight_reads_the_namespaces_when_the_role_creates_them_but_not_its_own_when_absent():
    claims = [{"name": "c", "namespace": "ml", "storage_class": "linstor-fast-cache", "size": "1Gi"}]
    created = plan.plan(inputs(pvcs=claims, create_claim_namespaces=True), {})["cluster_reads"]
    # Only the missing ones are created (with Pod Security labels): one that exists keeps its own.
    assert "namespaces" in [r["key"] for r in created]
    absent = [r["key"] for r in plan.plan(inputs(storage_nodes=[], state="absent"), {})["cluster_reads"]]
    assert "namespaces" not in absent and "release_namespace" not in absent
    assert "crds" in absent


def test_the_inputs_step_names_what_verify_reads():
    claims = [{"name": "a", "storage_class": "linstor-fast-cache", "size": "1Gi"},
              {"name": "b", "namespace": "ml", "storage_class": "linstor-fast-cache", "size": "1Gi"}]
    reads = _keys(plan.plan(inputs(pvcs=claims, create_claim_namespaces=True), {})["verify_reads"])
    assert [r[1] for r in reads if r[0] == "objects"] == ["LinstorCluster", "LinstorSatelliteConfiguration",
                                                          "LinstorSatellite"]
    assert ("controller_service", "Service", INPUTS["namespace"], "linstor-controller") in reads
    assert [r for r in reads if r[0] == "claims"] == [("claims", "PersistentVolumeClaim", "default", "a"),
                                                      ("claims", "PersistentVolumeClaim", "ml", "b")]
    assert set(r[0] for r in reads) <= set(plan.REPORT)


def test_the_namespaces_carry_pod_security_labels_and_only_missing_claim_namespaces_are_created():
    claims = [{"name": "a", "namespace": "ml", "storage_class": "linstor-fast-cache", "size": "1Gi"},
              {"name": "b", "namespace": "team", "storage_class": "linstor-fast-cache", "size": "1Gi"},
              {"name": "c", "storage_class": "linstor-fast-cache", "size": "1Gi"}]
    result = plan.plan(inputs(pvcs=claims, create_claim_namespaces=True),
                       cluster(namespaces=[{"metadata": {"name": "team"}}, {"metadata": {"name": "default"}}]))
    assert result["problems"] == []
    operator = result["namespace_object"]["metadata"]
    assert operator["name"] == INPUTS["namespace"] and operator["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    # 'team' exists: its labels are its owner's; 'default' is never created.
    assert [(o["metadata"]["name"], o["metadata"]["labels"]["pod-security.kubernetes.io/warn"])
            for o in result["claim_namespace_objects"]] == [("ml", "baseline")]
    assert plan.plan(inputs(pvcs=claims), cluster(namespaces=[{"metadata": {"name": n}} for n in ("ml", "team", "default")])
                     )["claim_namespace_objects"] == []


@pytest.mark.parametrize("overrides, expected", [
    ({"namespace_pod_security": "baseline"},
     "linstor_namespace_pod_security='baseline' is stricter than the pods in that namespace can meet (the satellites "
     "and the CSI node pods run privileged, on the host's network and paths): admission would refuse them; use "
     "'privileged'"),
    ({"claim_namespace_pod_security": "strict"},
     "linstor_claim_namespace_pod_security='strict' is not a Pod Security level; use one of privileged, baseline, restricted"),
    ({"claim_namespace_pod_security": "restricted", "fio_benchmark": True, "create_claim_namespaces": True,
      "fio_benchmark_pvc": {"name": "c", "namespace": "ml"}, "fio_benchmark_image": FIO,
      "pvcs": [{"name": "c", "namespace": "ml", "storage_class": "linstor-fast-cache", "size": "1Gi"}]},
     "linstor_claim_namespace_pod_security='restricted' would refuse the fio benchmark Job in namespace ml, which the "
     "role creates (the Job runs as root); use 'baseline', or set linstor_fio_benchmark: false"),
    ({"claim_namespace_pod_security": "restricted", "create_claim_namespaces": True,
      "pvcs": [{"name": "c", "namespace": "ml", "storage_class": "linstor-fast-cache", "size": "1Gi"}]}, None),
])
def test_the_pod_security_levels_are_checked(overrides, expected):
    found = plan.plan(inputs(**overrides), {})["problems"]
    assert found == ([expected] if expected else [])


SEED_FIO = "dmonakhov/alpine-fio"
WHY = " (the Job runs it as root on the claim's node); or set linstor_fio_benchmark: false"


@pytest.mark.parametrize("overrides, expected", [
    # The benchmark off: the image is not asked about, whatever it is.
    ({}, None),
    ({"fio_benchmark": False, "fio_benchmark_image": SEED_FIO}, None),
    ({"fio_benchmark": True, "fio_benchmark_image": FIO}, None),
    ({"fio_benchmark": "yes", "fio_benchmark_image": "localhost/gpufleet-fio:0123abcd"}, None),
    ({"fio_benchmark": True, "fio_benchmark_image": "registry.example.com/tools/alpine-fio@sha256:" + "a" * 64}, None),
    ({"fio_benchmark": True},
     "linstor_fio_benchmark_image is not set; push the image to a registry your nodes pull from and name it with its "
     "registry host and a version tag or digest, e.g. 'registry.example.com/tools/alpine-fio:3.36'" + WHY),
    ({"fio_benchmark": True, "fio_benchmark_image": SEED_FIO},
     "linstor_fio_benchmark_image='dmonakhov/alpine-fio' names no registry host: a container runtime pulls it from "
     "Docker Hub (docker.io/dmonakhov/alpine-fio), a public namespace anyone can register; prefix the registry you "
     "pushed it to (a host with a '.' or a port, or localhost), e.g. 'registry.example.com/tools/alpine-fio:3.36'" + WHY),
    ({"fio_benchmark": True, "fio_benchmark_image": "docker.io/dmonakhov/alpine-fio:latest"},
     "linstor_fio_benchmark_image='docker.io/dmonakhov/alpine-fio:latest' is not pinned (the tag 'latest'): the image "
     "it runs changes whenever someone pushes; name a version tag or a digest (@sha256:...), e.g. "
     "'registry.example.com/tools/alpine-fio:3.36'" + WHY),
    ({"fio_benchmark": True, "fio_benchmark_image": "Registry.example.com/fio:1 ; rm -rf /"},
     "linstor_fio_benchmark_image='Registry.example.com/fio:1 ; rm -rf /' is not an image reference; use "
     "[registry[:port]/]repository[:tag][@digest] in lower case, e.g. 'registry.example.com/tools/alpine-fio:3.36'" + WHY),
])
def test_the_benchmark_image_is_qualified_and_pinned_when_the_benchmark_runs(overrides, expected):
    found = plan.plan(inputs(**overrides), {})["problems"]
    assert found == ([expected] if expected else [])


@pytest.mark.parametrize("overrides, fragment", [
    ({"chart_version": "2.6.0 --post-renderer /bin/sh"}, "linstor_chart_version='2.6.0 --post-renderer /bin/sh' is not "
                                                         "one word for helm's command line"),
    ({"chart_ref": "oci://x/y --set a=b"}, "linstor_chart_ref='oci://x/y --set a=b' is not one word"),
    ({"release_name": "-piraeus"}, "linstor_release_name='-piraeus' is not a Helm release name"),
    ({"fio_benchmark": True, "fio_benchmark_image": "localhost/gpufleet-fio:0.1.0", "fio_benchmark_size": "10G --rw=write"},
     "linstor_fio_benchmark_size='10G --rw=write' is not a size fio reads"),
    ({"fio_benchmark": True, "fio_benchmark_image": "localhost/gpufleet-fio:0.1.0", "fio_benchmark_size": "10GiB"},
     "linstor_fio_benchmark_size='10GiB' is read by fio as a decimal size (with its default kb_base=1024, GiB means "
     "10^9 bytes, while G and Gi are binary); write '10G' or '10Gi'"),
])
def test_helm_words_and_the_fio_size_are_checked(overrides, fragment):
    problems = li_inputs.problems(inputs(**overrides))
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize("size", ["10G", "256M", "64m", "1048576", "50%", "100%", "10GB", "1P", "10Gi"])
def test_fio_sizes_fio_takes_pass(size):
    assert li_inputs.problems(inputs(fio_benchmark=True, fio_benchmark_image="localhost/gpufleet-fio:0.1.0",
                                     fio_benchmark_size=size)) == []
