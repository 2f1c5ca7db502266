/* The matrix's in-memory model: the builder both readers feed (a run, its
 * checks, boots, speed-ups and verdicts), and the columns' definitions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"

/* The checks a run keeps: every column's check and fallback. */
static const char *const key_checks[MATRIX_KEY_CHECKS] = {
	"cpu.boot_el", "kvm.mode", "gic.version", "iommu.present", "kvm.device",
	"kvm.smoke", "dev.vhost_net", "kconfig.VHOST_NET", "mem.page_size",
};

const struct matrix_column matrix_columns[MC_COUNT] = {
	[MC_MODEL] = { "model", "model", "text", MATRIX_COL_DEVICE, NULL, NULL, NULL,
		       "board or CPU model, as the probe reports it" },
	[MC_SOC] = { "soc", "SoC", "text", MATRIX_COL_DEVICE, NULL, NULL, NULL, "system on chip or CPU family" },
	[MC_ARCH] = { "arch", "arch", "text", MATRIX_COL_DEVICE, NULL, NULL, NULL, "machine architecture" },
	[MC_KERNEL] = { "kernel", "kernel", "text", MATRIX_COL_DEVICE, NULL, NULL, NULL, "kernel release (uname -r)" },
	[MC_STATUS] = { "status", "status", "text", MATRIX_COL_STATUS, NULL, NULL, NULL,
			"qualified, qualified with limits, or not qualified, with the reason" },
	[MC_BOOT_EL] = { "boot_el", "boot EL", "text", MATRIX_COL_CHECK, NULL, "cpu.boot_el", NULL,
			 "exception level the kernel was entered at (EL2 is needed for KVM on Arm)" },
	[MC_KVM_MODE] = { "kvm_mode", "KVM mode", "text", MATRIX_COL_CHECK, NULL, "kvm.mode", NULL,
			  "how KVM runs: vhe, nvhe, protected, vmx, svm, pvm ..." },
	[MC_GIC] = { "gic", "GIC", "text", MATRIX_COL_CHECK, NULL, "gic.version", NULL,
		     "interrupt controller version (Arm)" },
	[MC_SMMU] = { "smmu", "SMMU/IOMMU", "text", MATRIX_COL_CHECK, NULL, "iommu.present", NULL,
		      "IOMMU for device passthrough" },
	[MC_DEV_KVM] = { "dev_kvm", "/dev/kvm", "text", MATRIX_COL_CHECK, NULL, "kvm.device", NULL,
			 "whether /dev/kvm opens read-write" },
	[MC_SMOKE] = { "smoke", "smoke test", "text", MATRIX_COL_CHECK, NULL, "kvm.smoke", NULL,
		       "a tiny guest run through the KVM API by the probe" },
	[MC_VHOST_NET] = { "vhost_net", "vhost-net", "text", MATRIX_COL_CHECK, NULL, "dev.vhost_net",
			   "kconfig.VHOST_NET", "in-kernel virtio-net backend (/dev/vhost-net, else the kernel config)" },
	[MC_PAGE_SIZE] = { "page_size", "page size", "number", MATRIX_COL_CHECK, "bytes", "mem.page_size", NULL,
			   "kernel page size" },
	[MC_BOOT_KVM] = { "boot_kvm_ms", "boot (KVM)", "number", MATRIX_COL_NUMBER, "ms", NULL, NULL,
			  "median guest boot time under KVM, exec of QEMU to the agent's ready (target < 2 s)" },
	[MC_EXIT] = { "exit_ns", "KVM exit", "number", MATRIX_COL_NUMBER, "ns", NULL, NULL,
		      "the probe's round trip of a guest exit to user space and back, median (arm64: an MMIO "
		      "load, kvm.exit.mmio_user; x86: an OUT, kvm.exit.pio_user)" },
	[MC_CPU] = { "cpu_pct", "CPU", "number", MATRIX_COL_NUMBER, "%", NULL, NULL,
		     "sysbench cpu under KVM, % of native (target >= 85 %)" },
	[MC_MEMORY] = { "memory_pct", "memory", "number", MATRIX_COL_NUMBER, "%", NULL, NULL,
			"STREAM triad under KVM, % of native (target >= 95 %)" },
	[MC_NETWORK] = { "network_pct", "network", "number", MATRIX_COL_NUMBER, "%", NULL, NULL,
			 "iperf3 host to guest under KVM over tap with vhost-net (else user-mode networking), % of native" },
	[MC_DISK] = { "disk_pct", "disk", "number", MATRIX_COL_NUMBER, "%", NULL, NULL,
		      "fio sequential read under KVM, % of native" },
	[MC_SPEEDUP] = { "kvm_tcg_speedup", "KVM/TCG", "number", MATRIX_COL_NUMBER, "x", NULL, NULL,
			 "KVM over TCG, geometric mean over every workload metric measured under both" },
	[MC_LATENCY] = { "latency_kvm_us", "latency (KVM)", "number", MATRIX_COL_NUMBER, "us", NULL, NULL,
			 "request/response round trip guest to host under KVM (sockperf, TCP), p50 / p99; over tap with "
			 "vhost-net where measured, else user-mode networking" },
	[MC_COLD_BOOT] = { "cold_boot_kvm_ms", "cold boot (KVM)", "number", MATRIX_COL_NUMBER, "ms", NULL, NULL,
			   "guest boot under KVM after dropping the page cache (the boot column is warm)" },
	[MC_OVERHEAD] = { "vmm_overhead_kvm_mib", "VMM memory (KVM)", "number", MATRIX_COL_NUMBER, "MiB", NULL, NULL,
			  "QEMU's RSS beyond the guest's resident memory after boot (Firecracker's definition)" },
	[MC_CPU_COST] = { "cpu_time_less_pct", "CPU time vs TCG", "number", MATRIX_COL_NUMBER, "%", NULL, NULL,
			  "how much less host CPU time KVM needs than TCG per unit of work (geometric mean)" },
	[MC_ENERGY] = { "energy_less_pct", "energy vs TCG", "number", MATRIX_COL_NUMBER, "%", NULL, NULL,
			"how much less energy KVM needs than TCG per unit of work (origin claim: 40-60 %); needs a sensor" },
	[MC_RUN] = { "run", "run", "text", MATRIX_COL_RUN, NULL, NULL, NULL,
		     "the run shown: when it started, where it comes from, its id there" },
	[MC_NOTES] = { "notes", "notes", "text", MATRIX_COL_NOTES, NULL, NULL, NULL,
		       "conflicts, differences from the other rows, emulation, missing values" },
};

