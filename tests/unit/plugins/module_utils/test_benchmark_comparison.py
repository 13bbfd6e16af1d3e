"""In-pod fio figures next to the host-side figures of the same filesystem: the matching, the ratio,
why a figure is missing, and the report's table and figures (plain dicts, no mocks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils import benchmark_comparison as bc
from ansible_collections.gpufleet.cluster.plugins.module_utils.validation_report import build_report, check_section

NOW = "2026-12-05T04:20:58Z"
TITLE = "fio benchmark Job (seed: --rw=read --bs=4M)"
# storage_validation's figures as the lab's report of 2026-12-05 has them (figures.throughput).
THROUGHPUT = [
    {"host": "gpu-sdsu-1", "directory": "/raid", "measured": True, "read_mibps": 1391.3, "write_mibps": 426.67},
    {"host": "gpu-sdsu-1", "directory": "/raid/models", "measured": True, "read_mibps": 4266.67, "write_mibps": 1777.78},
    {"host": "gpu-sdsu-2", "directory": "/raid", "measured": True, "read_mibps": 3764.71, "write_mibps": 1122.81},
    {"host": "gpu-ucsd-1", "directory": "/data", "measured": False, "read_mibps": None, "write_mibps": None},
]
READ = {"read": True, "error": None, "releases": [], "layers": []}


def benchmark(**change):
    entry = {"title": TITLE, "job": "default/storage-benchmark-cache", "claim": "default/cache", "node": "gpu-sdsu-1",
             "completed": True, "read_mibps": 7111.11, "read_iops": 1777.78, "read_p99_ms": 5.734,
             "latency_source": "clat", "unavailable": None}
    entry.update(change)
    return entry


def claim(**change):
    entry = {"namespace": "default", "name": "cache", "phase": "Bound", "volume": "pv-cache", "volume_found": True,
             "volume_source": "local", "volume_path": "/raid/linstor-standin"}
    entry.update(change)
    return entry


def cluster(*claims):
    return dict(READ, claims=list(claims))


@pytest.mark.parametrize("directory, path, expected", [
    ("/raid", "/raid", True), ("/raid", "/raid/x/y", True), ("/raid/", "/raid/x", True), ("/", "/raid", True),
    ("/raid", "/raid2/x", False), ("/raid/models", "/raid", False), ("/raid", "", False), ("/raid", "raid/x", False),
])
def test_a_path_is_on_a_directory_by_whole_components(directory, path, expected):
    assert bc.on_path(directory, path) is expected


def test_the_longest_measured_prefix_on_the_same_node_is_the_filesystem():
    assert bc.host_figure("gpu-sdsu-1", "/raid/linstor-standin", THROUGHPUT)["directory"] == "/raid"
    assert bc.host_figure("gpu-sdsu-1", "/raid/models/meta/llama", THROUGHPUT)["directory"] == "/raid/models"
    assert bc.host_figure("gpu-sdsu-2", "/raid/models/x", THROUGHPUT)["read_mibps"] == 3764.71
    assert bc.host_figure("gpu-sdsu-1", "/mnt/other", THROUGHPUT) is None
    assert bc.host_figure("gpu-ucsd-2", "/raid/x", THROUGHPUT) is None


def test_in_pod_next_to_host_side_with_their_ratio():
    got = bc.compare(benchmark(), [claim()], THROUGHPUT, cluster(claim()))
    assert got == {"job": "default/storage-benchmark-cache", "claim": "default/cache", "node": "gpu-sdsu-1",
                   "completed": True, "read_mibps": 7111.11, "read_iops": 1777.78, "read_p99_ms": 5.734,
                   "latency_source": "clat", "unavailable": None, "volume": "pv-cache",
                   "volume_path": "/raid/linstor-standin", "host_directory": "/raid", "host_read_mibps": 1391.3,
                   "host_missing": None, "ratio": 5.11}
    assert bc.row(got) == ["default/storage-benchmark-cache", "default/cache", "gpu-sdsu-1", "yes", 7111.11, 1777.78,
                           5.734, 1391.3, "5.11", "measured"]
    # Two decimals, also when the second is a zero.
    slower = bc.compare(benchmark(read_mibps=1391.3 * 0.5), [claim()], THROUGHPUT, cluster(claim()))
    assert slower["ratio"] == 0.5 and bc.row(slower)[8] == "0.50"


@pytest.mark.parametrize("bench, claims, throughput, state, why", [
    (benchmark(), [claim()], [t for t in THROUGHPUT if t["host"] != "gpu-sdsu-1"], "read",
     "no host-side figure for gpu-sdsu-1:/raid/linstor-standin (storage_validation did not measure gpu-sdsu-1)"),
    (benchmark(), [claim(volume_path="/srv/cache")], THROUGHPUT, "read",
     "no host-side figure for gpu-sdsu-1:/srv/cache (storage_validation measured /raid, /raid/models there, none "
     "holding it)"),
    (benchmark(), [claim(volume_source="csi:linstor.csi.linbit.com", volume_path="")], THROUGHPUT, "read",
     "no host-side figure for gpu-sdsu-1: volume pv-cache is a csi:linstor.csi.linbit.com volume, not a directory "
     "on the node"),
    (benchmark(), [claim(phase="Pending", volume="", volume_found=None, volume_path="")], THROUGHPUT, "read",
     "no host-side figure for gpu-sdsu-1: claim default/cache is Pending, bound to no volume"),
    (benchmark(), [claim(volume_found=False, volume_path="")], THROUGHPUT, "read",
     "no host-side figure for gpu-sdsu-1: volume pv-cache was not found"),
    (benchmark(), [], THROUGHPUT, "read", "no host-side figure for gpu-sdsu-1: claim default/cache was not found"),
    (benchmark(node="gpu-ucsd-1"), [claim(volume_path="/data/cache")], THROUGHPUT, "read",
     "no host-side figure for gpu-ucsd-1:/data/cache (/data was not measured)"),
    (benchmark(node=""), [claim()], THROUGHPUT, "read", "no host-side figure: the Job's pod was not scheduled to a node"),
    (benchmark(), [], THROUGHPUT, "not read",
     "no host-side figure for gpu-sdsu-1: the claim's volume was not read (validation_report_read_cluster is off)"),
    (benchmark(), [], THROUGHPUT, "failed", "no host-side figure for gpu-sdsu-1: the cluster could not be read"),
])
def test_no_host_side_figure_says_why_and_makes_up_no_number(bench, claims, throughput, state, why):
    part = {"read": dict(READ, claims=claims), "not read": {"read": None},
            "failed": {"read": False, "error": "refused"}}[state]
    got = bc.compare(bench, claims, throughput, part)
    assert got["host_missing"] == why
    assert got["host_read_mibps"] is None and got["ratio"] is None and got["host_directory"] is None
    row = bc.row(got)
    assert row[7] == why and row[8] == why and row[4] == bench["read_mibps"]


def test_no_in_pod_figure():
    unavailable = benchmark(read_mibps=None, read_iops=None, read_p99_ms=None, latency_source=None,
                            unavailable="no fio output: the Job did not complete", completed=False)
    got = bc.compare(unavailable, [claim()], THROUGHPUT, cluster(claim()))
    assert got["host_read_mibps"] == 1391.3 and got["ratio"] is None
    assert bc.row(got)[3:] == ["no", "", "", "", 1391.3, "no in-pod figure",
                               "unavailable: no fio output: the Job did not complete"]
    # fio measured the throughput but reported no percentiles: the cell says so, no number.
    no_p99 = bc.compare(benchmark(read_p99_ms=None), [claim()], THROUGHPUT, cluster(claim()))
    assert bc.row(no_p99)[6] == "not reported by fio" and no_p99["ratio"] == 5.11


@pytest.mark.parametrize("entry, message", [
    ("x", "a benchmark must be a dict"),
    ({"title": TITLE, "job": "j", "claim": "c"}, "a benchmark needs a string 'node'"),
    (benchmark(read_iops="fast"), "read_iops must be a number or null"),
    (benchmark(read_mibps=True), "read_mibps must be a number or null"),
])
def test_a_malformed_benchmark_entry_is_refused(entry, message):
    section = {"name": "storage", "benchmarks": [entry]}
    errors = check_section(section)
    assert any(message in e for e in errors), errors
    with pytest.raises(ValueError, match=message):
        build_report({}, {}, NOW, [section])
    assert any("'benchmarks' must be a list" in e for e in check_section({"name": "s", "benchmarks": {"job": "x"}}))


def measured(directory, read):
    return {"item": directory, "directory": directory, "measured": True, "engine": "fio", "direct": True,
            "write": {"mibps": 100.0}, "read": {"mibps": read}, "violations": []}


def test_the_report_shows_the_table_in_the_section_and_the_figures():
    nodes = {"gpu-sdsu-1": {"throughput": {"results": [measured("/raid", 1391.3), measured("/raid/models", 4266.67)]},
                            "disk_space": {"paths": [], "violations": []}}}
    section = {"name": "storage", "title": "Storage", "notes": [],
               "tables": [{"title": "Claims", "columns": ["Claim"], "rows": [["default/cache"]]}],
               "benchmarks": [benchmark(), benchmark(job="default/storage-benchmark-other", claim="default/other")]}
    report = build_report({}, nodes, NOW, [section], cluster(claim()))
    tables = report["sections"][0]["tables"]
    assert [t["title"] for t in tables] == ["Claims", TITLE]
    assert tables[1]["columns"] == ["Job", "Claim", "Node", "Completed", "Read MiB/s", "Read IOPS", "Read p99 (ms)",
                                    "Host-side read MiB/s", "In-pod / host ratio", "Result"]
    assert [r[7:9] for r in tables[1]["rows"]] == [
        [1391.3, "5.11"], ["no host-side figure for gpu-sdsu-1: claim default/other was not found"] * 2]
    figures = report["figures"]["benchmarks"]
    assert [(f["section"], f["title"], f["job"], f["host_directory"], f["host_read_mibps"], f["ratio"]) for f in figures] == [
        ("storage", TITLE, "default/storage-benchmark-cache", "/raid", 1391.3, 5.11),
        ("storage", TITLE, "default/storage-benchmark-other", None, None, None)]
    assert figures[0]["read_iops"] == 1777.78 and figures[0]["read_p99_ms"] == 5.734
    assert "benchmarks" not in report["sections"][0]
    # No benchmark, no table and no figures; a benchmark adds no problem of its own.
    plain = build_report({}, nodes, NOW, [dict(section, benchmarks=[])], cluster(claim()))
    assert [t["title"] for t in plain["sections"][0]["tables"]] == ["Claims"] and plain["figures"]["benchmarks"] == []
    assert report["problems"] == plain["problems"] == []
