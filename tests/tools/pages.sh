# The real pages the publish and browser tests work on, made once per test
# run under $tmp/pages (sourced by tests/sections/publish.sh and browser.sh):
#   $pages_dir/run.db      a real results store: a copy of
#                          tests/fixtures/results/x86-pvm-host.db (two quick
#                          runs on the development machine), or when that is
#                          missing a quick run here (TCG, sysbench-cpu-1t,
#                          about 25 s)
#   $pages_dir/report/     kvmqual report of it
#   $pages_dir/bundles/    result bundles: the real exports in
#                          tests/fixtures/report/ and a generated one
#   $pages_dir/matrix/     kvmqual matrix over run.db, three generated stores
#                          (bench/matrix-gen.c) and the bundles
# pages_prepare returns 1 with the reason in $pages_error.

pages_dir=$tmp/pages
pages_error=

pages_prepare() {
	[ -f "$pages_dir/.complete" ] && return 0
	[ -f "$pages_dir/.failed" ] && { pages_error=$(cat "$pages_dir/.failed"); return 1; }
	rm -rf "$pages_dir" && mkdir -p "$pages_dir/bundles"
	if ! pages_make; then
		echo "$pages_error" >"$pages_dir/.failed"
		return 1
	fi
	touch "$pages_dir/.complete"
}

pages_make() {
	if [ -f tests/fixtures/results/x86-pvm-host.db ]; then
		cp tests/fixtures/results/x86-pvm-host.db "$pages_dir/run.db" || {
			pages_error="cannot copy the results fixture"
			return 1
		}
	else
		pages_run || return 1
	fi
	pages_report_matrix
}

pages_run() {
	timeout 600 "$KQ" run --guest-arch "$(uname -m)" --accel tcg --workloads sysbench-cpu-1t \
		--db "$pages_dir/run.db" --json >"$pages_dir/run.json" 2>"$pages_dir/run.err"
	pages_rc=$?
	# 0: KVM worked; 1: it did not (the PVM machine), the run is stored all the same.
	if [ $pages_rc -gt 1 ] || [ ! -s "$pages_dir/run.db" ]; then
		pages_error="kvmqual run exit $pages_rc: $(tail -3 "$pages_dir/run.err" | tr '\n' ' ')"
		return 1
	fi
}

pages_report_matrix() {
	timeout 300 "$KQ" report --db "$pages_dir/run.db" --out "$pages_dir/report" \
		>"$pages_dir/report.out" 2>&1 || {
		pages_error="kvmqual report exit $?: $(tail -3 "$pages_dir/report.out" | tr '\n' ' ')"
		return 1
	}
	cp tests/fixtures/report/*.json "$pages_dir/bundles/"
	set -- --db "$pages_dir/run.db" --in "$pages_dir/bundles"
	if [ -f bench/matrix-gen.c ]; then
		gcc -std=gnu11 -O1 -Ibuild/deps/include -o "$pages_dir/matrix-gen" bench/matrix-gen.c \
			$(ls store/*.c | grep -v /cmd_) lib/util.c build/deps/lib/libcjson.a -lsqlite3 -lm \
			>"$pages_dir/gen.out" 2>&1 || {
			pages_error="bench/matrix-gen.c does not build: $(head -3 "$pages_dir/gen.out" | tr '\n' ' ')"
			return 1
		}
		# Distinct numbers, one device without KVM (missing values), two
		# architectures: what the sorting tests need to tell orders apart.
		{
			"$pages_dir/matrix-gen" spec "$pages_dir/g1.db" 'model=Board A,soc=soc-a,boot=700,cpu=95' \
				'model=Board B,soc=soc-b,boot=1200,cpu=80,mem=91' &&
			"$pages_dir/matrix-gen" spec "$pages_dir/g2.db" 'model=Board C,soc=soc-c,boot=650,cpu=99' \
				'model=Board D,soc=soc-d,kvm=0,probe=tcg-only' &&
			"$pages_dir/matrix-gen" spec "$pages_dir/g3.db" \
				'model=Server E,soc=cpu-e,arch=x86_64,boot=900,cpu=91' &&
			"$pages_dir/matrix-gen" spec "$pages_dir/bundles/board-f.json" \
				'model=Board F,soc=soc-f,boot=1500,cpu=88,page=16384'
		} >>"$pages_dir/gen.out" 2>&1 || {
			pages_error="matrix-gen failed: $(tail -3 "$pages_dir/gen.out" | tr '\n' ' ')"
			return 1
		}
		set -- "$@" --db "$pages_dir/g1.db" --db "$pages_dir/g2.db" --db "$pages_dir/g3.db"
	fi
	timeout 300 "$KQ" matrix "$@" --out "$pages_dir/matrix" >"$pages_dir/matrix.out" 2>&1 || {
		pages_error="kvmqual matrix exit $?: $(tail -3 "$pages_dir/matrix.out" | tr '\n' ' ')"
		return 1
	}
	return 0
}
