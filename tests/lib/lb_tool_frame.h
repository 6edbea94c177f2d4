/* lb_tool_frame.h: a signed request frame for the test and benchmark
 * programs that speak the wire protocol themselves, on any platform
 * (lb_tool.h's POSIX tools, tests/unit/win/test_daemon_win.c).
 * Header-only. */
#ifndef LB_TOOL_FRAME_H
#define LB_TOOL_FRAME_H

#include <string.h>
#include <time.h>

#include "lb_buf.h"
#include "lb_sig.h"
#include "lb_wire.h"

/* A request of TYPE for KIND LINK -> TARGET, stamped now, signed with SK
 * (one that passed lb_sk_check, as lb_sign_keypair's and lb_tool_load_key's
 * do) for the public key PK, appended to OUT as a frame; its nonce in
 * NONCE_OUT if that is not NULL. */
static inline int
lb_tool_request_frame(struct lb_buf *out, uint8_t type, enum lb_kind kind, const char *link,
    const char *target, const uint8_t sk[LB_SK_BYTES], const uint8_t pk[LB_PK_BYTES],
    uint8_t *nonce_out)
{
	struct lb_request rq;
	struct lb_buf msg;
	int r;

	memset(&rq, 0, sizeof(rq));
	rq.version = LB_WIRE_VERSION;
	rq.type = type;
	rq.kind = (uint8_t)kind;
	rq.timestamp = (uint64_t)time(NULL);
	lb_random(rq.nonce, sizeof(rq.nonce));
	if (nonce_out != NULL)
		memcpy(nonce_out, rq.nonce, LB_NONCE_BYTES);
	memcpy(rq.key, pk, LB_PK_BYTES);
	rq.link = link;
	rq.link_len = strlen(link);
	rq.target = target;
	rq.target_len = strlen(target);
	lb_buf_init(&msg, LB_FRAME_MAX);
	if ((r = lb_request_sign_checked(&rq, sk)) == LB_OK &&
	    (r = lb_request_encode(&rq, &msg)) == LB_OK)
		r = lb_frame_put(out, msg.data, msg.len);
	lb_buf_free(&msg);
	return r;
}

#endif
