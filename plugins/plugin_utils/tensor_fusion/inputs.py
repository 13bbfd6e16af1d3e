# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tensor_fusion role's profiles and input checks.

``settings(inputs)`` lays the role's variables (without the ``tensor_fusion_`` prefix; None means
"the profile's") over the profile they name. ``problems(settings)`` returns one sentence per
problem, naming the variable, its value and the fix. Pure: plain dicts in and out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks, node_inputs
from ansible_collections.gpufleet.cluster.plugins.plugin_utils import pod_security
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion.chart import var as _var


# The seed's conservative production oversubscription (tflops %, VRAM to host memory %, to disk %).
CONSERVATIVE = {"tflopsOversellRatio": 300, "vramExpandToHostMem": 40, "vramExpandToHostDisk": 20}

_POOL_DEFAULT = {
    "name": "shared",
    "isDefault": True,
    "capacity": {
        "maxResources": {"tflops": "100", "vram": "100Gi"},
        "minResources": {"tflops": "20", "vram": "10Gi"},
        "warmResources": {"tflops": "10", "vram": "5Gi"},
    },
    "node_selector": {"nvidia.com/gpu.present": "true"},
    "provisioning_mode": "AutoSelect",
}

PROFILES = {
    # The seed's AMD setup: GreptimeDB standalone on NFS, AlertManager on an emptyDir.
    "testing": {
        "controller_replicas": 1,
        "controller_resources": None,
        "agent_resources": None,
        "greptimedb_mode": "standalone",
        "greptimedb_size": "20Gi",
        "alertmanager_mode": "emptydir",
        "alertmanager_replicas": 1,
        "alertmanager_resources": None,
        "alertmanager_size": "",
        "log_level": "info",
        "gpu_pools": [dict(_POOL_DEFAULT, oversubscription={"tflopsOversellRatio": 500, "vramExpandToHostMem": 50,
                                                            "vramExpandToHostDisk": 60},
                           auto_update=True)],
    },
    # The seed's values-production: HA controller, agent resources, AlertManager x3 on claims,
    # GreptimeDB 50Gi (or Greptime Cloud / your own), conservative oversubscription, no auto-update.
    "production": {
        "controller_replicas": 2,
        "controller_resources": {"requests": {"memory": "1Gi", "cpu": "1000m"},
                                 "limits": {"memory": "4Gi", "cpu": "4000m"}},
        "agent_resources": {"requests": {"cpu": "500m", "memory": "256Mi"},
                            "limits": {"cpu": "4000m", "memory": "2Gi"}},
        "greptimedb_mode": "standalone",
        "greptimedb_size": "50Gi",
        "alertmanager_mode": "persistent",
        "alertmanager_replicas": 3,
        "alertmanager_resources": {"requests": {"memory": "256Mi", "cpu": "200m"},
                                   "limits": {"memory": "1Gi", "cpu": "2000m"}},
        "alertmanager_size": "5Gi",
        "log_level": "info",
        "gpu_pools": [dict(_POOL_DEFAULT, oversubscription=dict(CONSERVATIVE), auto_update=False)],
    },
}

# Matched whole (re.fullmatch): '$' would let a trailing newline through.
_CRON_FIELD = re.compile(r"[0-9*/,\-A-Za-z?LW#]+")
_RETENTION = re.compile(r"[0-9]+[dhmw]")
# The role's boolean variables (and a pool's): read as Ansible reads them, anything else refused.
FLAGS = ("controller_auto_scale", "nvidia_operator_progressive_migration", "allow_debug_log_level")
POOL_FLAGS = ("isDefault", "auto_update")
PROVISIONING_MODES = ("AutoSelect", "Provisioned", "Karpenter")
METRICS_FORMATS = ("influx", "json", "otel")
GREPTIME_MODES = ("standalone", "cloud", "external")
ALERTMANAGER_MODES = ("emptydir", "persistent", "existing")
VOLUME_TYPES = ("nfs", "hostpath")
LOG_LEVELS = ("trace", "debug", "info", "warn", "error")
RULE_REQUIRED = ("name", "query", "threshold", "evaluationInterval", "consecutiveCount", "severity", "summary",
                 "alertTargetInstance")
RULE_FIELDS = RULE_REQUIRED + ("description", "runbookURL")


