#include "agent_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Responses can carry 16 MiB of output twice, base64-encoded. */
#define RESPONSE_CAP (48u << 20)

void agent_conn_init(struct agent_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->next_id = 1;
	frame_decoder_init(&c->dec, RESPONSE_CAP);
}

void agent_conn_close(struct agent_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	frame_decoder_free(&c->dec);
	cJSON_Delete(c->ready_frame);
	c->ready_frame = NULL;
}

/* Reads until a frame arrives or the deadline passes.  Garbled frames are
 * counted and reported through *bad; the caller decides. */
static int next_frame(struct agent_conn *c, uint64_t deadline, struct kq_err *err)
{
	for (;;) {
		enum frame_event ev = frame_next(&c->dec);
		if (ev == FRAME_GOT)
			return 0;
		if (ev == FRAME_BAD) {
			c->bad_frames++;
			return kq_error(err, "garbled frame from the guest: %s", c->dec.error);
		}
		uint64_t now = kq_now_ns();
		if (now >= deadline)
			return kq_error(err, "timed out waiting for the guest agent");
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		int wait_ms = (int)((deadline - now) / 1000000ull) + 1;
		int pr = poll(&pfd, 1, wait_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return kq_error(err, "poll: %s", strerror(errno));
		if (pr == 0)
			continue;
		uint8_t buf[65536];
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return kq_error(err, "the guest's channel closed (QEMU exited or the guest powered off)");
		frame_feed(&c->dec, buf, (size_t)n);
	}
}

static double num(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static void str(char *dst, size_t size, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	snprintf(dst, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

int agent_wait_ready(struct agent_conn *c, int timeout_ms, struct agent_ready *r, struct kq_err *err)
{
	uint64_t deadline = kq_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		if (next_frame(c, deadline, err)) {
			if (c->bad_frames && kq_now_ns() < deadline)
				continue; /* noise before the ready frame */
			return -1;
		}
		if (c->dec.type != FRAME_READY)
			continue;
		memset(r, 0, sizeof(*r));
		r->host_ns = kq_now_ns();
		cJSON *msg = cJSON_ParseWithLength((const char *)c->dec.payload, c->dec.payload_len);
		if (!msg)
			return kq_error(err, "the guest's ready frame is not JSON");
		r->agent_start_s = num(msg, "agent_start_s", 0);
		r->ready_s = num(msg, "ready_s", 0);
		r->modules_s = num(msg, "modules_s", 0);
		r->cpus = (unsigned)num(msg, "cpus", 0);
		r->mem_kb = num(msg, "mem_kb", 0);
		str(r->channel, sizeof(r->channel), msg, "channel");
		str(r->kernel, sizeof(r->kernel), msg, "kernel");
		str(r->cpu_model, sizeof(r->cpu_model), msg, "cpu_model");
		cJSON_Delete(c->ready_frame);
		c->ready_frame = msg;
		r->frame = msg;
		return 0;
	}
}

int agent_request(struct agent_conn *c, cJSON *req, int timeout_ms, cJSON **resp, struct kq_err *err)
{
	double id = c->next_id++;
	cJSON_DeleteItemFromObject(req, "id");
	cJSON_AddNumberToObject(req, "id", id);
	char *text = cJSON_PrintUnformatted(req);
	uint8_t *frame;
	size_t len;
	int rc = frame_encode(FRAME_REQUEST, text, strlen(text), &frame, &len);
	free(text);
	if (rc)
		return kq_error(err, "request too large");
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(c->fd, frame + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(frame);
			return kq_error(err, "writing to the guest failed: %s", strerror(errno));
		}
		off += (size_t)n;
	}
	free(frame);
	uint64_t deadline = kq_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		if (next_frame(c, deadline, err))
			return -1;
		cJSON *msg = cJSON_ParseWithLength((const char *)c->dec.payload, c->dec.payload_len);
		double got = num(msg, "id", -1);
		if (c->dec.type == FRAME_ERROR) {
			char what[256];
			str(what, sizeof(what), msg, "error");
			cJSON_Delete(msg);
			/* An error with id 0 is about a frame the agent could not
			 * read: that can only be ours. */
			if (got == id || got == 0)
				return kq_error(err, "the guest agent refused the request: %s", what[0] ? what : "?");
			continue;
		}
		if (c->dec.type == FRAME_RESPONSE && got == id) {
			*resp = msg;
			return 0;
		}
		cJSON_Delete(msg); /* a stale response or a log line */
	}
}

static int decode_field(const cJSON *resp, const char *key, uint8_t **out, size_t *len, struct kq_err *err)
{
	const cJSON *v = cJSON_GetObjectItem(resp, key);
	if (!cJSON_IsString(v) || kq_base64_decode(v->valuestring, out, len))
		return kq_error(err, "the guest's response has a bad \"%s\"", key);
	*out = kq_xrealloc(*out, *len + 1);
	(*out)[*len] = '\0';
	return 0;
}

int agent_parse_exec_response(const cJSON *resp, struct agent_result *r, struct kq_err *err)
{
	memset(r, 0, sizeof(*r));
	const cJSON *code = cJSON_GetObjectItem(resp, "exit_code");
	if (!cJSON_IsNumber(code))
		return kq_error(err, "the guest's response has no exit_code");
	r->exit_code = code->valueint;
	r->signal = (int)num(resp, "signal", 0);
	r->timed_out = cJSON_IsTrue(cJSON_GetObjectItem(resp, "timed_out"));
	r->truncated = cJSON_IsTrue(cJSON_GetObjectItem(resp, "truncated"));
	r->wall_ms = num(resp, "wall_ms", 0);
	if (decode_field(resp, "stdout_b64", &r->out, &r->out_len, err) ||
	    decode_field(resp, "stderr_b64", &r->err, &r->err_len, err)) {
		agent_result_free(r);
		return -1;
	}
	return 0;
}

int agent_exec(struct agent_conn *c, const char *const argv[], int timeout_ms, struct agent_result *r,
	       struct kq_err *err)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "exec");
	cJSON *a = cJSON_AddArrayToObject(req, "argv");
	for (size_t i = 0; argv[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
	cJSON_AddNumberToObject(req, "timeout_ms", timeout_ms);
	cJSON *resp = NULL;
	/* The agent enforces the timeout; allow it time to report. */
	int rc = agent_request(c, req, timeout_ms + 10000, &resp, err);
	cJSON_Delete(req);
	if (rc)
		return -1;
	rc = agent_parse_exec_response(resp, r, err);
	cJSON_Delete(resp);
	return rc;
}

void agent_result_free(struct agent_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int agent_shutdown(struct agent_conn *c, int timeout_ms, struct kq_err *err)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "shutdown");
	cJSON *resp = NULL;
	int rc = agent_request(c, req, timeout_ms, &resp, err);
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return rc;
}
