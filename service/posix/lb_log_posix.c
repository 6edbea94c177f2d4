/* lb_log_posix: the broker's events (struct lb_event) to journald with
 * LINKBROKER_* fields, through sd_journal_sendv when the daemon was built
 * with libsystemd and journald listens, else to syslog as one line; with
 * --foreground to stderr as well (docs/audit.md, "In the system's logs"). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>
#ifdef LB_HAVE_SYSTEMD
#define SD_JOURNAL_SUPPRESS_LOCATION 1   /* no build paths in the journal */
#include <systemd/sd-journal.h>
#endif

#include "lb_buf.h"
#include "lb_posix.h"

static int lb_log_stderr;

void
lb_posix_log_open(int foreground)
{
	lb_log_stderr = foreground;
	openlog("linkbrokerd", LOG_PID | LOG_NDELAY | (foreground ? LOG_PERROR : 0), LOG_AUTHPRIV);
}

/* The syslog priority of each event. */
static int
lb_log_prio(enum lb_event_id id)
{
	switch (id) {
	case LB_EVENT_CREATED:
	case LB_EVENT_ANSWERED:
	case LB_EVENT_BATCH:
	case LB_EVENT_REMOVED:
		return LOG_INFO;
	case LB_EVENT_DENIED:
	case LB_EVENT_FAILED:
	case LB_EVENT_POLICY_RELOADED:
	case LB_EVENT_AUDIT_RESTORED:
		return LOG_NOTICE;
	case LB_EVENT_POLICY_REFUSED:
	case LB_EVENT_AUDIT_FAILED:
		return LOG_ERR;
	}
	return LOG_NOTICE;
}

/* journald's MESSAGE_ID of each event: fixed, so that `journalctl
 * MESSAGE_ID=...` and catalogs can name them (random, made once). */
static const char *
lb_log_message_id(enum lb_event_id id)
{
	switch (id) {
	case LB_EVENT_CREATED:         return "b557e31a35b447e9a803a131f64a6ab0";
	case LB_EVENT_ANSWERED:        return "3b7493b4a49a4d2a937dafc9f8d6b09a";
	case LB_EVENT_BATCH:           return "60141d1677cc4d059a5a75fd123f44b1";
	case LB_EVENT_REMOVED:         return "13e3604cfc3a4107b8f377986266b8f8";
	case LB_EVENT_DENIED:          return "6f3cd6c2afc94574b9cff720acd76691";
	case LB_EVENT_FAILED:          return "e5b7545923024aed8932aebf94662808";
	case LB_EVENT_POLICY_RELOADED: return "86a98dad8f6f47d7a708115b069a893c";
	case LB_EVENT_POLICY_REFUSED:  return "a1e0a3738d934d379c50bfd3a3540c08";
	case LB_EVENT_AUDIT_FAILED:    return "09f1e245ae554e43a6a32d884c1df1f8";
	case LB_EVENT_AUDIT_RESTORED:  return "413b7c36fe9f4fe18f97b59041a73707";
	}
	return NULL;
}

#ifdef LB_HAVE_SYSTEMD
#define LB_LOG_FIELDS 17

/* KEY=VALUE (N bytes of VALUE, control characters and bytes that are not
 * UTF-8 shown escaped, as in the line) appended to B as one field; its
 * offset and length in *AT. Nothing for a NULL value. */
static int
lb_log_field(struct lb_buf *b, size_t at[2], const char *key, const char *v, size_t n)
{
	size_t start = b->len;
	int rc;

	at[0] = at[1] = 0;
	if (v == NULL)
		return LB_OK;
	if ((rc = lb_buf_printf(b, "%s=", key)) != LB_OK ||
	    (rc = lb_buf_put_display(b, v, n)) != LB_OK)
		return rc;
	at[0] = start;
	at[1] = b->len - start;
	return LB_OK;
}

/* The same for a C string V (NULL: nothing). */
static int
lb_log_str(struct lb_buf *b, size_t at[2], const char *key, const char *v)
{
	return lb_log_field(b, at, key, v, v != NULL ? strlen(v) : 0);
}

