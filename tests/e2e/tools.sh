#!/usr/bin/env bash
# Unmodified tools get their links through the broker (issue 14): the real
# POSIX daemon as root, a real unprivileged user, `linkbroker run` and
# liblinkbroker-shim.so. A Linux user may make links wherever they can
# write, and the broker creates as the client (docs/linux-daemon.md), so
# the tools run under lb_nolink: a seccomp filter makes symlink,
# symlinkat, link and linkat fail with EPERM, as creating a symbolic link
# fails on Windows without the privilege, and every link they make must
# come through the broker.
#  1. ln -s, ln (hard), cp -s, python3's os.symlink (also with a dirfd, and
#     a relative link path) succeed under `linkbroker run` and fail
#     without it; each link is on disk as asked and audited. A folder no
#     rule allows gives the tool its ordinary "Permission denied", audited
#     as a denial; so does one the policy allows but the user cannot write
#     (the broker never lends its own rights). EEXIST stays EEXIST.
#  2. `git clone` of a local repository with file and directory symbolic
#     links (links checked out, `git status` clean), `tar -x` of an archive
#     with symbolic and hard links.
#  3. LINKBROKER_DEBUG=1 prints each brokered call; no broker: the tool's
#     own error, unchanged; run's own exit codes.
#   tools.sh LINKBROKERD LINKBROKER LB_NOLINK
# Exit 77 (ctest: skipped) with the reason when not root or a tool is missing.
set -u
LBD=$1 LB=$2 NOLINK=$3
for v in LBD LB NOLINK; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
PY=/usr/bin/python3

. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser git tar "$PY"

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lt${sfx}a
R=$(mktemp -d /tmp/lbtools.XXXXXX)
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
mkdir -p "$H/work/links" "$H/work/denied" "$R/etc" "$R/shared/links"
useradd -M -d "$H" -s /bin/sh -c "linkbroker e2e tools" "$UA"
chown -R "$UA:" "$H"
chmod 0755 "$H" "$R/shared" "$R/shared/links"   # $R/shared: root's, the user cannot write
S=$R/run/broker.sock
L=$H/work/links

