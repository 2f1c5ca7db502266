/* The pure half of matrix/http.h: URLs, names, and the WebDAV multistatus
 * parser.  The multistatus body comes from a server we do not control, so
 * the parser is bounded everywhere (depth, count, length) and fuzzed
 * (tests/fuzz/fuzz_propfind.c).  It is not a general XML parser: it
 * tokenises tags, tracks namespace declarations to find DAV:response,
 * DAV:href and DAV:collection, and decodes the href text. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"

#define XML_MAX_DEPTH 64
#define XML_MAX_DECLS 256        /* namespace declarations in scope at once */
#define XML_MAX_MEMBERS 100000
#define XML_MAX_HREF 8192
#define DAV_NS "DAV:"

/* ---- names and URLs ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *http_percent_decode(const char *s, size_t len)
{
	char *out = kq_xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (len - i < 3) {
				free(out);
				return NULL;
			}
			int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else if (c == '\0') {
			free(out);
			return NULL;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

char *http_encode_segment(const char *segment)
{
	static const char hex[] = "0123456789ABCDEF";
	struct kq_buf b;
	kq_buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)segment; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			kq_buf_add(&b, p, 1);
		} else {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			kq_buf_add(&b, esc, 3);
		}
	}
	kq_buf_add(&b, "", 0);
	return kq_buf_steal(&b);
}

char *http_url_join(const char *base, const char *segment)
{
	char *enc = http_encode_segment(segment);
	size_t n = strlen(base);
	char *url = kq_xasprintf("%s%s%s", base, n && base[n - 1] == '/' ? "" : "/", enc);
	free(enc);
	return url;
}

char *http_url_path(const char *url)
{
	CURLU *u = curl_url();
	char *path = NULL, *out = NULL;
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		out = http_percent_decode(path, strlen(path));
		if (out) {
			size_t n = strlen(out);
			while (n > 1 && out[n - 1] == '/')
				out[--n] = '\0';
		}
	}
	curl_free(path);
	curl_url_cleanup(u);
	return out;
}

int http_scheme(const char *s)
{
	if (!strncasecmp(s, "https://", 8))
		return 2;
	return !strncasecmp(s, "http://", 7);
}

int http_looks_like_url(const char *s)
{
	if (!isalpha((unsigned char)*s))
		return 0;
	size_t n = 1;
	while (isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
		n++;
	return !strncmp(s + n, "://", 3);
}

int http_check_url(const char *url, struct kq_err *err)
{
	if (!http_scheme(url)) {
		/* Only the scheme: the rest may hold user:password@. */
		size_t n = http_looks_like_url(url) ? strcspn(url, ":") : 0;
		if (n)
			return kq_error(err, "a %.*s:// URL is not supported: give an http:// or https:// URL", (int)(n > 20 ? 20 : n),
					url);
		return kq_error(err, "not an http:// or https:// URL");
	}
	CURLU *u = curl_url();
	if (!u)
		return kq_error(err, "out of memory");
	int rc = 0;
	char *user = NULL, *password = NULL, *host = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
		/* Not echoed: a URL that does not parse may still hold a secret. */
		rc = kq_error(err, "not a valid URL (it is not shown: it may hold a secret)");
	} else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
		   curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
		rc = kq_error(err, "the URL carries a user name or password, which must not be given on "
				   "the command line: put them in ~/.netrc (machine HOST login USER password "
				   "PASS) or in the environment (%s, or %s and %s)",
			      HTTP_ENV_TOKEN, HTTP_ENV_USER, HTTP_ENV_PASSWORD);
	}
	curl_free(user);
	curl_free(password);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

char *http_url_for_display(const char *url)
{
	CURLU *u = curl_url();
	char *full = NULL, *out = NULL, *query = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		int has_query = curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK;
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
		if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
			out = kq_xasprintf("%s%s", full, has_query ? "?..." : "");
	}
	curl_free(full);
	curl_free(query);
	curl_url_cleanup(u);
	return out ? out : kq_xstrdup("(unparsable URL)");
}

int http_safe_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255 || name[0] == '.')
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* ---- the multistatus parser ---- */

struct span {
	const char *p;
	size_t n;
};

static int span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && !memcmp(s.p, lit, n);
}

struct ns_decl {
	struct span prefix;      /* empty for the default namespace */
	struct span uri;
	int depth;               /* element depth that declared it */
};

struct elem {
	struct span qname;
	int is_dav;
	struct span local;
};

struct parser {
	const char *start, *s, *end;
	struct ns_decl decls[XML_MAX_DECLS];
	int ndecls;
	struct elem stack[XML_MAX_DEPTH];
	int depth;
	struct http_member *members;
	size_t count, cap;
	int in_response;          /* depth of the open DAV:response, 0 if none */
	size_t response_first;    /* index of the response's first member */
	int response_collection;
	int in_href;              /* collecting href text */
	struct kq_buf href;
	struct kq_err *err;
};

