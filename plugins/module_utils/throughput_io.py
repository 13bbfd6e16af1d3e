# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sequential throughput measurement: the I/O.

The built-in engine (aligned mmap buffers, O_DIRECT, one synchronous I/O in flight, the same
pattern fio's psync engine runs), the fio runner, the O_DIRECT probe and ``measure``, which
puts them together around one test file that is always removed. The decisions (sizes,
command lines, parsing, thresholds) are in throughput.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import mmap
import os
import tempfile
import time

from ansible_collections.gpufleet.cluster.plugins.module_utils.disk_space import (
    DiskSpaceError,
    find_mount,
    parse_mount_table,
)
from ansible_collections.gpufleet.cluster.plugins.module_utils.throughput import (
    DIRECT_ALIGNMENT,
    ThroughputError,
    choose_engine,
    direct_refused_message,
    fio_command,
    free_space_error,
    parse_fio_json,
    shape,
)

O_DIRECT = getattr(os, "O_DIRECT", 0)
TEST_FILE_PREFIX = ".gpufleet-throughput-"


class DirectRefused(ThroughputError):
    """The filesystem does not accept O_DIRECT."""


def filesystem_of(path, mount_table="/proc/self/mountinfo"):
    """{"mount_point", "fstype", "source"} of the mount holding ``path``, or {} when unknown."""
    try:
        with open(mount_table) as handle:
            mount = find_mount(parse_mount_table(handle.read()), os.path.realpath(path))
    except (IOError, OSError, DiskSpaceError):
        return {}
    if not mount:
        return {}
    return {"mount_point": mount["mount_point"], "fstype": mount["fstype"], "source": mount["source"]}


def free_bytes(path):
    """Bytes an unprivileged writer may still use; None when the filesystem keeps no count
    (ramfs reports 0 blocks of 0 free and grows until memory runs out)."""
    stat = os.statvfs(path)
    if stat.f_blocks == 0:
        return None
    return stat.f_bavail * stat.f_frsize


def free_bytes_settled(path, wanted, wait_seconds=3.0):
    """Free bytes, waiting briefly when short: XFS frees an unlinked file's blocks in the
    background (deferred inode inactivation), so space from a test file removed a moment
    ago, e.g. by the previous measurement, shows up only after a few hundred milliseconds."""
    free = free_bytes(path)
    deadline = time.monotonic() + wait_seconds
    while free is not None and free < wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        free = free_bytes(path)
    return free


def _aligned_buffer(size, fill=True):
    """An anonymous mmap: page-aligned, as O_DIRECT wants; filled with incompressible bytes."""
    buf = mmap.mmap(-1, size)
    if fill:
        chunk = os.urandom(min(size, 1024 * 1024))
        for offset in range(0, size, len(chunk)):
            buf[offset:offset + len(chunk)] = chunk[:size - offset]
    return buf


def _open(path, flags, direct):
    if direct:
        if not O_DIRECT:
            raise DirectRefused("this platform has no O_DIRECT")
        flags |= O_DIRECT
    try:
        return os.open(path, flags, 0o600)
    except OSError as exc:
        if direct and exc.errno == errno.EINVAL:
            raise DirectRefused("open with O_DIRECT: %s" % os.strerror(exc.errno))
        raise


def probe_direct(directory):
    """Raise DirectRefused when files in ``directory`` cannot be written with O_DIRECT."""
    fd, probe = tempfile.mkstemp(prefix=TEST_FILE_PREFIX + "probe-", dir=directory)
    os.close(fd)
    buf = _aligned_buffer(DIRECT_ALIGNMENT, fill=False)
    try:
        fd = _open(probe, os.O_WRONLY, True)
        try:
            os.write(fd, buf)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise DirectRefused("aligned write with O_DIRECT: %s" % os.strerror(exc.errno))
            raise
        finally:
            os.close(fd)
    finally:
        buf.close()
        os.unlink(probe)


def _drop_cache(fd):
    """Make a buffered read come from the device: the file's clean pages leave the page cache."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def builtin_write(path, request, buf=None):
    """Write ``request['size']`` bytes sequentially; timed up to and including fsync."""
    own = buf is None
    buf = buf if buf is not None else _aligned_buffer(request["block_size"])
    try:
        fd = _open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, request["direct"])
        try:
            write = os.write
            block = request["block_size"]
            start = time.perf_counter()
            for _block in range(request["blocks"]):
                if write(fd, buf) != block:
                    raise ThroughputError("short write to %s" % path)
            os.fsync(fd)
            seconds = time.perf_counter() - start
        finally:
            os.close(fd)
    finally:
        if own:
            buf.close()
    return shape(request["size"], seconds, request["blocks"])


def builtin_read(path, request, buf=None):
    """Read the file back sequentially, into one aligned buffer (no allocation per block)."""
    own = buf is None
    buf = buf if buf is not None else _aligned_buffer(request["block_size"], fill=False)
    try:
        fd = _open(path, os.O_RDONLY, request["direct"])
        try:
            if not request["direct"]:
                _drop_cache(fd)
            readv = os.readv
            bufs = [buf]
            total = ops = 0
            start = time.perf_counter()
            while True:
                got = readv(fd, bufs)
                if not got:
                    break
                total += got
                ops += 1
            seconds = time.perf_counter() - start
        finally:
            os.close(fd)
    finally:
        if own:
            buf.close()
    if total != request["size"]:
        raise ThroughputError("read %d bytes from %s, expected %d" % (total, path, request["size"]))
    return shape(total, seconds, ops)


def run_builtin(path, request):
    """Each requested phase on ``path``; a read-only request first writes the file, untimed."""
    results = {}
    buf = _aligned_buffer(request["block_size"])
    try:
        if "write" in request["operations"]:
            results["write"] = builtin_write(path, request, buf)
        else:
            builtin_write(path, request, buf)
        if "read" in request["operations"]:
            results["read"] = builtin_read(path, request, buf)
    finally:
        buf.close()
    return results


def run_fio(run_command, fio_path, path, request):
    """Run fio, one process per phase; ``run_command(args)`` returns (rc, stdout, stderr)
    like AnsibleModule.run_command. For a read-only request fio lays the file out itself.

    A phase after which fio exits with 0 but prints nothing at all (seen once on a machine with
    both cores busy, with nothing on stderr) is run once more, and a warning says so; any other
    output that is not fio's JSON is an error at once."""
    results = {}
    version = None
    warnings = []
    for operation in request["operations"]:
        for attempt in (1, 2):
            rc, out, err = run_command(fio_command(fio_path, path, request, operation))
            if rc != 0:
                detail = (err or out or "").strip()[-800:]
                raise ThroughputError("fio (%s phase) exited with %s: %s" % (operation, rc, detail))
            try:
                parsed = parse_fio_json(out)
                break
            except ThroughputError as exc:
                # fio said it succeeded: what it wrote on stderr is all there is to tell why.
                detail = (err or "").strip()[-800:]
                message = "fio (%s phase) exited with 0 but %s; %s" % (
                    operation, exc, "its stderr: %s" % detail if detail else "it wrote nothing on stderr")
                if attempt == 2 or (out or "").strip():
                    raise ThroughputError(message)
                warnings.append(message + "; the phase was measured again")
        version = parsed["version"]
        results.update(parsed["results"])
    return {"version": version, "results": results, "warnings": warnings}


def measure(directory, request, engine, fio_path, run_command, allow_buffered_fallback=False, mount_table="/proc/self/mountinfo"):
    """Measure sequential throughput in ``directory``; the test file is removed whatever happens.

    Returns the result dict (see the storage_throughput module's RETURN). Raises
    ThroughputError with a message for the user.
    """
    if not os.path.exists(directory):
        raise ThroughputError("path %s does not exist; create it first (the node roles prepare the cache and model directories)" % directory)
    if not os.path.isdir(directory):
        raise ThroughputError("path %s is not a directory; give the directory to test in" % directory)
    filesystem = filesystem_of(directory, mount_table)
    error = free_space_error(directory, request["size"], free_bytes_settled(directory, request["size"]))
    if error:
        raise ThroughputError(error)
    chosen = choose_engine(engine, fio_path)
    # No "path" key: AnsibleModule would add the directory's stat (and overwrite "size").
    result = {"directory": directory, "engine": chosen, "filesystem": filesystem, "size_bytes": request["size"],
              "block_size_bytes": request["block_size"], "direct": request["direct"], "direct_fallback": False,
              "warnings": []}
    if request["direct"]:
        try:
            probe_direct(directory)
        except DirectRefused as exc:
            message = direct_refused_message(directory, filesystem.get("fstype"), exc)
            if not allow_buffered_fallback:
                raise DirectRefused(message)
            request = dict(request, direct=False)
            result.update(direct=False, direct_fallback=True)
            result["warnings"].append(message.split(". Set ")[0] + "; measured with buffered I/O as allow_buffered_fallback=true permits.")
        except OSError as exc:
            raise ThroughputError("cannot create a test file in %s: %s" % (directory, exc.strerror or exc))
    try:
        fd, path = tempfile.mkstemp(prefix=TEST_FILE_PREFIX, suffix=".dat", dir=directory)
        os.close(fd)
    except OSError as exc:
        raise ThroughputError("cannot create a test file in %s: %s" % (directory, exc.strerror or exc))
    result["file"] = path
    start = time.perf_counter()
    try:
        if chosen == "fio":
            parsed = run_fio(run_command, fio_path, path, request)
            result["fio_version"] = parsed["version"]
            result.update(parsed["results"])
            result["warnings"].extend(parsed["warnings"])
        else:
            result.update(run_builtin(path, request))
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ThroughputError("%s ran out of space while writing the %d-byte test file; use a smaller size" % (directory, request["size"]))
        raise ThroughputError("I/O on %s failed: %s" % (path, exc.strerror or exc))
    finally:
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                result["warnings"].append("could not remove the test file %s: %s" % (path, exc.strerror))
    result["wall_seconds"] = round(time.perf_counter() - start, 6)
    return result
