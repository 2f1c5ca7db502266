/* ssh and adb argument vectors for kvmqual remote (transport.h). */
#include "transport.h"

#include "../lib/number.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct argv_b {
	char **v;
	size_t n, cap;
};

static void add(struct argv_b *b, const char *s)
{
	if (b->n + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->v = kq_xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = kq_xstrdup(s);
	b->v[b->n] = NULL;
}

void transport_free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

char *sh_quote(const char *s)
{
	struct kq_buf b;
	kq_buf_init(&b);
	kq_buf_add(&b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			kq_buf_add(&b, "'\\''", 4);
		else
			kq_buf_add(&b, s, 1);
	}
	kq_buf_add(&b, "'", 1);
	return kq_buf_steal(&b);
}

/* The client's words from an environment variable (split at blanks: a
 * path with blanks needs a wrapper script), or the default. */
static char **client_words(const char *env, const char *def)
{
	const char *v = getenv(env);
	struct argv_b b = { 0 };
	if (v && *v) {
		char *copy = kq_xstrdup(v);
		for (char *w = strtok(copy, " \t"); w; w = strtok(NULL, " \t"))
			add(&b, w);
		free(copy);
	}
	if (!b.n)
		add(&b, def);
	return b.v;
}

static int name_ok(const char *s)
{
	if (!*s || *s == '-')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || strchr("'\"\\;/`$&|<>()*?[]{}!#~", *s))
			return 0;
	return 1;
}

int transport_parse(const char *via, int root, struct transport *t, struct kq_err *err)
{
	memset(t, 0, sizeof(*t));
	t->root = root;
	if (!strncmp(via, "ssh://", 6)) {
		t->kind = TRANSPORT_SSH;
		char *rest = kq_xstrdup(via + 6);
		char *at = strrchr(rest, '@'), *hostpart = rest;
		if (at) {
			*at = '\0';
			t->user = kq_xstrdup(rest);
			hostpart = at + 1;
			if (!name_ok(t->user) || strchr(t->user, ':')) {
				free(rest);
				transport_free(t);
				return kq_error(err, "--via %s: the user name is not valid (passwords never go in --via: use ssh keys)",
						via);
			}
		}
		/* host:port, [v6]:port or [v6]; a bare v6 address has no port. */
		char *portstr = NULL;
		if (hostpart[0] == '[') {
			char *close = strchr(hostpart, ']');
			if (close && close[1] == ':')
				portstr = close + 2;
			else if (close && close[1]) {
				free(rest);
				transport_free(t);
				return kq_error(err, "--via %s: want ssh://[user@]host[:port]", via);
			}
			if (close)
				*close = '\0';
			hostpart++;
		} else {
			char *colon = strchr(hostpart, ':');
			if (colon && colon == strrchr(hostpart, ':')) {
				*colon = '\0';
				portstr = colon + 1;
			}
		}
		if (portstr) {
			long long port;
			if (kq_number_int(portstr, 1, 65535, &port)) {
				char *bad = kq_xstrdup(portstr);
				free(rest);
				transport_free(t);
				kq_error(err, "--via %s: '%s' is not a port (1-65535)", via, bad);
				free(bad);
				return -1;
			}
			t->port = (int)port;
		}
		if (!name_ok(hostpart)) {
			free(rest);
			transport_free(t);
			return kq_error(err, "--via %s: want ssh://[user@]host[:port]", via);
		}
		t->host = kq_xstrdup(hostpart);
		free(rest);
		t->client = client_words("KVMQUAL_SSH", "ssh");
		const char *base = strrchr(t->client[0], '/') ? strrchr(t->client[0], '/') + 1 : t->client[0];
		t->dbclient = !strcmp(base, "dbclient");
		if (t->port)
			t->name = kq_xasprintf("ssh://%s%s%s:%d", t->user ? t->user : "", t->user ? "@" : "", t->host, t->port);
		else
			t->name = kq_xasprintf("ssh://%s%s%s", t->user ? t->user : "", t->user ? "@" : "", t->host);
		return 0;
	}
	if (!strcmp(via, "adb") || !strncmp(via, "adb:", 4)) {
		t->kind = TRANSPORT_ADB;
		if (via[3] == ':') {
			if (!name_ok(via + 4)) {
				transport_free(t);
				return kq_error(err, "--via %s: '%s' is not an adb serial", via, via + 4);
			}
			t->serial = kq_xstrdup(via + 4);
		}
		t->client = client_words("KVMQUAL_ADB", "adb");
		t->name = t->serial ? kq_xasprintf("adb:%s", t->serial) : kq_xstrdup("adb");
		return 0;
	}
	return kq_error(err, "--via %s: want ssh://[user@]host[:port] or adb[:SERIAL]", via);
}

