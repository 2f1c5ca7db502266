#!/bin/sh
# Runs each libFuzzer target for a bounded time, seeded from the fixtures.
# Usage: tests/fuzz/run.sh SECONDS TARGET...   Exit 1 if any target crashed.
set -u
cd "$(dirname "$0")/../.."
seconds=$1
shift
work=build/fuzz
seeds=$work/seeds
rm -rf "$seeds" && mkdir -p "$seeds/snapshot" "$seeds/fdt" "$seeds/acpi" "$seeds/text" "$seeds/frame"
printf '\001{"id":1,"ok":true,"exit_code":0,"signal":0,"timed_out":false,"wall_ms":1,"stdout_b64":"aGk=","stderr_b64":"","truncated":false}' >"$seeds/frame/response"
printf '\000noise KQF1' >"$seeds/frame/noise"
# Workload outputs: the first byte picks the parser, in workloads[] order.
mkdir -p "$seeds/workloads"
i=0
for w in sysbench-cpu stream fio-seqread fio-seqwrite fio-randread iperf3-h2g iperf3-g2h sockperf-rr stress-ng-cpu; do
	for f in tests/fixtures/workloads/*-"$w".*; do
		[ -f "$f" ] || continue
		{ printf "\\$(printf '%03o' $i)"; cat "$f"; } >"$seeds/workloads/$(basename "$f")"
	done
	i=$((i + 1))
done
# Snapshot tarballs, uncompressed so that mutations reach the files inside.
for f in tests/fixtures/snapshots/*.tar.gz; do
	gzip -dc "$f" >"$seeds/snapshot/$(basename "$f" .gz)"
	name=$(basename "$f" .tar.gz)
	tar -xzf "$f" -O dmesg.txt >"$seeds/text/$name-dmesg" 2>/dev/null
	tar -xzf "$f" -O proc/cpuinfo >"$seeds/text/$name-cpuinfo" 2>/dev/null
	tar -xzf "$f" -O proc/interrupts >"$seeds/text/$name-interrupts" 2>/dev/null
	tar -xzf "$f" -O android-getprop.txt >"$seeds/text/$name-getprop" 2>/dev/null
	tar -xzf "$f" -O sys/firmware/fdt >"$seeds/fdt/$name" 2>/dev/null
	for t in APIC IORT; do
		tar -xzf "$f" -O "sys/firmware/acpi/tables/$t" >"$seeds/acpi/$name-$t.body" 2>/dev/null &&
			{ if [ $t = IORT ]; then printf '\003'; else printf '\002'; fi; cat "$seeds/acpi/$name-$t.body"; } \
				>"$seeds/acpi/$name-$t" && rm -f "$seeds/acpi/$name-$t.body"
	done
done
for d in tests/fixtures/snapshots/*/; do
	name=$(basename "$d")
	tar -cf "$seeds/snapshot/$name.tar" -C "$d" .
	cp "$d/sys/firmware/fdt" "$seeds/fdt/$name" 2>/dev/null
	cp "$d/dmesg.txt" "$seeds/text/$name-dmesg" 2>/dev/null
	cp "$d/android-getprop.txt" "$seeds/text/$name-getprop" 2>/dev/null
	for v in "$d"/sys/devices/system/cpu/vulnerabilities/*; do
		[ -f "$v" ] && printf '%s:%s\n' "${v##*/}" "$(cat "$v")"
	done >"$seeds/text/$name-vulnerabilities"
