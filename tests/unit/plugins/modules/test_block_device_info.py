"""block_device_info run as Ansible runs it (a separate process with a JSON arguments file).
Block devices need root and loop devices, so here: the paths that are not block devices;
the lab and the xfs_cache molecule scenario run it on real loop devices."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

from ansible_collections.gpufleet.cluster.plugins.modules import block_device_info

MODULE = block_device_info.__file__


def run_module(tmp_path, **args):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.run([sys.executable, MODULE, str(args_file)], capture_output=True, text=True, env=env, check=False)
    return proc.returncode, json.loads(proc.stdout)


def test_argspec():
    assert set(block_device_info.argspec()) == {"device", "blank_check_bytes", "mount_table"}


def test_missing_device(tmp_path):
    rc, result = run_module(tmp_path, device=str(tmp_path / "nope"))
    assert rc == 0
    assert result["exists"] is False
    assert result["is_block"] is False
    assert result["changed"] is False
    assert result["holds"] == "nothing: the device does not exist"


def test_regular_file_is_not_a_block_device(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"\0" * 4096)
    rc, result = run_module(tmp_path, device=str(path))
    assert rc == 0
    assert result["exists"] is True
    assert result["is_block"] is False
    assert result["blank"] is False
