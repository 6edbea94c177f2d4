/* Fuzz target: a line of a list page as the client reads it
 * (lb_cli_list_line, docs/protocol.md "Lists"). Invariants checked: a line
 * read is never partly read (every string it names decodes, the kind is a
 * real one), and the same bytes read twice give the same result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_buf.h"
#include "lb_client_args.h"
#include "lb_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
decodes(const struct lb_json_str *s, int nullable)
{
	struct lb_buf b;

	if (s->null) {
		if (!nullable)
			abort();
		return;
	}
	lb_buf_init(&b, 4 * 65536);
	if (lb_json_unescape(s->raw, s->raw_len, &b, NULL) != LB_OK)
		abort();
	lb_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_cli_listed a, b;
	int ra = lb_cli_list_line((const char *)data, size, &a);
	int rb = lb_cli_list_line((const char *)data, size, &b);

	if (ra != rb)
		abort();
	if (ra != LB_OK)
		return 0;
	if (a.seq != b.seq || a.kind != b.kind || a.too_long != b.too_long)
		abort();
	if (a.kind < LB_KIND_SYMLINK || a.kind > LB_KIND_MAX)
		abort();
	decodes(&a.time, 0);
	if (!a.too_long) {
		decodes(&a.link, 0);
		decodes(&a.target, 0);
		decodes(&a.file, 1);
	}
	return 0;
}
