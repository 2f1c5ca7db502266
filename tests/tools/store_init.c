/* store_init FILE: an empty kvmqual store at the schema this kvmqual
 * creates, made by the store's own code (store_open), for tests that then
 * write rows with sqlite3.  The readers (export, report, compare) never
 * create a store, so tests cannot make one with them. */
#include <stdio.h>

#include "../../store/store.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: store_init FILE\n");
		return 2;
	}
	struct kq_err err;
	struct store *s = store_open(argv[1], NULL, &err);
	if (!s) {
		fprintf(stderr, "store_init: %s\n", err.msg);
		return 1;
	}
	store_close(s);
	return 0;
}
