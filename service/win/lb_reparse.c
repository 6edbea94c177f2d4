/* lb_reparse: REPARSE_DATA_BUFFER bytes for symbolic links and junctions, and
 * NT path names, from canonical lb_path strings. Plain C, no Windows API:
 * everything little-endian is written byte by byte, never through a struct,
 * so the layout does not depend on the compiler and is tested on its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_reparse.h"
#include "lb_str.h"

/* Field offsets from the start of the buffer (MS-FSCC 2.1.2.4, 2.1.2.5). */
#define LB_RP_TAG        0
#define LB_RP_DATA_LEN   4
#define LB_RP_RESERVED   6
#define LB_RP_SUB_OFF    8
#define LB_RP_SUB_LEN    10
#define LB_RP_PRINT_OFF  12
#define LB_RP_PRINT_LEN  14
#define LB_RP_FLAGS      16     /* symbolic links only */
/* Where PathBuffer starts. */
#define LB_RP_SYMLINK_PATHS  20u
#define LB_RP_JUNCTION_PATHS 16u

static const char lb_nt_prefix[] = "\\??\\";
static const char lb_nt_unc_prefix[] = "\\??\\UNC\\";

static void
lb_le16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v & 0xFF);
	p[1] = (uint8_t)((v >> 8) & 0xFF);
}

static void
lb_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v & 0xFF);
	p[1] = (uint8_t)((v >> 8) & 0xFF);
	p[2] = (uint8_t)((v >> 16) & 0xFF);
	p[3] = (uint8_t)((v >> 24) & 0xFF);
}

/* One scalar value at S[*I] (I < N), strictly per RFC 3629: the accepted
 * range of the second byte depends on the lead byte, which is what rules out
 * overlong forms (E0, F0), surrogates (ED) and values past U+10FFFF (F4).
 * -1 if the bytes there are not a well-formed sequence. */
static int
lb_utf8_decode(const uint8_t *s, size_t n, size_t *i, uint32_t *cp)
{
	size_t at = *i, need, k;
	uint32_t lead = s[at], v;
	uint8_t lo = 0x80, hi = 0xBF;

	if (lead < 0x80) {
		*cp = lead;
		*i = at + 1;
		return 0;
	}
	if (lead >= 0xC2 && lead <= 0xDF) {
		need = 1;
		v = lead & 0x1Fu;
	} else if (lead >= 0xE0 && lead <= 0xEF) {
		need = 2;
		v = lead & 0x0Fu;
		if (lead == 0xE0)
			lo = 0xA0;
		else if (lead == 0xED)
			hi = 0x9F;
	} else if (lead >= 0xF0 && lead <= 0xF4) {
		need = 3;
		v = lead & 0x07u;
		if (lead == 0xF0)
			lo = 0x90;
		else if (lead == 0xF4)
			hi = 0x8F;
	} else {
		return -1;      /* continuation byte, C0/C1, F5..FF */
	}
	if (n - at - 1 < need)
		return -1;
	for (k = 1; k <= need; k++) {
		if (s[at + k] < lo || s[at + k] > hi)
			return -1;
		lo = 0x80;
		hi = 0xBF;
		v = (v << 6) | (uint32_t)(s[at + k] & 0x3Fu);
	}
	*cp = v;
	*i = at + need + 1;
	return 0;
}

int
lb_utf8_to_utf16le(const char *s, size_t n, struct lb_buf *out)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t orig, i = 0;
	uint32_t cp, hi, lo;
	uint8_t u[4];
	int rc = LB_OK;

	if (out == NULL || (s == NULL && n > 0))
		return LB_E_INVAL;
	orig = out->len;
	while (i < n) {
		if (lb_utf8_decode(p, n, &i, &cp) != 0) {
			rc = LB_E_PATH_UTF8;
			goto out;
		}
		if (cp == 0) {
			rc = LB_E_PATH_CTRL;
			goto out;
		}
		if (cp < 0x10000) {
			lb_le16(u, cp);
			rc = lb_buf_put(out, u, 2);
		} else {
			/* A surrogate pair, high half first. */
			hi = 0xD800u | ((cp - 0x10000u) >> 10);
			lo = 0xDC00u | ((cp - 0x10000u) & 0x3FFu);
			lb_le16(u, hi);
			lb_le16(u + 2, lo);
			rc = lb_buf_put(out, u, 4);
		}
		if (rc != LB_OK)
			goto out;
	}
