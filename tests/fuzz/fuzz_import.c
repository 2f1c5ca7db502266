/* kvmqual import (store/cmd_import.c) on any bytes, into a real store in a
 * temporary directory that already holds a run.  Oracles:
 *  - a refused bundle leaves the store as it was, row for row (a digest of
 *    every table), and its message names the file;
 *  - an accepted bundle's runs are all counted (imported or already there);
 *  - what the store then exports imports again into an empty store: import
 *    never refuses what export writes.
 * After an accepted bundle the store is put back from its first state. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../store/import.h"
#include "../../store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], db[96], input[96], again_db[96], again_json[96];
static char *base_bytes;
static size_t base_len;
static uint64_t base_digest;

/* A small bundle of one run, what a store starts with. */
static const char base_bundle[] =
	"{\"schema\":\"kvmqual.export\",\"version\":1,\"generated_at\":\"2026-12-06T00:00:00Z\",\"database\":\"d.db\","
	"\"schema_version\":2,\"runs\":[{\"id\":4,\"started_at\":\"2026-12-01T00:00:00.000Z\",\"finished_at\":null,"
	"\"status\":\"complete\",\"reason\":null,\"profile\":\"quick\",\"suite_version\":\"0.1.0\",\"qemu_version\":null,"
	"\"guest_image_hash\":null,\"command_line\":\"kvmqual run\",\"pid\":7,\"boot_id\":\"b\","
	"\"host\":{\"arch\":\"aarch64\",\"model\":\"m\",\"soc\":\"s\",\"kernel_release\":\"6.1\",\"page_size\":4096},"
	"\"probe\":null,\"provenance\":null,\"checks\":[{\"id\":\"kvm.device\",\"status\":\"pass\",\"value\":\"\",\"detail\":null,"
	"\"hint\":null}],\"boot_samples\":[{\"accel\":\"kvm\",\"iteration\":0,\"total_ms\":null,\"total_ms_nonfinite\":\"inf\","
	"\"before_kernel_ms\":null,\"kernel_ms\":null,\"userspace_ms\":null,\"flags\":[]}],\"samples\":[{\"accel\":\"native\","
	"\"workload\":\"w\",\"metric\":\"m\",\"unit\":\"u\",\"value\":1.5,\"iteration\":0,\"higher_is_better\":1,"
	"\"flags\":[\"throttled\"],\"conditions\":{\"load\":1}}],\"verdicts\":[],\"speedups\":[]}],\"error\":null}";

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*h ^= ((const unsigned char *)p)[i];
		*h *= 0x100000001b3ull;
	}
}

/* Every row of every table, and the schema version. */
static uint64_t digest(const char *path)
{
	sqlite3 *h;
	uint64_t d = 0xcbf29ce484222325ull;
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		__builtin_trap();
	sqlite3_stmt *tables, *rows;
	if (sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", -1, &tables,
			       NULL) != SQLITE_OK)
		__builtin_trap();
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tables, 0);
		hash_bytes(&d, name, strlen(name) + 1);
		char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY rowid", name);
		if (sqlite3_prepare_v2(h, sql, -1, &rows, NULL) != SQLITE_OK)
			__builtin_trap();
		sqlite3_free(sql);
		while (sqlite3_step(rows) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(rows); c++) {
				int type = sqlite3_column_type(rows, c);
				hash_bytes(&d, &type, sizeof(type));
				const void *b = sqlite3_column_blob(rows, c);
				hash_bytes(&d, b ? b : "", (size_t)sqlite3_column_bytes(rows, c));
			}
		}
		sqlite3_finalize(rows);
	}
	sqlite3_finalize(tables);
	sqlite3_close(h);
	return d;
}

static void write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd))
		abort();
}

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		abort();
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		size_t n = fread(buf + *len, 1, cap - *len, f);
		if (!n)
			break;
		*len += n;
	}
	fclose(f);
	return buf;
}

static void remove_store(const char *path)
{
	char side[128];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static void cleanup(void)
{
	remove_store(db);
	remove_store(again_db);
	unlink(input);
	unlink(again_json);
	rmdir(dir);
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/kq-fuzz-import.XXXXXX", t && strlen(t) < 30 ? t : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(db, sizeof(db), "%s/store.db", dir);
	snprintf(input, sizeof(input), "%s/bundle.json", dir);
	snprintf(again_db, sizeof(again_db), "%s/again.db", dir);
	snprintf(again_json, sizeof(again_json), "%s/again.json", dir);
	atexit(cleanup);
	write_file(input, base_bundle, sizeof(base_bundle) - 1);
	struct import_summary sum;
	struct kq_err err;
	if (store_import_bundle(db, input, "seed", &sum, &err) || sum.imported != 1) {
		fprintf(stderr, "fuzz_import: the seed bundle: %s\n", err.msg);
		abort();
	}
	base_bytes = read_whole(db, &base_len); /* closed: checkpointed, no WAL left */
	base_digest = digest(db);
}

/* What the store holds now, exported, must import into an empty store. */
static void export_imports_again(void)
{
	struct kq_err err;
	struct store *s = store_open(db, NULL, &err);
	if (!s)
		__builtin_trap();
	FILE *out = fopen(again_json, "w");
	if (!out || store_export(s, 0, STORE_FORMAT_JSON, out, &err))
		__builtin_trap();
	fclose(out);
	store_close(s);
	remove_store(again_db);
	struct import_summary sum;
	if (store_import_bundle(again_db, again_json, NULL, &sum, &err)) {
		fprintf(stderr, "fuzz_import: its own export refused: %s\n", err.msg);
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base_bytes)
		setup();
	write_file(input, data, size);
	struct import_summary sum;
	struct kq_err err = { "" };
	int rc = store_import_bundle(db, input, NULL, &sum, &err);
	if (rc) {
		/* Refused: named, and not a row changed. */
		if (!strstr(err.msg, input))
			__builtin_trap();
		if (digest(db) != base_digest)
			__builtin_trap();
		return 0;
	}
	if (sum.imported < 0 || sum.duplicates < 0 || sum.imported + sum.duplicates < 1)
		__builtin_trap();
	if (sum.imported)
		export_imports_again();
	/* Back to the first state for the next input. */
	remove_store(db);
	write_file(db, base_bytes, base_len);
	return 0;
}
