#!/bin/sh
# build-payload.sh OUTDIR
#
# Builds the payload disk of the emulated ARM64 lab (tests/lab/README.md,
# "The payload disk"): OUTDIR/payload.img, an ext4 image that a lab host
# mounts read-only at /lab, holding the aarch64 field kit unpacked in
# /lab/kvmqual-kit (docs/kit.md). The payload and the kit are one thing:
# what the lab runs is what a phone or a board gets.
#
# The kit is LAB_KIT, default build/kit/kvmqual-kit-aarch64-VERSION.tar.gz
# (the newest there; `make kit ARCH=aarch64` builds it, `make lab` too). The
# image is re-made when the kit or this script changes.
set -eu
prog=build-payload.sh
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
info() { printf '%s: %s\n' "$prog" "$*" >&2; }
case ${1:-} in
'' | -*) echo "usage: $prog OUTDIR" >&2; exit 2 ;;
esac
[ $# -eq 1 ] || { echo "usage: $prog OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
for t in tar gzip mke2fs flock sha256sum du; do
	command -v "$t" >/dev/null 2>&1 || die "required tool '$t' not found (Debian: tar, gzip, e2fsprogs, util-linux, coreutils)"
done
kit=${LAB_KIT:-$(ls -t "$repo"/build/kit/kvmqual-kit-aarch64-*.tar.gz 2>/dev/null | head -n 1)}
[ -n "$kit" ] && [ -f "$kit" ] || die "no aarch64 kit${LAB_KIT:+ $LAB_KIT} (make kit ARCH=aarch64)"

mkdir -p "$1"
outdir=$(cd "$1" && pwd)
exec 9>"$outdir/.payload.lock"
flock -w 1800 9 || die "another build has held $outdir/.payload.lock for 30 minutes"
stamp=$( { sha256sum <"$kit"; sha256sum <"$0"; } | sha256sum | cut -d' ' -f1)
if [ -f "$outdir/payload.img" ] && [ "$(cat "$outdir/.payload.stamp" 2>/dev/null)" = "$stamp" ]; then
	info "payload $outdir/payload.img is up to date"
	exit 0
fi
rm -f "$outdir/.payload.stamp"
work=$(mktemp -d "$outdir/.payload.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
tar -xzf "$kit" -C "$work/root" || die "cannot unpack $kit"
[ -f "$work/root/kvmqual-kit/MANIFEST" ] || die "$kit holds no kvmqual-kit/MANIFEST"
grep -qx 'arch aarch64' "$work/root/kvmqual-kit/MANIFEST" || die "$kit is not an aarch64 kit"
mib=$(( $(du -sm "$work/root" | cut -f1) * 12 / 10 + 32 ))
mke2fs -q -F -t ext4 -L kqlabpayload -m 0 -E root_owner=0:0 -d "$work/root" "$work/payload.img" "${mib}M" >/dev/null ||
	die "mke2fs failed"
mv -f "$work/payload.img" "$outdir/payload.img"
printf '%s\n' "$stamp" >"$outdir/.payload.stamp"
info "built $outdir/payload.img (${mib} MiB) from $kit"
