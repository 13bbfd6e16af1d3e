"""The images of the lab's real node (lab/images): pause, fio and standin, built locally with podman
and cached as docker-archives for `ctr images import` (nothing can be pulled here).

- lab/images builds or finds all three; a second call prints the same lines and builds nothing
  (no `podman build` or `podman save`, the same image IDs and archive files), and drops an older
  key's tag and archive;
- each key covers its own recipe only (a changed standin source changes the standin key alone);
- sizes: pause < 1 MB, fio < 100 MB, standin < 15 MB; refs localhost/gpufleet-<name>:<12 hex>,
  no `latest` tag;
- the containers do what the node's pods need: standin reports a read-only root, its uid and no
  capabilities and answers /health on the chart's queue port, stops on SIGTERM; its cat,
  probe-write and blockdev subcommands; fio runs the linstor role's benchmark Job command and
  its JSON reads back through the role's own parser; pause starts as 65535 and stops.

Needs root and podman (a loop device for blockdev): `scripts/test lab`.
"""

import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from ansible_collections.gpufleet.cluster.plugins.module_utils import linstor
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.linstor import objects as li_objects

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "lab" / "images"
NAMES = ["pause", "fio", "standin"]
REF = re.compile(r"^localhost/gpufleet-(pause|fio|standin):[0-9a-f]{12}$")
PREFIX = "gpufleet-images-test-%d" % os.getpid()
MAX_BYTES = {"pause": 1_000_000, "fio": 100_000_000, "standin": 15_000_000}

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("podman"), reason="needs root and podman")


def podman(*args, check=True, timeout=120):
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True, timeout=timeout)


