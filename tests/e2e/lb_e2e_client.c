/* lb_e2e_client: a deliberately misbehaving client for the end-to-end
 * tests. It speaks the wire protocol directly so tests can send what the
 * real client never would: tampered signatures, stale or future timestamps,
 * replays, keys of other users, raw bytes.
 *
 *   lb_e2e_client SOCKET KEYFILE MODE KIND LINK TARGET
 *     MODE: ok | tamper | stale | future | replay | emit (print the signed
 *           request as hex instead of sending it)
 *   lb_e2e_client SOCKET - raw < HEX          send raw bytes (hex on stdin) as one frame
 *   lb_e2e_client SOCKET - bytes < HEX        send raw bytes as they are, no frame
 *                                             (length words of any value, cut frames)
 *   lb_e2e_client - KEYFILE sign < HEX        print HEX (a request body) with its
 *                                             signature appended, as hex: any body,
 *                                             even one the encoder would refuse
 *
 * Prints "status N verdict V message TEXT" for each answer (replay: two
 * lines), or "no answer" if the connection closed; exit 0 if it got an
 * answer whose signature it did not check (tests read the service key's
 * verification elsewhere). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lb_buf.h"
#include "lb_sig.h"
#include "lb_wire.h"

static int
load_key(const char *file, uint8_t sk[LB_SK_BYTES], uint8_t pk[LB_PK_BYTES])
{
	char text[LB_USER_KEY_TEXT_LEN + 2];
	size_t n;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return -1;
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (lb_user_key_parse(text, n, sk) != LB_OK)
		return -1;
	memcpy(pk, sk + 32, LB_PK_BYTES);
	return 0;
}

static int
connect_to(const char *path)
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

/* Send one frame with MSG, print the answer. */
static int
exchange(const char *sock, const uint8_t *msg, size_t len, int unframed)
{
	struct lb_buf out;
	uint8_t in[LB_FRAME_MAX + 4];
	size_t got = 0, mlen, used, blen, off;
	const uint8_t *m;
	struct lb_response resp;
	ssize_t n;
	int fd, r;

	if ((fd = connect_to(sock)) < 0) {
		printf("cannot connect: %s\n", strerror(errno));
		return 3;
	}
	lb_buf_init(&out, LB_FRAME_MAX + 4);
	if (unframed) {
		if (lb_buf_put(&out, msg, len) != LB_OK)
			return 2;
	} else if (lb_frame_put(&out, msg, len) != LB_OK) {
		/* too long for a frame: send a raw length word and the bytes */
		uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };

		if (lb_buf_put(&out, hdr, 4) != LB_OK)
			return 2;
	}
	for (off = 0; off < out.len; off += (size_t)n)
		if ((n = write(fd, out.data + off, out.len - off)) <= 0)
			break;
	for (;;) {
		n = read(fd, in + got, sizeof(in) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		r = lb_frame_parse(in, got, &m, &mlen, &used);
		if (r == LB_E_SHORT)
			continue;
		if (r != LB_OK || lb_response_decode(m, mlen, &resp, &blen) != LB_OK) {
			printf("bad answer\n");
			close(fd);
			return 1;
		}
		printf("status %d verdict %d message %.*s\n", (int)resp.status, resp.verdict,
		    (int)resp.message_len, resp.message);
		close(fd);
		lb_buf_free(&out);
		return 0;
	}
	printf("no answer\n");
	close(fd);
	lb_buf_free(&out);
	return 0;
}

int
main(int argc, char **argv)
{
	uint8_t sk[LB_SK_BYTES], pk[LB_PK_BYTES];
	struct lb_request rq;
	struct lb_buf msg;
	enum lb_kind kind;
	const char *mode;
	int rc;

	if (lb_crypto_init() != LB_OK)
		return 2;
	if (argc == 4 && (strcmp(argv[3], "raw") == 0 || strcmp(argv[3], "bytes") == 0 ||
	    strcmp(argv[3], "sign") == 0)) {
		static uint8_t raw[1 << 17];
		size_t n = 0;

		/* the hex bytes follow on stdin */
		while (n < sizeof(raw) - LB_SIG_BYTES) {
			unsigned int b;

			if (scanf("%2x", &b) != 1)
				break;
			raw[n++] = (uint8_t)b;
		}
		if (strcmp(argv[3], "sign") == 0) {
			size_t i;

			if (load_key(argv[2], sk, pk) != 0 ||
			    lb_sign(sk, LB_CTX_REQUEST, raw, n, raw + n) != LB_OK)
				return 2;
			for (i = 0; i < n + LB_SIG_BYTES; i++)
				printf("%02x", raw[i]);
			printf("\n");
			return 0;
		}
		return exchange(argv[1], raw, n, strcmp(argv[3], "bytes") == 0);
	}
	if (argc != 7 || load_key(argv[2], sk, pk) != 0 || lb_kind_parse(argv[4], &kind) != LB_OK) {
		fprintf(stderr, "usage: lb_e2e_client SOCKET KEYFILE ok|tamper|stale|future|replay|emit KIND LINK TARGET\n");
		return 2;
	}
	mode = argv[3];
	memset(&rq, 0, sizeof(rq));
	rq.version = LB_WIRE_VERSION;
	rq.type = LB_MSG_CREATE;
	rq.kind = (uint8_t)kind;
	rq.timestamp = (uint64_t)time(NULL);
	if (strcmp(mode, "stale") == 0)
		rq.timestamp -= 3600;
	if (strcmp(mode, "future") == 0)
		rq.timestamp += 3600;
	lb_random(rq.nonce, sizeof(rq.nonce));
	memcpy(rq.key, pk, LB_PK_BYTES);
	rq.link = argv[5];
	rq.link_len = strlen(argv[5]);
	rq.target = argv[6];
	rq.target_len = strlen(argv[6]);
	lb_buf_init(&msg, LB_FRAME_MAX);
	if (lb_request_sign(&rq, sk) != LB_OK || lb_request_encode(&rq, &msg) != LB_OK)
		return 2;
	if (strcmp(mode, "tamper") == 0)
		msg.data[msg.len - 1] ^= 1;
	if (strcmp(mode, "emit") == 0) {
		/* print the signed request as hex, for `raw` to send later */
		size_t i;

		for (i = 0; i < msg.len; i++)
			printf("%02x", msg.data[i]);
		printf("\n");
		lb_buf_free(&msg);
		return 0;
	}
	rc = exchange(argv[1], msg.data, msg.len, 0);
	if (rc == 0 && strcmp(mode, "replay") == 0)
		rc = exchange(argv[1], msg.data, msg.len, 0);
	lb_buf_free(&msg);
	return rc;
}
