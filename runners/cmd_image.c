/* kvmqual image build --arch A [--out DIR]: runs guest-image/build.sh,
 * which downloads the pinned Debian packages and assembles the image. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../lib/util.h"
#include "runners.h"

/* guest-image/build.sh next to the source tree this binary was built in
 * (build/kvmqual -> ../guest-image), or under $KVMQUAL_SRCDIR. */
static char *find_build_script(void)
{
	const char *src = getenv("KVMQUAL_SRCDIR");
	if (src) {
		char *p = kq_xasprintf("%s/guest-image/build.sh", src);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = '\0';
		char *p = kq_xasprintf("%s/guest-image/build.sh", exe);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* The directory this binary lives in (build/), where make puts the agent
 * and STREAM for the host's arch; build/ARCH/ holds other arches'. */
static char *bin_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return kq_xstrdup(exe);
}

static int has_arg(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int cmd_image(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "build")) {
		fprintf(stderr, "usage: kvmqual image build --arch aarch64|x86_64 [--out DIR] [--update-pins]\n");
		return argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
	}
	char *script = find_build_script();
	if (!script) {
		fprintf(stderr, "kvmqual image: cannot find guest-image/build.sh (set KVMQUAL_SRCDIR to the source tree)\n");
		return 2;
	}
	/* Without --agent, the agent and STREAM that make built for the arch;
	 * without --out, build/guest/ARCH, where kvmqual guest and the runner
	 * look. */
	const char *arch = NULL;
	for (int i = 2; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--arch"))
			arch = argv[i + 1];
	/* Checked here, not by the script: an unknown arch would otherwise
	 * be sent looking for build/ARCH/kvmqual-agent, which no make
	 * target builds. */
	if (!arch || (strcmp(arch, "aarch64") && strcmp(arch, "x86_64") && strcmp(arch, "arm64") && strcmp(arch, "amd64"))) {
		if (arch)
			fprintf(stderr, "kvmqual image build: --arch takes aarch64 or x86_64, not '%s'\n", arch);
		else
			fprintf(stderr, "kvmqual image build: --arch is required: aarch64 or x86_64\n");
		free(script);
		return 2;
	}
	/* Debian's names, which the script takes too, are the same arches. */
	arch = !strcmp(arch, "arm64") ? "aarch64" : !strcmp(arch, "amd64") ? "x86_64" : arch;
	char **args = kq_xcalloc((size_t)argc + 8, sizeof(char *));
	int n = 0;
	args[n++] = script;
	for (int i = 2; i < argc; i++)
		args[n++] = argv[i];
	char *dir = bin_dir();
	if (arch && dir && !has_arg(argc, argv, "--floor") && !has_arg(argc, argv, "--agent")) {
		struct utsname u;
		uname(&u);
		char *sub = !strcmp(arch, u.machine) ? kq_xstrdup(dir) : kq_xasprintf("%s/%s", dir, arch);
		char *agent = kq_xasprintf("%s/kvmqual-agent", sub);
		char *stream = kq_xasprintf("%s/stream", sub);
		if (access(agent, X_OK) || access(stream, X_OK)) {
			fprintf(stderr, "kvmqual image: no %s or %s: run 'make guest-image' (or make ARCH=%s agent stream) first\n",
				agent, stream, arch);
			return 2;
		}
		args[n++] = "--agent";
		args[n++] = agent;
		args[n++] = "--extra";
		args[n++] = stream;
	}
	if (arch && dir && !has_arg(argc, argv, "--out") && !has_arg(argc, argv, "--update-pins")) {
		args[n++] = "--out";
		args[n++] = kq_xasprintf("%s/guest/%s%s", dir, arch, has_arg(argc, argv, "--floor") ? "-floor" : "");
	}
	args[n] = NULL;
	execv(script, args);
	fprintf(stderr, "kvmqual image: %s: %s\n", script, strerror(errno));
	return 2;
}
