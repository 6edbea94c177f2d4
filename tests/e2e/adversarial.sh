#!/usr/bin/env bash
# The adversarial corpus (tests/data/adversarial/) end to end: the real POSIX
# daemon as root, real unprivileged users made for this run, every row of
# paths, links, policy, protocol, log and audit fed through the real client
# (or tests/e2e/lb_e2e_client where the real one would never send it), with
# the exit code or status, the message, nothing on disk where a denial is
# expected, and the audit record each case must leave.
#   adversarial.sh LINKBROKERD LINKBROKER LB_E2E_CLIENT DATA_DIR
# Exit 77 (ctest: skipped) with the reason when not root or without useradd.
set -u
export LC_ALL=C
LBD=$1 LB=$2 RAW=$3 DATA=$4
for v in LBD LB RAW DATA; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$PWD/${!v}" ;; esac
done
. "$(dirname "${BASH_SOURCE[0]}")/../cli/adversarial_lib.sh"
pass=0 fail=0 skipped=0
declare -A rows_in rows_run per_class

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the adversarial end-to-end test needs root (it creates users and runs the broker)"
	exit 77
fi
for tool in useradd userdel groupadd groupdel runuser python3 mkfifo; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is missing"
		exit 77
	fi
done

sfx=$(printf '%05d' $(( $$ % 100000 )))
UA=lv${sfx}a UB=lv${sfx}b UC=lv${sfx}c G=lv${sfx}g
R=$(mktemp -d /tmp/lbadv.XXXXXX)
chmod 0755 "$R"
DPID= D2PID= MOUNTED=

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$D2PID" ] && kill "$D2PID" 2>/dev/null && wait "$D2PID" 2>/dev/null
	[ -n "$MOUNTED" ] && { chattr -i -a "$MOUNTED/audit.log" 2>/dev/null; umount "$MOUNTED"; }
	for u in "$UA" "$UB" "$UC"; do
		getent passwd "$u" >/dev/null && userdel "$u" 2>/dev/null
	done
	getent group "$G" >/dev/null && groupdel "$G" 2>/dev/null
	rm -f /etc/lbadv-* /usr/share/lbadv-* /lbadv-* 2>/dev/null
	if [ -n "${LB_E2E_KEEP:-}" ]; then echo "kept $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT

# ok, bad, check (and the pass/fail counters)
. "$(dirname "$0")/lib.sh"

# --- users, directories, keys, policy ---
for u in "$UA" "$UB" "$UC"; do getent passwd "$u" >/dev/null && userdel "$u"; done
getent group "$G" >/dev/null && groupdel "$G"
groupadd "$G"
mkdir -p "$R/home"
useradd -M -d "$R/home/$UA" -s /bin/sh -G "$G" -c "linkbroker adversarial" "$UA"
useradd -M -d "$R/home/$UB" -s /bin/sh -c "linkbroker adversarial" "$UB"
useradd -M -d "$R/home/$UC" -s /bin/sh -G "$G" -c "linkbroker adversarial" "$UC"
for u in "$UA" "$UB" "$UC"; do
	mkdir -p "$R/home/$u/links/secret" "$R/home/$u/links/SECRET"
	echo "target of $u" > "$R/home/$u/t"
	chown -R "$u:" "$R/home/$u"
	chmod 0755 "$R/home/$u"
done
HA=$R/home/$UA HB=$R/home/$UB HC=$R/home/$UC
echo root > "$HA/rootfile" && chmod 0644 "$HA/rootfile"   # root's file in the user's home
mkdir -p "$R/etc" "$R/srv/shared/dir" "$R/srv/proj/locked" "$R/srv/proj/dirs/nosym" "$R/srv/uid" "$R/root-only"
echo shared > "$R/srv/shared/file"
chgrp "$G" "$R/srv/proj" "$R/srv/proj/locked" "$R/srv/proj/dirs" "$R/srv/proj/dirs/nosym" &&
	chmod 2775 "$R/srv/proj" "$R/srv/proj/locked" "$R/srv/proj/dirs" "$R/srv/proj/dirs/nosym"
