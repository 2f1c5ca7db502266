# kit: the field kit end to end on a bare emulated ARM64 board, the fast
# part for `make test` (tests/sections/kit-lab.sh has the long ones). The
# board (tests/lab/kit-host.sh: busybox only, no payload disk, no library
# in /lib, dropbear on a loopback port) is qualified by
#   kvmqual remote --via ssh://root@127.0.0.1:PORT --dir /work/kq -- --lava --workloads sysbench-cpu --accel kvm ...
# from this machine: the kit is copied, the run goes through the kit's own
# loader and the lab host's KVM (nested), the bundle comes back and is
# imported into a store here with its provenance, the report is written,
# and --lava printed the run as LAVA test cases (parsed by LAVA's own
# code). Also the refusals before copying (another architecture, too
# little space), a connection cut during the copy (nothing installed) and
# during the run (followed again), a second controller refused while the
# run is there, a second call that does not copy and whose run stores
# nothing (the board released), kvmqual import's refusals of bad bundles, import's round
# trip (export -> import -> export) on every stored fixture, that the
# kit's pins agree with the guest's, and the entry script under dash, mksh
# and busybox ash here. 2.5 to 5 minutes at a load of 4 to 6 (test-lab
# has the second call that does not copy, the Android-like and Pi 5-like
# hosts).
# Sourced by tests/run.sh (pass, fail, skip, $tmp).

. tests/lab/kit-host.sh
kit=build/kit/kvmqual-kit-aarch64-0.1.0.tar.gz

# board_cut follow|upload: on the board, ends the dropbear session of the
# kit's 'run follow', or of the copy writing /work/kq/.kit-upload.tar.gz,
# as a dropped link ends it (ssh then exits 255 here). Waits for it at
# most 10 minutes; prints "cut PID" or why not.
board_cut() {
	# shellcheck disable=SC2016 # expanded on the board
	$kit_ssh -p "$kit_port" root@127.0.0.1 "set -- $1"'
		end=$(($(date +%s) + 600)) f=
		while [ -z "$f" ] && [ "$(date +%s)" -lt "$end" ]; do
			# The upload: wait for its file (a test, no process) before looking.
			if [ "$1" = follow ] || [ -e /work/kq/.kit-upload.tar.gz ]; then
				for p in /proc/[0-9]*; do
					case $1 in
					follow) case "$(tr "\000" " " 2>/dev/null <"$p/cmdline")" in "sh kvmqual-kit/run fol""low "*) f=${p#/proc/} ;; esac ;;
					upload) [ "$(readlink "$p/fd/1" 2>/dev/null)" = /work/kq/.kit-upload.tar.gz ] && f=${p#/proc/} ;;
					esac
					[ -z "$f" ] || break
				done
			fi
			[ -n "$f" ] || sleep 1
		done
		[ -n "$f" ] || { echo "no $1 process in 10 minutes"; exit 1; }
		d=$f
		while [ "$d" -gt 1 ] && [ "$(cat "/proc/$d/comm" 2>/dev/null)" != dropbear ]; do
			set -- $(cat "/proc/$d/stat" 2>/dev/null)
			d=${4:-1}
		done
		if [ "$d" -gt 1 ] && kill "$d"; then echo "cut $d"; else echo "no dropbear session above $f"; exit 1; fi' 2>&1
}

# The kit's lock holds only what the guest's lock does not pin: make kit
# reads both, and one package at two versions stops it (as libzstd1 did
# when the guest's lock took it at another version than the kit's).
for a in aarch64 x86_64; do
	both=$(awk '$1 !~ /^#/ && NF == 2 { if (FNR == NR) g[$1] = $2; else if ($1 in g) print $1, g[$1], $2 }' \
		"guest-image/pins/$a.lock" "kit/pins/$a.lock")
	if [ -z "$both" ]; then
		pass "kit/pins-beyond-guest-$a"
	else
		fail "kit/pins-beyond-guest-$a" "pinned by guest-image/pins/$a.lock and kit/pins/$a.lock (guest's, kit's version): $(printf '%s' "$both" | tr '\n' ';')"
	fi
done

