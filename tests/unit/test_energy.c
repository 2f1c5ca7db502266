/* Energy sensors (lib/energy.c) and the cost of a workload (runners/cost.c):
 * discovery on snapshot-style trees under a temporary root, the
 * accumulator on readings with known timestamps (joules and joules per
 * unit of work as computed by hand; wraps, garbage, a counter going back),
 * the Pi 5 PMIC's output, the meter live against helper processes that
 * update the files at a known rate, this host's own sensors, and CPU time
 * from /proc for real processes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/energy.h"
#include "../../lib/util.h"
#include "../../runners/cost.h"
#include "../../workloads/workload.h"
#include "test.h"

static void put(const char *root, const char *rel, const char *text)
{
	char path[512], tmp[520];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	/* Whole or not at all, as sysfs answers a read. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

static char *make_root(void)
{
	char *dir = kq_xstrdup("/tmp/kq-energy-measure.XXXXXX");
	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	return dir;
}

static void remove_root(char *dir)
{
	if (!dir)
		return;
	char *cmd = kq_xasprintf("rm -rf '%s'", dir);
	if (system(cmd)) {
	}
	free(cmd);
	free(dir);
}

static struct hostfs *open_root(const char *dir)
{
	struct kq_err err;
	return hostfs_open_snapshot(dir, &err);
}

TEST(energy_discover_sources)
{
	/* RAPL: packages summed; sub-zones and the MMIO view left out. */
	char *root = make_root();
	put(root, "sys/class/powercap/intel-rapl:0/name", "package-0\n");
	put(root, "sys/class/powercap/intel-rapl:0/energy_uj", "1000\n");
	put(root, "sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
	put(root, "sys/class/powercap/intel-rapl:1/name", "package-1\n");
	put(root, "sys/class/powercap/intel-rapl:1/energy_uj", "2000\n");
	put(root, "sys/class/powercap/intel-rapl:0:0/name", "core\n");
	put(root, "sys/class/powercap/intel-rapl:0:0/energy_uj", "500\n");
	put(root, "sys/class/powercap/intel-rapl-mmio:0/name", "package-0\n");
	put(root, "sys/class/powercap/intel-rapl-mmio:0/energy_uj", "1000\n");
	put(root, "sys/class/hwmon/hwmon0/power1_input", "5000000\n");
	struct hostfs *fs = open_root(root);
	struct energy_sensor s;
	CHECK_INT(energy_discover(fs, &s), 1);
	CHECK_STR(s.source, "rapl");
	CHECK_INT(s.kind, ENERGY_COUNTER);
	CHECK_INT(s.count, 2);
	CHECK_STR(s.ch[0].label, "package-0");
	CHECK(s.ch[0].max_range == 262143328850.0 && s.ch[1].max_range == 0);
	CHECK(strstr(s.description, "package-0 + package-1") && strstr(s.description, "CPU packages only"));
	hostfs_close(fs);
	/* psys covers the platform: alone. */
	put(root, "sys/class/powercap/intel-rapl:2/name", "psys\n");
	put(root, "sys/class/powercap/intel-rapl:2/energy_uj", "7\n");
	fs = open_root(root);
	CHECK_INT(energy_discover(fs, &s), 1);
	CHECK_INT(s.count, 1);
	CHECK_STR(s.ch[0].label, "psys");
	hostfs_close(fs);
	remove_root(root);

	/* hwmon: energy counters before power inputs. */
	root = make_root();
	put(root, "sys/class/hwmon/hwmon0/name", "ina219\n");
	put(root, "sys/class/hwmon/hwmon0/power1_input", "3200000\n");
	put(root, "sys/class/hwmon/hwmon1/name", "acpi_power_meter\n");
	put(root, "sys/class/hwmon/hwmon1/power1_average", "garbage\n");
	fs = open_root(root);
	CHECK_INT(energy_discover(fs, &s), 1);
	CHECK_STR(s.source, "hwmon");
	CHECK_INT(s.kind, ENERGY_POWER);
	CHECK_INT(s.count, 1);
	CHECK_STR(s.ch[0].label, "hwmon0 power1 (ina219)");
	hostfs_close(fs);
	put(root, "sys/class/hwmon/hwmon2/name", "amd_energy\n");
	put(root, "sys/class/hwmon/hwmon2/energy1_input", "123456\n");
	fs = open_root(root);
	CHECK_INT(energy_discover(fs, &s), 1);
	CHECK_INT(s.kind, ENERGY_COUNTER);
	CHECK_STR(s.ch[0].label, "hwmon2 energy1 (amd_energy)");
	hostfs_close(fs);
	remove_root(root);

	/* A battery: current x voltage; a mouse's battery (scope Device) is not the device's. */
	root = make_root();
	put(root, "sys/class/power_supply/hidpp_battery_0/type", "Battery\n");
	put(root, "sys/class/power_supply/hidpp_battery_0/scope", "Device\n");
	put(root, "sys/class/power_supply/hidpp_battery_0/power_now", "1000\n");
	put(root, "sys/class/power_supply/AC/type", "Mains\n");
	put(root, "sys/class/power_supply/BAT0/type", "Battery\n");
	put(root, "sys/class/power_supply/BAT0/status", "Discharging\n");
	put(root, "sys/class/power_supply/BAT0/current_now", "-500000\n");
	put(root, "sys/class/power_supply/BAT0/voltage_now", "4000000\n");
	fs = open_root(root);
	CHECK_INT(energy_discover(fs, &s), 1);
	CHECK_STR(s.source, "battery");
	CHECK_STR(s.ch[0].label, "BAT0");
	double raw[ENERGY_MAX_CHANNELS];
	int ok[ENERGY_MAX_CHANNELS], nd;
	energy_read(fs, &s, raw, ok, &nd);
	CHECK(ok[0] && !nd && fabs(raw[0] - 2.0) < 1e-9); /* 0.5 A x 4 V, the sign dropped */
	hostfs_close(fs);
	put(root, "sys/class/power_supply/BAT0/status", "Charging\n");
	fs = open_root(root);
	energy_read(fs, &s, raw, ok, &nd);
	CHECK_INT(nd, 1);
	hostfs_close(fs);
	remove_root(root);

	/* A Pi 5 with vcgencmd: the PMIC; without it, the reason says what to install. */
	root = make_root();
	put(root, "sys/firmware/devicetree/base/model", "Raspberry Pi 5 Model B Rev 1.0");
	fs = open_root(root);
	CHECK_INT(energy_discover(fs, &s), 0);
	CHECK(strstr(s.unavailable, "no vcgencmd for the Raspberry Pi 5's PMIC (install raspi-utils)") != NULL);
	hostfs_close(fs);
	put(root, "usr/bin/vcgencmd", "#!/bin/sh\n");
	fs = open_root(root);
	CHECK_INT(energy_discover(fs, &s), 1);
	CHECK_STR(s.source, "pmic");
	CHECK_STR(s.ch[0].path, "/usr/bin/vcgencmd");
	hostfs_close(fs);
	remove_root(root);

	/* Nothing at all: unavailable, and every source says why. */
	root = make_root();
	put(root, "sys/class/powercap/intel-rapl:0/name", "package-0\n");
	fs = open_root(root);
	CHECK_INT(energy_discover(fs, &s), 0);
	CHECK_STR(s.source, "");
	CHECK(strstr(s.unavailable, "RAPL zones without a readable energy_uj") != NULL);
	CHECK(strstr(s.unavailable, "no hwmon energy or power input") != NULL);
	CHECK(strstr(s.unavailable, "not a Raspberry Pi 5") != NULL);
	CHECK(strstr(s.unavailable, "no battery") != NULL);
	hostfs_close(fs);
	remove_root(root);
}

