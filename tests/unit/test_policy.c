/* Policy decisions: default deny, deny overrides allow, principals, kinds,
 * whole-component "under", case, variable expansion, built-in floors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lb_policy.h"

static struct lb_policy *
load(enum lb_flavor flavor, const char *text)
{
	struct lb_policy *p = NULL;
	struct lb_buf err;
	const char *s = "";

	lb_buf_init(&err, 4096);
	if (lb_policy_load_buffer("t.ini", text, strlen(text), flavor, &p, &err) != LB_OK) {
		if (lb_buf_cstr(&err, &s) != LB_OK)
			s = "(no message)";
		fail_msg("policy did not load: %s", s);
	}
	lb_buf_free(&err);
	return p;
}

struct who {
	const char *user, *sid, *home;
	struct lb_group groups[4];
	size_t n_groups;
};

/* Decide and return "allow:RULE", "deny:RULE", "deny:no rule", "deny:floor"
 * or "error:CODE", so each test reads as a table. */
static const char *
decide_in(const struct lb_policy *p, const struct who *w, const char *domain,
    enum lb_kind kind, const char *link, const char *target)
{
	static char out[256];
	struct lb_principal pr = { w->user, w->sid, w->home, w->groups, w->n_groups, domain };
	struct lb_decision d;
	struct lb_path l, t;
	const char *which;
	int r;

	r = lb_policy_decide_strings(p, &pr, kind, link, strlen(link), target, strlen(target),
	    &d, &l, &t, &which);
	if (r != LB_OK) {
		assert_int_equal(d.verdict, LB_VERDICT_DENY);
		snprintf(out, sizeof(out), "error:%d", r);
		return out;
	}
	switch (d.reason) {
	case LB_REASON_RULE_ALLOW:
		assert_int_equal(d.verdict, LB_VERDICT_ALLOW);
		snprintf(out, sizeof(out), "allow:%s", d.rule->name);
		break;
	case LB_REASON_RULE_DENY:
		assert_int_equal(d.verdict, LB_VERDICT_DENY);
		snprintf(out, sizeof(out), "deny:%s", d.rule->name);
		break;
	case LB_REASON_NO_RULE:
		assert_int_equal(d.verdict, LB_VERDICT_DENY);
		snprintf(out, sizeof(out), "deny:no rule");
		break;
	case LB_REASON_FLOOR:
		assert_int_equal(d.verdict, LB_VERDICT_DENY);
		snprintf(out, sizeof(out), "deny:floor");
		break;
	default:
		fail_msg("no reason");
	}
	lb_path_free(&l);
	lb_path_free(&t);
	return out;
}

/* The same for a client whose domain the OS did not say (POSIX, or a
 * Windows name lookup that failed). */
static const char *
decide(const struct lb_policy *p, const struct who *w, enum lb_kind kind,
    const char *link, const char *target)
{
	return decide_in(p, w, NULL, kind, link, target);
}

static const struct who alice = { "alice", "1000", "/home/alice", { { "devs", NULL, 0 } }, 1 };
static const struct who bob = { "bob", "1001", "/home/bob", { { "users", NULL, 0 } }, 1 };

static const char posix_policy[] =
    "[rule:dev]\n"
    "users = alice\n"
    "kinds = symlink, dirsymlink\n"
    "link_under = %HOME%/src, /srv/work\n"
    "target_under = %HOME%, /opt/tools\n"
    "action = allow\n"
    "[rule:devs-hard]\n"
    "groups = devs\n"
    "kinds = hardlink\n"
    "link_under = /srv/work\n"
    "target_under = /srv/work\n"
    "action = allow\n"
    "[rule:no-secret]\n"
    "users = *\n"
    "kinds = *\n"
    "link_under = /srv/work/secret\n"
    "action = deny\n";

static void
test_default_deny_without_rules(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX, "[broker]\n");

	(void)state;
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/src/l", "/home/alice/t"),
	    "deny:no rule");
	lb_policy_free(p);
}

static void
test_allow_rule_allows_its_user_kind_and_paths(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX, posix_policy);

	(void)state;
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/src/l", "/home/alice/t"), "allow:dev");
	assert_string_equal(decide(p, &alice, LB_KIND_DIRSYMLINK, "/srv/work/l", "/opt/tools/bin"), "allow:dev");
	/* wrong user, kind, link place, target place */
	assert_string_equal(decide(p, &bob, LB_KIND_SYMLINK, "/home/alice/src/l", "/home/alice/t"), "deny:no rule");
	assert_string_equal(decide(p, &alice, LB_KIND_JUNCTION, "/home/alice/src/l", "/home/alice/t"), "deny:no rule");
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/l", "/home/alice/t"), "deny:no rule");
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/src/l", "/opt/other"), "deny:no rule");
	lb_policy_free(p);
}

