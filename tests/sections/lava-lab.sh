# lava-lab (make test-lab): two real LAVA jobs, run by LAVA's own
# dispatcher (lava-run, no server) on emulated ARM64 lab hosts booted by
# LAVA under TCG: deploy to tmpfs (the lab's kernel; its initramfs with a
# shell on the console, into which LAVA itself puts its overlay and, when
# one is built (make kit ARCH=aarch64), the field kit; else the lab's
# payload disk with kvmqual; an empty work disk), boot with QEMU, and the
# test definition lava/kvmqual.yaml cloned over file:// from a snapshot of
# this checkout (tests/lava/job.sh).  The definition runs kvmqual's quick
# profile with sysbench only, one boot sample, user networking.  Checked
# on LAVA's own results (the results
# lines of its log, and OUT/result.yaml), not on kvmqual's output:
#   el2-vhe-gicv3: the probe set is there, kvm.smoke pass, boot and sysbench
#   measurements with units under kvm and tcg, the job passes;
#   el1 (tcg-only): the KVM cases skip, none of them (nor a probe check or
#   a target) fails, the job passes.
# Each job is bounded by LAVA's job timeout (LAVA_JOB_TIMEOUT minutes,
# default 90), and lava-run by that plus 10 minutes.
# Sourced by tests/run.sh (pass, fail, skip, $tmp).

if ! /usr/bin/python3 -c 'import lava_dispatcher' 2>/dev/null || ! command -v lava-run >/dev/null 2>&1; then
	skip lava-lab "needs LAVA's dispatcher (scripts/deps.sh lava)"
elif [ ! -f build/lab/vmlinuz ]; then
	skip lava-lab "needs the lab (make lab)"
else
	LR="/usr/bin/python3 tests/tools/lava_results.py"
	# The DUT runs the field kit when one is built (make kit ARCH=aarch64),
	# else the lab's payload disk stands in for it.
	lava_kit=$(ls build/kit/kvmqual-kit-aarch64-*.tar.gz 2>/dev/null | tail -n 1)
	echo "lava-lab: kvmqual on the DUT from ${lava_kit:-the payload disk (no kit built)}"
	n=0
	for c in el2-vhe-gicv3 el1; do
		n=$((n + 1))
		d="$tmp/lava-lab-$c"
		# One boot sample and user networking only: nested TCG boots take
		# minutes on a busy 2-core machine.
		if ! LAVA_KIT=$lava_kit tests/lava/job.sh "$c" "$d" PROFILE=quick WORKLOADS=sysbench-cpu COMPARE= \
			RUN_ARGS='--iterations 1 --net user' >"$d.setup" 2>&1; then
			fail "lava-lab/$c/job" "$(tail -3 "$d.setup" | tr '\n' ' ')"
			continue
		fi
		start=$(date +%s)
		timeout $(( (${LAVA_JOB_TIMEOUT:-90} + 10) * 60 )) \
			lava-run --device "$d/device.yaml" --job-id "$$$n" --output-dir "$d/out" "$d/job.yaml" >"$d/lava.log" 2>&1
		rc=$?
		echo "lava-lab: $c took $(($(date +%s) - start))s"
		$LR results "$d/lava.log" >"$d/results.txt" 2>&1
		# r TEST REGEX: a results line of LAVA's log.
		r() {
			if grep -Eq "$2" "$d/results.txt"; then pass "lava-lab/$c/$1"; else fail "lava-lab/$c/$1" "no LAVA result matching '$2' (exit $rc; $d/results.txt: $(grep -E ' (fail|skip)' "$d/results.txt" | head -4 | tr '\n' ' '))"; fi
		}
		if [ $rc -eq 0 ] && grep -q '^result: pass$' "$d/out/result.yaml" 2>/dev/null; then
			pass "lava-lab/$c/job-pass"
		else
			fail "lava-lab/$c/job-pass" "lava-run exit $rc, $(tr '\n' ' ' <"$d/out/result.yaml" 2>/dev/null); $(grep -o '"error_msg": "[^"]*"' "$d/lava.log" | head -2)"
		fi
		r job-result '^result lava - job pass$'
		r definition-ran '^result lava - 0_kvmqual pass$'
		r setup '^result 0_kvmqual - kvmqual.setup pass$'
		if [ -n "$lava_kit" ]; then
			if grep -q '"msg": "kvmqual: kit [^"]*, hash [0-9a-f]\{64\}, in /work/kvmqual/kvmqual-kit"' "$d/lava.log"; then
				pass "lava-lab/$c/ran-the-kit"
			else
				fail "lava-lab/$c/ran-the-kit" "no 'kvmqual: kit ... hash' line in $d/lava.log"
			fi
		fi
		r probe-set '^result 0_kvmqual probe cpu\.boot_el (pass|skip)$'
		r boot-tcg '^result 0_kvmqual boot boot\.tcg pass [0-9.]+ ms$'
		r sysbench-tcg '^result 0_kvmqual tcg tcg\.sysbench-cpu\.events_per_second pass [0-9.]+ events/s$'
		r sysbench-native '^result 0_kvmqual native native\.sysbench-cpu\.events_per_second pass [0-9.]+ events/s$'
		case $c in
		el1)
			r kvm-smoke-skip '^result 0_kvmqual probe kvm\.smoke skip$'
			r kvm-device-skip '^result 0_kvmqual probe kvm\.device skip$'
			r boot-kvm-skip '^result 0_kvmqual boot boot\.kvm skip$'
			r sysbench-kvm-skip '^result 0_kvmqual kvm kvm\.sysbench-cpu\.events_per_second skip$'
			# Nothing about KVM fails on a tcg-only board (TCG's own
			# numbers may, when nested TCG times out on a loaded machine).
			if grep -E '^result 0_kvmqual (probe|targets) [^ ]+ fail|^result 0_kvmqual [a-z]+ [^ ]*kvm[^ ]* fail' "$d/results.txt" >"$d/kvm-fails.txt"; then
				fail lava-lab/el1/no-kvm-case-fails "$(head -4 "$d/kvm-fails.txt" | tr '\n' ' ')"
			else
				pass lava-lab/el1/no-kvm-case-fails
			fi ;;
		*)
			r kvm-smoke '^result 0_kvmqual probe kvm\.smoke pass$'
			r boot-kvm '^result 0_kvmqual boot boot\.kvm pass [0-9.]+ ms$'
			r sysbench-kvm '^result 0_kvmqual kvm kvm\.sysbench-cpu\.events_per_second pass [0-9.]+ events/s$'
			r kvm-over-tcg '^result 0_kvmqual ratio sysbench-cpu\.events_per_second\.kvm-over-tcg pass [0-9.]+ x$' ;;
		esac
	done
fi
