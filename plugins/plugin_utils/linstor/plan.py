# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision of the linstor role, in one place (the linstor_plan action plugin).

``plan(inputs, observed, check_mode)`` takes the role's variables (without the prefix) and what the
role read so far, and returns what its tasks need. Pure: plain dicts in and out, no I/O.

The role calls it in its preflight with nothing read (the variables' problems and every object it
writes), then with what the cluster holds (the nodes, the namespaces, the operator's CRDs, the
satellite configuration, the StorageClasses, the release), then with the chart rendered (what a
server-side dry run can take now) and with the dry run's answer; after the benchmark Job (its
figures); and in its verify step (the report section and the lines it prints).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import time

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, linstor
from ansible_collections.gpufleet.cluster.plugins.plugin_utils import dry_run, pod_security, redaction
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.linstor import inputs as li_inputs
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.linstor import objects as li_objects

CLUSTER = ("nodes", "namespaces", "crds", "satellite_configuration", "storage_classes", "release")
# With the cluster's objects: the chart rendered with linstor_chart_values, and the operator's namespace.
RENDER = ("manifest", "release_namespace")
DRY_RUN = ("dry_run",)
BENCHMARK = ("fio_done", "fio_pods", "fio_log")
REPORT = ("release_after", "objects", "controller_service", "controller", "storage_classes_after", "claims", "pods",
          "pvs", "benchmark")
# The error message of the helm task, whose result no_log hid (linstor_chart_values may hold a
# registry token or a passphrase).
FAILURE = ("failure",)
# With the cluster's objects when the release is pending-*: the metadata of its pending revision's
# release records (Secrets owner=helm, name=<release>, status=<status>). Left out: none was found.
RECOVERY = ("pending_records",)
OBSERVED = tuple(sorted(set(CLUSTER + RENDER + DRY_RUN + BENCHMARK + REPORT + RECOVERY + FAILURE)))
DOC = "docs/storage.md"
# The variables the role no longer takes, and what replaced them (a breaking change): a
# standing true acted on whatever matched on the next run.
RETIRED = {
    "replace_storageclasses": "linstor_replace_storageclass_names (the names of the classes to replace, for one run)",
    "recover_pending_release": "linstor_recover_pending_revision (the pending revision to remove, for one run)",
}


def _flag(value):
    return checks.parse_boolean(value) is True


def _names(objects):
    return [((o or {}).get("metadata") or {}).get("name") for o in objects or []]


def _inputs_step(s):
    """The variables' problems, and every object the role writes."""
    problems = li_inputs.problems(s)
    problems += ["linstor_%s is no longer taken: use %s instead. Nothing was changed." % (name, RETIRED[name])
                 for name in sorted(RETIRED) if name in s]
    for name, example in (("recover_pending_revision", 4), ("pending_release_min_age", 600)):
        if checks.parse_int(s[name], strings=True) is None:
            problems.append("linstor_%s=%r is not a whole number of at least 0; use e.g. %s" % (name, s[name], example))
    problem = li_inputs.satellites_problem(s)
    if problem:
        problems.append(problem)
    if problems:
        return {"problems": problems}
    return {"problems": [], "cluster_object": li_objects.linstor_cluster(s),
            "satellite_configuration_object": li_objects.satellite_configuration(s),
            "storage_class_objects": [li_objects.storage_class(sc) for sc in s["storage_classes"]],
            "claim_objects": [li_objects.claim(item) for item in s["pvcs"]],
            "claim_namespaces": li_objects.claim_namespaces(s) if _flag(s["create_claim_namespaces"]) else [],
            "namespace_object": pod_security.namespace(s["namespace"], s["namespace_pod_security"]),
            "job_affinity": li_objects.job_affinity(s),
            "benchmark_job": li_objects.benchmark_job(s) if _flag(s["fio_benchmark"]) else None,
            "operator_deployment": li_objects.operator_deployment(s), "crd_names": list(li_objects.CRDS),
            "cluster_reads": li_objects.cluster_reads(s), "verify_reads": li_objects.verify_reads(s)}


