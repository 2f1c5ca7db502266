/* The workload definitions (workloads/): each parser on real output captured
 * natively and in the aarch64 guest (tests/fixtures/workloads/), on broken
 * output, and the argv each builder gives.  Run from the top of the tree. */
#include <math.h>
#include <stdlib.h>

#include "../../lib/util.h"
#include "../../workloads/workload.h"
#include "test.h"

#define FIXTURES "tests/fixtures/workloads/"

/* The file in a buffer of exactly its size (no NUL after it), so that ASan
 * catches a parser reading past len. */
static char *read_fixture(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof(path), FIXTURES "%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *data = NULL;
	size_t size = 0;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		data = realloc(data, size + n);
		memcpy(data + size, chunk, n);
		size += n;
	}
	fclose(f);
	*len = size;
	return data;
}

/* A copy of s without its NUL, for the same reason. */
static char *exact_copy(const char *s, size_t len)
{
	char *c = malloc(len ? len : 1);
	memcpy(c, s, len);
	return c;
}

static int close_enough(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fabs(b);
}

struct fixture_case {
	const char *workload;
	const char *file;
	double values[4];
};

static const struct fixture_case fixture_cases[] = {
	{ "sysbench-cpu", "native-sysbench-cpu.txt", { 5124.16 } },
	{ "sysbench-cpu", "guest-aarch64-sysbench-cpu.txt", { 1400.80 } },
	{ "stream", "native-stream.json", { 60497.898, 45723.365, 58033.323, 58244.864 } },
	{ "stream", "guest-aarch64-stream.json", { 9013.313, 3707.136, 4344.665, 3558.162 } },
	{ "fio-seqread", "native-fio-seqread.json", { 1203.687692 } },
	{ "fio-seqread", "native-fio-seqread-qd16-note.txt", { 1305.220475 } }, /* "note: ..." line first */
	{ "fio-seqread", "guest-aarch64-fio-seqread.json", { 2574.015648 } },
	{ "fio-seqwrite", "native-fio-seqwrite.json", { 5967.60794 } },
	{ "fio-seqwrite", "guest-aarch64-fio-seqwrite.json", { 2017.500049 } },
	{ "fio-randread", "native-fio-randread.json", { 20130.934533 } },
	{ "fio-randread", "guest-aarch64-fio-randread.json", { 3538.230885 } },
	{ "iperf3-h2g", "native-iperf3-h2g.json", { 25.589607978604523 } },
	{ "iperf3-h2g", "guest-aarch64-iperf3-h2g.json", { 0.9584676624375644 } },
	{ "iperf3-g2h", "native-iperf3-g2h.json", { 28.527288439359243 } },
	{ "iperf3-g2h", "guest-aarch64-iperf3-g2h.json", { 0.4373955608583371 } },
	{ "sockperf-rr", "native-sockperf-rr.txt", { 6.495, 13.821 } },
	{ "sockperf-rr", "guest-aarch64-sockperf-rr.txt", { 860.640, 16086.240 } },
	{ "stress-ng-cpu", "native-stress-ng-cpu.txt", { 756.08 } },
	{ "stress-ng-cpu", "guest-aarch64-stress-ng-cpu.txt", { 26.49 } },
};

TEST(workloads_fixtures)
{
	for (size_t i = 0; i < sizeof(fixture_cases) / sizeof(fixture_cases[0]); i++) {
		const struct fixture_case *c = &fixture_cases[i];
		const struct workload *w = workload_find(c->workload);
		size_t len;
		char *out = read_fixture(c->file, &len);
		if (!w || !out) {
			test_fail(__FILE__, __LINE__, "%s: %s", c->file, w ? "cannot read fixture" : "no such workload");
			free(out);
			continue;
		}
		struct metric_value m[8];
		char err[256] = "";
		int n = w->parse(out, len, m, 8, err, sizeof(err));
		if (n != (int)w->metric_count) {
			test_fail(__FILE__, __LINE__, "%s: %d metrics (%s), expected %zu", c->file, n, err,
				  w->metric_count);
		} else {
			for (size_t k = 0; k < w->metric_count; k++) {
				if (m[k].metric != w->metrics[k].metric || m[k].unit != w->metrics[k].unit ||
				    !close_enough(m[k].value, c->values[k]))
					test_fail(__FILE__, __LINE__, "%s: %s = %.9g %s, expected %s = %.9g", c->file,
						  m[k].metric, m[k].value, m[k].unit, w->metrics[k].metric, c->values[k]);
			}
		}
		free(out);
	}
}

