#!/usr/bin/env bash
# The audit log's fdatasync fails, end to end (issue 13, item 4): the log
# lies on a FUSE file system (tests/e2e/lb_failfs.py) whose fsync answers
# EIO while a flag file exists. With audit_sync = always (then batch, the
# default, where the 100 ms timer's sync is the one that fails):
#  - every request is refused with "the audit log cannot be written"
#    (exit 4), no link is made, the daemon keeps running (it used to stop,
#    exit 4) and says so once, not per request;
#  - once fsync works again the broker writes again what it appended since
#    the last good sync, syncs it, and serves by itself; verify-audit
#    passes, and the record of the request refused mid-sync is in the log.
#   audit_sync.sh LINKBROKERD LINKBROKER
# Exit 77 (ctest: skipped) with the reason when not root, or without FUSE
# or python3-fusepy (scripts/deps).
set -u
LBD=$1 LB=$2
for v in LBD LB; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
FS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lb_failfs.py
PY=/usr/bin/python3     # the system's: python3-fusepy is installed for it
FAIL_N=10

. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser fusermount
if [ ! -c /dev/fuse ]; then echo "SKIP: no /dev/fuse"; exit 77; fi
if ! "$PY" -c 'import fusepy' 2>/dev/null; then echo "SKIP: python3-fusepy is missing (scripts/deps)"; exit 77; fi

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=ls${sfx}a
R=$(mktemp -d /tmp/lbsync.XXXXXX)
chmod 0755 "$R"
DPID= FSPID=

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	getent passwd "$UA" >/dev/null && userdel "$UA" 2>/dev/null
	if [ -n "$FSPID" ]; then
		fusermount -u "$R/log" 2>/dev/null || umount -l "$R/log" 2>/dev/null
		kill "$FSPID" 2>/dev/null; wait "$FSPID" 2>/dev/null
	fi
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

mkdir -p "$R/back" "$R/log" "$R/etc"
chmod 0700 "$R/back" "$R/log"
"$PY" "$FS" "$R/back" "$R/log" "$R/fail-sync" 2> "$R/fs.log" &
FSPID=$!
for _ in $(seq 100); do mountpoint -q "$R/log" && break; sleep 0.05; done
if ! mountpoint -q "$R/log"; then
	echo "SKIP: cannot mount a FUSE file system here: $(cat "$R/fs.log")"
	exit 77
fi

getent passwd "$UA" >/dev/null && userdel "$UA"
mkdir -p "$R/home/$UA/links"
useradd -M -d "$R/home/$UA" -s /bin/sh -c "linkbroker e2e audit_sync" "$UA"
chown -R "$UA:" "$R/home/$UA"
chmod 0755 "$R/home/$UA"
as() {
	(cd "$R/home/$UA" && runuser -u "$UA" -- env HOME="$R/home/$UA" \
		LINKBROKER_ENDPOINT="$R/run/broker.sock" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
as "$LB" keygen > "$R/$UA.block" 2>/dev/null || bad "keygen"
cat > "$R/etc/policy.ini" <<EOF
[broker]
endpoint = $R/run/broker.sock
audit_log = $R/log/audit.log
audit_sync = always
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub

$(cat "$R/$UA.block")

[rule:links]
users = $UA
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
H=$R/home/$UA
LOG=$R/back/audit.log

out=$(as "$LB" links/first "$H/x" 2>&1)
check "a request before the fault succeeds: $out" test -L "$H/links/first"

# --- fsync fails: refused, said once, still running ---
: > "$R/fail-sync"
log0=$(wc -l < "$R/daemon.log")
refused=0 made=0 msg_ok=0
for i in $(seq "$FAIL_N"); do
	out=$(as "$LB" "links/bad$i" "$H/x" 2>&1); rc=$?
	[ "$rc" -eq 4 ] && refused=$((refused + 1))
	grep -q "audit log cannot be written" <<<"$out" && msg_ok=$((msg_ok + 1))
	{ [ -e "$H/links/bad$i" ] || [ -L "$H/links/bad$i" ]; } && made=$((made + 1))
	last=$out
	sleep 0.2
done
echo "fdatasync failing: $refused of $FAIL_N refused with exit 4; last answer: $last"
check "every request is refused with exit 4 while fdatasync fails ($refused of $FAIL_N)" \
	test "$refused" -eq "$FAIL_N"
check "the refusal says the audit log cannot be written ($msg_ok of $FAIL_N)" test "$msg_ok" -eq "$FAIL_N"
check "no link is made without a durable record ($made made)" test "$made" -eq 0
check "the daemon is still running (it used to stop on a failed fdatasync)" kill -0 "$DPID"
new=$(( $(wc -l < "$R/daemon.log") - log0 ))
echo "daemon log while fdatasync fails: $new lines:"
tail -n "$new" "$R/daemon.log" | cut -c1-200
check "the daemon says so once, not per request ($new lines)" test "$new" -le 2
check "the daemon names the failing fdatasync" \
	bash -c "tail -n $new '$R/daemon.log' | grep -q 'audit log cannot be written (fdatasync'"

# --- fsync works again: repaired, served ---
rm -f "$R/fail-sync"
sleep 1.1   # a repair is tried at most once a second
out=$(as "$LB" links/resumed "$H/x" 2>&1); rc=$?
check "a request once fdatasync works again succeeds (exit $rc): $out" test "$rc" -eq 0 -a -L "$H/links/resumed"
check "the daemon says the log is writable again" grep -q "audit log can be written again" "$R/daemon.log"
check "the decision whose sync failed is in the log (as after a crash)" grep -q '"link":"[^"]*links/bad1"' "$LOG"
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
out=$("$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit passes after the failed syncs: $out" test "$rc" -eq 0

# --- audit_sync = batch (the default): the 100 ms timer's sync fails ---
sed -i 's/^audit_sync = always$/audit_sync = batch/' "$R/etc/policy.ini"
"$LBD" run --config "$R/etc/policy.ini" --foreground 2> "$R/daemon2.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$R/run/broker.sock" ] && grep -q started "$R/daemon2.log" && break; sleep 0.05; done
: > "$R/fail-sync"
# Answered once written (batch), before the timer's sync, which fails.
out=$(as "$LB" links/batch-before "$H/x" 2>&1)
check "batch: a request written before the failed sync is answered: $out" test -L "$H/links/batch-before"
sleep 0.5
out=$(as "$LB" links/batch-bad "$H/x" 2>&1); rc=$?
check "batch: after the timer's failed sync, requests are refused (exit $rc): $out" \
	test "$rc" -eq 4 -a ! -L "$H/links/batch-bad"
check "batch: the daemon is still running" kill -0 "$DPID"
rm -f "$R/fail-sync"
sleep 1.1
out=$(as "$LB" links/batch-after "$H/x" 2>&1); rc=$?
check "batch: served again once fdatasync works (exit $rc): $out" test "$rc" -eq 0 -a -L "$H/links/batch-after"
check "batch: the record answered before the failed sync was written again, kept" \
	grep -q '"link":"[^"]*links/batch-before"' "$LOG"
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
out=$("$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "batch: verify-audit passes: $out" test "$rc" -eq 0

echo "audit_sync: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
