/* The guest's own view of the CPU's vulnerabilities: see guestvuln.h. */
#include "guestvuln.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

const char *const guest_vulns_argv[] = { "grep", "-r", ".", GUEST_VULN_DIR, NULL };

/* The first non-empty line of what the guest wrote, as printable ASCII of
 * at most size - 1 bytes: it goes into the store and onto terminals. */
static void first_line(const char *text, size_t len, char *buf, size_t size)
{
	size_t at = 0;
	while (at < len && (text[at] == '\n' || text[at] == '\r' || text[at] == ' '))
		at++;
	size_t n = 0;
	for (; at < len && text[at] != '\n' && n + 1 < size; at++) {
		unsigned char c = (unsigned char)text[at];
		if (c == '\r')
			continue;
		buf[n++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	buf[n] = '\0';
}

void guest_vulns_parse(int exit_code, int timed_out, const char *out, size_t out_len, const char *err, size_t err_len,
		       struct guest_vulns *v)
{
	memset(v, 0, sizeof(*v));
	char said[160];
	first_line(err, err ? err_len : 0, said, sizeof(said));
	if (timed_out) {
		snprintf(v->why, sizeof(v->why), "reading %s in the guest timed out", GUEST_VULN_DIR);
		return;
	}
	if (exit_code < 0) {
		snprintf(v->why, sizeof(v->why), "grep in the guest was ended by a signal");
		return;
	}
	/* grep: 1 when no line matched (the directory is empty), 2 on an
	 * error (no such directory: a kernel without the files, before 4.15
	 * on x86 or 4.19 on arm64, or a config without them). */
	if (exit_code == 1 && !said[0]) {
		snprintf(v->why, sizeof(v->why), "the guest's %s lists nothing", GUEST_VULN_DIR);
		return;
	}
	if (exit_code != 0) {
		snprintf(v->why, sizeof(v->why), "grep in the guest: exit %d%s%s", exit_code, said[0] ? ": " : "", said);
		return;
	}
	vuln_parse(out, out ? out_len : 0, &v->report);
	if (!v->report.count) {
		snprintf(v->why, sizeof(v->why), "the guest's answer (%zu bytes) holds no NAME:TEXT line", out ? out_len : 0);
		return;
	}
	v->known = 1;
}

void guest_vulns_read(struct guest *g, int timeout_ms, struct guest_vulns *v)
{
	struct agent_result r;
	struct kq_err err;
	if (agent_exec(&g->agent, guest_vulns_argv, timeout_ms, &r, &err)) {
		memset(v, 0, sizeof(*v));
		snprintf(v->why, sizeof(v->why), "the agent: %s", err.msg);
		return;
	}
	guest_vulns_parse(r.exit_code, r.timed_out, (const char *)r.out, r.out_len, (const char *)r.err, r.err_len, v);
	agent_result_free(&r);
}

char *guest_vulns_json(const struct guest_vulns *v)
{
	if (!v->known)
		return NULL;
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < v->report.count; i++)
		if (!cJSON_GetObjectItemCaseSensitive(o, v->report.e[i].name))
			cJSON_AddStringToObject(o, v->report.e[i].name, v->report.e[i].text);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

void guest_vulns_summary(const struct guest_vulns *v, char *buf, size_t size)
{
	if (v->known)
		vuln_summary(&v->report, buf, size);
	else
		snprintf(buf, size, "unknown: %s", v->why);
}
