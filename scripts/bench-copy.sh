#!/usr/bin/env bash
# make bench-copy: about 100,000 included-and-eligible recovery points,
# testenv quotas of 100 per account, 5 per destination vault and 1 per
# resource, copy durations from the RP sizes, time-scaled by --copy-speed.
# Runs 'shuffle plan' (which lists the inventory into the state, and
# counts what the policies include), resets the emulator's call counters,
# then 'shuffle run' on examples/migrate.lua with the copy call tuned for
# the time scale (wall time and peak RSS from scripts/peakrss), and then
# scripts/copystats: makespan against the quota-bound ideal, quota
# utilisation, and API calls per copied RP.
#
# Knobs:
#   RPS=N          recovery points seeded (default 219000: about 45.7% are
#                  included by the default policies, so about 100,000)
#   SPEED=X        testenv --copy-speed (default 20000: jobs last about 0.7 s
#                  and the copy about 13 min; 100000 takes 4 min but mostly
#                  measures fixed per-job latency)
#   OVER_LIMIT=b   true: the 5-per-vault cap applies (an account over its
#                  limit); false (default): 100 per account, 1 per resource
#   POLL_MIN=s     shuffle.copy poll_min in seconds (default 0.005)
#   VAULT_CAP=n    shuffle.copy vault_cap (default: unset, the engine learns it)
#   VARIANT=names  testenv --variant (undocumented AWS behaviours,
#                  docs/testenv.md); default: none
#   STATS_OUT=f    also write copystats' JSON report to file f
#   KEEP=1         keep the work directory
set -euo pipefail
cd "$(dirname "$0")/.."
RPS=${RPS:-219000}
SPEED=${SPEED:-20000}
OVER_LIMIT=${OVER_LIMIT:-false}
POLL_MIN=${POLL_MIN:-0.005}
VAULT_CAP=${VAULT_CAP:-}
VARIANT=${VARIANT:-}
BIN=$PWD/bin/shuffle
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shuffle-bench-copy.XXXXXX")
# shellcheck source=scripts/testenv-lib.sh
. scripts/testenv-lib.sh
bench_workspace "$WORK" --recovery-points "$RPS" --copy-speed "$SPEED" ${VARIANT:+--variant "$VARIANT"}
URL=$(testenv_url "$LOG")
curl -fsS -X PUT "$URL/_testenv/quotas" \
  -d "{\"account_copy_jobs\":100,\"vault_copy_jobs\":5,\"over_limit\":$OVER_LIMIT,\"resource_jobs\":1}" >/dev/null
echo "== testenv: $RPS recovery points, copy speed $SPEED, variant ${VARIANT:-none}, quotas $(curl -fsS "$URL/_testenv/quotas")"

# busy_backoff: the engine's 60 s first wait for a busy resource, in the
# emulator's compressed time (a backup job there lasts 15-75 min / SPEED).
BUSY_BACKOFF=$(awk -v s="$SPEED" 'BEGIN { b = 60 / s; if (b < 0.001) b = 0.001; printf "%.4f", b }')
copyopts="max_in_flight = 100, poll_min = $POLL_MIN, busy_backoff = $BUSY_BACKOFF"
[ -n "$VAULT_CAP" ] && copyopts="$copyopts, vault_cap = $VAULT_CAP"
sed "s/shuffle\.copy({ max_in_flight = 100 })/shuffle.copy({ $copyopts })/" examples/migrate.lua >"$WORK/run/bench.lua"
grep -q "shuffle.copy({ $copyopts })" "$WORK/run/bench.lua" || { echo "bench-copy: could not rewrite the shuffle.copy call in examples/migrate.lua" >&2; exit 1; }
go build -o "$WORK/copystats" ./scripts/copystats
cd "$WORK/run"

echo "== shuffle plan (inventory into the state; what the policies include)"
"$WORK/peakrss" -- "$BIN" plan bench.lua --state "$WORK/state" --json >"$WORK/plan.json" 2>"$WORK/plan.err" || { cat "$WORK/plan.err"; exit 1; }
grep peakrss "$WORK/plan.err"
included=$(grep -o '"included": [0-9]*' "$WORK/plan.json" | head -1 | awk '{print $2}')
echo "recovery points: $RPS, included by the policies: $included"
curl -fsS -X POST "$URL/_testenv/counters/reset" >/dev/null

echo "== shuffle run (resumes the inventory; replicates vaults; copies: shuffle.copy{ $copyopts })"
"$WORK/peakrss" -- "$BIN" run bench.lua --state "$WORK/state" >"$WORK/run.out" 2>"$WORK/run.err" || { cat "$WORK/run.out" "$WORK/run.err"; exit 1; }
cat "$WORK/run.out"
grep -v '^peakrss' "$WORK/run.err" | grep -E '^(copy|  failed|  waiting|run finished)' || true
grep peakrss "$WORK/run.err"

echo "== copystats (emulator counters cover 'shuffle run' only)"
"$WORK/copystats" --admin "$URL"
if [ -n "${STATS_OUT:-}" ]; then "$WORK/copystats" --admin "$URL" --json >"$STATS_OUT"; fi
echo "machine: $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(date -u +%F)"
