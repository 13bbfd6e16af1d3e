# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks of the gpu_telemetry role.

``problems(inputs)`` takes the role's variables without the ``gpu_telemetry_`` prefix (plus
``csv_stat``, the controller's stat of the CSV file) and returns one sentence per problem, naming
the variable, its value and the fix. The MongoDB URI and the Redis URL are secrets: a problem
with them names the variable and what is wrong, never the value. Pure: plain dicts in and out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks
from ansible_collections.gpufleet.cluster.plugins.plugin_utils import pod_security


PREFIX = "gpu_telemetry_"
BACKENDS = ("memory", "redis")
# A ConfigMap holds at most 1 MiB (etcd's object limit); leave room for the metadata.
CSV_MAX_BYTES = 1024 * 1024 - 16 * 1024
# Object names are <release>-queue-headless and the like; a StatefulSet's name must leave room
# for the controller-revision-hash label (63 characters) of its pods.
RELEASE_MAX = 40
SEED_MEMORY_REASON = (
    "the in-memory queue keeps its messages in each replica's own memory, so a second replica "
    "would be a second, separate queue (the seed: \"Queue service should remain at 1 replica "
    "(in-memory queue limitation)\")"
)

# The seed's image names, for the examples in the messages.
IMAGE_NAMES = {"queue_image": "queueservice", "streamer_image": "streamer", "collector_image": "collector"}
# Pod Security: the chart's pods meet "restricted" (docs/security.md); runAsUser 0 never does.
ID_MAX = checks.INT32_MAX
_PEER_KEYS = frozenset(["ipBlock", "namespaceSelector", "podSelector"])
# validation.go IsConfigMapKey (a Secret key), matched whole.
_KEY_NAME = re.compile(r"[-._a-zA-Z0-9]+")
_PERCENT = re.compile(r"([1-9][0-9]?|100)%")
# Boolean variables: read as Ansible reads them, anything else refused.
FLAGS = ("create_namespace", "streamer_loop_mode", "collector_autoscaling", "tls_enabled", "network_policies",
         "pod_disruption_budgets", "service_monitor")

duration_nanos = checks.parse_duration


def _var(name):
    return PREFIX + name


def _duration_problem(name, value, example):
    return checks.duration_problem(_var(name), value, example)


def _int_problem(name, value, minimum, example, maximum=None, why=""):
    # Role variables typed int: extra vars (-e x=3) arrive as strings of digits, which are fine;
    # '+1', '1e3', '0x10', '-0' are not (| int would read them as 1, 0, 0, 0).
    return checks.int_problem(_var(name), value, minimum, maximum, example, strings=True, why=why)


def _count(value):
    return checks.parse_int(value, strings=True)


def _name_problem(name, value, maximum, example):
    return checks.dns_label_problem(_var(name), value, example, maximum=maximum)


def _image_problem(name, value):
    """Fully qualified and pinned: the seed's unqualified ':latest' names resolve on Docker Hub,
    where anyone can register the namespace, and change with every push."""
    return checks.pinned_image_problem(_var(name), value, "registry.example.com/gpu-metrics-streamer/%s:1.0"
                                       % IMAGE_NAMES[name])


def _peers_problem(name, value):
    if not isinstance(value, list):
        return "%s=%r is not a list; give a list of NetworkPolicy peers, e.g. [{ipBlock: {cidr: 10.0.0.0/24}}]" % (_var(name), value)
    for index, peer in enumerate(value):
        if not isinstance(peer, dict) or not peer or set(peer) - _PEER_KEYS:
            return ("%s[%d]=%r is not a NetworkPolicy peer; use only the keys ipBlock, namespaceSelector and "
                    "podSelector, e.g. {ipBlock: {cidr: 10.0.0.0/24}}" % (_var(name), index, peer))
        where = "%s[%d]" % (_var(name), index)
        block = peer.get("ipBlock")
        if block is not None:
            cidr = block.get("cidr") if isinstance(block, dict) else None
            problem = checks.network_problem(where + ".ipBlock.cidr", cidr, allow_everyone=True)
            if problem:
                return problem
        for key in ("namespaceSelector", "podSelector"):
            selector = peer.get(key) or {}
            found = checks.labels_problems("%s.%s.matchLabels" % (where, key), selector.get("matchLabels")) \
                if isinstance(selector, dict) else ["%s.%s=%r is not a label selector" % (where, key, selector)]
            if found:
                return found[0]
    return None


def _resources_problem(name, value):
    if not isinstance(value, dict) or set(value) - set(("requests", "limits")) \
            or not all(isinstance(v, dict) for v in value.values()):
        return ("%s=%r is not a resources block; give requests and/or limits, e.g. "
                "{requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: 200m, memory: 256Mi}}" % (_var(name), value))
    for kind in sorted(value):
        for resource in sorted(value[kind]):
            problem = checks.quantity_problem("%s.%s.%s" % (_var(name), kind, resource), value[kind][resource],
                                              "100m" if resource == "cpu" else "256Mi", allow_zero=True)
            if problem:
                return problem
    return None


