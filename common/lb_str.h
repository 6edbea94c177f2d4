/* lb_str: the few string helpers the portable core needs and that C11 does
 * not have everywhere (MinGW hides strdup under -std=c11, lacks strndup). */
#ifndef LB_STR_H
#define LB_STR_H

#include <stddef.h>

/* malloc'd copies; NULL when out of memory. */
char *lb_strdup(const char *s);
char *lb_strndup(const char *s, size_t n);
/* ASCII-only case-insensitive comparison of at most N bytes: 0 if equal. */
int lb_ascii_ncasecmp(const char *a, const char *b, size_t n);

#endif
