"""The real node's user-space mount.nfs (lab/realnode.d/mount.nfs, mount_nfs.py): the kubelet's NFS volume plugin
runs `mount -t nfs SERVER:/PATH TARGET`; the lab's kernel has no nfs filesystem, so the real node's
image answers with libnfs's NFSv4 client over FUSE. Against NFS-Ganesha set up by the nfs_server
role with the lab's settings:

- `mount -t nfs nfs-1:/srv/nfs/greptimedb` in a container of the real node's image (its caps and
  security options from the lab's inventory, /dev/fuse as lab/hosts.yml gives it) returns once a
  fuse.nfs4 mount of the export is live;
- what a process of uid 10001 (GreptimeDB's) writes there is on the server, owned by 10001:10001
  (files, a directory, a rename, a truncate, a 4 MiB file by checksum), and what the server has is
  read back through the mount;
- root is squashed: the server refuses it writing, reading and listing in the 0750 export;
- Debian's nfs-common installed afterwards (as the nfs_client role does) leaves the helper in place;
- `umount` ends the helper's daemon.

Its own containers (gpufleet-nfsh-*) on its own network 10.89.47.0/24, removed at the end. Needs
root and podman: `scripts/test lab`.
"""

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml
from play_recap import play_recap

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("podman"), reason="needs root and podman")

REPO = Path(__file__).resolve().parents[2]
PREFIX = "gpufleet-nfsh"
NETWORK, SUBNET = PREFIX, "10.89.47.0/24"
SERVER, SERVER_IP = PREFIX + "-nfs-1", "10.89.47.10"
NODE, NODE_IP = PREFIX + "-node", "10.89.47.21"
VOLUME = PREFIX + "-exports"
EXPORT, TARGET = "/srv/nfs/greptimedb", "/mnt/greptimedb"
OWNER = 10001
HELPER = REPO / "lab" / "realnode.d" / "mount.nfs"


def run(*args, check=True, timeout=300):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check, timeout=timeout,
                          cwd=str(REPO))


def on(container, script, check=True, timeout=120):
    result = run("podman", "exec", container, "bash", "-c", script, check=False, timeout=timeout)
    if check:
        assert result.returncode == 0, "%s: %s\n%s%s" % (container, script, result.stdout, result.stderr)
    return result


def as_owner(script, check=True):
    return on(NODE, "cd / && setpriv --reuid=%d --regid=%d --clear-groups bash -c %s"
              % (OWNER, OWNER, _quote(script)), check=check)


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def remove_all():
    run("podman", "rm", "-f", "-t", "0", SERVER, NODE, check=False)
    run("podman", "volume", "rm", "-f", VOLUME, check=False)
    run("podman", "network", "rm", "-f", NETWORK, check=False)


def apply_nfs_server(tmp):
    """roles/nfs_server on the server container, with the lab's nfs_servers settings."""
    inventory = tmp / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    shutil.copy(REPO / "inventories" / "lab" / "group_vars" / "nfs_servers" / "nfs_server.yml",
                inventory / "group_vars" / "nfs_servers.yml")
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "vars": {"lab_subnet": SUBNET},
        "children": {"nfs_servers": {"hosts": {"nfs-1": {
            "ansible_connection": "containers.podman.podman", "ansible_host": SERVER,
            "ansible_python_interpreter": "/usr/bin/python3"}}}}}}))
    (tmp / "site.yml").write_text(yaml.safe_dump([{
        "name": "NFS server", "hosts": "nfs_servers", "roles": [{"role": "gpufleet.cluster.nfs_server"}]}]))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"))
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory / "hosts.yml"), str(tmp / "site.yml")],
                          capture_output=True, text=True, env=env, cwd=str(REPO), timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert play_recap(proc.stdout)["nfs-1"]["failed"] == 0


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = run(REPO / "lab" / "node-image", timeout=1800).stdout.strip()
    started = time.monotonic()
    image = run(REPO / "lab" / "realnode-image", timeout=1800).stdout.strip()
    print("real node image %s (%.1f s)" % (image, time.monotonic() - started))
    settings = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "all" / "lab.yml").read_text())
    remove_all()
    try:
        run("podman", "network", "create", "--subnet", SUBNET, NETWORK)
        run("podman", "volume", "create", VOLUME)
        # As lab/hosts.yml makes nfs-1: the exports on a volume (Ganesha cannot export overlayfs).
        run("podman", "run", "-d", "--name", SERVER, "--hostname", "nfs-1", "--network", NETWORK, "--ip", SERVER_IP,
            "--cap-add", "DAC_READ_SEARCH", "-v", VOLUME + ":/srv/nfs", base, "sleep", "infinity")
        # As lab/hosts.yml makes the real node, without its supervisor (no kubelet needed here).
        run("podman", "run", "-d", "--init", "--name", NODE, "--hostname", "gpu-sdsu-1", "--network", NETWORK,
            "--ip", NODE_IP, "--cap-add", ",".join(settings["lab_real_node_caps"]),
            *[a for opt in settings["lab_real_node_security_opts"] for a in ("--security-opt", opt)],
            "--device", "/dev/fuse", image, "sleep", "infinity")
        apply_nfs_server(tmp_path_factory.mktemp("nfsh"))
        on(NODE, "mkdir -p " + TARGET)
        yield image
    finally:
        remove_all()


