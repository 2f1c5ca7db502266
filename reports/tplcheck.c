/* What an edited page.html and report.css (kvmqual report --templates DIR)
 * may hold: allow-lists, not a list of what is refused.  The page must
 * stand alone, open from the disk or a mail, and fetch nothing; a deny-list
 * of "url(http" was bypassed by "url( http", image-set() and CSS escapes.
 *
 * CSS: comments, strings, selectors and declarations; functions only from
 * css_functions (none of them loads anything), at-rules only from
 * css_at_rules; no backslash (an escape can spell any name), no '<' (the
 * CSS is inlined in <style>), nothing but valid UTF-8.
 * The page: elements from page_elements, attributes from the safe few (no
 * src, href, action, http-equiv, on*...), one exception: the empty icon
 * link; the text of <style> checked as CSS (no style="" attributes).
 * Fuzzed by tests/fuzz/fuzz_templates.c. */
#define _GNU_SOURCE
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "report.h"

static const char *const css_functions[] = {
	"var", "calc", "min", "max", "clamp", "rgb", "rgba", "hsl", "hsla", "hwb", "color-mix",
	"linear-gradient", "radial-gradient", "conic-gradient", "repeating-linear-gradient",
	"repeating-radial-gradient", "translate", "translatex", "translatey", "scale", "rotate", "skew",
	"matrix", "cubic-bezier", "steps", "minmax", "repeat", "fit-content", "counter", "counters",
	/* selectors' functional pseudo-classes */
	"not", "is", "where", "has", "nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type", "lang", "dir",
	NULL,
};
static const char *const css_at_rules[] = { "media", "supports", "keyframes", NULL };

static const char *const page_elements[] = {
	"html", "head", "body", "meta", "title", "style", "link", "main", "header", "footer", "section",
	"article", "nav", "aside", "div", "span", "p", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em",
	"b", "i", "small", "code", "pre", "ul", "ol", "li", "dl", "dt", "dd", "br", "hr", "blockquote",
	"figure", "figcaption", NULL,
};

#define EMPTY_ICON_LINK "<link rel=\"icon\" href=\"data:,\">"

static int in_list(const char *const *list, const char *word, size_t len)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == len && !strncasecmp(list[i], word, len))
			return 1;
	return 0;
}

static int line_of(const char *start, const char *p)
{
	int line = 1;
	for (; start < p; start++)
		line += *start == '\n';
	return line;
}

static int word_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c >= 0x80;
}

/* Checks len bytes of CSS; where names the place for messages ("template
 * report.css" and the text the line numbers count from). */
static int css_check(const char *css, size_t len, const char *name, const char *from, struct kq_err *err)
{
	const char *p = css, *end = css + len;
#define CSS_REFUSE(what, ...)                                                                              \
	return kq_error(err, "template %s, line %d: " what " is not allowed: the page's CSS may use only "   \
			     "plain declarations, the functions var(), calc(), rgb() and the like (nothing that " \
			     "loads), and @media, @supports, @keyframes; no url(), image-set(), @import, "        \
			     "@font-face or escapes",                                                             \
			name, line_of(from, p), __VA_ARGS__)
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		size_t n = kq_utf8_len((const unsigned char *)p);
		if (!n || (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f)
			CSS_REFUSE("%s", "a control character or a byte that is not UTF-8");
		if (c == '\\')
			CSS_REFUSE("%s", "a backslash (a CSS escape)");
		if (c == '<')
			CSS_REFUSE("%s", "'<'");
		if (c == '/' && p + 1 < end && p[1] == '*') {
			const char *close = NULL;
			for (const char *q = p + 2; q + 1 < end; q++)
				if (q[0] == '*' && q[1] == '/') {
					close = q;
					break;
				}
			if (!close)
				CSS_REFUSE("%s", "an unterminated comment");
			/* The comment's text is not CSS, but it is inlined too; and
			 * the rule stays simple: no '<' and no backslash anywhere. */
			for (const char *q = p; q < close; q++)
				if (*q == '<' || *q == '\\') {
					p = q;
					CSS_REFUSE("%s", *q == '<' ? "'<'" : "a backslash (a CSS escape)");
				}
			p = close + 2;
			continue;
		}
		if (c == '"' || c == '\'') {
			const char *q = p + 1;
			while (q < end && *q != (char)c) {
				if (*q == '\\' || *q == '\n' || *q == '\r' || *q == '<') {
					p = q;
					CSS_REFUSE("%s", *q == '<' ? "'<'" : *q == '\\' ? "a backslash (a CSS escape)"
								      : "a line break in a string");
				}
				q++;
			}
			if (q >= end)
				CSS_REFUSE("%s", "an unterminated string");
			p = q + 1;
			continue;
		}
		if (c == '@') {
			const char *w = p + 1;
			size_t wl = 0;
			while (w + wl < end && word_char((unsigned char)w[wl]))
				wl++;
			if (!in_list(css_at_rules, w, wl))
				CSS_REFUSE("'@%.*s'", (int)(wl > 40 ? 40 : wl), w);
			p = w + wl;
			continue;
		}
		if (word_char(c)) {
			const char *w = p;
			while (p < end && word_char((unsigned char)*p))
				p += kq_utf8_len((const unsigned char *)p) ? kq_utf8_len((const unsigned char *)p) : 1;
			if (p < end && *p == '(' && !in_list(css_functions, w, (size_t)(p - w))) {
				p = w;
				CSS_REFUSE("'%.*s('", (int)(strcspn(w, "(") > 40 ? 40 : strcspn(w, "(")), w);
			}
			continue;
		}
		p += n;
	}
	return 0;
#undef CSS_REFUSE
}

