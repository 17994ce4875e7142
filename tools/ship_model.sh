#!/usr/bin/env bash
# Ships the best model of a training run: copies its weights over the shipped file, keeps the
# previous curve and log as docs/training/NAME-stageN, copies the run's curve and log to
# docs/training/NAME, rebuilds and scores the model as the issues ask.
#
#   tools/ship_model.sh sr      NAME RUN_DIR SCALE     # e.g. sr srcnn-9-5-5-x3 runs/x3-rd 3
#   tools/ship_model.sh deblock NAME RUN_DIR QUALITY   # e.g. deblock arcnn-q30 runs/q30-rd 30
#
# Needs ENHANCE_DATASETS (default ../shared/datasets). Commit by hand after reading the numbers.
set -euo pipefail
usage="usage: tools/ship_model.sh sr|deblock NAME RUN_DIR SCALE|QUALITY"
[ $# -eq 4 ] || { echo "$usage" >&2; exit 64; }
task=$1 name=$2 arg=$4
case $task in sr|deblock) ;; *) echo "error: task must be sr or deblock, got '$task'" >&2; exit 64 ;; esac
[ -d "$3" ] || { echo "error: $3 is not a folder" >&2; exit 1; }
run=$(cd "$3" && pwd)    # before the cd below: RUN_DIR may be relative to the caller's folder
cd "$(dirname "$0")/.."
data=${ENHANCE_DATASETS:-../shared/datasets}
weights=Sources/EnhanceModels/Weights/$name.safetensors
[ -f "$run/best.safetensors" ] || { echo "error: $run/best.safetensors not found" >&2; exit 1; }
[ -f "$weights" ] || { echo "error: $weights is not a shipped model" >&2; exit 1; }
if [ -d "docs/training/$name" ]; then
  n=1; while [ -e "docs/training/$name-stage$n" ]; do n=$((n+1)); done
  git mv "docs/training/$name" "docs/training/$name-stage$n"
  echo "previous curve kept as docs/training/$name-stage$n"
fi
mkdir -p "docs/training/$name"
cp "$run/log.csv" "$run/curve.svg" "docs/training/$name/"
cp "$run/best.safetensors" "$weights"
swift build -c release >/dev/null
E=.build/release/enhance
case $task in
  sr)
    $E eval --model "$name" --dataset "$data/Set5" --dataset "$data/Set14" --scale "$arg"
    python3 tools/check_cli_vs_eval.py --enhance $E --model "$name" --scale "$arg" --dataset "$data/Set5"
    $E models --activity "$data/Set5" --model "$name" ;;
  deblock)
    $E eval --task deblock --dataset "$data/LIVE1" --quality "$arg" --model "$name"
    $E models --activity "$data/LIVE1" --model "$name" ;;
esac