/* This host: no powercap, hwmon or battery (a VM): "unavailable" with the
 * reason, never 0 joules.  Where such files exist, a sensor is found. */
TEST(energy_this_host)
{
	struct hostfs *fs = hostfs_open_live();
	struct energy_meter m;
	energy_meter_init(&m, fs, 50);
	int has_files = access("/sys/class/powercap/intel-rapl:0/energy_uj", F_OK) == 0 ||
			access("/sys/class/hwmon/hwmon0", F_OK) == 0 || access("/sys/class/power_supply/BAT0", F_OK) == 0;
	if (!has_files) {
		CHECK_INT(m.available, 0);
		energy_meter_start(&m);
		struct energy_sample e;
		energy_meter_stop(&m, &e);
		CHECK_INT(e.valid, 0);
		CHECK(e.joules == 0);
		CHECK(strstr(e.why, "no energy sensor: no RAPL zone in /sys/class/powercap") != NULL);
	}
	energy_meter_free(&m);
	hostfs_close(fs);
}

static void feed(struct energy_acc *a, const struct energy_sensor *s, double v, int good, double t_s)
{
	double raw[ENERGY_MAX_CHANNELS] = { v };
	int ok[ENERGY_MAX_CHANNELS] = { good };
	energy_acc_add(a, s, raw, ok, 0, (uint64_t)(t_s * 1e9));
}

