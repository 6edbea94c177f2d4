/* Unit tests for lb_client_args: the linkbroker command line (every kind
 * flag form and case, one kind at most, operands, "--", commands, options)
 * and the batch-line tokenizer (quotes, escapes, blanks, comments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lb_client_args.h"

#define ARGS_MAX 8

/* One command line and what parsing it must give. */
struct parse_case {
	const char *argv[ARGS_MAX];      /* without argv[0]; NULL-terminated */
	int rc;                          /* LB_OK or LB_E_USAGE */
	enum lb_cli_cmd cmd;
	enum lb_kind kind;
	const char *link, *target;
	const char *why;                 /* usage errors: a substring of *why */
	const char *bad;                 /* usage errors: the argument blamed, or NULL */
};

#define OK_CREATE(k, l, t) LB_OK, LB_CLI_CREATE, k, l, t, NULL, NULL
#define OK_CHECK(k, l, t) LB_OK, LB_CLI_CHECK, k, l, t, NULL, NULL
#define OK_CMD(c) LB_OK, c, LB_KIND_NONE, NULL, NULL, NULL, NULL
#define USAGE(why, bad) LB_E_USAGE, LB_CLI_CREATE, LB_KIND_NONE, NULL, NULL, why, bad

static const struct parse_case parse_cases[] = {
	/* Default: a file symbolic link. */
	{ { "a", "b" }, OK_CREATE(LB_KIND_SYMLINK, "a", "b") },
	/* Every form of every kind flag; /X in either case. */
	{ { "/D", "a", "b" }, OK_CREATE(LB_KIND_DIRSYMLINK, "a", "b") },
	{ { "/d", "a", "b" }, OK_CREATE(LB_KIND_DIRSYMLINK, "a", "b") },
	{ { "-d", "a", "b" }, OK_CREATE(LB_KIND_DIRSYMLINK, "a", "b") },
	{ { "--dir", "a", "b" }, OK_CREATE(LB_KIND_DIRSYMLINK, "a", "b") },
	{ { "/H", "a", "b" }, OK_CREATE(LB_KIND_HARDLINK, "a", "b") },
	{ { "/h", "a", "b" }, OK_CREATE(LB_KIND_HARDLINK, "a", "b") },
	{ { "-H", "a", "b" }, OK_CREATE(LB_KIND_HARDLINK, "a", "b") },
	{ { "--hard", "a", "b" }, OK_CREATE(LB_KIND_HARDLINK, "a", "b") },
	{ { "/J", "a", "b" }, OK_CREATE(LB_KIND_JUNCTION, "a", "b") },
	{ { "/j", "a", "b" }, OK_CREATE(LB_KIND_JUNCTION, "a", "b") },
	{ { "-j", "a", "b" }, OK_CREATE(LB_KIND_JUNCTION, "a", "b") },
	{ { "--junction", "a", "b" }, OK_CREATE(LB_KIND_JUNCTION, "a", "b") },
	/* Flags may follow the operands, as mklink allows. */
	{ { "a", "b", "/J" }, OK_CREATE(LB_KIND_JUNCTION, "a", "b") },
	{ { "a", "/h", "b" }, OK_CREATE(LB_KIND_HARDLINK, "a", "b") },
	/* The dash forms are case-sensitive: -D, -J, -h are not kind flags
	 * (-h in particular must not quietly mean "hard link" or "help"). */
	{ { "-D", "a", "b" }, USAGE("unknown option", "-D") },
	{ { "-J", "a", "b" }, USAGE("unknown option", "-J") },
	{ { "-h", "a", "b" }, USAGE("unknown option", "-h") },
	{ { "--DIR", "a", "b" }, USAGE("unknown option", "--DIR") },
	/* Only one kind flag, even the same one twice. */
	{ { "/D", "/H", "a", "b" }, USAGE("only one of /D, /H, /J", "/H") },
	{ { "/D", "/d", "a", "b" }, USAGE("only one of /D, /H, /J", "/d") },
	{ { "-d", "a", "b", "--junction" }, USAGE("only one of /D, /H, /J", "--junction") },
	/* Operands. */
	{ { NULL }, USAGE("missing Link and Target", NULL) },
	{ { "/D" }, USAGE("missing Link and Target", NULL) },
	{ { "a" }, USAGE("missing Target", NULL) },
	{ { "/J", "a" }, USAGE("missing Target", NULL) },
	{ { "a", "b", "c" }, USAGE("too many arguments", "c") },
	{ { "/X", "b" }, OK_CREATE(LB_KIND_SYMLINK, "/X", "b") },     /* not a flag: a path */
	{ { "/dd", "b" }, OK_CREATE(LB_KIND_SYMLINK, "/dd", "b") },
	{ { "-", "b" }, OK_CREATE(LB_KIND_SYMLINK, "-", "b") },
	{ { "", "b" }, OK_CREATE(LB_KIND_SYMLINK, "", "b") },          /* the path grammar judges it */
	/* "--" ends options: flags, commands and dashes after it are paths. */
	{ { "--", "-x", "/D" }, OK_CREATE(LB_KIND_SYMLINK, "-x", "/D") },
	{ { "/H", "--", "/d", "b" }, OK_CREATE(LB_KIND_HARDLINK, "/d", "b") },
	{ { "--", "check", "a" }, OK_CREATE(LB_KIND_SYMLINK, "check", "a") },
	{ { "--", "--help", "x" }, OK_CREATE(LB_KIND_SYMLINK, "--help", "x") },
	{ { "--", "--", "x" }, OK_CREATE(LB_KIND_SYMLINK, "--", "x") },
	{ { "--", "a", "b", "c" }, USAGE("too many arguments", "c") },
	{ { "a", "--" }, USAGE("missing Target", NULL) },
	/* Commands: only as the first operand. */
	{ { "check", "a", "b" }, OK_CHECK(LB_KIND_SYMLINK, "a", "b") },
	{ { "check", "/J", "a", "b" }, OK_CHECK(LB_KIND_JUNCTION, "a", "b") },
	{ { "/d", "check", "a", "b" }, OK_CHECK(LB_KIND_DIRSYMLINK, "a", "b") },
	{ { "check", "check", "a" }, OK_CHECK(LB_KIND_SYMLINK, "check", "a") },
	{ { "a", "check" }, OK_CREATE(LB_KIND_SYMLINK, "a", "check") },
	{ { "check", "a" }, USAGE("missing Target", NULL) },
	{ { "CHECK", "a" }, OK_CREATE(LB_KIND_SYMLINK, "CHECK", "a") },
	{ { "keygen" }, OK_CMD(LB_CLI_KEYGEN) },
	{ { "keygen", "x" }, USAGE("too many arguments", "x") },
	{ { "keygen", "/D" }, USAGE("a kind flag goes with Link Target", "/D") },
	{ { "status" }, OK_CMD(LB_CLI_STATUS) },
	{ { "status", "x" }, USAGE("too many arguments", "x") },
	{ { "status", "-j" }, USAGE("a kind flag goes with Link Target", "-j") },
	{ { "batch" }, OK_CMD(LB_CLI_BATCH) },
	{ { "batch", "-" }, OK_CMD(LB_CLI_BATCH) },
	{ { "batch", "list.txt" }, OK_CMD(LB_CLI_BATCH) },
	{ { "batch", "a", "b" }, USAGE("batch takes one FILE", "b") },
	{ { "batch", "/H", "list.txt" }, USAGE("a kind flag goes with Link Target", "/H") },
	/* --force is keygen's alone. */
	{ { "keygen", "--force" }, OK_CMD(LB_CLI_KEYGEN) },
	{ { "--force", "keygen" }, OK_CMD(LB_CLI_KEYGEN) },
	{ { "--force", "a", "b" }, USAGE("--force is only for keygen", NULL) },
	{ { "status", "--force" }, USAGE("--force is only for keygen", NULL) },
	/* Options with values, both spellings; an empty value is no value. */
	{ { "--endpoint", "/s", "a", "b" }, OK_CREATE(LB_KIND_SYMLINK, "a", "b") },
	{ { "a", "b", "--endpoint=/s" }, OK_CREATE(LB_KIND_SYMLINK, "a", "b") },
	{ { "a", "b", "--endpoint" }, USAGE("--endpoint needs a PATH", NULL) },
	{ { "--endpoint=", "a", "b" }, USAGE("--endpoint needs a PATH", NULL) },
	{ { "--endpointx", "a", "b" }, USAGE("unknown option", "--endpointx") },
	{ { "--service-key", "k", "status" }, OK_CMD(LB_CLI_STATUS) },
	{ { "status", "--service-key" }, USAGE("--service-key needs a FILE", NULL) },
	{ { "--json", "a", "b" }, OK_CREATE(LB_KIND_SYMLINK, "a", "b") },
	{ { "--frobnicate" }, USAGE("unknown option", "--frobnicate") },
	/* Help wins anywhere before "--", even over errors. */
	{ { "--help" }, OK_CMD(LB_CLI_HELP) },
	{ { "/?" }, OK_CMD(LB_CLI_HELP) },
	{ { "/D", "/H", "--help" }, OK_CMD(LB_CLI_HELP) },
	{ { "keygen", "--help" }, OK_CMD(LB_CLI_HELP) },
};

