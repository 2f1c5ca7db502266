/* The schema and its migrations: store/schema.sql, built into kvmqual with
 * the assembler's .incbin (from the top of the source tree, where make
 * runs; the Makefile makes this object depend on the file), followed by a
 * NUL so that it can be used as a string. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

__asm__(".pushsection .rodata\n"
	".global kq_store_schema_sql\n"
	".hidden kq_store_schema_sql\n"
	"kq_store_schema_sql:\n"
	".incbin \"store/schema.sql\"\n"
	".byte 0\n"
	".popsection\n");
extern const char kq_store_schema_sql[];

#define VERSION_MARK "-- version "

/* The next "-- version N: description" line at or after p, at the start of
 * a line; NULL when there is none. */
static const char *next_version(const char *p)
{
	for (;;) {
		if (!strncmp(p, VERSION_MARK, strlen(VERSION_MARK)))
			return p;
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
}

int store_schema_version(void)
{
	int version = 0;
	for (const char *p = next_version(kq_store_schema_sql); p; p = next_version(p + 1))
		version = atoi(p + strlen(VERSION_MARK));
	return version;
}

/* Applies every version of schema.sql newer than `from`, each with its
 * schema_migrations row, inside the caller's transaction. */
static int apply_versions(struct store *s, int64_t from, struct kq_err *err)
{
	int expected = 1;
	for (const char *p = next_version(kq_store_schema_sql); p; expected++) {
		const char *head = p + strlen(VERSION_MARK);
		char *end;
		long version = strtol(head, &end, 10);
		const char *eol = strchr(head, '\n');
		if (version != expected || *end != ':' || !eol)
			return kq_error(err, "%s: the schema built into kvmqual is damaged at version %d"
					     " (store/schema.sql)", s->path, expected);
		const char *body = eol + 1;
		p = next_version(body);
		if (version <= from)
			continue;
		char *description = kq_xasprintf("%.*s", (int)(eol - end - 1), end + 1);
		char *sql = sqlite3_mprintf("%.*s;INSERT INTO schema_migrations (version, description) VALUES (%ld, %Q);"
					    "PRAGMA user_version = %ld;PRAGMA application_id = %d;",
					    (int)(p ? p - body : (long)strlen(body)), body, version,
					    kq_strtrim(description), version, STORE_APPLICATION_ID);
		free(description);
		if (!sql)
			abort();
		char what[64];
		snprintf(what, sizeof(what), "migrating the schema to version %ld", version);
		int rc = store_exec(s, sql, what, err);
		sqlite3_free(sql);
		if (rc)
			return -1;
	}
	return 0;
}

int store_migrate(struct store *s, struct kq_err *err)
{
	const int current = store_schema_version();
	int64_t version, app_id;
	if (store_query_int(s, "PRAGMA user_version", &version, "reading the schema version", err) ||
	    store_query_int(s, "PRAGMA application_id", &app_id, "reading the application id", err))
		return -1;
	if (app_id != 0 && app_id != STORE_APPLICATION_ID)
		return kq_error(err, "%s: a SQLite database of another application (application_id 0x%" PRIx64
			       "), not a kvmqual store", s->path, (uint64_t)app_id);
	if (version > current)
		goto too_new;
	if (version == current)
		return 0;

	/* Another process may be migrating the same file: take the write lock,
	 * then look again. */
	if (store_exec(s, "BEGIN IMMEDIATE", "starting the schema migration", err))
		return -1;
	int64_t tables;
	if (store_query_int(s, "PRAGMA user_version", &version, "reading the schema version", err) ||
	    store_query_int(s, "SELECT count(*) FROM sqlite_schema", &tables, "reading the schema", err))
		goto fail;
	if (version > current) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		goto too_new;
	}
	if (version == 0 && tables > 0) {
		kq_error(err, "%s: a SQLite database with tables but no kvmqual schema version; not a kvmqual"
			      " store (use another --db path)", s->path);
		goto fail;
	}
	if (apply_versions(s, version, err))
		goto fail;
	if (store_exec(s, "COMMIT", "committing the schema migration", err))
		goto fail;
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
too_new:
	return kq_error(err, "%s: schema version %" PRId64 " is newer than this kvmqual knows (%d);"
			     " use a newer kvmqual, or another --db path", s->path, version, current);
}
