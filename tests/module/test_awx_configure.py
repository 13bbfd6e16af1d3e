"""playbooks/awx_configure.yml run for real, up to the controller: its preflight refuses bad input
before any awx.awx task, and with gpufleet_awx_render_to it writes the job templates and surveys
it would send -- made by the playbook from the roles' argument specs, as AWX would get them."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from playbook_env import REPO, environment

sys.path.insert(0, os.path.join(REPO, "tests"))
from unit.plugins.module_utils.awx_rules import display_survey_spec, validate_spec_data  # noqa: E402 pylint: disable=wrong-import-position

PLAYBOOK = os.path.join(REPO, "playbooks", "awx_configure.yml")
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END OPENSSH PRIVATE KEY-----\n"
GOOD = {
    "gpufleet_awx_host": "https://awx.example.com",
    "gpufleet_awx_token": "tok-SECRET-1",
    "gpufleet_awx_scm_url": "https://git.example.com/ops/gpufleet-cluster.git",
    "gpufleet_awx_ee_image": "localhost/gpufleet-ee:0123abcd",
    "gpufleet_awx_inventory_source_path": "inventories/mycluster/hosts.yml",
    "gpufleet_awx_machine_username": "ops",
    "gpufleet_awx_machine_ssh_key": KEY,
    "gpufleet_awx_kubernetes_host": "https://127.0.0.1:6443",
    "gpufleet_awx_kubernetes_token": "k8s-SECRET-2",
    "gpufleet_awx_vault_password": "vault-SECRET-3",
}
SECRETS = ["tok-SECRET-1", "c2VjcmV0LWtleS1ib2R5", "k8s-SECRET-2", "vault-SECRET-3"]


def run(tmp_path, extra, *args):
    cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", PLAYBOOK, "-e", json.dumps(extra)] + list(args)
    env = dict(environment(), ANSIBLE_STDOUT_CALLBACK="default")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False,
                          stdin=subprocess.DEVNULL, timeout=300)


def test_render_writes_the_job_templates_with_surveys_from_the_argument_specs(tmp_path):
    proc = run(tmp_path, dict(GOOD, gpufleet_awx_render_to=str(tmp_path)))
    assert proc.returncode == 0, proc.stdout[-3000:]
    objects = json.loads((tmp_path / "awx_objects.json").read_text())
    with open(os.path.join(REPO, "playbooks", "vars", "awx_job_templates.yml")) as handle:
        contract = yaml.safe_load(handle)["gpufleet_awx_job_templates"]
    assert [t["name"] for t in objects["job_templates"]] == [t["name"] for t in contract]
    assert objects["execution_environment"]["image"] == "localhost/gpufleet-ee:0123abcd"
    assert objects["credentials"] == ["gpufleet kubernetes", "gpufleet machine", "gpufleet vault"]
    for made, wanted in zip(objects["job_templates"], contract):
        assert made["playbook"] == wanted["playbook"]
        # AWX turns host key checking off for every job; the templates turn it back on.
        assert made["extra_vars"] == dict({"ansible_ssh_host_key_checking": True}, **wanted["extra_vars"])
        assert made["credentials"] == ["gpufleet %s" % kind for kind in wanted["credentials"]]
        if not wanted["survey_roles"]:
            assert made["survey_enabled"] is False and made["survey_spec"] == {}
            continue
        assert made["survey_enabled"] is True
        spec = made["survey_spec"]
        stored = json.loads(json.dumps(spec))
        assert validate_spec_data(stored) is None and display_survey_spec(stored) == spec
        # Exactly the template's allow-list, in its order.
        assert [q["variable"] for q in spec["spec"]] == wanted["survey"]
        for variable, override in wanted.get("survey_overrides", {}).items():
            question = [q for q in spec["spec"] if q["variable"] == variable][0]
            assert dict((k, question[k]) for k in override) == override
        assert all(s["reason"] for s in made["survey_skipped"])
    assert not any(secret in (tmp_path / "awx_objects.json").read_text() for secret in SECRETS)
    assert "Stop before the controller" in proc.stdout or "awx.awx" not in proc.stdout


CASES = [
    ({"gpufleet_awx_host": ""}, ["gpufleet_awx_host='' is not the controller's URL", "https://awx.example.com"]),
    ({"gpufleet_awx_host": "awx.example.com"}, ["gpufleet_awx_host='awx.example.com' is not the controller's URL"]),
    ({"gpufleet_awx_token": ""}, ["gpufleet_awx_token is empty", "token"]),
    ({"gpufleet_awx_scm_url": "/srv/git/gpufleet"}, ["gpufleet_awx_scm_url='/srv/git/gpufleet' is not a git URL AWX can clone",
                                                     "https://git.example.com/ops/gpufleet-cluster.git"]),
    ({"gpufleet_awx_ee_image": ""}, ["gpufleet_awx_ee_image='' is not an image reference", "must first be pushed"]),
    ({"gpufleet_awx_ee_pull": "sometimes"}, ["gpufleet_awx_ee_pull='sometimes' must be always, missing or never"]),
    ({"gpufleet_awx_inventory_source_path": "../hosts.yml"},
     ["gpufleet_awx_inventory_source_path='../hosts.yml' must be the inventory's path inside the project"]),
    ({"gpufleet_awx_request_timeout": "soon"}, ["gpufleet_awx_request_timeout='soon' must be a number of seconds > 0"]),
    ({"gpufleet_awx_validate_certs": "maybe"}, ["gpufleet_awx_validate_certs='maybe' must be true or false"]),
    ({"gpufleet_awx_machine_ssh_key": "ssh-ed25519 AAAA"}, ["gpufleet_awx_machine_ssh_key is not a private key (value hidden)"]),
    ({"gpufleet_awx_kubernetes_host": "127.0.0.1:6443"},
     ["gpufleet_awx_kubernetes_host='127.0.0.1:6443' is not the API server's https URL", "K8S_AUTH_HOST"]),
    ({"gpufleet_awx_vault_password": ""}, ["gpufleet_awx_vault_password is empty"]),
    ({"gpufleet_awx_job_templates": [{"name": "x", "playbook": "site.yml", "credentials": ["kubernetes"], "extra_vars": {},
                                      "survey_roles": ["nope"]}]},
     ["job template 'x' must name a playbook under playbooks/", "roles/nope/meta/argument_specs.yml is missing"]),
    ({"gpufleet_awx_job_templates": [{"name": "x", "playbook": "playbooks/storage.yml", "credentials": ["kubernetes"],
                                      "extra_vars": {}, "survey_roles": ["linstor"]}]},
     ["job template 'x' has survey_roles but no survey (the list of variables a launcher may choose)"]),
    ({"gpufleet_awx_job_templates": [{"name": "x", "playbook": "playbooks/storage.yml", "credentials": ["kubernetes"],
                                      "extra_vars": {}, "survey_roles": ["linstor"],
                                      "survey": ["linstor_wait_timeout", "linstor_chart_ref", "linstor_state"]}]},
     ["survey asks linstor_chart_ref, which a launcher may not choose (what runs in the cluster (a chart or an image "
      "reference)): set it in the job template's extra_vars, or list the values a launcher may pick in survey_choices",
      "survey asks linstor_state, which a launcher may not choose (a state or a switch that deletes or overwrites)"]),
]


@pytest.mark.parametrize("change, expected", CASES, ids=[sorted(c[0])[0] for c in CASES])
def test_preflight_refuses_before_the_controller(tmp_path, change, expected):
    proc = run(tmp_path, dict(GOOD, **change))
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    for text in expected:
        assert text in out, (text, out[-3000:])
    # It stopped in a check, before any awx.awx task.
    assert "TASK [Check " in proc.stdout and "TASK [Execution environment]" not in proc.stdout


def test_the_sites_lists_replace_what_a_launcher_may_pick(tmp_path):
    choices = {"gpufleet migrate_pvc": {"migrate_pvc_namespace": ["team-a", "team-b"]}}
    proc = run(tmp_path, dict(GOOD, gpufleet_awx_render_to=str(tmp_path), gpufleet_awx_survey_choices=choices))
    assert proc.returncode == 0, proc.stdout[-3000:]
    objects = json.loads((tmp_path / "awx_objects.json").read_text())
    spec = [t for t in objects["job_templates"] if t["name"] == "gpufleet migrate_pvc"][0]["survey_spec"]["spec"]
    namespace = [q for q in spec if q["variable"] == "migrate_pvc_namespace"][0]
    assert namespace["type"] == "multiplechoice" and namespace["choices"] == ["team-a", "team-b"]
    assert namespace["required"] is True and "default" not in namespace


def test_host_key_checking_can_be_left_to_awx(tmp_path):
    proc = run(tmp_path, dict(GOOD, gpufleet_awx_render_to=str(tmp_path), gpufleet_awx_host_key_checking=False))
    assert proc.returncode == 0, proc.stdout[-3000:]
    objects = json.loads((tmp_path / "awx_objects.json").read_text())
    assert all(t["extra_vars"] == {} for t in objects["job_templates"])


def test_no_secret_in_the_output_even_at_vvv(tmp_path):
    # The other secrets are fine, the vault password missing: the credential check reads them
    # all and fails, and nothing printed may hold one.
    proc = run(tmp_path, dict(GOOD, gpufleet_awx_vault_password=""), "-vvv")
    assert proc.returncode != 0 and "gpufleet_awx_vault_password is empty" in proc.stdout
    for secret in SECRETS:
        assert secret not in proc.stdout + proc.stderr


def test_unknown_credential_kind_is_refused(tmp_path):
    templates = [{"name": "x", "playbook": "playbooks/site.yml", "credentials": ["aws"], "extra_vars": {}, "survey_roles": []}]
    proc = run(tmp_path, dict(GOOD, gpufleet_awx_job_templates=templates))
    assert proc.returncode != 0
    assert "gpufleet_awx_job_templates names credential kinds aws; the kinds are machine, kubernetes and vault" in proc.stdout


# As cluster_access writes them (<playbook>.awx.json), loaded as docs/awx.md says.
CA = "-----BEGIN CERTIFICATE-----\nQ0EtYm9keQ==\n-----END CERTIFICATE-----\n"
PER_PLAYBOOK = ("site", "storage", "observability", "validate", "migrate_pvc", "tensor_fusion_rollout")


def awx_json(tmp_path, keys=PER_PLAYBOOK):
    """Writes <key>.awx.json per key; returns the gpufleet_awx_kubernetes_credentials that load them."""
    folder = tmp_path / "credentials"
    folder.mkdir(exist_ok=True)
    for key in keys:
        (folder / ("%s.awx.json" % key)).write_text(json.dumps({
            "host": "https://api-%s.example.com:6443" % key.replace("_", "-"), "bearer_token": "sa-SECRET-%s" % key,
            "ssl_ca_cert": CA, "verify_ssl": True}))
    return dict((key, "{{ lookup('file', '%s/%s.awx.json') | from_json }}" % (folder, key)) for key in keys)


def test_render_gives_each_template_the_credential_of_its_playbook(tmp_path):
    proc = run(tmp_path, dict(GOOD, gpufleet_awx_render_to=str(tmp_path),
                              gpufleet_awx_kubernetes_credentials=awx_json(tmp_path)), "-vvv")
    assert proc.returncode == 0, proc.stdout[-3000:]
    rendered = (tmp_path / "awx_objects.json").read_text()
    objects = json.loads(rendered)
    assert objects["credentials"] == sorted(["gpufleet machine", "gpufleet vault"]
                                            + ["gpufleet kubernetes %s" % key for key in PER_PLAYBOOK])
    made = dict((c["playbook"], c) for c in objects["kubernetes_credentials"])
    assert sorted(made) == sorted(PER_PLAYBOOK)
    with open(os.path.join(REPO, "playbooks", "vars", "awx_job_templates.yml")) as handle:
        contract = dict((t["name"], t) for t in yaml.safe_load(handle)["gpufleet_awx_job_templates"])
    for template in objects["job_templates"]:
        key = os.path.basename(template["playbook"])[:-len(".yml")]
        assert template["credentials"] == [("gpufleet kubernetes %s" % key) if kind == "kubernetes" else "gpufleet %s" % kind
                                           for kind in contract[template["name"]]["credentials"]]
        assert made[key]["host"] == "https://api-%s.example.com:6443" % key.replace("_", "-")
        assert template["name"] in made[key]["templates"] and made[key]["verify_ssl"] is True
    # The shared credential is neither made nor attached; its inputs are not needed.
    assert "gpufleet kubernetes" not in objects["credentials"]
    for secret in ["sa-SECRET-%s" % key for key in PER_PLAYBOOK] + SECRETS:
        assert secret not in rendered and secret not in proc.stdout + proc.stderr, secret
    assert "Q0EtYm9keQ" not in rendered


def test_per_playbook_credentials_need_no_shared_inputs(tmp_path):
    proc = run(tmp_path, dict(GOOD, gpufleet_awx_render_to=str(tmp_path), gpufleet_awx_kubernetes_host="",
                              gpufleet_awx_kubernetes_token="", gpufleet_awx_kubernetes_credentials=awx_json(tmp_path)))
    assert proc.returncode == 0, proc.stdout[-3000:]
    objects = json.loads((tmp_path / "awx_objects.json").read_text())
    assert len(objects["kubernetes_credentials"]) == len(PER_PLAYBOOK)


def _entry(key, **change):
    return dict({"host": "https://api.example.com:6443", "bearer_token": "sa-SECRET-%s" % key, "ssl_ca_cert": CA,
                 "verify_ssl": True}, **change)


PER_PLAYBOOK_CASES = [
    ("missing_entry", [k for k in PER_PLAYBOOK if k != "migrate_pvc"], {},
     ["gpufleet_awx_kubernetes_credentials has no entry for migrate_pvc, the playbook of the job template(s) "
      "'gpufleet migrate_pvc'", "none falls back to the shared one"]),
    ("unknown_key", PER_PLAYBOOK, {"model_storage": _entry("model_storage")},
     ["gpufleet_awx_kubernetes_credentials['model_storage'] names no playbook of a job template that takes a "
      "Kubernetes credential; the keys are migrate_pvc, observability, site, storage, tensor_fusion_rollout, validate"]),
    ("bad_host", PER_PLAYBOOK, {"storage": _entry("storage", host="api.example.com:6443")},
     ["gpufleet_awx_kubernetes_credentials['storage'].host='api.example.com:6443' is not the API server's https URL"]),
    ("empty_token", PER_PLAYBOOK, {"validate": _entry("validate", bearer_token="")},
     ["gpufleet_awx_kubernetes_credentials['validate'].bearer_token is empty or not text (value hidden)"]),
    ("ca_not_pem", PER_PLAYBOOK, {"site": _entry("site", ssl_ca_cert="sa-SECRET-pasted-here")},
     ["gpufleet_awx_kubernetes_credentials['site'].ssl_ca_cert is not a PEM certificate (value hidden)"]),
    ("not_from_json", PER_PLAYBOOK, {"observability": json.dumps(_entry("observability"))},
     ["gpufleet_awx_kubernetes_credentials['observability'] is not a mapping of the credential's inputs (a str, value "
      "hidden); load the file cluster_access wrote with from_json"]),
]


@pytest.mark.parametrize("keys, change, expected", [c[1:] for c in PER_PLAYBOOK_CASES], ids=[c[0] for c in PER_PLAYBOOK_CASES])
def test_preflight_refuses_bad_per_playbook_credentials(tmp_path, keys, change, expected):
    credentials = dict(awx_json(tmp_path, keys), **change)
    proc = run(tmp_path, dict(GOOD, gpufleet_awx_render_to=str(tmp_path), gpufleet_awx_kubernetes_credentials=credentials),
               "-vvv")
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    for text in expected:
        assert text in out, (text, out[-3000:])
    assert "TASK [Check the credentials the job templates need]" in proc.stdout
    assert "TASK [Execution environment]" not in proc.stdout and not (tmp_path / "awx_objects.json").exists()
    assert "sa-SECRET" not in proc.stdout + proc.stderr
