#!/bin/sh
# build-image.sh OUTDIR
#
# Builds the boot image of the emulated ARM64 lab (see tests/lab/README.md):
#   OUTDIR/vmlinuz            Debian 12 arm64 kernel (uncompressed Image)
#   OUTDIR/initramfs.cpio.gz  static busybox, /init, kernel modules, and
#                             LAB_EXTRA_FILES in /bin
#   OUTDIR/kernel-version     "<package> <version>" of the kernel used
#
# and, for the field kit's lab hosts (docs/lab.md): dropbear under
# /opt/lab-sshd (its own libraries there, none in the standard library
# paths: a kit must not lean on them), and /android, the root of the
# Android-like host (a static musl mksh as /system/bin/sh, a static toybox,
# /data/local/tmp; no /tmp, no glibc).
#
# The kernel and busybox are the ones pinned for the arm64 benchmark guest
# (guest-image/pins/aarch64.lock), taken from the guest image's .deb cache
# (.cache/guest-image/aarch64/debs) or downloaded into the lab's
# (.cache/lab/debs, LAB_DEB_CACHE) with `apt-get download`, so the lab is
# the same until the pins change. If nothing changed (the pins, this
# script, the extra files) the image is not rebuilt.
#
# Environment:
#   LAB_EXTRA_FILES  space-separated host paths copied to /bin/ in the
#                    initramfs (e.g. build/aarch64/probe)
#   LAB_KERNEL       "16k": the 16K-page kernel pinned in
#                    tests/lab/pins/aarch64.lock (the Pi 5-like host) instead
#                    of the benchmark guest's
set -eu

prog=build-image.sh
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
warn() { printf '%s: warning: %s\n' "$prog" "$*" >&2; }
info() { printf '%s: %s\n' "$prog" "$*" >&2; }

[ $# -eq 1 ] || { echo "usage: $prog OUTDIR" >&2; exit 2; }
outdir=$1

for tool in dpkg-deb cpio gzip tar sha256sum flock readelf patchelf; do
	command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found"
done

mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)
self_dir=$(cd "$(dirname "$0")" && pwd)
self=$self_dir/$(basename "$0")

# Serialise concurrent builds of the same OUTDIR (run.sh calls us).
exec 9>"$outdir/.lock"
flock 9 || die "cannot lock $outdir/.lock"

# ---------------------------------------------------------------- packages

repo=$(cd "$(dirname "$self")/../.." && pwd)
lock=$repo/guest-image/pins/aarch64.lock
guest_debs=$repo/.cache/guest-image/aarch64/debs
lab_debs=${LAB_DEB_CACHE:-$repo/.cache/lab/debs}
[ -f "$lock" ] || die "no $lock"
lab_lock=$repo/tests/lab/pins/aarch64.lock
[ -f "$lab_lock" ] || die "no $lab_lock"
case ${LAB_KERNEL:-} in
'') klock=$lock kpat='^linux-image-' ;;
16k) klock=$lab_lock kpat='^linux-image-.*-16k-' ;;
*) die "LAB_KERNEL must be empty or 16k, not '${LAB_KERNEL}'" ;;
esac
kpkg=$(awk -v p="$kpat" '$1 ~ p { print $1 }' "$klock")
kver=$(awk -v p="$kpat" '$1 ~ p { print $2 }' "$klock")
bver=$(awk '$1 == "busybox-static" { print $2 }' "$lock")
[ -n "$kpkg" ] && [ -n "$kver" ] && [ -n "$bver" ] || die "$klock pins no kernel or $lock no busybox-static"
# pinned NAME: the version in either lock.
pinned() { awk -v n="$1" '$1 == n { print $2 }' "$lock" "$lab_lock" | head -n 1; }

# fetch PKG VERSION: print the path of the cached .deb, downloading it into
# the lab's cache when neither cache has it.
fetch() {
	v=$(printf '%s' "$2" | sed 's/:/%3a/')
	for d in "$guest_debs" "$lab_debs"; do
		if [ -f "$d/${1}_${v}_arm64.deb" ]; then
			printf '%s\n' "$d/${1}_${v}_arm64.deb"
			return 0
		fi
	done
	mkdir -p "$lab_debs"
	info "downloading $1:arm64 $2"
	(cd "$lab_debs" && apt-get -q -o APT::Sandbox::User=root download "$1:arm64=$2" >&2) ||
		die "$1:arm64=$2 (pinned in guest-image/pins/aarch64.lock) is neither cached nor downloadable (dpkg --add-architecture arm64; apt-get update)"
	[ -f "$lab_debs/${1}_${v}_arm64.deb" ] || die "apt-get download left no ${1}_${v}_arm64.deb"
	printf '%s\n' "$lab_debs/${1}_${v}_arm64.deb"
}
kdeb=$(fetch "$kpkg" "$kver")
bdeb=$(fetch busybox-static "$bver")
# The ssh server of the field-kit hosts and the Android-like host's shell.
sshd_pkgs="dropbear-bin libc6 libcrypt1 libtomcrypt1 libtommath1 libgmp10 zlib1g"
sshd_debs=
for p in $sshd_pkgs mksh; do
	v=$(pinned "$p")
	[ -n "$v" ] || die "$p is pinned in neither $lock nor $lab_lock"
	sshd_debs="$sshd_debs $(fetch "$p" "$v")"