const char *matrix_status_key(enum matrix_status s)
{
	return s == MATRIX_QUALIFIED ? "qualified" : s == MATRIX_LIMITED ? "qualified-with-limits" : "not-qualified";
}

const char *matrix_status_title(enum matrix_status s)
{
	return s == MATRIX_QUALIFIED ? "qualified" : s == MATRIX_LIMITED ? "qualified with limits" : "not qualified";
}

const char *matrix_select_name(enum matrix_select s)
{
	return s == MATRIX_LATEST ? "latest" : s == MATRIX_RUN ? "run" : "latest-qualifying";
}

void matrix_init(struct matrix *m)
{
	memset(m, 0, sizeof(*m));
}

/* Every string a source gives is made valid UTF-8 here, once, so that the
 * four outputs are (matrix.json must be: RFC 8259). */
static char *dup_or_null(const char *s)
{
	return s && *s ? kq_utf8_dup(s) : NULL;
}

static char *dup_text(const char *s)
{
	return kq_utf8_dup(s ? s : "");
}

static void check_free(struct matrix_check *c)
{
	free(c->status);
	free(c->value);
	free(c->detail);
}

static void run_free(struct matrix_run *r)
{
	if (!r)
		return;
	char *strings[] = { r->arch, r->model, r->soc, r->kernel_release, r->started_at, r->finished_at,
			    r->status, r->reason, r->boot_id, r->profile, r->suite_version, r->qemu_version,
			    r->guest_image_hash, r->probe_status, r->probe_summary, r->emulated_evidence,
			    r->energy_source, r->energy_detail };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(r->kvm_series); i++)
		free(r->kvm_series[i].v);
	for (size_t i = 0; i < KQ_ARRAY_SIZE(strings); i++)
		free(strings[i]);
	for (size_t i = 0; i < r->probe_reason_count; i++)
		free(r->probe_reasons[i]);
	free(r->probe_reasons);
	free(r->probe_mismatch);
	free(r->provenance);
	free(r->origin_database);
	for (int i = 0; i < MATRIX_KEY_CHECKS; i++) {
		check_free(&r->checks[i]);
		check_free(&r->probe_checks[i]);
	}
	for (size_t i = 0; i < r->verdict_count; i++) {
		struct matrix_verdict *v = &r->verdicts[i];
		free(v->target);
		free(v->metric);
		free(v->op);
		free(v->status);
		free(v->detail);
	}
	free(r->verdicts);
	free(r->boot_values[0]);
	free(r->boot_values[1]);
	free(r);
}