def settings(inputs):
    """The profile's settings with every variable that is not None laid over them; the role's
    booleans read as Ansible reads them (a survey's "false" is False), anything else left as
    given for problems() to refuse."""
    profile = inputs.get("profile")
    result = copy.deepcopy(PROFILES.get(profile, {}))
    for key, value in inputs.items():
        if value is not None:
            result[key] = copy.deepcopy(value)
    for key in FLAGS:
        parsed = checks.parse_boolean(result.get(key))
        if key in result and parsed is not None:
            result[key] = parsed
    return result


def flag(value, default=False):
    """A boolean as Ansible reads it ("no" is False); the preflight refused anything else."""
    parsed = checks.parse_boolean(value)
    return default if parsed is None else parsed


def is_go_duration(value):
    return checks.parse_duration(value) is not None


def _size_problem(name, value, example):
    if not isinstance(value, str) or not value:
        return "%s=%r is not set; give a size such as %r" % (_var(name), value, example)
    return checks.quantity_problem(_var(name), value, example, whole=True, numbers=False)


def _int_between(name, value, low, high, example):
    return checks.int_problem(name, value, low, high, example, why=" (the CRD's bounds)")


def _resources_problems(name, value):
    """Problems with a Kubernetes resources block ({requests, limits} of unsigned quantities)."""
    if value in (None, {}):
        return []
    if not isinstance(value, dict) or set(value) - set(("requests", "limits")) \
            or not all(isinstance(v, dict) for v in value.values()):
        return ["%s=%r is not a resources block; give requests and/or limits, e.g. {requests: {cpu: 500m, memory: 256Mi}}"
                % (_var(name), value)]
    out = []
    for kind in sorted(value):
        for resource in sorted(value[kind], key=str):
            problem = checks.quantity_problem("%s.%s.%s" % (_var(name), kind, resource), value[kind][resource],
                                              "500m" if resource == "cpu" else "256Mi", allow_zero=True)
            if problem:
                out.append(problem)
    return out


def _host_port_problem(name, value):
    host, sep, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if not sep or not checks.is_hostname(host) or checks.parse_int(port, strings=True) is None \
            or not 1 <= int(port) <= 65535:
        return ("%s=%r is not host:port; give your AlertManager, e.g. alertmanager.monitoring.svc.cluster.local:9093"
                % (_var(name), value))
    return None


def cron_problem(name, value):
    if not isinstance(value, str) or checks.control_characters(value):
        return "%s=%r is not a cron string; use 5 fields on one line, e.g. '1 1 * * *'" % (name, value)
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        return ("%s=%r is not a cron schedule of 5 fields (minute hour day-of-month month day-of-week); "
                "e.g. '1 1 * * *' (01:01 every day)" % (name, value))
    return None


def _rule_problems(index, rule):
    name = "%s[%d]" % (_var("alert_rules"), index)
    if not isinstance(rule, dict):
        return ["%s=%r is not a rule; give name, query, threshold, evaluationInterval, consecutiveCount, severity, "
                "summary, alertTargetInstance" % (name, rule)]
    out = []
    for field in RULE_REQUIRED:
        if rule.get(field) in (None, ""):
            out.append("%s (%s) has no %s; every alert rule needs %s"
                       % (name, rule.get("name", "?"), field, ", ".join(RULE_REQUIRED)))
    unknown = sorted(set(rule) - set(RULE_FIELDS))
    if unknown:
        out.append("%s has the unknown field(s) %s; the fields are %s" % (name, ", ".join(unknown), ", ".join(RULE_FIELDS)))
    interval = rule.get("evaluationInterval")
    if interval not in (None, "") and not is_go_duration(interval):
        out.append("%s.evaluationInterval=%r is not a Go duration (the rule evaluator aborts on it); use h, m, s "
                   "units such as '24h' or '15s'" % (name, interval))
    count = rule.get("consecutiveCount")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        out.append("%s.consecutiveCount=%r must be a whole number >= 1, e.g. 3" % (name, count))
    threshold = rule.get("threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
        out.append("%s.threshold=%r is not a number; e.g. 0 or 97" % (name, threshold))
    return out


def _scheduler_problems(plugin_config):
    name = _var("scheduler_plugin_config")
    if not isinstance(plugin_config, list):
        return ["%s=%r is not a list of {name, args}" % (name, plugin_config)]
    out = []
    for index, entry in enumerate(plugin_config):
        where = "%s[%d]" % (name, index)
        if not isinstance(entry, dict) or not entry.get("name") or not isinstance(entry.get("args", {}), dict):
            out.append("%s=%r is not a plugin config; give {name: GPUResourcesFit, args: {...}}" % (where, entry))
            continue
        args = entry.get("args", {})
        if entry["name"] == "GPUResourcesFit":
            weights = [args.get(k) for k in ("vramWeight", "tflopsWeight") if k in args]
            if any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 or w > 1 for w in weights):
                out.append("%s.args: vramWeight and tflopsWeight must be numbers from 0 to 1, got %r"
                           % (where, weights))
            elif len(weights) == 2 and abs(sum(weights) - 1) > 1e-9:
                out.append("%s.args: vramWeight + tflopsWeight = %r; they must add up to 1 (e.g. 0.7 and 0.3)"
                           % (where, sum(weights)))
            if "maxWorkerPerNode" in args:
                problem = _int_between(where + ".args.maxWorkerPerNode", args["maxWorkerPerNode"], 1, 100000, 256)
                if problem:
                    out.append(problem)
        if entry["name"] == "NodeResourcesFit":
            strategy = args.get("scoringStrategy", {}) or {}
            for rindex, res in enumerate(strategy.get("resources", []) or []):
                problem = _int_between("%s.args.scoringStrategy.resources[%d].weight" % (where, rindex),
                                       (res or {}).get("weight"), 1, 100, 1)
                if problem:
                    out.append(problem)
            shape = (strategy.get("requestedToCapacityRatio") or {}).get("shape", [])
            last = None
            for sindex, point in enumerate(shape or []):
                pname = "%s.args.scoringStrategy.requestedToCapacityRatio.shape[%d]" % (where, sindex)
                util, score = (point or {}).get("utilization"), (point or {}).get("score")
                problem = _int_between(pname + ".utilization", util, 0, 100, 75) or _int_between(
                    pname + ".score", score, 0, 10, 9)
                if problem:
                    out.append(problem)
                    continue
                if last is not None and util <= last:
                    out.append("%s.utilization=%r is not above the previous point's %r; shape points must be in "
                               "ascending utilization" % (pname, util, last))
                last = util
    return out


