/* lb_cli: helpers shared by linkbrokerd's commands. */
#include <string.h>

#include "lb_buf.h"
#include "lb_cli.h"

int
lb_cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

void
lb_cli_put_display(FILE *f, const char *s, size_t n)
{
	struct lb_buf b;
	const char *c;

	lb_buf_init(&b, 4 * n + 16);
	if (lb_buf_put_display(&b, s, n) == LB_OK && lb_buf_cstr(&b, &c) == LB_OK)
		fputs(c, f);
	else
		fputs("(unprintable)", f);
	lb_buf_free(&b);
}