def _secret_url_problem(name, value, schemes, example, needed_for):
    """A URL that is a secret: the message never contains the value."""
    if not isinstance(value, str) or not value.strip():
        return ("%s is empty; %s. Set it from a vault (ansible-vault encrypt_string), e.g. %s"
                % (_var(name), needed_for, example))
    return checks.url_problem(_var(name), value, schemes=tuple(s.split(":")[0] for s in schemes), example=example,
                              secret=True)


def _csv_problems(path, stat):
    if not isinstance(path, str) or not path:
        return ["%s is not set; name the DCGM metrics CSV file on the controller that the streamers publish, "
                "e.g. files/dcgm_metrics.csv" % _var("streamer_csv_file")]
    stat = stat or {}
    if not stat.get("exists"):
        return ["%s=%r does not exist on the controller; give the path of the DCGM metrics CSV file"
                % (_var("streamer_csv_file"), path)]
    if not stat.get("isreg"):
        return ["%s=%r is not a regular file; give the path of the DCGM metrics CSV file"
                % (_var("streamer_csv_file"), path)]
    if stat.get("readable") is False:
        return ["%s=%r cannot be read by the user running the play; make it readable or give another path"
                % (_var("streamer_csv_file"), path)]
    size = stat.get("size", 0)
    if size == 0:
        return ["%s=%r is empty; the streamers would publish nothing" % (_var("streamer_csv_file"), path)]
    if size > CSV_MAX_BYTES:
        return ["%s=%r is %d bytes, more than a ConfigMap holds (%d); use a smaller extract of the metrics"
                % (_var("streamer_csv_file"), path, size, CSV_MAX_BYTES)]
    problem = csv_head_problem(path, stat.get("head"))
    return [problem] if problem else []


# A CSV header: two or more column names, comma-separated, each maybe quoted (the lab's sample:
# timestamp,metric_name,gpu_id,device,uuid,modelName,Hostname,value). A name starts with a letter
# and holds letters, digits and ' _.-()/%°' only: no ':', '$' or '=' as a password file, a key or a
# kubeconfig has them.
_CSV_NAME = r'"?[^\W\d][\w .()/%\u00b0-]{0,63}"?'
_CSV_HEADER_RE = re.compile(r"%s(,%s)+" % (_CSV_NAME, _CSV_NAME))


def csv_head_problem(path, head):
    """Why the file's first bytes (``head``, bytes; None when not read) are not a CSV file with a
    header line. The file is published byte for byte in a ConfigMap anyone who reads ConfigMaps
    in the namespace can read: a key, a kubeconfig or a password file named here by mistake (or
    through a variable a launcher controls) must never get there. The content is never quoted."""
    if head is None:
        return None
    if isinstance(head, str):
        head = head.encode("utf-8", "surrogateescape")
    why = ""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the read's end is not a reason.
        text = head[:exc.start].decode("utf-8") if exc.start >= len(head) - 3 else None
    if text is None or "\x00" in text:
        why = "is not a text file"
    else:
        first = text.splitlines()[0].strip().lstrip("\ufeff") if text.strip() else ""
        if not _CSV_HEADER_RE.fullmatch(first):
            why = "does not start with a CSV header line (column names separated by commas)"
    if not why:
        return None
    return ("%s=%r %s; give the DCGM metrics CSV file, whose first line names its columns, e.g. "
            "'timestamp,metric_name,gpu_id,value' (the file is published as it is in a ConfigMap the cluster's "
            "users can read)" % (_var("streamer_csv_file"), path, why))


