# lab-nested: the whole suite on emulated ARM64 hosts (`make test-lab`, not
# part of `make test`). In every KVM-capable lab host (those whose
# lab-CONFIG.live.expect says kvm-ready or kvm-limited) `kvmqual run --accel
# kvm,tcg --profile quick` runs end to end from the payload disk
# (tests/lab/build-payload.sh): the native baselines with Debian's arm64
# tools, the benchmark guest under TCG (nested emulation) and under the lab
# host's own KVM (`-cpu host`, the GIC the probe found). The database comes
# back out and is checked here: the run completed, every workload has
# samples under native, tcg and kvm, boots under both, the probe stored
# with the run marks the host emulated, and KVM booted the guest faster
# than TCG; latency, CPU time per unit of work, QEMU's memory overhead and
# the cold boot under both accelerators; then, under KVM, STREAM and
# sysbench on 2 MB huge pages (verified in smaps) and the balloon. The ARM64 kvmqual's export of the run must be a kvmqual.export
# bundle. Tens of minutes per host (docs/lab.md has the times).
#
# Environment: LAB_NESTED_CONFIGS (default: every KVM-capable config),
# LAB_NESTED_TIMEOUT (seconds per host, default 5400), LAB_RESULTS_DIR
# (when set, the databases and export bundles are kept there as
# lab-CONFIG.db and lab-CONFIG.json).
# Sourced by tests/run.sh (pass, fail, skip, $tmp, $JG).

# The plan of `kvmqual run --profile quick` (runners/sampling.c: no extra
# steps, so no stress-ng-cpu); the -tap steps only run in a guest (tap
# networking in a namespace), so they have no native samples.
lab_workloads="sysbench-cpu sysbench-cpu-1t stream fio-seqread fio-seqwrite fio-randread iperf3-h2g iperf3-g2h sockperf-rr"
lab_tap_workloads="iperf3-h2g-tap iperf3-g2h-tap sockperf-rr-tap"

lab_ntail() { tail -n 60 "$1" | tr -d '\r' | tr '\n' ' ' | tail -c 3000; }

# lab_sql DB SQL: one value from the returned database.
lab_sql() { sqlite3 -batch -noheader "$1" "$2" 2>&1; }

