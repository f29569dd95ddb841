#!/usr/bin/env bash
# Builds the Debian package (scripts/package.sh) into a temporary folder and checks it: the
# binary, ONNX Runtime's private library and the units are where they belong, the binary finds
# that library through its RUNPATH and runs, the declared dependencies include the libraries it
# links, and `systemd-analyze verify` accepts both units against this system's unit tree (with the
# package's files laid over it). Exits 77 (skipped) without dpkg-deb or systemd-analyze.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in dpkg-deb dpkg-shlibdeps systemd-analyze; do
  command -v "$tool" >/dev/null || { echo "check-package: no $tool; skipped" >&2; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
deb=$(scripts/package.sh "$tmp/out")
fail() { echo "check-package: $*" >&2; exit 1; }
root=$tmp/root
mkdir -p "$root"
dpkg-deb -x "$deb" "$root"
for f in usr/bin/epara usr/lib/epara/libonnxruntime.so.1 lib/systemd/system/epara-node@.service \
  lib/systemd/system/epara-controller.service etc/epara/controller.env \
  usr/share/doc/epara/copyright usr/share/doc/epara/examples/node.yaml; do
  [ -e "$root/$f" ] || fail "$f missing from $deb"
done
# (Outputs captured first: grep -q ends a pipe early, which pipefail would count as a failure.)
dynamic=$(readelf -d "$root/usr/bin/epara")
grep -q 'RUNPATH.*\$ORIGIN/../lib/epara' <<<"$dynamic" || fail "no RUNPATH to lib/epara"
libs=$(ldd "$root/usr/bin/epara")
grep -q "libonnxruntime.so.1 => $root/usr/bin/../lib/epara/" <<<"$libs" ||
  fail "the binary does not load the packaged ONNX Runtime"
version=$("$root/usr/bin/epara" --version)
pkg_version=$(dpkg-deb -f "$deb" Version)
[ "$pkg_version" = "$version-1" ] || fail "package version is not the binary's $version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libtorch libgrpc++ libyaml-cpp libopenblas0-pthread adduser; do
  grep -qF "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
conffiles=$(dpkg-deb -I "$deb" conffiles)
grep -qx /etc/epara/controller.env <<<"$conffiles" || fail "controller.env is no conffile"
# The units against this system's unit tree with the package's files over it (so ExecStart's
# binary exists and every referenced target resolves).
cp -an /lib/systemd/system/. "$root/lib/systemd/system/" 2>/dev/null || true
systemd-analyze verify --root="$root" /lib/systemd/system/epara-node@.service \
  /lib/systemd/system/epara-controller.service || fail "systemd-analyze verify failed"
echo "check-package: $(basename "$deb") ok"
