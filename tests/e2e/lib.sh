# Shared by the end-to-end scripts (sourced): counters and checks.
#   ok / bad MESSAGE        count a passed / failed check (bad prints FAIL: MESSAGE)
#   check MESSAGE CMD...    CMD must succeed
#   lb_e2e_need_root TOOL...  exit 77 (ctest: skipped) with the reason unless
#                           root and every TOOL is there
#   lb_e2e_decisions FILE     the audit log FILE without its "made" records (each
#                           allowed create that made its link adds one after its
#                           decision: docs/audit.md), for counting decisions
pass=0 fail=0

lb_e2e_decisions() { grep -v '^{"seq":[0-9]*,"time":"[^"]*","event":"made",' "$1"; }

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
#   lb_e2e_broker_ini ROOT SOCK   print a [broker] section with everything under ROOT
#   lb_e2e_start LBD ROOT SOCK    start LBD on ROOT/etc/policy.ini (log: ROOT/daemon.log),
#                                 DPID := its pid; exit 1 with its log unless SOCK appears
lb_e2e_broker_ini() {
	printf '[broker]\nendpoint = %s\naudit_log = %s/log/audit.log\nservice_key = %s/keys/service.key\nservice_public_key = %s/keys/service.pub\n' \
		"$2" "$1" "$1" "$1"
}
lb_e2e_start() {
	local _
	"$1" run --config "$2/etc/policy.ini" --foreground 2> "$2/daemon.log" &
	DPID=$!
	for _ in $(seq 100); do [ -S "$3" ] && return 0; sleep 0.05; done
	echo "FAIL: the broker did not start:"
	cat "$2/daemon.log"
	exit 1
}
