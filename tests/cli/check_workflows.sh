#!/usr/bin/env bash
# scripts/check-workflows: the real workflows pass; copies broken one way
# each fail (exit 1) with the problem named.
#   check_workflows.sh SOURCE_DIR
set -u
src=$1
chk=$src/scripts/check-workflows
wf=$src/.github/workflows/windows.yml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

out=$(python3 "$chk" --root "$src" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q "workflow file(s) OK" <<<"$out"; then ok; else bad "the real workflows: exit $rc: $out"; fi

# broken WHAT SED_SCRIPT EXPECTED: windows.yml changed by SED_SCRIPT must
# fail with EXPECTED in the output.
broken() {
	local what=$1 script=$2 want=$3 f=$tmp/windows.yml out rc
	sed "$script" "$wf" >"$f"
	if cmp -s "$wf" "$f"; then
		bad "$what: the sed script changed nothing (the workflow changed?)"
		return
	fi
	out=$(python3 "$chk" --root "$src" "$f" 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && grep -qF -- "$want" <<<"$out"; then
		ok
	else
		bad "$what: exit $rc (want 1, '$want'): $out"
	fi
}

broken "YAML syntax" '0,/^jobs:/s//jobs:\n  - oops: [/' "not valid YAML"
broken "a tab in the indentation" '0,/^  msvc:/s//\tmsvc:/' "not valid YAML"
broken "no jobs" 's/^jobs:/notjobs:/' "no jobs"
broken "a step with neither uses nor run" '0,/^      - run: cmake --build --preset windows-msvc/s//      - name: nothing/' \
	"needs exactly one of 'uses' or 'run'"
broken "a step with both" '0,/^      - uses: actions\/checkout@\([0-9a-f]*\) # v[0-9.]*$/s//&\n        run: echo both/' \
	"needs exactly one of 'uses' or 'run'"
broken "an unknown configure preset" 's/cmake --preset windows-msvc/cmake --preset windows-msv/' \
	"'cmake --preset windows-msv': no such entry in CMakePresets.json configurePresets"
broken "the msvc preset gone from Windows" 's/cmake --preset windows-msvc/cmake --preset mingw-wine/' \
	"no windows-latest job configures the windows-msvc preset"
broken "an unknown test preset" 's/ctest --preset windows-msvc/ctest --preset mingw-wine/' \
	"'ctest --preset mingw-wine': no such entry in CMakePresets.json testPresets"
broken "a missing script" 's#bash tests/e2e/win/run.sh#bash tests/e2e/win/runs.sh#' \
	"names tests/e2e/win/runs.sh, which is not in the repository"
broken "a missing PowerShell script" 's#tests\\e2e\\win\\installed.ps1#tests\\e2e\\win\\install.ps1#' \
	'names tests/e2e/win/install.ps1, which is not in the repository'
broken "an unpinned action" '0,/actions\/checkout@[0-9a-f]*/s//actions\/checkout@main/' \
	"'actions/checkout@main' is not pinned"
broken "no windows-latest" 's/runs-on: windows-latest/runs-on: windows-2022/' "no job runs-on windows-latest"
broken "needs a job that is not there" 's/needs: msi$/needs: mis/' "needs 'mis', which is not a job here"
broken "an artifact nobody uploads" '0,/name: linkbroker-msi/s//name: linkbroker-msix/' \
	"downloads artifact 'linkbroker-msi' that no job it needs uploads"
broken "no timeout" '0,/^    timeout-minutes: [0-9]*$/s///' "no timeout-minutes"
broken "an unknown shell" '0,/shell: bash/s//shell: zsh/' "unknown shell 'zsh'"

echo "check_workflows: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