static int lb_log_fieldf(struct lb_buf *b, size_t at[2], const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
lb_log_fieldf(struct lb_buf *b, size_t at[2], const char *key, const char *fmt, ...)
{
	char v[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return lb_log_field(b, at, key, v, strlen(v));
}

/* LB_OK if journald took it. */
static int
lb_log_journal(const struct lb_event *ev, int prio)
{
	struct iovec iov[LB_LOG_FIELDS];
	size_t at[LB_LOG_FIELDS][2], i, n = 0;
	struct lb_buf b;
	int rc = LB_OK;

	memset(at, 0, sizeof(at));
	lb_buf_init(&b, 1024 * 1024);
	rc = lb_log_str(&b, at[n++], "MESSAGE", ev->text != NULL ? ev->text : "");
	if (rc == LB_OK)
		rc = lb_log_fieldf(&b, at[n++], "PRIORITY", "%d", prio);
	if (rc == LB_OK)
		rc = lb_log_str(&b, at[n++], "SYSLOG_IDENTIFIER", "linkbrokerd");
	if (rc == LB_OK)   /* LOG_AUTHPRIV, as the syslog lines */
		rc = lb_log_fieldf(&b, at[n++], "SYSLOG_FACILITY", "%d", LOG_AUTHPRIV >> 3);
	if (rc == LB_OK)
		rc = lb_log_str(&b, at[n++], "MESSAGE_ID", lb_log_message_id(ev->id));
	if (rc == LB_OK)
		rc = lb_log_fieldf(&b, at[n++], "LINKBROKER_EVENT_ID", "%d", (int)ev->id);
	if (rc == LB_OK)
		rc = lb_log_str(&b, at[n++], "LINKBROKER_EVENT", ev->event);
	if (rc == LB_OK)
		rc = lb_log_str(&b, at[n++], "LINKBROKER_VERDICT", ev->verdict);
	if (rc == LB_OK)
		rc = lb_log_str(&b, at[n++], "LINKBROKER_USER", ev->user);
	if (rc == LB_OK)
		rc = lb_log_str(&b, at[n++], "LINKBROKER_UID", ev->sid);
	if (rc == LB_OK)
		rc = lb_log_str(&b, at[n++], "LINKBROKER_KIND", ev->kind);
	if (rc == LB_OK)
		rc = lb_log_field(&b, at[n++], "LINKBROKER_LINK", ev->link, ev->link_len);
	if (rc == LB_OK)
		rc = lb_log_field(&b, at[n++], "LINKBROKER_TARGET", ev->target, ev->target_len);
	if (rc == LB_OK)
		rc = lb_log_str(&b, at[n++], "LINKBROKER_RULE", ev->rule);
	if (rc == LB_OK && ev->event != NULL)
		rc = lb_log_fieldf(&b, at[n++], "LINKBROKER_ERROR", "%d", ev->error);
	if (rc == LB_OK && ev->seq != 0)
		rc = lb_log_fieldf(&b, at[n++], "LINKBROKER_SEQ", "%llu", (unsigned long long)ev->seq);
	if (rc == LB_OK) {
		size_t k = 0;

		for (i = 0; i < n; i++)
			if (at[i][1] > 0) {
				iov[k].iov_base = b.data + at[i][0];
				iov[k].iov_len = at[i][1];
				k++;
			}
		rc = sd_journal_sendv(iov, (int)k) == 0 ? LB_OK : LB_E_IO;
	}
	lb_buf_free(&b);
	return rc;
}
#endif

void
lb_posix_log_event(const struct lb_event *ev)
{
	int prio = lb_log_prio(ev->id);
	struct lb_buf b;
	const char *s;

	lb_buf_init(&b, 1024 * 1024);
	if (ev->text == NULL || lb_buf_put_display(&b, ev->text, strlen(ev->text)) != LB_OK ||
	    lb_buf_cstr(&b, &s) != LB_OK)
		s = "(event text unavailable)";
#ifdef LB_HAVE_SYSTEMD
	if (lb_log_journal(ev, prio) == LB_OK) {
		if (lb_log_stderr)
			fprintf(stderr, "linkbrokerd[%ld]: %s\n", (long)getpid(), s);
		lb_buf_free(&b);
		return;
	}
#endif
	syslog(prio, "%s", s);
	lb_buf_free(&b);
}

void
lb_posix_log(enum lb_event_id id, const char *fmt, ...)
{
	struct lb_event ev;
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memset(&ev, 0, sizeof(ev));
	ev.id = id;
	ev.text = text;
	lb_posix_log_event(&ev);
}
