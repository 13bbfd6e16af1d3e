"""mount.nfs of the lab's real node: the NFSv4 protocol in user space, served over FUSE. The real
node's image runs it as `/sbin/mount.nfs` (lab/realnode.d/mount.nfs, which passes its own name on).

The lab's kernel has no nfs filesystem but has FUSE. mount(8) runs this for `mount -t nfs
SERVER:/PATH TARGET -o OPTS` (the kubelet's NFS volume plugin does exactly that): it mounts the
export with libnfs (NFSv4.0 over TCP: libnfs 4.0 has no 4.1 sessions, so the nfsvers=4.1 of
GreptimeDB's PV is taken as 4; AUTH_SYS, from a privileged source port as root), mounts
TARGET over FUSE, and returns once the mount is live, leaving a daemon that serves it. Every
request goes to the server with the calling process's uid and primary gid as AUTH_SYS
credentials (supplementary groups are not sent: libnfs 4.0 has no call for them). `umount
TARGET` ends the daemon. Lab tool: one request at a time, no caching beyond the kernel's; a
directory's mode, owner and times are set at mkdir only (libnfs 4.0 cannot change them).
"""
import ctypes
import ctypes.util
import errno
import os
import sys
import time

NFS_V4 = 4
# libnfs 4.0's NFSv4 WRITE fails to encode above 3944 bytes of data (measured against
# NFS-Ganesha 4.3): writes go out in chunks of this size.
WRITE_CHUNK = 3584
# Of nfs(5)'s mount options only ro and nfsvers/vers matter here; the others are ignored.
USAGE = "usage: mount.nfs SERVER:/PATH TARGET [-fnrsvw] [-o OPTIONS]"


class UsageError(Exception):
    pass


def parse_args(argv):
    """(server, export, target, options) from mount(8)'s helper arguments; options is a dict
    of the -o list (flags map to True). Raises UsageError for what cannot be mounted."""
    positional, options, args = [], {}, list(argv)
    while args:
        arg = args.pop(0)
        if arg == "-o":
            if not args:
                raise UsageError("-o needs an option list. " + USAGE)
            for opt in args.pop(0).split(","):
                if opt:
                    key, sep, value = opt.partition("=")
                    options[key] = value if sep else True
        elif arg in ("-t", "-N"):
            args.pop(0) if args else None
        elif arg.startswith("-"):
            if "r" in arg[1:]:
                options["ro"] = True
        else:
            positional.append(arg)
    if len(positional) != 2:
        raise UsageError("expected SERVER:/PATH and TARGET, got %r. %s" % (positional, USAGE))
    spec, target = positional
    if spec.startswith("["):  # [IPv6 address]:/path
        server, sep, export = spec[1:].partition("]:")
    else:
        server, sep, export = spec.partition(":")
    if not sep or not server or not export.startswith("/"):
        raise UsageError("%r is not SERVER:/PATH. %s" % (spec, USAGE))
    key = "nfsvers" if "nfsvers" in options else "vers"
    version = str(options.get(key, "4"))
    if not version.startswith("4"):
        raise UsageError("%s=%s: this NFS client speaks NFSv4 only; drop the option or use "
                         "%s=4" % (key, version, key))
    return server, export, target, options


def fuse_options(server, export, options):
    """FUSE mount options: any local uid may use the mount (allow_other, as with a kernel NFS
    mount), the kernel checks mode bits first (default_permissions), the server then checks
    the AUTH_SYS credentials. /proc/mounts shows SERVER:/PATH of type fuse.nfs4."""
    fuse = {"fsname": "%s:%s" % (server, export), "subtype": "nfs4",
            "allow_other": True, "default_permissions": True}
    if options.get("ro"):
        fuse["ro"] = True
    return fuse


class Stat64(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "dev", "ino", "mode", "nlink", "uid", "gid", "rdev", "size", "blksize", "blocks",
        "atime", "mtime", "ctime", "atime_nsec", "mtime_nsec", "ctime_nsec", "used")]


class Statvfs64(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree",
        "f_favail", "f_fsid", "f_flag", "f_namemax")]


class Dirent(ctypes.Structure):
    pass


