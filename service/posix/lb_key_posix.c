/* lb_key_posix: the service's Ed25519 key pair on disk. service.key holds
 * one line: base64 (original alphabet, padded; 88 characters) of libsodium's
 * 64-byte secret key (32-byte seed then 32-byte public key), root 0600.
 * service.pub holds the 44-character base64 public key and a newline,
 * root 0644, rewritten whenever it does not match the secret key. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_posix.h"


/* Read at most MAX - 1 bytes of the regular file PATH (not following a
 * final symlink) into BUF; *st is its status. ENOENT is LB_E_NOENT. */
static int
lb_read_small(const char *path, char *buf, size_t max, size_t *len, struct stat *st,
    char *err, size_t errlen)
{
	size_t got = 0;
	int fd, r = LB_E_IO;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		if (errno == ENOENT)
			return LB_E_NOENT;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return LB_E_IO;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, max - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == max - 1) {
			snprintf(err, errlen, "%s: larger than a key file", path);
			goto out;
		}
	}
	buf[got] = '\0';
	*len = got;
	r = LB_OK;
out:
	close(fd);
	return r;
}

static int
lb_sk_create(const char *path, uint8_t sk[LB_SK_BYTES], char *err, size_t errlen)
{
	uint8_t pk[LB_PK_BYTES];
	char text[LB_SK_B64_LEN];
	int r;

	if ((r = lb_sign_keypair(pk, sk)) != LB_OK) {
		snprintf(err, errlen, "cannot make a key pair: %s", lb_strerror(r));
		return r;
	}
	if ((r = lb_service_key_format(sk, text)) != LB_OK)
		goto out;
	r = lb_posix_write_file(path, text, LB_SK_B64_LEN, 0600, err, errlen);
out:
	lb_wipe(text, sizeof(text));
	return r;
}

int
lb_posix_service_key(const char *sk_path, const char *pk_path, uint8_t sk[LB_SK_BYTES],
    char *err, size_t errlen)
{
	char text[256], pub[LB_PK_B64_LEN + 1];
	struct stat st;
	size_t len = 0;
	int r;

	if ((r = lb_posix_ensure_parent(sk_path, 0755, err, errlen)) != LB_OK)
		return r;
	r = lb_read_small(sk_path, text, sizeof(text), &len, &st, err, errlen);
	if (r == LB_E_NOENT) {
		if ((r = lb_sk_create(sk_path, sk, err, errlen)) != LB_OK)
			goto out;
	} else if (r != LB_OK) {
		goto out;
	} else if (st.st_uid != 0 || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s is owned by uid %lu with mode %04o: the service key must be "
		    "owned by root and readable by root only (0600)",
		    sk_path, (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
		r = LB_E_PERM;
		goto out;
	} else if ((r = lb_service_key_parse(text, len, sk)) != LB_OK) {
		snprintf(err, errlen, "%s: not a service key (one line of base64 of a 64-byte "
		    "Ed25519 secret key)", sk_path);
		goto out;
	}

	/* The public half, for clients: rewrite it unless it is exactly right. */
	if ((r = lb_pk_to_b64(sk + LB_SK_BYTES - LB_PK_BYTES, pub)) != LB_OK)
		goto out;
	pub[LB_PK_B64_LEN - 1] = '\n';
	pub[LB_PK_B64_LEN] = '\0';
	if ((r = lb_posix_ensure_parent(pk_path, 0755, err, errlen)) != LB_OK)
		goto out;
	r = lb_read_small(pk_path, text, sizeof(text), &len, &st, err, errlen);
	if (r == LB_OK && len == LB_PK_B64_LEN && memcmp(text, pub, len) == 0 &&
	    st.st_uid == 0 && (st.st_mode & 07777) == 0644)
		goto out;
	/* Missing, different, a symlink or the wrong mode: replace it. */
	r = lb_posix_write_file(pk_path, pub, LB_PK_B64_LEN, 0644, err, errlen);
out:
	lb_wipe(text, sizeof(text));
	if (r != LB_OK)
		lb_wipe(sk, LB_SK_BYTES);
	return r;
}