def _pool_problems(index, pool):
    name = "%s[%d]" % (_var("gpu_pools"), index)
    if not isinstance(pool, dict) or not checks.is_dns_label(pool.get("name")):
        return ["%s has no valid name%s; give a lower-case name such as 'shared'"
                % (name, " (%r)" % (pool.get("name"),) if isinstance(pool, dict) and "name" in pool else "")]
    out = []
    for key in POOL_FLAGS:
        if key in pool:
            problem = checks.boolean_problem("%s.%s" % (name, key), pool[key])
            if problem:
                out.append(problem)
    out.extend(checks.labels_problems("%s.node_selector" % name, pool.get("node_selector"), "nvidia.com/gpu.present", "true"))
    over = pool.get("oversubscription") or {}
    for key, low, high, example in (("tflopsOversellRatio", 100, 100000, 300), ("vramExpandToHostMem", 0, 100, 40),
                                    ("vramExpandToHostDisk", 0, 100, 20)):
        if key in over:
            problem = _int_between("%s.oversubscription.%s" % (name, key), over[key], low, high, example)
            if problem:
                out.append(problem)
    for tier, values in sorted((pool.get("capacity") or {}).items()):
        if tier not in ("maxResources", "minResources", "warmResources"):
            out.append("%s.capacity.%s is not a capacity tier; use maxResources, minResources, warmResources"
                       % (name, tier))
            continue
        for res, qty in sorted((values or {}).items()):
            if res not in ("cpu", "memory", "tflops", "vram") or not checks.is_quantity(qty):
                out.append("%s.capacity.%s.%s=%r is not a quantity of cpu, memory, tflops or vram; e.g. vram: '100Gi'"
                           % (name, tier, res, qty))
    mode = pool.get("provisioning_mode", "AutoSelect")
    if mode not in PROVISIONING_MODES:
        fix = [m for m in PROVISIONING_MODES if m.lower() == str(mode).lower()]
        out.append("%s.provisioning_mode=%r is not one of %s%s" % (
            name, mode, ", ".join(PROVISIONING_MODES), " (write %r: the CRD's enum is case-sensitive)" % fix[0] if fix else ""))
    if mode == "Karpenter":
        ref = (pool.get("node_provisioner") or {}).get("karpenterNodeClassRef") or {}
        missing = [k for k in ("group", "kind", "name", "version") if not ref.get(k)]
        if missing:
            out.append("%s: provisioning_mode Karpenter needs node_provisioner.karpenterNodeClassRef with group, kind, "
                       "name and version; missing %s" % (name, ", ".join(missing)))
    if mode == "Provisioned" and not (pool.get("node_provisioner") or {}).get("nodeClass"):
        out.append("%s: provisioning_mode Provisioned needs node_provisioner.nodeClass (the GPUNodeClass name)" % name)
    rolling = pool.get("rolling_update") or {}
    for cindex, cron in enumerate((rolling.get("maintenanceWindow") or {}).get("includes", []) or []):
        problem = cron_problem("%s.rolling_update.maintenanceWindow.includes[%d]" % (name, cindex), cron)
        if problem:
            out.append(problem)
    for key in ("batchInterval", "maxDuration"):
        if key in rolling and not is_go_duration(rolling[key]):
            out.append("%s.rolling_update.%s=%r is not a Go duration; e.g. '5m'" % (name, key, rolling[key]))
    if "batchPercentage" in rolling:
        problem = _int_between(name + ".rolling_update.batchPercentage", rolling["batchPercentage"], 1, 100, 20)
        if problem:
            out.append(problem)
    return out


