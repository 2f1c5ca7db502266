#include "cmd_options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "../lib/util.h"
#include "store.h"

/* getopt_long's value for opts[i]: past every character, so that none is
 * taken for 'h' or '?'. */
#define OPTION_VALUE(i) (256 + (int)(i))

int store_cmd_options(int argc, char **argv, const struct store_cmd_option *opts, const char *usage)
{
	size_t n = 0;
	while (opts[n].name)
		n++;
	/* In the table's order, --help last: getopt names the candidates of
	 * an ambiguous abbreviation in this order. */
	struct option *longopts = kq_xcalloc(n + 2, sizeof(*longopts));
	for (size_t i = 0; i < n; i++)
		longopts[i] = (struct option){ opts[i].name, required_argument, NULL, OPTION_VALUE(i) };
	longopts[n] = (struct option){ "help", no_argument, NULL, 'h' };
	int ch, rc = -1;
	optind = 1; /* each command starts getopt over: its state is global */
	while (rc < 0 && (ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch >= OPTION_VALUE(0)) {
			*opts[ch - OPTION_VALUE(0)].value = optarg;
			continue;
		}
		fprintf(ch == 'h' ? stdout : stderr, usage, STORE_DEFAULT_PATH);
		rc = ch == 'h' ? 0 : 2;
	}
	free(longopts);
	return rc;
}
