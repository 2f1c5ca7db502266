/* The results store: SQLite in WAL mode, schema migrations keyed by
 * PRAGMA user_version, recovery of runs whose process died, and export.
 * docs/store.md is the reader's guide; this file is the truth. */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* 'kvqs' in the file header: tells a kvmqual store from any other SQLite
 * database, before its schema is even read. */
#define STORE_APPLICATION_ID 0x6b767173

#define NOW_SQL "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"

/* Version 1.  Constraint names appear in SQLite's error text, so they are
 * written to read well there ("CHECK constraint failed: conditions_is_json"). */
static const char schema_v1[] =
	"CREATE TABLE schema_migrations ("
	"  version INTEGER PRIMARY KEY,"
	"  description TEXT NOT NULL,"
	"  applied_at TEXT NOT NULL DEFAULT " NOW_SQL ");"

	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  host_key TEXT NOT NULL UNIQUE,"
	"  arch TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  soc TEXT NOT NULL,"
	"  kernel_release TEXT NOT NULL,"
	"  page_size INTEGER,"
	"  first_seen TEXT NOT NULL DEFAULT " NOW_SQL ");"

	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  started_at TEXT NOT NULL DEFAULT " NOW_SQL ","
	"  finished_at TEXT,"
	"  status TEXT NOT NULL DEFAULT 'running' CONSTRAINT run_status_known CHECK (status IN"
	"    ('running', 'complete', 'incomplete', 'failed', 'interrupted')),"
	"  reason TEXT,"
	"  profile TEXT,"
	"  suite_version TEXT,"
	"  qemu_version TEXT,"
	"  guest_image_hash TEXT,"
	"  command_line TEXT,"
	"  pid INTEGER NOT NULL,"
	"  pid_start INTEGER,"
	"  boot_id TEXT,"
	"  probe_json TEXT CONSTRAINT probe_is_json CHECK (probe_json IS NULL OR json_valid(probe_json)));"
	"CREATE INDEX runs_by_host_time ON runs(host_id, started_at);"
	"CREATE INDEX runs_by_time ON runs(started_at);"
	"CREATE INDEX runs_running ON runs(status) WHERE status = 'running';"

	"CREATE TABLE checks ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  check_id TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  value TEXT,"
	"  detail TEXT,"
	"  hint TEXT);"
	"CREATE INDEX checks_by_run ON checks(run_id);"

	"CREATE TABLE boot_samples ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  accel TEXT NOT NULL CONSTRAINT boot_accel_known CHECK (accel IN ('kvm', 'tcg')),"
	"  iteration INTEGER NOT NULL,"
	"  total_ms REAL NOT NULL,"
	"  before_kernel_ms REAL,"
	"  kernel_ms REAL,"
	"  userspace_ms REAL,"
	"  flags TEXT);"
	"CREATE INDEX boot_samples_by_run ON boot_samples(run_id, accel);"

	"CREATE TABLE samples ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  accel TEXT NOT NULL CONSTRAINT sample_accel_known CHECK (accel IN ('kvm', 'tcg', 'native')),"
	"  workload TEXT NOT NULL,"
	"  metric TEXT NOT NULL,"
	"  unit TEXT NOT NULL,"
	"  value REAL,"
	"  iteration INTEGER NOT NULL,"
	"  higher_is_better INTEGER NOT NULL CHECK (higher_is_better IN (0, 1)),"
	"  flags TEXT,"
	"  conditions TEXT CONSTRAINT conditions_is_json CHECK (conditions IS NULL OR json_valid(conditions)));"
	"CREATE INDEX samples_by_run ON samples(run_id);"

	"CREATE TABLE verdicts ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  target TEXT NOT NULL,"
	"  metric TEXT NOT NULL,"
	"  value REAL,"
	"  threshold REAL,"
	"  op TEXT CONSTRAINT verdict_op_known CHECK (op IN ('<', '<=', '>', '>=')),"
	"  status TEXT NOT NULL CONSTRAINT verdict_status_known CHECK (status IN ('pass', 'fail', 'skip')),"
	"  detail TEXT);"
	"CREATE INDEX verdicts_by_run ON verdicts(run_id);"

	"CREATE TABLE speedups ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  workload TEXT NOT NULL,"
	"  metric TEXT NOT NULL,"
	"  kvm_over_tcg REAL,"
	"  kvm_pct_of_native REAL,"
	"  tcg_pct_of_native REAL,"
	"  UNIQUE (run_id, workload, metric));";

/* Applied in order, each once, inside one transaction with the version
 * bump.  Version 2 is one more line here; never edit an entry once shipped. */
static const struct migration {
	int version;
	const char *description;
	const char *sql;
} migrations[] = {
	{ 1, "initial schema: hosts, runs, checks, boot_samples, samples, verdicts, speedups", schema_v1 },
};

#define STORE_SCHEMA_VERSION 1

enum stmt_id {
	STMT_SAMPLE,
	STMT_BOOT,
	STMT_CHECK,
	STMT_VERDICT,
	STMT_SPEEDUP,
	STMT_COUNT,
};

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_SAMPLE] = "INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration,"
			" higher_is_better, flags, conditions) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[STMT_BOOT] = "INSERT INTO boot_samples (run_id, accel, iteration, total_ms, before_kernel_ms,"
		      " kernel_ms, userspace_ms, flags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STMT_CHECK] = "INSERT INTO checks (run_id, check_id, status, value, detail, hint)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[STMT_VERDICT] = "INSERT INTO verdicts (run_id, target, metric, value, threshold, op, status, detail)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STMT_SPEEDUP] = "INSERT INTO speedups (run_id, workload, metric, kvm_over_tcg, kvm_pct_of_native,"
			 " tcg_pct_of_native) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			 " ON CONFLICT (run_id, workload, metric) DO UPDATE SET kvm_over_tcg = excluded.kvm_over_tcg,"
			 " kvm_pct_of_native = excluded.kvm_pct_of_native, tcg_pct_of_native = excluded.tcg_pct_of_native",
};

struct store {
	sqlite3 *db;
	char *path;
	int batch_depth;
	char boot_id[64];
	sqlite3_stmt *stmt[STMT_COUNT];
};

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

int store_schema_version(void)
{
	return STORE_SCHEMA_VERSION;
}

const char *store_path(const struct store *s)
{
	return s->path;
}

/* The one place that turns SQLite's codes into text for the user. */
static int db_error(const struct store *s, struct kq_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db) & 0xff;
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		return kq_error(err, "%s: not a SQLite database, or a corrupt one (%s: %s)", s->path, what,
				sqlite3_errmsg(s->db));
	if (code == SQLITE_BUSY)
		return kq_error(err, "%s: %s: still locked by another writer after %d s (%s)", s->path, what,
				STORE_BUSY_TIMEOUT_MS / 1000, sqlite3_errmsg(s->db));
	if (code == SQLITE_FULL)
		return kq_error(err, "%s: %s: the disk is full", s->path, what);
	if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM)
		return kq_error(err, "%s: %s: %s (check the file's and its directory's permissions)", s->path,
				what, sqlite3_errmsg(s->db));
	return kq_error(err, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static int exec(struct store *s, const char *sql, const char *what, struct kq_err *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, err, what);
	return 0;
}

