#!/bin/sh
# make nightly: the nightly regression sequence on this host.
#   1. kvmqual run          (profile $KVMQUAL_PROFILE, default quick, with
#                            $KVMQUAL_ITERATIONS samples a workload, default 5)
#   2. kvmqual compare      the new run against last-good:5 (the 5 newest good
#                            runs pooled), JUnit XML to
#                            $KVMQUAL_NIGHTLY_DIR/junit-STAMP.xml
#   3. kvmqual report       $KVMQUAL_NIGHTLY_DIR/report-STAMP (trend plots included)
#   4. kvmqual publish      the report and the JUnit file to
#                            $KVMQUAL_PUBLISH_URL/STAMP/, when that is set
# The first night (nothing to compare with) is no error: it says so.
#
# Exit status: 0 nothing regressed, 1 a regression (compare's verdict), 2 a
# step could not do its work (the run failed, the runs differ and
# KVMQUAL_ALLOW_DIFFERENT is not set, the report or the upload failed).
#
# Environment (all optional):
#   KVMQUAL                  the kvmqual binary (build/kvmqual)
#   KVMQUAL_DB               the store (results/kvmqual.db)
#   KVMQUAL_NIGHTLY_DIR      where JUnit files, reports and logs go (results/nightly)
#   KVMQUAL_PROFILE          quick | standard | full (quick)
#   KVMQUAL_ITERATIONS       samples per workload and boots per accelerator (5;
#                            the test cannot call anything significant with fewer than 4)
#   KVMQUAL_RUN_ARGS         more options for kvmqual run, e.g.
#                            "--accel tcg --guest-arch aarch64 --workloads sysbench-cpu-1t"
#                            or "--until-stable --stable-budget 900"
#   KVMQUAL_BASELINE         compare's --baseline (last-good:5; last-good for the
#                            newest good run alone)
#   KVMQUAL_COMPARE_ARGS     more options for kvmqual compare, e.g. "--threshold 5"
#   KVMQUAL_ALLOW_DIFFERENT  1: compare across a kernel, QEMU or guest image
#                            update (the differences are printed and put in the
#                            JUnit file); otherwise such a night exits 2
#   KVMQUAL_PUBLISH_URL      WebDAV collection to upload to (kvmqual publish)
set -u
cd "$(dirname "$0")/.."
kq=${KVMQUAL:-build/kvmqual}
db=${KVMQUAL_DB:-results/kvmqual.db}
dir=${KVMQUAL_NIGHTLY_DIR:-results/nightly}
profile=${KVMQUAL_PROFILE:-quick}
iterations=${KVMQUAL_ITERATIONS:-5}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
junit="$dir/junit-$stamp.xml"
report="$dir/report-$stamp"
log="$dir/run-$stamp.log"
summary="$dir/run-$stamp.json"

say() { echo "nightly: $*" >&2; }

if [ ! -x "$kq" ]; then
	say "no $kq: build it first (make kvmqual), or set KVMQUAL"
	exit 2
fi
# The upload URL is checked before the night's run, and never printed with a
# user name or password in it (kvmqual publish refuses those too).
if [ -n "${KVMQUAL_PUBLISH_URL:-}" ]; then
	case $KVMQUAL_PUBLISH_URL in
	[Hh][Tt][Tt][Pp]://* | [Hh][Tt][Tt][Pp][Ss]://*) ;;
	*)
		say "KVMQUAL_PUBLISH_URL is not an http:// or https:// URL (not shown: it may hold a secret)"
		exit 2
		;;
	esac
	# Any '@': a password may hold a '/', so where the host ends is not known.
	case $KVMQUAL_PUBLISH_URL in
	*@*)
		say "KVMQUAL_PUBLISH_URL carries a user name or password (not shown): put them in ~/.netrc" \
			"(machine HOST login USER password PASS) or in KVMQUAL_PUBLISH_TOKEN, or" \
			"KVMQUAL_PUBLISH_USER and KVMQUAL_PUBLISH_PASSWORD, and give the URL without them"
		exit 2
		;;
	esac
fi
mkdir -p "$dir" || exit 2

# 1. The run.  Its summary (JSON) says which run it stored.
say "run: $kq run --profile $profile --iterations $iterations ${KVMQUAL_RUN_ARGS:-} --db $db (log: $log)"
# shellcheck disable=SC2086 # KVMQUAL_RUN_ARGS is a list of options
"$kq" run --profile "$profile" --iterations "$iterations" ${KVMQUAL_RUN_ARGS:-} --db "$db" --json \
	>"$summary" 2>"$log"
run_rc=$?
run=$(sed -n 's/^[[:space:]]*"run":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$summary" | head -n 1)
status=$(sed -n 's/^[[:space:]]*"status":[[:space:]]*"\([a-z]*\)".*/\1/p' "$summary" | tail -n 1)
case $run_rc in
0 | 1) say "run $run: $status${status:+ }(exit $run_rc)" ;;
*)
	say "the run failed (exit $run_rc): $(tail -n 5 "$log" | tr '\n' ' ')"
	[ -n "$run" ] || exit 2
	;;
esac
if [ -z "$run" ]; then
	say "the run stored nothing: $(tail -n 5 "$log" | tr '\n' ' ')"
	exit 2
fi

# 2. Compare with last-good:5.  A first night has nothing to compare with.
rc=0
if [ "$run_rc" -le 1 ]; then
	allow=
	[ "${KVMQUAL_ALLOW_DIFFERENT:-0}" = 1 ] && allow=--allow-different
	say "compare: run $run against ${KVMQUAL_BASELINE:-last-good:5} (JUnit: $junit)"
	# shellcheck disable=SC2086
	"$kq" compare --db "$db" --candidate "$run" --baseline "${KVMQUAL_BASELINE:-last-good:5}" \
		--junit "$junit" --no-baseline-ok $allow ${KVMQUAL_COMPARE_ARGS:-}
	rc=$?
	case $rc in
	0) say "nothing regressed" ;;
	1) say "REGRESSION: see the table above and $junit" ;;
	*) say "compare could not compare (exit $rc)"; rc=2 ;;
	esac
else
	rc=2
fi

# 3. The report, with the trend plots of this machine's history.
say "report: $report"
"$kq" report --db "$db" --run "$run" --out "$report"
case $? in
0) ;;
1) say "the report was written, but some plot failed (see its page)" ;;
*) say "the report failed"; [ "$rc" -eq 0 ] && rc=2 ;;
esac

# 4. Publish, when a URL is configured.
if [ -n "${KVMQUAL_PUBLISH_URL:-}" ]; then
	url="${KVMQUAL_PUBLISH_URL%/}/$stamp/"
	say "publish: $url"
	set -- "$report"
	[ -f "$junit" ] && set -- "$@" "$junit"
	if ! "$kq" publish --to "$url" "$@"; then
		say "the upload failed"
		[ "$rc" -eq 0 ] && rc=2
	fi
fi
exit "$rc"
