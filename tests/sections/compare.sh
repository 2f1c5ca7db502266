# compare: kvmqual compare on databases made here with known shifts (the
# schema created by kvmqual itself, the rows written with sqlite3): no shift
# exits 0; a 20 % slowdown exits 1, comes first in the table and is a JUnit
# <failure> (well-formed XML, names escaped, checked with xmllint); another
# guest image exits 2 unless --allow-different; throttled samples are left
# out and counted; last-good skips a run that regressed; a first night;
# bad run ids, options and databases exit 2.  A few seconds, no QEMU.
# Sourced by tests/run.sh (pass, fail, skip, $tmp, $KQ, $JG).

if ! command -v sqlite3 >/dev/null 2>&1 || ! command -v xmllint >/dev/null 2>&1; then
	skip compare "needs sqlite3 and xmllint (scripts/deps.sh test: sqlite3 libxml2-utils)"
else
	cmpdir="$tmp/compare"
	mkdir -p "$cmpdir"

	# cmp_db FILE: an empty store at the schema kvmqual creates, one host.
	cmp_db() {
		"$TT/store_init" "$1"
		sqlite3 "$1" "INSERT INTO hosts (host_key, arch, model, soc, kernel_release, page_size)
			VALUES ('00000000000000aa', 'aarch64', 'board', 'soc', '6.1.0', 4096);"
	}

	# cmp_run FILE STATUS IMAGE SYSBENCH_FACTOR [THROTTLED] : a run with five
	# samples of each metric (a spread of about 0.5 %), sysbench-cpu-1t
	# multiplied by the factor; THROTTLED=n flags n of its samples and
	# makes them wild.  Also a metric whose names need XML escaping.
	cmp_run() {
		awk -v status="$2" -v image="$3" -v f="$4" -v thr="${5:-0}" 'BEGIN {
			q = sprintf("%c", 39)
			print "INSERT INTO runs (host_id, status, profile, suite_version, qemu_version, guest_image_hash, pid)"
			printf "VALUES (1, %s%s%s, %squick%s, %s0.1.0%s, %s7.2.22%s, %s%s%s, 1);\n", q, status, q, q, q, q, q, q, q, q, image, q
			split("-0.004 0.002 0 0.003 -0.002", jitter, " ")
			for (i = 1; i <= 5; i++) {
				j = jitter[(i + status_len) % 5 + 1]
				v = 1000 * (1 + j) * f; flags = "NULL"
				if (i <= thr) { v = 10; flags = q "throttled" q }
				row("tcg", "sysbench-cpu-1t", "events_per_second", "events/s", v, i, 1, flags)
				row("tcg", "stream", "triad_mbps", "MB/s", 5000 * (1 + jitter[i]), i, 1, "NULL")
				row("native", "sysbench-cpu-1t", "events_per_second", "events/s", 3000 * (1 - jitter[i]), i, 1, "NULL")
				row("tcg", "odd<&>\"" q "wl", "m" q "1", "u<>", 7 * (1 + jitter[i]), i, 0, "NULL")
				printf "INSERT INTO boot_samples (run_id, accel, iteration, total_ms) VALUES ((SELECT max(id) FROM runs), %stcg%s, %d, %.3f);\n", q, q, i, 1200 * (1 + jitter[i])
			}
		}
		function row(accel, w, m, unit, v, i, higher, flags) {
			gsub(q, q q, w); gsub(q, q q, m)
			printf "INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration, higher_is_better, flags) VALUES ((SELECT max(id) FROM runs), %s%s%s, %s%s%s, %s%s%s, %s%s%s, %.6f, %d, %d, %s);\n", q, accel, q, q, w, q, q, m, q, q, unit, q, v, i, higher, flags
		}' | sqlite3 "$1"
	}

	# Runs 1-3 are the machine's history: with fewer than 3 earlier runs
	# the night-to-night noise is unknown and only changes beyond 50 %
	# count (tested below with a fresh database).
	db="$cmpdir/k.db"
	cmp_db "$db"
	cmp_run "$db" complete sha256:one 1.002   # 1
	cmp_run "$db" complete sha256:one 0.999   # 2
	cmp_run "$db" complete sha256:one 1.0005  # 3
	cmp_run "$db" complete sha256:one 1       # 4
	cmp_run "$db" complete sha256:one 1.001   # 5: no shift
	cmp_run "$db" complete sha256:one 0.8     # 6: sysbench-cpu-1t 20 % slower
	cmp_run "$db" complete sha256:two 1       # 7: another guest image
	cmp_run "$db" complete sha256:two 1 2     # 8: two throttled samples
	cmp_run "$db" failed sha256:two 1         # 9: failed

	# No shift: exit 0, nothing regressed, JUnit without failures.
	"$KQ" compare --db "$db" --baseline 4 --candidate 5 --junit "$cmpdir/same.xml" >"$cmpdir/same.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && xmllint --noout "$cmpdir/same.xml" 2>"$cmpdir/same.xmllint" &&
		[ "$(grep -c '<testcase' "$cmpdir/same.xml")" -eq 5 ] && ! grep -q '<failure' "$cmpdir/same.xml"; then
		pass compare/no-shift-exit-0
	else
		fail compare/no-shift-exit-0 "exit $rc: $(head -c 600 "$cmpdir/same.out") $(cat "$cmpdir/same.xmllint" 2>/dev/null)"
	fi

	# An obvious regression: exit 1, first in the table, a JUnit failure
	# naming it with the numbers; the JSON says the same.
	"$KQ" compare --db "$db" --baseline 5 --candidate 6 --junit "$cmpdir/reg.xml" >"$cmpdir/reg.out" 2>&1
	rc=$?
	first=$(awk '/^decision/ {getline; print; exit}' "$cmpdir/reg.out")
	if [ $rc -eq 1 ] && echo "$first" | grep -q '^REGRESSION .*tcg .*sysbench-cpu-1t.events_per_second .*-20.1%'; then
		pass compare/regression-exit-1
	else
		fail compare/regression-exit-1 "exit $rc, first row '$first': $(head -c 800 "$cmpdir/reg.out")"
	fi
	if xmllint --noout "$cmpdir/reg.xml" 2>"$cmpdir/reg.xmllint" &&
		[ "$(xmllint --xpath 'count(//testcase)' "$cmpdir/reg.xml")" = 5 ] &&
		[ "$(xmllint --xpath 'count(//failure)' "$cmpdir/reg.xml")" = 1 ] &&
		[ "$(xmllint --xpath 'string(//testsuite/@failures)' "$cmpdir/reg.xml")" = 1 ] &&
		xmllint --xpath 'string(//testcase[failure]/@classname)' "$cmpdir/reg.xml" | grep -q 'kvmqual.tcg.sysbench-cpu-1t' &&
		xmllint --xpath 'string(//failure/@message)' "$cmpdir/reg.xml" | grep -q "regression: -20.1 %" &&
		xmllint --xpath 'string(//failure)' "$cmpdir/reg.xml" | grep -q 'baseline median 1001 events/s (5 samples'; then
		pass compare/junit-failure
	else
		fail compare/junit-failure "$(cat "$cmpdir/reg.xmllint") $(head -c 1500 "$cmpdir/reg.xml")"
	fi
	# The names that need escaping come back intact through an XML parser.
	if [ "$(xmllint --xpath "string(//testcase[@name=\"m'1\"]/@classname)" "$cmpdir/reg.xml")" = "kvmqual.tcg.odd<&>\"'wl" ]; then
		pass compare/junit-escaping
	else
		fail compare/junit-escaping "$(grep -F 'm&apos;1' "$cmpdir/reg.xml" | head -c 400)"
	fi
	"$KQ" compare --db "$db" --baseline 5 --candidate 6 --json >"$cmpdir/reg.json" 2>/dev/null
	if [ "$("$JG" "$cmpdir/reg.json" summary.regressions)" = 1 ] &&
		[ "$("$JG" "$cmpdir/reg.json" metrics.0.decision)" = regression ] &&
		[ "$("$JG" "$cmpdir/reg.json" metrics.0.workload)" = sysbench-cpu-1t ] &&
		[ "$("$JG" "$cmpdir/reg.json" error)" = null ]; then
		pass compare/json
	else
		fail compare/json "$(head -c 800 "$cmpdir/reg.json")"
	fi

	# Another guest image: refused (exit 2, saying what differs) unless
	# --allow-different.
	"$KQ" compare --db "$db" --baseline 5 --candidate 7 >"$cmpdir/diff.out" 2>&1
	rc=$?
	if [ $rc -eq 2 ] && grep -q "guest image: 'sha256:one' -> 'sha256:two'" "$cmpdir/diff.out" &&
		grep -q -- --allow-different "$cmpdir/diff.out"; then
		pass compare/different-image-refused
	else
		fail compare/different-image-refused "exit $rc: $(head -c 600 "$cmpdir/diff.out")"
	fi
	"$KQ" compare --db "$db" --baseline 5 --candidate 7 --allow-different >"$cmpdir/diff2.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q "compared although they differ" "$cmpdir/diff2.out"; then
		pass compare/allow-different
	else
		fail compare/allow-different "exit $rc: $(head -c 600 "$cmpdir/diff2.out")"
	fi

	# Throttled samples: left out and counted.
	"$KQ" compare --db "$db" --baseline 7 --candidate 8 --json >"$cmpdir/thr.json" 2>"$cmpdir/thr.err"
	rc=$?
	n=0
	while [ "$("$JG" "$cmpdir/thr.json" metrics.$n.workload 2>/dev/null)" != sysbench-cpu-1t ] ||
		[ "$("$JG" "$cmpdir/thr.json" metrics.$n.accel 2>/dev/null)" != tcg ]; do
		n=$((n + 1))
		[ $n -gt 10 ] && break
	done
	if [ $rc -eq 0 ] && [ "$("$JG" "$cmpdir/thr.json" summary.throttled_excluded)" = 2 ] &&
		[ "$("$JG" "$cmpdir/thr.json" metrics.$n.candidate.excluded)" = 2 ] &&
		[ "$("$JG" "$cmpdir/thr.json" metrics.$n.candidate.samples)" = 3 ]; then
		pass compare/throttled-excluded
	else
		fail compare/throttled-excluded "exit $rc: $(head -c 800 "$cmpdir/thr.json") $(cat "$cmpdir/thr.err")"
	fi
	"$KQ" compare --db "$db" --baseline 7 --candidate 8 >"$cmpdir/thr.out" 2>&1
	if grep -q '2 throttled samples left out' "$cmpdir/thr.out"; then
		pass compare/throttled-counted
	else
		fail compare/throttled-counted "$(tail -3 "$cmpdir/thr.out")"
	fi

	# last-good: run 6 regressed, so run 7's last-good is run 5 (and they
	# differ in the guest image).
	"$KQ" compare --db "$db" --candidate 7 --json --allow-different >"$cmpdir/lg.json" 2>"$cmpdir/lg.err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$("$JG" "$cmpdir/lg.json" baseline.runs.0)" = 5 ] && [ "$("$JG" "$cmpdir/lg.json" candidate)" = 7 ]; then
		pass compare/last-good-skips-regressed
	else
		fail compare/last-good-skips-regressed "exit $rc: $(head -c 400 "$cmpdir/lg.json") $(cat "$cmpdir/lg.err")"
	fi
	# last-good:3 pools the good runs only: 5, 4, 3 (6 regressed).
	"$KQ" compare --db "$db" --candidate 7 --baseline last-good:3 --json --allow-different \
		>"$cmpdir/lg3.json" 2>"$cmpdir/lg3.err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$("$JG" "$cmpdir/lg3.json" baseline.runs)" = "[5,4,3]" ] &&
		"$JG" "$cmpdir/lg3.json" baseline.description | grep -q 'last-good:3, 3 good runs pooled (newest 5, oldest 3)'; then
		pass compare/last-good-pooled
	else
		fail compare/last-good-pooled "exit $rc: $(head -c 600 "$cmpdir/lg3.json") $(cat "$cmpdir/lg3.err")"
	fi
	# latest is the newest usable run (8; 9 failed); median-of:3 pools 7, 6, 5.
	"$KQ" compare --db "$db" --baseline median-of:3 --json --allow-different >"$cmpdir/med.json" 2>"$cmpdir/med.err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$("$JG" "$cmpdir/med.json" candidate)" = 8 ] &&
		[ "$("$JG" "$cmpdir/med.json" baseline.runs)" = "[7,6,5]" ]; then
		pass compare/median-of
	else
		fail compare/median-of "exit $rc: $(head -c 600 "$cmpdir/med.json") $(cat "$cmpdir/med.err")"
	fi

	# A first night: nothing to compare with.
	db1="$cmpdir/one.db"
	cmp_db "$db1"
	cmp_run "$db1" complete sha256:one 1
	"$KQ" compare --db "$db1" >"$cmpdir/first.out" 2>&1
	rc1=$?
	"$KQ" compare --db "$db1" --no-baseline-ok --junit "$cmpdir/first.xml" >"$cmpdir/first2.out" 2>&1
	rc2=$?
	if [ $rc1 -eq 2 ] && [ $rc2 -eq 0 ] && grep -q 'nothing to compare' "$cmpdir/first2.out" &&
		xmllint --noout "$cmpdir/first.xml" && grep -q '<skipped' "$cmpdir/first.xml"; then
		pass compare/first-night
	else
		fail compare/first-night "exit $rc1 / $rc2: $(cat "$cmpdir/first.out" "$cmpdir/first2.out" | head -c 600)"
	fi

	# Two runs only: the night-to-night noise is unknown, so the 20 %
	# slowdown is no regression (only beyond 50 %), and the output says why;
	# a halving is one.
	db2="$cmpdir/two.db"
	cmp_db "$db2"
	cmp_run "$db2" complete sha256:one 1
	cmp_run "$db2" complete sha256:one 0.8
	cmp_run "$db2" complete sha256:one 0.4
	"$KQ" compare --db "$db2" --baseline 1 --candidate 2 >"$cmpdir/young.out" 2>&1
	rc=$?
	"$KQ" compare --db "$db2" --baseline 1 --candidate 3 >"$cmpdir/young2.out" 2>&1
	rc2=$?
	if [ $rc -eq 0 ] && grep -q 'no change .*tcg .*sysbench-cpu-1t.events_per_second .*-20.0% .* 50.0%' "$cmpdir/young.out" &&
		grep -q 'without this machine.s night-to-night noise (fewer than 3 earlier runs): only changes beyond 50 %' "$cmpdir/young.out" &&
		[ $rc2 -eq 1 ]; then
		pass compare/young-machine-needs-large-change
	else
		fail compare/young-machine-needs-large-change "exit $rc / $rc2: $(head -c 900 "$cmpdir/young.out")"
	fi

	# A young machine that is noisy within a run: the threshold is then
	# 4 x the within-run noise when that is above 50 %.  Samples spread
	# +-30 % (a robust spread of 22.2 %): 4 x 22.2 = 88.9 on the log
	# scale, a threshold of -58.9 % for a throughput; -55 % is not a
	# regression there (it would be under the 50 % floor alone), -70 % is.
	# (The nightly section fixes --threshold for its capped night and
	# relies on this test for the default rule.)
	db3="$cmpdir/noisy.db"
	cmp_db "$db3"
	for f in 1 0.45 0.3; do
		awk -v f="$f" 'BEGIN {
			q = sprintf("%c", 39)
			print "INSERT INTO runs (host_id, status, profile, suite_version, qemu_version, guest_image_hash, pid)"
			print "VALUES (1, " q "complete" q ", " q "quick" q ", " q "0.1.0" q ", " q "7.2.22" q ", " q "sha256:one" q ", 1);"
			split("-0.3 -0.15 0 0.15 0.3", j, " ")
			for (i = 1; i <= 5; i++)
				printf "INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration, higher_is_better) VALUES ((SELECT max(id) FROM runs), %stcg%s, %ssysbench-cpu-1t%s, %sevents_per_second%s, %sevents/s%s, %.6f, %d, 1);\n", q, q, q, q, q, q, q, q, 1000 * (1 + j[i]) * f, i
		}' | sqlite3 "$db3"
	done
	"$KQ" compare --db "$db3" --baseline 1 --candidate 2 >"$cmpdir/noisy.out" 2>&1
	rc=$?
	"$KQ" compare --db "$db3" --baseline 1 --candidate 3 >"$cmpdir/noisy2.out" 2>&1
	rc2=$?
	if [ $rc -eq 0 ] && grep -q 'no change .*sysbench-cpu-1t.events_per_second .*-55.0% .* 58.9%' "$cmpdir/noisy.out" &&
		[ $rc2 -eq 1 ] && grep -q '^REGRESSION .*sysbench-cpu-1t.events_per_second .*-70.0% .* 58.9%' "$cmpdir/noisy2.out"; then
		pass compare/young-noisy-machine-threshold-from-noise
	else
		fail compare/young-noisy-machine-threshold-from-noise "exit $rc / $rc2: $(head -c 600 "$cmpdir/noisy.out") $(head -c 400 "$cmpdir/noisy2.out")"
	fi

	# Bad run ids, options and databases: exit 2 with the reason.
	cmp_bad() {
		name=$1 want=$2
		shift 2
		"$KQ" compare "$@" >"$cmpdir/bad.out" 2>&1
		rc=$?
		if [ $rc -eq 2 ] && grep -q -- "$want" "$cmpdir/bad.out"; then
			pass "compare/$name"
		else
			fail "compare/$name" "exit $rc: $(head -c 400 "$cmpdir/bad.out")"
		fi
	}
	cmp_bad no-such-run "no run 99" --db "$db" --candidate 99
	cmp_bad no-such-baseline "no run 42" --db "$db" --baseline 42 --candidate 2
	cmp_bad bad-run-id "takes a run id" --db "$db" --candidate 2x
	cmp_bad bad-baseline "takes a run id, 'last-good'" --db "$db" --baseline yesterday
	cmp_bad same-run "the same run" --db "$db" --baseline 5 --candidate 5
	cmp_bad failed-run "run 9 is failed" --db "$db" --baseline 5 --candidate 9
	cmp_bad bad-median-of "median-of:N takes N" --db "$db" --baseline median-of:0
	cmp_bad bad-last-good-n "last-good:N takes N from 1 to 100, not 'x'" --db "$db" --baseline last-good:x
	cmp_bad big-last-good-n "last-good:N takes N" --db "$db" --baseline last-good:101
	cmp_bad bad-threshold "threshold takes" --db "$db" --threshold -3
	cmp_bad no-db "No such file" --db "$cmpdir/missing.db"
	head -c 4096 /dev/urandom >"$cmpdir/junk.db"
	cmp_bad junk-db "not a SQLite database" --db "$cmpdir/junk.db"
	cmp_bad junit-dir "junit" --db "$db" --baseline 4 --candidate 5 --junit "$cmpdir/no/such/dir/j.xml"
	"$KQ" compare --db "$db" --candidate 99 --json >"$cmpdir/bad.json" 2>/dev/null
	if [ "$("$JG" "$cmpdir/bad.json" error | grep -c 'no run 99')" = 1 ]; then
		pass compare/json-error
	else
		fail compare/json-error "$(head -c 300 "$cmpdir/bad.json")"
	fi
	# An explicit threshold: 25 % hides the 20 % slowdown.
	"$KQ" compare --db "$db" --baseline 5 --candidate 6 --threshold 25 >"$cmpdir/t25.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && pass compare/threshold-option || fail compare/threshold-option "exit $rc: $(head -c 400 "$cmpdir/t25.out")"
fi
