/* kvmqual export --format lava on outside input: the first byte picks the
 * part.  0: an export document (a bundle from anywhere) through the report
 * model into the LAVA writer, whose output must hold no signal but its own
 * (every "<" of it starts a line that is one of our signals); 1: a compare
 * document; 2: any bytes as a name, whose id must be valid. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/lava.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > LAVA_ID_MAX)
		return 0;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void check_output(const char *out)
{
	for (const char *line = out; *line;) {
		size_t len = strcspn(line, "\n");
		const char *lt = memchr(line, '<', len), *gt = memchr(line, '>', len);
		if (lt || gt) {
			/* Only our own signals: at the start, closed at the end. */
			if (lt != line || gt != line + len - 1 ||
			    (strncmp(line, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=", 35) &&
			     strncmp(line, "<LAVA_SIGNAL_TESTSET ", 21)))
				__builtin_trap();
			if (memchr(line + 1, '<', len - 1))
				__builtin_trap();
		}
		line += len + (line[len] == '\n');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct kq_err err;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0: {
		struct report r;
		if (report_load(&r, text, size - 1, &err) == 0) {
			char *out = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&out, &len);
			if (!f)
				abort();
			lava_write_run(f, &r, NULL);
			fclose(f);
			check_output(out);
			free(out);
			report_free(&r);
		}
		break;
	}
	case 1: {
		struct lava_compare c;
		if (lava_compare_load(&c, text, size - 1, "fuzz.json", &err) == 0)
			lava_compare_free(&c);
		break;
	}
	default: {
		char *id = lava_id(text);
		if (!id_ok(id))
			__builtin_trap();
		free(id);
	}
	}
	free(text);
	return 0;
}
