#!/usr/bin/env bash
# make soak: the whole migration at full scale, through repeated change
# windows, with everything that goes wrong in a real one (issue 17;
# figures in docs/performance.md). Not part of make test.
#
# testenv seeds N recovery points (default 1,000,000) with copy jobs
# time-scaled by SPEED (default 1,000,000). At a million RPs the seed's
# longest resource chain (one S3 bucket's daily recovery points, copied
# one after another) holds about 49 hours of job time at speed 20,000,
# so at 1,000,000 it takes about an hour, and the sum of every job
# (about 290,000 s at speed 20,000) a minute over 100 slots: the
# migration is bound by that chain and by how fast shuffle itself can
# start and record ~457,000 copies on the machine,
# quotas of 100 copy jobs per account and 1 per resource, session
# credentials that expire every TOKEN_TTL (default 3m) and are rotated,
# and faults on every AWS call: 10% throttled, 2% 5xx, 1% connections
# reset, 1% of copy jobs failing. Then:
#
#   1. 'shuffle plan', then 'shuffle run --window WINDOW' (default 5m)
#      again and again until a run exits 0; in KILLS windows (default
#      3: the 2nd, 4th and 6th) the run is SIGKILLed at a random moment;
#   2. after the first window past 10% done, 'shuffle forecast --window'
#      predicts the in-window time left, compared at the end with what
#      it took;
#   3. at the end, with the faults off: scripts/soakcheck counts, through
#      the AWS SDK, the COMPLETED copies of each included RP in the
#      destination (exactly one each, none of an excluded RP);
#      'shuffle verify' must agree; the value log is collected and the
#      state's size on disk compared with its live data; scripts/copystats
#      gives the quota-bound ideal, against the time spent inside windows.
#
# Knobs: N, SPEED, WINDOW, TOKEN_TTL (0: long-lived keys), FAULTS (the
# testenv faults JSON), KILLS (windows to kill, e.g.
# "2 4 6"), MAX_WINDOWS (default 40), SEED (kill moments), KEEP=1 keeps
# the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
SPEED=${SPEED:-1000000}
WINDOW=${WINDOW:-5m}
TOKEN_TTL=${TOKEN_TTL:-3m}
KILLS=${KILLS:-2 4 6}
MAX_WINDOWS=${MAX_WINDOWS:-40}
SEED=${SEED:-$$}
BIN=${BIN:-$PWD/bin/shuffle}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shuffle-soak.XXXXXX")
LOG="$WORK/testenv.log"
# shellcheck source=scripts/testenv-lib.sh
. scripts/testenv-lib.sh
ttl=()
[ "$TOKEN_TTL" != 0 ] && ttl=(--token-ttl "$TOKEN_TTL")
start_testenv "$WORK/testenv-run" "$LOG" --recovery-points "$N" --copy-speed "$SPEED" "${ttl[@]}"
stop_testenv_on_exit "$WORK"
wait_testenv "$LOG"
# shellcheck disable=SC1091
. "$WORK/testenv-run/env"
URL=$(testenv_url "$LOG")
curl -fsS -X PUT "$URL/_testenv/quotas" -d '{"account_copy_jobs":100,"resource_jobs":1}' >/dev/null
FAULTS=${FAULTS:-'{"throttle_rate":0.10,"error_rate":0.02,"reset_rate":0.01,"copy_fail_rate":0.01}'}
for t in peakrss copystats soakcheck vloggc; do go build -o "$WORK/$t" "./scripts/$t"; done
mkdir -p "$WORK/run" && cp -r examples policies "$WORK/run/" && ln -s "$WORK/testenv-run" "$WORK/run/testenv-run"
# The engine's waits, in the emulator's compressed time: 60 s before a
# busy resource is tried again, 5 min after a failed copy job, 10 s
# after a failed StartCopyJob call.
BUSY_BACKOFF=$(awk -v s="$SPEED" 'BEGIN { b = 60 / s; if (b < 0.001) b = 0.001; printf "%.4f", b }')
RETRY_BASE=$(awk -v s="$SPEED" 'BEGIN { b = 300 / s; if (b < 0.001) b = 0.001; printf "%.4f", b }')
CALL_BACKOFF=$(awk -v s="$SPEED" 'BEGIN { b = 10 / s; if (b < 0.001) b = 0.001; printf "%.4f", b }')
copyopts="max_in_flight = 100, poll_min = 0.005, busy_backoff = $BUSY_BACKOFF, retry_base = $RETRY_BASE, call_backoff = $CALL_BACKOFF"
sed "s/shuffle\.copy({ max_in_flight = 100 })/shuffle.copy({ $copyopts })/" examples/migrate.lua >"$WORK/run/soak.lua"
grep -q "shuffle.copy({ $copyopts })" "$WORK/run/soak.lua" || { echo "soak: could not rewrite the shuffle.copy call" >&2; exit 1; }
cd "$WORK/run"
STATE="$WORK/state"
"$WORK/soakcheck" --write-baseline "$WORK/baseline.json"
curl -fsS -X PUT "$URL/_testenv/faults" -d "$FAULTS" >/dev/null
echo "== soak: $N RPs, copy speed $SPEED, windows of $WINDOW, tokens every $TOKEN_TTL, faults $FAULTS, kills in windows: $KILLS"

secs() { awk -v w="$1" 'BEGIN { n = w + 0; u = substr(w, length(w)); if (u == "m") n *= 60; if (u == "h") n *= 3600; print n }'; }
WIN_S=$(secs "$WINDOW")
"$WORK/peakrss" -- "$BIN" plan soak.lua --state "$STATE" >/dev/null 2>"$WORK/plan.err" || { cat "$WORK/plan.err"; exit 1; }
grep peakrss "$WORK/plan.err"

