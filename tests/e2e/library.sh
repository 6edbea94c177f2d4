#!/usr/bin/env bash
# liblinkbroker as another project uses it (issue 14): installed with
# `cmake --install` into a fresh prefix, the example built with pkg-config
# (shared and --static) and with find_package(LinkBroker) (both targets),
# each run as a real unprivileged user against the real POSIX daemon: a
# link made, a denial, an unreachable broker; the installed `linkbroker
# run` finds the installed shim. The ABI: soname liblinkbroker.so.1,
# nothing exported but linkbroker_* at LINKBROKER_1; the shim exports the
# four wrappers only.
#   library.sh LINKBROKERD BUILD_DIR SOURCE_DIR LB_NOLINK
# Exit 77 (ctest: skipped) with the reason when not root or a tool is missing.
set -u
LBD=$1 BUILD=$2 SRC=$3 NOLINK=$4
for v in LBD BUILD SRC NOLINK; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done

. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser cc pkg-config cmake nm objdump

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=ll${sfx}a
R=$(mktemp -d /tmp/lblib.XXXXXX)
chmod 0755 "$R"
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	getent passwd "$UA" >/dev/null && userdel "$UA" 2>/dev/null
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

P=$R/prefix
if ! cmake --install "$BUILD" --prefix "$P" > "$R/install.log" 2>&1; then
	echo "FAIL: cmake --install:"; cat "$R/install.log"; exit 1
fi
LIBDIR=$(dirname "$(find "$P" -name linkbroker.pc | head -n 1)")/..
LIBDIR=$(cd "$LIBDIR" && pwd)
check "installed: header, shared and static library, pkg-config, CMake package, man page" \
	test -f "$P/include/linkbroker.h" -a -L "$LIBDIR/liblinkbroker.so.1" -a -f "$LIBDIR/liblinkbroker.a" \
	-a -f "$LIBDIR/cmake/LinkBroker/LinkBrokerConfig.cmake" -a -f "$P/share/man/man3/linkbroker.3" \
	-a -f "$LIBDIR/linkbroker/liblinkbroker-shim.so"

# --- ABI ---
check "soname liblinkbroker.so.1" grep -q 'SONAME *liblinkbroker.so.1$' <(objdump -p "$LIBDIR/liblinkbroker.so.1")
exported=$(nm -D --defined-only "$LIBDIR/liblinkbroker.so.1" | awk '$2 != "A" { print $3 }' | sort)
check "only linkbroker_* is exported, each at LINKBROKER_1 ($(grep -vc '^linkbroker_.*@@LINKBROKER_1$' <<<"$exported") others)" \
	test -n "$exported" -a "$(grep -vc '^linkbroker_.*@@LINKBROKER_1$' <<<"$exported")" -eq 0
check "15 functions in the API" test "$(wc -l <<<"$exported")" -eq 15
shim=$(nm -D --defined-only "$LIBDIR/linkbroker/liblinkbroker-shim.so" | awk '{ print $3 }' | sort | tr '\n' ' ')
check "the shim exports link, linkat, symlink, symlinkat and nothing else ($shim)" test "$shim" = "link linkat symlink symlinkat "
if command -v man >/dev/null 2>&1; then
	man_out=$(MANWIDTH=80 man -l "$P/share/man/man3/linkbroker.3" 2>&1 | head -n 5)
	check "linkbroker(3) renders" grep -q 'linkbroker_open' <<<"$man_out"
else
	echo "NOTE: man is not installed; linkbroker(3) is installed but not rendered here"
fi

# --- the example, built three ways ---
mkdir -p "$R/ex"
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
cc -Wall -Werror -o "$R/ex/pc_shared" "$SRC/client/examples/linkbroker_example.c" \
	$(pkg-config --cflags --libs linkbroker) > "$R/cc.log" 2>&1
check "cc \$(pkg-config --cflags --libs linkbroker) builds the example ($(cat "$R/cc.log"))" test -x "$R/ex/pc_shared"
cc -Wall -Werror -static-libgcc -o "$R/ex/pc_static" "$SRC/client/examples/linkbroker_example.c" \
	$(pkg-config --cflags linkbroker) "$LIBDIR/liblinkbroker.a" $(pkg-config --static --libs-only-l linkbroker | sed 's/-llinkbroker//') \
	> "$R/cc2.log" 2>&1
