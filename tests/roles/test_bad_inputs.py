"""Each node role refuses bad input before it changes anything.

For every case the role runs against a fresh lab node (tests/roles/conftest.py) with one
variable made wrong on top of an otherwise valid configuration. The run must fail, the
failure must name the variable (or the path), its value and the fix, and the node must be
exactly as before: podman diff against the snapshot taken before the case, and for the
block devices, what is on them.
"""

import copy

import pytest

from conftest import DEVICES, failure_message, podman_diff

# A valid configuration per role; each case breaks one thing.
BASE = {
    "node_prep": {
        "node_prep_min_free_gb": 0.5,
        "node_prep_data_dirs": [
            {"name": "ome-models", "path": "/raid/models", "owner": 0, "group": 0, "mode": "0750"},
            {"name": "alertmanager", "path": "/data/alertmanager", "owner": 65534, "group": 65534, "mode": "0750"},
        ],
    },
    "nfs_server": {"nfs_server_clients": ["10.0.0.0/24"], "nfs_server_implementation": "kernel"},
    "nfs_client": {
        "nfs_client_server": "10.0.0.5",
        "nfs_client_mount_state": "present",
        "nfs_client_mounts": [{"name": "greptimedb", "export": "/srv/nfs/greptimedb", "path": "/data/greptimedb"}],
    },
    "xfs_cache": {"xfs_cache_device": DEVICES["blank"], "xfs_cache_mount_path": "/raid"},
}


def _set(variables, dotted, value):
    """Set a.b.0.c style paths in a copy of variables."""
    variables = copy.deepcopy(variables)
    target = variables
    keys = dotted.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return variables


