/* The transport half of matrix/http.h: WebDAV requests over libcurl with
 * the same credentials, TLS, time limits and retries for every request.
 * Nothing here prints: results and errors go back to the command. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"

#define PROPFIND_MAX_BYTES (64u << 20)
#define GET_MAX_BYTES (1ull << 30)
#define RETRY_AFTER_MAX_S 60
#define ERROR_BODY_MAX 4096

struct http_client {
	CURL *curl;
	struct http_opts o;
	unsigned long long downloaded; /* bytes of bodies received, every request */
	char *token, *user, *password;
	char auth_source[160];
	char errbuf[CURL_ERROR_SIZE];
};

void http_opts_default(struct http_opts *o)
{
	*o = (struct http_opts){
		.retries = 3,
		.connect_timeout_s = 10,
		.stall_timeout_s = 30,
		.min_rate = 1024,
		.deadline_s = 300,
		.backoff_ms = 500,
	};
}

static char *env_value(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? kq_xstrdup(v) : NULL;
}

static void free_secret(char *s)
{
	if (s) {
		/* Keep the secret out of freed memory that a later crash dump could show. */
		volatile char *p = s;
		while (*p)
			*p++ = '\0';
		free(s);
	}
}

struct http_client *http_client_new(const struct http_opts *o, struct kq_err *err)
{
	static int curl_ready;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
			kq_error(err, "libcurl failed to initialise");
			return NULL;
		}
		curl_ready = 1;
	}
	struct http_client *c = kq_xcalloc(1, sizeof(*c));
	c->o = *o;
	c->token = env_value(HTTP_ENV_TOKEN);
	c->user = env_value(HTTP_ENV_USER);
	c->password = env_value(HTTP_ENV_PASSWORD);
	if (c->token && (c->user || c->password)) {
		kq_error(err, "both %s and %s/%s are set: set one kind of credentials", HTTP_ENV_TOKEN,
			 HTTP_ENV_USER, HTTP_ENV_PASSWORD);
		goto fail;
	}
	if (!c->user != !c->password) {
		kq_error(err, "%s and %s go together: only one of them is set", HTTP_ENV_USER,
			 HTTP_ENV_PASSWORD);
		goto fail;
	}
	if (c->token)
		snprintf(c->auth_source, sizeof(c->auth_source), "bearer token from %s", HTTP_ENV_TOKEN);
	else if (c->user)
		snprintf(c->auth_source, sizeof(c->auth_source), "user '%.60s' from %s", c->user,
			 HTTP_ENV_USER);
	else
		snprintf(c->auth_source, sizeof(c->auth_source), "%s (for the hosts it lists)",
			 getenv("NETRC") ? "$NETRC" : "~/.netrc");
	c->curl = curl_easy_init();
	if (!c->curl) {
		kq_error(err, "libcurl failed to initialise");
		goto fail;
	}
	return c;
fail:
	http_client_free(c);
	return NULL;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free_secret(c->token);
	free(c->user);
	free_secret(c->password);
	free(c);
}

const char *http_client_auth_source(const struct http_client *c)
{
	return c->auth_source;
}

/* ---- one request, with its retries ---- */

struct request {
	const char *method;
	const char *url;
	struct curl_slist *headers;
	const char *upload_path;       /* PUT: the file to send */
	const char *body;              /* PROPFIND: the request body */
	const char *out_path;          /* GET: write the answer here */
	struct kq_buf *out_buf;        /* else keep up to out_cap bytes of it */
	size_t out_cap;
	long also_ok;                  /* a non-2xx status that counts as success */
};

