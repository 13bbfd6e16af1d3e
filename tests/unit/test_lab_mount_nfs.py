"""The real node's user-space mount.nfs (lab/realnode.d/mount_nfs.py): what it makes of mount(8)'s
helper arguments and the FUSE options it mounts with. Its NFS and FUSE side runs in
tests/lab/test_nfs_fuse.py against NFS-Ganesha."""

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

HELPER = Path(__file__).resolve().parents[2] / "lab" / "realnode.d" / "mount_nfs.py"


def _load():
    loader = importlib.machinery.SourceFileLoader("gpufleet_lab_mount_nfs", str(HELPER))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


mount_nfs = _load()


def test_the_kubelets_call():
    # pkg/volume/nfs: mount -t nfs -o <mountOptions> server:path target; mount(8) passes -o last.
    argv = ["10.89.40.10:/srv/nfs/greptimedb", "/var/lib/kubelet/pods/uid/volumes/kubernetes.io~nfs/pv",
            "-o", "rw,hard,nfsvers=4.1"]
    server, export, target, options = mount_nfs.parse_args(argv)
    assert (server, export, target) == ("10.89.40.10", "/srv/nfs/greptimedb", argv[1])
    assert options == {"rw": True, "hard": True, "nfsvers": "4.1"}


def test_flags_and_type_are_taken_without_their_values_as_paths():
    server, export, target, options = mount_nfs.parse_args(
        ["nfs-1:/srv/nfs/greptimedb", "/mnt", "-s", "-r", "-t", "nfs4", "-N", "/proc/1/ns/mnt"])
    assert (server, export, target) == ("nfs-1", "/srv/nfs/greptimedb", "/mnt")
    assert options == {"ro": True}


def test_an_ipv6_server():
    assert mount_nfs.parse_args(["[fd00::10]:/srv/nfs/x", "/mnt"])[:2] == ("fd00::10", "/srv/nfs/x")


@pytest.mark.parametrize("argv, words", [
    (["nfs-1:/srv", "/mnt", "-o", "nfsvers=3"], ["nfsvers=3", "NFSv4 only", "nfsvers=4"]),
    (["nfs-1:/srv", "/mnt", "-o", "vers=3"], ["vers=3:", "NFSv4 only", "vers=4"]),
    (["nfs-1/srv", "/mnt"], ["'nfs-1/srv' is not SERVER:/PATH"]),
    (["nfs-1:srv", "/mnt"], ["'nfs-1:srv' is not SERVER:/PATH"]),
    ([":/srv", "/mnt"], ["is not SERVER:/PATH"]),
    (["nfs-1:/srv"], ["expected SERVER:/PATH and TARGET", "usage:"]),
    (["nfs-1:/srv", "/mnt", "-o"], ["-o needs an option list"]),
])
def test_refused_arguments_say_why(argv, words):
    with pytest.raises(mount_nfs.UsageError) as refused:
        mount_nfs.parse_args(argv)
    for word in words:
        assert word in str(refused.value)


def test_refusal_exits_1_before_anything_is_mounted(capsys):
    assert mount_nfs.main(["mount.nfs", "nfs-1:/srv", "/mnt", "-o", "nfsvers=3"]) == 1
    assert "mount.nfs: nfsvers=3" in capsys.readouterr().err


def test_fuse_options_any_uid_kernel_checks_first_and_names_the_export():
    assert mount_nfs.fuse_options("10.89.40.10", "/srv/nfs/greptimedb", {"hard": True}) == {
        "fsname": "10.89.40.10:/srv/nfs/greptimedb", "subtype": "nfs4",
        "allow_other": True, "default_permissions": True}
    assert mount_nfs.fuse_options("nfs-1", "/x", {"ro": True})["ro"] is True
