/* test_path: the lexical path grammar (common/lb_path), both flavours:
 * canonical forms, every refusal rule, limits, is_under, resolve, parent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lb_path.h"

#define P LB_FLAVOR_POSIX
#define W LB_FLAVOR_WINDOWS

/* ---- helpers ------------------------------------------------------------ */

/* Printable rendering of bytes for failure messages. */
static const char *
show(const char *s, size_t n)
{
	static char buf[512];
	size_t i, o = 0;

	for (i = 0; i < n && o + 8 < sizeof(buf); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7F) {
			buf[o++] = (char)c;
		} else {
			int w = snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);

			if (w < 0)
				break;
			o += (size_t)w;
		}
	}
	if (i < n && o + 4 < sizeof(buf)) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static size_t
expected_root_len(enum lb_path_root root, const char *s)
{
	const char *a, *b;

	switch (root) {
	case LB_ROOT_POSIX:
	case LB_ROOT_CURDRIVE:
		return 1;
	case LB_ROOT_DRIVE:
		return 3;
	case LB_ROOT_UNC:
		a = strchr(s + 2, '\\');
		if (a == NULL)
			return 0;
		b = strchr(a + 1, '\\');
		return b == NULL ? strlen(s) : (size_t)(b - s);
	default:
		return 0;
	}
}

/* canon(out) must give out back, byte for byte, same root. */
static void
assert_idempotent(const struct lb_path *p, const char *what)
{
	struct lb_path again;
	int rc = lb_path_canon(p->flavor, p->s, p->len, &again);

	if (rc != LB_OK)
		fail_msg("%s: canonical \"%s\" re-canonicalises to error %d",
		    what, show(p->s, p->len), rc);
	if (again.len != p->len || memcmp(again.s, p->s, p->len) != 0 ||
	    again.root != p->root || again.root_len != p->root_len)
		fail_msg("%s: \"%s\" is not a fixed point", what,
		    show(p->s, p->len));
	lb_path_free(&again);
}

struct canon_row {
	enum lb_flavor fl;
	const char *in;
	size_t len;
	int err;
	const char *want;
	enum lb_path_root root;
};

#define OK(fl, in, want, root) { fl, in, sizeof(in) - 1, LB_OK, want, root }
#define ERR(fl, in, err) { fl, in, sizeof(in) - 1, err, NULL, LB_ROOT_NONE }
#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

static size_t rows_run;

static void
run_canon_rows(const struct canon_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct canon_row *r = &rows[i];
		struct lb_path out;
		int rc;

		memset(&out, 0xA5, sizeof(out));
		rc = lb_path_canon(r->fl, r->in, r->len, &out);
		rows_run++;
		if (rc != r->err)
			fail_msg("row %zu %s \"%s\": got %d (%s), want %d (%s)",
			    i, lb_flavor_name(r->fl), show(r->in, r->len), rc,
			    rc == 0 ? show(out.s, out.len) : lb_strerror(rc),
			    r->err, lb_strerror(r->err));
		if (rc != LB_OK) {
			/* On error the output is zeroed, never half-filled. */
			assert_null(out.s);
			assert_int_equal(out.len, 0);
			assert_int_equal(out.root_len, 0);
			continue;
		}
		if (strcmp(out.s, r->want) != 0 || out.len != strlen(r->want))
			fail_msg("row %zu %s \"%s\": got \"%s\", want \"%s\"", i,
			    lb_flavor_name(r->fl), show(r->in, r->len),
			    show(out.s, out.len), r->want);
		if (out.root != r->root)
			fail_msg("row %zu \"%s\": root %d, want %d", i,
			    show(r->in, r->len), (int)out.root, (int)r->root);
		if (out.root_len != expected_root_len(r->root, r->want))
			fail_msg("row %zu \"%s\": root_len %zu", i,
			    show(r->in, r->len), out.root_len);
		assert_int_equal(out.flavor, r->fl);
		assert_idempotent(&out, "table row");
		lb_path_free(&out);
	}
}

/* ---- POSIX ---------------------------------------------------------------- */

