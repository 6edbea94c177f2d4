/* lb_run: `linkbroker run [--] COMMAND [ARGS...]`: start COMMAND so that
 * its link calls fall back to the broker (POSIX: an LD_PRELOAD shim;
 * Windows: a shim DLL injected into the process tree). */
#ifndef LB_RUN_H
#define LB_RUN_H

/* Exit codes of run's own failures, as env(1) has them; otherwise run
 * exits with COMMAND's status. */
#define LB_RUN_EXIT_FAILED 125     /* the shim cannot be found or set up */
#define LB_RUN_EXIT_NOEXEC 126     /* COMMAND found but cannot be run */
#define LB_RUN_EXIT_NOTFOUND 127   /* COMMAND not found */

/* Run ARGV[0..ARGC) (ARGC > 0) with the shim; ENDPOINT and SERVICE_KEY
 * (NULL: inherited from the environment) are passed on to it. Returns an
 * exit code (POSIX: only if the command could not be started). */
int lb_run(int argc, char **argv, const char *endpoint, const char *service_key);

#endif
