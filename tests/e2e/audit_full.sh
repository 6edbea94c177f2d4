#!/usr/bin/env bash
# The audit log on a small real tmpfs, end to end (issue 13, items 4 and 7):
#  1. one enrolled user floods refused requests whose paths are long runs of
#     control bytes (each byte escaped six-fold in JSON): the log grows by at
#     most that identity's audit budget (LB_AUDIT_BUDGET_* in
#     service/lb_broker.h) and the file system does not fill;
#  2. a filler file fills the file system: every request is refused with
#     "the audit log cannot be written" (exit 4), no link is made, the
#     daemon says so once (not once per request), and keeps running;
#  3. the filler is deleted: requests succeed again by themselves, and
#     verify-audit passes on the log (no torn record).
#   audit_full.sh LINKBROKERD LINKBROKER LB_E2E_CLIENT
# Exit 77 (ctest: skipped) with the reason when not root, without useradd
# or when a tmpfs cannot be mounted here.
set -u
LBD=$1 LB=$2 RAW=$3
for v in LBD LB RAW; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
TMPFS_KB=2048          # the log's file system
FLOOD_N=300            # hostile refused requests (~64 KiB each)
BUDGET=$((256 * 1024)) # LB_AUDIT_BUDGET_BYTES: bytes of refused records per identity a minute
REC_MAX=8192           # one record more than the budget may be written (it is checked before)
FULL_N=20              # requests refused while the file system is full

. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser mount umount dd

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lf${sfx}a UX=lf${sfx}x
R=$(mktemp -d /tmp/lbfull.XXXXXX)
chmod 0755 "$R"
DPID= MOUNTED=

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	for u in "$UA" "$UX"; do
		getent passwd "$u" >/dev/null && userdel "$u" 2>/dev/null
	done
	[ -n "${LB_E2E_KEEP:-}" ] && cp "$R/log/audit.log" "$R/audit.log.kept" 2>/dev/null
	[ -n "$MOUNTED" ] && umount "$R/log" 2>/dev/null
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

mkdir -p "$R/log" "$R/etc"
if ! mount -t tmpfs -o "size=${TMPFS_KB}k,mode=0700" lbfull "$R/log" 2>"$R/mount.err"; then
	echo "SKIP: cannot mount a tmpfs here: $(cat "$R/mount.err")"
	exit 77
fi
MOUNTED=1

for u in "$UA" "$UX"; do
	getent passwd "$u" >/dev/null && userdel "$u"
	mkdir -p "$R/home/$u/links"
	useradd -M -d "$R/home/$u" -s /bin/sh -c "linkbroker e2e audit_full" "$u"
	chown -R "$u:" "$R/home/$u"
	chmod 0755 "$R/home/$u"