out:
	if (rc != LB_OK)
		out->len = orig;
	return rc;
}

/*
 * P must be a Windows path exactly as lb_path_canon makes it. The broker
 * decides policy on canonical strings, so the bytes written to disk are the
 * bytes decided on, and a struct built by hand cannot slip in "\??\", "/",
 * "..", a NUL or a root that does not match its string.
 */
static int
lb_reparse_canonical(const struct lb_path *p)
{
	struct lb_path c;
	int rc;

	if (p == NULL || p->s == NULL || p->flavor != LB_FLAVOR_WINDOWS)
		return LB_E_INVAL;
	rc = lb_path_canon(LB_FLAVOR_WINDOWS, p->s, p->len, &c);
	if (rc != LB_OK)
		return rc;
	if (c.root != p->root || c.root_len != p->root_len || c.len != p->len ||
	    memcmp(c.s, p->s, p->len) != 0)
		rc = LB_E_INVAL;
	lb_path_free(&c);
	return rc;
}

/* Append the NT name of a canonical drive or UNC path (checked by the caller):
 * "\??\" before "C:\...", and "\??\UNC\" in place of the leading "\\". */
static int
lb_nt_name_put(const struct lb_path *p, struct lb_buf *out)
{
	size_t orig = out->len;
	int rc;

	if (p->root == LB_ROOT_UNC) {
		rc = lb_utf8_to_utf16le(lb_nt_unc_prefix,
		    sizeof(lb_nt_unc_prefix) - 1, out);
		if (rc == LB_OK)
			rc = lb_utf8_to_utf16le(p->s + 2, p->len - 2, out);
	} else {
		rc = lb_utf8_to_utf16le(lb_nt_prefix, sizeof(lb_nt_prefix) - 1,
		    out);
		if (rc == LB_OK)
			rc = lb_utf8_to_utf16le(p->s, p->len, out);
	}
	if (rc != LB_OK)
		out->len = orig;
	return rc;
}

int
lb_nt_path(const struct lb_path *abs, struct lb_buf *utf16le_out)
{
	size_t orig;
	int rc;

	if (utf16le_out == NULL)
		return LB_E_INVAL;
	if ((rc = lb_reparse_canonical(abs)) != LB_OK)
		return rc;
	if (abs->root == LB_ROOT_NONE || abs->root == LB_ROOT_CURDRIVE)
		return LB_E_PATH_RELATIVE;
	if (abs->root != LB_ROOT_DRIVE && abs->root != LB_ROOT_UNC)
		return LB_E_INVAL;
	orig = utf16le_out->len;
	if ((rc = lb_nt_name_put(abs, utf16le_out)) != LB_OK)
		return rc;
	/* A canonical path may be 32767 UTF-16 units; the prefix can push it
	 * past what a UNICODE_STRING can count. */
	if (utf16le_out->len - orig > LB_NT_PATH_MAX) {
		utf16le_out->len = orig;
		return LB_E_PATH_LONG;
	}
	return LB_OK;
}

/*
 * Append a whole REPARSE_DATA_BUFFER to OUT from the UTF-16LE names SUB and
 * PRINT. Symbolic links (CreateSymbolicLinkW's layout): print name, then
 * substitute name, no NULs. Junctions (mklink /J's layout): substitute name,
 * NUL, print name, NUL. Lengths never count the NULs; ReparseDataLength
 * counts everything after the 8-byte header.
 */
