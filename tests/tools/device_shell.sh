#!/bin/sh
# A device for kvmqual remote's hostile tests (tests/sections/hostile.sh):
# a directory on this machine whose shell kvmqual remote reaches through
# KVMQUAL_SSH (which exists to name another client) instead of ssh:
#
#   KVMQUAL_SSH="sh tests/tools/device_shell.sh HOME" kvmqual remote --via ssh://device ...
#
# It takes ssh's arguments (options, the host, the command) and runs the
# command as the device's shell would: in HOME, with HOME set, and with
# HOME/bin first on PATH, where a test puts the device's own hostile
# programs (a df that never ends, ...).  Everything kvmqual remote sends
# really runs: the kit is really copied, checked and unpacked, the job
# really started and followed, files really fetched.
home=$1
shift
cmd=
for a in "$@"; do cmd=$a; done
cd "$home" || exit 255
HOME=$home PATH=$home/bin:$PATH exec sh -c "$cmd"
