#!/usr/bin/env bash
# msi.contents: the MSI built from packaging/linkbroker.wxs holds what an
# installation needs: both programs (names, sizes, bytes), the deferred
# LocalSystem custom actions "linkbrokerd.exe install|uninstall" at the right
# place in the script, x64 per-machine, the fixed UpgradeCode and this
# version. Then the same checks must FAIL on copies of the MSI with one thing
# broken (a file, an action, a flag, a sequence number), so the checks cannot
# pass vacuously.
# usage: msi_contents.sh MSI LINKBROKERD.EXE LINKBROKER.EXE VERSION SHIM.DLL LIBRARY.DLL ADMX ADML
# (the shim for linkbroker run and the client library ride along, and the
# Group Policy template in PolicyDefinitions\ and PolicyDefinitions\en-US\
# under the install folder: six files)
#   msiinfo, msiextract and msibuild (msitools) from PATH or LB_MSIINFO,
#   LB_MSIEXTRACT, LB_MSIBUILD.
set -u
msi=$1 daemon=$2 client=$3 version=$4 shim=$5 library=$6 admx=${7:-} adml=${8:-}
MSIINFO=${LB_MSIINFO:-msiinfo}
MSIEXTRACT=${LB_MSIEXTRACT:-msiextract}
MSIBUILD=${LB_MSIBUILD:-msibuild}

# Never changes: Windows Installer finds the installed version to replace by
# it (MajorUpgrade). A new one would install side by side with the old one.
UPGRADE_CODE='{6C46BB40-DACA-42C4-81CF-65DD9603F75E}'

# CustomAction Type bits (msidbCustomActionType*).
CA_EXE_FILE=18          # base type: an .exe installed by this package (Source = File key)
CA_CONTINUE=0x40        # Return="ignore"
CA_ROLLBACK=0x100       # with InScript
CA_COMMIT=0x200         # with InScript
CA_IN_SCRIPT=0x400      # deferred: runs in the elevated installation script
CA_NO_IMPERSONATE=0x800 # as LocalSystem, not as the user running msiexec

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

for tool in "$MSIINFO" "$MSIEXTRACT" "$MSIBUILD"; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (msitools)"; exit 1; }
done
for f in "$msi" "$daemon" "$client" "$admx" "$adml"; do
	[ -f "$f" ] || { echo "FAIL: $f does not exist"; exit 1; }
done
msi=$(realpath "$msi") daemon=$(realpath "$daemon") client=$(realpath "$client")

# rows MSI TABLE: the table's rows, tab-separated, without msiinfo's three
# header lines (column names, column types, table name and keys); CRs
# removed. Exported once per MSI and table (MSI paths here have no '/'
# issues: each lives in its own name).
rows() {
	local c="$tmp/rows.$(basename "$1").$2"
	[ -f "$c" ] || "$MSIINFO" export "$1" "$2" 2>/dev/null | tr -d '\r' | tail -n +4 >"$c"
	cat "$c"
}
# col N: field N of a tab-separated line on stdin.
col() { cut -f "$1"; }
# long_name NAME: "SHORT~1.EXE|long name.exe" -> "long name.exe".
long_name() { sed 's/^[^|]*|//'; }

errors=0
bad() { echo "  $*"; errors=$((errors + 1)); }

# seq_of MSI ACTION: its number in InstallExecuteSequence, or empty.
seq_of() { rows "$1" InstallExecuteSequence | awk -F'\t' -v a="$2" '$1 == a { print $3 }'; }
# want_between MSI ACTION LOW HIGH: LOW < ACTION < HIGH in InstallExecuteSequence.
want_between() {
	local s lo hi
	s=$(seq_of "$1" "$2") lo=$(seq_of "$1" "$3") hi=$(seq_of "$1" "$4")
	if [ -z "$s" ] || [ -z "$lo" ] || [ -z "$hi" ]; then
		bad "InstallExecuteSequence: $2 ($s), $3 ($lo) or $4 ($hi) missing"
	elif [ "$s" -le "$lo" ] || [ "$s" -ge "$hi" ]; then
		bad "InstallExecuteSequence: $2 is $s, not between $3 ($lo) and $4 ($hi)"
	fi
}

