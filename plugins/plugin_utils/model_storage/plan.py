# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision of the model_storage role, in one place (the model_storage_plan action plugin).

``plan(inputs, observed, check_mode, host)`` takes the role's variables (without the prefix) and
what the role read so far, and returns what its tasks need. Pure: plain dicts in and out, no I/O.

The role calls it
- on every GPU host (entry point ``inspect``) with the stat results of the model directories:
  the host's ``inspection``;
- in its preflight with every host's inspection (the problems of the variables and of the hosts,
  the volume's nodes and every object), then with what ``model_storage_info`` read (the plan
  against the cluster: its problems, the objects to write, the volume to bind again, the objects a
  server-side dry run can take now), then with the dry run's answer;
- in its verify step with what it read back: the report section and the errors it fails on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks
from ansible_collections.gpufleet.cluster.plugins.plugin_utils import dry_run, pod_security
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage.hosts import summarise_host
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage.inputs import PLACEMENT_TABLE, namespace_level
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage.objects import (
    cluster_problems, objects_plan)
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage.report import report_section

# What the role reads, by step: a step's decisions are made when all its objects were given.
INSPECT = ("root", "dirs", "markers")
HOSTS = ("inspections",)
CLUSTER = ("cluster",)
DRY_RUN = ("dry_run",)
REPORT = ("readback", "placement")
OBSERVED = tuple(sorted(set(INSPECT + HOSTS + CLUSTER + DRY_RUN + REPORT)))
DOC = "docs/model-storage.md"


def _results(registered):
    """The ``results`` of a registered stat loop (a list of them is taken as it is)."""
    if isinstance(registered, list):
        return registered
    return (registered or {}).get("results") or []


def _inspect_step(inputs, observed, host):
    """One host's summary of its model directories (its fact ``model_storage_inspection``)."""
    node = inputs.get("node_name") or host
    summary = summarise_host(node, inputs["dir"], observed.get("root") or {}, _results(observed.get("dirs")),
                             _results(observed.get("markers")), inputs.get("models") or [], inputs["marker"])
    summary["host"] = host
    return {"problems": [], "inspection": summary}


def _flag(value):
    return checks.parse_boolean(value) is True


def _cluster_step(inputs, the_plan, cluster):
    """The plan against the cluster: problems, the objects to write, the volume to bind again and
    what a server-side dry run can take now."""
    cluster = dict(cluster or {})
    cluster["node_names"] = [((n or {}).get("metadata") or {}).get("name") for n in cluster.get("nodes") or []]
    check = cluster_problems(the_plan, inputs, cluster)
    objects = the_plan["objects"]
    # Only the kinds whose CRD is installed, and only when asked for.
    models = [m for m in objects["models"] if m["kind"] in check["model_kinds"]] if _flag(inputs["ome_objects"]) else []
    install = []
    if _flag(inputs["create_namespace"]):
        install.append(pod_security.namespace(inputs["namespace"], namespace_level(inputs)))
    if _flag(inputs["manage_storage_class"]):
        install.append(objects["storage_class"])
    apply = [objects["pv"], objects["pvc"]] + models
    namespaces = [inputs["namespace"]] if cluster.get("serving_namespace") else []
    custom = [("ome.io", kind, kind == "ClusterBaseModel") for kind in check["model_kinds"]]
    take, left_out = dry_run.selection(install + apply, inputs["namespace"], namespaces, custom)
    return {"problems": list(check["errors"]), "cluster_warnings": check["warnings"],
            "infos": check["infos"], "version": check["version"], "rebind": check["rebind"],
            "model_objects": models, "install_objects": install, "apply_objects": apply,
            "dry_run_objects": take, "dry_run_left_out": left_out}


def _report_step(inputs, the_plan, observed, check_mode):
    """The report section, and the errors the role fails on: the section's, and pv_affinity_info's
    about the model volume."""
    back = observed.get("readback") or {}
    back = back if not back.get("skipped") else {}
    section = report_section(the_plan, inputs, {
        "check_mode": check_mode, "pv": back.get("pv") or {}, "pvc": back.get("pvc") or {},
        "nodes": back.get("nodes") or [], "planned_models": the_plan.get("model_objects") or [],
        "models": back.get("models") or [], "pods": back.get("pods") or [], "placement": observed.get("placement") or [],
        # The hosts' warnings are the plan's own; these are the cluster's.
        "warnings": the_plan.get("cluster_warnings") or [],
        "infos": the_plan.get("infos") or [], "version": the_plan.get("version") or ""})
    errors = [p["message"] for p in section["problems"] if p["severity"] == "error"]
    for table in section["tables"]:
        if table["title"] == PLACEMENT_TABLE:
            errors.extend(row[3] for row in table["rows"] if row[0] == "error")
    return {"report_section": section, "report_errors": errors}


def plan(inputs, observed, check_mode=False, host=None):
    """What the role's tasks need at the step ``observed`` names (see the module's docstring)."""
    if any(key in observed for key in INSPECT):
        return _inspect_step(inputs, observed, host)
    result = {"problems": []}
    if "inspections" in observed:
        by_host = observed["inspections"] or {}
        result = objects_plan(inputs, by_host)
        if not result["problems"] and result["objects"] and "cluster" in observed:
            step = _cluster_step(inputs, result, observed["cluster"])
            result["problems"].extend(step.pop("problems"))
            result.update(step)
        if all(key in observed for key in REPORT):
            result.update(_report_step(inputs, result, observed, check_mode))
    if "dry_run" in observed:
        problem = dry_run.refusal_problem(observed["dry_run"], [], DOC)
        if problem:
            result["problems"].append(problem)
    return result
