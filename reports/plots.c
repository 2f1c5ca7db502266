/* The report's plots: data files (NAME.dat) and gnuplot scripts (NAME.gp:
 * the variables of this run, then reports/templates/common.gp and the
 * plot's template) in DIR/plots/, and gnuplot run on each as a separate
 * process with a deadline, once for SVG and once for PNG.  Whatever gnuplot
 * does (missing, failing, hanging), the report goes on without that plot
 * and says why. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/runcmd.h"
#include "report.h"

#define PLOT_WIDTH 960
#define PANEL_HEIGHT 270
#define MAX_PANEL_COLS 3
#define GNUPLOT_OUTPUT_CAP (64 * 1024)

/* gnuplot in PATH, or NULL. */
static char *find_gnuplot(void)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		return NULL;
	char *copy = kq_xstrdup(path), *save = NULL;
	char *found = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *p = kq_xasprintf("%s/gnuplot", *dir ? dir : ".");
		struct stat sb;
		if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

/* Stored text in a data file's comment line: a line break there would
 * start a data row of the database's choosing. */
static void dat_text(FILE *f, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
}

static void put_num(FILE *f, double v)
{
	char buf[32];
	report_exact(buf, v);
	fputs(buf, f);
}

/* A gnuplot array of strings: name[n] = ['a', 'b', ...]. */
static void gp_string_array(FILE *f, const char *name, const char *const *items, size_t n)
{
	fprintf(f, "array %s[%zu] = [", name, n);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		report_gp_string(f, items[i]);
	}
	fputs("]\n", f);
}

static void gp_number_array(FILE *f, const char *name, const double *items, size_t n)
{
	fprintf(f, "array %s[%zu] = [", name, n);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		put_num(f, items[i]);
	}
	fputs("]\n", f);
}

static double max_of(double a, double b)
{
	if (isnan(a))
		return b;
	if (isnan(b))
		return a;
	return a > b ? a : b;
}

/* An axis top a little above the highest thing drawn. */
static double headroom(double top)
{
	return isnan(top) || top <= 0 ? 1 : top * 1.15;
}

static void panel_layout(FILE *f, size_t panels, int *rows)
{
	/* A run without samples has no panel (and nothing is drawn): at
	 * least one column, or the division below traps. */
	int cols = panels == 0 ? 1 : panels < MAX_PANEL_COLS ? (int)panels : MAX_PANEL_COLS;
	*rows = (int)((panels + (size_t)cols - 1) / (size_t)cols);
	fprintf(f, "panels = %zu\npanel_cols = %d\npanel_rows = %d\n", panels, cols, *rows);
}

/* ---- each plot's data and variables ---- */

