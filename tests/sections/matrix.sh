# shellcheck shell=sh
# matrix: kvmqual matrix end to end, sourced by tests/run.sh.
#   - a matrix from several stores (the real x86 PVM fixture, two generated
#     with known values) and a directory of bundles; every output checked
#     (matrix.json through $JG, matrix.md, matrix.csv, matrix.html)
#   - the status rules (qualified / with limits / not qualified) on known
#     verdicts, a missing column and its reason, an emulated host
#   - never merged silently: one identity in two stores (conflict), a
#     different guest image or suite version (marked), the same run in a
#     store and in its own export (one row, two sources), --merge-sources
#   - --select latest / latest-qualifying / run:ID
#   - refusals: malformed bundles (not JSON, wrong schema, wrong types,
#     truncated), no inputs, a store with a newer schema: exit 2, naming it
#   - the stores read are byte-identical afterwards, nothing created beside
#     them, and a store in a read-only directory can be read
#   - --in URL: bundles fetched from a local nginx WebDAV collection
# Generated stores come from bench/matrix-gen.c (the store's own API).

if want matrix; then
	mx=$tmp/matrix
	mkdir -p "$mx/in" "$mx/bad"
	MXGEN=$mx/matrix-gen
	FIX=tests/fixtures/results

	# mx_run NAME ARGS...: kvmqual matrix with a time limit; output in
	# $mx/NAME.out and $mx/NAME.err, exit code in $rc.
	mx_run() {
		mx_name=$1
		shift
		timeout 120 "$KQ" matrix "$@" >"$mx/$mx_name.out" 2>"$mx/$mx_name.err"
		rc=$?
	}
	# mx_row JSON MODEL [NTH]: the index of the (NTH) row of that model.
	mx_row() {
		i=0
		nth=${3:-0}
		while m=$("$JG" "$1" "rows.$i.model" 2>/dev/null); do
			if [ "$m" = "$2" ]; then
				[ "$nth" -eq 0 ] && { echo "$i"; return 0; }
				nth=$((nth - 1))
			fi
			i=$((i + 1))
		done
		echo none
		return 1
	}
	# mx_get JSON MODEL PATH: a member of a row found by model.
	mx_get() {
		"$JG" "$1" "rows.$(mx_row "$1" "$2").$3" 2>/dev/null
	}
	# expect NAME GOT WANT
	mx_expect() {
		if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi
	}
	near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(a != "" && d < 0.01 && d > -0.01) }'; }

	if ! gcc -std=gnu11 -O1 -o "$MXGEN" bench/matrix-gen.c $(ls store/*.c | grep -v /cmd_) lib/util.c -lsqlite3 -lm \
		>"$mx/gen-build.err" 2>&1; then
		fail matrix/generator "$(head -c 300 "$mx/gen-build.err")"
	else
		# Known values.  Later specs are newer runs.
		"$MXGEN" spec "$mx/lab-a.db" \
			"model=A Qualified,soc=soc-a,kernel=6.1.0-a" \
			"model=B Slow,soc=soc-b,cpu=70,boot=2500" \
			"model=C NoKVM,soc=soc-c,kvm=0" \
			"model=D Phone,soc=soc-d,probe=tcg-only" \
			"model=E Limited,soc=soc-e,probe=kvm-limited,gic=v2" \
			"model=F NoTap,soc=soc-f,netdev=user" \
			"model=G Lab,soc=soc-g,emulated=1" \
			"model=H Flaky,soc=soc-h" \
			"model=H Flaky,soc=soc-h,kvm=0" \
			"model=M Missing,soc=soc-m,mem=none" >"$mx/gen.out" 2>&1 &&
			"$MXGEN" spec "$mx/lab-b.db" \
				"model=A Qualified,soc=soc-a,kernel=6.1.0-a,cpu=91,started=2026-01-02T00:00:00.000Z" \
				"model=I Image,soc=soc-i,image=2222222222222222222222222222222222222222222222222222222222222222" \
				"model=J Suite,soc=soc-j,suite=0.0.9" >>"$mx/gen.out" 2>&1 &&
			"$MXGEN" spec "$mx/in/k.json" "model=K Bundle,soc=soc-k" >>"$mx/gen.out" 2>&1
		gen_rc=$?
		cp "$FIX/x86-pvm-host.json" "$mx/in/x86-pvm-host.json"
		if [ $gen_rc -ne 0 ]; then
			fail matrix/generator "$(tail -3 "$mx/gen.out")"
		fi
		dbs="$mx/lab-a.db $mx/lab-b.db $FIX/x86-pvm-host.db"
		sha256sum $dbs >"$mx/sha.before"

		mx_run main --db "$mx/lab-a.db" --db "$mx/lab-b.db" --db "$FIX/x86-pvm-host.db" --in "$mx/in" --out "$mx/out"
		J=$mx/out/matrix.json
		if [ $rc -eq 0 ] && [ -f "$J" ] && [ -f "$mx/out/matrix.md" ] && [ -f "$mx/out/matrix.csv" ] &&
			[ -f "$mx/out/matrix.html" ]; then
			pass matrix/several-stores-and-bundles
		else
			fail matrix/several-stores-and-bundles "exit $rc: $(head -c 400 "$mx/main.err")"
		fi

		# matrix.json
		mx_expect matrix/json-schema "$("$JG" "$J" schema) $("$JG" "$J" version) $("$JG" "$J" error)" \
			"kvmqual.matrix 1 null"
		mx_expect matrix/json-rows-and-devices "$("$JG" "$J" summary.rows) $("$JG" "$J" summary.devices)" "14 13"
		mx_expect matrix/json-sources "$("$JG" "$J" sources.4.kind) $("$JG" "$J" sources.5.kind 2>/dev/null)" \
			"bundle "
		mx_expect matrix/json-counts \
			"$("$JG" "$J" summary.qualified) $("$JG" "$J" summary.qualified_with_limits) $("$JG" "$J" summary.not_qualified)" \
			"7 4 3"

		# the status rules
		for want_status in "A Qualified:qualified" "B Slow:qualified-with-limits" "C NoKVM:not-qualified" \
			"D Phone:not-qualified" "E Limited:qualified-with-limits" "F NoTap:qualified-with-limits" \
			"G Lab:qualified" "H Flaky:qualified" "M Missing:qualified-with-limits" "K Bundle:qualified" \
			":not-qualified"; do
			model=${want_status%%:*}
			status=${want_status#*:}
			mx_expect "matrix/status/${model:-x86-pvm-host}" "$(mx_get "$J" "$model" status)" "$status"
		done
		reasons=$(mx_get "$J" "B Slow" reasons)
		case $reasons in
		*"boot: 2500 ms (target < 2000 ms)"*"cpu: 70 % of native (target >= 85 % of native)"*)
			pass matrix/reason-names-failed-targets ;;
		*) fail matrix/reason-names-failed-targets "$reasons" ;;
		esac
		mx_expect matrix/reason-no-kvm-boot "$(mx_get "$J" "C NoKVM" reasons.0)" \
			"kvm: the guest did not boot: the guest did not become ready within 10000 ms"
		mx_expect matrix/reason-tcg-only "$(mx_get "$J" "D Phone" reasons.0)" \
			"no usable KVM: TCG only: KVM cannot run here"
		mx_expect matrix/reason-probe-limited "$(mx_get "$J" "E Limited" reasons.0)" "probe: gic.version: v2"
		case $(mx_get "$J" "" reasons.0) in
		"kvm: the guest did not boot"*) pass matrix/reason-real-pvm-host ;;
		*) fail matrix/reason-real-pvm-host "$(mx_get "$J" "" reasons.0)" ;;
		esac

		# the numbers and check columns
		if near "$(mx_get "$J" "K Bundle" cells.cpu_pct.value)" 97 &&
			near "$(mx_get "$J" "K Bundle" cells.memory_pct.value)" 98 &&
			near "$(mx_get "$J" "K Bundle" cells.network_pct.value)" 90 &&
			near "$(mx_get "$J" "K Bundle" cells.disk_pct.value)" 95 &&
			near "$(mx_get "$J" "K Bundle" cells.boot_kvm_ms.value)" 900; then
			pass matrix/headline-numbers
		else
			fail matrix/headline-numbers "$(mx_get "$J" "K Bundle" cells)"
		fi
		mx_expect matrix/check-columns \
			"$(mx_get "$J" "E Limited" cells.gic.text) $(mx_get "$J" "E Limited" cells.gic.status) $(mx_get "$J" "D Phone" cells.boot_el.text) $(mx_get "$J" "" cells.kvm_mode.text) $(mx_get "$J" "" cells.page_size.value)" \
			"v2 warn EL1 pvm 4096"
		mx_expect matrix/user-mode-network-said \
			"$(mx_get "$J" "F NoTap" cells.network_pct.detail)" \
			"user-mode networking (iperf3-h2g): no tap/vhost-net measurement"

		# The probe's exit latency beside the boot time: from the measurements
		# of the run's probe document; missing (with why, and no note) for
		# the runs whose probe measured none.
		mkdir -p "$mx/exit-in"
		sed 's/"probe":{/"probe":{"measurements":[{"id":"kvm.exit.pio_user","value":10713.5,"unit":"ns","samples":32,"detail":"d"}],/g' \
			"$FIX/x86-pvm-host.json" >"$mx/exit-in/x86.json"
		mx_run exit --in "$mx/exit-in" --out "$mx/out-exit"
		mx_expect matrix/exit-latency "$rc $("$JG" "$mx/out-exit/matrix.json" rows.0.cells.exit_ns.value) $("$JG" "$mx/out-exit/matrix.json" rows.0.cells.exit_ns.text)" \
			"0 10713.5 10714 ns"
		mx_expect matrix/exit-latency-missing "$(mx_get "$J" "M Missing" cells.exit_ns.missing) $(mx_get "$J" "M Missing" cells.notes.text | grep -c 'KVM exit')" \
			"the probe measured no exit latency (no live KVM test in this run's probe) 0"

		# a missing column, and why
		mx_expect matrix/missing-column-json \
			"$(mx_get "$J" "M Missing" cells.memory_pct.value) / $(mx_get "$J" "M Missing" cells.memory_pct.missing)" \
			"null / not measured: kvm did not run it"
		mx_expect matrix/missing-kvm-boot-json "$(mx_get "$J" "C NoKVM" cells.boot_kvm_ms.missing)" \
			"KVM did not boot the guest"
		mrow=$(grep '^| M Missing |' "$mx/out/matrix.md")
		mcol=$(echo "$mrow" | awk -F' [|] ' '{ print $17 }')
		if [ "$mcol" = "—" ] && grep -q "M Missing.*memory: not measured: kvm did not run it" "$mx/out/matrix.md"; then
			pass matrix/missing-column-md
		else
			fail matrix/missing-column-md "column '$mcol' in: $mrow"
		fi
		if grep -o '<tr data-host-key="[0-9a-f]*" class="qualified-with-limits"><td[^>]*>M Missing</td>.*</tr>' \
			"$mx/out/matrix.html" | grep -q '<td class="missing" title="not measured: kvm did not run it" data-missing>—</td>'; then
			pass matrix/missing-column-html
		else
			fail matrix/missing-column-html "no dash with its reason in M Missing's row"
		fi

		# never merged silently
		a0=$(mx_row "$J" "A Qualified" 0)
		a1=$(mx_row "$J" "A Qualified" 1)
		if [ "$a1" != none ] && "$JG" "$J" "rows.$a0.marks" | grep -q '"kind":"conflict"' &&
			"$JG" "$J" "rows.$a1.marks" | grep -q '"kind":"conflict"' &&
			[ "$("$JG" "$J" summary.conflicts)" = 2 ] &&
			[ "$("$JG" "$J" "rows.$a0.host_key")" = "$("$JG" "$J" "rows.$a1.host_key")" ]; then
			pass matrix/conflict-both-rows-marked
		else
			fail matrix/conflict-both-rows-marked "rows $a0 $a1: $("$JG" "$J" "rows.$a0.marks")"
		fi
		mx_expect matrix/guest-image-marked "$(mx_get "$J" "I Image" marks.0.kind)" guest-image
		mx_expect matrix/suite-version-marked "$(mx_get "$J" "J Suite" marks.0.kind)" suite-version
		mx_expect matrix/emulated-marked "$(mx_get "$J" "G Lab" emulated) $(mx_get "$J" "G Lab" marks.0.kind)" \
			"true emulated"
		mx_expect matrix/same-run-one-row "$(mx_get "$J" "" sources.0) $(mx_get "$J" "" sources.1)" \
			"$FIX/x86-pvm-host.db $mx/in/x86-pvm-host.json"
		case $(mx_get "$J" "H Flaky" marks) in
		*'"kind":"newer-run"'*) pass matrix/newer-failed-run-marked ;;
		*) fail matrix/newer-failed-run-marked "$(mx_get "$J" "H Flaky" marks)" ;;
		esac
		mx_run merge --db "$mx/lab-a.db" --db "$mx/lab-b.db" --merge-sources --out "$mx/out-merge"
		mx_expect matrix/merge-sources "$rc $("$JG" "$mx/out-merge/matrix.json" summary.rows 2>/dev/null) $(mx_get "$mx/out-merge/matrix.json" "A Qualified" run.source)" \
			"0 11 $mx/lab-b.db"
		# The emulated ARM64 lab's nested runs (make test-lab) beside this
		# x86 host: four devices, the three lab hosts marked emulated.
		mx_run lab --db "$FIX/x86-pvm-host.db" --db "$FIX/lab-el2-nvhe-gicv2.db" \
			--db "$FIX/lab-el2-vhe-gicv3-smmuv3.db" --db "$FIX/lab-el2-vhe-gicv3-acpi.db" --out "$mx/out-lab"
		LJ=$mx/out-lab/matrix.json
		lab_emulated=0
		for i in 0 1 2 3; do
			[ "$("$JG" "$LJ" "rows.$i.emulated" 2>/dev/null)" = true ] && lab_emulated=$((lab_emulated + 1))
		done
		mx_expect matrix/lab-hosts-beside-x86 \
			"$rc $("$JG" "$LJ" summary.devices 2>/dev/null) $("$JG" "$LJ" summary.conflicts) $lab_emulated $(mx_get "$LJ" "QEMU QEMU Virtual Machine" cells.kvm_mode.text)" \
			"0 4 0 3 vhe"
		# One host's history in pieces (a bundle a night): the runs do not
		# collide, so it is one device, shown with its newest run.
		mkdir -p "$mx/nightly"
		"$KQ" export --db "$FIX/x86-pvm-host.db" --run 1 >"$mx/nightly/night-1.json" &&
			"$KQ" export --db "$FIX/x86-pvm-host.db" --run 2 >"$mx/nightly/night-2.json"
		mx_run nightly --in "$mx/nightly" --out "$mx/out-nightly"
		NJ=$mx/out-nightly/matrix.json
		mx_expect matrix/history-in-pieces-one-row \
			"$rc $("$JG" "$NJ" summary.rows 2>/dev/null) $("$JG" "$NJ" summary.conflicts) $("$JG" "$NJ" rows.0.run.id)" "0 1 0 2"

		# the run shown
		mx_run latest --db "$mx/lab-a.db" --select latest --out "$mx/out-latest"
		mx_expect matrix/select-latest "$rc $(mx_get "$mx/out-latest/matrix.json" "H Flaky" status)" "0 not-qualified"
		mx_run byrun --db "$mx/lab-a.db" --select run:8 --out "$mx/out-run"
		mx_expect matrix/select-run "$rc $("$JG" "$mx/out-run/matrix.json" summary.rows) $(mx_get "$mx/out-run/matrix.json" "H Flaky" run.id)" \
			"0 1 8"
		mx_run norun --db "$mx/lab-a.db" --select run:999 --out "$mx/out-norun"
		if [ $rc -eq 2 ] && grep -q "no input holds a run 999" "$mx/norun.err"; then
			pass matrix/select-missing-run
		else
			fail matrix/select-missing-run "exit $rc: $(cat "$mx/norun.err")"
		fi

		# matrix.md: one table row per device row
		md_rows=$(grep -c '^| .* |$' "$mx/out/matrix.md")
		mx_expect matrix/md-rows "$((md_rows - 2))" 14
		# matrix.csv: header and one line per row, each starting with a host key
		csv_lines=$(wc -l <"$mx/out/matrix.csv")
		csv_keys=$(tail -n +2 "$mx/out/matrix.csv" | grep -c '^[0-9a-f]\{16\},')
		if [ "$csv_lines" = 15 ] && [ "$csv_keys" = 14 ] && head -1 "$mx/out/matrix.csv" | grep -q '^host_key,arch,model,'; then
			pass matrix/csv-rows
		else
			fail matrix/csv-rows "$csv_lines lines, $csv_keys rows with a host key"
		fi
		if grep -q '^[0-9a-f]*,aarch64,B Slow,soc-b,6.1.0-test,qualified-with-limits,' "$mx/out/matrix.csv" &&
			[ "$(printf '\r')" = "$(head -1 "$mx/out/matrix.csv" | tail -c 2 | head -c 1)" ]; then
			pass matrix/csv-fields-crlf
		else
			fail matrix/csv-fields-crlf "$(grep 'B Slow' "$mx/out/matrix.csv" | head -c 200)"
		fi
		# matrix.html: the contract the browser tests rely on
		H=$mx/out/matrix.html
		html_rows=$(grep -o '<tr data-host-key="[0-9a-f]\{16\}"' "$H" | wc -l)
		html_th=$(grep -o '<th data-key="[a-z_]*" data-type="\(number\|text\)"' "$H" | wc -l)
		if [ "$html_rows" = 14 ] && [ "$html_th" = 27 ] && grep -q '<table id="matrix">' "$H" &&
			grep -q '<td class="num" title="median of 3 boots" data-value="900">900 ms</td>' "$H"; then
			pass matrix/html-table
		else
			fail matrix/html-table "$html_rows rows, $html_th headers"
		fi
		# (the one link allowed: an empty icon, so that no /favicon.ico is asked for)
		if sed 's|<link rel="icon" href="data:,">||' "$H" | grep -qiE 'https?:|//[a-z]|src=|href=|url\(|@import|<link|@font-face'; then
			fail matrix/html-self-contained "$(grep -oiE '.{20}(https?:|//[a-z]|src=|href=|url\(|@import|<link|@font-face).{20}' "$H" | head -2)"
		else
			pass matrix/html-self-contained
		fi

		# the stores are left as they were
		if sha256sum -c --quiet "$mx/sha.before" >/dev/null 2>&1 &&
			! ls "$mx"/*.db-wal "$mx"/*.db-shm "$FIX"/*.db-wal "$FIX"/*.db-shm >/dev/null 2>&1; then
			pass matrix/stores-byte-identical
		else
			fail matrix/stores-byte-identical "$(sha256sum -c "$mx/sha.before" 2>&1 | grep -v OK) $(ls "$mx" "$FIX" | grep -- '-wal\|-shm')"
		fi

		# a store in a read-only directory, read by an unprivileged user
		if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
			mkdir -p "$mx/ro" "$mx/ro-out"
			cp "$mx/lab-a.db" "$mx/ro/lab.db"
			chmod 444 "$mx/ro/lab.db"
			chmod 555 "$mx/ro"
			chmod 777 "$mx/ro-out"
			chmod 711 "$tmp" "$mx"
			timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "$KQ" matrix --db "$mx/ro/lab.db" \
				--out "$mx/ro-out" >"$mx/ro.out" 2>"$mx/ro.err"
			rc=$?
			chmod 700 "$tmp"
			chmod 755 "$mx/ro"
			if [ $rc -eq 0 ] && [ "$("$JG" "$mx/ro-out/matrix.json" summary.rows)" = 9 ] &&
				[ "$(ls "$mx/ro")" = lab.db ]; then
				pass matrix/read-only-directory
			else
				fail matrix/read-only-directory "exit $rc: $(head -c 300 "$mx/ro.err")"
			fi
		else
			skip matrix/read-only-directory "needs root and setpriv to read as another user"
		fi

		# refusals
		mx_run none --out "$mx/out-none"
		if [ $rc -eq 2 ] && grep -q "no inputs" "$mx/none.err" && grep -q "^usage: kvmqual matrix" "$mx/none.err"; then
			pass matrix/no-inputs-usage
		else
			fail matrix/no-inputs-usage "exit $rc: $(head -c 200 "$mx/none.err")"
		fi
		mx_run noout --db "$mx/lab-a.db"
		[ $rc -eq 2 ] && pass matrix/no-out-usage || fail matrix/no-out-usage "exit $rc"
		mx_run badselect --db "$mx/lab-a.db" --select newest --out "$mx/o"
		[ $rc -eq 2 ] && pass matrix/bad-select-usage || fail matrix/bad-select-usage "exit $rc"
		if command -v sqlite3 >/dev/null; then
			cp "$mx/lab-b.db" "$mx/newer.db"
			sqlite3 "$mx/newer.db" "PRAGMA user_version = 7" 2>/dev/null
			mx_run newer --db "$mx/newer.db" --out "$mx/out-newer"
			if [ $rc -eq 2 ] && grep -q "$mx/newer.db: schema version 7 is newer than this kvmqual knows (" "$mx/newer.err" &&
				[ ! -e "$mx/out-newer" ]; then
				pass matrix/newer-schema-refused
			else
				fail matrix/newer-schema-refused "exit $rc: $(cat "$mx/newer.err")"
			fi
		else
			skip matrix/newer-schema-refused "no sqlite3 command (Debian: sqlite3)"
		fi
		mx_run missingdb --db "$mx/nothere.db" --out "$mx/o"
		if [ $rc -eq 2 ] && grep -q "nothere.db: No such file" "$mx/missingdb.err" && [ ! -e "$mx/nothere.db" ]; then
			pass matrix/missing-store-not-created
		else
			fail matrix/missing-store-not-created "exit $rc: $(cat "$mx/missingdb.err")"
		fi
		# malformed bundles: each alone in a directory beside a good one
		printf 'this is not JSON\n' >"$mx/bad/not-json.json"
		printf '{"schema":"kvmqual.probe","version":1,"runs":[]}\n' >"$mx/bad/wrong-schema.json"
		sed 's/"page_size":4096/"page_size":"4096"/' "$FIX/x86-pvm-host.json" >"$mx/bad/wrong-types.json"
		head -c 20000 "$FIX/x86-pvm-host.json" >"$mx/bad/truncated.json"
		for bad in "not-json:not valid JSON: error at byte 0" \
			"wrong-schema:schema 'kvmqual.probe' is not a results bundle" \
			"wrong-types:runs[0].host.page_size: expected a number or null, got a string" \
			"truncated:not valid JSON: the document ends early (truncated?)"; do
			bad_name=${bad%%:*}
			says=${bad#*:}
			rm -rf "$mx/badin" && mkdir -p "$mx/badin"
			cp "$mx/in/k.json" "$mx/badin/"
			cp "$mx/bad/$bad_name.json" "$mx/badin/"
			mx_run "bad-$bad_name" --db "$mx/lab-a.db" --in "$mx/badin" --out "$mx/out-bad"
			if [ $rc -eq 2 ] && grep -qF "kvmqual matrix: $mx/badin/$bad_name.json: $says" "$mx/bad-$bad_name.err" &&
				[ ! -e "$mx/out-bad" ]; then
				pass "matrix/malformed-bundle/$bad_name"
			else
				fail "matrix/malformed-bundle/$bad_name" "exit $rc: $(head -c 300 "$mx/bad-$bad_name.err")"
			fi
		done

		# --in URL: the bundles published to a WebDAV collection
		[ -x "$TT/tcp_listen" ] || make --no-print-directory build/tests/tcp_listen >/dev/null 2>&1
		if why=$(tests/tools/nginx.sh available) && [ -x "$TT/tcp_listen" ]; then
			ng=$mx/nginx
			if NGINX_MAX_SECONDS=300 tests/tools/nginx.sh start "$ng" >"$mx/nginx.out" 2>&1; then
				port=$(cat "$ng/port")
				mkdir -p "$ng/www/dav/bundles"
				cp "$mx/in/k.json" "$mx/in/x86-pvm-host.json" "$ng/www/dav/bundles/"
				url="http://127.0.0.1:$port/dav/bundles/"
				mx_run url --in "$url" --out "$mx/out-url"
				if [ $rc -eq 0 ] && [ "$("$JG" "$mx/out-url/matrix.json" summary.rows)" = 2 ] &&
					[ "$(mx_get "$mx/out-url/matrix.json" "K Bundle" run.source)" = "http://127.0.0.1:$port/dav/bundles/k.json" ]; then
					pass matrix/in-url
				else
					fail matrix/in-url "exit $rc: $(head -c 300 "$mx/url.err")"
				fi
				mx_run url-missing --in "http://127.0.0.1:$port/dav/nothing-here/" --out "$mx/out-url2"
				if [ $rc -eq 1 ] && grep -q "127.0.0.1:$port/dav/nothing-here" "$mx/url-missing.err"; then
					pass matrix/in-url-fetch-fails
				else
					fail matrix/in-url-fetch-fails "exit $rc: $(head -c 300 "$mx/url-missing.err")"
				fi
				tests/tools/nginx.sh stop "$ng"
			else
				fail matrix/in-url "nginx did not start: $(tail -3 "$mx/nginx.out")"
			fi
		else
			skip matrix/in-url "${why:-$TT/tcp_listen is not built}"
		fi
	fi
fi
