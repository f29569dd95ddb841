#!/usr/bin/env bash
# The digital twin in the simulator (issue 24): epara's controller with and without the twin's gate
# (--twin) on every simulated testbed, and the twin's predicted vs observed goodput per controller
# period. Usage: bench/sim/twin_study.sh [OUT]   (default bench/results/sim/twin; ~3 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-bench/results/sim/twin}
EPARA=${EPARA:-build/epara}
mkdir -p "$OUT"
run() {  # TAG ARGS...: runs epara with and without the twin
  local tag=$1
  shift
  for mode in plain twin; do
    local extra=()
    [[ $mode == twin ]] && extra=(--twin)
    "$EPARA" sim --policy epara "$@" "${extra[@]}" --out "$OUT/$tag/$mode" > "$OUT/$tag/$mode.log" 2>&1 ||
      { echo "$tag $mode failed: see $OUT/$tag/$mode.log"; exit 1; }
  done
  echo "$tag done"
}
mkdir -p "$OUT"/{testbed,hd,pipeline,crash16,scale100}
# The 4-node testbed sharing a 2-core host (as bench/results/sim/repeats).
run testbed --cluster bench/testbed.yaml --workload bench/workloads/segmentation.yaml \
  --workload bench/workloads/azure-conv.yaml --workload bench/workloads/azure-code.yaml \
  --workload bench/workloads/mixed.yaml --profiles bench/results/sim/profiles.json --host-cores 2 \
  --repeats 3
# High-resolution frames split over boards (LS-MD), each node on its own hardware.
run hd --cluster bench/testbed-hd.yaml --workload bench/workloads/segmentation-hd.yaml \
  --profiles bench/results/sim/hd/profiles.json --repeats 5
# An LLM pipelined over small nodes (FS-MD) beside an edge server.
run pipeline --cluster bench/testbed-llm-pipeline.yaml --workload bench/workloads/azure-conv.yaml \
  --profiles bench/results/sim/profiles.json --rates 4,8,12,16 --repeats 3
# 16 generated nodes near capacity; the only edge server crashes at 32 s and recovers at 62 s.
run crash16 --cluster bench/testbed.yaml --workload bench/workloads/mixed.yaml \
  --profiles bench/results/sim/profiles.json --nodes 16 --copies 2 --duration-s 90 --rates 64 \
  --fault crash:edge-1@32 --fault recover:edge-1@62
# 100 generated nodes, 20 services, a sweep.
run scale100 --cluster bench/testbed.yaml --workload bench/workloads/mixed.yaml \
  --profiles bench/results/sim/profiles.json --nodes 100 --copies 10 --duration-s 120 \
  --rates 70,80,90,100 --repeats 2
python3 bench/sim/summarize_twin.py "$OUT"
# Per-request logs and charts stay out of git (the command writes them again).
find "$OUT" -mindepth 3 \( -name report.json -o -name '*.svg' \) -delete
