#include "stale.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st))
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char child[4096];
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		unlink(child); /* one level: these directories hold files only */
	}
	if (d)
		closedir(d);
	rmdir(path);
}

int stale_cleanup(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t plen = strlen(prefix);
	int removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, plen) || de->d_name[plen] != '.')
			continue;
		char *end;
		long pid = strtol(de->d_name + plen + 1, &end, 10);
		if (end == de->d_name + plen + 1 || *end != '.' || pid_alive(pid))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		remove_tree(path);
		removed++;
	}
	closedir(d);
	return removed;
}

int stale_run_name(const char *name)
{
	long pid;
	char rest = '\0';
	int got = sscanf(name, "kvmqual-%ld%c", &pid, &rest);
	return got >= 1 && (got == 1 || rest == '-') && pid > 0 && !pid_alive(pid);
}
