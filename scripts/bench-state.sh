#!/usr/bin/env bash
# make bench-state: a state of N recovery points (default 1,000,000) built
# by 'shuffle plan' against testenv, then half-copied by a 'shuffle run'
# window at a high copy speed; after each, every operator question of
# issue 17 is timed as a whole process (wall seconds, peak RSS) against
# its target. Set COPY_WINDOW=0 to time the planned state only.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
COPY_WINDOW=${COPY_WINDOW:-120s}
BIN=$PWD/bin/shuffle
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shuffle-bench-state.XXXXXX")
# shellcheck source=scripts/testenv-lib.sh
. scripts/testenv-lib.sh
bench_workspace "$WORK" --recovery-points "$N" --copy-speed 2000000
cd "$WORK/run"
STATE="$WORK/state"

# timeit TARGET_S LABEL CMD...: one whole-process run; prints wall, peak
# RSS, the target and whether it is met.
timeit() {
  local target=$1 label=$2
  shift 2
  if ! "$WORK/peakrss" -- "$@" >"$WORK/out" 2>"$WORK/err"; then
    echo "FAILED: $label"; cat "$WORK/err"; return 1
  fi
  local wall rss
  wall=$(grep -o 'wall [0-9.]*' "$WORK/err" | awk '{print $2}')
  rss=$(grep -o 'peak RSS [0-9]* MiB' "$WORK/err" | awk '{print $3}')
  awk -v l="$label" -v w="$wall" -v r="$rss" -v t="$target" \
    'BEGIN{printf "| %-58s | %7.2f s | %6.0f MiB | <= %s s | %s |\n", l, w, r, t, (w <= t ? "met" : sprintf("%.2fx over", w / t))}'
}

questions() {
  echo "| command | wall | peak RSS | target | |"
  echo "|---|---|---|---|---|"
  timeit 0.5 "open the state (repl -e 'print(1)')" "$BIN" repl --state "$STATE" -e 'print(1)'
  timeit 1 "count{}" "$BIN" repl --state "$STATE" -e 'print(count{})'
  timeit 1 "count{vault=\"prod-ebs-daily\"}" "$BIN" repl --state "$STATE" -e 'print(count{vault="prod-ebs-daily"})'
  timeit 1 "count{vault=\"prod-ebs-daily\", status=\"completed\"}" "$BIN" repl --state "$STATE" -e 'print(count{vault="prod-ebs-daily", status="completed"})'
  for by in vault status resource_type outcome apmid reason rule created_month created_year; do
    timeit 1 "group{by=\"$by\"}" "$BIN" repl --state "$STATE" -e "group{by=\"$by\"}"
  done
  timeit 0.5 "find{apmid=\"APM0002310\", limit=20}" "$BIN" repl --state "$STATE" -e 'find{apmid="APM0002310", limit=20}'
  local arn
  arn=$("$BIN" repl --state "$STATE" -e 'find{vault="prod-ebs-daily", limit=1}' 2>/dev/null | grep -o 'arn:aws:[^ ]*' | head -1 || true)
  if [ -n "$arn" ]; then
    timeit 0.5 "explain(one RP)" "$BIN" repl --state "$STATE" -e "explain(\"$arn\")"
    timeit 0.5 "show(one RP)" "$BIN" repl --state "$STATE" -e "show(\"$arn\")"
  fi
  timeit 1 "status" "$BIN" status --state "$STATE"
  timeit 2 "forecast --window 8h" "$BIN" forecast --state "$STATE" --window 8h
}

echo "== plan ($N recovery points)"
"$WORK/peakrss" -- "$BIN" plan examples/migrate.lua --state "$STATE" >/dev/null 2>"$WORK/plan.err" || { cat "$WORK/plan.err"; exit 1; }
grep peakrss "$WORK/plan.err"
echo "== after the plan"
questions
if [ "$COPY_WINDOW" != 0 ]; then
  echo "== a copy window of $COPY_WINDOW"
  code=0
  "$WORK/peakrss" -- "$BIN" run examples/migrate.lua --state "$STATE" --window "$COPY_WINDOW" --progress-interval 0 \
    >/dev/null 2>"$WORK/run.err" || code=$?
  grep peakrss "$WORK/run.err" || true
  # 10: the window ended with work remaining, which is what this wants.
  [ "$code" = 0 ] || [ "$code" = 10 ] || { tail -20 "$WORK/run.err"; exit 1; }
  "$BIN" repl --state "$STATE" -e 'group{by="status"}' 2>/dev/null | head -12
  echo "== during the copy (after one window)"
  questions
fi
