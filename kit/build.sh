#!/bin/bash
# kit/build.sh --arch ARCH --build DIR --out DIR [--version V]
# kit/build.sh --arch ARCH --update-pins
#
# Builds the field kit (docs/kit.md): OUT/kvmqual-kit-ARCH-VERSION.tar.gz,
# one relocatable directory, kvmqual-kit/, with everything `kvmqual run`
# needs on a device of that architecture that has nothing but a shell:
#
#   run                  the entry script (kit/run, POSIX sh)
#   MANIFEST             packages (version, .deb sha256), files (sha256,
#                        bytes), links, the kit hash
#   bin/                 kvmqual and the tools of kit/tools.list, each a link
#                        to lib/kvmqual/launch (kit/launch.c), which starts
#                        libexec/NAME through the kit's own loader; probe
#                        (static) itself
#   libexec/             the dynamically linked programs
#   lib/                 every shared library they load, and the loader,
#                        under their sonames
#   lib/kvmqual/         launch, stream (static), guest/ARCH (the image)
#   share/kvmqual/targets.conf, share/qemu/ (QEMU's data files it opens)
#
# kvmqual finds stream, the guest image and targets.conf there as in an
# installed layout (PREFIX = the kit). Every Debian file comes from pinned
# packages: guest-image/pins/ARCH.lock (the guest's tools and libc, the same
# versions the guest runs) and kit/pins/ARCH.lock (QEMU, iproute2, sqlite,
# libcurl and the libraries only they need), cached in
# .cache/guest-image/ARCH/debs and .cache/kit/ARCH/debs (KIT_DEB_CACHE).
# --update-pins resolves apt's current candidates for what the guest lock
# does not have and rewrites kit/pins/ARCH.lock with the packages whose files
# are used.
#
# --build DIR holds kvmqual, probe, stream, fio and kvmqual-launch of ARCH
# (build/ or build/ARCH, as make puts them) and guest/ARCH is taken from
# build/guest/ARCH (KIT_GUEST_IMAGE). The archive is reproducible (sorted,
# owner 0, mtime SOURCE_DATE_EPOCH or 0, gzip -n) and at most KIT_MAX_BYTES
# (60000000) compressed: a bigger one is an error.
set -eEuo pipefail
umask 022
export LC_ALL=C

prog=kit/build.sh
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
self=$here/build.sh
# shellcheck source=../guest-image/lib.sh
. "$repo/guest-image/lib.sh"
trap 'die "unexpected failure (status $?) at line $LINENO: $BASH_COMMAND"' ERR

usage() {
	echo "usage: $prog --arch aarch64|x86_64 --build DIR --out DIR [--version V]" >&2
	echo "       $prog --arch aarch64|x86_64 --update-pins" >&2
	exit 2
}
arch='' build='' out='' version=0 update_pins=0
while [ $# -gt 0 ]; do
	case $1 in
	--arch) [ $# -ge 2 ] || usage; arch_vars "$2"; shift 2 ;;
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--version) [ $# -ge 2 ] || usage; version=$2; shift 2 ;;
	--update-pins) update_pins=1; shift ;;
	*) usage ;;
	esac
done
[ -n "$arch" ] || usage
[ "$update_pins" = 1 ] || { [ -n "$build" ] && [ -n "$out" ]; } || usage
case $version in '' | *[!A-Za-z0-9.+~_-]*) die "--version: '$version' is not a plain version" ;; esac
case $arch in
aarch64) loader=ld-linux-aarch64.so.1 want_machine=AArch64 ;;
x86_64) loader=ld-linux-x86-64.so.2 want_machine='Advanced Micro Devices X86-64' ;;
esac
need dpkg-deb readelf sha256sum flock realpath tar gzip od

guest_lock=$repo/guest-image/pins/$arch.lock
kit_lock=$here/pins/$arch.lock
guest_debs=$repo/.cache/guest-image/$arch/debs
kit_debs=${KIT_DEB_CACHE:-$repo/.cache/kit/$arch/debs}
max_bytes=${KIT_MAX_BYTES:-60000000}
case $max_bytes in '' | *[!0-9]*) die "KIT_MAX_BYTES must be a number of bytes" ;; esac

# ---------------------------------------------------------------- tools.list

