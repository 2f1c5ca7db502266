#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# guest-image/build.sh: builds the kvmqual benchmark guest (kernel + initramfs)
# for one guest architecture from pinned Debian packages. See README.md.
#
#   build.sh --arch aarch64|x86_64 --out DIR [--agent PATH] [--extra PATH...]
#            [--floor] [--compress gzip|lz4|zstd|xz|none] [--update-pins]
#            [--cache DIR] [--tool NAME=PATH]
#   build.sh --arch aarch64|x86_64 --update-pins      (only rewrite the lock)
#
# Writes DIR/vmlinuz, DIR/initramfs.cpio.<ext>, DIR/manifest.json and
# DIR/contents.txt. Nothing is rebuilt when the lock file, the inputs and
# these scripts are unchanged.
set -eEuo pipefail
umask 022
export LC_ALL=C

prog=build.sh
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
trap 'die "unexpected failure (status $?) at line $LINENO: $BASH_COMMAND"' ERR

usage() {
	cat >&2 <<'EOF'
usage: guest-image/build.sh --arch aarch64|x86_64 --out DIR [options]
       guest-image/build.sh --arch aarch64|x86_64 --update-pins [--out DIR ...]
options:
  --agent PATH       the guest agent, installed as /init (default: a busybox
                     script that loads the modules, prints KVMQUAL-READY and
                     powers off)
  --extra PATH...    files copied to /usr/bin/ (repeatable; their shared
                     libraries are added like the tools')
  --floor            the boot-time floor image: same kernel, bare busybox,
                     /init prints KVMQUAL-FLOOR and powers off at once
  --compress C       initramfs compression: gzip lz4 zstd xz none
                     (default: lz4, the fastest to boot under TCG)
  --update-pins      resolve apt's current candidates and rewrite
                     guest-image/pins/ARCH.lock, then build if --out is given
  --cache DIR        .deb cache (default: <repo>/.cache/guest-image/ARCH)
  --tool NAME=PATH   the tool NAME (sysbench, fio, iperf3) is PATH, a binary
                     built for the guest (make builds fio this way: see
                     scripts/build-fio.sh), instead of its Debian package's;
                     its libraries still come from the pinned packages
environment: SOURCE_DATE_EPOCH (mtime of every file in the initramfs, default 0)
EOF
	exit 2
}

# ---------------------------------------------------------------- options

arch='' out='' agent='' floor=0 update_pins=0 compress=lz4 cache=''
extras=()
declare -A built_tool=()
while [ $# -gt 0 ]; do
	case $1 in
	--arch) [ $# -ge 2 ] || usage; arch_vars "$2"; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--agent) [ $# -ge 2 ] || usage; agent=$2; shift 2 ;;
	--extra)
		shift
		if [ $# -eq 0 ] || [ "${1#--}" != "$1" ]; then die "--extra needs at least one PATH"; fi
		while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do
			extras+=("$1")
			shift
		done
		;;
	--floor) floor=1; shift ;;
	--compress) [ $# -ge 2 ] || usage; compress=$2; shift 2 ;;
	--update-pins) update_pins=1; shift ;;
	--cache) [ $# -ge 2 ] || usage; cache=$2; shift 2 ;;
	--tool)
		[ $# -ge 2 ] || usage
		case $2 in sysbench=?* | fio=?* | iperf3=?*) ;; *) die "--tool takes sysbench=PATH, fio=PATH or iperf3=PATH, not '$2'" ;; esac
		[ -f "${2#*=}" ] || die "--tool: '${2#*=}' is not a file"
		built_tool[${2%%=*}]=${2#*=}
		shift 2
		;;
	-h | --help) usage ;;
	*) printf '%s: unknown argument "%s"\n' "$prog" "$1" >&2; usage ;;
	esac
done
[ -n "$arch" ] || { printf '%s: --arch is required\n' "$prog" >&2; usage; }
[ -n "$out" ] || [ "$update_pins" = 1 ] || { printf '%s: --out is required\n' "$prog" >&2; usage; }

case $compress in
gzip) compress_ext=.gz compress_rd=CONFIG_RD_GZIP compress_tool=gzip ;;
lz4) compress_ext=.lz4 compress_rd=CONFIG_RD_LZ4 compress_tool=lz4 ;;
zstd) compress_ext=.zst compress_rd=CONFIG_RD_ZSTD compress_tool=zstd ;;
xz) compress_ext=.xz compress_rd=CONFIG_RD_XZ compress_tool=xz ;;
none) compress_ext='' compress_rd='' compress_tool=cat ;;
*) die "--compress: unknown compression '$compress' (want gzip lz4 zstd xz none)" ;;
esac

need dpkg-deb readelf cpio sha256sum flock timeout sort find touch od dd "$compress_tool"
# With the agent, the tools live on a read-only squashfs disk (see below).
[ -z "$agent" ] || [ "$floor" = 1 ] || need mksquashfs
[ "$arch" != x86_64 ] || need xz
if [ -n "$agent" ]; then
	[ -f "$agent" ] || die "--agent: '$agent' is not a file"
	[ "$floor" = 0 ] || die "--agent and --floor do not go together (the floor image has no agent)"
fi
for f in ${extras[@]+"${extras[@]}"}; do
	[ -f "$f" ] || die "--extra: '$f' is not a file"
	case ${f##*/} in
	sysbench | fio | iperf3 | sockperf | stress-ng | busybox) die "--extra: '$f' would replace the image's own /usr/bin/${f##*/}" ;;
	esac
