#!/usr/bin/env bash
# Crash safety end to end: the real daemon (audit_sync = always) killed
# with SIGKILL at random moments while an enrolled user streams requests,
# restarted each time; then a torn line planted while it is down. Checks:
# every link the client was told was created has an "allowed" record, no
# link is on disk without a record except one whose client was never
# answered, the daemon always comes back, a torn write is sealed by a
# recovery record, and verify-audit passes (reporting the recovered crash).
#   crash.sh LINKBROKERD LINKBROKER
# Exit 77 (ctest: skipped) with the reason when not root or without useradd.
# LB_CRASH_ROUNDS (default 20) and LB_CRASH_SECONDS (default 60) bound it.
set -u
LBD=$1 LB=$2
ROUNDS=${LB_CRASH_ROUNDS:-20}
BUDGET=${LB_CRASH_SECONDS:-60}
pass=0 fail=0

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the crash test needs root (it creates a user and runs the broker)"
	exit 77
fi
for tool in useradd userdel runuser python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is missing"
		exit 77
	fi
done

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lb${sfx}k
R=$(mktemp -d /tmp/lbcrash.XXXXXX)
chmod 0755 "$R"
DPID= CPID=

cleanup() {
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	getent passwd "$UA" >/dev/null && userdel "$UA" 2>/dev/null
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

# ok, bad, check (and the pass/fail counters)
. "$(dirname "$0")/lib.sh"

getent passwd "$UA" >/dev/null && userdel "$UA"
mkdir -p "$R/home" "$R/etc" "$R/srv"
useradd -M -d "$R/home/$UA" -s /bin/sh -c "linkbroker crash test" "$UA"
H=$R/home/$UA
mkdir -p "$H/links"
chown -R "$UA:" "$H"
chmod 0755 "$H"
echo shared > "$R/srv/file"

as() {
	local u=$1
	shift
	(cd "$R/home/$u" && runuser -u "$u" -- env HOME="$R/home/$u" \
		LINKBROKER_ENDPOINT="$R/run/broker.sock" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}

as "$UA" "$LB" keygen > "$R/a.block" 2>/dev/null || bad "keygen as $UA"
cat > "$R/etc/policy.ini" <<EOF
[broker]
endpoint = $R/run/broker.sock
audit_log = $R/log/audit.log
audit_sync = always
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub
io_timeout_ms = 1000
max_clients = 16

$(cat "$R/a.block")

[rule:links]
users = $UA
kinds = symlink
link_under = %HOME%/links
target_under = $R/srv
action = allow
EOF
chmod 0644 "$R/etc/policy.ini"
LOG=$R/log/audit.log

# start: run the daemon, wait for its socket (a stale one from a killed
# daemon must not stop it). 0 if it came up.
start() {
	"$LBD" run --config "$R/etc/policy.ini" --foreground 2>> "$R/daemon.log" &
	DPID=$!
	for _ in $(seq 200); do
		# Up once it answers: the socket file alone may be the old one.
		if [ -S "$R/run/broker.sock" ] && as "$UA" "$LB" status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}
crash() {
	kill -9 "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}

start || { echo "FAIL: the broker did not start:"; cat "$R/daemon.log"; exit 1; }

# The client: batches of 20 requests, one connection each, all the time,
# daemon up or not. Each answered line ("symbolic link created for ...")
# goes to client.out; batches that could not reach the broker simply stop.
cat > "$R/client.sh" <<EOF
i=0
while [ ! -e "$R/stop" ]; do
	i=\$((i + 1))
	for j in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		echo "links/c\${i}_\$j $R/srv/file"
	done | "$LB" batch - >> "$H/client.out" 2>> "$H/client.err" || sleep 0.02
done
EOF
chmod 0644 "$R/client.sh"
as "$UA" sh "$R/client.sh" &
CPID=$!

# Kill the daemon at random moments, restart it each time.
t0=$SECONDS
rounds=0 restarts_failed=0
while [ "$rounds" -lt "$ROUNDS" ] && [ $((SECONDS - t0)) -lt $((BUDGET - 10)) ]; do
	sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
	crash
	rounds=$((rounds + 1))
	if ! start; then
		restarts_failed=$((restarts_failed + 1))
		bad "round $rounds: the broker did not come back: $(tail -n 3 "$R/daemon.log")"
		break
	fi
done
sleep 0.5
touch "$R/stop"
wait "$CPID" 2>/dev/null
CPID=
crash
elapsed=$((SECONDS - t0))

# What the client was told, what is on disk, what the log says.
grep -o 'created for links/c[0-9_]*' "$H/client.out" | sed 's/created for links\///' | sort -u > "$R/answered"
(cd "$H/links" && ls) | sort -u > "$R/on_disk"
python3 - "$LOG" "$H/links" > "$R/allowed" <<'EOF'
import json, sys, os
prefix = sys.argv[2] + "/"
for line in open(sys.argv[1], "rb"):
	try:
		r = json.loads(line)
	except ValueError:
		continue
	if r.get("event") == "create" and r.get("verdict") == "allowed":
		p = r.get("link_resolved") or ""
		if p.startswith(prefix):
			print(p[len(prefix):])
EOF
sort -u -o "$R/allowed" "$R/allowed"
n_answered=$(wc -l < "$R/answered")
n_disk=$(wc -l < "$R/on_disk")
n_allowed=$(wc -l < "$R/allowed")
check "the client got links created ($n_answered)" test "$n_answered" -gt 0
missing=$(comm -23 "$R/answered" "$R/allowed")
check "every link the client was told of has an allowed record: missing [$missing]" test -z "$missing"
gone=$(comm -23 "$R/answered" "$R/on_disk")
check "every link the client was told of is on disk: missing [$gone]" test -z "$gone"
# A link made, then the broker killed before its record was written: its
# client was never answered. At most one per kill, never an answered one.
orphans=$(comm -23 "$R/on_disk" "$R/allowed")
n_orphans=$(printf '%s' "$orphans" | grep -c . || true)
answered_orphans=$(comm -12 <(printf '%s\n' "$orphans" | grep . | sort) "$R/answered")
check "no answered link lacks a record: [$answered_orphans]" test -z "$answered_orphans"
# A create's decision is recorded before the link is made: no link on disk
# may lack its record (before that rule: 0-6 per 20 kills).
check "every link on disk has its record ($n_orphans without: $orphans)" \
	test "$n_orphans" -eq 0
# The other way round, a kill between the record and the link leaves an
# allowed decision without its link: never one the client saw answered.
# The daemon records a round of requests, syncs, then makes their links
# (group commit): at most a round per kill, and a round takes at most 16
# requests of a connection (LB_JOBS_PER_CONN); the client pipelines 20.
ghosts=$(comm -13 "$R/on_disk" "$R/allowed")
n_ghosts=$(printf '%s' "$ghosts" | grep -c . || true)
answered_ghosts=$(comm -12 <(printf '%s\n' "$ghosts" | grep . | sort) "$R/answered")
check "every link answered as created is on disk: [$answered_ghosts]" test -z "$answered_ghosts"
check "allowed records without their link ($n_ghosts: $ghosts) are at most a round (16) per kill" \
	test "$n_ghosts" -le $((rounds * 16))
torn_seen=$(grep -c '"event":"recovery"' "$LOG" || true)
out=$("$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit passes after $rounds kills: $out" test "$rc" -eq 0

# --- a torn write, planted while the daemon is down, is sealed at start ---
last=$(tail -n 1 "$LOG")
seq_before=$(wc -l < "$LOG")
off=$(stat -c %s "$LOG")
printf '%s' "${last:0:100}" >> "$LOG"
out=$("$LBD" verify-audit "$LOG" 2>&1); rc=$?
check "before the restart the torn line is reported: $out" \
	test "$rc" -eq 1 -a -n "$(grep -F "the last line has no newline" <<<"$out")"
start || bad "the broker does not start on a torn log: $(tail -n 3 "$R/daemon.log")"
as "$UA" "$LB" "links/after" "$R/srv/file" >/dev/null 2>&1 || bad "a request after the recovery"
crash
python3 - "$LOG" "$off" "$seq_before" > "$R/rec.check" <<'EOF'
import hashlib, json, sys
data = open(sys.argv[1], "rb").read()
off = int(sys.argv[2]); n = int(sys.argv[3])
lines = data.split(b"\n")
torn = data[off:off + 100]
assert lines[n] == torn, "the torn bytes are not kept as line %d" % (n + 1)
prev = json.loads(lines[n - 1]); rec = json.loads(lines[n + 1])
want = "sealed a write torn by a crash: 100 bytes at byte %d, blake2b %s" % (
    off, hashlib.blake2b(torn, digest_size=32).hexdigest())
assert rec["event"] == "recovery" and rec["verdict"] == "failed", rec
assert rec["reason"] == want, (rec["reason"], want)
assert rec["seq"] == prev["seq"] + 1 and rec["prev"] == prev["hash"], rec
nxt = json.loads(lines[n + 2])
assert nxt["prev"] == rec["hash"] and nxt["seq"] == rec["seq"] + 1, nxt
assert any((json.loads(l).get("link_resolved") or "").endswith("/links/after") for l in lines[n + 2:] if l), "links/after"
print("ok", n + 1)
EOF
check "the recovery record seals the torn bytes and continues the chain: $(cat "$R/rec.check")" \
	grep -q '^ok' "$R/rec.check"
torn_line=$((seq_before + 1))
out=$("$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit exits 0 and reports the recovered crash: $out" \
	test "$rc" -eq 0 -a -n "$(grep -F "recovered crash at line $torn_line (100 bytes kept as evidence)" <<<"$out")"
# ... and a changed byte in the sealed bytes is still found.
cp "$LOG" "$R/t.log"
printf 'X' | dd of="$R/t.log" bs=1 seek=$((off + 50)) conv=notrunc status=none
out=$("$LBD" verify-audit "$R/t.log" 2>&1); rc=$?
check "a changed torn byte is found at its line: $out" \
	test "$rc" -eq 1 -a -n "$(grep -F "t.log:$torn_line:" <<<"$out")"

echo "crash: $rounds kills in ${elapsed}s, $n_answered requests answered as created," \
	"$n_allowed allowed records, $n_disk links on disk, $n_orphans unrecorded (unanswered)," \
	"$torn_seen torn lines sealed by kills, $restarts_failed failed restarts"
echo "crash: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
