/* Temporary files named after the process that made them
 * (PREFIX.PID.XXXXXX), so that whoever comes next can remove those of a
 * process that was killed before it could clean up (SIGKILL). */
#ifndef KQ_STALE_H
#define KQ_STALE_H

/* Removes DIR/PREFIX.PID.* entries (files, or directories with only files
 * in them) whose PID is not a live process.  Returns how many it removed. */
int stale_cleanup(const char *dir, const char *prefix);

/* Whether name is "kvmqual-PID" or "kvmqual-PID-..." (a cgroup or a network
 * namespace a run made) and PID is not a live process: the run was killed
 * before it could remove it. */
int stale_run_name(const char *name);

#endif