done

sde=${SOURCE_DATE_EPOCH:-0}
case $sde in '' | *[!0-9]*) die "SOURCE_DATE_EPOCH must be a number of seconds, not '$sde'" ;; esac

lock=$here/pins/$arch.lock
cache=${cache:-$repo/.cache/guest-image/$arch}
debs=$cache/debs
mkdir -p "$debs" || die "cannot create the package cache $debs"
# One build per cache at a time: downloads and the lock file are shared.
exec 8>"$cache/.lock"
flock -w 1800 8 || die "another build has held $cache/.lock for 30 minutes: giving up"

# The tools of the benchmark image, and where their binaries are.
# sockperf (request/response latency) and stress-ng (CPU stressors) are the
# measurements of issue 17; the field kit carries whatever is pinned here.
tools=(sysbench fio iperf3 sockperf stress-ng)
tool_path() { printf 'usr/bin/%s' "$1"; }

# Kernel modules the guest needs, each with its modules.dep dependencies;
# the ones built into the kernel are left out.
want_modules="virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev virtio_mmio
	virtio_blk failover net_failover virtio_net virtio_console virtio_rng
	vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport squashfs
	virtio_balloon"

# ---------------------------------------------------------------- packages

# deb_path NAME VERSION: the cached .deb of NAME=VERSION, or nothing.
deb_path() {
	local v=${2//:/%3a} a
	for a in "$deb_arch" all; do
		if [ -f "$debs/${1}_${v}_$a.deb" ]; then
			printf '%s\n' "$debs/${1}_${v}_$a.deb"
			return 0
		fi
	done
	return 1
}

# download NAME=VERSION...: apt-get download into the cache (through a
# temporary directory, so that an interrupted download leaves nothing).
download() {
	local tmp args=() nv rc=0
	for nv in "$@"; do args+=("${nv%%=*}:$deb_arch=${nv#*=}"); done
	need apt-get
	tmp=$(mktemp -d "$debs/.download.XXXXXX")
	info "downloading ${args[*]}"
	# apt retries and times out by itself; timeout(1) is the last resort.
	(cd "$tmp" && timeout -k 10 1200 apt-get -q -o APT::Sandbox::User=root \
		-o Acquire::Retries=2 -o Acquire::http::Timeout=60 download "${args[@]}") >"$tmp/.log" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		sed 's/^/  apt-get: /' "$tmp/.log" >&2
		rm -rf "$tmp"
		return 1
	fi
	rm -f "$tmp/.log"
	mv -f "$tmp"/*.deb "$debs/"
	rmdir "$tmp"
}

# fetch NAME VERSION: sets fetched to the path of the cached .deb,
# downloading it first when it is not in the cache.
fetch() {
	if fetched=$(deb_path "$1" "$2"); then
		return 0
	fi
	if ! download "$1=$2"; then
		die "$1:$deb_arch=$2 (pinned in ${lock#"$repo"/}) is neither in the cache $debs nor downloadable.
  If Debian no longer has this version, re-pin: guest-image/build.sh --arch $arch --update-pins
  If apt's lists are missing or old: apt-get update (and dpkg --add-architecture $deb_arch)"
	fi
	fetched=$(deb_path "$1" "$2") || die "apt-get download of $1:$deb_arch=$2 left no .deb named like ${1}_${2//:/%3a}_$deb_arch.deb in $debs"
}

# candidates NAME...: "name version" for each NAME that apt has a candidate
# for, as a $deb_arch package.
candidates() {
	local args=() n
	for n in "$@"; do args+=("$n:$deb_arch"); done
	apt-cache policy "${args[@]}" 2>/dev/null | awk -v a=":$deb_arch" '
		/^[^ ]/ { name = $0; sub(/:$/, "", name); if (substr(name, length(name) - length(a) + 1) == a) name = substr(name, 1, length(name) - length(a)) }
		/^  Candidate: / && $2 != "(none)" { print name, $2 }'
}

# deps_of NAME...: the real packages NAME:$deb_arch... Depends or
# Pre-Depends on, every alternative of a group in apt's order of preference.
deps_of() {
	local args=() n
	for n in "$@"; do args+=("$n:$deb_arch"); done
	apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances "${args[@]}" 2>/dev/null | awk -v a=":$deb_arch" '
		/^ *\|?(Depends|PreDepends): [^<]/ {
			n = $2; if (substr(n, length(n) - length(a) + 1) == a) n = substr(n, 1, length(n) - length(a))
			print n }'
}

# ---------------------------------------------------------------- staging

# Every package is unpacked into $stage/<name>/; staged lists them in the
# order in which library look-ups search them.
staged=()
declare -A pin_version=() is_staged=()

stage_pkg() { # NAME VERSION DEB
	mkdir -p "$stage/$1"
	dpkg-deb -x "$3" "$stage/$1" || die "cannot unpack $3"
	staged+=("$1")
	is_staged[$1]=1
	pin_version[$1]=$2
}

# The inputs that are not packages (agent, --extra files) live in the
# pseudo-package "_input", so that their libraries are found the same way.
stage_inputs() {
	local f
	mkdir -p "$stage/_input/usr/bin"
	if [ -n "$agent" ]; then cp "$agent" "$stage/_input/init"; chmod 755 "$stage/_input/init"; fi
	for f in ${extras[@]+"${extras[@]}"}; do
		cp "$f" "$stage/_input/usr/bin/${f##*/}"
		chmod 755 "$stage/_input/usr/bin/${f##*/}"
	done
	# Built tools shadow their packages' binaries: _input is searched first.
	for t in "${!built_tool[@]}"; do
		cp "${built_tool[$t]}" "$stage/_input/$(tool_path "$t")"
		chmod 755 "$stage/_input/$(tool_path "$t")"
	done
	staged=(_input ${staged[@]+"${staged[@]}"})
}

