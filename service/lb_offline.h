/* lb_offline: linkbrokerd commands that work without a running broker.
 * Each takes the arguments after the command name (argv[0] = command) and
 * returns the process exit code. */
#ifndef LB_OFFLINE_H
#define LB_OFFLINE_H

int lb_cmd_check_config(int argc, char **argv);
int lb_cmd_explain(int argc, char **argv);

#endif
