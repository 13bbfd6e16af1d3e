# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validation report's structured form, built from what the validation roles registered.

``build_report(placement, nodes, generated)`` turns the registered results of
pv_affinity_info (``placement``) and, per GPU node, of storage_throughput (a loop) and
disk_space_info (``nodes``) into one dict: a status, counts per severity, a flat list of
node-side problems, and the cleaned-up results. The JSON report is this dict; the HTML
report renders it. Pure: no I/O.

The cluster layers (storage, TensorFusion, telemetry, model storage) each add a *section*
(``sections``): what the layer deployed, as tables of rows, plus the layer's own problems and
notes. A section is a dict::

    {"name": "storage", "title": "LINSTOR storage",
     "tables": [{"title": "StorageClasses", "columns": ["Name", "Pool"], "rows": [["a", "b"]]}],
     "problems": [{"severity": "warning", "subject": "pvc x", "message": "..."}],
     "notes": ["No LINSTOR controller runs in the lab ..."]}

A section may also carry ``benchmarks``: fio runs in a pod against a claim, each ``{"title",
"job", "claim", "node", "completed", "read_mibps", "read_iops", "read_p99_ms", "latency_source",
"unavailable"}``. The report lays each next to the host-side read figure storage_validation
measured for the same filesystem on the same node, with their ratio
(module_utils.benchmark_comparison), as a table of the section named by the entry's title.

``check_section`` says what is wrong with one; ``build_report`` refuses a malformed section.

``cluster`` (optional) is the cluster layer's state as module_utils.cluster_state's
``cluster_state`` made it (Helm releases, the LINSTOR/TensorFusion/OME objects, claims); its
problems (``cluster_problems``) count like the others, minus what a section already says.

``figures`` holds the numbers the HTML page's charts draw (module_utils.report_charts), flat:
``throughput`` (per node and directory: write/read MiB/s and the minimums), ``disk_space`` (per
node and directory: free and required GB), ``zones`` (nodes, PVs, pods per zone),
``findings`` (count per severity and check, with the fix) and ``benchmarks`` (per in-pod fio
run: its read MiB/s, IOPS and p99, the host-side read MiB/s of the same filesystem and node, the
ratio, or why there is no host-side figure).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import benchmark_comparison
from ansible_collections.gpufleet.cluster.plugins.module_utils.cluster_state import cluster_problems

SEVERITIES = ("error", "warning", "info")
FAIL_ON = ("error", "warning", "never")
# Keys of a storage_throughput result worth keeping in the report.
_THROUGHPUT_KEYS = ("directory", "engine", "fio_version", "direct", "direct_fallback", "filesystem", "size_bytes",
                    "block_size_bytes", "write", "read", "wall_seconds", "violations", "measured", "msg")
# What to do, per pv_affinity_info check id and per node-side source (docs/validation.md has the details).
FIXES = {
    "local-pv-without-affinity": "recreate the PV pinned to the node holding the data",
    "pv-affinity-matches-no-node": "restore or relabel the node, or recreate the PV",
    "pv-affinity-matchfields-ignored": "recreate the PV with a kubernetes.io/hostname matchExpression",
    "pod-node-violates-pv-affinity": "delete the pod so the scheduler places it, or fix the PV's affinity",
    "cross-zone-pod-volume": "pin the pod to the volume's zone, or use a WaitForFirstConsumer class",
    "zonal-storageclass-immediate-binding": "set volumeBindingMode: WaitForFirstConsumer",
    "pvc-pending": "kubectl describe pvc; read the provisioner's logs",
    "remote-volume-access-enabled": 'set allowRemoteVolumeAccess: "false" with WaitForFirstConsumer',
    "throughput": "check the device, its filesystem and what else uses it; or lower the minimum if it is wrong",
    "disk_space": "free space on the filesystem or grow it; or lower storage_validation_min_free_gb",
    "node": "make the host reachable and re-run",
    "placement": "fix the cluster connection (K8S_AUTH_KUBECONFIG, placement_validation_kubeconfig)",
    "cluster": "see each problem's message",
}


def _problem(severity, source, host, subject, message):
    return {"severity": severity, "source": source, "host": host, "subject": subject, "message": message}


def _placement(placement, problems):
    if not placement or placement.get("skipped"):
        return {"ran": False, "error": None, "findings": [], "summary": None, "zones": {}, "source": None}
    if "findings" not in placement:
        message = placement.get("msg") or "pv_affinity_info returned no findings"
        problems.append(_problem("error", "placement", None, "cluster", "The PV placement check could not run: %s" % message))
        return {"ran": False, "error": message, "findings": [], "summary": None, "zones": {}, "source": None}
    return {
        "ran": True,
        "error": None,
        "findings": placement["findings"],
        "summary": placement["summary"],
        "zones": placement.get("zones") or {},
        "source": placement.get("source"),
    }


