# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Profiles, input checks, chart values and objects of the tensor_fusion role.

``settings(inputs)`` lays the role's variables (without the ``tensor_fusion_`` prefix; None
means "the profile's") over the profile they name. ``problems(settings)`` returns one sentence
per problem, naming the variable, its value and the fix. ``chart_values(settings, defaults)``
composes the values of the tensor-fusion chart (1.8.7) from the settings and the chart's own
default values (``helm show values``): Helm replaces lists whole, so the controller command,
the alert rules and the scheduler profiles restate the chart's defaults and add the user's.
``storage_objects``, ``cluster_resource`` and ``report_section`` build the API objects and the
report section. Pure: plain dicts in and out, no I/O, so the unit tests need no mocks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks

PREFIX = "tensor_fusion_"
RELEASE = "tensor-fusion-sys"
NAMESPACE = "tensor-fusion-sys"
GREPTIME_NAMESPACE = "greptimedb"
GREPTIME_STATEFULSET = RELEASE + "-greptimedb-standalone"
GREPTIME_CLAIM = "datanode-" + GREPTIME_STATEFULSET + "-0"
ALERTMANAGER_STATEFULSET = RELEASE + "-alert-manager"
CONTROLLER_DEPLOYMENT = RELEASE + "-controller"
CONFIG_MAP = RELEASE + "-config"
CONFIG_KEYS = ("config.yaml", "scheduler-config.yaml")
RESTART_ANNOTATION = "gpufleet.cluster/config-sha256"
WATCHDOG = "Watchdog"
WATCHDOG_RECEIVER = "watchdog"
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


def _var(name):
    return PREFIX + name


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


def _flag(value, default=False):
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
        elif vtype == "nfs" and not (checks.is_hostname(s.get("greptimedb_nfs_server"))
                                     and not checks.path_problem("p", s.get("greptimedb_nfs_path"), config_file=True)):
            out.append("%s=%r / %s=%r: an NFS volume needs the server's address and the export's absolute path, e.g. "
                       "10.89.40.10 and /srv/nfs/greptimedb (the nfs_server role's export)"
                       % (_var("greptimedb_nfs_server"), s.get("greptimedb_nfs_server"), _var("greptimedb_nfs_path"),
                          s.get("greptimedb_nfs_path")))
        elif vtype == "hostpath" and not (not checks.path_problem("p", s.get("greptimedb_host_path"))
                                          and checks.is_dns_subdomain(s.get("greptimedb_node"))):
            out.append("%s=%r / %s=%r: a hostPath volume needs an absolute path and the node that holds it"
                       % (_var("greptimedb_host_path"), s.get("greptimedb_host_path"), _var("greptimedb_node"),
                          s.get("greptimedb_node")))
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
    elif s["profile"] == "production" and level in ("debug", "trace") and not _flag(s.get("allow_debug_log_level")):
        out.append("%s=%r in the production profile: debug and trace flood the logs and slow the hypervisor (the seed); "
                   "use 'info', or set %s: true" % (_var("log_level"), level, _var("allow_debug_log_level")))
    return out


def _parse_flags(command):
    """[(flag, value or None)] of a command list (its first item, the binary, excluded)."""
    pairs, index = [], 0
    while index < len(command):
        token = command[index]
        if token.startswith("-") and index + 1 < len(command) and not command[index + 1].startswith("-"):
            pairs.append((token, command[index + 1]))
            index += 2
        else:
            pairs.append((token, None))
            index += 1
    return pairs