static void row_free(struct matrix_row *row)
{
	for (size_t i = 0; i < row->reason_count; i++)
		free(row->reasons[i]);
	free(row->reasons);
	free(row->sources);
	for (size_t i = 0; i < row->mark_count; i++)
		free(row->marks[i].detail);
	free(row->marks);
	for (int c = 0; c < MC_COUNT; c++) {
		free(row->cells[c].text);
		free(row->cells[c].missing);
		free(row->cells[c].detail);
	}
}

void matrix_free(struct matrix *m)
{
	for (size_t i = 0; i < m->row_count; i++)
		row_free(&m->rows[i]);
	free(m->rows);
	for (size_t i = 0; i < m->run_count; i++)
		run_free(m->runs[i]);
	free(m->runs);
	for (size_t i = 0; i < m->source_count; i++) {
		free(m->sources[i].name);
		free(m->sources[i].database);
	}
	free(m->sources);
	for (size_t i = 0; i < m->ref_image_count; i++) {
		free(m->ref_images[i].arch);
		free(m->ref_images[i].hash);
	}
	free(m->ref_images);
	free(m->ref_suite);
	for (size_t i = 0; i < m->note_count; i++)
		free(m->notes[i]);
	free(m->notes);
	memset(m, 0, sizeof(*m));
}

size_t matrix_add_source(struct matrix *m, const char *name, const char *kind)
{
	m->sources = kq_xrealloc(m->sources, (m->source_count + 1) * sizeof(*m->sources));
	m->sources[m->source_count] = (struct matrix_source){ kq_utf8_dup(name), kind, 0, NULL };
	return m->source_count++;
}

void matrix_add_note(struct matrix *m, const char *note)
{
	m->notes = kq_xrealloc(m->notes, (m->note_count + 1) * sizeof(*m->notes));
	m->notes[m->note_count++] = kq_utf8_dup(note);
}

void matrix_truncate_runs(struct matrix *m, size_t count)
{
	while (m->run_count > count) {
		struct matrix_run *r = m->runs[--m->run_count];
		m->sources[r->source].runs_read--;
		run_free(r);
	}
}

static int key_check_index(const char *id)
{
	for (int i = 0; id && i < MATRIX_KEY_CHECKS; i++)
		if (!strcmp(id, key_checks[i]))
			return i;
	return -1;
}