chmod 0777 "$R/srv/uid"
echo root > "$R/root-only/file" && chmod 0644 "$R/root-only/file"

# as USER COMMAND...: run as an unprivileged user, from their home.
as() {
	local u=$1
	shift
	(cd "$R/home/$u" && runuser -u "$u" -- env HOME="$R/home/$u" \
		LINKBROKER_ENDPOINT="${SOCK:-$R/run/broker.sock}" LINKBROKER_SERVICE_KEY="$R/keys/service.pub" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" "$@")
}
user_of() { case $1 in A) echo "$UA" ;; B) echo "$UB" ;; C) echo "$UC" ;; esac; }
key_of() { echo "$R/home/$(user_of "$1")/.config/linkbroker/key"; }

for u in "$UA" "$UB" "$UC"; do
	as "$u" "$LB" keygen > "$R/$u.block" 2>/dev/null || bad "keygen as $u"
done
mkdir -p "$R/newkey" && chown "$UA" "$R/newkey"
as "$UA" env HOME="$R/newkey" "$LB" keygen >/dev/null 2>&1 || bad "keygen of an unenrolled key"
uid_c=$(id -u "$UC")
# A second key of C's, enrolled under its uid as if that were a name: on
# POSIX a policy names users, and a uid is not C's name.
mkdir -p "$R/ckey" && chown "$UC" "$R/ckey"
as "$UC" env HOME="$R/ckey" "$LB" keygen 2>/dev/null |
	sed -e "s/^\[key:.*/[key:c-by-uid]/" -e "s/^user = .*/user = $uid_c/" > "$R/$UC.uidblock"

# write_policy ENDPOINT AUDIT_LOG FILE
write_policy() {
	cat > "$3" <<EOF
[broker]
endpoint = $1
audit_log = $2
audit_sync = always
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub
io_timeout_ms = 1000
max_clients = 16

$(cat "$R/$UA.block")

$(cat "$R/$UB.block")

$(cat "$R/$UC.block")

$(cat "$R/$UC.uidblock")

[rule:links]
users = $UA
kinds = symlink, dirsymlink, junction
link_under = %HOME%/links
target_under = %HOME%, $R/srv/shared
action = allow

[rule:hard]
users = $UA
kinds = hardlink
link_under = %HOME%/links
target_under = %HOME%
action = allow

[rule:no-secret]
users = *
kinds = *
link_under = %HOME%/links/secret
action = deny

[rule:proj-group]
groups = $G
kinds = symlink
link_under = $R/srv/proj
target_under = $R/srv/shared
action = allow

[rule:proj-locked]
users = *
kinds = *
link_under = $R/srv/proj/locked
action = deny

; -d and -j make the same symbolic link on POSIX: a deny on symlink holds for them
[rule:proj-dirs]
groups = $G
kinds = dirsymlink, junction
link_under = $R/srv/proj/dirs
target_under = $R/srv/shared
action = allow

[rule:proj-dirs-nosym]
users = *
kinds = symlink
link_under = $R/srv/proj/dirs/nosym
action = deny

[rule:proj-any]
groups = $G
kinds = symlink
link_under = $R/srv/proj
target_under = *
action = allow

; a uid in users is a user name on POSIX, never an id
[rule:by-uid]
users = $uid_c
kinds = *
link_under = $R/srv/uid
target_under = *
action = allow

[rule:c-links]
users = $UC
kinds = symlink
link_under = %HOME%/links
target_under = %HOME%
action = allow
EOF
	chmod 0644 "$3"
}
write_policy "$R/run/broker.sock" "$R/log/audit.log" "$R/etc/policy.ini"
out=$("$LBD" check-config "$R/etc/policy.ini" 2>&1) || bad "check-config of the test policy: $out"

