#!/bin/bash
# build-payload.sh OUTDIR
# build-payload.sh --update-pins
#
# Builds the payload disk of the emulated ARM64 lab (see tests/lab/README.md,
# "The payload disk"): an ext4 image, OUTDIR/payload.img, that a lab host
# mounts read-only at /lab. It holds what `kvmqual run` needs on an ARM64
# host, all for arm64:
#
#   /lab/bin/      qemu-system-aarch64, sysbench, fio, iperf3, ip (Debian's)
#   /lab/lib/      every shared library these and kvmqual load, and the
#                  dynamic loader, flattened into one directory (named by
#                  soname); the lab's /init links /lib/aarch64-linux-gnu,
#                  /usr/lib/aarch64-linux-gnu and /lib/ld-linux-aarch64.so.1
#                  to it
#   /lab/kq/build/ kvmqual, stream and probe cross-built for aarch64
#                  (LAB_KQ_BUILD, default build/aarch64) and the aarch64
#                  benchmark guest image in guest/aarch64 (LAB_GUEST_IMAGE,
#                  default build/guest/aarch64), the layout kvmqual expects
#   /lab/kq/runners/targets.conf
#   /lab/payload.txt  the packages and files, for the record
#
# The packages are pinned: sysbench, fio, iperf3, glibc and the libraries
# they share with the guest image come from guest-image/pins/aarch64.lock
# (the guest's own versions, from the guest image's .deb cache); the rest
# (QEMU, iproute2, sqlite3, libcurl and their libraries) from
# tests/lab/pins/aarch64.lock, cached in .cache/lab/debs (LAB_DEB_CACHE).
# --update-pins resolves apt's current candidates for the latter and
# rewrites that lock with the packages whose files are used.
#
# Nothing under /usr/share/qemu is included: QEMU opens none of its data
# files for `-M virt` with a direct kernel boot and virtio-mmio devices
# (checked with strace), which is all kvmqual asks of it on arm64.
#
# The libraries are resolved once per lock (OUTDIR/base, kept); the payload
# image is re-made when kvmqual, the guest image or the base change.
set -eEuo pipefail
umask 022
export LC_ALL=C

prog=build-payload.sh
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
warn() { printf '%s: warning: %s\n' "$prog" "$*" >&2; }
info() { printf '%s: %s\n' "$prog" "$*" >&2; }
trap 'die "unexpected failure (status $?) at line $LINENO: $BASH_COMMAND"' ERR

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
self=$here/$(basename "$0")
guest_lock=$repo/guest-image/pins/aarch64.lock
lab_lock=$here/pins/aarch64.lock
guest_debs=$repo/.cache/guest-image/aarch64/debs
lab_debs=${LAB_DEB_CACHE:-$repo/.cache/lab/debs}
kq_build=${LAB_KQ_BUILD:-$repo/build/aarch64}
guest_image=${LAB_GUEST_IMAGE:-$repo/build/guest/aarch64}
triplet=aarch64-linux-gnu

update_pins=0
outdir=
case ${1:-} in
--update-pins) [ $# -eq 1 ] || die "usage: $prog OUTDIR | --update-pins"; update_pins=1 ;;
'' | -*) echo "usage: $prog OUTDIR | --update-pins" >&2; exit 2 ;;
*) [ $# -eq 1 ] || { echo "usage: $prog OUTDIR | --update-pins" >&2; exit 2; }; outdir=$1 ;;
esac

for t in dpkg-deb readelf sha256sum flock mke2fs realpath timeout; do
	command -v "$t" >/dev/null 2>&1 || die "required tool '$t' not found (Debian: dpkg, binutils, coreutils, util-linux, e2fsprogs)"
done

# The binaries of the payload, by package path, and the libraries kvmqual
# links (listed even where the linker dropped them as not needed yet, so
# that the lock covers them).
root_files="usr/bin/qemu-system-aarch64 usr/bin/sysbench usr/bin/fio usr/bin/iperf3 bin/ip
	usr/lib/$triplet/libsqlite3.so.0 usr/lib/$triplet/libcurl.so.4 usr/lib/$triplet/libfdt.so.1
	lib/$triplet/libz.so.1 lib/$triplet/libm.so.6"
root_pkgs="qemu-system-arm sysbench fio iperf3 iproute2 libsqlite3-0 libcurl4 libfdt1 zlib1g libc6"

# ---------------------------------------------------------------- packages

declare -A version=() pinned_by=()
# read_lock FILE: package versions into version[], except the kernel and
# busybox (the lab's initramfs takes those from the guest lock itself).
read_lock() {
	local n v rest
	while read -r n v rest; do
		case $n in '' | '#'*) continue ;; esac
		[ -n "$v" ] && [ -z "$rest" ] || die "${1#"$repo"/}: bad line '$n $v $rest'"
		case $n in linux-image-* | busybox-static) continue ;; esac
		if [ -n "${version[$n]:-}" ] && [ "${version[$n]}" != "$v" ]; then
			die "$n is pinned to ${version[$n]} in ${pinned_by[$n]#"$repo"/} and to $v in ${1#"$repo"/}"
		fi
		version[$n]=$v
		pinned_by[$n]=$1
	done <"$1"
}