/* A statement returning one integer, e.g. a PRAGMA. */
static int query_int(struct store *s, const char *sql, int64_t *out, const char *what, struct kq_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, what);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_error(s, err, what);
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
		if ((rc & 0xff) != SQLITE_BUSY || waited >= STORE_BUSY_TIMEOUT_MS)
			return db_error(s, err, "setting journal_mode=WAL");
		sleep_ms(10);
	}
}

static int migrate(struct store *s, struct kq_err *err)
{
	int64_t version, app_id;
	if (query_int(s, "PRAGMA user_version", &version, "reading the schema version", err) ||
	    query_int(s, "PRAGMA application_id", &app_id, "reading the application id", err))
		return -1;
	if (app_id != 0 && app_id != STORE_APPLICATION_ID)
		return kq_error(err, "%s: a SQLite database of another application (application_id 0x%" PRIx64
			       "), not a kvmqual store", s->path, (uint64_t)app_id);
	if (version > STORE_SCHEMA_VERSION)
		goto too_new;
	if (version == STORE_SCHEMA_VERSION)
		return 0;

	/* Another process may be migrating the same file: take the write lock,
	 * then look again. */
	if (exec(s, "BEGIN IMMEDIATE", "starting the schema migration", err))
		return -1;
	int64_t tables;
	if (query_int(s, "PRAGMA user_version", &version, "reading the schema version", err) ||
	    query_int(s, "SELECT count(*) FROM sqlite_schema", &tables, "reading the schema", err))
		goto fail;
	if (version > STORE_SCHEMA_VERSION) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		goto too_new;
	}
	if (version == 0 && tables > 0) {
		kq_error(err, "%s: a SQLite database with tables but no kvmqual schema version; not a kvmqual"
			      " store (use another --db path)", s->path);
		goto fail;
	}
	for (size_t i = 0; i < KQ_ARRAY_SIZE(migrations); i++) {
		const struct migration *m = &migrations[i];
		if (m->version <= version)
			continue;
		char *sql = sqlite3_mprintf("%s;INSERT INTO schema_migrations (version, description) VALUES (%d, %Q);"
					    "PRAGMA user_version = %d;PRAGMA application_id = %d;",
					    m->sql, m->version, m->description, m->version, STORE_APPLICATION_ID);
		if (!sql)
			abort();
		char what[64];
		snprintf(what, sizeof(what), "migrating the schema to version %d", m->version);
		int rc = exec(s, sql, what, err);
		sqlite3_free(sql);
		if (rc)
			goto fail;
	}
	if (exec(s, "COMMIT", "committing the schema migration", err))
		goto fail;
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
too_new:
	return kq_error(err, "%s: schema version %" PRId64 " is newer than this kvmqual knows (%d);"
			     " use a newer kvmqual, or another --db path", s->path, version, STORE_SCHEMA_VERSION);
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

/* Start time (clock ticks since boot) and state of a process, from
 * /proc/PID/stat; the start time tells a reused pid from the original.
 * Returns 0 if the file was read. */
static int proc_stat(pid_t pid, unsigned long long *start, char *state)
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

static int pid_alive(pid_t pid, long long recorded_start)
{
	if (pid <= 0)
		return 0;
	if (kill(pid, 0) != 0 && errno != EPERM)
		return 0;
	unsigned long long start;
	char state = '?';
	if (proc_stat(pid, &start, &state) == 0) {
		if (state == 'Z' || state == 'X')
			return 0;
		if (recorded_start > 0 && (unsigned long long)recorded_start != start)
			return 0; /* the pid now belongs to another process */
	}
	return 1;
}

