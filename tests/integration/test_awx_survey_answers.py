"""playbooks/migrate_pvc.yml launched with the survey answers of the "gpufleet migrate_pvc" job
template, exactly as AWX passes them (its extra vars file, strings tagged !unsafe; the rollback as the strings
"true"/"false" of its multiplechoice question, the confirmation and the digest as text, the timeout as an int), against
the real control plane, from the extra vars file AWX writes. No confirmation must refuse and change nothing; the claim
named must do what it says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from kubernetes import client

from cluster_helpers import REPO

pytestmark = pytest.mark.cluster

sys.path.insert(0, str(REPO / "tests"))
from unit.plugins.module_utils.awx_rules import job_extra_vars, safe_dump, yaml_dump  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.gpufleet.cluster.plugins.module_utils.awx_survey import survey  # noqa: E402 pylint: disable=wrong-import-position

MIGRATE = REPO / "playbooks" / "migrate_pvc.yml"
OLD_SC, NEW_SC, CLAIM = "t-awx13b-old", "t-awx13b-new", "awx13b-claim"


def _survey(namespaces):
    """The template's survey as awx_configure.yml makes it for a site whose admin lets launchers
    migrate claims in these namespaces (gpufleet_awx_survey_choices)."""
    templates = yaml.safe_load((REPO / "playbooks" / "vars" / "awx_job_templates.yml").read_text())["gpufleet_awx_job_templates"]
    jt = [t for t in templates if t["name"] == "gpufleet migrate_pvc"][0]
    roles = dict((r, yaml.safe_load((REPO / "roles" / r / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"])
                 for r in jt["survey_roles"])
    choices = dict(jt.get("survey_choices") or {}, migrate_pvc_namespace=list(namespaces))
    return survey(roles, jt["name"], "", jt["survey"], jt.get("survey_overrides"), choices)["survey"]


def launch(cluster, tmp_path, answers, dump=safe_dump, namespaces=None):
    """The job AWX would start for these answers: its extra vars (survey defaults, then the
    answers, after AWX's launch checks) in the file AWX writes (strings tagged !unsafe), passed as
    ansible-runner passes it."""
    extra_vars, errors = job_extra_vars(_survey(namespaces or [answers["migrate_pvc_namespace"]]), answers)
    assert errors == [], errors
    path = tmp_path / "extravars"
    path.write_text(dump(extra_vars))
    env = {**os.environ, **cluster.env, "ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_NOCOLOR": "1"}
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([beside if os.path.exists(beside) else "ansible-playbook", "-i", "localhost,", "-c", "local", str(MIGRATE), "-e", "@%s" % path,
                           "-e", json.dumps({"ansible_python_interpreter": sys.executable})],
                          env=env, capture_output=True, text=True, timeout=600, check=False, stdin=subprocess.DEVNULL)
    return extra_vars, proc


def test_migrate_pvc_survey_answers(cluster, namespace, cluster_scoped, tmp_path):
    for name, provisioner in ((OLD_SC, "example.invalid/old"), (NEW_SC, "kubernetes.io/no-provisioner")):
        cluster.storage.create_storage_class(client.V1StorageClass(
            metadata=client.V1ObjectMeta(name=name), provisioner=provisioner, volume_binding_mode="WaitForFirstConsumer"))
        cluster_scoped(cluster.storage.delete_storage_class, name)
    cluster.core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=CLAIM),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name=OLD_SC,
                                                resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}))))
    old = cluster.core.read_namespaced_persistent_volume_claim(CLAIM, namespace)
    base = {"migrate_pvc_name": CLAIM, "migrate_pvc_namespace": namespace, "migrate_pvc_storage_class": NEW_SC,
            "migrate_pvc_wait_timeout": 60}

    confirm = "%s/%s" % (namespace, CLAIM)
    # The survey's defaults: no confirmation, rollback "false". Refused, nothing changed, whether
    # AWX tags the answers !unsafe (its default; ansible-core then reads "false" as false) or not
    # (ALLOW_JINJA_IN_EXTRA_VARS=always: the play gets the string "false").
    for dump in (safe_dump, yaml_dump):
        sent, refused = launch(cluster, tmp_path, base, dump)
        assert "migrate_pvc_confirm" not in sent and sent["migrate_pvc_rollback"] == "false"
        assert sent["migrate_pvc_wait_timeout"] == 60 and "migrate_pvc_size" not in sent
        assert refused.returncode != 0 and "Nothing was changed" in refused.stdout, refused.stdout[-3000:]
        assert cluster.core.read_namespaced_persistent_volume_claim(CLAIM, namespace).metadata.uid == old.metadata.uid
    # A confirmation naming another claim: refused.
    other = launch(cluster, tmp_path, dict(base, migrate_pvc_confirm="%s/another" % namespace))[1]
    assert other.returncode != 0 and "does not name the claim this run would act on" in other.stdout, other.stdout[-3000:]

    # The claim named, rollback "false", as strings: migrated to the new class, not rolled back.
    done = launch(cluster, tmp_path, dict(base, migrate_pvc_confirm=confirm), yaml_dump)[1]
    assert done.returncode == 0, done.stdout[-4000:]
    new = cluster.core.read_namespaced_persistent_volume_claim(CLAIM, namespace)
    assert new.spec.storage_class_name == NEW_SC and new.metadata.uid != old.metadata.uid
    # AWX's controller keeps no file: the digest to roll back with is in the job's output.
    digest = re.search(r"migrate_pvc_rollback_digest=(sha256:[0-9a-f]{64})", done.stdout).group(1)

    # rollback "true" without the confirmation, or without the digest: refused; with both: the old claim is back.
    unconfirmed = launch(cluster, tmp_path, dict(base, migrate_pvc_rollback="true", migrate_pvc_rollback_digest=digest))[1]
    assert unconfirmed.returncode != 0 and "Nothing was changed" in unconfirmed.stdout, unconfirmed.stdout[-3000:]
    undigested = launch(cluster, tmp_path, dict(base, migrate_pvc_rollback="true", migrate_pvc_confirm=confirm))[1]
    assert undigested.returncode != 0 and "Give migrate_pvc_rollback_digest" in undigested.stdout, undigested.stdout[-3000:]
    rolled = launch(cluster, tmp_path, dict(base, migrate_pvc_rollback="true", migrate_pvc_confirm=confirm,
                                            migrate_pvc_rollback_digest=digest))[1]
    assert rolled.returncode == 0, rolled.stdout[-4000:]
    assert cluster.core.read_namespaced_persistent_volume_claim(CLAIM, namespace).spec.storage_class_name == OLD_SC


def test_hostile_answers_to_the_migrate_pvc_template_are_refused_before_anything_changes(cluster, namespace, tmp_path):
    """What a launcher who may only launch the template can try: a namespace off the admin's list,
    variables the survey does not ask (AWX refuses the launch), and, inside the survey, answers the
    role refuses with nothing changed (a claim name that is a template or a path, a confirmation
    for another claim)."""
    claim = "awx-hostile-claim"
    cluster.core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=claim),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name="standard",
                                                resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}))))
    survey_ = _survey([namespace])
    base = {"migrate_pvc_name": claim, "migrate_pvc_namespace": namespace, "migrate_pvc_storage_class": "other"}
    # AWX's launch checks: refused, no job starts.
    errors = job_extra_vars(survey_, dict(base, migrate_pvc_namespace="kube-system"))[1]
    assert errors == ["Value kube-system for 'migrate_pvc_namespace' expected to be one of ['%s']." % namespace]
    for variable, value in (("migrate_pvc_kubeconfig", "/root/.kube/config"), ("migrate_pvc_backup_dir", "/"),
                            ("migrate_pvc_delete_volume", "pvc-of-another-team"), ("confirm_data_loss", True),
                            ("ansible_python_interpreter", "/tmp/evil")):
        errors = job_extra_vars(survey_, dict(base, **{variable: value}))[1]
        assert errors == ["Variables %s are not allowed on launch." % variable], (variable, errors)
    # Inside the survey: the role refuses, nothing changes.
    before = cluster.core.read_namespaced_persistent_volume_claim(claim, namespace).metadata.resource_version
    for answers, expected in (
            (dict(base, migrate_pvc_name="{{ lookup('pipe', 'id') }}", migrate_pvc_confirm=namespace + "/x"),
             "migrate_pvc_name"),
            (dict(base, migrate_pvc_name="../../etc", migrate_pvc_confirm=namespace + "/x"), "migrate_pvc_name"),
            (dict(base, migrate_pvc_confirm="kube-system/" + claim), "does not name the claim this run would act on")):
        proc = launch(cluster, tmp_path, answers)[1]
        assert proc.returncode != 0 and expected in proc.stdout, (answers, proc.stdout[-3000:])
        assert "uid=" not in proc.stdout, "a template in an answer is never run"
    assert cluster.core.read_namespaced_persistent_volume_claim(claim, namespace).metadata.resource_version == before
