/* lb_offline: the linkbrokerd commands that need no running broker:
 * check-config (is this policy valid?) and explain (what would the policy
 * decide, lexically, for this user and these paths?). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_buf.h"
#include "lb_cli.h"
#include "lb_offline.h"
#include "lb_plat.h"
#include "lb_policy.h"
#include "lb_str.h"

#define LB_EXPLAIN_GROUPS_MAX 256

static int
lb_load_policy(const char *file, enum lb_flavor flavor, struct lb_policy **out)
{
	struct lb_buf err;
	const char *msg;
	char reason[256], *data = NULL;
	size_t len;
	int r;

	*out = NULL;
	r = lb_plat_read_file(file, LB_POLICY_FILE_MAX, &data, &len, reason, sizeof(reason));
	if (r != LB_OK) {
		fprintf(stderr, "%s: cannot read the policy: %s\n", file,
		    r == LB_E_TOOBIG ? "file larger than 4 MiB" : reason);
		return LB_E_CONFIG;
	}
	lb_buf_init(&err, 4096);
	r = lb_policy_load_buffer(file, data, len, flavor, out, &err);
	if (r != LB_OK) {
		if (err.len > 0 && lb_buf_cstr(&err, &msg) == LB_OK) {
			lb_cli_put_display(stderr, msg, strlen(msg));
			fputc('\n', stderr);
		} else {
			fprintf(stderr, "%s: %s\n", file, lb_strerror(r));
		}
	}
	lb_buf_free(&err);
	free(data);
	return r;
}

/* A valid policy's warnings, "FILE:LINE: warning: message" each, on
 * stderr like the errors; they do not change the exit code. */
static void
lb_print_warnings(const char *file, struct lb_policy *p)
{
	const char *text, *nl;
	size_t shown = 0;

	if (p->warnings.len > 0 && lb_buf_cstr(&p->warnings, &text) == LB_OK) {
		for (; (nl = strchr(text, '\n')) != NULL; text = nl + 1, shown++) {
			lb_cli_put_display(stderr, text, (size_t)(nl - text));
			fputc('\n', stderr);
		}
	}
	if (p->n_warnings > shown)
		fprintf(stderr, "%s: warning: %zu more warnings not shown\n", file, p->n_warnings - shown);
	fflush(stderr);
}

static int
lb_usage_error(const char *cmd, const char *what)
{
	fprintf(stderr, "linkbrokerd %s: %s\n", cmd, what);
	fprintf(stderr, "usage: linkbrokerd check-config [--flavor windows|posix] FILE\n"
	    "       linkbrokerd explain --config FILE --user NAME [--group NAME]... [--sid SID]\n"
	    "                           [--home DIR] [--kind symlink|dirsymlink|hardlink|junction]\n"
	    "                           [--flavor windows|posix] LINK TARGET\n");
	return LB_EXIT_BAD_INPUT;
}

int
lb_cmd_check_config(int argc, char **argv)
{
	enum lb_flavor flavor = lb_plat_flavor();
	struct lb_policy *p = NULL;
	const char *file = NULL, *val;
	int i, o;

	for (i = 1; i < argc; i++) {
		if ((o = lb_cli_opt(argc, argv, &i, "--flavor", &val)) != 0) {
			if (o < 0 || lb_flavor_parse(val, &flavor) != LB_OK)
				return lb_usage_error("check-config", "--flavor takes windows or posix");
		} else if (strcmp(argv[i], "--") == 0 && i + 2 == argc && file == NULL) {
			file = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return lb_usage_error("check-config", "unknown option");
		} else if (file == NULL) {
			file = argv[i];
		} else {
			return lb_usage_error("check-config", "one policy file at a time");
		}
	}
	if (file == NULL)
		return lb_usage_error("check-config", "which policy file?");
	if (lb_load_policy(file, flavor, &p) != LB_OK)
		return LB_EXIT_BAD_INPUT;
	lb_print_warnings(file, p);
	printf("%s: OK (%s policy, %zu key%s, %zu rule%s", file, lb_flavor_name(flavor),
	    p->n_keys, p->n_keys == 1 ? "" : "s", p->n_rules, p->n_rules == 1 ? "" : "s");
	if (p->n_warnings > 0)
		printf(", %zu warning%s", p->n_warnings, p->n_warnings == 1 ? "" : "s");
	printf(")\n");
	lb_policy_free(p);
	return LB_EXIT_OK;
}

struct lb_explain_args {
	const char *config, *user, *sid, *home, *link, *target;
	char *domain;          /* Windows: --user DOMAIN\NAME's DOMAIN (malloc'd), else NULL */
	enum lb_kind kind;
	enum lb_flavor flavor;
	struct lb_group groups[LB_EXPLAIN_GROUPS_MAX];
	size_t n_groups;
};