static int recover_runs(struct store *s, int *recovered, struct kq_err *err)
{
	sqlite3_stmt *st;
	int64_t *dead = NULL;
	size_t dead_count = 0, dead_cap = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id, pid, pid_start, boot_id FROM runs WHERE status = 'running'", -1,
			       &st, NULL) != SQLITE_OK)
		return db_error(s, err, "looking for unfinished runs");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *boot = (const char *)sqlite3_column_text(st, 3);
		int same_boot = !boot || !s->boot_id[0] || !strcmp(boot, s->boot_id);
		if (same_boot && pid_alive((pid_t)sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2)))
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
		return db_error(s, err, "looking for unfinished runs");
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
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE runs SET status = 'interrupted', reason = 'the process running it died (killed?)',"
			       " finished_at = " NOW_SQL " WHERE id = ?1 AND status = 'running'",
			       -1, &st, NULL) != SQLITE_OK) {
		db_error(s, err, "marking dead runs interrupted");
		store_batch_rollback(s);
		goto fail;
	}
	for (size_t i = 0; i < dead_count; i++) {
		sqlite3_bind_int64(st, 1, dead[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			db_error(s, err, "marking dead runs interrupted");
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

struct store *store_open(const char *path, int *recovered, struct kq_err *err)
{
	if (recovered)
		*recovered = 0;
	if (!path || !*path)
		path = STORE_DEFAULT_PATH;
	struct stat sb;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		kq_error(err, "%s: not a regular file", path);
		return NULL;
	}
	if (make_parent_dirs(path, err))
		return NULL;

	struct store *s = kq_xcalloc(1, sizeof(*s));
	s->path = kq_xstrdup(path);
	read_boot_id(s->boot_id, sizeof(s->boot_id));
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		if (s->db)
			db_error(s, err, "opening");
		else
			kq_error(err, "%s: cannot open: out of memory", path);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* The first statement that reads the file tells garbage from SQLite. */
	if (set_wal(s, err) ||
	    exec(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", "setting pragmas", err) ||
	    migrate(s, err))
		goto fail;
	for (int i = 0; i < STMT_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
		    SQLITE_OK) {
			db_error(s, err, "preparing statements (is the schema damaged?)");
			goto fail;
		}
	}
	if (recover_runs(s, recovered, err))
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
	if (s->batch_depth == 0 && exec(s, "BEGIN IMMEDIATE", "starting a transaction", err))
		return -1;
	s->batch_depth++;
	return 0;
}

int store_batch_commit(struct store *s, struct kq_err *err)
{
	if (s->batch_depth == 0)
		return kq_error(err, "%s: commit without a batch", s->path);
	if (s->batch_depth > 1) {
		s->batch_depth--;
		return 0;
	}
	if (exec(s, "COMMIT", "committing", err)) {
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

/* ---- binding helpers ---- */

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
	if (text && *text)
		sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_double(sqlite3_stmt *st, int i, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* Steps a statement that returns no rows and leaves it ready for reuse. */
static int step_done(struct store *s, sqlite3_stmt *st, const char *what, struct kq_err *err)
{
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc != SQLITE_DONE)
		ret = db_error(s, err, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/* ---- hosts and runs ---- */

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

static int64_t host_id(struct store *s, const struct store_host *host, struct kq_err *err)
{
	char key[17];
	store_host_key(host, key);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO hosts (host_key, arch, model, soc, kernel_release, page_size)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (host_key) DO NOTHING",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "recording the host");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, host->arch ? host->arch : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, host->model ? host->model : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, host->soc ? host->soc : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, host->kernel_release ? host->kernel_release : "", -1, SQLITE_STATIC);
	if (host->page_size > 0)
		sqlite3_bind_int64(st, 6, host->page_size);
	int rc = step_done(s, st, "recording the host", err);
	sqlite3_finalize(st);
	if (rc)
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT id FROM hosts WHERE host_key = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "recording the host");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int64_t id = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else
		db_error(s, err, "recording the host");
	sqlite3_finalize(st);
	return id;
}

int64_t store_begin_run(struct store *s, const struct store_host *host, const struct store_run_info *info,
			struct kq_err *err)
{
	static const struct store_run_info none;
	if (!info)
		info = &none;
	if (!host || !host->arch || !*host->arch)
		return kq_error(err, "%s: a run needs the host's architecture", s->path);
	if (store_batch_begin(s, err))
		return -1;
	int64_t hid = host_id(s, host, err);
	if (hid < 0)
		goto fail;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO runs (host_id, profile, suite_version, qemu_version, guest_image_hash,"
			       " command_line, pid, pid_start, boot_id, probe_json)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			       -1, &st, NULL) != SQLITE_OK) {
		db_error(s, err, "recording the run");
		goto fail;
	}
	unsigned long long start = 0;
	char state;
	sqlite3_bind_int64(st, 1, hid);
	bind_text(st, 2, info->profile);
	bind_text(st, 3, info->suite_version);
	bind_text(st, 4, info->qemu_version);
	bind_text(st, 5, info->guest_image_hash);
	bind_text(st, 6, info->command_line);
	sqlite3_bind_int64(st, 7, getpid());
	if (proc_stat(getpid(), &start, &state) == 0)
		sqlite3_bind_int64(st, 8, (sqlite3_int64)start);
	bind_text(st, 9, s->boot_id);
	bind_text(st, 10, info->probe_json);
	int rc = step_done(s, st, "recording the run", err);
	sqlite3_finalize(st);
	if (rc)
		goto fail;
	int64_t run = sqlite3_last_insert_rowid(s->db);
	if (store_batch_commit(s, err))
		return -1;
	return run;
fail:
	store_batch_rollback(s);
	return -1;
}

int store_finish_run(struct store *s, int64_t run, enum store_run_status status, const char *reason,
		     struct kq_err *err)
{
	if (status == STORE_RUN_RUNNING || !store_run_status_name(status))
		return kq_error(err, "%s: run %" PRId64 ": cannot finish with status %d", s->path, run, (int)status);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE runs SET status = ?2, reason = ?3, finished_at = " NOW_SQL " WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "finishing the run");
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_text(st, 2, store_run_status_name(status), -1, SQLITE_STATIC);
	bind_text(st, 3, reason);
	int rc = step_done(s, st, "finishing the run", err);
	int changed = sqlite3_changes(s->db);
	sqlite3_finalize(st);
	if (rc)
		return -1;
	if (!changed)
		return kq_error(err, "%s: no run %" PRId64, s->path, run);
	return 0;
}

/* ---- results ---- */

int store_add_checks(struct store *s, int64_t run, const struct store_check *checks, size_t count,
		     struct kq_err *err)
{
	if (store_batch_begin(s, err))
		return -1;
	sqlite3_stmt *st = s->stmt[STMT_CHECK];
	for (size_t i = 0; i < count; i++) {
		const struct store_check *c = &checks[i];
		sqlite3_bind_int64(st, 1, run);
		sqlite3_bind_text(st, 2, c->id ? c->id : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->status ? c->status : "", -1, SQLITE_STATIC);
		bind_text(st, 4, c->value);
		bind_text(st, 5, c->detail);
		bind_text(st, 6, c->hint);
		if (step_done(s, st, "storing a check", err)) {
			store_batch_rollback(s);
			return -1;
		}
	}
	return store_batch_commit(s, err);
}

int store_add_boot_sample(struct store *s, int64_t run, const struct store_boot_sample *b, struct kq_err *err)
{
	sqlite3_stmt *st = s->stmt[STMT_BOOT];
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, b->accel);
	sqlite3_bind_int(st, 3, b->iteration);
	bind_double(st, 4, b->total_ms);
	bind_double(st, 5, b->before_kernel_ms);
	bind_double(st, 6, b->kernel_ms);
	bind_double(st, 7, b->userspace_ms);
	bind_text(st, 8, b->flags);
	return step_done(s, st, "storing a boot sample", err);
}

int store_add_sample(struct store *s, int64_t run, const struct store_sample *sample, struct kq_err *err)
{
	sqlite3_stmt *st = s->stmt[STMT_SAMPLE];
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, sample->accel);
	bind_text(st, 3, sample->workload);
	bind_text(st, 4, sample->metric);
	sqlite3_bind_text(st, 5, sample->unit ? sample->unit : "", -1, SQLITE_STATIC);
	bind_double(st, 6, sample->value);
	sqlite3_bind_int(st, 7, sample->iteration);
	sqlite3_bind_int(st, 8, sample->higher_is_better ? 1 : 0);
	bind_text(st, 9, sample->flags);
	bind_text(st, 10, sample->conditions);
	return step_done(s, st, "storing a sample", err);
}

int store_add_verdict(struct store *s, int64_t run, const struct store_verdict *v, struct kq_err *err)
{
	sqlite3_stmt *st = s->stmt[STMT_VERDICT];
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, v->target);
	bind_text(st, 3, v->metric);
	bind_double(st, 4, v->value);
	bind_double(st, 5, v->threshold);
	bind_text(st, 6, v->op);
	bind_text(st, 7, v->status);
	bind_text(st, 8, v->detail);
	return step_done(s, st, "storing a verdict", err);
}

int store_add_speedup(struct store *s, int64_t run, const struct store_speedup *sp, struct kq_err *err)
{
	sqlite3_stmt *st = s->stmt[STMT_SPEEDUP];
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, sp->workload);
	bind_text(st, 3, sp->metric);
	bind_double(st, 4, sp->kvm_over_tcg);
	bind_double(st, 5, sp->kvm_pct_of_native);
	bind_double(st, 6, sp->tcg_pct_of_native);
	return step_done(s, st, "storing a speed-up", err);
}

