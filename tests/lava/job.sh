#!/bin/sh
# job.sh CONFIG OUTDIR [KEY=VALUE...]: a LAVA job and its device for one
# emulated ARM64 lab host, for lava-run (tests/sections/lava-lab.sh):
#   OUTDIR/device.jinja2   the device dictionary, as a LAVA server keeps it
#   OUTDIR/device.yaml     the same rendered from lava-server's qemu.jinja2
#   OUTDIR/job.yaml        deploy to tmpfs, boot with QEMU, the kvmqual test
#   OUTDIR/ramdisk.cpio.gz the lab's initramfs with a shell on the console
#   OUTDIR/work.img        an empty ext4 disk, mounted at /work in the DUT
#   OUTDIR/definitions/    a git repository holding this checkout's lava/
#                          as it is on disk, cloned by LAVA over file://
# KEY=VALUE are parameters of lava/kvmqual.yaml (PROFILE, WORKLOADS, ...).
#
# With LAVA_KIT=FILE (a field kit, make kit ARCH=aarch64) the DUT gets the
# kit and nothing else of the suite: LAVA copies it into the ramdisk next
# to its overlay (/kvmqual-kit.tar.gz, the definition's KIT), and no
# payload disk is attached.  Without it, the lab's payload disk (kvmqual
# installed, on PATH) stands in for the kit.
#
# CONFIG is a lab host of tests/lab/README.md; the QEMU machine and CPU go
# into the device dictionary, since only a server would apply a job's
# context.  The kernel and ramdisk come from build/lab (make lab).
# Environment: LAVA_JOB_TIMEOUT (minutes, default 90).
set -eu
[ $# -ge 2 ] || { echo "usage: job.sh CONFIG OUTDIR [KEY=VALUE...]" >&2; exit 2; }
config=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab=${LAB_IMAGE_DIR:-$repo/build/lab}
case $config in
el1) machine=virt cpu=cortex-a72 ;;
el2-nvhe-gicv2) machine=virt,virtualization=on cpu=cortex-a72 ;;
el2-vhe-gicv3) machine=virt,virtualization=on,gic-version=3 cpu=max,pauth=off ;;
el2-vhe-gicv3-smmuv3) machine=virt,virtualization=on,gic-version=3,iommu=smmuv3 cpu=max,pauth=off ;;
*) echo "job.sh: unknown lab host '$config' (el1, el2-nvhe-gicv2, el2-vhe-gicv3, el2-vhe-gicv3-smmuv3)" >&2; exit 2 ;;
esac
kit=${LAVA_KIT:-}
need="vmlinuz initramfs.cpio.gz"
[ -n "$kit" ] || need="$need payload.img"
for f in $need; do
	[ -f "$lab/$f" ] || { echo "job.sh: no $lab/$f (make lab)" >&2; exit 1; }
done
if [ -n "$kit" ]; then
	[ -f "$kit" ] || { echo "job.sh: LAVA_KIT: no kit $kit (make kit ARCH=aarch64)" >&2; exit 1; }
	kit=$(cd "$(dirname "$kit")" && pwd)/$(basename "$kit")
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

templates=$("$here/templates.sh")
# 3 GiB and 2 vCPUs as in the nested lab runs: the guest takes 512 MiB.
/usr/bin/python3 "$here/render-device.py" "$templates" qemu "$out/device.jinja2" \
	arch=arm64 machine="$machine" cpu="$cpu" memory=3072 "extra_options=[-smp 2]" >"$out/device.yaml"

"$here/dut-ramdisk.sh" "$lab" "$out/ramdisk.cpio.gz"
rm -f "$out/work.img"
truncate -s 1G "$out/work.img"
mke2fs -q -t ext4 -F "$out/work.img"

# The definition as it is in this checkout, committed or not.
defs=$out/definitions
rm -rf "$defs"
mkdir -p "$defs"
cp -r "$repo/lava" "$defs/lava"
git -C "$defs" init -q
git -C "$defs" add lava
git -C "$defs" -c user.name=kvmqual -c user.email=kvmqual@localhost commit -qm "lava/ of $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo checkout)"
revision=$(git -C "$defs" rev-parse HEAD)

params=
for kv in "$@"; do
	case $kv in
	*=*) params="$params
          ${kv%%=*}: '$(printf '%s' "${kv#*=}" | sed "s/'/''/g")'" ;;
	*) echo "job.sh: not KEY=VALUE: $kv" >&2; exit 2 ;;
	esac
done
timeout=${LAVA_JOB_TIMEOUT:-90}
if [ -n "$kit" ]; then
	kit_overlay="
          kit:
            url: file://$kit
            format: file
            path: /kvmqual-kit.tar.gz"
	suite_disk=
	params="
          KIT: /kvmqual-kit.tar.gz$params"
else
	kit_overlay=
	suite_disk="
      payload:
        url: file://$lab/payload.img
        image_arg: -drive file={payload},if=none,format=raw,id=labpayload,readonly=on -device virtio-blk-device,drive=labpayload,serial=labpayload"
fi

cat >"$out/job.yaml" <<YAML
# kvmqual on the emulated ARM64 lab host $config (tests/lava/job.sh)
device_type: qemu
job_name: kvmqual lab $config
priority: medium
visibility: public
timeouts:
  job: {minutes: $timeout}
  action: {minutes: $((timeout - 5))}
  connection: {minutes: 2}
# The dispatcher reads arch here; the QEMU options are in the device.
context:
  arch: arm64
actions:
- deploy:
    to: tmpfs
    timeout: {minutes: 5}
    images:
      kernel:
        url: file://$lab/vmlinuz
        image_arg: -kernel {kernel} -append "console=ttyAMA0 panic=-1 rdinit=/init"
      ramdisk:
        url: file://$out/ramdisk.cpio.gz
        image_arg: -initrd {ramdisk}
        compression: gz
        format: cpio.newc
        # LAVA puts its test overlay (and the kit) into the ramdisk itself.
        overlays:
          lava: true$kit_overlay$suite_disk
      work:
        url: file://$out/work.img
        image_arg: -drive file={work},if=none,format=raw,id=labwork,cache=unsafe -device virtio-blk-device,drive=labwork,serial=labwork
- boot:
    method: qemu
    media: tmpfs
    timeout: {minutes: 5}
    prompts: ['kvmqual-dut# ']
- test:
    timeout: {minutes: $((timeout - 15))}
    definitions:
    - repository: file://$defs
      from: git
      revision: $revision
      path: lava/kvmqual.yaml
      name: kvmqual
      parameters:
          DIR: /work/kvmqual$params
YAML
