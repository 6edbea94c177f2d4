/* linkbroker: the mklink-compatible client, built on liblinkbroker
 * (include/linkbroker.h): parses the command line and batch input, asks
 * the library, and prints what mklink prints (or one JSON object per
 * result). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkbroker.h"
#include "lb_buf.h"
#include "lb_json.h"
#include "lb_client.h"
#include "lb_client_args.h"
#include "lb_path.h"
#include "lb_run.h"
#include "lb_session.h"
#include "lb_sig.h"
#include "lb_wire.h"

#define LB_BATCH_INPUT_MAX (64u * 1024u * 1024u)
/* One output line: two wire strings, each escaped at most 4 bytes per byte. */
#define LB_OUT_MAX (8u * LB_FRAME_MAX + 4096u)

static const char lb_synopsis[] =
    "usage: linkbroker [/D | /H | /J] Link Target        create a link (default: file symbolic link)\n"
    "       linkbroker check [/D | /H | /J] Link Target  dry run: would the broker allow it?\n"
    "       linkbroker keygen [--force]                  create your key, print its enrollment block\n"
    "       linkbroker status                            is the broker there and genuine, is my key enrolled?\n"
    "       linkbroker batch [FILE | -]                  one request per line: [/D|/H|/J] Link Target\n"
    "       linkbroker run [--] COMMAND [ARGS...]        run COMMAND; links it may not make go to the broker\n"
    "       linkbroker list [PATH]                       the links the broker made for you, and whether they are there\n"
    "       linkbroker rm LINK...                        remove links the broker made for you\n"
    "options: --json  --endpoint PATH  --service-key FILE  --help (COMMAND --help: more on one)\n";

static const char lb_help_more[] =
    "\n"
    "kinds (one at most; /X in any case):\n"
    "  /D, -d, --dir        directory symbolic link\n"
    "  /H, -H, --hard       hard link (Target resolved against the current directory)\n"
    "  /J, -j, --junction   junction (Target resolved against the current directory)\n"
    "\n"
    "options:\n"
    "  --json               one JSON object per result instead of text\n"
    "  --endpoint PATH      the broker's socket (LINKBROKER_ENDPOINT; default %s)\n"
    "  --service-key FILE   the broker's public key (LINKBROKER_SERVICE_KEY; default %s)\n"
    "  --force              keygen: replace an existing key\n"
    "  --                   everything after it is Link and Target\n"
    "\n"
    "batch lines: fields separated by blanks; \"...\" quotes a field, with \\\" and \\\\\n"
    "inside quotes only; blank lines and lines starting with # are skipped.\n"
    "\n"
    "exit codes: 0 created/allowed, 1 denied, 2 usage or bad input,\n"
    "            3 broker unreachable or not genuine, 4 the operation failed;\n"
    "            run: COMMAND's own, or 125 (no shim), 126 (cannot run), 127 (not found).\n"
    "            LINKBROKER_DEBUG=1: run's shim prints each call it takes to the broker.\n"
    "See docs/client.md and docs/integration.md.\n";

/* `linkbroker COMMAND --help`: that command alone. */
static const char *
lb_help_text(enum lb_cli_cmd cmd)
{
	switch (cmd) {
	case LB_CLI_CHECK:
		return "usage: linkbroker check [/D | /H | /J] [--json] Link Target\n\n"
		    "Ask the broker whether it would make this link for you, without making it:\n"
		    "\"allowed: RULE\" on stdout (exit 0) or the reason on stderr (exit 1).\n"
		    "Kinds as for creating (linkbroker --help).\n";
	case LB_CLI_KEYGEN:
		return "usage: linkbroker keygen [--force]\n\n"
		    "Create your signing key (${XDG_CONFIG_HOME:-~/.config}/linkbroker/key, mode\n"
		    "0600) and print its enrollment block: send it to the broker's administrator,\n"
		    "who adds it to the policy. An existing key is never replaced without --force\n"
		    "(exit 4). Exit 0, 4 the key could not be written.\n";
	case LB_CLI_STATUS:
		return "usage: linkbroker status [--json]\n\n"
		    "Is the broker there and genuine (its answer signed by the service key), who\n"
		    "does it say you are, and is your key enrolled for you? Exit 0 enrolled,\n"
		    "1 not enrolled, 3 no broker or not genuine.\n";
	case LB_CLI_BATCH:
		return "usage: linkbroker batch [--json] [FILE | -]\n\n"
		    "One request per line of FILE (standard input without one or with -):\n"
		    "[/D | /H | /J] [--] Link Target. Fields are separated by blanks; \"...\"\n"
		    "quotes a field, with \\\" and \\\\ inside quotes only; blank lines and lines\n"
		    "starting with # are skipped. Sent as messages of up to 256 lines, each signed\n"
		    "once; one result per line, in input order. The exit code is the worst\n"
		    "(highest) of all results; 3 stops the batch there.\n";
	case LB_CLI_RUN:
		return "usage: linkbroker run [--] COMMAND [ARGS...]\n\n"
		    "Run COMMAND unchanged with the broker's shim: the links it may not make\n"
		    "itself (symlink, link; CreateSymbolicLinkW, CreateHardLinkW and junctions\n"
		    "on Windows) go to the broker, as the real calls would report them. Exit:\n"
		    "COMMAND's own, or 125 no shim, 126 cannot run, 127 not found.\n"
		    "LINKBROKER_DEBUG=1: the shim prints each call it takes to the broker.\n"
		    "See docs/integration.md.\n";
	case LB_CLI_LIST:
		return "usage: linkbroker list [--json] [PATH]\n\n"
		    "The links the broker made for you and has not removed (under PATH, by whole\n"
		    "components of their resolved paths), oldest first: one line each,\n"
		    "STATE KIND Link <<===>> Target, where STATE is present (still the link\n"
		    "made), changed (something else is there now) or gone. --json: one object\n"
		    "per link. Exit 0, 1 your key is not enrolled, 3 no broker.\n";
	case LB_CLI_RM:
		return "usage: linkbroker rm [--json] LINK...\n\n"
		    "Remove each LINK, a link the broker made for you, if it is still that link\n"
		    "(the same file, not something put there since) and the policy would let it\n"
		    "make it now. The link itself is removed, never what it points at: a\n"
		    "directory link or junction is removed as rmdir removes one, its target's\n"
		    "contents untouched; a hard link only while the file has another name.\n"
		    "Exit: the worst of 0 removed, 1 denied (not made by the broker for you,\n"
		    "or the policy), 2 bad input, 3 no broker, 4 it failed (changed, gone).\n";
	case LB_CLI_CREATE:
	case LB_CLI_HELP:
		break;
	}
	return NULL;
}

