# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The values of the collection's gpu-telemetry chart, and what changes in them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks

# The ConfigMap key of the metrics CSV, as the chart's streamer reads it.
CSV_KEY = "dcgm_metrics.csv"
_DIGITS = re.compile(r"[0-9]+")


def values_diff(before, after, prefix=""):
    """The chart values that differ, as 'path: old -> new' lines (for --diff without helm-diff)."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    lines = []
    for key in sorted(set(before) | set(after)):
        path = "%s%s" % (prefix, key)
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            lines.extend(values_diff(old, new, path + "."))
        elif old != new:
            lines.append("%s: %s -> %s" % (path, _show(old, key in before), _show(new, key in after)))
    return lines


def _show(value, present):
    return repr(value) if present else "(unset)"


def _int(value):
    # The argument spec and problems() accepted only whole numbers (extra vars arrive as strings).
    return int(value)


def flag(value):
    """A boolean variable as Ansible reads it (problems() refused anything else)."""
    return checks.parse_boolean(value) is True


def pdb_max_unavailable(value):
    """A number of pods (extra vars are strings: '3' -> 3) or a percentage as it is."""
    return int(value) if isinstance(value, str) and _DIGITS.fullmatch(value) else value


def chart_values(s, csv_checksum, secret_version, queue_only=False):
    """The chart's values (files/gpu-telemetry/values.yaml), all set so that the release's values
    say everything; nothing secret: the URIs stay in the Secret the chart only names. The
    Secret's resourceVersion changes only when its content does: pods roll on rotation."""
    return {
        "queueOnly": bool(queue_only),
        "queue": {"image": s["queue_image"], "imagePullPolicy": s["image_pull_policy"],
                  "replicas": _int(s["queue_replicas"]), "backend": s["queue_backend"], "port": _int(s["queue_port"]),
                  "visibilityTimeout": s["queue_visibility_timeout"], "maxRetries": _int(s["queue_max_retries"]),
                  "bufferSize": _int(s["queue_buffer_size"]), "resources": s["queue_resources"]},
        "streamer": {"image": s["streamer_image"], "imagePullPolicy": s["image_pull_policy"],
                     "replicas": _int(s["streamer_replicas"]), "csvConfigMap": s["csv_configmap_name"],
                     "csvKey": CSV_KEY, "csvChecksum": csv_checksum, "streamInterval": s["streamer_interval"],
                     "loopMode": flag(s["streamer_loop_mode"]), "resources": s["streamer_resources"]},
        "collector": {"image": s["collector_image"], "imagePullPolicy": s["image_pull_policy"],
                      "replicas": _int(s["collector_replicas"]), "batchSize": _int(s["collector_batch_size"]),
                      "maxConcurrentHandlers": _int(s["collector_max_concurrent_handlers"]),
                      "resources": s["collector_resources"],
                      "autoscaling": {"enabled": flag(s["collector_autoscaling"]),
                                      "minReplicas": _int(s["collector_min_replicas"]),
                                      "maxReplicas": _int(s["collector_max_replicas"]),
                                      "targetCPUUtilizationPercentage": _int(s["collector_target_cpu_utilization"])}},
        "credentials": {"secretName": s["credentials_secret_name"], "mongodbUriKey": "MONGODB_URI",
                        "redisUrlKey": "REDIS_URL", "version": secret_version or ""},
        "tls": {"enabled": flag(s["tls_enabled"]), "secretName": s["tls_secret_name"], "caKey": s["tls_ca_key"]},
        "mongodb": {"port": _int(s["mongodb_port"]), "to": s["mongodb_egress_to"]},
        "redis": {"port": _int(s["redis_port"]), "to": s["redis_egress_to"]},
        "networkPolicy": {"enabled": flag(s["network_policies"]), "dns": {"port": 53, "to": s["dns_egress_to"]},
                          "metricsFrom": s["metrics_from"]},
        "podDisruptionBudget": {"enabled": flag(s["pod_disruption_budgets"]),
                                "maxUnavailable": pdb_max_unavailable(s["pdb_max_unavailable"])},
        "serviceMonitor": {"enabled": flag(s["service_monitor"]), "path": "/metrics", "interval": "30s", "labels": {}},
        "podSecurity": {"runAsUser": _int(s["run_as_user"]), "runAsGroup": _int(s["run_as_group"]),
                        "fsGroup": _int(s["fs_group"]), "tmpSizeLimit": "64Mi"},
        "nodeSelector": s["node_selector"],
        "tolerations": s["tolerations"],
        "affinity": {},
    }
