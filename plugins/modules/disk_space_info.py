#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: disk_space_info
short_description: Report the filesystem that holds each path and whether it has enough free space
version_added: 0.1.0
description:
  - For each path, finds the nearest existing ancestor (the path itself when it exists),
    resolves symlinks, and looks up the mount that holds it in the host's mount table
    (longest mount point that is the path or one of its parents).
  - Reports the mount point, filesystem type, source and options, the filesystem size and the
    space available to unprivileged writers (C(f_bavail), so the root reserve does not count),
    in bytes and in decimal GB.
  - Read-only. Never changes the host and always returns C(changed=false).
  - Fails only when O(fail_on_violation=true) and a path has less than O(min_free_gb) free.
author:
  - gpufleet maintainers (@gpufleet)
attributes:
  check_mode:
    support: full
    details:
      - Only reads; check mode runs in full.
  diff_mode:
    support: none
extends_documentation_fragment:
  - gpufleet.cluster.read_only
options:
  paths:
    description:
      - Absolute paths to evaluate. They do not need to exist yet.
    type: list
    elements: path
    required: true
  min_free_gb:
    description:
      - Free space, in decimal GB (10^9 bytes), that the filesystem of each path must have.
      - V(0) reports without a requirement.
    type: float
    default: 0
  fail_on_violation:
    description:
      - Fail the task when a path has less than O(min_free_gb) free.
      - When V(false), shortfalls are returned in RV(violations) for the caller to act on.
    type: bool
    default: false
  mount_table:
    description:
      - The mount table to read, in C(/proc/self/mountinfo) or C(/proc/mounts) format.
    type: path
    default: /proc/self/mountinfo
notes:
  - The mount table is read as text and parsed by the collection's module_utils, so the
    result does not depend on C(findmnt) or C(df) being installed.
seealso:
  - module: ansible.builtin.setup
    description: The C(ansible_mounts) fact lists mounts but not which one holds a given path.
"""

EXAMPLES = r"""
- name: Check that each data directory's filesystem has 100 GB free
  gpufleet.cluster.disk_space_info:
    paths:
      - /raid/models
      - /data/alertmanager
    min_free_gb: 100
  register: __disk

- name: Fail with the host and the numbers when one is short
  ansible.builtin.assert:
    that: __disk.violations | length == 0
    fail_msg: "{{ inventory_hostname }}: {{ __disk.violations | join('; ') }}"

- name: Verify that a mount point really is NFS
  gpufleet.cluster.disk_space_info:
    paths: [/data/greptimedb]
  register: __nfs
  failed_when: __nfs.paths[0].fstype not in ['nfs', 'nfs4'] or not __nfs.paths[0].is_mount_point
