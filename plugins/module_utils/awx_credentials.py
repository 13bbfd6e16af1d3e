# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Kubernetes credential each AWX job template gets (playbooks/awx_configure.yml).

Either one shared credential for every job template that takes the kubernetes kind, or, when
``gpufleet_awx_kubernetes_credentials`` maps playbook names (the cluster_access role's keys:
storage, validate, ...) to credential inputs, one credential per playbook, attached to the
templates of that playbook. The plan returned holds names, playbooks and API server URLs only:
no token, no certificate, so it may be printed and rendered. Problems name the entry and the
input, never a token's value."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

VARIABLE = "gpufleet_awx_kubernetes_credentials"
# The inputs of AWX's managed credential type "OpenShift or Kubernetes API Bearer Token"
# (kubernetes_bearer_token), which cluster_access writes to <playbook>.awx.json.
INPUTS = ("host", "bearer_token", "ssl_ca_cert", "verify_ssl")
KIND = "kubernetes"
_HTTPS = re.compile(r"^https://[^/\s]+")
_PEM = re.compile(r"^\s*-----BEGIN CERTIFICATE-----")


def playbook_key(playbook):
    """The playbook's name as cluster_access keys it: playbooks/storage.yml -> storage."""
    name = str(playbook).rsplit("/", 1)[-1]
    return name[:-len(".yml")] if name.endswith(".yml") else name


def _flag(value):
    """True / False for a boolean or its spelling 'true' / 'false', else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def entry_problems(key, inputs):
    """What is wrong with one entry's credential inputs; a token or certificate is never shown."""
    where = "%s['%s']" % (VARIABLE, key)
    if not isinstance(inputs, dict):
        return ["%s is not a mapping of the credential's inputs (a %s, value hidden); load the file cluster_access "
                "wrote with from_json, e.g. \"{{ lookup('file', dir ~ '/%s.awx.json') | from_json }}\""
                % (where, type(inputs).__name__, key)]
    problems = []
    unknown = sorted(str(name) for name in inputs if name not in INPUTS)
    if unknown:
        problems.append("%s has the inputs %s, which the credential type has not; the inputs are %s"
                        % (where, ", ".join(unknown), ", ".join(INPUTS)))
    host = inputs.get("host", "")
    if not isinstance(host, str) or not _HTTPS.match(host):
        shown = ("'%s'" % host) if isinstance(host, str) else "a %s" % type(host).__name__
        problems.append("%s.host=%s is not the API server's https URL; set it to e.g. https://api.cluster.example.com:6443 "
                        "(it becomes K8S_AUTH_HOST)" % (where, shown))
    token = inputs.get("bearer_token", "")
    if not isinstance(token, str) or not token.strip():
        problems.append("%s.bearer_token is empty or not text (value hidden); set it to the playbook's ServiceAccount "
                        "token, as cluster_access writes it to %s.awx.json (it becomes K8S_AUTH_API_KEY)" % (where, key))
    ca_cert = inputs.get("ssl_ca_cert", "")
    if ca_cert not in ("", None) and not (isinstance(ca_cert, str) and _PEM.match(ca_cert)):
        problems.append("%s.ssl_ca_cert is not a PEM certificate (value hidden); set it to the API server's CA "
                        "(-----BEGIN CERTIFICATE----- ...) or leave it out" % where)
    if "verify_ssl" in inputs and _flag(inputs["verify_ssl"]) is None:
        problems.append("%s.verify_ssl='%s' must be true or false" % (where, inputs["verify_ssl"]))
    return problems


def plan(per_playbook, templates, names, shared=None):
    """The Kubernetes credentials to create and each job template's credential names.

    per_playbook: playbook name -> credential inputs (empty: the shared credential);
    templates: gpufleet_awx_job_templates (name, playbook, credentials: kinds);
    names: kind -> credential name (gpufleet_awx_credential_names);
    shared: the shared credential's host and verify_ssl (never its token), for the plan.

    Returns {problems, per_playbook (bool), credentials: [{name, playbook, host, verify_ssl,
    templates}], template_credentials: {template name: [credential names]}}."""
    shared = shared or {}
    problems = []
    if per_playbook in (None, ""):
        per_playbook = {}
    if not isinstance(per_playbook, dict):
        problems.append("%s is not a mapping of playbook name -> credential inputs (a %s, value hidden); set it to "
                        "e.g. {storage: \"{{ lookup('file', dir ~ '/storage.awx.json') | from_json }}\"}, or leave it "
                        "empty for the one shared credential" % (VARIABLE, type(per_playbook).__name__))
        per_playbook = {}
    shared_name = names.get(KIND, KIND)
    wanted = {}
    for template in templates:
        if KIND in (template.get("credentials") or []):
            wanted.setdefault(playbook_key(template.get("playbook", "")), []).append(template.get("name"))
    credentials = []
    chosen = {}
    if per_playbook:
        for key in sorted(per_playbook, key=str):
            if key not in wanted:
                problems.append("%s['%s'] names no playbook of a job template that takes a Kubernetes credential; the "
                                "keys are %s (the playbooks of gpufleet_awx_job_templates): remove the entry or fix "
                                "its name" % (VARIABLE, key, ", ".join(sorted(wanted)) or "none"))
                continue
            problems.extend(entry_problems(key, per_playbook[key]))
        for key in sorted(wanted):
            if key not in per_playbook:
                problems.append("%s has no entry for %s, the playbook of the job template(s) %s: once any entry is "
                                "given, every template gets its own credential and none falls back to the shared "
                                "one. Add %s: \"{{ lookup('file', dir ~ '/%s.awx.json') | from_json }}\" (run "
                                "playbooks/cluster_access.yml for it), or leave %s empty"
                                % (VARIABLE, key, ", ".join("'%s'" % n for n in wanted[key]), key, key, VARIABLE))
                continue
            inputs = per_playbook[key] if isinstance(per_playbook[key], dict) else {}
            verify = _flag(inputs.get("verify_ssl", True))
            credentials.append({"name": "%s %s" % (shared_name, key), "playbook": key,
                                "host": inputs.get("host") if isinstance(inputs.get("host"), str) else "",
                                "verify_ssl": True if verify is None else verify, "templates": wanted[key]})
            chosen[key] = "%s %s" % (shared_name, key)
    elif wanted:
        verify = _flag(shared.get("verify_ssl", True))
        credentials.append({"name": shared_name, "playbook": "", "host": str(shared.get("host", "")),
                            "verify_ssl": True if verify is None else verify,
                            "templates": [n for key in sorted(wanted) for n in wanted[key]]})
        chosen = dict((key, shared_name) for key in wanted)
    template_credentials = {}
    for template in templates:
        kinds = template.get("credentials") or []
        template_credentials[template.get("name")] = [
            chosen.get(playbook_key(template.get("playbook", "")), shared_name) if kind == KIND else names.get(kind, kind)
            for kind in kinds]
    return {"problems": problems, "per_playbook": bool(per_playbook), "credentials": credentials,
            "template_credentials": template_credentials}
