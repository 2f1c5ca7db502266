/* kvmqual run: the summary a person reads at the end of a run, from the
 * same document --json prints. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

static void fmt(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.4g", v);
}

void run_print_summary(const cJSON *summary)
{
	printf("\n%-18s %-20s %12s %12s %12s %9s\n", "workload", "metric", "native", "tcg", "kvm", "tcg/nat%");
	const cJSON *row;
	cJSON_ArrayForEach(row, cJSON_GetObjectItem(summary, "metrics"))
	{
		char n[32], t[32], k[32], p[32];
		const cJSON *v;
		fmt(n, sizeof(n), cJSON_IsNumber(v = cJSON_GetObjectItem(row, "native")) ? v->valuedouble : NAN);
		fmt(t, sizeof(t), cJSON_IsNumber(v = cJSON_GetObjectItem(row, "tcg")) ? v->valuedouble : NAN);
		fmt(k, sizeof(k), cJSON_IsNumber(v = cJSON_GetObjectItem(row, "kvm")) ? v->valuedouble : NAN);
		fmt(p, sizeof(p), cJSON_IsNumber(v = cJSON_GetObjectItem(row, "tcg_pct_of_native")) ? v->valuedouble : NAN);
		printf("%-18s %-20s %12s %12s %12s %9s  %s\n", cJSON_GetObjectItem(row, "workload")->valuestring,
		       cJSON_GetObjectItem(row, "metric")->valuestring, n, t, k, p,
		       cJSON_GetObjectItem(row, "unit")->valuestring);
	}
	const cJSON *boot = cJSON_GetObjectItem(summary, "boot_ms");
	const cJSON *b;
	printf("\nboot (median, exec of QEMU to the agent's ready):");
	cJSON_ArrayForEach(b, boot)
	{
		if (cJSON_IsNumber(b))
			printf("  %s %.0f ms", b->string, b->valuedouble);
		else
			printf("  %s -", b->string);
	}
	const cJSON *energy = cJSON_GetObjectItem(summary, "energy");
	const cJSON *source = cJSON_GetObjectItem(energy, "source"), *about = cJSON_GetObjectItem(energy, "detail");
	if (cJSON_IsString(source) && cJSON_IsString(about))
		printf("\n\nenergy: %s: %s (CPU time per unit of work is in the table either way)", source->valuestring,
		       about->valuestring);
	const cJSON *vulns = cJSON_GetObjectItem(summary, "cpu_vulnerabilities"), *view;
	if (cJSON_IsObject(vulns)) {
		printf("\n\nCPU vulnerabilities:");
		cJSON_ArrayForEach(view, vulns)
		{
			if (cJSON_IsString(view))
				printf("\n  %s%s: %s", strcmp(view->string, "host") ? "guest under " : "", view->string,
				       view->valuestring);
		}
	}
	const cJSON *skipped = cJSON_GetObjectItem(summary, "skipped");
	if (cJSON_IsString(skipped))
		printf("\n\nskipped: %s", skipped->valuestring);
	printf("\n\nverdicts (runners/targets.conf):\n");
	cJSON_ArrayForEach(row, cJSON_GetObjectItem(summary, "verdicts"))
	{
		const cJSON *v = cJSON_GetObjectItem(row, "value");
		char val[32];
		fmt(val, sizeof(val), cJSON_IsNumber(v) ? v->valuedouble : NAN);
		const char *detail = cJSON_GetObjectItem(row, "detail")->valuestring;
		printf("  %-4s %-8s %s %s = %s (target %s %g %s)%s%s\n",
		       cJSON_GetObjectItem(row, "status")->valuestring, cJSON_GetObjectItem(row, "target")->valuestring,
		       cJSON_GetObjectItem(row, "accel")->valuestring, cJSON_GetObjectItem(row, "metric")->valuestring, val,
		       cJSON_GetObjectItem(row, "op")->valuestring, cJSON_GetObjectItem(row, "threshold")->valuedouble,
		       cJSON_GetObjectItem(row, "unit")->valuestring, detail[0] ? ": " : "", detail);
	}
	const cJSON *stab = cJSON_GetObjectItem(summary, "stability");
	if (stab) {
		const cJSON *metrics = cJSON_GetObjectItem(stab, "metrics");
		const cJSON *unsettled = cJSON_GetObjectItem(stab, "unsettled");
		printf("\nuntil stable (95 %% CI of the median within +-%g %%, budget %g s): %d of %d metrics settled\n",
		       cJSON_GetObjectItem(stab, "target_pct")->valuedouble,
		       cJSON_GetObjectItem(stab, "budget_s")->valuedouble,
		       cJSON_GetArraySize(metrics) - cJSON_GetArraySize(unsettled), cJSON_GetArraySize(metrics));
		cJSON_ArrayForEach(row, metrics)
		{
			if (cJSON_IsTrue(cJSON_GetObjectItem(row, "settled")))
				continue;
			const cJSON *hw = cJSON_GetObjectItem(row, "half_width_pct");
			char w[32];
			fmt(w, sizeof(w), cJSON_IsNumber(hw) ? hw->valuedouble : NAN);
			printf("  not settled: %s %s.%s: +-%s %% after %d samples: %s\n",
			       cJSON_GetObjectItem(row, "accel")->valuestring,
			       cJSON_GetObjectItem(row, "workload")->valuestring,
			       cJSON_GetObjectItem(row, "metric")->valuestring, w,
			       cJSON_GetObjectItem(row, "samples")->valueint,
			       cJSON_GetObjectItem(row, "detail")->valuestring);
		}
	}
	const cJSON *status = cJSON_GetObjectItem(summary, "status");
	const cJSON *reason = cJSON_GetObjectItem(summary, "reason");
	printf("\nrun %s%s%s\n", status->valuestring, cJSON_IsString(reason) ? ": " : "",
	       cJSON_IsString(reason) ? reason->valuestring : "");
}
