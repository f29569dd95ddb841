#!/usr/bin/env bash
# Builds a Debian package of the built tree: epara_<version>-1_<arch>.deb with the binary, ONNX
# Runtime's library (private, in /usr/lib/epara: it is no Debian package), the systemd units
# epara-node@.service (one per node config /etc/epara/NAME.yaml) and epara-controller.service
# (/etc/epara/controller.env), a system user `epara` with its state in /var/lib/epara, and the
# Debian packages the binary links declared as dependencies (dpkg-shlibdeps), so
# `apt install ./epara_*.deb` pulls what is missing. No network. Lintian's remaining findings and
# why they stay: README.md (Development).
#
#   scripts/package.sh [OUT_DIR]     (default out/package; needs the `epara` target built in
#                                     $BUILD_DIR, default build: scripts/setup.sh epara)
#
# The architecture is the binary's: amd64 from build/, arm64 from scripts/build-arm64.sh's tree
# (BUILD_DIR=build-arm64 scripts/package.sh). A foreign-architecture binary's dependencies are the
# packages of the same names that provide its libraries here (same Debian release; dpkg-shlibdeps
# needs the arm64 packages installed, which multiarch cannot do for LibTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD_DIR:-build}
OUT=${1:-$ROOT/out/package}
[ -x "$BUILD/epara" ] || { echo "package: build epara first (scripts/setup.sh epara)" >&2; exit 1; }
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
case "$(readelf -h "$BUILD/epara" | sed -n 's/^ *Machine: *//p')" in
  *AArch64*) ARCH=arm64 STRIP=aarch64-linux-gnu-strip ;;
  *X86-64*) ARCH=amd64 STRIP=strip ;;
  *) echo "package: unknown architecture of $BUILD/epara" >&2; exit 1 ;;
esac
DEB="$OUT/epara_${VERSION}-1_${ARCH}.deb"

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
PKG=$STAGE/epara
cmake --install "$BUILD" --prefix "$PKG/usr" >/dev/null
"$STRIP" --strip-unneeded "$PKG/usr/bin/epara"
install -D -m 0644 packaging/systemd/epara-node@.service "$PKG/lib/systemd/system/epara-node@.service"
install -D -m 0644 packaging/systemd/epara-controller.service \
  "$PKG/lib/systemd/system/epara-controller.service"
install -D -m 0644 packaging/debian/controller.env "$PKG/etc/epara/controller.env"
DOC=$PKG/usr/share/doc/epara
install -D -m 0644 README.md "$DOC/README.md"
install -D -m 0644 packaging/debian/node.yaml.example "$DOC/examples/node.yaml"
{
  echo "epara ($VERSION-1) unstable; urgency=medium"
  echo
  echo "  * Built from $(git rev-parse --short HEAD 2>/dev/null || echo 'a source tree')."
  echo
  echo " -- epara developers <epara@example.org>  $(date -R)"
} | gzip -9n >"$DOC/changelog.Debian.gz"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: epara"
  echo
  echo "Files: *"
  echo "Copyright: 2025-$(date +%Y) the epara developers"
  echo "License: none-granted"
  echo " The epara project has not published a licence yet: no rights are granted beyond use of"
  echo " this package on the machines it was built for."
  if ls "$PKG"/usr/lib/epara/libonnxruntime.so* >/dev/null 2>&1; then
    echo
    echo "Files: usr/lib/epara/libonnxruntime.so*"
    echo "Copyright: Microsoft Corporation"
    echo "License: MIT"
    ort_root=$(sed -n 's/^EPARA_ORT_ROOT:PATH=//p' "$BUILD/CMakeCache.txt")
    sed 's/^/ /; s/^ $/ ./' "$ort_root/LICENSE"
  fi
} >"$DOC/copyright"

# Dependencies: the Debian packages that provide the libraries the binary links (ONNX Runtime's
# is shipped, so it has no package), and OpenBLAS's threaded build (LibTorch runs ~16x slower on
# the reference BLAS it would otherwise pick).
mkdir -p "$STAGE/debian"
printf 'Source: epara\n\nPackage: epara\nArchitecture: any\n' >"$STAGE/debian/control"
if [ "$ARCH" = "$(dpkg --print-architecture)" ]; then
  depends=$(cd "$STAGE" && dpkg-shlibdeps -O --ignore-missing-info -lepara/usr/lib/epara \
    epara/usr/bin/epara 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
else
  # Per library: the host-architecture package holding the same soname, and what its shlibs
  # file says a dependent should ask for (else the package's name).
  host=$(dpkg --print-architecture)
  depends=$(readelf -d "$PKG/usr/bin/epara" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' |
    grep -v '^libonnxruntime' | while read -r so; do
      pkg=$(dpkg -S "*/$so" 2>/dev/null | grep "^[^ ]*:$host: " | head -1 | cut -d: -f1)
      [ -n "$pkg" ] || continue
      dep=$(cat "/var/lib/dpkg/info/$pkg.shlibs" "/var/lib/dpkg/info/$pkg:$host.shlibs" \
        2>/dev/null | awk -v n="${so%%.so*}" -v v="${so#*.so.}" \
        '$1 == n && $2 == v { $1 = ""; $2 = ""; print substr($0, 3); exit }')
      echo "${dep:-$pkg}"
    done | sort -u | paste -sd, | sed 's/,/, /g')
fi
mkdir -p "$PKG/DEBIAN"
cat >"$PKG/DEBIAN/control" <<CONTROL
Package: epara
Version: $VERSION-1
Architecture: $ARCH
Maintainer: epara developers <epara@example.org>
Installed-Size: $(du -sk "$PKG/usr" | cut -f1)
Depends: adduser, libopenblas0-pthread, $depends
Section: net
Priority: optional
Homepage: https://localhost/epara
Description: categorized AI inference serving for heterogeneous edge clusters
 epara serves LLMs (OpenAI API; GGUF and Hugging Face models) and vision
 models (KServe v2; TorchScript and ONNX) across a cluster of heterogeneous
 edge machines. Per service it chooses between replicas, SLO-aware batching,
 request splitting and pipelining, to maximize the work that meets its
 latency objectives. Run a node per machine (epara-node@NAME.service) and
 one controller (epara-controller.service).
CONTROL
echo "/etc/epara/controller.env" >"$PKG/DEBIAN/conffiles"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$PKG/DEBIAN/"
mkdir -p "$OUT"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
