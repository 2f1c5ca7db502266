#!/bin/sh
# make bench (kit part): the field kit's size, the time to copy it over ssh
# on loopback into an emulated ARM64 board (tests/lab/kit-host.sh), and the
# wall time of `kvmqual remote` against running the kit directly on the
# same board (target: remote's overhead under 5 %). Both runs are the same
# short qualification (sysbench-cpu under the board's KVM, user network),
# the kit already on the board for both, alternated BENCH_KIT_RUNS times
# (default 2) so that the machine's load falls on both alike. Writes
# bench/results/kit.md.
set -eu
cd "$(dirname "$0")/.."
runs=${BENCH_KIT_RUNS:-2}
out=bench/results/kit.md
kit=build/kit/kvmqual-kit-aarch64-0.1.0.tar.gz
[ -f "$kit" ] || { echo "bench/kit.sh: no $kit (make kit ARCH=aarch64)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmqual-bench-kit.XXXXXX")
trap 'kit_host_stop bench 2>/dev/null || true; rm -rf "$tmp"' EXIT
. tests/lab/kit-host.sh
kit_host_start bench el2-vhe-gicv3-smmuv3 board || { echo "bench/kit.sh: $kit_why" >&2; exit 1; }
export KVMQUAL_SSH="$kit_ssh"
via="ssh://root@127.0.0.1:$kit_port"
ms() { date +%s%N | cut -c1-13; }
bytes=$(stat -c %s "$kit")
unpacked=$(sed -n 's/^bytes //p' build/kit/kvmqual-kit-aarch64-0.1.0.manifest)

# The copy alone: the bytes through ssh into the board's disk, 3 times.
copy=
for i in 1 2 3; do
	t0=$(ms)
	$kit_ssh -p "$kit_port" root@127.0.0.1 'cat > /work/bench-copy.tar.gz' <"$kit"
	copy="$copy $(($(ms) - t0))"
done
$kit_ssh -p "$kit_port" root@127.0.0.1 'rm -f /work/bench-copy.tar.gz'

# The first remote installs the kit (its time is the whole first contact).
args="--workloads sysbench-cpu --accel kvm --net user"
t0=$(ms)
# shellcheck disable=SC2086
rc=0
build/kvmqual remote --via "$via" --dir /work/kq --db "$tmp/r.db" --out "$tmp/first" -- $args >"$tmp/first.log" 2>&1 || rc=$?
first=$(($(ms) - t0))
# Exit statuses, in order: a run that failed is not a time to compare.
codes="first $rc"
remote= direct=
for i in $(seq "$runs"); do
	t0=$(ms)
	# shellcheck disable=SC2086
	rc=0
	build/kvmqual remote --via "$via" --dir /work/kq --db "$tmp/r.db" --out "$tmp/r$i" -- $args >"$tmp/r$i.log" 2>&1 || rc=$?
	remote="$remote $(($(ms) - t0))"
	codes="$codes, remote $rc"
	t0=$(ms)
	rc=0
	$kit_ssh -p "$kit_port" root@127.0.0.1 "sh /work/kq/kvmqual-kit/run qualify --dir /work/kq --out /work/kq/direct-$i $args" \
		>"$tmp/d$i.log" 2>&1 || rc=$?
	direct="$direct $(($(ms) - t0))"
	codes="$codes, direct $rc"
done
# Not under set -e: its ssh ends 255 when the board powers off under it,
# and pkill 1 when nothing is left to stop (the bench stopped here, every
# time, without writing its results).
kit_host_stop bench || true
sum() { s=0; for v in "$@"; do s=$((s + v)); done; echo "$s"; }
# shellcheck disable=SC2086
rs=$(sum $remote) ds=$(sum $direct)
pct=$(awk -v r="$rs" -v d="$ds" 'BEGIN { printf "%.1f", (r - d) * 100 / d }')
{
	echo "# Field kit benchmark"
	echo
	echo "Produced by \`bench/kit.sh\` on $(date -u +%Y-%m-%d), $(uname -m) host, $(nproc) CPUs, shared with"
	echo "other builds and tests while it ran (load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)."
	echo "The board is an emulated ARM64 lab host (el2-vhe-gicv3-smmuv3 under TCG, tests/lab/kit-host.sh),"
	echo "reached over ssh on 127.0.0.1 through QEMU's user-mode hostfwd; its dropbear and disk are"
	echo "emulated, so the copy is bound by the board, not by loopback."
	echo
	echo "| what | value |"
	echo "| --- | --- |"
	echo "| kit (aarch64), compressed | $bytes bytes |"
	echo "| kit, unpacked | $unpacked bytes |"
	echo "| copy over ssh into the board's disk, ms (3 times) |$copy |"
	echo "| first \`kvmqual remote\` (copy, unpack, run, import, report), ms | $first |"
	echo
	echo "Same qualification both ways (\`$args\`), the kit already there, alternated:"
	echo
	echo "| | wall ms, each | sum |"
	echo "| --- | --- | --- |"
	echo "| \`kvmqual remote --via $via --dir /work/kq -- ...\` |$remote | $rs |"
	echo "| \`ssh board sh kvmqual-kit/run qualify ...\` (the kit directly) |$direct | $ds |"
	echo
	echo "Overhead of remote: $pct % (target < 5 %). Exit statuses (0 complete, 1 incomplete): $codes."
} >"$out"
cat "$out"
