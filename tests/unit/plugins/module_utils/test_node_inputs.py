from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.node_inputs import (
    dirs_to_write,
    host_path_problems,
    id_problem,
    mode_problem,
    network_problem,
    nfs_server_exports,
    path_problem,
    problems_for,
)

NODE_PREP = {
    "data_dirs": [
        {"path": "/raid/models", "owner": 0, "group": 0, "mode": "0750"},
        {"path": "/data/alertmanager", "owner": 65534, "group": 65534, "mode": "2750"},
    ],
    "allow_world_writable": False,
    "min_free_gb": 100,
}
NFS_SERVER = {
    "clients": ["10.89.40.0/24"],
    "export_root": "/srv/nfs",
    "exports": [{"name": "greptimedb", "owner": 10001, "group": 10001, "mode": "0750"},
                {"name": "alertmanager", "owner": 10002, "group": 10002}],
    "squash": "root_squash",
    "allow_no_root_squash": False,
    "allow_world_writable": False,
    "anonuid": 65534,
    "anongid": 65534,
    "ganesha_port": 2049,
}
NFS_SERVER_FILES = {"exports_file": "/etc/exports.d/gpufleet.exports", "ganesha_config": "/etc/ganesha/ganesha.conf"}
NFS_CLIENT = {
    "mounts": [{"export": "/srv/nfs/greptimedb", "path": "/data/greptimedb", "uid": 0, "gid": 0}],
    "server": "10.89.40.10",
    "rsize": "1MiB",
    "wsize": 1048576,
    "options": ["hard", "noatime", "timeo=600"],
}
XFS_CACHE = {
    "device": "/dev/nvme1n1",
    "mount_path": "/raid",
    "label": "gpucache",
    "mkfs_options": [],
    "allocsize": "16MiB",
    "logbsize": "256KiB",
    "extra_mount_options": [],
    "owner": 0,
    "group": 0,
    "mode": "0755",
    "confirm_format": "",
}
STORAGE_VALIDATION = {
    "paths": ["/raid", "/raid/models"],
    "min_read_mibps": 0,
    "min_write_mibps": 100.5,
    "min_free_gb": 0,
    "timeout": 1800,
    "poll_seconds": 5,
    "direct": True,
    "allow_buffered_fallback": "no",
    "disk_space": "yes",
}
GOOD = {"node_prep": NODE_PREP, "nfs_server": NFS_SERVER, "nfs_client": NFS_CLIENT, "xfs_cache": XFS_CACHE,
        "storage_validation": STORAGE_VALIDATION}


@pytest.mark.parametrize("role", sorted(GOOD))
def test_defaults_like_input_is_accepted(role):
    assert problems_for(role, GOOD[role]) == []


def _with(role, dotted, value):
    inputs = copy.deepcopy(GOOD[role])
    target = inputs
    keys = dotted.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return inputs


