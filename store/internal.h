/* What the store's files share and nothing outside store/ sees: the
 * handle, SQLite's codes turned into text, and the binding helpers.  Only
 * store/ includes this header, and only store/ talks SQL. */
#ifndef KQ_STORE_INTERNAL_H
#define KQ_STORE_INTERNAL_H

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "store.h"

/* 'kvqs' in the file header: tells a kvmqual store from any other SQLite
 * database, before its schema is even read. */
#define STORE_APPLICATION_ID 0x6b767173

#define NOW_SQL "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"

/* The write side's statements, prepared once when the store is opened for
 * writing (write.c). */
enum stmt_id {
	STMT_SAMPLE,
	STMT_BOOT,
	STMT_CHECK,
	STMT_VERDICT,
	STMT_SPEEDUP,
	STMT_COUNT,
};

struct store {
	sqlite3 *db;
	char *path;
	int batch_depth;
	int busy_ms;        /* how long a write waits for another writer's lock */
	char boot_id[64];
	sqlite3_stmt *stmt[STMT_COUNT];
	/* A read-only handle opened as immutable (no write-ahead log then):
	 * the file as it was, to tell whether a writer changed it since. */
	int immutable;
	struct stat opened;
};

/* What a run whose process is gone is marked with, by the next writer's
 * recovery; readers show it so at once (STORE_STATUS_SQL). */
#define STORE_DEAD_REASON "the process running it died (killed?)"
/* A run's status and reason as readers show them (R: the runs table's
 * alias): a 'running' run whose process is gone reads as 'interrupted',
 * as the next kvmqual run will store it, without writing anything
 * (kq_owner_gone is registered on every handle, store.c). */
#define STORE_OWNER_GONE_SQL(R) R ".status = 'running' AND kq_owner_gone(" R ".pid, " R ".pid_start, " R ".boot_id)"
#define STORE_STATUS_SQL(R) "(CASE WHEN " STORE_OWNER_GONE_SQL(R) " THEN 'interrupted' ELSE " R ".status END)"
#define STORE_REASON_SQL(R) "(CASE WHEN " STORE_OWNER_GONE_SQL(R) " THEN '" STORE_DEAD_REASON "' ELSE " R ".reason END)"

/* store.c */
int store_db_error(const struct store *s, struct kq_err *err, const char *what);
int store_exec(struct store *s, const char *sql, const char *what, struct kq_err *err);
int store_query_int(struct store *s, const char *sql, int64_t *out, const char *what, struct kq_err *err);
/* "no run N" with the ids the store does hold, into err; returns -1. */
int store_no_such_run(struct store *s, int64_t run, struct kq_err *err);
/* Start time (clock ticks since boot) and state of a process, from
 * /proc/PID/stat.  Returns 0 if the file was read. */
int store_proc_stat(pid_t pid, unsigned long long *start, char *state);

/* schema.c: brings the file to the schema version this code knows. */
int store_migrate(struct store *s, struct kq_err *err);

/* write.c */
int store_prepare_writes(struct store *s, struct kq_err *err);
/* The host's row (inserted once), its id or -1. */
int64_t store_host_id(struct store *s, const struct store_host *host, struct kq_err *err);
/* Steps a statement that returns no rows and leaves it ready for reuse. */
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what, struct kq_err *err);

/* Binding and reading columns: NULL for an empty string or an unknown
 * (non-finite) number, and back. */
void store_bind_text(sqlite3_stmt *st, int i, const char *text);
void store_bind_double(sqlite3_stmt *st, int i, double v);
const char *store_column_text(sqlite3_stmt *st, int col);
double store_column_double(sqlite3_stmt *st, int col);
/* The text of a column, malloc'd ("" for NULL). */
char *store_column_dup(sqlite3_stmt *st, int col);

#endif