static void set_check(struct matrix_check *c, const char *status, const char *value, const char *detail)
{
	if (c->status)
		return; /* the first of a repeated id wins, as in the probe's order */
	c->status = dup_text(status && *status ? status : "unknown");
	for (char *p = c->status; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	c->value = dup_or_null(value);
	c->detail = dup_or_null(detail);
}

/* ---- the probe's document ---- */

static int probe_type_error(struct kq_err *err, const char *where, const char *member, const char *want)
{
	return kq_error(err, "%s: probe.%s: expected %s", where, member, want);
}

/* An optional string member: absent or null is NULL. */
static int probe_string(const cJSON *obj, const char *name, const char **out, const char *where,
			const char *member, struct kq_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return probe_type_error(err, where, member, "a string or null");
	*out = v->valuestring;
	return 0;
}

static void hash_bytes(uint64_t *h, const void *data, size_t len);

/* The host facts of a probe document that one machine keeps from run to
 * run (its identity, CPUs and clusters, guest or emulated), hashed: two
 * runs with other facts did not come from one machine.  And whether the
 * document names the host its run names. */
static void probe_provenance(struct matrix_run *r, const cJSON *host)
{
	static const char *const facts[] = { "arch", "model", "soc", "kernel_release", "page_size", "cpus",
					     "is_guest", "emulated", "clusters" };
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(facts); i++) {
		char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(host, facts[i]));
		hash_bytes(&h, text ? text : "", text ? strlen(text) : 0);
		free(text);
	}
	r->probe_print = h ? h : 1;
	static const char *const ident[] = { "arch", "model", "soc", "kernel_release" };
	const char *const mine[] = { r->arch, r->model, r->soc, r->kernel_release };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(ident) && !r->probe_mismatch; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(host, ident[i]);
		if (!cJSON_IsString(v))
			continue;
		char *theirs = kq_utf8_dup(v->valuestring);
		if (strcmp(theirs, mine[i]))
			r->probe_mismatch = kq_xasprintf("the run's probe document names another host (%s '%s', the run "
							 "'%s'): it was not made on this device", ident[i], theirs, mine[i]);
		free(theirs);
	}
}