# bin_* and data_* of this architecture; seed_pkgs: the packages whose
# Depends --update-pins starts from.
bin_names=() bin_pkgs=() bin_paths=() data_dests=() data_pkgs=() data_paths=()
seed_pkgs="libc6 libsqlite3-0 libcurl4 libfdt1 zlib1g" # kvmqual's own libraries
while read -r kind name arches pkg path extra; do
	case $kind in '' | '#'*) continue ;; esac
	[ -n "$path" ] || die "kit/tools.list: bad line '$kind $name $arches $pkg'"
	case ",$arches," in *",$arch,"* | *,any,*) ;; *) continue ;; esac
	case $kind in
	bin)
		case $name in */* | '' | kvmqual | probe | launch | run) die "kit/tools.list: '$name' is not a name a tool can have" ;; esac
		bin_names+=("$name") bin_pkgs+=("$pkg") bin_paths+=("$path")
		if [ "$pkg" = @build ]; then seed_pkgs="$seed_pkgs ${extra:-}"; else seed_pkgs="$seed_pkgs $pkg"; fi
		;;
	data)
		case $name in share/qemu/* | lib/*-linux-gnu/qemu/*) ;; *) die "kit/tools.list: data goes under share/qemu/ or lib/TRIPLET/qemu/, not '$name'" ;; esac
		case $name in *..*) die "kit/tools.list: '$name' has '..'" ;; esac
		data_dests+=("$name") data_pkgs+=("$pkg") data_paths+=("$path")
		seed_pkgs="$seed_pkgs $pkg"
		;;
	*) die "kit/tools.list: unknown kind '$kind'" ;;
	esac
done <"$here/tools.list"

# ---------------------------------------------------------------- packages

declare -A version_of=() pinned_by=()
# read_lock FILE: package versions into version_of[], except the kernel and
# busybox (the guest image's own).
read_lock() {
	local n v rest
	while read -r n v rest; do
		case $n in '' | '#'*) continue ;; esac
		[ -n "$v" ] && [ -z "$rest" ] || die "${1#"$repo"/}: bad line '$n $v $rest'"
		case $n in linux-image-* | busybox-static) continue ;; esac
		if [ -n "${version_of[$n]:-}" ] && [ "${version_of[$n]}" != "$v" ]; then
			die "$n is pinned to ${version_of[$n]} in ${pinned_by[$n]#"$repo"/} and to $v in ${1#"$repo"/} (the kit's lock holds only what the guest's does not pin: $prog --arch $arch --update-pins rewrites it)"
		fi
		version_of[$n]=$v
		pinned_by[$n]=$1
	done <"$1"
}

# lock_names FILE: the package names of a lock, sorted.
lock_names() { awk '$1 !~ /^#/ && NF == 2 { print $1 }' "$1" | sort; }

# deb_of NAME VERSION: the cached .deb, from either cache, or nothing.
deb_of() {
	local v=${2//:/%3a} d a
	for d in "$guest_debs" "$kit_debs"; do
		for a in "$deb_arch" all; do
			if [ -f "$d/${1}_${v}_$a.deb" ]; then
				printf '%s\n' "$d/${1}_${v}_$a.deb"
				return 0
			fi
		done
	done
	return 1
}

# download NAME=VERSION...: into the kit's cache, through a temporary directory.
download() {
	local tmp args=() nv rc=0
	need apt-get
	for nv in "$@"; do args+=("${nv%%=*}:$deb_arch=${nv#*=}"); done
	mkdir -p "$kit_debs"
	tmp=$(mktemp -d "$kit_debs/.download.XXXXXX")
	info "downloading ${#args[@]} package(s): ${args[*]}"
	(cd "$tmp" && timeout -k 10 1200 apt-get -q -o APT::Sandbox::User=root -o Acquire::Retries=2 \
		download "${args[@]}") >"$tmp/.log" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		sed 's/^/  apt-get: /' "$tmp/.log" >&2
		rm -rf "$tmp"
		return 1
	fi
	mv -f "$tmp"/*.deb "$kit_debs/"
	rm -rf "$tmp"
}

# fetch_all NAME...: makes sure every NAME=version_of[NAME] is cached.
fetch_all() {
	local n missing=()
	for n in "$@"; do
		deb_of "$n" "${version_of[$n]}" >/dev/null || missing+=("$n=${version_of[$n]}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	download "${missing[@]}" || die "cannot download ${missing[*]} for $deb_arch.
  If Debian no longer has these versions: $prog --arch $arch --update-pins
  If apt's lists are missing: dpkg --add-architecture $deb_arch; apt-get update"
	for n in "$@"; do
		deb_of "$n" "${version_of[$n]}" >/dev/null || die "apt-get download left no .deb for $n ${version_of[$n]}"
	done
}

# ---------------------------------------------------------------- staging

declare -A staged=() soname_at=()
stage_pkg() { # NAME
	local deb d f
	[ -z "${staged[$1]:-}" ] || return 0
	deb=$(deb_of "$1" "${version_of[$1]}")
	mkdir -p "$stage/$1"
	dpkg-deb -x "$deb" "$stage/$1" || die "cannot unpack $deb"
	staged[$1]=1
	# Index the library directories: soname (file name) -> package/path.
	for d in lib/$triplet usr/lib/$triplet lib usr/lib lib64; do
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
			# A link into another package (usrmerge-style paths, -data links).
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

# closure FILE...: FILE is PKG/PATH of a staged file or /ABS of a built one;
# fills lib_src[soname] (PKG/PATH of the file to copy), used_pkg[] and
# unresolved (sonames no staged package has). The loader is a library too.
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
		# RUNPATH directories (librados's ceph/, QEMU's): the kit flattens
		# every library into lib/, which the loader searches anyway.
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

# roots: the programs of the kit as PKG/PATH (packages) or /ABS (built),
# in the order of bin_names, then the data files (PKG/PATH).
root_objects() {
	local i f p found
	roots=() data_roots=()
	for i in "${!bin_names[@]}"; do
		if [ "${bin_pkgs[$i]}" = @build ]; then
			roots+=("$build/${bin_paths[$i]}")
			continue
		fi
		f=${bin_paths[$i]}
		[ -n "${staged[${bin_pkgs[$i]}]:-}" ] || die "${bin_names[$i]}: package ${bin_pkgs[$i]} is not pinned (run $prog --arch $arch --update-pins)"
		resolve "${bin_pkgs[$i]}/$f" || die "/$f is not in ${bin_pkgs[$i]}"
		roots+=("$resolved")
	done
	for i in "${!data_dests[@]}"; do
		[ -n "${staged[${data_pkgs[$i]}]:-}" ] || die "${data_dests[$i]}: package ${data_pkgs[$i]} is not pinned (run $prog --arch $arch --update-pins)"
		resolve "${data_pkgs[$i]}/${data_paths[$i]}" || die "/${data_paths[$i]} is not in ${data_pkgs[$i]}"
		data_roots+=("$resolved")
		used_data_pkg[${resolved%%/*}]=1
	done
}
declare -A used_data_pkg=()

# ---------------------------------------------------------------- --update-pins

if [ "$update_pins" = 1 ]; then
	need apt-cache
	read_lock "$guest_lock"
	stage=$(mktemp -d "${TMPDIR:-/tmp}/kvmqual-kit-pins.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	# The guest's packages first (see the build below).
	gnames=()
	for n in $(lock_names "$guest_lock"); do [ -n "${version_of[$n]:-}" ] && gnames+=("$n"); done
	fetch_all "${gnames[@]}"
	for n in "${gnames[@]}"; do stage_pkg "$n"; done
	# Batched: one apt-cache call per round, not one per package.
	candidates() { # NAME... -> "name version" lines
		local args=() n
		for n in "$@"; do args+=("$n:$deb_arch"); done
		apt-cache policy "${args[@]}" 2>/dev/null | awk -v a=":$deb_arch" '
			/^[^ ]/ { name = $0; sub(/:$/, "", name); if (substr(name, length(name) - length(a) + 1) == a) name = substr(name, 1, length(name) - length(a)) }
			/^  Candidate: / && $2 != "(none)" { print name, $2 }'
	}
	deps_of() { # NAME... -> the packages they Depend or Pre-Depend on
		local args=() n
		for n in "$@"; do args+=("$n:$deb_arch"); done
		apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
			--no-replaces --no-enhances "${args[@]}" 2>/dev/null | awk -v a=":$deb_arch" '
			/^ *\|?(Depends|PreDepends): [^<]/ {
				n = $2; if (substr(n, length(n) - length(a) + 1) == a) n = substr(n, 1, length(n) - length(a))
				print n }' | sort -u
	}
	# Built programs are looked at in the build directory when it is given,
	# else only their packages are staged.
	if [ -z "$build" ]; then
		build=$repo/build/$arch
		[ "$arch" != "$(uname -m)" ] || build=$repo/build
	fi
	build=$(cd "$build" 2>/dev/null && pwd) || die "--build: no directory $build"
	want=$seed_pkgs
	declare -A expanded=()
	for round in $(seq 1 30); do
		ask=()
		for n in $want; do [ -n "${version_of[$n]:-}" ] || [ -n "${expanded[$n]:-}" ] || ask+=("$n"); done
		if [ ${#ask[@]} -gt 0 ]; then
			while read -r n v; do
				version_of[$n]=$v
				pinned_by[$n]=$kit_lock
			done < <(candidates "${ask[@]}")
			# No candidate for this architecture: nothing to stage.
			for n in "${ask[@]}"; do [ -n "${version_of[$n]:-}" ] || expanded[$n]=1; done
		fi
		todo=()
		for n in $want; do [ -n "${version_of[$n]:-}" ] && [ -z "${staged[$n]:-}" ] && todo+=("$n"); done
		[ ${#todo[@]} -eq 0 ] || fetch_all "${todo[@]}"
		for n in ${todo[@]+"${todo[@]}"}; do stage_pkg "$n"; done
		root_objects
		croots=()
		for r in "${roots[@]}"; do
			case $r in /*) [ -f "$r" ] || { warn "$r is not built: its libraries are not looked at"; continue; } ;; esac
			croots+=("$r")
		done
		[ -f "$build/kvmqual" ] && croots+=("$build/kvmqual")
		closure "${croots[@]}" ${data_roots[@]+"${data_roots[@]}"}
		[ ${#unresolved[@]} -eq 0 ] && break
		more= grow=()
		for n in "${!used_pkg[@]}"; do
			[ -z "${expanded[$n]:-}" ] || continue
			[ -n "${staged[$n]:-}" ] || continue
			expanded[$n]=1
			grow+=("$n")
		done
		[ ${#grow[@]} -eq 0 ] || more=$(deps_of "${grow[@]}" | tr '\n' ' ')
		[ -n "${more// /}" ] || { printf '  %s\n' "${unresolved[@]}" >&2; die "libraries in none of the packages"; }
		want="$want $more"
		info "round $round: ${#unresolved[@]} libraries not found yet"
	done
	[ ${#unresolved[@]} -eq 0 ] || die "library resolution did not converge"
	mkdir -p "$here/pins"
	{
		echo "# Pinned Debian $deb_arch packages of the field kit ($arch), beyond those of"
		echo "# guest-image/pins/$arch.lock. Written by kit/build.sh --update-pins;"
		echo "# one \"package version\" a line."
		for n in "${!used_pkg[@]}" "${!used_data_pkg[@]}"; do
			[ "${pinned_by[$n]}" = "$guest_lock" ] || printf '%s %s\n' "$n" "${version_of[$n]}"
		done | sort -u
	} >"$kit_lock.tmp"
	mv -f "$kit_lock.tmp" "$kit_lock"
	info "wrote ${kit_lock#"$repo"/} ($(grep -vc '^#' "$kit_lock") packages)"
	exit 0
fi

# ---------------------------------------------------------------- inputs

[ -f "$kit_lock" ] || die "no ${kit_lock#"$repo"/}: run $prog --arch $arch --update-pins"
[ -f "$guest_lock" ] || die "no ${guest_lock#"$repo"/}"
build=$(cd "$build" 2>/dev/null && pwd) || die "--build: no directory '$build'"
guest_image=${KIT_GUEST_IMAGE:-$repo/build/guest/$arch}
elf_machine() { readelf -h "$1" 2>/dev/null | sed -n 's/^ *Machine: *//p' || true; }
is_static() { ! readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }
for f in kvmqual probe stream kvmqual-launch; do
	[ -f "$build/$f" ] || die "no $build/$f (make ARCH=$arch kvmqual probe stream launch)"