static int bars_data(const struct report *r, FILE *dat, FILE *vars)
{
	size_t n = r->metric_count;
	const char **titles = kq_xcalloc(n, sizeof(*titles)), **units = kq_xcalloc(n, sizeof(*units));
	const char **note_tcg = kq_xcalloc(n, sizeof(*note_tcg)), **note_kvm = kq_xcalloc(n, sizeof(*note_kvm));
	double *ymax = kq_xcalloc(n, sizeof(*ymax)), *target = kq_xcalloc(n, sizeof(*target));
	char **owned = kq_xcalloc(n, sizeof(*owned));
	for (size_t i = 0; i < n; i++) {
		const struct report_metric *m = &r->metrics[i];
		if (i)
			fputs("\n\n", dat);
		fputs("# ", dat);
		dat_text(dat, m->workload);
		fputc(' ', dat);
		dat_text(dat, m->metric);
		fputs(" (", dat);
		dat_text(dat, m->unit);
		fputs("): slot median q1 q3 samples; slot 0 native, 1 TCG, 2 KVM\n", dat);
		double top = NAN;
		for (int a = 0; a < REPORT_ACCELS; a++) {
			const struct report_spread *s = &m->spread[a];
			/* One sample has no spread: no error bar. */
			fprintf(dat, "%d ", a);
			put_num(dat, s->median);
			fputc(' ', dat);
			put_num(dat, s->n > 1 ? s->q1 : NAN);
			fputc(' ', dat);
			put_num(dat, s->n > 1 ? s->q3 : NAN);
			fprintf(dat, " %zu\n", s->n);
			top = max_of(top, max_of(s->median, s->q3));
		}
		target[i] = m->target && !m->target->pct_of_native ? m->target->threshold : NAN;
		ymax[i] = headroom(max_of(top, target[i]));
		owned[i] = kq_xasprintf("%s: %s", m->workload, m->metric);
		titles[i] = owned[i];
		units[i] = m->unit;
		note_tcg[i] = m->spread[REPORT_TCG].n ? "" : "missing";
		note_kvm[i] = m->spread[REPORT_KVM].n ? "" : "missing";
	}
	int rows;
	panel_layout(vars, n, &rows);
	fprintf(vars, "plot_width = %d\nplot_height = %d\n", PLOT_WIDTH, PANEL_HEIGHT * rows + 20);
	gp_string_array(vars, "panel_title", titles, n);
	gp_string_array(vars, "panel_unit", units, n);
	gp_number_array(vars, "panel_ymax", ymax, n);
	gp_number_array(vars, "panel_target", target, n);
	gp_string_array(vars, "panel_note_tcg", note_tcg, n);
	gp_string_array(vars, "panel_note_kvm", note_kvm, n);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	free(owned);
	free(titles);
	free(units);
	free(note_tcg);
	free(note_kvm);
	free(ymax);
	free(target);
	return n > 0;
}

static int boot_data(const struct report *r, FILE *dat, FILE *vars)
{
	fputs("# boot time, every sample: slot total_ms; slot 1 TCG, 2 KVM\n", dat);
	double top = NAN;
	for (int a = REPORT_TCG; a <= REPORT_KVM; a++)
		for (size_t i = 0; i < r->boot.count[a]; i++) {
			if (isnan(r->boot.total_ms[a][i]))
				continue;
			fprintf(dat, "%d ", a);
			put_num(dat, r->boot.total_ms[a][i]);
			fputc('\n', dat);
			top = max_of(top, r->boot.total_ms[a][i]);
		}
	fputs("\n\n# per accelerator: slot min q1 median q3 max samples\n", dat);
	for (int a = REPORT_TCG; a <= REPORT_KVM; a++) {
		const struct report_spread *s = &r->boot.total[a];
		if (!s->n)
			continue;
		const double v[5] = { s->min, s->q1, s->median, s->q3, s->max };
		fprintf(dat, "%d", a);
		for (int k = 0; k < 5; k++) {
			fputc(' ', dat);
			put_num(dat, v[k]);
		}
		fprintf(dat, " %zu\n", s->n);
	}
	const struct report_target *t = r->boot.target;
	double target = t && !t->pct_of_native ? t->threshold : NAN;
	fprintf(vars, "plot_width = %d\nplot_height = %d\n", PLOT_WIDTH * 2 / 3, 380);
	fputs("boot_ymax = ", vars);
	put_num(vars, headroom(max_of(top, target)));
	fputs("\nboot_target = ", vars);
	put_num(vars, target);
	fprintf(vars, "\nboot_note_tcg = '%s'\nboot_note_kvm = '%s'\n", r->boot.total[REPORT_TCG].n ? "" : "missing",
		r->boot.total[REPORT_KVM].n ? "" : "missing");
	return r->boot.total[REPORT_TCG].n + r->boot.total[REPORT_KVM].n > 0;
}

