/* The matrix's two readers: results stores (read-only, the runs picked with
 * SQL) and bundles (the store's JSON export, checked member by member).
 * Both end in the same builder calls (model.c). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "matrix.h"

/* ---- results stores ---- */

struct store_ctx {
	struct matrix *m;
	size_t source;
	const char *path;
	struct matrix_run *cur;
	struct kq_err *err;
};

static void store_end_current(struct store_ctx *c)
{
	if (c->cur)
		matrix_end_run(c->cur);
	c->cur = NULL;
}

static int on_run(const struct store_run_record *rec, void *ctx)
{
	struct store_ctx *c = ctx;
	store_end_current(c);
	char where[600];
	snprintf(where, sizeof(where), "%s: run %lld", c->path, (long long)rec->id);
	cJSON *probe = NULL;
	if (rec->info.probe_json) {
		probe = cJSON_Parse(rec->info.probe_json);
		if (!probe)
			return kq_error(c->err, "%s: the probe's document is not JSON", where);
	}
	c->cur = matrix_begin_run(c->m, c->source, rec, probe, where, c->err);
	cJSON_Delete(probe);
	return c->cur ? 0 : -1;
}

static int on_check(const struct store_check *chk, void *ctx)
{
	matrix_add_check(((struct store_ctx *)ctx)->cur, chk);
	return 0;
}

static int on_boot(const struct store_boot_sample *b, void *ctx)
{
	matrix_add_boot(((struct store_ctx *)ctx)->cur, b);
	return 0;
}

static int on_verdict(const struct store_verdict *v, void *ctx)
{
	matrix_add_verdict(((struct store_ctx *)ctx)->cur, v);
	return 0;
}

static int on_sample(const struct store_sample *sm, void *ctx)
{
	matrix_add_sample(((struct store_ctx *)ctx)->cur, sm);
	return 0;
}

static int on_speedup(const struct store_speedup *sp, void *ctx)
{
	matrix_add_speedup(((struct store_ctx *)ctx)->cur, sp);
	return 0;
}

int matrix_read_store(struct matrix *m, const char *path, struct kq_err *err)
{
	static const struct store_run_visitor visitor = {
		.run = on_run, .check = on_check, .boot_sample = on_boot,
		.verdict = on_verdict, .speedup = on_speedup,
		/* the samples for KVM's latency, cold boot and VMM memory (the
		 * stored speed-ups hold ratios only) */
		.sample = on_sample,
	};
	enum store_pick pick = m->select == MATRIX_LATEST ? STORE_PICK_LATEST
			       : m->select == MATRIX_RUN ? STORE_PICK_RUN : STORE_PICK_LATEST_KVM;
	size_t source = matrix_add_source(m, path, "database");
	for (int attempt = 0;; attempt++) {
		int had_wal = store_has_wal(path);
		size_t mark = m->run_count;
		struct store *s = store_open_readonly(path, err);
		if (!s)
			return -1;
		struct store_ctx ctx = { m, source, path, NULL, err };
		int rc = store_read_runs(s, pick, m->select_run, &visitor, &ctx, err);
		store_end_current(&ctx);
		store_close(s);
		if (rc)
			return -1;
		/* Read as immutable (no log then): a writer that opened the
		 * file meanwhile may have changed it under us.  Read again,
		 * through its log this time. */
		if (had_wal || attempt || !store_has_wal(path))
			return 0;
		matrix_truncate_runs(m, mark);
	}
}

/* ---- bundles ---- */

static const char *type_name(const cJSON *v)
{
	if (!v)
		return "nothing";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "something else";
}

struct bundle_ctx {
	const char *name;
	struct kq_err *err;
};

static int wrong(const struct bundle_ctx *b, const char *where, const char *member, const char *want,
		 const cJSON *got)
{
	if (!got)
		return kq_error(b->err, "%s: %s%s%s: missing (expected %s)", b->name, where, *where ? "." : "", member,
				want);
	return kq_error(b->err, "%s: %s%s%s: expected %s, got %s", b->name, where, *where ? "." : "", member, want,
			type_name(got));
}

/* A string member: required ones must be strings, optional ones may be
 * absent or null (then *out is NULL). */
