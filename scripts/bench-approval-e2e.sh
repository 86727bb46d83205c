#!/usr/bin/env bash
# make bench-approval-e2e: approved plans as whole processes at N recovery
# points (default 1,000,000) against testenv. After a cold plan builds the
# state, it times side by side, twice each: a resumed 'shuffle plan' and
# 'shuffle plan --out PLAN'; then 'shuffle show PLAN'; then a run that
# stops after replicate (the step whose start holds the approval gate),
# with and without --plan PLAN. KEEP=1 keeps the work directory (its
# state/ serves SHUFFLE_BENCH_STATE for the metrics benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
BIN=$PWD/bin/shuffle
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shuffle-bench-approval.XXXXXX")
# shellcheck source=scripts/testenv-lib.sh
. scripts/testenv-lib.sh
bench_workspace "$WORK" --recovery-points "$N"
cd "$WORK/run"
STATE="$WORK/state"
PLAN="$WORK/approved.plan.gz"
# The example script up to and including replicate: the run's gate
# compares the decisions with the plan at the start of replicate.
sed '/^local c = shuffle.copy/,$d' examples/migrate.lua >gate.lua

# timeit LABEL CMD...: one whole process; prints wall, CPU and peak RSS.
timeit() {
  local label=$1
  shift
  if ! "$WORK/peakrss" -- "$@" >"$WORK/out" 2>"$WORK/err"; then
    echo "FAILED: $label"; tail -20 "$WORK/err"; return 1
  fi
  local wall rss cpu
  wall=$(grep -o 'wall [0-9.]*' "$WORK/err" | awk '{print $2}')
  cpu=$(grep -o 'cpu [0-9.]*' "$WORK/err" | awk '{print $2}')
  rss=$(grep -o 'peak RSS [0-9]* MiB' "$WORK/err" | awk '{print $3}')
  printf '| %-44s | %7.2f s | %7.2f s | %6d MiB |\n' "$label" "$wall" "$cpu" "$rss"
}

echo "== $N recovery points"
echo "| command | wall | cpu | peak RSS |"
echo "|---|---|---|---|"
timeit "plan (cold: builds the state)" "$BIN" plan examples/migrate.lua --state "$STATE"
for round in 1 2; do
  timeit "plan (resumed), round $round" "$BIN" plan examples/migrate.lua --state "$STATE"
  rm -f "$PLAN"
  timeit "plan --out PLAN (resumed), round $round" "$BIN" plan examples/migrate.lua --state "$STATE" --out "$PLAN"
done
timeit "show PLAN" "$BIN" show "$PLAN"
timeit "show PLAN --decisions (to /dev/null)" "$BIN" show "$PLAN" --decisions
# Creates the destination vaults, so that the timed runs below do the
# same replicate work with and without the plan.
timeit "run up to replicate (first: creates vaults)" "$BIN" run gate.lua --state "$STATE" --progress-interval 0
for round in 1 2; do
  timeit "run up to replicate, round $round" "$BIN" run gate.lua --state "$STATE" --progress-interval 0
  timeit "run --plan PLAN up to replicate, round $round" "$BIN" run gate.lua --state "$STATE" --progress-interval 0 --plan "$PLAN"
done
grep -o 'following the approved plan[^"]*' "$WORK/err" | head -1 || true
decisions=$("$BIN" show "$PLAN" --json | grep -o '"decisions": [0-9]*' | head -1 | awk '{print $2}')
size=$(stat -c %s "$PLAN")
awk -v s="$size" -v d="$decisions" 'BEGIN{printf "plan file: %d bytes (%.1f MB), %d decisions, %.1f bytes/decision\n", s, s/1e6, d, (d ? s/d : 0)}'
echo "state: $STATE"