# ---------------------------------------------------------------- ELF closure

# normalize PATH: PATH (relative to /) without '.', '..' and '//'.
normalize() {
	local part parts=() IFS=/
	for part in $1; do
		case $part in
		'' | .) ;;
		..) if [ ${#parts[@]} -gt 0 ]; then unset 'parts[${#parts[@]}-1]'; fi ;;
		*) parts+=("$part") ;;
		esac
	done
	printf '%s' "${parts[*]}"
}

# find_pkg PATH: sets found_pkg to the first staged package that has PATH.
find_pkg() {
	local p
	for p in "${staged[@]}"; do
		if [ -e "$stage/$p/$1" ] || [ -L "$stage/$p/$1" ]; then
			found_pkg=$p
			return 0
		fi
	done
	return 1
}

# add_path PATH: puts PATH into the image, following symbolic links (each
# link and its target are added); sets real_path to the file finally reached.
add_path() {
	local path=$1 hops target
	for ((hops = 0; hops < 40; hops++)); do
		find_pkg "$path" || return 1
		file_pkg[$path]=$found_pkg
		if [ -L "$stage/$found_pkg/$path" ]; then
			target=$(readlink "$stage/$found_pkg/$path")
			case $target in
			/*) path=$(normalize "$target") ;;
			*) path=$(normalize "${path%/*}/$target") ;;
			esac
			continue
		fi
		real_path=$path
		return 0
	done
	die "too many levels of symbolic links at /$1"
}

# elf_closure ROOT...: adds the image paths ROOT... and, recursively, the
# shared libraries in their DT_NEEDED entries and their program interpreter.
# Fills file_pkg (image path -> package), needs (object -> the objects it
# loads) and unresolved (what could not be found).
elf_closure() {
	local queue=() obj pkg line soname dirs d rp found interp
	declare -gA file_pkg=() needs=()
	declare -A done_obj=() soname_path=()
	unresolved=()
	for obj in "$@"; do
		add_path "$obj" || die "/$obj is in none of the packages"
		queue+=("$real_path")
	done
	while [ ${#queue[@]} -gt 0 ]; do
		obj=${queue[0]}
		queue=("${queue[@]:1}")
		[ -z "${done_obj[$obj]:-}" ] || continue
		done_obj[$obj]=1
		pkg=${file_pkg[$obj]}
		# Not an ELF file (a script given with --extra): nothing to follow.
		[ "$(head -c 4 "$stage/$pkg/$obj" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
		local sonames=() runpath=''
		interp=''
		while IFS= read -r line; do
			case $line in
			*'(NEEDED)'*'Shared library: ['*) soname=${line##*\[}; sonames+=("${soname%]}") ;;
			*'(RUNPATH)'*'runpath: ['* | *'(RPATH)'*'rpath: ['*) rp=${line##*\[}; runpath=${rp%]} ;;
			*'[Requesting program interpreter: '*) interp=${line##*: }; interp=${interp%]} ;;
			esac
		done < <(readelf -W -d -l "$stage/$pkg/$obj" 2>/dev/null)
		if [ -n "$interp" ]; then
			add_path "$(normalize "$interp")" || { unresolved+=("$interp (interpreter of /$obj)"); continue; }
			needs[$obj]+=" $real_path"
			queue+=("$real_path")
		fi
		for soname in ${sonames[@]+"${sonames[@]}"}; do
			dirs=''
			if [ -n "$runpath" ]; then
				rp=${runpath//\$\{ORIGIN\}/\/${obj%/*}}
				rp=${rp//\$ORIGIN/\/${obj%/*}}
				dirs=${rp//:/ }
			fi
			found=${soname_path[$soname]:-}
			if [ -z "$found" ]; then
				for d in $dirs "lib/$triplet" "usr/lib/$triplet" lib usr/lib; do
					d=$(normalize "$d")
					if find_pkg "$d/$soname"; then
						add_path "$d/$soname"
						found=$real_path
						soname_path[$soname]=$found
						break
					fi
				done
			fi
			if [ -z "$found" ]; then
				unresolved+=("$soname (needed by /$obj)")
				continue
			fi
			needs[$obj]+=" $found"
			queue+=("$found")
		done
	done
}

# closure_bytes ROOT: bytes of ROOT and every file it loads (links not counted).
closure_bytes() {
	local todo=("$1") o n total=0
	declare -A seen=()
	while [ ${#todo[@]} -gt 0 ]; do
		o=${todo[0]}
		todo=("${todo[@]:1}")
		[ -z "${seen[$o]:-}" ] || continue
		seen[$o]=1
		total=$((total + $(stat -c %s "$stage/${file_pkg[$o]}/$o")))
		for n in ${needs[$o]:-}; do todo+=("$n"); done
	done
	printf '%s' "$total"
}

# ---------------------------------------------------------------- pins

# resolve_kernel: sets kpkg to the linux-image-<abi>-<flavour> package that
# the metapackage linux-image-<flavour> depends on, its -unsigned twin if any.
resolve_kernel() {
	local k
	k=$(deps_of "linux-image-$kflavour" | grep -E "^linux-image-[0-9].*-$kflavour\$" | head -n 1) || true
	[ -n "$k" ] || die "apt-cache cannot resolve linux-image-$kflavour:$deb_arch (run: dpkg --add-architecture $deb_arch; apt-get update)"
	if [ -n "$(candidates "$k-unsigned")" ]; then k=$k-unsigned; fi
	kpkg=$k
}

# update_pins: resolves the packages from apt's current candidates and
# rewrites the lock file with the ones whose files the image really uses.
update_pins() {
	need apt-get apt-cache
	local kpkg n v todo=() new=() expand=() p deb roots=() t
	declare -A expanded=() used=()
	info "resolving the current candidates of Debian's packages for $deb_arch"
	resolve_kernel
	declare -gA resolved=()
	while read -r n v; do resolved[$n]=$v; done < <(candidates "$kpkg" busybox-static libc6 "${tools[@]}")
	for n in "$kpkg" busybox-static libc6 "${tools[@]}"; do
		[ -n "${resolved[$n]:-}" ] || die "apt has no candidate for $n:$deb_arch (run: dpkg --add-architecture $deb_arch; apt-get update)"
	done
	# Library packages are found lazily: the Depends of every package that
	# provides a file of the image are unpacked, until every DT_NEEDED entry
	# is found. Packages nothing is taken from are not pinned.
	todo=(libc6 "${tools[@]}")
	for _ in $(seq 1 30); do
		new=() expand=()
		for p in "${todo[@]}"; do
			[ -z "${is_staged[$p]:-}" ] && new+=("$p")
			[ -n "${expanded[$p]:-}" ] && continue
			expanded[$p]=1
			expand+=("$p")
		done
		if [ ${#expand[@]} -gt 0 ]; then
			while read -r n; do
				[ -z "${is_staged[$n]:-}" ] && new+=("$n")
			done < <(deps_of "${expand[@]}")
		fi
		# shellcheck disable=SC2046 # package names have no blanks
		set -- $(printf '%s\n' ${new[@]+"${new[@]}"} | awk '!seen[$0]++')
		if [ $# -gt 0 ]; then
			local dl=()
			while read -r n v; do
				resolved[$n]=$v
				deb_path "$n" "$v" >/dev/null || dl+=("$n=$v")
			done < <(candidates "$@")
			if [ ${#dl[@]} -gt 0 ]; then download "${dl[@]}" || die "apt-get download failed (see above)"; fi
			for n in "$@"; do
				if [ -z "${resolved[$n]:-}" ]; then
					info "skipping $n: no $deb_arch candidate (an Architecture: all package has no libraries)"
					is_staged[$n]=skipped
					continue
				fi
				deb=$(deb_path "$n" "${resolved[$n]}") || die "no .deb for $n ${resolved[$n]} after downloading"
				stage_pkg "$n" "${resolved[$n]}" "$deb"
			done
		fi
		[ -n "${is_staged[_input]:-}" ] || { stage_inputs; is_staged[_input]=1; }
		roots=()
		for t in "${tools[@]}"; do roots+=("$(tool_path "$t")"); done
		elf_closure "${roots[@]}"
		todo=()
		for p in "${file_pkg[@]}"; do
			[ "$p" != _input ] || continue
			if [ -z "${used[$p]:-}" ]; then used[$p]=1; todo+=("$p"); fi
		done
		if [ ${#unresolved[@]} -eq 0 ]; then break; fi
		if [ ${#todo[@]} -eq 0 ]; then
			printf '  %s\n' "${unresolved[@]}" >&2
			die "these libraries are in none of the packages the tools depend on"
		fi
	done
	[ ${#unresolved[@]} -eq 0 ] || die "library resolution did not converge"

	mkdir -p "$here/pins"
	{
		printf '# Pinned Debian %s packages of the kvmqual guest image (%s).\n' "$deb_arch" "$arch"
		printf '# Written by guest-image/build.sh --update-pins; one "package version" a line.\n'
		for n in "$kpkg" busybox-static "${!used[@]}"; do
			printf '%s %s\n' "$n" "${resolved[$n]:-${pin_version[$n]}}"
		done | sort -u
	} >"$lock.tmp"
	if [ -f "$lock" ] && cmp -s "$lock" "$lock.tmp"; then
		rm -f "$lock.tmp"
		info "${lock#"$repo"/} is unchanged"
	else
		mv -f "$lock.tmp" "$lock"
		info "wrote ${lock#"$repo"/}"
	fi
}

# ---------------------------------------------------------------- main

if [ "$update_pins" = 1 ]; then
	stage=$(mktemp -d "${TMPDIR:-/tmp}/kvmqual-pins.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	update_pins
	rm -rf "$stage"
	trap - EXIT
	staged=() is_staged=() pin_version=()
	[ -n "$out" ] || exit 0
fi

[ -f "$lock" ] || die "no lock file ${lock#"$repo"/}: run guest-image/build.sh --arch $arch --update-pins"

# The lock's packages: the kernel, busybox, the tools and their libraries.
declare -A lock_version=()
kpkg=''
while read -r n v rest; do
	case $n in '' | '#'*) continue ;; esac
	if [ -z "$v" ] || [ -n "$rest" ]; then die "${lock#"$repo"/}: bad line '$n $v $rest' (want 'package version')"; fi
	lock_version[$n]=$v
	case $n in
	linux-image-*)
		[ -z "$kpkg" ] || die "${lock#"$repo"/} pins two kernels: $kpkg and $n"
		kpkg=$n
		;;
	esac
done <"$lock"
[ -n "$kpkg" ] || die "${lock#"$repo"/} pins no linux-image-* package"
[ -n "${lock_version[busybox-static]:-}" ] || die "${lock#"$repo"/} pins no busybox-static"
if [ "$floor" = 1 ]; then
	image_pkgs="$kpkg busybox-static"
else
	for t in "${tools[@]}"; do
		[ -n "${built_tool[$t]:-}" ] || [ -n "${lock_version[$t]:-}" ] || die "${lock#"$repo"/} pins no $t: run --update-pins"
	done
	image_pkgs=$(printf '%s\n' "${!lock_version[@]}" | sort | tr '\n' ' ')
fi

# ---------------------------------------------------------------- up to date?

sha_of() { sha256sum <"$1" | cut -d' ' -f1; }
stamp=$(
	{
		printf 'arch %s floor %s compress %s sde %s\n' "$arch" "$floor" "$compress" "$sde"
		printf 'packages %s\n' "$image_pkgs"
		cat "$lock"
		for f in "$here/build.sh" "$here/lib.sh" "$here/busybox-applets.txt"; do
			printf 'script %s %s\n' "${f##*/}" "$(sha_of "$f")"
		done
		[ -z "$agent" ] || printf 'agent %s\n' "$(sha_of "$agent")"
		for f in ${extras[@]+"${extras[@]}"}; do
			printf 'extra %s %s\n' "${f##*/}" "$(sha_of "$f")"
		done
		for t in $(printf '%s\n' "${!built_tool[@]}" | sort); do
			printf 'tool %s %s\n' "$t" "$(sha_of "${built_tool[$t]}")"
		done
	} | sha256sum | cut -d' ' -f1
)
initrd_name=initramfs.cpio$compress_ext
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)
exec 9>"$out/.lock"
flock -w 1800 9 || die "another build has held $out/.lock for 30 minutes: giving up"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] &&
	[ -f "$out/vmlinuz" ] && [ -f "$out/$initrd_name" ] && [ -f "$out/manifest.json" ]; then
	info "$out is up to date"
	exit 0
