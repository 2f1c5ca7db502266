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
	# hs_refused NAME PATTERN ARGS...: kvmqual ARGS exits 2 with PATTERN in
	# what it says on stderr.
	hs_refused() {
		hs_name=$1 hs_pattern=$2
		shift 2
		"$KQ" "$@" >"$hs/msg.out" 2>"$hs/msg.err"
		rc=$?
		if [ $rc -eq 2 ] && grep -q "$hs_pattern" "$hs/msg.err"; then
			pass "hostile-store/$hs_name"
		else
			fail "hostile-store/$hs_name" "exit $rc: $(hs_err "$hs/msg.err")"
		fi
	}

	# hs_cmp_db FILE: an empty store (made by the store's own code) with one
	# host; hs_cmp_run FILE FACTOR [STATUS]: a run of that host with five
	# samples of two metrics, sysbench times FACTOR.
	hs_cmp_db() {
		"$TT/store_init" "$1" && sqlite3 "$1" "INSERT INTO hosts (host_key, arch, model, soc,
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
		for hs_cmd in export lava report compare run; do
			case $hs_cmd in
			export) "$KQ" export --db "$hs/$hs_db.db" >"$hs/foreign.out" 2>"$hs/foreign.err" ;;
			lava) "$KQ" export --format lava --db "$hs/$hs_db.db" >"$hs/foreign.out" 2>"$hs/foreign.err" ;;
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
	for hs_cmd in export lava report compare; do
		case $hs_cmd in
		export) "$KQ" export --db "$hs/typo/sub/kvmqual.db" >"$hs/typo.out" 2>"$hs/typo.err" ;;
		lava) "$KQ" export --format lava --db "$hs/typo/sub/kvmqual.db" >"$hs/typo.out" 2>"$hs/typo.err" ;;
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
		for hs_cmd in export lava report compare; do
			case $hs_cmd in
			export) set -- export --db "$hs/ro/k.db" ;;
			lava) set -- export --format lava --db "$hs/ro/k.db" --run 1 ;;
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

	# A reader does not migrate: export --format lava of a version 1 store
	# (every tracked fixture is one) leaves it byte for byte (it was
	# migrated to version 2, a tracked fixture changed by a reader).
	cp "$FIX/lab-el1.db" "$hs/v1.db"
	hs_before=$(hs_sha "$hs/v1.db")
	"$KQ" export --format lava --db "$hs/v1.db" >"$hs/v1.out" 2>"$hs/v1.err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(hs_sha "$hs/v1.db")" = "$hs_before" ] && grep -q '<LAVA_SIGNAL_TESTCASE' "$hs/v1.out" &&
		[ "$(sqlite3 "$hs/v1.db" 'PRAGMA user_version')" = 1 ]; then
		pass hostile-store/lava-export-migrates-nothing
	else
		fail hostile-store/lava-export-migrates-nothing "exit $rc, schema version now $(sqlite3 "$hs/v1.db" 'PRAGMA user_version'): $(hs_err "$hs/v1.err")"
	fi

	# ---- 2: compare --junit never replaces what is not a file ----
	hs_db=$hs/cmp.db
	hs_cmp_db "$hs_db"
	for f in 1 1.001 0.999 1 1.0005; do hs_cmp_run "$hs_db" "$f"; done
	# A FIFO a CI job reads from: written into, still a FIFO.
	mkfifo "$hs/junit.fifo"
	cat "$hs/junit.fifo" >"$hs/junit-from-fifo.xml" &
	hs_cat=$!
	# The reader must be there (blocked opening the FIFO) before the writer.
	hs_n=0
	until grep -q wait_for_partner "/proc/$hs_cat/wchan" 2>/dev/null || [ $hs_n -ge 300 ]; do
		sleep 0.1
		hs_n=$((hs_n + 1))
	done
	timeout 60 "$KQ" compare --db "$hs_db" --junit "$hs/junit.fifo" >"$hs/junit.out" 2>"$hs/junit.err"
	rc=$?
	[ $rc -eq 0 ] || kill $hs_cat 2>/dev/null
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

	# kvmqual ab and tune write their JUnit the same way (ab_write_junit;
	# they renamed PATH.tmp over PATH): one round a side of the boot, a few
	# seconds each.
	hs_ab_junit() { # JUNIT-PATH
		timeout 300 "$KQ" ab --guest-arch aarch64 --accel tcg --workloads boot --rounds 1 --reruns 0 \
			--a default --b default --db "$hs/abj.db" --junit "$1" >"$hs/abj.out" 2>"$hs/abj.err"
	}
	if hs_root && mknod "$hs/abj-null" c 1 3 2>/dev/null; then
		hs_ab_junit "$hs/abj-null"
		rc=$?
		if [ $rc -eq 0 ] && [ -c "$hs/abj-null" ]; then
			pass hostile-store/ab-junit-device-written-into
		else
			fail hostile-store/ab-junit-device-written-into "exit $rc, now $(ls -l "$hs/abj-null"): $(hs_err "$hs/abj.err")"
		fi
	else
		skip hostile-store/ab-junit-device-written-into "needs root for mknod"
	fi
	rm -f "$hs/abj.fifo"
	mkfifo "$hs/abj.fifo"
	hs_ab_junit "$hs/abj.fifo"
	rc=$?
	if [ $rc -eq 2 ] && [ -p "$hs/abj.fifo" ] && grep -q "abj.fifo (a FIFO): nobody reads from it" "$hs/abj.err"; then
		pass hostile-store/ab-junit-fifo-without-reader-refused
	else
		fail hostile-store/ab-junit-fifo-without-reader-refused "exit $rc, $(ls -l "$hs/abj.fifo"): $(hs_err "$hs/abj.err")"
	fi
	echo old >"$hs/abj-target.xml"
	ln -s abj-target.xml "$hs/abj-link.xml"
	hs_ab_junit "$hs/abj-link.xml"
	rc=$?
	if [ $rc -eq 0 ] && [ -L "$hs/abj-link.xml" ] && grep -q 'kvmqual.ab.ab' "$hs/abj-target.xml" &&
		xmllint --noout "$hs/abj-target.xml" 2>/dev/null && ! ls "$hs"/abj-link.xml.tmp >/dev/null 2>&1; then
		pass hostile-store/ab-junit-symlink-kept
	else
		fail hostile-store/ab-junit-symlink-kept "exit $rc, $(ls -l "$hs/abj-link.xml"): $(hs_err "$hs/abj.err")"
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

	# ---- 10 (compare's side): its JSON and JUnit stay UTF-8 and valid ----
	# whatever bytes a crafted store holds in the names it prints.
	cp "$hs_db" "$hs/utf8.db"
	sqlite3 "$hs/utf8.db" "UPDATE samples SET metric = metric || CAST(X'FF20C3' AS TEXT), unit = CAST(X'E282' AS TEXT) || unit"
	"$KQ" compare --db "$hs/utf8.db" --baseline 4 --candidate 5 --json --junit "$hs/utf8.xml" >"$hs/utf8.json" 2>"$hs/utf8.err"
	rc=$?
	if [ $rc -eq 0 ] && iconv -f UTF-8 -t UTF-8 "$hs/utf8.json" >/dev/null 2>&1 && "$JG" "$hs/utf8.json" metrics >/dev/null &&
		iconv -f UTF-8 -t UTF-8 "$hs/utf8.xml" >/dev/null 2>&1 && xmllint --noout "$hs/utf8.xml" 2>/dev/null &&
		grep -q 'events_per_second' "$hs/utf8.xml"; then
		pass hostile-store/compare-outputs-valid-utf8
	else
		fail hostile-store/compare-outputs-valid-utf8 "exit $rc, json $(iconv -f UTF-8 -t UTF-8 "$hs/utf8.json" >/dev/null 2>&1 && echo UTF-8 || echo not UTF-8), xml $(xmllint --noout "$hs/utf8.xml" 2>&1 | head -c 200): $(hs_err "$hs/utf8.err")"
	fi

	# ---- 24: what a missing run is, and what there is ----
	hs_refused compare-no-such-run-says-which-exist "no run 9223372036854775807: the store holds 8 runs, ids 1 to 8" \
		compare --db "$hs_db" --candidate 9223372036854775807
	hs_refused export-no-such-run-says-which-exist "no run 9223372036854775807: the store holds 8 runs, ids 1 to 8" \
		export --db "$hs_db" --run 9223372036854775807
	hs_refused export-run-id-overflow "run takes a run id or 'all', not '99999999999999999999'" \
		export --db "$hs_db" --run 99999999999999999999

	# ---- 24: the messages the issue's "about ten more" were ----
	# Each names the input and what was wrong, and says what to do; each
	# test saw the old message (docs/threat-model.md lists them).
	# hs_says NAME TEXT ARGS...: kvmqual ARGS exits 2 saying TEXT (a fixed
	# string) on stderr.
	hs_says() {
		hs_name=$1 hs_text=$2
		shift 2
		timeout 120 "$KQ" "$@" </dev/null >"$hs/msg.out" 2>"$hs/msg.err"
		rc=$?
		if [ $rc -eq 2 ] && grep -qF -- "$hs_text" "$hs/msg.err"; then
			pass "hostile-store/msg-$hs_name"
		else
			fail "hostile-store/msg-$hs_name" "exit $rc: $(hs_err "$hs/msg.err")"
		fi
	}
	# getopt's own words began "export:", not "kvmqual export:".
	for hs_cmd in run export import remote compare report matrix publish guest ab tune; do
		hs_says "unknown-option-$hs_cmd" "kvmqual $hs_cmd: unrecognized option '--colour'" $hs_cmd --colour
	done
	# A run id without --run exported every run, in silence.
	hs_says export-operand-refused "kvmqual export: unexpected argument '3' (a run is chosen with --run ID)" \
		export --db "$hs_db" 3
	# A store given where a bundle goes: "not valid JSON: a NUL byte at
	# byte 15" (matrix), "not a complete JSON document (cut short? ...)"
	# (import); text that is not JSON was "cut short?" too.
	hs_says matrix-in-store-named "$hs_db: a SQLite database (a results store?), not a results bundle: give a store with --db, bundles with --in" \
		matrix --in "$hs_db" --out "$hs/msg-matrix"
	hs_says import-store-named "$hs_db: a SQLite database (a results store?), not a bundle: export its runs first (kvmqual export --db $hs_db > bundle.json)" \
		import --db "$hs/msg-import.db" "$hs_db"
	printf 'runs: 1\n' >"$hs/msg-text.json"
	hs_says import-text-not-json "$hs/msg-text.json: not JSON (at byte 0), not a bundle" \
		import --db "$hs/msg-import.db" "$hs/msg-text.json"
	"$KQ" export --db "$hs_db" --run 1 | head -c 300 >"$hs/msg-cut.json"
	hs_says import-cut-short "$hs/msg-cut.json: a JSON document cut short after 300 bytes (copy the bundle again)" \
		import --db "$hs/msg-import.db" "$hs/msg-cut.json"
	# An output in a directory that is not there: "cannot create a file
	# beside it: No such file or directory" (the temporary's words).
	hs_says junit-no-directory "--junit $hs/no-dir/j.xml: there is no directory $hs/no-dir to write it in (create it first)" \
		compare --db "$hs_db" --baseline 1 --candidate 2 --junit "$hs/no-dir/j.xml"
	# A store without runs: "holds no finished run (give one with --run
	# ID)", which no id could answer; one whose runs all still run (this
	# shell owns the one here) says so, with the ids.
	"$TT/store_init" "$hs/msg-empty.db"
	hs_says report-no-runs-yet "$hs/msg-empty.db holds no runs yet (kvmqual run --db $hs/msg-empty.db makes one)" \
		report --db "$hs/msg-empty.db" --out "$hs/msg-report"
	hs_says compare-no-runs-yet "$hs/msg-empty.db holds no runs yet (kvmqual run --db $hs/msg-empty.db makes one)" \
		compare --db "$hs/msg-empty.db"
	cp "$hs/msg-empty.db" "$hs/msg-running.db"
	sqlite3 "$hs/msg-running.db" "INSERT INTO hosts (host_key, arch, model, soc, kernel_release, page_size)
		VALUES ('00000000000000bb', 'aarch64', 'board', 'soc', '6.1.0', 4096);
		INSERT INTO runs (host_id, status, pid) VALUES (1, 'running', $$)"
	hs_says report-all-running "$hs/msg-running.db holds no finished run (1 run, id 1: all still running; give one with --run ID" \
		report --db "$hs/msg-running.db" --out "$hs/msg-report"
	# --templates that is not there was "not a directory".
	hs_says templates-missing "--templates $hs/no-templates: no such directory" \
		report --db "$hs_db" --out "$hs/msg-report" --templates "$hs/no-templates"
	# --out a file: "FILE: not a directory", exit 1, after every input was read.
	: >"$hs/msg-out-file"
	hs_says matrix-out-file "--out $hs/msg-out-file is a regular file, not a directory" \
		matrix --db "$FIX/x86-pvm-host.db" --out "$hs/msg-out-file"
	# --rounds and the adaptive options: the adaptive ones were ignored.
	hs_says tune-rounds-and-adaptive "kvmqual tune: --rounds N (a fixed count) and --min-rounds (adaptive rounds) exclude each other" \
		tune --plan --rounds 3 --min-rounds 4
	hs_says ab-rounds-and-adaptive "kvmqual ab: --rounds N (a fixed count) and --stable-ci (adaptive rounds) exclude each other" \
		ab --guest-arch aarch64 --accel tcg --workloads boot --a default --b default --stable-ci 2 --rounds 3 \
		--db "$hs/msg-ab-rounds.db"
	# kvmqual image build: an unknown arch was sent looking for
	# build/mips/kvmqual-agent ("make ARCH=mips agent stream"); no --arch
	# got build.sh's own "build.sh: --arch is required".
	hs_says image-arch-unknown "kvmqual image build: --arch takes aarch64 or x86_64, not 'mips'" image build --arch mips
	hs_says image-arch-missing "kvmqual image build: --arch is required: aarch64 or x86_64" image build
	# remote: a --kit that is not there said "make kit ARCH=... builds
	# one", with the device's arch known by then.
	mkdir -p "$hs/msg-device"
	hs_arch=$(uname -m)
	KVMQUAL_SSH="sh $(pwd)/tests/tools/device_shell.sh $hs/msg-device"
	export KVMQUAL_SSH
	hs_says remote-kit-missing "kvmqual remote: --kit: kit $hs/no-kit.tar.gz: No such file or directory (check the path; make kit ARCH=$hs_arch builds one for ssh://device)" \
		remote --via ssh://device --kit "$hs/no-kit.tar.gz" --db "$hs/msg-remote.db" --out "$hs/msg-remote"
	unset KVMQUAL_SSH
