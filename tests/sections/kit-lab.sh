# kit-lab: the field kit on the three kinds of device it is for, in the
# emulated ARM64 lab (`make test-lab`, not `make test`; tens of minutes):
#
# - a bare board (busybox only, no payload, dropbear): the default quick
#   qualify under the lab host's KVM (nested) and TCG; a second call finds
#   the kit there and does not copy it; a second controller while a run is
#   there is refused, naming the first; a connection cut during the run
#   leaves the run going, and --collect picks it up;
# - an Android-like host: root's shell chroots into /android (static mksh
#   as /system/bin/sh, toybox only, no /tmp, no glibc), the state in
#   /data/local/tmp, driven over ssh (no adbd here: the adb transport shares
#   everything but its argv, unit-tested in test_remote.c); its qualify
#   with --lava, the cases read by LAVA's own parser;
# - a Pi 5-like host (pi5-16k: Cortex-A76, GICv2, EL2, Debian's 16K-page
#   kernel): the probe reports 16K pages and GICv2, and the kit's quick run
#   completes under KVM with the 4K-page guest.
# Each one's report is written here, and the matrix of the three stores
# shows them all.
# LAB_KIT_HOSTS picks some of: board android pi5 (default all three).
# Sourced by tests/run.sh (pass, fail, skip, $tmp).

. tests/lab/kit-host.sh
kit=build/kit/kvmqual-kit-aarch64-0.1.0.tar.gz

# kit_lab_check NAME DB: the run in DB is finished and has native and, per
# accelerator in ACCELS, guest samples and boots.
kit_lab_check() { # NAME DB ACCELS LOG
	status=$(sqlite3 "$2" "SELECT status FROM runs ORDER BY id DESC LIMIT 1" 2>&1)
	case $status in
	complete | incomplete) pass "kit-lab/$1/run-finished" ;;
	*) fail "kit-lab/$1/run-finished" "status '$status': $(tail -n 20 "$4" | tr '\n' ' ' | tail -c 1500)" ;;
	esac
	for a in native $3; do
		n=$(sqlite3 "$2" "SELECT count(*) FROM samples WHERE accel = '$a'" 2>&1)
		if [ "${n:-0}" -gt 0 ]; then pass "kit-lab/$1/samples-$a"; else fail "kit-lab/$1/samples-$a" "$n samples"; fi
	done
	for a in $3; do
		n=$(sqlite3 "$2" "SELECT count(*) FROM boot_samples WHERE accel = '$a'" 2>&1)
		if [ "${n:-0}" -gt 0 ]; then pass "kit-lab/$1/boots-$a"; else fail "kit-lab/$1/boots-$a" "$n boots"; fi
	done
}

kit_lab_hosts=${LAB_KIT_HOSTS:-board android pi5}
if ! command -v qemu-system-aarch64 >/dev/null 2>&1 || ! command -v ssh >/dev/null 2>&1; then
	skip kit-lab "qemu-system-aarch64 or ssh is not installed (apt-get install qemu-system-arm openssh-client)"
elif [ ! -f "$kit" ]; then
	fail kit-lab "no $kit (make kit ARCH=aarch64)"
