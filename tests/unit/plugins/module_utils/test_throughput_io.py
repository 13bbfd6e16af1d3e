"""The measurement on real directories: the host's disk, and a filesystem that refuses O_DIRECT.

Small files (8-16 MiB) keep this fast. No mocks: real files, real fio when installed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.throughput import ThroughputError, plan
from ansible_collections.gpufleet.cluster.plugins.module_utils.throughput_io import (
    TEST_FILE_PREFIX,
    DirectRefused,
    builtin_read,
    builtin_write,
    filesystem_of,
    measure,
    probe_direct,
    run_fio,
)

FIO = shutil.which("fio")
needs_fio = pytest.mark.skipif(not FIO, reason="fio is not installed")


def run_command(args):
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def leftovers(directory):
    return [n for n in os.listdir(directory) if n.startswith(TEST_FILE_PREFIX)]


def refuses_direct(directory):
    try:
        probe_direct(directory)
    except DirectRefused:
        return True
    return False


@pytest.fixture
def no_direct_dir(tmp_path):
    """A directory whose filesystem refuses O_DIRECT.

    tmpfs (/dev/shm) refused it before Linux 6.6 and is used when it still does; newer
    kernels accept O_DIRECT on tmpfs, so a ramfs (which never does) is mounted instead.
    """
    if os.path.isdir("/dev/shm") and refuses_direct("/dev/shm"):
        yield "/dev/shm"
        return
    if os.geteuid() != 0:
        pytest.skip("tmpfs accepts O_DIRECT on this kernel and mounting a ramfs needs root")
    mountpoint = tmp_path / "ramfs"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "ramfs", "-o", "size=64m", "ramfs", str(mountpoint)], check=True)
    try:
        assert refuses_direct(str(mountpoint))
        yield str(mountpoint)
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False)


REQUEST = plan("16MiB", "4MiB", True)


@pytest.mark.parametrize("engine", ["builtin", pytest.param("fio", marks=needs_fio)])
def test_measure_on_disk(tmp_path, engine):
    result = measure(str(tmp_path), REQUEST, engine, FIO, run_command)
    assert result["engine"] == engine
    assert result["direct"] is True and result["direct_fallback"] is False
    for op in ("write", "read"):
        assert result[op]["bytes"] == 16 * 1024**2
        assert result[op]["ops"] == 4
        assert result[op]["mibps"] > 0 and result[op]["iops"] > 0 and result[op]["seconds"] > 0
    assert ("latency_us" in result["read"]) == (engine == "fio")
    if engine == "fio":
        assert result["read"]["latency_us"]["p99"] > 0
        assert result["fio_version"].startswith("fio-")
    assert result["filesystem"]["mount_point"]
    assert not os.path.exists(result["file"])
    assert leftovers(str(tmp_path)) == []


@pytest.mark.parametrize("engine", ["builtin", pytest.param("fio", marks=needs_fio)])
@pytest.mark.parametrize("operation", ["read", "write"])
def test_one_phase(tmp_path, engine, operation):
    result = measure(str(tmp_path), plan("8MiB", "4MiB", True, operation), engine, FIO, run_command)
    assert operation in result
    assert ({"read", "write"} - {operation}).isdisjoint(result)
    assert leftovers(str(tmp_path)) == []


@pytest.mark.parametrize("engine", ["builtin", pytest.param("fio", marks=needs_fio)])
def test_direct_refused_is_a_clear_error(no_direct_dir, engine):
    with pytest.raises(DirectRefused) as exc:
        measure(no_direct_dir, REQUEST, engine, FIO, run_command)
    message = str(exc.value)
    assert "refuses O_DIRECT" in message and "allow_buffered_fallback=true" in message
    assert leftovers(no_direct_dir) == []


@pytest.mark.parametrize("engine", ["builtin", pytest.param("fio", marks=needs_fio)])
def test_buffered_fallback_when_allowed(no_direct_dir, engine):
    result = measure(no_direct_dir, REQUEST, engine, FIO, run_command, allow_buffered_fallback=True)
    assert result["direct"] is False and result["direct_fallback"] is True
    assert any("refuses O_DIRECT" in w for w in result["warnings"])
    assert result["read"]["bytes"] == 16 * 1024**2
    assert leftovers(no_direct_dir) == []


def test_buffered_request_on_no_direct_fs_needs_no_fallback(no_direct_dir):
    result = measure(no_direct_dir, plan("8MiB", "4MiB", False), "builtin", None, run_command)
    assert result["direct"] is False and result["direct_fallback"] is False and result["warnings"] == []


def test_missing_path(tmp_path):
    with pytest.raises(ThroughputError) as exc:
        measure(str(tmp_path / "nope"), REQUEST, "builtin", None, run_command)
    assert "does not exist" in str(exc.value)


def test_path_is_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ThroughputError) as exc:
        measure(str(path), REQUEST, "builtin", None, run_command)
    assert "not a directory" in str(exc.value)


def test_size_larger_than_free_space(tmp_path):
    stat = os.statvfs(str(tmp_path))
    # Twice the free space: other processes free and take space between this statvfs and
    # measure()'s own (a one-block margin made this test flaky on a busy machine).
    too_big = (2 * (stat.f_bavail * stat.f_frsize // (4 * 1024**2)) + 1) * 4 * 1024**2
    with pytest.raises(ThroughputError) as exc:
        measure(str(tmp_path), plan(too_big, "4MiB", True), "builtin", None, run_command)
    assert "free but the test file needs" in str(exc.value)
    assert leftovers(str(tmp_path)) == []


def test_test_file_is_removed_when_the_engine_fails(tmp_path):
    # `false` exits 1 like a crashing fio: the error is reported and the file still removed.
    with pytest.raises(ThroughputError) as exc:
        measure(str(tmp_path), REQUEST, "fio", shutil.which("false"), run_command)
    assert "fio (write phase) exited with 1" in str(exc.value)
    assert leftovers(str(tmp_path)) == []


def test_builtin_engine_reads_what_it_wrote(tmp_path):
    path = str(tmp_path / "data")
    request = plan("8MiB", "4MiB", True)
    assert builtin_write(path, request)["bytes"] == 8 * 1024**2
    assert os.path.getsize(path) == 8 * 1024**2
    assert builtin_read(path, request)["ops"] == 2
    # The data is not compressible zeros.
    with open(path, "rb") as handle:
        head = handle.read(4096)
    assert len(set(head)) > 100


def test_builtin_read_of_a_short_file_is_an_error(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"x" * 4096)
    with pytest.raises(ThroughputError) as exc:
        builtin_read(str(path), plan("8MiB", "4MiB", False))
    assert "expected %d" % (8 * 1024**2) in str(exc.value)


def test_filesystem_of_unreadable_table(tmp_path):
    assert filesystem_of(str(tmp_path), str(tmp_path / "no-mountinfo")) == {}
    assert filesystem_of("/")["mount_point"] == "/"


NO_JSON = "fio (write phase) exited with 0 but cannot read fio's JSON output: fio printed no JSON: ''; "
WRITE_JSON = json.dumps({"fio version": "fio-3.33", "jobs": [
    {"jobname": "write", "error": 0, "write": {"io_bytes": 8 * 1024 * 1024, "runtime": 10, "total_ios": 2}}]})


def replies(*outputs):
    """A run_command that answers each call with the next (rc, stdout, stderr), and the calls it got."""
    calls = []

    def run(args):
        calls.append(args)
        return outputs[len(calls) - 1]
    return run, calls


@pytest.mark.parametrize("stderr, expected", [
    ("", NO_JSON + "it wrote nothing on stderr"),
    ("fio: pid=12, got signal=9\n", NO_JSON + "its stderr: fio: pid=12, got signal=9"),
])
def test_fio_that_prints_nothing_twice_is_reported_with_the_phase_and_its_stderr(stderr, expected):
    """fio's exit status 0 and no output (seen once under the suite's load) is measured once more;
    twice is an error naming the phase and what fio wrote on stderr, the only trace of why."""
    run, calls = replies((0, "", stderr), (0, "", stderr))
    with pytest.raises(ThroughputError) as exc:
        run_fio(run, "/usr/bin/fio", "/nonexistent/file", plan("8MiB", "4MiB", True, "write"))
    assert str(exc.value) == expected
    assert len(calls) == 2 and calls[0] == calls[1]


def test_fio_that_prints_nothing_once_is_measured_again_and_says_so():
    run, calls = replies((0, "", ""), (0, WRITE_JSON, ""))
    parsed = run_fio(run, "/usr/bin/fio", "/nonexistent/file", plan("8MiB", "4MiB", True, "write"))
    assert len(calls) == 2
    assert parsed["results"]["write"]["bytes"] == 8 * 1024 * 1024
    assert parsed["warnings"] == [NO_JSON + "it wrote nothing on stderr; the phase was measured again"]


def test_fio_output_that_is_not_json_is_not_measured_again():
    run, calls = replies((0, "fio: something else\n", ""))
    with pytest.raises(ThroughputError) as exc:
        run_fio(run, "/usr/bin/fio", "/nonexistent/file", plan("8MiB", "4MiB", True, "write"))
    assert len(calls) == 1 and "printed no JSON: 'fio: something else" in str(exc.value)


@needs_fio
def test_fio_measures_in_a_directory_whose_name_has_a_colon(tmp_path):
    # fio splits --filename on ':' unless escaped: unescaped it would write tmp_path/a and b/...
    colon = tmp_path / "a:b"
    colon.mkdir()
    result = measure(str(colon), plan("8MiB", "4MiB", False), "fio", FIO, run_command)
    assert result["write"]["bytes"] == 8 * 1024**2 and os.path.dirname(result["file"]) == str(colon)
    assert sorted(os.listdir(str(tmp_path))) == ["a:b"] and leftovers(str(colon)) == []
