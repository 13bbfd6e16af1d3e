"""Build and run tests/tools/affinity-oracle: Kubernetes' own node-affinity code as a judge.

The binary is built from the Go module proxy at the lab's Kubernetes version (the module pins
k8s.io/component-helpers, k8s.io/api and k8s.io/apimachinery; go.sum verifies them), with the
same Go settings lab/cluster.d/build.sh uses for the control plane, and cached under
$GPUFLEET_CACHE/tools/ keyed by the tool's source and Go's version: a warm run builds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
SOURCE = TOOLS / "affinity-oracle"
REPO = TOOLS.parent.parent
CACHE = Path(os.environ.get("GPUFLEET_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gpufleet")
_GO_CANDIDATES = ("/usr/local/go/bin/go",)


class OracleError(RuntimeError):
    """The oracle cannot be built or run; the message says why and what to do."""


def find_go():
    found = shutil.which("go")
    if found:
        return found
    for candidate in _GO_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    raise OracleError("Go not found (looked for 'go' on PATH and %s); it also builds the lab's control plane"
                      % ", ".join(_GO_CANDIDATES))


def k8s_version():
    """The lab's Kubernetes version (lab/cluster.d/versions.sh), e.g. v1.36.3."""
    text = (REPO / "lab" / "cluster.d" / "versions.sh").read_text()
    found = re.search(r'GPUFLEET_K8S_VERSION="\$\{GPUFLEET_K8S_VERSION:-(v[0-9.]+)\}"', text)
    if not found:
        raise OracleError("lab/cluster.d/versions.sh has no GPUFLEET_K8S_VERSION default")
    return found.group(1)


def source_hash():
    digest = hashlib.sha256()
    for path in sorted(SOURCE.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def go_env():
    env = dict(os.environ)
    env.update(GOMODCACHE=str(CACHE / "go" / "mod"), GOCACHE=str(CACHE / "go" / "build"),
               GOFLAGS="-buildvcs=false", CGO_ENABLED="0", GOTOOLCHAIN="local")
    return env


def binary():
    """Path of the oracle binary, built once per source and Go version."""
    go = find_go()
    env = go_env()
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True, env=env).stdout.strip()
    staging = "v0." + k8s_version()[len("v1."):]
    gomod = (SOURCE / "go.mod").read_text()
    for module in ("k8s.io/api", "k8s.io/apimachinery", "k8s.io/component-helpers"):
        if not re.search(r"^\s*(require\s+)?%s %s\b" % (re.escape(module), re.escape(staging)), gomod, re.M):
            raise OracleError("tests/tools/affinity-oracle/go.mod must require %s %s (the lab's Kubernetes %s); "
                              "update it with `go get %s@%s && go mod tidy`" % (module, staging, k8s_version(), module, staging))
    target = CACHE / "tools" / ("affinity-oracle-%s-%s" % (source_hash(), version))
    exe = target / "affinity-oracle"
    if exe.exists():
        return exe
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    proc = subprocess.run([go, "build", "-mod=readonly", "-trimpath", "-ldflags", "-s -w", "-o", str(partial / exe.name), "."],
                          cwd=str(SOURCE), env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise OracleError("building the affinity oracle failed (rc %d):\n%s" % (proc.returncode, proc.stderr[-4000:]))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return exe


def judge(exe, nodes, pvs, selectors=()):
    """Kubernetes' answer: {"pvs": {pv: [nodes]}, "selectors": {name: [nodes]}}."""
    doc = {"nodes": nodes, "pvs": pvs, "selectors": [{"name": n, "selector": s} for n, s in selectors]}
    proc = subprocess.run([str(exe)], input=json.dumps(doc), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise OracleError("affinity-oracle failed (rc %d): %s" % (proc.returncode, proc.stderr[-4000:]))
    return json.loads(proc.stdout)
