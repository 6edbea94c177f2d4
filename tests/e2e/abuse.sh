#!/usr/bin/env bash
# Abuse under load, end to end: the real POSIX daemon as root, one abusive
# user (tests/e2e/lb_abuse.py abuse: far more silent connections than
# max_clients, slowloris clients dripping a valid frame, garbage of every
# shape, bad signatures) for ABUSE_S seconds while a well-behaved user asks
# for a link with the real client every 100 ms. Asserts: every good request
# succeeds in time, the daemon's memory and descriptors stay bounded and come
# back, no abusive connection outlives its deadline, the abuser's audit
# records stay within the pre-authentication budget (LB_REJECT_* in
# service/lb_broker.h), and the daemon still answers and its log verifies.
#   abuse.sh LINKBROKERD LINKBROKER LB_E2E_CLIENT
# LB_ABUSE_USERS=N runs N abusive users at once (default 1; the per-user cap
# is max_clients/4, but an eighth is kept for users holding none and a
# newcomer may displace an idle connection of the biggest holder, so 4 of
# them cannot keep the good user out: e2e.fair tests that directly).
# Exit 77 (ctest: skipped) with the reason when not root or without useradd.
set -u
LBD=$1 LB=$2 RAW=$3
for v in LBD LB RAW; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
TOOL=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lb_abuse.py
NAB=${LB_ABUSE_USERS:-1}
ABUSE_S=20          # how long the abuse lasts
GOOD_MAX_S=3        # each good request must be answered within this
IO_MS=1000          # io_timeout_ms of the test policy
MAXC=16             # max_clients of the test policy
RSS_SLACK_KB=$((24 * 1024))   # growth allowed under abuse (a sanitizer build: ~7 MB; plain: <1 MB)
RSS_BACK_KB=$((16 * 1024))    # and left after it
FD_SLACK=$((MAXC + 4))        # at most max_clients connections, plus a few in flight
pass=0 fail=0

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the abuse test needs root (it creates users and runs the broker)"
	exit 77
fi
for tool in useradd userdel runuser python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is missing"
		exit 77
	fi
done

# Names unique to this run (parallel build trees never share accounts).
sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lz${sfx}a
ABUSERS=
for i in $(seq "$NAB"); do ABUSERS="$ABUSERS lz${sfx}x$i"; done
R=$(mktemp -d /tmp/lbabuse.XXXXXX)
chmod 0755 "$R"
DPID= MPID=
APIDS=