def controller_command(default_command, s):
    """The chart's default command with the user's flags added; no default flag is lost.

    Only -enable-auto-scale goes, and only when controller_auto_scale is false (with GreptimeDB
    unreachable it makes every replica crash-loop, upstream #600). A user flag that is a default
    flag replaces its value; -alert-manager-addr comes with alertmanager_mode 'existing'.
    """
    binary, pairs = default_command[:1], _parse_flags(list(default_command[1:]))
    extra = _parse_flags(list(s.get("controller_extra_args") or []))
    if s.get("alertmanager_mode") == "existing":
        extra.append(("-alert-manager-addr", s["alertmanager_address"]))
        if "-enable-alert" not in [pair[0] for pair in pairs]:
            extra.append(("-enable-alert", None))
    auto_scale = _flag(s.get("controller_auto_scale", True), True)
    if not auto_scale:
        pairs = [p for p in pairs if p[0] != "-enable-auto-scale"]
    for flag, value in extra:
        if flag == "-enable-auto-scale" and not auto_scale:
            continue
        names = [pair[0] for pair in pairs]
        if flag in names:
            pairs[names.index(flag)] = (flag, value)
        else:
            pairs.append((flag, value))
    out = list(binary)
    for flag, value in pairs:
        out.append(flag)
        if value is not None:
            out.append(value)
    return out


def alertmanager_config(user, default):
    """alertManagerConfig with a Watchdog receiver and route always present (first route)."""
    config = copy.deepcopy(user or {})
    for key in ("global", "templates"):
        if key not in config and key in (default or {}):
            config[key] = copy.deepcopy(default[key])
    receivers = config.setdefault("receivers", [])
    route = config.setdefault("route", {})
    if not receivers:
        receivers.append({"name": "default-receiver"})
    route.setdefault("receiver", receivers[0]["name"])
    if WATCHDOG_RECEIVER not in [r.get("name") for r in receivers]:
        receivers.append({"name": WATCHDOG_RECEIVER})
    routes = route.setdefault("routes", [])
    if not any('alertname="%s"' % WATCHDOG in (r.get("matchers") or []) for r in routes):
        routes.insert(0, {"matchers": ['alertname="%s"' % WATCHDOG], "receiver": WATCHDOG_RECEIVER,
                          "group_wait": "0s", "group_interval": "1m", "repeat_interval": "1m"})
    return config


WATCHDOG_RULE = {
    "name": WATCHDOG,
    "query": "SELECT COUNT(*) AS samples\nFROM tf_system_metrics\nWHERE {{ .Conditions }}\nHAVING samples >= {{ .Threshold }}\n",
    "threshold": 0,
    "evaluationInterval": "1m",
    "consecutiveCount": 1,
    "severity": "P2",
    "summary": "Watchdog: the alert pipeline works",
    "description": "Always firing while the controller evaluates rules; route it to a dead man's switch.",
    "alertTargetInstance": "watchdog",
}


def alert_rules(builtin, user):
    """The chart's built-in rules, the user's (a user rule replaces a built-in of the same name), Watchdog."""
    rules = [copy.deepcopy(r) for r in builtin or []]
    names = [r.get("name") for r in rules]
    for rule in user or []:
        if rule.get("name") in names:
            rules[names.index(rule["name"])] = copy.deepcopy(rule)
        else:
            rules.append(copy.deepcopy(rule))
            names.append(rule.get("name"))
    if WATCHDOG not in names:
        rules.append(copy.deepcopy(WATCHDOG_RULE))
    return rules


def scheduler_config(default, plugin_config):
    """The chart's schedulerConfig with the user's pluginConfig entries replacing the first profile's by name."""
    config = copy.deepcopy(default or {})
    if not plugin_config:
        return config
    profile = config.setdefault("profiles", [{}])[0]
    entries = profile.setdefault("pluginConfig", [])
    names = [e.get("name") for e in entries]
    for entry in plugin_config:
        if entry["name"] in names:
            entries[names.index(entry["name"])] = copy.deepcopy(entry)
        else:
            entries.append(copy.deepcopy(entry))
    return config


