#!/usr/bin/env bash
# Policy-file attacks and reload storms, end to end (issue 13, item 6): the
# real POSIX daemon as root, a real unprivileged user. The policy is
# replaced by a symlink to a file the user owns, by a root-owned file the
# user can point at through a symlink the user owns, its directory made
# writable by the user, replaced by a FIFO and by a directory: each reload
# is refused with its reason, logged once however many SIGHUPs follow, and
# requests keep being decided by the last good policy. Then 1,000 SIGHUPs
# (kill -HUP in a loop) while the user runs a batch of links: every line
# answered, every verdict right, one audit record each.
#   policy_attacks.sh LINKBROKERD LINKBROKER
# Exit 77 (ctest: skipped) with the reason when not root or without useradd.
set -u
LBD=$1 LB=$2
for v in LBD LB; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser mkfifo

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lp${sfx}a
R=$(mktemp -d /tmp/lbpol.XXXXXX)
chmod 0755 "$R"
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	getent passwd "$UA" >/dev/null && userdel "$UA" 2>/dev/null
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

getent passwd "$UA" >/dev/null && userdel "$UA"
H=$R/home/$UA
mkdir -p "$H/links" "$R/etc" "$R/evil"
useradd -M -d "$H" -s /bin/sh -c "linkbroker e2e policy" "$UA"
chown -R "$UA:" "$H"
chmod 0755 "$H"
as() {
	local u=$1
	shift
	(cd "$R/home/$u" && runuser -u "$u" -- env HOME="$R/home/$u" \
		LINKBROKER_ENDPOINT="$R/run/broker.sock" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
as "$UA" "$LB" keygen > "$R/$UA.block" 2>/dev/null || bad "keygen"

# policy TARGET_UNDER: the good one allows targets in the home only; an
# attacker's would allow them anywhere.
policy() {
	cat <<EOF
[broker]
endpoint = $R/run/broker.sock
audit_log = $R/log/audit.log
audit_sync = always
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub
io_timeout_ms = 2000

$(cat "$R/$UA.block")

[rule:links]
users = $UA
kinds = symlink
link_under = %HOME%/links
target_under = $1
action = allow
EOF
}
policy %HOME% > "$R/etc/policy.ini"
chmod 0644 "$R/etc/policy.ini"
policy '*' > "$R/evil/policy.ini"              # root's, in a root-only dir
chmod 0644 "$R/evil/policy.ini"
policy '*' > "$H/evil.ini" && chown "$UA:" "$H/evil.ini"
# The daemon is pointed at the policy through a root-owned symlink, as
# /etc/linkbroker -> /opt/... would be.
ln -s "$R/etc" "$R/conf"
CONF=$R/conf/policy.ini

"$LBD" run --config "$CONF" --foreground 2> "$R/daemon.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$R/run/broker.sock" ] && break; sleep 0.05; done
if [ ! -S "$R/run/broker.sock" ]; then
	echo "FAIL: the broker did not start:"
	cat "$R/daemon.log"
	exit 1
fi
LOG=$R/log/audit.log
n=0
# still_old WHAT: the last good policy decides: a target in the home is
# allowed, /etc/passwd is not.
still_old() {
	n=$((n + 1))
	out=$(as "$UA" "$LB" "links/ok$n" "$H/t" 2>&1)
	check "$1: a target in the home is still allowed ($out)" test $? -eq 0 -a -L "$H/links/ok$n"
	out=$(as "$UA" "$LB" "links/no$n" /etc/passwd 2>&1)
	rc=$?
	check "$1: /etc/passwd is still refused (exit $rc: $out)" test "$rc" -eq 1 -a ! -L "$H/links/no$n"
}
# hups N: N SIGHUPs, each let through on its own (not coalesced).
hups() {
	local i
	for ((i = 0; i < $1; i++)); do kill -HUP "$DPID"; sleep 0.02; done
	sleep 0.3
}
# refused_once WHAT PHRASE: after 20 SIGHUPs the reload was refused with
# PHRASE, logged exactly once, and the old policy decides.
refused_once() {
	local c0 c
	c0=$(grep -c "reload (SIGHUP) failed.*$2" "$R/daemon.log")
	hups 20
	c=$(grep -c "reload (SIGHUP) failed.*$2" "$R/daemon.log")
	check "$1: refused with its reason, logged once for 20 SIGHUPs (got $((c - c0)))" test $((c - c0)) -eq 1
	check "$1: the daemon runs on" kill -0 "$DPID"
	still_old "$1"
}
reset_policy() {
	rm -rf "$R/etc/policy.ini"
	policy %HOME% > "$R/etc/policy.ini"
	chmod 0644 "$R/etc/policy.ini"
	rm -f "$R/conf" && ln -s "$R/etc" "$R/conf"
	chmod 0755 "$R/etc" && chown root: "$R/etc"
	kill -HUP "$DPID"
	sleep 0.3
}

still_old "start"

# 1. The policy replaced by a symlink to a file the user owns.
ln -sf "$H/evil.ini" "$R/etc/policy.ini"
refused_once "symlink to the user's file" "owned by uid $(id -u "$UA")"
reset_policy

# 2. A symlink on the way that the user owns, to a root-owned policy in a
#    root-only directory: realpath's file and directories all pass, but the
#    user could point it anywhere.
ln -sfn "$R/evil" "$R/conf.new" && chown -h "$UA" "$R/conf.new" && mv -T "$R/conf.new" "$R/conf"
refused_once "a symlink on the way owned by the user" "is a symbolic link owned by uid $(id -u "$UA")"
reset_policy

# 3. The policy's directory made writable by the user.
chown "$UA" "$R/etc"
refused_once "its directory owned by the user" "directory $R/etc is owned by uid"
chown root "$R/etc" && chmod 0777 "$R/etc"
refused_once "its directory world-writable" "with mode 0777"
reset_policy

# 4. Unreadable: a FIFO (a reload must not wait for a writer), a directory.
rm -f "$R/etc/policy.ini" && mkfifo -m 0644 "$R/etc/policy.ini"
refused_once "a FIFO in its place" "not a regular file"
reset_policy
rm -f "$R/etc/policy.ini" && mkdir -m 0755 "$R/etc/policy.ini"
refused_once "a directory in its place" "not a regular file"
reset_policy

# 5. A good new policy is taken: the refusals' count is reported once.
grep -q "policy reloaded (SIGHUP)" "$R/daemon.log" && ok || bad "a good policy is reloaded after the attacks"

# 6. 1,000 SIGHUPs while a batch of links runs: every line answered,
#    every verdict as the policy says.
N=400
: > "$R/batch.txt"
for ((i = 0; i < N; i++)); do
	if ((i % 2)); then echo "links/s$i /etc/passwd"; else echo "links/s$i $H/t"; fi
done >> "$R/batch.txt"
chmod 0644 "$R/batch.txt"
log0=$(wc -l < "$LOG")
( for ((i = 0; i < 1000; i++)); do kill -HUP "$DPID" 2>/dev/null || break; done ) &
HPID=$!
out=$(as "$UA" "$LB" batch "$R/batch.txt" 2>&1)
rc=$?
wait "$HPID"
made=0 refused=0 wrong=0
for ((i = 0; i < N; i++)); do
	if ((i % 2)); then
		[ -L "$H/links/s$i" ] && wrong=$((wrong + 1)) || refused=$((refused + 1))
	else
		[ -L "$H/links/s$i" ] && made=$((made + 1)) || wrong=$((wrong + 1))
	fi
done
check "storm: every allowed line made ($made of $((N / 2)))" test "$made" -eq $((N / 2))
check "storm: every denied line refused ($refused of $((N / 2)))" test "$refused" -eq $((N / 2))
check "storm: no verdict wrong ($wrong)" test "$wrong" -eq 0
# one decision record per line, and one "batch" record (the signed batch)
# per message of up to 256 lines (and a "made" record per link made)
recs=$(tail -n +$((log0 + 1)) "$LOG" | grep -v '"event":"made",' | grep -vc '"event":"batch"')
batches=$(tail -n +$((log0 + 1)) "$LOG" | grep -c '"event":"batch"')
check "storm: one audit record per line ($recs for $N)" test "$recs" -eq "$N"
check "storm: one batch record per 256 lines ($batches for $N)" \
	test "$batches" -eq $(( (N + 255) / 256 ))
check "storm: batch exit 1 (some denied), got $rc" test "$rc" -eq 1
check "storm: the daemon runs on" kill -0 "$DPID"
still_old "after the storm"
out=$("$LBD" verify-audit "$LOG" 2>&1)
check "the audit log verifies: $out" test $? -eq 0

echo "policy attacks e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