static int pct_data(const struct report *r, FILE *dat, FILE *vars)
{
	fputs("# % of native: slot tcg_pct kvm_pct target_pct\n", dat);
	size_t n = 0;
	double top = 100;
	char **labels = kq_xcalloc(r->metric_count ? r->metric_count : 1, sizeof(*labels));
	for (size_t i = 0; i < r->metric_count; i++) {
		const struct report_metric *m = &r->metrics[i];
		if (isnan(m->tcg_pct_of_native) && isnan(m->kvm_pct_of_native))
			continue;
		double target = m->target && m->target->pct_of_native ? m->target->threshold : NAN;
		fprintf(dat, "%zu ", n + 1);
		put_num(dat, m->tcg_pct_of_native);
		fputc(' ', dat);
		put_num(dat, m->kvm_pct_of_native);
		fputc(' ', dat);
		put_num(dat, target);
		fputc('\n', dat);
		top = max_of(top, max_of(m->tcg_pct_of_native, max_of(m->kvm_pct_of_native, target)));
		labels[n++] = kq_xasprintf("%s %s", m->workload, m->metric);
	}
	fprintf(vars, "plot_width = %d\nplot_height = %d\nmetrics = %zu\n", PLOT_WIDTH, 460, n);
	if (n)
		gp_string_array(vars, "metric_label", (const char *const *)labels, n);
	fputs("pct_ymax = ", vars);
	put_num(vars, headroom(top));
	fprintf(vars, "\npct_note = '%s'\n", r->kvm_measured ? "" : "KVM: missing (see the reason above the numbers)");
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
	free(labels);
	return n > 0;
}

/* The time axis of the history: a little room on both sides, about five
 * ticks at a round interval, labels as fine as the interval needs. */
static void time_axis(const struct report *r, FILE *vars)
{
	static const double steps[] = { 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
					86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400,
					365 * 86400.0 };
	double lo = NAN, hi = NAN;
	for (size_t i = 0; i < r->history_count; i++)
		for (size_t k = 0; k < r->history[i].count; k++) {
			double t = r->history[i].points[k].time;
			if (isnan(t))
				continue;
			lo = isnan(lo) || t < lo ? t : lo;
			hi = isnan(hi) || t > hi ? t : hi;
		}
	if (isnan(lo))
		lo = hi = 0;
	double pad = (hi - lo) * 0.06 > 30 ? (hi - lo) * 0.06 : 30;
	lo -= pad;
	hi += pad;
	double step = steps[KQ_ARRAY_SIZE(steps) - 1];
	for (size_t i = 0; i < KQ_ARRAY_SIZE(steps); i++)
		if (steps[i] >= (hi - lo) / 5) {
			step = steps[i];
			break;
		}
	const char *format = step >= 86400 ? "%Y-%m-%d" : hi - lo < 86400 ? "%H:%M" : "%m-%d %H:%M";
	fprintf(vars, "history_xmin = %.0f\nhistory_xmax = %.0f\nhistory_xtic = %.0f\nhistory_xformat = '%s'\n",
		floor(lo), ceil(hi), step, format);
}

static int history_data(const struct report *r, FILE *dat, FILE *vars)
{
	size_t n = r->history_count;
	const char **titles = kq_xcalloc(n ? n : 1, sizeof(*titles)), **units = kq_xcalloc(n ? n : 1, sizeof(*units));
	for (size_t i = 0; i < n; i++) {
		const struct report_history *h = &r->history[i];
		if (i)
			fputs("\n\n", dat);
		fputs("# ", dat);
		dat_text(dat, h->key);
		fputs(" (", dat);
		dat_text(dat, h->unit);
		fputs("): unix_time native tcg kvm run_id\n", dat);
		for (size_t k = 0; k < h->count; k++) {
			const struct report_history_point *p = &h->points[k];
			if (isnan(p->time))
				continue;
			fprintf(dat, "%.3f", p->time);
			for (int a = 0; a < REPORT_ACCELS; a++) {
				fputc(' ', dat);
				put_num(dat, p->median[a]);
			}
			fprintf(dat, " %lld\n", (long long)p->run);
		}
		titles[i] = h->title;
		units[i] = h->unit;
	}
	int rows = 0;
	if (n) {
		panel_layout(vars, n, &rows);
		gp_string_array(vars, "panel_title", titles, n);
		gp_string_array(vars, "panel_unit", units, n);
		time_axis(r, vars);
	}
	fprintf(vars, "plot_width = %d\nplot_height = %d\n", PLOT_WIDTH, (PANEL_HEIGHT + 30) * rows + 20);
	free(titles);
	free(units);
	return n > 0;
}

