# -*- coding: utf-8 -*-
# Copyright: gpufleet.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a block device holds, decided from what blkid and the device's first bytes say.

Pure functions: the caller runs blkid, reads the bytes and the mount table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def parse_blkid_export(text):
    """``blkid --probe --output export DEV`` output (KEY=value lines) as a dict.

    The DEVNAME line is dropped: it names the device, not its contents.
    """
    signature = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and key != "DEVNAME":
            signature[key] = value
    return signature


def is_blank(data):
    """True when ``data`` (bytes) is all zeros. An empty read is not blank: it proves nothing."""
    return len(data) > 0 and not data.strip(b"\0")


def describe(signature, blank):
    """What the device holds, in words for an error message."""
    if signature.get("TYPE"):
        words = "a %s filesystem" % signature["TYPE"]
        if signature.get("LABEL"):
            words += " labelled '%s'" % signature["LABEL"]
        if signature.get("UUID"):
            words += " (UUID %s)" % signature["UUID"]
        return words
    if signature.get("PTTYPE"):
        return "a %s partition table" % signature["PTTYPE"]
    if signature:
        return "a signature blkid recognises (%s)" % " ".join("%s=%s" % kv for kv in sorted(signature.items()))
    if blank:
        return "nothing (no signature, zeros at the start)"
    return "data without a filesystem signature (the start of the device is not zeros)"


def mounted_at(mounts, major_minor):
    """Mount points (in table order) of the whole filesystem on device ``major:minor``.

    A bind mount of one of its directories (mountinfo root other than ``/``) is not the
    filesystem mounted somewhere else: it is what a kubelet makes of a local volume on it
    (``/var/lib/kubelet/pods/<uid>/volumes/...``) while a pod uses it. Those are in
    ``directory_mounts``.
    """
    return [entry["mount_point"] for entry in mounts
            if entry.get("major_minor") == major_minor and entry.get("root", "/") == "/"]


def directory_mounts(mounts, major_minor):
    """Bind mounts (in table order) of directories inside the filesystem on ``major:minor``,
    as ``{"mount_point", "root"}`` dicts."""
    return [{"mount_point": entry["mount_point"], "root": entry["root"]} for entry in mounts
            if entry.get("major_minor") == major_minor and entry.get("root", "/") != "/"]
