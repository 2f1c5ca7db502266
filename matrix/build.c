/* From runs to rows: one run per device and source (the selection), runs
 * seen in several sources merged only when they are the same run with the
 * same data, conflicts and differences marked, then each row's status and
 * cells.  Everything the writers show is decided here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "matrix.h"

static int origin_of(const struct matrix *m, const struct matrix_run *r)
{
	return m->merge_sources ? 0 : (int)r->origin;
}

/* qsort has no context argument: the sort is single-threaded. */
static const struct matrix *sort_matrix;

/* By identity, then source, then newest first. */
static int cmp_runs(const void *a, const void *b)
{
	const struct matrix_run *x = *(struct matrix_run *const *)a, *y = *(struct matrix_run *const *)b;
	int c = strcmp(x->host_key, y->host_key);
	if (c)
		return c;
	int ox = origin_of(sort_matrix, x), oy = origin_of(sort_matrix, y);
	if (ox != oy)
		return ox < oy ? -1 : 1;
	c = strcmp(y->started_at, x->started_at);
	if (c)
		return c;
	if (x->id != y->id)
		return x->id > y->id ? -1 : 1;
	return x->source < y->source ? -1 : x->source > y->source;
}

/* The same run seen twice (a store and its export, two copies of one
 * bundle): its id in its store, start, process and boot. */
/* The same run, whichever store holds it: an imported run is compared by
 * its id where it was made (its provenance), so that a device's own bundle
 * and the controller store that imported it are one run, not two. */
static int same_run(const struct matrix_run *a, const struct matrix_run *b)
{
	return a->origin_id == b->origin_id && !strcmp(a->started_at, b->started_at) && a->pid == b->pid &&
	       !strcmp(a->boot_id ? a->boot_id : "", b->boot_id ? b->boot_id : "");
}

static void add_mark(struct matrix_row *row, const char *kind, char *detail)
{
	for (size_t i = 0; i < row->mark_count; i++) {
		if (!strcmp(row->marks[i].kind, kind) && !strcmp(row->marks[i].detail, detail)) {
			free(detail); /* said already (the same store given twice) */
			return;
		}
	}
	row->marks = kq_xrealloc(row->marks, (row->mark_count + 1) * sizeof(*row->marks));
	row->marks[row->mark_count++] = (struct matrix_mark){ kind, detail };
}

static void add_reason(struct matrix_row *row, char *reason)
{
	row->reasons = kq_xrealloc(row->reasons, (row->reason_count + 1) * sizeof(*row->reasons));
	row->reasons[row->reason_count++] = reason;
}

static void add_source(struct matrix_row *row, size_t source)
{
	for (size_t i = 0; i < row->source_count; i++)
		if (row->sources[i] == source)
			return;
	row->sources = kq_xrealloc(row->sources, (row->source_count + 1) * sizeof(*row->sources));
	row->sources[row->source_count++] = source;
}

static struct matrix_row *new_row(struct matrix *m, size_t *cap, const struct matrix_run *run)
{
	if (m->row_count == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		m->rows = kq_xrealloc(m->rows, *cap * sizeof(*m->rows));
	}
	struct matrix_row *row = &m->rows[m->row_count++];
	memset(row, 0, sizeof(*row));
	row->run = run;
	add_source(row, run->source);
	return row;
}

/* The run of one origin group (runs[from, to), newest first) to show, or
 * NULL (MATRIX_RUN without that run).  *newest_finished: the newest run
 * that is not running. */
static const struct matrix_run *choose(const struct matrix *m, struct matrix_run **runs, size_t from, size_t to,
				       const struct matrix_run **newest_finished)
{
	*newest_finished = NULL;
	for (size_t i = from; i < to && !*newest_finished; i++)
		if (strcmp(runs[i]->status, "running"))
			*newest_finished = runs[i];
	if (m->select == MATRIX_RUN) {
		for (size_t i = from; i < to; i++)
			if (runs[i]->id == m->select_run)
				return runs[i];
		return NULL;
	}
	if (m->select == MATRIX_LATEST_QUALIFYING)
		for (size_t i = from; i < to; i++)
			if (matrix_run_kvm_worked(runs[i]))
				return runs[i];
	/* the newest finished run (nothing qualifies: the same) */
	return *newest_finished ? *newest_finished : runs[from];
}

