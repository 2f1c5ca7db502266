/* kvmqual remote's transports (remote/transport.c): the argv each builds,
 * for ssh (OpenSSH and dbclient) and adb, with --root, ports and serials,
 * and OpenSSH's one shared connection;
 * what --via refuses; the shell quoting every device command goes through;
 * what a device's answers are taken for (remote/protocol.c); and
 * lib/sha256.c against FIPS 180-4's examples. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../lib/sha256.h"
#include "../../remote/protocol.h"
#include "../../remote/transport.h"
#include "test.h"

/* The argv joined with '|' for one comparison. */
static char *joined(char **argv)
{
	struct kq_buf b;
	kq_buf_init(&b);
	for (size_t i = 0; argv[i]; i++)
		kq_buf_printf(&b, "%s%s", i ? "|" : "", argv[i]);
	transport_free_argv(argv);
	return kq_buf_steal(&b);
}

#define CHECK_ARGV(expr, want)          \
	do {                            \
		char *j_ = joined(expr); \
		CHECK_STR(j_, want);     \
		free(j_);               \
	} while (0)

TEST(remote_adb_argv)
{
	struct transport t;
	struct kq_err err;
	unsetenv("KVMQUAL_ADB");
	CHECK_INT(transport_parse("adb:R58M123ABC", 0, &t, &err), 0);
	CHECK_STR(t.name, "adb:R58M123ABC");
	CHECK_ARGV(transport_shell_argv(&t, "uname -m"), "adb|-s|R58M123ABC|shell|uname -m");
	const char *in = "x";
	CHECK_ARGV(transport_push_argv(&t, "build/kit/k.tar.gz", "/data/local/tmp/kvmqual/.kit-upload.tar.gz", &in),
		   "adb|-s|R58M123ABC|push|build/kit/k.tar.gz|/data/local/tmp/kvmqual/.kit-upload.tar.gz");
	CHECK(in == NULL);
	CHECK_ARGV(transport_fetch_argv(&t, "/data/local/tmp/kvmqual/job/bundle.json"),
		   "adb|-s|R58M123ABC|exec-out|cat '/data/local/tmp/kvmqual/job/bundle.json'");
	transport_free(&t);

	/* --root: every device command through su -c, quoted once more. */
	CHECK_INT(transport_parse("adb", 1, &t, &err), 0);
	CHECK_STR(t.name, "adb");
	CHECK_ARGV(transport_shell_argv(&t, "cd '/data/local/tmp/kvmqual' && id -u"),
		   "adb|shell|su -c 'cd '\\''/data/local/tmp/kvmqual'\\'' && id -u'");
	CHECK_ARGV(transport_fetch_argv(&t, "/d/b.json"), "adb|exec-out|su -c 'cat '\\''/d/b.json'\\'''");
	transport_free(&t);

	setenv("KVMQUAL_ADB", "/opt/platform-tools/adb -H 127.0.0.1", 1);
	CHECK_INT(transport_parse("adb:emulator-5554", 0, &t, &err), 0);
	CHECK_ARGV(transport_shell_argv(&t, "true"), "/opt/platform-tools/adb|-H|127.0.0.1|-s|emulator-5554|shell|true");
	transport_free(&t);
	unsetenv("KVMQUAL_ADB");
}

