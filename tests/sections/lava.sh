# lava: kvmqual export --format lava on the stored runs of
# tests/fixtures/results (real stores: the PVM development host, whose KVM
# cannot boot the guest; the lab hosts with nested KVM; the EL1 lab host,
# tcg-only), every line checked with the installed LAVA dispatcher's own
# signal pattern and test-case parser (tests/tools/lava_results.py reads
# them from lava_dispatcher, nothing copied); the cases each kind of run
# must give; bad databases and compare documents; the test definition and
# the example job (validated by LAVA's schema, and by lava-run --validate
# against the Pi 5 device type rendered from lava-server's templates).  A
# few seconds, no QEMU.  The real LAVA jobs are in lava-lab (make test-lab).
# Sourced by tests/run.sh (pass, fail, skip, $tmp, $KQ).

if ! /usr/bin/python3 -c 'import lava_dispatcher.actions.test.shell, lava_common.schemas' 2>/dev/null; then
	skip lava "needs LAVA's dispatcher (scripts/deps.sh lava)"
else
	ldir="$tmp/lava"
	mkdir -p "$ldir"
	LR="/usr/bin/python3 tests/tools/lava_results.py"

	# lava_export NAME DB [ARGS]: the export of a copy of DB (the store
	# marks dead runs interrupted on open: the fixture stays untouched) in
	# $ldir/NAME.out, its cases as LAVA parses them in $ldir/NAME.cases.
	lava_export() {
		le_name=$1 le_db=$2
		shift 2
		cp "$le_db" "$ldir/$le_name.db"
		"$KQ" export --db "$ldir/$le_name.db" --format lava "$@" >"$ldir/$le_name.out" 2>"$ldir/$le_name.err"
		le_rc=$?
		if [ $le_rc -ne 0 ]; then
			fail "lava/$le_name/export" "exit $le_rc: $(head -c 300 "$ldir/$le_name.err")"
			return 1
		fi
		if $LR signals "$ldir/$le_name.out" >"$ldir/$le_name.cases" 2>&1; then
			pass "lava/$le_name/lava-parses-every-signal"
		else
			fail "lava/$le_name/lava-parses-every-signal" "$(grep FAILED "$ldir/$le_name.cases" | head -3 | tr '\n' ' ')"
			return 1
		fi
	}
	# has_case NAME TEST LINE-REGEX: a case line of $ldir/NAME.cases.
	has_case() {
		if grep -Eq "$3" "$ldir/$1.cases"; then pass "lava/$1/$2"; else fail "lava/$1/$2" "no case matching '$3' in $ldir/$1.cases"; fi
	}
	no_case() {
		if grep -Eq "$3" "$ldir/$1.cases"; then fail "lava/$1/$2" "$(grep -E "$3" "$ldir/$1.cases" | head -3 | tr '\n' ' ')"; else pass "lava/$1/$2"; fi
	}

	fx=tests/fixtures/results
	for c in el2-nvhe-gicv2 el2-vhe-gicv3-smmuv3 el2-vhe-gicv3-acpi; do
		lava_export "$c" "$fx/lab-$c.db" || continue
		has_case "$c" probe-set '^case probe kvm\.smoke pass$'
		has_case "$c" verdict '^case probe probe\.verdict pass$'
		has_case "$c" run-complete '^case run run\.status pass$'
		has_case "$c" boot-kvm '^case boot boot\.kvm pass [0-9.]+ ms$'
		has_case "$c" boot-tcg '^case boot boot\.tcg pass [0-9.]+ ms$'
		for a in native tcg kvm; do
			has_case "$c" "sysbench-$a" "^case $a $a\.sysbench-cpu\.events_per_second pass [0-9.]+ events/s$"
			has_case "$c" "stream-$a" "^case $a $a\.stream\.triad_mbps pass [0-9.]+ MB/s$"
			has_case "$c" "fio-iops-$a" "^case $a $a\.fio-randread\.randread_iops pass [0-9.]+ IOPS$"
			has_case "$c" "iperf3-$a" "^case $a $a\.iperf3-h2g\.gbps pass [0-9.]+ Gbit/s$"
		done
		has_case "$c" pct-of-native '^case ratio sysbench-cpu\.events_per_second\.kvm-pct-of-native pass [0-9.]+ %$'
		has_case "$c" kvm-over-tcg '^case ratio sysbench-cpu\.events_per_second\.kvm-over-tcg pass [0-9.]+ x$'
		has_case "$c" target-cpu '^case targets target\.cpu (pass|fail) [0-9.]+ %$'
		has_case "$c" target-boot '^case targets target\.boot (pass|fail) [0-9.]+ ms$'
		# Guest-only workloads (tap) have no native number: skip, not fail.
		has_case "$c" native-tap-skip '^case native native\.iperf3-h2g-tap\.gbps skip$'
	done

	# The PVM host: KVM is usable by the probe, but the stock guest cannot
	# boot under it: the KVM numbers fail with the reason, TCG passes.
	if lava_export pvm "$fx/x86-pvm-host.db"; then
		has_case pvm kvm-boot-fails '^case boot boot\.kvm fail$'
		has_case pvm kvm-metric-fails '^case kvm kvm\.sysbench-cpu\.events_per_second fail$'
		has_case pvm tcg-boot '^case boot boot\.tcg pass [0-9.]+ ms$'
		has_case pvm run-incomplete '^case run run\.status fail$'
		if grep -q '^kvmqual: boot.kvm: fail: kvm: the guest did not boot' "$ldir/pvm.out"; then
			pass lava/pvm/reason-in-log
		else
			fail lava/pvm/reason-in-log "no 'kvm: the guest did not boot' reason for boot.kvm"
		fi
		# An earlier run by id.
		lava_export pvm-run1 "$fx/x86-pvm-host.db" --run 1 && has_case pvm-run1 by-id '^case run run\.samples pass'
	fi

	# The EL1 lab host: tcg-only.  Every KVM case skips, no KVM case, probe
	# check or target fails, and the probe's reason is in the log.  (That
	# run itself failed: nested TCG timed out on a loaded machine, so TCG
	# workloads fail there, with the run's reason.)
	if lava_export el1 "$fx/lab-el1.db"; then
		no_case el1 no-kvm-case-fails '^case (probe|targets) [^ ]+ fail|^case [a-z]+ [^ ]*kvm[^ ]* fail'
		has_case el1 target-skip '^case targets target\.cpu skip$'
		has_case el1 boot-kvm-skip '^case boot boot\.kvm skip$'
		has_case el1 kvm-device-skip '^case probe kvm\.device skip$'
		has_case el1 verdict-skip '^case probe probe\.verdict skip$'
		has_case el1 kvm-metric-skip '^case kvm kvm\.sysbench-cpu\.events_per_second skip$'
		has_case el1 native-measured '^case native native\.sysbench-cpu\.events_per_second pass [0-9.]+ events/s$'
		has_case el1 tcg-measured '^case tcg tcg\.iperf3-h2g\.gbps pass [0-9.]+ Gbit/s$'
		has_case el1 tcg-timeout-fails '^case tcg tcg\.sysbench-cpu\.events_per_second fail$'
		has_case el1 boot-tcg '^case boot boot\.tcg pass [0-9.]+ ms$'
		if grep -q '^kvmqual: boot.kvm: skip: tcg-only host: the probe found KVM unusable: ' "$ldir/el1.out"; then
			pass lava/el1/probe-reason-in-log
		else
			fail lava/el1/probe-reason-in-log "no probe reason for boot.kvm in $ldir/el1.out"
		fi
	fi

	# An interrupted run and a run without samples, in a store made here.
	cp "$fx/lab-el2-nvhe-gicv2.db" "$ldir/cut-src.db"
	sqlite3 "$ldir/cut-src.db" "UPDATE runs SET status = 'interrupted', reason = 'interrupted by SIGTERM';
		DELETE FROM samples WHERE accel = 'kvm'; DELETE FROM boot_samples WHERE accel = 'kvm';
		UPDATE speedups SET kvm_over_tcg = NULL, kvm_pct_of_native = NULL;"
	if lava_export cut "$ldir/cut-src.db"; then
		has_case cut run-fails '^case run run\.status fail$'
		has_case cut kvm-boot-fails '^case boot boot\.kvm fail$'
		has_case cut tcg-kept '^case tcg tcg\.sysbench-cpu\.events_per_second pass'
	fi
	cp "$fx/lab-el2-nvhe-gicv2.db" "$ldir/empty-src.db"
	sqlite3 "$ldir/empty-src.db" "UPDATE runs SET status = 'failed', reason = 'tcg: no QEMU';
		DELETE FROM samples; DELETE FROM boot_samples; DELETE FROM speedups; DELETE FROM verdicts;"
	if lava_export empty "$ldir/empty-src.db"; then
		has_case empty no-samples '^case run run\.samples fail 0.0 samples$'
		has_case empty boot-fails '^case boot boot\.tcg fail$'
	fi

	# compare: a regression is a failed case.  The PVM host's two runs,
	# with six TCG sysbench samples each, the second night 30 % slower
	# (enough samples for the test to reach significance).
	cp "$fx/x86-pvm-host.db" "$ldir/cmp-src.db"
	sqlite3 "$ldir/cmp-src.db" "DELETE FROM samples WHERE accel = 'tcg' AND workload = 'sysbench-cpu';
		WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 6)
		INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration, higher_is_better)
		SELECT r.id, 'tcg', 'sysbench-cpu', 'events_per_second', 'events/s',
			(CASE r.id WHEN 1 THEN 1000 ELSE 700 END) * (1 + n / 1000.0), n, 1
		FROM runs r, i;"
	"$KQ" compare --db "$ldir/cmp-src.db" --baseline 1 --candidate 2 --threshold 0 --allow-different --json \
		>"$ldir/cmp.json" 2>/dev/null
	if [ -s "$ldir/cmp.json" ] && lava_export cmp "$ldir/cmp-src.db" --run 2 --compare "$ldir/cmp.json"; then
		has_case cmp compare-set '^case compare compare\.tcg\.'
		regressions=$(grep -Ec '"decision":[[:space:]]*"regression"' "$ldir/cmp.json")
		cmp_failed=$(grep -c '^case compare .* fail ' "$ldir/cmp.cases")
		if [ "$regressions" -ge 1 ] && [ "$regressions" = "$cmp_failed" ]; then pass lava/cmp/regression-is-fail; else fail lava/cmp/regression-is-fail "$regressions regressions, $cmp_failed failed compare cases"; fi
	else
		fail lava/cmp/compare "no compare document or no export"
	fi

	# Bad input: the export fails on a missing or unreadable database and
	# names it; nothing is created by looking.
	"$KQ" export --db "$ldir/missing.db" --format lava >/dev/null 2>"$ldir/missing.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q "missing.db" "$ldir/missing.err" && [ ! -e "$ldir/missing.db" ]; then
		pass lava/missing-db
	else
		fail lava/missing-db "exit $rc: $(cat "$ldir/missing.err")"
	fi
	head -c 4096 /dev/urandom >"$ldir/junk.db"
	"$KQ" export --db "$ldir/junk.db" --format lava >"$ldir/junk.out" 2>"$ldir/junk.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q "junk.db" "$ldir/junk.err" && ! grep -q LAVA_SIGNAL "$ldir/junk.out"; then
		pass lava/junk-db
	else
		fail lava/junk-db "exit $rc: $(cat "$ldir/junk.err")"
	fi
	# A store cut short (its first 8 kB): SQLite cannot read it.
	head -c 8192 "$fx/x86-pvm-host.db" >"$ldir/truncated.db"
	"$KQ" export --db "$ldir/truncated.db" --format lava >"$ldir/truncated.out" 2>"$ldir/truncated.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q truncated.db "$ldir/truncated.err"; then
		pass lava/truncated-db
	else
		fail lava/truncated-db "exit $rc: $(cat "$ldir/truncated.err")"
	fi
	echo '{"schema":"kvmqual.compare","version":9}' >"$ldir/bad-compare.json"
	"$KQ" export --db "$ldir/pvm.db" --format lava --compare "$ldir/bad-compare.json" >/dev/null 2>"$ldir/bad-compare.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q bad-compare.json "$ldir/bad-compare.err"; then
		pass lava/bad-compare
	else
		fail lava/bad-compare "exit $rc: $(cat "$ldir/bad-compare.err")"
	fi

	# The test definition: LAVA's format, the parameters the script takes,
	# the script in POSIX sh (dash parses it; shellcheck when present).
	if /usr/bin/python3 - lava/kvmqual.yaml <<'PY' >"$ldir/testdef.err" 2>&1; then
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d["metadata"]["format"] == "Lava-Test Test Definition 1.0", d["metadata"]
for p in ("KIT", "PROFILE", "ACCEL", "PUBLISH_URL", "DIR", "WORKLOADS", "COMPARE", "RUN_ARGS"):
    assert p in d["params"], p
    assert "$" + p in " ".join(d["run"]["steps"]), p
