"""The linstor filters' own bits of logic (the rest is module_utils.linstor's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.gpufleet.cluster.plugins.filter import linstor as f


@pytest.mark.parametrize("flag, expected", [("no", False), ("False", False), ("yes", True), (True, True)])
def test_storageclass_expansion_flag_is_read_as_ansible_reads_it(flag, expected):
    sc = f.linstor_storageclass({"name": "fast", "storage_pool": "pool", "allow_volume_expansion": flag})
    assert sc["allowVolumeExpansion"] is expected


def test_change_side():
    changes = {"sc": [{"field": "parameters", "before": {"a": "1"}, "after": {"a": "2"}}]}
    assert f.linstor_change_side(changes, "before") == {"sc": {"parameters": {"a": "1"}}}
    assert f.linstor_change_side(changes, "after") == {"sc": {"parameters": {"a": "2"}}}
    with pytest.raises(AnsibleFilterError):
        f.linstor_change_side(changes, "middle")


def test_storageclass_object():
    sc = f.linstor_storageclass({"name": "fast", "storage_pool": "pool", "mount_options": ["noatime"],
                                 "labels": {"a": "b"}, "allow_volume_expansion": False})
    assert sc["provisioner"] == "linstor.csi.linbit.com" and sc["mountOptions"] == ["noatime"]
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer" and sc["reclaimPolicy"] == "Delete"
    assert sc["allowVolumeExpansion"] is False and sc["metadata"]["labels"] == {"a": "b"}


def test_summary_lines():
    section = {"notes": ["n"], "problems": [{"severity": "warning", "subject": "pvc a/b", "message": "Pending"}],
               "tables": [{"title": "Claims", "columns": list("123456789"),
                           "rows": [["a/b", "cls", "Block", "1Gi", "Pending", "", "", "", "expected"],
                                    ["a/c", "cls", "Filesystem", "1Gi", "Bound", "pv-1", "n1", "", ""]]}]}
    assert f.linstor_summary_lines(section) == ["n", "warning: pvc a/b: Pending",
                                                "claim a/b (cls, Block): Pending - expected",
                                                "claim a/c (cls, Filesystem): Bound on pv-1"]


def test_input_problems_collects_every_kind():
    problems = f.linstor_input_problems({
        "storage_pools": [{"name": "a", "lvmPool": {}}],
        "existing_pools": ["old-pool"],
        "storage_classes": [{"name": "c1", "storage_pool": "old-pool"}, {"name": "c2", "storage_pool": "unknown"}],
        "pvcs": [{"name": "p", "storage_class": "c3", "size": "1Gi"}],
    })
    assert len(problems) == 3, problems
    assert "name='a'" in problems[0] and "storage_pool='unknown'" in problems[1] and "storage_class='c3'" in problems[2]
    assert f.zone_affinity("z")["nodeAffinity"]
    with pytest.raises(AnsibleFilterError):
        f.zone_affinity([])


def test_input_problems_cover_placement_properties_patches_and_the_cluster_spec():
    problems = f.linstor_input_problems({
        "namespace": "kube-system",
        "storage_nodes": ["gpu-ucsd-1", "GPU_2"],
        "satellite_node_selector": {"gpufleet.io/storage": "yes,please"},
        "satellite_configuration_node_selector": {"bad key!": "x"},
        "satellite_properties": [{"name": "Aux/x", "value": "a", "valueFrom": {"nodeFieldRef": "metadata.name"}}],
        "satellite_patches": [{"patch": "- op: add\n  path: /spec\n  value: {}\n"}],
        "cluster_spec": {"nodeAffinity": {"nodeSelectorTerms": []}, "patches": [{"patch": "[[["}], "externalController": {"url": "ftp://x"}},
    })
    expected = ["linstor_namespace='kube-system' is a namespace Kubernetes keeps",
                "linstor_storage_nodes[1]='GPU_2' is not a Kubernetes node name",
                "linstor_satellite_node_selector['gpufleet.io/storage']='yes,please' is not a label value",
                "linstor_satellite_configuration_node_selector key='bad key!' is not a label key",
                "linstor_satellite_properties[0] ('Aux/x') has value and valueFrom",
                "linstor_satellite_patches[0] has no target",
                "linstor_cluster_spec sets nodeAffinity.nodeSelectorTerms, which the role sets from linstor_storage_nodes",
                "linstor_cluster_spec.externalController.url='ftp://x' does not start with http:// or https://",
                "linstor_cluster_spec.patches[0].patch parses neither"]
    for part in expected:
        assert any(part in p for p in problems), (part, problems)
    assert len(problems) == len(expected), problems