static int read_probe(struct matrix_run *r, const cJSON *probe, const char *where, struct kq_err *err)
{
	if (!probe || cJSON_IsNull(probe))
		return 0;
	if (!cJSON_IsObject(probe))
		return kq_error(err, "%s: probe: expected the probe's document (an object) or null", where);
	const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(probe, "verdict");
	if (verdict && !cJSON_IsNull(verdict)) {
		if (!cJSON_IsObject(verdict))
			return probe_type_error(err, where, "verdict", "an object");
		const char *status, *summary;
		if (probe_string(verdict, "status", &status, where, "verdict.status", err) ||
		    probe_string(verdict, "summary", &summary, where, "verdict.summary", err))
			return -1;
		r->probe_status = dup_or_null(status);
		r->probe_summary = dup_or_null(summary);
		const cJSON *usable = cJSON_GetObjectItemCaseSensitive(verdict, "kvm_usable");
		if (usable && !cJSON_IsNull(usable) && !cJSON_IsBool(usable))
			return probe_type_error(err, where, "verdict.kvm_usable", "true or false");
		if (cJSON_IsBool(usable))
			r->probe_kvm_usable = cJSON_IsTrue(usable);
		const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(verdict, "reasons");
		if (reasons && !cJSON_IsNull(reasons)) {
			if (!cJSON_IsArray(reasons))
				return probe_type_error(err, where, "verdict.reasons", "an array of strings");
			const cJSON *item;
			cJSON_ArrayForEach(item, reasons) {
				if (!cJSON_IsString(item))
					return probe_type_error(err, where, "verdict.reasons", "an array of strings");
				r->probe_reasons = kq_xrealloc(r->probe_reasons,
							       (r->probe_reason_count + 1) * sizeof(char *));
				r->probe_reasons[r->probe_reason_count++] = dup_text(item->valuestring);
			}
		}
	}
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(probe, "host");
	if (host && !cJSON_IsNull(host)) {
		if (!cJSON_IsObject(host))
			return probe_type_error(err, where, "host", "an object");
		probe_provenance(r, host);
		const cJSON *emulated = cJSON_GetObjectItemCaseSensitive(host, "emulated");
		if (emulated && !cJSON_IsNull(emulated) && !cJSON_IsBool(emulated))
			return probe_type_error(err, where, "host.emulated", "true or false");
		r->emulated = cJSON_IsTrue(emulated);
		const cJSON *evidence = cJSON_GetObjectItemCaseSensitive(host, "emulated_evidence");
		if (evidence && !cJSON_IsNull(evidence)) {
			if (!cJSON_IsArray(evidence))
				return probe_type_error(err, where, "host.emulated_evidence", "an array of strings");
			const cJSON *first = evidence->child;
			if (first && !cJSON_IsString(first))
				return probe_type_error(err, where, "host.emulated_evidence", "an array of strings");
			if (first)
				r->emulated_evidence = dup_text(first->valuestring);
		}
	}
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(probe, "checks");
	if (checks && !cJSON_IsNull(checks)) {
		if (!cJSON_IsArray(checks))
			return probe_type_error(err, where, "checks", "an array");
		const cJSON *c;
		int i = 0;
		cJSON_ArrayForEach(c, checks) {
			char member[48];
			snprintf(member, sizeof(member), "checks[%d]", i++);
			if (!cJSON_IsObject(c))
				return probe_type_error(err, where, member, "an object");
			const char *id, *status, *value, *detail;
			if (probe_string(c, "id", &id, where, member, err) ||
			    probe_string(c, "status", &status, where, member, err) ||
			    probe_string(c, "value", &value, where, member, err) ||
			    probe_string(c, "detail", &detail, where, member, err))
				return -1;
			int k = key_check_index(id);
			if (k >= 0)
				set_check(&r->probe_checks[k], status, value, detail);
			/* The energy sensor the probe named, or why there is none. */
			if (id && value && !strcmp(id, "host.energy") && !r->energy_source) {
				r->energy_source = kq_xstrdup(value);
				r->energy_detail = dup_or_null(detail);
			}
		}
	}
	/* "measurements": [{ "id", "value", "unit", ... }] (probe 0.1.0 with
	 * issue 15; older documents have none). */
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(probe, "measurements"), *mt;
	if (ms && !cJSON_IsNull(ms) && !cJSON_IsArray(ms))
		return probe_type_error(err, where, "measurements", "an array");
	cJSON_ArrayForEach(mt, ms) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(mt, "id");
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(mt, "value");
		const cJSON *unit = cJSON_GetObjectItemCaseSensitive(mt, "unit");
		if (!cJSON_IsString(id) || !cJSON_IsNumber(value) || !cJSON_IsString(unit) ||
		    strcmp(unit->valuestring, "ns") || !(value->valuedouble >= 0) || !isnan(r->exit_ns))
			continue;
		if (!strcmp(id->valuestring, "kvm.exit.mmio_user") || !strcmp(id->valuestring, "kvm.exit.pio_user")) {
			r->exit_ns = value->valuedouble;
			r->exit_id = !strcmp(id->valuestring, "kvm.exit.mmio_user") ? "kvm.exit.mmio_user"
										      : "kvm.exit.pio_user";
		}
	}
	return 0;
}

/* ---- the builder ---- */

