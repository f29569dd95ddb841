#!/usr/bin/env bash
# The whole epara binary for ARM64 boards (issue 28), cross-compiled on this amd64 host, and its
# Debian package:
#
#   scripts/build-arm64.sh [BUILD_DIR]     (default build-arm64; then out/package/epara_*_arm64.deb)
#
# 1. A sysroot of Debian 12's own arm64 packages that the binary links (LibTorch, OpenBLAS, gRPC,
#    protobuf, yaml-cpp, spdlog, libpng, libjpeg-turbo, Oniguruma, ...), unpacked by
#    `mmdebstrap --variant=extract` into the asset cache (once: ~1.1 GB, ~1.5 minutes; no
#    emulation). Multiarch cannot hold them beside the amd64 ones: libtorch-dev is not Multi-Arch
#    and pulls python3-dev.
# 2. Debian's g++-aarch64-linux-gnu against it (cmake/aarch64-debian-sysroot.cmake), target `epara`
#    only (~10-15 minutes on 2 cores). ONNX Runtime is left out: the npm package the amd64 build
#    takes it from ships no Linux arm64 library (ONNX models need the amd64 package for now).
# 3. A smoke test under qemu-user (the sysroot as its library root): `epara --version`,
#    `epara models demo` (LibTorch writing the TorchScript demo model) and a one-node serve that
#    answers a segmentation request and a greedy completion, whose tokens must equal the amd64
#    build's (build/epara, when present). The servers it starts are stopped by PID.
# 4. scripts/package.sh on that tree.
#
# Needs root for mmdebstrap's unpacking (like apt) the first time, and the Debian mirror then.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-arm64}
CACHE=${EPARA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/epara}
SYSROOT=$CACHE/sysroot-arm64
PACKAGES=libtorch-dev,libopenblas0-pthread,libcpp-httplib-dev,nlohmann-json3-dev,libspdlog-dev
PACKAGES+=,libcli11-dev,libyaml-cpp-dev,libpng-dev,libturbojpeg0-dev,libonig-dev,libgrpc++-dev
PACKAGES+=,libprotobuf-dev,libc6-dev,libstdc++-12-dev

need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
if [ ! -f "$SYSROOT/.complete" ]; then
  echo "== arm64 sysroot (Debian 12 packages) into $SYSROOT"
  rm -rf "$SYSROOT"
  mkdir -p "$CACHE"
  mmdebstrap --quiet --arch=arm64 --variant=extract --include="$PACKAGES" bookworm "$SYSROOT"
  touch "$SYSROOT/.complete"
fi

# The extract variant runs no maintainer scripts, so update-alternatives never named the BLAS and
# LAPACK that LibTorch, OpenCV and Armadillo link (libblas.so.3, liblapack.so.3, libopenblas.so.0): point them at
# OpenBLAS, as its package's alternatives do on an installed system.
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  ln -sfn "openblas-pthread/$lib" "$SYSROOT/usr/lib/aarch64-linux-gnu/$lib"
done

# Development links that point at absolute paths (libz.so -> /lib/aarch64-linux-gnu/...) would
# resolve on this host, not in the sysroot, and the linker would take the static library instead:
# point them into the sysroot.
find "$SYSROOT/usr/lib/aarch64-linux-gnu" -maxdepth 1 -type l -lname '/*' | while read -r link; do
  ln -sfn "$SYSROOT$(readlink "$link")" "$link"
done

echo "== cross-compiling epara for arm64 into $BUILD"
EPARA_ARM64_SYSROOT=$SYSROOT cmake -S "$ROOT" -B "$BUILD" \
  -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/aarch64-debian-sysroot.cmake" \
  -DEPARA_ARM64_SYSROOT="$SYSROOT" -DEPARA_BUILD_TESTS=OFF -DEPARA_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target epara -j"$(nproc)" >/dev/null
readelf -h "$BUILD/epara" | grep -q AArch64 || { echo "not an arm64 binary" >&2; exit 1; }

echo "== smoke test under qemu-user"
run() { qemu-aarch64-static -L "$SYSROOT" "$BUILD/epara" "$@"; }
echo "epara --version (arm64, emulated): $(run --version)"
models=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$models"' EXIT
run models demo "$models" >/dev/null
[ -f "$models/seg-demo/model.pt" ] || { echo "models demo wrote no TorchScript model" >&2; exit 1; }
# One-node serve: a segmentation request, and a greedy completion compared token for token with
# the amd64 build's (when build/epara exists).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
greedy() {  # PORT -> the completion's text as JSON
  curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$1/v1/completions" \
    -d '{"model": "llama-demo", "prompt": "Once upon a time", "max_tokens": 16, "temperature": 0}' |
    python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["choices"][0]["text"]))'
}
serve() {  # EXE... -> starts it on a free port, waits until ready; sets PORT and PID
  PORT=$(free_port)
  "$@" serve --models "$models" --host 127.0.0.1 --port "$PORT" >"$models/serve.log" 2>&1 &
  PID=$!
  pids+=("$PID")
  local i=0
  until curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null; do
    i=$((i + 1))
    if [ $i -gt 900 ] || ! kill -0 "$PID" 2>/dev/null; then cat "$models/serve.log"; exit 1; fi
    sleep 0.2
  done
}
serve qemu-aarch64-static -L "$SYSROOT" "$BUILD/epara"
curl -sf -H 'Content-Type: image/png' --data-binary @"$models/seg-demo/sample.png" \
  -o "$models/mask.png" "http://127.0.0.1:$PORT/v1/segment/seg-demo"
file "$models/mask.png" | grep -q 'PNG image' || { echo "no PNG mask" >&2; exit 1; }
echo "segmentation on arm64: $(file -b "$models/mask.png")"
arm=$(greedy "$PORT")
kill "$PID"
wait "$PID" 2>/dev/null || true
echo "greedy completion on arm64: $arm"
if [ -x "$ROOT/build/epara" ]; then
  serve "$ROOT/build/epara"
  x86=$(greedy "$PORT")
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  [ "$arm" = "$x86" ] || { echo "arm64 and amd64 greedy outputs differ: $arm vs $x86" >&2; exit 1; }
  echo "the same 16 greedy tokens as the amd64 build"
fi

BUILD_DIR=$BUILD "$ROOT/scripts/package.sh"
