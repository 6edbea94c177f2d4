#!/usr/bin/env bash
# linkbrokerd explain and check-config, run as a user would: exit codes and
# the words printed. usage: explain.sh LINKBROKERD DATA_DIR  (LB_EMULATOR may name wine)
set -u
bin=$1 data=$2
pass=0 fail=0

# expect EXIT TEXT -- ARGS...: run linkbrokerd ARGS, want exit EXIT and TEXT
# (a fixed string) somewhere in stdout+stderr.
expect() {
	local want=$1 text=$2 out rc
	shift 3
	out=$(cd "$data" && ${LB_EMULATOR:-} "$bin" "$@" 2>&1 | tr -d '\r'; exit "${PIPESTATUS[0]}")
	rc=$?
	if [ "$rc" -eq "$want" ] && { [ -z "$text" ] || grep -qF -- "$text" <<<"$out"; }; then
		pass=$((pass + 1))
	else
		echo "FAIL: linkbrokerd $*"
		echo "    want exit $want and '$text'"
		echo "    got exit $rc:"
		sed 's/^/      /' <<<"$out"
		fail=$((fail + 1))
	fi
}

# native_only REASON: the next case needs a native (non-Wine) run.
native_only() {
	if [ -n "${LB_EMULATOR:-}" ]; then
		echo "SKIP (next case): $1"
		skip=$((skip + 1))
		return 1
	fi
}
skip=0

P="explain --config posix.ini --flavor posix"
W="explain --config windows.ini --flavor windows"

# Allowed, with the deciding rule and its line.
expect 0 'allow: symlink /home/alice/src/lib -> /home/alice/lib' -- $P --user alice /home/alice/src/lib /home/alice/lib
expect 0 'allowed by rule "dev" (posix.ini line 2)' -- $P --user alice /home/alice/src/lib /home/alice/lib
expect 0 'allow: symlink /home/alice/src/l -> /home/alice/notes' -- $P --user alice /home/alice/src/l ../notes
expect 0 'allow: hardlink' -- $P --user bob --group developers --kind hardlink /srv/work/bob/h /srv/work/bob/f
expect 0 'allowed by rule "dev"' -- $P --user alice --kind junction /srv/work/alice/j /opt/tools/bin
expect 0 '' -- $P --user=alice --kind=dirsymlink /home/alice/src//./d/ /home/alice

