#include <stdlib.h>

#include "../../lib/frame.h"
#include "../../runners/agent_client.h"
#include "test.h"

static size_t encode(enum frame_type t, const char *payload, uint8_t *out)
{
	uint8_t *f;
	size_t len;
	frame_encode(t, payload, strlen(payload), &f, &len);
	memcpy(out, f, len);
	free(f);
	return len;
}

TEST(frame_roundtrip_with_noise)
{
	uint8_t buf[4096];
	size_t n = 0;
	const char *noise = "[    1.234] virtio_console: noise KQF KQ\r\n";
	memcpy(buf, noise, strlen(noise));
	n += strlen(noise);
	n += encode(FRAME_READY, "{\"ready\":1}", buf + n);
	memcpy(buf + n, "KQF", 3); /* a partial magic between frames */
	n += 3;
	n += encode(FRAME_RESPONSE, "{\"id\":1}", buf + n);
	struct frame_decoder d;
	frame_decoder_init(&d, 1024);
	/* byte by byte: frames split anywhere still decode */
	int got = 0, bad = 0;
	for (size_t i = 0; i < n; i++) {
		frame_feed(&d, buf + i, 1);
		enum frame_event ev;
		while ((ev = frame_next(&d)) != FRAME_NEED_MORE) {
			if (ev == FRAME_GOT) {
				got++;
				if (got == 1) {
					CHECK_INT(d.type, FRAME_READY);
					CHECK_STR((char *)d.payload, "{\"ready\":1}");
				} else {
					CHECK_INT(d.type, FRAME_RESPONSE);
					CHECK_STR((char *)d.payload, "{\"id\":1}");
				}
			} else {
				bad++;
			}
		}
	}
	CHECK_INT(got, 2);
	CHECK_INT(bad, 0);
	CHECK(d.noise_bytes >= strlen(noise));
	frame_decoder_free(&d);
}

TEST(frame_garbled_and_oversized)
{
	uint8_t buf[4096];
	struct frame_decoder d;
	frame_decoder_init(&d, 64);
	/* a flipped payload bit: a checksum error, then the next frame is fine */
	size_t n = encode(FRAME_RESPONSE, "{\"id\":7,\"ok\":true}", buf);
	buf[FRAME_HEADER_LEN + 3] ^= 0x20;
	size_t m = encode(FRAME_RESPONSE, "{\"id\":8}", buf + n);
	frame_feed(&d, buf, n + m);
	CHECK_INT(frame_next(&d), FRAME_BAD);
	CHECK(strstr(d.error, "checksum") != NULL);
	enum frame_event ev;
	while ((ev = frame_next(&d)) == FRAME_BAD)
		;
	CHECK_INT(ev, FRAME_GOT);
	CHECK_STR((char *)d.payload, "{\"id\":8}");
	/* oversized: refused from the header alone, without waiting for the body */
	char big[200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = encode(FRAME_RESPONSE, big, buf);
	frame_feed(&d, buf, FRAME_HEADER_LEN);
	CHECK_INT(frame_next(&d), FRAME_BAD);
	CHECK(strstr(d.error, "oversized") != NULL);
	/* a truncated frame waits for more, never yields */
	frame_decoder_free(&d);
	frame_decoder_init(&d, 1024);
	n = encode(FRAME_RESPONSE, "{\"id\":9}", buf);
	frame_feed(&d, buf, n - 1);
	CHECK_INT(frame_next(&d), FRAME_NEED_MORE);
	/* a bad type */
	frame_decoder_free(&d);
	frame_decoder_init(&d, 1024);
	n = encode(FRAME_RESPONSE, "{}", buf);
	buf[4] = 99;
	frame_feed(&d, buf, n);
	CHECK_INT(frame_next(&d), FRAME_BAD);
	frame_decoder_free(&d);
}

TEST(crc32_reference)
{
	/* The standard check value of CRC-32/ISO-HDLC. */
	CHECK_INT(kq_crc32(0, "123456789", 9), 0xcbf43926u);
}

TEST(base64_roundtrip)
{
	const char *cases[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *encoded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		char *e = kq_base64_encode(cases[i], strlen(cases[i]));
		CHECK_STR(e, encoded[i]);
		uint8_t *d;
		size_t len;
		CHECK_INT(kq_base64_decode(e, &d, &len), 0);
		CHECK_INT(len, strlen(cases[i]));
		CHECK(memcmp(d, cases[i], len) == 0);
		free(d);
		free(e);
	}
	uint8_t *d;
	size_t len;
	CHECK_INT(kq_base64_decode("Zm9", &d, &len), -1);
	CHECK_INT(kq_base64_decode("Zm9v!A==", &d, &len), -1);
	CHECK_INT(kq_base64_decode("Zg==Zg==", &d, &len), -1);
	CHECK_INT(kq_base64_decode("Z===", &d, &len), -1);
	CHECK_INT(kq_base64_decode("Zm=v", &d, &len), -1);
}

TEST(exec_response_parsing)
{
	cJSON *ok = cJSON_Parse("{\"id\":1,\"ok\":true,\"exit_code\":3,\"signal\":0,\"timed_out\":false,"
				"\"wall_ms\":12.5,\"stdout_b64\":\"aGk=\",\"stderr_b64\":\"\",\"truncated\":false}");
	struct agent_result r;
	struct kq_err err;
	CHECK_INT(agent_parse_exec_response(ok, &r, &err), 0);
	CHECK_INT(r.exit_code, 3);
	CHECK_STR((char *)r.out, "hi");
	CHECK_INT(r.err_len, 0);
	agent_result_free(&r);
	cJSON_Delete(ok);
	const char *bad[] = {
		"{\"id\":1}",
		"{\"exit_code\":\"0\",\"stdout_b64\":\"\",\"stderr_b64\":\"\"}",
		"{\"exit_code\":0,\"stdout_b64\":\"@@@@\",\"stderr_b64\":\"\"}",
		"{\"exit_code\":0,\"stdout_b64\":\"\"}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = cJSON_Parse(bad[i]);
		if (agent_parse_exec_response(j, &r, &err) != -1)
			test_fail(__FILE__, __LINE__, "bad response %zu accepted", i);
		cJSON_Delete(j);
	}
}
