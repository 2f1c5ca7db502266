#!/bin/sh
# Builds a sysroot with Debian's arm64 -dev packages for cross-compiling,
# without multiarch installs (libfdt-dev cannot be installed for two
# architectures at once).  Usage: scripts/cross-sysroot.sh DIR
#
# libfdt and zlib are what the static probe links; libaio and zlib what the
# rebuilt fio links (scripts/build-fio.sh); sqlite3 and libcurl are
# for build/aarch64/kvmqual, which links them dynamically (the emulated
# ARM64 lab carries their run-time libraries, see tests/lab/README.md).
# Only the packages named here are unpacked: the linker is told to leave the
# libraries' own dependencies (libcurl's TLS, ...) to run time.
#
# DIR/.complete holds the package list; a sysroot made from another list is
# completed with the missing packages.
set -eu
pkgs="libfdt-dev libfdt1 zlib1g-dev zlib1g libsqlite3-dev libsqlite3-0 libcurl4-openssl-dev libcurl4 libaio-dev libaio1"
dir=$(mkdir -p "$1" && cd "$1" && pwd)
if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$pkgs" ]; then
	exit 0
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "cross-sysroot: run: sudo dpkg --add-architecture arm64 && sudo apt-get update" >&2
		exit 1
	fi
	dpkg --add-architecture arm64
	apt-get update -q >/dev/null
fi
mkdir -p "$dir/debs"
cd "$dir/debs"
for pkg in $pkgs; do
	if ! ls "${pkg}"_*_arm64.deb >/dev/null 2>&1; then
		apt-get download -q "$pkg:arm64" >/dev/null 2>&1 || {
			apt-get update -q >/dev/null
			apt-get download -q "$pkg:arm64" >/dev/null
		} || {
			echo "cross-sysroot: cannot download $pkg:arm64 (is 'dpkg --add-architecture arm64' + 'apt-get update' done?)" >&2
			exit 1
		}
	fi
done
for pkg in $pkgs; do
	for deb in ./"${pkg}"_*_arm64.deb; do
		dpkg-deb -x "$deb" "$dir"
	done
done
printf '%s\n' "$pkgs" >"$dir/.complete"