fi
rm -f "$out/.stamp"

work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
stage=$work/pkgs
root=$work/root
mkdir -p "$stage" "$root"

# ---------------------------------------------------------------- unpack

declare -A deb_of=()
for n in $image_pkgs; do
	fetch "$n" "${lock_version[$n]}"
	deb_of[$n]=$fetched
done
info "unpacking $(echo "$image_pkgs" | wc -w) packages"
for n in $image_pkgs; do
	stage_pkg "$n" "${lock_version[$n]}" "${deb_of[$n]}"
done

# ---------------------------------------------------------------- kernel

kroot=$stage/$kpkg
set -- "$kroot"/boot/vmlinuz-*
if [ $# -ne 1 ] || [ ! -f "$1" ]; then die "expected exactly one /boot/vmlinuz-* in $kpkg"; fi
krel=${1##*/vmlinuz-}
cp "$1" "$work/vmlinuz"
kconfig=$kroot/boot/config-$krel
[ -f "$kconfig" ] || die "no /boot/config-$krel in $kpkg"
kmods=$kroot/lib/modules/$krel
[ -f "$kmods/modules.order" ] || die "no modules.order in $kpkg"
if [ -n "$compress_rd" ] && ! grep -qx "$compress_rd=y" "$kconfig"; then
	die "kernel $krel cannot unpack a $compress initramfs ($compress_rd is not y): choose another --compress"
fi
# The x86 kernel is a bzImage already; Debian's arm64 vmlinuz is an Image
# (older releases gzip it: QEMU and most VMMs want it uncompressed).
if [ "$arch" = aarch64 ] && [ "$(head -c 2 "$work/vmlinuz" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
	gzip -dc <"$work/vmlinuz" >"$work/vmlinuz.raw" && mv -f "$work/vmlinuz.raw" "$work/vmlinuz"
fi

# x86_vmlinux BZIMAGE OUT: writes the vmlinux ELF inside BZIMAGE to OUT, for
# QEMU's PVH boot (-kernel vmlinux), which skips the BIOS and the kernel's
# decompression of itself: about 2 s less per boot under TCG. Fails when
# the payload is not xz (Debian's choice) or the kernel has no PVH entry.
x86_vmlinux() {
	local setup_sects poff plen start
	setup_sects=$(od -An -tu1 -j $((0x1f1)) -N 1 "$1" | tr -d ' ')
	[ "$setup_sects" != 0 ] || setup_sects=4
	read -r poff plen < <(od -An -tu4 -j $((0x248)) -N 8 "$1")
	start=$(((setup_sects + 1) * 512 + poff))
	dd if="$1" of="$2.payload" bs=64K iflag=skip_bytes,count_bytes skip="$start" count="$plen" status=none || return 1
	[ "$(od -An -tx1 -N 6 "$2.payload" | tr -d ' \n')" = fd377a585a00 ] || return 1
	xz -dc --single-stream <"$2.payload" >"$2" 2>/dev/null || return 1
	rm -f "$2.payload"
	# XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry point.
	readelf -n "$2" >"$2.notes" 2>/dev/null || return 1
	grep -q 'Xen.*(0x00000012)' "$2.notes" || return 1
	rm -f "$2.notes"
}
if [ "$arch" = x86_64 ]; then
	if ! x86_vmlinux "$work/vmlinuz" "$work/vmlinux"; then
		warn "cannot extract a PVH-bootable vmlinux from $kpkg's bzImage: DIR/vmlinux is left out (boots take the slower bzImage path)"
		rm -f "$work/vmlinux"
	fi
fi

modname() { local n=${1##*/}; n=${n%%.ko*}; printf '%s' "${n//-/_}"; }
declare -A mod_path=() mod_builtin=() mod_state=()
mod_order=() mod_skipped=()
while IFS= read -r p; do mod_path[$(modname "$p")]=$p; done <"$kmods/modules.order"
if [ -f "$kmods/modules.builtin" ]; then
	while IFS= read -r p; do mod_builtin[$(modname "$p")]=1; done <"$kmods/modules.builtin"
fi

# add_module NAME: copies NAME's .ko (uncompressed) into the image after the
# modules it depends on (the depends= of its .modinfo, which is what depmod
# writes into modules.dep), and appends it to mod_order.
add_module() {
	local n=${1//-/_} rel src dst deps d
	case ${mod_state[$n]:-} in
	loaded) return 0 ;;
	busy) die "module dependency loop at $n" ;;
	esac
	if [ -n "${mod_builtin[$n]:-}" ]; then
		mod_state[$n]=loaded
		mod_skipped+=("$n")
		return 0
	fi
	rel=${mod_path[$n]:-}
	[ -n "$rel" ] || die "module $n is neither built into kernel $krel nor one of its modules"
	mod_state[$n]=busy
	src=$kmods/$rel
	dst=$root/lib/modules/$krel/${rel%.ko*}.ko
	mkdir -p "${dst%/*}"
	case $rel in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc <"$src" >"$dst" ;;
	*.ko.zst) zstd -qdc <"$src" >"$dst" ;;
	*.ko.gz) gzip -dc <"$src" >"$dst" ;;
	*) die "module file $rel: unknown compression" ;;
	esac || die "cannot copy module $rel"
	deps=$(readelf -p .modinfo "$dst" 2>/dev/null | sed -n 's/.*\]  depends=//p')
	for d in ${deps//,/ }; do add_module "$d"; done
	mod_state[$n]=loaded
	mod_order+=("/lib/modules/$krel/${rel%.ko*}.ko")
}

mkdir -p "$root/lib/modules"
if [ "$floor" = 0 ]; then
	for m in $want_modules; do add_module "$m"; done
	printf '%s\n' "${mod_order[@]}" >"$root/lib/modules/kvmqual.order"
fi

# ---------------------------------------------------------------- userspace

bb=$stage/busybox-static/bin/busybox
[ -f "$bb" ] || die "no /bin/busybox in busybox-static"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/proc" \
	"$root/sys" "$root/dev" "$root/tmp" "$root/run" "$root/root" "$root/etc" "$root/mnt"
cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# elf_machine FILE: the ELF machine of FILE, or nothing for a non-ELF file.
elf_machine() { readelf -h "$1" 2>/dev/null | sed -n 's/^ *Machine: *//p' || true; }
case $arch in
aarch64) want_machine=AArch64 ;;
x86_64) want_machine='Advanced Micro Devices X86-64' ;;
esac
check_machine() { # FILE WHAT
	local m
	m=$(elf_machine "$1")
	[ -z "$m" ] || [ "$m" = "$want_machine" ] || die "$2 '$1' is built for $m, not for the $arch guest"
}
check_machine "$bb" busybox
[ -z "$agent" ] || check_machine "$agent" --agent
for f in ${extras[@]+"${extras[@]}"}; do check_machine "$f" --extra; done
for t in "${!built_tool[@]}"; do check_machine "${built_tool[$t]}" --tool; done

