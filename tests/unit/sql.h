/* Queries straight through SQLite, beside the store's own code, for the
 * unit tests that look into a store file or plant something in it. */
#ifndef KQ_TEST_SQL_H
#define KQ_TEST_SQL_H

/* The first column of the first row as an integer; -1 when there is none
 * or the query fails. */
long long sql_int(const char *path, const char *sql);
/* The same as text (to free), or NULL. */
char *sql_text(const char *path, const char *sql);
/* Runs sql; a failure is printed in the test's output. */
void sql_exec(const char *path, const char *sql);

#endif
