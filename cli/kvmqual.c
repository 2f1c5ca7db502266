/* kvmqual: the front end, above the stages.  Each sub-command is one
 * stage's: run, guest and image (runners/), export and import (store/),
 * remote (remote/), compare (compare/), report (reports/), matrix and
 * publish (matrix/), ab and tune (ab/).  The stages declare their commands
 * in their own headers; nothing here but the table (and which stage's
 * export a format is). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../ab/ab.h"
#include "../compare/compare.h"
#include "../matrix/http.h"
#include "../matrix/matrix.h"
#include "../remote/remote.h"
#include "../reports/lava.h"
#include "../reports/report.h"
#include "../runners/runners.h"
#include "../store/import.h"
#include "../store/store.h"

#define KVMQUAL_VERSION "0.1.0"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* kvmqual export is the store's, but for --format lava, the LAVA writer's
 * (reports/lava.c): the store comes before the reports and cannot call it. */
static int cmd_export_any(int argc, char **argv)
{
	return lava_export_wanted(argc, argv) ? cmd_export_lava(argc, argv) : cmd_export(argc, argv);
}

static const struct subcommand subcommands[] = {
	{ "run", cmd_run, "probe, then benchmark the guest under KVM and TCG against native" },
	{ "export", cmd_export_any, "write stored runs out as JSON or CSV, or one as LAVA test results" },
	{ "import", cmd_import, "add the runs of bundles (kvmqual export's JSON) to the store" },
	{ "remote", cmd_remote, "qualify a device over ssh or adb with the field kit, into the store" },
	{ "compare", cmd_compare, "compare a run with its baseline: regressions, JUnit XML for CI" },
	{ "report", cmd_report, "one run as a self-contained HTML page, Markdown and gnuplot plots" },
	{ "matrix", cmd_matrix, "the compatibility matrix of many hosts' stores and bundles" },
	{ "publish", cmd_publish, "upload reports, matrices and bundles over HTTP(S)/WebDAV" },
	{ "image", cmd_image, "build the benchmark guest image (kernel + initramfs)" },
	{ "guest", cmd_guest, "boot the guest image and run commands in it" },
	{ "ab", cmd_ab, "compare two configurations in one session: interleaved rounds, decided per metric" },
	{ "tune", cmd_tune, "A/B experiments over the settings this host can vary, and the best command line" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: kvmqual COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\nThe host probe is a separate static binary: probe --help.\n"
		     "'kvmqual COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	/* A guest that powers off closes its channel; writes to it must fail
	 * with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("kvmqual %s\n", KVMQUAL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name)) {
			/* getopt names argv[0] in its own messages ("unrecognized
			 * option"): say "kvmqual run:", as every other message does,
			 * not "run:". */
			char prog[32];
			snprintf(prog, sizeof(prog), "kvmqual %s", subcommands[i].name);
			argv[1] = prog;
			return subcommands[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "kvmqual: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