static void
test_deny_overrides_allow_in_any_order(void **state)
{
	static const char deny_first[] =
	    "[rule:no]\nusers = alice\nkinds = *\nlink_under = /srv/work/secret\naction = deny\n"
	    "[rule:yes]\nusers = alice\nkinds = *\nlink_under = /srv\ntarget_under = *\naction = allow\n";
	static const char deny_last[] =
	    "[rule:yes]\nusers = alice\nkinds = *\nlink_under = /srv\ntarget_under = *\naction = allow\n"
	    "[rule:no]\nusers = alice\nkinds = *\nlink_under = /srv/work/secret\naction = deny\n";
	struct lb_policy *p1 = load(LB_FLAVOR_POSIX, deny_first);
	struct lb_policy *p2 = load(LB_FLAVOR_POSIX, deny_last);
	struct lb_policy *p3 = load(LB_FLAVOR_POSIX, posix_policy);

	(void)state;
	assert_string_equal(decide(p1, &alice, LB_KIND_SYMLINK, "/srv/work/secret/x", "/tmp"), "deny:no");
	assert_string_equal(decide(p2, &alice, LB_KIND_SYMLINK, "/srv/work/secret/x", "/tmp"), "deny:no");
	assert_string_equal(decide(p1, &alice, LB_KIND_SYMLINK, "/srv/work/public/x", "/tmp"), "allow:yes");
	/* users = * deny rule catches alice's otherwise allowed hard link */
	assert_string_equal(decide(p3, &alice, LB_KIND_HARDLINK, "/srv/work/secret/h", "/srv/work/f"),
	    "deny:no-secret");
	assert_string_equal(decide(p3, &alice, LB_KIND_HARDLINK, "/srv/work/h", "/srv/work/f"), "allow:devs-hard");
	lb_policy_free(p1);
	lb_policy_free(p2);
	lb_policy_free(p3);
}

static void
test_first_matching_rule_is_reported(void **state)
{
	static const char two_allows[] =
	    "[rule:a1]\nusers = alice\nkinds = *\nlink_under = /srv\ntarget_under = *\naction = allow\n"
	    "[rule:a2]\ngroups = devs\nkinds = *\nlink_under = /srv\ntarget_under = *\naction = allow\n";
	struct lb_policy *p = load(LB_FLAVOR_POSIX, two_allows);

	(void)state;
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/srv/x", "/y"), "allow:a1");
	lb_policy_free(p);
}

static void
test_under_means_whole_components(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX, posix_policy);

	(void)state;
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/srv/work2/l", "/home/alice/t"), "deny:no rule");
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/src2/l", "/home/alice/t"), "deny:no rule");
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/src/l", "/home/alicex/t"), "deny:no rule");
	/* ".." is resolved before the check, not compared as text */
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/src/../../bob/src/l", "/home/alice/t"),
	    "deny:no rule");
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/srv/work/a/../../work/l", "/home/alice/t"),
	    "allow:dev");
	lb_policy_free(p);
}

static void
test_relative_target_resolves_against_link_parent(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX, posix_policy);

	(void)state;
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/src/l", "../notes"), "allow:dev");
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/src/l", "../../bob/x"), "deny:no rule");
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/home/alice/src/l", "../../../../../../x"),
	    "error:-41");
	/* hard links must name their target absolutely */
	assert_string_equal(decide(p, &alice, LB_KIND_HARDLINK, "/srv/work/h", "f"), "error:-39");
	lb_policy_free(p);
}

static void
test_expansion_follows_the_client(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX,
	    "[rule:own]\nusers = *\nkinds = symlink\nlink_under = /srv/%USER%\ntarget_under = /srv/%USER%\naction = allow\n");
	struct who evil = { "..", "1002", "/home/x", { { NULL, NULL, 0 } }, 0 };
	struct who slash = { "a/b", "1003", "/home/x", { { NULL, NULL, 0 } }, 0 };

	(void)state;
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/srv/alice/l", "/srv/alice/t"), "allow:own");
	assert_string_equal(decide(p, &bob, LB_KIND_SYMLINK, "/srv/alice/l", "/srv/alice/t"), "deny:no rule");
	assert_string_equal(decide(p, &bob, LB_KIND_SYMLINK, "/srv/bob/l", "/srv/bob/t"), "allow:own");
	/* a user name that is not one plain component never expands */
	assert_string_equal(decide(p, &evil, LB_KIND_SYMLINK, "/srv/l", "/srv/t"), "deny:no rule");
	assert_string_equal(decide(p, &slash, LB_KIND_SYMLINK, "/srv/a/b/l", "/srv/a/b/t"), "deny:no rule");
	lb_policy_free(p);
}

static void
test_unexpandable_deny_rule_fails_closed(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX,
	    "[rule:yes]\nusers = *\nkinds = *\nlink_under = /srv\ntarget_under = *\naction = allow\n"
	    "[rule:no-home]\nusers = *\nkinds = *\nlink_under = %HOME%/private\naction = deny\n");
	struct who homeless = { "carol", "1004", NULL, { { NULL, NULL, 0 } }, 0 };

	(void)state;
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/srv/x", "/t"), "allow:yes");
	assert_string_equal(decide(p, &homeless, LB_KIND_SYMLINK, "/srv/x", "/t"), "deny:no-home");
	lb_policy_free(p);
}