BAD = [
    ("node_prep", "extra_packages", "fio", ["node_prep_extra_packages='fio' is not a list"]),
    ("node_prep", "extra_packages", ["fio", "-oAPT::Update::Pre-Invoke::=id"],
     ["node_prep_extra_packages[1]='-oAPT::Update::Pre-Invoke::=id' is not a package name", "as root"]),
    ("node_prep", "extra_packages", ["nvidia-*"], ["node_prep_extra_packages[0]='nvidia-*' is not a package name"]),
    ("node_prep", "extra_packages", [None], ["node_prep_extra_packages[0]=None is not a package name"]),
    ("nfs_client", "extra_packages", ["https://example.org/x.rpm"],
     ["nfs_client_extra_packages[0]='https://example.org/x.rpm' is not a package name", "e.g. 'libnfs-utils'"]),
    ("nfs_client", "extra_packages", ["/tmp/x.deb"], ["nfs_client_extra_packages[0]='/tmp/x.deb'"]),
    ("nfs_client", "extra_packages", ["nfs-common; id"], ["nfs_client_extra_packages[0]='nfs-common; id'"]),
    ("nfs_client", "extra_packages", ["nfs-common/bookworm-backports"], ["is not a package name"]),
    ("nfs_client", "extra_packages", ["evil.rpm"], ["nfs_client_extra_packages[0]='evil.rpm' is not a package name"]),
    ("node_prep", "extra_packages", ["fio=3.33-3"], ["node_prep_extra_packages[0]='fio=3.33-3' is not a package name",
                                                     "pin versions with apt preferences"]),
    ("node_prep", "data_dirs.0.path", "raid/models", ["node_prep_data_dirs[0].path='raid/models' is relative"]),
    ("node_prep", "data_dirs.0.path", "/raid/../etc", ["node_prep_data_dirs[0].path='/raid/../etc' climbs with '..'"]),
    ("node_prep", "data_dirs.0.path", "/etc", ["is inside the system directory '/etc'"]),
    ("node_prep", "data_dirs.0.path", "/proc/x", ["pseudo filesystem"]),
    ("node_prep", "data_dirs.0.mode", "777x", ["node_prep_data_dirs[0].mode='777x' is not an octal mode"]),
    ("node_prep", "data_dirs.0.mode", "0777", ["(o+w)", "node_prep_allow_world_writable: true"]),
    ("node_prep", "data_dirs.0.mode", 488, ["is a number; YAML reads an unquoted 0750 as 488"]),
    ("node_prep", "data_dirs.0.owner", "Bad User", ["neither a numeric id nor a user/group name"]),
    ("node_prep", "data_dirs.0.group", -1, ["out of range"]),
    ("node_prep", "data_dirs.1.path", "/raid/models", ["lists '/raid/models' more than once"]),
    ("node_prep", "data_dirs.1", "x", ["is not a mapping"]),
    ("node_prep", "data_dirs", "/raid/models", ["node_prep_data_dirs='/raid/models' is not a list"]),
    ("node_prep", "min_free_gb", -5, ["node_prep_min_free_gb=-5 must be a number of GB >= 0"]),
    ("nfs_server", "clients", ["*"], ["nfs_server_clients[0]='*' is a wildcard: it exports to everyone"]),
    ("nfs_server", "clients", ["0.0.0.0/0"], ["exports to everyone"]),
    ("nfs_server", "clients", ["10.0.0.0/33"], ["is not an IP address or CIDR"]),
    ("nfs_server", "clients", [], ["nfs_server_clients is empty"]),
    ("nfs_server", "clients", "10.0.0.0/24", ["is not a list"]),
    ("nfs_server", "exports.0.name", "Grep Time", ["is not a valid export name"]),
    ("nfs_server", "exports.0.mode", "0777", ["nfs_server_exports[0].mode='0777' lets every user"]),
    ("nfs_server", "exports.0.squash", "no_root_squash", ["nfs_server_allow_no_root_squash: true"]),
    ("nfs_server", "squash", "squash_everything", ["must be one of root_squash"]),
    ("nfs_server", "exports.1.path", "/srv/nfs/greptimedb/sub", ["nests"]),
    ("nfs_server", "exports.1.name", "greptimedb", ["more than once"]),
    ("nfs_server", "exports.0.clients", ["10.0.0.0/8", "*.example.org"], ["nfs_server_exports[0].clients[1]"]),
    ("nfs_server", "exports", [], ["nfs_server_exports is empty"]),
    ("nfs_server", "anonuid", "nobody", ["nfs_server_anonuid='nobody' is not a whole number"]),
    ("nfs_server", "ganesha_port", 70000, ["nfs_server_ganesha_port=70000"]),
    ("nfs_server", "anonuid", 0, ["undoes root_squash"]),
    ("nfs_server", "exports.0.anongid", 0, ["nfs_server_exports[0].anongid=0"]),
    ("nfs_server", "exports.1.id", 1, ["export id 1 more than once"]),
    # Networks wider than a /16 (IPv4) or a /64 (IPv6) need nfs_server_allow_wide_clients.
    ("nfs_server", "clients", ["10.0.0.0/8"],
     ["nfs_server_clients[0]='10.0.0.0/8' is wider than /16 (16777216 addresses)", "nfs_server_allow_wide_clients: true"]),
    ("nfs_server", "clients", ["10.0.0.0/16"], []),
    ("nfs_server", "clients", ["fd00::/48"], ["nfs_server_clients[0]='fd00::/48' is wider than /64"]),
    ("nfs_server", "exports.0.clients", ["172.16.0.0/12"], ["nfs_server_exports[0].clients[0]='172.16.0.0/12' is wider"]),
    ("nfs_server", "allow_wide_clients", "maybe", ["nfs_server_allow_wide_clients='maybe' is not a boolean"]),
    # Who owns an export: not the squashed ids, not another export's owner.
    ("nfs_server", "exports.0.owner", 65534,
     ["nfs_server_exports[0].owner=65534 is the uid that squashed root writes as (nfs_server_anonuid=65534)",
      "root_squash protects nothing", "give the export the uid its service runs as"]),
    ("nfs_server", "exports.0.group", 65534, ["nfs_server_exports[0].group=65534 is the gid that squashed root"]),
    ("nfs_server", "exports.1.anonuid", 10002, ["nfs_server_exports[1].owner=10002 is the uid", "(nfs_server_exports[1].anonuid=10002)"]),
    ("nfs_server", "exports.1.owner", 10001,
     ["nfs_server_exports[1].owner=10001 is also the owner of nfs_server_exports[0] (greptimedb)", "each service could read"]),
    ("nfs_server", "exports.1.group", 10001, ["nfs_server_exports[1].group=10001 is also the group of nfs_server_exports[0]"]),
    ("nfs_server", "exports.1.owner", KeyError, ["nfs_server_exports[1] has no owner; give the uid its service runs as"]),
    ("nfs_server", "exports.1.group", None, ["nfs_server_exports[1] has no group"]),
    ("nfs_server", "export_root", "srv/nfs", ["nfs_server_export_root='srv/nfs' is relative"]),
    ("nfs_client", "rsize", "20Gx", ["nfs_client_rsize='20Gx'"]),
    ("nfs_client", "wsize", "3000", ["must be a power of two between 4KiB and 1MiB"]),
    ("nfs_client", "server", "", ["has no server and nfs_client_server is empty"]),
    ("nfs_client", "server", "nfs 1", ["is not a host name or IP address"]),
    ("nfs_client", "mounts.0.export", "srv/nfs", ["nfs_client_mounts[0].export='srv/nfs' is relative", "the absolute path exported"]),
    ("nfs_client", "mounts.0.path", "/var", ["is a system directory"]),
    ("nfs_client", "mounts.0.uid", "root", ["nfs_client_mounts[0].uid='root' is not a whole number"]),
    ("nfs_client", "options", ["hard,intr"], ["is not a single mount option"]),
    ("nfs_client", "options", "hard", ["is not a list"]),
    # Options the role writes from variables of its own: the later one would win in the kernel.
    ("nfs_client", "options", ["hard", "vers=3"],
     ["nfs_client_options[1]='vers=3' sets vers, which the role sets from nfs_client_version"]),
    ("nfs_client", "options", ["NFSVERS=4.0"], ["sets nfsvers, which the role sets from nfs_client_version"]),
    ("nfs_client", "options", ["rsize=4096"], ["nfs_client_options[0]='rsize=4096' sets rsize", "nfs_client_rsize"]),
    ("nfs_client", "options", ["minorversion=0"], ["sets minorversion, which the role sets from nfs_client_version"]),
    # nosuid,nodev are the role's: switching them back on is refused.
    ("nfs_client", "options", ["hard", "suid"], ["nfs_client_options[1]='suid' lets a setuid program", "nosuid,nodev"]),
    ("nfs_client", "options", ["DEV"], ["nfs_client_options[0]='DEV' lets a device node"]),
    ("nfs_client", "options", ["nosuid", "nodev", "noexec"], []),
    ("xfs_cache", "extra_mount_options", ["allocsize=64k"],
     ["xfs_cache_extra_mount_options[0]='allocsize=64k' sets allocsize, which the role sets from xfs_cache_allocsize"]),
    ("xfs_cache", "device", "", ["xfs_cache_device is not set"]),
    ("xfs_cache", "device", "sdb", ["must be a block device path under /dev"]),
    ("xfs_cache", "mount_path", "/", ["is a system directory"]),
    ("xfs_cache", "label", "gpufleet-cache-disk", ["xfs_cache_label='gpufleet-cache-disk' must be 1 to 12"]),
    ("xfs_cache", "mkfs_options", ["-f"], ["asks mkfs.xfs to force"]),
    ("xfs_cache", "mkfs_options", "-f", ["must be a list of strings"]),
    # Files the role writes whole as root: only where the NFS server reads them.
    ("nfs_server", "exports_file", "/etc/passwd", ["nfs_server_exports_file='/etc/passwd' is not a drop-in of /etc/exports.d"]),
    ("nfs_server", "exports_file", "/etc/exports", ["/etc/exports (the host's own, which the role never overwrites)"]),
    ("nfs_server", "exports_file", "/etc/exports.d/../sudoers.d/x.exports", ["is not a drop-in"]),
    ("nfs_server", "exports_file", "/tmp/x", ["use e.g. '/etc/exports.d/gpufleet.exports'"]),
    ("nfs_server", "ganesha_config", "/etc/sudoers.d/ganesha.conf",
     ["nfs_server_ganesha_config='/etc/sudoers.d/ganesha.conf' is not a file of /etc/ganesha"]),
    ("nfs_server", "ganesha_config", "/etc/ganesha/../passwd.conf", ["is not a file of /etc/ganesha"]),
    # Another device or file formatted by the same mkfs.xfs run, which the preflight never looked at.
    ("xfs_cache", "mkfs_options", ["-l", "logdev=/dev/sdb,size=1g"],
     ["xfs_cache_mkfs_options[1]='logdev=/dev/sdb,size=1g' names another device or file for mkfs.xfs to format"]),
    ("xfs_cache", "mkfs_options", ["-r", "RTDEV=/dev/sdc"], ["xfs_cache_mkfs_options[1]='RTDEV=/dev/sdc' names another"]),
    # -l name= and -r name= are logdev= and rtdev= by another name; -d name= a data file.
    ("xfs_cache", "mkfs_options", ["-l", "name=/dev/sdb"], ["xfs_cache_mkfs_options[1]='name=/dev/sdb' names another"]),
    ("xfs_cache", "mkfs_options", ["-d", "file,name=/etc/x"],
     ["(an external log, a realtime section or a data file: file, name)"]),
    # Joined and split again on spaces by community.general.filesystem: '-q -f' would be two options.
    ("xfs_cache", "mkfs_options", ["-q -f"], ["xfs_cache_mkfs_options[0]='-q -f' is not one word"]),
    ("xfs_cache", "mkfs_options", ["-d", "su=256k\n"], ["xfs_cache_mkfs_options[1]='su=256k\\n' is not one word"]),
    # getopt reads -qf as -q -f, -qp as -q -p: letters are taken one per entry from an allowlist.
    ("xfs_cache", "mkfs_options", ["-qf"], ["xfs_cache_mkfs_options[0]='-qf' is not one of the mkfs.xfs options"]),
    ("xfs_cache", "mkfs_options", ["-qp", "/etc/shadow"], ["xfs_cache_mkfs_options[0]='-qp' is not one of"]),
    ("xfs_cache", "mkfs_options", ["-KL", "x"], ["xfs_cache_mkfs_options[0]='-KL' is not one of"]),
    ("xfs_cache", "mkfs_options", ["-N"], ["'-N' is not one of the mkfs.xfs options the role passes on"]),
    ("xfs_cache", "mkfs_options", ["-p", "/etc/shadow"], ["xfs_cache_mkfs_options[0]='-p' asks mkfs.xfs to fill"]),
    ("xfs_cache", "mkfs_options", ["-L", "other"],
     ["xfs_cache_mkfs_options[0]='-L' sets the label", "set xfs_cache_label instead"]),
    ("xfs_cache", "mkfs_options", ["-m", "crc=1,uuid=0-0"], ["xfs_cache_mkfs_options[1]='crc=1,uuid=0-0' sets the UUID"]),
    ("xfs_cache", "allocsize", "20Gx", ["xfs_cache_allocsize='20Gx'"]),
    ("xfs_cache", "allocsize", "3MiB", ["must be a power of two"]),
    ("xfs_cache", "logbsize", "512KiB", ["is not one XFS accepts"]),
    ("xfs_cache", "mode", "0777", ["xfs_cache_mode='0777' lets every user"]),
    ("xfs_cache", "owner", 1.5, ["xfs_cache_owner=1.5 is neither"]),
    # Hostile input: control characters, option / block syntax for /etc/exports and ganesha.conf,
    # strings for booleans, signed and overflowing numbers, traversal.
    ("node_prep", "data_dirs.0.path", "/raid/models\n", ["node_prep_data_dirs[0].path='/raid/models\\n'", "control"]),
    ("node_prep", "data_dirs.0.path", "/raid/models/", ["is not a clean path; write it as '/raid/models'"]),
    ("node_prep", "data_dirs.0.mode", "0750\n", ["node_prep_data_dirs[0].mode='0750\\n' is not an octal mode"]),
    ("node_prep", "data_dirs.0.owner", "nobody\n", ["node_prep_data_dirs[0].owner='nobody\\n' is neither"]),
    ("node_prep", "allow_world_writable", "maybe", ["node_prep_allow_world_writable='maybe' is not a boolean"]),
    ("node_prep", "install_packages", "nope", ["node_prep_install_packages='nope' is not a boolean"]),
    ("node_prep", "min_free_gb", float("inf"), ["node_prep_min_free_gb=inf"]),
    ("nfs_server", "clients", ["10.0.0.0/8(rw,no_root_squash)"], ["nfs_server_clients[0]='10.0.0.0/8(rw,no_root_squash)'"]),
    ("nfs_server", "clients", ["10.0.0.0/8 *(rw)"], ["nfs_server_clients[0]='10.0.0.0/8 *(rw)'"]),
    ("nfs_server", "clients", ["host}"], ["nfs_server_clients[0]='host}' is not an IP address"]),
    ("nfs_server", "clients", ["10.0.0.1\n/srv *(rw)"], ["nfs_server_clients[0]='10.0.0.1\\n/srv *(rw)'"]),
    ("nfs_server", "clients", ['10.0.0.1"; Access_Type = RW'], ["nfs_server_clients[0]='10.0.0.1\"; Access_Type = RW'"]),
    ("nfs_server", "clients", ["fe80::1%eth0}"], ["nfs_server_clients[0]='fe80::1%eth0}'"]),
    ("nfs_server", "clients", ["nfs.example.org"], ["is not an IP address or CIDR"]),
    ("nfs_server", "export_root", "/srv/nfs\n/etc *(rw,no_root_squash)", ["nfs_server_export_root=", "control"]),
    ("nfs_server", "export_root", "/srv/my nfs", ["nfs_server_export_root='/srv/my nfs' has ' '"]),
    ("nfs_server", "exports.0.path", '/srv/nfs/a"b', ["nfs_server_exports[0].path='/srv/nfs/a\"b' has '\"'"]),
    ("nfs_server", "exports.0.path", "/srv/nfs/a}", ["nfs_server_exports[0].path='/srv/nfs/a}' has '}'"]),
    ("nfs_server", "exports.0.path", "/srv/nfs/a;b", ["has ';'"]),
    ("nfs_server", "exports.0.path", "/srv/nfs/../../etc", ["climbs with '..'"]),
    ("nfs_server", "exports.0.path", "/srv/nfs/a(rw)", ["has '(', ')'"]),
    ("nfs_server", "exports.0.name", "greptimedb\n", ["nfs_server_exports[0].name='greptimedb\\n' is not a valid"]),
    ("nfs_server", "exports.0.id", True, ["nfs_server_exports[0].id=True is not a whole number"]),
    ("nfs_server", "exports.0.id", "1", ["nfs_server_exports[0].id='1' is not a whole number"]),
    ("nfs_server", "anonuid", -1, ["nfs_server_anonuid=-1 must be between 0 and"]),
    ("nfs_server", "anonuid", 2 ** 64, ["nfs_server_anonuid=18446744073709551616 must be between"]),
    ("nfs_server", "ganesha_port", "2049", ["nfs_server_ganesha_port='2049' is not a whole number"]),
    ("nfs_server", "allow_no_root_squash", "False", []),
    ("nfs_server", "allow_world_writable", "maybe", ["nfs_server_allow_world_writable='maybe' is not a boolean"]),
    ("nfs_server", "ganesha_graceless", "sometimes", ["nfs_server_ganesha_graceless='sometimes' is not a boolean"]),
    ("nfs_client", "server", "nfs-1\n", ["nfs_client_mounts[0].server='nfs-1\\n' is not a host name"]),
    ("nfs_client", "server", "10.0.0.1:/x", ["is not a host name or IP address"]),
    ("nfs_client", "mounts.0.export", "/srv/nfs/a b", ["nfs_client_mounts[0].export='/srv/nfs/a b' has ' '"]),
    ("nfs_client", "mounts.0.path", "/data/../etc", ["climbs with '..'"]),
    ("nfs_client", "options", ["hard\n"], ["nfs_client_options[0]='hard\\n' is not a single mount option"]),
    ("nfs_client", "write_test", "maybe", ["nfs_client_write_test='maybe' is not a boolean"]),
    ("nfs_client", "mounts.0.uid", -1, ["nfs_client_mounts[0].uid=-1 must be between 0 and"]),
    ("xfs_cache", "device", "/dev/nvme1n1\n", ["xfs_cache_device='/dev/nvme1n1\\n'", "control"]),
    ("xfs_cache", "device", "/dev/../etc/passwd", ["climbs with '..'"]),
    ("xfs_cache", "label", "gpucache\n", ["xfs_cache_label='gpucache\\n' must be 1 to 12"]),
    ("xfs_cache", "force", False, ["xfs_cache_force=False is no longer read", "set xfs_cache_confirm_format to that device"]),
    ("xfs_cache", "force", "yes", ["xfs_cache_force='yes' is no longer read"]),
    ("xfs_cache", "confirm_format", "/dev/sdb",
     ["xfs_cache_confirm_format='/dev/sdb' does not name xfs_cache_device='/dev/nvme1n1', the only device"]),
    # The same disk by another name is still another name: the confirmation is the path as planned.
    ("xfs_cache", "confirm_format", "/dev/disk/by-id/nvme-x", ["does not name xfs_cache_device='/dev/nvme1n1'"]),
    ("xfs_cache", "confirm_format", "/dev/nvme1n1", []),
    ("xfs_cache", "confirm_format", None, []),
    ("xfs_cache", "allocsize", "-16MiB", ["xfs_cache_allocsize='-16MiB'"]),
    ("storage_validation", "paths", [], ["storage_validation_paths is empty"]),
    ("storage_validation", "paths.0", "raid", ["storage_validation_paths[0]='raid' is relative"]),
    ("storage_validation", "paths.0", "/raid\n", ["storage_validation_paths[0]='/raid\\n'", "control"]),
    ("storage_validation", "paths.0", "/raid/../etc", ["climbs with '..'"]),
    ("storage_validation", "paths.0", "/etc/gpufleet",
     ["storage_validation_paths[0]='/etc/gpufleet' is inside the system directory '/etc'", "writes a test file there"]),
    ("storage_validation", "paths.0", "/proc/1", ["is on a pseudo filesystem"]),
    ("storage_validation", "min_read_mibps", -1, ["storage_validation_min_read_mibps=-1 is not a number >= 0"]),
    ("storage_validation", "min_free_gb", float("inf"), ["storage_validation_min_free_gb=inf"]),
    ("storage_validation", "min_write_mibps", True, ["storage_validation_min_write_mibps=True is not a number"]),
    ("storage_validation", "timeout", 0, ["storage_validation_timeout=0 must be >= 1"]),
    ("storage_validation", "timeout", "1e3", ["storage_validation_timeout='1e3' is not a whole number"]),
    ("storage_validation", "poll_seconds", 3600, ["storage_validation_poll_seconds=3600 is longer than"]),
    ("storage_validation", "direct", "maybe", ["storage_validation_direct='maybe' is not a boolean"]),
]


