/* A line of CSV as sqlite3 -csv writes it, split into fields: what the
 * bench simulations read their samples from (bench/data/). */
#ifndef KQ_BENCH_CSV_H
#define KQ_BENCH_CSV_H

/* Splits one line (RFC 4180 quoting) in place into at most max fields;
 * returns the field count. */
int csv_split(char *line, char **field, int max);

#endif
