#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void kq_json_number_or_null(cJSON *obj, const char *name, double value)
{
	if (isfinite(value))
		cJSON_AddNumberToObject(obj, name, value);
	else
		cJSON_AddNullToObject(obj, name);
}

void kq_json_number_flagged(cJSON *obj, const char *name, double value)
{
	if (isfinite(value)) {
		cJSON_AddNumberToObject(obj, name, value);
		return;
	}
	cJSON_AddNullToObject(obj, name);
	char *flag = kq_xasprintf("%s_nonfinite", name);
	cJSON_AddStringToObject(obj, flag, isnan(value) ? "nan" : value > 0 ? "inf" : "-inf");
	free(flag);
}

cJSON *kq_json_string(const char *value)
{
	if (!value)
		return cJSON_CreateNull();
	char *clean = kq_utf8_dup(value);
	cJSON *s = cJSON_CreateString(clean);
	free(clean);
	return s;
}

void kq_json_string_or_null(cJSON *obj, const char *name, const char *value)
{
	cJSON_AddItemToObject(obj, name, kq_json_string(value));
}

void kq_json_clean(cJSON *item)
{
	for (; item; item = item->next) {
		if (cJSON_IsString(item) && item->valuestring) {
			char *clean = kq_utf8_dup(item->valuestring);
			if (strcmp(clean, item->valuestring))
				cJSON_SetValuestring(item, clean);
			free(clean);
		}
		kq_json_clean(item->child);
	}
}

int kq_json_ends_open(const char *text, size_t len, int first_only)
{
	size_t depth = 0;
	int in_string = 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && depth) {
			if (--depth == 0 && first_only)
				return 0;
		}
	}
	return first_only || in_string || depth > 0;
}

const char *kq_json_not_json_kind(const char *data, size_t len, int *is_store)
{
	static const char sqlite_magic[16] = "SQLite format 3"; /* with its NUL */
	*is_store = len >= sizeof(sqlite_magic) && !memcmp(data, sqlite_magic, sizeof(sqlite_magic));
	if (*is_store)
		return "a SQLite database (a results store?)";
	if (len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b)
		return "a gzip file (a probe snapshot or a field kit?)";
	if (len >= 262 && !memcmp(data + 257, "ustar", 5))
		return "a tar archive";
	return NULL;
}
