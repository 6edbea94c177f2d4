#!/usr/bin/env bash
# linkbrokerd install / uninstall on this machine: the unit file, the policy
# directory and what is said about systemd. Skips (exit 77, with the reason)
# when not root or when a real installation is present, which it never touches.
# The unit, logrotate file and deny-all policy written are the files in
# packaging/ that the Debian package installs, but for this binary's path.
#   install.sh LINKBROKERD SOURCE_DIR
set -u
LBD=$1 SRC=$2
UNIT=/etc/systemd/system/linkbroker.service ETC=/etc/linkbroker
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: install needs root"; exit 77; fi
if [ -e "$UNIT" ] || [ -e "$ETC" ]; then
	echo "SKIP: a LinkBroker installation exists here ($UNIT or $ETC); not touching it"
	exit 77
fi
systemd_running=0
[ -d /run/systemd/system ] && systemd_running=1
if [ "$systemd_running" -eq 1 ]; then
	echo "SKIP: systemd is PID 1 here; this test would enable and start a real service"
	exit 77
fi
LR=/etc/logrotate.d/linkbroker
if [ -e "$LR" ]; then echo "SKIP: $LR exists here; not touching it"; exit 77; fi
trap 'rm -f "$UNIT" "$LR"; rm -rf "$ETC"' EXIT

out=$("$LBD" install 2>&1); rc=$?
[ "$rc" -eq 0 ] && ok || bad "install exit $rc: $out"
grep -q "systemd is not running" <<<"$out" && ok || bad "install says systemd is not running: $out"
[ -f "$UNIT" ] && ok || bad "unit written"
if [ -d /etc/logrotate.d ]; then
	grep -q "^		$(readlink -f "$LBD") rotate --reopen" "$LR" && ok || bad "logrotate file names this binary: $(grep rotate "$LR" 2>&1)"
	grep -q "^	create 0600 root root" "$LR" && ok || bad "logrotate file in create mode"
	if command -v logrotate >/dev/null 2>&1; then
		logrotate -d "$LR" >/dev/null 2>&1 && ok || bad "logrotate -d accepts $LR: $(logrotate -d "$LR" 2>&1 | tail -3)"
	fi
fi
grep -q "^ExecStart=$(readlink -f "$LBD") run --config $ETC/policy.ini" "$UNIT" && ok || bad "ExecStart names this binary: $(grep ExecStart "$UNIT")"
# with_exe FILE: FILE from packaging/ with this binary where it names /usr/sbin/linkbrokerd.
with_exe() { sed "s|/usr/sbin/linkbrokerd|$(readlink -f "$LBD")|" "$1"; }
diff <(with_exe "$SRC/packaging/systemd/linkbroker.service") "$UNIT" >/dev/null \
	&& ok || bad "unit is packaging/systemd/linkbroker.service but for ExecStart: $(diff <(with_exe "$SRC/packaging/systemd/linkbroker.service") "$UNIT" | head -5)"
[ "$(stat -c '%U %a' "$UNIT" 2>/dev/null)" = "root 644" ] && ok || bad "unit root 0644"
if [ -d /etc/logrotate.d ]; then
	diff <(with_exe "$SRC/packaging/logrotate.d/linkbroker") "$LR" >/dev/null \
		&& ok || bad "logrotate file is packaging/logrotate.d/linkbroker but for postrotate"
fi
cmp -s "$SRC/packaging/linkbroker/policy.ini" "$ETC/policy.ini" && ok || bad "policy is packaging/linkbroker/policy.ini"
[ "$(stat -c '%U %a' "$ETC/policy.ini" 2>/dev/null)" = "root 644" ] && ok || bad "policy root 0644"
"$LBD" check-config "$ETC/policy.ini" >/dev/null 2>&1 && ok || bad "installed policy is valid"
out=$("$LBD" install 2>&1); rc=$?
[ "$rc" -eq 0 ] && ok || bad "second install exit $rc: $out"
echo "; admin's edit" >> "$ETC/policy.ini"
"$LBD" install >/dev/null 2>&1
grep -q "admin's edit" "$ETC/policy.ini" && ok || bad "install keeps an existing policy"
out=$("$LBD" uninstall 2>&1); rc=$?
[ "$rc" -eq 0 ] && ok || bad "uninstall exit $rc: $out"
[ ! -e "$UNIT" ] && ok || bad "unit removed"
[ ! -e "$LR" ] && ok || bad "logrotate file removed"
[ -f "$ETC/policy.ini" ] && ok || bad "uninstall keeps the policy"
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