struct matrix_run *matrix_begin_run(struct matrix *m, size_t source, const struct store_run_record *rec,
				    const cJSON *probe, const char *where, struct kq_err *err)
{
	char key[17];
	store_host_key(&rec->host, key);
	if (strcmp(key, rec->host_key)) {
		kq_error(err, "%s: host key '%s' does not match the host's fields (arch, model, soc, kernel"
			      " release, page size make '%s')", where, rec->host_key, key);
		return NULL;
	}
	struct matrix_run *r = kq_xcalloc(1, sizeof(*r));
	r->source = source;
	r->id = rec->id;
	r->origin_id = rec->source_run_id > 0 ? rec->source_run_id : rec->id;
	r->origin_database = rec->source_database ? kq_utf8_dup(rec->source_database) : NULL;
	memcpy(r->host_key, key, sizeof(key));
	r->arch = dup_text(rec->host.arch);
	r->model = dup_text(rec->host.model);
	r->soc = dup_text(rec->host.soc);
	r->kernel_release = dup_text(rec->host.kernel_release);
	r->page_size = rec->host.page_size;
	r->started_at = dup_text(rec->started_at);
	r->finished_at = dup_or_null(rec->finished_at);
	r->status = dup_text(rec->status);
	r->reason = dup_or_null(rec->reason);
	r->boot_id = dup_or_null(rec->boot_id);
	r->pid = rec->pid;
	r->profile = dup_or_null(rec->info.profile);
	r->suite_version = dup_or_null(rec->info.suite_version);
	r->qemu_version = dup_or_null(rec->info.qemu_version);
	r->guest_image_hash = dup_or_null(rec->info.guest_image_hash);
	r->probe_kvm_usable = -1;
	r->boot_ms[0] = r->boot_ms[1] = NAN;
	r->exit_ns = NAN;
	for (int i = 0; i < 4; i++)
		r->pct[i] = NAN;
	r->pct_user_network = NAN;
	r->speedup = NAN;
	r->latency_us[0] = r->latency_us[1] = r->cold_boot_ms = r->overhead_mib = NAN;
	r->less_pct[0] = r->less_pct[1] = NAN;
	if (read_probe(r, probe, where, err)) {
		run_free(r);
		return NULL;
	}
	if (m->run_count == m->run_cap) {
		m->run_cap = m->run_cap ? m->run_cap * 2 : 256;
		m->runs = kq_xrealloc(m->runs, m->run_cap * sizeof(*m->runs));
	}
	m->runs[m->run_count++] = r;
	m->sources[source].runs_read++;
	return r;
}

void matrix_add_check(struct matrix_run *r, const struct store_check *c)
{
	int k = key_check_index(c->id);
	if (k >= 0)
		set_check(&r->checks[k], c->status, c->value, c->detail);
}

void matrix_add_boot(struct matrix_run *r, const struct store_boot_sample *b)
{
	int kvm = b->accel && !strcmp(b->accel, "kvm");
	if (!kvm && !(b->accel && !strcmp(b->accel, "tcg")))
		return;
	if (!isfinite(b->total_ms))
		return;
	if (r->boots[kvm] == r->boot_cap[kvm]) {
		r->boot_cap[kvm] = r->boot_cap[kvm] ? r->boot_cap[kvm] * 2 : 8;
		r->boot_values[kvm] = kq_xrealloc(r->boot_values[kvm], r->boot_cap[kvm] * sizeof(double));
	}
	r->boot_values[kvm][r->boots[kvm]++] = b->total_ms;
}

/* The metrics behind the percentage columns: the runner's targets'. */
static const struct {
	int pct;
	const char *workload, *metric;
} pct_metrics[] = {
	{ 0, "sysbench-cpu", "events_per_second" },
	{ 1, "stream", "triad_mbps" },
	{ 2, "iperf3-h2g-tap", "gbps" },
	{ 3, "fio-seqread", "seqread_mbps" },
};

/* What a run costs rather than how fast it is: left out of the speed-up,
 * which is about performance. */
static int is_cost_metric(const char *workload, const char *metric)
{
	return kq_startswith(metric, "host_cpu_s") || kq_startswith(metric, "energy_j") ||
	       kq_startswith(workload, "vmm-memory") || !strcmp(workload, "balloon") || !strcmp(workload, "boot-cold");
}

