#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# guest-image/boot.sh: boots an image made by build.sh under QEMU (TCG by
# default) and reports the wall time from QEMU's exec to the guest's ready
# marker (a console line with KVMQUAL-READY, or KVMQUAL-FLOOR for a floor
# image, and optionally uptime=<guest uptime>), and to QEMU's exit.
# See README.md.
set -eEuo pipefail
export LC_ALL=C

prog=boot.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
trap 'die "unexpected failure (status $?) at line $LINENO: $BASH_COMMAND"' ERR

usage() {
	cat >&2 <<'EOF'
usage: guest-image/boot.sh --arch aarch64|x86_64 --image DIR [options]
options:
  --kernel K       vmlinuz (bzImage/Image) or vmlinux (x86_64: the PVH ELF,
                   no BIOS, no self-decompression); default: vmlinux when
                   the image has one, else vmlinuz
  --timeout S      wall-clock limit of one boot, QEMU is killed then (60)
  --runs N         boot N times, print each time and a summary (1)
  --accel A        QEMU accelerator (tcg)
  --machine M      QEMU machine (aarch64: virt; x86_64: pc,hpet=off)
  --cpu C          QEMU CPU model (aarch64: cortex-a72; x86_64: max)
  --mem MB         guest memory (512)
  --smp N          vCPUs (2)
  --append ARGS    added to the kernel command line
  --cmdline ARGS   replaces the kernel command line (console=... is up to you)
  --qemu-arg ARG   one more QEMU argument (repeatable)
  --log FILE       keep the console of the last run in FILE
  --quiet          print only the summary line
Output, one line per run then a summary:
  run=1 marker_ms=1234 exit_ms=1300 uptime=0.98 marker=KVMQUAL-READY
  summary runs=5 marker_ms_min=... median=... mean=... max=...
Exit status: 0 when every run reached the marker, 1 otherwise, 2 usage.
EOF
	exit 2
}

image='' timeout_s=60 runs=1 accel=tcg machine='' cpu='' mem=512 smp=2
append='' cmdline='' log='' quiet=0 kernel_kind=''
qemu_extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--arch) [ $# -ge 2 ] || usage; arch_vars "$2"; shift 2 ;;
	--image) [ $# -ge 2 ] || usage; image=$2; shift 2 ;;
	--kernel) [ $# -ge 2 ] || usage; kernel_kind=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
	--runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
	--accel) [ $# -ge 2 ] || usage; accel=$2; shift 2 ;;
	--machine) [ $# -ge 2 ] || usage; machine=$2; shift 2 ;;
	--cpu) [ $# -ge 2 ] || usage; cpu=$2; shift 2 ;;
	--mem) [ $# -ge 2 ] || usage; mem=$2; shift 2 ;;
	--smp) [ $# -ge 2 ] || usage; smp=$2; shift 2 ;;
	--append) [ $# -ge 2 ] || usage; append="$append $2"; shift 2 ;;
	--cmdline) [ $# -ge 2 ] || usage; cmdline=$2; shift 2 ;;
	--qemu-arg) [ $# -ge 2 ] || usage; qemu_extra+=("$2"); shift 2 ;;
	--log) [ $# -ge 2 ] || usage; log=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	-h | --help) usage ;;
	*) printf '%s: unknown argument "%s"\n' "$prog" "$1" >&2; usage ;;
	esac
done
[ -n "${arch:-}" ] || { printf '%s: --arch is required\n' "$prog" >&2; usage; }
[ -n "$image" ] || { printf '%s: --image is required\n' "$prog" >&2; usage; }
for n in "$timeout_s" "$runs" "$mem" "$smp"; do
	case $n in '' | *[!0-9]* | 0) die "--timeout, --runs, --mem and --smp want positive whole numbers, not '$n'" ;; esac
done
need "$qemu_bin" timeout

if [ -z "$kernel_kind" ]; then
	kernel_kind=vmlinuz
	[ ! -f "$image/vmlinux" ] || kernel_kind=vmlinux
fi
case $kernel_kind in
vmlinuz | vmlinux) kernel=$image/$kernel_kind ;;
*) die "--kernel: want vmlinuz or vmlinux, not '$kernel_kind'" ;;
esac
[ -f "$kernel" ] || die "no $kernel: build the image first (guest-image/build.sh --arch $arch --out $image)"
initrd=''
for f in "$image"/initramfs.cpio*; do
	[ -f "$f" ] || continue
	[ -z "$initrd" ] || die "more than one initramfs.cpio* in $image"
	initrd=$f
done
[ -n "$initrd" ] || die "no initramfs.cpio* in $image"

# Defaults: the fastest settings measured under TCG (README.md, "Boot time").
case $arch in
aarch64)
	machine=${machine:-virt}
	cpu=${cpu:-cortex-a72}
	;;
x86_64)
	machine=${machine:-pc,hpet=off}
	cpu=${cpu:-max}
	;;