# The chart values the role sets from its own variables (chart_values), with those variables: a
# key of tensor_fusion_chart_values (merged last) at, under or above one of them would silently win
# over the variable, past its checks and the report.
ROLE_VALUES = (
    ("controller.replicaCount", "controller_replicas"),
    ("controller.command", "controller_extra_args, controller_auto_scale, alertmanager_address"),
    ("controller.nvidiaOperatorProgressiveMigration", "nvidia_operator_progressive_migration"),
    ("controller.resources", "controller_resources"),
    ("greptime.installStandalone", "greptimedb_mode"),
    ("greptime.isCloud", "greptimedb_mode"),
    ("greptime.host", "greptimedb_host"),
    ("greptime.port", "greptimedb_port"),
    ("greptime.db", "greptimedb_db"),
    ("greptime.user", "greptimedb_user"),
    ("greptime.password", "greptimedb_password"),
    ("alert.enabled", "alertmanager_mode"),
    ("alert.replicaCount", "alertmanager_replicas"),
    ("alert.persistence", "alertmanager_mode, alertmanager_size, alertmanager_storage_class"),
    ("alert.alertManagerConfig", "alertmanager_config"),
    ("alert.resources", "alertmanager_resources"),
    ("dynamicConfig.metricsTTL", "metrics_ttl"),
    ("dynamicConfig.metricsFormat", "metrics_format"),
    ("dynamicConfig.alertRules", "alert_rules"),
    ("schedulerConfig", "scheduler_plugin_config"),
    ("cluster.enabled", None),
    ("agent.resources", "agent_resources"),
)


def chart_values_override_problems(chart_values):
    """Keys of tensor_fusion_chart_values that would override a value the role sets from one of its
    variables (deep-merged last, they would win unchecked). The value is never shown: it may be a
    password."""
    if not isinstance(chart_values, dict):
        return []
    variables = dict(ROLE_VALUES)
    out = []
    for path, owned in checks.overriding_paths(chart_values, [p for p, _v in ROLE_VALUES]):
        if variables[owned] is None:
            out.append("%s sets %s, which the role keeps false: it applies the TensorFusionCluster itself (%s); "
                       "remove it" % (_var("chart_values"), path, _var("cluster_name")))
        else:
            names = [_var(v.strip()) for v in variables[owned].split(",")]
            out.append("%s sets %s, which the role sets from %s: set %s instead (the value given there is not "
                       "shown)" % (_var("chart_values"), path, ", ".join(names), "that" if len(names) == 1 else "those"))
    return out