static int get_string(const struct bundle_ctx *b, const cJSON *obj, const char *where, const char *member,
		      int required, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, member);
	*out = NULL;
	if (cJSON_IsString(v)) {
		*out = v->valuestring;
		return 0;
	}
	if (!required && (!v || cJSON_IsNull(v)))
		return 0;
	return wrong(b, where, member, required ? "a string" : "a string or null", v);
}

/* A number member; optional ones absent or null are NAN. */
static int get_number(const struct bundle_ctx *b, const cJSON *obj, const char *where, const char *member,
		      int required, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, member);
	*out = NAN;
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return 0;
	}
	if (!required && (!v || cJSON_IsNull(v)))
		return 0;
	return wrong(b, where, member, required ? "a number" : "a number or null", v);
}

/* An integer member (in int64 range); optional ones absent or null are 0. */
static int get_integer(const struct bundle_ctx *b, const cJSON *obj, const char *where, const char *member,
		       int required, int64_t *out)
{
	double d;
	*out = 0;
	if (get_number(b, obj, where, member, required, &d))
		return -1;
	if (isnan(d))
		return 0;
	if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
		return kq_error(b->err, "%s: %s.%s: expected an integer, got %g", b->name, where, member, d);
	*out = (int64_t)d;
	return 0;
}

/* An array member (absent or null: NULL, treated as empty). */
static int get_array(const struct bundle_ctx *b, const cJSON *obj, const char *where, const char *member,
		     const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, member);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return wrong(b, where, member, "an array", v);
	*out = v;
	return 0;
}

static int one_of(const struct bundle_ctx *b, const char *where, const char *member, const char *value,
		  const char *const *allowed)
{
	for (size_t i = 0; allowed[i]; i++)
		if (!strcmp(value, allowed[i]))
			return 0;
	struct kq_buf list;
	kq_buf_init(&list);
	for (size_t i = 0; allowed[i]; i++)
		kq_buf_printf(&list, "%s%s", i ? ", " : "", allowed[i]);
	kq_error(b->err, "%s: %s.%s: '%.40s' is not one of %s", b->name, where, member, value, list.data);
	kq_buf_free(&list);
	return -1;
}

static const char *const run_statuses[] = { "running", "complete", "incomplete", "failed", "interrupted", NULL };
static const char *const accels[] = { "kvm", "tcg", NULL };
static const char *const verdict_statuses[] = { "pass", "fail", "skip", NULL };
static const char *const ops[] = { "<", "<=", ">", ">=", NULL };

/* Element idx of an array member must be an object; writes its place
 * ("runs[0].checks[3]") into elem_where. */
static int element(const struct bundle_ctx *b, const cJSON *item, const char *where, const char *member, int idx,
		   char *elem_where, size_t size)
{
	snprintf(elem_where, size, "%s.%s[%d]", where, member, idx);
	if (cJSON_IsObject(item))
		return 0;
	return kq_error(b->err, "%s: %s: expected an object, got %s", b->name, elem_where, type_name(item));
}