fi

if want hostile-store && [ ! -f build/guest/aarch64/manifest.json ]; then
	fail hostile-store/run "no guest image (make guest-image)"
elif want hostile-store; then
	hs_image=build/guest/aarch64
	# hs_wait N CMD...: polls CMD every 0.2 s until it succeeds, at most N
	# seconds (a busy machine is slow, never a reason to fail).
	hs_wait() {
		hs_n=$(($1 * 5))
		shift
		until "$@"; do
			hs_n=$((hs_n - 1))
			[ $hs_n -gt 0 ] || return 1
			sleep 0.2
		done
	}
	hs_status() { sqlite3 "$1" "SELECT status FROM runs ORDER BY id DESC LIMIT 1" 2>/dev/null; }
	hs_running() { [ "$(hs_status "$1")" = running ]; }
	hs_gone() { ! kill -0 "$1" 2>/dev/null; }
	hs_line() { grep -q -- "$2" "$1" 2>/dev/null; }

	# ---- 24 (the guest's side): which image, which QEMU, which option ----
	# A missing image was "--arch not given, and guest image:
	# DIR/manifest.json: No such file or directory" (guest), or "no
	# initramfs.cpio.*" with --arch; a file or an empty directory read
	# the same.
	hs_says guest-image-missing "kvmqual guest: guest image $hs/no-image: no such directory" \
		guest --image "$hs/no-image" -- true
	hs_says guest-image-missing-with-arch "kvmqual guest: guest image $hs/no-image: no such directory" \
		guest --image "$hs/no-image" --arch aarch64 -- true
	: >"$hs/msg-image-file"
	hs_says guest-image-a-file "guest image $hs/msg-image-file: a regular file, not a directory" \
		guest --image "$hs/msg-image-file" -- true
	mkdir -p "$hs/msg-image-dir"
	hs_says guest-image-not-an-image "guest image $hs/msg-image-dir: no manifest.json: not a guest image" \
		guest --image "$hs/msg-image-dir" -- true
	hs_says run-image-missing "kvmqual run: guest image $hs/no-image: no such directory" \
		run --image "$hs/no-image" --guest-arch aarch64 --db "$hs/msg-run.db"
	# --arch mips went looking for qemu-system-mips ("install
	# qemu-system-arm or qemu-system-x86").
	hs_says guest-arch-unknown "kvmqual guest: --arch takes aarch64 or x86_64, not 'mips'" \
		guest --image "$hs_image" --arch mips -- true
	# A --qemu that is not there was told to install Debian's QEMU; the
	# suite's QEMU missing was "cannot start qemu-system-aarch64: No such
	# file or directory (install qemu-system-arm or qemu-system-x86)".
	hs_says guest-qemu-option-missing "kvmqual guest: cannot start QEMU $hs/no-qemu: No such file or directory (give a QEMU binary's path, or a name on PATH)" \
		guest --image "$hs_image" --qemu "$hs/no-qemu" -- true
	PATH=/nonexistent "$KQ" guest --image "$hs_image" --arch aarch64 -- true </dev/null >"$hs/msg.out" 2>"$hs/msg.err"
	rc=$?
	if [ $rc -eq 2 ] && grep -qF "kvmqual guest: qemu-system-aarch64 is not installed (not on PATH): apt-get install qemu-system-arm" "$hs/msg.err"; then
		pass hostile-store/msg-guest-qemu-not-on-path
	else
		fail hostile-store/msg-guest-qemu-not-on-path "exit $rc: $(hs_err "$hs/msg.err")"
	fi
	# A QEMU that died saying nothing: "QEMU exited before connecting to
	# the agent socket: " and nothing after the colon.
	hs_says guest-qemu-said-nothing "QEMU (/bin/false) exited with status 1 before connecting to the agent socket, and printed nothing" \
		guest --image "$hs_image" --qemu /bin/false -- true
	# One message for every mistake: "need --image and either --script or
	# a command after --; --cpus >= 1, --mem >= 64, timeouts >= 1".
	hs_says guest-no-image "kvmqual guest: --image DIR is required" guest -- true
	hs_says guest-nothing-to-run "kvmqual guest: nothing to run: give --script FILE or a command after --" \
		guest --image "$hs_image"
	printf 'true\n' >"$hs/msg-script"
	hs_says guest-script-and-command "kvmqual guest: --script FILE and a command after -- exclude each other" \
		guest --image "$hs_image" --script "$hs/msg-script" -- true
	# ab --junit DIR was refused after the whole session; now before
	# anything runs (no store made).
	hs_says ab-junit-directory-first "kvmqual ab: --junit $hs is a directory: give a file name" \
		ab --guest-arch aarch64 --accel tcg --workloads boot --rounds 1 --reruns 0 --a default --b default \
		--junit "$hs" --db "$hs/msg-ab.db"
	if [ -e "$hs/msg-ab.db" ]; then
		fail hostile-store/msg-ab-junit-before-the-session "the session ran: $(sqlite3 "$hs/msg-ab.db" 'SELECT count(*) FROM ab_sessions' 2>&1) stored"
	else
		pass hostile-store/msg-ab-junit-before-the-session
	fi

	# ---- 10: the JSON of guest and ab stays UTF-8 ----
	# What a guest command prints and a path are not UTF-8 text by
	# promise: they were copied into the documents byte for byte.
	timeout 300 "$KQ" guest --image build/guest/aarch64 --arch aarch64 --json --timeout 60 -- printf 'a\377b' \
		>"$hs/guest-utf8.json" 2>"$hs/guest-utf8.err"
	rc=$?
	if [ $rc -eq 0 ] && iconv -f UTF-8 -t UTF-8 "$hs/guest-utf8.json" >/dev/null 2>&1 &&
		[ "$("$JG" "$hs/guest-utf8.json" commands.0.stdout)" = "a$(printf '\357\277\275')b" ]; then
		pass hostile-store/guest-json-valid-utf8
	else
		fail hostile-store/guest-json-valid-utf8 "exit $rc, stdout $("$JG" "$hs/guest-utf8.json" commands.0.stdout | od -c | head -1): $(hs_err "$hs/guest-utf8.err")"
	fi
	timeout 300 "$KQ" ab --guest-arch aarch64 --accel tcg --workloads boot --rounds 1 --reruns 0 --a default \
		--b default --json --db "$hs/ab-$(printf '\377').db" >"$hs/ab-utf8.json" 2>"$hs/ab-utf8.err"
	rc=$?
	if [ $rc -eq 0 ] && iconv -f UTF-8 -t UTF-8 "$hs/ab-utf8.json" >/dev/null 2>&1 && "$JG" "$hs/ab-utf8.json" db >/dev/null; then
		pass hostile-store/ab-json-valid-utf8
	else
		fail hostile-store/ab-json-valid-utf8 "exit $rc: $(hs_err "$hs/ab-utf8.err")"
	fi

	# A store whose host fields are not UTF-8 (kvmqual run on a device
	# tree with an odd model; import refuses such a bundle itself): export
	# writes U+FFFD for those bytes, and wrote the key made from the bytes
	# beside them, so that kvmqual import refused what export wrote ("the
	# key does not match", fuzz_import found it).
	cp "$FIX/x86-pvm-host.db" "$hs/nonutf8.db"
	hs_f=$(sqlite3 -separator '|' "$hs/nonutf8.db" "SELECT model, soc, kernel_release, ifnull(page_size, 0) FROM hosts WHERE id = 1")
	hs_key=$(IFS='|'; set -- $hs_f; "$TT/host_key" "x86_64$(printf '\232')" "$1" "$2" "$3" "$4")
	sqlite3 "$hs/nonutf8.db" "UPDATE hosts SET arch = 'x86_64' || CAST(X'9A' AS TEXT), host_key = '$hs_key' WHERE id = 1"
	"$KQ" export --db "$hs/nonutf8.db" >"$hs/nonutf8.json" 2>"$hs/nonutf8.out" &&
		"$KQ" import --db "$hs/nonutf8-2.db" "$hs/nonutf8.json" >>"$hs/nonutf8.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ -n "$hs_key" ] && iconv -f UTF-8 -t UTF-8 "$hs/nonutf8.json" >/dev/null 2>&1; then
		pass hostile-store/import-takes-export-of-non-utf8-host
	else
		fail hostile-store/import-takes-export-of-non-utf8-host "exit $rc: $(hs_err "$hs/nonutf8.out")"
	fi

	# ---- 23: numbers strictly, in one helper ----
	hs_usage() {
		name=$1 want=$2
		shift 2
		rm -rf "$hs/usage"
		timeout 300 "$KQ" "$@" >"$hs/usage.out" 2>"$hs/usage.err"
		rc=$?
		if [ $rc -eq 2 ] && grep -q -- "$want" "$hs/usage.err" && [ ! -e "$hs/usage/k.db" ]; then
			pass "hostile-store/$name"
		else
			fail "hostile-store/$name" "exit $rc, stored: $(ls "$hs/usage" 2>&1): $(hs_err "$hs/usage.err")"
		fi
	}
	hs_run_args="--guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t --iterations 1 --db $hs/usage/k.db"
	# shellcheck disable=SC2086
	hs_usage run-cpus-not-a-number "cpus takes a whole number from 1 to 512, not 'abc'" run $hs_run_args --cpus abc
	hs_usage run-iterations-trailing-junk "iterations takes a whole number from 1 to 64, not '2abc'" \
		run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t --db "$hs/usage/k.db" --iterations 2abc
	hs_usage run-accel-names-nothing "accel takes kvm, tcg or kvm,tcg, not ','" \
		run --guest-arch aarch64 --accel , --workloads sysbench-cpu-1t --iterations 1 --db "$hs/usage/k.db"
	hs_usage run-accel-empty-name "accel takes kvm, tcg or kvm,tcg, not 'tcg,'" \
		run --guest-arch aarch64 --accel tcg, --workloads sysbench-cpu-1t --iterations 1 --db "$hs/usage/k.db"
	# shellcheck disable=SC2086
	hs_usage run-stable-ci-not-finite "stable-ci takes a number above 0, at most 100, not 'nan'" \
		run $hs_run_args --stable-ci nan
	hs_usage guest-cpus-not-a-number "cpus takes a whole number from 1 to 512, not '2x'" \
		guest --image "$hs_image" --cpus 2x -- true
	hs_usage guest-disk-mb-not-a-number "disk-mb takes a whole number from 1 to 1048576, not '64M'" \
		guest --image "$hs_image" --disk-mb 64M -- true
	hs_usage compare-threshold-hex "threshold takes a percentage from 0 to 1000, not '0x10'" \
		compare --db "$hs/cmp.db" --threshold 0x10
	# The commands that joined later, and the options of publish and
	# matrix, which took hex and octal ("--timeout 010" was 8 s, run:0x1
	# run 1), leading blanks, or any size.
	hs_ab_args="--guest-arch aarch64 --accel tcg --workloads boot --rounds 1 --reruns 0 --db $hs/usage/k.db"
	# shellcheck disable=SC2086
	hs_usage ab-threshold-hex "threshold takes a percentage above 0, at most 100, not '0x10'" \
		ab $hs_ab_args --a default --b default --threshold 0x10
	# shellcheck disable=SC2086
	hs_usage ab-min-rounds-leading-blank "min-rounds takes 1 to 200, not ' 3'" \
		ab $hs_ab_args --a default --b default --min-rounds ' 3'
	hs_usage publish-timeout-hex "timeout takes 1 to 3600 seconds, not '0x10'" \
		publish --timeout 0x10 --to http://127.0.0.1:9/kq/ "$FIX/x86-pvm-host.json"
	hs_usage matrix-select-run-hex "select takes latest-qualifying, latest or run:ID, not 'run:0x1'" \
		matrix --select run:0x1 --db "$FIX/lab-el1.db" --out "$hs/usage/mx"
	hs_usage report-plot-timeout-leading-blank "plot-timeout takes seconds (1 to 3600), not ' 5'" \
		report --plot-timeout ' 5' --db "$FIX/lab-el1.db" --out "$hs/usage/report"
	hs_usage guest-balloon-overflow "balloon takes the guest's memory in MiB with the balloon inflated (16 to 16777216), not '99999999999999999999'" \
		guest --image "$hs_image" --balloon 99999999999999999999 -- true

	# ---- 22: targets.conf: a misspelt metric and a NUL byte name their line ----
	printf 'boot kvm boot.total_ms < 2000 ms\ncpu kvm sysbench-cpu-1t.events_per_secnd %%native>= 85 %%\n' >"$hs/typo.conf"
	# shellcheck disable=SC2086
	hs_usage targets-unknown-metric "typo.conf:2: unknown metric 'sysbench-cpu-1t.events_per_secnd': sysbench-cpu-1t measures events_per_second" \
		run $hs_run_args --targets "$hs/typo.conf"
	printf 'boot kvm boot.total_ms < 2000 ms\n# \000\ndisk kvm fio-seqread.seqread_mbps >= 200 MB/s\n' >"$hs/nul.conf"
	# shellcheck disable=SC2086
	hs_usage targets-nul-byte "nul.conf:2: byte 0x00 (a NUL)" run $hs_run_args --targets "$hs/nul.conf"

	# ---- 6: a FIFO given as input is refused at once, never waited on ----
	# (lib/util.c kq_read_file opens without blocking, regular files only)
	mkfifo "$hs/targets.fifo" "$hs/script.fifo"
	# shellcheck disable=SC2086
	hs_usage run-targets-fifo "targets file $hs/targets.fifo is a FIFO, not a regular file" \
		run $hs_run_args --targets "$hs/targets.fifo"
	hs_usage guest-script-fifo "script $hs/script.fifo is a FIFO, not a regular file" \
		guest --image "$hs_image" --script "$hs/script.fifo"

	# ---- 25: SIGHUP (the terminal closed) stores the run as interrupted ----
	mkdir -p "$hs/hup"
	"$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu --db "$hs/hup/k.db" >"$hs/hup.out" 2>&1 &
	hs_pid=$!
	hs_wait 120 hs_running "$hs/hup/k.db"
	kill -HUP $hs_pid
	wait $hs_pid
	rc=$?
	hs_row=$(sqlite3 "$hs/hup/k.db" "SELECT status || ': ' || reason FROM runs" 2>&1)
	if [ $rc -eq 129 ] && echo "$hs_row" | grep -q '^interrupted: .*interrupted by signal 1 (Hangup)'; then
		pass hostile-store/run-sighup-stored-interrupted
	else
		fail hostile-store/run-sighup-stored-interrupted "exit $rc, stored: $hs_row"
	fi

	# kvmqual ab likewise (SIGHUP killed it: the session stayed 'running').
	"$KQ" ab --guest-arch aarch64 --accel tcg --workloads boot --rounds 3 --reruns 0 --a default --b cpus=1 \
		--db "$hs/hup/ab.db" >"$hs/abhup.out" 2>"$hs/abhup.err" &
	hs_pid=$!
	hs_wait 300 hs_line "$hs/abhup.err" "round 1: B boots"
	kill -HUP $hs_pid
	wait $hs_pid
	rc=$?
	hs_row=$(sqlite3 "$hs/hup/ab.db" "SELECT status || ': ' || reason FROM ab_sessions" 2>&1)
	if [ $rc -eq 129 ] && echo "$hs_row" | grep -q '^interrupted: interrupted by signal 1'; then
		pass hostile-store/ab-sighup-stored-interrupted
	else
		fail hostile-store/ab-sighup-stored-interrupted "exit $rc, stored: $hs_row; $(hs_err "$hs/abhup.err")"
	fi

	# ---- 5: a native iperf3 server never outlives a SIGKILLed run ----
	# The client is held back (a wrapper in PATH sleeps instead of
	# connecting), so that the server is still waiting when kvmqual dies;
	# a server whose client had connected would end with it anyway.
	mkdir -p "$hs/iperf-bin" "$hs/iperf"
	printf '#!/bin/sh\ncase " $* " in *" -s "*) exec %s "$@" ;; esac\nexec sleep 600\n' "$(command -v iperf3)" \
		>"$hs/iperf-bin/iperf3"
	chmod +x "$hs/iperf-bin/iperf3"
	PATH="$hs/iperf-bin:$PATH" "$KQ" run --guest-arch aarch64 --accel tcg --workloads iperf3-h2g --iterations 1 \
		--db "$hs/iperf/k.db" >"$hs/iperf.out" 2>&1 &
	hs_pid=$!
	# The server is kvmqual's child, on a port the kernel chose.
	hs_server() { hs_spid=$(pgrep -P $hs_pid -f "iperf3 -s -1 -B 127.0.0.1 -p [0-9]+\$") && pgrep -P $hs_pid -x sleep >/dev/null; }
	if hs_wait 180 hs_server; then
		kill -KILL $hs_pid
		wait $hs_pid 2>/dev/null
		if hs_wait 30 hs_gone "$hs_spid"; then
			pass hostile-store/run-sigkill-leaves-no-iperf3-server
		else
			fail hostile-store/run-sigkill-leaves-no-iperf3-server "iperf3 -s (pid $hs_spid) still runs 30 s after kvmqual was killed"
			kill "$hs_spid" 2>/dev/null
		fi
	else
		fail hostile-store/run-sigkill-leaves-no-iperf3-server "the server never started: $(hs_err "$hs/iperf.out")"
		kill -KILL $hs_pid 2>/dev/null
		wait $hs_pid 2>/dev/null
	fi

	# ---- 3: a result that cannot be stored stops the run as failed ----
	# Another process holds the store's write lock (a sqlite3 shell with a
	# transaction open) longer than --lock-wait: the run ends failed,
	# naming the lock, exit 2, and keeps what it stored before; when the
	# lock is gone it can say so in the store.
	mkdir -p "$hs/lock"
	# hs_lock_take DB: a sqlite3 shell opens a write transaction on DB (fed
	# through a FIFO on fd 7, its answers in lock.sql.out); hs_lock_release
	# rolls it back and waits for the shell.
	hs_lock_take() {
		rm -f "$hs/lock.fifo"
		mkfifo "$hs/lock.fifo"
		sqlite3 "$1" <"$hs/lock.fifo" >"$hs/lock.sql.out" 2>&1 &
		hs_sql=$!
		exec 7>"$hs/lock.fifo"
		echo "BEGIN IMMEDIATE; SELECT 'locked';" >&7
	}
	hs_lock_release() {
		echo "ROLLBACK;" >&7
		exec 7>&-
		wait $hs_sql
	}
	"$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t,stream --iterations 1 --lock-wait 3 \
		--db "$hs/lock/k.db" >"$hs/lock.out" 2>"$hs/lock.err" &
	hs_pid=$!
	# The lock is taken once the first sample is in (stream's turn).
	if hs_wait 300 hs_line "$hs/lock.err" "native: stream, sample 1"; then
		hs_lock_take "$hs/lock/k.db"
		hs_wait 300 hs_line "$hs/lock.err" "results not stored"
		hs_lock_release
	fi
	hs_wait 300 hs_gone $hs_pid
	wait $hs_pid
	rc=$?
	hs_row=$(sqlite3 "$hs/lock/k.db" "SELECT status || ': ' || reason FROM runs" 2>&1)
	hs_kept=$(sqlite3 "$hs/lock/k.db" "SELECT count(*) FROM samples WHERE workload = 'sysbench-cpu-1t'" 2>&1)
	if [ $rc -eq 2 ] && echo "$hs_row" | grep -q "^failed: results not stored: .*held the store's write lock for 3 s" &&
		[ "$hs_kept" -ge 1 ]; then
		pass hostile-store/run-lock-held-fails-the-run
	else
		fail hostile-store/run-lock-held-fails-the-run "exit $rc, stored: $hs_row, sysbench samples kept: $hs_kept; $(tail -c 400 "$hs/lock.err" | tr '\n' ' ')"
	fi

	# kvmqual ab likewise (it printed the store's error and went on: the
	# session ended 'complete' with a sample missing, exit 0).  Arm A's
	# first boot is stored when B's boot begins; kvmqual is held (SIGSTOP)
	# while the lock is taken, so that B's sample meets it however busy
	# the machine is.
	"$KQ" ab --guest-arch aarch64 --accel tcg --workloads boot --rounds 3 --reruns 0 --a default --b cpus=1 \
		--lock-wait 3 --db "$hs/lock/ab.db" >"$hs/ablock.out" 2>"$hs/ablock.err" &
	hs_pid=$!
	if hs_wait 300 hs_line "$hs/ablock.err" "round 1: B boots"; then
		kill -STOP $hs_pid
		hs_lock_take "$hs/lock/ab.db"
		hs_wait 60 hs_line "$hs/lock.sql.out" locked
		kill -CONT $hs_pid
		hs_wait 300 hs_line "$hs/ablock.err" "results not stored"
		hs_lock_release
	fi
	hs_wait 300 hs_gone $hs_pid
	wait $hs_pid
	rc=$?
	hs_row=$(sqlite3 "$hs/lock/ab.db" "SELECT status || ': ' || reason FROM ab_sessions" 2>&1)
	hs_kept=$(sqlite3 "$hs/lock/ab.db" "SELECT count(*) FROM ab_samples" 2>&1)
	if [ $rc -eq 2 ] && echo "$hs_row" | grep -q "^failed: results not stored: .*held the store's write lock for 3 s" &&
		[ "$hs_kept" -ge 1 ] && grep -q '^verdict: failed: results not stored' "$hs/ablock.out"; then
		pass hostile-store/ab-lock-held-fails-the-session
	else
		fail hostile-store/ab-lock-held-fails-the-session "exit $rc, stored: $hs_row, samples kept: $hs_kept; $(tail -c 400 "$hs/ablock.err" | tr '\n' ' ')"
	fi

	# The disk under the store fills up mid-run (after the first step's
	# samples are in): the run stops as failed, says the disk is full,
	# keeps those samples, exits 2.  kvmqual is held (SIGSTOP) while the
	# disk is filled, so that no busy machine can make the fill come late.
	if hs_root && mkdir -p "$hs/full" && mount -t tmpfs -o size=160m tmpfs "$hs/full" 2>/dev/null; then
		"$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t,stream --iterations 1 \
			--db "$hs/full/k.db" >"$hs/full.out" 2>"$hs/full.err" &
		hs_pid=$!
		if hs_wait 300 hs_line "$hs/full.err" "native: stream, sample 1"; then
			kill -STOP $hs_pid
			dd if=/dev/zero of="$hs/full/fill" bs=1M 2>/dev/null
			dd if=/dev/zero of="$hs/full/fill2" bs=4k 2>/dev/null
			kill -CONT $hs_pid
		fi
		hs_wait 300 hs_gone $hs_pid
		wait $hs_pid
		rc=$?
		rm -f "$hs/full/fill" "$hs/full/fill2"
		hs_row=$(sqlite3 "$hs/full/k.db" "SELECT status || ': ' || reason FROM runs" 2>&1)
		hs_kept=$(sqlite3 "$hs/full/k.db" "SELECT count(*) FROM samples WHERE workload = 'sysbench-cpu-1t'" 2>&1)
		if [ $rc -eq 2 ] && echo "$hs_row" | grep -q "^failed: results not stored: .*the disk is full" &&
			[ "$hs_kept" -ge 1 ]; then
			pass hostile-store/run-disk-full-fails-the-run
		else
			fail hostile-store/run-disk-full-fails-the-run "exit $rc, stored: $hs_row, sysbench samples kept: $hs_kept; $(tail -c 400 "$hs/full.err" | tr '\n' ' ')"
		fi
		umount "$hs/full"
	else
		skip hostile-store/run-disk-full-fails-the-run "needs root to mount a small tmpfs"
	fi

	# ---- 21: kvmqual guest --disk-mb leaves nothing in /tmp ----
	# In a mount namespace of the test's own, over a /tmp of its own, so
	# that other users' files there do not count: on the error path (the
	# disk cannot be sized: a file size limit), and after SIGKILL.
	if hs_root && command -v unshare >/dev/null; then
		# A checkout under /tmp would vanish under that /tmp: kvmqual and
		# the image are then copied out of it first.
		hs_kq=$(readlink -f "$KQ") hs_img=$(readlink -f "$hs_image") hs_out=
		case "$hs_kq $hs_img" in
		/tmp/* | *" /tmp/"*)
			hs_out=$(mktemp -d /var/tmp/kvmqual-hs.XXXXXX)
			cp "$hs_kq" "$hs_out/kvmqual" && cp -r "$hs_img" "$hs_out/image"
			hs_kq=$hs_out/kvmqual hs_img=$hs_out/image
			;;
		esac
		KQ_ABS=$hs_kq IMG=$hs_img unshare --mount --propagation private sh -c '
			mount -t tmpfs -o size=256m hsdisk /tmp || exit 99
			(ulimit -f 1024; trap "" XFSZ; "$KQ_ABS" guest --image "$IMG" --disk-mb 64 -- true) 2>/tmp/err
			echo "error-path exit $?: $(head -c 300 /tmp/err | tr "\n" " ")"
			ls -A /tmp | grep kvmqual-disk | sed "s/^/error-path left /"
			"$KQ_ABS" guest --image "$IMG" --disk-mb 64 -- sleep 600 >/dev/null 2>&1 &
			kq=$!
			n=0
			until pgrep -P $kq -f qemu-system >/dev/null || [ $n -ge 900 ]; do sleep 0.2; n=$((n + 1)); done
			qemu=$(pgrep -P $kq -f qemu-system)
			kill -KILL $kq
			n=0
			while [ -n "$qemu" ] && kill -0 $qemu 2>/dev/null && [ $n -lt 150 ]; do sleep 0.2; n=$((n + 1)); done
			echo "killed: qemu ${qemu:-never started}"
			ls -A /tmp | grep kvmqual-disk | sed "s/^/sigkill left /"
			umount /tmp' >"$hs/disk.out" 2>&1
		[ -n "$hs_out" ] && rm -rf "$hs_out"
		if grep -q "^error-path exit 2: .*disk-mb 64: a scratch disk in /tmp: File too large" "$hs/disk.out" &&
			! grep -q "^error-path left" "$hs/disk.out"; then
			pass hostile-store/guest-disk-error-path-leaves-nothing
		else
			fail hostile-store/guest-disk-error-path-leaves-nothing "$(hs_err "$hs/disk.out")"
		fi
		if grep -q "^killed: qemu [0-9]" "$hs/disk.out" && ! grep -q "^sigkill left" "$hs/disk.out"; then
			pass hostile-store/guest-disk-sigkill-leaves-nothing
		else
			fail hostile-store/guest-disk-sigkill-leaves-nothing "$(hs_err "$hs/disk.out")"
		fi
	else
		skip hostile-store/guest-disk-leaves-nothing "needs root and unshare for a /tmp of its own"
	fi
fi
