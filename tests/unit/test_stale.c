#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/stale.h"
#include "test.h"

TEST(stale_files_of_dead_processes)
{
	char dir[] = "/tmp/kq-stale-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	/* a pid that is surely dead: a child we reaped */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	char path[256];
	snprintf(path, sizeof(path), "%s/kvmqual-scratch.%d.abc123", dir, (int)dead);
	FILE *f = fopen(path, "w");
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/kvmqual-guest.%d.xyz789", dir, (int)dead);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/kvmqual-guest.%d.xyz789/console.log", dir, (int)dead);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/kvmqual-scratch.%d.mine01", dir, (int)getpid());
	f = fopen(path, "w");
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/kvmqual-scratch.notapid", dir);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	CHECK_INT(stale_cleanup(dir, "kvmqual-scratch"), 1);
	CHECK_INT(stale_cleanup(dir, "kvmqual-guest"), 1);
	snprintf(path, sizeof(path), "%s/kvmqual-scratch.%d.mine01", dir, (int)getpid());
	CHECK(access(path, F_OK) == 0); /* ours: alive, kept */
	snprintf(path, sizeof(path), "%s/kvmqual-scratch.notapid", dir);
	CHECK(access(path, F_OK) == 0); /* not our naming: kept */
	CHECK_INT(stale_cleanup("/nonexistent", "kvmqual-scratch"), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}
