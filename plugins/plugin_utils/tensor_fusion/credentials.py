# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpufleet
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials that the tensor-fusion chart (1.8.7) renders outside a Secret, and redaction.

Upstream's templates, read at the chart's tag: ``alert.alertManagerConfig`` becomes the ConfigMap
``<release>-alert-manager-config`` (templates/alert-manager.yaml); ``greptime.password`` (cloud)
becomes, besides the Secret ``<release>-greptimedb-secret``, part of the ConfigMap
``tensor-fusion-sys-vector-config`` (templates/vector-config.yaml: an Authorization header and the
log sink's password); ``agent.enrollToken`` is a literal env value of the controller Deployment's
``cluster-agent`` container. ConfigMaps and pod specs are readable with the built-in ``view`` role;
Secrets are not. ``cloudVendorCredentials`` go into a Secret (templates/vendor-credentials.yaml).

A credential at such a path is refused unless the user names the path in
``tensor_fusion_credentials_outside_secrets``: a confirmation that names what it accepts, and is
itself refused when it names nothing the run would render. Pure functions: plain data in and out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpufleet.cluster.plugins.plugin_utils.redaction import secret_paths

ACK_VAR = "tensor_fusion_credentials_outside_secrets"

# value path -> where the chart renders it, for messages and docs.
WHERE = {
    "alert.alertManagerConfig": "the ConfigMap %(release)s-alert-manager-config",
    "greptime.password": "the ConfigMap tensor-fusion-sys-vector-config (besides the Secret %(release)s-greptimedb-secret)",
    "agent.enrollToken": "the env of the controller Deployment's cluster-agent container (its pod spec)",
}
# Chart values that the chart puts in a Secret of its own: not refused (Helm's release Secret holds
# every value anyway).
IN_SECRET = ("cloudVendorCredentials",)


def outside_secrets(chart_values):
    """(value path, group) of each credential the chart would render outside a Secret, for the
    planned chart values; group is the WHERE key that covers it, or the path itself for a
    credential-like value elsewhere (the chart may render it anywhere)."""
    found = []
    for path in secret_paths(chart_values):
        if any(path == top or path.startswith(top + ".") for top in IN_SECRET):
            continue
        group = next((top for top in WHERE if path == top or path.startswith(top + ".") or path.startswith(top + "[")),
                     path)
        found.append((path, group))
    return found


def problems(chart_values, accepted, release):
    """Why the planned chart values may not go to the chart ([] when they may): every credential the
    chart renders outside a Secret must be named (its group) in ACK_VAR, and ACK_VAR names only such
    groups. Messages carry paths, never a value."""
    if accepted in (None, ""):
        accepted = []
    if not isinstance(accepted, list) or not all(isinstance(item, str) for item in accepted):
        return ["%s=%r is not a list of chart value paths; give e.g. ['alert.alertManagerConfig']" % (ACK_VAR, accepted)]
    found = outside_secrets(chart_values)
    groups = []
    for _path, group in found:
        if group not in groups:
            groups.append(group)
    out = []
    for group in groups:
        if group in accepted:
            continue
        paths = [path for path, g in found if g == group]
        where = WHERE.get(group, "wherever the chart renders it") % {"release": release}
        out.append("%s would put a credential (%s; the value is not shown) in %s, which any user with read access "
                   "to that namespace (the built-in 'view' role) can read: %s, or add %r to %s to accept it"
                   % (_source(group), ", ".join(paths), where, _fix(group), group, ACK_VAR))
    for item in accepted:
        if item not in groups:
            out.append("%s names %r, but no credential would be rendered there by this run (it confirms only what "
                       "the run would do: remove it)" % (ACK_VAR, item))
    return out


def _source(group):
    if group.startswith("alert."):
        return "tensor_fusion_alertmanager_config (chart value %s)" % group
    if group == "greptime.password":
        return "tensor_fusion_greptimedb_password (chart value greptime.password, Greptime Cloud)"
    return "tensor_fusion_chart_values (chart value %s)" % group


def _fix(group):
    if group.startswith("alert."):
        return ("keep receiver credentials in an AlertManager of your own, configured from a Secret "
                "(tensor_fusion_alertmanager_mode: existing with tensor_fusion_alertmanager_address)")
    if group == "greptime.password":
        return "use a GreptimeDB without a password in the cluster (tensor_fusion_greptimedb_mode: standalone or external)"
    return "leave it out of tensor_fusion_chart_values"
