/* kvmqual remote: qualify a device that has nothing but a shell, from this
 * machine (docs/kit.md). The field kit is copied there (unless the same
 * kit is already there), its entry script runs the qualification as a job
 * that outlives the connection, its progress is shown as it comes, and the
 * bundle and the probe's snapshot come back, are imported into the local
 * store and made into a report. Only the device's job directory is shared
 * state: it is made with mkdir, so two controllers never use it at once,
 * and it is removed only after its run is safely in the local store. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../reports/report.h"
#include "../runners/run.h"
#include "../store/import.h"
#include "../store/store.h"
#include "kitfile.h"
#include "remote.h"
#include "transport.h"

#define JOB "job"
#define STATUS_MARK "@@kvmqual-job-status "
/* Following a job again after its connection failed: how often, and the
 * pause before each (a board that stalled gets time to answer again). */
#define RECONNECTS 5
#define RECONNECT_PAUSE_S 15
/* The scratch disks of each profile (kvmqual run: 2 x (fio MiB + 16)). */
static long long scratch_mib(const char *profile)
{
	if (profile && !strcmp(profile, "full"))
		return 2 * (1024 + 16);
	if (profile && !strcmp(profile, "standard"))
		return 2 * (512 + 16);
	return 2 * (48 + 16);
}

struct device {
	char *dir, *arch, *host, *kit_hash, *job_owner, *job_status, *error;
	long long free_kb;
	int uid;
};

static void device_free(struct device *d)
{
	free(d->dir);
	free(d->arch);
	free(d->host);
	free(d->kit_hash);
	free(d->job_owner);
	free(d->job_status);
	free(d->error);
	memset(d, 0, sizeof(*d));
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
	interrupted = sig;
}

/* Whether the last client was ended by a signal (killed here, not a
 * connection that failed: the client itself exits 255 then). */
static int client_signaled;
/* Bytes of the job's log relayed so far (a follow that reconnects skips them). */
static unsigned long long relayed;

/* Runs argv with stdin from in_path (or /dev/null) and stdout to out_fd,
 * or into capture (relaying each line to relay unless it starts with
 * STATUS_MARK, whose number goes to *mark). stderr passes through. Returns
 * the exit status, 128+signal, or -1 when the client could not start. */
static int run_client(char **argv, const char *in_path, int out_fd, struct kq_buf *capture, FILE *relay, int *mark)
{
	client_signaled = 0;
	int pipefd[2] = { -1, -1 };
	if (out_fd < 0 && pipe2(pipefd, O_CLOEXEC))
		return -1;
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
		if (in < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out_fd >= 0 ? out_fd : pipefd[1], 1);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(argv[0], argv);
		int e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(errpipe[1]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	int e = 0;
	ssize_t got = read(errpipe[0], &e, sizeof(e));
	close(errpipe[0]);
	if (pipefd[0] >= 0) {
		struct kq_buf line;
		kq_buf_init(&line);
		char buf[4096];
		for (;;) {
			ssize_t n = read(pipefd[0], buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (capture)
				kq_buf_add(capture, buf, (size_t)n);
			for (ssize_t i = 0; i < n; i++) {
				kq_buf_add(&line, &buf[i], 1);
				if (buf[i] != '\n')
					continue;
				if (!strncmp(line.data, STATUS_MARK, strlen(STATUS_MARK))) {
					if (mark)
						*mark = atoi(line.data + strlen(STATUS_MARK));
				} else if (relay) {
					fwrite(line.data, 1, line.len, relay);
					fflush(relay);
					relayed += line.len;
				}
				line.len = 0;
			}
		}
		if (relay && line.len) {
			fwrite(line.data, 1, line.len, relay);
			relayed += line.len;
		}
		kq_buf_free(&line);
		close(pipefd[0]);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(e)) {
		errno = e;
		return -1;
	}
	client_signaled = !WIFEXITED(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int client_failed(const struct transport *t, char **argv, int rc, const char *what)
{
	if (rc == -1)
		fprintf(stderr, "kvmqual remote: cannot run %s (%s) to reach %s: %s\n", argv[0],
			t->kind == TRANSPORT_SSH ? "OpenSSH's ssh or dropbear's dbclient; KVMQUAL_SSH names another" : "Android's adb; KVMQUAL_ADB names another",
			t->name, strerror(errno));
	else
		fprintf(stderr, "kvmqual remote: %s on %s failed (%s exit %d%s)\n", what, t->name, argv[0], rc,
			rc == 255 ? ": the connection failed or was cut" : "");
	return 2;
}

/* Runs script on the device, capturing its output. */
static int device_sh(const struct transport *t, const char *script, struct kq_buf *out)
{
	char **argv = transport_shell_argv(t, script);
	int rc = run_client(argv, NULL, -1, out, NULL, NULL);
	if (rc == -1)
		client_failed(t, argv, rc, "");
	transport_free_argv(argv);
	return rc;
}

static char *line_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, klen) && l[klen] == '=') {
			const char *v = l + klen + 1;
			size_t n = strcspn(v, "\r\n");
			char *s = kq_xmalloc(n + 1);
			memcpy(s, v, n);
			s[n] = '\0';
			return s;
		}
	}
	return NULL;
}

