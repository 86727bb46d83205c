#!/usr/bin/env bash
# make bench-testenv: start testenv with 1,000,000 recovery points, time
# the seeding, list every RP through aws-sdk-go-v2 (shuffle testenv
# probe), and report the emulator's peak RSS (VmHWM).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
BIN=./bin/shuffle
DIR=$(mktemp -d "${TMPDIR:-/tmp}/shuffle-bench.XXXXXX")
LOG="$DIR/testenv.log"
t0=$(date +%s.%N)
# shellcheck source=scripts/testenv-lib.sh
. scripts/testenv-lib.sh
start_testenv "$DIR" "$LOG" --recovery-points "$N"
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
wait_testenv "$LOG"
t1=$(date +%s.%N)
"$BIN" testenv probe --dir "$DIR" >"$DIR/probe.txt"
t2=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
cat "$DIR/probe.txt"
printf 'recovery points:      %d\n' "$N"
printf 'ready (seed+listen):  %.1f s\n' "$(awk "BEGIN{print $t1 - $t0}")"
printf 'list all via SDK:     %.1f s\n' "$(awk "BEGIN{print $t2 - $t1}")"
printf 'emulator peak RSS:    %d MiB\n' "$((hwm / 1024))"
printf 'machine:              %s, %s cores, %s\n' "$(uname -m)" "$(nproc)" "$(date -u +%F)"