# The entry script under each shell it must work in (mksh is Android's
# /system/bin/sh, busybox ash a board's, dash Debian's): it parses, and it
# runs: a kit of the other architecture refuses this host naming both and
# writes only under --dir; this host's own kit (make kit ARCH=$(uname -m);
# make test-lab builds it) runs its probe, its kvmqual started through the
# kit's loader. The Android-like lab host (kit-lab) runs it under mksh and
# toybox for real.
ks="$tmp/kit-shells"
here_arch=$(uname -m)
case $here_arch in x86_64) other_arch=aarch64 ;; *) other_arch=x86_64 ;; esac
mkdir -p "$ks/other" "$ks/own"
other_kit=build/kit/kvmqual-kit-$other_arch-0.1.0.tar.gz own_kit=build/kit/kvmqual-kit-$here_arch-0.1.0.tar.gz
[ -f "$other_kit" ] && tar -xzf "$other_kit" -C "$ks/other"
[ -f "$own_kit" ] && tar -xzf "$own_kit" -C "$ks/own"
for sh_ in dash mksh "busybox sh"; do
	n=${sh_%% *}
	if ! command -v "$n" >/dev/null 2>&1; then
		skip "kit/run-under-$n" "$n is not installed (scripts/deps.sh test)"
		continue
	fi
	if ! out=$($sh_ -n kit/run 2>&1); then
		fail "kit/run-under-$n" "kit/run does not parse: $out"
		continue
	fi
	# follow, what kvmqual remote shows of a job: a log that grows while it
	# is followed comes out whole and in order, then the job's exit
	# status, and the follower's mark is gone; --skip leaves out what was
	# shown; a job whose process died without a status ends 2, saying so,
	# and its status is written.
	fj="$ks/follow-$n"
	mkdir -p "$fj/job" "$fj/dead"
	: >"$fj/job/log"
	(for i in 1 2 3 4 5 6; do echo "line $i" >>"$fj/job/log"; sleep 0.3; done; echo 7 >"$fj/job/status") &
	writer=$!
	echo $writer >"$fj/job/pid"
	out=$(timeout 120 $sh_ kit/run follow --dir "$fj" --job job 2>&1)
	rc=$?
	wait $writer
	marks=$(ls -A "$fj/job" | grep follow-seen)
	if [ $rc -eq 7 ] && [ "$out" = "$(printf 'line %s\n' 1 2 3 4 5 6)" ] && [ -z "$marks" ]; then
		out=$(timeout 120 $sh_ kit/run follow --dir "$fj" --job job --skip 21 2>&1)
		rc=$?
		[ $rc -eq 7 ] && [ "$out" = "$(printf 'line %s\n' 4 5 6)" ] && pass "kit/run-under-$n-follows" ||
			fail "kit/run-under-$n-follows" "--skip 21: exit $rc: $(printf '%s' "$out" | tr '\n' ' ')"
	else
		fail "kit/run-under-$n-follows" "exit $rc, marks left '$marks': $(printf '%s' "$out" | tr '\n' ' ')"
	fi
	printf 'begun\n' >"$fj/dead/log"
	sh -c 'exit 0' &
	dead=$!
	wait $dead
	echo $dead >"$fj/dead/pid"
	out=$(timeout 120 $sh_ kit/run follow --dir "$fj" --job dead 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && [ "$(cat "$fj/dead/status")" = 2 ] && printf '%s' "$out" | grep -q '^begun$' &&
		printf '%s' "$out" | grep -q "the job's process ($dead) ended without a status"; then
		pass "kit/run-under-$n-follows-dead-job"
	else
		fail "kit/run-under-$n-follows-dead-job" "exit $rc: $(printf '%s' "$out" | tr '\n' ' ')"
	fi
	if [ -f "$ks/other/kvmqual-kit/run" ]; then
		out=$($sh_ "$ks/other/kvmqual-kit/run" probe --dir "$ks/state-$n" 2>&1)
		rc=$?
		left=$(ls -A "$ks/state-$n" 2>&1 | tr '\n' ' ')
		case $rc:$out in
		2:*"this kit is for $other_arch, this device is $here_arch"*)
			[ "$left" = "tmp " ] && pass "kit/run-under-$n-refuses-$other_arch" ||
				fail "kit/run-under-$n-refuses-$other_arch" "it left '$left' in --dir" ;;
		*) fail "kit/run-under-$n-refuses-$other_arch" "exit $rc: $out" ;;
		esac
	else
		skip "kit/run-under-$n-refuses-$other_arch" "no $other_kit"
	fi
	if [ -f "$ks/own/kvmqual-kit/run" ]; then
		# HOME of its own: the probe's cache of QEMU's answers goes under
		# --dir too, never to ~/.cache.
		mkdir -p "$ks/home-$n"
		out=$(env -u XDG_CACHE_HOME HOME="$ks/home-$n" $sh_ "$ks/own/kvmqual-kit/run" probe --dir "$ks/own-state-$n" 2>&1)
		rc=$?
		elsewhere=$(cd "$ks/home-$n" && find . -mindepth 1 | tr '\n' ' ')
		case $rc:$out in
		[01]:*"verdict: "*)
			if [ -z "$elsewhere" ] && ls "$ks/own-state-$n"/cache/kvmqual/qemu-*.txt >/dev/null 2>&1; then
				pass "kit/run-under-$n-probes-$here_arch"
			else
				fail "kit/run-under-$n-probes-$here_arch" "written outside --dir, in HOME: '$elsewhere'; in --dir: $(cd "$ks/own-state-$n" && find . | tr '\n' ' ')"
			fi ;;
		*) fail "kit/run-under-$n-probes-$here_arch" "exit $rc: $(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')" ;;
		esac
	else
		skip "kit/run-under-$n-probes-$here_arch" "no $own_kit (make kit ARCH=$here_arch; make test-lab builds it)"
	fi