as() {
	(cd "$H" && runuser -u "$UA" -- env HOME="$H" PATH=/usr/bin:/bin \
		LINKBROKER_ENDPOINT="$S" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
# run CMD...: as the user; stdout+stderr in $out, exit code in $rc.
run() {
	out=$(as "$@" 2>&1)
	rc=$?
}
audit() { cat "$R/log/audit.log" 2>/dev/null; }

as "$LB" keygen > "$R/a.block" 2>/dev/null || bad "keygen"
cat > "$R/etc/policy.ini" <<EOF
$(lb_e2e_broker_ini "$R" "$S")

$(cat "$R/a.block")

[rule:tools]
users = $UA
kinds = symlink, hardlink
link_under = %HOME%/work/links, %HOME%/work/clone, %HOME%/work/untar, $R/shared/links
target_under = %HOME%
action = allow
EOF
chmod 0644 "$R/etc/policy.ini"
lb_e2e_start "$LBD" "$R" "$S"
as sh -c 'echo data > "$HOME/file"; mkdir -p "$HOME/dir"'

# --- 1. ln, cp -s, python3 ---
run "$NOLINK" ln -s file "$L/probe"
if [ "$rc" -eq 77 ]; then
	echo "SKIP: $out"
	exit 77
fi
check "without run, ln -s under lb_nolink fails where the user writes ($rc: $out)" \
	test "$rc" -ne 0 -a ! -L "$L/probe" -a "$(grep -c 'Operation not permitted' <<<"$out")" -gt 0
run "$LB" run -- "$NOLINK" ln -s "$H/file" "$L/ln1"
check "run -- ln -s: exit 0 ($rc: $out)" test "$rc" -eq 0
check "run -- ln -s: the link is there, pointing where asked" test "$(readlink "$L/ln1" 2>&1)" = "$H/file"
check "run -- ln -s: the link is the user's" test "$(stat -c %U "$L/ln1" 2>&1)" = "$UA"
check "run -- ln -s: audited as created" grep -q "\"verdict\":\"allowed\".*\"link\":\"$L/ln1\"" <(audit)
run "$LB" run -- "$NOLINK" ln -s file "$L/rel"
check "run -- ln -s with a relative target keeps it as typed ($rc: $out)" \
	test "$rc" -eq 0 -a "$(readlink "$L/rel" 2>&1)" = file
run "$LB" run -- "$NOLINK" ln "$H/file" "$L/hard1"
check "run -- ln (hard link): exit 0 ($rc: $out)" test "$rc" -eq 0
check "run -- ln: the same file" test "$(stat -c %i "$L/hard1" 2>&1)" = "$(stat -c %i "$H/file")"
run "$LB" run -- "$NOLINK" cp -s "$H/file" "$L/cp1"
check "run -- cp -s: exit 0 ($rc: $out)" test "$rc" -eq 0 -a "$(readlink "$L/cp1" 2>&1)" = "$H/file"
run "$LB" run -- "$NOLINK" "$PY" -c "import os; os.symlink('$H/dir', '$L/py1'); print(os.readlink('$L/py1'))"
check "run -- python3 os.symlink: no exception ($rc: $out)" test "$rc" -eq 0 -a "$out" = "$H/dir"
check "python3's link resolves to the directory" test -d "$L/py1"
# a relative link path and a dirfd: resolved in the calling process
run "$LB" run -- "$NOLINK" sh -c "cd '$L' && ln -s '$H/file' relname"
check "run -- ln -s with a relative link path, from the folder ($rc: $out)" \
	test "$rc" -eq 0 -a "$(readlink "$L/relname" 2>&1)" = "$H/file"
run "$LB" run -- "$NOLINK" "$PY" -c "import os; d = os.open('$L', os.O_RDONLY); os.symlink('$H/file', 'at1', dir_fd=d)"
check "run -- symlinkat with a dirfd ($rc: $out)" test "$rc" -eq 0 -a "$(readlink "$L/at1" 2>&1)" = "$H/file"
# after fork, parent and child each ask on a connection of their own
run "$LB" run -- "$NOLINK" "$PY" -c "
import os
os.symlink('$H/file', '$L/fork-p1')
pid = os.fork()
if pid == 0:
    os.symlink('$H/file', '$L/fork-c1'); os._exit(0)
os.symlink('$H/file', '$L/fork-p2')
_, st = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(st))"
check "run -- a process that forks: parent and child links both made ($rc: $out)" \
	test "$rc" -eq 0 -a -L "$L/fork-p1" -a -L "$L/fork-c1" -a -L "$L/fork-p2"
# EEXIST stays EEXIST (the real call says so; the broker is not asked)
run "$LB" run -- "$NOLINK" ln -s "$H/file" "$L/ln1"
check "run -- ln -s over an existing link: File exists ($rc: $out)" \
	test "$rc" -ne 0 -a "$(grep -c 'File exists' <<<"$out")" -gt 0
# a folder no rule allows: the tool's ordinary error, and an audited denial
run "$LB" run -- "$NOLINK" ln -s "$H/file" "$H/work/denied/no"
check "run -- ln -s where no rule allows: Permission denied ($rc: $out)" \
	test "$rc" -ne 0 -a ! -L "$H/work/denied/no" -a "$(grep -c 'Permission denied' <<<"$out")" -gt 0
check "the denial is audited" grep -q "\"verdict\":\"denied\".*\"link\":\"$H/work/denied/no\"" <(audit)
run "$LB" run -- "$NOLINK" "$PY" -c "import os; os.symlink('$H/file', '$H/work/denied/py')"
check "python3 sees PermissionError where no rule allows ($rc)" \
	test "$rc" -ne 0 -a "$(grep -c 'PermissionError' <<<"$out")" -gt 0
# allowed by the policy, but not the user's to write: still refused
run "$LB" run -- ln -s "$H/file" "$R/shared/links/x"
check "run -- ln -s into a root folder the policy allows: Permission denied ($rc: $out)" \
	test "$rc" -ne 0 -a ! -L "$R/shared/links/x" -a "$(grep -c 'Permission denied' <<<"$out")" -gt 0
check "that refusal is audited" grep -q "\"verdict\":\"failed\".*\"link\":\"$R/shared/links/x\".*permission denied" <(audit)

# --- 2. git and tar, every link through the broker ---
{
	as sh -c 'set -e; git init -q "$HOME/repo"; cd "$HOME/repo"
		git config user.email t@example.invalid; git config user.name t
		echo hello > file.txt; mkdir sub; echo x > sub/inner.txt
		ln -s file.txt flink; ln -s sub dlink; ln -s ../file.txt sub/up
		git add -A; git commit -qm links' > "$R/git.log" 2>&1 || bad "git repository set-up: $(cat "$R/git.log")"
	run "$LB" run -- "$NOLINK" git -c core.symlinks=true clone -q "$H/repo" "$H/work/clone"
	check "run -- git clone under lb_nolink: exit 0 ($rc: $out)" test "$rc" -eq 0
	check "git checked out the file symlink" test "$(readlink "$H/work/clone/flink" 2>&1)" = file.txt
	check "git checked out the directory symlink" \
		test "$(readlink "$H/work/clone/dlink" 2>&1)" = sub -a -f "$H/work/clone/dlink/inner.txt"
	check "git checked out the symlink in a subfolder" test "$(readlink "$H/work/clone/sub/up" 2>&1)" = ../file.txt
	run git -C "$H/work/clone" status --porcelain
	check "git status is clean ($out)" test "$rc" -eq 0 -a -z "$out"
	# (git also probes .git for symlink support, and tries to hard-link the
	# read-only objects: refused, "cannot open the target for writing", it copies)
	n=$(audit | grep -c "\"event\":\"create\",\"verdict\":\"allowed\".*\"kind\":\"symlink\",\"link\":\"$H/work/clone/[^.\"][^\"]*\"")
	check "the three checked-out links were decided by the broker ($n audited)" test "$n" -eq 3
	n=$(audit | grep -c "\"event\":\"made\",\"verdict\":\"allowed\".*\"kind\":\"symlink\",\"link\":\"$H/work/clone/[^.\"][^\"]*\"")
	check "and made by it ($n made records)" test "$n" -eq 3
	run "$NOLINK" git clone -q "$H/repo" "$H/work/clone2"
	check "without run, git clone under lb_nolink fails to make the links ($rc)" \
		test ! -L "$H/work/clone2/flink"

	as sh -c 'set -e; mkdir -p "$HOME/t/d"; cd "$HOME/t"; echo content > d/f
		ln d/f d/hard; ln -s f d/sym; ln -s d dsym
		tar -cf "$HOME/links.tar" d dsym' > "$R/tar.log" 2>&1 || bad "tar set-up: $(cat "$R/tar.log")"
	as mkdir -p "$H/work/untar"
	run "$LB" run -- "$NOLINK" tar -xf "$H/links.tar" -C "$H/work/untar"
	check "run -- tar -x under lb_nolink: exit 0 ($rc: $out)" test "$rc" -eq 0
	check "tar made the symbolic links" \
		test "$(readlink "$H/work/untar/d/sym" 2>&1)" = f -a "$(readlink "$H/work/untar/dsym" 2>&1)" = d
	check "tar made the hard link" \
		test "$(stat -c %i "$H/work/untar/d/hard" 2>&1)" = "$(stat -c %i "$H/work/untar/d/f" 2>&1)"
	as mkdir -p "$H/work/untar2"
	run "$NOLINK" tar -xf "$H/links.tar" -C "$H/work/untar2"
	check "without run, tar under lb_nolink cannot make them ($rc)" test "$rc" -ne 0 -a ! -L "$H/work/untar2/dsym"
}

# --- 3. debug line; no broker ---
run env LINKBROKER_DEBUG=1 "$LB" run -- "$NOLINK" ln -s "$H/file" "$L/dbg"
check "LINKBROKER_DEBUG=1 prints the brokered call ($out)" \
	grep -qF "linkbroker-shim: symlinkat(\"$H/file\", \"$L/dbg\") -> broker: created" <<<"$out"
run env LINKBROKER_ENDPOINT="$R/no.sock" "$LB" run -- "$NOLINK" ln -s "$H/file" "$L/nobroker"
check "no broker: the tool's own error, unchanged ($rc: $out)" \
	test "$rc" -ne 0 -a "$(grep -c 'Operation not permitted' <<<"$out")" -gt 0 -a ! -L "$L/nobroker"
run "$LB" run -- no-such-command-xyz
check "run -- a command that does not exist: exit 127 and says so ($rc: $out)" \
	test "$rc" -eq 127 -a "$(grep -c 'no-such-command-xyz' <<<"$out")" -gt 0
run "$LB" run -- sh -c 'exit 7'
check "run passes the command's exit status on ($rc)" test "$rc" -eq 7

kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
DPID=
out=$("$LBD" verify-audit "$R/log/audit.log" 2>&1)
rc=$?
check "the audit log verifies ($out)" test "$rc" -eq 0

echo "tools: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