/* ---- export ---- */

/* The shortest of %.15g..%.17g that reads back as the same double. */
static void format_double(char buf[32], double v)
{
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, 32, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static void json_string(FILE *out, const char *str)
{
	if (!str) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* Flags are stored comma-separated and exported as an array of strings. */
static void json_flags(FILE *out, const char *flags)
{
	fputc('[', out);
	int first = 1;
	while (flags && *flags) {
		size_t len = strcspn(flags, ",");
		if (len) {
			char *one = kq_xasprintf("%.*s", (int)len, flags);
			if (!first)
				fputc(',', out);
			json_string(out, kq_strtrim(one));
			free(one);
			first = 0;
		}
		flags += len;
		if (*flags == ',')
			flags++;
	}
	fputc(']', out);
}

/* One column of the current row as a JSON value.  Columns named like the
 * JSON documents they hold are written as they are (the schema's CHECKs
 * and json() in the query make them valid, minified JSON). */
static void json_value(FILE *out, sqlite3_stmt *st, int col)
{
	const char *name = sqlite3_column_name(st, col);
	if (!strcmp(name, "flags")) {
		json_flags(out, (const char *)sqlite3_column_text(st, col));
		return;
	}
	char num[32];
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		fputs("null", out);
		break;
	case SQLITE_INTEGER:
		fprintf(out, "%lld", (long long)sqlite3_column_int64(st, col));
		break;
	case SQLITE_FLOAT:
		format_double(num, sqlite3_column_double(st, col));
		fputs(num, out);
		break;
	default:
		if (!strcmp(name, "conditions") || !strcmp(name, "probe"))
			fputs((const char *)sqlite3_column_text(st, col), out);
		else
			json_string(out, (const char *)sqlite3_column_text(st, col));
	}
}

static void json_members(FILE *out, sqlite3_stmt *st, int from, int to)
{
	for (int col = from; col < to; col++) {
		if (col > from)
			fputc(',', out);
		json_string(out, sqlite3_column_name(st, col));
		fputc(':', out);
		json_value(out, st, col);
	}
}

/* "name":[{...},...] for every row of a per-run query. */
static int json_rows(struct store *s, FILE *out, const char *name, sqlite3_stmt *st, int64_t run,
		     struct kq_err *err)
{
	fprintf(out, ",\n\"%s\":[", name);
	sqlite3_bind_int64(st, 1, run);
	int rc, rows = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fputs(rows++ ? ",\n{" : "\n{", out);
		json_members(out, st, 0, sqlite3_column_count(st));
		fputc('}', out);
	}
	sqlite3_reset(st);
	fputc(']', out);
	if (rc != SQLITE_DONE)
		return db_error(s, err, "exporting");
	return 0;
}

enum { RUN_COLS = 12, HOST_COLS = 6 };
static const char run_query[] =
	"SELECT r.id, r.started_at, r.finished_at, r.status, r.reason, r.profile, r.suite_version,"
	" r.qemu_version, r.guest_image_hash, r.command_line, r.pid, r.boot_id,"
	" h.host_key AS key, h.arch, h.model, h.soc, h.kernel_release, h.page_size,"
	" json(r.probe_json) AS probe"
	" FROM runs r JOIN hosts h ON h.id = r.host_id WHERE ?1 = 0 OR r.id = ?1 ORDER BY r.id";

static const char *const child_queries[][2] = {
	{ "checks", "SELECT check_id AS id, status, value, detail, hint FROM checks WHERE run_id = ?1 ORDER BY id" },
	{ "boot_samples", "SELECT accel, iteration, total_ms, before_kernel_ms, kernel_ms, userspace_ms, flags"
			  " FROM boot_samples WHERE run_id = ?1 ORDER BY id" },
	{ "samples", "SELECT accel, workload, metric, unit, value, iteration, higher_is_better, flags,"
		     " json(conditions) AS conditions FROM samples WHERE run_id = ?1 ORDER BY id" },
	{ "verdicts", "SELECT target, metric, value, threshold, op, status, detail FROM verdicts"
		      " WHERE run_id = ?1 ORDER BY id" },
	{ "speedups", "SELECT workload, metric, kvm_over_tcg, kvm_pct_of_native, tcg_pct_of_native"
		      " FROM speedups WHERE run_id = ?1 ORDER BY id" },
};

static int export_json(struct store *s, int64_t run, FILE *out, struct kq_err *err)
{
	sqlite3_stmt *runs = NULL, *child[KQ_ARRAY_SIZE(child_queries)] = { 0 };
	int ret = -1;
	if (sqlite3_prepare_v2(s->db, run_query, -1, &runs, NULL) != SQLITE_OK)
		goto db_fail;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(child_queries); i++)
		if (sqlite3_prepare_v2(s->db, child_queries[i][1], -1, &child[i], NULL) != SQLITE_OK)
			goto db_fail;

	char when[32];
	time_t now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(out, "{\"schema\":\"%s\",\"version\":%d,\"generated_at\":\"%s\",\"database\":", STORE_EXPORT_SCHEMA,
		STORE_EXPORT_VERSION, when);
	json_string(out, s->path);
	fprintf(out, ",\"schema_version\":%d,\n\"runs\":[", STORE_SCHEMA_VERSION);
	sqlite3_bind_int64(runs, 1, run);
	int rc, count = 0;
	while ((rc = sqlite3_step(runs)) == SQLITE_ROW) {
		fputs(count++ ? ",\n{" : "\n{", out);
		json_members(out, runs, 0, RUN_COLS);
		fputs(",\"host\":{", out);
		json_members(out, runs, RUN_COLS, RUN_COLS + HOST_COLS);
		fputs("},\n", out);
		json_members(out, runs, RUN_COLS + HOST_COLS, RUN_COLS + HOST_COLS + 1);
		int64_t id = sqlite3_column_int64(runs, 0);
		for (size_t i = 0; i < KQ_ARRAY_SIZE(child_queries); i++)
			if (json_rows(s, out, child_queries[i][0], child[i], id, err))
				goto out;
		fputc('}', out);
	}
	if (rc != SQLITE_DONE)
		goto db_fail;
	fputs("],\n\"error\":null}\n", out);
	ret = 0;
	goto out;