static int
argv_count(const char *const *v)
{
	int n = 0;

	while (n < ARGS_MAX && v[n] != NULL)
		n++;
	return n;
}

/* A readable name for a failing row: its arguments joined. */
static void
describe(const struct parse_case *c, char *out, size_t len)
{
	size_t used = 0;
	int i, n = argv_count(c->argv);

	out[0] = '\0';
	for (i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s'%s'", i ? " " : "", c->argv[i]);
}

static void
test_command_line_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		char *argv[ARGS_MAX + 1], name[256];
		struct lb_cli_args a;
		const char *why, *bad;
		int j, n = argv_count(c->argv), rc;

		argv[0] = (char *)"linkbroker";
		for (j = 0; j < n; j++)
			argv[j + 1] = (char *)c->argv[j];
		argv[n + 1] = NULL;
		describe(c, name, sizeof(name));
		print_message("linkbroker %s\n", name);

		rc = lb_cli_parse(n + 1, argv, &a, &why, &bad);
		assert_int_equal(rc, c->rc);
		if (rc != LB_OK) {
			assert_non_null(why);
			assert_non_null(strstr(why, c->why));
			if (c->bad == NULL)
				assert_null(bad);
			else
				assert_string_equal(bad, c->bad);
			continue;
		}
		assert_int_equal(a.cmd, c->cmd);
		if (c->cmd != LB_CLI_CREATE && c->cmd != LB_CLI_CHECK)
			continue;
		assert_int_equal(a.kind, c->kind);
		assert_string_equal(a.link, c->link);
		assert_string_equal(a.target, c->target);
	}
}

