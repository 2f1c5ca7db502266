#!/bin/sh
# templates.sh: prints the directory of lava-server's device-type templates
# (qemu.jinja2, base.jinja2, ...), unpacked from Debian's lava-server
# package into .cache/lava/ (LAVA_CACHE).  lava-server itself is not
# installed: it would bring a Django site and PostgreSQL, and the tests
# need only the templates that a server renders device dictionaries from.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${LAVA_CACHE:-$repo/.cache/lava}
dir=$cache/device-types
if [ -f "$dir/qemu.jinja2" ] && [ -f "$dir/base.jinja2" ]; then
	printf '%s\n' "$dir"
	exit 0
fi
mkdir -p "$cache"
# The dispatcher's version: templates and dispatcher come from one release.
ver=$(dpkg-query -W -f='${Version}' lava-dispatcher 2>/dev/null) ||
	{ echo "templates.sh: lava-dispatcher is not installed (scripts/deps.sh lava)" >&2; exit 1; }
deb=$cache/lava-server_$(printf '%s' "$ver" | sed 's/:/%3a/')_all.deb
if [ ! -f "$deb" ]; then
	(cd "$cache" && apt-get -q -o APT::Sandbox::User=root download "lava-server=$ver" >&2) ||
		{ echo "templates.sh: cannot download lava-server=$ver (apt-get update?)" >&2; exit 1; }
fi
tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -xf - -C "$tmp" ./usr/share/lava-server/device-types ||
	{ echo "templates.sh: no device-types in $deb" >&2; exit 1; }
rm -rf "$dir"
mv "$tmp/usr/share/lava-server/device-types" "$dir"
printf '%s\n' "$ver" >"$dir/.lava-server-version"
printf '%s\n' "$dir"
