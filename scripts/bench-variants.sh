#!/usr/bin/env bash
# make bench-variants: the copy's makespan under testenv variants of
# AWS's undocumented behaviours, side by side with the default variant on
# the same seed and workload (docs/testenv.md, "Variants"). Each variant
# is one scripts/bench-copy.sh run at a smaller scale; the figure is the
# makespan (first job created to last job ended, in simulated seconds)
# as a ratio of the default's. Target: other-texts and busy-resources
# within 1.2x of the default.
#
# Knobs:
#   RPS=N        recovery points seeded (default 20000: about 9,000 copied)
#   SPEED=X      testenv --copy-speed (default 20000)
#   VARIANTS="a b"  the variants to compare (default: other-texts
#                busy-resources other-texts,busy-resources)
#   OVER_LIMIT=b true: the 5-per-vault cap applies (bench-copy.sh), so
#                vault refusals come in the variant's words; with the
#                default quotas the 100-job account cap is shuffle's own
#                max_in_flight and AWS refuses only busy resources
set -euo pipefail
cd "$(dirname "$0")/.."
export RPS=${RPS:-20000}
export SPEED=${SPEED:-20000}
VARIANTS=${VARIANTS:-"other-texts busy-resources other-texts,busy-resources"}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/shuffle-bench-variants.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

run() { # run NAME VARIANT
  echo "== $1"
  VARIANT="$2" STATS_OUT="$OUT/$1.json" ./scripts/bench-copy.sh >"$OUT/$1.log" 2>&1 || { cat "$OUT/$1.log"; exit 1; }
  grep -E '^(makespan|copy jobs|StartCopyJob calls)' "$OUT/$1.log" || true
}

run default ""
for v in $VARIANTS; do run "$v" "$v"; done

base=$(jq -r .makespan_s "$OUT/default.json")
printf '\n%-34s %12s %8s %10s %16s\n' variant makespan_s ratio jobs max_jobs_per_rp
for f in default $VARIANTS; do
  j="$OUT/$f.json"
  printf '%-34s %12.1f %8.3f %10d %16s\n' "$f" "$(jq -r .makespan_s "$j")" \
    "$(jq -r --argjson b "$base" '.makespan_s / $b' "$j")" "$(jq -r .jobs "$j")" "$(jq -r .jobs_created_max_per_rp_vault "$j")"
done
echo "machine: $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(date -u +%F)"
