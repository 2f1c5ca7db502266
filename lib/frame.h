/* Frames between the host and the guest agent.  The channel may be a clean
 * virtio-serial port or a serial console full of kernel messages, so every
 * frame carries a magic, a length and a CRC-32:
 *
 *   "KQF1"  type(1)  reserved(3)  length(4, LE)  crc32(4, LE)  payload
 *
 * The CRC covers type, reserved, length and payload.  A decoder fed any
 * bytes either yields whole, checked frames or reports an error for the
 * bytes it had to drop, then looks for the next magic: garbage never
 * becomes a frame, and never makes it wait for more than it was told. */
#ifndef KQ_FRAME_H
#define KQ_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAGIC "KQF1"
#define FRAME_HEADER_LEN 16
#define FRAME_MAX_PAYLOAD (32u << 20)

enum frame_type {
	FRAME_READY = 1,     /* agent -> host: up, with boot timings */
	FRAME_REQUEST = 2,   /* host -> agent */
	FRAME_RESPONSE = 3,  /* agent -> host */
	FRAME_ERROR = 4,     /* either way: the peer's last frame was bad */
	FRAME_LOG = 5,       /* agent -> host: a diagnostic line */
};

uint32_t kq_crc32(uint32_t crc, const void *data, size_t len);

/* Encodes a frame into a new buffer (*out, *out_len); returns 0 or -1 when
 * the payload is larger than FRAME_MAX_PAYLOAD. */
int frame_encode(enum frame_type type, const void *payload, size_t len, uint8_t **out, size_t *out_len);

enum frame_event {
	FRAME_NEED_MORE,     /* feed more bytes */
	FRAME_GOT,           /* a checked frame: type, payload, payload_len */
	FRAME_BAD,           /* dropped bytes: error says why */
};

struct frame_decoder {
	uint8_t *buf;
	size_t len, cap;
	size_t max_payload;
	size_t noise_bytes;  /* bytes skipped while looking for a magic */
	/* The last frame (valid until the next call). */
	enum frame_type type;
	uint8_t *payload;
	size_t payload_len;
	char error[128];
};

void frame_decoder_init(struct frame_decoder *d, size_t max_payload);
void frame_decoder_free(struct frame_decoder *d);
/* Appends bytes; then call frame_next() until it says FRAME_NEED_MORE. */
void frame_feed(struct frame_decoder *d, const void *data, size_t len);
enum frame_event frame_next(struct frame_decoder *d);

/* Base64 (RFC 4648, with padding), for binary output inside JSON. */
char *kq_base64_encode(const void *data, size_t len);
/* Returns 0 and a malloc'd buffer, or -1 on a character or padding error. */
int kq_base64_decode(const char *text, uint8_t **out, size_t *out_len);

#endif
