/* kvmqual matrix: the compatibility matrix of many hosts from their
 * results stores (--db, read-only) and the bundles they sent in (--in: a
 * directory, a file, or an http(s) collection the hosts published to).
 * Options and exit codes only; the work is in the other matrix/ files. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/number.h"
#include "http.h"
#include "matrix.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual matrix [--db FILE]... [--in DIR|FILE|URL]... --out DIR\n"
		"                      [--select latest-qualifying|latest|run:ID] [--merge-sources]\n"
		"Builds the compatibility matrix, one row per device (arch, model, SoC, kernel,\n"
		"page size), from results stores and from bundles (kvmqual export --format json)\n"
		"that hosts sent in, and writes DIR/matrix.md, matrix.html, matrix.json, matrix.csv.\n"
		"  --db FILE        a results store, read-only (repeatable)\n"
		"  --in DIR|FILE|URL  bundles: every *.json of a directory, one file, or every\n"
		"                   *.json of an http(s) WebDAV collection (repeatable)\n"
		"  --select WHICH   the run shown per device: latest-qualifying (default: the\n"
		"                   newest run where KVM worked, else the newest), latest (the\n"
		"                   newest finished run), run:ID (that run id in each source)\n"
		"  --merge-sources  one row per identity even when several sources hold it\n"
		"                   (default: one row per source, marked as a conflict)\n"
		"For --in URL: --max-download SIZE (all members together, default 256M; K, M, G),\n"
		"  --timeout S and --min-rate BYTES (cut off below BYTES a second for S seconds:\n"
		"  30, 1024), --deadline S (per request, 300), --retries N (3)\n"
		"Exit status: 0 written, 1 writing or fetching failed, 2 bad usage or bad input.\n");
}

static int make_dirs(const char *path, struct kq_err *err)
{
	char *dir = kq_xstrdup(path);
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			kq_error(err, "%s: cannot create: %s", dir, strerror(errno));
			free(dir);
			return -1;
		}
		*p = c;
		if (!c)
			break;
	}
	free(dir);
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return kq_error(err, "%s: not a directory", path);
	return 0;
}

typedef int (*writer_fn)(const struct matrix *m, FILE *out, struct kq_err *err);

/* The matrix's names in its directory are its own: each is renamed into
 * place, which would replace whatever else holds the name (a FIFO, a
 * device node, a link to a file elsewhere).  Such a name is refused before
 * any output is written, so the directory keeps a whole set or the old one. */
static int check_output_name(const char *dir, const char *name, struct kq_err *err)
{
	char *final = kq_xasprintf("%s/%s", dir, name);
	struct stat st;
	int rc = 0;
	if (lstat(final, &st) == 0 && !S_ISREG(st.st_mode))
		rc = kq_error(err, "%s is %s, not a matrix file: remove it, or give another --out directory",
			      final, kq_file_kind(st.st_mode));
	free(final);
	return rc;
}

/* Written beside its final name, then renamed: a reader (or a publish
 * running from the same directory) never sees half a file. */
