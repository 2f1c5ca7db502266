#!/bin/sh
# make bench (import part): kvmqual import of a bundle of 10,000 samples
# into a fresh store, as kvmqual remote does with what a device sends
# back. Target (issue 14): under 1 s. The bundle is a real export: the run
# bench/store.c writes through the store API (10,000 samples, a conditions
# document on each), exported with kvmqual export. Writes
# bench/results/import.md.
set -eu
cd "$(dirname "$0")/.."
runs=${BENCH_IMPORT_RUNS:-5}
samples=${BENCH_IMPORT_SAMPLES:-10000}
out=bench/results/import.md
w=$(mktemp -d "${TMPDIR:-/tmp}/kvmqual-bench-import.XXXXXX")
trap 'rm -rf "$w"' EXIT
mkdir -p build bench/results
gcc -std=gnu11 -O2 -g -o build/bench-store bench/store.c $(ls store/*.c | grep -v /cmd_) lib/util.c -lsqlite3
build/bench-store --samples "$samples" --batch 1000 --db "$w/src.db" >/dev/null
build/kvmqual export --db "$w/src.db" --format json >"$w/bundle.json"
n=$(grep -o '"workload"' "$w/bundle.json" | wc -l)
ms=
for i in $(seq "$runs"); do
	rm -f "$w/dst.db"*
	t0=$(date +%s%N)
	build/kvmqual import --db "$w/dst.db" "$w/bundle.json" >/dev/null
	t1=$(date +%s%N)
	ms="$ms $(((t1 - t0) / 1000000))"
done
stored=$(sqlite3 "$w/dst.db" "SELECT count(*) FROM samples")
median=$(printf '%s\n' $ms | sort -n | awk '{v[NR] = $1} END { print v[int((NR + 1) / 2)] }')
echo "import: $n samples in the bundle, $stored stored; ms:$ms; median $median ms"
{
	echo "# kvmqual import benchmark"
	echo
	echo "Produced by \`bench/import.sh\` on $(date -u +%Y-%m-%d), $(uname -m) host, $(nproc) CPUs"
	echo "(shared with other builds and tests while it ran). A bundle of one run with $n samples"
	echo "($(stat -c %s "$w/bundle.json") bytes: \`build/bench-store --samples $samples\`, then \`kvmqual export"
	echo "--format json\`), imported $runs times into a fresh store: wall time of"
	echo "\`kvmqual import --db NEW.db BUNDLE\` (process start to exit, reading, checking,"
	echo "writing in one transaction)."
	echo
	echo "| samples | runs | wall ms, each | median | target |"
	echo "| --- | --- | --- | --- | --- |"
	echo "| $stored | $runs |$ms | $median | < 1000 ms |"
} >"$out"
cat "$out"
[ "$stored" -ge "$samples" ] || { echo "import: only $stored of $samples samples stored" >&2; exit 1; }
