/* linkbrokerd: the broker's command line; a table of the commands it
 * serves, each in its own module. */
#include <stdio.h>
#include <string.h>

#include "lb_audit_cmd.h"
#include "lb_err.h"
#include "lb_offline.h"
#include "lb_plat.h"

static const struct lb_command lb_commands[] = {
	{ "check-config", lb_cmd_check_config, "check-config [--flavor windows|posix] FILE" },
	{ "explain", lb_cmd_explain,
	  "explain --config FILE --user NAME [--group NAME]... [--sid SID] [--home DIR]\n"
	  "          [--kind symlink|dirsymlink|hardlink|junction] [--flavor windows|posix] LINK TARGET" },
	{ "audit", lb_cmd_audit,
	  "audit FILE... [--user NAME] [--kind KIND] [--verdict V] [--event E] [--rule NAME]\n"
	  "          [--since TIME] [--until TIME] [--json] [--verify [--config FILE]] [--follow]" },
	{ "verify-audit", lb_cmd_verify_audit, "verify-audit FILE... [--config FILE] [--flavor windows|posix]" },
};

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
			return lb_commands[i].fn(nargs - 1, args + 1);
	plat = lb_plat_commands(&n);
	for (i = 0; i < n; i++)
		if (strcmp(args[1], plat[i].name) == 0)
			return plat[i].fn(nargs - 1, args + 1);
	fprintf(stderr, "linkbrokerd: unknown command '%s'\n", args[1]);
	return lb_usage(stderr);
}
