#!/usr/bin/env bash
# package.deb: the Debian packages scripts/package built, read back and
# installed for real into a root of their own:
# 1. dpkg-deb -I: names, version, architecture, Depends from dpkg-shlibdeps
#    (libc6, libsodium23, libsystemd0; no sanitizer runtime, no libinih: it is compiled
#    in), conffiles, maintainer scripts 0755, shlibs and the ldconfig trigger;
# 2. dpkg-deb -c: exactly the expected files, root-owned, with their modes;
#    the unit, policy, logrotate and completion files byte for byte those in
#    packaging/; the programs stripped, PIE, BIND_NOW, not sanitized;
# 3. the unit: systemd-analyze verify silent, and an offline
#    `systemd-analyze security` exposure of at most 5.0 ("OK");
# 4. lintian, when installed (not a dependency: it is big), reported only;
# 5. dpkg --root=DIR --force-script-chrootless: an admin dir that knows
#    only the packages the Depends name (copied from this machine's, so the
#    dependency check is real); postinst without systemd succeeds, says so,
#    makes /var/log/linkbroker 0700 root; the installed programs run; the
#    dev package installs beside it; a reinstall keeps an edited policy;
#    remove keeps the conffiles; purge removes /etc/linkbroker (policy and
#    the service key) and the unit's enablement link and keeps the audit log,
#    and nothing else of the package is left.
# Skips (exit 77, saying why) when not root.
#   deb.sh BUILD_DIR VERSION SOURCE_DIR
set -u
build=$1 version=$2 src=$3
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: installing with dpkg --root needs root"; exit 77; fi
for tool in dpkg dpkg-deb dpkg-query readelf; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (dpkg-dev, binutils)"; exit 1; }
done
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null) || triplet=$(gcc -print-multiarch)
deb=$build/linkbroker_${version}_${arch}.deb
dev=$build/liblinkbroker-dev_${version}_${arch}.deb
for f in "$deb" "$dev"; do
	[ -f "$f" ] || { echo "FAIL: $f does not exist (bash scripts/package $build)"; exit 1; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# --- 1. control fields ----------------------------------------------------
field() { dpkg-deb -f "$1" "$2"; }
check "Package is linkbroker ($(field "$deb" Package))" [ "$(field "$deb" Package)" = linkbroker ]
check "Version is $version ($(field "$deb" Version))" [ "$(field "$deb" Version)" = "$version" ]
check "Architecture is $arch ($(field "$deb" Architecture))" [ "$(field "$deb" Architecture)" = "$arch" ]
check "Maintainer set" [ -n "$(field "$deb" Maintainer)" ]
check "Section admin ($(field "$deb" Section))" [ "$(field "$deb" Section)" = admin ]
depends=$(field "$deb" Depends)
check "Depends names libc6 and libsodium23 with versions ($depends)" \
	grep -qE '(^|, )libc6 \(>= [0-9.]+\)(, |$)' <<<"$depends"
check "Depends names libsodium23 ($depends)" grep -qE '(^|, )libsodium23 \(>= [0-9.]+\)(, |$)' <<<"$depends"
check "Depends names libsystemd0: the daemon logs to journald with its fields ($depends)" \
	grep -qE '(^|, )libsystemd0( \(>= [0-9.]+\))?(, |$)' <<<"$depends"
check "Depends has no sanitizer runtime or libinih ($depends)" \
	bash -c '! grep -qE "libasan|libubsan|libinih" <<<"$1"' _ "$depends"
check "dev: Package liblinkbroker-dev" [ "$(field "$dev" Package)" = liblinkbroker-dev ]
check "dev: Depends on linkbroker (= $version) ($(field "$dev" Depends))" \
	grep -qF "linkbroker (= $version)" <<<"$(field "$dev" Depends)"
mkdir "$tmp/ctl"
dpkg-deb -e "$deb" "$tmp/ctl"
check "conffiles: the policy and the logrotate file, nothing else ($(tr '\n' ' ' <"$tmp/ctl/conffiles" 2>&1))" \
	[ "$(sort "$tmp/ctl/conffiles" 2>/dev/null)" = "$(printf '%s\n' /etc/linkbroker/policy.ini /etc/logrotate.d/linkbroker)" ]
for s in postinst prerm postrm; do
	check "maintainer script $s is packaging/deb/$s, mode 0755" \
		bash -c '[ "$(stat -c %a "$1")" = 755 ] && cmp -s "$1" "$2"' _ "$tmp/ctl/$s" "$src/packaging/deb/$s"
done
check "shlibs: liblinkbroker 1 linkbroker (>= $version) ($(cat "$tmp/ctl/shlibs" 2>&1))" \
	[ "$(cat "$tmp/ctl/shlibs" 2>/dev/null)" = "liblinkbroker 1 linkbroker (>= $version)" ]
check "triggers: ldconfig" grep -qx 'activate-noawait ldconfig' "$tmp/ctl/triggers"

# --- 2. contents ----------------------------------------------------------
# contents DEB: "MODE OWNER PATH" per entry that is not a directory, sorted;
# the directories separately must all be drwxr-xr-x root/root.
contents() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { p = $6; if ($1 ~ /^l/) p = p " -> " $8; print $1, $2, p }' | sort; }
want_main=$(sort <<EOF
-rw-r--r-- root/root ./etc/linkbroker/policy.ini
-rw-r--r-- root/root ./etc/logrotate.d/linkbroker
-rwxr-xr-x root/root ./usr/bin/linkbroker
-rwxr-xr-x root/root ./usr/sbin/linkbrokerd
-rw-r--r-- root/root ./usr/lib/systemd/system/linkbroker.service
lrwxrwxrwx root/root ./usr/lib/$triplet/liblinkbroker.so.1 -> liblinkbroker.so.1.0.0
-rw-r--r-- root/root ./usr/lib/$triplet/liblinkbroker.so.1.0.0
-rw-r--r-- root/root ./usr/lib/$triplet/linkbroker/liblinkbroker-shim.so
-rw-r--r-- root/root ./usr/share/bash-completion/completions/linkbroker
-rw-r--r-- root/root ./usr/share/bash-completion/completions/linkbrokerd
-rw-r--r-- root/root ./usr/share/doc/linkbroker/examples/posix.ini
-rw-r--r-- root/root ./usr/share/man/man1/linkbroker.1
-rw-r--r-- root/root ./usr/share/man/man8/linkbrokerd.8
EOF
)
want_dev=$(sort <<EOF
-rw-r--r-- root/root ./usr/include/linkbroker.h
-rw-r--r-- root/root ./usr/lib/$triplet/cmake/LinkBroker/LinkBrokerConfig.cmake
-rw-r--r-- root/root ./usr/lib/$triplet/cmake/LinkBroker/LinkBrokerConfigVersion.cmake
-rw-r--r-- root/root ./usr/lib/$triplet/cmake/LinkBroker/LinkBrokerTargets-none.cmake
-rw-r--r-- root/root ./usr/lib/$triplet/cmake/LinkBroker/LinkBrokerTargets.cmake
-rw-r--r-- root/root ./usr/lib/$triplet/liblinkbroker.a
lrwxrwxrwx root/root ./usr/lib/$triplet/liblinkbroker.so -> liblinkbroker.so.1
-rw-r--r-- root/root ./usr/lib/$triplet/pkgconfig/linkbroker.pc
-rw-r--r-- root/root ./usr/share/man/man3/linkbroker.3
EOF
)
# same_contents NAME DEB WANT: DEB holds exactly WANT; its directories are
# all drwxr-xr-x root/root.
same_contents() {
	local got dirs
	got=$(contents "$2")
	if [ "$got" = "$3" ]; then ok; else
		bad "$1 package contents differ (< expected, > packaged):"
		diff <(echo "$3") <(echo "$got") | grep '^[<>]'
	fi
	dirs=$(dpkg-deb -c "$2" | awk '$1 ~ /^d/ && ($1 != "drwxr-xr-x" || $2 != "root/root")')
	check "$1 package: every directory drwxr-xr-x root/root: $dirs" [ -z "$dirs" ]
}
same_contents linkbroker "$deb" "$want_main"
same_contents liblinkbroker-dev "$dev" "$want_dev"
mkdir "$tmp/x"
dpkg-deb -x "$deb" "$tmp/x"
for f in systemd/linkbroker.service:usr/lib/systemd/system/linkbroker.service \
    linkbroker/policy.ini:etc/linkbroker/policy.ini logrotate.d/linkbroker:etc/logrotate.d/linkbroker \
    bash-completion/linkbroker:usr/share/bash-completion/completions/linkbroker \
    bash-completion/linkbrokerd:usr/share/bash-completion/completions/linkbrokerd; do
	check "packaged /${f#*:} is packaging/${f%%:*}" cmp -s "$src/packaging/${f%%:*}" "$tmp/x/${f#*:}"
done
for b in usr/sbin/linkbrokerd usr/bin/linkbroker usr/lib/$triplet/liblinkbroker.so.1.0.0 \
    usr/lib/$triplet/linkbroker/liblinkbroker-shim.so; do
	check "/$b stripped (no .symtab)" bash -c '! readelf -S "$1" | grep -q "\.symtab"' _ "$tmp/x/$b"
	check "/$b not sanitized (no libasan/libubsan)" \
		bash -c '! readelf -d "$1" | grep -qE "lib(a|ub)san"' _ "$tmp/x/$b"
	check "/$b linked with -z now (BIND_NOW)" bash -c 'readelf -d "$1" | grep -qE "BIND_NOW|FLAGS_1.*NOW"' _ "$tmp/x/$b"
	check "/$b has GNU_RELRO" bash -c 'readelf -lW "$1" | grep -q GNU_RELRO' _ "$tmp/x/$b"
done
for b in usr/sbin/linkbrokerd usr/bin/linkbroker; do
	check "/$b is PIE" bash -c 'readelf -h "$1" | grep -q "Type:.*DYN"' _ "$tmp/x/$b"
done

# --- 3. the unit ----------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	# verify on a copy whose ExecStart is the extracted binary (it must exist).
	mkdir "$tmp/unit"
	sed "s|^ExecStart=/usr/sbin/linkbrokerd|ExecStart=$tmp/x/usr/sbin/linkbrokerd|" \
		"$tmp/x/usr/lib/systemd/system/linkbroker.service" >"$tmp/unit/linkbroker.service"
	out=$(systemd-analyze verify "$tmp/unit/linkbroker.service" 2>&1)
	check "systemd-analyze verify says nothing ($?): $out" [ -z "$out" ]
	exposure=$(systemd-analyze security --offline=yes --root="$tmp/x" linkbroker.service 2>&1 |
		sed -n 's/.*Overall exposure level for linkbroker.service: \([0-9.]*\).*/\1/p')
	check "unit exposure ($exposure) at most 5.0" awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 5.0) }'