struct attempt {
	FILE *out_file;
	struct kq_buf *out_buf;
	unsigned long long out_len, out_cap;
	int too_big;
	int over_cap;                  /* the client's download cap was reached */
	struct http_client *client;
	struct http_result *res;
};

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
	struct attempt *a = user;
	size_t len = size * n;
	a->out_len += len;
	a->client->downloaded += len;
	if (a->client->o.max_download && a->client->downloaded > a->client->o.max_download) {
		a->over_cap = 1;
		return 0;
	}
	if (a->out_len > a->out_cap) {
		a->too_big = 1;
		return 0;
	}
	if (a->out_file)
		return fwrite(data, 1, len, a->out_file);
	if (a->out_buf)
		kq_buf_add(a->out_buf, data, len);
	return len;
}

/* Keeps the reason phrase of the last status line (a 100 Continue comes
 * before the final one), printable ASCII only: it ends up on a terminal. */
static size_t on_header(char *data, size_t size, size_t n, void *user)
{
	struct attempt *a = user;
	size_t len = size * n;
	if (len > 5 && !memcmp(data, "HTTP/", 5)) {
		const char *p = memchr(data, ' ', len);
		const char *end = data + len;
		if (p)
			p = memchr(p + 1, ' ', (size_t)(end - p - 1));
		size_t o = 0;
		if (p)
			for (p++; p < end && o + 1 < sizeof(a->res->reason); p++)
				if (*p >= 0x20 && *p < 0x7f)
					a->res->reason[o++] = *p;
		a->res->reason[o] = '\0';
		kq_strtrim(a->res->reason);
	}
	return len;
}

static void set_common(struct http_client *c, struct attempt *a, const char *url)
{
	CURL *h = c->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kvmqual/0.1.0");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->o.connect_timeout_s);
	/* A server that stops answering, or drips, is cut off: less than
	 * min_rate bytes a second for the stall time; and no request lasts
	 * longer than the deadline, however it trickles. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, c->o.min_rate > 0 ? c->o.min_rate : 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->o.stall_timeout_s);
	if (c->o.deadline_s > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, c->o.deadline_s);
	/* A body declared larger than what is left of the cap is refused
	 * before it is received. */
	if (c->o.max_download)
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
				 (curl_off_t)(c->downloaded < c->o.max_download ? c->o.max_download - c->downloaded : 0));
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->o.insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->o.insecure ? 0L : 2L);
	if (c->o.cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->o.cacert);
	if (c->token) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->token);
	} else if (c->user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	} else {
		curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
		const char *netrc = getenv("NETRC");
		if (netrc && *netrc)
			curl_easy_setopt(h, CURLOPT_NETRC_FILE, netrc);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
}