static const char *source_name(const struct matrix *m, size_t source)
{
	return m->sources[source].name;
}

static char *identity_text(const struct matrix_run *r)
{
	return kq_xasprintf("%s / %s / %s / %s / page size %ld", r->arch, *r->model ? r->model : "(no model)",
			    *r->soc ? r->soc : "(no SoC)", r->kernel_release, r->page_size);
}

/* The rows of one identity: runs[from, to). */
static void identity_rows(struct matrix *m, size_t *cap, size_t from, size_t to)
{
	size_t first_row = m->row_count;
	struct matrix_run **runs = m->runs;
	for (size_t g = from; g < to;) {
		size_t end = g;
		while (end < to && origin_of(m, runs[end]) == origin_of(m, runs[g]))
			end++;
		const struct matrix_run *newest;
		const struct matrix_run *c = choose(m, runs, g, end, &newest);
		if (!c) {
			g = end;
			continue;
		}
		/* The same run seen before (another source, or twice in one):
		 * one row when the data agree, marked rows when not. */
		struct matrix_row *row = NULL;
		for (size_t i = first_row; i < m->row_count && !row; i++)
			if (same_run(m->rows[i].run, c) && m->rows[i].run->data_hash == c->data_hash)
				row = &m->rows[i];
		if (row) {
			add_source(row, c->source);
		} else {
			for (size_t i = first_row; i < m->row_count; i++) {
				struct matrix_row *other = &m->rows[i];
				if (!same_run(other->run, c))
					continue;
				add_mark(other, "same-run-differs",
					 kq_xasprintf("run %lld started %s is also in %s with different data",
						      (long long)c->id, c->started_at, source_name(m, c->source)));
				row = new_row(m, cap, c);
				add_mark(row, "same-run-differs",
					 kq_xasprintf("run %lld started %s is also in %s with different data",
						      (long long)other->run->id, other->run->started_at,
						      source_name(m, other->run->source)));
				break;
			}
			if (!row)
				row = new_row(m, cap, c);
		}
		/* Other copies of the chosen run in this group (merged sources). */
		for (size_t i = g; i < end; i++)
			if (runs[i] != c && same_run(runs[i], c) && runs[i]->data_hash == c->data_hash)
				add_source(row, runs[i]->source);
		/* A source kept apart for its provenance (or merged on
		 * --merge-sources despite it) says why. */
		for (size_t i = g; i < end; i++)
			if (runs[i]->provenance)
				add_mark(row, "provenance", kq_xasprintf("kept apart from the identity's other runs: %s",
									 runs[i]->provenance));
		if (m->select == MATRIX_LATEST_QUALIFYING && newest && newest != c && !same_run(newest, c)) {
			char *why = matrix_short_text(newest->reason ? newest->reason : "no KVM boot recorded", 160);
			add_mark(row, "newer-run",
				 kq_xasprintf("run %lld of %s (started %s) is newer but KVM did not work in it: %s",
					      (long long)newest->id, source_name(m, newest->source), newest->started_at,
					      why));
			free(why);
		}
		g = end;
	}
	if (m->row_count == first_row) {
		m->without_run++;
		return;
	}
	m->devices++;
	size_t count = m->row_count - first_row;
	if (count < 2)
		return;
	/* Several rows claim one identity: each says which others. */
	for (size_t i = first_row; i < m->row_count; i++) {
		struct matrix_row *row = &m->rows[i];
		struct kq_buf others;
		kq_buf_init(&others);
		int images_differ = 0;
		for (size_t j = first_row; j < m->row_count; j++) {
			if (j == i)
				continue;
			const struct matrix_run *o = m->rows[j].run;
			kq_buf_printf(&others, "%s%s run %lld", others.len ? ", " : "", source_name(m, o->source),
				      (long long)o->id);
			const char *a = o->guest_image_hash ? o->guest_image_hash : "";
			const char *b = row->run->guest_image_hash ? row->run->guest_image_hash : "";
			images_differ |= strcmp(a, b) != 0;
		}
		char *who = identity_text(row->run);
		add_mark(row, "conflict",
			 kq_xasprintf("%zu rows claim the identity %s with different results; the other%s: %s%s", count,
				      who, count > 2 ? "s" : "", others.data,
				      images_differ ? " (different guest images)" : ""));
		free(who);
		kq_buf_free(&others);
		m->conflicts++;
	}
}