/* What the device has: its architecture, the state directory, free space,
 * the kit there and a job. */
static int preflight(const struct transport *t, const char *dir_expr, struct device *d)
{
	char *script = kq_xasprintf(
		"d=%s; mkdir -p \"$d\" 2>/dev/null || { echo \"error=cannot create $d\"; echo end=1; exit 0; }; "
		"cd \"$d\" 2>/dev/null || { echo \"error=cannot enter $d\"; echo end=1; exit 0; }; "
		"echo \"dir=$(pwd)\"; echo \"arch=$(uname -m)\"; echo \"host=$(uname -n)\"; echo \"uid=$(id -u)\"; "
		"set -- $(df -Pk . 2>/dev/null | sed -n 2p); echo \"free_kb=$4\"; "
		"[ -f kvmqual-kit/MANIFEST ] && echo \"kit_hash=$(sed -n 's/^kit-hash //p' kvmqual-kit/MANIFEST)\"; "
		"if [ -d " JOB " ]; then echo \"job_owner=$(cat " JOB "/owner 2>/dev/null)\"; "
		"[ -f " JOB "/status ] && echo \"job_status=$(cat " JOB "/status)\"; fi; echo end=1",
		dir_expr);
	struct kq_buf out;
	kq_buf_init(&out);
	int rc = device_sh(t, script, &out);
	free(script);
	kq_buf_add(&out, "", 1);
	memset(d, 0, sizeof(*d));
	char *end = line_value(out.data, "end");
	if (rc != 0 || !end) {
		free(end);
		kq_buf_free(&out);
		if (rc == -1)
			return 2;
		fprintf(stderr, "kvmqual remote: cannot look at %s (exit %d%s)\n", t->name, rc,
			rc == 255 ? ": the connection failed; is the device up, and its ssh server?" : "");
		return 2;
	}
	free(end);
	d->error = line_value(out.data, "error");
	d->dir = line_value(out.data, "dir");
	d->arch = line_value(out.data, "arch");
	d->host = line_value(out.data, "host");
	d->kit_hash = line_value(out.data, "kit_hash");
	d->job_owner = line_value(out.data, "job_owner");
	d->job_status = line_value(out.data, "job_status");
	char *v = line_value(out.data, "free_kb");
	d->free_kb = v && *v ? atoll(v) : -1;
	free(v);
	v = line_value(out.data, "uid");
	d->uid = v ? atoi(v) : -1;
	free(v);
	kq_buf_free(&out);
	if (d->error) {
		fprintf(stderr, "kvmqual remote: %s: %s (choose another --dir, or --root)\n", t->name, d->error);
		return 2;
	}
	if (!d->dir || !d->arch) {
		fprintf(stderr, "kvmqual remote: %s answered without its directory or architecture\n", t->name);
		return 2;
	}
	if (!strcmp(d->arch, "arm64")) {
		free(d->arch);
		d->arch = kq_xstrdup("aarch64");
	}
	return 0;
}

