#!/bin/sh
# make bench (kit part): the field kit's size, the time to copy it over ssh
# on loopback into an emulated ARM64 board (tests/lab/kit-host.sh), and the
# wall time of `kvmqual remote` against running the kit directly on the
# same board (target: remote's overhead under 5 %). Both runs are the same
# short qualification (sysbench-cpu under the board's KVM, user network),
# the kit already on the board for both, alternated BENCH_KIT_RUNS times
# (default 3) so that the machine's load falls on both alike. Every line
# either prints is stamped as it arrives, which splits each wall time into
# the job on the board (from the kit's "probe" line to its summary's last
# line) and the steps around it: remote's own (looking at the device,
# starting and following the job, fetching, importing, the report) against
# the bare ssh command's. Writes bench/results/kit.md.
set -eu
cd "$(dirname "$0")/.."
runs=${BENCH_KIT_RUNS:-3}
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
# stamped NAME CMD...: CMD's output lines, each after the time it came
# (ms), between START and END lines; its exit status.
stamped() {
	name=$1
	shift
	echo "$(ms) START" >"$tmp/$name.t"
	src=0
	{ "$@" 2>&1 || echo "EXIT $?"; } | while IFS= read -r l; do echo "$(ms) $l"; done >>"$tmp/$name.t"
	echo "$(ms) END" >>"$tmp/$name.t"
	src=$(sed -n 's/^[0-9]* EXIT //p' "$tmp/$name.t")
	return "${src:-0}"
}
# parts NAME: "wall job around" in ms: START to END; the kit's "probe" line
# to its summary's "database:" line; the rest.
parts() {
	awk '/ START$/ { s = $1 } / kvmqual-kit: probe$/ && !p { p = $1 } / database: / { d = $1 } / END$/ { e = $1 }
		END { if (p && d) print e - s, d - p, (e - s) - (d - p); else print e - s, "-", "-" }' "$tmp/$1.t"
}
remote_run() {
	rc=0
	# shellcheck disable=SC2086
	stamped "r$1" build/kvmqual remote --via "$via" --dir /work/kq --db "$tmp/r.db" --out "$tmp/r$1" -- $args || rc=$?
	codes="$codes, remote $rc"
}
direct_run() {
	rc=0
	stamped "d$1" $kit_ssh -p "$kit_port" root@127.0.0.1 \
		"sh /work/kq/kvmqual-kit/run qualify --dir /work/kq --out /work/kq/direct-$1 $args" || rc=$?
	codes="$codes, direct $rc"
}
# A B, B A, A B ...: a load that rises or falls through the bench falls on
# both kinds alike.
for i in $(seq "$runs"); do
	if [ $((i % 2)) -eq 1 ]; then
		remote_run "$i"
		direct_run "$i"
	else
		direct_run "$i"
		remote_run "$i"
	fi
done
# Not under set -e: its ssh ends 255 when the board powers off under it,
# and pkill 1 when nothing is left to stop (the bench stopped here, every
# time, without writing its results).
kit_host_stop bench || true
# Per kind: the walls, the jobs, the steps around them (ms, space-separated).
col() { for i in $(seq "$runs"); do parts "$1$i" | cut -d' ' -f"$2"; done | tr '\n' ' '; }
med() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rw=$(col r 1) rj=$(col r 2) ra=$(col r 3) dw=$(col d 1) dj=$(col d 2) da=$(col d 3)
mrw=$(echo "$rw" | med) mdw=$(echo "$dw" | med) mra=$(echo "$ra" | med) mda=$(echo "$da" | med)
# The walls' overhead: noisy (the job itself varies from run to run by more
# than 5 % on an emulated board on a shared machine); remote's own: what
# its steps around the job add to the direct run's, against the direct wall.
pct=$(awk -v r="$mrw" -v d="$mdw" 'BEGIN { printf "%.1f", (r - d) * 100 / d }')
own=$(awk -v r="$mra" -v a="$mda" -v d="$mdw" 'BEGIN { printf "%.1f", (r - a) * 100 / d }')
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
	echo "Same qualification both ways (\`$args\`), the kit already there, $runs pairs (remote first, then direct first, ...);"
	echo "each wall split, by the time each printed line arrived, into the job on the board (its"
	echo "\"kvmqual-kit: probe\" line to its summary's \"database:\" line) and the steps around it:"
	echo
	echo "| ms, each run | wall | job | around the job | median wall | median around |"
	echo "| --- | --- | --- | --- | --- | --- |"
	echo "| \`kvmqual remote --via $via --dir /work/kq -- ...\` | $rw| $rj| $ra| $mrw | $mra |"
	echo "| \`ssh board sh kvmqual-kit/run qualify ...\` (the kit directly) | $dw| $dj| $da| $mdw | $mda |"
	echo
	echo "Remote's own overhead (its steps around the job less the bare ssh command's, against the"
	echo "direct median wall): **$own %** (target < 5 %). The median walls differ by $pct %: that"
	echo "includes the job's own run-to-run spread (see the job column)."
	echo "Exit statuses (0 complete, 1 incomplete): $codes."
} >"$out"
cat "$out"
