/* Text from the host: kernel log, kernel config, cpuinfo, command line,
 * /proc/interrupts, CPU vulnerabilities, cgroup controllers, getprop; and
 * from the guest: its answer about its CPU vulnerabilities (runners/
 * guestvuln.c), as standard output and as standard error.
 * The buffers are not NUL-terminated, as a read() would give them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../probe/parse.h"
#include "../../runners/guestvuln.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct kvm_arm_log k;
	dmesg_kvm_arm(text, size, &k);
	char line[64];
	dmesg_boot_el(text, size, line, sizeof(line));
	kconfig_value(text, size, "KVM");
	kconfig_value(text, size, "VHOST_NET");
	dmesg_gic_version(text, size, line, sizeof(line));
	proc_interrupts_find(text, size, "vgic", line, sizeof(line));
	struct cpuinfo ci;
	cpuinfo_parse(text, size, &ci);
	char why[200];
	cpuinfo_vhe(&ci, why, sizeof(why));
	cpuinfo_free(&ci);
	struct vuln_report vr;
	vuln_parse(text, size, &vr);
	char summary[300];
	vuln_summary(&vr, summary, sizeof(summary));
	struct guest_vulns *gv = malloc(sizeof(*gv));
	guest_vulns_parse(size ? data[0] % 4 - 1 : 0, size && data[0] == 7, text, size, text, size, gv);
	char *json = guest_vulns_json(gv);
	if (json && gv->known) {
		/* What goes into the store is printable ASCII and a JSON object. */
		for (const char *p = json; *p; p++)
			if (*p < 0x20 || *p >= 0x7f)
				__builtin_trap();
	}
	if (gv->known != (json != NULL) || strlen(gv->why) >= sizeof(gv->why))
		__builtin_trap();
	free(json);
	guest_vulns_summary(gv, summary, sizeof(summary));
	free(gv);
	struct android_hyp ah;
	android_props_parse(text, size, &ah);
	char *z = malloc(size + 1);
	memcpy(z, data, size);
	z[size] = '\0';
	char value[32];
	cmdline_get(z, "kvm-arm.mode", value, sizeof(value));
	flag_list_has(z, "vmx");
	char missing[16];
	cgroup_missing_controllers(z, missing, sizeof(missing));
	free(z);
	return 0;
}
