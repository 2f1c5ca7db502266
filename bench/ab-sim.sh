#!/bin/sh
# kvmqual ab's rule on real interleaved samples (issue 18, "Performance").
#
#   bench/ab-sim.sh collect [SESSIONS]  A/A sessions here: `kvmqual ab` with two identical
#                                       arms, many rounds each; every sample into
#                                       bench/data/ab-noise.csv
#   bench/ab-sim.sh dump DB             that file from a collection's database
#   bench/ab-sim.sh simulate            experiments drawn from those sessions with 0, 5 and
#                                       10 % slowdowns injected into B: false alarms and
#                                       detection of ab's rule and its variants, beside
#                                       the nightly rule on the same samples; writes
#                                       bench/results/ab-sim.md
#
# make bench runs `simulate` only (the data file is in the repository;
# collecting it again takes hours on this machine).
set -eu
cd "$(dirname "$0")/.."
data=bench/data/ab-noise.csv
out=bench/results/ab-sim.md

collect() {
	sessions=${1:-8}
	rounds=${NOISE_ROUNDS:-30}
	workloads=${NOISE_WORKLOADS:-boot,sysbench-cpu-1t,sysbench-cpu,stream}
	# Each session's way of running, in turn: isolated (--isolate) or not,
	# and rounds per guest boot (0: one guest per arm for the session).
	modes=${NOISE_MODES:-isolate:1 isolate:0}
	dir=${NOISE_DIR:-/var/tmp/kvmqual-ab-noise}
	mkdir -p "$dir"
	db=$dir/noise.db
	# Copies of the binary and the image: rebuilding build/ during the
	# hours does not touch the collection.
	cp build/kvmqual "$dir/"
	rm -rf "$dir/image" && cp -r build/guest/aarch64 "$dir/image"
	set -- $modes
	nmodes=$#
	for i in $(seq "$sessions"); do
		k=$(( (i - 1) % nmodes + 1 ))
		eval "mode=\${$k}"
		every=${mode#*:}
		iso=
		[ "${mode%%:*}" = isolate ] && iso=--isolate
		echo "collect: session $i of $sessions ($mode)" >&2
		"$dir/kvmqual" ab --a default --b default --guest-arch aarch64 --accel tcg --image "$dir/image" \
			--workloads "$workloads" --rounds "$rounds" --reruns 0 --boot-every "$every" $iso --db "$db" \
			>"$dir/session-$i.log" 2>&1 ||
			echo "collect: session $i ended with status $? (see $dir/session-$i.log)" >&2
	done
	dump "$db"
}

# One line per sample: the session (experiment), its rounds per boot and
# whether it was isolated, the arm, the round, what, its value, and the host's load
# average then (conditions.load1; boots have none).
dump() {
	{
		echo "session,boot_every,isolated,arm,round,workload,metric,higher_is_better,value,flags,load1"
		sqlite3 -csv "$1" "
			SELECT x.id, json_extract(x.rule, '\$.boot_every'), coalesce(json_extract(x.rule, '\$.isolated'), 0),
			       s.arm, s.round, s.workload, s.metric,
			       s.higher_is_better, s.value, coalesce(s.flags, ''),
			       coalesce(json_extract(s.conditions, '\$.load1'), '')
			  FROM ab_samples s JOIN ab_experiments x ON x.id = s.experiment_id
			 WHERE x.status = 'complete' AND s.pass = 0 AND s.value IS NOT NULL
			 ORDER BY 1, 5, 4, 6, 7"
	} >"$data"
	echo "collect: $(($(wc -l <"$data") - 1)) samples in $data" >&2
}

simulate() {
	[ -f "$data" ] || { echo "simulate: no $data (bench/ab-sim.sh collect)" >&2; exit 2; }
	n=${SIM_EXPERIMENTS:-4000}
	mkdir -p build bench/results
	gcc -std=gnu11 -O2 -g -Ibuild/deps/include -o build/ab-sim bench/ab-sim.c bench/csv.c ab/rule.c \
		compare/compare.c lib/stats.c $(ls store/*.c | grep -v /cmd_) lib/util.c lib/json.c \
		build/deps/lib/libcjson.a -lsqlite3 -lm
	sim="build/ab-sim --data $data --experiments $n"
	count() { # FILTER-AWK: sessions and their rounds a side
		awk -F, "NR > 1 && ($1) {s[\$1] = 1; if (\$5 + 1 > r[\$1]) r[\$1] = \$5 + 1} END {
			n = 0; lo = 1e9; hi = 0; for (k in s) {n++; if (r[k] < lo) lo = r[k]; if (r[k] > hi) hi = r[k]}
			if (n) printf \"%d sessions of %d to %d rounds a side\", n, lo, hi; else printf \"none\"}" "$data"
	}
	load() { # FILTER-AWK
		awk -F, "NR > 1 && ($1) && \$11 != \"\" {n++; s += \$11; if (\$11 > m) m = \$11} END {
			if (n) printf \"mean %.1f, at most %.1f\", s / n, m; else printf \"-\"}" "$data"
	}
	head='| rule | false alarms (per metric) | experiments with any false alarm | 5 % detected | 10 % detected | the bound at 1 % false alarms: 5 %, 10 % (mean of the metrics) |'
	sep='| --- | --- | --- | --- | --- | --- |'
	{
		echo "# kvmqual ab's rule on real interleaved samples"
		echo
		echo "Produced by \`${SIM_EXPERIMENTS:+SIM_EXPERIMENTS=$n }bench/ab-sim.sh simulate\` (\`make bench\`) on $(date -u +%Y-%m-%d): \`$sim ...\`"
		echo "(\`bench/ab-sim.c\`, linked with the \`ab_decide\` that \`kvmqual ab\` runs)."
		echo
		echo "Data: \`$data\`, $(($(wc -l <"$data") - 1)) samples of A/A sessions made on this machine (x86_64, $(nproc)"
		echo "CPUs, itself a virtual machine, shared with up to six other jobs building and testing) by"
		echo "\`bench/ab-sim.sh collect\`: \`kvmqual ab --a default --b default --guest-arch aarch64 --accel tcg"
		echo "--workloads boot,sysbench-cpu-1t,sysbench-cpu,stream --reruns 0\`, the quick profile's durations (sysbench"
		echo "2 s), each session isolated (\`--isolate\`) or not, with a guest booted every round or one per arm"
		echo "for the whole session (\`--boot-every 1\` or \`0\`):"
		echo
		echo "- isolated, a boot every round: $(count '$3 == 1 && $2 == 1'); host load average $(load '$3 == 1 && $2 == 1')"
		echo "- isolated, one guest per arm: $(count '$3 == 1 && $2 == 0'); load $(load '$3 == 1 && $2 == 0')"
		echo "- not isolated: $(count '$3 == 0'); load $(load '$3 == 0')"
		echo
		echo "Each experiment: a window of consecutive rounds of one session (its pairs are real pairs, taken"
		echo "seconds apart, in the A B, B A order ab uses), the next window of the same session as its re-run,"
		echo "the arms swapped at random, and a slowdown of 0, 5 or 10 % injected into B (throughputs divided"
		echo "by 1.05 or 1.10, times multiplied). The sessions are A/A: at 0 % every change decided is a"
		echo "false alarm, at 5 and 10 % every regression decided is a detection. \"The bound\" is not a rule:"
		echo "per metric, the threshold on the first window's change set afterwards at exactly 1 % false"
		echo "alarms, knowing every experiment, and what it would have detected; no rule of the form \"the"
		echo "change is beyond a threshold\" does better on these samples."
		echo
		echo "## The host's noise within a session"
		echo
		echo "Per session and metric: one sample's spread (1.4826 x MAD of the logarithms, in percent), the"
		echo "spread of a pair's difference (what the paired test sees), the drift of arm A between the"
		echo "session's first 10 and last 10 rounds, and how much the two members of a pair move together;"
		echo "medians over the sessions."
		echo
		echo "Isolated, one guest per arm:"
		echo
		$sim --isolated 1 --boot-every 0 --noise
		echo
		echo "Isolated, a boot every round:"
		echo
		$sim --isolated 1 --boot-every 1 --noise
		echo
		echo "Not isolated:"
		echo
		$sim --isolated 0 --boot-every -1 --noise
		echo
		echo "## The rule as it ships"
		echo
		echo "Wilcoxon signed-rank test of the pairs at p < 0.01, beyond 2 %, one re-run that must agree."
		echo "Rows: rounds a side per pass; CPU: sysbench-cpu-1t and sysbench-cpu only; all: every metric."
		echo
		echo "$head"
		echo "$sep"
		for mode in "1 0 isolated, one guest per arm" "1 1 isolated, a boot every round" "0 -1 not isolated"; do
			set -- $mode
			iso=$1 every=$2
			shift 2
			for r in 10 20 30; do
				$sim --isolated "$iso" --boot-every "$every" --rounds $r --only sysbench --brief "$*, $r rounds, CPU"
			done
			$sim --isolated "$iso" --boot-every "$every" --rounds 10 --brief "$*, 10 rounds, all"
		done
		echo
		echo "Per metric, isolated, one guest per arm, 20 rounds a side:"
		echo
		$sim --isolated 1 --boot-every 0 --rounds 20 --metrics
		echo
		echo "## Other constants of the rule"
		echo
		echo "The same experiments (isolated, one guest per arm, 20 rounds a side, CPU metrics) under other"
		echo "constants; the default row first."
		echo
		echo "$head"
		echo "$sep"
		base="$sim --isolated 1 --boot-every 0 --rounds 20 --only sysbench"
		$base --brief "the defaults"
		$base --reruns 0 --brief "no re-run"
		for t in 1 3 5; do $base --threshold $t --brief "threshold $t %"; done
		$base --alpha 0.05 --brief "p < 0.05"
		$base --reruns 0 --alpha 0.05 --brief "p < 0.05, no re-run"
		$base --unpaired --brief "Mann-Whitney (unpaired) instead"
		$base --unpaired --reruns 0 --brief "Mann-Whitney, no re-run"
		echo
		echo "## The nightly rule on the same samples"
		echo
		echo "\`compare_decide\` (kvmqual compare's default rule, one baseline night), the sessions taken as"
		echo "nights: 5 samples of arm A of one session against 5 of another, the other sessions as the"
		echo "history. With few sessions the history is short, so its threshold is wide; the long simulation of"
		echo "the nightly rule on 30 and 40 real nights of this machine is \`bench/results/nightly-sim.md\`:"
		echo "there, last-good:5 detected $(sed -n 's/^| kvmqual compare, last-good:5 (five good runs pooled) | \([^|]*\) | [^|]* | \([^|]*\) | \([^|]*\) |.*/5 % slowdowns in \2 and 10 % in \3 of nights at \1 false alarms/p' bench/results/nightly-sim.md | head -n 1),"
		echo "and the best threshold chosen in hindsight $(sed -n 's/^| the bound for any threshold on the change, five runs pooled (1 % false alarms by construction) | [^|]* | [^|]* | \([^|]*\) | \([^|]*\) |.*/\1 and \2/p' bench/results/nightly-sim.md | head -n 1)."
		echo
		echo "$head"
		echo "$sep"
		$sim --isolated 1 --boot-every -1 --nightly "nightly rule, isolated sessions as nights"
		$sim --isolated 0 --boot-every -1 --nightly "nightly rule, not isolated sessions as nights"
		echo
		echo "What the tables mean: docs/ab.md, \"Proving it\"."
	} >"$out.tmp"
	mv "$out.tmp" "$out"
	cat "$out"
	echo "bench: wrote $out"
}

# The whole script is read before anything runs (main, then exit on the
# same line): editing it during an hours-long collection is safe.
main() {
	case "${1:-simulate}" in
	collect) shift; collect "$@" ;;
	dump) dump "$2" ;;
	simulate) simulate ;;
	*) echo "usage: $0 collect [SESSIONS] | dump DB | simulate" >&2; exit 2 ;;
	esac
}
main "$@"; exit $?