static int cmp_nullable(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	if (!x || !y)
		return !x && !y ? 0 : !x ? -1 : 1;
	return strcmp(x, y);
}

/* The most common value among the rows' runs (NULL counts as a value; a
 * tie goes to the value that sorts first).  Sorted, so that a lab of many
 * thousand devices costs n log n. */
/* The most common guest image hash (suite == 0) or suite version among the
 * rows, of the rows of one architecture when arch is not NULL (each guest
 * architecture has its own image). */
static char *most_common(const struct matrix *m, int suite, const char *arch)
{
	if (!m->row_count)
		return NULL;
	const char **values = kq_xcalloc(m->row_count, sizeof(*values));
	size_t n = 0;
	for (size_t i = 0; i < m->row_count; i++)
		if (!arch || !strcmp(m->rows[i].run->arch, arch))
			values[n++] = suite ? m->rows[i].run->suite_version : m->rows[i].run->guest_image_hash;
	qsort(values, n, sizeof(*values), cmp_nullable);
	const char *best = n ? values[0] : NULL;
	size_t best_count = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && !cmp_nullable(&values[i], &values[j]))
			j++;
		if (j - i > best_count) {
			best = values[i];
			best_count = j - i;
		}
		i = j;
	}
	char *ret = best ? kq_xstrdup(best) : NULL;
	free(values);
	return ret;
}

/* The reference guest image of an architecture, computed once. */
static const char *ref_image_of(struct matrix *m, const char *arch)
{
	for (size_t i = 0; i < m->ref_image_count; i++)
		if (!strcmp(m->ref_images[i].arch, arch))
			return m->ref_images[i].hash;
	m->ref_images = kq_xrealloc(m->ref_images, (m->ref_image_count + 1) * sizeof(*m->ref_images));
	struct matrix_ref_image *ref = &m->ref_images[m->ref_image_count++];
	ref->arch = kq_xstrdup(arch);
	ref->hash = most_common(m, 0, arch);
	return ref->hash;
}

static int same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* ---- status ---- */

static const char *no_kvm_reason(const struct matrix_run *r)
{
	if (r->probe_kvm_usable == 0)
		return "no usable KVM (the probe says so)";
	if (!strcmp(r->status, "running"))
		return "the run has not finished";
	return "KVM did not boot the guest";
}

/* "72.3 % of native", "2450 ms", "0.5 Gbit/s": a verdict's value with the
 * unit its metric implies. */
static char *verdict_value_text(const struct matrix_verdict *v, double value)
{
	char num[32];
	snprintf(num, sizeof(num), "%.4g", value);
	const char *unit = "";
	if (strstr(v->metric, "% of native"))
		unit = " % of native";
	else if (strstr(v->metric, "_ms"))
		unit = " ms";
	else if (strstr(v->metric, "gbps"))
		unit = " Gbit/s";
	else if (strstr(v->metric, "mbps"))
		unit = " MB/s";
	else if (strstr(v->metric, "iops"))
		unit = " IOPS";
	return kq_xasprintf("%s%s", num, unit);
}

