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

# testenv_url LOG: the emulator's base URL, from its ready line.
testenv_url() { grep -o 'testenv ready at [^ ]*' "$1" | awk '{print $4}'; }
