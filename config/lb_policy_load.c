/* lb_policy_load: the INI policy loader. The whole file is read and checked
 * line by line first (size, encoding, line length, "key = value" syntax), so
 * inih never cuts a line or guesses; inih then drives one handler that builds
 * the model and stops at the first error, which is reported as FILE:LINE. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "lb_policy_int.h"
#include "lb_str.h"

enum lb_section {
	LB_SEC_NONE = 0,
	LB_SEC_BROKER,
	LB_SEC_KEY,
	LB_SEC_RULE,
};

#define LB_SEEN_MAX 16

struct lb_loader {
	const char *name;
	struct lb_policy *p;
	struct lb_buf *err;
	int rc;                       /* LB_OK until the first error */
	enum lb_section sec;
	unsigned sec_line;
	unsigned broker_line;         /* 0 until [broker] is seen */
	struct {
		char key[32];
		unsigned line;
	} seen[LB_SEEN_MAX];
	size_t n_seen;
};

static int
lb_fail(struct lb_loader *L, unsigned line, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Record the first error as "NAME:LINE: message"; returns 0 for inih. */
static int
lb_fail(struct lb_loader *L, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (L->rc != LB_OK)
		return 0;
	L->rc = LB_E_CONFIG;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (L->err != NULL) {
		int r;

		if (line > 0)
			r = lb_buf_printf(L->err, "%s:%u: %s", L->name, line, msg);
		else
			r = lb_buf_printf(L->err, "%s: %s", L->name, msg);
		(void)r;   /* the code is what matters; the message is best effort */
	}
	return 0;
}

static int
lb_nomem(struct lb_loader *L, unsigned line)
{
	(void)lb_fail(L, line, "out of memory");
	L->rc = LB_E_NOMEM;
	return 0;
}

static void
lb_warn(struct lb_loader *L, unsigned line, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Keep a warning as "NAME:LINE: warning: message\n" for check-config: the
 * policy is valid and loads, but should say something more precisely.
 * Past LB_POLICY_WARN_BYTES warnings are only counted. */
static void
lb_warn(struct lb_loader *L, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int r;

	L->p->n_warnings++;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r = lb_buf_printf(&L->p->warnings, "%s:%u: warning: %s\n", L->name, line, msg);
	(void)r;   /* a warning that does not fit is counted, not shown */
}

/* ---- the pre-scan ---- */

/* Length of the UTF-8 sequence at S (N bytes left), 0 if invalid. */
static size_t
lb_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		cp = s[0] & 0x1Fu;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		cp = s[0] & 0x0Fu;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static int
lb_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Check one line (without its '\n') the way inih will read it, so that inih
 * never meets something it would handle silently: a ':' separator, text
 * after "]", a section name inih would truncate. */
static int
lb_prescan_line(struct lb_loader *L, unsigned lineno, const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n && lb_is_blank(s[i]))
		i++;
	while (n > i && lb_is_blank(s[n - 1]))
		n--;
	if (i == n || s[i] == ';' || s[i] == '#')
		return LB_OK;
	if (s[i] == '[') {
		for (j = i + 1; j < n && s[j] != ']'; j++)
			;
		if (j == n)
			return lb_fail(L, lineno, "section header without ']'"), LB_E_CONFIG;
		if (j - i - 1 > LB_POLICY_NAME_MAX + 5)
			return lb_fail(L, lineno, "section name too long (at most %d characters after 'rule:' or 'key:')",
			    LB_POLICY_NAME_MAX), LB_E_CONFIG;
		for (j++; j < n && lb_is_blank(s[j]); j++)
			;
		if (j < n && s[j] != ';' && s[j] != '#')
			return lb_fail(L, lineno, "unexpected text after section header"), LB_E_CONFIG;
		return LB_OK;
	}
	for (j = i; j < n && s[j] != '=' && s[j] != ':'; j++)
		;
	if (j == n)
		return lb_fail(L, lineno, "expected 'key = value' or '[section]'"), LB_E_CONFIG;
	if (s[j] == ':')
		return lb_fail(L, lineno, "expected 'key = value' ('=' separates keys from values, not ':')"), LB_E_CONFIG;
	return LB_OK;
}

static int
lb_prescan(struct lb_loader *L, const char *data, size_t len)
{
	const unsigned char *u = (const unsigned char *)data;
	size_t i = 0, start = 0, step;
	unsigned lineno = 1;
	int r;

	if (len > LB_POLICY_FILE_MAX)
		return lb_fail(L, 0, "policy file larger than %d bytes", LB_POLICY_FILE_MAX), LB_E_CONFIG;
	/* A UTF-8 byte order mark may open the file (inih skips it too). */
	if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
		i = start = 3;
	while (i <= len) {
		if (i == len || u[i] == '\n') {
			if (i - start > LB_POLICY_LINE_MAX)
				return lb_fail(L, lineno, "line longer than %d bytes", LB_POLICY_LINE_MAX), LB_E_CONFIG;
			if ((r = lb_prescan_line(L, lineno, data + start, i - start)) != LB_OK)
				return r;
			lineno++;
			start = ++i;
			continue;
		}
		if (u[i] == '\r' && (i + 1 == len || u[i + 1] != '\n'))
			return lb_fail(L, lineno, "carriage return inside a line"), LB_E_CONFIG;
		if ((u[i] < 0x20 && u[i] != '\t' && u[i] != '\r') || u[i] == 0x7F)
			return lb_fail(L, lineno, "control character (byte 0x%02x) in the policy", u[i]), LB_E_CONFIG;
		if ((step = lb_utf8_len(u + i, len - i)) == 0)
			return lb_fail(L, lineno, "invalid UTF-8"), LB_E_CONFIG;
		i += step;
	}
	return LB_OK;
}

/* ---- values ---- */

static int
lb_valid_name(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= LB_POLICY_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

static int
lb_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return LB_E_RANGE;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return LB_E_RANGE;
	*out = (uint32_t)v;
	return LB_OK;
}

/* Split a comma-separated list into trimmed, non-empty items. */
static int
lb_split_list(const char *value, char ***out, size_t *n)
{
	const char *s = value, *e, *a, *b;
	char **v = NULL, **nv;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	for (;;) {
		e = strchr(s, ',');
		if (e == NULL)
			e = s + strlen(s);
		for (a = s; a < e && (*a == ' ' || *a == '\t'); a++)
			;
		for (b = e; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--)
			;
		if (a == b)
			goto bad;
		if ((nv = realloc(v, (count + 1) * sizeof(*v))) == NULL)
			goto nomem;
		v = nv;
		if ((v[count] = lb_strndup(a, (size_t)(b - a))) == NULL)
			goto nomem;
		count++;
		if (*e == '\0')
			break;
		s = e + 1;
	}
	*out = v;
	*n = count;
	return LB_OK;
bad:
	while (count > 0)
		free(v[--count]);
	free(v);
	return LB_E_INVAL;
nomem:
	while (count > 0)
		free(v[--count]);
	free(v);
	return LB_E_NOMEM;
}

static void
lb_list_free(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

/* ---- sections ---- */

static int
lb_seen(struct lb_loader *L, const char *key, unsigned line)
{
	size_t i;

	for (i = 0; i < L->n_seen; i++)
		if (strcmp(L->seen[i].key, key) == 0)
			return lb_fail(L, line, "duplicate key '%s' (first set on line %u)",
			    key, L->seen[i].line);
	if (L->n_seen < LB_SEEN_MAX && strlen(key) < sizeof(L->seen[0].key)) {
		memcpy(L->seen[L->n_seen].key, key, strlen(key) + 1);
		L->seen[L->n_seen].line = line;
		L->n_seen++;
	}
	return 1;
}

static int
lb_has_seen(const struct lb_loader *L, const char *key)
{
	size_t i;

	for (i = 0; i < L->n_seen; i++)
		if (strcmp(L->seen[i].key, key) == 0)
			return 1;
	return 0;
}

/* Checks that need the whole section, reported at its header line. */
static int
lb_end_section(struct lb_loader *L)
{
	struct lb_policy *p = L->p;

	if (L->sec == LB_SEC_KEY) {
		const struct lb_key_entry *k = &p->keys[p->n_keys - 1];
		size_t i;

		if (!lb_has_seen(L, "public_key"))
			return lb_fail(L, L->sec_line, "[key:%s] needs public_key", k->name);
		if (k->user == NULL && k->sid == NULL)
			return lb_fail(L, L->sec_line, "[key:%s] needs user or sid", k->name);
		for (i = 0; i + 1 < p->n_keys; i++)
			if (memcmp(p->keys[i].pk, k->pk, LB_PK_BYTES) == 0)
				return lb_fail(L, L->sec_line,
				    "[key:%s] enrolls the same public key as [key:%s] (line %u)",
				    k->name, p->keys[i].name, p->keys[i].line);
	} else if (L->sec == LB_SEC_RULE) {
		const struct lb_rule *r = &p->rules[p->n_rules - 1];

		if (!lb_has_seen(L, "action"))
			return lb_fail(L, L->sec_line, "[rule:%s] needs action = allow or deny", r->name);
		if (!lb_has_seen(L, "users") && !lb_has_seen(L, "groups"))
			return lb_fail(L, L->sec_line, "[rule:%s] needs users or groups", r->name);
		if (!lb_has_seen(L, "kinds"))
			return lb_fail(L, L->sec_line, "[rule:%s] needs kinds (or kinds = *)", r->name);
		if (r->action == LB_ACTION_ALLOW && r->n_link_under == 0)
			return lb_fail(L, L->sec_line,
			    "[rule:%s] allows without link_under (write link_under = * to mean anywhere)", r->name);
		if (r->action == LB_ACTION_ALLOW && r->n_target_under == 0)
			return lb_fail(L, L->sec_line,
			    "[rule:%s] allows without target_under (write target_under = * to mean anywhere)", r->name);
	}
	return 1;
}

static int
lb_begin_section(struct lb_loader *L, const char *section, unsigned line)
{
	struct lb_policy *p = L->p;
	const char *name;
	size_t i;

	if (L->sec != LB_SEC_NONE && !lb_end_section(L))
		return 0;
	L->sec_line = line;
	L->n_seen = 0;
	if (strcmp(section, "broker") == 0) {
		if (L->broker_line != 0)
			return lb_fail(L, line, "duplicate section [broker] (first on line %u)", L->broker_line);
		L->broker_line = line;
		L->sec = LB_SEC_BROKER;
		return 1;
	}
	if (strncmp(section, "key:", 4) == 0) {
		struct lb_key_entry *nk;

		name = section + 4;
		if (!lb_valid_name(name))
			return lb_fail(L, line, "bad key name '%s' (1-%d of A-Z a-z 0-9 . _ -)", name, LB_POLICY_NAME_MAX);
		for (i = 0; i < p->n_keys; i++)
			if (strcmp(p->keys[i].name, name) == 0)
				return lb_fail(L, line, "duplicate section [key:%s] (first on line %u)", name, p->keys[i].line);
		if ((nk = realloc(p->keys, (p->n_keys + 1) * sizeof(*nk))) == NULL)
			return lb_nomem(L, line);
		p->keys = nk;
		memset(&p->keys[p->n_keys], 0, sizeof(*nk));
		p->keys[p->n_keys].line = line;
		if ((p->keys[p->n_keys].name = lb_strdup(name)) == NULL)
			return lb_nomem(L, line);
		p->n_keys++;
		L->sec = LB_SEC_KEY;
		return 1;
	}
	if (strncmp(section, "rule:", 5) == 0) {
		struct lb_rule *nr;

		name = section + 5;
		if (!lb_valid_name(name))
			return lb_fail(L, line, "bad rule name '%s' (1-%d of A-Z a-z 0-9 . _ -)", name, LB_POLICY_NAME_MAX);
		for (i = 0; i < p->n_rules; i++)
			if (strcmp(p->rules[i].name, name) == 0)
				return lb_fail(L, line, "duplicate section [rule:%s] (first on line %u)", name, p->rules[i].line);
		if ((nr = realloc(p->rules, (p->n_rules + 1) * sizeof(*nr))) == NULL)
			return lb_nomem(L, line);
		p->rules = nr;
		memset(&p->rules[p->n_rules], 0, sizeof(*nr));
		p->rules[p->n_rules].line = line;
		if ((p->rules[p->n_rules].name = lb_strdup(name)) == NULL)
			return lb_nomem(L, line);
		p->n_rules++;
		L->sec = LB_SEC_RULE;
		return 1;
	}
	return lb_fail(L, line, "unknown section [%s] (expected [broker], [key:NAME] or [rule:NAME])", section);
}

/* An absolute path for one of the broker's files, stored canonical. Its
 * directory becomes a floor, so it may not be a root. */
static int
lb_set_broker_path(struct lb_loader *L, unsigned line, const char *key,
    const char *value, char **slot)
{
	struct lb_path path;
	int r;

	if ((r = lb_path_canon(L->p->flavor, value, strlen(value), &path)) != LB_OK)
		return lb_fail(L, line, "%s: %s", key, lb_strerror(r));
	if (lb_path_require_absolute(&path) != LB_OK || path.root == LB_ROOT_UNC) {
		lb_path_free(&path);
		return lb_fail(L, line, "%s: must be a local absolute path", key);
	}
	if (path.len == path.root_len || memchr(path.s + path.root_len,
	    L->p->flavor == LB_FLAVOR_WINDOWS ? '\\' : '/', path.len - path.root_len) == NULL) {
		lb_path_free(&path);
		return lb_fail(L, line, "%s: the broker's files need a directory of their own, not the root", key);
	}
	free(*slot);
	*slot = path.s;   /* take ownership of the canonical string */
	return 1;
}

static int
lb_broker_key(struct lb_loader *L, unsigned line, const char *key, const char *value)
{
	struct lb_broker_cfg *b = &L->p->broker;

	if (strcmp(key, "endpoint") == 0) {
		if (L->p->flavor == LB_FLAVOR_WINDOWS) {
			if (lb_ascii_ncasecmp(value, "\\\\.\\pipe\\", 9) != 0 || value[9] == '\0' ||
			    strlen(value) > 256)
				return lb_fail(L, line, "endpoint: expected a pipe name \\\\.\\pipe\\NAME (at most 256 characters)");
			free(b->endpoint);
			if ((b->endpoint = lb_strdup(value)) == NULL)
				return lb_nomem(L, line);
			return 1;
		}
		/* sun_path holds 108 bytes with the NUL. */
		if (strlen(value) > 107)
			return lb_fail(L, line, "endpoint: socket path longer than 107 bytes");
		return lb_set_broker_path(L, line, key, value, &b->endpoint);
	}
	if (strcmp(key, "audit_log") == 0)
		return lb_set_broker_path(L, line, key, value, &b->audit_log);
	if (strcmp(key, "service_key") == 0)
		return lb_set_broker_path(L, line, key, value, &b->service_key);
	if (strcmp(key, "service_public_key") == 0)
		return lb_set_broker_path(L, line, key, value, &b->service_public_key);
	if (strcmp(key, "audit_sync") == 0) {
		if (strcmp(value, "batch") == 0)
			b->audit_sync = LB_AUDIT_SYNC_BATCH;
		else if (strcmp(value, "always") == 0)
			b->audit_sync = LB_AUDIT_SYNC_ALWAYS;
		else
			return lb_fail(L, line, "audit_sync: expected batch or always, not '%s'", value);
		return 1;
	}
	if (strcmp(key, "max_clients") == 0) {
		if (lb_parse_u32(value, 1, 4096, &b->max_clients) != LB_OK)
			return lb_fail(L, line, "max_clients: expected a whole number from 1 to 4096");
		return 1;
	}
	if (strcmp(key, "io_timeout_ms") == 0) {
		if (lb_parse_u32(value, 10, 600000, &b->io_timeout_ms) != LB_OK)
			return lb_fail(L, line, "io_timeout_ms: expected a whole number from 10 to 600000");
		return 1;
	}
	if (strcmp(key, "max_clock_skew_s") == 0) {
		/* The replay cache holds every request of the window: bounded. */
		if (lb_parse_u32(value, 1, 3600, &b->max_clock_skew_s) != LB_OK)
			return lb_fail(L, line, "max_clock_skew_s: expected a whole number from 1 to 3600");
		return 1;
	}
	if (strcmp(key, "requests_per_sec") == 0) {
		if (lb_parse_u32(value, 1, 100000, &b->requests_per_sec) != LB_OK)
			return lb_fail(L, line, "requests_per_sec: expected a whole number from 1 to 100000");
		return 1;
	}
	if (strcmp(key, "requests_burst") == 0) {
		if (lb_parse_u32(value, 1, 1000000, &b->requests_burst) != LB_OK)
			return lb_fail(L, line, "requests_burst: expected a whole number from 1 to 1000000");
		return 1;
	}
	return lb_fail(L, line, "unknown key '%s' in [broker]", key);
}

/* [broker] keys that another source may set on a loaded policy: the ones
 * that name no file, so no floor depends on them. */
static const char *const lb_broker_settable[] = {
	"audit_sync", "max_clients", "io_timeout_ms", "max_clock_skew_s",
	"requests_per_sec", "requests_burst",
};

int
lb_policy_set_broker(struct lb_policy *p, const char *name, const char *key,
    const char *value, struct lb_buf *err)
{
	struct lb_loader L;
	size_t i;

	if (p == NULL || name == NULL || key == NULL || value == NULL)
		return LB_E_INVAL;
	memset(&L, 0, sizeof(L));
	L.name = name;
	L.p = p;
	L.err = err;
	L.sec = LB_SEC_BROKER;
	for (i = 0; i < sizeof(lb_broker_settable) / sizeof(lb_broker_settable[0]); i++)
		if (strcmp(key, lb_broker_settable[i]) == 0)
			break;
	if (i == sizeof(lb_broker_settable) / sizeof(lb_broker_settable[0]))
		(void)lb_fail(&L, 0, "%s: cannot be set here, only in the policy file's [broker]", key);
	else if (value[0] == '\0')
		(void)lb_fail(&L, 0, "%s: empty value", key);
	else
		(void)lb_broker_key(&L, 0, key, value);
	return L.rc;
}

/* Windows flavour: what is wrong with NAME as a user or group name, or
 * NULL. A name is NAME or DOMAIN\NAME (one backslash, something on each
 * side); the DOMAIN is what LookupAccountSidW reports: the domain's NetBIOS
 * name, BUILTIN, NT AUTHORITY, or this computer's name for local accounts. */
static const char *
lb_account_name_problem(const char *name)
{
	const char *bs = strchr(name, '\\');

	if (bs == NULL)
		return NULL;
	if (strchr(bs + 1, '\\') != NULL)
		return "more than one backslash (write DOMAIN\\NAME)";
	if (bs == name)
		return "nothing before the backslash (write DOMAIN\\NAME, or NAME alone)";
	if (bs[1] == '\0')
		return "nothing after the backslash (write DOMAIN\\NAME)";
	if (bs[-1] == ' ' || bs[-1] == '\t' || bs[1] == ' ' || bs[1] == '\t')
		return "a space next to the backslash (write DOMAIN\\NAME)";
	if (bs - name == 1 && name[0] == '.')
		return "'.\\' for this computer is not supported: write the computer's name, COMPUTER\\NAME";
	if (lb_is_sid(bs + 1))
		return "a SID stands alone, without a domain";
	return NULL;
}

static int
lb_key_key(struct lb_loader *L, unsigned line, const char *key, const char *value)
{
	struct lb_key_entry *k = &L->p->keys[L->p->n_keys - 1];
	const char *why;

	if (strcmp(key, "user") == 0 || strcmp(key, "sid") == 0) {
		int is_sid = key[0] == 's';

		if (k->user != NULL || k->sid != NULL)
			return lb_fail(L, line, "[key:%s] names its owner twice (user or sid, not both)", k->name);
		if (is_sid && !lb_is_sid(value))
			return lb_fail(L, line, "sid: '%s' is not a SID (S-1-...)", value);
		if (!is_sid && (value[0] == '\0' || strlen(value) > LB_POLICY_PRINCIPAL_MAX ||
		    strchr(value, ',') != NULL))
			return lb_fail(L, line, "user: expected one user name");
		if (!is_sid && lb_is_sid(value))
			return lb_fail(L, line, "user: '%s' is a SID; write sid = %s", value, value);
		if (!is_sid && L->p->flavor == LB_FLAVOR_WINDOWS &&
		    (why = lb_account_name_problem(value)) != NULL)
			return lb_fail(L, line, "user: '%s': %s", value, why);
		if ((*(is_sid ? &k->sid : &k->user) = lb_strdup(value)) == NULL)
			return lb_nomem(L, line);
		return 1;
	}
	if (strcmp(key, "public_key") == 0) {
		if (lb_pk_from_b64(value, k->pk) != LB_OK)
			return lb_fail(L, line, "public_key: expected the 44-character base64 Ed25519 key printed by 'linkbroker keygen'");
		return 1;
	}
	return lb_fail(L, line, "unknown key '%s' in [key:%s]", key, k->name);
}

/* Groups Windows names without a domain (LookupAccountSidW gives an empty
 * one), in English: only their SID names them in any domain and language. */
static const struct {
	const char *name, *sid;
} lb_domainless_groups[] = {
	{ "Everyone", "S-1-1-0" },
	{ "LOCAL", "S-1-2-0" },
	{ "CONSOLE LOGON", "S-1-2-1" },
};

static void
lb_warn_bare_group(struct lb_loader *L, unsigned line, const char *g)
{
	size_t i;

	for (i = 0; i < sizeof(lb_domainless_groups) / sizeof(lb_domainless_groups[0]); i++)
		if (lb_name_equal(LB_FLAVOR_WINDOWS, g, lb_domainless_groups[i].name) == 0) {
			lb_warn(L, line, "groups: bare group name '%s' also matches a group of that "
			    "name in any domain or on this computer; write its SID, %s",
			    g, lb_domainless_groups[i].sid);
			return;
		}
	lb_warn(L, line, "groups: bare group name '%s' matches a group of that name in every "
	    "domain and on this computer; write DOMAIN\\%s or the group's SID (S-1-...)", g, g);
}

static int
lb_rule_principals(struct lb_loader *L, unsigned line, const char *key,
    const char *value, char ***v, size_t *n, int *any)
{
	const char *why;
	size_t i;
	int r;

	if ((r = lb_split_list(value, v, n)) != LB_OK) {
		if (r == LB_E_NOMEM)
			return lb_nomem(L, line);
		return lb_fail(L, line, "%s: empty list item", key);
	}
	for (i = 0; i < *n; i++) {
		const char *s = (*v)[i];

		if (strcmp(s, "*") == 0) {
			if (*n != 1)
				return lb_fail(L, line, "%s: '*' must stand alone", key);
			*any = 1;
			/* keep the "*" entry out of the name lists */
			lb_list_free(*v, *n);
			*v = NULL;
			*n = 0;
			return 1;
		}
		if ((s[0] == 'S' || s[0] == 's') && s[1] == '-' && !lb_is_sid(s))
			return lb_fail(L, line, "%s: '%s' is not a valid SID", key, s);
		if (strlen(s) > LB_POLICY_PRINCIPAL_MAX)
			return lb_fail(L, line, "%s: name longer than %d bytes", key, LB_POLICY_PRINCIPAL_MAX);
		if (L->p->flavor != LB_FLAVOR_WINDOWS || lb_is_sid(s))
			continue;
		if ((why = lb_account_name_problem(s)) != NULL)
			return lb_fail(L, line, "%s: '%s': %s", key, s, why);
		/* A bare group name matches that group of every domain and this
		 * computer's local group: said, not refused (it worked before).
		 * Bare user names are not warned about: a request must also be
		 * signed by a key enrolled for the user, which an account of the
		 * same name elsewhere does not hold (docs/policy.md). */
		if (strcmp(key, "groups") == 0 && strchr(s, '\\') == NULL)
			lb_warn_bare_group(L, line, s);
	}
	return 1;
}

static int
lb_rule_patterns(struct lb_loader *L, unsigned line, const char *key,
    const char *value, int for_link, struct lb_pattern **pats, size_t *n)
{
	char **items = NULL;
	size_t count = 0, i;
	const char *why = NULL;
	int r, ok = 1;

	if ((r = lb_split_list(value, &items, &count)) != LB_OK) {
		if (r == LB_E_NOMEM)
			return lb_nomem(L, line);
		return lb_fail(L, line, "%s: empty list item", key);
	}
	if ((*pats = calloc(count, sizeof(**pats))) == NULL) {
		lb_list_free(items, count);
		return lb_nomem(L, line);
	}
	*n = count;
	for (i = 0; i < count && ok; i++) {
		if (strcmp(items[i], "*") == 0 && count != 1) {
			ok = lb_fail(L, line, "%s: '*' must stand alone", key);
			break;
		}
		if ((r = lb_pattern_compile(L->p->flavor, items[i], &(*pats)[i], &why)) != LB_OK) {
			ok = r == LB_E_NOMEM ? lb_nomem(L, line) :
			    lb_fail(L, line, "%s: '%s': %s", key, items[i], why);
			break;
		}
		if (for_link && (*pats)[i].path.root == LB_ROOT_UNC)
			ok = lb_fail(L, line, "%s: '%s': links are created only on local drives, not on UNC shares",
			    key, items[i]);
	}
	lb_list_free(items, count);
	return ok;
}

static int
lb_rule_key(struct lb_loader *L, unsigned line, const char *key, const char *value)
{
	struct lb_rule *r = &L->p->rules[L->p->n_rules - 1];

	if (strcmp(key, "users") == 0)
		return lb_rule_principals(L, line, key, value, &r->users, &r->n_users, &r->any_user);
	if (strcmp(key, "groups") == 0)
		return lb_rule_principals(L, line, key, value, &r->groups, &r->n_groups, &r->any_group);
	if (strcmp(key, "kinds") == 0) {
		char **items;
		size_t n, i;
		enum lb_kind k;
		int rc;

		if ((rc = lb_split_list(value, &items, &n)) != LB_OK)
			return rc == LB_E_NOMEM ? lb_nomem(L, line) :
			    lb_fail(L, line, "kinds: empty list item");
		for (i = 0; i < n; i++) {
			if (strcmp(items[i], "*") == 0 && n == 1) {
				r->kinds = (1u << LB_KIND_SYMLINK) | (1u << LB_KIND_DIRSYMLINK) |
				    (1u << LB_KIND_HARDLINK) | (1u << LB_KIND_JUNCTION);
			} else if (lb_kind_parse(items[i], &k) == LB_OK && k != LB_KIND_NONE) {
				r->kinds |= 1u << k;
			} else {
				(void)lb_fail(L, line, "kinds: '%s' is not symlink, dirsymlink, hardlink, junction or a lone *",
				    items[i]);
				lb_list_free(items, n);
				return 0;
			}
		}
		lb_list_free(items, n);
		return 1;
	}
	if (strcmp(key, "link_under") == 0)
		return lb_rule_patterns(L, line, key, value, 1, &r->link_under, &r->n_link_under);
	if (strcmp(key, "target_under") == 0)
		return lb_rule_patterns(L, line, key, value, 0, &r->target_under, &r->n_target_under);
	if (strcmp(key, "action") == 0) {
		if (strcmp(value, "allow") == 0)
			r->action = LB_ACTION_ALLOW;
		else if (strcmp(value, "deny") == 0)
			r->action = LB_ACTION_DENY;
		else
			return lb_fail(L, line, "action: expected allow or deny, not '%s'", value);
		return 1;
	}
	return lb_fail(L, line, "unknown key '%s' in [rule:%s]", key, r->name);
}

static int
lb_ini_handler(void *user, const char *section, const char *key,
    const char *value, int lineno)
{
	struct lb_loader *L = user;
	unsigned line = lineno > 0 ? (unsigned)lineno : 0;

	if (L->rc != LB_OK)
		return 0;
	if (key == NULL)
		return lb_begin_section(L, section, line);
	if (L->sec == LB_SEC_NONE)
		return lb_fail(L, line, "'%s' is outside any section", key);
	if (!lb_seen(L, key, line))
		return 0;
	if (value[0] == '\0')
		return lb_fail(L, line, "%s: empty value", key);
	switch (L->sec) {
	case LB_SEC_BROKER:
		return lb_broker_key(L, line, key, value);
	case LB_SEC_KEY:
		return lb_key_key(L, line, key, value);
	case LB_SEC_RULE:
		return lb_rule_key(L, line, key, value);
	case LB_SEC_NONE:
		break;
	}
	return 0;
}

static int
lb_broker_defaults(struct lb_policy *p)
{
	struct lb_broker_cfg *b = &p->broker;
	int win = p->flavor == LB_FLAVOR_WINDOWS;

	b->audit_sync = LB_AUDIT_SYNC_BATCH;
	b->max_clients = 64;
	b->io_timeout_ms = 2000;
	b->max_clock_skew_s = 60;
	/* A package manager's batch of 10,000 links fits in the burst. */
	b->requests_per_sec = 1000;
	b->requests_burst = 10000;
	b->endpoint = lb_strdup(win ? "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\LinkBroker" :
	    "/run/linkbroker/broker.sock");
	b->audit_log = lb_strdup(win ? "C:\\ProgramData\\LinkBroker\\audit.log" :
	    "/var/log/linkbroker/audit.log");
	b->service_key = lb_strdup(win ? "C:\\ProgramData\\LinkBroker\\service.key" :
	    "/etc/linkbroker/service.key");
	b->service_public_key = lb_strdup(win ? "C:\\ProgramData\\LinkBroker\\service.pub" :
	    "/etc/linkbroker/service.pub");
	if (b->endpoint == NULL || b->audit_log == NULL || b->service_key == NULL ||
	    b->service_public_key == NULL)
		return LB_E_NOMEM;
	return LB_OK;
}

int
lb_policy_load_buffer(const char *name, const char *data, size_t len,
    enum lb_flavor flavor, struct lb_policy **out, struct lb_buf *err)
{
	struct lb_loader L;
	char *copy = NULL;
	int r;

	*out = NULL;
	memset(&L, 0, sizeof(L));
	L.name = name;
	L.err = err;
	if (flavor != LB_FLAVOR_POSIX && flavor != LB_FLAVOR_WINDOWS)
		return LB_E_INVAL;
	if ((L.p = calloc(1, sizeof(*L.p))) == NULL)
		return LB_E_NOMEM;
	L.p->flavor = flavor;
	lb_buf_init(&L.p->warnings, LB_POLICY_WARN_BYTES);
	if ((r = lb_broker_defaults(L.p)) != LB_OK)
		goto out;
	if ((r = lb_prescan(&L, data, len)) != LB_OK)
		goto out;
	/* The pre-scan guarantees no NUL inside, so the copy is the whole file. */
	if ((copy = malloc(len + 1)) == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	memcpy(copy, data, len);
	copy[len] = '\0';
	r = ini_parse_string(copy, lb_ini_handler, &L);
	if (L.rc != LB_OK) {
		r = L.rc;
		goto out;
	}
	if (r > 0) {
		/* inih's own syntax checks (the pre-scan should have caught these) */
		(void)lb_fail(&L, (unsigned)r, "syntax error");
		r = LB_E_CONFIG;
		goto out;
	}
	if (r < 0) {
		r = LB_E_NOMEM;
		goto out;
	}
	if (L.sec != LB_SEC_NONE && !lb_end_section(&L)) {
		r = L.rc;
		goto out;
	}
	if ((r = lb_policy_finish(L.p)) != LB_OK) {
		if (r != LB_E_NOMEM)
			(void)lb_fail(&L, 0, "%s", lb_strerror(r));
		goto out;
	}
	*out = L.p;
	L.p = NULL;
out:
	free(copy);
	lb_policy_free(L.p);
	return r;
}

int
lb_policy_load_file(const char *file, enum lb_flavor flavor,
    struct lb_policy **out, struct lb_buf *err)
{
	FILE *f;
	char *data = NULL;
	size_t n;
	int r;

	*out = NULL;
	if ((f = fopen(file, "rb")) == NULL) {
		if (err != NULL && lb_buf_printf(err, "%s: cannot open: %s", file, strerror(errno)) != LB_OK)
			return LB_E_NOMEM;
		return LB_E_CONFIG;
	}
	/* One byte more than the maximum tells "too large" from "exactly full". */
	if ((data = malloc(LB_POLICY_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return LB_E_NOMEM;
	}
	n = fread(data, 1, LB_POLICY_FILE_MAX + 1, f);
	if (ferror(f)) {
		r = LB_E_CONFIG;
		if (err != NULL && lb_buf_printf(err, "%s: read error", file) != LB_OK)
			r = LB_E_NOMEM;
		goto out;
	}
	r = lb_policy_load_buffer(file, data, n, flavor, out, err);
out:
	fclose(f);
	free(data);
	return r;
}
