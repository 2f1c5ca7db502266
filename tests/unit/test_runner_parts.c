#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../runners/conditions.h"
#include "../../lib/frame.h"
#include "../../runners/guest.h"
#include "../../runners/guestvuln.h"
#include "../../runners/native.h"
#include "../../runners/targets.h"
#include "test.h"

TEST(targets_shipped_file)
{
	struct target *t;
	size_t n;
	struct kq_err err;
	CHECK_INT(targets_load("runners/targets.conf", &t, &n, &err), 0);
	CHECK_INT(n, 5);
	CHECK_STR(t[0].workload, "boot");
	CHECK_STR(t[0].metric, "total_ms");
	CHECK_INT(t[0].op, OP_LT);
	CHECK(target_met(&t[0], 1999) && !target_met(&t[0], 2000));
	CHECK_INT(t[1].op, OP_PCT_NATIVE_GE);
	CHECK(target_met(&t[1], 85) && !target_met(&t[1], 84.9));
	free(t);
}

TEST(targets_bad_lines)
{
	const char *bad[] = {
		"cpu kvm sysbench-cpu.events_per_second %native>= 85",          /* 5 words */
		"cpu qemu sysbench-cpu.events_per_second >= 85 %",              /* accel */
		"cpu kvm sysbench-cpu >= 85 %",                                 /* no metric */
		"cpu kvm .x >= 85 %",
		"cpu kvm a.b => 85 %",                                          /* op */
		"cpu kvm a.b >= eighty %",                                      /* number */
		"cpu kvm a.b >= 85x %",
		"cpu kvm a.b >= nan %",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct target *t = NULL;
		size_t n;
		struct kq_err err = { "" };
		char text[256];
		snprintf(text, sizeof(text), "# comment\n\n%s\n", bad[i]);
		if (targets_parse(text, strlen(text), "t.conf", &t, &n, &err) != -1 || !strstr(err.msg, "t.conf:3:"))
			test_fail(__FILE__, __LINE__, "case %zu accepted or error without line: '%s'", i, err.msg);
		free(t);
	}
	/* What kvmqual run does not measure is an error naming the line and
	 * what there is, not a target that is "not measured" forever. */
	const struct {
		const char *text, *want;
	} unknown[] = {
		{ "cpu kvm sysbench-cpu.events_per_secnd %native>= 85 %\n",
		  "t.conf:1: unknown metric 'sysbench-cpu.events_per_secnd': sysbench-cpu measures events_per_second" },
		{ "# x\nnet kvm iperf3-h2g-tpa.gbps >= 1 Gbit/s\n", "t.conf:2: unknown workload 'iperf3-h2g-tpa'" },
		{ "boot kvm boot.total >= 1 ms\n", "t.conf:1: unknown metric 'boot.total': boot measures total_ms" },
	};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		struct target *t = NULL;
		size_t n;
		struct kq_err err = { "" };
		CHECK_INT(targets_parse(unknown[i].text, strlen(unknown[i].text), "t.conf", &t, &n, &err), -1);
		if (!strstr(err.msg, unknown[i].want))
			test_fail(__FILE__, __LINE__, "case %zu: '%s', expected '%s'", i, err.msg, unknown[i].want);
		free(t);
	}
	/* A NUL byte ended the file silently: the targets after it were lost. */
	static const char nul[] = "boot kvm boot.total_ms < 2000 ms\n# a\000b\ndisk kvm fio-seqread.seqread_mbps >= 200 MB/s\n";
	struct target *tn = NULL;
	size_t nn;
	struct kq_err nerr = { "" };
	CHECK_INT(targets_parse(nul, sizeof(nul) - 1, "t.conf", &tn, &nn, &nerr), -1);
	CHECK(strstr(nerr.msg, "t.conf:2: byte 0x00 (a NUL)") != NULL);
	free(tn);
	static const char ctl[] = "boot kvm boot.total_ms < 2000 ms\x1b[2J\n";
	CHECK_INT(targets_parse(ctl, sizeof(ctl) - 1, "t.conf", &tn, &nn, &nerr), -1);
	CHECK(strstr(nerr.msg, "t.conf:1: byte 0x1b (a control character)") != NULL);
	free(tn);
	/* The shipped targets' own kind of line is fine, with CRLF too. */
	static const char ok[] = "net kvm iperf3-h2g-tap.gbps >= 1 Gbit/s\r\ncpu1 tcg sysbench-cpu-1t.events_per_second > 1 e/s\r\n";
	CHECK_INT(targets_parse(ok, sizeof(ok) - 1, "t.conf", &tn, &nn, &nerr), 0);
	CHECK_INT(nn, 2);
	free(tn);
	struct kq_err err;
	struct target *t;
	size_t n;
	CHECK_INT(targets_load("/nonexistent/targets.conf", &t, &n, &err), -1);
	CHECK(strstr(err.msg, "/nonexistent/targets.conf") != NULL);
}

