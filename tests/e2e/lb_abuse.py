#!/usr/bin/env python3
"""lb_abuse: load and abuse against the broker's Unix socket (abuse.sh).

  lb_abuse.py abuse SOCKET SECONDS MSGHEX
      One abusive user, bounded in time and count:
        hoard  : tries to hold HOARD silent connections (far more than
                 max_clients) and reconnects as soon as one is dropped;
        slow   : slowloris, a valid frame (MSGHEX, a signed request) sent one
                 byte per second or one byte per 250 ms (well inside any
                 per-read timeout: only a whole-request deadline stops it);
        flood  : random bytes, huge length words, zero-length frames, cut
                 frames, and batches of frames with bad signatures.
      Slowloris alone for the first quarter, the flood alone for the second,
      then all three at once. Prints one summary line of key=value counters.

  lb_abuse.py hog SOCKET SECONDS MSGHEX
      One account hogging connections (fair.sh): HOG_HOLDERS threads open
      as many connections as the broker lets them, reconnecting at once
      when one is closed; half stay silent, half send a frame with a bad
      signature (MSGHEX, a signed request, tampered) every 300 ms to look
      alive; HOG_FLOODERS threads pipeline bad-signature frames without
      pause. Prints one summary line of key=value counters.

  lb_abuse.py goodn N INTERVAL LINKBROKER LINKDIR TARGET
      N requests `linkbroker LINKDIR/gN TARGET`, one every INTERVAL
      seconds; prints one line per failure and a summary line (n, failed,
      p50_ms, p95_ms, max_ms, all_ms=comma-separated latencies). Exit 1 if
      any failed.

  lb_abuse.py good SECONDS INTERVAL TIMEOUT LINKBROKER LINKDIR TARGET
      A well-behaved user: one `linkbroker LINKDIR/gN TARGET` every INTERVAL
      seconds; prints one line per failure and a summary line
      (n, failed, slow, p50_ms, p95_ms, max_ms). Exit 1 if any request
      failed or took longer than TIMEOUT seconds.
"""
import os
import random
import select
import socket
import subprocess
import sys
import threading
import time

HOARD = 200          # silent connections the abuser tries to keep open
HOARD_THREADS = 2
SLOW_THREADS = 4
FLOOD_THREADS = 3
MAX_OPS = 200000     # flood connections per thread, on top of the time limit


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}
        self.max_life = 0.0       # longest any abusive connection was kept
        self.slow_max_bytes = 0   # most bytes a slowloris got in before the drop

    def add(self, key, n=1):
        with self.lock:
            self.c[key] = self.c.get(key, 0) + n

    def life(self, seconds):
        with self.lock:
            self.max_life = max(self.max_life, seconds)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2.0)
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    return s


def frame(msg):
    return len(msg).to_bytes(4, "big") + msg


def wait_until(t):
    left = t - time.monotonic()
    if left > 0:
        time.sleep(left)


def hoard(path, start, end, st):
    """Keep up to HOARD / HOARD_THREADS connections open, silent."""
    held = {}   # socket -> time connected
    wait_until(start)
    cap = HOARD // HOARD_THREADS
    while time.monotonic() < end:
        while len(held) < cap and time.monotonic() < end:
            st.add("hoard_connect")
            s = connect(path)
            if s is None:
                st.add("hoard_connect_failed")
                time.sleep(0.01)
                break
            s.setblocking(False)
            held[s] = time.monotonic()
        if not held:
            continue
        r, _, _ = select.select(list(held), [], [], 0.05)
        now = time.monotonic()
        for s in r:
            try:
                gone = s.recv(1) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                st.add("hoard_dropped")
                st.life(now - held.pop(s))
                s.close()
    st.add("hoard_open_at_end", len(held))
    now = time.monotonic()
    for s, t in held.items():
        st.life(now - t)
        s.close()


def slowloris(path, start, end, msg, interval, st):
    data = frame(msg)
    wait_until(start)
    while time.monotonic() < end:
        st.add("slow_connect")
        s = connect(path)
        if s is None:
            st.add("slow_connect_failed")
            time.sleep(0.05)
            continue
        t0 = time.monotonic()
        sent = 0
        s.settimeout(interval)
        try:
            while time.monotonic() < end and sent < len(data):
                s.send(data[sent:sent + 1])
                sent += 1
                try:
                    if s.recv(1) == b"":   # dropped: the wait doubles as the drip
                        break
                except socket.timeout:
                    pass
        except OSError:
            pass
        # A connection still open when its phase ends counts with its age
        # so far: one the daemon never cuts makes max_life the phase's length.
        st.add("slow_dropped" if time.monotonic() < end else "slow_open_at_end")
        st.life(time.monotonic() - t0)
        with st.lock:
            st.slow_max_bytes = max(st.slow_max_bytes, sent)
        if sent == len(data):
            st.add("slow_completed")   # a whole frame got through: must not happen
        s.close()


