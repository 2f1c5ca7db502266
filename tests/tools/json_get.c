/* Prints one value of a JSON document, for shell tests:
 *   json_get FILE PATH        PATH like commands.0.exit_code ("" = root)
 * Strings print raw, numbers with %.17g, booleans as true/false, objects
 * and arrays as compact JSON.  Exit 1 when the path is not there, 2 when
 * the file is not JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: json_get FILE PATH\n");
		return 2;
	}
	FILE *f = strcmp(argv[1], "-") ? fopen(argv[1], "rb") : stdin;
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap);
	while ((n = fread(buf + len, 1, cap - len, f)) > 0)
		if ((len += n) == cap)
			buf = realloc(buf, cap *= 2);
	if (f != stdin)
		fclose(f);
	cJSON *v = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!v) {
		fprintf(stderr, "json_get: %s is not JSON\n", argv[1]);
		return 2;
	}
	cJSON *root = v;
	char *path = argv[2];
	for (char *key = strtok(path, "."); key && v; key = strtok(NULL, ".")) {
		char *end;
		long idx = strtol(key, &end, 10);
		v = (*end == '\0' && cJSON_IsArray(v)) ? cJSON_GetArrayItem(v, (int)idx) : cJSON_GetObjectItem(v, key);
	}
	if (!v) {
		cJSON_Delete(root);
		return 1;
	}
	if (cJSON_IsString(v))
		printf("%s\n", v->valuestring);
	else if (cJSON_IsNumber(v))
		printf("%.17g\n", v->valuedouble);
	else if (cJSON_IsBool(v))
		printf("%s\n", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNull(v))
		printf("null\n");
	else {
		char *t = cJSON_PrintUnformatted(v);
		printf("%s\n", t);
		free(t);
	}
	cJSON_Delete(root);
	return 0;
}
