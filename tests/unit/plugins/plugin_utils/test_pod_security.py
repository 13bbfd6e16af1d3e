"""plugin_utils.pod_security: the Pod Security labels of the namespaces the roles create (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import pod_security


def test_one_level_in_every_mode_and_the_version_pinned_to_the_api_servers():
    assert pod_security.labels("restricted") == {
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest"}
    assert pod_security.labels("baseline", "v1.30")["pod-security.kubernetes.io/warn-version"] == "v1.30"


def test_a_namespace_keeps_its_other_labels_and_annotations():
    ns = pod_security.namespace("greptimedb", "baseline", {"app.kubernetes.io/managed-by": "Helm"},
                                {"meta.helm.sh/release-name": "tf"})
    assert ns["apiVersion"] == "v1" and ns["kind"] == "Namespace" and ns["metadata"]["name"] == "greptimedb"
    assert ns["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns["metadata"]["annotations"] == {"meta.helm.sh/release-name": "tf"}
    assert "annotations" not in pod_security.namespace("x", "restricted")["metadata"]


@pytest.mark.parametrize("value, needed, fragment", [
    ("restricted", "restricted", None), ("baseline", "restricted", None), ("privileged", "restricted", None),
    ("privileged", "privileged", None), ("baseline", "baseline", None),
    ("strict", "restricted", "x_level='strict' is not a Pod Security level; use one of privileged, baseline, restricted"),
    ("Restricted", "restricted", "is not a Pod Security level"), (None, "restricted", "x_level=None is not"),
    ("restricted", "privileged", "x_level='restricted' is stricter than the pods in that namespace can meet (the "
                                 "satellites run privileged): admission would refuse them; use 'privileged'"),
    ("baseline", "privileged", "; use 'privileged'"),
    ("restricted", "baseline", "use 'baseline' or a looser level"),
])
def test_levels(value, needed, fragment):
    message = pod_security.level_problem("x_level", value, needed, "the satellites run privileged" if needed == "privileged"
                                         else "")
    if fragment is None:
        assert message is None
    else:
        assert message.startswith("x_level=%r " % (value,)) and fragment in message, message
