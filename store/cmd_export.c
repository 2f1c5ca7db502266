/* kvmqual export: the samples and verdicts of a run (or of all runs) from
 * the store, as JSON (schema kvmqual.export) or CSV. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/number.h"
#include "cmd_options.h"
#include "store.h"

int cmd_export(int argc, char **argv)
{
	const char *db = STORE_DEFAULT_PATH, *format = "json", *run = "all";
	const struct store_cmd_option opts[] = {
		{ "db", &db }, { "format", &format }, { "run", &run }, { NULL, NULL },
	};
	int done = store_cmd_options(argc, argv, opts,
				     "usage: kvmqual export [--db FILE] [--run ID|all] [--format json|csv]\n"
				     "Writes the runs in the database (default %s) to standard output.\n"
				     "--format lava writes one run as LAVA test results: kvmqual export --format lava --help.\n");
	if (done >= 0)
		return done;
	/* An operand is a mistake, most often a run id without --run: taken
	 * silently, it would export every run instead of the one meant. */
	if (optind < argc) {
		fprintf(stderr, "kvmqual export: unexpected argument '%s' (a run is chosen with --run ID)\n", argv[optind]);
		return 2;
	}
	enum store_format f;
	if (!strcmp(format, "json"))
		f = STORE_FORMAT_JSON;
	else if (!strcmp(format, "csv"))
		f = STORE_FORMAT_CSV;
	else {
		fprintf(stderr, "kvmqual export: --format takes json, csv or lava, not '%s'\n", format);
		return 2;
	}
	long long id = 0;
	if (strcmp(run, "all")) {
		if (kq_number_int(run, 1, INT64_MAX, &id)) {
			fprintf(stderr, "kvmqual export: --run takes a run id or 'all', not '%s'\n", run);
			return 2;
		}
	}
	struct kq_err err;
	/* A reader: nothing in the file changes, nothing is created (a typo in
	 * --db is an error, not a new empty store), a read-only store in a
	 * read-only directory reads. */
	struct store *s = store_open_readonly(db, &err);
	if (!s) {
		fprintf(stderr, "kvmqual export: %s\n", err.msg);
		return 2;
	}
	int rc = store_export(s, id, f, stdout, &err);
	if (rc)
		fprintf(stderr, "kvmqual export: %s\n", err.msg);
	else if (store_changed_since_open(s)) {
		/* Written as it was read: what a writer's checkpoint changed
		 * meanwhile may be half in it. */
		fprintf(stderr, "kvmqual export: %s changed while it was exported (a run wrote to it): the output may"
				" mix before and after; export again\n", db);
		rc = -1;
	}
	store_close(s);
	return rc ? 2 : 0;
}
