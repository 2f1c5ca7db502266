# shellcheck shell=sh
# hostile-store: the second half of issue 13, the suite tried the way a
# hostile user, a broken disk or a crafted database would try the store and
# the stages around it (export, report, compare, run, guest).  Each test was
# seen to fail on the code before its fix (docs/threat-model.md says which
# promise each keeps).  Everything happens in the section's own temporary
# directory: FIFOs and device nodes made with mknod there (never /dev's),
# tiny tmpfs mounts for full disks, private mount namespaces, crafted
# databases; skipped with the reason when not root.
# Sourced by tests/run.sh (pass, fail, skip, $tmp, $KQ, $JG).

if want hostile-store; then
	hs=$tmp/hostile-store
	mkdir -p "$hs"
	hs_err() { head -c 500 "$1" | tr '\n' ' '; }
	hs_root() { [ "$(id -u)" -eq 0 ]; }
	FIX=tests/fixtures/results
	# hs_sha FILE...: one line of checksums (and what is beside them).
	hs_sha() { sha256sum "$@" 2>&1; for f in "$@"; do ls -d "$f"-wal "$f"-shm "$f"-journal 2>/dev/null; done; }

	# hs_cmp_db FILE: an empty store (made by the store's own code) with one
	# host; hs_cmp_run FILE FACTOR [STATUS]: a run of that host with five
	# samples of two metrics, sysbench times FACTOR.
	hs_cmp_db() {
		build/tests/store_init "$1" && sqlite3 "$1" "INSERT INTO hosts (host_key, arch, model, soc,
			kernel_release, page_size) VALUES ('00000000000000bb', 'aarch64', 'board', 'soc', '6.1.0', 4096);"
	}
	hs_cmp_run() {
		awk -v f="$2" -v status="${3:-complete}" 'BEGIN {
			q = sprintf("%c", 39)
			print "INSERT INTO runs (host_id, status, profile, suite_version, qemu_version, guest_image_hash, pid)"
			print "VALUES (1, " q status q ", " q "quick" q ", " q "0.1.0" q ", " q "7.2.22" q ", " q "sha256:one" q ", 1);"
			split("-0.004 0.002 0 0.003 -0.002", j, " ")
			for (i = 1; i <= 5; i++) {
				printf "INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration, higher_is_better)"
				printf " VALUES ((SELECT max(id) FROM runs), %stcg%s, %ssysbench-cpu-1t%s, %sevents_per_second%s,", q, q, q, q, q, q
				printf " %sevents/s%s, %.6f, %d, 1);\n", q, q, 1000 * (1 + j[i]) * f, i
				printf "INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration, higher_is_better)"
				printf " VALUES ((SELECT max(id) FROM runs), %stcg%s, %sstream%s, %striad_mbps%s,", q, q, q, q, q, q
				printf " %sMB/s%s, %.6f, %d, 1);\n", q, q, 5000 * (1 - j[i]), i
			}
		}' | sqlite3 "$1"
	}

	# ---- 7: another application's SQLite file is left as it is ----
	# A photo catalogue in rollback-journal mode, and one that says whose
	# it is (application_id): every command refuses it, naming it, and
	# neither byte nor journal mode changes, nothing appears beside it.
	sqlite3 "$hs/photos.db" 'CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos (name) VALUES ("a.jpg")'
	sqlite3 "$hs/tagged.db" 'PRAGMA application_id = 1234; CREATE TABLE t (x); INSERT INTO t VALUES (1)'
	for hs_db in photos tagged; do
		hs_before=$(hs_sha "$hs/$hs_db.db")
		for hs_cmd in export report compare run; do
			case $hs_cmd in
			export) "$KQ" export --db "$hs/$hs_db.db" >"$hs/foreign.out" 2>"$hs/foreign.err" ;;
			report) "$KQ" report --db "$hs/$hs_db.db" --out "$hs/foreign-report" >"$hs/foreign.out" 2>"$hs/foreign.err" ;;
			compare) "$KQ" compare --db "$hs/$hs_db.db" >"$hs/foreign.out" 2>"$hs/foreign.err" ;;
			run) "$KQ" run --db "$hs/$hs_db.db" --guest-arch aarch64 --accel tcg --workloads stream \
				>"$hs/foreign.out" 2>"$hs/foreign.err" ;;
			esac
			rc=$?
			if [ $rc -eq 2 ] && grep -q "$hs/$hs_db.db.*not a kvmqual store" "$hs/foreign.err" &&
				[ "$(hs_sha "$hs/$hs_db.db")" = "$hs_before" ] &&
				[ "$(sqlite3 "$hs/$hs_db.db" 'PRAGMA journal_mode')" = delete ]; then
				pass "hostile-store/foreign-sqlite-untouched-$hs_db-$hs_cmd"
			else
				fail "hostile-store/foreign-sqlite-untouched-$hs_db-$hs_cmd" "exit $rc, journal mode $(sqlite3 "$hs/$hs_db.db" 'PRAGMA journal_mode'), $(hs_sha "$hs/$hs_db.db" | tr '\n' ' '): $(hs_err "$hs/foreign.err")"
				# the next command must see the original
				rm -f "$hs/$hs_db.db-wal" "$hs/$hs_db.db-shm"
				sqlite3 "$hs/$hs_db.db" 'PRAGMA journal_mode = DELETE' >/dev/null
			fi
		done
	done

	# ---- 17: a reader never creates: a typo in --db is an error ----
	for hs_cmd in export report compare; do
		case $hs_cmd in
		export) "$KQ" export --db "$hs/typo/sub/kvmqual.db" >"$hs/typo.out" 2>"$hs/typo.err" ;;
		report) "$KQ" report --db "$hs/typo/sub/kvmqual.db" --out "$hs/typo-report" >"$hs/typo.out" 2>"$hs/typo.err" ;;
		compare) "$KQ" compare --db "$hs/typo/sub/kvmqual.db" >"$hs/typo.out" 2>"$hs/typo.err" ;;
		esac
		rc=$?
		if [ $rc -eq 2 ] && [ ! -e "$hs/typo" ] && grep -q "$hs/typo/sub/kvmqual.db: No such file.*--db" "$hs/typo.err"; then
			pass "hostile-store/reader-never-creates-$hs_cmd"
		else
			fail "hostile-store/reader-never-creates-$hs_cmd" "exit $rc, $(ls -R "$hs/typo" 2>&1 | tr '\n' ' '): $(hs_err "$hs/typo.err")"
			rm -rf "$hs/typo"
		fi
	done

	# ---- 8: a read-only store in a read-only directory can be read ----
	# by an unprivileged user (root writes anywhere): export, report and
	# compare read it, and nothing appears beside it.
	if hs_root && command -v setpriv >/dev/null; then
		mkdir -p "$hs/ro" "$hs/ro-out"
		cp "$FIX/x86-pvm-host.db" "$hs/ro/k.db"
		chmod 444 "$hs/ro/k.db"
		chmod 555 "$hs/ro"
		chmod 777 "$hs/ro-out"
		chmod 711 "$tmp" "$hs"
		for hs_cmd in export report compare; do
			case $hs_cmd in
			export) set -- export --db "$hs/ro/k.db" ;;
			report) set -- report --db "$hs/ro/k.db" --out "$hs/ro-out/report" ;;
			compare) set -- compare --db "$hs/ro/k.db" --baseline 1 --candidate 2 --allow-different ;;
			esac
			timeout 120 setpriv --reuid=65534 --regid=65534 --clear-groups "$KQ" "$@" >"$hs/ro.out" 2>"$hs/ro.err"
			rc=$?
			if [ $rc -le 1 ] && [ "$(ls -A "$hs/ro")" = k.db ] && ! grep -q 'readonly database' "$hs/ro.err"; then
				pass "hostile-store/read-only-store-$hs_cmd"
			else
				fail "hostile-store/read-only-store-$hs_cmd" "exit $rc, beside it: $(ls -A "$hs/ro" | tr '\n' ' '): $(hs_err "$hs/ro.err")"
			fi
		done
		chmod 700 "$tmp"
		chmod 755 "$hs/ro" "$hs"
	else
		skip hostile-store/read-only-store "needs root and setpriv to read as another user"
	fi

	# ---- 2: compare --junit never replaces what is not a file ----
	hs_db=$hs/cmp.db
	hs_cmp_db "$hs_db"
	for f in 1 1.001 0.999 1 1.0005; do hs_cmp_run "$hs_db" "$f"; done
	# A FIFO a CI job reads from: written into, still a FIFO.
	mkfifo "$hs/junit.fifo"
	timeout 60 cat "$hs/junit.fifo" >"$hs/junit-from-fifo.xml" &
	hs_cat=$!
	timeout 60 "$KQ" compare --db "$hs_db" --junit "$hs/junit.fifo" >"$hs/junit.out" 2>"$hs/junit.err"
	rc=$?
	wait $hs_cat
	if [ $rc -eq 0 ] && [ -p "$hs/junit.fifo" ] && grep -q '<testsuites' "$hs/junit-from-fifo.xml"; then
		pass hostile-store/junit-fifo-written-into
	else
		fail hostile-store/junit-fifo-written-into "exit $rc, $(ls -l "$hs/junit.fifo"): $(hs_err "$hs/junit.err")"
	fi
	# A FIFO nobody reads: refused at once, left a FIFO.
	rm -f "$hs/junit.fifo"
	mkfifo "$hs/junit.fifo"
	timeout 60 "$KQ" compare --db "$hs_db" --junit "$hs/junit.fifo" >"$hs/junit.out" 2>"$hs/junit.err"
	rc=$?
	if [ $rc -eq 2 ] && [ -p "$hs/junit.fifo" ] && grep -q "junit.fifo (a FIFO): nobody reads from it" "$hs/junit.err"; then
		pass hostile-store/junit-fifo-without-reader-refused
	else
		fail hostile-store/junit-fifo-without-reader-refused "exit $rc, $(ls -l "$hs/junit.fifo"): $(hs_err "$hs/junit.err")"
	fi
	# A character device (the test's own /dev/null, made with mknod).
	if hs_root && mknod "$hs/null" c 1 3 2>/dev/null; then
		"$KQ" compare --db "$hs_db" --junit "$hs/null" >"$hs/junit.out" 2>"$hs/junit.err"
		rc=$?
		if [ $rc -eq 0 ] && [ -c "$hs/null" ]; then
			pass hostile-store/junit-device-written-into
		else
			fail hostile-store/junit-device-written-into "exit $rc, now $(ls -l "$hs/null"): $(hs_err "$hs/junit.err")"
		fi
	else
		skip hostile-store/junit-device-written-into "needs root for mknod"
	fi
	# A symbolic link stays a link; its target gets the XML.
	echo old >"$hs/junit-target.xml"
	ln -s junit-target.xml "$hs/junit-link.xml"
	"$KQ" compare --db "$hs_db" --junit "$hs/junit-link.xml" >"$hs/junit.out" 2>"$hs/junit.err"
	rc=$?
	if [ $rc -eq 0 ] && [ -L "$hs/junit-link.xml" ] && xmllint --noout "$hs/junit-target.xml" 2>/dev/null; then
		pass hostile-store/junit-symlink-kept
	else
		fail hostile-store/junit-symlink-kept "exit $rc, $(ls -l "$hs/junit-link.xml"): $(hs_err "$hs/junit.err")"
	fi

	# ---- 19: compare on degenerate data: exit 2 naming the run and metric ----
	# Run 6 has no samples (cut off), run 7 an infinite value, run 8 a
	# value that is text (an edited store).
	sqlite3 "$hs_db" "INSERT INTO runs (host_id, status, profile, suite_version, qemu_version, guest_image_hash, pid)
		VALUES (1, 'complete', 'quick', '0.1.0', '7.2.22', 'sha256:one', 1)"
	hs_cmp_run "$hs_db" 1
	sqlite3 "$hs_db" "UPDATE samples SET value = 1e999 WHERE run_id = 7 AND metric = 'triad_mbps' AND iteration = 2"
	hs_cmp_run "$hs_db" 1
	sqlite3 "$hs_db" "UPDATE samples SET value = 'fast' WHERE run_id = 8 AND metric = 'events_per_second' AND iteration = 3"
	hs_degenerate() {
		"$KQ" compare --db "$hs_db" --baseline 5 --candidate "$2" >"$hs/degenerate.out" 2>"$hs/degenerate.err"
		rc=$?
		if [ $rc -eq 2 ] && grep -q -- "$3" "$hs/degenerate.err"; then
			pass "hostile-store/compare-$1"
		else
			fail "hostile-store/compare-$1" "exit $rc: $(hs_err "$hs/degenerate.err") $(hs_err "$hs/degenerate.out")"
		fi
	}
	hs_degenerate candidate-without-samples 6 "run 6 holds no samples to compare"
	hs_degenerate infinite-value 7 "run 7: tcg stream.triad_mbps: sample 2 is +infinity"
	hs_degenerate text-value 8 "run 8: tcg sysbench-cpu-1t.events_per_second: sample 3 is text ('fast')"

	# ---- 24: what a missing run is, and what there is ----
	"$KQ" compare --db "$hs_db" --candidate 9223372036854775807 >"$hs/msg.out" 2>"$hs/msg.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q "no run 9223372036854775807: the store holds 8 runs, ids 1 to 8" "$hs/msg.err"; then
		pass hostile-store/compare-no-such-run-says-which-exist
	else
		fail hostile-store/compare-no-such-run-says-which-exist "exit $rc: $(hs_err "$hs/msg.err")"
	fi
	"$KQ" export --db "$hs_db" --run 9223372036854775807 >"$hs/msg.out" 2>"$hs/msg.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q "no run 9223372036854775807: the store holds 8 runs, ids 1 to 8" "$hs/msg.err"; then
		pass hostile-store/export-no-such-run-says-which-exist
	else
		fail hostile-store/export-no-such-run-says-which-exist "exit $rc: $(hs_err "$hs/msg.err")"
	fi
	"$KQ" export --db "$hs_db" --run 99999999999999999999 >"$hs/msg.out" 2>"$hs/msg.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q "run takes a run id or 'all', not '99999999999999999999'" "$hs/msg.err"; then
		pass hostile-store/export-run-id-overflow
	else
		fail hostile-store/export-run-id-overflow "exit $rc: $(hs_err "$hs/msg.err")"
	fi
fi