declare -A file_pkg=() needs=()
used_pkgs="$kpkg busybox-static"
if [ "$floor" = 0 ]; then
	stage_inputs
	roots=()
	for t in "${tools[@]}"; do roots+=("$(tool_path "$t")"); done
	[ -z "$agent" ] || roots+=(init)
	for f in ${extras[@]+"${extras[@]}"}; do roots+=("usr/bin/${f##*/}"); done
	elf_closure "${roots[@]}"
	if [ ${#unresolved[@]} -gt 0 ]; then
		printf '  %s\n' "${unresolved[@]}" >&2
		die "these libraries are in none of the pinned packages: ${lock#"$repo"/} is incomplete; run guest-image/build.sh --arch $arch --update-pins"
	fi
	for p in $(printf '%s\n' "${file_pkg[@]}" | sort -u); do
		[ "$p" = _input ] || used_pkgs="$used_pkgs $p"
	done
	for n in $image_pkgs; do
		case " $used_pkgs " in *" $n "*) ;; *) warn "nothing of pinned package $n is used (run --update-pins to drop it)" ;; esac
	done
	for p in "${!file_pkg[@]}"; do
		mkdir -p "$root/$(dirname "$p")"
		cp -a "$stage/${file_pkg[$p]}/$p" "$root/$p"
	done
