/* The results store: one SQLite file in WAL mode.  This file is the
 * handle: open (migrating with schema.c), read-only open, recovery of runs
 * whose process died, batches, and the helpers the other store/ files
 * share (internal.h).  The write side is write.c, the export export.c, the
 * readers read_report.c, read_compare.c and read_matrix.c.  store/README.md
 * is the reader's guide; these files are the truth. */
#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const run_status_names[] = {
	[STORE_RUN_RUNNING] = "running",
	[STORE_RUN_COMPLETE] = "complete",
	[STORE_RUN_INCOMPLETE] = "incomplete",
	[STORE_RUN_FAILED] = "failed",
	[STORE_RUN_INTERRUPTED] = "interrupted",
};

const char *store_run_status_name(enum store_run_status status)
{
	if ((size_t)status >= KQ_ARRAY_SIZE(run_status_names))
		return NULL;
	return run_status_names[status];
}

const char *store_path(const struct store *s)
{
	return s->path;
}

void store_set_busy_timeout(struct store *s, int ms)
{
	s->busy_ms = ms;
	sqlite3_busy_timeout(s->db, ms);
}


/* The one place that turns SQLite's codes into text for the user. */
int store_db_error(const struct store *s, struct kq_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db) & 0xff;
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		return kq_error(err, "%s: not a SQLite database, or a corrupt one (%s: %s)", s->path, what,
				sqlite3_errmsg(s->db));
	if (code == SQLITE_BUSY)
		return kq_error(err, "%s: %s: another process held the store's write lock for %d s (another kvmqual"
				     " run, or a sqlite3 shell with a transaction open: fuser -v %s-wal names it)",
				s->path, what, s->busy_ms / 1000, s->path);
	if (code == SQLITE_FULL)
		return kq_error(err, "%s: %s: the disk is full (free space where the store is)", s->path, what);
	if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM)
		return kq_error(err, "%s: %s: %s (check the file's and its directory's permissions)", s->path,
				what, sqlite3_errmsg(s->db));
	return kq_error(err, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int store_exec(struct store *s, const char *sql, const char *what, struct kq_err *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_error(s, err, what);
	return 0;
}

/* A statement returning one integer, e.g. a PRAGMA. */
int store_query_int(struct store *s, const char *sql, int64_t *out, const char *what, struct kq_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, err, what);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return store_db_error(s, err, what);
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Switching a new file to WAL takes an exclusive lock; a second process
 * opening the same new file at that moment can see SQLITE_BUSY without the
 * busy handler being asked, so this step retries on its own. */
static int set_wal(struct store *s, struct kq_err *err)
{
	for (int waited = 0;; waited += 10) {
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW) {
				const char *mode = (const char *)sqlite3_column_text(st, 0);
				int wal = mode && !strcmp(mode, "wal");
				char got[32];
				snprintf(got, sizeof(got), "%s", mode ? mode : "?");
				sqlite3_finalize(st);
				if (!wal)
					return kq_error(err, "%s: cannot use write-ahead logging (journal mode stays %s);"
							" put the store on a local file system", s->path, got);
				return 0;
			}
			sqlite3_finalize(st);
		}
		if ((rc & 0xff) != SQLITE_BUSY || waited >= s->busy_ms)
			return store_db_error(s, err, "setting journal_mode=WAL");
		sleep_ms(10);
	}
}

/* ---- which process owns a run ---- */

static void read_boot_id(char *out, size_t size)
{
	out[0] = '\0';
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (!f)
		return;
	if (fgets(out, (int)size, f))
		kq_strtrim(out);
	else
		out[0] = '\0';
	fclose(f);
}

/* The start time tells a reused pid from the original. */
int store_proc_stat(pid_t pid, unsigned long long *start, char *state)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: the fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	char *save = NULL;
	int field = 3;
	for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 3)
			*state = tok[0];
		if (field == 22) {
			*start = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -1;
}

