# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks for the node roles (node_prep, nfs_server, nfs_client, xfs_cache, storage_validation).

meta/argument_specs.yml checks types and required keys; what it cannot express (absolute
paths, octal modes as strings, world-writable bits, CIDRs instead of '*', sizes, XFS label
length...) is checked here. Each function takes the role's variables as a plain dict and
returns a list of problems, one sentence each, naming the variable, its value and the fix.
An empty list means the input is acceptable. Pure: no I/O, so the unit tests need no mocks.

The checks themselves (paths, numbers, booleans, networks, host names) are the collection's
shared ones in module_utils/checks.py; what is here is the node roles' policy on top of them.
Export paths and clients end up in /etc/exports and ganesha.conf: paths are checked as
config-file paths, and ``nfs_server_exports`` writes every client in its canonical form.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks
from ansible_collections.gpufleet.cluster.plugins.module_utils.disk_space import DiskSpaceError, normalize
from ansible_collections.gpufleet.cluster.plugins.module_utils.units import SizeError, parse_size

# Directories a role must never take ownership of or mount over, nor anything under them: the
# operating system's own trees and the state of the kubelet and the container runtimes.
SYSTEM_PREFIXES = (
    "/bin", "/boot", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/usr",
    "/var/lib/apt", "/var/lib/containerd", "/var/lib/containers", "/var/lib/docker", "/var/lib/dpkg",
    "/var/lib/etcd", "/var/lib/kubelet", "/var/lib/rpm",
)
# Directories refused as themselves only: a directory of its own under them is fine (the seed's
# GreptimeDB data lives under a home directory).
SYSTEM_PATHS = frozenset(
    [
        "/", "/home", "/media", "/mnt", "/opt", "/root", "/srv", "/tmp", "/var", "/var/lib", "/var/log", "/var/tmp",
    ]
)
PSEUDO_FS_ROOTS = ("/proc", "/sys", "/dev", "/run")

# Matched whole (re.fullmatch): '$' would let a trailing newline through.
_MODE_RE = re.compile(r"[0-7]{3,4}")
_NAME_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_EXPORT_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
_XFS_LABEL_RE = re.compile(r"[A-Za-z0-9_-]{1,12}")
_MOUNT_OPTION_RE = re.compile(r"[A-Za-z0-9_.=:/+-]+")
MAX_ID = 4294967294  # (uid_t)-1 is "no change" to chown(2)
KIB = 1024
XFS_LOGBSIZES = (16 * KIB, 32 * KIB, 64 * KIB, 128 * KIB, 256 * KIB)


_is_int = checks.is_int


def _under(path, root):
    return path == root or path.startswith(root + "/")


def system_reason(path):
    """Why a normalised absolute ``path`` may not be a role's directory, or None."""
    if any(_under(path, root) for root in PSEUDO_FS_ROOTS):
        return "is on a pseudo filesystem (/proc, /sys, /dev, /run)", "choose a directory on real storage"
    for prefix in SYSTEM_PREFIXES:
        if _under(path, prefix):
            return ("is inside the system directory %r (nothing under it may be taken over)" % prefix,
                    "use a directory on a data disk, e.g. '/raid/models'")
    if path in SYSTEM_PATHS:
        return "is a system directory", "use a directory of its own such as '%s/gpufleet'" % path.rstrip("/")
    return None


def path_problem(var, value, config_file=False, example="/raid/models", fix=None):
    """Problem with an absolute directory path the role will own, or None.

    ``config_file``: the path is written into /etc/exports or ganesha.conf (see checks.path_problem).
    System directories are refused by prefix (SYSTEM_PREFIXES) or as themselves (SYSTEM_PATHS);
    ``fix`` replaces the generic fix for those (a directory of the caller's kind).
    """
    found = checks.path_problem(var, value, example=example, config_file=config_file)
    if found:
        return found
    reason = system_reason(value)
    return "%s=%r %s; %s" % (var, value, reason[0], fix or reason[1]) if reason else None


def host_path_problems(var, records):
    """Problems of the paths disk_space_info measured on a host (its ``paths`` records): a path
    whose existing part leads through a symlink (the path itself or any parent) to a system
    directory, or into one, is refused, naming the link. The path as written was checked before
    (path_problem); this is what it resolves to on that host."""
    problems = []
    for record in records or []:
        real = record.get("real_path")
        links = record.get("symlinks") or []
        if not real or not links:
            continue
        reason = system_reason(real)
        if reason:
            chain = ", ".join("%s -> %s" % (link["path"], link["target"]) for link in links)
            problems.append(
                "%s: %s resolves through the symlink%s %s to %s, which %s; point %s at a directory whose "
                "path leads to real storage (no symlink into a system directory)"
                % (var, record.get("path"), "s" if len(links) > 1 else "", chain, real, reason[0], var))
    return problems


