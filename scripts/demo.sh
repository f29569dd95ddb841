#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build, generate the demo
# models (untrained, deterministic), start epara, send real requests, and show the results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

EPARA=./build/epara
MODELS=demo-models
OUT=out/demo
mkdir -p "$OUT"
rm -f "$OUT/port"

echo; echo "== generating demo models into $MODELS/"
"$EPARA" models demo "$MODELS"

echo; echo "== starting: epara serve --models $MODELS --port 0"
"$EPARA" serve --models "$MODELS" --port 0 --port-file "$OUT/port" > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
stop_server() {
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
  fi
}
trap stop_server EXIT
for _ in $(seq 1 600); do
  [ -s "$OUT/port" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "epara serve exited:"; cat "$OUT/server.log"; exit 1
  fi
  sleep 0.2
done
[ -s "$OUT/port" ] || { echo "epara serve did not start within 120 s"; cat "$OUT/server.log"; exit 1; }
URL="http://127.0.0.1:$(cat "$OUT/port")"
cat "$OUT/server.log"

echo; echo "== GET $URL/v2/health/ready"
curl -sS "$URL/v2/health/ready"; echo

echo; echo "== GET $URL/v2/models/seg-demo   (KServe v2 model metadata)"
curl -sS "$URL/v2/models/seg-demo"; echo

echo; echo "== POST $URL/v1/segment/seg-demo  <- $MODELS/seg-demo/sample.png (640x480)"
curl -sS -f -H 'Content-Type: image/png' --data-binary "@$MODELS/seg-demo/sample.png" \
  -D "$OUT/mask.headers" -o "$OUT/mask.png" "$URL/v1/segment/seg-demo"
echo "mask written to $OUT/mask.png ($(stat -c %s "$OUT/mask.png") bytes; pixel value = class index, palette colours)"
grep -i '^X-Epara' "$OUT/mask.headers" || true

echo; echo "== POST $URL/v1/segment/seg-demo?format=json"
curl -sS -f -H 'Content-Type: image/png' --data-binary "@$MODELS/seg-demo/sample.png" \
  "$URL/v1/segment/seg-demo?format=json" | tee "$OUT/summary.json"; echo

echo; echo "== POST $URL/v2/models/tensor-demo/infer   (KServe v2 JSON tensors: sum = a + b + c)"
curl -sS -f -H 'Content-Type: application/json' "$URL/v2/models/tensor-demo/infer" -d '{
  "inputs": [
    {"name": "a", "shape": [1, 4], "datatype": "FP32",  "data": [0.5, 1.5, -2, 10]},
    {"name": "b", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]},
    {"name": "c", "shape": [1, 4], "datatype": "UINT8", "data": [0, 0, 0, 255]}]}'; echo

echo; echo "== POST $URL/v1/chat/completions   (OpenAI API, demo LLM; untrained, so the text is gibberish)"
curl -sS -f -H 'Content-Type: application/json' "$URL/v1/chat/completions" \
  -d '{"model": "llama-demo", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 24, "seed": 1}'; echo

echo; echo "== POST $URL/v1/completions with \"stream\": true   (server-sent events)"
curl -sS -N -f -H 'Content-Type: application/json' "$URL/v1/completions" \
  -d '{"model": "llama-demo", "prompt": "Once upon a time", "max_tokens": 8, "stream": true, "seed": 1}'

echo; echo "== a bad request gets a clear error (and the server keeps serving)"
curl -sS -H 'Content-Type: image/png' --data-binary 'not an image' "$URL/v1/segment/seg-demo"; echo

echo; echo "== GET $URL/metrics   (excerpt)"
curl -sS "$URL/metrics" | grep -E '^epara_inference_(request_success_total|request_failure_total|exec_count_total|batch_size_(sum|count))|^epara_llm_(generation_tokens_total|time_to_first_token_seconds_(sum|count)|kv_cache_usage_ratio)' || true

echo
echo "Done. Results in $OUT/: mask.png (segmentation mask), summary.json, server.log."
echo "The demo models are UNTRAINED (random weights): the mask and the text show the pipeline works, nothing more."
echo "Next: serve your own TorchScript models (README.md, 'Model repository'); run the tests with scripts/test.sh."