static int
lb_reparse_put(struct lb_buf *out, uint32_t tag, uint32_t flags,
    const struct lb_buf *sub, const struct lb_buf *print)
{
	static const uint8_t nul[2] = { 0, 0 };
	uint8_t hdr[LB_RP_SYMLINK_PATHS];
	size_t hdr_len, total, orig = out->len;
	int rc;

	/* Each name is at most LB_REPARSE_MAX bytes (its buffer's max), so
	 * these sums cannot overflow. */
	if (tag == LB_IO_REPARSE_TAG_SYMLINK) {
		hdr_len = LB_RP_SYMLINK_PATHS;
		total = hdr_len + print->len + sub->len;
	} else {
		hdr_len = LB_RP_JUNCTION_PATHS;
		total = hdr_len + sub->len + sizeof(nul) + print->len +
		    sizeof(nul);
	}
	if (total > LB_REPARSE_MAX)
		return LB_E_TOOBIG;

	memset(hdr, 0, sizeof(hdr));
	lb_le32(hdr + LB_RP_TAG, tag);
	lb_le16(hdr + LB_RP_DATA_LEN, total - LB_REPARSE_HEADER_SIZE);
	lb_le16(hdr + LB_RP_RESERVED, 0);
	if (tag == LB_IO_REPARSE_TAG_SYMLINK) {
		lb_le16(hdr + LB_RP_SUB_OFF, print->len);
		lb_le16(hdr + LB_RP_SUB_LEN, sub->len);
		lb_le16(hdr + LB_RP_PRINT_OFF, 0);
		lb_le16(hdr + LB_RP_PRINT_LEN, print->len);
		lb_le32(hdr + LB_RP_FLAGS, flags);
		if ((rc = lb_buf_put(out, hdr, hdr_len)) != LB_OK ||
		    (rc = lb_buf_put(out, print->data, print->len)) != LB_OK ||
		    (rc = lb_buf_put(out, sub->data, sub->len)) != LB_OK)
			goto out;
	} else {
		lb_le16(hdr + LB_RP_SUB_OFF, 0);
		lb_le16(hdr + LB_RP_SUB_LEN, sub->len);
		lb_le16(hdr + LB_RP_PRINT_OFF, sub->len + sizeof(nul));
		lb_le16(hdr + LB_RP_PRINT_LEN, print->len);
		if ((rc = lb_buf_put(out, hdr, hdr_len)) != LB_OK ||
		    (rc = lb_buf_put(out, sub->data, sub->len)) != LB_OK ||
		    (rc = lb_buf_put(out, nul, sizeof(nul))) != LB_OK ||
		    (rc = lb_buf_put(out, print->data, print->len)) != LB_OK ||
		    (rc = lb_buf_put(out, nul, sizeof(nul))) != LB_OK)
			goto out;
	}
	rc = LB_OK;
out:
	if (rc != LB_OK)
		out->len = orig;
	return rc;
}

int
lb_reparse_symlink(const struct lb_path *target, struct lb_buf *out)
{
	struct lb_buf sub, print;
	uint32_t flags = 0;
	int rc;

	/* Bounded by the whole buffer's maximum: a longer name is LB_E_TOOBIG
	 * before it is even converted to the end. */
	lb_buf_init(&sub, LB_REPARSE_MAX);
	lb_buf_init(&print, LB_REPARSE_MAX);
	if (out == NULL) {
		rc = LB_E_INVAL;
		goto out;
	}
	if ((rc = lb_reparse_canonical(target)) != LB_OK)
		goto out;
	switch (target->root) {
	case LB_ROOT_DRIVE:
	case LB_ROOT_UNC:
		rc = lb_nt_name_put(target, &sub);
		break;
	case LB_ROOT_NONE:
	case LB_ROOT_CURDRIVE:
		/* Relative, including root-relative "\x": CreateSymbolicLinkW
		 * stores these as typed with SYMLINK_FLAG_RELATIVE, and the I/O
		 * manager resolves them against the link's own location. */
		flags = LB_SYMLINK_FLAG_RELATIVE;
		rc = lb_utf8_to_utf16le(target->s, target->len, &sub);
		break;
	default:
		rc = LB_E_INVAL;
		break;
	}
	if (rc != LB_OK)
		goto out;
	if ((rc = lb_utf8_to_utf16le(target->s, target->len, &print)) != LB_OK)
		goto out;
	rc = lb_reparse_put(out, LB_IO_REPARSE_TAG_SYMLINK, flags, &sub, &print);
out:
	lb_buf_free(&sub);
	lb_buf_free(&print);
	return rc;
}

