/* lb_plat: what linkbrokerd needs from the operating system, implemented
 * once in service/posix/ and once in service/win/; the rest is portable. */
#ifndef LB_PLAT_H
#define LB_PLAT_H

#include <stddef.h>

#include "lb_err.h"
#include "lb_path.h"

/* The path flavour of this platform (policies default to it). */
enum lb_flavor lb_plat_flavor(void);

/* Process set-up: on Windows, replace ARGV with UTF-8 arguments from the
 * wide command line and make the console print UTF-8. *argv_out stays valid
 * for the life of the process. */
int lb_plat_init(int argc, char **argv, int *argc_out, char ***argv_out) LB_WUR;

/* Read the whole file PATH (UTF-8 name) if it holds at most MAX bytes:
 * LB_OK with a malloc'd *data (NUL-terminated, *len excludes the NUL),
 * LB_E_TOOBIG if larger, LB_E_IO otherwise with a reason in ERRBUF. */
int lb_plat_read_file(const char *path, size_t max, char **data, size_t *len,
    char *errbuf, size_t errlen) LB_WUR;

/* Wait MS milliseconds (linkbrokerd audit --follow between two looks). */
void lb_plat_sleep_ms(unsigned ms);

/* The commands only this platform has (run, install, uninstall), as a
 * table; linkbrokerd.c serves them next to the portable ones. */
struct lb_command {
	const char *name;
	int (*fn)(int argc, char **argv);   /* argv[0] is the command name */
	const char *summary;                /* its usage, after "linkbrokerd " */
	const char *help;                   /* what `linkbrokerd NAME --help` adds */
};
const struct lb_command *lb_plat_commands(size_t *n);

#endif
