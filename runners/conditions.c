#include "conditions.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"

static int read_text(const char *root, const char *rel, char *buf, size_t size)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", strcmp(root, "/") ? root : "", rel);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	kq_strtrim(buf);
	return 0;
}

static int read_num(const char *root, const char *rel, double *out)
{
	char buf[64];
	char *end;
	if (read_text(root, rel, buf, sizeof(buf)))
		return -1;
	double v = strtod(buf, &end);
	if (end == buf)
		return -1;
	*out = v;
	return 0;
}

void conditions_sample(const char *root, struct host_conditions *c)
{
	memset(c, 0, sizeof(*c));
	c->pi_throttled = -1;
	char rel[256];
	double sum = 0;
	int n = 0;
	for (int cpu = 0; cpu < 4096; cpu++) {
		double khz, count;
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", cpu);
		if (read_num(root, rel, &khz) == 0) {
			sum += khz / 1000.0;
			n++;
		}
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/thermal_throttle/core_throttle_count", cpu);
		if (read_num(root, rel, &count) == 0)
			c->throttle_events += (unsigned long long)count;
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d", cpu);
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", strcmp(root, "/") ? root : "", rel);
		DIR *d = opendir(path);
		if (!d)
			break;
		closedir(d);
	}
	c->cpu_mhz_avg = n ? sum / n : 0;
	read_text(root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", c->governor, sizeof(c->governor));
	for (int z = 0; z < 64; z++) {
		double milli;
		snprintf(rel, sizeof(rel), "sys/class/thermal/thermal_zone%d/temp", z);
		if (read_num(root, rel, &milli))
			continue;
		if (milli / 1000.0 > c->temp_c_max)
			c->temp_c_max = milli / 1000.0;
	}
	/* The Raspberry Pi firmware's flags: bit 2 "throttled now". */
	char buf[64];
	if (read_text(root, "sys/devices/platform/soc/soc:firmware/get_throttled", buf, sizeof(buf)) == 0)
		c->pi_throttled = strtol(buf, NULL, 16);
	if (read_text(root, "proc/loadavg", buf, sizeof(buf)) == 0) {
		int running = 0;
		sscanf(buf, "%lf %*f %*f %d/", &c->load1, &running);
		c->procs_running = running;
	}
}

int conditions_throttled(const struct host_conditions *before, const struct host_conditions *after)
{
	if (after->throttle_events > before->throttle_events)
		return 1;
	if (after->pi_throttled > 0 && (after->pi_throttled & 0x4))
		return 1;
	return 0;
}

cJSON *conditions_json(const struct host_conditions *c)
{
	cJSON *o = cJSON_CreateObject();
	if (c->cpu_mhz_avg > 0)
		cJSON_AddNumberToObject(o, "cpu_mhz", c->cpu_mhz_avg);
	if (c->governor[0])
		cJSON_AddStringToObject(o, "governor", c->governor);
	if (c->temp_c_max > 0)
		cJSON_AddNumberToObject(o, "temp_c", c->temp_c_max);
	if (c->pi_throttled >= 0)
		cJSON_AddNumberToObject(o, "pi_throttled", (double)c->pi_throttled);
	cJSON_AddNumberToObject(o, "load1", c->load1);
	cJSON_AddNumberToObject(o, "procs_running", c->procs_running);
	return o;
}