# deb_of NAME VERSION: the cached .deb, from either cache, or nothing.
deb_of() {
	local v=${2//:/%3a} d a
	for d in "$guest_debs" "$lab_debs"; do
		for a in arm64 all; do
			if [ -f "$d/${1}_${v}_$a.deb" ]; then
				printf '%s\n' "$d/${1}_${v}_$a.deb"
				return 0
			fi
		done
	done
	return 1
}

# download NAME=VERSION...: into the lab cache, through a temporary directory.
download() {
	local tmp args=() nv rc=0
	command -v apt-get >/dev/null 2>&1 || die "apt-get is needed to download packages"
	for nv in "$@"; do args+=("${nv%%=*}:arm64=${nv#*=}"); done
	mkdir -p "$lab_debs"
	tmp=$(mktemp -d "$lab_debs/.download.XXXXXX")
	info "downloading ${#args[@]} package(s): ${args[*]}"
	(cd "$tmp" && timeout -k 10 1200 apt-get -q -o APT::Sandbox::User=root -o Acquire::Retries=2 \
		download "${args[@]}") >"$tmp/.log" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		sed 's/^/  apt-get: /' "$tmp/.log" >&2
		rm -rf "$tmp"
		return 1
	fi
	mv -f "$tmp"/*.deb "$lab_debs/"
	rm -rf "$tmp"
}

# fetch_all NAME...: makes sure every NAME=version[NAME] is cached.
fetch_all() {
	local n missing=()
	for n in "$@"; do
		deb_of "$n" "${version[$n]}" >/dev/null || missing+=("$n=${version[$n]}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	download "${missing[@]}" || die "cannot download ${missing[*]} for arm64.
  If Debian no longer has these versions: $prog --update-pins
  If apt's lists are missing: dpkg --add-architecture arm64; apt-get update"
	for n in "$@"; do
		deb_of "$n" "${version[$n]}" >/dev/null || die "apt-get download left no .deb for $n ${version[$n]}"
	done
}

# ---------------------------------------------------------------- staging

declare -A staged=() soname_at=()
stage_pkg() { # NAME
	local deb
	[ -z "${staged[$1]:-}" ] || return 0
	deb=$(deb_of "$1" "${version[$1]}")
	mkdir -p "$stage/$1"
	dpkg-deb -x "$deb" "$stage/$1" || die "cannot unpack $deb"
	staged[$1]=1
	local d f
	# Index the library directories: soname (file name) -> package/path.
	for d in lib/$triplet usr/lib/$triplet lib usr/lib; do
		[ -d "$stage/$1/$d" ] || continue
		for f in "$stage/$1/$d"/*; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			[ -d "$f" ] && [ ! -L "$f" ] && continue
			f=${f#"$stage/$1/"}
			[ -n "${soname_at[${f##*/}]:-}" ] || soname_at[${f##*/}]=$1/$f
		done
	done
}

