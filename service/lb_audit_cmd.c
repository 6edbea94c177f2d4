/* lb_audit_cmd: `linkbrokerd verify-audit FILE [--config FILE] [--flavor
 * windows|posix]`: verify an audit log offline, report the first bad line. */
#include <stdio.h>
#include <string.h>

#include "lb_audit.h"
#include "lb_audit_cmd.h"
#include "lb_buf.h"
#include "lb_cli.h"
#include "lb_path.h"
#include "lb_policy.h"

/* The path flavour policies default to, decided by the build (this file
 * is portable and does not ask the OS). */
#ifndef LB_NATIVE_FLAVOR
#define LB_NATIVE_FLAVOR LB_FLAVOR_POSIX
#endif

/* Exit codes: 0 intact, 1 broken, 2 (LB_EXIT_BAD_INPUT) cannot tell. */
#define LB_VERIFY_BROKEN 1

#define LB_VERIFY_USAGE \
    "usage: linkbrokerd verify-audit FILE [--config FILE] [--flavor windows|posix]\n"

static void
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

int
lb_cmd_verify_audit(int argc, char **argv)
{
	enum lb_flavor flavor = LB_NATIVE_FLAVOR;
	struct lb_policy *policy = NULL;
	const char *file = NULL, *config = NULL, *val, *text, *nl;
	struct lb_buf msg;
	size_t records = 0, n;
	int i, o, only_pos = 0, r, rc;

	for (i = 1; i < argc; i++) {
		if (!only_pos && strcmp(argv[i], "--") == 0) {
			only_pos = 1;
		} else if (only_pos || argv[i][0] != '-' || argv[i][1] == '\0') {
			if (file != NULL)
				return lb_verify_usage("one audit log at a time");
			file = argv[i];
		} else if ((o = lb_cli_opt(argc, argv, &i, "--config", &val)) != 0) {
			if (o < 0)
				return lb_verify_usage("--config needs a policy file");
			config = val;
		} else if ((o = lb_cli_opt(argc, argv, &i, "--flavor", &val)) != 0) {
			if (o < 0 || lb_flavor_parse(val, &flavor) != LB_OK)
				return lb_verify_usage("--flavor takes windows or posix");
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(LB_VERIFY_USAGE, stdout);
			return LB_EXIT_OK;
		} else {
			return lb_verify_usage("unknown option");
		}
	}
	if (file == NULL)
		return lb_verify_usage("which audit log?");
	if (config != NULL && lb_verify_load_policy(config, flavor, &policy) != LB_OK)
		return LB_EXIT_BAD_INPUT;

	lb_buf_init(&msg, 4096);
	r = lb_audit_verify(file, policy, &msg, &records);
	if (msg.len == 0 || lb_buf_cstr(&msg, &text) != LB_OK)
		text = r == LB_OK ? "" : lb_strerror(r);
	if (r == LB_OK) {
		/* TEXT is one "recovered crash at line N (...)" line per torn
		 * write a recovery record seals: not a break, but the auditor
		 * should know. */
		while (*text != '\0') {
			nl = strchr(text, '\n');
			n = nl != NULL ? (size_t)(nl - text) : strlen(text);
			lb_put_display_cstr(stdout, file);
			fputs(": ", stdout);
			lb_cli_put_display(stdout, text, n);
			fputc('\n', stdout);
			text += n + (nl != NULL);
		}
		lb_put_display_cstr(stdout, file);
		printf(": intact, %zu record%s\n", records, records == 1 ? "" : "s");
		rc = LB_EXIT_OK;
	} else if (r == LB_E_AUDIT) {
		/* TEXT is "LINE: what is wrong". */
		lb_put_display_cstr(stderr, file);
		fputc(':', stderr);
		lb_put_display_cstr(stderr, text);
		fputc('\n', stderr);
		rc = LB_VERIFY_BROKEN;
	} else {
		lb_put_display_cstr(stderr, file);
		fputs(": ", stderr);
		lb_put_display_cstr(stderr, text);
		fputc('\n', stderr);
		rc = LB_EXIT_BAD_INPUT;
	}
	lb_buf_free(&msg);
	lb_policy_free(policy);
	return rc;
}