static void
test_posix_canon_collapses_separators_dots_and_trailing_slash(void **state)
{
	static const struct canon_row rows[] = {
		OK(P, "/", "/", LB_ROOT_POSIX),
		OK(P, "//", "/", LB_ROOT_POSIX),
		OK(P, "//a", "/a", LB_ROOT_POSIX),
		OK(P, "///a///b///", "/a/b", LB_ROOT_POSIX),
		OK(P, "/a/b/", "/a/b", LB_ROOT_POSIX),
		OK(P, "/a/./b/.", "/a/b", LB_ROOT_POSIX),
		OK(P, "/./", "/", LB_ROOT_POSIX),
		OK(P, "/a/b/..", "/a", LB_ROOT_POSIX),
		OK(P, "/a/..", "/", LB_ROOT_POSIX),
		OK(P, "/a/./../b", "/b", LB_ROOT_POSIX),
		OK(P, "/a/b/../../c/", "/c", LB_ROOT_POSIX),
		OK(P, "a", "a", LB_ROOT_NONE),
		OK(P, "a/", "a", LB_ROOT_NONE),
		OK(P, "./a", "a", LB_ROOT_NONE),
		OK(P, "a//b", "a/b", LB_ROOT_NONE),
		OK(P, ".", ".", LB_ROOT_NONE),
		OK(P, "./", ".", LB_ROOT_NONE),
		OK(P, "a/..", ".", LB_ROOT_NONE),
		OK(P, "..", "..", LB_ROOT_NONE),
		OK(P, "a/../..", "..", LB_ROOT_NONE),
		OK(P, "../a", "../a", LB_ROOT_NONE),
		OK(P, "../../a/../b", "../../b", LB_ROOT_NONE),
		OK(P, "a/b/../../../c", "../c", LB_ROOT_NONE),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_posix_dotdot_above_root_is_escape(void **state)
{
	static const struct canon_row rows[] = {
		ERR(P, "/..", LB_E_PATH_ESCAPE),
		ERR(P, "/../a", LB_E_PATH_ESCAPE),
		ERR(P, "/a/../../b", LB_E_PATH_ESCAPE),
		ERR(P, "/a/b/../../..", LB_E_PATH_ESCAPE),
		ERR(P, "//..//", LB_E_PATH_ESCAPE),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

/* Windows rules are not POSIX rules: these are ordinary POSIX names. */
static void
test_posix_keeps_windows_special_characters_literal(void **state)
{
	static const struct canon_row rows[] = {
		OK(P, "a\\b", "a\\b", LB_ROOT_NONE),
		OK(P, "/a\\..\\b", "/a\\..\\b", LB_ROOT_POSIX),
		OK(P, "C:\\x", "C:\\x", LB_ROOT_NONE),
		OK(P, "C:", "C:", LB_ROOT_NONE),
		OK(P, "\\\\?\\C:\\x", "\\\\?\\C:\\x", LB_ROOT_NONE),
		OK(P, "/a:b", "/a:b", LB_ROOT_POSIX),
		OK(P, "/con", "/con", LB_ROOT_POSIX),
		OK(P, "/a./b ", "/a./b ", LB_ROOT_POSIX),
		OK(P, "/...", "/...", LB_ROOT_POSIX),
		OK(P, "/a/.../b", "/a/.../b", LB_ROOT_POSIX),
		OK(P, "/a*?<>|\"", "/a*?<>|\"", LB_ROOT_POSIX),
		OK(P, "/\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", "/\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", LB_ROOT_POSIX),
		OK(P, "/\xf0\x9f\x98\x80", "/\xf0\x9f\x98\x80", LB_ROOT_POSIX),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

/* ---- both flavours: bytes ------------------------------------------------- */

static void
test_empty_path_is_refused(void **state)
{
	static const struct canon_row rows[] = {
		ERR(P, "", LB_E_PATH_EMPTY),
		ERR(W, "", LB_E_PATH_EMPTY),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_nul_and_control_characters_are_refused_in_both_flavours(void **state)
{
	static const struct canon_row rows[] = {
		ERR(P, "/a\0b", LB_E_PATH_CTRL),
		ERR(P, "\0", LB_E_PATH_CTRL),
		ERR(P, "/a\0", LB_E_PATH_CTRL),
		ERR(P, "/a\n", LB_E_PATH_CTRL),
		ERR(P, "/a\r/b", LB_E_PATH_CTRL),
		ERR(P, "/a\t", LB_E_PATH_CTRL),
		ERR(P, "/a\x1b[31m", LB_E_PATH_CTRL),
		ERR(P, "/a\x7f", LB_E_PATH_CTRL),
		ERR(P, "/\x01", LB_E_PATH_CTRL),
		ERR(P, "/\xc2\x9b" "31m", LB_E_PATH_CTRL),   /* C1 CSI */
		ERR(P, "/\xc2\x80", LB_E_PATH_CTRL),
		ERR(W, "C:\\a\0b", LB_E_PATH_CTRL),
		ERR(W, "C:\\a\0", LB_E_PATH_CTRL),
		ERR(W, "C:\\a\nb", LB_E_PATH_CTRL),
		ERR(W, "C:\\\x1b", LB_E_PATH_CTRL),
		ERR(W, "C:\\\x7f", LB_E_PATH_CTRL),
		ERR(W, "\x1f", LB_E_PATH_CTRL),
		ERR(W, "C:\\\xc2\x9f", LB_E_PATH_CTRL),
		/* A NUL wins over anything else wrong in the same input. */
		ERR(W, "\\\\?\\\0", LB_E_PATH_CTRL),
		ERR(P, "/\xff\0", LB_E_PATH_CTRL),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_invalid_utf8_is_refused_in_both_flavours(void **state)
{
	static const struct canon_row rows[] = {
		ERR(P, "/\xc0\xaf", LB_E_PATH_UTF8),           /* overlong '/' */
		ERR(P, "/\xc1\xbf", LB_E_PATH_UTF8),
		ERR(P, "/\xe0\x80\xaf", LB_E_PATH_UTF8),       /* 3-byte overlong */
		ERR(P, "/\xf0\x80\x80\xaf", LB_E_PATH_UTF8),   /* 4-byte overlong */
		ERR(P, "/\xed\xa0\x80", LB_E_PATH_UTF8),       /* surrogate D800 */
		ERR(P, "/\xed\xbf\xbf", LB_E_PATH_UTF8),       /* surrogate DFFF */
		ERR(P, "/\x80", LB_E_PATH_UTF8),               /* lone continuation */
		ERR(P, "/\xe2\x82", LB_E_PATH_UTF8),           /* truncated */
		ERR(P, "/\xe2\x82/", LB_E_PATH_UTF8),
		ERR(P, "/\xf4\x90\x80\x80", LB_E_PATH_UTF8),   /* > U+10FFFF */
		ERR(P, "/\xf5\x80\x80\x80", LB_E_PATH_UTF8),
		ERR(P, "/\xff", LB_E_PATH_UTF8),
		ERR(P, "\xfe\xff", LB_E_PATH_UTF8),
		ERR(W, "C:\\\xc0\xaf", LB_E_PATH_UTF8),
		ERR(W, "C:\\\xed\xa0\x80", LB_E_PATH_UTF8),
		ERR(W, "C:\\\x80", LB_E_PATH_UTF8),
		ERR(W, "C:\\\xe2\x82", LB_E_PATH_UTF8),
		ERR(W, "\xc0\xae\xc0\xae\\x", LB_E_PATH_UTF8), /* overlong ".." */
		/* Boundaries that are valid. */
		OK(P, "/\xef\xbf\xbd", "/\xef\xbf\xbd", LB_ROOT_POSIX),
		OK(P, "/\xf4\x8f\xbf\xbf", "/\xf4\x8f\xbf\xbf", LB_ROOT_POSIX),
		OK(P, "/\xed\x9f\xbf", "/\xed\x9f\xbf", LB_ROOT_POSIX),
		OK(P, "/\xee\x80\x80", "/\xee\x80\x80", LB_ROOT_POSIX),
		OK(P, "/\xc2\xa0", "/\xc2\xa0", LB_ROOT_POSIX),
		OK(W, "C:\\\xf0\x9f\x98\x80", "C:\\\xf0\x9f\x98\x80", LB_ROOT_DRIVE),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

/* ---- Windows -------------------------------------------------------------- */

static void
test_windows_drive_paths_canonicalise_to_upper_letter_and_backslashes(void **state)
{
	static const struct canon_row rows[] = {
		OK(W, "C:\\", "C:\\", LB_ROOT_DRIVE),
		OK(W, "c:\\", "C:\\", LB_ROOT_DRIVE),
		OK(W, "c:/", "C:\\", LB_ROOT_DRIVE),
		OK(W, "z:\\x\\", "Z:\\x", LB_ROOT_DRIVE),
		OK(W, "C:/a//b/./c/..", "C:\\a\\b", LB_ROOT_DRIVE),
		OK(W, "C:\\a/b\\c", "C:\\a\\b\\c", LB_ROOT_DRIVE),
		OK(W, "C:\\\\\\a", "C:\\a", LB_ROOT_DRIVE),
		OK(W, "C:\\a\\..\\b", "C:\\b", LB_ROOT_DRIVE),
		OK(W, "C:\\a\\b\\..\\..", "C:\\", LB_ROOT_DRIVE),
		OK(W, "C:\\.", "C:\\", LB_ROOT_DRIVE),
		OK(W, "C:\\Program Files\\x", "C:\\Program Files\\x", LB_ROOT_DRIVE),
		OK(W, "C:\\.a", "C:\\.a", LB_ROOT_DRIVE),
		OK(W, "C:\\ a", "C:\\ a", LB_ROOT_DRIVE),
		OK(W, "C:\\a.b.c", "C:\\a.b.c", LB_ROOT_DRIVE),
		OK(W, "C:\\\xc3\x80\xc3\x89", "C:\\\xc3\x80\xc3\x89", LB_ROOT_DRIVE),
		OK(W, "C:\\a$b#c%d&e'f(g)h+i,j;k=l@m[n]o^p`q{r}s~t", "C:\\a$b#c%d&e'f(g)h+i,j;k=l@m[n]o^p`q{r}s~t", LB_ROOT_DRIVE),
		OK(W, "C:\\\xef\xbc\x9a", "C:\\\xef\xbc\x9a", LB_ROOT_DRIVE), /* fullwidth colon is a letter-like char */
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_dotdot_never_climbs_above_drive_unc_or_curdrive_root(void **state)
{
	static const struct canon_row rows[] = {
		ERR(W, "C:\\..", LB_E_PATH_ESCAPE),
		ERR(W, "C:\\a\\..\\..\\b", LB_E_PATH_ESCAPE),
		ERR(W, "C:/../Windows", LB_E_PATH_ESCAPE),
		ERR(W, "\\\\server\\share\\..", LB_E_PATH_ESCAPE),
		ERR(W, "\\\\server\\share\\a\\..\\..", LB_E_PATH_ESCAPE),
		ERR(W, "\\..", LB_E_PATH_ESCAPE),
		ERR(W, "\\a\\..\\..", LB_E_PATH_ESCAPE),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_drive_relative_forms_are_refused(void **state)
{
	static const struct canon_row rows[] = {
		ERR(W, "C:", LB_E_PATH_DRIVE_RELATIVE),
		ERR(W, "c:", LB_E_PATH_DRIVE_RELATIVE),
		ERR(W, "C:foo", LB_E_PATH_DRIVE_RELATIVE),
		ERR(W, "c:..", LB_E_PATH_DRIVE_RELATIVE),
		ERR(W, "C::\\x", LB_E_PATH_DRIVE_RELATIVE),
		ERR(W, "a:b", LB_E_PATH_DRIVE_RELATIVE),      /* drive A:, not a stream */
		/* Not a drive letter: a name with a colon, i.e. a stream. */
		ERR(W, "1:\\x", LB_E_PATH_ADS),
		ERR(W, "\xc3\xa9:\\x", LB_E_PATH_ADS),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_namespace_prefixes_are_refused_with_any_separators(void **state)
{
	static const struct canon_row rows[] = {
		ERR(W, "\\\\?\\C:\\x", LB_E_PATH_PREFIX),
		ERR(W, "\\\\?\\UNC\\srv\\share", LB_E_PATH_PREFIX),
		ERR(W, "\\\\.\\C:", LB_E_PATH_PREFIX),
		ERR(W, "\\\\.\\pipe\\x", LB_E_PATH_PREFIX),
		ERR(W, "//./pipe/x", LB_E_PATH_PREFIX),
		ERR(W, "//?/C:/x", LB_E_PATH_PREFIX),
		ERR(W, "\\/?\\x", LB_E_PATH_PREFIX),
		ERR(W, "/\\.\\x", LB_E_PATH_PREFIX),
		ERR(W, "\\\\?", LB_E_PATH_PREFIX),
		ERR(W, "\\\\.", LB_E_PATH_PREFIX),
		ERR(W, "\\\\.\\", LB_E_PATH_PREFIX),
		ERR(W, "\\??\\C:\\x", LB_E_PATH_PREFIX),
		ERR(W, "/?\?/C:/x", LB_E_PATH_PREFIX),
		ERR(W, "\\?\?/x", LB_E_PATH_PREFIX),
		ERR(W, "\\??", LB_E_PATH_PREFIX),
		/* Look-alikes that are not prefixes get their own verdict. */
		ERR(W, "\\??x", LB_E_PATH_CHAR),
		ERR(W, "\\?\\x", LB_E_PATH_CHAR),
		ERR(W, "\\\\?x\\share", LB_E_PATH_UNC),
		OK(W, "\\\\.x\\share", "\\\\.x\\share", LB_ROOT_UNC),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_unc_needs_valid_server_and_share(void **state)
{
	static const struct canon_row rows[] = {
		OK(W, "\\\\server\\share\\rest", "\\\\server\\share\\rest", LB_ROOT_UNC),
		OK(W, "//server/share/a/../b", "\\\\server\\share\\b", LB_ROOT_UNC),
		OK(W, "\\\\server\\share", "\\\\server\\share", LB_ROOT_UNC),
		OK(W, "\\\\server\\share\\", "\\\\server\\share", LB_ROOT_UNC),
		OK(W, "\\/server/share\\x\\.", "\\\\server\\share\\x", LB_ROOT_UNC),
		OK(W, "\\\\Srv\\C$\\x", "\\\\Srv\\C$\\x", LB_ROOT_UNC),
		OK(W, "\\\\srv\\share\\a\\..", "\\\\srv\\share", LB_ROOT_UNC),
		OK(W, "\\\\10.0.0.1\\share", "\\\\10.0.0.1\\share", LB_ROOT_UNC),
		ERR(W, "\\\\server", LB_E_PATH_UNC),
		ERR(W, "\\\\server\\", LB_E_PATH_UNC),
		ERR(W, "\\\\", LB_E_PATH_UNC),
		ERR(W, "//", LB_E_PATH_UNC),
		ERR(W, "\\\\\\share\\x", LB_E_PATH_UNC),
		ERR(W, "\\\\server\\\\share", LB_E_PATH_UNC),
		ERR(W, "\\\\server\\.", LB_E_PATH_UNC),
		ERR(W, "\\\\server\\..\\x", LB_E_PATH_UNC),
		ERR(W, "\\\\..\\share", LB_E_PATH_UNC),
		ERR(W, "\\\\srv:1\\share", LB_E_PATH_UNC),
		ERR(W, "\\\\srv\\sh*re", LB_E_PATH_UNC),
		ERR(W, "\\\\srv.\\share", LB_E_PATH_UNC),
		ERR(W, "\\\\srv\\share \\x", LB_E_PATH_UNC),
		ERR(W, "\\\\srv\\con", LB_E_PATH_UNC),
		ERR(W, "\\\\srv\\share\\con", LB_E_PATH_DEVICE),
		ERR(W, "\\\\srv\\share\\a:b", LB_E_PATH_ADS),
		ERR(W, "\\\\srv\\share\\x.", LB_E_PATH_TRAILING),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_single_leading_separator_is_curdrive_root(void **state)
{
	static const struct canon_row rows[] = {
		OK(W, "\\foo", "\\foo", LB_ROOT_CURDRIVE),
		OK(W, "/foo/bar/", "\\foo\\bar", LB_ROOT_CURDRIVE),
		OK(W, "\\", "\\", LB_ROOT_CURDRIVE),
		OK(W, "/", "\\", LB_ROOT_CURDRIVE),
		OK(W, "\\foo\\..", "\\", LB_ROOT_CURDRIVE),
		OK(W, "\\.\\x", "\\x", LB_ROOT_CURDRIVE),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_relative_paths_keep_leading_dotdot(void **state)
{
	static const struct canon_row rows[] = {
		OK(W, "a\\b", "a\\b", LB_ROOT_NONE),
		OK(W, "a/b", "a\\b", LB_ROOT_NONE),
		OK(W, "a\\..\\..", "..", LB_ROOT_NONE),
		OK(W, ".", ".", LB_ROOT_NONE),
		OK(W, ".\\", ".", LB_ROOT_NONE),
		OK(W, "a\\..", ".", LB_ROOT_NONE),
		OK(W, "..\\..\\x", "..\\..\\x", LB_ROOT_NONE),
		OK(W, "..//x/./", "..\\x", LB_ROOT_NONE),
		OK(W, "a/b\\../c", "a\\c", LB_ROOT_NONE),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_alternate_data_streams_are_refused(void **state)
{
	static const struct canon_row rows[] = {
		ERR(W, "C:\\a:b", LB_E_PATH_ADS),
		ERR(W, "C:\\a::$DATA", LB_E_PATH_ADS),
		ERR(W, "C:\\dir\\file.txt:stream", LB_E_PATH_ADS),
		ERR(W, "C:\\dir\\file.txt:stream:$DATA", LB_E_PATH_ADS),
		ERR(W, "C:\\a\\:b", LB_E_PATH_ADS),
		ERR(W, "C:\\x:", LB_E_PATH_ADS),
		ERR(W, "ab:c", LB_E_PATH_ADS),
		ERR(W, "\\x\\ab:c", LB_E_PATH_ADS),
		ERR(W, ":", LB_E_PATH_ADS),
		ERR(W, "C:\\con:", LB_E_PATH_ADS),
		ERR(W, "C:\\a*:b", LB_E_PATH_ADS),           /* ADS before generic chars */
		ERR(W, "C:\\a:b\\..", LB_E_PATH_ADS),        /* checked even if popped */
		ERR(W, "C:\\$MFT::$INDEX_ALLOCATION", LB_E_PATH_ADS),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_reserved_characters_are_refused(void **state)
{
	static const struct canon_row rows[] = {
		ERR(W, "C:\\a<b", LB_E_PATH_CHAR),
		ERR(W, "C:\\a>b", LB_E_PATH_CHAR),
		ERR(W, "C:\\a\"b", LB_E_PATH_CHAR),
		ERR(W, "C:\\a|b", LB_E_PATH_CHAR),
		ERR(W, "C:\\a?b", LB_E_PATH_CHAR),
		ERR(W, "C:\\a*", LB_E_PATH_CHAR),
		ERR(W, "C:\\*\\x", LB_E_PATH_CHAR),
		ERR(W, "C:\\?", LB_E_PATH_CHAR),
		ERR(W, "a\\b?\\..", LB_E_PATH_CHAR),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_trailing_dot_or_space_in_component_is_refused(void **state)
{
	static const struct canon_row rows[] = {
		ERR(W, "C:\\a.\\b", LB_E_PATH_TRAILING),
		ERR(W, "C:\\a \\b", LB_E_PATH_TRAILING),
		ERR(W, "C:\\...", LB_E_PATH_TRAILING),
		ERR(W, "C:\\a.", LB_E_PATH_TRAILING),
		ERR(W, "C:\\a ", LB_E_PATH_TRAILING),
		ERR(W, "C:\\ ", LB_E_PATH_TRAILING),
		ERR(W, "C:\\a..", LB_E_PATH_TRAILING),
		ERR(W, "C:\\.. \\x", LB_E_PATH_TRAILING),
		ERR(W, "C:\\. \\x", LB_E_PATH_TRAILING),
		ERR(W, "C:\\ .", LB_E_PATH_TRAILING),
		ERR(W, "C:\\a. .", LB_E_PATH_TRAILING),
		ERR(W, "\\x.", LB_E_PATH_TRAILING),
		ERR(W, "x \\y", LB_E_PATH_TRAILING),
		ERR(W, "C:\\nul ", LB_E_PATH_TRAILING),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_dos_device_names_are_refused_in_any_component(void **state)
{
	static const struct canon_row rows[] = {
		ERR(W, "C:\\con", LB_E_PATH_DEVICE),
		ERR(W, "C:\\CON", LB_E_PATH_DEVICE),
		ERR(W, "C:\\dir\\Con.txt", LB_E_PATH_DEVICE),
		ERR(W, "C:\\dir\\nul .txt", LB_E_PATH_DEVICE),
		ERR(W, "C:\\nul  .txt", LB_E_PATH_DEVICE),
		ERR(W, "C:\\NUL.tar.gz", LB_E_PATH_DEVICE),
		ERR(W, "C:\\nul..txt", LB_E_PATH_DEVICE),
		ERR(W, "C:\\com1", LB_E_PATH_DEVICE),
		ERR(W, "C:\\COM9", LB_E_PATH_DEVICE),
		ERR(W, "C:\\com0", LB_E_PATH_DEVICE),
		ERR(W, "C:\\LPT1", LB_E_PATH_DEVICE),
		ERR(W, "C:\\lpt0", LB_E_PATH_DEVICE),
		ERR(W, "C:\\LPT9.log", LB_E_PATH_DEVICE),
		ERR(W, "C:\\aux", LB_E_PATH_DEVICE),
		ERR(W, "C:\\Aux.c", LB_E_PATH_DEVICE),
		ERR(W, "C:\\prn.x", LB_E_PATH_DEVICE),
		ERR(W, "C:\\com\xc2\xb9", LB_E_PATH_DEVICE),
		ERR(W, "C:\\COM\xc2\xb2.txt", LB_E_PATH_DEVICE),
		ERR(W, "C:\\lpt\xc2\xb3", LB_E_PATH_DEVICE),
		ERR(W, "C:\\LPT\xc2\xb9.log", LB_E_PATH_DEVICE),
		ERR(W, "C:\\conin$", LB_E_PATH_DEVICE),
		ERR(W, "C:\\CONOUT$.txt", LB_E_PATH_DEVICE),
		ERR(W, "C:\\con\\x", LB_E_PATH_DEVICE),
		ERR(W, "con", LB_E_PATH_DEVICE),
		ERR(W, "\\nul", LB_E_PATH_DEVICE),
		ERR(W, "C:\\a\\nul\\..\\b", LB_E_PATH_DEVICE),
		ERR(W, "C:\\con .\\x", LB_E_PATH_TRAILING),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

static void
test_windows_device_lookalikes_are_ordinary_names(void **state)
{
	static const struct canon_row rows[] = {
		OK(W, "C:\\conx", "C:\\conx", LB_ROOT_DRIVE),
		OK(W, "C:\\com10", "C:\\com10", LB_ROOT_DRIVE),
		OK(W, "C:\\lpt", "C:\\lpt", LB_ROOT_DRIVE),
		OK(W, "C:\\com", "C:\\com", LB_ROOT_DRIVE),
		OK(W, "C:\\xcon", "C:\\xcon", LB_ROOT_DRIVE),
		OK(W, "C:\\con_", "C:\\con_", LB_ROOT_DRIVE),
		OK(W, "C:\\.con", "C:\\.con", LB_ROOT_DRIVE),
		OK(W, "C:\\ con", "C:\\ con", LB_ROOT_DRIVE),
		OK(W, "C:\\com\xc2\xb4", "C:\\com\xc2\xb4", LB_ROOT_DRIVE),
		OK(W, "C:\\conin", "C:\\conin", LB_ROOT_DRIVE),
		OK(W, "C:\\conout$x", "C:\\conout$x", LB_ROOT_DRIVE),
		OK(W, "C:\\nul-x.txt", "C:\\nul-x.txt", LB_ROOT_DRIVE),
		OK(W, "C:\\com1x", "C:\\com1x", LB_ROOT_DRIVE),
		OK(W, "C:\\console.log", "C:\\console.log", LB_ROOT_DRIVE),
		OK(W, "C:\\x\\auxiliary", "C:\\x\\auxiliary", LB_ROOT_DRIVE),
	};

	(void)state;
	run_canon_rows(rows, NROWS(rows));
}

/* ---- generated inputs: lengths ------------------------------------------ */

/* UNIT repeated COUNT times between PREFIX and SUFFIX. */
static char *
repeat(const char *prefix, const char *unit, size_t count, const char *suffix,
    size_t *len)
{
	size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix), i;
	char *s = malloc(pl + ul * count + sl + 1);

	assert_non_null(s);
	memcpy(s, prefix, pl);
	for (i = 0; i < count; i++)
		memcpy(s + pl + i * ul, unit, ul);
	memcpy(s + pl + ul * count, suffix, sl);
	*len = pl + ul * count + sl;
	s[*len] = '\0';
	return s;
}

struct repeat_row {
	enum lb_flavor fl;
	const char *prefix;
	const char *unit;
	size_t count;
	const char *suffix;
	int err;           /* on LB_OK the input is its own canonical form */
};

static void
test_component_length_limit_is_255_bytes_posix_and_255_utf16_units_windows(void **state)
{
	static const struct repeat_row rows[] = {
		{ P, "/", "a", 255, "", LB_OK },
		{ P, "/", "a", 256, "", LB_E_PATH_COMPONENT_LONG },
		{ P, "/x/", "a", 256, "/y", LB_E_PATH_COMPONENT_LONG },
		{ P, "", "a", 256, "/..", LB_E_PATH_COMPONENT_LONG },
		{ P, "/", "\xc3\xa9", 127, "a", LB_OK },            /* 255 bytes */
		{ P, "/", "\xc3\xa9", 128, "", LB_E_PATH_COMPONENT_LONG },
		{ P, "/", "\xf0\x9f\x98\x80", 63, "abc", LB_OK },   /* 255 bytes */
		{ P, "/", "\xf0\x9f\x98\x80", 64, "", LB_E_PATH_COMPONENT_LONG },
		{ W, "C:\\", "a", 255, "", LB_OK },
		{ W, "C:\\", "a", 256, "", LB_E_PATH_COMPONENT_LONG },
		{ W, "C:\\", "a", 256, "\\..", LB_E_PATH_COMPONENT_LONG },
		{ W, "a\\", "b", 256, "", LB_E_PATH_COMPONENT_LONG },
		{ W, "\\\\srv\\share\\", "a", 255, "", LB_OK },
		{ W, "\\\\srv\\share\\", "a", 256, "", LB_E_PATH_COMPONENT_LONG },
		{ W, "\\\\srv\\", "a", 256, "", LB_E_PATH_UNC },
		{ W, "\\\\", "a", 256, "\\share", LB_E_PATH_UNC },
		{ W, "C:\\", "\xc3\xa9", 255, "", LB_OK },          /* 510 bytes, 255 units */
		{ W, "C:\\", "\xc3\xa9", 256, "", LB_E_PATH_COMPONENT_LONG },
		{ W, "C:\\", "\xe6\x97\xa5", 255, "", LB_OK },      /* 765 bytes */
		{ W, "C:\\", "\xe6\x97\xa5", 256, "", LB_E_PATH_COMPONENT_LONG },
		{ W, "C:\\", "\xf0\x9f\x98\x80", 127, "", LB_OK },  /* 254 units */
		{ W, "C:\\", "\xf0\x9f\x98\x80", 127, "a", LB_OK }, /* 255 units */
		{ W, "C:\\", "\xf0\x9f\x98\x80", 127, "ab", LB_E_PATH_COMPONENT_LONG },
		{ W, "C:\\", "\xf0\x9f\x98\x80", 128, "", LB_E_PATH_COMPONENT_LONG },
	};
	size_t i, len;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		const struct repeat_row *r = &rows[i];
		struct lb_path out;
		char *in = repeat(r->prefix, r->unit, r->count, r->suffix, &len);
		int rc = lb_path_canon(r->fl, in, len, &out);

		rows_run++;
		if (rc != r->err)
			fail_msg("repeat row %zu: got %d, want %d", i, rc, r->err);
		if (rc == LB_OK) {
			assert_string_equal(out.s, in);
			assert_idempotent(&out, "repeat row");
		}
		lb_path_free(&out);
		free(in);
	}
}

/* A path of exactly TARGET units (bytes for POSIX, UTF-16 units for
 * Windows): PREFIX, then components of UNIT (UNIT_UNITS each) separated by
 * SEP, never ending in a separator. PREFIX must be canonical. */
static char *
build_long(const char *prefix, size_t prefix_units, const char *unit,
    size_t unit_units, char sep, size_t target, size_t *len)
{
	size_t ul = strlen(unit), cap = strlen(prefix) + target * 4 + 1;
	size_t o = strlen(prefix), remaining = target - prefix_units, k;
	char *s = malloc(cap);

	assert_non_null(s);
	memcpy(s, prefix, o);
	while (remaining > 0) {
		/* 50 units of name, then a separator, while more than that is
		 * left; the last chunk takes the rest (a multiple of UNIT_UNITS). */
		size_t chunk = remaining > 51 ? 50 : remaining;

		assert_int_equal(chunk % unit_units, 0);
		for (k = 0; k < chunk / unit_units; k++) {
			memcpy(s + o, unit, ul);
			o += ul;
		}
		remaining -= chunk;
		if (remaining > 0) {
			s[o++] = sep;
			remaining--;
		}
	}
	s[o] = '\0';
	*len = o;
	return s;
}

struct long_row {
	enum lb_flavor fl;
	const char *prefix;
	size_t prefix_units;
	const char *unit;
	size_t unit_units;
	size_t target;
	int err;
};

static void
test_whole_path_limit_is_4095_bytes_posix_and_32767_units_windows(void **state)
{
	static const struct long_row rows[] = {
		{ P, "/", 1, "a", 1, LB_PATH_POSIX_MAX, LB_OK },
		{ P, "/", 1, "a", 1, LB_PATH_POSIX_MAX + 1, LB_E_PATH_LONG },
		{ P, "", 0, "a", 1, LB_PATH_POSIX_MAX, LB_OK },
		{ P, "", 0, "a", 1, LB_PATH_POSIX_MAX + 1, LB_E_PATH_LONG },
		{ W, "C:\\", 3, "a", 1, LB_PATH_WINDOWS_MAX, LB_OK },
		{ W, "C:\\", 3, "a", 1, LB_PATH_WINDOWS_MAX + 1, LB_E_PATH_LONG },
		/* 3-byte characters: 98301 bytes, still 32767 units. */
		{ W, "C:\\", 3, "\xe6\x97\xa5", 1, LB_PATH_WINDOWS_MAX, LB_OK },
		{ W, "C:\\", 3, "\xe6\x97\xa5", 1, LB_PATH_WINDOWS_MAX + 1, LB_E_PATH_LONG },
		/* Surrogate pairs count two units each. */
		{ W, "C:\\", 3, "\xf0\x9f\x98\x80", 2, 32765, LB_OK },
		{ W, "C:\\", 3, "\xf0\x9f\x98\x80", 2, 32767 + 4, LB_E_PATH_LONG },
		{ W, "\\\\srv\\share\\", 12, "a", 1, LB_PATH_WINDOWS_MAX, LB_OK },
		{ W, "\\\\srv\\share\\", 12, "a", 1, LB_PATH_WINDOWS_MAX + 1, LB_E_PATH_LONG },
		{ W, "", 0, "a", 1, LB_PATH_WINDOWS_MAX, LB_OK },
		{ W, "", 0, "a", 1, LB_PATH_WINDOWS_MAX + 1, LB_E_PATH_LONG },
	};
	size_t i, len;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		const struct long_row *r = &rows[i];
		struct lb_path out;
		char *in = build_long(r->prefix, r->prefix_units, r->unit,
		    r->unit_units, r->fl == W ? '\\' : '/', r->target, &len);
		int rc = lb_path_canon(r->fl, in, len, &out);

		rows_run++;
		if (rc != r->err)
			fail_msg("long row %zu (%zu bytes): got %d, want %d", i,
			    len, rc, r->err);
		if (rc == LB_OK) {
			assert_int_equal(out.len, len);
			assert_memory_equal(out.s, in, len);
			assert_idempotent(&out, "long row");
		}
		lb_path_free(&out);
		free(in);
	}
}

static void
test_redundant_input_shrinking_under_limit_is_accepted_up_to_input_max(void **state)
{
	size_t len;
	struct lb_path out;
	char *in;

	(void)state;
	/* "/" + "./" * k + "a" of exactly LB_PATH_INPUT_MAX bytes. */
	in = repeat("/", "./", (LB_PATH_INPUT_MAX - 2) / 2, "a", &len);
	assert_int_equal(len, LB_PATH_INPUT_MAX);
	assert_int_equal(lb_path_canon(P, in, len, &out), LB_OK);
	assert_string_equal(out.s, "/a");
	lb_path_free(&out);
	free(in);

	in = repeat("//", "./", (LB_PATH_INPUT_MAX - 2) / 2, "a", &len);
	assert_int_equal(len, LB_PATH_INPUT_MAX + 1);
	assert_int_equal(lb_path_canon(P, in, len, &out), LB_E_PATH_LONG);
	assert_null(out.s);
	free(in);
	rows_run += 2;
}

static void
test_megabyte_inputs_are_refused_as_too_long_without_crashing(void **state)
{
	static const char *const units[] = { "a", "/", "\\", "./", "../", "a/..\\", "\0", "\xff", "\xe2" };
	size_t i, len, mib = (size_t)1 << 20;
	struct lb_path out;
	char *in;

	(void)state;
	for (i = 0; i < NROWS(units); i++) {
		size_t ul = units[i][0] == '\0' ? 1 : strlen(units[i]);
		size_t k;

		in = malloc(mib + 8);
		assert_non_null(in);
		for (k = 0; k + ul <= mib; k += ul)
			memcpy(in + k, units[i], ul);
		len = k;
		assert_int_equal(lb_path_canon(P, in, len, &out), LB_E_PATH_LONG);
		assert_int_equal(lb_path_canon(W, in, len, &out), LB_E_PATH_LONG);
		free(in);
		rows_run += 2;
	}
	/* Relative ".." runs are kept, so they hit the output limit. */
	in = repeat("", "../", 2000, "", &len);
	assert_int_equal(lb_path_canon(P, in, len, &out), LB_E_PATH_LONG);
	free(in);
	in = repeat("", "..\\", 11000, "", &len);
	assert_int_equal(lb_path_canon(W, in, len, &out), LB_E_PATH_LONG);
	free(in);
	rows_run += 2;
}

/* ---- API edges ------------------------------------------------------------ */

static void
test_canon_rejects_bad_arguments_and_zeroes_output_on_error(void **state)
{
	struct lb_path out;

	(void)state;
	assert_int_equal(lb_path_canon(P, "/a", 2, NULL), LB_E_INVAL);
	memset(&out, 0x5A, sizeof(out));
	assert_int_equal(lb_path_canon(P, NULL, 2, &out), LB_E_INVAL);
	assert_null(out.s);
	assert_int_equal(lb_path_canon((enum lb_flavor)0, "/a", 2, &out), LB_E_INVAL);
	assert_int_equal(lb_path_canon((enum lb_flavor)3, "/a", 2, &out), LB_E_INVAL);
	memset(&out, 0x5A, sizeof(out));
	assert_int_equal(lb_path_canon(W, "C:\\con", 6, &out), LB_E_PATH_DEVICE);
	assert_null(out.s);
	assert_int_equal(out.len, 0);
	assert_int_equal(out.root, LB_ROOT_NONE);
	/* len is honoured: bytes after it are not read. */
	assert_int_equal(lb_path_canon(W, "C:\\ok\\con", 5, &out), LB_OK);
	assert_string_equal(out.s, "C:\\ok");
	lb_path_free(&out);
}

struct abs_row {
	enum lb_flavor fl;
	const char *in;
	int err;
};

static void
test_require_absolute_accepts_posix_drive_unc_only(void **state)
{
	static const struct abs_row rows[] = {
		{ P, "/", LB_OK },
		{ P, "/a", LB_OK },
		{ P, "a", LB_E_PATH_RELATIVE },
		{ P, "..", LB_E_PATH_RELATIVE },
		{ W, "C:\\", LB_OK },
		{ W, "C:\\a", LB_OK },
		{ W, "\\\\srv\\share", LB_OK },
		{ W, "\\x", LB_E_PATH_RELATIVE },
		{ W, "\\", LB_E_PATH_RELATIVE },
		{ W, "x", LB_E_PATH_RELATIVE },
	};
	struct lb_path p;
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		assert_int_equal(lb_path_canon(rows[i].fl, rows[i].in,
		    strlen(rows[i].in), &p), LB_OK);
		if (lb_path_require_absolute(&p) != rows[i].err)
			fail_msg("require_absolute \"%s\"", rows[i].in);
		lb_path_free(&p);
		rows_run++;
	}
	assert_int_equal(lb_path_require_absolute(NULL), LB_E_INVAL);
}

struct parent_row {
	enum lb_flavor fl;
	const char *in;
	int err;
	const char *want;
	enum lb_path_root root;
};

static void
test_parent_drops_last_component_and_stops_at_root(void **state)
{
	static const struct parent_row rows[] = {
		{ P, "/a/b", LB_OK, "/a", LB_ROOT_POSIX },
		{ P, "/a", LB_OK, "/", LB_ROOT_POSIX },
		{ P, "/", LB_OK, "/", LB_ROOT_POSIX },
		{ P, "/a\\b", LB_OK, "/", LB_ROOT_POSIX },
		{ P, "a/b", LB_E_PATH_RELATIVE, NULL, LB_ROOT_NONE },
		{ W, "C:\\a\\b", LB_OK, "C:\\a", LB_ROOT_DRIVE },
		{ W, "C:\\a", LB_OK, "C:\\", LB_ROOT_DRIVE },
		{ W, "C:\\", LB_OK, "C:\\", LB_ROOT_DRIVE },
		{ W, "\\\\s\\sh\\a", LB_OK, "\\\\s\\sh", LB_ROOT_UNC },
		{ W, "\\\\s\\sh", LB_OK, "\\\\s\\sh", LB_ROOT_UNC },
		{ W, "\\a\\b", LB_E_PATH_RELATIVE, NULL, LB_ROOT_NONE },
		{ W, "a", LB_E_PATH_RELATIVE, NULL, LB_ROOT_NONE },
	};
	struct lb_path p, out;
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		const struct parent_row *r = &rows[i];

		assert_int_equal(lb_path_canon(r->fl, r->in, strlen(r->in), &p), LB_OK);
		if (lb_path_parent(&p, &out) != r->err)
			fail_msg("parent row %zu \"%s\"", i, r->in);
		if (r->err == LB_OK) {
			assert_string_equal(out.s, r->want);
			assert_int_equal(out.len, strlen(r->want));
			assert_int_equal(out.root, r->root);
			assert_int_equal(out.root_len, p.root_len);
			assert_idempotent(&out, "parent");
		} else {
			assert_null(out.s);
		}
		lb_path_free(&out);
		lb_path_free(&p);
		rows_run++;
	}
	assert_int_equal(lb_path_parent(NULL, &out), LB_E_INVAL);
}

static void
test_copy_is_independent_and_free_is_safe_twice(void **state)
{
	struct lb_path a, b, zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(lb_path_canon(W, "\\\\s\\sh\\x", strlen("\\\\s\\sh\\x"), &a), LB_OK);
	assert_int_equal(lb_path_copy(&a, &b), LB_OK);
	assert_ptr_not_equal(a.s, b.s);
	assert_string_equal(a.s, b.s);
	assert_int_equal(a.len, b.len);
	assert_int_equal(a.root, b.root);
	assert_int_equal(a.root_len, b.root_len);
	assert_int_equal(a.flavor, b.flavor);
	assert_int_equal(lb_path_copy(&a, &a), LB_E_INVAL);
	lb_path_free(&a);
	assert_string_equal(b.s, "\\\\s\\sh\\x");
	lb_path_free(&b);
	lb_path_free(&b);
	assert_memory_equal(&b, &zero, sizeof(zero));
	lb_path_free(NULL);
	assert_int_equal(lb_path_copy(&zero, &b), LB_E_INVAL);
	assert_int_equal(lb_path_copy(NULL, &b), LB_E_INVAL);
}

static void
test_flavor_names_round_trip_and_unknown_names_are_refused(void **state)
{
	enum lb_flavor f = (enum lb_flavor)0;

	(void)state;
	assert_string_equal(lb_flavor_name(P), "posix");
	assert_string_equal(lb_flavor_name(W), "windows");
	assert_string_equal(lb_flavor_name((enum lb_flavor)0), "unknown");
	assert_int_equal(lb_flavor_parse("posix", &f), LB_OK);
	assert_int_equal(f, P);
	assert_int_equal(lb_flavor_parse("windows", &f), LB_OK);
	assert_int_equal(f, W);
	assert_int_equal(lb_flavor_parse("Windows", &f), LB_E_INVAL);
	assert_int_equal(lb_flavor_parse("win", &f), LB_E_INVAL);
	assert_int_equal(lb_flavor_parse("", &f), LB_E_INVAL);
	assert_int_equal(lb_flavor_parse("posix ", &f), LB_E_INVAL);
	assert_int_equal(lb_flavor_parse(NULL, &f), LB_E_INVAL);
	assert_int_equal(lb_flavor_parse("posix", NULL), LB_E_INVAL);
}

/* ---- is_under ------------------------------------------------------------- */

struct under_row {
	enum lb_flavor fl;
	const char *p;
	const char *dir;
	int want;
};

static void
run_under_rows(const struct under_row *rows, size_t n)
{
	struct lb_path p, d;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct under_row *r = &rows[i];

		if (lb_path_canon(r->fl, r->p, strlen(r->p), &p) != LB_OK ||
		    lb_path_canon(r->fl, r->dir, strlen(r->dir), &d) != LB_OK)
			fail_msg("under row %zu: inputs must canonicalise", i);
		if (lb_path_is_under(&p, &d) != r->want)
			fail_msg("under row %zu %s: \"%s\" under \"%s\" want %d", i,
			    lb_flavor_name(r->fl), r->p, r->dir, r->want);
		lb_path_free(&p);
		lb_path_free(&d);
		rows_run++;
	}
}

static void
test_is_under_matches_whole_components_only(void **state)
{
	static const struct under_row rows[] = {
		{ W, "C:\\work2", "C:\\work", 0 },
		{ W, "C:\\work", "C:\\work", 1 },
		{ W, "C:\\work\\x", "C:\\work", 1 },
		{ W, "C:\\work\\x", "C:\\work\\", 1 },
		{ W, "C:\\wor", "C:\\work", 0 },
		{ W, "C:\\a b", "C:\\a", 0 },
		{ W, "C:\\a.b", "C:\\a", 0 },
		{ W, "C:\\Users\\alice", "C:\\Users\\alice\\src", 0 },
		{ W, "\\\\srv\\share2\\x", "\\\\srv\\share", 0 },
		{ W, "\\\\srv\\share\\x", "\\\\srv\\share", 1 },
		{ W, "\\\\srv\\share", "\\\\srv\\share", 1 },
		{ W, "\\\\srv2\\share", "\\\\srv\\share", 0 },
		{ P, "/home/alice/src", "/home/alice", 1 },
		{ P, "/home/alice", "/home/alice", 1 },
		{ P, "/home/alice2", "/home/alice", 0 },
		{ P, "/home/alice", "/home/alice/src", 0 },
		{ P, "/a/b/../c", "/a/b", 0 },
		{ P, "/a\\b", "/a", 0 },
		{ P, "/a/b", "/a/b/./", 1 },
	};

	(void)state;
	run_under_rows(rows, NROWS(rows));
}

static void
test_is_under_roots_contain_everything_on_them_and_never_cross(void **state)
{
	static const struct under_row rows[] = {
		{ W, "C:\\anything\\deep", "C:\\", 1 },
		{ W, "C:\\", "C:\\", 1 },
		{ W, "c:\\x", "C:\\", 1 },
		{ W, "D:\\x", "C:\\", 0 },
		{ W, "C:\\", "C:\\x", 0 },
		{ W, "\\\\srv\\share\\x", "C:\\", 0 },
		{ W, "C:\\x", "\\\\srv\\share", 0 },
		{ P, "/anything", "/", 1 },
		{ P, "/", "/", 1 },
		{ P, "/", "/a", 0 },
	};

	(void)state;
	run_under_rows(rows, NROWS(rows));
}

static void
test_is_under_never_matches_relative_or_curdrive_paths(void **state)
{
	static const struct under_row rows[] = {
		{ W, "a\\b", "a", 0 },
		{ W, "C:\\a\\b", "a", 0 },
		{ W, "a", "C:\\", 0 },
		{ W, "\\a\\b", "\\a", 0 },
		{ W, "\\a", "\\", 0 },
		{ W, "C:\\a", "\\", 0 },
		{ W, "\\\\srv\\share\\x", "\\", 0 },
		{ W, "\\\\srv\\share", "\\srv", 0 },
		{ P, "a/b", "a", 0 },
		{ P, "/a/b", "a", 0 },
		{ P, "a", "/", 0 },
		{ P, ".", ".", 0 },
	};

	(void)state;
	run_under_rows(rows, NROWS(rows));
}

static void
test_is_under_folds_case_on_windows_but_not_posix(void **state)
{
	static const struct under_row rows[] = {
		{ W, "C:\\Users\\ALICE\\src", "c:\\users\\alice", 1 },
		{ W, "\\\\SRV\\Share\\x", "\\\\srv\\sHARE", 1 },
		{ W, "C:\\\xc3\x89T\xc3\x89\\x", "c:\\\xc3\xa9t\xc3\xa9", 1 },       /* ÉTÉ / été */
		{ W, "C:\\\xc3\x80\xc3\x9e", "C:\\\xc3\xa0\xc3\xbe", 1 },           /* ÀÞ / àþ */
		{ W, "C:\\\xc3\x97", "C:\\\xc3\xb7", 0 },                          /* × / ÷ */
		{ W, "C:\\Stra\xc3\x9f" "e", "C:\\STRASSE", 0 },                   /* ß not ss */
		{ W, "C:\\\xd0\x94\xd0\x9e\xd0\x9a\\x", "c:\\\xd0\xb4\xd0\xbe\xd0\xba", 1 }, /* ДОК / док */
		{ W, "C:\\\xd0\x81\xd0\xbb\xd0\xba\xd0\xb0", "c:\\\xd1\x91\xd0\xbb\xd0\xba\xd0\xb0", 1 }, /* Ёлка / ёлка */
		{ W, "C:\\\xd0\x8f", "C:\\\xd1\x9f", 1 },                          /* Џ / џ */
		{ W, "C:\\\xce\x91\xce\x92\xce\xa9", "C:\\\xce\xb1\xce\xb2\xcf\x89", 1 }, /* ΑΒΩ / αβω */
		{ W, "C:\\\xc5\x81\xc3\x93\x44\xc5\xb9", "c:\\\xc5\x82\xc3\xb3\x64\xc5\xba", 1 }, /* ŁÓDŹ / łódź */
		{ W, "C:\\\xc5\xb8", "C:\\\xc3\xbf", 1 },                          /* Ÿ / ÿ */
		{ W, "C:\\\xc4\x80", "C:\\\xc4\x81", 1 },                          /* Ā / ā */
		{ W, "C:\\\xc4\xb2", "C:\\\xc4\xb3", 1 },                          /* Ĳ / ĳ */
		{ W, "C:\\\xc5\x87", "C:\\\xc5\x88", 1 },                          /* Ň / ň */
		{ W, "C:\\\xc5\x8a", "C:\\\xc5\x8b", 1 },                          /* Ŋ / ŋ */
		{ W, "C:\\\xc5\xbd", "C:\\\xc5\xbe", 1 },                          /* Ž / ž */
		{ W, "C:\\\xc4\xb0", "C:\\i", 0 },                                 /* İ is not i */
		{ W, "C:\\\xc4\xb1", "C:\\I", 0 },                                 /* ı is not I */
		{ W, "C:\\\xc4\xb8", "C:\\K", 0 },                                 /* ĸ has no capital */
		{ W, "C:\\\xc4\x80", "C:\\\xc4\x82", 0 },                          /* Ā / Ă differ */
		{ W, "C:\\\xc5\x88", "C:\\\xc5\x89", 0 },                          /* ň / ŉ differ */
		{ P, "/home/ALICE/src", "/home/alice", 0 },
		{ P, "/\xc3\x89T\xc3\x89", "/\xc3\xa9t\xc3\xa9", 0 },
		{ P, "/HOME", "/home", 0 },
	};

	(void)state;
	run_under_rows(rows, NROWS(rows));
}

/* The letters finding 12 named, each a case pair NTFS's $UpCase folds
 * (Windows 7 to 11: one table), and what NTFS keeps apart. */
static void
test_is_under_folds_the_case_pairs_ntfs_folds(void **state)
{
	static const struct under_row rows[] = {
		{ W, "C:\\\xce\xac\\x", "C:\\\xce\x86", 1 },                       /* ά under Ά */
		{ W, "C:\\\xce\x86", "C:\\\xce\xac", 1 },                          /* Ά under ά */
		{ W, "C:\\\xcf\x82", "C:\\\xce\xa3", 1 },                          /* ς / Σ */
		{ W, "C:\\\xcf\x82", "C:\\\xcf\x83", 1 },                          /* ς / σ */
		{ W, "C:\\\xd2\x91\\x", "C:\\\xd2\x90", 1 },                       /* ґ / Ґ */
		{ W, "C:\\\xc7\x86", "C:\\\xc7\x84", 1 },                          /* ǆ / Ǆ */
		{ W, "C:\\\xe1\xba\xa1" "b", "C:\\\xe1\xba\xa0" "B", 1 },          /* ạb / ẠB */
		{ W, "C:\\\xe1\xba\xbf", "C:\\\xe1\xba\xbe", 1 },                  /* ế / Ế */
		{ W, "C:\\\xef\xbd\x81", "C:\\\xef\xbc\xa1", 1 },                  /* ａ / Ａ */
		{ W, "C:\\\xe2\x85\xb0", "C:\\\xe2\x85\xa0", 1 },                  /* ⅰ / Ⅰ */
		{ W, "C:\\\xe2\x93\x90", "C:\\\xe2\x92\xb6", 1 },                  /* ⓐ / Ⓐ */
		{ W, "C:\\\xe1\xbe\x80", "C:\\\xe1\xbe\x88", 1 },                  /* ᾀ / ᾈ */
		{ W, "C:\\\xe2\xb1\xa5\\x", "C:\\\xc8\xba", 1 },                   /* ⱥ / Ⱥ: 3 and 2 bytes */
		{ W, "C:\\\xc8\xba", "C:\\\xe2\xb1\xa5", 1 },
		{ W, "C:\\\xe2\xb1\xa5" "a", "C:\\\xc8\xba", 0 },                  /* whole components still */
		{ W, "C:\\\xc7\x85", "C:\\\xc7\x84", 0 },                          /* ǅ (titlecase) is not Ǆ */
		{ W, "C:\\\xc7\x85", "C:\\\xc7\x86", 0 },                          /* nor ǆ */
		{ W, "C:\\\xc3\x9f", "C:\\\xe1\xba\x9e", 0 },                      /* ß is not ẞ */
		{ W, "C:\\\xc2\xb5", "C:\\\xce\x9c", 0 },                          /* µ (micro) is not Μ */
		{ W, "C:\\\xc5\xbf", "C:\\S", 0 },                                 /* ſ is not S */
		{ W, "C:\\\xe2\x84\xaa", "C:\\k", 0 },                             /* K (Kelvin) is not k */
		{ W, "C:\\\xf0\x90\x90\x80", "C:\\\xf0\x90\x90\xa8", 0 },          /* no fold beyond the BMP */
	};

	(void)state;
	run_under_rows(rows, NROWS(rows));
}

static void
test_upcase_is_idempotent_bmp_only_and_never_ascii(void **state)
{
	uint32_t c, u;
	size_t mapped = 0;

	(void)state;
	for (c = 0; c <= 0x10FFFF; c++) {
		u = lb_path_upcase(c);
		if (u == c)
			continue;
		mapped++;
		if (c > 0xFFFF || (c >= 0xD800 && c <= 0xDFFF))
			fail_msg("U+%04X folds to U+%04X: NTFS folds only BMP units", (unsigned)c, (unsigned)u);
		if ((c < 0x80) != (u < 0x80))
			fail_msg("U+%04X folds across ASCII to U+%04X", (unsigned)c, (unsigned)u);
		if (lb_path_upcase(u) != u)
			fail_msg("U+%04X: upper case U+%04X is not its own", (unsigned)c, (unsigned)u);
	}
	assert_int_equal(mapped, 1164);   /* Unicode 14's pairs, and U+03C2 */
	assert_int_equal(lb_path_upcase(0x00DF), 0x00DF);    /* ß: "SS" is two units */
	assert_int_equal(lb_path_upcase(0x03C2), 0x03A3);
	assert_int_equal(lb_path_upcase(0x0131), 0x0131);
	assert_int_equal(lb_path_upcase(0x1F80), 0x1F88);
}

static void
test_is_under_is_zero_for_mixed_flavours_and_bad_structs(void **state)
{
	struct lb_path p, d, zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(lb_path_canon(P, "/a", 2, &p), LB_OK);
	assert_int_equal(lb_path_canon(W, "\\a", 2, &d), LB_OK);
	assert_int_equal(lb_path_is_under(&p, &d), 0);
	assert_int_equal(lb_path_is_under(&d, &p), 0);
	assert_int_equal(lb_path_is_under(&p, &zero), 0);
	assert_int_equal(lb_path_is_under(&zero, &p), 0);
	assert_int_equal(lb_path_is_under(NULL, &p), 0);
	assert_int_equal(lb_path_is_under(&p, NULL), 0);
	lb_path_free(&p);
	lb_path_free(&d);
}

struct name_row {
	enum lb_flavor fl;
	const char *a;
	const char *b;
	int want;
};

static void
test_name_equal_folds_windows_names_and_compares_posix_bytes(void **state)
{
	static const struct name_row rows[] = {
		{ W, "Alice", "alice", 0 },
		{ W, "ALICE", "alice", 0 },
		{ W, "\xc5\x81ukasz", "\xc5\x82UKASZ", 0 },      /* Łukasz / łUKASZ */
		{ W, "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd", "\xd0\xb8\xd0\x92\xd0\x90\xd0\x9d", 0 }, /* Иван / иВАН */
		{ W, "AL\xc4\xb0" "CE", "alice", 1 },            /* ALİCE */
		{ W, "\xd2\x90\xd0\xb0\xd0\xbd\xd0\xbd\xd0\xb0", "\xd2\x91\xd0\x90\xd0\x9d\xd0\x9d\xd0\x90", 0 }, /* Ґанна / ґАННА */
		{ W, "\xef\xbd\x81lice", "\xef\xbc\xa1LICE", 0 },  /* ａlice / ＡLICE */
		{ W, "\xef\xbd\x81lice", "alice", 1 },             /* fullwidth is not ASCII */
		{ W, "bob", "bobby", 1 },
		{ W, "bobby", "bob", 1 },
		{ W, "", "", 0 },
		{ W, "a", "", 1 },
		{ W, "\xff", "\xff", 0 },                        /* identical bytes */
		{ W, "\xff", "\xfe", 1 },
		{ W, "a\xff", "A\xff", 1 },                      /* invalid UTF-8: not folded */
		{ P, "Alice", "alice", 1 },
		{ P, "alice", "alice", 0 },
		{ P, "\xc3\x89", "\xc3\xa9", 1 },
		{ (enum lb_flavor)0, "a", "a", 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		if (lb_name_equal(rows[i].fl, rows[i].a, rows[i].b) != rows[i].want)
			fail_msg("name row %zu: \"%s\" vs \"%s\"", i,
			    rows[i].a, rows[i].b);
		rows_run++;
	}
	assert_int_not_equal(lb_name_equal(W, NULL, "a"), 0);
	assert_int_not_equal(lb_name_equal(P, "a", NULL), 0);
	/* lb_name_key: the same key exactly when the names are equal */
	for (i = 0; i < NROWS(rows); i++) {
		struct lb_buf ka, kb;
		int same;

		if (rows[i].fl != W && rows[i].fl != P)
			continue;
		lb_buf_init(&ka, 1024);
		lb_buf_init(&kb, 1024);
		assert_int_equal(lb_name_key(rows[i].fl, rows[i].a, &ka), LB_OK);
		assert_int_equal(lb_name_key(rows[i].fl, rows[i].b, &kb), LB_OK);
		same = ka.len == kb.len && (ka.len == 0 || memcmp(ka.data, kb.data, ka.len) == 0);
		if (same != (rows[i].want == 0))
			fail_msg("key row %zu: \"%s\" vs \"%s\"", i, rows[i].a, rows[i].b);
		lb_buf_free(&ka);
		lb_buf_free(&kb);
	}
}

/* ---- resolve -------------------------------------------------------------- */

struct resolve_row {
	enum lb_flavor fl;
	const char *parent;
	const char *target;
	int err;
	const char *want;
	enum lb_path_root root;
};

static void
test_resolve_joins_relative_targets_to_link_parent_within_root(void **state)
{
	static const struct resolve_row rows[] = {
		{ W, "C:\\links", "x", LB_OK, "C:\\links\\x", LB_ROOT_DRIVE },
		{ W, "C:\\links", "..\\x", LB_OK, "C:\\x", LB_ROOT_DRIVE },
		{ W, "C:\\links", "..\\..\\x", LB_E_PATH_ESCAPE, NULL, LB_ROOT_NONE },
		{ W, "C:\\a\\b", "..\\..\\..\\x", LB_E_PATH_ESCAPE, NULL, LB_ROOT_NONE },
		{ W, "C:\\a\\b", "..\\..\\x", LB_OK, "C:\\x", LB_ROOT_DRIVE },
		{ W, "C:\\a", "b\\..\\..\\c", LB_OK, "C:\\c", LB_ROOT_DRIVE },
		{ W, "C:\\a", ".", LB_OK, "C:\\a", LB_ROOT_DRIVE },
		{ W, "C:\\", "x", LB_OK, "C:\\x", LB_ROOT_DRIVE },
		{ W, "C:\\", "..", LB_E_PATH_ESCAPE, NULL, LB_ROOT_NONE },
		{ W, "\\\\srv\\share\\a", "..\\x", LB_OK, "\\\\srv\\share\\x", LB_ROOT_UNC },
		{ W, "\\\\srv\\share\\a", "..\\..\\x", LB_E_PATH_ESCAPE, NULL, LB_ROOT_NONE },
		{ W, "\\\\srv\\share", "x", LB_OK, "\\\\srv\\share\\x", LB_ROOT_UNC },
		{ P, "/home/u/links", "../data/x", LB_OK, "/home/u/data/x", LB_ROOT_POSIX },
		{ P, "/home/u", "../../../etc", LB_E_PATH_ESCAPE, NULL, LB_ROOT_NONE },
		{ P, "/", "a", LB_OK, "/a", LB_ROOT_POSIX },
		{ P, "/a/b", "../..", LB_OK, "/", LB_ROOT_POSIX },
		{ P, "/a/b", "../../..", LB_E_PATH_ESCAPE, NULL, LB_ROOT_NONE },
		{ P, "/a", ".", LB_OK, "/a", LB_ROOT_POSIX },
		{ P, "/a", "b\\..", LB_OK, "/a/b\\..", LB_ROOT_POSIX },
	};
	struct lb_path parent, target, out;
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		const struct resolve_row *r = &rows[i];
		int rc;

		assert_int_equal(lb_path_canon(r->fl, r->parent, strlen(r->parent), &parent), LB_OK);
		assert_int_equal(lb_path_canon(r->fl, r->target, strlen(r->target), &target), LB_OK);
		rc = lb_path_resolve(&parent, &target, &out);
		if (rc != r->err)
			fail_msg("resolve row %zu \"%s\" + \"%s\": got %d, want %d",
			    i, r->parent, r->target, rc, r->err);
		if (rc == LB_OK) {
			assert_string_equal(out.s, r->want);
			assert_int_equal(out.root, r->root);
			assert_int_equal(lb_path_is_under(&out, &out), 1);
			assert_idempotent(&out, "resolve");
		} else {
			assert_null(out.s);
		}
		lb_path_free(&out);
		lb_path_free(&parent);
		lb_path_free(&target);
		rows_run++;
	}
}

static void
test_resolve_curdrive_target_takes_drive_or_unc_share_of_parent(void **state)
{
	static const struct resolve_row rows[] = {
		{ W, "C:\\a\\b", "\\x", LB_OK, "C:\\x", LB_ROOT_DRIVE },
		{ W, "d:\\a", "\\x\\y", LB_OK, "D:\\x\\y", LB_ROOT_DRIVE },
		{ W, "D:\\a", "\\", LB_OK, "D:\\", LB_ROOT_DRIVE },
		{ W, "\\\\srv\\share\\a", "\\x", LB_OK, "\\\\srv\\share\\x", LB_ROOT_UNC },
		{ W, "\\\\srv\\share", "\\", LB_OK, "\\\\srv\\share", LB_ROOT_UNC },
	};
	struct lb_path parent, target, out;
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		const struct resolve_row *r = &rows[i];

		assert_int_equal(lb_path_canon(r->fl, r->parent, strlen(r->parent), &parent), LB_OK);
		assert_int_equal(lb_path_canon(r->fl, r->target, strlen(r->target), &target), LB_OK);
		assert_int_equal(target.root, LB_ROOT_CURDRIVE);
		assert_int_equal(lb_path_resolve(&parent, &target, &out), r->err);
		assert_string_equal(out.s, r->want);
		assert_int_equal(out.root, r->root);
		lb_path_free(&out);
		lb_path_free(&parent);
		lb_path_free(&target);
		rows_run++;
	}
}

static void
test_resolve_copies_absolute_targets(void **state)
{
	static const struct resolve_row rows[] = {
		{ W, "C:\\a", "D:\\y", LB_OK, "D:\\y", LB_ROOT_DRIVE },
		{ W, "C:\\a", "\\\\srv\\share\\y", LB_OK, "\\\\srv\\share\\y", LB_ROOT_UNC },
		{ W, "\\\\srv\\share", "C:\\", LB_OK, "C:\\", LB_ROOT_DRIVE },
		{ P, "/a", "/etc/passwd", LB_OK, "/etc/passwd", LB_ROOT_POSIX },
		{ P, "/a/b", "/", LB_OK, "/", LB_ROOT_POSIX },
	};
	struct lb_path parent, target, out;
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		const struct resolve_row *r = &rows[i];

		assert_int_equal(lb_path_canon(r->fl, r->parent, strlen(r->parent), &parent), LB_OK);
		assert_int_equal(lb_path_canon(r->fl, r->target, strlen(r->target), &target), LB_OK);
		assert_int_equal(lb_path_resolve(&parent, &target, &out), r->err);
		assert_string_equal(out.s, r->want);
		assert_int_equal(out.root, r->root);
		lb_path_free(&out);
		lb_path_free(&parent);
		lb_path_free(&target);
		rows_run++;
	}
}

static void
test_resolve_refuses_relative_parent_and_mixed_flavours(void **state)
{
	struct lb_path parent, target, wt, out;

	(void)state;
	assert_int_equal(lb_path_canon(W, "a", 1, &parent), LB_OK);
	assert_int_equal(lb_path_canon(W, "x", 1, &target), LB_OK);
	assert_int_equal(lb_path_resolve(&parent, &target, &out), LB_E_PATH_RELATIVE);
	lb_path_free(&parent);
	assert_int_equal(lb_path_canon(W, "\\a", 2, &parent), LB_OK);
	assert_int_equal(lb_path_resolve(&parent, &target, &out), LB_E_PATH_RELATIVE);
	lb_path_free(&parent);
	assert_int_equal(lb_path_canon(P, "a", 1, &parent), LB_OK);
	assert_int_equal(lb_path_resolve(&parent, &target, &out), LB_E_INVAL);
	lb_path_free(&parent);
	/* Flavours differ although both look absolute. */
	assert_int_equal(lb_path_canon(P, "/a", 2, &parent), LB_OK);
	assert_int_equal(lb_path_canon(W, "C:\\x", 4, &wt), LB_OK);
	assert_int_equal(lb_path_resolve(&parent, &wt, &out), LB_E_INVAL);
	assert_int_equal(lb_path_resolve(&parent, &target, &out), LB_E_INVAL);
	assert_null(out.s);
	assert_int_equal(lb_path_resolve(&parent, &parent, &parent), LB_E_INVAL);
	assert_int_equal(lb_path_resolve(NULL, &target, &out), LB_E_INVAL);
	assert_int_equal(lb_path_resolve(&parent, NULL, &out), LB_E_INVAL);
	assert_int_equal(lb_path_resolve(&parent, &target, NULL), LB_E_INVAL);
	lb_path_free(&parent);
	lb_path_free(&target);
	lb_path_free(&wt);
}

static void
test_resolve_rechecks_path_limit_on_the_joined_result(void **state)
{
	struct lb_path parent, target, out;
	size_t plen, tlen;
	char *ps, *ts;

	(void)state;
	/* POSIX: 4000-byte parent; 94 + 1 fits exactly, 95 + 1 does not. */
	ps = build_long("/", 1, "a", 1, '/', 4000, &plen);
	assert_int_equal(lb_path_canon(P, ps, plen, &parent), LB_OK);
	ts = repeat("", "b", 94, "", &tlen);
	assert_int_equal(lb_path_canon(P, ts, tlen, &target), LB_OK);
	assert_int_equal(lb_path_resolve(&parent, &target, &out), LB_OK);
	assert_int_equal(out.len, LB_PATH_POSIX_MAX);
	lb_path_free(&out);
	lb_path_free(&target);
	free(ts);
	ts = repeat("", "b", 95, "", &tlen);
	assert_int_equal(lb_path_canon(P, ts, tlen, &target), LB_OK);
	assert_int_equal(lb_path_resolve(&parent, &target, &out), LB_E_PATH_LONG);
	lb_path_free(&target);
	free(ts);
	lb_path_free(&parent);
	free(ps);

	/* Windows: 32700-unit parent; 66 + 1 fits exactly, 67 + 1 does not. */
	ps = build_long("C:\\", 3, "a", 1, '\\', 32700, &plen);
	assert_int_equal(lb_path_canon(W, ps, plen, &parent), LB_OK);
	ts = repeat("", "b", 66, "", &tlen);
	assert_int_equal(lb_path_canon(W, ts, tlen, &target), LB_OK);
	assert_int_equal(lb_path_resolve(&parent, &target, &out), LB_OK);
	assert_int_equal(out.len, LB_PATH_WINDOWS_MAX);
	lb_path_free(&out);
	lb_path_free(&target);
	free(ts);
	ts = repeat("", "b", 67, "", &tlen);
	assert_int_equal(lb_path_canon(W, ts, tlen, &target), LB_OK);
	assert_int_equal(lb_path_resolve(&parent, &target, &out), LB_E_PATH_LONG);
	lb_path_free(&target);
	free(ts);
	lb_path_free(&parent);
	free(ps);
	rows_run += 4;
}

/* ---- random inputs -------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t
rng(void)
{
	/* xorshift64*: the same sequence on every host and libc. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32);
}

/* A canonical path has no empty, "." or ".." components after the root,
 * except that a relative path may be "." alone or start with "..". */
static void
assert_no_traps(const struct lb_path *p)
{
	char sep = p->flavor == W ? '\\' : '/';
	size_t i = p->root_len, start, n;
	int leading = p->root == LB_ROOT_NONE;

	assert_int_equal(strlen(p->s), p->len);
	if (p->flavor == W)
		assert_null(memchr(p->s, '/', p->len));
	if (p->root == LB_ROOT_NONE && strcmp(p->s, ".") == 0)
		return;
	if (p->root == LB_ROOT_UNC && i < p->len) {
		assert_int_equal(p->s[i], '\\');
		i++;
	}
	while (i < p->len) {
		start = i;
		while (i < p->len && p->s[i] != sep)
			i++;
		n = i - start;
		if (n == 0)
			fail_msg("empty component in \"%s\"", show(p->s, p->len));
		if (n == 1 && p->s[start] == '.')
			fail_msg("\".\" component in \"%s\"", show(p->s, p->len));
		if (n == 2 && p->s[start] == '.' && p->s[start + 1] == '.') {
			if (!leading)
				fail_msg("\"..\" trap in \"%s\"", show(p->s, p->len));
		} else {
			leading = 0;
		}
		if (i < p->len) {
			i++;
			if (i == p->len)
				fail_msg("trailing separator in \"%s\"", show(p->s, p->len));
		}
	}
}

static void
test_random_inputs_give_an_error_or_an_idempotent_trap_free_path(void **state)
{
	static const char *const frags[] = {
		"/", "\\", "//", "\\\\", ".", "..", "...", "a", "b", "C:", "c:",
		":", "con", "NUL", "com1", "?", "*", " ", "srv", "share", "\xc3\xa9",
		"\xd0\x94", "\xf0\x9f\x98\x80", "$DATA", "\\\\?\\", "\\??\\", "x.",
	};
	struct lb_path out, last_abs[2], res;
	enum lb_flavor fls[2] = { P, W };
	char buf[600];
	size_t iter, n, oks = 0, errs = 0;
	int f;

	(void)state;
	memset(last_abs, 0, sizeof(last_abs));
	for (iter = 0; iter < 10000; iter++) {
		size_t target = rng() % (iter % 100 == 0 ? 590 : 48);

		n = 0;
		while (n < target) {
			uint32_t r = rng() % 8;

			if (r < 3) {
				/* a raw byte: mostly printable, else any value
				 * (NUL, controls, broken UTF-8) */
				if (rng() % 4 == 0)
					buf[n++] = (char)(rng() & 0xFF);
				else
					buf[n++] = (char)(0x20 + rng() % 0x5F);
			} else {
				const char *fr = frags[rng() % NROWS(frags)];
				size_t fl = strlen(fr);

				if (n + fl > sizeof(buf))
					break;
				memcpy(buf + n, fr, fl);
				n += fl;
			}
		}
		for (f = 0; f < 2; f++) {
			int rc = lb_path_canon(fls[f], buf, n, &out);

			if (rc != LB_OK) {
				assert_true(rc < 0);
				assert_null(out.s);
				errs++;
				continue;
			}
			oks++;
			assert_idempotent(&out, "random");
			assert_no_traps(&out);
			/* Resolving against an earlier absolute path stays on that
			 * path's root or fails cleanly. */
			if (last_abs[f].s != NULL) {
				rc = lb_path_resolve(&last_abs[f], &out, &res);
				if (rc == LB_OK) {
					assert_int_equal(lb_path_require_absolute(&res), LB_OK);
					assert_idempotent(&res, "random resolve");
					assert_no_traps(&res);
					lb_path_free(&res);
				} else {
					assert_true(rc < 0);
				}
			}
			if (lb_path_require_absolute(&out) == LB_OK) {
				lb_path_free(&last_abs[f]);
				assert_int_equal(lb_path_copy(&out, &last_abs[f]), LB_OK);
			}
			lb_path_free(&out);
		}
	}
	lb_path_free(&last_abs[0]);
	lb_path_free(&last_abs[1]);
	/* The generator must exercise both outcomes, or the test proves nothing. */
	assert_true(oks > 500);
	assert_true(errs > 500);
	print_message("random: %lu accepted, %lu refused\n", (unsigned long)oks, (unsigned long)errs);
}

static void
test_zz_table_row_count(void **state)
{
	(void)state;
	print_message("table rows run: %lu\n", (unsigned long)rows_run);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posix_canon_collapses_separators_dots_and_trailing_slash),
		cmocka_unit_test(test_posix_dotdot_above_root_is_escape),
		cmocka_unit_test(test_posix_keeps_windows_special_characters_literal),
		cmocka_unit_test(test_empty_path_is_refused),
		cmocka_unit_test(test_nul_and_control_characters_are_refused_in_both_flavours),
		cmocka_unit_test(test_invalid_utf8_is_refused_in_both_flavours),
		cmocka_unit_test(test_windows_drive_paths_canonicalise_to_upper_letter_and_backslashes),
		cmocka_unit_test(test_windows_dotdot_never_climbs_above_drive_unc_or_curdrive_root),
		cmocka_unit_test(test_windows_drive_relative_forms_are_refused),
		cmocka_unit_test(test_windows_namespace_prefixes_are_refused_with_any_separators),
		cmocka_unit_test(test_windows_unc_needs_valid_server_and_share),
		cmocka_unit_test(test_windows_single_leading_separator_is_curdrive_root),
		cmocka_unit_test(test_windows_relative_paths_keep_leading_dotdot),
		cmocka_unit_test(test_windows_alternate_data_streams_are_refused),
		cmocka_unit_test(test_windows_reserved_characters_are_refused),
		cmocka_unit_test(test_windows_trailing_dot_or_space_in_component_is_refused),
		cmocka_unit_test(test_windows_dos_device_names_are_refused_in_any_component),
		cmocka_unit_test(test_windows_device_lookalikes_are_ordinary_names),
		cmocka_unit_test(test_component_length_limit_is_255_bytes_posix_and_255_utf16_units_windows),
		cmocka_unit_test(test_whole_path_limit_is_4095_bytes_posix_and_32767_units_windows),
		cmocka_unit_test(test_redundant_input_shrinking_under_limit_is_accepted_up_to_input_max),
		cmocka_unit_test(test_megabyte_inputs_are_refused_as_too_long_without_crashing),
		cmocka_unit_test(test_canon_rejects_bad_arguments_and_zeroes_output_on_error),
		cmocka_unit_test(test_require_absolute_accepts_posix_drive_unc_only),
		cmocka_unit_test(test_parent_drops_last_component_and_stops_at_root),
		cmocka_unit_test(test_copy_is_independent_and_free_is_safe_twice),
		cmocka_unit_test(test_flavor_names_round_trip_and_unknown_names_are_refused),
		cmocka_unit_test(test_is_under_matches_whole_components_only),
		cmocka_unit_test(test_is_under_roots_contain_everything_on_them_and_never_cross),
		cmocka_unit_test(test_is_under_never_matches_relative_or_curdrive_paths),
		cmocka_unit_test(test_is_under_folds_case_on_windows_but_not_posix),
		cmocka_unit_test(test_is_under_folds_the_case_pairs_ntfs_folds),
		cmocka_unit_test(test_upcase_is_idempotent_bmp_only_and_never_ascii),
		cmocka_unit_test(test_is_under_is_zero_for_mixed_flavours_and_bad_structs),
		cmocka_unit_test(test_name_equal_folds_windows_names_and_compares_posix_bytes),
		cmocka_unit_test(test_resolve_joins_relative_targets_to_link_parent_within_root),
		cmocka_unit_test(test_resolve_curdrive_target_takes_drive_or_unc_share_of_parent),
		cmocka_unit_test(test_resolve_copies_absolute_targets),
		cmocka_unit_test(test_resolve_refuses_relative_parent_and_mixed_flavours),
		cmocka_unit_test(test_resolve_rechecks_path_limit_on_the_joined_result),
		cmocka_unit_test(test_random_inputs_give_an_error_or_an_idempotent_trap_free_path),
		cmocka_unit_test(test_zz_table_row_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
