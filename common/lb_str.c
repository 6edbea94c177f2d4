/* lb_str: small portable string helpers. */
#include <stdlib.h>
#include <string.h>

#include "lb_str.h"

char *
lb_strndup(const char *s, size_t n)
{
	size_t len = 0;
	char *d;

	while (len < n && s[len] != '\0')
		len++;
	if ((d = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *
lb_strdup(const char *s)
{
	return lb_strndup(s, strlen(s));
}

static unsigned char
lb_ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

int
lb_ascii_ncasecmp(const char *a, const char *b, size_t n)
{
	size_t i;
	unsigned char ca, cb;

	for (i = 0; i < n; i++) {
		ca = lb_ascii_lower((unsigned char)a[i]);
		cb = lb_ascii_lower((unsigned char)b[i]);
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca == '\0')
			return 0;
	}
	return 0;
}

uint32_t
lb_str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}
