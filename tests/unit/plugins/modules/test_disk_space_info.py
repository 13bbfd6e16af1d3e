"""disk_space_info run as Ansible runs it: a separate Python process reading its arguments
from a JSON file, against a mount table written to a temporary file and the real statvfs of
the test's temporary directory. No mocks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.gpufleet.cluster.plugins.modules import disk_space_info

MODULE = disk_space_info.__file__


def run_module(tmp_path, **args):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.run(
        [sys.executable, MODULE, str(args_file)], capture_output=True, text=True, env=env, check=False
    )
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def table(tmp_path):
    """A mount table in which the test's tmp_path is its own ext4 mount."""
    data = tmp_path / "data"
    data.mkdir()
    text = "22 1 0:21 / / rw - overlay overlay rw\n" "30 22 8:1 / %s rw,noatime - ext4 /dev/sdz1 rw\n" % data
    path = tmp_path / "mountinfo"
    path.write_text(text)
    return str(path), data


def test_argspec_matches_documentation():
    spec = disk_space_info.argspec()
    assert set(spec) == {"paths", "min_free_gb", "fail_on_violation", "mount_table"}
    assert spec["paths"]["required"] is True
    assert spec["min_free_gb"]["default"] == 0


def test_reports_mount_and_space_for_missing_path(tmp_path, table):
    mount_table, data = table
    missing = data / "models" / "llama"
    rc, result = run_module(tmp_path, paths=[str(missing)], mount_table=mount_table)
    assert rc == 0, result
    assert result["changed"] is False
    (record,) = result["paths"]
    assert record["exists"] is False
    assert record["is_symlink"] is False
    assert record["is_dir"] is False
    assert record["probed_path"] == str(data)
    assert record["mount_point"] == str(data)
    assert record["fstype"] == "ext4"
    assert record["source"] == "/dev/sdz1"
    assert record["mount_options"] == ["rw", "noatime"]
    st = os.statvfs(str(data))
    assert record["size_bytes"] == st.f_frsize * st.f_blocks
    assert result["violations"] == []


def test_resolves_symlinks_before_looking_up_the_mount(tmp_path, table):
    mount_table, data = table
    link = tmp_path / "link"
    link.symlink_to(data)
    rc, result = run_module(tmp_path, paths=[str(link)], mount_table=mount_table)
    assert rc == 0
    assert result["paths"][0]["resolved_path"] == str(data)
    assert result["paths"][0]["is_symlink"] is True
    assert result["paths"][0]["is_dir"] is True
    assert result["paths"][0]["mount_point"] == str(data)


def test_reports_every_symlinked_component_and_the_real_path(tmp_path, table):
    """A parent that is a link (a relative one here) is reported with its target, and the real
    path keeps the components that do not exist yet."""
    mount_table, data = table
    (tmp_path / "parent-link").symlink_to("data")
    path = tmp_path / "parent-link" / "new" / "dir"
    rc, result = run_module(tmp_path, paths=[str(path), str(data)], mount_table=mount_table)
    assert rc == 0
    linked, plain = result["paths"]
    assert linked["symlinks"] == [{"path": str(tmp_path / "parent-link"), "target": "data"}]
    assert linked["is_symlink"] is False and linked["exists"] is False
    assert linked["real_path"] == str(data / "new" / "dir")
    assert linked["mount_point"] == str(data)
    assert plain["symlinks"] == [] and plain["real_path"] == str(data)


def test_shortfall_is_reported_not_failed_by_default(tmp_path, table):
    mount_table, data = table
    rc, result = run_module(tmp_path, paths=[str(data)], min_free_gb=10**9, mount_table=mount_table)
    assert rc == 0
    assert result["paths"][0]["ok"] is False
    assert len(result["violations"]) == 1
    assert result["violations"][0].startswith("%s is on the filesystem mounted at %s (ext4, /dev/sdz1): " % (data, data))
    assert result["violations"][0].endswith("GB free, 1000000000.0 GB required")


def test_shortfall_fails_when_asked(tmp_path, table):
    mount_table, data = table
    rc, result = run_module(tmp_path, paths=[str(data)], min_free_gb=10**9, fail_on_violation=True, mount_table=mount_table)
    assert rc == 1
    assert result["failed"] is True
    assert "GB required" in result["msg"]


def test_relative_path_is_refused(tmp_path, table):
    mount_table = table[0]
    rc, result = run_module(tmp_path, paths=["raid/models"], mount_table=mount_table)
    assert rc == 1
    assert "is relative" in result["msg"]


def test_unreadable_mount_table(tmp_path):
    rc, result = run_module(tmp_path, paths=["/"], mount_table=str(tmp_path / "nope"))
    assert rc == 1
    assert "cannot read the mount table" in result["msg"]


def test_real_mount_table_finds_root(tmp_path):
    rc, result = run_module(tmp_path, paths=["/"])
    assert rc == 0
    assert result["paths"][0]["mount_point"] == "/"
