# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks every role and plugin of the collection shares: names, quantities, numbers,
booleans, paths, URLs, image references and networks.

Two layers, both pure (plain values in, no AnsibleModule, no I/O):

* parsers and predicates (``is_dns_label``, ``parse_quantity``, ``parse_int``,
  ``parse_boolean``, ``canonical_network`` ...) answer "is it one, and what does it stand for";
* ``*_problem(var, value, ...)`` functions return one sentence or None. Every sentence has the
  same shape, ``<var>=<repr(value)> <what is wrong>; <the fix>`` (see ``problem``): the
  variable, the value as Python writes it (so a newline, a tab or a NUL shows as ``\\n``,
  ``\\t``, ``\\x00``) and what to write instead. A secret's sentence leaves the value out.

Every pattern is matched with ``re.fullmatch``: Python's ``$`` also matches before a final
newline (Go's does not), so ``re.match("...$", "name\\n")`` accepts what the API server refuses.
Character classes are spelled out ASCII ranges, never ``\\d``, ``\\w`` or ``\\s``, which in
Python 3 also match fullwidth digits and other scripts' letters.

The Kubernetes rules are those of k8s.io/apimachinery:
- ``pkg/util/validation/validation.go``: ``IsDNS1123Label`` (``[a-z0-9]([-a-z0-9]*[a-z0-9])?``,
  at most 63), ``IsDNS1123Subdomain`` (labels joined by '.', at most 253), ``IsQualifiedName``
  (label keys: an optional DNS-subdomain prefix and '/', then a name of at most 63 matching
  ``([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]``), ``IsValidLabelValue`` (the same name, or empty).
- ``pkg/api/resource/quantity.go``: ``ParseQuantity`` and the grammar in its comment, written
  out below at ``_QUANTITY``.
- Namespaces are DNS labels (``ValidateNamespaceName`` in ``pkg/api/validation``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import decimal
import ipaddress
import re
import unicodedata

from urllib.parse import urlsplit

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

DNS_LABEL_MAX = 63  # validation.go DNS1123LabelMaxLength
DNS_SUBDOMAIN_MAX = 253  # validation.go DNS1123SubdomainMaxLength
LABEL_NAME_MAX = 63  # validation.go qualifiedNameMaxLength and LabelValueMaxLength
INT32_MAX = 2 ** 31 - 1
INT64_MAX = 2 ** 63 - 1
IMAGE_NAME_MAX = 255  # distribution/reference NameTotalLengthMax
# Exact arithmetic for quantities up to Ei with many digits (the default context keeps 28).
_EXACT = decimal.Context(prec=100, Emax=10 ** 10, Emin=-(10 ** 10))

# validation.go dns1123LabelFmt, dns1123SubdomainFmt, qualifiedNameFmt.
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_RE = re.compile(_DNS_LABEL)
_DNS_SUBDOMAIN_RE = re.compile(r"%s(?:\.%s)*" % (_DNS_LABEL, _DNS_LABEL))
_QUALIFIED_NAME_RE = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")

# quantity.go:
#   <quantity>        ::= <signedNumber><suffix>
#   <signedNumber>    ::= <number> | <sign><number>
#   <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
#   <sign>            ::= "+" | "-"
#   <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
#   <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
#   <decimalSI>       ::= m | "" | k | M | G | T | P | E
#   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
# (ParseQuantity also trims surrounding white space; the roles refuse it instead, since the
# value is copied into objects and chart values as written.)
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|(?P<decimal>m|k|M|G|T|P|E)|[eE](?P<exponent>[+-]?[0-9]+))?"
)
_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DECIMAL = {"m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# A disk vendor's spelling ("500GB", "1.5 TiB"): Kubernetes has no 'B' suffix.
_VENDOR_SIZE = re.compile(r"([0-9.]+) ?([KMGTPE])i?B", re.IGNORECASE)

_DECIMAL_INT = re.compile(r"0|[1-9][0-9]*")
_SIGNED_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")

# Go time.ParseDuration's units; a sign is refused (no role wants a negative duration).
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_NANOS = {"ns": 1, "us": 10 ** 3, u"\u00b5s": 10 ** 3, u"\u03bcs": 10 ** 3, "ms": 10 ** 6, "s": 10 ** 9,
          "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9}

# What a path written into a config file (/etc/exports, ganesha.conf, fstab) may hold: no
# white space, quotes, comment, block, option or list characters of any of those formats.
_CONFIG_PATH_RE = re.compile(r"[A-Za-z0-9._+@:/-]+")

# distribution/reference regexp.go (the grammar Docker, containerd and CRI-O parse).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = r"%s(?:%s%s)*" % (_ALNUM, _SEPARATOR, _ALNUM)
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = r"(?:%s(?:\.%s)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
_IMAGE_RE = re.compile(
    r"(?P<name>(?:%s/)?%s(?:/%s)*)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
    % (_DOMAIN, _PATH_COMPONENT, _PATH_COMPONENT)
)

_HOSTNAME_LABEL = r"[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(r"%s(?:\.%s)*\.?" % (_HOSTNAME_LABEL, _HOSTNAME_LABEL))
_IP_CHARS_RE = re.compile(r"[0-9A-Fa-f.:/]+")


def problem(var, value, what, fix):
    """The one message shape: ``<var>=<repr(value)> <what>; <fix>``."""
    return "%s=%r %s; %s" % (var, value, what, fix)


def secret_problem(var, what, fix):
    """The message shape for a secret: the value is never shown."""
    return "%s %s (its value is not shown: it is a secret); %s" % (var, what, fix)


def is_int(value):
    """A real integer: bool is an int subclass in Python, and never a number here."""
    return isinstance(value, int) and not isinstance(value, bool)


def control_characters(text):
    """The control, format and separator characters in ``text`` (newline, tab, NUL, U+2028, ...)."""
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


def _unprintable(value):
    """' contains control characters' when it does: the most useful first reason to give."""
    if isinstance(value, str) and control_characters(value):
        return " (it contains the control character(s) %s)" % ", ".join(
            sorted(set(repr(c) for c in control_characters(value))))
    return ""


# --- names -------------------------------------------------------------------------------------

def is_dns_label(value, maximum=DNS_LABEL_MAX):
    return isinstance(value, str) and len(value) <= maximum and _DNS_LABEL_RE.fullmatch(value) is not None


def is_dns_subdomain(value):
    return isinstance(value, str) and len(value) <= DNS_SUBDOMAIN_MAX and _DNS_SUBDOMAIN_RE.fullmatch(value) is not None


def is_label_key(value):
    """validation.go IsQualifiedName: [prefix/]name, prefix a DNS subdomain, name at most 63."""
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    if len(parts) > 2:
        return False
    if len(parts) == 2 and not is_dns_subdomain(parts[0]):
        return False
    name = parts[-1]
    return len(name) <= LABEL_NAME_MAX and _QUALIFIED_NAME_RE.fullmatch(name) is not None


def is_label_value(value):
    """validation.go IsValidLabelValue: empty, or a name of at most 63."""
    return isinstance(value, str) and (value == "" or (
        len(value) <= LABEL_NAME_MAX and _QUALIFIED_NAME_RE.fullmatch(value) is not None))


def dns_label_problem(var, value, example="my-name", maximum=DNS_LABEL_MAX, what="a valid name"):
    """A DNS-1123 label (namespaces, Service and most object names); ``maximum`` may be lower."""
    if is_dns_label(value, maximum):
        return None
    return problem(var, value, "is not %s%s" % (what, _unprintable(value)),
                   "use at most %d lower-case letters, digits and '-', starting and ending with a letter or "
                   "digit, e.g. %r" % (maximum, example))


def dns_subdomain_problem(var, value, example="my-name", what="a valid object name"):
    """A DNS-1123 subdomain (most object names: claims, StorageClasses, Secrets, ConfigMaps)."""
    if is_dns_subdomain(value):
        return None
    return problem(var, value, "is not %s%s" % (what, _unprintable(value)),
                   "use at most %d lower-case letters, digits, '-' and '.', each part between dots starting "
                   "and ending with a letter or digit, e.g. %r" % (DNS_SUBDOMAIN_MAX, example))


def namespace_problem(var, value, example="default"):
    return dns_label_problem(var, value, example, what="a valid namespace name")


def overriding_paths(given, owned):
    """The dotted paths of ``given`` (a dict merged over what a role builds) at, under or above one
    of the ``owned`` dotted paths (what the role sets from its own variables), as (path, owned)
    pairs. An empty dict merges into nothing and overrides nothing."""
    found = []
    for path in _leaf_paths(given):
        for mine in owned:
            if path == mine or path.startswith(mine + ".") or mine.startswith(path + "."):
                found.append((path, mine))
                break
    return found


def _leaf_paths(value, prefix=""):
    for key in sorted(value, key=str):
        path = "%s%s" % (prefix, key)
        if isinstance(value[key], dict):
            yield from _leaf_paths(value[key], path + ".")
        else:
            yield path


# Namespaces Kubernetes keeps for its own components (and for what every client may read:
# kube-public): no release or object the collection owns goes there.
RESERVED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")


def owned_namespace_problem(var, value, example):
    """A namespace for a release or for objects the collection owns: a valid name, and not one of
    the namespaces Kubernetes keeps for itself."""
    found = namespace_problem(var, value, example)
    if found:
        return found
    if value in RESERVED_NAMESPACES:
        return problem(var, value, "is a namespace Kubernetes keeps for its own components (%s)" % ", ".join(
            RESERVED_NAMESPACES), "give the release a namespace of its own, e.g. %r" % example)
    return None


def label_key_problem(var, value, example="example.com/role"):
    if is_label_key(value):
        return None
    return problem(var, value, "is not a label key%s" % _unprintable(value),
                   "use an optional DNS-subdomain prefix and '/', then at most %d letters, digits, '-', '_' or "
                   "'.', starting and ending with a letter or digit, e.g. %r" % (LABEL_NAME_MAX, example))


def label_value_problem(var, value, example="gpu-a"):
    if is_label_value(value):
        return None
    hint = ""
    if isinstance(value, str) and any(c in value for c in ",=!()"):
        hint = " (selector syntax such as ',', '=', '!' or '()' is not part of a label value)"
    return problem(var, value, "is not a label value%s%s" % (hint, _unprintable(value)),
                   "use at most %d letters, digits, '-', '_' or '.', starting and ending with a letter or digit "
                   "(or an empty string), e.g. %r" % (LABEL_NAME_MAX, example))


def labels_problems(var, value, example_key="example.com/role", example_value="gpu-a"):
    """Problems with a map of label keys to values (matchLabels, nodeSelector, metadata.labels)."""
    if value in (None, {}):
        return []
    if not isinstance(value, dict):
        return [problem(var, value, "is not a map of labels", "give label keys and values, e.g. {%s: %s}"
                        % (example_key, example_value))]
    found = []
    for key in sorted(value, key=str):
        found.append(label_key_problem("%s key" % var, key, example_key)
                     or label_value_problem("%s[%r]" % (var, key), value[key], example_value))
    return [p for p in found if p]


# --- numbers -----------------------------------------------------------------------------------

def parse_quantity(value, signed=False, numbers=True):
    """The decimal.Decimal a Kubernetes quantity stands for (quantity.go ParseQuantity), or None.

    Strings follow the grammar above, without surrounding white space; ints and finite floats
    (what YAML gives for an unquoted 5 or 0.5) are quantities too, as in Quantity's JSON
    decoding (unless ``numbers=False``: a size written 500 is 500 bytes, rarely what was meant).
    bool is not. A sign ('+' or '-') makes it None unless ``signed``.
    """
    if isinstance(value, bool) or (not numbers and not isinstance(value, str)):
        return None
    if is_int(value) or isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = value
    else:
        return None
    match = _QUANTITY.fullmatch(text)
    if not match or (match.group("sign") and not signed):
        return None
    exponent = match.group("exponent")
    if exponent is not None and len(exponent.lstrip("+-")) > 10:
        return None  # ParseQuantity reads the exponent with strconv.ParseInt(_, 10, 32)
    try:
        number = decimal.Decimal(match.group("sign") + match.group("number"))
    except decimal.InvalidOperation:  # pragma: no cover - the pattern only lets digits through
        return None
    if match.group("binary"):
        return _EXACT.multiply(number, _BINARY[match.group("binary")])
    power = _DECIMAL.get(match.group("decimal"), 0) if exponent is None else int(exponent)
    if abs(power) > INT32_MAX:
        return None
    return number.scaleb(power, _EXACT)


def is_quantity(value, signed=False, numbers=True):
    return parse_quantity(value, signed, numbers) is not None


def quantity_problem(var, value, example="500Gi", signed=False, minimum=None, maximum=INT64_MAX,
                     whole=False, allow_zero=False, numbers=True):
    """A Kubernetes quantity, without a sign unless ``signed``, within bounds.

    ``minimum``/``maximum``: inclusive bounds (numbers or quantity strings); the default maximum
    is what an int64 holds (Quantity.Value() saturates above it). ``allow_zero=False`` refuses 0
    (a size of nothing). ``whole``: the value must be a whole number of the base unit (bytes:
    '500m' of a size is half a byte).
    """
    number = parse_quantity(value, signed=signed, numbers=numbers)
    if number is None:
        hint = _unprintable(value)
        if not numbers and (is_int(value) or isinstance(value, float)):
            hint = " (a bare number is bytes: quote a quantity with its unit)"
        if isinstance(value, str) and not hint:
            vendor = _VENDOR_SIZE.fullmatch(value)
            if vendor:
                hint = " (Kubernetes has no 'B' suffix: write %r)" % (vendor.group(1) + vendor.group(2).upper() + "i")
            elif not signed and value[:1] in ("+", "-"):
                hint = " (a size or count takes no sign)"
            elif value != value.strip():
                hint = " (it has spaces around it)"
        return problem(var, value, "is not a Kubernetes quantity%s" % hint,
                       "use digits with an optional suffix (Ki, Mi, Gi, Ti, Pi, Ei or k, M, G, T, P, E), e.g. %r"
                       % example)
    if number == 0 and not allow_zero:
        return problem(var, value, "is zero", "give a size above zero, e.g. %r" % example)
    low = None if minimum is None else parse_quantity(minimum, signed=True)
    high = None if maximum is None else parse_quantity(maximum, signed=True)
    if low is not None and number < low:
        return problem(var, value, "is below %s" % (minimum,), "use at least %s, e.g. %r" % (minimum, example))
    if high is not None and number > high:
        return problem(var, value, "is above %s" % (maximum,), "use at most %s, e.g. %r" % (maximum, example))
    if whole and number != number.to_integral_value():
        return problem(var, value, "is not a whole number of bytes", "use binary suffixes such as %r" % example)
    return None


def parse_int(value, signed=False, strings=False):
    """An int from an int (never a bool), or with ``strings`` from decimal digits, or None.

    Strings are digits only: no '+', no '1e3', no '0x10', no leading zeros, no spaces, and '-'
    only with ``signed`` (and never '-0').
    """
    if is_int(value):
        return value if signed or value >= 0 else None
    if strings and isinstance(value, str):
        pattern = _SIGNED_INT if signed else _DECIMAL_INT
        if pattern.fullmatch(value) and value != "-0":
            return int(value)
    return None


def int_problem(var, value, minimum=None, maximum=None, example=None, strings=False, why=""):
    """A whole number within [minimum, maximum]; strings only with ``strings`` (see parse_int)."""
    # A negative int is reported against the range; a sign in a string is not a number at all.
    signed = minimum is None or minimum < 0 or is_int(value)
    number = parse_int(value, signed=signed, strings=strings)
    if example is None:
        example = minimum if minimum is not None else 0
    if number is None:
        what = "is not a whole number%s" % (" written in decimal digits" if isinstance(value, str) else "")
        fix = "use a number such as %s%s" % (example if not strings else '"%s"' % example,
                                             " (quoted: the field is a string)" if strings else "")
        return problem(var, value, what + _unprintable(value), fix)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        if maximum is None:
            bounds = "must be >= %d" % minimum
        elif minimum is None:
            bounds = "must be <= %d" % maximum
        else:
            bounds = "must be between %d and %d" % (minimum, maximum)
        return problem(var, value, bounds + why, "use e.g. %s" % example)
    return None


def port_problem(var, value, example=8080):
    return int_problem(var, value, 1, 65535, example, why=" (a TCP port)")


def parse_duration(value):
    """Nanoseconds of a Go duration ('100ms', '1m30s', '0'); None when it is not one or signed."""
    if not isinstance(value, str) or not value:
        return None
    if value == "0":
        return 0
    total, pos = 0, 0
    for match in _DURATION_PART.finditer(value):
        if match.start() != pos:
            return None
        total += decimal.Decimal(match.group(1)) * _NANOS[match.group(2)]
        pos = match.end()
    if pos != len(value) or pos == 0:
        return None
    return total


def duration_problem(var, value, example="5m", allow_zero=False):
    nanos = parse_duration(value)
    if nanos is None:
        return problem(var, value, "is not a duration%s" % _unprintable(value),
                       "use a number with a unit (ns, us, ms, s, m, h) such as %r" % example)
    if nanos == 0 and not allow_zero:
        return problem(var, value, "is zero", "give a duration longer than zero, e.g. %r" % example)
    return None


# --- booleans ----------------------------------------------------------------------------------

def parse_boolean(value):
    """True or False as Ansible's ``boolean(value, strict=True)`` reads it, or None.

    ansible.module_utils.parsing.convert_bool: a bool; or a string that, lower-cased and
    stripped, is one of y/yes/on/1/true/t or n/no/off/0/false/f; or the numbers 1/0. Anything
    else ('maybe', 2, None, a list) is None, never True: Python's bool('no') is True.
    """
    if isinstance(value, bool):
        return value
    normalized = value
    if isinstance(value, bytes):
        try:
            normalized = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(normalized, str):
        normalized = normalized.lower().strip()
    try:
        if normalized in BOOLEANS_TRUE:
            return True
        if normalized in BOOLEANS_FALSE:
            return False
    except TypeError:  # unhashable (a list or a dict)
        return None
    return None


def boolean_problem(var, value):
    if parse_boolean(value) is not None:
        return None
    return problem(var, value, "is not a boolean%s" % _unprintable(value),
                   "use true or false (unquoted YAML, or one of yes/no, on/off, 1/0)")


# --- paths -------------------------------------------------------------------------------------

def path_problem(var, value, example="/srv/data", config_file=False):
    """An absolute, clean path: no '..', '.', '//', trailing '/', control characters.

    ``config_file``: the path is written into a configuration file (/etc/exports,
    ganesha.conf, fstab), so it may only hold letters, digits and ``._+@:/-``: no white space,
    quotes, '#', ';', ',', '(', ')', '{', '}', '*' that would end the path and start an
    option, a comment or a block there.
    """
    if not isinstance(value, str) or not value:
        return problem(var, value, "is not a path", "use an absolute path such as %r" % example)
    if control_characters(value):
        return problem(var, value, "is not a path%s" % _unprintable(value),
                       "write the path on one line without control characters, e.g. %r" % example)
    if not value.startswith("/"):
        return problem(var, value, "is relative", "use an absolute path such as %r" % ("/" + value.lstrip("./")))
    segments = value.split("/")[1:]
    if ".." in segments:
        return problem(var, value, "climbs with '..'", "name the directory itself, e.g. %r" % example)
    if value != "/" and ("" in segments or "." in segments):
        clean = "/" + "/".join(s for s in segments if s not in ("", "."))
        return problem(var, value, "is not a clean path", "write it as %r" % clean)
    if config_file and not _CONFIG_PATH_RE.fullmatch(value):
        bad = sorted(set(c for c in value if not _CONFIG_PATH_RE.fullmatch(c)))
        return problem(var, value, "has %s, which would end the path in the configuration file it is written to"
                       % ", ".join(repr(c) for c in bad),
                       "use only letters, digits and . _ + @ : / -, e.g. %r" % example)
    return None


# --- URLs, hosts, images -----------------------------------------------------------------------

def url_problem(var, value, schemes=("http", "https"), example="https://example.com", secret=False):
    """A URL with one of ``schemes``, a host, a valid port and no white space or control characters.

    With ``secret`` the message never contains the value (URLs with passwords in them).
    """
    def refuse(what):
        fix = "use e.g. %s" % example
        return secret_problem(var, what, fix) if secret else problem(var, value, what, fix)

    if not isinstance(value, str) or not value:
        return (("%s is empty; use e.g. %s" % (var, example)) if secret else
                problem(var, value, "is not a URL", "use e.g. %s" % example))
    if control_characters(value) or any(c.isspace() for c in value):
        return refuse("has white space or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return refuse("does not parse as a URL (its host or port is malformed)")
    if parts.scheme not in schemes:
        return refuse("does not start with %s" % " or ".join("%s://" % s for s in schemes))
    if not parts.hostname:
        return refuse("names no host")
    if port == 0:
        return refuse("has port 0")
    return None


def is_hostname(value):
    """An RFC 1123 host name (letters in either case, at most 253) or an IP address."""
    if not isinstance(value, str) or not value:
        return False
    try:
        ipaddress.ip_address(value[1:-1] if value.startswith("[") and value.endswith("]") else value)
        return "%" not in value
    except ValueError:
        pass
    return len(value) <= DNS_SUBDOMAIN_MAX and _HOSTNAME_RE.fullmatch(value) is not None


def host_problem(var, value, example="nfs-1.example.org"):
    if is_hostname(value):
        return None
    return problem(var, value, "is not a host name or IP address%s" % _unprintable(value),
                   "use e.g. %r or '10.0.0.5'" % example)


def parse_image(value):
    """{name, tag, digest} of a container image reference (distribution/reference), or None."""
    if not isinstance(value, str):
        return None
    match = _IMAGE_RE.fullmatch(value)
    if not match or len(match.group("name")) > IMAGE_NAME_MAX:
        return None
    return {"name": match.group("name"), "tag": match.group("tag") or "", "digest": match.group("digest") or ""}


def image_problem(var, value, example="registry.example.com/team/app:1.0"):
    if parse_image(value) is not None:
        return None
    hint = _unprintable(value)
    if not hint and isinstance(value, str) and value != value.lower().split(":")[0] and "/" not in value:
        hint = " (repository names are lower case)"
    return problem(var, value, "is not an image reference%s" % hint,
                   "use [registry[:port]/]repository[:tag][@digest] in lower case, e.g. %r" % example)


def image_registry(value):
    """The registry host an image reference names itself, or "" when it names none (a container
    runtime then pulls it from Docker Hub, ``docker.io/library/<name>`` or ``docker.io/<name>``).

    distribution/reference ``splitDockerDomain``: the first path component is a registry when
    it holds a '.' or a ':' (a port), is ``localhost``, or has an upper-case letter (which no
    repository path component may have)."""
    parsed = parse_image(value)
    if parsed is None or "/" not in parsed["name"]:
        return ""
    first = parsed["name"].split("/", 1)[0]
    if "." in first or ":" in first or first == "localhost" or first != first.lower():
        return first
    return ""


def pinned_image_problem(var, value, example="registry.example.com/team/app:1.0"):
    """A fully qualified, pinned image reference: a registry host (so that no runtime resolves
    the name in a public namespace anyone can register, Docker Hub's) and a tag other than
    ``latest`` or a digest (so that the same reference always runs the same image)."""
    if value in ("", None):
        return "%s is not set; push the image to a registry your nodes pull from and name it with its registry " \
               "host and a version tag or digest, e.g. %r" % (var, example)
    bad = image_problem(var, value, example)
    if bad:
        return bad
    parsed = parse_image(value)
    if not image_registry(value):
        return problem(var, value, "names no registry host: a container runtime pulls it from Docker Hub "
                       "(docker.io/%s), a public namespace anyone can register"
                       % (parsed["name"] if "/" in parsed["name"] else "library/" + parsed["name"]),
                       "prefix the registry you pushed it to (a host with a '.' or a port, or localhost), e.g. %r"
                       % example)
    if not parsed["digest"] and parsed["tag"] in ("", "latest"):
        return problem(var, value, "is not pinned (%s): the image it runs changes whenever someone pushes"
                       % ("no tag, which means 'latest'" if not parsed["tag"] else "the tag 'latest'"),
                       "name a version tag or a digest (@sha256:...), e.g. %r" % example)
    return None


# --- Helm ------------------------------------------------------------------------------------------

# kubernetes.core's helm and helm_template modules build one command line as a string and split it
# again (AnsibleModule.run_command, shlex): a space starts another argument, a quote ends the one
# the module quoted, and a word with a leading '-' is read as an option (--post-renderer runs a
# program of the caller's choosing, on the controller, with the cluster's credentials).
_HELM_BAD_RE = re.compile(r"[\s'\"\\]")
_HELM_QUOTED_BAD_RE = re.compile(r"['\"\\]")  # inside the module's single quotes, a space stays in
HELM_RELEASE_MAX = 53  # helm's release name limit (pkg/chartutil, ValidateReleaseName)


def helm_word_problem(var, value, example, what, quoted=False):
    """A chart reference, a chart version or the helm binary: one word for helm's command line.
    ``quoted``: the module puts it in single quotes (kubernetes.core.helm's chart_ref), so a space
    stays inside it and only a quote, a backslash or a leading '-' would get out."""
    if not isinstance(value, str) or not value:
        return problem(var, value, "is not %s" % what, "give e.g. %r" % example)
    if (_HELM_QUOTED_BAD_RE if quoted else _HELM_BAD_RE).search(value) or value.startswith("-") \
            or control_characters(value):
        return problem(var, value, "is not one word for helm's command line%s: %s or a leading '-' would add "
                       "arguments or options to the helm command the role runs"
                       % (_unprintable(value), "a quote, a backslash" if quoted else "a space, a quote"),
                       "give %s, e.g. %r" % (what, example))
    return None


def helm_problems(role, inputs, chart_ref_example, chart_version_example, quoted_chart_ref=False):
    """The Helm words of a role's variables (``<role>_chart_ref``, ``_chart_version``, ``_helm_binary``,
    ``_release_name``) that are present in ``inputs``. ``quoted_chart_ref``: the role hands its chart
    only to commands that quote it or take argv (kubernetes.core.helm, a ``command`` render)."""
    found = []
    for key, example, what in (("chart_ref", chart_ref_example, "a chart reference"),
                               ("chart_version", chart_version_example, "a chart version (a range as '>=1.0,<2.0')"),
                               ("helm_binary", "/usr/local/bin/helm", "the helm executable")):
        if key in inputs and not (key == "chart_version" and inputs[key] in ("", None)):
            bad = helm_word_problem("%s_%s" % (role, key), inputs[key], example, what,
                                    quoted=quoted_chart_ref and key == "chart_ref")
            if bad:
                found.append(bad)
    if "release_name" in inputs:
        bad = dns_subdomain_problem("%s_release_name" % role, inputs["release_name"], role.replace("_", "-"),
                                    what="a Helm release name")
        if not bad and len(inputs["release_name"]) > HELM_RELEASE_MAX:
            bad = problem("%s_release_name" % role, inputs["release_name"],
                          "is longer than Helm's %d characters" % HELM_RELEASE_MAX, "use a shorter name")
        if bad:
            found.append(bad)
    return found


# --- packages ----------------------------------------------------------------------------------

# A package name as Debian and RPM spell them (letters, digits, + . _ ~ -), with apt's :arch
# (libc6:i386) or dnf's epoch (fio-0:3.35-1.el9). Nothing a package manager reads as something
# else: an option (-o...), a pattern (*), a file (/, .deb, .rpm), a URL, a release (/bookworm).
# No =version: dpkg-query, which the roles ask first, never matches one, and dnf cannot read it.
_PACKAGE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9+._~:-]{0,127}")


def package_problems(var, value, example="nvme-cli"):
    """Extra packages a node role installs as root: a list of plain package names."""
    if not isinstance(value, list):
        return [problem(var, value, "is not a list", "give a YAML list of package names, e.g. [%r]" % example)]
    problems = []
    for index, name in enumerate(value):
        if not isinstance(name, str) or not _PACKAGE_RE.fullmatch(name) or name.lower().endswith((".deb", ".rpm")):
            problems.append(problem(
                "%s[%d]" % (var, index), name,
                "is not a package name (letters, digits and + . _ ~ : -): apt or dnf would read it as an option, "
                "a pattern, a version, a file or a URL, as root",
                "name one package, e.g. %r (pin versions with apt preferences or dnf versionlock)" % example))
    return problems


# --- networks ----------------------------------------------------------------------------------

def parse_network(value):
    """ipaddress network of an address or CIDR (host bits allowed), or None.

    Only hex digits, '.', ':' and '/': ipaddress accepts an IPv6 scope ('fe80::1%eth0') whose
    text it keeps verbatim, which would carry anything into a config file.
    """
    if not isinstance(value, str) or not _IP_CHARS_RE.fullmatch(value):
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def canonical_network(value):
    """The canonical text of an address or CIDR: '10.0.0.5' for an address, '10.0.0.0/24' for
    '10.0.0.7/24', compressed IPv6; None when it is neither."""
    net = parse_network(value)
    if net is None:
        return None
    if "/" not in value:
        return str(net.network_address)
    return str(net)


def network_problem(var, value, example="10.0.0.0/24", allow_everyone=False):
    """An IP address or CIDR; '*', wildcards, host names and /0 ('everyone') are refused."""
    if isinstance(value, str) and not control_characters(value) and (
            any(c in value for c in "*?[]") or value.lower() == "world"):
        return problem(var, value, "is a wildcard: it exports to everyone",
                       "restrict it to the clients' network, e.g. %r" % example)
    net = parse_network(value)
    if net is None:
        return problem(var, value, "is not an IP address or CIDR%s" % _unprintable(value),
                       "use e.g. %r or '10.0.0.15' (nothing else: no options, no host names)" % example)
    if net.prefixlen == 0 and not allow_everyone:
        return problem(var, value, "is every address: it exports to everyone",
                       "restrict it to the clients' network, e.g. %r" % example)
    return None
