/* Fuzz target: path canonicalisation in both flavours, plus the operations
 * on what it returns. Invariants checked: canonical output canonicalises to
 * itself, and resolving or asking "under" never crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_flavor(enum lb_flavor f, const uint8_t *data, size_t size)
{
	struct lb_path p, again, parent, res;
	size_t split = size / 2;

	if (lb_path_canon(f, (const char *)data, size, &p) != LB_OK)
		return;
	if (lb_path_canon(f, p.s, p.len, &again) != LB_OK || strcmp(again.s, p.s) != 0)
		abort();   /* canonical form must be a fixed point */
	if (lb_path_require_absolute(&p) == LB_OK && !lb_path_is_under(&p, &again))
		abort();   /* an absolute path is under itself */
	lb_path_free(&again);
	if (lb_path_require_absolute(&p) == LB_OK && lb_path_parent(&p, &parent) == LB_OK) {
		struct lb_path rel;

		if (!lb_path_is_under(&p, &parent))
			abort();
		if (lb_path_canon(f, (const char *)data + split, size - split, &rel) == LB_OK) {
			if (lb_path_resolve(&parent, &rel, &res) == LB_OK) {
				if (lb_path_require_absolute(&res) != LB_OK)
					abort();
				lb_path_free(&res);
			}
			lb_path_free(&rel);
		}
		lb_path_free(&parent);
	}
	lb_path_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_flavor(LB_FLAVOR_POSIX, data, size);
	check_flavor(LB_FLAVOR_WINDOWS, data, size);
	return 0;
}