static void decide_status(struct matrix_row *row)
{
	const struct matrix_run *r = row->run;
	if (!r->boots[1] || !strcmp(r->status, "running")) {
		row->status = MATRIX_NOT_QUALIFIED;
		if (r->probe_kvm_usable == 0)
			add_reason(row, kq_xasprintf("no usable KVM: %s", r->probe_summary ? r->probe_summary
										: r->probe_status ? r->probe_status
										: "the probe found none"));
		else if (!strcmp(r->status, "running"))
			add_reason(row, kq_xasprintf("run %lld has not finished (still running, or its process died)",
						     (long long)r->id));
		else if (r->reason)
			add_reason(row, kq_xstrdup(r->reason));
		else if (strcmp(r->status, "complete"))
			add_reason(row, kq_xasprintf("run %lld %s without a KVM boot", (long long)r->id, r->status));
		else
			add_reason(row, kq_xstrdup("KVM did not boot the guest (no KVM boot recorded)"));
		return;
	}
	for (size_t i = 0; i < r->verdict_count; i++) {
		const struct matrix_verdict *v = &r->verdicts[i];
		if (!strcmp(v->status, "fail")) {
			char *value = verdict_value_text(v, v->value);
			char *threshold = verdict_value_text(v, v->threshold);
			add_reason(row, kq_xasprintf("%s: %s (target %s %s)", v->target, value, v->op ? v->op : "?",
						     threshold));
			free(value);
			free(threshold);
		} else if (strcmp(v->status, "pass")) {
			add_reason(row, kq_xasprintf("%s: %s%s%s", v->target, !strcmp(v->status, "skip") ? "not judged"
									 : v->status,
						     v->detail ? ", " : "", v->detail ? v->detail : ""));
		}
	}
	if (!r->verdict_count)
		add_reason(row, kq_xstrdup("no target was judged in this run"));
	if (r->probe_status && strcmp(r->probe_status, "kvm-ready")) {
		if (r->probe_reason_count) {
			for (size_t i = 0; i < r->probe_reason_count; i++)
				add_reason(row, kq_xasprintf("probe: %s", r->probe_reasons[i]));
		} else {
			add_reason(row, kq_xasprintf("probe: %s", r->probe_summary ? r->probe_summary : r->probe_status));
		}
	}
	if (strcmp(r->status, "complete"))
		add_reason(row, kq_xasprintf("run %s%s%s", r->status, r->reason ? ": " : "", r->reason ? r->reason : ""));
	row->status = row->reason_count ? MATRIX_LIMITED : MATRIX_QUALIFIED;
}

/* ---- cells ---- */

static void cell_missing(struct matrix_cell *cell, char *why)
{
	cell->text = NULL;
	cell->value = NAN;
	cell->missing = why;
}

static const struct matrix_check *find_check(const struct matrix_run *r, const char *id)
{
	static const char *const ids[MATRIX_KEY_CHECKS] = {
		"cpu.boot_el", "kvm.mode", "gic.version", "iommu.present", "kvm.device",
		"kvm.smoke", "dev.vhost_net", "kconfig.VHOST_NET", "mem.page_size",
	};
	for (int i = 0; i < MATRIX_KEY_CHECKS; i++) {
		if (strcmp(ids[i], id))
			continue;
		if (r->checks[i].status)
			return &r->checks[i];
		if (r->probe_checks[i].status)
			return &r->probe_checks[i];
	}
	return NULL;
}

static char *page_size_text(long bytes)
{
	if (bytes >= 1024 && bytes % 1024 == 0)
		return kq_xasprintf("%ldK", bytes / 1024);
	return kq_xasprintf("%ld", bytes);
}

static void check_cell(const struct matrix_run *r, enum matrix_col col, struct matrix_cell *cell)
{
	const struct matrix_column *def = &matrix_columns[col];
	const struct matrix_check *c = find_check(r, def->check_id);
	const char *used = def->check_id;
	if (def->fallback && (!c || !strcmp(c->status, "skip"))) {
		const struct matrix_check *f = find_check(r, def->fallback);
		if (f && strcmp(f->status, "skip")) {
			c = f;
			used = def->fallback;
		}
	}
	cell->value = NAN;
	if (col == MC_PAGE_SIZE && r->page_size > 0)
		cell->value = (double)r->page_size;
	if (!c || !strcmp(c->status, "skip")) {
		if (col == MC_PAGE_SIZE && r->page_size > 0) {
			cell->text = page_size_text(r->page_size);
			cell->detail = kq_xstrdup("from the host's identity");
			return;
		}
		cell->status = c ? "skip" : NULL;
		cell->text = NULL;
		cell->missing = c ? kq_xstrdup(c->detail ? c->detail : "skipped by the probe")
				  : kq_xasprintf("not checked (no %s in this run's probe)", def->check_id);
		return;
	}
	static const char *const statuses[] = { "pass", "warn", "fail", "error", "unknown" };
	cell->status = "unknown";
	for (size_t i = 0; i < KQ_ARRAY_SIZE(statuses); i++)
		if (!strcmp(c->status, statuses[i]))
			cell->status = statuses[i];
	cell->text = kq_xstrdup(c->value ? c->value : c->status);
	if (used != def->check_id)
		cell->detail = kq_xasprintf("%s (%s: %s is not known)", c->detail ? c->detail : c->status, used,
					    def->check_id);
	else
		cell->detail = c->detail ? kq_xstrdup(c->detail) : NULL;
}

