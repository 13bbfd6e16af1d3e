"""plugin_utils.migrate_pvc.plan: every decision of the migrate_pvc role, step by step, from its inputs
(the role's own defaults) and what it read (pure, no cluster, no mocks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import role_plan
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.migrate_pvc import backup, plan

REPO = Path(__file__).resolve().parents[4]
with open(str(REPO / "roles" / "migrate_pvc" / "defaults" / "main.yml")) as _handle:
    _DEFAULTS = yaml.safe_load(_handle)
INPUTS = role_plan.unprefixed("migrate_pvc", _DEFAULTS)
NAME, NS = INPUTS["name"], INPUTS["namespace"]
OLD = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
       "metadata": {"name": NAME, "namespace": NS, "uid": "u-1", "labels": {"app": "swift"},
                    "annotations": {"pv.kubernetes.io/bind-completed": "yes", "team": "ml"}},
       "spec": {"storageClassName": "rook-ceph-block", "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                "resources": {"requests": {"storage": "200Gi"}}, "volumeName": "pvc-1"},
       "status": {"phase": "Bound"}}
CLASS = ({"metadata": {"name": INPUTS["storage_class"]}},)
ACCEPTED = {"changed": False, "result": {"metadata": {"name": NAME + "-gpufleet-dry-run"}}}


def inputs(**overrides):
    result = copy.deepcopy(INPUTS)
    result.update(overrides)
    return result


def read(current=(OLD,), backup=(), storage_class=CLASS):
    return {"current": list(current), "backup": list(backup), "storage_class": list(storage_class)}


def backup_of(claim):
    return {"metadata": {"name": NAME + "-pvc-backup", "namespace": NS}, "data": {"claim.json": json.dumps(claim)}}


def pod(name, claim=NAME, phase="Running"):
    return {"metadata": {"name": name, "namespace": NS}, "status": {"phase": phase},
            "spec": {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]}}


def guards(pods=(), quotas=(), dry_run=None, volume=(), **read_args):
    return dict(read(**read_args), pods=list(pods), quotas=list(quotas), dry_run=dry_run or ACCEPTED, volume=list(volume))


CONFIRM = "%s/%s" % (NS, NAME)


def pv(policy, name="pvc-1"):
    return {"metadata": {"name": name}, "spec": {"persistentVolumeReclaimPolicy": policy,
                                                 "claimRef": {"namespace": NS, "name": NAME}}}


def saved_digest(claim):
    return backup.digest(backup.restorable(claim))


def test_the_role_spec_and_its_defaults_name_the_same_variables():
    assert set(role_plan.role_options("migrate_pvc")) == set(_DEFAULTS)


def test_the_variables_alone_are_checked_as_the_linstor_roles_claims():
    assert plan.plan(inputs(), {}) == {"problems": []}
    problems = plan.plan(inputs(size="5GB", name="Bad_Name"), {})["problems"]
    assert any(p.startswith("migrate_pvc_size='5GB' is not a Kubernetes quantity") for p in problems), problems
    assert any(p.startswith("migrate_pvc_name='Bad_Name'") for p in problems), problems


def test_a_claim_in_another_class_is_replaced_and_saved_first():
    result = plan.plan(inputs(), read())
    assert (result["action"], result["destructive"], result["problems"]) == ("replace", True, [])
    assert result["replacement"]["spec"] == {"storageClassName": INPUTS["storage_class"], "accessModes": ["ReadWriteOnce"],
                                             "volumeMode": "Filesystem", "resources": {"requests": {"storage": "200Gi"}}}
    saved = json.loads(result["backup_config_map"]["data"]["claim.json"])
    assert saved == result["saved_claim"] and "uid" not in saved["metadata"] and "volumeName" not in saved["spec"]
    # Annotations are dropped (provisioners read some as parameters); labels are kept.
    assert "annotations" not in saved["metadata"] and saved["metadata"]["labels"] == {"app": "swift"}
    assert result["backup_digest"] == backup.digest(saved) and result["volume_name"] == "pvc-1"
    assert result["backup_config_map"]["metadata"]["name"] == NAME + "-pvc-backup"
    assert result["dry_run_claim"]["metadata"]["name"] == NAME + "-gpufleet-dry-run"
    assert result["dry_run_claim"]["spec"] == result["replacement"]["spec"]


def test_a_missing_storage_class_and_an_unknown_size_are_refused():
    problems = plan.plan(inputs(), read(storage_class=()))["problems"]
    assert problems == ["migrate_pvc_storage_class=linstor-fast-cache does not exist in the cluster; create it first "
                        "(playbooks/storage.yml) or name an existing class."]
    problems = plan.plan(inputs(), read(current=()))["problems"]
    assert problems == ["claim default/ms-swift-cache-pvc: no size for the new claim; set migrate_pvc_size."]
    assert plan.plan(inputs(size="10Gi"), read(current=()))["action"] == "create"


def test_a_rerun_after_the_delete_creates_the_new_claim_from_the_saved_one():
    result = plan.plan(inputs(), read(current=(), backup=(backup_of(backup.restorable(OLD)),)))
    assert (result["action"], result["destructive"]) == ("create", False)
    assert result["replacement"]["spec"]["resources"]["requests"]["storage"] == "200Gi"


def test_a_rollback_restores_only_the_claim_it_saved():
    new = dict(OLD, spec=dict(OLD["spec"], storageClassName=INPUTS["storage_class"]))
    saved = backup.restorable(OLD)
    result = plan.plan(inputs(rollback=True, rollback_digest=backup.digest(saved)),
                       read(current=(new,), backup=(backup_of(saved),), storage_class=()))
    assert (result["action"], result["problems"]) == ("restore", [])
    assert result["replacement"]["spec"]["storageClassName"] == "rook-ceph-block"
    assert "volumeName" not in result["replacement"]["spec"] and "uid" not in result["replacement"]["metadata"]
    no_backup = plan.plan(inputs(rollback="yes"), read(current=(new,), storage_class=()))["problems"]
    assert no_backup == ["claim default/ms-swift-cache-pvc: no saved claim to restore: the migration never saved one "
                         "(migrate_pvc_rollback=true needs the ConfigMap ms-swift-cache-pvc-pvc-backup a migration "
                         "writes)."]


def test_a_backup_that_holds_anything_but_its_claim_is_refused():
    saved = backup.restorable(OLD)
    for planted in ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                     "metadata": {"name": NAME, "namespace": NS}},
                    dict(saved, metadata=dict(saved["metadata"], namespace="kube-system")),
                    dict(saved, metadata=dict(saved["metadata"], name="other"))):
        # Even with the planted object's own digest: the shape is refused first.
        result = plan.plan(inputs(rollback=True, rollback_digest=backup.digest(planted)),
                           read(backup=(backup_of(planted),), storage_class=()))
        assert len(result["problems"]) == 1, planted
        assert "ConfigMap default/ms-swift-cache-pvc-pvc-backup holds" in result["problems"][0]
        assert "not the PersistentVolumeClaim default/ms-swift-cache-pvc it was written for" in result["problems"][0]
        assert result["replacement"] is None and "dry_run_claim" not in result
    broken = dict(backup_of(OLD), data={"claim.json": "{not json"})
    assert "holds no claim under claim.json" in plan.plan(inputs(rollback=True), read(backup=(broken,)))["problems"][0]


def test_a_backup_with_fields_a_backup_never_holds_is_refused_not_trimmed():
    saved = backup.restorable(OLD)
    for extra, named in ((dict(saved, spec=dict(saved["spec"], volumeName="someone-elses-pv")), "spec.volumeName"),
                         (dict(saved, spec=dict(saved["spec"], selector={"matchLabels": {"team": "b"}})),
                          "spec.selector.matchLabels.team"),
                         (dict(saved, metadata=dict(saved["metadata"], annotations={"x": "y"})), "metadata.annotations.x"),
                         (dict(saved, rules=[{"verbs": ["*"]}]), "rules")):
        result = plan.plan(inputs(rollback=True, rollback_digest=backup.digest(extra)),
                           read(backup=(backup_of(extra),), storage_class=()))
        assert result["problems"] == [
            "ConfigMap default/ms-swift-cache-pvc-pvc-backup has field(s) a backup never holds: %s; delete it (a "
            "migration writes it again) or put back the claim the file under migrate_pvc_backup_dir holds "
            "(default_ms-swift-cache-pvc.json). Nothing was changed." % named], extra
        assert result["replacement"] is None


def test_a_rollback_needs_a_digest_from_outside_the_namespace_and_it_must_match():
    new = dict(OLD, spec=dict(OLD["spec"], storageClassName=INPUTS["storage_class"]))
    saved = backup.restorable(OLD)
    observed = read(current=(new,), backup=(backup_of(saved),), storage_class=())
    # No digest: refused, naming what the ConfigMap holds and its digest, for the operator to check.
    problems = plan.plan(inputs(rollback=True), observed)["problems"]
    assert len(problems) == 1 and "Give migrate_pvc_rollback_digest, as the migrating run printed it" in problems[0]
    assert "whose digest is %s" % backup.digest(saved) in problems[0] and '"storageClassName": "rook-ceph-block"' in problems[0]
    # The ConfigMap rewritten after the migration (another class, a bigger size): refused.
    moved = dict(saved, spec=dict(saved["spec"], storageClassName="attacker-class"))
    problems = plan.plan(inputs(rollback=True, rollback_digest=backup.digest(saved)),
                         read(current=(new,), backup=(backup_of(moved),), storage_class=()))["problems"]
    assert len(problems) == 1 and problems[0].startswith(
        "the ConfigMap default/ms-swift-cache-pvc-pvc-backup holds a claim whose digest %s is not %s "
        "(migrate_pvc_rollback_digest): it changed since the migration saved it. Nothing was changed."
        % (backup.digest(moved), backup.digest(saved)))
    # The controller's file stands in for the digest; a file that differs from the ConfigMap is refused too.
    with_file = dict(observed, backup_file=json.dumps(saved))
    assert plan.plan(inputs(rollback=True, backup_dir="/srv/b"), with_file)["problems"] == []
    other_file = dict(observed, backup={"metadata": {}, "data": {"claim.json": json.dumps(moved)}},
                      backup_file=json.dumps(saved))
    problems = plan.plan(inputs(rollback=True, backup_dir="/srv/b"), other_file)["problems"]
    assert len(problems) == 1 and "(the backup file under migrate_pvc_backup_dir)" in problems[0]
    bad_file = dict(observed, backup_file="[]")
    problems = plan.plan(inputs(rollback=True, backup_dir="/srv/b"), bad_file)["problems"]
    assert problems == ["the backup file /srv/b/default_ms-swift-cache-pvc.json (migrate_pvc_backup_dir) is not the "
                        "claim's backup: it holds no JSON object. Nothing was changed. Move it away, or give "
                        "migrate_pvc_rollback_digest."]


def test_a_rerun_after_an_interrupted_migration_checks_the_digest_when_it_has_one():
    saved = backup.restorable(OLD)
    bigger = dict(saved, spec=dict(saved["spec"], resources={"requests": {"storage": "100Ti"}}))
    # Without a trusted digest, the backup only gives the new claim its size, modes and labels.
    assert plan.plan(inputs(), read(current=(), backup=(backup_of(bigger),)))["problems"] == []
    observed = dict(read(current=(), backup=(backup_of(bigger),)), backup_file=json.dumps(saved))
    problems = plan.plan(inputs(backup_dir="/srv/b"), observed)["problems"]
    assert len(problems) == 1 and "it changed since the migration saved it" in problems[0]


def test_the_guards_pods_dry_run_and_confirmation():
    confirm = ("Run again with migrate_pvc_confirm=default/ms-swift-cache-pvc (for this run only: leave it out of "
               "inventories) to go ahead.")
    problems = plan.plan(inputs(), guards())["problems"]
    assert len(problems) == 1 and problems[0].endswith(confirm)
    assert "moving claim default/ms-swift-cache-pvc (rook-ceph-block -> linstor-fast-cache)" in problems[0]
    assert plan.plan(inputs(confirm=CONFIRM), guards())["problems"] == []
    used = plan.plan(inputs(confirm=CONFIRM), guards(pods=[pod("trainer"), pod("done", phase="Succeeded"),
                                                           pod("other", claim="x")]))["problems"]
    assert used == ["claim default/ms-swift-cache-pvc is used by default/trainer; deleting it would leave them without "
                    "their volume (and Kubernetes keeps it until they stop). Scale them down or delete them, then run "
                    "again."]
    refused = {"failed": False, "msg": 'Failed: b\'{"kind":"Status","message":"persistentvolumeclaims \\\\"x\\\\" is '
                                       'forbidden: maximum storage usage per PersistentVolumeClaim is 100Gi, but request '
                                       'is 200Gi"}\''}
    problems = plan.plan(inputs(confirm=CONFIRM), guards(dry_run=refused))["problems"]
    assert len(problems) == 1 and "maximum storage usage per PersistentVolumeClaim is 100Gi" in problems[0]
    assert "so the old claim was not deleted. Nothing was changed." in problems[0]


def test_a_quota_refusal_is_decided_again_without_the_old_claim():
    refused = {"failed": True, "msg": "exceeded quota: storage, requested: requests.storage=200Gi, used: "
                                      "requests.storage=200Gi, limited: requests.storage=250Gi"}
    quota = {"metadata": {"name": "storage"}, "status": {"hard": {"requests.storage": "250Gi"},
                                                         "used": {"requests.storage": "200Gi"}}}
    assert plan.plan(inputs(confirm=CONFIRM), guards(quotas=[quota], dry_run=refused))["problems"] == []
    problems = plan.plan(inputs(confirm=CONFIRM, size="300Gi"), guards(quotas=[quota], dry_run=refused))["problems"]
    assert len(problems) == 1 and "ResourceQuota storage: requests.storage would be 300Gi of 250Gi" in problems[0]


def test_the_guards_are_not_judged_when_nothing_is_deleted():
    same = dict(OLD, spec=dict(OLD["spec"], storageClassName=INPUTS["storage_class"]))
    result = plan.plan(inputs(), guards(current=(same,)))
    assert (result["action"], result["destructive"], result["problems"]) == ("none", False, [])


def test_the_backup_directory_is_a_clean_path_outside_the_system_directories():
    assert plan.plan(inputs(backup_dir="/srv/backups"), {})["problems"] == []
    problems = plan.plan(inputs(backup_dir="/tmp/x/../../etc"), {})["problems"]
    assert problems == ["migrate_pvc_backup_dir='/tmp/x/../../etc' climbs with '..'; name the directory itself, e.g. "
                        "'/raid/models'"]
    assert "is inside the system directory '/etc'" in plan.plan(inputs(backup_dir="/etc/gpufleet"), {})["problems"][0]


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease"])
def test_a_claim_among_the_clusters_own_components_is_never_deleted(namespace):
    problems = plan.plan(inputs(namespace=namespace), {})["problems"]
    assert problems == [
        "migrate_pvc_namespace=%r is a namespace Kubernetes keeps for its own components (kube-system, kube-public, "
        "kube-node-lease); the role deletes and recreates claims and does not do that there: move the claim's workload "
        "to a namespace of its own" % namespace]


def test_the_confirmation_names_the_claim_and_the_old_boolean_is_refused():
    problems = plan.plan(inputs(confirm="default/another-claim"), {})["problems"]
    assert problems == ["migrate_pvc_confirm='default/another-claim' does not name the claim this run would act on "
                        "(default/ms-swift-cache-pvc); it takes exactly '<namespace>/<claim>' of migrate_pvc_namespace "
                        "and migrate_pvc_name. Nothing was changed. Correct it, or check migrate_pvc_name and "
                        "migrate_pvc_namespace."]
    assert plan.plan(inputs(confirm=CONFIRM), {})["problems"] == []
    # A standing "true" of the old variable: refused, naming the new one (breaking change).
    problems = plan.plan(inputs(confirm_data_loss=True), {})["problems"]
    assert problems == ["migrate_pvc_confirm_data_loss is no longer taken: use migrate_pvc_confirm (the claim's "
                        "'<namespace>/<claim>', for one run only) instead. Nothing was changed."]
    assert plan.plan(inputs(confirm=True), {})["problems"][0].startswith("migrate_pvc_confirm=True does not name")


def test_a_volume_whose_policy_deletes_its_data_is_refused_unless_kept_or_named():
    lossy = plan.plan(inputs(confirm=CONFIRM), guards(volume=[pv("Delete")]))
    assert lossy["problems"] == [
        "claim default/ms-swift-cache-pvc is bound to PersistentVolume pvc-1, whose reclaim policy Delete deletes the "
        "volume and all of its data with the claim (a rollback brings back an empty claim, never the data). Nothing "
        "was changed. Set migrate_pvc_retain_volume=true (the role sets the volume's policy to Retain first: it stays, "
        "Released, with its data, for you to copy from and delete), or migrate_pvc_delete_volume=pvc-1 to accept the "
        "loss."]
    assert "reclaim policy Recycle" in plan.plan(inputs(confirm=CONFIRM), guards(volume=[pv("Recycle")]))["problems"][0]
    kept = plan.plan(inputs(confirm=CONFIRM, retain_volume="true"), guards(volume=[pv("Delete")]))
    assert (kept["problems"], kept["retain_volume"]) == ([], "pvc-1")
    lost = plan.plan(inputs(confirm=CONFIRM, delete_volume="pvc-1"), guards(volume=[pv("Delete")]))
    assert (lost["problems"], lost["retain_volume"]) == ([], "")
    # Retain: nothing to keep; the confirmation to lose a volume must name the one this run deletes.
    retained = plan.plan(inputs(confirm=CONFIRM, retain_volume=True), guards(volume=[pv("Retain")]))
    assert (retained["problems"], retained["retain_volume"]) == ([], "")
    other = plan.plan(inputs(confirm=CONFIRM, delete_volume="pvc-2"), guards(volume=[pv("Delete")]))["problems"]
    assert other == ["migrate_pvc_delete_volume='pvc-2' does not name the volume this run would delete: claim "
                     "default/ms-swift-cache-pvc is bound to PersistentVolume pvc-1 (reclaim policy Delete). Nothing was "
                     "changed. Leave migrate_pvc_delete_volume out, or set it to pvc-1."]
    stale = plan.plan(inputs(confirm=CONFIRM, delete_volume="pvc-1"), guards(volume=[pv("Retain")]))["problems"]
    assert stale == ["migrate_pvc_delete_volume='pvc-1' does not name the volume this run would delete: claim "
                     "default/ms-swift-cache-pvc is bound to PersistentVolume pvc-1 (reclaim policy Retain). Nothing "
                     "was changed. Leave migrate_pvc_delete_volume out."]
    unbound = dict(OLD, spec=dict(OLD["spec"], volumeName=None))
    assert plan.plan(inputs(confirm=CONFIRM), guards(current=(unbound,)))["problems"] == []
    both = plan.plan(inputs(retain_volume=True, delete_volume="pvc-1"), {})["problems"]
    assert both == ["migrate_pvc_retain_volume=true and migrate_pvc_delete_volume='pvc-1' contradict each other: keep "
                    "the volume or delete it. Nothing was changed. Set only one."]


def test_a_digest_that_is_not_one_is_refused_with_the_variables():
    problems = plan.plan(inputs(rollback_digest="abc"), {})["problems"]
    assert problems == ["migrate_pvc_rollback_digest='abc' is not a digest of this role (sha256: and 64 lowercase hex "
                        "digits, as the migrating run printed it); copy it from the migrating run's output ('Say how to "
                        "roll back')."]
