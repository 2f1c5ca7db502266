/* kvmqual publish: uploads reports, matrices and result bundles to a
 * WebDAV collection (or any store that takes PUT).  Each file goes to a
 * temporary name in its collection and is MOVEd into place when complete,
 * so that readers never see half a file.  docs/publish.md has the details. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/number.h"
#include "http.h"

#define MAX_TREE_DEPTH 32

/* One file to upload: where it is and where it goes under the URL. */
struct upload {
	char *local;
	char *remote;            /* relative path, '/'-separated, not encoded */
	long long size;
};

struct plan {
	struct upload *files;
	size_t nfiles, capfiles;
	char **dirs;             /* relative collections, parents first */
	size_t ndirs, capdirs;
};

static void plan_add_file(struct plan *p, const char *local, const char *remote, long long size)
{
	if (p->nfiles == p->capfiles) {
		p->capfiles = p->capfiles ? p->capfiles * 2 : 16;
		p->files = kq_xrealloc(p->files, p->capfiles * sizeof(*p->files));
	}
	p->files[p->nfiles++] = (struct upload){ kq_xstrdup(local), kq_xstrdup(remote), size };
}

static void plan_add_dir(struct plan *p, const char *remote)
{
	for (size_t i = 0; i < p->ndirs; i++)
		if (!strcmp(p->dirs[i], remote))
			return;
	if (p->ndirs == p->capdirs) {
		p->capdirs = p->capdirs ? p->capdirs * 2 : 16;
		p->dirs = kq_xrealloc(p->dirs, p->capdirs * sizeof(*p->dirs));
	}
	p->dirs[p->ndirs++] = kq_xstrdup(remote);
}

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->nfiles; i++) {
		free(p->files[i].local);
		free(p->files[i].remote);
	}
	for (size_t i = 0; i < p->ndirs; i++)
		free(p->dirs[i]);
	free(p->files);
	free(p->dirs);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the tree under dir (local path) as remote prefix rel ("" at the top),
 * in sorted order so that runs are reproducible. */