def run_images(*args, env=None, script=IMAGES):
    start = time.monotonic()
    proc = subprocess.run([str(script), *args], check=False, capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    return proc, time.monotonic() - start


def parse(stdout):
    lines = [line.split("\t") for line in stdout.splitlines()]
    assert [line[0] for line in lines] == NAMES and all(len(line) == 3 for line in lines), stdout
    return {name: {"ref": ref, "archive": Path(archive)} for name, ref, archive in lines}


@pytest.fixture(scope="module")
def images():
    proc, took = run_images()
    print("\nlab/images (cold or cached) took %.1f s:\n%s" % (took, proc.stderr))
    return parse(proc.stdout)


def image_id(ref):
    return podman("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def inspect(ref):
    return json.loads(podman("image", "inspect", ref).stdout)[0]


def test_second_call_builds_nothing_and_drops_older_keys(images, tmp_path):
    before = {n: (image_id(i["ref"]), i["archive"].stat().st_mtime_ns, i["archive"].stat().st_ino) for n, i in images.items()}
    # An older recipe's leftovers: a tag and an archive of another key.
    old_ref = "localhost/gpufleet-pause:000000000000"
    podman("tag", images["pause"]["ref"], old_ref)
    old_archive = images["pause"]["archive"].with_name("pause-000000000000.tar")
    old_archive.write_bytes(b"stale")
    # Every podman call of the second run, through a logging shim first on PATH.
    calls = tmp_path / "podman-calls"
    shim = tmp_path / "bin" / "podman"
    shim.parent.mkdir()
    shim.write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\nexec %s "$@"\n' % (calls, shutil.which("podman")))
    shim.chmod(0o755)
    env = dict(os.environ, PATH="%s:%s" % (shim.parent, os.environ["PATH"]))
    proc, took = run_images(env=env)
    print("second lab/images: %.2f s" % took)
    assert parse(proc.stdout) == images
    for name, image in images.items():
        assert "%s: %s cached" % (name, image["ref"]) in proc.stderr, proc.stderr
    assert "building" not in proc.stderr, proc.stderr
    made = [c for c in calls.read_text().splitlines() if c.split()[0] in ("build", "save", "load", "commit")]
    assert made == [], made
    after = {n: (image_id(i["ref"]), i["archive"].stat().st_mtime_ns, i["archive"].stat().st_ino) for n, i in images.items()}
    assert after == before
    assert podman("image", "exists", old_ref, check=False).returncode == 1, "the older key's tag is still there"
    assert not old_archive.exists()


def test_env_names_the_same_refs(images):
    proc = run_images("--env")[0]
    assert proc.stdout.splitlines() == ["export GPUFLEET_IMAGE_%s=%s" % (n.upper(), images[n]["ref"]) for n in NAMES]


def test_refs_tags_and_sizes(images):
    for name, image in images.items():
        assert REF.match(image["ref"]) and image["ref"].startswith("localhost/gpufleet-%s:" % name), image["ref"]
        tags = podman("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=localhost/gpufleet-%s" % name).stdout.split()
        assert tags == [image["ref"]], tags
        info = inspect(image["ref"])
        assert not any(t.endswith(":latest") for t in info["RepoTags"]), info["RepoTags"]
        size, archive = info["Size"], image["archive"].stat().st_size
        print("%s: image %.2f MB, archive %.2f MB (%s)" % (name, size / 1e6, archive / 1e6, image["archive"]))
        assert 0 < size < MAX_BYTES[name] and 0 < archive < MAX_BYTES[name], (name, size, archive)
        assert image["archive"].name == "%s-%s.tar" % (name, image["ref"].rsplit(":", 1)[1])
    config = {n: inspect(images[n]["ref"])["Config"] for n in NAMES}
    assert config["pause"]["User"] == "65535:65535" and config["pause"]["Entrypoint"] == ["/pause"]
    assert config["standin"]["User"] == "65532:65532" and config["standin"]["Entrypoint"] == ["/standin"]


def test_archives_are_docker_archives_of_their_ref(images):
    for image in images.values():
        listing = subprocess.run(["tar", "-xOf", str(image["archive"]), "manifest.json"], check=True, capture_output=True, text=True).stdout
        assert json.loads(listing)[0]["RepoTags"] == [image["ref"]]


def test_keys_cover_their_own_recipe_only(images, tmp_path):
    """A copy of the recipe with the standin's source changed: only the standin key changes."""
    copy = tmp_path / "repo"
    for part in ["scripts/lib.sh", "requirements", "lab/images", "lab/cluster.d", "lab/images.d"]:
        src, dst = REPO / part, copy / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    keys = run_images("--keys", script=copy / "lab" / "images")[0].stdout
    assert keys == "".join("%s\t%s\n" % (n, images[n]["ref"]) for n in NAMES)
    with open(copy / "lab/images.d/standin/main.go", "a") as f:
        f.write("\n// changed\n")
    changed = dict(line.split("\t") for line in run_images("--keys", script=copy / "lab" / "images")[0].stdout.splitlines())
    assert changed["pause"] == images["pause"]["ref"] and changed["fio"] == images["fio"]["ref"]
    assert changed["standin"].strip() != images["standin"]["ref"]


def queue_port():
    values = yaml.safe_load((REPO / "roles/gpu_telemetry/files/gpu-telemetry/values.yaml").read_text())
    defaults = yaml.safe_load((REPO / "roles/gpu_telemetry/defaults/main.yml").read_text())
    assert values["queue"]["port"] == defaults["gpu_telemetry_queue_port"]
    return values["queue"]["port"]


def first_line(proc, timeout):
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        pytest.fail("no line from the container within %s s" % timeout)


def test_standin_serve_reports_the_container_and_answers_health(images):
    name = PREFIX + "-serve"
    port = queue_port()
    cmd = ["podman", "run", "--rm", "--name", name, "--read-only", "--user", "1000:1000", "--cap-drop", "ALL",
           "-p", "127.0.0.1::%d" % port, images["standin"]["ref"], "serve"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        report = json.loads(first_line(proc, 60))
        print("standin serve: %s" % report)
        assert report["uid"] == 1000 and report["gid"] == 1000, report
        assert report["root"]["ok"] is False and report["root"]["errno"] == "EROFS", report
        assert report["tmp"]["ok"] is True, report  # podman's tmpfs on /tmp with --read-only
        assert int(report["cap_eff"], 16) == 0, report
        assert report["seccomp"] == 2 and report["hostname"], report
        assert report["ports"] == [port]
        address = podman("port", name, str(port)).stdout.strip()
        for _attempt in range(50):
            try:
                with urllib.request.urlopen("http://%s/health" % address, timeout=5) as resp:
                    assert resp.status == 200 and resp.read() == b"ok"
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("no answer on http://%s/health" % address)
        start = time.monotonic()
        podman("stop", "-t", "20", name)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
        assert time.monotonic() - start < 10, "standin did not stop on SIGTERM"
    finally:
        proc.kill()
        podman("rm", "-f", "--ignore", name, check=False)


def standin(images, *args, options=()):
    return subprocess.run(["podman", "run", "--rm", *options, images["standin"]["ref"], *args],
                          check=False, capture_output=True, text=True, timeout=120)


def test_standin_cat_and_probe_write(images, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "config.json").write_text('{"model": "tiny"}\n')
    mount = ("-v", "%s:/models:ro" % models)
    done = standin(images, "cat", "/models/config.json", options=mount)
    assert done.returncode == 0 and done.stdout == '{"model": "tiny"}\n', done
    missing = standin(images, "cat", "/models/weights.bin", options=mount)
    assert missing.returncode == 1 and "/models/weights.bin: no such file or directory (ENOENT)" in missing.stderr, missing

    denied = standin(images, "probe-write", "/models/x", options=mount)
    assert denied.returncode == 0 and json.loads(denied.stdout) == {
        "path": "/models/x", "ok": False, "errno": "EROFS", "error": "open /models/x: read-only file system"}
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    as_other = standin(images, "probe-write", "/data/f", options=("--user", "1000", "-v", "%s:/data" % data))
    assert json.loads(as_other.stdout)["errno"] == "EACCES", as_other
    data.chmod(0o777)
    wrote = standin(images, "probe-write", "/data/f", options=("--user", "1000", "-v", "%s:/data" % data))
    assert json.loads(wrote.stdout)["ok"] is True and (data / "f").read_text() == "written by standin\n", wrote


def test_standin_blockdev(images, tmp_path):
    backing = tmp_path / "disk.img"
    content = bytes(range(256)) * 16 * 256  # 1 MiB
    backing.write_bytes(content)
    regular = standin(images, "blockdev", "/disk.img", options=("--user", "0", "-v", "%s:/disk.img:ro" % backing))
    assert regular.returncode == 1 and "not a block device" in regular.stderr, regular
    assert json.loads(regular.stdout)["is_block_device"] is False
    loop = subprocess.run(["losetup", "--find", "--show", "--read-only", str(backing)], check=True, capture_output=True, text=True).stdout.strip()
    try:
        done = standin(images, "blockdev", "/dev/gpufleet-test", options=("--user", "0", "--device", "%s:/dev/gpufleet-test" % loop))
        assert done.returncode == 0, done
        assert json.loads(done.stdout) == {"device": "/dev/gpufleet-test", "is_block_device": True, "size_bytes": len(content),
                                           "first_bytes_sha256": hashlib.sha256(content[:4096]).hexdigest(), "first_bytes_length": 4096}
    finally:
        subprocess.run(["losetup", "-d", loop], check=False)


def test_standin_go_unit_tests():
    go = shutil.which("go") or "/usr/local/go/bin/go"
    cache = Path(os.environ.get("GPUFLEET_CACHE") or Path.home() / ".cache" / "gpufleet")
    env = dict(os.environ, GOMODCACHE=str(cache / "go" / "mod"), GOCACHE=str(cache / "go" / "build"),
               GOFLAGS="-buildvcs=false", CGO_ENABLED="0", GOTOOLCHAIN="local")
    done = subprocess.run([go, "test", "./..."], cwd=REPO / "lab" / "images.d" / "standin", env=env,
                          check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_fio_version(images):
    done = podman("run", "--rm", images["fio"]["ref"], "fio", "--version")
    assert done.stdout.strip() == "fio-3.33"


def test_fio_runs_the_linstor_benchmark_job_command(images, tmp_path):
    """The container command of the role's own Job (objects.benchmark_job), at a small --size."""
    job = li_objects.benchmark_job({"fio_benchmark_pvc": {"name": "cache", "namespace": "default"}, "gpu_tolerations": [],
                                    "job_zones": [], "job_gpu_products": [], "fio_benchmark_image": images["fio"]["ref"],
                                    "fio_benchmark_size": "64M"})
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert "args" not in container and container["volumeMounts"] == [{"name": "cache", "mountPath": "/cache"}]
    cache = tmp_path / "cache"
    cache.mkdir()
    print("fio Job command: %s" % " ".join(container["command"]))
    done = podman("run", "--rm", "-v", "%s:/cache" % cache, container["image"], *container["command"], timeout=300)
    data = json.loads(done.stdout)
    read = data["jobs"][0]["read"]
    p99 = read["clat_ns"]["percentile"]["99.000000"]
    print("fio: bw %s KiB/s, iops %.1f, p99 clat %s ns" % (read["bw"], read["iops"], p99))
    assert data["jobs"][0]["error"] == 0 and read["io_bytes"] == 64 * 1024 * 1024
    assert read["bw"] > 0 and read["iops"] > 0 and p99 > 0
    parsed = linstor.fio_job_result(done.stdout, None)
    assert parsed["unavailable"] is None and parsed["result"]["fio_version"] == "fio-3.33", parsed


def test_pause_starts_as_65535_and_stops(images):
    name = PREFIX + "-pause"
    try:
        podman("run", "-d", "--name", name, "--user", "65535", images["pause"]["ref"])
        time.sleep(1)
        state = json.loads(podman("inspect", name).stdout)[0]["State"]
        assert state["Running"] is True, state
        podman("stop", "-t", "10", name, timeout=30)
        state = json.loads(podman("inspect", name).stdout)[0]["State"]
        assert state["Running"] is False and state["ExitCode"] == 0, state
    finally:
        podman("rm", "-f", "--ignore", name, check=False)
