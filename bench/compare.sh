#!/bin/sh
# make bench (compare part): kvmqual compare on runs of 4,000, 20,000 and
# 100,000 samples each (one metric: the worst case, every sample against
# every other), six runs per store (last-good:5 pools five of them), the
# newest 3 % slower.  Issue 13 finding 20: 4,000 samples took 10 s and
# 20,000 over 2 minutes (the Hodges-Lehmann shift formed and sorted every
# pairwise difference); the shift's order statistics are now selected
# without forming them.  Target: 100,000 samples a run in seconds, and the
# 3 % slowdown found (exit 1).  Writes bench/results/compare.md.
#   BENCH_COMPARE_SIZES="4000 20000 100000"  BENCH_RUNS=3
set -eu
cd "$(dirname "$0")/.."
out=bench/results/compare.md
kq=${KVMQUAL:-build/kvmqual}
sizes=${BENCH_COMPARE_SIZES:-4000 20000 100000}
runs=${BENCH_RUNS:-3}
tmp=$(mktemp -d /tmp/kvmqual-bench-compare.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results
make --no-print-directory build/tests/store_init >/dev/null

# gen DB N: six runs of N samples (a spread of +-1 %, deterministic), the
# sixth 3 % slower.
gen() {
	build/tests/store_init "$1"
	sqlite3 "$1" "INSERT INTO hosts (host_key, arch, model, soc, kernel_release, page_size)
		VALUES ('00000000000000cc', 'x86_64', 'bench', 'bench', '6.1.0', 4096);"
	for r in 1 2 3 4 5 6; do
		f=1; [ $r -eq 6 ] && f=0.97
		sqlite3 "$1" "INSERT INTO runs (host_id, status, profile, suite_version, qemu_version, guest_image_hash, pid)
			VALUES (1, 'complete', 'quick', '0.1.0', '7.2.22', 'sha256:bench', 1);
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $2)
		INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration, higher_is_better)
		SELECT $r, 'tcg', 'sysbench-cpu', 'events_per_second', 'events/s',
			1000 * $f * (1 + ((i * 7919 + $r * 104729) % 2001 - 1000) / 100000.0), i, 1 FROM c;"
	done
}

# one NAME ARGS...: median wall seconds and peak RSS of BENCH_RUNS runs;
# every run must exit 1 and name the slowdown.
one() {
	name=$1
	shift
	: >"$tmp/t"
	for i in $(seq "$runs"); do
		/usr/bin/time -q -f "%e %M %U %S" -o "$tmp/t1" "$kq" compare "$@" >"$tmp/out" 2>&1 && rc=0 || rc=$?
		if [ $rc -ne 1 ] || ! grep -q 'REGRESSION .*sysbench-cpu.events_per_second' "$tmp/out"; then
			echo "bench: compare $* did not find the slowdown (exit $rc):" >&2
			cat "$tmp/out" >&2
			exit 1
		fi
		cat "$tmp/t1" >>"$tmp/t"
	done
	secs=$(cut -d' ' -f1 "$tmp/t" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
	rss=$(cut -d' ' -f2 "$tmp/t" | sort -n | tail -1)
	cpu=$(awk '{print $3 + $4}' "$tmp/t" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
	change=$(awk '/REGRESSION/ {print $6; exit}' "$tmp/out")
	echo "| $n | $name | $cpu | $secs | $((rss / 1024)) | $change |" >>"$tmp/rows"
}

: >"$tmp/rows"
for n in $sizes; do
	gen "$tmp/c$n.db" "$n"
	one "--baseline 5 --candidate 6" --db "$tmp/c$n.db" --baseline 5 --candidate 6
	one "last-good:5 (default)" --db "$tmp/c$n.db"
done
{
	echo "# kvmqual compare on large runs"
	echo
	echo "Produced by \`bench/compare.sh\` on $(date -u +%Y-%m-%d), $(uname -m) host, $(nproc) CPUs"
	echo "(load average $(cut -d' ' -f1-3 /proc/loadavg) when it ended: the machine is shared)."
	echo "Six runs per store, one metric, N samples each (+-1 %), the sixth 3 % slower;"
	echo "medians of $runs runs of \`kvmqual compare\` (CPU time, user + system, is what the code"
	echo "costs; wall time also says how busy the machine was), the largest peak RSS."
	echo "Every run found the slowdown (exit 1). The default baseline, last-good:5,"
	echo "judges each earlier run against the ones before it as well (the last-good chain)."
	echo
	echo "| samples per run | baseline | CPU seconds | wall seconds | peak RSS (MiB) | change found |"
	echo "| --- | --- | --- | --- | --- | --- |"
	cat "$tmp/rows"
	echo
	echo "Before issue 13 (main b9ad279, the Hodges-Lehmann shift sorting all"
	echo "N x N differences): see \"Before\" below, measured once by hand."
} >"$out.new"
# The hand-measured numbers of the old code are kept from the last file.
if [ -f "$out" ] && grep -q '^## Before' "$out"; then
	echo >>"$out.new"
	sed -n '/^## Before/,$p' "$out" >>"$out.new"
fi
mv "$out.new" "$out"
echo "bench: wrote $out"