TEST(energy_accumulator)
{
	struct energy_sensor counter = { .source = "rapl", .kind = ENERGY_COUNTER, .count = 1 };
	counter.ch[0].scale = 1e-6;
	counter.ch[0].max_range = 3000000; /* 3 J */
	struct energy_acc a;
	double j;
	char why[256], flags[96];

	/* 5 W for 2 s in 0.1 s steps, wrapping at 3 J three times: 10 J; a
	 * workload of 2,500 events is 0.004 J per event. */
	energy_acc_init(&a, ENERGY_COUNTER);
	for (int i = 0; i <= 20; i++)
		feed(&a, &counter, fmod(5e6 * 0.1 * i + 2.9e6, 3e6), 1, 10 + 0.1 * i);
	CHECK_INT(energy_acc_result(&a, &j, why, sizeof(why)), 0);
	CHECK(fabs(j - 10) < 1e-6);
	CHECK(fabs(j / 2500 - 0.004) < 1e-9);
	energy_flags_text(a.flags, flags, sizeof(flags));
	CHECK_STR(flags, "energy-wrapped");

	/* Garbage in the middle (a reading that is no number, one past the
	 * range): skipped, nothing lost for a counter. */
	energy_acc_init(&a, ENERGY_COUNTER);
	feed(&a, &counter, 1000000, 1, 0);
	feed(&a, &counter, 0, 0, 0.5);
	feed(&a, &counter, 9e9, 1, 0.7); /* beyond max_energy_range_uj */
	feed(&a, &counter, 2000000, 1, 1.0);
	CHECK_INT(energy_acc_result(&a, &j, why, sizeof(why)), 0);
	CHECK(fabs(j - 1) < 1e-9);
	energy_flags_text(a.flags, flags, sizeof(flags));
	CHECK(strstr(flags, "energy-garbage") != NULL);

	/* Backwards without a plausible wrap (from 2.5 J back to 0.2 J in 0.5 s
	 * is, through a wrap at RAPL's usual 262 kJ, half a megawatt): a reset.
	 * The lost interval is estimated at the mean power of the rest (1 W). */
	struct energy_sensor big = counter;
	big.ch[0].max_range = 262143328850.0;
	energy_acc_init(&a, ENERGY_COUNTER);
	feed(&a, &big, 2000000, 1, 0);
	feed(&a, &big, 2500000, 1, 0.5);  /* +0.5 J in 0.5 s: 1 W */
	feed(&a, &big, 200000, 1, 1.0);   /* reset */
	feed(&a, &big, 700000, 1, 1.5);   /* +0.5 J in 0.5 s */
	CHECK_INT(energy_acc_result(&a, &j, why, sizeof(why)), 0);
	CHECK(fabs(j - 1.5) < 1e-9);
	energy_flags_text(a.flags, flags, sizeof(flags));
	CHECK_STR(flags, "energy-backwards");

	/* Power: trapezoids, 3 W then 5 W: 3*1 + 4*1 = 7 J over 2 s; a
	 * garbage reading between is bridged. */
	struct energy_sensor power = { .source = "hwmon", .kind = ENERGY_POWER, .count = 1 };
	power.ch[0].scale = 1e-6;
	energy_acc_init(&a, ENERGY_POWER);
	feed(&a, &power, 3, 1, 0);
	feed(&a, &power, 3, 1, 1);
	feed(&a, &power, -1, 0, 1.5);
	feed(&a, &power, 5, 1, 2);
	CHECK_INT(energy_acc_result(&a, &j, why, sizeof(why)), 0);
	CHECK(fabs(j - 7) < 1e-9);
	CHECK(a.flags == ENERGY_GARBAGE);

	/* One reading is no interval; a charging battery is no measurement. */
	energy_acc_init(&a, ENERGY_POWER);
	feed(&a, &power, 3, 1, 0);
	CHECK_INT(energy_acc_result(&a, &j, why, sizeof(why)), -1);
	CHECK(strstr(why, "1 reading of the sensor") != NULL);
	energy_acc_init(&a, ENERGY_POWER);
	double raw[ENERGY_MAX_CHANNELS] = { 3 };
	int ok[ENERGY_MAX_CHANNELS] = { 1 };
	energy_acc_add(&a, &power, raw, ok, 1, 0);
	energy_acc_add(&a, &power, raw, ok, 1, 1000000000);
	CHECK_INT(energy_acc_result(&a, &j, why, sizeof(why)), -1);
	CHECK(strstr(why, "not discharging") != NULL);
}

