/* lb_client_args: the linkbroker command line (mklink-compatible) and the
 * batch-line tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "lb_client_args.h"
#include "lb_path.h"

int
lb_cli_kind_flag(const char *s, enum lb_kind *kind)
{
	static const struct {
		const char *flag;
		enum lb_kind kind;
	} flags[] = {
		{ "-d", LB_KIND_DIRSYMLINK }, { "--dir", LB_KIND_DIRSYMLINK },
		{ "-H", LB_KIND_HARDLINK }, { "--hard", LB_KIND_HARDLINK },
		{ "-j", LB_KIND_JUNCTION }, { "--junction", LB_KIND_JUNCTION },
	};
	size_t i;

	/* mklink's form, case-insensitive like every Windows switch. */
	if (s[0] == '/' && s[1] != '\0' && s[2] == '\0') {
		switch (s[1]) {
		case 'd': case 'D':
			*kind = LB_KIND_DIRSYMLINK;
			return 1;
		case 'h': case 'H':
			*kind = LB_KIND_HARDLINK;
			return 1;
		case 'j': case 'J':
			*kind = LB_KIND_JUNCTION;
			return 1;
		default:
			return 0;
		}
	}
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(s, flags[i].flag) == 0) {
			*kind = flags[i].kind;
			return 1;
		}
	return 0;
}

/* "--name VALUE" or "--name=VALUE": 1 and *VAL set (*I advanced past a
 * separate value), 0 if ARGV[*I] is another argument, -1 if the value is
 * missing or empty. */
static int
lb_cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=')
		*val = a + n + 1;
	else if (a[n] != '\0')
		return 0;
	else if (*i + 1 >= argc)
		return -1;
	else
		*val = argv[++*i];
	return (*val)[0] != '\0' ? 1 : -1;
}

static int
lb_cli_fail(const char **why, const char **bad, const char *reason, const char *arg)
{
	*why = reason;
	*bad = arg;
	return LB_E_USAGE;
}

/* The command word, recognised only as the first operand before "--". */
static int
lb_cli_command(const char *s, enum lb_cli_cmd *cmd)
{
	static const struct {
		const char *word;
		enum lb_cli_cmd cmd;
	} words[] = {
		{ "check", LB_CLI_CHECK }, { "keygen", LB_CLI_KEYGEN },
		{ "status", LB_CLI_STATUS }, { "batch", LB_CLI_BATCH },
		{ "list", LB_CLI_LIST }, { "rm", LB_CLI_RM },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i].word) == 0) {
			*cmd = words[i].cmd;
			return 1;
		}
	return 0;
}

/* Not -h: it must not quietly mean "help" where a user meant -H (hard). */
static int
lb_cli_is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "/?") == 0;
}

/* The command named before ARGV[END] (a help option), CREATE if none. */
static enum lb_cli_cmd
lb_cli_help_for(int end, char **argv)
{
	enum lb_cli_cmd cmd;
	int i;

	for (i = 1; i < end; i++) {
		if (strcmp(argv[i], "--endpoint") == 0 || strcmp(argv[i], "--service-key") == 0) {
			i++;
			continue;
		}
		if (lb_cli_command(argv[i], &cmd))
			return cmd;
	}
	return LB_CLI_CREATE;
}

/* The index of "run" if it is the command word, else 0: everything after
 * it belongs to the command being run, --help included. */
static int
lb_cli_run_at(int argc, char **argv)
{
	enum lb_kind k;
	int i;

	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (strcmp(s, "--endpoint") == 0 || strcmp(s, "--service-key") == 0) {
			i++;
			continue;
		}
		if (strcmp(s, "--") == 0)
			return 0;
		if ((s[0] == '-' && s[1] != '\0') || lb_cli_kind_flag(s, &k))
			continue;
		return strcmp(s, "run") == 0 ? i : 0;
	}
	return 0;
}

void
lb_cli_args_free(struct lb_cli_args *a)
{
	free(a->rm_links);
	a->rm_links = NULL;
	a->n_rm = 0;
}

