/* lb_path: lexical path grammar, Windows and POSIX flavours, plain C that
 * runs on any host. The service refuses hostile paths here before any
 * system call sees them, so every rule fails closed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_path.h"
#include "lb_upcase_table.h"

/* A path being canonicalised: the root is written first, then components
 * are pushed and popped; DEPTH counts real components after the root, so
 * ".." pops only those (leading ".." of a relative path stay). */
struct lb_canon {
	enum lb_flavor flavor;
	enum lb_path_root root;
	char sep;          /* output separator */
	char *o;
	size_t olen;
	size_t cap;
	size_t root_len;
	size_t depth;
};

static int
lb_is_sep(enum lb_flavor flavor, unsigned char c)
{
	/* In the POSIX flavour '\' is an ordinary file name character. */
	if (flavor == LB_FLAVOR_WINDOWS)
		return c == '/' || c == '\\';
	return c == '/';
}

/* Decode one UTF-8 scalar value at S[*I] (I < N). Strict (RFC 3629): no
 * overlong forms, no surrogates, nothing above U+10FFFF, no truncation.
 * The second byte's range is narrowed per lead byte, which is what rules
 * out overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4). */
static int
lb_utf8_next(const unsigned char *s, size_t n, size_t *i, uint32_t *cp)
{
	size_t at = *i, need, k;
	uint32_t c = s[at], v, b, lo = 0x80, hi = 0xBF;

	if (c < 0x80) {
		*cp = c;
		*i = at + 1;
		return 0;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return -1;      /* continuation byte, C0/C1 overlong lead, F5..FF */
	}
	if (n - at - 1 < need)
		return -1;
	for (k = 1; k <= need; k++) {
		b = s[at + k];
		if (b < lo || b > hi)
			return -1;
		lo = 0x80;
		hi = 0xBF;
		v = (v << 6) | (b & 0x3F);
	}
	*cp = v;
	*i = at + need + 1;
	return 0;
}

/* Controls first, over the whole input, so a NUL anywhere is always
 * LB_E_PATH_CTRL whatever else is wrong; then UTF-8. C1 controls
 * (U+0080..U+009F) are refused too: they are terminal escapes (CSI) in logs. */
static int
lb_check_bytes(const unsigned char *s, size_t n)
{
	size_t i;
	uint32_t cp;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7F)
			return LB_E_PATH_CTRL;
	i = 0;
	while (i < n) {
		if (lb_utf8_next(s, n, &i, &cp) != 0)
			return LB_E_PATH_UTF8;
		if (cp >= 0x80 && cp <= 0x9F)
			return LB_E_PATH_CTRL;
	}
	return LB_OK;
}

/* Length in UTF-16 code units of valid UTF-8 (the unit Windows limits). */
static size_t
lb_utf16_units(const unsigned char *s, size_t n)
{
	size_t i = 0, units = 0;
	uint32_t cp;

	while (i < n) {
		if (lb_utf8_next(s, n, &i, &cp) != 0)
			return SIZE_MAX;        /* cannot happen on checked input */
		units += cp >= 0x10000 ? 2 : 1;
	}
	return units;
}

/* Binary search of the generated runs (lb_upcase_table.h). */
uint32_t
lb_path_upcase(uint32_t c)
{
	size_t lo = 0, hi = sizeof(lb_upcase_runs) / sizeof(lb_upcase_runs[0]), mid;
	const struct lb_upcase_run *r;

	if (c < 0x80)   /* the table's first run, without the search */
		return c >= 'a' && c <= 'z' ? c - 0x20 : c;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = &lb_upcase_runs[mid];
		if (c < r->first)
			hi = mid;
		else if (c > r->last)
			lo = mid + 1;
		else if ((c - r->first) % r->step != 0)
			return c;
		else
			return (uint32_t)((int32_t)c + r->delta);
	}
	return c;
}

/* Case-insensitive equality of the ASCII code points in CPS with WORD
 * (upper case). */
static int
lb_cps_is(const uint32_t *cps, size_t k, const char *word)
{
	size_t i;

	for (i = 0; i < k; i++) {
		if (word[i] == '\0' || lb_path_upcase(cps[i]) != (uint32_t)(unsigned char)word[i])
			return 0;
	}
	return word[k] == '\0';
}

