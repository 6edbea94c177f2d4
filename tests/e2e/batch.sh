#!/usr/bin/env bash
# Batches signed once (issue 15), with the real POSIX daemon as root and a
# real unprivileged user:
#  1. `linkbroker batch` of 700 lines goes as batch messages of up to 256
#     (one "batch" record with the signed batch each, then one record per
#     line naming it); allowed, denied, existing and bad lines each get
#     their own result, the links are on disk; a line inside a directory
#     link made earlier in the same batch is decided after it exists.
#  2. verify-audit --config proves every batch-made link offline; a log
#     rewritten by someone with write access (every hash recomputed) is
#     still caught: an entry changed, an entry dropped, a batch record
#     removed, an entry moved to another batch.
#  3. The single-request protocol still works: one link, and a batch sent
#     one by one (LINKBROKER_BATCH_V1=1, as a client older than batches).
#   batch.sh LINKBROKERD LINKBROKER
# Exit 77 (ctest: skipped) with the reason when not root or a tool is missing.
set -u
LBD=$1 LB=$2
for v in LBD LB; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
PY=/usr/bin/python3

. "$(dirname "$0")/lib.sh"
lb_e2e_need_root useradd userdel runuser "$PY"

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lq${sfx}a
R=$(mktemp -d /tmp/lbbatch.XXXXXX)
chmod 0755 "$R"
DPID=

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	getent passwd "$UA" >/dev/null && userdel "$UA" 2>/dev/null
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

getent passwd "$UA" >/dev/null && userdel "$UA"
H=$R/home/$UA
mkdir -p "$H/links" "$H/real" "$R/etc"
useradd -M -d "$H" -s /bin/sh -c "linkbroker e2e batch" "$UA"
echo data > "$H/target"
chown -R "$UA:" "$H"
chmod 0755 "$H"
S=$R/run/broker.sock
LOG=$R/log/audit.log

