/* matrix.json, matrix.csv and matrix.md: formatting only, the cells are
 * decided in build.c.  matrix.json is described in docs/matrix.md. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/json.h"
#include "matrix.h"

static int write_result(FILE *out, const char *what, struct kq_err *err)
{
	if (fflush(out) != 0 || ferror(out))
		return kq_error(err, "writing %s: %s", what, strerror(errno ? errno : EIO));
	return 0;
}

static void utc_now(char buf[32])
{
	time_t now = time(NULL);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
}

/* ---- JSON ---- */

/* NaN is a value that is not there (its cell says why: null); infinity is
 * a value a source gave that JSON cannot hold: null with name_nonfinite. */
static void json_number(cJSON *o, const char *name, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(o, name);
	else
		kq_json_number_flagged(o, name, v);
}

static cJSON *json_cell(const struct matrix_row *row, int c)
{
	const struct matrix_cell *cell = &row->cells[c];
	const struct matrix_column *def = &matrix_columns[c];
	cJSON *o = cJSON_CreateObject();
	if (def->kind == MATRIX_COL_NUMBER || c == MC_PAGE_SIZE)
		json_number(o, "value", cell->value);
	else
		kq_json_string_or_null(o, "value", cell->text);
	if (def->kind == MATRIX_COL_CHECK) {
		kq_json_string_or_null(o, "text", cell->text);
		kq_json_string_or_null(o, "status", cell->status);
	} else {
		kq_json_string_or_null(o, "text", cell->text);
	}
	kq_json_string_or_null(o, "missing", cell->missing);
	kq_json_string_or_null(o, "detail", cell->detail);
	return o;
}

static cJSON *json_row(const struct matrix *m, const struct matrix_row *row)
{
	const struct matrix_run *r = row->run;
	cJSON *o = cJSON_CreateObject();
	kq_json_string_or_null(o, "host_key", r->host_key);
	kq_json_string_or_null(o, "arch", r->arch);
	kq_json_string_or_null(o, "model", r->model);
	kq_json_string_or_null(o, "soc", r->soc);
	kq_json_string_or_null(o, "kernel_release", r->kernel_release);
	json_number(o, "page_size", r->page_size > 0 ? (double)r->page_size : NAN);
	kq_json_string_or_null(o, "status", matrix_status_key(row->status));
	kq_json_string_or_null(o, "status_text", matrix_status_title(row->status));
	cJSON *reasons = cJSON_AddArrayToObject(o, "reasons");
	for (size_t i = 0; i < row->reason_count; i++)
		cJSON_AddItemToArray(reasons, kq_json_string(row->reasons[i]));
	cJSON_AddBoolToObject(o, "emulated", r->emulated);
	cJSON *cells = cJSON_AddObjectToObject(o, "cells");
	for (int c = MC_FIRST_CHECK; c <= MC_LAST_NUMBER; c++)
		cJSON_AddItemToObject(cells, matrix_columns[c].key, json_cell(row, c));
	cJSON *run = cJSON_AddObjectToObject(o, "run");
	kq_json_string_or_null(run, "source", m->sources[r->source].name);
	cJSON_AddNumberToObject(run, "id", (double)r->id);
	kq_json_string_or_null(run, "started_at", r->started_at);
	kq_json_string_or_null(run, "finished_at", r->finished_at);
	kq_json_string_or_null(run, "status", r->status);
	kq_json_string_or_null(run, "reason", r->reason);
	kq_json_string_or_null(run, "profile", r->profile);
	kq_json_string_or_null(run, "suite_version", r->suite_version);
	kq_json_string_or_null(run, "qemu_version", r->qemu_version);
	kq_json_string_or_null(run, "guest_image_hash", r->guest_image_hash);
	kq_json_string_or_null(run, "probe_verdict", r->probe_status);
	kq_json_string_or_null(run, "probe_summary", r->probe_summary);
	json_number(run, "boot_tcg_ms", r->boot_ms[0]);
	cJSON_AddNumberToObject(run, "kvm_boots", (double)r->boots[1]);
	cJSON *verdicts = cJSON_AddArrayToObject(run, "verdicts");
	for (size_t i = 0; i < r->verdict_count; i++) {
		const struct matrix_verdict *v = &r->verdicts[i];
		cJSON *vo = cJSON_CreateObject();
		kq_json_string_or_null(vo, "target", v->target);
		kq_json_string_or_null(vo, "metric", v->metric);
		json_number(vo, "value", v->value);
		kq_json_string_or_null(vo, "op", v->op);
		json_number(vo, "threshold", v->threshold);
		kq_json_string_or_null(vo, "status", v->status);
		kq_json_string_or_null(vo, "detail", v->detail);
		cJSON_AddItemToArray(verdicts, vo);
	}
	cJSON *sources = cJSON_AddArrayToObject(o, "sources");
	for (size_t i = 0; i < row->source_count; i++)
		cJSON_AddItemToArray(sources, kq_json_string(m->sources[row->sources[i]].name));
	cJSON *marks = cJSON_AddArrayToObject(o, "marks");
	for (size_t i = 0; i < row->mark_count; i++) {
		cJSON *mo = cJSON_CreateObject();
		kq_json_string_or_null(mo, "kind", row->marks[i].kind);
		kq_json_string_or_null(mo, "detail", row->marks[i].detail);
		cJSON_AddItemToArray(marks, mo);
	}
	return o;
}