# Denied, saying why.
expect 1 'no rule allows this link' -- $P --user bob /home/alice/src/lib /home/alice/lib
expect 1 'no rule allows this link' -- $P --user alice --kind hardlink /home/alice/src/h /home/alice/f
expect 1 'no rule allows this link' -- $P --user alice /home/alice/src2/l /home/alice/t
expect 1 'no rule allows this link' -- $P --user alice /home/alice/src/l /etc/passwd
expect 1 'no rule allows this link' -- $P --user alice /home/alice/src/l ../../bob/x
expect 1 'denied by rule "no-ssh" (posix.ini line 17)' -- $P --user alice /home/alice/src/.ssh/authorized_keys /home/alice/k
expect 1 'built-in floor: links are never created inside the system tree (/etc)' -- $P --user alice /etc/cron.d/x /home/alice/t
expect 1 'built-in floor' -- $P --user alice /home/alice/src/../../../etc/x /home/alice/t
expect 1 'built-in floor: a junction target must be a local absolute directory' -- $P --user alice --kind junction /home/alice/src/j rel
expect 2 'link "/home/alice/src/x\x1b[31m": path contains a NUL or control character' -- $P --user alice /home/alice/src/x$'\e'[31m /home/alice/t

# Bad input: exit 2 with the reason.
expect 2 "'..' climbs above the root" -- $P --user alice /home/alice/src/l ../../../../../x
expect 2 'path must be absolute' -- $P --user alice src/l /home/alice/t
expect 2 'path must be absolute' -- $P --user alice --kind hardlink /srv/work/alice/h f
native_only "Windows command lines are UTF-16, so invalid UTF-8 bytes cannot reach the program (Wine substitutes U+FFFD)" &&
expect 2 'not valid UTF-8' -- $P --user alice /home/alice/src/$'\xc0\xaf' /home/alice/t
expect 2 'the link path must name a file below a root' -- $P --user alice / /home/alice/t
expect 2 '--user NAME is required' -- $P /home/alice/src/l /home/alice/t
expect 2 '--config FILE is required' -- explain --user alice /a /b
expect 2 'expected LINK TARGET' -- $P --user alice /home/alice/src/l
expect 2 'too many arguments' -- $P --user alice /a /b /c
expect 2 '--kind takes' -- $P --user alice --kind softlink /a /b
expect 2 '--flavor takes' -- explain --config posix.ini --flavor dos --user alice /a /b
expect 2 'unknown option' -- $P --user alice --frobnicate /a /b
expect 2 'option needs a value' -- $P /a /b --user
expect 2 'cannot read the policy' -- explain --config missing.ini --user alice /a /b
expect 2 'unknown command' -- frobnicate
expect 2 'usage:' --

# Windows flavour: case, separators, device names, streams, prefixes, floors.
expect 0 'allow: symlink C:\users\ALICE\src\lib -> C:\Users\Alice\lib' -- $W --user alice 'c:/users/ALICE/src/lib' 'C:\Users\Alice\lib'
expect 0 'allowed by rule "dev"' -- $W --user Alice 'C:\Users\Alice\src\x' '..\y'
expect 0 'allowed by rule "dev"' -- $W --user bob --sid S-1-5-21-1-2-3-1013 'C:\Users\bob\src\x' 'C:\Users\bob\y'
expect 0 'allowed by rule "dev"' -- $W --user carol --group Developers --kind junction 'D:\work\carol\j' 'D:\shared\tools'
expect 1 'no rule allows this link' -- $W --user carol 'D:\work\carol\j' 'D:\shared\tools'
expect 1 'no rule allows this link' -- $W --user alice 'C:\Users\alice\src2\x' 'C:\Users\alice\y'
expect 1 'denied by rule "no-appdata"' -- $W --user alice 'C:\Users\alice\src\appdata\x' 'C:\Users\alice\y'
expect 1 'built-in floor: links are never created inside the system tree (C:\Windows)' -- $W --user alice 'C:\WINDOWS\System32\x' 'C:\Users\alice\y'
expect 1 "built-in floor: links are never created in the broker's own directories" -- $W --user alice 'C:\ProgramData\LinkBroker\policy.ini' 'C:\x'
expect 1 'built-in floor: links are created only on local drives' -- $W --user alice '\\server\share\x' 'C:\x'
expect 1 'built-in floor: a junction target must be a local absolute directory' -- $W --user alice --kind junction 'D:\work\alice\j' '\\server\share'
expect 2 'DOS device' -- $W --user alice 'C:\Users\alice\src\CON' 'C:\x'
expect 2 'DOS device' -- $W --user alice 'C:\Users\alice\src\lpt1.txt' 'C:\x'
expect 2 'alternate data streams' -- $W --user alice 'C:\Users\alice\src\x:evil' 'C:\x'
expect 2 'alternate data streams' -- $W --user alice 'C:\Users\alice\src\x' 'C:\Users\alice\y::$DATA'
expect 2 'prefixes' -- $W --user alice '\\?\C:\Users\alice\src\x' 'C:\x'
expect 2 'prefixes' -- $W --user alice 'C:\Users\alice\src\x' '\\.\PhysicalDrive0'
expect 2 'prefixes' -- $W --user alice '\??\C:\Users\alice\src\x' 'C:\x'
expect 2 'ends with a dot or a space' -- $W --user alice 'C:\Users\alice\src\x.' 'C:\x'
expect 2 'ends with a dot or a space' -- $W --user alice 'C:\Users\alice\src\x \y' 'C:\x'
expect 2 'drive-relative' -- $W --user alice 'C:Users\alice\src\x' 'C:\x'
expect 2 "'..' climbs above the root" -- $W --user alice 'C:\..\Windows\x' 'C:\x'
expect 2 'longer than 255' -- $W --user alice "C:\\Users\\alice\\src\\$(printf 'a%.0s' $(seq 256))" 'C:\x'

# Windows account names: DOMAIN\NAME matches that domain's account only,
# a bare name the account of that name in any domain (as before);
# %USERNAME% is the bare name, as Windows' own %USERNAME%.
expect 0 'allowed by rule "corp-builds"' -- $W --user 'CORP\carol' --kind hardlink 'D:\build\carol\h' 'D:\build\f'
expect 0 'allowed by rule "corp-builds"' -- $W --user 'corp\CAROL' --kind hardlink 'D:\build\carol\h' 'D:\build\f'
expect 1 'no rule allows this link' -- $W --user 'OTHER\carol' --kind hardlink 'D:\build\carol\h' 'D:\build\f'
expect 1 'no rule allows this link' -- $W --user carol --kind hardlink 'D:\build\carol\h' 'D:\build\f'
expect 0 'allowed by rule "corp-builds"' -- $W --user dave --group 'CORP\Builders' --kind hardlink 'D:\build\dave\h' 'D:\build\f'
expect 1 'no rule allows this link' -- $W --user dave --group 'OTHER\builders' --kind hardlink 'D:\build\dave\h' 'D:\build\f'
expect 1 'no rule allows this link' -- $W --user dave --group builders --kind hardlink 'D:\build\dave\h' 'D:\build\f'
expect 0 'allowed by rule "dev"' -- $W --user 'CORP\carol' --group 'CORP\developers' --kind junction 'D:\work\carol\j' 'D:\shared\tools'
expect 0 'allowed by rule "dev"' -- $W --user 'OTHER\carol' --group 'OTHER\Developers' --kind junction 'D:\work\carol\j' 'D:\shared\tools'
expect 1 'no rule allows this link' -- $W --user 'CORP\carol' --kind junction 'D:\work\CORP\carol\j' 'D:\shared\tools'
expect 2 '--user takes NAME or DOMAIN\NAME' -- $W --user 'CORP\' 'D:\work\x' 'D:\shared'
expect 2 '--user takes NAME or DOMAIN\NAME' -- $W --user '\carol' 'D:\work\x' 'D:\shared'
expect 1 'no rule allows this link' -- $P --user 'CORP\alice' /home/alice/src/lib /home/alice/lib

# check-config: a bare group name in a Windows policy is a warning (exit 0).
expect 0 'posix.ini: OK (posix policy, 0 keys, 3 rules)' -- check-config --flavor posix posix.ini
expect 0 'windows.ini: OK (windows policy, 0 keys, 3 rules, 1 warning)' -- check-config --flavor windows windows.ini
expect 0 "windows.ini:4: warning: groups: bare group name 'developers' matches a group of that name in every domain and on this computer; write DOMAIN\developers or the group's SID (S-1-...)" -- check-config --flavor windows windows.ini
expect 2 "windows.ini:6: link_under: 'D:\work\%USERNAME%': path is not absolute" -- check-config --flavor posix windows.ini
expect 2 'which policy file?' -- check-config
expect 2 'one policy file at a time' -- check-config a.ini b.ini

echo "explain: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
