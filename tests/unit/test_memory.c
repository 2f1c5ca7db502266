/* QEMU's memory as the host sees it (runners/memory.c): smaps captured from
 * a real QEMU (aarch64 guest under TCG, 512 MiB, default memory and on 2 MiB
 * huge pages: tests/fixtures/memory/), broken smaps, the huge pages a host
 * has reserved (a sysfs-like tree under a temporary root), page sizes, and
 * QEMU's QMP lines. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/util.h"
#include "../../runners/memory.h"
#include "../../runners/qmp.h"
#include "../../runners/hostserver.h"
#include "test.h"

static int near(double a, double b)
{
	return a > b - 1e-6 && a < b + 1e-6;
}

TEST(memory_smaps_fixtures)
{
	/* Resident in total (Rss plus hugetlb, summed with awk over the files):
	 * 133720 and 133876 kB; guest RAM (the 512 MiB mapping) 53248 kB. */
	static const struct {
		const char *file;
		double total_kb, guest_kb, thp_kb;
		long page_kb;
	} cases[] = {
		{ "tests/fixtures/memory/qemu-aarch64-tcg-512m.smaps", 133720, 53248, 53248, 4 },
		{ "tests/fixtures/memory/qemu-aarch64-tcg-512m-hugetlb-2m.smaps", 133876, 53248, 0, 2048 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;
		size_t len;
		struct kq_err err;
		if (kq_read_file(cases[i].file, 8u << 20, &text, &len, &err)) {
			test_fail(__FILE__, __LINE__, "%s", err.msg);
			continue;
		}
		struct vmm_memory m;
		char why[200] = "";
		CHECK_INT(vmm_memory_parse(text, len, 512, &m, why, sizeof(why)), 0);
		CHECK(m.guest_found);
		CHECK(near(m.rss_mib, cases[i].total_kb / 1024));
		CHECK(near(m.guest_mib, cases[i].guest_kb / 1024));
		CHECK(near(m.overhead_mib, (cases[i].total_kb - cases[i].guest_kb) / 1024));
		CHECK(near(m.guest_thp_mib, cases[i].thp_kb / 1024));
		CHECK_INT(m.guest_page_kb, cases[i].page_kb);
		/* A guest of another size: its RAM is not there. */
		CHECK_INT(vmm_memory_parse(text, len, 1024, &m, why, sizeof(why)), -1);
		CHECK(strstr(why, "no mapping of 1024 MiB") != NULL);
		CHECK(near(m.rss_mib, cases[i].total_kb / 1024));
		/* Cut anywhere: an answer or an error, never a crash (ASan watches). */
		for (size_t cut = 0; cut < len; cut += len / 53 + 1)
			vmm_memory_parse(text, cut, 512, &m, why, sizeof(why));
		free(text);
	}
	struct vmm_memory m;
	char why[200] = "";
	CHECK_INT(vmm_memory_parse("", 0, 512, &m, why, sizeof(why)), -1);
	CHECK(strstr(why, "not /proc/PID/smaps text") != NULL);
	static const char junk[] = "Size: 524288 kB\nRss: 12 kB\n\xff\xfe garbage";
	CHECK_INT(vmm_memory_parse(junk, sizeof(junk) - 1, 512, &m, why, sizeof(why)), -1);
}