@pytest.mark.parametrize("role, dotted, value, fragments", BAD, ids=["%s:%s=%r" % b[:3] for b in BAD])
def test_bad_input_is_named(role, dotted, value, fragments):
    problems = problems_for(role, _with(role, dotted, value))
    if not fragments:  # a value Ansible reads as a boolean ("False"): accepted
        assert problems == []
        return
    assert problems, "no problem reported"
    text = "\n".join(problems)
    for fragment in fragments:
        assert fragment in text


def test_world_writable_allowed_when_asked():
    inputs = _with("node_prep", "data_dirs.0.mode", "1777")
    assert problems_for("node_prep", inputs)
    inputs["allow_world_writable"] = True
    assert problems_for("node_prep", inputs) == []


def test_no_root_squash_allowed_when_asked():
    inputs = _with("nfs_server", "squash", "no_root_squash")
    inputs["allow_no_root_squash"] = True
    assert problems_for("nfs_server", inputs) == []


def test_all_problems_are_reported_at_once():
    inputs = _with("node_prep", "data_dirs.0.mode", "777x")
    inputs["data_dirs"][1]["path"] = "data"
    assert len(problems_for("node_prep", inputs)) == 2


@pytest.mark.parametrize("value", ["0750", "2750", "750", "0644", "1770"])
def test_modes_accepted(value):
    assert mode_problem("m", value) is None


