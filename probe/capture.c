/* probe --capture: writes the live host's files that the probe reads into a
 * .tar.gz, at the same paths, so the probe can classify the host elsewhere
 * (probe --sysroot).  Device nodes become empty files; sysfs links are
 * stored as directories so the snapshot never holds a link. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../lib/tar.h"
#include "host.h"
#include "probe.h"

#define MAX_CAPTURE_FILE (16u << 20)

/* Adds a file if it exists and is readable; silently skips it otherwise
 * (a snapshot holds "whichever of these exist").  Read through the same
 * layer as every probe read (lib/hostfs.c), rooted at the live "/". */
static void add_file(struct tar_writer *w, const struct hostfs *fs, const char *rel)
{
	char *data;
	size_t len;
	if (hostfs_read(fs, rel, &data, &len, MAX_CAPTURE_FILE) == 0) {
		tar_writer_add_file(w, rel, data, len);
		free(data);
	}
}

static void add_dir_files(struct tar_writer *w, const struct hostfs *fs, const char *rel)
{
	char *abs = kq_xasprintf("/%s", rel);
	DIR *d = opendir(abs);
	free(abs);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *child = kq_xasprintf("%s/%s", rel, de->d_name);
		char *child_abs = kq_xasprintf("/%s", child);
		struct stat st;
		if (stat(child_abs, &st) == 0 && S_ISREG(st.st_mode))
			add_file(w, fs, child);
		free(child_abs);
		free(child);
	}
	closedir(d);
}

/* The regular files of every entry of a sysfs class (the entries are links
 * to device directories: stored as directories). */
static void add_class_files(struct tar_writer *w, const struct hostfs *fs, const char *rel)
{
	char **names;
	size_t n = hostfs_list(fs, rel, &names);
	for (size_t i = 0; i < n; i++) {
		char *child = kq_xasprintf("%s/%s", rel, names[i]);
		add_dir_files(w, fs, child);
		free(child);
	}
	hostfs_free_list(names);
}

/* Stores each entry of a directory as an empty directory: only the names
 * matter (IOMMUs, IOMMU groups, loaded modules). */
static void add_dir_names(struct tar_writer *w, const char *rel)
{
	char *abs = kq_xasprintf("/%s", rel);
	DIR *d = opendir(abs);
	free(abs);
	if (!d)
		return;
	tar_writer_add_dir(w, rel);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *child = kq_xasprintf("%s/%s", rel, de->d_name);
		tar_writer_add_dir(w, child);
		free(child);
	}
	closedir(d);
}

static void add_cpus(struct tar_writer *w, const struct hostfs *fs)
{
	DIR *d = opendir("/sys/devices/system/cpu");
	if (!d)
		return;
	struct dirent *de;
	static const char *const files[] = {
		"regs/identification/midr_el1", "regs/identification/revidr_el1",
		"cpu_capacity", "cpufreq/cpuinfo_max_freq",
	};
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "cpu", 3) || !de->d_name[3] ||
		    strspn(de->d_name + 3, "0123456789") != strlen(de->d_name + 3))
			continue;
		for (size_t i = 0; i < KQ_ARRAY_SIZE(files); i++) {
			char *rel = kq_xasprintf("sys/devices/system/cpu/%s/%s", de->d_name, files[i]);
			add_file(w, fs, rel);
			free(rel);
		}
	}
	closedir(d);
	add_file(w, fs, "sys/devices/system/cpu/online");
}

static void add_module_params(struct tar_writer *w, const struct hostfs *fs)
{
	/* Module names matter (kvm_pvm, kvm_intel); parameters say how KVM is
	 * set up (nested, enable_apicv). */
	static const char *const modules[] = { "kvm", "kvm_intel", "kvm_amd", "kvm_pvm", "kvm_arm",
					       "vhost_net", "vhost_vsock", "vfio", "tun" };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(modules); i++) {
		char *rel = kq_xasprintf("sys/module/%s", modules[i]);
		char *abs = kq_xasprintf("/%s", rel);
		if (access(abs, F_OK) == 0) {
			tar_writer_add_dir(w, rel);
			char *params = kq_xasprintf("%s/parameters", rel);
			add_dir_files(w, fs, params);
			free(params);
		}
		free(abs);
		free(rel);
	}
}

static void add_kernel_log(struct tar_writer *w)
{
	int size = klogctl(10, NULL, 0);
	if (size <= 0)
		return;
	char *buf = kq_xmalloc((size_t)size + 1);
	int n = klogctl(3, buf, size);
	if (n > 0)
		tar_writer_add_file(w, "dmesg.txt", buf, (size_t)n);
	free(buf);
}