static void
test_posix_floors_cannot_be_lifted(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX,
	    "[broker]\naudit_log = /var/log/lb/audit.log\nservice_key = /var/lib/lbkeys/service.key\n"
	    "[rule:all]\nusers = *\nkinds = *\nlink_under = *\ntarget_under = *\naction = allow\n");
	static const char *const floors[] = {
		"/etc/x", "/etc", "/proc/self/x", "/sys/x", "/dev/x", "/boot/x", "/var/log/lb/x",
		"/var/lib/lbkeys/x", "/etc/linkbroker/x", "/run/linkbroker/x", "/tmp/../etc/passwd",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(floors) / sizeof(floors[0]); i++)
		if (strcmp(decide(p, &alice, LB_KIND_SYMLINK, floors[i], "/tmp/t"), "deny:floor") != 0)
			fail_msg("link at %s was not stopped by a floor", floors[i]);
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/etcetera/x", "/tmp/t"), "allow:all");
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/tmp/x", "/etc/shadow"), "allow:all");
	/* a hard link to a file in the system tree is never made */
	assert_string_equal(decide(p, &alice, LB_KIND_HARDLINK, "/tmp/x", "/etc/shadow"), "deny:floor");
	/* junction targets must be absolute */
	assert_string_equal(decide(p, &alice, LB_KIND_JUNCTION, "/tmp/x", "rel/dir"), "deny:floor");
	assert_string_equal(decide(p, &alice, LB_KIND_JUNCTION, "/tmp/x", "/srv/dir"), "allow:all");
	/* the root itself cannot become a link */
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "/", "/tmp"), "error:-2");
	assert_string_equal(decide(p, &alice, LB_KIND_SYMLINK, "relative/l", "/tmp"), "error:-39");
	lb_policy_free(p);
}

static const struct who walice = {
	"Alice", "S-1-5-21-11-22-33-1001", "C:\\Users\\Alice",
	{ { "Developers", "S-1-5-21-11-22-33-2001", 0 }, { "Guests", "S-1-5-32-546", 1 } }, 2,
};

static const char win_policy[] =
    "[rule:dev]\n"
    "users = alice\n"
    "kinds = symlink, dirsymlink, junction\n"
    "link_under = %USERPROFILE%\\src, D:\\work\\%USERNAME%\n"
    "target_under = %USERPROFILE%, D:\\shared\n"
    "action = allow\n"
    "[rule:by-sid]\n"
    "users = S-1-5-21-11-22-33-1001\n"
    "kinds = hardlink\n"
    "link_under = E:\\x\n"
    "target_under = E:\\x\n"
    "action = allow\n"
    "[rule:guests-allow]\n"
    "groups = guests\n"
    "kinds = *\n"
    "link_under = F:\\\n"
    "target_under = *\n"
    "action = allow\n"
    "[rule:guests-deny]\n"
    "groups = S-1-5-32-546\n"
    "kinds = *\n"
    "link_under = G:\\\n"
    "action = deny\n"
    "[rule:dev-group]\n"
    "groups = developers\n"
    "kinds = *\n"
    "link_under = G:\\\n"
    "target_under = *\n"
    "action = allow\n";

static void
test_windows_names_and_paths_compare_case_insensitively(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS, win_policy);

	(void)state;
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "c:\\users\\ALICE\\SRC\\l", "C:\\USERS\\alice\\t"),
	    "allow:dev");
	assert_string_equal(decide(p, &walice, LB_KIND_JUNCTION, "d:/work/alice/l", "d:\\Shared\\x"), "allow:dev");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\Users\\Alice\\src2\\l", "C:\\Users\\Alice\\t"),
	    "deny:no rule");
	lb_policy_free(p);
}

/* Finding 12: a deny rule written in one case holds for a link written in
 * the other, for every case pair NTFS folds (the letters the finding named);
 * what NTFS keeps apart (ǅ and Ǆ, ß and ẞ) the policy keeps apart too. */