def _established(crd):
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in ((crd or {}).get("status") or {}).get("conditions") or [])


def _crd_problem(s, missing):
    values = s["chart_values"] if isinstance(s["chart_values"], dict) else {}
    if not missing or _flag(values.get("installCRDs", False)):
        return ""
    return ("linstor_chart_values has no installCRDs: true (%s) and the cluster lacks the CRDs %s: the chart would not "
            "install them and the operator could not start. Add installCRDs: true to linstor_chart_values (a "
            "linstor_chart_values of your own replaces the default, installCRDs included), or install the Piraeus CRDs "
            "first." % (values.get("installCRDs", "unset"), ", ".join(missing)))


def _class_changes(s, existing):
    """{class: [{field, before, after}]} for the classes whose immutable fields would change."""
    have = dict((((o or {}).get("metadata") or {}).get("name"), o) for o in existing or [])
    changes = {}
    for sc in s["storage_classes"]:
        found = linstor.storageclass_immutable_changes(have.get(sc["name"]) or {}, li_objects.storage_class(sc))
        if found:
            changes[sc["name"]] = found
    return changes


def _class_problem(changes, names):
    def change(c):
        return "%s %s -> %s" % (c["field"], json.dumps(c["before"]), json.dumps(c["after"]))
    parts = "; ".join("%s: %s" % (name, "; ".join(change(c) for c in items)) for name, items in sorted(changes.items()))
    return ("the StorageClass definition of %s differs from the class in the cluster in fields Kubernetes never updates "
            "in place (%s). Run with --diff to see the difference. Restore the old values in linstor_storage_classes, "
            "give the new definition a new class name, or set linstor_replace_storageclass_names: %s (for this run "
            "only) to delete and recreate the class (existing PVs keep their volumes; new claims get the new "
            "parameters)%s." % (", ".join(sorted(changes)), parts, json.dumps(sorted(changes)),
                                "; linstor_replace_storageclass_names=%s misses %s" % (
                                    json.dumps(names), ", ".join(sorted(set(changes) - set(names)))) if names else ""))


def _replace_problems(s, changes):
    """linstor_replace_storageclass_names confirms exactly the replacements this run would make: a
    name it would not replace (left over from an earlier run, a typo) or a class it misses is refused."""
    names = list(s["replace_storageclass_names"] or [])
    problems = []
    if set(changes) - set(names):
        problems.append(_class_problem(changes, names))
    stray = [name for name in names if name not in changes]
    if stray:
        problems.append("linstor_replace_storageclass_names=%s names %s, which this run would not replace (%s). Nothing "
                        "was changed. It confirms one replacement, for one run: %s." % (
                            json.dumps(names), ", ".join(stray),
                            "no class of linstor_storage_classes changes a field Kubernetes never updates in place"
                            if not changes else "only %s change(s) such fields" % ", ".join(sorted(changes)),
                            "leave it out" if not changes else "set it to %s" % json.dumps(sorted(changes))))
    return problems


def _pending_problem(s, release):
    return ("Helm release %s/%s is '%s' (revision %s): an earlier helm run was interrupted, and Helm refuses every "
            "further operation until the release is recovered (helm/helm#7476). Check that no other helm run is still "
            "working on it (helm history), then re-run with linstor_recover_pending_revision: %s (for this run only: "
            "removes that revision's record so the last deployed revision is current again; the objects in the "
            "cluster stay) or recover by hand (helm rollback, or helm uninstall for a pending-install)."
            % (s["namespace"], s["release_name"], release.get("status", ""), release.get("revision", ""),
               release.get("revision", "")))


