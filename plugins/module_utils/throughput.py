# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sequential throughput measurement: the decisions, with no I/O.

Validating a request, building fio's command line, reading fio's JSON, the built-in engine's
arithmetic, thresholds and the shape of the result. The I/O itself is in throughput_io.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.gpufleet.cluster.plugins.module_utils.units import (
    SizeError,
    format_bytes,
    parse_size,
)

MIB = 1024**2
# O_DIRECT needs buffer, offset and length aligned to the device's logical block size;
# 4 KiB covers 512-byte and 4K-native devices alike.
DIRECT_ALIGNMENT = 4096
OPERATIONS = ("write", "read")
OPERATION_CHOICES = ("both", "read", "write")
ENGINES = ("auto", "fio", "builtin")
# Reported fio completion-latency percentiles, keyed as fio keys them.
_PERCENTILES = (("p50", "50.000000"), ("p90", "90.000000"), ("p95", "95.000000"), ("p99", "99.000000"), ("p99_9", "99.900000"))


class ThroughputError(ValueError):
    """A request that cannot be measured, or a tool result that cannot be read."""


def operations_for(choice):
    """Phases to run, in order: a read needs the file, so writing always comes first."""
    if choice not in OPERATION_CHOICES:
        raise ThroughputError("operation=%r is not one of %s" % (choice, ", ".join(OPERATION_CHOICES)))
    return ["write", "read"] if choice == "both" else [choice]


