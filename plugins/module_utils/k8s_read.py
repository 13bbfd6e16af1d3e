# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Paged, read-only listing of the objects the placement checks need.

``read_inventory(request, page_size)`` builds the same inventory dict as a snapshot
(snapshot.py). ``request(path, query)`` is any callable returning the decoded JSON of a GET;
``api_request(client)`` makes one from kubernetes.core's API client, so authentication
(kubeconfig, context, host, api_key, ...) is exactly kubernetes.core's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# inventory key -> (API path, what to call it in messages)
RESOURCES = (
    ("nodes", "/api/v1/nodes", "nodes"),
    ("pvs", "/api/v1/persistentvolumes", "persistentvolumes"),
    ("pvcs", "/api/v1/persistentvolumeclaims", "persistentvolumeclaims"),
    ("pods", "/api/v1/pods", "pods"),
    ("storageclasses", "/apis/storage.k8s.io/v1/storageclasses", "storageclasses.storage.k8s.io"),
)


def api_error_text(exc):
    """What the API server said about a failed request: its Status message (a 403's names the
    verb, the resource and the user: ``pods is forbidden: User "..." cannot list resource "pods" in
    API group "" at the cluster scope``), else the error's reason, else the error itself."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            message = json.loads(body).get("message")
        except (ValueError, AttributeError):
            message = None
        if message:
            return message
    return str(getattr(exc, "reason", None) or exc)


class ReadError(Exception):
    """Listing a resource failed; the message says which and why."""


def list_all(request, path, page_size, query=()):
    """All items under ``path`` (with the extra ``query`` parameters, e.g. a label selector),
    following the API's ``continue`` tokens page by page."""
    items = []
    token = None
    while True:
        params = [("limit", page_size)] + list(query)
        if token:
            params.append(("continue", token))
        page = request(path, params)
        items.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def read_inventory(request, page_size=500):
    inventory = {}
    for key, path, name in RESOURCES:
        try:
            inventory[key] = list_all(request, path, page_size)
        except ReadError:
            raise
        except Exception as exc:  # the client raises many types; each becomes one clear message
            status = getattr(exc, "status", None)
            reason = api_error_text(exc)
            hint = ""
            if status == 403:
                hint = " The credentials need RBAC get and list on %s (cluster-wide)." % name
            raise ReadError("listing %s from the API failed%s: %s.%s" % (name, " (HTTP %s)" % status if status else "", reason, hint))
    return inventory


def api_request(client):
    """A ``request(path, query)`` over kubernetes.core's K8SClient, returning plain dicts."""
    dynamic = client.client

    def request(path, query):
        return dynamic.request("get", path, query_params=list(query), serializer=_plain)

    return request


def _plain(_client, data):
    return data


class QueryError(Exception):
    """A query of ``find_all`` failed: the message names the query and says why."""

    def __init__(self, query, error):
        where = "/".join(x for x in (query.get("namespace"), query.get("name")) if x)
        super(QueryError, self).__init__("reading %s %s%s: %s" % (
            query.get("api_version") or "v1", query.get("kind"), " " + where if where else "", error))


def find_all(find, queries):
    """Runs every query through ``find`` (kubernetes.core's ``K8sService.find``, or any callable
    with its keyword arguments and result) and gathers the results by each query's ``key``.

    Queries sharing a key add up: their resources are concatenated in query order and the key's
    ``api_found`` is true when any of them found its API. A query with ``wait`` true waits as
    kubernetes.core.k8s_info with wait does (up to ``wait_timeout`` seconds, checking every
    ``wait_sleep``: a Deployment or StatefulSet until its rollout is done, a Pod until Ready, or
    until the ``wait_condition`` given, e.g. a CRD's Established); a
    wait that does not end in time is not an error: the query's objects are read again as they
    are, and the wait's message goes under the key in ``waits_failed``, so that one workload
    still rolling out does not hide the others. Returns ``(resources, api_found, waits_failed)``,
    dicts keyed like the queries (``waits_failed`` only has keys whose waits did not end). A
    query that raises otherwise becomes a ``QueryError`` naming it."""
    resources = {}
    api_found = {}
    waits_failed = {}
    for query in queries:
        key = query["key"]
        where = dict(
            name=query.get("name"),
            namespace=query.get("namespace"),
            label_selectors=query.get("label_selectors") or [],
            field_selectors=query.get("field_selectors") or [],
        )
        kind, api_version = query["kind"], query.get("api_version") or "v1"
        found = None
        if query.get("wait"):
            try:
                found = find(kind, api_version, wait=True, wait_timeout=query.get("wait_timeout", 120),
                             wait_sleep=query.get("wait_sleep", 5), condition=query.get("wait_condition"), **where)
            except Exception as exc:  # the wait's end (CoreException) or a failed read: read once more to tell
                waits_failed.setdefault(key, []).append(str(QueryError(query, exc)))
        if found is None:
            try:
                found = find(kind, api_version, **where)
            except Exception as exc:  # the client raises many types; each becomes one message naming the query
                raise QueryError(query, exc)
        resources.setdefault(key, []).extend(found.get("resources") or [])
        api_found[key] = api_found.get(key, False) or bool(found.get("api_found"))
    return resources, api_found, waits_failed
