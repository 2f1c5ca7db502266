#!/bin/sh
# What the measurements of issue 17 (latency, CPU time and energy per unit
# of work, QEMU's memory, the cold boot) add to a quick run's wall time:
# `kvmqual run --guest-arch aarch64 --accel tcg --profile quick` with a
# kvmqual from before them (KVMQUAL_BASE, a binary built next to its own
# stream and guest/ as make lays them out) and with build/kvmqual,
# interleaved A B B A ... so that the machine's load hits both alike.
# Goal: at most 20 % more.  Writes bench/results/measure.md.
#   KVMQUAL_BASE=/path/to/old/build/kvmqual bench/measure.sh [PAIRS]
set -eu
cd "$(dirname "$0")/.."
base=${KVMQUAL_BASE:?set KVMQUAL_BASE to a kvmqual built before the measurements}
new=$(pwd)/build/kvmqual
pairs=${1:-2}
out=bench/results/measure.md
tmp=$(mktemp -d /tmp/kvmqual-measure-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results

one() { # NAME BINARY: one quick run, its wall time in s and the load average after it
	start=$(date +%s.%N)
	"$2" run --guest-arch aarch64 --accel tcg --profile quick --targets runners/targets.conf \
		--db "$tmp/$1/kq.db" --json >"$tmp/$1.json" 2>"$tmp/$1.err" || true
	end=$(date +%s.%N)
	status=$(build/tests/json_get "$tmp/$1.json" status 2>/dev/null)
	echo "$1 $(echo "$end - $start" | bc) $(cut -d' ' -f1 /proc/loadavg) ${status:-none}"
}

: >"$tmp/times"
i=1
while [ $i -le "$pairs" ]; do
	if [ $((i % 2)) -eq 1 ]; then
		one "A$i" "$base" >>"$tmp/times"
		one "B$i" "$new" >>"$tmp/times"
	else
		one "B$i" "$new" >>"$tmp/times"
		one "A$i" "$base" >>"$tmp/times"
	fi
	i=$((i + 1))
done

median() { sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
a=$(awk '/^A/ {print $2}' "$tmp/times" | median)
b=$(awk '/^B/ {print $2}' "$tmp/times" | median)
{
	echo "# What the cost measurements add to a quick run"
	echo
	echo "Produced by \`KVMQUAL_BASE=... bench/measure.sh $pairs\` on $(date -u +%Y-%m-%d), $(uname -m), $(nproc) CPUs:"
	echo "\`kvmqual run --guest-arch aarch64 --accel tcg --profile quick\`, before (A) and after (B) the measurements"
	echo "of issue 17, interleaved."
	echo
	echo "| run | wall, s | load average after | status |"
	echo "| --- | --- | --- | --- |"
	awk '{printf "| %s | %.1f | %s | %s |\n", $1, $2, $3, $4}' "$tmp/times"
	echo
	echo "Median A $a s, B $b s: $(echo "$a $b" | awk '{printf "%+.1f %%", ($2 / $1 - 1) * 100}') (goal: at most +20 %)."
} >"$out"
cat "$out"
