"""plugin_utils.redaction and plugin_utils.tensor_fusion.credentials: which values are credentials,
what a task may show of them, which the tensor-fusion chart would render outside a Secret, and the
confirmation that accepts them by name (pure, no mocks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import redaction, role_plan
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import credentials, plan

REPO = Path(__file__).resolve().parents[4]
# An AlertManager configuration with one credential of each kind Alertmanager types as <secret>.
ALERTMANAGER = {
    "global": {"smtp_auth_password": "am-smtp-pa55", "slack_api_url": "https://hooks.slack.com/services/T0/B0/am-slack",
               "resolve_timeout": "5m", "opsgenie_api_url": "https://api.opsgenie.com/"},
    "receivers": [
        {"name": "pager", "pagerduty_configs": [{"routing_key": "am-routing-key", "url": "https://events.pagerduty.com"}]},
        {"name": "hook", "webhook_configs": [{"url": "https://hooks.example.com/am-webhook-token", "send_resolved": True}]},
        {"name": "mail", "email_configs": [{"to": "ops@example.com", "auth_password": "am-mail-pa55",
                                            "auth_password_file": "/etc/am/pass"}]},
        {"name": "http", "webhook_configs": [{"url": "https://user:am-userinfo@hooks.example.com/",
                                              "http_config": {"authorization": {"credentials": "am-bearer"},
                                                              "basic_auth": {"username": "u", "password": "am-basic"}}}]},
    ],
    "route": {"receiver": "pager"},
}
SECRETS = ["am-smtp-pa55", "https://hooks.slack.com/services/T0/B0/am-slack", "am-routing-key",
           "https://hooks.example.com/am-webhook-token", "am-mail-pa55", "https://user:am-userinfo@hooks.example.com/",
           "am-bearer", "am-basic"]


def test_every_alertmanager_secret_is_found_and_nothing_else():
    assert sorted(redaction.secret_values(ALERTMANAGER)) == sorted(SECRETS)
    paths = redaction.secret_paths(ALERTMANAGER)
    assert "receivers[1].webhook_configs[0].url" in paths and "global.slack_api_url" in paths
    # Endpoints, names, files and booleans are not credentials.
    assert not any(p.endswith(("opsgenie_api_url", "pagerduty_configs[0].url", "auth_password_file", "send_resolved",
                               "username", "to")) for p in paths)


@pytest.mark.parametrize("value", [
    {"automountServiceAccountToken": False},
    {"tls": {"secretName": "queue-tls"}},
    {"existingSecret": "creds"},
    {"tokenFile": "/var/run/token"},
    {"imagePullSecrets": [{"name": "regcred"}]},
    {"password": ""},
    {"url": "https://example.com/not-a-receiver"},
])
def test_names_references_and_empty_values_are_not_credentials(value):
    assert redaction.secret_paths(value) == []


def test_redact_replaces_each_credential_and_keeps_the_rest():
    shown = redaction.redact(ALERTMANAGER)
    text = repr(shown)
    assert not any(secret in text for secret in SECRETS)
    assert shown["receivers"][2]["email_configs"][0]["to"] == "ops@example.com"
    assert shown["global"]["smtp_auth_password"] == redaction.REDACTED
    assert shown["receivers"][1]["webhook_configs"][0] == {"url": redaction.REDACTED, "send_resolved": True}
    assert ALERTMANAGER["global"]["smtp_auth_password"] == "am-smtp-pa55", "the input is not changed"


def test_scrub_takes_out_secrets_and_their_base64_form_longest_first():
    token = "am-token-1234"
    text = "helm: Secret data %s was refused (%s, %s)" % (base64.b64encode(token.encode()).decode(), token, token + "-long")
    out = redaction.scrub(text, [token, token + "-long", "ab", None])
    assert token not in out and base64.b64encode(token.encode()).decode() not in out
    assert out.count(redaction.REDACTED) == 3
    assert redaction.scrub("a b", ["ab"]) == "a b", "too short to be taken out of ordinary words"


def test_a_credential_outside_a_secret_is_refused_naming_the_path_the_place_and_the_fix_never_the_value():
    values = {"alert": {"enabled": True, "alertManagerConfig": ALERTMANAGER}, "agent": {"enrollToken": "tf-enroll-1"},
              "cloudVendorCredentials": {"accessKey": "ak-1", "secretKey": "sk-1"}}
    found = credentials.problems(values, [], "tensor-fusion-sys")
    text = " ".join(found)
    assert len(found) == 2
    assert "ConfigMap tensor-fusion-sys-alert-manager-config" in found[1] and "alert.alertManagerConfig.global.smtp_auth_password" in found[1]
    assert "tensor_fusion_alertmanager_mode: existing" in found[1]
    assert "controller Deployment" in found[0] and "add 'agent.enrollToken' to tensor_fusion_credentials_outside_secrets" in found[0]
    assert not any(secret in text for secret in SECRETS + ["tf-enroll-1", "ak-1", "sk-1"])


def test_the_confirmation_accepts_by_name_only_what_the_run_would_render():
    values = {"alert": {"alertManagerConfig": ALERTMANAGER}, "greptime": {"password": "gt-pa55"}}
    assert credentials.problems(values, ["alert.alertManagerConfig", "greptime.password"], "r") == []
    assert credentials.problems(values, ["alert.alertManagerConfig"], "r")[0].startswith(
        "tensor_fusion_greptimedb_password (chart value greptime.password, Greptime Cloud) would put a credential")
    stale = credentials.problems({"alert": {"alertManagerConfig": {"receivers": [{"name": "x"}]}}},
                                 ["alert.alertManagerConfig"], "r")
    assert stale == ["tensor_fusion_credentials_outside_secrets names 'alert.alertManagerConfig', but no credential "
                     "would be rendered there by this run (it confirms only what the run would do: remove it)"]
    assert "is not a list" in credentials.problems(values, "yes", "r")[0]


def test_the_plan_refuses_unaccepted_credentials_before_reading_anything_and_scrubs_helm_errors():
    given = role_plan.unprefixed("tensor_fusion", yaml.safe_load((REPO / "roles" / "tensor_fusion" / "defaults" / "main.yml").read_text()))
    given.update(greptimedb_nfs_server="10.89.40.10")
    given["alertmanager_config"] = {"receivers": [{"name": "hook", "webhook_configs": [{"url": "https://h/tok-1"}]}],
                                    "route": {"receiver": "hook"}}
    refused = plan.plan(given)
    assert len(refused["problems"]) == 1 and "tok-1" not in refused["problems"][0]
    assert "cluster_object" not in refused, "nothing else is planned before the credential is accepted"
    given["credentials_outside_secrets"] = ["alert.alertManagerConfig"]
    accepted = plan.plan(given)
    assert accepted["problems"] == []
    failure = plan.plan(given, observed={"failure": "Error: UPGRADE FAILED: https://h/tok-1 aHR0cHM6Ly9oL3Rvay0x"})
    assert failure["failure_message"] == "Error: UPGRADE FAILED: <redacted> <redacted>"