static void
test_windows_deny_rule_holds_in_every_case_ntfs_folds(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS,
	    "[rule:all]\nusers = *\nkinds = *\nlink_under = D:\\\ntarget_under = *\naction = allow\n"
	    "[rule:greek]\nusers = *\nkinds = *\nlink_under = D:\\\xce\x86\xce\xa3\xce\xa4\xce\x99\xce\x91\naction = deny\n"
	    "[rule:cyrillic]\nusers = *\nkinds = *\nlink_under = D:\\\xd2\x91\xd0\xb0\xd0\xbd\xd0\xbe\xd0\xba\naction = deny\n"
	    "[rule:digraph]\nusers = *\nkinds = *\nlink_under = D:\\\xc7\x84\naction = deny\n"
	    "[rule:vietnamese]\nusers = *\nkinds = *\nlink_under = D:\\\xe1\xba\xa0i\naction = deny\n"
	    "[rule:fullwidth]\nusers = *\nkinds = *\nlink_under = D:\\\xef\xbc\xa1\xef\xbc\xa2\naction = deny\n"
	    "[rule:roman]\nusers = *\nkinds = *\nlink_under = D:\\vol-\xe2\x85\xa0\naction = deny\n"
	    "[rule:sharp-s]\nusers = *\nkinds = *\nlink_under = D:\\\xe1\xba\x9e\naction = deny\n");

	(void)state;
	/* ΆΣΤΙΑ denied as άστια, and as άςτια with a final sigma */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\\xce\xac\xcf\x83\xcf\x84\xce\xb9\xce\xb1\\l", "C:\\t"),
	    "deny:greek");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\\xce\xac\xcf\x82\xcf\x84\xce\xb9\xce\xb1\\l", "C:\\t"),
	    "deny:greek");
	/* ґанок denied as ҐАНОК */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\\xd2\x90\xd0\x90\xd0\x9d\xd0\x9e\xd0\x9a\\l", "C:\\t"),
	    "deny:cyrillic");
	/* Ǆ denied as ǆ; ǅ is another name on NTFS too */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\\xc7\x86\\l", "C:\\t"), "deny:digraph");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\\xc7\x85\\l", "C:\\t"), "allow:all");
	/* Ại denied as ạI */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\\xe1\xba\xa1I\\l", "C:\\t"), "deny:vietnamese");
	/* ＡＢ denied as ａｂ, not as the ASCII ab */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\\xef\xbd\x81\xef\xbd\x82\\l", "C:\\t"),
	    "deny:fullwidth");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\ab\\l", "C:\\t"), "allow:all");
	/* vol-Ⅰ denied as VOL-ⅰ */
	assert_string_equal(decide(p, &walice, LB_KIND_JUNCTION, "D:\\VOL-\xe2\x85\xb0\\j", "C:\\t"), "deny:roman");
	/* ẞ's small letter ß upper-cases to "SS" (two units): NTFS keeps them apart */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\\xc3\x9f\\l", "C:\\t"), "allow:all");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\\xe1\xba\x9e\\l", "C:\\t"), "deny:sharp-s");
	lb_policy_free(p);
}

static void
test_windows_principal_by_sid_and_group(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS, win_policy);
	struct who impostor = { "mallory", "S-1-5-21-11-22-33-1666", "C:\\Users\\mallory",
		{ { "alice", NULL, 0 } }, 1 };

	(void)state;
	assert_string_equal(decide(p, &walice, LB_KIND_HARDLINK, "E:\\x\\h", "E:\\x\\f"), "allow:by-sid");
	assert_string_equal(decide(p, &impostor, LB_KIND_HARDLINK, "E:\\x\\h", "E:\\x\\f"), "deny:no rule");
	/* a group named like a user does not make one that user */
	assert_string_equal(decide(p, &impostor, LB_KIND_SYMLINK, "D:\\work\\alice\\l", "D:\\shared\\x"),
	    "deny:no rule");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "G:\\l", "C:\\t"), "deny:guests-deny");
	lb_policy_free(p);
}

static void
test_deny_only_group_never_allows_but_still_denies(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS, win_policy);

	(void)state;
	/* walice is in Guests only as deny-only: guests-allow must not apply */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "F:\\l", "C:\\t"), "deny:no rule");
	/* ...but the deny rule naming that group does */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "G:\\l", "C:\\t"), "deny:guests-deny");
	lb_policy_free(p);
}

static void
test_windows_floors(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS,
	    "[rule:all]\nusers = *\nkinds = *\nlink_under = *\ntarget_under = *\naction = allow\n");

	(void)state;
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\Windows\\System32\\x", "C:\\t"), "deny:floor");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "c:\\WINDOWS\\x", "C:\\t"), "deny:floor");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\ProgramData\\LinkBroker\\x", "C:\\t"),
	    "deny:floor");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\Windows2\\x", "C:\\t"), "allow:all");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "\\\\srv\\share\\x", "C:\\t"), "deny:floor");
	assert_string_equal(decide(p, &walice, LB_KIND_JUNCTION, "C:\\j", "\\\\srv\\share\\d"), "deny:floor");
	assert_string_equal(decide(p, &walice, LB_KIND_JUNCTION, "C:\\j", "..\\d"), "deny:floor");
	assert_string_equal(decide(p, &walice, LB_KIND_JUNCTION, "C:\\j", "\\d"), "deny:floor");
	assert_string_equal(decide(p, &walice, LB_KIND_JUNCTION, "C:\\j", "D:\\d"), "allow:all");
	assert_string_equal(decide(p, &walice, LB_KIND_HARDLINK, "C:\\h", "C:\\Windows\\System32\\cmd.exe"),
	    "deny:floor");
	/* "*" is every local path: a share is allowed only where a rule names it */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\l", "\\\\srv\\share\\d"), "deny:no rule");
	/* "\x" on a symlink means the link's own drive */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "D:\\l", "\\x"), "allow:all");
	lb_policy_free(p);
}

/* Loopback and admin shares reach local folders past the rules written for
 * them (\\localhost\D$\secret is D:\secret): "*" in an allow rule never
 * matches a UNC path; a rule that names the share does, and deny rules'
 * "*" still match everything. */