static const struct plot_kind {
	const char *name, *title;
	int (*data)(const struct report *r, FILE *dat, FILE *vars);
} kinds[] = {
	{ "bars", "KVM vs TCG vs native per workload metric: median of the samples, spread from the first to the"
		  " third quartile, absolute targets dashed", bars_data },
	{ "boot", "Boot time per accelerator (QEMU started to the guest agent ready): every sample, quartiles and"
		  " median, the KVM target dashed", boot_data },
	{ "pct", "Percent of native per workload metric under TCG and KVM, against the %-of-native targets (dashed)",
	  pct_data },
	{ "history", "Each headline metric over this host's runs in the database (median per run)", history_data },
};

/* ---- running gnuplot ---- */

static const char *gnuplot_dir; /* the child's working directory (runcmd's child_setup) */

static void enter_plot_dir(void)
{
	if (chdir(gnuplot_dir) != 0)
		_exit(126);
}

static int is_png(const char *path)
{
	unsigned char sig[8];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(sig, 1, sizeof(sig), f);
	fclose(f);
	return n == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8);
}

/* The last part of gnuplot's messages, which holds the error. */
static char *tail_of(const char *text, size_t max)
{
	size_t len = strlen(text);
	char *t = kq_xstrdup(len > max ? text + len - max : text);
	kq_strtrim(t);
	return t;
}

static char *run_gnuplot(const char *gnuplot, const char *dir, const char *name, const char *fmt, int timeout_ms)
{
	char *fmt_arg = kq_xasprintf("fmt=\"%s\"", fmt);
	char *script = kq_xasprintf("%s.gp", name);
	char *argv[] = { (char *)gnuplot, (char *)"-e", fmt_arg, script, NULL };
	struct runcmd_result res;
	gnuplot_dir = dir;
	int rc = runcmd(argv, timeout_ms, GNUPLOT_OUTPUT_CAP, enter_plot_dir, &res);
	char *error = NULL;
	if (rc)
		error = kq_xasprintf("cannot run %s: %s", gnuplot, strerror(rc));
	else if (res.timed_out)
		error = kq_xasprintf("%s on %s.gp (%s) did not finish within %d s and was killed", gnuplot, name, fmt,
				     timeout_ms / 1000);
	else if (res.exit_code != 0 || res.signal) {
		char *msg = tail_of(res.err.data, 1500);
		if (res.exit_code == 126 && !*msg)
			error = kq_xasprintf("%s on %s.gp: cannot enter %s", gnuplot, name, dir);
		else if (res.signal)
			error = kq_xasprintf("%s on %s.gp (%s) was killed by signal %d: %s", gnuplot, name, fmt, res.signal,
					     msg);
		else
			error = kq_xasprintf("%s on %s.gp (%s) exited with status %d: %s", gnuplot, name, fmt,
					     res.exit_code, msg);
		free(msg);
	}
	if (!rc)
		runcmd_result_free(&res);
	if (!error) {
		char *out = kq_xasprintf("%s/%s.%s", dir, name, fmt);
		struct stat sb;
		if (stat(out, &sb) != 0 || sb.st_size == 0)
			error = kq_xasprintf("%s on %s.gp made no %s.%s", gnuplot, name, name, fmt);
		else if (!strcmp(fmt, "png") && !is_png(out))
			error = kq_xasprintf("%s on %s.gp: %s.png is not a PNG image", gnuplot, name, name);
		free(out);
	}
	free(fmt_arg);
	free(script);
	return error;
}