done

# Import reads back every member export writes: export -> import ->
# export gives the same runs on every stored fixture (only where and when
# the bundle was written differ, and the provenance import adds, which
# points back at the first bundle), and a second round trip is byte for
# byte the first but for the bundle's own time and path.  Copies: the
# fixtures are never opened for writing.
rt="$tmp/kit-roundtrip"
mkdir -p "$rt"
cp tests/fixtures/results/*.db "$rt/"
# One crafted store with what a run can leave: infinities (NAME_nonfinite
# in the bundle), an unknown sample value, an empty text.
cp tests/fixtures/results/x86-pvm-host.db "$rt/crafted-nonfinite.db"
sqlite3 "$rt/crafted-nonfinite.db" "UPDATE samples SET value = 9e999 WHERE id = (SELECT min(id) FROM samples);
	UPDATE samples SET value = NULL WHERE id = (SELECT max(id) FROM samples);
	UPDATE speedups SET kvm_over_tcg = -9e999 WHERE id = (SELECT min(id) FROM speedups);
	UPDATE boot_samples SET total_ms = 9e999 WHERE id = (SELECT min(id) FROM boot_samples);
	UPDATE checks SET value = '' WHERE id = (SELECT min(id) FROM checks)"
# One with the guest's view of the CPU's vulnerabilities (schema version 4:
# the version 1 fixture's runs imported into a new store), hostile where a
# guest kernel or a bundle could be: markup, a newline, a pipe, 5,000 bytes.
"$KQ" export --db tests/fixtures/results/x86-pvm-host.db >"$rt/guest-vulns-src.json" 2>/dev/null &&
	"$KQ" import --db "$rt/crafted-guest-vulns.db" "$rt/guest-vulns-src.json" >/dev/null 2>&1
sqlite3 "$rt/crafted-guest-vulns.db" "INSERT INTO guest_vulnerabilities (run_id, accel, status, reason, vulnerabilities)
	SELECT id, 'tcg', 'known', NULL, json_object('spectre_v2', 'Vulnerable', '<script>x</script>',
		'Mitigation: <b>' || char(10) || 'two lines | pipe', 'long', 'Vulnerable: ' || printf('%.5000c', 'x')) FROM runs;
	INSERT INTO guest_vulnerabilities (run_id, accel, status, reason, vulnerabilities)
	SELECT id, 'kvm', 'unknown', 'grep in the guest: exit 2: <i>no</i>', NULL FROM runs"
rm -f "$rt/guest-vulns-src.json"
for f in "$rt"/*.db; do
	n=$(basename "$f" .db)
	if ! "$KQ" export --db "$f" >"$rt/$n.1.json" 2>"$rt/$n.err" ||
		! "$KQ" import --db "$rt/$n.imported.db" "$rt/$n.1.json" >/dev/null 2>>"$rt/$n.err" ||
		! "$KQ" export --db "$rt/$n.imported.db" >"$rt/$n.2.json" 2>>"$rt/$n.err" ||
		! "$KQ" import --db "$rt/$n.again.db" "$rt/$n.2.json" >/dev/null 2>>"$rt/$n.err" ||
		! "$KQ" export --db "$rt/$n.again.db" >"$rt/$n.3.json" 2>>"$rt/$n.err"; then
		fail "kit/import-round-trip-$n" "$(tr '\n' ' ' <"$rt/$n.err" | head -c 600)"
		continue
	fi
	if out=$(/usr/bin/python3 tests/tools/bundle_same.py "$rt/$n.1.json" "$rt/$n.2.json" --from "$rt/$n.1.json" 2>&1) &&
		sed '1s/"generated_at":"[^"]*","database":"[^"]*"//' "$rt/$n.2.json" >"$rt/$n.2.cmp" &&
		sed '1s/"generated_at":"[^"]*","database":"[^"]*"//' "$rt/$n.3.json" >"$rt/$n.3.cmp" &&
		cmp -s "$rt/$n.2.cmp" "$rt/$n.3.cmp"; then
		pass "kit/import-round-trip-$n"
	else
		fail "kit/import-round-trip-$n" "$(printf '%s' "$out" | head -c 800 | tr '\n' ' ')$(cmp "$rt/$n.2.cmp" "$rt/$n.3.cmp" 2>&1)"
	fi
done
# The matrix takes an imported run by its provenance: the controller's
# store (where the run is run 2, after another host's) and the device's own
# export of it are one run, one row, not a copy kept apart and marked.
"$KQ" export --db "$rt/lab-el1.db" >"$rt/mx-other.json" 2>/dev/null
"$KQ" export --db "$rt/x86-pvm-host.db" --run 1 >"$rt/mx-device.json" 2>/dev/null
"$KQ" import --db "$rt/mx-controller.db" "$rt/mx-other.json" "$rt/mx-device.json" >/dev/null 2>&1
"$KQ" matrix --db "$rt/mx-controller.db" --in "$rt/mx-device.json" --out "$rt/mx" >"$rt/mx.out" 2>&1
rc=$?
rows=$("$JG" "$rt/mx/matrix.json" summary.rows 2>&1)
if [ $rc = 0 ] && [ "$rows" = 2 ] && ! grep -q '"kind": *"provenance"\|"kind": *"conflict"' "$rt/mx/matrix.json"; then
	pass kit/matrix-imported-run-one-row
else
	fail kit/matrix-imported-run-one-row "exit $rc, $rows rows: $(grep -o 'kept apart[^"]*\|claim the identity[^"]*' "$rt/mx/matrix.json" | head -2 | tr '\n' ' ') $(head -c 300 "$rt/mx.out")"
fi

nf=$(grep -o '"[a-z_]*_nonfinite":"[^"]*"' "$rt/crafted-nonfinite.1.json" | sort -u | tr '\n' ' ')
case $nf in
*'"kvm_over_tcg_nonfinite":"-inf"'*'"total_ms_nonfinite":"inf"'*'"value_nonfinite":"inf"'*) pass kit/import-takes-nonfinite ;;
*) fail kit/import-takes-nonfinite "the crafted export flags only: $nf" ;;
esac

if ! command -v qemu-system-aarch64 >/dev/null 2>&1 || ! command -v ssh >/dev/null 2>&1; then
	skip kit "qemu-system-aarch64 or ssh is not installed (apt-get install qemu-system-arm openssh-client)"
elif [ ! -f "$kit" ]; then
	fail kit "no $kit (make kit ARCH=aarch64)"
elif ! kit_host_start board el2-vhe-gicv3-smmuv3 board; then
	fail kit/board-up "$kit_why"
else
	export KVMQUAL_SSH="$kit_ssh"
	via="ssh://root@127.0.0.1:$kit_port"
	db="$tmp/kit-board.db"
	# Refused before anything is copied: a kit of another architecture
	# (when make kit ARCH=x86_64 has built one), too little space.
	x86kit=build/kit/kvmqual-kit-x86_64-0.1.0.tar.gz
	if [ -f "$x86kit" ]; then
		out=$("$KQ" remote --via "$via" --dir /work/kq --db "$db" --kit "$x86kit" 2>&1)
		rc=$?
		case $rc:$out in
		2:*"is a kit for x86_64, but"*"is aarch64: nothing copied"*) pass kit/wrong-arch-refused ;;
		*) fail kit/wrong-arch-refused "exit $rc: $out" ;;
		esac
	else
		skip kit/wrong-arch-refused "no $x86kit (make kit ARCH=x86_64; make test-lab builds it)"
	fi
	out=$("$KQ" remote --via "$via" --dir /small/kq --db "$db" 2>&1)
	rc=$?
	case $rc:$out in
	2:*"not enough space in /small/kq"*"MiB needed"*"MiB free"*) pass kit/too-little-space-refused ;;
	*) fail kit/too-little-space-refused "exit $rc: $out" ;;
	esac
	left=$($kit_ssh -p "$kit_port" root@127.0.0.1 'ls -A /small/kq' 2>&1)
	if [ -z "$left" ] && [ ! -e "$db" ]; then
		pass kit/refusals-leave-nothing
	else
		fail kit/refusals-leave-nothing "on the board: '$left'; local store exists: $([ -e "$db" ] && echo yes || echo no)"
	fi

	# The connection cut during the copy (the dropbear session writing the
	# upload ended on the board's side): nothing is installed, no job is
	# started, the local store is not made, and the next call copies again.
	board_cut upload >"$tmp/kit-cut-copy.board" 2>&1 &
	cutter=$!
	out=$("$KQ" remote --via "$via" --dir /work/kq --db "$db" -- --workloads sysbench-cpu 2>&1)
	rc=$?
	wait $cutter
	cut=$(cat "$tmp/kit-cut-copy.board")
	left=$($kit_ssh -p "$kit_port" root@127.0.0.1 'cd /work/kq && ls -d kvmqual-kit .kit-new job 2>/dev/null' 2>&1)
	case $rc:$cut:$out in
	2:cut*:*"copying the kit on $via failed"*"the connection failed or was cut"*"nothing was installed on $via"*)
		if [ -z "$left" ] && [ ! -e "$db" ]; then
			pass kit/copy-cut-installs-nothing
		else
			fail kit/copy-cut-installs-nothing "left on the board: '$left'; local store made: $([ -e "$db" ] && echo yes || echo no)"
		fi ;;
	*) fail kit/copy-cut-installs-nothing "exit $rc, board: $cut: $out" ;;
	esac

	# The run: one boot and no cold boot under the board's nested KVM (a
	# boot there is 10 to 30 s; the quick profile's three boots and the
	# cold one added a minute to this section and prove nothing more here).
	start=$(date +%s)
	"$KQ" remote --via "$via" --dir /work/kq --db "$db" --out "$tmp/kit-board-out" \
		-- --lava --workloads sysbench-cpu --accel kvm --net user --iterations 1 --cold-boot off \
		>"$tmp/kit-board-remote.log" 2>&1 &
	remote=$!
	# Once the job runs, its connection is cut on the board's side (the
	# dropbear session of 'run follow' ended, as a stalled or dropped link
	# ends it): kvmqual remote must follow the job again and finish.
	deadline=$(($(date +%s) + 1200))
	while ! grep -q '^started ' "$tmp/kit-board-remote.log" 2>/dev/null && kill -0 $remote 2>/dev/null &&
		[ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
	cut=$(board_cut follow)
	# Meanwhile a second controller is refused: the job is there.
	out=$("$KQ" remote --via "$via" --dir /work/kq --db "$tmp/kit-other.db" 2>&1)
	orc=$?
	case $orc:$out in
	2:*"/work/kq on $via holds a run of kvmqual remote on"*"still running"*) [ ! -e "$tmp/kit-other.db" ] &&
		pass kit/second-controller-refused || fail kit/second-controller-refused "refused, but it made $tmp/kit-other.db" ;;
	*) fail kit/second-controller-refused "exit $orc: $out" ;;
	esac
	wait $remote
	rc=$?
	echo "kit: kvmqual remote took $(($(date +%s) - start)) s (exit $rc; $cut)"
	case $rc:$cut in
	[01]:cut*) grep -q 'following it again (1 of 5)' "$tmp/kit-board-remote.log" && pass kit/remote-follows-again-after-cut ||
		fail kit/remote-follows-again-after-cut "no reconnection in the log: $(grep 'kvmqual remote:' "$tmp/kit-board-remote.log" | tr '\n' ' ')" ;;
	*) fail kit/remote-follows-again-after-cut "exit $rc, board: $cut" ;;
	esac
	log=$(tail -n 25 "$tmp/kit-board-remote.log" | tr '\n' ' ' | tail -c 1800)
	if [ $rc -le 1 ] && grep -q 'copying .*kvmqual-kit-aarch64' "$tmp/kit-board-remote.log"; then
		pass kit/remote-copies-and-runs
	else
		fail kit/remote-copies-and-runs "exit $rc: $log"
	fi
	# Progress came as it went: the runner's step lines, relayed.
	if grep -q '^\[[0-9]*/[0-9]*' "$tmp/kit-board-remote.log"; then
		pass kit/progress-shown
	else
		fail kit/progress-shown "no progress lines: $log"
	fi
	n=$(sqlite3 "$db" "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id WHERE s.workload = 'sysbench-cpu' AND s.accel IN ('native', 'kvm')" 2>&1)
	arch=$(sqlite3 "$db" "SELECT h.arch FROM runs r JOIN hosts h ON h.id = r.host_id" 2>&1)
	boots=$(sqlite3 "$db" "SELECT count(*) FROM boot_samples WHERE accel = 'kvm'" 2>&1)
	if [ "$arch" = aarch64 ] && [ "${n:-0}" -ge 2 ] && [ "${boots:-0}" -ge 1 ]; then
		pass kit/imported-with-kvm-samples
	else
		fail kit/imported-with-kvm-samples "arch '$arch', $n native+kvm sysbench samples, $boots kvm boots: $log"
	fi
	if [ -s "$tmp/kit-board-out/report/index.html" ] && [ -s "$tmp/kit-board-out/bundle.json" ] &&
		[ -s "$tmp/kit-board-out/snapshot.tar.gz" ]; then
		pass kit/report-bundle-snapshot-here
	else
		fail kit/report-bundle-snapshot-here "$(ls -la "$tmp/kit-board-out" 2>&1 | tr '\n' ' ')"
	fi
	# Where the run came from: the board's file, its store and its id there.
	prov=$(sqlite3 -separator ' ' "$db" "SELECT bundle, database, source_run_id FROM run_sources" 2>&1)
	if [ "$prov" = "ssh://root@127.0.0.1:$kit_port/work/kq/job/bundle.json /work/kq/kvmqual.db 1" ]; then
		pass kit/provenance-stored
	else
		fail kit/provenance-stored "run_sources: '$prov'"
	fi
	# --lava: the kit's own kvmqual export --format lava after the bundle
	# (busybox ash on the board), every signal through LAVA's own parser.
	if ! /usr/bin/python3 -c 'import lava_dispatcher.actions.test.shell' 2>/dev/null; then
		skip kit/lava-cases "needs LAVA's dispatcher (scripts/deps.sh lava)"
	elif /usr/bin/python3 tests/tools/lava_results.py signals "$tmp/kit-board-remote.log" >"$tmp/kit-board.cases" 2>&1 &&
		grep -q '^case run run\.status pass$' "$tmp/kit-board.cases" &&
		grep -Eq '^case boot boot\.kvm pass [0-9.]+ ms$' "$tmp/kit-board.cases" &&
		grep -Eq '^case kvm kvm\.sysbench-cpu\.events_per_second pass [0-9.]+ events/s$' "$tmp/kit-board.cases"; then
		pass kit/lava-cases
	else
		fail kit/lava-cases "$(grep -v '^case' "$tmp/kit-board.cases" | head -5 | tr '\n' ' ') $(grep -c '^case' "$tmp/kit-board.cases") cases: $(grep -E 'run\.status|boot\.' "$tmp/kit-board.cases" | tr '\n' ' ')"
	fi
	# The job directory on the board goes once the run is imported here.
	if [ -z "$($kit_ssh -p "$kit_port" root@127.0.0.1 'ls -d /work/kq/job 2>/dev/null')" ]; then
		pass kit/job-released
	else
		fail kit/job-released "/work/kq/job is still on the board"
	fi
	# Again, with a run argument kvmqual run refuses: the kit is found by
	# its hash and not copied (issue 14), the job stores no run, and
	# kvmqual remote says so and releases the board's job directory (it
	# stayed, so that every later call was refused as busy and --collect
	# failed the same way); the store here is unchanged.
	runs=$(sqlite3 "$db" "SELECT count(*) FROM runs")
	"$KQ" remote --via "$via" --dir /work/kq --db "$db" --out "$tmp/kit-board-bad" \
		-- --workloads no-such-workload >"$tmp/kit-board-bad.log" 2>&1
	rc=$?
	if grep -q "$via already has this kit" "$tmp/kit-board-bad.log" && ! grep -q 'copying' "$tmp/kit-board-bad.log"; then
		pass kit/second-call-does-not-copy
	else
		fail kit/second-call-does-not-copy "$(head -n 5 "$tmp/kit-board-bad.log" | tr '\n' ' ')"
	fi
	job=$($kit_ssh -p "$kit_port" root@127.0.0.1 'ls -d /work/kq/job 2>/dev/null' 2>&1)
	if [ $rc = 2 ] && grep -q "no-such-workload" "$tmp/kit-board-bad.log" &&
		grep -q "the run on $via stored nothing (exit 2; .*its job there is released" "$tmp/kit-board-bad.log" &&
		[ -s "$tmp/kit-board-bad/log.txt" ] && [ -z "$job" ] && [ "$(sqlite3 "$db" "SELECT count(*) FROM runs")" = "$runs" ]; then
		pass kit/run-storing-nothing-releases-the-board
	else
		fail kit/run-storing-nothing-releases-the-board "exit $rc, board: '$job', runs $runs -> $(sqlite3 "$db" "SELECT count(*) FROM runs"): $(tail -n 4 "$tmp/kit-board-bad.log" | tr '\n' ' ')"
	fi
	kit_host_stop board

	# Bundles: importing again keeps one copy; a bundle cut short, or of an
	# unknown version, is refused naming the file, the store unchanged.
	b="$tmp/kit-board-out/bundle.json"
	"$KQ" import --db "$db" "$b" >/dev/null 2>&1
	if [ "$(sqlite3 "$db" "SELECT count(*) FROM runs")" = 1 ]; then
		pass kit/import-twice-one-copy
	else
		fail kit/import-twice-one-copy "$(sqlite3 "$db" "SELECT count(*) FROM runs") runs after importing again"
	fi
	before=$(sqlite3 "$db" "SELECT count(*) FROM runs; SELECT count(*) FROM samples; SELECT count(*) FROM checks" | tr '\n' ' ')
	head -c $(($(wc -c <"$b") * 2 / 3)) "$b" >"$tmp/kit-cut.json"
	sed 's/"version":1,/"version":99,/' "$b" >"$tmp/kit-v99.json"
	# A new run (another start time) that goes bad halfway: nothing of it.
	sed 's/"started_at":"/"started_at":"1/; s/"accel":"kvm","workload"/"accel":"warp","workload"/' "$b" >"$tmp/kit-bad-sample.json"
	for f in kit-cut kit-v99 kit-bad-sample; do
		out=$("$KQ" import --db "$db" "$tmp/$f.json" 2>&1)
		rc=$?
		after=$(sqlite3 "$db" "SELECT count(*) FROM runs; SELECT count(*) FROM samples; SELECT count(*) FROM checks" | tr '\n' ' ')
		case $rc:$out in
		2:*"$tmp/$f.json"*) [ "$after" = "$before" ] && pass "kit/import-refuses-$f" ||
			fail "kit/import-refuses-$f" "the store changed: $before -> $after" ;;
		*) fail "kit/import-refuses-$f" "exit $rc: $out" ;;
		esac
	done
fi
