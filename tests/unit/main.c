#include <stdarg.h>
#include <stdlib.h>

#include "test.h"

struct test_case {
	const char *name;
	test_fn fn;
};

static struct test_case cases[512];
static size_t case_count;
static int current_failed;

void test_register(const char *name, test_fn fn)
{
	if (case_count < sizeof(cases) / sizeof(cases[0]))
		cases[case_count++] = (struct test_case){ name, fn };
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	current_failed = 1;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < case_count; i++) {
		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		current_failed = 0;
		cases[i].fn();
		printf("%s unit/%s\n", current_failed ? "FAIL" : "PASS", cases[i].name);
		fflush(stdout);
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