/* Writes NAME.dat and NAME.gp; 0 = nothing to plot, 1 = written, -1 = error. */
static int write_plot_files(const struct report *r, const struct plot_kind *k, const char *dir,
			    const char *templates, struct kq_err *err)
{
	char *dat_path = kq_xasprintf("%s/%s.dat", dir, k->name);
	char *gp_path = kq_xasprintf("%s/%s.gp", dir, k->name);
	char *common = NULL, *body = NULL, *vars_text = NULL;
	size_t vars_len = 0;
	int ret = -1;
	FILE *dat = fopen(dat_path, "w");
	FILE *vars = open_memstream(&vars_text, &vars_len);
	if (!dat || !vars) {
		kq_error(err, "%s: %s", dat_path, strerror(errno));
		goto out;
	}
	int has_data = k->data(r, dat, vars);
	fclose(vars);
	vars = NULL;
	if (fclose(dat) != 0) {
		dat = NULL;
		kq_error(err, "%s: %s", dat_path, strerror(errno));
		goto out;
	}
	dat = NULL;
	if (!has_data) {
		unlink(dat_path);
		ret = 0;
		goto out;
	}
	common = report_template(templates, "common.gp", err);
	if (!common)
		goto out;
	char *tpl_name = kq_xasprintf("%s.gp", k->name);
	body = report_template(templates, tpl_name, err);
	free(tpl_name);
	if (!body)
		goto out;
	FILE *gp = fopen(gp_path, "w");
	if (!gp) {
		kq_error(err, "%s: %s", gp_path, strerror(errno));
		goto out;
	}
	/* Nothing from the database or the command line goes into this script
	 * but as a quoted string (report_gp_string): a --db path with a line
	 * break in a comment line would have been a command. */
	fprintf(gp, "# %s\n# Written by kvmqual report.  In this directory:\n"
		    "#     gnuplot -e 'fmt=\"svg\"' %s.gp      (or fmt=\"png\")\n\n",
		k->title, k->name);
	fprintf(gp, "report_run = %lld\nreport_database = ", (long long)r->run_id);
	report_gp_string(gp, r->database ? r->database : "the export");
	fprintf(gp, "\nplot_name = '%s'\ndatafile = '%s.dat'\n", k->name, k->name);
	fwrite(vars_text, 1, vars_len, gp);
	fprintf(gp, "\n# ---- common.gp ----\n%s\n# ---- %s.gp ----\n%s", common, k->name, body);
	if (fclose(gp) != 0) {
		kq_error(err, "%s: %s", gp_path, strerror(errno));
		goto out;
	}
	ret = 1;
out:
	if (dat)
		fclose(dat);
	if (vars)
		fclose(vars);
	free(vars_text);
	free(common);
	free(body);
	free(dat_path);
	free(gp_path);
	return ret;
}

int report_make_plots(const struct report *r, const char *dir, const struct report_plot_options *opt,
		      struct report_plots *plots, struct kq_err *err)
{
	memset(plots, 0, sizeof(*plots));
	plots->gnuplot = find_gnuplot();
	plots->gnuplot_missing = plots->gnuplot == NULL;
	int timeout_ms = opt && opt->timeout_ms > 0 ? opt->timeout_ms : 60000;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(kinds); i++) {
		const struct plot_kind *k = &kinds[i];
		int written = write_plot_files(r, k, dir, opt ? opt->templates : NULL, err);
		if (written < 0)
			return -1;
		if (!written)
			continue;
		struct report_plot *p = &plots->plot[plots->count++];
		p->name = k->name;
		p->title = k->title;
		if (plots->gnuplot_missing)
			continue;
		p->error = run_gnuplot(plots->gnuplot, dir, k->name, "svg", timeout_ms);
		if (!p->error)
			p->error = run_gnuplot(plots->gnuplot, dir, k->name, "png", timeout_ms);
		if (p->error)
			continue;
		char *svg_path = kq_xasprintf("%s/%s.svg", dir, k->name), *svg;
		struct kq_err serr;
		if (kq_read_file(svg_path, 16 << 20, &svg, NULL, &serr)) {
			p->error = kq_xstrdup(serr.msg);
		} else {
			p->svg = report_svg_inline(svg, k->name, &serr);
			if (!p->svg)
				p->error = kq_xasprintf("%s: %s", svg_path, serr.msg);
			free(svg);
		}
		free(svg_path);
		p->made = p->error == NULL;
	}
	return 0;
}

