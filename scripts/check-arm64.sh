#!/usr/bin/env bash
# Builds epara's portable core (kernels, formats, policies: tests/portable/CMakeLists.txt) for ARM64
# with Debian's cross compiler and runs its unit tests under qemu-user, so kernels are checked
# against their references on the architecture of the boards as they are on x86-64.
#
#   scripts/check-arm64.sh [GTEST_ARGS...]     (build folder: build-arm64, or $ARM64_BUILD_DIR)
#
# Needs g++-aarch64-linux-gnu, qemu-user-static and googletest (Debian packages: scripts/test.sh's
# setup installs them; run by hand, this script installs what is missing when it runs as root).
# Exits 77 (skipped) when they are missing and cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${ARM64_BUILD_DIR:-$ROOT/build-arm64}
PACKAGES=(g++-aarch64-linux-gnu qemu-user-static googletest nlohmann-json3-dev cmake)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "check-arm64: missing ${missing[*]} (not root: not installing); skipped" >&2
    exit 77
  fi
  echo "check-arm64: installing ${missing[*]}"
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}") >&2 || {
    echo "check-arm64: could not install ${missing[*]}; skipped" >&2
    exit 77
  }
fi

cmake -S "$ROOT/tests/portable" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/aarch64-linux-gnu.cmake" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target epara_portable_tests >/dev/null
# -L: the ARM64 C and C++ runtime libraries the cross toolchain installed.
exec qemu-aarch64-static -L /usr/aarch64-linux-gnu "$BUILD/epara_portable_tests" "$@"
