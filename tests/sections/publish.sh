# publish: kvmqual publish and the fetch behind kvmqual matrix --in URL,
# against a real nginx with its WebDAV modules on 127.0.0.1
# (tests/tools/nginx.sh): a report and a matrix published and fetched back
# byte-identical, PUT to a temporary name then MOVE, no temporaries left,
# credentials from .netrc or the environment and never printed, a URL with
# a password refused, retries on 503, connection refused and a stalled
# server in bounded time, TLS verified (--cacert, --insecure), the fetch of
# a collection including a hostile listing.  Sourced by tests/run.sh.

pub_dir=$tmp/publish
pub_ng=$pub_dir/nginx
pub_stall_pid=

pub_cleanup() {
	tests/tools/nginx.sh stop "$pub_ng" 2>/dev/null
	[ -n "$pub_stall_pid" ] && kill "$pub_stall_pid" 2>/dev/null
	pub_stall_pid=
}

# pub_run NAME ARGS... : kvmqual publish with a time limit; $rc, and the
# output in $pub_dir/NAME.out / NAME.err.
pub_run() {
	pub_name=$1
	shift
	timeout 60 "$KQ" publish "$@" >"$pub_dir/$pub_name.out" 2>"$pub_dir/$pub_name.err"
	rc=$?
}

pub_err() { head -c 400 "$pub_dir/$1.err" | tr '\n' ' '; }

# nginx writes a request's access-log line just after it sent the answer,
# so a client can be done before its line is there (a busy machine showed
# it: publish/no-move-plain-put read an empty log).  pub_log_sync asks for
# a marker of its own and waits (bounded) until the marker's line is in
# the log: nginx's one worker logs each request before it takes the next,
# so every earlier line is there too.  pub_log prints the log without the
# markers.
pub_sync_n=0
pub_log_sync() {
	pub_sync_n=$((pub_sync_n + 1))
	curl -s -o /dev/null --max-time 20 "$base/dav/.log-sync-$pub_sync_n"
	pub_i=0
	while ! grep -q "^GET /dav/\.log-sync-$pub_sync_n " "$log" && [ $pub_i -lt 200 ]; do
		sleep 0.1
		pub_i=$((pub_i + 1))
	done
}
pub_log() { grep -v '^GET /dav/\.log-sync-' "$log"; }

# pub_same LOCALDIR URL : every file under LOCALDIR fetched back from URL
# with curl is byte-identical; prints the first difference.
pub_same() {
	pub_bad=
	pub_n=0
	for f in $(cd "$1" && find . -type f | sed 's|^\./||' | sort); do
		pub_n=$((pub_n + 1))
		if ! curl -s -f --max-time 20 -o "$pub_dir/fetched" "$2$f"; then
			pub_bad="$f: GET failed"
			return 1
		fi
		cmp -s "$1/$f" "$pub_dir/fetched" || { pub_bad="$f differs"; return 1; }
	done
	[ $pub_n -gt 0 ] || { pub_bad="no files in $1"; return 1; }
}

mkdir -p "$pub_dir"
if ! pub_why=$(tests/tools/nginx.sh available); then
	skip publish/nginx "$pub_why"
elif [ ! -x "$TT/tcp_listen" ] || [ ! -x "$TT/http_fetch" ]; then
	fail publish/tools "$TT/tcp_listen and http_fetch are not built (make test builds them)"