done
toybox=$repo/build/lab/toybox
"$self_dir/build-toybox.sh" "$toybox" || die "cannot build the static toybox"

# ---------------------------------------------------------------- stamp

extra=${LAB_EXTRA_FILES:-}
for f in $extra; do
	[ -f "$f" ] || die "LAB_EXTRA_FILES: '$f' is not a file"
done
stamp=$(
	{
		printf 'kernel %s\nbusybox %s\n' "$(basename "$kdeb")" "$(basename "$bdeb")"
		for d in $sshd_debs; do basename "$d"; done
		sha256sum <"$toybox"
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
mkdir "$work/k"
dpkg-deb --fsys-tarfile "$kdeb" | tar -xf - -C "$work/k" --wildcards './boot/vmlinuz-*' './boot/config-*' './lib/modules/*' './usr/lib/modules/*' 2>/dev/null || true
[ -d "$work/k/lib/modules" ] || [ ! -d "$work/k/usr/lib/modules" ] || { mkdir -p "$work/k/lib" && mv "$work/k/usr/lib/modules" "$work/k/lib/modules"; }
[ -d "$work/k/lib/modules" ] && ls "$work"/k/boot/vmlinuz-* >/dev/null 2>&1 ||
	die "no /boot/vmlinuz-*, /boot/config-* or /lib/modules in $kdeb"
set -- "$work"/k/boot/vmlinuz-*
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	die "expected exactly one vmlinuz in $kdeb"
fi
cp "$1" "$work/vmlinuz"
krel=${1##*/vmlinuz-}
kmods=$work/k/lib/modules/$krel
[ -f "$kmods/modules.order" ] || die "no modules.order in $kdeb"

# The modules a lab host loads at boot: those behind /dev/vhost-net,
# /dev/vhost-vsock, /dev/net/tun and /dev/vfio/vfio, so that it offers what
# a real KVM host does; virtio-mmio disks with ext4 (the payload and work
# disks, see run.sh). Each comes after the modules it depends on (the
# depends= of its .modinfo, what depmod would write into modules.dep);
# crc32c_generic is ext4's and jbd2's soft dependency (crypto-crc32c).
# virtio_net: the field-kit hosts are reached over ssh on QEMU's user network.
lab_modules="tun vhost_net vhost_vsock vfio vfio_iommu_type1 virtio_mmio virtio_blk crc32c_generic ext4 virtio_net"
mod_order=
add_module() {
	case " $mod_order " in *" $1 "*) return 0 ;; esac
	# No "local" in POSIX sh: rel is used before the recursion, and the
	# loop's word list is expanded before it, so recursion cannot clobber them.
	rel=$(awk -v m="$1" '{ n = $0; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); gsub(/-/, "_", n) } n == m { print; exit }' "$kmods/modules.order")
	if [ -z "$rel" ]; then
		# Built into this kernel (the 16K one builds more in): nothing to load.
		awk -v m="$1" '{ n = $0; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); gsub(/-/, "_", n) } n == m { f = 1 } END { exit !f }' \
			"$kmods/modules.builtin" 2>/dev/null && return 0
		die "module $1 is neither a module of kernel $krel nor built in"
	fi
	# modules.order names the .ko; 6.12's package ships it compressed.
	for z in .xz .zst; do
		[ -f "$kmods/$rel" ] || [ ! -f "$kmods/$rel$z" ] || rel=$rel$z
	done
	case $rel in
	*.ko) cp "$kmods/$rel" "$work/mods/$1.ko" ;;
	*.ko.zst) zstd -qdc <"$kmods/$rel" >"$work/mods/$1.ko" ;;
	*.ko.xz) xz -dc <"$kmods/$rel" >"$work/mods/$1.ko" ;;
	*) die "module $rel: unknown compression" ;;
	esac || die "cannot copy module $rel"
	deps=$(readelf -p .modinfo "$work/mods/$1.ko" 2>/dev/null | sed -n 's/.*\]  depends=//p' | tr ',-' ' _')
	for d in $deps; do add_module "$d"; done
	mod_order="$mod_order $1"
}
mkdir "$work/mods"
for m in $lab_modules; do add_module "$m"; done

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
for m in $mod_order; do cp "$work/mods/$m.ko" "$root/lib/modules/"; done
# shellcheck disable=SC2086 # a list of module names
printf '%s\n' $mod_order >"$root/lib/modules/order"
# The payload disk (the field kit, build-payload.sh) and the work disk. No
# library in /lib or /usr/lib: the kit starts its programs through its own
# loader, and a lab host must not make up for a kit that does not.
mkdir -p "$root/lab" "$root/work"