def mode_problem(var, value, allow_world_writable=False, allow_var=None):
    """Problem with a file mode, or None. Modes must be quoted octal strings."""
    if _is_int(value):
        return (
            "%s=%r is a number; YAML reads an unquoted 0750 as 488 decimal. Quote the mode: \"0750\""
            % (var, value)
        )
    if not isinstance(value, str) or not _MODE_RE.fullmatch(value):
        return "%s=%r is not an octal mode; use a quoted string such as \"0750\" or \"2750\"" % (var, value)
    if int(value, 8) & 0o002 and not allow_world_writable:
        hint = " or set %s: true if you really mean it" % allow_var if allow_var else ""
        return (
            "%s=%r lets every user on the host write (o+w); use \"0750\" or \"2750\" with the service's "
            "owner and group%s" % (var, value, hint)
        )
    return None


def id_problem(var, value):
    """Problem with a uid/gid (number, or a name that must exist on the host), or None."""
    if _is_int(value):
        if 0 <= value <= MAX_ID:
            return None
        return "%s=%r is out of range; use a uid/gid between 0 and %d" % (var, value, MAX_ID)
    if isinstance(value, str) and _NAME_RE.fullmatch(value):
        return None
    return (
        "%s=%r is neither a numeric id nor a user/group name; use the uid/gid the service's container "
        "runs as, e.g. 65534" % (var, value)
    )


def size_problem(var, value):
    try:
        parse_size(value, var)
    except SizeError as exc:
        return str(exc)
    return None


def _power_of_two(n):
    return n > 0 and n & (n - 1) == 0


# The widest client network an export takes without nfs_server_allow_wide_clients: an IPv4 /16
# (65 536 addresses, a site's node network at most) and an IPv6 /64 (one subnet).
WIDEST_CLIENT_PREFIX = {4: 16, 6: 64}


def network_problem(var, value, allow_wide=False):
    """Problem with an NFS client spec (IP or CIDR), or None. Wildcards, host names and
    anything else that could carry an option into /etc/exports or ganesha.conf are refused, /0
    always, and a network wider than WIDEST_CLIENT_PREFIX unless ``allow_wide``."""
    found = checks.network_problem(var, value)
    if found:
        return found
    net = checks.parse_network(value)
    widest = WIDEST_CLIENT_PREFIX[net.version]
    if net.prefixlen < widest and not allow_wide:
        return checks.problem(
            var, value, "is wider than /%d (%d addresses): every host in it could mount the exports" % (
                widest, net.num_addresses),
            "list the GPU nodes' network(s), e.g. %r, or set nfs_server_allow_wide_clients: true if all of "
            "it really are NFS clients" % ("10.0.0.0/24" if net.version == 4 else "fd00:10::/64"))
    return None


def _ids_and_mode(problems, prefix, item, allow_world_writable=False, allow_var=None):
    for key in ("owner", "group"):
        if key in item and item[key] is not None:
            problem = id_problem("%s.%s" % (prefix, key), item[key])
            if problem:
                problems.append(problem)
    if "mode" in item and item["mode"] is not None:
        problem = mode_problem("%s.mode" % prefix, item["mode"], allow_world_writable, allow_var)
        if problem:
            problems.append(problem)


def _numeric_ids(problems, prefix, item, keys, minimum, why):
    """Optional numeric uid/gid fields of one list entry."""
    for key in keys:
        if item.get(key) is not None:
            problem = checks.int_problem("%s.%s" % (prefix, key), item[key], minimum, MAX_ID, 65534, why=why)
            if problem:
                problems.append(problem)


def _duplicates(values):
    seen, dups = set(), []
    for value in values:
        if value in seen and value not in dups:
            dups.append(value)
        seen.add(value)
    return dups


def _list_problem(var, value, what):
    if not isinstance(value, list):
        return "%s=%r is not a list; give a YAML list of %s" % (var, value, what)
    return None


def node_prep_problems(inputs):
    """node_prep: data_dirs, allow_world_writable, min_free_gb, disk_check_mode."""
    problems = []
    allow = checks.parse_boolean(inputs.get("allow_world_writable", False)) is True
    dirs = inputs.get("data_dirs")
    problem = _list_problem("node_prep_data_dirs", dirs, "{path, owner, group, mode} entries")
    if problem:
        return problems + [problem]
    for index, item in enumerate(dirs):
        prefix = "node_prep_data_dirs[%d]" % index
        if not isinstance(item, dict):
            problems.append("%s=%r is not a mapping; give path, owner, group and mode" % (prefix, item))
            continue
        problem = path_problem("%s.path" % prefix, item.get("path"))
        if problem:
            problems.append(problem)
        _ids_and_mode(problems, prefix, item, allow, "node_prep_allow_world_writable")
    paths = [item.get("path", "").rstrip("/") for item in dirs if isinstance(item, dict) and isinstance(item.get("path"), str)]
    for dup in _duplicates(paths):
        problems.append("node_prep_data_dirs lists %r more than once; keep one entry per directory" % dup)
    min_free = inputs.get("min_free_gb")
    if not isinstance(min_free, (int, float)) or isinstance(min_free, bool) or not 0 <= min_free < float("inf"):
        problems.append("node_prep_min_free_gb=%r must be a number of GB >= 0, e.g. 100" % (min_free,))
    problems.extend(checks.package_problems("node_prep_extra_packages", inputs.get("extra_packages", [])))
    return problems