else
	db="$tmp/kit-lab.db"
	case " $kit_lab_hosts " in *" board "*)
		if ! kit_host_start lboard el2-vhe-gicv3-smmuv3 board; then
			fail kit-lab/board-up "$kit_why"
		else
			export KVMQUAL_SSH="$kit_ssh"
			via="ssh://root@127.0.0.1:$kit_port"
			start=$(date +%s)
			"$KQ" remote --via "$via" --dir /work/kq --db "$db" --out "$tmp/kit-lab-board" \
				>"$tmp/kit-lab-board.log" 2>&1
			rc=$?
			echo "kit-lab: board: kvmqual remote (quick, kvm and tcg) took $(($(date +%s) - start)) s (exit $rc)"
			[ $rc -le 1 ] && pass kit-lab/board/remote || fail kit-lab/board/remote "exit $rc: $(tail -n 20 "$tmp/kit-lab-board.log" | tr '\n' ' ')"
			kit_lab_check board "$db" "kvm tcg" "$tmp/kit-lab-board.log"
			[ -s "$tmp/kit-lab-board/report/index.html" ] && pass kit-lab/board/report ||
				fail kit-lab/board/report "no report in $tmp/kit-lab-board"

			# Again: the kit is there; a short run, cut off by killing the
			# ssh client underneath while a second controller is refused.
			"$KQ" remote --via "$via" --dir /work/kq --db "$db" --out "$tmp/kit-lab-board2" \
				-- --workloads sysbench-cpu --accel tcg --net user >"$tmp/kit-lab-board2.log" 2>&1 &
			first=$!
			deadline=$(($(date +%s) + 600))
			while ! grep -q '^started ' "$tmp/kit-lab-board2.log" && kill -0 $first 2>/dev/null &&
				[ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
			if grep -q 'already has this kit' "$tmp/kit-lab-board2.log" && ! grep -q copying "$tmp/kit-lab-board2.log"; then
				pass kit-lab/board/second-call-does-not-copy
			else
				fail kit-lab/board/second-call-does-not-copy "$(head -n 5 "$tmp/kit-lab-board2.log" | tr '\n' ' ')"
			fi
			out=$("$KQ" remote --via "$via" --dir /work/kq --db "$db" 2>&1)
			rc=$?
			case $rc:$out in
			2:*"/work/kq on ssh://root@127.0.0.1:$kit_port holds a run of kvmqual remote on"*) pass kit-lab/board/second-controller-refused ;;
			*) fail kit-lab/board/second-controller-refused "exit $rc: $out" ;;
			esac
			# The connection cut: the ssh client of the first is killed.
			for p in $(pgrep -P $first); do kill -9 "$p" 2>/dev/null; done
			wait $first
			rc=$?
			if [ $rc = 2 ] && grep -q 'it goes on there: collect it with' "$tmp/kit-lab-board2.log"; then
				pass kit-lab/board/cut-connection-says-collect
			else
				fail kit-lab/board/cut-connection-says-collect "exit $rc: $(tail -n 5 "$tmp/kit-lab-board2.log" | tr '\n' ' ')"
			fi
			runs_before=$(sqlite3 "$db" "SELECT count(*) FROM runs")
			"$KQ" remote --via "$via" --dir /work/kq --db "$db" --out "$tmp/kit-lab-board3" --collect \
				>"$tmp/kit-lab-board3.log" 2>&1
			rc=$?
			runs_after=$(sqlite3 "$db" "SELECT count(*) FROM runs")
			if [ $rc -le 1 ] && [ "$runs_after" = $((runs_before + 1)) ]; then
				pass kit-lab/board/collect-after-cut
			else
				fail kit-lab/board/collect-after-cut "exit $rc, runs $runs_before -> $runs_after: $(tail -n 10 "$tmp/kit-lab-board3.log" | tr '\n' ' ')"
			fi
			kit_host_stop lboard
		fi
		;;
	esac

	case " $kit_lab_hosts " in *" android "*)
		if ! kit_host_start android el2-vhe-gicv3-smmuv3 android; then
			fail kit-lab/android-up "$kit_why"
		else
			export KVMQUAL_SSH="$kit_ssh"
			via="ssh://root@127.0.0.1:$kit_port"
			# What the kit meets there: mksh, toybox, no /tmp, no glibc.
			env=$($kit_ssh -p "$kit_port" root@127.0.0.1 'echo "sh=$KSH_VERSION"; ls /tmp /lib /bin 2>&1 | head -n 3; ls /system/bin | head -n 3' 2>&1)
			case $env in
			*"sh=@(#)MIRBSD KSH"*"/tmp"*"No such file"*) pass kit-lab/android/is-android-like ;;
			*) fail kit-lab/android/is-android-like "$env" ;;
			esac
			adb_db="$tmp/kit-lab-android.db"
			start=$(date +%s)
			"$KQ" remote --via "$via" --dir /data/local/tmp/kvmqual --db "$adb_db" --out "$tmp/kit-lab-android" \
				-- --lava --accel kvm >"$tmp/kit-lab-android.log" 2>&1
			rc=$?
			echo "kit-lab: android-like: kvmqual remote took $(($(date +%s) - start)) s (exit $rc)"
			[ $rc -le 1 ] && pass kit-lab/android/remote || fail kit-lab/android/remote "exit $rc: $(tail -n 20 "$tmp/kit-lab-android.log" | tr '\n' ' ')"
			kit_lab_check android "$adb_db" kvm "$tmp/kit-lab-android.log"
			[ -s "$tmp/kit-lab-android/report/index.html" ] && pass kit-lab/android/report ||
				fail kit-lab/android/report "no report in $tmp/kit-lab-android"
			# --lava under mksh and toybox: LAVA's own parser takes every signal.
			if ! /usr/bin/python3 -c 'import lava_dispatcher.actions.test.shell' 2>/dev/null; then
				skip kit-lab/android/lava-cases "needs LAVA's dispatcher (scripts/deps.sh lava)"
			elif /usr/bin/python3 tests/tools/lava_results.py signals "$tmp/kit-lab-android.log" >"$tmp/kit-lab-android.cases" 2>&1 &&
				grep -q '^case run run\.status ' "$tmp/kit-lab-android.cases" &&
				grep -q '^case probe probe\.verdict ' "$tmp/kit-lab-android.cases"; then
				pass kit-lab/android/lava-cases
			else
				fail kit-lab/android/lava-cases "$(head -c 600 "$tmp/kit-lab-android.cases" | tr '\n' ' ')"
			fi
			kit_host_stop android
		fi
		;;
	esac

	case " $kit_lab_hosts " in *" pi5 "*)
		if ! kit_host_start pi5 pi5-16k board; then
			fail kit-lab/pi5-up "$kit_why"
		else
			export KVMQUAL_SSH="$kit_ssh"
			via="ssh://root@127.0.0.1:$kit_port"
			pi_db="$tmp/kit-lab-pi5.db"
			start=$(date +%s)
			"$KQ" remote --via "$via" --dir /work/kq --db "$pi_db" --out "$tmp/kit-lab-pi5" \
				-- --accel kvm >"$tmp/kit-lab-pi5.log" 2>&1
			rc=$?
			echo "kit-lab: pi5-like: kvmqual remote took $(($(date +%s) - start)) s (exit $rc)"
			[ $rc -le 1 ] && pass kit-lab/pi5/remote || fail kit-lab/pi5/remote "exit $rc: $(tail -n 20 "$tmp/kit-lab-pi5.log" | tr '\n' ' ')"
			probe=$(sqlite3 "$pi_db" "SELECT probe_json FROM runs ORDER BY id DESC LIMIT 1")
			page=$(sqlite3 "$pi_db" "SELECT h.page_size FROM runs r JOIN hosts h ON h.id = r.host_id ORDER BY r.id DESC LIMIT 1")
			gic=$(sqlite3 "$pi_db" "SELECT value FROM checks WHERE check_id = 'gic.version' ORDER BY id DESC LIMIT 1")
			if [ "$page" = 16384 ] && printf '%s' "$probe" | grep -q '"page_size":16384\|16K'; then
				pass kit-lab/pi5/16k-pages
			else
				fail kit-lab/pi5/16k-pages "page size '$page'"
			fi
			case $gic in v2*) pass kit-lab/pi5/gicv2 ;; *) fail kit-lab/pi5/gicv2 "GIC check says '$gic'" ;; esac
			kit_lab_check pi5 "$pi_db" kvm "$tmp/kit-lab-pi5.log"
			[ -s "$tmp/kit-lab-pi5/report/index.html" ] && pass kit-lab/pi5/report ||
				fail kit-lab/pi5/report "no report in $tmp/kit-lab-pi5"
			kit_host_stop pi5
		fi
		;;
	esac

	# Issue 14's "done when": the matrix shows all three, from the stores
	# kvmqual remote imported into (one row per store: the board and the
	# Android-like host may be one device to the matrix, kept apart as a
	# conflict), the Pi 5-like one with its 16K pages.
	if [ -f "$db" ] && [ -f "$tmp/kit-lab-android.db" ] && [ -f "$tmp/kit-lab-pi5.db" ]; then
		"$KQ" matrix --db "$db" --db "$tmp/kit-lab-android.db" --db "$tmp/kit-lab-pi5.db" \
			--out "$tmp/kit-lab-matrix" >"$tmp/kit-lab-matrix.log" 2>&1
		rc=$?
		mx="$tmp/kit-lab-matrix/matrix.json"
		rows=$("$JG" "$mx" summary.rows 2>&1)
		none=$("$JG" "$mx" summary.without_selected_run 2>&1)
		if [ $rc = 0 ] && [ "$rows" = 3 ] && [ "$none" = 0 ] && grep -q '"page_size":[[:space:]]*16384' "$mx"; then
			pass kit-lab/matrix-shows-all-three
		else
			fail kit-lab/matrix-shows-all-three "exit $rc, $rows rows, $none without a run, page sizes $(grep -o '"page_size":[[:space:]]*[0-9]*' "$mx" | tr -d ' \t' | sort -u | tr '\n' ' '): $(tr '\n' ' ' <"$tmp/kit-lab-matrix.log")"
		fi
	else
		skip kit-lab/matrix-shows-all-three "not all three hosts ran (LAB_KIT_HOSTS='$kit_lab_hosts', or one failed to come up)"
	fi
fi