check "the example links the static library with pkg-config --static ($(cat "$R/cc2.log"))" test -x "$R/ex/pc_static"
check "the static example does not need liblinkbroker.so" \
	test "$(objdump -p "$R/ex/pc_static" 2>/dev/null | grep -c 'NEEDED *liblinkbroker')" -eq 0
cmake -S "$SRC/client/examples" -B "$R/ex/cm" -G Ninja -DCMAKE_PREFIX_PATH="$P" > "$R/cm.log" 2>&1 &&
	cmake --build "$R/ex/cm" >> "$R/cm.log" 2>&1
check "find_package(LinkBroker) builds LinkBroker::linkbroker and ::linkbroker_static ($(tail -n 3 "$R/cm.log"))" \
	test -x "$R/ex/cm/linkbroker_example" -a -x "$R/ex/cm/linkbroker_example_static"
chmod -R a+rX "$R"

# --- run as a user against the real daemon ---
getent passwd "$UA" >/dev/null && userdel "$UA"
H=$R/home/$UA
mkdir -p "$H/links" "$H/other" "$R/etc"
useradd -M -d "$H" -s /bin/sh -c "linkbroker e2e library" "$UA"
chown -R "$UA:" "$H"
chmod 0755 "$H"
S=$R/run/broker.sock
as() {
	(cd "$H" && runuser -u "$UA" -- env HOME="$H" PATH=/usr/bin:/bin LD_LIBRARY_PATH="$LIBDIR" \
		LINKBROKER_ENDPOINT="$S" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" "$@")
}
run() {
	out=$(as "$@" 2>&1)
	rc=$?
}
as "$P/bin/linkbroker" keygen > "$R/a.block" 2>/dev/null || bad "keygen (installed linkbroker)"
cat > "$R/etc/policy.ini" <<EOF
$(lb_e2e_broker_ini "$R" "$S")

$(cat "$R/a.block")

[rule:links]
users = $UA
kinds = symlink
link_under = %HOME%/links
target_under = %HOME%
action = allow
EOF
chmod 0644 "$R/etc/policy.ini"
lb_e2e_start "$LBD" "$R" "$S"
for ex in pc_shared pc_static cm/linkbroker_example cm/linkbroker_example_static; do
	n=$(basename "$ex")
	run "$R/ex/$ex" "links/$n" "$H/other"
	check "$ex: made links/$n (exit $rc: $out)" test "$rc" -eq 0 -a "$(readlink "$H/links/$n" 2>&1)" = "$H/other"
	check "$ex: says so with the rule" grep -qF "created links/$n -> $H/other (rule links)" <<<"$out"
	run "$R/ex/$ex" "other/$n" "$H/other"
	check "$ex: a denial exits 1 with the reason ($rc: $out)" \
		test "$rc" -eq 1 -a ! -L "$H/other/$n" -a "$(grep -c 'no rule allows' <<<"$out")" -gt 0
done
run env LINKBROKER_ENDPOINT="$R/none.sock" "$R/ex/pc_shared" links/x "$H/other"
check "no broker: exit 3, and where it looked ($rc: $out)" \
	test "$rc" -eq 3 -a "$(grep -c "$R/none.sock" <<<"$out")" -gt 0
run "$P/bin/linkbroker" run -- "$NOLINK" ln -s "$H/other" "$H/links/via-run"
check "the installed linkbroker run finds the installed shim ($rc: $out)" \
	test "$rc" -eq 0 -a "$(readlink "$H/links/via-run" 2>&1)" = "$H/other"
run env LINKBROKER_SHIM="$R/no-shim.so" "$P/bin/linkbroker" run -- true
check "run without a shim to load: exit 125 and says so ($rc: $out)" \
	test "$rc" -eq 125 -a "$(grep -c 'cannot find liblinkbroker-shim.so' <<<"$out")" -gt 0

echo "library: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
