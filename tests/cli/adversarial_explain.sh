#!/usr/bin/env bash
# The adversarial path corpus (tests/data/adversarial/paths.tsv) through
# `linkbrokerd explain` in both flavours: every row, the exit code and the
# phrase the row expects for --flavor windows and for --flavor posix.
#   adversarial_explain.sh LINKBROKERD DATA_DIR   (LB_EMULATOR may name wine)
# A row that cannot reach the program (under Wine: bytes that are not UTF-8,
# or a command line over Windows' 32767 characters) is skipped with its
# reason printed; the row count is checked at the end, so nothing is
# skipped silently.
set -u
export LC_ALL=C
bin=$1 data=$2
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
. "$(dirname "${BASH_SOURCE[0]}")/adversarial_lib.sh"
pass=0 fail=0 skip=0 rows=0 done_rows=0
declare -A per_class

# Placeholders per flavour (README.md): the policy user alice's home {H},
# her link directory {D}, other spellings {d} {h} {HU}.
P_VARS=("H=/home/alice" "D=/home/alice/links" "d=/home/alice/links" "h=/home/alice" "HU=/HOME/ALICE")
W_VARS=('H=C:\Users\alice' 'D=C:\Users\alice\links' 'd=c:/users/ALICE/links' 'h=c:/USERS/alice'
	'HU=C:\USERS\ALICE')

# wine_cannot TEXT...: why these arguments cannot reach a Windows program, or nothing.
wine_cannot() {
	local a total=0
	for a in "$@"; do
		total=$((total + ${#a} + 3))
		if ! printf '%s' "$a" | python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8")' 2>/dev/null; then
			echo "Windows command lines are UTF-16: bytes that are not UTF-8 cannot reach the program (Wine substitutes U+FFFD)"
			return
		fi
	done
	if [ "$total" -gt 32000 ]; then
		echo "a Windows command line holds at most 32767 characters"
	fi
}

# run_flavor ID FLAVOR KIND LINK TARGET WANT
run_flavor() {
	local id=$1 flavor=$2 kind=$3 link=$4 target=$5 want=$6 wexit wtext out rc why
	wexit=${want%% *}
	wtext=${want#"$wexit"}
	wtext=${wtext# }
	if [ -n "${LB_EMULATOR:-}" ]; then
		why=$(wine_cannot "$link" "$target")
		if [ -n "$why" ]; then
			echo "SKIP $id ($flavor): $why"
			skip=$((skip + 1))
			return
		fi
	fi
	for try in 1 2; do
		# Wine turns the arguments into UTF-16 by the locale: a UTF-8 one.
		out=$(cd "$data" && LC_ALL=${LB_EMULATOR:+C.UTF-8} ${LB_EMULATOR:-} "$bin" explain --config "$flavor.ini" \
			--flavor "$flavor" --user alice --kind "$kind" -- "$link" "$target" 2>&1 | tr -d '\r'
			exit "${PIPESTATUS[0]}")
		rc=$?
		# explain always prints something: silence means the emulator
		# did not run it (seen once under a loaded Wine); once more.
		[ -n "$out" ] || [ -z "${LB_EMULATOR:-}" ] || [ "$try" -eq 2 ] && break
		echo "note: $id ($flavor): no output from the emulator (exit $rc); running it again"
	done
	if [ "$rc" -eq "$wexit" ] && { [ -z "$wtext" ] || grep -qF -- "$wtext" <<<"$out"; }; then
		pass=$((pass + 1))
	else
		echo "FAIL $id ($flavor): explain --kind $kind $(adv_show "$link") $(adv_show "$target")"
		echo "    want exit $wexit and '$wtext'; got exit $rc:"
		adv_show "$out" | sed 's/^/      /'
		echo
		fail=$((fail + 1))
	fi
}

while IFS=$'\037' read -r id class kind link target want_w want_p want_d extra; do
	rows=$((rows + 1))
	if [ -z "$want_d" ] || [ -n "${extra:-}" ]; then
		echo "FAIL: paths.tsv row $rows ($id): expected 8 tab-separated fields"
		fail=$((fail + 1))
		continue
	fi
	adv_subst wl "$link" "${W_VARS[@]}"
	adv_subst wt "$target" "${W_VARS[@]}"
	adv_subst pl "$link" "${P_VARS[@]}"
	adv_subst pt "$target" "${P_VARS[@]}"
	run_flavor "$id" windows "$kind" "$wl" "$wt" "$want_w"
	run_flavor "$id" posix "$kind" "$pl" "$pt" "$want_p"
	per_class[$class]=$(( ${per_class[$class]:-0} + 1 ))
	done_rows=$((done_rows + 1))
done < <(adv_rows "$data/paths.tsv")

want_rows=$(adv_rows "$data/paths.tsv" | wc -l)
if [ "$rows" -ne "$want_rows" ] || [ "$done_rows" -ne "$rows" ]; then
	echo "FAIL: paths.tsv has $want_rows rows, $rows read, $done_rows run"
	fail=$((fail + 1))
fi
for c in $(printf '%s\n' "${!per_class[@]}" | sort); do
	printf '  %-12s %3d rows\n' "$c" "${per_class[$c]}"
done
echo "adversarial explain: $rows rows, $pass checks passed, $fail failed, $skip skipped (reason printed)"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