Dirent._fields_ = [("next", ctypes.POINTER(Dirent)), ("name", ctypes.c_char_p)]


class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


def load_libnfs():
    lib = ctypes.CDLL(ctypes.util.find_library("nfs") or "libnfs.so.13", use_errno=True)
    p, c, i, u64 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint64
    pp = ctypes.POINTER(ctypes.c_void_p)
    for name, res, args in (
            ("nfs_init_context", p, []), ("nfs_destroy_context", None, [p]),
            ("nfs_get_error", c, [p]), ("nfs_set_version", i, [p, i]),
            ("nfs_set_uid", None, [p, i]), ("nfs_set_gid", None, [p, i]),
            ("nfs_set_dircache", None, [p, i]), ("nfs_set_autoreconnect", None, [p, i]),
            ("nfs_mount", i, [p, c, c]), ("nfs_umount", i, [p]),
            ("nfs_lstat64", i, [p, c, ctypes.POINTER(Stat64)]),
            ("nfs_statvfs64", i, [p, c, ctypes.POINTER(Statvfs64)]),
            ("nfs_open", i, [p, c, i, pp]), ("nfs_create", i, [p, c, i, i, pp]),
            ("nfs_close", i, [p, p]), ("nfs_fsync", i, [p, p]),
            ("nfs_pread", i, [p, p, u64, u64, p]), ("nfs_pwrite", i, [p, p, u64, u64, c]),
            ("nfs_truncate", i, [p, c, u64]), ("nfs_ftruncate", i, [p, p, u64]),
            ("nfs_mkdir2", i, [p, c, i]), ("nfs_rmdir", i, [p, c]), ("nfs_unlink", i, [p, c]),
            ("nfs_rename", i, [p, c, c]), ("nfs_link", i, [p, c, c]),
            ("nfs_symlink", i, [p, c, c]), ("nfs_readlink", i, [p, c, c, i]),
            ("nfs_chmod", i, [p, c, i]), ("nfs_lchown", i, [p, c, i, i]),
            ("nfs_utimes", i, [p, c, ctypes.POINTER(Timeval * 2)]),
            ("nfs_opendir", i, [p, c, pp]), ("nfs_readdir", ctypes.POINTER(Dirent), [p, p]),
            ("nfs_closedir", None, [p, p])):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def serve(server, export, target, options):
    import fusepy as fuse  # Debian's python3-fusepy (libfuse2): only the node image has it

    lib = load_libnfs()
    nfs = lib.nfs_init_context()
    lib.nfs_set_version(nfs, NFS_V4)
    lib.nfs_set_dircache(nfs, 0)  # other clients write the same export
    lib.nfs_set_autoreconnect(nfs, -1)
    lib.nfs_set_uid(nfs, 0)
    lib.nfs_set_gid(nfs, 0)
    if lib.nfs_mount(nfs, server.encode(), export.encode()) != 0:
        raise OSError(errno.EIO, "mounting %s:%s over NFSv4 failed: %s"
                      % (server, export, (lib.nfs_get_error(nfs) or b"").decode()))

    def check(rc):
        if rc < 0:
            raise fuse.FuseOSError(-rc)
        return rc

    def check_setattr(rc):
        # libnfs 4.0 sets attributes by path through an OPEN, which a directory refuses
        # (NFS4ERR_ISDIR): chmod, chown and utimes of a directory are not supported here.
        return check(-errno.EOPNOTSUPP if rc == -errno.EISDIR else rc)

    class NFS4(fuse.Operations):
        """libnfs 4.0 gives every open of one context the same NFSv4 open-owner, so two opens
        of one file share a stateid and closing either ends both (NFS4ERR_BAD_STATEID). FUSE
        requests come one at a time here (nothreads), so at most one file is open on the
        server at any time: `self.cur`, reused while requests stay on the same file with the
        same credentials and access mode, closed before anything else opens one."""
        use_ns = True

        def __init__(self):
            self.creds = (0, 0)
            self.files = {}  # FUSE fh -> (uid, gid, access mode)
            self.next_fh = 1
            self.cur = None  # (path, uid, gid, access mode, libnfs handle)

        def _as(self, uid, gid):
            if (uid, gid) != self.creds:
                lib.nfs_set_uid(nfs, uid)
                lib.nfs_set_gid(nfs, gid)
                self.creds = (uid, gid)

        def _caller(self):
            uid, gid, _pid = fuse.fuse_get_context()
            self._as(uid, gid)
            return uid, gid

        def _close(self):
            if self.cur is not None:
                _path, uid, gid, _mode, handle = self.cur
                self.cur = None
                self._as(uid, gid)
                lib.nfs_close(nfs, handle)

        def _open(self, path, uid, gid, mode):
            """The server-side open of PATH for a request of an open FUSE file."""
            want = (path, uid, gid, mode)
            if self.cur is not None and self.cur[:4] == want:
                self._as(uid, gid)
                return self.cur[4]
            self._close()
            self._as(uid, gid)
            handle = ctypes.c_void_p()
            check(lib.nfs_open(nfs, path.encode(), mode, ctypes.byref(handle)))
            self.cur = want + (handle,)
            return handle

        def _file(self, path, fh):
            uid, gid, mode = self.files[fh]
            return self._open(path, uid, gid, mode)

        def _keep(self, creds, mode):
            fh, self.next_fh = self.next_fh, self.next_fh + 1
            self.files[fh] = (creds[0], creds[1], mode)
            return fh

        def getattr(self, path, fh=None):
            self._caller()
            st = Stat64()
            check(lib.nfs_lstat64(nfs, path.encode(), ctypes.byref(st)))
            return {"st_mode": st.mode, "st_ino": st.ino, "st_nlink": st.nlink,
                    "st_uid": st.uid, "st_gid": st.gid, "st_size": st.size,
                    "st_blocks": st.blocks, "st_atime": st.atime * 10**9 + st.atime_nsec,
                    "st_mtime": st.mtime * 10**9 + st.mtime_nsec,
                    "st_ctime": st.ctime * 10**9 + st.ctime_nsec}

        def readdir(self, path, fh):
            self._caller()
            handle = ctypes.c_void_p()
            check(lib.nfs_opendir(nfs, path.encode(), ctypes.byref(handle)))
            names = [".", ".."]
            try:
                entry = lib.nfs_readdir(nfs, handle)
                while entry:
                    name = entry.contents.name.decode("utf-8", "surrogateescape")
                    if name not in (".", ".."):
                        names.append(name)
                    entry = lib.nfs_readdir(nfs, handle)
            finally:
                lib.nfs_closedir(nfs, handle)
            return names

        def open(self, path, flags):
            # The server checks the caller's access now (OPEN), as a kernel client's open does.
            creds, mode = self._caller(), flags & os.O_ACCMODE
            self._open(path, creds[0], creds[1], mode)
            return self._keep(creds, mode)

        def create(self, path, mode, fi=None):
            creds = self._caller()
            self._close()
            handle = ctypes.c_void_p()
            check(lib.nfs_create(nfs, path.encode(), os.O_RDWR | os.O_CREAT, mode & 0o7777,
                                 ctypes.byref(handle)))
            self.cur = (path, creds[0], creds[1], os.O_RDWR, handle)
            # libnfs 4.0 creates EXCLUSIVE4 (the verifier in atime/mtime, mode 0600): set both
            # (chmod and utimens close the open first: libnfs does them with an OPEN of its own).
            self.chmod(path, mode)
            self.utimens(path)
            return self._keep(creds, os.O_RDWR)

        def read(self, path, size, offset, fh):
            handle = self._file(path, fh)
            buf = ctypes.create_string_buffer(size)
            n = check(lib.nfs_pread(nfs, handle, offset, size, buf))
            return buf.raw[:n]

        def write(self, path, data, offset, fh):
            handle, done = self._file(path, fh), 0
            while done < len(data):
                chunk = data[done:done + WRITE_CHUNK]
                n = check(lib.nfs_pwrite(nfs, handle, offset + done, len(chunk), chunk))
                if n == 0:
                    break
                done += n
            return done

        def truncate(self, path, length, fh=None):
            if fh in self.files and self.files[fh][2] != os.O_RDONLY:
                return check(lib.nfs_ftruncate(nfs, self._file(path, fh), length))
            self._close()
            self._caller()
            return check(lib.nfs_truncate(nfs, path.encode(), length))

        def fsync(self, path, datasync, fh):
            return check(lib.nfs_fsync(nfs, self._file(path, fh)))

        def flush(self, path, fh):
            return 0

        def release(self, path, fh):
            del self.files[fh]
            # Close on the server at the last close of the file, as a kernel client does.
            if self.cur is not None and self.cur[0] == path:
                self._close()
            return 0

        def mkdir(self, path, mode):
            self._caller()
            return check(lib.nfs_mkdir2(nfs, path.encode(), mode & 0o7777))

        def rmdir(self, path):
            self._close()
            self._caller()
            return check(lib.nfs_rmdir(nfs, path.encode()))

        def unlink(self, path):
            self._close()
            self._caller()
            return check(lib.nfs_unlink(nfs, path.encode()))

        def rename(self, old, new):
            self._close()
            self._caller()
            return check(lib.nfs_rename(nfs, old.encode(), new.encode()))

        def link(self, target, source):
            self._caller()
            return check(lib.nfs_link(nfs, source.encode(), target.encode()))

        def symlink(self, target, source):
            self._caller()
            return check(lib.nfs_symlink(nfs, source.encode(), target.encode()))

        def readlink(self, path):
            self._caller()
            buf = ctypes.create_string_buffer(4096)
            check(lib.nfs_readlink(nfs, path.encode(), buf, len(buf)))
            return buf.value.decode("utf-8", "surrogateescape")

        def chmod(self, path, mode):
            self._close()
            self._caller()
            return check_setattr(lib.nfs_chmod(nfs, path.encode(), mode & 0o7777))

        def chown(self, path, uid, gid):
            self._close()
            self._caller()
            if uid in (-1, 0xFFFFFFFF) or gid in (-1, 0xFFFFFFFF):
                st = self.getattr(path)
                uid = st["st_uid"] if uid in (-1, 0xFFFFFFFF) else uid
                gid = st["st_gid"] if gid in (-1, 0xFFFFFFFF) else gid
            return check_setattr(lib.nfs_lchown(nfs, path.encode(), uid, gid))

        def utimens(self, path, times=None):
            self._close()
            self._caller()
            now = time.time_ns()
            atime, mtime = times if times else (now, now)
            tv = (Timeval * 2)(Timeval(atime // 10**9, atime % 10**9 // 1000),
                               Timeval(mtime // 10**9, mtime % 10**9 // 1000))
            return check_setattr(lib.nfs_utimes(nfs, path.encode(), ctypes.byref(tv)))

        def statfs(self, path):
            self._caller()
            sv = Statvfs64()
            check(lib.nfs_statvfs64(nfs, path.encode(), ctypes.byref(sv)))
            return {name: getattr(sv, name) for name in (
                "f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree",
                "f_favail", "f_flag", "f_namemax")}

    try:
        # Not foreground: libfuse mounts TARGET, then forks; this process returns to mount(8)
        # once the mount is live and the child (stdio on /dev/null) serves it until umount.
        fuse.FUSE(NFS4(), target, foreground=False, nothreads=True,
                  **fuse_options(server, export, options))
    finally:
        lib.nfs_umount(nfs)
        lib.nfs_destroy_context(nfs)


def main(argv):
    if os.path.basename(argv[0]).startswith("umount"):
        # nfs-common's umount.nfs links to mount.nfs, diverted to this file: umount(8) runs it
        # only for mounts of type nfs, which this kernel cannot have; unmount without helpers.
        os.execvp("umount", ["umount", "-i"] + argv[1:])
    try:
        server, export, target, options = parse_args(argv[1:])
    except UsageError as exc:
        print("mount.nfs: %s" % exc, file=sys.stderr)
        return 1
    try:
        serve(server, export, target, options)
    except (OSError, RuntimeError) as exc:
        print("mount.nfs: %s on %s: %s" % ("%s:%s" % (server, export), target, exc),
              file=sys.stderr)
        return 32  # mount(8)'s "mount failure"
    return 0


if __name__ == "__main__":
    # argv[1] is the name mount(8) ran (/sbin/mount.nfs, /sbin/mount.nfs4), from the wrapper.
    sys.exit(main(sys.argv[1:]))