static int
lb_explain_parse(int argc, char **argv, struct lb_explain_args *a)
{
	const char *val, *pos[2], *bs;
	size_t npos = 0;
	int i, o, only_pos = 0;

	memset(a, 0, sizeof(*a));
	a->kind = LB_KIND_SYMLINK;
	a->flavor = lb_plat_flavor();
	for (i = 1; i < argc; i++) {
		if (!only_pos && strcmp(argv[i], "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (only_pos || argv[i][0] != '-' || argv[i][1] == '\0') {
			if (npos == 2)
				return lb_usage_error("explain", "too many arguments (expected LINK TARGET)");
			pos[npos++] = argv[i];
			continue;
		}
		if ((o = lb_cli_opt(argc, argv, &i, "--config", &val)) != 0)
			a->config = val;
		else if ((o = lb_cli_opt(argc, argv, &i, "--user", &val)) != 0)
			a->user = val;
		else if ((o = lb_cli_opt(argc, argv, &i, "--sid", &val)) != 0)
			a->sid = val;
		else if ((o = lb_cli_opt(argc, argv, &i, "--home", &val)) != 0)
			a->home = val;
		else if ((o = lb_cli_opt(argc, argv, &i, "--group", &val)) != 0) {
			if (o > 0) {
				if (a->n_groups == LB_EXPLAIN_GROUPS_MAX)
					return lb_usage_error("explain", "too many --group options");
				if ((val[0] == 'S' || val[0] == 's') && val[1] == '-')
					a->groups[a->n_groups].sid = val;
				else
					a->groups[a->n_groups].name = val;
				a->n_groups++;
			}
		} else if ((o = lb_cli_opt(argc, argv, &i, "--kind", &val)) != 0) {
			if (o > 0 && (lb_kind_parse(val, &a->kind) != LB_OK || a->kind == LB_KIND_NONE))
				return lb_usage_error("explain", "--kind takes symlink, dirsymlink, hardlink or junction");
		} else if ((o = lb_cli_opt(argc, argv, &i, "--flavor", &val)) != 0) {
			if (o > 0 && lb_flavor_parse(val, &a->flavor) != LB_OK)
				return lb_usage_error("explain", "--flavor takes windows or posix");
		} else {
			return lb_usage_error("explain", "unknown option");
		}
		if (o < 0)
			return lb_usage_error("explain", "option needs a value");
	}
	if (a->config == NULL)
		return lb_usage_error("explain", "--config FILE is required");
	if (a->user == NULL || a->user[0] == '\0')
		return lb_usage_error("explain", "--user NAME is required");
	if (npos != 2)
		return lb_usage_error("explain", "expected LINK TARGET");
	if (a->flavor == LB_FLAVOR_WINDOWS && (bs = strchr(a->user, '\\')) != NULL) {
		/* DOMAIN\NAME, as Windows reports an account: the policy sees the
		 * domain, %USERNAME% the bare name. */
		if (bs == a->user || bs[1] == '\0' || strchr(bs + 1, '\\') != NULL)
			return lb_usage_error("explain", "--user takes NAME or DOMAIN\\NAME");
		if ((a->domain = lb_strndup(a->user, (size_t)(bs - a->user))) == NULL) {
			fprintf(stderr, "linkbrokerd explain: out of memory\n");
			return LB_EXIT_FAILED;
		}
		a->user = bs + 1;
	}
	a->link = pos[0];
	a->target = pos[1];
	return LB_EXIT_OK;
}

int
lb_cmd_explain(int argc, char **argv)
{
	struct lb_explain_args a;
	struct lb_principal who;
	struct lb_policy *p = NULL;
	struct lb_decision d;
	struct lb_path link = { 0 }, target = { 0 };
	struct lb_buf home, why;
	const char *which = NULL, *text;
	int r, rc;

	if ((rc = lb_explain_parse(argc, argv, &a)) != LB_EXIT_OK)
		return rc;
	lb_buf_init(&home, LB_PATH_BUF_MAX);
	lb_buf_init(&why, 4096);
	rc = LB_EXIT_BAD_INPUT;
	if (lb_load_policy(a.config, a.flavor, &p) != LB_OK)
		goto out;
	if (a.home == NULL) {
		/* The profile directory the OS would report for a typical account. */
		r = a.flavor == LB_FLAVOR_WINDOWS ?
		    lb_buf_printf(&home, "C:\\Users\\%s", a.user) :
		    lb_buf_printf(&home, "/home/%s", a.user);
		if (r != LB_OK || lb_buf_cstr(&home, &a.home) != LB_OK)
			goto out;
	}
	who.user = a.user;
	who.sid = a.sid;
	who.home = a.home;
	who.groups = a.groups;
	who.n_groups = a.n_groups;
	who.domain = a.domain;

	r = lb_policy_decide_strings(p, &who, a.kind, a.link, strlen(a.link),
	    a.target, strlen(a.target), &d, &link, &target, &which);
	if (r != LB_OK) {
		const char *bad = (which != NULL && strcmp(which, "target") == 0) ? a.target : a.link;

		fprintf(stderr, "linkbrokerd explain: %s \"", which != NULL ? which : "request");
		lb_cli_put_display(stderr, bad, strlen(bad));
		fprintf(stderr, "\": %s\n", r == LB_E_INVAL ? "the link path must name a file below a root" :
		    lb_strerror(r));
		rc = lb_exit_code(r);
		goto out;
	}
	printf("%s: %s ", d.verdict == LB_VERDICT_ALLOW ? "allow" : "deny", lb_kind_name(a.kind));
	lb_cli_put_display(stdout, link.s, link.len);
	fputs(" -> ", stdout);
	lb_cli_put_display(stdout, target.s, target.len);
	fputc('\n', stdout);
	if (lb_decision_describe(&d, &why) != LB_OK || lb_buf_cstr(&why, &text) != LB_OK)
		goto out;
	printf("  ");
	lb_cli_put_display(stdout, text, strlen(text));
	if (d.rule != NULL)
		printf(" (%s line %u)", a.config, d.rule->line);
	fputc('\n', stdout);
	rc = d.verdict == LB_VERDICT_ALLOW ? LB_EXIT_OK : LB_EXIT_DENIED;
out:
	lb_path_free(&link);
	lb_path_free(&target);
	lb_buf_free(&home);
	lb_buf_free(&why);
	lb_policy_free(p);
	free(a.domain);
	return rc;
}
