# A WebDriver client in POSIX shell for the browser tests: chromedriver on a
# free 127.0.0.1 port drives Debian's chromium, headless; requests go
# through curl, answers are read with build/tests/json_get.  Sourced, not
# run.  Every request has a time limit; wd_stop ends the session and kills
# chromedriver's process group (chromium included).
#
#   wd_start DIR PROXY_PORT   chromedriver + a session; chromium sends any
#                             non-loopback request to 127.0.0.1:PROXY_PORT and
#                             resolves no host name
#   wd_open URL               navigate and wait for the load event
#   wd_exec 'SCRIPT'          run 'return ...;' in the page, print the value
#                             (compact JSON for arrays and objects).  SCRIPT
#                             must not hold double quotes or backslashes: it
#                             travels inside a JSON string (newlines become
#                             spaces)
#   wd_click 'CSS'            a real (WebDriver) click on the first match
#   wd_stop
# On failure a function returns 1 and leaves the reason in $wd_error.

WD_TCP_LISTEN=${WD_TCP_LISTEN:-${KVMQUAL_TEST_BUILD:-build}/tests/tcp_listen}
WD_JG=${WD_JG:-${KVMQUAL_TEST_BUILD:-build}/tests/json_get}
WD_CURL_SECONDS=${WD_CURL_SECONDS:-60}
wd_error=
wd_pid=
wd_session=

# wd_request METHOD PATH [JSON]: the answer in $wd_dir/answer.json.
wd_request() {
	wd_url="http://127.0.0.1:$wd_port$2"
	if [ $# -ge 3 ]; then
		curl -s --max-time "$WD_CURL_SECONDS" -X "$1" -H 'Content-Type: application/json' \
			--data-binary "$3" -o "$wd_dir/answer.json" "$wd_url"
	else
		curl -s --max-time "$WD_CURL_SECONDS" -X "$1" -o "$wd_dir/answer.json" "$wd_url"
	fi
	wd_rc=$?
	if [ $wd_rc -ne 0 ]; then
		wd_error="$1 $2: curl exit $wd_rc (chromedriver did not answer in ${WD_CURL_SECONDS}s)"
		return 1
	fi
	if "$WD_JG" "$wd_dir/answer.json" value.error >/dev/null 2>&1; then
		wd_error="$1 $2: $("$WD_JG" "$wd_dir/answer.json" value.message | head -1)"
		return 1
	fi
	return 0
}

wd_start() {
	wd_dir=$1
	wd_proxy_port=$2
	mkdir -p "$wd_dir/profile"
	wd_attempt=0
	while :; do
		wd_attempt=$((wd_attempt + 1))
		wd_port=$("$WD_TCP_LISTEN" free-port) || { wd_error="no free port"; return 1; }
		# A process group of its own, so that wd_stop can end chromium too.
		setsid chromedriver --port="$wd_port" --log-path="$wd_dir/chromedriver.log" \
			</dev/null >"$wd_dir/chromedriver.out" 2>&1 &
		wd_pid=$!
		wd_i=0
		while [ $wd_i -lt 100 ]; do
			if curl -s --max-time 2 "http://127.0.0.1:$wd_port/status" 2>/dev/null | grep -q '"ready":[[:space:]]*true'; then
				break
			fi
			kill -0 "$wd_pid" 2>/dev/null || break
			sleep 0.1
			wd_i=$((wd_i + 1))
		done
		kill -0 "$wd_pid" 2>/dev/null && [ $wd_i -lt 100 ] && break
		wd_kill_group
		if [ $wd_attempt -ge 3 ]; then
			wd_error="chromedriver did not start: $(tail -3 "$wd_dir/chromedriver.out" | tr '\n' ' ')"
			return 1
		fi
	done
	if [ "$(ps -o pgid= -p "$wd_pid" | tr -d ' ')" != "$wd_pid" ]; then
		wd_error="chromedriver is not in a process group of its own"
		wd_kill_group
		return 1
	fi
	# Chromium's own services (sign-in, component updates, variations,
	# network time, optimisation hints, the search engine's preconnect) are
	# switched off or pointed at 127.0.0.1:9, where nothing listens, so
	# that the proxy sees only what a page asks for.
	wd_dead=http://127.0.0.1:9/
	wd_caps=$(cat <<EOF
{"capabilities":{"alwaysMatch":{"browserName":"chrome","pageLoadStrategy":"normal",
 "timeouts":{"pageLoad":30000,"script":20000,"implicit":0},
 "goog:chromeOptions":{"binary":"/usr/bin/chromium","args":[
  "--headless=new","--no-sandbox","--disable-gpu","--disable-quic","--no-first-run",
  "--disable-background-networking","--disable-component-update","--disable-sync",
  "--disable-extensions","--window-size=1280,900",
  "--user-data-dir=$wd_dir/profile",
  "--proxy-server=127.0.0.1:$wd_proxy_port",
  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
  "--gaia-url=$wd_dead","--google-apis-url=$wd_dead","--lso-url=$wd_dead",
  "--variations-server-url=$wd_dead","--component-updater=url-source=$wd_dead",
  "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,OptimizationHintsFetching,OptimizationGuideModelDownloading,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater"],
  "prefs":{"net.network_prediction_options":2,"search.suggest_enabled":false,
   "default_search_provider_data":{"template_url_data":{"keyword":"none","short_name":"none",
    "url":"$wd_dead?q={searchTerms}"}}}}}}}
EOF
)
	wd_request POST /session "$wd_caps" || return 1
	wd_session=$("$WD_JG" "$wd_dir/answer.json" value.sessionId) || {
		wd_error="no session id in: $(head -c 300 "$wd_dir/answer.json")"
		return 1
	}
	return 0
}

wd_open() {
	wd_request POST "/session/$wd_session/url" "{\"url\":\"$1\"}"
}

wd_exec() {
	case $1 in
	*'"'* | *'\'*) wd_error="wd_exec: the script holds a double quote or backslash"; return 1 ;;
	esac
	# JSON strings hold no raw newlines or tabs.
	wd_script=$(printf '%s' "$1" | tr '\n\t' '  ')
	wd_request POST "/session/$wd_session/execute/sync" "{\"script\":\"$wd_script\",\"args\":[]}" || return 1
	"$WD_JG" "$wd_dir/answer.json" value
}

wd_click() {
	wd_request POST "/session/$wd_session/element" "{\"using\":\"css selector\",\"value\":\"$1\"}" || return 1
	wd_element=$("$WD_JG" "$wd_dir/answer.json" value.element-6066-11e4-a52e-4f735466cecf) || {
		wd_error="no element for $1"
		return 1
	}
	wd_request POST "/session/$wd_session/element/$wd_element/click" '{}'
}

wd_kill_group() {
	[ -n "$wd_pid" ] || return 0
	kill -TERM "-$wd_pid" 2>/dev/null
	wd_i=0
	while kill -0 "$wd_pid" 2>/dev/null && [ $wd_i -lt 30 ]; do
		sleep 0.1
		wd_i=$((wd_i + 1))
	done
	kill -KILL "-$wd_pid" 2>/dev/null
	wait "$wd_pid" 2>/dev/null
	wd_pid=
}

wd_stop() {
	if [ -n "$wd_session" ] && [ -n "$wd_pid" ]; then
		wd_saved=$WD_CURL_SECONDS
		WD_CURL_SECONDS=10
		wd_request DELETE "/session/$wd_session" >/dev/null 2>&1
		WD_CURL_SECONDS=$wd_saved
	fi
	wd_session=
	wd_kill_group
}
