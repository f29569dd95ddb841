#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build, generate the demo
# models (untrained, deterministic), start a 3-node heterogeneous epara cluster on this host, send
# real requests to one node, and show the results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh epara   # only the binary the demo runs; scripts/test.sh builds the rest
CACHE=${EPARA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/epara}
PHOTO=$CACHE/photos/astronaut.png

EPARA=./build/epara
MODELS=demo-models
OUT=out/demo
mkdir -p "$OUT"

echo; echo "== generating demo models into $MODELS/"
"$EPARA" models demo "$MODELS"
# ISNet: a TRAINED background-removal model (ONNX, served by ONNX Runtime), fetched by setup.
ISNET=""
if "$EPARA" models isnet "$MODELS" && [ -f "$PHOTO" ]; then ISNET=", isnet"; fi

echo; echo "== starting a 3-node heterogeneous cluster on this host: epara up --cluster $OUT/cluster.yaml"
cat > "$OUT/cluster.yaml" <<EOF
# Three device classes (CPU share and memory from built-in profiles; see src/node/cluster_config.h).
models: $(pwd)/$MODELS
nodes:
  - {id: edge-1,  class: edge-server,   serve: [seg-demo, llama-demo$ISNET]}
  - {id: board-1, class: embedded,      serve: [seg-demo]}
  - {id: micro-1, class: microcomputer, serve: [tensor-demo]}
EOF
rm -f "$OUT/endpoints.json" "$OUT/keys.yaml"
# Security on: a client API key (its hash in keys.yaml), and epara up's own cluster credential and
# mutual TLS between the nodes (made per run in $OUT/run/).
DEMO_KEY=$("$EPARA" keys create --file "$OUT/keys.yaml" --name demo-client --scopes infer 2>/dev/null)
KEY=(-H "Authorization: Bearer $DEMO_KEY")
"$EPARA" up --cluster "$OUT/cluster.yaml" --run-dir "$OUT/run" --endpoints-file "$OUT/endpoints.json" \
  --api-keys "$OUT/keys.yaml" > "$OUT/cluster.log" 2>&1 &
UP_PID=$!
stop_cluster() {
  if kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID"
    wait "$UP_PID" || true
  fi
}
trap stop_cluster EXIT
for _ in $(seq 1 900); do
  [ -s "$OUT/endpoints.json" ] && break
  if ! kill -0 "$UP_PID" 2>/dev/null; then
    echo "epara up exited:"; cat "$OUT/cluster.log"; exit 1
  fi
  sleep 0.2
done
[ -s "$OUT/endpoints.json" ] || { echo "the cluster did not start within 180 s"; cat "$OUT/cluster.log"; exit 1; }
cat "$OUT/cluster.log"
# The API address of node $1 from the endpoints file (in each node's object "api" precedes "id").
node_api() {
  awk -v id="\"$1\"" -F'"' '/"api":/ {api=$4} /"id":/ && $0 ~ id {print api}' "$OUT/endpoints.json"
}
# Every request below goes to micro-1, which itself hosts only tensor-demo: the distributed request
# handler forwards the rest to the node that can finish it first.
URL="http://$(node_api micro-1)"
EDGE="http://$(node_api edge-1)"
# The control plane asks for the cluster credential epara up made for this run (peer ports use
# mutual TLS with the run's CA: $OUT/run/tls/).
TOKEN_FILE="$OUT/run/cluster.token"
ADMIN=(-H "Authorization: Bearer $(cat "$TOKEN_FILE")")
for _ in $(seq 1 100); do  # until micro-1 holds both peers' load digests
  [ "$(curl -s "${ADMIN[@]}" "$URL/v1/cluster" | grep -o '"digest"' | wc -l)" -ge 2 ] && break
  sleep 0.1
done

echo; echo "== epara status --node $(node_api micro-1) --token-file $TOKEN_FILE"
"$EPARA" status --node "$(node_api micro-1)" --token-file "$TOKEN_FILE"

echo; echo "== GET $URL/v1/cluster without any credential (the control plane is guarded)"
curl -sS -w '  (HTTP %{http_code})\n' "$URL/v1/cluster"
echo "== GET $URL/v1/cluster with the client's API key (scope infer, not admin)"
curl -sS "${KEY[@]}" -w '  (HTTP %{http_code})\n' "$URL/v1/cluster"
echo "== POST $URL/v2/models/tensor-demo/infer without a key"
curl -sS -w '  (HTTP %{http_code})\n' -H 'Content-Type: application/json' -d '{}' \
  "$URL/v2/models/tensor-demo/infer"

echo; echo "== GET $URL/v2/health/ready"
curl -sS "$URL/v2/health/ready"; echo

echo; echo "== GET $URL/v2/models/seg-demo   (KServe v2 model metadata)"
curl -sS "${KEY[@]}" "$URL/v2/models/seg-demo"; echo

echo; echo "== POST $URL/v1/segment/seg-demo  <- $MODELS/seg-demo/sample.png (640x480)"
curl -sS "${KEY[@]}" -f -H 'Content-Type: image/png' --data-binary "@$MODELS/seg-demo/sample.png" \
  -D "$OUT/mask.headers" -o "$OUT/mask.png" "$URL/v1/segment/seg-demo"
