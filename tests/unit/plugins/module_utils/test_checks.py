"""The shared checks, table by table, against k8s.io/apimachinery's rules (validation.go,
quantity.go), Ansible's boolean parsing and the grammars the consumers parse."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from decimal import Decimal

import pytest

from ansible.module_utils.parsing.convert_bool import boolean as ansible_boolean

from ansible_collections.gpufleet.cluster.plugins.module_utils import checks

CYRILLIC_A = u"\u0430"  # looks like 'a'
FULLWIDTH_1 = u"\uff11"  # looks like '1'; str.isdigit() and \d accept it

# The hostile strings every name check must refuse, whatever else it accepts.
HOSTILE = [
    "name\n", "\nname", "na\nme", "name\t", "na me", "name\x00", "name\r", u"name\u2028", u"name\u200b",
    u"n" + CYRILLIC_A + "me", u"name" + FULLWIDTH_1, "", " ", "-name", "name-", "name.", ".name",
]


def _msg_names(message, var, value):
    assert message.startswith("%s=%r " % (var, value)), message
    assert "; " in message, message


def _expect(message, var, value, fragment):
    """None expected when fragment is None; else a message in the shared shape holding fragment."""
    if fragment is None:
        assert message is None, message
        return
    _msg_names(message, var, value)
    assert fragment in message, message


# --- names: DNS label, subdomain, namespace, label key and value -------------------------------
# validation.go IsDNS1123Label, IsDNS1123Subdomain, IsQualifiedName, IsValidLabelValue.

NAME_CHECKS = {
    "dns_label": (checks.is_dns_label, checks.dns_label_problem),
    "dns_subdomain": (checks.is_dns_subdomain, checks.dns_subdomain_problem),
    "label_key": (checks.is_label_key, checks.label_key_problem),
    "label_value": (checks.is_label_value, checks.label_value_problem),
}
NAME_CASES = {
    "dns_label": [
        ("a", True), ("my-name", True), ("123-abc", True), ("0", True), ("a" * 63, True), ("a" * 64, False),
        ("a-" * 31 + "a", True), ("My-name", False), ("my_name", False), ("my.name", False), ("a..b", False),
        ("a--b", True), (None, False), (5, False), (["a"], False),
    ] + [(h, False) for h in HOSTILE],
    "dns_subdomain": [
        ("example.com", True), ("a", True), ("a.b.c", True), ("a..b", False), ("a.-b", False), ("a-.b", False),
        ("a" * 63 + "." + "b" * 63, True), ("a" * 64 + ".b", True),  # validation.go checks 253 overall only
        (".".join(["a" * 63] * 4)[:253], True), ("a" * 253, True), ("a" * 254, False),
        (("a." * 127)[:253], True), ("A.b", False), ("a_b", False),
    ] + [(h, False) for h in HOSTILE],
    "label_key": [
        ("zone", True), ("topology.kubernetes.io/zone", True), ("MyName", True), ("my.name", True), ("123-abc", True),
        ("a_b", True), ("nvidia.com/gpu.product", True), ("/zone", False), ("a/b/c", False), ("Example.com/zone", False),
        ("example.com/", False), ("a" * 63, True), ("a" * 64, False), ("p/" + "a" * 63, True), ("p/" + "a" * 64, False),
        ("a" * 253 + "/n", True), ("a" * 254 + "/n", False), ("a..b/n", False), ("_a", False), ("a_", False),
    ] + [(h, False) for h in HOSTILE],
    "label_value": [
        ("", True), ("MyValue", True), ("my_value", True), ("12345", True), ("a.b-c_d", True), ("a" * 63, True),
        ("a" * 64, False), ("a,b", False), ("a=b", False), ("!a", False), ("in (a,b)", False), ("a b", False),
        ("-1", False), ("+3", False), ("a/b", False), ("value\n", False), ("value\t", False), ("\x00", False),
        (u"v" + CYRILLIC_A + "l", False), (FULLWIDTH_1, False), (None, False), (5, False), (True, False),
    ],
}


@pytest.mark.parametrize("kind, value, ok", [(k, v, ok) for k in sorted(NAME_CASES) for v, ok in NAME_CASES[k]])
def test_names(kind, value, ok):
    predicate, problem = NAME_CHECKS[kind]
    assert predicate(value) is ok
    message = problem("v", value)
    assert (message is None) is ok
    if message:
        _msg_names(message, "v", value)


@pytest.mark.parametrize("value,ok", [("default", True), ("kube-system", True), ("a.b", False), ("a" * 64, False),
                                      ("ns\n", False), ("", False)])
def test_namespace(value, ok):
    assert (checks.namespace_problem("ns", value) is None) is ok


@pytest.mark.parametrize("value,ok", [("piraeus-datastore", True), ("default", True), ("kube-system", False),
                                      ("kube-public", False), ("kube-node-lease", False), ("kube-systems", True),
                                      ("kube-system\n", False), ("Kube-System", False)])
def test_owned_namespace_refuses_the_namespaces_kubernetes_keeps(value, ok):
    message = checks.owned_namespace_problem("linstor_namespace", value, "piraeus-datastore")
    assert (message is None) is ok
    if message:
        _msg_names(message, "linstor_namespace", value)
    if value == "kube-system":
        assert message == ("linstor_namespace='kube-system' is a namespace Kubernetes keeps for its own components "
                           "(kube-system, kube-public, kube-node-lease); give the release a namespace of its own, "
                           "e.g. 'piraeus-datastore'")


def test_dns_label_with_a_lower_maximum():
    assert checks.dns_label_problem("r", "a" * 40, maximum=40) is None
    assert "at most 40" in checks.dns_label_problem("r", "a" * 41, maximum=40)


def test_label_maps():
    assert checks.labels_problems("sel", {"app": "x", "example.com/tier": ""}) == []
    assert checks.labels_problems("sel", None) == []
    assert checks.labels_problems("sel", ["app=x"])[0].startswith("sel=['app=x'] is not a map of labels")
    found = checks.labels_problems("sel", {"app": "x,y", "bad key": "z"})
    assert found[0].startswith("sel['app']='x,y' is not a label value") and found[1].startswith("sel key='bad key'")


def test_selector_syntax_in_a_label_value_is_named():
    assert "selector syntax" in checks.label_value_problem("l", "gpu-a,zone in (b)")


# --- quantities (quantity.go ParseQuantity) ---------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("0", 0), ("5", 5), ("5Gi", 5 * 2 ** 30), ("1.5Gi", Decimal(3) * 2 ** 29), ("500Mi", 500 * 2 ** 20),
    ("1Ki", 1024), ("1Ei", 2 ** 60), ("100m", Decimal("0.1")), ("1k", 1000), ("1M", 10 ** 6), ("1G", 10 ** 9),
    ("1T", 10 ** 12), ("1P", 10 ** 15), ("1E", 10 ** 18), ("1e3", 1000), ("1E3", 1000), ("5e-3", Decimal("0.005")),
    ("1e+3", 1000), (".5", Decimal("0.5")), ("1.", 1), ("0.5Gi", 2 ** 29), (5, 5), (0.5, Decimal("0.5")),
])
def test_quantity_values(text, expected):
    assert checks.parse_quantity(text) == expected


@pytest.mark.parametrize("text", [
    "", "Gi", "5GB", "5gi", "5Gb", "5 Gi", " 5Gi", "5Gi ", "5Gi\n", "\t5Gi", "5Gi\x00", "0x10", "1e", "1e3.5",
    "1.2.3", "five", "5Ki5", "5Kib", ".", "+", "-", FULLWIDTH_1 + "Gi", u"5G" + u"\u0456", "5iB", "1_000",
    True, False, None, [], {}, "inf", "nan", "1e99999999999",
])
def test_not_quantities(text):
    assert checks.parse_quantity(text) is None
    assert checks.parse_quantity(text, signed=True) is None


@pytest.mark.parametrize("text,value", [("+1", 1), ("-0", 0), ("-1Gi", -(2 ** 30)), ("+5e3", 5000)])
def test_signs_only_when_asked(text, value):
    assert checks.parse_quantity(text) is None
    assert checks.parse_quantity(text, signed=True) == value
    assert "takes no sign" in checks.quantity_problem("size", text)


@pytest.mark.parametrize("value,kwargs,fragment", [
    ("0", {}, "is zero"),
    ("0", {"allow_zero": True}, None),
    ("9Ei", {}, "is above"),  # 9 * 2**60 > int64
    ("7Ei", {}, None),
    ("9223372036854775808", {}, "is above"),
    ("9223372036854775807", {}, None),
    ("1e19", {}, "is above"),
    ("1Mi", {"minimum": "4Ki", "maximum": "1Gi"}, None),
    ("1Ki", {"minimum": "4Ki"}, "is below"),
    ("2Gi", {"maximum": "1Gi"}, "is above"),
    ("500m", {"whole": True}, "whole number of bytes"),
    ("1.5Gi", {"whole": True}, None),
    ("500GB", {}, "no 'B' suffix: write '500Gi'"),
    ("5Gi\n", {}, "control character"),
])
def test_quantity_bounds_and_hints(value, kwargs, fragment):
    _expect(checks.quantity_problem("size", value, **kwargs), "size", value, fragment)


# --- integers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value,strings,signed,expected", [
    (5, False, False, 5), (0, False, False, 0), (-1, False, False, None), (-1, False, True, -1),
    (True, False, False, None), (False, True, True, None), (5.0, False, False, None), ("5", False, False, None),
    ("5", True, False, 5), ("0", True, False, 0), ("-0", True, True, None), ("-1", True, False, None),
    ("-1", True, True, -1), ("+1", True, True, None), ("1e3", True, False, None), ("0x10", True, False, None),
    ("010", True, False, None), (" 1", True, False, None), ("1\n", True, False, None), ("1_000", True, False, None),
    (FULLWIDTH_1, True, False, None), ("", True, False, None), (None, True, False, None),
])
def test_parse_int(value, strings, signed, expected):
    assert checks.parse_int(value, signed=signed, strings=strings) == expected


@pytest.mark.parametrize("value,ok", [(1, True), (65535, True), (0, False), (65536, False), (True, False),
                                      ("8080", False), (8080.0, False), (-1, False), (2 ** 64, False)])
def test_port(value, ok):
    message = checks.port_problem("port", value)
    assert (message is None) is ok
    if message:
        _msg_names(message, "port", value)


def test_int_range_message():
    assert checks.int_problem("n", 11, 1, 10, 3) == "n=11 must be between 1 and 10; use e.g. 3"
    assert checks.int_problem("n", "1e3", 1, strings=True).startswith("n='1e3' is not a whole number written")


# --- durations (Go time.ParseDuration, unsigned) ----------------------------------------------

@pytest.mark.parametrize("value,nanos", [
    ("100ms", 10 ** 8), ("1m30s", 90 * 10 ** 9), ("1.5h", 5400 * 10 ** 9), ("0", 0), ("0s", 0), (".5s", 5 * 10 ** 8),
    ("1us", 1000), (u"1\u00b5s", 1000), ("-1s", None), ("+1s", None), ("1", None), ("1s\n", None), ("1 s", None),
    ("s", None), ("", None), (5, None), ("1d", None), (FULLWIDTH_1 + "s", None),
])
def test_duration(value, nanos):
    assert checks.parse_duration(value) == nanos


# --- booleans (ansible.module_utils.parsing.convert_bool, strict) -----------------------------

@pytest.mark.parametrize("value", [
    True, False, "yes", "no", "Yes", "NO", "true", "False", "TRUE", "on", "off", "y", "n", "t", "f", "1", "0",
    1, 0, 1.0, 0.0, " yes ", "yes\n",
])
def test_booleans_as_ansible_reads_them(value):
    assert checks.parse_boolean(value) is ansible_boolean(value, strict=True)
    assert checks.boolean_problem("flag", value) is None


@pytest.mark.parametrize("value", ["maybe", "", "none", "null", "2", "-1", "+1", "yes please", "tru", "ｙｅｓ",
                                   2, -1, 0.5, None, [], {}, ["yes"]])
def test_not_booleans(value):
    assert checks.parse_boolean(value) is None
    message = checks.boolean_problem("flag", value)
    _msg_names(message, "flag", value)
    with pytest.raises(TypeError):
        ansible_boolean(value, strict=True)


def test_no_and_false_are_false_not_truthy():
    assert bool("no") is True and checks.parse_boolean("no") is False
    assert checks.parse_boolean("False") is False


# --- paths ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,config_file,fragment", [
    ("/srv/nfs/greptimedb", True, None), ("/", False, None), ("/a-b_c.d/e+f@g:h", True, None),
    ("srv/nfs", False, "is relative"), ("./srv", False, "is relative"), ("", False, "is not a path"),
    (None, False, "is not a path"), ("/srv/../etc", False, "climbs with '..'"), ("/srv/..", False, "climbs"),
    ("/srv//nfs", False, "not a clean path; write it as '/srv/nfs'"), ("/srv/nfs/", False, "not a clean path"),
    ("/srv/nfs/.", False, "not a clean path"), ("/srv/./nfs", False, "not a clean path"),
    ("/srv/nfs\n", False, "control character"), ("/srv/nfs\x00", False, "control character"),
    ("/srv/\tnfs", False, "control character"), (u"/srv/nfs\u2028x", False, "control character"),
    ("/srv/a b", True, "' '"), ("/srv/a b", False, None), ('/srv/a"b', True, "'\"'"),
    ("/srv/a}b", True, "'}'"), ("/srv/a;b", True, "';'"), ("/srv/a#b", True, "'#'"),
    ("/srv/a(rw)", True, "'('"), ("/srv/a,b", True, "','"), ("/srv/*", True, "'*'"),
    (u"/srv/" + CYRILLIC_A, True, "would end the path"),
])
def test_paths(value, config_file, fragment):
    _expect(checks.path_problem("p", value, config_file=config_file), "p", value, fragment)


# --- URLs, hosts, images ----------------------------------------------------------------------

@pytest.mark.parametrize("value,ok", [
    ("https://example.com", True), ("http://10.0.0.1:8080/x?y=1", True), ("https://[::1]:443/", True),
    ("ftp://example.com", False), ("https://", False), ("example.com", False), ("https://exa mple.com", False),
    ("https://example.com\n", False), ("https://example.com:99999", False), ("https://example.com:0", False),
    ("https://example.com:x", False), ("", False), (None, False),
])
def test_urls(value, ok):
    assert (checks.url_problem("u", value) is None) is ok


def test_secret_url_never_shows_the_value():
    secret = "mongodb://user:hunter2@db:99999/x"
    message = checks.url_problem("uri", secret, schemes=("mongodb",), secret=True)
    assert message and "hunter2" not in message and message.startswith("uri ")
    assert checks.url_problem("uri", "mongodb://user:hunter2@db:27017/x", schemes=("mongodb",), secret=True) is None


@pytest.mark.parametrize("value,ok", [
    ("nfs-1.example.org", True), ("NFS1", True), ("10.0.0.5", True), ("::1", True), ("[::1]", True),
    ("fe80::1%eth0", False), ("nfs_1", False), ("a..b", False), ("-a", False), ("a" * 64, False),
    ("host\n", False), ("host}", False), ("", False), (None, False),
])
def test_hosts(value, ok):
    assert (checks.host_problem("h", value) is None) is ok


@pytest.mark.parametrize("value,ok", [
    ("nginx", True), ("nginx:1.25", True), ("library/nginx:latest", True), ("registry.example.com/team/app:1.0", True),
    ("localhost:5000/app", True), ("[::1]:5000/app:v1", True), ("app@sha256:" + "a" * 64, True),
    ("app:v1@sha256:" + "0" * 64, True), ("gpu-metrics-streamer/queueservice:latest", True), ("a__b", True),
    ("Nginx", False), ("nginx:", False), ("nginx: 1", False), ("nginx:1\n", False), ("nginx\n", False),
    ("nginx:-1", False), ("nginx:" + "a" * 129, False), ("nginx@sha256:abc", False), ("/nginx", False),
    ("nginx/", False), ("a///b", False), ("", False), (None, False), ("nginx:1.0 --privileged", False),
    (u"ngin" + u"\u0445", False),
])
def test_images(value, ok):
    assert (checks.parse_image(value) is not None) is ok
    message = checks.image_problem("img", value)
    assert (message is None) is ok
    if message:
        _msg_names(message, "img", value)


@pytest.mark.parametrize("value,registry", [
    ("registry.example.com/team/app:1.0", "registry.example.com"), ("localhost:5000/app", "localhost:5000"),
    ("localhost/app:1", "localhost"), ("[::1]:5000/app:v1", "[::1]:5000"), ("Registry/app", "Registry"),
    ("quay.io/prometheus/alertmanager:v0.27.0", "quay.io"),
    ("nginx", ""), ("library/nginx:1.25", ""), ("gpu-metrics-streamer/queueservice:latest", ""), ("Nginx", ""), (None, ""),
])
def test_image_registry(value, registry):
    assert checks.image_registry(value) == registry


@pytest.mark.parametrize("value,fragment", [
    ("registry.example.com/team/app:1.0", None), ("localhost:5000/app:v2", None), ("localhost/app:0.1.0", None),
    ("registry.example.com/app@sha256:" + "a" * 64, None), ("registry.example.com/app:latest@sha256:" + "a" * 64, None),
    ("", "img is not set; push the image"), (None, "img is not set"),
    ("Nginx", "is not an image reference"),
    ("gpu-metrics-streamer/queueservice:1.0", "names no registry host: a container runtime pulls it from Docker Hub "
                                              "(docker.io/gpu-metrics-streamer/queueservice)"),
    ("nginx:1.25", "(docker.io/library/nginx)"),
    ("registry.example.com/team/app", "is not pinned (no tag, which means 'latest')"),
    ("registry.example.com/team/app:latest", "is not pinned (the tag 'latest')"),
])
def test_pinned_images(value, fragment):
    message = checks.pinned_image_problem("img", value, example="registry.example.com/x/y:1.0")
    if fragment is None:
        assert message is None
        return
    assert fragment in message and "registry.example.com/x/y:1.0" in message
    if value not in ("", None):
        _msg_names(message, "img", value)


# --- networks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value,canonical", [
    ("10.0.0.0/24", "10.0.0.0/24"), ("10.0.0.7/24", "10.0.0.0/24"), ("10.0.0.15", "10.0.0.15"),
    ("10.0.0.15/32", "10.0.0.15/32"), ("2001:DB8:0:0::/64", "2001:db8::/64"), ("::1", "::1"),
    ("fe80::1%eth0", None), ("10.0.0.0/8(rw,no_root_squash)", None), ("*", None), ("host}", None),
    ('"10.0.0.1"', None), ("10.0.0.1;", None), ("10.0.0.1\n", None), (" 10.0.0.1", None), ("010.0.0.1", None),
    ("10.0.0.0/33", None), ("nfs.example.org", None), (u"10.0.0." + FULLWIDTH_1, None), ("", None), (None, None),
])
def test_canonical_network(value, canonical):
    assert checks.canonical_network(value) == canonical
    message = checks.network_problem("c", value)
    assert (message is None) is (canonical is not None)
    if message:
        _msg_names(message, "c", value)


@pytest.mark.parametrize("value", ["0.0.0.0/0", "::/0", "*", "10.*", "world"])
def test_everyone_is_refused(value):
    assert "everyone" in checks.network_problem("c", value)


# --- the message shape ------------------------------------------------------------------------

def test_every_problem_names_variable_value_and_fix():
    for message in (checks.dns_label_problem("x_name", "A\n"), checks.quantity_problem("x_size", "-1Gi"),
                    checks.int_problem("x_count", "1e3", 1, strings=True), checks.boolean_problem("x_flag", "maybe"),
                    checks.path_problem("x_path", "/a/../b"), checks.image_problem("x_image", "A"),
                    checks.network_problem("x_net", "*"), checks.label_value_problem("x_val", "a,b")):
        var = message.split("=", 1)[0]
        assert var.startswith("x_") and "; " in message


def test_overriding_paths_at_under_or_above_what_the_role_owns():
    owned = ["controller.replicaCount", "cluster.enabled", "schedulerConfig"]
    given = {"controller": {"replicaCount": 2, "image": {"tag": "1"}}, "cluster": None, "schedulerConfig": {"a": {"b": 1}},
             "agent": {}, "greptime": {"host": "x"}}
    assert checks.overriding_paths(given, owned) == [
        ("cluster", "cluster.enabled"), ("controller.replicaCount", "controller.replicaCount"),
        ("schedulerConfig.a.b", "schedulerConfig")]
    assert checks.overriding_paths({"controller": {}}, owned) == []  # an empty dict merges into nothing


@pytest.mark.parametrize("key, value, fragment", [
    # kubernetes.core's helm modules join their command line and split it again: each of these
    # would add an option of the caller's choosing (--post-renderer runs a program).
    ("chart_version", "2.6.0 --post-renderer /bin/sh", "r_chart_version='2.6.0 --post-renderer /bin/sh' is not one word"),
    ("chart_ref", "piraeus' --post-renderer '/bin/sh", "r_chart_ref=\"piraeus' --post-renderer '/bin/sh\" is not one word"),
    ("chart_ref", "--post-renderer=/bin/sh", "a leading '-' would add"),
    ("chart_ref", "", "r_chart_ref='' is not a chart reference"),
    ("chart_version", "2.6.0\n", "is not one word for helm's command line (it contains the control character(s)"),
    ("helm_binary", "helm --kubeconfig /tmp/x", "r_helm_binary='helm --kubeconfig /tmp/x' is not one word"),
    ("release_name", "Piraeus_Op", "r_release_name='Piraeus_Op' is not a Helm release name"),
    ("release_name", "a" * 54, "is longer than Helm's 53 characters"),
])
def test_helm_words_that_would_add_arguments_are_refused(key, value, fragment):
    problems = checks.helm_problems("r", {key: value}, "oci://example.org/charts/x", "1.0.0")
    assert len(problems) == 1 and fragment in problems[0], problems


@pytest.mark.parametrize("inputs", [
    {"chart_ref": "oci://ghcr.io/piraeusdatastore/piraeus-operator/piraeus", "chart_version": "2.6.0",
     "helm_binary": "helm", "release_name": "piraeus-op"},
    {"chart_ref": "/home/me/.ansible/collections/ansible_collections/gpufleet/cluster/roles/x/files/chart",
     "chart_version": "", "helm_binary": "/usr/local/bin/helm-3.18"},
    {"chart_ref": "tensor-fusion/tensor-fusion", "chart_version": "^1.8.7"},
    {"chart_ref": "https://charts.example.org/x-1.0.0.tgz", "chart_version": None},
])
def test_helm_words_people_use_pass(inputs):
    assert checks.helm_problems("r", inputs, "x", "1") == []
