# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which filesystem holds a path, and is there room on it.

Pure functions over text and numbers: the caller reads the host's mount table
(/proc/self/mountinfo or /proc/mounts) and calls statvfs; everything decided from those
lives here so that it can be tested with literal inputs, without mocks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

# Free space is reported in decimal gigabytes, as `df -H` and the TensorFusion production
# guide ("at least 100GB of free disk space per GPU node") count them.
GB = 1000**3

NETWORK_FSTYPES = ("nfs", "nfs4", "cifs", "smb3", "ceph", "glusterfs", "lustre", "fuse.sshfs")

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


class DiskSpaceError(ValueError):
    """Input that cannot be evaluated (relative path, unreadable mount table)."""


def unescape(field):
    """Undo the kernel's octal escaping of spaces, tabs, newlines and backslashes."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def _split_options(text):
    return [opt for opt in text.split(",") if opt]


def parse_mountinfo(text):
    """Parse /proc/<pid>/mountinfo (proc(5)) into a list of dicts, in table order.

    Each dict has mount_point, root, fstype, source, options (per-mount followed by
    per-superblock options, de-duplicated), mount_options, super_options, major_minor.
    """
    mounts = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            sep = fields.index("-")
        except ValueError:
            raise DiskSpaceError("mountinfo line %d has no ' - ' separator: %r" % (lineno, line))
        if sep < 6 or len(fields) < sep + 3:
            raise DiskSpaceError("mountinfo line %d is too short: %r" % (lineno, line))
        mount_options = _split_options(fields[5])
        super_options = _split_options(fields[sep + 3]) if len(fields) > sep + 3 else []
        options = list(mount_options)
        options.extend(opt for opt in super_options if opt not in options)
        mounts.append(
            {
                "mount_id": int(fields[0]),
                "parent_id": int(fields[1]),
                "major_minor": fields[2],
                "root": unescape(fields[3]),
                "mount_point": unescape(fields[4]),
                "mount_options": mount_options,
                "super_options": super_options,
                "options": options,
                "fstype": fields[sep + 1],
                "source": unescape(fields[sep + 2]),
            }
        )
    return mounts


def parse_proc_mounts(text):
    """Parse /proc/mounts (or /etc/mtab) into the same dicts as parse_mountinfo, minus ids."""
    mounts = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) < 4:
            raise DiskSpaceError("mounts line %d is too short: %r" % (lineno, line))
        options = _split_options(fields[3])
        mounts.append(
            {
                "root": "/",
                "mount_point": unescape(fields[1]),
                "mount_options": options,
                "super_options": [],
                "options": options,
                "fstype": fields[2],
                "source": unescape(fields[0]),
            }
        )
    return mounts


def parse_mount_table(text):
    """Parse either format; mountinfo lines start with two integers and carry ' - '."""
    for line in text.splitlines():
        if line.strip():
            fields = line.split()
            if len(fields) >= 7 and fields[0].isdigit() and fields[1].isdigit() and "-" in fields:
                return parse_mountinfo(text)
            return parse_proc_mounts(text)
    raise DiskSpaceError("the mount table is empty")


def normalize(path):
    """Return ``path`` normalised; relative paths are refused (they depend on a cwd)."""
    if not isinstance(path, str) or not path:
        raise DiskSpaceError("path %r is not a non-empty string" % (path,))
    if not path.startswith("/"):
        raise DiskSpaceError("path %r is relative; give an absolute path such as '/raid/models'" % path)
    norm = posixpath.normpath(path)
    # POSIX keeps a leading '//' as implementation-defined; we do not.
    return "/" + norm.lstrip("/")


def ancestors(path):
    """``path`` and each parent up to '/', nearest first."""
    current = normalize(path)
    chain = [current]
    while current != "/":
        current = posixpath.dirname(current)
        chain.append(current)
    return chain


def nearest_existing(path, exists):
    """First of ``path`` and its parents for which ``exists(p)`` is true ('/' always is)."""
    for candidate in ancestors(path):
        if candidate == "/" or exists(candidate):
            return candidate
    return "/"  # pragma: no cover - the loop always returns at '/'


def symlinked_components(path, islink, readlink):
    """Each component of ``path`` that is a symbolic link, parents first and the path itself
    last, as ``{"path", "target"}`` (the link's text as readlink gives it). ``islink`` and
    ``readlink`` are os.path.islink and os.readlink on a host."""
    links = []
    for candidate in reversed(ancestors(path)):
        if candidate != "/" and islink(candidate):
            links.append({"path": candidate, "target": readlink(candidate)})
    return links


def real_path(path, probed_path, resolved_probed):
    """``path`` with every symlink of its existing part resolved: the resolved nearest existing
    ancestor followed by the components that do not exist yet."""
    path, probed_path = normalize(path), normalize(probed_path)
    rest = path[len(probed_path):].lstrip("/")
    return posixpath.join(normalize(resolved_probed), rest) if rest else normalize(resolved_probed)


def _is_under(path, mount_point):
    if mount_point == "/":
        return True
    return path == mount_point or path.startswith(mount_point + "/")


def find_mount(mounts, path):
    """The mount that holds ``path``: the longest mount point that is ``path`` or a parent.

    When one mount point appears several times (over-mounts), the last entry wins, as it
    is the one on top. Returns None if nothing matches (a table without '/').
    """
    path = normalize(path)
    best = None
    for entry in mounts:
        mount_point = entry["mount_point"]
        if not _is_under(path, mount_point):
            continue
        if best is None or len(mount_point) >= len(best["mount_point"]):
            best = entry
    return best


def space_from_statvfs(f_frsize, f_blocks, f_bavail):
    """Sizes in bytes from statvfs numbers. Free is what an unprivileged writer gets
    (f_bavail), not f_bfree: the root reserve is not room for service data."""
    for name, value in (("f_frsize", f_frsize), ("f_blocks", f_blocks), ("f_bavail", f_bavail)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise DiskSpaceError("statvfs %s=%r is not a non-negative integer" % (name, value))
    return {"size_bytes": f_frsize * f_blocks, "free_bytes": f_frsize * f_bavail}


def ownership_from_stat(st):
    """uid, gid and mode (permission bits with setuid, setgid and sticky, as a 4-digit octal
    string, the way the roles spell modes) of an lstat result; all None for no result."""
    if st is None:
        return {"uid": None, "gid": None, "mode": None}
    return {"uid": st.st_uid, "gid": st.st_gid, "mode": "%04o" % (st.st_mode & 0o7777)}


def to_gb(num_bytes):
    """Bytes as decimal GB rounded to one decimal place."""
    return round(num_bytes / GB, 1)


def evaluate(path, probed_path, mount, space, min_free_gb):
    """One path's record: where it lives, how much room there is, and whether that is enough.

    ``mount`` is an entry from find_mount (or None), ``space`` the dict from
    space_from_statvfs, ``min_free_gb`` the requirement in decimal GB (0 = no requirement).
    """
    if isinstance(min_free_gb, bool) or not isinstance(min_free_gb, (int, float)) or min_free_gb < 0:
        raise DiskSpaceError("min_free_gb=%r must be a number >= 0" % (min_free_gb,))
    required_bytes = int(min_free_gb * GB)
    mount = mount or {}
    mount_point = mount.get("mount_point")
    fstype = mount.get("fstype")
    record = {
        "path": normalize(path),
        "exists": normalize(path) == probed_path,
        "probed_path": probed_path,
        "mount_point": mount_point,
        "is_mount_point": mount_point is not None and normalize(path) == mount_point,
        "fstype": fstype,
        "source": mount.get("source"),
        "mount_options": mount.get("options", []),
        "network_filesystem": fstype in NETWORK_FSTYPES or (fstype or "").startswith("nfs"),
        "size_bytes": space["size_bytes"],
        "free_bytes": space["free_bytes"],
        "required_bytes": required_bytes,
        "free_gb": to_gb(space["free_bytes"]),
        "required_gb": float(min_free_gb),
    }
    record["ok"] = space["free_bytes"] >= required_bytes
    record["message"] = violation_message(record) if not record["ok"] else ""
    return record


def violation_message(record):
    """What is short where, in the words an operator acts on."""
    return (
        "%(path)s is on the filesystem mounted at %(mount_point)s (%(fstype)s, %(source)s): "
        "%(free_gb).1f GB free, %(required_gb).1f GB required" % record
    )
