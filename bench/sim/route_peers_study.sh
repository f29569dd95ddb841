#!/usr/bin/env bash
# Bounded route candidates (issue 23, router/peer_sample.h): epara's routing weighing every host of
# a service (--route-peers 0, as before session 22) against a speed-proportional sample with memory
# of 8 (the default), 16 or 32 (router/peer_sample.h), on the scale study's generated clusters (bench/sim/scale_study.sh's shapes), all-to-all
# sync. Goodput @90% per node and the simulator's wall time per configuration.
# Usage: bench/sim/route_peers_study.sh [OUT]   (default bench/results/sim/route_peers; ~10 min)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-bench/results/sim/route_peers}
EPARA=${EPARA:-build/epara}
mkdir -p "$OUT"
run() {  # NODES COPIES DURATION RATES REPEATS PEERS
  local tag="n$1_peers$6"
  "$EPARA" sim --cluster bench/testbed.yaml --workload bench/workloads/mixed.yaml \
    --profiles bench/results/sim/profiles.json --nodes "$1" --copies "$2" --duration-s "$3" \
    --rates "$4" --repeats "$5" --route-peers "$6" --policy epara --warmup-s 2 \
    --out "$OUT/$tag" > "$OUT/$tag.log" 2>&1
  echo "$tag done"
}
for peers in 0 8 16 32; do
  run 100 10 20 16,32,48,64,96,128 3 "$peers"
  run 1000 50 5 16,32,48,64,96,128 3 "$peers"
  run 10000 50 3 16,32,64 1 "$peers"
done
python3 bench/sim/summarize_route_peers.py "$OUT"
# Kept in git: the table, each run's log, its sim_stats.json (without the controller's log) and
# epara's row of its report.md (the per-node tables are hundreds of KB at 10,000 nodes).
for d in "$OUT"/n*_peers*/; do
  grep -m1 '^| epara |' "$d/report.md" > "$d/epara_row.md"
  python3 -c 'import json,sys; p=sys.argv[1]; s=json.load(open(p)); [x.pop("log", None) for x in s]; json.dump(s, open(p, "w"), indent=1)' "$d/sim_stats.json"
  rm -f "$d/report.md" "$d/report.json" "$d"/*.svg
done