def _timestamp(value):
    """Seconds since the epoch of a Helm label (``modifiedAt``: seconds) or of an RFC 3339 time
    (``creationTimestamp``); None when it is neither."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    try:
        return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def last_written(record):
    """When Helm last wrote a release record (its Secret's metadata): the latest of its
    ``modifiedAt`` and ``createdAt`` labels and its creationTimestamp; None when none is readable."""
    labels = (record or {}).get("labels") or {}
    times = [_timestamp(labels.get("modifiedAt")), _timestamp(labels.get("createdAt")),
             _timestamp((record or {}).get("creationTimestamp"))]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def _recovery(s, release, records, now):
    """``(record, problems)``: the pending revision's release record to remove ({name, uid,
    resourceVersion}, the record exactly as the plan saw it: the delete is conditional on both), or
    why not. Recovery needs linstor_recover_pending_revision naming the pending revision, and a
    record nobody wrote for linstor_pending_release_min_age seconds: Helm holds no lock, but a
    running upgrade keeps its revision pending-* from its start to its end, so a young one may
    still be some other run's."""
    wanted = checks.parse_int(s["recover_pending_revision"], strings=True) or 0
    revision = checks.parse_int(release.get("revision"), strings=True)
    where = "Helm release %s/%s" % (s["namespace"], s["release_name"])
    if not wanted:
        return None, [_pending_problem(s, release)]
    if wanted != revision:
        return None, ["linstor_recover_pending_revision=%s does not match the pending revision of %s, which is %s ('%s'). "
                      "Nothing was changed. Check with helm history that no helm run is working on it, then set it "
                      "to %s." % (wanted, where, release.get("revision"), release.get("status"), release.get("revision"))]
    found = [r for r in records or [] if ((r or {}).get("labels") or {}).get("version") == str(revision)]
    if len(found) != 1:
        return None, ["%s is '%s' at revision %s, but %s of its release records (Secrets owner=helm, name=%s, status=%s, "
                      "version=%s) are in %s: nothing to remove safely. Nothing was changed. Recover by hand (helm "
                      "rollback, or helm uninstall for a pending-install); a Helm storage other than Secrets "
                      "(HELM_DRIVER) is not recovered by the role."
                      % (where, release.get("status"), revision, len(found), s["release_name"], release.get("status"),
                         revision, s["namespace"])]
    record = found[0]
    written = last_written(record)
    minimum = checks.parse_int(s["pending_release_min_age"], strings=True) or 0
    age = None if written is None else int(now - written)
    if age is None or age < minimum:
        return None, ["%s's pending revision %s (record %s) was last written %s: a helm run may still be working on it "
                      "(Helm keeps the revision '%s' until the run ends). Nothing was changed. Recovery waits until "
                      "it is linstor_pending_release_min_age=%s s old; check with helm history that no helm run is "
                      "active, then run again%s." % (
                          where, revision, record.get("name"),
                          "at an unknown time" if age is None else "%s s ago" % age, release.get("status"), minimum,
                          "" if age is None else " in %s s" % (minimum - age))]
    return {"name": record.get("name"), "uid": record.get("uid"),
            "resourceVersion": record.get("resourceVersion"), "age": age}, []