int
lb_cli_parse(int argc, char **argv, struct lb_cli_args *a,
    const char **why, const char **bad)
{
	const char *pos[2] = { NULL, NULL }, *kind_flag = NULL, *val;
	enum lb_kind kind = LB_KIND_SYMLINK;
	size_t npos = 0;
	int i, o, only_pos = 0, have_cmd = 0, run_at;

	memset(a, 0, sizeof(*a));
	a->cmd = LB_CLI_CREATE;
	*why = NULL;
	*bad = NULL;
	/* Help wins wherever it is, so "linkbroker /D --help" explains rather
	 * than complains. */
	run_at = lb_cli_run_at(argc, argv);
	for (i = 1; i < (run_at > 0 ? run_at : argc) && strcmp(argv[i], "--") != 0; i++)
		if (lb_cli_is_help(argv[i])) {
			a->cmd = LB_CLI_HELP;
			a->help_for = lb_cli_help_for(i, argv);
			return LB_OK;
		}
	/* "run --help": no program is called --help ("run -- --help" runs one). */
	if (run_at > 0 && run_at + 1 < argc && lb_cli_is_help(argv[run_at + 1])) {
		a->cmd = LB_CLI_HELP;
		a->help_for = LB_CLI_RUN;
		return LB_OK;
	}
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (i == run_at) {
			a->cmd = LB_CLI_RUN;
			i++;
			if (i < argc && strcmp(argv[i], "--") == 0)
				i++;
			a->run_argc = argc - i;
			a->run_argv = argv + i;
			break;
		}
		if (!only_pos) {
			if (strcmp(s, "--") == 0) {
				only_pos = 1;
				continue;
			}
			if (lb_cli_kind_flag(s, &kind)) {
				if (kind_flag != NULL)
					return lb_cli_fail(why, bad, "only one of /D, /H, /J", s);
				kind_flag = s;
				continue;
			}
			if (strcmp(s, "--json") == 0) {
				a->json = 1;
				continue;
			}
			if (strcmp(s, "--force") == 0) {
				a->force = 1;
				continue;
			}
			if ((o = lb_cli_opt(argc, argv, &i, "--endpoint", &val)) != 0) {
				if (o < 0)
					return lb_cli_fail(why, bad, "--endpoint needs a PATH", NULL);
				a->endpoint = val;
				continue;
			}
			if ((o = lb_cli_opt(argc, argv, &i, "--service-key", &val)) != 0) {
				if (o < 0)
					return lb_cli_fail(why, bad, "--service-key needs a FILE", NULL);
				a->service_key = val;
				continue;
			}
			/* "-" alone is an operand (batch: standard input). */
			if (s[0] == '-' && s[1] != '\0')
				return lb_cli_fail(why, bad, "unknown option", s);
			if (!have_cmd && npos == 0 && lb_cli_command(s, &a->cmd)) {
				have_cmd = 1;
				if (a->cmd == LB_CLI_RM && (a->rm_links = calloc((size_t)argc,
				    sizeof(*a->rm_links))) == NULL)
					return lb_cli_fail(why, bad, "out of memory", NULL);
				continue;
			}
		}
		if (a->cmd == LB_CLI_RM) {
			a->rm_links[a->n_rm++] = s;
			continue;
		}
		if (npos == 2)
			return lb_cli_fail(why, bad, "too many arguments", s);
		pos[npos++] = s;
	}

	if (a->force && a->cmd != LB_CLI_KEYGEN)
		return lb_cli_fail(why, bad, "--force is only for keygen", NULL);
	switch (a->cmd) {
	case LB_CLI_CREATE:
	case LB_CLI_CHECK:
		if (npos == 0)
			return lb_cli_fail(why, bad, "missing Link and Target", NULL);
		if (npos == 1)
			return lb_cli_fail(why, bad, "missing Target", NULL);
		a->kind = kind;
		a->link = pos[0];
		a->target = pos[1];
		return LB_OK;
	case LB_CLI_BATCH:
		if (npos > 1)
			return lb_cli_fail(why, bad, "batch takes one FILE (or - for standard input)", pos[1]);
		a->batch_file = pos[0];
		break;
	case LB_CLI_LIST:
		if (npos > 1)
			return lb_cli_fail(why, bad, "list takes one PATH at most", pos[1]);
		a->list_path = pos[0];
		break;
	case LB_CLI_RM:
		if (a->n_rm == 0)
			return lb_cli_fail(why, bad, "rm needs a LINK", NULL);
		break;
	case LB_CLI_RUN:
		if (a->run_argc == 0)
			return lb_cli_fail(why, bad, "run needs a COMMAND", NULL);
		break;
	case LB_CLI_KEYGEN:
	case LB_CLI_STATUS:
		if (npos > 0)
			return lb_cli_fail(why, bad, "too many arguments", pos[0]);
		break;
	case LB_CLI_HELP:
		break;
	}
	if (kind_flag != NULL)
		return lb_cli_fail(why, bad, "a kind flag goes with Link Target (in batch: on each line)",
		    kind_flag);
	return LB_OK;
}

