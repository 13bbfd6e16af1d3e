"""Paged listing: every page is read, continue tokens are passed on, errors become one message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.k8s_read import (
    RESOURCES,
    ReadError,
    QueryError,
    api_error_text,
    find_all,
    list_all,
    read_inventory,
)


class FakeAPI(object):
    """Serves ``objects`` per path in pages of the requested limit, like the API server."""

    def __init__(self, objects):
        self.objects = objects
        self.calls = []

    def __call__(self, path, query):
        query = dict(query)
        self.calls.append((path, query))
        start = int(query.get("continue") or 0)
        items = self.objects.get(path, [])
        end = start + query["limit"]
        page = {"kind": "List", "items": items[start:end], "metadata": {}}
        if end < len(items):
            page["metadata"]["continue"] = str(end)
        return page


def test_list_all_follows_continue_tokens():
    api = FakeAPI({"/api/v1/pods": [{"metadata": {"name": "p%d" % i}} for i in range(7)]})
    items = list_all(api, "/api/v1/pods", 3)
    assert [i["metadata"]["name"] for i in items] == ["p%d" % i for i in range(7)]
    assert [q.get("continue") for _path, q in api.calls] == [None, "3", "6"]
    assert all(q["limit"] == 3 for _path, q in api.calls)


def test_read_inventory_reads_every_kind():
    api = FakeAPI(dict((path, [{"metadata": {"name": key}}]) for key, path, _name in RESOURCES))
    inventory = read_inventory(api, page_size=10)
    assert sorted(inventory) == sorted(key for key, _path, _name in RESOURCES)
    assert all(len(v) == 1 for v in inventory.values())


class Forbidden(Exception):
    status = 403
    reason = "Forbidden"


def test_read_errors_name_the_resource_and_the_fix():
    def request(path, query):
        if path == "/api/v1/pods":
            raise Forbidden()
        return {"items": []}

    with pytest.raises(ReadError) as exc:
        read_inventory(request)
    message = str(exc.value)
    assert "listing pods" in message and "HTTP 403" in message and "RBAC" in message


class FakeFind(object):
    """kubernetes.core's K8sService.find over a dict of objects by (api_version, kind): objects
    of a kind whose API is not served are not found, like a CRD not installed."""

    def __init__(self, objects):
        self.objects = objects
        self.calls = []

    def __call__(self, kind, api_version, name=None, namespace=None, label_selectors=None, field_selectors=None):
        self.calls.append((kind, api_version, name, namespace, tuple(label_selectors), tuple(field_selectors)))
        if (api_version, kind) not in self.objects:
            return {"resources": [], "api_found": False, "msg": "Failed to find API"}
        items = [o for o in self.objects[(api_version, kind)]
                 if (name is None or o["metadata"]["name"] == name)
                 and (namespace is None or o["metadata"].get("namespace") == namespace)]
        return {"resources": items, "api_found": True}


def _obj(name, namespace=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta}


def test_find_all_gathers_results_by_key_in_query_order():
    find = FakeFind({
        ("v1", "Node"): [_obj("n1"), _obj("n2")],
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): [_obj("a.x.io"), _obj("b.x.io")],
        ("v1", "PersistentVolumeClaim"): [_obj("c1", "ns1"), _obj("c1", "ns2")],
    })
    resources, api_found, waits_failed = find_all(find, [
        {"key": "nodes", "kind": "Node"},
        {"key": "crds", "kind": "CustomResourceDefinition", "api_version": "apiextensions.k8s.io/v1", "name": "b.x.io"},
        {"key": "crds", "kind": "CustomResourceDefinition", "api_version": "apiextensions.k8s.io/v1", "name": "gone.x.io"},
        {"key": "crds", "kind": "CustomResourceDefinition", "api_version": "apiextensions.k8s.io/v1", "name": "a.x.io"},
        {"key": "claims", "kind": "PersistentVolumeClaim", "namespace": "ns2", "name": "c1"},
    ])
    assert [o["metadata"]["name"] for o in resources["nodes"]] == ["n1", "n2"]
    assert [o["metadata"]["name"] for o in resources["crds"]] == ["b.x.io", "a.x.io"]
    assert resources["claims"] == [_obj("c1", "ns2")]
    assert api_found == {"nodes": True, "crds": True, "claims": True}
    assert waits_failed == {}


def test_find_all_passes_selectors_and_defaults_the_api_version():
    find = FakeFind({("v1", "Pod"): []})
    find_all(find, [{"key": "pods", "kind": "Pod", "namespace": "ns", "label_selectors": ["app=x"],
                     "field_selectors": ["status.phase=Running"]}])
    assert find.calls == [("Pod", "v1", None, "ns", ("app=x",), ("status.phase=Running",))]


def test_find_all_reports_a_kind_whose_api_is_not_served():
    find = FakeFind({})
    resources, api_found, _waits = find_all(find, [{"key": "sats", "kind": "LinstorSatellite", "api_version": "piraeus.io/v1"}])
    assert resources == {"sats": []}
    assert api_found == {"sats": False}


def test_find_all_with_no_query_reads_nothing():
    find = FakeFind({})
    assert find_all(find, []) == ({}, {}, {})
    assert find.calls == []


def test_find_all_names_the_query_that_failed():
    def find(kind, api_version, **kwargs):
        raise RuntimeError("Forbidden")

    with pytest.raises(QueryError, match=r"^reading v1 Service ns/svc: Forbidden$"):
        find_all(find, [{"key": "svc", "kind": "Service", "namespace": "ns", "name": "svc"}])


class WaitingFind(FakeFind):
    """FakeFind whose waits end (or not) as ``done`` says per object name: a wait that does not
    end raises, as kubernetes.core's Waiter does after wait_timeout."""

    def __init__(self, objects, done):
        super(WaitingFind, self).__init__(objects)
        self.done = done
        self.waits = []

    def __call__(self, kind, api_version, wait=False, wait_timeout=None, wait_sleep=None, condition=None, **where):
        if wait:
            self.waits.append((kind, where.get("name"), wait_timeout, wait_sleep, condition))
            if not self.done.get(where.get("name"), True):
                raise RuntimeError("Failed to gather information about %s(s) even after waiting for %s seconds"
                                   % (kind, wait_timeout))
        return super(WaitingFind, self).__call__(kind, api_version, **where)


