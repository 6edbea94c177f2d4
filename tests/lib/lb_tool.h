/* lb_tool.h: what the test and benchmark programs that speak the wire
 * protocol themselves (tests/e2e/lb_e2e_client.c, bench/conc_requests.c)
 * share: connect to the broker's socket, load a user key, make a signed
 * request frame. Header-only: each tool is one program. POSIX. */
#ifndef LB_TOOL_H
#define LB_TOOL_H

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lb_buf.h"
#include "lb_sig.h"
#include "lb_wire.h"
#include "lb_tool_frame.h"

/* A connected socket to PATH, or -1 (errno says why). */
static inline int
lb_tool_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The user key in FILE (linkbroker's key file format), checked once so
 * that it can be used with lb_request_sign_checked. 0 or -1. */
static inline int
lb_tool_load_key(const char *file, uint8_t sk[LB_SK_BYTES], uint8_t pk[LB_PK_BYTES])
{
	char text[LB_USER_KEY_TEXT_LEN + 2];
	size_t n;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return -1;
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (lb_user_key_parse(text, n, sk) != LB_OK || lb_sk_check(sk) != LB_OK)
		return -1;
	memcpy(pk, sk + LB_SK_BYTES - LB_PK_BYTES, LB_PK_BYTES);
	return 0;
}

/* A request of TYPE for a symbolic link LINK -> TARGET, stamped now and
 * signed with SK (loaded by lb_tool_load_key), appended to OUT as a frame. */
static inline int
lb_tool_request(struct lb_buf *out, uint8_t type, const char *link, const char *target,
    const uint8_t sk[LB_SK_BYTES], const uint8_t pk[LB_PK_BYTES])
{
	return lb_tool_request_frame(out, type, LB_KIND_SYMLINK, link, target, sk, pk, NULL);
}

#endif