static int retryable_transport(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int retryable_status(long status)
{
	return status >= 500 || status == 429 || status == 408;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static const char *status_hint(const struct http_client *c, long status)
{
	if (status == 401 && !c->token && !c->user)
		return " (the server wants credentials and none it accepts were sent: put them in "
		       "~/.netrc, or set " HTTP_ENV_TOKEN ", or " HTTP_ENV_USER " and " HTTP_ENV_PASSWORD ")";
	if (status == 401)
		return " (the credentials from the environment were refused)";
	if (status == 403)
		return " (the credentials are not allowed to do this)";
	if (status == 405)
		return " (the server does not allow this method here: is it a WebDAV collection? "
		       "For plain-PUT stores use --no-move)";
	if (status == 301 || status == 302 || status == 307 || status == 308)
		return " (redirects are not followed: give the final URL)";
	return "";
}

static const char *transport_hint(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return " (the server stalled or is too slow: a request is cut off when it moves less than "
		       "--min-rate bytes a second for --timeout seconds, or lasts longer than --deadline seconds)";
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return " (the server's certificate could not be verified: give its CA with --cacert FILE, "
		       "or --insecure to skip the check)";
	case CURLE_LOGIN_DENIED:
		return " (check the credentials)";
	default:
		return "";
	}
}

static int do_request(struct http_client *c, struct request *r, struct http_result *res_out,
		      struct kq_err *err)
{
	struct http_result local, *res = res_out ? res_out : &local;
	memset(res, 0, sizeof(*res));
	uint64_t t0 = kq_now_ns();
	char *shown = http_url_for_display(r->url);
	int rc = -1;
	long backoff = c->o.backoff_ms > 0 ? c->o.backoff_ms : 500;
	for (int attempt = 0;; attempt++) {
		struct attempt a = { .res = res, .out_buf = r->out_buf, .client = c,
				     .out_cap = r->out_path ? GET_MAX_BYTES : r->out_buf ? r->out_cap : ERROR_BODY_MAX };
		struct kq_buf discard;
		kq_buf_init(&discard);
		FILE *in = NULL;
		res->reason[0] = '\0';
		res->status = 0;
		res->attempts = attempt + 1;
		c->errbuf[0] = '\0';
		if (r->out_buf)
			r->out_buf->len = 0;
		else if (!r->out_path)
			a.out_buf = &discard;
		set_common(c, &a, r->url);
		if (r->headers)
			curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, r->headers);
		if (r->upload_path) {
			in = fopen(r->upload_path, "rb");
			struct stat st;
			if (!in || fstat(fileno(in), &st)) {
				kq_error(err, "%s: %s", r->upload_path, strerror(errno));
				if (in)
					fclose(in);
				kq_buf_free(&discard);
				break;
			}
			curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c->curl, CURLOPT_READDATA, in);
			curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
		} else if (r->body) {
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, r->body);
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
		}
		if (strcmp(r->method, "GET") && strcmp(r->method, "PUT"))
			curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, r->method);
		if (r->out_path) {
			a.out_file = fopen(r->out_path, "wb");
			if (!a.out_file) {
				kq_error(err, "%s: %s", r->out_path, strerror(errno));
				if (in)
					fclose(in);
				kq_buf_free(&discard);
				break;
			}
		}
		CURLcode cc = curl_easy_perform(c->curl);
		if (in)
			fclose(in);
		if (a.out_file && fclose(a.out_file) && cc == CURLE_OK) {
			kq_error(err, "%s: %s", r->out_path, strerror(errno));
			kq_buf_free(&discard);
			break;
		}
		kq_buf_free(&discard);
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &res->status);
		int retry;
		if (cc == CURLE_OK && ((res->status >= 200 && res->status < 300) ||
				       (r->also_ok && res->status == r->also_ok))) {
			rc = 0;
			break;
		}
		if (cc == CURLE_OK) {
			retry = retryable_status(res->status);
			kq_error(err, "%s %s: HTTP %ld%s%s%s", r->method, shown, res->status,
				 res->reason[0] ? " " : "", res->reason, status_hint(c, res->status));
		} else if ((cc == CURLE_WRITE_ERROR && a.over_cap) || cc == CURLE_FILESIZE_EXCEEDED) {
			retry = 0;
			kq_error(err, "%s %s: the download cap of %llu bytes is reached (raise it with "
				      "--max-download SIZE)", r->method, shown, c->o.max_download);
		} else if (cc == CURLE_WRITE_ERROR && a.too_big) {
			retry = 0;
			kq_error(err, "%s %s: the answer is larger than %llu bytes", r->method, shown,
				 a.out_cap);
		} else {
			retry = retryable_transport(cc);
			kq_error(err, "%s %s: %s%s", r->method, shown,
				 c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc), transport_hint(cc));
		}
		if (!retry || attempt >= c->o.retries)
			break;
		long wait = backoff;
		curl_off_t after = 0;
		if (cc == CURLE_OK && curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &after) == CURLE_OK &&
		    after > 0)
			wait = (after > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (long)after) * 1000L;
		if (wait < backoff)
			wait = backoff;
		sleep_ms(wait);
		backoff *= 2;
	}
	if (rc && err && res->attempts > 1) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, " (after %d attempts)", res->attempts);
	}
	res->seconds = (double)(kq_now_ns() - t0) / 1e9;
	free(shown);
	return rc;
}

/* ---- WebDAV operations ---- */

