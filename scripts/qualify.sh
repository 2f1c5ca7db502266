#!/bin/sh
# make qualify: probe this host and keep the result under results/.
# Exit 0 when a verdict was reached (KVM usable or not), 2 on an error.
set -u
cd "$(dirname "$0")/.."
mkdir -p results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
host=$(uname -n | tr -c 'A-Za-z0-9._\n-' '_')
json="results/probe-$host-$stamp.json"
if [ "$(id -u)" -ne 0 ]; then
	echo "qualify: not root: the kernel log and ACPI tables may be unreadable; the probe will say which checks suffer" >&2
fi
build/probe
build/probe --json --output "$json"
rc=$?
if [ $rc -ge 2 ]; then
	echo "qualify: the probe failed (exit $rc)" >&2
	exit 2
fi
cp "$json" results/probe-latest.json
echo
echo "qualify: probe result written to $json (and results/probe-latest.json)"
exit 0
