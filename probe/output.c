/* Rendering a probe: one JSON document (schema kvmqual.probe v1) or one line
 * per check for people, in the spirit of virt-host-validate. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "probe.h"

static void add_host(cJSON *root, const struct probe *p)
{
	const struct host_identity *h = &p->host;
	cJSON *host = cJSON_AddObjectToObject(root, "host");
	cJSON_AddStringToObject(host, "arch", h->arch);
	cJSON_AddStringToObject(host, "model", h->model);
	cJSON_AddStringToObject(host, "soc", h->soc);
	cJSON_AddStringToObject(host, "kernel_release", h->kernel_release);
	if (h->page_size)
		cJSON_AddNumberToObject(host, "page_size", (double)h->page_size);
	else
		cJSON_AddNullToObject(host, "page_size");
	cJSON_AddNumberToObject(host, "cpus", h->cpus);
	cJSON_AddBoolToObject(host, "is_guest", h->is_guest);
	cJSON_AddBoolToObject(host, "emulated", h->emulated);
	cJSON *evidence = cJSON_AddArrayToObject(host, "emulated_evidence");
	for (size_t i = 0; i < h->emulated_evidence_count; i++)
		cJSON_AddItemToArray(evidence, cJSON_CreateString(h->emulated_evidence[i]));
	cJSON *clusters = cJSON_AddArrayToObject(host, "clusters");
	for (size_t i = 0; i < h->cluster_count; i++) {
		const struct cluster *c = &h->clusters[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddNumberToObject(o, "count", c->count);
		cJSON_AddStringToObject(o, "cpus", c->cpus);
		if (c->implementer != ~0u && c->part != ~0u) {
			char midr[16];
			snprintf(midr, sizeof(midr), "0x%02x:0x%03x", c->implementer & 0xff, c->part & 0xfff);
			cJSON_AddStringToObject(o, "midr", midr);
		}
		if (c->capacity)
			cJSON_AddNumberToObject(o, "capacity", c->capacity);
		if (c->max_freq_khz)
			cJSON_AddNumberToObject(o, "max_freq_khz", (double)c->max_freq_khz);
		cJSON_AddItemToArray(clusters, o);
	}
	if (h->cluster_count)
		cJSON_AddStringToObject(host, "pin_cpus", h->clusters[h->pin_cluster].cpus);
}

cJSON *probe_to_json(const struct probe *p)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "schema", PROBE_SCHEMA);
	cJSON_AddNumberToObject(root, "schema_version", PROBE_SCHEMA_VERSION);
	cJSON_AddStringToObject(root, "probe_version", PROBE_VERSION);
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(root, "generated_at", when);
	cJSON *source = cJSON_AddObjectToObject(root, "source");
	cJSON_AddStringToObject(source, "kind", p->live ? "live" : "snapshot");
	cJSON_AddStringToObject(source, "path", hostfs_origin(p->fs));
	add_host(root, p);
	cJSON *checks = cJSON_AddArrayToObject(root, "checks");
	for (size_t i = 0; i < p->check_count; i++) {
		const struct check *c = &p->checks[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", c->id);
		cJSON_AddStringToObject(o, "status", check_status_name(c->status));
		cJSON_AddStringToObject(o, "value", c->value);
		cJSON_AddStringToObject(o, "detail", c->detail);
		if (c->hint)
			cJSON_AddStringToObject(o, "hint", c->hint);
		if (c->limits)
			cJSON_AddBoolToObject(o, "limits", 1);
		if (c->data)
			cJSON_AddItemToObject(o, "data", cJSON_Duplicate(c->data, 1));
		cJSON_AddItemToArray(checks, o);
	}
	/* Numbers measured on the live host (exit and interrupt latencies). */
	cJSON *measurements = cJSON_AddArrayToObject(root, "measurements");
	for (size_t i = 0; i < p->kvm.measurement_count; i++) {
		const struct measurement *m = &p->kvm.measurements[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", m->id);
		cJSON_AddNumberToObject(o, "value", m->value);
		cJSON_AddStringToObject(o, "unit", m->unit);
		cJSON_AddNumberToObject(o, "samples", m->samples);
		cJSON_AddStringToObject(o, "detail", m->detail);
		cJSON_AddItemToArray(measurements, o);
	}
	cJSON *verdict = cJSON_AddObjectToObject(root, "verdict");
	cJSON_AddStringToObject(verdict, "status", verdict_name(p->verdict));
	cJSON_AddBoolToObject(verdict, "kvm_usable", p->verdict != VERDICT_TCG_ONLY);
	cJSON_AddStringToObject(verdict, "summary", p->verdict_summary ? p->verdict_summary : "");
	cJSON_AddItemToObject(verdict, "reasons",
			      p->verdict_reasons ? cJSON_Duplicate(p->verdict_reasons, 1) : cJSON_CreateArray());
	cJSON_AddNumberToObject(root, "elapsed_ms", p->elapsed_ms);
	cJSON_AddNullToObject(root, "error");
	return root;
}

static const char *status_label(enum check_status s)
{
	switch (s) {
	case CHECK_PASS: return "PASS";
	case CHECK_WARN: return "WARN";
	case CHECK_FAIL: return "FAIL";
	case CHECK_SKIP: return "SKIP";
	}
	return "????";
}

static const char *status_colour(enum check_status s)
{
	switch (s) {
	case CHECK_PASS: return "\033[32m";
	case CHECK_WARN: return "\033[33m";
	case CHECK_FAIL: return "\033[31m";
	case CHECK_SKIP: return "\033[2m";
	}
	return "";
}

void probe_print_text(const struct probe *p, FILE *out, int colour)
{
	const struct host_identity *h = &p->host;
	fprintf(out, "kvmqual probe %s: %s host %s%s%s, %s, kernel %s\n", PROBE_VERSION,
		p->live ? "live" : "snapshot", h->model[0] ? h->model : h->arch,
		h->soc[0] ? " / " : "", h->soc, h->arch, h->kernel_release[0] ? h->kernel_release : "unknown");
	if (!p->live)
		fprintf(out, "snapshot: %s\n", hostfs_origin(p->fs));
	if (h->emulated)
		fprintf(out, "emulated by QEMU (%s): numbers measured here are not those of hardware\n",
			h->emulated_evidence[0]);
	for (size_t i = 0; i < p->check_count; i++) {
		const struct check *c = &p->checks[i];
		const char *text = c->value[0] ? c->value : c->detail;
		fprintf(out, "%s%-4s%s  %-22s %s", colour ? status_colour(c->status) : "",
			status_label(c->status), colour ? "\033[0m" : "", c->id, text);
		if (c->value[0] && c->detail[0] && c->status != CHECK_PASS)
			fprintf(out, " (%s)", c->detail);
		fputc('\n', out);
		if (c->hint && c->status != CHECK_PASS && c->status != CHECK_SKIP)
			fprintf(out, "      hint: %s\n", c->hint);
	}
	if (p->kvm.measurement_count)
		fputs("\nmeasured:\n", out);
	for (size_t i = 0; i < p->kvm.measurement_count; i++) {
		const struct measurement *m = &p->kvm.measurements[i];
		fprintf(out, "      %-22s %.0f %s (%s)\n", m->id, m->value, m->unit, m->detail);
	}
	const char *vc = p->verdict == VERDICT_KVM_READY ? "\033[1;32m"
			 : p->verdict == VERDICT_KVM_LIMITED ? "\033[1;33m" : "\033[1;31m";
	fprintf(out, "\n%sverdict: %s%s\n", colour ? vc : "", p->verdict_summary, colour ? "\033[0m" : "");
}