struct broken_case {
	const char *workload;
	const char *out;     /* parsed without its NUL */
	const char *err;     /* a part of the expected message; NULL: parses */
};

static const struct broken_case broken_cases[] = {
	{ "sysbench-cpu", "", "not sysbench output" },
	{ "sysbench-cpu", "\xff\x01 garbage", "not sysbench output" },
	{ "sysbench-cpu", "sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)\n\nThreads started!\n",
	  "has no 'events per second:' line" },
	{ "sysbench-cpu", "CPU speed:\n    events per second:  nan\n", "not followed by a number" },
	{ "sysbench-cpu", "CPU speed:\n    events per second:  -5.0\n", "not followed by a number" },
	{ "sysbench-cpu", "CPU speed:\n    events per second:  12x4\n", "not followed by a number" },
	{ "sysbench-cpu", "CPU speed:\n    events per second:  1.2.3\n", "is not a number" },
	{ "sysbench-cpu", "CPU speed:\n    events per second:  0.00\n", "nothing was measured" },
	{ "sysbench-cpu", "CPU speed:\n    events per second:  99999999999\n", "not a real measurement" },
	{ "sysbench-cpu", "CPU speed:\n    events per second:", "not followed by a number" },
	{ "sysbench-cpu", "CPU speed:\n    events per second:  5124.16", "truncated" }, /* 5124.16 or 51241.6? */
	{ "sysbench-cpu", "CPU speed:\n    events per second:  5124.16\n", NULL },
	{ "stream", "", "stream printed nothing" },
	{ "stream", " \n\t\n", "stream printed nothing" },
	{ "stream", "stream: --passes 0: out of range", "stream printed no JSON (first line: 'stream: --passes 0" },
	{ "stream", "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"error\":\"--elements 'abc': expected a whole number\"}",
	  "stream: --elements 'abc'" },
	{ "stream", "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"results\":{},\"validated\":false,"
		    "\"error\":\"validation failed: c[12345] = 1, expected 2; 1 of 300000 elements off\"}",
	  "stream results failed validation: validation failed: c[12345]" },
	{ "stream", "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"validated\":false}",
	  "failed validation: (no reason given)" },
	{ "stream", "{\"schema\":\"kvmqual.stream\",\"schema_version\":2,\"validated\":true}", "schema_version 2" },
	{ "stream", "{\"schema\":\"other\"}", "not schema kvmqual.stream" },
	{ "stream", "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"results\":{\"copy\":{\"best_mbps\":null}},\"validated\":true}",
	  "copy has no bandwidth" },
	{ "stream", "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"results\":{\"copy\":{\"best_mbps\":1},"
		    "\"scale\":{\"best_mbps\":1},\"add\":{\"best_mbps\":1}},\"validated\":true}",
	  "no number at results.triad.best_mbps" },
	{ "stream", "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"results\":{\"copy\":{\"best_mbps\":1e999}},\"validated\":true}",
	  "copy_mbps is not a finite number" },
	{ "stream", "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"results\":{\"copy\":{\"best_mbps\":-3}},\"validated\":true}",
	  "copy_mbps is negative" },
	{ "stream", "[1,2,3]", "stream printed no JSON" },
	{ "stream", "{\"a\":1} trailing", "not schema kvmqual.stream" },
	{ "stream", "{\"a\":", "truncated" },
	{ "stream", "{\"a\" 1}", "malformed at byte 5" },
	{ "fio-seqread", "", "fio printed nothing" },
	{ "fio-seqread", "fio: engine libaio not loadable\nfio: failed to load engine\n",
	  "fio printed no JSON (first line: 'fio: engine libaio not loadable')" },
	{ "fio-seqread", "fio: pid=0, err=2/file:filesetup.c:1, func=open, error=No such file\n{\n  \"jobs\" : []\n}\n",
	  "fio JSON has no jobs" },
	{ "fio-seqread", "{\"jobs\":[{\"error\":5,\"read\":{\"bw_bytes\":100}}]}", "fio job failed with error 5" },
	{ "fio-seqread", "{\"jobs\":[{\"error\":0,\"read\":{\"bw_bytes\":0}}]}", "seqread_mbps is 0 MB/s: nothing was measured" },
	{ "fio-seqread", "{\"jobs\":[{\"read\":{\"bw_bytes\":1e30}}]}", "not a real measurement" },
	{ "fio-seqread", "{\"jobs\":[{\"read\":{\"bw_bytes\":\"12\"}}]}", "no number at jobs.0.read.bw_bytes" },
	{ "fio-seqread", "{\"jobs\":{\"read\":1}}", "fio JSON has no jobs" },
	{ "fio-seqwrite", "{\"jobs\":[{\"read\":{\"bw_bytes\":5}}]}", "no number at jobs.0.write.bw_bytes" },
	{ "fio-randread", "{\"jobs\":[{\"read\":{\"iops\":-1}}]}", "randread_iops is negative" },
	{ "iperf3-h2g", "", "iperf3 printed nothing" },
	{ "iperf3-h2g", "iperf3: error - unable to connect to server", "iperf3 printed no JSON" },
	{ "iperf3-h2g", "{\"start\":{},\"intervals\":[],\"end\":{},\"error\":\"the server is busy running a test. try again later\"}",
	  "iperf3: the server is busy running a test" },
	{ "iperf3-g2h", "{\"start\":{},\"intervals\":[],\"end\":{}}", "no number at end.sum_received.bits_per_second" },
	{ "iperf3-g2h", "{\"end\":{\"sum_received\":{\"bits_per_second\":0}}}", "gbps is 0 Gbit/s" },
	{ "iperf3-g2h", "{\"end\":{\"sum_received\":{\"bits_per_second\":1e20}}}", "not a real measurement" },
	{ "sockperf-rr", "", "not sockperf output" },
	{ "sockperf-rr", "sockperf: == version #3.7 ==\nsockperf: Starting test...\n", "no 'Summary: Round trip is' line" },
	{ "sockperf-rr", "sockperf: ERROR: Can`t connect socket (errno=111 Connection refused)\n",
	  "sockperf: Can`t connect socket (errno=111 Connection refused)" },
	{ "sockperf-rr", "sockperf: Summary: Latency is 4.9 usec\nsockperf: ---> percentile 50.000 =    4.1\n", "no --full-rtt" },
	{ "sockperf-rr", "sockperf: Summary: Round trip is 9.8 usec\nsockperf: ---> percentile 99.000 =   26.4\n",
	  "no number after 'percentile 50.000 ='" },
	{ "sockperf-rr", "sockperf: Summary: Round trip is 9.8 usec\nsockperf: ---> percentile 99.000 =   26.4\n"
			 "sockperf: ---> percentile 50.000 =    6.4", "truncated after 'percentile 50.000 ='" },
	{ "sockperf-rr", "sockperf: Summary: Round trip is 9.8 usec\nsockperf: ---> percentile 99.000 =   -26.4\n"
			 "sockperf: ---> percentile 50.000 =    6.4\n", "no number after 'percentile 99.000 ='" },
	{ "sockperf-rr", "sockperf: Summary: Round trip is 9.8 usec\nsockperf: ---> percentile 99.000 =   0.000\n"
			 "sockperf: ---> percentile 50.000 =    0.000\n", "rtt_p50_us is 0 us: nothing was measured" },
	{ "sockperf-rr", "sockperf: Summary: Round trip is 9.8 usec\nsockperf: ---> percentile 99.000 =   2.0\n"
			 "sockperf: ---> percentile 50.000 =    6.4\n", "p50 6.4 us is above its p99 2 us" },
	{ "sockperf-rr", "sockperf: Summary: Round trip is 9.8 usec\nsockperf: ---> percentile 99.000 =   26.4\n"
			 "sockperf: ---> percentile 50.000 =    6.4\n", NULL },
	{ "stress-ng-cpu", "", "not stress-ng output" },
	{ "stress-ng-cpu", "stress-ng: info:  [1] dispatching hogs: 2 cpu\n", "no metrics row for the cpu stressor" },
	{ "stress-ng-cpu", "stress-ng: metrc: [1] cpu                1515      2.00      0.90      0.00       756.08        1676.18",
	  "no metrics row" }, /* cut inside the row: no line end */
	{ "stress-ng-cpu", "stress-ng: metrc: [1] cpu                1515      2.00      0.90\n", "has 3 numbers, expected 6" },
	{ "stress-ng-cpu", "stress-ng: metrc: [1] cpu  1515 2.00 0.90 0.00 7x6.08 1676.18\n", "has '7x6.08' where a number" },
	{ "stress-ng-cpu", "stress-ng: metrc: [1] cpu  0 2.00 0.00 0.00 0.00 0.00\n", "bogo_ops_per_s is 0" },
	{ "stress-ng-cpu", "stress-ng: metrc: [1] cpu  5 2.00 1 1 10 5\nstress-ng: info:  [1] unsuccessful run completed in 2.00s\n",
	  "unsuccessful run" },
	{ "stress-ng-cpu", "stress-ng: info:  [1] cpu                1515      2.00      0.90      0.00       756.08        1676.18\n", NULL },
};