def chart_values(s, defaults):
    """The chart values the role sets (only keys of the chart's values.yaml / values.schema.json)."""
    defaults = defaults or {}
    dctrl, dalert, ddyn = defaults.get("controller", {}), defaults.get("alert", {}), defaults.get("dynamicConfig", {})
    controller = {
        "replicaCount": s["controller_replicas"],
        "command": controller_command(dctrl.get("command") or ["/manager"], s),
        "nvidiaOperatorProgressiveMigration": _flag(s.get("nvidia_operator_progressive_migration")),
    }
    if s.get("controller_resources"):
        controller["resources"] = copy.deepcopy(s["controller_resources"])
    mode = s["greptimedb_mode"]
    greptime = {"installStandalone": mode == "standalone", "isCloud": mode == "cloud"}
    if mode != "standalone":
        greptime.update(host=s["greptimedb_host"], port=s["greptimedb_port"], db=s.get("greptimedb_db") or "public")
        if s.get("greptimedb_user"):
            greptime["user"] = s["greptimedb_user"]
        if s.get("greptimedb_password"):
            greptime["password"] = s["greptimedb_password"]
    am = s["alertmanager_mode"]
    alert = {"enabled": am != "existing"}
    if am != "existing":
        alert["replicaCount"] = s["alertmanager_replicas"]
        alert["persistence"] = {"enabled": am == "persistent"}
        if am == "persistent":
            alert["persistence"].update(size=s["alertmanager_size"], storageClass=s["alertmanager_storage_class"])
        alert["alertManagerConfig"] = alertmanager_config(s.get("alertmanager_config"), dalert.get("alertManagerConfig"))
        if s.get("alertmanager_resources"):
            alert["resources"] = copy.deepcopy(s["alertmanager_resources"])
    values = {
        "controller": controller,
        "greptime": greptime,
        "alert": alert,
        "dynamicConfig": {
            "metricsTTL": s["metrics_ttl"],
            "metricsFormat": s["metrics_format"],
            "alertRules": alert_rules(ddyn.get("alertRules"), s.get("alert_rules")),
        },
        "schedulerConfig": scheduler_config(defaults.get("schedulerConfig"), s.get("scheduler_plugin_config")),
        # The role owns the TensorFusionCluster (see cluster_resource).
        "cluster": {"enabled": False},
    }
    if s.get("agent_resources"):
        values["agent"] = {"resources": copy.deepcopy(s["agent_resources"])}
    return merge(values, s.get("chart_values") or {})


