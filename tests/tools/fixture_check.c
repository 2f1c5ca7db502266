/* Compares a probe JSON document with an expectation file and checks the
 * invariants every probe document must hold.  Used by tests/run.sh.
 *
 * Expectation lines ('#' starts a comment):
 *   verdict kvm-ready|kvm-limited|tcg-only
 *   check ID STATUS [VALUE...]     VALUE, when given, must equal the value
 *   host FIELD VALUE...            a member of "host" (strings or numbers)
 *   detail ID TEXT...              the detail must contain TEXT
 *   hint ID TEXT...                the hint must contain TEXT
 *   measure ID UNIT                a measurement with that id and unit, a
 *                                  positive value and at least one sample
 *
 * Usage: fixture_check PROBE.json EXPECT_FILE   (EXPECT_FILE may be "-" for
 * invariants only).  Prints one line per mismatch; exit 1 if any. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int failures;

static void fail(const char *fmt, const char *a, const char *b, const char *c)
{
	printf("    mismatch: ");
	printf(fmt, a, b ? b : "", c ? c : "");
	printf("\n");
	failures++;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static const cJSON *find_check(const cJSON *doc, const char *id)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "checks"))
	{
		const cJSON *cid = cJSON_GetObjectItem(c, "id");
		if (cJSON_IsString(cid) && !strcmp(cid->valuestring, id))
			return c;
	}
	return NULL;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void invariants(const cJSON *doc)
{
	if (!str(doc, "schema") || strcmp(str(doc, "schema"), "kvmqual.probe"))
		fail("schema is not kvmqual.probe%s%s", "", NULL, NULL);
	if (!cJSON_IsNumber(cJSON_GetObjectItem(doc, "schema_version")))
		fail("no schema_version%s%s", "", NULL, NULL);
	if (!cJSON_IsObject(cJSON_GetObjectItem(doc, "host")))
		fail("no host object%s%s", "", NULL, NULL);
	const cJSON *checks = cJSON_GetObjectItem(doc, "checks");
	if (!cJSON_IsArray(checks) || cJSON_GetArraySize(checks) < 20)
		fail("fewer than 20 checks%s%s", "", NULL, NULL);
	const cJSON *c;
	cJSON_ArrayForEach(c, checks)
	{
		const char *id = str(c, "id"), *status = str(c, "status");
		if (!id || !status || !str(c, "value") || !str(c, "detail")) {
			fail("a check lacks id, status, value or detail%s%s", "", NULL, NULL);
			continue;
		}
		if (strcmp(status, "pass") && strcmp(status, "warn") && strcmp(status, "fail") &&
		    strcmp(status, "skip"))
			fail("%s: bad status %s%s", id, status, NULL);
		if ((!strcmp(status, "warn") || !strcmp(status, "fail")) && (!str(c, "hint") || !*str(c, "hint")))
			fail("%s: %s without a hint%s", id, status, NULL);
		if (find_check(doc, id) != c)
			fail("%s: id appears twice%s%s", id, NULL, NULL);
	}
	static const char *const required[] = {
		"cpu.arch", "cpu.boot_el", "cpu.virt_ext", "kvm.mode", "kvm.device", "kvm.api",
		"kvm.smoke", "kvm.vgic", "gic.version", "iommu.present", "kconfig.KVM",
		"kconfig.VHOST_NET", "dev.vhost_net", "dev.vhost_vsock", "dev.tun", "dev.vfio",
		"mem.page_size", "mem.hugepages", "cpu.topology", "qemu.accel",
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!find_check(doc, required[i]))
			fail("check %s is missing%s%s", required[i], NULL, NULL);
	/* Optional (older documents lack it), but well-formed when there. */
	const cJSON *ms = cJSON_GetObjectItem(doc, "measurements"), *m;
	if (ms && !cJSON_IsArray(ms))
		fail("measurements is not an array%s%s", "", NULL, NULL);
	cJSON_ArrayForEach(m, ms)
		if (!str(m, "id") || !str(m, "unit") || !cJSON_IsNumber(cJSON_GetObjectItem(m, "value")))
			fail("a measurement without id, unit or numeric value%s%s", "", NULL, NULL);
	const cJSON *verdict = cJSON_GetObjectItem(doc, "verdict");
	if (!str(verdict, "status") || !str(verdict, "summary"))
		fail("no verdict status or summary%s%s", "", NULL, NULL);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fixture_check PROBE.json EXPECT|-\n");
		return 2;
	}
	char *json = slurp(argv[1]);
	cJSON *doc = json ? cJSON_Parse(json) : NULL;
	if (!doc) {
		printf("    %s: not a JSON document\n", argv[1]);
		return 1;
	}
	invariants(doc);
	if (strcmp(argv[2], "-")) {
		FILE *f = fopen(argv[2], "r");
		if (!f) {
			printf("    %s: cannot open\n", argv[2]);
			return 1;
		}
		char line[1024];
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			char *hash = strchr(line, '#');
			if (hash)
				*hash = '\0';
			char *kind = strtok(line, " \t");
			if (!kind)
				continue;
			char *a = strtok(NULL, " \t"), *b = strtok(NULL, " \t"), *rest = strtok(NULL, "");
			if (!strcmp(kind, "verdict")) {
				const char *got = str(cJSON_GetObjectItem(doc, "verdict"), "status");
				if (!got || !a || strcmp(got, a))
					fail("verdict %s, expected %s%s", got ? got : "(none)", a, NULL);
			} else if (!strcmp(kind, "check") && a && b) {
				const cJSON *c = find_check(doc, a);
				if (!c) {
					fail("check %s missing%s%s", a, NULL, NULL);
					continue;
				}
				if (strcmp(str(c, "status"), b)) {
					/* The probe's own words say why, in CI's log too. */
					char why[700];
					snprintf(why, sizeof(why), "%s (value '%s', detail '%s')", str(c, "status"),
						 str(c, "value") ? str(c, "value") : "", str(c, "detail") ? str(c, "detail") : "");
					fail("check %s: status %s, expected %s", a, why, b);
				}
				if (rest && strcmp(str(c, "value"), rest))
					fail("check %s: value '%s', expected '%s'", a, str(c, "value"), rest);
			} else if (!strcmp(kind, "host") && a && b) {
				char want[512];
				snprintf(want, sizeof(want), "%s%s%s", b, rest ? " " : "", rest ? rest : "");
				const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "host"), a);
				char got[512] = "(missing)";
				if (cJSON_IsString(v))
					snprintf(got, sizeof(got), "%s", v->valuestring);
				else if (cJSON_IsNumber(v))
					snprintf(got, sizeof(got), "%g", v->valuedouble);
				else if (cJSON_IsBool(v))
					snprintf(got, sizeof(got), "%s", cJSON_IsTrue(v) ? "true" : "false");
				if (strcmp(got, want))
					fail("host.%s '%s', expected '%s'", a, got, want);
			} else if (!strcmp(kind, "hint") && a && b) {
				char want[512];
				snprintf(want, sizeof(want), "%s%s%s", b, rest ? " " : "", rest ? rest : "");
				const cJSON *c = find_check(doc, a);
				if (!c || !str(c, "hint") || !strstr(str(c, "hint"), want))
					fail("check %s: hint lacks '%s'%s", a, want, NULL);
			} else if (!strcmp(kind, "measure") && a && b) {
				const cJSON *m = NULL, *it;
				cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "measurements"))
					if (str(it, "id") && !strcmp(str(it, "id"), a))
						m = it;
				const cJSON *value = m ? cJSON_GetObjectItem(m, "value") : NULL;
				const cJSON *samples = m ? cJSON_GetObjectItem(m, "samples") : NULL;
				if (!m)
					fail("measurement %s missing%s%s", a, NULL, NULL);
				else if (!str(m, "unit") || strcmp(str(m, "unit"), b))
					fail("measurement %s: unit '%s', expected '%s'", a, str(m, "unit") ? str(m, "unit") : "", b);
				else if (!cJSON_IsNumber(value) || !(value->valuedouble > 0) ||
					 !cJSON_IsNumber(samples) || samples->valuedouble < 1)
					fail("measurement %s: no positive value with samples%s%s", a, NULL, NULL);
			} else if (!strcmp(kind, "detail") && a && b) {
				char want[512];
				snprintf(want, sizeof(want), "%s%s%s", b, rest ? " " : "", rest ? rest : "");
				const cJSON *c = find_check(doc, a);
				if (!c || !strstr(str(c, "detail"), want))
					fail("check %s: detail lacks '%s'%s", a, want, NULL);
			} else {
				fail("bad expectation line starting '%s'%s%s", kind, NULL, NULL);
			}
		}
		fclose(f);
	}
	cJSON_Delete(doc);
	free(json);
	return failures ? 1 : 0;
}