static int
lb_usage_error(const char *why, const char *bad)
{
	struct lb_buf b;
	const char *s;

	lb_buf_init(&b, LB_WHY_MAX);
	if (lb_buf_printf(&b, "linkbroker: %s", why) == LB_OK &&
	    (bad == NULL || (lb_buf_put_cstr(&b, ": ") == LB_OK &&
	    lb_buf_put_display(&b, bad, strlen(bad)) == LB_OK)) &&
	    lb_buf_cstr(&b, &s) == LB_OK)
		fprintf(stderr, "%s\n%s", s, lb_synopsis);
	else
		fprintf(stderr, "linkbroker: usage error\n%s", lb_synopsis);
	lb_buf_free(&b);
	return LB_EXIT_BAD_INPUT;
}

/* ---- output ---- */

/* Write B and a newline to F. A failed write to stdout is caught by the
 * ferror() check in main(); stderr has nowhere to report to. */
static void lb_progress_clear(void);

static void
lb_emit(struct lb_buf *b, FILE *f)
{
	lb_progress_clear();
	if (lb_buf_put_u8(b, '\n') != LB_OK) {
		fputs("linkbroker: (output too long to print)\n", f);
		return;
	}
	lb_client_write(f, b->data, b->len);
}

/* A problem that is not the result of a link request (keygen, status,
 * reading a batch file): "linkbroker: MSG" or {"status","exit","message"}.
 * MSG NULL: STATUS's own message. */
static int
lb_fail(int json, int status, const char *msg, size_t msg_len)
{
	struct lb_buf o;
	int r;

	if (msg == NULL) {
		msg = lb_strerror(status);
		msg_len = strlen(msg);
	}
	lb_buf_init(&o, LB_OUT_MAX);
	if (json)
		r = lb_buf_printf(&o, "{\"status\":%d,\"exit\":%d,\"message\":", status,
		    lb_exit_code(status)) == LB_OK &&
		    lb_json_put_str(&o, msg, msg_len) == LB_OK && lb_buf_put_u8(&o, '}') == LB_OK;
	else
		r = lb_buf_put_cstr(&o, "linkbroker: ") == LB_OK &&
		    lb_buf_put_display(&o, msg, msg_len) == LB_OK;
	if (!r)
		(void)LB_WHY(&o, 0, "linkbroker: %s", lb_strerror(status));
	lb_emit(&o, json ? stdout : stderr);
	lb_buf_free(&o);
	return lb_exit_code(status);
}

static int
lb_fail_buf(int json, int status, const struct lb_buf *why)
{
	return lb_fail(json, status, why->len > 0 ? (const char *)why->data : NULL, why->len);
}


