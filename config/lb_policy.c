/* lb_policy: evaluation of a loaded policy. A decision is a value that
 * denies unless an allow rule matched and no deny rule or floor did. */
#include <stdlib.h>
#include <string.h>

#include "lb_policy_int.h"
#include "lb_str.h"

/* ---- small helpers ---- */

static char
lb_ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

int
lb_is_sid(const char *s)
{
	size_t i, digits = 0, parts = 0;

	if (s == NULL || (s[0] != 'S' && s[0] != 's') || s[1] != '-')
		return 0;
	for (i = 2; s[i] != '\0'; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (++digits > 20)
				return 0;
		} else if (s[i] == '-' && digits > 0) {
			digits = 0;
			parts++;
		} else {
			return 0;
		}
	}
	/* "S-1-5" at least: revision and authority, then sub-authorities. */
	return digits > 0 && parts >= 1 && s[2] == '1' && s[3] == '-';
}

static int
lb_sid_equal(const char *a, const char *b)
{
	size_t i;

	for (i = 0; a[i] != '\0' && b[i] != '\0'; i++)
		if (lb_ascii_upper(a[i]) != lb_ascii_upper(b[i]))
			return 0;
	return a[i] == b[i];
}

/* ---- patterns ---- */

enum lb_var { LB_VAR_NONE, LB_VAR_USER, LB_VAR_HOME, LB_VAR_SID };

static const struct {
	const char *name;
	enum lb_var var;
} lb_vars[] = {
	{ "USERNAME", LB_VAR_USER },
	{ "USER", LB_VAR_USER },
	{ "USERPROFILE", LB_VAR_HOME },
	{ "HOME", LB_VAR_HOME },
	{ "SID", LB_VAR_SID },
};

/* Parse the variable at S (S[0] == '%'); *len gets the bytes consumed. */
static enum lb_var
lb_var_at(const char *s, size_t *len)
{
	const char *end = strchr(s + 1, '%');
	size_t n, i, j;

	if (end == NULL)
		return LB_VAR_NONE;
	n = (size_t)(end - (s + 1));
	for (i = 0; i < sizeof(lb_vars) / sizeof(lb_vars[0]); i++) {
		if (strlen(lb_vars[i].name) != n)
			continue;
		for (j = 0; j < n; j++)
			if (lb_ascii_upper(s[1 + j]) != lb_vars[i].name[j])
				break;
		if (j == n) {
			*len = n + 2;
			return lb_vars[i].var;
		}
	}
	return LB_VAR_NONE;
}

/* A user name or SID substituted into a path must be exactly one ordinary
 * path component, or it could walk the pattern somewhere else. */
