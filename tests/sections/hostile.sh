# shellcheck shell=sh
# hostile: the suite tried the way a hostile user, a broken disk or a
# misbehaving server would try it (issue 13; docs/threat-model.md maps each
# promise to its test here).  Each test was seen to fail on the code before
# its fix.  Everything happens in the section's own temporary directory:
# FIFOs, device nodes made with mknod there (never /dev's), tiny tmpfs
# mounts for full disks (skipped with the reason when not root), crafted
# databases and bundles, and loopback servers of its own
# (tests/tools/http_hostile.c: a dripping, a redirecting and a flooding
# WebDAV server; tests/tools/tcp_listen.c).  About 40 s.
# Sourced by tests/run.sh (pass, fail, skip, $tmp, $KQ, $PROBE, $JG).

if want hostile; then
	ho=$tmp/hostile
	mkdir -p "$ho"
	ho_mounts=
	ho_pids=
	ho_cleanup() {
		for p in $ho_pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
		ho_pids=
		for m in $ho_mounts; do umount "$m" 2>/dev/null; done
		ho_mounts=
	}
	trap 'ho_cleanup; rm -rf "$tmp"' EXIT
	trap 'ho_cleanup; rm -rf "$tmp"; exit 130' INT TERM
	ho_err() { head -c 400 "$1" | tr '\n' ' '; }
	# ho_full NAME: a 64 KiB tmpfs at $ho/NAME, filled; fails when not root.
	ho_full() {
		mkdir -p "$ho/$1" && mount -t tmpfs -o size=64k,nr_inodes=64 tmpfs "$ho/$1" 2>/dev/null || return 1
		ho_mounts="$ho_mounts $ho/$1"
		dd if=/dev/zero of="$ho/$1/fill" bs=4k 2>/dev/null
		return 0
	}
	# ho_secs CMD...: runs CMD, sets $rc and $took (whole seconds).
	ho_secs() {
		ho_t0=$(date +%s)
		"$@"
		rc=$?
		took=$(($(date +%s) - ho_t0))
	}

	# ---- 1: a run with no samples (killed early, cut off by a full disk) ----
	cp tests/fixtures/results/x86-pvm-host.db "$ho/nosamples.db"
	sqlite3 "$ho/nosamples.db" 'DELETE FROM samples; DELETE FROM speedups; DELETE FROM verdicts; DELETE FROM boot_samples'
	timeout 120 "$KQ" report --db "$ho/nosamples.db" --out "$ho/nosamples" >"$ho/nosamples.out" 2>"$ho/nosamples.err"
	rc=$?
	if [ $rc -le 1 ] && [ -s "$ho/nosamples/index.html" ] && ! ls -d "$ho"/nosamples.tmp.* >/dev/null 2>&1; then
		pass hostile/report-run-without-samples
	else
		fail hostile/report-run-without-samples "exit $rc (136 is SIGFPE): $(ho_err "$ho/nosamples.err")"
	fi

	# ---- 4: nothing from the database reaches gnuplot as a command ----
	# A --db path with a line break and a gnuplot command in it.
	ho_evil="$ho/db