static const struct matrix_verdict *find_verdict(const struct matrix_run *r, const char *target)
{
	for (size_t i = 0; i < r->verdict_count; i++)
		if (!strcmp(r->verdicts[i].target, target))
			return &r->verdicts[i];
	return NULL;
}

/* The cost columns (issue 17): KVM's latency, cold boot, VMM memory, and
 * how much less CPU time and energy KVM needs than TCG. */
static void cost_cell(const struct matrix_run *r, enum matrix_col col, struct matrix_cell *cell)
{
	double v = col == MC_LATENCY ? r->latency_us[0] : col == MC_COLD_BOOT ? r->cold_boot_ms
		   : col == MC_OVERHEAD ? r->overhead_mib : r->less_pct[col == MC_ENERGY];
	if (!r->boots[1]) {
		cell_missing(cell, kq_xstrdup(no_kvm_reason(r)));
		return;
	}
	if (isnan(v)) {
		if (col == MC_ENERGY && r->energy_source && !strcmp(r->energy_source, "unavailable"))
			cell_missing(cell, kq_xasprintf("unavailable: %s", r->energy_detail ? r->energy_detail : "no sensor"));
		else if (col == MC_ENERGY && !r->energy_source)
			cell_missing(cell, kq_xstrdup("the run's probe did not look for an energy sensor"));
		else if (col == MC_CPU_COST || col == MC_ENERGY)
			cell_missing(cell, kq_xstrdup("no cost per unit of work measured under both KVM and TCG"));
		else
			cell_missing(cell, kq_xstrdup("not measured under KVM (a run before these measurements?)"));
		return;
	}
	cell->value = v;
	if (col == MC_LATENCY) {
		cell->text = kq_xasprintf("%.0f / %.0f \u00b5s", v, r->latency_us[1]);
		cell->detail = kq_xasprintf("p50 / p99 round trip, %s", r->latency_workload &&
							  !strcmp(r->latency_workload, "sockperf-rr-tap")
							  ? "tap with vhost-net" : "user-mode networking");
	} else if (col == MC_COLD_BOOT) {
		cell->text = kq_xasprintf("%.0f ms", v);
	} else if (col == MC_OVERHEAD) {
		cell->text = kq_xasprintf("%.0f MiB", v);
	} else {
		cell->text = kq_xasprintf("%.0f %% less", v);
		cell->detail = kq_xasprintf("geometric mean over %zu metrics per unit of work%s", r->less_metrics[col == MC_ENERGY],
					    col == MC_ENERGY && r->energy_source ? "; sensor: " : "");
		if (col == MC_ENERGY && r->energy_source) {
			char *d = kq_xasprintf("%s%s", cell->detail, r->energy_source);
			free(cell->detail);
			cell->detail = d;
		}
	}
}

static void number_cell(const struct matrix_run *r, enum matrix_col col, struct matrix_cell *cell)
{
	if (col >= MC_LATENCY) {
		cost_cell(r, col, cell);
		return;
	}
	static const char *const targets[] = { [MC_BOOT_KVM] = "boot", [MC_EXIT] = NULL, [MC_CPU] = "cpu",
					       [MC_MEMORY] = "memory", [MC_NETWORK] = "network", [MC_DISK] = "disk",
					       [MC_SPEEDUP] = NULL };
	if (col == MC_EXIT) {
		/* The probe's number: it does not need a KVM boot. */
		if (isnan(r->exit_ns)) {
			cell_missing(cell, kq_xstrdup("the probe measured no exit latency (no live KVM test in this run's probe)"));
			return;
		}
		cell->value = r->exit_ns;
		cell->text = kq_xasprintf("%.0f ns", r->exit_ns);
		cell->detail = kq_xasprintf("probe measurement %s", r->exit_id);
		return;
	}
	double v = col == MC_BOOT_KVM ? r->boot_ms[1]
		   : col == MC_SPEEDUP ? r->speedup
		   : r->pct[col - MC_CPU];
	if (!r->boots[1] && (col == MC_BOOT_KVM || isnan(v))) {
		cell_missing(cell, kq_xstrdup(no_kvm_reason(r)));
		return;
	}
	if (isnan(v)) {
		const struct matrix_verdict *vd = targets[col] ? find_verdict(r, targets[col]) : NULL;
		if (vd && vd->detail && isnan(vd->value))
			cell_missing(cell, kq_xstrdup(vd->detail));
		else if (col == MC_SPEEDUP)
			cell_missing(cell, kq_xstrdup("no metric was measured under both KVM and TCG"));
		else
			cell_missing(cell, kq_xstrdup("not measured under KVM, or not natively"));
		return;
	}
	cell->value = v;
	if (col == MC_BOOT_KVM)
		cell->text = kq_xasprintf("%.0f ms", v);
	else if (col == MC_SPEEDUP)
		cell->text = kq_xasprintf("%.1f\u00d7", v);
	else
		cell->text = kq_xasprintf("%.1f %%", v);
	if (col == MC_NETWORK && r->network_workload && !strcmp(r->network_workload, "iperf3-h2g"))
		cell->detail = kq_xstrdup("user-mode networking (iperf3-h2g): no tap/vhost-net measurement");
	else if (col == MC_SPEEDUP)
		cell->detail = kq_xasprintf("geometric mean over %zu metrics", r->speedup_metrics);
	else if (col == MC_BOOT_KVM)
		cell->detail = kq_xasprintf("median of %zu boots", r->boots[1]);
}