/* Windows opens a DOS device for these names whatever the directory: the
 * name before the first dot, trailing spaces dropped, case-insensitively.
 * COM0/LPT0 and the superscript digits 1-3 count too (Windows treats
 * "COM¹" as a device; COM0 is one in some Windows 11 builds). */
static int
lb_win_is_device(const unsigned char *p, size_t n)
{
	static const char *const three[] = { "CON", "PRN", "AUX", "NUL" };
	uint32_t cps[8], d;
	size_t base = 0, i = 0, k = 0, j;

	while (base < n && p[base] != '.')
		base++;
	while (base > 0 && p[base - 1] == ' ')
		base--;
	/* BASE ends before an ASCII byte, so no sequence is split. */
	while (i < base) {
		if (k == sizeof(cps) / sizeof(cps[0]))
			return 0;       /* longer than any device name */
		if (lb_utf8_next(p, base, &i, &cps[k]) != 0)
			return 1;       /* cannot happen on checked input; refuse */
		k++;
	}
	if (k == 3) {
		for (j = 0; j < sizeof(three) / sizeof(three[0]); j++)
			if (lb_cps_is(cps, 3, three[j]))
				return 1;
		return 0;
	}
	if (k == 4 && (lb_cps_is(cps, 3, "COM") || lb_cps_is(cps, 3, "LPT"))) {
		d = cps[3];
		return (d >= '0' && d <= '9') || d == 0xB9 || d == 0xB2 ||
		    d == 0xB3;
	}
	return lb_cps_is(cps, k, "CONIN$") || lb_cps_is(cps, k, "CONOUT$");
}

/* One Windows name (N >= 1, not "." or ".."): ADS before the generic
 * character check so "a:b" gets the specific code. */
static int
lb_win_component(const unsigned char *p, size_t n)
{
	size_t i;

	if (memchr(p, ':', n) != NULL)
		return LB_E_PATH_ADS;
	for (i = 0; i < n; i++) {
		switch (p[i]) {
		case '<': case '>': case '"': case '|': case '?': case '*':
			return LB_E_PATH_CHAR;
		default:
			break;
		}
	}
	/* Win32 silently strips trailing dots and spaces, so "a." would name
	 * "a": a different file from the one the string says. */
	if (p[n - 1] == '.' || p[n - 1] == ' ')
		return LB_E_PATH_TRAILING;
	if (lb_win_is_device(p, n))
		return LB_E_PATH_DEVICE;
	if (lb_utf16_units(p, n) > LB_PATH_COMPONENT_MAX)
		return LB_E_PATH_COMPONENT_LONG;
	return LB_OK;
}

/* UNC server or share name: non-empty, not navigation, a valid name. */
static int
lb_unc_name_ok(const unsigned char *p, size_t n)
{
	if (n == 0)
		return 0;
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return 0;
	return lb_win_component(p, n) == LB_OK;
}

static int
lb_canon_put(struct lb_canon *c, const void *p, size_t n)
{
	/* The output never outgrows the input; checked anyway. */
	if (n > c->cap - c->olen)
		return LB_E_PATH_LONG;
	memcpy(c->o + c->olen, p, n);
	c->olen += n;
	return LB_OK;
}

static int
lb_canon_push(struct lb_canon *c, const unsigned char *p, size_t n)
{
	int rc;

	/* Roots "/", "C:\", "\" end in a separator; a UNC root does not. */
	if (c->olen > 0 && c->o[c->olen - 1] != c->sep) {
		rc = lb_canon_put(c, &c->sep, 1);
		if (rc != LB_OK)
			return rc;
	}
	return lb_canon_put(c, p, n);
}

static void
lb_canon_pop(struct lb_canon *c)
{
	size_t i = c->olen;

	while (i > c->root_len && c->o[i - 1] != c->sep)
		i--;
	if (i > c->root_len)
		i--;            /* the separator before the component */
	c->olen = i;
	c->depth--;
}

