#!/usr/bin/env bash
# Golden test: for each tests/data/policies/FLAVOR/NAME.ini, run
#   linkbrokerd check-config --flavor FLAVOR NAME.ini
# in that folder and compare "exit N" plus the output with NAME.expected.
# usage: golden.sh LINKBROKERD POLICIES_DIR [--update]   (LB_EMULATOR may name wine)
set -u
bin=$1 dir=$2 update=${3:-}
pass=0 fail=0
for flavor in posix windows; do
	for ini in "$dir/$flavor"/*.ini; do
		name=${ini%.ini}
		actual=$(cd "$dir/$flavor" && ${LB_EMULATOR:-} "$bin" check-config --flavor "$flavor" "$(basename "$ini")" 2>&1; echo "exit $?")
		# Put the exit code first; Wine's console adds \r.
		actual=$(printf '%s\n' "$actual" | tr -d '\r' | tail -n 1; printf '%s\n' "$actual" | tr -d '\r' | sed '$d')
		if [ "$update" = --update ]; then
			printf '%s\n' "$actual" > "$name.expected"
			continue
		fi
		if [ ! -f "$name.expected" ]; then
			echo "FAIL $flavor/$(basename "$ini"): no $(basename "$name").expected"
			fail=$((fail + 1))
			continue
		fi
		if [ "$actual" = "$(cat "$name.expected")" ]; then
			pass=$((pass + 1))
		else
			echo "FAIL $flavor/$(basename "$ini")"
			diff <(cat "$name.expected") <(printf '%s\n' "$actual") | sed 's/^/    /'
			fail=$((fail + 1))
		fi
	done
done
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
