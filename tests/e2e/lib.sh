# Shared by the end-to-end scripts (sourced): counters and checks.
#   ok / bad MESSAGE        count a passed / failed check (bad prints FAIL: MESSAGE)
#   check MESSAGE CMD...    CMD must succeed
#   lb_e2e_need_root TOOL...  exit 77 (ctest: skipped) with the reason unless
#                           root and every TOOL is there
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() {
	echo "FAIL: $*"
	fail=$((fail + 1))
}
check() {
	local what=$1
	shift
	if "$@"; then ok; else bad "$what"; fi
}
lb_e2e_need_root() {
	local tool
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: this end-to-end test needs root (it creates users and runs the broker)"
		exit 77
	fi
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: $tool is missing"
			exit 77
		fi
	done
}