db_fail:
	db_error(s, err, "exporting");
out:
	sqlite3_finalize(runs);
	for (size_t i = 0; i < KQ_ARRAY_SIZE(child_queries); i++)
		sqlite3_finalize(child[i]);
	return ret;
}

void store_csv_field(FILE *out, const char *field)
{
	if (!field)
		return;
	if (!strpbrk(field, ",\"\r\n")) {
		fputs(field, out);
		return;
	}
	fputc('"', out);
	for (const char *p = field; *p; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

static int export_csv(struct store *s, int64_t run, FILE *out, struct kq_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT s.run_id, h.host_key, h.arch, r.started_at, s.accel, s.workload, s.metric, s.unit,"
			       " s.value, s.iteration, s.higher_is_better, s.flags, json(s.conditions) AS conditions"
			       " FROM samples s JOIN runs r ON r.id = s.run_id JOIN hosts h ON h.id = r.host_id"
			       " WHERE ?1 = 0 OR s.run_id = ?1 ORDER BY s.run_id, s.id",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "exporting");
	int cols = sqlite3_column_count(st);
	for (int col = 0; col < cols; col++) {
		if (col)
			fputc(',', out);
		store_csv_field(out, sqlite3_column_name(st, col));
	}
	fputc('\n', out);
	sqlite3_bind_int64(st, 1, run);
	int rc;
	char num[32];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int col = 0; col < cols; col++) {
			if (col)
				fputc(',', out);
			switch (sqlite3_column_type(st, col)) {
			case SQLITE_NULL:
				break;
			case SQLITE_INTEGER:
				fprintf(out, "%lld", (long long)sqlite3_column_int64(st, col));
				break;
			case SQLITE_FLOAT:
				format_double(num, sqlite3_column_double(st, col));
				fputs(num, out);
				break;
			default:
				store_csv_field(out, (const char *)sqlite3_column_text(st, col));
			}
		}
		fputc('\n', out);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(s, err, "exporting");
	return 0;
}

int store_export(struct store *s, int64_t run, enum store_format format, FILE *out, struct kq_err *err)
{
	/* One read transaction: a run being written meanwhile is seen whole or
	 * not at all, and writers are not blocked (WAL). */
	int own_txn = s->batch_depth == 0;
	if (own_txn && exec(s, "BEGIN", "starting the export", err))
		return -1;
	int ret = 0;
	if (run > 0) {
		int64_t exists;
		char *sql = sqlite3_mprintf("SELECT count(*) FROM runs WHERE id = %lld", (long long)run);
		if (!sql)
			abort();
		ret = query_int(s, sql, &exists, "exporting", err);
		sqlite3_free(sql);
		if (!ret && !exists)
			ret = kq_error(err, "%s: no run %" PRId64, s->path, run);
	}
	if (!ret)
		ret = format == STORE_FORMAT_CSV ? export_csv(s, run, out, err) : export_json(s, run, out, err);
	if (own_txn)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (!ret && (fflush(out) != 0 || ferror(out)))
		ret = kq_error(err, "%s: writing the export: %s", s->path, strerror(errno));
	return ret;
}

/* ---- for kvmqual report (reports/): the latest run, a host's history ---- */

int64_t store_latest_run(struct store *s, struct kq_err *err)
{
	int64_t id;
	if (query_int(s, "SELECT coalesce(max(id), 0) FROM runs WHERE status != 'running'", &id,
		      "looking for the latest run", err))
		return -1;
	return id;
}

