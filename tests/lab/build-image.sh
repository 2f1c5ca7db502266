#!/bin/sh
# build-image.sh OUTDIR
#
# Builds the boot image of the emulated ARM64 lab (see tests/lab/README.md):
#   OUTDIR/vmlinuz            Debian 12 arm64 kernel (uncompressed Image)
#   OUTDIR/initramfs.cpio.gz  static busybox, /init, and LAB_EXTRA_FILES in /bin
#   OUTDIR/kernel-version     "<package> <version>" of the kernel used
#
# The Debian arm64 packages are fetched with `apt-get download` into
# OUTDIR/cache/ and re-used from there, so a second run works offline.
# If nothing changed (packages, this script, the extra files) the image is
# not rebuilt.
#
# Environment:
#   LAB_EXTRA_FILES  space-separated host paths copied to /bin/ in the
#                    initramfs (e.g. build/aarch64/probe)
set -eu

prog=build-image.sh
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
warn() { printf '%s: warning: %s\n' "$prog" "$*" >&2; }
info() { printf '%s: %s\n' "$prog" "$*" >&2; }

[ $# -eq 1 ] || { echo "usage: $prog OUTDIR" >&2; exit 2; }
outdir=$1

for tool in apt-get apt-cache dpkg-deb cpio gzip tar sha256sum flock; do
	command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found"
done

mkdir -p "$outdir/cache" || die "cannot create $outdir/cache"
outdir=$(cd "$outdir" && pwd)
cache=$outdir/cache
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# Serialise concurrent builds of the same OUTDIR (run.sh calls us).
exec 9>"$outdir/.lock"
flock 9 || die "cannot lock $outdir/.lock"

# ---------------------------------------------------------------- packages

# candidate_version PKG: the version apt would download, or nothing.
candidate_version() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '^(none)$' || true
}

# cached_deb PATTERN: newest cached .deb (arm64) of the packages whose name
# matches the shell pattern PATTERN, or nothing.
cached_deb() {
	for f in "$cache"/*_arm64.deb; do
		[ -f "$f" ] || continue
		# shellcheck disable=SC2254 # $1 is a pattern on purpose
		case ${f##*/} in
		$1_*_arm64.deb) printf '%s\n' "$f" ;;
		esac
	done | sort -V | tail -n 1
}

# fetch PKG: print the path of a cached .deb for PKG:arm64, downloading it
# when apt knows a candidate that is not in the cache yet.
fetch() {
	pkg=$1
	ver=$(candidate_version "$pkg:arm64")
	if [ -n "$ver" ]; then
		# apt-get download writes ':' of an epoch as %3a
		want=$cache/${pkg}_$(printf '%s' "$ver" | sed 's/:/%3a/')_arm64.deb
		if [ ! -f "$want" ]; then
			info "downloading $pkg:arm64 $ver"
			if ! (cd "$cache" && apt-get -q -o APT::Sandbox::User=root \
				download "$pkg:arm64=$ver" >&2); then
				warn "download of $pkg:arm64 $ver failed"
			fi
		fi
		if [ -f "$want" ]; then
			printf '%s\n' "$want"
			return 0
		fi
	fi
	have=$(cached_deb "$pkg")
	[ -n "$have" ] || die "$pkg:arm64 is neither downloadable (is 'dpkg --add-architecture arm64' + 'apt-get update' done?) nor in $cache"
	[ -n "$ver" ] && warn "using cached $(basename "$have") instead of $ver"
	printf '%s\n' "$have"
}

# Asking apt takes a few seconds, so the answer is remembered together with
# a signature of apt's package lists, and re-used while they do not change.
lists=$(apt-config shell L Dir::State::lists/d 2>/dev/null | sed -n "s/^L='\(.*\)'$/\1/p")
listsig=$(find "${lists:-/var/lib/apt/lists/}" -maxdepth 1 -type f -printf '%f %s %T@\n' 2>/dev/null |
	LC_ALL=C sort | sha256sum | cut -d' ' -f1)
