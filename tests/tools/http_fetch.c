/* http_fetch URL DIR: runs http_fetch_collection() (matrix/http.h) as
 * kvmqual matrix --in URL does, prints the number of files fetched; exit 1
 * with the error on stderr when it fails.  For tests/sections/publish.sh. */
#include <stdio.h>

#include "../../matrix/http.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: http_fetch URL DIR\n");
		return 2;
	}
	struct kq_err err;
	int n = http_fetch_collection(argv[1], argv[2], &err);
	if (n < 0) {
		fprintf(stderr, "http_fetch: %s\n", err.msg);
		return 1;
	}
	printf("%d\n", n);
	return 0;
}
