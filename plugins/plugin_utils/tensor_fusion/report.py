# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tensor_fusion section of the validation report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion.chart import NAMESPACE, RELEASE


def report_section(release, claims, statefulsets, cluster, s, extra=None):
    """The tensor_fusion_report_section dict for validation_report."""
    extra = extra or {}
    problems_ = []
    release = release or {}
    rel_rows = [[release.get("name", RELEASE), NAMESPACE, release.get("chart", ""), str(release.get("revision", "")),
                 release.get("status", "absent")]]
    if release.get("status") not in ("deployed", None) or not release:
        problems_.append({"severity": "error" if not extra.get("check_mode") else "info", "subject": "release " + RELEASE,
                          "message": "Helm release %s is %s" % (RELEASE, release.get("status", "absent"))})
    claim_rows = []
    for claim in claims:
        meta, spec, status = claim.get("metadata", {}), claim.get("spec", {}), claim.get("status", {})
        phase = status.get("phase", "")
        claim_rows.append(["%s/%s" % (meta.get("namespace"), meta.get("name")), phase, spec.get("volumeName", ""),
                           spec.get("storageClassName", ""), (status.get("capacity") or {}).get("storage", "")])
        if phase != "Bound":
            problems_.append({"severity": "error", "subject": "claim %s/%s" % (meta.get("namespace"), meta.get("name")),
                              "message": "claim is %s, not Bound" % (phase or "absent")})
    sts_rows = [["%s/%s" % (x["metadata"]["namespace"], x["metadata"]["name"]), str(x.get("spec", {}).get("replicas", "")),
                 ", ".join(t["metadata"]["name"] for t in x.get("spec", {}).get("volumeClaimTemplates", []) or []) or "-"]
                for x in statefulsets]
    cluster_rows = []
    if cluster:
        for pool in cluster.get("spec", {}).get("gpuPools", []):
            over = pool.get("specTemplate", {}).get("capacityConfig", {}).get("oversubscription", {})
            nm = pool.get("specTemplate", {}).get("nodeManagerConfig", {})
            rolling = nm.get("nodePoolRollingUpdatePolicy", {})
            cluster_rows.append([cluster["metadata"]["name"], pool.get("name"), nm.get("provisioningMode", ""),
                                 "%s/%s/%s" % (over.get("tflopsOversellRatio", "-"), over.get("vramExpandToHostMem", "-"),
                                               over.get("vramExpandToHostDisk", "-")),
                                 "on" if any(rolling.get(k) for k in ("autoUpdateHypervisor", "autoUpdateWorker",
                                                                      "autoUpdateClient")) else "off",
                                 (cluster.get("status") or {}).get("phase", "no status (no operator ran)")])
    notes = ["profile %s; GreptimeDB %s; AlertManager %s" % (s.get("profile"), s.get("greptimedb_mode"), s.get("alertmanager_mode"))]
    if s.get("greptimedb_mode") == "cloud":
        problems_.append({"severity": "warning", "subject": "ConfigMap %s-vector-config" % RELEASE,
                          "message": "with greptime.isCloud the chart writes the GreptimeDB password in plaintext into "
                                     "ConfigMap %s-vector-config (upstream): restrict who may read ConfigMaps in %s"
                                     % (RELEASE, NAMESPACE)})
    if extra.get("chart_cluster"):
        problems_.append({"severity": "warning", "subject": "TensorFusionCluster " + extra["chart_cluster"],
                          "message": "a TensorFusionCluster made by the chart (cluster.enabled) exists beside the role's; "
                                     "it has helm.sh/resource-policy: keep: delete it once the role's cluster serves the pools"})
    return {
        "name": "tensor_fusion",
        "title": "TensorFusion (GreptimeDB, AlertManager, TensorFusionCluster)",
        "tables": [
            {"title": "Helm release", "columns": ["release", "namespace", "chart", "revision", "status"], "rows": rel_rows},
            {"title": "Claims", "columns": ["claim", "phase", "volume", "class", "capacity"], "rows": claim_rows},
            {"title": "StatefulSets", "columns": ["statefulset", "replicas", "claim templates"], "rows": sts_rows},
            {"title": "TensorFusionCluster",
             "columns": ["cluster", "pool", "provisioning", "oversubscription tflops/mem/disk", "auto-update", "phase"],
             "rows": cluster_rows},
        ],
        "problems": problems_,
        "notes": notes,
    }
