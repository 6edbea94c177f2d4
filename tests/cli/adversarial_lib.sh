# Helpers shared by the adversarial corpus runners (tests/cli/adversarial_explain.sh,
# tests/e2e/adversarial.sh): reading tests/data/adversarial/*.tsv and turning a
# field into the exact bytes it stands for. The format is in
# tests/data/adversarial/README.md. Sourced, not run. Needs LC_ALL=C (byte
# semantics for lengths and substrings), which the runners set.

# adv_rows FILE: the data rows of FILE (no comments, no blank lines), one a
# line, fields separated by \037 instead of TAB: read with IFS=$'\037', which
# unlike a TAB keeps empty fields.
adv_rows() {
	grep -v -e '^#' -e '^[[:space:]]*$' "$1" | tr '\t' '\037'
}

# adv_bytes VAR TEXT: VAR = TEXT with {N*TEXT} repeated and every \xNN
# replaced by that byte. Nothing else is an escape: a backslash that does not
# start \xNN is itself (Windows paths stay readable).
adv_bytes() {
	local -n _out=$1
	local s=$2 res='' pre hex byte rep n t i
	while [[ $s =~ \{([0-9]+)\*([^}]*)\} ]]; do
		n=${BASH_REMATCH[1]} t=${BASH_REMATCH[2]} rep=''
		for ((i = 0; i < n; i++)); do rep+=$t; done
		s=${s/"${BASH_REMATCH[0]}"/"$rep"}
	done
	while [[ $s == *'\x'[0-9a-fA-F][0-9a-fA-F]* ]]; do
		pre=${s%%\\x[0-9a-fA-F][0-9a-fA-F]*}
		hex=${s:${#pre}+2:2}
		printf -v byte "\\x$hex"
		res+=$pre$byte
		s=${s:${#pre}+4}
	done
	_out=$res$s
}

# adv_subst VAR TEXT NAME=VALUE...: replace each {NAME} in TEXT by VALUE
# (placeholders first, so a value is never decoded again), then adv_bytes.
adv_subst() {
	local -n _res=$1
	local s=$2 kv
	shift 2
	for kv in "$@"; do
		s=${s//"{${kv%%=*}}"/"${kv#*=}"}
	done
	adv_bytes _res "$s"
}

# adv_show TEXT: TEXT for a failure message, control and non-ASCII bytes as \xNN.
adv_show() {
	local s=$1 out='' c i
	for ((i = 0; i < ${#s} && i < 300; i++)); do
		c=${s:i:1}
		if [[ $c == [[:print:]] ]]; then
			out+=$c
		else
			printf -v c '\\x%02x' "'$c"
			out+=$c
		fi
	done
	((${#s} > 300)) && out+="...(${#s} bytes)"
	printf '%s' "$out"
}
