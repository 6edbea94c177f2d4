/* lb_audit_cmd: `linkbrokerd verify-audit FILE... [--config FILE] [--flavor
 * windows|posix]`: verify an audit log (one file, or a rotated set)
 * offline, report the first bad line or the file missing from the set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_audit.h"
#include "lb_audit_cmd.h"
#include "lb_buf.h"
#include "lb_cli.h"
#include "lb_path.h"
#include "lb_policy.h"

static int
lb_verify_exit(enum lb_audit_set_verdict verdict)
{
	switch (verdict) {
	case LB_AUDIT_SET_INTACT:
		return LB_EXIT_OK;
	case LB_AUDIT_SET_MISSING:
		return LB_VERIFY_MISSING;
	case LB_AUDIT_SET_REORDERED:
		return LB_VERIFY_REORDERED;
	default:
		return LB_VERIFY_BROKEN;
	}
}

#define LB_VERIFY_USAGE \
    "usage: linkbrokerd verify-audit FILE... [--config FILE] [--flavor windows|posix]\n" \
    "       (several files: a rotated log, e.g. audit.log.2 audit.log.1 audit.log or\n" \
    "       audit.log*, checked in the order of their chain whatever their order here)\n"

void
lb_put_display_cstr(FILE *f, const char *s)
{
	lb_cli_put_display(f, s, strlen(s));
}

static int
lb_verify_usage(const char *what)
{
	fprintf(stderr, "linkbrokerd verify-audit: %s\n", what);
	fputs(LB_VERIFY_USAGE, stderr);
	return LB_EXIT_BAD_INPUT;
}

static int
lb_verify_load_policy(const char *file, enum lb_flavor flavor, struct lb_policy **out)
{
	struct lb_buf err;
	const char *msg;
	int r;

	lb_buf_init(&err, 4096);
	r = lb_policy_load_file(file, flavor, out, &err);
	if (r != LB_OK) {
		if (err.len > 0 && lb_buf_cstr(&err, &msg) == LB_OK) {
			lb_put_display_cstr(stderr, msg);
		} else {
			lb_put_display_cstr(stderr, file);
			fprintf(stderr, ": %s", lb_strerror(r));
		}
		fputc('\n', stderr);
	}
	lb_buf_free(&err);
	return r;
}

/* Print TEXT (lines) to F, each made safe for a terminal. */
static void
lb_put_lines(FILE *f, const char *text)
{
	const char *nl;
	size_t n;

	while (*text != '\0') {
		nl = strchr(text, '\n');
		n = nl != NULL ? (size_t)(nl - text) : strlen(text);
		lb_cli_put_display(f, text, n);
		fputc('\n', f);
		text += n + (nl != NULL);
	}
}

int
lb_verify_run(const char *const *files, size_t n, const char *config, enum lb_flavor flavor,
    FILE *ok_out, const char *fail_intro, struct lb_policy **keep)
{
	enum lb_audit_set_verdict verdict = LB_AUDIT_SET_BROKEN;
	struct lb_policy *policy = NULL;
	const char *text;
	struct lb_buf msg;
	int r, rc;

	if (config != NULL && lb_verify_load_policy(config, flavor, &policy) != LB_OK)
		return LB_EXIT_BAD_INPUT;
	lb_buf_init(&msg, 4 * 1024 * 1024);
	r = lb_audit_verify_set(files, n, policy, &msg, NULL, &verdict);
	if (msg.len == 0 || lb_buf_cstr(&msg, &text) != LB_OK)
		text = r == LB_OK ? "" : lb_strerror(r);
	rc = r != LB_OK ? LB_EXIT_BAD_INPUT : lb_verify_exit(verdict);
	if (rc == LB_EXIT_OK) {
		/* Also one "recovered crash at line N (...)" line per torn
		 * write a recovery record seals: not a break, but the auditor
		 * should know. */
		if (ok_out != NULL)
			lb_put_lines(ok_out, text);
	} else {
		if (fail_intro != NULL)
			fprintf(stderr, "%s\n", fail_intro);
		lb_put_lines(stderr, text);
	}
	lb_buf_free(&msg);
	if (keep != NULL && rc == LB_EXIT_OK)
		*keep = policy;
	else
		lb_policy_free(policy);
	return rc;
}

int
lb_cmd_verify_audit(int argc, char **argv)
{
	enum lb_flavor flavor = LB_NATIVE_FLAVOR;
	const char *config = NULL, *val;
	const char **files = NULL;
	size_t n_files = 0;
	int i, o, only_pos = 0, rc;

	if (argc > 0 && (files = calloc((size_t)argc, sizeof(*files))) == NULL) {
		fprintf(stderr, "linkbrokerd verify-audit: out of memory\n");
		return LB_EXIT_BAD_INPUT;
	}
	for (i = 1; i < argc; i++) {
		if (!only_pos && strcmp(argv[i], "--") == 0) {
			only_pos = 1;
		} else if (only_pos || argv[i][0] != '-' || argv[i][1] == '\0') {
			files[n_files++] = argv[i];
		} else if ((o = lb_cli_opt(argc, argv, &i, "--config", &val)) != 0) {
			if (o < 0) {
				free(files);
				return lb_verify_usage("--config needs a policy file");
			}
			config = val;
		} else if ((o = lb_cli_opt(argc, argv, &i, "--flavor", &val)) != 0) {
			if (o < 0 || lb_flavor_parse(val, &flavor) != LB_OK) {
				free(files);
				return lb_verify_usage("--flavor takes windows or posix");
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			free(files);
			fputs(LB_VERIFY_USAGE, stdout);
			return LB_EXIT_OK;
		} else {
			free(files);
			return lb_verify_usage("unknown option");
		}
	}
	if (n_files == 0) {
		free(files);
		return lb_verify_usage("which audit log?");
	}
	if (n_files > LB_AUDIT_SET_MAX) {
		free(files);
		return lb_verify_usage("too many files");
	}
	rc = lb_verify_run(files, n_files, config, flavor, stdout, NULL, NULL);
	free(files);
	return rc;
}