/* url with its path made to end in '/', for collections. */
static char *collection_url(const char *url)
{
	CURLU *u = curl_url();
	char *path = NULL, *out = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		size_t n = strlen(path);
		if (n == 0 || path[n - 1] != '/') {
			char *p = kq_xasprintf("%s/", path);
			curl_url_set(u, CURLUPART_PATH, p, 0);
			free(p);
		}
		char *full = NULL;
		if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
			out = kq_xstrdup(full);
		curl_free(full);
	}
	curl_free(path);
	curl_url_cleanup(u);
	return out ? out : kq_xstrdup(url);
}

/* The parent collection of a collection URL, or NULL at the top. */
static char *parent_url(const char *url)
{
	const char *host = strstr(url, "//");
	if (!host)
		return NULL;
	const char *path = strchr(host + 2, '/');
	if (!path)
		return NULL;
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	while (n > 0 && url[n - 1] != '/')
		n--;
	if (url + n <= path + 1)
		return NULL;
	return kq_xasprintf("%.*s", (int)n, url);
}

static int mkcol_depth(struct http_client *c, const char *url, int depth,
		       struct http_result *res, struct kq_err *err)
{
	char *col = collection_url(url);
	struct request r = { .method = "MKCOL", .url = col, .also_ok = 405 };
	int rc = do_request(c, &r, res, err);
	if (rc && res->status == 409 && depth < 32) {
		/* 409 Conflict: a parent is missing; make it, then try again. */
		char *parent = parent_url(col);
		struct http_result pres;
		if (parent && mkcol_depth(c, parent, depth + 1, &pres, err) == 0)
			rc = do_request(c, &r, res, err);
		free(parent);
	}
	free(col);
	return rc;
}

int http_mkcol(struct http_client *c, const char *url, struct http_result *res, struct kq_err *err)
{
	struct http_result local;
	return mkcol_depth(c, url, 0, res ? res : &local, err);
}

int http_put_file(struct http_client *c, const char *url, const char *path,
		  struct http_result *res, struct kq_err *err)
{
	/* No Content-Type: a presigned URL may have signed its absence. */
	struct request r = { .method = "PUT", .url = url, .upload_path = path };
	return do_request(c, &r, res, err);
}

int http_move(struct http_client *c, const char *from, const char *to,
	      struct http_result *res, struct kq_err *err)
{
	char *dest = kq_xasprintf("Destination: %s", to);
	struct request r = { .method = "MOVE", .url = from };
	r.headers = curl_slist_append(NULL, dest);
	r.headers = curl_slist_append(r.headers, "Overwrite: T");
	int rc = do_request(c, &r, res, err);
	curl_slist_free_all(r.headers);
	free(dest);
	return rc;
}

int http_delete(struct http_client *c, const char *url, struct http_result *res, struct kq_err *err)
{
	struct request r = { .method = "DELETE", .url = url, .also_ok = 404 };
	return do_request(c, &r, res, err);
}