static char *source_basename(const char *name)
{
	const char *slash = strrchr(name, '/');
	return kq_xstrdup(slash && slash[1] ? slash + 1 : name);
}

static void fill_cells(const struct matrix *m, struct matrix_row *row)
{
	const struct matrix_run *r = row->run;
	const char *device[] = { [MC_MODEL] = r->model, [MC_SOC] = r->soc, [MC_ARCH] = r->arch,
				 [MC_KERNEL] = r->kernel_release };
	for (int c = 0; c < MC_COUNT; c++) {
		struct matrix_cell *cell = &row->cells[c];
		cell->value = NAN;
		switch (matrix_columns[c].kind) {
		case MATRIX_COL_DEVICE:
			if (*device[c])
				cell->text = kq_xstrdup(device[c]);
			else
				cell->missing = kq_xasprintf("the probe reported no %s", matrix_columns[c].title);
			break;
		case MATRIX_COL_STATUS: {
			cell->text = kq_xstrdup(matrix_status_title(row->status));
			struct kq_buf b;
			kq_buf_init(&b);
			for (size_t i = 0; i < row->reason_count; i++)
				kq_buf_printf(&b, "%s%s", i ? "; " : "", row->reasons[i]);
			cell->detail = b.len ? kq_buf_steal(&b) : NULL;
			kq_buf_free(&b);
			break;
		}
		case MATRIX_COL_CHECK:
			check_cell(r, (enum matrix_col)c, cell);
			break;
		case MATRIX_COL_NUMBER:
			number_cell(r, (enum matrix_col)c, cell);
			break;
		case MATRIX_COL_RUN: {
			char when[20];
			snprintf(when, sizeof(when), "%.16s", r->started_at);
			char *t = strchr(when, 'T');
			if (t)
				*t = ' ';
			char *base = source_basename(source_name(m, r->source));
			cell->text = kq_xasprintf("%s, %s #%lld", when, base, (long long)r->id);
			free(base);
			cell->detail = kq_xasprintf("%s run, profile %s, suite %s, QEMU %s, guest image %.12s",
						    r->status, r->profile ? r->profile : "?",
						    r->suite_version ? r->suite_version : "?",
						    r->qemu_version ? r->qemu_version : "?",
						    r->guest_image_hash ? r->guest_image_hash : "?");
			break;
		}
		case MATRIX_COL_NOTES:
			break; /* after the others: it sums them up */
		}
	}
	/* Notes: the marks, then why values are missing (each reason once,
	 * with the columns it explains). */
	struct kq_buf b;
	kq_buf_init(&b);
	for (size_t i = 0; i < row->mark_count; i++)
		kq_buf_printf(&b, "%s%s: %s", b.len ? "; " : "", row->marks[i].kind, row->marks[i].detail);
	int done[MC_COUNT] = { 0 };
	for (int c = 0; c < MC_RUN; c++) {
		/* Runs whose probe measured no exits are the older ones: the
		 * cell's own reason says so, the notes would say it on every row. */
		if (done[c] || !row->cells[c].missing || c == MC_EXIT)
			continue;
		kq_buf_printf(&b, "%s", b.len ? "; " : "");
		const char *sep = "";
		for (int d = c; d < MC_RUN; d++) {
			if (!row->cells[d].missing || d == MC_EXIT || strcmp(row->cells[d].missing, row->cells[c].missing))
				continue;
			kq_buf_printf(&b, "%s%s", sep, matrix_columns[d].title);
			sep = ", ";
			done[d] = 1;
		}
		kq_buf_printf(&b, ": %s", row->cells[c].missing);
	}
	row->cells[MC_NOTES].text = kq_xstrdup(b.len ? b.data : "");
	kq_buf_free(&b);
}