def merge(base, extra):
    """Deep merge of dicts (Helm's rule: maps merge, everything else is replaced)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def value_paths(values, prefix=""):
    """Dotted paths of every leaf the values set; lists and empty maps count as leaves."""
    paths = []
    for key, value in values.items():
        path = prefix + key
        if isinstance(value, dict) and value:
            paths.extend(value_paths(value, path + "."))
        else:
            paths.append(path)
    return paths


def changed_paths(before, after, prefix=""):
    """Dotted paths whose value differs between two values dicts (names only: no value is shown)."""
    before, after = before or {}, after or {}
    out = []
    for key in sorted(set(before) | set(after)):
        path = prefix + key
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            out.extend(changed_paths(old, new, path + "."))
        elif old != new:
            out.append(path)
    return out


def storage_objects(s):
    """StorageClass, PV and the pre-bound claim the GreptimeDB StatefulSet adopts (standalone only)."""
    if s.get("greptimedb_mode") != "standalone":
        return []
    klass, size, pv_name = s["greptimedb_storage_class"], s["greptimedb_size"], s["greptimedb_volume_name"]
    labels = {"app.kubernetes.io/managed-by": "gpufleet.cluster.tensor_fusion", "app.kubernetes.io/part-of": "tensor-fusion"}
    pv_spec = {
        "capacity": {"storage": size},
        "accessModes": ["ReadWriteOnce"],
        "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": klass,
        "volumeMode": "Filesystem",
        "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": GREPTIME_NAMESPACE,
                     "name": GREPTIME_CLAIM},
    }
    if s["greptimedb_volume_type"] == "nfs":
        pv_spec["nfs"] = {"server": s["greptimedb_nfs_server"], "path": s["greptimedb_nfs_path"]}
        pv_spec["mountOptions"] = ["nfsvers=4.1", "hard"]
    else:
        pv_spec["hostPath"] = {"path": s["greptimedb_host_path"], "type": "DirectoryOrCreate"}
        pv_spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [s["greptimedb_node"]]}]}]}}
    return [
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": klass, "labels": labels},
         # WaitForFirstConsumer: the claim is pre-bound (volumeName), so it binds at once all the same,
         # and no volume of the class is ever placed before its pod (pv_affinity_info's
         # zonal-storageclass-immediate-binding stays quiet).
         "provisioner": "kubernetes.io/no-provisioner", "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name, "labels": labels}, "spec": pv_spec},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": GREPTIME_CLAIM, "namespace": GREPTIME_NAMESPACE,
                      # The StatefulSet's selector labels: the claim looks like one it made itself.
                      "labels": dict(labels, **{"app.greptime.io/component": "greptimedb-standalone"})},
         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": klass, "volumeName": pv_name,
                  "volumeMode": "Filesystem", "resources": {"requests": {"storage": size}}}},
    ]


def cluster_resource(s):
    """The TensorFusionCluster the role owns."""
    pools = []
    for pool in s["gpu_pools"]:
        capacity = copy.deepcopy(pool.get("capacity") or {})
        if pool.get("oversubscription"):
            capacity["oversubscription"] = copy.deepcopy(pool["oversubscription"])
        auto = _flag(pool.get("auto_update", False))
        rolling = {"autoUpdateHypervisor": auto, "autoUpdateWorker": auto, "autoUpdateClient": auto}
        rolling.update(copy.deepcopy(pool.get("rolling_update") or {}))
        manager = {"provisioningMode": pool.get("provisioning_mode", "AutoSelect"), "nodePoolRollingUpdatePolicy": rolling}
        if pool.get("node_selector"):
            manager["nodeSelector"] = {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": k, "operator": "In", "values": [v]} for k, v in sorted(pool["node_selector"].items())]}]}
        if pool.get("node_provisioner"):
            manager["nodeProvisioner"] = copy.deepcopy(pool["node_provisioner"])
        if pool.get("node_compaction"):
            manager["nodeCompaction"] = copy.deepcopy(pool["node_compaction"])
        template = {"capacityConfig": capacity, "nodeManagerConfig": manager,
                    "componentConfig": {"hypervisor": {"podTemplate": {"spec": {"containers": [
                        {"name": "tensorfusion-hypervisor", "env": [{"name": "TF_LOG_LEVEL", "value": s["log_level"]}]}]}}}}}
        pools.append({"name": pool["name"], "isDefault": _flag(pool.get("isDefault", len(pools) == 0)),
                      "specTemplate": template})
    spec = {"gpuPools": pools}
    if s.get("computing_vendor"):
        spec["computingVendor"] = copy.deepcopy(s["computing_vendor"])
    return {"apiVersion": "tensor-fusion.ai/v1", "kind": "TensorFusionCluster",
            "metadata": {"name": s["cluster_name"],
                         "labels": {"app.kubernetes.io/managed-by": "gpufleet.cluster.tensor_fusion"}},
            "spec": spec}


def config_hash(data):
    """sha256 of the controller's two config files, as the ConfigMap holds them."""
    data = data or {}
    text = json.dumps([data.get(k, "") for k in CONFIG_KEYS])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def restart_needed(before, after, annotation):
    """The hash to stamp on the controller's pod template, or '' when no restart is due.

    before/after: the ConfigMap's data before and after the chart ran (before None: the release is
    new, its pods start with the new files). annotation: the hash on the pod template now.
    """
    if after is None:
        return ""
    new = config_hash(after)
    if annotation:
        return new if annotation != new else ""
    if before is None:
        return ""
    return new if config_hash(before) != new else ""


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


ENABLED_LABEL = "tensor-fusion.ai/enabled"
REPLICAS_ANNOTATION = "tensor-fusion.ai/enabled-replicas"
_PAIRS = (("tensor-fusion.ai/tflops-request", "tensor-fusion.ai/tflops-limit", "tflops"),
          ("tensor-fusion.ai/vram-request", "tensor-fusion.ai/vram-limit", "vram"))


