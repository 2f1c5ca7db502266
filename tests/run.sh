#!/bin/sh
# Runs every test of kvmqual and ends with "N passed, N failed, N skipped".
#   unit       C unit tests (parsers, tarballs, host files), under ASan/UBSan
#   fixture    the probe on each snapshot under tests/fixtures/snapshots
#   malformed  broken snapshots: clear errors, no crash, nothing written outside
#   cli        options and exit codes
#   live       the probe on this host
#   cross      the aarch64 build
#   guest      the benchmark guest image under TCG: agent, tools, failure paths
#   run        kvmqual run end to end (quick profile, TCG) and its failure paths
#   hostile    hostile input and faults (tests/sections/hostile.sh)
#   hostile-store  hostile input and faults for the store, export, compare, run
#              and guest (tests/sections/hostile-store.sh)
# and the sections kept in files of their own, tests/sections/NAME.sh (each
# says what it tests at its top), sourced here with the helpers below.
# Run from the top of the checkout after 'make test' has built everything;
# TESTS="unit fixture" runs a subset.
set -u
cd "$(dirname "$0")/.."
# KVMQUAL_TEST_BUILD: the build tree under test (build, or build-san for the
# binaries made with ASan and UBSan: make test SANITIZE=1).
# KVMQUAL_TEST_PROBE and KVMQUAL_TEST_KVMQUAL run the tests against other
# binaries (e.g. an older build, to see a new test fail there).
B=${KVMQUAL_TEST_BUILD:-build}
TT=$B/tests
PROBE=${KVMQUAL_TEST_PROBE:-$B/probe}
CHECK=$TT/fixture_check
KQ=${KVMQUAL_TEST_KVMQUAL:-$B/kvmqual}
JG=$TT/json_get
TESTS=${TESTS:-unit fixture malformed dtbs cli live cross lab kit guest run measure report matrix publish browser compare nightly hostile hostile-store lava ab sanitizers}
tmp=$(mktemp -d /tmp/kvmqual-test.XXXXXX)
# What ASan and UBSan find (in the unit tests and the test tools always, in
# kvmqual and the probe of build-san) goes to files here, so that a finding
# fails the suite even where a test only looks at an exit status.  Not under
# /tmp: tests give some commands a /tmp of their own; 1777: some run as
# nobody.
san_logs=$(mktemp -d /var/tmp/kvmqual-san.XXXXXX)
chmod 1777 "$san_logs"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$san_logs/asan:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$san_logs/ubsan:print_stacktrace=1:halt_on_error=1"
trap 'rm -rf "$tmp" "$san_logs"' EXIT INT TERM
passed=0 failed=0 skipped=0

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $1: $2"; }
want() { case " $TESTS " in *" $1 "*) return 0 ;; esac; return 1; }

# probe_json NAME ARGS... : runs the probe, keeps JSON in $tmp/NAME.json and
# the exit code in $rc.
probe_json() {
	name=$1
	shift
	"$PROBE" --json "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
	rc=$?
}

# expect_check NAME JSON EXPECT : fixture_check with its output on failure.
expect_check() {
	ec_out="$tmp/$(echo "$1" | tr / _).check"
	if "$CHECK" "$2" "$3" >"$ec_out" 2>&1; then
		pass "$1"
	else
		fail "$1" "$(tr '\n' ' ' <"$ec_out")"
	fi
}

# The exit code must follow the verdict: 1 for tcg-only, 0 otherwise.
expect_exit_for_verdict() {
	if grep -q '"status":[[:space:]]*"tcg-only"' "$2"; then want_rc=1; else want_rc=0; fi
	if [ "$3" = "$want_rc" ]; then pass "$1"; else fail "$1" "exit $3, expected $want_rc"; fi
}

if want unit; then
	"$TT/unit" >"$tmp/unit.out" 2>&1
	unit_rc=$?
	while read -r status name; do
		case $status in
		PASS) pass "$name" ;;
		FAIL) fail "$name" "$(grep -A0 "    " "$tmp/unit.out" | head -3 | tr '\n' ' ')" ;;
		esac
	done <"$tmp/unit.out"
	if [ $unit_rc -ne 0 ] && ! grep -q '^FAIL' "$tmp/unit.out"; then
		fail unit/binary "exit $unit_rc: $(tail -5 "$tmp/unit.out" | tr '\n' ' ')"
	fi
	"$TT/test_stream" >"$tmp/stream.out" 2>&1
	stream_rc=$?
	while read -r status name rest; do
		case $status in
		PASS) pass "$name" ;;
		FAIL) fail "$name" "$rest" ;;
		esac
	done <"$tmp/stream.out"
	if [ $stream_rc -ne 0 ] && ! grep -q '^FAIL' "$tmp/stream.out"; then
		fail stream/binary "exit $stream_rc: $(tail -5 "$tmp/stream.out" | tr '\n' ' ')"
	fi
fi

