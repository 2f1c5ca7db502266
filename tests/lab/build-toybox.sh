#!/bin/sh
# tests/lab/build-toybox.sh OUT
#
# A static aarch64 toybox for the Android-like lab host (tests/lab/README.md):
# Android's utilities are toybox, linked against bionic; Debian's toybox is
# linked against glibc, and that host must have no glibc outside the kit.
# Built from the upstream source that Debian packages (the .orig tarball of
# the version in kit/pins/sources.lock, checked against the .dsc's SHA-256;
# Debian's own patches only adjust packaging), with toybox's defconfig,
# cross-compiled with gcc-aarch64-linux-gnu. Cached: rebuilt when the source
# or this script changes.
set -eu
prog=build-toybox.sh
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
[ $# -eq 1 ] || { echo "usage: $prog OUT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$(dirname "$1")"
out=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ver=$(awk '$1 == "toybox" { print $2 }' "$repo/kit/pins/sources.lock")
[ -n "$ver" ] || die "kit/pins/sources.lock pins no toybox"
cache=$repo/.cache/debian-src
upver=${ver%-*}
orig=$cache/toybox_$upver.orig.tar.xz
dsc=$cache/toybox_$ver.dsc
if [ ! -f "$orig" ] || [ ! -f "$dsc" ]; then
	(cd "$cache" && apt-get -q -o APT::Sandbox::User=root -o Dir::Etc::SourceList="$cache/apt/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$cache/apt/lists" -o Debug::NoLocking=1 \
		source --download-only "toybox=$ver") >/dev/null 2>&1 || true
fi
[ -f "$orig" ] && [ -f "$dsc" ] || die "no $orig and $dsc (scripts/debian-src.sh toybox=$ver $cache fetches them)"
want=$(awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && $3 ~ /orig/ { print $1 }' "$dsc")
[ "$(sha256sum <"$orig" | cut -d' ' -f1)" = "$want" ] || die "$orig does not match the SHA-256 in $dsc"
stamp=$( { echo "$ver"; cat "$0"; } | sha256sum | cut -d' ' -f1)
[ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ] && exit 0
b=$out.build
rm -rf "$b"
mkdir -p "$b"
tar -xJf "$orig" -C "$b" --strip-components=1
cd "$b"
make defconfig >build.log 2>&1 || { tail -n 20 build.log >&2; die "toybox defconfig failed"; }
# The commands that need libcrypt (which has no static library here) are
# left out; Android's toybox has none of them either.
for c in MKPASSWD PASSWD LOGIN SU SULOGIN CHPASSWD; do
	sed -i "s/^CONFIG_$c=y\$/# CONFIG_$c is not set/" .config
done
CROSS_COMPILE=aarch64-linux-gnu- CC=gcc LDFLAGS=--static make -j"$(nproc)" toybox >>build.log 2>&1 ||
	{ tail -n 20 build.log >&2; die "building toybox failed (log: $b/build.log)"; }
readelf -l toybox | grep -q 'Requesting program interpreter' && die "toybox came out dynamically linked"
aarch64-linux-gnu-strip -o "$out" toybox
echo "$stamp" >"$out.stamp"
echo "$prog: built $out (toybox $ver, static)" >&2