esac
[ -n "$cmdline" ] || cmdline="console=$console panic=-1 quiet"
cmdline="$cmdline${append}"

args=(-M "$machine" -cpu "$cpu" -accel "$accel" -m "$mem" -smp "$smp"
	-display none -monitor none -serial stdio -nic none -no-reboot -nodefaults
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
	${qemu_extra[@]+"${qemu_extra[@]}"})
# -nodefaults drops the default serial port too; -serial stdio adds it back.

work=$(mktemp -d "${TMPDIR:-/tmp}/kvmqual-boot.XXXXXX")
qpid=''
cleanup() {
	if [ -n "$qpid" ]; then kill "$qpid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ms_between T0 T1: milliseconds between two $EPOCHREALTIME values.
ms_between() {
	local a=${1/./} b=${2/./}
	printf '%d' $(((10#$b - 10#$a) / 1000))
}

# boot_once N: one boot; prints its result line, returns 1 when the marker
# did not come.
boot_once() {
	local n=$1 console=$work/console.$1 qerr=$work/qemu.$1 t0 t_marker='' t_end
	local line marker='' uptime='' rc=0 rs left now grace=10
	t0=$EPOCHREALTIME
	exec 5>"$console"
	exec 6< <(exec timeout -k 2 "$timeout_s" "$qemu_bin" "${args[@]}" </dev/null 2>"$qerr")
	qpid=$!
	while :; do
		if [ -n "$t_marker" ]; then
			# After the marker the guest powers off: give it $grace seconds.
			now=$EPOCHREALTIME
			left=$((grace * 1000 - $(ms_between "$t_marker" "$now")))
			rs=0
			[ "$left" -le 0 ] || IFS= read -r -t "$((left / 1000)).$(printf '%03d' $((left % 1000)))" line <&6 || rs=$?
			if [ "$left" -le 0 ] || [ "$rs" -gt 128 ]; then
				printf '%s: run %s: the guest did not power off within %ss of the marker; QEMU killed\n' "$prog" "$n" "$grace" >&2
				kill "$qpid" 2>/dev/null || true
				break
			fi
			[ "$rs" = 0 ] || break
		elif ! IFS= read -r line <&6; then
			# QEMU is gone; keep what it wrote after the last newline.
			[ -z "$line" ] || printf '%s\n' "$line" >&5
			break
		fi
		line=${line%$'\r'}
		printf '%s\n' "$line" >&5
		if [ -z "$t_marker" ]; then
			# Anywhere in the line: kernel messages may share it, and the
			# agent prefixes its log lines.
			case $line in
			*KVMQUAL-READY* | *KVMQUAL-FLOOR*)
				t_marker=$EPOCHREALTIME
				case $line in *KVMQUAL-READY*) marker=KVMQUAL-READY ;; *) marker=KVMQUAL-FLOOR ;; esac
				case $line in *uptime=*) uptime=${line##*uptime=}; uptime=${uptime%% *} ;; esac
				;;
			esac
		fi
	done
	wait "$qpid" || rc=$?
	t_end=$EPOCHREALTIME
	qpid=''
	exec 5>&- 6<&-
	[ -z "$log" ] || cp "$console" "$log"
	if [ -z "$t_marker" ]; then
		case $rc in
		124 | 137) printf '%s: run %s: no ready marker within %ss; QEMU killed\n' "$prog" "$n" "$timeout_s" >&2 ;;
		*) printf '%s: run %s: QEMU exited (status %s) without a ready marker\n' "$prog" "$n" "$rc" >&2 ;;
		esac
		if [ -s "$qerr" ]; then sed 's/^/  qemu: /' "$qerr" >&2; fi
		echo "  last console lines:" >&2
		tail -n 20 "$console" | sed 's/^/  | /' >&2
		return 1
	fi
	[ "$quiet" = 1 ] || printf 'run=%s marker_ms=%s exit_ms=%s uptime=%s marker=%s\n' "$n" \
		"$(ms_between "$t0" "$t_marker")" "$(ms_between "$t0" "$t_end")" "${uptime:-?}" "$marker"
	printf '%s\n' "$(ms_between "$t0" "$t_marker")" >>"$work/times"
}

[ "$quiet" = 1 ] || printf '# %s %s\n' "$qemu_bin" "${args[*]}"
failed=0
for i in $(seq 1 "$runs"); do
	boot_once "$i" || failed=$((failed + 1))
done
if [ -s "$work/times" ]; then
	sort -n "$work/times" | awk -v runs="$runs" -v failed="$failed" '
		{ t[NR] = $1; s += $1 }
		END {
			med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			printf "summary runs=%d failed=%d marker_ms_min=%d median=%d mean=%d max=%d\n", runs, failed, t[1], med, s / NR, t[NR]
		}'
fi
[ "$failed" = 0 ] || die "$failed of $runs boots did not reach the ready marker"
