"""playbooks/prepare_nodes.yml with --check --diff on a fresh node playing every part (NFS
server with kernel nfsd, GPU node with a blank cache disk): it reports what it would
change, shows the files it would write as diffs, and changes nothing."""

from conftest import DEVICES, REPO, podman_diff, task_results

VARS = {
    "nfs_server_implementation": "kernel",
    "nfs_server_clients": ["10.0.0.0/24"],
    "xfs_cache_device": DEVICES["blank"],
    "xfs_cache_fstab_source": "device",
    "node_prep_min_free_gb": 0.5,
    "nfs_client_server": "10.0.0.5",
    "nfs_client_mount_state": "present",
    "nfs_client_mounts": [{"name": "greptimedb", "export": "/srv/nfs/greptimedb", "path": "/data/greptimedb"}],
}
EXPORT_LINE = (
    "/srv/nfs/greptimedb 10.0.0.0/24(rw,secure,sync,no_subtree_check,root_squash,anonuid=65534,anongid=65534)"
)


def _diffs(report, task_suffix):
    out = []
    for name, result in task_results(report):
        if name.endswith(task_suffix):
            for item in result.get("results", [result]):
                diff = item.get("diff")
                out.extend(diff if isinstance(diff, list) else [diff] if diff else [])
    return out


def test_check_diff_on_a_fresh_node_changes_nothing(target):
    before = podman_diff()
    blank_before = target.first_mib("blank")

    rc, report = target.playbook(REPO / "playbooks" / "prepare_nodes.yml", VARS, check=True, diff=True)

    assert rc == 0, report["stats"]
    assert report["stats"]["roletest"]["failures"] == 0
    assert report["stats"]["roletest"]["changed"] > 0, "a fresh node must need changes"
    assert podman_diff() == before, "--check changed the node"
    assert target.first_mib("blank") == blank_before
    assert target.signature("blank") == ""

    exports = _diffs(report, "Write the exports")
    assert exports and EXPORT_LINE in exports[0]["after"]
    assert exports[0]["before"] == ""

    dirs = _diffs(report, "Create the service data directories")
    assert {d["after"]["path"] for d in dirs} >= {"/raid/models", "/data/alertmanager"}
    assert all(d["before"]["state"] == "absent" and d["after"]["state"] == "directory" for d in dirs)

    task = "Create the export directories, owned by their services' uid/gid"
    assert {d["after"]["path"] for d in _diffs(report, task)} == {"/srv/nfs/greptimedb", "/srv/nfs/alertmanager"}
    # Each export its service's own ids, none the squashed 65534.
    planned = [item["item"] for name, r in task_results(report) if name.endswith(task) for item in r["results"]]
    assert {e["path"]: (e["owner"], e["group"]) for e in planned} == {
        "/srv/nfs/greptimedb": (10001, 10001), "/srv/nfs/alertmanager": (10002, 10002)}

    would = [r.get("msg", "") for name, r in task_results(report) if name.endswith("Report what check mode would install")]
    assert any("xfsprogs" in m for m in would) and any("nfs-kernel-server" in m for m in would)