/* The rails of a Pi 5, in the format `vcgencmd pmic_read_adc` prints
 * (values made up for the test, not captured on a board): volts x amps
 * per rail with both, EXT5V_V and BATT_V (voltage only) left out. */
TEST(energy_pmic_output)
{
	static const char out[] = "   3V7_WL_SW_A current(0)=0.10000000A\n"
				  "     3V3_SYS_A current(1)=0.05000000A\n"
				  "    VDD_CORE_A current(7)=2.00000000A\n"
				  "   3V7_WL_SW_V volt(8)=3.70000000V\n"
				  "     3V3_SYS_V volt(9)=3.30000000V\n"
				  "    VDD_CORE_V volt(15)=0.80000000V\n"
				  "       EXT5V_V volt(24)=5.10000000V\n"
				  "        BATT_V volt(25)=0.00000000V\n";
	double w = 0;
	CHECK_INT(energy_parse_pmic(out, sizeof(out) - 1, &w), 0);
	CHECK(fabs(w - (0.1 * 3.7 + 0.05 * 3.3 + 2.0 * 0.8)) < 1e-9);
	static const char other[] = "error=1 error_msg=\"Command not registered\"\n";
	CHECK_INT(energy_parse_pmic(other, sizeof(other) - 1, &w), -1);
	static const char junk[] = "  X_A current(1)=nanA\n  X_V volt(2)=1.2.3V\n  Y_A volt(3)=1V\n";
	CHECK_INT(energy_parse_pmic(junk, sizeof(junk) - 1, &w), -1);
}

/* A helper process that writes a counter (uJ, wrapping at range) or a
 * power file (uW) as a function of its own clock, every 2 ms, until
 * killed. */
static pid_t start_helper(const char *root, const char *rel, double per_s, double constant, double range)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		double s = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
		double v = constant + per_s * s;
		if (range > 0)
			v = fmod(v, range);
		char text[64];
		snprintf(text, sizeof(text), "%.0f\n", v);
		put(root, rel, text);
		usleep(2000);
	}
}

/* Waits (at most 10 s) until the helper has rewritten rel: a counter read
 * before it did would jump from the placeholder. */
static void wait_helper(const char *root, const char *rel, const char *placeholder)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	uint64_t deadline = kq_now_ns() + 10000000000ull;
	while (kq_now_ns() < deadline) {
		char *text = NULL;
		struct kq_err err;
		int same = kq_read_file(path, 4096, &text, NULL, &err) || !strcmp(text, placeholder);
		free(text);
		if (!same)
			return;
		usleep(1000);
	}
	test_fail(__FILE__, __LINE__, "the helper did not write %s within 10 s", rel);
}

