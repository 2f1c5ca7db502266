# ab: kvmqual ab and kvmqual tune for real, under TCG with the aarch64 guest.
#  - bad input: a SPEC naming a missing QEMU or image, options QEMU refuses,
#    bad values: exit 2 before anything runs (no database made), the SPEC named;
#  - huge pages: a size the kernel lacks, or too few free pages of it: exit 2
#    with how to reserve them; as root, 2 MB pages reserved for the test (and
#    given back): B's guest RAM on them, seen here while it runs (the pool's
#    pages taken) and as the tool verified them in QEMU's smaps; a QEMU that
#    drops the hugetlb options fails that arm with the reason;
#  - pinning: a guest's vCPU threads pinned to CPU 0, to CPU 1 and left free,
#    read from /proc/PID/task/*/status here while the guest runs (QEMU names
#    them "CPU N/TCG"), and as the tool itself verified them;
#  - a real slowdown: the same guest, its QEMU in a CPU cgroup capped at 90 %
#    of the other arm's (27 % of a CPU against 30 %; both of the highest
#    weight, so that the caps, not the machine's other load, decide; both
#    QEMUs on one CPU, 16 to 32 rounds a pass): a regression of sysbench-cpu-1t, found
#    again in its re-run, exit 1, JUnit failure.  Not 90 % against uncapped: an uncapped QEMU got 94 to
#    97 % of a CPU on this shared machine, so a 90 % cap took 3 to 6 % off
#    it, and nothing when the machine was busier (docs/ab.md);
#  - A/A: identical arms (both at 30 %), no change, exit 0;
#  - a variant that stops booting mid-experiment: recorded failed with the
#    reason, a clear verdict, exit 1;
#  - SIGTERM in the middle: exit 143, stored interrupted, no QEMU left;
#  - the report's Tuning section shows the experiment (kvmqual tune itself
#    runs in ab-long, make test-lab); stores from before the A/B tables
#    (version 1 and 2, read-only): no tuning and nothing on stderr;
#  - the phone snapshot's cluster sets (tune --plan --sysroot).
# A few minutes.  Sourced by tests/run.sh (pass, fail, skip, $tmp, $KQ, $JG).

ab_cg_a= ab_cg_b= ab_kq= ab_hp_added=0
ab_hp=/sys/kernel/mm/hugepages/hugepages-2048kB
ab_cleanup() {
	[ -n "$ab_kq" ] && kill "$ab_kq" 2>/dev/null
	for g in "$ab_cg_a" "$ab_cg_b"; do [ -n "$g" ] && [ -d "$g" ] && rmdir "$g" 2>/dev/null; done
	ab_hugepages_give_back
	ab_cg_a= ab_cg_b= ab_kq=
}

# The 2 MB pages this section reserved, given back by count (not by writing
# the old total: another test may reserve some meanwhile).
ab_hugepages_give_back() {
	if [ "$ab_hp_added" -gt 0 ]; then
		n=$(($(cat $ab_hp/nr_hugepages) - ab_hp_added))
		echo $((n < 0 ? 0 : n)) >$ab_hp/nr_hugepages
		ab_hp_added=0
	fi
}
# 2 MB pages reserved or in use: the pool less what is free, plus what is
# reserved but not yet touched (QEMU's mapping reserves them all at once).
ab_hugepages_taken() {
	echo $(($(cat $ab_hp/nr_hugepages) - $(cat $ab_hp/free_hugepages) + $(cat $ab_hp/resv_hugepages)))
}