int report_css_allowed(const char *css, const char *name, struct kq_err *err)
{
	return css_check(css, strlen(css), name, css, err);
}

/* ---- the page's frame ---- */

static int page_refuse(struct kq_err *err, const char *page, const char *at, const char *what, size_t len)
{
	return kq_error(err, "template page.html, line %d: %.*s is not allowed: the page's frame may hold only "
			     "plain elements (html, head, body, meta, title, style, div, p, ...) with lang, class, id, "
			     "dir, title, role, aria-* and data-* attributes, and the empty icon link %s; nothing "
			     "that loads or runs",
			line_of(page, at), (int)(len > 60 ? 60 : len), what, EMPTY_ICON_LINK);
}

static int attr_allowed(const char *tag, size_t tlen, const char *a, size_t alen)
{
	static const char *const common[] = { "lang", "class", "id", "dir", "title", "role", NULL };
	if (in_list(common, a, alen) || (alen > 5 && !strncasecmp(a, "aria-", 5)) ||
	    (alen > 5 && !strncasecmp(a, "data-", 5)))
		return 1;
	if (tlen == 4 && !strncasecmp(tag, "meta", 4)) {
		static const char *const meta[] = { "charset", "name", "content", NULL };
		return in_list(meta, a, alen);
	}
	return 0;
}

int report_page_allowed(const char *page, struct kq_err *err)
{
	for (const char *p = page; *p;) {
		size_t n = kq_utf8_len((const unsigned char *)p);
		if (!n || ((unsigned char)*p < 0x20 && !strchr("\t\n\r\f", *p)) || *p == 0x7f)
			return page_refuse(err, page, p, "a control character or a byte that is not UTF-8", 47);
		p += n;
	}
	const char *p = page;
	while (*p) {
		size_t n = kq_utf8_len((const unsigned char *)p);
		if (*p != '<') {
			p += n;
			continue;
		}
		if (!strncmp(p, "<!--", 4)) {
			const char *close = strstr(p + 4, "-->");
			if (!close)
				return page_refuse(err, page, p, "an unterminated comment", 23);
			p = close + 3;
			continue;
		}
		if (!strncasecmp(p, "<!doctype html>", 15)) {
			p += 15;
			continue;
		}
		if (!strncmp(p, EMPTY_ICON_LINK, strlen(EMPTY_ICON_LINK))) {
			p += strlen(EMPTY_ICON_LINK);
			continue;
		}
		int closing = p[1] == '/';
		const char *tag = p + 1 + closing;
		size_t tlen = 0;
		while (isalnum((unsigned char)tag[tlen]))
			tlen++;
		if (!tlen) {
			if (p[1] == '!' || p[1] == '?' || closing)
				return page_refuse(err, page, p, p, strcspn(p, ">") + 1);
			p++; /* a '<' that starts no tag is text */
			continue;
		}
		if (!in_list(page_elements, tag, tlen) || (tlen == 4 && !strncasecmp(tag, "link", 4)))
			return page_refuse(err, page, p, p, strcspn(p, " \t\r\n/>") + 1);
		const char *q = tag + tlen;
		for (;;) {
			while (*q && strchr(" \t\r\n\f", *q))
				q++;
			if (*q == '>' || (q[0] == '/' && q[1] == '>'))
				break;
			if (!*q)
				return page_refuse(err, page, p, "an unterminated tag", 19);
			const char *a = q;
			while (isalnum((unsigned char)*q) || *q == '-' || *q == '_' || *q == ':')
				q++;
			size_t alen = (size_t)(q - a);
			if (!alen || closing || !strchr(" \t\r\n\f/>=", *q) || !attr_allowed(tag, tlen, a, alen))
				return page_refuse(err, page, a, alen ? a : q, alen ? alen : 1);
			while (*q && strchr(" \t\r\n\f", *q))
				q++;
			if (*q == '=') {
				q++;
				while (*q && strchr(" \t\r\n\f", *q))
					q++;
				char quote = *q == '"' || *q == '\'' ? *q : 0;
				const char *v = quote ? q + 1 : q;
				const char *ve = quote ? strchr(v, quote) : v + strcspn(v, " \t\r\n\f>");
				if (!ve)
					return page_refuse(err, page, a, "an unterminated attribute value", 31);
				if (memchr(v, '<', (size_t)(ve - v)))
					return page_refuse(err, page, a, "'<' in an attribute value", 25);
				q = quote ? ve + 1 : ve;
			}
		}
		const char *after = *q == '>' ? q + 1 : q + 2;
		if (!closing && tlen == 5 && !strncasecmp(tag, "style", 5)) {
			const char *close = strcasestr(after, "</style");
			if (!close)
				return page_refuse(err, page, p, "an unterminated <style>", 23);
			/* The report puts report.css (checked by itself) at @STYLE@. */
			const char *mark = strstr(after, "@STYLE@");
			if (mark && mark < close) {
				if (css_check(after, (size_t)(mark - after), "page.html", page, err) ||
				    css_check(mark + 7, (size_t)(close - mark - 7), "page.html", page, err))
					return -1;
			} else if (css_check(after, (size_t)(close - after), "page.html", page, err)) {
				return -1;
			}
			after = close;
		}
		p = after;
	}
	return 0;
}