def drain(s, want, seconds=2.0):
    """Read answers until WANT have come or the broker closes; count them."""
    s.settimeout(seconds)
    buf = b""
    n = 0
    t0 = time.monotonic()
    try:
        while n < want and time.monotonic() - t0 < seconds:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            while len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[:4], "big"):
                buf = buf[4 + int.from_bytes(buf[:4], "big"):]
                n += 1
    except OSError:
        pass
    return n


def flood(path, start, alone_end, end, msg, st, seed):
    rnd = random.Random(seed)
    wait_until(start)
    for _ in range(MAX_OPS):
        if time.monotonic() >= end:
            break
        s = connect(path)
        if s is None:
            st.add("flood_connect_failed")
            time.sleep(0.01)
            continue
        kind = rnd.randrange(6)
        try:
            if kind == 0:      # random bytes
                s.sendall(rnd.randbytes(rnd.randrange(1, 4096)))
                st.add("flood_random")
            elif kind == 1:    # a length word far over the frame limit, then bytes
                s.sendall(rnd.choice([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff",
                                      b"\x00\x01\x00\x01"]) + rnd.randbytes(512))
                st.add("flood_huge")
            elif kind == 2:    # an empty frame
                s.sendall(b"\x00\x00\x00\x00")
                st.add("flood_empty")
            elif kind == 3:    # a frame cut short, then end of input
                f = frame(msg)
                s.sendall(f[:rnd.randrange(1, len(f))])
                s.shutdown(socket.SHUT_WR)
                st.add("flood_cut")
            elif kind == 4:    # random payload in a well-formed frame
                s.sendall(frame(rnd.randbytes(rnd.randrange(1, 2048))))
                st.add("flood_framed_random")
            else:              # valid-looking requests, bad signatures, pipelined
                batch = b""
                for _ in range(8):
                    m = bytearray(msg)
                    m[len(m) - 1 - rnd.randrange(64)] ^= 1 << rnd.randrange(8)
                    batch += frame(bytes(m))
                s.sendall(batch)
                s.shutdown(socket.SHUT_WR)
                st.add("flood_badsig", 8)
            got = drain(s, 8 if kind == 5 else 1)
            st.add("flood_answers_alone" if time.monotonic() < alone_end else "flood_answers_mixed", got)
        except OSError:
            st.add("flood_send_refused")
        s.close()


def abuse(path, seconds, msghex):
    msg = bytes.fromhex(msghex)
    # Phases, so that each kind has the user's slots to itself for a while:
    # slowloris alone for the first quarter, the flood alone for the
    # second, then everything at once (the hoarders take most slots).
    t0 = time.monotonic()
    q, end = t0 + seconds / 4, t0 + seconds
    st = Stats()
    th = []
    for _ in range(HOARD_THREADS):
        th.append(threading.Thread(target=hoard, args=(path, t0 + seconds / 2, end, st)))
    for i in range(2 * SLOW_THREADS):
        w = (t0, q) if i < SLOW_THREADS else (t0 + seconds / 2, end)
        th.append(threading.Thread(target=slowloris,
                                   args=(path, w[0], w[1], msg, 1.0 if i % 2 == 0 else 0.25, st)))
    for i in range(FLOOD_THREADS):
        th.append(threading.Thread(target=flood, args=(path, q, t0 + seconds / 2, end, msg, st, 1000 + i)))
    for t in th:
        t.start()
    for t in th:
        t.join()
    out = " ".join("%s=%d" % kv for kv in sorted(st.c.items()))
    print("%s max_life_ms=%d slow_max_bytes=%d" % (out, st.max_life * 1000, st.slow_max_bytes))
    return 0


def good(seconds, interval, timeout, lb, linkdir, target):
    lat = []
    failed = slow = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        i += 1
        link = "%s/g%d" % (linkdir, i)
        t0 = time.monotonic()
        try:
            p = subprocess.run([lb, link, target], capture_output=True, text=True,
                               timeout=timeout + 5)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            rc, out = -1, "no answer in %d s" % (timeout + 5)
        dt = time.monotonic() - t0
        lat.append(dt)
        try:
            made = os.readlink(link) == target
        except OSError:
            made = False
        if rc != 0 or "created" not in out or not made:
            failed += 1
            print("request %d failed (exit %d, %d ms): %s" % (i, rc, dt * 1000, out.strip()))
        elif dt > timeout:
            slow += 1
            print("request %d took %d ms" % (i, dt * 1000))
        left = interval - dt
        if left > 0:
            time.sleep(left)
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0
    print("n=%d failed=%d slow=%d p50_ms=%d p95_ms=%d max_ms=%d"
          % (len(lat), failed, slow, pct(0.5), pct(0.95), pct(1.0)))
    return 1 if failed or slow or not lat else 0