cleanup() {
	for p in $APIDS $MPID; do kill "$p" 2>/dev/null; done
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	for u in "$UA" $ABUSERS; do
		getent passwd "$u" >/dev/null && userdel "$u" 2>/dev/null
	done
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

# ok, bad, check (and the pass/fail counters)
. "$(dirname "$0")/lib.sh"

for u in "$UA" $ABUSERS; do
	getent passwd "$u" >/dev/null && userdel "$u"
	mkdir -p "$R/home/$u/links"
	useradd -M -d "$R/home/$u" -s /bin/sh -c "linkbroker e2e abuse" "$u"
	chown -R "$u:" "$R/home/$u"
	chmod 0755 "$R/home/$u"
done
mkdir -p "$R/etc"

as() {
	local u=$1
	shift
	(cd "$R/home/$u" && runuser -u "$u" -- env HOME="$R/home/$u" \
		LINKBROKER_ENDPOINT="$R/run/broker.sock" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}

# Every user enrolled, the abusers too: their frames are as valid as can be
# until they are cut, forged or slowed down. Only the good user has a rule.
for u in "$UA" $ABUSERS; do
	as "$u" "$LB" keygen > "$R/$u.block" 2>/dev/null || bad "keygen as $u"
done
cat > "$R/etc/policy.ini" <<EOF
[broker]
endpoint = $R/run/broker.sock
audit_log = $R/log/audit.log
audit_sync = always
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub
io_timeout_ms = $IO_MS
max_clients = $MAXC

$(for u in "$UA" $ABUSERS; do cat "$R/$u.block"; echo; done)

[rule:good]
users = $UA
kinds = symlink
link_under = %HOME%/links
target_under = %HOME%
action = allow
EOF
chmod 0644 "$R/etc/policy.ini"

# Sanitizer builds hold freed memory in a quarantine (256 MB by default):
# a small one, so the memory measured is the daemon's own.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4" \
	"$LBD" run --config "$R/etc/policy.ini" --foreground 2> "$R/daemon.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$R/run/broker.sock" ] && break; sleep 0.05; done
if [ ! -S "$R/run/broker.sock" ]; then
	echo "FAIL: the broker did not start:"
	cat "$R/daemon.log"
	exit 1
fi
S=$R/run/broker.sock
H=$R/home/$UA
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$DPID/status"; }
fds() { ls "/proc/$DPID/fd" | wc -l; }
# decision records of user $1 (not the "made" record after each link made)
lines_of() { lb_e2e_decisions "$R/log/audit.log" | grep -c "\"user\":\"$1\""; }

# Warm up (first requests allocate the caches), then the baseline.
for i in 1 2 3 4 5; do
	as "$UA" "$LB" "links/w$i" "$H/x" >/dev/null 2>&1 || bad "warm-up request $i"
done
sleep $(( IO_MS / 1000 + 1 ))
rss0=$(rss) fd0=$(fds) log0=$(wc -l < "$R/daemon.log")
ua0=$(lines_of "$UA")

# Each abuser's slowloris drips a signed request of its own; the same
# request with its last byte changed must be refused as forged (the flood
# sends such frames by the thousand).
for u in $ABUSERS; do
	KU=$R/home/$u/.config/linkbroker/key
	as "$u" "$RAW" "$S" "$KU" emit symlink "$R/home/$u/links/slow" "$R/home/$u/x" > "$R/$u.hex"
	out=$(as "$u" "$RAW" "$S" "$KU" tamper symlink "$R/home/$u/links/t" "$R/home/$u/x")
	grep -q "status -20 " <<<"$out" && ok || bad "a bad signature from $u is refused: $out"
done

# The daemon's memory and descriptors, sampled every 200 ms.
( while [ -d "/proc/$DPID" ]; do echo "$(rss) $(fds)"; sleep 0.2; done ) > "$R/mon.txt" 2>/dev/null &
MPID=$!

t0=$(date +%s)
for u in $ABUSERS; do
	as "$u" python3 "$TOOL" abuse "$S" "$ABUSE_S" "$(cat "$R/$u.hex")" > "$R/$u.out" 2>&1 &
	APIDS="$APIDS $!"
done
sleep 1
as "$UA" python3 "$TOOL" good $((ABUSE_S - 2)) 0.1 "$GOOD_MAX_S" "$LB" links "$H/x" > "$R/good.out" 2>&1
grc=$?
for p in $APIDS; do wait "$p"; done
APIDS=
t1=$(date +%s)
kill "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null; MPID=

# --- the good user was served throughout ---
summary=$(tail -n 1 "$R/good.out")
echo "good user: $summary"
check "every good request succeeded within ${GOOD_MAX_S}s: $(head -n 5 "$R/good.out")" test "$grc" -eq 0
n_good=$(sed -n 's/^n=\([0-9]*\) .*/\1/p' <<<"$summary")
check "the good user was not throttled into a trickle ($n_good requests)" test "${n_good:-0}" -ge $(( (ABUSE_S - 2) * 2 ))

# --- the abuse reached the daemon and was cut off at its deadlines ---
for u in $ABUSERS; do
	a=$(tail -n 1 "$R/$u.out")
	echo "abuser $u: $a"
	val() { sed -n "s/.*\<$1=\([0-9]*\).*/\1/p" <<<"$a"; }
	check "$u: the flood got answers (it reached the broker)" test "$(val flood_answers_alone)" -gt 100
	check "$u: most silent connections were refused or dropped" test "$(val hoard_dropped)" -gt "$MAXC"
	check "$u: a slowloris client was let in and fed bytes" test "$(val slow_max_bytes)" -ge 2
	check "$u: no slowloris frame ever completed" test -z "$(val slow_completed)"
	check "$u: no abusive connection outlived io_timeout (longest $(val max_life_ms) ms)" \
		test "$(val max_life_ms)" -lt $(( IO_MS + 1500 ))
done

# --- memory and descriptors: bounded under abuse, back afterwards ---
read -r rss_max fd_max < <(awk 'NF == 2 { if ($1 > r) r = $1; if ($2 > f) f = $2 } END { print r + 0, f + 0 }' "$R/mon.txt")
for _ in $(seq 50); do [ "$(fds)" -le "$fd0" ] && break; sleep 0.1; done
rss1=$(rss) fd1=$(fds)
echo "daemon: VmRSS ${rss0} kB at start, max ${rss_max} kB under abuse, ${rss1} kB after; fds ${fd0} at start, max ${fd_max}, ${fd1} after ($(wc -l < "$R/mon.txt") samples)"
check "descriptors bounded by max_clients under abuse (max $fd_max, start $fd0)" test "$fd_max" -le $(( fd0 + FD_SLACK ))
check "descriptors back to the start level ($fd1, start $fd0)" test "$fd1" -le "$fd0"
check "memory bounded under abuse (max $rss_max kB, start $rss0 kB)" test "$rss_max" -le $(( rss0 + RSS_SLACK_KB ))
check "memory back near the start level ($rss1 kB, start $rss0 kB)" test "$rss1" -le $(( rss0 + RSS_BACK_KB ))

# --- the audit log: the abusers stay within the pre-authentication budget ---
# LB_REJECT_BURST records at once, then LB_REJECT_PER_SEC a second (whole
# seconds of the clock: one more second at each end).
budget=$(( 20 + 5 * (t1 - t0 + 2) ))
for u in $ABUSERS; do
	n=$(lines_of "$u")
	echo "audit: $n records for abuser $u over $((t1 - t0)) s (budget $budget)"
	check "$u: audit records within the reject budget ($n <= $budget)" test "$n" -le "$budget"
	check "$u: the abuse was audited at all" test "$n" -ge 20
done
ua1=$(lines_of "$UA")
check "every good request audited once ($((ua1 - ua0)) records, $n_good requests)" test "$((ua1 - ua0))" -eq "${n_good:-0}"
echo "daemon log: $(( $(wc -l < "$R/daemon.log") - log0 )) lines during the abuse (syslog; rate-limited there)"

# --- the daemon survived and still answers ---
check "the daemon is still running" kill -0 "$DPID"
out=$(as "$UA" "$LB" links/after "$H/x" 2>&1)
check "a request after the abuse succeeds: $out" grep -q "created" <<<"$out"
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
out=$("$LBD" verify-audit "$R/log/audit.log" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit passes after the abuse: $out" test "$rc" -eq 0

echo "abuse: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