CASES = [
    # --- node_prep -----------------------------------------------------------------
    ("node_prep", "node_prep_data_dirs.0.path", "raid/models",
     ["node_prep_data_dirs[0].path='raid/models' is relative", "use an absolute path such as '/raid/models'"]),
    ("node_prep", "node_prep_data_dirs.0.path", "/etc", ["node_prep_data_dirs[0].path='/etc' is inside the system directory '/etc'"]),
    ("node_prep", "node_prep_data_dirs.0.mode", "777x", ["node_prep_data_dirs[0].mode='777x' is not an octal mode", '"0750"']),
    ("node_prep", "node_prep_data_dirs.0.mode", "0777",
     ["node_prep_data_dirs[0].mode='0777' lets every user on the host write", "node_prep_allow_world_writable: true"]),
    ("node_prep", "node_prep_data_dirs.1.mode", 777, ["node_prep_data_dirs[1].mode=777 is a number", 'Quote the mode: "0750"']),
    ("node_prep", "node_prep_data_dirs.1.owner", "greptime",
     ["/data/alertmanager names owner 'greptime'", "do not both exist on this host", "numeric uid/gid"]),
    ("node_prep", "node_prep_data_dirs.1.path", KeyError, ["missing required arguments: path", "node_prep_data_dirs"]),
    ("node_prep", "node_prep_min_free_gb", "lots", ["argument 'node_prep_min_free_gb' is of type str", "unable to convert to float"]),
    ("node_prep", "node_prep_min_free_gb", -1, ["node_prep_min_free_gb=-1 must be a number of GB >= 0, e.g. 100"]),
    ("node_prep", "node_prep_disk_check_mode", "maybe", ["value of node_prep_disk_check_mode must be one of: fail, warn, got: maybe"]),
    ("node_prep", "node_prep_data_dirs.1.path", "/data/linked",
     ["node_prep on roletest: /data/linked is a symlink (to /srv/elsewhere)", "Point node_prep_data_dirs at the real directory"]),
    # Not a typo but a real shortfall, measured from the node's own mount table.
    ("node_prep", "node_prep_min_free_gb", 10**7,
     ["node_prep on roletest: not enough free disk space: /raid/models is on the filesystem mounted at / (overlay",
      "GB free, 10000000.0 GB required", "node_prep_disk_check_mode: warn"]),
    # --- nfs_server ----------------------------------------------------------------
    ("nfs_server", "nfs_server_clients", ["*"], ["nfs_server_clients[0]='*' is a wildcard: it exports to everyone", "'10.0.0.0/24'"]),
    ("nfs_server", "nfs_server_clients", [], ["nfs_server_clients is empty", "('*' is refused)"]),
    ("nfs_server", "nfs_server_clients", ["10.0.0.0/33"], ["nfs_server_clients[0]='10.0.0.0/33' is not an IP address or CIDR"]),
    ("nfs_server", "nfs_server_squash", "no_root_squash",
     ["nfs_server_squash='no_root_squash' gives root on every client root", "nfs_server_allow_no_root_squash: true"]),
    ("nfs_server", "nfs_server_exports", [{"name": "greptimedb", "mode": "0777"}],
     ["nfs_server_exports[0].mode='0777' lets every user on the host write"]),
    ("nfs_server", "nfs_server_implementation", "userspace", ["value of nfs_server_implementation must be one of: kernel, ganesha, got: userspace"]),
    ("nfs_server", "nfs_server_anonuid", 0, ["nfs_server_anonuid=0 maps squashed root back to root"]),
    ("nfs_server", "nfs_server_export_root", "srv/nfs", ["nfs_server_export_root='srv/nfs' is relative"]),
    ("nfs_server", "nfs_server_ganesha_port", "nfs", ["nfs_server_ganesha_port", "int"]),
    ("nfs_server", "nfs_server_exports", [{"name": "data"}, {"name": "sub", "path": "/srv/nfs/data/sub"}],
     ["nfs_server_exports nests '/srv/nfs/data/sub' inside '/srv/nfs/data'"]),
    # Owned by the uid squashed root writes as: root on every client would own the data.
    ("nfs_server", "nfs_server_exports", [{"name": "greptimedb", "owner": 65534, "group": 10001}],
     ["nfs_server_exports[0].owner=65534 is the uid that squashed root writes as (nfs_server_anonuid=65534)",
      "root_squash protects nothing", "give the export the uid its service runs as"]),
    # One owner for two services: each could read the other's data.
    ("nfs_server", "nfs_server_exports", [{"name": "greptimedb", "owner": 10001, "group": 10001},
                                          {"name": "alertmanager", "owner": 10001, "group": 10002}],
     ["nfs_server_exports[1].owner=10001 is also the owner of nfs_server_exports[0] (greptimedb)",
      "give each export the uid its own service runs as"]),
    ("nfs_server", "nfs_server_clients", ["10.0.0.0/8"],
     ["nfs_server_clients[0]='10.0.0.0/8' is wider than /16", "nfs_server_allow_wide_clients: true"]),
    # --- nfs_client ----------------------------------------------------------------
    ("nfs_client", "nfs_client_rsize", "20Gx", ["nfs_client_rsize='20Gx' has an unknown unit 'Gx'", "G/Gi/GiB"]),
    ("nfs_client", "nfs_client_wsize", 3000, ["nfs_client_wsize=3000 must be a power of two between 4KiB and 1MiB"]),
    ("nfs_client", "nfs_client_server", "", ["nfs_client_mounts[0] has no server and nfs_client_server is empty"]),
    ("nfs_client", "nfs_client_mounts.0.export", "srv/nfs/greptimedb",
     ["nfs_client_mounts[0].export='srv/nfs/greptimedb' is relative", "(the absolute path exported by the server)"]),
    ("nfs_client", "nfs_client_mounts.0.path", "/var", ["nfs_client_mounts[0].path='/var' is a system directory"]),
    ("nfs_client", "nfs_client_mount_state", "mounted-ish", ["nfs_client_mount_state", "mounted, present"]),
    ("nfs_client", "nfs_client_options", ["hard,intr"], ["nfs_client_options[0]='hard,intr' is not a single mount option"]),
    ("nfs_client", "nfs_client_mounts.0.uid", "root", ["uid", "int"]),
    ("nfs_client", "nfs_client_version", "3", ["nfs_client_version", "4.2"]),
    ("nfs_client", "nfs_client_server", "nfs 1", ["nfs_client_mounts[0].server='nfs 1' is not a host name or IP address"]),
    ("nfs_client", "nfs_client_options", ["hard", "suid"],
     ["nfs_client_options[1]='suid' lets a setuid program on the export run", "the role mounts every export nosuid,nodev"]),
    # --- xfs_cache -----------------------------------------------------------------
    ("xfs_cache", "xfs_cache_device", "", ["xfs_cache_device is not set", "'/dev/nvme1n1'"]),
    ("xfs_cache", "xfs_cache_device", "sdb", ["xfs_cache_device='sdb' must be a block device path under /dev"]),
    ("xfs_cache", "xfs_cache_device", "/dev/null", ["xfs_cache_device=/dev/null is not a block device"]),
    ("xfs_cache", "xfs_cache_device", "/dev/gpufleet-missing", ["xfs_cache_device=/dev/gpufleet-missing does not exist"]),
    ("xfs_cache", "xfs_cache_device", DEVICES["ext4"],
     ["/dev/gpufleet-ext4 holds a ext4 filesystem labelled 'not-ours'", "refusing to format it",
      "run once with xfs_cache_confirm_format=/dev/gpufleet-ext4"]),
    ("xfs_cache", "xfs_cache_device", DEVICES["data"],
     ["/dev/gpufleet-data holds data without a filesystem signature", "refusing to format it"]),
    ("xfs_cache", "xfs_cache_label", "gpufleet-cache-disk", ["xfs_cache_label='gpufleet-cache-disk' must be 1 to 12"]),
    ("xfs_cache", "xfs_cache_allocsize", "20Gx", ["xfs_cache_allocsize='20Gx'"]),
    ("xfs_cache", "xfs_cache_logbsize", "512KiB", ["xfs_cache_logbsize='512KiB' is not one XFS accepts"]),
    ("xfs_cache", "xfs_cache_mkfs_options", ["-f"], ["asks mkfs.xfs to force", "xfs_cache_confirm_format alone"]),
    ("xfs_cache", "xfs_cache_mount_path", "/", ["xfs_cache_mount_path='/' is a system directory"]),
    # The retired standing switch, whatever its value: refused, naming the confirmation.
    ("xfs_cache", "xfs_cache_force", True, ["xfs_cache_force=True is no longer read", "xfs_cache_confirm_format"]),
    ("xfs_cache", "xfs_cache_mode", "0777", ["xfs_cache_mode='0777' lets every user"]),
]


