from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.disk_space import (
    GB,
    DiskSpaceError,
    ancestors,
    evaluate,
    find_mount,
    nearest_existing,
    normalize,
    ownership_from_stat,
    parse_mount_table,
    parse_mountinfo,
    parse_proc_mounts,
    real_path,
    space_from_statvfs,
    symlinked_components,
    unescape,
)

# A GPU node as the roles see it: overlay root, an XFS cache at /raid, an NFS export at
# /data/greptimedb, a path with a space, and an over-mounted /mnt/shadow.
MOUNTINFO = """\
22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
23 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw
40 22 259:3 / /raid rw,noatime shared:20 - xfs /dev/nvme1n1 rw,attr2,largeio,inode64,allocsize=16384k,logbsize=256k,noquota
41 22 0:50 / /data/greptimedb rw,relatime shared:21 - nfs4 10.0.0.5:/srv/nfs/greptimedb rw,vers=4.2,rsize=1048576,hard,proto=tcp
42 22 259:4 / /mnt/with\\040space rw,relatime - ext4 /dev/sdb1 rw
43 22 259:5 / /mnt/shadow rw,relatime - ext4 /dev/sdc1 rw
44 43 259:6 / /mnt/shadow rw,relatime - xfs /dev/sdd1 rw
45 22 259:7 / /data2 rw,relatime - ext4 /dev/sde1 rw
"""

PROC_MOUNTS = """\
overlay / overlay rw,relatime,lowerdir=/l 0 0
/dev/nvme1n1 /raid xfs rw,noatime,largeio,inode64 0 0
10.0.0.5:/srv/nfs/greptimedb /data/greptimedb nfs4 rw,vers=4.2,hard 0 0
"""


def test_parse_mountinfo_fields():
    mounts = parse_mountinfo(MOUNTINFO)
    assert len(mounts) == 8
    raid = mounts[2]
    assert raid["mount_point"] == "/raid"
    assert raid["fstype"] == "xfs"
    assert raid["source"] == "/dev/nvme1n1"
    assert raid["mount_options"] == ["rw", "noatime"]
    # per-mount options first, then the superblock's, without repeating 'rw'
    assert raid["options"][:4] == ["rw", "noatime", "attr2", "largeio"]
    assert raid["options"].count("rw") == 1
    assert "allocsize=16384k" in raid["options"]
    assert raid["major_minor"] == "259:3"


def test_parse_mountinfo_unescapes_spaces():
    mounts = parse_mountinfo(MOUNTINFO)
    assert mounts[4]["mount_point"] == "/mnt/with space"


def test_parse_mountinfo_handles_optional_fields_of_any_count():
    line = "50 22 0:60 / /x rw shared:3 master:4 propagate_from:5 - tmpfs tmpfs rw,size=10k\n"
    (entry,) = parse_mountinfo(line)
    assert entry["fstype"] == "tmpfs"
    assert entry["source"] == "tmpfs"
    assert entry["options"] == ["rw", "size=10k"]


@pytest.mark.parametrize(
    "text",
    [
        "22 1 0:21 / / rw overlay overlay rw\n",  # no separator
        "22 1 - overlay\n",  # too short
    ],
)
def test_parse_mountinfo_rejects_garbage(text):
    with pytest.raises(DiskSpaceError):
        parse_mountinfo(text)


def test_parse_proc_mounts():
    mounts = parse_proc_mounts(PROC_MOUNTS)
    assert [m["mount_point"] for m in mounts] == ["/", "/raid", "/data/greptimedb"]
    assert mounts[2]["fstype"] == "nfs4"
    assert mounts[2]["source"] == "10.0.0.5:/srv/nfs/greptimedb"


def test_parse_proc_mounts_rejects_short_lines():
    with pytest.raises(DiskSpaceError):
        parse_proc_mounts("overlay /\n")


def test_parse_mount_table_detects_format():
    assert parse_mount_table(MOUNTINFO)[0]["mount_id"] == 22
    assert "mount_id" not in parse_mount_table(PROC_MOUNTS)[0]
    with pytest.raises(DiskSpaceError):
        parse_mount_table("\n\n")


def test_unescape():
    assert unescape(r"/a\040b\011c\134d") == "/a b\tc\\d"


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/raid/models/", "/raid/models"),
        ("/raid//models/./x/..", "/raid/models"),
        ("//raid", "/raid"),
        ("/", "/"),
    ],
)
def test_normalize(path, expected):
    assert normalize(path) == expected


@pytest.mark.parametrize("path", ["raid/models", "", None, 5, "./x"])
def test_normalize_refuses_relative_and_non_strings(path):
    with pytest.raises(DiskSpaceError):
        normalize(path)


def test_ancestors():
    assert ancestors("/raid/models/llama") == ["/raid/models/llama", "/raid/models", "/raid", "/"]
    assert ancestors("/") == ["/"]


def test_symlinked_components_parents_first_the_path_itself_last():
    links = {"/raid": "/mnt/nvme0", "/raid/models/cur": "snap-2"}
    found = symlinked_components("/raid/models/cur", links.__contains__, links.__getitem__)
    assert found == [{"path": "/raid", "target": "/mnt/nvme0"}, {"path": "/raid/models/cur", "target": "snap-2"}]
    assert symlinked_components("/data/alertmanager", links.__contains__, links.__getitem__) == []
    assert symlinked_components("/", lambda p: True, lambda p: "x") == []  # '/' is never a link