RANDOM=$SEED
inside=0 fc_at="" fc_pred="" maxrss=0 kills=0
echo "| window | exit | wall s | peak RSS MiB | done % after |"
echo "|---|---|---|---|---|"
for w in $(seq 1 "$MAX_WINDOWS"); do
  "$WORK/peakrss" -- "$BIN" run soak.lua --state "$STATE" --window "$WINDOW" --progress-interval 0 >"$WORK/run$w.out" 2>"$WORK/run$w.err" &
  pr=$!
  killed=""
  if [[ " $KILLS " == *" $w "* ]]; then
    delay=$((WIN_S / 10 + RANDOM % (WIN_S * 8 / 10)))
    (sleep "$delay"; pkill -KILL -P "$pr" || true) &
    killer=$!
    killed=" (SIGKILL at ${delay}s)"
  fi
  code=0
  wait "$pr" || code=$?
  [ -n "$killed" ] && { kill "$killer" 2>/dev/null || true; wait "$killer" 2>/dev/null || true; }
  wall=$(grep -o 'wall [0-9.]*' "$WORK/run$w.err" | awk '{print $2}')
  rss=$(grep -o 'peak RSS [0-9]*' "$WORK/run$w.err" | awk '{print $3}')
  inside=$(awk -v a="$inside" -v b="$wall" 'BEGIN { print a + b }')
  [ "${rss:-0}" -gt "$maxrss" ] && maxrss=$rss
  pct=$("$BIN" status --state "$STATE" --json 2>/dev/null | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["percent_done"], 1))' || echo "?")
  if grep -q 'peakrss: .*exit -1' "$WORK/run$w.err"; then kills=$((kills + 1)); fi
  echo "| $w$killed | $code | $wall | $rss | $pct |"
  if [ -z "$fc_at" ] && [ "$pct" != "?" ] && awk -v p="$pct" 'BEGIN { exit !(p >= 10) }'; then
    fc_at=$inside
    "$BIN" forecast --state "$STATE" --window "$WINDOW" --json >"$WORK/forecast.json" 2>/dev/null || true
    fc_pred=$(python3 - "$WORK/forecast.json" "$WIN_S" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
p = f.get("projection") or {}
w = p.get("window") or {}
if w.get("windows"):
    print((w["windows"] - 1) * float(sys.argv[2]) + w.get("last_window_seconds", 0))
else:
    print(p.get("remaining_seconds", 0))
EOF
)
    echo "forecast at ${pct}% done: ${fc_pred} s of window time left"
  fi
  case $code in
    0) break ;;
    10|255|1) ;; # the window ended; killed (peakrss exits 255); a failed run is retried by the next window (its log is kept)
    *) echo "run $w exited $code:"; tail -20 "$WORK/run$w.err" ;;
  esac
  if [ "$w" = "$MAX_WINDOWS" ]; then echo "soak: not finished after $MAX_WINDOWS windows" >&2; exit 1; fi
done

echo "== the end, faults off"
curl -fsS -X PUT "$URL/_testenv/faults" -d '{}' >/dev/null
"$WORK/copystats" --admin "$URL" --json >"$WORK/copystats.json" || true
ok=0
"$WORK/soakcheck" --state "$STATE" --baseline "$WORK/baseline.json" >"$WORK/soakcheck.json" || ok=$?
cat "$WORK/soakcheck.json"
vcode=0
"$BIN" verify soak.lua --state "$STATE" >"$WORK/verify.out" 2>&1 || vcode=$?
tail -5 "$WORK/verify.out"
"$WORK/vloggc" "$STATE" | tail -2
"$WORK/soakcheck" --state "$STATE" --baseline "$WORK/baseline.json" >"$WORK/soakcheck2.json" || true
python3 - "$WORK/copystats.json" "$WORK/soakcheck2.json" "$inside" "$maxrss" "${fc_at:-}" "${fc_pred:-}" "$ok" "$vcode" "$kills" <<'EOF'
import json, sys
cs = json.load(open(sys.argv[1])) if open(sys.argv[1]).read().strip() else {}
sc = json.load(open(sys.argv[2]))
inside, maxrss = float(sys.argv[3]), int(sys.argv[4])
ideal = cs.get("ideal_s", 0)
print("| figure | value | target |")
print("|---|---|---|")
print(f"| included RPs with exactly one COMPLETED copy (SDK) | {sc['copied_once']} of {sc['included']}; missing {sc['missing']}, duplicated {sc['duplicated']}, copies of excluded RPs {sc['not_included']} | all, none, none, none |")
print(f"| shuffle verify exit | {sys.argv[8]} | 0 |")
print(f"| runs SIGKILLed | {sys.argv[9]} | >= 3 |")
print(f"| peak RSS of any shuffle run | {maxrss} MiB | <= 500 MB |")
disk, live = sc["disk_bytes"], sc["live_bytes"]
print(f"| state on disk / live data, after value-log collection | {disk/2**20:.0f} MiB / {live/2**20:.0f} MiB = {disk/max(live,1):.2f} | <= 3 |")
if ideal:
    print(f"| time inside windows / quota-bound ideal | {inside:.0f} s / {ideal:.0f} s = {inside/ideal:.3f} | <= 1.10 |")
if sys.argv[5]:
    at, pred = float(sys.argv[5]), float(sys.argv[6] or 0)
    actual = inside - at
    print(f"| forecast at 10% of window time left | {pred:.0f} s predicted, {actual:.0f} s actual ({100*(pred-actual)/max(actual,1):+.1f}%) | within 15% |")
EOF
echo "machine: $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(date -u +%F)"
[ "$ok" = 0 ] && [ "$vcode" = 0 ]