def plan(size, block_size, direct, operation="both"):
    """Check sizes strictly; returns {"size", "block_size", "blocks", "operations", "direct"}."""
    try:
        size_bytes = parse_size(size, "size")
        bs_bytes = parse_size(block_size, "block_size")
    except SizeError as exc:
        raise ThroughputError(str(exc))
    if bs_bytes <= 0:
        raise ThroughputError("block_size=%r must be larger than 0" % (block_size,))
    if size_bytes < bs_bytes:
        raise ThroughputError("size=%r (%s) is smaller than block_size=%r (%s); the test needs at least one block"
                              % (size, format_bytes(size_bytes), block_size, format_bytes(bs_bytes)))
    if direct and bs_bytes % DIRECT_ALIGNMENT:
        raise ThroughputError("block_size=%r (%d bytes) is not a multiple of %d bytes, which direct I/O needs; use e.g. '4MiB' or '1MiB'"
                              % (block_size, bs_bytes, DIRECT_ALIGNMENT))
    if size_bytes % bs_bytes:
        raise ThroughputError("size=%r (%d bytes) is not a whole number of blocks of block_size=%r (%d bytes); use a multiple such as '%s'"
                              % (size, size_bytes, block_size, bs_bytes, format_bytes((size_bytes // bs_bytes + 1) * bs_bytes).replace(" ", "")))
    return {
        "size": size_bytes,
        "block_size": bs_bytes,
        "blocks": size_bytes // bs_bytes,
        "operations": operations_for(operation),
        "direct": bool(direct),
    }


def free_space_error(path, size_bytes, free_bytes):
    """A message when the test file would not fit, else None (also when free space is unknown)."""
    if free_bytes is not None and size_bytes > free_bytes:
        return ("%s has %s free but the test file needs %s (size); use a smaller size or free space first"
                % (path, format_bytes(free_bytes), format_bytes(size_bytes)))
    return None


def choose_engine(engine, fio_path):
    """'fio' or 'builtin' for the requested engine and the fio found (None when absent)."""
    if engine == "builtin":
        return "builtin"
    if engine == "fio":
        if not fio_path:
            raise ThroughputError("engine=fio but no fio executable was found on the host; install fio, set fio_path, or use engine=auto")
        return "fio"
    return "fio" if fio_path else "builtin"


def fio_command(fio_path, filename, request, operation):
    """fio's command line for one phase: the same sequential pattern as the built-in engine.

    Synchronous pread/pwrite with one I/O in flight (what the built-in engine does), no
    preallocation, the page cache of the file dropped first (``invalidate``), a write
    timed up to its fsync so buffered writes cannot finish in memory, and the same random
    block written every time: fio's default per-write ``scramble_buffers`` (which defeats
    deduplicating arrays) rewrites every sector of the buffer in memory, costing about 15%
    at memory speeds without telling anything about the storage. One fio process per
    phase: a read job in the same process would make fio lay the file out before the write
    job starts, so the write would overwrite allocated blocks instead of writing a new file.
    """
    args = [
        fio_path,
        "--output-format=json",
        "--name=%s" % operation,
        "--rw=%s" % operation,
        # fio reads ':' in a filename as a separator between files: escaped, the path is one file.
        "--filename=%s" % filename.replace(":", "\\:"),
        "--size=%d" % request["size"],
        "--bs=%d" % request["block_size"],
        "--direct=%d" % (1 if request["direct"] else 0),
        "--ioengine=psync",
        "--iodepth=1",
        "--numjobs=1",
        "--invalidate=1",
        "--fallocate=none",
        "--randrepeat=0",
        "--scramble_buffers=0",
    ]
    if operation == "write":
        args.append("--end_fsync=1")
    return args


def _json_start(text):
    start = text.find("{")
    if start < 0:
        raise ThroughputError("fio printed no JSON: %r" % text[:300])
    return text[start:]


def latency_us(clat):
    """fio completion latency (``clat_ns``) as microseconds: mean, min, max and percentiles."""
    if not clat:
        return {}
    out = {}
    for key in ("mean", "min", "max"):
        if key in clat:
            out[key] = round(float(clat[key]) / 1000.0, 3)
    percentiles = clat.get("percentile") or {}
    for name, key in _PERCENTILES:
        if key in percentiles:
            out[name] = round(float(percentiles[key]) / 1000.0, 3)
    return out


def parse_fio_json(text):
    """Per phase ('write', 'read'): bytes, seconds, MiB/s, IOPS and latency from fio's JSON."""
    try:
        data = json.loads(_json_start(text))
    except ValueError as exc:
        raise ThroughputError("cannot read fio's JSON output: %s" % exc)
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise ThroughputError("fio's JSON output has no jobs list")
    results = {}
    for job in data["jobs"]:
        name = job.get("jobname")
        if name not in OPERATIONS:
            continue
        if job.get("error"):
            raise ThroughputError("fio job %s failed with error %s" % (name, job["error"]))
        stats = job.get(name) or {}
        io_bytes = int(stats.get("io_bytes", 0))
        runtime_ms = float(stats.get("runtime", 0))
        if io_bytes <= 0 or runtime_ms <= 0:
            raise ThroughputError("fio job %s moved no data (io_bytes=%s, runtime=%s ms)" % (name, io_bytes, runtime_ms))
        # fio's own rate (bytes per second over its runtime) is the reference figure.
        seconds = runtime_ms / 1000.0
        ops = int(stats.get("total_ios") or round(io_bytes / float(stats.get("bs", 0) or 1)))
        result = shape(io_bytes, seconds, ops)
        if stats.get("bw_bytes"):
            result["mibps"] = round(float(stats["bw_bytes"]) / MIB, 2)
        if stats.get("iops"):
            result["iops"] = round(float(stats["iops"]), 2)
        result["latency_us"] = latency_us(stats.get("clat_ns"))
        results[name] = result
    return {"version": data.get("fio version"), "results": results}


def shape(num_bytes, seconds, ops):
    """The figures reported for one phase."""
    seconds = max(float(seconds), 1e-9)
    return {
        "bytes": int(num_bytes),
        "seconds": round(seconds, 6),
        "mibps": round(num_bytes / MIB / seconds, 2),
        "iops": round(ops / seconds, 2),
        "ops": int(ops),
    }


def threshold_violations(results, min_read_mibps=None, min_write_mibps=None):
    """Messages for every measured phase below its minimum."""
    violations = []
    for op, minimum in (("read", min_read_mibps), ("write", min_write_mibps)):
        if minimum is None or op not in results:
            continue
        got = results[op]["mibps"]
        if got < minimum:
            violations.append("%s throughput %.1f MiB/s is below min_%s_mibps=%s" % (op, got, op, minimum))
    return violations


def direct_refused_message(path, fstype, detail):
    fs = " (%s)" % fstype if fstype else ""
    return (
        "%s is on a filesystem%s that refuses O_DIRECT (%s), so direct I/O cannot be measured there. "
        "Set allow_buffered_fallback=true to measure buffered I/O instead (the page cache of the test file "
        "is dropped before reading, but memory-backed filesystems are measured as memory), or direct=false."
        % (path, fs, detail)
    )


def summary_line(result):
    """'/mnt/cache (xfs): write 1873.4 MiB/s, read 2950.2 MiB/s (fio, direct I/O)'."""
    fstype = (result.get("filesystem") or {}).get("fstype")
    phases = ", ".join("%s %.1f MiB/s" % (op, result[op]["mibps"]) for op in OPERATIONS if op in result)
    mode = "direct I/O" if result.get("direct") else "buffered I/O"
    return "%s%s: %s (%s, %s)" % (result["directory"], " (%s)" % fstype if fstype else "", phases, result["engine"], mode)