static int
lb_result_json(struct lb_buf *o, const struct lb_result *r, int ex)
{
	static const char *const verdicts[] = { "allowed", "denied", "failed" };
	int rc;

	if ((rc = lb_buf_put_cstr(o, "{\"link\":")) != LB_OK ||
	    (rc = lb_json_put_cstr(o, r->link)) != LB_OK ||
	    (rc = lb_buf_put_cstr(o, ",\"target\":")) != LB_OK ||
	    (rc = lb_json_put_cstr(o, r->target)) != LB_OK ||
	    (rc = lb_buf_put_cstr(o, ",\"kind\":")) != LB_OK ||
	    (rc = lb_json_put_cstr(o, r->link != NULL ? lb_kind_name(r->kind) : NULL)) != LB_OK ||
	    (rc = lb_buf_printf(o, ",\"verdict\":\"%s\",\"status\":%d,\"exit\":%d,\"rule\":",
	    verdicts[ex < 2 ? ex : 2], r->status, ex)) != LB_OK ||
	    (rc = lb_json_put_str(o, r->rule_len > 0 ? r->rule : NULL, r->rule_len)) != LB_OK ||
	    (rc = lb_buf_put_cstr(o, ",\"message\":")) != LB_OK ||
	    (rc = lb_json_put_str(o, r->msg, r->msg_len)) != LB_OK)
		return rc;
	if (r->index > 0 && (rc = lb_buf_printf(o, ",\"line\":%zu", r->index)) != LB_OK)
		return rc;
	return lb_buf_put_u8(o, '}');
}

static int
lb_result_text(struct lb_buf *o, const struct lb_result *r, int ex)
{
	const char *msg = r->msg;
	size_t msg_len = r->msg_len;
	int rc;

	if (ex == LB_EXIT_OK && r->type == LB_MSG_REMOVE)   /* the broker's mklink-style line */
		return lb_buf_put_display(o, r->msg, r->msg_len);
	if (ex == LB_EXIT_OK && r->type == LB_MSG_CREATE && r->link != NULL && r->target != NULL) {
		if ((rc = lb_buf_printf(o, "%s created for ", lb_kind_mklink(r->kind))) != LB_OK ||
		    (rc = lb_buf_put_display(o, r->link, strlen(r->link))) != LB_OK ||
		    (rc = lb_buf_put_cstr(o, " <<===>> ")) != LB_OK)
			return rc;
		return lb_buf_put_display(o, r->target, strlen(r->target));
	}
	if (ex == LB_EXIT_OK) {
		if ((rc = lb_buf_put_cstr(o, "allowed: ")) != LB_OK)
			return rc;
		return r->rule_len > 0 ? lb_buf_put_display(o, r->rule, r->rule_len) :
		    lb_buf_put_display(o, r->msg, r->msg_len);
	}
	if (msg_len == 0) {
		msg = lb_strerror(r->status != LB_OK ? r->status : LB_E_DENIED);
		msg_len = strlen(msg);
	}
	if ((rc = lb_buf_put_cstr(o, "linkbroker: ")) != LB_OK ||
	    (r->index > 0 && (rc = lb_buf_printf(o, "line %zu: ", r->index)) != LB_OK) ||
	    (r->type == LB_MSG_REMOVE && r->link != NULL &&
	    ((rc = lb_buf_put_display(o, r->link, strlen(r->link))) != LB_OK ||
	    (rc = lb_buf_put_cstr(o, ": ")) != LB_OK)) ||
	    (ex == LB_EXIT_DENIED && (rc = lb_buf_put_cstr(o, "denied: ")) != LB_OK))
		return rc;
	return lb_buf_put_display(o, msg, msg_len);
}

/* Print R (stdout for results, stderr for denials and failures in text
 * mode) and return its exit code. */
static int
lb_report(const struct lb_result *r, int json)
{
	struct lb_buf o;
	int ex = lb_result_exit(r), rc;

	lb_buf_init(&o, LB_OUT_MAX);
	rc = json ? lb_result_json(&o, r, ex) : lb_result_text(&o, r, ex);
	if (rc != LB_OK)
		(void)LB_WHY(&o, 0, "linkbroker: result not printable: %s", lb_strerror(rc));
	lb_emit(&o, json || ex == LB_EXIT_OK ? stdout : stderr);
	lb_buf_free(&o);
	return ex;
}

/* A progress line is on stderr (a terminal): cleared before any output. */
static int lb_progress_shown;

static void
lb_progress_clear(void)
{
	if (lb_progress_shown) {
		fputs("\r\033[K", stderr);
		lb_progress_shown = 0;
	}
}

/* R (index: the batch line, else 0; type, kind and paths as typed) with
 * the library's outcome OUT. */
static void
lb_result_from(struct lb_result *r, const struct linkbroker_result *out)
{
	r->status = out->status;
	r->allowed = out->allowed;
	r->state = out->state;
	r->stopped = out->stopped;
	r->rule = out->rule;
	r->rule_len = out->rule_len;
	r->msg = out->message;
	r->msg_len = out->message_len;
}

static int
lb_open(const struct lb_cli_args *a, struct linkbroker **h)
{
	int r;

	if ((r = linkbroker_open(h, a->endpoint, a->service_key)) != LB_OK)
		return lb_fail(a->json, r, NULL, 0);
	return LB_EXIT_OK;
}

