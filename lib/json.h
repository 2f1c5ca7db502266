/* Small helpers for the JSON documents kvmqual writes (cJSON).  RFC 8259
 * wants UTF-8 and has no NaN or infinity: strings from outside go through
 * kq_json_string, numbers through the two number helpers. */
#ifndef KQ_JSON_H
#define KQ_JSON_H

#include <cjson/cJSON.h>

/* Adds name: value, or name: null when value is NaN or infinite (unknown,
 * unbounded): JSON has no such numbers. */
void kq_json_number_or_null(cJSON *obj, const char *name, double value);
/* Adds name: value; a value JSON cannot hold becomes name: null with the
 * flag name_nonfinite: "inf", "-inf" or "nan" beside it, so that a reader
 * tells an overflow from a value that was never there. */
void kq_json_number_flagged(cJSON *obj, const char *name, double value);
/* Adds name: "value" with every byte that is not UTF-8 replaced by U+FFFD,
 * or name: null when value is NULL. */
void kq_json_string_or_null(cJSON *obj, const char *name, const char *value);
/* The same as an array element or a lone value. */
cJSON *kq_json_string(const char *value);

/* Replaces, in item and everything under it, each string value that is not
 * UTF-8 with its kq_utf8_dup (bytes that are not become U+FFFD): for a
 * document whose strings come from many places (a guest command's output,
 * a path, QEMU's messages), just before it is printed. */
void kq_json_clean(cJSON *item);

/* Whether JSON text was cut short: it ends inside a string or with an
 * object or array still open (only strings and brackets are looked at,
 * not whether the text is valid).  With first_only, only the first object
 * or array counts: the text is whole once that one closes, whatever
 * follows (a tool's output with lines after its document); and text
 * without one is cut. */
int kq_json_ends_open(const char *text, size_t len, int first_only);

/* What a file given where a JSON document was wanted is instead, when its
 * first bytes say so (a SQLite database, a gzip file, a tar archive), or
 * NULL: a message names the mix-up and what to do instead of a parse
 * error at some byte.  *is_store is set when it is a SQLite database (a
 * results store given for a bundle). */
const char *kq_json_not_json_kind(const char *data, size_t len, int *is_store);

#endif