def _minimum(value):
    """A threshold as a number, None for none (0 or unset means report only)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def _throughput(host, result, problems, thresholds):
    item = result.get("item")
    if isinstance(item, dict):  # an async_status result: its item is the started job's result
        item = item.get("item")
    directory = result.get("directory") or item or (result.get("invocation") or {}).get("module_args", {}).get("path")
    if result.get("skipped"):
        return {"directory": directory, "ok": True, "measured": False, "error": None, "msg": "skipped"}
    if "measured" not in result:
        message = result.get("msg") or "storage_throughput failed"
        problems.append(_problem("error", "throughput", host, directory, message))
        return {"directory": directory, "ok": False, "measured": False, "error": message}
    entry = dict((k, result[k]) for k in _THROUGHPUT_KEYS if k in result)
    entry["directory"] = directory
    entry["min_read_mibps"] = _minimum(thresholds.get("min_read_mibps"))
    entry["min_write_mibps"] = _minimum(thresholds.get("min_write_mibps"))
    entry["error"] = None
    entry["warnings"] = list(result.get("warnings") or [])
    for violation in result.get("violations") or []:
        problems.append(_problem("error", "throughput", host, directory, violation))
    if result.get("direct_fallback"):
        problems.append(_problem("warning", "throughput", host, directory,
                                 "%s refuses O_DIRECT; measured with buffered I/O, so the figures may include page-cache effects"
                                 % directory))
    if not result.get("measured"):
        problems.append(_problem("info", "throughput", host, directory, "not measured (check mode)"))
    entry["ok"] = not result.get("violations")
    return entry


def _disk_space(host, result, problems):
    if not result or result.get("skipped"):
        return {"ran": False, "error": None, "paths": [], "violations": []}
    if "paths" not in result:
        message = result.get("msg") or "disk_space_info failed"
        problems.append(_problem("error", "disk_space", host, None, message))
        return {"ran": False, "error": message, "paths": [], "violations": []}
    for violation in result.get("violations") or []:
        problems.append(_problem("error", "disk_space", host, None, violation))
    return {"ran": True, "error": None, "paths": result["paths"], "violations": list(result.get("violations") or [])}


def _node(host, data, problems):
    if not data:
        problems.append(_problem("error", "node", host, None,
                                 "no storage results from %s: the host was unreachable or failed before measuring" % host))
        return {"reachable": False, "thresholds": {}, "throughput": [], "disk_space": {"ran": False, "error": None, "paths": [], "violations": []}}
    throughput = data.get("throughput") or {}
    results = throughput.get("results", []) if isinstance(throughput, dict) else throughput
    thresholds = data.get("thresholds") or {}
    return {
        "reachable": True,
        "thresholds": thresholds,
        "throughput": [_throughput(host, r, problems, thresholds) for r in results],
        "disk_space": _disk_space(host, data.get("disk_space"), problems),
    }


def check_section(section):
    """What is wrong with a report section (see the module docstring): a list of messages."""
    if not isinstance(section, dict):
        return ["a section must be a dict, not %s" % type(section).__name__]
    errors = []
    name = section.get("name")
    if not isinstance(name, str) or not name:
        errors.append("a section needs a non-empty string 'name'")
        name = "?"
    unknown = sorted(set(section) - set(("name", "title", "tables", "problems", "notes", "benchmarks")))
    if unknown:
        errors.append("section %s: unknown keys %s" % (name, ", ".join(unknown)))
    for index, table in enumerate(section.get("tables") or []):
        columns = table.get("columns") if isinstance(table, dict) else None
        if not isinstance(columns, list) or not columns:
            errors.append("section %s: table %d needs a list of 'columns'" % (name, index))
            continue
        for row in table.get("rows") or []:
            if not isinstance(row, list) or len(row) != len(columns):
                errors.append("section %s: table %r has a row that is not a list of %d cells: %r"
                              % (name, table.get("title"), len(columns), row))
    for problem in section.get("problems") or []:
        if not isinstance(problem, dict) or problem.get("severity") not in SEVERITIES or not problem.get("message"):
            errors.append("section %s: a problem needs a severity (%s) and a message: %r"
                          % (name, ", ".join(SEVERITIES), problem))
    benchmarks = section.get("benchmarks") or []
    if not isinstance(benchmarks, list):
        errors.append("section %s: 'benchmarks' must be a list" % name)
        benchmarks = []
    for entry in benchmarks:
        errors.extend("section %s: %s" % (name, e) for e in benchmark_comparison.check_entry(entry))
    return errors


def _section(section, problems, compared, compare):
    """The section as the report holds it; its benchmarks, each compared (``compare(entry)``), are
    appended to ``compared`` and shown as a table per title after the section's own."""
    errors = check_section(section)
    if errors:
        raise ValueError("; ".join(errors))
    for problem in section.get("problems") or []:
        problems.append(_problem(problem["severity"], section["name"], problem.get("host"),
                                 problem.get("subject"), problem["message"]))
    tables = [{"title": t.get("title") or "", "columns": list(t["columns"]),
               "rows": [list(r) for r in t.get("rows") or []]} for t in section.get("tables") or []]
    titles = []
    for entry in section.get("benchmarks") or []:
        compared.append(dict(compare(entry), section=section["name"], title=entry["title"]))
        if entry["title"] not in titles:
            titles.append(entry["title"])
    for title in titles:
        tables.append(benchmark_comparison.table(title, [c for c in compared if c["section"] == section["name"]
                                                         and c["title"] == title]))
    return {
        "name": section["name"],
        "title": section.get("title") or section["name"],
        "tables": tables,
        "notes": list(section.get("notes") or []),
    }


