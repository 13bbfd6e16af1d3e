"""gpufleet.cluster.storage_throughput through ansible-playbook, on real directories.

A directory on the host's disk (pytest's tmp_path), and a filesystem that refuses O_DIRECT
(tmpfs where the kernel still refuses it, else a ramfs mounted for the test). 16 MiB files.
"""

import os
import shutil
import subprocess

import pytest

MODULE = "gpufleet.cluster.storage_throughput"
FIO = shutil.which("fio")
ENGINES = ["builtin", pytest.param("fio", marks=pytest.mark.skipif(not FIO, reason="fio is not installed"))]
SMALL = {"size": "16MiB", "block_size": "4MiB"}


def leftovers(directory):
    return [n for n in os.listdir(directory) if n.startswith(".gpufleet-throughput-")]


def _refuses_direct(directory):
    probe = os.path.join(directory, ".gpufleet-odirect-probe")
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o600)
        os.close(fd)
        return False
    except OSError:
        return True
    finally:
        if os.path.exists(probe):
            os.unlink(probe)


@pytest.fixture
def no_direct_dir(tmp_path):
    if os.path.isdir("/dev/shm") and _refuses_direct("/dev/shm"):
        yield "/dev/shm"
        return
    if os.geteuid() != 0:
        pytest.skip("tmpfs accepts O_DIRECT on this kernel and mounting a ramfs needs root")
    mountpoint = tmp_path / "ramfs"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "ramfs", "ramfs", str(mountpoint)], check=True)
    try:
        yield str(mountpoint)
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_measures_on_disk(run_module, tmp_path, engine):
    result = run_module(MODULE, dict(SMALL, path=str(tmp_path), engine=engine))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and result["measured"] is True
    assert result["engine"] == engine and result["direct"] is True and result["direct_fallback"] is False
    for phase in ("write", "read"):
        figures = result[phase]
        assert figures["bytes"] == 16 * 1024**2 and figures["ops"] == 4
        assert figures["mibps"] > 0 and figures["iops"] > 0 and figures["seconds"] > 0
    if engine == "fio":
        assert set(result["read"]["latency_us"]) >= {"p50", "p99", "p99_9", "mean"}
        assert result["fio_version"].startswith("fio-")
    else:
        assert "latency_us" not in result["read"]
    assert result["size_bytes"] == 16 * 1024**2 and result["block_size_bytes"] == 4 * 1024**2
    assert result["msg"].startswith(str(tmp_path))
    assert result["violations"] == []
    assert leftovers(str(tmp_path)) == []


def test_check_mode_does_no_io(run_module, tmp_path):
    result = run_module(MODULE, dict(SMALL, path=str(tmp_path)), check=True)
    assert not result.get("failed") and result["changed"] is False
    assert result["measured"] is False
    assert result["msg"].startswith("check mode: no I/O was done")
    assert "read" not in result and "write" not in result
    assert os.listdir(str(tmp_path)) == [p for p in os.listdir(str(tmp_path)) if p in ("playbook.yml", "result.json")]


def test_check_mode_still_validates(run_module, tmp_path):
    result = run_module(MODULE, {"path": str(tmp_path), "size": "10XB"}, check=True)
    assert result["failed"] is True and "unknown unit 'XB'" in result["msg"]


@pytest.mark.parametrize("engine", ENGINES)
def test_direct_refused_fails_clearly(run_module, no_direct_dir, engine):
    result = run_module(MODULE, dict(SMALL, path=no_direct_dir, engine=engine))
    assert result["failed"] is True
    assert "refuses O_DIRECT" in result["msg"] and "allow_buffered_fallback=true" in result["msg"]
    assert leftovers(no_direct_dir) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_buffered_fallback_when_allowed(run_module, no_direct_dir, engine):
    result = run_module(MODULE, dict(SMALL, path=no_direct_dir, engine=engine, allow_buffered_fallback=True))
    assert not result.get("failed"), result.get("msg")
    assert result["direct"] is False and result["direct_fallback"] is True
    assert any("refuses O_DIRECT" in w for w in result.get("warnings", []))
    assert "buffered I/O" in result["msg"]
    assert leftovers(no_direct_dir) == []


@pytest.mark.parametrize(
    "args, expected",
    [
        ({"size": "10XB"}, "size='10XB' has an unknown unit 'XB'"),
        ({"block_size": "4MB"}, "not a multiple of 4096"),
        ({"size": "10MiB"}, "not a whole number of blocks"),
        ({"size": "1MiB"}, "smaller than block_size"),
    ],
)
def test_bad_sizes(run_module, tmp_path, args, expected):
    result = run_module(MODULE, dict(args, path=str(tmp_path)))
    assert result["failed"] is True and expected in result["msg"]


def test_missing_path(run_module, tmp_path):
    result = run_module(MODULE, dict(SMALL, path=str(tmp_path / "raid" / "models")))
    assert result["failed"] is True and "does not exist" in result["msg"]


def test_size_larger_than_free_space(run_module, tmp_path):
    # Twice the free space: other processes on the machine free and take space between this
    # statvfs and the module's own (a margin of one block made this test flaky under load).
    stat = os.statvfs(str(tmp_path))
    blocks = 2 * (stat.f_bavail * stat.f_frsize // (4 * 1024**2)) + 1
    result = run_module(MODULE, {"path": str(tmp_path), "size": "%dMiB" % (blocks * 4)})
    assert result["failed"] is True and "free but the test file needs" in result["msg"]
    assert leftovers(str(tmp_path)) == []


def test_fio_engine_without_fio(run_module, tmp_path):
    result = run_module(MODULE, dict(SMALL, path=str(tmp_path), engine="fio", fio_path=str(tmp_path / "no-fio")))
    assert result["failed"] is True and "not an executable" in result["msg"]


@pytest.mark.parametrize("fail_on_violation", [False, True])
def test_thresholds(run_module, tmp_path, fail_on_violation):
    result = run_module(MODULE, dict(SMALL, path=str(tmp_path), engine="builtin", min_read_mibps=10**9,
                                     min_write_mibps=0.001, fail_on_violation=fail_on_violation))
    assert bool(result.get("failed")) is fail_on_violation
    assert len(result["violations"]) == 1 and "below min_read_mibps=" in result["violations"][0]
    assert result["read"]["mibps"] > 0  # the figures come back either way
    assert leftovers(str(tmp_path)) == []


@pytest.mark.parametrize("operation", ["read", "write"])
def test_one_phase(run_module, tmp_path, operation):
    result = run_module(MODULE, dict(SMALL, path=str(tmp_path), operation=operation))
    assert operation in result and ({"read", "write"} - {operation}).isdisjoint(result)