done
# The report: byte 0 then an export document, byte 1 then an SVG.
# What a run costs: smaps (0), the Pi's PMIC (1), QMP (2), /proc/PID/stat (3).
mkdir -p "$seeds/measure"
for f in tests/fixtures/memory/*.smaps; do
	{ printf '\000'; head -c 20000 "$f"; } >"$seeds/measure/$(basename "$f")"
done
printf '\001   VDD_CORE_A current(7)=2.00000000A\n   VDD_CORE_V volt(15)=0.80000000V\n  EXT5V_V volt(24)=5.1V\n' >"$seeds/measure/pmic"
printf '\002{"QMP": {"version": {"qemu": {"micro": 19, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}' >"$seeds/measure/qmp"
printf '\003123 (qemu-system-aar) S 1 123 123 0 -1 4194560 1 0 0 0 300 100 0 0 20 0 9 0\n' >"$seeds/measure/stat"
mkdir -p "$seeds/report"
for f in tests/fixtures/report/*.json; do
	{ printf '\000'; cat "$f"; } >"$seeds/report/$(basename "$f")"
done
printf '\001<svg xmlns="http://www.w3.org/2000/svg"><defs><circle id="d" r="1"/></defs><use xlink:href="#d"/><g clip-path="url(#d)"><!-- c --></g></svg>' \
	>"$seeds/report/plot.svg"
# The --templates allow-lists: byte 0 even for report.css, odd for page.html.
mkdir -p "$seeds/templates"
{ printf '\000'; cat reports/templates/report.css; } >"$seeds/templates/report.css"
{ printf '\001'; cat reports/templates/page.html; } >"$seeds/templates/page.html"
printf '\000body { background: url( http://x/a.png ); } @import "x"; a { b: u\\72l(x) }' >"$seeds/templates/bad.css"
printf '\001<img\tsrc=x><meta http-equiv=refresh><style>@STYLE@ p{color:red}</style>' >"$seeds/templates/bad.html"
# The LAVA writer: byte 0 then an export document, 1 then a compare document.
mkdir -p "$seeds/lava"
for f in tests/fixtures/report/*.json; do
	{ printf '\000'; cat "$f"; } >"$seeds/lava/$(basename "$f")"
done
printf '\001{"schema":"kvmqual.compare","version":1,"candidate":2,"baseline":{"description":"run 1"},"metrics":[{"accel":"kvm","workload":"w","metric":"m","decision":"regression","change_pct":-20}],"error":null}' >"$seeds/lava/compare.json"
printf '\002kvm.smoke %%/ x' >"$seeds/lava/name"
# PROPFIND answers in the styles of several WebDAV servers.
mkdir -p "$seeds/propfind"
cp tests/fixtures/propfind/*.xml "$seeds/propfind/"
# Results bundles for the matrix (the store's JSON export).
mkdir -p "$seeds/bundle"
cp tests/fixtures/results/*.json "$seeds/bundle/"
# kvmqual import: the stored bundles, one with a provenance, an infinity
# and a null value (what export writes for them).
mkdir -p "$seeds/import"
cp tests/fixtures/results/*.json "$seeds/import/"
printf '%s' '{"schema":"kvmqual.export","version":1,"generated_at":"2026-12-06T00:00:00Z","database":"/d/k.db","schema_version":2,"runs":[{"id":3,"started_at":"2026-12-02T00:00:00.000Z","finished_at":"2026-12-02T00:01:00.000Z","status":"incomplete","reason":"r","profile":"quick","suite_version":"0.1.0","qemu_version":"7.2","guest_image_hash":"h","command_line":"c","pid":9,"boot_id":"x","host":{"key":null,"arch":"x86_64","model":"","soc":"s","kernel_release":"k","page_size":null},"probe":{"a":[1,"\u00e9"]},"provenance":{"bundle":"ssh://root@h:22/w/job/bundle.json","database":"/w/kvmqual.db","run_id":8,"exported_at":"2026-12-02T00:02:00Z","imported_at":"2026-12-02T00:03:00.000Z"},"checks":[],"boot_samples":[],"samples":[{"accel":"kvm","workload":"w","metric":"m","unit":"u","value":null,"value_nonfinite":"inf","iteration":1,"higher_is_better":0,"flags":[],"conditions":null},{"accel":"tcg","workload":"w","metric":"m","unit":"u","value":null,"iteration":0,"higher_is_better":0,"flags":["a","b"],"conditions":{}}],"verdicts":[{"target":"t","metric":"m","value":null,"threshold":null,"op":null,"status":"skip","detail":""}],"speedups":[{"workload":"w","metric":"m","kvm_over_tcg":null,"kvm_over_tcg_nonfinite":"-inf","kvm_pct_of_native":2,"tcg_pct_of_native":null}]}],"error":null}' >"$seeds/import/provenance-nonfinite.json"
# The guest's view of the CPU's vulnerabilities beside the host's (schema
# version 4), for import, the report and the matrix alike.
gv='{"schema":"kvmqual.export","version":1,"generated_at":"2026-12-06T00:00:00Z","database":"/d/k.db","schema_version":4,"runs":[{"id":2,"started_at":"2026-12-06T00:00:00.000Z","finished_at":"2026-12-06T00:01:00.000Z","status":"complete","reason":null,"profile":"quick","suite_version":"0.1.0","qemu_version":"7.2","guest_image_hash":"h","command_line":"c","pid":9,"boot_id":"x","host":{"key":null,"arch":"x86_64","model":"m","soc":"s","kernel_release":"k","page_size":4096},"probe":{"checks":[{"id":"cpu.vulnerabilities","status":"WARN","value":"v","data":{"retbleed":"Vulnerable","spectre_v2":"Mitigation: Retpolines","<x>":"a|b"}}]},"provenance":null,"checks":[],"boot_samples":[],"samples":[],"verdicts":[],"speedups":[],"guest_vulnerabilities":[{"accel":"tcg","status":"known","reason":null,"vulnerabilities":{"retbleed":"Not affected","spectre_v2":"Vulnerable","mds":"Mitigation: Clear CPU buffers"}},{"accel":"kvm","status":"unknown","reason":"grep in the guest: exit 2: <no>","vulnerabilities":null}]}],"error":null}'
printf '%s' "$gv" >"$seeds/import/guest-vulnerabilities.json"
printf '%s' "$gv" >"$seeds/bundle/guest-vulnerabilities.json"
{ printf '\000'; printf '%s' "$gv"; } >"$seeds/report/guest-vulnerabilities.json"
for f in tests/fixtures/snapshots/*/; do
	[ -s "$seeds/text/$(basename "$f")-vulnerabilities" ] || continue
	# and what the guest's grep -r prints (PATH:TEXT lines)
	sed 's|^|/sys/devices/system/cpu/vulnerabilities/|' "$seeds/text/$(basename "$f")-vulnerabilities" \
		>"$seeds/text/$(basename "$f")-grep-r"
