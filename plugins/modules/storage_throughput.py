#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: storage_throughput
short_description: Measure sequential read and write throughput of the filesystem under a directory
version_added: 0.1.0
author:
  - gpufleet maintainers (@gpufleet)
description:
  - Writes a test file of O(size) in O(path) sequentially in blocks of O(block_size), reads it back,
    and reports MiB/s, IOPS, bytes and seconds per phase. The test file is removed afterwards, also
    when the measurement fails.
  - Uses fio when it is installed (O(engine=auto)) and reports its completion-latency percentiles;
    otherwise a built-in engine that runs the same pattern (page-aligned buffers, O_DIRECT, one
    synchronous I/O in flight, the write timed up to its fsync).
  - Direct I/O by default, so the page cache cannot make a slow disk look fast. Where the filesystem
    refuses O_DIRECT (ramfs, older tmpfs, some FUSE filesystems) the task fails with a clear message
    unless O(allow_buffered_fallback=true), in which case buffered I/O is measured and RV(direct) is V(false).
  - Does not change the host (the test file is temporary), so it always returns C(changed=false).
    In check mode it validates the request (sizes, path, free space, engine) and does no I/O.
options:
  path:
    description:
      - Existing directory on the filesystem to measure, e.g. the XFS cache mount or the model directory.
    type: path
    required: true
  operation:
    description:
      - V(both) writes the test file and reads it back; V(write) only writes; V(read) writes the file
        untimed and measures the read.
    type: str
    choices: [both, read, write]
    default: both
  size:
    description:
      - Size of the test file, e.g. V(1GiB), V(512Mi), V(4G). Must be a whole number of O(block_size)
        blocks and fit in the free space of O(path).
      - Larger than the device's cache gives steadier figures; direct I/O keeps the page cache out either way.
    type: str
    default: 1GiB
  block_size:
    description:
      - Size of each read and write, e.g. V(4MiB). A multiple of 4096 bytes when O(direct=true).
    type: str
    default: 4MiB
  direct:
    description:
      - Open the test file with O_DIRECT, bypassing the page cache.
    type: bool
    default: true
  allow_buffered_fallback:
    description:
      - When O(direct=true) and the filesystem refuses O_DIRECT, measure buffered I/O instead of failing.
        The result then says RV(direct=false) and RV(direct_fallback=true) and carries a warning.
    type: bool
    default: false
  engine:
    description:
      - V(auto) uses fio when found, else the built-in engine. V(fio) requires fio. V(builtin) never runs fio.
      - A fio phase that exits with 0 but prints nothing at all is run once more, with a warning; twice, or
        any other output that is not fio's JSON, fails the module with fio's stderr.
    type: str
    choices: [auto, fio, builtin]
    default: auto
  fio_path:
    description:
      - The fio executable. By default it is looked up on the PATH.
    type: path
  min_read_mibps:
    description:
      - Minimum acceptable read throughput in MiB/s. A lower result is listed in RV(violations).
    type: float
  min_write_mibps:
    description:
      - Minimum acceptable write throughput in MiB/s. A lower result is listed in RV(violations).
    type: float
  fail_on_violation:
    description:
      - Fail the task when a measured phase is below O(min_read_mibps) or O(min_write_mibps).
      - When V(false), shortfalls are only returned in RV(violations).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details:
      - Check mode validates the request and does no I/O; RV(measured) is V(false).
  diff_mode:
    support: none
extends_documentation_fragment:
  - gpufleet.cluster.read_only
notes:
  - One sequential stream with one I/O in flight measures what a single reader such as a model
    loader gets, not the device's parallel maximum.
  - The built-in engine and fio are compared side by side in the collection's C(bench/storage_throughput.py).
  - Leftover test files from an interrupted run are named C(.gpufleet-throughput-*.dat).
seealso:
  - module: gpufleet.cluster.disk_space_info
  - module: gpufleet.cluster.pv_affinity_info
"""

EXAMPLES = r"""
- name: Measure the XFS cache with direct I/O and require 1 GiB/s reads
  gpufleet.cluster.storage_throughput:
    path: /mnt/cache
    size: 4GiB
    min_read_mibps: 1024
    fail_on_violation: true

- name: Measure a tmpfs-backed scratch directory (no O_DIRECT there)
  gpufleet.cluster.storage_throughput:
    path: /dev/shm
    size: 256MiB
    allow_buffered_fallback: true
  register: scratch

- name: Only the write speed, with the built-in engine
  gpufleet.cluster.storage_throughput:
    path: /raid/models
    operation: write
    engine: builtin
"""

RETURN = r"""
measured:
  description: Whether I/O was done (V(false) in check mode).
  returned: always
  type: bool
directory:
  description: The directory measured (O(path)).
  returned: always
  type: str
  sample: /mnt/cache
engine:
  description: The engine that ran (V(fio) or V(builtin)).
  returned: always
  type: str
  sample: fio
