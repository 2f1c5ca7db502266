/* kvmqual ab's parsers of outside input: the first byte picks one, the
 * rest is its input.  0: a SPEC (--a/--b), 1: a workload list, 2: a pin
 * list, 3: QEMU's reply to query-cpus-fast, 4: a /proc status file. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../ab/ab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	struct kq_err err;
	switch (data[0] % 5) {
	case 0: {
		struct ab_arm a;
		memset(&a, 0, sizeof(a));
		if (ab_arm_parse(&a, text, &err) == 0) {
			char what[600];
			ab_arm_describe(&a, what, sizeof(what));
		}
		ab_arm_free(&a);
		break;
	}
	case 1: {
		struct ab_plan p;
		ab_plan_parse(&p, text, &err);
		break;
	}
	case 2: {
		struct vcpu_pin pin;
		if (vcpu_pin_parse(text, &pin, &err) == 0) {
			cpu_set_t set;
			for (size_t i = 0; i < 70; i++)
				vcpu_pin_set_for(&pin, i, &set);
		}
		break;
	}
	case 3: {
		cJSON *ret = cJSON_Parse(text);
		pid_t tids[VCPU_MAX];
		size_t n;
		vcpu_threads_parse(ret, tids, VCPU_MAX, &n, &err);
		cJSON_Delete(ret);
		break;
	}
	default: {
		/* A status file under a private /proc-like tree. */
		char dir[] = "/tmp/kvmqual-fuzz-ab.XXXXXX";
		if (!mkdtemp(dir))
			break;
		char path[128];
		snprintf(path, sizeof(path), "%s/1", dir);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/1/task", dir);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/1/task/2", dir);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/1/task/2/status", dir);
		FILE *f = fopen(path, "w");
		if (f) {
			fwrite(data + 1, 1, size - 1, f);
			fclose(f);
			char list[64];
			vcpu_affinity(dir, 1, 2, list, sizeof(list), &err);
		}
		unlink(path);
		snprintf(path, sizeof(path), "%s/1/task/2", dir);
		rmdir(path);
		snprintf(path, sizeof(path), "%s/1/task", dir);
		rmdir(path);
		snprintf(path, sizeof(path), "%s/1", dir);
		rmdir(path);
		rmdir(dir);
	}
	}
	free(text);
	return 0;
}