done
# compare: baseline values, candidate values, earlier runs' medians, direction.
mkdir -p "$seeds/compare"
printf '1000 1004 998 1002 996\n800 803 799 801 798\n1000 990 1010 1005 995 1001\n1\n' >"$seeds/compare/regression"
printf '7 7 7 7 7\n7 7 7 7 7\n\n0\n' >"$seeds/compare/ties"
printf '1 2 3\n-1 0 nan inf\n0 5\n1\n' >"$seeds/compare/odd"
# The targets file: the shipped one, and lines of every kind.
mkdir -p "$seeds/targets"
cp runners/targets.conf "$seeds/targets/shipped.conf"
printf 'cpu tcg sysbench-cpu-1t.events_per_second >= 1e3 e/s\r\nnet kvm iperf3-g2h-tap.gbps > 0.5 Gbit/s # x\n' >"$seeds/targets/crlf.conf"
printf 'boot kvm boot.total_ms < 2000 ms\n# a\000b\nx kvm y.z >= 1 %%\n' >"$seeds/targets/nul.conf"
# kvmqual ab: byte 0 picks SPEC, workload list, pin list, QMP reply, /proc status.
mkdir -p "$seeds/ab"
printf "\000qemu=/usr/bin/qemu-system-aarch64; opts=-smp 2 -name 'a b'; pin=each:1,0; net=vhost" >"$seeds/ab/spec"
printf '\000hugepages=2M; mem=1024; hugepages=off; hugepages=64k' >"$seeds/ab/spec-hugepages"
printf '\001boot,sysbench-cpu-1t,stream' >"$seeds/ab/plan"
printf '\002each:3,1-2' >"$seeds/ab/pin"
printf '\003[{"cpu-index":0,"thread-id":1234,"qom-path":"/machine/unattached/device[0]"},{"cpu-index":1,"thread-id":1235}]' >"$seeds/ab/qmp"
printf '\004Name:\tCPU 0/TCG\nCpus_allowed:\t2\nCpus_allowed_list:\t1\n' >"$seeds/ab/status"
# The energy sensors: the host's sysfs files, then readings ("--", the
# milliseconds since the last, the files that changed).
mkdir -p "$seeds/energy"
printf 'sys/class/powercap/intel-rapl:0/name=package-0\nsys/class/powercap/intel-rapl:0/energy_uj=262143000000\nsys/class/powercap/intel-rapl:0/max_energy_range_uj=262143328850\nsys/class/powercap/intel-rapl:0:0/name=core\nsys/class/powercap/intel-rapl:1/name=psys\nsys/class/powercap/intel-rapl:1/energy_uj=5\n--\n1000\nsys/class/powercap/intel-rapl:0/energy_uj=1000000\nsys/class/powercap/intel-rapl:1/energy_uj=9000000\n--\n1000\nsys/class/powercap/intel-rapl:1/energy_uj=4\n' >"$seeds/energy/rapl"
printf 'sys/class/hwmon/hwmon0/name=ina226\nsys/class/hwmon/hwmon0/power1_input=3500000\nsys/class/hwmon/hwmon1/energy1_input=100\n--\n500\nsys/class/hwmon/hwmon1/energy1_input=600000\n--\n500\nsys/class/hwmon/hwmon1/energy1_input=1200000\n' >"$seeds/energy/hwmon"
printf 'sys/class/power_supply/battery/type=Battery\nsys/class/power_supply/battery/status=Discharging\nsys/class/power_supply/battery/current_now=-512000\nsys/class/power_supply/battery/voltage_now=3900000\nsys/class/power_supply/hid-mouse/type=Battery\nsys/class/power_supply/hid-mouse/scope=Device\n--\n250\nsys/class/power_supply/battery/current_now=-498000\n--\n250\nsys/class/power_supply/battery/status=Charging\n' >"$seeds/energy/battery"
printf 'usr/bin/vcgencmd=#!\nsys/firmware/devicetree/base/model=Raspberry Pi 5 Model B Rev 1.0\n--\n100\n' >"$seeds/energy/pmic"
# kvmqual remote: byte 0 then a device's answer to the look around, 1 then
# a line of the job's log, 2 then a kit archive.
mkdir -p "$seeds/remote" "$work/kit-seed/kvmqual-kit"
printf '\000dir=/data/local/tmp/kvmqual\narch=aarch64\nhost=localhost\nuid=2000\nfree_kb=5242880\nkit_hash=%s\njob_owner=kvmqual remote on lab (pid 42) started 2026-12-06T00:00:00Z\njob_status=0\nend=1\n' \
	"$(printf x | sha256sum | cut -d' ' -f1)" >"$seeds/remote/answer"