def _id(case):
    value = case[2]
    return "%s:%s=%s" % (case[0], case[1], "<unset>" if value is KeyError else repr(value)[:30])


# Hostile input, grouped by role, at least one case per class: control characters, strings for
# booleans, signed / overflowing numbers and sizes, traversal, and (NFS) a client or path that
# would add an option or a block to /etc/exports or ganesha.conf. Each case: (role, {dotted
# variable: value}, fragments); the message shows the value as Python writes it ('\\n').
HOSTILE = [
    # --- node_prep -----------------------------------------------------------------
    ("node_prep", {"node_prep_data_dirs.0.path": "/raid/models\n"},
     ["node_prep_data_dirs[0].path='/raid/models\\n'", "control character"]),
    ("node_prep", {"node_prep_data_dirs.0.path": "/raid/../etc"}, ["node_prep_data_dirs[0].path='/raid/../etc' climbs with '..'"]),
    # Overriding: a second entry for the model directory, with a mode of its own.
    ("node_prep", {"node_prep_data_dirs.1.path": "/raid/models/", "node_prep_data_dirs.1.mode": "0755"},
     ["node_prep_data_dirs lists '/raid/models' more than once"]),
    ("node_prep", {"node_prep_data_dirs.0.owner": 2 ** 32}, ["node_prep_data_dirs[0].owner=4294967296 is out of range"]),
    ("node_prep", {"node_prep_min_free_gb": "-1"}, ["node_prep_min_free_gb='-1' must be a number of GB >= 0"]),
    ("node_prep", {"node_prep_allow_world_writable": "no", "node_prep_data_dirs.0.mode": "0777"},
     ["node_prep_data_dirs[0].mode='0777' lets every user on the host write"]),
    ("node_prep", {"node_prep_install_packages": "maybe"}, ["node_prep_install_packages", "maybe"]),
    # A package list reaches apt or dnf as root: an option, a pattern, a file or a URL is refused first.
    ("node_prep", {"node_prep_extra_packages": ["nvme-cli", "-oAPT::Update::Pre-Invoke::=touch /pwned"]},
     ["node_prep_extra_packages[1]='-oAPT::Update::Pre-Invoke::=touch /pwned' is not a package name",
      "e.g. 'nvme-cli'"]),
    # --- nfs_server ----------------------------------------------------------------
    ("nfs_server", {"nfs_server_clients": ["10.0.0.0/8(rw,no_root_squash)"]},
     ["nfs_server_clients[0]='10.0.0.0/8(rw,no_root_squash)' is not an IP address or CIDR"]),
    ("nfs_server", {"nfs_server_clients": ["10.0.0.1\n/srv *(rw,no_root_squash)"]},
     ["nfs_server_clients[0]='10.0.0.1\\n/srv *(rw,no_root_squash)' is not an IP address or CIDR"]),
    ("nfs_server", {"nfs_server_clients": ["host}"]}, ["nfs_server_clients[0]='host}' is not an IP address or CIDR"]),
    # A reference to an owner that does not exist on the host (a typo is an error, never a new user).
    ("nfs_server", {"nfs_server_exports": [{"name": "greptimedb", "owner": "greptime", "group": 10001}]},
     ["nfs_server on roletest: export greptimedb names owner 'greptime'", "do not both exist on this host"]),
    ("nfs_server", {"nfs_server_clients": ['10.0.0.1"; Access_Type = RW; #']},
     ["nfs_server_clients[0]='10.0.0.1\"; Access_Type = RW; #' is not an IP address or CIDR"]),
    ("nfs_server", {"nfs_server_exports": [{"name": "data", "path": "/srv/nfs/my data"}]},
     ["nfs_server_exports[0].path='/srv/nfs/my data' has ' '"]),
    ("nfs_server", {"nfs_server_exports": [{"name": "data", "path": "/srv/nfs/x}"}]},
     ["nfs_server_exports[0].path='/srv/nfs/x}' has '}'"]),
    ("nfs_server", {"nfs_server_exports": [{"name": "data", "path": "/srv/nfs/../../etc"}]},
     ["nfs_server_exports[0].path='/srv/nfs/../../etc' climbs with '..'"]),
    ("nfs_server", {"nfs_server_squash": "no_root_squash", "nfs_server_allow_no_root_squash": "no"},
     ["nfs_server_squash='no_root_squash' gives root on every client root"]),
    ("nfs_server", {"nfs_server_ganesha_port": "+2049"}, ["nfs_server_ganesha_port='+2049' is not a whole number"]),
    # The files the role writes whole as root: only where the NFS server reads them.
    ("nfs_server", {"nfs_server_exports_file": "/etc/passwd"},
     ["nfs_server_exports_file='/etc/passwd' is not a drop-in of /etc/exports.d"]),
    ("nfs_server", {"nfs_server_anonuid": 2 ** 32}, ["nfs_server_anonuid=4294967296 must be between 0 and 4294967294"]),
    # --- nfs_client ----------------------------------------------------------------
    ("nfs_client", {"nfs_client_server": "10.0.0.5\n"}, ["nfs_client_mounts[0].server='10.0.0.5\\n' is not a host name"]),
    ("nfs_client", {"nfs_client_mounts.0.export": "/srv/nfs/a b"}, ["nfs_client_mounts[0].export='/srv/nfs/a b' has ' '"]),
    ("nfs_client", {"nfs_client_mounts.0.path": "/data/../etc"}, ["nfs_client_mounts[0].path='/data/../etc' climbs with '..'"]),
    ("nfs_client", {"nfs_client_mounts.0.uid": -1}, ["nfs_client_mounts[0].uid=-1 must be between 0 and 4294967294"]),
    ("nfs_client", {"nfs_client_rsize": "-1MiB"}, ["nfs_client_rsize='-1MiB' is not a size"]),
    ("nfs_client", {"nfs_client_write_test": "maybe"}, ["nfs_client_write_test", "maybe"]),
    ("nfs_client", {"nfs_client_extra_packages": ["https://example.org/evil.rpm"]},
     ["nfs_client_extra_packages[0]='https://example.org/evil.rpm' is not a package name", "e.g. 'libnfs-utils'"]),
    # A reference to a server that does not exist: its name does not resolve on the host.
    ("nfs_client", {"nfs_client_server": "nfs-1.invalid"},
     ["nfs_client on roletest: the NFS server nfs-1.invalid", "does not resolve on this host"]),
    # Overriding: a further option the role writes from a variable of its own.
    ("nfs_client", {"nfs_client_options": ["hard", "vers=3"]},
     ["nfs_client_options[1]='vers=3' sets vers, which the role sets from nfs_client_version"]),
    # --- xfs_cache -----------------------------------------------------------------
    # mkfs.xfs would format a second device, one the preflight never looked at (the data disk).
    ("xfs_cache", {"xfs_cache_mkfs_options": ["-l", "logdev=" + DEVICES["data"]]},
     ["xfs_cache_mkfs_options[1]='logdev=%s' names another device or file for mkfs.xfs to format" % DEVICES["data"]]),
    ("xfs_cache", {"xfs_cache_device": DEVICES["blank"] + "\n"}, ["xfs_cache_device='/dev/gpufleet-blank\\n'", "control"]),
    ("xfs_cache", {"xfs_cache_label": "gpucache\n"}, ["xfs_cache_label='gpucache\\n' must be 1 to 12"]),
    ("xfs_cache", {"xfs_cache_mount_path": "/raid/../etc"}, ["xfs_cache_mount_path='/raid/../etc' climbs with '..'"]),
    ("xfs_cache", {"xfs_cache_owner": -1}, ["xfs_cache_owner=-1 is out of range"]),
    ("xfs_cache", {"xfs_cache_allocsize": "-16MiB"}, ["xfs_cache_allocsize='-16MiB' is not a size"]),
    # A confirmation naming another device than the one that would be formatted: neither is touched.
    ("xfs_cache", {"xfs_cache_device": DEVICES["ext4"], "xfs_cache_confirm_format": DEVICES["data"]},
     ["xfs_cache_confirm_format='/dev/gpufleet-data' does not name xfs_cache_device='/dev/gpufleet-ext4', the only "
      "device the role would format"]),
    # The same, when the planned device is blank: a stale confirmation is refused all the same.
    ("xfs_cache", {"xfs_cache_confirm_format": DEVICES["ext4"]},
     ["xfs_cache_confirm_format='/dev/gpufleet-ext4' does not name xfs_cache_device='/dev/gpufleet-blank'"]),
    # The old switch left in an inventory with the device that holds ext4: refused, nothing formatted.
    ("xfs_cache", {"xfs_cache_device": DEVICES["ext4"], "xfs_cache_force": "yes"},
     ["xfs_cache_force='yes' is no longer read", "set xfs_cache_confirm_format to that device's path"]),
    # --- every node role: system directories by prefix, and a parent that is a symlink into one
    ("node_prep", {"node_prep_data_dirs.0.path": "/usr/local/models"},
     ["node_prep_data_dirs[0].path='/usr/local/models' is inside the system directory '/usr'"]),
    ("node_prep", {"node_prep_data_dirs.1.path": "/data/etc-link/gpufleet"},
     ["node_prep on roletest: node_prep_data_dirs: /data/etc-link/gpufleet resolves through the symlink "
      "/data/etc-link -> /etc to /etc/gpufleet, which is inside the system directory '/etc'"]),
    ("nfs_server", {"nfs_server_exports": [{"name": "greptimedb", "path": "/data/etc-link/exports", "owner": 10001,
                                            "group": 10001}]},
     ["nfs_server on roletest: nfs_server_exports: /data/etc-link/exports resolves through the symlink "
      "/data/etc-link -> /etc to /etc/exports"]),
    ("nfs_client", {"nfs_client_mounts.0.path": "/data/etc-link/greptimedb"},
     ["nfs_client on roletest: nfs_client_mounts: /data/etc-link/greptimedb resolves through the symlink "
      "/data/etc-link -> /etc to /etc/greptimedb"]),
    ("xfs_cache", {"xfs_cache_mount_path": "/data/etc-link/cache"},
     ["xfs_cache on roletest: xfs_cache_mount_path: /data/etc-link/cache resolves through the symlink "
      "/data/etc-link -> /etc to /etc/cache, which is inside the system directory '/etc'"]),
]


