/* kvmqual report [--db FILE] [--run ID|latest] --out DIR: one run of the
 * store as DIR/index.html, DIR/report.md, DIR/plots/ (SVG, PNG, data,
 * gnuplot scripts) and DIR/export.json (the run as the store exports it,
 * which is what the report is made from).
 *
 * Exit status: 0 written; 1 written, but gnuplot failed on some plot (the
 * page says which and why); 2 nothing written (usage, a missing or foreign
 * database, an unknown run, an output directory that cannot be replaced). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/number.h"
#include "../store/read_report.h"
#include "report.h"

#define MAX_HEADLINE_KEYS 32

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual report [--db FILE] [--run ID|latest] --out DIR\n"
		"                      [--templates DIR] [--plot-timeout SECONDS]\n"
		"Writes one run of the database (default %s; the latest finished run unless\n"
		"--run says otherwise) as DIR/index.html (one self-contained page), DIR/report.md,\n"
		"and gnuplot plots in DIR/plots/ (SVG, PNG, their data and scripts).  DIR is\n"
		"replaced whole when the report is complete; an existing DIR must be empty or an\n"
		"earlier report.  --templates DIR takes edited copies of reports/templates/\n"
		"files from DIR.  Without gnuplot the report is written without plots.\n"
		"Exit: 0 written, 1 written but some plot failed, 2 nothing written.\n",
		STORE_DEFAULT_PATH);
}

static int on_history(const struct store_history_point *p, void *ctx)
{
	report_history_add(ctx, p->name, p->run, p->started_at, p->accel, p->median);
	return 0;
}

/* Reads the run (and the host's history) out of the store s. */
static int read_run(struct store *s, const char *run_arg, struct report *r, char **export_text,
		    size_t *export_len, struct kq_err *err)
{
	int64_t run;
	if (!strcmp(run_arg, "latest")) {
		run = store_latest_run(s, err);
		if (run == 0)
			store_no_run_to_take(s, "finished", "all still running; give one with --run ID to report it as far as it got",
					     err);
		if (run <= 0)
			return -1;
	} else {
		long long id;
		if (kq_number_int(run_arg, 1, INT64_MAX, &id))
			return kq_error(err, "--run takes a run id or 'latest', not '%s'", run_arg);
		run = id;
	}
	FILE *mem = open_memstream(export_text, export_len);
	if (!mem)
		abort();
	int rc = store_export(s, run, STORE_FORMAT_JSON, mem, err);
	fclose(mem);
	if (rc || report_load(r, *export_text, *export_len, err))
		return -1;
	const char *keys[MAX_HEADLINE_KEYS];
	size_t nkeys = report_headline_keys(r, keys, MAX_HEADLINE_KEYS);
	struct kq_err herr;
	if (r->host_key && store_history(s, r->host_key, keys, nkeys, r->run_id, on_history, r, &herr))
		fprintf(stderr, "kvmqual report: no history plot: %s\n", herr.msg);
	report_history_finish(r);
	/* The host's newest kvmqual tune, for the Tuning section. */
	r->tuning = kq_xcalloc(1, sizeof(*r->tuning));
	if (store_tuning_latest(s, r->host_key, r->tuning, &herr))
		fprintf(stderr, "kvmqual report: no tuning section: %s\n", herr.msg);
	return 0;
}

/* The store is only read: opened read-only (nothing in it changes, nothing
 * is created, a read-only directory works).  A writer that changed the
 * file while it was read: read again. */
static int load_run(const char *db, const char *run_arg, struct report *r, char **export_text, size_t *export_len,
		    struct kq_err *err)
{
	for (int attempt = 0;; attempt++) {
		struct store *s = store_open_readonly(db, err);
		if (!s)
			return -1;
		int rc = read_run(s, run_arg, r, export_text, export_len, err);
		int changed = store_changed_since_open(s);
		store_close(s);
		if (rc || !changed || attempt == 2)
			return rc;
		report_free(r);
		free(*export_text);
		*export_text = NULL;
		*export_len = 0;
	}
}

static int write_file(const char *dir, const char *name, const void *data, size_t len, struct kq_err *err)
{
	char *path = kq_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	int ok = f && fwrite(data, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok)
		kq_error(err, "%s: %s", path, strerror(errno));
	free(path);
	return ok ? 0 : -1;
}

