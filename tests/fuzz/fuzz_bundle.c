/* The matrix's bundle reader (matrix/sources.c) on any bytes, then, when
 * the bundle was taken, the whole way on: selection, statuses, cells and
 * all four writers, whose outputs must be valid UTF-8 (matrix.json valid
 * JSON).  A bundle that is refused must add no run. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../matrix/matrix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_all(const struct matrix *m)
{
	int (*const writers[])(const struct matrix *, FILE *, struct kq_err *) = {
		matrix_write_json, matrix_write_csv, matrix_write_markdown, matrix_write_html,
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(writers); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		if (!f)
			abort();
		struct kq_err err;
		if (writers[i](m, f, &err))
			__builtin_trap();
		fclose(f);
		/* Every output is valid UTF-8 whatever the bundle held, and
		 * matrix.json is JSON (RFC 8259: no bare inf or nan either). */
		for (const unsigned char *p = (const unsigned char *)buf; *p;) {
			size_t n = kq_utf8_len(p);
			if (!n)
				__builtin_trap();
			p += n;
		}
		if (i == 0) {
			cJSON *doc = cJSON_Parse(buf);
			/* cJSON's parser takes no inf or nan: RFC 8259 numbers only. */
			if (!doc)
				__builtin_trap();
			cJSON_Delete(doc);
		}
		free(buf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct matrix m;
	matrix_init(&m);
	m.select = (enum matrix_select)(size % 3);
	m.select_run = 1;
	m.merge_sources = (int)(size & 4);
	struct kq_err err;
	int rc = matrix_parse_bundle(&m, (const char *)data, size, "fuzz.json", &err);
	if (rc != 0 && m.run_count != 0)
		__builtin_trap(); /* a refused bundle must leave nothing behind */
	if (rc == 0 && matrix_build(&m, &err) == 0) {
		if (m.row_count > m.run_count)
			__builtin_trap();
		write_all(&m);
	}
	matrix_free(&m);
	return 0;
}
