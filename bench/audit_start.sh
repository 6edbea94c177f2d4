#!/usr/bin/env bash
# Start-up time of `linkbrokerd run` against the size of its audit log
# (issue 13, item 7: start-up read the whole log). For each size, a valid
# chained log of that many MiB of old records (1 KiB each) is written, the
# daemon started on it and the time until it says "started" measured
# (median of RUNS). Not a test: nothing is asserted; docs/performance.md
# has the figures.
#   bench/audit_start.sh LINKBROKERD [MIB...]      (default 1 100 1024)
# As root (the daemon refuses otherwise). RUNS [3]. EVENT [check]: made
# writes "made" records instead (each a distinct link of one of 16 users),
# which start-up indexes for `linkbroker list` and `rm` (issue 16).
set -euo pipefail
LBD=$1
shift
SIZES=("${@:-1 100 1024}")
# shellcheck disable=SC2206
SIZES=(${SIZES[*]})
RUNS=${RUNS:-3}
R=$(mktemp -d /tmp/lbstart.XXXXXX)
trap 'rm -rf "$R"' EXIT
mkdir -p "$R/etc" "$R/log"
cat > "$R/etc/policy.ini" <<EOI
[broker]
endpoint = $R/run/broker.sock
audit_log = $R/log/audit.log
service_key = $R/keys/service.key
service_public_key = $R/keys/service.pub
EOI
chmod 0644 "$R/etc/policy.ini"

# gen MIB: a chained log of old (2020) records, MIB MiB of them.
gen() {
	python3 - "$R/log/audit.log" "$1" "${EVENT:-check}" <<'EOP'
import hashlib, sys
path, mib, event = sys.argv[1], int(sys.argv[2]), sys.argv[3]
link = "/home/alice/src/" + "a" * 800
prev = "0" * 64
with open(path, "wb", buffering=1 << 20) as f:
    seq, size = 0, 0
    while size < mib << 20:
        seq += 1
        if event == "made":
            l = "%s%d" % (link, seq)
            body = ('{"seq":%d,"time":"2020-01-01T00:00:00Z","event":"made","verdict":"allowed",'
                    '"user":"u%d","sid":"%d","groups":[],"kind":"symlink","link":"%s",'
                    '"target":"/home/alice/t","link_resolved":"%s","target_resolved":"/home/alice/t",'
                    '"rule":"dev","reason":"made as decided in record %d","error":0,"key":null,'
                    '"request":null,"sig":null,"file":"2049:%d","prev":"%s"'
                    % (seq, seq % 16, 1000 + seq % 16, l, l, seq, seq, prev)).encode()
        else:
            body = ('{"seq":%d,"time":"2020-01-01T00:00:00Z","event":"check","verdict":"allowed",'
                    '"user":"alice","sid":"1000","groups":[],"kind":"symlink","link":"%s",'
                    '"target":"/home/alice/t","link_resolved":null,"target_resolved":null,'
                    '"rule":"dev","reason":"","error":0,"key":null,"request":null,"sig":null,'
                    '"prev":"%s"' % (seq, link, prev)).encode()
        h = hashlib.blake2b(body, digest_size=32).hexdigest()
        line = body + b',"hash":"' + h.encode() + b'"}\n'
        f.write(line)
        size += len(line)
        prev = h
EOP
	chmod 0600 "$R/log/audit.log"
}

# once: ms from exec to "started" (the daemon is then stopped).
once() {
	local t0 t1 pid
	: > "$R/daemon.err"
	t0=$(date +%s%N)
	"$LBD" run --config "$R/etc/policy.ini" --foreground 2> "$R/daemon.err" &
	pid=$!
	while ! grep -q "started:" "$R/daemon.err"; do
		kill -0 "$pid" 2>/dev/null || { cat "$R/daemon.err" >&2; exit 1; }
		sleep 0.005
	done
	t1=$(date +%s%N)
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	echo $(( (t1 - t0) / 1000000 ))
}

printf '| audit log | start-up (median of %d) |\n|---:|---:|\n' "$RUNS"
for mib in "${SIZES[@]}"; do
	gen "$mib"
	cp "$R/log/audit.log" "$R/pristine.log"
	times=()
	for _ in $(seq "$RUNS"); do
		cp "$R/pristine.log" "$R/log/audit.log"   # the daemon appends nothing here, but be sure
		sync
		times+=("$(once)")
	done
	med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
	printf '| %d MiB | %d ms |\n' "$mib" "$med"
	rm -f "$R/pristine.log"
done
