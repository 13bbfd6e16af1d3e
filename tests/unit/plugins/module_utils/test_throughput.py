"""Throughput decisions: sizes, engine choice, fio command line and JSON, thresholds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.throughput import (
    ThroughputError,
    choose_engine,
    fio_command,
    free_space_error,
    latency_us,
    operations_for,
    parse_fio_json,
    plan,
    shape,
    summary_line,
    threshold_violations,
)

MIB = 1024**2


def test_plan_parses_sizes_strictly():
    request = plan("64MiB", "4MiB", True)
    assert request == {"size": 64 * MIB, "block_size": 4 * MIB, "blocks": 16, "operations": ["write", "read"], "direct": True}
    assert plan("1G", "1M", False, "read")["operations"] == ["read"]
    assert plan("512Mi", "512Ki", True, "write")["blocks"] == 1024


@pytest.mark.parametrize(
    "size, block_size, direct, expected",
    [
        ("10XB", "4MiB", True, "unknown unit 'XB'"),
        ("lots", "4MiB", True, "size='lots' is not a size"),
        ("1GiB", "-4MiB", True, "block_size='-4MiB' is not a size"),
        ("1GiB", "0", True, "block_size='0' must be larger than 0"),
        ("1MiB", "4MiB", True, "smaller than block_size"),
        ("1GiB", "1000", True, "not a multiple of 4096"),
        ("10MiB", "4MiB", True, "not a whole number of blocks"),
        ("4097", "4097", True, "not a multiple of 4096"),
    ],
)
def test_plan_rejects(size, block_size, direct, expected):
    with pytest.raises(ThroughputError) as exc:
        plan(size, block_size, direct)
    assert expected in str(exc.value)


def test_buffered_io_accepts_unaligned_blocks():
    assert plan("3000", "1000", False)["blocks"] == 3


def test_operations_for():
    assert operations_for("both") == ["write", "read"]
    assert operations_for("read") == ["read"]
    with pytest.raises(ThroughputError):
        operations_for("rw")


def test_free_space_error():
    assert free_space_error("/mnt/cache", 10, 10) is None
    assert free_space_error("/mnt/ramfs", 10, None) is None  # no free-space accounting
    message = free_space_error("/mnt/cache", 2 * 1024**3, 512 * MIB)
    assert "/mnt/cache has 512.0 MiB free but the test file needs 2.0 GiB" in message


@pytest.mark.parametrize(
    "engine, fio, expected",
    [("auto", "/usr/bin/fio", "fio"), ("auto", None, "builtin"), ("builtin", "/usr/bin/fio", "builtin"), ("fio", "/usr/bin/fio", "fio")],
)
def test_choose_engine(engine, fio, expected):
    assert choose_engine(engine, fio) == expected


def test_choose_engine_fio_required():
    with pytest.raises(ThroughputError) as exc:
        choose_engine("fio", None)
    assert "install fio" in str(exc.value)


def test_fio_command_matches_the_builtin_pattern():
    request = plan("64MiB", "4MiB", True)
    write = fio_command("/usr/bin/fio", "/mnt/cache/t.dat", request, "write")
    read = fio_command("/usr/bin/fio", "/mnt/cache/t.dat", request, "read")
    assert write[0] == "/usr/bin/fio"
    for args in (write, read):
        assert "--output-format=json" in args
        assert "--filename=/mnt/cache/t.dat" in args
        assert "--size=%d" % (64 * MIB) in args and "--bs=%d" % (4 * MIB) in args
        assert "--direct=1" in args and "--ioengine=psync" in args and "--iodepth=1" in args
        assert "--scramble_buffers=0" in args
    assert "--rw=write" in write and "--end_fsync=1" in write
    assert "--rw=read" in read and "--end_fsync=1" not in read
    assert "--direct=0" in fio_command("fio", "f", plan("8MiB", "4MiB", False), "read")


def _fio_job(name, io_bytes=64 * MIB, runtime=50, error=0):
    stats = {
        "io_bytes": io_bytes, "runtime": runtime, "bw_bytes": io_bytes * 1000 // runtime if runtime else 0,
        "iops": 320.0, "total_ios": 16,
        "clat_ns": {"min": 2000000, "max": 4500000, "mean": 3100000.5,
                    "percentile": {"1.000000": 2000000, "50.000000": 3000000, "90.000000": 4000000, "95.000000": 4200000,
                                   "99.000000": 4500000, "99.900000": 4500000}},
    }
    other = "read" if name == "write" else "write"
    return {"jobname": name, "error": error, name: stats, other: {"io_bytes": 0, "runtime": 0}}


def fio_output(*jobs, prefix=""):
    return prefix + json.dumps({"fio version": "fio-3.33", "jobs": list(jobs)})


def test_parse_fio_json():
    parsed = parse_fio_json(fio_output(_fio_job("write"), _fio_job("read", runtime=25)))
    assert parsed["version"] == "fio-3.33"
    write, read = parsed["results"]["write"], parsed["results"]["read"]
    assert write["bytes"] == 64 * MIB and write["seconds"] == 0.05 and write["mibps"] == 1280.0 and write["ops"] == 16
    assert read["mibps"] == 2560.0
    assert write["latency_us"] == {"mean": 3100.001, "min": 2000.0, "max": 4500.0, "p50": 3000.0, "p90": 4000.0,
                                   "p95": 4200.0, "p99": 4500.0, "p99_9": 4500.0}


def test_parse_fio_json_skips_warnings_before_the_json():
    parsed = parse_fio_json(fio_output(_fio_job("read"), prefix="fio: file hash not empty on exit\n"))
    assert list(parsed["results"]) == ["read"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("fio: looks like your file system does not support direct=1/buffered=0", "printed no JSON"),
        ("{not json", "cannot read fio's JSON"),
        (json.dumps({"fio version": "x"}), "no jobs list"),
        (fio_output(_fio_job("write", error=22)), "fio job write failed with error 22"),
        (fio_output(_fio_job("read", io_bytes=0)), "moved no data"),
    ],
)
def test_parse_fio_json_errors(text, expected):
    with pytest.raises(ThroughputError) as exc:
        parse_fio_json(text)
    assert expected in str(exc.value)


def test_latency_us_without_clat():
    assert latency_us(None) == {}


def test_shape():
    assert shape(4 * MIB, 0.5, 1) == {"bytes": 4 * MIB, "seconds": 0.5, "mibps": 8.0, "iops": 2.0, "ops": 1}
    assert shape(MIB, 0, 1)["mibps"] > 0  # never divides by zero


def test_threshold_violations():
    results = {"read": {"mibps": 900.0}, "write": {"mibps": 2000.0}}
    assert threshold_violations(results) == []
    assert threshold_violations(results, min_read_mibps=1000, min_write_mibps=1000) == [
        "read throughput 900.0 MiB/s is below min_read_mibps=1000"]
    assert threshold_violations({"write": {"mibps": 10.0}}, min_read_mibps=1000) == []  # read not measured


def test_summary_line():
    result = {"directory": "/mnt/cache", "filesystem": {"fstype": "xfs"}, "engine": "fio", "direct": True,
              "write": {"mibps": 1873.44}, "read": {"mibps": 2950.2}}
    assert summary_line(result) == "/mnt/cache (xfs): write 1873.4 MiB/s, read 2950.2 MiB/s (fio, direct I/O)"


def test_a_colon_in_the_path_is_escaped_for_fio():
    # fio reads ':' in --filename as a separator between files: '/data/a:/b' would make it write
    # /data/a and /b/t.dat. Escaped, it is the one file (test_throughput_io runs fio on such a path).
    args = fio_command("fio", "/data/a:/b/t.dat", plan("8MiB", "4MiB", True), "write")
    assert "--filename=/data/a\\:/b/t.dat" in args
