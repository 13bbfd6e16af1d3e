"""Helpers shared by the integration tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
from kubernetes import client as k8s_client
from kubernetes.client.rest import ApiException

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / "lab" / "cluster"
CHARTS = REPO / "tests" / "charts"
RECAP = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def stage_charts(dest, *names):
    """Stage the local stand-in charts (with the upstream CRDs from ../shared) into dest."""
    subprocess.run([sys.executable, str(CHARTS / "stage"), str(dest), *names], check=True, capture_output=True)
    return dest


def ansible_bin(name):
    """An ansible command from the interpreter's venv when it is there, else from PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


class Run:
    """An ansible-playbook run on localhost: its output and the recap's counts."""

    def __init__(self, proc):
        self.proc = proc
        self.out = proc.stdout + proc.stderr
        match = RECAP.search(proc.stdout)
        self.changed = int(match.group(2)) if match else None
        self.failed = int(match.group(4)) if match else None

    @property
    def rc(self):
        return self.proc.returncode


def contains_unpruned(sent, got, path="spec"):
    """Every field sent is still there, unchanged: nothing pruned by the real schema."""
    if isinstance(sent, dict):
        assert isinstance(got, dict), "%s: %r became %r" % (path, sent, got)
        for key, value in sent.items():
            assert key in got, "%s.%s was pruned by the CRD schema" % (path, key)
            contains_unpruned(value, got[key], "%s.%s" % (path, key))
    elif isinstance(sent, list):
        assert isinstance(got, list) and len(got) == len(sent), "%s: %r became %r" % (path, sent, got)
        for index, (a, b) in enumerate(zip(sent, got)):
            contains_unpruned(a, b, "%s[%d]" % (path, index))
    else:
        assert sent == got, "%s: %r became %r" % (path, sent, got)


def play(cluster, extra, playbook, args=(), timeout=600, popen=False):
    """Run playbook on localhost against the cluster with extra vars; Run (or the Popen)."""
    cmd = [ansible_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
           "-e", json.dumps({"ansible_python_interpreter": sys.executable, **extra}), *args]
    env = {**os.environ, **cluster.env, "ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0"}
    if popen:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return Run(subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False))


