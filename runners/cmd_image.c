/* kvmqual image build --arch A [--out DIR]: runs guest-image/build.sh,
 * which downloads the pinned Debian packages and assembles the image. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/util.h"
#include "commands.h"

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
	char **args = kq_xcalloc((size_t)argc + 1, sizeof(char *));
	args[0] = script;
	for (int i = 2; i < argc; i++)
		args[i - 1] = argv[i];
	execv(script, args);
	fprintf(stderr, "kvmqual image: %s: %s\n", script, strerror(errno));
	return 2;
}