def nfs_server_problems(inputs):
    """nfs_server: clients, exports, export_root, squash, anonuid/anongid, ganesha_port, and
    who owns what (owner_problems)."""
    problems = []
    allow_wide = checks.parse_boolean(inputs.get("allow_wide_clients", False)) is True
    clients = inputs.get("clients")
    problem = _list_problem("nfs_server_clients", clients, "CIDRs")
    if problem:
        problems.append(problem)
    elif not clients:
        problems.append(
            "nfs_server_clients is empty; set it to the CIDR(s) of the GPU nodes, e.g. ['10.0.0.0/24'] "
            "('*' is refused)"
        )
    else:
        for index, client in enumerate(clients):
            problem = network_problem("nfs_server_clients[%d]" % index, client, allow_wide)
            if problem:
                problems.append(problem)

    root = inputs.get("export_root")
    problem = path_problem("nfs_server_export_root", root, config_file=True)
    if problem:
        problems.append(problem)
        root = None

    allow_nrs = checks.parse_boolean(inputs.get("allow_no_root_squash", False)) is True
    allow_ww = checks.parse_boolean(inputs.get("allow_world_writable", False)) is True
    for var in ("squash",):
        problems.extend(_squash_problems("nfs_server_%s" % var, inputs.get(var), allow_nrs))
    for var in ("anonuid", "anongid"):
        value = inputs.get(var)
        problem = checks.int_problem("nfs_server_%s" % var, value, 0, MAX_ID, 65534, why=" (a numeric id, e.g. nobody)")
        if problem:
            problems.append(problem)
        elif value == 0:
            problems.append(
                "nfs_server_%s=0 maps squashed root back to root, which undoes root_squash; use the uid/gid "
                "that owns the exports, e.g. 65534" % var
            )

    exports = inputs.get("exports")
    problem = _list_problem("nfs_server_exports", exports, "{name, owner, group, mode} entries")
    if problem:
        problems.append(problem)
        exports = []
    elif not exports:
        problems.append("nfs_server_exports is empty; list the directories to export, e.g. [{name: greptimedb}]")
    paths = []
    for index, item in enumerate(exports):
        prefix = "nfs_server_exports[%d]" % index
        if not isinstance(item, dict):
            problems.append("%s=%r is not a mapping; give at least a name" % (prefix, item))
            continue
        name = item.get("name")
        if not isinstance(name, str) or not _EXPORT_NAME_RE.fullmatch(name):
            problems.append(
                "%s.name=%r is not a valid export name; use lower-case letters, digits, '.', '_' or '-', "
                "e.g. 'greptimedb'" % (prefix, name)
            )
        path = item.get("path")
        if path is None and root and isinstance(name, str):
            path = posixpath.join(root, name)
        problem = path_problem("%s.path" % prefix, path, config_file=True)
        if problem:
            problems.append(problem)
        elif path:
            paths.append(path)
        for key, kind in (("owner", "uid"), ("group", "gid")):
            if item.get(key) is None:
                problems.append(
                    "%s has no %s; give the %s its service runs as, e.g. %s: 10001 (neither nfs_server_anon%s, "
                    "which squashed root writes as, nor another export's)" % (prefix, key, kind, key, kind[0] + "id"))
        _ids_and_mode(problems, prefix, item, allow_ww, "nfs_server_allow_world_writable")
        if item.get("squash") is not None:
            problems.extend(_squash_problems("%s.squash" % prefix, item["squash"], allow_nrs))
        _numeric_ids(problems, prefix, item, ("anonuid", "anongid"), 1, " (a numeric id other than 0: 0 undoes root_squash)")
        if item.get("id") is not None:
            problem = checks.int_problem("%s.id" % prefix, item["id"], 1, 65535, index + 1, why=" (an export id)")
            if problem:
                problems.append(problem)
        if item.get("access") is not None and item["access"] not in ("rw", "ro"):
            problems.append("%s.access=%r must be 'rw' or 'ro'" % (prefix, item["access"]))
        if item.get("clients") is not None:
            if not isinstance(item["clients"], list) or not item["clients"]:
                problems.append("%s.clients=%r must be a non-empty list of CIDRs" % (prefix, item["clients"]))
            else:
                for cindex, client in enumerate(item["clients"]):
                    problem = network_problem("%s.clients[%d]" % (prefix, cindex), client, allow_wide)
                    if problem:
                        problems.append(problem)
    for dup in _duplicates(paths):
        problems.append("nfs_server_exports exports %r more than once; keep one entry per directory" % dup)
    for outer in paths:
        for inner in paths:
            if inner != outer and inner.startswith(outer + "/"):
                problems.append(
                    "nfs_server_exports nests %r inside %r; nested exports share file handles in surprising "
                    "ways, export sibling directories instead" % (inner, outer)
                )
    names = [item.get("name") for item in exports if isinstance(item, dict)]
    for dup in _duplicates(names):
        problems.append("nfs_server_exports uses the name %r more than once; names must be unique" % (dup,))
    ids = [item.get("id", index + 1) for index, item in enumerate(exports) if isinstance(item, dict)]
    for dup in _duplicates(ids):
        problems.append("nfs_server_exports uses the export id %r more than once; give each export its own id" % (dup,))

    problem = checks.port_problem("nfs_server_ganesha_port", inputs.get("ganesha_port"), 2049)
    if problem:
        problems.append(problem)
    problems.extend(server_config_problems(inputs))
    if not problems:
        problems.extend(owner_problems(inputs))
    return problems