# resolve PKG/PATH: follows symbolic links inside the staged packages; sets
# resolved to PKG/PATH of the file finally reached.
resolve() {
	local pkg=${1%%/*} path=${1#*/} hops target p
	for ((hops = 0; hops < 20; hops++)); do
		if [ ! -e "$stage/$pkg/$path" ] && [ ! -L "$stage/$pkg/$path" ]; then
			# A link into another package (usrmerge-style paths, -dev links).
			for p in "${!staged[@]}"; do
				if [ -e "$stage/$p/$path" ] || [ -L "$stage/$p/$path" ]; then pkg=$p; break; fi
			done
			[ -e "$stage/$pkg/$path" ] || [ -L "$stage/$pkg/$path" ] || return 1
		fi
		if [ -L "$stage/$pkg/$path" ]; then
			target=$(readlink "$stage/$pkg/$path")
			case $target in
			/*) path=$(realpath -ms "$target") ;;
			*) path=$(realpath -ms "/${path%/*}/$target") ;;
			esac
			path=${path#/}
			continue
		fi
		resolved=$pkg/$path
		return 0
	done
	return 1
}

# closure FILE...: FILE is PKG/PATH of a staged file or /ABS of an input;
# fills lib_src[soname] (PKG/PATH of the file to copy), used_pkg[] and
# unresolved (sonames no staged package has).
closure() {
	local queue=("$@") obj file line so interp
	declare -gA lib_src=() used_pkg=()
	declare -A seen=()
	unresolved=()
	while [ ${#queue[@]} -gt 0 ]; do
		obj=${queue[0]}
		queue=("${queue[@]:1}")
		[ -z "${seen[$obj]:-}" ] || continue
		seen[$obj]=1
		case $obj in
		/*) file=$obj ;;
		*) file=$stage/$obj; used_pkg[${obj%%/*}]=1 ;;
		esac
		[ "$(head -c 4 "$file" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
		local needed=() runpath='' rp d p at
		while IFS= read -r line; do
			case $line in
			*'(NEEDED)'*'Shared library: ['*) so=${line##*\[}; needed+=("${so%]}") ;;
			*'(RUNPATH)'*'runpath: ['* | *'(RPATH)'*'rpath: ['*) rp=${line##*\[}; runpath=${rp%]} ;;
			*'[Requesting program interpreter: '*) interp=${line##*: }; needed+=("$(basename "${interp%]}")") ;;
			esac
		done < <(readelf -W -d -l "$file" 2>/dev/null)
		# RUNPATH directories (librados's ceph/): the payload flattens every
		# library into one directory that the loader searches anyway.
		runpath=${runpath//\$\{ORIGIN\}/\/${obj#*/}/..}
		runpath=${runpath//\$ORIGIN/\/${obj#*/}/..}
		for so in ${needed[@]+"${needed[@]}"}; do
			[ -z "${lib_src[$so]:-}" ] || continue
			at=${soname_at[$so]:-}
			if [ -z "$at" ] && [ -n "$runpath" ]; then
				for d in ${runpath//:/ }; do
					d=$(realpath -ms "$d")
					for p in "${!staged[@]}"; do
						if [ -e "$stage/$p$d/$so" ]; then at=$p${d}/$so; break 2; fi
					done
				done
			fi
			if [ -z "$at" ] || ! resolve "$at"; then
				unresolved+=("$so (needed by ${obj#"$stage"/})")
				continue
			fi
			lib_src[$so]=$resolved
			queue+=("$resolved")
		done
	done
}

# The root files of the payload as PKG/PATH.
root_objects() {
	local f p found
	roots=()
	for f in $root_files; do
		found=
		for p in "${!staged[@]}"; do
			if [ -e "$stage/$p/$f" ] || [ -L "$stage/$p/$f" ]; then found=$p; break; fi
		done
		[ -n "$found" ] || die "/$f is in none of the packages (pins incomplete? $prog --update-pins)"
		resolve "$found/$f" || die "/$f: broken link in $found"
		roots+=("$resolved")
	done
}

# ---------------------------------------------------------------- --update-pins

if [ "$update_pins" = 1 ]; then
	command -v apt-cache >/dev/null || die "apt-cache is needed for --update-pins"
	read_lock "$guest_lock"
	stage=$(mktemp -d "${TMPDIR:-/tmp}/kvmqual-lab-pins.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	candidate() { apt-cache policy "$1:arm64" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '^(none)$' || true; }
	deps_of() {
		apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
			--no-enhances "$1:arm64" 2>/dev/null |
			sed -n 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: \([^<][^ ]*\)$/\2/p' | sed 's/:arm64$//'
	}
	want=$root_pkgs
	declare -A expanded=()
	for round in $(seq 1 30); do
		for n in $want; do
			if [ -z "${version[$n]:-}" ]; then
				v=$(candidate "$n")
				if [ -z "$v" ]; then expanded[$n]=1; continue; fi
				version[$n]=$v
				pinned_by[$n]=$lab_lock
			fi
		done
		todo=()
		for n in $want; do [ -n "${version[$n]:-}" ] && [ -z "${staged[$n]:-}" ] && todo+=("$n"); done
		[ ${#todo[@]} -eq 0 ] || fetch_all "${todo[@]}"
		for n in ${todo[@]+"${todo[@]}"}; do stage_pkg "$n"; done
		root_objects
		closure "${roots[@]}"
		[ ${#unresolved[@]} -eq 0 ] && break
		# Not found yet: look in what the packages in use depend on.
		more=
		for n in "${!used_pkg[@]}"; do
			[ -z "${expanded[$n]:-}" ] || continue
			expanded[$n]=1
			more="$more $(deps_of "$n" | tr '\n' ' ')"
		done
		[ -n "${more// /}" ] || { printf '  %s\n' "${unresolved[@]}" >&2; die "libraries in none of the packages"; }
		want="$want $more"
		info "round $round: ${#unresolved[@]} libraries not found yet"
	done
	[ ${#unresolved[@]} -eq 0 ] || die "library resolution did not converge"
	mkdir -p "$here/pins"
	{
		echo "# Pinned Debian arm64 packages of the lab hosts' payload disk, beyond those"
		echo "# of guest-image/pins/aarch64.lock. Written by tests/lab/build-payload.sh"
		echo "# --update-pins; one \"package version\" a line."
		for n in "${!used_pkg[@]}"; do
			[ "${pinned_by[$n]}" = "$guest_lock" ] || printf '%s %s\n' "$n" "${version[$n]}"
		done | sort
	} >"$lab_lock.tmp"
	mv -f "$lab_lock.tmp" "$lab_lock"
	info "wrote ${lab_lock#"$repo"/} ($(grep -vc '^#' "$lab_lock") packages)"
	exit 0
fi

# ---------------------------------------------------------------- inputs

[ -f "$lab_lock" ] || die "no ${lab_lock#"$repo"/}: run $prog --update-pins"
[ -f "$guest_lock" ] || die "no ${guest_lock#"$repo"/}"
for f in kvmqual stream probe; do
	[ -f "$kq_build/$f" ] || die "no $kq_build/$f (make ARCH=aarch64 probe stream kvmqual)"
	m=$(readelf -h "$kq_build/$f" 2>/dev/null | sed -n 's/^ *Machine: *//p')
	[ "$m" = AArch64 ] || die "$kq_build/$f is built for '${m:-not an ELF}', not AArch64"
done
[ -f "$guest_image/manifest.json" ] || die "no guest image in $guest_image (make guest-image)"
grep -q '"arch": "aarch64"' "$guest_image/manifest.json" || die "$guest_image is not an aarch64 guest image"
[ -f "$repo/runners/targets.conf" ] || die "no runners/targets.conf"

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
exec 9>"$outdir/.payload.lock"
flock -w 1800 9 || die "another build has held $outdir/.payload.lock for 30 minutes"

sha() { sha256sum <"$1" | cut -d' ' -f1; }
base_stamp=$( { cat "$guest_lock" "$lab_lock"; sha "$self"; } | sha256sum | cut -d' ' -f1)
guest_files=$(cd "$guest_image" && ls)
stamp=$(
	{
		echo "base $base_stamp"
		for f in kvmqual stream probe; do echo "$f $(sha "$kq_build/$f")"; done
		for f in $guest_files; do [ -f "$guest_image/$f" ] && echo "guest $f $(sha "$guest_image/$f")"; done
		echo "targets $(sha "$repo/runners/targets.conf")"
	} | sha256sum | cut -d' ' -f1
)
if [ -f "$outdir/payload.img" ] && [ -f "$outdir/.payload.stamp" ] && [ "$(cat "$outdir/.payload.stamp")" = "$stamp" ]; then
	info "payload $outdir/payload.img is up to date"
	exit 0
fi
rm -f "$outdir/.payload.stamp"

# ---------------------------------------------------------------- base

base=$outdir/base
if [ ! -f "$base/.stamp" ] || [ "$(cat "$base/.stamp")" != "$base_stamp" ]; then
	rm -rf "$base" "$outdir"/.base.*
	work=$(mktemp -d "$outdir/.base.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	stage=$work/pkgs
	read_lock "$guest_lock"
	read_lock "$lab_lock"
	fetch_all "${!version[@]}"
	info "unpacking ${#version[@]} packages"
	for n in $(printf '%s\n' "${!version[@]}" | sort); do stage_pkg "$n"; done
	root_objects
	closure "${roots[@]}"
	if [ ${#unresolved[@]} -gt 0 ]; then
		printf '  %s\n' "${unresolved[@]}" >&2
		die "libraries in none of the pinned packages: run $prog --update-pins"
	fi
	b=$work/base
	mkdir -p "$b/bin" "$b/lib"
	for so in "${!lib_src[@]}"; do cp "$stage/${lib_src[$so]}" "$b/lib/$so"; done
	# The roots: programs to bin/, libraries (kvmqual's) to lib/ by soname.
	i=0
	for f in $root_files; do
		case $f in
		bin/* | */bin/*) cp "$stage/${roots[$i]}" "$b/bin/${f##*/}" ;;
		*) [ -e "$b/lib/${f##*/}" ] || cp "$stage/${roots[$i]}" "$b/lib/${f##*/}" ;;
		esac
		i=$((i + 1))
	done
	{
		echo "# packages (name version), then the files with the package each comes from"
		for n in $(printf '%s\n' "${!used_pkg[@]}" | sort); do echo "package $n ${version[$n]}"; done
		i=0
		for f in $root_files; do
			case $f in bin/* | */bin/*) echo "file /lab/bin/${f##*/} ${roots[$i]%%/*}" ;; esac
			i=$((i + 1))
		done
		for so in $(printf '%s\n' "${!lib_src[@]}" | sort); do echo "file /lab/lib/$so ${lib_src[$so]%%/*}"; done
	} >"$b/payload.txt"
	for n in "${!version[@]}"; do
		[ -n "${used_pkg[$n]:-}" ] || warn "nothing of pinned package $n is used"
	done
	printf '%s\n' "$base_stamp" >"$b/.stamp"
	mv "$b" "$base"
	rm -rf "$work"
	trap - EXIT
	info "base: $(du -sm "$base" | cut -f1) MiB in $base"
fi

# kvmqual's own libraries must all be in the base.
while IFS= read -r line; do
	case $line in
	*'(NEEDED)'*'Shared library: ['*)
		so=${line##*\[}; so=${so%]}
		[ -f "$base/lib/$so" ] || die "kvmqual needs $so, which the payload does not have: add its package in $prog (root_files) and run --update-pins"
		;;
	esac
done < <(readelf -W -d "$kq_build/kvmqual")

# ---------------------------------------------------------------- image

work=$(mktemp -d "$outdir/.payload.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/kq/build/guest/aarch64" "$root/kq/runners"
cp -al "$base/bin" "$base/lib" "$root/"
cp "$base/payload.txt" "$root/payload.txt"
for f in kvmqual stream probe; do cp "$kq_build/$f" "$root/kq/build/$f"; done
for f in $guest_files; do [ -f "$guest_image/$f" ] && cp "$guest_image/$f" "$root/kq/build/guest/aarch64/$f"; done
cp "$repo/runners/targets.conf" "$root/kq/runners/targets.conf"
{
	for f in kvmqual stream probe; do echo "file /lab/kq/build/$f $(sha "$kq_build/$f")"; done
	echo "guest-image $(sed -n 's/.*"image_hash": "\([0-9a-f]*\)".*/\1/p' "$guest_image/manifest.json")"
} >>"$root/payload.txt"
mib=$(( $(du -sm "$root" | cut -f1) * 12 / 10 + 32 ))
mke2fs -q -F -t ext4 -L kqlabpayload -m 0 -E root_owner=0:0 -d "$root" "$work/payload.img" "${mib}M" >/dev/null ||
	die "mke2fs failed"
mv -f "$work/payload.img" "$outdir/payload.img"
printf '%s\n' "$stamp" >"$outdir/.payload.stamp"
info "built $outdir/payload.img (${mib} MiB)"