static int
lb_cmd_link(const struct lb_cli_args *a)
{
	struct linkbroker *h;
	struct linkbroker_result out;
	struct lb_result res;
	int ex;

	if ((ex = lb_open(a, &h)) != LB_EXIT_OK)
		return ex;
	memset(&res, 0, sizeof(res));
	res.type = a->cmd == LB_CLI_CHECK ? LB_MSG_CHECK : LB_MSG_CREATE;
	res.kind = a->kind;
	res.link = a->link;
	res.target = a->target;
	if (res.type == LB_MSG_CHECK)
		(void)linkbroker_check(h, (int)a->kind, a->link, a->target, &out);
	else
		(void)linkbroker_create(h, (int)a->kind, a->link, a->target, &out);
	lb_result_from(&res, &out);
	ex = lb_report(&res, a->json);
	linkbroker_close(h);
	return ex;
}

/* ---- batch: pipelined requests over one connection ---- */

/* One input line: a request, a line the client refuses (WHY), or
 * neither (blank, comment). */
struct lb_line {
	size_t no;
	struct linkbroker_request rq;
	const char *why;
	int status;                   /* LB_OK, or why the line is refused */
};

struct lb_cli_batch {
	const struct lb_cli_args *a;
	const struct lb_line *lines;  /* of the segment being sent */
	size_t lines_total;
	size_t line_done;             /* the last line reported */
	int worst;
	/* where a stopped batch stopped (lines; 0: none) */
	size_t stop_line, first_unanswered, last_unanswered, unsent_from;
};

/* The progress line on a terminal while the broker paces us: at most one
 * a second, on stderr, overwritten in place and cleared before any other
 * output. */
static void
lb_batch_pace(void *arg, size_t delivered)
{
	struct lb_cli_batch *b = arg;

	(void)delivered;
	if (!lb_client_stderr_is_tty())
		return;
	fprintf(stderr, "\rlinkbroker: %zu of %zu lines done; paced by the broker's rate limit\033[K",
	    b->line_done, b->lines_total);
	fflush(stderr);
	lb_progress_shown = 1;
}

static void
lb_batch_worst(struct lb_cli_batch *b, int ex)
{
	if (ex > b->worst)
		b->worst = ex;
}

/* A result of the segment: reported, or (after the batch stopped) noted
 * for the closing line. */
static void
lb_batch_result(void *arg, size_t index, const struct linkbroker_result *out)
{
	struct lb_cli_batch *b = arg;
	const struct lb_line *l = &b->lines[index];
	struct lb_result res;

	if (out->stopped == 2) {
		if (out->state == LINKBROKER_UNANSWERED) {
			if (b->first_unanswered == 0)
				b->first_unanswered = l->no;
			b->last_unanswered = l->no;
			b->unsent_from = 0;
		} else if (b->unsent_from == 0) {
			b->unsent_from = l->no;
		}
		return;
	}
	if (out->stopped)
		b->stop_line = l->no;
	memset(&res, 0, sizeof(res));
	res.index = l->no;
	res.type = l->rq.check ? LB_MSG_CHECK : LB_MSG_CREATE;
	res.kind = (enum lb_kind)l->rq.kind;
	res.link = l->rq.link;
	res.target = l->rq.target;
	lb_result_from(&res, out);
	lb_batch_worst(b, lb_report(&res, b->a->json));
	b->line_done = l->no;
}

/* Where a batch stopped: which lines were sent and never answered (they
 * may have been made) and the first line not sent. */
static void
lb_batch_stopped(const struct lb_cli_batch *b)
{
	fprintf(stderr, "linkbroker: batch stopped at line %zu", b->stop_line);
	if (b->first_unanswered != 0 && b->first_unanswered == b->last_unanswered)
		fprintf(stderr, "; line %zu was sent but not answered "
		    "(the broker may have made its link)", b->first_unanswered);
	else if (b->first_unanswered != 0)
		fprintf(stderr, "; lines %zu to %zu were sent but not answered "
		    "(the broker may have made their links)", b->first_unanswered, b->last_unanswered);
	if (b->unsent_from > 0)
		fprintf(stderr, "; lines from %zu on were not sent", b->unsent_from);
	fputc('\n', stderr);
}

/* Split INPUT (NUL-terminated, modified in place) into lines: *OUT, *N
 * (requests and refused lines only) and *TOTAL (all lines). */