# check_file MSI NAME BUILT [DIR]: NAME is in the File table of a 64-bit
# component in directory DIR (default INSTALLDIR, [ProgramFiles64Folder]LinkBroker),
# with BUILT's size. Sets FILE_KEY to its File key (empty if missing). No
# subshell: bad() counts in ours.
check_file() {
	local m=$1 name=$2 built=$3 want_dir=${4:-INSTALLDIR} row key comp size want attr dir
	FILE_KEY=
	row=$(rows "$m" File | awk -F'\t' -v n="$name" '{ f = $3; sub(/^[^|]*\|/, "", f) } f == n')
	if [ -z "$row" ] || [ "$(wc -l <<<"$row")" -ne 1 ]; then
		bad "File table: no single row for $name"
		return
	fi
	key=$(col 1 <<<"$row") comp=$(col 2 <<<"$row") size=$(col 4 <<<"$row")
	want=$(stat -c %s "$built")
	[ "$size" = "$want" ] || bad "File table: $name has size $size, the built file $want ($built)"
	attr=$(rows "$m" Component | awk -F'\t' -v c="$comp" '$1 == c { print $4 }')
	dir=$(rows "$m" Component | awk -F'\t' -v c="$comp" '$1 == c { print $3 }')
	[ -n "$attr" ] && (( attr & 0x100 )) || bad "Component $comp ($name): not 64-bit (Attributes '$attr')"
	[ "$dir" = "$want_dir" ] || bad "Component $comp ($name): in directory '$dir', not $want_dir"
	FILE_KEY=$key
}

# check_action MSI FILEKEY ARG CONDITION LOW HIGH: a custom action runs
# the installed linkbrokerd.exe with command line ARG, deferred and not
# impersonated (not rollback/commit), scheduled between LOW and HIGH with
# exactly the condition CONDITION. Sets CA_TYPE to its Type (or empty).
check_action() {
	local m=$1 key=$2 arg=$3 cond=$4 lo=$5 hi=$6 row name type c
	CA_TYPE=
	row=$(rows "$m" CustomAction | awk -F'\t' -v k="$key" -v t="$arg" '$3 == k && $4 == t')
	if [ -z "$row" ] || [ "$(wc -l <<<"$row")" -ne 1 ]; then
		bad "CustomAction: no single action running linkbrokerd.exe '$arg'"
		return
	fi
	name=$(col 1 <<<"$row") type=$(col 2 <<<"$row")
	(( (type & 0x3f) == CA_EXE_FILE )) || bad "CustomAction $name: base type $((type & 0x3f)), want $CA_EXE_FILE (installed .exe)"
	(( type & CA_IN_SCRIPT )) || bad "CustomAction $name: Type $type lacks InScript 0x400 (not deferred)"
	(( type & CA_NO_IMPERSONATE )) || bad "CustomAction $name: Type $type lacks NoImpersonate 0x800 (would run as the user)"
	(( type & (CA_ROLLBACK | CA_COMMIT) )) && bad "CustomAction $name: Type $type is a rollback/commit action"
	c=$(rows "$m" InstallExecuteSequence | awk -F'\t' -v a="$name" '$1 == a { print $2 }')
	[ "$c" = "$cond" ] || bad "InstallExecuteSequence: $name has condition '$c', want '$cond'"
	want_between "$m" "$name" "$lo" "$hi"
	CA_TYPE=$type
}

# property MSI NAME: its value in the Property table.
property() { rows "$1" Property | awk -F'\t' -v p="$2" '$1 == p { print $2 }'; }