def _cluster_step(s, observed, now):
    """What the cluster holds against the plan: the problems, and what the install needs."""
    present = s["state"] == "present"
    problems = []
    nodes = observed.get("nodes") or []
    node_names = _names(nodes)
    missing_nodes = [n for n in s["storage_nodes"] if n not in node_names]
    if present and missing_nodes:
        problems.append("linstor_storage_nodes names %s, which the cluster has no Node for; nodes in the cluster: %s. "
                        "Use Kubernetes node names (kubectl get nodes), e.g. by naming inventory hosts after their nodes."
                        % (", ".join(missing_nodes), ", ".join(node_names)))
    if present and _flag(s["create_claim_namespaces"]):
        have = _names(observed.get("namespaces"))
        claim_namespace_objects = [pod_security.namespace(name, s["claim_namespace_pod_security"])
                                   for name in li_objects.claim_namespaces(s) if name not in have]
    else:
        claim_namespace_objects = []
    if present and s["pvcs"] and not _flag(s["create_claim_namespaces"]):
        have = _names(observed.get("namespaces"))
        wanted = []
        for item in s["pvcs"]:
            namespace = item.get("namespace") or "default"
            if namespace not in wanted:
                wanted.append(namespace)
        missing = [n for n in wanted if n not in have]
        if missing:
            problems.append("linstor_pvcs names the namespace(s) %s, which the cluster does not have. Create them first "
                            "(with the labels and quotas your cluster requires), correct the name, or set "
                            "linstor_create_claim_namespaces: true to let the role create them." % ", ".join(missing))
    if s["job_zones"]:
        problems += linstor.zone_affinity_problems("linstor_job_zones", s["job_zones"], s["job_gpu_products"] or None,
                                                   nodes)
    crds = dict((name, crd) for name, crd in zip(_names(observed.get("crds")), observed.get("crds") or []))
    missing_crds = [name for name in li_objects.CRDS if name not in crds]
    problem = _crd_problem(s, missing_crds) if present else ""
    if problem:
        problems.append(problem)
    existing = (observed.get("satellite_configuration") or [{}])[0] or {}
    if present:
        problems += linstor.pool_changes("linstor_storage_pools", (existing.get("spec") or {}).get("storagePools") or [],
                                         s["storage_pools"])
    changes = _class_changes(s, observed.get("storage_classes")) if present else {}
    replace = _replace_problems(s, changes)
    problems += replace
    release = observed.get("release") or {}
    pending = linstor.release_pending(release.get("status"))
    record = None
    if present and pending:
        record, found = _recovery(s, release, observed.get("pending_records"), now)
        problems += found
    elif s["recover_pending_revision"]:
        problems.append("linstor_recover_pending_revision=%s, but Helm release %s/%s is %s: there is nothing to recover. "
                        "Nothing was changed. Leave it out (it confirms one recovery, for one run)."
                        % (s["recover_pending_revision"], s["namespace"], s["release_name"],
                           "'%s' at revision %s" % (release.get("status"), release.get("revision")) if release
                           else "not installed"))
    return {"problems": problems, "crds_missing": missing_crds,
            "crds_established": not missing_crds and all(_established(c) for c in crds.values()),
            "class_changes": changes,
            "class_diff": {"before": dict((n, dict((c["field"], c["before"]) for c in items)) for n, items in changes.items()),
                           "after": dict((n, dict((c["field"], c["after"]) for c in items)) for n, items in changes.items())},
            "replace_classes": sorted(changes) if changes and not replace else [],
            "release_pending": pending, "pending_record": record, "claim_namespace_objects": claim_namespace_objects,
            # A deployed release whose CRDs are gone: upgraded all the same, so that Helm creates the
            # objects of its manifest that are missing (installCRDs: the CRDs are templates).
            "force_upgrade": release.get("status") == "deployed" and bool(missing_crds)}


def _render_step(s, result, observed):
    """What a server-side dry run can take now: the chart's render, the LinstorCluster and the
    satellite configuration (once their CRDs exist) and the StorageClasses (but those to be
    replaced: their immutable fields would be refused, and the role deletes them first)."""
    own = [result["cluster_object"], result["satellite_configuration_object"]]
    own += [sc for sc in result["storage_class_objects"] if sc["metadata"]["name"] not in result["class_changes"]]
    custom = [] if result["crds_missing"] else [("piraeus.io", "LinstorCluster", True),
                                                ("piraeus.io", "LinstorSatelliteConfiguration", True)]
    namespaces = [s["namespace"]] if observed.get("release_namespace") else []
    take, left_out = dry_run.selection(dry_run.manifest_objects(observed.get("manifest")) + own, s["namespace"],
                                       namespaces, custom)
    return {"dry_run_objects": take, "dry_run_left_out": left_out}


