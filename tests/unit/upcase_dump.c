/* Prints every code point (U+0000..U+10FFFF) that lb_path_upcase maps to
 * another, "XXXX YYYY" in hex, one a line: check_upcase.py compares the
 * list with Python's Unicode data. */
#include <stdint.h>
#include <stdio.h>

#include "lb_path.h"

int
main(void)
{
	uint32_t c, u;

	for (c = 0; c <= 0x10FFFF; c++) {
		u = lb_path_upcase(c);
		if (u != c && printf("%04X %04X\n", (unsigned)c, (unsigned)u) < 0)
			return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
