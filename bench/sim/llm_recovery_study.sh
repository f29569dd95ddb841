#!/usr/bin/env bash
# The controller's LLM modes through a crash (issue 24, session 28): the published-ratio edge
# testbed (bench/testbed-edge.yaml) without its declared pipeline, so llama-demo runs whole on the
# edge server only; the server crashes 20 s into the window and returns 30 s later (the simulation's
# clock includes the 2 s warm-up). Every policy, then epara with the controller's LLM modes off
# (`controller: {llm_modes: false}`): the same run without the recovery.
# Usage: bench/sim/llm_recovery_study.sh [OUT]   (default bench/results/sim/llm_recovery; ~10 s)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-bench/results/sim/llm_recovery}
EPARA=${EPARA:-build/epara}
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The edge testbed whole (no `pipelines:`), its model folder made absolute.
grep -v '^pipelines:\|^  llama-demo: {stages' bench/testbed-edge.yaml |
  sed "s#^models: ../demo-models#models: $PWD/demo-models#" > "$tmp/whole.yaml"
{ cat "$tmp/whole.yaml"; echo "controller: {llm_modes: false}"; } > "$tmp/no-modes.yaml"
run() {  # TAG CLUSTER POLICIES
  "$EPARA" sim --cluster "$2" --workload bench/workloads/azure-conv.yaml --policy "$3" \
    --profiles bench/results/sim/hd/profiles.json --rates 0.5,1,2,4 --repeats 3 --duration-s 80 \
    --fault crash:edge-1@22 --fault recover:edge-1@52 --out "$OUT/$1" > "$OUT/$1.log" 2>&1 ||
    { echo "$1 failed: see $OUT/$1.log"; exit 1; }
  echo "$1 done"
}
run all "$tmp/whole.yaml" epara,replicate-rr,triton-like,alpaserve-like,local-only,galaxy-like,nexus-like,clockwork-like
run no-llm-modes "$tmp/no-modes.yaml" epara
find "$OUT" -mindepth 2 \( -name report.json -o -name '*.svg' \) -delete