# start_daemon CONFIG SOCKET LOG: start a broker, PID in $started.
start_daemon() {
	"$LBD" run --config "$1" --foreground 2>> "$3" &
	started=$!
	for _ in $(seq 200); do [ -S "$2" ] && return 0; sleep 0.05; done
	echo "FAIL: the broker did not start:"
	cat "$3"
	exit 1
}
start_daemon "$R/etc/policy.ini" "$R/run/broker.sock" "$R/daemon.log"
DPID=$started
S=$R/run/broker.sock
LOG=$R/log/audit.log
# Decisions only: the "made" record after each link made is not one.
lines() { lb_e2e_decisions "${1:-$LOG}" | wc -l; }
# last N: the last N decision records
last() { lb_e2e_decisions "$LOG" | tail -n "$1"; }
# records_ok N0 N1: the request left one record, or two when an allowed
# create then failed on the file system (the decision is logged before the
# link is made, the outcome after: docs/audit.md).
records_ok() {
	local d=$(( $2 - $1 ))
	[ "$d" -eq 1 ] && return 0
	[ "$d" -eq 2 ] && last 2 | head -n 1 | grep -qF '"verdict":"allowed"' &&
		last 1 | grep -qF '"verdict":"failed"'
}

# want_split WANT: wexit (first word) and wtext (the rest).
want_split() {
	wexit=${1%% *}
	wtext=${1#"$wexit"}
	wtext=${wtext# }
}
# exit_ok RC LIST: RC is one of LIST ("0|1|4").
exit_ok() {
	local e
	for e in ${2//|/ }; do [ "$1" -eq "$e" ] && return 0; done
	return 1
}
# gone PATH: nothing there, neither where the kernel resolves PATH nor at
# its lexical form (how the broker reads "..": before any symlink).
gone() {
	local lex
	lex=$(realpath -ms -- "$1" 2>/dev/null) || lex=$1
	[ ! -e "$1" ] && [ ! -L "$1" ] && [ ! -e "$lex" ] && [ ! -L "$lex" ]
}
# present PATH: a link (symbolic or hard) at PATH's lexical form.
present() {
	local lex
	lex=$(realpath -ms -- "$1") && { [ -L "$lex" ] || [ -e "$lex" ]; }
}
# client USER KIND LINK TARGET [check]: the real client; sets rc, out.
client() {
	local u=$1 kind=$2 link=$3 target=$4 cmd=${5:-}
	local -a flag=()
	case $kind in dirsymlink) flag=(/D) ;; hardlink) flag=(/H) ;; junction) flag=(/J) ;; esac
	out=$(as "$u" "$LB" $cmd "${flag[@]}" -- "$link" "$target" 2>&1)
	rc=$?
}
# raw USER KEYFILE ARGS...: lb_e2e_client; sets rc, out.
raw() {
	local u=$1
	shift
	out=$(as "$u" "$RAW" "${SOCK:-$S}" "$@" 2>&1)
	rc=$?
}
count_row() {   # FILE CLASS
	rows_run[$1]=$(( ${rows_run[$1]:-0} + 1 ))
	per_class["$1/$2"]=$(( ${per_class["$1/$2"]:-0} + 1 ))
}
vars_for() {    # USER-LETTER: the placeholders for that user
	local h=$R/home/$(user_of "$1")
	V=("H=$h" "D=$h/links" "d=$h/links" "h=$h" "HU=${h^^}" "HA=$HA" "DA=$HA/links" "BD=$HB/links"
		"P=$R/srv/proj" "S=$R/srv/shared" "U=$R/srv/uid" "RO=$R/root-only")
}