/* The kit for arch next to this binary (build/kit/ in the build tree). */
static char *default_kit(const char *arch)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return kq_xasprintf("build/kit/kvmqual-kit-%s-%s.tar.gz", arch, SUITE_VERSION);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	return kq_xasprintf("%s/kit/kvmqual-kit-%s-%s.tar.gz", exe, arch, SUITE_VERSION);
}

static int copy_kit(const struct transport *t, const struct device *d, const struct kitfile *k)
{
	char *upload = kq_xasprintf("%s/.kit-upload.tar.gz", d->dir);
	const char *in = NULL;
	char **argv = transport_push_argv(t, k->path, upload, &in);
	fprintf(stderr, "kvmqual remote: copying %s (%.1f MB) to %s:%s\n", k->path, k->archive_bytes / 1e6, t->name,
		d->dir);
	int rc = run_client(argv, in, t->kind == TRANSPORT_ADB ? STDERR_FILENO : -1, NULL, stderr, NULL);
	if (rc) {
		client_failed(t, argv, rc, "copying the kit");
		fprintf(stderr, "kvmqual remote: nothing was installed on %s; run again to copy it again\n", t->name);
		transport_free_argv(argv);
		free(upload);
		return 2;
	}
	transport_free_argv(argv);
	free(upload);
	char *qdir = sh_quote(d->dir);
	char *script = kq_xasprintf(
		"cd %s || exit 20; n=$(($(wc -c < .kit-upload.tar.gz))); [ \"$n\" -eq %llu ] || "
		"{ echo \"the copy is $n bytes, not %llu\"; exit 21; }; "
		"s=$(sha256sum .kit-upload.tar.gz | sed 's/ .*//'); [ \"$s\" = %s ] || "
		"{ echo \"the copy's sha256 is $s\"; exit 21; }; "
		"rm -rf .kit-new && mkdir .kit-new && tar -xzf .kit-upload.tar.gz -C .kit-new || "
		"{ rm -rf .kit-new; echo 'cannot unpack it (tar -xzf)'; exit 22; }; "
		"[ \"$(sed -n 's/^kit-hash //p' .kit-new/kvmqual-kit/MANIFEST)\" = %s ] || "
		"{ rm -rf .kit-new; echo 'its MANIFEST does not match'; exit 22; }; "
		"rm -rf kvmqual-kit && mv .kit-new/kvmqual-kit kvmqual-kit && rm -rf .kit-new .kit-upload.tar.gz && echo installed=1",
		qdir, k->archive_bytes, k->archive_bytes, k->sha256, k->kit_hash);
	free(qdir);
	struct kq_buf out;
	kq_buf_init(&out);
	rc = device_sh(t, script, &out);
	free(script);
	kq_buf_add(&out, "", 1);
	if (rc || !strstr(out.data, "installed=1")) {
		fprintf(stderr, "kvmqual remote: the kit did not install in %s on %s (exit %d): %s\n", d->dir, t->name, rc,
			out.data);
		kq_buf_free(&out);
		return 2;
	}
	kq_buf_free(&out);
	return 0;
}

/* Starts the job (unless collecting) and shows its log until it ends;
 * returns its exit status, or -1 when the connection ended first. */
