#!/usr/bin/env bash
# The simulator's scale study (issue 23): every policy on generated clusters of 16, 100 and 1,000
# nodes (5% edge servers, 25% boards, 70% microcomputers; the mixed workload's two models as N/10
# services each... see COPIES), epara and alpaserve-like at 10,000 (the replicating baselines put
# every service on every node: 10,000 route candidates per request, hours of host time), the sync
# cost of all-to-all digests vs zones, and the controller's host time per period.
# Usage: bench/sim/scale_study.sh [OUT]   (default bench/results/sim/scale; ~15 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-bench/results/sim/scale}
EPARA=${EPARA:-build/epara}
PROFILES=bench/results/sim/profiles.json
mkdir -p "$OUT"
run() {  # NODES COPIES DURATION RATES POLICIES SYNC TAG
  "$EPARA" sim --cluster bench/testbed.yaml --workload bench/workloads/mixed.yaml \
    --profiles "$PROFILES" --nodes "$1" --copies "$2" --duration-s "$3" --rates "$4" \
    --policy "$5" --sync "$6" --warmup-s 2 --out "$OUT/$7" > "$OUT/$7.log" 2>&1
  echo "$7 done"
}
run 16 2 20 16,32,64,128 epara,replicate-rr,triton-like,alpaserve-like,local-only all n16
run 100 10 20 16,32,64,128 epara,replicate-rr,triton-like,alpaserve-like,local-only all n100
run 100 10 20 16,32,64,128 epara zone:50 n100_zone50
run 1000 50 5 16,32,64,128 epara,replicate-rr,triton-like,alpaserve-like,local-only all n1000
run 10000 50 3 16,64 epara,alpaserve-like all n10000
run 10000 50 3 16,64 epara zone:50 n10000_zone50
python3 bench/sim/summarize_scale.py "$OUT"
# The per-request logs (report.json, hundreds of MB at scale) and charts stay out of git: the tables
# above hold the results; each run's report.md and sim_stats.json stay beside them.
find "$OUT" -mindepth 2 \( -name report.json -o -name '*.svg' \) -delete
