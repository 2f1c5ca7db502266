/* kvmqual compare --junit FILE: a testcase per metric, a failure per
 * regression, for Jenkins, GitLab and the like; and the file written
 * safely: renamed into place when it is a file, written into when it is a
 * device or a FIFO, never replaced by something else. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"

void compare_xml_escape(FILE *out, const char *text)
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	for (; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			/* XML 1.0 has no way to carry other control characters. */
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				fputs("\xef\xbf\xbd", out);
			else
				fputc(*p, out);
		}
	}
}

static void junit_attr(FILE *out, const char *name, const char *value)
{
	fprintf(out, " %s=\"", name);
	compare_xml_escape(out, value);
	fputc('"', out);
}

void compare_print_junit(FILE *out, const struct compare_context *ctx, const struct compare_report *rep)
{
	size_t skipped = 0;
	for (size_t i = 0; i < rep->count; i++)
		skipped += rep->results[i].decision == COMPARE_MISSING ||
			   rep->results[i].decision == COMPARE_INCONCLUSIVE;
	char stamp[32];
	time_t now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime(&now));
	char cand[32];
	snprintf(cand, sizeof(cand), "run %lld", (long long)ctx->cand_run);
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites name=\"kvmqual compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
		rep->count, rep->regressions, skipped);
	fprintf(out, "  <testsuite name=\"kvmqual.compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		     "skipped=\"%zu\" time=\"0\" timestamp=\"%s\">\n",
		rep->count, rep->regressions, skipped, stamp);
	fprintf(out, "    <properties>\n");
	const char *props[][2] = { { "database", ctx->db }, { "baseline", ctx->baseline_desc },
				   { "candidate", cand }, { "differences", ctx->differences ? ctx->differences : "" } };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(props); i++) {
		fprintf(out, "      <property");
		junit_attr(out, "name", props[i][0]);
		junit_attr(out, "value", props[i][1]);
		fprintf(out, "/>\n");
	}
	fprintf(out, "    </properties>\n");
	for (size_t i = 0; i < rep->count; i++) {
		const struct compare_result *r = &rep->results[i];
		char *classname = kq_xasprintf("kvmqual.%s.%s", r->accel, r->workload);
		fprintf(out, "    <testcase");
		junit_attr(out, "classname", classname);
		junit_attr(out, "name", r->metric);
		fprintf(out, " time=\"0\"");
		free(classname);
		char b[32], c[32];
		compare_format_number(b, sizeof(b), r->base_median);
		compare_format_number(c, sizeof(c), r->cand_median);
		char *numbers = kq_xasprintf(
			"baseline median %s %s (%zu samples, %zu throttled left out); candidate median %s %s (%zu "
			"samples, %zu throttled left out); change %+.2f %% (%.0f %% CI %+.2f to %+.2f); Mann-Whitney "
			"p = %.4g (%s); threshold %.2f %% (%s); %s is better",
			b, r->unit, r->n_base, r->excluded_base, c, r->unit, r->n_cand, r->excluded_cand, r->change_pct,
			100 * (isnan(r->ci_level) ? ctx->rule->conf : r->ci_level), r->ci_lo, r->ci_hi, r->p,
			r->exact ? "exact" : "normal approximation", r->threshold_pct,
			r->threshold_given ? "--threshold" : "from the metric's noise",
			r->higher_is_better ? "higher" : "lower");
		if (r->decision == COMPARE_REGRESSION) {
			char *msg = kq_xasprintf("regression: %+.1f %% (threshold %.1f %%, p = %.3g)", r->change_pct,
						 r->threshold_pct, r->p);
			fprintf(out, ">\n      <failure type=\"regression\"");
			junit_attr(out, "message", msg);
			fprintf(out, ">");
			compare_xml_escape(out, numbers);
			fprintf(out, "</failure>\n    </testcase>\n");
			free(msg);
		} else if (r->decision == COMPARE_MISSING || r->decision == COMPARE_INCONCLUSIVE) {
			char *msg = kq_xasprintf("%s: %s", compare_decision_name(r->decision), r->why);
			fprintf(out, ">\n      <skipped");
			junit_attr(out, "message", msg);
			fprintf(out, "/>\n    </testcase>\n");
			free(msg);
		} else {
			fprintf(out, ">\n      <system-out>%s: ", compare_decision_name(r->decision));
			compare_xml_escape(out, numbers);
			fprintf(out, "</system-out>\n    </testcase>\n");
		}
		free(numbers);
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A device or a FIFO is written into as it is: opened without blocking (a
 * FIFO nobody reads is an error, not a wait) and without O_CREAT, so that
 * nothing is ever created or replaced in its place. */
static int write_into(const char *path, const char *kind, const char *text, size_t len, struct kq_err *err)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return kq_error(err, "--junit %s (%s): %s", path, kind,
				errno == ENXIO ? "nobody reads from it" : strerror(errno));
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	int rc = write_all(fd, text, len);
	int e = errno;
	if (close(fd) != 0 && !rc) {
		rc = -1;
		e = errno;
	}
	if (rc)
		return kq_error(err, "--junit %s (%s): writing failed: %s", path, kind, strerror(e));
	return 0;
}