system(\"touch $ho/pwned-path\")
x"
	mkdir -p "$ho_evil"
	cp tests/fixtures/results/x86-pvm-host.db "$ho_evil/k.db"
	timeout 120 "$KQ" report --db "$ho_evil/k.db" --out "$ho/evilpath" >"$ho/evilpath.out" 2>"$ho/evilpath.err"
	rc=$?
	if [ ! -e "$ho/pwned-path" ] && [ $rc -eq 0 ] && [ -s "$ho/evilpath/plots/bars.svg" ]; then
		pass hostile/report-db-path-not-a-gnuplot-command
	elif ! command -v gnuplot >/dev/null 2>&1; then
		skip hostile/report-db-path-not-a-gnuplot-command "no gnuplot (gnuplot-nox)"
	else
		fail hostile/report-db-path-not-a-gnuplot-command "exit $rc, $([ -e "$ho/pwned-path" ] && echo 'the command ran') $(ho_err "$ho/evilpath.err")"
	fi
	# Stored strings of a crafted database: quotes of both kinds, line
	# breaks, backquotes, macros, a trailing backslash, in every name that
	# reaches a plot (workload, metric, unit, the host).
	cp tests/fixtures/results/x86-pvm-host.db "$ho/strings.db"
	ho_q="q'\"\`touch $ho/pwned-bq\`@x"
	ho_nl="n'
system('touch $ho/pwned-nl')
#"
	ho_bs='b\'
	sqlite3 "$ho/strings.db" "UPDATE samples SET workload = workload || '$(printf %s "$ho_q" | sed "s/'/''/g")',
		metric = metric || '$(printf %s "$ho_nl" | sed "s/'/''/g")', unit = unit || '$ho_bs';
		UPDATE speedups SET workload = workload || '$(printf %s "$ho_q" | sed "s/'/''/g")',
		metric = metric || '$(printf %s "$ho_nl" | sed "s/'/''/g")';
		UPDATE hosts SET model = '$(printf %s "$ho_nl" | sed "s/'/''/g")'" 2>"$ho/strings.sql.err"
	timeout 120 "$KQ" report --db "$ho/strings.db" --out "$ho/strings" >"$ho/strings.out" 2>"$ho/strings.err"
	rc=$?
	if [ ! -e "$ho/pwned-bq" ] && [ ! -e "$ho/pwned-nl" ] && [ $rc -eq 0 ] && grep -q "system('touch" "$ho/strings/plots/bars.svg"; then
		pass hostile/report-stored-strings-are-data
	elif ! command -v gnuplot >/dev/null 2>&1; then
		skip hostile/report-stored-strings-are-data "no gnuplot (gnuplot-nox)"
	else
		fail hostile/report-stored-strings-are-data "exit $rc, $(ls "$ho" | grep pwned | tr '\n' ' ') $(ho_err "$ho/strings.err") $(ho_err "$ho/strings.sql.err")"
	fi

	# ---- 6: inputs that would block: FIFOs, opened without waiting ----
	ho_fifo_case() { # NAME EXPECTED-TEXT CMD...: refused within 20 s, exit 2, naming it
		name=$1 want=$2
		shift 2
		ho_secs timeout 20 "$@" >"$ho/$name.out" 2>"$ho/$name.err"
		if [ $rc -eq 2 ] && grep -q -- "$want" "$ho/$name.err"; then
			pass "hostile/$name"
		else
			fail "hostile/$name" "exit $rc after ${took}s (124: it hung): $(ho_err "$ho/$name.err")"
		fi
	}
	mkfifo "$ho/bundle.fifo.json"
	ho_fifo_case matrix-in-fifo-file "bundle.fifo.json is a FIFO" "$KQ" matrix --in "$ho/bundle.fifo.json" --out "$ho/m-fifo"
	mkdir -p "$ho/fifodir" && cp tests/fixtures/results/x86-pvm-host.json "$ho/fifodir/a.json" && mkfifo "$ho/fifodir/x.json"
	ho_fifo_case matrix-in-dir-fifo-json "x.json is a FIFO" "$KQ" matrix --in "$ho/fifodir" --out "$ho/m-fifodir"
	# 2, for the matrix's own names: a FIFO or a link where an output goes is
	# refused before anything is written, never replaced; the set there stays.
	mkdir -p "$ho/m-planted" && echo old >"$ho/m-planted/matrix.json" && mkfifo "$ho/m-planted/matrix.csv" &&
		echo foreign >"$ho/foreign.txt" && ln -s "$ho/foreign.txt" "$ho/m-planted/matrix.html"
	timeout 20 "$KQ" matrix --in tests/fixtures/results/x86-pvm-host.json --out "$ho/m-planted" \
		>"$ho/m-planted.out" 2>"$ho/m-planted.err"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'matrix.csv is a FIFO, not a matrix file' "$ho/m-planted.err" &&
		[ -p "$ho/m-planted/matrix.csv" ] && [ -L "$ho/m-planted/matrix.html" ] &&
		[ "$(cat "$ho/foreign.txt")" = foreign ] && [ "$(cat "$ho/m-planted/matrix.json")" = old ]; then
		pass hostile/matrix-out-non-regular-refused
	else
		fail hostile/matrix-out-non-regular-refused "exit $rc: $(ho_err "$ho/m-planted.err"); $(ls -l "$ho/m-planted" | tr '\n' ' ')"
	fi
	mkdir -p "$ho/tpl-fifo" && mkfifo "$ho/tpl-fifo/report.css"
	ho_fifo_case report-templates-fifo-css "report.css is a FIFO" "$KQ" report --db tests/fixtures/results/x86-pvm-host.db \
		--templates "$ho/tpl-fifo" --out "$ho/r-fifo"
	mkfifo "$ho/snapshot.fifo"
	ho_fifo_case probe-sysroot-fifo "is a FIFO" "$PROBE" --sysroot "$ho/snapshot.fifo"
	# A FIFO dmesg.txt in a snapshot directory: never opened for reading.
	rm -rf "$ho/snap-fifo" && cp -r tests/fixtures/snapshots/pi5-like "$ho/snap-fifo" && rm -f "$ho/snap-fifo/dmesg.txt" &&
		mkfifo "$ho/snap-fifo/dmesg.txt"
	ho_secs timeout 20 "$PROBE" --sysroot "$ho/snap-fifo" --json >"$ho/snap-fifo.json" 2>"$ho/snap-fifo.err"
	if [ $rc -le 1 ] && grep -q '"no dmesg.txt in the snapshot' "$ho/snap-fifo.json"; then
		pass hostile/probe-sysroot-fifo-dmesg
	else
		fail hostile/probe-sysroot-fifo-dmesg "exit $rc after ${took}s: $(ho_err "$ho/snap-fifo.err")"
	fi

	# ---- 16: a snapshot's device node is never read ----
	rm -rf "$ho/snap-dev" && cp -r tests/fixtures/snapshots/pi5-like "$ho/snap-dev" && rm -f "$ho/snap-dev/dmesg.txt"
	if mknod "$ho/snap-dev/dmesg.txt" c 1 5 2>/dev/null; then # a /dev/zero of its own
		ho_secs timeout 60 "$PROBE" --sysroot "$ho/snap-dev" --json >"$ho/snap-dev.json" 2>"$ho/snap-dev.err"
		# Read, it gives 16 MiB of zeros and "File too large".
		if [ $rc -le 1 ] && grep -q '"no dmesg.txt in the snapshot' "$ho/snap-dev.json" &&
			! grep -q 'File too large' "$ho/snap-dev.json"; then
			pass hostile/probe-sysroot-device-not-read
		else
			fail hostile/probe-sysroot-device-not-read "exit $rc: $(grep -m1 'dmesg.txt in' "$ho/snap-dev.json")"
		fi
	else
		skip hostile/probe-sysroot-device-not-read "mknod needs root (CAP_MKNOD)"
	fi

	# ---- 26: an empty tarball, under UBSan with halt_on_error ----
	if [ -x "$TT/unit" ]; then
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$TT/unit" tar_empty_archive >"$ho/ub.out" 2>&1
		rc=$?
		if [ $rc -eq 0 ] && grep -q '^PASS unit/tar_empty_archive' "$ho/ub.out"; then
			pass hostile/empty-tarball-no-undefined-behaviour
		else
			fail hostile/empty-tarball-no-undefined-behaviour "exit $rc: $(grep -m1 'runtime error' "$ho/ub.out")"
		fi
	else
		fail hostile/empty-tarball-no-undefined-behaviour "$TT/unit is not built"
	fi

	# ---- 9 and 18: full disks ----
	if ho_full full; then
		# probe --capture over a good snapshot on a full disk keeps it.
		printf 'previous good snapshot\n' >"$ho/full/snap.tar.gz" 2>/dev/null ||
			{ rm -f "$ho/full/fill"; printf 'previous good snapshot\n' >"$ho/full/snap.tar.gz"; dd if=/dev/zero of="$ho/full/fill" bs=4k 2>/dev/null; }
		cp "$ho/full/snap.tar.gz" "$ho/snap.before"
		"$PROBE" --capture "$ho/full/snap.tar.gz" --no-smoke >/dev/null 2>"$ho/capture.err"
		rc=$?
		if [ $rc -eq 2 ] && cmp -s "$ho/snap.before" "$ho/full/snap.tar.gz" && grep -q 'snap.tar.gz' "$ho/capture.err" &&
			[ -z "$(ls -A "$ho/full" | grep -v -e '^fill$' -e '^snap.tar.gz$')" ]; then
			pass hostile/probe-capture-full-disk-keeps-old
		else
			fail hostile/probe-capture-full-disk-keeps-old "exit $rc, size now $(wc -c <"$ho/full/snap.tar.gz"), left: $(ls -A "$ho/full" | tr '\n' ' ') $(ho_err "$ho/capture.err")"
		fi
		"$PROBE" --json --no-smoke --output "$ho/full/probe.json" >/dev/null 2>"$ho/output.err"
		rc=$?
		[ $rc -eq 2 ] && grep -q 'probe.json' "$ho/output.err" && grep -q 'No space' "$ho/output.err" &&
			pass hostile/probe-output-full-disk || fail hostile/probe-output-full-disk "exit $rc: $(ho_err "$ho/output.err")"
		"$PROBE" --json --no-smoke >"$ho/full/stdout.json" 2>"$ho/stdout.err"
		rc=$?
		[ $rc -eq 2 ] && grep -q 'No space' "$ho/stdout.err" &&
			pass hostile/probe-stdout-full-disk || fail hostile/probe-stdout-full-disk "exit $rc: $(ho_err "$ho/stdout.err")"
	else
		skip hostile/probe-capture-full-disk-keeps-old "a tmpfs mount needs root"
		skip hostile/probe-output-full-disk "a tmpfs mount needs root"
		skip hostile/probe-stdout-full-disk "a tmpfs mount needs root"
	fi
	# A capture onto a device node writes into it, never replaces it.
	if mknod "$ho/null" c 1 3 2>/dev/null; then
		"$PROBE" --capture "$ho/null" --no-smoke >/dev/null 2>"$ho/capnull.err"
		rc=$?
		[ $rc -le 1 ] && [ -c "$ho/null" ] && pass hostile/probe-capture-device-not-replaced ||
			fail hostile/probe-capture-device-not-replaced "exit $rc, $(ls -l "$ho/null") $(ho_err "$ho/capnull.err")"
	else
		skip hostile/probe-capture-device-not-replaced "mknod needs root (CAP_MKNOD)"
	fi

	# ---- 10 and 12: what a source holds never breaks the matrix's outputs ----
	# A crafted store: Markdown links and images, raw HTML, autolinks, a
	# mail address and bytes that are not UTF-8 in the model and the run's
	# reason; an infinite verdict value.
	ho_model="![x](http://evil.invalid/i.png) [link](https://evil.invalid/) <img src=http://evil.invalid/x> www.evil.invalid mail@evil.invalid $(printf '\377\376')"
	cp tests/fixtures/results/x86-pvm-host.db "$ho/crafted.db"
	ho_key=$("$TT/host_key" x86_64 "$ho_model" "AMD EPYC" 6.18.44-fc-v657 4096 2>/dev/null)
	ho_sq() { printf %s "$1" | sed "s/'/''/g"; }
	sqlite3 "$ho/crafted.db" "UPDATE hosts SET model = '$(ho_sq "$ho_model")', host_key = '$ho_key';
		UPDATE runs SET reason = '\`code\` | ~~s~~ [r](http://evil.invalid/r) $(printf '\303\050')';
		UPDATE verdicts SET value = 1e999 WHERE target = 'cpu'" 2>"$ho/crafted.err"
	timeout 60 "$KQ" matrix --db "$ho/crafted.db" --out "$ho/m-crafted" >"$ho/m-crafted.out" 2>>"$ho/crafted.err"
	rc=$?
	ho_bad=
	for f in matrix.json matrix.csv matrix.md matrix.html; do
		iconv -f UTF-8 -t UTF-8 "$ho/m-crafted/$f" >/dev/null 2>&1 || ho_bad="$ho_bad $f"
	done
	[ $rc -eq 0 ] && [ -z "$ho_bad" ] && pass hostile/matrix-outputs-valid-utf8 ||
		fail hostile/matrix-outputs-valid-utf8 "exit $rc, not UTF-8:$ho_bad $(ho_err "$ho/crafted.err")"
	# RFC 8259: it parses, holds no bare inf/nan, and says which value was
	# not finite.
	if [ $rc -eq 0 ] && "$JG" "$ho/m-crafted/matrix.json" schema >/dev/null 2>&1 &&
		! grep -Eiq '(:|\[|,)[[:space:]]*-?(inf|nan)' "$ho/m-crafted/matrix.json" &&
		grep -q '"value_nonfinite":[[:space:]]*"inf"' "$ho/m-crafted/matrix.json"; then
		pass hostile/matrix-json-nonfinite-flagged
	else
		fail hostile/matrix-json-nonfinite-flagged "exit $rc: $(grep -m2 -i 'inf' "$ho/m-crafted/matrix.json" | tr '\n' ' ')"
	fi
	# matrix.md: with every backslash escape taken out, nothing of the
	# submitter's is a link, an image, raw HTML or an autolink.
	ho_md=$(sed 's/\\.//g' "$ho/m-crafted/matrix.md" | grep -aE '\]\(|<[a-zA-Z/!]|https?://|www\.|@evil' | head -3)
	[ $rc -eq 0 ] && [ -z "$ho_md" ] && grep -q 'evil' "$ho/m-crafted/matrix.md" && pass hostile/matrix-md-no-markup-from-sources ||
		fail hostile/matrix-md-no-markup-from-sources "exit $rc: $ho_md"

	# The same store through kvmqual export (the bundle a host sends): valid
	# UTF-8, valid JSON, an infinite sample flagged.
	cp "$ho/crafted.db" "$ho/crafted-export.db"
	sqlite3 "$ho/crafted-export.db" "UPDATE samples SET value = 1e999 WHERE id = (SELECT min(id) FROM samples)" 2>>"$ho/crafted.err"
	timeout 60 "$KQ" export --db "$ho/crafted-export.db" --format json >"$ho/export.json" 2>"$ho/export-crafted.err"
	rc=$?
	if [ $rc -eq 0 ] && iconv -f UTF-8 -t UTF-8 "$ho/export.json" >/dev/null 2>&1 &&
		"$JG" "$ho/export.json" schema >/dev/null 2>&1 && ! grep -Eiq '(:|\[|,)[[:space:]]*-?(inf|nan)\b' "$ho/export.json" &&
		grep -q '"value_nonfinite":"inf"' "$ho/export.json"; then
		pass hostile/export-json-valid-utf8-nonfinite-flagged
	else
		fail hostile/export-json-valid-utf8-nonfinite-flagged "exit $rc: $(grep -o -m1 '"value":[^,]*' "$ho/export.json" | head -1) $(ho_err "$ho/export-crafted.err")"
	fi

	# ---- 13: a bundle that claims a real device's identity ----
	# The device: the x86 PVM store (runs 1 and 2). Each spoof is run 2's
	# export with a new id and start (so it collides with nothing) and
	# better numbers; the provenance differs in one way each.
	"$KQ" export --db tests/fixtures/results/x86-pvm-host.db --run 2 >"$ho/run2.json" 2>"$ho/export.err"
	ho_spoof() { # NAME SED-EXPRESSION...
		sp_name=$1
		shift
		sed -e 's/"id":2,"started_at":"2026-11-24T08:06:04.004Z"/"id":7,"started_at":"2026-11-25T08:06:04.004Z"/' \
			-e 's/"total_ms":1[0-9]*\.[0-9]*/"total_ms":900/g' "$@" "$ho/run2.json" >"$ho/spoof-$sp_name.json"
	}
	ho_spoof copied -e 's/"generated_at":"[^"]*"/&/'
	ho_spoof hardware -e 's/"pid":5591,"boot_id":"[^"]*"/"pid":4242,"boot_id":"00000000-1111-2222-3333-444444444444"/' \
		-e 's/"page_size":4096,"cpus":2,/"page_size":4096,"cpus":8,/'
	ho_spoof noprobe -e 's/"pid":5591,"boot_id":"[^"]*"/"pid":4242,"boot_id":"00000000-1111-2222-3333-444444444444"/' \
		-e 's/^"probe":{.*},\("provenance":.*\)$/"probe":null,\1/'
	ho_spoof otherhost -e 's/"soc":"AMD EPYC","kernel_release":"6.18.44-fc-v657","page_size":4096,"cpus"/"soc":"Other SoC","kernel_release":"6.18.44-fc-v657","page_size":4096,"cpus"/'
	# ho_mx NAME WANT-ROWS WANT-TEXT ARGS...: the matrix of ARGS has that
	# many rows and a provenance mark saying WANT-TEXT.
	ho_mx() {
		mxn=$1 want_rows=$2 want_text=$3
		shift 3
		timeout 60 "$KQ" matrix "$@" --out "$ho/mx-$mxn" >"$ho/mx-$mxn.out" 2>"$ho/mx-$mxn.err"
		rc=$?
		mxj=$ho/mx-$mxn/matrix.json
		rows=$("$JG" "$mxj" summary.rows 2>/dev/null)
		if [ $rc -eq 0 ] && [ "$rows" = "$want_rows" ] && grep -q '"kind":[[:space:]]*"provenance"' "$mxj" &&
			grep -q "$want_text" "$mxj"; then
			pass "hostile/$mxn"
		else
			fail "hostile/$mxn" "exit $rc, $rows rows: $(grep -o '"detail":[^,]*provenance[^"]*"\|kept apart[^"]*' "$mxj" 2>/dev/null | head -2) $(ho_err "$ho/mx-$mxn.err")"
		fi
	}
	ho_fx=tests/fixtures/results/x86-pvm-host.db
	ho_mx matrix-spoof-copied-run-kept-apart 2 'boot id and process' --db "$ho_fx" --in "$ho/spoof-copied.json"
	ho_mx matrix-spoof-other-hardware-kept-apart 2 'other hardware' --db "$ho_fx" --in "$ho/spoof-hardware.json"
	ho_mx matrix-spoof-without-probe-kept-apart 2 'no probe document' --db "$ho_fx" --in "$ho/spoof-noprobe.json"
	ho_mx matrix-probe-names-other-host-marked 1 'names another host' --in "$ho/spoof-otherhost.json"
	# The real pieces of one history stay one row, unmarked: the store, its
	# own export of run 2, and each night's export.
	"$KQ" export --db "$ho_fx" --run 1 >"$ho/night1.json" 2>>"$ho/export.err"
	timeout 60 "$KQ" matrix --db "$ho_fx" --in "$ho/run2.json" --in "$ho/night1.json" --out "$ho/mx-own" >"$ho/mx-own.out" 2>"$ho/mx-own.err"
	rc=$?
	[ $rc -eq 0 ] && [ "$("$JG" "$ho/mx-own/matrix.json" summary.rows)" = 1 ] && ! grep -q '"provenance"' "$ho/mx-own/matrix.json" &&
		pass hostile/matrix-own-history-one-row ||
		fail hostile/matrix-own-history-one-row "exit $rc: $(ho_err "$ho/mx-own.err") $(grep -o 'kept apart[^"]*' "$ho/mx-own/matrix.json" | head -2)"

	# ---- 15: --templates: what an edited page and CSS may hold ----
	# ho_tpl NAME FILE TEXT: the report with FILE of --templates set to TEXT
	# (the others built in); $rc.
	ho_tpl() {
		rm -rf "$ho/tpl-$1" && mkdir -p "$ho/tpl-$1"
		printf '%s\n' "$3" >"$ho/tpl-$1/$2"
		timeout 60 "$KQ" report --db tests/fixtures/results/x86-pvm-host.db --templates "$ho/tpl-$1" \
			--out "$ho/r-tpl-$1" >"$ho/tpl-$1.out" 2>"$ho/tpl-$1.err"
		rc=$?
	}
	ho_css_bad=
	ho_n=0
	# Each of these fetches something in some browser, or could.
	while IFS= read -r ho_css; do
		ho_n=$((ho_n + 1))
		ho_tpl "css$ho_n" report.css "body { color: red; } $ho_css"
		if [ $rc -ne 2 ] || ! grep -q 'report.css.*not allowed' "$ho/tpl-css$ho_n.err" || [ -e "$ho/r-tpl-css$ho_n" ]; then
			ho_css_bad="$ho_css_bad [$ho_css: exit $rc]"
		fi
	done <<'EOF_CSS'
