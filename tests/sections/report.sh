# report: kvmqual report on a database made by two short real runs (aarch64
# guest under TCG), and on this host's KVM failure where KVM is PVM: the
# files, the verdict, the probe's findings with their hints, the CPU's
# vulnerabilities as the host and the guest see them (and their round trip
# through export and import), numbers that match the export, well-formed SVG and real PNG, the history plot; no
# gnuplot, a failing and a hanging gnuplot; an unknown run, a missing
# database, a file that is not SQLite; the output directory replaced whole
# or not at all.  About a minute (the runs); sourced by tests/run.sh.

if want report; then
	rep=$tmp/report
	rdb=$rep/kvmqual.db
	mkdir -p "$rep"
	# report_run NAME ARGS...: kvmqual report with a deadline; output in
	# $rep/NAME.out and .err, exit status in $rrc.
	report_run() {
		rr_name=$1
		shift
		timeout 120 "$KQ" report "$@" >"$rep/$rr_name.out" 2>"$rep/$rr_name.err"
		rrc=$?
	}
	# html_escape: text as report_html writes it.
	html_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' -e "s/'/\&#39;/g"; }

	runs_ok=1
	for i in 1 2; do
		timeout 600 "$KQ" run --guest-arch aarch64 --accel tcg --workloads sysbench-cpu-1t,stream --db "$rdb" \
			>"$rep/run$i.out" 2>&1
		r=$?
		[ $r -le 1 ] || { runs_ok=0; fail report/real-runs "run $i: exit $r: $(tail -c 300 "$rep/run$i.out")"; }
	done
	[ $runs_ok = 1 ] && pass report/real-runs

	if [ $runs_ok = 1 ]; then
		out=$rep/out
		report_run main --db "$rdb" --out "$out"
		missing=""
		for f in index.html report.md export.json .kvmqual-report; do
			[ -s "$out/$f" ] || missing="$missing $f"
		done
		for p in bars boot pct history; do
			for ext in svg png dat gp; do
				[ -s "$out/plots/$p.$ext" ] || missing="$missing plots/$p.$ext"
			done
		done
		if [ $rrc -eq 0 ] && [ -z "$missing" ]; then pass report/files; else
			fail report/files "exit $rrc, missing:$missing $(head -c 300 "$rep/main.err")"; fi
		# The probe's measurements (exit and interrupt latencies) sit beside
		# the boot time: one row each, in the page and in the Markdown, as
		# many as the run's probe document has (on a host with live KVM).
		nmeas=$(sqlite3 "$rdb" "SELECT coalesce(json_array_length(probe_json, '\$.measurements'), 0) FROM runs ORDER BY id DESC LIMIT 1" 2>&1)
		nhtml=$(grep -c '<tr class="probe-measurement"><td>probe</td><td>kvm\.' "$out/index.html")
		nmd=$(grep -c '^| probe | kvm\.' "$out/report.md")
		if [ "$nhtml" = "$nmeas" ] && [ "$nmd" = "$nmeas" ]; then
			pass "report/probe-measurements ($nmeas)"
		else
			fail report/probe-measurements "probe document: $nmeas, page: $nhtml, Markdown: $nmd"
		fi
		# The CPU's vulnerabilities: the real run stored the guest's own view
		# (read through the agent after its first TCG boot), and the page
		# and report.md show it beside the host's, one row per name either
		# lists, each guest text in the guest's column.
		"$KQ" export --db "$rdb" --run 2 --format json >"$rep/vulns.json"
		gv_names=$(sqlite3 "$rdb" "SELECT count(*) FROM guest_vulnerabilities g, json_each(g.vulnerabilities)
			WHERE g.run_id = 2 AND g.accel = 'tcg'" 2>&1)
		gv_union=$(sqlite3 "$rdb" "SELECT count(*) FROM (SELECT j.key FROM guest_vulnerabilities g,
			json_each(g.vulnerabilities) j WHERE g.run_id = 2 UNION SELECT d.key FROM runs r,
			json_each(r.probe_json, '\$.checks') c, json_each(c.value, '\$.data') d
			WHERE r.id = 2 AND json_extract(c.value, '\$.id') = 'cpu.vulnerabilities')" 2>&1)
		sed -n '/<section id="vulnerabilities">/,/<\/section>/p' "$out/index.html" >"$rep/vulns.html"
		gv_rows=$(grep -c '^<tr><td>' "$rep/vulns.html")
		gv_md_rows=$(($(sed -n '/^## CPU vulnerabilities/,/^## /p' "$out/report.md" | grep -c '^| ') - 2))
		gv_missing=""
		sqlite3 -separator '	' "$rdb" "SELECT j.key, j.value FROM guest_vulnerabilities g, json_each(g.vulnerabilities) j
			WHERE g.run_id = 2 AND g.accel = 'tcg'" >"$rep/vulns.tsv"
		while IFS='	' read -r name text; do
			esc=$(printf '%s' "$text" | html_escape)
			grep -F "<tr><td>$name</td>" "$rep/vulns.html" | grep -qF "data-state=\"" &&
				grep -F "<tr><td>$name</td>" "$rep/vulns.html" | grep -qF ">$esc" || gv_missing="$gv_missing $name"
		done <"$rep/vulns.tsv"
		if [ "$("$JG" "$rep/vulns.json" runs.0.guest_vulnerabilities.0.accel)" = tcg ] &&
			[ "$("$JG" "$rep/vulns.json" runs.0.guest_vulnerabilities.0.status)" = known ] &&
			[ "$gv_names" -gt 0 ] 2>/dev/null && [ "$gv_rows" = "$gv_union" ] && [ "$gv_md_rows" = "$gv_union" ] &&
			grep -q '<th class="tcg">guest under TCG</th>' "$rep/vulns.html" && [ -z "$gv_missing" ] &&
			grep -q '^| vulnerability | host | guest under TCG |$' "$out/report.md"; then
			pass "report/cpu-vulnerabilities-host-and-guest ($gv_names in the guest, $gv_rows rows)"
		else
			fail report/cpu-vulnerabilities-host-and-guest "guest view: $("$JG" "$rep/vulns.json" runs.0.guest_vulnerabilities.0 | head -c 300); names $gv_names, union $gv_union, page rows $gv_rows, Markdown rows $gv_md_rows, not shown:$gv_missing"
		fi
		# ... and the view goes through export -> import -> export whole.
		"$KQ" import --db "$rep/reimported.db" "$rep/vulns.json" >/dev/null 2>"$rep/reimport.err" &&
			"$KQ" export --db "$rep/reimported.db" --format json >"$rep/vulns2.json" 2>>"$rep/reimport.err"
		if out_rt=$(/usr/bin/python3 tests/tools/bundle_same.py "$rep/vulns.json" "$rep/vulns2.json" --from "$rep/vulns.json" 2>&1) &&
			[ "$("$JG" "$rep/vulns2.json" runs.0.guest_vulnerabilities.0.status)" = known ]; then
			pass report/cpu-vulnerabilities-round-trip
		else
			fail report/cpu-vulnerabilities-round-trip "$(head -c 300 "$rep/reimport.err") $(printf '%s' "$out_rt" | head -c 400)"
		fi

		if ls -d "$rep"/out.tmp.* "$rep"/out.old.* >/dev/null 2>&1; then
			fail report/no-temporary-left "$(ls -d "$rep"/out.*)"
		else
			pass report/no-temporary-left
		fi

		# --run latest is the default: the second run.
		report_run latest --db "$rdb" --run latest --out "$rep/latest"
		if [ "$("$JG" "$out/export.json" runs.0.id)" = 2 ] && [ "$("$JG" "$rep/latest/export.json" runs.0.id)" = 2 ] &&
			cmp -s "$out/report.md" "$rep/latest/report.md"; then
			pass report/latest-is-default
		else
			fail report/latest-is-default "ids $("$JG" "$out/export.json" runs.0.id), $("$JG" "$rep/latest/export.json" runs.0.id)"
		fi

		# The verdict, in the page and in report.md alike; TCG only here, so
		# KVM is missing (not zero) and the host not qualified.
		status=$(sed -n 's/.*<section id="verdict" class="verdict \([a-z-]*\)".*/\1/p' "$out/index.html")
		case $status in
		qualified) title="Qualified" ;;
		qualified-with-limits) title="Qualified with limits" ;;
		not-qualified) title="Not qualified" ;;
		*) title="?" ;;
		esac
		if [ "$status" = not-qualified ] && grep -q "^\*\*Verdict: $title\*\* (\`$status\`)" "$out/report.md" &&
			grep -q '<main id="report">' "$out/index.html"; then
			pass report/verdict
		else
			fail report/verdict "page '$status', md: $(grep Verdict "$out/report.md")"
		fi
		if grep -q 'id="kvm-missing"' "$out/index.html" && grep -q '<td class="num missing"' "$out/index.html" &&
			grep -q '\*missing\*' "$out/report.md"; then
			pass report/kvm-missing-not-zero
		else
			fail report/kvm-missing-not-zero "no 'missing' KVM cells"
		fi

		# Every warning and failure of the probe, with its hint, comes
		# before the numbers.
		"$KQ" export --db "$rdb" --run 2 --format json >"$rep/export2.json"
		numbers_line=$(grep -n '<section id="numbers">' "$out/index.html" | cut -d: -f1)
		bad="" n=0 checked=0
		while st=$("$JG" "$rep/export2.json" runs.0.checks.$n.status); do
			case $st in
			warn | WARN | fail | FAIL)
				hint=$("$JG" "$rep/export2.json" runs.0.checks.$n.hint)
				if [ "$hint" != null ]; then
					esc=$(printf '%s' "$hint" | html_escape)
					line=$(grep -nF "<p class=\"hint\">$esc</p>" "$out/index.html" | head -1 | cut -d: -f1)
					if [ -z "$line" ] || [ "$line" -gt "$numbers_line" ]; then bad="$bad $n"; fi
					checked=$((checked + 1))
				fi
				;;
			esac
			n=$((n + 1))
		done
		if [ $checked -gt 0 ] && [ -z "$bad" ]; then pass report/findings-with-hints; else
			fail report/findings-with-hints "checked $checked, not shown before the numbers: checks$bad"; fi

		# Numbers straight from the export (CSV: the same shortest form).
		"$KQ" export --db "$rdb" --run 2 --format csv >"$rep/export2.csv"
		tcg=$(awk -F, '$5 == "tcg" && $6 == "sysbench-cpu-1t" { print $9; exit }' "$rep/export2.csv")
		native=$(awk -F, '$5 == "native" && $6 == "stream" && $7 == "triad_mbps" { print $9; exit }' "$rep/export2.csv")
		if [ -n "$tcg" ] && [ -n "$native" ] && grep -q "data-value=\"$tcg\"" "$out/index.html" &&
			grep -q "data-value=\"$native\"" "$out/index.html"; then
			pass report/numbers-from-export
		else
			fail report/numbers-from-export "tcg '$tcg', native '$native' not in the page"
		fi

		# Plots: well-formed SVG files, real PNGs, each SVG inlined once in
		# a <figure class="plot">, nothing on the page fetched from anywhere.
		if command -v xmllint >/dev/null 2>&1; then
			if xmllint --noout "$out"/plots/*.svg 2>"$rep/xmllint.err"; then pass report/svg-well-formed; else
				fail report/svg-well-formed "$(head -c 300 "$rep/xmllint.err")"; fi
		else
			skip report/svg-well-formed "xmllint missing (Debian package libxml2-utils)"
		fi
		notpng=""
		for f in "$out"/plots/*.png; do
			[ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || notpng="$notpng $f"
		done
		if [ -z "$notpng" ]; then pass report/png-signature; else fail report/png-signature "$notpng"; fi
		figures=$(grep -c '<figure class="plot"' "$out/index.html")
		svgs=$(grep -c '^<svg' "$out/index.html")
		if [ "$figures" = 4 ] && [ "$svgs" = 4 ] && ! sed 's|<link rel="icon" href="data:,">||' "$out/index.html" | grep -qiE '<script|<link|src=|@import|@font-face|https?://'; then
			pass report/self-contained-page
		else
			fail report/self-contained-page "$figures figures, $svgs svgs; $(grep -oiE '<script|<link|src=|@import|@font-face|https?://[^ ]*' "$out/index.html" | head -3)"
		fi
		if grep -q '!\[.*\](plots/bars.png)' "$out/report.md" && grep -q '(plots/history.png)' "$out/report.md"; then
			pass report/markdown-plots
		else
			fail report/markdown-plots "$(grep -c png "$out/report.md") png references"
		fi
		# The history: both runs, one block per headline metric.
		if [ "$(grep -c '^[0-9]' "$out/plots/history.dat")" -ge 4 ] && grep -q 'History: 2 runs' "$out/index.html"; then
			pass report/history
		else
			fail report/history "$(head -c 300 "$out/plots/history.dat")"
		fi
		# The scripts left beside the data remake the plots.
		if (cd "$out/plots" && timeout 60 gnuplot -e 'fmt="svg"' boot.gp) 2>"$rep/remake.err" &&
			[ -s "$out/plots/boot.svg" ]; then
			pass report/scripts-remake-plots
		else
			fail report/scripts-remake-plots "$(head -c 300 "$rep/remake.err")"
		fi

		# An earlier run: its own numbers, no history (nothing before it).
		report_run first --db "$rdb" --run 1 --out "$rep/first"
		if [ $rrc -eq 0 ] && [ "$("$JG" "$rep/first/export.json" runs.0.id)" = 1 ] &&
			[ ! -e "$rep/first/plots/history.svg" ] && grep -q 'class="no-history"' "$rep/first/index.html"; then
			pass report/run-by-id
		else
			fail report/run-by-id "exit $rrc: $(head -c 300 "$rep/first.err")"
		fi

		# No gnuplot in PATH: the report without plots, saying so; exit 0.
		mkdir -p "$rep/nobin"
		timeout 120 env PATH="$rep/nobin" "$(pwd)/$KQ" report --db "$rdb" --out "$rep/noplot" >"$rep/noplot.out" 2>"$rep/noplot.err"
		nrc=$?
		if [ $nrc -eq 0 ] && grep -q 'id="no-plots"' "$rep/noplot/index.html" && grep -q '^No plots: gnuplot was not found' "$rep/noplot/report.md" &&
			! ls "$rep/noplot/plots/"*.svg >/dev/null 2>&1 && [ -s "$rep/noplot/plots/bars.gp" ] && [ -s "$rep/noplot/plots/bars.dat" ] &&
			grep -q "gnuplot not found" "$rep/noplot.err"; then
			pass report/no-gnuplot
		else
			fail report/no-gnuplot "exit $nrc: $(head -c 300 "$rep/noplot.err")"
		fi

		# gnuplot failing on one plot and hanging on another (edited
		# templates): the error is in the page, the other plots are made,
		# nothing waits past the deadline; exit 1.
		mkdir -p "$rep/tpl"
		printf 'plot nonsense(\n' >"$rep/tpl/bars.gp"
		{ echo 'system("sleep 59.7")'; cat reports/templates/pct.gp; } >"$rep/tpl/pct.gp"
		start=$(date +%s)
		report_run badplot --db "$rdb" --out "$rep/badplot" --templates "$rep/tpl" --plot-timeout 3
		took=$(($(date +%s) - start))
		if [ $rrc -eq 1 ] && [ $took -lt 30 ] && grep -q 'id="plot-bars"' "$rep/badplot/index.html" &&
			grep -q 'invalid expression' "$rep/badplot/index.html" && grep -q 'did not finish within 3 s' "$rep/badplot/index.html" &&
			[ -s "$rep/badplot/plots/boot.svg" ] && grep -q 'id="plot-boot"' "$rep/badplot/index.html" &&
			grep -q 'plot bars not drawn' "$rep/badplot.err"; then
			pass report/gnuplot-fails
		else
			fail report/gnuplot-fails "exit $rrc after ${took}s: $(head -c 400 "$rep/badplot.err")"
		fi
		# Killed is not gone yet: give the kernel a bounded moment.
		i=0
		while pgrep -fx "sleep 59.7" >/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		if pgrep -fx "sleep 59.7" >/dev/null; then
			fail report/hanging-gnuplot-killed "the template's sleep 59.7 survived gnuplot's deadline"
		else
			pass report/hanging-gnuplot-killed
		fi

		# Errors: nothing written, the earlier report left as it was.
		sum_before=$(cat "$out/index.html" "$out/report.md" | cksum)
		report_run badrun --db "$rdb" --run 99 --out "$out"
		if [ $rrc -eq 2 ] && grep -q "no run 99" "$rep/badrun.err" && [ "$(cat "$out/index.html" "$out/report.md" | cksum)" = "$sum_before" ] &&
			! ls -d "$rep"/out.tmp.* >/dev/null 2>&1; then
			pass report/unknown-run
		else
			fail report/unknown-run "exit $rrc: $(cat "$rep/badrun.err")"
		fi
		report_run badarg --db "$rdb" --run first --out "$rep/x"
		if [ $rrc -eq 2 ] && grep -q "'latest', not 'first'" "$rep/badarg.err" && [ ! -e "$rep/x" ]; then
			pass report/bad-run-argument
		else
			fail report/bad-run-argument "exit $rrc: $(cat "$rep/badarg.err")"
		fi
		report_run nodb --db "$rep/none.db" --out "$rep/x"
		if [ $rrc -eq 2 ] && grep -q "none.db: No such file" "$rep/nodb.err" && [ ! -e "$rep/none.db" ] && [ ! -e "$rep/x" ]; then
			pass report/missing-database
		else
			fail report/missing-database "exit $rrc: $(cat "$rep/nodb.err")"
		fi
		printf 'this is not a database, just text\n%.0s' $(seq 1 200) >"$rep/text.db"
		report_run notdb --db "$rep/text.db" --out "$rep/x"
		if [ $rrc -eq 2 ] && grep -q "not a SQLite database" "$rep/notdb.err" && [ ! -e "$rep/x" ]; then
			pass report/not-sqlite
		else
			fail report/not-sqlite "exit $rrc: $(cat "$rep/notdb.err")"
		fi
		: >"$rep/empty.db"
		report_run emptydb --db "$rep/empty.db" --out "$rep/x"
		[ $rrc -eq 2 ] && [ ! -s "$rep/empty.db" ] && pass report/empty-database || fail report/empty-database "exit $rrc: $(cat "$rep/emptydb.err")"
		report_run noout --db "$rdb"
		[ $rrc -eq 2 ] && grep -q -- "--out DIR is required" "$rep/noout.err" && pass report/out-required ||
			fail report/out-required "exit $rrc"

		# The output directory: a directory that is not a report is left
		# alone; a report is replaced whole (a file put in it is gone).
		mkdir -p "$rep/mine"
		echo precious >"$rep/mine/notes.txt"
		report_run mine --db "$rdb" --out "$rep/mine"
		if [ $rrc -eq 2 ] && grep -q "is not a kvmqual report" "$rep/mine.err" && [ "$(cat "$rep/mine/notes.txt")" = precious ] &&
			[ ! -e "$rep/mine/index.html" ]; then
			pass report/foreign-directory-kept
		else
			fail report/foreign-directory-kept "exit $rrc: $(cat "$rep/mine.err")"
		fi
		echo stale >"$out/stale.txt"
		report_run again --db "$rdb" --out "$out/"
		if [ $rrc -eq 0 ] && [ ! -e "$out/stale.txt" ] && [ -s "$out/index.html" ] && ! ls -d "$rep"/out.* >/dev/null 2>&1; then
			pass report/replaced-whole
		else
			fail report/replaced-whole "exit $rrc: $(ls -A "$out" "$rep" | tr '\n' ' ')"
		fi
	fi

	# This host's own KVM failure (PVM cannot boot a stock guest): the
	# report shows KVM as missing with the run's reason, not zeros.
	if [ -d /sys/module/kvm_pvm ] && [ "$(uname -m)" = x86_64 ] && [ -e /dev/kvm ]; then
		timeout 600 "$KQ" run --guest-arch x86_64 --accel kvm,tcg --workloads sysbench-cpu-1t --db "$rep/pvm.db" \
			>"$rep/pvm-run.out" 2>&1
		report_run pvm --db "$rep/pvm.db" --out "$rep/pvm"
		if [ $rrc -eq 0 ] && grep -q 'class="verdict not-qualified"' "$rep/pvm/index.html" &&
			grep -A1 'id="kvm-missing"' "$rep/pvm/index.html" | grep -q 'kvm: the guest did not boot' &&
			grep -q '<td class="num missing"' "$rep/pvm/index.html" && grep -q 'pvm' "$rep/pvm/report.md"; then
			pass report/pvm-kvm-failure-shown
		else
			fail report/pvm-kvm-failure-shown "exit $rrc: $(head -c 300 "$rep/pvm.err") $(grep -A1 'kvm-missing' "$rep/pvm/index.html" | head -c 300)"
		fi
	else
		skip report/pvm-kvm-failure-shown "this host's KVM is not PVM"
	fi
fi
