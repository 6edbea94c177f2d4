/* lb_buf: a growable byte buffer with a hard maximum (writing), and a reader
 * that peeks, validates and consumes (reading), so no caller indexes raw bytes. */
#ifndef LB_BUF_H
#define LB_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "lb_err.h"

struct lb_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;   /* len never exceeds max: appends fail with LB_E_TOOBIG */
};

/* Initialise an empty buffer that may grow to MAX bytes. Allocates nothing. */
void lb_buf_init(struct lb_buf *b, size_t max);
/* Free the storage (wiped first: buffers may hold secrets) and zero B. */
void lb_buf_free(struct lb_buf *b);
/* Drop the contents, keep the storage. */
void lb_buf_reset(struct lb_buf *b);

int lb_buf_put(struct lb_buf *b, const void *p, size_t n) LB_WUR;
int lb_buf_put_u8(struct lb_buf *b, uint8_t v) LB_WUR;
int lb_buf_put_u16(struct lb_buf *b, uint16_t v) LB_WUR;   /* big-endian */
int lb_buf_put_u32(struct lb_buf *b, uint32_t v) LB_WUR;   /* big-endian */
int lb_buf_put_u64(struct lb_buf *b, uint64_t v) LB_WUR;   /* big-endian */
/* NUL-terminated string, without the NUL. */
int lb_buf_put_cstr(struct lb_buf *b, const char *s) LB_WUR;
/* printf-style append (vsnprintf, bounded by max). */
int lb_buf_printf(struct lb_buf *b, const char *fmt, ...) LB_WUR
#if defined(__MINGW32__) && defined(__GNUC__)
    /* __USE_MINGW_ANSI_STDIO: C99 formats (%zu), not msvcrt's. */
    __attribute__((format(gnu_printf, 2, 3)))
#elif defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Make data a NUL-terminated C string (the NUL is not counted in len). */
int lb_buf_cstr(struct lb_buf *b, const char **out) LB_WUR;
/* Append S for display: printable ASCII and valid UTF-8 as is, control
 * characters, DEL and invalid UTF-8 bytes as \xNN, so hostile strings cannot
 * drive a terminal. */
int lb_buf_put_display(struct lb_buf *b, const char *s, size_t n) LB_WUR;

/* Reader over bytes owned by someone else. */
struct lb_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void lb_reader_init(struct lb_reader *r, const void *p, size_t len);
size_t lb_reader_left(const struct lb_reader *r);
/* Each fails with LB_E_SHORT, consuming nothing, if the field is not all there. */
int lb_reader_get_u8(struct lb_reader *r, uint8_t *v) LB_WUR;
int lb_reader_get_u16(struct lb_reader *r, uint16_t *v) LB_WUR;
int lb_reader_get_u32(struct lb_reader *r, uint32_t *v) LB_WUR;
int lb_reader_get_u64(struct lb_reader *r, uint64_t *v) LB_WUR;
int lb_reader_get_bytes(struct lb_reader *r, void *out, size_t n) LB_WUR;
/* Pointer to the next N bytes without copying, consumed. */
int lb_reader_get_view(struct lb_reader *r, const uint8_t **out, size_t n) LB_WUR;
/* LB_E_TRAILING unless everything was consumed. */
int lb_reader_end(const struct lb_reader *r) LB_WUR;

#endif