static void
test_unc_targets_need_a_rule_that_names_them(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS,
	    "[rule:all]\nusers = *\nkinds = *\nlink_under = *\ntarget_under = *\naction = allow\n"
	    "[rule:no-secret]\nusers = *\nkinds = *\ntarget_under = D:\\secret\naction = deny\n"
	    "[rule:share]\nusers = *\nkinds = symlink\nlink_under = C:\\work\n"
	    "target_under = \\\\files\\proj\naction = allow\n"
	    "[rule:no-share-x]\nusers = *\nkinds = *\nlink_under = *\ntarget_under = \\\\files\\proj\\x\n"
	    "action = deny\n");

	(void)state;
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\work\\l", "D:\\secret\\a"),
	    "deny:no-secret");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\work\\l", "\\\\localhost\\D$\\secret\\a"),
	    "deny:no rule");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\work\\l", "\\\\127.0.0.1\\d$\\secret\\a"),
	    "deny:no rule");
	assert_string_equal(decide(p, &walice, LB_KIND_DIRSYMLINK, "C:\\l", "\\\\srv\\share\\d"), "deny:no rule");
	/* named by a rule: allowed there, and only for what that rule allows */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\work\\l", "\\\\FILES\\proj\\a"),
	    "allow:share");
	assert_string_equal(decide(p, &walice, LB_KIND_DIRSYMLINK, "C:\\work\\l", "\\\\files\\proj\\a"),
	    "deny:no rule");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\work\\l", "\\\\files\\proj\\x\\y"),
	    "deny:no-share-x");
	/* local targets are unchanged */
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\work\\l", "D:\\open\\a"), "allow:all");
	lb_policy_free(p);
}

/* On POSIX -d and -j make the same symbolic link as a plain request: a
 * deny rule on symlink holds for them too, and they need symlinks to be
 * allowed where they are made. */
static void
test_posix_directory_links_are_decided_as_the_symlinks_they_are(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX,
	    "[rule:dirs]\nusers = alice\nkinds = dirsymlink, junction\nlink_under = /srv\n"
	    "target_under = /srv\naction = allow\n"
	    "[rule:syms]\nusers = alice\nkinds = symlink\nlink_under = /srv/both\n"
	    "target_under = /srv\naction = allow\n"
	    "[rule:no-sym]\nusers = *\nkinds = symlink\nlink_under = /srv/both/nosym\naction = deny\n");

	(void)state;
	assert_string_equal(decide(p, &alice, LB_KIND_DIRSYMLINK, "/srv/both/d", "/srv/t"), "allow:dirs");
	assert_string_equal(decide(p, &alice, LB_KIND_JUNCTION, "/srv/both/j", "/srv/t"), "allow:dirs");
	assert_string_equal(decide(p, &alice, LB_KIND_DIRSYMLINK, "/srv/both/nosym/d", "/srv/t"),
	    "deny:no-sym");
	assert_string_equal(decide(p, &alice, LB_KIND_JUNCTION, "/srv/both/nosym/j", "/srv/t"),
	    "deny:no-sym");
	/* symlinks not allowed there: neither is what -d would make */
	assert_string_equal(decide(p, &alice, LB_KIND_DIRSYMLINK, "/srv/only-dirs/d", "/srv/t"),
	    "deny:no rule");
	lb_policy_free(p);
	/* Windows keeps the kinds apart: they are different objects there. */
	p = load(LB_FLAVOR_WINDOWS,
	    "[rule:dirs]\nusers = alice\nkinds = dirsymlink\nlink_under = C:\\srv\n"
	    "target_under = C:\\srv\naction = allow\n"
	    "[rule:no-sym]\nusers = *\nkinds = symlink\nlink_under = C:\\srv\\nosym\naction = deny\n");
	assert_string_equal(decide(p, &walice, LB_KIND_DIRSYMLINK, "C:\\srv\\nosym\\d", "C:\\srv\\t"),
	    "allow:dirs");
	lb_policy_free(p);
}

static void
test_floor_added_at_run_time(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS,
	    "[rule:all]\nusers = *\nkinds = *\nlink_under = *\ntarget_under = *\naction = allow\n");

	(void)state;
	assert_int_equal(lb_policy_add_floor(p, "D:\\WinNT", "the system tree"), LB_OK);
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "d:\\winnt\\x", "C:\\t"), "deny:floor");
	assert_int_equal(lb_policy_add_floor(p, "relative", "x"), LB_E_PATH_RELATIVE);
	lb_policy_free(p);
}

static void
test_bad_paths_are_input_errors(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS, win_policy);

	(void)state;
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\Users\\Alice\\src\\CON", "C:\\t"), "error:-35");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\Users\\Alice\\src\\a:b", "C:\\t"), "error:-34");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "\\\\?\\C:\\Users\\Alice\\src\\l", "C:\\t"),
	    "error:-33");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\Users\\Alice\\src\\l", "C:\\t."), "error:-36");
	assert_string_equal(decide(p, &walice, LB_KIND_SYMLINK, "C:\\Users\\Alice\\src\\l", "C:\\..\\t"), "error:-41");
	lb_policy_free(p);
}

