/* The host's energy sensor, read through a hostfs (the live system, or a
 * snapshot-style tree under another root), so that the probe names it and
 * the runner measures what each workload cost.  Sources, best first:
 *   rapl        /sys/class/powercap/intel-rapl:N/energy_uj (uJ counters that
 *               wrap at max_energy_range_uj; psys alone when present, else
 *               the packages)
 *   hwmon       /sys/class/hwmon/hwmonN/energyK_input (uJ counters), else
 *               powerK_input or powerK_average (uW, sampled)
 *   pmic        the Raspberry Pi 5's PMIC: `vcgencmd pmic_read_adc`, the sum
 *               of volts x amps over its rails (sampled)
 *   battery     /sys/class/power_supply/X (type Battery): power_now (uW), or
 *               current_now (uA) x voltage_now (uV), while discharging
 * Counters are read at the start and end and in between (to see wraps);
 * power is sampled and integrated.  Readings that are garbage, go
 * backwards or wrap are handled and flagged (energy_acc). */
#ifndef KQ_ENERGY_H
#define KQ_ENERGY_H

#include <stddef.h>
#include <stdint.h>

#include "hostfs.h"

#define ENERGY_MAX_CHANNELS 8

enum energy_kind {
	ENERGY_COUNTER, /* a cumulative counter, in scale units of joules */
	ENERGY_POWER,   /* an instantaneous power, in scale units of watts */
};

struct energy_channel {
	char label[64];            /* "package-0", "hwmon1 power1 (ina219)", "BAT0" */
	char path[160];            /* relative to the host root */
	char voltage_path[160];    /* battery current_now x voltage_now; "" otherwise */
	char status_path[160];     /* battery: must read "Discharging"; "" otherwise */
	double scale;              /* raw value x scale = J or W */
	double max_range;          /* a counter wraps to 0 past this (raw units); 0 = never */
	int absolute;              /* the sign means the direction of the current: use |value| */
};

struct energy_sensor {
	char source[16];           /* "rapl", "hwmon", "pmic", "battery"; "" = none */
	enum energy_kind kind;
	char description[256];     /* what it measures, for reports */
	size_t count;
	struct energy_channel ch[ENERGY_MAX_CHANNELS];
	char unavailable[384];     /* why there is none (source "") */
};

/* Looks for a sensor (best first, as above).  Returns 1 with s filled, or
 * 0 with s->unavailable saying what was looked for and why nothing fits
 * (never an error: a host without sensors is a result). */
int energy_discover(const struct hostfs *fs, struct energy_sensor *s);

/* One reading of every channel: raw[i] (power channels already in W, the
 * battery's product included; the pmic source's watts come from
 * energy_parse_pmic instead).  ok[i] is 0 when the channel's file is
 * missing or not a number (garbage), or the battery is not discharging
 * (*not_discharging set). */
void energy_read(const struct hostfs *fs, const struct energy_sensor *s, double *raw, int *ok,
		 int *not_discharging);

/* The watts of `vcgencmd pmic_read_adc` output: the sum over the rails of
 * RAIL_A current(N)=xA times RAIL_V volt(M)=yV.  0 with *watts, or -1 when
 * no rail has both (another board says error=1 ...). */
int energy_parse_pmic(const char *out, size_t len, double *watts);

/* What the readings add up to.  Flags, as text on the sample:
 *   energy-wrapped    a counter passed max_range (accounted for)
 *   energy-garbage    a reading was not a number or out of range (skipped:
 *                     counters lose nothing, power is bridged)
 *   energy-backwards  a counter went back without a plausible wrap (reset):
 *                     that interval is estimated at the mean power of the rest
 *   energy-not-discharging  the battery was charging or full: no value */
enum {
	ENERGY_WRAPPED = 1,
	ENERGY_GARBAGE = 2,
	ENERGY_BACKWARDS = 4,
	ENERGY_NOT_DISCHARGING = 8,
};

/* A counter that moved more than this many watts' worth between two
 * readings did not wrap: it was reset (no device draws 2 kW per channel). */
#define ENERGY_MAX_WATTS 2000.0

struct energy_acc {
	enum energy_kind kind;
	double joules;
	double covered_s;          /* time with a known energy */
	double lost_s;             /* time whose energy is estimated (backwards) */
	uint64_t first_ns, last_ns;
	double last[ENERGY_MAX_CHANNELS];
	int have_last[ENERGY_MAX_CHANNELS];
	uint64_t last_good_ns[ENERGY_MAX_CHANNELS];
	double last_watts;
	uint64_t last_watts_ns;
	int have_watts;
	int readings;
	unsigned flags;
	double max_gap_s;          /* the longest time between two readings (a counter
				    * that wrapped twice in one gap loses a range) */
};

void energy_acc_init(struct energy_acc *a, enum energy_kind kind);
/* Adds one reading taken at t_ns (monotonic).  For a power source raw[0]
 * is the total in watts when the caller summed it (pmic), else each
 * channel's watts; count is the channel count. */
void energy_acc_add(struct energy_acc *a, const struct energy_sensor *s, const double *raw, const int *ok,
		    int not_discharging, uint64_t t_ns);
/* The energy of the interval from the first to the last reading: 0 with
 * *joules, or -1 with why (fewer than two usable readings, battery not
 * discharging). */
int energy_acc_result(const struct energy_acc *a, double *joules, char *why, size_t why_size);
/* "energy-wrapped,energy-garbage" ... into buf ("" when none). */
void energy_flags_text(unsigned flags, char *buf, size_t size);

#endif
