/* lib/json.c: telling JSON cut short from JSON that is whole (or wrong). */
#include "../../lib/json.h"
#include "test.h"

TEST(json_ends_open)
{
	static const struct {
		const char *text;
		int whole_doc;   /* kq_json_ends_open(text, len, 0) */
		int first_only;  /* kq_json_ends_open(text, len, 1) */
	} cases[] = {
		{ "", 0, 1 },
		{ "plain words", 0, 1 },
		{ "{\"a\": 1}", 0, 0 },
		{ "{\"a\": [1, 2", 1, 1 },
		{ "{\"a\": \"text", 1, 1 },
		{ "{\"a\": \"}\"", 1, 1 },         /* a brace inside a string closes nothing */
		{ "{\"a\": \"\\\"}\"}", 0, 0 },    /* nor does an escaped quote end the string */
		{ "{\"a\": 1}\nnotes after {", 1, 0 }, /* the first object is whole */
		{ "]]}", 0, 1 },                   /* stray closers: not open */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);
		CHECK_INT(kq_json_ends_open(cases[i].text, len, 0), cases[i].whole_doc);
		CHECK_INT(kq_json_ends_open(cases[i].text, len, 1), cases[i].first_only);
	}
}
