# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""In-pod fio figures next to the host-side figures of the same filesystem, for the validation report.

A cluster layer's report section may carry ``benchmarks``: fio runs inside a pod against a claim
(the linstor role's seed Job). ``compare(benchmark, claims, throughput, cluster)`` finds the
host-side read figure storage_validation measured on the pod's node for the same filesystem: the
claim's PersistentVolume is a ``local`` or ``hostPath`` volume (module_utils.cluster_state's
``volume_path``), and the measured directory whose path is the longest prefix of that path is on
it. The ratio is in-pod / host-side. Where there is no host-side figure, ``host_missing`` says
why, in words the report's cells show; nothing is estimated. ``table(title, comparisons)`` is the
report's table. Pure: no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

COLUMNS = ["Job", "Claim", "Node", "Completed", "Read MiB/s", "Read IOPS", "Read p99 (ms)", "Host-side read MiB/s",
           "In-pod / host ratio", "Result"]
# What a section's benchmark entry holds (check_entry), and the types of its figures.
REQUIRED = ("title", "job", "claim", "node")
FIGURES = ("read_mibps", "read_iops", "read_p99_ms")


def check_entry(entry):
    """What is wrong with one ``benchmarks`` entry of a report section: a list of messages."""
    if not isinstance(entry, dict):
        return ["a benchmark must be a dict, not %s" % type(entry).__name__]
    errors = ["a benchmark needs a string %r: %r" % (key, entry.get(key)) for key in REQUIRED
              if not isinstance(entry.get(key), str)]
    errors += ["a benchmark's %s must be a number or null: %r" % (key, entry.get(key)) for key in FIGURES
               if entry.get(key) is not None and (isinstance(entry.get(key), bool)
                                                  or not isinstance(entry.get(key), (int, float)))]
    return errors


def on_path(directory, path):
    """Whether ``path`` is ``directory`` or inside it (by whole path components)."""
    directory = (directory or "").rstrip("/") or "/"
    if not path or not path.startswith("/"):
        return False
    return path == directory or directory == "/" or path.startswith(directory + "/")


def host_figure(node, path, throughput):
    """The throughput figure of ``node`` for the filesystem holding ``path``: the measured directory
    with the longest path that is a prefix of ``path`` (``None`` when none is)."""
    candidates = [t for t in throughput or [] if t.get("host") == node and on_path(t.get("directory"), path)]
    if not candidates:
        return None
    return max(candidates, key=lambda t: len((t.get("directory") or "").rstrip("/")))


def _claim(claims, name):
    namespace, _sep, claim = (name or "").partition("/")
    return next((c for c in claims or [] if (c.get("namespace"), c.get("name")) == (namespace, claim)), None)


def _host_side(benchmark, claims, throughput, cluster):
    """(claim, host figure or None, why there is none)."""
    node = benchmark.get("node") or ""
    if not node:
        return None, None, "no host-side figure: the Job's pod was not scheduled to a node"
    if not cluster or cluster.get("read") is None:
        return None, None, ("no host-side figure for %s: the claim's volume was not read "
                            "(validation_report_read_cluster is off)" % node)
    if not cluster.get("read"):
        return None, None, "no host-side figure for %s: the cluster could not be read" % node
    claim = _claim(claims, benchmark.get("claim"))
    if claim is None:
        return None, None, "no host-side figure for %s: claim %s was not found" % (node, benchmark.get("claim"))
    if not claim.get("volume"):
        return claim, None, "no host-side figure for %s: claim %s is %s, bound to no volume" % (
            node, benchmark.get("claim"), claim.get("phase") or "not bound")
    if not claim.get("volume_found"):
        return claim, None, "no host-side figure for %s: volume %s was not found" % (node, claim["volume"])
    path = claim.get("volume_path") or ""
    if not path:
        return claim, None, "no host-side figure for %s: volume %s is a %s volume, not a directory on the node" % (
            node, claim["volume"], claim.get("volume_source") or "non-host-path")
    figure = host_figure(node, path, throughput)
    if figure is None:
        measured = sorted(t.get("directory") for t in throughput or [] if t.get("host") == node)
        return claim, None, "no host-side figure for %s:%s (%s)" % (
            node, path, "storage_validation measured %s there, none holding it" % ", ".join(measured) if measured
            else "storage_validation did not measure %s" % node)
    if not figure.get("measured") or figure.get("read_mibps") is None:
        return claim, figure, "no host-side figure for %s:%s (%s was not measured)" % (node, path, figure.get("directory"))
    return claim, figure, None


def compare(benchmark, claims, throughput, cluster):
    """One benchmark with the host-side read figure of its filesystem and the in-pod / host ratio.

    ``benchmark``: a section's ``benchmarks`` entry (``job``, ``claim``, ``node``, ``completed``,
    ``read_mibps``, ``read_iops``, ``read_p99_ms``, ``unavailable``); ``claims``: the report's
    ``cluster.claims``; ``throughput``: the report's ``figures.throughput``; ``cluster``: the
    report's ``cluster`` part (whether it was read).
    """
    claim, figure, missing = _host_side(benchmark, claims, throughput, cluster)
    in_pod = benchmark.get("read_mibps")
    host = figure.get("read_mibps") if figure and not missing else None
    ratio = round(float(in_pod) / host, 2) if in_pod is not None and host else None
    out = dict((k, benchmark.get(k)) for k in ("job", "claim", "node", "read_mibps", "read_iops", "read_p99_ms"))
    out.update({
        "completed": bool(benchmark.get("completed")),
        "latency_source": benchmark.get("latency_source"),
        "unavailable": benchmark.get("unavailable"),
        "volume": (claim or {}).get("volume") or "",
        "volume_path": (claim or {}).get("volume_path") or "",
        "host_directory": figure.get("directory") if figure and not missing else None,
        "host_read_mibps": host,
        "host_missing": missing,
        "ratio": ratio,
    })
    return out


def _number(value, missing):
    return value if value is not None else missing


def row(comparison):
    """The comparison's row of the report's table (COLUMNS)."""
    c = comparison
    measured = c["read_mibps"] is not None
    in_pod_missing = "" if not measured else "not reported by fio"
    if c["host_missing"]:
        host, ratio = c["host_missing"], c["host_missing"]
    else:
        host = c["host_read_mibps"]
        ratio = "%.2f" % c["ratio"] if c["ratio"] is not None else "no in-pod figure"
    return [c["job"], c["claim"], c["node"], "yes" if c["completed"] else "no", _number(c["read_mibps"], ""),
            _number(c["read_iops"], in_pod_missing), _number(c["read_p99_ms"], in_pod_missing), host, ratio,
            "measured" if measured else "unavailable: %s" % (c["unavailable"] or "no result")]


def table(title, comparisons):
    """The report's table of benchmarks (a section table: title, columns, rows)."""
    return {"title": title, "columns": list(COLUMNS), "rows": [row(c) for c in comparisons]}