def quantity(value):
    """The number (decimal.Decimal) an unsigned Kubernetes quantity stands for; None when it is not one."""
    return checks.parse_quantity(value)


def _replica_count(value, replicas):
    """enabled_replicas as a count: 3, "3" or "30%" of replicas (rounded down)."""
    if checks.is_int(value):
        return value if value >= 0 else None
    text = value if isinstance(value, str) else ""
    # str.isdigit() would take fullwidth and superscript digits; parse_int takes ASCII digits only.
    percent = checks.parse_int(text[:-1], strings=True) if text.endswith("%") else None
    if percent is not None and percent <= 100:
        return percent * replicas // 100
    return checks.parse_int(text, strings=True)


def rollout_plan(deployments, items, action):
    """Problems and patches moving Deployments to TensorFusion (rollout) or back (rollback).

    deployments: the Deployment read for each item (None when it does not exist), in the order of
    items. items: {name, namespace, enabled_replicas, annotations}. Rollout labels the pod template
    tensor-fusion.ai/enabled "true" and sets tensor-fusion.ai/enabled-replicas to a count; rollback
    sets "false" and "0". Containers (their nvidia.com/gpu limits) are never touched.
    """
    problems_, patches = [], []
    var = _var("rollout")
    if action not in ("rollout", "rollback"):
        return {"problems": ["%s=%r is not rollout or rollback" % (_var("rollout_action"), action)], "patches": []}
    for index, (item, deployment) in enumerate(zip(items, deployments)):
        where = "%s[%d]" % (var, index)
        name, namespace = item.get("name"), item.get("namespace", "default")
        if isinstance(deployment, list):  # k8s_info's resources
            deployment = deployment[0] if deployment else None
        if not deployment:
            problems_.append("%s: Deployment %s/%s does not exist; name an existing Deployment (kubectl get deploy -n %s)"
                             % (where, namespace, name, namespace))
            continue
        replicas = deployment.get("spec", {}).get("replicas", 1)
        template_meta = deployment.get("spec", {}).get("template", {}).get("metadata", {}) or {}
        annotations = dict(template_meta.get("annotations") or {})
        annotations.update(item.get("annotations") or {})
        if action == "rollback":
            labels, new = {ENABLED_LABEL: "false"}, {REPLICAS_ANNOTATION: "0"}
        else:
            count = _replica_count(item.get("enabled_replicas", replicas), replicas)
            if count is None:
                problems_.append("%s.enabled_replicas=%r is not a count or a percentage; use e.g. 3 or '30%%'"
                                 % (where, item.get("enabled_replicas")))
                continue
            if count > replicas:
                problems_.append("%s.enabled_replicas=%r is above the %d replicas of Deployment %s/%s; use at most %d"
                                 % (where, item.get("enabled_replicas"), replicas, namespace, name, replicas))
                continue
            for request_key, limit_key, what in _PAIRS:
                request, limit = annotations.get(request_key), annotations.get(limit_key)
                if request is None or limit is None:
                    continue
                if quantity(request) is None or quantity(limit) is None:
                    problems_.append("%s: %s=%r / %s=%r is not a quantity; e.g. '100' tflops or '3Gi' vram"
                                     % (where, request_key, request, limit_key, limit))
                elif quantity(request) > quantity(limit):
                    problems_.append("%s: %s=%r is above %s=%r on Deployment %s/%s; a %s request must not exceed its limit"
                                     % (where, request_key, request, limit_key, limit, namespace, name, what))
            labels = {ENABLED_LABEL: "true"}
            new = dict(item.get("annotations") or {}, **{REPLICAS_ANNOTATION: str(count)})
        patches.append({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": name, "namespace": namespace},
                        "spec": {"template": {"metadata": {"labels": labels, "annotations": new}}}})
    return {"problems": problems_, "patches": patches if not problems_ else []}