fi

# Busybox applet links, made here since the aarch64 binary cannot run on the
# build host to install them: from `busybox --list-full` when it can run,
# else from busybox-applets.txt (the same list of Debian's busybox-static).
if [ "$floor" = 0 ]; then
	applets=$work/applets
	if [ "$arch" = "$(uname -m)" ] && "$root/bin/busybox" --list-full >"$applets" 2>/dev/null; then
		if ! cmp -s "$applets" "$here/busybox-applets.txt"; then
			warn "busybox --list-full differs from guest-image/busybox-applets.txt (used for other architectures): update it with: $root/bin/busybox --list-full > guest-image/busybox-applets.txt"
		fi
	else
		cp "$here/busybox-applets.txt" "$applets"
	fi
	while IFS= read -r a; do
		case $a in '' | '#'* | /* | *..*) continue ;; esac
		[ -e "$root/$a" ] || [ -L "$root/$a" ] && continue
		case $a in
		bin/*/* | sbin/*/* | usr/*/*/* | */../* | linuxrc) continue ;; # nothing busybox puts there
		bin/*) ln -s busybox "$root/$a" ;;
		sbin/*) ln -s ../bin/busybox "$root/$a" ;;
		usr/*/*) ln -s ../../bin/busybox "$root/$a" ;;
		*) warn "busybox applet path $a is not in bin, sbin, usr/bin or usr/sbin: no link" ;;
		esac
	done <"$applets"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
