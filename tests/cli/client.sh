#!/usr/bin/env bash
# linkbroker run as a user would, without the real broker: usage errors,
# keygen and its key file, unsafe key files refused with the reason, an
# unreachable broker; then, against a small fake broker (python3 with
# cryptography; skipped without it), the mklink lines, denials, failures,
# JSON, status, batch over one connection, and answers that are not genuine.
# usage: client.sh LINKBROKER
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")   # the test cd-s around
pass=0 fail=0 skip=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lb-client-test.XXXXXX")
fake_pid=
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

export HOME="$tmp/home"
unset XDG_CONFIG_HOME LINKBROKER_ENDPOINT LINKBROKER_SERVICE_KEY
mkdir -p "$HOME" "$tmp/work"
cd "$tmp/work" || exit 1
work=$(pwd -P)
key="$HOME/.config/linkbroker/key"
nosock="$tmp/no-such.sock"
me=$(id -un)

# run ARGS...: stdout in $out, stderr in $err, exit code in $rc
# (standard input from $stdin_file, else /dev/null).
run() {
	"$bin" "$@" <"${stdin_file:-/dev/null}" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# ok NAME CMD...: a check that must hold.
ok() {
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $name"
		echo "    exit $rc; stdout:"; sed 's/^/      /' <<<"$out"
		echo "    stderr:"; sed 's/^/      /' <<<"$err"
		fail=$((fail + 1))
	fi
}

# expect EXIT STREAM TEXT -- ARGS...: run linkbroker ARGS, want exit EXIT and
# the fixed string TEXT in STREAM (out or err; empty TEXT: anything).
expect() {
	local want=$1 stream=$2 text=$3
	shift 4
	run "$@"
	local got=$out
	[ "$stream" = err ] && got=$err
	ok "linkbroker $* (want exit $want, '$text' on std$stream)" \
		test "$rc" -eq "$want" -a \( -z "$text" -o "$(grep -cF -- "$text" <<<"$got")" -gt 0 \)
}

has_no_escape() { ! grep -q $'\e' "$tmp/out" "$tmp/err"; }
mode_of() { stat -c %a "$1"; }

# ---- usage errors: exit 2, the reason and a short usage on stderr ----
expect 2 err 'missing Link and Target' --
expect 2 err 'usage: linkbroker' --
expect 2 err 'only one of /D, /H, /J: /h' -- /D /h a b
expect 2 err 'missing Target' -- /J a
expect 2 err 'too many arguments: c' -- a b c
expect 2 err 'unknown option: --frobnicate' -- --frobnicate a b
expect 2 err 'unknown option: -h' -- -h a b
expect 2 err '--force is only for keygen' -- --force a b
expect 2 err '--endpoint needs a PATH' -- a b --endpoint
expect 2 err 'too many arguments: now' -- status now
expect 2 err 'a kind flag goes with Link Target' -- batch /D list.txt
expect 0 out 'usage: linkbroker' -- --help
expect 0 out 'COMMAND --help: more on one' -- --help
expect 0 out 'exit codes: 0 created/allowed, 1 denied' -- /?
run /D /H a b
ok "usage errors print nothing on stdout" test -z "$out"

# ---- keygen ----
run keygen
ok "keygen exits 0" test "$rc" -eq 0
pk1=$(sed -n 's/^public_key = //p' <<<"$out")
ok "keygen prints exactly the enrollment block" \
	test "$out" = "$(printf '[key:%s]\nuser = %s\npublic_key = %s' "$me" "$me" "$pk1")"
ok "the public key is 44 base64 characters" grep -qE '^[A-Za-z0-9+/]{43}=$' <<<"$pk1"
ok "keygen tells the user to send the block to the administrator" grep -q administrator <<<"$err"
ok "the key file is mode 600" test "$(mode_of "$key")" = 600
ok "the key directory is mode 700" test "$(mode_of "$(dirname "$key")")" = 700
ok "the key file starts with its format line" test "$(head -n 1 "$key")" = linkbroker-secret-key-v1
ok "the key file is two lines" test "$(wc -l <"$key")" -eq 2
sum1=$(cksum <"$key")

expect 4 err 'a key already exists at' -- keygen
ok "a second keygen says to use --force" grep -qF 'use --force' <<<"$err"
ok "a second keygen prints no block" test -z "$out"
ok "a refused keygen leaves the key alone" test "$(cksum <"$key")" = "$sum1"

run keygen --force
pk2=$(sed -n 's/^public_key = //p' <<<"$out")
ok "keygen --force replaces the key" test "$rc" -eq 0 -a -n "$pk2" -a "$pk2" != "$pk1"
ok "the replaced key file changed and is still mode 600" \
	test "$(cksum <"$key")" != "$sum1" -a "$(mode_of "$key")" = 600
ok "keygen leaves no temporary files" test "$(ls -A "$(dirname "$key")")" = key

run --json keygen --force
ok "keygen --json prints one object" \
	grep -qE "^\{\"user\":\"$me\",\"public_key\":\"[A-Za-z0-9+/]{43}=\",\"key_file\":\"$key\"\}$" <<<"$out"
pk=$(sed -n 's/.*"public_key":"\([^"]*\)".*/\1/p' <<<"$out")

XDG_CONFIG_HOME="$tmp/xdg" run keygen
ok "keygen honours XDG_CONFIG_HOME" test "$rc" -eq 0 -a -f "$tmp/xdg/linkbroker/key"

# ---- the key file must be the user's alone ----
chmod 640 "$key"
expect 4 err 'group or others may read or write it (mode 0640); run: chmod 600' -- --endpoint "$nosock" a b
chmod 604 "$key"
expect 4 err 'mode 0604' -- --endpoint "$nosock" a b
chmod 600 "$key"
cp "$key" "$tmp/key.copy"
mv "$key" "$key.real"
ln -s "$key.real" "$key"
expect 4 err 'it is a symbolic link' -- --endpoint "$nosock" a b
rm "$key"
mv "$key.real" "$key"
if [ "$(id -u)" -eq 0 ]; then
	chown 65534 "$key"
	expect 4 err 'it belongs to uid 65534, not to you' -- --endpoint "$nosock" a b
	chown 0 "$key"
else
	echo "SKIP: a key file owned by someone else (needs root to make one)"
	skip=$((skip + 1))
fi
printf 'linkbroker-secret-key-v1\nnot base64\n' >"$key"
expect 2 err 'is not a valid linkbroker-secret-key-v1 file' -- --endpoint "$nosock" a b
rm "$key"
expect 4 err "no key at $key; run 'linkbroker keygen' first" -- --endpoint "$nosock" a b
cp "$tmp/key.copy" "$key"

# ---- paths are checked here, before anything is sent ----
expect 2 err 'link "a\x01b": path contains a NUL or control character' -- --endpoint "$nosock" $'a\x01b' t
expect 2 err 'target "\x1b[31m": path contains a NUL or control character' -- --endpoint "$nosock" l $'\e[31m'
ok "control characters are never printed raw" has_no_escape
expect 2 err "'..' climbs above the root" -- --endpoint "$nosock" /H l ../../../../../../../../../../../../x
expect 2 err 'link "/": the link path must name a file below a root' -- --endpoint "$nosock" / t

# ---- an unreachable broker: exit 3 ----
expect 3 err "broker unreachable at $nosock: No such file or directory" -- --endpoint "$nosock" a b
LINKBROKER_ENDPOINT="$nosock" expect 3 err "broker unreachable at $nosock" -- check /D a b
touch "$tmp/not-a-socket"
expect 3 err "broker unreachable at $tmp/not-a-socket: Connection refused" -- --endpoint "$tmp/not-a-socket" a b
expect 3 err "broker unreachable at $nosock" -- status --endpoint "$nosock"
expect 3 err "broker unreachable at $nosock" -- list --endpoint "$nosock"
expect 3 err "linkbroker: a: broker unreachable at $nosock" -- rm a b --endpoint "$nosock"
ok "rm stops at an unreachable broker: one line, not one per link ($err)" test "$(wc -l <<<"$err")" -eq 1
expect 2 err 'rm needs a LINK' -- rm
expect 2 err 'list takes one PATH at most: b' -- list a b
expect 2 err 'a kind flag goes with Link Target' -- rm /D a
expect 2 err '"a\x01b": path contains a NUL or control character' -- --endpoint "$nosock" rm $'a\x01b'
run --json --endpoint "$nosock" /H a b
ok "--json reports the unreachable broker as one object" test "$rc" -eq 3 -a \
	"$out" = "{\"link\":\"a\",\"target\":\"b\",\"kind\":\"hardlink\",\"verdict\":\"failed\",\"status\":-63,\"exit\":3,\"rule\":null,\"message\":\"broker unreachable at $nosock: No such file or directory\"}"

# ---- batch without a broker ----
printf '# links\n\n   \n' >"$tmp/empty.batch"
stdin_file="$tmp/empty.batch" expect 0 out '' -- batch --endpoint "$nosock"
ok "a batch of comments sends nothing and prints nothing" test -z "$out$err"
printf 'a "b\n' >"$tmp/bad.batch"
expect 2 err 'line 1: unterminated quote' -- batch "$tmp/bad.batch"
expect 4 err "cannot read the batch input $tmp/missing.batch: No such file or directory" -- batch "$tmp/missing.batch"

# ---- against a fake broker ----
if ! python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null; then
	echo "SKIP: fake-broker cases (python3 with cryptography is not installed)"
	skip=$((skip + 1))
	echo "client.sh: $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
fi

cat >"$tmp/fake_broker.py" <<'PY'
# A stand-in broker: checks the client's request signature and answers by
# the link's last component (deny*, exists, esc, badsig, nonce, close;
# busy answers: rate2* the first two times, busyconn always (and closes),
# busyfake for another nonce).
import base64, os, socket, struct, sys, time
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

sock_path, pub_path, log_path = sys.argv[1:4]
sk = Ed25519PrivateKey.generate()
raw = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
with open(pub_path, "w") as f:
    f.write(base64.b64encode(raw).decode() + "\n")
log = open(log_path, "a", buffering=1)

def read_exact(c, n):
    b = b""
    while len(b) < n:
        try:
            d = c.recv(n - len(b))
        except OSError:   # reset by a client that stopped (a batch that stopped)
            return None
        if not d:
            return None
        b += d
    return b

VERSION_ERR = -14  # LB_E_VERSION

def answer(nonce, status, verdict, rule, msg, bad_sig=False):
    body = bytes([1, 0x81]) + nonce + struct.pack(">iB", status, verdict)
    body += struct.pack(">H", len(rule)) + rule + struct.pack(">H", len(msg)) + msg
    ctx = b"LinkBroker response v1"
    sig = sk.sign(bytes([len(ctx)]) + ctx + body)
    if bad_sig:
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    return struct.pack(">I", len(body) + 64) + body + sig

def busy(nonce, status, retry_ms):
    body = bytes([1, 0x82]) + nonce + struct.pack(">iI", status, retry_ms)
    return struct.pack(">I", len(body)) + body

seen = {}
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(8)
conn_no = 0
while True:
    c, _ = srv.accept()
    conn_no += 1
    with c:
        while True:
            hdr = read_exact(c, 4)
            req = hdr and read_exact(c, struct.unpack(">I", hdr)[0])
            if not req:
                break
            if req[0] != 1:
                # as a broker that speaks only version 1 answers: signed,
                # not bound to any request (zero nonce), "unknown version"
                log.write("conn=%d version=%d refused as unknown\n" % (conn_no, req[0]))
                c.sendall(answer(bytes(16), VERSION_ERR, 0, b"", b"malformed request: unknown protocol version"))
                continue
            typ, kind = req[1], req[2]
            ts, = struct.unpack(">Q", req[3:11])
            nonce, key = req[11:27], req[27:59]
            o = 59
            n, = struct.unpack(">H", req[o:o + 2]); link = req[o + 2:o + 2 + n]; o += 2 + n
            n, = struct.unpack(">H", req[o:o + 2]); target = req[o + 2:o + 2 + n]; o += 2 + n
            ctx = b"LinkBroker request v1"
            try:
                Ed25519PublicKey.from_public_bytes(key).verify(req[o:], bytes([len(ctx)]) + ctx + req[:o])
                sig = "sig-ok"
            except Exception:
                sig = "sig-BAD"
            log.write("conn=%d version=%d type=%d kind=%d %s clock=%s key=%s link=%s target=%s\n" % (
                conn_no, req[0], typ, kind, sig, "ok" if abs(time.time() - ts) <= 5 else "BAD",
                base64.b64encode(key).decode(), link.decode(errors="replace"),
                target.decode(errors="replace")))
            name = os.path.basename(link.decode(errors="replace"))
            if typ == 3:
                out = answer(nonce, 0, 1, b"", b"uid %d, key enrolled as [key:tester]" % os.getuid())
            elif name == "close":
                break
            elif name.startswith("rate2") and seen.get(name, 0) < 2:
                seen[name] = seen.get(name, 0) + 1
                out = busy(nonce, -73, 100)
            elif name == "busyconn":
                try:
                    c.sendall(busy(bytes(16), -69, 50))
                except OSError:
                    pass
                break
            elif name == "busyfake":
                out = busy(bytes(16), -73, 100)
            elif name == "badsig":
                out = answer(nonce, 0, 1, b"dev", b"", bad_sig=True)
            elif name == "nonce":
                out = answer(bytes(16), 0, 1, b"dev", b"")
            elif name.startswith("deny"):
                out = answer(nonce, -51, 0, b"no-x", b'denied by rule "no-x"')
            elif name == "exists":
                out = answer(nonce, -61, 1, b"dev", b"a file already exists at the link path")
            elif name == "esc":
                out = answer(nonce, -51, 0, b"", b"no rule allows \x1b[31mthis")
            else:
                out = answer(nonce, 0, 1, b"dev", b'allowed by rule "dev"')
            try:
                c.sendall(out)
            except OSError:   # the client stopped reading (a batch that stopped)
                break
PY
sock="$tmp/broker.sock"
pub="$tmp/service.pub"
log="$tmp/broker.log"
python3 "$tmp/fake_broker.py" "$sock" "$pub" "$log" &
fake_pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
export LINKBROKER_ENDPOINT="$sock" LINKBROKER_SERVICE_KEY="$pub"
last_log() { tail -n 1 "$log"; }

expect 0 out 'symbolic link created for lnk <<===>> ../t' -- lnk ../t
ok "the request is signed by the user's key, version 1, fresh timestamp" \
	grep -qF "version=1 type=1 kind=1 sig-ok clock=ok key=$pk link=$work/lnk target=../t" <(last_log)
ok "exactly that line on stdout, nothing on stderr" \
	test "$out" = 'symbolic link created for lnk <<===>> ../t' -a -z "$err"
expect 0 out 'symbolic link created for sub/../d <<===>> /opt/x' -- /D sub/../d /opt/x
ok "the link goes out canonical and absolute, kind dirsymlink" \
	grep -qF "type=1 kind=2 sig-ok clock=ok key=$pk link=$work/d target=/opt/x" <(last_log)
expect 0 out 'Hardlink created for h <<===>> data/f' -- /h h data/f
ok "a hard link's target is resolved against the cwd" grep -qF "kind=3 sig-ok clock=ok key=$pk link=$work/h target=$work/data/f" <(last_log)
expect 0 out 'Junction created for j <<===>> ../opt' -- --junction j ../opt
ok "a junction's target is resolved against the cwd" \
	grep -qF "kind=4 sig-ok clock=ok key=$pk link=$work/j target=$(dirname "$work")/opt" <(last_log)
expect 0 out 'symbolic link created for "odd name" <<===>> t' -- '"odd name"' t

# busy answers: waited out and resent, or given up on after 5 s
t0=$(date +%s%N)
expect 0 out 'symbolic link created for rate2 <<===>> t' -- rate2 t
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "over the rate: resent after the wait the broker named, twice ($ms ms >= 200)" test "$ms" -ge 200
ok "each resend is a new request (new nonce), three in all" \
	test "$(grep -c "link=$work/rate2 " "$log")" -eq 3
printf 'b1 t\nrate2b t\nb3 t\n' > "$tmp/busy.batch"
run batch "$tmp/busy.batch"
ok "batch: a busy line is resent and the results stay in line order (exit $rc)" test "$rc" -eq 0 -a \
	"$out" = "$(printf 'symbolic link created for b1 <<===>> t\nsymbolic link created for rate2b <<===>> t\nsymbolic link created for b3 <<===>> t')"
t0=$(date +%s%N)
expect 3 err 'linkbroker: broker busy at '"$sock"': too many clients; gave up after 5 s of retries' -- busyconn t
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "a full broker is retried with backoff for about 5 s, then given up on ($ms ms)" \
	test "$ms" -ge 4000 -a "$ms" -le 8000
n=$(grep -c "link=$work/busyconn " "$log")
ok "backing off: a few reconnections, not a storm ($n in 5 s)" test "$n" -ge 4 -a "$n" -le 40
expect 3 err 'linkbroker: broker is not genuine: a busy answer for another request' -- busyfake t

expect 0 out 'allowed: dev' -- check lnk t
ok "check sends a dry run (type 2)" grep -qF "type=2 kind=1 sig-ok" <(last_log)
expect 1 err 'linkbroker: denied: denied by rule "no-x"' -- deny-me t
ok "a denial prints nothing on stdout" test -z "$out"
expect 1 err 'linkbroker: denied: denied by rule "no-x"' -- check /D deny-me t
expect 4 err 'linkbroker: a file already exists at the link path' -- exists t
expect 1 err 'linkbroker: denied: no rule allows \x1b[31mthis' -- esc t
ok "a broker's control characters are escaped" has_no_escape

run --json lnk ../t
ok "--json: one object for a created link" test "$rc" -eq 0 -a \
	"$out" = '{"link":"lnk","target":"../t","kind":"symlink","verdict":"allowed","status":0,"exit":0,"rule":"dev","message":"allowed by rule \"dev\""}'
run --json deny-me t
ok "--json: a denial is an object on stdout, exit 1" test "$rc" -eq 1 -a -z "$err" -a \
	"$out" = '{"link":"deny-me","target":"t","kind":"symlink","verdict":"denied","status":-51,"exit":1,"rule":"no-x","message":"denied by rule \"no-x\""}'
run --json esc 't"q\b'
ok "--json: strings are escaped" test "$rc" -eq 1 -a \
	"$out" = '{"link":"esc","target":"t\"q\\b","kind":"symlink","verdict":"denied","status":-51,"exit":1,"rule":null,"message":"no rule allows \u001b[31mthis"}'
run --json exists t
ok "--json: a failure" grep -qF '"verdict":"failed","status":-61,"exit":4,' <<<"$out"

expect 0 out 'genuine:  yes' -- status
ok "status names the endpoint" grep -qF "endpoint: $sock" <<<"$out"
ok "status shows the key" grep -qF "key:      $key (public key $pk)" <<<"$out"
ok "status shows enrolment" grep -qF 'enrolled: yes' <<<"$out"
ok "status relays the broker's message" grep -qF 'broker:   uid' <<<"$out"
ok "status sends a status request" grep -qF 'type=3 kind=0 sig-ok' <(last_log)
run --json status
ok "status --json" test "$out" = "{\"endpoint\":\"$sock\",\"genuine\":true,\"key_file\":\"$key\",\"public_key\":\"$pk\",\"enrolled\":true,\"status\":0,\"exit\":0,\"message\":\"uid $(id -u), key enrolled as [key:tester]\"}"
mv "$key" "$key.away"
expect 0 out 'key:      none' -- status
mv "$key.away" "$key"

# Batch: one connection, a result per request, exit = the worst.
conns_before=$(sed -n 's/^conn=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
cat >"$tmp/links.batch" <<'EOF'
# made by client.sh
one ../t
/D "two words" "C:\Program Files\x"

/H deny-three f
four "unterminated
exists t
EOF
run batch "$tmp/links.batch"
ok "batch: exit is the worst result (4)" test "$rc" -eq 4
ok "batch: created lines on stdout" test "$out" = "$(printf '%s\n' \
	'symbolic link created for one <<===>> ../t' \
	'symbolic link created for two words <<===>> C:\Program Files\x')"
ok "batch: failures on stderr with their line numbers" test "$err" = "$(printf '%s\n' \
	'linkbroker: line 5: denied: denied by rule "no-x"' \
	'linkbroker: line 6: unterminated quote' \
	'linkbroker: line 7: a file already exists at the link path')"
ok "batch: all requests over one connection" \
	test "$(sed -n 's/^conn=\([0-9]*\).*/\1/p' "$log" | tail -n 4 | sort -u)" = "$((conns_before + 1))"
stdin_file="$tmp/links.batch" run --json batch -
ok "batch --json: one object per line with its number" test "$rc" -eq 4 -a "$(wc -l <<<"$out")" -eq 5
ok "batch --json: the bad line is an object too" \
	grep -qF '{"link":null,"target":null,"kind":null,"verdict":"failed","status":-65,"exit":2,"rule":null,"message":"unterminated quote","line":6}' <<<"$out"

# Answers that are not genuine: exit 3, and a batch stops there.
expect 3 err 'broker is not genuine: response signature does not verify' -- badsig t
ok "a forged answer's content is not shown" test -z "$out"
expect 3 err 'broker is not genuine: response signature does not verify for this request' -- nonce t
expect 3 err "the broker at $sock closed the connection without answering" -- close t
# Up to 32 requests are in flight (pipelining): line 1's answer is taken
# to make room for line 33, line 2's (forged) before line 34 would go.
{ printf 'a1 t\nbadsig t\n'; for i in $(seq 3 33); do echo "in-flight$i t"; done
  for i in $(seq 34 40); do echo "never-sent$i t"; done; } >"$tmp/stop.batch"
run batch "$tmp/stop.batch"
ok "batch stops at a broker that is not genuine" test "$rc" -eq 3 -a \
	"$(grep -c 'never-sent' "$log")" -eq 0
ok "batch: only the answers before the forged one are reported" \
	test "$out" = 'symbolic link created for a1 <<===>> t' -a "$(grep -c 'in-flight' <<<"$err")" -eq 0
ok "batch says where it stopped, what may have been made and what was not sent" grep -qxF \
	'linkbroker: batch stopped at line 2; lines 3 to 33 were sent but not answered (the broker may have made their links); lines from 34 on were not sent' <<<"$err"
printf 'a1 t\nbadsig t\nlast t\n' >"$tmp/stop.batch"
run batch "$tmp/stop.batch"
ok "batch: a single line in flight is named" grep -qxF \
	'linkbroker: batch stopped at line 2; line 3 was sent but not answered (the broker may have made its link)' <<<"$err"
# Results in the order of the lines, also when one fails in the client.
{ for i in $(seq 1 40); do echo "ok$i t"; [ "$i" = 20 ] && echo 'bad "quote'; done; echo "deny-41 t"; } >"$tmp/order.batch"
run batch "$tmp/order.batch"
ok "batch: 42 results in line order, the client's own failure among them" test "$rc" -eq 2 -a \
	"$out" = "$(for i in $(seq 1 40); do echo "symbolic link created for ok$i <<===>> t"; done)" -a \
	"$err" = "$(printf '%s\n' 'linkbroker: line 21: unterminated quote' 'linkbroker: line 42: denied: denied by rule "no-x"')"
# Any other key pair will do as the wrong service key.
sed -n 's/^public_key = //p' <<<"$("$bin" keygen --force 2>/dev/null)" >"$tmp/other.pub"
expect 3 err 'broker is not genuine: response signature does not verify' -- --service-key "$tmp/other.pub" lnk t
expect 3 err "cannot read the service public key $tmp/none.pub: No such file or directory" -- --service-key "$tmp/none.pub" lnk t
echo "not a key" >"$tmp/bad.pub"
expect 3 err 'not a base64 Ed25519 public key' -- --service-key "$tmp/bad.pub" lnk t

echo "client.sh: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
