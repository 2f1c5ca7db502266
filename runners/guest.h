/* Booting the benchmark guest with QEMU and connecting to its agent.  QEMU
 * connects to a socket this process listens on (so there is no race with
 * QEMU creating it), its console goes to a log file, and it is always
 * killed on the way out: no orphaned QEMU, ever. */
#ifndef KQ_GUEST_H
#define KQ_GUEST_H

#include <sched.h>
#include <sys/types.h>

#include "agent_client.h"
#include "qmp.h"
#include "vcpu.h"

struct guest_config {
	const char *arch;        /* "aarch64" or "x86_64" */
	const char *accel;       /* "tcg" or "kvm" */
	const char *cpu;         /* NULL: host under KVM, a named CPU under TCG */
	const char *gic;         /* aarch64 -M virt,gic-version=; NULL = default */
	const char *image_dir;   /* vmlinuz, initramfs.cpio.gz */
	const char *qemu;        /* NULL: qemu-system-ARCH from PATH */
	const char *disk;        /* scratch disk image (raw) or NULL */
	const char *disk_opts;   /* e.g. "cache=none,aio=native"; NULL = cache=unsafe */
	int mem_mb, cpus;
	int net_user;            /* QEMU user-mode network (10.0.2.15 via 10.0.2.2) */
	const char *append;      /* extra kernel command line */
	const char *console_log; /* file for the guest console; NULL = in the work dir */
	const char *pin_cpus;    /* host CPU list ("4-7") QEMU is confined to; NULL = any */
	const char *tap_netns;   /* tap networking in this namespace (runners/netns.h) instead of user-mode */
	int vhost;               /* with tap: the in-kernel vhost-net backend */
	/* Guest memory backed by huge pages of this size (KiB: 64, 2048,
	 * 32768, ...) from a hugetlb memfd; 0 = QEMU's default (anonymous
	 * memory, transparent huge pages where the host gives them).  The
	 * pages must be reserved (memory_hugepages_free). */
	long hugepage_kb;
	int balloon;             /* a virtio-balloon device (needs qmp to drive it) */
	int qmp;                 /* a QMP monitor on a socket this process listens on (g->qmp) */
	/* With QMP, QEMU starts paused (-S): guest_boot finds the vCPU threads
	 * (g->vcpu_tid), pins them as vcpu_pin says (which needs qmp), reads
	 * their affinity back from /proc (g->vcpu_cpus), then lets it run. */
	struct vcpu_pin vcpu_pin;
	const char *cgroup;      /* a cgroup directory QEMU joins before it starts (cgroup.procs) */
	char *const *extra_opts; /* more QEMU options, after the suite's own (NULL-terminated; may be NULL) */
	int check_only;          /* guest_check: stop once QEMU has set the machine up, paused */
};

struct guest {
	pid_t pid;
	int listen_fd;
	char workdir[96]; /* $TMPDIR (at most 64 characters)/kvmqual-guest.PID.XXXXXX */
	char socket_path[128];
	char console_path[256];
	uint64_t exec_ns;        /* when QEMU was started */
	struct agent_conn agent;
	struct agent_ready ready;
	int qmp_listen_fd;
	char qmp_path[128];
	struct qmp qmp;          /* fd -1 unless cfg->qmp */
	int mem_mb;              /* the guest's memory, as QEMU was given it */
	size_t vcpu_count;       /* with qmp: QEMU's vCPU threads and where each may run */
	pid_t vcpu_tid[VCPU_MAX];
	char vcpu_cpus[VCPU_MAX][64];
};

/* Starts QEMU and waits (at most boot_timeout_ms) for the agent's ready
 * frame.  On failure QEMU is gone and err says why, with the tail of the
 * console log. */
int guest_boot(const struct guest_config *cfg, struct guest *g, int boot_timeout_ms, struct kq_err *err);
/* Starts QEMU paused with exactly cfg's command line (and its pinning) and
 * stops it once QEMU has set the machine up (its monitor answers
 * query-status): whether QEMU accepts the configuration, without booting
 * the guest.  0, or -1 with QEMU's own words in err. */
int guest_check(const struct guest_config *cfg, int timeout_ms, struct kq_err *err);
/* Powers the guest off through the agent, waits for QEMU, kills it if it
 * lingers; removes the work directory.  Safe to call twice. */
void guest_stop(struct guest *g);
/* Builds QEMU's argument vector (exposed for tests). */
char **guest_qemu_argv(const struct guest_config *cfg, const char *socket_path, const char *console_path,
		       const char *qmp_path);
void guest_free_argv(char **argv);
/* What an image's manifest.json says it is: its architecture and hash
 * (written into arch/hash, which may be NULL).  0, or -1 with err. */
int guest_image_info(const char *image_dir, char *arch, size_t arch_size, char *hash, size_t hash_size,
		     struct kq_err *err);
/* Parses a CPU list ("0-3,6") as the probe's pin_cpus gives it; 0 or -1. */
int guest_parse_cpulist(const char *list, cpu_set_t *set);

#endif