def test_find_all_waits_as_asked_and_reads_in_order():
    find = WaitingFind({("apps/v1", "Deployment"): [_obj("a", "ns"), _obj("b", "ns")], ("v1", "Pod"): [_obj("p", "ns")]}, {})
    resources, _found, waits_failed = find_all(find, [
        {"key": "workloads", "kind": "Deployment", "api_version": "apps/v1", "namespace": "ns", "name": "a",
         "wait": True, "wait_timeout": 30, "wait_sleep": 2},
        {"key": "workloads", "kind": "Deployment", "api_version": "apps/v1", "namespace": "ns", "name": "b", "wait": True,
         "wait_condition": {"type": "Available", "status": "True"}},
        {"key": "pods", "kind": "Pod", "namespace": "ns"},
    ])
    assert find.waits == [("Deployment", "a", 30, 2, None), ("Deployment", "b", 120, 5, {"type": "Available", "status": "True"})]
    assert [o["metadata"]["name"] for o in resources["workloads"]] == ["a", "b"]
    assert [c[0] for c in find.calls] == ["Deployment", "Deployment", "Pod"]
    assert waits_failed == {}


def test_a_wait_that_does_not_end_keeps_the_object_as_it_is_and_says_so():
    find = WaitingFind({("apps/v1", "StatefulSet"): [_obj("q", "ns")], ("apps/v1", "Deployment"): [_obj("c", "ns")]},
                       {"q": False})
    resources, _found, waits_failed = find_all(find, [
        {"key": "workloads", "kind": "StatefulSet", "api_version": "apps/v1", "namespace": "ns", "name": "q",
         "wait": True, "wait_timeout": 7},
        {"key": "workloads", "kind": "Deployment", "api_version": "apps/v1", "namespace": "ns", "name": "c", "wait": True},
    ])
    assert [o["metadata"]["name"] for o in resources["workloads"]] == ["q", "c"]
    assert waits_failed == {"workloads": [
        "reading apps/v1 StatefulSet ns/q: Failed to gather information about StatefulSet(s) even after waiting for 7 seconds"]}


def test_a_wait_whose_read_is_refused_fails_naming_the_query():
    def find(kind, api_version, **kwargs):
        raise RuntimeError("Forbidden")

    with pytest.raises(QueryError, match=r"^reading apps/v1 Deployment ns/d: Forbidden$"):
        find_all(find, [{"key": "d", "kind": "Deployment", "api_version": "apps/v1", "namespace": "ns", "name": "d", "wait": True}])


class _ApiError(Exception):
    def __init__(self, status, reason, body):
        super(_ApiError, self).__init__(reason)
        self.status, self.reason, self.body = status, reason, body


FORBIDDEN_BODY = (b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods is forbidden: User '
                  b'\\"system:serviceaccount:a:b\\" cannot list resource \\"pods\\" in API group \\"\\" at the '
                  b'cluster scope","reason":"Forbidden","code":403}')


@pytest.mark.parametrize("error, expected", [
    (_ApiError(403, "Forbidden", FORBIDDEN_BODY),
     'pods is forbidden: User "system:serviceaccount:a:b" cannot list resource "pods" in API group "" at the cluster scope'),
    (_ApiError(403, "Forbidden", FORBIDDEN_BODY.decode()), 'cannot list resource "pods"'),
    (_ApiError(500, "Internal Server Error", b"not json"), "Internal Server Error"),
    (_ApiError(500, "Internal Server Error", b'{"kind":"Status"}'), "Internal Server Error"),
    (ValueError("no route to host"), "no route to host"),
])
def test_api_error_text_is_the_api_servers_message(error, expected):
    assert expected in api_error_text(error)


def test_a_refused_read_names_the_verb_and_resource_refused():
    def request(path, query):
        raise _ApiError(403, "Forbidden", FORBIDDEN_BODY)

    with pytest.raises(ReadError) as exc:
        read_inventory(request)
    assert 'cannot list resource "pods"' in str(exc.value) and "(HTTP 403)" in str(exc.value)