@pytest.mark.parametrize("value", [0, 65534, "nobody", "_apt"])
def test_ids_accepted(value):
    assert id_problem("i", value) is None


@pytest.mark.parametrize("value", ["10.0.0.15", "10.0.0.0/24", "fd00::/64", "192.168.1.0/255.255.255.0"])
def test_networks_accepted(value):
    assert network_problem("n", value) is None


@pytest.mark.parametrize("value", ["/raid", "/data/alertmanager", "/mnt/gpu cache", "/home/z1_ossci/greptimedb",
                                   "/var/lib/gpufleet", "/srv/nfs/greptimedb", "/etcetera", "/usrdata", "/opt/models"])
def test_paths_accepted(value):
    assert path_problem("p", value) is None


@pytest.mark.parametrize("value, reason", [
    # The operating system's trees and the kubelet's and runtimes' state: refused with all under them.
    ("/etc", "is inside the system directory '/etc'"),
    ("/etc/gpufleet", "is inside the system directory '/etc'"),
    ("/usr/local/models", "is inside the system directory '/usr'"),
    ("/boot/efi/cache", "is inside the system directory '/boot'"),
    ("/var/lib/kubelet/pods", "is inside the system directory '/var/lib/kubelet'"),
    ("/var/lib/containerd", "is inside the system directory '/var/lib/containerd'"),
    ("/lib64/x", "is inside the system directory '/lib64'"),
    # Pseudo filesystems, whole.
    ("/proc/1", "is on a pseudo filesystem"),
    ("/run/gpufleet", "is on a pseudo filesystem"),
    ("/dev/shm/cache", "is on a pseudo filesystem"),
    # Refused as themselves: a directory of their own under them is fine.
    ("/", "is a system directory"),
    ("/home", "is a system directory"),
    ("/var/lib", "is a system directory"),
    ("/mnt", "is a system directory"),
])
def test_system_directories_are_refused_by_prefix_or_as_themselves(value, reason):
    problem = path_problem("node_prep_data_dirs[0].path", value)
    assert problem is not None and problem.startswith("node_prep_data_dirs[0].path=%r %s" % (value, reason)), problem