static int is_name_char(unsigned char c)
{
	return c > 0x7f || isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int perr(struct parser *ps, const char *what)
{
	return kq_error(ps->err, "malformed multistatus at byte %zu: %s", (size_t)(ps->s - ps->start),
			what);
}

/* Decodes one entity reference at *p (just past '&'); appends to out. */
static int decode_entity(struct parser *ps, const char **p, struct kq_buf *out)
{
	const char *q = *p;
	const char *semi = memchr(q, ';', (size_t)(ps->end - q) < 12 ? (size_t)(ps->end - q) : 12);
	if (!semi)
		return perr(ps, "unterminated entity reference");
	struct span name = { q, (size_t)(semi - q) };
	char c = 0;
	if (span_eq(name, "amp"))
		c = '&';
	else if (span_eq(name, "lt"))
		c = '<';
	else if (span_eq(name, "gt"))
		c = '>';
	else if (span_eq(name, "quot"))
		c = '"';
	else if (span_eq(name, "apos"))
		c = '\'';
	if (c) {
		kq_buf_add(out, &c, 1);
	} else if (name.n >= 2 && name.p[0] == '#') {
		unsigned long v = 0;
		int hex = name.p[1] == 'x' || name.p[1] == 'X';
		size_t i = hex ? 2 : 1;
		if (i == name.n)
			return perr(ps, "empty character reference");
		for (; i < name.n; i++) {
			int d = hex ? hexval((unsigned char)name.p[i])
				    : (name.p[i] >= '0' && name.p[i] <= '9' ? name.p[i] - '0' : -1);
			if (d < 0)
				return perr(ps, "bad character reference");
			v = v * (hex ? 16 : 10) + (unsigned long)d;
			if (v > 0x10ffff)
				return perr(ps, "character reference out of range");
		}
		if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
			return perr(ps, "character reference to NUL or a surrogate");
		unsigned char u[4];
		size_t n;
		if (v < 0x80) {
			u[0] = (unsigned char)v;
			n = 1;
		} else if (v < 0x800) {
			u[0] = (unsigned char)(0xc0 | (v >> 6));
			u[1] = (unsigned char)(0x80 | (v & 0x3f));
			n = 2;
		} else if (v < 0x10000) {
			u[0] = (unsigned char)(0xe0 | (v >> 12));
			u[1] = (unsigned char)(0x80 | ((v >> 6) & 0x3f));
			u[2] = (unsigned char)(0x80 | (v & 0x3f));
			n = 3;
		} else {
			u[0] = (unsigned char)(0xf0 | (v >> 18));
			u[1] = (unsigned char)(0x80 | ((v >> 12) & 0x3f));
			u[2] = (unsigned char)(0x80 | ((v >> 6) & 0x3f));
			u[3] = (unsigned char)(0x80 | (v & 0x3f));
			n = 4;
		}
		kq_buf_add(out, u, n);
	} else {
		return perr(ps, "unknown entity (only the five XML entities are understood)");
	}
	*p = semi + 1;
	return 0;
}

static int href_text(struct parser *ps, const char *p, size_t n, int raw)
{
	if (!ps->in_href)
		return 0;
	if (memchr(p, '\0', n))
		return perr(ps, "NUL byte in an href");
	const char *end = p + n;
	while (p < end) {
		if (ps->href.len > XML_MAX_HREF)
			return perr(ps, "href longer than 8 KiB");
		if (!raw && *p == '&') {
			p++;
			/* The entity must end before the text does. */
			const char *saved_end = ps->end;
			ps->end = end;
			int rc = decode_entity(ps, &p, &ps->href);
			ps->end = saved_end;
			if (rc)
				return -1;
		} else {
			kq_buf_add(&ps->href, p, 1);
			p++;
		}
	}
	return 0;
}

/* Resolves an element's prefix against the declarations in scope. */
static int resolve_dav(struct parser *ps, struct span qname, struct span *local)
{
	const char *colon = memchr(qname.p, ':', qname.n);
	struct span prefix = { qname.p, colon ? (size_t)(colon - qname.p) : 0 };
	*local = colon ? (struct span){ colon + 1, qname.n - prefix.n - 1 } : qname;
	for (int i = ps->ndecls - 1; i >= 0; i--) {
		struct ns_decl *d = &ps->decls[i];
		if (d->prefix.n == prefix.n && !memcmp(d->prefix.p, prefix.p, prefix.n))
			return d->uri.n == 4 && !memcmp(d->uri.p, DAV_NS, 4);
	}
	if (prefix.n)
		return perr(ps, "namespace prefix used without a declaration") - 1;
	return 0;
}

static void add_member(struct parser *ps, char *path)
{
	if (ps->count == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 16;
		ps->members = kq_xrealloc(ps->members, ps->cap * sizeof(*ps->members));
	}
	ps->members[ps->count++] = (struct http_member){ .path = path, .is_collection = 0 };
}

/* An href is an absolute path or an absolute URL; either way keep the
 * decoded path. */
static int finish_href(struct parser *ps)
{
	kq_buf_add(&ps->href, "", 0);
	char *text = kq_strtrim(ps->href.data);
	const char *path = text;
	if (!strncmp(text, "http://", 7) || !strncmp(text, "https://", 8)) {
		const char *host = strstr(text, "//") + 2;
		path = strchr(host, '/');
		if (!path)
			path = "/";
	}
	if (path[0] != '/')
		return perr(ps, "href is neither an absolute path nor an http(s) URL");
	char *decoded = http_percent_decode(path, strlen(path));
	if (!decoded)
		return perr(ps, "href has a malformed percent escape (or %00)");
	if (ps->count >= XML_MAX_MEMBERS) {
		free(decoded);
		return perr(ps, "more than 100000 members");
	}
	add_member(ps, decoded);
	ps->href.len = 0;
	return 0;
}

/* Parses one start or end tag at ps->s (on '<').  */
static int parse_tag(struct parser *ps)
{
	const char *p = ps->s + 1;
	int closing = 0;
	if (p < ps->end && *p == '/') {
		closing = 1;
		p++;
	}
	const char *name = p;
	while (p < ps->end && is_name_char((unsigned char)*p))
		p++;
	struct span qname = { name, (size_t)(p - name) };
	if (!qname.n)
		return perr(ps, "tag without a name");
	if (closing) {
		while (p < ps->end && is_space(*p))
			p++;
		if (p >= ps->end || *p != '>')
			return perr(ps, "unterminated end tag");
		if (ps->depth == 0)
			return perr(ps, "end tag without a start tag");
		struct elem *e = &ps->stack[ps->depth - 1];
		if (e->qname.n != qname.n || memcmp(e->qname.p, qname.p, qname.n))
			return perr(ps, "end tag does not match its start tag");
		if (e->is_dav && span_eq(e->local, "href") && ps->in_href == ps->depth) {
			ps->in_href = 0;
			if (finish_href(ps))
				return -1;
		}
		if (ps->in_response == ps->depth) {
			if (ps->response_first == ps->count)
				return perr(ps, "response without an href");
			for (size_t i = ps->response_first; i < ps->count; i++)
				ps->members[i].is_collection = ps->response_collection;
			ps->in_response = 0;
		}
		while (ps->ndecls && ps->decls[ps->ndecls - 1].depth == ps->depth)
			ps->ndecls--;
		ps->depth--;
		ps->s = p + 1;
		return 0;
	}
	if (ps->depth == XML_MAX_DEPTH)
		return perr(ps, "elements nested deeper than 64");
	int level = ps->depth + 1;
	/* Attributes: only namespace declarations matter. */
	for (;;) {
		const char *before = p;
		while (p < ps->end && is_space(*p))
			p++;
		if (p >= ps->end)
			return perr(ps, "unterminated start tag");
		if (*p == '>' || *p == '/')
			break;
		if (p == before)
			return perr(ps, "attributes must be separated by white space");
		const char *an = p;
		while (p < ps->end && is_name_char((unsigned char)*p))
			p++;
		struct span aname = { an, (size_t)(p - an) };
		if (!aname.n)
			return perr(ps, "bad attribute name");
		while (p < ps->end && is_space(*p))
			p++;
		if (p >= ps->end || *p != '=')
			return perr(ps, "attribute without '='");
		p++;
		while (p < ps->end && is_space(*p))
			p++;
		if (p >= ps->end || (*p != '"' && *p != '\''))
			return perr(ps, "attribute value not quoted");
		char quote = *p++;
		const char *v = p;
		while (p < ps->end && *p != quote) {
			if (*p == '<')
				return perr(ps, "'<' in an attribute value");
			p++;
		}
		if (p >= ps->end)
			return perr(ps, "unterminated attribute value");
		struct span value = { v, (size_t)(p - v) };
		p++;
		int is_default = span_eq(aname, "xmlns");
		if (is_default || (aname.n > 6 && !memcmp(aname.p, "xmlns:", 6))) {
			if (ps->ndecls == XML_MAX_DECLS)
				return perr(ps, "too many namespace declarations");
			struct span prefix = is_default ? (struct span){ aname.p, 0 }
							: (struct span){ aname.p + 6, aname.n - 6 };
			ps->decls[ps->ndecls++] = (struct ns_decl){ prefix, value, level };
		}
	}
	int self_closing = 0;
	if (*p == '/') {
		p++;
		if (p >= ps->end || *p != '>')
			return perr(ps, "'/' not followed by '>' in a tag");
		self_closing = 1;
	}
	ps->depth = level;
	struct elem *e = &ps->stack[level - 1];
	e->qname = qname;
	int dav = resolve_dav(ps, qname, &e->local);
	if (dav < 0)
		return -1;
	e->is_dav = dav;
	if (level == 1 && !(dav && span_eq(e->local, "multistatus")))
		return perr(ps, "the root element is not DAV:multistatus");
	if (dav && span_eq(e->local, "response")) {
		if (level != 2)
			return perr(ps, "DAV:response outside DAV:multistatus");
		ps->in_response = level;
		ps->response_first = ps->count;
		ps->response_collection = 0;
	} else if (dav && span_eq(e->local, "href") && ps->in_response == level - 1) {
		ps->in_href = level;
		ps->href.len = 0;
	} else if (dav && span_eq(e->local, "collection") && ps->in_response) {
		ps->response_collection = 1;
	}
	ps->s = p + 1;
	if (self_closing) {
		/* An empty href is an error, reported by finish_href. */
		if (ps->in_href == level) {
			ps->in_href = 0;
			if (finish_href(ps))
				return -1;
		}
		if (ps->in_response == level)
			return perr(ps, "response without an href");
		while (ps->ndecls && ps->decls[ps->ndecls - 1].depth == level)
			ps->ndecls--;
		ps->depth--;
	}
	return 0;
}

/* Skips past the first occurrence of terminator; -1 if there is none. */
static int skip_past(struct parser *ps, const char *terminator, const char *what)
{
	const char *t = kq_memstr(ps->s, (size_t)(ps->end - ps->s), terminator);
	if (!t)
		return perr(ps, what);
	ps->s = t + strlen(terminator);
	return 0;
}

int http_parse_multistatus(const char *body, size_t len, struct http_member **members,
			   size_t *count, struct kq_err *err)
{
	struct parser ps = { .start = body, .s = body, .end = body + len, .err = err };
	kq_buf_init(&ps.href);
	int rc = 0, seen_root = 0;
	*members = NULL;
	*count = 0;
	while (ps.s < ps.end && rc == 0) {
		if (*ps.s != '<') {
			const char *lt = memchr(ps.s, '<', (size_t)(ps.end - ps.s));
			size_t n = lt ? (size_t)(lt - ps.s) : (size_t)(ps.end - ps.s);
			if (ps.depth == 0) {
				for (size_t i = 0; i < n; i++)
					if (!is_space(ps.s[i]))
						rc = perr(&ps, "text outside the root element");
			} else if (memchr(ps.s, '\0', n)) {
				rc = perr(&ps, "NUL byte in text");
			} else {
				rc = href_text(&ps, ps.s, n, 0);
			}
			ps.s += n;
			continue;
		}
		size_t left = (size_t)(ps.end - ps.s);
		if (left >= 4 && !memcmp(ps.s, "<!--", 4)) {
			ps.s += 4;
			rc = skip_past(&ps, "-->", "unterminated comment");
		} else if (left >= 9 && !memcmp(ps.s, "<![CDATA[", 9)) {
			if (ps.depth == 0) {
				rc = perr(&ps, "CDATA outside the root element");
				break;
			}
			const char *start = ps.s + 9;
			ps.s = start;
			rc = skip_past(&ps, "]]>", "unterminated CDATA section");
			if (!rc)
				rc = href_text(&ps, start, (size_t)(ps.s - 3 - start), 1);
		} else if (left >= 2 && ps.s[1] == '?') {
			ps.s += 2;
			rc = skip_past(&ps, "?>", "unterminated processing instruction");
		} else if (left >= 2 && ps.s[1] == '!') {
			/* A DOCTYPE could declare entities; a multistatus never has one. */
			rc = perr(&ps, "DOCTYPE or other declaration not allowed");
		} else {
			if (ps.depth == 0 && seen_root) {
				rc = perr(&ps, "a second root element");
				break;
			}
			seen_root = 1;
			rc = parse_tag(&ps);
		}
	}
	if (rc == 0 && !seen_root)
		rc = kq_error(err, "malformed multistatus: no root element");
	if (rc == 0 && ps.depth)
		rc = kq_error(err, "malformed multistatus: truncated (element left open)");
	kq_buf_free(&ps.href);
	if (rc) {
		http_members_free(ps.members, ps.count);
		return -1;
	}
	*members = ps.members;
	*count = ps.count;
	return 0;
}

void http_members_free(struct http_member *members, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(members[i].path);
	free(members);
}