"""

RETURN = r"""
paths:
  description: One record per requested path, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The path as requested, normalised.
      type: str
      sample: /raid/models
    exists:
      description: Whether the path itself exists.
      type: bool
      sample: true
    is_symlink:
      description:
        - Whether the path itself is a symbolic link. The node roles refuse such paths, since a
          data directory that points elsewhere fills or wipes the wrong disk.
      type: bool
      sample: false
    is_dir:
      description: Whether the path exists and is a directory (after following symlinks).
      type: bool
      sample: true
    uid:
      description: The path's owner (of the path itself, not following a symlink); null when it does not exist.
      type: int
      sample: 0
    gid:
      description: The path's group (of the path itself); null when it does not exist.
      type: int
      sample: 0
    mode:
      description: The path's permission bits (setuid, setgid and sticky included) in octal; null when it does not exist.
      type: str
      sample: "0750"
    probed_path:
      description: The nearest existing ancestor that was measured (the path itself when it exists).
      type: str
      sample: /raid
    resolved_path:
      description: RV(paths[].probed_path) with symlinks resolved.
      type: str
      sample: /raid
    real_path:
      description:
        - The path with every symlink of its existing part resolved (RV(paths[].resolved_path)
          followed by the components that do not exist yet). The node roles refuse a path whose
          real path is, or is inside, a system directory.
      type: str
      sample: /raid/models
    symlinks:
      description:
        - Each component of the path that is a symbolic link, parents first and the path itself
          last, with the link's target as C(readlink) gives it; empty when none is.
      type: list
      elements: dict
      sample: [{path: /raid, target: /mnt/nvme0}]
    mount_point:
      description: Mount point of the filesystem holding the path.
      type: str
      sample: /raid
    is_mount_point:
      description: Whether the path itself is that mount point.
      type: bool
      sample: false
    fstype:
      description: Filesystem type from the mount table.
      type: str
      sample: xfs
    source:
      description: Mount source (device, C(server:/export), ...).
      type: str
      sample: /dev/nvme1n1
    mount_options:
      description: Per-mount options followed by per-superblock options.
      type: list
      elements: str
      sample: [rw, noatime, largeio, inode64]
    network_filesystem:
      description: Whether the filesystem is a network filesystem (NFS, CIFS, Ceph, ...).
      type: bool
      sample: false
    size_bytes:
      description: Filesystem size in bytes.
      type: int
      sample: 3840755982336
    free_bytes:
      description: Bytes available to unprivileged writers.
      type: int
      sample: 2211908763648
    required_bytes:
      description: O(min_free_gb) in bytes.
      type: int
      sample: 100000000000
    free_gb:
      description: Free space in decimal GB, one decimal place.
      type: float
      sample: 2211.9
    required_gb:
      description: O(min_free_gb).
      type: float
      sample: 100.0
    ok:
      description: Whether free space meets the requirement.
      type: bool
      sample: true
    message:
      description: The shortfall in words; empty when RV(paths[].ok).
      type: str
      sample: ""
violations:
  description: One message per path whose filesystem is short of O(min_free_gb).
  returned: always
  type: list
  elements: str
  sample:
    - "/raid/models is on the filesystem mounted at / (overlay, overlay): 78.3 GB free, 100.0 GB required"
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.gpufleet.cluster.plugins.module_utils.disk_space import (
    DiskSpaceError,
    evaluate,
    find_mount,
    nearest_existing,
    normalize,
    ownership_from_stat,
    parse_mount_table,
    real_path,
    space_from_statvfs,
    symlinked_components,
)


def argspec():
    return dict(
        paths=dict(type="list", elements="path", required=True),
        min_free_gb=dict(type="float", default=0),
        fail_on_violation=dict(type="bool", default=False),
        mount_table=dict(type="path", default="/proc/self/mountinfo"),
    )


def ownership(path):
    try:
        return ownership_from_stat(os.lstat(path))
    except OSError:
        return ownership_from_stat(None)


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    params = module.params
    try:
        with open(params["mount_table"], "r") as handle:
            mounts = parse_mount_table(handle.read())
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read the mount table %s: %s" % (params["mount_table"], to_native(exc)))
    except DiskSpaceError as exc:
        module.fail_json(msg="cannot parse the mount table %s: %s" % (params["mount_table"], to_native(exc)))

    records = []
    for path in params["paths"]:
        try:
            path = normalize(path)
            probed = nearest_existing(path, os.path.exists)
            resolved = os.path.realpath(probed)
            stat = os.statvfs(resolved)
            space = space_from_statvfs(stat.f_frsize, stat.f_blocks, stat.f_bavail)
            record = evaluate(path, probed, find_mount(mounts, resolved), space, params["min_free_gb"])
        except DiskSpaceError as exc:
            module.fail_json(msg=to_native(exc))
        except OSError as exc:
            module.fail_json(msg="cannot measure %s: %s" % (path, to_native(exc)))
        record["resolved_path"] = resolved
        record["real_path"] = real_path(path, probed, resolved)
        record["symlinks"] = symlinked_components(path, os.path.islink, os.readlink)
        record["is_symlink"] = os.path.islink(path)
        record["is_dir"] = os.path.isdir(path)
        record.update(ownership(path))
        records.append(record)

    violations = [record["message"] for record in records if not record["ok"]]
    result = dict(changed=False, paths=records, violations=violations)
    if violations and params["fail_on_violation"]:
        module.fail_json(msg="; ".join(violations), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
