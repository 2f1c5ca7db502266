/* The CSV the bench simulations read: bench/csv.h. */
#include "csv.h"

/* Splits one CSV line (RFC 4180 quoting, as sqlite3 -csv writes it) in
 * place; returns the field count. */
int csv_split(char *line, char **field, int max)
{
	int n = 0;
	char *p = line;
	while (n < max) {
		char *out = p;
		field[n++] = p;
		if (*p == '"') {
			char *r = p + 1;
			for (;;) {
				if (*r == '"' && r[1] == '"') {
					*out++ = '"';
					r += 2;
				} else if (*r == '"' || !*r) {
					r += *r == '"';
					break;
				} else {
					*out++ = *r++;
				}
			}
			p = r;
		} else {
			while (*p && *p != ',' && *p != '\n' && *p != '\r')
				out++, p++;
		}
		char sep = *p;
		*out = '\0';
		if (sep != ',')
			break;
		p++;
	}
	return n;
}