static int
lb_batch_lines(char *p, const char *end, struct lb_line **out, size_t *n, size_t *total)
{
	static const char bom[] = "\xEF\xBB\xBF";
	struct lb_cli_line req;
	struct lb_line *lines;
	char *nl, *line;
	const char *why;
	size_t len, no = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	for (nl = p; nl < end && (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL; nl++)
		cap++;
	cap += end > p && end[-1] != '\n';
	*total = cap;
	if (cap == 0)
		return LB_OK;
	if ((lines = calloc(cap, sizeof(*lines))) == NULL)
		return LB_E_NOMEM;
	for (; p < end; p += len + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		line = p;
		line[len] = '\0';
		no++;
		if (no == 1 && strncmp(line, bom, 3) == 0)
			line += 3;
		memset(&req, 0, sizeof(req));
		if (strlen(line) != len - (size_t)(line - p)) {
			why = "line contains a NUL byte";
			r = LB_E_USAGE;
		} else {
			r = lb_cli_parse_line(line, &req, &why);
		}
		if (r == LB_OK && req.link == NULL)
			continue;
		lines[*n].no = no;
		lines[*n].status = r;
		lines[*n].why = r != LB_OK ? why : NULL;
		lines[*n].rq.kind = (int)req.kind;
		lines[*n].rq.link = r == LB_OK ? req.link : NULL;
		lines[*n].rq.target = r == LB_OK ? req.target : NULL;
		(*n)++;
	}
	*out = lines;
	return LB_OK;
}

/* A line the client refuses, reported in its place. */
static void
lb_batch_refused(struct lb_cli_batch *b, const struct lb_line *l)
{
	struct lb_result res;

	memset(&res, 0, sizeof(res));
	res.index = l->no;
	res.type = LB_MSG_CREATE;
	res.status = l->status;
	res.msg = l->why;
	res.msg_len = strlen(l->why);
	lb_batch_worst(b, lb_report(&res, b->a->json));
	b->line_done = l->no;
}

/* The requests of LINES[0..N), in runs between refused lines: each run
 * pipelined over the handle's one connection. */
static void
lb_batch_run(struct lb_cli_batch *b, struct linkbroker *h, struct lb_line *lines, size_t n)
{
	struct linkbroker_request *rq;
	size_t i = 0, j;
	int r;

	if ((rq = calloc(n > 0 ? n : 1, sizeof(*rq))) == NULL) {
		lb_batch_worst(b, lb_fail(b->a->json, LB_E_NOMEM, NULL, 0));
		return;
	}
	while (i < n) {
		if (lines[i].status != LB_OK) {
			lb_batch_refused(b, &lines[i++]);
			continue;
		}
		for (j = i; j < n && lines[j].status == LB_OK; j++)
			rq[j - i] = lines[j].rq;
		b->lines = lines + i;
		if ((r = linkbroker_batch(h, rq, j - i, lb_batch_result, b)) != LB_OK) {
			lb_batch_worst(b, lb_exit_code(r) != LB_EXIT_OK ? lb_exit_code(r) : LB_EXIT_FAILED);
			/* the lines after this run were not sent either */
			if (b->unsent_from == 0 && j < n)
				b->unsent_from = lines[j].no;
			if (b->stop_line == 0)
				b->stop_line = lines[i].no;
			lb_batch_stopped(b);
			break;
		}
		i = j;
	}
	free(rq);
}

static int
lb_cmd_batch(const struct lb_cli_args *a)
{
	const char *file = a->batch_file != NULL && strcmp(a->batch_file, "-") != 0 ?
	    a->batch_file : NULL;
	struct linkbroker *h = NULL;
	struct lb_cli_batch b;
	struct lb_buf input, why;
	struct lb_line *lines = NULL;
	size_t n = 0;
	int r;

	memset(&b, 0, sizeof(b));
	b.a = a;
	lb_buf_init(&input, LB_BATCH_INPUT_MAX + 1);
	lb_buf_init(&why, LB_WHY_MAX);
	if ((r = lb_client_read_file(file, &input, &why)) != LB_OK ||
	    (r = lb_buf_put_u8(&input, '\0')) != LB_OK) {
		struct lb_buf msg;
		const char *w = "";

		if (why.len == 0 || lb_buf_cstr(&why, &w) != LB_OK)
			w = lb_strerror(r);
		lb_buf_init(&msg, LB_WHY_MAX);
		if (lb_buf_printf(&msg, "cannot read the batch input %s: %s",
		    file != NULL ? file : "(standard input)", w) != LB_OK)
			lb_buf_reset(&msg);
		b.worst = lb_fail_buf(a->json, r, &msg);
		lb_buf_free(&msg);
		goto out;
	}
	if ((r = lb_batch_lines((char *)input.data, (char *)input.data + input.len - 1, &lines, &n,
	    &b.lines_total)) != LB_OK) {
		b.worst = lb_fail(a->json, r, NULL, 0);
		goto out;
	}
	if ((b.worst = lb_open(a, &h)) != LB_EXIT_OK)
		goto out;
	linkbroker_set_progress(h, lb_batch_pace, &b);
	lb_batch_run(&b, h, lines, n);
out:
	linkbroker_close(h);
	free(lines);
	lb_buf_free(&why);
	lb_buf_free(&input);
	return b.worst;
}

static int
lb_cmd_keygen(const struct lb_cli_args *a)
{
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES];
	char b64[LB_PK_B64_LEN];
	struct lb_buf name, where, why, o;
	const char *n;
	int r, ex;

	lb_buf_init(&name, 1024);
	lb_buf_init(&where, LB_PATH_INPUT_MAX);
	lb_buf_init(&why, LB_WHY_MAX);
	lb_buf_init(&o, LB_OUT_MAX);
	if ((r = lb_crypto_init()) != LB_OK ||
	    (r = lb_client_user_name(&name, &why)) != LB_OK ||
	    (r = lb_buf_cstr(&name, &n)) != LB_OK ||
	    (r = lb_sign_keypair(pk, sk)) != LB_OK ||
	    (r = lb_pk_to_b64(pk, b64)) != LB_OK ||
	    (r = lb_client_key_save(sk, a->force, &why)) != LB_OK) {
		ex = lb_fail_buf(a->json, r, &why);
		goto out;
	}
	if (lb_client_key_location(&where) != LB_OK)
		lb_buf_reset(&where);
	if (a->json) {
		r = lb_buf_put_cstr(&o, "{\"user\":") == LB_OK && lb_json_put_cstr(&o, n) == LB_OK &&
		    lb_buf_printf(&o, ",\"public_key\":\"%s\",\"key_file\":", b64) == LB_OK &&
		    lb_json_put_str(&o, (const char *)where.data, where.len) == LB_OK &&
		    lb_buf_put_u8(&o, '}') == LB_OK;
	} else {
		/* Exactly the block an administrator pastes into the policy. */
		r = lb_buf_put_cstr(&o, "[key:") == LB_OK &&
		    lb_buf_put_display(&o, n, strlen(n)) == LB_OK &&
		    lb_buf_put_cstr(&o, "]\nuser = ") == LB_OK &&
		    lb_buf_put_display(&o, n, strlen(n)) == LB_OK &&
		    lb_buf_printf(&o, "\npublic_key = %s", b64) == LB_OK;
	}
	if (!r) {
		ex = lb_fail(a->json, LB_E_NOMEM, NULL, 0);
		goto out;
	}
	lb_emit(&o, stdout);
	if (!a->json) {
		lb_buf_reset(&o);
		if (lb_buf_put_cstr(&o, "linkbroker: key saved in ") == LB_OK &&
		    lb_buf_put_display(&o, (const char *)where.data, where.len) == LB_OK &&
		    lb_buf_put_cstr(&o, "\nlinkbroker: send the block above to your administrator, "
		    "who adds it to the broker's policy to enroll your key") == LB_OK)
			lb_emit(&o, stderr);
	}
	ex = LB_EXIT_OK;
out:
	lb_wipe(sk, sizeof(sk));
	lb_buf_free(&o);
	lb_buf_free(&why);
	lb_buf_free(&where);
	lb_buf_free(&name);
	return ex;
}