void matrix_add_speedup(struct matrix_run *r, const struct store_speedup *sp)
{
	if (!sp->workload || !sp->metric)
		return;
	int per_unit = kq_startswith(sp->metric, "host_cpu_s_per_") ? 0 : kq_startswith(sp->metric, "energy_j_per_") ? 1 : -1;
	if (per_unit >= 0 && isfinite(sp->kvm_over_tcg) && sp->kvm_over_tcg > 0) {
		r->less_log_sum[per_unit] += log(sp->kvm_over_tcg);
		r->less_metrics[per_unit]++;
	}
	if (isfinite(sp->kvm_over_tcg) && sp->kvm_over_tcg > 0 && !is_cost_metric(sp->workload, sp->metric)) {
		r->speedup_log_sum += log(sp->kvm_over_tcg);
		r->speedup_metrics++;
	}
	if (!isfinite(sp->kvm_pct_of_native))
		return;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(pct_metrics); i++)
		if (!strcmp(sp->workload, pct_metrics[i].workload) && !strcmp(sp->metric, pct_metrics[i].metric))
			r->pct[pct_metrics[i].pct] = sp->kvm_pct_of_native;
	/* User-mode networking, for hosts that measured no tap. */
	if (!strcmp(sp->workload, "iperf3-h2g") && !strcmp(sp->metric, "gbps"))
		r->pct_user_network = sp->kvm_pct_of_native;
}

/* The KVM samples behind the cost columns, by index into kvm_series. */
static const struct {
	const char *workload, *metric;
} series_keys[6] = {
	{ "sockperf-rr", "rtt_p50_us" },   { "sockperf-rr", "rtt_p99_us" },   { "sockperf-rr-tap", "rtt_p50_us" },
	{ "sockperf-rr-tap", "rtt_p99_us" }, { "boot-cold", "total_ms" }, { "vmm-memory", "vmm_overhead_mib" },
};

void matrix_add_sample(struct matrix_run *r, const struct store_sample *s)
{
	if (!s->accel || strcmp(s->accel, "kvm") || !s->workload || !s->metric || !isfinite(s->value))
		return;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(series_keys); i++) {
		if (strcmp(s->workload, series_keys[i].workload) || strcmp(s->metric, series_keys[i].metric))
			continue;
		struct matrix_series *se = &r->kvm_series[i];
		if (se->n == se->cap)
			se->v = kq_xrealloc(se->v, (se->cap = se->cap ? se->cap * 2 : 8) * sizeof(double));
		se->v[se->n++] = s->value;
	}
}

void matrix_add_verdict(struct matrix_run *r, const struct store_verdict *v)
{
	r->verdicts = kq_xrealloc(r->verdicts, (r->verdict_count + 1) * sizeof(*r->verdicts));
	r->verdicts[r->verdict_count++] = (struct matrix_verdict){
		.target = dup_text(v->target),
		.metric = dup_text(v->metric),
		.op = dup_or_null(v->op),
		.status = dup_text(v->status),
		.detail = dup_or_null(v->detail),
		.value = v->value,
		.threshold = v->threshold,
	};
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* FNV-1a 64, fed field by field (each followed by a separator byte). */
static void hash_bytes(uint64_t *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		*h ^= p[i];
		*h *= 0x100000001b3ULL;
	}
	*h ^= 0xff;
	*h *= 0x100000001b3ULL;
}

static void hash_str(uint64_t *h, const char *s)
{
	hash_bytes(h, s ? s : "\x01", s ? strlen(s) : 1);
}

static void hash_double(uint64_t *h, double v)
{
	if (isnan(v))
		v = NAN; /* one bit pattern for every unknown */
	hash_bytes(h, &v, sizeof(v));
}

