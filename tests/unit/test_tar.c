#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/hostfs.h"
#include "../../lib/tar.h"
#include "test.h"

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *data = malloc((size_t)n + 1);
	*len = fread(data, 1, (size_t)n, f);
	fclose(f);
	return data;
}

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char path[128];
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/kq-unit-XXXXXX");
		if (!mkdtemp(tmpdir))
			abort();
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

TEST(tar_roundtrip)
{
	struct kq_err err;
	const char *path = tmp_path("snap.tar.gz");
	struct tar_writer *w = tar_writer_open(path, &err);
	CHECK(w != NULL);
	tar_writer_add_dir(w, "sys/class/iommu");
	tar_writer_add_dir(w, "sys/class/iommu/smmu3.0x0000000009050000");
	tar_writer_add_file(w, "proc/cpuinfo", "processor : 0\n", 14);
	tar_writer_add_file(w, "dev/kvm", "", 0);
	/* a path longer than 100 characters uses the ustar prefix */
	const char *long_path = "sys/devices/system/cpu/cpu0/regs/identification/"
				"a-very-long-name-that-pushes-the-path-past-one-hundred-characters";
	CHECK_INT(tar_writer_add_file(w, long_path, "x", 1), 0);
	CHECK_INT(tar_writer_add_file(w, "../escape", "x", 1), -1);
	CHECK_INT(tar_writer_close(w, &err), -1); /* the refused entry poisons it */

	w = tar_writer_open(path, &err);
	tar_writer_add_dir(w, "sys/class/iommu");
	tar_writer_add_dir(w, "sys/class/iommu/smmu3.0x0000000009050000");
	tar_writer_add_file(w, "proc/cpuinfo", "processor : 0\n", 14);
	tar_writer_add_file(w, "dev/kvm", "", 0);
	tar_writer_add_file(w, long_path, "x", 1);
	CHECK_INT(tar_writer_close(w, &err), 0);

	struct hostfs *fs = hostfs_open_snapshot(path, &err);
	CHECK(fs != NULL);
	if (!fs)
		return;
	char *data;
	size_t len;
	CHECK_INT(hostfs_read(fs, "proc/cpuinfo", &data, &len, 1024), 0);
	CHECK_INT(len, 14);
	free(data);
	CHECK_INT(hostfs_read(fs, "proc/cpuinfo", &data, &len, 4), -EFBIG);
	CHECK_INT(hostfs_read(fs, "proc/meminfo", &data, &len, 1024), -ENOENT);
	CHECK_INT(hostfs_read(fs, long_path, &data, &len, 1024), 0);
	free(data);
	CHECK(hostfs_exists(fs, "dev/kvm"));
	CHECK(hostfs_exists(fs, "sys/class"));       /* implied directory */
	CHECK(!hostfs_exists(fs, "sys/clas"));
	char **names;
	CHECK_INT(hostfs_list(fs, "sys/class/iommu", &names), 1);
	CHECK_STR(names[0], "smmu3.0x0000000009050000");
	hostfs_free_list(names);
	CHECK_INT(hostfs_list(fs, "sys", &names), 2);
	CHECK_STR(names[0], "class");
	CHECK_STR(names[1], "devices");
	hostfs_free_list(names);
	hostfs_close(fs);
	unlink(path);
}

/* Writes one raw ustar header + body by hand, for entries the writer
 * refuses to make. */
