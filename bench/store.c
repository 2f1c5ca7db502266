/* Benchmark of the results store: N samples, in batches, into a fresh
 * file, through the same API (and the same prepared statement) that
 * `kvmqual run` uses.  Target (issue 4): at least 100,000 samples/s.
 *   build/bench-store [--samples N] [--batch B] [--db PATH]
 * Prints one line per measurement: samples=... seconds=... per_second=... bytes=... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store/store.h"

int main(int argc, char **argv)
{
	long samples = 1000000, batch = 10000;
	const char *db = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--samples") && i + 1 < argc)
			samples = atol(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			batch = atol(argv[++i]);
		else if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--samples N] [--batch B] [--db PATH]\n", argv[0]);
			return 2;
		}
	}
	if (samples <= 0 || batch <= 0) {
		fprintf(stderr, "bench-store: --samples and --batch must be positive\n");
		return 2;
	}
	char dir[] = "/tmp/kvmqual-bench-store.XXXXXX";
	char path[256];
	if (!db) {
		if (!mkdtemp(dir)) {
			perror("bench-store: mkdtemp");
			return 1;
		}
		snprintf(path, sizeof(path), "%s/kvmqual.db", dir);
		db = path;
	}
	struct kq_err err = { "" };
	struct store *s = store_open(db, NULL, &err);
	if (!s)
		goto fail;
	const struct store_host host = { "x86_64", "bench", "bench", "6.1.0", 4096 };
	const struct store_run_info info = { .profile = "bench", .command_line = "bench-store" };
	int64_t run = store_begin_run(s, &host, &info, &err);
	if (run < 0)
		goto fail;
	/* Realistic rows: a few workloads and metrics, conditions on every one. */
	static const char *const workloads[][3] = {
		{ "sysbench-cpu", "events_per_s", "events/s" }, { "stream", "triad", "MB/s" },
		{ "fio", "seq_read", "MB/s" }, { "iperf3", "host_to_guest", "Gbit/s" },
	};
	static const char *const accels[] = { "kvm", "tcg", "native" };
	const char *conditions = "{\"cpu_freq_khz\":2400000,\"governor\":\"performance\",\"load\":0.03,\"throttled\":false}";
	uint64_t start = kq_now_ns();
	for (long i = 0; i < samples; i += batch) {
		if (store_batch_begin(s, &err))
			goto fail;
		for (long j = i; j < i + batch && j < samples; j++) {
			const char *const *w = workloads[j % 4];
			struct store_sample sm = {
				.accel = accels[(j / 4) % 3], .workload = w[0], .metric = w[1], .unit = w[2],
				.value = 1000.0 + (double)(j % 977) * 0.37, .iteration = (int)(j / 12),
				.higher_is_better = 1, .conditions = conditions,
			};
			if (store_add_sample(s, run, &sm, &err))
				goto fail;
		}
		if (store_batch_commit(s, &err))
			goto fail;
	}
	double seconds = (double)(kq_now_ns() - start) / 1e9;
	if (store_finish_run(s, run, STORE_RUN_COMPLETE, NULL, &err))
		goto fail;
	store_close(s);
	struct stat sb;
	long long bytes = stat(db, &sb) == 0 ? (long long)sb.st_size : -1;
	printf("samples=%ld batch=%ld seconds=%.3f per_second=%.0f bytes=%lld bytes_per_sample=%.1f\n", samples,
	       batch, seconds, (double)samples / seconds, bytes, (double)bytes / (double)samples);
	if (db == path) {
		unlink(path);
		rmdir(dir);
	}
	return 0;
fail:
	fprintf(stderr, "bench-store: %s\n", err.msg);
	store_close(s);
	return 1;
}
