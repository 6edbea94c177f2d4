#!/usr/bin/python3
# A FUSE file system that never answers: its root and the folder "/open"
# can be stat'ed (so that it mounts, `mountpoint` sees it, and a path
# into "/open" gets as far as the link's own name), and every other
# lookup hangs until RELEASE_FILE exists, then fails with ENOENT. A user's folder on a
# dead network share or a wedged FUSE server, for tests/e2e/fs_stall.sh
# (a request through it must be answered "timed out" at its deadline
# while other users are served). Mounted by root with allow_other so
# that the broker, acting as the client, reaches it.
#   lb_hangfs.py MOUNTPOINT RELEASE_FILE
# Needs python3-fusepy (scripts/deps); runs in the foreground until
# unmounted. Each hung call is printed to stderr, so that the test sees
# the requests reach it.
import errno
import os
import stat
import sys
import time

from fusepy import FUSE, FuseOSError, Operations


class Hang(Operations):
    def __init__(self, release):
        self.release = release
        self.t0 = time.time()

    def getattr(self, path, fh=None):
        if path in ("/", "/open"):
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2,
                    "st_uid": 0, "st_gid": 0, "st_size": 0,
                    "st_atime": self.t0, "st_mtime": self.t0, "st_ctime": self.t0}
        print("hang: getattr %s" % path, file=sys.stderr, flush=True)
        while not os.path.exists(self.release):
            time.sleep(0.05)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", ".."] + (["open"] if path == "/" else [])


def main():
    mnt, release = sys.argv[1], sys.argv[2]
    FUSE(Hang(release), mnt, foreground=True, allow_other=True, nothreads=False)


if __name__ == "__main__":
    main()
