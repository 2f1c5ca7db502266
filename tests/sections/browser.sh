# browser: the report page and the matrix page in a real browser (Debian's
# chromium, headless, driven over WebDriver: tests/tools/webdriver.sh), both
# opened as files and as published to a local nginx and fetched from it:
# they render (the report's verdict and inline SVG plots of non-zero size),
# the matrix sorts by a clicked numeric column, ascending then descending,
# missing values last, and nothing is fetched from the network (no resource
# entries; a proxy that counts connections sees none, and does see a
# deliberate request at the end).  Sourced by tests/run.sh.

br_dir=$tmp/browser
br_ng=$br_dir/nginx
br_proxy_pid=

br_cleanup() {
	wd_stop 2>/dev/null
	tests/tools/nginx.sh stop "$br_ng" 2>/dev/null
	if [ -n "$br_proxy_pid" ]; then
		kill "$br_proxy_pid" 2>/dev/null
		wait "$br_proxy_pid" 2>/dev/null
	fi
	br_proxy_pid=
}

# What the page fetched, by resource timing (both pages declare an empty
# icon, so not even the server's /favicon.ico is asked for).
br_js_fetched="function br_fetched(){return performance.getEntriesByType('resource').map(function(e){return e.name;});}"

# br_get JSON PATH : one value of a JSON text.
br_get() { printf '%s' "$1" | "$JG" - "$2"; }