static int
lb_canon_component(struct lb_canon *c, const unsigned char *p, size_t n)
{
	int rc;

	if (n == 1 && p[0] == '.')
		return LB_OK;
	if (n == 2 && p[0] == '.' && p[1] == '.') {
		if (c->depth > 0) {
			lb_canon_pop(c);
			return LB_OK;
		}
		if (c->root != LB_ROOT_NONE)
			return LB_E_PATH_ESCAPE;
		return lb_canon_push(c, p, n);  /* relative: resolved later */
	}
	/* Checked even if a later ".." removes it: a hostile name is refused,
	 * not cancelled. */
	if (c->flavor == LB_FLAVOR_WINDOWS)
		rc = lb_win_component(p, n);
	else
		rc = n > LB_PATH_COMPONENT_MAX ? LB_E_PATH_COMPONENT_LONG : LB_OK;
	if (rc != LB_OK)
		return rc;
	rc = lb_canon_push(c, p, n);
	if (rc != LB_OK)
		return rc;
	c->depth++;
	return LB_OK;
}

static int
lb_posix_root(struct lb_canon *c, const unsigned char *s, size_t *rest)
{
	if (s[0] == '/') {
		c->root = LB_ROOT_POSIX;
		*rest = 1;
		return lb_canon_put(c, "/", 1);
	}
	c->root = LB_ROOT_NONE;
	*rest = 0;
	return LB_OK;
}

/* "\\server\share": both names must be there and valid; the root written
 * is "\\server\share" without a trailing separator. */
static int
lb_win_unc_root(struct lb_canon *c, const unsigned char *s, size_t n,
    size_t *rest)
{
	size_t i = 2, srv, srv_n, shr, shr_n;
	int rc;

	srv = i;
	while (i < n && !lb_is_sep(LB_FLAVOR_WINDOWS, s[i]))
		i++;
	srv_n = i - srv;
	if (i >= n)
		return LB_E_PATH_UNC;   /* "\\server" without a share */
	i++;
	shr = i;
	while (i < n && !lb_is_sep(LB_FLAVOR_WINDOWS, s[i]))
		i++;
	shr_n = i - shr;
	if (!lb_unc_name_ok(s + srv, srv_n) || !lb_unc_name_ok(s + shr, shr_n))
		return LB_E_PATH_UNC;
	c->root = LB_ROOT_UNC;
	rc = lb_canon_put(c, "\\\\", 2);
	if (rc == LB_OK)
		rc = lb_canon_put(c, s + srv, srv_n);
	if (rc == LB_OK)
		rc = lb_canon_put(c, "\\", 1);
	if (rc == LB_OK)
		rc = lb_canon_put(c, s + shr, shr_n);
	*rest = i;
	return rc;
}

static int
lb_win_root(struct lb_canon *c, const unsigned char *s, size_t n, size_t *rest)
{
	char drive[3];

	if (n >= 2 && lb_is_sep(LB_FLAVOR_WINDOWS, s[0]) &&
	    lb_is_sep(LB_FLAVOR_WINDOWS, s[1])) {
		/* \\?\ and \\.\ (any separators) bypass Win32 normalisation and
		 * reach devices; alone ("\\?", "\\.") they are no better. */
		if (n >= 3 && (s[2] == '?' || s[2] == '.') &&
		    (n == 3 || lb_is_sep(LB_FLAVOR_WINDOWS, s[3])))
			return LB_E_PATH_PREFIX;
		return lb_win_unc_root(c, s, n, rest);
	}
	if (lb_is_sep(LB_FLAVOR_WINDOWS, s[0])) {
		/* \??\ is the NT object manager's DOS device directory. */
		if (n >= 3 && s[1] == '?' && s[2] == '?' &&
		    (n == 3 || lb_is_sep(LB_FLAVOR_WINDOWS, s[3])))
			return LB_E_PATH_PREFIX;
		c->root = LB_ROOT_CURDRIVE;
		*rest = 1;
		return lb_canon_put(c, "\\", 1);
	}
	if (n >= 2 && s[1] == ':' &&
	    ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) {
		/* "C:" and "C:foo" depend on the per-drive current directory. */
		if (n == 2 || !lb_is_sep(LB_FLAVOR_WINDOWS, s[2]))
			return LB_E_PATH_DRIVE_RELATIVE;
		drive[0] = (char)(s[0] >= 'a' ? s[0] - ('a' - 'A') : s[0]);
		drive[1] = ':';
		drive[2] = '\\';
		c->root = LB_ROOT_DRIVE;
		*rest = 3;
		return lb_canon_put(c, drive, sizeof(drive));
	}
	c->root = LB_ROOT_NONE;
	*rest = 0;
	return LB_OK;
}