/* The median of sorted values, as the runner judges them. */
static double sorted_median(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int store_history(struct store *s, const char *host_key, const char *const *names, size_t count,
		  int64_t up_to_run, store_history_fn fn, void *ctx, struct kq_err *err)
{
	if (!count)
		return 0;
	/* ?1 host, ?2 last run, ?3... the names: one placeholder each. */
	struct kq_buf in;
	kq_buf_init(&in);
	for (size_t i = 0; i < count; i++)
		kq_buf_printf(&in, "%s?%zu", i ? ", " : "", i + 3);
	char *sql = kq_xasprintf(
		"SELECT run, started_at, accel, name, value FROM ("
		" SELECT r.id AS run, r.started_at, s.accel, s.workload || '.' || s.metric AS name, s.value"
		"  FROM hosts h JOIN runs r ON r.host_id = h.id JOIN samples s ON s.run_id = r.id"
		"  WHERE h.host_key = ?1 AND (?2 = 0 OR r.id <= ?2) AND s.value IS NOT NULL"
		"   AND s.workload || '.' || s.metric IN (%s)"
		" UNION ALL"
		" SELECT r.id, r.started_at, b.accel, 'boot.total_ms', b.total_ms"
		"  FROM hosts h JOIN runs r ON r.host_id = h.id JOIN boot_samples b ON b.run_id = r.id"
		"  WHERE h.host_key = ?1 AND (?2 = 0 OR r.id <= ?2) AND 'boot.total_ms' IN (%s))"
		" ORDER BY run, name, accel, value",
		in.data, in.data);
	kq_buf_free(&in);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return db_error(s, err, "reading the host's history");
	sqlite3_bind_text(st, 1, host_key ? host_key : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, up_to_run);
	for (size_t i = 0; i < count; i++)
		sqlite3_bind_text(st, (int)i + 3, names[i] ? names[i] : "", -1, SQLITE_STATIC);

	/* Rows come grouped by (run, name, accel), values sorted: each group
	 * is one point. */
	double *values = NULL;
	size_t n = 0, cap = 0;
	char *started = NULL, *accel = NULL, *name = NULL;
	int64_t run = 0;
	int ret = 0, stopped = 0;
	for (;;) {
		rc = sqlite3_step(st);
		int row = rc == SQLITE_ROW;
		const char *r_accel = row ? (const char *)sqlite3_column_text(st, 2) : NULL;
		const char *r_name = row ? (const char *)sqlite3_column_text(st, 3) : NULL;
		int64_t r_run = row ? sqlite3_column_int64(st, 0) : 0;
		int same = row && n && r_run == run && r_accel && r_name && !strcmp(r_accel, accel) &&
			   !strcmp(r_name, name);
		if (n && !same) {
			struct store_history_point p = { .run = run, .started_at = started, .accel = accel,
							 .name = name, .median = sorted_median(values, n),
							 .samples = (int)n };
			n = 0;
			if (fn(&p, ctx)) {
				stopped = 1;
				break;
			}
		}
		if (!row)
			break;
		if (!n) {
			free(started);
			free(accel);
			free(name);
			const char *r_started = (const char *)sqlite3_column_text(st, 1);
			started = kq_xstrdup(r_started ? r_started : "");
			accel = kq_xstrdup(r_accel ? r_accel : "");
			name = kq_xstrdup(r_name ? r_name : "");
			run = r_run;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			values = kq_xrealloc(values, cap * sizeof(*values));
		}
		values[n++] = sqlite3_column_double(st, 4);
	}
	if (!stopped && rc != SQLITE_DONE)
		ret = db_error(s, err, "reading the host's history");
	sqlite3_finalize(st);
	free(values);
	free(started);
	free(accel);
	free(name);
	return ret;
}

/* ---- for kvmqual compare (runners/cmd_compare.c): runs and their samples ---- */

static char *column_dup(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return kq_xstrdup(t ? t : "");
}

static const char identity_columns[] =
	"r.id, r.started_at, r.status, r.reason, h.host_key, h.arch, h.model, h.soc, h.kernel_release,"
	" h.page_size, r.profile, r.suite_version, r.qemu_version, r.guest_image_hash"
	" FROM runs r JOIN hosts h ON h.id = r.host_id";

static void identity_from_row(sqlite3_stmt *st, struct store_run_identity *id)
{
	id->id = sqlite3_column_int64(st, 0);
	id->started_at = column_dup(st, 1);
	id->status = column_dup(st, 2);
	id->reason = column_dup(st, 3);
	id->host_key = column_dup(st, 4);
	id->arch = column_dup(st, 5);
	id->model = column_dup(st, 6);
	id->soc = column_dup(st, 7);
	id->kernel_release = column_dup(st, 8);
	id->page_size = (long)sqlite3_column_int64(st, 9);
	id->profile = column_dup(st, 10);
	id->suite_version = column_dup(st, 11);
	id->qemu_version = column_dup(st, 12);
	id->guest_image_hash = column_dup(st, 13);
}

void store_run_identity_free(struct store_run_identity *id)
{
	if (!id)
		return;
	char **fields[] = { &id->started_at, &id->status, &id->reason, &id->host_key, &id->arch, &id->model,
			    &id->soc, &id->kernel_release, &id->profile, &id->suite_version,
			    &id->qemu_version, &id->guest_image_hash };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(fields); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
}

void store_run_identities_free(struct store_run_identity *runs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		store_run_identity_free(&runs[i]);
	free(runs);
}

int store_run_identity(struct store *s, int64_t run, struct store_run_identity *id, struct kq_err *err)
{
	memset(id, 0, sizeof(*id));
	char *sql = kq_xasprintf("SELECT %s WHERE r.id = ?1", identity_columns);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return db_error(s, err, "reading a run");
	sqlite3_bind_int64(st, 1, run);
	rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW)
		identity_from_row(st, id);
	else if (rc == SQLITE_DONE) {
		kq_error(err, "%s: there is no run %lld", s->path, (long long)run);
		ret = 1;
	} else
		ret = db_error(s, err, "reading a run");
	sqlite3_finalize(st);
	return ret;
}

int store_list_runs(struct store *s, const struct store_run_identity *machine, int64_t before, size_t limit,
		    struct store_run_identity **runs, size_t *count, struct kq_err *err)
{
	*runs = NULL;
	*count = 0;
	char *sql = kq_xasprintf("SELECT %s WHERE (?1 = 0 OR r.id < ?1)"
				 " AND (?2 IS NULL OR (h.arch = ?2 AND h.model = ?3 AND h.soc = ?4))"
				 " ORDER BY r.id DESC LIMIT ?5",
				 identity_columns);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return db_error(s, err, "listing runs");
	sqlite3_bind_int64(st, 1, before);
	if (machine) {
		sqlite3_bind_text(st, 2, machine->arch ? machine->arch : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, machine->model ? machine->model : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, machine->soc ? machine->soc : "", -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 5, limit ? (int64_t)limit : -1);
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*count == cap)
			*runs = kq_xrealloc(*runs, (cap = cap ? cap * 2 : 16) * sizeof(**runs));
		identity_from_row(st, &(*runs)[(*count)++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_run_identities_free(*runs, *count);
		*runs = NULL;
		*count = 0;
		return db_error(s, err, "listing runs");
	}
	return 0;
}

void store_sample_groups_free(struct store_sample_group *groups, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct store_sample_group *g = &groups[i];
		free(g->accel);
		free(g->workload);
		free(g->metric);
		free(g->unit);
		for (size_t k = 0; k < g->count; k++)
			free(g->flags[k]);
		free(g->flags);
		free(g->values);
	}
	free(groups);
}