# check_msi MSI: every check; 0 when all pass, the problems on stdout.
check_msi() {
	local m=$1 dkey x t tables
	errors=0
	tables=$("$MSIINFO" tables "$m" 2>/dev/null) || { bad "msiinfo cannot read $m"; return 1; }
	for t in File Component Directory CustomAction InstallExecuteSequence Property Upgrade; do
		grep -qx "$t" <<<"$tables" || bad "table $t missing"
	done
	"$MSIINFO" suminfo "$m" 2>/dev/null | grep -q '^Template: x64;' || bad "summary: not an x64 package"
	rows "$m" Directory | grep -qP '^INSTALLDIR\tProgramFiles64Folder\t([^|\t]*\|)?LinkBroker$' \
		|| bad "Directory: INSTALLDIR is not [ProgramFiles64Folder]LinkBroker"

	check_file "$m" linkbrokerd.exe "$daemon"
	dkey=$FILE_KEY
	check_file "$m" linkbroker.exe "$client"
	check_file "$m" linkbroker-shim.dll "$shim"
	check_file "$m" linkbroker.dll "$library"
	# The Group Policy template, laid out as PolicyDefinitions is: the
	# folder can be copied whole to %SystemRoot% or the Central Store.
	check_file "$m" linkbroker.admx "$admx" ADMXDIR
	check_file "$m" linkbroker.adml "$adml" ADMLDIR
	rows "$m" Directory | grep -qP '^ADMXDIR\tINSTALLDIR\t([^|\t]*\|)?PolicyDefinitions$' \
		|| bad "Directory: ADMXDIR is not [INSTALLDIR]PolicyDefinitions"
	rows "$m" Directory | grep -qP '^ADMLDIR\tADMXDIR\t([^|\t]*\|)?en-US$' \
		|| bad "Directory: ADMLDIR is not [ADMXDIR]en-US"
	[ "$(rows "$m" File | wc -l)" -eq 6 ] || bad "File table: $(rows "$m" File | wc -l) files, want 6"

	# The cabinet really holds the built programs, byte for byte.
	x="$tmp/extract.$RANDOM"
	mkdir -p "$x"
	if ! (cd "$x" && "$MSIEXTRACT" "$m" >/dev/null 2>&1); then
		bad "msiextract failed"
	else
		cmp -s "$x/LinkBroker/linkbrokerd.exe" "$daemon" || bad "extracted LinkBroker/linkbrokerd.exe differs from $daemon"
		cmp -s "$x/LinkBroker/linkbroker.exe" "$client" || bad "extracted LinkBroker/linkbroker.exe differs from $client"
		cmp -s "$x/LinkBroker/linkbroker-shim.dll" "$shim" || bad "extracted LinkBroker/linkbroker-shim.dll differs from $shim"
		cmp -s "$x/LinkBroker/linkbroker.dll" "$library" || bad "extracted LinkBroker/linkbroker.dll differs from $library"
		cmp -s "$x/LinkBroker/PolicyDefinitions/linkbroker.admx" "$admx" \
			|| bad "extracted LinkBroker/PolicyDefinitions/linkbroker.admx differs from $admx"
		cmp -s "$x/LinkBroker/PolicyDefinitions/en-US/linkbroker.adml" "$adml" \
			|| bad "extracted LinkBroker/PolicyDefinitions/en-US/linkbroker.adml differs from $adml"
	fi

	if [ -n "$dkey" ]; then
		# install: after the files are there, inside the script, unless the
		# product is being removed; a failure must fail the installation (no
		# Return="ignore").
		check_action "$m" "$dkey" install 'NOT REMOVE~="ALL"' InstallFiles InstallFinalize
		[ -n "$CA_TYPE" ] && (( CA_TYPE & CA_CONTINUE )) && bad "CustomAction install: Type $CA_TYPE ignores failure (0x40)"
		# uninstall: inside the script, before the files go.
		check_action "$m" "$dkey" uninstall 'REMOVE~="ALL"' InstallInitialize RemoveFiles
	fi
	# MajorUpgrade: the old version leaves before this one is installed.
	want_between "$m" RemoveExistingProducts InstallValidate InstallInitialize
	rows "$m" Upgrade | awk -F'\t' -v u="$UPGRADE_CODE" '$1 == u' | grep -q . \
		|| bad "Upgrade table: no row for $UPGRADE_CODE"

	[ "$(property "$m" UpgradeCode)" = "$UPGRADE_CODE" ] \
		|| bad "Property UpgradeCode is '$(property "$m" UpgradeCode)', want $UPGRADE_CODE"
	[ "$(property "$m" ProductVersion)" = "$version" ] \
		|| bad "Property ProductVersion is '$(property "$m" ProductVersion)', want $version"
	[ "$(property "$m" ALLUSERS)" = 1 ] || bad "Property ALLUSERS is not 1 (not per-machine)"
	[ "$errors" -eq 0 ]
}

# The real package: every check passes.
echo "checking $msi"
if ! check_msi "$msi"; then
	echo "FAIL: $msi"
	exit 1
fi
echo "ok: $msi: linkbrokerd.exe, linkbroker.exe, linkbroker-shim.dll, linkbroker.dll, PolicyDefinitions\\linkbroker.admx and en-US\\linkbroker.adml ($(stat -c %s "$daemon"), $(stat -c %s "$client"), $(stat -c %s "$shim"), $(stat -c %s "$library") bytes), install/uninstall actions deferred as LocalSystem, UpgradeCode $UPGRADE_CODE, version $version"