# ======================= paths.tsv =======================
vars_for A
while IFS=$'\037' read -r id class kind link target _w _p want; do
	adv_subst l "$link" "${V[@]}"
	adv_subst t "$target" "${V[@]}"
	want_split "$want"
	n0=$(lines)
	client "$UA" "$kind" "$l" "$t"
	if [ "$rc" -eq "$wexit" ] && grep -qF -- "$wtext" <<<"$out"; then ok; else
		bad "paths $id: linkbroker $kind $(adv_show "$l") $(adv_show "$t") => exit $rc (want $wexit '$wtext'): $(adv_show "$out")"
	fi
	n1=$(lines)
	if [ "$wexit" -eq 0 ]; then
		check "paths $id: the link is there ($(adv_show "$l"))" present "$l"
		check "paths $id: one 'allowed' record" test "$((n1 - n0))" -eq 1 -a -n "$(last 1 | grep -F '"verdict":"allowed"')"
		as "$UA" rm -f -- "$(realpath -ms -- "$l")"
	else
		if [ -n "$l" ] && [ "${#l}" -lt 4096 ] && [ "$l" != "$HA/links" ] && [ "$l" != / ]; then
			check "paths $id: nothing at the link path" gone "$l"
		fi
		if [ "$wexit" -ne 2 ]; then
			check "paths $id: one record, not 'allowed' (or 'allowed' then 'failed')" records_ok "$n0" "$n1"
			check "paths $id: the last record is not 'allowed'" test -z "$(last 1 | grep -F '"verdict":"allowed"')"
		elif [ -z "$l" ] || [ "${#l}" -gt 32767 ] || [ "${#t}" -gt 32767 ]; then
			echo "SKIP paths $id (daemon): the wire cannot carry this path (empty or over 32767 bytes); the client refused it"
			skipped=$((skipped + 1))
		else
			# The client refused it locally: the daemon must refuse it too.
			n0=$(lines)
			raw "$UA" "$(key_of A)" ok "$kind" "$l" "$t"
			n1=$(lines)
			if grep -q '^status -[0-9]* verdict 0 ' <<<"$out" && grep -qF -- "$wtext" <<<"$out" &&
				[ "$((n1 - n0))" -eq 1 ]; then ok; else
				bad "paths $id: the daemon itself (want '$wtext', one record; got $((n1 - n0))): $(adv_show "$out")"
			fi
			[ -n "$l" ] && [ "${#l}" -lt 4096 ] && [ "$l" != / ] &&
				check "paths $id: nothing at the link path (raw)" gone "$l"
		fi
	fi
	count_row paths "$class"
done < <(adv_rows "$DATA/paths.tsv")

# ======================= links.tsv =======================
while IFS=$'\037' read -r id class setup repeat kind link target want absent; do
	adv_subst l "$link" "${V[@]}"
	adv_subst t "$target" "${V[@]}"
	adv_subst setup "$setup" "${V[@]}"
	adv_subst absent "$absent" "${V[@]}"
	want_split "$want"
	swapper=
	case $setup in
	-) ;;
	root:*) sh -c "${setup#root:}" || bad "links $id: setup failed" ;;
	swap\ *)
		set -- ${setup#swap }
		as "$UA" mkdir -p "$1"
		# the directory and a symlink to $2 take turns under its name
		as "$UA" sh -c "while [ -e '$R/swap.run' ]; do
			mv '$1' '$1.d' 2>/dev/null; ln -s '$2' '$1' 2>/dev/null
			rm -f '$1'; mv '$1.d' '$1' 2>/dev/null; done" &
		swapper=$!
		touch "$R/swap.run"
		;;
	*) as "$UA" sh -c "$setup" || bad "links $id: setup failed" ;;
	esac
	for ((i = 0; i < repeat; i++)); do
		n0=$(lines)
		client "$UA" "$kind" "$l" "$t"
		n1=$(lines)
		if exit_ok "$rc" "$wexit" && grep -qF -- "$wtext" <<<"$out" && records_ok "$n0" "$n1"; then ok; else
			bad "links $id: linkbroker $kind $l $t => exit $rc (want $wexit '$wtext'), $((n1 - n0)) records: $out"
		fi
	done
	if [ -n "$swapper" ]; then
		rm -f "$R/swap.run"
		wait "$swapper"
		[ -L "$l" ] && as "$UA" rm -f "$l"
	fi
	if [ "$wexit" = 0 ]; then
		check "links $id: the link is there" present "$l"
		as "$UA" rm -f -- "$(realpath -ms -- "$l")"
	fi
	[ "$absent" != - ] && check "links $id: nothing at $absent" gone "$absent"
	count_row links "$class"