def problems(s):
    """One sentence per problem with the resolved settings (see ``settings``)."""
    out = []
    if s.get("profile") not in PROFILES:
        return ["%s=%r is not a profile; use one of %s" % (_var("profile"), s.get("profile"), ", ".join(sorted(PROFILES)))]
    out.extend(chart_values_override_problems(s.get("chart_values")))
    out.extend(checks.helm_problems("tensor_fusion", s, "tensor-fusion/tensor-fusion", "1.8.7"))
    for key in FLAGS:
        if key in s:
            problem = checks.boolean_problem(_var(key), s[key])
            if problem:
                out.append(problem)
    for key in ("controller_resources", "agent_resources", "alertmanager_resources"):
        out.extend(_resources_problems(key, s.get(key)))
    if s.get("cluster_name") is not None:
        problem = checks.dns_label_problem(_var("cluster_name"), s.get("cluster_name"), "tensor-fusion")
        if problem:
            out.append(problem)
    mode = s.get("greptimedb_mode")
    if mode not in GREPTIME_MODES:
        out.append("%s=%r is not one of %s" % (_var("greptimedb_mode"), mode, ", ".join(GREPTIME_MODES)))
    if mode == "standalone":
        problem = _size_problem("greptimedb_size", s.get("greptimedb_size"), "20Gi")
        if problem:
            out.append(problem)
        vtype = s.get("greptimedb_volume_type")
        if vtype not in VOLUME_TYPES:
            out.append("%s=%r is not one of %s" % (_var("greptimedb_volume_type"), vtype, ", ".join(VOLUME_TYPES)))
        if vtype == "nfs":
            # Root is squashed on the export, which belongs to the service's own ids (nfs_server):
            # GreptimeDB must run as them, never as root.
            for key in ("greptimedb_run_as_user", "greptimedb_run_as_group"):
                problem = checks.int_problem(_var(key), s.get(key), 1, 2147483647, 10001,
                                             why=" (the NFS export's owner; 0 is root, which the export squashes)")
                if problem:
                    out.append(problem)
        if vtype == "nfs" and not (checks.is_hostname(s.get("greptimedb_nfs_server"))
                                   and not checks.path_problem("p", s.get("greptimedb_nfs_path"), config_file=True)):
            out.append("%s=%r / %s=%r: an NFS volume needs the server's address and the export's absolute path, e.g. "
                       "10.89.40.10 and /srv/nfs/greptimedb (the nfs_server role's export)"
                       % (_var("greptimedb_nfs_server"), s.get("greptimedb_nfs_server"), _var("greptimedb_nfs_path"),
                          s.get("greptimedb_nfs_path")))
        elif vtype == "hostpath":
            # The directory on the node GreptimeDB writes as root: checked as the node roles check
            # the directories they own (clean, absolute, no system directory by prefix).
            problem = node_inputs.path_problem(_var("greptimedb_host_path"), s.get("greptimedb_host_path"))
            if problem:
                out.append(problem + " (the directory on tensor_fusion_greptimedb_node that holds GreptimeDB's data)")
            if not checks.is_dns_subdomain(s.get("greptimedb_node")):
                out.append("%s=%r is not a node name: a hostPath volume needs the node that holds it, e.g. 'gpu-ucsd-1'"
                           % (_var("greptimedb_node"), s.get("greptimedb_node")))
        problem = checks.dns_subdomain_problem(_var("greptimedb_storage_class"), s.get("greptimedb_storage_class"),
                                               "local-storage", what="a StorageClass name")
        if problem:
            out.append(problem)
    if mode in ("cloud", "external"):
        if not s.get("greptimedb_host"):
            out.append("%s is empty but %s=%r; give the GreptimeDB host, e.g. <db-instance>.us-west-2.aws.greptime.cloud"
                       % (_var("greptimedb_host"), _var("greptimedb_mode"), mode))
        else:
            problem = checks.host_problem(_var("greptimedb_host"), s.get("greptimedb_host"),
                                          "<db-instance>.us-west-2.aws.greptime.cloud")
            if problem:
                out.append(problem)
        problem = _int_between(_var("greptimedb_port"), s.get("greptimedb_port"), 1, 65535, 5001 if mode == "cloud" else 4001)
        if problem:
            out.append(problem)
        if mode == "cloud" and not s.get("greptimedb_password"):
            out.append("%s is empty but %s='cloud'; set it from a vault (ansible-vault encrypt_string)"
                       % (_var("greptimedb_password"), _var("greptimedb_mode")))
        out.extend(greptime_name_problems(s))
    am = s.get("alertmanager_mode")
    if am not in ALERTMANAGER_MODES:
        out.append("%s=%r is not one of %s" % (_var("alertmanager_mode"), am, ", ".join(ALERTMANAGER_MODES)))
    if am == "persistent":
        if not s.get("alertmanager_size"):
            out.append("%s is empty but %s='persistent': the chart's claim has no default size; set e.g. '5Gi'"
                       % (_var("alertmanager_size"), _var("alertmanager_mode")))
        else:
            problem = _size_problem("alertmanager_size", s.get("alertmanager_size"), "5Gi")
            if problem:
                out.append(problem)
        if not s.get("alertmanager_storage_class"):
            out.append("%s is empty but %s='persistent'; name the StorageClass of the AlertManager claims"
                       % (_var("alertmanager_storage_class"), _var("alertmanager_mode")))
        else:
            problem = checks.dns_subdomain_problem(_var("alertmanager_storage_class"), s.get("alertmanager_storage_class"),
                                                   "local-storage", what="a StorageClass name")
            if problem:
                out.append(problem)
    if am == "existing":
        problem = _host_port_problem("alertmanager_address", s.get("alertmanager_address"))
        if problem:
            out.append(problem)
    for key, low, high in (("controller_replicas", 1, 10), ("alertmanager_replicas", 1, 9)):
        problem = _int_between(_var(key), s.get(key), low, high, PROFILES["production"][key])
        if problem:
            out.append(problem)
    if s.get("metrics_format") not in METRICS_FORMATS:
        out.append("%s=%r is not one of %s" % (_var("metrics_format"), s.get("metrics_format"), ", ".join(METRICS_FORMATS)))
    if not isinstance(s.get("metrics_ttl"), str) or not _RETENTION.fullmatch(s["metrics_ttl"]):
        out.append("%s=%r is not a retention such as '30d' or '72h'" % (_var("metrics_ttl"), s.get("metrics_ttl")))
    rules = s.get("alert_rules") or []
    if not isinstance(rules, list):
        out.append("%s=%r is not a list of rules" % (_var("alert_rules"), rules))
        rules = []
    for index, rule in enumerate(rules):
        out.extend(_rule_problems(index, rule))
    out.extend(_scheduler_problems(s.get("scheduler_plugin_config") or []))
    flags = s.get("controller_extra_args") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        out.append("%s=%r is not a list of strings such as ['-zap-log-level', 'info']" % (_var("controller_extra_args"), flags))
    elif flags and not flags[0].startswith("-"):
        out.append("%s=%r must start with a flag ('-name'), e.g. ['-zap-log-level', 'info']" % (_var("controller_extra_args"), flags))
    pools = s.get("gpu_pools") or []
    if not isinstance(pools, list) or not pools:
        out.append("%s=%r: give at least one pool" % (_var("gpu_pools"), pools))
        pools = []
    for index, pool in enumerate(pools):
        out.extend(_pool_problems(index, pool))
    level = s.get("log_level")
    if level not in LOG_LEVELS:
        out.append("%s=%r is not one of %s" % (_var("log_level"), level, ", ".join(LOG_LEVELS)))
    elif s["profile"] == "production" and level in ("debug", "trace") and not flag(s.get("allow_debug_log_level")):
        out.append("%s=%r in the production profile: debug and trace flood the logs and slow the hypervisor (the seed); "
                   "use 'info', or set %s: true" % (_var("log_level"), level, _var("allow_debug_log_level")))
    for key, loosest, why in (
            ("namespace_pod_security", "privileged", "the hypervisor pods run privileged, with the GPU devices and host paths"),
            ("greptimedb_namespace_pod_security", "baseline", "the chart's GreptimeDB sets no security context: it runs as "
                                                              "the image's user, without runAsNonRoot or a seccomp profile")):
        if key in s:
            problem = pod_security.level_problem(_var(key), s[key], loosest, why)
            if problem:
                out.append(problem)
    return out