done
for i in "${!bin_names[@]}"; do
	[ "${bin_pkgs[$i]}" != @build ] || [ -f "$build/${bin_paths[$i]}" ] || die "no $build/${bin_paths[$i]} (make ARCH=$arch ${bin_paths[$i]})"
done
for f in kvmqual probe stream kvmqual-launch; do
	m=$(elf_machine "$build/$f")
	[ "$m" = "$want_machine" ] || die "$build/$f is built for '${m:-not an ELF}', not $arch"
done
for f in probe stream kvmqual-launch; do is_static "$build/$f" || die "$build/$f must be linked statically"; done
[ -f "$guest_image/manifest.json" ] || die "no guest image in $guest_image (make guest-image)"
grep -q "\"arch\": \"$arch\"" "$guest_image/manifest.json" || die "$guest_image is not an $arch guest image"
grep -q '"init": "agent"' "$guest_image/manifest.json" || die "$guest_image has no agent (make guest-image builds it with one)"
[ -f "$repo/runners/targets.conf" ] || die "no runners/targets.conf"

mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 9>"$out/.kit-$arch.lock"
flock -w 1800 9 || die "another build has held $out/.kit-$arch.lock for 30 minutes"
tarball=$out/kvmqual-kit-$arch-$version.tar.gz

sha() { sha256sum <"$1" | cut -d' ' -f1; }
stamp=$(
	{
		echo "arch $arch version $version sde ${SOURCE_DATE_EPOCH:-0} max $max_bytes"
		cat "$guest_lock" "$kit_lock" "$here/tools.list"
		for f in "$self" "$here/run" "$repo/runners/targets.conf"; do echo "$f $(sha "$f")"; done
		for f in kvmqual probe stream kvmqual-launch; do echo "$f $(sha "$build/$f")"; done
		for i in "${!bin_names[@]}"; do
			[ "${bin_pkgs[$i]}" != @build ] || echo "${bin_names[$i]} $(sha "$build/${bin_paths[$i]}")"
		done
		for f in "$guest_image"/*; do [ -f "$f" ] && echo "guest ${f##*/} $(sha "$f")"; done
	} | sha256sum | cut -d' ' -f1
)
if [ -f "$tarball" ] && [ -f "$tarball.stamp" ] && [ "$(cat "$tarball.stamp")" = "$stamp" ]; then
	info "$tarball is up to date"
	exit 0
