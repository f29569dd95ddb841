#!/usr/bin/env bash
# Builds the LibTorch backend alone against a CUDA LibTorch (PyTorch's, found through python3) and
# runs its tests and tools/backend_check on every device: correctness vs CPU and timings. For GPU
# hosts that lack the Debian libraries of the full build (CI has no GPU: this is run by hand).
#
#   scripts/check-gpu.sh OUT_DIR
#
# Needs: python3 with torch, cmake, a C++20 compiler; googletest sources and nlohmann-json's CMake
# package, from $EPARA_GTEST_SOURCE_DIR (default /usr/src/googletest) and $EPARA_NLOHMANN_PREFIX
# (default /usr): copy them next to the tree (e.g. .devsupport/) on hosts that have neither.
# Writes OUT_DIR/backend_tests.log and OUT_DIR/backend_check.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/check-gpu.sh OUT_DIR}
mkdir -p "$OUT"
BUILD=${GPU_BUILD_DIR:-/tmp/epara-gpu-build}
TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
cmake -S . -B "$BUILD" "${GEN[@]}" -DEPARA_TORCH_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
  -DEPARA_GTEST_SOURCE_DIR="${EPARA_GTEST_SOURCE_DIR:-/usr/src/googletest}" \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;${EPARA_NLOHMANN_PREFIX:-/usr}" >"$OUT/configure.log" 2>&1 ||
  { tail -30 "$OUT/configure.log"; exit 1; }
grep -E "epara:" "$OUT/configure.log" || true
cmake --build "$BUILD" -j"$(nproc)" >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
  --format=csv,noheader | tee "$OUT/gpu.txt"
rc=0
"$BUILD/epara_backend_tests" 2>&1 | tee "$OUT/backend_tests.log" || rc=1
"$BUILD/backend_check" /tmp/epara-backend-check | tee "$OUT/backend_check.jsonl" || rc=1
exit $rc
