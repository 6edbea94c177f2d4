#!/usr/bin/env bash
# The whole life of a link (issue 16, items 1 and 2), end to end: the real
# POSIX daemon as root, real accounts, real links. `linkbroker list` shows
# each user only the links the broker made for them, and whether each is
# still there and still the one made; `linkbroker rm` removes only such a
# link, only while it is that very file, only where the policy would let
# the broker make it now, and never what it points at. A restart rebuilds
# the list from the audit log. docs/client.md, "Listing and removing links".
#   links.sh LINKBROKERD LINKBROKER
# Exit 77 (ctest: skipped) with the reason when not root or without useradd.
set -u
LBD=$1 LB=$2
for v in LBD LB; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=ll${sfx}a UB=ll${sfx}b
R=$(mktemp -d /tmp/lblinks.XXXXXX)
chmod 0755 "$R"
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	for u in "$UA" "$UB"; do
		getent passwd "$u" >/dev/null && userdel -f "$u" 2>/dev/null
	done
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

for u in "$UA" "$UB"; do
	getent passwd "$u" >/dev/null && userdel -f "$u"
	mkdir -p "$R/home/$u/links" "$R/home/$u/data/dir"
	useradd -M -d "$R/home/$u" -s /bin/sh -c "linkbroker e2e links" "$u"
	chown -R "$u:" "$R/home/$u"
	chmod 0755 "$R/home/$u"
done
mkdir -p "$R/etc" "$R/shared"
chmod 1777 "$R/shared"   # sticky, as /tmp: only a file's owner may remove it
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
policy() {   # policy EXTRA_RULES
	{
		lb_e2e_broker_ini "$R" "$R/run/broker.sock"
		printf 'audit_sync = always\n\n'
		cat "$R/a.block"; echo
		cat "$R/b.block"; echo
		cat <<EOF2
[rule:own-links]
users = $UA, $UB
kinds = symlink, dirsymlink, hardlink, junction
link_under = %HOME%/links, $R/shared
target_under = %HOME%/data
action = allow

$1
EOF2
	} > "$R/etc/policy.ini"
	chmod 0644 "$R/etc/policy.ini"
}
policy ""
lb_e2e_start "$LBD" "$R" "$R/run/broker.sock"
LOG=$R/log/audit.log
echo hello > "$HA/data/f"; chown "$UA:" "$HA/data/f"
echo keep > "$HA/data/dir/inside"; chown "$UA:" "$HA/data/dir/inside"
echo bee > "$HB/data/f"; chown "$UB:" "$HB/data/f"

# ---- list ----
out=$(as "$UA" "$HA" "$LB" list 2>&1); rc=$?
check "an empty list exits 0 (rc $rc)" test "$rc" -eq 0
check "an empty list prints nothing ($out)" test -z "$out"
as "$UA" "$HA" "$LB" links/s "$HA/data/f" >/dev/null || bad "A makes a symlink"
as "$UA" "$HA" "$LB" /D links/d "$HA/data/dir" >/dev/null || bad "A makes a dir symlink"
as "$UA" "$HA" "$LB" /H links/h "$HA/data/f" >/dev/null || bad "A makes a hard link"
as "$UA" "$HA" "$LB" "$R/shared/s" "$HA/data/f" >/dev/null || bad "A makes a link in the sticky folder"
as "$UB" "$HB" "$LB" links/s "$HB/data/f" >/dev/null || bad "B makes a symlink"
out=$(as "$UA" "$HA" "$LB" list); rc=$?
check "list exits 0 (rc $rc)" test "$rc" -eq 0
check "A's list has A's four links, oldest first ($out)" test "$out" = "$(printf '%s\n' \
	"present  symlink    $HA/links/s <<===>> $HA/data/f" \
	"present  dirsymlink $HA/links/d <<===>> $HA/data/dir" \
	"present  hardlink   $HA/links/h <<===>> $HA/data/f" \
	"present  symlink    $R/shared/s <<===>> $HA/data/f")"