def _record(path, real, links):
    return {"path": path, "real_path": real, "resolved_path": real, "symlinks": links}


def test_a_symlinked_parent_into_a_system_directory_is_refused_naming_the_link():
    records = [
        _record("/data/etc-link/gpufleet", "/etc/gpufleet", [{"path": "/data/etc-link", "target": "/etc"}]),
        # Through two links, the second relative, into the kubelet's state.
        _record("/raid/k/pods", "/var/lib/kubelet/pods", [{"path": "/raid", "target": "/mnt/raid0"},
                                                          {"path": "/mnt/raid0/k", "target": "../../var/lib/kubelet"}]),
        # Parent links that lead to real storage, and a path without links, are fine.
        _record("/raid/models", "/mnt/nvme0/models", [{"path": "/raid", "target": "/mnt/nvme0"}]),
        _record("/data/alertmanager", "/data/alertmanager", []),
        # A link to / leads to a system directory as itself.
        _record("/data/root-link", "/", [{"path": "/data/root-link", "target": "/"}]),
    ]
    problems = host_path_problems("node_prep_data_dirs", records)
    assert problems == [
        "node_prep_data_dirs: /data/etc-link/gpufleet resolves through the symlink /data/etc-link -> /etc to "
        "/etc/gpufleet, which is inside the system directory '/etc' (nothing under it may be taken over); point "
        "node_prep_data_dirs at a directory whose path leads to real storage (no symlink into a system directory)",
        "node_prep_data_dirs: /raid/k/pods resolves through the symlinks /raid -> /mnt/raid0, /mnt/raid0/k -> "
        "../../var/lib/kubelet to /var/lib/kubelet/pods, which is inside the system directory '/var/lib/kubelet' "
        "(nothing under it may be taken over); point node_prep_data_dirs at a directory whose path leads to real "
        "storage (no symlink into a system directory)",
        "node_prep_data_dirs: /data/root-link resolves through the symlink /data/root-link -> / to /, which is a "
        "system directory; point node_prep_data_dirs at a directory whose path leads to real storage (no symlink "
        "into a system directory)",
    ]
    assert host_path_problems("v", []) == [] and host_path_problems("v", None) == []


