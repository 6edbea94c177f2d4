#!/usr/bin/python3
# A pass-through FUSE file system whose fsync / fdatasync fails with EIO
# while a flag file exists: a disk that starts failing its flushes, for
# tests/e2e/audit_sync.sh (the audit log's fdatasync failing, then
# working again). Writes go straight to the backing directory (no page
# cache of ours), so what a successful fsync made durable is exactly what
# was written.
#   lb_failfs.py BACKING_DIR MOUNTPOINT FLAG_FILE
# Needs python3-fusepy (scripts/deps); runs in the foreground until
# unmounted.
import errno
import os
import sys

from fusepy import FUSE, FuseOSError, Operations


class FailSync(Operations):
    def __init__(self, root, flag):
        self.root = root
        self.flag = flag
        self.fsyncs = 0

    def _p(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def getattr(self, path, fh=None):
        try:
            st = os.lstat(self._p(path))
        except OSError as e:
            raise FuseOSError(e.errno)
        keys = ("st_mode", "st_uid", "st_gid", "st_size", "st_nlink",
                "st_atime", "st_mtime", "st_ctime")
        return {k: getattr(st, k) for k in keys}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._p(path))

    def access(self, path, mode):
        if not os.access(self._p(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._p(path), uid, gid)

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def unlink(self, path):
        os.unlink(self._p(path))

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    # The kernel gives every write its offset (also for O_APPEND), so the
    # backing file is opened without O_APPEND: pwrite then writes there.
    def open(self, path, flags):
        return os.open(self._p(path), flags & ~(os.O_APPEND | os.O_CREAT | os.O_EXCL))

    def create(self, path, mode, fi=None):
        return os.open(self._p(path), os.O_RDWR | os.O_CREAT, mode)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._p(path), length)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)

    def fsync(self, path, datasync, fh):
        self.fsyncs += 1
        if os.path.exists(self.flag):
            raise FuseOSError(errno.EIO)
        os.fsync(fh)
        return 0

    def statfs(self, path):
        st = os.statvfs(self._p(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail",
                "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")
        return {k: getattr(st, k) for k in keys}


def main(a):
    if len(a) != 3:
        print("usage: lb_failfs.py BACKING_DIR MOUNTPOINT FLAG_FILE", file=sys.stderr)
        return 2
    FUSE(FailSync(a[0], a[2]), a[1], foreground=True, nothreads=True,
         default_permissions=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
