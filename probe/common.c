/* The checks that are the same on every architecture and read only files:
 * the architecture itself, the kernel configuration, the device nodes KVM
 * guests use, memory (page size, huge pages), and the energy sensor. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/energy.h"
#include "probe.h"

void probe_check_arch(struct probe *p, const char *machine)
{
	if (p->arch) {
		probe_addf(p, "cpu.arch", CHECK_PASS, NULL, "%s", p->arch->name);
		return;
	}
	struct check *c = probe_addf(p, "cpu.arch", CHECK_FAIL,
				     "kvmqual qualifies aarch64 and x86_64 hosts only",
				     "%s", machine[0] ? machine : "unknown");
	check_set_detail(c, machine[0] ? "unsupported architecture"
				       : "cannot tell the architecture (no uname, snapshot-info.txt or cpuinfo)");
}

static const char *const kconfig_options[] = {
	"KVM", "VHOST_NET", "VHOST_VSOCK", "VIRTIO", "VIRTIO_PCI", "VIRTIO_BALLOON",
	"VIRTIO_BLK", "VIRTIO_NET", "VIRTIO_CONSOLE", "SCSI_VIRTIO", "CRYPTO_DEV_VIRTIO",
};

void probe_check_kconfig(struct probe *p)
{
	for (size_t i = 0; i < KQ_ARRAY_SIZE(kconfig_options); i++) {
		const char *opt = kconfig_options[i];
		char id[64], v = probe_kconfig(p, opt);
		snprintf(id, sizeof(id), "kconfig.%s", opt);
		char value[2] = { v == '?' ? 0 : v, 0 };
		struct check *c;
		if (v == 'y' || v == 'm') {
			c = probe_add(p, id, CHECK_PASS, value, NULL, NULL);
			check_set_detail(c, "CONFIG_%s=%c (%s)", opt, v, p->kconfig_source);
		} else if (v == '?') {
			c = probe_add(p, id, CHECK_WARN, "unknown", NULL,
				      "the kernel configuration is not readable: build with CONFIG_IKCONFIG_PROC=y, "
				      "or install the kernel's config as /boot/config-$(uname -r)");
			check_set_detail(c, "%s", p->kconfig_source);
		} else {
			int is_kvm = !strcmp(opt, "KVM");
			int is_vhost_net = !strcmp(opt, "VHOST_NET");
			char *hint = kq_xasprintf(
				is_kvm ? "rebuild the kernel with CONFIG_VIRTUALIZATION=y and CONFIG_KVM=y"
				: is_vhost_net ? "rebuild with CONFIG_VHOST_NET=m: without it guest networking "
						 "runs through QEMU's user-space path and will not reach 1 Gbit/s"
					       : "rebuild with CONFIG_%s=m if guests or nested setups need it", opt);
			c = probe_add(p, id, is_kvm ? CHECK_FAIL : CHECK_WARN, "n", NULL, hint);
			free(hint);
			c->limits = is_vhost_net;
			check_set_detail(c, "CONFIG_%s is not set (%s)", opt, p->kconfig_source);
		}
	}
}

struct dev_desc {
	const char *id, *path, *module, *kconfig, *purpose;
	int limits;
};

static const struct dev_desc devices[] = {
	{ "dev.vhost_net", "dev/vhost-net", "vhost_net", "VHOST_NET",
	  "in-kernel virtio-net backend, needed for >= 1 Gbit/s guest networking", 1 },
	{ "dev.vhost_vsock", "dev/vhost-vsock", "vhost_vsock", "VHOST_VSOCK", "host<->guest sockets (vsock)", 0 },
	{ "dev.tun", "dev/net/tun", "tun", "TUN", "tap network devices for guests", 0 },
	{ "dev.vfio", "dev/vfio/vfio", "vfio", "VFIO", "device passthrough (VFIO)", 0 },
};

void probe_check_devices(struct probe *p)
{
	for (size_t i = 0; i < KQ_ARRAY_SIZE(devices); i++) {
		const struct dev_desc *d = &devices[i];
		int present = hostfs_exists(p->fs, d->path);
		if (present && !p->live) {
			struct check *c = probe_addf(p, d->id, CHECK_PASS, NULL, "present");
			check_set_detail(c, "/%s exists (snapshot: not opened)", d->path);
			continue;
		}
		int err = ENOENT;
		if (present) {
			char *abs = kq_xasprintf("/%s", d->path);
			int fd = open(abs, O_RDWR | O_CLOEXEC);
			err = fd >= 0 ? 0 : errno;
			if (fd >= 0)
				close(fd);
			free(abs);
		}
		if (!err) {
			struct check *c = probe_addf(p, d->id, CHECK_PASS, NULL, "ok");
			check_set_detail(c, "/%s opens read-write: %s", d->path, d->purpose);
			continue;
		}
		char hint[320];
		if (err == ENOENT)
			snprintf(hint, sizeof(hint), "%s: sudo modprobe %s (or build the kernel with it)",
				 probe_kconfig(p, d->kconfig) == 'm'
					 ? "the module is built but not loaded" : "missing",
				 d->module);
		else if (err == EACCES || err == EPERM)
			snprintf(hint, sizeof(hint), "no permission on /%s: run as root, or give your user "
				 "access (a udev rule or group, as for /dev/kvm)", d->path);
		else
			snprintf(hint, sizeof(hint), "/%s does not open (%s): check dmesg", d->path, strerror(err));
		struct check *c = probe_addf(p, d->id, CHECK_WARN, hint, "%s",
					     err == ENOENT ? "absent" : strerror(err));
		c->limits = d->limits;
		check_set_detail(c, "/%s: %s; used for %s", d->path, strerror(err), d->purpose);
	}
}

void probe_check_memory(struct probe *p)
{
	long ps = p->host.page_size;
	if (!ps) {
		struct check *c = probe_add(p, "mem.page_size", CHECK_WARN, "unknown", NULL,
					    "capture the snapshot with 'probe --capture' so that it records the page size");
		check_set_detail(c, "the snapshot does not record the page size and the kernel config does not say");
	} else if (ps == 4096) {
		struct check *c = probe_addf(p, "mem.page_size", CHECK_PASS, NULL, "4K");
		check_set_detail(c, "4 KiB pages, what guests and VMMs expect");
	} else {
		struct check *c = probe_addf(
			p, "mem.page_size", CHECK_WARN,
			"KVM works, but VMMs and guest images that assume 4K pages can fail (memory sizes "
			"and alignments must be multiples of the host page); if one does, boot a 4K-page "
			"kernel (Raspberry Pi OS: kernel=kernel8.img in config.txt)",
			"%ldK", ps / 1024);
		c->limits = 1;
		check_set_detail(c, "%ld KiB pages", ps / 1024);
	}

	char **names = NULL;
	size_t n = hostfs_list(p->fs, "sys/kernel/mm/hugepages", &names);
	struct kq_buf sizes;
	kq_buf_init(&sizes);
	for (size_t i = 0; i < n; i++) {
		if (!kq_startswith(names[i], "hugepages-"))
			continue;
		kq_buf_printf(&sizes, "%s%s", sizes.len ? "," : "", names[i] + 10);
	}
	hostfs_free_list(names);
	char *thp = hostfs_read_line(p->fs, "sys/kernel/mm/transparent_hugepage/enabled");
	char thp_mode[32] = "absent";
	if (thp) {
		char *open = strchr(thp, '['), *close = open ? strchr(open, ']') : NULL;
		if (open && close && close - open < (long)sizeof(thp_mode)) {
			memcpy(thp_mode, open + 1, (size_t)(close - open - 1));
			thp_mode[close - open - 1] = '\0';
		} else {
			snprintf(thp_mode, sizeof(thp_mode), "unknown");
		}
	}
	free(thp);
	int thp_ok = !strcmp(thp_mode, "always") || !strcmp(thp_mode, "madvise");
	struct check *c;
	if (thp_ok || sizes.len)
		c = probe_addf(p, "mem.hugepages", CHECK_PASS, NULL, "THP %s; hugetlb %s", thp_mode,
			       sizes.len ? sizes.data : "none");
	else
		c = probe_addf(p, "mem.hugepages", CHECK_WARN,
			       "guest memory will use base pages only (more TLB misses); enable "
			       "CONFIG_TRANSPARENT_HUGEPAGE, or echo madvise > /sys/kernel/mm/transparent_hugepage/enabled",
			       "THP %s; hugetlb %s", thp_mode, sizes.len ? sizes.data : "none");
	check_set_detail(c, "transparent huge pages: %s; hugetlbfs page sizes: %s", thp_mode,
			 sizes.len ? sizes.data : "none");
	kq_buf_free(&sizes);
}

/* The energy sensor kvmqual run would measure with (lib/energy.h): named
 * here so that a person sees before a run whether energy per unit of work
 * can be had on this host, and why not. */
void probe_check_energy(struct probe *p)
{
	struct energy_sensor s;
	if (energy_discover(p->fs, &s)) {
		struct check *c = probe_addf(p, "host.energy", CHECK_PASS, NULL, "%s", s.source);
		check_set_detail(c, "%s", s.description);
		return;
	}
	struct check *c = probe_addf(p, "host.energy", CHECK_WARN,
				     "energy per unit of work cannot be measured here (CPU time is, always): run as root "
				     "where RAPL exists, on battery on a phone or laptop, or on a Pi 5 with vcgencmd",
				     "unavailable");
	check_set_detail(c, "%s", s.unavailable);
}
