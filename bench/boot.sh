#!/bin/sh
# make bench (boot part): the time from starting QEMU to the agent's ready
# frame, per guest architecture under TCG, against the floor: the same
# kernel with a bare busybox initramfs that powers off at once.  Target
# (issue 3): within 10 % of the floor.  Writes bench/results/boot.md.
set -eu
cd "$(dirname "$0")/.."
runs=${BENCH_BOOT_RUNS:-10}
out=bench/results/boot.md
tmp=$(mktemp -d /tmp/kvmqual-boot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p bench/results

median() { sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
minmax() { sort -n | awk 'NR == 1 {min = $1} {max = $1} END {printf "%s / %s", min, max}'; }

{
	echo "# Guest boot benchmark"
	echo
	echo "Produced by \`make bench\` (bench/boot.sh) on $(date -u +%Y-%m-%d), $(uname -m) host, $(nproc) CPUs,"
	echo "QEMU $(qemu-system-aarch64 --version | sed -n 's/QEMU emulator version \([^ ]*\).*/\1/p'), TCG, 2 vCPUs, 512 MiB; $runs boots each."
	echo
	echo "| guest | floor: exec to marker, median ms (min / max) | agent: exec to ready frame, median ms (min / max) | agent / floor |"
	echo "| --- | --- | --- | --- |"
} >"$out"

for arch in aarch64 x86_64; do
	floor=build/guest/$arch-floor
	image=build/guest/$arch
	guest-image/build.sh --arch "$arch" --floor --out "$floor" >/dev/null 2>&1 ||
		{ echo "bench: cannot build the $arch floor image" >&2; exit 1; }
	[ -f "$image/manifest.json" ] || { echo "bench: no $image (make guest-image)" >&2; exit 1; }
	# The floor gets the kernel arguments the runner gives the real guest
	# (runners/guest.c), so that only the userspace differs.
	case $arch in
	x86_64) args="loglevel=4 acpi=noirq" ;;
	*) args="loglevel=4" ;;
	esac
	guest-image/boot.sh --arch "$arch" --image "$floor" --runs "$runs" --append "$args" |
		sed -n 's/^run=[0-9]* marker_ms=\([0-9]*\).*/\1/p' >"$tmp/floor-$arch"
	: >"$tmp/agent-$arch"
	i=0
	while [ $i -lt "$runs" ]; do
		build/kvmqual guest --image "$image" --arch "$arch" --json -- true >"$tmp/run.json"
		build/tests/json_get "$tmp/run.json" boot.ready_ms >>"$tmp/agent-$arch"
		i=$((i + 1))
	done
	f=$(median <"$tmp/floor-$arch")
	a=$(median <"$tmp/agent-$arch")
	ratio=$(awk -v a="$a" -v f="$f" 'BEGIN {printf "%.2f", a / f}')
	echo "| $arch | $f ($(minmax <"$tmp/floor-$arch")) | $(printf '%.0f' "$a") ($(minmax <"$tmp/agent-$arch" | awk -F' / ' '{printf "%.0f / %.0f", $1, $2}')) | $ratio |" >>"$out"
done

{
	echo
	echo "The floor is \`guest-image/boot.sh --arch ARCH --image build/guest/ARCH-floor --append 'loglevel=4 [acpi=noirq]'\`"
	echo "(the kernel arguments runners/guest.c gives the real guest; acpi=noirq on x86_64 only); the agent"
	echo "boot is \`build/kvmqual guest --image build/guest/ARCH --json -- true\` (\`boot.ready_ms\`)."
	echo "Image sizes: $(for a in aarch64 x86_64; do printf '%s initramfs %s bytes, tools disk %s bytes; ' "$a" \
		"$(stat -c %s build/guest/$a/initramfs.cpio.lz4)" "$(stat -c %s build/guest/$a/tools.squashfs)"; done)"
} >>"$out"
cat "$out"
