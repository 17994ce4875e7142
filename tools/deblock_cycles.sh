#!/usr/bin/env bash
# Fine-tuning cycles of an AR-CNN, each followed by its extrapolation scan, as sessions 22–23 ran
# them by hand (docs/training.md, "Status at the end of session 23"). Cycle k (letters a, b, ...)
# is recipe D without flips and with --borders: STEPS updates of 16 64² sub-images at LR cosine,
# one core (THREADS), from the previous cycle's pick, into runs/PREFIXk. Its scan
# (tools/extrapolation_scan.sh, into runs/scan/PREFIXk) tries A = 0, 1, 2 and goes on to
# 3, 4, 6, 8, 10, 12 while the largest A tried is strictly the best on LIVE1. The pick is the best LIVE1
# among the factors whose Set14 is not below A = 0's; it is appended to runs/PREFIX.picks and
# starts the next cycle; with PICK_MIN_GAIN (dB, default 0) the pick is A = 0 unless it gains at
# least that much over A = 0 on LIVE1 (session 27: a plain start after each cycle). A cycle that
# finished (its log.csv has step STEPS) is not rerun, so the chain can be restarted where it
# stopped; a stopped cycle is started afresh. A cycle whose
# validations never beat its start goes on from its last step's weights (session 24: otherwise
# the next cycle repeats it exactly). Each cycle's last weights are kept as runs/PREFIXk/final.safetensors.
#
#   tools/deblock_cycles.sh QUALITY INIT PREFIX CYCLES [extra train options...]
#   e.g. tools/deblock_cycles.sh 10 Sources/EnhanceModels/Weights/arcnn-q10.safetensors q10-s23s1 4
#
# Environment: SEED (default 1) and SEEDSTEP (default 0: every cycle sees the same order, which
# session 23 found to matter), STEPS (7000), LR (5e-5), THREADS (1; also for the scans: 2 runs one
# chain on both cores, about 1.8x as fast), ENHANCE (default .build/release/enhance),
# ENHANCE_DATASETS (default ../shared/datasets), PICK_MIN_GAIN (0).
set -euo pipefail
usage="usage: tools/deblock_cycles.sh QUALITY INIT PREFIX CYCLES [extra train options...]"
[ $# -ge 4 ] || { echo "$usage" >&2; exit 64; }
quality=$1 init=$2 prefix=$3 cycles=$4; shift 4
[[ $cycles =~ ^[1-9][0-9]?$ && $cycles -le 26 ]] || { echo "error: CYCLES must be 1 to 26, got '$cycles'" >&2; exit 64; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
E=${ENHANCE:-$root/.build/release/enhance}
[ -x "$E" ] || { echo "error: $E not built (swift build -c release, or set ENHANCE)" >&2; exit 1; }
export ENHANCE=$E ENHANCE_DATASETS=${ENHANCE_DATASETS:-../shared/datasets}
seed=${SEED:-1} seedstep=${SEEDSTEP:-0} steps=${STEPS:-7000} lr=${LR:-5e-5}
export THREADS=${THREADS:-1}
pick_min_gain=${PICK_MIN_GAIN:-0}
[[ $pick_min_gain =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "error: PICK_MIN_GAIN must be a number of dB, got '$pick_min_gain'" >&2; exit 64; }
letters=abcdefghijklmnopqrstuvwxyz
for ((k = 0; k < cycles; k++)); do
  [ -f "$init" ] || { echo "error: $init not found" >&2; exit 1; }
  run=$prefix${letters:k:1}
  if ! grep -q "^$steps," "runs/$run/log.csv" 2>/dev/null; then
    rm -rf "runs/$run"
    echo "$(date +%H:%M) $run: $steps updates from $init, seed $((seed + k * seedstep))"
    "$E" train --model arcnn --quality "$quality" --name "arcnn-q$quality" \
      --data BSDS500/train --data BSDS500/test --validation LIVE1 --patch 64 --stride 20 --batch 16 \
      --threads "$THREADS" --schedule cosine --lr "$lr" --lr-mult 6=0.1 --revive-dead --no-downscale \
      --no-augment --borders --seed $((seed + k * seedstep)) --steps "$steps" --init "$init" \
      -o "runs/$run" "$@" > "runs/$run.log" 2>&1 || { echo "error: $run failed; see runs/$run.log" >&2; exit 1; }
  fi
  # the cycle's end is its best validation, unless that is step 0 (the start itself: scanning it
  # would go nowhere and the next cycle would repeat this one); then its last step's weights
  python3 tools/final_weights.py "runs/$run"
  end=runs/$run/best.safetensors
  best_step=$(awk -F, 'NR > 1 && $5 != "" && (!found || $5 > best) { best = $5; step = $1; found = 1 } END { print step }' "runs/$run/log.csv")
  [ "$best_step" != 0 ] || { end=runs/$run/final.safetensors; echo "$run: no validation beat the start; going on from its last step"; }
  table=runs/scan-$run.out
  : > "$table"
  scan() { tools/extrapolation_scan.sh arcnn "$quality" "$end" "runs/$run/start.safetensors" "runs/scan/$run" "$@" | tail -n +2 >> "$table"; }
  scan 0 1 2
  for a in 3 4 6 8 10 12; do   # on while the largest factor so far is strictly the best
    awk 'NR > 1 && (NR == 2 || prev > best) { best = prev } { prev = $2 } END { exit !(NR == 1 || prev > best) }' "$table" || break
    scan "$a"
  done
  # the best LIVE1 among the factors whose Set14 is not below A = 0's; the smallest such A on a tie;
  # A = 0 itself unless that best gains at least PICK_MIN_GAIN dB over it on LIVE1
  pick=$(awk -v min="$pick_min_gain" 'NR == 1 { s = $3; zero = $0; z = $2 }
    $3 >= s && (!found || $2 > best) { best = $2; line = $0; found = 1 }
    END { if (best - z + 1e-9 < min) line = zero; print line }' "$table")
  echo "$run pick A=$pick" | tee -a "runs/$prefix.picks"
  init=runs/scan/$run/x$(echo "$pick" | awk '{print $1}')/best.safetensors
done