fi

# With the agent, the image is split in two: a small initramfs (the agent as
# /init, the modules) that the kernel unpacks before anything runs, and a
# read-only squashfs disk (tools.squashfs: busybox, the tools, their
# libraries) that the agent mounts and switches into once the modules are
# loaded.  Unpacking fio's 85 MB closure into RAM at every boot made the
# guest boot 0.6-0.9 s slower than the floor under TCG and kept 90 MB of
# its memory busy; from a disk, libraries are read when a tool first runs.
split=0
if [ -n "$agent" ] && [ "$floor" = 0 ]; then
	split=1
	troot=$work/tools-root
	mv "$root" "$troot"
	mkdir -p "$root/lib" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/newroot"
	mv "$troot/lib/modules" "$root/lib/modules"
	mkdir -p "$troot/lib/modules"
fi

# /init
if [ -n "$agent" ]; then
	cp "$agent" "$root/init"
elif [ "$floor" = 1 ]; then
	cat >"$root/init" <<'EOF'
#!/bin/sh
# Floor /init of the kvmqual guest (guest-image/build.sh --floor): the least a
# boot can do, to measure the kernel's own boot time.
/bin/busybox mount -t proc proc /proc
read -r up </proc/uptime
echo "KVMQUAL-FLOOR uptime=$up"
/bin/busybox poweroff -f
EOF
else
	cat >"$root/init" <<'EOF'
#!/bin/sh
# Stand-in /init of the kvmqual guest (guest-image/build.sh without --agent):
# loads the modules, prints the ready marker and powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
while read -r m; do
	insmod "$m" || echo "kvmqual-init: insmod $m failed"
done </lib/modules/kvmqual.order
read -r up </proc/uptime
echo "KVMQUAL-READY uptime=$up"
poweroff -f
EOF
fi
chmod 755 "$root/init"

# ---------------------------------------------------------------- initramfs

# Reproducible: fixed mtimes and owners, sorted names, no inode numbers.
find "$root" -exec touch -h -d "@$sde" {} +
(cd "$root" && find . -mindepth 1 -printf '%P\n' | sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) >"$work/initramfs.cpio" ||
	die "cpio failed"
raw_bytes=$(stat -c %s "$work/initramfs.cpio")
case $compress in
# The kernel reads lz4's legacy frame format only (-l) and xz with CRC32
# only; higher levels than these cost build time and gain little.
gzip) gzip -6n <"$work/initramfs.cpio" >"$work/$initrd_name" ;;
lz4) lz4 -l -9 -q <"$work/initramfs.cpio" >"$work/$initrd_name" ;;
zstd) zstd -10 -q -T1 <"$work/initramfs.cpio" >"$work/$initrd_name" ;;
xz) xz --check=crc32 -6 -T1 <"$work/initramfs.cpio" >"$work/$initrd_name" ;;
none) ;; # already $work/initramfs.cpio
esac || die "$compress failed"

tools_name=tools.squashfs
if [ "$split" = 1 ]; then
	# Reproducible like the initramfs: fixed times, owners, sorted input;
	# uncompressed, so the guest spends no CPU on decompression (TCG).
	find "$troot" -exec touch -h -d "@$sde" {} +
	mksquashfs "$troot" "$work/$tools_name" -noappend -quiet -no-progress -all-root \
		-mkfs-time "$sde" -all-time "$sde" -noI -noId -noD -noF -noX -no-xattrs >/dev/null ||
		die "mksquashfs failed"
fi

# ---------------------------------------------------------------- manifest

js() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
kernel_sha=$(sha_of "$work/vmlinuz")
initrd_sha=$(sha_of "$work/$initrd_name")
if [ "$split" = 1 ]; then
	tools_sha=$(sha_of "$work/$tools_name")
	image_hash=$(printf '%s\n%s\n%s\n' "$kernel_sha" "$initrd_sha" "$tools_sha" | sha256sum | cut -d' ' -f1)
