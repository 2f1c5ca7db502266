#!/bin/sh
# make bench (store part): 1,000,000 samples into a fresh SQLite store, in
# batches of 10,000, through store/write.c.  Target (issue 4): at least
# 100,000 samples/s.  Writes bench/results/store.md.
set -eu
cd "$(dirname "$0")/.."
runs=${BENCH_STORE_RUNS:-3}
out=bench/results/store.md
bin=build/bench-store
mkdir -p build bench/results
gcc -std=gnu11 -O2 -g -o "$bin" bench/store.c $(ls store/*.c | grep -v /cmd_) lib/util.c -lsqlite3
for i in $(seq "$runs"); do "$bin" --samples 1000000 --batch 10000; done >build/bench-store.out
cat build/bench-store.out
median() { sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
rate=$(sed -n 's/.*per_second=\([0-9]*\).*/\1/p' build/bench-store.out | median)
min=$(sed -n 's/.*per_second=\([0-9]*\).*/\1/p' build/bench-store.out | sort -n | head -1)
max=$(sed -n 's/.*per_second=\([0-9]*\).*/\1/p' build/bench-store.out | sort -n | tail -1)
bytes=$(sed -n 's/.*bytes=\([0-9]*\) .*/\1/p' build/bench-store.out | head -1)
{
	echo "# Results store benchmark"
	echo
	echo "Produced by \`bench/store.sh\` on $(date -u +%Y-%m-%d), $(uname -m) host, $(nproc) CPUs,"
	echo "SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?'), a fresh file under /tmp; $runs runs of"
	echo "\`build/bench-store --samples 1000000 --batch 10000\` (bench/store.c: the store API, one prepared"
	echo "statement, WAL, synchronous=NORMAL, a conditions JSON document on every sample)."
	echo
	echo "| samples | batch | samples/s, median (min / max) | file size | bytes/sample | target |"
	echo "| --- | --- | --- | --- | --- | --- |"
	echo "| 1000000 | 10000 | $rate ($min / $max) | $bytes | $((bytes / 1000000)) | >= 100000 samples/s |"
	echo
	echo "Raw lines:"
	echo
	sed 's/^/    /' build/bench-store.out
} >"$out"
echo "bench: wrote $out"
awk -v r="$rate" 'BEGIN { exit !(r >= 100000) }' || { echo "bench: store below 100000 samples/s" >&2; exit 1; }
