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