out=$(as "$UB" "$HB" "$LB" list)
check "B sees only B's link ($out)" test "$out" = "present  symlink    $HB/links/s <<===>> $HB/data/f"
out=$(as "$UA" "$HA" "$LB" list links)
check "list PATH (relative) keeps the links under it ($(wc -l <<<"$out") lines)" \
	test "$(wc -l <<<"$out")" -eq 3 -a -z "$(grep -v "$HA/links/" <<<"$out")"
out=$(as "$UA" "$HA" "$LB" list "$HA/lin")
check "list PATH is by whole components ($out)" test -z "$out"
json=$(as "$UA" "$HA" "$LB" list --json "$HA/links/s")
ino=$(stat -c %d:%i "$HA/links/s")
check "list --json: one object with the identity and state ($json)" python3 -c '
import json, sys
o = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(o) == 1, o
o = o[0]
assert o["kind"] == "symlink" and o["link"] == sys.argv[2] and o["target"] == sys.argv[3], o
assert o["file"] == sys.argv[4] and o["state"] == "present" and o["seq"] > 0, o
assert o["time"].endswith("Z"), o
' "$json" "$HA/links/s" "$HA/data/f" "$ino"

# changed and gone, as the user can see for itself
# (made beside it and renamed over it: a file system may give a new file
# the number of one just deleted, which the identity cannot tell apart)
as "$UA" "$HA" ln -s "$HA/data/f" "$HA/links/s.new"
as "$UA" "$HA" mv -T "$HA/links/s.new" "$HA/links/s"   # the same text, another file
out=$(as "$UA" "$HA" "$LB" list links/s)
check "a link replaced by hand is changed ($out)" test "${out%% *}" = changed

# ---- rm ----
out=$(as "$UA" "$HA" "$LB" rm links/s 2>&1); rc=$?
check "rm of a replaced link exits 4 (rc $rc: $out)" test "$rc" -eq 4
check "rm of a replaced link says so ($out)" grep -q "not the link the broker made" <<<"$out"
check "the replacement is still there" test -L "$HA/links/s"
out=$(as "$UA" "$HA" "$LB" rm links/d 2>&1); rc=$?
check "rm of a dir symlink exits 0 (rc $rc: $out)" test "$rc" -eq 0
check "rm prints what was removed ($out)" test "$out" = "symbolic link removed for $HA/links/d <<===>> $HA/data/dir"
check "the dir symlink is gone" test ! -e "$HA/links/d" -a ! -L "$HA/links/d"
check "its target's contents are untouched" test "$(cat "$HA/data/dir/inside")" = keep
as "$UA" "$HA" "$LB" /J links/j "$HA/data/dir" >/dev/null || bad "A makes a junction"
out=$(as "$UA" "$HA" "$LB" rm links/j 2>&1); rc=$?
check "rm of a junction (a symbolic link here) exits 0 (rc $rc: $out)" test "$rc" -eq 0
check "rm says Junction removed ($out)" test "$out" = "Junction removed for $HA/links/j <<===>> $HA/data/dir"
check "the junction is gone, its target's contents untouched" \
	test ! -L "$HA/links/j" -a "$(cat "$HA/data/dir/inside")" = keep
out=$(as "$UA" "$HA" "$LB" rm links/d 2>&1); rc=$?
check "rm again: not made (exit 1, rc $rc: $out)" test "$rc" -eq 1
check "rm again says the broker made no link there ($out)" \
	test "$out" = "linkbroker: links/d: denied: the broker made no link there for you"