static int
lb_status_print(const struct lb_cli_args *a, struct linkbroker *h, const struct linkbroker_result *res,
    const char *key_file, const char *pk_b64)
{
	const int enrolled = res->status == LB_OK ? 1 : res->status == LB_E_KEY_UNKNOWN ? 0 : -1;
	static const char *const yn[] = { "no", "yes", "unknown" };
	const char *endpoint = linkbroker_endpoint(h), *service_key = linkbroker_service_key_file(h);
	struct lb_buf o;
	int ex = res->status == LB_OK ? LB_EXIT_OK : lb_exit_code(res->status), r;

	lb_buf_init(&o, LB_OUT_MAX);
	if (a->json) {
		r = lb_buf_put_cstr(&o, "{\"endpoint\":") == LB_OK &&
		    lb_json_put_cstr(&o, endpoint) == LB_OK &&
		    lb_buf_put_cstr(&o, ",\"genuine\":true,\"key_file\":") == LB_OK &&
		    lb_json_put_cstr(&o, key_file) == LB_OK &&
		    lb_buf_put_cstr(&o, ",\"public_key\":") == LB_OK &&
		    lb_json_put_cstr(&o, pk_b64) == LB_OK &&
		    lb_buf_printf(&o, ",\"enrolled\":%s,\"status\":%d,\"exit\":%d,\"message\":",
		    enrolled < 0 ? "null" : enrolled ? "true" : "false", res->status, ex) == LB_OK &&
		    lb_json_put_str(&o, res->message, res->message_len) == LB_OK &&
		    lb_buf_put_u8(&o, '}') == LB_OK;
	} else {
		if (key_file == NULL)     /* its location could not be worked out */
			key_file = "(unknown)";
		r = lb_buf_put_cstr(&o, "endpoint: ") == LB_OK &&
		    lb_buf_put_display(&o, endpoint, strlen(endpoint)) == LB_OK &&
		    lb_buf_put_cstr(&o, "\ngenuine:  yes, the answer is signed by the key in ") == LB_OK &&
		    lb_buf_put_display(&o, service_key, strlen(service_key)) == LB_OK &&
		    lb_buf_put_cstr(&o, "\nkey:      ") == LB_OK &&
		    (pk_b64 != NULL ?
		    lb_buf_put_display(&o, key_file, strlen(key_file)) == LB_OK &&
		    lb_buf_printf(&o, " (public key %s)", pk_b64) == LB_OK :
		    lb_buf_put_cstr(&o, "none; run 'linkbroker keygen'") == LB_OK) &&
		    lb_buf_printf(&o, "\nenrolled: %s\nbroker:   ", yn[enrolled < 0 ? 2 : enrolled]) == LB_OK &&
		    lb_buf_put_display(&o, res->message, res->message_len) == LB_OK;
	}
	if (r)
		lb_emit(&o, stdout);
	else
		ex = lb_fail(a->json, LB_E_NOMEM, NULL, 0);
	lb_buf_free(&o);
	return ex;
}