# The files the role writes whole, as root: only where the NFS server reads them.
_EXPORTS_FILE_RE = re.compile(r"/etc/exports\.d/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\.exports")
_GANESHA_CONFIG_RE = re.compile(r"/etc/ganesha/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\.conf")


def server_config_problems(inputs):
    """nfs_server_exports_file and nfs_server_ganesha_config: the role writes them whole as root (and
    makes the exports file's directory root-owned 0755), so anywhere else would overwrite a file of
    the host (/etc/exports, /etc/passwd) or change a directory's mode (/tmp)."""
    problems = []
    for key, pattern, what, example in (
            ("exports_file", _EXPORTS_FILE_RE,
             "is not a drop-in of /etc/exports.d: exportfs reads only /etc/exports.d/<name>.exports besides /etc/exports "
             "(the host's own, which the role never overwrites), and the role writes this file whole as root",
             "/etc/exports.d/gpufleet.exports"),
            ("ganesha_config", _GANESHA_CONFIG_RE, "is not a file of /etc/ganesha: the role writes it whole as root",
             "/etc/ganesha/ganesha.conf")):
        value = inputs.get(key, example)
        if not (isinstance(value, str) and pattern.fullmatch(value)):
            problems.append(checks.problem("nfs_server_" + key, value, what, "use e.g. %r" % example))
    return problems


def _numeric_id(value, table):
    """A uid/gid as a number: the value itself, or a name looked up in a getent table ({name:
    [password, id, ...]}, as ansible.builtin.getent returns it); None when it cannot be told."""
    if _is_int(value):
        return value
    entry = (table or {}).get(value) if isinstance(value, str) else None
    try:
        return int(entry[1])
    except (TypeError, IndexError, ValueError):
        return None


def dirs_to_write(dirs, records, passwd=None, group=None):
    """The data directories an ansible.builtin.file write (state directory, owner, group, mode)
    would change, in their order, from disk_space_info's ``records`` of the same paths (read just
    before) and the getent tables that name owners and groups. A directory counts as in place only
    when it is a directory (not a symlink) with exactly that uid, gid and mode; anything else or
    unknown (a name getent did not list, a record missing) keeps it."""
    by_path = dict((r.get("path"), r) for r in records or [] if isinstance(r, dict))
    keep = []
    for item in dirs or []:
        try:
            record = by_path.get(normalize(item.get("path")))  # as disk_space_info names its records
        except DiskSpaceError:
            record = None
        mode = item.get("mode")
        in_place = (
            record is not None and record.get("exists") and record.get("is_dir") and not record.get("is_symlink")
            and record.get("uid") is not None and record.get("uid") == _numeric_id(item.get("owner"), passwd)
            and record.get("gid") is not None and record.get("gid") == _numeric_id(item.get("group"), group)
            and isinstance(mode, str) and _MODE_RE.fullmatch(mode) is not None and record.get("mode") is not None
            and int(record["mode"], 8) == int(mode, 8)
        )
        if not in_place:
            keep.append(item)
    return keep


def _group_bits(mode):
    return int(mode, 8) & 0o070 if isinstance(mode, str) and _MODE_RE.fullmatch(mode) else 0o070