else
	echo "NOTE: systemd-analyze not found (package systemd): unit not verified"
fi

# --- 4. lintian -----------------------------------------------------------
if command -v lintian >/dev/null; then
	echo "lintian (reported, not checked):"
	lintian "$deb" "$dev" 2>&1 | sed 's/^/  /'
else
	echo "NOTE: lintian not installed: no lintian report (not a dependency of this test)"
fi

# --- 5. installed into a root of its own ----------------------------------
R=$tmp/root
adm=$R/var/lib/dpkg
mkdir -p "$adm/info" "$adm/updates" "$adm/triggers" "$R/var/log"
: >"$adm/available"
# The packages both Depends name, as this machine has them installed.
: >"$adm/status"
for p in $( (field "$deb" Depends; echo; field "$dev" Depends) | tr ',' '\n' |
    sed 's/(.*)//; s/ //g' | grep -v '^linkbroker$' | sed '/^$/d' | sort -u); do
	if ! dpkg-query -s "$p" >>"$adm/status" 2>/dev/null; then
		bad "dependency $p is not installed on this machine: cannot check it"
		continue
	fi
	echo >>"$adm/status"
	: >"$adm/info/$(dpkg-query -W -f '${binary:Package}' "$p").list"
done
# dpkg_r ARGS...: dpkg on the root, maintainer scripts run outside it with
# DPKG_ROOT set (the scripts are written for that).
dpkg_r() { dpkg --root="$R" --force-script-chrootless --log="$tmp/dpkg.log" "$@"; }
mode() { stat -c '%U:%G %a %F' "$R$1" 2>&1; }