static void
test_describe_names_rule_or_reason(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX, posix_policy);
	struct lb_principal pr = { "alice", "1000", "/home/alice", alice.groups, 1, NULL };
	struct lb_decision d;
	struct lb_path l, t;
	struct lb_buf b;
	const char *which, *s;

	(void)state;
	lb_buf_init(&b, 1024);
	assert_int_equal(lb_policy_decide_strings(p, &pr, LB_KIND_SYMLINK, "/srv/work/secret/x", 18,
	    "/tmp", 4, &d, &l, &t, &which), LB_OK);
	assert_int_equal(lb_decision_describe(&d, &b), LB_OK);
	assert_int_equal(lb_buf_cstr(&b, &s), LB_OK);
	assert_string_equal(s, "denied by rule \"no-secret\"");
	lb_path_free(&l);
	lb_path_free(&t);
	lb_buf_reset(&b);
	assert_int_equal(lb_policy_decide_strings(p, &pr, LB_KIND_SYMLINK, "/etc/x", 6,
	    "/tmp", 4, &d, &l, &t, &which), LB_OK);
	assert_int_equal(lb_decision_describe(&d, &b), LB_OK);
	assert_int_equal(lb_buf_cstr(&b, &s), LB_OK);
	assert_string_equal(s, "built-in floor: links are never created inside the system tree (/etc)");
	lb_path_free(&l);
	lb_path_free(&t);
	lb_buf_free(&b);
	lb_policy_free(p);
}

static void
test_many_rules_index_finds_each_user(void **state)
{
	struct lb_buf text;
	struct lb_policy *p;
	const char *s;
	char user[32], link[64];
	struct who w = { NULL, NULL, "/home/x", { { "g7", NULL, 0 } }, 1 };
	int i;

	(void)state;
	lb_buf_init(&text, 1 << 20);
	for (i = 0; i < 2000; i++)
		assert_int_equal(lb_buf_printf(&text,
		    "[rule:r%d]\nusers = u%d\ngroups = g%d\nkinds = symlink\nlink_under = /srv/%d\n"
		    "target_under = *\naction = allow\n", i, i, i % 50, i), LB_OK);
	assert_int_equal(lb_buf_cstr(&text, &s), LB_OK);
	p = load(LB_FLAVOR_POSIX, s);
	for (i = 0; i < 2000; i += 97) {
		snprintf(user, sizeof(user), "u%d", i);
		snprintf(link, sizeof(link), "/srv/%d/l", i);
		w.user = user;
		assert_int_equal(strncmp(decide(p, &w, LB_KIND_SYMLINK, link, "/t"), "allow:", 6), 0);
	}
	/* group g7 reaches rules 7, 57, 107, ... */
	w.user = "nobody";
	assert_string_equal(decide(p, &w, LB_KIND_SYMLINK, "/srv/57/l", "/t"), "allow:r57");
	assert_string_equal(decide(p, &w, LB_KIND_SYMLINK, "/srv/58/l", "/t"), "deny:no rule");
	lb_policy_free(p);
	lb_buf_free(&text);
}

static void
test_case_fold_never_maps_non_ascii_to_ascii(void **state)
{
	/* The principal index relies on this (see lb_ix_hash). */
	char a[2] = { 0, 0 }, u[8];
	uint32_t cp;
	int c;

	(void)state;
	/* The fold itself, every code point; then whole names, through the
	 * comparison the index is consistent with. */
	for (cp = 0x80; cp <= 0x10FFFF; cp++)
		if (lb_path_upcase(cp) < 0x80)
			fail_msg("U+%04X upper-cases to ASCII", (unsigned)cp);
	for (cp = 0x80; cp < 0x3000; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		if (cp < 0x800) {
			u[0] = (char)(0xC0 | (cp >> 6));
			u[1] = (char)(0x80 | (cp & 0x3F));
			u[2] = '\0';
		} else {
			u[0] = (char)(0xE0 | (cp >> 12));
			u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
			u[2] = (char)(0x80 | (cp & 0x3F));
			u[3] = '\0';
		}
		for (c = 0x20; c < 0x7F; c++) {
			a[0] = (char)c;
			if (lb_name_equal(LB_FLAVOR_WINDOWS, a, u) == 0)
				fail_msg("U+%04X folds to ASCII '%c'", (unsigned)cp, c);
		}
	}
}


/* Windows account names with their domain: a qualified entry names the
 * account of that domain only, a bare one the account of that name in any
 * domain (as before qualified names existed). */
static const char dom_policy[] =
    "[rule:corp-dev]\n"
    "groups = CORP\\developers\n"
    "kinds = *\nlink_under = H:\\\ntarget_under = *\naction = allow\n"
    "[rule:any-dev]\n"
    "groups = developers\n"
    "kinds = *\nlink_under = I:\\\ntarget_under = *\naction = allow\n"
    "[rule:corp-alice]\n"
    "users = corp\\ALICE\n"
    "kinds = *\nlink_under = J:\\%USERNAME%\ntarget_under = *\naction = allow\n"
    "[rule:local-bob]\n"
    "users = WS01\\bob\n"
    "kinds = *\nlink_under = K:\\\ntarget_under = *\naction = allow\n"
    "[rule:no-admins]\n"
    "groups = BUILTIN\\Administrators\n"
    "kinds = *\nlink_under = L:\\\naction = deny\n"
    "[rule:all-l]\n"
    "users = *\n"
    "kinds = *\nlink_under = L:\\\ntarget_under = *\naction = allow\n";