TEST(remote_ssh_argv)
{
	struct transport t;
	struct kq_err err;
	unsetenv("KVMQUAL_SSH");
	CHECK_INT(transport_parse("ssh://root@127.0.0.1:2222", 0, &t, &err), 0);
	CHECK_STR(t.name, "ssh://root@127.0.0.1:2222");
	CHECK_ARGV(transport_shell_argv(&t, "uname -m"),
		   "ssh|-T|-o|BatchMode=yes|-o|ConnectTimeout=30|-o|ServerAliveInterval=15|-o|ServerAliveCountMax=4"
		   "|-p|2222|-l|root|--|127.0.0.1|uname -m");
	const char *in = NULL;
	CHECK_ARGV(transport_push_argv(&t, "k.tar.gz", "/work/kq/.kit-upload.tar.gz", &in),
		   "ssh|-T|-o|BatchMode=yes|-o|ConnectTimeout=30|-o|ServerAliveInterval=15|-o|ServerAliveCountMax=4"
		   "|-p|2222|-l|root|--|127.0.0.1|cat > '/work/kq/.kit-upload.tar.gz'");
	CHECK_STR(in, "k.tar.gz");
	transport_free(&t);

	setenv("KVMQUAL_SSH", "dbclient -i /k", 1);
	CHECK_INT(transport_parse("ssh://pi5.lab", 1, &t, &err), 0);
	CHECK(t.dbclient);
	CHECK_ARGV(transport_shell_argv(&t, "id -u"), "dbclient|-i|/k|pi5.lab|su -c 'id -u'");
	transport_free(&t);
	unsetenv("KVMQUAL_SSH");

	/* One shared connection: OpenSSH's ControlMaster in a directory of
	 * its own, ended with -O exit; the directory goes with the transport.
	 * dbclient has none. */
	char *old_tmpdir = getenv("TMPDIR") ? kq_xstrdup(getenv("TMPDIR")) : NULL;
	setenv("TMPDIR", "/tmp", 1);
	CHECK_INT(transport_parse("ssh://root@board:2222", 0, &t, &err), 0);
	CHECK_INT(transport_share_connection(&t), 0);
	CHECK(t.control_path && !strncmp(t.control_path, "/tmp/kvmqual-remote.", 20));
	char *dir = kq_xstrdup(t.control_path ? t.control_path : "/nonexistent/c");
	*strrchr(dir, '/') = '\0';
	struct stat st;
	CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077) == 0);
	char *want = kq_xasprintf("ssh|-T|-o|BatchMode=yes|-o|ConnectTimeout=30|-o|ServerAliveInterval=15|-o|"
				  "ServerAliveCountMax=4|-o|ControlMaster=auto|-o|ControlPath=%s|-o|ControlPersist=10"
				  "|-p|2222|-l|root|--|board|true", t.control_path);
	CHECK_ARGV(transport_shell_argv(&t, "true"), want);
	free(want);
	want = kq_xasprintf("ssh|-q|-o|ControlPath=%s|-O|exit|board", t.control_path);
	CHECK_ARGV(transport_end_argv(&t), want);
	free(want);
	transport_free(&t);
	CHECK(stat(dir, &st) != 0);
	free(dir);
	if (old_tmpdir)
		setenv("TMPDIR", old_tmpdir, 1);
	else
		unsetenv("TMPDIR");
	free(old_tmpdir);
	setenv("KVMQUAL_SSH", "dbclient", 1);
	CHECK_INT(transport_parse("ssh://board", 0, &t, &err), 0);
	CHECK_INT(transport_share_connection(&t), -1);
	CHECK(transport_end_argv(&t) == NULL);
	transport_free(&t);
	unsetenv("KVMQUAL_SSH");

	CHECK_INT(transport_parse("ssh://[fe80::1]:22", 0, &t, &err), 0);
	CHECK_STR(t.host, "fe80::1");
	CHECK_INT(t.port, 22);
	transport_free(&t);
}

TEST(remote_via_refused)
{
	static const char *const bad[] = {
		"ssh://",		 "ssh://-oProxyCommand=x",	"ssh://user:pw@host",	 "ssh://host:0",
		"ssh://host:99999",	 "ssh://host:22x",		"ssh://host;reboot",	 "ssh://a b",
		"adb:-s",		 "adb:x;y",			"adb:",		 "telnet://host",
		"ssh://host/path",	 "ssh://$(id)@host",		NULL,
	};
	for (size_t i = 0; bad[i]; i++) {
		struct transport t;
		struct kq_err err;
		err.msg[0] = '\0';
		int rc = transport_parse(bad[i], 0, &t, &err);
		if (rc != -1)
			test_fail(__FILE__, __LINE__, "--via %s was accepted", bad[i]);
		else if (!strstr(err.msg, bad[i]))
			test_fail(__FILE__, __LINE__, "the error for %s does not name it: %s", bad[i], err.msg);
		if (rc == 0)
			transport_free(&t);
	}
}

TEST(remote_sh_quote)
{
	char *q = sh_quote("it's $HOME `x` \"y\"");
	CHECK_STR(q, "'it'\\''s $HOME `x` \"y\"'");
	free(q);
	q = sh_quote("");
	CHECK_STR(q, "''");
	free(q);
}

/* The job's status line: an exit status (0-255) or taken as a failure;
 * atoi read 256 as 256 (kvmqual remote's exit 0), "2x" as 2, "-1" as -1
 * (a connection that failed). */
