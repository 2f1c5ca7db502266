#!/bin/sh
# The steps of the kvmqual LAVA test definition (lava/kvmqual.yaml), in
# POSIX sh with busybox or toybox utilities: get kvmqual (the field kit,
# make kit, or the one installed on the DUT), run it, print the results as LAVA test cases (kvmqual
# export --format lava), compare with earlier runs and publish the bundle.
# Also usable outside LAVA: the signals are then plain lines.
#
#   kvmqual-lava.sh [--kit PATH|file://PATH|URL] [--dir DIR] [--profile P]
#                   [--accel LIST] [--workloads LIST] [--compare BASELINE]
#                   [--publish URL] [--run-args "ARGS"]
#
# Exit status 0 when the results were reported (their verdicts are in the
# cases), 1 when kvmqual could not be set up or run at all (a failed
# kvmqual.setup case says why).
set -u

kit='' dir=/tmp/kvmqual-lava profile=quick accel='' workloads='' compare='' publish='' run_args=''
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || { echo "kvmqual-lava.sh: $1 needs a value" >&2; exit 2; }
	case $1 in
	--kit) kit=$2 ;;
	--dir) dir=$2 ;;
	--profile) profile=$2 ;;
	--accel) accel=$2 ;;
	--workloads) workloads=$2 ;;
	--compare) compare=$2 ;;
	--publish) publish=$2 ;;
	--run-args) run_args=$2 ;;
	*) echo "kvmqual-lava.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift 2
done

# case ID RESULT: a result of this script's own, through LAVA's
# lava-test-case where the test shell has it, else the line it would print.
case_result() {
	if command -v lava-test-case >/dev/null 2>&1; then
		lava-test-case "$1" --result "$2"
	else
		echo "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=$1 RESULT=$2>"
	fi
}

setup_failed() {
	echo "kvmqual: kvmqual.setup: fail: $*"
	case_result kvmqual.setup fail
	exit 1
}

mkdir -p "$dir" || setup_failed "cannot create the state directory $dir"
db=$dir/kvmqual.db

# ---- kvmqual: the field kit, or the one installed ----
if [ -n "$kit" ]; then
	archive=$dir/kvmqual-kit.tar.gz
	case $kit in
	http://* | https://*)
		echo "kvmqual: fetching the kit from $kit"
		if command -v curl >/dev/null 2>&1; then
			curl -fsSL --retry 3 -o "$archive.part" "$kit" || setup_failed "curl could not fetch $kit"
		elif command -v wget >/dev/null 2>&1; then
			wget -q -O "$archive.part" "$kit" || setup_failed "wget could not fetch $kit"
		else
			setup_failed "neither curl nor wget is on this DUT to fetch $kit"
		fi
		mv -f "$archive.part" "$archive" || setup_failed "cannot write $archive" ;;
	*)
		src=${kit#file://}
		[ -f "$src" ] || setup_failed "the kit $src is not a file on this DUT"
		if [ "$src" != "$archive" ]; then
			{ cp "$src" "$archive.part" && mv -f "$archive.part" "$archive"; } ||
				setup_failed "cannot copy the kit $src to $archive"
		fi ;;
	esac
	# Unpacked once per kit: a state directory kept between jobs keeps it.
	sum=$(sha256sum "$archive" | cut -d' ' -f1)
	if [ ! -f "$dir/kvmqual-kit/run" ] || [ "$(cat "$dir/kvmqual-kit.sha256" 2>/dev/null)" != "$sum" ]; then
		rm -rf "$dir/kvmqual-kit" "$dir/kvmqual-kit.sha256"
		tar -xzf "$archive" -C "$dir" || setup_failed "cannot unpack the kit $archive into $dir"
		[ -f "$dir/kvmqual-kit/run" ] || setup_failed "$kit holds no kvmqual-kit/run: not a kvmqual kit"
		echo "$sum" >"$dir/kvmqual-kit.sha256"
	fi
	kitdir=$dir/kvmqual-kit
	echo "kvmqual: kit $(sed -n 's/^version //p' "$kitdir/MANIFEST" 2>/dev/null | head -n 1), hash $(sed -n 's/^kit-hash //p' "$kitdir/MANIFEST" 2>/dev/null | head -n 1), in $kitdir"
	mkdir -p "$dir/tmp"
	# The kit's own programs, started as its run script starts them.
	kq() { TMPDIR=$dir/tmp PATH=$kitdir/bin:$PATH "$kitdir/bin/kvmqual" "$@"; }
	run_kq() { sh "$kitdir/run" qualify --dir "$dir" --out "$dir/qualify" "$@"; }
else
	command -v kvmqual >/dev/null 2>&1 || setup_failed "no KIT given and no kvmqual on PATH ($PATH)"
	kq() { kvmqual "$@"; }
	run_kq() { kvmqual run --db "$db" "$@"; }
fi
case_result kvmqual.setup pass

# ---- the run: its progress as plain lines, its exit status kept ----
set -- --profile "$profile"
[ -n "$accel" ] && set -- "$@" --accel "$accel"
[ -n "$workloads" ] && set -- "$@" --workloads "$workloads"
# shellcheck disable=SC2086 # extra arguments, split on purpose
[ -n "$run_args" ] && set -- "$@" $run_args
echo "kvmqual: kvmqual run $* (state in $dir)"
(cd "$dir" && { run_kq "$@"; echo $? >"$dir/run-rc"; } 2>&1 | cat)
echo "kvmqual: kvmqual run exited $(cat "$dir/run-rc" 2>/dev/null || echo '?')"

# ---- against earlier runs of this board, when the state was kept ----
compare_opt=
if [ -n "$compare" ]; then
	rm -f "$dir/compare.json"
	kq compare --db "$db" --baseline "$compare" --no-baseline-ok --json >"$dir/compare.json" 2>"$dir/compare.err"
	crc=$?
	if [ $crc -le 1 ] && [ -s "$dir/compare.json" ] && grep -q '"metrics"' "$dir/compare.json"; then
		compare_opt="--compare $dir/compare.json"
	else
		echo "kvmqual: no comparison: $(tr '\n' ' ' <"$dir/compare.err")"
	fi
fi

# ---- the results, as LAVA test cases ----
# shellcheck disable=SC2086 # an option and its value, or nothing
kq export --db "$db" --format lava $compare_opt
erc=$?
if [ $erc -ne 0 ]; then
	echo "kvmqual: kvmqual export --format lava exited $erc"
	case_result kvmqual.export fail
fi

# ---- the bundle, for the matrix ----
kq export --db "$db" --format json >"$dir/bundle.json" || echo "kvmqual: could not write the bundle $dir/bundle.json"
if [ -n "$publish" ]; then
	if kq publish --to "$publish" "$dir/bundle.json"; then
		case_result kvmqual.publish pass
	else
		case_result kvmqual.publish fail
	fi
fi
exit 0