static const struct who corp_alice = { "alice", "S-1-5-21-1-2-3-1001", "C:\\Users\\alice",
	{ { "CORP\\Developers", "S-1-5-21-1-2-3-1105", 0 }, { "BUILTIN\\Administrators", "S-1-5-32-544", 0 } }, 2 };
static const struct who other_alice = { "Alice", "S-1-5-21-7-8-9-1001", "C:\\Users\\alice.OTHER",
	{ { "OTHER\\developers", "S-1-5-21-7-8-9-1105", 0 }, { "OTHER\\Administrators", "S-1-5-21-7-8-9-544", 0 } }, 2 };
static const struct who local_bob = { "BOB", "S-1-5-21-4-4-4-1002", "C:\\Users\\bob",
	{ { "WS01\\developers", "S-1-5-21-4-4-4-1010", 0 }, { "Everyone", "S-1-1-0", 0 } }, 2 };
static const struct who bare_dev = { "dave", NULL, "C:\\Users\\dave",
	{ { "developers", NULL, 0 }, { "Administrators", NULL, 0 } }, 2 };

static void
test_qualified_group_matches_only_its_domain(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS, dom_policy);

	(void)state;
	assert_string_equal(decide_in(p, &corp_alice, "CORP", LB_KIND_SYMLINK, "H:\\l", "C:\\t"), "allow:corp-dev");
	assert_string_equal(decide_in(p, &other_alice, "OTHER", LB_KIND_SYMLINK, "H:\\l", "C:\\t"), "deny:no rule");
	assert_string_equal(decide_in(p, &local_bob, "WS01", LB_KIND_SYMLINK, "H:\\l", "C:\\t"), "deny:no rule");
	/* A group whose domain is not known is not that domain's group. */
	assert_string_equal(decide(p, &bare_dev, LB_KIND_SYMLINK, "H:\\l", "C:\\t"), "deny:no rule");
	/* A bare name still matches every domain's group of that name. */
	assert_string_equal(decide_in(p, &corp_alice, "CORP", LB_KIND_SYMLINK, "I:\\l", "C:\\t"), "allow:any-dev");
	assert_string_equal(decide_in(p, &other_alice, "OTHER", LB_KIND_SYMLINK, "I:\\l", "C:\\t"), "allow:any-dev");
	assert_string_equal(decide_in(p, &local_bob, "WS01", LB_KIND_SYMLINK, "I:\\l", "C:\\t"), "allow:any-dev");
	assert_string_equal(decide(p, &bare_dev, LB_KIND_SYMLINK, "I:\\l", "C:\\t"), "allow:any-dev");
	/* A deny rule naming BUILTIN\Administrators leaves OTHER\Administrators alone. */
	assert_string_equal(decide_in(p, &corp_alice, "CORP", LB_KIND_SYMLINK, "L:\\l", "C:\\t"), "deny:no-admins");
	assert_string_equal(decide_in(p, &other_alice, "OTHER", LB_KIND_SYMLINK, "L:\\l", "C:\\t"), "allow:all-l");
	lb_policy_free(p);
}

static void
test_qualified_user_matches_only_its_domain(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_WINDOWS, dom_policy);

	(void)state;
	/* corp\ALICE is CORP\alice (case-insensitive, both parts); %USERNAME%
	 * is the bare name. */
	assert_string_equal(decide_in(p, &corp_alice, "CORP", LB_KIND_SYMLINK, "J:\\alice\\l", "C:\\t"),
	    "allow:corp-alice");
	assert_string_equal(decide_in(p, &corp_alice, "Corp", LB_KIND_SYMLINK, "J:\\ALICE\\l", "C:\\t"),
	    "allow:corp-alice");
	assert_string_equal(decide_in(p, &corp_alice, "CORP", LB_KIND_SYMLINK, "J:\\CORP\\alice\\l", "C:\\t"),
	    "deny:no rule");
	assert_string_equal(decide_in(p, &other_alice, "OTHER", LB_KIND_SYMLINK, "J:\\alice\\l", "C:\\t"),
	    "deny:no rule");
	assert_string_equal(decide(p, &corp_alice, LB_KIND_SYMLINK, "J:\\alice\\l", "C:\\t"), "deny:no rule");
	assert_string_equal(decide_in(p, &local_bob, "ws01", LB_KIND_SYMLINK, "K:\\l", "C:\\t"), "allow:local-bob");
	assert_string_equal(decide_in(p, &local_bob, "WS02", LB_KIND_SYMLINK, "K:\\l", "C:\\t"), "deny:no rule");
	/* A domain that only starts like the policy's is another domain. */
	assert_string_equal(decide_in(p, &corp_alice, "CORPX", LB_KIND_SYMLINK, "J:\\alice\\l", "C:\\t"),
	    "deny:no rule");
	assert_string_equal(decide_in(p, &corp_alice, "COR", LB_KIND_SYMLINK, "J:\\alice\\l", "C:\\t"),
	    "deny:no rule");
	lb_policy_free(p);
}