TEST(workloads_broken_output)
{
	for (size_t i = 0; i < sizeof(broken_cases) / sizeof(broken_cases[0]); i++) {
		const struct broken_case *c = &broken_cases[i];
		const struct workload *w = workload_find(c->workload);
		if (!w) {
			test_fail(__FILE__, __LINE__, "case %zu: no workload %s", i, c->workload);
			continue;
		}
		size_t len = strlen(c->out);
		char *out = exact_copy(c->out, len);
		struct metric_value m[8];
		char err[256] = "";
		int n = w->parse(out, len, m, 8, err, sizeof(err));
		if (!c->err && n != (int)w->metric_count)
			test_fail(__FILE__, __LINE__, "case %zu (%s): %d (%s), expected success", i, c->workload, n, err);
		if (c->err && (n != -1 || !strstr(err, c->err)))
			test_fail(__FILE__, __LINE__, "case %zu (%s): %d \"%s\", expected -1 \"...%s...\"", i,
				  c->workload, n, err, c->err);
		free(out);
	}
}

/* NUL bytes in the output are data, not its end. */
TEST(workloads_nul_bytes)
{
	static const char out[] = "\0CPU speed:\n    events per second:  12.5\n\0{}";
	struct metric_value m[1];
	char err[128] = "";
	CHECK_INT(workload_find("sysbench-cpu")->parse(out, sizeof(out) - 1, m, 1, err, sizeof(err)), 1);
	CHECK(m[0].value == 12.5);
	static const char json[] = "{\"end\":{\"sum_received\":{\"bits_per_second\":1e9}}}\0garbage";
	CHECK_INT(workload_find("iperf3-g2h")->parse(json, sizeof(json) - 1, m, 1, err, sizeof(err)), 1);
	CHECK(m[0].value == 1);
	static const char cut[] = "{\"end\":{\"sum_received\":{\"bits\0_per_second\":1e9}}}";
	CHECK_INT(workload_find("iperf3-g2h")->parse(cut, sizeof(cut) - 1, m, 1, err, sizeof(err)), -1);
}

