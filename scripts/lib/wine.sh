# Run Windows test programs under Wine without the usual trouble (see
# shared notes "windows-on-linux"): one WINEPREFIX per build folder, created
# once with `wineboot -i`; a persistent wineserver started and warmed up with
# all output sent to /dev/null (Wine's background processes would otherwise
# hold ctest's output pipe open: ~2 s per test, or a hang); stopped at the end.
# Needs lib/common.sh. The prefix is BUILD/wineprefix, the same one that
# cmake/wine-exec (the toolchain's CMAKE_CROSSCOMPILING_EMULATOR) defaults to.

# lb_wine_start BUILD: export WINEPREFIX and WINEDEBUG, make the prefix if
# needed, start a persistent wineserver for it and warm it up.
lb_wine_start() {
  local build t0
  build="$(cd "$1" && pwd)" || lb_die "no build folder $1"
  export WINEPREFIX="$build/wineprefix"     # Wine wants an absolute path
  export WINEDEBUG="${LB_WINEDEBUG:--all}"
  command -v wine >/dev/null && command -v wineserver >/dev/null \
    || lb_die "wine is not installed (scripts/deps installs it)"
  mkdir -p "$WINEPREFIX"
  # A server still winding down from an earlier run (Wine's default is to
  # linger a few seconds) would not become persistent: let it exit first. A
  # persistent one left by an interrupted run never exits: it is reused.
  timeout 10 wineserver -w >/dev/null 2>&1 </dev/null || true
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    # A new prefix is booted by an ordinary server and left to finish
    # (wineserver -w): booted under a persistent server, the prefix ends up
    # with two services.exe, each with its own service database (measured:
    # a service created through one is missing from the other; e2e.wine
    # then fails on a fresh clone).
    t0="$(lb_now)"
    wineboot -i >/dev/null 2>&1 </dev/null || lb_die "wineboot -i failed for $WINEPREFIX"
    timeout 60 wineserver -w >/dev/null 2>&1 </dev/null || true
    lb_log "wineboot -i (new prefix $WINEPREFIX) took $(lb_since "$t0") s"
  fi
  # -p: a Wine service would otherwise die ~3.6 s after the last ordinary
  # Wine process exits, and each test would pay for starting the server.
  wineserver -p >/dev/null 2>&1 </dev/null
  LB_WINE_RUNNING="$WINEPREFIX"
  # Warm-up: starts services.exe, explorer and friends with our /dev/null
  # as their output, not ctest's pipe.
  t0="$(lb_now)"
  wine cmd /c exit >/dev/null 2>&1 </dev/null || true
  lb_log "wineserver up and warm in $(lb_since "$t0") s"
}

# lb_wine_stop: stop the server started by lb_wine_start (and the Wine
# processes of that prefix). Safe to call twice.
lb_wine_stop() {
  if [ -n "${LB_WINE_RUNNING:-}" ]; then
    WINEPREFIX="$LB_WINE_RUNNING" wineserver -k >/dev/null 2>&1 </dev/null || true
    LB_WINE_RUNNING=
  fi
}

# lb_wine_ctest BUILD [CTEST_ARG]...: ctest in BUILD with Wine warm around it.
# Returns ctest's exit status; the server is stopped whatever happens.
lb_wine_ctest() {
  local build="$1" rc=0; shift
  lb_wine_start "$build"
  trap 'lb_wine_stop' EXIT
  (cd "$build" && ctest "$@") || rc=$?
  lb_wine_stop
  trap - EXIT
  return "$rc"
}