out=$(dpkg_r -i "$deb" 2>&1); rc=$?
check "dpkg -i exit 0 ($rc): $out" [ "$rc" -eq 0 ]
check "postinst says systemd is not running: $out" grep -q "systemd is not running: linkbroker.service installed but not enabled" <<<"$out"
check "installed: Status install ok installed" \
	[ "$(dpkg-query --admindir="$adm" -W -f '${Status}' linkbroker 2>&1)" = "install ok installed" ]
check "/var/log/linkbroker made by postinst, root 0700 ($(mode /var/log/linkbroker))" \
	[ "$(mode /var/log/linkbroker)" = "root:root 700 directory" ]
check "/usr/sbin/linkbrokerd root 0755 ($(mode /usr/sbin/linkbrokerd))" \
	[ "$(mode /usr/sbin/linkbrokerd)" = "root:root 755 regular file" ]
check "/usr/bin/linkbroker root 0755 ($(mode /usr/bin/linkbroker))" \
	[ "$(mode /usr/bin/linkbroker)" = "root:root 755 regular file" ]
check "/etc/linkbroker root 0755 ($(mode /etc/linkbroker))" [ "$(mode /etc/linkbroker)" = "root:root 755 directory" ]
check "/etc/linkbroker/policy.ini root 0644 ($(mode /etc/linkbroker/policy.ini))" \
	[ "$(mode /etc/linkbroker/policy.ini)" = "root:root 644 regular file" ]