int transport_share_connection(struct transport *t)
{
	if (t->kind != TRANSPORT_SSH || t->dbclient || t->control_path)
		return -1;
	/* A socket path has room for about 100 bytes: a long TMPDIR gives way
	 * to /tmp. */
	const char *tmp = getenv("TMPDIR");
	if (!tmp || *tmp != '/' || strlen(tmp) > 60)
		tmp = "/tmp";
	char *dir = kq_xasprintf("%s/kvmqual-remote.XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	t->control_path = kq_xasprintf("%s/c", dir);
	free(dir);
	return 0;
}

char **transport_end_argv(const struct transport *t)
{
	if (!t->control_path)
		return NULL;
	struct argv_b b = { 0 };
	for (size_t i = 0; t->client[i]; i++)
		add(&b, t->client[i]);
	add(&b, "-q");
	add(&b, "-o");
	char *o = kq_xasprintf("ControlPath=%s", t->control_path);
	add(&b, o);
	free(o);
	add(&b, "-O");
	add(&b, "exit");
	add(&b, t->host);
	return b.v;
}

void transport_free(struct transport *t)
{
	if (t->control_path) {
		/* The master removes its socket when it ends; the directory is
		 * ours. */
		unlink(t->control_path);
		char *slash = strrchr(t->control_path, '/');
		*slash = '\0';
		rmdir(t->control_path);
		free(t->control_path);
	}
	free(t->user);
	free(t->host);
	free(t->serial);
	free(t->name);
	transport_free_argv(t->client);
	memset(t, 0, sizeof(*t));
}

static void add_client(struct argv_b *b, const struct transport *t)
{
	for (size_t i = 0; t->client[i]; i++)
		add(b, t->client[i]);
	if (t->kind == TRANSPORT_ADB) {
		if (t->serial) {
			add(b, "-s");
			add(b, t->serial);
		}
		return;
	}
	if (!t->dbclient) {
		/* Never a prompt (keys or an agent only), no terminal, and a dead
		 * link noticed within a minute instead of hanging. */
		add(b, "-T");
		add(b, "-o");
		add(b, "BatchMode=yes");
		add(b, "-o");
		add(b, "ConnectTimeout=30");
		add(b, "-o");
		add(b, "ServerAliveInterval=15");
		add(b, "-o");
		add(b, "ServerAliveCountMax=4");
		if (t->control_path) {
			/* One connection for all commands; it outlives the last by
			 * at most 10 s should kvmqual remote be killed before it
			 * ends it (transport_end_argv). */
			char *o = kq_xasprintf("ControlPath=%s", t->control_path);
			add(b, "-o");
			add(b, "ControlMaster=auto");
			add(b, "-o");
			add(b, o);
			add(b, "-o");
			add(b, "ControlPersist=10");
			free(o);
		}
	}
	if (t->port) {
		char p[16];
		snprintf(p, sizeof(p), "%d", t->port);
		add(b, "-p");
		add(b, p);
	}
	if (t->user) {
		add(b, "-l");
		add(b, t->user);
	}
	if (!t->dbclient)
		add(b, "--");
	add(b, t->host);
}

/* The command line the device's shell runs: the script, through su with
 * --root. */
static char *device_command(const struct transport *t, const char *script)
{
	if (!t->root)
		return kq_xstrdup(script);
	char *q = sh_quote(script);
	char *c = kq_xasprintf("su -c %s", q);
	free(q);
	return c;
}

char **transport_shell_argv(const struct transport *t, const char *script)
{
	struct argv_b b = { 0 };
	add_client(&b, t);
	if (t->kind == TRANSPORT_ADB)
		add(&b, "shell");
	char *c = device_command(t, script);
	add(&b, c);
	free(c);
	return b.v;
}

char **transport_push_argv(const struct transport *t, const char *local, const char *remote_path,
			   const char **stdin_path)
{
	struct argv_b b = { 0 };
	*stdin_path = NULL;
	if (t->kind == TRANSPORT_ADB) {
		/* adb push writes as the shell user; with --root the kit is
		 * installed from there by a root shell (the caller's script). */
		add_client(&b, t);
		add(&b, "push");
		add(&b, local);
		add(&b, remote_path);
		return b.v;
	}
	char *q = sh_quote(remote_path);
	char *script = kq_xasprintf("cat > %s", q);
	free(q);
	char **argv = transport_shell_argv(t, script);
	free(script);
	*stdin_path = local;
	return argv;
}

char **transport_fetch_argv(const struct transport *t, const char *remote_path)
{
	char *q = sh_quote(remote_path);
	char *script = kq_xasprintf("cat %s", q);
	free(q);
	struct argv_b b = { 0 };
	add_client(&b, t);
	/* exec-out: the bytes as they are (shell may translate line ends). */
	if (t->kind == TRANSPORT_ADB)
		add(&b, "exec-out");
	char *c = device_command(t, script);
	add(&b, c);
	free(c);
	free(script);
	return b.v;
}
