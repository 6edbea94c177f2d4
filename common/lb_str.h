/* lb_str: the few string helpers the portable core needs and that C11 does
 * not have everywhere (MinGW hides strdup under -std=c11, lacks strndup). */
#ifndef LB_STR_H
#define LB_STR_H

#include <stddef.h>
#include <stdint.h>

/* malloc'd copies; NULL when out of memory. */
char *lb_strdup(const char *s);
char *lb_strndup(const char *s, size_t n);
/* ASCII-only case-insensitive comparison of at most N bytes: 0 if equal. */
int lb_ascii_ncasecmp(const char *a, const char *b, size_t n);
/* FNV-1a of the bytes of S, for the core's small hash tables (not keyed:
 * only for tables whose keys the client does not choose freely). */
uint32_t lb_str_hash(const char *s);

#endif