kdeb=''
bdeb=''
if [ -f "$cache/.resolved" ]; then
	read -r sig k b <"$cache/.resolved" || true
	if [ "${sig:-}" = "$listsig" ] && [ -f "$cache/${k:-none}" ] && [ -f "$cache/${b:-none}" ]; then
		kdeb=$cache/$k bdeb=$cache/$b
		kpkg=${k%%_*}
	fi
fi
if [ -z "$kdeb" ]; then
	# The kernel: linux-image-arm64 depends on linux-image-<abi>-arm64 (signed);
	# the same kernel unsigned is linux-image-<abi>-arm64-unsigned. Prefer it.
	kpkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
		sed -n 's/^ *Depends: *\(linux-image-[0-9][^:]*-arm64\)\(:arm64\)\{0,1\}$/\1/p' | head -n 1)
	if [ -n "$kpkg" ]; then
		if [ -n "$(candidate_version "$kpkg-unsigned:arm64")" ]; then
			kpkg=$kpkg-unsigned
		fi
	else
		# apt lists unavailable: fall back to whatever kernel is cached.
		kdeb=$(cached_deb 'linux-image-*-arm64-unsigned')
		[ -n "$kdeb" ] || kdeb=$(cached_deb 'linux-image-*-arm64')
		[ -n "$kdeb" ] || die "cannot resolve linux-image-arm64:arm64 with apt-cache and no kernel .deb in $cache"
		kpkg=$(basename "$kdeb" | sed 's/_.*//')
		warn "apt-cache cannot resolve linux-image-arm64:arm64; using cached $kpkg"
	fi
	kdeb=$(fetch "$kpkg")
	bdeb=$(fetch busybox-static)
	printf '%s %s %s\n' "$listsig" "$(basename "$kdeb")" "$(basename "$bdeb")" >"$cache/.resolved"
fi

# ---------------------------------------------------------------- stamp

extra=${LAB_EXTRA_FILES:-}
for f in $extra; do
	[ -f "$f" ] || die "LAB_EXTRA_FILES: '$f' is not a file"
done
stamp=$(
	{
		printf 'kernel %s\nbusybox %s\n' "$(basename "$kdeb")" "$(basename "$bdeb")"
		sha256sum <"$self"
		for f in $extra; do
			printf 'extra %s %s\n' "$(basename "$f")" "$(sha256sum <"$f")"
		done
	} | sha256sum | cut -d' ' -f1
)

if [ -f "$outdir/vmlinuz" ] && [ -f "$outdir/initramfs.cpio.gz" ] &&
	[ -f "$outdir/.stamp" ] && [ "$(cat "$outdir/.stamp")" = "$stamp" ]; then
	info "image in $outdir is up to date"
	exit 0
fi
rm -f "$outdir/.stamp"

