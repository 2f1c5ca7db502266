#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

uint32_t kq_crc32(uint32_t crc, const void *data, size_t len)
{
	/* Reflected CRC-32 (IEEE 802.3), the one zlib and gzip use, with a
	 * table built on first use. */
	static uint32_t table[256];
	static int ready;
	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	const uint8_t *p = data;
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t frame_crc(const uint8_t *header, const uint8_t *payload, size_t len)
{
	uint32_t crc = kq_crc32(0, header + 4, 8); /* type, reserved, length */
	return kq_crc32(crc, payload, len);
}

int frame_encode(enum frame_type type, const void *payload, size_t len, uint8_t **out, size_t *out_len)
{
	if (len > FRAME_MAX_PAYLOAD)
		return -1;
	uint8_t *f = kq_xmalloc(FRAME_HEADER_LEN + len);
	memcpy(f, FRAME_MAGIC, 4);
	f[4] = (uint8_t)type;
	f[5] = f[6] = f[7] = 0;
	put_le32(f + 8, (uint32_t)len);
	if (len)
		memcpy(f + FRAME_HEADER_LEN, payload, len);
	put_le32(f + 12, frame_crc(f, f + FRAME_HEADER_LEN, len));
	*out = f;
	*out_len = FRAME_HEADER_LEN + len;
	return 0;
}

void frame_decoder_init(struct frame_decoder *d, size_t max_payload)
{
	memset(d, 0, sizeof(*d));
	d->max_payload = max_payload && max_payload < FRAME_MAX_PAYLOAD ? max_payload : FRAME_MAX_PAYLOAD;
}

void frame_decoder_free(struct frame_decoder *d)
{
	free(d->buf);
	free(d->payload);
	memset(d, 0, sizeof(*d));
}

void frame_feed(struct frame_decoder *d, const void *data, size_t len)
{
	if (d->len + len > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;
		while (cap < d->len + len)
			cap *= 2;
		d->buf = kq_xrealloc(d->buf, cap);
		d->cap = cap;
	}
	memcpy(d->buf + d->len, data, len);
	d->len += len;
}

static void consume(struct frame_decoder *d, size_t n)
{
	memmove(d->buf, d->buf + n, d->len - n);
	d->len -= n;
}

/* Index of the first possible magic start; a partial magic at the end is
 * kept, everything before it is noise. */
static size_t find_magic(const struct frame_decoder *d)
{
	for (size_t i = 0; i < d->len; i++) {
		size_t n = d->len - i < 4 ? d->len - i : 4;
		if (memcmp(d->buf + i, FRAME_MAGIC, n) == 0)
			return i;
	}
	return d->len;
}

enum frame_event frame_next(struct frame_decoder *d)
{
	free(d->payload);
	d->payload = NULL;
	d->payload_len = 0;
	size_t start = find_magic(d);
	if (start) {
		d->noise_bytes += start;
		consume(d, start);
	}
	if (d->len < FRAME_HEADER_LEN)
		return FRAME_NEED_MORE;
	uint32_t len = get_le32(d->buf + 8);
	uint8_t type = d->buf[4];
	if (len > d->max_payload || type < FRAME_READY || type > FRAME_LOG || d->buf[5] || d->buf[6] ||
	    d->buf[7]) {
		snprintf(d->error, sizeof(d->error),
			 len > d->max_payload ? "oversized frame (%u bytes declared, at most %zu)"
					      : "malformed frame header (type %u)",
			 len > d->max_payload ? len : type, d->max_payload);
		consume(d, 1); /* resynchronise after this magic */
		return FRAME_BAD;
	}
	if (d->len < FRAME_HEADER_LEN + (size_t)len)
		return FRAME_NEED_MORE;
	const uint8_t *payload = d->buf + FRAME_HEADER_LEN;
	if (frame_crc(d->buf, payload, len) != get_le32(d->buf + 12)) {
		snprintf(d->error, sizeof(d->error), "frame checksum mismatch (%u-byte payload)", len);
		consume(d, 1);
		return FRAME_BAD;
	}
	d->type = (enum frame_type)type;
	d->payload = kq_xmalloc((size_t)len + 1);
	memcpy(d->payload, payload, len);
	d->payload[len] = '\0';
	d->payload_len = len;
	consume(d, FRAME_HEADER_LEN + len);
	return FRAME_GOT;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *kq_base64_encode(const void *data, size_t len)
{
	const uint8_t *p = data;
	char *out = kq_xmalloc((len + 2) / 3 * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

int kq_base64_decode(const char *text, uint8_t **out, size_t *out_len)
{
	size_t n = strlen(text);
	if (n % 4)
		return -1;
	uint8_t *buf = kq_xmalloc(n / 4 * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			char c = text[i + k];
			if (c == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = b64_value(c)) < 0) {
				free(buf);
				return -1;
			}
		}
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		buf[o++] = (uint8_t)(x >> 16);
		if (pad < 2)
			buf[o++] = (uint8_t)(x >> 8);
		if (pad < 1)
			buf[o++] = (uint8_t)x;
	}
	*out = buf;
	*out_len = o;
	return 0;
}