static int
lb_cmd_status(const struct lb_cli_args *a)
{
	struct linkbroker *h;
	struct linkbroker_result res;
	struct lb_buf where;
	char b64[LB_PK_B64_LEN] = "";
	const char *key_file = NULL;
	int r, have_key, ex;

	if ((ex = lb_open(a, &h)) != LB_EXIT_OK)
		return ex;
	lb_buf_init(&where, LB_PATH_INPUT_MAX);
	if (lb_client_key_location(&where) != LB_OK || lb_buf_cstr(&where, &key_file) != LB_OK)
		key_file = NULL;
	r = linkbroker_status(h, &res);
	if (res.state != LINKBROKER_ANSWERED) {
		ex = lb_fail(a->json, r, res.message_len > 0 ? res.message : NULL, res.message_len);
		goto out;
	}
	/* The key loaded for the request (none: a throwaway one asked). */
	have_key = linkbroker_public_key(h, b64) == LB_OK;
	ex = lb_status_print(a, h, &res, key_file, have_key ? b64 : NULL);
out:
	lb_buf_free(&where);
	linkbroker_close(h);
	return ex;
}

/* ---- list and rm: the links the broker made ---- */

/* Where the link E stands, looked at with this user's own rights:
 * present (the very file made), changed, gone, or unknown. */
static const char *
lb_listed_state(const char *link, const struct lb_buf *file)
{
	char id[LB_CLIENT_FILE_ID_MAX];
	int is_link, r;

	r = lb_client_file_id(link, id, &is_link);
	if (r == LB_E_NOENT)
		return "gone";
	if (r != LB_OK)
		return "unknown";
	return file->len > 0 && strcmp(id, (const char *)file->data) == 0 ? "present" : "changed";
}

/* Print the link on LINE (LEN bytes) of a page: LB_OK, or the page is
 * not what a broker sends. */
static int
lb_listed_print(const struct lb_cli_args *a, const char *line, size_t len)
{
	struct lb_cli_listed e;
	struct lb_buf link, target, file, o;
	const char *state = "unknown", *kind;
	int r;

	lb_buf_init(&link, LB_PATH_BUF_MAX + 1);
	lb_buf_init(&target, LB_PATH_BUF_MAX + 1);
	lb_buf_init(&file, 64);
	lb_buf_init(&o, LB_OUT_MAX);
	if ((r = lb_cli_list_line(line, len, &e)) != LB_OK ||
	    (!e.too_long && ((r = lb_json_str_cstr(&e.link, &link)) != LB_OK ||
	    (r = lb_json_str_cstr(&e.target, &target)) != LB_OK ||
	    (r = lb_json_str_cstr(&e.file, &file)) != LB_OK)))
		goto out;
	kind = lb_kind_name(e.kind);
	if (!e.too_long)
		state = lb_listed_state((const char *)link.data, &file);
	if (a->json)
		r = lb_buf_printf(&o, "{\"seq\":%llu,\"time\":\"%.*s\",\"kind\":\"%s\",\"link\":",
		    (unsigned long long)e.seq, (int)e.time.raw_len, e.time.raw, kind) == LB_OK &&
		    lb_json_put_str(&o, e.too_long ? NULL : (const char *)link.data, link.len) == LB_OK &&
		    lb_buf_put_cstr(&o, ",\"target\":") == LB_OK &&
		    lb_json_put_str(&o, e.too_long ? NULL : (const char *)target.data, target.len) == LB_OK &&
		    lb_buf_put_cstr(&o, ",\"file\":") == LB_OK &&
		    lb_json_put_str(&o, file.len > 0 ? (const char *)file.data : NULL, file.len) == LB_OK &&
		    lb_buf_printf(&o, ",\"state\":\"%s\"}", state) == LB_OK ? LB_OK : LB_E_NOMEM;
	else if (e.too_long)
		r = lb_buf_printf(&o, "%-8s %-10s (paths too long to list: see audit record %llu)", state,
		    kind, (unsigned long long)e.seq);
	else
		r = lb_buf_printf(&o, "%-8s %-10s ", state, kind) == LB_OK &&
		    lb_buf_put_display(&o, (const char *)link.data, link.len) == LB_OK &&
		    lb_buf_put_cstr(&o, " <<===>> ") == LB_OK &&
		    lb_buf_put_display(&o, (const char *)target.data, target.len) == LB_OK ?
		    LB_OK : LB_E_NOMEM;
	if (r == LB_OK)
		lb_emit(&o, stdout);
out:
	lb_buf_free(&link);
	lb_buf_free(&target);
	lb_buf_free(&file);
	lb_buf_free(&o);
	return r;
}

static const char lb_bad_page[] = "the broker's list page is malformed";
static const char lb_bad_cursor[] = "the broker's list cursor does not move on";

