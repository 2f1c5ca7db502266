# ab-long: kvmqual ab and tune at length (`make test-lab`, not `make test`).
#  - A/A, twenty times: identical arms in a short experiment (8 rounds a
#    side of sysbench-cpu-1t, --isolate) must be called equal (exit 0, no
#    change) in at least 19 of the 20;
#  - kvmqual tune here (pinning, vCPU count, huge pages skipped), then the
#    report's Tuning section shows its recommendation;
#  - kvmqual tune in the lab's VHE host (el2-vhe-gicv3-smmuv3) under its KVM
#    with a short budget: every setting tried or skipped with the reason, a
#    recommendation with intervals.
# About 40 minutes here.  AB_LONG_REPEATS (20) and AB_LONG_LAB_BUDGET (900 s)
# change it.  Sourced by tests/run.sh (pass, fail, skip, $tmp, $KQ, $JG).

if ! command -v qemu-system-aarch64 >/dev/null 2>&1 || ! command -v sysbench >/dev/null 2>&1; then
	skip ab-long "needs qemu-system-aarch64 and sysbench (scripts/deps.sh test)"
elif [ ! -f build/guest/aarch64/vmlinuz ] || [ ! -x "$KQ" ]; then
	skip ab-long "no aarch64 guest image or no build/kvmqual (make guest-image kvmqual)"
else
	ald="$tmp/ab-long"
	mkdir -p "$ald"
	abq="--guest-arch aarch64 --accel tcg"

	# ---- A/A, twenty times ----
	repeats=${AB_LONG_REPEATS:-20}
	same=0 detail=
	for i in $(seq "$repeats"); do
		timeout 1200 "$KQ" ab $abq --a default --b default --isolate --workloads sysbench-cpu-1t --rounds 8 \
			--boot-every 0 --db "$ald/aa.db" --json >"$ald/aa-$i.json" 2>"$ald/aa-$i.err"
		rc=$?
		dec=$("$JG" "$ald/aa-$i.json" experiments.0.results.0.decision 2>/dev/null)
		ch=$("$JG" "$ald/aa-$i.json" experiments.0.results.0.change_pct 2>/dev/null)
		detail="$detail $i:$rc/$dec/$(printf '%.1f' "${ch:-0}" 2>/dev/null)"
		[ $rc -eq 0 ] && [ "$dec" = "no change" ] && same=$((same + 1))
	done
	echo "ab-long: A/A called equal in $same of $repeats:$detail"
	if [ "$same" -ge $((repeats - repeats / 20)) ]; then
		pass ab-long/a-a-equal-19-of-20
	else
		fail ab-long/a-a-equal-19-of-20 "$same of $repeats equal (exit/decision/change %):$detail"
	fi

	# ---- tune here, then the report ----
	timeout 900 "$KQ" run $abq --net user --workloads sysbench-cpu-1t --iterations 1 --db "$ald/tune.db" >"$ald/run.out" 2>&1
	timeout 2400 "$KQ" tune $abq --settings pinning,vcpus,hugepages --rounds 8 --boot-every 0 --isolate \
		--db "$ald/tune.db" >"$ald/tune.out" 2>"$ald/tune.err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^recommended for pinning: ' "$ald/tune.out" &&
		grep -q '^recommended for vcpus: ' "$ald/tune.out" && grep -q '^  hugepages  skipped: ' "$ald/tune.out" &&
		grep -q 'sysbench-cpu.events_per_second .*\[[-+][0-9.]*, [-+][0-9.]*\]' "$ald/tune.out"; then
		pass ab-long/tune-here-recommends
	else
		fail ab-long/tune-here-recommends "exit $rc: $(tail -c 1500 "$ald/tune.out") $(tail -c 300 "$ald/tune.err")"
	fi
	"$KQ" report --db "$ald/tune.db" --out "$ald/report" >"$ald/report.out" 2>&1
	if grep -q 'kvmqual tune, session 1' "$ald/report/index.html" 2>/dev/null &&
		grep -q '<td>pinning</td><td>' "$ald/report/index.html" && grep -q '<td>vcpus</td><td>' "$ald/report/index.html" &&
		grep -q '^| hugepages | skipped | ' "$ald/report/report.md"; then
		pass ab-long/report-shows-tune
	else
		fail ab-long/report-shows-tune "$(tail -c 300 "$ald/report.out") $(grep -A20 'id="tuning"' "$ald/report/index.html" 2>&1 | head -c 1200)"
	fi

	# ---- tune in the lab's VHE host, under its KVM ----
	if [ ! -f build/lab/payload.img ]; then
		fail ab-long/lab-tune "no build/lab/payload.img (make lab)"
	else
		c=el2-vhe-gicv3-smmuv3
		d="$ald/lab-$c"
		budget=${AB_LONG_LAB_BUDGET:-900}
		start=$(date +%s)
		LAB_TIMEOUT=$((budget * 4 + 1800)) LAB_PAYLOAD=build/lab/payload.img LAB_WORK_MB=1024 LAB_MEM=3072 LAB_SMP=2 \
			tests/lab/run.sh "$c" "$d" sh -c "
				cd /work || exit 90
				{ kvmqual tune --accel kvm --profile quick --budget $budget --db /work/kvmqual.db >/out/tune.txt
				  echo \$? >/out/tune-rc.txt; } 2>&1 | cat
				cp /work/kvmqual.db /out/kvmqual.db" >"$ald/lab.log" 2>&1
		rc=$?
		echo "ab-long: tune in $c took $(($(date +%s) - start)) s"
		trc=$(cat "$d/tune-rc.txt" 2>/dev/null)
		if [ $rc -eq 0 ] && [ "$trc" = 0 ] && grep -q '^kvmqual tune: .* s; recommended QEMU command line for this host:' "$d/tune.txt" &&
			grep -q 'kvm' "$d/tune.txt" && grep -q '^recommended for pinning: ' "$d/tune.txt" &&
			grep -q '\[[-+][0-9.]*, [-+][0-9.]*\]' "$d/tune.txt" && grep -q '^  hugepages  skipped: ' "$d/tune.txt"; then
			pass ab-long/lab-tune-under-kvm
		else
			fail ab-long/lab-tune-under-kvm "exit $rc, tune exit '$trc': $(tail -c 2000 "$d/tune.txt" 2>&1) $(tail -n 30 "$ald/lab.log" | tr '\n' ' ' | tail -c 1500)"
		fi
		s=$(sqlite3 "$d/kvmqual.db" "SELECT accel || ' ' || status FROM ab_sessions" 2>&1)
		if [ "$s" = "kvm complete" ]; then
			pass ab-long/lab-tune-stored
		else
			fail ab-long/lab-tune-stored "session: '$s'"
		fi
		if [ -n "${LAB_RESULTS_DIR:-}" ]; then
			mkdir -p "$LAB_RESULTS_DIR"
			cp "$d/tune.txt" "$LAB_RESULTS_DIR/lab-$c-tune.txt"
		fi
	fi
fi
