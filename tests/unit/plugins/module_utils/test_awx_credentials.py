"""Which Kubernetes credential each AWX job template gets: the shared one, or one per playbook
from gpufleet_awx_kubernetes_credentials (module_utils/awx_credentials.py, pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.module_utils.awx_credentials import entry_problems, plan, playbook_key

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
NAMES = {"machine": "gpufleet machine", "kubernetes": "gpufleet kubernetes", "vault": "gpufleet vault"}
CA = "-----BEGIN CERTIFICATE-----\nQ0EtYm9keQ==\n-----END CERTIFICATE-----\n"
TOKEN = "sa-TOKEN-storage"


def templates():
    with open(os.path.join(REPO, "playbooks", "vars", "awx_job_templates.yml")) as handle:
        return yaml.safe_load(handle)["gpufleet_awx_job_templates"]


def inputs(key, **change):
    """What cluster_access writes to <key>.awx.json."""
    return dict({"host": "https://api.example.com:6443", "bearer_token": "sa-TOKEN-%s" % key, "ssl_ca_cert": CA,
                 "verify_ssl": True}, **change)


def full():
    return dict((playbook_key(t["playbook"]), inputs(playbook_key(t["playbook"]))) for t in templates()
                if "kubernetes" in t["credentials"])


def test_playbook_key_is_cluster_accesss():
    with open(os.path.join(REPO, "roles", "cluster_access", "files", "rules.yml")) as handle:
        rules = yaml.safe_load(handle)["playbooks"]
    assert all(playbook_key(rule["playbook"]) == key for key, rule in rules.items())
    # Every job template that takes a Kubernetes credential has a cluster_access account.
    assert set(full()) <= set(rules)


def test_no_map_gives_every_template_the_shared_credential():
    result = plan({}, templates(), NAMES, {"host": "https://shared:6443", "verify_ssl": True})
    assert result["problems"] == [] and result["per_playbook"] is False
    assert [c["name"] for c in result["credentials"]] == ["gpufleet kubernetes"]
    assert result["credentials"][0]["host"] == "https://shared:6443"
    assert sorted(result["credentials"][0]["templates"]) == sorted(t["name"] for t in templates())
    for template in templates():
        assert result["template_credentials"][template["name"]] == ["gpufleet %s" % k for k in template["credentials"]]


def test_a_map_gives_each_template_the_credential_of_its_playbook():
    result = plan(full(), templates(), NAMES)
    assert result["problems"] == [] and result["per_playbook"] is True
    made = dict((c["playbook"], c) for c in result["credentials"])
    assert sorted(made) == sorted(full())
    for template in templates():
        key = playbook_key(template["playbook"])
        assert made[key]["name"] == "gpufleet kubernetes " + key and template["name"] in made[key]["templates"]
        # The kinds' order is kept; only kubernetes is replaced.
        assert result["template_credentials"][template["name"]] == [
            ("gpufleet kubernetes " + key) if k == "kubernetes" else NAMES[k] for k in template["credentials"]]
    assert "gpufleet kubernetes" not in [c["name"] for c in result["credentials"]]


def test_the_plan_holds_no_token_or_certificate():
    result = plan(full(), templates(), NAMES)
    text = json.dumps(result)
    assert "sa-TOKEN" not in text and "Q0EtYm9keQ" not in text


def test_two_templates_of_one_playbook_share_its_credential():
    jts = templates() + [{"name": "gpufleet validate nightly", "playbook": "playbooks/validate.yml",
                          "credentials": ["kubernetes"]}]
    result = plan(full(), jts, NAMES)
    validate = [c for c in result["credentials"] if c["playbook"] == "validate"]
    assert len(validate) == 1 and validate[0]["templates"] == ["gpufleet validate", "gpufleet validate nightly"]
    assert result["template_credentials"]["gpufleet validate nightly"] == ["gpufleet kubernetes validate"]


def test_a_template_without_the_kubernetes_kind_needs_no_entry():
    jts = templates() + [{"name": "nodes", "playbook": "playbooks/prepare_nodes.yml", "credentials": ["machine"]}]
    result = plan(full(), jts, NAMES)
    assert result["problems"] == [] and result["template_credentials"]["nodes"] == ["gpufleet machine"]


def test_a_missing_entry_is_refused_not_given_the_shared_token():
    partial = dict((k, v) for k, v in full().items() if k != "migrate_pvc")
    result = plan(partial, templates(), NAMES)
    assert len(result["problems"]) == 1
    problem = result["problems"][0]
    assert problem.startswith("gpufleet_awx_kubernetes_credentials has no entry for migrate_pvc, the playbook of the "
                              "job template(s) 'gpufleet migrate_pvc'")
    assert "none falls back to the shared one" in problem and "/migrate_pvc.awx.json" in problem
    assert "migrate_pvc" not in [c["playbook"] for c in result["credentials"]]


def test_a_key_naming_no_templates_playbook_is_refused():
    result = plan(dict(full(), model_storage=inputs("model_storage"), stroage=inputs("stroage")), templates(), NAMES)
    assert len(result["problems"]) == 2
    assert result["problems"][0].startswith("gpufleet_awx_kubernetes_credentials['model_storage'] names no playbook of "
                                            "a job template that takes a Kubernetes credential; the keys are "
                                            "migrate_pvc, observability, site, storage, tensor_fusion_rollout, validate")
    assert "['stroage']" in result["problems"][1]
    assert not any("sa-TOKEN" in p for p in result["problems"])


BAD = [
    ("host_missing", {"host": ""}, ["gpufleet_awx_kubernetes_credentials['storage'].host='' is not the API server's "
                                    "https URL; set it to e.g. https://api.cluster.example.com:6443"]),
    ("host_http", {"host": "http://api:6443"}, ["['storage'].host='http://api:6443' is not the API server's https URL"]),
    ("host_not_text", {"host": 6443}, ["['storage'].host=a int is not"]),
    ("token_empty", {"bearer_token": ""}, ["gpufleet_awx_kubernetes_credentials['storage'].bearer_token is empty or not "
                                           "text (value hidden)", "storage.awx.json"]),
    ("token_blank", {"bearer_token": "  "}, ["['storage'].bearer_token is empty"]),
    ("ca_not_pem", {"ssl_ca_cert": "sa-TOKEN-in-the-wrong-field"},
     ["gpufleet_awx_kubernetes_credentials['storage'].ssl_ca_cert is not a PEM certificate (value hidden)"]),
    ("verify_unclear", {"verify_ssl": "maybe"}, ["['storage'].verify_ssl='maybe' must be true or false"]),
    ("unknown_input", {"token": "sa-TOKEN-x"}, ["['storage'] has the inputs token, which the credential type has not; "
                                                "the inputs are host, bearer_token, ssl_ca_cert, verify_ssl"]),
]


@pytest.mark.parametrize("change, expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_entry_is_refused_naming_it_never_its_token(change, expected):
    result = plan(dict(full(), storage=inputs("storage", **change)), templates(), NAMES)
    joined = " | ".join(result["problems"])
    # One problem, of that input alone.
    assert len(result["problems"]) == 1, result["problems"]
    for text in expected:
        assert text in joined, (text, joined)
    assert "sa-TOKEN" not in joined


def test_missing_inputs_are_each_named():
    problems = entry_problems("validate", {})
    assert len(problems) == 2
    assert "['validate'].host=''" in problems[0] and "['validate'].bearer_token is empty" in problems[1]


def test_without_ca_and_with_verify_as_text_is_fine():
    assert entry_problems("site", {"host": "https://a:6443", "bearer_token": "t", "verify_ssl": "false"}) == []
    made = plan(dict(full(), site={"host": "https://a:6443", "bearer_token": "t", "verify_ssl": "false"}),
                templates(), NAMES)["credentials"]
    assert [c["verify_ssl"] for c in made if c["playbook"] == "site"] == [False]


@pytest.mark.parametrize("raw", [json.dumps(inputs("storage")), ["sa-TOKEN-storage"]], ids=["json_text", "list"])
def test_an_entry_not_loaded_with_from_json_is_refused_hidden(raw):
    problems = plan(dict(full(), storage=raw), templates(), NAMES)["problems"]
    assert len(problems) == 1 and "sa-TOKEN" not in problems[0]
    assert problems[0].startswith("gpufleet_awx_kubernetes_credentials['storage'] is not a mapping of the "
                                  "credential's inputs (a %s, value hidden)" % type(raw).__name__)
    assert "lookup('file', dir ~ '/storage.awx.json') | from_json" in problems[0]


def test_the_map_itself_must_be_a_mapping():
    problems = plan("sa-TOKEN-all", templates(), NAMES)["problems"]
    assert len(problems) == 1 and "sa-TOKEN" not in problems[0]
    assert problems[0].startswith("gpufleet_awx_kubernetes_credentials is not a mapping of playbook name -> "
                                  "credential inputs (a str, value hidden)")