lab_check_db() { # CONFIG DB DIR
	c=$1 db=$2 d=$3
	status=$(lab_sql "$db" "SELECT status FROM runs ORDER BY id DESC LIMIT 1")
	if [ "$status" = complete ]; then
		pass "lab-nested/$c/run-complete"
	else
		fail "lab-nested/$c/run-complete" "status '$status': $(lab_sql "$db" "SELECT reason FROM runs ORDER BY id DESC LIMIT 1" | head -c 1500)"
	fi
	missing=
	for accel in native tcg kvm; do
		want=$lab_workloads
		[ "$accel" = native ] || want="$want $lab_tap_workloads"
		for w in $want; do
			n=$(lab_sql "$db" "SELECT count(*) FROM samples WHERE accel = '$accel' AND workload = '$w' AND value IS NOT NULL")
			[ "$n" -gt 0 ] 2>/dev/null || missing="$missing $accel/$w"
		done
	done
	if [ -z "$missing" ]; then
		pass "lab-nested/$c/every-workload-has-samples"
	else
		fail "lab-nested/$c/every-workload-has-samples" "no samples for:$missing"
	fi
	boots=$(lab_sql "$db" "SELECT group_concat(accel || '=' || n, ' ') FROM (SELECT accel, count(*) AS n FROM boot_samples GROUP BY accel ORDER BY accel)")
	case " $boots " in
	*" kvm="[1-9]*" tcg="[1-9]*) pass "lab-nested/$c/boots" ;;
	*) fail "lab-nested/$c/boots" "boot samples: '$boots'" ;;
	esac
	# KVM really ran the guest: it boots faster than the nested emulation.
	faster=$(lab_sql "$db" "SELECT (SELECT avg(total_ms) FROM boot_samples WHERE accel = 'kvm') < (SELECT avg(total_ms) FROM boot_samples WHERE accel = 'tcg')")
	if [ "$faster" = 1 ]; then
		pass "lab-nested/$c/kvm-boots-faster-than-tcg"
	else
		fail "lab-nested/$c/kvm-boots-faster-than-tcg" "$(lab_sql "$db" "SELECT accel, avg(total_ms) FROM boot_samples GROUP BY accel" | tr '\n' ' ')"
	fi
	# What virtualization costs (issue 17), under KVM as under TCG: latency,
	# CPU time per unit of work, QEMU's memory overhead, the cold boot; no
	# energy sample where the probe found no sensor (a QEMU board has none).
	missing=
	for accel in tcg kvm; do
		for wm in sockperf-rr.rtt_p50_us sockperf-rr.rtt_p99_us sysbench-cpu.host_cpu_s_per_kevent \
			stream.host_cpu_s_per_GB vmm-memory.vmm_overhead_mib boot-cold.total_ms; do
			n=$(lab_sql "$db" "SELECT count(*) FROM samples WHERE accel = '$accel' AND workload = '${wm%%.*}' AND metric = '${wm#*.}' AND value > 0")
			[ "$n" -gt 0 ] 2>/dev/null || missing="$missing $accel/$wm"
		done
	done
	energy=$(lab_sql "$db" "SELECT count(*) FROM samples WHERE metric LIKE 'energy_j%'")
	if [ -z "$missing" ] && [ "$energy" = 0 ]; then
		pass "lab-nested/$c/latency-cost-memory-cold-boot"
	else
		fail "lab-nested/$c/latency-cost-memory-cold-boot" "missing:$missing; $energy energy samples"
	fi
	# The guest's own view of the CPU's vulnerabilities, read through the
	# agent under each accelerator (issue 15), beside the host's: an arm64
	# guest kernel has the directory, so both views are known and non-empty.
	views=$(lab_sql "$db" "SELECT group_concat(accel || '=' || status || ':' || (SELECT count(*) FROM json_each(vulnerabilities)), ' ') FROM (SELECT * FROM guest_vulnerabilities WHERE run_id = (SELECT max(id) FROM runs) ORDER BY accel)")
	case " $views " in
	*" kvm=known:"[1-9]*" tcg=known:"[1-9]*) pass "lab-nested/$c/guest-vulnerabilities-kvm-and-tcg" ;;
	*) fail "lab-nested/$c/guest-vulnerabilities-kvm-and-tcg" "guest views: '$views'; $(lab_sql "$db" "SELECT accel, reason FROM guest_vulnerabilities" | tr '\n' ' ' | head -c 600)" ;;
	esac
	lab_sql "$db" "SELECT probe_json FROM runs ORDER BY id DESC LIMIT 1" >"$d/probe.json"
	if [ "$("$JG" "$d/probe.json" host.emulated 2>/dev/null)" = true ] &&
		[ "$("$JG" "$d/probe.json" host.arch 2>/dev/null)" = aarch64 ]; then
		pass "lab-nested/$c/host-marked-emulated"
	else
		fail "lab-nested/$c/host-marked-emulated" "$("$JG" "$d/probe.json" host 2>&1 | head -c 600)"
	fi
	if [ "$("$JG" "$d/export.json" schema 2>/dev/null)" = kvmqual.export ] &&
		[ "$("$JG" "$d/export.json" runs.0.host.arch 2>/dev/null)" = aarch64 ] &&
		[ "$("$JG" "$d/export.json" runs.0.probe.host.emulated 2>/dev/null)" = true ]; then
		pass "lab-nested/$c/export-bundle"
	else
		fail "lab-nested/$c/export-bundle" "$(head -c 400 "$d/export.json" 2>&1)"
	fi
}

if ! command -v qemu-system-aarch64 >/dev/null 2>&1; then
	skip lab-nested "qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)"
elif ! command -v sqlite3 >/dev/null 2>&1; then
	fail lab-nested "sqlite3 is not installed (apt-get install sqlite3)"
