# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision of the tensor_fusion role, in one place (the tensor_fusion_plan action plugin).

``plan(inputs, chart_defaults, observed, check_mode)`` takes the role's variables (without the
prefix), the chart's default values and what the role read from the API so far, and returns what
the role's tasks need: the problems (refused before anything changes), the settings, the chart
values, the objects, and, as the objects read are given, the decisions that depend on them
(GreptimeDB's volume, the forced upgrade, the restarts, the report section). Pure: plain dicts
in and out, no I/O.

The role calls it three times: in its preflight with the inputs alone (so that nothing is read
with a name that was not checked), then with the chart's defaults and the objects read; after
the chart ran, with the controller's config files; in its verify step, with what it reads to
report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.gpufleet.cluster.plugins.module_utils import volume_binding
from ansible_collections.gpufleet.cluster.plugins.plugin_utils import dry_run, pod_security, redaction
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import first_object, release_summary, release_values
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import credentials as tf_credentials
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import inputs as tf_inputs
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import objects as tf_objects
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion import values as tf_values
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion.chart import (
    GREPTIME_CLAIM, GREPTIME_NAMESPACE, NAMESPACE, RELEASE, RESTART_ANNOTATION, var)
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion.report import report_section

OWNER_LABELS = {volume_binding.MANAGED_BY: "gpufleet.cluster.tensor_fusion"}
# What the role reads, by step: a step's decisions are made when all its objects were given.
CLUSTER = ("release", "config_map", "greptime_namespace", "greptime_volume", "greptime_claim", "greptime_statefulset",
           "greptime_node")
RESTART = ("release", "config_map", "config_map_after", "controller")
REPORT = ("release_after", "greptime_volume_after", "greptime_claim_after", "alertmanager_claims", "statefulsets",
          "cluster", "chart_cluster")
# The chart rendered with the planned values, the two namespaces and the TensorFusionCluster CRD:
# what a server-side dry run can take.
RENDER = ("manifest", "release_namespace", "greptime_namespace", "cluster_crd")
# The registered result of that dry run.
DRY_RUN = ("dry_run",)
# The error message of a task that carried the chart values (no_log hid its result).
FAILURE = ("failure",)
OBSERVED = tuple(sorted(set(CLUSTER + RESTART + REPORT + RENDER + DRY_RUN + FAILURE)))
# What the user gave that may be a secret: never in a message.
SECRETS = ("greptimedb_password", "alertmanager_config", "chart_values")


def credential_problems(s):
    """Credentials the chart would render outside a Secret and the user did not accept by name
    (credentials.py). The variables alone decide (the chart's own defaults are not the user's), so
    the first plan, before anything is read, refuses them."""
    values = tf_values.chart_values(s, {})
    return tf_credentials.problems(values, s.get("credentials_outside_secrets"), RELEASE)


def chart_problem(defaults, chart_ref, chart_version):
    """Why the chart's default values are not the tensor-fusion chart's ('' when they are)."""
    defaults = defaults if isinstance(defaults, dict) else {}
    controller = defaults.get("controller") if isinstance(defaults.get("controller"), dict) else {}
    dynamic = defaults.get("dynamicConfig") if isinstance(defaults.get("dynamicConfig"), dict) else {}
    if controller.get("command") and "alertRules" in dynamic and "schedulerConfig" in defaults:
        return ""
    return ("%s=%s (version %s) has no controller.command, dynamicConfig.alertRules or schedulerConfig in its values: "
            "point it at the tensor-fusion chart (1.8.7)" % (var("chart_ref"), chart_ref, chart_version))


def volume_source_problem(s, volume):
    """Why the existing GreptimeDB volume cannot take the settings' source ('' when it can): a
    PersistentVolume's source and node affinity cannot change once it exists."""
    if not volume:
        return ""
    storage = tf_objects.storage_objects(s)
    want_spec = [o for o in storage if o["kind"] == "PersistentVolume"][0]["spec"]
    claim = [o for o in storage if o["kind"] == "PersistentVolumeClaim"][0]["metadata"]
    have_spec = volume.get("spec") or {}

    def source(spec):
        return {"nfs": spec.get("nfs"), "hostPath": (spec.get("hostPath") or {}).get("path"),
                "nodeAffinity": spec.get("nodeAffinity")}

    want, have = source(want_spec), source(have_spec)
    if want == have:
        return ""
    return ("PersistentVolume %s (%s) already exists with %s, but %s, %s, %s, %s and %s now give %s; a volume's source "
            "and node affinity cannot change. Set those variables back to the volume's values, or move GreptimeDB's "
            "data, uninstall the release, delete the claim %s/%s and the volume, and run again (or give a new %s)"
            % (s["greptimedb_volume_name"], var("greptimedb_volume_name"), json.dumps(have, sort_keys=True),
               var("greptimedb_volume_type"), var("greptimedb_nfs_server"), var("greptimedb_nfs_path"),
               var("greptimedb_host_path"), var("greptimedb_node"), json.dumps(want, sort_keys=True),
               claim["namespace"], claim["name"], var("greptimedb_volume_name")))


def _cluster_step(s, values, observed, check_mode):
    """The decisions made on what the preflight read: problems, the volume to rebind, the objects to
    apply, whether Helm must upgrade without a change and whether the hypervisors restart."""
    release = observed.get("release") or None
    standalone = s.get("greptimedb_mode") == "standalone"
    volume, claim = first_object(observed.get("greptime_volume")), first_object(observed.get("greptime_claim"))
    out = {"problems": [], "rebind": {"action": "none", "message": "", "patch": None}}
    if standalone:
        out["rebind"] = volume_binding.rebind(volume, claim, GREPTIME_NAMESPACE, GREPTIME_CLAIM, OWNER_LABELS,
                                              var("greptimedb_volume_name"))
        if out["rebind"]["action"] == "refuse":
            out["problems"].append(out["rebind"]["message"])
        # A hostPath volume's node (None: not read, the volume is not a hostPath): a typo would give
        # a volume no pod can ever use, its claim Bound and GreptimeDB Pending for ever.
        if s.get("greptimedb_volume_type") == "hostpath" and observed.get("greptime_node") == []:
            out["problems"].append("%s=%r is not a node of this cluster; name the node that holds %s=%r (kubectl get nodes)"
                                   % (var("greptimedb_node"), s.get("greptimedb_node"), var("greptimedb_host_path"),
                                      s.get("greptimedb_host_path")))
        for problem in (volume_binding.claim_conflict(claim, s["greptimedb_volume_name"], s["greptimedb_storage_class"],
                                                      var("greptimedb_volume_name"), var("greptimedb_storage_class")),
                        volume_source_problem(s, volume)):
            if problem:
                out["problems"].append(problem)
    storage = tf_objects.storage_objects(s)
    if check_mode and not first_object(observed.get("greptime_namespace")):
        # In check mode a namespace that does not exist yet cannot take a dry-run claim.
        storage = [o for o in storage if o["kind"] != "PersistentVolumeClaim"]
    out["storage_objects"] = storage
    # Helm upgrades only when the values or the chart changed: a deployed release whose GreptimeDB
    # StatefulSet is gone (its namespace was deleted) is upgraded all the same, which makes Helm
    # create the objects of its manifest that are missing.
    out["force_upgrade"] = bool(standalone and release and release.get("status") == "deployed"
                                and not first_object(observed.get("greptime_statefulset")))
    before = release_values(release)
    out["changed_paths"] = tf_values.changed_paths(before, values) if values is not None else []
    # The seed: after nvidiaOperatorProgressiveMigration is switched on, every hypervisor pod restarts
    # so that it detects the GPUs the NVIDIA device plugin allocated.
    was_on = tf_inputs.flag((before.get("controller") or {}).get("nvidiaOperatorProgressiveMigration"))
    out["restart_hypervisors"] = bool(release and tf_inputs.flag(s.get("nvidia_operator_progressive_migration"))
                                      and not was_on)
    # The TensorFusionCluster needs its CRD: in check mode on a new release there is none to dry-run against.
    out["apply_cluster"] = bool(release or not check_mode)
    return out


def _restart_step(observed):
    """The hash to stamp on the controller's pod template ('' when no restart is due): the
    controller reads its config files (mounted with subPath) only when its pod starts."""
    controller = first_object(observed.get("controller"))
    if not controller:
        return ""
    before = (first_object(observed.get("config_map")) or {}).get("data") if observed.get("release") else None
    after = first_object(observed.get("config_map_after"))
    annotations = ((controller.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations") or {}
    return tf_objects.restart_needed(before, (after or {}).get("data") if after else None,
                                     annotations.get(RESTART_ANNOTATION, ""))


def namespace_objects(s):
    """The namespaces the role creates, with their Pod Security labels: the release's, and
    GreptimeDB's (standalone) with Helm's ownership metadata, so that the chart, which renders that
    Namespace itself, adopts it (Helm's three-way merge keeps the labels it does not render)."""
    objects = [pod_security.namespace(NAMESPACE, s["namespace_pod_security"])]
    if s.get("greptimedb_mode") == "standalone":
        objects.insert(0, pod_security.namespace(
            GREPTIME_NAMESPACE, s["greptimedb_namespace_pod_security"], {"app.kubernetes.io/managed-by": "Helm"},
            {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": NAMESPACE}))
    return objects


def _render_step(s, observed):
    """The objects a server-side dry run can take now: the chart's render and the role's own
    (the GreptimeDB namespace, storage objects, the TensorFusionCluster when its CRD exists)."""
    namespaces = set()
    for key in ("release_namespace", "greptime_namespace"):
        found = first_object(observed.get(key))
        if found:
            namespaces.add((found.get("metadata") or {}).get("name"))
    custom = [("tensor-fusion.ai", "TensorFusionCluster", True)] if first_object(observed.get("cluster_crd")) else []
    own = tf_objects.storage_objects(s) + [tf_objects.cluster_resource(s)]
    own = namespace_objects(s) + own
    take, left_out = dry_run.selection(dry_run.manifest_objects(observed.get("manifest")) + own, NAMESPACE, namespaces,
                                       custom)
    return {"dry_run_objects": take, "dry_run_left_out": left_out}


def _report_step(s, observed, check_mode):
    volume, claim = first_object(observed.get("greptime_volume_after")), first_object(observed.get("greptime_claim_after"))
    blocked = volume_binding.blocked_binding(volume, claim) if s.get("greptimedb_mode") == "standalone" else ""
    release = release_summary(observed.get("release_after"))
    claims = ([claim] if claim else []) + [c for c in observed.get("alertmanager_claims") or []
                                           if c["metadata"]["name"].startswith("alertmanager-storage-")]
    section = report_section(release, claims, observed.get("statefulsets") or [], first_object(observed.get("cluster")) or {}, s,
                             {"check_mode": check_mode,
                              "chart_cluster": "tensor-fusion" if first_object(observed.get("chart_cluster")) else ""})
    return {"blocked": blocked, "report_section": section}


def plan(inputs, chart_defaults=None, observed=None, check_mode=False, chart=None):
    """See the module's docstring. ``observed`` holds the objects read by name (absent: not read
    yet; None or []: read and not found); ``chart`` the chart's reference and version, for messages."""
    observed = observed or {}
    s = tf_inputs.settings(inputs)
    result = {"settings": s, "problems": tf_inputs.problems(s)}
    if not result["problems"]:
        result["problems"] = credential_problems(s)
    if result["problems"]:
        return result
    result["cluster_object"] = tf_objects.cluster_resource(s)
    result["storage_objects"] = tf_objects.storage_objects(s)
    result["greptime_security_context"] = tf_objects.greptime_security_context(s)
    result["namespace_objects"] = namespace_objects(s)
    result["reads"] = {"cluster": tf_objects.cluster_reads(s), "restart": tf_objects.restart_reads(),
                       "verify": tf_objects.verify_reads(s)}
    values = None
    if chart_defaults is not None:
        problem = chart_problem(chart_defaults, *(chart or ("?", "?")))
        if problem:
            result["problems"].append(problem)
            return result
        values = result["chart_values"] = tf_values.chart_values(s, chart_defaults)
        # What a task may show of them: every credential replaced by <redacted>.
        result["chart_values_redacted"] = redaction.redact(values)
    if all(key in observed for key in CLUSTER):
        step = _cluster_step(s, values, observed, check_mode)
        result["problems"].extend(step.pop("problems"))
        result.update(step)
    if all(key in observed for key in RENDER):
        result.update(_render_step(s, observed))
    if "dry_run" in observed:
        problem = dry_run.refusal_problem(observed["dry_run"], [s.get(key) for key in SECRETS], "docs/observability.md")
        if problem:
            result["problems"].append(problem)
    if all(key in observed for key in RESTART):
        result["restart_hash"] = _restart_step(observed)
    if all(key in observed for key in REPORT):
        result.update(_report_step(s, observed, check_mode))
    if "failure" in observed:
        result["failure_message"] = redaction.scrub(observed["failure"], [s.get(key) for key in SECRETS])
    return result
