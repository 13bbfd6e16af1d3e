# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster_access role's decisions: from the rules of roles/cluster_access/files/rules.yml
(what each playbook needs, by scope) and the role's variables, the ServiceAccount, token Secret,
ClusterRole, Roles and bindings of each playbook, and the kubeconfig each token goes into.

Pure functions over plain data; scripts/gen_rbac.py makes docs/rbac.md's tables from the same rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.gpufleet.cluster.plugins.module_utils.checks import (
    dns_label_problem, owned_namespace_problem, problem)
from ansible_collections.gpufleet.cluster.plugins.module_utils.node_inputs import path_problem

RULES_FILE = os.path.join("roles", "cluster_access", "files", "rules.yml")
RBAC = "rbac.authorization.k8s.io"
RBAC_API = RBAC + "/v1"
MANAGED_BY = {"app.kubernetes.io/managed-by": "gpufleet.cluster.cluster_access"}
# The keys of a rule that are the Kubernetes PolicyRule.
POLICY_KEYS = ("apiGroups", "resources", "resourceNames", "verbs")


def playbook_names(doc):
    return list(doc["playbooks"])


def playbook_rules(doc, name, upstream=True):
    """A playbook's rules, with those of the playbooks it includes (site.yml), each once, in order.
    ``upstream=False`` leaves out the rules only the upstream charts need."""
    entry = doc["playbooks"][name]
    rules = []
    for included in entry.get("includes") or []:
        rules.extend(playbook_rules(doc, included, upstream))
    rules.extend(dict(rule, playbook=name) for rule in entry.get("rules") or []
                 if upstream or rule.get("chart") != "upstream")
    return rules


def scopes(doc, names=None):
    """The namespace sets (scopes other than ``cluster``) the playbooks' rules use."""
    found = set()
    for name in names or playbook_names(doc):
        for rule in playbook_rules(doc, name):
            for key in ("scope", "resource_names_from"):
                if rule.get(key) and rule[key] != "cluster":
                    found.add(rule[key])
    return sorted(found)


def policy_rule(rule, namespaces):
    """The Kubernetes PolicyRule of one rule; resourceNames from a namespace set when it says so."""
    out = dict((key, list(rule[key])) for key in POLICY_KEYS if rule.get(key))
    if rule.get("resource_names_from"):
        out["resourceNames"] = sorted(namespaces.get(rule["resource_names_from"]) or [])
    return out


def _merged(rules):
    """Rules with the same groups, resources and names become one with the union of their verbs,
    in first-seen order (site.yml's union stays readable)."""
    merged = []
    index = {}
    for rule in rules:
        key = (tuple(rule.get("apiGroups") or ()), tuple(rule.get("resources") or ()), tuple(rule.get("resourceNames") or ()))
        if key in index:
            verbs = merged[index[key]]["verbs"]
            verbs.extend(v for v in rule["verbs"] if v not in verbs)
        else:
            index[key] = len(merged)
            merged.append(dict(rule, verbs=list(rule["verbs"])))
    return merged


def _meta(name, namespace=None, labels=True):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(MANAGED_BY)
    return meta


