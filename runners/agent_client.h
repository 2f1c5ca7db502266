/* The host side of the agent protocol (lib/frame.h): waits for the guest's
 * ready frame and sends requests, each with a deadline, over a connected
 * stream (the socket QEMU's virtio-serial chardev connects to). */
#ifndef KQ_AGENT_CLIENT_H
#define KQ_AGENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../lib/frame.h"
#include "../lib/util.h"

struct agent_conn {
	int fd;
	struct frame_decoder dec;
	double next_id;
	size_t bad_frames;      /* garbled frames seen from the guest */
	cJSON *ready_frame;     /* the last ready message */
};

struct agent_ready {
	uint64_t host_ns;       /* kq_now_ns() when the frame arrived */
	double agent_start_s;   /* guest CLOCK_BOOTTIME when /init started */
	double modules_s;       /* ... when the channel's modules were loaded */
	double ready_s;         /* guest CLOCK_BOOTTIME when it sent ready */
	char channel[32];
	char kernel[96];
	unsigned cpus;
	double mem_kb;
	char cpu_model[96];
	cJSON *frame;           /* the whole ready message (owned by the conn) */
};

struct agent_result {
	int exit_code;          /* -1 when killed by a signal */
	int signal;
	int timed_out;
	int truncated;
	double wall_ms;         /* measured in the guest */
	double cpu_s;           /* natively (native_exec): the command's CPU time, its waited-for
				 * children included; 0 from the guest */
	uint8_t *out, *err;     /* NUL-terminated */
	size_t out_len, err_len;
};

void agent_conn_init(struct agent_conn *c, int fd);
void agent_conn_close(struct agent_conn *c);

/* Each returns 0, or -1 with err saying what went wrong (timeout, garbled
 * frames, the guest's own error, the connection closing). */
int agent_wait_ready(struct agent_conn *c, int timeout_ms, struct agent_ready *r, struct kq_err *err);
int agent_request(struct agent_conn *c, cJSON *req, int timeout_ms, cJSON **resp, struct kq_err *err);
int agent_exec(struct agent_conn *c, const char *const argv[], int timeout_ms, struct agent_result *r,
	       struct kq_err *err);
void agent_result_free(struct agent_result *r);
int agent_shutdown(struct agent_conn *c, int timeout_ms, struct kq_err *err);

/* Parses a response payload into r (exposed for tests and fuzzing). */
int agent_parse_exec_response(const cJSON *resp, struct agent_result *r, struct kq_err *err);

#endif