static void stop_helper(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Measures for at least `seconds` (the meter's own clock) and checks the
 * joules against watts x the meter's seconds.  Power is constant, so the
 * tolerance is 0.2 s of it; a counter read at the stop is as old as the
 * helper's last write, which a busy machine's scheduler can delay by a
 * quarter of a second and more (seen: 0.28 s), so for a counter it is 2 J,
 * still well below the whole range (5 J) a lost or invented wrap adds.  The
 * arithmetic itself is checked exactly in energy_accumulator.  A
 * counter that wraps twice between two readings cannot be told from one
 * wrap: on a machine so busy that the sampler slept longer than a wrap
 * period (wrap_s), the measurement is taken again (3 tries). */
static void measure_helper(const char *root, double watts, double seconds, double wrap_s, const char *want_flags)
{
	struct hostfs *fs = open_root(root);
	struct energy_meter m;
	energy_meter_init(&m, fs, 40);
	CHECK_INT(m.available, 1);
	struct energy_sample e;
	for (int attempt = 0; attempt < 3; attempt++) {
		energy_meter_start(&m);
		uint64_t until = kq_now_ns() + (uint64_t)(seconds * 1e9);
		while (kq_now_ns() < until)
			usleep(20000);
		energy_meter_stop(&m, &e);
		if (!(wrap_s > 0 && e.max_gap_s > wrap_s * 0.9))
			break;
	}
	double tolerance = m.sensor.kind == ENERGY_COUNTER ? 2 : watts * 0.2;
	if (!e.valid || fabs(e.joules - watts * e.seconds) > tolerance || strcmp(e.flags, want_flags))
		test_fail(__FILE__, __LINE__, "%s: %.3f J over %.3f s (%s; %s; longest gap %.3f s), expected %.3f J (%s)",
			  m.sensor.source, e.joules, e.seconds, e.flags, e.why, e.max_gap_s, watts * e.seconds, want_flags);
	energy_meter_free(&m);
	hostfs_close(fs);
}

TEST(energy_meter_live)
{
	/* RAPL at 5 W, wrapping every second (a 5 J range). */
	char *root = make_root();
	put(root, "sys/class/powercap/intel-rapl:0/name", "package-0\n");
	put(root, "sys/class/powercap/intel-rapl:0/max_energy_range_uj", "5000000\n");
	put(root, "sys/class/powercap/intel-rapl:0/energy_uj", "placeholder\n");
	pid_t h = start_helper(root, "sys/class/powercap/intel-rapl:0/energy_uj", 5e6, 4000000, 5000000);
	wait_helper(root, "sys/class/powercap/intel-rapl:0/energy_uj", "placeholder\n");
	measure_helper(root, 5, 1.5, 1.0, "energy-wrapped");
	stop_helper(h);
	remove_root(root);

	/* hwmon power at 3 W; a battery at 0.5 A x 4 V = 2 W. */
	root = make_root();
	put(root, "sys/class/hwmon/hwmon0/name", "ina219\n");
	put(root, "sys/class/hwmon/hwmon0/power1_input", "3000000\n");
	h = start_helper(root, "sys/class/hwmon/hwmon0/power1_input", 0, 3000000, 0);
	measure_helper(root, 3, 0.6, 0, "");
	stop_helper(h);
	remove_root(root);
	root = make_root();
	put(root, "sys/class/power_supply/BAT0/type", "Battery\n");
	put(root, "sys/class/power_supply/BAT0/status", "Discharging\n");
	put(root, "sys/class/power_supply/BAT0/voltage_now", "4000000\n");
	put(root, "sys/class/power_supply/BAT0/current_now", "500000\n");
	h = start_helper(root, "sys/class/power_supply/BAT0/current_now", 0, 500000, 0);
	measure_helper(root, 2, 0.6, 0, "");
	stop_helper(h);
	remove_root(root);
}

/* ---- CPU time ---- */

static double thread_cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *burn(void *arg)
{
	double until = *(double *)arg;
	volatile unsigned long x = 0;
	while (thread_cpu_s() < until)
		x++;
	return NULL;
}

TEST(cost_cpu_time_live)
{
	/* A child burns 0.3 s of CPU in a thread that then ends, and 0.2 s in
	 * its main thread; it stops itself so that the parent reads a process
	 * that still exists. */
	pid_t pid = fork();
	if (pid == 0) {
		double t = 0.3;
		pthread_t th;
		pthread_create(&th, NULL, burn, &t);
		pthread_join(th, NULL);
		double u = 0.2;
		burn(&u);
		raise(SIGSTOP);
		_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status));
	double s = cost_process_cpu_s("/", pid, 1);
	if (!(s >= 0.49 && s < 2))
		test_fail(__FILE__, __LINE__, "the child used %.3f CPU-s, expected 0.5 (and a few ms)", s);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(cost_process_cpu_s("/", pid, 0) < 0); /* gone */
}

TEST(cost_cpu_time_vhost)
{
	/* QEMU pid 100 and its vhost worker, a kernel thread of its own
	 * (clock ticks: 100 a second here, whatever the host's). */
	long hz = sysconf(_SC_CLK_TCK);
	char *root = make_root();
	char line[256];
	snprintf(line, sizeof(line), "100 (qemu-system-aar) S 1 100 100 0 -1 4194560 1 0 0 0 %ld %ld 0 0 20 0 9 0\n",
		 3 * hz, 1 * hz);
	put(root, "proc/100/stat", line);
	put(root, "proc/100/comm", "qemu-system-aar\n");
	snprintf(line, sizeof(line), "555 (vhost-100) S 2 0 0 0 -1 2129984 0 0 0 0 0 %ld 0 0 20 0 1 0\n", hz / 2);
	put(root, "proc/555/stat", line);
	put(root, "proc/555/comm", "vhost-100\n");
	snprintf(line, sizeof(line), "556 (vhost-1000) S 2 0 0 0 -1 2129984 0 0 0 0 0 %ld 0 0 20 0 1 0\n", 9 * hz);
	put(root, "proc/556/stat", line);
	put(root, "proc/556/comm", "vhost-1000\n");
	CHECK(fabs(cost_process_cpu_s(root, 100, 1) - 4.5) < 1e-9);
	CHECK(fabs(cost_process_cpu_s(root, 100, 0) - 4.0) < 1e-9);
	remove_root(root);
	/* A command name with spaces and parentheses. */
	snprintf(line, sizeof(line), "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 %ld %ld 0 0\n", 2 * hz, hz);
	CHECK(fabs(cost_parse_stat_cpu_s(line, strlen(line), hz) - 3) < 1e-9);
	CHECK(cost_parse_stat_cpu_s("7 (a R 1", 8, hz) < 0);
	CHECK(cost_parse_stat_cpu_s("7 (a) R 1 2", 11, hz) < 0);
}

/* The cost of one sample per unit of work, by hand: sysbench's guest
 * fixture did 2824 events; 1.5 CPU-s and 10 J make 0.531161... CPU-s and
 * 3.541076... J per 1000 events. */
TEST(cost_per_unit_of_work)
{
	char *out;
	size_t len;
	struct kq_err err;
	CHECK_INT(kq_read_file("tests/fixtures/workloads/guest-aarch64-sysbench-cpu.txt", 1 << 20, &out, &len, &err), 0);
	struct energy_sample e = { .valid = 1, .joules = 10, .seconds = 2 };
	snprintf(e.flags, sizeof(e.flags), "energy-wrapped");
	struct cost_result r;
	cost_result_make(workload_find("sysbench-cpu"), out, len, 1.5, &e, &r);
	CHECK_INT(r.count, 4);
	CHECK_STR(r.m[0].metric, "host_cpu_s");
	CHECK(fabs(r.m[0].value - 1.5) < 1e-12);
	CHECK_STR(r.m[1].metric, "host_cpu_s_per_kevent");
	CHECK_STR(r.m[1].unit, "CPU-s/kevent");
	CHECK(fabs(r.m[1].value - 1.5 / 2.824) < 1e-12);
	CHECK_STR(r.m[2].metric, "energy_j");
	CHECK_STR(r.m[3].metric, "energy_j_per_kevent");
	CHECK_STR(r.m[3].unit, "J/kevent");
	CHECK(fabs(r.m[3].value - 10 / 2.824) < 1e-12);
	CHECK_STR(r.flags, "energy-wrapped");
	CHECK_STR(r.note, "");
	/* No sensor: CPU time only, never 0 joules. */
	struct energy_sample none = { 0 };
	cost_result_make(workload_find("sysbench-cpu"), out, len, 1.5, &none, &r);
	CHECK_INT(r.count, 2);
	/* A report without a work count: the total only, and why. */
	cost_result_make(workload_find("sysbench-cpu"), "events per second: 5\n", 21, 1.5, &e, &r);
	CHECK_INT(r.count, 2);
	CHECK_STR(r.m[1].metric, "energy_j");
	CHECK(strstr(r.note, "no cost per unit: sysbench output has no") != NULL);
	free(out);
}
