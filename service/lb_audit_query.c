/* lb_audit_query: `linkbrokerd audit FILE... [filters] [--json] [--verify]`:
 * the auditor's view of an audit log (one file or a rotated set), records
 * chosen by user, kind, verdict, event, rule and time, as a readable
 * table or as the log's own JSON lines (still verifiable). Portable: it
 * only reads files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_audit.h"
#include "lb_audit_cmd.h"
#include "lb_buf.h"
#include "lb_cli.h"
#include "lb_json.h"
#include "lb_plat.h"
#include "lb_wire.h"

/* How often --follow looks at the file. */
#define LB_FOLLOW_POLL_MS 200

#define LB_AUDIT_USAGE \
    "usage: linkbrokerd audit FILE... [--user NAME] [--kind KIND] [--verdict allowed|denied|failed]\n" \
    "          [--event EVENT] [--rule NAME] [--since TIME] [--until TIME] [--json]\n" \
    "          [--verify [--config FILE] [--flavor windows|posix]] [--follow]\n" \
    "       TIME: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); --until is inclusive\n" \
    "       (several files: a rotated log, read in the order of their chain)\n" \
    "       --follow: then the records the newest file gains, across rotations\n"

struct lb_query {
	const char *user, *verdict, *event, *rule;
	int have_kind;
	enum lb_kind kind;
	uint64_t since, until;
	int json;
	struct lb_buf tmp;         /* one unescaped field */
	/* --follow */
	uint64_t last_seq;         /* the last record read, matched or not */
	uint8_t last_hash[LB_HASH_BYTES];
	size_t skipped;            /* lines that are no record */
	int verifying;             /* --verify */
	struct lb_audit_verifier *v; /* --verify: checks each line as it comes */
	struct lb_buf why;
};

static int
lb_audit_usage(const char *what)
{
	fprintf(stderr, "linkbrokerd audit: %s\n%s", what, LB_AUDIT_USAGE);
	return LB_EXIT_BAD_INPUT;
}

/* YYYY-MM-DD (its first second) or a record's own time format. */
static int
lb_query_time(const char *s, uint64_t *t)
{
	char full[LB_AUDIT_TIME_BUF];

	if (strlen(s) == 10) {
		snprintf(full, sizeof(full), "%sT00:00:00Z", s);
		return lb_audit_time_parse(full, t);
	}
	return lb_audit_time_parse(s, t);
}

/* Whether the JSON string J holds exactly WANT (after unescaping). */
static int
lb_query_is(struct lb_query *q, const struct lb_json_str *j, const char *want)
{
	const char *why;

	if (j->null)
		return 0;
	lb_buf_reset(&q->tmp);
	if (lb_json_unescape(j->raw, j->raw_len, &q->tmp, &why) != LB_OK)
		return 0;
	return q->tmp.len == strlen(want) && memcmp(q->tmp.data, want, q->tmp.len) == 0;
}

static void
lb_query_put(struct lb_query *q, const struct lb_json_str *j)
{
	const char *why;

	lb_buf_reset(&q->tmp);
	if (j->null || lb_json_unescape(j->raw, j->raw_len, &q->tmp, &why) != LB_OK) {
		fputs("-", stdout);
		return;
	}
	if (q->tmp.len == 0)
		fputs("\"\"", stdout);
	else
		lb_cli_put_display(stdout, (const char *)q->tmp.data, q->tmp.len);
}

static int
lb_query_match(struct lb_query *q, const struct lb_audit_line *l)
{
	if (l->time < q->since || l->time > q->until)
		return 0;
	if (q->have_kind && l->kind != q->kind)
		return 0;
	if (q->user != NULL && !lb_query_is(q, &l->user, q->user))
		return 0;
	if (q->verdict != NULL && !lb_query_is(q, &l->verdict, q->verdict))
		return 0;
	if (q->event != NULL && !lb_query_is(q, &l->event, q->event))
		return 0;
	if (q->rule != NULL && !lb_query_is(q, &l->rule, q->rule))
		return 0;
	return 1;
}

/* One record, for people: "TIME  VERDICT  EVENT  USER  KIND  LINK -> TARGET
 * rule R" and, where there is one, ": REASON" (and a made record's
 * " [file ID]"); every string through
 * lb_cli_put_display (a log may hold any bytes a client sent). */
static int
lb_query_each(void *ctx, const struct lb_audit_line *l, const char *line, size_t len)
{
	struct lb_query *q = ctx;
	char when[LB_AUDIT_TIME_BUF];

	if (!lb_query_match(q, l))
		return 0;
	if (q->json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
		return ferror(stdout) ? -1 : 0;
	}
	if (lb_audit_time_format(l->time, when) != LB_OK)
		snprintf(when, sizeof(when), "?");
	printf("%s  ", when);
	lb_query_put(q, &l->verdict);
	fputs("  ", stdout);
	lb_query_put(q, &l->event);
	fputs("  ", stdout);
	lb_query_put(q, &l->user);
	printf("  %s  ", l->kind == LB_KIND_NONE ? "-" : lb_kind_name(l->kind));
	lb_query_put(q, &l->link);
	fputs(" -> ", stdout);
	lb_query_put(q, &l->target);
	if (!l->rule.null && l->rule.raw_len > 0) {
		fputs("  rule ", stdout);
		lb_query_put(q, &l->rule);
	}
	if (!l->reason.null && l->reason.raw_len > 0) {
		fputs(": ", stdout);
		lb_query_put(q, &l->reason);
	}
	if (l->has_file)   /* a made record: the link's identity (digits, a-f, ':') */
		printf(" [file %s]", l->file);
	fputc('\n', stdout);
	return ferror(stdout) ? -1 : 0;
}

