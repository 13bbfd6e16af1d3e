"""Paged listing: every page is read, continue tokens are passed on, errors become one message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gpufleet.cluster.plugins.module_utils.k8s_read import (
    RESOURCES,
    ReadError,
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
