#!/usr/bin/env bash
# The controller's LLM modes in the simulator (issue 24, session 28), on the published-ratio edge
# testbed (bench/testbed-edge.yaml) with llama-demo whole on the edge server and no board holding
# it whole, under the azure-conv trace:
#   recovery: the file without its declared pipeline; the server crashes 20 s into each 80 s window
#             and returns 30 s later (the simulation's clock includes the 2 s warm-up). Every
#             policy, then epara with `controller: {llm_modes: false}` (no recovery).
#   expand:   180 s windows at steady rates: the server alone (no pipeline), the server with
#             `controller: {llm_expand: true}` (a pipeline built from measured demand), and the
#             file's declared pipeline (built from the start).
# Usage: bench/sim/llm_modes_study.sh [OUT]   (default bench/results/sim/llm_modes; ~15 s)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-bench/results/sim/llm_modes}
EPARA=${EPARA:-build/epara}
mkdir -p "$OUT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The edge testbed, its model folder made absolute; whole: without `pipelines:`.
sed "s#^models: ../demo-models#models: $PWD/demo-models#" bench/testbed-edge.yaml > "$tmp/declared.yaml"
grep -v '^pipelines:\|^  llama-demo: {stages' "$tmp/declared.yaml" > "$tmp/whole.yaml"
{ cat "$tmp/whole.yaml"; echo "controller: {llm_modes: false}"; } > "$tmp/no-modes.yaml"
{ cat "$tmp/whole.yaml"; echo "controller: {llm_expand: true}"; } > "$tmp/expand.yaml"
run() {  # TAG CLUSTER POLICIES RATES DURATION [FAULT...]
  local tag=$1 cluster=$2 policies=$3 rates=$4 duration=$5
  shift 5
  local faults=()
  for f in "$@"; do faults+=(--fault "$f"); done
  "$EPARA" sim --cluster "$cluster" --workload bench/workloads/azure-conv.yaml --policy "$policies" \
    --profiles bench/results/sim/hd/profiles.json --rates "$rates" --repeats 3 \
    --duration-s "$duration" "${faults[@]}" --out "$OUT/$tag" > "$OUT/$tag.log" 2>&1 ||
    { echo "$tag failed: see $OUT/$tag.log"; exit 1; }
  echo "$tag done"
}
ALL=epara,replicate-rr,triton-like,alpaserve-like,local-only,galaxy-like,nexus-like,clockwork-like
CRASH=(crash:edge-1@22 recover:edge-1@52)
run recovery "$tmp/whole.yaml" "$ALL" 0.5,1,2,4 80 "${CRASH[@]}"
run recovery-no-modes "$tmp/no-modes.yaml" epara 0.5,1,2,4 80 "${CRASH[@]}"
STEADY=4,6,8,10,12,14,16
run expand-whole "$tmp/whole.yaml" epara,alpaserve-like,clockwork-like "$STEADY" 180
run expand "$tmp/expand.yaml" epara,alpaserve-like,clockwork-like "$STEADY" 180
run expand-declared "$tmp/declared.yaml" epara,alpaserve-like,clockwork-like "$STEADY" 180
find "$OUT" -mindepth 2 \( -name report.json -o -name '*.svg' \) -delete
