from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.block_device import (
    describe,
    is_blank,
    directory_mounts,
    mounted_at,
    parse_blkid_export,
)
from ansible_collections.gpufleet.cluster.plugins.module_utils.disk_space import parse_mountinfo

XFS = "DEVNAME=/dev/loop0\nUUID=3f1c2a9e-5d8b-4c1e-9a7f-2b6d0e4c8a11\nLABEL=gpucache\nBLOCK_SIZE=512\nTYPE=xfs\n"
GPT = "DEVNAME=/dev/nvme1n1\nPTUUID=0b1f\nPTTYPE=gpt\n"


def test_parse_blkid_export_drops_devname():
    sig = parse_blkid_export(XFS)
    assert sig == {"UUID": "3f1c2a9e-5d8b-4c1e-9a7f-2b6d0e4c8a11", "LABEL": "gpucache", "BLOCK_SIZE": "512", "TYPE": "xfs"}


def test_parse_blkid_export_keeps_equals_in_values_and_skips_noise():
    assert parse_blkid_export("LABEL=a=b\n\nnoise\n") == {"LABEL": "a=b"}


@pytest.mark.parametrize(
    "data, blank",
    [(b"\0" * 4096, True), (b"\0" * 4095 + b"\1", False), (b"", False), (b"XFSB" + b"\0" * 100, False)],
)
def test_is_blank(data, blank):
    assert is_blank(data) is blank


@pytest.mark.parametrize(
    "signature, blank, words",
    [
        (parse_blkid_export(XFS), False, "a xfs filesystem labelled 'gpucache' (UUID 3f1c2a9e-5d8b-4c1e-9a7f-2b6d0e4c8a11)"),
        ({"TYPE": "ext4"}, False, "a ext4 filesystem"),
        (parse_blkid_export(GPT), False, "a gpt partition table"),
        ({"PART_ENTRY_SCHEME": "dos"}, False, "a signature blkid recognises (PART_ENTRY_SCHEME=dos)"),
        ({}, True, "nothing (no signature, zeros at the start)"),
        ({}, False, "data without a filesystem signature (the start of the device is not zeros)"),
    ],
)
def test_describe(signature, blank, words):
    assert describe(signature, blank) == words


def test_mounted_at_matches_device_number():
    table = parse_mountinfo(
        "22 1 0:21 / / rw - overlay overlay rw\n"
        "40 22 7:0 / /raid rw,noatime - xfs /dev/gpufleet-cache rw\n"
        "41 22 7:0 / /mnt/again rw - xfs /dev/loop0 rw\n"
        "42 22 7:1 / /other rw - xfs /dev/loop1 rw\n"
    )
    assert mounted_at(table, "7:0") == ["/raid", "/mnt/again"]
    assert mounted_at(table, "8:0") == []


def test_a_pod_volume_on_the_cache_is_not_the_cache_mounted_elsewhere():
    # A real kubelet's local volume for /raid/models (mountinfo as the lab's real node shows it).
    table = parse_mountinfo(
        "22 1 0:21 / / rw - overlay overlay rw\n"
        "40 22 7:0 / /raid rw,noatime - xfs /dev/gpufleet-cache rw\n"
        "90 22 7:0 /models /var/lib/kubelet/pods/a26c37f6/volumes/kubernetes.io~local-volume/model-storage-pv"
        " ro - xfs /dev/gpufleet-cache rw\n"
        "91 22 7:0 / /var/lib/kubelet/pods/b1/volumes/kubernetes.io~local-volume/whole ro - xfs /dev/gpufleet-cache rw\n"
    )
    assert mounted_at(table, "7:0") == ["/raid", "/var/lib/kubelet/pods/b1/volumes/kubernetes.io~local-volume/whole"]
    assert directory_mounts(table, "7:0") == [
        {"mount_point": "/var/lib/kubelet/pods/a26c37f6/volumes/kubernetes.io~local-volume/model-storage-pv",
         "root": "/models"}]