PY
		pass lava/test-definition
	else
		fail lava/test-definition "$(tail -3 "$ldir/testdef.err" | tr '\n' ' ')"
	fi
	if dash -n lava/kvmqual-lava.sh 2>"$ldir/sh.err"; then pass lava/definition-script-posix; else fail lava/definition-script-posix "$(cat "$ldir/sh.err")"; fi
	if command -v shellcheck >/dev/null 2>&1; then
		if shellcheck -s sh lava/kvmqual-lava.sh >"$ldir/shellcheck.out" 2>&1; then pass lava/definition-script-shellcheck; else fail lava/definition-script-shellcheck "$(head -5 "$ldir/shellcheck.out" | tr '\n' ' ')"; fi
	fi

	# The example job for a Raspberry Pi 5: LAVA's job schema, then the
	# dispatcher's own validation against the device type of lava/,
	# rendered from lava-server's templates (placeholder power and console
	# commands that exist here; the image and repository made local).
	if /usr/bin/python3 -c 'import sys, yaml
from lava_common.schemas import validate
validate(yaml.safe_load(open(sys.argv[1])), strict=True)' lava/jobs/rpi5-kvmqual.yaml >"$ldir/schema.err" 2>&1; then
		pass lava/example-job-schema
	else
		fail lava/example-job-schema "$(tail -2 "$ldir/schema.err" | tr '\n' ' ')"
	fi
	if templates=$(tests/lava/templates.sh 2>"$ldir/templates.err"); then
		mkdir -p "$ldir/types" "$ldir/defs"
		cp "$templates"/*.jinja2 lava/device-types/*.jinja2 "$ldir/types/"
		if tests/lava/render-device.py "$ldir/types" bcm2712-rpi-5-b "$ldir/rpi5.jinja2" \
			'flasher_deploy_commands=["true {IMAGE}"]' power_on_command=true power_off_command=true \
			hard_reset_command=true connection_command="cat /dev/null" >"$ldir/rpi5.yaml" 2>"$ldir/rpi5.err"; then
			head -c 65536 /dev/zero | xz >"$ldir/rpi5.img.xz"
			cp -r lava "$ldir/defs/" && git -C "$ldir/defs" init -q && git -C "$ldir/defs" add lava &&
				git -C "$ldir/defs" -c user.name=t -c user.email=t@localhost commit -qm t
			sed -e "s|url: https://images.example.org/.*|url: file://$ldir/rpi5.img.xz|" \
				-e "s|repository: https://git.example.org/kvmqual.git|repository: file://$ldir/defs|" \
				lava/jobs/rpi5-kvmqual.yaml >"$ldir/rpi5-job.yaml"
			lava-run --validate --device "$ldir/rpi5.yaml" --job-id $$ --output-dir "$ldir/rpi5-out" \
				"$ldir/rpi5-job.yaml" >"$ldir/rpi5-validate.log" 2>&1
			$LR results "$ldir/rpi5-validate.log" >"$ldir/rpi5-results.txt" 2>&1
			if grep -q '^result lava - validate pass$' "$ldir/rpi5-results.txt"; then
				pass lava/example-job-validates
			else
				fail lava/example-job-validates "$(grep -o '"error_msg": "[^"]*"' "$ldir/rpi5-validate.log" | head -2)"
			fi
		else
			fail lava/rpi5-device-type "$(tail -2 "$ldir/rpi5.err" | tr '\n' ' ')"
		fi
	else
		fail lava/templates "$(cat "$ldir/templates.err")"
	fi
fi
