#!/usr/bin/env bash
# The simulator's fault study (issue 23): SLO-meeting requests/s over time, per policy, on a generated
# 16-node cluster under the mixed workload (256 req/s, near its capacity), through (a) a crash of the only edge server at 30 s and
# its recovery at 60 s, (b) a controller outage from 20 s to 70 s, (c) 30% of digests lost from 0 s.
# Usage: bench/sim/fault_study.sh [OUT]   (default bench/results/sim/faults; ~2 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-bench/results/sim/faults}
EPARA=${EPARA:-build/epara}
mkdir -p "$OUT"
run() {  # TAG FAULT...
  local tag=$1
  shift
  local faults=()
  for f in "$@"; do faults+=(--fault "$f"); done
  "$EPARA" sim --cluster bench/testbed.yaml --workload bench/workloads/mixed.yaml \
    --profiles bench/results/sim/profiles.json --nodes 16 --copies 2 --duration-s 90 --rates 64 \
    "${faults[@]}" --out "$OUT/$tag" > "$OUT/$tag.log" 2>&1
  echo "$tag done"
}
# Fault times count from the start of the simulation, which includes the 2 s warm-up.
run crash crash:edge-1@32 recover:edge-1@62
run controller controller-down@22 controller-up@72
run loss30 loss:0.3@0
run none
python3 bench/sim/fault_timeline.py "$OUT" bench/workloads/mixed.yaml
# The per-request logs (report.json, hundreds of MB at scale) and charts stay out of git: the tables
# above hold the results; each run's report.md and sim_stats.json stay beside them.
find "$OUT" -mindepth 2 \( -name report.json -o -name '*.svg' \) -delete