static int write_output(const struct matrix *m, const char *dir, const char *name, writer_fn fn,
			struct kq_err *err)
{
	char *final = kq_xasprintf("%s/%s", dir, name);
	char *tmp = kq_xasprintf("%s/.%s.XXXXXX", dir, name);
	int ret = -1;
	int fd = mkstemp(tmp);
	if (fd < 0) {
		kq_error(err, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0) {
		kq_error(err, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		kq_error(err, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	int rc = fn(m, f, err);
	if (fclose(f) != 0 && !rc)
		rc = kq_error(err, "%s: %s", final, strerror(errno));
	if (rc) {
		unlink(tmp);
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		kq_error(err, "%s: %s", final, msg);
		goto out;
	}
	if (rename(tmp, final) != 0) {
		kq_error(err, "%s: %s", final, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(final);
	free(tmp);
	return ret;
}

static void remove_flat_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *path = kq_xasprintf("%s/%s", dir, e->d_name);
			unlink(path);
			free(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* An http(s) collection: fetched into a temporary directory, read from
 * there under the URL's name.  Returns 0, -1 with err (input), or -2
 * (the fetch failed). */
static int read_url(struct matrix *m, const char *url, const struct http_opts *o, struct kq_err *err)
{
	if (http_check_url(url, err)) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg);
		kq_error(err, "--in URL: %s", why);
		return -1;
	}
	const char *tmpdir = getenv("TMPDIR");
	char *dir = kq_xasprintf("%s/kvmqual-matrix.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(dir)) {
		kq_error(err, "%s: %s", dir, strerror(errno));
		free(dir);
		return -2;
	}
	int ret = 0;
	struct http_client *c = http_client_new(o, err);
	int fetched = c ? http_fetch_collection_with(c, url, dir, err) : -1;
	http_client_free(c);
	if (fetched < 0) {
		ret = -2;
	} else {
		char *name = http_url_for_display(url);
		size_t len = strlen(name);
		while (len > 0 && name[len - 1] == '/')
			name[--len] = '\0';
		int read = matrix_read_bundle_dir(m, dir, name, err);
		if (read == 0) {
			char *note = kq_xasprintf("%s: no bundle (*.json) in the collection", name);
			matrix_add_note(m, note);
			free(note);
		}
		free(name);
		ret = read < 0 ? -1 : 0;
	}
	remove_flat_dir(dir);
	free(dir);
	return ret;
}

static int read_input(struct matrix *m, const char *in, const struct http_opts *o, struct kq_err *err)
{
	/* Anything that looks like a URL is one (never a file name to print:
	 * it may carry user:password@). */
	if (http_looks_like_url(in))
		return read_url(m, in, o, err);
	struct stat sb;
	if (stat(in, &sb) != 0)
		return kq_error(err, "--in %s: %s (give a directory of bundles, a bundle file from kvmqual export "
				     "--format json, or an http(s) URL)", in, strerror(errno));
	if (S_ISDIR(sb.st_mode)) {
		int read = matrix_read_bundle_dir(m, in, NULL, err);
		if (read == 0) {
			char *note = kq_xasprintf("%s: no bundle (*.json) in the directory", in);
			matrix_add_note(m, note);
			free(note);
		}
		return read < 0 ? -1 : 0;
	}
	int rc = matrix_read_bundle(m, in, NULL, err);
	if (rc == 1)
		matrix_add_note(m, err->msg);
	return rc < 0 ? -1 : 0;
}

/* "256M", "2G", "65536": bytes, with an optional K, M or G (powers of 1024). */
static int parse_size(const char *arg, unsigned long long *out)
{
	char *end;
	if (!(*arg >= '0' && *arg <= '9'))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	int shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (errno || *end || v == 0 || v > (1ull << 50) >> shift)
		return -1;
	*out = v << shift;
	return 0;
}

/* A whole number from lo to hi, strictly (in decimal: kq_parse_u64 takes
 * hex and octal, which is for the kernel's files, not for options). */
static int parse_long(const char *arg, long lo, long hi, long *out)
{
	long long v;
	if (kq_number_int(arg, lo, hi, &v))
		return -1;
	*out = (long)v;
	return 0;
}

static int parse_select(const char *arg, struct matrix *m)
{
	if (!strcmp(arg, "latest-qualifying")) {
		m->select = MATRIX_LATEST_QUALIFYING;
		return 0;
	}
	if (!strcmp(arg, "latest")) {
		m->select = MATRIX_LATEST;
		return 0;
	}
	if (kq_startswith(arg, "run:")) {
		long long id;
		if (kq_number_int(arg + 4, 1, INT64_MAX - 1, &id) == 0) {
			m->select = MATRIX_RUN;
			m->select_run = (int64_t)id;
			return 0;
		}
	}
	return -1;
}

int cmd_matrix(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' }, { "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' }, { "select", required_argument, NULL, 's' },
		{ "merge-sources", no_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' },
		{ "max-download", required_argument, NULL, 'M' }, { "timeout", required_argument, NULL, 'T' },
		{ "min-rate", required_argument, NULL, 'R' }, { "deadline", required_argument, NULL, 'D' },
		{ "retries", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	struct http_opts hopts;
	http_opts_default(&hopts);
	hopts.max_download = HTTP_FETCH_MAX_DEFAULT;
	long lv;
	struct matrix m;
	matrix_init(&m);
	const char **dbs = kq_xcalloc((size_t)argc + 1, sizeof(*dbs));
	const char **ins = kq_xcalloc((size_t)argc + 1, sizeof(*ins));
	size_t ndb = 0, nin = 0;
	const char *out_dir = NULL;
	int ch, ret = 2;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dbs[ndb++] = optarg; break;
		case 'i': ins[nin++] = optarg; break;
		case 'o': out_dir = optarg; break;
		case 'm': m.merge_sources = 1; break;
		case 'M':
			if (parse_size(optarg, &hopts.max_download)) {
				fprintf(stderr, "kvmqual matrix: --max-download takes a size (e.g. 512M, 2G), not '%s'\n", optarg);
				goto out;
			}
			break;
		case 'T': case 'R': case 'D': case 'r': {
			static const struct { char opt; const char *name; long lo, hi; } lim[] = {
				{ 'T', "--timeout takes 1 to 3600 seconds", 1, 3600 },
				{ 'R', "--min-rate takes 1 to 1000000000 bytes a second", 1, 1000000000 },
				{ 'D', "--deadline takes 1 to 86400 seconds", 1, 86400 },
				{ 'r', "--retries takes 0 to 10", 0, 10 },
			};
			size_t k = 0;
			while (lim[k].opt != ch)
				k++;
			if (parse_long(optarg, lim[k].lo, lim[k].hi, &lv)) {
				fprintf(stderr, "kvmqual matrix: %s, not '%s'\n", lim[k].name, optarg);
				goto out;
			}
			if (ch == 'T')
				hopts.stall_timeout_s = lv;
			else if (ch == 'R')
				hopts.min_rate = lv;
			else if (ch == 'D')
				hopts.deadline_s = lv;
			else
				hopts.retries = (int)lv;
			break;
		}
		case 's':
			if (parse_select(optarg, &m)) {
				fprintf(stderr, "kvmqual matrix: --select takes latest-qualifying, latest or run:ID,"
						" not '%s'\n", optarg);
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmqual matrix: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		goto out;
	}
	if (!ndb && !nin) {
		fprintf(stderr, "kvmqual matrix: no inputs: give at least one --db FILE or --in DIR|FILE|URL\n");
		usage(stderr);
		goto out;
	}
	if (!out_dir || !*out_dir) {
		fprintf(stderr, "kvmqual matrix: --out DIR is required\n");
		usage(stderr);
		goto out;
	}
	/* Before any input is read or fetched: a file where the directory
	 * should be is a usage error, not a failure after the work. */
	struct stat out_st;
	if (stat(out_dir, &out_st) == 0 && !S_ISDIR(out_st.st_mode)) {
		fprintf(stderr, "kvmqual matrix: --out %s is %s, not a directory (give a directory for matrix.md,"
				" .html, .json and .csv)\n", out_dir, kq_file_kind(out_st.st_mode));
		goto out;
	}
	struct kq_err err;
	for (size_t i = 0; i < ndb; i++) {
		if (matrix_read_store(&m, dbs[i], &err)) {
			fprintf(stderr, "kvmqual matrix: %s\n", err.msg);
			goto out;
		}
	}
	for (size_t i = 0; i < nin; i++) {
		int rc = read_input(&m, ins[i], &hopts, &err);
		if (rc) {
			fprintf(stderr, "kvmqual matrix: %s\n", err.msg);
			ret = rc == -2 ? 1 : 2;
			goto out;
		}
	}
	for (size_t i = 0; i < m.note_count; i++)
		fprintf(stderr, "kvmqual matrix: note: %s\n", m.notes[i]);
	if (matrix_build(&m, &err)) {
		fprintf(stderr, "kvmqual matrix: %s\n", err.msg);
		goto out;
	}
	static const struct {
		const char *name;
		writer_fn fn;
	} outputs[] = {
		{ "matrix.json", matrix_write_json },
		{ "matrix.csv", matrix_write_csv },
		{ "matrix.md", matrix_write_markdown },
		{ "matrix.html", matrix_write_html },
	};
	ret = 1;
	if (make_dirs(out_dir, &err)) {
		fprintf(stderr, "kvmqual matrix: %s\n", err.msg);
		goto out;
	}
	for (size_t i = 0; i < KQ_ARRAY_SIZE(outputs); i++) {
		if (check_output_name(out_dir, outputs[i].name, &err)) {
			fprintf(stderr, "kvmqual matrix: %s\n", err.msg);
			goto out;
		}
	}
	for (size_t i = 0; i < KQ_ARRAY_SIZE(outputs); i++) {
		if (write_output(&m, out_dir, outputs[i].name, outputs[i].fn, &err)) {
			fprintf(stderr, "kvmqual matrix: %s\n", err.msg);
			goto out;
		}
	}
	printf("kvmqual matrix: %zu device%s, %zu row%s: %zu qualified, %zu qualified with limits, %zu not qualified",
	       m.devices, m.devices == 1 ? "" : "s", m.row_count, m.row_count == 1 ? "" : "s", m.counts[MATRIX_QUALIFIED], m.counts[MATRIX_LIMITED],
	       m.counts[MATRIX_NOT_QUALIFIED]);
	if (m.conflicts)
		printf("; %zu rows in conflict", m.conflicts);
	if (m.without_run)
		printf("; %zu devices without run %lld", m.without_run, (long long)m.select_run);
	printf("\nkvmqual matrix: wrote %s/matrix.md, matrix.html, matrix.json, matrix.csv\n", out_dir);
	ret = 0;
out:
	free(dbs);
	free(ins);
	matrix_free(&m);
	return ret;
}