/* Display order: by model, SoC, kernel, arch, then where it came from. */
static int cmp_rows(const void *a, const void *b)
{
	const struct matrix_row *x = a, *y = b;
	const struct matrix_run *p = x->run, *q = y->run;
	int c;
	if ((c = strcasecmp(p->model, q->model)) || (c = strcasecmp(p->soc, q->soc)) ||
	    (c = strcmp(p->kernel_release, q->kernel_release)) || (c = strcmp(p->arch, q->arch)) ||
	    (c = strcmp(p->host_key, q->host_key)))
		return c;
	if (p->source != q->source)
		return p->source < q->source ? -1 : 1;
	return p->id < q->id ? -1 : p->id > q->id;
}

/* Whether two runs of one identity cannot come from one store: the same
 * id but another run, or the same run with other data. */
static int runs_collide(const struct matrix_run *a, const struct matrix_run *b)
{
	if (a->origin_id != b->origin_id)
		return 0;
	return !same_run(a, b) || a->data_hash != b->data_hash;
}

/* Why run b, from another source than run a of the same identity, cannot
 * be of one machine's history with it (a bundle that claims a device's
 * identity with a new run id would otherwise become its row): NULL when
 * nothing tells them apart.  Provenance beyond the identity: the probe's
 * host facts, the run's boot and process, the store a bundle was exported
 * from, and one store's numbering (ids grow with time). */
static char *provenance_clash(const struct matrix *m, const struct matrix_run *a, const struct matrix_run *b)
{
	const char *an = m->sources[a->source].name, *bn = m->sources[b->source].name;
	if (a->probe_print && b->probe_print && a->probe_print != b->probe_print)
		return kq_xasprintf("run %lld of %s: its probe document describes other hardware (CPUs, clusters, page "
				    "size, guest or emulated) than run %lld of %s", (long long)b->id, bn, (long long)a->id, an);
	if (!a->probe_print != !b->probe_print)
		return kq_xasprintf("run %lld of %s has %s probe document, run %lld of %s %s", (long long)b->id, bn,
				    b->probe_print ? "a" : "no", (long long)a->id, an, a->probe_print ? "has one" : "none");
	if (a->origin_id != b->origin_id && a->pid && a->pid == b->pid && a->boot_id && b->boot_id &&
	    !strcmp(a->boot_id, b->boot_id))
		return kq_xasprintf("run %lld of %s has the boot id and process of run %lld of %s, another run",
				    (long long)b->id, bn, (long long)a->id, an);
	/* The store each run was exported from: an imported run's own (its
	 * provenance) rather than the one that imported it. */
	const char *da = a->origin_database ? a->origin_database : m->sources[a->source].database;
	const char *db = b->origin_database ? b->origin_database : m->sources[b->source].database;
	if (da && db && strcmp(da, db))
		return kq_xasprintf("run %lld of %s was exported from another store (%s) than run %lld of %s (%s)",
				    (long long)b->id, bn, db, (long long)a->id, an, da);
	int by_time = strcmp(a->started_at, b->started_at);
	if (a->origin_id != b->origin_id && by_time && (a->origin_id < b->origin_id) != (by_time < 0))
		return kq_xasprintf("run %lld of %s and run %lld of %s are numbered against the order they started in: "
				    "not one store's runs", (long long)b->id, bn, (long long)a->id, an);
	return NULL;
}

/* The origins of one identity's runs, runs[from, to) sorted by source: a
 * device's history often arrives in pieces (a store, then a bundle every
 * night), so sources whose runs never collide are one origin, one store's
 * history.  Two devices claiming one identity each number their runs from
 * 1, and collide.  Greedy: each source joins the first origin it fits. */