static int pid_alive(int64_t pid, long long recorded_start)
{
	/* A crafted store may hold any number: only a real pid is asked about. */
	if (pid <= 0 || pid > INT_MAX)
		return 0;
	if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
		return 0;
	unsigned long long start;
	char state = '?';
	if (store_proc_stat((pid_t)pid, &start, &state) == 0) {
		if (state == 'Z' || state == 'X')
			return 0;
		if (recorded_start > 0 && (unsigned long long)recorded_start != start)
			return 0; /* the pid now belongs to another process */
	}
	return 1;
}

/* Whether the process that began a run is gone: another boot, no such
 * process, a zombie, or the pid reused by another process. */
static int owner_gone(const struct store *s, int64_t pid, int64_t pid_start, const char *boot)
{
	int same_boot = !boot || !s->boot_id[0] || !strcmp(boot, s->boot_id);
	return !same_boot || !pid_alive(pid, pid_start);
}

/* kq_owner_gone(pid, pid_start, boot_id) in SQL: owner_gone for readers
 * (STORE_STATUS_SQL). */
static void sql_owner_gone(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const struct store *s = sqlite3_user_data(ctx);
	const char *boot = (const char *)sqlite3_value_text(argv[2]);
	sqlite3_result_int(ctx, owner_gone(s, sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1]), boot));
}

/* Marks the rows of table (runs or ab_sessions) still 'running' whose
 * owner is gone as interrupted. */
static int recover_table(struct store *s, const char *table, int *recovered, struct kq_err *err)
{
	sqlite3_stmt *st;
	int64_t *dead = NULL;
	size_t dead_count = 0, dead_cap = 0;
	char *sql = sqlite3_mprintf("SELECT id, pid, pid_start, boot_id FROM %s WHERE status = 'running'", table);
	int prc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (prc != SQLITE_OK)
		return store_db_error(s, err, "looking for unfinished runs");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!owner_gone(s, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
				(const char *)sqlite3_column_text(st, 3)))
			continue;
		if (dead_count == dead_cap) {
			dead_cap = dead_cap ? dead_cap * 2 : 8;
			dead = kq_xrealloc(dead, dead_cap * sizeof(*dead));
		}
		dead[dead_count++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(dead);
		return store_db_error(s, err, "looking for unfinished runs");
	}
	if (!dead_count) {
		free(dead);
		return 0;
	}
	/* Two processes may recover the same run at once: the status test in
	 * the UPDATE makes only one of them count it. */
	int count = 0;
	if (store_batch_begin(s, err))
		goto fail;
	sql = sqlite3_mprintf("UPDATE %s SET status = 'interrupted', reason = '" STORE_DEAD_REASON "',"
			      " finished_at = %s WHERE id = ?1 AND status = 'running'", table, NOW_SQL);
	prc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (prc != SQLITE_OK) {
		store_db_error(s, err, "marking dead runs interrupted");
		store_batch_rollback(s);
		goto fail;
	}
	for (size_t i = 0; i < dead_count; i++) {
		sqlite3_bind_int64(st, 1, dead[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			store_db_error(s, err, "marking dead runs interrupted");
			sqlite3_finalize(st);
			store_batch_rollback(s);
			goto fail;
		}
		count += sqlite3_changes(s->db);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (store_batch_commit(s, err))
		goto fail;
	free(dead);
	if (recovered)
		*recovered = count;
	return 0;
fail:
	free(dead);
	return -1;
}

/* ---- open, close ---- */


/* A handle on path, opened as name (a path or a URI) with flags, extended
 * result codes and the busy timeout set; NULL with err on failure. */
static struct store *open_handle(const char *path, const char *name, int flags, const char *what,
				 struct kq_err *err)
{
	struct store *s = kq_xcalloc(1, sizeof(*s));
	s->path = kq_xstrdup(path);
	if (sqlite3_open_v2(name, &s->db, flags, NULL) != SQLITE_OK) {
		if (s->db)
			store_db_error(s, err, what);
		else
			kq_error(err, "%s: cannot open: out of memory", path);
		store_close(s);
		return NULL;
	}
	sqlite3_extended_result_codes(s->db, 1);
	store_set_busy_timeout(s, STORE_BUSY_TIMEOUT_MS);
	read_boot_id(s->boot_id, sizeof(s->boot_id));
	/* Direct-only: a crafted store's views and triggers cannot call it. */
	if (sqlite3_create_function(s->db, "kq_owner_gone", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY, s, sql_owner_gone,
				    NULL, NULL) != SQLITE_OK) {
		store_db_error(s, err, what);
		store_close(s);
		return NULL;
	}
	return s;
}

/* mkdir -p of the file's directory. */
static int make_parent_dirs(const char *path, struct kq_err *err)
{
	char *dir = kq_xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			kq_error(err, "%s: cannot create the directory %s: %s", path, dir, strerror(errno));
			free(dir);
			return -1;
		}
		*p = c;
		if (!c)
			break;
	}
	free(dir);
	return 0;
}