/* iperf3 -J prints {"error": ...} and 3.12 even exits 0: a captured refusal,
 * natively and from the guest. */
TEST(workloads_iperf3_error)
{
	static const char *const files[] = { "native-iperf3-refused.json", "guest-aarch64-iperf3-refused.json" };
	for (size_t i = 0; i < 2; i++) {
		size_t len;
		char *out = read_fixture(files[i], &len);
		CHECK(out != NULL);
		if (!out)
			continue;
		struct metric_value m[1];
		char err[256] = "";
		CHECK_INT(workload_find("iperf3-g2h")->parse(out, len, m, 1, err, sizeof(err)), -1);
		CHECK_STR(err, "iperf3: unable to connect to server: Connection refused");
		free(out);
	}
}

/* sockperf exits 0 when it cannot connect: the captured refusal. */
TEST(workloads_sockperf_refused)
{
	size_t len;
	char *out = read_fixture("native-sockperf-rr-refused.txt", &len);
	CHECK(out != NULL);
	if (!out)
		return;
	struct metric_value m[2];
	char err[256] = "";
	CHECK_INT(workload_find("sockperf-rr")->parse(out, len, m, 2, err, sizeof(err)), -1);
	CHECK_STR(err, "sockperf: Can`t connect socket (errno=111 Connection refused)");
	free(out);
}

/* Every prefix of every JSON fixture is an error, never a crash; cut inside
 * the object, it says "truncated". */
