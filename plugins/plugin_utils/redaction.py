# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpufleet
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding credentials in plain data (chart values, an AlertManager configuration) and taking them
out of what a task shows: the shared part of every role that passes values a user may have put a
secret in. Pure functions: plain data in and out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import re

REDACTED = "<redacted>"

# Key names Alertmanager types as <secret> (email auth_password/auth_secret, pagerduty
# routing_key/service_key, opsgenie/victorops api_key, wechat api_secret, pushover user_key/token,
# telegram bot_token, discord/msteams webhook_url, global slack_api_url, http_config
# basic_auth.password, authorization.credentials, bearer_token, oauth2.client_secret, sigv4
# secret_key) and the same words in any chart value (a registry token, a passphrase).
_SECRET_KEY = re.compile(r"(password|passwd|passphrase|secret|token|credentials?|api_?key|access_?key|routing_key|"
                         r"service_key|user_key|slack_api_url|webhook_url)", re.IGNORECASE)
# Names of a secret (a Secret's name, a file, a reference), not the secret itself.
_NOT_SECRET_SUFFIXES = ("_file", "File", "Name", "_name", "Ref", "Namespace")
_URL_USERINFO = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]+@", re.IGNORECASE)
# Alertmanager receivers whose URL is the secret itself (the token is in its path): key -> parents.
_SECRET_URLS = {"url": ("webhook_configs", "discord_configs", "msteams_configs", "msteamsv2_configs"),
                "api_url": ("slack_configs",)}


def is_secret_key(key):
    key = str(key)
    return (bool(_SECRET_KEY.search(key)) and not key.endswith(_NOT_SECRET_SUFFIXES)
            and not key.lower().startswith("existing"))


def is_secret_leaf(key, value, parent=None):
    """A credential is a non-empty string (a boolean such as automountServiceAccountToken is not)
    under a secret's key name, a URL with user information, or a receiver URL that is the secret."""
    if not isinstance(value, str) or not value:
        return False
    if is_secret_key(key) or _URL_USERINFO.match(value):
        return True
    return parent in _SECRET_URLS.get(str(key), ())


def _walk(value, path, key, parent):
    """(path, key, parent key, leaf) of every leaf of value; list items as path[i]."""
    if isinstance(value, dict):
        for child_key in sorted(value, key=str):
            child = "%s.%s" % (path, child_key) if path else str(child_key)
            yield from _walk(value[child_key], child, child_key, key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, "%s[%d]" % (path, index), key, parent)
    else:
        yield path, key, parent, value


def secret_paths(value):
    """Dotted paths of the leaves of value that hold a credential."""
    return [path for path, key, parent, leaf in _walk(value, "", None, None) if is_secret_leaf(key, leaf, parent)]


def secret_values(value):
    """The credential strings of value (the leaves at secret_paths)."""
    return [leaf for _path, key, parent, leaf in _walk(value, "", None, None) if is_secret_leaf(key, leaf, parent)]


def redact(value, key=None):
    """A copy of value with every credential leaf replaced by <redacted>."""
    if isinstance(value, dict):
        return dict((child_key, REDACTED if is_secret_leaf(child_key, child, key) else redact(child, child_key))
                    for child_key, child in value.items())
    if isinstance(value, list):
        return [REDACTED if is_secret_leaf(key, item) else redact(item, key) for item in value]
    return copy.deepcopy(value)


def scrub(text, secrets, mark=REDACTED):
    """text with each string of secrets (any nesting; 4 characters or more, shorter ones would blank
    ordinary words) and its base64 form (as a Secret's data holds it) replaced by mark, longest
    first: for an error of a task that carried them (no_log hides its whole result) or an API
    server's refusal."""
    text = "" if text is None else str(text)
    leaves = [leaf for _path, _key, _parent, leaf in _walk(secrets, "", None, None) if isinstance(leaf, str)]
    for secret in sorted(set(s for s in leaves if len(s) >= 4), key=len, reverse=True):
        encoded = base64.b64encode(secret.encode("utf-8")).decode("ascii")
        text = text.replace(secret, mark).replace(encoded, mark)
    return text
