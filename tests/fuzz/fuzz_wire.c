/* Fuzz target: frame parsing and request/response decoding. Whatever
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
	lb_buf_free(&out);
	return 0;
}