def account_objects(name, inputs, rules, namespaces):
    """The objects of one playbook's access: ServiceAccount, token Secret, ClusterRole and binding,
    a Role and RoleBinding per namespace (in the order they can be created)."""
    home = inputs["namespace"]
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": home}]
    objects = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, home)},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": dict(_meta(name + "-token", home), annotations={"kubernetes.io/service-account.name": name})},
    ]
    cluster = _merged([policy_rule(r, namespaces) for r in rules if r["scope"] == "cluster"])
    # A rule whose resourceNames come from an empty namespace set would grant every name: left out.
    cluster = [r for r in cluster if "resourceNames" not in r or r["resourceNames"]]
    if cluster:
        objects.append({"apiVersion": RBAC_API, "kind": "ClusterRole", "metadata": _meta(name), "rules": cluster})
        objects.append({"apiVersion": RBAC_API, "kind": "ClusterRoleBinding", "metadata": _meta(name),
                        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": name}, "subjects": subject})
    per_namespace = {}
    for rule in rules:
        if rule["scope"] == "cluster":
            continue
        for namespace in namespaces.get(rule["scope"]) or []:
            per_namespace.setdefault(namespace, []).append(policy_rule(rule, namespaces))
    for namespace in sorted(per_namespace):
        objects.append({"apiVersion": RBAC_API, "kind": "Role", "metadata": _meta(name, namespace),
                        "rules": _merged(per_namespace[namespace])})
        objects.append({"apiVersion": RBAC_API, "kind": "RoleBinding", "metadata": _meta(name, namespace),
                        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": name}, "subjects": subject})
    return objects


def _input_problems(inputs, doc):
    problems = []
    known = playbook_names(doc)
    if inputs["state"] not in ("present", "absent"):
        problems.append(problem("cluster_access_state", inputs["state"], "is not a state", "use present or absent"))
    unknown = [p for p in inputs["playbooks"] or [] if p not in known]
    if unknown:
        problems.append(problem("cluster_access_playbooks", inputs["playbooks"], "names no playbook of the collection: %s"
                                % ", ".join(map(str, unknown)), "choose among %s" % ", ".join(known)))
    if not inputs["playbooks"]:
        problems.append(problem("cluster_access_playbooks", inputs["playbooks"], "is empty",
                                "name the playbooks to give access to, e.g. [storage, validate]"))
    found = owned_namespace_problem("cluster_access_namespace", inputs["namespace"], "gpufleet-access")
    if found:
        problems.append(found)
    # The prefix and the longest playbook name make every object's name: at most 63 characters.
    longest = max([len(p) for p in known] + [0])
    found = dns_label_problem("cluster_access_name_prefix", inputs["name_prefix"] + "x" * longest, "gpufleet-",
                              what="a prefix that makes valid names with every playbook name")
    if found or not inputs["name_prefix"]:
        problems.append(problem("cluster_access_name_prefix", inputs["name_prefix"],
                                "does not make valid names with the playbook names (up to %d characters)" % longest,
                                "use lower-case letters, digits and '-', starting with a letter, at most %d characters, "
                                "e.g. 'gpufleet-'" % (63 - longest - len("-token"))))
    namespaces = inputs["namespaces"] or {}
    needed = scopes(doc, [p for p in inputs["playbooks"] or [] if p in known])
    for scope in needed:
        value = namespaces.get(scope)
        if not isinstance(value, list):
            problems.append(problem("cluster_access_namespaces.%s" % scope, value, "is not a list of namespaces",
                                    "give the namespaces the playbooks touch for it, e.g. ['default']"))
            continue
        for item in value:
            found = owned_namespace_problem("cluster_access_namespaces.%s" % scope, item, "default") \
                if item != "default" else None
            if found:
                problems.append(found)
    extra = sorted(set(namespaces) - set(scopes(doc)))
    if extra:
        problems.append(problem("cluster_access_namespaces", sorted(namespaces), "has keys no rule uses: %s" % ", ".join(extra),
                                "use the keys %s" % ", ".join(scopes(doc))))
    if inputs["credentials_dir"] and not os.path.isabs(inputs["credentials_dir"]):
        problems.append(problem("cluster_access_credentials_dir", inputs["credentials_dir"], "is not an absolute path",
                                "give a directory on the controller, e.g. /root/gpufleet-credentials"))
    elif inputs["credentials_dir"]:
        problems.extend(credentials_dir_problems(inputs["credentials_dir"]))
    if inputs["api_server"] and not str(inputs["api_server"]).startswith("https://"):
        problems.append(problem("cluster_access_api_server", inputs["api_server"], "is not an https URL",
                                "give the API server's URL as the jobs reach it, e.g. https://api.example.com:6443, "
                                "or leave it empty to use the connection's"))
    return problems


# Directories every user of the controller may create entries in: a directory made there before the
# role runs keeps its owner, who would read the tokens written into it.
SHARED_TMP = ("/tmp", "/var/tmp")


def credentials_dir_problems(path):
    """The role makes it 0700 and writes kubeconfigs with tokens into it, on the controller."""
    var = "cluster_access_credentials_dir"
    fix = "give a directory of its own that only the controller's user can reach, e.g. /root/gpufleet-credentials"
    bad = path_problem(var, path)
    if bad:
        # Its own fix instead of path_problem's (which suggests e.g. '/tmp/gpufleet' for /tmp).
        return [bad.split("; ")[0] + "; " + fix]
    for tmp in SHARED_TMP:
        if path.startswith(tmp + "/"):
            return [problem(var, path, "is under %s, where any user of the controller may have made it first (and "
                            "would read the tokens written into it)" % tmp, fix)]
    return []


def plan(inputs, doc):
    """Everything the role does, from its variables (unprefixed) and the rules document."""
    problems = _input_problems(inputs, doc)
    if problems:
        return {"problems": problems}
    namespaces = dict((k, list(v)) for k, v in (inputs["namespaces"] or {}).items())
    chosen = list(dict.fromkeys(inputs["playbooks"]))
    home = inputs["namespace"]
    accounts = []
    objects = []
    needed = set()
    for playbook in chosen:
        name = inputs["name_prefix"] + playbook.replace("_", "-")
        rules = playbook_rules(doc, playbook, inputs["upstream_charts"])
        for rule in rules:
            if rule["scope"] != "cluster":
                needed.update(namespaces.get(rule["scope"]) or [])
        objects.extend(account_objects(name, inputs, rules, namespaces))
        account = {"playbook": playbook, "job_template": doc["playbooks"][playbook].get("job_template") or "",
                   "service_account": name, "namespace": home, "secret": name + "-token"}
        if inputs["credentials_dir"]:
            account["kubeconfig"] = os.path.join(inputs["credentials_dir"], playbook + ".kubeconfig")
            account["awx_inputs"] = os.path.join(inputs["credentials_dir"], playbook + ".awx.json")
        accounts.append(account)
    # The namespaces the Roles live in must exist first: made here, so no job needs to create them.
    made = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in [home] + sorted(needed - {home})]
    return {
        "problems": [],
        "namespaces": made,
        "objects": objects,
        # Removal: the bindings first, the accounts last; the namespaces stay (they hold other objects).
        "absent_objects": list(reversed(objects)),
        "accounts": accounts,
    }
