/* Host identity and the checks that are the same on every architecture but
 * need the live system (QEMU lookup). */
#ifndef KQ_PROBE_HOST_H
#define KQ_PROBE_HOST_H

#include <stddef.h>
#include <stdint.h>

struct probe;

/* Looks up key in "key=value" lines (snapshot-info.txt). */
int host_info_get(const char *text, const char *key, char *value, size_t size);
void host_identity_read(struct probe *p, const char *machine);
/* Page size from the snapshot record or the kernel config when unknown. */
void host_page_size_fallback(struct probe *p);
/* Whether the host is a machine QEMU emulates, with the evidence; after the
 * firmware (device tree, ACPI) and cpuinfo are read. */
void host_emulation_detect(struct probe *p);
struct qemu_query;
/* Starts looking QEMU up (live only); host_check_qemu() collects the answer
 * and frees q. */
struct qemu_query *host_qemu_start(const struct probe *p);
void host_check_qemu(struct probe *p, struct qemu_query *q);

/* Android's ro.boot.hypervisor.* lines from getprop ("[key]: [value]"),
 * or NULL when there is no getprop; *len gets the length. */
char *host_getprop(size_t *len);
/* Reads a model-specific register through /dev/cpu/N/msr (root, the msr
 * module): 0, or -errno. */
int host_read_msr(unsigned cpu, uint32_t msr, uint64_t *value);

#endif
