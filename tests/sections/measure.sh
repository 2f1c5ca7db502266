# shellcheck shell=sh
# The measurements of issue 17, live under TCG (sourced by tests/run.sh,
# with its helpers): latency (sockperf natively and in the guest), the
# CPU time each sample cost per unit of work, energy "unavailable" with the
# reason where the host has no sensor (never 0 joules), QEMU's memory
# overhead, the cold boot; huge pages reserved for the test (and released
# after), and with none reserved, skipped with how to reserve them while
# the run goes on; the virtio-balloon.  A few minutes.
if want measure; then
	if [ ! -f build/guest/aarch64/manifest.json ]; then
		fail measure "no guest image (make guest-image)"
	else
		mdb=$tmp/measure/kvmqual.db
		# --iterations 1: one sample and one warm boot (after the cold one)
		# are enough to see each measurement stored.
		"$KQ" run --guest-arch aarch64 --accel tcg --profile quick --iterations 1 \
			--workloads vmm-memory,sysbench-cpu,stress-ng-cpu,stream,sockperf-rr --db "$mdb" --json \
			>"$tmp/measure.json" 2>"$tmp/measure.err"
		mrc=$?
		if [ $mrc -eq 0 ] && [ "$("$JG" "$tmp/measure.json" status)" = complete ]; then pass measure/quick-complete; else
			fail measure/quick-complete "exit $mrc: $("$JG" "$tmp/measure.json" reason | head -c 600) $(tail -3 "$tmp/measure.err")"; fi
		"$KQ" export --db "$mdb" --format csv >"$tmp/measure.csv"
		# has ACCEL WORKLOAD METRIC: a sample with a value above 0.
		has() { awk -F, -v a="$1" -v w="$2" -v m="$3" '$5 == a && $6 == w && $7 == m && $9 + 0 > 0 {f = 1} END {exit !f}' "$tmp/measure.csv"; }
		missing=""
		for a in native tcg; do
			for m in rtt_p50_us rtt_p99_us host_cpu_s_per_krtt; do has $a sockperf-rr $m || missing="$missing $a/sockperf-rr.$m"; done
			has $a stress-ng-cpu bogo_ops_per_s || missing="$missing $a/stress-ng-cpu"
			has $a sysbench-cpu host_cpu_s_per_kevent || missing="$missing $a/sysbench-cpu.host_cpu_s_per_kevent"
			has $a stress-ng-cpu host_cpu_s_per_kbogo || missing="$missing $a/stress-ng-cpu.host_cpu_s_per_kbogo"
			has $a stream host_cpu_s_per_GB || missing="$missing $a/stream.host_cpu_s_per_GB"
		done
		if [ -z "$missing" ]; then pass measure/latency-and-cpu-cost; else fail measure/latency-and-cpu-cost "missing:$missing"; fi
		# p50 at most p99, and a guest's round trip through QEMU's user
		# network slower than loopback natively.
		p50=$(awk -F, '$5 == "tcg" && $6 == "sockperf-rr" && $7 == "rtt_p50_us" {print $9}' "$tmp/measure.csv")
		p99=$(awk -F, '$5 == "tcg" && $6 == "sockperf-rr" && $7 == "rtt_p99_us" {print $9}' "$tmp/measure.csv")
		n50=$(awk -F, '$5 == "native" && $6 == "sockperf-rr" && $7 == "rtt_p50_us" {print $9}' "$tmp/measure.csv")
		if awk -v a="$p50" -v b="$p99" -v n="$n50" 'BEGIN {exit !(a > 0 && a <= b && a > n)}'; then
			pass measure/latency-order
		else
			fail measure/latency-order "tcg p50 $p50 p99 $p99, native p50 $n50"
		fi
		# QEMU's own memory beyond the guest's, and the cold boot.
		if has tcg vmm-memory vmm_overhead_mib && has tcg vmm-memory guest_resident_mib; then pass measure/vmm-overhead; else
			fail measure/vmm-overhead "$(grep vmm-memory "$tmp/measure.csv" | head -3)"; fi
		cold=$(awk -F, '$5 == "tcg" && $6 == "boot-cold" && $7 == "total_ms" {print $9 " " $12}' "$tmp/measure.csv")
		want_flag=cache-partial
		[ "$(id -u)" = 0 ] && want_flag=cache-dropped
		case $cold in
		*" $want_flag") [ "$("$JG" "$tmp/measure.json" boot_ms.tcg)" != null ] && pass measure/cold-and-warm-boot ||
			fail measure/cold-and-warm-boot "no warm boot" ;;
		*) fail measure/cold-and-warm-boot "cold boot sample '$cold', expected flag $want_flag" ;;
		esac
		# No sensor here: energy is unavailable with the reason, and no
		# sample claims 0 joules (or any).
		src=$("$JG" "$tmp/measure.json" energy.source)
		if [ -e /sys/class/powercap/intel-rapl:0 ] || [ -e /sys/class/hwmon/hwmon0 ] || [ -e /sys/class/power_supply/BAT0 ]; then
			skip measure/energy-unavailable "this host has a sensor ($src)"
		elif [ "$src" = unavailable ] && "$JG" "$tmp/measure.json" energy.detail | grep -q "no RAPL zone" &&
			! grep -q ',energy_j' "$tmp/measure.csv"; then
			pass measure/energy-unavailable
		else
			fail measure/energy-unavailable "source '$src', $(grep -c ',energy_j' "$tmp/measure.csv") energy samples"
		fi

		# Huge pages: 2 MB pages reserved for the 512 MiB guest (and given
		# back after), STREAM and sysbench on them, their use verified in
		# QEMU's smaps; then none reserved: skipped, the run complete.
		hp=/sys/kernel/mm/hugepages/hugepages-2048kB
		if [ "$(id -u)" != 0 ] || [ ! -w $hp/nr_hugepages ]; then
			skip measure/hugepages "needs root and $hp"
		else
			old=$(cat $hp/nr_hugepages)
			echo $((old + 256)) >$hp/nr_hugepages
			if [ "$(cat $hp/free_hugepages)" -lt 256 ]; then
				skip measure/hugepages "the kernel gave only $(cat $hp/free_hugepages) free 2 MB pages of 256 asked"
			else
				"$KQ" run --guest-arch aarch64 --accel tcg --iterations 1 --cold-boot off --hugepages 2M \
					--workloads stream,sysbench-cpu --db "$tmp/measure/huge.db" --json >"$tmp/huge.json" 2>"$tmp/huge.err"
				hrc=$?
				"$KQ" export --db "$tmp/measure/huge.db" --format csv >"$tmp/huge.csv"
				if [ $hrc -eq 0 ] && grep -q ',tcg,stream-huge2M,triad_mbps,' "$tmp/huge.csv" &&
					grep -q ',tcg,sysbench-cpu-huge2M,events_per_second,' "$tmp/huge.csv" &&
					grep -q ',tcg,vmm-memory-huge2M,guest_resident_mib,' "$tmp/huge.csv"; then
					pass measure/hugepages
				else
					fail measure/hugepages "exit $hrc: $("$JG" "$tmp/huge.json" reason | head -c 400) $(grep huge "$tmp/huge.csv" | head -3)"
				fi
			fi
			echo "$old" >$hp/nr_hugepages
			if [ "$(cat $hp/free_hugepages)" -ge 256 ]; then
				skip measure/hugepages-none-reserved "another user holds 2 MB pages here"
			else
				"$KQ" run --guest-arch aarch64 --accel tcg --iterations 1 --cold-boot off --hugepages 2M \
					--workloads stream --db "$tmp/measure/huge0.db" --json >"$tmp/huge0.json" 2>"$tmp/huge0.err"
				zrc=$?
				huge_skipped=$("$JG" "$tmp/huge0.json" skipped)
				if [ $zrc -eq 0 ] && [ "$("$JG" "$tmp/huge0.json" status)" = complete ] &&
					echo "$huge_skipped" | grep -q "tcg: huge pages 2M: .*reserve them as root with 'echo 256 > $hp/nr_hugepages'" &&
					"$KQ" export --db "$tmp/measure/huge0.db" --format json | grep -q '"status":"skip","detail":"[0-9]* huge pages of 2M are free'; then
					pass measure/hugepages-none-reserved
				else
					fail measure/hugepages-none-reserved "exit $zrc, skipped '$huge_skipped'"
				fi
			fi
		fi

		# The balloon: the guest touches 64 of its 512 MiB, the balloon takes
		# it down to 128 MiB, QEMU's RSS falls.
		"$KQ" run --guest-arch aarch64 --accel tcg --iterations 1 --cold-boot off --balloon on \
			--workloads balloon --db "$tmp/measure/balloon.db" --json >"$tmp/balloon.json" 2>"$tmp/balloon.err"
		brc=$?
		"$KQ" export --db "$tmp/measure/balloon.db" --format csv >"$tmp/balloon.csv"
		freed=$(awk -F, '$6 == "balloon" && $7 == "rss_freed_mib" {print $9 " " $12}' "$tmp/balloon.csv")
		if [ $brc -eq 0 ] && awk -F, '$6 == "balloon" && $7 == "inflate_ms" && $9 > 0 {f = 1} END {exit !f}' "$tmp/balloon.csv" &&
			awk -v f="$freed" 'BEGIN {split(f, a, " "); exit !(a[1] >= 32 && a[2] == "")}'; then
			pass measure/balloon
		else
			fail measure/balloon "exit $brc, freed '$freed': $("$JG" "$tmp/balloon.json" reason | head -c 400)"
		fi
	fi
fi