static void
test_options_are_recorded(void **state)
{
	char *argv[] = { "linkbroker", "--json", "--endpoint=/run/x.sock", "--service-key",
	    "/etc/k.pub", "check", "-H", "l", "t", NULL };
	char *kg[] = { "linkbroker", "keygen", "--force", NULL };
	char *bt[] = { "linkbroker", "batch", "-", NULL };
	char *bt0[] = { "linkbroker", "batch", NULL };
	struct lb_cli_args a;
	const char *why, *bad;

	(void)state;
	assert_int_equal(lb_cli_parse(9, argv, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_CHECK);
	assert_int_equal(a.json, 1);
	assert_int_equal(a.force, 0);
	assert_string_equal(a.endpoint, "/run/x.sock");
	assert_string_equal(a.service_key, "/etc/k.pub");
	assert_int_equal(a.kind, LB_KIND_HARDLINK);

	assert_int_equal(lb_cli_parse(3, kg, &a, &why, &bad), LB_OK);
	assert_int_equal(a.force, 1);
	assert_int_equal(a.json, 0);
	assert_null(a.endpoint);
	assert_null(a.service_key);

	assert_int_equal(lb_cli_parse(3, bt, &a, &why, &bad), LB_OK);
	assert_string_equal(a.batch_file, "-");
	assert_int_equal(lb_cli_parse(2, bt0, &a, &why, &bad), LB_OK);
	assert_null(a.batch_file);
}

/* list takes one PATH at most; rm any number of links (options anywhere
 * before "--", and "--" lets a link start with a dash); neither takes a
 * kind flag. */
static void
test_list_and_rm(void **state)
{
	char *l0[] = { "linkbroker", "list", NULL };
	char *l1[] = { "linkbroker", "--json", "list", "src", NULL };
	char *l2[] = { "linkbroker", "list", "a", "b", NULL };
	char *r3[] = { "linkbroker", "rm", "a", "--json", "b", "--", "-c", NULL };
	char *r0[] = { "linkbroker", "rm", NULL };
	char *rk[] = { "linkbroker", "rm", "/D", "a", NULL };
	struct lb_cli_args a;
	const char *why, *bad;

	(void)state;
	assert_int_equal(lb_cli_parse(2, l0, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_LIST);
	assert_null(a.list_path);
	assert_int_equal(lb_cli_parse(4, l1, &a, &why, &bad), LB_OK);
	assert_string_equal(a.list_path, "src");
	assert_int_equal(a.json, 1);
	assert_int_equal(lb_cli_parse(4, l2, &a, &why, &bad), LB_E_USAGE);
	assert_string_equal(bad, "b");

	assert_int_equal(lb_cli_parse(7, r3, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_RM);
	assert_int_equal(a.json, 1);
	assert_int_equal(a.n_rm, 3);
	assert_string_equal(a.rm_links[0], "a");
	assert_string_equal(a.rm_links[1], "b");
	assert_string_equal(a.rm_links[2], "-c");
	lb_cli_args_free(&a);
	assert_null(a.rm_links);
	assert_int_equal(lb_cli_parse(2, r0, &a, &why, &bad), LB_E_USAGE);
	assert_non_null(strstr(why, "rm needs a LINK"));
	lb_cli_args_free(&a);
	assert_int_equal(lb_cli_parse(4, rk, &a, &why, &bad), LB_E_USAGE);
	assert_string_equal(bad, "/D");
	lb_cli_args_free(&a);
}

/* A list page's lines as the broker writes them, and what is not one. */
static void
test_list_page_lines(void **state)
{
	static const char *const bad[] = {
		"",
		"{\"seq\":01,\"time\":\"t\",\"kind\":\"symlink\",\"link\":\"/l\",\"target\":\"/t\",\"file\":null}",
		"{\"seq\":3,\"time\":\"t\",\"kind\":\"none\",\"link\":\"/l\",\"target\":\"/t\",\"file\":null}",
		"{\"seq\":3,\"time\":\"t\",\"kind\":\"symlink\",\"link\":\"/l\",\"target\":\"/t\",\"file\":null} ",
		"{\"seq\":3,\"time\":\"t\",\"kind\":\"symlink\",\"link\":\"/l\",\"target\":\"/t\"}",
		"{\"seq\":3,\"time\":\"t\",\"kind\":\"symlink\",\"link\":null,\"target\":\"/t\",\"file\":null}",
		"{\"seq\":3,\"time\":\"t\",\"kind\":\"symlink\",\"too_long\":false}",
		"{\"seq\":18446744073709551616,\"time\":\"t\",\"kind\":\"symlink\",\"too_long\":true}",
	};
	const char *ok = "{\"seq\":18446744073709551615,\"time\":\"2026-12-04T21:10:15Z\","
	    "\"kind\":\"hardlink\",\"link\":\"/a\\\"b\",\"target\":\"t\",\"file\":\"2049:7\"}";
	const char *tl = "{\"seq\":9,\"time\":\"x\",\"kind\":\"junction\",\"too_long\":true}";
	struct lb_cli_listed e;
	size_t i;

	(void)state;
	assert_int_equal(lb_cli_list_line(ok, strlen(ok), &e), LB_OK);
	assert_true(e.seq == UINT64_MAX);
	assert_int_equal(e.kind, LB_KIND_HARDLINK);
	assert_int_equal(e.too_long, 0);
	assert_int_equal(e.link.raw_len, 5);
	assert_memory_equal(e.link.raw, "/a\\\"b", 5);
	assert_int_equal(e.file.null, 0);
	assert_int_equal(lb_cli_list_line(tl, strlen(tl), &e), LB_OK);
	assert_int_equal(e.too_long, 1);
	assert_int_equal(e.kind, LB_KIND_JUNCTION);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(lb_cli_list_line(bad[i], strlen(bad[i]), &e), LB_E_BAD_FIELD);
	}
}

/* One batch line and the fields it must split into. */
struct token_case {
	const char *line;
	int rc;
	size_t n;
	const char *fields[LB_CLI_LINE_FIELDS_MAX];
	const char *why;
};

static const struct token_case token_cases[] = {
	{ "", LB_OK, 0, { NULL }, NULL },
	{ "  \t \r", LB_OK, 0, { NULL }, NULL },
	{ "# a comment", LB_OK, 0, { NULL }, NULL },
	{ "   \t# an indented comment \"unterminated", LB_OK, 0, { NULL }, NULL },
	{ "#/D a b", LB_OK, 0, { NULL }, NULL },
	{ "a b", LB_OK, 2, { "a", "b" }, NULL },
	{ "  a\t\tb  ", LB_OK, 2, { "a", "b" }, NULL },
	{ "/D a b\r", LB_OK, 3, { "/D", "a", "b" }, NULL },
	/* # after the first field is an ordinary character. */
	{ "a#b #c", LB_OK, 2, { "a#b", "#c" }, NULL },
	/* Backslashes outside quotes are themselves: Windows paths as typed. */
	{ "C:\\dir\\x D:\\t\\", LB_OK, 2, { "C:\\dir\\x", "D:\\t\\" }, NULL },
	{ "\\\\server\\share\\f x", LB_OK, 2, { "\\\\server\\share\\f", "x" }, NULL },
	/* Quotes keep blanks; \" and \\ are the only escapes inside them. */
	{ "\"My Documents\\x\" \"y z\"", LB_OK, 2, { "My Documents\\x", "y z" }, NULL },
	{ "\"say \\\"hi\\\"\" t", LB_OK, 2, { "say \"hi\"", "t" }, NULL },
	{ "\"C:\\\\dir\\\\\" t", LB_OK, 2, { "C:\\dir\\", "t" }, NULL },
	{ "\"a\\nb\"", LB_OK, 1, { "a\\nb" }, NULL },
	{ "\"\" x", LB_OK, 2, { "", "x" }, NULL },
	{ "a\"b c\"d e", LB_OK, 2, { "ab cd", "e" }, NULL },
	{ "\"a\"\"b\"", LB_OK, 1, { "ab" }, NULL },
	{ "\"tab\there\"", LB_OK, 1, { "tab\there" }, NULL },
	{ "\"# not a comment\" t", LB_OK, 2, { "# not a comment", "t" }, NULL },
	{ "\"unterminated", LB_E_USAGE, 0, { NULL }, "unterminated quote" },
	{ "a \"b\\\"", LB_E_USAGE, 0, { NULL }, "unterminated quote" },
	{ "1 2 3 4 5 6 7 8", LB_OK, 8, { "1", "2", "3", "4", "5", "6", "7", "8" }, NULL },
	{ "1 2 3 4 5 6 7 8 9", LB_E_USAGE, 0, { NULL }, "too many fields" },
};

/* Everything after "run" is the command's, --help and "--" included. */
static void
test_run_takes_the_rest_as_the_command(void **state)
{
	char *plain[] = { "linkbroker", "--endpoint", "/s", "run", "git", "clone", "--help", NULL };
	char *dashes[] = { "linkbroker", "run", "--", "ln", "-s", "--", "a", "b", NULL };
	char *none[] = { "linkbroker", "run", NULL };
	char *dash_only[] = { "linkbroker", "run", "--", NULL };
	char *link_named_run[] = { "linkbroker", "--", "run", "t", NULL };
	char *value_named_run[] = { "linkbroker", "--endpoint", "run", "a", "b", NULL };
	char *help_before[] = { "linkbroker", "--help", "run", "ls", NULL };
	struct lb_cli_args a;
	const char *why, *bad;

	(void)state;
	assert_int_equal(lb_cli_parse(7, plain, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_RUN);
	assert_string_equal(a.endpoint, "/s");
	assert_int_equal(a.run_argc, 3);
	assert_string_equal(a.run_argv[0], "git");
	assert_string_equal(a.run_argv[2], "--help");
	assert_int_equal(lb_cli_parse(8, dashes, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_RUN);
	assert_int_equal(a.run_argc, 5);
	assert_string_equal(a.run_argv[0], "ln");
	assert_string_equal(a.run_argv[2], "--");
	assert_int_equal(lb_cli_parse(2, none, &a, &why, &bad), LB_E_USAGE);
	assert_string_equal(why, "run needs a COMMAND");
	assert_int_equal(lb_cli_parse(3, dash_only, &a, &why, &bad), LB_E_USAGE);
	/* Not the command word: a link called "run", an endpoint called "run". */
	assert_int_equal(lb_cli_parse(4, link_named_run, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_CREATE);
	assert_string_equal(a.link, "run");
	assert_int_equal(lb_cli_parse(5, value_named_run, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_CREATE);
	assert_string_equal(a.endpoint, "run");
	assert_int_equal(lb_cli_parse(4, help_before, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_HELP);
}

/* COMMAND --help is about that command; "run --help" is run's help, but
 * "run -- --help" and "run git --help" run a program. */
static void
test_help_names_its_command(void **state)
{
	char *check[] = { "linkbroker", "check", "/D", "--help", NULL };
	char *batch[] = { "linkbroker", "--endpoint", "keygen", "batch", "--help", NULL };
	char *bare[] = { "linkbroker", "/D", "--help", NULL };
	char *after[] = { "linkbroker", "--help", "status", NULL };
	char *run[] = { "linkbroker", "run", "--help", NULL };
	char *run_dashes[] = { "linkbroker", "run", "--", "--help", NULL };
	char *run_git[] = { "linkbroker", "run", "git", "--help", NULL };
	char *run_h[] = { "linkbroker", "-h", "a", "b", NULL };
	struct lb_cli_args a;
	const char *why, *bad;

	(void)state;
	assert_int_equal(lb_cli_parse(4, check, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_HELP);
	assert_int_equal(a.help_for, LB_CLI_CHECK);
	/* "keygen" is --endpoint's value, not the command */
	assert_int_equal(lb_cli_parse(5, batch, &a, &why, &bad), LB_OK);
	assert_int_equal(a.help_for, LB_CLI_BATCH);
	assert_int_equal(lb_cli_parse(3, bare, &a, &why, &bad), LB_OK);
	assert_int_equal(a.help_for, LB_CLI_CREATE);
	/* only what comes before --help names it */
	assert_int_equal(lb_cli_parse(3, after, &a, &why, &bad), LB_OK);
	assert_int_equal(a.help_for, LB_CLI_CREATE);
	assert_int_equal(lb_cli_parse(3, run, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_HELP);
	assert_int_equal(a.help_for, LB_CLI_RUN);
	assert_int_equal(lb_cli_parse(4, run_dashes, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_RUN);
	assert_string_equal(a.run_argv[0], "--help");
	assert_int_equal(lb_cli_parse(4, run_git, &a, &why, &bad), LB_OK);
	assert_int_equal(a.cmd, LB_CLI_RUN);
	assert_string_equal(a.run_argv[1], "--help");
	/* -h is not help (nor -H) */
	assert_int_equal(lb_cli_parse(4, run_h, &a, &why, &bad), LB_E_USAGE);
}

static void
test_batch_tokenizer_table(void **state)
{
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(token_cases) / sizeof(token_cases[0]); i++) {
		const struct token_case *c = &token_cases[i];
		char line[256], *fields[LB_CLI_LINE_FIELDS_MAX];
		const char *why;
		int rc;

		print_message("line [%s]\n", c->line);
		snprintf(line, sizeof(line), "%s", c->line);
		rc = lb_cli_tokenize(line, fields, LB_CLI_LINE_FIELDS_MAX, &n, &why);
		assert_int_equal(rc, c->rc);
		if (rc != LB_OK) {
			assert_string_equal(why, c->why);
			continue;
		}
		assert_int_equal(n, c->n);
		for (j = 0; j < n; j++)
			assert_string_equal(fields[j], c->fields[j]);
	}
}

/* One batch line and the request it must give. */
struct line_case {
	const char *line;
	int rc;
	enum lb_kind kind;
	const char *link, *target;      /* link NULL: nothing to do */
	const char *why;
};

static const struct line_case line_cases[] = {
	{ "a b", LB_OK, LB_KIND_SYMLINK, "a", "b", NULL },
	{ "/D a b", LB_OK, LB_KIND_DIRSYMLINK, "a", "b", NULL },
	{ "/h a b", LB_OK, LB_KIND_HARDLINK, "a", "b", NULL },
	{ "-j a b", LB_OK, LB_KIND_JUNCTION, "a", "b", NULL },
	{ "a b --junction", LB_OK, LB_KIND_JUNCTION, "a", "b", NULL },
	{ "\"my link\" \"C:\\Program Files\\x\"", LB_OK, LB_KIND_SYMLINK, "my link",
	  "C:\\Program Files\\x", NULL },
	{ "-- -x /D", LB_OK, LB_KIND_SYMLINK, "-x", "/D", NULL },
	{ "", LB_OK, LB_KIND_SYMLINK, NULL, NULL, NULL },
	{ "   ", LB_OK, LB_KIND_SYMLINK, NULL, NULL, NULL },
	{ "# /D a b", LB_OK, LB_KIND_SYMLINK, NULL, NULL, NULL },
	{ "/D /J a b", LB_E_USAGE, 0, NULL, NULL, "only one of /D, /H, /J" },
	{ "/D", LB_E_USAGE, 0, NULL, NULL, "missing Link and Target" },
	{ "a", LB_E_USAGE, 0, NULL, NULL, "missing Target" },
	{ "a b c", LB_E_USAGE, 0, NULL, NULL, "too many fields" },
	{ "my link target", LB_E_USAGE, 0, NULL, NULL, "quote paths with spaces" },
	{ "-x y", LB_E_USAGE, 0, NULL, NULL, "unknown option" },
	{ "--json a b", LB_E_USAGE, 0, NULL, NULL, "unknown option" },
	{ "\"a b", LB_E_USAGE, 0, NULL, NULL, "unterminated quote" },
};

static void
test_batch_line_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];
		struct lb_cli_line out;
		char line[256];
		const char *why = NULL;
		int rc;

		print_message("line [%s]\n", c->line);
		snprintf(line, sizeof(line), "%s", c->line);
		rc = lb_cli_parse_line(line, &out, &why);
		assert_int_equal(rc, c->rc);
		if (rc != LB_OK) {
			assert_non_null(strstr(why, c->why));
			continue;
		}
		if (c->link == NULL) {
			assert_null(out.link);
			continue;
		}
		assert_int_equal(out.kind, c->kind);
		assert_string_equal(out.link, c->link);
		assert_string_equal(out.target, c->target);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_line_table),
		cmocka_unit_test(test_options_are_recorded),
		cmocka_unit_test(test_list_and_rm),
		cmocka_unit_test(test_list_page_lines),
		cmocka_unit_test(test_run_takes_the_rest_as_the_command),
		cmocka_unit_test(test_help_names_its_command),
		cmocka_unit_test(test_batch_tokenizer_table),
		cmocka_unit_test(test_batch_line_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
