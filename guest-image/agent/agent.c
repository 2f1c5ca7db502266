/* kvmqual-agent: the benchmark guest's init.  It mounts what the guest
 * needs, loads the modules listed in /lib/modules/kvmqual.order, tells the
 * host it is ready (with the guest's own uptime, so the boot can be split
 * into firmware+kernel and userspace), then runs the host's commands and
 * returns exit status, stdout, stderr and wall time, in checked frames
 * (lib/frame.h) over a virtio-serial port, or the serial console.
 *
 * Requests (JSON in a FRAME_REQUEST):
 *   {"id":N,"op":"exec","argv":[...],"timeout_ms":N}
 *   {"id":N,"op":"facts"}   {"id":N,"op":"ping"}   {"id":N,"op":"shutdown"}
 * Responses echo the id; see reply_exec() and reply_facts(). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../../lib/frame.h"
#include "../../lib/runcmd.h"
#include "../../lib/util.h"

#define AGENT_VERSION "1"
#define AGENT_PORT_NAME "org.kvmqual.agent"
#define OUTPUT_CAP (16u << 20)
#define REQUEST_CAP (1u << 20)

static int chan_fd = -1;
static double setup_done_s;  /* guest time when modules, tools and network were up */
static const char *chan_kind = "none";

static double boottime_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	/* The kernel log is the one place that always works, even before a
	 * channel exists. */
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dprintf(fd, "kvmqual-agent: %s\n", line);
		close(fd);
	}
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { fd, POLLOUT, 0 };
			poll(&pfd, 1, 100);
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void send_json(enum frame_type type, cJSON *msg)
{
	char *text = cJSON_PrintUnformatted(msg);
	uint8_t *frame;
	size_t len;
	if (frame_encode(type, text, strlen(text), &frame, &len) == 0) {
		if (write_all(chan_fd, frame, len))
			logmsg("write to the host failed: %s", strerror(errno));
		free(frame);
	}
	free(text);
}

static void send_error(double id, const char *what)
{
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddNumberToObject(msg, "id", id);
	cJSON_AddBoolToObject(msg, "ok", 0);
	cJSON_AddStringToObject(msg, "error", what);
	send_json(FRAME_ERROR, msg);
	cJSON_Delete(msg);
}

/* ---- bring-up ---- */

static void mount_basics(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
	mkdir("/dev/pts", 0755);
	mount("devpts", "/dev/pts", "devpts", 0, NULL);
	mkdir("/dev/shm", 01777);
	mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
}

/* What the channel to the host needs; loaded first so that the ready frame
 * goes out before the rest of the set-up. */
static int channel_module(const char *path)
{
	static const char *const early[] = { "virtio", "virtio_ring", "virtio_pci_modern_dev",
					     "virtio_pci_legacy_dev", "virtio_pci", "virtio_mmio",
					     "virtio_console" };
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strcspn(base, ".");
	for (size_t i = 0; i < sizeof(early) / sizeof(early[0]); i++)
		if (strlen(early[i]) == n && !strncmp(base, early[i], n))
			return 1;
	return 0;
}

/* Loads the modules of /lib/modules/kvmqual.order (dependencies first):
 * those the channel needs (early = 1), or all the others (early = 0). */
static cJSON *module_times;  /* name -> ms, reported in the ready frame */

static void load_modules(int early)
{
	FILE *f = fopen("/lib/modules/kvmqual.order", "r");
	if (!f)
		return;
	char name[256];
	while (fgets(name, sizeof(name), f)) {
		char *m = kq_strtrim(name);
		if (!*m || *m == '#' || channel_module(m) != early)
			continue;
		char path[512];
		/* Absolute paths as guest-image/build.sh writes them, or bare
		 * module names under /lib/modules. */
		if (*m == '/')
			snprintf(path, sizeof(path), "%s", m);
		else
			snprintf(path, sizeof(path), "/lib/modules/%s%s", m, strstr(m, ".ko") ? "" : ".ko");
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			logmsg("module %s: %s", path, strerror(errno));
			continue;
		}
		double t0 = boottime_s();
		if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST)
			logmsg("module %s: %s", path, strerror(errno));
		if (early) {
			const char *base = strrchr(path, '/');
			if (!module_times)
				module_times = cJSON_CreateObject();
			cJSON_AddNumberToObject(module_times, base ? base + 1 : path, (boottime_s() - t0) * 1e3);
		}
		close(fd);
	}
	fclose(f);
}

/* Looks in DIR for an entry whose name starts with PREFIX and whose ATTR
 * file reads WANT; gives "/dev/ENTRY".  Devices appear when their driver
 * binds, so it tries ATTEMPTS times, INTERVAL_US apart. */
