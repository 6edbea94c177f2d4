/* lb_gpo_win: fleet policy, the service's settings that Group Policy (or
 * an MDM's ADMX ingestion) writes under HKLM\SOFTWARE\Policies\LinkBroker
 * (packaging/admx/linkbroker.admx). The INI file stays the only source of
 * rules; the registry may name which file that is (PolicyFile) and set a
 * few [broker] settings over the file's. A value present but wrong (type,
 * length, NUL inside, out of range, a path that is not local and absolute)
 * fails the whole load: the service does not start, or a reload keeps the
 * policy in force. Nothing falls back silently to what the administrator
 * meant to replace. Values are read with explicit types and bounds, then
 * checked by the INI loader's own code (lb_policy_set_broker) and the path
 * grammar; the named file passes the same admin-file checks as any policy. */
#include <windows.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "lb_str.h"
#include "lb_win.h"

/* Every value the service reads, in the order of enum lb_gpo_index. The
 * ADMX names the same values (tests/packaging/admx_check.py compares
 * them, and each setting's range with the INI loader's). */
static const struct lb_gpo_value {
	const wchar_t *name;    /* registry value name (the ADMX's valueName) */
	const char *key;        /* the [broker] key it sets; NULL: the policy file */
	DWORD type;             /* REG_SZ (REG_EXPAND_SZ too, expanded) or REG_DWORD */
} lb_gpo_values[LB_GPO_N] = {
	[LB_GPO_POLICY_FILE] = { L"PolicyFile", NULL, REG_SZ },
	[LB_GPO_AUDIT_SYNC] = { L"AuditSync", "audit_sync", REG_SZ },
	[LB_GPO_MAX_CLIENTS] = { L"MaxClients", "max_clients", REG_DWORD },
	[LB_GPO_REQUESTS_PER_SEC] = { L"RequestsPerSec", "requests_per_sec", REG_DWORD },
	[LB_GPO_REQUESTS_BURST] = { L"RequestsBurst", "requests_burst", REG_DWORD },
};

static const char *
lb_type_name(DWORD type)
{
	switch (type) {
	case REG_NONE: return "REG_NONE";
	case REG_SZ: return "REG_SZ";
	case REG_EXPAND_SZ: return "REG_EXPAND_SZ";
	case REG_BINARY: return "REG_BINARY";
	case REG_DWORD: return "REG_DWORD";
	case REG_DWORD_BIG_ENDIAN: return "REG_DWORD_BIG_ENDIAN";
	case REG_MULTI_SZ: return "REG_MULTI_SZ";
	case REG_QWORD: return "REG_QWORD";
	default: return "an unknown type";
	}
}

/* "HKLM\SOFTWARE\Policies\LinkBroker\NAME" for messages. */
static void
lb_value_label(const struct lb_win_gpo *g, size_t i, char *out, size_t n)
{
	char *name = lb_win_utf8(lb_gpo_values[i].name);

	snprintf(out, n, "%s\\%s", g->where, name != NULL ? name : "?");
	free(name);
}

static int
lb_gpo_fail(struct lb_buf *err, const struct lb_win_gpo *g, size_t i, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(gnu_printf, 4, 5)))
#endif
    ;

/* "KEY\NAME: message" into ERR; returns LB_E_CONFIG (LB_E_NOMEM if even
 * the message does not fit). */
static int
lb_gpo_fail(struct lb_buf *err, const struct lb_win_gpo *g, size_t i, const char *fmt, ...)
{
	char label[300], msg[600];
	va_list ap;

	lb_value_label(g, i, label, sizeof(label));
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err != NULL && lb_buf_printf(err, "%s: %s", label, msg) != LB_OK)
		return LB_E_NOMEM;
	return LB_E_CONFIG;
}

/* RegGetValueW refuses types it has no RRF_RT_ flag for even under
 * RRF_RT_ANY (measured under Wine: REG_DWORD_BIG_ENDIAN gives
 * ERROR_UNSUPPORTED_TYPE): then ask the type alone, to name it. */
static DWORD
lb_value_type(HKEY key, const wchar_t *name)
{
	DWORD type = REG_NONE;

	if (RegQueryValueExW(key, name, NULL, &type, NULL, NULL) != ERROR_SUCCESS)
		return (DWORD)-1;
	return type;
}

/* One string value: REG_SZ or REG_EXPAND_SZ (expanded here), at most
 * LB_GPO_TEXT_MAX characters before and after expansion, one NUL at the
 * end and none inside, valid UTF-16. *OUT NULL when absent. */