check "/usr/lib/systemd/system/linkbroker.service root 0644" \
	[ "$(mode /usr/lib/systemd/system/linkbroker.service)" = "root:root 644 regular file" ]
check "dpkg records both conffiles" \
	[ "$(dpkg-query --admindir="$adm" -W -f '${Conffiles}' linkbroker | awk 'NF { print $1 }' | sort | tr '\n' ' ')" = "/etc/linkbroker/policy.ini /etc/logrotate.d/linkbroker " ]
# The installed programs run, and the policy allows nothing.
out=$("$R/usr/sbin/linkbrokerd" check-config --flavor posix "$R/etc/linkbroker/policy.ini" 2>&1); rc=$?
check "installed linkbrokerd check-config accepts the installed policy ($rc): $out" [ "$rc" -eq 0 ]
out=$("$R/usr/sbin/linkbrokerd" explain --config "$R/etc/linkbroker/policy.ini" --flavor posix \
	--user root /srv/link /srv/target 2>&1); rc=$?
check "the installed policy denies (explain exit $rc, want 1): $out" [ "$rc" -eq 1 ]
out=$("$R/usr/bin/linkbroker" --help 2>&1); rc=$?
check "installed linkbroker --help exit 0 ($rc)" [ "$rc" -eq 0 ]
out=$(LD_LIBRARY_PATH="$R/usr/lib/$triplet" ldd "$R/usr/lib/$triplet/liblinkbroker.so.1" 2>&1)
check "liblinkbroker.so.1 resolves its libraries: $out" bash -c '! grep -q "not found" <<<"$1"' _ "$out"

