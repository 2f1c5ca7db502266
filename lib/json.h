/* Small helpers for the JSON documents kvmqual writes (cJSON). */
#ifndef KQ_JSON_H
#define KQ_JSON_H

#include <cjson/cJSON.h>

/* Adds name: value, or name: null when value is NaN or infinite (unknown,
 * unbounded): JSON has no such numbers. */
void kq_json_number_or_null(cJSON *obj, const char *name, double value);
/* Adds name: "value", or name: null when value is NULL. */
void kq_json_string_or_null(cJSON *obj, const char *name, const char *value);

#endif