done < <(adv_rows "$DATA/links.tsv")
check "links: nothing ever created under /etc" test -z "$(ls /etc | grep lbadv)"
check "links: the root-owned file in the home is unchanged" test "$(cat "$HA/rootfile")" = root

# ======================= policy.tsv =======================
while IFS=$'\037' read -r id class who via kind link target want; do
	u=$(user_of "$who")
	vars_for "$who"
	adv_subst l "$link" "${V[@]}"
	adv_subst t "$target" "${V[@]}"
	want_split "$want"
	n0=$(lines)
	case $via in
	client | check)
		[ "$via" = check ] && cmd=check || cmd=
		client "$u" "$kind" "$l" "$t" $cmd
		if [ "$rc" -eq "$wexit" ] && grep -qF -- "$wtext" <<<"$out"; then ok; else
			bad "policy $id: $u: linkbroker $cmd $kind $l $t => exit $rc (want $wexit '$wtext'): $out"
		fi
		;;
	key:*)
		k=${via#key:}
		if [ "$k" = new ]; then kf=$R/newkey/.config/linkbroker/key
		elif [ "$k" = Cuid ]; then kf=$R/ckey/.config/linkbroker/key; else
			# a copy the client can read: as if it had stolen the key
			kf=$R/stolen.key
			cp "$(key_of "$k")" "$kf" && chown "$u" "$kf" && chmod 0600 "$kf"
		fi
		raw "$u" "$kf" ok "$kind" "$l" "$t"
		if grep -q "^status ${wexit#s} " <<<"$out" && grep -qF -- "$wtext" <<<"$out"; then ok; else
			bad "policy $id: $u with key $k: $kind $l $t => $out (want status ${wexit#s} '$wtext')"
		fi
		[ "$wexit" = s0 ] && wexit=0
		;;
	esac
	n1=$(lines)
	check "policy $id: one audit record (or 'allowed' then 'failed')" records_ok "$n0" "$n1"
	if [ "$wexit" = 0 ] && [ "$via" != check ]; then
		check "policy $id: the link is there" present "$l"
		rm -f "$l"
	else
		check "policy $id: nothing at the link path" gone "$l"
	fi
	count_row policy "$class"
done < <(adv_rows "$DATA/policy.tsv")
vars_for A

# ======================= protocol.tsv =======================
KA=$(key_of A)
# pos HEX SPEC: a byte offset in a request: a number, or link|target|sig|key|nonce[+N].
pos() {
	local hex=$1 base=${2%%+*} add=0 L T
	[[ $2 == *+* ]] && add=${2#*+}
	L=$((16#${hex:118:4}))
	T=$((16#${hex:$(( (61 + L) * 2 )):4}))
	case $base in
	link) echo $((61 + add)) ;;
	target) echo $((63 + L + add)) ;;
	sig) echo $((63 + L + T + add)) ;;
	*) echo $((base + add)) ;;
	esac
}
# emit ID: a fresh signed request from A (symlink in A's links), as hex.
emit() { as "$UA" "$RAW" "$S" "$KA" emit symlink "$HA/links/$1" "$HA/t"; }
while IFS=$'\037' read -r id class recipe expect records; do
	adv_bytes recipe "$recipe"
	n0=$(lines)
	set -- $recipe
	how=$1
	shift
	case $how in
	bytes) raw "$UA" - bytes <<<"$1" ;;
	frame) raw "$UA" - raw <<<"$1" ;;
	mode) raw "$UA" "$KA" "$1" symlink "$HA/links/$id" "$HA/t" ;;
	edit)
		h=$(emit "$id")
		tail_hex=
		for op in "$@"; do
			case $op in
			cut:*) h=${h:0:$(( ${#h} - 2 * ${op#cut:} ))} ;;
			append:*) h=$h${op#append:} ;;
			then:*) tail_hex=${op#then:} ;;
			set:*)
				spec=${op#set:}
				v=${spec#*:}
				o=$(pos "$h" "${spec%%:*}")
				h=${h:0:$((2 * o))}$v${h:$((2 * o + ${#v}))}
				;;
			resign)
				L=$((16#${h:118:4}))
				T=$((16#${h:$(( (61 + L) * 2 )):4}))
				body=$(( 63 + L + T ))
				extra=${h:$(( 2 * (body + 64) ))}
				h=$(as "$UA" "$RAW" - "$KA" sign <<<"${h:0:$((2 * body))}")${extra}
				;;
			sig-of-other)
				o=$(emit "$id-other")
				h=${h:0:$(( ${#h} - 128 ))}${o:$(( ${#o} - 128 ))}
				;;
			key-of:*)
				pkb=$(as "$(user_of "${op#key-of:}")" "$RAW" "$S" "$(key_of "${op#key-of:}")" emit symlink /x /y)
				h=${h:0:54}${pkb:54:64}${h:118}
				;;
			nonce-of-sent)
				first=$(emit "$id-first")
				raw "$UA" - raw <<<"$first"
				grep -q '^status 0 ' <<<"$out" || bad "protocol $id: the first request was refused: $out"
				as "$UA" rm -f "$HA/links/$id-first"
				h=${h:0:22}${first:22:32}${h:54}
				;;
			empty-link)
				L=$((16#${h:118:4}))
				h=${h:0:118}0000${h:$(( 122 + 2 * L ))}
				;;
			*) bad "protocol $id: unknown edit $op" ;;
			esac
		done
		if [ -n "$tail_hex" ]; then
			printf -v lenw '%08x' $(( ${#h} / 2 ))
			raw "$UA" - bytes <<<"$lenw$h$tail_hex"
		else
			raw "$UA" - raw <<<"$h"
		fi
		;;
	*) bad "protocol $id: unknown recipe $how" ;;
	esac
	n1=$(lines)
	if [ "$expect" = none ]; then
		got=$(grep -c '^status' <<<"$out")
		check "protocol $id: no answer ($(adv_show "$out"))" test "$got" -eq 0 -a "$rc" -eq 0
	else
		got=$(sed -n 's/^status \(-\{0,1\}[0-9]*\) .*/\1/p' <<<"$out" | paste -sd, -)
		check "protocol $id: answers $got (want $expect): $(adv_show "$out")" test "$got" = "$expect"
	fi
	check "protocol $id: $((n1 - n0)) audit records (want $records)" test "$((n1 - n0))" -eq "$records"
	# Created if and only if a new record says allowed (w-two-frames: the
	# request before the bad frame is done, recorded and answered; then the
	# connection is closed).
	if [ "$((n1 - n0))" -gt 0 ] && last "$((n1 - n0))" | grep -F "\"link\":\"$HA/links/$id\"" |
		grep -qF '"verdict":"allowed"'; then
		check "protocol $id: allowed, so created" present "$HA/links/$id"
	else
		check "protocol $id: nothing created" gone "$HA/links/$id"
	fi
	as "$UA" rm -f "$HA/links/$id"
	count_row protocol "$class"
	sleep 0.25   # refusals before authentication have a budget of 5 a second
done < <(adv_rows "$DATA/protocol.tsv")
check "the daemon is still running after the protocol cases" kill -0 "$DPID"

# ======================= log.tsv =======================
while IFS=$'\037' read -r id class key link target status frag; do
	adv_subst l "$link" "${V[@]}"
	adv_subst t "$target" "${V[@]}"
	if [ "$key" = A ]; then kf=$KA; else
		kf=$R/stolen.key
		cp "$(key_of "$key")" "$kf" && chown "$UA" "$kf" && chmod 0600 "$kf"
	fi
	n0=$(lines)
	raw "$UA" "$kf" ok symlink "$l" "$t"
	n1=$(lines)
	check "log $id: status $status: $(adv_show "$out")" grep -q "^status $status " <<<"$out"
	check "log $id: one record" test "$((n1 - n0))" -eq 1
	rec=$(last 1)
	check "log $id: the record holds '$frag': $(adv_show "$rec")" grep -qF -- "$frag" <<<"$rec"
	check "log $id: no control byte in the record" test -z "$(tr -d '\040-\176\200-\377' <<<"$rec")"
	check "log $id: no C1 control in the record" test -z "$(grep -P '\xc2[\x80-\x9f]' <<<"$rec")"
	check "log $id: the record is UTF-8" python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8")' <<<"$rec"
	[ "$status" = 0 ] && as "$UA" rm -f -- "$l"
	count_row log "$class"
	sleep 0.25
done < <(adv_rows "$DATA/log.tsv")
check "no escape byte in the daemon's own log" test -z "$(tr -d '\n\040-\176\200-\377' < "$R/daemon.log")"

kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
out=$("$LBD" verify-audit "$LOG" --config "$R/etc/policy.ini" 2>&1)
check "verify-audit passes on the log of all cases: $out" test $? -eq 0

# ======================= audit.tsv =======================
# A second broker whose audit log lies on a small tmpfs of its own (or, where
# mounting is not allowed, an ordinary directory: the faults that need the
# mount are then skipped with the reason).
A2=$R/alog
mkdir -p "$A2"
if mount -t tmpfs -o size=256k,mode=0755 lbadv "$A2" 2>/dev/null; then MOUNTED=$A2; else
	echo "note: cannot mount a tmpfs here; faults that need one are skipped"
fi
write_policy "$R/run2/broker.sock" "$A2/audit.log" "$R/etc/policy2.ini"
# fault_on FAULT / fault_off FAULT: 0 if applied; 77 and a reason if not possible here.
fault_on() {
	case $1 in
	full)
		[ -n "$MOUNTED" ] || { why="no tmpfs"; return 77; }
		dd if=/dev/zero of="$A2/filler" bs=4k status=none 2>/dev/null
		dd if=/dev/zero of="$A2/filler2" bs=1 status=none 2>/dev/null
		return 0 ;;
	readonly)
		[ -n "$MOUNTED" ] || { why="no tmpfs"; return 77; }
		mount -o remount,ro "$A2" ;;
	immutable)
		chattr +i "$A2/audit.log" 2>/dev/null || { why="chattr +i not supported on this file system"; return 77; } ;;
	appendonly)
		chattr +a "$A2/audit.log" 2>/dev/null || { why="chattr +a not supported on this file system"; return 77; } ;;
	esac
}
fault_off() {
	case $1 in
	full) rm -f "$A2/filler" "$A2/filler2" ;;
	readonly) mount -o remount,rw "$A2" ;;
	immutable) chattr -i "$A2/audit.log" ;;
	appendonly) chattr -a "$A2/audit.log" ;;
	esac
}
SOCK=$R/run2/broker.sock
start_daemon "$R/etc/policy2.ini" "$SOCK" "$R/daemon2.log"
D2PID=$started
while IFS=$'\037' read -r id class fault want; do
	want_split "$want"
	why=
	case $fault in
	*-start)
		# A broker that cannot open its log for writing does not start.
		d=$R/alog-$id
		mkdir -p "$d"
		if [ "$fault" = readonly-start ] && ! mount -t tmpfs -o size=64k,mode=0755 lbadv "$d" 2>/dev/null; then
			why="cannot mount a tmpfs here"
		fi
		if [ -z "$why" ]; then
			: > "$d/audit.log" && chmod 0600 "$d/audit.log"
			case $fault in
			readonly-start) mount -o remount,ro "$d" || why="cannot remount read-only" ;;
			immutable-start) chattr +i "$d/audit.log" 2>/dev/null || why="chattr +i is not supported on $(stat -f -c %T "$d")" ;;
			esac
		fi
		if [ -n "$why" ]; then
			echo "SKIP audit $id: $why"
			skipped=$((skipped + 1))
		else
			write_policy "$R/run-$id/broker.sock" "$d/audit.log" "$R/etc/policy-$id.ini"
			"$LBD" run --config "$R/etc/policy-$id.ini" --foreground 2> "$R/daemon-$id.log" &
			p3=$!
			for _ in $(seq 100); do kill -0 "$p3" 2>/dev/null || break; sleep 0.05; done
			if kill -0 "$p3" 2>/dev/null; then
				bad "audit $id: the broker runs with an unwritable log: $(cat "$R/daemon-$id.log")"
				kill "$p3"
			else
				ok
			fi
			wait "$p3"
			check "audit $id: the broker exited non-zero" test $? -ne 0
			check "audit $id: no socket" test ! -S "$R/run-$id/broker.sock"
			check "audit $id: it says why: $(cat "$R/daemon-$id.log")" grep -q "audit log" "$R/daemon-$id.log"
		fi
		chattr -i "$d/audit.log" 2>/dev/null
		mountpoint -q "$d" && umount "$d"
		count_row audit "$class"
		continue
		;;
	esac
	client "$UA" symlink "$HA/links/$id-before" "$HA/t"
	check "audit $id: served before the fault: $out" test "$rc" -eq 0
	fault_on "$fault"
	if [ $? -eq 77 ]; then
		echo "SKIP audit $id: $why"
		skipped=$((skipped + 1))
		as "$UA" rm -f "$HA/links/$id-before"
		count_row audit "$class"
		continue
	fi
	# Requests until one is refused (a full disk may still hold a record in
	# the log's last page): each answered one was recorded, the refused one
	# left neither a link nor a record.
	refused=0
	for i in 1 2 3 4 5 6 7 8; do
		n0=$(lines "$A2/audit.log")
		client "$UA" symlink "$HA/links/$id-$i" "$HA/t"
		n1=$(lines "$A2/audit.log")
		if [ "$rc" -eq 0 ]; then
			check "audit $id: answered as created, so recorded ($i)" test -L "$HA/links/$id-$i" -a "$((n1 - n0))" -eq 1
			[ "$wexit" -eq 0 ] && break
			continue
		fi
		refused=1
		echo "audit $id: request $i refused: exit $rc: $out"
		if [ "$rc" -eq "$wexit" ] && grep -qF -- "$wtext" <<<"$out"; then ok; else
			bad "audit $id: with the log $fault: exit $rc (want $wexit '$wtext'): $out"
		fi
		check "audit $id: nothing left at the link path" gone "$HA/links/$id-$i"
		check "audit $id: no record ($((n1 - n0)))" test "$((n1 - n0))" -eq 0
		break
	done
	[ "$wexit" -ne 0 ] && check "audit $id: a request was refused" test "$refused" -eq 1
	fault_off "$fault"
	check "audit $id: the broker is still running" kill -0 "$D2PID"
	client "$UA" symlink "$HA/links/$id-after" "$HA/t"
	check "audit $id: served again once the log can be written: $out" test "$rc" -eq 0
	as "$UA" sh -c "rm -f '$HA/links/$id'-*"
	count_row audit "$class"
done < <(adv_rows "$DATA/audit.tsv")
kill "$D2PID"; wait "$D2PID" 2>/dev/null; D2PID=
out=$("$LBD" verify-audit "$A2/audit.log" --config "$R/etc/policy2.ini" 2>&1)
check "verify-audit passes on the log that was full: $out" test $? -eq 0
check "the refusals reached the daemon's log" grep -q "audit log" "$R/daemon2.log"

# ======================= every row was run =======================
for f in paths links policy protocol log audit; do
	rows_in[$f]=$(adv_rows "$DATA/$f.tsv" | wc -l)
	check "$f.tsv: ${rows_run[$f]:-0} of ${rows_in[$f]} rows run" test "${rows_run[$f]:-0}" -eq "${rows_in[$f]}"
done
for k in $(printf '%s\n' "${!per_class[@]}" | sort); do
	printf '  %-22s %3d rows\n' "$k" "${per_class[$k]}"
done
echo "adversarial e2e: $pass passed, $fail failed, $skipped skipped (reason printed)"
[ "$fail" -eq 0 ]
