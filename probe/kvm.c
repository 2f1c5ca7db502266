/* The live KVM checks: /dev/kvm, the API and its capabilities, and the smoke
 * test.  Only generic ioctls are used here; the guest code for the smoke
 * test lives in kvm_<hostarch>.c. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "probe.h"

/* One wrapper per ioctl, so the classification code never sees a raw one. */
static int kvm_get_api_version(int kvm_fd)
{
	return ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
}

static long kvm_check_extension(int kvm_fd, long cap)
{
	return ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);
}

static const char *device_hint(const struct probe *p, int err)
{
	switch (err) {
	case ENOENT:
		if (hostfs_exists(p->fs, "dev/gunyah"))
			return GUNYAH_DIAGNOSIS;
		return p->arch ? p->arch->no_kvm_device_hint : "no /dev/kvm";
	case EACCES:
	case EPERM:
		return "no permission on /dev/kvm: add your user to the kvm group "
		       "(sudo usermod -aG kvm $USER, then log in again) or run as root";
	case ENODEV:
	case ENXIO:
		return "/dev/kvm exists but KVM did not initialise: read dmesg | grep -i kvm";
	case EBUSY:
		return "another hypervisor (VirtualBox, VMware) holds the virtualization extensions: stop it";
	default:
		return "/dev/kvm does not open: read dmesg | grep -i kvm";
	}
}

static void check_device(struct probe *p, int *fd_out)
{
	*fd_out = -1;
	int present = hostfs_exists(p->fs, "dev/kvm");
	if (!p->live) {
		if (present)
			probe_add(p, "kvm.device", CHECK_PASS, "present", "/dev/kvm exists (snapshot: not opened)", NULL);
		else
			probe_add(p, "kvm.device", CHECK_FAIL, "absent", "no dev/kvm in the snapshot",
				  device_hint(p, ENOENT));
		p->kvm.dev_errno = present ? 0 : ENOENT;
		return;
	}
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	p->kvm.dev_errno = fd >= 0 ? 0 : errno;
	if (fd >= 0) {
		probe_add(p, "kvm.device", CHECK_PASS, "ok", "/dev/kvm opens read-write", NULL);
		*fd_out = fd;
		return;
	}
	int e = p->kvm.dev_errno;
	struct check *c = probe_addf(p, "kvm.device", CHECK_FAIL, device_hint(p, e), "%s",
				     e == ENOENT ? "absent" : strerror(e));
	check_set_detail(c, "open(/dev/kvm, O_RDWR): %s", strerror(e));
}

static void check_api(struct probe *p, int fd)
{
	if (!p->live) {
		probe_add(p, "kvm.api", CHECK_SKIP, "", "snapshot: ioctls need the live host", NULL);
		return;
	}
	if (fd < 0) {
		probe_add(p, "kvm.api", CHECK_SKIP, "", "no usable /dev/kvm", NULL);
		return;
	}
	int version = kvm_get_api_version(fd);
	p->kvm.api_version = version;
	if (version != KVM_API_VERSION) {
		struct check *c = probe_addf(p, "kvm.api", CHECK_FAIL,
					     "this KVM speaks an API QEMU does not: the kernel's KVM is broken or foreign",
					     "%d", version);
		check_set_detail(c, "KVM_GET_API_VERSION returned %d, expected %d (%s)", version,
				 KVM_API_VERSION, version < 0 ? strerror(errno) : "mismatch");
		return;
	}
	cJSON *caps = cJSON_CreateObject();
	struct kq_buf detail;
	kq_buf_init(&detail);
	for (size_t i = 0; p->arch && i < p->arch->cap_count; i++) {
		long v = kvm_check_extension(fd, p->arch->caps[i].cap);
		if (v < 0)
			v = 0;
		cJSON_AddNumberToObject(caps, p->arch->caps[i].name, (double)v);
		kq_buf_printf(&detail, "%s%s=%ld", detail.len ? " " : "", p->arch->caps[i].name, v);
	}
	struct check *c = probe_addf(p, "kvm.api", CHECK_PASS, NULL, "%d", version);
	check_set_detail(c, "%s", detail.data ? detail.data : "");
	c->data = caps;
	kq_buf_free(&detail);
}