static int read_run(struct matrix *m, size_t source, const struct bundle_ctx *b, const cJSON *run,
		    const char *where)
{
	struct store_run_record rec = { 0 };
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(run, "host");
	double page_size;
	if (get_integer(b, run, where, "id", 1, &rec.id) ||
	    get_string(b, run, where, "started_at", 1, &rec.started_at) ||
	    get_string(b, run, where, "finished_at", 0, &rec.finished_at) ||
	    get_string(b, run, where, "status", 1, &rec.status) ||
	    one_of(b, where, "status", rec.status, run_statuses) ||
	    get_string(b, run, where, "reason", 0, &rec.reason) ||
	    get_string(b, run, where, "profile", 0, &rec.info.profile) ||
	    get_string(b, run, where, "suite_version", 0, &rec.info.suite_version) ||
	    get_string(b, run, where, "qemu_version", 0, &rec.info.qemu_version) ||
	    get_string(b, run, where, "guest_image_hash", 0, &rec.info.guest_image_hash) ||
	    get_string(b, run, where, "command_line", 0, &rec.info.command_line) ||
	    get_integer(b, run, where, "pid", 0, &rec.pid) ||
	    get_string(b, run, where, "boot_id", 0, &rec.boot_id))
		return -1;
	/* An imported run exported again says where it was made. */
	const cJSON *provenance = cJSON_GetObjectItemCaseSensitive(run, "provenance");
	if (provenance && !cJSON_IsNull(provenance)) {
		if (!cJSON_IsObject(provenance))
			return wrong(b, where, "provenance", "an object or null", provenance);
		char pw[160];
		snprintf(pw, sizeof(pw), "%s.provenance", where);
		if (get_integer(b, provenance, pw, "run_id", 0, &rec.source_run_id) ||
		    get_string(b, provenance, pw, "database", 0, &rec.source_database))
			return -1;
	}
	if (!cJSON_IsObject(host))
		return wrong(b, where, "host", "an object", host);
	char host_where[160];
	snprintf(host_where, sizeof(host_where), "%s.host", where);
	const char *key;
	if (get_string(b, host, host_where, "key", 1, &key) ||
	    get_string(b, host, host_where, "arch", 1, &rec.host.arch) ||
	    get_string(b, host, host_where, "model", 1, &rec.host.model) ||
	    get_string(b, host, host_where, "soc", 1, &rec.host.soc) ||
	    get_string(b, host, host_where, "kernel_release", 1, &rec.host.kernel_release) ||
	    get_number(b, host, host_where, "page_size", 0, &page_size))
		return -1;
	if (!*rec.host.arch)
		return kq_error(b->err, "%s: %s.arch: empty", b->name, host_where);
	if (!isnan(page_size) && (page_size != floor(page_size) || page_size < 0 || page_size > 1e12))
		return kq_error(b->err, "%s: %s.page_size: expected a size in bytes, got %g", b->name, host_where,
				page_size);
	rec.host.page_size = isnan(page_size) ? 0 : (long)page_size;
	snprintf(rec.host_key, sizeof(rec.host_key), "%s", key);
	if (strlen(key) != 16)
		return kq_error(b->err, "%s: %s.key: '%.40s' is not a host key (16 hex digits)", b->name, host_where,
				key);
	const cJSON *checks, *boots, *samples, *verdicts, *speedups;
	if (get_array(b, run, where, "checks", &checks) || get_array(b, run, where, "boot_samples", &boots) ||
	    get_array(b, run, where, "samples", &samples) || get_array(b, run, where, "verdicts", &verdicts) ||
	    get_array(b, run, where, "speedups", &speedups))
		return -1;

	char full_where[700];
	snprintf(full_where, sizeof(full_where), "%s: %s", b->name, where);
	struct matrix_run *r = matrix_begin_run(m, source, &rec, cJSON_GetObjectItemCaseSensitive(run, "probe"),
						full_where, b->err);
	if (!r)
		return -1;
	/* From here on a failure leaves a half-read run behind: the caller
	 * drops the whole bundle. */
	const cJSON *item;
	int i;
	char ew[200];
	i = 0;
	cJSON_ArrayForEach(item, checks) {
		if (element(b, item, where, "checks", i++, ew, sizeof(ew)))
			return -1;
		struct store_check c = { 0 };
		if (get_string(b, item, ew, "id", 1, &c.id) || get_string(b, item, ew, "status", 1, &c.status) ||
		    get_string(b, item, ew, "value", 0, &c.value) || get_string(b, item, ew, "detail", 0, &c.detail) ||
		    get_string(b, item, ew, "hint", 0, &c.hint))
			return -1;
		matrix_add_check(r, &c);
	}
	i = 0;
	cJSON_ArrayForEach(item, boots) {
		if (element(b, item, where, "boot_samples", i++, ew, sizeof(ew)))
			return -1;
		struct store_boot_sample s = { 0 };
		int64_t iteration;
		if (get_string(b, item, ew, "accel", 1, &s.accel) || one_of(b, ew, "accel", s.accel, accels) ||
		    get_integer(b, item, ew, "iteration", 0, &iteration) ||
		    get_number(b, item, ew, "total_ms", 1, &s.total_ms) ||
		    get_number(b, item, ew, "before_kernel_ms", 0, &s.before_kernel_ms) ||
		    get_number(b, item, ew, "kernel_ms", 0, &s.kernel_ms) ||
		    get_number(b, item, ew, "userspace_ms", 0, &s.userspace_ms))
			return -1;
		s.iteration = (int)iteration;
		matrix_add_boot(r, &s);
	}
	i = 0;
	cJSON_ArrayForEach(item, verdicts) {
		if (element(b, item, where, "verdicts", i++, ew, sizeof(ew)))
			return -1;
		struct store_verdict v = { 0 };
		if (get_string(b, item, ew, "target", 1, &v.target) || get_string(b, item, ew, "metric", 1, &v.metric) ||
		    get_number(b, item, ew, "value", 0, &v.value) ||
		    get_number(b, item, ew, "threshold", 0, &v.threshold) ||
		    get_string(b, item, ew, "op", 0, &v.op) || (v.op && one_of(b, ew, "op", v.op, ops)) ||
		    get_string(b, item, ew, "status", 1, &v.status) ||
		    one_of(b, ew, "status", v.status, verdict_statuses) ||
		    get_string(b, item, ew, "detail", 0, &v.detail))
			return -1;
		matrix_add_verdict(r, &v);
	}
	i = 0;
	cJSON_ArrayForEach(item, samples) {
		if (element(b, item, where, "samples", i++, ew, sizeof(ew)))
			return -1;
		struct store_sample sm = { 0 };
		if (get_string(b, item, ew, "accel", 1, &sm.accel) || get_string(b, item, ew, "workload", 1, &sm.workload) ||
		    get_string(b, item, ew, "metric", 1, &sm.metric) || get_number(b, item, ew, "value", 0, &sm.value))
			return -1;
		matrix_add_sample(r, &sm);
	}
	i = 0;
	cJSON_ArrayForEach(item, speedups) {
		if (element(b, item, where, "speedups", i++, ew, sizeof(ew)))
			return -1;
		struct store_speedup sp = { 0 };
		if (get_string(b, item, ew, "workload", 1, &sp.workload) ||
		    get_string(b, item, ew, "metric", 1, &sp.metric) ||
		    get_number(b, item, ew, "kvm_over_tcg", 0, &sp.kvm_over_tcg) ||
		    get_number(b, item, ew, "kvm_pct_of_native", 0, &sp.kvm_pct_of_native) ||
		    get_number(b, item, ew, "tcg_pct_of_native", 0, &sp.tcg_pct_of_native))
			return -1;
		matrix_add_speedup(r, &sp);
	}
	matrix_end_run(r);
	return 0;
}

