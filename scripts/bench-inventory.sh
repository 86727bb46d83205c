#!/usr/bin/env bash
# make bench-inventory: testenv with 1,000,000 recovery points; time
# 'shuffle plan' from a cold start to done (wall, peak RSS, RPs/s), then a
# resumed plan with nothing changed, then the AWS CLI listing the same RPs
# (set SKIP_CLI=1 to skip that part), all in one run so the ratios hold.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
BIN=$PWD/bin/shuffle
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shuffle-bench-inv.XXXXXX")
# shellcheck source=scripts/testenv-lib.sh
. scripts/testenv-lib.sh
bench_workspace "$WORK" --recovery-points "$N"
cd "$WORK/run"
# CPU seconds (user + system) the emulator has used so far.
emucpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$PID/stat" 2>/dev/null || echo 0; }
echo "== cold plan ($N recovery points)"
e0=$(emucpu)
"$WORK/peakrss" -- "$BIN" plan examples/migrate.lua --state "$WORK/state" --json >"$WORK/plan.json" 2>"$WORK/cold.err" || { cat "$WORK/cold.err"; exit 1; }
grep peakrss "$WORK/cold.err"
echo "emulator CPU during the cold plan: $(awk -v a="$e0" -v b="$(emucpu)" 'BEGIN{printf "%.1f", b-a}') s"
cold=$(grep -o 'wall [0-9.]*' "$WORK/cold.err" | awk '{print $2}')
total=$(grep -o '"recovery_points": [0-9]*' "$WORK/plan.json" | head -1 | awk '{print $2}')
awk -v n="$total" -v s="$cold" 'BEGIN{printf "recovery points: %d, %.0f RPs/s\n", n, n/s}'
echo "== resumed plan, nothing changed"
"$WORK/peakrss" -- "$BIN" plan examples/migrate.lua --state "$WORK/state" --json >"$WORK/plan2.json" 2>"$WORK/warm.err" || { cat "$WORK/warm.err"; exit 1; }
grep peakrss "$WORK/warm.err"
echo "pages listed by the resumed plan: $(grep -o '"listed_pages": [0-9]*' "$WORK/plan2.json" | awk '{print $2}')"
if [ "${SKIP_CLI:-0}" != 1 ] && command -v aws >/dev/null; then
  echo "== AWS CLI: list-recovery-points-by-backup-vault over every vault"
  t0=$(date +%s.%N)
  count=0
  for v in $(aws --profile source backup list-backup-vaults --query 'BackupVaultList[].BackupVaultName' --output text); do
    # --query applies per page, so the CLI prints one count per page.
    c=$(aws --profile source backup list-recovery-points-by-backup-vault --backup-vault-name "$v" --query 'length(RecoveryPoints)' --output text | awk '{s+=$1} END {print s+0}')
    count=$((count + c))
  done
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v s="$cold" -v n="$count" 'BEGIN{printf "AWS CLI listed %d RPs in %.1f s; shuffle plan (list, enrich, decide, report) took %.1f s; shuffle/CLI time ratio %.2f\n", n, b-a, s, s/(b-a)}'
fi
echo "machine: $(uname -m), $(nproc) cores, $(date -u +%F)"