static void check_smoke(struct probe *p, int fd)
{
	if (!p->live) {
		probe_add(p, "kvm.smoke", CHECK_SKIP, "", "snapshot: the smoke test needs the live host", NULL);
		return;
	}
	if (fd < 0) {
		probe_add(p, "kvm.smoke", CHECK_SKIP, "", "no usable /dev/kvm", NULL);
		return;
	}
	if (p->opt.skip_smoke) {
		probe_add(p, "kvm.smoke", CHECK_SKIP, "", "--no-smoke", NULL);
		return;
	}
	int rc = kvm_host_smoke(fd, &p->kvm);
	if (rc == -ENOTSUP) {
		probe_add(p, "kvm.smoke", CHECK_SKIP, "", "no smoke test for this host architecture", NULL);
		return;
	}
	if (p->kvm.smoke_ok) {
		struct check *c = probe_addf(p, "kvm.smoke", CHECK_PASS, NULL, "ok in %.0f us", p->kvm.smoke_us);
		check_set_detail(c, "%s", p->kvm.smoke_detail);
		return;
	}
	struct check *c = probe_add(p, "kvm.smoke", CHECK_FAIL, "failed", p->kvm.smoke_detail,
				    "KVM accepted the device but could not run a guest: read dmesg | grep -i kvm; "
				    "on Arm check that the kernel booted at EL2");
	(void)c;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double kvm_median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void kvm_add_measurement(struct kvm_live *out, const char *id, double value, const char *unit,
			 unsigned samples, const char *detail)
{
	if (out->measurement_count >= KVM_MAX_MEASUREMENTS)
		return;
	struct measurement *m = &out->measurements[out->measurement_count++];
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->value = value;
	snprintf(m->unit, sizeof(m->unit), "%s", unit);
	m->samples = samples;
	snprintf(m->detail, sizeof(m->detail), "%s", detail);
}

void kvm_close_vm(int vm, int vcpu, void *mem, size_t mem_size, void *run, long run_size)
{
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (mem != MAP_FAILED)
		munmap(mem, mem_size);
	if (vm >= 0)
		close(vm);
}

static void skip_irq(struct probe *p, const char *why)
{
	probe_add(p, "kvm.irq.timer", CHECK_SKIP, "", why, NULL);
	probe_add(p, "kvm.irq.ipi", CHECK_SKIP, "", why, NULL);
}

/* What the interrupt test found.  A guest that gets no interrupts hangs,
 * so a failure here blocks KVM like a failed smoke test. */
static void check_irq(struct probe *p, int fd, int irq_rc)
{
	if (!p->live) {
		skip_irq(p, "snapshot: the interrupt test needs the live host");
		return;
	}
	if (fd < 0) {
		skip_irq(p, "no usable /dev/kvm");
		return;
	}
	if (p->opt.skip_smoke) {
		skip_irq(p, "--no-smoke");
		return;
	}
	const struct check *smoke = probe_find(p, "kvm.smoke");
	if (!smoke || smoke->status != CHECK_PASS) {
		skip_irq(p, "the smoke test did not pass");
		return;
	}
	if (irq_rc == -ENOTSUP) {
		skip_irq(p, "no interrupt test for this host architecture");
		return;
	}
	const struct kvm_live *k = &p->kvm;
	const char *hint = p->arch && p->arch->irq_fail_hint ? p->arch->irq_fail_hint
			   : "KVM could not deliver an interrupt to a guest: read dmesg | grep -i kvm";
	/* The kernel's own word on it, when the log has one. */
	char line[256] = "";
	if (p->log && !dmesg_find(p->log, p->log_len, "No vgic maintenance irq", line, sizeof(line)))
		line[0] = '\0';
	struct check *c;
	/* PVM is paravirtual; say what it does with interrupts, since its
	 * stock-guest failures are easily blamed on them. */
	const char *pvm = hostfs_exists(p->fs, "sys/module/kvm_pvm")
				  ? "; PVM delivers it: its in-kernel LAPIC timer serves a 32-bit guest, so interrupts "
				    "are not what stops stock guest kernels here (see kvm.mode)"
				  : "";
	if (k->timer_ok == 1) {
		c = probe_addf(p, "kvm.irq.timer", CHECK_PASS, NULL, "%.0f us", k->timer_us);
		check_set_detail(c, "%s%s", k->timer_detail, pvm);
	} else if (k->irq_no_chip && p->arch && !strcmp(p->arch->name, "x86_64")) {
		/* x86 QEMU can emulate the interrupt controllers itself
		 * (kernel_irqchip=off): slower, but guests run. */
		c = probe_add(p, "kvm.irq.timer", CHECK_WARN, "no in-kernel irqchip", NULL,
			      "KVM refused its in-kernel interrupt controllers: QEMU has to emulate them "
			      "(-machine kernel_irqchip=off), which costs an exit to user space per interrupt; "
			      "read dmesg | grep -i kvm");
		c->limits = 1;
		check_set_detail(c, "%s", k->timer_detail);
	} else {
		c = probe_add(p, "kvm.irq.timer", CHECK_FAIL, k->irq_no_chip ? "no interrupt controller" : "not delivered",
			      NULL, hint);
		check_set_detail(c, "%s%s%s", k->timer_detail, line[0] ? "; kernel log: " : "", line);
	}
	if (k->ipi_ok == 1) {
		c = probe_addf(p, "kvm.irq.ipi", CHECK_PASS, NULL, "%.0f us", k->ipi_us);
		check_set_detail(c, "%s", k->ipi_detail);
	} else if (k->ipi_ok == 0) {
		c = probe_add(p, "kvm.irq.ipi", CHECK_FAIL, "not delivered", NULL, hint);
		check_set_detail(c, "%s", k->ipi_detail);
	} else {
		probe_add(p, "kvm.irq.ipi", CHECK_SKIP, "", k->ipi_detail, NULL);
	}
}

/* The interrupt test runs on a thread of its own beside the smoke test:
 * most of either is the kernel setting a VM up and tearing it down, which
 * two VMs do at once.  The smoke test owns SIGALRM (setitimer is per
 * process), so this thread and the vCPU threads it starts block it. */
struct irq_job {
	int fd;
	struct kvm_live *kvm;
	int rc;
	pthread_t thread;
	int started;
};

static void *irq_job_main(void *arg)
{
	struct irq_job *j = arg;
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	j->rc = kvm_host_irq(j->fd, j->kvm);
	return NULL;
}

unsigned kvm_test_limit_s(const struct host_identity *h)
{
	return h->emulated ? KVM_TEST_LIMIT_EMULATED_S : KVM_TEST_LIMIT_S;
}

void probe_kvm_checks(struct probe *p)
{
	int fd;
	p->kvm.limit_s = kvm_test_limit_s(&p->host);
	check_device(p, &fd);
	check_api(p, fd);
	struct irq_job job = { .fd = fd, .kvm = &p->kvm, .rc = -ENOTSUP };
	if (fd >= 0 && p->live && !p->opt.skip_smoke && probe_find(p, "kvm.api")->status == CHECK_PASS)
		job.started = pthread_create(&job.thread, NULL, irq_job_main, &job) == 0;
	check_smoke(p, fd);
	if (job.started)
		pthread_join(job.thread, NULL);
	check_irq(p, fd, job.rc);
	if (fd >= 0 && p->live) {
		if (kvm_host_vgic(fd, &p->kvm) == 0)
			p->kvm.vgic_ran = 1;
	}
	if (fd >= 0)
		close(fd);
}