void report_plots_free(struct report_plots *plots)
{
	for (size_t i = 0; i < plots->count; i++) {
		free(plots->plot[i].error);
		free(plots->plot[i].svg);
	}
	free(plots->gnuplot);
	memset(plots, 0, sizeof(*plots));
}

/* ---- SVG into the page ---- */

/* Every url(...) must point inside the document (#id). */
static int urls_are_local(const char *svg, const char **bad)
{
	for (const char *p = svg; (p = strcasestr(p, "url(")); p += 4) {
		const char *q = p + 4;
		while (*q == ' ' || *q == '\'' || *q == '"')
			q++;
		if (*q != '#') {
			*bad = p;
			return 0;
		}
	}
	return 1;
}

/* Rewrites url(#x) as url(#PREFIX-x) in an attribute value. */
static void put_value(struct kq_buf *b, const char *v, size_t len, const char *prefix)
{
	for (size_t i = 0; i < len; i++) {
		kq_buf_add(b, v + i, 1);
		if (v[i] == '#' && i >= 1 && (v[i - 1] == '(' || v[i - 1] == '\'' || v[i - 1] == '"' ||
					      v[i - 1] == ' ')) {
			size_t k = i;
			while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\'' || v[k - 1] == '"'))
				k--;
			if (k >= 4 && !strncasecmp(v + k - 4, "url(", 4))
				kq_buf_printf(b, "%s-", prefix);
		}
	}
}

static int name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