fi
rm -f "$tarball.stamp"

work=$(mktemp -d "$out/.kit-$arch.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
stage=$work/pkgs
read_lock "$guest_lock"
read_lock "$kit_lock"
fetch_all "${!version_of[@]}"
info "unpacking ${#version_of[@]} packages"
# The guest's packages first: where two provide one soname (libluajit's
# two builds), the kit's program loads what the guest's does.
for n in $(lock_names "$guest_lock") $(lock_names "$kit_lock"); do
	[ -n "${version_of[$n]:-}" ] && stage_pkg "$n"
done
root_objects
# QEMU's modules (data that is ELF) load libraries too.
closure "${roots[@]}" ${data_roots[@]+"${data_roots[@]}"} "$build/kvmqual"
if [ ${#unresolved[@]} -gt 0 ]; then
	printf '  %s\n' "${unresolved[@]}" >&2
	die "libraries in none of the pinned packages: run $prog --arch $arch --update-pins"
fi
[ -n "${lib_src[$loader]:-}" ] || die "no dynamic loader $loader among the libraries"

# ---------------------------------------------------------------- the tree

k=$work/kvmqual-kit
mkdir -p "$k/bin" "$k/libexec" "$k/lib/kvmqual/guest/$arch" "$k/share/kvmqual"
for so in "${!lib_src[@]}"; do cp "$stage/${lib_src[$so]}" "$k/lib/$so"; done
declare -A file_pkg=()
for so in "${!lib_src[@]}"; do file_pkg[lib/$so]=${lib_src[$so]%%/*}; done
# add_program NAME FILE PKG: a dynamic program goes to libexec/ behind a
# link to the launcher; a static one to bin/ itself.
add_program() {
	if is_static "$2"; then
		cp "$2" "$k/bin/$1"
		file_pkg[bin/$1]=$3
	else
		cp "$2" "$k/libexec/$1"
		ln -s ../lib/kvmqual/launch "$k/bin/$1"
		file_pkg[libexec/$1]=$3
	fi
}
for i in "${!bin_names[@]}"; do
	case ${roots[$i]} in
	/*) add_program "${bin_names[$i]}" "${roots[$i]}" - ;;
	*) add_program "${bin_names[$i]}" "$stage/${roots[$i]}" "${roots[$i]%%/*}" ;;
	esac
done
add_program kvmqual "$build/kvmqual" -
add_program probe "$build/probe" -
cp "$build/stream" "$k/lib/kvmqual/stream"
cp "$build/kvmqual-launch" "$k/lib/kvmqual/launch"
for i in "${!data_dests[@]}"; do
	mkdir -p "$k/$(dirname "${data_dests[$i]}")"
	cp "$stage/${data_roots[$i]}" "$k/${data_dests[$i]}"
	file_pkg[${data_dests[$i]}]=${data_roots[$i]%%/*}
	used_pkg[${data_roots[$i]%%/*}]=1
done
# The image but for x86_64's vmlinux: that is the bzImage's kernel again, as
# an ELF for QEMU's PVH boot (2 s less per boot under TCG), and 11.3 MB of
# the archive (66 MB unpacked) that took the x86_64 kit to 70.2 MB, over the
# 60 MB it must stay under. Without it kvmqual boots vmlinuz, as it does
# on arm64 and wherever an image has no vmlinux (runners/guest.c).
for f in "$guest_image"/*; do
	case ${f##*/} in vmlinux) continue ;; esac
	[ -f "$f" ] && cp "$f" "$k/lib/kvmqual/guest/$arch/"
done
cp "$repo/runners/targets.conf" "$k/share/kvmqual/targets.conf"
cp "$here/run" "$k/run"
chmod 755 "$k/run" "$k/bin"/* "$k/libexec"/* "$k/lib/kvmqual/launch" "$k/lib/kvmqual/stream" "$k/lib/$loader"
for n in "${!version_of[@]}"; do
	[ -n "${used_pkg[$n]:-}" ] || warn "nothing of pinned package $n is used (run $prog --arch $arch --update-pins)"
done

# ---------------------------------------------------------------- manifest

# The kit hash is the SHA-256 of the arch line and the sorted file and link
# lines: what is in the kit, not when or how it was packed.
sde=${SOURCE_DATE_EPOCH:-0}
case $sde in '' | *[!0-9]*) die "SOURCE_DATE_EPOCH must be a number of seconds" ;; esac
(
	cd "$k"
	find . -mindepth 1 -type f ! -name MANIFEST -printf '%P\n' | sort | while IFS= read -r p; do
		printf 'file %s %s %s %s\n' "$(sha "$p")" "$(stat -c %s "$p")" "$p" "${file_pkg[$p]:--}"
	done
	find . -mindepth 1 -type l -printf 'link %P %l\n' | sort
) >"$work/contents"
kit_hash=$( { echo "arch $arch"; cat "$work/contents"; } | sha256sum | cut -d' ' -f1)
bytes=$(awk '$1 == "file" { s += $3 } END { print s + 0 }' "$work/contents")
{
	echo "# kvmqual field kit (docs/kit.md): what it holds and where each file comes from"
	echo "format 1"
	echo "arch $arch"
	echo "version $version"
	echo "guest-image $(sed -n 's/.*"image_hash": "\([0-9a-f]*\)".*/\1/p' "$guest_image/manifest.json")"
	for n in $(printf '%s\n' "${!used_pkg[@]}" | sort); do
		echo "package $n ${version_of[$n]} $(sha "$(deb_of "$n" "${version_of[$n]}")")"
	done
	echo "built fio $(awk '$1 == "fio" { print $2 }' "$here/pins/sources.lock") debian-source"
	echo "# file SHA256 BYTES PATH PACKAGE (- for the suite's own), link PATH TARGET"
	cat "$work/contents"
	echo "bytes $bytes"
	echo "kit-hash $kit_hash"
} >"$k/MANIFEST"

# ---------------------------------------------------------------- archive

find "$k" -exec touch -h -d "@$sde" {} +
(cd "$work" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$sde" --format=ustar \
	-cf - kvmqual-kit) | gzip -9n >"$work/kit.tar.gz" || die "cannot pack the kit"
size=$(stat -c %s "$work/kit.tar.gz")
if [ "$size" -gt "$max_bytes" ]; then
	warn "its largest files (bytes unpacked, path, package):"
	awk '$1 == "file" { print $3, $4, $5 }' "$work/contents" | sort -rn | head -n 12 >&2
	die "the kit is $size bytes compressed, more than KIT_MAX_BYTES ($max_bytes)"
fi
cp "$k/MANIFEST" "$out/kvmqual-kit-$arch-$version.manifest"
mv -f "$work/kit.tar.gz" "$tarball"
echo "$stamp" >"$tarball.stamp"
info "built $tarball: $size bytes compressed, $bytes unpacked, kit hash $kit_hash"