static void put(const char *root, const char *rel, const char *text)
{
	char path[512], dir[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "mkdir -p $(dirname '%s')", path);
	if (system(dir))
		return;
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(conditions_from_a_fake_tree)
{
	char root[] = "/tmp/kq-cond-XXXXXX";
	CHECK(mkdtemp(root) != NULL);
	put(root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "2400000\n");
	put(root, "sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "1800000\n");
	put(root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "ondemand\n");
	put(root, "sys/class/thermal/thermal_zone0/temp", "61500\n");
	put(root, "sys/class/thermal/thermal_zone1/temp", "83000\n");
	put(root, "proc/loadavg", "0.52 0.40 0.30 3/200 1234\n");
	struct host_conditions a, b;
	conditions_sample(root, &a);
	CHECK(a.cpu_mhz_avg > 2099.9 && a.cpu_mhz_avg < 2100.1);
	CHECK_STR(a.governor, "ondemand");
	CHECK(a.temp_c_max > 82.9 && a.temp_c_max < 83.1);
	CHECK_INT(a.procs_running, 3);
	CHECK_INT(a.pi_throttled, -1);
	CHECK(!conditions_throttled(&a, &a));
	/* the Pi's firmware flag "throttled now" (bit 2) */
	put(root, "sys/devices/platform/soc/soc:firmware/get_throttled", "0x50004\n");
	conditions_sample(root, &b);
	CHECK(conditions_throttled(&a, &b));
	/* x86 throttle counters that moved */
	put(root, "sys/devices/platform/soc/soc:firmware/get_throttled", "0x0\n");
	put(root, "sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count", "7\n");
	conditions_sample(root, &b);
	CHECK(conditions_throttled(&a, &b));
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK_INT(system(cmd), 0);
}

TEST(native_exec_paths)
{
	struct agent_result r;
	struct kq_err err;
	const char *echo[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	CHECK_INT(native_exec(echo, 5000, &r, &err), 0);
	CHECK_INT(r.exit_code, 3);
	CHECK_STR((char *)r.out, "out\n");
	CHECK_STR((char *)r.err, "err\n");
	agent_result_free(&r);
	const char *sleeper[] = { "sh", "-c", "sleep 30 & sleep 30", NULL };
	CHECK_INT(native_exec(sleeper, 300, &r, &err), 0);
	CHECK_INT(r.timed_out, 1);
	CHECK(r.wall_ms < 5000);
	agent_result_free(&r);
	const char *missing[] = { "/nonexistent/tool", NULL };
	CHECK_INT(native_exec(missing, 1000, &r, &err), -1);
	CHECK(strstr(err.msg, "/nonexistent/tool") != NULL);
}

TEST(cpulist_for_pinning)
{
	cpu_set_t set;
	CHECK_INT(guest_parse_cpulist("2-6", &set), 0);
	CHECK_INT(CPU_COUNT(&set), 5);
	CHECK(CPU_ISSET(2, &set) && CPU_ISSET(6, &set) && !CPU_ISSET(7, &set));
	CHECK_INT(guest_parse_cpulist("0,4-5,7", &set), 0);
	CHECK_INT(CPU_COUNT(&set), 4);
	const char *bad[] = { "", "x", "3-1", "1-", "1,,2", "-1", "99999", "1 2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (guest_parse_cpulist(bad[i], &set) != -1)
			test_fail(__FILE__, __LINE__, "'%s' accepted", bad[i]);
}

TEST(qemu_command_line)
{
	struct guest_config cfg = { .arch = "aarch64", .accel = "kvm", .gic = "3", .image_dir = "/img",
				    .mem_mb = 512, .cpus = 4, .net_user = 1, .disk = "/d.img",
				    .disk_opts = "cache=none,aio=native" };
	char **argv = guest_qemu_argv(&cfg, "/s.sock", "/c.log", NULL);
	struct kq_buf b;
	kq_buf_init(&b);
	for (char **a = argv; *a; a++)
		kq_buf_printf(&b, "%s ", *a);
	CHECK(strstr(b.data, "qemu-system-aarch64 -M virt,gic-version=3 -accel kvm -cpu host ") != NULL);
	CHECK(strstr(b.data, "-smp 4 ") != NULL);
	CHECK(strstr(b.data, "file=/d.img,cache=none,aio=native,werror=report,rerror=report") != NULL);
	CHECK(strstr(b.data, "virtio-blk-device,drive=disk0,serial=kqscratch") != NULL);
	CHECK(strstr(b.data, "kq.ip=10.0.2.15/24 kq.gw=10.0.2.2") != NULL);
	kq_buf_free(&b);
	guest_free_argv(argv);
	cfg.arch = "x86_64";
	cfg.accel = "tcg";
	argv = guest_qemu_argv(&cfg, "/s.sock", "/c.log", NULL);
	kq_buf_init(&b);
	for (char **a = argv; *a; a++)
		kq_buf_printf(&b, "%s ", *a);
	CHECK(strstr(b.data, "qemu-system-x86_64 -M pc,hpet=off -accel tcg -cpu max ") != NULL);
	CHECK(strstr(b.data, "acpi=noirq") != NULL);
	CHECK(strstr(b.data, "virtio-net-pci,netdev=net0") != NULL);
	CHECK(strstr(b.data, "memory-backend") == NULL && strstr(b.data, "balloon") == NULL && strstr(b.data, "-mon") == NULL);
	kq_buf_free(&b);
	guest_free_argv(argv);
	/* Huge pages, the balloon and QMP: the knobs kvmqual run and ab turn. */
	cfg.hugepage_kb = 2048;
	cfg.balloon = 1;
	argv = guest_qemu_argv(&cfg, "/s.sock", "/c.log", "/q.sock");
	kq_buf_init(&b);
	for (char **a = argv; *a; a++)
		kq_buf_printf(&b, "%s ", *a);
	CHECK(strstr(b.data, "-object memory-backend-memfd,id=kqmem,size=512M,hugetlb=on,hugetlbsize=2048K "
			     "-M pc,hpet=off,memory-backend=kqmem ") != NULL);
	CHECK(strstr(b.data, "-m 512 ") != NULL);
	CHECK(strstr(b.data, "-chardev socket,id=kqqmp,path=/q.sock -mon chardev=kqqmp,mode=control ") != NULL);
	CHECK(strstr(b.data, "-device virtio-balloon-pci,id=kqballoon ") != NULL);
	kq_buf_free(&b);
	guest_free_argv(argv);
	cfg.arch = "aarch64";
	cfg.hugepage_kb = 64;
	argv = guest_qemu_argv(&cfg, "/s.sock", "/c.log", NULL);
	kq_buf_init(&b);
	for (char **a = argv; *a; a++)
		kq_buf_printf(&b, "%s ", *a);
	CHECK(strstr(b.data, "hugetlbsize=64K -M virt,gic-version=3,memory-backend=kqmem ") != NULL);
	CHECK(strstr(b.data, "virtio-balloon-device,id=kqballoon") != NULL);
	kq_buf_free(&b);
	guest_free_argv(argv);
}

/* A free loopback port, from the kernel. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* A child that listens on port after delay_ms (never when port < 0), then
 * waits to be killed; or exits at once when exit_code >= 0. */
static pid_t late_listener(int port, int delay_ms, int exit_code)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	if (exit_code >= 0)
		_exit(exit_code);
	usleep((useconds_t)delay_ms * 1000);
	if (port > 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1))
			_exit(3);
	}
	for (;;)
		pause();
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(native_wait_listening)
{
	struct kq_err err;
	int port = free_port();
	CHECK(port > 0);
	/* Ready only after a while: found, however long the machine takes. */
	pid_t pid = late_listener(port, 300, -1);
	CHECK_INT(native_wait_listening(pid, port, 20000, &err), 0);
	reap(pid);
	/* A server that exits first is an error that says so, at once. */
	pid = late_listener(port, 0, 7);
	CHECK_INT(native_wait_listening(pid, port, 20000, &err), -1);
	CHECK(strstr(err.msg, "exited before it listened (exit 7)") != NULL);
	/* One that never listens: the time limit. */
	pid = late_listener(-1, 0, -1);
	CHECK_INT(native_wait_listening(pid, port, 200, &err), -1);
	CHECK(strstr(err.msg, "did not listen within 200 ms") != NULL);
	reap(pid);
}

/* What the Debian 6.1 arm64 guest under TCG (cortex-a72) answered to
 * guest_vulns_argv here (kvmqual guest ... -- grep -r . DIR, 2026-12). */
static const char guest_a72_grep[] =
	"/sys/devices/system/cpu/vulnerabilities/spectre_v2:Vulnerable\n"
	"/sys/devices/system/cpu/vulnerabilities/indirect_target_selection:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/itlb_multihit:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/vmscape:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/mmio_stale_data:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/mds:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/reg_file_data_sampling:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/tsa:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/l1tf:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/spec_store_bypass:Vulnerable\n"
	"/sys/devices/system/cpu/vulnerabilities/tsx_async_abort:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/spectre_v1:Mitigation: __user pointer sanitization\n"
	"/sys/devices/system/cpu/vulnerabilities/gather_data_sampling:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/retbleed:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/spec_rstack_overflow:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/srbds:Not affected\n"
	"/sys/devices/system/cpu/vulnerabilities/meltdown:Not affected\n";

/* The agent's answer to an exec, as its frame carries it (base64), parsed
 * by the runner's own code and then read as the guest's view. */
static void view_from_agent(int exit_code, int timed_out, const char *out, size_t out_len, const char *err,
			    struct guest_vulns *v)
{
	cJSON *resp = cJSON_CreateObject();
	cJSON_AddNumberToObject(resp, "id", 7);
	cJSON_AddBoolToObject(resp, "ok", 1);
	cJSON_AddNumberToObject(resp, "exit_code", exit_code);
	cJSON_AddNumberToObject(resp, "signal", exit_code < 0 ? 9 : 0);
	cJSON_AddBoolToObject(resp, "timed_out", timed_out);
	cJSON_AddNumberToObject(resp, "wall_ms", 100);
	char *b64 = kq_base64_encode(out, out_len);
	cJSON_AddStringToObject(resp, "stdout_b64", b64);
	free(b64);
	b64 = kq_base64_encode(err, strlen(err));
	cJSON_AddStringToObject(resp, "stderr_b64", b64);
	free(b64);
	cJSON_AddBoolToObject(resp, "truncated", 0);
	struct agent_result r;
	struct kq_err e;
	CHECK_INT(agent_parse_exec_response(resp, &r, &e), 0);
	cJSON_Delete(resp);
	guest_vulns_parse(r.exit_code, r.timed_out, (const char *)r.out, r.out_len, (const char *)r.err, r.err_len, v);
	agent_result_free(&r);
}

TEST(guest_vulns_from_the_agents_answer)
{
	struct guest_vulns *v = kq_xmalloc(sizeof(*v));
	char line[400];
	view_from_agent(0, 0, guest_a72_grep, sizeof(guest_a72_grep) - 1, "", v);
	CHECK(v->known);
	CHECK_INT(v->report.count, 17);
	CHECK_INT(v->report.vulnerable, 2);
	CHECK_INT(v->report.mitigated, 1);
	CHECK_INT(v->report.not_affected, 14);
	CHECK_STR(v->report.e[0].name, "spectre_v2");
	CHECK_STR(v->report.e[11].text, "Mitigation: __user pointer sanitization");
	guest_vulns_summary(v, line, sizeof(line));
	CHECK_STR(line, "vulnerable: spectre_v2, spec_store_bypass; 1 mitigated, 14 not affected");
	char *json = guest_vulns_json(v);
	cJSON *o = cJSON_Parse(json);
	CHECK(cJSON_IsObject(o) && cJSON_GetArraySize(o) == 17);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "meltdown")), "Not affected");
	CHECK(!strncmp(json, "{\"spectre_v2\":\"Vulnerable\",\"indirect_target_selection\":\"Not affected\",", 68));
	cJSON_Delete(o);
	free(json);

	/* Unknown, with the reason, never a failure: each way the answer can
	 * fall short (the first: this image's busybox on a missing directory). */
	static const struct {
		int exit_code, timed_out;
		const char *out, *err, *why;
	} unknown[] = {
		{ 2, 0, "", "grep: /sys/devices/system/cpu/vulnerabilities: No such file or directory\n",
		  "grep in the guest: exit 2: grep: /sys/devices/system/cpu/vulnerabilities: No such file or directory" },
		{ 1, 0, "", "", "the guest's /sys/devices/system/cpu/vulnerabilities lists nothing" },
		{ 127, 0, "", "exec: grep: not found", "grep in the guest: exit 127: exec: grep: not found" },
		{ 0, 1, "/x/meltdown:Not affected\n", "", "reading /sys/devices/system/cpu/vulnerabilities in the guest timed out" },
		{ -1, 0, "", "", "grep in the guest was ended by a signal" },
		{ 0, 0, "no colon here\n\n   \n:leading colon\n", "", "the guest's answer (34 bytes) holds no NAME:TEXT line" },
		{ 0, 0, "", "", "the guest's answer (0 bytes) holds no NAME:TEXT line" },
		/* Whatever the guest writes to standard error reaches the store
		 * and terminals as one line of printable ASCII. */
		{ 2, 0, "", "\n\n\x1b[2J<script>\r\xff\x01 gone\nsecond line",
		  "grep in the guest: exit 2: ?[2J<script>?? gone" },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(unknown); i++) {
		view_from_agent(unknown[i].exit_code, unknown[i].timed_out, unknown[i].out, strlen(unknown[i].out),
				unknown[i].err, v);
		CHECK(!v->known);
		if (strcmp(v->why, unknown[i].why))
			test_fail(__FILE__, __LINE__, "case %zu: why '%s', expected '%s'", i, v->why, unknown[i].why);
		CHECK(guest_vulns_json(v) == NULL);
		guest_vulns_summary(v, line, sizeof(line));
		CHECK(!strncmp(line, "unknown: ", 9));
	}
	/* A long standard error is cut, not overflowed. */
	char *long_err = kq_xmalloc(100001);
	memset(long_err, 'e', 100000);
	long_err[100000] = '\0';
	view_from_agent(2, 0, "", 0, long_err, v);
	CHECK(!v->known && strlen(v->why) < sizeof(v->why));
	free(long_err);

	/* A hostile guest: markup, control bytes, bytes that are not UTF-8, a
	 * line of 100,000 characters, a name given twice, more files than
	 * any kernel has.  What is kept is printable ASCII of bounded length,
	 * and the JSON the store gets is valid. */
	struct kq_buf hostile;
	kq_buf_init(&hostile);
	kq_buf_printf(&hostile, "/s/<script>:<img src=x onerror=alert(1)> & \"quoted\"\n");
	kq_buf_printf(&hostile, "/s/meltdown:Vulnerable\x1b[31m\xff\xfe\r\n");
	kq_buf_printf(&hostile, "/s/meltdown:Not affected\n");
	kq_buf_printf(&hostile, "/s/long:Mitigation: ");
	for (int i = 0; i < 100000; i++)
		kq_buf_printf(&hostile, "x");
	kq_buf_printf(&hostile, "\n/s/name with spaces:Vulnerable\n");
	for (int i = 0; i < 100; i++)
		kq_buf_printf(&hostile, "/s/extra%d:Not affected\n", i);
	view_from_agent(0, 0, hostile.data, hostile.len, "", v);
	CHECK(v->known);
	CHECK_INT(v->report.count, VULN_MAX);
	CHECK_STR(v->report.e[0].name, "<script>");
	CHECK_STR(v->report.e[0].text, "<img src=x onerror=alert(1)> & \"quoted\"");
	CHECK_STR(v->report.e[1].text, "Vulnerable?[31m??");
	CHECK_INT(v->report.e[1].state, VULN_VULNERABLE);
	CHECK(strlen(v->report.e[3].text) < sizeof(v->report.e[3].text));
	CHECK_INT(v->report.e[3].state, VULN_MITIGATED);
	for (size_t i = 0; i < v->report.count; i++)
		for (const char *p = v->report.e[i].text; *p; p++)
			CHECK(*p >= 0x20 && *p < 0x7f);
	json = guest_vulns_json(v);
	o = cJSON_Parse(json);
	CHECK(cJSON_IsObject(o));
	/* meltdown twice: the first text is kept, once. */
	CHECK_INT(cJSON_GetArraySize(o), VULN_MAX - 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "meltdown")), "Vulnerable?[31m??");
	CHECK(cJSON_GetObjectItemCaseSensitive(o, "name with spaces") == NULL);
	cJSON_Delete(o);
	free(json);
	kq_buf_free(&hostile);
	free(v);
}