static int start_and_follow(const struct transport *t, const struct device *d, int collect, char **run_args,
			    int nrun_args)
{
	char *qdir = sh_quote(d->dir);
	struct kq_buf s;
	kq_buf_init(&s);
	kq_buf_printf(&s, "cd %s || exit 20; ", qdir);
	if (!collect) {
		char host[256] = "?";
		gethostname(host, sizeof(host) - 1);
		char *owner = kq_xasprintf("kvmqual remote on %s (pid %ld)", host, (long)getpid());
		char *qowner = sh_quote(owner);
		kq_buf_printf(&s, "sh kvmqual-kit/run start --dir %s --job " JOB " --owner %s --", qdir, qowner);
		for (int i = 0; i < nrun_args; i++) {
			char *q = sh_quote(run_args[i]);
			kq_buf_printf(&s, " %s", q);
			free(q);
		}
		/* start's answer on stderr: standard output is the job's log
		 * alone, counted for a follow that reconnects (--skip). */
		kq_buf_printf(&s, " >&2 || exit $?; ");
		free(owner);
		free(qowner);
	}
	char *follow = kq_xasprintf("sh kvmqual-kit/run follow --dir %s --job " JOB, qdir);
	kq_buf_printf(&s, "%s; echo \"" STATUS_MARK "$?\"", follow);
	char **argv = transport_shell_argv(t, s.data);
	kq_buf_free(&s);
	int mark = -1;
	relayed = 0;
	int rc = run_client(argv, NULL, -1, NULL, stdout, &mark);
	transport_free_argv(argv);
	if (!collect && rc == 3) {
		fprintf(stderr, "kvmqual remote: %s on %s is in use by another kvmqual remote (it started just now)\n",
			d->dir, t->name);
		free(follow);
		free(qdir);
		return -2;
	}
	/* The connection failed before the job ended: a busy or emulated
	 * board can stall past the keep-alives (four unanswered in 60 s), or
	 * a link drops for a moment. The job goes on there, so follow it
	 * again from where the log was, a bounded number of times (each
	 * bounded by ConnectTimeout and the keep-alives): a device that is
	 * really gone is given up in about five minutes, never waited on. A
	 * client killed here, or an interrupt, is not retried. */
	for (int attempt = 1; mark < 0 && rc > 0 && !client_signaled && !interrupted && attempt <= RECONNECTS;
	     attempt++) {
		fprintf(stderr, "kvmqual remote: the connection to %s ended before the run did (exit %d); following it "
				"again (%d of %d) in %d s\n",
			t->name, rc, attempt, RECONNECTS, RECONNECT_PAUSE_S);
		for (int i = 0; i < RECONNECT_PAUSE_S && !interrupted; i++)
			sleep(1);
		if (interrupted)
			break;
		char *again = kq_xasprintf("cd %s || exit 20; %s --skip %llu; echo \"" STATUS_MARK "$?\"", qdir, follow,
					   relayed);
		argv = transport_shell_argv(t, again);
		free(again);
		rc = run_client(argv, NULL, -1, NULL, stdout, &mark);
		transport_free_argv(argv);
	}
	free(follow);
	free(qdir);
	return mark;
}

static int fetch(const struct transport *t, const char *remote_path, const char *local_path, int optional)
{
	char *part = kq_xasprintf("%s.part", local_path);
	int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "kvmqual remote: cannot write %s: %s\n", part, strerror(errno));
		free(part);
		return -1;
	}
	char **argv = transport_fetch_argv(t, remote_path);
	int rc = run_client(argv, NULL, fd, NULL, NULL, NULL);
	transport_free_argv(argv);
	if (close(fd) || rc) {
		unlink(part);
		free(part);
		if (!optional)
			fprintf(stderr, "kvmqual remote: cannot fetch %s from %s (exit %d)\n", remote_path, t->name, rc);
		return -1;
	}
	if (rename(part, local_path)) {
		fprintf(stderr, "kvmqual remote: cannot write %s: %s\n", local_path, strerror(errno));
		unlink(part);
		free(part);
		return -1;
	}
	free(part);
	return 0;
}