done
as() {
	local u=$1
	shift
	(cd "$R/home/$u" && runuser -u "$u" -- env HOME="$R/home/$u" \
		LINKBROKER_ENDPOINT="$R/run/broker.sock" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
for u in "$UA" "$UX"; do
	as "$u" "$LB" keygen > "$R/$u.block" 2>/dev/null || bad "keygen as $u"
done
# Both enrolled, both with a rule: the hostile user's requests are refused
# for their paths (control bytes), after its signature was checked.
cat > "$R/etc/policy.ini" <<EOF
[broker]
endpoint = $R/run/broker.sock
audit_log = $R/log/audit.log
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub

$(cat "$R/$UA.block")

$(cat "$R/$UX.block")

[rule:links]
users = $UA, $UX
kinds = symlink
link_under = %HOME%/links
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
S=$R/run/broker.sock
HA=$R/home/$UA HX=$R/home/$UX
LOG=$R/log/audit.log
size() { stat -c %s "$LOG"; }

out=$(as "$UA" "$LB" links/first "$HA/x" 2>&1)
check "a request before anything happens succeeds: $out" test -L "$HA/links/first"

# --- 1. one identity's refused requests stay within its budget ---
ctl=$(head -c 32000 /dev/zero | tr '\0' '\001')
s0=$(size)
out=$(as "$UX" "$RAW" "$S" "$HX/.config/linkbroker/key" pipeline 1 "$HX/links/$ctl" "$HX/$ctl" 2>&1)
s1=$(size)
echo "one hostile refused request: $((s1 - s0)) bytes of audit log"
check "a hostile request is answered: $out" grep -q "answered 1 of 1" <<<"$out"
check "a hostile request's record is compact ($((s1 - s0)) bytes, at most $REC_MAX)" \
	test $((s1 - s0)) -le "$REC_MAX"
t0=$(date +%s)
out=$(as "$UX" "$RAW" "$S" "$HX/.config/linkbroker/key" pipeline "$FLOOD_N" "$HX/links/$ctl" "$HX/$ctl" 2>&1)
t1=$(date +%s)
s2=$(size)
echo "flood of $FLOOD_N hostile requests in $((t1 - t0)) s: $((s2 - s1)) bytes of audit log ($out)"
# A window is a minute: the flood may straddle two of them.
win=$(( (t1 / 60) - (t0 / 60) + 1 ))
lim=$(( win * (BUDGET + REC_MAX) + REC_MAX ))
check "the flood's records stay within the identity's budget ($((s2 - s1)) <= $lim bytes)" \
	test $((s2 - s1)) -le "$lim"
out=$(as "$UA" "$LB" links/after-flood "$HA/x" 2>&1)
check "another user is served after the flood: $out" test -L "$HA/links/after-flood"

# --- 2. the file system fills: everyone refused, cleanly, said once ---
log0=$(wc -l < "$R/daemon.log")
dd if=/dev/zero of="$R/log/filler" bs=4k 2>/dev/null
# The log's last page may still hold a record or two: use it up.
i=0
while [ $i -lt 40 ]; do
	i=$((i + 1))
	as "$UA" "$LB" "links/slack$i" "$HA/x" >/dev/null 2>&1 || break
done
log1=$(wc -l < "$R/daemon.log")
sz_full=$(size)
refused=0 made=0 msg_ok=0
for i in $(seq "$FULL_N"); do
	out=$(as "$UA" "$LB" "links/full$i" "$HA/x" 2>&1); rc=$?
	[ "$rc" -eq 4 ] && refused=$((refused + 1))
	grep -q "audit log cannot be written" <<<"$out" && msg_ok=$((msg_ok + 1))
	[ -e "$HA/links/full$i" ] || [ -L "$HA/links/full$i" ] && made=$((made + 1))
	last=$out
done
echo "file system full: $refused of $FULL_N refused with exit 4; last answer: $last"
check "every request is refused with exit 4 while the log cannot be written ($refused of $FULL_N)" \
	test "$refused" -eq "$FULL_N"
check "the refusal says the audit log cannot be written ($msg_ok of $FULL_N): $last" \
	test "$msg_ok" -eq "$FULL_N"
check "no link is made without its record ($made made)" test "$made" -eq 0
check "the log did not change while full ($(size) bytes, was $sz_full)" test "$(size)" -eq "$sz_full"
# Lines since the file system filled, less those of requests that still fit.
new=$(( $(wc -l < "$R/daemon.log") - log0 - $(tail -n +$((log0 + 1)) "$R/daemon.log" | grep -c 'create allowed') ))
echo "daemon log while full: $new lines for $FULL_N refused requests (and the one that found it full):"
tail -n "$new" "$R/daemon.log" | cut -c1-200
check "the daemon says so once, not per request ($new lines)" test "$new" -le 2
check "the daemon names the condition" bash -c "tail -n $new '$R/daemon.log' | grep -q 'audit log cannot be written'"
check "the daemon is still running" kill -0 "$DPID"
out=$("$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit passes on the full log (no torn record): $out" test "$rc" -eq 0

# --- 3. space freed: it resumes by itself ---
rm -f "$R/log/filler"
out=$(as "$UA" "$LB" links/resumed "$HA/x" 2>&1); rc=$?
check "a request after space is freed succeeds (exit $rc): $out" test "$rc" -eq 0 -a -L "$HA/links/resumed"
check "the daemon says the log is writable again" grep -q "audit log can be written again" "$R/daemon.log"
check "the resumed request is in the log" grep -q "links/resumed" "$LOG"
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
out=$("$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit passes after the full disk: $out" test "$rc" -eq 0
# The hostile requests past the budget are counted in a summary record
# (written at the window's end, here at stop): none is lost.
recs=$(grep -c "\"event\":\"check\",\"verdict\":[^,]*,\"user\":\"$UX\"" "$LOG")
held=$(grep "\"event\":\"summary\".*\"user\":\"$UX\"" "$LOG" |
	sed -n 's/.*"reason":"\([0-9]*\) refused requests.*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
echo "hostile requests: $recs recorded one by one, $held counted in summary records"
check "every hostile request is recorded or counted ($recs + $held = $((FLOOD_N + 1)))" \
	test $((recs + held)) -eq $((FLOOD_N + 1))

echo "audit_full: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
