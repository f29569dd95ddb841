#!/usr/bin/env bash
# Sanitizer tests (issue 27): builds the LibTorch-free code and its unit tests (sanitize/: routing,
# placement, categorization, batching, the controller's period, the simulator and its twin, the
# SLO window, configs, tokenizers, model-file parsers, quantized kernels, the HTTP(S) server) with clang's
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs them. Any report fails the run
# (-fno-sanitize-recover; leaks included). Exits 77 (skipped) without clang.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_SANITIZE:-build-sanitize}
if ! command -v clang++ >/dev/null; then
  echo "sanitize: no clang++ (scripts/setup.sh installs clang with EPARA_TEST_TOOLS=1)"
  exit 77
fi
cmake -S sanitize -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None \
  > "$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)" > "$BUILD.build.log" 2>&1 || { tail -50 "$BUILD.build.log"; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$BUILD/sanitized_tests" --gtest_brief=1
