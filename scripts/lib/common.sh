# Shared helpers for scripts/*: logging, timing, paths.
# Source it; it sets nothing but LB_* variables and lb_* functions.

LB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Same default as CMakeLists.txt; exported so cmake sees the very same folder.
if [ -z "${LB_DEPS_DIR:-}" ]; then
  LB_DEPS_DIR="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache/linkbroker-deps"
fi
export LB_DEPS_DIR

lb_log() { printf '[%s] %s\n' "${LB_LOG_TAG:-lb}" "$*"; }
lb_warn() { printf '[%s] warning: %s\n' "${LB_LOG_TAG:-lb}" "$*" >&2; }
lb_die() { printf '[%s] error: %s\n' "${LB_LOG_TAG:-lb}" "$*" >&2; exit 1; }

# Seconds since the epoch with milliseconds, and the time since such a mark.
lb_now() { date +%s.%3N; }
lb_since() { awk -v a="$1" -v b="$(lb_now)" 'BEGIN { printf "%.1f", b - a }'; }

# Run a command with all output in LOG; on failure print LOG's tail and fail.
lb_quiet() {
  local log="$1"; shift
  if ! "$@" >"$log" 2>&1; then
    printf '[%s] command failed: %s\n--- last 40 lines of %s ---\n' \
      "${LB_LOG_TAG:-lb}" "$*" "$log" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}
