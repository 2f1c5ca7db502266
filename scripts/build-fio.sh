#!/bin/sh
# scripts/build-fio.sh ARCH OUT
#
# Builds fio from Debian's own source package (the version pinned in
# kit/pins/sources.lock, Debian's patches applied; fetched by
# scripts/debian-src.sh and cached offline) with only the I/O engines the
# workloads use (psync, libaio, io_uring: workloads/fio.c), for the kit and
# the benchmark guest. Debian's binary fio links ceph (librados, librbd),
# glusterfs (libgfapi), RDMA, PMDK and libnbd: 85 MB of libraries no
# workload loads. This one needs libc, libaio, zlib and libm.
#
# ARCH is aarch64 (cross-built with gcc-aarch64-linux-gnu against the -dev
# packages unpacked in build/aarch64/sysroot, as `make ARCH=aarch64` does)
# or the host's architecture (built with the host's gcc and -dev packages).
# The tree is built in OUT.build/ (fio builds in its source tree) and the
# binary written to OUT. Exit status: 0 built or up to date, 1 on errors.
set -eu
prog=build-fio.sh
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
[ $# -eq 2 ] || { echo "usage: $prog ARCH OUT" >&2; exit 2; }
arch=$1
mkdir -p "$(dirname "$2")"
out=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

want=$(awk '$1 == "fio" { print $2 }' "$repo/kit/pins/sources.lock")
[ -n "$want" ] || die "kit/pins/sources.lock pins no fio source version"
src=$("$here/debian-src.sh" "fio=$want" "$repo/.cache/debian-src") || die "cannot fetch Debian's fio source $want"

case $arch in
"$(uname -m)") cc=gcc cross='' sysroot_cflags='' sysroot_ldflags='' ;;
aarch64)
	cc=aarch64-linux-gnu-gcc cross=aarch64-linux-gnu-
	sr=$repo/build/aarch64/sysroot
	[ -f "$sr/usr/include/libaio.h" ] || die "no libaio.h in $sr (scripts/cross-sysroot.sh $sr)"
	sysroot_cflags="-I$sr/usr/include -I$sr/usr/include/aarch64-linux-gnu"
	sysroot_ldflags="-L$sr/usr/lib/aarch64-linux-gnu"
	;;
*) die "cannot build fio for $arch on $(uname -m)" ;;
esac
command -v "$cc" >/dev/null 2>&1 || die "no $cc (scripts/deps.sh cross)"

# Rebuilt when the source, this script or the compiler changes.
stamp=$( { echo "$src $want"; cat "$0"; "$cc" --version | head -n 1; } | sha256sum | cut -d' ' -f1)
if [ -f "$out" ] && [ -f "$out.stamp" ] && [ "$(cat "$out.stamp")" = "$stamp" ]; then
	exit 0
fi
rm -f "$out.stamp"
bdir=$out.build
rm -rf "$bdir"
mkdir -p "$bdir"
cp -a "$src/." "$bdir/"
cd "$bdir"
# Every engine that needs a library beyond libaio and zlib is off, whether
# or not the build machine has its -dev package: the result must not depend
# on what happens to be installed. --disable-native: the kit runs on other
# CPUs than the build machine's. No lex/yacc: the workloads pass plain
# numbers, and the binary should not depend on whether bison was there.
./configure --cc="$cc" --extra-cflags="-O2 $sysroot_cflags $sysroot_ldflags" --disable-native --disable-numa \
	--disable-rdma --disable-rados --disable-rbd --disable-http --disable-gfapi --disable-pmem \
	--disable-xnvme --disable-libzbc --disable-tcmalloc --disable-dfs --disable-lex \
	--disable-libnfs >configure.log 2>&1 || { tail -n 20 configure.log >&2; die "fio's configure failed (log: $bdir/configure.log)"; }
grep -q '^Linux AIO support[[:space:]]*yes' configure.log || die "fio's configure found no libaio (libaio-dev)"
grep -q '^zlib[[:space:]]*yes' configure.log || die "fio's configure found no zlib (zlib1g-dev)"
LDFLAGS=$sysroot_ldflags make -j"$(nproc)" CROSS_COMPILE="$cross" V=1 fio >make.log 2>&1 || { tail -n 20 make.log >&2; die "building fio failed (log: $bdir/make.log)"; }
"${cross}strip" -o "$out.tmp" fio
# Only what the workloads need may be left in it.
needed=$("${cross}readelf" -d "$out.tmp" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
for so in $needed; do
	case $so in libc.so.6 | libm.so.6 | libz.so.1 | libaio.so.1 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux-*) ;;
	*) die "the rebuilt fio links $so, which the kit should not need" ;;
	esac
done
mv -f "$out.tmp" "$out"
echo "$stamp" >"$out.stamp"
printf '%s: built %s (%s; needs %s)\n' "$prog" "$out" "$want" "$needed" >&2
