#!/usr/bin/env bash
# Every policy on the published-ratio edge testbed (bench/testbed-edge.yaml, issue 24), each workload
# swept low enough to bracket every policy's 90% point, 3 repeats per rate (own arrival seeds).
# Usage: bench/sim/edge_study.sh [OUT]   (default bench/results/sim/edge; ~2 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-bench/results/sim/edge}
EPARA=${EPARA:-build/epara}
mkdir -p "$OUT"
run() {  # WORKLOAD RATES
  "$EPARA" sim --cluster bench/testbed-edge.yaml --workload "bench/workloads/$1.yaml" \
    --profiles bench/results/sim/hd/profiles.json --rates "$2" --repeats 3 --out "$OUT/$1" \
    > "$OUT/$1.log" 2>&1 || { echo "$1 failed: see $OUT/$1.log"; exit 1; }
  echo "$1 done"
}
run azure-conv 0.25,0.5,1,2,4,6,9,12,16,20,24
run azure-code 0.25,0.5,1,2,3,4,5,6,8
run mixed 0.25,0.5,1,2,4,8,12,16,24,32,40
run segmentation 0.25,0.5,1,2,4,8,12,16,24,32,40
run segmentation-hd 0.25,0.5,1,2,4,8,12,16,24,32
python3 bench/sim/summarize_edge.py "$OUT"
find "$OUT" -mindepth 2 \( -name report.json -o -name '*.svg' \) -delete
