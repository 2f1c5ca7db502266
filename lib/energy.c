#define _GNU_SOURCE
#include "energy.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A number file: 0 with *v, -1 when absent or not a (possibly signed)
 * decimal number alone on its line. */
static int read_number(const struct hostfs *fs, const char *path, double *v)
{
	char *line = hostfs_read_line(fs, path);
	if (!line)
		return -1;
	char *end;
	double x = strtod(line, &end);
	int bad = end == line || *end || !isfinite(x) || (!isdigit((unsigned char)line[0]) && line[0] != '-');
	free(line);
	if (bad)
		return -1;
	*v = x;
	return 0;
}

static void add_channel(struct energy_sensor *s, const char *label, const char *path, double scale, double max_range)
{
	if (s->count >= ENERGY_MAX_CHANNELS)
		return;
	struct energy_channel *c = &s->ch[s->count++];
	memset(c, 0, sizeof(*c));
	snprintf(c->label, sizeof(c->label), "%s", label);
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->scale = scale;
	c->max_range = max_range;
}

/* RAPL through powercap: the top-level zones intel-rapl:N (not the
 * sub-zones intel-rapl:N:M, which are parts of them, nor intel-rapl-mmio,
 * the same package seen through MMIO).  psys, where present, covers the
 * platform and the packages within it: it is used alone. */
static int discover_rapl(const struct hostfs *fs, struct energy_sensor *s, char *why, size_t why_size)
{
	char **zones;
	size_t n = hostfs_list(fs, "sys/class/powercap", &zones);
	int unreadable = 0, found = 0, psys = -1;
	for (int pass = 0; pass < 2 && !s->count; pass++) {
		for (size_t i = 0; i < n; i++) {
			unsigned idx;
			char rest;
			if (sscanf(zones[i], "intel-rapl:%u%c", &idx, &rest) != 1)
				continue;
			char path[160], name_path[160], range_path[160];
			snprintf(name_path, sizeof(name_path), "sys/class/powercap/%s/name", zones[i]);
			snprintf(path, sizeof(path), "sys/class/powercap/%s/energy_uj", zones[i]);
			snprintf(range_path, sizeof(range_path), "sys/class/powercap/%s/max_energy_range_uj", zones[i]);
			char *name = hostfs_read_line(fs, name_path);
			int is_psys = name && !strcmp(name, "psys");
			if (pass == 0 && is_psys)
				psys = (int)i;
			if (pass == 1 && psys >= 0 && (int)i != psys) {
				free(name);
				continue;
			}
			if (pass == 0) {
				free(name);
				continue;
			}
			found++;
			double v, range = 0;
			if (read_number(fs, path, &v)) {
				unreadable += hostfs_exists(fs, path);
				free(name);
				continue;
			}
			read_number(fs, range_path, &range);
			add_channel(s, name ? name : zones[i], path, 1e-6, range > 0 ? range : 0);
			free(name);
		}
	}
	hostfs_free_list(zones);
	if (s->count) {
		snprintf(s->source, sizeof(s->source), "rapl");
		s->kind = ENERGY_COUNTER;
		char list[160] = "";
		for (size_t i = 0; i < s->count; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? " + " : "", s->ch[i].label);
		snprintf(s->description, sizeof(s->description), "RAPL energy counters (%s)%s", list,
			 psys >= 0 ? ": the whole platform" : ": the CPU packages only, not the rest of the machine");
		return 1;
	}
	if (unreadable)
		snprintf(why, why_size, "RAPL energy_uj is readable by root only (run as root)");
	else if (found)
		snprintf(why, why_size, "RAPL zones without a readable energy_uj");
	else
		snprintf(why, why_size, "no RAPL zone in /sys/class/powercap");
	return 0;
}