static int
lb_cmd_list(const struct lb_cli_args *a)
{
	struct linkbroker *h;
	struct linkbroker_result res;
	struct lb_buf cursor, page;
	uint64_t last = 0, next;
	const char *p, *end, *nl;
	int ex, r;

	if ((ex = lb_open(a, &h)) != LB_EXIT_OK)
		return ex;
	lb_buf_init(&cursor, 32);
	lb_buf_init(&page, LB_FRAME_MAX + 1);
	for (;;) {
		r = linkbroker_list_page(h, a->list_path, cursor.len > 0 ? (const char *)cursor.data : NULL,
		    &res);
		if (r != LB_OK) {
			ex = lb_fail(a->json, r, res.message_len > 0 ? res.message : NULL, res.message_len);
			break;
		}
		lb_buf_reset(&page);
		if (lb_buf_put(&page, res.message, res.message_len) != LB_OK) {
			ex = lb_fail(a->json, LB_E_NOMEM, NULL, 0);
			break;
		}
		/* an empty page has no bytes (its buffer may be NULL) */
		for (p = (const char *)page.data, end = page.len > 0 ? p + page.len : p; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			if (lb_listed_print(a, p, (size_t)(nl - p)) != LB_OK) {
				ex = lb_fail(a->json, LB_E_BAD_FIELD, lb_bad_page, strlen(lb_bad_page));
				goto out;
			}
		}
		if (res.rule_len == 0)
			break;
		/* each page must move on, or a broken broker could keep us here */
		if (lb_json_uint_text(res.rule, res.rule_len, UINT64_MAX, &next) != LB_OK ||
		    next <= last) {
			ex = lb_fail(a->json, LB_E_BAD_FIELD, lb_bad_cursor, strlen(lb_bad_cursor));
			break;
		}
		last = next;
		lb_buf_reset(&cursor);
		if (lb_buf_put(&cursor, res.rule, res.rule_len) != LB_OK || lb_buf_put_u8(&cursor, '\0') != LB_OK) {
			ex = lb_fail(a->json, LB_E_NOMEM, NULL, 0);
			break;
		}
	}
out:
	lb_buf_free(&cursor);
	lb_buf_free(&page);
	linkbroker_close(h);
	return ex;
}

static int
lb_cmd_rm(const struct lb_cli_args *a)
{
	struct linkbroker *h;
	struct linkbroker_result out;
	struct lb_result res;
	size_t i;
	int ex, worst = LB_EXIT_OK;

	if ((ex = lb_open(a, &h)) != LB_EXIT_OK)
		return ex;
	for (i = 0; i < a->n_rm; i++) {
		memset(&res, 0, sizeof(res));
		res.type = LB_MSG_REMOVE;
		res.kind = LB_KIND_NONE;
		res.link = a->rm_links[i];
		(void)linkbroker_remove(h, a->rm_links[i], &out);
		lb_result_from(&res, &out);
		if ((ex = lb_report(&res, a->json)) > worst)
			worst = ex;
		if (ex == LB_EXIT_UNREACHABLE)
			break;   /* the next ones would not get through either */
	}
	linkbroker_close(h);
	return worst;
}

static int
lb_cmd_run(const struct lb_cli_args *a)
{
	return lb_run(a->run_argc, a->run_argv, a->endpoint, a->service_key);
}

int
main(int argc, char **argv)
{
	struct lb_cli_args a;
	const char *why, *bad;
	char **args;
	int nargs, ex = LB_EXIT_OK;

	if (lb_client_init(argc, argv, &nargs, &args) != LB_OK) {
		fputs("linkbroker: cannot read the command line\n", stderr);
		return LB_EXIT_BAD_INPUT;
	}
	if (lb_cli_parse(nargs, args, &a, &why, &bad) != LB_OK) {
		lb_cli_args_free(&a);
		return lb_usage_error(why, bad);
	}
	switch (a.cmd) {
	case LB_CLI_HELP:
		if (lb_help_text(a.help_for) != NULL) {
			fputs(lb_help_text(a.help_for), stdout);
			break;
		}
		fputs(lb_synopsis, stdout);
		printf(lb_help_more, lb_client_default_endpoint(), lb_client_default_service_key());
		break;
	case LB_CLI_KEYGEN:
		ex = lb_cmd_keygen(&a);
		break;
	case LB_CLI_STATUS:
		ex = lb_cmd_status(&a);
		break;
	case LB_CLI_BATCH:
		ex = lb_cmd_batch(&a);
		break;
	case LB_CLI_RUN:
		ex = lb_cmd_run(&a);
		break;
	case LB_CLI_LIST:
		ex = lb_cmd_list(&a);
		break;
	case LB_CLI_RM:
		ex = lb_cmd_rm(&a);
		break;
	case LB_CLI_CREATE:
	case LB_CLI_CHECK:
		ex = lb_cmd_link(&a);
		break;
	}
	lb_cli_args_free(&a);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("linkbroker: cannot write to standard output\n", stderr);
		if (ex == LB_EXIT_OK)
			ex = LB_EXIT_FAILED;
	}
	return ex;
}