HOG_HOLDERS = 4
HOG_FLOODERS = 2
HOG_CONNS = 100      # connections each holder thread tries to keep


def tampered(msg, rnd):
    m = bytearray(msg)
    m[len(m) - 1 - rnd.randrange(64)] ^= 1 << rnd.randrange(8)
    return frame(bytes(m))


def holder(path, end, msg, talk, st, seed):
    rnd = random.Random(seed)
    held = {}   # socket -> next keep-alive time
    while time.monotonic() < end:
        while len(held) < HOG_CONNS and time.monotonic() < end:
            s = connect(path)
            if s is None:
                st.add("hog_connect_failed")
                break
            st.add("hog_connect")
            s.setblocking(False)
            held[s] = time.monotonic() + 0.3
            # refused ones get "busy" then the end, seen below
            r, _, _ = select.select([s], [], [], 0.002)
            if r:
                break
        now = time.monotonic()
        for s, t in list(held.items()):
            if talk and now >= t:
                try:
                    s.send(tampered(msg, rnd))
                    st.add("hog_keepalive")
                except OSError:
                    pass
                held[s] = now + 0.3
        if not held:
            time.sleep(0.005)
            continue
        r, _, _ = select.select(list(held), [], [], 0.02)
        for s in r:
            try:
                gone = s.recv(65536) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                st.add("hog_closed")
                del held[s]
                s.close()
        with st.lock:
            st.c["hog_held_max"] = max(st.c.get("hog_held_max", 0), len(held))
    for s in held:
        s.close()


def hogflood(path, end, msg, st, seed):
    rnd = random.Random(seed)
    while time.monotonic() < end:
        s = connect(path)
        if s is None:
            st.add("hogflood_connect_failed")
            time.sleep(0.005)
            continue
        s.settimeout(0.5)
        try:
            while time.monotonic() < end:
                s.sendall(b"".join(tampered(msg, rnd) for _ in range(16)))
                st.add("hogflood_sent", 16)
                got = s.recv(65536)
                if not got:
                    break
        except OSError:
            pass
        s.close()


def hog(path, seconds, msghex):
    msg = bytes.fromhex(msghex)
    end = time.monotonic() + seconds
    st = Stats()
    th = [threading.Thread(target=holder, args=(path, end, msg, i % 2 == 1, st, 10 + i))
          for i in range(HOG_HOLDERS)]
    th += [threading.Thread(target=hogflood, args=(path, end, msg, st, 100 + i))
           for i in range(HOG_FLOODERS)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    print(" ".join("%s=%d" % kv for kv in sorted(st.c.items())))
    return 0


def goodn(n, interval, lb, linkdir, target):
    lat = []
    failed = 0
    for i in range(1, n + 1):
        link = "%s/g%d" % (linkdir, i)
        t0 = time.monotonic()
        try:
            p = subprocess.run([lb, link, target], capture_output=True, text=True, timeout=30)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            rc, out = -1, "no answer in 30 s"
        dt = time.monotonic() - t0
        lat.append(dt)
        try:
            made = os.readlink(link) == target
        except OSError:
            made = False
        if rc != 0 or "created" not in out or not made:
            failed += 1
            print("request %d failed (exit %d, %d ms): %s" % (i, rc, dt * 1000, out.strip()))
        left = interval - dt
        if left > 0:
            time.sleep(left)
    srt = sorted(lat)
    pct = lambda q: srt[min(len(srt) - 1, int(q * len(srt)))] * 1000
    print("n=%d failed=%d p50_ms=%d p95_ms=%d max_ms=%d all_ms=%s"
          % (len(lat), failed, pct(0.5), pct(0.95), pct(1.0),
             ",".join("%d" % (x * 1000) for x in lat)))
    return 1 if failed else 0


def main(a):
    if len(a) == 4 and a[0] == "abuse":
        return abuse(a[1], float(a[2]), a[3])
    if len(a) == 4 and a[0] == "hog":
        return hog(a[1], float(a[2]), a[3])
    if len(a) == 6 and a[0] == "goodn":
        return goodn(int(a[1]), float(a[2]), a[3], a[4], a[5])
    if len(a) == 7 and a[0] == "good":
        return good(float(a[1]), float(a[2]), float(a[3]), a[4], a[5], a[6])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
