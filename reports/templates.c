/* The report's templates (reports/templates/: gnuplot styles and plots, the
 * page's frame and CSS), built into kvmqual so that an installed binary
 * needs nothing beside it.  `kvmqual report --templates DIR` reads edited
 * copies from DIR instead, file by file.
 *
 * The files are included with the assembler's .incbin, from the top of the
 * source tree (where make runs); the Makefile makes this object depend on
 * them.  Each is followed by a NUL so that it can be used as a string. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"

#define EMBED(sym, file)                                                        \
	__asm__(".pushsection .rodata\n"                                        \
		".global " #sym "\n"                                            \
		".hidden " #sym "\n"                                            \
		#sym ":\n"                                                      \
		".incbin \"reports/templates/" file "\"\n"                       \
		".byte 0\n"                                                     \
		".popsection\n");                                               \
	extern const char sym[]

EMBED(kq_tpl_common_gp, "common.gp");
EMBED(kq_tpl_bars_gp, "bars.gp");
EMBED(kq_tpl_boot_gp, "boot.gp");
EMBED(kq_tpl_pct_gp, "pct.gp");
EMBED(kq_tpl_history_gp, "history.gp");
EMBED(kq_tpl_page_html, "page.html");
EMBED(kq_tpl_report_css, "report.css");

static const struct {
	const char *name;
	const char *text;
} builtin[] = {
	{ "common.gp", kq_tpl_common_gp },
	{ "bars.gp", kq_tpl_bars_gp },
	{ "boot.gp", kq_tpl_boot_gp },
	{ "pct.gp", kq_tpl_pct_gp },
	{ "history.gp", kq_tpl_history_gp },
	{ "page.html", kq_tpl_page_html },
	{ "report.css", kq_tpl_report_css },
};

char *report_template(const char *dir, const char *name, struct kq_err *err)
{
	const char *text = NULL;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(builtin); i++)
		if (!strcmp(builtin[i].name, name))
			text = builtin[i].text;
	if (!text)
		return kq_error(err, "no report template named %s", name), NULL;
	if (dir) {
		char *path = kq_xasprintf("%s/%s", dir, name);
		struct stat sb;
		if (stat(path, &sb) == 0) {
			char *data;
			size_t len;
			int rc = kq_read_file(path, 1 << 20, &data, &len, err);
			free(path);
			if (rc)
				return NULL;
			if (strlen(data) != len) {
				free(data);
				return kq_error(err, "%s/%s: a template must be text (it holds a NUL byte)", dir, name),
				       NULL;
			}
			return data;
		}
		int e = errno;
		free(path);
		if (e != ENOENT)
			return kq_error(err, "%s/%s: %s", dir, name, strerror(e)), NULL;
	}
	return kq_xstrdup(text);
}