def _mibps(phase):
    return phase.get("mibps") if isinstance(phase, dict) else None


def throughput_figures(nodes):
    """Per node and directory: write/read MiB/s and the minimums (``figures.throughput``)."""
    throughput = []
    for host, node in sorted(nodes.items()):
        for t in node["throughput"]:
            throughput.append({"host": host, "directory": t["directory"], "measured": bool(t.get("measured")),
                               "write_mibps": _mibps(t.get("write")), "read_mibps": _mibps(t.get("read")),
                               "min_write_mibps": t.get("min_write_mibps"), "min_read_mibps": t.get("min_read_mibps"),
                               "ok": bool(t.get("ok"))})
    return throughput


def figures(report, benchmarks=None):
    """The numbers the charts draw (see the module docstring), from a report without figures;
    ``benchmarks``: the sections' benchmarks as build_report compared them."""
    throughput = throughput_figures(report["nodes"])
    disk = []
    for host, node in sorted(report["nodes"].items()):
        for d in node["disk_space"]["paths"]:
            disk.append({"host": host, "path": d.get("path"), "free_gb": d.get("free_gb"),
                         "required_gb": d.get("required_gb"), "ok": bool(d.get("ok"))})
    zones = [{"zone": zone, "nodes": len(z.get("nodes") or []), "pvs": len(z.get("pvs") or []),
              "pods": len(z.get("pods") or [])} for zone, z in sorted(report["placement"]["zones"].items())]
    counted = {}
    for p in report["problems"]:
        key = (p["severity"], p["source"])
        counted[key] = counted.get(key, 0) + 1
    for f in report["placement"]["findings"]:
        key = (f["severity"], f["check"])
        counted[key] = counted.get(key, 0) + 1
    rank = dict((s, i) for i, s in enumerate(SEVERITIES))
    findings = [{"severity": sev, "check": check, "count": n, "fix": FIXES.get(check, "see each problem's message")}
                for (sev, check), n in sorted(counted.items(), key=lambda kv: (rank[kv[0][0]], -kv[1], kv[0][1]))]
    return {"throughput": throughput, "disk_space": disk, "zones": zones, "findings": findings,
            "benchmarks": list(benchmarks or [])}


def build_report(placement, nodes, generated, sections=None, cluster=None):
    """The report dict; see the module docstring. ``nodes`` maps host -> {throughput, disk_space, thresholds}."""
    problems = []
    report_placement = _placement(placement, problems)
    report_nodes = dict((host, _node(host, nodes[host], problems)) for host in sorted(nodes or {}))
    throughput = throughput_figures(report_nodes)
    cluster_part = cluster or {"read": None, "error": None, "releases": [], "layers": [], "claims": []}
    compared = []

    def compare(entry):
        return benchmark_comparison.compare(entry, cluster_part.get("claims"), throughput, cluster_part)

    report_sections = [_section(s, problems, compared, compare) for s in sections or []]
    for problem in cluster_problems(cluster, sections):
        problems.append(_problem(problem["severity"], "cluster", None, problem["subject"], problem["message"]))
    counts = dict((s, 0) for s in SEVERITIES)
    for problem in problems:
        counts[problem["severity"]] += 1
    if report_placement["summary"]:
        for severity in SEVERITIES:
            counts[severity] += report_placement["summary"]["by_severity"].get(severity, 0)
    status = "failed" if counts["error"] else ("warnings" if counts["warning"] else "passed")
    rank = dict((s, i) for i, s in enumerate(SEVERITIES))
    problems.sort(key=lambda p: (rank[p["severity"]], p["source"], p["host"] or "", p["subject"] or ""))
    report = {
        "generated": generated,
        "status": status,
        "counts": counts,
        "problems": problems,
        "placement": report_placement,
        "nodes": report_nodes,
        "sections": report_sections,
        "cluster": cluster_part,
    }
    report["figures"] = figures(report, compared)
    return report


def gate(report, fail_on):
    """Whether a run with ``fail_on`` (error, warning, never) must fail on ``report``."""
    if fail_on == "never":
        return False
    if fail_on == "warning":
        return report["counts"]["error"] + report["counts"]["warning"] > 0
    return report["counts"]["error"] > 0