TEST(workloads_truncated)
{
	for (size_t i = 0; i < sizeof(fixture_cases) / sizeof(fixture_cases[0]); i++) {
		const struct fixture_case *c = &fixture_cases[i];
		const struct workload *w = workload_find(c->workload);
		size_t len;
		char *full = read_fixture(c->file, &len);
		if (!w || !full)
			continue;
		const char *brace = memchr(full, '{', len);
		/* A text report is complete once the line of its last number
		 * needed ends (sysbench's rate, sockperf's p50 after its p99,
		 * stress-ng's cpu row). */
		const char *number = kq_memstr(full, len, "events per second:");
		if (!number)
			number = kq_memstr(full, len, "percentile 50.000 =");
		if (!number)
			number = kq_memstr(full, len, "] cpu ");
		const char *number_end = number ? memchr(number, '\n', len - (size_t)(number - full)) : NULL;
		size_t last_brace = len;
		while (last_brace > 0 && full[last_brace - 1] != '}')
			last_brace--;
		if (last_brace)
			last_brace--; /* the object is whole once the cut keeps this byte */
		size_t step = len / 97 + 1;
		for (size_t cut = 0; cut < len; cut += step) {
			char *out = exact_copy(full, cut);
			struct metric_value m[8];
			char err[256] = "";
			int n = w->parse(out, cut, m, 8, err, sizeof(err));
			int want_fail = brace ? cut <= last_brace : !number_end || cut <= (size_t)(number_end - full);
			if (want_fail && n != -1)
				test_fail(__FILE__, __LINE__, "%s cut at %zu: %d, expected -1", c->file, cut, n);
			if (brace && cut > (size_t)(brace - full) + 1 && cut <= last_brace && !strstr(err, "truncated"))
				test_fail(__FILE__, __LINE__, "%s cut at %zu: \"%s\", expected truncated", c->file, cut, err);
			free(out);
		}
		free(full);
	}
}

/* One string of the argv, words separated by spaces, or "ERROR: reason". */
static void argv_text(const struct workload *w, const struct workload_params *p, char *text, size_t size)
{
	char err[256] = "";
	char **argv = w->argv(p, err, sizeof(err));
	if (!argv) {
		snprintf(text, size, "ERROR: %s", err);
		return;
	}
	text[0] = '\0';
	for (char **a = argv; *a; a++)
		snprintf(text + strlen(text), size - strlen(text), "%s%s", a == argv ? "" : " ", *a);
	workload_argv_free(argv);
}

enum params_kind { GUEST, NATIVE, NO_TARGET, COLON_TARGET, BAD_ENGINE, URING_QD32, NO_SERVER, PORT_0,
		   NO_ELEMENTS, THREADS_0, PASSES_1, SPACE_TARGET };

static void make_params(enum params_kind kind, struct workload_params *p)
{
	workload_params_default(p);
	p->duration_s = 30;
	p->size_mib = 64;
	p->elements = 5000000;
	p->threads = 2;
	p->target = kind == NATIVE ? "/tmp/kq-fio.dat" : "/dev/kqscratch";
	p->server = kind == NATIVE ? "127.0.0.1" : "10.0.2.2";
	p->port = 5299;
	switch (kind) {
	case NO_TARGET: p->target = NULL; break;
	case COLON_TARGET: p->target = "/dev/disk/by-path/pci-0000:00:04.0"; break;
	case SPACE_TARGET: p->target = "/tmp/my file"; break;
	case BAD_ENGINE: p->ioengine = "mmap"; break;
	case URING_QD32: p->ioengine = "io_uring"; p->iodepth = 32; break;
	case NO_SERVER: p->server = ""; break;
	case PORT_0: p->port = 0; break;
	case NO_ELEMENTS: p->elements = 0; break;
	case THREADS_0: p->threads = 0; break;
	case PASSES_1: p->passes = 1; break;
	default: break;
	}
}

struct argv_case {
	const char *workload;
	enum params_kind params;
	const char *argv;
};

