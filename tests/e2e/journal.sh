#!/usr/bin/env bash
# Where the broker's events go on Linux (docs/audit.md, "In the system's
# logs"): the real daemon, in a private mount namespace whose
# /run/systemd/journal/socket is a fake journald (lb_fakejournal.py), gets
# requests from a real user; each decision arrives as one journal entry with
# SYSLOG_IDENTIFIER=linkbrokerd and the LINKBROKER_* fields (so that
# `journalctl -t linkbrokerd LINKBROKER_VERDICT=denied` selects the denials),
# its event id, priority and the audit record's seq; client bytes escaped;
# policy reloaded / refused as their own events. Without the journal socket
# the same lines go to syslog (stderr with --foreground).
#   journal.sh LINKBROKERD LINKBROKER LB_E2E_CLIENT HAVE_SYSTEMD(0|1)
# Exit 77 (ctest: skipped) with the reason when not root, a tool is
# missing, or the daemon was built without libsystemd.
set -u
LBD=$1 LB=$2 RAW=$3 HAVE_SYSTEMD=$4
. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser unshare python3
if [ "$HAVE_SYSTEMD" != 1 ]; then
	echo "SKIP: linkbrokerd was built without libsystemd (libsystemd-dev): it logs to syslog only"
	exit 77
fi
HERE=$(cd "$(dirname "$0")" && pwd)

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lb${sfx}j
R=$(mktemp -d /tmp/lbjrn.XXXXXX)
chmod 0755 "$R"
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -s "$R/journald.pid" ] && kill "$(cat "$R/journald.pid")" 2>/dev/null
	getent passwd "$UA" >/dev/null && userdel "$UA" 2>/dev/null
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

