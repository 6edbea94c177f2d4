/* Fuzz target: frame parsing, request/response and batch decoding. Whatever
 * decodes must re-encode to the very same bytes (one canonical encoding). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *msg;
	size_t msg_len, consumed, body_len;
	struct lb_request req;
	struct lb_response resp;
	struct lb_buf out;

	lb_buf_init(&out, LB_FRAME_MAX + LB_FRAME_HDR);
	if (lb_frame_parse(data, size, &msg, &msg_len, &consumed) == LB_OK) {
		if (consumed != msg_len + LB_FRAME_HDR || consumed > size)
			abort();
	}
	if (lb_request_decode(data, size, &req, &body_len) == LB_OK) {
		if (lb_request_encode(&req, &out) != LB_OK || out.len != size ||
		    memcmp(out.data, data, size) != 0)
			abort();
	}
	lb_buf_reset(&out);
	if (lb_response_decode(data, size, &resp, &body_len) == LB_OK) {
		if (lb_response_encode(&resp, &out) != LB_OK || out.len != size ||
		    memcmp(out.data, data, size) != 0)
			abort();
	}
	/* Batches: the same, body then signature, and the answer's body. */
	{
		static struct lb_batch b;
		static struct lb_batch_response br;

		lb_buf_reset(&out);
		if (lb_batch_decode(data, size, &b, &body_len) == LB_OK) {
			if (b.n == 0 || b.n > LB_BATCH_MAX || body_len + LB_SIG_BYTES != size ||
			    lb_batch_encode_body(&b, &out) != LB_OK || out.len != body_len ||
			    memcmp(out.data, data, body_len) != 0 ||
			    memcmp(data + body_len, b.sig, LB_SIG_BYTES) != 0)
				abort();
		}
		lb_buf_reset(&out);
		if (lb_batch_response_decode(data, size, &br, &body_len) == LB_OK) {
			if (body_len + LB_SIG_BYTES != size || (br.status != LB_OK && br.n != 0) ||
			    lb_batch_response_encode_body(&br, &out) != LB_OK || out.len != body_len ||
			    memcmp(out.data, data, body_len) != 0)
				abort();
		}
	}
	lb_buf_free(&out);
	return 0;
}