# The upstream chart writes greptime.db and greptime.user unescaped into the controller's
# Deployment (`value: "{{ .Values.greptime.db }}"`) and vector's ConfigMap, and the password into
# that ConfigMap's double-quoted Authorization header: a quote or a line break there would add
# YAML of the caller's choosing (another container) to objects the role applies.
_GREPTIME_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def greptime_name_problems(s):
    out = []
    # Either may be empty: the database is then 'public' (values.py), as the chart's default.
    for key, example in (("greptimedb_db", "public"), ("greptimedb_user", "my-user")):
        value = s.get(key)
        if value in ("", None):
            continue
        if not isinstance(value, str) or not _GREPTIME_NAME_RE.fullmatch(value):
            out.append(checks.problem(
                _var(key), value,
                "is not a plain name (letters, digits, '_', '.', '-'; up to 64): the upstream chart writes it "
                "unescaped into the controller's Deployment and vector's ConfigMap",
                "name the database or user as GreptimeDB spells it, e.g. %r" % example))
    password = s.get("greptimedb_password")
    if isinstance(password, str) and (checks.control_characters(password) or '"' in password or "\\" in password):
        out.append(checks.secret_problem(
            _var("greptimedb_password"),
            "holds a quote, a backslash or a control character, which the upstream chart writes unescaped "
            "into a double-quoted YAML string (vector's Authorization header)",
            "use a password without them"))
    return out