# br_report KIND URL : the report page's contract.
br_report() {
	if ! wd_open "$2"; then
		fail "browser/report-renders-$1" "$wd_error"
		return
	fi
	r=$(wd_exec "$br_js_fetched var s=Array.prototype.slice.call(document.querySelectorAll('figure.plot svg'));
		var v=document.getElementById('verdict');
		return {main: document.querySelectorAll('main#report').length,
			verdict: v ? v.textContent.trim().length : -1,
			plots: s.length,
			sized: s.filter(function(e){var b=e.getBoundingClientRect(); return b.width>0 && b.height>0;}).length,
			resources: br_fetched().length, fetched: br_fetched()};") ||
		{ fail "browser/report-renders-$1" "$wd_error"; return; }
	main=$(br_get "$r" main) verdict=$(br_get "$r" verdict) plots=$(br_get "$r" plots) sized=$(br_get "$r" sized)
	want_plots=1
	command -v gnuplot >/dev/null 2>&1 || want_plots=0
	if [ "$main" = 1 ] && [ "$verdict" -gt 0 ] 2>/dev/null && [ "$sized" = "$plots" ] &&
		{ [ $want_plots = 0 ] || [ "$plots" -gt 0 ]; }; then
		pass "browser/report-renders-$1"
	else
		fail "browser/report-renders-$1" "$r"
	fi
	[ "$(br_get "$r" resources)" = 0 ] && pass "browser/report-fetches-nothing-$1" ||
		fail "browser/report-fetches-nothing-$1" "$r"
}

# The column's values in row order (null when missing), its aria-sort, and
# whether they are ordered in direction DIR with missing values last.
br_column() {
	wd_exec "var th=document.querySelector('#matrix th[data-key=$1]');
		var i=th.cellIndex;
		var rows=Array.prototype.slice.call(document.querySelectorAll('#matrix tbody tr'));
		var v=rows.map(function(r){var c=r.cells[i]; var x=c ? c.getAttribute('data-value') : null;
			return x===null || x==='' ? null : Number(x);});
		var ok=true, seenNull=false;
		for (var k=0; k<v.length; k++) {
			if (v[k]===null) { seenNull=true; continue; }
			if (seenNull || isNaN(v[k])) ok=false;
			if (k>0 && v[k-1]!==null && ('$2'==='ascending' ? v[k-1]>v[k] : v[k-1]<v[k])) ok=false;
		}
		var distinct=v.filter(function(x,j){return x!==null && v.indexOf(x)===j;}).length;
		var marked=document.querySelectorAll('#matrix th[aria-sort]').length;
		return {sort: th.getAttribute('aria-sort'), ordered: ok, distinct: distinct, marked: marked,
			missing: v.filter(function(x){return x===null;}).length, values: v};"
}

# br_matrix KIND URL : the matrix page's contract and its sorting.
br_matrix() {
	if ! wd_open "$2"; then
		fail "browser/matrix-renders-$1" "$wd_error"
		return
	fi
	r=$(wd_exec "$br_js_fetched var rows=document.querySelectorAll('#matrix tbody tr');
		return {table: document.querySelectorAll('table#matrix').length,
			heads: document.querySelectorAll('#matrix th[data-key][data-type]').length,
			rows: rows.length,
			keyed: document.querySelectorAll('#matrix tbody tr[data-host-key]').length,
			resources: br_fetched().length, fetched: br_fetched()};") ||
		{ fail "browser/matrix-renders-$1" "$wd_error"; return; }
	if [ "$(br_get "$r" table)" = 1 ] && [ "$(br_get "$r" heads)" -gt 5 ] && [ "$(br_get "$r" rows)" -gt 1 ] &&
		[ "$(br_get "$r" keyed)" = "$(br_get "$r" rows)" ]; then
		pass "browser/matrix-renders-$1"
	else
		fail "browser/matrix-renders-$1" "$r"
	fi
	# Click the numeric column of the boot time: ascending, missing last.
	if wd_click '#matrix th[data-key=boot_kvm_ms]' && c=$(br_column boot_kvm_ms ascending); then
		if [ "$(br_get "$c" sort)" = ascending ] && [ "$(br_get "$c" ordered)" = true ] &&
			[ "$(br_get "$c" distinct)" -ge "$br_min_distinct" ] && [ "$(br_get "$c" missing)" -ge 1 ]; then
			pass "browser/matrix-sorts-ascending-$1"
		else
			fail "browser/matrix-sorts-ascending-$1" "$c"
		fi
	else
		fail "browser/matrix-sorts-ascending-$1" "$wd_error"
	fi
	# Again: descending, missing values still last.
	if wd_click '#matrix th[data-key=boot_kvm_ms]' && c=$(br_column boot_kvm_ms descending); then
		if [ "$(br_get "$c" sort)" = descending ] && [ "$(br_get "$c" ordered)" = true ] &&
			[ "$(br_get "$c" distinct)" -ge "$br_min_distinct" ]; then
			pass "browser/matrix-sorts-descending-$1"
		else
			fail "browser/matrix-sorts-descending-$1" "$c"
		fi
	else
		fail "browser/matrix-sorts-descending-$1" "$wd_error"
	fi
	# Another column: it alone carries aria-sort.
	if wd_click '#matrix th[data-key=cpu_pct]' && c=$(br_column cpu_pct ascending); then
		if [ "$(br_get "$c" sort)" = ascending ] && [ "$(br_get "$c" marked)" = 1 ] && [ "$(br_get "$c" ordered)" = true ]; then
			pass "browser/matrix-sorts-other-column-$1"
		else
			fail "browser/matrix-sorts-other-column-$1" "$c"
		fi
	else
		fail "browser/matrix-sorts-other-column-$1" "$wd_error"
	fi
	[ "$(br_get "$r" resources)" = 0 ] && pass "browser/matrix-fetches-nothing-$1" ||
		fail "browser/matrix-fetches-nothing-$1" "$r"
}

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
	skip browser/all "chromium or chromedriver is not installed (Debian: chromium chromium-driver)"
elif [ ! -x "$TT/tcp_listen" ]; then
	fail browser/tools "$TT/tcp_listen is not built (make test builds it)"
else
	. tests/tools/webdriver.sh
	. tests/tools/pages.sh
	mkdir -p "$br_dir"
	trap 'br_cleanup; rm -rf "$tmp"' EXIT
	trap 'br_cleanup; rm -rf "$tmp"; exit 130' INT TERM
	if ! pages_prepare; then
		fail browser/pages "$pages_error"
	else
		# Generated stores give the boot column several values and a gap.
		if [ -f "$pages_dir/g1.db" ]; then br_min_distinct=3; else br_min_distinct=1; fi
		# Every connection chromium makes to anything but 127.0.0.1 lands here.
		"$TT/tcp_listen" count "$br_dir/proxy.port" "$br_dir/proxy.log" 900 &
		br_proxy_pid=$!
		i=0
		while [ ! -s "$br_dir/proxy.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		br_http=
		if ! br_why=$(tests/tools/nginx.sh available); then
			skip browser/served-by-nginx "$br_why"
		elif ! tests/tools/nginx.sh start "$br_ng" >"$br_dir/nginx.out" 2>&1; then
			fail browser/served-by-nginx "$(tr '\n' ' ' <"$br_dir/nginx.out")"
		else
			br_http=http://127.0.0.1:$(cat "$br_ng/port")/dav/pages
			if timeout 60 "$KQ" publish --to "$br_http/report/" "$pages_dir/report" >"$br_dir/pub.out" 2>&1 &&
				timeout 60 "$KQ" publish --to "$br_http/matrix/" "$pages_dir/matrix" >>"$br_dir/pub.out" 2>&1; then
				pass browser/served-by-nginx
			else
				fail browser/served-by-nginx "$(tail -3 "$br_dir/pub.out" | tr '\n' ' ')"
				br_http=
			fi
		fi
		if [ ! -s "$br_dir/proxy.port" ]; then
			fail browser/proxy-listener "the counting listener did not start"
		elif ! wd_start "$br_dir/wd" "$(cat "$br_dir/proxy.port")"; then
			fail browser/chromium-starts "$wd_error $(tail -3 "$br_dir/wd/chromedriver.log" 2>/dev/null | tr '\n' ' ')"
		else
			pass browser/chromium-starts
			br_report file "file://$pages_dir/report/index.html"
			br_matrix file "file://$pages_dir/matrix/matrix.html"
			if [ -n "$br_http" ]; then
				br_report http "$br_http/report/index.html"
				br_matrix http "$br_http/matrix/matrix.html"
			fi
			br_conns=$(grep -c '^connection' "$br_dir/proxy.log")
			[ "$br_conns" = 0 ] && pass browser/no-connection-off-the-machine ||
				fail browser/no-connection-off-the-machine "$(head -3 "$br_dir/proxy.log" | tr '\n' ' ')"
			# The listener does see what chromium sends outside: a page that
			# reaches for the network would have been counted above.
			wd_open "http://kvmqual-canary.invalid/" >/dev/null 2>&1
			i=0
			while ! grep -q 'kvmqual-canary' "$br_dir/proxy.log" && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
			grep -q 'kvmqual-canary' "$br_dir/proxy.log" && pass browser/proxy-counts-outside-requests ||
				fail browser/proxy-counts-outside-requests "the canary request did not reach the listener"
		fi
	fi
	br_cleanup
	trap 'rm -rf "$tmp"' EXIT INT TERM
fi
