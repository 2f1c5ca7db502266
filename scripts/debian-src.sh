#!/bin/sh
# Fetches a Debian source package (with Debian's patches applied) into a
# cache that works offline once filled.  Uses a private apt state so the
# system's sources.list is never touched.
# Usage: scripts/debian-src.sh PACKAGE[=VERSION] CACHE_DIR  -> prints the source tree path
# With =VERSION that version is fetched (and a cached tree of another version
# is replaced); without it, whatever version is cached, else the newest.
set -eu
pkg=${1%%=*}
version=
case $1 in *=*) version=${1#*=} ;; esac
cache=$(mkdir -p "$2" && cd "$2" && pwd)
tree=$(find "$cache" -maxdepth 1 -type d -name "$pkg-[0-9]*" 2>/dev/null | sort | tail -n1)
if [ -n "$tree" ] && [ -f "$tree/.kvmqual-complete" ]; then
	# The .dsc's name carries the version without its epoch.
	if [ -z "$version" ] || [ "$(cat "$tree/.kvmqual-complete")" = "${pkg}_${version#*:}.dsc" ]; then
		echo "$tree"
		exit 0
	fi
fi
. /etc/os-release
suite=${VERSION_CODENAME:-bookworm}
# The mirror the system already uses for Debian itself.
mirror=$(grep -rhoE 'https?://[^ ]*debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
	grep -v security | head -n1 | tr -d ' ')
mirror=${mirror:-http://deb.debian.org/debian}
state="$cache/apt"
mkdir -p "$state/lists/partial"
echo "deb-src $mirror $suite main" >"$state/sources.list"
aptopts="-o Dir::Etc::SourceList=$state/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$state/lists -o Debug::NoLocking=1"
# shellcheck disable=SC2086
apt-get -q $aptopts update >"$state/update.log" 2>&1 || {
	echo "debian-src: cannot fetch the source index from $mirror (see $state/update.log)" >&2
	exit 1
}
cd "$cache"
# shellcheck disable=SC2086
apt-get -q $aptopts source --download-only "$pkg${version:+=$version}" >"$state/source.log" 2>&1 || {
	echo "debian-src: cannot download the source package $pkg${version:+ $version} (see $state/source.log)" >&2
	exit 1
}
if [ -n "$version" ]; then
	dsc=$cache/${pkg}_${version#*:}.dsc
	[ -f "$dsc" ] || { echo "debian-src: apt-get source left no $dsc" >&2; exit 1; }
else
	dsc=$(ls -t "$cache"/"$pkg"_*.dsc | head -n1)
fi
rm -rf "$cache/$pkg-"[0-9]*
dpkg-source --no-check -x "$dsc" >/dev/null 2>&1 || dpkg-source -x "$dsc" >/dev/null
tree=$(find "$cache" -maxdepth 1 -type d -name "$pkg-[0-9]*" | sort | tail -n1)
basename "$dsc" >"$tree/.kvmqual-complete"
echo "$tree"