static int
lb_read_text(HKEY key, const struct lb_win_gpo *g, size_t i, char **out, struct lb_buf *err)
{
	wchar_t raw[LB_GPO_TEXT_MAX + 2], exp[LB_GPO_TEXT_MAX + 2];
	const wchar_t *text = raw;
	DWORD type = REG_NONE, cb = sizeof(raw), m;
	LSTATUS e;
	size_t n;

	*out = NULL;
	/* RRF_NOEXPAND: expansion is ours, with our bound. RRF_RT_ANY: the
	 * type is checked here, so that a wrong one is named. */
	e = RegGetValueW(key, NULL, lb_gpo_values[i].name, RRF_RT_ANY | RRF_NOEXPAND, &type, raw, &cb);
	if (e == ERROR_FILE_NOT_FOUND)
		return LB_OK;
	if (e == ERROR_UNSUPPORTED_TYPE)
		return lb_gpo_fail(err, g, i, "is %s, expected REG_SZ or REG_EXPAND_SZ",
		    lb_type_name(lb_value_type(key, lb_gpo_values[i].name)));
	if (e == ERROR_MORE_DATA)
		return lb_gpo_fail(err, g, i, "longer than %d characters", LB_GPO_TEXT_MAX);
	if (e != ERROR_SUCCESS) {
		return lb_gpo_fail(err, g, i, "cannot be read (Windows error %ld)", (long)e);
	}
	if (type != REG_SZ && type != REG_EXPAND_SZ)
		return lb_gpo_fail(err, g, i, "is %s, expected REG_SZ or REG_EXPAND_SZ", lb_type_name(type));
	if (cb % sizeof(wchar_t) != 0 || cb < sizeof(wchar_t))
		return lb_gpo_fail(err, g, i, "is not a whole UTF-16 string");
	n = cb / sizeof(wchar_t);
	if (raw[n - 1] != L'\0' || wcsnlen(raw, n) != n - 1)
		return lb_gpo_fail(err, g, i, "has a NUL character inside");
	if (n - 1 > LB_GPO_TEXT_MAX)
		return lb_gpo_fail(err, g, i, "longer than %d characters", LB_GPO_TEXT_MAX);
	if (type == REG_EXPAND_SZ) {
		m = ExpandEnvironmentStringsW(raw, exp, (DWORD)(sizeof(exp) / sizeof(exp[0])));
		if (m == 0) {
			return lb_gpo_fail(err, g, i, "cannot be expanded (Windows error %lu)", GetLastError());
		}
		if (m > LB_GPO_TEXT_MAX + 1)
			return lb_gpo_fail(err, g, i, "longer than %d characters once expanded", LB_GPO_TEXT_MAX);
		text = exp;
	}
	if (text[0] == L'\0')
		return lb_gpo_fail(err, g, i, "is empty");
	if ((*out = lb_win_utf8(text)) == NULL)
		return lb_gpo_fail(err, g, i, "is not valid UTF-16 (an unpaired surrogate)");
	return LB_OK;
}

/* One REG_DWORD value, as the decimal text the INI would hold. */
static int
lb_read_dword(HKEY key, const struct lb_win_gpo *g, size_t i, char **out, struct lb_buf *err)
{
	union { DWORD v; BYTE room[16]; } u;
	DWORD type = REG_NONE, cb = sizeof(u);
	LSTATUS e;
	char num[16];

	*out = NULL;
	memset(&u, 0, sizeof(u));
	e = RegGetValueW(key, NULL, lb_gpo_values[i].name, RRF_RT_ANY | RRF_NOEXPAND, &type, &u, &cb);
	if (e == ERROR_FILE_NOT_FOUND)
		return LB_OK;
	if (e == ERROR_UNSUPPORTED_TYPE)
		return lb_gpo_fail(err, g, i, "is %s, expected REG_DWORD",
		    lb_type_name(lb_value_type(key, lb_gpo_values[i].name)));
	if (e == ERROR_MORE_DATA)
		return lb_gpo_fail(err, g, i, "is not a REG_DWORD (too much data)");
	if (e != ERROR_SUCCESS) {
		return lb_gpo_fail(err, g, i, "cannot be read (Windows error %ld)", (long)e);
	}
	if (type != REG_DWORD)
		return lb_gpo_fail(err, g, i, "is %s, expected REG_DWORD", lb_type_name(type));
	if (cb != sizeof(DWORD))
		return lb_gpo_fail(err, g, i, "is a REG_DWORD without 4 bytes of data");
	snprintf(num, sizeof(num), "%lu", (unsigned long)u.v);
	if ((*out = lb_strdup(num)) == NULL)
		return LB_E_NOMEM;
	return LB_OK;
}

/* PolicyFile: a local absolute path in the policy's own grammar (no UNC,
 * device or \\?\ forms, no streams), kept canonical. */
static int
lb_check_policy_file(struct lb_win_gpo *g, struct lb_buf *err)
{
	char **slot = &g->value[LB_GPO_POLICY_FILE];
	struct lb_path path;
	int r;

	if (*slot == NULL)
		return LB_OK;
	if ((r = lb_path_canon(LB_FLAVOR_WINDOWS, *slot, strlen(*slot), &path)) != LB_OK)
		return lb_gpo_fail(err, g, LB_GPO_POLICY_FILE, "'%s': %s", *slot, lb_strerror(r));
	if (lb_path_require_absolute(&path) != LB_OK || path.root != LB_ROOT_DRIVE) {
		r = lb_gpo_fail(err, g, LB_GPO_POLICY_FILE, "'%s' is not an absolute path on a local drive "
		    "(C:\\...): a file share's policy could be changed by the file server's administrators", *slot);
		lb_path_free(&path);
		return r;
	}
	free(*slot);
	*slot = path.s;   /* the canonical string is ours now */
	return LB_OK;
}