int store_run_samples(struct store *s, int64_t run, struct store_sample_group **groups, size_t *count,
		      struct kq_err *err)
{
	*groups = NULL;
	*count = 0;
	static const char sql[] =
		"SELECT accel, workload, metric, unit, higher_is_better, value, flags FROM ("
		" SELECT accel, workload, metric, coalesce(unit, '') AS unit, higher_is_better, value, flags,"
		"  iteration, id FROM samples WHERE run_id = ?1 AND value IS NOT NULL"
		" UNION ALL"
		" SELECT accel, 'boot', 'total_ms', 'ms', 0, total_ms, flags, iteration, id"
		"  FROM boot_samples WHERE run_id = ?1 AND total_ms IS NOT NULL)"
		" ORDER BY accel, workload, metric, iteration, id";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "reading a run's samples");
	sqlite3_bind_int64(st, 1, run);
	size_t cap = 0, vcap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *accel = (const char *)sqlite3_column_text(st, 0);
		const char *workload = (const char *)sqlite3_column_text(st, 1);
		const char *metric = (const char *)sqlite3_column_text(st, 2);
		accel = accel ? accel : "";
		workload = workload ? workload : "";
		metric = metric ? metric : "";
		struct store_sample_group *g = *count ? &(*groups)[*count - 1] : NULL;
		if (!g || strcmp(g->accel, accel) || strcmp(g->workload, workload) || strcmp(g->metric, metric)) {
			if (*count == cap)
				*groups = kq_xrealloc(*groups, (cap = cap ? cap * 2 : 16) * sizeof(**groups));
			g = &(*groups)[(*count)++];
			memset(g, 0, sizeof(*g));
			g->accel = kq_xstrdup(accel);
			g->workload = kq_xstrdup(workload);
			g->metric = kq_xstrdup(metric);
			g->unit = column_dup(st, 3);
			g->higher_is_better = sqlite3_column_int(st, 4) != 0;
			vcap = 0;
		}
		if (g->count == vcap) {
			vcap = vcap ? vcap * 2 : 8;
			g->values = kq_xrealloc(g->values, vcap * sizeof(*g->values));
			g->flags = kq_xrealloc(g->flags, vcap * sizeof(*g->flags));
		}
		const char *flags = (const char *)sqlite3_column_text(st, 6);
		g->values[g->count] = sqlite3_column_double(st, 5);
		g->flags[g->count++] = flags && *flags ? kq_xstrdup(flags) : NULL;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_sample_groups_free(*groups, *count);
		*groups = NULL;
		*count = 0;
		return db_error(s, err, "reading a run's samples");
	}
	return 0;
}

/* ---- for kvmqual matrix (matrix/): reading another host's store ---- */

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
		kq_error(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		kq_error(err, "%s: not a regular file", path);
		return NULL;
	}
	if (sb.st_size == 0) {
		kq_error(err, "%s: an empty file, not a kvmqual store", path);
		return NULL;
	}
	struct store *s = kq_xcalloc(1, sizeof(*s));
	s->path = kq_xstrdup(path);
	/* Without a write-ahead log nobody has the file open and everything is
	 * in the main file: read it as immutable, which needs no shared-memory
	 * file (so a read-only directory works) and creates nothing beside it.
	 * With one, a writer may be at work: read through the log, read-only. */
	char *uri = readonly_uri(path, !store_has_wal(path));
	int rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	sqlite3_free(uri);
	if (rc != SQLITE_OK) {
		if (s->db)
			db_error(s, err, "opening read-only");
		else
			kq_error(err, "%s: cannot open: out of memory", path);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	int64_t version, app_id;
	if (exec(s, "PRAGMA query_only = ON", "setting query_only", err) ||
	    query_int(s, "PRAGMA application_id", &app_id, "reading the application id", err) ||
	    query_int(s, "PRAGMA user_version", &version, "reading the schema version", err))
		goto fail;
	if (app_id != 0 && app_id != STORE_APPLICATION_ID) {
		kq_error(err, "%s: a SQLite database of another application (application_id 0x%" PRIx64
			      "), not a kvmqual store", path, (uint64_t)app_id);
		goto fail;
	}
	if (version == 0) {
		kq_error(err, "%s: a SQLite database without a kvmqual schema version; not a kvmqual store", path);
		goto fail;
	}
	if (version > STORE_SCHEMA_VERSION) {
		kq_error(err, "%s: schema version %" PRId64 " is newer than this kvmqual knows (%d); use a newer"
			      " kvmqual to read it", path, version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	return s;
fail:
	store_close(s);
	return NULL;
}

/* The runs wanted per host, by id.  "KVM worked" (the matrix's qualifying
 * run) is: finished complete or incomplete, with at least one KVM boot. */
static const char pick_sql_latest[] =
	"SELECT coalesce("
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id AND r.status != 'running'"
	"   ORDER BY r.started_at DESC, r.id DESC LIMIT 1),"
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id ORDER BY r.started_at DESC, r.id DESC LIMIT 1)),"
	" NULL FROM hosts h ORDER BY h.id";
static const char pick_sql_latest_kvm[] =
	"SELECT coalesce("
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id AND r.status != 'running'"
	"   ORDER BY r.started_at DESC, r.id DESC LIMIT 1),"
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id ORDER BY r.started_at DESC, r.id DESC LIMIT 1)),"
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id AND r.status IN ('complete', 'incomplete')"
	"   AND EXISTS (SELECT 1 FROM boot_samples b WHERE b.run_id = r.id AND b.accel = 'kvm')"
	"   ORDER BY r.started_at DESC, r.id DESC LIMIT 1)"
	" FROM hosts h ORDER BY h.id";
static const char pick_sql_run[] = "SELECT id, NULL FROM runs WHERE id = ?1";
static const char pick_sql_all[] = "SELECT id, NULL FROM runs ORDER BY id";

static int pick_runs(struct store *s, enum store_pick pick, int64_t run, int64_t **ids, size_t *count,
		     struct kq_err *err)
{
	const char *sql = pick == STORE_PICK_LATEST ? pick_sql_latest
			  : pick == STORE_PICK_LATEST_KVM ? pick_sql_latest_kvm
			  : pick == STORE_PICK_RUN ? pick_sql_run : pick_sql_all;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "picking runs");
	if (pick == STORE_PICK_RUN)
		sqlite3_bind_int64(st, 1, run);
	size_t cap = 0;
	*ids = NULL;
	*count = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int col = 0; col < 2; col++) {
			if (sqlite3_column_type(st, col) == SQLITE_NULL)
				continue;
			int64_t id = sqlite3_column_int64(st, col);
			if (col == 1 && id == sqlite3_column_int64(st, 0))
				continue;
			if (*count == cap) {
				cap = cap ? cap * 2 : 64;
				*ids = kq_xrealloc(*ids, cap * sizeof(**ids));
			}
			(*ids)[(*count)++] = id;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		*count = 0;
		return db_error(s, err, "picking runs");
	}
	return 0;
}

static const char *column_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static double column_double(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? STORE_UNKNOWN : sqlite3_column_double(st, col);
}