# dropbear for the field-kit hosts, with its libraries in /opt/lab-sshd/lib,
# its loader path and library path set there with patchelf (a board's ssh
# server has its own libc; the kit's must not find it in standard paths).
# DT_RPATH (--force-rpath), not RUNPATH: it applies to the libraries'
# own dependencies too (libtomcrypt's libgmp).
sshd=$root/opt/lab-sshd
mkdir -p "$work/sshd" "$sshd/bin" "$sshd/lib" "$root/etc/dropbear"
for d in $sshd_debs; do
	case ${d##*/} in mksh_*) continue ;; esac
	dpkg-deb -x "$d" "$work/sshd" || die "cannot unpack $d"
done
cp "$work/sshd/usr/sbin/dropbear" "$sshd/bin/dropbear"
# Its libraries, following DT_NEEDED until nothing new comes up.
cp -L "$(find "$work/sshd" -name ld-linux-aarch64.so.1 | head -n 1)" "$sshd/lib/" || die "no loader in $sshd_pkgs"
while :; do
	new=0
	for o in "$sshd/bin/dropbear" "$sshd"/lib/*; do
		for so in $(readelf -d "$o" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[ -f "$sshd/lib/$so" ] && continue
			f=$(find "$work/sshd" -name "$so" | head -n 1)
			[ -n "$f" ] || die "dropbear needs $so, which none of $sshd_pkgs has"
			cp -L "$f" "$sshd/lib/$so"
			new=1
		done
	done
	[ "$new" = 1 ] || break
done
patchelf --set-interpreter /opt/lab-sshd/lib/ld-linux-aarch64.so.1 --force-rpath --set-rpath /opt/lab-sshd/lib "$sshd/bin/dropbear" ||
	die "patchelf failed on dropbear"

# /android: the Android-like host's root (the kit's lab test chroots into it
# and makes toybox's applet links at boot, where the aarch64 toybox runs).
a=$root/android
mkdir -p "$a/system/bin" "$a/data/local/tmp" "$a/dev" "$a/proc" "$a/sys"
mkdir -p "$work/mksh"
dpkg-deb -x "$(printf '%s\n' $sshd_debs | grep '/mksh_')" "$work/mksh" || die "cannot unpack mksh"
cp "$work/mksh/usr/lib/aarch64-linux-musl/bin/mksh" "$a/system/bin/sh"
readelf -l "$a/system/bin/sh" | grep -q 'Requesting program interpreter' && die "mksh's musl build is not static"
cp "$toybox" "$a/system/bin/toybox"
chmod 755 "$a/system/bin/sh" "$a/system/bin/toybox"

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
# The loopback, for the native iperf3 baseline and QEMU's user network.
ip link set lo up 2>/dev/null
# Disks given by run.sh (LAB_PAYLOAD, LAB_WORK_MB), told apart by serial.
for b in /sys/block/vd*; do
	[ -f "$b/serial" ] || continue
	case $(cat "$b/serial") in
	labpayload) mount -t ext4 -o ro "/dev/${b##*/}" /lab || echo "lab-init: cannot mount the payload disk /dev/${b##*/}" ;;
	labwork) mount -t ext4 "/dev/${b##*/}" /work || echo "lab-init: cannot mount the work disk /dev/${b##*/}" ;;
	esac
done
# The payload disk is the field kit, unpacked (build-payload.sh).
if [ -d /lab/kvmqual-kit/bin ]; then
	PATH=/lab/kvmqual-kit/bin:$PATH
	export PATH
fi

echo "@@LAB-RUN@@"
rc=0
if [ -f /lab-cmd.sh ]; then
	(cd / && exec /bin/sh /lab-cmd.sh) </dev/null
	rc=$?
fi
# On a line of its own, whatever the command left unfinished on the console
# (a progress line ending in \r or an escape sequence).
printf '\n@@LAB-CMD-EXIT rc=%s@@\n' "$rc"

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
umount /work /lab 2>/dev/null
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
