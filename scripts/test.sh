#!/usr/bin/env bash
# Builds epara (installing missing packages) and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
EPARA_TEST_TOOLS=1 scripts/setup.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" --timeout 600