else
	trap 'pub_cleanup; rm -rf "$tmp"' EXIT
	trap 'pub_cleanup; rm -rf "$tmp"; exit 130' INT TERM
	pub_password="pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	pub_token="tok-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	if ! tests/tools/nginx.sh start "$pub_ng" lab "$pub_password" "$pub_token" >"$pub_dir/nginx.out" 2>&1; then
		fail publish/nginx-starts "$(tr '\n' ' ' <"$pub_dir/nginx.out")"
	else
		pass publish/nginx-starts
		port=$(cat "$pub_ng/port")
		base=http://127.0.0.1:$port
		log=$pub_ng/access.log

		# --- usage and input errors: exit 2 ---
		pub_run usage1 README.md
		[ $rc -eq 2 ] && pass publish/usage-no-to || fail publish/usage-no-to "exit $rc"
		pub_run usage2 --to "$base/dav/x/" "$pub_dir/does-not-exist"
		[ $rc -eq 2 ] && grep -q 'does-not-exist' "$pub_dir/usage2.err" && pass publish/usage-missing-input ||
			fail publish/usage-missing-input "exit $rc: $(pub_err usage2)"
		pub_run usage3 --to "ftp://127.0.0.1:$port/x/" README.md
		[ $rc -eq 2 ] && pass publish/usage-not-http || fail publish/usage-not-http "exit $rc"
		pub_run usage4 --to "$base/dav/x/" --retries lots README.md
		[ $rc -eq 2 ] && pass publish/usage-bad-retries || fail publish/usage-bad-retries "exit $rc"
		pub_run userinfo --to "http://lab:$pub_password@127.0.0.1:$port/private/x/" README.md
		if [ $rc -eq 2 ] && grep -q '\.netrc' "$pub_dir/userinfo.err" &&
			! grep -q -- "$pub_password" "$pub_dir/userinfo.out" "$pub_dir/userinfo.err"; then
			pass publish/userinfo-refused
		else
			fail publish/userinfo-refused "exit $rc: $(pub_err userinfo)"
		fi
		pub_log_sync
		[ "$(pub_log | wc -l)" -eq 0 ] && pass publish/usage-errors-send-nothing ||
			fail publish/usage-errors-send-nothing "$(pub_log | head -3 | tr '\n' ' ')"

		# --- a tree: relative paths, odd names, byte-identical ---
		mkdir -p "$pub_dir/tree/sub/deeper"
		printf '{"a":1}\n' >"$pub_dir/tree/a.json"
		head -c 2500000 /dev/urandom >"$pub_dir/tree/sub/big.bin"
		printf 'odd\n' >"$pub_dir/tree/sub/deeper/name with space & 100%.txt"
		printf 'accent\n' >"$pub_dir/tree/sub/d$(printf '\303\251')j$(printf '\303\240').md"
		: >"$pub_dir/tree/empty"
		pub_run tree --to "$base/dav/runs/today" "$pub_dir/tree"
		if [ $rc -eq 0 ] && [ "$(grep -c ' s  ' "$pub_dir/tree.out")" -eq 5 ] &&
			grep -q '^published 5 files' "$pub_dir/tree.out"; then
			pass publish/tree
		else
			fail publish/tree "exit $rc: $(pub_err tree) $(tail -2 "$pub_dir/tree.out" | tr '\n' ' ')"
		fi
		if diff -r "$pub_dir/tree" "$pub_ng/www/dav/runs/today" >"$pub_dir/tree.diff" 2>&1; then
			pass publish/tree-byte-identical
		else
			fail publish/tree-byte-identical "$(head -3 "$pub_dir/tree.diff" | tr '\n' ' ')"
		fi
		# Readers never see half a file: each PUT goes to a temporary name in
		# the same collection and a MOVE puts it in place.
		pub_log_sync
		if grep -q '^PUT /dav/runs/today/sub/\.big\.bin\.upload-[0-9]*-[0-9a-f]* 201$' "$log" &&
			grep -q '^MOVE /dav/runs/today/sub/\.big\.bin\.upload-[0-9]*-[0-9a-f]* 20[14]$' "$log" &&
			! grep -q '^PUT /dav/runs/today/sub/big\.bin ' "$log" &&
			[ "$(grep -n '^PUT /dav/runs/today/sub/\.big' "$log" | cut -d: -f1)" -lt \
				"$(grep -n '^MOVE /dav/runs/today/sub/\.big' "$log" | cut -d: -f1)" ]; then
			pass publish/put-temporary-then-move
		else
			fail publish/put-temporary-then-move "$(grep big "$log" | tr '\n' ' ')"
		fi
		pub_left=$(find "$pub_ng/www" -name '.*upload-*' | head -3)
		[ -z "$pub_left" ] && pass publish/no-temporaries-left || fail publish/no-temporaries-left "$pub_left"
		# Publishing again replaces the files (MOVE with Overwrite: T).
		printf '{"a":2}\n' >"$pub_dir/tree/a.json"
		pub_run again --to "$base/dav/runs/today/" "$pub_dir/tree/a.json"
		[ $rc -eq 0 ] && cmp -s "$pub_dir/tree/a.json" "$pub_ng/www/dav/runs/today/a.json" &&
			pass publish/overwrite || fail publish/overwrite "exit $rc: $(pub_err again)"
		pub_run clash --to "$base/dav/x/" "$pub_dir/tree/a.json" "$pub_dir/tree/a.json"
		[ $rc -eq 2 ] && grep -q 'both' "$pub_dir/clash.err" && pass publish/same-name-twice-refused ||
			fail publish/same-name-twice-refused "exit $rc: $(pub_err clash)"

		# --- --no-move: plain PUT to the final name ---
		pub_log_sync
		: >"$log"
		pub_run nomove --no-move --to "$base/dav/plain/" "$pub_dir/tree/a.json"
		pub_log_sync
		if [ $rc -eq 0 ] && [ "$(pub_log)" = "PUT /dav/plain/a.json 201" ]; then
			pass publish/no-move-plain-put
		else
			fail publish/no-move-plain-put "exit $rc: $(pub_log | tr '\n' ' ') $(pub_err nomove)"
		fi
		pub_run presigned --to "$base/dav/plain/object.json?X-Amz-Signature=abc" "$pub_dir/tree/a.json"
		[ $rc -eq 2 ] && pass publish/presigned-needs-no-move || fail publish/presigned-needs-no-move "exit $rc"
		pub_run presigned2 --no-move --to "$base/dav/plain/object.json?X-Amz-Signature=abc" "$pub_dir/tree/a.json"
		if [ $rc -eq 0 ] && cmp -s "$pub_dir/tree/a.json" "$pub_ng/www/dav/plain/object.json" &&
			! grep -q 'abc' "$pub_dir/presigned2.out" "$pub_dir/presigned2.err"; then
			pass publish/presigned-url
		else
			fail publish/presigned-url "exit $rc: $(pub_err presigned2)"
		fi

		# --- credentials ---
		pub_run auth-none --to "$base/private/r/" "$pub_dir/tree/a.json"
		if [ $rc -eq 1 ] && grep -q "401" "$pub_dir/auth-none.err" &&
			grep -q "$base/private/r/" "$pub_dir/auth-none.err" && grep -q 'netrc' "$pub_dir/auth-none.err"; then
			pass publish/auth-none-401
		else
			fail publish/auth-none-401 "exit $rc: $(pub_err auth-none)"
		fi
		mkdir -p "$pub_dir/home"
		printf 'machine 127.0.0.1\n  login lab\n  password %s\n' "$pub_password" >"$pub_dir/home/.netrc"
		chmod 600 "$pub_dir/home/.netrc"
		HOME=$pub_dir/home pub_run auth-netrc --to "$base/private/netrc/" "$pub_dir/tree"
		[ $rc -eq 0 ] && cmp -s "$pub_dir/tree/sub/big.bin" "$pub_ng/www/private/netrc/sub/big.bin" &&
			pass publish/auth-netrc || fail publish/auth-netrc "exit $rc: $(pub_err auth-netrc)"
		cp "$pub_dir/home/.netrc" "$pub_dir/other-netrc"
		HOME=/nonexistent NETRC=$pub_dir/other-netrc pub_run auth-netrc-env --to "$base/private/netrc2/" "$pub_dir/tree/a.json"
		[ $rc -eq 0 ] && pass publish/auth-netrc-from-NETRC || fail publish/auth-netrc-from-NETRC "exit $rc: $(pub_err auth-netrc-env)"
		KVMQUAL_PUBLISH_USER=lab KVMQUAL_PUBLISH_PASSWORD=$pub_password pub_run auth-user \
			--to "$base/private/user/" "$pub_dir/tree/a.json"
		[ $rc -eq 0 ] && [ -f "$pub_ng/www/private/user/a.json" ] && pass publish/auth-env-user ||
			fail publish/auth-env-user "exit $rc: $(pub_err auth-user)"
		KVMQUAL_PUBLISH_USER=lab KVMQUAL_PUBLISH_PASSWORD=wrong-$pub_password pub_run auth-wrong \
			--to "$base/private/user/" "$pub_dir/tree/a.json"
		[ $rc -eq 1 ] && grep -q '401' "$pub_dir/auth-wrong.err" && pass publish/auth-wrong-password-401 ||
			fail publish/auth-wrong-password-401 "exit $rc: $(pub_err auth-wrong)"
		KVMQUAL_PUBLISH_TOKEN=$pub_token pub_run auth-token --to "$base/token/t/" "$pub_dir/tree/a.json"
		[ $rc -eq 0 ] && [ -f "$pub_ng/www/token/t/a.json" ] && pass publish/auth-env-token ||
			fail publish/auth-env-token "exit $rc: $(pub_err auth-token)"
		KVMQUAL_PUBLISH_TOKEN=x$pub_token pub_run auth-token-bad --to "$base/token/t/" "$pub_dir/tree/a.json"
		[ $rc -eq 1 ] && grep -q '401' "$pub_dir/auth-token-bad.err" && pass publish/auth-bad-token-401 ||
			fail publish/auth-bad-token-401 "exit $rc: $(pub_err auth-token-bad)"
		KVMQUAL_PUBLISH_USER=lab pub_run auth-half --to "$base/private/user/" "$pub_dir/tree/a.json"
		[ $rc -eq 2 ] && pass publish/auth-half-set-refused || fail publish/auth-half-set-refused "exit $rc"
		# The secrets appear in no output of any of these runs.
		if grep -l -e "$pub_password" -e "$pub_token" "$pub_dir"/*.out "$pub_dir"/*.err >"$pub_dir/leaks" 2>/dev/null; then
			fail publish/secrets-never-printed "in $(tr '\n' ' ' <"$pub_dir/leaks")"
		else
			pass publish/secrets-never-printed
		fi

		# --- failures: retries with back-off, bounded time ---
		pub_log_sync
		: >"$log"
		pub_t0=$(date +%s.%N)
		pub_run fail503 --no-move --to "$base/fail/x/" "$pub_dir/tree/a.json"
		pub_t=$(awk -v a="$pub_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
		pub_log_sync
		pub_tries=$(grep -c '^PUT /fail/x/a.json 503$' "$log")
		if [ $rc -eq 1 ] && [ "$pub_tries" -eq 4 ] && grep -q "503" "$pub_dir/fail503.err" &&
			grep -q "$base/fail/x/a.json" "$pub_dir/fail503.err" && grep -q 'after 4 attempts' "$pub_dir/fail503.err"; then
			pass publish/retries-on-503
		else
			fail publish/retries-on-503 "exit $rc, $pub_tries attempts: $(pub_err fail503)"
		fi
		# Back-off 0.5 + 1 + 2 s between the four attempts.
		case $pub_t in
		[3-9].* | 1[0-9].*) pass publish/retry-back-off ;;
		*) fail publish/retry-back-off "took ${pub_t}s, expected 3.5 to 20" ;;
		esac
		: >"$log"
		pub_run fail503-once --retries 0 --to "$base/fail/y/" "$pub_dir/tree/a.json"
		pub_log_sync
		[ $rc -eq 1 ] && [ "$(grep -c '503$' "$log")" -eq 1 ] && pass publish/retries-0 ||
			fail publish/retries-0 "exit $rc: $(pub_log | tr '\n' ' ')"
		: >"$log"
		pub_run no-retry-on-404 --no-move --to "$base/nowhere/" "$pub_dir/tree/a.json"
		pub_log_sync
		[ "$(pub_log | wc -l)" -eq 1 ] && [ $rc -eq 1 ] && grep -q '40[345]' "$pub_dir/no-retry-on-404.err" &&
			pass publish/no-retry-on-4xx || fail publish/no-retry-on-4xx "exit $rc, $(pub_log | wc -l) requests: $(pub_err no-retry-on-404)"
		pub_free=$("$TT/tcp_listen" free-port)
		pub_t0=$(date +%s)
		pub_run refused --to "http://127.0.0.1:$pub_free/dav/" "$pub_dir/tree/a.json"
		pub_t=$(($(date +%s) - pub_t0))
		if [ $rc -eq 1 ] && [ $pub_t -le 15 ] && grep -qi 'connect' "$pub_dir/refused.err" &&
			grep -q "127.0.0.1:$pub_free" "$pub_dir/refused.err"; then
			pass publish/connection-refused
		else
			fail publish/connection-refused "exit $rc after ${pub_t}s: $(pub_err refused)"
		fi
		# A server that accepts and never answers: cut off by --timeout.
		"$TT/tcp_listen" count "$pub_dir/stall.port" "$pub_dir/stall.log" 60 hold &
		pub_stall_pid=$!
		pub_i=0
		while [ ! -s "$pub_dir/stall.port" ] && [ $pub_i -lt 50 ]; do sleep 0.1; pub_i=$((pub_i + 1)); done
		pub_t0=$(date +%s)
		pub_run stall --timeout 2 --retries 1 --to "http://127.0.0.1:$(cat "$pub_dir/stall.port")/dav/" "$pub_dir/tree/a.json"
		pub_t=$(($(date +%s) - pub_t0))
		# The listener logs a connection when it accepts it: wait for both.
		pub_i=0
		while [ "$(grep -c '^connection' "$pub_dir/stall.log")" -lt 2 ] && [ $pub_i -lt 100 ]; do
			sleep 0.1
			pub_i=$((pub_i + 1))
		done
		if [ $rc -eq 1 ] && [ $pub_t -le 15 ] && [ "$(grep -c '^connection' "$pub_dir/stall.log")" -eq 2 ] &&
			grep -q 'stalled' "$pub_dir/stall.err"; then
			pass publish/stalled-server-cut-off
		else
			fail publish/stalled-server-cut-off "exit $rc after ${pub_t}s, $(grep -c '^connection' "$pub_dir/stall.log") connections: $(pub_err stall)"
		fi
		kill "$pub_stall_pid" 2>/dev/null
		wait "$pub_stall_pid" 2>/dev/null
		pub_stall_pid=

		# --- TLS ---
		tls=https://127.0.0.1:$(cat "$pub_ng/tls_port")
		pub_run tls-unverified --to "$tls/dav/tls/" "$pub_dir/tree/a.json"
		[ $rc -eq 1 ] && grep -q 'certificate' "$pub_dir/tls-unverified.err" && grep -q -- '--cacert' "$pub_dir/tls-unverified.err" &&
			pass publish/tls-verified-by-default || fail publish/tls-verified-by-default "exit $rc: $(pub_err tls-unverified)"
		pub_run tls-cacert --cacert "$pub_ng/cert.pem" --to "$tls/dav/tls/" "$pub_dir/tree/a.json"
		[ $rc -eq 0 ] && [ -f "$pub_ng/www/dav/tls/a.json" ] && pass publish/tls-cacert ||
			fail publish/tls-cacert "exit $rc: $(pub_err tls-cacert)"
		pub_run tls-insecure --insecure --to "$tls/dav/tls2/" "$pub_dir/tree/a.json"
		[ $rc -eq 0 ] && grep -q 'warning.*insecure' "$pub_dir/tls-insecure.err" && pass publish/tls-insecure-warns ||
			fail publish/tls-insecure-warns "exit $rc: $(pub_err tls-insecure)"

		# --- fetching a collection (kvmqual matrix --in URL) ---
		mkdir -p "$pub_dir/bundles-src"
		cp tests/fixtures/report/*.json "$pub_dir/bundles-src/"
		pub_run bundles --to "$base/dav/bundles/" "$pub_dir/bundles-src"
		# What must not come back: an upload in flight, other files, a sub-collection.
		printf 'half' >"$pub_ng/www/dav/bundles/.x.json.upload-1-0000abcd"
		printf 'text' >"$pub_ng/www/dav/bundles/notes.txt"
		mkdir -p "$pub_ng/www/dav/bundles/older" && cp "$pub_dir/bundles-src/"*.json "$pub_ng/www/dav/bundles/older/"
		pub_n=$(timeout 60 "$TT/http_fetch" "$base/dav/bundles" "$pub_dir/fetched-bundles" 2>"$pub_dir/fetch.err")
		pub_want=$(ls "$pub_dir/bundles-src" | wc -l)
		if [ "$pub_n" = "$pub_want" ] && diff -r "$pub_dir/bundles-src" "$pub_dir/fetched-bundles" >/dev/null; then
			pass publish/fetch-collection
		else
			fail publish/fetch-collection "fetched '$pub_n' of $pub_want: $(head -c 300 "$pub_dir/fetch.err") $(ls "$pub_dir/fetched-bundles" | tr '\n' ' ')"
		fi
		# The hostile listing: ../, %2F, dotfiles, collections named *.json.
		printf '{"g":1}\n' >"$pub_ng/www/hostile/good.json"
		printf '{"g":2}\n' >"$pub_ng/www/hostile/also good.json"
		printf 'x' >"$pub_ng/www/escape.json"
		mkdir -p "$pub_dir/hostile/in"
		pub_n=$(timeout 60 "$TT/http_fetch" "$base/hostile/" "$pub_dir/hostile/in" 2>"$pub_dir/hostile.err")
		if [ "$pub_n" = 2 ] && [ "$(ls -A "$pub_dir/hostile/in" | tr '\n' '|')" = "also good.json|good.json|" ] &&
			[ "$(ls -A "$pub_dir/hostile")" = in ] && [ ! -e "$pub_dir/escape.json" ] && [ ! -e "$pub_dir/escape2.json" ]; then
			pass publish/fetch-hostile-listing
		else
			fail publish/fetch-hostile-listing "fetched '$pub_n': $(ls -A "$pub_dir/hostile/in" | tr '\n' '|') $(head -c 200 "$pub_dir/hostile.err")"
		fi
		timeout 60 "$TT/http_fetch" "$base/notdav/" "$pub_dir/notdav" >/dev/null 2>"$pub_dir/notdav.err"
		pub_frc=$?
		[ $pub_frc -eq 1 ] && grep -q 'malformed multistatus' "$pub_dir/notdav.err" && pass publish/fetch-not-multistatus ||
			fail publish/fetch-not-multistatus "exit $pub_frc: $(head -c 200 "$pub_dir/notdav.err")"
		timeout 60 "$TT/http_fetch" "$base/private/netrc/" "$pub_dir/priv" >/dev/null 2>"$pub_dir/fetch-401.err"
		pub_frc=$?
		[ $pub_frc -eq 1 ] && grep -q '401' "$pub_dir/fetch-401.err" && pass publish/fetch-needs-credentials ||
			fail publish/fetch-needs-credentials "exit $pub_frc: $(head -c 200 "$pub_dir/fetch-401.err")"
		pub_n=$(HOME=$pub_dir/home timeout 60 "$TT/http_fetch" "$base/private/netrc/" "$pub_dir/priv" 2>"$pub_dir/fetch-netrc.err")
		[ "$pub_n" = 1 ] && cmp -s "$pub_dir/priv/a.json" "$pub_dir/tree/a.json" && pass publish/fetch-netrc ||
			fail publish/fetch-netrc "fetched '$pub_n': $(head -c 200 "$pub_dir/fetch-netrc.err")"
		pub_log_sync
		: >"$log"
		timeout 60 "$TT/http_fetch" "$base/fail/" "$pub_dir/f503" >/dev/null 2>"$pub_dir/fetch-503.err"
		pub_frc=$?
		pub_log_sync
		[ $pub_frc -eq 1 ] && grep -q '503' "$pub_dir/fetch-503.err" && [ "$(grep -c '^PROPFIND /fail/ 503$' "$log")" -eq 4 ] &&
			pass publish/fetch-retries-on-503 || fail publish/fetch-retries-on-503 "exit $pub_frc: $(head -c 200 "$pub_dir/fetch-503.err")"
		# The same through kvmqual matrix --in URL: the same matrix as from the directory.
		timeout 120 "$KQ" matrix --in "$base/dav/bundles/" --out "$pub_dir/m-url" >"$pub_dir/m-url.out" 2>&1
		pub_mrc=$?
		timeout 120 "$KQ" matrix --in "$pub_dir/bundles-src" --out "$pub_dir/m-dir" >/dev/null 2>&1
		# Only the sources' names differ.
		sed "s|$base/dav/bundles/|SOURCE/|g" "$pub_dir/m-url/matrix.csv" >"$pub_dir/m-url.csv" 2>/dev/null
		sed "s|$pub_dir/bundles-src/|SOURCE/|g" "$pub_dir/m-dir/matrix.csv" >"$pub_dir/m-dir.csv" 2>/dev/null
		if [ $pub_mrc -eq 0 ] && [ -s "$pub_dir/m-url.csv" ] && cmp -s "$pub_dir/m-url.csv" "$pub_dir/m-dir.csv"; then
			pass publish/matrix-in-url
		else
			fail publish/matrix-in-url "exit $pub_mrc: $(tail -3 "$pub_dir/m-url.out" | tr '\n' ' ') $(diff "$pub_dir/m-url.csv" "$pub_dir/m-dir.csv" 2>&1 | head -3 | cut -c1-200 | tr '\n' ' ')"
		fi

		# --- the real pages: a report and a matrix, published and fetched back ---
		. tests/tools/pages.sh
		if ! pages_prepare; then
			fail publish/pages "$pages_error"
		else
			pub_run report --to "$base/dav/lab/report/" "$pages_dir/report"
			if [ $rc -eq 0 ] && pub_same "$pages_dir/report" "$base/dav/lab/report/"; then
				pass publish/report-roundtrip-byte-identical
			else
				fail publish/report-roundtrip-byte-identical "exit $rc: $pub_bad $(pub_err report)"
			fi
			pub_run matrix --to "$base/dav/lab/matrix/" "$pages_dir/matrix"
			if [ $rc -eq 0 ] && pub_same "$pages_dir/matrix" "$base/dav/lab/matrix/"; then
				pass publish/matrix-roundtrip-byte-identical
			else
				fail publish/matrix-roundtrip-byte-identical "exit $rc: $pub_bad $(pub_err matrix)"
			fi
		fi
	fi
	pub_cleanup
	trap 'rm -rf "$tmp"' EXIT INT TERM
fi
