/* A QMP client (QEMU's machine protocol: one JSON object a line), for what
 * only the VMM can do or tell: the balloon (balloon, query-balloon).  QEMU
 * connects to a socket the runner listens on, like the agent's channel. */
#ifndef KQ_QMP_H
#define KQ_QMP_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "../lib/util.h"

/* A reply or event line longer than this is not QEMU talking. */
#define QMP_LINE_CAP (1u << 20)

struct qmp {
	int fd;
	struct kq_buf in;
	int events;              /* asynchronous events seen (and skipped) */
};

void qmp_init(struct qmp *q, int fd);
/* Reads QEMU's greeting and enters command mode (qmp_capabilities). */
int qmp_handshake(struct qmp *q, int timeout_ms, struct kq_err *err);
/* Sends {"execute": command, "arguments": args} (args may be NULL; it is
 * not consumed), waits for its reply, skipping events.  On success *ret
 * (if not NULL) is the "return" member, to cJSON_Delete.  QEMU's "error"
 * reply is -1 with its class and description in err. */
int qmp_execute(struct qmp *q, const char *command, const cJSON *args, int timeout_ms, cJSON **ret,
		struct kq_err *err);
void qmp_close(struct qmp *q);

/* Parses one line from QEMU (exposed for tests and fuzzing): 0 with *msg
 * (a JSON object), or -1 with err. */
int qmp_parse_line(const char *line, size_t len, cJSON **msg, struct kq_err *err);

#endif
