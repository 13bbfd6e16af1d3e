"""What prepare_nodes.yml left on the scenario's hosts, read from the hosts themselves
(testinfra's podman backend: one `podman exec` per check)."""

import uuid

import pytest
import testinfra

NFS = "podman://gpufleet-mol-nfs-1"
SERVER_IP = "10.89.41.10"
testinfra_hosts = ["podman://gpufleet-mol-gpu-1", "podman://gpufleet-mol-gpu-2"]

XFS_OPTIONS = {"noatime", "largeio", "inode64", "allocsize=16384k", "logbsize=256k"}


@pytest.fixture(scope="module")
def nfs():
    return testinfra.get_host(NFS)


# --- xfs_cache -------------------------------------------------------------------------


def test_cache_is_xfs_on_the_loop_device_with_large_io_options(host):
    mount = host.mount_point("/raid")
    assert mount.exists
    assert mount.filesystem == "xfs"
    assert mount.device == "/dev/gpufleet-cache"
    assert XFS_OPTIONS <= set(mount.options)


def test_cache_has_its_label(host):
    assert host.check_output("blkid -s LABEL -o value /dev/gpufleet-cache") == "gpucache"


def test_cache_is_in_fstab(host):
    lines = [line.split() for line in host.file("/etc/fstab").content_string.splitlines() if "/raid" in line]
    assert len(lines) == 1
    source, target, fstype, options, dump, passno = lines[0]
    assert (source, target, fstype, dump, passno) == ("/dev/gpufleet-cache", "/raid", "xfs", "0", "0")
    assert set(options.split(",")) == XFS_OPTIONS


def test_cache_root(host):
    root = host.file("/raid")
    assert (root.uid, root.gid, root.mode) == (0, 0, 0o755)


# --- node_prep -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, uid, gid, mode",
    [("/raid/models", 0, 0, 0o750), ("/data/alertmanager", 65534, 65534, 0o750)],
)
def test_data_directories(host, path, uid, gid, mode):
    directory = host.file(path)
    assert directory.is_directory
    assert not directory.is_symlink
    assert (directory.uid, directory.gid, directory.mode) == (uid, gid, mode)


def test_models_live_on_the_xfs_cache(host):
    assert host.check_output("stat -f -c %T /raid/models") == "xfs"


@pytest.mark.parametrize("package", ["xfsprogs", "fio", "nfs-common", "libnfs-utils"])
def test_packages(host, package):
    assert host.package(package).is_installed


def test_nothing_is_world_writable(host):
    assert host.check_output("find /raid /data -xdev -perm -0002 -print") == ""


# --- nfs_client (fstab only: no NFS client in the containers' kernel) ------------------


def test_nfs_mount_is_in_fstab(host):
    lines = [line.split() for line in host.file("/etc/fstab").content_string.splitlines() if "/data/greptimedb" in line]
    assert len(lines) == 1
    source, target, fstype, options = lines[0][:4]
    assert (source, target, fstype) == ("%s:/srv/nfs/greptimedb" % SERVER_IP, "/data/greptimedb", "nfs4")
    assert options.split(",") == [
        "vers=4.2", "rsize=1048576", "wsize=1048576", "hard", "noatime", "proto=tcp", "timeo=600", "retrans=2", "_netdev",
    ]


# --- nfs_server (NFS-Ganesha) ----------------------------------------------------------


@pytest.mark.parametrize("name", ["greptimedb", "alertmanager"])
def test_export_directories_belong_to_the_squashed_uid(nfs, name):
    directory = nfs.file("/srv/nfs/" + name)
    assert directory.is_directory
    assert (directory.uid, directory.gid, directory.mode) == (65534, 65534, 0o750)


def test_ganesha_config(nfs):
    conf = nfs.file("/etc/ganesha/ganesha.conf")
    assert (conf.uid, conf.mode) == (0, 0o644)
    text = conf.content_string
    assert text.count("EXPORT {") == 2
    for line in (
        'Path = "/srv/nfs/greptimedb";',
        'Pseudo = "/srv/nfs/greptimedb";',
        "Access_Type = None;",
        "Squash = Root_Squash;",
        "Anonymous_Uid = 65534;",
        "Clients = 10.89.41.0/24;",
        "Access_Type = RW;",
        "Protocols = 4;",
    ):
        assert line in text
    assert "*" not in text.replace("# ", "")


def test_ganesha_serves(nfs):
    assert nfs.process.filter(comm="ganesha.nfsd")
    assert nfs.socket("tcp://0.0.0.0:2049").is_listening


# --- the export over the wire (libnfs, user space) -------------------------------------


def _nfs_cp(host, export, name, uid, gid):
    url = "nfs://%s%s/%s?version=4&uid=%d&gid=%d" % (SERVER_IP, export, name, uid, gid)
    return host.run("echo probe > /tmp/probe && nfs-cp /tmp/probe %s", url)


def test_root_writes_arrive_as_the_export_owner(host, nfs):
    """root_squash: root on a GPU node writes as 65534, which owns the export: GreptimeDB
    (root in its container) can write without chown or chmod 777."""
    name = "probe-root-" + uuid.uuid4().hex[:8]
    result = _nfs_cp(host, "/srv/nfs/greptimedb", name, 0, 0)
    try:
        assert result.rc == 0, result.stderr
        written = nfs.file("/srv/nfs/greptimedb/" + name)
        assert (written.uid, written.gid) == (65534, 65534)
    finally:
        nfs.run("rm -f /srv/nfs/greptimedb/%s", name)


def test_alertmanager_uid_writes_its_export(host, nfs):
    name = "probe-am-" + uuid.uuid4().hex[:8]
    result = _nfs_cp(host, "/srv/nfs/alertmanager", name, 65534, 65534)
    try:
        assert result.rc == 0, result.stderr
        assert nfs.file("/srv/nfs/alertmanager/" + name).uid == 65534
    finally:
        nfs.run("rm -f /srv/nfs/alertmanager/%s", name)


def test_other_users_cannot_write(host, nfs):
    """No 0777: a uid that is neither the owner nor squashed root is refused."""
    name = "probe-1000-" + uuid.uuid4().hex[:8]
    result = _nfs_cp(host, "/srv/nfs/greptimedb", name, 1000, 1000)
    assert result.rc != 0
    assert "NFS4ERR_ACCESS" in result.stdout + result.stderr
    assert not nfs.file("/srv/nfs/greptimedb/" + name).exists


def test_listing_over_the_wire(host):
    out = host.check_output("nfs-ls %s", "nfs://%s/srv/nfs?version=4" % SERVER_IP)
    assert "greptimedb" in out and "alertmanager" in out