static int walk(struct plan *p, const char *dir, const char *rel, int depth, struct kq_err *err)
{
	if (depth > MAX_TREE_DEPTH)
		return kq_error(err, "%s: directories nested deeper than %d", dir, MAX_TREE_DEPTH);
	DIR *d = opendir(dir);
	if (!d)
		return kq_error(err, "%s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = kq_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = kq_xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 1) /* an empty directory has no names array: qsort(NULL, 0) is undefined */
		qsort(names, n, sizeof(*names), cmp_names);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *local = kq_xasprintf("%s/%s", dir, names[i]);
		char *remote = rel[0] ? kq_xasprintf("%s/%s", rel, names[i]) : kq_xstrdup(names[i]);
		struct stat st;
		if (rc == 0 && lstat(local, &st)) {
			rc = kq_error(err, "%s: %s", local, strerror(errno));
		} else if (rc == 0 && S_ISREG(st.st_mode)) {
			plan_add_file(p, local, remote, (long long)st.st_size);
		} else if (rc == 0 && S_ISDIR(st.st_mode)) {
			plan_add_dir(p, remote);
			rc = walk(p, local, remote, depth + 1, err);
		} else if (rc == 0) {
			/* Links could lead anywhere; a report or matrix has none. */
			fprintf(stderr, "kvmqual publish: skipping %s: not a regular file or directory\n",
				local);
		}
		free(local);
		free(remote);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int plan_inputs(struct plan *p, char **inputs, int n, struct kq_err *err)
{
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (stat(inputs[i], &st))
			return kq_error(err, "%s: %s", inputs[i], strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			if (walk(p, inputs[i], "", 0, err))
				return -1;
		} else if (S_ISREG(st.st_mode)) {
			const char *base = strrchr(inputs[i], '/');
			base = base ? base + 1 : inputs[i];
			plan_add_file(p, inputs[i], base, (long long)st.st_size);
		} else {
			return kq_error(err, "%s: not a regular file or directory", inputs[i]);
		}
	}
	/* Two inputs must not land on the same name. */
	for (size_t i = 0; i < p->nfiles; i++)
		for (size_t j = i + 1; j < p->nfiles; j++)
			if (!strcmp(p->files[i].remote, p->files[j].remote))
				return kq_error(err, "%s and %s would both be published as '%s'",
						p->files[i].local, p->files[j].local, p->files[i].remote);
	return 0;
}

/* URL of a relative path under the base collection, each segment encoded. */
static char *remote_url(const char *base, const char *rel)
{
	char *url = kq_xstrdup(base);
	char *copy = kq_xstrdup(rel), *save = NULL;
	for (char *seg = strtok_r(copy, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		char *next = http_url_join(url, seg);
		free(url);
		url = next;
	}
	free(copy);
	return url;
}

static void format_size(long long bytes, char *out, size_t cap)
{
	if (bytes < 1024)
		snprintf(out, cap, "%lld B", bytes);
	else if (bytes < 1024 * 1024)
		snprintf(out, cap, "%.1f KiB", (double)bytes / 1024);
	else
		snprintf(out, cap, "%.1f MiB", (double)bytes / (1024 * 1024));
}

static char *temp_name(const char *remote)
{
	const char *base = strrchr(remote, '/');
	base = base ? base + 1 : remote;
	unsigned int r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned int)kq_now_ns();
	return kq_xasprintf(".%s.upload-%ld-%08x", base, (long)getpid(), r);
}

/* PUT to a temporary name beside the final one, then MOVE it into place;
 * the temporary is removed when anything fails. */
static int upload_one(struct http_client *c, const char *base, const struct upload *u, int no_move,
		      double *seconds, struct kq_err *err)
{
	char *final = remote_url(base, u->remote);
	struct http_result res;
	int rc;
	if (no_move) {
		rc = http_put_file(c, final, u->local, &res, err);
		*seconds = res.seconds;
	} else {
		const char *slash = strrchr(u->remote, '/');
		char *dir_rel = slash ? kq_xasprintf("%.*s", (int)(slash - u->remote), u->remote)
				      : kq_xstrdup("");
		char *dir_url = remote_url(base, dir_rel);
		char *tmp_seg = temp_name(u->remote);
		char *tmp = http_url_join(dir_url, tmp_seg);
		rc = http_put_file(c, tmp, u->local, &res, err);
		*seconds = res.seconds;
		if (rc == 0) {
			rc = http_move(c, tmp, final, &res, err);
			*seconds += res.seconds;
		}
		if (rc) {
			struct kq_err ignored;
			http_delete(c, tmp, NULL, &ignored);
		}
		free(tmp);
		free(tmp_seg);
		free(dir_url);
		free(dir_rel);
	}
	free(final);
	return rc;
}

static int is_loopback(const char *url)
{
	const char *host = strstr(url, "//");
	host = host ? host + 2 : url;
	return kq_startswith(host, "127.") || kq_startswith(host, "localhost") ||
	       kq_startswith(host, "[::1]");
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual publish --to URL [OPTIONS] DIR|FILE...\n"
		"Uploads reports, matrices and result bundles to the WebDAV collection URL:\n"
		"a DIR's files keep their relative paths under URL, a FILE goes in by its\n"
		"name.  Collections are made as needed (MKCOL); each file is PUT to a\n"
		"temporary name and MOVEd into place, so readers never see half a file.\n"
		"\n"
		"  --to URL          http:// or https:// collection (no user:password in it)\n"
		"  --no-move         PUT straight to the final names, no MKCOL or MOVE: for\n"
		"                    stores that only take PUT (S3 and most artifact stores).\n"
		"                    A URL with a query string (an S3 presigned URL) names one\n"
		"                    object: give one FILE with it\n"
		"  --retries N       retries on 5xx, 429, timeouts, connection errors (3)\n"
		"  --timeout S       abort a request that moves less than --min-rate bytes a\n"
		"                    second for S seconds (30)\n"
		"  --min-rate BYTES  that minimum rate (1024)\n"
		"  --deadline S      abort any request that lasts longer than S seconds (300)\n"
		"  --cacert FILE     verify the server against this CA bundle\n"
		"  --insecure        do not verify the server's TLS certificate\n"
		"\n"
		"Credentials, never on the command line: ~/.netrc ($NETRC), or the\n"
		"environment: %s (Bearer), or %s and %s (basic).\n"
		"Exit: 0 all uploaded, 1 an upload failed, 2 usage or input error.\n",
		HTTP_ENV_TOKEN, HTTP_ENV_USER, HTTP_ENV_PASSWORD);
}