# ab_cgroup NAME: a CPU cgroup of the highest weight; its path on stdout.
# ab_cap DIR PERMILLE: at most PERMILLE / 1000 of one CPU (20 ms periods).
ab_cgroup() {
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
		d=/sys/fs/cgroup/kvmqual-test-ab-$1-$$
		mkdir "$d" && echo 10000 >"$d/cpu.weight" || return 1
	else
		d=/sys/fs/cgroup/cpu/kvmqual-test-ab-$1-$$
		mkdir "$d" && echo 262144 >"$d/cpu.shares" || return 1
	fi
	echo "$d"
}
ab_cap() {
	if [ -f "$1/cpu.max" ]; then
		echo "$(($2 * 20)) 20000" >"$1/cpu.max"
	else
		echo 20000 >"$1/cpu.cfs_period_us" && echo $(($2 * 20)) >"$1/cpu.cfs_quota_us"
	fi
}

# ab_vcpu_affinity QEMU_PID N: "CPU N/TCG"'s Cpus_allowed_list, from /proc.
ab_vcpu_affinity() {
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = "CPU $2/TCG" ]; then
			sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status"
			return 0
		fi
	done
	return 1
}

if ! command -v qemu-system-aarch64 >/dev/null 2>&1 || ! command -v sysbench >/dev/null 2>&1; then
	skip ab "needs qemu-system-aarch64 and sysbench (scripts/deps.sh test)"
elif [ ! -f build/guest/aarch64/vmlinuz ]; then
	skip ab "no aarch64 guest image (make guest-image)"
elif ! command -v xmllint >/dev/null 2>&1 || ! command -v sqlite3 >/dev/null 2>&1; then
	skip ab "needs xmllint (libxml2-utils) and sqlite3"