def run_cluster(*args: str, env: dict | None = None, timeout: float = 7200):
    """Run lab/cluster with the given arguments; return the CompletedProcess."""
    return subprocess.run(
        [str(CLUSTER_SCRIPT), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(
    predicate: Callable[[], object],
    timeout: float = 60,
    interval: float = 0.5,
    what: str | Callable[[], str] = "",
):
    """Poll predicate until it returns something truthy; return that value or fail.

    what names the awaited state in the failure; a callable is called at the time of failure
    (to show the state reached).
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except ApiException as exc:
            last_error = exc
            value = None
        if value:
            return value
        time.sleep(interval)
    if callable(what):
        what = what()
    pytest.fail(
        f"timed out after {timeout} s waiting for {what or predicate}"
        + (f" (last error: {last_error})" if last_error else "")
    )


# What the control plane itself keeps writing, so never evidence of a role's change: events, the
# leader-election and node-heartbeat leases; a Node is compared by what a role could change on it.
_VOLATILE = {"Event", "Lease"}


_DISCOVERED = {}


def _listable(cluster):
    """Every kind the API server lists (no subresources), each group at its preferred version.
    Discovery is read again only when the set of CRDs changed (tests add and remove them)."""
    from kubernetes.dynamic import DynamicClient  # pylint: disable=import-outside-toplevel

    crds = tuple(sorted(c.metadata.name for c in k8s_client.ApiextensionsV1Api(cluster.api)
                        .list_custom_resource_definition().items))
    key = (id(cluster.api), crds)
    if key in _DISCOVERED:
        return _DISCOVERED[key]
    dyn = DynamicClient(cluster.api)
    dyn.resources.invalidate_cache()  # discovery is cached on disk: CRDs come and go between tests
    found = {}
    for resource in dyn.resources.search():
        name = getattr(resource, "name", None)
        if not name or "/" in name or "list" not in (resource.verbs or []) or resource.kind in _VOLATILE:
            continue
        if resource.kind.endswith("List") or not resource.group_version:
            continue
        preferred = resource.preferred if hasattr(resource, "preferred") else True
        kind = (resource.group, resource.kind)
        if kind not in found or preferred:
            found[kind] = resource
    _DISCOVERED.clear()
    _DISCOVERED[key] = list(found.values())
    return _DISCOVERED[key]


def _items(cluster, resource):
    """The list of one kind across all namespaces, read raw (no model objects: a snapshot is about
    a hundred of these)."""
    response = resource.client.request("get", resource.path(), serialize=False)
    return json.loads(response.data.decode("utf-8")).get("items") or []


def cluster_objects(cluster, namespaces):
    """Every object in ``namespaces`` and every cluster-scoped object, as
    {(kind, namespace, name): resourceVersion} (a Node: its labels, annotations a role could set,
    taints and unschedulable). Helm's revisions are Secrets in the release's namespace, so they are
    in it too. Two snapshots are equal when nothing was created, changed or deleted."""
    namespaces = set(namespaces)
    found = {}
    for resource in _listable(cluster):
        try:
            items = _items(cluster, resource)
        except ApiException as exc:
            if exc.status != 404:  # a custom resource whose CRD went away meanwhile
                raise
            continue
        for item in items:
            meta = item.get("metadata") or {}
            namespace = meta.get("namespace")
            if resource.namespaced and namespace not in namespaces:
                continue
            if (meta.get("labels") or {}).get("kube-aggregator.kubernetes.io/automanaged"):
                # The API server's own mirror of a CRD's group (or a built-in one): made and removed
                # by its autoregister controller some time after the CRD comes or goes, so an earlier
                # test's CRD deletion can land in the middle of a run. The CRDs themselves are compared.
                continue
            key = ("%s/%s" % (resource.group or "core", resource.kind), namespace or "", meta.get("name"))
            if resource.kind == "Node":
                spec = item.get("spec") or {}
                found[key] = json.dumps([meta.get("labels"), spec.get("taints"), spec.get("unschedulable")],
                                        sort_keys=True)
            else:
                found[key] = meta.get("resourceVersion")
            if meta.get("deletionTimestamp"):
                found[key] = "%s %s" % (found[key], DELETING)
    return found


DELETING = "(being deleted)"


def settled_objects(cluster, namespaces, timeout=30):
    """cluster_objects once two snapshots a second apart agree: what an earlier test set off (a
    claim being bound, a controller's status write) has finished. Objects already being deleted
    are not waited for (a Bound volume with its protection finalizer stays so for as long as its
    claim lives); assert_nothing_changed leaves them out."""
    started = time.monotonic()
    before = cluster_objects(cluster, namespaces)
    while True:
        time.sleep(1)
        now = cluster_objects(cluster, namespaces)
        waited = time.monotonic() - started
        # A namespace being deleted takes its claims, and so its volumes' phases, with it: given
        # 20 s to finish, that cascade does not land in the middle of the run.
        emptying = any(k[0] == "core/Namespace" and str(v).endswith(DELETING) for k, v in now.items())
        if (now == before and (not emptying or waited > 20)) or waited > timeout:
            return now
        before = now


def assert_nothing_changed(before, after):
    """Name every object created, deleted or changed between two cluster_objects snapshots. An
    object that was already being deleted before (an earlier test's namespace, a volume waiting for
    its claim) is not the run's doing, whatever happens to it meanwhile."""
    leaving = set(k for k, v in before.items() if str(v).endswith(DELETING))
    before = dict((k, v) for k, v in before.items() if k not in leaving)
    after = dict((k, v) for k, v in after.items() if k not in leaving)
    created = sorted(set(after) - set(before))
    deleted = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    assert not (created or deleted or changed), "created %s, deleted %s, changed %s" % (created, deleted, changed)


def config_maps_holding(cluster, text):
    """namespace/name of every ConfigMap of the cluster whose data holds text."""
    found = []
    for item in cluster.core.list_config_map_for_all_namespaces().items:
        data = dict(item.data or {}, **dict((k, str(v)) for k, v in (item.binary_data or {}).items()))
        if any(text in str(value) for value in data.values()):
            found.append("%s/%s" % (item.metadata.namespace, item.metadata.name))
    return sorted(found)


def helm_records_holding(cluster, text):
    """namespace/name of every Helm release record (Secrets of type helm.sh/release.v1) whose decoded
    release (values, manifest, notes, hooks) holds text."""
    found = []
    for item in cluster.core.list_secret_for_all_namespaces(field_selector="type=helm.sh/release.v1").items:
        record = base64.b64decode(base64.b64decode((item.data or {}).get("release", "")))
        if record[:2] == b"\x1f\x8b":
            record = gzip.decompress(record)
        if text in record.decode("utf-8", "replace"):
            found.append("%s/%s" % (item.metadata.namespace, item.metadata.name))
    return sorted(found)


def rollout_diagnosis(cluster, namespace, log_lines=12):
    """What the controllers did in a namespace, for a failure message: each ReplicaSet's and
    StatefulSet's wanted, existing and ready pods, each pod's phase and node, the namespace's last
    Events (scaled, created, failed to create) and the controller-manager's and kwok's last log
    lines that name the namespace (a rollout that stalls in the lab says here whether pods were
    never created, never scheduled or never Ready)."""
    apps = k8s_client.AppsV1Api(cluster.api)
    lines = []
    try:
        for rs in apps.list_namespaced_replica_set(namespace).items:
            s = rs.status
            lines.append("RS %s want %s have %s ready %s avail %s gen %s/%s" % (
                rs.metadata.name, rs.spec.replicas, s.replicas, s.ready_replicas, s.available_replicas,
                s.observed_generation, rs.metadata.generation))
        for sts in apps.list_namespaced_stateful_set(namespace).items:
            s = sts.status
            lines.append("STS %s want %s have %s ready %s updated %s" % (
                sts.metadata.name, sts.spec.replicas, s.replicas, s.ready_replicas, s.updated_replicas))
        for pod in cluster.core.list_namespaced_pod(namespace).items:
            ready = [c.status for c in pod.status.conditions or [] if c.type == "Ready"]
            lines.append("pod %s %s node %s ready %s%s" % (
                pod.metadata.name, pod.status.phase, pod.spec.node_name, ready,
                " deleting" if pod.metadata.deletion_timestamp else ""))
        events = sorted(cluster.core.list_namespaced_event(namespace).items,
                        key=lambda e: str(e.last_timestamp or e.event_time or e.metadata.creation_timestamp))
        for event in events[-log_lines:]:
            lines.append("event %s %s/%s %s x%s: %s" % (
                event.last_timestamp or event.event_time, event.involved_object.kind, event.involved_object.name,
                event.reason, event.count, (event.message or "")[:200]))
    except ApiException as exc:
        lines.append("reading the namespace failed: %s" % exc.reason)
    for component in ("kube-controller-manager", "kwok"):
        log = cluster.state_dir / "logs" / ("%s.log" % component)
        try:
            named = [line.strip() for line in log.read_text(errors="replace").splitlines() if namespace in line]
        except OSError:
            continue
        lines.extend("%s: %s" % (component, _log_line(line)) for line in named[-log_lines:])
    return " || ".join(lines)


def _log_line(line):
    """A log line, kwok's JSON without its source location, at most 300 characters."""
    try:
        record = json.loads(line)
    except ValueError:
        return line[:300]
    record.pop("source", None)
    record.pop("id", None)
    return " ".join("%s=%s" % item for item in record.items())[:300]