as() {
	(cd "$H" && runuser -u "$UA" -- env HOME="$H" PATH=/usr/bin:/bin \
		LINKBROKER_ENDPOINT="$S" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
run() {
	out=$(as "$@" 2>&1)
	rc=$?
}
count() { grep -c -- "$1" "${2:-$LOG}"; }

as "$LB" keygen > "$R/a.block" 2>/dev/null || bad "keygen"
cat > "$R/etc/policy.ini" <<EOF
$(lb_e2e_broker_ini "$R" "$S")

$(cat "$R/a.block")

[rule:links]
users = $UA
kinds = symlink, dirsymlink, hardlink
link_under = %HOME%/links, %HOME%/real
target_under = %HOME%
action = allow

[rule:not-these]
users = $UA
kinds = *
link_under = %HOME%/links/no
target_under = *
action = deny
EOF
chmod 0644 "$R/etc/policy.ini"
lb_e2e_start "$LBD" "$R" "$S"

# --- 1. one batch of 700 lines -------------------------------------------
as touch "$H/links/exists"
as mkdir "$H/links/no"
{
	echo "/D $H/links/d $H/real"
	echo "$H/links/d/inner $H/target"        # inside the line before it
	for i in $(seq 1 690); do echo "links/l$i ../target"; done
	echo "links/no/x1 $H/target"              # denied by rule
	echo "links/exists $H/target"             # the name is taken
	echo "/H links/h1 $H/target"
	echo "links/l1 $H/target"                 # the same name again
	echo "$H/outside $H/target"               # no rule allows
	echo "/H links/h2 /etc/passwd"            # not the user's to link
	echo "links/l700 $H/target"
} > "$R/lines"
chmod 0644 "$R/lines"
n=$(wc -l < "$R/lines")
recs0=$(wc -l < "$LOG")
run "$LB" batch "$R/lines"
check "batch: exit 4 (the worst result: a line failed), got $rc" test "$rc" -eq 4
check "batch: one result per line ($(grep -c . <<<"$out") for $n)" test "$(grep -c . <<<"$out")" -eq "$n"
made=0
for i in $(seq 1 690) 700; do [ -L "$H/links/l$i" ] && made=$((made + 1)); done
check "batch: the 691 symbolic links are on disk ($made)" test "$made" -eq 691
check "batch: l5 points where asked" test "$(readlink "$H/links/l5")" = ../target
check "batch: the directory link, and the line inside it after it" \
	test -L "$H/links/d" -a -L "$H/real/inner"
check "batch: the hard link" test "$(stat -c %i "$H/links/h1")" = "$(stat -c %i "$H/target")"
check "batch: the denied line made nothing" test ! -e "$H/links/no/x1"
check "batch: the denial names its rule" grep -q 'not-these' <<<"$out"
check "batch: the taken name is reported" grep -q 'already exists' <<<"$out"
check "batch: the existing file is untouched" test -f "$H/links/exists" -a ! -L "$H/links/exists"
check "batch: the outside link is refused" test ! -e "$H/outside"
tail -n +$((recs0 + 1)) "$LOG" > "$R/new.log"
batches=$(count '"event":"batch"' "$R/new.log")
entries=$(count '"batch":"' "$R/new.log")
# d/inner needs d: the first message ends after d (1 line, then 256, 256, 186)
check "audit: one batch record per message ($batches, want 4)" test "$batches" -eq 4
check "audit: one record per line naming its batch ($entries for $n)" test "$entries" -eq "$n"
check "audit: a batch record stores the signed batch" \
	grep -q '"event":"batch","verdict":"allowed".*"request":"Ag' "$R/new.log"
check "audit: a denied entry names its rule and index" \
	grep -q '"verdict":"denied".*"rule":"not-these".*"index":' "$R/new.log"
check "audit: the taken name's second record" \
	grep -q '"verdict":"failed".*exists/\?' "$R/new.log"
out=$("$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit --config: intact ($out)" test "$rc" -eq 0

# --- 2. a rewritten log is still caught -----------------------------------
# tamper LOG OUT EXPR: OUT := LOG with EXPR applied to its list of parsed
# lines (python), then every seq, prev and hash recomputed.
tamper() {
	"$PY" - "$1" "$2" "$3" <<'PYEOF'
import hashlib, json, re, sys
src, dst, expr = sys.argv[1:4]
lines = open(src, "rb").read().split(b"\n")[:-1]
recs = [json.loads(l) for l in lines]
batch_at = [i for i, r in enumerate(recs) if r["event"] == "batch"]
def entry(b, k):            # index in LINES of entry K of the B-th batch
    return batch_at[b] + 1 + k
exec(expr)
out, prev = [], "0" * 64
for seq, l in enumerate(lines, 1):
    l = re.sub(rb'^\{"seq":\d+,', b'{"seq":%d,' % seq, l)
    l = re.sub(rb',"prev":"[0-9a-f]{64}"', (',"prev":"%s"' % prev).encode(), l)
    head = l[:l.index(b',"hash":"')]
    prev = hashlib.blake2b(head, digest_size=32).hexdigest()
    out.append(head + (',"hash":"%s"}' % prev).encode())
open(dst, "wb").write(b"\n".join(out) + b"\n")
PYEOF
}
verify_says() { # WHAT FILE NEEDLE
	local o r
	o=$("$LBD" verify-audit "$2" --config "$R/etc/policy.ini" 2>&1)
	r=$?
	check "$1: verify-audit exit 1 ($r)" test "$r" -eq 1
	check "$1: says \"$3\" ($o)" grep -qF -- "$3" <<<"$o"
}
tamper "$LOG" "$R/t0.log" "pass"
out=$("$LBD" verify-audit "$R/t0.log" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "rewriting without a change keeps it intact ($out)" test "$rc" -eq 0
tamper "$LOG" "$R/t1.log" \
	'i = entry(1, 5); lines[i] = lines[i].replace(b"/links/l", b"/links/L", 1)'
verify_says "an entry changed" "$R/t1.log" '"link" differs from entry 5 of the signed batch'
tamper "$LOG" "$R/t2.log" 'del lines[entry(2, 7)]'
verify_says "an entry dropped" "$R/t2.log" 'expected entry 7: an entry is missing'
tamper "$LOG" "$R/t3.log" 'del lines[batch_at[2]]'
verify_says "a batch record removed" "$R/t3.log" "whose batch record is not before it"
tamper "$LOG" "$R/t4.log" '
h2 = recs[entry(2, 0)]["batch"]; i = entry(1, 9)
lines[i] = lines[i].replace(recs[i]["batch"].encode(), h2.encode())'
verify_says "an entry moved to another batch" "$R/t4.log" "names another batch"
tamper "$LOG" "$R/t5.log" 'del lines[entry(3, 185)]'
verify_says "the last entry of a batch dropped" "$R/t5.log" "entry 185 is missing"

# --- 3. the single-request protocol still works ---------------------------
run "$LB" "links/single" "$H/target"
check "one link (protocol version 1): exit 0 ($out)" test "$rc" -eq 0 -a -L "$H/links/single"
for i in 1 2 3; do echo "links/v1-$i $H/target"; done > "$R/v1lines"
chmod 0644 "$R/v1lines"
b0=$(count '"event":"batch"')
run env LINKBROKER_BATCH_V1=1 "$LB" batch "$R/v1lines"
check "a batch one by one: exit 0 ($out)" test "$rc" -eq 0 -a -L "$H/links/v1-3"
check "a batch one by one: no batch record" test "$(count '"event":"batch"')" -eq "$b0"
out=$("$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini" 2>&1); rc=$?
check "verify-audit --config: still intact ($out)" test "$rc" -eq 0

echo "batch e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
