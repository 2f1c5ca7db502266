/* matrix/http.h's pure helpers: the multistatus parser (well-formed
 * answers from several servers' styles, and malformed ones), URLs, names. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../matrix/http.h"
#include "test.h"

static int parse(const char *xml, struct http_member **m, size_t *n, struct kq_err *err)
{
	return http_parse_multistatus(xml, strlen(xml), m, n, err);
}

/* nginx's dav-ext answer, shortened. */
static const char nginx_answer[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
	"<D:multistatus xmlns:D=\"DAV:\">\n"
	"<D:response>\n<D:href>/dav/a/b/</D:href>\n<D:propstat><D:prop>"
	"<D:resourcetype><D:collection/></D:resourcetype></D:prop>"
	"<D:status>HTTP/1.1 200 OK</D:status></D:propstat>\n</D:response>\n"
	"<D:response>\n<D:href>/dav/a/b/host%201.json</D:href>\n<D:propstat><D:prop>"
	"<D:resourcetype></D:resourcetype></D:prop>"
	"<D:status>HTTP/1.1 200 OK</D:status></D:propstat>\n</D:response>\n"
	"</D:multistatus>\n";

TEST(http_multistatus_nginx)
{
	struct http_member *m;
	size_t n;
	struct kq_err err;
	CHECK_INT(parse(nginx_answer, &m, &n, &err), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(m[0].path, "/dav/a/b/");
		CHECK_INT(m[0].is_collection, 1);
		CHECK_STR(m[1].path, "/dav/a/b/host 1.json");
		CHECK_INT(m[1].is_collection, 0);
	}
	http_members_free(m, n);
}

/* The same document in the styles other servers use. */
TEST(http_multistatus_prefixes)
{
	static const char *const docs[] = {
		/* lower-case prefix (Apache mod_dav writes D:, some write d:) */
		"<d:multistatus xmlns:d='DAV:'><d:response><d:href>/x/a.json</d:href>"
		"<d:propstat><d:prop><d:resourcetype/></d:prop></d:propstat></d:response></d:multistatus>",
		/* default namespace, absolute URL href */
		"<multistatus xmlns=\"DAV:\"><response><href>https://h.example:8443/x/a.json</href>"
		"<propstat><prop><resourcetype/></prop></propstat></response></multistatus>",
		/* an unusual prefix, other namespaces around, comments and CDATA */
		"<?xml version='1.0'?><!-- lists --><lp1:multistatus xmlns:lp1=\"DAV:\" xmlns:x=\"urn:x\">"
		"<lp1:response><x:href>/not/this</x:href><lp1:href><![CDATA[/x/a.json]]></lp1:href>"
		"</lp1:response></lp1:multistatus>",
		/* entities and a numeric character reference inside the href */
		"<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href> /x/&#97;&#x2e;json </D:href>"
		"</D:response></D:multistatus>",
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(docs); i++) {
		struct http_member *m;
		size_t n;
		struct kq_err err;
		int rc = parse(docs[i], &m, &n, &err);
		if (rc) {
			test_fail(__FILE__, __LINE__, "doc %zu: %s", i, err.msg);
			continue;
		}
		CHECK_INT(n, 1);
		if (n == 1)
			CHECK_STR(m[0].path, "/x/a.json");
		http_members_free(m, n);
	}
}

/* A prefix that is redeclared to another namespace no longer means DAV:. */
TEST(http_multistatus_namespace_scope)
{
	const char *xml = "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a</D:href>"
			  "<D:propstat xmlns:D=\"urn:other\"><D:href>/b</D:href><D:collection/></D:propstat>"
			  "</D:response><D:response><D:href>/c</D:href></D:response></D:multistatus>";
	struct http_member *m;
	size_t n;
	struct kq_err err;
	CHECK_INT(parse(xml, &m, &n, &err), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(m[0].path, "/a");
		CHECK_INT(m[0].is_collection, 0);
		CHECK_STR(m[1].path, "/c");
	}
	http_members_free(m, n);
}

TEST(http_multistatus_malformed)
{
	static const struct {
		const char *xml;
		const char *why;
	} cases[] = {
		{ "", "no root element" },
		{ "   ", "no root element" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a</D:href>", "truncated" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a</D:hre", "unterminated" },
		{ "<D:multistatus xmlns:D=\"DAV:\"></D:response></D:multistatus>", "does not match" },
		{ "<D:multistatus><D:response/></D:multistatus>", "without a declaration" },
		{ "<!DOCTYPE x [<!ENTITY a \"b\">]><D:multistatus xmlns:D=\"DAV:\"/>", "DOCTYPE" },
		{ "<html><body>Hello</body></html>", "not DAV:multistatus" },
		{ "<multistatus xmlns=\"urn:not-dav\"/>", "not DAV:multistatus" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:status>x</D:status></D:response></D:multistatus>",
		  "without an href" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response/></D:multistatus>", "without an href" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a%4</D:href></D:response></D:multistatus>",
		  "percent" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a%zz</D:href></D:response></D:multistatus>",
		  "percent" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a%00b</D:href></D:response></D:multistatus>",
		  "percent" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a&#0;</D:href></D:response></D:multistatus>",
		  "NUL" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a&nbsp;</D:href></D:response></D:multistatus>",
		  "unknown entity" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a&amp</D:href></D:response></D:multistatus>",
		  "entity" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>relative</D:href></D:response></D:multistatus>",
		  "absolute path" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href></D:href></D:response></D:multistatus>",
		  "absolute path" },
		{ "<D:multistatus xmlns:D=\"DAV:\"/><D:multistatus xmlns:D=\"DAV:\"/>", "second root" },
		{ "junk<D:multistatus xmlns:D=\"DAV:\"/>", "outside the root" },
		{ "<D:multistatus xmlns:D=DAV:/>", "not quoted" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:response><D:href>/a</D:href></D:response>"
		  "</D:response></D:multistatus>", "outside" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><!-- never closed", "comment" },
		{ "<D:multistatus xmlns:D=\"DAV:\"><![CDATA[ never closed", "CDATA" },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		struct http_member *m = NULL;
		size_t n = 99;
		struct kq_err err = { "" };
		int rc = parse(cases[i].xml, &m, &n, &err);
		if (rc != -1 || !strstr(err.msg, cases[i].why))
			test_fail(__FILE__, __LINE__, "case %zu: rc %d, error '%s', expected '%s'", i, rc,
				  err.msg, cases[i].why);
		CHECK(m == NULL);
		CHECK_INT(n, 0);
	}
}

TEST(http_multistatus_bounds)
{
	/* Nesting deeper than the parser's limit is refused, not recursed. */
	struct kq_buf b;
	kq_buf_init(&b);
	kq_buf_printf(&b, "<D:multistatus xmlns:D=\"DAV:\">");
	for (int i = 0; i < 200; i++)
		kq_buf_printf(&b, "<x>");
	struct http_member *m;
	size_t n;
	struct kq_err err;
	CHECK_INT(http_parse_multistatus(b.data, b.len, &m, &n, &err), -1);
	CHECK(strstr(err.msg, "deeper") != NULL);
	/* The length is honoured: a valid document cut one byte short fails. */
	CHECK_INT(http_parse_multistatus(nginx_answer, strlen(nginx_answer) - 3, &m, &n, &err), -1);
	/* A NUL inside the body is not a terminator. */
	char with_nul[] = "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a\0b</D:href></D:response></D:multistatus>";
	CHECK_INT(http_parse_multistatus(with_nul, sizeof(with_nul) - 1, &m, &n, &err), -1);
	kq_buf_free(&b);
}

TEST(http_percent_decode)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" }, { "abc", "abc" }, { "%41%2f%2F", "A//" }, { "a%20b", "a b" },
		{ "%e2%82%ac", "\xe2\x82\xac" }, { "%", NULL }, { "%4", NULL }, { "%g1", NULL },
		{ "%00", NULL }, { "x%", NULL },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		char *d = http_percent_decode(cases[i].in, strlen(cases[i].in));
		if (cases[i].out)
			CHECK_STR(d, cases[i].out);
		else if (d)
			test_fail(__FILE__, __LINE__, "'%s' decoded to '%s', expected an error", cases[i].in, d);
		free(d);
	}
}