int cmd_publish(int argc, char **argv)
{
	const char *to = NULL;
	int no_move = 0;
	struct http_opts o;
	http_opts_default(&o);
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "no-move", no_argument, NULL, 'n' },
		{ "retries", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "min-rate", required_argument, NULL, 'R' },
		{ "deadline", required_argument, NULL, 'D' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	long long v;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't': to = optarg; break;
		case 'n': no_move = 1; break;
		case 'k': o.insecure = 1; break;
		case 'c': o.cacert = optarg; break;
		case 'r':
			if (kq_number_int(optarg, 0, 10, &v)) {
				fprintf(stderr, "kvmqual publish: --retries takes 0 to 10, not '%s'\n", optarg);
				return 2;
			}
			o.retries = (int)v;
			break;
		case 'T':
			if (kq_number_int(optarg, 1, 3600, &v)) {
				fprintf(stderr, "kvmqual publish: --timeout takes 1 to 3600 seconds, not '%s'\n",
					optarg);
				return 2;
			}
			o.stall_timeout_s = (long)v;
			break;
		case 'R':
			if (kq_number_int(optarg, 1, 1000000000, &v)) {
				fprintf(stderr, "kvmqual publish: --min-rate takes 1 to 1000000000 bytes a second, not '%s'\n",
					optarg);
				return 2;
			}
			o.min_rate = (long)v;
			break;
		case 'D':
			if (kq_number_int(optarg, 1, 86400, &v)) {
				fprintf(stderr, "kvmqual publish: --deadline takes 1 to 86400 seconds, not '%s'\n", optarg);
				return 2;
			}
			o.deadline_s = (long)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!to || optind >= argc) {
		fprintf(stderr, "kvmqual publish: %s\n", !to ? "--to URL is required" : "nothing to publish");
		usage(stderr);
		return 2;
	}
	struct kq_err err;
	if (http_check_url(to, &err)) {
		fprintf(stderr, "kvmqual publish: --to: %s\n", err.msg);
		return 2;
	}
	if (o.cacert && access(o.cacert, R_OK)) {
		fprintf(stderr, "kvmqual publish: --cacert %s: %s\n", o.cacert, strerror(errno));
		return 2;
	}
	struct plan plan = { 0 };
	if (plan_inputs(&plan, argv + optind, argc - optind, &err)) {
		fprintf(stderr, "kvmqual publish: %s\n", err.msg);
		plan_free(&plan);
		return 2;
	}
	int object_url = strchr(to, '?') != NULL;
	if (object_url && (!no_move || plan.nfiles != 1 || plan.ndirs)) {
		fprintf(stderr, "kvmqual publish: a URL with a query string (a presigned URL) names one "
				"object: give exactly one FILE and --no-move\n");
		plan_free(&plan);
		return 2;
	}
	if (plan.nfiles == 0) {
		fprintf(stderr, "kvmqual publish: no files to publish in %s\n", argv[optind]);
		plan_free(&plan);
		return 2;
	}
	struct http_client *c = http_client_new(&o, &err);
	if (!c) {
		fprintf(stderr, "kvmqual publish: %s\n", err.msg);
		plan_free(&plan);
		return 2;
	}
	char *shown = http_url_for_display(to);
	if (o.insecure)
		fprintf(stderr, "kvmqual publish: warning: --insecure: the server's certificate is not "
				"verified\n");
	if ((getenv(HTTP_ENV_TOKEN) || getenv(HTTP_ENV_USER)) && http_scheme(to) == 1 &&
	    !is_loopback(to))
		fprintf(stderr, "kvmqual publish: warning: credentials go over plain http:// to %s\n",
			shown);
	long long total_bytes = 0;
	for (size_t i = 0; i < plan.nfiles; i++)
		total_bytes += plan.files[i].size;
	printf("publishing %zu file%s to %s (credentials: %s)\n", plan.nfiles,
	       plan.nfiles == 1 ? "" : "s", shown, http_client_auth_source(c));
	fflush(stdout);

	uint64_t t0 = kq_now_ns();
	int rc = 0;
	size_t done = 0;
	if (!no_move) {
		if (http_mkcol(c, to, NULL, &err))
			rc = 1;
		for (size_t i = 0; rc == 0 && i < plan.ndirs; i++) {
			char *url = remote_url(to, plan.dirs[i]);
			if (http_mkcol(c, url, NULL, &err))
				rc = 1;
			free(url);
		}
	}
	for (size_t i = 0; rc == 0 && i < plan.nfiles; i++) {
		const struct upload *u = &plan.files[i];
		double seconds = 0;
		/* A presigned URL is the object itself: no name is added to it. */
		struct upload as_object = { u->local, "", u->size };
		if (upload_one(c, to, object_url ? &as_object : u, no_move, &seconds, &err)) {
			rc = 1;
			break;
		}
		char size[32];
		format_size(u->size, size, sizeof(size));
		printf("  %10s  %6.2f s  %s\n", size, seconds, u->remote);
		fflush(stdout);
		done++;
	}
	double total_s = (double)(kq_now_ns() - t0) / 1e9;
	char size[32];
	format_size(total_bytes, size, sizeof(size));
	if (rc) {
		fprintf(stderr, "kvmqual publish: %s\n", err.msg);
		fprintf(stderr, "kvmqual publish: FAILED: %zu of %zu files uploaded to %s, %zu not\n", done,
			plan.nfiles, shown, plan.nfiles - done);
	} else {
		printf("published %zu file%s (%s) to %s in %.2f s\n", plan.nfiles,
		       plan.nfiles == 1 ? "" : "s", size, shown, total_s);
	}
	free(shown);
	http_client_free(c);
	plan_free(&plan);
	return rc;
}
