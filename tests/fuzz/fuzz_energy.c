/* The energy sensors (lib/energy.c) on hostile sysfs: which sensor is
 * found (RAPL, hwmon, the Pi's PMIC, a battery), its readings, and what
 * the accumulator makes of a run of them.  The input is blocks separated
 * by a line "--": the first is the host's files ("PATH=CONTENT" lines,
 * e.g. sys/class/powercap/intel-rapl:0/energy_uj=123), each further one a
 * reading: its first line the milliseconds since the last, then the files
 * that changed.  Each reading is a snapshot tarball of its own, read with
 * energy_read as kvmqual run reads the live files.  What must hold: any
 * energy the accumulator reports is a finite number of joules, not
 * negative (a counter that wraps, jumps or goes back, a gauge's sign, a
 * huge or odd value are flagged, never summed). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/energy.h"
#include "../../lib/hostfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 48
#define MAX_READINGS 8

struct file {
	char path[100];
	char body[64];
};

/* One ustar entry (a regular file) into out at *at. */
static void tar_add(unsigned char *out, size_t *at, const struct file *f)
{
	unsigned char *h = out + *at;
	memset(h, 0, 512);
	size_t n = strlen(f->body);
	memcpy(h, f->path, strlen(f->path));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011o", (unsigned)n);
	memcpy(h + 136, "00000000000", 11);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	memcpy(h + 512, f->body, n);
	*at += 512 + (n + 511) / 512 * 512;
}

static struct hostfs *fs_of(const struct file *files, size_t count, unsigned char *buf)
{
	size_t at = 0;
	for (size_t i = 0; i < count; i++)
		tar_add(buf, &at, &files[i]);
	memset(buf + at, 0, 1024);
	struct kq_err err;
	return hostfs_open_tar_memory(buf, at + 1024, &err);
}

/* "PATH=CONTENT" into files (replacing a file of that path). */
static void set_file(struct file *files, size_t *count, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	if (!eq || eq == line || (size_t)(eq - line) >= sizeof(files[0].path) || len - (size_t)(eq - line) - 1 >= sizeof(files[0].body))
		return;
	struct file f;
	memset(&f, 0, sizeof(f));
	memcpy(f.path, line, (size_t)(eq - line));
	memcpy(f.body, eq + 1, len - (size_t)(eq - line) - 1);
	if (strlen(f.path) != (size_t)(eq - line))
		return; /* a NUL in the name */
	for (size_t i = 0; i < *count; i++)
		if (!strcmp(files[i].path, f.path)) {
			files[i] = f;
			return;
		}
	if (*count < MAX_FILES)
		files[(*count)++] = f;
}

/* The next line of [*p, end) into *line, *n; 0 at a "--" line or the end. */
static int next_line(const char **p, const char *end, const char **line, size_t *n)
{
	if (*p >= end)
		return 0;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	*n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	*line = *p;
	*p += *n + (nl != NULL);
	return !(*n == 2 && !memcmp(*line, "--", 2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct file files[MAX_FILES];
	static unsigned char buf[MAX_FILES * 1024 + 1024];
	size_t count = 0;
	const char *p = (const char *)data, *end = p + size;
	/* The host's files, up to the first "--" line. */
	const char *line;
	size_t n;
	while (next_line(&p, end, &line, &n))
		set_file(files, &count, line, n);
	struct hostfs *fs = fs_of(files, count, buf);
	if (!fs)
		return 0;
	struct energy_sensor s;
	int found = energy_discover(fs, &s);
	hostfs_close(fs);
	if (!found)
		return 0;
	if (s.count > ENERGY_MAX_CHANNELS)
		__builtin_trap();
	struct energy_acc acc;
	energy_acc_init(&acc, s.kind);
	uint64_t t = 1000000000ull;
	double raw[ENERGY_MAX_CHANNELS];
	int ok[ENERGY_MAX_CHANNELS];
	/* The readings: the first as the host's files are, then each block. */
	for (int r = 0; r <= MAX_READINGS; r++) {
		if (r > 0) {
			if (p >= end)
				break;
			unsigned long ms = 0;
			int first = 1;
			while (next_line(&p, end, &line, &n)) {
				if (first) {
					for (size_t i = 0; i < n && i < 7 && line[i] >= '0' && line[i] <= '9'; i++)
						ms = ms * 10 + (unsigned long)(line[i] - '0');
					first = 0;
				} else {
					set_file(files, &count, line, n);
				}
			}
			t += (uint64_t)ms * 1000000ull;
		}
		fs = fs_of(files, count, buf);
		if (!fs)
			break;
		int not_discharging;
		energy_read(fs, &s, raw, ok, &not_discharging);
		hostfs_close(fs);
		for (size_t i = 0; i < s.count; i++)
			if (ok[i] && !(raw[i] >= 0))
				__builtin_trap(); /* a reading is never negative or NaN */
		energy_acc_add(&acc, &s, raw, ok, not_discharging, t);
	}
	double joules = -1;
	char why[200], flags[200];
	if (energy_acc_result(&acc, &joules, why, sizeof(why)) == 0 && !(isfinite(joules) && joules >= 0))
		__builtin_trap();
	energy_flags_text(acc.flags, flags, sizeof(flags));
	return 0;
}
