#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void qmp_init(struct qmp *q, int fd)
{
	memset(q, 0, sizeof(*q));
	q->fd = fd;
	kq_buf_init(&q->in);
}

void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	kq_buf_free(&q->in);
}

int qmp_parse_line(const char *line, size_t len, cJSON **msg, struct kq_err *err)
{
	cJSON *m = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(m)) {
		cJSON_Delete(m);
		/* The line's start, printable: it is len bytes, not a string. */
		char shown[61];
		size_t n = 0;
		for (; n < len && n < sizeof(shown) - 1; n++)
			shown[n] = line[n] >= 0x20 && line[n] < 0x7f ? line[n] : '?';
		shown[n] = '\0';
		return kq_error(err, "QMP: not a JSON object from QEMU: '%s'", shown);
	}
	*msg = m;
	return 0;
}

/* The next line from QEMU, parsed; -1 at the deadline, on EOF or junk. */
static int next_message(struct qmp *q, uint64_t deadline, cJSON **msg, struct kq_err *err)
{
	for (;;) {
		char *nl = q->in.len ? memchr(q->in.data, '\n', q->in.len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - q->in.data);
			int rc = qmp_parse_line(q->in.data, n, msg, err);
			memmove(q->in.data, nl + 1, q->in.len - n - 1);
			q->in.len -= n + 1;
			q->in.data[q->in.len] = '\0';
			return rc;
		}
		if (q->in.len > QMP_LINE_CAP)
			return kq_error(err, "QMP: a line of more than %u bytes from QEMU", QMP_LINE_CAP);
		uint64_t now = kq_now_ns();
		if (now >= deadline)
			return kq_error(err, "QMP: timed out waiting for QEMU");
		struct pollfd pfd = { q->fd, POLLIN, 0 };
		int pr = poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1);
		if (pr < 0 && errno != EINTR)
			return kq_error(err, "QMP: poll: %s", strerror(errno));
		if (pr <= 0)
			continue;
		char buf[8192];
		ssize_t r = read(q->fd, buf, sizeof(buf));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return kq_error(err, "QMP: QEMU closed the monitor connection");
		kq_buf_add(&q->in, buf, (size_t)r);
	}
}

static int send_all(int fd, const char *text, struct kq_err *err)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return kq_error(err, "QMP: cannot write to QEMU: %s", strerror(errno));
		off += (size_t)w;
	}
	return 0;
}

int qmp_handshake(struct qmp *q, int timeout_ms, struct kq_err *err)
{
	uint64_t deadline = kq_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	cJSON *greeting;
	if (next_message(q, deadline, &greeting, err))
		return -1;
	int ok = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(greeting, "QMP"));
	cJSON_Delete(greeting);
	if (!ok)
		return kq_error(err, "QMP: QEMU's first message is not its greeting");
	return qmp_execute(q, "qmp_capabilities", NULL, timeout_ms, NULL, err);
}

int qmp_execute(struct qmp *q, const char *command, const cJSON *args, int timeout_ms, cJSON **ret,
		struct kq_err *err)
{
	if (ret)
		*ret = NULL;
	cJSON *cmd = cJSON_CreateObject();
	cJSON_AddStringToObject(cmd, "execute", command);
	if (args)
		cJSON_AddItemToObject(cmd, "arguments", cJSON_Duplicate(args, 1));
	char *text = cJSON_PrintUnformatted(cmd);
	cJSON_Delete(cmd);
	char *line = kq_xasprintf("%s\n", text);
	free(text);
	int rc = send_all(q->fd, line, err);
	free(line);
	if (rc)
		return -1;
	uint64_t deadline = kq_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		cJSON *msg;
		if (next_message(q, deadline, &msg, err))
			return -1;
		if (cJSON_GetObjectItemCaseSensitive(msg, "event")) {
			q->events++;
			cJSON_Delete(msg);
			continue;
		}
		cJSON *r = cJSON_DetachItemFromObjectCaseSensitive(msg, "return");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(msg, "error");
		if (r) {
			cJSON_Delete(msg);
			if (ret)
				*ret = r;
			else
				cJSON_Delete(r);
			return 0;
		}
		const cJSON *cls = cJSON_GetObjectItemCaseSensitive(e, "class");
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(e, "desc");
		kq_error(err, "QMP %s: %s: %s", command, cJSON_IsString(cls) ? cls->valuestring : "error",
			 cJSON_IsString(desc) ? desc->valuestring : "(no description)");
		cJSON_Delete(msg);
		return -1;
	}
}
