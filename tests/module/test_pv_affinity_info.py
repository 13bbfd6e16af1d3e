"""gpufleet.cluster.pv_affinity_info through ansible-playbook, on snapshot files."""

import json

import pytest

MODULE = "gpufleet.cluster.pv_affinity_info"


def checks(result):
    return sorted(f["check"] for f in result["findings"])


def test_healthy_snapshot(run_module, files):
    result = run_module(MODULE, {"snapshot": [files("cluster-healthy.json")]})
    assert not result.get("failed") and result["changed"] is False
    # The only finding: the cache PVC waits for its first consumer, which is expected.
    assert [(f["check"], f["severity"]) for f in result["findings"]] == [("pvc-pending", "info")]
    assert result["summary"]["objects"] == {"nodes": 4, "pvs": 1, "pvcs": 2, "pods": 1, "storageclasses": 2}
    assert result["zones"]["ucsd"]["pvs"] == ["model-storage-pv"]
    assert result["zones"]["ucsd"]["pods"] == ["autotuner/llama-engine-0"]
    assert result["source"] == {"type": "snapshot", "files": [files("cluster-healthy.json")]}


def test_every_check_reported_from_yaml(run_module, files):
    result = run_module(MODULE, {"snapshot": [files("cluster-violations.yaml")]})
    assert not result.get("failed")  # fail_on defaults to never
    assert checks(result) == [
        "cross-zone-pod-volume",
        "local-pv-without-affinity",
        "pod-node-violates-pv-affinity",
        "pv-affinity-matches-no-node",
        "pv-affinity-matchfields-ignored",
        "pvc-pending",
        "remote-volume-access-enabled",
        "zonal-storageclass-immediate-binding",
    ]
    assert result["summary"]["by_severity"] == {"error": 5, "warning": 3, "info": 0}
    by_check = dict((f["check"], f) for f in result["findings"])
    assert by_check["pod-node-violates-pv-affinity"]["object"] == {"kind": "Pod", "namespace": "default", "name": "sft-qwen3vl-0"}
    assert "host-10-97-65-155" in by_check["pv-affinity-matches-no-node"]["message"]
    assert by_check["pv-affinity-matchfields-ignored"]["object"]["name"] == "scratch-by-name"
    assert "volume binding ignores" in by_check["pv-affinity-matchfields-ignored"]["message"]
    # pvc-7f3a is a LINSTOR volume: the fix is the affinity controller.
    assert "linstor-affinity-controller" in by_check["pod-node-violates-pv-affinity"]["message"]
    for finding in result["findings"]:
        assert set(finding) == {"check", "severity", "object", "message", "related"}
        assert set(finding["object"]) == {"kind", "namespace", "name"}


@pytest.mark.parametrize("fail_on, fails", [("error", True), ("warning", True), ("never", False)])
def test_fail_on(run_module, files, fail_on, fails):
    result = run_module(MODULE, {"snapshot": [files("cluster-violations.yaml")], "fail_on": fail_on})
    assert bool(result.get("failed")) is fails
    assert result["changed"] is False
    assert len(result["findings"]) == 8  # the findings come back even when the task fails
    if fails:
        assert "5 error(s), 3 warning(s)" in result["msg"] and "fail_on=%s" % fail_on in result["msg"]


def test_fail_on_warning_with_only_info_passes(run_module, files):
    result = run_module(MODULE, {"snapshot": [files("cluster-healthy.json")], "fail_on": "warning"})
    assert not result.get("failed")


def test_check_mode_gives_the_same_answer(run_module, files):
    result = run_module(MODULE, {"snapshot": [files("cluster-violations.yaml")]}, check=True)
    assert result["changed"] is False and len(result["findings"]) == 8


def test_snapshots_are_merged(run_module, files):
    result = run_module(MODULE, {"snapshot": [files("cluster-healthy.json"), files("cluster-violations.yaml")]})
    # gpu-ucsd-1, gpu-sdsu-1 appear in both files and count once.
    assert result["summary"]["objects"]["nodes"] == 4