static int
lb_single_component(enum lb_flavor flavor, const char *v)
{
	if (v == NULL || v[0] == '\0' || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return 0;
	if (strchr(v, '/') != NULL)
		return 0;
	if (flavor == LB_FLAVOR_WINDOWS && (strchr(v, '\\') != NULL || strchr(v, ':') != NULL))
		return 0;
	return 1;
}

int
lb_pattern_expand(enum lb_flavor flavor, const char *text,
    const struct lb_principal *who, struct lb_path *out)
{
	struct lb_buf b;
	struct lb_path home = { 0 };
	const char *s;
	size_t vlen;
	int r;

	lb_buf_init(&b, LB_PATH_BUF_MAX);
	for (s = text; *s != '\0';) {
		if (s[0] != '%') {
			if ((r = lb_buf_put_u8(&b, (uint8_t)*s)) != LB_OK)
				goto out;
			s++;
			continue;
		}
		if (s[1] == '%') {
			if ((r = lb_buf_put_u8(&b, '%')) != LB_OK)
				goto out;
			s += 2;
			continue;
		}
		switch (lb_var_at(s, &vlen)) {
		case LB_VAR_USER:
			if (!lb_single_component(flavor, who->user)) {
				r = LB_E_EXPAND;
				goto out;
			}
			if ((r = lb_buf_put_cstr(&b, who->user)) != LB_OK)
				goto out;
			break;
		case LB_VAR_SID:
			if (!lb_single_component(flavor, who->sid)) {
				r = LB_E_EXPAND;
				goto out;
			}
			if ((r = lb_buf_put_cstr(&b, who->sid)) != LB_OK)
				goto out;
			break;
		case LB_VAR_HOME:
			/* Only at the start (checked at load); must itself be a
			 * canonical absolute path. */
			r = LB_E_EXPAND;
			if (s != text || who->home == NULL)
				goto out;
			if (lb_path_canon(flavor, who->home, strlen(who->home), &home) != LB_OK ||
			    lb_path_require_absolute(&home) != LB_OK)
				goto out;
			if ((r = lb_buf_put_cstr(&b, home.s)) != LB_OK)
				goto out;
			break;
		default:
			r = LB_E_EXPAND;
			goto out;
		}
		s += vlen;
	}
	r = LB_E_EXPAND;
	if (lb_path_canon(flavor, (const char *)b.data, b.len, out) != LB_OK)
		goto out;
	if (lb_path_require_absolute(out) != LB_OK) {
		lb_path_free(out);
		goto out;
	}
	r = LB_OK;
out:
	lb_path_free(&home);
	lb_buf_free(&b);
	return r;
}

int
lb_pattern_compile(enum lb_flavor flavor, const char *text,
    struct lb_pattern *pat, const char **why)
{
	static const struct lb_group sample_group = { "lbgroup", NULL, 0 };
	const struct lb_principal sample = {
		"lbuser", "S-1-5-21-1-2-3-1001",
		flavor == LB_FLAVOR_WINDOWS ? "C:\\Users\\lbuser" : "/home/lbuser",
		&sample_group, 1, NULL,
	};
	struct lb_path trial = { 0 };
	const char *s;
	size_t vlen;
	int r;

	memset(pat, 0, sizeof(*pat));
	if (strcmp(text, "*") == 0) {
		pat->any = 1;
		return LB_OK;
	}
	for (s = text; *s != '\0'; s++) {
		if (*s != '%')
			continue;
		if (s[1] == '%') {
			s++;
			continue;
		}
		switch (lb_var_at(s, &vlen)) {
		case LB_VAR_NONE:
			*why = "unknown variable (known: %USERNAME% %USER% %USERPROFILE% %HOME% %SID%; %% for a literal %)";
			return LB_E_CONFIG;
		case LB_VAR_HOME:
			if (s != text) {
				*why = "%USERPROFILE% and %HOME% may only start a path";
				return LB_E_CONFIG;
			}
			break;
		default:
			break;
		}
		pat->has_vars = 1;
		s += vlen - 1;
	}
	if (pat->has_vars) {
		/* A trial expansion proves the template yields an absolute path. */
		if (lb_pattern_expand(flavor, text, &sample, &trial) != LB_OK) {
			*why = "path is not absolute or not valid once expanded";
			return LB_E_CONFIG;
		}
		lb_path_free(&trial);
		if ((pat->text = lb_strdup(text)) == NULL)
			return LB_E_NOMEM;
		return LB_OK;
	}
	if ((r = lb_path_canon(flavor, text, strlen(text), &pat->path)) != LB_OK) {
		*why = lb_strerror(r);
		return r == LB_E_NOMEM ? r : LB_E_CONFIG;
	}
	if (lb_path_require_absolute(&pat->path) != LB_OK) {
		lb_path_free(&pat->path);
		*why = lb_strerror(LB_E_PATH_RELATIVE);
		return LB_E_CONFIG;
	}
	return LB_OK;
}

void
lb_pattern_free(struct lb_pattern *pat)
{
	free(pat->text);
	lb_path_free(&pat->path);
	memset(pat, 0, sizeof(*pat));
}

/* What one decision works on, with the templates expanded for this client
 * so far: each distinct template is expanded at most once per decision. */
#define LB_TMPL_CACHE 32

struct lb_ctx {
	const struct lb_policy *p;
	const struct lb_principal *who;
	enum lb_kind kind;
	const struct lb_path *link;
	const struct lb_path *target;
	size_t first_allow, first_deny;
	struct {
		size_t id;
		int rc;
		struct lb_path path;
	} cache[LB_TMPL_CACHE];
	size_t n_cache;
};

/* 1 if PATH is under template PAT as expanded for the client; -1 if the
 * template cannot be expanded for this client. */
static int
lb_template_match(struct lb_ctx *c, const struct lb_pattern *pat, const struct lb_path *path)
{
	struct lb_path exp;
	size_t i;
	int hit;

	for (i = 0; i < c->n_cache; i++)
		if (c->cache[i].id == pat->tmpl_id)
			break;
	if (i == c->n_cache) {
		if (c->n_cache == LB_TMPL_CACHE) {
			/* cache full: expand without keeping it */
			if (lb_pattern_expand(c->p->flavor, pat->text, c->who, &exp) != LB_OK)
				return -1;
			hit = lb_path_is_under(path, &exp);
			lb_path_free(&exp);
			return hit;
		}
		c->cache[i].id = pat->tmpl_id;
		c->cache[i].rc = lb_pattern_expand(c->p->flavor, pat->text, c->who, &c->cache[i].path);
		c->n_cache++;
	}
	if (c->cache[i].rc != LB_OK)
		return -1;
	return lb_path_is_under(path, &c->cache[i].path);
}

/* 1 if PATH lies under one of the patterns. A template that cannot be
 * expanded for this client counts as a match in a deny rule (fail closed)
 * and as no match in an allow rule. */
static int
lb_patterns_match(struct lb_ctx *c, const struct lb_pattern *pats, size_t n,
    const struct lb_path *path, enum lb_action action)
{
	size_t i;
	int hit;

	if (n == 0)
		return action == LB_ACTION_DENY;   /* deny rules: omitted means anywhere */
	for (i = 0; i < n; i++) {
		/* "*" in an allow rule is every local path: a UNC path (a
		 * remote share, and the loopback and admin shares that reach
		 * local folders past the rules written for them, like
		 * \\localhost\D$) is allowed only where a rule names it. */
		if (pats[i].any && action == LB_ACTION_ALLOW && path->root == LB_ROOT_UNC)
			continue;
		if (pats[i].any)
			return 1;
		if (!pats[i].has_vars) {
			if (lb_path_is_under(path, &pats[i].path))
				return 1;
			continue;
		}
		hit = lb_template_match(c, &pats[i], path);
		if (hit > 0 || (hit < 0 && action == LB_ACTION_DENY))
			return 1;
	}
	return 0;
}

/* ---- principals and the index ---- */

enum lb_ix_tag { LB_IX_USER = 1, LB_IX_GROUP = 2 };

struct lb_ix_entry {
	const char *key;          /* points into a rule's list */
	uint8_t tag;
	size_t *rules;
	size_t n, cap;
};

struct lb_policy_index {
	struct lb_ix_entry *slots;
	size_t nslots;            /* power of two */
	size_t *always;           /* rules with users = * or groups = * */
	size_t n_always, cap_always;
};

/* Hash consistent with lb_name_equal() and lb_sid_equal(): ASCII letters
 * are folded and bytes >= 0x80 are skipped, because case folding never maps
 * a non-ASCII character to ASCII (pinned by a unit test), so names equal
 * under folding hash alike. SIDs are ASCII. FNV-1a, so a name hashed in
 * parts (DOMAIN, a backslash, NAME) hashes as the joined string does. */
static uint32_t
lb_ix_hash_more(uint32_t h, const char *s, int fold)
{
	const unsigned char *p;
	unsigned char c;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		c = *p;
		if (fold) {
			if (c >= 0x80)
				continue;
			if (c >= 'a' && c <= 'z')
				c = (unsigned char)(c - 'a' + 'A');
		}
		h = (h ^ c) * 16777619u;
	}
	return h;
}

