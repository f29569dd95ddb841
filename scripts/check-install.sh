#!/usr/bin/env bash
# Install test of the Debian package (issue 28): a fresh Debian 12 root made by mmdebstrap from
# Debian's own packages, `apt-get install ./epara_*_amd64.deb` inside it (apt pulls the
# dependencies the package declares), then in that root: `epara --version`, `epara models demo`, and
# a one-node `epara serve` answering a segmentation request and an LLM completion on loopback.
#
#   scripts/check-install.sh [DEB]    (default: scripts/package.sh's out/package/epara_*_amd64.deb)
#
# Needs root (chroot), mmdebstrap (installed with apt when missing) and the Debian mirror (like
# apt: this is set-up-time fetching; ~300 MB of packages, a few minutes). Not part of the test
# command: CI does not reach a mirror at test time. The server it starts is stopped by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEB=${1:-}
if [ -z "$DEB" ]; then
  "$ROOT/scripts/package.sh" >/dev/null
  DEB=$(ls "$ROOT"/out/package/epara_*_amd64.deb | tail -1)
fi
[ -f "$DEB" ] || { echo "no package: $DEB" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "check-install.sh needs root (chroot)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The steps run inside the root (its /proc and /dev mounted by mmdebstrap for the hooks).
cat > "$work/smoke.sh" <<EOF
#!/bin/sh
set -eu
echo "== epara --version"
epara --version
echo "== epara models demo"
epara models demo /tmp/models >/dev/null
ls /tmp/models
echo "== epara serve (one node, 127.0.0.1:$port)"
epara serve --models /tmp/models --host 127.0.0.1 --port $port >/tmp/serve.log 2>&1 &
pid=\$!
trap 'kill \$pid 2>/dev/null || true' EXIT
i=0
until curl -sf http://127.0.0.1:$port/v2/health/ready >/dev/null; do
  i=\$((i + 1))
  if [ \$i -gt 600 ] || ! kill -0 \$pid 2>/dev/null; then cat /tmp/serve.log; exit 1; fi
  sleep 0.2
done
curl -sf -H 'Content-Type: image/png' --data-binary @/tmp/models/seg-demo/sample.png \\
  -o /tmp/mask.png http://127.0.0.1:$port/v1/segment/seg-demo
head -c 8 /tmp/mask.png | od -An -tx1 | grep -q '89 50 4e 47' || { echo "not a PNG mask"; exit 1; }
echo "segmentation: \$(wc -c < /tmp/mask.png)-byte PNG mask"
curl -sf -H 'Content-Type: application/json' http://127.0.0.1:$port/v1/completions \\
  -d '{"model": "llama-demo", "prompt": "Once upon a time", "max_tokens": 8}' > /tmp/completion.json
grep -q '"completion_tokens":8' /tmp/completion.json || { cat /tmp/completion.json; exit 1; }
echo "completion: \$(cat /tmp/completion.json)"
kill \$pid
wait \$pid 2>/dev/null || true
trap - EXIT
echo "== served and stopped"
EOF
chmod +x "$work/smoke.sh"
start=$(date +%s)
mmdebstrap --variant=apt --include=curl,ca-certificates \
  --customize-hook="copy-in $DEB /tmp" \
  --customize-hook="copy-in $work/smoke.sh /tmp" \
  --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/'"$(basename "$DEB")" \
  --customize-hook='chroot "$1" getent passwd epara' \
  --customize-hook='chroot "$1" /tmp/smoke.sh' \
  bookworm "$work/root"
echo "== install test passed in $(( $(date +%s) - start )) s ($(basename "$DEB"))"