static const struct argv_case argv_cases[] = {
	{ "sysbench-cpu", GUEST, "sysbench cpu --threads=2 --time=30 run" },
	{ "sysbench-cpu", NATIVE, "sysbench cpu --threads=2 --time=30 run" },
	{ "sysbench-cpu", THREADS_0, "ERROR: sysbench-cpu: threads 0 is out of range (1 to 4096)" },
	{ "stream", GUEST, "stream --json --threads 2 --passes 10 --elements 5000000" },
	{ "stream", NATIVE, "stream --json --threads 2 --passes 10 --elements 5000000" },
	{ "stream", NO_ELEMENTS, "ERROR: stream needs elements: the same array size for the guest and native runs" },
	{ "stream", PASSES_1, "ERROR: stream: passes 1 is out of range (2 to 200)" },
	{ "fio-seqread", GUEST, "fio --name=seqread --filename=/dev/kqscratch --rw=read --bs=1M --size=64M --direct=1 "
				"--ioengine=libaio --iodepth=1 --runtime=30 --time_based --output-format=json" },
	{ "fio-seqread", NATIVE, "fio --name=seqread --filename=/tmp/kq-fio.dat --rw=read --bs=1M --size=64M --direct=1 "
				 "--ioengine=libaio --iodepth=1 --runtime=30 --time_based --output-format=json" },
	{ "fio-seqwrite", URING_QD32, "fio --name=seqwrite --filename=/dev/kqscratch --rw=write --bs=1M --size=64M --direct=1 "
				      "--ioengine=io_uring --iodepth=32 --runtime=30 --time_based --output-format=json" },
	{ "fio-randread", GUEST, "fio --name=randread --filename=/dev/kqscratch --rw=randread --bs=4k --size=64M --direct=1 "
				 "--ioengine=libaio --iodepth=1 --runtime=30 --time_based --output-format=json" },
	{ "fio-randread", NO_TARGET, "ERROR: fio-randread needs a target" },
	{ "fio-seqread", COLON_TARGET, "ERROR: fio-seqread: target '/dev/disk/by-path/pci-0000:00:04.0' may not contain ':'" },
	{ "fio-seqread", SPACE_TARGET, "ERROR: fio-seqread: target '/tmp/my file' may not contain ' '" },
	{ "fio-seqwrite", BAD_ENGINE, "ERROR: fio-seqwrite: ioengine 'mmap' is not libaio, io_uring or psync" },
	{ "iperf3-h2g", GUEST, "iperf3 -c 10.0.2.2 -p 5299 -t 30 -J -R" },
	{ "iperf3-h2g", NATIVE, "iperf3 -c 127.0.0.1 -p 5299 -t 30 -J -R" },
	{ "iperf3-g2h", GUEST, "iperf3 -c 10.0.2.2 -p 5299 -t 30 -J" },
	{ "iperf3-g2h", NO_SERVER, "ERROR: iperf3-g2h needs a server" },
	{ "iperf3-g2h", PORT_0, "ERROR: iperf3-g2h: port 0 is out of range (1 to 65535)" },
	{ "sockperf-rr", GUEST, "sockperf ping-pong -i 10.0.2.2 -p 5299 --tcp -m 64 -t 30 --full-rtt" },
	{ "sockperf-rr", NATIVE, "sockperf ping-pong -i 127.0.0.1 -p 5299 --tcp -m 64 -t 30 --full-rtt" },
	{ "sockperf-rr", NO_SERVER, "ERROR: sockperf-rr needs a server" },
	{ "stress-ng-cpu", GUEST, "stress-ng --cpu 2 --cpu-method all --timeout 30 --metrics-brief --no-rand-seed" },
	{ "stress-ng-cpu", THREADS_0, "ERROR: stress-ng-cpu: threads 0 is out of range (1 to 4096)" },
};

TEST(workloads_argv)
{
	for (size_t i = 0; i < sizeof(argv_cases) / sizeof(argv_cases[0]); i++) {
		const struct workload *w = workload_find(argv_cases[i].workload);
		CHECK(w != NULL);
		if (!w)
			continue;
		struct workload_params p;
		make_params(argv_cases[i].params, &p);
		char text[512];
		argv_text(w, &p, text, sizeof(text));
		CHECK_STR(text, argv_cases[i].argv);
	}
}

/* The table itself: complete entries, unique names, found by name, and a
 * parser that refuses a too-small metric array. */
TEST(workloads_table)
{
	CHECK_INT(workload_count, 9);
	CHECK(workload_find("nope") == NULL);
	CHECK(workload_find(NULL) == NULL);
	for (size_t i = 0; i < workload_count; i++) {
		const struct workload *w = workloads[i];
		CHECK(w->name && w->tool && w->measures && w->argv && w->parse && w->metrics);
		CHECK(w->metric_count >= 1 && w->metric_count <= 4);
		CHECK(workload_find(w->name) == w);
		/* Latency is the one thing measured where lower is better. */
		for (size_t k = 0; k < w->metric_count; k++)
			CHECK(w->metrics[k].metric && w->metrics[k].unit &&
			      w->metrics[k].higher_is_better == !!strcmp(w->name, "sockperf-rr"));
		/* Every workload counts its work, so that its cost per unit can be given. */
		CHECK(w->work && w->work_unit && *w->work_unit);
		struct metric_value m[1];
		char err[128] = "";
		CHECK_INT(w->parse("x", 1, m, 0, err, sizeof(err)), -1);
		CHECK(strstr(err, "no room") != NULL);
		CHECK_INT(w->parse("x", 1, m, 0, NULL, 0), -1);
	}
}