static uint32_t
lb_ix_hash(enum lb_flavor flavor, uint8_t tag, const char *s)
{
	return lb_ix_hash_more(2166136261u ^ tag, s,
	    flavor == LB_FLAVOR_WINDOWS || lb_is_sid(s));
}

static int
lb_principal_name_equal(enum lb_flavor flavor, const char *a, const char *b)
{
	if (lb_is_sid(a) || lb_is_sid(b))
		return lb_is_sid(a) && lb_is_sid(b) && lb_sid_equal(a, b);
	return lb_name_equal(flavor, a, b) == 0;
}

/* Windows flavour: the account part of "DOMAIN\NAME", or NULL for a bare
 * name. POSIX names are never taken apart (winbind may put a backslash in
 * a user name; it is then part of the name). */
static const char *
lb_account_part(enum lb_flavor flavor, const char *s)
{
	const char *bs;

	if (flavor != LB_FLAVOR_WINDOWS || (bs = strchr(s, '\\')) == NULL)
		return NULL;
	return bs + 1;
}

/* Does policy entry E (a name, not a SID) name the account DOMAIN\NAME?
 * A bare E matches NAME whatever the domain; a qualified E only the
 * account of its own domain. DOMAIN may be NULL (unknown). */
static int
lb_entry_names_account(enum lb_flavor flavor, const char *e, const char *domain,
    const char *name)
{
	char dom[LB_POLICY_PRINCIPAL_MAX + 1];
	const char *en;
	size_t dl;

	if (name == NULL)
		return 0;
	if ((en = lb_account_part(flavor, e)) == NULL)
		return lb_name_equal(flavor, e, name) == 0;
	dl = (size_t)(en - 1 - e);
	if (domain == NULL || dl >= sizeof(dom))
		return 0;   /* the loader keeps entries shorter than that */
	memcpy(dom, e, dl);
	dom[dl] = '\0';
	return lb_name_equal(flavor, dom, domain) == 0 && lb_name_equal(flavor, en, name) == 0;
}