int matrix_write_json(const struct matrix *m, FILE *out, struct kq_err *err)
{
	char now[32];
	utc_now(now);
	cJSON *doc = cJSON_CreateObject();
	kq_json_string_or_null(doc, "schema", MATRIX_SCHEMA);
	cJSON_AddNumberToObject(doc, "version", MATRIX_VERSION);
	kq_json_string_or_null(doc, "generated_at", now);
	kq_json_string_or_null(doc, "select", matrix_select_name(m->select));
	if (m->select == MATRIX_RUN)
		cJSON_AddNumberToObject(doc, "select_run", (double)m->select_run);
	cJSON_AddBoolToObject(doc, "merge_sources", m->merge_sources);
	cJSON *sources = cJSON_AddArrayToObject(doc, "sources");
	for (size_t i = 0; i < m->source_count; i++) {
		cJSON *s = cJSON_CreateObject();
		kq_json_string_or_null(s, "name", m->sources[i].name);
		kq_json_string_or_null(s, "kind", m->sources[i].kind);
		cJSON_AddNumberToObject(s, "runs_read", (double)m->sources[i].runs_read);
		cJSON_AddItemToArray(sources, s);
	}
	cJSON *ref = cJSON_AddObjectToObject(doc, "reference");
	cJSON *images = cJSON_AddObjectToObject(ref, "guest_image_hash");
	for (size_t i = 0; i < m->ref_image_count; i++)
		kq_json_string_or_null(images, m->ref_images[i].arch, m->ref_images[i].hash);
	kq_json_string_or_null(ref, "suite_version", m->ref_suite);
	cJSON *columns = cJSON_AddArrayToObject(doc, "columns");
	for (int c = 0; c < MC_COUNT; c++) {
		const struct matrix_column *def = &matrix_columns[c];
		cJSON *co = cJSON_CreateObject();
		kq_json_string_or_null(co, "key", def->key);
		kq_json_string_or_null(co, "title", def->title);
		kq_json_string_or_null(co, "type", def->type);
		kq_json_string_or_null(co, "unit", def->unit);
		kq_json_string_or_null(co, "check", def->check_id);
		if (def->fallback)
			kq_json_string_or_null(co, "fallback", def->fallback);
		kq_json_string_or_null(co, "about", def->about);
		cJSON_AddItemToArray(columns, co);
	}
	cJSON *summary = cJSON_AddObjectToObject(doc, "summary");
	cJSON_AddNumberToObject(summary, "devices", (double)m->devices);
	cJSON_AddNumberToObject(summary, "rows", (double)m->row_count);
	cJSON_AddNumberToObject(summary, "qualified", (double)m->counts[MATRIX_QUALIFIED]);
	cJSON_AddNumberToObject(summary, "qualified_with_limits", (double)m->counts[MATRIX_LIMITED]);
	cJSON_AddNumberToObject(summary, "not_qualified", (double)m->counts[MATRIX_NOT_QUALIFIED]);
	cJSON_AddNumberToObject(summary, "conflicts", (double)m->conflicts);
	cJSON_AddNumberToObject(summary, "without_selected_run", (double)m->without_run);
	cJSON *rows = cJSON_AddArrayToObject(doc, "rows");
	for (size_t i = 0; i < m->row_count; i++)
		cJSON_AddItemToArray(rows, json_row(m, &m->rows[i]));
	cJSON *notes = cJSON_AddArrayToObject(doc, "notes");
	for (size_t i = 0; i < m->note_count; i++)
		cJSON_AddItemToArray(notes, kq_json_string(m->notes[i]));
	cJSON_AddNullToObject(doc, "error");
	char *text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		return kq_error(err, "writing matrix.json: out of memory");
	fputs(text, out);
	fputc('\n', out);
	free(text);
	return write_result(out, "matrix.json", err);
}