static void
lb_audit_file_error(const char *path, int r)
{
	fprintf(stderr, "linkbrokerd audit: ");
	lb_put_display_cstr(stderr, path);
	fprintf(stderr, ": %s\n", lb_strerror(r));
}

/* Every record of the files before the newest: listed, and the last one
 * kept for --follow, which goes on from it. */
static int
lb_query_last(void *ctx, const struct lb_audit_line *l, const char *line, size_t len)
{
	struct lb_query *q = ctx;

	q->last_seq = l->seq;
	memcpy(q->last_hash, l->hash, LB_HASH_BYTES);
	return lb_query_each(ctx, l, line, len);
}

/* Every line --follow reads: verified first (--verify), then listed. */
static int
lb_follow_each(void *ctx, const struct lb_audit_line *l, const char *line, size_t len)
{
	struct lb_query *q = ctx;

	if (q->v != NULL && lb_audit_verifier_feed(q->v, line, len, &q->why) != LB_OK)
		return 1;
	if (l == NULL) {
		q->skipped++;
		return 0;
	}
	return lb_query_last(ctx, l, line, len);
}

/* The records of the set's newest file PATH, then those it gains, for as
 * long as the command runs (it ends on a signal, a closed output, or with
 * --verify a line that does not verify). */
static int
lb_follow(struct lb_query *q, const char *path, const struct lb_policy *policy)
{
	struct lb_audit_follow f;
	struct lb_buf note;
	const char *text;
	int r, rc = LB_EXIT_OK;

	memset(&f, 0, sizeof(f));
	f.path = path;
	f.last_seq = q->last_seq;
	lb_buf_init(&q->why, 4096);
	lb_buf_init(&note, 4096);
	if (q->verifying) {
		if (lb_audit_verifier_new(policy, q->last_seq, q->last_hash, &q->v) != LB_OK) {
			fprintf(stderr, "linkbrokerd audit: out of memory\n");
			rc = LB_EXIT_BAD_INPUT;
		}
	}
	while (rc == LB_EXIT_OK) {
		lb_buf_reset(&note);
		if ((r = lb_audit_follow_poll(&f, lb_follow_each, q, &note)) != LB_OK) {
			lb_audit_file_error(path, r);
			rc = LB_EXIT_BAD_INPUT;
		} else if (q->why.len > 0 || (q->v != NULL && f.repeated > 0)) {
			if (q->why.len == 0 || lb_buf_cstr(&q->why, &text) != LB_OK)
				text = "a record already read came again";
			fprintf(stderr, "linkbrokerd audit: the log does not verify: %s\n", text);
			rc = LB_VERIFY_BROKEN;
		}
		if (note.len > 0 && lb_buf_cstr(&note, &text) == LB_OK)
			fprintf(stderr, "linkbrokerd audit: %s\n", text);
		if (fflush(stdout) != 0 || ferror(stdout))
			break;
		if (rc == LB_EXIT_OK)
			lb_plat_sleep_ms(LB_FOLLOW_POLL_MS);
	}
	lb_audit_verifier_free(q->v);
	q->v = NULL;
	lb_buf_free(&note);
	lb_buf_free(&q->why);
	return rc;
}

