#!/usr/bin/env bash
# The peer benchmark (issue 22): epara's LLM engine against llama.cpp on the same weights.
#
#   bench/peer/run.sh [OUT_DIR]        (default bench/results/peer; needs a built tree: scripts/setup.sh)
#
# 1. llama.cpp, once, into the asset cache: the npm package node-llama-cpp@3.21.1 (MIT) carries
#    llama.cpp's source as a git bundle (package/llama/gitRelease.bundle, commit 80fb11a). The
#    package is checked against its sha256, the bundle cloned and llama-bench built with CMake
#    (~10 minutes on 2 cores; GGML_NATIVE, OpenMP). Nothing is fetched after this step.
# 2. build/bench/epara_peer_bench per model shape (untrained, deterministic: stories15m, the demo
#    model, 134m) and weight type, written by epara's exporter as a GGUF (f32, q8_0) that both
#    sides load; for the 134m shape also llama-quantize's own Q4_K_M, Q4_0, Q6_K, Q8_0 and BF16 files,
#    and the teacher-forced agreement with llama-server on the Q4_K_M and F32 files:
#    prefill 128 and 512 tokens, decode at batch 1, 2 threads each side, interleaved rounds.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/bench/results/peer}
CACHE=${EPARA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/epara}
PKG=node-llama-cpp@3.21.1
PKG_SHA=7a231d6bafa14142a1cbed9893d4ec5bc6041b2a5f5939a623accaab4203c11f
LLAMA=$CACHE/llama.cpp-80fb11a
BIN=$LLAMA/build/bin
BENCH_EXE=$BIN/llama-bench

if [ ! -x "$BENCH_EXE" ] || [ ! -x "$BIN/llama-quantize" ] || [ ! -x "$BIN/llama-server" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "== fetching $PKG (llama.cpp source bundle)"
  (cd "$tmp" && npm pack --silent "$PKG" >/dev/null)
  tgz=$(ls "$tmp"/node-llama-cpp-*.tgz)
  [ "$(sha256sum "$tgz" | cut -d' ' -f1)" = "$PKG_SHA" ] || { echo "$tgz: sha256 mismatch" >&2; exit 1; }
  tar -xzf "$tgz" -C "$tmp" package/llama/gitRelease.bundle
  if [ ! -d "$LLAMA/.git" ]; then
    mkdir -p "$CACHE"
    git -c advice.detachedHead=false clone -q "$tmp/package/llama/gitRelease.bundle" "$LLAMA"
  fi
  echo "== building llama-bench, llama-quantize, llama-server (~15 minutes on 2 cores)"
  cmake -S "$LLAMA" -B "$LLAMA/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >/dev/null
  cmake --build "$LLAMA/build" -j"$(nproc)" --target llama-bench llama-quantize llama-server \
    >/dev/null
  rm -rf "$tmp"
  trap - EXIT
fi

PEER=$ROOT/build/bench/epara_peer_bench
[ -x "$PEER" ] || { echo "build epara first (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$OUT"
for weights in f32 q8_0; do
  for shape in stories15m demo 134m; do
    "$PEER" --shape "$shape" --weights "$weights" --llama-bench "$BENCH_EXE" --threads 2 --rounds 3 \
      --out "$OUT/peer_${shape}_${weights}.json" >/dev/null
  done
done
# Sessions 17-18: llama-quantize's own files of the 134m shape, both sides loading the same file, both
# with an fp16 KV cache (llama.cpp's default and now epara's on cpu; --kv f32 for the other).
for weights in q4_k_m q4_0 q6_k q8_0 bf16; do
  agreement=()
  [ "$weights" = q4_k_m ] && agreement=(--llama-server "$BIN/llama-server" --agreement-tokens 128)
  "$PEER" --shape 134m --weights "$weights" --llama-quantize "$BIN/llama-quantize" \
    --llama-bench "$BENCH_EXE" "${agreement[@]}" --threads 2 --rounds 3 \
    --out "$OUT/peer_134m_${weights}_s18.json" >/dev/null
done
"$PEER" --shape 134m --weights f32 --llama-bench "$BENCH_EXE" --llama-server "$BIN/llama-server" \
  --agreement-tokens 128 --threads 2 --rounds 3 --out "$OUT/peer_134m_f32_s18.json" >/dev/null
# Servers on the same Q4_K_M file, concurrent streams, the same KV-cache memory on both (fp16).
"$PEER" --shape 134m --weights q4_k_m --llama-quantize "$BIN/llama-quantize" --llama-bench "$BENCH_EXE" \
  --rounds 0 --keep-gguf "$OUT/.q4_k_m.gguf" --out /dev/null >/dev/null
python3 "$ROOT/bench/peer/serve_compare.py" --gguf "$OUT/.q4_k_m.gguf" --llama-server "$BIN/llama-server" \
  --epara "$ROOT/build/epara" --rounds 3 --streams 1,4,16 --out "$OUT/serve_134m_q4_k_m_s18.json" \
  >/dev/null
rm -f "$OUT/.q4_k_m.gguf"
echo "== results in $OUT"
