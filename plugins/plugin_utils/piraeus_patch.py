# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Piraeus operator's patch check (api/v1/patch.go, v2.6.0), on the controller.

A ``patches`` entry of a LinstorCluster or a LinstorSatelliteConfiguration is refused by the
operator's webhook when its ``patch`` parses neither as a strategic merge patch (exactly one
YAML object) nor as a JSON patch (a list of operations), or when it has no ``target`` and is not a
strategic merge patch (whose own kind and name are the target). This check refuses the same, a
little more strictly: each JSON patch operation needs a known ``op`` and a ``path`` (the webhook
only decodes them; applying a malformed one fails later, on every reconcile).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks

SELECTOR_KEYS = ("group", "version", "kind", "name", "namespace", "annotationSelector", "labelSelector")
JSON_PATCH_OPS = ("add", "remove", "replace", "move", "copy", "test")


def _documents(text):
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None], None
    except yaml.YAMLError as exc:
        return None, str(exc).splitlines()[0]


def _json_patch_problem(docs):
    """None when ``docs`` is one list of JSON patch operations, else why not."""
    if len(docs) != 1 or not isinstance(docs[0], list) or not docs[0]:
        return "not a list of operations"
    for index, operation in enumerate(docs[0]):
        if not isinstance(operation, dict):
            return "operation %d is not a mapping" % index
        if operation.get("op") not in JSON_PATCH_OPS:
            return "operation %d has op %r (one of %s)" % (index, operation.get("op"), ", ".join(JSON_PATCH_OPS))
        if not isinstance(operation.get("path"), str) or not operation["path"].startswith("/"):
            return "operation %d has path %r (a JSON pointer such as '/spec/template')" % (index, operation.get("path"))
    return None


def patch_problems(var, patches):
    """One sentence per patch the operator's webhook would refuse (or that could never apply)."""
    if not isinstance(patches, list):
        return ["%s=%r must be a list of patches ({patch, target, options})" % (var, patches)]
    problems = []
    for index, entry in enumerate(patches):
        item = "%s[%d]" % (var, index)
        if not isinstance(entry, dict):
            problems.append("%s=%r must be a dict with patch (and target)" % (item, entry))
            continue
        unknown = sorted(set(entry) - set(("patch", "target", "options")))
        if unknown:
            problems.append("%s has unknown keys %s; a patch has patch, target and options" % (item, ", ".join(unknown)))
        text = entry.get("patch")
        if not isinstance(text, str) or not text.strip():
            problems.append("%s.patch=%r is empty; give a strategic merge patch (YAML) or a JSON patch" % (item, text))
            continue
        docs, error = _documents(text)
        smp = docs is not None and len(docs) == 1 and isinstance(docs[0], dict)
        json_problem = _json_patch_problem(docs) if docs is not None else error
        if not smp and json_problem:
            problems.append("%s.patch parses neither as a strategic merge patch (exactly one YAML object) nor as a JSON "
                            "patch (%s); the operator's webhook refuses it" % (item, json_problem))
            continue
        target = entry.get("target")
        if target is None:
            if not smp:
                problems.append("%s has no target; a JSON patch needs one (e.g. target: {kind: DaemonSet, name: "
                                "linstor-csi-node}), only a strategic merge patch names its own" % item)
        elif not isinstance(target, dict) or not target or set(target) - set(SELECTOR_KEYS):
            problems.append("%s.target=%r must be a selector with some of %s" % (item, target, ", ".join(SELECTOR_KEYS)))
        elif any(not isinstance(v, str) or checks.control_characters(v) for v in target.values()):
            problems.append("%s.target=%r: each selector field is a string on one line" % (item, target))
        options = entry.get("options")
        if options is not None and (not isinstance(options, dict) or any(
                checks.parse_boolean(v) is None for v in options.values())):
            problems.append("%s.options=%r must map option names to booleans (e.g. allowNameChange: true)" % (item, options))
    return problems