def problems(inputs):
    """What is wrong with the role's variables (see the module docstring)."""
    found = []

    def add(problem):
        if problem:
            found.append(problem)

    for name in FLAGS:
        if name in inputs:
            add(checks.boolean_problem(_var(name), inputs[name]))
    add(checks.owned_namespace_problem(_var("namespace"), inputs["namespace"], "gpu-telemetry"))
    add(_name_problem("release_name", inputs["release_name"], RELEASE_MAX, "gpu-telemetry"))
    # Its chart is the collection's own, under role_path (which may hold a space): rendered with argv
    # and installed by kubernetes.core.helm, which quotes chart_ref.
    found.extend(checks.helm_problems("gpu_telemetry", dict((k, v) for k, v in inputs.items() if k != "release_name"),
                                      "/path/to/gpu-telemetry", "", quoted_chart_ref=True))
    for name in ("credentials_secret_name", "csv_configmap_name"):
        add(checks.dns_subdomain_problem(_var(name), inputs[name], "gpu-telemetry-%s" % (
            "credentials" if name.startswith("credentials") else "csv"), what="an object name"))
    for name in ("queue_image", "streamer_image", "collector_image"):
        add(_image_problem(name, inputs[name]))
    add(pod_security.level_problem(_var("namespace_pod_security"), inputs["namespace_pod_security"]))
    add(_int_problem("run_as_user", inputs["run_as_user"], 1, 65532, ID_MAX,
                     why=" (0 is root, which Pod Security 'restricted' and runAsNonRoot refuse)"))
    for name in ("run_as_group", "fs_group"):
        add(_int_problem(name, inputs[name], 0, 65532, ID_MAX))

    backend = inputs["queue_backend"]
    if backend not in BACKENDS:
        add("%s=%r is not a queue backend; use one of: %s" % (_var("queue_backend"), backend, ", ".join(BACKENDS)))
    replicas_problem = _int_problem("queue_replicas", inputs["queue_replicas"], 1, 1)
    add(replicas_problem)
    if not replicas_problem and backend == "memory" and _count(inputs["queue_replicas"]) > 1:
        add("%s=%r with %s='memory': %s. Keep %s: 1, or set %s: redis and %s"
            % (_var("queue_replicas"), inputs["queue_replicas"], _var("queue_backend"), SEED_MEMORY_REASON,
               _var("queue_replicas"), _var("queue_backend"), _var("redis_url")))
    if backend == "redis":
        add(_secret_url_problem("redis_url", inputs["redis_url"], ("redis://", "rediss://"),
                                "rediss://:password@redis.example.com:6379/0",
                                "gpu_telemetry_queue_backend: redis needs the Redis the queue and the streamers share"))
    add(_int_problem("queue_port", inputs["queue_port"], 1, 8080, 65535))
    add(_duration_problem("queue_visibility_timeout", inputs["queue_visibility_timeout"], "5m"))
    add(_int_problem("queue_max_retries", inputs["queue_max_retries"], 0, 3))
    add(_int_problem("queue_buffer_size", inputs["queue_buffer_size"], 1, 1000))

    # The pods' nodeSelector, as a label map (selector syntax inside a value is not a label value).
    found.extend(checks.labels_problems(_var("node_selector"), inputs.get("node_selector"),
                                        "nvidia.com/gpu.present", "true"))
    add(_int_problem("streamer_replicas", inputs["streamer_replicas"], 0, 2))
    add(_duration_problem("streamer_interval", inputs["streamer_interval"], "100ms"))
    found.extend(_csv_problems(inputs["streamer_csv_file"], inputs.get("csv_stat")))

    add(_int_problem("collector_replicas", inputs["collector_replicas"], 0, 3))
    add(_int_problem("collector_batch_size", inputs["collector_batch_size"], 1, 1))
    add(_int_problem("collector_max_concurrent_handlers", inputs["collector_max_concurrent_handlers"], 1, 10))
    if checks.parse_boolean(inputs["collector_autoscaling"]) is True:
        low = _int_problem("collector_min_replicas", inputs["collector_min_replicas"], 1, 3)
        high = _int_problem("collector_max_replicas", inputs["collector_max_replicas"], 1, 10)
        add(low)
        add(high)
        if not low and not high and _count(inputs["collector_max_replicas"]) < _count(inputs["collector_min_replicas"]):
            add("%s=%r is below %s=%r; the autoscaler needs max >= min"
                % (_var("collector_max_replicas"), inputs["collector_max_replicas"],
                   _var("collector_min_replicas"), inputs["collector_min_replicas"]))
        add(_int_problem("collector_target_cpu_utilization", inputs["collector_target_cpu_utilization"], 1, 70, 100))

    add(_secret_url_problem("mongodb_uri", inputs["mongodb_uri"], ("mongodb://", "mongodb+srv://"),
                            "mongodb://collector:password@mongodb.example.com:27017/telemetry",
                            "the collectors write to MongoDB with it"))
    add(_int_problem("mongodb_port", inputs["mongodb_port"], 1, 27017, 65535))
    add(_int_problem("redis_port", inputs["redis_port"], 1, 6379, 65535))

    if checks.parse_boolean(inputs["tls_enabled"]) is True:
        if not isinstance(inputs["tls_secret_name"], str) or not inputs["tls_secret_name"]:
            add("%s is true but %s is empty; name a kubernetes.io/tls Secret in the namespace that holds the "
                "queue's certificate (tls.crt, tls.key and %s), or set %s: false"
                % (_var("tls_enabled"), _var("tls_secret_name"), inputs["tls_ca_key"], _var("tls_enabled")))
        else:
            add(checks.dns_subdomain_problem(_var("tls_secret_name"), inputs["tls_secret_name"], "gpu-telemetry-queue-tls",
                                             what="a Secret name"))
        if not isinstance(inputs["tls_ca_key"], str) or not _KEY_NAME.fullmatch(inputs["tls_ca_key"]) \
                or len(inputs["tls_ca_key"]) > checks.DNS_SUBDOMAIN_MAX or inputs["tls_ca_key"].startswith(".."):
            add("%s=%r is not a Secret key; use e.g. 'ca.crt'" % (_var("tls_ca_key"), inputs["tls_ca_key"]))

    budget = inputs["pdb_max_unavailable"]
    if not ((checks.is_int(budget) and budget >= 1) or (isinstance(budget, str) and _PERCENT.fullmatch(budget))):
        add("%s=%r must be a number of pods >= 1 or a percentage such as '25%%'" % (_var("pdb_max_unavailable"), budget))
    for name in ("mongodb_egress_to", "redis_egress_to", "dns_egress_to", "metrics_from"):
        add(_peers_problem(name, inputs[name]))
    for name in ("queue_resources", "streamer_resources", "collector_resources"):
        add(_resources_problem(name, inputs[name]))
    return found
