"""xfs_cache formats a device that holds something only when this run names it: on a node of its
own (tests/roles/conftest.py's lab_node, so that the shared fresh node stays fresh), the ext4
device is formatted with xfs_cache_confirm_format naming it, and nothing else is touched; the
same confirmation left set on the next run is refused; without it the next run changes nothing.
(A confirmation naming another device is refused in test_bad_inputs.py's table.)"""

import pytest

from conftest import DEVICES, failure_message, lab_node, podman_diff

CONTAINER = "gpufleet-roletest-format"
VARS = {"xfs_cache_device": DEVICES["ext4"], "xfs_cache_mount_path": "/raid", "xfs_cache_fstab_source": "device"}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with lab_node(tmp_path_factory.mktemp("roletest-format"), CONTAINER) as target:
        yield target


def _others(node):
    return {name: (node.signature(name), node.first_mib(name)) for name in DEVICES if name != "ext4"}


def test_the_named_device_is_formatted_and_the_confirmation_is_one_run_only(node):
    others = _others(node)
    assert "TYPE=ext4" in node.signature("ext4")

    rc, report = node.role("xfs_cache", dict(VARS, xfs_cache_confirm_format=DEVICES["ext4"]))
    assert rc == 0, failure_message(report)
    signature = node.signature("ext4")
    assert "TYPE=xfs" in signature and "LABEL=gpucache" in signature, signature
    assert _others(node) == others, "a device that was not named changed"
    assert node.exec("findmnt", "--noheadings", "--output", "SOURCE,FSTYPE", "/raid").stdout.split() == [
        DEVICES["ext4"], "xfs"]

    # Left set, the confirmation is refused before anything changes.
    before = podman_diff(CONTAINER)
    rc, report = node.role("xfs_cache", dict(VARS, xfs_cache_confirm_format=DEVICES["ext4"]))
    assert rc != 0
    message = failure_message(report)[1]
    assert "xfs_cache_confirm_format=/dev/gpufleet-ext4 is still set" in message
    assert "Remove xfs_cache_confirm_format" in message
    assert report["stats"]["roletest"]["changed"] == 0
    assert podman_diff(CONTAINER) == before
    assert node.signature("ext4") == signature

    # Without it, the cache is adopted as it is.
    rc, report = node.role("xfs_cache", VARS)
    assert rc == 0, failure_message(report)
    assert report["stats"]["roletest"]["changed"] == 0
    assert node.signature("ext4") == signature
