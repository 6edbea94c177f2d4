/* lb_cli: the small helpers linkbrokerd's commands share: long options and
 * printing strings that may hold anything for a human. */
#ifndef LB_CLI_H
#define LB_CLI_H

#include <stddef.h>
#include <stdio.h>

/* "--name VALUE" or "--name=VALUE": 1 and *val set if ARGV[*i] is option
 * NAME (advancing *i past a separate value), 0 if it is not, -1 if the
 * value is missing. */
int lb_cli_opt(int argc, char **argv, int *i, const char *name, const char **val);

/* Print N bytes of S to F: control characters and invalid UTF-8 escaped,
 * so file names and messages cannot drive the terminal. */
void lb_cli_put_display(FILE *f, const char *s, size_t n);

#endif
