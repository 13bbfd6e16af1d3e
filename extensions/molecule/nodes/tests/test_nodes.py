"""What prepare_nodes.yml left on the scenario's hosts, read from the hosts themselves
(testinfra's podman backend: one `podman exec` per check)."""

import time
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
    # nosuid,nodev last: no option before them can switch setuid programs or device nodes back on.
    assert options.split(",") == [
        "vers=4.2", "rsize=1048576", "wsize=1048576", "hard", "noatime", "proto=tcp", "timeo=600", "retrans=2", "_netdev",
        "nosuid", "nodev",
    ]


# --- nfs_server (NFS-Ganesha) ----------------------------------------------------------


# Each export belongs to its own service's uid/gid; squashed root (65534) owns none of them.
OWNERS = {"greptimedb": 10001, "alertmanager": 10002}


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_export_directories_belong_to_their_service(nfs, name):
    directory = nfs.file("/srv/nfs/" + name)
    assert directory.is_directory
    assert (directory.uid, directory.gid, directory.mode) == (OWNERS[name], OWNERS[name], 0o750)


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
        "PrivilegedPort = true;",
        "Clients = 10.89.41.0/24;",
        "Access_Type = RW;",
        "Protocols = 4;",
    ):
        assert line in text
    assert "*" not in text.replace("# ", "")
    assert text.count("PrivilegedPort = true;") == 2


def test_ganesha_serves(nfs):
    assert nfs.process.filter(comm="ganesha.nfsd")
    assert nfs.socket("tcp://0.0.0.0:2049").is_listening


# --- the export over the wire (libnfs, user space) -------------------------------------


def _nfs_cp(host, export, name, uid, gid, as_user=None):
    """nfs-cp a file into the export with AUTH_SYS uid/gid. libnfs binds a privileged source
    port when it can (root); ``as_user`` runs it as that unprivileged local uid instead, so the
    request comes from a port >= 1024 while claiming the same AUTH_SYS ids."""
    url = "nfs://%s%s/%s?version=4&uid=%d&gid=%d" % (SERVER_IP, export, name, uid, gid)
    run_as = "setpriv --reuid=%d --regid=%d --clear-groups " % (as_user, as_user) if as_user is not None else ""
    return host.run("echo probe > /tmp/probe && chmod 644 /tmp/probe && %snfs-cp /tmp/probe %s" % (run_as, "%s"), url)


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_each_service_writes_its_own_export(host, nfs, name):
    export = "/srv/nfs/" + name
    probe = "probe-%s-%s" % (name, uuid.uuid4().hex[:8])
    result = _nfs_cp(host, export, probe, OWNERS[name], OWNERS[name])
    try:
        assert result.rc == 0, result.stderr
        written = nfs.file("%s/%s" % (export, probe))
        assert (written.uid, written.gid) == (OWNERS[name], OWNERS[name])
    finally:
        nfs.run("rm -f %s/%s", export, probe)


def _refused(host, nfs, export, uid, gid, as_user=None):
    probe = "probe-%d-%s" % (uid, uuid.uuid4().hex[:8])
    result = _nfs_cp(host, export, probe, uid, gid, as_user)
    try:
        assert result.rc != 0, "the write was accepted"
        assert not nfs.file("%s/%s" % (export, probe)).exists
    finally:
        nfs.run("rm -f %s/%s", export, probe)
    return result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_squashed_root_cannot_write_any_export(host, nfs, name):
    """root_squash protects something: root on a GPU node arrives as 65534, which owns no export."""
    assert "NFS4ERR_ACCESS" in _refused(host, nfs, "/srv/nfs/" + name, 0, 0)


def test_one_service_cannot_write_the_others_export(host, nfs):
    assert "NFS4ERR_ACCESS" in _refused(host, nfs, "/srv/nfs/greptimedb", OWNERS["alertmanager"], OWNERS["alertmanager"])
    assert "NFS4ERR_ACCESS" in _refused(host, nfs, "/srv/nfs/alertmanager", OWNERS["greptimedb"], OWNERS["greptimedb"])


def test_other_users_cannot_write(host, nfs):
    """No 0777: a uid that is neither the owner nor squashed root is refused."""
    assert "NFS4ERR_ACCESS" in _refused(host, nfs, "/srv/nfs/greptimedb", 1000, 1000)


def test_an_unprivileged_source_port_is_refused(host, nfs):
    """PrivilegedPort: the owner's own AUTH_SYS ids, sent from a port >= 1024 by a process that is
    not root on the node, are refused (ganesha hides the export from it: NFS4ERR_NOENT); the same
    request from root's privileged port succeeds (test_each_service_writes_its_own_export). The
    control: with PrivilegedPort = false for a moment, the very same unprivileged request succeeds,
    so the refusal is the port's and nothing else's."""
    export, uid = "/srv/nfs/greptimedb", OWNERS["greptimedb"]
    assert "NFS4ERR_NOENT" in _refused(host, nfs, export, uid, uid, as_user=1000)

    conf = "/etc/ganesha/ganesha.conf"
    reload = "kill -HUP $(pgrep --exact ganesha.nfsd)"
    nfs.check_output("cp %s /tmp/ganesha.conf.verify && sed -i 's/PrivilegedPort = true/PrivilegedPort = false/' %s && %s"
                     % (conf, conf, reload))
    probe = "probe-port-" + uuid.uuid4().hex[:8]
    try:
        for _attempt in range(20):  # the reload takes a moment
            if _nfs_cp(host, export, probe, uid, uid, as_user=1000).rc == 0:
                break
            time.sleep(1)
        assert nfs.file("%s/%s" % (export, probe)).uid == uid, "the control request failed without PrivilegedPort too"
    finally:
        nfs.check_output("mv /tmp/ganesha.conf.verify %s && rm -f %s/%s && %s" % (conf, export, probe, reload))
    for _attempt in range(20):
        if "NFS4ERR_NOENT" in _nfs_cp(host, export, probe, uid, uid, as_user=1000).stderr:
            break
        time.sleep(1)
    assert "NFS4ERR_NOENT" in _refused(host, nfs, export, uid, uid, as_user=1000)


def test_listing_over_the_wire(host):
    out = host.check_output("nfs-ls %s", "nfs://%s/srv/nfs?version=4" % SERVER_IP)
    assert "greptimedb" in out and "alertmanager" in out