/* Where a parse error is, in words. */
static int parse_error(const struct bundle_ctx *b, const char *data, size_t len)
{
	const char *at = cJSON_GetErrorPtr();
	size_t offset = at && at >= data && at <= data + len ? (size_t)(at - data) : len;
	if (!len)
		return kq_error(b->err, "%s: an empty file, not a results bundle", b->name);
	if (kq_json_ends_open(data, len, 0))
		return kq_error(b->err, "%s: not valid JSON: the document ends early (truncated?) after %zu bytes",
				b->name, len);
	return kq_error(b->err, "%s: not valid JSON: error at byte %zu of %zu", b->name, offset, len);
}

int matrix_parse_bundle(struct matrix *m, const char *data, size_t len, const char *name, struct kq_err *err)
{
	struct bundle_ctx b = { name, err };
	int is_store;
	const char *kind = kq_json_not_json_kind(data, len, &is_store);
	if (is_store)
		return kq_error(err, "%s: %s, not a results bundle: give a store with --db, bundles with --in", name,
				kind);
	if (kind)
		return kq_error(err, "%s: %s, not a results bundle (kvmqual export --format json writes one)", name, kind);
	if (memchr(data, '\0', len))
		return kq_error(err, "%s: not valid JSON: a NUL byte at byte %zu", name,
				(size_t)((const char *)memchr(data, '\0', len) - data));
	cJSON *doc = cJSON_ParseWithLength(data, len);
	if (!doc)
		return parse_error(&b, data, len);
	int ret = -1;
	size_t mark = m->run_count;
	const char *schema;
	int64_t version;
	const cJSON *runs;
	if (!cJSON_IsObject(doc)) {
		kq_error(err, "%s: expected a results bundle (a JSON object of schema %s), got %s", name,
			 STORE_EXPORT_SCHEMA, type_name(doc));
		goto out;
	}
	if (get_string(&b, doc, "", "schema", 1, &schema))
		goto out;
	if (!strcmp(schema, MATRIX_SCHEMA)) {
		/* A matrix published beside the bundles: not an input. */
		kq_error(err, "%s: a matrix (schema %s), not a results bundle: left out", name, MATRIX_SCHEMA);
		ret = 1;
		goto out;
	}
	if (strcmp(schema, STORE_EXPORT_SCHEMA)) {
		kq_error(err, "%s: schema '%.60s' is not a results bundle (%s, from kvmqual export --format json)",
			 name, schema, STORE_EXPORT_SCHEMA);
		goto out;
	}
	if (get_integer(&b, doc, "", "version", 1, &version))
		goto out;
	if (version < 1 || version > STORE_EXPORT_VERSION) {
		kq_error(err, "%s: version %lld of %s is not one this kvmqual reads (1 to %d)%s", name,
			 (long long)version, STORE_EXPORT_SCHEMA, STORE_EXPORT_VERSION,
			 version > STORE_EXPORT_VERSION ? "; use a newer kvmqual" : "");
		goto out;
	}
	const char *error;
	if (get_string(&b, doc, "", "error", 0, &error))
		goto out;
	if (error) {
		kq_error(err, "%s: the export that wrote it failed: %.200s", name, error);
		goto out;
	}
	runs = cJSON_GetObjectItemCaseSensitive(doc, "runs");
	if (!cJSON_IsArray(runs)) {
		wrong(&b, "", "runs", "an array", runs);
		goto out;
	}
	size_t source = matrix_add_source(m, name, "bundle");
	const cJSON *database = cJSON_GetObjectItemCaseSensitive(doc, "database");
	if (cJSON_IsString(database) && *database->valuestring)
		m->sources[source].database = kq_utf8_dup(database->valuestring);
	const cJSON *run;
	int i = 0;
	cJSON_ArrayForEach(run, runs) {
		char where[48];
		snprintf(where, sizeof(where), "runs[%d]", i++);
		if (!cJSON_IsObject(run)) {
			kq_error(err, "%s: %s: expected an object, got %s", name, where, type_name(run));
			goto drop;
		}
		if (read_run(m, source, &b, run, where))
			goto drop;
	}
	ret = 0;
	goto out;
drop:
	/* All or nothing: a bundle that is wrong somewhere adds no run. */
	matrix_truncate_runs(m, mark);
out:
	cJSON_Delete(doc);
	return ret;
}

int matrix_read_bundle(struct matrix *m, const char *path, const char *name, struct kq_err *err)
{
	char *data;
	size_t len;
	if (kq_read_file(path, MATRIX_BUNDLE_MAX, &data, &len, err))
		return -1;
	int ret = matrix_parse_bundle(m, data, len, name ? name : path, err);
	free(data);
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int matrix_read_bundle_dir(struct matrix *m, const char *dir, const char *name_prefix, struct kq_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return kq_error(err, "%s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		names = kq_xrealloc(names, (count + 1) * sizeof(*names));
		names[count++] = kq_xstrdup(e->d_name);
	}
	closedir(d);
	if (count)
		qsort(names, count, sizeof(*names), cmp_names);
	int ret = 0, read = 0;
	for (size_t i = 0; i < count; i++) {
		char *path = kq_xasprintf("%s/%s", dir, names[i]);
		char *name = name_prefix ? kq_xasprintf("%s/%s", name_prefix, names[i]) : NULL;
		int rc = matrix_read_bundle(m, path, name, err);
		free(path);
		free(name);
		if (rc < 0) {
			ret = -1;
			break;
		}
		if (rc == 1)
			matrix_add_note(m, err->msg);
		else
			read++;
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return ret ? -1 : read;
}