/* Whether an existing file may become (or is) a kvmqual store, asked
 * before anything in it changes: another application's SQLite database is
 * refused as it is, never switched to WAL or migrated.  A missing or empty
 * file will become one; so does a SQLite file without tables (one that
 * another kvmqual is creating right now). */
static int check_store_file(const char *path, struct kq_err *err)
{
	struct stat sb;
	if (stat(path, &sb) != 0 || sb.st_size == 0)
		return 0;
	/* Read-only, with SQLite's locks (another kvmqual may be writing). */
	struct store *s = open_handle(path, path, SQLITE_OPEN_READONLY, "opening", err);
	if (!s)
		return -1;
	int64_t app_id, version, tables;
	int rc = -1;
	if (store_query_int(s, "PRAGMA application_id", &app_id, "reading the application id", err) ||
	    store_query_int(s, "PRAGMA user_version", &version, "reading the schema version", err) ||
	    store_query_int(s, "SELECT count(*) FROM sqlite_schema", &tables, "reading the schema", err))
		goto out;
	if (app_id != 0 && app_id != STORE_APPLICATION_ID)
		kq_error(err, "%s: a SQLite database of another application (application_id 0x%" PRIx64
			      "), not a kvmqual store; it was left as it is: give another --db path",
			 path, (uint64_t)app_id);
	else if (version == 0 && tables > 0)
		kq_error(err, "%s: a SQLite database with tables but no kvmqual schema version, not a kvmqual"
			      " store; it was left as it is: give another --db path", path);
	else if (version > store_schema_version())
		kq_error(err, "%s: schema version %" PRId64 " is newer than this kvmqual knows (%d); use a newer"
			      " kvmqual, or another --db path", path, version, store_schema_version());
	else
		rc = 0;
out:
	store_close(s);
	return rc;
}

struct store *store_open(const char *path, int *recovered, struct kq_err *err)
{
	if (recovered)
		*recovered = 0;
	if (!path || !*path)
		path = STORE_DEFAULT_PATH;
	struct stat sb;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		kq_error(err, "%s: not a regular file (a store is a SQLite file: give its path)", path);
		return NULL;
	}
	if (check_store_file(path, err) || make_parent_dirs(path, err))
		return NULL;

	struct store *s = open_handle(path, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "opening", err);
	if (!s)
		return NULL;
	if (set_wal(s, err) ||
	    store_exec(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", "setting pragmas", err) ||
	    store_migrate(s, err) || store_prepare_writes(s, err))
		goto fail;
	if (recover_table(s, "runs", recovered, err) || recover_table(s, "ab_sessions", NULL, err))
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->batch_depth) {
		s->batch_depth = 1;
		store_batch_rollback(s);
	}
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* ---- batches ---- */