static size_t raw_entry(unsigned char *out, const char *name, char type, const char *linkname,
			const char *body, size_t body_len)
{
	memset(out, 0, 512);
	memcpy(out, name, strlen(name));
	snprintf((char *)out + 100, 8, "%07o", 0644);
	snprintf((char *)out + 124, 12, "%011zo", body_len);
	snprintf((char *)out + 136, 12, "%011o", 0);
	out[156] = (unsigned char)type;
	if (linkname)
		memcpy(out + 157, linkname, strlen(linkname));
	memcpy(out + 257, "ustar", 6);
	memcpy(out + 263, "00", 2);
	memset(out + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += out[i];
	snprintf((char *)out + 148, 8, "%06o", sum);
	size_t padded = (body_len + 511) / 512 * 512;
	memset(out + 512, 0, padded);
	memcpy(out + 512, body, body_len);
	return 512 + padded;
}

struct bad_case {
	const char *name;
	char type;
	const char *link;
	const char *expect; /* in the error */
};

static const struct bad_case bad_cases[] = {
	{ "../../etc/passwd", '0', NULL, "unsafe path" },
	{ "/etc/passwd", '0', NULL, "unsafe path" },
	{ "proc/../../x", '0', NULL, "unsafe path" },
	{ "sys/link", '2', "/etc/passwd", "is a link" },
	{ "sys/hard", '1', "../../etc/shadow", "is a link" },
	{ "dev/kvm", '3', NULL, "unsupported type" },
	{ "bad\x01name", '0', NULL, "unsafe path" },
};

TEST(tar_rejects_unsafe_entries)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		unsigned char buf[4096];
		size_t len = raw_entry(buf, "proc/cpuinfo", '0', NULL, "ok\n", 3);
		len += raw_entry(buf + len, bad_cases[i].name, bad_cases[i].type, bad_cases[i].link, "x", 1);
		memset(buf + len, 0, 1024);
		len += 1024;
		struct tar_archive ar;
		struct kq_err err = { "" };
		int rc = tar_parse(buf, len, &ar, &err);
		if (rc != -1 || !strstr(err.msg, bad_cases[i].expect))
			test_fail(__FILE__, __LINE__, "case %zu (%s): rc %d, error '%s'", i, bad_cases[i].name,
				  rc, err.msg);
	}
}

