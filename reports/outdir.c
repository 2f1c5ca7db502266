/* The report's output directory is replaced whole or not at all: the report
 * is written into DIR.tmp.XXXXXX beside it, then exchanged with DIR in one
 * renameat2(RENAME_EXCHANGE) (two renames where the file system cannot),
 * and the earlier report is removed.  A reader of DIR sees the old report
 * or the new one, never half of one; an error leaves DIR as it was.
 *
 * An existing DIR is only replaced when it is empty or an earlier report
 * (it holds the marker file .kvmqual-report): `--out ~` must not delete a
 * home directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

#define MARKER ".kvmqual-report"

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void report_remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* 1 when dir holds nothing, or the marker of an earlier report. */
static int replaceable(const char *dir, struct kq_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return kq_error(err, "%s: %s", dir, strerror(errno)), 0;
	int empty = 1, marked = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		empty = 0;
		if (!strcmp(e->d_name, MARKER))
			marked = 1;
	}
	closedir(d);
	if (!empty && !marked)
		kq_error(err, "%s exists and is not a kvmqual report (no %s in it); it is left alone: choose"
			      " another --out, or remove it",
			 dir, MARKER);
	return empty || marked;
}

static int mkdir_parents(const char *dir, struct kq_err *err)
{
	char *copy = kq_xstrdup(dir);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
			kq_error(err, "cannot create the directory %s: %s", copy, strerror(errno));
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	return 0;
}

char *report_outdir_begin(const char *dir, struct kq_err *err)
{
	if (!dir || !*dir)
		return kq_error(err, "--out needs a directory"), NULL;
	struct stat sb;
	if (lstat(dir, &sb) == 0) {
		if (S_ISLNK(sb.st_mode))
			return kq_error(err, "%s is a symbolic link; give the directory it points to", dir), NULL;
		if (!S_ISDIR(sb.st_mode))
			return kq_error(err, "%s exists and is not a directory", dir), NULL;
		if (!replaceable(dir, err))
			return NULL;
	} else if (errno != ENOENT) {
		return kq_error(err, "%s: %s", dir, strerror(errno)), NULL;
	} else if (mkdir_parents(dir, err)) {
		return NULL;
	}
	char *tmp = kq_xasprintf("%s.tmp.XXXXXX", dir);
	if (!mkdtemp(tmp)) {
		kq_error(err, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return NULL;
	}
	/* mkdtemp makes it private; a report is for reading. */
	mode_t mask = umask(0);
	umask(mask);
	chmod(tmp, 0777 & ~mask);
	char *marker = kq_xasprintf("%s/" MARKER, tmp);
	FILE *f = fopen(marker, "w");
	int ok = f && fputs("This directory is written by 'kvmqual report' and replaced whole by the next one.\n", f) >= 0;
	if (f && fclose(f) != 0)
		ok = 0;
	free(marker);
	if (!ok) {
		kq_error(err, "cannot write in %s: %s", tmp, strerror(errno));
		report_remove_tree(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

int report_outdir_commit(const char *tmp, const char *dir, struct kq_err *err)
{
	struct stat sb;
	if (lstat(dir, &sb) != 0) {
		if (rename(tmp, dir) != 0)
			return kq_error(err, "cannot rename %s to %s: %s", tmp, dir, strerror(errno));
		return 0;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
		report_remove_tree(tmp); /* now the earlier report */
		return 0;
	}
	if (errno != EINVAL && errno != ENOSYS)
		return kq_error(err, "cannot put %s in place of %s: %s", tmp, dir, strerror(errno));
	/* No atomic exchange here: move the old one aside, then the new one in
	 * (a reader may find no DIR for that instant, never a half one). */
	char *old = kq_xasprintf("%s.old.XXXXXX", dir);
	if (!mkdtemp(old)) {
		kq_error(err, "cannot create %s: %s", old, strerror(errno));
		free(old);
		return -1;
	}
	if (rename(dir, old) != 0) {
		kq_error(err, "cannot move %s aside: %s", dir, strerror(errno));
		rmdir(old);
		free(old);
		return -1;
	}
	if (rename(tmp, dir) != 0) {
		int e = errno;
		rename(old, dir);
		free(old);
		return kq_error(err, "cannot rename %s to %s: %s", tmp, dir, strerror(e));
	}
	report_remove_tree(old);
	free(old);
	return 0;
}