def _refused(target, role, variables, fragments):
    """The run fails naming variable and value, changes nothing in the container or on the devices."""
    before = podman_diff()
    devices_before = {name: (target.signature(name), target.first_mib(name)) for name in DEVICES}

    rc, report = target.role(role, variables)

    assert rc != 0, "the role accepted %r" % (variables,)
    task, message = failure_message(report)
    assert message, "no failed task in the report"
    for fragment in fragments:
        assert fragment in message, "%r not in the message of %r: %s" % (fragment, task, message)
    assert report["stats"]["roletest"]["changed"] == 0
    assert podman_diff() == before, "the failed run changed the node"
    for name in DEVICES:
        assert (target.signature(name), target.first_mib(name)) == devices_before[name], "%s device changed" % name


@pytest.mark.parametrize("role, variable, value, fragments", CASES, ids=[_id(c) for c in CASES])
def test_bad_input_is_refused_and_the_host_untouched(target, role, variable, value, fragments):
    _refused(target, role, _set(BASE[role], variable, value), fragments)


@pytest.mark.parametrize("role, changes, fragments", HOSTILE,
                         ids=["%s:%s" % (c[0], ",".join("%s=%r" % kv for kv in sorted(c[1].items()))[:60]) for c in HOSTILE])
def test_hostile_input_is_refused_and_the_host_untouched(target, role, changes, fragments):
    variables = BASE[role]
    for dotted, value in sorted(changes.items()):
        variables = _set(variables, dotted, value)
    _refused(target, role, variables, fragments)