void matrix_end_run(struct matrix_run *r)
{
	for (int a = 0; a < 2; a++) {
		r->boot_ms[a] = median(r->boot_values[a], r->boots[a]);
		free(r->boot_values[a]);
		r->boot_values[a] = NULL;
		r->boot_cap[a] = 0;
	}
	r->network_workload = isfinite(r->pct[2]) ? "iperf3-h2g-tap" : NULL;
	if (!isfinite(r->pct[2]) && isfinite(r->pct_user_network)) {
		r->pct[2] = r->pct_user_network;
		r->network_workload = "iperf3-h2g";
	}
	if (r->speedup_metrics)
		r->speedup = exp(r->speedup_log_sum / (double)r->speedup_metrics);
	double series[6];
	for (size_t i = 0; i < KQ_ARRAY_SIZE(r->kvm_series); i++) {
		series[i] = median(r->kvm_series[i].v, r->kvm_series[i].n);
		free(r->kvm_series[i].v);
		memset(&r->kvm_series[i], 0, sizeof(r->kvm_series[i]));
	}
	int tap = isfinite(series[2]);
	r->latency_us[0] = series[tap ? 2 : 0];
	r->latency_us[1] = series[tap ? 3 : 1];
	r->latency_workload = tap ? "sockperf-rr-tap" : isfinite(series[0]) ? "sockperf-rr" : NULL;
	r->cold_boot_ms = series[4];
	r->overhead_mib = series[5];
	/* kvm_over_tcg of a lower-is-better metric is TCG's over KVM's. */
	for (int k = 0; k < 2; k++)
		if (r->less_metrics[k])
			r->less_pct[k] = (1 - 1 / exp(r->less_log_sum[k] / (double)r->less_metrics[k])) * 100;

	uint64_t h = 0xcbf29ce484222325ULL;
	const char *strings[] = { r->status, r->reason, r->finished_at, r->profile, r->suite_version,
				  r->qemu_version, r->guest_image_hash, r->probe_status, r->probe_summary,
				  r->emulated ? "emulated" : "", r->emulated_evidence };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(strings); i++)
		hash_str(&h, strings[i]);
	for (int i = 0; i < MATRIX_KEY_CHECKS; i++) {
		const struct matrix_check *cs[] = { &r->checks[i], &r->probe_checks[i] };
		for (int j = 0; j < 2; j++) {
			hash_str(&h, cs[j]->status);
			hash_str(&h, cs[j]->value);
			hash_str(&h, cs[j]->detail);
		}
	}
	for (int a = 0; a < 2; a++) {
		hash_double(&h, r->boot_ms[a]);
		hash_double(&h, (double)r->boots[a]);
	}
	for (int i = 0; i < 4; i++)
		hash_double(&h, r->pct[i]);
	hash_double(&h, r->exit_ns);
	hash_double(&h, r->speedup);
	const double costs[] = { r->latency_us[0], r->latency_us[1], r->cold_boot_ms, r->overhead_mib, r->less_pct[0],
				 r->less_pct[1] };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(costs); i++)
		hash_double(&h, costs[i]);
	for (size_t i = 0; i < r->verdict_count; i++) {
		const struct matrix_verdict *v = &r->verdicts[i];
		hash_str(&h, v->target);
		hash_str(&h, v->status);
		hash_str(&h, v->detail);
		hash_double(&h, v->value);
		hash_double(&h, v->threshold);
	}
	r->data_hash = h;
}

int matrix_run_kvm_worked(const struct matrix_run *r)
{
	return r->boots[1] > 0 && (!strcmp(r->status, "complete") || !strcmp(r->status, "incomplete"));
}

/* ---- text helpers ---- */

void matrix_format_double(char buf[32], double v)
{
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, 32, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

char *matrix_short_text(const char *text, size_t max)
{
	if (!text)
		return kq_xstrdup("");
	size_t len = strcspn(text, ";\n");
	int cut = text[len] != '\0';
	if (len > max) {
		len = max;
		/* back to the start of a UTF-8 sequence */
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
		cut = 1;
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == ','))
		len--;
	return kq_xasprintf("%.*s%s", (int)len, text, cut ? "..." : "");
}