TEST(http_urls)
{
	char *s = http_encode_segment("a b&%.json~_-");
	CHECK_STR(s, "a%20b%26%25.json~_-");
	free(s);
	s = http_encode_segment("d\xc3\xa9j\xc3\xa0/x?#");
	CHECK_STR(s, "d%C3%A9j%C3%A0%2Fx%3F%23");
	free(s);
	s = http_url_join("http://h/dav", "a b");
	CHECK_STR(s, "http://h/dav/a%20b");
	free(s);
	s = http_url_join("http://h/dav/", "x.json");
	CHECK_STR(s, "http://h/dav/x.json");
	free(s);
	s = http_url_path("http://h:8080/dav/x%20y/");
	CHECK_STR(s, "/dav/x y");
	free(s);
	s = http_url_path("https://h");
	CHECK_STR(s, "/");
	free(s);

	struct kq_err err;
	CHECK_INT(http_check_url("http://127.0.0.1:8080/dav/", &err), 0);
	CHECK_INT(http_check_url("https://example.org/x?sig=1", &err), 0);
	CHECK_INT(http_check_url("ftp://h/x", &err), -1);
	CHECK_INT(http_check_url("/tmp/x", &err), -1);
	CHECK_INT(http_check_url("http://", &err), -1);
	CHECK_INT(http_check_url("http://bob:secret@h/dav/", &err), -1);
	CHECK(strstr(err.msg, ".netrc") != NULL);
	CHECK(strstr(err.msg, "secret") == NULL);
	CHECK_INT(http_check_url("https://bob@h/dav/", &err), -1);

	s = http_url_for_display("http://bob:secret@h:81/dav/a?X-Amz-Signature=abc#f");
	CHECK_STR(s, "http://h:81/dav/a?...");
	free(s);
	s = http_url_for_display("https://h/dav/");
	CHECK_STR(s, "https://h/dav/");
	free(s);
}

