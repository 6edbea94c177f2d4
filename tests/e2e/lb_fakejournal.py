#!/usr/bin/env python3
"""A stand-in for journald's native socket (tests/e2e/journal.sh).

    lb_fakejournal.py SOCKET OUT

Binds the datagram socket SOCKET (as /run/systemd/journal/socket in a
private mount namespace), and writes each entry it receives to OUT as one
JSON object per line: {"FIELD": "value", ...}. The native protocol
(systemd's JOURNAL_NATIVE_PROTOCOL): fields "KEY=VALUE\\n", or for values
holding a newline "KEY\\n", a 64-bit little-endian length, the bytes and
"\\n"; a datagram too large is sent as a memfd passed with SCM_RIGHTS.
Values that are not UTF-8 are kept with surrogateescape.
"""
import array
import json
import os
import socket
import struct
import sys


def parse(data):
    fields = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            v = data[nl + 9:nl + 9 + n]
            if data[nl + 9 + n:nl + 10 + n] != b"\n":
                raise ValueError("binary field not ended by a newline")
            i = nl + 10 + n
        fields[k.decode()] = v.decode("utf-8", "surrogateescape")
    return fields


def main():
    path, out = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    with open(out, "a", encoding="utf-8", errors="surrogateescape") as f:
        while True:
            data, anc, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(4))
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(cdata[:4])
                    with os.fdopen(fds[0], "rb") as m:
                        data = m.read()
            try:
                entry = parse(data)
            except (ValueError, struct.error) as e:
                entry = {"_BAD": str(e)}
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
