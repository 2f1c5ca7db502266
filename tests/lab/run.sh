#!/bin/sh
# run.sh CONFIG OUTDIR [command...]
#
# Boots one host of the emulated ARM64 lab under qemu-system-aarch64 (TCG),
# runs `command...` in it (as root, cwd /, through /bin/sh, default: save
# dmesg to /out/dmesg.txt), and copies every regular file that the command
# left in the guest's /out/ to OUTDIR/<name>. The serial console is kept in
# OUTDIR/console.log, QEMU's own messages in OUTDIR/qemu.err.
#
# Exit status: the command's exit status inside the guest; 125 when the lab
# itself failed (no image, QEMU failed, timeout, garbled output); 2 on
# usage errors.
#
# CONFIG is one of: el1 el2-nvhe-gicv2 el2-nvhe-gicv2-nomaint
# el2-vhe-gicv3-smmuv3 el2-vhe-gicv3-acpi
# pi5-16k (a Raspberry Pi 5-like host: Cortex-A76, GICv2, EL2, Debian's
# 16K-page kernel; its image is LAB_IMAGE_DIR, default <repo>/build/lab-16k)
#
# Environment:
#   LAB_TIMEOUT      wall-clock limit for the whole boot in seconds (120)
#   LAB_IMAGE_DIR    where build-image.sh keeps the image (<repo>/build/lab)
#   LAB_EXTRA_FILES  host files put in the guest's /bin/ (see build-image.sh)
#   LAB_MEM          guest memory in MiB (1024)
#   LAB_SMP          number of vCPUs (2)
#   LAB_APPEND       extra kernel command line arguments
#   LAB_QEMU         QEMU binary (qemu-system-aarch64)
#   LAB_EFI          UEFI firmware for the -acpi config
#                    (/usr/share/qemu-efi-aarch64/QEMU_EFI.fd)
#   LAB_PAYLOAD      a disk image attached read-only, mounted at /lab in the
#                    guest (build-payload.sh makes it; /lab/bin goes first
#                    in PATH)
#   LAB_WORK_MB      size of an empty ext4 disk made for this run, mounted
#                    at /work in the guest (none when unset or 0)
#   LAB_SSH_PORT     a network card on QEMU's user network, with the host's
#                    127.0.0.1:LAB_SSH_PORT forwarded to the guest's port 22
#                    (the guest is 10.0.2.15/24; the command brings it up)
set -eu

prog=run.sh
LAB_FAIL=125

usage() {
	cat >&2 <<'EOF'
usage: run.sh CONFIG OUTDIR [command...]
  CONFIG: el1 | el2-nvhe-gicv2 | el2-nvhe-gicv2-nomaint | el2-vhe-gicv3-smmuv3 |
          el2-vhe-gicv3-acpi | pi5-16k
  command runs in the guest (files it writes to /out/ come back to OUTDIR/)
  env: LAB_TIMEOUT LAB_IMAGE_DIR LAB_EXTRA_FILES LAB_MEM LAB_SMP LAB_APPEND
       LAB_QEMU LAB_EFI LAB_PAYLOAD LAB_WORK_MB LAB_SSH_PORT
EOF
	exit 2
}
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit "$LAB_FAIL"; }

[ $# -ge 2 ] || usage
config=$1
outdir=$2
shift 2

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
timeout_s=${LAB_TIMEOUT:-120}
imgdir=${LAB_IMAGE_DIR:-}
ssh_port=${LAB_SSH_PORT:-}
case $ssh_port in '' | [1-9] | [1-9][0-9] | [1-9][0-9][0-9] | [1-9][0-9][0-9][0-9] | [1-9][0-9][0-9][0-9][0-9]) ;; *) die "LAB_SSH_PORT must be a port number" ;; esac
mem=${LAB_MEM:-1024}
smp=${LAB_SMP:-2}
qemu=${LAB_QEMU:-qemu-system-aarch64}
efi=${LAB_EFI:-/usr/share/qemu-efi-aarch64/QEMU_EFI.fd}
append="console=ttyAMA0 panic=-1 rdinit=/init"

payload=${LAB_PAYLOAD:-}
work_mb=${LAB_WORK_MB:-0}
case $timeout_s in '' | *[!0-9]*) die "LAB_TIMEOUT must be a number of seconds" ;; esac
case $work_mb in '' | *[!0-9]*) die "LAB_WORK_MB must be a number of MiB" ;; esac
case $mem in '' | *[!0-9]*) die "LAB_MEM must be a number of MiB" ;; esac
case $smp in '' | *[!0-9]*) die "LAB_SMP must be a number of vCPUs" ;; esac
if [ -n "$payload" ] && [ ! -f "$payload" ]; then die "LAB_PAYLOAD: no such file '$payload'"; fi

# ---------------------------------------------------------------- configs

bios=
nomaint=
case $config in
el1)
	machine=virt
	cpu=cortex-a72
	;;
el2-nvhe-gicv2)
	machine=virt,virtualization=on
	cpu=cortex-a72
	;;
