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
