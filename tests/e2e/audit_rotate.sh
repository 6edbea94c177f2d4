#!/usr/bin/env bash
# The audit log's life under the running daemon (docs/audit.md, "Rotation"):
# `linkbrokerd rotate` and the real logrotate with packaging/logrotate.d/
# linkbroker (create mode) while a client creates links; verify-audit
# across the rotated set, and a missing, reordered or newest-missing set
# reported with its own exit code; copytruncate noticed and the chain kept;
# the log deleted under the daemon (never "created" into a deleted file);
# `mv audit.log audit.log.1` and a restart: the chain goes on (not from
# zeros) and a request captured before is refused as a replay.
#   audit_rotate.sh LINKBROKERD LINKBROKER LB_E2E_CLIENT
# Exit 77 (ctest: skipped) with the reason when not root or a tool is missing.
set -u
LBD=$1 LB=$2 RAW=$3
# ok, bad, check, lb_e2e_need_root
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
lb_e2e_need_root useradd userdel runuser logrotate python3

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lb${sfx}r
R=$(mktemp -d /tmp/lbrot.XXXXXX)
chmod 0755 "$R"
DPID= CPID= F1= F2=

cleanup() {
	for p in $F1 $F2; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	getent passwd "$UA" >/dev/null && userdel "$UA" 2>/dev/null
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

getent passwd "$UA" >/dev/null && userdel "$UA"
mkdir -p "$R/home" "$R/etc" "$R/srv"
useradd -M -d "$R/home/$UA" -s /bin/sh -c "linkbroker rotate test" "$UA"
H=$R/home/$UA
mkdir -p "$H/links"
chown -R "$UA:" "$H"
chmod 0755 "$H"
echo shared > "$R/srv/file"
S=$R/run/broker.sock
LOG=$R/log/audit.log

as() {
	local u=$1
	shift
	(cd "$R/home/$u" && runuser -u "$u" -- env HOME="$R/home/$u" \
		LINKBROKER_ENDPOINT="$S" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}

as "$UA" "$LB" keygen > "$R/a.block" 2>/dev/null || bad "keygen as $UA"
KA=$H/.config/linkbroker/key
cat > "$R/etc/policy.ini" <<EOF
[broker]
endpoint = $S
audit_log = $LOG
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub
io_timeout_ms = 2000

$(cat "$R/a.block")

[rule:links]
users = $UA
kinds = symlink
link_under = %HOME%/links
target_under = $R/srv, %HOME%
action = allow
EOF
chmod 0644 "$R/etc/policy.ini"

start() {
	"$LBD" run --config "$R/etc/policy.ini" --foreground 2>> "$R/daemon.log" &
	DPID=$!
	for _ in $(seq 200); do
		if [ -S "$S" ] && as "$UA" "$LB" status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}
stop() {
	kill "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}
# verify FILE...: sets vrc, vout (stdout and stderr)
verify() {
	vout=$("$LBD" verify-audit "$@" 2>&1)
	vrc=$?
}
# first / last FILE: the first / last line's field FIELD
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

start || { echo "FAIL: the broker did not start:"; cat "$R/daemon.log"; exit 1; }

# `linkbrokerd audit --follow` through everything below (issue 16, item 3):
# one verifying and printing JSON lines, one printing the table of allowed
# creates; both are compared with the rotated set at the end.
"$LBD" audit "$LOG" --follow --json --verify --config "$R/etc/policy.ini" \
	> "$R/follow.json" 2> "$R/follow.err" &
F1=$!
"$LBD" audit "$LOG" --follow --event create --verdict allowed > "$R/follow.table" 2>&1 &
F2=$!
# wait_lines FILE N: until FILE has N lines (5 s at most)
wait_lines() {
	for _ in $(seq 100); do
		[ "$(wc -l < "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- rotation while a client creates links: `linkbrokerd rotate`, then the
# real logrotate with the shipped file (paths adapted) twice ---
sed -e "s|/var/log/linkbroker/audit.log|$LOG|" \
    -e "s|/usr/sbin/linkbrokerd rotate --reopen|$LBD rotate --reopen --config $R/etc/policy.ini|" \
    "$SRC/packaging/logrotate.d/linkbroker" > "$R/logrotate.conf"
grep -q "create 0600 root root" "$R/logrotate.conf" && ! grep -q '^[^#]*copytruncate' "$R/logrotate.conf" &&
	ok || bad "the shipped logrotate file uses create mode, not copytruncate"
cat > "$R/client.sh" <<EOF
i=0
while [ ! -e "$R/stop" ]; do
	i=\$((i + 1))
	for j in 1 2 3 4 5 6 7 8 9 10; do echo "links/c\${i}_\$j $R/srv/file"; done |
		"$LB" batch - >> "$H/client.out" 2>> "$H/client.err"
done
EOF
chmod 0644 "$R/client.sh"
as "$UA" sh "$R/client.sh" &
CPID=$!
sleep 0.5
out=$("$LBD" rotate --config "$R/etc/policy.ini" 2>&1); rc=$?
check "linkbrokerd rotate: exit 0 ($rc: $out)" test "$rc" -eq 0
check "linkbrokerd rotate made $LOG.1" test -s "$LOG.1"
out=$("$LBD" rotate --config "$R/etc/policy.ini" 2>&1); rc=$?
{ [ "$rc" -ne 0 ] && grep -q "exists" <<<"$out"; } && ok || bad "a second rotate never renames over $LOG.1: $rc $out"
for n in 1 2; do
	sleep 0.4
	out=$(logrotate -f -s "$R/logrotate.state" "$R/logrotate.conf" 2>&1); rc=$?
	check "logrotate run $n: exit 0 ($out)" test "$rc" -eq 0
done
sleep 0.4
touch "$R/stop"
wait "$CPID" 2>/dev/null
CPID=
check "four files after three rotations" test -s "$LOG.3" -a -s "$LOG.2" -a -s "$LOG.1" -a -s "$LOG"
created=$(grep -c "symbolic link created" "$H/client.out")
check "the client created links throughout ($created)" test "$created" -gt 20
check "no client error during rotation ($(head -c 300 "$H/client.err"))" test ! -s "$H/client.err"
allowed=$(cat "$LOG.3" "$LOG.2" "$LOG.1" "$LOG" | grep -c '"event":"create","verdict":"allowed"')
check "every created link has its record in the set ($allowed records, $created created)" test "$allowed" -ge "$created"
for f in "$LOG.3" "$LOG.2" "$LOG.1"; do
	check "$f ends with a rotate record" test "$(field "$(tail -n 1 "$f")" event)" = rotate
done
for f in "$LOG.2" "$LOG.1" "$LOG"; do
	check "$f starts with a reopen record" test "$(field "$(head -n 1 "$f")" event)" = reopen
done
prev_last=$(field "$(tail -n 1 "$LOG.1")" hash)
check "$LOG's first record chains to $LOG.1's last" test "$(field "$(head -n 1 "$LOG")" prev)" = "$prev_last"
verify "$LOG" "$LOG.1" "$LOG.2" "$LOG.3" --config "$R/etc/policy.ini"
{ [ "$vrc" -eq 0 ] && grep -q "4 files: intact, one chain" <<<"$vout"; } && ok || bad "verify-audit across the set: $vrc $vout"
# shellcheck disable=SC2086
verify $LOG*
check "verify-audit with a shell glob ($vrc)" test "$vrc" -eq 0

# --- linkbrokerd audit over the set, given in any order (issue 16, item 3) ---
all=$(cat "$LOG.3" "$LOG.2" "$LOG.1" "$LOG")
n_all=$(grep -c . <<<"$all")
wait_lines "$R/follow.json" "$n_all"
check "audit --follow --json --verify, running through three rotations: still running, silent on stderr ($(head -c 300 "$R/follow.err"))" \
	kill -0 "$F1"
check "it printed the whole set, in order, byte for byte ($(wc -l < "$R/follow.json") of $n_all lines)" \
	test "$(cat "$R/follow.json")" = "$all"
wait_lines "$R/follow.table" "$allowed"
check "audit --follow --event create --verdict allowed: one table line per allowed create ($(wc -l < "$R/follow.table") of $allowed)" \
	test "$(grep -c '  allowed  create  ' "$R/follow.table")" -eq "$allowed" -a "$(wc -l < "$R/follow.table")" -eq "$allowed"
kill "$F1" "$F2"; wait "$F1" "$F2" 2>/dev/null; F1= F2=
# Records forged as the log is written: copies of the newest file, each
# followed with --verify, gain the next record with a changed verdict (its
# seq and prev right, its hash not), or the last record once more.
forge_next() { python3 -c 'import json,sys; l=json.loads(sys.argv[1]); l["seq"]+=1; l["prev"]=l["hash"]; l["verdict"]="denied"; print(json.dumps(l,separators=(",",":")))' "$1"; }
for how in next again; do
	cp "$LOG" "$R/live.log"
	"$LBD" audit "$R/live.log" --follow --json --verify > "$R/live.out" 2> "$R/live.err" &
	F1=$!
	wait_lines "$R/live.out" "$(wc -l < "$R/live.log")"
	if [ "$how" = next ]; then forge_next "$(tail -n 1 "$LOG")"; else tail -n 1 "$LOG"; fi >> "$R/live.log"
	for _ in $(seq 100); do kill -0 "$F1" 2>/dev/null || break; sleep 0.05; done
	wait "$F1"; rc=$?; F1=
	check "audit --follow --verify stops on a forged line ($how): exit 1 ($rc)" test "$rc" -eq 1
	want="the hash does not match"; [ "$how" = next ] || want="a record already read came again"
	check "and says why ($(head -c 200 "$R/live.err"))" grep -q "does not verify: .*$want" "$R/live.err"
	check "the forged line was not printed" test "$(wc -l < "$R/live.out")" -eq "$(wc -l < "$LOG")"
done
out=$("$LBD" audit "$LOG" "$LOG.2" "$LOG.3" "$LOG.1" --json 2>&1); rc=$?
check "audit --json over the set, names out of order: exit 0 ($rc)" test "$rc" -eq 0
check "audit --json with no filter prints the set's lines, in chain order, byte for byte" \
	test "$out" = "$all"
out=$("$LBD" audit "$LOG.1" "$LOG" "$LOG.3" "$LOG.2" --json --verify --config "$R/etc/policy.ini" \
	--user "$UA" --event create --verdict allowed --kind symlink 2>&1); rc=$?
n=$(grep -c . <<<"$out")
check "audit --verify --user --event --verdict --kind: exit 0, the $allowed allowed creates ($rc, $n lines)" \
	test "$rc" -eq 0 -a "$n" -eq "$allowed"
check "each of those lines is the user's allowed symlink create" \
	test "$(grep -c "\"event\":\"create\",\"verdict\":\"allowed\",\"user\":\"$UA\"" <<<"$out")" -eq "$n"
table=$("$LBD" audit "$LOG.3" "$LOG.2" "$LOG.1" "$LOG" --event create --verdict allowed 2>"$R/audit.err")
check "the table has one line per allowed create ($(grep -c . <<<"$table") of $allowed)" \
	test "$(grep -c . <<<"$table")" -eq "$allowed"
rec=$(grep -m1 '"event":"create","verdict":"allowed"' <<<"$all")
want="$(field "$rec" time)  allowed  create  $UA  symlink  $(field "$rec" link) -> $(field "$rec" target)  rule links"
line1=$(head -n 1 <<<"$table")
check "its first line: time, verdict, event, user, kind, link -> target, rule ($line1)" \
	test "${line1:0:${#want}}" = "$want"
made=$(grep -m1 '"event":"made"' <<<"$all")
line=$("$LBD" audit "$LOG.3" "$LOG.2" "$LOG.1" "$LOG" --event made 2>/dev/null | head -n 1)
check "a made record's table line ends with the link's identity [file $(field "$made" file)] ($line)" \
	test "${line% \[file *}" != "$line" -a "${line##* \[file }" = "$(field "$made" file)]"
t0=$(field "$rec" time)
"$LBD" audit "$LOG.3" "$LOG.2" "$LOG.1" "$LOG" --json --until "$t0" > "$R/until.out" 2>"$R/audit.err"
check "--until TIME is inclusive and stops there (all lines at or before $t0, the first create among them)" \
	python3 -c 'import json,sys; t=sys.argv[2]; ls=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if any(l["event"] == "create" for l in ls) and all(l["time"] <= t for l in ls) else 1)' "$R/until.out" "$t0"
out=$("$LBD" audit "$LOG" --since 2999-01-01 --json 2>&1); rc=$?
check "nothing after --since in the future: exit 0, empty ($rc, '$out')" test "$rc" -eq 0 -a -z "$out"
cp "$LOG.2" "$R/tampered.2"
sed -i '2s/"verdict":"allowed"/"verdict":"denied"/' "$R/tampered.2"
out=$("$LBD" audit "$LOG.3" "$R/tampered.2" "$LOG.1" "$LOG" --verify 2>"$R/audit.err"); rc=$?
check "audit --verify on a changed record: exit 1, nothing listed ($rc)" test "$rc" -eq 1 -a -z "$out"
check "and says why ($(head -c 200 "$R/audit.err"))" grep -q "does not verify" "$R/audit.err"
for bad_args in "--kind pipe" "--verdict maybe" "--since yesterday" "--until 2026-02-30" "--config $R/etc/policy.ini" "--bogus"; do
	# shellcheck disable=SC2086
	"$LBD" audit "$LOG" $bad_args >/dev/null 2>"$R/audit.err"; rc=$?
	check "audit $bad_args: usage, exit 2 ($rc: $(head -n 1 "$R/audit.err"))" test "$rc" -eq 2
done

# --- a set with a file missing, reordered, or without its newest ---
verify "$LOG.3" "$LOG.1" "$LOG"
{ [ "$vrc" -eq 3 ] && grep -q "a file is missing between $LOG.3 (ends at seq" <<<"$vout"; } && ok || bad "missing middle file: $vrc $vout"
verify "$LOG.3" "$LOG.2" "$LOG.1"
{ [ "$vrc" -eq 3 ] && grep -q "the newest file" <<<"$vout"; } && ok || bad "missing newest file: $vrc $vout"
mkdir "$R/swap"
cp "$LOG.3" "$R/swap/audit.log.3"; cp "$LOG.2" "$R/swap/audit.log.1"
cp "$LOG.1" "$R/swap/audit.log.2"; cp "$LOG" "$R/swap/audit.log"
verify "$R/swap/audit.log" "$R/swap/audit.log.1" "$R/swap/audit.log.2" "$R/swap/audit.log.3"
{ [ "$vrc" -eq 4 ] && grep -q "out of order" <<<"$vout"; } && ok || bad "renamed out of order: $vrc $vout"
verify "$LOG.2"
{ [ "$vrc" -eq 0 ] && grep -q "continuing an earlier file not given" <<<"$vout"; } && ok || bad "one rotated file alone: $vrc $vout"

# --- copytruncate under the daemon: noticed, said loudly, chain kept ---
mkdir "$R/ct"
mv "$LOG".[0-9] "$R/ct/"
last_seq=$(field "$(tail -n 1 "$LOG")" seq)
cat > "$R/logrotate-ct.conf" <<EOF
$LOG {
	rotate 2
	copytruncate
	nocompress
}
EOF
out=$(logrotate -f -s "$R/logrotate-ct.state" "$R/logrotate-ct.conf" 2>&1)
check "logrotate copytruncate ran ($out)" test -s "$LOG.1"
out=$(as "$UA" "$LB" links/after_ct "$R/srv/file" 2>&1); rc=$?
check "a link after copytruncate is created ($rc $out)" test "$rc" -eq 0
first=$(head -n 1 "$LOG")
check "after copytruncate the log starts with a reopen record" test "$(field "$first" event)" = reopen
check "and seq goes on from $last_seq (not from 1)" test "$(field "$first" seq)" -eq $((last_seq + 1))
grep -q "truncated under the broker" <<<"$(field "$first" reason)" && ok || bad "the reopen record says truncated: $first"
grep -q "shrank under the broker" "$R/daemon.log" && ok || bad "the daemon says so loudly (syslog/stderr)"
verify "$LOG.1" "$LOG"
check "verify-audit across the copy and the truncated log ($vrc $vout)" test "$vrc" -eq 0
rm -f "$LOG.1"

# --- the log deleted under the daemon: never "created" into a deleted file ---
last_seq=$(field "$(tail -n 1 "$LOG")" seq)
rm -f "$LOG"
out=$(as "$UA" "$LB" links/after_rm "$R/srv/file" 2>&1); rc=$?
check "a request after the log was deleted is answered ($rc $out)" test "$rc" -eq 0
check "a new log file exists" test -s "$LOG"
grep -q "\"link\":\"$H/links/after_rm\"" "$LOG" && ok || bad "the new file holds that request's record"
first=$(head -n 1 "$LOG")
check "the new file starts with a reopen record" test "$(field "$first" event)" = reopen
check "continuing seq $last_seq" test "$(field "$first" seq)" -eq $((last_seq + 1))
grep -q "deleted under the broker" "$R/daemon.log" && ok || bad "the daemon says the log was deleted"
verify "$LOG"
check "the new file verifies on its own ($vrc $vout)" test "$vrc" -eq 0

# --- mv audit.log audit.log.1 and a restart: chain and replay memory kept ---
captured=$(as "$UA" "$RAW" "$S" "$KA" emit symlink "$H/links/cap" "$H/x")
out=$(printf '%s' "$captured" | as "$UA" "$RAW" "$S" - raw)
grep -q "status 0 " <<<"$out" && ok || bad "captured request first sent: $out"
as "$UA" rm -f "$H/links/cap"
stop
last=$(tail -n 1 "$LOG")
mv "$LOG" "$LOG.1"
start || bad "the broker did not restart: $(tail -n 3 "$R/daemon.log")"
first=$(head -n 1 "$LOG")
check "after mv and restart the new log starts with a reopen record" test "$(field "$first" event)" = reopen
check "its seq follows the moved file's last" test "$(field "$first" seq)" -eq $(( $(field "$last" seq) + 1 ))
check "its prev is the moved file's last hash, not zeros" test "$(field "$first" prev)" = "$(field "$last" hash)"
out=$(printf '%s' "$captured" | as "$UA" "$RAW" "$S" - raw)
grep -q "status -71 " <<<"$out" && ok || bad "the captured request replayed after mv and restart: $out"
check "the replayed request made nothing" test ! -L "$H/links/cap"
verify "$LOG.1" "$LOG"
check "verify-audit across the moved and the new file ($vrc $vout)" test "$vrc" -eq 0

# --- rotated while running, restarted at once: requests from before the
# rotation (now in LOG.1) are still replays ---
mkdir "$R/mv"
mv "$LOG.1" "$R/mv/"
captured=$(as "$UA" "$RAW" "$S" "$KA" emit symlink "$H/links/cap2" "$H/x")
out=$(printf '%s' "$captured" | as "$UA" "$RAW" "$S" - raw)
grep -q "status 0 " <<<"$out" && ok || bad "second captured request first sent: $out"
as "$UA" rm -f "$H/links/cap2"
out=$("$LBD" rotate --config "$R/etc/policy.ini" 2>&1); rc=$?
check "rotate before the restart ($rc $out)" test "$rc" -eq 0
stop
start || bad "the broker did not restart: $(tail -n 3 "$R/daemon.log")"
out=$(printf '%s' "$captured" | as "$UA" "$RAW" "$S" - raw)
grep -q "status -71 " <<<"$out" && ok || bad "a request from before the rotation replayed after a restart: $out"
check "that replay made nothing" test ! -L "$H/links/cap2"
stop
verify "$LOG.1" "$LOG"
check "verify-audit across the rotation and the restart ($vrc $vout)" test "$vrc" -eq 0

echo "audit_rotate: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