def test_real_path_keeps_the_components_that_do_not_exist_yet():
    assert real_path("/raid/models/new", "/raid", "/mnt/nvme0") == "/mnt/nvme0/models/new"
    assert real_path("/raid/models", "/raid/models", "/mnt/nvme0/models") == "/mnt/nvme0/models"
    assert real_path("/data/x", "/", "/") == "/data/x"
    assert real_path("/data/etc-link/gpufleet/", "/data/etc-link", "/etc") == "/etc/gpufleet"


def test_nearest_existing_walks_up_to_an_existing_parent():
    existing = {"/raid"}
    assert nearest_existing("/raid/models/llama", existing.__contains__) == "/raid"
    assert nearest_existing("/raid", existing.__contains__) == "/raid"
    assert nearest_existing("/nowhere/at/all", existing.__contains__) == "/"


@pytest.mark.parametrize(
    "path, mount_point, fstype",
    [
        ("/raid/models", "/raid", "xfs"),
        ("/raid", "/raid", "xfs"),
        ("/raidx/models", "/", "overlay"),  # prefix must end at a path component
        ("/data/greptimedb/wal", "/data/greptimedb", "nfs4"),
        ("/data/alertmanager", "/", "overlay"),
        ("/data2/x", "/data2", "ext4"),
        ("/mnt/with space/f", "/mnt/with space", "ext4"),
        ("/mnt/shadow/f", "/mnt/shadow", "xfs"),  # the later over-mount is on top
        ("/", "/", "overlay"),
    ],
)
def test_find_mount_longest_prefix(path, mount_point, fstype):
    entry = find_mount(parse_mountinfo(MOUNTINFO), path)
    assert entry["mount_point"] == mount_point
    assert entry["fstype"] == fstype


def test_find_mount_without_root_entry():
    mounts = parse_proc_mounts("/dev/sdb /srv ext4 rw 0 0\n")
    assert find_mount(mounts, "/home") is None
    assert find_mount(mounts, "/srv/x")["source"] == "/dev/sdb"


def test_space_from_statvfs_uses_available_not_free():
    space = space_from_statvfs(4096, 1000, 250)
    assert space == {"size_bytes": 4096000, "free_bytes": 1024000}


@pytest.mark.parametrize("args", [(4096, -1, 0), (4096, 10, "5"), (True, 1, 1), (4096.0, 1, 1)])
def test_space_from_statvfs_rejects_bad_numbers(args):
    with pytest.raises(DiskSpaceError):
        space_from_statvfs(*args)


def _raid():
    return find_mount(parse_mountinfo(MOUNTINFO), "/raid/models")


def test_evaluate_enough_space():
    record = evaluate("/raid/models", "/raid/models", _raid(), {"size_bytes": 500 * GB, "free_bytes": 150 * GB}, 100)
    assert record["ok"] is True
    assert record["message"] == ""
    assert record["exists"] is True
    assert record["is_mount_point"] is False
    assert record["free_gb"] == 150.0
    assert record["required_gb"] == 100.0
    assert record["required_bytes"] == 100 * GB
    assert record["network_filesystem"] is False


def test_evaluate_shortfall_names_path_mount_and_numbers():
    record = evaluate("/raid/models/", "/raid", _raid(), {"size_bytes": 500 * GB, "free_bytes": 78_340_000_000}, 100)
    assert record["ok"] is False
    assert record["exists"] is False
    assert record["message"] == (
        "/raid/models is on the filesystem mounted at /raid (xfs, /dev/nvme1n1): 78.3 GB free, 100.0 GB required"
    )


def test_evaluate_exact_requirement_is_enough():
    record = evaluate("/raid", "/raid", _raid(), {"size_bytes": GB, "free_bytes": GB // 2}, 0.5)
    assert record["ok"] is True
    assert record["is_mount_point"] is True


def test_evaluate_flags_nfs():
    mount = find_mount(parse_mountinfo(MOUNTINFO), "/data/greptimedb")
    record = evaluate("/data/greptimedb", "/data/greptimedb", mount, {"size_bytes": 0, "free_bytes": 0}, 0)
    assert record["network_filesystem"] is True
    assert record["is_mount_point"] is True
    assert record["source"] == "10.0.0.5:/srv/nfs/greptimedb"
    assert record["ok"] is True


@pytest.mark.parametrize("min_free_gb", [-1, "100", True, None])
def test_evaluate_rejects_bad_requirement(min_free_gb):
    with pytest.raises(DiskSpaceError):
        evaluate("/raid", "/raid", _raid(), {"size_bytes": 1, "free_bytes": 1}, min_free_gb)


class _Stat(object):
    def __init__(self, uid, gid, mode):
        self.st_uid, self.st_gid, self.st_mode = uid, gid, mode


def test_ownership_from_stat_gives_ids_and_the_permission_bits_in_octal():
    # A directory (0o040000) with setgid: the type bits are left out, setgid kept.
    assert ownership_from_stat(_Stat(65534, 10001, 0o042750)) == {"uid": 65534, "gid": 10001, "mode": "2750"}
    assert ownership_from_stat(_Stat(0, 0, 0o040750)) == {"uid": 0, "gid": 0, "mode": "0750"}
    assert ownership_from_stat(None) == {"uid": None, "gid": None, "mode": None}
