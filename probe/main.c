/* probe: can this host run KVM, and with what?  Parses options and calls the
 * probe library; only this file decides what is printed and the exit code. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"

enum { EXIT_KVM_USABLE = 0, EXIT_KVM_UNUSABLE = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: probe [--json] [--sysroot PATH] [--capture FILE.tar.gz] [--no-smoke]\n"
		"             [--no-cache] [--color=auto|always|never] [--output FILE]\n"
		"\n"
		"Checks whether this host can run KVM, and with what: boot exception level,\n"
		"KVM mode, /dev/kvm and its capabilities (running a few guest instructions to\n"
		"prove it), GIC, SMMU/IOMMU, kernel config, vhost devices, page size, CPU\n"
		"clusters and QEMU.  One line per check; a hint for every warning and failure.\n"
		"\n"
		"  --json              print one JSON document (schema kvmqual.probe, version %d)\n"
		"  --sysroot PATH      classify a snapshot (a directory or .tar.gz) instead of\n"
		"                      this host; checks that need the live host are skipped\n"
		"  --capture FILE      write a snapshot of this host to FILE (.tar.gz), with this\n"
		"                      probe's live results inside, then print them as usual\n"
		"  --no-smoke          do not run the KVM smoke and interrupt tests\n"
		"  --no-cache          ask QEMU for its version and accelerators even when the\n"
		"                      answers for this binary are cached (~/.cache/kvmqual)\n"
		"  --color=WHEN        colour the table: auto (on a terminal), always, never\n"
		"  --output FILE       write the result to FILE instead of standard output\n"
		"  --help, --version\n"
		"\n"
		"Exit status: 0 when KVM is usable (verdict kvm-ready or kvm-limited),\n"
		"1 when it is not (tcg-only), 2 on a usage or internal error.\n",
		PROBE_SCHEMA_VERSION);
}

static void print_error_json(FILE *out, const char *msg)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "schema", PROBE_SCHEMA);
	cJSON_AddNumberToObject(root, "schema_version", PROBE_SCHEMA_VERSION);
	cJSON_AddStringToObject(root, "probe_version", PROBE_VERSION);
	cJSON_AddStringToObject(root, "error", msg);
	char *text = cJSON_Print(root);
	fprintf(out, "%s\n", text);
	free(text);
	cJSON_Delete(root);
}

/* Every write of the result is checked: a full disk is an error (exit 2),
 * never a silent exit 0 with half a document.  --output FILE is written
 * beside FILE and renamed over it when complete. */
static int finish_output(FILE *out, struct kq_out *file)
{
	struct kq_err err;
	if (out != stdout) {
		if (kq_out_commit(file, &err) == 0)
			return 0;
		fprintf(stderr, "probe: --output %s\n", err.msg);
		return -1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "probe: writing the result to standard output failed: %s\n",
			strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int json = 0, colour = -1;
	const char *sysroot = NULL, *capture = NULL, *output = NULL;
	struct probe_options opt = { 0 };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "capture", required_argument, NULL, 'c' },
		{ "no-smoke", no_argument, NULL, 'n' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "color", required_argument, NULL, 'C' },
		{ "colour", required_argument, NULL, 'C' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "js:c:no:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 's': sysroot = optarg; break;
		case 'c': capture = optarg; break;
		case 'n': opt.skip_smoke = 1; break;
		case 'N': opt.no_cache = 1; break;
		case 'o': output = optarg; break;
		case 'C':
			if (!strcmp(optarg, "always")) colour = 1;
			else if (!strcmp(optarg, "never")) colour = 0;
			else if (!strcmp(optarg, "auto")) colour = -1;
			else {
				fprintf(stderr, "probe: --color takes auto, always or never, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("probe (kvmqual) %s\n", PROBE_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "probe: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (sysroot && capture) {
		fprintf(stderr, "probe: --capture records the live host; it cannot be combined with --sysroot\n");
		return EXIT_USAGE;
	}

	struct kq_err err;
	struct kq_out out_file = { 0 };
	FILE *out = stdout;
	if (output) {
		if (kq_out_open(&out_file, output, &err)) {
			fprintf(stderr, "probe: --output %s\n", err.msg);
			return EXIT_USAGE;
		}
		out = out_file.f;
	}
	if (colour < 0)
		colour = !json && out == stdout && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

	struct hostfs *fs = sysroot ? hostfs_open_snapshot(sysroot, &err) : hostfs_open_live();
	if (!fs) {
		fprintf(stderr, "probe: %s\n", err.msg);
		if (json)
			print_error_json(out, err.msg);
		finish_output(out, &out_file);
		return EXIT_USAGE;
	}
	struct probe p;
	if (probe_run(&p, fs, &opt, &err)) {
		fprintf(stderr, "probe: %s\n", err.msg);
		if (json)
			print_error_json(out, err.msg);
		probe_free(&p);
		hostfs_close(fs);
		finish_output(out, &out_file);
		return EXIT_USAGE;
	}
	int rc = p.verdict == VERDICT_TCG_ONLY ? EXIT_KVM_UNUSABLE : EXIT_KVM_USABLE;
	cJSON *doc = probe_to_json(&p);
	char *text = cJSON_Print(doc);
	if (capture) {
		if (probe_capture(capture, text, &err)) {
			fprintf(stderr, "probe: --capture: %s\n", err.msg);
			rc = EXIT_USAGE;
		} else {
			fprintf(stderr, "probe: snapshot written to %s\n", capture);
		}
	}
	if (json)
		fprintf(out, "%s\n", text);
	else
		probe_print_text(&p, out, colour);
	free(text);
	cJSON_Delete(doc);
	probe_free(&p);
	hostfs_close(fs);
	if (finish_output(out, &out_file))
		return EXIT_USAGE;
	return rc;
}