enum { READ_RUN, READ_CHECKS, READ_BOOTS, READ_SAMPLES, READ_VERDICTS, READ_SPEEDUPS, READ_COUNT };
static const char *const read_sql[READ_COUNT] = {
	[READ_RUN] = "SELECT r.id, r.started_at, r.finished_at, r.status, r.reason, r.profile, r.suite_version,"
		     " r.qemu_version, r.guest_image_hash, r.command_line, r.pid, r.boot_id, r.probe_json,"
		     " h.host_key, h.arch, h.model, h.soc, h.kernel_release, h.page_size"
		     " FROM runs r JOIN hosts h ON h.id = r.host_id WHERE r.id = ?1",
	[READ_CHECKS] = "SELECT check_id, status, value, detail, hint FROM checks WHERE run_id = ?1 ORDER BY id",
	[READ_BOOTS] = "SELECT accel, iteration, total_ms, before_kernel_ms, kernel_ms, userspace_ms, flags"
		       " FROM boot_samples WHERE run_id = ?1 ORDER BY id",
	[READ_SAMPLES] = "SELECT accel, workload, metric, unit, value, iteration, higher_is_better, flags,"
			 " conditions FROM samples WHERE run_id = ?1 ORDER BY id",
	[READ_VERDICTS] = "SELECT target, metric, value, threshold, op, status, detail FROM verdicts"
			  " WHERE run_id = ?1 ORDER BY id",
	[READ_SPEEDUPS] = "SELECT workload, metric, kvm_over_tcg, kvm_pct_of_native, tcg_pct_of_native"
			  " FROM speedups WHERE run_id = ?1 ORDER BY id",
};

/* Calls the visitor for one row of one of the read_sql statements.  Returns
 * the callback's answer (0 = go on). */
static int visit_row(int which, sqlite3_stmt *st, const struct store_run_visitor *v, void *ctx)
{
	switch (which) {
	case READ_RUN: {
		struct store_run_record r = {
			.id = sqlite3_column_int64(st, 0),
			.started_at = column_text(st, 1),
			.finished_at = column_text(st, 2),
			.status = column_text(st, 3),
			.reason = column_text(st, 4),
			.pid = sqlite3_column_int64(st, 10),
			.boot_id = column_text(st, 11),
			.info = { .profile = column_text(st, 5), .suite_version = column_text(st, 6),
				  .qemu_version = column_text(st, 7), .guest_image_hash = column_text(st, 8),
				  .command_line = column_text(st, 9), .probe_json = column_text(st, 12) },
			.host = { .arch = column_text(st, 14), .model = column_text(st, 15), .soc = column_text(st, 16),
				  .kernel_release = column_text(st, 17), .page_size = (long)sqlite3_column_int64(st, 18) },
		};
		snprintf(r.host_key, sizeof(r.host_key), "%s", column_text(st, 13) ? column_text(st, 13) : "");
		return v->run ? v->run(&r, ctx) : 0;
	}
	case READ_CHECKS: {
		struct store_check c = { column_text(st, 0), column_text(st, 1), column_text(st, 2),
					 column_text(st, 3), column_text(st, 4) };
		return v->check(&c, ctx);
	}
	case READ_BOOTS: {
		struct store_boot_sample b = { .accel = column_text(st, 0), .iteration = sqlite3_column_int(st, 1),
					       .total_ms = column_double(st, 2), .before_kernel_ms = column_double(st, 3),
					       .kernel_ms = column_double(st, 4), .userspace_ms = column_double(st, 5),
					       .flags = column_text(st, 6) };
		return v->boot_sample(&b, ctx);
	}
	case READ_SAMPLES: {
		struct store_sample sm = { .accel = column_text(st, 0), .workload = column_text(st, 1),
					   .metric = column_text(st, 2), .unit = column_text(st, 3),
					   .value = column_double(st, 4), .iteration = sqlite3_column_int(st, 5),
					   .higher_is_better = sqlite3_column_int(st, 6), .flags = column_text(st, 7),
					   .conditions = column_text(st, 8) };
		return v->sample(&sm, ctx);
	}
	case READ_VERDICTS: {
		struct store_verdict vd = { .target = column_text(st, 0), .metric = column_text(st, 1),
					    .value = column_double(st, 2), .threshold = column_double(st, 3),
					    .op = column_text(st, 4), .status = column_text(st, 5),
					    .detail = column_text(st, 6) };
		return v->verdict(&vd, ctx);
	}
	default: {
		struct store_speedup sp = { .workload = column_text(st, 0), .metric = column_text(st, 1),
					    .kvm_over_tcg = column_double(st, 2),
					    .kvm_pct_of_native = column_double(st, 3),
					    .tcg_pct_of_native = column_double(st, 4) };
		return v->speedup(&sp, ctx);
	}
	}
}

static int read_one_run(struct store *s, sqlite3_stmt **st, int64_t run, const struct store_run_visitor *v,
			void *ctx, struct kq_err *err)
{
	for (int which = 0; which < READ_COUNT; which++) {
		if (!st[which])
			continue;
		sqlite3_bind_int64(st[which], 1, run);
		int rc, stop = 0;
		while (!stop && (rc = sqlite3_step(st[which])) == SQLITE_ROW)
			stop = visit_row(which, st[which], v, ctx);
		sqlite3_reset(st[which]);
		if (stop)
			return -1;
		if (rc != SQLITE_DONE)
			return db_error(s, err, "reading a run");
	}
	return 0;
}

int store_read_runs(struct store *s, enum store_pick pick, int64_t run, const struct store_run_visitor *v,
		    void *ctx, struct kq_err *err)
{
	/* One read transaction: the runs picked are the runs read, whatever a
	 * writer does meanwhile. */
	int own_txn = s->batch_depth == 0;
	if (own_txn && exec(s, "BEGIN", "starting to read", err))
		return -1;
	sqlite3_stmt *st[READ_COUNT] = { 0 };
	int64_t *ids = NULL;
	size_t count = 0;
	int ret = pick_runs(s, pick, run, &ids, &count, err);
	const int wanted[READ_COUNT] = {
		[READ_RUN] = 1, [READ_CHECKS] = !!v->check, [READ_BOOTS] = !!v->boot_sample,
		[READ_SAMPLES] = !!v->sample, [READ_VERDICTS] = !!v->verdict, [READ_SPEEDUPS] = !!v->speedup,
	};
	for (int which = 0; !ret && which < READ_COUNT; which++) {
		if (!wanted[which])
			continue; /* nobody wants these rows: do not even read them */
		if (sqlite3_prepare_v2(s->db, read_sql[which], -1, &st[which], NULL) != SQLITE_OK)
			ret = db_error(s, err, "reading runs (is the schema damaged?)");
	}
	for (size_t i = 0; !ret && i < count; i++)
		ret = read_one_run(s, st, ids[i], v, ctx, err);
	for (int which = 0; which < READ_COUNT; which++)
		sqlite3_finalize(st[which]);
	free(ids);
	if (own_txn)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return ret;
}
