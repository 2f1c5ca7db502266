#!/bin/sh
# dut-ramdisk.sh LABDIR OUT: the lab's initramfs (tests/lab/build-image.sh,
# LABDIR/initramfs.cpio.gz) made into a LAVA DUT: its /init mounts what it
# always mounts (the payload disk at /lab, the work disk at /work, found by
# serial), then /lab-cmd.sh, which here opens an interactive shell on the
# serial console with a prompt LAVA waits for.  One cpio archive, not the
# lab's two-part one: LAVA unpacks the ramdisk with cpio, which reads only
# the first archive of a concatenation, adds its overlay and packs it again.
set -eu
[ $# -eq 2 ] || { echo "usage: dut-ramdisk.sh LABDIR OUT" >&2; exit 2; }
lab=$1 out=$2
[ -f "$lab/initramfs.cpio.gz" ] || { echo "dut-ramdisk.sh: no $lab/initramfs.cpio.gz (make lab)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmqual-lava-ramdisk.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/root"
gzip -dc "$lab/initramfs.cpio.gz" | (cd "$work/root" && cpio --quiet -id) ||
	{ echo "dut-ramdisk.sh: cannot unpack $lab/initramfs.cpio.gz" >&2; exit 1; }
cat >"$work/root/lab-cmd.sh" <<'SH'
#!/bin/sh
# A LAVA DUT (tests/lava/dut-ramdisk.sh): a login shell on the serial
# console.  setsid + cttyhack make the console its controlling terminal, as
# a getty would; LAVA recognises the prompt.
PS1='kvmqual-dut# '
HOME=/root
export PS1 HOME
cd /
exec setsid cttyhack /bin/sh -i
SH
chmod 755 "$work/root/lab-cmd.sh"
(cd "$work/root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
	gzip -6n >"$work/ramdisk.cpio.gz"
mv -f "$work/ramdisk.cpio.gz" "$out"
