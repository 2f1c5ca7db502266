# shellcheck shell=sh
# sanitizers: a CI-length part of the suite again, on build-san/: kvmqual,
# the probe, STREAM and the test tools built with ASan and UBSan (make test
# builds them; make test SANITIZE=1 runs the whole suite there instead).
# The sections that reach most of kvmqual's and the probe's code without
# long guest runs; every test keeps its name under san/.  A sanitizer
# report fails the run (run.sh collects them).  About 3 minutes here.
# Sourced by tests/run.sh (pass, fail, skip, $tmp, $B).

if want sanitizers; then
	san_tests=${KVMQUAL_SAN_TESTS:-fixture malformed cli compare report matrix hostile hostile-store lava}
	if [ "$B" = build-san ]; then
		skip sanitizers "this run is on build-san already"
	elif [ ! -x build-san/kvmqual ] || [ ! -x build-san/probe ] || [ ! -x build-san/tests/json_get ]; then
		fail sanitizers/built "build-san/ is not built (make test builds it; or make SANITIZE=1 test-build)"
	else
		env -u KVMQUAL_TEST_KVMQUAL -u KVMQUAL_TEST_PROBE KVMQUAL_TEST_BUILD=build-san TESTS="$san_tests" \
			tests/run.sh >"$tmp/sanitizers.out" 2>&1
		san_rc=$?
		while read -r san_status san_name san_rest; do
			case $san_status in
			PASS) pass "san/$san_name" ;;
			FAIL) fail "san/${san_name%:}" "$san_rest" ;;
			SKIP) skip "san/${san_name%:}" "$san_rest" ;;
			esac
		done <"$tmp/sanitizers.out"
		if [ $san_rc -ne 0 ] && ! grep -q '^FAIL' "$tmp/sanitizers.out"; then
			fail sanitizers/run "exit $san_rc: $(tail -c 400 "$tmp/sanitizers.out" | tr '\n' ' ')"
		fi
	fi
fi