int http_get_file(struct http_client *c, const char *url, const char *path,
		  struct http_result *res, struct kq_err *err)
{
	const char *slash = strrchr(path, '/');
	char *tmp = slash ? kq_xasprintf("%.*s/.%s.part-%ld", (int)(slash - path), path, slash + 1,
					 (long)getpid())
			  : kq_xasprintf(".%s.part-%ld", path, (long)getpid());
	struct request r = { .method = "GET", .url = url, .out_path = tmp };
	int rc = do_request(c, &r, res, err);
	if (rc == 0 && rename(tmp, path))
		rc = kq_error(err, "%s: %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

static const char propfind_body[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<D:propfind xmlns:D=\"DAV:\"><D:prop><D:resourcetype/></D:prop></D:propfind>\n";

/* "/a/b/c" -> "/a/b"; "/c" -> "/". */
static void parent_path(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash && slash > path ? (size_t)(slash - path) : 1;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

int http_list_collection(struct http_client *c, const char *url, struct http_member **members,
			 size_t *count, struct kq_err *err)
{
	*members = NULL;
	*count = 0;
	char *col = collection_url(url);
	char *self = http_url_path(col);
	struct kq_buf body;
	kq_buf_init(&body);
	struct request r = { .method = "PROPFIND", .url = col, .body = propfind_body,
			     .out_buf = &body, .out_cap = PROPFIND_MAX_BYTES };
	r.headers = curl_slist_append(NULL, "Depth: 1");
	r.headers = curl_slist_append(r.headers, "Content-Type: application/xml; charset=utf-8");
	struct http_result res;
	int rc = -1;
	struct http_member *all = NULL;
	size_t n = 0;
	if (!self) {
		kq_error(err, "cannot parse the URL of the collection");
	} else if (do_request(c, &r, &res, err) == 0) {
		char *shown = http_url_for_display(col);
		if (res.status != 207) {
			kq_error(err, "PROPFIND %s: HTTP %ld, expected 207 Multi-Status (is it a WebDAV "
				      "collection?)", shown, res.status);
		} else if (http_parse_multistatus(body.data ? body.data : "", body.len, &all, &n, err)) {
			char *why = kq_xstrdup(err->msg);
			kq_error(err, "PROPFIND %s: %s", shown, why);
			free(why);
		} else {
			/* Keep the collection's own members: Depth 1 lists the
			 * collection itself too, and a server could list more. */
			size_t kept = 0;
			for (size_t i = 0; i < n; i++) {
				size_t len = strlen(all[i].path);
				while (len > 1 && all[i].path[len - 1] == '/')
					all[i].path[--len] = '\0';
				char parent[4096];
				parent_path(all[i].path, parent, sizeof(parent));
				if (strcmp(all[i].path, self) && !strcmp(parent, self))
					all[kept++] = all[i];
				else
					free(all[i].path);
			}
			*members = all;
			*count = kept;
			rc = 0;
		}
		free(shown);
	}
	curl_slist_free_all(r.headers);
	kq_buf_free(&body);
	free(self);
	free(col);
	return rc;
}

static int mkdirs(const char *dir, struct kq_err *err)
{
	char *p = kq_xstrdup(dir);
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char saved = *s;
			*s = '\0';
			if (mkdir(p, 0755) && errno != EEXIST) {
				kq_error(err, "cannot create %s: %s", p, strerror(errno));
				free(p);
				return -1;
			}
			*s = saved;
			if (!saved)
				break;
		}
	}
	free(p);
	struct stat st;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return kq_error(err, "%s is not a directory", dir);
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

int http_fetch_collection_with(struct http_client *c, const char *url, const char *dest_dir,
			       struct kq_err *err)
{
	if (http_check_url(url, err) || mkdirs(dest_dir, err))
		return -1;
	struct http_member *members;
	size_t n;
	if (http_list_collection(c, url, &members, &n, err))
		return -1;
	char *col = collection_url(url);
	int fetched = 0;
	for (size_t i = 0; i < n && fetched >= 0; i++) {
		if (members[i].is_collection)
			continue;
		const char *name = strrchr(members[i].path, '/');
		name = name ? name + 1 : members[i].path;
		/* Dotfiles are uploads still in flight (kvmqual publish). */
		if (!ends_with(name, ".json") || !http_safe_name(name))
			continue;
		char *member_url = http_url_join(col, name);
		char *dest = kq_xasprintf("%s/%s", dest_dir, name);
		if (http_get_file(c, member_url, dest, NULL, err))
			fetched = -1;
		else
			fetched++;
		free(dest);
		free(member_url);
	}
	free(col);
	http_members_free(members, n);
	return fetched;
}

int http_fetch_collection(const char *url, const char *dest_dir, struct kq_err *err)
{
	struct http_opts o;
	http_opts_default(&o);
	o.max_download = HTTP_FETCH_MAX_DEFAULT;
	struct http_client *c = http_client_new(&o, err);
	if (!c)
		return -1;
	int n = http_fetch_collection_with(c, url, dest_dir, err);
	http_client_free(c);
	return n;
}
