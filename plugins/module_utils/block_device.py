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
    """Mount points (in table order) of the filesystem on device ``major:minor``."""
    return [entry["mount_point"] for entry in mounts if entry.get("major_minor") == major_minor]