int store_batch_begin(struct store *s, struct kq_err *err)
{
	if (s->batch_depth == 0 && store_exec(s, "BEGIN IMMEDIATE", "starting a transaction", err))
		return -1;
	s->batch_depth++;
	return 0;
}

int store_batch_commit(struct store *s, struct kq_err *err)
{
	if (s->batch_depth == 0)
		return kq_error(err, "%s: a commit without a transaction begun (a bug in kvmqual: please report it"
				     " with the command line)", s->path);
	if (s->batch_depth > 1) {
		s->batch_depth--;
		return 0;
	}
	if (store_exec(s, "COMMIT", "committing", err)) {
		store_batch_rollback(s);
		return -1;
	}
	s->batch_depth = 0;
	return 0;
}

void store_batch_rollback(struct store *s)
{
	if (s->batch_depth == 0)
		return;
	if (sqlite3_get_autocommit(s->db) == 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->batch_depth = 0;
}



void store_host_key(const struct store_host *host, char key[17])
{
	/* FNV-1a 64 over the identity fields, each followed by a NUL so that
	 * ("ab", "c") and ("a", "bc") differ.  Stable across builds and arches. */
	uint64_t h = 0xcbf29ce484222325ULL;
	char page[32];
	snprintf(page, sizeof(page), "%ld", host->page_size);
	const char *fields[] = { host->arch, host->model, host->soc, host->kernel_release, page };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(fields); i++) {
		const unsigned char *p = (const unsigned char *)(fields[i] ? fields[i] : "");
		for (;; p++) {
			h ^= *p;
			h *= 0x100000001b3ULL;
			if (!*p)
				break;
		}
	}
	snprintf(key, 17, "%016" PRIx64, h);
}

/* ---- helpers for the other store/ files ---- */

/* How many runs there are, and their lowest and highest ids. */
static int run_span(struct store *s, int64_t *count, int64_t *lo, int64_t *hi, struct kq_err *err)
{
	*count = *lo = *hi = 0;
	if (store_query_int(s, "SELECT count(*) FROM runs", count, "listing the runs", err))
		return -1;
	if (!*count)
		return 0;
	if (store_query_int(s, "SELECT min(id) FROM runs", lo, "listing the runs", err) ||
	    store_query_int(s, "SELECT max(id) FROM runs", hi, "listing the runs", err))
		return -1;
	return 0;
}

/* Which runs there are, for a run id that is not one of them. */
int store_no_such_run(struct store *s, int64_t run, struct kq_err *err)
{
	int64_t count, lo, hi;
	if (run_span(s, &count, &lo, &hi, err))
		return -1;
	if (!count)
		return kq_error(err, "%s: no run %" PRId64 ": the store holds no runs yet", s->path, run);
	return kq_error(err, "%s: no run %" PRId64 ": the store holds %" PRId64 " run%s, ids %" PRId64 " to %" PRId64,
			s->path, run, count, count == 1 ? "" : "s", lo, hi);
}

int store_no_run_to_take(struct store *s, const char *what, const char *why, struct kq_err *err)
{
	int64_t count, lo, hi;
	if (run_span(s, &count, &lo, &hi, err))
		return -1;
	if (!count)
		return kq_error(err, "%s holds no runs yet (kvmqual run --db %s makes one)", s->path, s->path);
	char ids[64];
	if (count == 1)
		snprintf(ids, sizeof(ids), "1 run, id %" PRId64, lo);
	else
		snprintf(ids, sizeof(ids), "%" PRId64 " runs, ids %" PRId64 " to %" PRId64, count, lo, hi);
	return kq_error(err, "%s holds no %s run (%s: %s)", s->path, what, ids, why);
}