else
	trap 'ab_cleanup; rm -rf "$tmp"' EXIT INT TERM
	ad="$tmp/ab"
	mkdir -p "$ad"
	ab_t0=$(date +%s)
	ab_took() { echo "ab: $1 took $(($(date +%s) - ab_t0)) s"; ab_t0=$(date +%s); }
	abq="--guest-arch aarch64 --accel tcg"

	# ---- bad input: exit 2 before anything runs, the SPEC named ----
	ab_bad() { # NAME EXPECTED-TEXT ARGS...
		name=$1 want=$2
		shift 2
		start=$(date +%s)
		"$KQ" ab $abq --db "$ad/bad.db" "$@" >"$ad/$name.out" 2>"$ad/$name.err"
		rc=$?
		took=$(($(date +%s) - start))
		if [ $rc -eq 2 ] && grep -qF -- "$want" "$ad/$name.err" && [ ! -e "$ad/bad.db" ] && [ "$took" -lt 120 ]; then
			pass "ab/bad-input/$name"
		else
			fail "ab/bad-input/$name" "exit $rc after ${took}s, db $(ls "$ad/bad.db" 2>&1): $(head -c 600 "$ad/$name.err")"
		fi
	}
	ab_bad missing-qemu "arm B (spec 'qemu=/nonexistent/qemu-system-aarch64'): qemu=/nonexistent/qemu-system-aarch64: no such executable file" \
		--a default --b qemu=/nonexistent/qemu-system-aarch64
	ab_bad missing-image "arm A (spec 'image=$ad/no-image'): image=$ad/no-image: guest image $ad/no-image: no such directory" \
		--a "image=$ad/no-image" --b default
	ab_bad refused-options "arm B (spec 'opts=-device no-such-device'): " --a default --b 'opts=-device no-such-device'
	if grep -q "'no-such-device' is not a valid device model name" "$ad/refused-options.err"; then
		pass ab/bad-input/refused-options-says-qemus-words
	else
		fail ab/bad-input/refused-options-says-qemus-words "$(head -c 600 "$ad/refused-options.err")"
	fi
	ab_bad unknown-key "unknown key 'colour'" --a default --b colour=red
	ab_bad bad-cpus "cpus takes a number from 1 to 64, not 'two'" --a default --b cpus=two
	ab_bad no-b "both --a and --b are needed" --a default
	ab_bad bad-rounds "--rounds takes 1 to 200, not '0'" --a default --b default --rounds 0
	ab_bad bad-workload "'dhrystone' is none of: boot" --a default --b default --workloads dhrystone
	ab_bad bad-cgroup "cgroup=$ad: no writable cgroup.procs there" --a default --b "cgroup=$ad"
	ab_bad bad-hugepages "hugepages takes a page size such as 2M, 64K or 32M, or off, not '2MB'" --a default --b hugepages=2MB
	ab_bad hugepages-size-not-offered "arm B (spec 'hugepages=3M'): hugepages=3M: this kernel offers no 3M huge pages (it has: " \
		--a default --b hugepages=3M
	# The 512 MiB guest needs 256 pages of 2 MB.
	if [ ! -r $ab_hp/free_hugepages ]; then
		skip ab/bad-input/hugepages-not-reserved "this kernel has no 2 MB huge pages"
	elif [ "$(($(cat $ab_hp/free_hugepages) - $(cat $ab_hp/resv_hugepages)))" -ge 256 ]; then
		skip ab/bad-input/hugepages-not-reserved "someone holds 256 free 2 MB pages here"
	else
		ab_bad hugepages-not-reserved "arm B (spec 'hugepages=2M'): hugepages=2M: " --a default --b hugepages=2M
		if grep -q "reserve them as root with 'echo 256 > $ab_hp/nr_hugepages'" "$ad/hugepages-not-reserved.err"; then
			pass ab/bad-input/hugepages-not-reserved-says-how
		else
			fail ab/bad-input/hugepages-not-reserved-says-how "$(head -c 600 "$ad/hugepages-not-reserved.err")"
		fi
	fi

	ab_took "bad input"

	# ---- pinning per vCPU thread, checked in /proc while the guest runs ----
	mine=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
	for pin in each:0 each:1 none; do
		case $pin in each:0) want=0 ;; each:1) want=1 ;; none) want=$mine ;; esac
		"$KQ" guest --image build/guest/aarch64 --cpus 2 --pin-vcpus "$pin" --json -- true \
			>"$ad/pin-$pin.json" 2>"$ad/pin-$pin.err" &
		ab_kq=$!
		# Polled (at most a minute) until QEMU's vCPU threads show the
		# pinning: QEMU starts paused and is pinned before it runs.
		seen= i=0
		while [ $i -lt 600 ] && kill -0 "$ab_kq" 2>/dev/null; do
			q=$(pgrep -P "$ab_kq" -f debug-threads=on | head -n 1)
			if [ -n "$q" ] && [ "$(ab_vcpu_affinity "$q" 0)" = "$want" ] && [ "$(ab_vcpu_affinity "$q" 1)" = "$want" ]; then
				seen="$(ab_vcpu_affinity "$q" 0)/$(ab_vcpu_affinity "$q" 1)"
				break
			fi
			sleep 0.1
			i=$((i + 1))
		done
		wait "$ab_kq"
		rc=$?
		ab_kq=
		t0=$("$JG" "$ad/pin-$pin.json" vcpus.0.cpus_allowed 2>/dev/null)
		t1=$("$JG" "$ad/pin-$pin.json" vcpus.1.cpus_allowed 2>/dev/null)
		if [ $rc -eq 0 ] && [ "$seen" = "$want/$want" ] && [ "$t0" = "$want" ] && [ "$t1" = "$want" ]; then
			pass "ab/pin-vcpus-$pin"
		else
			fail "ab/pin-vcpus-$pin" "exit $rc, /proc saw '$seen', kvmqual verified '$t0/$t1', wanted $want: $(tail -c 400 "$ad/pin-$pin.err")"
		fi
	done

	ab_took "pinning"

	# ---- huge pages: 256 pages of 2 MB reserved for B's 512 MiB guest ----
	if [ "$(id -u)" != 0 ] || [ ! -w $ab_hp/nr_hugepages ]; then
		skip ab/hugepages-2m "needs root and $ab_hp"
		skip ab/hugepages-not-honoured "needs root and $ab_hp"
	else
		echo $(($(cat $ab_hp/nr_hugepages) + 256)) >$ab_hp/nr_hugepages
		ab_hp_added=256
		if [ "$(($(cat $ab_hp/free_hugepages) - $(cat $ab_hp/resv_hugepages)))" -lt 256 ]; then
			skip ab/hugepages-2m "the kernel gave only $(cat $ab_hp/free_hugepages) free 2 MB pages of 256 asked"
			skip ab/hugepages-not-honoured "no 2 MB pages"
		else
			# tune's plan here: the default against 2 MB pages.
			"$KQ" tune --plan --json --settings hugepages >"$ad/tune-huge.json" 2>"$ad/tune-huge.err"
			rc=$?
			arms=$("$JG" "$ad/tune-huge.json" settings.0.arms.0.name)/$("$JG" "$ad/tune-huge.json" settings.0.arms.1.changes)
			if [ $rc -eq 0 ] && [ "$arms" = default/hugepages=2M ]; then
				pass ab/tune-plan-hugepages-reserved
			else
				fail ab/tune-plan-hugepages-reserved "exit $rc, arms '$arms': $(head -c 600 "$ad/tune-huge.json")"
			fi
			before=$(ab_hugepages_taken)
			timeout 900 "$KQ" ab $abq --a default --b hugepages=2M --workloads boot,stream --rounds 2 --reruns 0 \
				--db "$ad/huge.db" --json >"$ad/huge.json" 2>"$ad/huge.err" &
			ab_kq=$!
			# Polled while it runs: the most pages taken beyond those before.
			most=0
			while kill -0 "$ab_kq" 2>/dev/null; do
				t=$(($(ab_hugepages_taken) - before))
				[ $t -gt $most ] && most=$t
				sleep 0.1
			done
			wait "$ab_kq"
			rc=$?
			ab_kq=
			page_b=$("$JG" "$ad/huge.json" experiments.0.arms.1.guest_page_kb 2>/dev/null)
			page_a=$("$JG" "$ad/huge.json" experiments.0.arms.0.guest_page_kb 2>/dev/null)
			st=$("$JG" "$ad/huge.json" experiments.0.status 2>/dev/null)
			if [ $rc -le 1 ] && [ "$st" = complete ] && [ "$page_b" = 2048 ] && [ "$page_a" = null ] && [ "$most" -ge 256 ] &&
				[ "$("$JG" "$ad/huge.json" experiments.0.arms.1.changes)" = hugepages=2M ]; then
				pass ab/hugepages-2m
			else
				fail ab/hugepages-2m "exit $rc, status '$st', B's pages '$page_b' KiB, A's '$page_a', $most pages taken at most: $(tail -c 600 "$ad/huge.err")"
			fi

			# A QEMU that drops the hugetlb options (the guest then runs on
			# 4 KiB pages): B fails at its first boot with the reason.
			cat >"$ad/nohuge-qemu" <<-'EOF'
			#!/bin/sh
			for a in "$@"; do
				shift
				case $a in *hugetlb=on*) a=$(echo "$a" | sed 's/,hugetlb=on,hugetlbsize=[0-9]*K//') ;; esac
				set -- "$@" "$a"
			done
			exec qemu-system-aarch64 "$@"
			EOF
			chmod +x "$ad/nohuge-qemu"
			timeout 900 "$KQ" ab $abq --a default --b "hugepages=2M; qemu=$ad/nohuge-qemu" --workloads boot --rounds 2 \
				--reruns 0 --db "$ad/nohuge.db" >"$ad/nohuge.out" 2>"$ad/nohuge.err"
			rc=$?
			arm=$(sqlite3 "$ad/nohuge.db" "SELECT status || ': ' || reason FROM ab_arms WHERE arm = 1" 2>&1)
			if [ $rc -eq 1 ] && [ "$arm" = "failed: pass 1, round 1: guest RAM is on 4 KiB pages in QEMU's smaps, not the 2048 KiB huge pages asked for" ] &&
				grep -q "^verdict: B failed where A ran: pass 1, round 1: guest RAM is on 4 KiB pages" "$ad/nohuge.out"; then
				pass ab/hugepages-not-honoured
			else
				fail ab/hugepages-not-honoured "exit $rc, arm '$arm': $(tail -c 600 "$ad/nohuge.out") $(tail -c 300 "$ad/nohuge.err")"
			fi
		fi
		ab_hugepages_give_back
	fi
	# With too few free 2 MB pages, tune skips the setting and says how to
	# reserve them.
	if [ -r $ab_hp/free_hugepages ] && [ "$(($(cat $ab_hp/free_hugepages) - $(cat $ab_hp/resv_hugepages)))" -lt 256 ]; then
		"$KQ" tune --plan --json --settings hugepages >"$ad/tune-nohuge.json" 2>"$ad/tune-nohuge.err"
		rc=$?
		if [ $rc -eq 0 ] && [ "$("$JG" "$ad/tune-nohuge.json" settings.0.status)" = skipped ] &&
			"$JG" "$ad/tune-nohuge.json" settings.0.reason | grep -q "huge pages of 2M are free, the guest needs 256: reserve them as root with 'echo 256 > $ab_hp/nr_hugepages'"; then
			pass ab/tune-plan-hugepages-none-reserved
		else
			fail ab/tune-plan-hugepages-none-reserved "exit $rc: $(head -c 800 "$ad/tune-nohuge.json")"
		fi
	else
		skip ab/tune-plan-hugepages-none-reserved "no 2 MB pages here, or someone holds 256 free ones"
	fi

	ab_took "huge pages"

	# ---- a real slowdown: B gets 90 % of A's CPU time ----
	# Both QEMUs on one CPU (this process's last): spread over both, a round
	# got 111 to 224 events/s at 30 % (the quota is handed to each CPU in
	# slices: our guess at why); on one, 170 to 215 but for a round
	# the machine disturbed now and then.  16 rounds: with 12, one such round
	# among the pairs (its difference the largest, of the wrong sign) put a
	# pass at p = 0.02 to 0.034, above 0.01 (3 of 6 tries here failed so,
	# at a load of 5 to 8); with 16 such a round gives p = 0.0052.
	ab_cpu=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | tr ',' '\n' | tail -n 1 | sed 's/.*-//')
	ab_cg_a=$(ab_cgroup a) && ab_cg_b=$(ab_cgroup b) && ab_cap "$ab_cg_a" 300 && ab_cap "$ab_cg_b" 270 || ab_cleanup
	if [ -z "$ab_cg_a" ] || [ -z "$ab_cg_b" ]; then
		skip ab/injected-slowdown "cannot make CPU cgroups here (root and a cgroup cpu controller needed)"
	else
		# Both capped QEMUs on one CPU (see above), and adaptive rounds: on a
		# quiet machine 16 a side settle it; when other work takes CPU from
		# both arms the change wobbles, and more rounds (up to 32) decide it.
		# The test asks for a -10 % change found twice, not its third digit:
		# a 95 % interval within 5 % of it is enough (at --stable-ci 3 both
		# passes ran to 40 rounds at a load of 1.3, 577 s with the A/A, for
		# -12.4 % [-16.9, -8.4], p = 1.5e-07, then -9.2 %).
		ab_slow() {
			rm -f "$ad/slow.db" "$ad/slow.xml" "$ad/slow.json"
			timeout 2400 "$KQ" ab $abq --cpus 1 --a "cgroup=$ab_cg_a; affinity=$ab_cpu" --b "cgroup=$ab_cg_b; affinity=$ab_cpu" \
				--workloads sysbench-cpu-1t --min-rounds 16 --max-rounds 32 --stable-ci 5 --budget 1000 --boot-every 0 \
				--db "$ad/slow.db" --json --junit "$ad/slow.xml" >"$ad/slow.json" 2>"$ad/slow.err"
			rc=$?
			dec=$("$JG" "$ad/slow.json" experiments.0.results.0.decision 2>/dev/null)
		}
		ab_slow
		# A machine so busy that a pass reached --max-rounds with its
		# interval still wider than the 5 % it asked for could not tell, and
		# ab says how wide it was: such a try is set aside, once, and the
		# experiment made again (seen with a clean-clone make test, a lab
		# run, a kit bench and a second ab all on the 2 CPUs: the re-run's
		# -8.2 % [-15.7, +1.7] after 32 rounds, the first pass's -9.6 %).
		# A narrow interval that says no change fails at once.
		lo=$("$JG" "$ad/slow.json" experiments.0.results.0.ci_low_pct 2>/dev/null)
		hi=$("$JG" "$ad/slow.json" experiments.0.results.0.ci_high_pct 2>/dev/null)
		if [ "$dec" != regression ] && awk -v l="$lo" -v h="$hi" 'BEGIN { exit !(h - l > 10) }'; then
			echo "ab: the slowdown's try was too noisy to tell (${lo} to ${hi} %, decision '$dec'): once more"
			cp "$ad/slow.json" "$ad/slow-try1.json"
			ab_slow
		fi
		ch=$("$JG" "$ad/slow.json" experiments.0.results.0.change_pct 2>/dev/null)
		passes=$("$JG" "$ad/slow.json" experiments.0.results.0.passes 2>/dev/null)
		if [ $rc -eq 1 ] && [ "$dec" = regression ] && [ "$passes" = 2 ] &&
			awk -v c="$ch" 'BEGIN { exit !(c < -4 && c > -30) }'; then
			pass ab/injected-slowdown-found
		else
			fail ab/injected-slowdown-found "exit $rc, decision '$dec', change $ch %, passes $passes: $("$JG" "$ad/slow.json" experiments.0 2>&1 | head -c 1500) $(tail -c 300 "$ad/slow.err")"
		fi
		if xmllint --noout "$ad/slow.xml" 2>/dev/null &&
			[ "$(xmllint --xpath 'count(//testcase/failure[@type="regression"])' "$ad/slow.xml")" = 1 ] &&
			xmllint --xpath 'string(//testcase[failure]/@name)' "$ad/slow.xml" | grep -q 'sysbench-cpu-1t.events_per_second'; then
			pass ab/injected-slowdown-junit
		else
			fail ab/injected-slowdown-junit "$(head -c 800 "$ad/slow.xml" 2>&1)"
		fi
		n=$(sqlite3 "$ad/slow.db" "SELECT count(*) FROM ab_samples WHERE pass = 0" 2>&1)
		d=$(sqlite3 "$ad/slow.db" "SELECT decision || '/' || passes FROM ab_results" 2>&1)
		s=$(sqlite3 "$ad/slow.db" "SELECT status FROM ab_sessions" 2>&1)
		if [ "$n" -ge 32 ] 2>/dev/null && [ $((n % 2)) -eq 0 ] && [ "$d" = regression/2 ] && [ "$s" = complete ]; then
			pass ab/stored
		else
			fail ab/stored "samples '$n', result '$d', session '$s'"
		fi

		# ---- A/A: the same two cgroups, both at 30 % ----
		ab_cap "$ab_cg_b" 300
		timeout 1200 "$KQ" ab $abq --cpus 1 --a "cgroup=$ab_cg_a; affinity=$ab_cpu" --b "cgroup=$ab_cg_b; affinity=$ab_cpu" \
			--workloads sysbench-cpu-1t --rounds 8 --boot-every 0 --db "$ad/aa.db" --json >"$ad/aa.json" 2>"$ad/aa.err"
		rc=$?
		dec=$("$JG" "$ad/aa.json" experiments.0.results.0.decision 2>/dev/null)
		if [ $rc -eq 0 ] && [ "$dec" = "no change" ]; then
			pass ab/a-a-no-change
		else
			fail ab/a-a-no-change "exit $rc, decision '$dec': $("$JG" "$ad/aa.json" experiments.0.results 2>&1 | head -c 1200)"
		fi
	fi
	ab_cleanup

	ab_took "slowdown and A/A"

	# ---- a variant that stops booting mid-experiment ----
	# Its QEMU is a wrapper that runs the real one twice (the check, the
	# first round's boot) and then refuses, as a broken binary would.
	cat >"$ad/flaky-qemu" <<-EOF
	#!/bin/sh
	n=\$(cat "$ad/flaky-count" 2>/dev/null || echo 0)
	echo \$((n + 1)) >"$ad/flaky-count"
	if [ "\$n" -ge 2 ]; then echo "flaky-qemu: refusing to start (call \$((n + 1)))" >&2; exit 1; fi
	exec qemu-system-aarch64 "\$@"
	EOF
	chmod +x "$ad/flaky-qemu"
	timeout 900 "$KQ" ab $abq --a default --b "qemu=$ad/flaky-qemu" --workloads sysbench-cpu-1t --rounds 8 \
		--boot-every 1 --db "$ad/flaky.db" >"$ad/flaky.out" 2>"$ad/flaky.err"
	rc=$?
	arm=$(sqlite3 "$ad/flaky.db" "SELECT status || ': ' || reason FROM ab_arms WHERE arm = 1" 2>&1)
	if [ $rc -eq 1 ] && grep -q '^verdict: B failed where A ran: the guest did not boot (pass 1, round 2)' "$ad/flaky.out" &&
		grep -q 'flaky-qemu: refusing to start (call 3)' "$ad/flaky.out" &&
		echo "$arm" | grep -q '^failed: the guest did not boot (pass 1, round 2).*refusing' &&
		[ "$(sqlite3 "$ad/flaky.db" "SELECT status FROM ab_sessions")" = failed ]; then
		pass ab/variant-fails-mid-experiment
	else
		fail ab/variant-fails-mid-experiment "exit $rc, arm '$arm': $(tail -c 800 "$ad/flaky.out") $(tail -c 300 "$ad/flaky.err")"
	fi

	ab_took "the failing variant"

	# ---- SIGTERM: stored as interrupted, no QEMU left behind ----
	"$KQ" ab $abq --a default --b default --workloads sysbench-cpu-1t --rounds 50 --boot-every 0 \
		--db "$ad/term.db" >"$ad/term.out" 2>"$ad/term.err" &
	ab_kq=$!
	i=0
	# Until two samples are stored (both arms running), at most two minutes.
	while [ $i -lt 1200 ] && kill -0 "$ab_kq" 2>/dev/null; do
		n=$(sqlite3 "$ad/term.db" "SELECT count(*) FROM ab_samples" 2>/dev/null)
		[ "${n:-0}" -ge 2 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	qemus=$(pgrep -P "$ab_kq" | tr '\n' ' ')
	kill -TERM "$ab_kq"
	wait "$ab_kq"
	rc=$?
	ab_kq=
	left=
	for q in $qemus; do kill -0 "$q" 2>/dev/null && left="$left $q"; done
	st=$(sqlite3 "$ad/term.db" "SELECT status FROM ab_sessions" 2>&1)
	if [ $rc -eq 143 ] && [ "$st" = interrupted ] && [ -n "$qemus" ] && [ -z "$left" ] &&
		grep -q '^verdict: interrupted' "$ad/term.out"; then
		pass ab/sigterm-stops-cleanly
	else
		fail ab/sigterm-stops-cleanly "exit $rc, session '$st', QEMUs '$qemus', left '$left': $(tail -c 400 "$ad/term.out") $(tail -c 300 "$ad/term.err")"
	fi

	# ---- the report shows the experiment (its Tuning section) ----
	if [ -f "$ad/slow.db" ]; then
		timeout 900 "$KQ" run $abq --net user --workloads sysbench-cpu-1t --iterations 1 --db "$ad/slow.db" \
			>"$ad/run.out" 2>&1
		"$KQ" report --db "$ad/slow.db" --out "$ad/report" >"$ad/report.out" 2>&1
		rc=$?
		if [ $rc -le 1 ] && grep -q '<section id="tuning">' "$ad/report/index.html" &&
			grep -q 'kvmqual ab, session 1' "$ad/report/index.html" &&
			grep -q '<td>sysbench-cpu-1t.events_per_second</td><td class="num">-[0-9.]* %</td>.*<td>regression' "$ad/report/index.html" &&
			grep -q '^## Tuning' "$ad/report/report.md" && grep -q '^| ab | no advice | ' "$ad/report/report.md"; then
			pass ab/report-tuning-section
		else
			fail ab/report-tuning-section "exit $rc: $(tail -c 300 "$ad/report.out") $(grep -A30 'id="tuning"' "$ad/report/index.html" 2>&1 | head -c 1500)"
		fi
	else
		skip ab/report-tuning-section "no experiment was stored (no CPU cgroups here)"
	fi
	ab_took "run and report"

	# ---- stores from before the A/B tables: no tuning, silently ----
	# The fixtures (version 1) and one taken to version 2 (run_sources) by
	# store/schema.sql's own version-2 text; report opens them read-only.
	cp tests/fixtures/results/x86-pvm-host.db "$ad/v2.db"
	{ awk '/^-- version 2:/ {on = 1} /^-- version 3:/ {on = 0} on' store/schema.sql; echo 'PRAGMA user_version = 2;'; } |
		sqlite3 "$ad/v2.db"
	bad=
	for db in tests/fixtures/results/*.db "$ad/v2.db"; do
		"$KQ" report --db "$db" --out "$ad/old-report" >/dev/null 2>"$ad/old-report.err"
		rc=$?
		if [ $rc -gt 1 ] || [ -s "$ad/old-report.err" ] ||
			! grep -q '^No `kvmqual tune` of this host in the database' "$ad/old-report/report.md"; then
			bad="$bad; $db: exit $rc, $(head -c 300 "$ad/old-report.err")"
		fi
		rm -rf "$ad/old-report"
	done
	if [ -z "$bad" ] && [ "$(sqlite3 "$ad/v2.db" 'PRAGMA user_version')" = 2 ] &&
		[ "$(sqlite3 "$ad/v2.db" "SELECT count(*) FROM sqlite_master WHERE name = 'run_sources'")" = 1 ]; then
		pass ab/report-old-stores-no-tuning-silently
	else
		fail ab/report-old-stores-no-tuning-silently "${bad#; } (v2.db at version $(sqlite3 "$ad/v2.db" 'PRAGMA user_version'))"
	fi

	# ---- a big.LITTLE phone's clusters ----
	"$KQ" tune --plan --json --sysroot tests/fixtures/snapshots/phone-pkvm-like >"$ad/phone.json" 2>"$ad/phone.err"
	rc=$?
	arms=$(for i in 0 1 2 3; do printf '%s=%s/%s ' "$("$JG" "$ad/phone.json" settings.0.arms.$i.name)" \
		"$("$JG" "$ad/phone.json" settings.0.arms.$i.affinity)" "$("$JG" "$ad/phone.json" settings.0.arms.$i.pin)"; done)
	if [ $rc -eq 0 ] && [ "$("$JG" "$ad/phone.json" settings.0.setting)" = pinning ] &&
		[ "$arms" = "free=/none Cortex-X4=7/all:7 Cortex-A720=2-6/all:2-6 Cortex-A520=0-1/all:0-1 " ]; then
		pass ab/tune-plan-phone-clusters
	else
		fail ab/tune-plan-phone-clusters "exit $rc: '$arms' $(head -c 300 "$ad/phone.err")"
	fi
	trap 'rm -rf "$tmp"' EXIT INT TERM
fi
