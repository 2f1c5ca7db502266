#!/bin/sh
# make bench (kit part): what `kvmqual-kit/run follow` costs the device it
# follows a run on, in CPU time: on an emulated ARM64 board
# (tests/lab/kit-host.sh, busybox only), a job that writes a line every 5 s
# for 60 s, followed by this tree's kit/run and by kit/run as it was at
# BENCH_FOLLOW_BASE (default 07e91a5, before the follow took one process a
# round), alternated twice; each follower's CPU time (itself and the
# processes it started) from the shell's `times`. CPU time, not wall time:
# the machine's other load moves it little. Writes bench/results/kit-follow.md.
set -eu
cd "$(dirname "$0")/.."
base=${BENCH_FOLLOW_BASE:-07e91a5}
out=bench/results/kit-follow.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmqual-bench-follow.XXXXXX")
trap 'kit_host_stop follow 2>/dev/null || true; rm -rf "$tmp"' EXIT
git show "$base:kit/run" >"$tmp/run-base"
cp kit/run "$tmp/run-now"
. tests/lab/kit-host.sh
KIT_MEM=1024 kit_host_start follow el2-vhe-gicv3-smmuv3 board || { echo "bench/kit-follow.sh: $kit_why" >&2; exit 1; }
on_board() { $kit_ssh -p "$kit_port" root@127.0.0.1 "$@"; }
for v in base now; do
	on_board "mkdir -p /work/f-$v/k && cat > /work/f-$v/k/run" <"$tmp/run-$v"
done
# cpu NAME: the follower's CPU seconds (user + system, itself and its
# children) from the second line of `times` (children of sh -c).
for v in base now base now; do
	# shellcheck disable=SC2016 # expanded on the board
	on_board "d=/work/f-$v"'; rm -rf $d/job; mkdir -p $d/job; : > $d/job/log
		(i=0; while [ $i -lt 12 ]; do echo "line $i" >> $d/job/log; sleep 5; i=$((i + 1)); done; echo 0 > $d/job/status) &
		echo $! > $d/job/pid
		sh -c "sh $d/k/run follow --dir $d --job job > /dev/null; times"' >"$tmp/times" 2>&1
	sed -n 2p "$tmp/times" | awk '{ for (i = 1; i <= 2; i++) { split($i, t, "m"); s += t[1] * 60 + t[2] } } END { printf "%.2f\n", s }' >>"$tmp/cpu-$v"
done
kit_host_stop follow || true
b=$(tr '\n' ' ' <"$tmp/cpu-base") n=$(tr '\n' ' ' <"$tmp/cpu-now")
{
	echo "# What the kit's follow costs the device"
	echo
	echo "Produced by \`bench/kit-follow.sh\` on $(date -u +%Y-%m-%d), $(uname -m) host, $(nproc) CPUs (load average"
	echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end). The device is an emulated ARM64 board (el2-vhe-gicv3-smmuv3"
	echo "under TCG, busybox only, 2 vCPUs), where starting a process costs tens of milliseconds of its CPU."
	echo "A job writes a line every 5 s for 60 s; \`sh kvmqual-kit/run follow\` follows it to its end."
	echo
	echo "| kit/run | follower's CPU time over the 60 s job, s (each try) |"
	echo "| --- | --- |"
	echo "| as at $base | $b|"
	echo "| this tree | $n|"
} >"$out"
cat "$out"
