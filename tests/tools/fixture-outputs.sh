#!/bin/sh
# tests/tools/fixture-outputs.sh KVMQUAL OUTDIR: what a refactoring must keep byte for
# byte (report, matrix, export, compare JSON and JUnit) on the stored
# fixtures, from one kvmqual binary.  Run from the top of a checkout.
# Timestamps of generation are replaced by GEN so that runs can be diffed.
# The comparison database is made once (FX_CMP_DB, default /tmp/fx-cmp.db)
# and reused, so that the before and after runs read the same file.
set -u
kq=$(readlink -f "$1"); out=$2
rm -rf "$out"; mkdir -p "$out/db"
cp tests/fixtures/results/*.db "$out/db/"
# A comparison database with known shifts (as tests/sections/compare.sh makes).
cmp=${FX_CMP_DB:-/tmp/fx-cmp.db}
if [ ! -f "$cmp" ]; then
# (readers never create a store: build/tests/store_init makes the empty one)
build/tests/store_init "$cmp" || exit 1
sqlite3 "$cmp" "INSERT INTO hosts (host_key, arch, model, soc, kernel_release, page_size) VALUES ('00000000000000aa', 'aarch64', 'board', 'soc', '6.1.0', 4096);"
for f in 1.002 0.999 1.0005 1 1.001 0.8; do
	awk -v f="$f" 'BEGIN {
		q = sprintf("%c", 39)
		print "INSERT INTO runs (host_id, status, profile, suite_version, qemu_version, guest_image_hash, pid) VALUES (1, " q "complete" q ", " q "quick" q ", " q "0.1.0" q ", " q "7.2.22" q ", " q "sha256:one" q ", 1);"
		split("-0.004 0.002 0 0.003 -0.002", j, " ")
		for (i = 1; i <= 5; i++) {
			printf "INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration, higher_is_better) VALUES ((SELECT max(id) FROM runs), %stcg%s, %ssysbench-cpu-1t%s, %sevents_per_second%s, %sevents/s%s, %.6f, %d, 1);\n", q, q, q, q, q, q, q, q, 1000 * (1 + j[i]) * f, i
			printf "INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration, higher_is_better, flags) VALUES ((SELECT max(id) FROM runs), %snative%s, %sstream%s, %striad_mbps%s, %sMB/s%s, %.6f, %d, 1, %s);\n", q, q, q, q, q, q, q, q, 5000 * (1 - j[i]), i, (i == 1 ? q "throttled" q : "NULL")
			printf "INSERT INTO boot_samples (run_id, accel, iteration, total_ms) VALUES ((SELECT max(id) FROM runs), %stcg%s, %d, %.3f);\n", q, q, i, 1200 * (1 + j[i])
		}
	}' | sqlite3 "$cmp"
done
fi
cp "$cmp" "$out/db/cmp.db"
cd "$out"
for db in db/*.db; do
	n=$(basename "$db" .db)
	"$kq" export --db "$db" --format json >"export-$n.json" 2>&1; echo "exit $?" >>"export-$n.json"
	"$kq" export --db "$db" --format csv >"export-$n.csv" 2>&1; echo "exit $?" >>"export-$n.csv"
	"$kq" report --db "$db" --out "report-$n" >"report-$n.log" 2>&1; echo "exit $?" >>"report-$n.log"
done
set --
for db in db/*.db; do case $db in */cmp.db) continue ;; esac; set -- "$@" --db "$db"; done
"$kq" matrix "$@" --in "$OLDPWD/tests/fixtures/report" --out matrix >matrix.log 2>&1; echo "exit $?" >>matrix.log
for b in 1 5 last-good last-good:5 median-of:3; do
	"$kq" compare --db db/cmp.db --baseline "$b" --json >"compare-$b.json" 2>&1; echo "exit $?" >>"compare-$b.json"
	"$kq" compare --db db/cmp.db --baseline "$b" --junit "junit-$b.xml" >"compare-$b.txt" 2>&1; echo "exit $?" >>"compare-$b.txt"
done
"$kq" compare --db db/x86-pvm-host.db --baseline 1 --candidate 2 --json >compare-x86.json 2>&1; echo "exit $?" >>compare-x86.json
"$kq" compare --db db/x86-pvm-host.db --baseline 1 --candidate 2 --junit junit-x86.xml >compare-x86.txt 2>&1; echo "exit $?" >>compare-x86.txt
"$kq" compare --db db/cmp.db --candidate 99 --json >compare-bad.json 2>&1; echo "exit $?" >>compare-bad.json
rm -rf db
# Generation times: to the second, where stored times carry milliseconds.
grep -rlE "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}" . | while read -r f; do
	case $f in *.png) continue ;; esac
	sed -i -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z?([^.0-9]|$)/GEN\1/g; s/Generated [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC/Generated GEN/g' "$f"
done