static int find_sysfs_device(const char *dir, const char *prefix, const char *attr, const char *want,
			     char *dev, size_t size, int attempts, int interval_us)
{
	for (int attempt = 0; attempt < attempts; attempt++) {
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)))
				continue;
			char path[300], value[128] = "";
			snprintf(path, sizeof(path), "%s/%s/%s", dir, de->d_name, attr);
			FILE *f = fopen(path, "r");
			if (f) {
				if (fgets(value, sizeof(value), f))
					kq_strtrim(value);
				fclose(f);
			}
			if (!strcmp(value, want)) {
				snprintf(dev, size, "/dev/%s", de->d_name);
				closedir(d);
				return 0;
			}
		}
		if (d)
			closedir(d);
		if (attempt + 1 < attempts)
			usleep((useconds_t)interval_us);
	}
	return -1;
}

/* The virtio disk whose serial (QEMU's -device ...,serial=) is given. */
static int find_disk(const char *serial, char *dev, size_t size, int attempts)
{
	return find_sysfs_device("/sys/block", "vd", "serial", serial, dev, size, attempts, 20000);
}

/* The tools (busybox, sysbench, fio, iperf3, STREAM and their libraries)
 * are on a read-only squashfs disk with serial "kqtools": mount it and make
 * it the root, moving the API file systems along (what switch_root does,
 * except that PID 1 stays this program).  Images without /newroot (the
 * floor) or without the disk keep running from the initramfs. */
static void switch_to_tools(void)
{
	char dev[64];
	if (access("/newroot", F_OK))
		return;
	if (find_disk("kqtools", dev, sizeof(dev), 100)) {
		logmsg("no tools disk (virtio-blk with serial kqtools): running from the initramfs");
		return;
	}
	if (mount(dev, "/newroot", "squashfs", MS_RDONLY, NULL)) {
		logmsg("mount %s on /newroot: %s", dev, strerror(errno));
		return;
	}
	static const char *const moves[] = { "/proc", "/sys", "/dev", "/tmp" };
	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		char target[64];
		snprintf(target, sizeof(target), "/newroot%s", moves[i]);
		if (mount(moves[i], target, NULL, MS_MOVE, NULL))
			logmsg("move %s: %s", moves[i], strerror(errno));
	}
	mount("tmpfs", "/newroot/run", "tmpfs", 0, "mode=755");
	mount("tmpfs", "/newroot/root", "tmpfs", 0, "mode=700");
	if (chdir("/newroot") || mount(".", "/", NULL, MS_MOVE, NULL) || chroot(".") || chdir("/"))
		logmsg("switching to the tools disk: %s", strerror(errno));
}

/* The scratch disk for the I/O workloads, by serial, as /dev/kqscratch.
 * Disks are probed by now (the tools disk was found, or none is coming). */
static void link_scratch_disk(void)
{
	char dev[64];
	if (find_disk("kqscratch", dev, sizeof(dev), 1) == 0)
		symlink(dev, "/dev/kqscratch");
}

static char *cmdline_value(const char *key)
{
	char *cmdline = NULL;
	size_t cap = 0;
	FILE *f = fopen("/proc/cmdline", "r");
	if (!f)
		return NULL;
	ssize_t n = getline(&cmdline, &cap, f);
	fclose(f);
	char *result = NULL;
	size_t klen = strlen(key);
	for (char *tok = n > 0 ? strtok(cmdline, " \n") : NULL; tok; tok = strtok(NULL, " \n"))
		if (!strncmp(tok, key, klen) && tok[klen] == '=')
			result = kq_xstrdup(tok + klen + 1);
	free(cmdline);
	return result;
}