static void put(const char *root, const char *rel, const char *text)
{
	char *path = kq_xasprintf("%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(path);
}

/* Numbers no kernel writes: a value too long for 64 bits was summed as
 * ULLONG_MAX and wrapped the total below the guest's RAM (fuzz_measure);
 * "-5" was read as a huge number.  Refused, or not a value. */
TEST(memory_smaps_odd_numbers)
{
	const char *huge = "7f0000000000-7f0020000000 rw-p 00000000 00:00 0\nSize: 524288 kB\nRss: 4096 kB\n"
			   "55f6d9c23000-55f6da094000 r--p 00000000 fe:00 1 /usr/bin/qemu\nSize: 4548 kB\nRss: 4420 kB\n"
			   "Private_Hugetlb: 888888888888888888888888888 kB\n";
	struct vmm_memory m;
	char why[200] = "";
	CHECK_INT(vmm_memory_parse(huge, strlen(huge), 512, &m, why, sizeof(why)), -1);
	CHECK(strstr(why, "more than any machine has") != NULL);
	const char *minus = "7f0000000000-7f0020000000 rw-p 00000000 00:00 0\nSize: 524288 kB\nRss: 4096 kB\n"
			    "Private_Hugetlb: -5 kB\n";
	CHECK_INT(vmm_memory_parse(minus, strlen(minus), 512, &m, why, sizeof(why)), 0);
	CHECK(near(m.guest_mib, 4));
	CHECK(near(m.rss_mib, 4));
}

TEST(memory_hugepages_reserved)
{
	char root[] = "/tmp/kq-hugepages-measure.XXXXXX";
	CHECK(mkdtemp(root) != NULL);
	put(root, "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "300\n");
	put(root, "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "0\n");
	put(root, "sys/kernel/mm/hugepages/hugepages-64kB/free_hugepages", "0\n");
	long sizes[8];
	CHECK_INT(memory_hugepage_sizes(root, sizes, 8), 3);
	CHECK(sizes[0] == 64 && sizes[1] == 2048 && sizes[2] == 1048576);
	char why[400] = "";
	CHECK_INT(memory_hugepages_free(root, 2048, 256, why, sizeof(why)), 1);
	CHECK_INT(memory_hugepages_free(root, 64, 8192, why, sizeof(why)), 0);
	CHECK_STR(why, "0 huge pages of 64K are free, the guest needs 8192: reserve them as root with "
		       "'echo 8192 > /sys/kernel/mm/hugepages/hugepages-64kB/nr_hugepages' (or hugepagesz=64K "
		       "hugepages=8192 on the kernel command line)");
	CHECK_INT(memory_hugepages_free(root, 32768, 16, why, sizeof(why)), 0);
	CHECK_STR(why, "this kernel offers no 32M huge pages (it has: 64K, 2M, 1G)");
	char *cmd = kq_xasprintf("rm -rf '%s'", root);
	CHECK_INT(system(cmd), 0);
	free(cmd);
	CHECK_INT(memory_parse_size_kb("2M"), 2048);
	CHECK_INT(memory_parse_size_kb("64K"), 64);
	CHECK_INT(memory_parse_size_kb("1G"), 1048576);
	CHECK_INT(memory_parse_size_kb("32m"), 32768);
	static const char *const bad[] = { "", "M", "2", "2MB", "-2M", "0M", "2 M", "99999999999999G" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (memory_parse_size_kb(bad[i]) != -1)
			test_fail(__FILE__, __LINE__, "'%s' read as a page size", bad[i]);
}

TEST(qmp_lines)
{
	cJSON *msg = NULL;
	struct kq_err err;
	static const char greeting[] = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 19, \"minor\": 2, \"major\": 7}}, "
				       "\"capabilities\": [\"oob\"]}}";
	CHECK_INT(qmp_parse_line(greeting, sizeof(greeting) - 1, &msg, &err), 0);
	CHECK(cJSON_GetObjectItem(msg, "QMP") != NULL);
	cJSON_Delete(msg);
	CHECK_INT(qmp_parse_line("[1,2]", 5, &msg, &err), -1);
	CHECK(strstr(err.msg, "not a JSON object") != NULL);
	CHECK_INT(qmp_parse_line("{\"return\": {", 12, &msg, &err), -1);
	CHECK_INT(qmp_parse_line("", 0, &msg, &err), -1);
}

/* The QMP client against a peer that talks like QEMU, on a socketpair:
 * greeting, capabilities, an event in the middle, an error reply. */
TEST(qmp_conversation)
{
	int sv[2];
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		static const char script[] =
			"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n"
			"{\"return\": {}}\r\n"
			"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 1}}\r\n"
			"{\"return\": {\"actual\": 536870912}}\r\n"
			"{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"No balloon device has been activated\"}}\r\n";
		/* Answer each request line with the next reply(s). */
		const char *p = script;
		const char *end = strstr(p, "\n") + 1;
		if (write(sv[1], p, (size_t)(end - p)) < 0)
			_exit(1);
		p = end;
		char buf[4096];
		int replies[] = { 1, 2, 1 };
		for (int i = 0; i < 3; i++) {
			if (read(sv[1], buf, sizeof(buf)) <= 0)
				_exit(1);
			for (int r = 0; r < replies[i]; r++) {
				end = strstr(p, "\n") + 1;
				if (write(sv[1], p, (size_t)(end - p)) < 0)
					_exit(1);
				p = end;
			}
		}
		_exit(0);
	}
	close(sv[1]);
	struct qmp q;
	qmp_init(&q, sv[0]);
	struct kq_err err;
	CHECK_INT(qmp_handshake(&q, 5000, &err), 0);
	cJSON *ret = NULL;
	CHECK_INT(qmp_execute(&q, "query-balloon", NULL, 5000, &ret, &err), 0);
	const cJSON *actual = cJSON_GetObjectItem(ret, "actual");
	CHECK(cJSON_IsNumber(actual) && actual->valuedouble == 536870912);
	CHECK_INT(q.events, 1);
	cJSON_Delete(ret);
	cJSON *args = cJSON_CreateObject();
	cJSON_AddNumberToObject(args, "value", 1 << 28);
	CHECK_INT(qmp_execute(&q, "balloon", args, 5000, &ret, &err), -1);
	cJSON_Delete(args);
	CHECK_STR(err.msg, "QMP balloon: DeviceNotActive: No balloon device has been activated");
	/* QEMU gone: an error, not a hang. */
	CHECK_INT(qmp_execute(&q, "query-balloon", NULL, 5000, &ret, &err), -1);
	CHECK(strstr(err.msg, "closed") != NULL || strstr(err.msg, "cannot write") != NULL);
	qmp_close(&q);
	waitpid(pid, NULL, 0);
}

/* A workload's server on the host: ready when its port listens; a server
 * that exits or never listens is an error in bounded time. */
TEST(hostserver_listen_wait)
{
	int port = hostserver_free_port();
	CHECK(port > 0);
	char portbuf[16];
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	char *argv[] = { "sockperf", "server", "-i", "127.0.0.1", "-p", portbuf, "--tcp", NULL };
	pid_t pid = 0;
	struct kq_err err;
	if (access("/usr/bin/sockperf", X_OK) == 0) {
		CHECK_INT(hostserver_start(argv, NULL, port, 10000, &pid, &err), 0);
		CHECK(hostserver_stop(pid) >= 0);
	}
	char *never[] = { "sh", "-c", "exit 3", NULL };
	CHECK_INT(hostserver_start(never, NULL, port, 10000, &pid, &err), -1);
	CHECK(strstr(err.msg, "sh server: the server on port") && strstr(err.msg, "exited before it listened"));
	char *silent[] = { "sleep", "30", NULL };
	CHECK_INT(hostserver_start(silent, NULL, port, 300, &pid, &err), -1);
	CHECK(strstr(err.msg, "did not listen within 300 ms") != NULL);
}
