#!/usr/bin/env bash
# How far to go along a finished deblocking cycle: for each factor A, the start
# END + A·(END − START) is made and validated on LIVE1 by `enhance train --steps 0` (a run of
# its own, kept in OUT/xA, shippable with tools/ship_model.sh) and scored on Set14, which no
# training run ever selects on. A = 0 is END itself. docs/results.md ("How far to go") says
# how the factor is chosen: the best LIVE1 among the factors that do not lose on Set14.
#
#   tools/extrapolation_scan.sh MODEL QUALITY END START OUT [A ...]     # A defaults to 0 1 2 3 4 6
#   e.g. tools/extrapolation_scan.sh arcnn 40 runs/q40/best.safetensors runs/q40/start.safetensors runs/q40-scan
#
# Needs ENHANCE_DATASETS (default ../shared/datasets) and a release build; THREADS (default 1).
set -euo pipefail
usage="usage: tools/extrapolation_scan.sh MODEL QUALITY END START OUT [A ...]"
[ $# -ge 5 ] || { echo "$usage" >&2; exit 64; }
model=$1 quality=$2 end=$3 start=$4 out=$5; shift 5
factors=("$@"); [ ${#factors[@]} -gt 0 ] || factors=(0 1 2 3 4 6)
for f in "$end" "$start"; do [ -f "$f" ] || { echo "error: $f not found" >&2; exit 1; }; done
threads=${THREADS:-1}
E=${ENHANCE:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/enhance}
[ -x "$E" ] || { echo "error: $E not built (swift build -c release, or set ENHANCE)" >&2; exit 1; }
export ENHANCE_DATASETS=${ENHANCE_DATASETS:-../shared/datasets}
mkdir -p "$out"
printf '%-6s %-9s %-9s\n' A LIVE1 Set14
for a in "${factors[@]}"; do
  run=$out/x$a
  [ -f "$run/best.safetensors" ] || {
    extrapolation=(); [ "$a" = 0 ] || extrapolation=(--extrapolate-from "$start" --extrapolate-by "$a")
    "$E" train --model "$model" --quality "$quality" --name "$model-q$quality" --data BSDS500/train --data BSDS500/test \
      --validation LIVE1 --patch 64 --stride 20 --threads "$threads" --no-downscale \
      --steps 0 --init "$end" "${extrapolation[@]}" -o "$run" > "$out/x$a.log" 2>&1 ||
      { echo "error: the run for A = $a failed; see $out/x$a.log" >&2; exit 1; }
  }
  live1=$(awk -F, 'NR == 2 { printf "%.4f", $5 }' "$run/log.csv")
  set14=$("$E" eval --task deblock --dataset Set14 --quality "$quality" --model "$run/best.safetensors" --threads "$threads" --json |
    python3 -c 'import json, sys; print("%.4f" % json.load(sys.stdin)["results"][-1]["mean"]["psnr"])')
  printf '%-6s %-9s %-9s\n' "$a" "$live1" "$set14"
done
