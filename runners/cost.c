#define _GNU_SOURCE
#include "cost.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/runcmd.h"
#include "../lib/util.h"

double cost_parse_stat_cpu_s(const char *stat, size_t len, long ticks_per_s)
{
	/* "PID (comm) S ppid ...": fields after the last ')' are fixed;
	 * utime and stime are the 14th and 15th of the line. */
	const char *close = NULL;
	for (size_t i = 0; i < len; i++)
		if (stat[i] == ')')
			close = stat + i;
	if (!close || ticks_per_s <= 0)
		return -1;
	char rest[512];
	size_t n = len - (size_t)(close + 1 - stat);
	if (n >= sizeof(rest))
		n = sizeof(rest) - 1;
	memcpy(rest, close + 1, n);
	rest[n] = '\0';
	unsigned long long utime, stime;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (sscanf(rest, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)ticks_per_s;
}

static double stat_cpu_s(const char *path)
{
	char buf[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	return cost_parse_stat_cpu_s(buf, (size_t)n, sysconf(_SC_CLK_TCK));
}

double cost_process_cpu_s(const char *root, pid_t pid, int vhost)
{
	const char *r = strcmp(root, "/") ? root : "";
	char path[512];
	snprintf(path, sizeof(path), "%s/proc/%ld/stat", r, (long)pid);
	double total = stat_cpu_s(path);
	if (total < 0 || !vhost)
		return total;
	char want[32];
	snprintf(want, sizeof(want), "vhost-%ld", (long)pid);
	snprintf(path, sizeof(path), "%s/proc", r);
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *end;
		long task = strtol(de->d_name, &end, 10);
		if (*end || task <= 0 || task == pid)
			continue;
		char comm[64] = "";
		snprintf(path, sizeof(path), "%s/proc/%ld/comm", r, task);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		comm[n > 0 ? n : 0] = '\0';
		kq_strtrim(comm);
		if (strcmp(comm, want))
			continue;
		/* A thread of pid's own group (kernels from 6.4) is counted already:
		 * /proc lists only thread group leaders, and pid is the leader. */
		snprintf(path, sizeof(path), "%s/proc/%ld/stat", r, task);
		double t = stat_cpu_s(path);
		if (t > 0)
			total += t;
	}
	if (d)
		closedir(d);
	return total;
}

/* ---- the energy meter ---- */

static void take_reading(struct energy_meter *m)
{
	double raw[ENERGY_MAX_CHANNELS];
	int ok[ENERGY_MAX_CHANNELS], not_discharging = 0;
	if (!strcmp(m->sensor.source, "pmic")) {
		char *argv[] = { m->sensor.ch[0].path, "pmic_read_adc", NULL };
		struct runcmd_result r;
		ok[0] = 0;
		if (runcmd(argv, 2000, 65536, NULL, &r) == 0) {
			ok[0] = r.exit_code == 0 && energy_parse_pmic(r.out.data, r.out.len, &raw[0]) == 0;
			runcmd_result_free(&r);
		}
	} else {
		energy_read(m->fs, &m->sensor, raw, ok, &not_discharging);
	}
	uint64_t now = kq_now_ns();
	pthread_mutex_lock(&m->lock);
	energy_acc_add(&m->acc, &m->sensor, raw, ok, not_discharging, now);
	pthread_mutex_unlock(&m->lock);
}

static void *sampler(void *arg)
{
	struct energy_meter *m = arg;
	for (;;) {
		struct pollfd pfd = { m->wake[0], POLLIN, 0 };
		int rc = poll(&pfd, 1, m->period_ms);
		if (rc > 0)
			break;
		if (rc < 0 && errno != EINTR)
			break;
		take_reading(m);
	}
	return NULL;
}

void energy_meter_init(struct energy_meter *m, struct hostfs *fs, int period_ms)
{
	memset(m, 0, sizeof(*m));
	m->fs = fs;
	m->period_ms = period_ms > 0 ? period_ms : 100;
	m->wake[0] = m->wake[1] = -1;
	pthread_mutex_init(&m->lock, NULL);
	m->available = energy_discover(fs, &m->sensor);
}

void energy_meter_free(struct energy_meter *m)
{
	if (m->running) {
		struct energy_sample ignored;
		energy_meter_stop(m, &ignored);
	}
	pthread_mutex_destroy(&m->lock);
}

void energy_meter_start(struct energy_meter *m)
{
	if (!m->available || m->running)
		return;
	energy_acc_init(&m->acc, m->sensor.kind);
	m->start_ns = kq_now_ns();
	take_reading(m);
	if (pipe2(m->wake, O_CLOEXEC))
		return;
	if (pthread_create(&m->thread, NULL, sampler, m)) {
		close(m->wake[0]);
		close(m->wake[1]);
		return;
	}
	m->running = 1;
}

void energy_meter_stop(struct energy_meter *m, struct energy_sample *out)
{
	memset(out, 0, sizeof(*out));
	if (!m->available) {
		snprintf(out->why, sizeof(out->why), "%s", m->sensor.unavailable);
		return;
	}
	if (m->running) {
		ssize_t ignored = write(m->wake[1], "x", 1);
		(void)ignored;
		pthread_join(m->thread, NULL);
		close(m->wake[0]);
		close(m->wake[1]);
		m->running = 0;
	}
	take_reading(m);
	out->seconds = (double)(kq_now_ns() - m->start_ns) / 1e9;
	energy_flags_text(m->acc.flags, out->flags, sizeof(out->flags));
	out->max_gap_s = m->acc.max_gap_s;
	out->valid = energy_acc_result(&m->acc, &out->joules, out->why, sizeof(out->why)) == 0;
}

static void add_metric(struct cost_result *out, const char *metric, const char *unit, double value)
{
	if (out->count >= sizeof(out->m) / sizeof(out->m[0]) || !(value >= 0))
		return;
	struct cost_metric *m = &out->m[out->count++];
	snprintf(m->metric, sizeof(m->metric), "%s", metric);
	snprintf(m->unit, sizeof(m->unit), "%s", unit);
	m->value = value;
}

void cost_result_make(const struct workload *w, const char *report, size_t len, double cpu_s,
		      const struct energy_sample *e, struct cost_result *out)
{
	memset(out, 0, sizeof(*out));
	double units = 0;
	char err[256] = "", name[48], unit[24];
	int have_work = w->work && w->work(report, len, &units, err, sizeof(err)) == 0;
	if (w->work && !have_work)
		snprintf(out->note, sizeof(out->note), "no cost per unit: %s", err);
	if (cpu_s >= 0) {
		add_metric(out, "host_cpu_s", "CPU-s", cpu_s);
		if (have_work) {
			snprintf(name, sizeof(name), "host_cpu_s_per_%s", w->work_unit);
			snprintf(unit, sizeof(unit), "CPU-s/%s", w->work_unit);
			add_metric(out, name, unit, cpu_s / units);
		}
	}
	if (e && e->valid) {
		add_metric(out, "energy_j", "J", e->joules);
		if (have_work) {
			snprintf(name, sizeof(name), "energy_j_per_%s", w->work_unit);
			snprintf(unit, sizeof(unit), "J/%s", w->work_unit);
			add_metric(out, name, unit, e->joules / units);
		}
		snprintf(out->flags, sizeof(out->flags), "%s", e->flags);
	}
}