static int run_quiet(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	if (pid > 0)
		waitpid(pid, &status, 0);
	return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* kq.ip=ADDR/PREFIX and kq.gw=ADDR on the kernel command line configure
 * eth0 (QEMU's user-mode network: 10.0.2.15/24 via 10.0.2.2). */
static void setup_network(void)
{
	char *bb = "/bin/busybox";
	char *lo[] = { bb, "ip", "link", "set", "lo", "up", NULL };
	run_quiet(lo);
	char *ip = cmdline_value("kq.ip"), *gw = cmdline_value("kq.gw");
	if (ip) {
		char *addr[] = { bb, "ip", "addr", "add", ip, "dev", "eth0", NULL };
		char *up[] = { bb, "ip", "link", "set", "eth0", "up", NULL };
		if (run_quiet(addr) || run_quiet(up))
			logmsg("could not configure eth0 with %s", ip);
		if (gw) {
			char *route[] = { bb, "ip", "route", "add", "default", "via", gw, NULL };
			run_quiet(route);
		}
	}
	free(ip);
	free(gw);
}

/* The virtio-serial port named org.kvmqual.agent, waited for up to 2 s
 * (devtmpfs creates the node when virtio_console binds). */
static int open_virtio_port(void)
{
	char dev[300];
	if (find_sysfs_device("/sys/class/virtio-ports", "", "name", AGENT_PORT_NAME, dev, sizeof(dev), 200,
			      10000))
		return -1;
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		logmsg("%s: %s", dev, strerror(errno));
	return fd;
}

static int open_console(void)
{
	char *dev = cmdline_value("kq.console");
	int fd = open(dev ? dev : "/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	free(dev);
	if (fd < 0)
		return -1;
	struct termios t;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	/* Kernel messages would interleave with frames: keep only emergencies. */
	int p = open("/proc/sys/kernel/printk", O_WRONLY | O_CLOEXEC);
	if (p >= 0) {
		write_all(p, "1", 1);
		close(p);
	}
	return fd;
}

/* ---- requests ---- */

/* In the child (already in a process group of its own, which is killed on
 * a timeout): /tmp as its directory, a plain PATH. */
static void exec_child_setup(void)
{
	if (chdir("/tmp"))
		_exit(127);
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", 1);
	setenv("HOME", "/tmp", 1);
}

static void reply_exec(double id, const cJSON *req)
{
	const cJSON *argv_json = cJSON_GetObjectItem(req, "argv");
	const cJSON *timeout = cJSON_GetObjectItem(req, "timeout_ms");
	int argc = cJSON_GetArraySize(argv_json);
	if (!cJSON_IsArray(argv_json) || argc < 1 || argc > 256) {
		send_error(id, "exec: argv must be an array of 1 to 256 strings");
		return;
	}
	char **argv = kq_xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++) {
		const cJSON *a = cJSON_GetArrayItem(argv_json, i);
		if (!cJSON_IsString(a)) {
			free(argv);
			send_error(id, "exec: argv must be an array of strings");
			return;
		}
		argv[i] = a->valuestring;
	}
	double timeout_ms = cJSON_IsNumber(timeout) && timeout->valuedouble > 0 ? timeout->valuedouble : 600000;
	if (timeout_ms > 86400000)
		timeout_ms = 86400000;
	struct runcmd_result r;
	int e = runcmd(argv, (int)timeout_ms, OUTPUT_CAP, exec_child_setup, &r);
	if (e) {
		/* As a shell would: the command could not be run, exit 127. */
		kq_buf_printf(&r.err, "kvmqual-agent: cannot run %s: %s\n", argv[0], strerror(e));
		kq_buf_add(&r.out, "", 0);
		r.exit_code = 127;
	}
	free(argv);

	cJSON *msg = cJSON_CreateObject();
	cJSON_AddNumberToObject(msg, "id", id);
	cJSON_AddBoolToObject(msg, "ok", 1);
	cJSON_AddNumberToObject(msg, "exit_code", r.exit_code);
	cJSON_AddNumberToObject(msg, "signal", r.signal);
	cJSON_AddBoolToObject(msg, "timed_out", r.timed_out);
	cJSON_AddNumberToObject(msg, "wall_ms", r.wall_ms);
	char *b = kq_base64_encode(r.out.data, r.out.len);
	cJSON_AddStringToObject(msg, "stdout_b64", b);
	free(b);
	b = kq_base64_encode(r.err.data, r.err.len);
	cJSON_AddStringToObject(msg, "stderr_b64", b);
	free(b);
	cJSON_AddBoolToObject(msg, "truncated", r.truncated);
	send_json(FRAME_RESPONSE, msg);
	cJSON_Delete(msg);
	runcmd_result_free(&r);
}

static char *first_field(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char line[512];
	char *result = NULL;
	while (!result && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (!strcmp(kq_strtrim(line), key))
			result = kq_xstrdup(kq_strtrim(colon + 1));
	}
	fclose(f);
	return result;
}

static void add_facts(cJSON *msg)
{
	struct utsname u;
	if (uname(&u) == 0) {
		cJSON_AddStringToObject(msg, "kernel", u.release);
		cJSON_AddStringToObject(msg, "machine", u.machine);
	}
	cJSON_AddNumberToObject(msg, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
	char *mem = first_field("/proc/meminfo", "MemTotal");
	cJSON_AddNumberToObject(msg, "mem_kb", mem ? strtod(mem, NULL) : 0);
	free(mem);
	char *model = first_field("/proc/cpuinfo", "model name");
	if (!model) {
		char *imp = first_field("/proc/cpuinfo", "CPU implementer");
		char *part = first_field("/proc/cpuinfo", "CPU part");
		if (imp && part)
			model = kq_xasprintf("implementer %s part %s", imp, part);
		free(imp);
		free(part);
	}
	cJSON_AddStringToObject(msg, "cpu_model", model ? model : "unknown");
	free(model);
	cJSON_AddNumberToObject(msg, "uptime_s", boottime_s());
	if (setup_done_s > 0)
		cJSON_AddNumberToObject(msg, "setup_done_s", setup_done_s);
}

static void handle(const uint8_t *payload, size_t len)
{
	cJSON *req = cJSON_ParseWithLength((const char *)payload, len);
	const cJSON *id_json = cJSON_GetObjectItem(req, "id");
	const cJSON *op = cJSON_GetObjectItem(req, "op");
	double id = cJSON_IsNumber(id_json) ? id_json->valuedouble : 0;
	if (!req || !cJSON_IsString(op)) {
		send_error(id, "request is not a JSON object with an \"op\"");
		cJSON_Delete(req);
		return;
	}
	if (!strcmp(op->valuestring, "exec")) {
		reply_exec(id, req);
	} else if (!strcmp(op->valuestring, "facts") || !strcmp(op->valuestring, "ping")) {
		cJSON *msg = cJSON_CreateObject();
		cJSON_AddNumberToObject(msg, "id", id);
		cJSON_AddBoolToObject(msg, "ok", 1);
		if (!strcmp(op->valuestring, "facts"))
			add_facts(msg);
		send_json(FRAME_RESPONSE, msg);
		cJSON_Delete(msg);
	} else if (!strcmp(op->valuestring, "shutdown")) {
		cJSON *msg = cJSON_CreateObject();
		cJSON_AddNumberToObject(msg, "id", id);
		cJSON_AddBoolToObject(msg, "ok", 1);
		send_json(FRAME_RESPONSE, msg);
		cJSON_Delete(msg);
		cJSON_Delete(req);
		tcdrain(chan_fd);
		sync();
		reboot(RB_POWER_OFF); /* PSCI SYSTEM_OFF on arm64, ACPI on x86 */
		_exit(0);
	} else {
		char what[160];
		snprintf(what, sizeof(what), "unknown op \"%.100s\"", op->valuestring);
		send_error(id, what);
	}
	cJSON_Delete(req);
}

int main(void)
{
	double agent_start_s = 0;
	if (getpid() == 1)
		mount_basics();
	agent_start_s = boottime_s();
	signal(SIGPIPE, SIG_IGN);
	load_modules(1);
	double modules_s = boottime_s();
	chan_fd = open_virtio_port();
	chan_kind = "virtio-serial";
	if (chan_fd < 0) {
		chan_fd = open_console();
		chan_kind = "console";
	}
	if (chan_fd < 0) {
		logmsg("no channel to the host: no virtio port %s and no console", AGENT_PORT_NAME);
		for (;;)
			pause();
	}
	cJSON *ready = cJSON_CreateObject();
	cJSON_AddStringToObject(ready, "agent_version", AGENT_VERSION);
	cJSON_AddNumberToObject(ready, "agent_start_s", agent_start_s);
	cJSON_AddNumberToObject(ready, "modules_s", modules_s);
	if (module_times)
		cJSON_AddItemToObject(ready, "module_ms", module_times);
	cJSON_AddNumberToObject(ready, "ready_s", boottime_s());
	cJSON_AddStringToObject(ready, "channel", chan_kind);
	add_facts(ready);
	send_json(FRAME_READY, ready);
	cJSON_Delete(ready);
	logmsg("ready on %s", chan_kind);

	/* The rest of the set-up; requests wait in the channel meanwhile. */
	load_modules(0);
	switch_to_tools();
	link_scratch_disk();
	setup_network();
	setup_done_s = boottime_s();

	struct frame_decoder dec;
	frame_decoder_init(&dec, REQUEST_CAP);
	for (;;) {
		uint8_t buf[65536];
		ssize_t n = read(chan_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The host end is not connected (virtio ports read 0 then). */
			usleep(20000);
			continue;
		}
		frame_feed(&dec, buf, (size_t)n);
		for (;;) {
			enum frame_event ev = frame_next(&dec);
			if (ev == FRAME_NEED_MORE)
				break;
			if (ev == FRAME_BAD) {
				send_error(0, dec.error);
				continue;
			}
			if (dec.type == FRAME_REQUEST)
				handle(dec.payload, dec.payload_len);
			else
				send_error(0, "unexpected frame type from the host");
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			; /* as init, reap orphans */
	}
}