out=$(as "$UB" "$HB" "$LB" rm "$HA/links/h" 2>&1); rc=$?
check "B cannot rm A's hard link (exit 1, rc $rc: $out)" test "$rc" -eq 1
check "A's hard link is still there" test "$(stat -c %h "$HA/data/f")" -eq 2
# a hard link whose other name is gone is the file: never removed
as "$UA" "$HA" mv "$HA/data/f" "$HA/data/f.moved"
as "$UA" "$HA" rm -f "$HA/data/f.moved"
out=$(as "$UA" "$HA" "$LB" rm links/h 2>&1); rc=$?
check "rm of a hard link that is the last name exits 4 (rc $rc: $out)" test "$rc" -eq 4
check "it says why ($out)" grep -q "last name" <<<"$out"
check "the file is still there" test "$(cat "$HA/links/h")" = hello
echo hello > "$HA/data/f"; chown "$UA:" "$HA/data/f"
# the sticky folder: root made the link; A removes it through the broker
check "the link in the sticky folder belongs to A" test "$(stat -c %U "$R/shared/s")" = "$UA"
out=$(as "$UA" "$HA" "$LB" rm --json "$R/shared/s"); rc=$?
check "rm --json exits 0 (rc $rc)" test "$rc" -eq 0
check "rm --json is one object ($out)" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["verdict"] == "allowed" and o["exit"] == 0 and o["link"] == sys.argv[2], o
assert o["rule"] == "own-links" and "removed for" in o["message"], o
' "$out" "$R/shared/s"
check "the sticky folder's link is gone" test ! -L "$R/shared/s"
out=$(as "$UA" "$HA" "$LB" rm nonexistent "$HA/links/s" 2>&1); rc=$?
check "rm of several: the worst exit (rc $rc)" test "$rc" -eq 4
check "rm of several: one line each ($out)" test "$(wc -l <<<"$out")" -eq 2
out=$(as "$UA" "$HA" "$LB" rm 2>&1); rc=$?
check "rm without a LINK is a usage error (rc $rc)" test "$rc" -eq 2

# removal follows the creating rule: a deny rule now stops it
as "$UB" "$HB" "$LB" links/s2 "$HB/data/f" >/dev/null || bad "B makes a second symlink"
policy "[rule:no-more]
users = $UB
kinds = symlink
link_under = $HB/links
target_under = *
action = deny"
kill -HUP "$DPID"
for _ in $(seq 60); do grep -q '"event":"reload"\|policy reloaded' "$R/daemon.log" && break; sleep 0.05; done
sleep 0.3
out=$(as "$UB" "$HB" "$LB" rm links/s2 2>&1); rc=$?
check "rm where the policy now denies: exit 1 (rc $rc: $out)" test "$rc" -eq 1
check "it names the deny rule ($out)" grep -q "no-more" <<<"$out"
check "the link is still there" test -L "$HB/links/s2"
policy ""
kill -HUP "$DPID"
sleep 0.5

# ---- the audit log ----
check "the log has a remove and a removed record" \
	test "$(grep -c '"event":"remove","verdict":"allowed"' "$LOG")" -ge 3 -a \
	"$(grep -c '"event":"removed","verdict":"allowed"' "$LOG")" -eq 3
check "the removed record carries the link's identity" \
	grep -q '"event":"removed".*"file":"[0-9]*:[0-9]*"' "$LOG"
check "list requests are recorded" grep -q '"event":"list","verdict":"allowed"' "$LOG"
check "verify-audit accepts the log" "$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini"

# ---- a restart rebuilds the list from the log ----
before=$(as "$UA" "$HA" "$LB" list)
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
lb_e2e_start "$LBD" "$R" "$R/run/broker.sock"
after=$(as "$UA" "$HA" "$LB" list)
check "after a restart the list is the same ($after)" test "$before" = "$after" -a -n "$after"
check "a removed link stays removed after a restart" test -z "$(grep " $HA/links/d " <<<"$after")"
out=$(as "$UB" "$HB" "$LB" rm links/s2 2>&1); rc=$?
check "rm after a restart works (rc $rc: $out)" test "$rc" -eq 0 -a ! -L "$HB/links/s2"

echo "links: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
