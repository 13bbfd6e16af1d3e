#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: block_device_info
short_description: Report what a block device holds and where it is mounted
version_added: 0.1.0
description:
  - Probes a block device with C(blkid --probe) (the device itself, not blkid's cache) for
    filesystem and partition-table signatures, reads its first bytes to tell a blank device
    from one that holds data without a signature, and finds where it is mounted from the
    mount table (by device number, so any name of the device matches).
  - Read-only. Never changes the host and always returns C(changed=false). Roles use it to
    refuse to format a device that holds anything.
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
  device:
    description: Path of the block device.
    type: path
    required: true
  blank_check_bytes:
    description:
      - How many bytes from the start of a device without a signature must be zeros for it to
        count as blank.
    type: int
    default: 1048576
  mount_table:
    description: Mount table to read, in C(/proc/self/mountinfo) format.
    type: path
    default: /proc/self/mountinfo
requirements:
  - blkid (util-linux)
seealso:
  - module: community.general.filesystem
  - module: gpufleet.cluster.disk_space_info
"""

EXAMPLES = r"""
- name: Look at the cache disk before formatting it
  gpufleet.cluster.block_device_info:
    device: /dev/nvme1n1
  register: __disk

- name: Refuse a disk that holds anything
  ansible.builtin.assert:
    that: __disk.blank
    fail_msg: "/dev/nvme1n1 holds {{ __disk.holds }}"
"""

RETURN = r"""
exists:
  description: Whether the path exists.
  returned: always
  type: bool
  sample: true
is_block:
  description: Whether the path is a block device (after following symlinks).
  returned: always
  type: bool
  sample: true
major_minor:
  description: Device number as C(major:minor), as the mount table writes it.
  returned: when is_block
  type: str
  sample: "259:3"
signature:
  description: What C(blkid --probe --output export) reported (TYPE, LABEL, UUID, PTTYPE, ...).
  returned: always
  type: dict
  sample: {TYPE: xfs, LABEL: gpucache, UUID: 3f1c2a9e-5d8b-4c1e-9a7f-2b6d0e4c8a11}
blank:
  description: No signature and the first O(blank_check_bytes) bytes are zeros.
  returned: always
  type: bool
  sample: false
holds:
  description: What the device holds, in words.
  returned: always
  type: str
  sample: a xfs filesystem labelled 'gpucache' (UUID 3f1c2a9e-5d8b-4c1e-9a7f-2b6d0e4c8a11)
mounted_at:
  description:
    - Mount points of the device's whole filesystem.
    - Bind mounts of a directory inside it (a kubelet's local volumes) are in RV(directory_mounts) instead.
  returned: always
  type: list
  elements: str
  sample: [/raid]
directory_mounts:
  description: Bind mounts of directories inside the device's filesystem, such as a kubelet's local volumes of running pods.
  returned: always
  type: list
  elements: dict
  sample: [{mount_point: /var/lib/kubelet/pods/a26c37f6/volumes/kubernetes.io~local-volume/model-storage-pv, root: /models}]
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.gpufleet.cluster.plugins.module_utils.block_device import (
    describe,
    directory_mounts,
    is_blank,
    mounted_at,
    parse_blkid_export,
)
from ansible_collections.gpufleet.cluster.plugins.module_utils.disk_space import DiskSpaceError, parse_mountinfo


def argspec():
    return dict(
        device=dict(type="path", required=True),
        blank_check_bytes=dict(type="int", default=1048576),
        mount_table=dict(type="path", default="/proc/self/mountinfo"),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    device = module.params["device"]
    result = dict(changed=False, exists=os.path.exists(device), is_block=False, signature={}, blank=False, mounted_at=[], directory_mounts=[])
    if not result["exists"]:
        result["holds"] = "nothing: the device does not exist"
        module.exit_json(**result)
    st = os.stat(device)
    result["is_block"] = stat.S_ISBLK(st.st_mode)
    if not result["is_block"]:
        result["holds"] = "nothing: it is not a block device"
        module.exit_json(**result)
    result["major_minor"] = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))

    blkid = module.get_bin_path("blkid", required=True)
    rc, out, err = module.run_command([blkid, "--probe", "--output", "export", device])
    if rc not in (0, 2):
        module.fail_json(msg="blkid could not probe %s: %s" % (device, err.strip()), rc=rc, stdout=out, stderr=err)
    result["signature"] = parse_blkid_export(out) if rc == 0 else {}

    if not result["signature"]:
        try:
            with open(device, "rb") as handle:
                result["blank"] = is_blank(handle.read(module.params["blank_check_bytes"]))
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read %s: %s" % (device, to_native(exc)))
    result["holds"] = describe(result["signature"], result["blank"])

    try:
        with open(module.params["mount_table"], "r") as handle:
            table = parse_mountinfo(handle.read())
            result["mounted_at"] = mounted_at(table, result["major_minor"])
            result["directory_mounts"] = directory_mounts(table, result["major_minor"])
    except (IOError, OSError, DiskSpaceError) as exc:
        module.fail_json(msg="cannot read the mount table %s: %s" % (module.params["mount_table"], to_native(exc)))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
