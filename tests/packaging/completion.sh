#!/usr/bin/env bash
# packaging.completion: the bash completion files in packaging/bash-completion/
# offer what the programs take. Each file is sourced in a clean bash, its
# function run on a command line (COMP_WORDS, COMP_CWORD), and COMPREPLY
# compared: a few fixed cases (`linkbrokerd au<TAB>` -> audit, file names,
# option values), then every command, option and listed value that
# `linkbroker --help` and `linkbrokerd --help` print must be offered, so
# adding a command or option without its completion fails here. That last
# check is also run on a help text with one made-up command added and must
# fail there (it cannot pass vacuously).
#   completion.sh LINKBROKER LINKBROKERD SOURCE_DIR
set -u
client=$1 daemon=$2 src=$(realpath "$3")
comp_client=$src/packaging/bash-completion/linkbroker
comp_daemon=$src/packaging/bash-completion/linkbrokerd
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

for f in "$comp_client" "$comp_daemon" "$client" "$daemon"; do
	[ -e "$f" ] || { echo "FAIL: $f does not exist"; exit 1; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# File names to complete: in a folder of their own.
mkdir "$tmp/files" "$tmp/files/sub dir"
: >"$tmp/files/policy.ini"
: >"$tmp/files/audit.log"

# offered FILE WORD...: the completion FILE defines, run for the command
# line WORD... (the last one is the word under the cursor, "" for a new
# one) in $tmp/files; COMPREPLY sorted, one per line.
offered() {
	local file=$1; shift
	(cd "$tmp/files" && bash --norc --noprofile -c '
		file=$1; shift
		source "$file" || exit 1
		fn=$(complete -p "$1" 2>/dev/null | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
		[ -n "$fn" ] || { echo "no completion function for $1" >&2; exit 1; }
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$file" "$@" 2>&1) | sed '/^$/d' | LC_ALL=C sort -u
}
# want NAME EXPECTED FILE WORD...: COMPREPLY is exactly EXPECTED (words
# separated by blanks, any order).
want() {
	local name=$1 expected=$2 got exp; shift 2
	got=$(offered "$@" | tr '\n' ' ' | sed 's/ $//')
	exp=$(tr ' ' '\n' <<<"$expected" | sed '/^$/d' | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$exp" ] && ok || bad "$name: offered '$got', want '$exp'"
}
# has NAME WORDS FILE WORD...: COMPREPLY holds each of WORDS (and maybe more).
has() {
	local name=$1 words=$2 got w missing=''; shift 2
	got=$(offered "$@")
	for w in $words; do
		grep -qxF -- "$w" <<<"$got" || missing="$missing $w"
	done
	[ -z "$missing" ] && ok || bad "$name: not offered:$missing (offered: $(tr '\n' ' ' <<<"$got"))"
}
# lacks NAME WORDS FILE WORD...: COMPREPLY holds none of WORDS.
lacks() {
	local name=$1 words=$2 got w extra=''; shift 2
	got=$(offered "$@")
	for w in $words; do
		grep -qxF -- "$w" <<<"$got" && extra="$extra $w"
	done
	[ -z "$extra" ] && ok || bad "$name: offered what does not belong:$extra"
}

D=$comp_daemon C=$comp_client
# --- fixed cases: linkbrokerd ---------------------------------------------
want "linkbrokerd au<TAB>" "audit" "$D" linkbrokerd au
want "linkbrokerd audit --ver<TAB>" "--verdict --verify" "$D" linkbrokerd audit --ver
want "linkbrokerd <TAB>" "run install uninstall rotate check-config explain audit verify-audit --help" \
	"$D" linkbrokerd ""
want "linkbrokerd ve<TAB>" "verify-audit" "$D" linkbrokerd ve
want "linkbrokerd check-config --flavor <TAB>" "windows posix" "$D" linkbrokerd check-config --flavor ""
want "linkbrokerd explain --kind h<TAB>" "hardlink" "$D" linkbrokerd explain --kind h
want "linkbrokerd audit --verdict <TAB>" "allowed denied failed" "$D" linkbrokerd audit --verdict ""
want "linkbrokerd check-config po<TAB> (a file)" "policy.ini" "$D" linkbrokerd check-config po
want "linkbrokerd run --config p<TAB> (a file)" "policy.ini" "$D" linkbrokerd run --config p
want "linkbrokerd verify-audit a<TAB> (a file)" "audit.log" "$D" linkbrokerd verify-audit a
want "linkbrokerd run <TAB> (options only)" "--config --foreground" "$D" linkbrokerd run ""
want "linkbrokerd uninstall <TAB> (nothing)" "" "$D" linkbrokerd uninstall ""
want "linkbrokerd explain --home s<TAB> (a directory)" "sub dir" "$D" linkbrokerd explain --home s
has "linkbrokerd explain --user ro<TAB>" "root" "$D" linkbrokerd explain --user ro
has "linkbrokerd explain --group ro<TAB>" "root" "$D" linkbrokerd explain --group ro
# --- fixed cases: linkbroker ----------------------------------------------
want "linkbroker ch<TAB>" "check" "$C" linkbroker ch
want "linkbroker st<TAB>" "status" "$C" linkbroker st
want "linkbroker li<TAB>" "list" "$C" linkbroker li
want "linkbroker r<TAB>" "run rm" "$C" linkbroker r
want "linkbroker /J<TAB>" "/J" "$C" linkbroker /J
has "linkbroker /<TAB>" "/D /H /J" "$C" linkbroker /
want "linkbroker --j<TAB>" "--json --junction" "$C" linkbroker --j
want "linkbroker keygen --<TAB>" "--force --json --endpoint --service-key --help" "$C" linkbroker keygen --
want "linkbroker list --<TAB>" "--json --endpoint --service-key --help" "$C" linkbroker list --
want "linkbroker /D po<TAB> (Link: a path)" "policy.ini" "$C" linkbroker /D po
want "linkbroker /D link po<TAB> (Target: a path)" "policy.ini" "$C" linkbroker /D link po
want "linkbroker /D link target <TAB> (nothing after Target)" "" "$C" linkbroker /D link target ""
lacks "linkbroker /D link <TAB> (no command word after Link)" "check keygen status batch run list rm" \
	"$C" linkbroker /D link ""
has "linkbroker /D <TAB> (a command word or a path)" "check policy.ini audit.log" "$C" linkbroker /D ""
want "linkbroker check /H po<TAB>" "policy.ini" "$C" linkbroker check /H po
want "linkbroker --endpoint p<TAB> (a path)" "policy.ini" "$C" linkbroker --endpoint p
want "linkbroker --endpoint x ch<TAB> (the option's value is no operand)" "check" "$C" linkbroker --endpoint x ch
want "linkbroker -- ch<TAB> (after --, paths only)" "" "$C" linkbroker -- ch
want "linkbroker list po<TAB> (PATH)" "policy.ini" "$C" linkbroker list po
want "linkbroker list x po<TAB> (one PATH)" "" "$C" linkbroker list x po
want "linkbroker rm a b po<TAB> (LINK...)" "policy.ini" "$C" linkbroker rm a b po
want "linkbroker batch p<TAB> (FILE)" "policy.ini" "$C" linkbroker batch p
has "linkbroker run <TAB> (a program)" "bash -- ls" "$C" linkbroker run ""
has "linkbroker run -- ba<TAB> (a program)" "bash" "$C" linkbroker run -- ba
want "linkbroker run ls po<TAB> (its arguments: paths)" "policy.ini" "$C" linkbroker run ls po

# --- everything the programs list -----------------------------------------
misses=0
miss() { echo "  $*"; misses=$((misses + 1)); }
# words_of OPTSPEC: "--opt a|b|c" -> "a b c".
# cover_daemon HELP: every command in linkbrokerd's usage (HELP), each of its
# --options, and each value listed as a|b, offered. Counts into $misses.
cover_daemon() {
	local help=$1 cmd='' line opts o vals v got
	local -A cmd_opts=()
	while IFS= read -r line; do
		if [[ $line =~ ^\ \ linkbrokerd\ ([a-z][a-z-]*) ]]; then
			cmd=${BASH_REMATCH[1]}
			cmd_opts[$cmd]=''
		elif [[ ! $line =~ ^\ {4,} ]]; then
			cmd=''
		fi
		[ -n "$cmd" ] && cmd_opts[$cmd]+=" $line"
	done <<<"$help"
	[ "${#cmd_opts[@]}" -gt 0 ] || { miss "no command found in linkbrokerd --help"; return; }
	got=$(offered "$D" linkbrokerd "")
	for cmd in "${!cmd_opts[@]}"; do
		grep -qxF -- "$cmd" <<<"$got" || miss "linkbrokerd <TAB> does not offer $cmd"
		opts=$(grep -oE -- '--[a-z][a-z-]*' <<<"${cmd_opts[$cmd]}" | sort -u)
		for o in $opts; do
			offered "$D" linkbrokerd "$cmd" -- | grep -qxF -- "$o" \
				|| miss "linkbrokerd $cmd --<TAB> does not offer $o"
		done
		while read -r o vals; do
			[ -n "$o" ] || continue
			for v in ${vals//|/ }; do
				offered "$D" linkbrokerd "$cmd" "$o" "" | grep -qxF -- "$v" \
					|| miss "linkbrokerd $cmd $o <TAB> does not offer $v"
			done
		done < <(grep -oE -- '--[a-z][a-z-]* [a-z]+(\|[a-z]+)+' <<<"${cmd_opts[$cmd]}" | sort -u)
	done
}
# cover_client HELP: every command in linkbroker's usage, its --options and
# the global options line, the kind flags in every spelling, offered.
cover_client() {
	local help=$1 line cmd o got globals kinds k
	local -A cmd_opts=()
	while IFS= read -r line; do
		[[ $line =~ ^(usage:\ |\ +)linkbroker\ ([a-z][a-z-]*)\ *(.*) ]] || continue
		cmd=${BASH_REMATCH[2]}
		# the synopsis only, not the description after two blanks
		cmd_opts[$cmd]=${BASH_REMATCH[3]%%  *}
	done <<<"$help"
	[ "${#cmd_opts[@]}" -gt 0 ] || { miss "no command found in linkbroker --help"; return; }
	globals=$(sed -n 's/^options: //p' <<<"$help" | grep -oE -- '--[a-z][a-z-]*')
	[ -n "$globals" ] || miss "no 'options:' line in linkbroker --help"
	kinds=$(grep -oE '^  /[A-Z], -[a-zA-Z], --[a-z]+' <<<"$help" | tr -d ',')
	[ -n "$kinds" ] || miss "no kind flags in linkbroker --help"
	got=$(offered "$C" linkbroker "")
	for cmd in "${!cmd_opts[@]}"; do
		grep -qxF -- "$cmd" <<<"$got" || miss "linkbroker <TAB> does not offer $cmd"
		for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"${cmd_opts[$cmd]}"); do
			offered "$C" linkbroker "$cmd" -- | grep -qxF -- "$o" \
				|| miss "linkbroker $cmd --<TAB> does not offer $o"
		done
		[ "$cmd" = run ] && continue   # after run, everything is the command's
		for o in $globals; do
			offered "$C" linkbroker "$cmd" -- | grep -qxF -- "$o" \
				|| miss "linkbroker $cmd --<TAB> does not offer $o"
		done
	done
	for o in $globals; do
		offered "$C" linkbroker -- | grep -qxF -- "$o" || miss "linkbroker --<TAB> does not offer $o"
	done
	for k in $kinds; do
		case $k in
		/*) offered "$C" linkbroker / | grep -qxF -- "$k" || miss "linkbroker /<TAB> does not offer $k" ;;
		*) offered "$C" linkbroker - | grep -qxF -- "$k" || miss "linkbroker -<TAB> does not offer $k" ;;
		esac
	done
}

daemon_help=$("$daemon" --help 2>&1) || { bad "linkbrokerd --help exit $?"; daemon_help=''; }
client_help=$("$client" --help 2>&1) || { bad "linkbroker --help exit $?"; client_help=''; }
misses=0; cover_daemon "$daemon_help"
[ "$misses" -eq 0 ] && ok || bad "linkbrokerd --help lists $misses thing(s) its completion does not offer"
misses=0; cover_client "$client_help"
[ "$misses" -eq 0 ] && ok || bad "linkbroker --help lists $misses thing(s) its completion does not offer"
# The same checks catch a command added without its completion.
misses=0; cover_daemon "$daemon_help"$'\n'"  linkbrokerd frobnicate [--zap]" >/dev/null
[ "$misses" -ge 2 ] && ok || bad "a new linkbrokerd command 'frobnicate [--zap]' went unnoticed ($misses)"
misses=0; cover_client "$client_help"$'\n'"       linkbroker frobnicate [--zap]      does things" >/dev/null
[ "$misses" -ge 2 ] && ok || bad "a new linkbroker command 'frobnicate [--zap]' went unnoticed ($misses)"
misses=0; cover_daemon "${daemon_help/verify-audit FILE.../verify-audit FILE... [--zap a|b]}" >/dev/null
[ "$misses" -ge 3 ] && ok || bad "a new linkbrokerd option '--zap a|b' went unnoticed ($misses)"

echo "completion: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