static int write_documents(const struct report *r, const struct report_plots *plots, const char *dir,
			   const char *templates, struct kq_err *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem)
		abort();
	int rc = report_write_html(r, plots, templates, mem, err);
	fclose(mem);
	if (!rc)
		rc = write_file(dir, "index.html", text, len, err);
	free(text);
	if (rc)
		return -1;
	mem = open_memstream(&text, &len);
	if (!mem)
		abort();
	report_write_markdown(r, plots, mem);
	fclose(mem);
	rc = write_file(dir, "report.md", text, len, err);
	free(text);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	const char *db = STORE_DEFAULT_PATH, *run_arg = "latest", *out_arg = NULL, *templates = NULL;
	int timeout_s = 60;
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },        { "run", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },       { "templates", required_argument, NULL, 't' },
		{ "plot-timeout", required_argument, NULL, 'T' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'r': run_arg = optarg; break;
		case 'o': out_arg = optarg; break;
		case 't': templates = optarg; break;
		case 'T': {
			long long v;
			if (kq_number_int(optarg, 1, 3600, &v)) {
				fprintf(stderr, "kvmqual report: --plot-timeout takes seconds (1 to 3600), not '%s'\n", optarg);
				return 2;
			}
			timeout_s = (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmqual report: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!out_arg || !*out_arg) {
		fprintf(stderr, "kvmqual report: --out DIR is required\n");
		usage(stderr);
		return 2;
	}
	struct stat sb;
	if (templates && stat(templates, &sb) != 0) {
		fprintf(stderr, "kvmqual report: --templates %s: %s (give a directory of edited copies of"
				" reports/templates/ files)\n", templates, errno == ENOENT ? "no such directory" : strerror(errno));
		return 2;
	}
	if (templates && !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "kvmqual report: --templates %s is %s, not a directory (give a directory of edited"
				" copies of reports/templates/ files)\n", templates, kq_file_kind(sb.st_mode));
		return 2;
	}
	/* "out/" and "out" are the same directory; DIR.tmp must be beside it. */
	char *out = kq_xstrdup(out_arg);
	for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
		out[n - 1] = '\0';

	struct kq_err err;
	struct report r;
	memset(&r, 0, sizeof(r));
	struct report_plots plots;
	memset(&plots, 0, sizeof(plots));
	char *export_text = NULL, *tmp = NULL, *plot_dir = NULL;
	size_t export_len = 0;
	int status = 2;
	if (load_run(db, run_arg, &r, &export_text, &export_len, &err))
		goto fail;
	tmp = report_outdir_begin(out, &err);
	if (!tmp)
		goto fail;
	plot_dir = kq_xasprintf("%s/plots", tmp);
	if (mkdir(plot_dir, 0777) != 0) {
		kq_error(&err, "%s: %s", plot_dir, strerror(errno));
		goto fail;
	}
	struct report_plot_options popt = { .templates = templates, .timeout_ms = timeout_s * 1000 };
	if (write_file(tmp, "export.json", export_text, export_len, &err) ||
	    report_make_plots(&r, plot_dir, &popt, &plots, &err) ||
	    write_documents(&r, &plots, tmp, templates, &err) || report_outdir_commit(tmp, out, &err))
		goto fail;

	status = 0;
	if (plots.gnuplot_missing)
		fprintf(stderr, "kvmqual report: gnuplot not found: the report has no plots (install gnuplot-nox)\n");
	for (size_t i = 0; i < plots.count; i++)
		if (plots.plot[i].error) {
			fprintf(stderr, "kvmqual report: plot %s not drawn: %s\n", plots.plot[i].name, plots.plot[i].error);
			status = 1;
		}
	printf("kvmqual report: run %lld: %s: %s\n", (long long)r.run_id, report_status_title(r.status), r.headline);
	printf("kvmqual report: written to %s/index.html (and report.md, plots/)\n", out);
	goto done;
fail:
	fprintf(stderr, "kvmqual report: %s\n", err.msg);
	if (tmp)
		report_remove_tree(tmp);
done:
	report_plots_free(&plots);
	report_free(&r);
	free(export_text);
	free(plot_dir);
	free(tmp);
	free(out);
	return status;
}
