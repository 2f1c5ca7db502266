#!/bin/sh
# Builds a sysroot with Debian's arm64 -dev packages (libfdt, zlib) for
# cross-compiling, without multiarch installs (libfdt-dev cannot be installed
# for two architectures at once).  Usage: scripts/cross-sysroot.sh DIR
set -eu
dir=$(mkdir -p "$1" && cd "$1" && pwd)
[ -f "$dir/.complete" ] && exit 0
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
for pkg in libfdt-dev libfdt1 zlib1g-dev zlib1g; do
	if ! ls "${pkg}"_*_arm64.deb >/dev/null 2>&1; then
		apt-get download -q "$pkg:arm64" >/dev/null 2>&1 || {
			apt-get update -q >/dev/null
			apt-get download -q "$pkg:arm64" >/dev/null
		}
	fi
done
for deb in ./*.deb; do
	dpkg-deb -x "$deb" "$dir"
done
touch "$dir/.complete"