int probe_capture(const char *path, const char *live_json, struct kq_err *err)
{
	/* Written beside path and renamed over it when complete: a full disk
	 * or a kill leaves the previous snapshot as it was. */
	struct kq_out out;
	if (kq_out_open(&out, path, err))
		return -1;
	int fd = dup(fileno(out.f));
	struct tar_writer *w = fd >= 0 ? tar_writer_open_fd(fd, path, err) : NULL;
	if (!w) {
		if (fd < 0)
			kq_error(err, "%s: %s", path, strerror(errno));
		else
			close(fd);
		kq_out_abort(&out);
		return -1;
	}
	struct hostfs *fs = hostfs_open_live();
	static const char *const files[] = {
		"proc/cpuinfo", "proc/cmdline", "proc/version", "proc/meminfo", "proc/config.gz",
		"sys/firmware/fdt", "sys/kernel/mm/transparent_hugepage/enabled",
		"sys/class/dmi/id/sys_vendor", "sys/class/dmi/id/product_name",
		"sys/class/dmi/id/board_name", "sys/devices/soc0/machine", "sys/devices/soc0/family",
		"sys/devices/soc0/soc_id", "proc/interrupts", "sys/fs/cgroup/cgroup.controllers",
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(files); i++)
		add_file(w, fs, files[i]);
	struct utsname u;
	uname(&u);
	char *boot_config = kq_xasprintf("boot/config-%s", u.release);
	add_file(w, fs, boot_config);
	free(boot_config);
	add_dir_files(w, fs, "sys/firmware/acpi/tables");
	add_dir_names(w, "sys/class/iommu");
	add_dir_names(w, "sys/kernel/iommu_groups");
	add_dir_names(w, "sys/kernel/mm/hugepages");
	/* The energy sensors (lib/energy.h): each entry's files, and whether
	 * the Pi's vcgencmd exists (an empty file, like the device nodes). */
	add_class_files(w, fs, "sys/class/powercap");
	add_class_files(w, fs, "sys/class/hwmon");
	add_class_files(w, fs, "sys/class/power_supply");
	add_file(w, fs, "sys/firmware/devicetree/base/model");
	if (hostfs_exists(fs, "usr/bin/vcgencmd"))
		tar_writer_add_file(w, "usr/bin/vcgencmd", "", 0);
	add_dir_files(w, fs, "sys/devices/system/cpu/vulnerabilities");
	/* cgroup v1 shows as its hierarchies' names. */
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0)
		add_dir_names(w, "sys/fs/cgroup");
	add_cpus(w, fs);
	add_module_params(w, fs);
	static const char *const devs[] = { "dev/kvm", "dev/vhost-net", "dev/vhost-vsock",
					    "dev/net/tun", "dev/vfio/vfio", "dev/gunyah" };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(devs); i++) {
		char *abs = kq_xasprintf("/%s", devs[i]);
		if (access(abs, F_OK) == 0)
			tar_writer_add_file(w, devs[i], "", 0);
		free(abs);
	}
	add_kernel_log(w);
	/* What only a program or a register can tell: Android's hypervisor
	 * properties and, on x86, the firmware's VT-x / AMD-V lock. */
	size_t props_len;
	char *props = host_getprop(&props_len);
	if (props)
		tar_writer_add_file(w, "android-getprop.txt", props, props_len);
	free(props);
	uint64_t msr;
	char *msrs = NULL;
	if (host_read_msr(0, 0x3a, &msr) == 0)
		msrs = kq_xasprintf("feature_control=0x%llx\n", (unsigned long long)msr);
	else if (host_read_msr(0, 0xc0010114u, &msr) == 0)
		msrs = kq_xasprintf("vm_cr=0x%llx\n", (unsigned long long)msr);
	if (msrs)
		tar_writer_add_file(w, "x86-msr.txt", msrs, strlen(msrs));
	free(msrs);

	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	char *info = kq_xasprintf("machine=%s\nrelease=%s\npage_size=%ld\ncaptured_at=%s\ncaptured_by=kvmqual probe %s\n",
				  u.machine, u.release, sysconf(_SC_PAGESIZE), when, PROBE_VERSION);
	tar_writer_add_file(w, "snapshot-info.txt", info, strlen(info));
	free(info);
	if (live_json)
		tar_writer_add_file(w, "probe-live.json", live_json, strlen(live_json));
	hostfs_close(fs);
	if (tar_writer_close(w, err)) {
		kq_out_abort(&out);
		return -1;
	}
	return kq_out_commit(&out, err);
}