static void assign_origins(struct matrix *m, size_t from, size_t to)
{
	size_t origins = 0;
	for (size_t i = from; i < to;) {
		size_t end = i;
		while (end < to && m->runs[end]->source == m->runs[i]->source)
			end++;
		size_t chosen = origins;
		char *clash = NULL; /* the first origin refused only for provenance: why */
		for (size_t o = 0; o < origins && chosen == origins; o++) {
			int fits = 1;
			char *why = NULL;
			for (size_t j = from; j < i && fits; j++) {
				if (m->runs[j]->origin != o)
					continue;
				for (size_t k = i; k < end && fits; k++) {
					fits = !runs_collide(m->runs[j], m->runs[k]);
					if (fits && !same_run(m->runs[j], m->runs[k]) && (why = provenance_clash(m, m->runs[j], m->runs[k])))
						fits = 0;
				}
			}
			if (fits)
				chosen = o;
			else if (why && !clash)
				clash = why;
			else
				free(why);
		}
		int created = chosen == origins;
		if (created)
			origins++;
		for (size_t k = i; k < end; k++) {
			m->runs[k]->origin = chosen;
			if (clash && created && !m->runs[k]->provenance)
				m->runs[k]->provenance = kq_xstrdup(clash);
		}
		free(clash);
		i = end;
	}
}

int matrix_build(struct matrix *m, struct kq_err *err)
{
	/* By identity and source first, to find each identity's origins;
	 * then by identity, origin and age for the selection. */
	sort_matrix = m;
	for (size_t i = 0; i < m->run_count; i++)
		m->runs[i]->origin = m->runs[i]->source;
	if (m->run_count)
		qsort(m->runs, m->run_count, sizeof(*m->runs), cmp_runs);
	for (size_t i = 0; i < m->run_count;) {
		size_t end = i;
		while (end < m->run_count && !strcmp(m->runs[end]->host_key, m->runs[i]->host_key))
			end++;
		assign_origins(m, i, end);
		i = end;
	}
	if (m->run_count)
		qsort(m->runs, m->run_count, sizeof(*m->runs), cmp_runs);
	sort_matrix = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < m->run_count;) {
		size_t end = i;
		while (end < m->run_count && !strcmp(m->runs[end]->host_key, m->runs[i]->host_key))
			end++;
		identity_rows(m, &cap, i, end);
		i = end;
	}
	if (m->select == MATRIX_RUN && !m->row_count)
		return kq_error(err, "no input holds a run %lld", (long long)m->select_run);

	m->ref_suite = most_common(m, 1, NULL);
	for (size_t i = 0; i < m->row_count; i++) {
		struct matrix_row *row = &m->rows[i];
		const struct matrix_run *r = row->run;
		const char *ref_image = ref_image_of(m, r->arch);
		if (!same_text(r->guest_image_hash, ref_image))
			add_mark(row, "guest-image",
				 kq_xasprintf("guest image %.12s differs from most %s rows' (%.12s)",
					      r->guest_image_hash ? r->guest_image_hash : "unknown", r->arch,
					      ref_image ? ref_image : "unknown"));
		if (!same_text(r->suite_version, m->ref_suite))
			add_mark(row, "suite-version",
				 kq_xasprintf("suite version %s differs from most rows' (%s)",
					      r->suite_version ? r->suite_version : "unknown",
					      m->ref_suite ? m->ref_suite : "unknown"));
		if (r->probe_mismatch)
			add_mark(row, "provenance", kq_xstrdup(r->probe_mismatch));
		if (r->emulated)
			add_mark(row, "emulated",
				 kq_xasprintf("an emulated host%s%s%s: the numbers are not hardware performance",
					      r->emulated_evidence ? " (" : "",
					      r->emulated_evidence ? r->emulated_evidence : "",
					      r->emulated_evidence ? ")" : ""));
		decide_status(row);
		m->counts[row->status]++;
	}
	if (m->row_count)
		qsort(m->rows, m->row_count, sizeof(*m->rows), cmp_rows);
	for (size_t i = 0; i < m->row_count; i++)
		fill_cells(m, &m->rows[i]);
	return 0;
}
