# Shared by guest-image/build.sh and guest-image/boot.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034,SC2154
# (the variables set here are used by the scripts that source this file,
# which also set $prog)

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
warn() { printf '%s: warning: %s\n' "$prog" "$*" >&2; }
info() { printf '%s: %s\n' "$prog" "$*" >&2; }

# need TOOL...: fail naming the first missing tool and the Debian package
# that has it.
need() {
	local t pkg
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 && continue
		case $t in
		readelf) pkg=binutils ;;
		apt-get | apt-cache) pkg=apt ;;
		dpkg-deb) pkg=dpkg ;;
		lz4) pkg=lz4 ;;
		zstd) pkg=zstd ;;
		xz) pkg=xz-utils ;;
		flock | setsid) pkg=util-linux ;;
		timeout | sha256sum | stat | sort) pkg=coreutils ;;
		qemu-system-aarch64) pkg=qemu-system-arm ;;
		qemu-system-x86_64) pkg=qemu-system-x86 ;;
		*) pkg=$t ;;
		esac
		die "required tool '$t' not found (Debian package: $pkg)"
	done
}

# arch_vars ARCH: sets the per-architecture names used by the scripts.
#   deb_arch     Debian architecture of the packages
#   triplet      multiarch triplet (library directories)
#   kflavour     flavour suffix of Debian's linux-image packages
#   qemu_bin     QEMU system emulator for this guest
#   console      the serial console device of the default QEMU machine
arch_vars() {
	case $1 in
	aarch64 | arm64)
		arch=aarch64 deb_arch=arm64 triplet=aarch64-linux-gnu kflavour=arm64
		qemu_bin=qemu-system-aarch64 console=ttyAMA0
		;;
	x86_64 | amd64)
		arch=x86_64 deb_arch=amd64 triplet=x86_64-linux-gnu kflavour=amd64
		qemu_bin=qemu-system-x86_64 console=ttyS0
		;;
	*) die "unknown architecture '$1' (want aarch64 or x86_64)" ;;
	esac
}