/* Does policy entry E (a name, not a SID) name the group the OS calls G?
 * In the Windows flavour G is "DOMAIN\NAME" (or a bare NAME): a qualified
 * E must equal it whole -- each has one backslash, and case folding maps
 * no other character to it -- and a bare E its NAME part. */
static int
lb_entry_names_group(enum lb_flavor flavor, const char *e, const char *g)
{
	const char *gn;

	if (g == NULL)
		return 0;
	if (lb_account_part(flavor, e) != NULL)
		return lb_name_equal(flavor, e, g) == 0;
	gn = lb_account_part(flavor, g);
	return lb_name_equal(flavor, e, gn != NULL ? gn : g) == 0;
}

int
lb_policy_names_user(const struct lb_policy *p, const char *entry,
    const struct lb_principal *who)
{
	if (p == NULL || entry == NULL || who == NULL)
		return 0;
	if (lb_is_sid(entry))
		return who->sid != NULL && lb_is_sid(who->sid) && lb_sid_equal(entry, who->sid);
	return lb_entry_names_account(p->flavor, entry,
	    p->flavor == LB_FLAVOR_WINDOWS ? who->domain : NULL, who->user);
}

static int
lb_push_index(size_t **v, size_t *n, size_t *cap, size_t x)
{
	size_t *nv;
	size_t ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 4;
		if ((nv = realloc(*v, ncap * sizeof(**v))) == NULL)
			return LB_E_NOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = x;
	return LB_OK;
}

static struct lb_ix_entry *
lb_ix_slot(const struct lb_policy *p, uint8_t tag, const char *key)
{
	const struct lb_policy_index *ix = p->index;
	size_t i = lb_ix_hash(p->flavor, tag, key) & (ix->nslots - 1);

	for (;; i = (i + 1) & (ix->nslots - 1)) {
		struct lb_ix_entry *e = &ix->slots[i];

		if (e->key == NULL ||
		    (e->tag == tag && lb_principal_name_equal(p->flavor, e->key, key)))
			return e;
	}
}

/* The slot of the qualified user entries equal to DOMAIN\NAME (Windows
 * flavour), found without joining the two. */
static struct lb_ix_entry *
lb_ix_slot_account(const struct lb_policy *p, const char *domain, const char *name)
{
	const struct lb_policy_index *ix = p->index;
	uint32_t h = 2166136261u ^ LB_IX_USER;
	size_t i;

	h = lb_ix_hash_more(lb_ix_hash_more(lb_ix_hash_more(h, domain, 1), "\\", 1), name, 1);
	for (i = h & (ix->nslots - 1);; i = (i + 1) & (ix->nslots - 1)) {
		struct lb_ix_entry *e = &ix->slots[i];

		if (e->key == NULL ||
		    (e->tag == LB_IX_USER && lb_account_part(p->flavor, e->key) != NULL &&
		    lb_entry_names_account(p->flavor, e->key, domain, name)))
			return e;
	}
}

static int
lb_ix_add(struct lb_policy *p, uint8_t tag, const char *key, size_t rule)
{
	struct lb_ix_entry *e = lb_ix_slot(p, tag, key);

	if (e->key == NULL) {
		e->key = key;
		e->tag = tag;
	}
	/* A name listed twice in one rule is indexed once. */
	if (e->n > 0 && e->rules[e->n - 1] == rule)
		return LB_OK;
	return lb_push_index(&e->rules, &e->n, &e->cap, rule);
}

static void
lb_index_free(struct lb_policy_index *ix)
{
	size_t i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->nslots; i++)
		free(ix->slots[i].rules);
	free(ix->slots);
	free(ix->always);
	free(ix);
}

