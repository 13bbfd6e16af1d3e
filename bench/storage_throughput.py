#!/usr/bin/env python
"""Benchmark: storage_throughput's built-in engine against fio, side by side on one XFS-on-loop file.

Makes a loop device over a sparse image, formats it XFS, mounts it, and runs both engines on
the same directory through the same code path as the module (throughput_io.measure), with
the same block size, file size and direct I/O, alternating which engine goes first. Each
figure is the median over the rounds of builtin / fio within a round (the two runs of a round
share the machine's conditions; the ratio of the best runs is printed alongside):

  write MiB/s ratio   target 0.90 - 1.10
  read MiB/s ratio    target 0.90 - 1.10
  wall-time ratio     whole measurement incl. starting fio     target <= 1.25

Needs root (losetup, mkfs.xfs, mount) and fio; everything it creates is removed at the end.

    bench/storage_throughput.py [--size 1GiB] [--block-size 4MiB] [--rounds 9] [--backing-dir /dev/shm]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_collection():
    root = (os.environ.get("ANSIBLE_COLLECTIONS_PATH") or "").split(os.pathsep)[0]
    if not (root and os.path.isdir(os.path.join(root, "ansible_collections", "gpufleet", "cluster"))):
        root = tempfile.mkdtemp(prefix="gpufleet-bench-")
        os.makedirs(os.path.join(root, "ansible_collections", "gpufleet"))
        os.symlink(REPO, os.path.join(root, "ansible_collections", "gpufleet", "cluster"))
    sys.path.insert(0, root)


_import_collection()
from ansible_collections.gpufleet.cluster.plugins.module_utils.throughput import plan  # noqa: E402
from ansible_collections.gpufleet.cluster.plugins.module_utils.throughput_io import measure  # noqa: E402
from ansible_collections.gpufleet.cluster.plugins.module_utils.units import parse_size  # noqa: E402


def run_command(args):
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def sh(*args):
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
    return proc.stdout.strip()


class XfsOnLoop(object):
    """A fresh XFS filesystem on a loop device over a sparse image; removed on exit."""

    def __init__(self, backing_dir, image_bytes):
        self.backing_dir = backing_dir
        self.image_bytes = image_bytes
        self.image = self.device = self.mountpoint = None

    def __enter__(self):
        fd, self.image = tempfile.mkstemp(prefix="bench-xfs-", suffix=".img", dir=self.backing_dir)
        os.ftruncate(fd, self.image_bytes)
        os.close(fd)
        self.device = sh("losetup", "--find", "--show", self.image)
        sh("mkfs.xfs", "-q", "-f", self.device)
        self.mountpoint = tempfile.mkdtemp(prefix="bench-xfs-mnt-")
        sh("mount", "-t", "xfs", self.device, self.mountpoint)
        return self.mountpoint

    def __exit__(self, *exc):
        if self.mountpoint:
            subprocess.run(["umount", self.mountpoint], check=False)
            os.rmdir(self.mountpoint)
        if self.device:
            subprocess.run(["losetup", "--detach", self.device], check=False)
        if self.image:
            os.unlink(self.image)
        return False


def one_run(directory, request, engine, fio_path):
    start = time.perf_counter()
    result = measure(directory, request, engine, fio_path, run_command)
    wall = time.perf_counter() - start
    return {"write": result["write"]["mibps"], "read": result["read"]["mibps"], "wall": wall}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--block-size", default="4MiB")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--backing-dir", default="/dev/shm",
                        help="where the loop device's image lives; memory (the default) keeps disk writeback noise out "
                             "and makes engine overhead most visible")
    args = parser.parse_args()

    if os.geteuid() != 0:
        print("needs root for losetup, mkfs.xfs and mount: not measured", file=sys.stderr)
        return 1
    fio_path = shutil.which("fio")
    missing = [tool for tool in ("losetup", "mkfs.xfs", "mount") if not shutil.which(tool)]
    if not fio_path or missing:
        print("missing tools: %s: not measured" % ", ".join(missing + ([] if fio_path else ["fio"])), file=sys.stderr)
        return 1

    load_before = os.getloadavg()
    request = plan(args.size, args.block_size, True, "both")
    image_bytes = parse_size(args.size) + 512 * 1024**2
    runs = {"fio": [], "builtin": []}
    with XfsOnLoop(args.backing_dir, image_bytes) as directory:
        # One untimed pass each, so neither engine pays for first-touch of the fresh filesystem.
        for engine in ("fio", "builtin"):
            one_run(directory, request, engine, fio_path)
        for i in range(args.rounds):
            order = ("fio", "builtin") if i % 2 == 0 else ("builtin", "fio")
            for engine in order:
                runs[engine].append(one_run(directory, request, engine, fio_path))

    print("XFS on a loop device (image in %s), file %s, block %s, O_DIRECT, %d rounds, fio %s"
          % (args.backing_dir, args.size, args.block_size, args.rounds, sh(fio_path, "--version")))
    for engine in ("fio", "builtin"):
        print("  %-8s write MiB/s %s   read MiB/s %s   wall s %s" % (
            engine,
            " ".join("%7.0f" % r["write"] for r in runs[engine]),
            " ".join("%7.0f" % r["read"] for r in runs[engine]),
            " ".join("%5.2f" % r["wall"] for r in runs[engine])))

    def ratio(key):
        median = statistics.median(b[key] / f[key] for b, f in zip(runs["builtin"], runs["fio"]))
        best = min if key == "wall" else max
        return median, best(r[key] for r in runs["builtin"]) / best(r[key] for r in runs["fio"])

    (write_ratio, write_best), (read_ratio, read_best), (wall_ratio, wall_best) = ratio("write"), ratio("read"), ratio("wall")
    checks = [
        ("builtin / fio write MiB/s", write_ratio, write_best, 0.9 <= write_ratio <= 1.1, "0.90 - 1.10"),
        ("builtin / fio read MiB/s", read_ratio, read_best, 0.9 <= read_ratio <= 1.1, "0.90 - 1.10"),
        ("builtin / fio wall time", wall_ratio, wall_best, wall_ratio <= 1.25, "<= 1.25"),
    ]
    print("load average before: %s" % " ".join("%.2f" % x for x in load_before))
    for name, value, best, ok, target in checks:
        print("%-28s %.2fx (best runs %.2fx)   target %-12s %s"
              % (name + ":", value, best, target, "ok" if ok else "MISSED"))
    return 0 if all(check[3] for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
