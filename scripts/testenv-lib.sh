# Sourced by the demo and the bench scripts: the emulator they run
# against, started from $BIN.

# start_testenv DIR LOG [FLAGS...]: start 'shuffle testenv up --dir DIR'
# in the background on a free port, with its SSO token cache inside DIR
# (never the operator's home) and FLAGS, logging to LOG; sets PID. Set the
# cleanup trap after it (stop_testenv_on_exit, or one of the script's
# own), then call wait_testenv.
start_testenv() {
  local dir=$1 log=$2
  shift 2
  "$BIN" testenv up --dir "$dir" --sso-cache "$dir/sso-cache" --addr 127.0.0.1:0 "$@" >"$log" 2>&1 &
  PID=$!
}

# wait_testenv LOG: return once the emulator says it is ready; if it
# dies first, print its log and exit 1.
wait_testenv() {
  local log=$1
  until grep -q "testenv ready" "$log" 2>/dev/null; do
    kill -0 "$PID" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.05
  done
}

# stop_testenv_on_exit WORK: on exit, stop the emulator and remove WORK,
# or keep it (and say where) when KEEP=1.
stop_testenv_on_exit() {
  _testenv_work=$1
  trap _testenv_cleanup EXIT
}

_testenv_cleanup() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $_testenv_work"; else rm -rf "$_testenv_work"; fi
}

# bench_workspace WORK [FLAGS...]: a benchmark's emulator and workspace.
# Starts testenv with FLAGS in WORK/testenv-run (log in WORK/testenv.log,
# set as LOG; stopped on exit, WORK removed unless KEEP=1), exports its
# profiles, lays out WORK/run with examples/, policies/ and a
# testenv-run link (the example script reads testenv-run/metadata.csv
# relative to its directory), and builds WORK/peakrss. Call it from the
# repository root.
bench_workspace() {
  local work=$1
  shift
  LOG="$work/testenv.log"
  start_testenv "$work/testenv-run" "$LOG" "$@"
  stop_testenv_on_exit "$work"
  wait_testenv "$LOG"
  # shellcheck disable=SC1091
  . "$work/testenv-run/env"
  mkdir -p "$work/run" && cp -r examples policies "$work/run/" && ln -s "$work/testenv-run" "$work/run/testenv-run"
  go build -o "$work/peakrss" ./scripts/peakrss
}

# testenv_url LOG: the emulator's base URL, from its ready line.
testenv_url() { grep -o 'testenv ready at [^ ]*' "$1" | awk '{print $4}'; }