el2-nvhe-gicv2-nomaint)
	# The nVHE host booted with a device tree whose GIC node lacks the vGIC
	# maintenance interrupt (like the Raspberry Pi 5 DTB that hung every
	# KVM guest): QEMU's own tree, dumped, edited with dtc, given back.
	machine=virt,virtualization=on
	cpu=cortex-a72
	nomaint=1
	;;
el2-vhe-gicv3-smmuv3)
	machine=virt,virtualization=on,gic-version=3,iommu=smmuv3
	cpu=max,pauth=off
	;;
pi5-16k)
	# The Pi 5's BCM2712: Cortex-A76 cores, a GIC-400 (GICv2), Linux at
	# EL2 with VHE, a 16K-page kernel.
	machine=virt,virtualization=on,gic-version=2
	cpu=cortex-a76
	LAB_KERNEL=16k
	export LAB_KERNEL
	imgdir=${imgdir:-$repo/build/lab-16k}
	;;
el2-vhe-gicv3-acpi)
	machine=virt,virtualization=on,gic-version=3,iommu=smmuv3
	cpu=max,pauth=off
	bios=$efi
	append="$append acpi=force"
	[ -f "$bios" ] || die "UEFI firmware $bios not found (apt-get install qemu-efi-aarch64, or set LAB_EFI)"
	;;
*)
	printf '%s: unknown configuration "%s"\n' "$prog" "$config" >&2
	usage
	;;
esac
[ -n "${LAB_APPEND:-}" ] && append="$append $LAB_APPEND"
imgdir=${imgdir:-$repo/build/lab}

for tool in "$qemu" timeout cpio gzip base64 awk; do
	command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found"
done

# ---------------------------------------------------------------- image

"$here/build-image.sh" "$imgdir" || die "building the lab image in $imgdir failed"

mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)
work=$(mktemp -d "$outdir/.lab-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# /lab-cmd.sh: the command, each argument single-quoted for /bin/sh.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
mkdir "$work/cmd"
{
	echo '#!/bin/sh'
	if [ $# -eq 0 ]; then
		echo 'dmesg > /out/dmesg.txt'
	else
		line=
		for a in "$@"; do
			line="$line $(quote "$a")"
		done
		echo "exec$line"
	fi
} >"$work/cmd/lab-cmd.sh"
chmod 755 "$work/cmd/lab-cmd.sh"
# The kernel unpacks concatenated (compressed) cpio archives one after the
# other, so the command is a second archive appended to the cached image.
(cd "$work/cmd" && echo lab-cmd.sh | cpio --quiet -o -H newc -R 0:0) |
	gzip -n >"$work/cmd.cpio.gz" || die "cannot create the command archive"
cat "$imgdir/initramfs.cpio.gz" "$work/cmd.cpio.gz" >"$work/initrd" ||
	die "cannot create the initrd"

# ---------------------------------------------------------------- boot

log=$outdir/console.log
qerr=$outdir/qemu.err
# Files brought back by an earlier run into the same OUTDIR are removed, so
# that a failed run cannot leave stale results looking like fresh ones.
manifest=$outdir/.lab-files
if [ -f "$manifest" ]; then
	while IFS= read -r name; do
		case $name in '' | */* | . | ..) continue ;; esac
		rm -f "$outdir/$name"
	done <"$manifest"
fi
rm -f "$log" "$qerr" "$manifest"

show_failure() {
	printf '%s: error: %s (config %s)\n' "$prog" "$1" "$config" >&2
	if [ -s "$qerr" ]; then
		echo "---- $qerr" >&2
		cat "$qerr" >&2
	fi
	echo "---- last 40 lines of $log" >&2
	if [ -f "$log" ]; then tr -d '\r' <"$log" | tail -n 40 >&2; fi
	echo "----" >&2
	exit "$LAB_FAIL"
}

set -- -M "$machine" -cpu "$cpu" -accel tcg -m "$mem" -smp "$smp" \
	-display none -monitor none -serial stdio -no-reboot \
	-kernel "$imgdir/vmlinuz" -initrd "$work/initrd" -append "$append"
[ -n "$bios" ] && set -- "$@" -bios "$bios"
if [ -n "$ssh_port" ]; then
	set -- "$@" -netdev "user,id=lan,hostfwd=tcp:127.0.0.1:$ssh_port-:22" -device virtio-net-device,netdev=lan
else
	set -- "$@" -nic none
fi
# The disks, virtio-mmio like everything on the virt board; /init tells them
# apart by serial.
if [ -n "$payload" ]; then
	set -- "$@" -drive "if=none,id=payload,format=raw,readonly=on,file=$payload" \
		-device virtio-blk-device,drive=payload,serial=labpayload
fi
if [ "$work_mb" -gt 0 ]; then
	command -v mke2fs >/dev/null 2>&1 || die "LAB_WORK_MB needs mke2fs (e2fsprogs)"
	mke2fs -q -F -t ext4 -L kqlabwork -m 0 "$work/work.img" "${work_mb}M" >/dev/null ||
		die "cannot make the work disk ($work/work.img, ${work_mb} MiB)"
	set -- "$@" -drive "if=none,id=work,format=raw,file=$work/work.img,cache=unsafe" \
		-device virtio-blk-device,drive=work,serial=labwork
fi

if [ -n "$nomaint" ]; then
	# The GIC is the node with "interrupt-controller;" at 0x8000000; its
	# own "interrupts" property is the maintenance interrupt (its v2m child
	# keeps its own). The edit must have removed exactly one line.
	command -v dtc >/dev/null 2>&1 || die "$config needs dtc (apt-get install device-tree-compiler)"
	"$qemu" "$@" -machine dumpdtb="$work/virt.dtb" </dev/null >"$work/dumpdtb.log" 2>&1 ||
		die "qemu -machine dumpdtb failed: $(cat "$work/dumpdtb.log")"
	dtc -q -I dtb -O dts -o "$work/virt.dts" "$work/virt.dtb" || die "dtc could not decompile QEMU's device tree"
	awk '
		/^\tintc@8000000 \{$/ { in_gic = 1 }
		in_gic && /^\t\t[a-z]/ && /\{$/ { child++ }
		in_gic && /^\t\t\};$/ { child-- }
		in_gic && /^\t\};$/ { in_gic = 0 }
		in_gic && !child && /^\t\tinterrupts = / { removed++; next }
		{ print }
		END { if (removed != 1) exit 1 }' "$work/virt.dts" >"$work/nomaint.dts" ||
		die "the GIC node's interrupts property was not found in QEMU's device tree"
	dtc -q -I dts -O dtb -o "$work/nomaint.dtb" "$work/nomaint.dts" || die "dtc could not compile the edited tree"
	set -- "$@" -dtb "$work/nomaint.dtb"
fi

qrc=0
timeout -k 5 "$timeout_s" "$qemu" "$@" </dev/null >"$log" 2>"$qerr" || qrc=$?
case $qrc in
0) ;;
124 | 137) show_failure "timed out after ${timeout_s}s (LAB_TIMEOUT); QEMU killed" ;;
*) show_failure "QEMU exited with status $qrc" ;;
esac

# ---------------------------------------------------------------- results

# Only what follows the last @@LAB-CMD-EXIT line is trusted, so that the
# command's own console output cannot fake frames. Every frame's body goes to
# $work/frames/<n>, its name to $work/frames/names (line n).
mkdir "$work/frames"
perr=$(tr -d '\r' <"$log" | awk -v dir="$work/frames" '
	{ lines[NR] = $0 }
	/^@@LAB-CMD-EXIT rc=[0-9]+@@$/ { start = NR }
	END {
		if (!start) { print "no @@LAB-CMD-EXIT@@ line: /init did not finish"; exit 1 }
		n = 0; name = ""
		for (i = start + 1; i <= NR; i++) {
			l = lines[i]
			if (l ~ /^@@LAB-BEGIN .*@@$/) {
				if (name != "") { print "file \"" name "\": no @@LAB-END@@ marker"; exit 1 }
				name = substr(l, 13, length(l) - 14)
				if (name == "" || name ~ /\// || name == "." || name == ".." ||
				    name == "console.log" || name == "qemu.err" || name == ".lab-files" ||
				    seen[name]++) {
					print "file \"" name "\": name not allowed or repeated"; exit 1
				}
				n++; body = dir "/" n
				printf "" > body
				print name > (dir "/names")
				continue
			}
			if (l ~ /^@@LAB-END .*@@$/) {
				e = substr(l, 11, length(l) - 12)
				if (e != name) { print "file \"" e "\": @@LAB-END@@ without matching @@LAB-BEGIN@@"; exit 1 }
				close(body); name = ""
				continue
			}
			if (l ~ /^@@LAB-DONE rc=[0-9]+@@$/) {
				if (name != "") { print "file \"" name "\": no @@LAB-END@@ marker"; exit 1 }
				rc = substr(l, 15, length(l) - 16)
				print "rc=" rc
				exit 0
			}
			if (name != "") {
				if (l !~ /^[A-Za-z0-9+\/=]*$/) {
					print "file \"" name "\": bad base64 line " i " of the console log"; exit 1
				}
				print l > body
			}
		}
		if (name != "") { print "file \"" name "\": no @@LAB-END@@ marker"; exit 1 }
		print "no @@LAB-DONE@@ line"; exit 1
	}') || show_failure "bad console output: $perr"

guest_rc=${perr#rc=}
# Decode everything first, so that a bad frame leaves no partial results.
touch "$work/frames/names"
i=0
while IFS= read -r name; do
	i=$((i + 1))
	base64 -d <"$work/frames/$i" >"$work/frames/$i.bin" 2>/dev/null ||
		show_failure "file \"$name\": bad base64"
done <"$work/frames/names"
i=0
while IFS= read -r name; do
	i=$((i + 1))
	mv -f "$work/frames/$i.bin" "$outdir/$name"
	printf '%s: got %s\n' "$prog" "$outdir/$name" >&2
done <"$work/frames/names"
cp "$work/frames/names" "$manifest"
printf '%s: %s: guest command exited with %s\n' "$prog" "$config" "$guest_rc" >&2
exit "$guest_rc"