elif [ ! -f build/lab/payload.img ]; then
	fail lab-nested "no build/lab/payload.img (make lab)"
else
	configs=${LAB_NESTED_CONFIGS:-}
	if [ -z "$configs" ]; then
		for expect in tests/fixtures/snapshots/lab-*.live.expect; do
			grep -Eq '^verdict (kvm-ready|kvm-limited)' "$expect" || continue
			c=$(basename "$expect" .live.expect)
			configs="$configs ${c#lab-}"
		done
	fi
	for c in $configs; do
		d="$tmp/lab-nested-$c"
		start=$(date +%s)
		# 3 GiB and 2 vCPUs: the nested guest takes 512 MiB, the scratch
		# files go to the work disk (ext4: O_DIRECT, like a real host).
		LAB_TIMEOUT=${LAB_NESTED_TIMEOUT:-5400} LAB_PAYLOAD=build/lab/payload.img LAB_WORK_MB=1024 LAB_MEM=3072 LAB_SMP=2 \
			tests/lab/run.sh "$c" "$d" sh -c '
				cd /work || exit 90
				# Progress through a pipe: one plain line a step on the console.
				{ kvmqual run --accel kvm,tcg --profile quick --db /work/kvmqual.db >/out/summary.txt
				  echo $? >/out/run-rc.txt; } 2>&1 | cat
				# Huge pages (2 MB, reserved here for the 512 MiB guest) and the
				# balloon, under KVM: the standard profile'\''s measurements.
				echo 256 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
				{ kvmqual run --accel kvm --iterations 1 --cold-boot off --hugepages 2M --balloon on \
					--workloads vmm-memory,stream,sysbench-cpu,balloon --db /work/memory.db >/out/memory.txt
				  echo $? >/out/memory-rc.txt; } 2>&1 | cat
				cp /work/memory.db /out/memory.db
				kvmqual export --db /work/kvmqual.db --format json >/out/export.json
				cp /work/kvmqual.db /out/kvmqual.db' >"$tmp/lab-nested-$c.log" 2>&1
		rc=$?
		took=$(($(date +%s) - start))
		echo "lab-nested: $c took ${took}s"
		if [ $rc -ne 0 ] || [ ! -s "$d/kvmqual.db" ]; then
			fail "lab-nested/$c" "the lab host did not return a database (exit $rc after ${took}s): $(lab_ntail "$tmp/lab-nested-$c.log") console: $(lab_ntail "$d/console.log")"
			continue
		fi
		pass "lab-nested/$c/returned-database"
		lab_check_db "$c" "$d/kvmqual.db" "$d"
		m=$d/memory.db
		got=$( [ -s "$m" ] && lab_sql "$m" "SELECT group_concat(workload || '.' || metric, ' ') FROM (SELECT DISTINCT workload, metric FROM samples WHERE accel = 'kvm' AND value > 0 AND (workload LIKE '%huge2M' OR workload = 'balloon') AND (flags IS NULL OR flags NOT LIKE '%rss-did-not-fall%'))")
		lacking=
		for want in stream-huge2M.triad_mbps sysbench-cpu-huge2M.events_per_second vmm-memory-huge2M.guest_resident_mib \
			balloon.inflate_ms balloon.rss_freed_mib; do
			case " $got " in *" $want "*) ;; *) lacking="$lacking $want" ;; esac
		done
		if [ -z "$lacking" ]; then
			pass "lab-nested/$c/kvm-hugepages-and-balloon"
		else
			fail "lab-nested/$c/kvm-hugepages-and-balloon" "exit $(cat "$d/memory-rc.txt" 2>/dev/null), lacking:$lacking; $(tail -c 600 "$d/memory.txt" 2>/dev/null)"
		fi
		if [ -n "${LAB_RESULTS_DIR:-}" ]; then
			mkdir -p "$LAB_RESULTS_DIR"
			cp "$d/kvmqual.db" "$LAB_RESULTS_DIR/lab-$c.db"
			cp "$d/export.json" "$LAB_RESULTS_DIR/lab-$c.json"
		fi
	done
fi
