# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every decision of the gpu_telemetry role, in one place (the gpu_telemetry_plan action plugin).

``plan(inputs, observed, check_mode)`` takes the role's variables (without the prefix) and what
the role read so far, and returns what its tasks need: the problems (refused before anything
changes), the Secret's data, whether the queue is installed alone first, the chart values and
the paths that change in them, the report section. Pure: plain dicts in and out, no I/O.

The role calls it in its preflight with the CSV file's stat (the variables' problems), then with
the objects it read (the namespace, the release, the TLS Secret); before the chart runs, with
the credentials Secret as written and the CSV's checksum (the values); in its verify step, with
what it reads to report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.gpufleet.cluster.plugins.plugin_utils import dry_run, pod_security
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.role_plan import first_object, release_summary, release_values
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.gpu_telemetry import inputs as gt_inputs
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.gpu_telemetry import values as gt_values
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.gpu_telemetry.report import report_section

# What the role reads, by step: a step's decisions are made when all its objects were given.
INPUTS = ("csv_stat",)
CLUSTER = ("namespace", "release", "tls_secret")
VALUES = ("release", "secret_version", "csv_checksum")
REPORT = ("release_after", "workloads", "autoscalers", "pods")
# The chart rendered with the planned values, and the namespace: what a server-side dry run can take.
RENDER = ("manifest", "namespace")
# The registered result of that dry run.
DRY_RUN = ("dry_run",)
OBSERVED = tuple(sorted(set(INPUTS + CLUSTER + VALUES + REPORT + RENDER + DRY_RUN)))
SECRETS = ("mongodb_uri", "redis_url")
TLS_KEYS = ("tls.crt", "tls.key")


def _var(name):
    return gt_inputs.PREFIX + name


def _b64(text):
    return base64.b64encode(str(text).encode("utf-8")).decode("ascii")


def credentials(s):
    """The credentials Secret's data: MONGODB_URI, and REDIS_URL with the redis backend."""
    data = {"MONGODB_URI": _b64(s["mongodb_uri"])}
    if s["queue_backend"] == "redis":
        data["REDIS_URL"] = _b64(s["redis_url"])
    return data


def _metadata(s, name):
    return {"name": name, "namespace": s["namespace"],
            "labels": {"app.kubernetes.io/name": "gpu-telemetry", "app.kubernetes.io/instance": s["release_name"],
                       "app.kubernetes.io/managed-by": "gpufleet.cluster.gpu_telemetry"}}


def credentials_secret(s):
    """The Secret the chart only names: the MongoDB URI, and the Redis URL with the redis backend."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": _metadata(s, s["credentials_secret_name"]),
            "data": credentials(s)}


def csv_config_map(s):
    """The ConfigMap of the metrics CSV, without its data (the role reads the file on the controller)."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(s, s["csv_configmap_name"])}


def namespace_object(s):
    """The namespace the role creates, its pods held to gpu_telemetry_namespace_pod_security."""
    return pod_security.namespace(s["namespace"], s["namespace_pod_security"])


def _render_step(s, observed):
    """The objects a server-side dry run can take now: the chart's render, the namespace the role
    creates and the credentials Secret (the CSV ConfigMap's size and name are the inputs' checks)."""
    namespaces = set([s["namespace"]]) if first_object(observed.get("namespace")) else set()
    own = [credentials_secret(s)]
    if gt_values.flag(s["create_namespace"]):
        own.insert(0, namespace_object(s))
    take, left_out = dry_run.selection(own + dry_run.manifest_objects(observed.get("manifest")), s["namespace"],
                                       namespaces)
    return {"dry_run_objects": take, "dry_run_left_out": left_out}


def _cluster_step(s, observed):
    out = {"problems": []}
    if not gt_values.flag(s["create_namespace"]) and not first_object(observed.get("namespace")):
        out["problems"].append(
            "%s=%s does not exist and %s is false: create the namespace first (with the labels and quotas your "
            "cluster requires) or set %s: true." % (_var("namespace"), s["namespace"],
                                                    _var("create_namespace"), _var("create_namespace")))
    if gt_values.flag(s["tls_enabled"]):
        keys = sorted(((first_object(observed.get("tls_secret")) or {}).get("data") or {}))
        missing = [key for key in TLS_KEYS + (s["tls_ca_key"],) if key not in keys]
        if not keys or missing:
            out["problems"].append(
                "%s=%s: %s; create a kubernetes.io/tls Secret there with tls.crt, tls.key and %s (e.g. with cert-manager) "
                "or set %s: false." % (_var("tls_secret_name"), s["tls_secret_name"],
                                       ("no such Secret in namespace " + s["namespace"]) if not keys
                                       else "the Secret lacks " + ", ".join(missing),
                                       s["tls_ca_key"], _var("tls_enabled")))
    release = observed.get("release") or {}
    # A fresh install (no release yet), or one that stopped after its first stage: the queue alone
    # first, Ready before streamers and collectors start (the seed's order).
    out["queue_first"] = not release or gt_values.flag(release_values(release).get("queueOnly"))
    out["namespace_object"] = namespace_object(s)
    out["credentials_secret"] = credentials_secret(s)
    out["csv_config_map"] = csv_config_map(s)
    out["csv_key"] = gt_values.CSV_KEY
    return out


def plan(inputs, observed=None, check_mode=False):
    """See the module's docstring. ``observed``: the objects read, by name (absent: not read yet;
    None or []: read and not found)."""
    observed = observed or {}
    s = dict(inputs)
    if "csv_stat" in observed:
        s["csv_stat"] = observed["csv_stat"] or {}
    s["pdb_max_unavailable"] = gt_values.pdb_max_unavailable(s.get("pdb_max_unavailable"))
    result = {"problems": gt_inputs.problems(s) if "csv_stat" in observed else []}
    if result["problems"]:
        return result
    if all(key in observed for key in CLUSTER):
        step = _cluster_step(s, observed)
        result["problems"].extend(step.pop("problems"))
        result.update(step)
    if all(key in observed for key in VALUES):
        values = gt_values.chart_values(s, observed["csv_checksum"], observed["secret_version"])
        result["chart_values"] = values
        result["chart_values_queue_only"] = dict(values, queueOnly=True)
        before = release_values(observed.get("release"))
        result["changed_values"] = gt_values.values_diff(before, values)
    if all(key in observed for key in RENDER):
        result.update(_render_step(s, observed))
    if "dry_run" in observed:
        problem = dry_run.refusal_problem(observed["dry_run"], [s.get(key) for key in SECRETS]
                                          + [credentials(s)[key] for key in sorted(credentials(s))], "docs/telemetry.md")
        if problem:
            result["problems"].append(problem)
    if all(key in observed for key in REPORT):
        result["report_section"] = report_section(
            release_summary(observed.get("release_after")),
            observed.get("workloads") or [], observed.get("autoscalers") or [],
            {"namespace": s["namespace"], "release_name": s["release_name"], "queue_backend": s["queue_backend"],
             "tls_enabled": gt_values.flag(s["tls_enabled"]), "tls_secret_name": s["tls_secret_name"],
             "network_policies": gt_values.flag(s["network_policies"]), "check_mode": check_mode},
            observed.get("pods") or [])
    return result
