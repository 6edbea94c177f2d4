/* linkbrokerd: the broker's command line; a table of the commands it
 * serves, each in its own module. */
#include <stdio.h>
#include <string.h>

#include "lb_audit_cmd.h"
#include "lb_err.h"
#include "lb_offline.h"
#include "lb_plat.h"

static const struct lb_command lb_commands[] = {
	{ "check-config", lb_cmd_check_config, "check-config [--flavor windows|posix] FILE",
	  "Check the policy FILE as the broker would load it: every error with its line\n"
	  "(exit 2), or \"FILE: OK\" and what it holds (exit 0). --flavor: the paths'\n"
	  "kind (default: this system's).\n" },
	{ "explain", lb_cmd_explain,
	  "explain --config FILE --user NAME [--group NAME]... [--sid SID] [--home DIR]\n"
	  "          [--kind symlink|dirsymlink|hardlink|junction] [--flavor windows|posix] LINK TARGET",
	  "Which rule of the policy FILE decides a request of user NAME (with these\n"
	  "groups, SID and home) for LINK -> TARGET, and why, without a broker or the\n"
	  "file system: exit 0 allowed, 1 denied, 2 usage or a bad policy.\n" },
	{ "audit", lb_cmd_audit,
	  "audit FILE... [--user NAME] [--kind KIND] [--verdict V] [--event E] [--rule NAME]\n"
	  "          [--since TIME] [--until TIME] [--json] [--verify [--config FILE] [--flavor F]] [--follow]",
	  "The records of an audit log (or a rotated set, in any order) that match every\n"
	  "filter: a table, or with --json the log's own lines. TIME: YYYY-MM-DD or\n"
	  "YYYY-MM-DDTHH:MM:SSZ (UTC), both ends inclusive. --verify: check the set as\n"
	  "verify-audit does first (--config: signatures too) and list nothing from a\n"
	  "broken log. --follow (-f): then the records the newest file gains, across\n"
	  "rotations, until interrupted (with --verify, each line checked as it comes).\n"
	  "Exit 0 (also when nothing matches), 1/3/4 as verify-audit, 2 usage.\n" },
	{ "verify-audit", lb_cmd_verify_audit, "verify-audit FILE... [--config FILE] [--flavor windows|posix]",
	  "Check an audit log's hash chain, sequence numbers and stored requests (with\n"
	  "--config, their signatures against the enrolled keys); several files: a\n"
	  "rotated set, joined in the order of their chain. Exit 0 intact, 1 broken,\n"
	  "2 cannot tell, 3 a file of the set missing, 4 names contradicting the chain.\n" },
};

/* Whether ARGV (a command's arguments) asks for help before any "--". */
static int
lb_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* `linkbrokerd CMD --help`: its usage and what it does, on stdout. */
static int
lb_command_help(const struct lb_command *c)
{
	printf("usage: linkbrokerd %s\n\n%s", c->summary, c->help != NULL ? c->help : "");
	return LB_EXIT_OK;
}

/* Run C, or its help. */
static int
lb_command_run(const struct lb_command *c, int argc, char **argv)
{
	return lb_wants_help(argc, argv) ? lb_command_help(c) : c->fn(argc, argv);
}

static int
lb_usage(FILE *f)
{
	const struct lb_command *plat;
	size_t i, n;

	fprintf(f, "usage:\n");
	plat = lb_plat_commands(&n);
	for (i = 0; i < n; i++)
		fprintf(f, "  linkbrokerd %s\n", plat[i].summary);
	for (i = 0; i < sizeof(lb_commands) / sizeof(lb_commands[0]); i++)
		fprintf(f, "  linkbrokerd %s\n", lb_commands[i].summary);
	fprintf(f, "(linkbrokerd COMMAND --help: more on one)\n");
	return LB_EXIT_BAD_INPUT;
}

int
main(int argc, char **argv)
{
	const struct lb_command *plat;
	char **args;
	int nargs;
	size_t i, n;

	if (lb_plat_init(argc, argv, &nargs, &args) != LB_OK) {
		fprintf(stderr, "linkbrokerd: cannot read the command line\n");
		return LB_EXIT_BAD_INPUT;
	}
	if (nargs < 2)
		return lb_usage(stderr);
	if (strcmp(args[1], "--help") == 0 || strcmp(args[1], "-h") == 0) {
		lb_usage(stdout);
		return LB_EXIT_OK;
	}
	for (i = 0; i < sizeof(lb_commands) / sizeof(lb_commands[0]); i++)
		if (strcmp(args[1], lb_commands[i].name) == 0)
			return lb_command_run(&lb_commands[i], nargs - 1, args + 1);
	plat = lb_plat_commands(&n);
	for (i = 0; i < n; i++)
		if (strcmp(args[1], plat[i].name) == 0)
			return lb_command_run(&plat[i], nargs - 1, args + 1);
	fprintf(stderr, "linkbrokerd: unknown command '%s'\n", args[1]);
	return lb_usage(stderr);
}