static void
test_names_user_for_key_owners(void **state)
{
	struct lb_policy *w = load(LB_FLAVOR_WINDOWS, dom_policy);
	struct lb_policy *x = load(LB_FLAVOR_POSIX, posix_policy);
	struct lb_principal corp = { "alice", "S-1-5-21-1-2-3-1001", NULL, NULL, 0, "CORP" };
	struct lb_principal nodom = { "alice", "S-1-5-21-1-2-3-1001", NULL, NULL, 0, NULL };
	struct lb_principal winbind = { "CORP\\alice", "1000", NULL, NULL, 0, NULL };

	(void)state;
	/* [key:X] user = ... through the same test as users = ... */
	assert_true(lb_policy_names_user(w, "alice", &corp));
	assert_true(lb_policy_names_user(w, "ALICE", &corp));
	assert_true(lb_policy_names_user(w, "CORP\\alice", &corp));
	assert_true(lb_policy_names_user(w, "corp\\Alice", &corp));
	assert_false(lb_policy_names_user(w, "OTHER\\alice", &corp));
	assert_false(lb_policy_names_user(w, "CORP\\bob", &corp));
	assert_false(lb_policy_names_user(w, "CORP\\alice", &nodom));
	assert_true(lb_policy_names_user(w, "alice", &nodom));
	assert_true(lb_policy_names_user(w, "s-1-5-21-1-2-3-1001", &corp));
	assert_false(lb_policy_names_user(w, "S-1-5-21-1-2-3-1002", &corp));
	/* POSIX: whole names, byte for byte; the domain is never looked at. */
	assert_true(lb_policy_names_user(x, "CORP\\alice", &winbind));
	assert_false(lb_policy_names_user(x, "alice", &winbind));
	assert_false(lb_policy_names_user(x, "CORP\\alice", &corp));
	assert_true(lb_policy_names_user(x, "alice", &corp));
	assert_false(lb_policy_names_user(NULL, "alice", &corp));
	assert_false(lb_policy_names_user(w, NULL, &corp));
	lb_policy_free(w);
	lb_policy_free(x);
}

static void
test_posix_backslash_is_part_of_the_name(void **state)
{
	struct lb_policy *p = load(LB_FLAVOR_POSIX,
	    "[rule:wb]\ngroups = CORP\\developers\nkinds = *\nlink_under = /srv\ntarget_under = *\naction = allow\n");
	struct who wb = { "u", "1000", "/home/u", { { "CORP\\developers", NULL, 0 } }, 1 };
	struct who plain = { "u", "1000", "/home/u", { { "developers", NULL, 0 } }, 1 };
	struct who other = { "u", "1000", "/home/u", { { "OTHER\\developers", NULL, 0 } }, 1 };

	(void)state;
	assert_string_equal(decide(p, &wb, LB_KIND_SYMLINK, "/srv/l", "/t"), "allow:wb");
	assert_string_equal(decide(p, &plain, LB_KIND_SYMLINK, "/srv/l", "/t"), "deny:no rule");
	assert_string_equal(decide(p, &other, LB_KIND_SYMLINK, "/srv/l", "/t"), "deny:no rule");
	lb_policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_deny_without_rules),
		cmocka_unit_test(test_allow_rule_allows_its_user_kind_and_paths),
		cmocka_unit_test(test_deny_overrides_allow_in_any_order),
		cmocka_unit_test(test_first_matching_rule_is_reported),
		cmocka_unit_test(test_under_means_whole_components),
		cmocka_unit_test(test_relative_target_resolves_against_link_parent),
		cmocka_unit_test(test_expansion_follows_the_client),
		cmocka_unit_test(test_unexpandable_deny_rule_fails_closed),
		cmocka_unit_test(test_posix_floors_cannot_be_lifted),
		cmocka_unit_test(test_windows_names_and_paths_compare_case_insensitively),
		cmocka_unit_test(test_windows_deny_rule_holds_in_every_case_ntfs_folds),
		cmocka_unit_test(test_windows_principal_by_sid_and_group),
		cmocka_unit_test(test_deny_only_group_never_allows_but_still_denies),
		cmocka_unit_test(test_windows_floors),
		cmocka_unit_test(test_unc_targets_need_a_rule_that_names_them),
		cmocka_unit_test(test_posix_directory_links_are_decided_as_the_symlinks_they_are),
		cmocka_unit_test(test_floor_added_at_run_time),
		cmocka_unit_test(test_bad_paths_are_input_errors),
		cmocka_unit_test(test_describe_names_rule_or_reason),
		cmocka_unit_test(test_many_rules_index_finds_each_user),
		cmocka_unit_test(test_case_fold_never_maps_non_ascii_to_ascii),
		cmocka_unit_test(test_qualified_group_matches_only_its_domain),
		cmocka_unit_test(test_qualified_user_matches_only_its_domain),
		cmocka_unit_test(test_names_user_for_key_owners),
		cmocka_unit_test(test_posix_backslash_is_part_of_the_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