TEST(tar_malformed)
{
	unsigned char buf[4096];
	size_t len = raw_entry(buf, "proc/cpuinfo", '0', NULL, "processor: 0\n", 13);
	len += raw_entry(buf + len, "proc/cpuinfo", '0', NULL, "again\n", 6);
	struct tar_archive ar;
	struct kq_err err;
	CHECK_INT(tar_parse(buf, len, &ar, &err), -1);
	CHECK(strstr(err.msg, "twice") != NULL);
	len = raw_entry(buf, "proc/cpuinfo", '0', NULL, "processor: 0\n", 13);
	/* every truncation inside a header or body is an error */
	for (size_t cut = 1; cut < len; cut += 37) {
		if (cut == 512)
			continue;
		int rc = tar_parse(buf, cut, &ar, &err);
		if (rc == 0)
			tar_free(&ar);
		if (rc != -1)
			test_fail(__FILE__, __LINE__, "truncated at %zu accepted", cut);
	}
	/* a bad checksum */
	buf[0] ^= 1;
	CHECK_INT(tar_parse(buf, len, &ar, &err), -1);
	CHECK(strstr(err.msg, "checksum") != NULL);
	/* gzip garbage and a gzip bomb limit */
	unsigned char gz[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef };
	CHECK_INT(tar_parse(gz, sizeof(gz), &ar, &err), -1);
	CHECK(strstr(err.msg, "gzip") != NULL);
	/* a size field that claims more than is there */
	len = raw_entry(buf, "proc/cpuinfo", '0', NULL, "x", 1);
	snprintf((char *)buf + 124, 12, "%011o", 077777777);
	memset(buf + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += buf[i];
	snprintf((char *)buf + 148, 8, "%06o", sum);
	CHECK_INT(tar_parse(buf, len, &ar, &err), -1);
	CHECK(strstr(err.msg, "truncated") != NULL);
}

TEST(gunzip_limits)
{
	const char *path = tmp_path("big.gz");
	struct kq_err err;
	struct tar_writer *w = tar_writer_open(path, &err);
	char *zeros = calloc(1, 1 << 20);
	tar_writer_add_file(w, "a", zeros, 1 << 20);
	free(zeros);
	CHECK_INT(tar_writer_close(w, &err), 0);
	size_t len;
	char *data = read_file(path, &len);
	char *out;
	size_t out_len;
	CHECK_INT(kq_gunzip(data, len, 4096, &out, &out_len, &err), -1);
	CHECK(strstr(err.msg, "more than") != NULL);
	CHECK_INT(kq_gunzip(data, len, 8u << 20, &out, &out_len, &err), 0);
	free(out);
	CHECK_INT(kq_gunzip(data, len / 2, 8u << 20, &out, &out_len, &err), -1);
	free(data);
	unlink(path);
}

TEST(hostfs_dir_stays_inside)
{
	/* A snapshot directory whose link points outside it: reading through
	 * the link must not reach the host's own file. */
	const char *root = tmp_path("dirsnap");
	char path[256];
	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
	if (symlink("/proc/self/status", path))
		test_fail(__FILE__, __LINE__, "symlink");
	snprintf(path, sizeof(path), "%s/proc/version", root);
	if (symlink("../../../../../../etc/hostname", path))
		test_fail(__FILE__, __LINE__, "symlink");
	struct kq_err err;
	struct hostfs *fs = hostfs_open_snapshot(root, &err);
	CHECK(fs != NULL);
	char *data;
	size_t len;
	CHECK(hostfs_read(fs, "proc/cpuinfo", &data, &len, 4096) < 0);
	CHECK(hostfs_read(fs, "proc/version", &data, &len, 4096) < 0);
	CHECK(hostfs_read(fs, "../etc/hostname", &data, &len, 4096) < 0);
	CHECK(!hostfs_exists(fs, "../etc"));
	hostfs_close(fs);
	CHECK(hostfs_open_snapshot("/nonexistent/snapshot", &err) == NULL);
	CHECK(strstr(err.msg, "/nonexistent/snapshot") != NULL);
}

/* An archive with no entry at all (two zero blocks; or nothing): parsed
 * as empty, and its listing too, without qsort(NULL, 0) (undefined
 * behaviour that UBSan reports; tests/sections/hostile.sh runs this with
 * halt_on_error). */
TEST(tar_empty_archive)
{
	static const char zeros[1024];
	struct kq_err err;
	struct tar_archive ar;
	CHECK_INT(tar_parse(zeros, sizeof(zeros), &ar, &err), 0);
	CHECK_INT(ar.count, 0);
	tar_free(&ar);
	struct hostfs *fs = hostfs_open_tar_memory(zeros, sizeof(zeros), &err);
	CHECK(fs != NULL);
	if (fs) {
		char **names;
		CHECK_INT(hostfs_list(fs, "proc", &names), 0);
		hostfs_free_list(names);
		hostfs_close(fs);
	}
}

/* A snapshot directory holds regular files only: a FIFO or a device named
 * like a file the probe reads is not opened for reading (it would block,
 * or never end). */
TEST(hostfs_dir_regular_files_only)
{
	const char *dir = tmp_path("nonregular");
	mkdir(dir, 0755);
	char fifo[160];
	snprintf(fifo, sizeof(fifo), "%s/dmesg.txt", dir);
	CHECK_INT(mkfifo(fifo, 0644), 0);
	struct kq_err err;
	struct hostfs *fs = hostfs_open_snapshot(dir, &err);
	CHECK(fs != NULL);
	if (fs) {
		char *data;
		size_t len;
		CHECK_INT(hostfs_read(fs, "dmesg.txt", &data, &len, 1 << 20), HOSTFS_ENOTREG);
		hostfs_close(fs);
	}
	/* The snapshot itself a FIFO: refused, not waited on. */
	fs = hostfs_open_snapshot(fifo, &err);
	CHECK(fs == NULL);
	CHECK(strstr(err.msg, "FIFO") != NULL);
	unlink(fifo);
	rmdir(dir);
}