int
lb_reparse_junction(const struct lb_path *abs_dir, struct lb_buf *out)
{
	struct lb_buf sub, print;
	int rc;

	lb_buf_init(&sub, LB_REPARSE_MAX);
	lb_buf_init(&print, LB_REPARSE_MAX);
	if (out == NULL) {
		rc = LB_E_INVAL;
		goto out;
	}
	if ((rc = lb_reparse_canonical(abs_dir)) != LB_OK)
		goto out;
	/* The design's floor: a junction target is a local absolute directory.
	 * (NTFS itself refuses a remote one; "\x" and relative ones have no
	 * meaning for a mount point.) */
	if (abs_dir->root != LB_ROOT_DRIVE) {
		rc = LB_E_INVAL;
		goto out;
	}
	if ((rc = lb_nt_name_put(abs_dir, &sub)) != LB_OK ||
	    (rc = lb_utf8_to_utf16le(abs_dir->s, abs_dir->len, &print)) != LB_OK)
		goto out;
	rc = lb_reparse_put(out, LB_IO_REPARSE_TAG_MOUNT_POINT, 0, &sub, &print);
out:
	lb_buf_free(&sub);
	lb_buf_free(&print);
	return rc;
}

/* What GetFinalPathNameByHandleW puts before a DOS path. */
static const char lb_final_prefix[] = "\\\\?\\";
static const char lb_final_unc[] = "UNC\\";

static int
lb_ascii_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/*
 * The canonical form C of the string P (PN bytes) must say what P says:
 * the same bytes, but for the drive letter's case and one trailing "\"
 * (a root "C:\" keeps it, "\\srv\share\" loses it). Anything more would
 * mean the policy decides on a path the OS did not report.
 */
static int
lb_final_same(const char *p, size_t pn, const struct lb_path *c)
{
	size_t from = 0;

	if (pn == c->len + 1 && p[pn - 1] == '\\')
		pn--;
	if (pn != c->len)
		return 0;
	if (c->root == LB_ROOT_DRIVE) {
		if (lb_ascii_ncasecmp(p, c->s, 1) != 0)
			return 0;
		from = 1;
	}
	return memcmp(p + from, c->s + from, pn - from) == 0;
}

int
lb_win_path_from_final(const char *s, size_t n, struct lb_path *out)
{
	const size_t pre = sizeof(lb_final_prefix) - 1;
	const size_t unc = sizeof(lb_final_unc) - 1;
	enum lb_path_root want;
	char *tmp = NULL;
	const char *p;
	size_t pn;
	int rc;

	if (out == NULL)
		return LB_E_INVAL;
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return LB_E_INVAL;
	if (n > LB_PATH_INPUT_MAX)
		return LB_E_PATH_LONG;
	if (n < pre || memcmp(s, lb_final_prefix, pre) != 0)
		return LB_E_UNSUPPORTED;
	if (n > pre + unc && lb_ascii_ncasecmp(s + pre, lb_final_unc, unc) == 0) {
		/* "\\?\UNC\srv\share\x" -> "\\srv\share\x" */
		pn = 2 + (n - pre - unc);
		if ((tmp = malloc(pn)) == NULL)
			return LB_E_NOMEM;
		tmp[0] = '\\';
		tmp[1] = '\\';
		memcpy(tmp + 2, s + pre + unc, n - pre - unc);
		p = tmp;
		want = LB_ROOT_UNC;
	} else if (n >= pre + 3 && lb_ascii_letter(s[pre]) && s[pre + 1] == ':' &&
	    s[pre + 2] == '\\') {
		/* "\\?\C:\x" -> "C:\x" */
		p = s + pre;
		pn = n - pre;
		want = LB_ROOT_DRIVE;
	} else {
		/* "\\?\Volume{GUID}\", "\\?\GLOBALROOT\Device\...": no name
		 * a policy can speak of. */
		return LB_E_UNSUPPORTED;
	}
	if ((rc = lb_path_canon(LB_FLAVOR_WINDOWS, p, pn, out)) != LB_OK)
		goto out;
	if (out->root != want || !lb_final_same(p, pn, out)) {
		lb_path_free(out);
		rc = LB_E_UNSUPPORTED;
	}
out:
	free(tmp);
	return rc;
}