/* ---- CSV ---- */

/* One field, RFC 4180 quoted as needed; line breaks and tabs inside a
 * value become spaces, so that every record is one line. */
static void csv_field(FILE *out, const char *field)
{
	if (!field) {
		store_csv_field(out, field);
		return;
	}
	/* Valid UTF-8 whatever a source held (a cut at 12 bytes included). */
	char *flat = kq_utf8_dup(field);
	for (char *p = flat; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	store_csv_field(out, flat);
	free(flat);
}

static void csv_number(FILE *out, double v)
{
	char num[32];
	if (isfinite(v)) {
		matrix_format_double(num, v);
		fputs(num, out);
	}
}

static const char *const csv_header[] = {
	"host_key", "arch", "model", "soc", "kernel_release", "status", "reasons",
	"boot_el", "kvm_mode", "gic", "smmu", "dev_kvm", "smoke", "vhost_net", "page_size",
	"boot_kvm_ms", "cpu_pct", "memory_pct", "network_pct", "disk_pct", "kvm_tcg_speedup",
	"latency_kvm_us", "cold_boot_kvm_ms", "vmm_overhead_kvm_mib", "cpu_time_less_pct", "energy_less_pct",
	"source", "run_id", "started_at", "run_status", "suite_version", "guest_image_hash",
	"emulated", "sources", "marks", "missing",
};

int matrix_write_csv(const struct matrix *m, FILE *out, struct kq_err *err)
{
	for (size_t i = 0; i < KQ_ARRAY_SIZE(csv_header); i++)
		fprintf(out, "%s%s", i ? "," : "", csv_header[i]);
	fputs("\r\n", out);
	for (size_t i = 0; i < m->row_count; i++) {
		const struct matrix_row *row = &m->rows[i];
		const struct matrix_run *r = row->run;
		const char *ident[] = { r->host_key, r->arch, r->model, r->soc, r->kernel_release,
					matrix_status_key(row->status) };
		for (size_t k = 0; k < KQ_ARRAY_SIZE(ident); k++) {
			if (k)
				fputc(',', out);
			csv_field(out, ident[k]);
		}
		fputc(',', out);
		csv_field(out, row->cells[MC_STATUS].detail);
		for (int c = MC_FIRST_CHECK; c < MC_PAGE_SIZE; c++) {
			fputc(',', out);
			csv_field(out, row->cells[c].text);
		}
		fputc(',', out);
		if (r->page_size > 0)
			fprintf(out, "%ld", r->page_size);
		for (int c = MC_FIRST_NUMBER; c <= MC_LAST_NUMBER; c++) {
			fputc(',', out);
			csv_number(out, row->cells[c].value);
		}
		fputc(',', out);
		csv_field(out, m->sources[r->source].name);
		fprintf(out, ",%lld,", (long long)r->id);
		csv_field(out, r->started_at);
		fputc(',', out);
		csv_field(out, r->status);
		fputc(',', out);
		csv_field(out, r->suite_version);
		fputc(',', out);
		csv_field(out, r->guest_image_hash);
		fprintf(out, ",%s,", r->emulated ? "true" : "false");
		struct kq_buf b;
		kq_buf_init(&b);
		for (size_t k = 0; k < row->source_count; k++)
			kq_buf_printf(&b, "%s%s", k ? " " : "", m->sources[row->sources[k]].name);
		csv_field(out, b.data);
		b.len = 0;
		if (b.data)
			b.data[0] = '\0';
		for (size_t k = 0; k < row->mark_count; k++)
			kq_buf_printf(&b, "%s%s: %s", k ? "; " : "", row->marks[k].kind, row->marks[k].detail);
		fputc(',', out);
		csv_field(out, b.data);
		b.len = 0;
		if (b.data)
			b.data[0] = '\0';
		for (int c = MC_FIRST_CHECK; c <= MC_LAST_NUMBER; c++)
			if (row->cells[c].missing)
				kq_buf_printf(&b, "%s%s: %s", b.len ? "; " : "", matrix_columns[c].key,
					      row->cells[c].missing);
		fputc(',', out);
		csv_field(out, b.data);
		kq_buf_free(&b);
		fputs("\r\n", out);
	}
	return write_result(out, "matrix.csv", err);
}

/* ---- Markdown ---- */

/* Everything from a source, in a cell or a list item: kq_md_text, the rule
 * report.md uses (nothing a submitter wrote becomes markup, a link or an
 * image). */
static void md_text(FILE *out, const char *s)
{
	kq_md_text(out, s);
}

static void md_cell(FILE *out, const struct matrix_row *row, int c)
{
	const struct matrix_cell *cell = &row->cells[c];
	fputs(" ", out);
	if (c == MC_NOTES) {
		char *notes = cell->text && *cell->text ? matrix_short_text(cell->text, 100) : NULL;
		md_text(out, notes);
		if (notes && strcmp(notes, cell->text))
			fprintf(out, " (see below)");
		free(notes);
	} else if (!cell->text) {
		fputs("\u2014", out);
	} else if (c == MC_STATUS) {
		fprintf(out, "**%s**", cell->text);
		if (row->reason_count) {
			char *why = matrix_short_text(row->reasons[0], 80);
			fputs(": ", out);
			md_text(out, why);
			free(why);
			if (row->reason_count > 1)
				fprintf(out, " (+%zu)", row->reason_count - 1);
		}
	} else {
		md_text(out, cell->text);
		if (cell->status && (!strcmp(cell->status, "warn") || !strcmp(cell->status, "fail")))
			fprintf(out, " (%s)", cell->status);
	}
	fputs(" |", out);
}

int matrix_write_markdown(const struct matrix *m, FILE *out, struct kq_err *err)
{
	char now[32];
	utc_now(now);
	fprintf(out, "# KVM compatibility matrix\n\n");
	fprintf(out, "%zu device%s in %zu row%s: %zu qualified, %zu qualified with limits, %zu not qualified",
		m->devices, m->devices == 1 ? "" : "s", m->row_count, m->row_count == 1 ? "" : "s", m->counts[MATRIX_QUALIFIED], m->counts[MATRIX_LIMITED],
		m->counts[MATRIX_NOT_QUALIFIED]);
	if (m->conflicts)
		fprintf(out, "; %zu rows in conflict (one identity, different results)", m->conflicts);
	fprintf(out, ".  Run shown per device: %s%s.  Generated %s by kvmqual matrix.\n\n",
		m->select == MATRIX_RUN ? "run " : matrix_select_name(m->select),
		m->select == MATRIX_RUN ? "" : (m->select == MATRIX_LATEST ? " (newest finished run)"
						: " (newest run where KVM worked, else the newest)"),
		now);
	if (m->select == MATRIX_RUN)
		fprintf(out, "Selected run id: %lld.\n\n", (long long)m->select_run);
	fputs("|", out);
	for (int c = 0; c < MC_COUNT; c++) {
		fputc(' ', out);
		md_text(out, matrix_columns[c].title);
		fputs(" |", out);
	}
	fputs("\n|", out);
	for (int c = 0; c < MC_COUNT; c++)
		fputs(!strcmp(matrix_columns[c].type, "number") ? " ---: |" : " --- |", out);
	fputc('\n', out);
	for (size_t i = 0; i < m->row_count; i++) {
		fputs("|", out);
		for (int c = 0; c < MC_COUNT; c++)
			md_cell(out, &m->rows[i], c);
		fputc('\n', out);
	}
	fputs("\n## Notes\n\n", out);
	int any = 0;
	for (size_t i = 0; i < m->row_count; i++) {
		const struct matrix_row *row = &m->rows[i];
		const struct matrix_run *r = row->run;
		if (!row->reason_count && !(row->cells[MC_NOTES].text && *row->cells[MC_NOTES].text))
			continue;
		any = 1;
		fputs("- **", out);
		md_text(out, *r->model ? r->model : "(no model)");
		fputs(" / ", out);
		md_text(out, *r->soc ? r->soc : "(no SoC)");
		fputs(" / ", out);
		md_text(out, r->kernel_release);
		fputs("** (", out);
		md_text(out, r->arch);
		fprintf(out, ", host key %s, ", r->host_key);
		md_text(out, m->sources[r->source].name);
		fprintf(out, " run %lld): %s", (long long)r->id, matrix_status_title(row->status));
		for (size_t k = 0; k < row->reason_count; k++) {
			fputs(k ? "; " : ": ", out);
			md_text(out, row->reasons[k]);
		}
		fputs(".", out);
		if (row->cells[MC_NOTES].text && *row->cells[MC_NOTES].text) {
			fputs(" ", out);
			md_text(out, row->cells[MC_NOTES].text);
			fputs(".", out);
		}
		fputc('\n', out);
	}
	if (!any)
		fputs("Nothing to note: every device qualified, nothing is missing.\n", out);
	fputs("\n## Columns\n\n", out);
	for (int c = 0; c < MC_COUNT; c++) {
		fprintf(out, "- **%s**", matrix_columns[c].title);
		if (matrix_columns[c].check_id)
			fprintf(out, " (probe check `%s`%s%s%s)", matrix_columns[c].check_id,
				matrix_columns[c].fallback ? ", else `" : "",
				matrix_columns[c].fallback ? matrix_columns[c].fallback : "",
				matrix_columns[c].fallback ? "`" : "");
		fprintf(out, ": %s.\n", matrix_columns[c].about);
	}
	fputs("\n## Sources\n\n", out);
	for (size_t i = 0; i < m->source_count; i++) {
		fputs("- ", out);
		md_text(out, m->sources[i].name);
		fprintf(out, " (%s, %zu runs read)\n", m->sources[i].kind, m->sources[i].runs_read);
	}
	for (size_t i = 0; i < m->note_count; i++) {
		fputs("- left out: ", out);
		md_text(out, m->notes[i]);
		fputc('\n', out);
	}
	if (m->row_count) {
		fputs("\nMost rows: guest image", out);
		for (size_t i = 0; i < m->ref_image_count; i++) {
			char *hash = kq_xasprintf("%.12s", m->ref_images[i].hash ? m->ref_images[i].hash : "unknown");
			fputs(i ? ", " : " ", out);
			md_text(out, m->ref_images[i].arch);
			fputc(' ', out);
			md_text(out, hash);
			free(hash);
		}
		fputs("; suite version ", out);
		md_text(out, m->ref_suite ? m->ref_suite : "unknown");
		fputs("; rows that differ are marked.\n", out);
	}
	return write_result(out, "matrix.md", err);
}
