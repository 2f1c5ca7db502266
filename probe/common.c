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
#include "host.h"
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

/* Snapdragon 8 Gen 2 and later boot Linux at EL1 under Qualcomm's Gunyah,
 * which shows as /dev/gunyah, with no /dev/kvm. */
static void check_vendor_hypervisor(struct probe *p)
{
	if (!hostfs_exists(p->fs, "dev/gunyah")) {
		probe_add(p, "hyp.vendor", CHECK_PASS, "none", "no /dev/gunyah: no vendor hypervisor in the way", NULL);
		return;
	}
	struct check *c = probe_add(p, "hyp.vendor", CHECK_WARN, "gunyah", NULL, GUNYAH_DIAGNOSIS);
	c->limits = 1;
	check_set_detail(c, "/dev/gunyah exists: Qualcomm's Gunyah hypervisor runs at EL2%s",
			 hostfs_exists(p->fs, "dev/kvm") ? "" : ", and there is no /dev/kvm");
}

/* Android says what its hypervisor offers in ro.boot.hypervisor.*; the
 * live probe asks getprop (a snapshot keeps its answer, those lines only,
 * in android-getprop.txt). */
static void check_android(struct probe *p)
{
	char *text = NULL;
	size_t len = 0;
	if (p->live)
		text = host_getprop(&len);
	else if (hostfs_read(p->fs, "android-getprop.txt", &text, &len, 1 << 20))
		text = NULL;
	if (!text) {
		probe_add(p, "android.hypervisor", CHECK_SKIP, "",
			  p->live ? "not Android (no getprop)" : "no android-getprop.txt in the snapshot (not Android)",
			  NULL);
		return;
	}
	struct android_hyp a;
	android_props_parse(text, len, &a);
	free(text);
	if (!a.props) {
		probe_add(p, "android.hypervisor", CHECK_WARN, "not stated",
			  "getprop lists no ro.boot.hypervisor.* property",
			  "this Android build does not state VM support (Android 13 and later do, with pKVM)");
		return;
	}
	char value[160];
	snprintf(value, sizeof(value), "vm.supported=%s, protected_vm.supported=%s%s%s",
		 a.vm_supported == 1 ? "1" : a.vm_supported == 0 ? "0" : "absent",
		 a.protected_vm_supported == 1 ? "1" : a.protected_vm_supported == 0 ? "0" : "absent",
		 a.version[0] ? ", version=" : "", a.version);
	struct check *c;
	if (a.vm_supported == 1)
		c = probe_add(p, "android.hypervisor", CHECK_PASS, value, NULL, NULL);
	else if (a.protected_vm_supported == 1)
		c = probe_add(p, "android.hypervisor", CHECK_WARN, value, NULL,
			      "Android offers protected VMs only, through its Virtualization Framework (pKVM, "
			      "or the vendor's hypervisor); ordinary VMs need root and /dev/kvm");
	else
		c = probe_add(p, "android.hypervisor", CHECK_WARN, value, NULL,
			      "Android states no VM support: the vendor's build does not enable pKVM/AVF");
	check_set_detail(c, "getprop ro.boot.hypervisor.*: %d propert%s", a.props, a.props == 1 ? "y" : "ies");
}

/* What the kernel says of the CPU's speculation vulnerabilities (the
 * guests run on the same CPU, so its exposure is theirs too). */
static void check_vulnerabilities(struct probe *p)
{
	static const char dir[] = "sys/devices/system/cpu/vulnerabilities";
	char **names = NULL;
	size_t n = hostfs_list(p->fs, dir, &names);
	struct kq_buf text;
	kq_buf_init(&text);
	for (size_t i = 0; i < n; i++) {
		char *path = kq_xasprintf("%s/%s", dir, names[i]);
		char *line = hostfs_read_line(p->fs, path);
		if (line)
			kq_buf_printf(&text, "%s:%s\n", names[i], line);
		free(line);
		free(path);
	}
	hostfs_free_list(names);
	struct vuln_report r;
	vuln_parse(text.data, text.len, &r);
	kq_buf_free(&text);
	if (!r.count) {
		probe_add(p, "cpu.vulnerabilities", CHECK_SKIP, "", p->live ? "no /sys/devices/system/cpu/vulnerabilities"
									  : "the snapshot has no sys/devices/system/cpu/vulnerabilities",
			  NULL);
		return;
	}
	char summary[400];
	vuln_summary(&r, summary, sizeof(summary));
	struct check *c;
	if (r.vulnerable)
		c = probe_add(p, "cpu.vulnerabilities", CHECK_WARN, summary, NULL,
			      "the kernel reports the CPU vulnerable, and guests share the CPU: update the kernel, "
			      "the CPU microcode or firmware (TF-A), and see the kernel's admin-guide/hw-vuln");
	else
		c = probe_add(p, "cpu.vulnerabilities", CHECK_PASS, summary, NULL, NULL);
	check_set_detail(c, "/sys/devices/system/cpu/vulnerabilities: %zu files", r.count);
	c->data = cJSON_CreateObject();
	for (size_t i = 0; i < r.count; i++)
		cJSON_AddStringToObject(c->data, r.e[i].name, r.e[i].text);
}

/* libvirt and the runner put each VMM in a cgroup; v2's root lists the
 * controllers that can be delegated. */
static void check_cgroups(struct probe *p)
{
	char *controllers = hostfs_read_line(p->fs, "sys/fs/cgroup/cgroup.controllers");
	if (!controllers) {
		int v1 = hostfs_exists(p->fs, "sys/fs/cgroup/cpu") || hostfs_exists(p->fs, "sys/fs/cgroup/memory");
		if (v1)
			probe_add(p, "cgroup.controllers", CHECK_WARN, "v1",
				  "/sys/fs/cgroup holds cgroup v1 hierarchies, no cgroup.controllers",
				  "VMMs and the runner expect the unified cgroup v2 hierarchy: boot with "
				  "systemd.unified_cgroup_hierarchy=1");
		else
			probe_add(p, "cgroup.controllers", CHECK_SKIP, "",
				  p->live ? "no cgroup filesystem at /sys/fs/cgroup" : "the snapshot has no sys/fs/cgroup",
				  NULL);
		return;
	}
	char missing[64];
	int n = cgroup_missing_controllers(controllers, missing, sizeof(missing));
	struct check *c;
	if (!n) {
		c = probe_add(p, "cgroup.controllers", CHECK_PASS, "v2: cpu cpuset memory io pids", NULL, NULL);
	} else {
		char hint[300];
		snprintf(hint, sizeof(hint), "the cgroup v2 root lacks %s: VMMs cannot be limited or pinned that way; "
					     "build the kernel with the controller (CONFIG_CGROUP_SCHED, CONFIG_CPUSETS, "
					     "CONFIG_MEMCG, CONFIG_BLK_CGROUP, CONFIG_CGROUP_PIDS)", missing);
		c = probe_addf(p, "cgroup.controllers", CHECK_WARN, hint, "v2, missing: %s", missing);
	}
	check_set_detail(c, "/sys/fs/cgroup/cgroup.controllers: %s", controllers);
	free(controllers);
}

void probe_check_platform(struct probe *p)
{
	check_vendor_hypervisor(p);
	check_android(p);
	check_vulnerabilities(p);
	check_cgroups(p);
}
