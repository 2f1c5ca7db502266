# kit: the field kit end to end on a bare emulated ARM64 board, the fast
# part for `make test` (tests/sections/kit-lab.sh has the long ones). The
# board (tests/lab/kit-host.sh: busybox only, no payload disk, no library
# in /lib, dropbear on a loopback port) is qualified by
#   kvmqual remote --via ssh://root@127.0.0.1:PORT --dir /work/kq -- --workloads sysbench-cpu --accel kvm
# from this machine: the kit is copied, the run goes through the kit's own
# loader and the lab host's KVM (nested), the bundle comes back and is
# imported into a store here, the report is written; a second call finds
# the same kit there and does not copy it. A few minutes.
# Sourced by tests/run.sh (pass, fail, skip, $tmp).

. tests/lab/kit-host.sh
kit=build/kit/kvmqual-kit-aarch64-0.1.0.tar.gz
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
	start=$(date +%s)
	build/kvmqual remote --via "$via" --dir /work/kq --db "$db" --out "$tmp/kit-board-out" \
		-- --workloads sysbench-cpu --accel kvm >"$tmp/kit-board-remote.log" 2>&1
	rc=$?
	echo "kit: the first kvmqual remote took $(($(date +%s) - start)) s (exit $rc)"
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
	# The same kit again: not copied, and the new run joins the store.
	build/kvmqual remote --via "$via" --dir /work/kq --db "$db" --out "$tmp/kit-board-out2" \
		-- --workloads sysbench-cpu --accel kvm >"$tmp/kit-board-remote2.log" 2>&1
	rc=$?
	runs=$(sqlite3 "$db" "SELECT count(*) FROM runs" 2>&1)
	if [ $rc -le 1 ] && grep -q 'already has this kit' "$tmp/kit-board-remote2.log" &&
		! grep -q 'copying' "$tmp/kit-board-remote2.log" && [ "$runs" = 2 ]; then
		pass kit/second-call-does-not-copy
	else
		fail kit/second-call-does-not-copy "exit $rc, $runs runs: $(tail -n 15 "$tmp/kit-board-remote2.log" | tr '\n' ' ')"
	fi
	# Importing the bundle again keeps one copy.
	build/kvmqual import --db "$db" "$tmp/kit-board-out/bundle.json" >/dev/null 2>&1
	if [ "$(sqlite3 "$db" "SELECT count(*) FROM runs")" = 2 ]; then
		pass kit/import-twice-one-copy
	else
		fail kit/import-twice-one-copy "$(sqlite3 "$db" "SELECT count(*) FROM runs") runs after importing again"
	fi
	kit_host_stop board
fi