if want fixture; then
	for expect in tests/fixtures/snapshots/*.expect; do
		base=${expect%.expect}
		case $base in *.live) continue ;; esac
		name=$(basename "$base")
		if [ -d "$base" ]; then snap=$base; else snap=$base.tar.gz; fi
		probe_json "$name" --sysroot "$snap"
		expect_check "fixture/$name" "$tmp/$name.json" "$expect"
		expect_exit_for_verdict "fixture/$name/exit" "$tmp/$name.json" "$rc"
		# Lab and host captures carry the live probe's own result.
		if [ -f "$base.live.expect" ]; then
			if tar -xzf "$snap" -O probe-live.json >"$tmp/$name.live.json" 2>/dev/null; then
				expect_check "fixture/$name/live" "$tmp/$name.live.json" "$base.live.expect"
			else
				fail "fixture/$name/live" "no probe-live.json in $snap"
			fi
		fi
	done
	# A directory snapshot and the same files as a tarball classify alike.
	tar -czf "$tmp/pi5.tar.gz" -C tests/fixtures/snapshots/pi5-like .
	probe_json pi5-dir --sysroot tests/fixtures/snapshots/pi5-like
	probe_json pi5-tar --sysroot "$tmp/pi5.tar.gz"
	strip() { grep -v -e '"path"' -e '"generated_at"' -e '"elapsed_ms"' "$1"; }
	if strip "$tmp/pi5-dir.json" | cmp -s - "$(strip "$tmp/pi5-tar.json" >"$tmp/pi5-tar.s"; echo "$tmp/pi5-tar.s")"; then
		pass fixture/dir-and-tarball-agree
	else
		fail fixture/dir-and-tarball-agree "$(strip "$tmp/pi5-dir.json" | diff - "$tmp/pi5-tar.s" | head -5 | tr '\n' ' ')"
	fi
	# Without a device tree or ACPI tables (a capture without root), the
	# GIC comes from the kernel log, and the detail names that source.
	rm -rf "$tmp/pi5-nofdt" && cp -r tests/fixtures/snapshots/pi5-like "$tmp/pi5-nofdt" &&
		rm "$tmp/pi5-nofdt/sys/firmware/fdt"
	probe_json pi5-nofdt --sysroot "$tmp/pi5-nofdt"
	printf 'check gic.version warn v2\ndetail gic.version kernel log (no device tree or ACPI MADT to read): GIC: Using split EOI/Deactivate mode\n' \
		>"$tmp/pi5-nofdt.expect"
	expect_check fixture/gic-from-the-kernel-log "$tmp/pi5-nofdt.json" "$tmp/pi5-nofdt.expect"
	# A 36-bit IPA (the kernel log's "IPA Size Limit"): guests up to 63 GiB,
	# and QEMU's virt board needs highmem=off on old QEMU.
	rm -rf "$tmp/pi5-ipa36" && cp -r tests/fixtures/snapshots/pi5-like "$tmp/pi5-ipa36" &&
		sed -i 's/IPA Size Limit: 40 bits/IPA Size Limit: 36 bits/' "$tmp/pi5-ipa36/dmesg.txt"
	probe_json pi5-ipa36 --sysroot "$tmp/pi5-ipa36"
	printf 'check kvm.ipa warn 36 bits: guests up to 63 GiB\nhint kvm.ipa highmem=off\n' >"$tmp/pi5-ipa36.expect"
	expect_check fixture/small-ipa "$tmp/pi5-ipa36.json" "$tmp/pi5-ipa36.expect"
	# The same snapshot with its tree's maintenance interrupt removed (the
	# Raspberry Pi 5 DTB that hung every KVM guest): a limit, with the hint.
	if command -v dtc >/dev/null 2>&1; then
		rm -rf "$tmp/pi5-nomaint" && cp -r tests/fixtures/snapshots/pi5-like "$tmp/pi5-nomaint"
		grep -v 'interrupts = <1 9' tests/fixtures/src/pi5-like.dts >"$tmp/pi5-nomaint.dts"
		dtc -q -I dts -O dtb -o "$tmp/pi5-nomaint/sys/firmware/fdt" "$tmp/pi5-nomaint.dts"
		probe_json pi5-nomaint --sysroot "$tmp/pi5-nomaint"
		printf 'verdict kvm-limited\ncheck gic.maint_irq warn missing\nhint gic.maint_irq vGIC maintenance interrupt\n' \
			>"$tmp/pi5-nomaint.expect"
		expect_check fixture/pi5-without-maintenance-irq "$tmp/pi5-nomaint.json" "$tmp/pi5-nomaint.expect"
	else
		fail fixture/pi5-without-maintenance-irq "no dtc (apt-get install device-tree-compiler)"
	fi
fi

if want malformed; then
	base=tests/fixtures/snapshots/pi5-like
	# mk NAME : a fresh copy of the Pi 5-like snapshot to break.
	mk() { rm -rf "$tmp/$1" && cp -r "$base" "$tmp/$1" && echo "$tmp/$1"; }
	# classified NAME CHECK-ID STATUS [DETAIL] : the probe ran (exit 0 or 1)
	# and the check has that status (and detail text).
	classified() {
		name=$1 id=$2 status=$3 detail=${4:-}
		if [ "$rc" -ge 2 ]; then
			fail "malformed/$name" "exit $rc: $(head -c 300 "$tmp/$name.err")"
			return
		fi
		printf 'check %s %s\n' "$id" "$status" >"$tmp/$name.expect"
		[ -n "$detail" ] && printf 'detail %s %s\n' "$id" "$detail" >>"$tmp/$name.expect"
		expect_check "malformed/$name" "$tmp/$name.json" "$tmp/$name.expect"
	}
	# refused NAME TEXT : exit 2, the error names the problem, no crash.
	refused() {
		name=$1 text=$2
		if [ "$rc" -eq 2 ] && grep -q -- "$text" "$tmp/$name.err"; then
			pass "malformed/$name"
		else
			fail "malformed/$name" "exit $rc, stderr: $(head -c 300 "$tmp/$name.err")"
		fi
	}

	d=$(mk fdt-truncated) && head -c 100 "$base/sys/firmware/fdt" >"$d/sys/firmware/fdt"
	probe_json fdt-truncated --sysroot "$d"
	classified fdt-truncated gic.version warn "device tree blob is invalid"

	d=$(mk fdt-garbage) && head -c 4096 /dev/urandom >"$d/sys/firmware/fdt"
	probe_json fdt-garbage --sysroot "$d"
	classified fdt-garbage gic.version warn

	d=$(mk config-garbage) && rm -f "$d"/boot/config-* &&
		{ printf '\037\213\010\000'; head -c 2000 /dev/urandom; } >"$d/proc/config.gz"
	probe_json config-garbage --sysroot "$d"
	classified config-garbage kconfig.KVM warn "gzip"

	d=$(mk dmesg-junk) && head -c 65536 /dev/urandom >"$d/dmesg.txt"
	probe_json dmesg-junk --sysroot "$d"
	classified dmesg-junk cpu.boot_el warn

	d=$(mk cpuinfo-missing) && rm -f "$d/proc/cpuinfo" "$d/snapshot-info.txt" && rm -rf "$d/sys/devices"
	probe_json cpuinfo-missing --sysroot "$d"
	classified cpuinfo-missing cpu.arch fail

	mkdir -p "$tmp/empty"
	probe_json empty --sysroot "$tmp/empty"
	refused empty "not a host snapshot"

	probe_json missing --sysroot "$tmp/does-not-exist"
	refused missing "does-not-exist"

	# A tarball whose entry climbs out with ../, and one with a link out.
	mkdir -p "$tmp/evil/inner" && echo x >"$tmp/evil/x" &&
		(cd "$tmp/evil/inner" && tar -P -czf ../dotdot.tar.gz ../x)
	probe_json dotdot --sysroot "$tmp/evil/dotdot.tar.gz"
	refused dotdot "unsafe path"
	mkdir -p "$tmp/evil/link/proc" && ln -s /etc/passwd "$tmp/evil/link/proc/cpuinfo" &&
		tar -czf "$tmp/evil/link.tar.gz" -C "$tmp/evil/link" .
	probe_json link --sysroot "$tmp/evil/link.tar.gz"
	refused link "is a link"
	if [ -e "$tmp/x" ] || [ -e "$tmp/evil/inner/x" ]; then
		fail malformed/nothing-written-outside "a file appeared outside the snapshot"
	else
		pass malformed/nothing-written-outside
	fi

	head -c 1000 tests/fixtures/snapshots/x86-pvm-host.tar.gz >"$tmp/cut.tar.gz"
	probe_json truncated-tarball --sysroot "$tmp/cut.tar.gz"
	refused truncated-tarball "gzip"

	head -c 3000 /dev/urandom >"$tmp/noise.tar"
	probe_json noise-tarball --sysroot "$tmp/noise.tar"
	refused noise-tarball "tar"
	# The JSON still says what went wrong.
	if grep -q '"error":' "$tmp/noise-tarball.json"; then pass malformed/json-error-member; else
		fail malformed/json-error-member "no error member in --json output"; fi
fi

if want cli; then
	"$PROBE" --bogus >/dev/null 2>"$tmp/cli.err"
	[ $? -eq 2 ] && pass cli/unknown-option || fail cli/unknown-option "exit not 2"
	"$PROBE" --sysroot x --capture y >/dev/null 2>&1
	[ $? -eq 2 ] && pass cli/sysroot-with-capture || fail cli/sysroot-with-capture "exit not 2"
	"$PROBE" --color=purple >/dev/null 2>&1
	[ $? -eq 2 ] && pass cli/bad-color || fail cli/bad-color "exit not 2"
	if "$PROBE" --help | grep -q "Exit status"; then pass cli/help; else fail cli/help "no exit status in --help"; fi
	"$PROBE" --sysroot tests/fixtures/snapshots/pi5-like --color=always >"$tmp/colour.txt"
	if grep -q "$(printf '\033')\[33mWARN" "$tmp/colour.txt"; then pass cli/colour-always; else fail cli/colour-always "no ANSI colour"; fi
	"$PROBE" --sysroot tests/fixtures/snapshots/pi5-like >"$tmp/plain.txt"
	if grep -q "$(printf '\033')" "$tmp/plain.txt"; then fail cli/no-colour-off-tty "colour in a pipe"; else pass cli/no-colour-off-tty; fi
	if grep -q '^WARN  gic.version' "$tmp/plain.txt" && grep -q '      hint: ' "$tmp/plain.txt" &&
		grep -q '^verdict: KVM with limits' "$tmp/plain.txt"; then
		pass cli/table
	else
		fail cli/table "unexpected text output"
	fi
	"$PROBE" --sysroot tests/fixtures/snapshots/pi5-like --json --output "$tmp/out.json"
	if "$CHECK" "$tmp/out.json" - >/dev/null; then pass cli/output-file; else fail cli/output-file "bad JSON in --output"; fi
fi

if want live; then
	probe_json live
	expect_check live/invariants "$tmp/live.json" -
	expect_exit_for_verdict live/exit "$tmp/live.json" "$rc"
	if [ -d /sys/module/kvm_pvm ]; then
		# This machine's KVM is PVM: only PVM guest kernels boot.  The probe
		# must say so, and prove /dev/kvm works with its smoke test.
		printf 'verdict kvm-limited\ncheck kvm.mode warn pvm\ncheck kvm.smoke pass\ncheck kvm.device pass ok\ncheck kvm.api pass 12\n' >"$tmp/pvm.expect"
		expect_check live/pvm-diagnosis "$tmp/live.json" "$tmp/pvm.expect"
	else
		skip live/pvm-diagnosis "this host's KVM is not PVM (no /sys/module/kvm_pvm)"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		"$PROBE" --capture "$tmp/self.tar.gz" >/dev/null 2>&1
		probe_json self --sysroot "$tmp/self.tar.gz"
		live_mode=$(grep -A2 '"kvm.mode"' "$tmp/live.json" | grep '"status"')
		self_mode=$(grep -A2 '"kvm.mode"' "$tmp/self.json" | grep '"status"')
		if [ "$rc" -lt 2 ] && [ "$live_mode" = "$self_mode" ]; then pass live/capture-roundtrip; else
			fail live/capture-roundtrip "exit $rc; kvm.mode live '$live_mode' snapshot '$self_mode'"; fi
	else
		skip live/capture-roundtrip "capturing the kernel log and ACPI tables needs root"
	fi
fi

if want cross; then
	bin=build/aarch64/probe
	if [ ! -f "$bin" ]; then
		fail cross/built "no $bin (make ARCH=aarch64)"
	else
		# e_machine at offset 18: 0xb7 = EM_AARCH64; no PT_INTERP = static.
		machine=$(od -An -tx1 -j18 -N2 "$bin" | tr -d ' \n')
		size=$(wc -c <"$bin")
		if [ "$machine" = "b700" ]; then pass cross/aarch64-elf; else fail cross/aarch64-elf "e_machine $machine"; fi
		if ! readelf -l "$bin" | grep -q 'program interpreter'; then pass cross/static; else fail cross/static "has an ELF interpreter"; fi
		if [ "$size" -lt 2097152 ]; then pass cross/under-2MB; else fail cross/under-2MB "$size bytes"; fi
		hsize=$(wc -c <"$PROBE")
		if readelf -l "$PROBE" | grep -q 'program interpreter'; then
			skip build/under-2MB "$PROBE is not the static release binary (a sanitizer build)"
		elif [ "$hsize" -lt 2097152 ]; then pass build/under-2MB; else fail build/under-2MB "$hsize bytes"; fi
	fi
fi

if want guest; then
	image=build/guest/aarch64
	if ! command -v qemu-system-aarch64 >/dev/null 2>&1; then
		skip guest "qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)"
	elif [ ! -f "$image/manifest.json" ]; then
		fail guest "no guest image in $image (make guest-image)"
	else
		# The host side of iperf3: a one-shot server on loopback, which the
		# guest reaches as 10.0.2.2 through QEMU's user-mode network.
		port=$((20000 + $$ % 20000))
		iperf3 -s -1 -B 127.0.0.1 -p "$port" >"$tmp/iperf3-server.log" 2>&1 &
		iperf_pid=$!
		cat >"$tmp/guest.script" <<SCRIPT
sysbench cpu --threads=2 --time=2 run
fio --name=seqread --filename=/dev/kqscratch --rw=read --bs=1M --size=32M --direct=1 --ioengine=psync --output-format=json
iperf3 -c 10.0.2.2 -p $port -t 2 -J
stream --json --passes 3 --elements 2000000
no-such-tool
SCRIPT
		"$KQ" guest --image "$image" --arch aarch64 --cpus 2 --mem 512 --disk-mb 64 --net --json \
			--timeout 120 --script "$tmp/guest.script" >"$tmp/guest.json" 2>"$tmp/guest.err"
		kill "$iperf_pid" 2>/dev/null
		wait "$iperf_pid" 2>/dev/null
		# expect_cmd N NAME TEXT : command N exited 0 and printed TEXT.
		expect_cmd() {
			code=$("$JG" "$tmp/guest.json" "commands.$1.exit_code")
			"$JG" "$tmp/guest.json" "commands.$1.stdout" >"$tmp/guest.$1.out" 2>/dev/null
			if [ "$code" = 0 ] && grep -q -- "$3" "$tmp/guest.$1.out"; then
				pass "guest/$2"
			else
				fail "guest/$2" "exit '$code'; stderr: $("$JG" "$tmp/guest.json" "commands.$1.stderr" | head -c 400 | tr '\n' ' ') $(head -c 300 "$tmp/guest.err")"
			fi
		}
		if [ "$("$JG" "$tmp/guest.json" boot.channel)" = virtio-serial ]; then pass guest/ready-on-virtio-serial; else
			fail guest/ready-on-virtio-serial "$(head -c 600 "$tmp/guest.err")"; fi
		expect_cmd 0 sysbench-cpu "events per second:"
		expect_cmd 1 fio-virtio-blk '"bw"'
		expect_cmd 2 iperf3-to-host 'bits_per_second'
		expect_cmd 3 stream '"validated":true'
		if [ "$("$JG" "$tmp/guest.json" commands.4.exit_code)" = 127 ]; then pass guest/missing-tool-is-127; else
			fail guest/missing-tool-is-127 "exit $("$JG" "$tmp/guest.json" commands.4.exit_code)"; fi

		# A command that outlives its timeout is killed and says so.
		"$KQ" guest --image "$image" --arch aarch64 --json --timeout 2 -- sleep 60 >"$tmp/timeout.json" 2>&1
		if [ "$("$JG" "$tmp/timeout.json" commands.0.timed_out)" = true ]; then pass guest/command-timeout; else
			fail guest/command-timeout "$(head -c 300 "$tmp/timeout.json")"; fi

		# A guest that never gets ready fails within the boot timeout, with
		# the reason, and leaves no QEMU behind.
		mkdir -p "$tmp/broken-image"
		cp "$image/vmlinuz" "$tmp/broken-image/"
		printf 'not an initramfs' | gzip >"$tmp/broken-image/initramfs.cpio.gz"
		cp "$image/manifest.json" "$tmp/broken-image/"
		start=$(date +%s)
		"$KQ" guest --image "$tmp/broken-image" --arch aarch64 --boot-timeout 8 -- true >/dev/null 2>"$tmp/broken.err"
		brc=$?
		took=$(($(date +%s) - start))
		if [ $brc -eq 2 ] && grep -q "did not become ready" "$tmp/broken.err" && [ "$took" -le 15 ] &&
			! pgrep -f "$tmp/broken-image" >/dev/null; then
			pass guest/never-ready-fails-fast
		else
			fail guest/never-ready-fails-fast "exit $brc after ${took}s: $(head -c 300 "$tmp/broken.err")"
			pkill -f "$tmp/broken-image"
		fi

		# kvmqual killed outright (SIGKILL: no clean-up code runs) takes its
		# QEMU with it.
		"$KQ" guest --image "$image" --arch aarch64 --append kq.test="$tmp" -- sleep 60 >/dev/null 2>&1 &
		kq_pid=$!
		waited=0
		until pgrep -f "kq.test=$tmp" >/dev/null || [ $waited -ge 150 ]; do sleep 0.2; waited=$((waited + 1)); done
		kill -KILL "$kq_pid" 2>/dev/null
		wait "$kq_pid" 2>/dev/null
		# QEMU dies of its parent's death; on a busy machine not at once:
		# wait for it (bounded), never look just once.
		gone=0
		until ! pgrep -f "kq.test=$tmp" >/dev/null || [ $gone -ge 150 ]; do sleep 0.2; gone=$((gone + 1)); done
		if [ $waited -lt 150 ] && ! pgrep -f "kq.test=$tmp" >/dev/null; then pass guest/killed-runner-leaves-no-qemu; else
			fail guest/killed-runner-leaves-no-qemu "QEMU $( [ $waited -ge 150 ] && echo 'never started' || echo 'outlived kvmqual by 30 s')"
			pkill -KILL -f "kq.test=$tmp"
		fi

		# QEMU that is not there.
		PATH=/nonexistent "$(pwd)/$KQ" guest --image "$image" --arch aarch64 -- true >/dev/null 2>"$tmp/noqemu.err"
		if [ $? -eq 2 ] && grep -q "qemu-system-aarch64 is not installed (not on PATH): apt-get install qemu-system-arm" "$tmp/noqemu.err"; then pass guest/no-qemu; else
			fail guest/no-qemu "$(head -c 300 "$tmp/noqemu.err")"; fi
	fi
fi

if want run; then
	if [ ! -f build/guest/aarch64/manifest.json ]; then
		fail run "no guest image (make guest-image)"
	else
		# The quick profile end to end: native baseline and the aarch64 guest
		# under TCG, every workload, stored in SQLite.
		"$KQ" run --guest-arch aarch64 --accel tcg --profile quick --db "$tmp/run/kvmqual.db" --json \
			>"$tmp/run.json" 2>"$tmp/run.err"
		rrc=$?
		if [ $rrc -eq 0 ] && [ "$("$JG" "$tmp/run.json" status)" = complete ]; then pass run/quick-tcg-complete; else
			fail run/quick-tcg-complete "exit $rrc, status $("$JG" "$tmp/run.json" status): $("$JG" "$tmp/run.json" reason | head -c 600)"; fi
		"$KQ" export --db "$tmp/run/kvmqual.db" --format csv >"$tmp/run.csv"
		missing=""
		# (the quick profile leaves out the extra steps: stress-ng-cpu; the
		# measure section runs it by name)
		for w in sysbench-cpu sysbench-cpu-1t stream fio-seqread fio-seqwrite fio-randread iperf3-h2g iperf3-g2h sockperf-rr; do
			for a in native tcg; do
				grep -q ",$a,$w," "$tmp/run.csv" || missing="$missing $a/$w"
			done
		done
		if [ -z "$missing" ]; then pass run/every-workload-stored; else fail run/every-workload-stored "no samples for:$missing"; fi
		if grep -q ',stress-ng-cpu,' "$tmp/run.csv"; then
			fail run/quick-leaves-out-extras "stress-ng-cpu ran in a quick run"
		else
			pass run/quick-leaves-out-extras
		fi
		# fio reads data the disk holds: a scratch file of holes (the
		# sequential read comes before any write) is answered with zeros
		# from no disk at all, 100+ GB/s; real reads of one job are far
		# below 50 GB/s on any disk or page cache.
		holes=$(awk -F, '$6 == "fio-seqread" && $9 + 0 > 50000 {print $5 ": " $9 " MB/s"}' "$tmp/run.csv")
		if [ -z "$holes" ] && grep -q ',fio-seqread,' "$tmp/run.csv"; then
			pass run/fio-reads-written-data
		else
			fail run/fio-reads-written-data "sequential reads faster than any disk (a sparse scratch file?): $holes"
		fi
		tcg_boot=$("$JG" "$tmp/run.json" boot_ms.tcg)
		case $tcg_boot in '' | null) fail run/boot-time "no TCG boot time" ;; *) pass run/boot-time ;; esac
		"$KQ" export --db "$tmp/run/kvmqual.db" --format json >"$tmp/export.json"
		if [ "$("$JG" "$tmp/export.json" schema)" = kvmqual.export ] &&
			[ "$("$JG" "$tmp/export.json" runs.0.guest_image_hash)" = "$("$JG" build/guest/aarch64/manifest.json image_hash)" ]; then
			pass run/export-json-with-image-hash
		else
			fail run/export-json-with-image-hash "$(head -c 300 "$tmp/export.json")"
		fi

		# KVM that cannot boot a stock guest (this PVM host): the run says why,
		# quickly, and goes on with TCG.  Quickly is relative to TCG: KVM is
		# given three times TCG's median boot (at least 10 s), never the
		# 120 s of a TCG boot; a wall-clock bound on the whole run failed on
		# a busy machine, where TCG itself took 45 s a boot.
		if [ -d /sys/module/kvm_pvm ] && [ "$(uname -m)" = x86_64 ]; then
			start=$(date +%s)
			"$KQ" run --guest-arch x86_64 --accel kvm,tcg --workloads sysbench-cpu-1t --db "$tmp/run/kvmqual.db" --json \
				>"$tmp/kvm.json" 2>"$tmp/kvm.err"
			krc=$?
			took=$(($(date +%s) - start))
			reason=$("$JG" "$tmp/kvm.json" reason)
			tcg_ms=$("$JG" "$tmp/kvm.json" boot_ms.tcg)
			kvm_ms=$(echo "$reason" | sed -n 's/.*kvm: the guest did not boot: the guest did not become ready within \([0-9]*\) ms.*/\1/p')
			kvm_bound=$(awk -v t="$tcg_ms" 'BEGIN { b = 3 * t; if (b < 10000) b = 10000; print int(b) + 1 }')
			if [ $krc -eq 1 ] && [ "$("$JG" "$tmp/kvm.json" status)" = incomplete ] &&
				echo "$reason" | grep -q "kvm: the guest did not boot" && echo "$reason" | grep -q pvm &&
				[ "$tcg_ms" != null ] &&
				{ echo "$reason" | grep -q "kvm: the guest did not boot: QEMU exited" ||
					{ [ -n "$kvm_ms" ] && [ "$kvm_ms" -le "$kvm_bound" ]; }; }; then
				pass run/kvm-failure-is-a-result
			else
				fail run/kvm-failure-is-a-result "exit $krc after ${took}s (KVM given ${kvm_ms:-?} ms, bound $kvm_bound): $(head -c 600 "$tmp/kvm.json")"
			fi
		else
			skip run/kvm-failure-is-a-result "this host's KVM is not PVM: a stock guest would boot"
		fi

		# No QEMU: every accelerator fails with the reason, nothing hangs.
		mkdir -p "$tmp/noqemu-bin"
		for t in sysbench fio iperf3 sh; do ln -sf "$(command -v $t)" "$tmp/noqemu-bin/$t"; done
		PATH="$tmp/noqemu-bin" "$(pwd)/$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t \
			--db "$tmp/run/kvmqual.db" --json >"$tmp/noqemu.json" 2>"$tmp/noqemu.err"
		nrc=$?
		if [ $nrc -eq 2 ] && [ "$("$JG" "$tmp/noqemu.json" status)" = failed ] &&
			"$JG" "$tmp/noqemu.json" reason | grep -q "qemu-system-aarch64 is not installed"; then
			pass run/no-qemu
		else
			fail run/no-qemu "exit $nrc: $(head -c 400 "$tmp/noqemu.json") $(head -c 200 "$tmp/noqemu.err")"
		fi

		# kvmqual without the STREAM make built next to it: native STREAM is
		# refused with the reason, never taken from PATH (ImageMagick has a
		# `stream` too); here one on PATH leaves a mark if it runs.
		mkdir -p "$tmp/lonely"
		cp "$KQ" "$tmp/lonely/kvmqual"
		printf '#!/bin/sh\ntouch %s/lonely/ran\n' "$tmp" >"$tmp/noqemu-bin/stream"
		chmod +x "$tmp/noqemu-bin/stream"
		PATH="$tmp/noqemu-bin" "$tmp/lonely/kvmqual" run --guest-arch aarch64 --accel tcg --workloads stream \
			--image "$(pwd)/build/guest/aarch64" --targets "$(pwd)/runners/targets.conf" \
			--db "$tmp/run/lonely.db" --json >"$tmp/lonely.json" 2>"$tmp/lonely.err"
		lrc=$?
		if [ ! -e "$tmp/lonely/ran" ] && grep -q "no stream next to kvmqual ($tmp/lonely/stream): build it with 'make stream'" \
			"$tmp/lonely.json" "$tmp/lonely.err"; then
			pass run/stream-not-from-path
		else
			fail run/stream-not-from-path "exit $lrc, ran: $(ls "$tmp/lonely"): $(head -c 600 "$tmp/lonely.json") $(head -c 300 "$tmp/lonely.err")"
		fi
		rm -f "$tmp/noqemu-bin/stream"

		# make install: the installed kvmqual finds its STREAM, guest image
		# and targets in PREFIX/lib/kvmqual and PREFIX/share/kvmqual, away
		# from the build tree (run from /, without --image or --targets:
		# nothing else could give it native and TCG STREAM samples).
		if make --no-print-directory install DESTDIR="$tmp/inst" PREFIX=/usr >"$tmp/install.log" 2>&1; then
			(cd / && "$tmp/inst/usr/bin/kvmqual" run --guest-arch aarch64 --accel tcg --workloads stream \
				--iterations 1 --db "$tmp/run/inst.db" --json >"$tmp/inst.json" 2>"$tmp/inst.err")
			irc=$?
			if [ $irc -eq 0 ] && [ "$("$JG" "$tmp/inst.json" status)" = complete ] &&
				[ "$(sqlite3 "$tmp/run/inst.db" "SELECT count(DISTINCT accel) FROM samples WHERE workload = 'stream'")" = 2 ]; then
				pass run/installed-layout
			else
				fail run/installed-layout "exit $irc: $(head -c 600 "$tmp/inst.json") $(tail -c 300 "$tmp/inst.err")"
			fi
		else
			fail run/installed-layout "make install: $(tail -c 400 "$tmp/install.log")"
		fi
		rm -rf "$tmp/inst"

		# SIGTERM mid-run: stored as interrupted, exit 143, no QEMU left.
		"$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu --db "$tmp/run/term.db" \
			>"$tmp/term.out" 2>&1 &
		tpid=$!
		# Mid-run: once its guest's QEMU is up (bounded), not after a fixed
		# sleep that a busy machine may not fill.
		waited=0
		until pgrep -P "$tpid" -f qemu-system-aarch64 >/dev/null || [ $waited -ge 600 ]; do sleep 0.2; waited=$((waited + 1)); done
		kill -TERM $tpid
		wait $tpid
		trc=$?
		"$KQ" export --db "$tmp/run/term.db" --format json >"$tmp/term.json" 2>&1
		if [ $trc -eq 143 ] && [ "$("$JG" "$tmp/term.json" runs.0.status)" = interrupted ] &&
			! pgrep -f "$tmp/run/kvmqual-scratch" >/dev/null; then
			pass run/sigterm-stores-interrupted
		else
			fail run/sigterm-stores-interrupted "exit $trc, status $("$JG" "$tmp/term.json" runs.0.status)"
		fi

		# SIGKILL: nothing runs clean-up; the next use of the database says
		# the run was cut off, and no QEMU outlives the runner.
		"$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu --db "$tmp/run/kill.db" \
			>"$tmp/kill.out" 2>&1 &
		kpid=$!
		waited=0
		until qpid=$(pgrep -P "$kpid" -f qemu-system-aarch64) || [ $waited -ge 600 ]; do sleep 0.2; waited=$((waited + 1)); done
		kill -KILL $kpid
		wait $kpid 2>/dev/null
		# Its QEMU dies of the parent's death: wait for that (bounded).
		gone=0
		until ! { [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; } && ! pgrep -f "$tmp/run/kvmqual-scratch" >/dev/null ||
			[ $gone -ge 150 ]; do sleep 0.2; gone=$((gone + 1)); done
		"$KQ" export --db "$tmp/run/kill.db" --format json >"$tmp/kill.json" 2>&1
		if [ "$("$JG" "$tmp/kill.json" runs.0.status)" = interrupted ] && ! pgrep -f "$tmp/run/kvmqual-scratch" >/dev/null; then
			pass run/sigkill-recovered-next-time
		else
			fail run/sigkill-recovered-next-time "status $("$JG" "$tmp/kill.json" runs.0.status)"
		fi
		# ... and the next run removes the scratch files the killed one left.
		ls "$tmp/run" | grep "kvmqual-scratch.$kpid." >/dev/null && left_before=1 || left_before=0
		"$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t --db "$tmp/run/kill.db" >/dev/null 2>&1
		if [ $left_before = 1 ] && ! ls "$tmp/run" | grep -q "kvmqual-scratch.$kpid."; then
			pass run/stale-scratch-removed
		else
			fail run/stale-scratch-removed "left before: $left_before; now: $(ls "$tmp/run" | tr '\n' ' ')"
		fi

		# Two runs at once against the same database both succeed.
		"$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t --db "$tmp/run/two.db" --json >"$tmp/two-a.json" 2>&1 &
		apid=$!
		"$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t --db "$tmp/run/two.db" --json >"$tmp/two-b.json" 2>&1
		brc=$?
		wait $apid
		arc=$?
		if [ $arc -eq 0 ] && [ $brc -eq 0 ]; then pass run/two-runs-one-database; else
			fail run/two-runs-one-database "exits $arc and $brc: $(head -c 300 "$tmp/two-a.json")"; fi

		# Tap networking in a namespace of the runner's own (vhost-net where
		# the host has it): the guest's numbers over tap, and no namespace
		# or tap device left behind.
		if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] && command -v ip >/dev/null; then
			"$KQ" run --guest-arch aarch64 --accel tcg --net tap --workloads iperf3-h2g,iperf3-g2h \
				--db "$tmp/run/tap.db" >/dev/null 2>"$tmp/tap.err"
			"$KQ" export --db "$tmp/run/tap.db" --format csv >"$tmp/tap.csv"
			if grep -q ",tcg,iperf3-h2g-tap,gbps," "$tmp/tap.csv" && grep -q ",tcg,iperf3-g2h-tap,gbps," "$tmp/tap.csv" &&
				! ip netns list | grep -q kvmqual-; then
				pass run/tap-in-own-netns
			else
				fail run/tap-in-own-netns "$(tail -c 400 "$tmp/tap.err") $(ip netns list | tr '\n' ' ')"
			fi
		else
			skip run/tap-in-own-netns "needs root, /dev/net/tun and iproute2"
		fi

		# A full disk under the database and the scratch files: a readable
		# result naming the cause, no crash, no hang, nothing left behind.
		if [ "$(id -u)" -eq 0 ] && mkdir -p "$tmp/full" && mount -t tmpfs -o size=3m tmpfs "$tmp/full" 2>/dev/null; then
			"$KQ" run --guest-arch aarch64 --accel tcg --workloads fio-seqwrite --db "$tmp/full/kvmqual.db" --json \
				>"$tmp/full.json" 2>"$tmp/full.err"
			frc=$?
			if [ $frc -ge 1 ] && [ $frc -le 2 ] && "$JG" "$tmp/full.json" reason | grep -q "No space left" &&
				! ls "$tmp/full" | grep -q kvmqual-scratch; then
				pass run/full-disk
			else
				fail run/full-disk "exit $frc: $(head -c 400 "$tmp/full.json")"
			fi
			umount "$tmp/full"
		else
			skip run/full-disk "needs root to mount a small tmpfs"
		fi

		# A tool that prints garbage: the step fails with the reason, the
		# run goes on and ends incomplete.
		mkdir -p "$tmp/garbage-bin"
		printf '#!/bin/sh\necho "this is not sysbench output"\n' >"$tmp/garbage-bin/sysbench"
		chmod +x "$tmp/garbage-bin/sysbench"
		PATH="$tmp/garbage-bin:$PATH" "$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t \
			--db "$tmp/run/garbage.db" --json >"$tmp/garbage.json" 2>/dev/null
		grc=$?
		if [ $grc -eq 1 ] && "$JG" "$tmp/garbage.json" reason | grep -q "sysbench-cpu-1t (native): output not understood" &&
			"$KQ" export --db "$tmp/run/garbage.db" --format csv | grep -q ",tcg,sysbench-cpu-1t,"; then
			pass run/garbage-output-is-a-failed-step
		else
			fail run/garbage-output-is-a-failed-step "exit $grc: $(head -c 400 "$tmp/garbage.json")"
		fi

		# Bad options are usage errors.
		"$KQ" run --profile huge >/dev/null 2>&1
		[ $? -eq 2 ] && pass run/bad-profile || fail run/bad-profile "exit not 2"
		"$KQ" run --workloads nope --accel tcg --guest-arch aarch64 >/dev/null 2>&1
		[ $? -eq 2 ] && pass run/bad-workload || fail run/bad-workload "exit not 2"
	fi
fi

# Each section's wall time, so that a slow one is seen in CI's log (the
# suite's goal is 30 minutes there).
for section in $TESTS; do
	if [ -f "tests/sections/$section.sh" ]; then
		section_start=$(date +%s)
		. "tests/sections/$section.sh"
		echo "section $section took $(($(date +%s) - section_start)) s"
	fi
done

# Every report any sanitized program wrote, whatever its test said.
san_found=$(ls "$san_logs")
if [ -z "$san_found" ]; then
	pass sanitizers/no-reports
else
	mkdir -p "$B/sanitizer-reports"
	cp "$san_logs"/* "$B/sanitizer-reports/"
	fail sanitizers/no-reports "$(echo "$san_found" | wc -l) report(s), kept in $B/sanitizer-reports: $(grep -h -m1 -e 'ERROR: ' -e 'runtime error' "$san_logs"/* | head -3 | tr '\n' ' ')"
fi
rm -rf "$san_logs"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