static int
lb_index_build(struct lb_policy *p)
{
	struct lb_policy_index *ix;
	size_t names = 0, i, j;
	int r;

	for (i = 0; i < p->n_rules; i++)
		names += p->rules[i].n_users + p->rules[i].n_groups;
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return LB_E_NOMEM;
	p->index = ix;
	/* At most half full, so probing always ends at an empty slot. */
	for (ix->nslots = 16; ix->nslots < names * 2; ix->nslots *= 2)
		;
	if ((ix->slots = calloc(ix->nslots, sizeof(*ix->slots))) == NULL)
		return LB_E_NOMEM;
	for (i = 0; i < p->n_rules; i++) {
		const struct lb_rule *rule = &p->rules[i];

		if (rule->any_user || rule->any_group) {
			if ((r = lb_push_index(&ix->always, &ix->n_always,
			    &ix->cap_always, i)) != LB_OK)
				return r;
			continue;
		}
		for (j = 0; j < rule->n_users; j++)
			if ((r = lb_ix_add(p, LB_IX_USER, rule->users[j], i)) != LB_OK)
				return r;
		for (j = 0; j < rule->n_groups; j++)
			if ((r = lb_ix_add(p, LB_IX_GROUP, rule->groups[j], i)) != LB_OK)
				return r;
	}
	return LB_OK;
}

static int
lb_rule_names_principal(const struct lb_policy *p, const struct lb_rule *rule,
    const struct lb_principal *who)
{
	size_t i, j;

	if (rule->any_user || rule->any_group)
		return 1;
	for (i = 0; i < rule->n_users; i++)
		if (lb_policy_names_user(p, rule->users[i], who))
			return 1;
	for (i = 0; i < rule->n_groups; i++) {
		const char *g = rule->groups[i];

		for (j = 0; j < who->n_groups; j++) {
			const struct lb_group *wg = &who->groups[j];

			/* CheckTokenMembership semantics: a deny-only group
			 * never satisfies an allow rule. */
			if (wg->deny_only && rule->action == LB_ACTION_ALLOW)
				continue;
			if (lb_is_sid(g)) {
				if (wg->sid != NULL && lb_is_sid(wg->sid) && lb_sid_equal(g, wg->sid))
					return 1;
			} else if (lb_entry_names_group(p->flavor, g, wg->name)) {
				return 1;
			}
		}
	}
	return 0;
}

/* ---- floors ---- */

int
lb_policy_add_floor(struct lb_policy *p, const char *dir, const char *why)
{
	struct lb_floor *nf;
	struct lb_path path;
	int r;

	if ((r = lb_path_canon(p->flavor, dir, strlen(dir), &path)) != LB_OK)
		return r;
	if ((r = lb_path_require_absolute(&path)) != LB_OK) {
		lb_path_free(&path);
		return r;
	}
	if ((nf = realloc(p->floors, (p->n_floors + 1) * sizeof(*nf))) == NULL) {
		lb_path_free(&path);
		return LB_E_NOMEM;
	}
	p->floors = nf;
	p->floors[p->n_floors].dir = path;
	p->floors[p->n_floors].why = why;
	p->n_floors++;
	return LB_OK;
}

static const char lb_floor_system[] = "links are never created inside the system tree";
static const char lb_floor_broker[] = "links are never created in the broker's own directories";
static const char lb_floor_junction[] = "a junction target must be a local absolute directory";

static int
lb_add_parent_floor(struct lb_policy *p, const char *file)
{
	struct lb_path path, parent;
	int r;

	if (file == NULL)
		return LB_OK;
	if ((r = lb_path_canon(p->flavor, file, strlen(file), &path)) != LB_OK)
		return r;
	r = lb_path_parent(&path, &parent);
	lb_path_free(&path);
	if (r != LB_OK)
		return r;
	r = lb_policy_add_floor(p, parent.s, lb_floor_broker);
	lb_path_free(&parent);
	return r;
}

/* Give templates with the same text the same id, so that a decision expands
 * each distinct template once. */
static int
lb_intern_templates(struct lb_policy *p)
{
	struct lb_pattern **slots;
	size_t total = 0, nslots = 16, i, j, k, h;

	for (i = 0; i < p->n_rules; i++)
		total += p->rules[i].n_link_under + p->rules[i].n_target_under;
	while (nslots < total * 2)
		nslots *= 2;
	if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
		return LB_E_NOMEM;
	for (i = 0; i < p->n_rules; i++) {
		struct lb_rule *r = &p->rules[i];

		for (j = 0; j < r->n_link_under + r->n_target_under; j++) {
			struct lb_pattern *pat = j < r->n_link_under ? &r->link_under[j] :
			    &r->target_under[j - r->n_link_under];

			if (!pat->has_vars)
				continue;
			h = lb_str_hash(pat->text) & (nslots - 1);
			for (k = h; slots[k] != NULL; k = (k + 1) & (nslots - 1))
				if (strcmp(slots[k]->text, pat->text) == 0)
					break;
			if (slots[k] == NULL) {
				slots[k] = pat;
				pat->tmpl_id = p->n_templates++;
			} else {
				pat->tmpl_id = slots[k]->tmpl_id;
			}
		}
	}
	free(slots);
	return LB_OK;
}