def test_unknown_role_and_wrong_type():
    with pytest.raises(KeyError):
        problems_for("nope", {})
    with pytest.raises(TypeError):
        problems_for("node_prep", [])


@pytest.mark.parametrize("flag", ["yes", "no", "False", "TRUE", "on", "0", 1, False])
def test_booleans_as_ansible_reads_them_are_accepted(flag):
    assert problems_for("nfs_server", dict(NFS_SERVER, allow_world_writable=flag, ganesha_graceless=flag)) == []


def test_no_and_false_do_not_allow_world_writable_exports():
    inputs = _with("nfs_server", "exports.0.mode", "0777")
    for flag in ("no", "False", "0", "off"):
        inputs["allow_world_writable"] = flag
        assert any("lets every user" in p for p in problems_for("nfs_server", inputs))
    inputs["allow_world_writable"] = "yes"
    assert problems_for("nfs_server", inputs) == []


def test_exports_are_written_from_canonical_clients():
    inputs = dict(NFS_SERVER, clients=["10.89.40.7/24", "2001:DB8::0/64", "10.0.0.15"])
    inputs["exports"] = [{"name": "greptimedb", "owner": 10001, "group": 10001},
                         {"name": "models", "clients": ["192.168.1.0/255.255.255.0"], "owner": 10003, "group": 10003,
                          "squash": "all_squash", "id": 7, "access": "ro"}]
    assert problems_for("nfs_server", inputs) == []
    exports = nfs_server_exports(inputs)
    assert exports[0] == {"name": "greptimedb", "id": 1, "path": "/srv/nfs/greptimedb", "owner": 10001, "group": 10001,
                          "mode": "0750", "squash": "root_squash", "anonuid": 65534, "anongid": 65534, "access": "rw",
                          "clients": ["10.89.40.0/24", "2001:db8::/64", "10.0.0.15"]}
    assert exports[1]["clients"] == ["192.168.1.0/24"]
    assert (exports[1]["id"], exports[1]["squash"], exports[1]["access"]) == (7, "all_squash", "ro")