def test_options(run_module, files):
    result = run_module(MODULE, {"snapshot": [files("cluster-violations.yaml")],
                                 "skip_checks": ["pvc-pending", "remote-volume-access-enabled"],
                                 "zone_label": "example.org/site"})
    assert "pvc-pending" not in checks(result) and "remote-volume-access-enabled" not in checks(result)
    assert "cross-zone-pod-volume" not in checks(result)  # no node has the custom zone label
    assert list(result["zones"]) == ["(no zone)"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("wrong-kind.json", "wrong-kind.json: the top level has kind 'Deployment'"),
        ("truncated.json", "truncated.json: not valid JSON at line 12 column 176: Unterminated string (the file ends early"),
        ("missing-fields.json", "missing-fields.json: items[1] (Pod): metadata.namespace is missing"),
        ("no-such-file.json", "no-such-file.json: cannot be read"),
    ],
)
def test_malformed_snapshot_is_one_clear_error(run_module, files, name, expected):
    result = run_module(MODULE, {"snapshot": [files("cluster-healthy.json"), files(name)]})
    assert result["failed"] is True
    assert expected in result["msg"]
    assert "Traceback" not in result["msg"]
    assert "findings" not in result


def test_skip_checks_rejects_unknown_ids(run_module, files):
    result = run_module(MODULE, {"snapshot": [files("cluster-healthy.json")], "skip_checks": ["no-such-check"]})
    assert result["failed"] is True and "no-such-check" in result["msg"]


def test_unreachable_cluster_is_a_clear_error(run_module):
    result = run_module(MODULE, {"host": "https://127.0.0.1:1", "api_key": "not-a-real-token", "validate_certs": False})
    assert result["failed"] is True
    assert result["msg"].startswith("cannot reach the Kubernetes API (https://127.0.0.1:1)")
    assert "not-a-real-token" not in str(result)


def test_page_size_must_be_positive(run_module, files):
    result = run_module(MODULE, {"snapshot": [files("cluster-healthy.json")], "page_size": 0})
    assert result["failed"] is True and "page_size=0" in result["msg"]


def _replaced_pv(tmp_path, name, uid, created, host):
    doc = {"apiVersion": "v1", "kind": "List", "items": [{
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "pvc-1", "uid": uid, "creationTimestamp": created},
        "spec": {"csi": {"driver": "linstor.csi.linbit.com", "volumeHandle": "pvc-1"},
                 "claimRef": {"namespace": "ml", "name": "cache", "uid": "claim-uid"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [
                     {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}}},
        "status": {"phase": "Bound"}}]}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.mark.parametrize("new_first", [False, True])
def test_snapshots_before_and_after_a_pv_replacement(run_module, files, tmp_path, new_first):
    # LINSTOR's affinity controller replaced pvc-1 (new uid, creation time and affinity): the
    # replacement is the PV, whatever the order of the files.
    old = _replaced_pv(tmp_path, "before.json", "uid-old", "2025-01-01T00:00:00Z", "gpu-ucsd-1")
    new = _replaced_pv(tmp_path, "after.json", "uid-new", "2025-02-01T00:00:00Z", "gpu-ucsd-2")
    snapshots = [new, old] if new_first else [old, new]
    result = run_module(MODULE, {"snapshot": [files("cluster-healthy.json")] + snapshots, "admitted_nodes": True})
    assert not result.get("failed"), result.get("msg")
    assert result["pvs"]["pvc-1"] == {"uid": "uid-new", "created": "2025-02-01T00:00:00Z", "claim": "ml/cache",
                                      "nodes": ["gpu-ucsd-2"]}
    assert result["summary"]["objects"]["pvs"] == 2  # the healthy snapshot's PV and pvc-1, once


def test_admitted_nodes_option(run_module, files):
    plain = run_module(MODULE, {"snapshot": [files("cluster-violations.yaml")]})
    assert "pvs" not in plain
    result = run_module(MODULE, {"snapshot": [files("cluster-violations.yaml")], "admitted_nodes": True})
    assert result["pvs"]["scratch-by-name"]["nodes"] == ["gpu-sdsu-1", "gpu-ucsd-1"]  # matchFields ignored
    assert result["pvs"]["model-storage-pv"]["nodes"] == []
    assert result["pvs"]["raid-models-anywhere"]["nodes"] is None


@pytest.mark.parametrize("zone_label", ["topology.kubernetes.io/zone\n", "zone,region", "Example.com/zone", "a/b/c"])
def test_zone_label_must_be_a_label_key(run_module, files, zone_label):
    result = run_module(MODULE, {"snapshot": [files("cluster-healthy.json")], "zone_label": zone_label})
    assert result["failed"] is True
    assert result["msg"].startswith("zone_label=%r is not a label key" % zone_label)