else
	image_hash=$(printf '%s\n%s\n' "$kernel_sha" "$initrd_sha" | sha256sum | cut -d' ' -f1)
fi
{
	printf '{\n  "schema": "kvmqual.guest-image",\n  "schema_version": 1,\n'
	printf '  "arch": %s,\n  "image": %s,\n' "$(js "$arch")" "$(js "$([ "$floor" = 1 ] && echo floor || echo full)")"
	printf '  "kernel_release": %s,\n  "kernel_package": %s,\n' "$(js "$krel")" "$(js "$kpkg")"
	printf '  "init": %s,\n' "$(js "$([ -n "$agent" ] && echo agent || echo script)")"
	printf '  "packages": ['
	sep=''
	# shellcheck disable=SC2086 # a list of package names
	for n in $(printf '%s\n' $used_pkgs | sort -u); do
		d=${deb_of[$n]}
		printf '%s\n    {"name": %s, "version": %s, "arch": %s, "sha256": %s}' "$sep" "$(js "$n")" \
			"$(js "${lock_version[$n]}")" "$(js "$(dpkg-deb -f "$d" Architecture)")" "$(js "$(sha_of "$d")")"
		sep=,
	done
	printf '\n  ],\n'
	# Tools built by the suite (--tool), not taken from a package.
	printf '  "built_tools": ['
	sep=''
	for t in $(printf '%s\n' "${!built_tool[@]}" | sort); do
		printf '%s{"name": %s, "sha256": %s}' "$sep" "$(js "$t")" "$(js "$(sha_of "${built_tool[$t]}")")"
		sep=', '
	done
	printf '],\n  "modules": ['
	sep=''
	for m in ${mod_order[@]+"${mod_order[@]}"}; do printf '%s%s' "$sep" "$(js "$(modname "$m")")"; sep=', '; done
	printf '],\n  "modules_builtin": ['
	sep=''
	for m in ${mod_skipped[@]+"${mod_skipped[@]}"}; do printf '%s%s' "$sep" "$(js "$m")"; sep=', '; done
	printf '],\n  "files": {\n'
	printf '    "vmlinuz": {"path": "vmlinuz", "sha256": %s, "bytes": %s},\n' "$(js "$kernel_sha")" "$(stat -c %s "$work/vmlinuz")"
	if [ -f "$work/vmlinux" ]; then
		printf '    "vmlinux": {"path": "vmlinux", "boot": "pvh", "sha256": %s, "bytes": %s},\n' "$(js "$(sha_of "$work/vmlinux")")" "$(stat -c %s "$work/vmlinux")"
	fi
	printf '    "initramfs": {"path": %s, "compression": %s, "sha256": %s, "bytes": %s, "uncompressed_bytes": %s}' \
		"$(js "$initrd_name")" "$(js "$compress")" "$(js "$initrd_sha")" "$(stat -c %s "$work/$initrd_name")" "$raw_bytes"
	if [ "$split" = 1 ]; then
		printf ',\n    "tools": {"path": %s, "format": "squashfs", "sha256": %s, "bytes": %s}' \
			"$(js "$tools_name")" "$(js "$tools_sha")" "$(stat -c %s "$work/$tools_name")"
	fi
	printf '\n  },\n'
	if [ "$floor" = 0 ]; then
		printf '  "closure_bytes": {'
		sep=''
		for t in "${tools[@]}"; do
			printf '%s%s: %s' "$sep" "$(js "$t")" "$(closure_bytes "$(tool_path "$t")")"
			sep=', '
		done
		printf '},\n'
	fi
	printf '  "image_hash": %s,\n  "built_at": %s\n}\n' "$(js "$image_hash")" "$(js "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
} >"$work/manifest.json"

# contents.txt: every file of the image (initramfs, and the tools disk) with
# its size and package.
{
	(cd "$root" && find . -mindepth 1 \( -type f -o -type l \) -printf '%s\t/%P\n')
	[ "$split" = 0 ] || (cd "$troot" && find . -mindepth 1 \( -type f -o -type l \) -printf '%s\t/%P\n')
} | sort -k2 |
	while IFS="$(printf '\t')" read -r size path; do
		p=${file_pkg[${path#/}]:-}
		case $p in _input | '') p=- ;; esac
		case $path in /lib/modules/kvmqual.order) p=- ;; /lib/modules/*) p=$kpkg ;; /bin/busybox) p=busybox-static ;; esac
		printf '%10s  %-60s %s\n' "$size" "$path" "$p"
	done >"$work/contents.txt"

rm -f "$out/vmlinux" "$out/$tools_name"
for f in vmlinuz vmlinux "$initrd_name" "$tools_name" manifest.json contents.txt; do
	[ ! -f "$work/$f" ] || mv -f "$work/$f" "$out/$f"
done
# An image of another compression left in DIR would be ambiguous.
for f in "$out"/initramfs.cpio*; do
	[ "$f" = "$out/$initrd_name" ] || rm -f "$f"
done
printf '%s\n' "$stamp" >"$out/.stamp"
info "built $out ($arch, $([ "$floor" = 1 ] && echo floor || echo full), kernel $krel): initramfs $(stat -c %s "$out/$initrd_name") bytes $compress, $raw_bytes uncompressed; image_hash $image_hash"