echo "mask written to $OUT/mask.png ($(stat -c %s "$OUT/mask.png") bytes; pixel value = class index, palette colours)"
grep -i '^X-Epara' "$OUT/mask.headers" || true   # X-Epara-Node: the node that ran it

echo; echo "== POST $URL/v1/segment/seg-demo?format=json"
curl -sS "${KEY[@]}" -f -H 'Content-Type: image/png' --data-binary "@$MODELS/seg-demo/sample.png" \
  "$URL/v1/segment/seg-demo?format=json" | tee "$OUT/summary.json"; echo

if [ -n "$ISNET" ]; then
  echo; echo "== POST $URL/v1/segment/isnet  <- a real photograph ($PHOTO: Eileen Collins, NASA, public domain)"
  echo "   (ISNet, trained, int8 ONNX on ONNX Runtime; micro-1 forwards to edge-1)"
  curl -sS "${KEY[@]}" -f -H 'Content-Type: image/png' --data-binary "@$PHOTO" -D "$OUT/isnet.headers" \
    -o "$OUT/photo_mask.png" "$URL/v1/segment/isnet"
  grep -i '^X-Epara-Node' "$OUT/isnet.headers" || true
  curl -sS "${KEY[@]}" -f -H 'Content-Type: image/png' --data-binary "@$PHOTO" \
    -o "$OUT/photo_cutout.png" "$URL/v1/segment/isnet?format=cutout"
  curl -sS "${KEY[@]}" -f -H 'Content-Type: image/png' --data-binary "@$PHOTO" \
    "$URL/v1/segment/isnet?format=json" | tee "$OUT/photo_summary.json"; echo
  echo "foreground mask: $OUT/photo_mask.png   cut-out (background transparent): $OUT/photo_cutout.png"
else
  echo; echo "== (ISNet or the photograph is missing from $CACHE: scripts/fetch_assets.sh fetches them)"
fi

echo; echo "== POST $URL/v2/models/tensor-demo/infer   (KServe v2 JSON tensors: sum = a + b + c)"
curl -sS "${KEY[@]}" -f -H 'Content-Type: application/json' "$URL/v2/models/tensor-demo/infer" -d '{
  "inputs": [
    {"name": "a", "shape": [1, 4], "datatype": "FP32",  "data": [0.5, 1.5, -2, 10]},
    {"name": "b", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]},
    {"name": "c", "shape": [1, 4], "datatype": "UINT8", "data": [0, 0, 0, 255]}]}'; echo

echo; echo "== POST $URL/v1/chat/completions   (OpenAI API, demo LLM; untrained, so the text is gibberish)"
curl -sS "${KEY[@]}" -f -H 'Content-Type: application/json' "$URL/v1/chat/completions" \
  -d '{"model": "llama-demo", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 24, "seed": 1}'; echo

echo; echo "== POST $URL/v1/completions with \"stream\": true   (server-sent events)"
curl -sS -N "${KEY[@]}" -f -H 'Content-Type: application/json' "$URL/v1/completions" \
  -d '{"model": "llama-demo", "prompt": "Once upon a time", "max_tokens": 8, "stream": true, "seed": 1}'

echo; echo "== a bad request gets a clear error (and the server keeps serving)"
curl -sS "${KEY[@]}" -H 'Content-Type: image/png' --data-binary 'not an image' "$URL/v1/segment/seg-demo"; echo

echo; echo "== GET $EDGE/metrics   (edge-1's metrics, excerpt)"
curl -sS "${KEY[@]}" "$EDGE/metrics" | grep -E '^epara_inference_(request_success_total|request_failure_total|exec_count_total|batch_size_(sum|count))|^epara_llm_(generation_tokens_total|time_to_first_token_seconds_(sum|count)|kv_cache_usage_ratio)' || true

echo
echo "Done. Results in $OUT/: mask.png (segmentation mask), summary.json, cluster.log, run/ (node configs and logs)."
if [ -n "$ISNET" ]; then
  echo "Real result: $OUT/photo_mask.png (foreground mask) and $OUT/photo_cutout.png (the astronaut, background"
  echo "transparent), from the trained ISNet model (AGPL-3.0, fetched into $CACHE, not part of epara)."
fi
echo "seg-demo, tensor-demo and llama-demo are UNTRAINED (random weights): their outputs show the pipeline works, nothing more."
echo "Next: serve your own TorchScript or ONNX models (README.md, 'Model repository'); run the tests with scripts/test.sh."

# The dashboard (every node serves it); the link carries the run's cluster credential in its
# fragment, which the browser keeps and never sends. From a terminal the cluster stays up until
# Enter (EPARA_DEMO_NO_WAIT=1, or no terminal: it stops at once, as in CI).
echo
echo "Dashboard (live nodes, placement, routing decisions): $URL/dashboard#key=$(cat "$TOKEN_FILE")"
if [ -t 0 ] && [ -t 1 ] && [ "${EPARA_DEMO_NO_WAIT:-0}" != 1 ]; then
  read -r -p "The cluster stays up for a look: press Enter to stop it. " _ || true
fi
