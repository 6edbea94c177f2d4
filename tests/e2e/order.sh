#!/usr/bin/env bash
# Answers in request order, and rate limits that pace instead of failing
# (issue 13, item 3), end to end: the real POSIX daemon as root, a real
# unprivileged user.
#  1. On ONE connection, requests that are allowed, refused for their rate
#     (a policy of 2 a second, burst 3), malformed and denied, interleaved
#     and pipelined: every answer comes in request order with its
#     request's nonce, signed (or the unsigned "busy" carrying that
#     nonce and a retry time), with the verdict each deserves.
#  2. A single `linkbroker` over the rate limit waits as told and succeeds.
#  3. `linkbroker batch` of BATCH_N lines with the default limits (1,000 a
#     second, burst 10,000) completes: exit 0, every line created, in
#     order, within BATCH_MAX_S.
#  4. Another enrolled user sends 70,000 requests stamped 59 s ahead (the
#     end of the clock window): the first user's requests signed now are
#     still served (the replay floor never passes the clock), not "outside
#     the allowed clock skew".
#   order.sh LINKBROKERD LINKBROKER LB_E2E_CLIENT
# Exit 77 (ctest: skipped) with the reason when not root or without useradd.
set -u
LBD=$1 LB=$2 RAW=$3
for v in LBD LB RAW; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
BATCH_N=${LB_ORDER_BATCH:-20000}
BATCH_MAX_S=45

# ok, bad, check, lb_e2e_need_root (and the pass/fail counters)
. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lo${sfx}a UB=lo${sfx}b
R=$(mktemp -d /tmp/lborder.XXXXXX)
chmod 0755 "$R"
DPID=

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	getent passwd "$UA" >/dev/null && userdel "$UA" 2>/dev/null
	getent passwd "$UB" >/dev/null && userdel "$UB" 2>/dev/null
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

for u in "$UA" "$UB"; do
	getent passwd "$u" >/dev/null && userdel "$u"
	mkdir -p "$R/home/$u/links" "$R/home/$u/many"
	useradd -M -d "$R/home/$u" -s /bin/sh -c "linkbroker e2e order" "$u"
	chown -R "$u:" "$R/home/$u"
	chmod 0755 "$R/home/$u"
done
mkdir -p "$R/etc"
H=$R/home/$UA
S=$R/run/broker.sock

