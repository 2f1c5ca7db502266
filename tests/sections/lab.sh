# lab: the aarch64 probe live inside the emulated ARM64 hosts (tests/lab):
# each lab host with a tests/fixtures/snapshots/lab-CONFIG.live.expect boots,
# runs build/aarch64/probe --json, and must say what the expectation says
# (verdict, KVM mode, GIC, the host marked emulated); then the lab's own
# failure paths: a host that cannot boot, garbage on its console and a
# command that hangs fail within their time limits, with the console log;
# the command's own output cannot fake returned files. About a minute.
# Sourced by tests/run.sh (pass, fail, skip, expect_check, $tmp).

lab_tail() { tail -n 40 "$1" | tr '\n' ' ' | tail -c 1500; }

if ! command -v qemu-system-aarch64 >/dev/null 2>&1; then
	skip lab "qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)"
elif [ ! -f build/aarch64/probe ]; then
	fail lab "no build/aarch64/probe (make ARCH=aarch64 probe)"
else
	# The live expectations of the lab fixtures are what each lab host
	# must say when the probe runs in it now.
	for expect in tests/fixtures/snapshots/lab-*.live.expect; do
		config=$(basename "$expect" .live.expect)
		config=${config#lab-}
		out="$tmp/lab-$config"
		if LAB_TIMEOUT=${LAB_TIMEOUT:-180} LAB_EXTRA_FILES=build/aarch64/probe tests/lab/run.sh "$config" "$out" \
			sh -c 'probe --json > /out/probe.json; echo $? > /out/rc.txt' >"$tmp/lab-$config.log" 2>&1; then
			expect_check "lab/$config" "$out/probe.json" "$expect"
			expect_exit_for_verdict "lab/$config/exit" "$out/probe.json" "$(cat "$out/rc.txt")"
			# Every lab host is QEMU's, and the probe must say how it knows.
			evidence=$("$JG" "$out/probe.json" host.emulated_evidence.0 2>/dev/null)
			if [ "$("$JG" "$out/probe.json" host.emulated 2>/dev/null)" = true ] && [ -n "$evidence" ]; then
				pass "lab/$config/emulated"
			else
				fail "lab/$config/emulated" "host.emulated is not true with evidence: $("$JG" "$out/probe.json" host 2>&1 | head -c 600)"
			fi
		else
			fail "lab/$config" "the lab host did not run the probe: $(lab_tail "$tmp/lab-$config.log")"
		fi
	done

	# A big.LITTLE lab host would need CPUs of two types on one board.
	skip lab/biglittle "QEMU 7.2's virt machine has one CPU type for all CPUs (-cpu is a single option; CPUs cannot be added with -device), so no big.LITTLE lab host: the two-cluster code is tested on the phone-pkvm-like snapshot (tests/lab/README.md)"

	# A host that cannot boot (no init: the kernel panics, -no-reboot ends
	# QEMU) is a lab failure (125) with the console attached, not a hang.
	LAB_TIMEOUT=60 LAB_APPEND="rdinit=/nonexistent" tests/lab/run.sh el1 "$tmp/lab-noinit" true >"$tmp/lab-noinit.log" 2>&1
	rc=$?
	if [ $rc -eq 125 ] && grep -q "did not finish" "$tmp/lab-noinit.log" && grep -q "Kernel panic" "$tmp/lab-noinit.log"; then
		pass lab/no-init-fails-with-console
	else
		fail lab/no-init-fails-with-console "exit $rc: $(lab_tail "$tmp/lab-noinit.log")"
	fi
	# Garbage on the console while the files come back (a process writing
	# to /dev/console all along) is a lab failure, and nothing is written.
	LAB_TIMEOUT=60 tests/lab/run.sh el1 "$tmp/lab-garbage" sh -c \
		'head -c 300000 /dev/urandom > /out/big.bin; (while :; do echo "garbage!" > /dev/console; done) &' \
		>"$tmp/lab-garbage.log" 2>&1
	rc=$?
	if [ $rc -eq 125 ] && grep -q "bad console output" "$tmp/lab-garbage.log" && [ ! -e "$tmp/lab-garbage/big.bin" ]; then
		pass lab/garbage-fails-with-console
	else
		fail lab/garbage-fails-with-console "exit $rc: $(lab_tail "$tmp/lab-garbage.log")"
	fi
	# The command's own output cannot fake the frames: only what follows the
	# last @@LAB-CMD-EXIT@@ line (printed by /init) counts; and output left
	# without a newline (a progress line of a terminal) does not hide it.
	LAB_TIMEOUT=60 tests/lab/run.sh el1 "$tmp/lab-fake" sh -c \
		'printf "@@LAB-CMD-EXIT rc=0@@\n@@LAB-BEGIN evil@@\nZXZpbA==\n@@LAB-END evil@@\n@@LAB-DONE rc=0@@\n"; echo real > /out/real.txt; printf "[3/9] step\r\033[K"; exit 3' \
		>"$tmp/lab-fake.log" 2>&1
	rc=$?
	if [ $rc -eq 3 ] && [ "$(cat "$tmp/lab-fake/real.txt" 2>/dev/null)" = real ] && [ ! -e "$tmp/lab-fake/evil" ]; then
		pass lab/command-cannot-fake-frames
	else
		fail lab/command-cannot-fake-frames "exit $rc: $(lab_tail "$tmp/lab-fake.log")"
	fi
	# A command that hangs: QEMU is killed at LAB_TIMEOUT.
	start=$(date +%s)
	LAB_TIMEOUT=15 tests/lab/run.sh el1 "$tmp/lab-hang" sleep 600 >"$tmp/lab-hang.log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	if [ $rc -eq 125 ] && [ $took -lt 40 ] && grep -q "timed out after 15s" "$tmp/lab-hang.log" &&
		grep -q "@@LAB-RUN@@" "$tmp/lab-hang.log"; then
		pass lab/hang-times-out-with-console
	else
		fail lab/hang-times-out-with-console "exit $rc after ${took}s: $(lab_tail "$tmp/lab-hang.log")"
	fi
fi
