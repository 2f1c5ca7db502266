#!/bin/sh
# make qualify: probe this host, then a quick benchmark run with every
# accelerator the host offers (KVM where the probe finds it usable, and
# TCG), stored in results/kvmqual.db, then the summary and the report
# (results/report/index.html).
# Exit 0 when the run reached a result (complete, or incomplete with the
# reason: a host without working KVM is a result too), 2 on an error.
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
echo
echo "qualify: a quick run: the workloads natively, then in the guest under each accelerator"
build/kvmqual run --profile quick --db results/kvmqual.db
rc=$?
echo
echo "qualify: everything is in results/kvmqual.db; 'build/kvmqual export --db results/kvmqual.db' writes it out"
[ $rc -le 1 ] || exit 2
# The report of that run: verdict, numbers and plots on one page (exit 1:
# written, but a plot failed; the page says which).
echo
build/kvmqual report --db results/kvmqual.db --out results/report
rrc=$?
[ $rrc -le 1 ] || exit 2
echo
echo "qualify: the report: $(pwd)/results/report/index.html (Markdown: results/report/report.md)"
exit 0