def owner_problems(inputs):
    """Who owns each export, against who can write it. Root on a client writes as the export's
    anonuid/anongid (root_squash; every user with all_squash): an export owned by that uid, or open
    to that gid, is open to root on every client, and root_squash protects nothing. Two exports with
    one owner (or one group that a mode lets in) let each service read and write the other's data.
    Owner and group names are looked up in ``users`` / ``groups`` (getent tables); a name not in
    them is left to the role's check that it exists on the host. Call it with inputs that
    nfs_server_problems accepted otherwise."""
    exports = nfs_server_exports(inputs)
    tables = {"owner": inputs.get("users"), "group": inputs.get("groups")}
    problems = []
    first = {"owner": {}, "group": {}}  # id -> index of the first export with it
    for index, export in enumerate(exports):
        prefix = "nfs_server_exports[%d]" % index
        for key, anon, kind in (("owner", "anonuid", "uid"), ("group", "anongid", "gid")):
            number = _numeric_id(export[key], tables[key])
            if number is None:
                continue
            # A group the mode keeps out (0700) gives nothing to its members.
            opens = key == "owner" or _group_bits(export["mode"])
            shown = "%s.%s=%r" % (prefix, key, export[key]) + ("" if _is_int(export[key]) else " (%s %d)" % (kind, number))
            if number == export[anon] and opens:
                anon_var = "%s.%s" % (prefix, anon) if inputs["exports"][index].get(anon) is not None \
                    else "nfs_server_%s" % anon
                problems.append(
                    "%s is the %s that squashed root writes as (%s=%d): root on every client gets into %s, so "
                    "root_squash protects nothing; give the export the %s its service runs as (e.g. %s: 10001) "
                    "and keep %s for squashed users alone" % (
                        shown, kind, anon_var, number, export["path"], kind, key, anon_var))
            other = first[key].setdefault(number, index)
            if other != index and (opens or key == "group" and _group_bits(exports[other]["mode"])):
                problems.append(
                    "%s is also the %s of nfs_server_exports[%d] (%s): each service could read the other's data; "
                    "give each export the %s its own service runs as" % (
                        shown, key, other, exports[other]["name"], kind))
    return problems


def nfs_server_exports(inputs):
    """The exports as configure.yml and the templates write them: defaults applied, every client
    in its canonical form (what ipaddress parsed, never the text as given). Call it only with
    inputs nfs_server_problems accepted."""
    exports = []
    for index, item in enumerate(inputs["exports"]):
        clients = item.get("clients") if item.get("clients") is not None else inputs["clients"]
        exports.append({
            "name": item["name"],
            "id": item.get("id", index + 1),
            "path": item.get("path") or posixpath.join(inputs["export_root"], item["name"]),
            "owner": item["owner"],
            "group": item["group"],
            "mode": item.get("mode", "0750"),
            "squash": item.get("squash") or inputs["squash"],
            "anonuid": item.get("anonuid", inputs["anonuid"]),
            "anongid": item.get("anongid", inputs["anongid"]),
            "access": item.get("access") or "rw",
            "clients": [checks.canonical_network(client) for client in clients],
        })
    return exports


def _squash_problems(var, value, allow_no_root_squash):
    if value not in ("root_squash", "all_squash", "no_root_squash"):
        return ["%s=%r must be one of root_squash, all_squash, no_root_squash" % (var, value)]
    if value == "no_root_squash" and not allow_no_root_squash:
        return [
            "%s='no_root_squash' gives root on every client root on the export; keep 'root_squash' and own the "
            "export by the service uid, or set nfs_server_allow_no_root_squash: true" % var
        ]
    return []


def nfs_client_problems(inputs):
    """nfs_client: mounts, server, rsize, wsize, options."""
    problems = []
    mounts = inputs.get("mounts")
    problem = _list_problem("nfs_client_mounts", mounts, "{export, path} entries")
    if problem:
        return [problem]
    default_server = inputs.get("server")
    for index, item in enumerate(mounts):
        prefix = "nfs_client_mounts[%d]" % index
        if not isinstance(item, dict):
            problems.append("%s=%r is not a mapping; give export and path" % (prefix, item))
            continue
        server = item.get("server") or default_server
        if not server:
            problems.append(
                "%s has no server and nfs_client_server is empty; set nfs_client_server to the NFS server's "
                "address, e.g. '10.0.0.5'" % prefix
            )
        elif not _server_ok(server):
            problems.append(
                "%s.server=%r is not a host name or IP address; use e.g. 'nfs-1.example.org' or '10.0.0.5'"
                % (prefix, server)
            )
        problem = checks.path_problem("%s.export" % prefix, item.get("export"), example="/srv/nfs/greptimedb",
                                      config_file=True)
        if problem:
            problems.append(problem + " (the absolute path exported by the server)")
        problem = path_problem("%s.path" % prefix, item.get("path"))
        if problem:
            problems.append(problem)
        _numeric_ids(problems, prefix, item, ("uid", "gid"), 0, " (the numeric id the service's container runs as)")
    paths = [item.get("path") for item in mounts if isinstance(item, dict)]
    for dup in _duplicates([p for p in paths if isinstance(p, str)]):
        problems.append("nfs_client_mounts mounts twice on %r; one mount per directory" % dup)

    for var in ("rsize", "wsize"):
        value = inputs.get(var)
        problem = size_problem("nfs_client_%s" % var, value)
        if problem:
            problems.append(problem)
            continue
        size = parse_size(value)
        if not _power_of_two(size) or not 4 * KIB <= size <= 1024 * KIB:
            problems.append(
                "nfs_client_%s=%r must be a power of two between 4KiB and 1MiB (the Linux client's range), "
                "e.g. '1MiB'" % (var, value)
            )
    problems.extend(_options_problems("nfs_client_options", inputs.get("options"), NFS_CLIENT_OWNED_OPTIONS,
                                      NFS_CLIENT_REFUSED_OPTIONS))
    problems.extend(checks.package_problems("nfs_client_extra_packages", inputs.get("extra_packages", []),
                                            example="libnfs-utils"))
    return problems