static int
lb_cli_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int
lb_cli_tokenize(char *line, char **fields, size_t max, size_t *n, const char **why)
{
	char *r = line, *w = line, c;

	*n = 0;
	*why = NULL;
	for (;;) {
		while (lb_cli_blank(*r))
			r++;
		if (*r == '\0' || (*n == 0 && *r == '#'))
			return LB_OK;
		if (*n == max) {
			*why = "too many fields";
			return LB_E_USAGE;
		}
		/* Writing never overtakes reading: unquoting only shrinks. */
		fields[(*n)++] = w;
		while ((c = *r) != '\0' && !lb_cli_blank(c)) {
			r++;
			if (c != '"') {
				*w++ = c;
				continue;
			}
			while ((c = *r) != '"') {
				if (c == '\0') {
					*why = "unterminated quote";
					return LB_E_USAGE;
				}
				if (c == '\\' && (r[1] == '"' || r[1] == '\\'))
					c = *++r;
				*w++ = c;
				r++;
			}
			r++;
		}
		/* C is the byte that ended the field, read before this write
		 * may overwrite it (when nothing was unquoted, w == r). */
		*w++ = '\0';
		if (c == '\0')
			return LB_OK;
		r++;
	}
}

int
lb_cli_parse_line(char *line, struct lb_cli_line *out, const char **why)
{
	char *f[LB_CLI_LINE_FIELDS_MAX];
	const char *pos[2] = { NULL, NULL };
	size_t i, n, npos = 0;
	int only_pos = 0, kinds = 0, rc;

	memset(out, 0, sizeof(*out));
	out->kind = LB_KIND_SYMLINK;
	if ((rc = lb_cli_tokenize(line, f, LB_CLI_LINE_FIELDS_MAX, &n, why)) != LB_OK || n == 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (!only_pos && strcmp(f[i], "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (!only_pos && lb_cli_kind_flag(f[i], &out->kind)) {
			if (kinds++ > 0) {
				*why = "only one of /D, /H, /J";
				return LB_E_USAGE;
			}
			continue;
		}
		if (!only_pos && f[i][0] == '-' && f[i][1] != '\0') {
			*why = "unknown option (a path starting with - goes after --)";
			return LB_E_USAGE;
		}
		if (npos == 2) {
			*why = "too many fields (quote paths with spaces: \"My Documents\")";
			return LB_E_USAGE;
		}
		pos[npos++] = f[i];
	}
	if (npos < 2) {
		*why = npos == 0 ? "missing Link and Target" : "missing Target";
		return LB_E_USAGE;
	}
	out->link = pos[0];
	out->target = pos[1];
	return LB_OK;
}

int
lb_cli_list_line(const char *line, size_t len, struct lb_cli_listed *e)
{
	struct lb_json_in in;
	struct lb_json_str kind;
	struct lb_buf k;
	const char *ks;
	int r = LB_E_BAD_FIELD;

	memset(e, 0, sizeof(*e));
	lb_json_in_init(&in, line, len, LB_PATH_BUF_MAX);
	lb_buf_init(&k, 32);
	if (lb_json_lit(&in, "{\"seq\":") != LB_OK || lb_json_uint(&in, UINT64_MAX, &e->seq) != LB_OK ||
	    lb_json_lit(&in, ",\"time\":") != LB_OK || lb_json_str(&in, 0, &e->time) != LB_OK ||
	    lb_json_lit(&in, ",\"kind\":") != LB_OK || lb_json_str(&in, 0, &kind) != LB_OK)
		goto out;
	if (lb_json_unescape(kind.raw, kind.raw_len, &k, NULL) != LB_OK || lb_buf_cstr(&k, &ks) != LB_OK || lb_kind_parse(ks, &e->kind) != LB_OK ||
	    e->kind == LB_KIND_NONE)
		goto out;
	if (lb_json_peek(&in, ",\"too_long\":true}")) {
		e->too_long = 1;
		if (lb_json_lit(&in, ",\"too_long\":true}") == LB_OK && lb_json_end(&in) == LB_OK)
			r = LB_OK;
		goto out;
	}
	if (lb_json_lit(&in, ",\"link\":") == LB_OK && lb_json_str(&in, 0, &e->link) == LB_OK &&
	    lb_json_lit(&in, ",\"target\":") == LB_OK && lb_json_str(&in, 0, &e->target) == LB_OK &&
	    lb_json_lit(&in, ",\"file\":") == LB_OK && lb_json_str(&in, 1, &e->file) == LB_OK &&
	    lb_json_lit(&in, "}") == LB_OK && lb_json_end(&in) == LB_OK)
		r = LB_OK;
out:
	lb_buf_free(&k);
	lb_json_in_free(&in);
	if (r != LB_OK)
		memset(e, 0, sizeof(*e));
	return r;
}
