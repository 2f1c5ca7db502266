# Field-kit lab hosts for the kit tests (tests/sections/kit.sh, kit-lab.sh):
# a lab host (tests/lab/run.sh) with no payload disk, reached over ssh on a
# loopback port forwarded by QEMU's user network, its dropbear taking this
# test's key. Sourced (POSIX sh); uses $tmp and $TT/tcp_listen (build/tests when unset).
#
#   kit_host_start NAME CONFIG KIND    boots it in the background; KIND:
#       board    busybox only: root's shell is busybox sh
#       android  root's shell chroots into /android (static mksh as
#                /system/bin/sh, static toybox, no /tmp, no glibc, PATH
#                /system/bin, the work disk at /data/local/tmp)
#     both have the work disk at /work and a 48 MiB tmpfs at /small (too
#     small for a kit); sets kit_port and kit_ssh (for KVMQUAL_SSH)
#     returns non-zero when ssh did not answer in time (kit_why says why)
#   kit_host_stop NAME                 powers it off, waits for run.sh
#
# The port comes from the kernel (tcp_listen free-port); when QEMU finds it
# taken a moment later, another is tried.

kit_host_keys() {
	[ -f "$tmp/kit-key" ] || ssh-keygen -q -t ed25519 -N '' -C kvmqual-kit-test -f "$tmp/kit-key" || return 1
	{
		echo "Host *"
		echo "  IdentityFile $tmp/kit-key"
		echo "  IdentitiesOnly yes"
		echo "  UserKnownHostsFile $tmp/kit-known-hosts"
		# The lab host's key is made at its first boot; the file is this
		# test's own, so accepting a new key never trusts a foreign one.
		echo "  StrictHostKeyChecking accept-new"
		echo "  LogLevel ERROR"
	} >"$tmp/kit-ssh-config"
	kit_ssh="ssh -F $tmp/kit-ssh-config"
}

# The command the lab host runs: network, key, shell, dropbear, then wait
# for /work/.kit-stop (bounded by LAB_TIMEOUT; the Android-like host's
# shell sees it as /data/local/tmp/.kit-stop).
kit_host_cmd() { # KIND
	pub=$(cat "$tmp/kit-key.pub")
	shell=/bin/sh
	[ "$1" = android ] && shell=/bin/android-sh
	printf '%s\n' \
		'ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 || exit 91' \
		"mkdir -p /root/.ssh && echo '$pub' > /root/.ssh/authorized_keys && chmod 700 /root /root/.ssh && chmod 600 /root/.ssh/authorized_keys || exit 92" \
		"echo 'root:x:0:0:root:/root:$shell' > /etc/passwd; echo '$shell' > /etc/shells" \
		"grep -q ' /work ' /proc/mounts || exit 96" \
		'mkdir -p /small && mount -t tmpfs -o size=48m tmpfs /small || exit 97'
	if [ "$1" = android ]; then
		printf '%s\n' \
			'a=/android' \
			'mount -t proc proc $a/proc && mount -t sysfs sysfs $a/sys && mount -o bind /dev $a/dev || exit 93' \
			'mount -o bind /work $a/data/local/tmp || exit 94' \
			'for t in $(chroot $a /system/bin/toybox); do [ -e $a/system/bin/$t ] || ln -s toybox $a/system/bin/$t; done' \
			'rm -rf $a/tmp $a/lib $a/usr $a/bin' \
			"printf '#!/bin/sh\\nexec chroot /android /system/bin/toybox env -i PATH=/system/bin HOME=/data/local/tmp ANDROID_ROOT=/system /system/bin/sh \"\$@\"\\n' > /bin/android-sh" \
			'chmod 755 /bin/android-sh'
	fi
	printf '%s\n' \
		'mkdir -p /etc/dropbear && /opt/lab-sshd/bin/dropbear -R -s -p 22 -P /run/dropbear.pid || exit 95' \
		'echo KIT-HOST-UP' \
		'while [ ! -e /work/.kit-stop ]; do sleep 1; done' \
		'cat /work/.kit-stop > /out/stopped.txt'
}

kit_host_start() { # NAME CONFIG KIND
	name=$1 config=$2 kind=$3
	kit_host_keys || { kit_why="ssh-keygen failed"; return 1; }
	cmd=$(kit_host_cmd "$kind")
	tries=0
	while :; do
		tries=$((tries + 1))
		kit_port=$("${TT:-build/tests}/tcp_listen" free-port) || { kit_why="no free port"; return 1; }
		rm -rf "$tmp/kit-$name"
		# A session of its own, so that stopping it stops its QEMU too.
		LAB_SSH_PORT=$kit_port LAB_WORK_MB=${KIT_WORK_MB:-2048} LAB_MEM=${KIT_MEM:-3072} LAB_SMP=2 \
			LAB_TIMEOUT=${KIT_HOST_TIMEOUT:-3600} setsid tests/lab/run.sh "$config" "$tmp/kit-$name" sh -c "$cmd" \
			>"$tmp/kit-$name.log" 2>&1 &
		eval "kit_pid_$name=\$!"
		# Up when ssh answers (bounded: the boot is seconds, the first
		# dropbear key a few more under TCG on a busy machine).
		deadline=$(($(date +%s) + ${KIT_BOOT_WAIT:-300}))
		while [ "$(date +%s)" -lt "$deadline" ]; do
			if $kit_ssh -o ConnectTimeout=10 -o BatchMode=yes -p "$kit_port" root@127.0.0.1 true 2>/dev/null; then
				return 0
			fi
			eval "p=\$kit_pid_$name"
			kill -0 "$p" 2>/dev/null || break
			sleep 1
		done
		eval "p=\$kit_pid_$name"
		if ! kill -0 "$p" 2>/dev/null && grep -q 'Could not set up host forwarding' "$tmp/kit-$name/qemu.err" 2>/dev/null &&
			[ "$tries" -lt 5 ]; then
			continue # the port was taken in between
		fi
		pkill -TERM -P "$p" 2>/dev/null
		kill -TERM -- "-$p" 2>/dev/null
		wait "$p" 2>/dev/null
		kit_why="ssh to the $config lab host on port $kit_port did not answer: $(tail -n 30 "$tmp/kit-$name.log" "$tmp/kit-$name/console.log" 2>/dev/null | tr '\n' ' ' | tail -c 1500)"
		return 1
	done
}

kit_host_stop() { # NAME
	eval "p=\$kit_pid_$1"
	[ -n "$p" ] || return 0
	$kit_ssh -o ConnectTimeout=10 -p "$kit_port" root@127.0.0.1 \
		'if [ -d /data/local/tmp ]; then echo stop > /data/local/tmp/.kit-stop; else echo stop > /work/.kit-stop; fi' 2>/dev/null
	# run.sh ends once the host powered off (its own LAB_TIMEOUT bounds it).
	deadline=$(($(date +%s) + 120))
	while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
	# timeout(1) under run.sh has a process group of its own: TERM it by
	# its parent's pid, and it takes QEMU along.
	pkill -TERM -P "$p" 2>/dev/null
	kill -TERM -- "-$p" 2>/dev/null
	wait "$p" 2>/dev/null
	eval "kit_pid_$1="
}