/* mkdir -p for the local results directory. */
static int make_dirs(const char *path, struct kq_err *err)
{
	char *p = kq_xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST) {
			kq_error(err, "cannot create %s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	int rc = mkdir(p, 0755) && errno != EEXIST ? kq_error(err, "cannot create %s: %s", p, strerror(errno)) : 0;
	free(p);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual remote --via ssh://[user@]host[:port] | --via adb[:SERIAL]\n"
		"                      [--kit FILE] [--dir DIR] [--root] [--db FILE] [--out DIR] [--collect]\n"
		"                      [-- KVMQUAL-RUN-ARGS...]\n"
		"Copies the field kit to the device (unless the same kit is there), runs its\n"
		"qualification there (probe, quick run, bundle), shows its progress, brings back\n"
		"the bundle and the probe's snapshot, imports the run into --db (default %s)\n"
		"and writes its report into --out (default results/remote/DEVICE-TIME).\n"
		"  --kit FILE  the kit (default: build/kit/kvmqual-kit-ARCH-%s.tar.gz, for the\n"
		"              device's architecture)\n"
		"  --dir DIR   the state directory on the device (ssh: $HOME/kvmqual;\n"
		"              adb: /data/local/tmp/kvmqual)\n"
		"  --root      run the kit through su -c on the device\n"
		"  --collect   pick up a run that went on after the connection was lost\n"
		"The clients are the system's: ssh (KVMQUAL_SSH, e.g. 'ssh -F CONFIG' or dbclient)\n"
		"and adb (KVMQUAL_ADB); no password is handled: use keys.\n"
		"Exit status: the run's (0 complete, 1 incomplete), 2 on errors (the message says\n"
		"whether the run goes on on the device), 130/143 interrupted.\n",
		STORE_DEFAULT_PATH, SUITE_VERSION);
}