getent passwd "$UA" >/dev/null && userdel "$UA"
mkdir -p "$R/home" "$R/etc" "$R/run"
useradd -M -d "$R/home/$UA" -s /bin/sh -c "linkbroker journal test" "$UA"
H=$R/home/$UA
mkdir -p "$H/links"
chown -R "$UA:" "$H"
chmod 0755 "$H"
S=$R/run/broker.sock
J=$R/journal.jsonl
as() {
	(cd "$H" && runuser -u "$UA" -- env HOME="$H" LINKBROKER_ENDPOINT="$S" \
		LINKBROKER_SERVICE_KEY="$R/keys/service.pub" ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
as "$LB" keygen > "$R/a.block" 2>/dev/null || bad "keygen as $UA"
policy() {
	{ lb_e2e_broker_ini "$R" "$S"; echo; cat "$R/a.block"; cat <<EOT

[rule:links]
users = $UA
kinds = symlink
link_under = %HOME%/links
target_under = %HOME%
action = allow
EOT
	} > "$R/etc/policy.ini"
	chmod 0644 "$R/etc/policy.ini"
}
policy

# The daemon and the fake journald in their own mount namespace: a tmpfs
# on /run there holds /run/systemd/journal/socket; nothing changes outside.
: > "$J"
unshare -m --propagation private sh -c '
	mount -t tmpfs -o mode=0755 lbjournal /run || exit 1
	mkdir -p /run/systemd/journal
	python3 "$1" /run/systemd/journal/socket "$2" < /dev/null > /dev/null 2>&1 &
	echo $! > "$5"
	for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
	exec "$3" run --config "$4" --foreground' sh \
	"$HERE/lb_fakejournal.py" "$J" "$LBD" "$R/etc/policy.ini" "$R/journald.pid" 2> "$R/daemon.log" &
DPID=$!
for _ in $(seq 200); do [ -S "$S" ] && break; sleep 0.05; done
[ -S "$S" ] || { echo "FAIL: the broker did not start:"; cat "$R/daemon.log"; exit 1; }

# entry FILTER: the last journal entry for which the Python expression
# FILTER (over the dict e) holds, as JSON ('' if none)
entry() {
	python3 -c 'import json,sys
hit = ""
for l in open(sys.argv[1], encoding="utf-8", errors="surrogateescape"):
    e = json.loads(l)
    if eval(sys.argv[2]): hit = l.strip()
print(hit)' "$J" "$1"
}
# field JSON KEY
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }
# wait_entry FILTER: until such an entry arrives (5 s at most)
wait_entry() {
	for _ in $(seq 100); do [ -n "$(entry "$1")" ] && return 0; sleep 0.05; done
	return 1
}

out=$(as "$LB" links/ok "$H/target" 2>&1); rc=$?
check "an allowed create: exit 0 ($rc $out)" test "$rc" -eq 0
wait_entry 'e.get("LINKBROKER_EVENT_ID") == "1000"'
e=$(entry 'e.get("LINKBROKER_EVENT_ID") == "1000"')
check "it reached journald as event 1000 ($e)" test -n "$e"
rec=$(grep '"event":"create","verdict":"allowed"' "$R/log/audit.log" | tail -n 1)
seq=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seq"])' "$rec")
for kv in "SYSLOG_IDENTIFIER=linkbrokerd" "PRIORITY=6" "SYSLOG_FACILITY=10" \
	"MESSAGE_ID=b557e31a35b447e9a803a131f64a6ab0" "LINKBROKER_EVENT=create" \
	"LINKBROKER_VERDICT=allowed" "LINKBROKER_USER=$UA" "LINKBROKER_UID=$(id -u "$UA")" \
	"LINKBROKER_KIND=symlink" "LINKBROKER_LINK=$H/links/ok" "LINKBROKER_TARGET=$H/target" \
	"LINKBROKER_RULE=links" "LINKBROKER_ERROR=0" "LINKBROKER_SEQ=$seq"; do
	check "created: $kv" test "$(field "$e" "${kv%%=*}")" = "${kv#*=}"
done
check "created: MESSAGE is the one-line text" grep -q "create allowed: " <<<"$(field "$e" MESSAGE)"
check "and --foreground still shows it on stderr" grep -q "create allowed: " "$R/daemon.log"

mkdir -p "$H/elsewhere"; chown "$UA:" "$H/elsewhere"
out=$(as "$LB" elsewhere/x "$H/target" 2>&1); rc=$?
check "a denied create (no rule for that folder): exit 1 ($rc $out)" test "$rc" -eq 1
wait_entry 'e.get("LINKBROKER_VERDICT") == "denied"'
e=$(entry 'e.get("LINKBROKER_VERDICT") == "denied"')
check "journalctl -t linkbrokerd LINKBROKER_VERDICT=denied would select it ($e)" \
	test "$(field "$e" SYSLOG_IDENTIFIER)" = linkbrokerd
check "denied: event 2000, priority 5 (notice)" \
	test "$(field "$e" LINKBROKER_EVENT_ID)" = 2000 -a "$(field "$e" PRIORITY)" = 5
check "denied: LINKBROKER_ERROR=-51, LINKBROKER_LINK the link" \
	test "$(field "$e" LINKBROKER_ERROR)" = -51 -a "$(field "$e" LINKBROKER_LINK)" = "$H/elsewhere/x"

# Client bytes: the real client refuses control characters, the test
# client sends them; the broker fails the request (input error), and the
# journal shows the ESC escaped, as the line does.
esc=$(printf '%s/links/\033[31mred' "$H")
out=$(as "$RAW" "$S" "$H/.config/linkbroker/key" ok symlink "$esc" "$H/target" 2>&1)
check "a link name with an ESC: refused as bad input ($out)" grep -q "status -31" <<<"$out"
wait_entry 'e.get("LINKBROKER_EVENT_ID") == "3000"'
e=$(entry 'e.get("LINKBROKER_EVENT_ID") == "3000"')
check "failed: event 3000, verdict failed ($e)" test "$(field "$e" LINKBROKER_VERDICT)" = failed
check "the ESC is shown escaped, never raw ($(field "$e" LINKBROKER_LINK))" \
	test "$(field "$e" LINKBROKER_LINK)" = "$H/"'links/\x1b[31mred'
check "no raw control byte anywhere in the journal" python3 -c 'import sys; sys.exit(1 if any(c < 32 and c != 10 for c in open(sys.argv[1], "rb").read()) else 0)' "$J"

# Reloads: a good one, then a refused one (the previous policy stays).
policy
touch "$R/etc/policy.ini"
kill -HUP "$DPID"
wait_entry 'e.get("LINKBROKER_EVENT_ID") == "4000"'
e=$(entry 'e.get("LINKBROKER_EVENT_ID") == "4000"')
check "policy reloaded: event 4000 ($e)" grep -q "policy reloaded" <<<"$(field "$e" MESSAGE)"
echo "[rule:broken" >> "$R/etc/policy.ini"
kill -HUP "$DPID"
wait_entry 'e.get("LINKBROKER_EVENT_ID") == "4001"'
e=$(entry 'e.get("LINKBROKER_EVENT_ID") == "4001"')
check "policy refused: event 4001, priority 3 (err) ($e)" test "$(field "$e" PRIORITY)" = 3
check "and says the previous policy stays" grep -q "previous policy stays in force" <<<"$(field "$e" MESSAGE)"
check "no entry the fake journald could not parse" test -z "$(entry '"_BAD" in e')"

echo "journal: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
