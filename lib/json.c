#include "json.h"

#include <math.h>

void kq_json_number_or_null(cJSON *obj, const char *name, double value)
{
	if (isfinite(value))
		cJSON_AddNumberToObject(obj, name, value);
	else
		cJSON_AddNullToObject(obj, name);
}

void kq_json_string_or_null(cJSON *obj, const char *name, const char *value)
{
	if (value)
		cJSON_AddStringToObject(obj, name, value);
	else
		cJSON_AddNullToObject(obj, name);
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