TEST(remote_status_line_strict)
{
	static const struct {
		const char *line;
		int kind, status;
	} cases[] = {
		{ "@@kvmqual-job-status 0", 1, 0 },	   { "@@kvmqual-job-status 1", 1, 1 },
		{ "@@kvmqual-job-status 143", 1, 143 },	   { "@@kvmqual-job-status 255\r", 1, 255 },
		{ "@@kvmqual-job-status 256", -1, 0 },	   { "@@kvmqual-job-status -1", -1, 0 },
		{ "@@kvmqual-job-status 2x", -1, 0 },	   { "@@kvmqual-job-status  3", -1, 0 },
		{ "@@kvmqual-job-status +3", -1, 0 },	   { "@@kvmqual-job-status ", -1, 0 },
		{ "@@kvmqual-job-status 99999999999", -1, 0 }, { "@@kvmqual-job-status 0x1", -1, 0 },
		{ "kvmqual-kit: probe", 0, 0 },		   { "@@kvmqual-job-statu", 0, 0 },
		{ "", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = -7;
		int kind = remote_status_line(cases[i].line, strlen(cases[i].line), &st);
		if (kind != cases[i].kind || (kind == 1 && st != cases[i].status))
			test_fail(__FILE__, __LINE__, "'%s': kind %d status %d, want %d %d", cases[i].line, kind, st,
				  cases[i].kind, cases[i].status);
	}
}

/* The look around: values one line each, control characters replaced,
 * numbers strict or unknown, an answer cut short refused. */
TEST(remote_device_answer)
{
	struct remote_device d;
	struct kq_err err;
	const char *ok = "dir=/data/local/tmp/kvmqual\r\narch=arm64\nhost=pho\033[2Jne\nuid=2000\nfree_kb=123456\n"
			 "kit_hash=abc\njob_owner=kvmqual remote on x (pid 1)\nend=1\n";
	CHECK_INT(remote_device_parse(ok, strlen(ok), &d, &err), 0);
	CHECK_STR(d.dir, "/data/local/tmp/kvmqual");
	CHECK_STR(d.arch, "aarch64");
	CHECK_STR(d.host, "pho?[2Jne");
	CHECK_INT(d.uid, 2000);
	CHECK(d.free_kb == 123456);
	CHECK_STR(d.kit_hash, "abc");
	CHECK(d.job_status == NULL && d.error == NULL);
	remote_device_free(&d);
	/* df's garbage is unknown, never its first digits (atoll gave 12). */
	const char *odd = "dir=/d\narch=x86_64\nuid=0abc\nfree_kb=12abc\nend=1\n";
	CHECK_INT(remote_device_parse(odd, strlen(odd), &d, &err), 0);
	CHECK(d.free_kb == -1 && d.uid == -1);
	remote_device_free(&d);
	/* The device's own complaint is its answer. */
	const char *said = "error=cannot create /x\nend=1\n";
	CHECK_INT(remote_device_parse(said, strlen(said), &d, &err), 0);
	CHECK_STR(d.error, "cannot create /x");
	remote_device_free(&d);
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "dir=/d\narch=x86_64\n", "ends before its last line" },
		{ "dir=/d\narch=x86_64\nend=1", NULL }, /* ok: the last line without its newline */
		{ "dir=d\narch=x86_64\nend=1\n", "absolute path" },
		{ "arch=x86_64\nend=1\n", "absolute path" },
		{ "dir=/d\narch=x86 64\nend=1\n", "uname -m" },
		{ "dir=/d\narch=\nend=1\n", "uname -m" },
		{ "dir=/d\narch=x86_64\nend=2\n", "ends before its last line" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		int rc = remote_device_parse(bad[i].text, strlen(bad[i].text), &d, &err);
		if (bad[i].why ? rc != -1 || !strstr(err.msg, bad[i].why) : rc != 0)
			test_fail(__FILE__, __LINE__, "case %zu: %d '%s'", i, rc, err.msg);
		remote_device_free(&d);
	}
	/* Longer than any answer of the kit's commands. */
	char *big = kq_xmalloc(REMOTE_ANSWER_MAX + 16);
	memset(big, 'x', REMOTE_ANSWER_MAX + 16);
	memcpy(big, "dir=/d\narch=a\nend=1\n", 20);
	CHECK_INT(remote_device_parse(big, REMOTE_ANSWER_MAX + 16, &d, &err), -1);
	CHECK(strstr(err.msg, "bytes long") != NULL);
	remote_device_free(&d);
	free(big);
}

TEST(sha256_known_answers)
{
	static const struct {
		const char *in;
		const char *hex;
	} cases[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kq_sha256 s;
		char hex[65];
		kq_sha256_init(&s);
		kq_sha256_add(&s, cases[i].in, strlen(cases[i].in));
		kq_sha256_hex(&s, hex);
		CHECK_STR(hex, cases[i].hex);
	}
	/* A million 'a', in uneven pieces across block boundaries. */
	struct kq_sha256 s;
	char hex[65], chunk[1000];
	memset(chunk, 'a', sizeof(chunk));
	kq_sha256_init(&s);
	for (size_t done = 0, n = 1; done < 1000000; done += n, n = n % 997 + 1) {
		if (done + n > 1000000)
			n = 1000000 - done;
		kq_sha256_add(&s, chunk, n);
	}
	kq_sha256_hex(&s, hex);
	CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
