#!/bin/sh
# make bench (tune part): `kvmqual tune --profile quick` on this host, timed
# (issue 18: it must end within 10 minutes here), with what it recommended.
# The aarch64 guest under TCG (this host's KVM is PVM), its QEMU isolated
# from the machine's other load (--isolate, root).  Writes
# bench/results/tune.md.
set -eu
cd "$(dirname "$0")/.."
out=bench/results/tune.md
tmp=$(mktemp -d /tmp/kvmqual-bench-tune.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results
args="--profile quick --guest-arch aarch64 --accel tcg --isolate"
load0=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s)
rc=0
# shellcheck disable=SC2086
build/kvmqual tune $args --db "$tmp/tune.db" >"$tmp/tune.txt" 2>"$tmp/tune.err" || rc=$?
took=$(($(date +%s) - start))
load1=$(cut -d' ' -f1 /proc/loadavg)
{
	echo "# kvmqual tune --profile quick on this host"
	echo
	echo "Produced by \`make bench\` (bench/tune.sh) on $(date -u +%Y-%m-%d): \`kvmqual tune $args\`"
	echo "on $(uname -m), $(nproc) CPUs, QEMU $(qemu-system-aarch64 --version | sed -n 's/QEMU emulator version \([^ ]*\).*/\1/p');"
	echo "load average $load0 when it started, $load1 when it ended (other jobs share the machine)."
	echo
	echo "Goal (issue 18): it ends within 10 minutes here. It took **$took s** (exit status $rc)."
	echo
	echo "What it printed (the tables per setting, then the recommendation):"
	echo
	echo '```'
	cat "$tmp/tune.txt"
	echo '```'
} >"$out"
cat "$out"
echo "bench: wrote $out"
[ "$rc" -eq 0 ] || { echo "bench: kvmqual tune exited $rc: $(tail -c 600 "$tmp/tune.err")" >&2; exit 1; }
