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
 *   lb_e2e_client SOCKET KEYFILE pipeline N LINK TARGET
 *                                             N check requests written without
 *                                             reading (as long as the socket takes
 *                                             them), 0.5 s more without reading (less
 *                                             than the broker's io_timeout_ms), then
 *                                             every answer read: a client that reads
 *                                             late; prints "answered K of N in T ms"
 *                                             and, with LB_E2E_DAEMON_PID set, the
 *                                             daemon's CPU time during that 0.5 s;
 *                                             LB_E2E_TS_OFFSET=S stamps them S seconds
 *                                             from now
 *
 *   lb_e2e_client SOCKET KEYFILE sequence SPEC LINKDIR TARGET
 *                                             one connection; for each letter of SPEC
 *                                             a request written without reading:
 *                                             A create LINKDIR/sN -> TARGET (allowed),
 *                                             D create LINKDIR/sN -> /etc/passwd
 *                                             (a target no rule allows), M a
 *                                             malformed frame, '.' a pause of 1.2 s;
 *                                             then every answer read, in order, and
 *                                             one line each: "N LETTER: ANSWER" where
 *                                             ANSWER is created | denied | malformed |
 *                                             busy (rate) | WRONG-NONCE | FORGED |
 *                                             none; signatures checked against the
 *                                             key in $LB_E2E_SERVICE_PUB
 *
 * Prints "status N verdict V message TEXT" for each answer (replay: two
 * lines), or "no answer" if the connection closed; exit 0 if it got an
 * answer whose signature it did not check (tests read the service key's
 * verification elsewhere). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lb_buf.h"
#include "lb_sig.h"
#include "lb_tool.h"
#include "lb_wire.h"

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

	if ((fd = lb_tool_connect(sock)) < 0) {
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
		if (r == LB_OK && lb_msg_is_batch(m, mlen)) {
			/* a batch's answer (to a message with version byte 2) */
			struct lb_batch_response *br = malloc(sizeof(*br));

			if (br == NULL || lb_batch_response_decode(m, mlen, br, &blen) != LB_OK) {
				printf("bad answer\n");
				free(br);
				close(fd);
				lb_buf_free(&out);
				return 1;
			}
			printf("status %d verdict 0 message %.*s entries %zu\n", (int)br->status,
			    (int)br->message_len, br->message, br->n);
			free(br);
			close(fd);
			lb_buf_free(&out);
			return 0;
		}
		if (r != LB_OK || lb_response_decode(m, mlen, &resp, &blen) != LB_OK) {
			printf("bad answer\n");
			close(fd);
			lb_buf_free(&out);
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

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CPU time (user + system) of process PID in clock ticks, or -1. */
static long long
cpu_ticks(const char *pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	if (pid == NULL)
		return -1;
	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* A check request for LINK -> TARGET stamped now + OFFSET seconds, signed,
 * appended to OUT as a frame. */
static int
stamped_check(struct lb_buf *out, const char *link, const char *target,
    const uint8_t sk[LB_SK_BYTES], const uint8_t pk[LB_PK_BYTES], long offset)
{
	struct lb_request rq;
	struct lb_buf msg;
	int r;

	memset(&rq, 0, sizeof(rq));
	rq.version = LB_WIRE_VERSION;
	rq.type = LB_MSG_CHECK;
	rq.kind = LB_KIND_SYMLINK;
	rq.timestamp = (uint64_t)((long long)time(NULL) + offset);
	lb_random(rq.nonce, sizeof(rq.nonce));
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

/* N check requests for LINK, written while the socket takes them and
 * nothing read until writing stalls for 0.1 s and 0.5 s more; then the
 * answers read (and the rest written) for up to 30 s. */
static int
pipeline(const char *sock, const uint8_t sk[LB_SK_BYTES], const uint8_t pk[LB_PK_BYTES],
    size_t n, const char *link, const char *target)
{
	struct lb_buf all;
	static uint8_t in[1 << 20];
	size_t i, off = 0, got = 0, answered = 0, mlen, used;
	const uint8_t *m;
	int64_t t0 = now_ms(), last = t0;
	long long cpu0, cpu1;
	const char *wait_env = getenv("LB_E2E_PIPELINE_WAIT_MS");
	int64_t wait_ms = wait_env != NULL ? strtol(wait_env, NULL, 10) : 30000;
	const char *off_env = getenv("LB_E2E_TS_OFFSET");
	long offset = off_env != NULL ? strtol(off_env, NULL, 10) : 0;
	ssize_t w;
	int fd;

	lb_buf_init(&all, (size_t)1 << 30);
	for (i = 0; i < n; i++)
		if (stamped_check(&all, link, target, sk, pk, offset) != LB_OK) {
			lb_buf_free(&all);
			return 2;
		}
	if ((fd = lb_tool_connect(sock)) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		printf("cannot connect: %s\n", strerror(errno));
		lb_buf_free(&all);
		return 3;
	}
	t0 = last = now_ms();
	while (off < all.len && now_ms() - last < 100) {
		if ((w = send(fd, all.data + off, all.len - off, MSG_NOSIGNAL)) > 0) {
			off += (size_t)w;
			last = now_ms();
		} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			break;
		} else {
			usleep(1000);
		}
	}
	/* The broker holds answers it cannot send: once it has worked off the
	 * frames it already read it should wait, not spin. So the figure is its
	 * CPU (all its threads) in its least busy 200 ms, sampled every 50 ms
	 * until a 200 ms window with at most one tick (10 ms) in it, or 3 s:
	 * near zero when it waits, most of 200 ms every time when it spins,
	 * however long a loaded machine takes it to finish its backlog. (Its
	 * idle deadline only runs once it stops making progress, so pausing
	 * until it is idle, plus 200 ms, does not lose the connection.) */
	{
		const char *pid = getenv("LB_E2E_DAEMON_PID");
		long long s[61];
		size_t k;

		cpu0 = cpu1 = -1;
		for (k = 0; k < 61; k++) {
			if (k > 0)
				usleep(50 * 1000);
			s[k] = cpu_ticks(pid);
			if (k >= 4 && s[k] >= 0 && s[k - 4] >= 0 &&
			    (cpu0 < 0 || s[k] - s[k - 4] < cpu1 - cpu0)) {
				cpu0 = s[k - 4];
				cpu1 = s[k];
			}
			if (cpu0 >= 0 && cpu1 - cpu0 <= 1)
				break;
		}
	}
	while (answered < n && now_ms() - t0 < wait_ms) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (off < all.len)
			p.events |= POLLOUT;
		if (poll(&p, 1, 100) < 0)
			break;
		if ((p.revents & POLLOUT) && (w = send(fd, all.data + off, all.len - off, MSG_NOSIGNAL)) > 0)
			off += (size_t)w;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((w = read(fd, in + got, sizeof(in) - got)) <= 0)
			break;   /* closed: the rest will never come */
		got += (size_t)w;
		while (lb_frame_parse(in, got, &m, &mlen, &used) == LB_OK) {
			answered++;
			memmove(in, in + used, got - used);
			got -= used;
		}
	}
	printf("answered %zu of %zu in %lld ms\n", answered, n, (long long)(now_ms() - t0));
	if (cpu0 >= 0 && cpu1 >= 0)
		printf("daemon cpu while held: %lld ms\n", (cpu1 - cpu0) * 1000 / sysconf(_SC_CLK_TCK));
	close(fd);
	lb_buf_free(&all);
	return answered == n ? 0 : 1;
}

/* The service public key in FILE (base64 and a newline), or -1. */
static int
service_pub(const char *file, uint8_t pk[LB_PK_BYTES])
{
	char text[128];
	size_t n;
	FILE *f;

	if (file == NULL || (f = fopen(file, "r")) == NULL)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	text[n] = '\0';
	return lb_pk_from_b64(text, pk) == LB_OK ? 0 : -1;
}

/* See the usage above: the order of answers on one connection. */
static int
sequence(const char *sock, const uint8_t sk[LB_SK_BYTES], const uint8_t pk[LB_PK_BYTES],
    const char *spec, const char *linkdir, const char *target)
{
	static const uint8_t zero[LB_NONCE_BYTES];
	static const uint8_t junk[] = { 1, 9, 0, 0, 0 };   /* version 1, no such type */
	uint8_t svc[LB_PK_BYTES], nonces[64][LB_NONCE_BYTES];
	static uint8_t in[1 << 20];
	char letters[64], link[4096];
	size_t n = 0, i, got = 0, mlen, used;
	const uint8_t *m;
	struct lb_buf out;
	ssize_t w;
	int fd, bad = 0;

	if (service_pub(getenv("LB_E2E_SERVICE_PUB"), svc) != 0) {
		printf("no service key in $LB_E2E_SERVICE_PUB\n");
		return 2;
	}
	if ((fd = lb_tool_connect(sock)) < 0) {
		printf("cannot connect: %s\n", strerror(errno));
		return 3;
	}
	lb_buf_init(&out, 1 << 20);
	for (; *spec != '\0' && n < 64; spec++) {
		lb_buf_reset(&out);
		if (*spec == '.') {
			usleep(1200 * 1000);
			continue;
		}
		letters[n] = *spec;
		memset(nonces[n], 0, LB_NONCE_BYTES);
		if (*spec == 'M') {
			if (lb_frame_put(&out, junk, sizeof(junk)) != LB_OK)
				return 2;
		} else {
			snprintf(link, sizeof(link), "%s/s%zu", linkdir, n);
			if (lb_tool_request_frame(&out, LB_MSG_CREATE, LB_KIND_SYMLINK, link,
			    *spec == 'A' ? target : "/etc/passwd", sk, pk, nonces[n]) != LB_OK)
				return 2;
		}
		for (i = 0; i < out.len; i += (size_t)w)
			if ((w = write(fd, out.data + i, out.len - i)) <= 0)
				return 3;
		n++;
	}
	for (i = 0; i < n; i++) {
		const char *what;
		struct lb_response resp;
		struct lb_busy busy;

		while (lb_frame_parse(in, got, &m, &mlen, &used) == LB_E_SHORT) {
			if ((w = read(fd, in + got, sizeof(in) - got)) <= 0)
				break;
			got += (size_t)w;
		}
		if (lb_frame_parse(in, got, &m, &mlen, &used) != LB_OK) {
			printf("%zu %c: none\n", i + 1, letters[i]);
			bad = 1;
			continue;
		}
		if (lb_msg_is_busy(m, mlen)) {
			what = lb_busy_decode(m, mlen, &busy) != LB_OK ? "FORGED" :
			    memcmp(busy.nonce, nonces[i], LB_NONCE_BYTES) != 0 ? "WRONG-NONCE" :
			    busy.status == LB_E_RATE ? "busy" : "FORGED";
			if (what[0] == 'b')
				printf("%zu %c: busy retry %u ms\n", i + 1, letters[i], (unsigned)busy.retry_ms);
			else
				printf("%zu %c: %s\n", i + 1, letters[i], what);
		} else {
			if (lb_response_decode(m, mlen, &resp, NULL) != LB_OK ||
			    lb_response_verify(&resp, svc) != LB_OK)
				what = "FORGED";
			else if (memcmp(resp.nonce, nonces[i], LB_NONCE_BYTES) != 0)
				what = "WRONG-NONCE";
			else if (letters[i] == 'M' && memcmp(resp.nonce, zero, LB_NONCE_BYTES) == 0)
				what = "malformed";
			else if (resp.status == LB_OK && resp.verdict == LB_VERDICT_ALLOW)
				what = "created";
			else if (resp.status == LB_E_DENIED)
				what = "denied";
			else
				what = "failed";
			printf("%zu %c: %s\n", i + 1, letters[i], what);
		}
		bad |= what[0] == 'W' || what[0] == 'F';
		memmove(in, in + used, got - used);
		got -= used;
	}
	close(fd);
	lb_buf_free(&out);
	return bad;
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

			if (lb_tool_load_key(argv[2], sk, pk) != 0 ||
			    lb_sign(sk, LB_CTX_REQUEST, raw, n, raw + n) != LB_OK)
				return 2;
			for (i = 0; i < n + LB_SIG_BYTES; i++)
				printf("%02x", raw[i]);
			printf("\n");
			return 0;
		}
		return exchange(argv[1], raw, n, strcmp(argv[3], "bytes") == 0);
	}
	if (argc == 7 && strcmp(argv[3], "sequence") == 0) {
		if (lb_tool_load_key(argv[2], sk, pk) != 0)
			return 2;
		return sequence(argv[1], sk, pk, argv[4], argv[5], argv[6]);
	}
	if (argc == 7 && strcmp(argv[3], "pipeline") == 0) {
		long n = strtol(argv[4], NULL, 10);

		if (n < 1 || n > 1000000 || lb_tool_load_key(argv[2], sk, pk) != 0)
			return 2;
		return pipeline(argv[1], sk, pk, (size_t)n, argv[5], argv[6]);
	}
	if (argc != 7 || lb_tool_load_key(argv[2], sk, pk) != 0 || lb_kind_parse(argv[4], &kind) != LB_OK) {
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
