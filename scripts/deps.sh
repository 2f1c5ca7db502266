#!/bin/sh
# Installs the Debian packages a make target needs, or, when not root, prints
# the exact command.  Usage: scripts/deps.sh build|cross|guest|test|fuzz|bench|qualify
set -eu

# libaio-dev: the rebuilt fio (scripts/build-fio.sh) of the guest and the kit.
build_pkgs="gcc make libc6-dev libfdt-dev zlib1g-dev libcjson-dev libsqlite3-dev libcurl4-openssl-dev dpkg-dev pkg-config libaio-dev"
cross_pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
# nginx with WebDAV serves the publish tests; chromium opens the HTML pages.
# patchelf, openssh-client: the field kit's lab hosts (their dropbear, ssh to it);
# mksh, busybox: the kit's entry script is run under each shell it must work in.
test_pkgs="device-tree-compiler cpio binutils procps iperf3 qemu-system-arm qemu-efi-aarch64 gnuplot-nox nginx libnginx-mod-http-dav-ext chromium chromium-driver curl libxml2-utils openssl patchelf openssh-client mksh busybox"
fuzz_pkgs="clang libclang-rt-dev"
bench_pkgs="hyperfine libvirt-clients qemu-system-x86"
guest_pkgs="cpio binutils lz4 xz-utils squashfs-tools"
# The native baselines run Debian's own tools, like the guest.
tools_pkgs="sysbench fio iperf3 iproute2"
# LAVA's dispatcher for the lava-lab tests (docs/lava.md), without its
# Recommends (TFTP, NFS, LXC, ser2net, libguestfs-tools: none of them is used
# by a QEMU job that deploys to tmpfs).  python3-guestfs comes with it as a
# hard dependency: lava_dispatcher imports it at load time, but the jobs
# never start its appliance (LAVA appends its overlay to the cpio ramdisk).
# cpio unpacks and repacks that ramdisk, git clones the test definition from
# a file:// URL, e2fsprogs makes the work disk.  lava-server is not
# installed: tests/lava/device.sh unpacks its device-type templates only.
lava_pkgs="lava-dispatcher lava-common python3-jinja2 python3-yaml cpio git e2fsprogs"
qualify_pkgs="qemu-system-x86 qemu-system-arm qemu-utils squashfs-tools lz4 gnuplot-nox $tools_pkgs"

no_recommends=0
case "${1:-}" in
build) want="$build_pkgs" ;;
cross) want="$build_pkgs $cross_pkgs" ;;
guest) want="$build_pkgs $cross_pkgs $guest_pkgs" ;;
lava) want="$lava_pkgs"; no_recommends=1 ;;
test) want="$build_pkgs $cross_pkgs $guest_pkgs $test_pkgs $tools_pkgs sqlite3" ;;
fuzz) want="$build_pkgs $fuzz_pkgs" ;;
bench) want="$build_pkgs $cross_pkgs $guest_pkgs $test_pkgs $bench_pkgs sqlite3" ;;
qualify) want="$build_pkgs $cross_pkgs $guest_pkgs $qualify_pkgs" ;;
*) echo "usage: $0 build|cross|guest|test|lava|fuzz|bench|qualify" >&2; exit 2 ;;
esac

apt_opts=
[ "$no_recommends" = 1 ] && apt_opts=" --no-install-recommends"
missing=""
for pkg in $want; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $pkg"
	fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing packages:$missing (this is not a Debian system: install their equivalents)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run: sudo apt-get update && sudo apt-get install -y$apt_opts$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may never have fetched the package lists.
if ! apt-get install -y -q -o DPkg::Lock::Timeout=900$apt_opts $missing >/dev/null 2>&1; then
	apt-get update -q -o DPkg::Lock::Timeout=900 >/dev/null
	apt-get install -y -q -o DPkg::Lock::Timeout=900$apt_opts $missing >/dev/null
fi
