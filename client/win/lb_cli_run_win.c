/* lb_cli_run_win: linkbroker run on Windows. The shim DLL and its
 * launcher are not wired in yet: say so rather than run the command
 * without them. */
#include <stdio.h>

#include "lb_run.h"

int
lb_run(int argc, char **argv, const char *endpoint, const char *service_key)
{
	(void)argc;
	(void)argv;
	(void)endpoint;
	(void)service_key;
	fputs("linkbroker: run: not available on Windows in this build (the shim DLL is not built)\n",
	    stderr);
	return LB_RUN_EXIT_FAILED;
}
