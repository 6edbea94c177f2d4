#!/usr/bin/env bash
# Every command of both programs has its own --help (issue 16, item 7):
# for each command the program's own --help lists, `PROG COMMAND --help`
# exits 0 with "usage: PROG COMMAND" first on stdout, more than the usage
# line after it, and nothing on stderr; linkbrokerd also takes -h. The
# commands come from the programs, so a new one without help fails here.
#   help.sh LINKBROKERD [LINKBROKER]
# LB_EMULATOR (e.g. wine) runs the programs; CRs of a Windows console dropped.
set -u
LBD=$1 LB=${2:-}
pass=0 fail=0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

ok() {
	local what=$1
	shift
	if "$@"; then pass=$((pass + 1)); else echo "FAIL: $what"; fail=$((fail + 1)); fi
}

# help PROG CMD OPT: the checks above for PROG CMD OPT
help() {
	# shellcheck disable=SC2086
	${LB_EMULATOR:-} "$1" "$2" "$3" < /dev/null 2> "$t/err" | tr -d '\r' > "$t/out"
	local rc=${PIPESTATUS[0]} name=${1##*/} first
	name=${name%.exe}
	first=$(head -n 1 "$t/out")
	ok "$name $2 $3: exit 0 ($rc)" test "$rc" -eq 0
	ok "$name $2 $3: 'usage: $name $2' first ($first)" test "${first:0:$((8 + ${#name} + ${#2}))}" = "usage: $name $2"
	ok "$name $2 $3: says what it does, not only its usage ($(wc -l < "$t/out") lines)" \
		test "$(grep -c . "$t/out")" -ge 3
	ok "$name $2 $3: nothing on stderr ($(head -c 200 "$t/err"))" test ! -s "$t/err"
}

# shellcheck disable=SC2086
${LB_EMULATOR:-} "$LBD" --help 2>&1 | tr -d '\r' > "$t/d"
mapfile -t dcmds < <(sed -n 's/^  linkbrokerd \([a-z-]*\).*/\1/p' "$t/d")
ok "linkbrokerd --help lists its commands (${dcmds[*]})" test "${#dcmds[@]}" -ge 6
for c in "${dcmds[@]}"; do
	help "$LBD" "$c" --help
	help "$LBD" "$c" -h
done
# shellcheck disable=SC2086
${LB_EMULATOR:-} "$LBD" audit --help --bogus 2>&1 | tr -d '\r' > "$t/out"
ok "linkbrokerd audit --help --bogus: help wins" grep -q "^usage: linkbrokerd audit" "$t/out"

[ -n "$LB" ] || { echo "help: $pass passed, $fail failed (linkbrokerd only)"; [ "$fail" -eq 0 ]; exit; }
"$LB" --help > "$t/c" 2>&1
mapfile -t ccmds < <(sed -n 's/^ *\(usage: \)\{0,1\}linkbroker \([a-z][a-z-]*\) .*/\2/p' "$t/c")
ok "linkbroker --help lists its commands (${ccmds[*]})" test "${#ccmds[@]}" -ge 5
for c in "${ccmds[@]}"; do
	help "$LB" "$c" --help
done

echo "help: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