TEST(http_safe_names)
{
	static const struct {
		const char *name;
		int safe;
	} cases[] = {
		{ "host.json", 1 }, { "a b.json", 1 }, { "d\xc3\xa9j\xc3\xa0.json", 1 },
		{ "", 0 }, { ".", 0 }, { "..", 0 }, { ".hidden.json", 0 },
		{ ".x.json.upload-12-abcd", 0 }, { "a/b.json", 0 }, { "../x.json", 0 },
		{ "a\\b.json", 0 }, { "a\nb.json", 0 }, { "a\x7f.json", 0 },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++)
		if (http_safe_name(cases[i].name) != cases[i].safe)
			test_fail(__FILE__, __LINE__, "'%s': safe %d, expected %d", cases[i].name,
				  !cases[i].safe, cases[i].safe);
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT(http_safe_name(longname), 0);
}

/* The environment decides the credentials; half a pair is refused. */
TEST(http_client_credentials)
{
	struct http_opts o;
	http_opts_default(&o);
	struct kq_err err;
	unsetenv(HTTP_ENV_TOKEN);
	unsetenv(HTTP_ENV_USER);
	unsetenv(HTTP_ENV_PASSWORD);
	struct http_client *c = http_client_new(&o, &err);
	CHECK(c != NULL);
	if (c)
		CHECK(strstr(http_client_auth_source(c), "netrc") != NULL);
	http_client_free(c);
	setenv(HTTP_ENV_USER, "bob", 1);
	c = http_client_new(&o, &err);
	CHECK(c == NULL);
	http_client_free(c);
	setenv(HTTP_ENV_PASSWORD, "pw-not-shown", 1);
	c = http_client_new(&o, &err);
	CHECK(c != NULL);
	if (c) {
		CHECK(strstr(http_client_auth_source(c), "bob") != NULL);
		CHECK(strstr(http_client_auth_source(c), "pw-not-shown") == NULL);
	}
	http_client_free(c);
	setenv(HTTP_ENV_TOKEN, "t", 1);
	c = http_client_new(&o, &err);
	CHECK(c == NULL);
	http_client_free(c);
	unsetenv(HTTP_ENV_USER);
	unsetenv(HTTP_ENV_PASSWORD);
	c = http_client_new(&o, &err);
	CHECK(c != NULL);
	if (c)
		CHECK(strstr(http_client_auth_source(c), "bearer") != NULL);
	http_client_free(c);
	unsetenv(HTTP_ENV_TOKEN);
}

/* Nothing listens on the port: a clear error after the retries, in
 * bounded time (back-off shortened for the test). */
TEST(http_connection_refused)
{
	struct http_opts o;
	http_opts_default(&o);
	o.retries = 2;
	o.backoff_ms = 10;
	struct kq_err err;
	struct http_client *c = http_client_new(&o, &err);
	CHECK(c != NULL);
	if (!c)
		return;
	/* A port that was free a moment ago: bound, then closed. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	      getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
	close(fd);
	char url[64], want[80];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
	snprintf(want, sizeof(want), "DELETE %s", url);
	struct http_result res;
	uint64_t t0 = kq_now_ns();
	CHECK_INT(http_delete(c, url, &res, &err), -1);
	CHECK((kq_now_ns() - t0) / 1000000 < 5000);
	CHECK_INT(res.attempts, 3);
	CHECK(strstr(err.msg, want) != NULL);
	CHECK(strstr(err.msg, "after 3 attempts") != NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/dav/", ntohs(a.sin_port));
	snprintf(want, sizeof(want), "PROPFIND %s", url);
	int n = http_fetch_collection_with(c, url, "/tmp", &err);
	CHECK_INT(n, -1);
	CHECK(strstr(err.msg, want) != NULL);
	http_client_free(c);
}
