"""The filters job authors use: claim_users, zone_affinity (the rest is module_utils.linstor's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.filter import linstor as f


def test_zone_affinity_needs_a_zone():
    assert f.zone_affinity("z")["nodeAffinity"]
    with pytest.raises(AnsibleFilterError):
        f.zone_affinity([])


def test_claim_users_names_running_pods_of_the_claims_namespace():
    pods = [{"metadata": {"name": "a", "namespace": "ns"}, "status": {"phase": "Running"},
             "spec": {"volumes": [{"persistentVolumeClaim": {"claimName": "c"}}]}},
            {"metadata": {"name": "b", "namespace": "other"}, "status": {"phase": "Running"},
             "spec": {"volumes": [{"persistentVolumeClaim": {"claimName": "c"}}]}}]
    assert f.claim_users(pods, "ns", "c") == ["ns/a"]