printf '\000error=cannot create /data/x\nend=1\n' >"$seeds/remote/error"
printf '\001@@kvmqual-job-status 130' >"$seeds/remote/status"
printf 'format 1\narch aarch64\nversion 0.1.0\nbytes 12345\nkit-hash %s\n' "$(printf y | sha256sum | cut -d' ' -f1)" \
	>"$work/kit-seed/kvmqual-kit/MANIFEST"
printf '#!/bin/sh\n' >"$work/kit-seed/kvmqual-kit/run"
{ printf '\002'; tar --format=ustar --no-recursion -cf - -C "$work/kit-seed" kvmqual-kit kvmqual-kit/MANIFEST kvmqual-kit/run | gzip -9n; } \
	>"$seeds/remote/kit"
{ printf '\002'; tar --format=ustar --no-recursion -cf - -C "$work/kit-seed" kvmqual-kit kvmqual-kit/MANIFEST; } >"$seeds/remote/kit-plain"
find "$seeds" -type f -size 0 -delete
failed=0
for target in "$@"; do
	name=$(basename "$target")
	kind=${name#fuzz_}
	corpus=$work/corpus/$name
	mkdir -p "$corpus" "$work/artifacts"
	echo "fuzz: $name for ${seconds}s"
	if "$target" -max_total_time="$seconds" -max_len=1048576 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/artifacts/$name-" -print_final_stats=1 \
		"$corpus" "$seeds/$kind" >"$work/$name.log" 2>&1; then
		grep -E 'stat::number_of_executed_units|stat::new_units_added' "$work/$name.log" | sed 's/^/  /'
		echo "PASS fuzz/$name"
	else
		failed=$((failed + 1))
		grep -E 'ERROR|SUMMARY|Test unit written' "$work/$name.log" | head -5 | sed 's/^/  /'
		echo "FAIL fuzz/$name (log: $work/$name.log)"
	fi
done
total=$#
echo "$((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