/* hwmon: energy counters first (exact), else power inputs (sampled). */
static int discover_hwmon(const struct hostfs *fs, struct energy_sensor *s, char *why, size_t why_size)
{
	char **devs;
	size_t n = hostfs_list(fs, "sys/class/hwmon", &devs);
	static const char *const kinds[] = { "energy%u_input", "power%u_input", "power%u_average" };
	for (size_t k = 0; k < 3 && !s->count; k++) {
		for (size_t i = 0; i < n; i++) {
			char dir[96], name_path[160];
			snprintf(dir, sizeof(dir), "sys/class/hwmon/%s", devs[i]);
			snprintf(name_path, sizeof(name_path), "%s/name", dir);
			char *name = hostfs_read_line(fs, name_path);
			for (unsigned j = 0; j < 16; j++) {
				char file[32], path[160];
				snprintf(file, sizeof(file), kinds[k], j);
				snprintf(path, sizeof(path), "%s/%s", dir, file);
				double v;
				if (read_number(fs, path, &v))
					continue;
				char label[64];
				snprintf(label, sizeof(label), "%s %.*s (%s)", devs[i], (int)strcspn(file, "_"), file,
					 name ? name : "?");
				add_channel(s, label, path, 1e-6, 0);
			}
			free(name);
		}
		if (s->count) {
			s->kind = k == 0 ? ENERGY_COUNTER : ENERGY_POWER;
			snprintf(s->source, sizeof(s->source), "hwmon");
		}
	}
	hostfs_free_list(devs);
	if (!s->count) {
		snprintf(why, why_size, "no hwmon energy or power input");
		return 0;
	}
	char list[200] = "";
	for (size_t i = 0; i < s->count; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? " + " : "", s->ch[i].label);
	snprintf(s->description, sizeof(s->description), "hwmon %s (%s): what those chips measure, summed",
		 s->kind == ENERGY_COUNTER ? "energy counters" : "power inputs, sampled", list);
	return 1;
}

/* The Raspberry Pi 5's PMIC, read by the firmware tool. */
static int discover_pmic(const struct hostfs *fs, struct energy_sensor *s, char *why, size_t why_size)
{
	static const char *const tools[] = { "usr/bin/vcgencmd", "bin/vcgencmd", "opt/vc/bin/vcgencmd" };
	const char *tool = NULL;
	for (size_t i = 0; i < 3 && !tool; i++)
		if (hostfs_exists(fs, tools[i]))
			tool = tools[i];
	char *model = hostfs_read_line(fs, "sys/firmware/devicetree/base/model");
	if (!model)
		model = hostfs_read_line(fs, "proc/device-tree/model");
	int pi5 = model && strstr(model, "Raspberry Pi 5");
	free(model);
	if (!tool || !pi5) {
		snprintf(why, why_size, pi5 ? "no vcgencmd for the Raspberry Pi 5's PMIC (install raspi-utils)"
					    : "not a Raspberry Pi 5 (no PMIC to read with vcgencmd)");
		return 0;
	}
	snprintf(s->source, sizeof(s->source), "pmic");
	s->kind = ENERGY_POWER;
	s->count = 1;
	memset(&s->ch[0], 0, sizeof(s->ch[0]));
	snprintf(s->ch[0].label, sizeof(s->ch[0].label), "vcgencmd pmic_read_adc");
	snprintf(s->ch[0].path, sizeof(s->ch[0].path), "/%s", tool);
	s->ch[0].scale = 1;
	snprintf(s->description, sizeof(s->description),
		 "the Raspberry Pi 5's PMIC rails (vcgencmd pmic_read_adc, volts x amps summed, sampled): the board "
		 "after its 5 V input, without conversion losses");
	return 1;
}

static int discover_battery(const struct hostfs *fs, struct energy_sensor *s, char *why, size_t why_size)
{
	char **supplies;
	size_t n = hostfs_list(fs, "sys/class/power_supply", &supplies);
	int batteries = 0;
	for (size_t i = 0; i < n && !s->count; i++) {
		char path[160], vpath[160];
		snprintf(path, sizeof(path), "sys/class/power_supply/%s/type", supplies[i]);
		char *type = hostfs_read_line(fs, path);
		snprintf(path, sizeof(path), "sys/class/power_supply/%s/scope", supplies[i]);
		char *scope = hostfs_read_line(fs, path);
		/* A mouse's or a headset's battery says scope Device. */
		int battery = type && !strcmp(type, "Battery") && !(scope && !strcmp(scope, "Device"));
		free(type);
		free(scope);
		if (!battery)
			continue;
		batteries++;
		double v;
		snprintf(path, sizeof(path), "sys/class/power_supply/%s/power_now", supplies[i]);
		vpath[0] = '\0';
		if (read_number(fs, path, &v)) {
			snprintf(path, sizeof(path), "sys/class/power_supply/%s/current_now", supplies[i]);
			snprintf(vpath, sizeof(vpath), "sys/class/power_supply/%s/voltage_now", supplies[i]);
			double volts;
			if (read_number(fs, path, &v) || read_number(fs, vpath, &volts))
				continue;
		}
		add_channel(s, supplies[i], path, vpath[0] ? 1e-12 : 1e-6, 0);
		struct energy_channel *c = &s->ch[s->count - 1];
		snprintf(c->voltage_path, sizeof(c->voltage_path), "%s", vpath);
		snprintf(c->status_path, sizeof(c->status_path), "sys/class/power_supply/%s/status", supplies[i]);
		/* Gauges differ in the sign they give a discharge. */
		c->absolute = 1;
		snprintf(s->source, sizeof(s->source), "battery");
		s->kind = ENERGY_POWER;
		snprintf(s->description, sizeof(s->description),
			 "the battery fuel gauge %s (%s, sampled): the whole device, only while it runs on battery",
			 supplies[i], vpath[0] ? "current_now x voltage_now" : "power_now");
	}
	hostfs_free_list(supplies);
	if (s->count)
		return 1;
	snprintf(why, why_size, batteries ? "a battery without power_now or current_now and voltage_now" : "no battery");
	return 0;
}

