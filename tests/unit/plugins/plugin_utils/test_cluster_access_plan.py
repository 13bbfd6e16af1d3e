"""plugin_utils.cluster_access.plan: the ServiceAccount, token, ClusterRole, Roles and bindings of each
playbook from the shipped rules (roles/cluster_access/files/rules.yml) and the role's defaults (pure,
no cluster, no mocks); and the shipped rules themselves are well formed and documented."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import role_plan
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.cluster_access import plan

REPO = Path(__file__).resolve().parents[4]
DOC = yaml.safe_load((REPO / plan.RULES_FILE).read_text())
with open(str(REPO / "roles" / "cluster_access" / "defaults" / "main.yml")) as _handle:
    _DEFAULTS = yaml.safe_load(_handle)
INPUTS = role_plan.unprefixed("cluster_access", _DEFAULTS)
VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "bind", "escalate"}


def inputs(**changes):
    return dict(copy.deepcopy(INPUTS), **changes)


def by_kind(objects, kind, name=None, namespace=None):
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
            and (namespace is None or o["metadata"].get("namespace") == namespace)]


def test_the_defaults_plan_an_account_per_playbook_and_every_cluster_playbook_has_one():
    result = plan.plan(inputs(), DOC)
    assert result["problems"] == []
    assert [a["playbook"] for a in result["accounts"]] == INPUTS["playbooks"]
    assert sorted(INPUTS["playbooks"]) == sorted(DOC["playbooks"])
    # Every playbook that reaches the cluster has rules; the node-only ones have none.
    cluster_playbooks = sorted(p.name for p in (REPO / "playbooks").glob("*.yml")
                               if p.name not in ("prepare_nodes.yml", "awx_configure.yml", "cluster_access.yml"))
    assert sorted(Path(e["playbook"]).name for e in DOC["playbooks"].values()) == cluster_playbooks


def test_an_account_gets_its_sa_token_clusterrole_and_a_role_per_namespace():
    result = plan.plan(inputs(playbooks=["migrate_pvc"], namespaces=dict(INPUTS["namespaces"], migrate_pvc=["a", "b"])), DOC)
    objects = result["objects"]
    assert [(o["kind"], o["metadata"].get("namespace")) for o in objects] == [
        ("ServiceAccount", "gpufleet-access"), ("Secret", "gpufleet-access"), ("ClusterRole", None),
        ("ClusterRoleBinding", None), ("Role", "a"), ("RoleBinding", "a"), ("Role", "b"), ("RoleBinding", "b")]
    secret = by_kind(objects, "Secret")[0]
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["annotations"] == {"kubernetes.io/service-account.name": "gpufleet-migrate-pvc"}
    assert by_kind(objects, "ClusterRole")[0]["rules"] == [
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get"]}]
    role = by_kind(objects, "Role", namespace="a")[0]
    assert {"apiGroups": [""], "resources": ["pods", "resourcequotas"], "verbs": ["list"]} in role["rules"]
    binding = by_kind(objects, "RoleBinding", namespace="b")[0]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "gpufleet-migrate-pvc"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "gpufleet-migrate-pvc", "namespace": "gpufleet-access"}]
    # The Roles' namespaces are created first, the account's own first of all.
    assert [n["metadata"]["name"] for n in result["namespaces"]] == ["gpufleet-access", "a", "b"]
    assert result["absent_objects"] == list(reversed(objects))


def test_namespace_names_become_resource_names_and_an_empty_set_grants_no_name():
    result = plan.plan(inputs(playbooks=["telemetry"], namespaces=dict(INPUTS["namespaces"], gpu_telemetry=["tel"])), DOC)
    rules = by_kind(result["objects"], "ClusterRole")[0]["rules"]
    assert rules == [{"apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["tel"], "verbs": ["get", "patch"]}]
    empty = plan.plan(inputs(playbooks=["telemetry"], namespaces=dict(INPUTS["namespaces"], gpu_telemetry=[])), DOC)
    # No namespace: no ClusterRole rule without names (that would be every namespace), and no Role.
    assert by_kind(empty["objects"], "ClusterRole") == [] and by_kind(empty["objects"], "Role") == []


def test_site_gets_the_union_of_the_playbooks_it_imports():
    site = plan.plan(inputs(playbooks=["site"]), DOC)
    parts = plan.plan(inputs(playbooks=DOC["playbooks"]["site"]["includes"]), DOC)

    def granted(objects):
        return set((o["kind"], o["metadata"].get("namespace"), tuple(r["apiGroups"]), tuple(r["resources"]),
                    tuple(r.get("resourceNames") or ()), v)
                   for o in objects if o["kind"] in ("Role", "ClusterRole") for r in o["rules"] for v in r["verbs"])
    assert granted(site["objects"]) == granted(parts["objects"])


def test_upstream_chart_rules_can_be_left_out():
    with_upstream = plan.plan(inputs(playbooks=["storage"]), DOC)
    without = plan.plan(inputs(playbooks=["storage"], upstream_charts=False), DOC)
    resources = [r["resources"] for r in by_kind(with_upstream["objects"], "ClusterRole")[0]["rules"]]
    assert ["clusterroles", "clusterrolebindings", "validatingwebhookconfigurations"] in resources
    assert not any("clusterroles" in r["resources"] for r in by_kind(without["objects"], "ClusterRole")[0]["rules"])


@pytest.mark.parametrize("changes, variable, fix", [
    ({"playbooks": ["storage", "nodes"]}, "cluster_access_playbooks=['storage', 'nodes']", "choose among storage"),
    ({"playbooks": []}, "cluster_access_playbooks=[]", "name the playbooks"),
    ({"namespace": "kube-system"}, "cluster_access_namespace='kube-system'", "of its own"),
    ({"namespace": "Bad_NS"}, "cluster_access_namespace='Bad_NS'", "lower-case"),
    ({"name_prefix": "UP-"}, "cluster_access_name_prefix='UP-'", "e.g. 'gpufleet-'"),
    ({"namespaces": {"linstor": "piraeus"}}, "cluster_access_namespaces.linstor='piraeus'", "list of namespaces"),
    ({"namespaces": dict(INPUTS["namespaces"], helm_releases=["kube-system"])},
     "cluster_access_namespaces.helm_releases='kube-system'", "of its own"),
    ({"namespaces": dict(INPUTS["namespaces"], nope=["a"])}, "cluster_access_namespaces=", "use the keys"),
    ({"credentials_dir": "creds"}, "cluster_access_credentials_dir='creds'", "absolute"),
    # The role makes it 0700: never a system directory, nor one reached by climbing.
    ({"credentials_dir": "/etc"}, "cluster_access_credentials_dir='/etc' is inside the system directory", "/root/gpufleet-"),
    ({"credentials_dir": "/tmp"}, "cluster_access_credentials_dir='/tmp' is a system directory", "of its own"),
    ({"credentials_dir": "/home/x/../../etc"}, "cluster_access_credentials_dir='/home/x/../../etc' climbs", "of its own"),
    # Where any user of the controller may have made it first, and would read the tokens.
    ({"credentials_dir": "/tmp/gpufleet"}, "cluster_access_credentials_dir='/tmp/gpufleet' is under /tmp, where any user",
     "only the controller's user can reach"),
    ({"credentials_dir": "/var/tmp/creds"}, "cluster_access_credentials_dir='/var/tmp/creds' is under /var/tmp", "e.g. /root"),
    ({"api_server": "http://api:6443"}, "cluster_access_api_server='http://api:6443'", "https"),
])
def test_bad_inputs_are_refused_naming_the_variable_value_and_fix(changes, variable, fix):
    result = plan.plan(inputs(**changes), DOC)
    assert "objects" not in result
    assert any(p.startswith(variable) and fix in p for p in result["problems"]), result["problems"]


def test_every_shipped_rule_is_well_formed_and_says_why():
    namespace_sets = set(INPUTS["namespaces"])
    for name, entry in DOC["playbooks"].items():
        assert (REPO / entry["playbook"]).is_file(), name
        ids = [r["id"] for r in entry.get("rules") or []]
        assert len(ids) == len(set(ids)), name
        for rule in entry.get("rules") or []:
            where = "%s/%s" % (name, rule["id"])
            assert set(rule) <= {"id", "scope", "apiGroups", "resources", "resourceNames", "resource_names_from",
                                 "verbs", "why", "chart"}, where
            assert rule["scope"] == "cluster" or rule["scope"] in namespace_sets, where
            assert set(rule["verbs"]) <= VERBS and rule["verbs"], where
            assert len(rule["why"]) > 20, where
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], where
            if rule.get("resourceNames") or rule.get("resource_names_from"):
                # Kubernetes cannot limit create or list to names: such a rule would grant nothing.
                assert not set(rule["verbs"]) & {"create", "list", "watch", "deletecollection"}, where
        for included in entry.get("includes") or []:
            assert included in DOC["playbooks"] and not DOC["playbooks"][included].get("includes"), name
    # The job templates named are the AWX job templates the collection configures.
    templates = yaml.safe_load((REPO / "playbooks" / "vars" / "awx_job_templates.yml").read_text())["gpufleet_awx_job_templates"]
    by_playbook = dict((t["playbook"], t["name"]) for t in templates if "kubernetes" in t["credentials"])
    for entry in DOC["playbooks"].values():
        assert entry.get("job_template", "") == by_playbook.get(entry["playbook"], ""), entry["playbook"]


def test_docs_rbac_md_is_generated_from_the_rules():
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_rbac.py"), "--check"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
