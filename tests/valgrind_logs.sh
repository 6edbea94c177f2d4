#!/usr/bin/env bash
# valgrind.logs (LB_VALGRIND builds): fail on any memcheck log in LOGDIR that
# reports an error or a definite/indirect leak, printing those logs. Exit 77
# (skipped) when no wrapped program ran. usage: valgrind_logs.sh LOGDIR
set -u
dir=$1
shopt -s nullglob
logs=("$dir"/*.log)
if [ "${#logs[@]}" -eq 0 ]; then
	echo "SKIP: no valgrind logs in $dir (no test ran a wrapped program)"
	exit 77
fi
bad=0 done=0
for f in "${logs[@]}"; do
	# A process that exec'd or was killed by a signal writes no summary.
	grep -q 'ERROR SUMMARY:' "$f" || continue
	done=$((done + 1))
	if grep -qE 'ERROR SUMMARY: [1-9]|(definitely|indirectly) lost: [1-9]' "$f"; then
		echo "=== $f"
		cat "$f"
		bad=$((bad + 1))
	fi
done
echo "valgrind: ${#logs[@]} logs, $done with a summary, $bad with errors or leaks"
[ "$bad" -eq 0 ]