int
lb_path_canon(enum lb_flavor flavor, const char *in, size_t len,
    struct lb_path *out)
{
	const unsigned char *s = (const unsigned char *)in;
	struct lb_canon c;
	size_t i = 0, start, total;
	char *res = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	if (out == NULL)
		return LB_E_INVAL;
	memset(out, 0, sizeof(*out));
	if (flavor != LB_FLAVOR_POSIX && flavor != LB_FLAVOR_WINDOWS)
		return LB_E_INVAL;
	if (in == NULL)
		return LB_E_INVAL;
	if (len == 0)
		return LB_E_PATH_EMPTY;
	if (len > LB_PATH_INPUT_MAX)
		return LB_E_PATH_LONG;
	rc = lb_check_bytes(s, len);
	if (rc != LB_OK)
		goto out;

	c.flavor = flavor;
	c.sep = flavor == LB_FLAVOR_WINDOWS ? '\\' : '/';
	c.cap = len + 1;        /* output <= input, plus "." for an empty result */
	c.o = malloc(c.cap);
	if (c.o == NULL) {
		rc = LB_E_NOMEM;
		goto out;
	}
	if (flavor == LB_FLAVOR_WINDOWS)
		rc = lb_win_root(&c, s, len, &i);
	else
		rc = lb_posix_root(&c, s, &i);
	if (rc != LB_OK)
		goto out;
	c.root_len = c.olen;

	while (i < len) {
		if (lb_is_sep(flavor, s[i])) {
			i++;            /* repeated and trailing separators */
			continue;
		}
		start = i;
		while (i < len && !lb_is_sep(flavor, s[i]))
			i++;
		rc = lb_canon_component(&c, s + start, i - start);
		if (rc != LB_OK)
			goto out;
	}
	if (c.olen == 0) {
		rc = lb_canon_put(&c, ".", 1);  /* relative path that cancelled out */
		if (rc != LB_OK)
			goto out;
	}

	if (flavor == LB_FLAVOR_WINDOWS)
		total = lb_utf16_units((const unsigned char *)c.o, c.olen);
	else
		total = c.olen;
	if (total > (flavor == LB_FLAVOR_WINDOWS ? LB_PATH_WINDOWS_MAX :
	    LB_PATH_POSIX_MAX)) {
		rc = LB_E_PATH_LONG;
		goto out;
	}

	res = malloc(c.olen + 1);
	if (res == NULL) {
		rc = LB_E_NOMEM;
		goto out;
	}
	memcpy(res, c.o, c.olen);
	res[c.olen] = '\0';
	out->flavor = flavor;
	out->root = c.root;
	out->s = res;
	out->len = c.olen;
	out->root_len = c.root_len;
	rc = LB_OK;
out:
	free(c.o);
	return rc;
}

/* A struct that could have come from lb_path_canon (shape only). */
static int
lb_path_plausible(const struct lb_path *p)
{
	return p != NULL && p->s != NULL && p->len > 0 &&
	    p->root_len <= p->len &&
	    (p->flavor == LB_FLAVOR_POSIX || p->flavor == LB_FLAVOR_WINDOWS);
}

int
lb_path_require_absolute(const struct lb_path *p)
{
	if (p == NULL)
		return LB_E_INVAL;
	if (p->flavor == LB_FLAVOR_POSIX) {
		if (p->root == LB_ROOT_POSIX)
			return LB_OK;
		if (p->root == LB_ROOT_NONE)
			return LB_E_PATH_RELATIVE;
		return LB_E_INVAL;
	}
	if (p->flavor == LB_FLAVOR_WINDOWS) {
		if (p->root == LB_ROOT_DRIVE || p->root == LB_ROOT_UNC)
			return LB_OK;
		if (p->root == LB_ROOT_NONE || p->root == LB_ROOT_CURDRIVE)
			return LB_E_PATH_RELATIVE;
		return LB_E_INVAL;
	}
	return LB_E_INVAL;
}