fio_version:
  description: fio's version, when fio ran.
  returned: when fio ran
  type: str
  sample: fio-3.33
direct:
  description: Whether the measurement used O_DIRECT.
  returned: always
  type: bool
direct_fallback:
  description: V(true) when direct I/O was asked for, refused by the filesystem, and buffered I/O measured instead.
  returned: always
  type: bool
filesystem:
  description: The mount holding O(path) (mount point, type, source), when the mount table could be read.
  returned: always
  type: dict
  sample: {"mount_point": "/mnt/cache", "fstype": "xfs", "source": "/dev/nvme1n1"}
size_bytes:
  description: Bytes per phase (O(size) parsed).
  returned: always
  type: int
  sample: 1073741824
block_size_bytes:
  description: Bytes per I/O (O(block_size) parsed).
  returned: always
  type: int
  sample: 4194304
file:
  description: The test file used (already removed).
  returned: when measured
  type: str
write:
  description: Write phase figures.
  returned: when measured and O(operation) is V(both) or V(write)
  type: dict
  contains:
    mibps:
      description: Throughput in MiB/s.
      type: float
    iops:
      description: I/O operations per second.
      type: float
    bytes:
      description: Bytes written.
      type: int
    seconds:
      description: Duration of the phase.
      type: float
    ops:
      description: Number of I/O operations.
      type: int
    latency_us:
      description: Completion latency in microseconds (mean, min, max, p50, p90, p95, p99, p99_9); only when fio ran.
      type: dict
  sample: {"mibps": 1873.4, "iops": 468.35, "bytes": 1073741824, "seconds": 0.5466, "ops": 256}
read:
  description: Read phase figures, as for RV(write).
  returned: when measured and O(operation) is V(both) or V(read)
  type: dict
wall_seconds:
  description: Wall time of the whole measurement, including starting fio.
  returned: when measured
  type: float
violations:
  description: One message per phase below its minimum.
  returned: always
  type: list
  elements: str
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: "/mnt/cache (xfs): write 1873.4 MiB/s, read 2950.2 MiB/s (fio, direct I/O)"
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpufleet.cluster.plugins.module_utils.throughput import (
    ENGINES,
    OPERATION_CHOICES,
    ThroughputError,
    choose_engine,
    free_space_error,
    plan,
    summary_line,
    threshold_violations,
)
from ansible_collections.gpufleet.cluster.plugins.module_utils.throughput_io import (
    filesystem_of,
    free_bytes,
    measure,
)


def argspec():
    return dict(
        path=dict(type="path", required=True),
        operation=dict(type="str", choices=list(OPERATION_CHOICES), default="both"),
        size=dict(type="str", default="1GiB"),
        block_size=dict(type="str", default="4MiB"),
        direct=dict(type="bool", default=True),
        allow_buffered_fallback=dict(type="bool", default=False),
        engine=dict(type="str", choices=list(ENGINES), default="auto"),
        fio_path=dict(type="path"),
        min_read_mibps=dict(type="float"),
        min_write_mibps=dict(type="float"),
        fail_on_violation=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    params = module.params
    path = params["path"]
    fio_path = params["fio_path"]
    if params["engine"] != "builtin" and not fio_path:
        fio_path = module.get_bin_path("fio")
    elif fio_path and not os.access(fio_path, os.X_OK):
        module.fail_json(msg="fio_path=%s is not an executable file" % fio_path)

    try:
        request = plan(params["size"], params["block_size"], params["direct"], params["operation"])
        if module.check_mode:
            if not os.path.isdir(path):
                raise ThroughputError("path %s does not exist or is not a directory" % path)
            error = free_space_error(path, request["size"], free_bytes(path))
            if error:
                raise ThroughputError(error)
            engine = choose_engine(params["engine"], fio_path)
            result = dict(directory=path, engine=engine, direct=request["direct"], direct_fallback=False, measured=False,
                          filesystem=filesystem_of(path), size_bytes=request["size"], block_size_bytes=request["block_size"], violations=[],
                          msg="check mode: no I/O was done; would %s %d bytes in %d-byte blocks in %s with %s"
                          % ("write and read" if params["operation"] == "both" else params["operation"],
                             request["size"], request["block_size"], path, engine))
            module.exit_json(changed=False, **result)
        result = measure(path, request, params["engine"], fio_path, module.run_command, params["allow_buffered_fallback"])
    except ThroughputError as exc:
        module.fail_json(msg=str(exc), changed=False)

    for warning in result.pop("warnings"):
        module.warn(warning)
    result["measured"] = True
    result["violations"] = threshold_violations(result, params["min_read_mibps"], params["min_write_mibps"])
    result["msg"] = summary_line(result)
    if result["violations"] and params["fail_on_violation"]:
        result["msg"] = "; ".join(result["violations"])
        module.fail_json(changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