int cmd_remote(int argc, char **argv)
{
	const char *via = NULL, *kit_path = NULL, *dir = NULL, *db = STORE_DEFAULT_PATH, *outdir = NULL;
	int root = 0, collect = 0;
	static const struct option opts[] = {
		{ "via", required_argument, NULL, 'v' }, { "kit", required_argument, NULL, 'k' },
		{ "dir", required_argument, NULL, 'd' }, { "root", no_argument, NULL, 'r' },
		{ "db", required_argument, NULL, 'b' },	 { "out", required_argument, NULL, 'o' },
		{ "collect", no_argument, NULL, 'c' },	 { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'v': via = optarg; break;
		case 'k': kit_path = optarg; break;
		case 'd': dir = optarg; break;
		case 'r': root = 1; break;
		case 'b': db = optarg; break;
		case 'o': outdir = optarg; break;
		case 'c': collect = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	char **run_args = argv + optind;
	int nrun_args = argc - optind;
	if (!via) {
		fprintf(stderr, "kvmqual remote: --via is required\n");
		usage(stderr);
		return 2;
	}
	if (collect && nrun_args) {
		fprintf(stderr, "kvmqual remote: --collect takes no run arguments: the run is already there\n");
		return 2;
	}
	if (dir && (!*dir || strchr(dir, '\n'))) {
		fprintf(stderr, "kvmqual remote: --dir '%s' is not a directory name\n", dir);
		return 2;
	}
	struct kq_err err;
	struct transport t;
	if (transport_parse(via, root, &t, &err)) {
		fprintf(stderr, "kvmqual remote: %s\n", err.msg);
		return 2;
	}
	/* One ssh connection for every command: each new one is a key exchange,
	 * a second or more on a slow board (bench/results/kit.md). */
	transport_share_connection(&t);
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char *dir_expr = dir ? sh_quote(dir)
			 : kq_xstrdup(t.kind == TRANSPORT_ADB ? "/data/local/tmp/kvmqual" : "\"$HOME/kvmqual\"");
	struct device d;
	int rc = preflight(&t, dir_expr, &d);
	free(dir_expr);
	struct kitfile k = { 0 };
	char *local = NULL;
	if (rc)
		goto out;
	rc = 2;
	if (d.job_owner && !collect) {
		fprintf(stderr,
			"kvmqual remote: %s on %s holds a run of %s%s: collect it first (kvmqual remote --via %s%s%s --collect), "
			"or use another --dir\n",
			d.dir, t.name, d.job_owner, d.job_status ? ", finished" : ", still running", via,
			dir ? " --dir " : "", dir ? dir : "");
		goto out;
	}
	if (collect && !d.job_owner) {
		fprintf(stderr, "kvmqual remote: there is no run to collect in %s on %s\n", d.dir, t.name);
		goto out;
	}
	if (!collect) {
		char *path = kit_path ? kq_xstrdup(kit_path) : default_kit(d.arch);
		int krc = kitfile_open(path, &k, &err);
		free(path);
		if (krc) {
			fprintf(stderr, "kvmqual remote: %s\n", err.msg);
			goto out;
		}
		if (strcmp(k.arch, d.arch)) {
			fprintf(stderr, "kvmqual remote: %s is a kit for %s, but %s is %s: nothing copied (make kit ARCH=%s)\n",
				k.path, k.arch, t.name, d.arch, d.arch);
			goto out;
		}
		const char *profile = "quick";
		for (int i = 0; i + 1 < nrun_args; i++)
			if (!strcmp(run_args[i], "--profile"))
				profile = run_args[i + 1];
		int same = d.kit_hash && !strcmp(d.kit_hash, k.kit_hash);
		long long need_kb = (scratch_mib(profile) + 64) * 1024;
		if (!same)
			need_kb += (long long)((k.unpacked_bytes + k.archive_bytes) / 1024);
		if (d.free_kb >= 0 && d.free_kb < need_kb) {
			fprintf(stderr,
				"kvmqual remote: not enough space in %s on %s: %lld MiB needed (%s%s profile's scratch disks "
				"and 64 MiB), %lld MiB free\n",
				d.dir, t.name, need_kb / 1024, same ? "" : "the kit, unpacked and packed, the ", profile,
				d.free_kb / 1024);
			goto out;
		}
		if (same) {
			fprintf(stderr, "kvmqual remote: %s already has this kit (%.12s) in %s\n", t.name, k.kit_hash, d.dir);
		} else if (copy_kit(&t, &d, &k)) {
			goto out;
		}
	}
	if (interrupted) {
		rc = 128 + (int)interrupted;
		goto out;
	}
	int job_rc = start_and_follow(&t, &d, collect, run_args, nrun_args);
	if (job_rc == -2)
		goto out;
	if (job_rc < 0) {
		fprintf(stderr,
			"kvmqual remote: the connection to %s ended before the run did; it goes on there: collect it with "
			"kvmqual remote --via %s%s%s --collect\n",
			t.name, via, dir ? " --dir " : "", dir ? dir : "");
		rc = interrupted ? 128 + (int)interrupted : 2;
		goto out;
	}

	/* The results: into a directory of their own here, then the store. */
	char stamp[32];
	time_t now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
	char label[64];
	snprintf(label, sizeof(label), "%s", d.host && *d.host ? d.host : "device");
	for (char *p = label; *p; p++)
		if (!(*p == '-' || *p == '.' || *p == '_' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')))
			*p = '_';
	local = outdir ? kq_xstrdup(outdir) : kq_xasprintf("results/remote/%s-%s", label, stamp);
	if (make_dirs(local, &err)) {
		fprintf(stderr, "kvmqual remote: %s\n", err.msg);
		goto out;
	}
	char *rjob = kq_xasprintf("%s/" JOB, d.dir), *rb = kq_xasprintf("%s/bundle.json", rjob),
	     *rs = kq_xasprintf("%s/snapshot.tar.gz", rjob), *rl = kq_xasprintf("%s/log", rjob);
	char *lb = kq_xasprintf("%s/bundle.json", local), *ls = kq_xasprintf("%s/snapshot.tar.gz", local),
	     *ll = kq_xasprintf("%s/log.txt", local);
	/* A job that ended without a bundle stored no run (the probe or
	 * kvmqual run failed first; the log shown says why). There is nothing
	 * to collect: its log is kept here and its directory on the device
	 * released, or every later call would be refused as busy and every
	 * --collect would fail the same way. */
	char *qrjob = sh_quote(rjob);
	char *look = kq_xasprintf("if [ -f %s/bundle.json ]; then echo bundle=1; elif [ -f %s/status ]; then echo bundle=0; fi",
				  qrjob, qrjob);
	struct kq_buf ans;
	kq_buf_init(&ans);
	int lookrc = device_sh(&t, look, &ans);
	kq_buf_add(&ans, "", 1);
	int none = lookrc == 0 && strstr(ans.data, "bundle=0") != NULL;
	kq_buf_free(&ans);
	free(look);
	if (none) {
		int lrc = fetch(&t, rl, ll, 1);
		char *rm = kq_xasprintf("rm -rf %s", qrjob);
		struct kq_buf ignore;
		kq_buf_init(&ignore);
		int rmrc = device_sh(&t, rm, &ignore);
		kq_buf_free(&ignore);
		free(rm);
		fprintf(stderr, "kvmqual remote: the run on %s stored nothing (exit %d; the log above says why%s%s); %s\n",
			t.name, job_rc, lrc ? "" : ", kept in ", lrc ? "" : ll,
			rmrc ? "its job directory could not be removed there" : "its job there is released");
		rc = job_rc >= 2 ? job_rc : 2;
		free(qrjob);
		free(rb);
		free(rs);
		free(rl);
		free(rjob);
		free(lb);
		free(ls);
		free(ll);
		goto out;
	}
	free(qrjob);
	int frc = fetch(&t, rb, lb, 0);
	if (!frc) {
		fetch(&t, rs, ls, 1);
		fetch(&t, rl, ll, 1);
	}
	free(rb);
	free(rs);
	free(rl);
	if (frc) {
		fprintf(stderr,
			"kvmqual remote: the run ended (exit %d) but its bundle did not come back; it stays in %s on %s: "
			"collect it with --collect\n",
			job_rc, rjob, t.name);
		free(rjob);
		free(lb);
		free(ls);
		free(ll);
		goto out;
	}
	struct import_summary is;
	/* The run's provenance names the device's file, not the local copy. */
	char *source = kq_xasprintf("%s%s%s", t.name, t.kind == TRANSPORT_ADB ? ":" : "", rjob);
	char *source_bundle = kq_xasprintf("%s/bundle.json", source);
	free(source);
	int irc = store_import_bundle(db, lb, source_bundle, &is, &err);
	free(source_bundle);
	if (irc) {
		fprintf(stderr, "kvmqual remote: %s; the run stays in %s on %s\n", err.msg, rjob, t.name);
		free(rjob);
		free(lb);
		free(ls);
		free(ll);
		goto out;
	}
	fprintf(stderr, "kvmqual remote: %s run %lld into %s\n", is.duplicates ? "already had" : "imported",
		(long long)is.last_run_id, db);
	/* Safely here: the device's job directory may go. */
	char *qjob = sh_quote(rjob);
	char *script = kq_xasprintf("rm -rf %s", qjob);
	struct kq_buf ignore;
	kq_buf_init(&ignore);
	if (device_sh(&t, script, &ignore))
		fprintf(stderr, "kvmqual remote: could not remove %s on %s (the next call will say so)\n", rjob, t.name);
	kq_buf_free(&ignore);
	free(script);
	free(qjob);
	free(rjob);
	char *report = kq_xasprintf("%s/report", local), *idtext = kq_xasprintf("%lld", (long long)is.last_run_id);
	char *rargv[] = { "report", "--db", (char *)db, "--run", idtext, "--out", report, NULL };
	int rrc = cmd_report(7, rargv);
	if (rrc > 1)
		fprintf(stderr, "kvmqual remote: the report of run %lld could not be written (see above)\n",
			(long long)is.last_run_id);
	else
		printf("kvmqual remote: %s: run %lld in %s; report %s/index.html; bundle %s\n", t.name, (long long)is.last_run_id,
		       db, report, lb);
	free(report);
	free(idtext);
	free(lb);
	free(ls);
	free(ll);
	rc = job_rc;
out:;
	char **end = transport_end_argv(&t);
	if (end) {
		run_client(end, NULL, -1, NULL, NULL, NULL);
		transport_free_argv(end);
	}
	kitfile_free(&k);
	device_free(&d);
	free(local);
	transport_free(&t);
	return rc;
}
