# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the GPU hosts hold: one host's stat results summed up (``summarise_host``, the role's
``inspect`` entry point) and, over every host, which hosts hold each model (``holdings``).

A host *holds* a model when ``<model dir>/<subpath>`` exists, is a directory and not a symlink,
and contains the model's marker file (``config.json`` by default: what OME's metadata
extraction reads, and the last file a complete download needs). A directory without the
marker does not count (an interrupted download looks like that). A path that is a file or a
symlink is an error, as is a model directory root that is a symlink."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

# --- host inspection -----------------------------------------------------------------------


def _stat(result):
    stat = (result or {}).get("stat") or {}
    return {
        "exists": bool(stat.get("exists")),
        "isdir": bool(stat.get("isdir")),
        "islnk": bool(stat.get("islnk")),
        "isreg": bool(stat.get("isreg")),
        "lnk_source": stat.get("lnk_source"),
    }


def summarise_host(node, root, root_stat, dir_stats, marker_stats, models, default_marker):
    """What one host has, from ansible.builtin.stat results (registered loops), as a small dict.

    ``dir_stats`` / ``marker_stats`` are the ``results`` lists of a stat loop over the models (in
    the order of ``models``; follow=false for the directory, follow=true for the marker, so a
    marker that is a symlink to a file counts, as in Hugging Face snapshots).
    """
    entries = []
    for index, model in enumerate(models):
        directory = _stat(dir_stats[index] if index < len(dir_stats) else None)
        marker = _stat(marker_stats[index] if index < len(marker_stats) else None)
        entries.append({
            "name": model.get("name"),
            "subpath": model.get("subpath"),
            "path": posixpath.join(root, model.get("subpath") or ""),
            "marker": model.get("marker") or default_marker,
            "exists": directory["exists"],
            "isdir": directory["isdir"],
            "islnk": directory["islnk"],
            "marker_found": marker["exists"] and marker["isreg"],
        })
    return {"node": node, "root": root, "root_stat": _stat(root_stat), "models": entries}


def _state(entry):
    if not entry["exists"]:
        return "absent"
    if entry["islnk"]:
        return "symlink"
    if not entry["isdir"]:
        return "file"
    if not entry["marker_found"]:
        return "no-marker"
    return "held"


def holdings(inspections, models, root=None):
    """Per model: the nodes that hold it, the state on every host, and problems.

    ``inspections`` maps inventory host -> summarise_host() dict (None for a host that did not
    report: unreachable, or the inspection play did not run there). ``root`` is the path the
    local PV names on every node; a host that keeps its models elsewhere is a warning.
    """
    problems, notes, per_model = [], [], []
    root_problem_hosts = set()
    for host in sorted(inspections):
        summary = inspections[host]
        if summary and root and summary.get("root") != root:
            problems.append({"severity": "warning", "subject": host,
                             "message": "%s keeps its models in %s, but the local PV names %s on every node (one "
                                        "path for all); give model_storage_dir the same value on every host"
                                        % (host, summary.get("root"), root)})
        if not summary:
            problems.append({"severity": "warning", "subject": host,
                             "message": "%s did not report its model directories (unreachable, or the inspection "
                                        "play did not run there); it is left out of the volume's node affinity" % host})
            continue
        root_stat = summary["root_stat"]
        if root_stat["islnk"]:
            root_problem_hosts.add(host)
            problems.append({"severity": "error", "subject": host,
                             "message": "model_storage_dir %s on %s is a symlink (to %s); a local PV must name the "
                                        "real directory. Point model_storage_dir (node_prep_model_dir) at it"
                                        % (summary["root"], host, root_stat.get("lnk_source"))})
        elif root_stat["exists"] and not root_stat["isdir"]:
            root_problem_hosts.add(host)
            problems.append({"severity": "error", "subject": host,
                             "message": "model_storage_dir %s on %s is not a directory; move it away or run node_prep"
                                        % (summary["root"], host)})
    for index, model in enumerate(models):
        prefix = "model_storage_models[%d]" % index
        states, holders = {}, []
        for host in sorted(inspections):
            summary = inspections[host]
            if not summary or host in root_problem_hosts:
                continue
            entries = summary["models"]
            entry = entries[index] if index < len(entries) else None
            if entry is None or entry["subpath"] != model.get("subpath"):
                states[summary["node"]] = "unknown"
                continue
            state = _state(entry)
            states[summary["node"]] = state
            if state == "held":
                holders.append(summary["node"])
            elif state in ("file", "symlink"):
                problems.append({"severity": "error", "subject": model.get("name"),
                                 "message": "%s.subpath %r: %s on %s is a %s, not a directory; a model volume's "
                                            "subPath must be a real directory. Move it away or correct the subpath"
                                            % (prefix, model.get("subpath"), entry["path"], host, state)})
            elif state == "no-marker":
                notes.append("%s on %s has no %s: not counted as holding %s (an incomplete download?)"
                             % (entry["path"], host, entry["marker"], model.get("name")))
        if not holders:
            seen = ", ".join("%s: %s" % (h, s) for h, s in sorted(states.items())) or "no host reported"
            problems.append({"severity": "error", "subject": model.get("name"),
                             "message": "%s (%s): no host holds %s with its marker file (%s). Put the model there "
                                        "(OME's model agent, or a copy), or remove it from model_storage_models"
                                        % (prefix, model.get("name"), model.get("subpath"), seen)})
        per_model.append({"name": model.get("name"), "holders": sorted(holders), "states": states})
    return {"models": per_model, "problems": problems, "notes": notes}