@pytest.mark.parametrize("inputs, expected", [
    ({"dir": "/var/tmp/../../etc/r", "base_dir": "/srv/reports"}, ["validation_report_dir='/var/tmp/../../etc/r' climbs"]),
    ({"dir": "/etc/gpufleet", "base_dir": "/srv/reports"},
     ["validation_report_dir='/etc/gpufleet' is inside the system directory '/etc'", "the report is written there"]),
    ({"dir": "report", "base_dir": "/srv/reports"}, ["validation_report_dir='report' is relative"]),
    ({"dir": "", "base_dir": "/boot/reports"}, ["validation_report_base_dir='/boot/reports' is inside the system directory"]),
    ({"dir": "/var/tmp/gpufleet-report\t", "base_dir": "/srv/reports"}, ["validation_report_dir=", "control"]),
])
def test_validation_report_directories(inputs, expected):
    problems = " | ".join(problems_for("validation_report", inputs))
    for fragment in expected:
        assert fragment in problems, problems


@pytest.mark.parametrize("inputs", [
    {"dir": "", "base_dir": "/var/tmp"},  # the time-stamped report directory is one of its own
    {"dir": "/var/tmp/gpufleet-report", "base_dir": "/etc"},  # the base is not used
    {"dir": "", "base_dir": "/work/gpufleet/reports"},
])
def test_validation_report_directories_that_pass(inputs):
    assert problems_for("validation_report", inputs) == []


def test_wide_client_networks_pass_when_asked_but_everyone_never():
    inputs = dict(NFS_SERVER, clients=["10.0.0.0/8", "fd00::/48"], allow_wide_clients="yes")
    assert problems_for("nfs_server", inputs) == []
    inputs["clients"] = ["0.0.0.0/0"]
    assert [p for p in problems_for("nfs_server", inputs) if "exports to everyone" in p]


def test_a_group_the_mode_keeps_out_may_be_shared_or_squashed():
    """0700: the group gets nothing, so sharing it (or it being nogroup) opens nothing."""
    inputs = copy.deepcopy(NFS_SERVER)
    inputs["exports"] = [{"name": "a", "owner": 10001, "group": 65534, "mode": "0700"},
                         {"name": "b", "owner": 10002, "group": 65534, "mode": "0700"}]
    assert problems_for("nfs_server", inputs) == []
    # One of the two lets the group in: the other export's service (with that gid) could read it.
    inputs["exports"][1]["mode"] = "0750"
    text = " | ".join(problems_for("nfs_server", inputs))
    assert "nfs_server_exports[1].group=65534 is the gid that squashed root writes as" in text
    assert "nfs_server_exports[1].group=65534 is also the group of nfs_server_exports[0] (a)" in text


def test_owners_given_by_name_are_compared_by_their_ids():
    """Names are looked up in the getent tables the role passes in; 'nobody' is 65534."""
    inputs = copy.deepcopy(NFS_SERVER)
    inputs["exports"][0].update(owner="nobody", group="greptime")
    inputs["users"] = {"nobody": ["x", "65534", "65534", "nobody", "/nonexistent", "/usr/sbin/nologin"]}
    inputs["groups"] = {"greptime": ["x", "10002", ""]}
    text = " | ".join(problems_for("nfs_server", inputs))
    assert "nfs_server_exports[0].owner='nobody' (uid 65534) is the uid that squashed root writes as" in text
    assert "nfs_server_exports[1].group=10002 is also the group of nfs_server_exports[0] (greptimedb)" in text
    # A name the tables do not hold is left to the role's check that it exists on the host.
    inputs["users"] = inputs["groups"] = {}
    assert problems_for("nfs_server", inputs) == []