def _server_ok(server):
    return checks.is_hostname(server)


# The mount options each role writes from variables of its own: given again through the role's
# list of further options, the later one wins in the kernel and the variable would silently lose.
NFS_CLIENT_OWNED_OPTIONS = {"vers": "nfs_client_version", "nfsvers": "nfs_client_version",
                            "minorversion": "nfs_client_version", "rsize": "nfs_client_rsize",
                            "wsize": "nfs_client_wsize"}
# Options that would undo the nosuid,nodev every NFS mount gets (written last, so they would lose
# anyway: refused so that the operator hears it): whoever is root on the server, or can write the
# export, would get a setuid-root program or a device node onto every GPU node.
NFS_CLIENT_REFUSED_OPTIONS = {
    "suid": "lets a setuid program on the export run with its owner's rights on this node; remove it "
            "(the role mounts every export nosuid,nodev)",
    "dev": "lets a device node on the export open this node's devices; remove it (the role mounts every "
           "export nosuid,nodev)",
}
XFS_CACHE_OWNED_OPTIONS = {"allocsize": "xfs_cache_allocsize", "logbsize": "xfs_cache_logbsize"}


def _options_problems(var, options, owned=None, refused=None):
    if options is None:
        return []
    if not isinstance(options, list):
        return ["%s=%r is not a list; give one mount option per item, e.g. ['hard', 'noatime']" % (var, options)]
    problems = []
    for index, option in enumerate(options):
        if not isinstance(option, str) or not _MOUNT_OPTION_RE.fullmatch(option):
            problems.append(
                "%s[%d]=%r is not a single mount option; give one option per item without commas or spaces"
                % (var, index, option)
            )
            continue
        key = option.split("=", 1)[0].lower()
        if option.lower() in (refused or {}):
            problems.append("%s[%d]=%r %s" % (var, index, option, refused[option.lower()]))
        elif key in (owned or {}):
            problems.append(
                "%s[%d]=%r sets %s, which the role sets from %s: set that instead and remove it here"
                % (var, index, option, key, owned[key])
            )
    return problems


def xfs_cache_problems(inputs):
    """xfs_cache: device, confirm_format, mount_path, label, mkfs_options, allocsize, logbsize,
    owner/group/mode, and the retired force switch (present only when it is set)."""
    problems = []
    if "force" in inputs:
        problems.append(
            "xfs_cache_force=%r is no longer read: a standing switch formats whatever holds the device's name "
            "next time. Remove it; to format a device that holds something, set xfs_cache_confirm_format to that "
            "device's path (the same text as xfs_cache_device) for one run, then remove that too" % (inputs["force"],))
    device = inputs.get("device")
    if not isinstance(device, str) or not device:
        problems.append("xfs_cache_device is not set; name the block device to format, e.g. '/dev/nvme1n1'")
    elif not device.startswith("/dev/"):
        problems.append("xfs_cache_device=%r must be a block device path under /dev, e.g. '/dev/nvme1n1'" % device)
    else:
        problem = checks.path_problem("xfs_cache_device", device, "/dev/nvme1n1", config_file=True)
        if problem:
            problems.append(problem)
    confirm = inputs.get("confirm_format")
    if confirm not in (None, "") and confirm != device:
        problems.append(
            "xfs_cache_confirm_format=%r does not name xfs_cache_device=%r, the only device the role would "
            "format; confirm that device by its path exactly as xfs_cache_device gives it, or remove "
            "xfs_cache_confirm_format" % (confirm, device))
    problem = path_problem("xfs_cache_mount_path", inputs.get("mount_path"))
    if problem:
        problems.append(problem)
    label = inputs.get("label")
    if not isinstance(label, str) or not _XFS_LABEL_RE.fullmatch(label):
        problems.append(
            "xfs_cache_label=%r must be 1 to 12 letters, digits, '_' or '-' (XFS labels hold 12 bytes), "
            "e.g. 'gpucache'" % (label,)
        )
    problems.extend(mkfs_options_problems(inputs.get("mkfs_options")))
    allocsize = inputs.get("allocsize")
    problem = size_problem("xfs_cache_allocsize", allocsize)
    if problem:
        problems.append(problem)
    else:
        size = parse_size(allocsize)
        if not _power_of_two(size) or not 4 * KIB <= size <= 1024**3:
            problems.append(
                "xfs_cache_allocsize=%r must be a power of two between 4KiB and 1GiB, e.g. '16MiB'" % (allocsize,)
            )
    logbsize = inputs.get("logbsize")
    problem = size_problem("xfs_cache_logbsize", logbsize)
    if problem:
        problems.append(problem)
    elif parse_size(logbsize) not in XFS_LOGBSIZES:
        problems.append(
            "xfs_cache_logbsize=%r is not one XFS accepts; use 16KiB, 32KiB, 64KiB, 128KiB or 256KiB" % (logbsize,)
        )
    problems.extend(_options_problems("xfs_cache_extra_mount_options", inputs.get("extra_mount_options"),
                                      XFS_CACHE_OWNED_OPTIONS))
    _ids_and_mode(
        problems,
        "xfs_cache",
        {"owner": inputs.get("owner"), "group": inputs.get("group"), "mode": inputs.get("mode")},
        checks.parse_boolean(inputs.get("allow_world_writable", False)) is True,
    )
    # _ids_and_mode names them xfs_cache.owner; the variables are xfs_cache_owner.
    return [p.replace("xfs_cache.", "xfs_cache_", 1) if p.startswith("xfs_cache.") else p for p in problems]


