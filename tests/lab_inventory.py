"""A copy of inventories/lab for a test's own set of lab containers (the execution environment's
jobs, the lab's fault drill and real node): other container names and subnet, so that a lab
started by scripts/lab is left alone, and only the GPU nodes the test needs."""

import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# One GPU node per zone: what the tests that do not look at every node keep. The lab's other two
# would repeat their work (each GPU node is about 75 tasks per site.yml run).
ONE_PER_ZONE = ["gpu-ucsd-1", "gpu-sdsu-1"]


def copy_lab_inventory(dest, prefix, subnet, gpu_nodes=None, nfs=True):
    """inventories/lab at dest with the containers named <prefix>-<host> on <subnet>0/24, only the
    GPU nodes named in gpu_nodes (all when None; a zone left without a node goes too) and the NFS
    server only when nfs is true. Returns dest."""
    dest = Path(dest)
    shutil.copytree(REPO / "inventories" / "lab", dest)
    for path in dest.rglob("*.yml"):
        text = path.read_text()
        path.write_text(text.replace("gpufleet-lab", prefix).replace("10.89.40.", subnet))
    hosts = yaml.safe_load((dest / "hosts.yml").read_text())
    children = hosts["all"]["children"]
    zones = children["gpu_nodes"]["children"]
    if gpu_nodes is not None:
        for zone in list(zones):
            for name in list(zones[zone]["hosts"]):
                if name not in gpu_nodes:
                    zones[zone]["hosts"].pop(name)
            if not zones[zone]["hosts"]:
                zones.pop(zone)
        kept = sorted(name for zone in zones.values() for name in zone["hosts"])
        assert kept == sorted(gpu_nodes), (kept, gpu_nodes)
    if not nfs:
        children.pop("nfs_servers")
        children["lab_containers"]["children"].pop("nfs_servers")
    (dest / "hosts.yml").write_text("---\n" + yaml.safe_dump(hosts, default_flow_style=False))
    return dest