def test_cases_per_role():
    """At least eight bad inputs per role (the issue's bar)."""
    for role in BASE:
        assert sum(1 for case in CASES if case[0] == role) >= 8, role


def test_nfs_check_refuses_a_path_that_is_not_nfs(target):
    """DeepOps' model-cache check (nfs_client tasks/verify.yml), on a path that is on the
    node's own disk: the failure names host, path and cause."""
    before = podman_diff()
    variables = dict(BASE["nfs_client"], nfs_client_mounts=[{"export": "/srv/nfs/greptimedb", "path": "/srv"}])
    rc, report = target.role("nfs_client", variables, tasks_from="verify")
    assert rc != 0
    message = failure_message(report)[1]
    assert message.startswith("nfs_client on roletest: /srv is not NFS from 10.0.0.5:/srv/nfs/greptimedb:")
    assert "nothing is mounted there, it is part of / (overlay" in message
    assert podman_diff() == before


def test_disk_check_warn_mode_reports_and_continues(target):
    """node_prep_disk_check_mode: warn reports the shortfall with host and numbers, and the
    preflight goes on (run in check mode so that the node stays fresh for the next test)."""
    variables = dict(BASE["node_prep"], node_prep_min_free_gb=10**7, node_prep_disk_check_mode="warn")
    rc, report = target.role("node_prep", variables, check=True)
    assert rc == 0
    warnings = [r.get("msg", "") for name, r in _results(report) if name.endswith("Warn about filesystems short of free space")]
    assert warnings and "WARNING node_prep on roletest: /raid/models is on the filesystem mounted at /" in warnings[0]


def _results(report):
    from conftest import task_results

    return list(task_results(report))