_MKFS_WORD_RE = re.compile(r"[A-Za-z0-9_.=,:/+-]+")
# The option letters passed on to mkfs.xfs, each its own entry (no -qf: getopt would read -q -f).
MKFS_FLAGS = ("-b", "-d", "-i", "-l", "-m", "-n", "-r", "-s", "-K", "-q")
# Suboptions naming another device or file for mkfs.xfs to write (xfs_mkfs.c: -d name=/file, -l
# logdev=/name=/file, -r rtdev=/name=/file), and the UUID the role sets itself.
_MKFS_ELSEWHERE = ("logdev", "rtdev", "name", "file")


def mkfs_options_problems(mkfs):
    """xfs_cache_mkfs_options: words for mkfs.xfs that format xfs_cache_device and nothing else.

    community.general.filesystem joins the options and splits them again on whitespace, so each
    entry must be one word. Option letters are taken from an allowlist, one per entry; a value
    (``su=256k,sw=4``) may not name another device or file for mkfs.xfs to format (an external
    log, a realtime section, a data file), which the preflight never looked at, nor the UUID.
    ``-p`` (a prototype file of the host's) and ``-L`` (the role's label) are not passed on.
    """
    var = "xfs_cache_mkfs_options"
    if not isinstance(mkfs, list) or not all(isinstance(o, str) for o in mkfs):
        return ["%s=%r must be a list of strings, e.g. ['-d', 'su=256k,sw=4']" % (var, mkfs)]
    problems = []
    if any(o in ("-f", "--force") for o in mkfs):
        problems.append(
            "%s=%r asks mkfs.xfs to force; overwriting a device that holds something is confirmed by "
            "xfs_cache_confirm_format alone" % (var, mkfs))
    for index, word in enumerate(mkfs):
        item = "%s[%d]" % (var, index)
        if word in ("-f", "--force"):
            continue
        if not _MKFS_WORD_RE.fullmatch(word):
            problems.append(checks.problem(
                item, word, "is not one word of letters, digits and _ . = , : / + - (the options are joined and split "
                "again on spaces, so a space would start another option)",
                "give each option and each value as its own entry, e.g. ['-d', 'su=256k,sw=4']"))
        elif word.startswith("-p"):
            problems.append(checks.problem(
                item, word, "asks mkfs.xfs to fill the new filesystem from a prototype file of the host's",
                "remove it; the role creates the cache's root and the data directories come from node_prep"))
        elif word.startswith("-L"):
            problems.append(checks.problem(
                item, word, "sets the label, which the role sets from xfs_cache_label",
                "set xfs_cache_label instead and remove this option"))
        elif word.startswith("-") and word not in MKFS_FLAGS:
            problems.append(checks.problem(
                item, word, "is not one of the mkfs.xfs options the role passes on (%s), one per entry"
                % " ".join(MKFS_FLAGS), "give e.g. ['-d', 'su=256k,sw=4']; the role adds -L, -m uuid= and -f itself"))
        elif not word.startswith("-"):
            keys = [part.split("=", 1)[0].lower() for part in word.split(",")]
            if any(key in _MKFS_ELSEWHERE for key in keys):
                problems.append(checks.problem(
                    item, word, "names another device or file for mkfs.xfs to format (an external log, a realtime "
                    "section or a data file: %s), which the role never checked for data"
                    % ", ".join(k for k in keys if k in _MKFS_ELSEWHERE),
                    "keep everything inside xfs_cache_device (the default) and remove this option"))
            elif "uuid" in keys:
                problems.append(checks.problem(
                    item, word, "sets the UUID, which the role sets itself (it reads it back to recognise its cache)",
                    "remove uuid= from this option"))
    return problems


