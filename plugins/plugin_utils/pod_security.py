# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Pod Security labels of the namespaces the collection's roles create (controller side).

Pod Security admission is built into kube-apiserver: a namespace's
``pod-security.kubernetes.io/<mode>`` labels name the Pod Security Standard level its pods are
held to (``enforce`` refuses a pod, ``warn`` answers the client with a warning, ``audit`` notes it
in the audit log; a workload such as a Deployment is only warned about and audited, its pods are
enforced). The ``-version`` labels pin the standard's version; ``latest`` follows the API
server's. Each role gives the three modes one level, from a variable of its own
(``<role>_namespace_pod_security``), and refuses a level stricter than its pods can meet.
Pure: plain values in and out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks

# From most to least permissive (k8s.io/pod-security-admission api.Level).
LEVELS = ("privileged", "baseline", "restricted")
MODES = ("enforce", "audit", "warn")
LABEL_PREFIX = "pod-security.kubernetes.io/"
VERSION = "latest"


def labels(level, version=VERSION):
    """The six labels that hold a namespace's pods to ``level`` in every mode."""
    out = {}
    for mode in MODES:
        out[LABEL_PREFIX + mode] = level
        out["%s%s-version" % (LABEL_PREFIX, mode)] = version
    return out


def namespace(name, level, extra_labels=None, annotations=None):
    """A v1 Namespace named ``name`` whose labels hold its pods to ``level``."""
    metadata = {"name": name, "labels": dict(extra_labels or {}, **labels(level))}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def level_problem(var, value, loosest_needed="restricted", why=""):
    """Why ``value`` is not a level the role can give its namespace: not a level at all, or
    stricter than ``loosest_needed``, the strictest level the role's pods meet (``why`` says
    what in them needs it)."""
    if value not in LEVELS:
        return checks.problem(var, value, "is not a Pod Security level", "use one of %s" % ", ".join(LEVELS))
    if LEVELS.index(value) > LEVELS.index(loosest_needed):
        return checks.problem(
            var, value, "is stricter than the pods in that namespace can meet (%s): admission would refuse them"
            % (why or "they need %s" % loosest_needed),
            "use %r%s" % (loosest_needed, " or a looser level" if loosest_needed != "privileged" else ""))
    return None
