/* kvmqual export --format lava: the database and run are picked here, the
 * run is loaded as the report loads it, and reports/lava.c writes it.
 * Exit status 0 whenever results were written, whatever they say (a lab
 * reads the verdicts from the cases, not from the exit code); 2 when the
 * database is missing or unreadable, or an option is wrong. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "../lib/number.h"
#include "../store/cmd_options.h"
#include "../store/read_compare.h"
#include "../store/read_report.h"
#include "../store/store.h"
#include "lava.h"

/* A compare document is a few kB per metric; anything this big is not one. */
#define COMPARE_MAX_BYTES (64u << 20)

static int pick_run(struct store *s, const char *db, const char *run_arg, int64_t *run, struct kq_err *err)
{
	if (!run_arg || !strcmp(run_arg, "latest")) {
		*run = store_latest_run(s, err);
		return *run < 0 ? -1 : 0;
	}
	long long id;
	if (kq_number_int(run_arg, 1, INT64_MAX, &id))
		return kq_error(err, "--run takes a run id or 'latest' with --format lava, not '%s'", run_arg);
	struct store_run_identity ident;
	int rc = store_run_identity(s, id, &ident, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		store_run_identity_free(&ident);
	*run = rc == 0 ? id : 0;
	if (rc)
		kq_error(err, "%s holds no run %lld", db, id);
	return 0;
}

int lava_export(const char *db, const char *run_arg, const char *compare_path, FILE *out)
{
	struct kq_err err;
	struct lava_compare cmp;
	int have_cmp = 0;
	if (compare_path) {
		char *text;
		size_t len;
		if (kq_read_file(compare_path, COMPARE_MAX_BYTES, &text, &len, &err)) {
			fprintf(stderr, "kvmqual export: --compare: %s\n", err.msg);
			return 2;
		}
		int rc = lava_compare_load(&cmp, text, len, compare_path, &err);
		free(text);
		if (rc) {
			fprintf(stderr, "kvmqual export: --compare: %s\n", err.msg);
			return 2;
		}
		have_cmp = 1;
	}
	/* A reader: nothing in the file changes (no migration of an older
	 * store, no journal mode), nothing is created (a typo in --db is the
	 * error this command exists to name), a read-only store in a read-only
	 * directory reads; a run whose process died reads as interrupted all
	 * the same (issue 13 findings 7, 8, 17, as kvmqual export). */
	int ret = 2;
	struct store *s = store_open_readonly(db, &err);
	if (!s) {
		fprintf(stderr, "kvmqual export: %s\n", err.msg);
		goto out;
	}
	int64_t run = 0;
	err.msg[0] = 0;
	if (pick_run(s, db, run_arg, &run, &err)) {
		fprintf(stderr, "kvmqual export: %s\n", err.msg);
		store_close(s);
		goto out;
	}
	if (run == 0) {
		/* No run at all, or not the one asked for: a result, not an error. */
		if (!err.msg[0])
			store_no_run_to_take(s, "finished", "all still running; give one with --run ID", &err);
		char *why = kq_xstrdup(err.msg);
		lava_write_no_run(out, why);
		free(why);
		store_close(s);
		ret = 0;
		goto out;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem)
		abort();
	int rc = store_export(s, run, STORE_FORMAT_JSON, mem, &err);
	fclose(mem);
	if (!rc && store_changed_since_open(s))
		rc = kq_error(&err, "the store changed while it was read (a run wrote to it): export again");
	store_close(s);
	struct report r;
	if (rc || report_load(&r, text, len, &err)) {
		fprintf(stderr, "kvmqual export: %s: run %lld: %s\n", db, (long long)run, err.msg);
		free(text);
		goto out;
	}
	lava_write_run(out, &r, have_cmp ? &cmp : NULL);
	report_free(&r);
	free(text);
	ret = fflush(out) == 0 && !ferror(out) ? 0 : 2;
	if (ret)
		fprintf(stderr, "kvmqual export: writing the results: %s\n", strerror(errno));
out:
	if (have_cmp)
		lava_compare_free(&cmp);
	return ret;
}

int lava_export_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--format=lava"))
			return 1;
		if (!strcmp(argv[i], "--format") && i + 1 < argc && !strcmp(argv[i + 1], "lava"))
			return 1;
	}
	return 0;
}

int cmd_export_lava(int argc, char **argv)
{
	const char *db = STORE_DEFAULT_PATH, *run = NULL, *compare = NULL, *format = "lava";
	const struct store_cmd_option opts[] = {
		{ "db", &db }, { "format", &format }, { "run", &run }, { "compare", &compare }, { NULL, NULL },
	};
	int done = store_cmd_options(argc, argv, opts,
				     "usage: kvmqual export --format lava [--db FILE] [--run ID|latest] [--compare FILE]\n"
				     "Prints one run of the database (default %s; the latest finished run unless\n"
				     "--run says otherwise) as LAVA test sets and test cases with measurements, the\n"
				     "lines lava-test-case prints.  --compare FILE adds the decisions of a\n"
				     "'kvmqual compare --json' document about that run (a regression is a failed\n"
				     "case).  Exit: 0 when the results were written, whatever they say; 2 when the\n"
				     "database is missing or unreadable, or an option is wrong.  docs/lava.md.\n");
	if (done >= 0)
		return done;
	if (optind < argc) {
		fprintf(stderr, "kvmqual export: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (strcmp(format, "lava")) {
		fprintf(stderr, "kvmqual export: --format given twice ('lava' and '%s')\n", format);
		return 2;
	}
	return lava_export(db, run, compare, stdout);
}
