#!/usr/bin/env bash
# Identity changes while the daemon runs (issue 13, item 8), end to end:
# the real POSIX daemon as root, real accounts. A user renamed (the passwd
# entry edited under a connected client, as vipw or usermod would) is
# decided under the new name from the next request on, on the same
# connection: the key enrolled for the old name no longer serves. A user
# deleted while connected: the connection is closed, nothing made. A second
# passwd name for the same uid is never the client's name: the policy
# names the uid's first entry (getpwuid). docs/policy.md, "Identity".
#   identity.sh LINKBROKERD LINKBROKER LB_E2E_CLIENT
# Exit 77 (ctest: skipped) with the reason when not root or without useradd.
set -u
LBD=$1 LB=$2 RAW=$3
for v in LBD LB RAW; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser mkfifo

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=li${sfx}a UA2=li${sfx}r UB=li${sfx}b UALIAS=li${sfx}x
R=$(mktemp -d /tmp/lbid.XXXXXX)
chmod 0755 "$R"
DPID= BPID=
cleanup() {
	[ -n "$BPID" ] && kill "$BPID" 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	for u in "$UALIAS" "$UA2" "$UA" "$UB"; do
		getent passwd "$u" >/dev/null && userdel -f "$u" 2>/dev/null
	done
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

for u in "$UA" "$UB"; do
	getent passwd "$u" >/dev/null && userdel -f "$u"
	mkdir -p "$R/home/$u/links"
	useradd -M -d "$R/home/$u" -s /bin/sh -c "linkbroker e2e identity" "$u"
	chown -R "$u:" "$R/home/$u"
	chmod 0755 "$R/home/$u"
done
mkdir -p "$R/etc"
HA=$R/home/$UA HB=$R/home/$UB
as() {
	local u=$1 h=$2
	shift 2
	(cd "$h" && runuser -u "$u" -- env HOME="$h" \
		LINKBROKER_ENDPOINT="$R/run/broker.sock" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
as "$UA" "$HA" "$LB" keygen > "$R/a.block" 2>/dev/null || bad "keygen A"
as "$UB" "$HB" "$LB" keygen > "$R/b.block" 2>/dev/null || bad "keygen B"
# B's key enrolled a second time, under a name that is a second passwd
# entry for B's uid (useradd -o): it must not serve B.
sed -e "s/^\[key:.*/[key:alias]/" -e "s/^user = .*/user = $UALIAS/" "$R/b.block" > "$R/alias.block"
cat > "$R/etc/policy.ini" <<EOF
[broker]
endpoint = $R/run/broker.sock
audit_log = $R/log/audit.log
audit_sync = always
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub
io_timeout_ms = 3000

$(cat "$R/a.block")

$(cat "$R/alias.block")

[rule:a-links]
users = $UA
kinds = symlink
link_under = $HA/links
target_under = $HA
action = allow

[rule:alias-links]
users = $UALIAS
kinds = symlink
link_under = $HB/links
target_under = $HB
action = allow
EOF
chmod 0644 "$R/etc/policy.ini"
"$LBD" run --config "$R/etc/policy.ini" --foreground 2> "$R/daemon.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$R/run/broker.sock" ] && break; sleep 0.05; done
[ -S "$R/run/broker.sock" ] || { echo "FAIL: the broker did not start:"; cat "$R/daemon.log"; exit 1; }
LOG=$R/log/audit.log

# wait_for PATH: up to 3 s for a link to appear.
wait_for() {
	local i
	for i in $(seq 60); do [ -L "$1" ] && return 0; sleep 0.05; done
	return 1
}

# two_on_one HEX1 HEX2 GO: one connection; the first request, its answer,
# then (once the file GO exists) the second and its answer. Prints
# "status N ..." per answer ("closed" if the broker hung up).
cat > "$R/two.py" <<'PY'
import os, socket, struct, sys, time
def send(s, hx):
    m = bytes.fromhex(hx)
    s.sendall(struct.pack(">I", len(m)) + m)
def answer(s):
    h = b""
    while len(h) < 4:
        c = s.recv(4 - len(h))
        if not c:
            return "closed"
        h += c
    n = struct.unpack(">I", h)[0]
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return "closed"
        b += c
    return "answer " + b.hex()
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
send(s, sys.argv[2])
print(answer(s), flush=True)
while not os.path.exists(sys.argv[4]):
    time.sleep(0.02)
send(s, sys.argv[3])
print(answer(s), flush=True)
PY
emit() { as "$1" "$2" "$RAW" "$R/run/broker.sock" "$2/.config/linkbroker/key" emit symlink "$3" "$4"; }

# 1. Renamed while connected: one connection, a request before and a
#    request after the passwd entry changes.
h1=$(emit "$UA" "$HA" "$HA/links/before" "$HA/t")
h2=$(emit "$UA" "$HA" "$HA/links/after" "$HA/t")
as "$UA" "$HA" python3 "$R/two.py" "$R/run/broker.sock" "$h1" "$h2" "$R/go1" > "$R/two1.out" 2>&1 &
BPID=$!
check "renamed: the request before the rename is made" wait_for "$HA/links/before"
# What usermod -l does (it refuses while the user runs a process).
sed -i "s/^$UA:/$UA2:/" /etc/passwd
sed -i "s/^$UA:/$UA2:/" /etc/shadow
touch "$R/go1"
wait "$BPID"
BPID=
check "renamed: the request after the rename, same connection, is not made" test ! -L "$HA/links/after"
check "renamed: refused as not enrolled for this user" grep -q '"user":"'"$UA2"'".*not enrolled' "$LOG"
check "renamed: the audit names the new name" grep -q "\"user\":\"$UA2\"" "$LOG"
out=$(as "$UA2" "$HA" "$LB" links/new "$HA/t" 2>&1)
rc=$?
check "renamed: a new connection is refused too (exit $rc: $out)" test "$rc" -ne 0 -a ! -L "$HA/links/new"
sed -i "s/^$UA2:/$UA:/" /etc/passwd
sed -i "s/^$UA2:/$UA:/" /etc/shadow
out=$(as "$UA" "$HA" "$LB" links/back "$HA/t" 2>&1)
check "renamed back: served again ($out)" test $? -eq 0 -a -L "$HA/links/back"

# 2. Deleted while connected: the next request is not served.
uid_a=$(id -u "$UA")
h1=$(emit "$UA" "$HA" "$HA/links/d1" "$HA/t")
h2=$(emit "$UA" "$HA" "$HA/links/d2" "$HA/t")
as "$UA" "$HA" python3 "$R/two.py" "$R/run/broker.sock" "$h1" "$h2" "$R/go2" > "$R/two2.out" 2>&1 &
BPID=$!
check "deleted: the request before is made" wait_for "$HA/links/d1"
n0=$(wc -l < "$LOG")
userdel -f "$UA" 2>/dev/null
touch "$R/go2"
wait "$BPID"
BPID=
check "deleted: the request after userdel is not made" test ! -L "$HA/links/d2"
check "deleted: the connection is closed without an answer: $(tail -n 1 "$R/two2.out")" \
	test "$(tail -n 1 "$R/two2.out")" = closed
check "deleted: the daemon says why" grep -q "uid $uid_a has no account" "$R/daemon.log"
check "deleted: nothing recorded as allowed" test -z "$(tail -n +$((n0 + 1)) "$LOG" | grep '"verdict":"allowed"')"

# 3. Two names for one uid: B's uid gets a second passwd entry (after B's).
#    B is B (getpwuid's first entry): the alias's key and rule are not B's.
useradd -o -u "$(id -u "$UB")" -g "$(id -g "$UB")" -M -d "$HB" -s /bin/sh "$UALIAS"
out=$(as "$UB" "$HB" "$LB" status 2>&1)
check "two names: status names B, not the alias ($out)" grep -q "you are $UB " <<<"$out"
out=$(as "$UB" "$HB" "$LB" links/al "$HB/t" 2>&1)
rc=$?
check "two names: the key enrolled for the alias does not serve B (exit $rc: $out)" \
	test "$rc" -ne 0 -a ! -L "$HB/links/al"
grep -q "not enrolled" <<<"$out" && ok || bad "two names: the refusal says the key is not enrolled for this user: $out"

check "the daemon runs on" kill -0 "$DPID"
out=$("$LBD" verify-audit "$LOG" 2>&1)
check "the audit log verifies: $out" test $? -eq 0
echo "identity e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