int
lb_win_gpo_read(HKEY root, const wchar_t *subkey, const char *where,
    struct lb_win_gpo *out, struct lb_buf *err)
{
	HKEY key = NULL;
	LSTATUS e;
	size_t i;
	int r = LB_OK;

	memset(out, 0, sizeof(*out));
	snprintf(out->where, sizeof(out->where), "%s", where);
	e = RegOpenKeyExW(root, subkey, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key);
	if (e == ERROR_FILE_NOT_FOUND)
		return LB_OK;   /* no policy: every setting from the file */
	if (e != ERROR_SUCCESS) {
		if (err != NULL && lb_buf_printf(err, "%s: cannot be opened (Windows error %ld)",
		    out->where, (long)e) != LB_OK)
			return LB_E_NOMEM;
		return LB_E_CONFIG;
	}
	out->present = 1;
	for (i = 0; i < LB_GPO_N && r == LB_OK; i++)
		r = lb_gpo_values[i].type == REG_DWORD ? lb_read_dword(key, out, i, &out->value[i], err) :
		    lb_read_text(key, out, i, &out->value[i], err);
	RegCloseKey(key);
	if (r == LB_OK)
		r = lb_check_policy_file(out, err);
	if (r != LB_OK)
		lb_win_gpo_free(out);
	return r;
}

void
lb_win_gpo_free(struct lb_win_gpo *g)
{
	size_t i;

	for (i = 0; i < LB_GPO_N; i++) {
		free(g->value[i]);
		g->value[i] = NULL;
	}
}

int
lb_win_gpo_apply(const struct lb_win_gpo *g, struct lb_policy *p, struct lb_buf *err)
{
	char label[300];
	size_t i;
	int r;

	for (i = 0; i < LB_GPO_N; i++) {
		if (lb_gpo_values[i].key == NULL || g->value[i] == NULL)
			continue;
		lb_value_label(g, i, label, sizeof(label));
		if ((r = lb_policy_set_broker(p, label, lb_gpo_values[i].key, g->value[i], err)) != LB_OK)
			return r;
	}
	return LB_OK;
}

int
lb_win_gpo_describe(const struct lb_win_gpo *g, struct lb_buf *out)
{
	char *name;
	size_t i;
	int r = LB_OK, first = 1;

	for (i = 0; i < LB_GPO_N && r == LB_OK; i++) {
		if (g->value[i] == NULL)
			continue;
		if ((name = lb_win_utf8(lb_gpo_values[i].name)) == NULL)
			return LB_E_NOMEM;
		r = lb_buf_printf(out, "%s%s = %s", first ? "" : ", ", name, g->value[i]);
		free(name);
		first = 0;
	}
	return r;
}

int
lb_win_load_fleet_policy(HKEY root, const wchar_t *subkey, const char *where,
    const char *config, struct lb_policy **out, char **path, struct lb_buf *note,
    struct lb_buf *err)
{
	struct lb_win_gpo g;
	struct lb_policy *p = NULL;
	int r;

	*out = NULL;
	*path = NULL;
	if ((r = lb_win_gpo_read(root, subkey, where, &g, err)) != LB_OK)
		return r;
	*path = lb_strdup(g.value[LB_GPO_POLICY_FILE] != NULL ? g.value[LB_GPO_POLICY_FILE] : config);
	if (*path == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	if ((r = lb_win_load_policy(*path, &p, err)) != LB_OK)
		goto out;
	if ((r = lb_win_gpo_apply(&g, p, err)) != LB_OK)
		goto out;
	if (note != NULL && (r = lb_win_gpo_describe(&g, note)) != LB_OK)
		goto out;
	*out = p;
	p = NULL;
out:
	lb_policy_free(p);
	lb_win_gpo_free(&g);
	return r;
}

int
lb_win_gpo_stamp(HKEY root, const wchar_t *subkey, struct lb_gpo_stamp *out)
{
	HKEY key = NULL;
	FILETIME ft;
	LSTATUS e;

	memset(out, 0, sizeof(*out));
	e = RegOpenKeyExW(root, subkey, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key);
	if (e == ERROR_FILE_NOT_FOUND)
		return LB_OK;
	if (e != ERROR_SUCCESS)
		return lb_win_error((DWORD)e);
	e = RegQueryInfoKeyW(key, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &ft);
	RegCloseKey(key);
	if (e != ERROR_SUCCESS)
		return lb_win_error((DWORD)e);
	out->present = 1;
	out->write_time = (uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
	return LB_OK;
}
