/* kvmqual-launch: how every dynamically linked program of the field kit
 * starts (docs/kit.md).  KIT/bin/NAME is a symbolic link to this static
 * binary (KIT/lib/kvmqual/launch); it runs
 *
 *     KIT/lib/LOADER --library-path KIT/lib --argv0 ARGV0 KIT/libexec/NAME ARGS...
 *
 * so that the kit's own dynamic loader and libraries are used and nothing of
 * the device's (a phone has bionic, a board maybe musl or an older glibc, or
 * no libc at all outside the kit).  No environment variable is set: the
 * programs these run (QEMU started by kvmqual, iperf3 by ip netns exec) go
 * through their own links in KIT/bin the same way, and the device's own
 * programs are not affected.
 *
 * KIT is found from /proc/self/exe (the link resolved): this binary is
 * KIT/lib/kvmqual/launch.  LOADER is the Debian loader of the kit's
 * architecture, given by the Makefile (KIT_LOADER). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef KIT_LOADER
#error "KIT_LOADER (the dynamic loader's file name) must be defined"
#endif

/* Strips the last n components of path in place; 0 when it had them. */
static int strip_components(char *path, int n)
{
	while (n-- > 0) {
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			return -1;
		*slash = '\0';
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *argv0 = argc > 0 && argv[0] ? argv[0] : "";
	const char *name = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	if (!*name || !strcmp(name, "launch") || !strcmp(name, ".") || !strcmp(name, "..")) {
		fprintf(stderr, "kvmqual-kit launch: run a program through its link in the kit's bin/, not '%s'\n",
			argv0);
		return 127;
	}
	char kit[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", kit, sizeof(kit) - 1);
	if (n <= 0) {
		/* No /proc: the path this was started by, if it has one. */
		if (!strchr(argv0, '/') || !realpath(argv0, kit)) {
			fprintf(stderr, "kvmqual-kit: cannot find the kit of %s: /proc/self/exe: %s\n", name,
				strerror(errno));
			return 127;
		}
	} else {
		kit[n] = '\0';
	}
	if (strip_components(kit, 3)) { /* KIT/lib/kvmqual/launch */
		fprintf(stderr, "kvmqual-kit: %s is not inside a kit (KIT/lib/kvmqual/launch)\n", kit);
		return 127;
	}
	size_t len = strlen(kit) + sizeof("/libexec/") + strlen(name) + sizeof("/lib/" KIT_LOADER);
	char *loader = malloc(len), *libdir = malloc(len), *prog = malloc(len);
	char **args = calloc((size_t)argc + 8, sizeof(*args));
	if (!loader || !libdir || !prog || !args) {
		fprintf(stderr, "kvmqual-kit: out of memory\n");
		return 127;
	}
	snprintf(loader, len, "%s/lib/%s", kit, KIT_LOADER);
	snprintf(libdir, len, "%s/lib", kit);
	snprintf(prog, len, "%s/libexec/%s", kit, name);
	int i = 0;
	args[i++] = loader;
	args[i++] = "--library-path";
	args[i++] = libdir;
	args[i++] = "--argv0";
	args[i++] = (char *)argv0;
	args[i++] = prog;
	for (int a = 1; a < argc; a++)
		args[i++] = argv[a];
	args[i] = NULL;
	execv(loader, args);
	fprintf(stderr, "kvmqual-kit: cannot start %s through %s: %s\n", prog, loader, strerror(errno));
	return 127;
}