int
lb_path_resolve(const struct lb_path *link_parent,
    const struct lb_path *target, struct lb_path *out)
{
	const char *tail;
	size_t head_n, tail_n, n;
	char *joined = NULL;
	char sep;
	int rc;

	if (out == NULL || out == link_parent || out == target)
		return LB_E_INVAL;
	memset(out, 0, sizeof(*out));
	if (!lb_path_plausible(link_parent) || !lb_path_plausible(target) ||
	    link_parent->flavor != target->flavor)
		return LB_E_INVAL;
	rc = lb_path_require_absolute(link_parent);
	if (rc != LB_OK)
		return rc;
	sep = link_parent->flavor == LB_FLAVOR_WINDOWS ? '\\' : '/';

	/* An absolute target goes through the grammar again too, so a struct
	 * the caller built by hand cannot bypass it. */
	if (lb_path_require_absolute(target) == LB_OK)
		return lb_path_canon(target->flavor, target->s, target->len, out);
	if (target->root == LB_ROOT_CURDRIVE) {
		/* "\foo": the drive or UNC share of the link's directory. */
		head_n = link_parent->root_len;
		tail = target->s + target->root_len;
		tail_n = target->len - target->root_len;
	} else if (target->root == LB_ROOT_NONE) {
		head_n = link_parent->len;
		tail = target->s;
		tail_n = target->len;
	} else {
		return LB_E_INVAL;
	}

	/* Lengths come from the callers' structs: bound them before adding. */
	if (head_n > LB_PATH_INPUT_MAX || tail_n > LB_PATH_INPUT_MAX)
		return LB_E_PATH_LONG;
	n = head_n + 1 + tail_n;
	joined = malloc(n);
	if (joined == NULL)
		return LB_E_NOMEM;
	memcpy(joined, link_parent->s, head_n);
	joined[head_n] = sep;   /* a doubled separator ("C:\\x") collapses */
	memcpy(joined + head_n + 1, tail, tail_n);
	/* Canonicalising the join resolves ".." with the escape check against
	 * the parent's root and re-checks every limit on the result. */
	rc = lb_path_canon(target->flavor, joined, n, out);
	free(joined);
	return rc;
}

int
lb_path_parent(const struct lb_path *p, struct lb_path *out)
{
	struct lb_path tmp;
	size_t i;
	char sep;
	int rc;

	if (out == NULL || out == p)
		return LB_E_INVAL;
	memset(out, 0, sizeof(*out));
	if (!lb_path_plausible(p))
		return LB_E_INVAL;
	rc = lb_path_require_absolute(p);
	if (rc != LB_OK)
		return rc;
	sep = p->flavor == LB_FLAVOR_WINDOWS ? '\\' : '/';
	i = p->len;
	while (i > p->root_len && p->s[i - 1] != sep)
		i--;
	if (i > p->root_len)
		i--;
	tmp = *p;
	tmp.len = i;
	tmp.s = malloc(i + 1);
	if (tmp.s == NULL)
		return LB_E_NOMEM;
	memcpy(tmp.s, p->s, i);
	tmp.s[i] = '\0';
	*out = tmp;
	return LB_OK;
}

int
lb_path_is_under(const struct lb_path *p, const struct lb_path *dir)
{
	const unsigned char *ps, *ds;
	size_t i = 0, j = 0;
	uint32_t a, b;

	if (!lb_path_plausible(p) || !lb_path_plausible(dir))
		return 0;
	if (p->flavor != dir->flavor || p->root != dir->root)
		return 0;
	/* Relative and "\foo" paths have no known root: never under anything. */
	if (lb_path_require_absolute(p) != LB_OK ||
	    lb_path_require_absolute(dir) != LB_OK)
		return 0;
	ps = (const unsigned char *)p->s;
	ds = (const unsigned char *)dir->s;

	if (p->flavor == LB_FLAVOR_POSIX) {
		if (dir->len > p->len || memcmp(ps, ds, dir->len) != 0)
			return 0;
		i = dir->len;
	} else {
		/* Compare code points, not bytes: folding pairs sequences of
		 * different lengths (U+2C65 is three bytes, its capital U+023A
		 * two), so walk both independently. */
		while (j < dir->len) {
			if (i >= p->len)
				return 0;
			if (lb_utf8_next(ps, p->len, &i, &a) != 0 ||
			    lb_utf8_next(ds, dir->len, &j, &b) != 0)
				return 0;
			if (lb_path_upcase(a) != lb_path_upcase(b))
				return 0;
		}
	}
	/* Whole components: P ends here, or DIR is a root that ends in a
	 * separator ("/", "C:\"; a UNC root does not), or P's next byte is a
	 * separator. */
	if (i == p->len)
		return 1;
	if (dir->len == dir->root_len && dir->root != LB_ROOT_UNC)
		return 1;
	return ps[i] == (p->flavor == LB_FLAVOR_WINDOWS ? '\\' : '/');
}