def test_all_squash_with_the_owner_as_anonuid_is_refused():
    """all_squash to the owner: every user on every client writes as the owner."""
    inputs = copy.deepcopy(NFS_SERVER)
    inputs["exports"][0].update(squash="all_squash", anonuid=10001, anongid=10001)
    text = " | ".join(problems_for("nfs_server", inputs))
    assert "nfs_server_exports[0].owner=10001 is the uid that squashed root writes as (nfs_server_exports[0].anonuid=10001)" in text
    assert "nfs_server_exports[0].group=10001 is the gid" in text


def test_defaults_of_the_role_pass_the_owner_checks():
    """roles/nfs_server/defaults/main.yml as it ships, with clients set."""
    import os

    import yaml

    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "nfs_server", "defaults", "main.yml")
    defaults = yaml.safe_load(open(path))
    inputs = {key[len("nfs_server_"):]: value for key, value in defaults.items()}
    inputs["clients"] = ["10.0.0.0/24"]
    assert problems_for("nfs_server", inputs) == []
    owners = [(e["owner"], e["group"]) for e in defaults["nfs_server_exports"]]
    assert len(set(owners)) == len(owners) and (defaults["nfs_server_anonuid"], defaults["nfs_server_anongid"]) not in owners


def _dir_record(path, uid=0, gid=0, mode="0750", **kw):
    record = {"path": path, "exists": True, "is_dir": True, "is_symlink": False, "uid": uid, "gid": gid, "mode": mode}
    record.update(kw)
    return record


def test_dirs_to_write_leaves_out_the_directories_already_as_wanted():
    dirs = [{"path": "/raid/models", "owner": 0, "group": 0, "mode": "0750"},
            {"path": "/data/alertmanager/", "owner": "nobody", "group": "nogroup", "mode": "2750"},
            {"path": "/data/greptimedb", "owner": 10001, "group": 10001, "mode": "0750"}]
    passwd, group = {"nobody": ["x", "65534", "65534"]}, {"nogroup": ["x", "65534"]}
    records = [_dir_record("/raid/models"), _dir_record("/data/alertmanager", 65534, 65534, "2750"),
               _dir_record("/data/greptimedb", 10001, 10001, "0755")]
    # Names resolved through getent, a trailing slash normalised; the wrong mode is written.
    assert dirs_to_write(dirs, records, passwd, group) == [dirs[2]]
    # A name getent did not list, or no getent at all: written.
    assert dirs_to_write(dirs[1:2], records, {}, group) == dirs[1:2]
    assert dirs_to_write(dirs[1:2], records) == dirs[1:2]


@pytest.mark.parametrize("record", [
    None,
    {"exists": False, "is_dir": False, "uid": None, "gid": None, "mode": None},
    {"is_symlink": True},
    {"is_dir": False},
    {"uid": 1},
    {"gid": 1},
    {"mode": "2750"},      # setgid set by hand (or inherited): a write clears it
    {"mode": None},
])
def test_dirs_to_write_keeps_whatever_is_not_exactly_as_wanted(record):
    wanted = [{"path": "/raid/models", "owner": 0, "group": 0, "mode": "0750"}]
    records = [] if record is None else [_dir_record("/raid/models", **record) if "exists" not in record
                                         else dict(_dir_record("/raid/models"), **record)]
    assert dirs_to_write(wanted, records) == wanted


def test_dirs_to_write_keeps_a_directory_whose_mode_is_not_an_octal_string():
    assert dirs_to_write([{"path": "/raid", "owner": 0, "group": 0, "mode": "u=rwx"}], [_dir_record("/raid")]) != []


@pytest.mark.parametrize("names", [[], ["nvme-cli"], ["libnfs-utils", "g++", "python3.11", "NetworkManager"],
                                   ["libc6:i386", "fio-0:3.35-1.el9", "kernel-tools_x", "foo~bar"]])
def test_plain_package_names_are_accepted(names):
    assert problems_for("node_prep", dict(NODE_PREP, extra_packages=names)) == []
    assert problems_for("nfs_client", dict(NFS_CLIENT, extra_packages=names)) == []


@pytest.mark.parametrize("options", [[], ["-d", "su=256k,sw=4"], ["-b", "size=4096", "-m", "reflink=1,crc=1"],
                                     ["-l", "size=64m,lazy-count=1", "-i", "size=512", "-K", "-q"]])
def test_mkfs_options_for_the_cache_device_alone_pass(options):
    assert problems_for("xfs_cache", dict(XFS_CACHE, mkfs_options=options)) == []


@pytest.mark.parametrize("files", [NFS_SERVER_FILES, {"exports_file": "/etc/exports.d/ml-cache_2.exports"},
                                   {"ganesha_config": "/etc/ganesha/gpufleet.conf"}])
def test_nfs_server_files_where_the_server_reads_them_pass(files):
    assert problems_for("nfs_server", dict(NFS_SERVER, **files)) == []