int
lb_policy_finish(struct lb_policy *p)
{
	static const char *const posix_system[] = { "/etc", "/proc", "/sys", "/dev", "/boot" };
	size_t i;
	int r;

	if (p->flavor == LB_FLAVOR_WINDOWS) {
		if ((r = lb_policy_add_floor(p, "C:\\Windows", lb_floor_system)) != LB_OK ||
		    (r = lb_policy_add_floor(p, "C:\\ProgramData\\LinkBroker", lb_floor_broker)) != LB_OK)
			return r;
	} else {
		for (i = 0; i < sizeof(posix_system) / sizeof(posix_system[0]); i++)
			if ((r = lb_policy_add_floor(p, posix_system[i], lb_floor_system)) != LB_OK)
				return r;
		if ((r = lb_policy_add_floor(p, "/etc/linkbroker", lb_floor_broker)) != LB_OK ||
		    (r = lb_add_parent_floor(p, p->broker.endpoint)) != LB_OK)
			return r;
	}
	if ((r = lb_add_parent_floor(p, p->broker.audit_log)) != LB_OK ||
	    (r = lb_add_parent_floor(p, p->broker.service_key)) != LB_OK ||
	    (r = lb_add_parent_floor(p, p->broker.service_public_key)) != LB_OK ||
	    (r = lb_intern_templates(p)) != LB_OK)
		return r;
	return lb_index_build(p);
}

/* ---- decisions ---- */

static void
lb_consider(struct lb_ctx *c, size_t i)
{
	const struct lb_rule *rule = &c->p->rules[i];
	size_t *slot = rule->action == LB_ACTION_ALLOW ? &c->first_allow : &c->first_deny;

	if (i >= *slot)
		return;   /* an earlier rule of the same action already matched */
	if ((rule->kinds & (1u << c->kind)) == 0)
		return;
	if (!lb_patterns_match(c, rule->link_under, rule->n_link_under, c->link, rule->action))
		return;
	if (!lb_patterns_match(c, rule->target_under, rule->n_target_under, c->target, rule->action))
		return;
	/* The index found the rule by a name; confirm against the whole
	 * principal (deny-only groups, SID forms). */
	if (!lb_rule_names_principal(c->p, rule, c->who))
		return;
	*slot = i;
}

static void
lb_consider_list(struct lb_ctx *c, const struct lb_ix_entry *e)
{
	size_t i;

	if (e == NULL || e->key == NULL)
		return;
	for (i = 0; i < e->n; i++)
		lb_consider(c, e->rules[i]);
}

static int
lb_is_local_absolute(const struct lb_path *p)
{
	return p->root == LB_ROOT_DRIVE || p->root == LB_ROOT_POSIX;
}

static int
lb_floor_deny(struct lb_decision *d, const struct lb_floor *f, const char *why)
{
	d->verdict = LB_VERDICT_DENY;
	d->reason = LB_REASON_FLOOR;
	d->floor = f;
	d->floor_why = why;
	return LB_OK;
}

static int
lb_decide_kind(const struct lb_policy *p, const struct lb_principal *who,
    enum lb_kind kind, const struct lb_path *link, const struct lb_path *target,
    struct lb_decision *d);

int
lb_policy_decide(const struct lb_policy *p, const struct lb_principal *who,
    enum lb_kind kind, const struct lb_path *link, const struct lb_path *target,
    struct lb_decision *d)
{
	int r;

	if ((r = lb_decide_kind(p, who, kind, link, target, d)) != LB_OK)
		return r;
	/* On POSIX a directory link and a "junction" are the same symbolic
	 * link as a plain one: what is made must be allowed too, so a deny
	 * rule on symlink is not dodged with -d or -j (and an allow rule for
	 * only one of them does not cover the other's). */
	if (p->flavor == LB_FLAVOR_POSIX && d->verdict == LB_VERDICT_ALLOW &&
	    (kind == LB_KIND_DIRSYMLINK || kind == LB_KIND_JUNCTION)) {
		struct lb_decision made;

		if ((r = lb_decide_kind(p, who, LB_KIND_SYMLINK, link, target, &made)) != LB_OK)
			return r;
		if (made.verdict != LB_VERDICT_ALLOW)
			*d = made;
	}
	return LB_OK;
}