def _number_problem(var, value, minimum, above=False, example=0):
    """A float or int variable (never a bool, a string or infinity) >= minimum (> with ``above``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value < float("inf") \
        and (value > minimum if above else value >= minimum)
    if ok:
        return None
    return checks.problem(var, value, "is not a number %s %s" % (">" if above else ">=", minimum), "use e.g. %s" % example)


def storage_validation_problems(inputs):
    """storage_validation: paths, minimums, timeout and poll interval (sizes: the size_bytes filter)."""
    problems = []
    paths = inputs.get("paths")
    problem = _list_problem("storage_validation_paths", paths, "absolute directory paths")
    if problem:
        return [problem]
    if not paths:
        problems.append("storage_validation_paths is empty; list the directories to measure, e.g. ['/raid']")
    for index, path in enumerate(paths):
        # The measurement writes a test file of storage_validation_size there.
        problem = _written_in_problem("storage_validation_paths[%d]" % index, path, "the measurement writes a test file there")
        if problem:
            problems.append(problem)
    for key in ("min_read_mibps", "min_write_mibps", "min_free_gb"):
        if key in inputs:
            problem = _number_problem("storage_validation_%s" % key, inputs[key], 0)
            if problem:
                problems.append(problem)
    timeout, poll = inputs.get("timeout"), inputs.get("poll_seconds")
    for var, value, example in (("timeout", timeout, 1800), ("poll_seconds", poll, 5)):
        problem = checks.int_problem("storage_validation_%s" % var, value, 1, None, example)
        if problem:
            problems.append(problem)
    if not problems and poll > timeout:
        problems.append("storage_validation_poll_seconds=%r is longer than storage_validation_timeout=%r; poll more "
                        "often than the time a measurement may take, e.g. 5 and 1800" % (poll, timeout))
    return problems


def _written_in_problem(var, path, what):
    """A directory a role writes files in but does not own: clean and absolute, never under a system
    directory or a pseudo filesystem; a directory such as /, /mnt or /var/tmp itself is fine."""
    problem = checks.path_problem(var, path, "/raid")
    reason = None if problem or path in SYSTEM_PATHS else system_reason(path)
    if reason:
        return "%s=%r %s; %s: %s" % (var, path, reason[0], what, reason[1])
    return problem


def validation_report_problems(inputs):
    """validation_report: the report's directory on the controller, as given (dir), else the base
    directory the time-stamped one is made in (base_dir, normalised: its default climbs from
    playbook_dir)."""
    if inputs.get("dir"):
        return [p for p in [_written_in_problem("validation_report_dir", inputs["dir"],
                                                "the report is written there")] if p]
    return [p for p in [_written_in_problem("validation_report_base_dir", inputs.get("base_dir"),
                                            "the report's directory is made there")] if p]


# The roles' boolean variables: strings such as "no" or "False" are booleans as Ansible reads
# them (and the tasks read them with | bool); anything else ("maybe", 2) is refused here.
FLAGS = {
    "node_prep": ("allow_world_writable", "install_packages"),
    "nfs_server": ("allow_no_root_squash", "allow_world_writable", "allow_wide_clients", "ganesha_graceless"),
    "nfs_client": ("write_test",),
    "xfs_cache": ("allow_world_writable",),
    "storage_validation": ("direct", "allow_buffered_fallback", "disk_space"),
    "validation_report": (),
}

CHECKS = {
    "node_prep": node_prep_problems,
    "nfs_server": nfs_server_problems,
    "nfs_client": nfs_client_problems,
    "xfs_cache": xfs_cache_problems,
    "storage_validation": storage_validation_problems,
    "validation_report": validation_report_problems,
}


def problems_for(role, inputs):
    """Dispatch by role name; unknown roles are a programming error."""
    if role not in CHECKS:
        raise KeyError("no input checks for role %r; known: %s" % (role, ", ".join(sorted(CHECKS))))
    if not isinstance(inputs, dict):
        raise TypeError("inputs for %s must be a dict, got %r" % (role, type(inputs).__name__))
    flags = [checks.boolean_problem("%s_%s" % (role, key), inputs[key]) for key in FLAGS[role] if key in inputs]
    return [p for p in flags if p] + CHECKS[role](inputs)