/* The length of an XML name at p (0 when there is none). */
static size_t name_len(const char *p)
{
	size_t n = 0;
	while (name_char(p[n], n == 0))
		n++;
	return n;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One start tag, from '<' to '>', attributes rewritten.  Anything that is
 * not plain XML (a tag or attribute name with odd characters, a value
 * without quotes) is refused rather than guessed at. */
static const char *put_tag(struct kq_buf *b, const char *p, const char *prefix, struct kq_err *err)
{
	const char *name = p + 1;
	size_t len = name_len(name);
	if (!len)
		return kq_error(err, "the SVG has a malformed tag near '%.20s'", p), NULL;
	if ((len == 6 && !strncasecmp(name, "script", 6)) || (len == 13 && !strncasecmp(name, "foreignObject", 13)))
		return kq_error(err, "the SVG holds a <%.*s> element", (int)len, name), NULL;
	kq_buf_add(b, p, 1 + len);
	p = name + len;
	for (;;) {
		int spaced = 0;
		while (is_space(*p))
			p++, spaced = 1;
		if (*p == '>' || (p[0] == '/' && p[1] == '>')) {
			size_t n = *p == '>' ? 1 : 2;
			kq_buf_add(b, p, n);
			return p + n;
		}
		const char *attr = p;
		size_t attr_len = name_len(p);
		if (!attr_len || !spaced)
			return kq_error(err, "the SVG has a malformed tag near '%.20s'", p), NULL;
		p += attr_len;
		while (is_space(*p))
			p++;
		if (*p != '=')
			return kq_error(err, "the SVG has an attribute without a value (%.*s)", (int)attr_len, attr), NULL;
		p++;
		while (is_space(*p))
			p++;
		if (*p != '"' && *p != '\'')
			return kq_error(err, "the SVG has an unquoted attribute value (%.*s)", (int)attr_len, attr), NULL;
		char quote = *p++;
		const char *end = strchr(p, quote);
		if (!end)
			return kq_error(err, "the SVG ends inside an attribute value"), NULL;
		const char *value = p;
		size_t value_len = (size_t)(end - p);
		p = end + 1;
		if ((attr_len == 5 && !strncmp(attr, "xmlns", 5)) || !strncmp(attr, "xmlns:", 6))
			continue; /* HTML puts <svg> in the SVG namespace by itself */
		if (attr_len > 2 && !strncasecmp(attr, "on", 2))
			return kq_error(err, "the SVG has an event handler (%.*s)", (int)attr_len, attr), NULL;
		if (memchr(value, '<', value_len))
			return kq_error(err, "the SVG has a '<' in the value of %.*s", (int)attr_len, attr), NULL;
		int is_id = attr_len == 2 && !strncmp(attr, "id", 2);
		int is_href = (attr_len == 4 && !strncmp(attr, "href", 4)) ||
			      (attr_len == 10 && !strncmp(attr, "xlink:href", 10));
		if (is_href && !(value_len && value[0] == '#'))
			return kq_error(err, "the SVG links to %.*s, outside itself", (int)(value_len > 80 ? 80 : value_len),
					value),
			       NULL;
		kq_buf_add(b, " ", 1);
		kq_buf_add(b, attr, attr_len);
		kq_buf_printf(b, "=%c", quote);
		if (is_id)
			kq_buf_printf(b, "%s-", prefix);
		if (is_href) {
			kq_buf_printf(b, "#%s-", prefix);
			kq_buf_add(b, value + 1, value_len - 1);
		} else {
			put_value(b, value, value_len, prefix);
		}
		kq_buf_add(b, &quote, 1);
	}
}

/* An end tag: '</', a name, maybe spaces, '>'. */
static const char *put_end_tag(struct kq_buf *b, const char *p, struct kq_err *err)
{
	size_t len = name_len(p + 2), n = 2 + len;
	while (is_space(p[n]))
		n++;
	if (!len || p[n] != '>')
		return kq_error(err, "the SVG has a malformed end tag near '%.20s'", p), NULL;
	kq_buf_add(b, p, 2 + len);
	kq_buf_add(b, ">", 1);
	return p + n + 1;
}

char *report_svg_inline(const char *svg, const char *prefix, struct kq_err *err)
{
	const char *start = svg;
	while ((start = strstr(start, "<svg")) && !strchr(" \t\r\n/>", start[4]))
		start += 4;
	if (!start)
		return kq_error(err, "not an SVG document (no <svg> element)"), NULL;
	const char *bad;
	if (!urls_are_local(start, &bad))
		return kq_error(err, "the SVG refers to %.40s, outside itself", bad), NULL;
	if (strcasestr(start, "@import"))
		return kq_error(err, "the SVG imports a style sheet"), NULL;
	struct kq_buf b;
	kq_buf_init(&b);
	const char *p = start;
	while (*p) {
		if (*p != '<') {
			size_t n = strcspn(p, "<");
			kq_buf_add(&b, p, n);
			p += n;
			continue;
		}
		if (!strncmp(p, "<!--", 4)) {
			const char *end = strstr(p + 4, "-->");
			if (!end)
				goto truncated;
			p = end + 3;
		} else if (!strncmp(p, "<![CDATA[", 9)) {
			kq_buf_free(&b);
			return kq_error(err, "the SVG holds a CDATA section (gnuplot's scripts?)"), NULL;
		} else if (p[1] == '?' || p[1] == '!') {
			const char *end = strchr(p, '>');
			if (!end)
				goto truncated;
			p = end + 1;
		} else {
			p = p[1] == '/' ? put_end_tag(&b, p, err) : put_tag(&b, p, prefix, err);
			if (!p) {
				kq_buf_free(&b);
				return NULL;
			}
		}
	}
	kq_buf_add(&b, "", 0);
	return kq_buf_steal(&b);
truncated:
	kq_buf_free(&b);
	return kq_error(err, "the SVG is cut off (an unterminated comment or declaration)"), NULL;
}