static int
lb_decide_kind(const struct lb_policy *p, const struct lb_principal *who,
    enum lb_kind kind, const struct lb_path *link, const struct lb_path *target,
    struct lb_decision *d)
{
	size_t first_allow, first_deny, i, j;
	struct lb_ctx *c;
	int r;

	memset(d, 0, sizeof(*d));
	if (kind < LB_KIND_SYMLINK || kind > LB_KIND_MAX)
		return LB_E_INVAL;
	if (link->flavor != p->flavor || target->flavor != p->flavor)
		return LB_E_INVAL;
	if ((r = lb_path_require_absolute(link)) != LB_OK)
		return r;
	if (link->len == link->root_len)
		return LB_E_INVAL;   /* a root cannot become a link */

	if (!lb_is_local_absolute(link))
		return lb_floor_deny(d, NULL, "links are created only on local drives");
	for (i = 0; i < p->n_floors; i++)
		if (lb_path_is_under(link, &p->floors[i].dir))
			return lb_floor_deny(d, &p->floors[i], p->floors[i].why);
	/* A junction's target is judged as given: relative or remote is refused
	 * here, before the general rule that targets must be absolute. */
	if (kind == LB_KIND_JUNCTION && !lb_is_local_absolute(target))
		return lb_floor_deny(d, NULL, lb_floor_junction);
	if ((r = lb_path_require_absolute(target)) != LB_OK)
		return r;
	if (kind == LB_KIND_HARDLINK)
		for (i = 0; i < p->n_floors; i++)
			if (lb_path_is_under(target, &p->floors[i].dir))
				return lb_floor_deny(d, &p->floors[i],
				    "hard links to files in the system tree or the broker's directories are never made");

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return LB_E_NOMEM;
	c->p = p;
	c->who = who;
	c->kind = kind;
	c->link = link;
	c->target = target;
	c->first_allow = c->first_deny = SIZE_MAX;
	for (i = 0; i < p->index->n_always; i++)
		lb_consider(c, p->index->always[i]);
	if (who->user != NULL) {
		lb_consider_list(c, lb_ix_slot(p, LB_IX_USER, who->user));
		if (p->flavor == LB_FLAVOR_WINDOWS && who->domain != NULL)
			lb_consider_list(c, lb_ix_slot_account(p, who->domain, who->user));
	}
	if (who->sid != NULL && lb_is_sid(who->sid))
		lb_consider_list(c, lb_ix_slot(p, LB_IX_USER, who->sid));
	for (j = 0; j < who->n_groups; j++) {
		const char *g = who->groups[j].name, *gn;

		if (g != NULL) {
			/* DOMAIN\NAME finds the qualified entries, NAME the bare ones. */
			lb_consider_list(c, lb_ix_slot(p, LB_IX_GROUP, g));
			if ((gn = lb_account_part(p->flavor, g)) != NULL)
				lb_consider_list(c, lb_ix_slot(p, LB_IX_GROUP, gn));
		}
		if (who->groups[j].sid != NULL && lb_is_sid(who->groups[j].sid))
			lb_consider_list(c, lb_ix_slot(p, LB_IX_GROUP, who->groups[j].sid));
	}
	first_allow = c->first_allow;
	first_deny = c->first_deny;
	for (i = 0; i < c->n_cache; i++)
		lb_path_free(&c->cache[i].path);
	free(c);

	if (first_deny != SIZE_MAX) {
		d->reason = LB_REASON_RULE_DENY;
		d->rule = &p->rules[first_deny];
	} else if (first_allow != SIZE_MAX) {
		d->verdict = LB_VERDICT_ALLOW;
		d->reason = LB_REASON_RULE_ALLOW;
		d->rule = &p->rules[first_allow];
	} else {
		d->reason = LB_REASON_NO_RULE;
	}
	return LB_OK;
}

