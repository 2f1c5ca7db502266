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
#include <poll.h>
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
#include "../lib/number.h"
#include "kitfile.h"
#include "protocol.h"
#include "remote.h"
#include "transport.h"

#define JOB "job"
/* Following a job again after its connection failed: how often, and the
 * pause before each (a board that stalled gets time to answer again). */
#define RECONNECTS 5
#define RECONNECT_PAUSE_S 15
/* How long each command on the device may take (the run itself excepted),
 * and how much may come back (the bundle, the snapshot and the log), unless
 * --timeout and --max-download say otherwise: a device, or a link, that
 * drips or streams without end is cut off (issue 13 findings 6 and 14). */
#define DEVICE_TIMEOUT_S 600
#define DOWNLOAD_MAX (1ULL << 30)
/* Copying and checking the kit get a second more per this many bytes. */
#define SLOW_LINK_BYTES_PER_S 100000ULL
/* The scratch disks of each profile (kvmqual run: 2 x (fio MiB + 16)). */
static long long scratch_mib(const char *profile)
{
	if (profile && !strcmp(profile, "full"))
		return 2 * (1024 + 16);
	if (profile && !strcmp(profile, "standard"))
		return 2 * (512 + 16);
	return 2 * (48 + 16);
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

/* run_client's answers besides an exit status. */
#define CLIENT_CANNOT_START -1
#define CLIENT_TIMED_OUT -3
#define CLIENT_TOO_MUCH -4

struct client_io {
	const char *in_path;          /* standard input, or NULL for /dev/null */
	FILE *sink;                   /* standard output's bytes go here, or */
	struct kq_buf *capture;       /* here, or */
	FILE *relay;                  /* here line by line (but the status line, whose number goes to *mark) */
	int *mark;
	unsigned long long max_bytes; /* more is CLIENT_TOO_MUCH; 0: no cap */
	int timeout_s;                /* longer is CLIENT_TIMED_OUT; 0: none (the run itself) */
};

static void relay_line(const struct client_io *io, struct kq_buf *line)
{
	size_t n = line->len;
	if (n && line->data[n - 1] == '\n')
		n--;
	int st;
	int kind = remote_status_line(line->data, n, &st);
	if (kind != 0) {
		/* Not an exit status: the job's outcome is unknown, a failure. */
		if (io->mark)
			*io->mark = kind > 0 ? st : 2;
		if (kind < 0)
			fprintf(stderr, "kvmqual remote: the device ended the job with a status that is not an exit status"
					" ('%.*s'): taken as failed\n", (int)(n < 40 ? n : 40), line->data);
	} else if (io->relay) {
		fwrite(line->data, 1, line->len, io->relay);
		fflush(io->relay);
		relayed += line->len;
	}
	line->len = 0;
}

/* Runs argv as io says (stderr passes through). Returns the exit status,
 * 128+signal, CLIENT_CANNOT_START (errno set), CLIENT_TIMED_OUT or
 * CLIENT_TOO_MUCH (the client killed then). */
static int run_client(char **argv, const struct client_io *io)
{
	client_signaled = 0;
	int pipefd[2], errpipe[2];
	if (pipe2(pipefd, O_CLOEXEC))
		return CLIENT_CANNOT_START;
	if (pipe2(errpipe, O_CLOEXEC)) {
		close(pipefd[0]);
		close(pipefd[1]);
		return CLIENT_CANNOT_START;
	}
	pid_t pid = fork();
	if (pid < 0)
		return CLIENT_CANNOT_START;
	if (pid == 0) {
		int in = open(io->in_path ? io->in_path : "/dev/null", O_RDONLY);
		if (in < 0)
			_exit(127);
		dup2(in, 0);
		dup2(pipefd[1], 1);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(argv[0], argv);
		int e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(errpipe[1]);
	close(pipefd[1]);
	int e = 0;
	ssize_t got = read(errpipe[0], &e, sizeof(e));
	close(errpipe[0]);
	uint64_t deadline = io->timeout_s ? kq_now_ns() + (uint64_t)io->timeout_s * 1000000000ull : 0;
	unsigned long long total = 0;
	int outcome = 0;
	struct kq_buf line;
	kq_buf_init(&line);
	char buf[65536];
	for (;;) {
		int wait_ms = -1;
		if (deadline) {
			uint64_t now = kq_now_ns();
			if (now >= deadline) {
				outcome = CLIENT_TIMED_OUT;
				break;
			}
			wait_ms = (int)((deadline - now) / 1000000ull) + 1;
		}
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		int pr = poll(&pfd, 1, wait_ms);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue; /* EINTR, or the deadline: looked at above */
		ssize_t n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (unsigned long long)n;
		if (io->max_bytes && total > io->max_bytes) {
			outcome = CLIENT_TOO_MUCH;
			break;
		}
		if (io->sink)
			fwrite(buf, 1, (size_t)n, io->sink); /* checked by kq_out_commit */
		if (io->capture)
			kq_buf_add(io->capture, buf, (size_t)n);
		if (!io->relay && !io->mark)
			continue;
		for (ssize_t i = 0; i < n; i++) {
			kq_buf_add(&line, &buf[i], 1);
			/* A line without end is relayed in pieces, not kept. */
			if (buf[i] == '\n' || line.len >= 65536)
				relay_line(io, &line);
		}
	}
	if (line.len && io->relay) {
		fwrite(line.data, 1, line.len, io->relay);
		relayed += line.len;
	}
	kq_buf_free(&line);
	close(pipefd[0]);
	if (outcome)
		kill(pid, SIGKILL);
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, deadline && !outcome ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (w == 0 && kq_now_ns() >= deadline) {
			/* Its output ended but it did not: no more than the deadline. */
			kill(pid, SIGKILL);
			outcome = CLIENT_TIMED_OUT;
		} else if (w == 0) {
			struct timespec ts = { 0, 20000000 };
			nanosleep(&ts, NULL);
		}
	}
	if (got == (ssize_t)sizeof(e)) {
		errno = e;
		return CLIENT_CANNOT_START;
	}
	if (outcome)
		return outcome;
	client_signaled = !WIFEXITED(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int client_failed(const struct transport *t, char **argv, int rc, const char *what, const struct client_io *io)
{
	if (rc == CLIENT_CANNOT_START)
		fprintf(stderr, "kvmqual remote: cannot run %s (%s) to reach %s: %s\n", argv[0],
			t->kind == TRANSPORT_SSH ? "OpenSSH's ssh or dropbear's dbclient; KVMQUAL_SSH names another" : "Android's adb; KVMQUAL_ADB names another",
			t->name, strerror(errno));
	else if (rc == CLIENT_TIMED_OUT)
		fprintf(stderr, "kvmqual remote: %s on %s did not end within %d s and was cut off (a device or link that"
				" stalls; --timeout gives it longer)\n", what, t->name, io->timeout_s);
	else if (rc == CLIENT_TOO_MUCH)
		fprintf(stderr, "kvmqual remote: %s on %s sent more than %llu bytes and was cut off (--max-download"
				" allows more)\n", what, t->name, io->max_bytes);
	else
		fprintf(stderr, "kvmqual remote: %s on %s failed (%s exit %d%s)\n", what, t->name, argv[0], rc,
			rc == 255 ? ": the connection failed or was cut" : "");
	return 2;
}

/* Set from the options: how long a command on the device may take. */
static int device_timeout_s = DEVICE_TIMEOUT_S;

/* Runs script on the device, capturing what it prints (at most
 * REMOTE_ANSWER_MAX bytes) within timeout_s. */
static int device_sh(const struct transport *t, const char *script, struct kq_buf *out, int timeout_s,
		     const char *what)
{
	char **argv = transport_shell_argv(t, script);
	struct client_io io = { .capture = out, .max_bytes = REMOTE_ANSWER_MAX, .timeout_s = timeout_s };
	int rc = run_client(argv, &io);
	if (rc < 0)
		client_failed(t, argv, rc, what, &io);
	transport_free_argv(argv);
	return rc;
}

/* What the device has: its architecture, the state directory, free space,
 * the kit there and a job. */
static int preflight(const struct transport *t, const char *dir_expr, struct remote_device *d)
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
	int rc = device_sh(t, script, &out, device_timeout_s, "looking at the device");
	free(script);
	memset(d, 0, sizeof(*d));
	struct kq_err err;
	int prc = rc == 0 ? remote_device_parse(out.data ? out.data : "", out.len, d, &err) : -1;
	kq_buf_free(&out);
	if (rc < 0)
		return 2;
	if (rc != 0) {
		fprintf(stderr, "kvmqual remote: cannot look at %s (exit %d%s)\n", t->name, rc,
			rc == 255 ? ": the connection failed; is the device up, and its ssh server?" : "");
		return 2;
	}
	if (prc) {
		fprintf(stderr, "kvmqual remote: %s: %s\n", t->name, err.msg);
		return 2;
	}
	if (d->error) {
		fprintf(stderr, "kvmqual remote: %s: %s (choose another --dir, or --root)\n", t->name, d->error);
		return 2;
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

static int copy_kit(const struct transport *t, const struct remote_device *d, const struct kitfile *k)
{
	char *upload = kq_xasprintf("%s/.kit-upload.tar.gz", d->dir);
	const char *in = NULL;
	char **argv = transport_push_argv(t, k->path, upload, &in);
	fprintf(stderr, "kvmqual remote: copying %s (%.1f MB) to %s:%s\n", k->path, k->archive_bytes / 1e6, t->name,
		d->dir);
	/* A slow link gets longer, in proportion to the kit. */
	int slow_s = device_timeout_s + (int)(k->archive_bytes / SLOW_LINK_BYTES_PER_S);
	struct client_io io = { .in_path = in, .relay = stderr, .timeout_s = slow_s };
	int rc = run_client(argv, &io);
	if (rc) {
		client_failed(t, argv, rc, "copying the kit", &io);
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
	rc = device_sh(t, script, &out, slow_s, "installing the kit");
	free(script);
	kq_buf_add(&out, "", 1);
	if (rc < 0) {
		kq_buf_free(&out);
		return 2;
	}
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
static int start_and_follow(const struct transport *t, const struct remote_device *d, int collect, char **run_args,
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
	kq_buf_printf(&s, "%s; echo \"" REMOTE_STATUS_MARK "$?\"", follow);
	char **argv = transport_shell_argv(t, s.data);
	kq_buf_free(&s);
	int mark = -1;
	relayed = 0;
	/* No deadline: the run takes what its profile takes; a dead link is
	 * the keep-alives' to notice. */
	struct client_io io = { .relay = stdout, .mark = &mark };
	int rc = run_client(argv, &io);
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
		char *again = kq_xasprintf("cd %s || exit 20; %s --skip %llu; echo \"" REMOTE_STATUS_MARK "$?\"", qdir,
					   follow, relayed);
		argv = transport_shell_argv(t, again);
		free(again);
		rc = run_client(argv, &io);
		transport_free_argv(argv);
	}
	free(follow);
	free(qdir);
	return mark;
}

/* Brings remote_path to local_path, complete or not at all (kq_out: a
 * temporary beside it, renamed; what is not a regular file, such as a
 * link someone left there, is written into, never replaced or followed
 * to a file of another name), within the time and the bytes *left of
 * --max-download.  0, or -1 after saying why (unless optional). */
static int fetch(const struct transport *t, const char *remote_path, const char *local_path, int optional,
		 unsigned long long *left)
{
	struct kq_out o;
	struct kq_err err;
	if (kq_out_open(&o, local_path, &err)) {
		fprintf(stderr, "kvmqual remote: %s\n", err.msg);
		return -1;
	}
	char **argv = transport_fetch_argv(t, remote_path);
	struct client_io io = { .sink = o.f, .max_bytes = *left ? *left : 1, .timeout_s = device_timeout_s };
	int rc = run_client(argv, &io);
	if (rc) {
		kq_out_abort(&o);
		if (!optional || rc == CLIENT_TIMED_OUT || rc == CLIENT_TOO_MUCH) {
			char *what = kq_xasprintf("fetching %s", remote_path);
			client_failed(t, argv, rc, what, &io);
			free(what);
		}
		transport_free_argv(argv);
		return -1;
	}
	transport_free_argv(argv);
	long size = ftell(o.f);
	if (kq_out_commit(&o, &err)) {
		fprintf(stderr, "kvmqual remote: %s\n", err.msg);
		return -1;
	}
	if (size > 0)
		*left -= (unsigned long long)size < *left ? (unsigned long long)size : *left;
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
		"                      [--timeout S] [--max-download SIZE] [-- KVMQUAL-RUN-ARGS...]\n"
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
		"  --timeout S how long each command on the device may take, the run itself\n"
		"              excepted (default %d; copying the kit gets 1 s more per 100 kB)\n"
		"  --max-download SIZE  what may come back in all: bundle, snapshot, log\n"
		"              (default 1G; K, M, G)\n"
		"The clients are the system's: ssh (KVMQUAL_SSH, e.g. 'ssh -F CONFIG' or dbclient)\n"
		"and adb (KVMQUAL_ADB); no password is handled: use keys.\n"
		"Exit status: the run's (0 complete, 1 incomplete), 2 on errors (the message says\n"
		"whether the run goes on on the device), 130/143 interrupted.\n",
		STORE_DEFAULT_PATH, SUITE_VERSION, DEVICE_TIMEOUT_S);
}

int cmd_remote(int argc, char **argv)
{
	const char *via = NULL, *kit_path = NULL, *dir = NULL, *db = STORE_DEFAULT_PATH, *outdir = NULL;
	int root = 0, collect = 0;
	unsigned long long max_download = DOWNLOAD_MAX;
	static const struct option opts[] = {
		{ "via", required_argument, NULL, 'v' }, { "kit", required_argument, NULL, 'k' },
		{ "dir", required_argument, NULL, 'd' }, { "root", no_argument, NULL, 'r' },
		{ "db", required_argument, NULL, 'b' },	 { "out", required_argument, NULL, 'o' },
		{ "collect", no_argument, NULL, 'c' },	 { "help", no_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 'T' }, { "max-download", required_argument, NULL, 'M' },
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
		case 'T': {
			long long v;
			if (kq_number_int(optarg, 1, 86400, &v)) {
				fprintf(stderr, "kvmqual remote: --timeout takes seconds from 1 to 86400, not '%s'\n", optarg);
				return 2;
			}
			device_timeout_s = (int)v;
			break;
		}
		case 'M':
			if (kq_number_size(optarg, 1, 1ULL << 40, &max_download)) {
				fprintf(stderr, "kvmqual remote: --max-download takes a size such as 64M or 2G (at most 1024G),"
						" not '%s'\n", optarg);
				return 2;
			}
			break;
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
	struct remote_device d;
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
		int missing = krc && access(path, F_OK) && errno == ENOENT;
		free(path);
		if (krc) {
			/* The device's architecture is known by now: say which kit
			 * to build, or that --kit names nothing. */
			if (missing && !kit_path)
				fprintf(stderr, "kvmqual remote: %s (%s is %s: make kit ARCH=%s builds its kit)\n", err.msg,
					t.name, d.arch, d.arch);
			else if (missing)
				fprintf(stderr, "kvmqual remote: --kit: %s (check the path; make kit ARCH=%s builds one for %s)\n",
					err.msg, d.arch, t.name);
			else
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
	unsigned long long left = max_download;
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
	int lookrc = device_sh(&t, look, &ans, device_timeout_s, "looking for the job's bundle");
	kq_buf_add(&ans, "", 1);
	int none = lookrc == 0 && strstr(ans.data, "bundle=0") != NULL;
	kq_buf_free(&ans);
	free(look);
	if (none) {
		int lrc = fetch(&t, rl, ll, 1, &left);
		char *rm = kq_xasprintf("rm -rf %s", qrjob);
		struct kq_buf ignore;
		kq_buf_init(&ignore);
		int rmrc = device_sh(&t, rm, &ignore, device_timeout_s, "releasing the job's directory");
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
	int frc = fetch(&t, rb, lb, 0, &left);
	if (!frc) {
		fetch(&t, rs, ls, 1, &left);
		fetch(&t, rl, ll, 1, &left);
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
	if (device_sh(&t, script, &ignore, device_timeout_s, "removing the job's directory"))
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
		/* Ends OpenSSH's shared connection: bounded like every command. */
		struct client_io io = { .timeout_s = device_timeout_s };
		run_client(end, &io);
		transport_free_argv(end);
	}
	kitfile_free(&k);
	remote_device_free(&d);
	free(local);
	transport_free(&t);
	return rc;
}
