#!/usr/bin/env bash
# Fuzzing (issue 27): builds the libFuzzer harnesses in fuzz/ with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on) and runs each one.
#   scripts/fuzz.sh 0                  regression: every harness runs its committed seed corpus
#                                      (fuzz/corpus/<harness>/) once; what the test suite runs
#   scripts/fuzz.sh SECONDS [OUT.json] each harness fuzzes for SECONDS from its seeds (new inputs go
#                                      to a scratch corpus, not into git) and the executions per
#                                      harness are written to OUT.json
# A crash, leak, sanitizer report or hang (> 10 s on one input) fails the run and leaves the input
# in the scratch directory it names. Exits 77 (skipped) without clang's libFuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
OUT=${2:-}
BUILD=${BUILD_FUZZ:-build-fuzz}
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a \
    >/dev/null 2>&1; then
  echo "fuzz: no clang++ with libFuzzer (scripts/setup.sh installs clang and libclang-rt-14-dev with EPARA_TEST_TOOLS=1)"
  exit 77
fi
cmake -S fuzz -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None > "$BUILD.configure.log" 2>&1 ||
  { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)" > "$BUILD.build.log" 2>&1 || { tail -50 "$BUILD.build.log"; exit 1; }
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/epara-fuzz.XXXXXX")
HARNESSES=(kserve_json image_decode sentencepiece model_file config http_wire)
results=()
status=0
for h in "${HARNESSES[@]}"; do
  mkdir -p "$SCRATCH/$h"
  args=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$SCRATCH/$h-")
  if [ "$SECONDS_EACH" = 0 ]; then
    cmd=("$BUILD/${h}_fuzz" "${args[@]}" -runs=0 "fuzz/corpus/$h")
  else
    cmd=("$BUILD/${h}_fuzz" "${args[@]}" -max_total_time="$SECONDS_EACH" "$SCRATCH/$h" "fuzz/corpus/$h")
  fi
  if "${cmd[@]}" > "$SCRATCH/$h.log" 2>&1; then
    runs=$(grep -oE 'Done [0-9]+ runs' "$SCRATCH/$h.log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    echo "fuzz: $h ok, $runs executions"
    results+=("\"$h\": $runs")
  else
    echo "fuzz: $h FAILED (log and input: $SCRATCH/$h.log, $SCRATCH/$h-*)"
    tail -30 "$SCRATCH/$h.log"
    status=1
  fi
done
if [ -n "$OUT" ]; then
  printf '{"seconds_per_harness": %s, "executions": {%s}, "clang": "%s"}\n' "$SECONDS_EACH" \
    "$(IFS=,; echo "${results[*]}")" "$(clang++ --version | head -1)" > "$OUT"
fi
[ "$status" = 0 ] && rm -rf "$SCRATCH"
exit "$status"