void store_bind_text(sqlite3_stmt *st, int i, const char *text)
{
	if (text && *text)
		sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void store_bind_double(sqlite3_stmt *st, int i, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}


const char *store_column_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

double store_column_double(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? STORE_UNKNOWN : sqlite3_column_double(st, col);
}

char *store_column_dup(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return kq_xstrdup(t ? t : "");
}

/* SQLite URI of a path: '%', '?' and '#' encoded, one leading '/' at most
 * (file://x would name a host).  Caller sqlite3_free()s. */
static char *readonly_uri(const char *path, int immutable)
{
	struct kq_buf b;
	kq_buf_init(&b);
	kq_buf_add(&b, "file:", 5);
	const char *p = path;
	if (*p == '/')
		while (p[1] == '/')
			p++;
	for (; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			kq_buf_printf(&b, "%%%02x", (unsigned char)*p);
		else
			kq_buf_add(&b, p, 1);
	}
	kq_buf_printf(&b, "?mode=ro%s", immutable ? "&immutable=1" : "");
	char *uri = sqlite3_mprintf("%s", b.data);
	kq_buf_free(&b);
	if (!uri)
		abort();
	return uri;
}

int store_has_wal(const char *path)
{
	char *wal = kq_xasprintf("%s-wal", path);
	struct stat sb;
	int has = stat(wal, &sb) == 0;
	free(wal);
	return has;
}

struct store *store_open_readonly(const char *path, struct kq_err *err)
{
	if (!path || !*path)
		path = STORE_DEFAULT_PATH;
	struct stat sb;
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			kq_error(err, "%s: No such file or directory (a reader never creates a store: check the --db path, or"
				      " make a run first with kvmqual run --db %s)", path, path);
		else
			kq_error(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		kq_error(err, "%s: not a regular file (a store is a SQLite file: give its path)", path);
		return NULL;
	}
	if (sb.st_size == 0) {
		kq_error(err, "%s: an empty file, not a kvmqual store (check the --db path)", path);
		return NULL;
	}
	/* Without a write-ahead log nobody has the file open and everything is
	 * in the main file: read it as immutable, which needs no shared-memory
	 * file (so a read-only directory works) and creates nothing beside it.
	 * With one, a writer may be at work: read through the log, read-only. */
	int immutable = !store_has_wal(path);
	char *uri = readonly_uri(path, immutable);
	struct store *s = open_handle(path, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, "opening read-only", err);
	sqlite3_free(uri);
	if (!s)
		return NULL;
	s->immutable = immutable;
	s->opened = sb;
	int64_t version, app_id;
	if (store_exec(s, "PRAGMA query_only = ON", "setting query_only", err) ||
	    store_query_int(s, "PRAGMA application_id", &app_id, "reading the application id", err) ||
	    store_query_int(s, "PRAGMA user_version", &version, "reading the schema version", err))
		goto fail;
	if (app_id != 0 && app_id != STORE_APPLICATION_ID) {
		kq_error(err, "%s: a SQLite database of another application (application_id 0x%" PRIx64
			      "), not a kvmqual store (check the --db path)", path, (uint64_t)app_id);
		goto fail;
	}
	if (version == 0) {
		kq_error(err, "%s: a SQLite database without a kvmqual schema version, not a kvmqual store"
			      " (check the --db path)", path);
		goto fail;
	}
	if (version > store_schema_version()) {
		kq_error(err, "%s: schema version %" PRId64 " is newer than this kvmqual knows (%d); use a newer"
			      " kvmqual to read it", path, version, store_schema_version());
		goto fail;
	}
	return s;
fail:
	store_close(s);
	return NULL;
}

int store_changed_since_open(const struct store *s)
{
	if (!s->immutable)
		return 0;
	struct stat sb;
	if (store_has_wal(s->path) || stat(s->path, &sb) != 0)
		return 1;
	/* A writer's checkpoint writes into the main file. */
	return sb.st_ino != s->opened.st_ino || sb.st_dev != s->opened.st_dev || sb.st_size != s->opened.st_size ||
	       sb.st_mtim.tv_sec != s->opened.st_mtim.tv_sec || sb.st_mtim.tv_nsec != s->opened.st_mtim.tv_nsec;
}