def helpers():
    """The helper's daemons still running in the node (zombies are reaped by --init)."""
    return on(NODE, "pgrep -f '^/usr/bin/python3 /usr/local/lib/gpufleet/mount_nfs.py' || true").stdout.split()


def test_mount_returns_with_the_export_live(lab):
    started = time.monotonic()
    on(NODE, "mount -t nfs %s:%s %s -o hard,nfsvers=4.1" % (SERVER_IP, EXPORT, TARGET))
    print("mount -t nfs: %.2f s" % (time.monotonic() - started))
    mounts = on(NODE, "cat /proc/mounts").stdout.splitlines()
    line = [m for m in mounts if m.split()[1] == TARGET]
    assert len(line) == 1 and line[0].split()[:3] == ["%s:%s" % (SERVER_IP, EXPORT), TARGET, "fuse.nfs4"], mounts
    assert "allow_other" in line[0]
    assert len(helpers()) == 1
    # The export's root as the server has it: 0750, GreptimeDB's.
    assert on(NODE, "stat -c '%u:%g %a' " + TARGET).stdout.split() == ["10001:10001", "750"]


def test_owner_writes_reach_the_server(lab):
    tag = uuid.uuid4().hex[:8]
    payload = os.urandom(4 << 20)
    subprocess.run(["podman", "exec", "-i", NODE, "bash", "-c", "cat > /tmp/payload && chmod 644 /tmp/payload"],
                   input=payload, check=True, timeout=60)
    as_owner("set -e; umask 022; echo hello-%(t)s > %(m)s/note-%(t)s; mkdir %(m)s/dir-%(t)s;"
             "echo moved > %(m)s/tmp-%(t)s; mv %(m)s/tmp-%(t)s %(m)s/dir-%(t)s/moved;"
             "echo 0123456789 > %(m)s/dir-%(t)s/cut; truncate -s 4 %(m)s/dir-%(t)s/cut;"
             "cp /tmp/payload %(m)s/big-%(t)s" % {"t": tag, "m": TARGET})
    listing = on(SERVER, "cd %s && stat -c '%%n %%u:%%g %%a %%s' note-%s dir-%s dir-%s/moved dir-%s/cut big-%s"
                 % (EXPORT, tag, tag, tag, tag, tag)).stdout.split("\n")
    assert listing[:-1] == [
        "note-%s 10001:10001 644 %d" % (tag, len("hello-%s\n" % tag)),
        "dir-%s 10001:10001 755 4096" % tag,
        "dir-%s/moved 10001:10001 644 6" % tag,
        "dir-%s/cut 10001:10001 644 4" % tag,
        "big-%s 10001:10001 644 %d" % (tag, len(payload))], listing
    assert on(SERVER, "cat %s/note-%s" % (EXPORT, tag)).stdout == "hello-%s\n" % tag
    assert on(SERVER, "cat %s/dir-%s/cut" % (EXPORT, tag)).stdout == "0123"
    assert on(SERVER, "sha256sum %s/big-%s" % (EXPORT, tag)).stdout.split()[0] == hashlib.sha256(payload).hexdigest()
    # The other way: a file the server has is read through the mount.
    on(SERVER, "echo from-server-%s > %s/server-%s && chown 10001:10001 %s/server-%s" % (tag, EXPORT, tag, EXPORT, tag))
    assert as_owner("cat %s/server-%s" % (TARGET, tag)).stdout == "from-server-%s\n" % tag
    as_owner("rm -r %(m)s/note-%(t)s %(m)s/dir-%(t)s %(m)s/big-%(t)s %(m)s/server-%(t)s" % {"t": tag, "m": TARGET})
    assert on(SERVER, "ls -A %s" % EXPORT).stdout.split() == []


def test_root_is_squashed(lab):
    """Root on the node has every permission locally (the kernel's check, default_permissions,
    lets CAP_DAC_OVERRIDE through), so a refusal comes from the server: root arrives there as
    65534, which may not even pass the 0750 export root."""
    tag = uuid.uuid4().hex[:8]
    as_owner("umask 022 && echo mine > %s/owner-%s" % (TARGET, tag))
    for script in ("echo x > %s/root-%s" % (TARGET, tag), "cat %s/owner-%s" % (TARGET, tag),
                   "ls %s" % TARGET):
        refused = on(NODE, script, check=False)
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, (script, refused)
    assert on(SERVER, "ls -A %s" % EXPORT).stdout.split() == ["owner-" + tag]
    as_owner("rm %s/owner-%s" % (TARGET, tag))


def test_nfs_common_leaves_the_helper(lab):
    on(NODE, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends"
             " nfs-common >/dev/null", timeout=300)
    digest = hashlib.sha256(HELPER.read_bytes()).hexdigest()
    for path in ("/sbin/mount.nfs", "/sbin/mount.nfs4"):
        assert on(NODE, "sha256sum $(readlink -f %s)" % path).stdout.split()[0] == digest, path
    assert on(NODE, "dpkg-divert --truename /sbin/mount.nfs").stdout.strip() == "/sbin/mount.nfs.kernel"
    assert on(NODE, "test -x /sbin/mount.nfs.kernel")


def test_umount_ends_the_daemon(lab):
    assert len(helpers()) == 1
    on(NODE, "umount " + TARGET)
    deadline = time.monotonic() + 10
    while helpers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert helpers() == []
    assert TARGET not in on(NODE, "cut -d' ' -f2 /proc/mounts").stdout.split()
