/* lb_client: what liblinkbroker and the linkbroker CLI need from the
 * operating system (the broker transport, the user's key, files, cwd,
 * clocks, a lock), implemented once per platform under client/posix/ and
 * client/win/; the rest is portable. */
#ifndef LB_CLIENT_H
#define LB_CLIENT_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "lb_buf.h"
#include "lb_err.h"
#include "lb_path.h"
#include "lb_sig.h"

/* Connect, and each request's send + answer, must finish within this. */
#define LB_CLIENT_TIMEOUT_MS 5000
/* A request the broker keeps answering "busy" (full, or over the rate
 * limit) is resent for this long after the first such answer. */
#define LB_CLIENT_BUSY_MS 5000

/* Every WHY below receives a short reason (no trailing newline) on error;
 * it may hold bytes from paths: escape it before printing. */

/* WHY := printf(...), then evaluate to RC. A text too long for WHY leaves
 * it empty: readers fall back to lb_strerror(RC). WHY is evaluated twice. */
#define LB_WHY(why, rc, ...) \
	lb_client_why_done((why), (rc), lb_buf_printf(lb_client_why_reset(why), __VA_ARGS__))

static inline struct lb_buf *
lb_client_why_reset(struct lb_buf *why)
{
	lb_buf_reset(why);
	return why;
}

static inline int
lb_client_why_done(struct lb_buf *why, int rc, int printed)
{
	if (printed != LB_OK)
		lb_buf_reset(why);
	return rc;
}

/* The path flavour of this platform. */
enum lb_flavor lb_client_flavor(void);
/* Process set-up (Windows: UTF-8 argv from the wide command line). */
int lb_client_init(int argc, char **argv, int *argc_out, char ***argv_out) LB_WUR;
const char *lb_client_default_endpoint(void);
const char *lb_client_default_service_key(void);

/* Unix seconds, UTC (request timestamps). */
uint64_t lb_client_time(void);
/* Milliseconds of a monotonic clock (deadlines). */
uint64_t lb_client_clock_ms(void);
/* Wait MS milliseconds (the broker said "busy, try again"). */
void lb_client_sleep_ms(uint32_t ms);
/* Whether standard error is a terminal (progress lines go there only). */
int lb_client_stderr_is_tty(void);

/* Write the N bytes of UTF-8 text at S to F (stdout or stderr). On a
 * Windows console: WriteConsoleW, so any path prints as typed whatever the
 * code page; elsewhere the bytes as they are. Errors show in ferror(F) or
 * nowhere (stderr). */
void lb_client_write(FILE *f, const void *s, size_t n);

/* The current directory, absolute, appended to OUT. */
int lb_client_cwd(struct lb_buf *out, struct lb_buf *why) LB_WUR;
/* This user's login name, appended to OUT. */
int lb_client_user_name(struct lb_buf *out, struct lb_buf *why) LB_WUR;
/* The whole file PATH (NULL: standard input) appended to OUT, whose max
 * bounds it (LB_E_TOOBIG beyond). LB_E_IO otherwise. */
int lb_client_read_file(const char *path, struct lb_buf *out, struct lb_buf *why) LB_WUR;

/* `linkbroker list`: the identity of the file at PATH (absolute, UTF-8)
 * itself, not what a link there points at, in the broker's format
 * (POSIX "DEV:INO" in decimal, Windows "VOLUME:FILEINDEX" in lower-case
 * hex, lb_file_id_ok), into ID; *IS_LINK := 1 for a symbolic link or a
 * junction. LB_OK; LB_E_NOENT nothing there; else why not. */
#define LB_CLIENT_FILE_ID_MAX 48
int lb_client_file_id(const char *path, char id[LB_CLIENT_FILE_ID_MAX], int *is_link) LB_WUR;

/* The user's secret key. Where it lives, appended to OUT. */
int lb_client_key_location(struct lb_buf *out) LB_WUR;
/* Load it: LB_OK; LB_E_NOENT if there is none; LB_E_PERM if the file is
 * not safe to use (readable by others, not the user's own, a symbolic
 * link); LB_E_INVAL if it is not a valid key file; WHY says which. */
int lb_client_key_load(uint8_t sk[LB_SK_BYTES], struct lb_buf *why) LB_WUR;
/* Store SK, never replacing an existing key unless REPLACE (LB_E_EXISTS). */
int lb_client_key_save(const uint8_t sk[LB_SK_BYTES], int replace, struct lb_buf *why) LB_WUR;

/* A lock: calls on one library handle take turns. */
struct lb_client_lock;
int lb_client_lock_new(struct lb_client_lock **out) LB_WUR;
void lb_client_lock_take(struct lb_client_lock *l);
void lb_client_lock_give(struct lb_client_lock *l);
/* Safe on NULL. */
void lb_client_lock_free(struct lb_client_lock *l);

/* A connection to the broker. Errors: LB_E_UNREACHABLE (connect, or the
 * broker went away), LB_E_TIMEOUT (DEADLINE_MS, on lb_client_clock_ms,
 * passed), LB_E_NOMEM; lb_conn_open also LB_E_NOT_GENUINE (Windows: the
 * pipe's server is not the LinkBroker service as LocalSystem; nothing sent). */
struct lb_conn;
int lb_conn_open(const char *endpoint, uint64_t deadline_ms, struct lb_conn **out,
    struct lb_buf *why) LB_WUR;
/* Send all N bytes. */
int lb_conn_send(struct lb_conn *c, const uint8_t *p, size_t n, uint64_t deadline_ms,
    struct lb_buf *why) LB_WUR;
/* Receive at least one byte (at most CAP): *GOT 0 means the broker closed. */
int lb_conn_recv(struct lb_conn *c, uint8_t *p, size_t cap, size_t *got,
    uint64_t deadline_ms, struct lb_buf *why) LB_WUR;
/* Safe on NULL. */
void lb_conn_close(struct lb_conn *c);

#endif
