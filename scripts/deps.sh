#!/bin/sh
# Installs the Debian packages a make target needs, or, when not root, prints
# the exact command.  Usage: scripts/deps.sh build|cross|guest|test|fuzz|bench|qualify
set -eu

build_pkgs="gcc make libc6-dev libfdt-dev zlib1g-dev libcjson-dev libsqlite3-dev libcurl4-openssl-dev dpkg-dev pkg-config"
cross_pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
# nginx with WebDAV serves the publish tests; chromium opens the HTML pages.
test_pkgs="device-tree-compiler cpio binutils procps iperf3 qemu-system-arm qemu-efi-aarch64 gnuplot-nox nginx libnginx-mod-http-dav-ext chromium chromium-driver curl libxml2-utils openssl"
fuzz_pkgs="clang libclang-rt-dev"
bench_pkgs="hyperfine libvirt-clients qemu-system-x86"
guest_pkgs="cpio binutils lz4 xz-utils squashfs-tools"
# The native baselines run Debian's own tools, like the guest.
tools_pkgs="sysbench fio iperf3 iproute2"
qualify_pkgs="qemu-system-x86 qemu-system-arm qemu-utils squashfs-tools lz4 gnuplot-nox $tools_pkgs"

case "${1:-}" in
build) want="$build_pkgs" ;;
cross) want="$build_pkgs $cross_pkgs" ;;
guest) want="$build_pkgs $cross_pkgs $guest_pkgs" ;;
test) want="$build_pkgs $cross_pkgs $guest_pkgs $test_pkgs $tools_pkgs sqlite3" ;;
fuzz) want="$build_pkgs $fuzz_pkgs" ;;
bench) want="$build_pkgs $cross_pkgs $guest_pkgs $test_pkgs $bench_pkgs" ;;
qualify) want="$build_pkgs $cross_pkgs $guest_pkgs $qualify_pkgs" ;;
*) echo "usage: $0 build|cross|guest|test|fuzz|bench|qualify" >&2; exit 2 ;;
esac

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
	echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may never have fetched the package lists.
if ! apt-get install -y -q $missing >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	apt-get install -y -q $missing >/dev/null
fi
