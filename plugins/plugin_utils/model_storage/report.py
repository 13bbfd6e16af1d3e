# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""After applying: what the cluster took (``observed_problems``, with the check that OME's Ready node
labels agree with the volume's node affinity, ``label_findings``) and the validation report's
section (``report_section``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage.inputs import CHECK_LABELS, PLACEMENT_TABLE, ready_label_key
from ansible_collections.gpufleet.cluster.plugins.plugin_utils.model_storage.objects import affinity_values

# --- after applying ------------------------------------------------------------------------


def _node_labels(node):
    return ((node or {}).get("metadata") or {}).get("labels") or {}


def label_findings(model_objects, nodes, pv):
    """Check ``model-ready-labels-disagree-with-pv-affinity`` for the role's model objects.

    The nodes OME's model agent labels ``<ready_label_key>=Ready`` are where OME sends the
    model's serving pods (a hard nodeSelector); the model PV's node affinity is where the volume
    can be used. Where they differ, pods are sent where the volume is not (warning) or the volume
    admits nodes where the agent has not confirmed the model (warning). No Ready label anywhere
    means the agent has not reported (not installed, disabled, still downloading): info.
    """
    findings = []
    affinity = sorted(set(v for (_k, _o, vals) in affinity_values(pv or {}) for v in vals))
    pv_name = ((pv or {}).get("metadata") or {}).get("name")
    for obj in model_objects:
        key = ready_label_key(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
        subject = "%s %s" % (obj["kind"], obj["metadata"]["name"] if obj["kind"] == "ClusterBaseModel"
                             else "%s/%s" % (obj["metadata"].get("namespace"), obj["metadata"]["name"]))
        ready = sorted(n["metadata"]["name"] for n in nodes if _node_labels(n).get(key) == "Ready")
        if not ready:
            findings.append({"check": CHECK_LABELS, "severity": "info", "object": subject,
                             "message": "no node is labelled %s=Ready: OME's model agent has not reported this model "
                                        "(not installed, disabled, or still downloading)" % key})
            continue
        outside = [n for n in ready if n not in affinity]
        unconfirmed = [n for n in affinity if n not in ready]
        if outside:
            findings.append({"check": CHECK_LABELS, "severity": "warning", "object": subject,
                             "message": "OME labels %s Ready (%s) but PersistentVolume %s does not admit %s: serving "
                                        "pods that mount the volume cannot run there. Re-run model_storage so the "
                                        "volume follows the hosts that hold the model"
                                        % (", ".join(outside), key, pv_name, "it" if len(outside) == 1 else "them")})
        if unconfirmed:
            findings.append({"check": CHECK_LABELS, "severity": "warning", "object": subject,
                             "message": "PersistentVolume %s admits %s, where OME's model agent has not labelled the "
                                        "model Ready (%s): OME will not send its serving pods there"
                                        % (pv_name, ", ".join(unconfirmed), key)})
    return findings


def _subset_missing(want, have, path=""):
    """Paths of ``want`` (a dict tree) that ``have`` lacks or holds with another value."""
    missing = []
    for key, value in (want or {}).items():
        where = "%s.%s" % (path, key) if path else key
        if isinstance(value, dict) and isinstance((have or {}).get(key), dict):
            missing.extend(_subset_missing(value, have[key], where))
        elif not isinstance(have, dict) or have.get(key) != value:
            missing.append(where)
    return missing


def _related(finding, pv_name, namespace, pvc_name):
    objects = [finding.get("object") or {}] + list(finding.get("related") or [])
    for obj in objects:
        if obj.get("kind") == "PersistentVolume" and obj.get("name") == pv_name:
            return True
        if obj.get("kind") == "PersistentVolumeClaim" and (obj.get("namespace"), obj.get("name")) == (namespace, pvc_name):
            return True
    return False


def observed_problems(the_plan, inputs, observed):
    """Problems found after applying: fields the API dropped, an unbound pre-bound claim, the
    pv_affinity_info findings about the model volume, and the label check."""
    problems = []
    check_mode = observed.get("check_mode")
    back = dict(((o.get("kind"), (o.get("metadata") or {}).get("name")), o) for o in observed.get("models") or [])
    for obj in observed.get("planned_models") or []:
        name = obj["metadata"]["name"]
        got = back.get((obj["kind"], name))
        if check_mode:  # nothing was applied: what is read back is the object before the run
            continue
        if got is None:
            problems.append({"severity": "error", "subject": "%s %s" % (obj["kind"], name),
                             "message": "%s %s was applied but cannot be read back" % (obj["kind"], name)})
            continue
        dropped = _subset_missing(obj["spec"], got.get("spec"))
        if dropped:
            problems.append({"severity": "error", "subject": "%s %s" % (obj["kind"], name),
                             "message": "%s %s came back without spec.%s: the installed CRD prunes them (an older OME "
                                        "schema); upgrade OME's CRDs or use the mode it supports"
                                        % (obj["kind"], name, ", spec.".join(dropped))})
    pvc = observed.get("pvc") or {}
    if inputs.get("mode") == "pvc" and the_plan.get("objects") and not check_mode:
        phase = (pvc.get("status") or {}).get("phase")
        if phase != "Bound":
            subject = "PersistentVolumeClaim %s/%s" % (inputs["namespace"], inputs["pvc_name"])
            problems.append({"severity": "error", "subject": subject,
                             "message": "the pre-bound claim is %s, not Bound: OME's BaseModel controller waits for a "
                                        "Bound claim" % (phase or "missing")})
    # Every planned model, applied or not: without OME (no CRDs), no node has the labels either.
    # hostPath mode only: OME's agent skips pvc:// models and serving pods of those get no
    # node selector on the labels.
    planned = (the_plan.get("objects") or {}).get("models") or []
    if observed.get("pv") and planned and inputs.get("mode") == "hostPath":
        for finding in label_findings(planned, observed.get("nodes") or [], observed["pv"]):
            problems.append({"severity": finding["severity"], "subject": finding["object"],
                             "message": "%s: %s" % (finding["check"], finding["message"])})
    return problems


def report_section(the_plan, inputs, observed):
    """The report section ``model_storage`` (see validation_report.check_section)."""
    observed = observed or {}
    pv, pvc = observed.get("pv") or {}, observed.get("pvc") or {}
    back = dict(((o.get("kind"), (o.get("metadata") or {}).get("name")), o) for o in observed.get("models") or [])
    problems = [{"severity": "error", "subject": "model_storage", "message": m} for m in the_plan.get("problems") or []]
    problems += [{"severity": "warning", "subject": "model_storage", "message": m}
                 for m in (the_plan.get("warnings") or []) + list(observed.get("warnings") or [])]
    problems += [{"severity": "info", "subject": "model_storage", "message": m} for m in observed.get("infos") or []]
    problems += observed_problems(the_plan, inputs, observed)
    model_rows = []
    planned = dict((o["metadata"]["name"], o) for o in (the_plan.get("objects") or {}).get("models") or [])
    for entry in the_plan.get("models") or []:
        obj = planned.get(entry["name"]) or {}
        readback = back.get((obj.get("kind"), entry["name"]))
        state = ((readback or {}).get("status") or {}).get("state") or ("created" if readback else "not created")
        model_rows.append([entry["name"], obj.get("kind", ""), ", ".join(entry["holders"]) or "none",
                           ", ".join("%s: %s" % (h, s) for h, s in sorted(entry["states"].items()) if s != "held") or "-",
                           ((obj.get("spec") or {}).get("storage") or {}).get("storageUri", ""), state])
    tables = [{"title": "Models and the hosts that hold them",
               "columns": ["Model", "Kind", "Held on", "Not held on", "storageUri", "OME object"],
               "rows": model_rows}]
    if the_plan.get("objects"):
        tables.append({"title": "Model volume", "columns": ["Object", "Name", "Phase", "Nodes / volume"], "rows": [
            ["PersistentVolume", inputs["pv_name"], (pv.get("status") or {}).get("phase", "not created"),
             ", ".join(the_plan.get("nodes") or [])],
            ["PersistentVolumeClaim", "%s/%s" % (inputs["namespace"], inputs["pvc_name"]),
             (pvc.get("status") or {}).get("phase", "not created"), (pvc.get("spec") or {}).get("volumeName") or "-"],
        ] + [["Pod", "%s/%s" % (inputs["namespace"], pod.get("name")), pod.get("phase") or "",
              pod.get("node") or "not scheduled"] for pod in observed.get("pods") or []]})
    placement = [f for f in observed.get("placement") or []
                 if _related(f, inputs.get("pv_name"), inputs.get("namespace"), inputs.get("pvc_name"))]
    if the_plan.get("objects"):
        # The findings themselves are counted once, by placement_validation; the role fails on errors.
        tables.append({"title": PLACEMENT_TABLE, "columns": ["Severity", "Check", "Object", "Message"],
                       "rows": [[f["severity"], f["check"], "%s %s" % ((f.get("object") or {}).get("kind"),
                                                                       (f.get("object") or {}).get("name")),
                                 f["message"]] for f in placement]})
    values = (the_plan.get("ome_values") or {}).get("modelAgent") or {}
    tables.append({"title": "OME install values", "columns": ["Value", "Setting"],
                   "rows": [["modelAgent.%s" % k, str(v).lower() if isinstance(v, bool) else str(v)]
                            for k, v in sorted(values.items())]})
    notes = list(the_plan.get("notes") or [])
    if observed.get("version"):
        notes.append("OME version in use: %s." % observed["version"])
    if observed.get("check_mode"):
        notes.append("Check mode: nothing was created; phases and objects are those found before the run.")
    if inputs.get("mode") == "pvc":
        notes.append("%s is not checked in pvc mode: OME's model agent does not label nodes for pvc:// models, and "
                     "their serving pods get no node selector on those labels (the volume's affinity places them)."
                     % CHECK_LABELS)
    notes.append("Mode %s, model directory %s. OME's own defaults differ by install route (/raid/models in its "
                 "kustomize manifests, /mnt/data/models in the ome-resources chart, /mnt/models for the binary) and "
                 "newer charts leave the model agent disabled: install OME with the values above."
                 % (inputs.get("mode"), inputs.get("dir")))
    return {"name": "model_storage", "title": "OME model storage", "tables": tables, "problems": problems,
            "notes": notes}