/* The work each run did, from the same captured outputs, as counted by
 * hand from the files: sysbench's "total number of events", STREAM's
 * 10 x array_bytes x passes, fio's and iperf3's bytes, sockperf's round
 * trips, stress-ng's bogo ops. */
struct work_case {
	const char *workload, *file;
	double units;
};

static const struct work_case work_cases[] = {
	{ "sysbench-cpu", "guest-aarch64-sysbench-cpu.txt", 2.824 },
	{ "stream", "native-stream.json", 10 * 16000000.0 * 3 / 1e9 },
	{ "fio-seqread", "native-fio-seqread.json", 2408579072 / 1e9 },
	{ "iperf3-g2h", "native-iperf3-g2h.json", -1 }, /* filled from the file below */
	{ "sockperf-rr", "native-sockperf-rr.txt", 135.653 },
	{ "stress-ng-cpu", "native-stress-ng-cpu.txt", 1.515 },
	{ "stress-ng-cpu", "guest-aarch64-stress-ng-cpu.txt", 0.076 },
	{ "sockperf-rr", "guest-aarch64-sockperf-rr.txt", -2 }, /* filled from the file below */
};

TEST(workloads_work)
{
	for (size_t i = 0; i < sizeof(work_cases) / sizeof(work_cases[0]); i++) {
		const struct work_case *c = &work_cases[i];
		const struct workload *w = workload_find(c->workload);
		size_t len;
		char *out = read_fixture(c->file, &len);
		CHECK(w && out);
		if (!w || !out) {
			free(out);
			continue;
		}
		double units = 0, want = c->units;
		char err[256] = "";
		if (want == -2) {
			const char *at = kq_memstr(out, len, "ReceivedMessages=");
			want = at ? strtod(at + 17, NULL) / 1e3 : 0;
		} else if (want < 0) {
			/* iperf3: the last "bytes" of the file is end.sum_received's. */
			const char *at = NULL;
			for (const char *p = out; (p = kq_memstr(p, len - (size_t)(p - out), "\"bytes\":")); p++)
				at = p;
			want = at ? strtod(at + 8, NULL) / 1e9 : 0;
		}
		if (w->work(out, len, &units, err, sizeof(err)) || !close_enough(units, want))
			test_fail(__FILE__, __LINE__, "%s: work %.9g %s (%s), expected %.9g", c->file, units, w->work_unit,
				  err, want);
		free(out);
	}
	double units;
	char err[256] = "";
	CHECK_INT(workload_find("sockperf-rr")->work("sockperf: ERROR: x\n", 18, &units, err, sizeof(err)), -1);
	CHECK(strstr(err, "ReceivedMessages") != NULL);
	CHECK_INT(workload_find("sysbench-cpu")->work("total number of events: 0\n", 26, &units, err, sizeof(err)), -1);
	CHECK(strstr(err, "no work counted") != NULL);
}

/* The servers the network workloads need on the host. */
TEST(workloads_server_argv)
{
	struct workload_params p;
	make_params(GUEST, &p);
	p.server_bind = "127.0.0.1";
	char err[256] = "";
	char **argv = workload_find("sockperf-rr")->server_argv(&p, err, sizeof(err));
	CHECK(argv && !strcmp(argv[0], "sockperf") && !strcmp(argv[1], "server") && !strcmp(argv[3], "127.0.0.1") &&
	      !strcmp(argv[5], "5299") && !strcmp(argv[6], "--tcp") && !argv[7]);
	workload_argv_free(argv);
	p.server_bind = NULL;
	argv = workload_find("iperf3-g2h")->server_argv(&p, err, sizeof(err));
	CHECK(argv && !strcmp(argv[4], "10.0.2.2"));
	workload_argv_free(argv);
	p.port = 0;
	CHECK(workload_find("iperf3-h2g")->server_argv(&p, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "port 0") != NULL);
	CHECK(workload_find("stream")->server_argv == NULL);
}
