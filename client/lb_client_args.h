/* lb_client_args: the linkbroker command line and the batch-line grammar,
 * pure functions with no I/O, so every form is table-tested. */
#ifndef LB_CLIENT_ARGS_H
#define LB_CLIENT_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "lb_err.h"
#include "lb_json.h"
#include "lb_wire.h"

enum lb_cli_cmd {
	LB_CLI_CREATE = 0,    /* linkbroker [kind] Link Target */
	LB_CLI_CHECK,         /* linkbroker check [kind] Link Target */
	LB_CLI_KEYGEN,
	LB_CLI_STATUS,
	LB_CLI_BATCH,
	LB_CLI_HELP,          /* --help or /? anywhere before "--" (or "run"), or
	                       * right after "run" */
	LB_CLI_RUN,           /* linkbroker run [--] COMMAND [ARGS...] */
	LB_CLI_LIST,          /* linkbroker list [PATH] */
	LB_CLI_RM,            /* linkbroker rm LINK... */
};

struct lb_cli_args {
	enum lb_cli_cmd cmd;
	enum lb_kind kind;          /* CREATE, CHECK: SYMLINK unless a flag says otherwise */
	const char *link;           /* CREATE, CHECK: as typed */
	const char *target;
	const char *batch_file;     /* BATCH: NULL or "-" is standard input */
	const char *endpoint;       /* --endpoint, or NULL */
	const char *service_key;    /* --service-key, or NULL */
	int json;
	int force;                  /* KEYGEN only */
	int run_argc;               /* RUN: the command and its arguments, as given */
	char **run_argv;
	enum lb_cli_cmd help_for;   /* HELP: the command it is about (CREATE: none named) */
	const char *list_path;      /* LIST: the PATH links must be under, or NULL */
	const char **rm_links;      /* RM: the links (malloc'd; lb_cli_args_free) */
	size_t n_rm;
};

/* Frees what lb_cli_parse allocated (rm's list). Safe after a failure. */
void lb_cli_args_free(struct lb_cli_args *a);

/* Parse ARGV (ARGV[0] is the program). LB_OK, or LB_E_USAGE with a short
 * reason in *WHY and, when one argument is to blame, that argument in *BAD
 * (else NULL). Pointers in A point into ARGV. */
int lb_cli_parse(int argc, char **argv, struct lb_cli_args *a,
    const char **why, const char **bad) LB_WUR;

/* 1 and *KIND set if S is a kind flag: /D /H /J in any case, -d -H -j,
 * --dir --hard --junction; else 0. */
int lb_cli_kind_flag(const char *s, enum lb_kind *kind);

/* Batch lines. A line holds whitespace-separated fields; "..." quotes a
 * field (or part of one) with spaces, and inside quotes only \" and \\ are
 * escapes (a backslash before anything else is itself, so C:\dir needs no
 * doubling). A line that is blank, or whose first field starts with #, is
 * a comment. */
#define LB_CLI_LINE_FIELDS_MAX 8

/* Split the NUL-terminated LINE in place into at most MAX fields (each
 * NUL-terminated inside LINE). LB_OK with *N fields (0 for a blank or
 * comment line), or LB_E_USAGE with *WHY ("unterminated quote", "too many
 * fields"). */
int lb_cli_tokenize(char *line, char **fields, size_t max, size_t *n,
    const char **why) LB_WUR;

struct lb_cli_line {
	enum lb_kind kind;          /* SYMLINK unless a flag says otherwise */
	const char *link;           /* NULL for a blank or comment line */
	const char *target;
};

/* Tokenize LINE (modified in place) and parse "[/D|/H|/J] [--] Link Target".
 * LB_OK (out->link NULL if the line holds no request) or LB_E_USAGE with *WHY. */
int lb_cli_parse_line(char *line, struct lb_cli_line *out, const char **why) LB_WUR;

/* One line of a list page (docs/protocol.md, "Lists"), read strictly: the
 * keys in their order, no spaces, canonical numbers and strings, a known
 * kind. The strings point into LINE (still escaped: lb_json_unescape). */
struct lb_cli_listed {
	uint64_t seq;
	enum lb_kind kind;
	struct lb_json_str time, link, target, file;   /* file: null if none */
	int too_long;                 /* only seq, time and kind were sent */
};
int lb_cli_list_line(const char *line, size_t len, struct lb_cli_listed *e) LB_WUR;

#endif