/* A regular file (or a new name) is written beside itself and renamed over
 * it: a reader sees the old file or the new one, never half of one, and a
 * full disk leaves the old one as it was. */
static int replace_file(const char *path, const struct stat *old, const char *text, size_t len,
			struct kq_err *err)
{
	char *tmp = kq_xasprintf("%s.tmp-XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return kq_error(err, "--junit %s: cannot create a file beside it: %s", path, strerror(e));
	}
	mode_t mask = umask(0);
	umask(mask);
	int rc = fchmod(fd, old ? old->st_mode & 07777 : 0666 & ~mask);
	if (!rc)
		rc = write_all(fd, text, len);
	if (!rc)
		rc = fsync(fd);
	int e = errno;
	if (close(fd) != 0 && !rc) {
		rc = -1;
		e = errno;
	}
	if (!rc && rename(tmp, path) != 0) {
		rc = -1;
		e = errno;
	}
	if (rc) {
		unlink(tmp);
		free(tmp);
		return kq_error(err, "--junit %s: writing failed: %s%s", path, strerror(e),
				old ? " (the file there was left as it was)" : "");
	}
	free(tmp);
	return 0;
}

int compare_write_junit(const char *path, const char *text, size_t len, struct kq_err *err)
{
	struct stat st, target;
	if (lstat(path, &st) != 0) {
		if (errno != ENOENT)
			return kq_error(err, "--junit %s: %s", path, strerror(errno));
		return replace_file(path, NULL, text, len, err);
	}
	if (S_ISREG(st.st_mode))
		return replace_file(path, &st, text, len, err);
	/* Never replaced: a symbolic link is written through, a character
	 * device (/dev/null, /dev/stdout) or a FIFO (a CI job reading it)
	 * written into; what nothing can sensibly be written into is refused. */
	if (S_ISLNK(st.st_mode)) {
		char *real = realpath(path, NULL);
		if (!real || stat(real, &target) != 0) {
			int e = errno;
			free(real);
			return kq_error(err, "--junit %s: a symbolic link to nothing (%s): give the file itself", path,
					strerror(e));
		}
		int rc = 0;
		if (S_ISREG(target.st_mode))
			rc = replace_file(real, &target, text, len, err);
		free(real);
		if (S_ISREG(target.st_mode))
			return rc;
		st = target;
	}
	if (S_ISCHR(st.st_mode))
		return write_into(path, "a character device", text, len, err);
	if (S_ISFIFO(st.st_mode))
		return write_into(path, "a FIFO", text, len, err);
	return kq_error(err, "--junit %s is %s: give a file name", path,
			S_ISDIR(st.st_mode) ? "a directory" : S_ISBLK(st.st_mode) ? "a block device" : "a socket");
}