as() {
	(cd "$H" && runuser -u "$UA" -- env HOME="$H" \
		LINKBROKER_ENDPOINT="$S" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		LB_E2E_SERVICE_PUB="$R/keys/service.pub" ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
as_b() {
	(cd "$R/home/$UB" && runuser -u "$UB" -- env HOME="$R/home/$UB" LB_E2E_TS_OFFSET="${OFFSET:-0}" \
		LINKBROKER_ENDPOINT="$S" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		LB_E2E_SERVICE_PUB="$R/keys/service.pub" ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}

as "$LB" keygen > "$R/a.block" 2>/dev/null || bad "keygen"
as_b "$LB" keygen > "$R/b.block" 2>/dev/null || bad "keygen as $UB"
# RATES: extra [broker] lines (empty: the defaults)
write_policy() {
	cat > "$R/etc/policy.ini" <<EOF
[broker]
endpoint = $S
audit_log = $R/log/audit.log
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub
io_timeout_ms = 3000
$1

$(cat "$R/a.block")

$(cat "$R/b.block")

[rule:mine]
users = $UA
kinds = symlink
link_under = %HOME%/links, %HOME%/many
target_under = %HOME%
action = allow
EOF
	chmod 0644 "$R/etc/policy.ini"
}
write_policy "requests_per_sec = 2
requests_burst = 3"
"$LBD" run --config "$R/etc/policy.ini" --foreground 2> "$R/daemon.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.05; done
if [ ! -S "$S" ]; then
	echo "FAIL: the broker did not start:"
	cat "$R/daemon.log"
	exit 1
fi
KU=$H/.config/linkbroker/key

# --- 1. one connection: allowed, over the rate, malformed, denied ---
# Burst 3: the first three are heard, the next three are over the rate;
# 1.2 s later 2 tokens (2.4): two heard, four busy; 1.2 s later two heard.
out=$(as "$RAW" "$S" "$KU" sequence "ADMAAD.MADAAM.AD" "$H/links" "$H/x" 2>&1)
rc=$?
echo "$out"
expected="1 A: created
2 D: denied
3 M: malformed
4 A: busy
5 A: busy
6 D: busy
7 M: malformed
8 A: created
9 D: busy
10 A: busy
11 A: busy
12 M: busy
13 A: created
14 D: denied"
check "every answer in request order, for its request, signed or busy (exit $rc)" test "$rc" -eq 0
got=$(sed 's/ retry [0-9]* ms$//' <<<"$out")
check "each answer says what became of its request, in order" test "$got" = "$expected"
retry=$(sed -n 's/^4 A: busy retry \([0-9]*\) ms$/\1/p' <<<"$out")
check "a busy answer says how long to wait (${retry:-none} ms, at most 500 at 2 a second)" \
	test "${retry:-0}" -ge 1 -a "${retry:-0}" -le 500
n=$(ls "$H/links" | wc -l)
check "exactly the three allowed links were made ($n)" test "$n" -eq 3
n=$(grep -c '"event":"create"' "$R/log/audit.log")
check "busy refusals are not audited: 5 decisions (3 created, 2 denied), got $n" test "$n" -eq 5

# --- 2. one request over the rate: the client waits and succeeds ---
sleep 2
for i in 1 2 3; do as "$LB" "links/p$i" "$H/x" > /dev/null 2>&1; done
t0=$(date +%s%N)
out=$(as "$LB" links/paced "$H/x" 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a request over the rate limit waits and succeeds (exit $rc, $ms ms): $out" \
	test "$rc" -eq 0 -a "$(readlink "$H/links/paced")" = "$H/x"
check "it waited for its token ($ms ms >= 200)" test "$ms" -ge 200

# --- 3. a batch of BATCH_N lines with the default limits ---
write_policy ""
kill -HUP "$DPID"; sleep 0.5
for i in $(seq "$BATCH_N"); do echo "many/l$i $H/x"; done > "$H/batch.txt"
chown "$UA:" "$H/batch.txt"
t0=$(date +%s)
as "$LB" batch batch.txt > "$R/batch.out" 2> "$R/batch.err"
rc=$?
dt=$(( $(date +%s) - t0 ))
echo "batch of $BATCH_N: exit $rc in $dt s; $(wc -l < "$R/batch.out") results; stderr: $(head -c 300 "$R/batch.err")"
check "the batch completes (exit $rc): $(head -c 300 "$R/batch.err")" test "$rc" -eq 0
n=$(ls "$H/many" | wc -l)
check "every line created ($n of $BATCH_N)" test "$n" -eq "$BATCH_N"
n=$(grep -c "^symbolic link created for many/l" "$R/batch.out")
check "one result per line ($n)" test "$n" -eq "$BATCH_N"
check "results in line order" cmp -s <(sed -n 's/^symbolic link created for many\/l\([0-9]*\) .*/\1/p' "$R/batch.out") <(seq "$BATCH_N")
check "within ${BATCH_MAX_S} s ($dt s; the rate alone needs $(( (BATCH_N - 10000) / 1000 )) s)" test "$dt" -le "$BATCH_MAX_S"
check "nothing printed as a failure" test ! -s "$R/batch.err"

# --- 4. a flood stamped at the end of the clock window ---
write_policy "requests_per_sec = 100000
requests_burst = 1000000"
kill -HUP "$DPID"; sleep 0.5
out=$(OFFSET=59 as_b "$RAW" "$S" "$R/home/$UB/.config/linkbroker/key" pipeline 70000 "$R/home/$UB/links/f" "$R/home/$UB/x" 2>&1)
echo "future-stamped flood by $UB: $out"
t0=$(date +%s%N)
out=$(as "$LB" links/after-future "$H/x" 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "after another user's flood stamped 59 s ahead, a request signed now is served (exit $rc, $ms ms): $out" \
	test "$rc" -eq 0 -a "$(readlink "$H/links/after-future")" = "$H/x"

check "the daemon is still running" kill -0 "$DPID"
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
out=$("$LBD" verify-audit "$R/log/audit.log" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit passes: $out" test "$rc" -eq 0

echo "order: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