body { background: url( http://evil.invalid/a.png ); }
body { background: URL(http://evil.invalid/a.png); }
body { background: u\72l(http://evil.invalid/a.png); }
body { background: \75 rl(http://evil.invalid/a.png); }
body { background-image: image-set("http://evil.invalid/a.png" 1x); }
body { background-image: -webkit-image-set(url(//evil.invalid/a.png) 1x); }
@import "http://evil.invalid/x.css";
@IMPORT url(//evil.invalid/x.css);
@font-face { font-family: x; src: local(x); }
body { behavior: expression(alert(1)); }
div { -moz-binding: url(http://evil.invalid/x.xml#x); }
</style><img src=http://evil.invalid/x><style>
body { content: "</style><script>alert(1)</script>"; }
body { background: image(http://evil.invalid/a.png); }
body { background: cross-fade(url(a.png), url(b.png), 50%); }
@namespace url(http://evil.invalid/ns);
EOF_CSS
	[ -z "$ho_css_bad" ] && pass hostile/templates-css-allow-list || fail hostile/templates-css-allow-list "accepted:$ho_css_bad"
	# What a designer does is still taken: colours, a media query, grid,
	# gradients, strings, custom properties.
	ho_tpl cssok report.css "$(cat reports/templates/report.css)
@media (max-width: 600px) { main#report { padding: 0.5em; } }
:root { --kvm: rgb(20 90 200 / 80%); }
.grid { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); }
header { background: linear-gradient(90deg, #fff, var(--kvm)); }
h1::after { content: \" – report\"; }"
	[ $rc -eq 0 ] && grep -q 'minmax(0, 1fr)' "$ho/r-tpl-cssok/index.html" && pass hostile/templates-css-designs-taken ||
		fail hostile/templates-css-designs-taken "exit $rc: $(ho_err "$ho/tpl-cssok.err")"
	ho_page_bad=
	ho_n=0
	while IFS= read -r ho_el; do
		ho_n=$((ho_n + 1))
		ho_tpl "page$ho_n" page.html "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>@TITLE@</title><style>@STYLE@</style></head><body>$ho_el @BODY@</body></html>"
		if [ $rc -ne 2 ] || ! grep -q 'page.html.*not allowed' "$ho/tpl-page$ho_n.err"; then
			ho_page_bad="$ho_page_bad [$ho_el: exit $rc]"
		fi
	done <<'EOF_PAGE'
<img	src=http://evil.invalid/x>
<img/src=http://evil.invalid/x>
<IMG SRC=http://evil.invalid/x>
<meta http-equiv="refresh" content="0;url=http://evil.invalid/">
<iframe srcdoc="&lt;img src=http://evil.invalid/x&gt;"></iframe>
<object data=http://evil.invalid/x></object>
<base href=http://evil.invalid/>
<svg><image href=http://evil.invalid/x /></svg>
<video poster=http://evil.invalid/x></video>
<div style="background:url(http://evil.invalid/x)">x</div>
<div onclick="fetch('http://evil.invalid/')">x</div>
<link rel="stylesheet" href="http://evil.invalid/x.css">
<script>fetch('http://evil.invalid/')</script>
<form action=http://evil.invalid/><input type=image src=x></form>
EOF_PAGE
	[ -z "$ho_page_bad" ] && pass hostile/templates-page-allow-list || fail hostile/templates-page-allow-list "accepted:$ho_page_bad"

	# ---- servers that drip, flood, redirect (6, 11, 14) ----
	# ho_server NAME MODE ARGS...: http_hostile in the background; $ho_port.
	ho_server() {
		hs_name=$1
		shift
		rm -f "$ho/$hs_name.port"
		"$TT/http_hostile" "$ho/$hs_name.port" "$ho/$hs_name.log" 300 "$@" &
		ho_pids="$ho_pids $!"
		hs_i=0
		while [ ! -s "$ho/$hs_name.port" ] && [ $hs_i -lt 100 ]; do sleep 0.1; hs_i=$((hs_i + 1)); done
		ho_port=$(cat "$ho/$hs_name.port" 2>/dev/null)
	}
	# ho_sent NAME: bytes the server sent over all its connections.
	ho_sent() { awk '$1 == "sent" { s += $3 } END { printf "%d\n", s }' "$ho/$1.log" 2>/dev/null; }
	ho_secret="pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	ho_leak() { grep -l -e "$ho_secret" "$@" 2>/dev/null | tr '\n' ' '; }
	printf '{"a":1}\n' >"$ho/a.json"
	if [ ! -x "$TT/http_hostile" ] || [ ! -x "$TT/tcp_listen" ]; then
		fail hostile/servers "$TT/http_hostile and tcp_listen are not built (make test builds them)"
	else
		# A server that drips (200 bytes a second, headers done in half a second):
		# cut off by the minimum rate,
		# not kept waiting by a stall timer that every byte resets.
		ho_server drip200 drip 200
		ho_secs timeout 60 "$KQ" publish --timeout 2 --retries 0 --to "http://127.0.0.1:$ho_port/dav/" "$ho/a.json" \
			>"$ho/pub-drip.out" 2>"$ho/pub-drip.err"
		[ $rc -eq 1 ] && [ $took -le 30 ] && grep -q 'too slow' "$ho/pub-drip.err" && pass hostile/publish-drip-cut-off ||
			fail hostile/publish-drip-cut-off "exit $rc after ${took}s (124: it hung): $(ho_err "$ho/pub-drip.err")"
		ho_secs timeout 60 "$KQ" matrix --timeout 2 --retries 0 --in "http://127.0.0.1:$ho_port/bundles/" --out "$ho/m-drip" \
			>"$ho/m-drip.out" 2>"$ho/m-drip.err"
		[ $rc -eq 1 ] && [ $took -le 30 ] && grep -q 'too slow' "$ho/m-drip.err" && pass hostile/matrix-url-drip-cut-off ||
			fail hostile/matrix-url-drip-cut-off "exit $rc after ${took}s: $(ho_err "$ho/m-drip.err")"
		# Fast enough for the minimum rate, and never done: the deadline.
		# (publish keeps at most 4 KiB of an answer: 1000 bytes a second.)
		ho_server drip-1k drip 1000
		ho_secs timeout 60 "$KQ" publish --min-rate 100 --deadline 3 --retries 0 --to "http://127.0.0.1:$ho_port/dav/" "$ho/a.json" \
			>"$ho/pub-dl.out" 2>"$ho/pub-dl.err"
		[ $rc -eq 1 ] && [ $took -le 30 ] && grep -q 'timed out' "$ho/pub-dl.err" && pass hostile/publish-deadline ||
			fail hostile/publish-deadline "exit $rc after ${took}s: $(ho_err "$ho/pub-dl.err")"
		ho_server drip-fast drip 20000
		ho_secs timeout 60 "$KQ" matrix --deadline 3 --retries 0 --in "http://127.0.0.1:$ho_port/bundles/" --out "$ho/m-dl" \
			>"$ho/m-dl.out" 2>"$ho/m-dl.err"
		[ $rc -eq 1 ] && [ $took -le 30 ] && grep -q 'timed out' "$ho/m-dl.err" && pass hostile/matrix-url-deadline ||
			fail hostile/matrix-url-deadline "exit $rc after ${took}s: $(ho_err "$ho/m-dl.err")"

		# 14: three members declared 2 GiB each: refused before any body
		# arrives, by the default cap.
		# (What the kernel's socket buffers took before the client hung up
		# is counted as sent: a few MiB of slack.)  Nothing is left in
		# $TMPDIR.
		ho_server huge flood 3 2147483648
		mkdir -p "$ho/mtmp"
		ho_secs env TMPDIR="$ho/mtmp" timeout 120 "$KQ" matrix --retries 0 --in "http://127.0.0.1:$ho_port/bundles/" \
			--out "$ho/m-huge" >"$ho/m-huge.out" 2>"$ho/m-huge.err"
		ho_n=$(ho_sent huge)
		[ $rc -eq 1 ] && [ "$ho_n" -lt 16777216 ] && grep -q -- '--max-download' "$ho/m-huge.err" && [ -z "$(ls -A "$ho/mtmp")" ] &&
			pass hostile/matrix-url-download-cap ||
			fail hostile/matrix-url-download-cap "exit $rc after ${took}s, $ho_n bytes sent: $(ho_err "$ho/m-huge.err")"
		# Members without a length and without end: stopped at the cap asked for.
		ho_server endless flood 3 0
		ho_secs timeout 120 "$KQ" matrix --retries 0 --max-download 1M --in "http://127.0.0.1:$ho_port/bundles/" \
			--out "$ho/m-endless" >"$ho/m-endless.out" 2>"$ho/m-endless.err"
		ho_n=$(ho_sent endless)
		[ $rc -eq 1 ] && [ "$ho_n" -lt 16777216 ] && grep -q -- '--max-download' "$ho/m-endless.err" && [ ! -d "$ho/m-endless" ] &&
			pass hostile/matrix-url-download-cap-flag ||
			fail hostile/matrix-url-download-cap-flag "exit $rc after ${took}s, $ho_n bytes sent: $(ho_err "$ho/m-endless.err")"

		# 11: credentials in a URL, whatever the scheme's case: refused,
		# never printed, nothing sent.
		"$TT/tcp_listen" count "$ho/nobody.port" "$ho/nobody.log" 300 &
		ho_pids="$ho_pids $!"
		hs_i=0
		while [ ! -s "$ho/nobody.port" ] && [ $hs_i -lt 100 ]; do sleep 0.1; hs_i=$((hs_i + 1)); done
		ho_np=$(cat "$ho/nobody.port")
		for ho_scheme in HTTP http HttpS; do
			timeout 60 "$KQ" publish --to "$ho_scheme://lab:$ho_secret@127.0.0.1:$ho_np/dav/" "$ho/a.json" \
				>"$ho/pub-ui-$ho_scheme.out" 2>"$ho/pub-ui-$ho_scheme.err"
			rc=$?
			[ $rc -eq 2 ] && grep -q 'netrc' "$ho/pub-ui-$ho_scheme.err" && [ -z "$(ho_leak "$ho/pub-ui-$ho_scheme".*)" ] &&
				pass "hostile/publish-userinfo-refused-$ho_scheme" ||
				fail "hostile/publish-userinfo-refused-$ho_scheme" "exit $rc: $(ho_err "$ho/pub-ui-$ho_scheme.err")"
			timeout 60 "$KQ" matrix --in "$ho_scheme://lab:$ho_secret@127.0.0.1:$ho_np/bundles/" --out "$ho/m-ui" \
				>"$ho/m-ui-$ho_scheme.out" 2>"$ho/m-ui-$ho_scheme.err"
			rc=$?
			[ $rc -eq 2 ] && grep -q 'netrc' "$ho/m-ui-$ho_scheme.err" && [ -z "$(ho_leak "$ho/m-ui-$ho_scheme".*)" ] &&
				pass "hostile/matrix-in-userinfo-refused-$ho_scheme" ||
				fail "hostile/matrix-in-userinfo-refused-$ho_scheme" "exit $rc: $(ho_err "$ho/m-ui-$ho_scheme.err")"
		done
		timeout 60 "$KQ" publish --to "ftp://lab:$ho_secret@127.0.0.1:$ho_np/" "$ho/a.json" >"$ho/pub-ftp.out" 2>"$ho/pub-ftp.err"
		rc=$?
		[ $rc -eq 2 ] && [ -z "$(ho_leak "$ho"/pub-ftp.*)" ] && pass hostile/publish-other-scheme-not-echoed ||
			fail hostile/publish-other-scheme-not-echoed "exit $rc: $(ho_err "$ho/pub-ftp.err")"
		# A redirect to a URL with credentials: not followed, not printed.
		ho_server redirect redirect "http://lab:$ho_secret@127.0.0.1:$ho_np/stolen/"
		timeout 60 "$KQ" publish --retries 0 --to "http://127.0.0.1:$ho_port/dav/" "$ho/a.json" >"$ho/pub-redir.out" 2>"$ho/pub-redir.err"
		rc=$?
		timeout 60 "$KQ" matrix --retries 0 --in "http://127.0.0.1:$ho_port/bundles/" --out "$ho/m-redir" >"$ho/m-redir.out" 2>"$ho/m-redir.err"
		rc2=$?
		if [ $rc -eq 1 ] && [ $rc2 -eq 1 ] && grep -q 'not followed' "$ho/pub-redir.err" && grep -q 'not followed' "$ho/m-redir.err" &&
			[ -z "$(ho_leak "$ho"/pub-redir.* "$ho"/m-redir.*)" ]; then
			pass hostile/redirect-not-followed
		else
			fail hostile/redirect-not-followed "exit $rc, $rc2: $(ho_err "$ho/pub-redir.err") $(ho_err "$ho/m-redir.err")"
		fi
		[ "$(grep -c '^connection' "$ho/nobody.log")" -eq 0 ] && pass hostile/credentials-never-sent ||
			fail hostile/credentials-never-sent "$(head -3 "$ho/nobody.log" | tr '\n' ' ')"
		# The nightly script: KVMQUAL_PUBLISH_URL with user:password@ is
		# refused before the night's run, and not printed.
		KVMQUAL="$KQ" KVMQUAL_DB="$ho/nightly.db" KVMQUAL_NIGHTLY_DIR="$ho/nightly" KVMQUAL_ITERATIONS=1 \
			KVMQUAL_RUN_ARGS="--accel tcg --guest-arch aarch64 --net user --workloads sysbench-cpu-1t" \
			KVMQUAL_PUBLISH_URL="https://lab:$ho_secret@127.0.0.1:$ho_np/nightly" \
			timeout 900 compare/nightly.sh >"$ho/nightly.out" 2>"$ho/nightly.err"
		rc=$?
		[ $rc -eq 2 ] && [ -z "$(ho_leak "$ho"/nightly.out "$ho"/nightly.err)" ] && grep -q 'KVMQUAL_PUBLISH_URL' "$ho/nightly.err" &&
			[ ! -e "$ho/nightly.db" ] && pass hostile/nightly-publish-url-credentials ||
			fail hostile/nightly-publish-url-credentials "exit $rc, leaked in: $(ho_leak "$ho"/nightly.out "$ho"/nightly.err) $(ho_err "$ho/nightly.err")"
	fi

	# ---- kvmqual remote: a hostile device ----
	# The device is a directory here reached through a local shell instead
	# of ssh (tests/tools/device_shell.sh; the kit is really copied,
	# checked, unpacked and run there).  Its kit is one of the test's own
	# whose entry script misbehaves as $dev/mode says; its programs in
	# $dev/bin come before the system's.
	dev=$ho/device
	mkdir -p "$dev/bin" "$ho/kit/kvmqual-kit"
	"$KQ" export --db tests/fixtures/results/x86-pvm-host.db --run 2 >"$dev/bundle.json" 2>"$ho/remote-export.err"
	cat >"$ho/kit/kvmqual-kit/run" <<'RUN'
#!/bin/sh
# A hostile device's kit: start makes the job, follow ends it as ../mode says.
cmd=$1
shift
while [ $# -gt 0 ]; do
	case $1 in --dir) dir=$2; shift 2 ;; --job) job=$2; shift 2 ;; --) break ;; *) shift ;; esac
done
mode=$(cat "$dir/../mode")
case $cmd in
start)
	mkdir "$dir/$job" || { echo busy; exit 3; }
	if [ "$mode" = endless ]; then ln -s /dev/zero "$dir/$job/bundle.json"; else cp "$dir/../bundle.json" "$dir/$job/"; fi
	echo started
	;;
follow)
	echo "kvmqual-kit: the run of a hostile device ($mode)"
	# An exit status no process can have, and no true one after it.
	[ "$mode" = status256 ] && { echo '@@kvmqual-job-status 256'; kill -9 $PPID; }
	exit 0
	;;
esac
RUN
	ho_kit() { # KIT-HASH: packs $ho/kit into $ho/kit.tar.gz, its MANIFEST first
		printf 'format 1\narch %s\nversion 0.1.0\nbytes 1\nkit-hash %s\n' "$(uname -m)" "$1" \
			>"$ho/kit/kvmqual-kit/MANIFEST"
		tar --format=ustar -czf "$ho/kit.tar.gz" -C "$ho/kit" kvmqual-kit/MANIFEST kvmqual-kit/run
	}
	ho_kit "$(printf 'kit of a hostile device' | sha256sum | cut -d' ' -f1)"
	# ho_remote MODE NAME [ARGS...]: kvmqual remote against the device.
	ho_remote() {
		echo "$1" >"$dev/mode"
		rm -rf "$dev/kq/job"
		mkdir -p "$ho/remote-$2"
		hr_name=$2
		shift 2
		KVMQUAL_SSH="sh $(pwd)/tests/tools/device_shell.sh $dev"
		export KVMQUAL_SSH
		ho_secs timeout 300 "$KQ" remote --via ssh://device --dir "$dev/kq" --kit "$ho/kit.tar.gz" \
			--db "$ho/remote-$hr_name.db" --out "$ho/remote-$hr_name" "$@" \
			>"$ho/remote-$hr_name.out" 2>"$ho/remote-$hr_name.err"
		unset KVMQUAL_SSH
	}
	# The job's status line is an exit status or the run failed: 256 was
	# taken by atoi and became kvmqual remote's exit status, 0.
	ho_remote status256 status
	if [ $rc -eq 2 ] && grep -q "a status that is not an exit status ('@@kvmqual-job-status 256')" "$ho/remote-status.err"; then
		pass hostile/remote-job-status-not-an-exit-status
	else
		fail hostile/remote-job-status-not-an-exit-status "exit $rc: $(ho_err "$ho/remote-status.err")"
	fi
	# A file planted at the old temporary's name (bundle.json.part, a
	# link to another file) is not followed: that file stays as it was.
	echo "not kvmqual's" >"$ho/victim"
	mkdir -p "$ho/remote-part"
	ln -s "$ho/victim" "$ho/remote-part/bundle.json.part"
	ho_remote normal part
	if [ $rc -eq 0 ] && [ "$(cat "$ho/victim")" = "not kvmqual's" ] && [ -L "$ho/remote-part/bundle.json.part" ] &&
		"$JG" "$ho/remote-part/bundle.json" schema >/dev/null 2>&1; then
		pass hostile/remote-fetch-follows-no-planted-link
	else
		fail hostile/remote-fetch-follows-no-planted-link "exit $rc, victim now: $(head -c 80 "$ho/victim") $(ho_err "$ho/remote-part.err")"
	fi
	# A bundle without end (the device's file is /dev/zero): cut off at
	# --max-download, nothing kept (it filled the disk here).
	ho_remote endless endless --max-download 1M
	if [ $rc -eq 2 ] && [ $took -lt 120 ] && grep -q 'sent more than 1048576 bytes and was cut off' "$ho/remote-endless.err" &&
		[ -z "$(ls -A "$ho/remote-endless")" ]; then
		pass hostile/remote-download-cap
	else
		fail hostile/remote-download-cap "exit $rc after $took s, left: $(ls -A "$ho/remote-endless" | tr '\n' ' ') $(ho_err "$ho/remote-endless.err")"
	fi
	# A device whose df never answers (a stale network mount): the look
	# around is cut off at --timeout, not waited on for ever.
	printf '#!/bin/sh\necho $$ >"%s/df.pid"\nexec sleep 600\n' "$dev" >"$dev/bin/df"
	chmod +x "$dev/bin/df"
	ho_remote normal stall --timeout 5
	kill "$(cat "$dev/df.pid" 2>/dev/null)" 2>/dev/null
	rm -f "$dev/bin/df"
	if [ $rc -eq 2 ] && [ $took -lt 60 ] && grep -q 'looking at the device on ssh://device did not end within 5 s' "$ho/remote-stall.err"; then
		pass hostile/remote-device-stall-cut-off
	else
		fail hostile/remote-device-stall-cut-off "exit $rc after $took s: $(ho_err "$ho/remote-stall.err")"
	fi
	# A kit whose MANIFEST's kit-hash is a command: it went into the shell
	# command that checks the copy on the device, and ran there.
	ho_kit '$(touch pwned)aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
	rm -rf "$dev/kq"
	ho_remote normal kithash
	if [ $rc -eq 2 ] && [ ! -e "$dev/kq/pwned" ] && grep -q 'kit-hash of 64 hex digits' "$ho/remote-kithash.err"; then
		pass hostile/remote-kit-hash-not-a-command
	else
		fail hostile/remote-kit-hash-not-a-command "exit $rc, $([ -e "$dev/kq/pwned" ] && echo 'the command ran on the device'): $(ho_err "$ho/remote-kithash.err")"
	fi

	ho_cleanup
	trap 'rm -rf "$tmp"' EXIT INT TERM
fi