def _benchmark_step(s, observed):
    """The benchmark's figures from the Job's log, or why there are none."""
    pvc = s["fio_benchmark_pvc"]
    namespace = pvc.get("namespace") or "default"
    done = observed.get("fio_done") or {}
    succeeded = not done.get("failed") and not done.get("skipped")
    log = observed.get("fio_log") or {}
    if log.get("msg"):
        reason = log["msg"]
    elif done.get("failed"):
        reason = "the Job did not complete"
    elif log and not log.get("skipped"):
        reason = "its pod's log is empty or gone (the node that ran it was replaced, or the log rotated)"
    else:
        reason = "check mode"
    result = {"job": "%s/storage-benchmark-%s" % (namespace, pvc["name"]), "claim": "%s/%s" % (namespace, pvc["name"]),
              "node": next((n for n in ((p.get("spec") or {}).get("nodeName") for p in observed.get("fio_pods") or []) if n),
                           ""),
              "completed": succeeded}
    result.update(linstor.fio_job_result(log.get("log") or "", reason))
    return {"benchmark": result}


def _problem_line(problem):
    return "%s: %s: %s" % (problem.get("severity"), problem.get("subject") or "storage", problem.get("message"))


def summary_lines(section):
    """Lines for the run's output: notes, problems, and each claim with its phase."""
    lines = list(section.get("notes") or [])
    lines += [_problem_line(p) for p in section.get("problems") or []]
    for table in section.get("tables") or []:
        if table.get("title") == "Claims":
            for row in table.get("rows") or []:
                where = " on %s" % row[5] if row[5] else ""
                note = " - %s" % row[8] if row[8] else ""
                lines.append("claim %s (%s, %s): %s%s%s" % (row[0], row[1], row[2], row[4] or "?", where, note))
    return lines


def _report_step(s, observed, check_mode):
    section = linstor.report_section({
        "release": observed.get("release_after") or {}, "objects": observed.get("objects") or [],
        "controller_service": bool(observed.get("controller_service")), "controller": observed.get("controller") or {},
        "storage_classes": observed.get("storage_classes_after") or [],
        "wanted_classes": [sc["name"] for sc in s["storage_classes"]],
        "claims": observed.get("claims") or [], "wanted_claims": s["pvcs"], "pods": observed.get("pods") or [],
        "pvs": observed.get("pvs") or [], "benchmark": observed.get("benchmark"),
        "release_name": s["release_name"], "namespace": s["namespace"], "chart_ref": s["chart_ref"],
        "chart_version": s["chart_version"], "check_mode": check_mode})
    return {"report_section": section, "summary_lines": summary_lines(section)}


def plan(inputs, observed, check_mode=False, now=None):
    """What the role's tasks need at the step ``observed`` names (see the module's docstring).
    ``now``: seconds since the epoch (the age of a pending release record is taken against it)."""
    result = _inputs_step(inputs)
    if result["problems"]:
        return result
    # What a task may show of linstor_chart_values: every credential replaced by <redacted>.
    result["chart_values_redacted"] = redaction.redact(inputs.get("chart_values") or {})
    if all(key in observed for key in CLUSTER):
        step = _cluster_step(inputs, observed, time.time() if now is None else now)
        result["problems"].extend(step.pop("problems"))
        result.update(step)
        if all(key in observed for key in RENDER):
            result.update(_render_step(inputs, result, observed))
    if "dry_run" in observed:
        problem = dry_run.refusal_problem(observed["dry_run"], redaction.secret_values(inputs.get("chart_values")), DOC)
        if problem:
            result["problems"].append(problem)
    if all(key in observed for key in BENCHMARK):
        result.update(_benchmark_step(inputs, observed))
    if all(key in observed for key in REPORT):
        result.update(_report_step(inputs, observed, check_mode))
    if "failure" in observed:
        result["failure_message"] = redaction.scrub(observed["failure"], redaction.secret_values(inputs.get("chart_values")))
    return result