# Broken copies: each must be caught. (Names from packaging/linkbroker.wxs;
# if they change, the mutation changes nothing and this part fails.)
mutations=(
	"lost client|DELETE FROM \`File\` WHERE \`FileName\`='linkbroker.exe'"
	"lost daemon|DELETE FROM \`File\` WHERE \`FileName\`='linkbrokerd.exe'"
	"lost shim|DELETE FROM \`File\` WHERE \`FileName\`='linkbroker-shim.dll'"
	"lost library|DELETE FROM \`File\` WHERE \`FileName\`='linkbroker.dll'"
	"lost ADMX|DELETE FROM \`File\` WHERE \`File\`='LinkBrokerAdmx'"
	"lost ADML|DELETE FROM \`File\` WHERE \`File\`='LinkBrokerAdml'"
	"ADML beside the ADMX|UPDATE \`Component\` SET \`Directory_\`='ADMXDIR' WHERE \`Component\`='CompAdml'"
	"template not under the install folder|UPDATE \`Directory\` SET \`Directory_Parent\`='TARGETDIR' WHERE \`Directory\`='ADMXDIR'"
	"wrong size|UPDATE \`File\` SET \`FileSize\`=1 WHERE \`FileName\`='linkbrokerd.exe'"
	"lost install action|DELETE FROM \`CustomAction\` WHERE \`Target\`='install'"
	"lost uninstall action|DELETE FROM \`CustomAction\` WHERE \`Target\`='uninstall'"
	"install not scheduled|DELETE FROM \`InstallExecuteSequence\` WHERE \`Action\`='LBServiceInstall'"
	"uninstall not scheduled|DELETE FROM \`InstallExecuteSequence\` WHERE \`Action\`='LBServiceUninstall'"
	"install immediate|UPDATE \`CustomAction\` SET \`Type\`=2066 WHERE \`Target\`='install'"
	"install impersonated|UPDATE \`CustomAction\` SET \`Type\`=1042 WHERE \`Target\`='install'"
	"install as rollback|UPDATE \`CustomAction\` SET \`Type\`=3346 WHERE \`Target\`='install'"
	"install ignores failure|UPDATE \`CustomAction\` SET \`Type\`=3154 WHERE \`Target\`='install'"
	"install on removal|UPDATE \`InstallExecuteSequence\` SET \`Condition\`='REMOVE~=\"ALL\"' WHERE \`Action\`='LBServiceInstall'"
	"uninstall on installation|UPDATE \`InstallExecuteSequence\` SET \`Condition\`='NOT REMOVE~=\"ALL\"' WHERE \`Action\`='LBServiceUninstall'"
	"uninstall impersonated|UPDATE \`CustomAction\` SET \`Type\`=1042 WHERE \`Target\`='uninstall'"
	"install before InstallInitialize (wixl's After/Before)|UPDATE \`InstallExecuteSequence\` SET \`Sequence\`=1402 WHERE \`Action\`='LBServiceInstall'"
	"uninstall after RemoveFiles|UPDATE \`InstallExecuteSequence\` SET \`Sequence\`=3600 WHERE \`Action\`='LBServiceUninstall'"
	"RemoveExistingProducts after InstallFinalize|UPDATE \`InstallExecuteSequence\` SET \`Sequence\`=6601 WHERE \`Action\`='RemoveExistingProducts'"
	"other UpgradeCode|UPDATE \`Property\` SET \`Value\`='{00000000-0000-0000-0000-000000000000}' WHERE \`Property\`='UpgradeCode'"
	"other version|UPDATE \`Property\` SET \`Value\`='9.9.9' WHERE \`Property\`='ProductVersion'"
	"per-user|DELETE FROM \`Property\` WHERE \`Property\`='ALLUSERS'"
)
missed=0 n=0
for mut in "${mutations[@]}"; do
	what=${mut%%|*} sql=${mut#*|}
	n=$((n + 1))
	copy="$tmp/mutant$n.msi"
	cp "$msi" "$copy"
	if ! "$MSIBUILD" "$copy" -q "$sql" >/dev/null 2>&1; then
		echo "FAIL: msibuild could not apply mutation '$what': $sql"
		missed=$((missed + 1))
		continue
	fi
	if out=$(check_msi "$copy"); then
		echo "FAIL: a package with '$what' passed the checks"
		missed=$((missed + 1))
	else
		echo "ok: '$what' caught:$(head -n 1 <<<"$out")"
	fi
done
[ "$missed" -eq 0 ] || { echo "FAIL: $missed of $n broken packages not caught"; exit 1; }
echo "ok: all $n broken packages caught"
