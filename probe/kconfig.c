/* Kernel configuration (/proc/config.gz, /boot/config-RELEASE) and kernel
 * command line lookups. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../lib/util.h"
#include "parse.h"

char kconfig_value(const char *text, size_t len, const char *option)
{
	if (!text)
		return '?';
	char set[96], unset[112];
	if (snprintf(set, sizeof(set), "CONFIG_%s=", option) >= (int)sizeof(set))
		return '?';
	snprintf(unset, sizeof(unset), "# CONFIG_%s is not set", option);
	size_t set_len = strlen(set), unset_len = strlen(unset);
	size_t off = 0;
	while (off < len) {
		const char *line = text + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		if (n > set_len && memcmp(line, set, set_len) == 0) {
			char v = line[set_len];
			if (v == 'y' || v == 'm' || v == 'n')
				return v;
			return 'y'; /* a string or number value: the option is on */
		}
		if (n >= unset_len && memcmp(line, unset, unset_len) == 0)
			return 'n';
		off += n + 1;
	}
	return 'n';
}

int cmdline_get(const char *cmdline, const char *key, char *value, size_t value_size)
{
	if (!cmdline)
		return 0;
	size_t klen = strlen(key);
	const char *p = cmdline;
	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		const char *start = p;
		int quoted = 0;
		while (*p && (quoted || !isspace((unsigned char)*p))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		size_t n = (size_t)(p - start);
		if (n >= klen && strncmp(start, key, klen) == 0 &&
		    (n == klen || start[klen] == '=')) {
			const char *v = n == klen ? start + n : start + klen + 1;
			size_t vlen = (size_t)(p - v);
			if (value && value_size) {
				if (vlen >= value_size)
					vlen = value_size - 1;
				memcpy(value, v, vlen);
				value[vlen] = '\0';
			}
			return 1;
		}
	}
	return 0;
}
