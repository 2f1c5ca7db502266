/* HTTP(S) transport for publishing results and fetching them back: WebDAV
 * PUT/MKCOL/MOVE/DELETE and PROPFIND over libcurl, with credentials from
 * ~/.netrc ($NETRC) or the environment, verified TLS, bounded time and
 * retries with back-off.  Library code: errors come back in struct kq_err,
 * nothing here prints or exits.  docs/publish.md describes the protocol. */
#ifndef KQ_HTTP_H
#define KQ_HTTP_H

#include <stddef.h>

#include "../lib/util.h"

/* What a collection fetch (kvmqual matrix --in URL) downloads at most in
 * all, by default: bundles are tens of KiB each. */
#define HTTP_FETCH_MAX_DEFAULT (256ull << 20)

/* Fetches every member of the WebDAV collection at url whose name ends in
 * ".json" into dest_dir (created if missing): PROPFIND Depth: 1, then GET
 * each.  Names that are not safe as local file names, and dotfiles (uploads
 * still in flight), are left out.  TLS verified, credentials from .netrc or
 * the environment (as kvmqual publish), retries on 5xx and timeouts, at
 * most HTTP_FETCH_MAX_DEFAULT bytes in all.  Returns the number of files
 * fetched (>= 0), or -1 with err naming the URL and the HTTP status or what
 * else failed. */
int http_fetch_collection(const char *url, const char *dest_dir, struct kq_err *err);

/* Settings shared by every request of one command.  http_opts_default()
 * fills in: verify TLS, 3 retries, 10 s connect timeout, at least 1 KiB/s
 * over any 30 s, 300 s per request, back-off from 500 ms, no download cap.
 * A server that drips (a byte a second resets no stall timer here) is cut
 * off by the minimum rate; one that streams without end by the deadline
 * or the download cap. */
struct http_opts {
	int insecure;            /* do not verify the server's certificate */
	const char *cacert;      /* CA bundle to verify against, or NULL */
	int retries;             /* extra attempts on 5xx, 429, timeouts, connection errors */
	long connect_timeout_s;
	long stall_timeout_s;    /* abort a transfer slower than min_rate for this long */
	long min_rate;           /* bytes a second, averaged by libcurl over a few seconds */
	long deadline_s;         /* no request (one attempt) takes longer */
	long backoff_ms;         /* first back-off; doubles at each retry */
	unsigned long long max_download; /* bytes received over all requests; 0: no cap */
};

void http_opts_default(struct http_opts *o);

/* Names of the environment variables that carry credentials. */
#define HTTP_ENV_TOKEN "KVMQUAL_PUBLISH_TOKEN"
#define HTTP_ENV_USER "KVMQUAL_PUBLISH_USER"
#define HTTP_ENV_PASSWORD "KVMQUAL_PUBLISH_PASSWORD"

/* One connection cache and one set of credentials for a run of requests. */
struct http_client;

/* Reads the credentials from the environment (a token, or a user with a
 * password; else .netrc is consulted per host).  Returns NULL with err set
 * when libcurl cannot start or the environment is half set. */
struct http_client *http_client_new(const struct http_opts *o, struct kq_err *err);
void http_client_free(struct http_client *c);
/* "bearer token", "user NAME", or ".netrc" (never the secret). */
const char *http_client_auth_source(const struct http_client *c);

/* What one request came back with, after its retries. */
struct http_result {
	long status;             /* HTTP status; 0 when no answer came */
	char reason[128];        /* the server's reason phrase, may be empty */
	int attempts;            /* how many times the request was sent */
	double seconds;          /* wall time of all attempts */
};

/* Each returns 0 on success, or -1 with err naming the method, the URL
 * (without userinfo) and the HTTP status with its reason, or the transport
 * error.  res may be NULL. */

/* MKCOL url (made to end in '/'); 405 (already there) is success, and on
 * 409 (parent missing) the parents are made first. */
int http_mkcol(struct http_client *c, const char *url, struct http_result *res, struct kq_err *err);
/* PUT the contents of a local file. */
int http_put_file(struct http_client *c, const char *url, const char *path,
		  struct http_result *res, struct kq_err *err);
/* MOVE from -> to, Overwrite: T. */
int http_move(struct http_client *c, const char *from, const char *to,
	      struct http_result *res, struct kq_err *err);
/* DELETE; 404 is success. */
int http_delete(struct http_client *c, const char *url, struct http_result *res, struct kq_err *err);
/* GET into path, through a temporary beside it renamed when complete. */
int http_get_file(struct http_client *c, const char *url, const char *path,
		  struct http_result *res, struct kq_err *err);

/* One member listed by PROPFIND. */
struct http_member {
	char *path;              /* percent-decoded path of the href */
	int is_collection;       /* resourcetype holds DAV:collection */
};

/* PROPFIND Depth: 1 on a collection: its members, the collection itself
 * left out.  Free with http_members_free(). */
int http_list_collection(struct http_client *c, const char *url, struct http_member **members,
			 size_t *count, struct kq_err *err);
int http_fetch_collection_with(struct http_client *c, const char *url, const char *dest_dir,
			       struct kq_err *err);

/* ---- pure helpers, unit-tested and fuzzed ---- */

/* Parses a 207 multistatus body: one entry per DAV:href inside a
 * DAV:response (namespace prefixes resolved as declared: D:, d:, a default
 * xmlns, any other), entities and percent-encoding decoded, absolute URLs
 * reduced to their path.  Never reads past len.  Returns 0, or -1 with err
 * saying what is malformed. */
int http_parse_multistatus(const char *body, size_t len, struct http_member **members,
			   size_t *count, struct kq_err *err);
void http_members_free(struct http_member *members, size_t count);

/* Decodes %XX in place of a copy; NULL when an escape is malformed or
 * decodes to NUL.  Caller frees. */
char *http_percent_decode(const char *s, size_t len);
/* Percent-encodes one path segment (RFC 3986 unreserved characters kept). */
char *http_encode_segment(const char *segment);
/* base (a collection URL, '/' added when missing) + encoded segment. */
char *http_url_join(const char *base, const char *segment);
/* The URL's path, percent-decoded, without a trailing '/'; NULL if the URL
 * cannot be parsed. */
char *http_url_path(const char *url);
/* Refuses what is not http(s)://host/... (the scheme in any case), and
 * URLs with userinfo (a secret on the command line).  The URL itself is
 * never put into err: it may carry the secret.  Returns 0 or -1 with err. */
int http_check_url(const char *url, struct kq_err *err);
/* Whether s starts like a URL ("scheme://", the scheme in any case). */
int http_looks_like_url(const char *s);
/* Whether s starts "http://" or "https://" in any case; 2 for https. */
int http_scheme(const char *s);
/* The URL for messages: userinfo dropped, a query (presigned signatures)
 * shown as "?...".  Caller frees. */
char *http_url_for_display(const char *url);
/* Whether a member name may become a local file: not empty, no '/', no
 * '\\', no control characters, not a dotfile (which also rules out "." and
 * ".." and in-flight uploads), at most 255 bytes. */
int http_safe_name(const char *name);

/* kvmqual publish (cmd_publish.c). */
int cmd_publish(int argc, char **argv);

#endif
