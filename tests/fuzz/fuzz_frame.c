/* Bytes from a guest channel into the host's frame decoder and, for each
 * frame, the response parser: what a garbled console can throw at us. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/frame.h"
#include "../../runners/agent_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An odd first byte: the rest is a payload, wrapped in a valid frame so
	 * that the CRC does not hide the JSON parsing from the fuzzer. */
	uint8_t *wrapped = NULL;
	if (size && (data[0] & 1)) {
		size_t len;
		if (frame_encode(FRAME_RESPONSE, data + 1, size - 1, &wrapped, &len))
			return 0;
		data = wrapped;
		size = len;
	}
	struct frame_decoder d;
	frame_decoder_init(&d, 1 << 16);
	/* Feed in two uneven pieces so split frames are exercised too. */
	size_t half = size ? data[0] % (size + 1) : 0;
	frame_feed(&d, data, half);
	for (int piece = 0; piece < 2; piece++) {
		enum frame_event ev;
		while ((ev = frame_next(&d)) != FRAME_NEED_MORE) {
			if (ev != FRAME_GOT)
				continue;
			cJSON *msg = cJSON_ParseWithLength((const char *)d.payload, d.payload_len);
			struct agent_result r;
			struct kq_err err;
			if (msg && agent_parse_exec_response(msg, &r, &err) == 0)
				agent_result_free(&r);
			cJSON_Delete(msg);
		}
		if (piece == 0)
			frame_feed(&d, data + half, size - half);
	}
	uint8_t *out;
	size_t out_len;
	frame_decoder_free(&d);
	/* and base64 on raw input */
	char *z = malloc(size + 1);
	memcpy(z, data, size);
	z[size] = '\0';
	if (kq_base64_decode(z, &out, &out_len) == 0)
		free(out);
	free(z);
	free(wrapped);
	return 0;
}