int
lb_name_equal(enum lb_flavor flavor, const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;
	size_t xn, yn, i = 0, j = 0;
	uint32_t ca, cb;

	if (a == NULL || b == NULL)
		return 1;
	if (flavor == LB_FLAVOR_POSIX)
		return strcmp(a, b) == 0 ? 0 : 1;
	if (flavor != LB_FLAVOR_WINDOWS)
		return 1;
	if (strcmp(a, b) == 0)
		return 0;       /* identical bytes name the same thing */
	xn = strlen(a);
	yn = strlen(b);
	while (i < xn && j < yn) {
		if (lb_utf8_next(x, xn, &i, &ca) != 0 ||
		    lb_utf8_next(y, yn, &j, &cb) != 0)
			return 1;
		if (lb_path_upcase(ca) != lb_path_upcase(cb))
			return 1;
	}
	return i == xn && j == yn ? 0 : 1;
}

int
lb_name_key(enum lb_flavor flavor, const char *s, struct lb_buf *out)
{
	const unsigned char *x = (const unsigned char *)s;
	const size_t n = s != NULL ? strlen(s) : 0, start = out->len;
	size_t i = 0;
	uint32_t c;
	int r;

	if (s == NULL)
		return LB_E_INVAL;
	if (flavor != LB_FLAVOR_WINDOWS)
		return lb_buf_put(out, s, n);
	while (i < n) {
		if (lb_utf8_next(x, n, &i, &c) != 0) {
			/* not UTF-8: equal only to the same bytes */
			out->len = start;
			if ((r = lb_buf_put_u8(out, 0xFF)) != LB_OK)
				return r;
			return lb_buf_put(out, s, n);
		}
		c = lb_path_upcase(c);
		if ((r = lb_buf_put_u8(out, (uint8_t)(c >> 16))) != LB_OK ||
		    (r = lb_buf_put_u8(out, (uint8_t)(c >> 8))) != LB_OK ||
		    (r = lb_buf_put_u8(out, (uint8_t)c)) != LB_OK) {
			out->len = start;
			return r;
		}
	}
	return LB_OK;
}

void
lb_path_free(struct lb_path *p)
{
	if (p == NULL)
		return;
	free(p->s);
	memset(p, 0, sizeof(*p));
}

int
lb_path_copy(const struct lb_path *src, struct lb_path *dst)
{
	struct lb_path tmp;

	if (dst == NULL || dst == src)
		return LB_E_INVAL;
	memset(dst, 0, sizeof(*dst));
	if (!lb_path_plausible(src))
		return LB_E_INVAL;
	tmp = *src;
	tmp.s = malloc(src->len + 1);
	if (tmp.s == NULL)
		return LB_E_NOMEM;
	memcpy(tmp.s, src->s, src->len);
	tmp.s[src->len] = '\0';
	*dst = tmp;
	return LB_OK;
}

const char *
lb_flavor_name(enum lb_flavor f)
{
	switch (f) {
	case LB_FLAVOR_POSIX:
		return "posix";
	case LB_FLAVOR_WINDOWS:
		return "windows";
	default:
		return "unknown";
	}
}

int
lb_flavor_parse(const char *s, enum lb_flavor *out)
{
	if (s == NULL || out == NULL)
		return LB_E_INVAL;
	if (strcmp(s, "posix") == 0) {
		*out = LB_FLAVOR_POSIX;
		return LB_OK;
	}
	if (strcmp(s, "windows") == 0) {
		*out = LB_FLAVOR_WINDOWS;
		return LB_OK;
	}
	return LB_E_INVAL;
}
