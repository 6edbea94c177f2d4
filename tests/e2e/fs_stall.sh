#!/usr/bin/env bash
# A file system that never answers, end to end (issue 13, item 1): user B
# asks for links inside a FUSE mount whose lookups hang (tests/e2e/
# lb_hangfs.py: a dead share, a wedged FUSE server). While B's requests
# sit in the kernel:
#  - user A's requests are all served, each well within its deadline (the
#    broker's loop never waits for the file system: the opens run on
#    workers);
#  - each of B's requests is answered "the file system did not answer in
#    time" (exit 4) at its deadline (io_timeout_ms = 3000), audited, and
#    nothing is made; eight at once are all answered, not one after the
#    other (one uid's stuck work is capped, the rest time out waiting);
#  - once the file system answers again, B is served, the daemon stops
#    cleanly, and verify-audit passes.
#   fs_stall.sh LINKBROKERD LINKBROKER
# Exit 77 (ctest: skipped) with the reason when not root, or without FUSE
# or python3-fusepy (scripts/deps).
set -u
LBD=$1 LB=$2
for v in LBD LB; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
FS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lb_hangfs.py
PY=/usr/bin/python3     # the system's: python3-fusepy is installed for it
DEADLINE_MS=3000
A_N=10 B_N=8

. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser fusermount
if [ ! -c /dev/fuse ]; then echo "SKIP: no /dev/fuse"; exit 77; fi
if ! "$PY" -c 'import fusepy' 2>/dev/null; then echo "SKIP: python3-fusepy is missing (scripts/deps)"; exit 77; fi

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lh${sfx}a UB=lh${sfx}b
R=$(mktemp -d /tmp/lbstall.XXXXXX)
chmod 0755 "$R"
HA=$R/home/$UA HB=$R/home/$UB MNT=$R/home/$UB/share
DPID= FSPID=