int energy_discover(const struct hostfs *fs, struct energy_sensor *s)
{
	memset(s, 0, sizeof(*s));
	char why[4][128];
	int (*const finders[])(const struct hostfs *, struct energy_sensor *, char *, size_t) = {
		discover_rapl, discover_hwmon, discover_pmic, discover_battery,
	};
	for (size_t i = 0; i < 4; i++) {
		why[i][0] = '\0';
		if (finders[i](fs, s, why[i], sizeof(why[i])))
			return 1;
		memset(s, 0, sizeof(*s));
	}
	snprintf(s->unavailable, sizeof(s->unavailable), "no energy sensor: %s; %s; %s; %s", why[0], why[1], why[2],
		 why[3]);
	return 0;
}

void energy_read(const struct hostfs *fs, const struct energy_sensor *s, double *raw, int *ok,
		 int *not_discharging)
{
	*not_discharging = 0;
	for (size_t i = 0; i < s->count; i++) {
		const struct energy_channel *c = &s->ch[i];
		ok[i] = 0;
		raw[i] = 0;
		if (!strcmp(s->source, "pmic"))
			continue; /* a command, not a file: the caller runs it */
		if (c->status_path[0]) {
			char *status = hostfs_read_line(fs, c->status_path);
			if (status && strcmp(status, "Discharging"))
				*not_discharging = 1;
			free(status);
		}
		double v, volts = 1;
		if (read_number(fs, c->path, &v) || (c->voltage_path[0] && read_number(fs, c->voltage_path, &volts)))
			continue;
		if (c->absolute) {
			v = fabs(v);
			volts = fabs(volts);
		}
		if (v < 0 || volts < 0 || (c->max_range > 0 && v > c->max_range))
			continue;
		raw[i] = s->kind == ENERGY_POWER ? v * volts * c->scale : v;
		ok[i] = 1;
	}
}

/* "   VDD_CORE_A current(7)=0.75012000A" / "   VDD_CORE_V volt(15)=0.89369880V" */
int energy_parse_pmic(const char *out, size_t len, double *watts)
{
	struct rail {
		char name[24];
		double amps, volts;
		int has_a, has_v;
	} rails[32];
	size_t nrails = 0, pos = 0;
	char line[128];
	while (kq_next_line(out, len, &pos, line, sizeof(line), NULL)) {
		char name[32], kind[16], unit;
		unsigned channel;
		double value;
		int used = 0;
		if (sscanf(line, " %31s %15[a-z](%u)=%lf%c%n", name, kind, &channel, &value, &unit, &used) != 5 ||
		    line[used] || !isfinite(value) || value < 0 || value > 1000)
			continue;
		size_t nl_name = strlen(name);
		if (nl_name < 3 || name[nl_name - 2] != '_')
			continue;
		char which = name[nl_name - 1];
		if (!((which == 'A' && !strcmp(kind, "current") && unit == 'A') ||
		      (which == 'V' && !strcmp(kind, "volt") && unit == 'V')))
			continue;
		name[nl_name - 2] = '\0';
		size_t r = 0;
		while (r < nrails && strcmp(rails[r].name, name))
			r++;
		if (r == nrails) {
			if (nrails == 32 || strlen(name) >= sizeof(rails[0].name))
				continue;
			memset(&rails[nrails], 0, sizeof(rails[0]));
			snprintf(rails[nrails].name, sizeof(rails[0].name), "%s", name);
			nrails++;
		}
		if (which == 'A') {
			rails[r].amps = value;
			rails[r].has_a = 1;
		} else {
			rails[r].volts = value;
			rails[r].has_v = 1;
		}
	}
	double sum = 0;
	int pairs = 0;
	for (size_t r = 0; r < nrails; r++) {
		if (rails[r].has_a && rails[r].has_v) {
			sum += rails[r].amps * rails[r].volts;
			pairs++;
		}
	}
	if (!pairs)
		return -1;
	*watts = sum;
	return 0;
}