int
lb_cmd_audit(int argc, char **argv)
{
	enum lb_flavor flavor = LB_NATIVE_FLAVOR;
	struct lb_query q;
	const char **files = NULL, *config = NULL, *val;
	size_t n_files = 0, i, bad = 0, skipped, skipped_all = 0;
	struct lb_policy *policy = NULL;
	int a, o, only_pos = 0, verify = 0, follow = 0, r, rc = LB_EXIT_OK;

	memset(&q, 0, sizeof(q));
	q.until = UINT64_MAX;
	if (argc > 0 && (files = calloc((size_t)argc, sizeof(*files))) == NULL) {
		fprintf(stderr, "linkbrokerd audit: out of memory\n");
		return LB_EXIT_BAD_INPUT;
	}
	for (a = 1; a < argc && rc == LB_EXIT_OK; a++) {
		if (!only_pos && strcmp(argv[a], "--") == 0) {
			only_pos = 1;
		} else if (only_pos || argv[a][0] != '-' || argv[a][1] == '\0') {
			files[n_files++] = argv[a];
		} else if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
			fputs(LB_AUDIT_USAGE, stdout);
			free(files);
			return LB_EXIT_OK;
		} else if (strcmp(argv[a], "--json") == 0) {
			q.json = 1;
		} else if (strcmp(argv[a], "--verify") == 0) {
			verify = 1;
		} else if (strcmp(argv[a], "--follow") == 0 || strcmp(argv[a], "-f") == 0) {
			follow = 1;
		} else if ((o = lb_cli_opt(argc, argv, &a, "--user", &val)) != 0) {
			rc = o < 0 ? lb_audit_usage("--user needs a name") : rc;
			q.user = val;
		} else if ((o = lb_cli_opt(argc, argv, &a, "--verdict", &val)) != 0) {
			if (o < 0 || (strcmp(val, "allowed") != 0 && strcmp(val, "denied") != 0 &&
			    strcmp(val, "failed") != 0))
				rc = lb_audit_usage("--verdict takes allowed, denied or failed");
			q.verdict = val;
		} else if ((o = lb_cli_opt(argc, argv, &a, "--event", &val)) != 0) {
			rc = o < 0 ? lb_audit_usage("--event needs an event (create, check, batch, ...)") : rc;
			q.event = val;
		} else if ((o = lb_cli_opt(argc, argv, &a, "--rule", &val)) != 0) {
			rc = o < 0 ? lb_audit_usage("--rule needs a rule name") : rc;
			q.rule = val;
		} else if ((o = lb_cli_opt(argc, argv, &a, "--kind", &val)) != 0) {
			if (o < 0 || lb_kind_parse(val, &q.kind) != LB_OK)
				rc = lb_audit_usage("--kind takes symlink, dirsymlink, hardlink or junction");
			q.have_kind = 1;
		} else if ((o = lb_cli_opt(argc, argv, &a, "--since", &val)) != 0) {
			if (o < 0 || lb_query_time(val, &q.since) != LB_OK)
				rc = lb_audit_usage("--since takes YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
		} else if ((o = lb_cli_opt(argc, argv, &a, "--until", &val)) != 0) {
			if (o < 0 || lb_query_time(val, &q.until) != LB_OK)
				rc = lb_audit_usage("--until takes YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
			else if (strlen(val) == 10)
				q.until += 86399;   /* the whole day */
		} else if ((o = lb_cli_opt(argc, argv, &a, "--config", &val)) != 0) {
			rc = o < 0 ? lb_audit_usage("--config needs a policy file") : rc;
			config = val;
		} else if ((o = lb_cli_opt(argc, argv, &a, "--flavor", &val)) != 0) {
			if (o < 0 || lb_flavor_parse(val, &flavor) != LB_OK)
				rc = lb_audit_usage("--flavor takes windows or posix");
		} else {
			rc = lb_audit_usage("unknown option");
		}
	}
	if (rc == LB_EXIT_OK && n_files == 0)
		rc = lb_audit_usage("which audit log?");
	if (rc == LB_EXIT_OK && n_files > LB_AUDIT_SET_MAX)
		rc = lb_audit_usage("too many files");
	if (rc == LB_EXIT_OK && (config != NULL) && !verify)
		rc = lb_audit_usage("--config is for --verify (the keys to check signatures with)");
	if (rc == LB_EXIT_OK && q.since > q.until)
		rc = lb_audit_usage("--since is after --until");
	/* Verified with the names as given: their order is part of the check. */
	if (rc == LB_EXIT_OK && verify)
		rc = lb_verify_run(files, n_files, config, flavor, NULL,
		    "linkbrokerd audit: the log does not verify; nothing listed:", &policy);
	/* A rotated set in the order of its chain. */
	if (rc == LB_EXIT_OK && (r = lb_audit_set_order(files, n_files, &bad)) != LB_OK) {
		lb_audit_file_error(files[bad], r);
		rc = LB_EXIT_BAD_INPUT;
	}
	lb_buf_init(&q.tmp, LB_AUDIT_LINE_MAX);
	/* --follow: the newest file is read by lb_follow, from its start. */
	for (i = 0; rc == LB_EXIT_OK && i + follow < n_files; i++) {
		if ((r = lb_audit_each(files[i], lb_query_last, &q, &skipped)) != LB_OK) {
			lb_audit_file_error(files[i], r);
			rc = LB_EXIT_BAD_INPUT;
		}
		skipped_all += skipped;
	}
	if (rc == LB_EXIT_OK && follow) {
		q.verifying = verify;
		rc = lb_follow(&q, files[n_files - 1], policy);
		skipped_all += q.skipped;
	}
	if (fflush(stdout) != 0 && rc == LB_EXIT_OK)
		rc = LB_EXIT_FAILED;
	/* Said, never silently: a line that is no record is verify-audit's to judge. */
	if (skipped_all > 0)
		fprintf(stderr, "linkbrokerd audit: %zu line%s that %s no record left out "
		    "(linkbrokerd verify-audit says what %s)\n", skipped_all,
		    skipped_all == 1 ? "" : "s", skipped_all == 1 ? "is" : "are",
		    skipped_all == 1 ? "it is" : "they are");
	lb_buf_free(&q.tmp);
	lb_policy_free(policy);
	free(files);
	return rc;
}