work=$(mktemp -d "$outdir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# ---------------------------------------------------------------- kernel

info "extracting kernel from $(basename "$kdeb")"
dpkg-deb --fsys-tarfile "$kdeb" >"$work/kernel.tar" || die "cannot read $kdeb"
mkdir "$work/k"
tar -xf "$work/kernel.tar" -C "$work/k" --wildcards './boot/vmlinuz-*' './boot/config-*' ||
	die "no /boot/vmlinuz-* or /boot/config-* in $kdeb"
# The modules behind /dev/vhost-net, /dev/vhost-vsock, /dev/net/tun and
# /dev/vfio/vfio, so that a lab host offers what a real KVM host does.
# Loaded by /init in this order (their dependency order in modules.dep).
lab_modules="tun tap vhost_iotlb vhost vhost_net vsock vmw_vsock_virtio_transport_common vhost_vsock vfio vfio_iommu_type1"
for m in $lab_modules; do
	tar -xf "$work/kernel.tar" -C "$work/k" --wildcards "./lib/modules/*/$m.ko" 2>/dev/null ||
		tar -xf "$work/kernel.tar" -C "$work/k" --wildcards "./lib/modules/*/$m.ko.xz" 2>/dev/null ||
		info "warning: module $m is not in $kdeb"
done
rm -f "$work/kernel.tar"
set -- "$work"/k/boot/vmlinuz-*
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	die "expected exactly one vmlinuz in $kdeb"
fi
cp "$1" "$work/vmlinuz"
kver=$(dpkg-deb -f "$kdeb" Version) || die "cannot read version of $kdeb"

# ---------------------------------------------------------------- initramfs

root=$work/root
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/out" \
	"$root/etc" "$root/root" "$root/run" "$root/mnt"
dpkg-deb --fsys-tarfile "$bdeb" | tar -xf - -C "$work" ./bin/busybox ||
	die "no /bin/busybox in $bdeb"
mv "$work/bin/busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
# The aarch64 busybox cannot run on this host to list its applets, so the
# symlinks for every applet are made by /init (busybox --install -s); the
# kernel needs /bin/sh for the #! line of /init before that.
ln -s busybox "$root/bin/sh"
# The kernel's configuration, where the probe looks for it on a Debian host
# (Debian's kernels have no /proc/config.gz).
mkdir -p "$root/boot"
cp "$work"/k/boot/config-* "$root/boot/"
mkdir -p "$root/lib/modules"
find "$work/k/lib/modules" -name '*.ko*' -exec cp {} "$root/lib/modules/" \; 2>/dev/null || true
printf '%s\n' $lab_modules >"$root/lib/modules/order"

cat >"$root/init" <<'EOF'
#!/bin/sh
# /init of the kvmqual emulated ARM64 lab (generated by tests/lab/build-image.sh)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox mount -t proc proc /proc
# busybox finds itself through /proc/self/exe, so this comes after /proc.
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
mount -t tmpfs tmpfs /tmp
mkdir -p /out /dev/pts
mount -t devpts devpts /dev/pts 2>/dev/null || true
hostname lab
while read -r m; do
	[ -f "/lib/modules/$m.ko" ] && insmod "/lib/modules/$m.ko" 2>/dev/null
done </lib/modules/order

echo "@@LAB-RUN@@"
rc=0
if [ -f /lab-cmd.sh ]; then
	(cd / && exec /bin/sh /lab-cmd.sh) </dev/null
	rc=$?
fi
echo "@@LAB-CMD-EXIT rc=$rc@@"

# Keep kernel messages off the console while the frames are printed (the
# ring buffer, hence dmesg, is not affected).
echo 1 2>/dev/null >/proc/sys/kernel/printk || true
for f in /out/* /out/.[!.]* /out/..?*; do
	[ -f "$f" ] || continue
	n=${f#/out/}
	echo "@@LAB-BEGIN $n@@"
	base64 "$f"
	echo "@@LAB-END $n@@"
done
echo "@@LAB-DONE rc=$rc@@"
sync
poweroff -f
# poweroff should not return; if it does, make the kernel panic so that
# panic=-1 and QEMU's -no-reboot end the run.
exit "$rc"
EOF
chmod 755 "$root/init"

for f in $extra; do
	cp "$f" "$root/bin/$(basename "$f")" || die "cannot copy '$f'"
	chmod 755 "$root/bin/$(basename "$f")"
done

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0) | gzip -6n >"$work/initramfs.cpio.gz" ||
	die "cannot create initramfs"

mv -f "$work/vmlinuz" "$outdir/vmlinuz"
mv -f "$work/initramfs.cpio.gz" "$outdir/initramfs.cpio.gz"
printf '%s %s\n' "$kpkg" "$kver" >"$outdir/kernel-version"
printf '%s\n' "$stamp" >"$outdir/.stamp"
info "built $outdir/vmlinuz and $outdir/initramfs.cpio.gz ($kpkg $kver)"