out=$(dpkg_r -i "$dev" 2>&1); rc=$?
check "dpkg -i liblinkbroker-dev exit 0 ($rc): $out" [ "$rc" -eq 0 ]
check "dev: the .so link resolves" [ -f "$R/usr/lib/$triplet/liblinkbroker.so" ]
out=$(dpkg_r -r liblinkbroker-dev 2>&1); rc=$?
check "dpkg -r liblinkbroker-dev exit 0 ($rc): $out" [ "$rc" -eq 0 ]

# An administrator's edit survives a reinstallation (a conffile).
echo "; the administrator's edit" >>"$R/etc/linkbroker/policy.ini"
out=$(dpkg_r -i "$deb" 2>&1 </dev/null); rc=$?
check "reinstall exit 0 ($rc): $out" [ "$rc" -eq 0 ]
check "reinstall keeps the edited policy" grep -q "the administrator's edit" "$R/etc/linkbroker/policy.ini"

# What the running broker and systemd would have made: the key pair, the
# audit log, the enablement link.
printf 'secret\n' >"$R/etc/linkbroker/service.key"
printf 'public\n' >"$R/etc/linkbroker/service.pub"
printf '{"seq":1}\n' >"$R/var/log/linkbroker/audit.log"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -s /usr/lib/systemd/system/linkbroker.service "$R/etc/systemd/system/multi-user.target.wants/linkbroker.service"

out=$(dpkg_r -r linkbroker 2>&1); rc=$?
check "dpkg -r exit 0 ($rc): $out" [ "$rc" -eq 0 ]
check "remove: programs gone" [ ! -e "$R/usr/sbin/linkbrokerd" ] && [ ! -e "$R/usr/bin/linkbroker" ]
check "remove: the policy (a conffile) and the service key stay" \
	[ -f "$R/etc/linkbroker/policy.ini" ] && [ -f "$R/etc/linkbroker/service.key" ]
out=$(dpkg_r -P linkbroker 2>&1); rc=$?
check "dpkg -P exit 0 ($rc): $out" [ "$rc" -eq 0 ]
check "purge says the audit log is kept: $out" grep -q "kept the audit log /var/log/linkbroker" <<<"$out"
check "purge removes /etc/linkbroker (policy, service key)" [ ! -e "$R/etc/linkbroker" ]
check "purge removes the enablement link" \
	[ ! -e "$R/etc/systemd/system/multi-user.target.wants/linkbroker.service" ] &&
	[ ! -L "$R/etc/systemd/system/multi-user.target.wants/linkbroker.service" ]
check "purge keeps the audit log" grep -q '"seq":1' "$R/var/log/linkbroker/audit.log"
check "purge keeps /var/log/linkbroker root 0700" [ "$(mode /var/log/linkbroker)" = "root:root 700 directory" ]
check "purged: dpkg no longer knows linkbroker" \
	bash -c '! dpkg-query --admindir="$1" -W linkbroker >/dev/null 2>&1' _ "$adm"
# Left in the root: the admin dir, the audit log, and the directories this
# test made; nothing of the package.
left=$(cd "$R" && find . -mindepth 1 ! -path './var/lib/dpkg*' ! -type d | sort | tr '\n' ' ')
check "only the audit log is left (left: $left)" [ "$left" = "./var/log/linkbroker/audit.log " ]
left=$(cd "$R" && find . -mindepth 1 -type d ! -path './var/lib/dpkg*' | sort | tr '\n' ' ')
check "no directory of the package is left (left: $left)" \
	[ "$left" = "./etc ./etc/systemd ./etc/systemd/system ./etc/systemd/system/multi-user.target.wants ./var ./var/lib ./var/log ./var/log/linkbroker " ]

echo "deb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