cleanup() {
	: > "$R/release"
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	for u in "$UA" "$UB"; do getent passwd "$u" >/dev/null && userdel "$u" 2>/dev/null; done
	if [ -n "$FSPID" ]; then
		fusermount -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
		kill "$FSPID" 2>/dev/null; wait "$FSPID" 2>/dev/null
	fi
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

for u in "$UA" "$UB"; do
	getent passwd "$u" >/dev/null && userdel "$u"
	mkdir -p "$R/home/$u/links"
	useradd -M -d "$R/home/$u" -s /bin/sh -c "linkbroker e2e fs_stall" "$u"
	chown -R "$u:" "$R/home/$u"
	chmod 0755 "$R/home/$u"
	echo x > "$R/home/$u/x" && chown "$u:" "$R/home/$u/x"
done
mkdir -p "$MNT" "$R/etc"
"$PY" "$FS" "$MNT" "$R/release" 2> "$R/fs.log" &
FSPID=$!
for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
if ! mountpoint -q "$MNT"; then
	echo "SKIP: cannot mount a FUSE file system here: $(cat "$R/fs.log")"
	exit 77
fi

# as USER COMMAND...
as() {
	local u=$1
	shift
	(cd "$R/home/$u" && runuser -u "$u" -- env HOME="$R/home/$u" \
		LINKBROKER_ENDPOINT="$R/run/broker.sock" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
ms() { date +%s%3N; }
as "$UA" "$LB" keygen > "$R/a.block" 2>/dev/null || bad "keygen $UA"
as "$UB" "$LB" keygen > "$R/b.block" 2>/dev/null || bad "keygen $UB"
cat > "$R/etc/policy.ini" <<EOF
[broker]
endpoint = $R/run/broker.sock
audit_log = $R/log/audit.log
audit_sync = always
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub
io_timeout_ms = $DEADLINE_MS
max_clients = 64

$(cat "$R/a.block")

$(cat "$R/b.block")

[rule:home]
users = $UA, $UB
kinds = symlink
link_under = %HOME%
target_under = %HOME%
action = allow
EOF
chmod 0644 "$R/etc/policy.ini"

"$LBD" run --config "$R/etc/policy.ini" --foreground 2> "$R/daemon.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$R/run/broker.sock" ] && break; sleep 0.05; done
if [ ! -S "$R/run/broker.sock" ]; then
	echo "FAIL: the broker did not start:"
	cat "$R/daemon.log"
	exit 1
fi

# --- a folder that answers, whose entries hang: the link's own name is
# looked up in the timed step, so this too is answered "timed out" at its
# deadline (not waited for in the create: the client would give up at 5 s,
# exit 3). First: a lookup hung in a folder holds up the folder's others. ---
t0=$(ms)
out=$(as "$UB" "$LB" "$MNT/open/l3" "$HB/x" 2>&1); rc=$?
e=$(( $(ms) - t0 ))
echo "B, a folder whose entries hang: exit $rc after $e ms: $out"
check "a link whose own name hangs is answered \"timed out\" (exit $rc after $e ms)" \
	test "$rc" -eq 4 -a "$e" -lt $(( DEADLINE_MS + 1500 ))

# --- one of B's requests hangs in the kernel; A is served meanwhile ---
t0=$(ms)
( out=$(as "$UB" "$LB" "$MNT/sub/l1" "$HB/x" 2>&1); echo "rc=$? ms=$(( $(ms) - t0 )) $out" > "$R/b1.out" ) &
B1=$!
for _ in $(seq 100); do grep -q "hang: getattr" "$R/fs.log" && break; sleep 0.05; done
check "B's request reached the hung file system ($(head -n 1 "$R/fs.log"))" grep -q "hang: getattr" "$R/fs.log"
served=0 worst=0
for i in $(seq "$A_N"); do
	s=$(ms)
	out=$(as "$UA" "$LB" "links/a$i" "$HA/x" 2>&1); rc=$?
	e=$(( $(ms) - s ))
	[ "$e" -gt "$worst" ] && worst=$e
	[ "$rc" -eq 0 ] && [ -L "$HA/links/a$i" ] && served=$((served + 1))
	[ "$rc" -ne 0 ] && echo "A's request $i: exit $rc: $out"
done
pending=no
[ ! -s "$R/b1.out" ] && pending=yes
echo "A while B hangs: $served of $A_N made, slowest $worst ms (deadline $DEADLINE_MS ms); B still pending: $pending"
check "A's $A_N requests are all made while B's hangs ($served of $A_N)" test "$served" -eq "$A_N"
check "each of A's requests is answered well within its deadline (slowest $worst ms)" \
	test "$worst" -lt $(( DEADLINE_MS / 2 ))
check "A was served while B's request was still in the kernel" test "$pending" = yes
wait "$B1"
b1=$(cat "$R/b1.out")
echo "B: $b1"
check "B's request is answered with exit 4 ($b1)" grep -q "^rc=4 " <<<"$b1"
check "B's answer says the file system did not answer in time" grep -q "did not answer in time" <<<"$b1"
b1ms=$(sed -n 's/^rc=[0-9]* ms=\([0-9]*\) .*/\1/p' <<<"$b1")
check "B is answered at its deadline, not before, not much after (${b1ms:-?} ms)" \
	test "${b1ms:-0}" -ge $(( DEADLINE_MS - 100 )) -a "${b1ms:-99999}" -lt $(( DEADLINE_MS + 1500 ))
check "B's timed-out request is audited (error -76)" \
	grep -q "\"link\":\"$MNT/sub/l1\".*\"error\":-76" "$R/log/audit.log"

# --- eight at once: every one answered at its deadline ---
t0=$(ms) pids=()
for i in $(seq "$B_N"); do
	( out=$(as "$UB" "$LB" "$MNT/sub/m$i" "$HB/x" 2>&1); echo "rc=$? ms=$(( $(ms) - t0 )) $out" > "$R/bm$i.out" ) &
	pids+=($!)
done
wait "${pids[@]}"
timed=0 slowest=0
for i in $(seq "$B_N"); do
	grep -q "^rc=4 .*did not answer in time" "$R/bm$i.out" && timed=$((timed + 1))
	e=$(sed -n 's/^rc=[0-9]* ms=\([0-9]*\) .*/\1/p' "$R/bm$i.out")
	[ "${e:-0}" -gt "$slowest" ] && slowest=$e
done
echo "B, $B_N at once: $timed answered \"timed out\", the last after $slowest ms"
check "$B_N stalled requests at once are all answered \"timed out\" ($timed)" test "$timed" -eq "$B_N"
check "... together, at their deadline, not one after the other (last after $slowest ms)" \
	test "$slowest" -lt $(( DEADLINE_MS + 1500 ))
threads=$(ls "/proc/$DPID/task" | wc -l)
echo "daemon threads with $((B_N + 2)) of B's opens stuck: $threads"
check "one uid's stuck work holds a bounded number of workers ($threads threads)" test "$threads" -le 12
out=$(as "$UA" "$LB" links/after "$HA/x" 2>&1)
check "A is still served: $out" test -L "$HA/links/after"
check "nothing was made in the hung file system's place" test ! -L "$HB/links/l1"

# --- the file system answers again ---
: > "$R/release"
sleep 0.5
out=$(as "$UB" "$LB" links/b-after "$HB/x" 2>&1); rc=$?
check "B is served once its file system answers (exit $rc): $out" test "$rc" -eq 0 -a -L "$HB/links/b-after"
out=$(as "$UB" "$LB" "$MNT/sub/l2" "$HB/x" 2>&1); rc=$?
check "a path in it now fails at once, cleanly (exit $rc): $out" test "$rc" -ne 0 -a "$rc" -ne 3
s=$(ms)
kill "$DPID"; wait "$DPID"; rc=$?; DPID=
check "the daemon stops cleanly, at once (exit $rc, $(( $(ms) - s )) ms)" test "$rc" -eq 0 -a $(( $(ms) - s )) -lt 3000
check "the daemon said it answered B \"timed out\"" grep -q "did not answer within $DEADLINE_MS ms" "$R/daemon.log"
out=$("$LBD" verify-audit "$R/log/audit.log" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit passes: $out" test "$rc" -eq 0

echo "fs_stall: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