void energy_acc_init(struct energy_acc *a, enum energy_kind kind)
{
	memset(a, 0, sizeof(*a));
	a->kind = kind;
}

void energy_acc_add(struct energy_acc *a, const struct energy_sensor *s, const double *raw, const int *ok,
		    int not_discharging, uint64_t t_ns)
{
	if (!a->readings)
		a->first_ns = t_ns;
	else if ((double)(t_ns - a->last_ns) / 1e9 > a->max_gap_s)
		a->max_gap_s = (double)(t_ns - a->last_ns) / 1e9;
	a->readings++;
	if (not_discharging)
		a->flags |= ENERGY_NOT_DISCHARGING;
	if (a->kind == ENERGY_POWER) {
		double watts = 0;
		int good = 1;
		size_t n = !strcmp(s->source, "pmic") ? 1 : s->count;
		for (size_t i = 0; i < n; i++) {
			if (!ok[i] || raw[i] > ENERGY_MAX_WATTS)
				good = 0;
			else
				watts += raw[i];
		}
		if (!good) {
			a->flags |= ENERGY_GARBAGE;
			a->last_ns = t_ns;
			return;
		}
		/* Trapezoids between good readings: a skipped one is bridged. */
		if (a->have_watts) {
			double dt = (double)(t_ns - a->last_watts_ns) / 1e9;
			a->joules += (a->last_watts + watts) / 2 * dt;
			a->covered_s += dt;
		}
		a->last_watts = watts;
		a->last_watts_ns = t_ns;
		a->have_watts = 1;
		a->last_ns = t_ns;
		return;
	}
	/* Counters: each channel's delta since its last good reading. */
	double covered = 0, lost = 0;
	for (size_t i = 0; i < s->count; i++) {
		const struct energy_channel *c = &s->ch[i];
		if (!ok[i] || !isfinite(raw[i]) || raw[i] < 0 || (c->max_range > 0 && raw[i] > c->max_range)) {
			a->flags |= ENERGY_GARBAGE;
			continue;
		}
		if (a->have_last[i]) {
			double dt = (double)(t_ns - a->last_good_ns[i]) / 1e9;
			double delta = raw[i] - a->last[i];
			double limit = ENERGY_MAX_WATTS * (dt > 0.001 ? dt : 0.001) / c->scale;
			if (delta < 0 && c->max_range > 0 && c->max_range - a->last[i] + raw[i] <= limit) {
				delta = c->max_range - a->last[i] + raw[i];
				a->flags |= ENERGY_WRAPPED;
			}
			if (delta < 0 || delta > limit) {
				/* Reset, or a jump no device makes: the interval is
				 * estimated afterwards from the rest. */
				a->flags |= ENERGY_BACKWARDS;
				lost = dt > lost ? dt : lost;
			} else {
				a->joules += delta * c->scale;
				covered = dt > covered ? dt : covered;
			}
		}
		a->last[i] = raw[i];
		a->have_last[i] = 1;
		a->last_good_ns[i] = t_ns;
	}
	a->covered_s += covered;
	a->lost_s += lost;
	a->last_ns = t_ns;
}

int energy_acc_result(const struct energy_acc *a, double *joules, char *why, size_t why_size)
{
	if (a->flags & ENERGY_NOT_DISCHARGING) {
		snprintf(why, why_size, "the battery was not discharging (on a charger its gauge measures the charge, "
					"not what the device draws): unplug it to measure energy");
		return -1;
	}
	if (!(a->covered_s > 0)) {
		snprintf(why, why_size, "%d reading%s of the sensor, too few usable ones for an interval", a->readings,
			 a->readings == 1 ? "" : "s");
		return -1;
	}
	double j = a->joules;
	if (a->lost_s > 0)
		j += a->joules / a->covered_s * a->lost_s;
	*joules = j;
	return 0;
}

void energy_flags_text(unsigned flags, char *buf, size_t size)
{
	static const char *const names[] = { "energy-wrapped", "energy-garbage", "energy-backwards",
					     "energy-not-discharging" };
	buf[0] = '\0';
	for (size_t i = 0; i < 4; i++)
		if (flags & (1u << i))
			snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? "," : "", names[i]);
}
