# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tensor-fusion chart's values, composed from the settings and the chart's own defaults.

Helm replaces lists whole, so the controller command, the alert rules and the scheduler profiles
restate the chart's defaults (``helm show values``) and add the user's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion.chart import WATCHDOG, WATCHDOG_RECEIVER
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.tensor_fusion.inputs import flag as _flag


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
