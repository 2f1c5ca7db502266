/* A CPU cgroup of the runner's own, of the highest weight: cgroup.h. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/stale.h"

/* Where the cpu controller lives, and which file sets the weight. */
static int find_hierarchy(char *base, size_t size, const char **weight_file, const char **weight)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", R_OK) == 0) {
		/* v2: the root hands the cpu controller down to its children. */
		FILE *f = fopen("/sys/fs/cgroup/cgroup.subtree_control", "r+");
		char line[512] = "";
		if (f && fgets(line, sizeof(line), f) && !strstr(line, "cpu")) {
			fseek(f, 0, SEEK_SET);
			fputs("+cpu", f);
		}
		if (f)
			fclose(f);
		snprintf(base, size, "/sys/fs/cgroup");
		*weight_file = "cpu.weight";
		*weight = "10000";
		return 0;
	}
	static const char *const v1[] = { "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct" };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(v1); i++) {
		char probe[300];
		snprintf(probe, sizeof(probe), "%s/cpu.shares", v1[i]);
		if (access(probe, R_OK) == 0) {
			snprintf(base, size, "%s", v1[i]);
			*weight_file = "cpu.shares";
			*weight = "262144";
			return 0;
		}
	}
	return -1;
}

/* Groups of runners killed outright are removed by the next one (rmdir
 * only takes an empty group, so a live one is never touched). */
static void remove_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!stale_run_name(de->d_name))
			continue;
		char path[600];
		snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		rmdir(path);
	}
	if (d)
		closedir(d);
}

int cpu_cgroup_create(struct cpu_cgroup *cg, struct kq_err *err)
{
	memset(cg, 0, sizeof(*cg));
	char base[128];
	const char *weight_file, *weight;
	if (find_hierarchy(base, sizeof(base), &weight_file, &weight))
		return kq_error(err, "no cgroup cpu controller (neither cgroup v2 at /sys/fs/cgroup nor v1's"
				     " /sys/fs/cgroup/cpu)");
	remove_stale(base);
	static int made;
	if (made++)
		snprintf(cg->path, sizeof(cg->path), "%s/kvmqual-%ld-%d", base, (long)getpid(), made);
	else
		snprintf(cg->path, sizeof(cg->path), "%s/kvmqual-%ld", base, (long)getpid());
	if (mkdir(cg->path, 0755))
		return kq_error(err, "cannot create cgroup %s: %s%s", cg->path, strerror(errno),
				errno == EACCES || errno == EPERM ? " (needs root)" : "");
	cg->created = 1;
	char file[400];
	snprintf(file, sizeof(file), "%s/%s", cg->path, weight_file);
	FILE *f = fopen(file, "w");
	int ok = f && fputs(weight, f) >= 0;
	if (f && fclose(f))
		ok = 0;
	if (!ok) {
		int e = errno;
		cpu_cgroup_destroy(cg);
		return kq_error(err, "cannot set %s: %s", file, strerror(e));
	}
	return 0;
}

void cpu_cgroup_destroy(struct cpu_cgroup *cg)
{
	if (cg->created)
		rmdir(cg->path);
	cg->created = 0;
}