int
lb_policy_decide_strings(const struct lb_policy *p,
    const struct lb_principal *who, enum lb_kind kind,
    const char *link, size_t link_len, const char *target, size_t target_len,
    struct lb_decision *d, struct lb_path *link_out, struct lb_path *target_out,
    const char **which)
{
	struct lb_path l = { 0 }, t = { 0 }, parent = { 0 }, resolved = { 0 };
	int r;

	memset(d, 0, sizeof(*d));
	memset(link_out, 0, sizeof(*link_out));
	memset(target_out, 0, sizeof(*target_out));
	*which = "link";
	if ((r = lb_path_canon(p->flavor, link, link_len, &l)) != LB_OK ||
	    (r = lb_path_require_absolute(&l)) != LB_OK)
		goto out;
	r = LB_E_INVAL;
	if (l.len == l.root_len)
		goto out;
	if ((r = lb_path_parent(&l, &parent)) != LB_OK)
		goto out;
	*which = "target";
	if ((r = lb_path_canon(p->flavor, target, target_len, &t)) != LB_OK)
		goto out;
	/* Symbolic links keep a relative target as typed; the decision is on
	 * where it leads from the link's directory. Hard links are made to
	 * absolute paths; a junction's target is judged as given (the
	 * junction floor in lb_policy_decide refuses a relative one). */
	if ((t.root == LB_ROOT_NONE || t.root == LB_ROOT_CURDRIVE) && kind != LB_KIND_JUNCTION) {
		if (kind == LB_KIND_HARDLINK) {
			r = LB_E_PATH_RELATIVE;
			goto out;
		}
		if ((r = lb_path_resolve(&parent, &t, &resolved)) != LB_OK)
			goto out;
		lb_path_free(&t);
		t = resolved;
		memset(&resolved, 0, sizeof(resolved));
	}
	*which = NULL;
	if ((r = lb_policy_decide(p, who, kind, &l, &t, d)) != LB_OK)
		goto out;
	*link_out = l;
	*target_out = t;
	memset(&l, 0, sizeof(l));
	memset(&t, 0, sizeof(t));
out:
	if (r != LB_OK) {
		memset(d, 0, sizeof(*d));
	}
	lb_path_free(&l);
	lb_path_free(&t);
	lb_path_free(&parent);
	lb_path_free(&resolved);
	return r;
}

int
lb_decision_describe(const struct lb_decision *d, struct lb_buf *out)
{
	switch (d->reason) {
	case LB_REASON_RULE_ALLOW:
		if (d->verdict != LB_VERDICT_ALLOW)
			break;
		return lb_buf_printf(out, "allowed by rule \"%s\"", d->rule->name);
	case LB_REASON_RULE_DENY:
		return lb_buf_printf(out, "denied by rule \"%s\"", d->rule->name);
	case LB_REASON_NO_RULE:
		return lb_buf_printf(out, "no rule allows this link");
	case LB_REASON_FLOOR:
		if (d->floor != NULL)
			return lb_buf_printf(out, "built-in floor: %s (%s)",
			    d->floor_why, d->floor->dir.s);
		return lb_buf_printf(out, "built-in floor: %s", d->floor_why);
	case LB_REASON_NONE:
		break;
	}
	return lb_buf_printf(out, "denied: no decision");
}

const struct lb_key_entry *
lb_policy_find_key(const struct lb_policy *p, const uint8_t pk[LB_PK_BYTES])
{
	size_t i;

	for (i = 0; i < p->n_keys; i++)
		if (lb_ct_equal(p->keys[i].pk, pk, LB_PK_BYTES))
			return &p->keys[i];
	return NULL;
}

/* ---- freeing ---- */

static void
lb_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
lb_patterns_free(struct lb_pattern *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		lb_pattern_free(&v[i]);
	free(v);
}

void
lb_policy_free(struct lb_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->broker.endpoint);
	free(p->broker.audit_log);
	free(p->broker.service_key);
	free(p->broker.service_public_key);
	for (i = 0; i < p->n_keys; i++) {
		free(p->keys[i].name);
		free(p->keys[i].user);
		free(p->keys[i].sid);
	}
	free(p->keys);
	for (i = 0; i < p->n_rules; i++) {
		struct lb_rule *rule = &p->rules[i];

		free(rule->name);
		lb_strv_free(rule->users, rule->n_users);
		lb_strv_free(rule->groups, rule->n_groups);
		lb_patterns_free(rule->link_under, rule->n_link_under);
		lb_patterns_free(rule->target_under, rule->n_target_under);
	}
	free(p->rules);
	for (i = 0; i < p->n_floors; i++)
		lb_path_free(&p->floors[i].dir);
	free(p->floors);
	lb_index_free(p->index);
	lb_buf_free(&p->warnings);
	free(p);
}
