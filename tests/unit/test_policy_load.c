/* Policy loader: every error class reported with the right line number, and
 * valid policies loaded into the model as written. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lb_policy.h"

#define KEY_A "9QGmOrmYCbHv1yvh9ptZyRkS1e7+T8tNXFLKvkjA0Ug="
#define KEY_B "0TWSFOEKFzW2G1/6wWCZTb3EDCapdeZdmIHE1TLaDhk="

/* Load TEXT; return the error message (static buffer) or "" on success. */
static const char *
load_msg(enum lb_flavor flavor, const char *text, size_t len)
{
	static char msg[1024];
	struct lb_policy *p = NULL;
	struct lb_buf err;
	const char *s;
	int r;

	lb_buf_init(&err, 4096);
	r = lb_policy_load_buffer("p.ini", text, len, flavor, &p, &err);
	msg[0] = '\0';
	if (r != LB_OK) {
		assert_int_equal(r, LB_E_CONFIG);
		assert_null(p);
		assert_int_equal(lb_buf_cstr(&err, &s), LB_OK);
		snprintf(msg, sizeof(msg), "%s", s);
	} else {
		assert_non_null(p);
		lb_policy_free(p);
	}
	lb_buf_free(&err);
	return msg;
}

static const char *
load_posix(const char *text)
{
	return load_msg(LB_FLAVOR_POSIX, text, strlen(text));
}

static const char *
load_win(const char *text)
{
	return load_msg(LB_FLAVOR_WINDOWS, text, strlen(text));
}

/* Assert that TEXT fails at LINE with a message containing WHAT. */
static void
expect_error(enum lb_flavor flavor, const char *text, unsigned line, const char *what)
{
	char prefix[64];
	const char *m = load_msg(flavor, text, strlen(text));

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "p.ini:%u: ", line);
	else
		snprintf(prefix, sizeof(prefix), "p.ini: ");
	if (strncmp(m, prefix, strlen(prefix)) != 0 || strstr(m, what) == NULL)
		fail_msg("expected '%s...%s', got '%s'", prefix, what, m);
}

#define RULE_OK "users = alice\nkinds = symlink\nlink_under = /home/alice\ntarget_under = *\naction = allow\n"

static void
test_valid_posix_policy_loads(void **state)
{
	(void)state;
	assert_string_equal(load_posix(
	    "; comment\n# comment\n\n[broker]\naudit_sync = always\nmax_clients = 8\n"
	    "[key:alice]\nuser = alice\npublic_key = " KEY_A "\n"
	    "[rule:r1]\n" RULE_OK), "");
}

static void
test_model_holds_what_was_written(void **state)
{
	struct lb_policy *p = NULL;
	const char *text =
	    "[broker]\naudit_log = /var/log/lb//x/../audit.log\nio_timeout_ms = 500\n"
	    "[key:k1]\nsid = S-1-5-21-1-2-3-1001\npublic_key = " KEY_A "\n"
	    "[rule:dev]\nusers = alice, bob\ngroups = devs\nkinds = symlink, junction\n"
	    "link_under = /srv/%USER%, /tmp\ntarget_under = *\naction = allow\n";

	(void)state;
	assert_int_equal(lb_policy_load_buffer("p.ini", text, strlen(text), LB_FLAVOR_POSIX,
	    &p, NULL), LB_OK);
	assert_string_equal(p->broker.audit_log, "/var/log/lb/audit.log");
	assert_int_equal(p->broker.io_timeout_ms, 500);
	assert_int_equal(p->broker.max_clients, 64);            /* default */
	assert_int_equal(p->broker.requests_per_sec, 1000);     /* default */
	assert_int_equal(p->broker.requests_burst, 10000);      /* default */
	assert_int_equal(p->broker.audit_sync, LB_AUDIT_SYNC_BATCH);
	assert_int_equal(p->n_keys, 1);
	assert_string_equal(p->keys[0].sid, "S-1-5-21-1-2-3-1001");
	assert_null(p->keys[0].user);
	assert_int_equal(p->keys[0].line, 4);
	assert_int_equal(p->n_rules, 1);
	assert_string_equal(p->rules[0].name, "dev");
	assert_int_equal(p->rules[0].line, 7);
	assert_int_equal(p->rules[0].n_users, 2);
	assert_string_equal(p->rules[0].users[1], "bob");
	assert_int_equal(p->rules[0].kinds, (1u << LB_KIND_SYMLINK) | (1u << LB_KIND_JUNCTION));
	assert_int_equal(p->rules[0].n_link_under, 2);
	assert_true(p->rules[0].link_under[0].has_vars);
	assert_string_equal(p->rules[0].link_under[1].path.s, "/tmp");
	assert_true(p->rules[0].target_under[0].any);
	assert_int_equal(p->rules[0].action, LB_ACTION_ALLOW);
	lb_policy_free(p);
}

static void
test_example_policies_load(void **state)
{
	struct lb_policy *p = NULL;
	struct lb_buf err;

	(void)state;
	lb_buf_init(&err, 4096);
	assert_int_equal(lb_policy_load_file(LB_TEST_DATA_DIR "/../../config/examples/windows.ini",
	    LB_FLAVOR_WINDOWS, &p, &err), LB_OK);
	assert_int_equal(p->n_rules, 3);
	lb_policy_free(p);
	assert_int_equal(lb_policy_load_file(LB_TEST_DATA_DIR "/../../config/examples/posix.ini",
	    LB_FLAVOR_POSIX, &p, &err), LB_OK);
	assert_int_equal(p->n_rules, 3);
	lb_policy_free(p);
	lb_buf_free(&err);
}

static void
test_missing_file_is_reported(void **state)
{
	struct lb_policy *p = NULL;
	struct lb_buf err;
	const char *s;

	(void)state;
	lb_buf_init(&err, 4096);
	assert_int_equal(lb_policy_load_file("/nonexistent/policy.ini", LB_FLAVOR_POSIX, &p, &err),
	    LB_E_CONFIG);
	assert_int_equal(lb_buf_cstr(&err, &s), LB_OK);
	assert_non_null(strstr(s, "/nonexistent/policy.ini: cannot open"));
	lb_buf_free(&err);
}

static void
test_unknown_section_reports_its_line(void **state)
{
	(void)state;
	expect_error(LB_FLAVOR_POSIX, "[broker]\n\n[brokr]\n", 3, "unknown section [brokr]");
	expect_error(LB_FLAVOR_POSIX, "[rules:x]\n", 1, "unknown section");
}

static void
test_unknown_key_reports_its_line(void **state)
{
	(void)state;
	expect_error(LB_FLAVOR_POSIX, "[broker]\nmax_clients = 3\naudit_logg = /x/y\n", 3,
	    "unknown key 'audit_logg' in [broker]");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nuser = alice\n", 2, "unknown key 'user' in [rule:a]");
	expect_error(LB_FLAVOR_POSIX, "[key:a]\nusers = alice\n", 2, "unknown key 'users' in [key:a]");
}

static void
test_duplicate_key_names_both_lines(void **state)
{
	(void)state;
	expect_error(LB_FLAVOR_POSIX, "[broker]\nmax_clients = 3\n; x\nmax_clients = 4\n", 4,
	    "duplicate key 'max_clients' (first set on line 2)");
}

static void
test_duplicate_sections_are_errors(void **state)
{
	(void)state;
	expect_error(LB_FLAVOR_POSIX, "[broker]\n[broker]\n", 2, "duplicate section [broker] (first on line 1)");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\n" RULE_OK "[rule:a]\n" RULE_OK, 7,
	    "duplicate section [rule:a] (first on line 1)");
	expect_error(LB_FLAVOR_POSIX,
	    "[key:k]\nuser = a\npublic_key = " KEY_A "\n[key:k]\n", 4, "duplicate section [key:k]");
}

static void
test_key_outside_section(void **state)
{
	(void)state;
	expect_error(LB_FLAVOR_POSIX, "\nfoo = bar\n", 2, "'foo' is outside any section");
}

static void
test_bad_values_report_their_line(void **state)
{
	(void)state;
	expect_error(LB_FLAVOR_POSIX, "[broker]\nmax_clients = 0\n", 2, "max_clients");
	expect_error(LB_FLAVOR_POSIX, "[broker]\nrequests_per_sec = 0\n", 2, "requests_per_sec");
	expect_error(LB_FLAVOR_POSIX, "[broker]\nrequests_per_sec = 100001\n", 2, "requests_per_sec");
	expect_error(LB_FLAVOR_POSIX, "[broker]\n\nrequests_burst = 1000001\n", 3, "requests_burst");
	expect_error(LB_FLAVOR_POSIX, "[broker]\nmax_clients = 4097\n", 2, "max_clients");
	expect_error(LB_FLAVOR_POSIX, "[broker]\nmax_clients = 12x\n", 2, "max_clients");
	expect_error(LB_FLAVOR_POSIX, "[broker]\nmax_clients = -1\n", 2, "max_clients");
	expect_error(LB_FLAVOR_POSIX, "[broker]\nio_timeout_ms = 99999999999999999999\n", 2, "io_timeout_ms");
	expect_error(LB_FLAVOR_POSIX, "[broker]\naudit_sync = sometimes\n", 2, "audit_sync");
	expect_error(LB_FLAVOR_POSIX, "[broker]\naudit_log = relative/audit.log\n", 2, "audit_log");
	expect_error(LB_FLAVOR_POSIX, "[broker]\naudit_log = /audit.log\n", 2, "not the root");
	expect_error(LB_FLAVOR_WINDOWS, "[broker]\nendpoint = /run/x.sock\n", 2, "pipe name");
	expect_error(LB_FLAVOR_WINDOWS, "[broker]\naudit_log = \\\\srv\\share\\a.log\n", 2, "local absolute");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\naction = permit\n", 2, "action: expected allow or deny");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nkinds = symlink, softlink\n", 2, "'softlink'");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nkinds = symlink, *\n", 2, "kinds");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nusers = alice, , bob\n", 2, "empty list item");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nusers = alice, *\n", 2, "'*' must stand alone");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nusers = S-1-x\n", 2, "not a valid SID");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nlink_under = /home/../..\n", 2, "link_under");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nlink_under = home\n", 2, "path must be absolute");
	expect_error(LB_FLAVOR_WINDOWS, "[rule:a]\nlink_under = C:\\x\\CON\n", 2, "link_under");
	expect_error(LB_FLAVOR_WINDOWS, "[rule:a]\nlink_under = \\\\srv\\share\n", 2, "local drives");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nlink_under = /x/%HOMEDIR%\n", 2, "unknown variable");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nlink_under = /x/%HOME%\n", 2, "may only start a path");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nlink_under = %USER%/x\n", 2, "not absolute");
	expect_error(LB_FLAVOR_POSIX, "[rule:a]\nusers =\n", 2, "users: empty value");
	expect_error(LB_FLAVOR_POSIX, "[key:k]\npublic_key = abc\n", 2, "public_key");
	expect_error(LB_FLAVOR_POSIX, "[key:k]\nsid = alice\n", 2, "not a SID");
	expect_error(LB_FLAVOR_POSIX, "[key:k]\nuser = S-1-5-21-1\n", 2, "is a SID");
	expect_error(LB_FLAVOR_POSIX, "[key:k]\nuser = a\nsid = S-1-5-21-1\n", 3, "user or sid, not both");
	expect_error(LB_FLAVOR_POSIX, "[rule:bad name]\n", 1, "bad rule name");
	expect_error(LB_FLAVOR_POSIX, "[key:]\n", 1, "bad key name");
}

static void
test_incomplete_sections_report_the_header_line(void **state)
{
	(void)state;
	expect_error(LB_FLAVOR_POSIX, "[broker]\n\n[rule:r]\nusers = a\nkinds = *\naction = allow\n"
	    "target_under = *\n", 3, "[rule:r] allows without link_under");
	expect_error(LB_FLAVOR_POSIX, "[rule:r]\nusers = a\nkinds = *\naction = allow\n"
	    "link_under = *\n[broker]\n", 1, "[rule:r] allows without target_under");
	expect_error(LB_FLAVOR_POSIX, "[rule:r]\nusers = a\nkinds = *\nlink_under = *\n", 1,
	    "needs action");
	expect_error(LB_FLAVOR_POSIX, "[rule:r]\nkinds = *\naction = deny\n", 1, "needs users or groups");
	expect_error(LB_FLAVOR_POSIX, "[rule:r]\nusers = a\naction = deny\n", 1, "needs kinds");
	expect_error(LB_FLAVOR_POSIX, "[key:k]\nuser = a\n", 1, "[key:k] needs public_key");
	expect_error(LB_FLAVOR_POSIX, "[key:k]\npublic_key = " KEY_A "\n", 1, "needs user or sid");
	expect_error(LB_FLAVOR_POSIX, "[key:a]\nuser = a\npublic_key = " KEY_A "\n"
	    "[key:b]\nuser = b\npublic_key = " KEY_A "\n", 4, "same public key as [key:a] (line 1)");
}

static void
test_deny_rule_may_omit_paths(void **state)
{
	(void)state;
	assert_string_equal(load_posix("[rule:r]\nusers = a\nkinds = *\naction = deny\n"), "");
}

static void
test_syntax_errors_report_their_line(void **state)
{
	(void)state;
	expect_error(LB_FLAVOR_POSIX, "[broker]\nmax_clients 3\n", 2, "expected 'key = value'");
	expect_error(LB_FLAVOR_POSIX, "[broker]\nmax_clients: 3\n", 2, "not ':'");
	expect_error(LB_FLAVOR_POSIX, "[broker\n", 1, "without ']'");
	expect_error(LB_FLAVOR_POSIX, "[broker] junk\n", 1, "unexpected text after section header");
	expect_error(LB_FLAVOR_POSIX, "[broker]\n  max_clients = 3\n    continued\n", 3, "expected 'key = value'");
}

static void
test_hostile_bytes_are_errors_with_lines(void **state)
{
	static const char nul[] = "[broker]\nmax_clients = 3\0\n";
	static const char bad_utf8[] = "[broker]\n\n; \xC0\xAF\n";
	char *big;

	(void)state;
	expect_error(LB_FLAVOR_POSIX, "[broker]\nmax_clients = 3\x1b[31m\n", 2, "control character");
	assert_non_null(strstr(load_msg(LB_FLAVOR_POSIX, nul, sizeof(nul) - 1), "p.ini:2: control character"));
	assert_non_null(strstr(load_msg(LB_FLAVOR_POSIX, bad_utf8, sizeof(bad_utf8) - 1), "p.ini:3: invalid UTF-8"));
	expect_error(LB_FLAVOR_POSIX, "[broker]\rmax_clients = 3\n", 1, "carriage return");

	/* A line over the limit is an error on that line, never cut in two. */
	big = malloc(LB_POLICY_LINE_MAX + 64);
	assert_non_null(big);
	memset(big, 'a', LB_POLICY_LINE_MAX + 63);
	memcpy(big, "[broker]\n;", 10);
	big[LB_POLICY_LINE_MAX + 63] = '\0';
	expect_error(LB_FLAVOR_POSIX, big, 2, "line longer than");
	free(big);

	/* Section names inih would truncate are refused. */
	expect_error(LB_FLAVOR_POSIX,
	    "[rule:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", 1,
	    "section name too long");
}

static void
test_crlf_and_bom_are_accepted(void **state)
{
	(void)state;
	assert_string_equal(load_posix("\xEF\xBB\xBF[broker]\r\nmax_clients = 3\r\n"), "");
}

static void
test_policy_file_size_limit(void **state)
{
	char *big = malloc(LB_POLICY_FILE_MAX + 2);
	size_t i;

	(void)state;
	assert_non_null(big);
	for (i = 0; i < LB_POLICY_FILE_MAX + 1; i++)
		big[i] = (i % 64 == 63) ? '\n' : ';';
	assert_non_null(strstr(load_msg(LB_FLAVOR_POSIX, big, LB_POLICY_FILE_MAX + 1), "larger than"));
	assert_string_equal(load_msg(LB_FLAVOR_POSIX, big, LB_POLICY_FILE_MAX), "");
	free(big);
}

static void
test_windows_policy_paths_are_canonical(void **state)
{
	struct lb_policy *p = NULL;
	const char *text = "[rule:r]\nusers = alice\nkinds = *\nlink_under = c:/Work//x\\.\\y\n"
	    "target_under = \\\\srv\\share\\tools, %USERPROFILE%\naction = allow\n";

	(void)state;
	assert_string_equal(load_win(text), "");
	assert_int_equal(lb_policy_load_buffer("p.ini", text, strlen(text), LB_FLAVOR_WINDOWS, &p, NULL), LB_OK);
	assert_string_equal(p->rules[0].link_under[0].path.s, "C:\\Work\\x\\y");
	assert_string_equal(p->rules[0].target_under[0].path.s, "\\\\srv\\share\\tools");
	lb_policy_free(p);
}


/* Load a valid TEXT and return it (caller frees). */
static struct lb_policy *
load_ok(enum lb_flavor flavor, const char *text)
{
	struct lb_policy *p = NULL;

	assert_string_equal(load_msg(flavor, text, strlen(text)), "");
	assert_int_equal(lb_policy_load_buffer("p.ini", text, strlen(text), flavor, &p, NULL), LB_OK);
	return p;
}

static const char *
warnings(struct lb_policy *p)
{
	const char *s = "";

	if (p->warnings.len > 0)
		assert_int_equal(lb_buf_cstr(&p->warnings, &s), LB_OK);
	return s;
}

static void
test_windows_names_may_be_qualified_with_their_domain(void **state)
{
	struct lb_policy *p;

	(void)state;
	p = load_ok(LB_FLAVOR_WINDOWS,
	    "[key:a]\nuser = CORP\\alice\npublic_key = " KEY_A "\n"
	    "[rule:r]\nusers = CORP\\alice, WS01\\bob, carol\n"
	    "groups = CORP\\developers, BUILTIN\\Administrators, NT AUTHORITY\\INTERACTIVE, S-1-5-32-545\n"
	    "kinds = *\nlink_under = *\ntarget_under = *\naction = allow\n");
	/* Kept as written: the backslash is neither an escape nor a separator. */
	assert_string_equal(p->keys[0].user, "CORP\\alice");
	assert_int_equal(p->rules[0].n_users, 3);
	assert_string_equal(p->rules[0].users[1], "WS01\\bob");
	assert_int_equal(p->rules[0].n_groups, 4);
	assert_string_equal(p->rules[0].groups[2], "NT AUTHORITY\\INTERACTIVE");
	/* No bare group, no warning; a bare user name is not warned about. */
	assert_int_equal(p->n_warnings, 0);
	assert_string_equal(warnings(p), "");
	lb_policy_free(p);
}

static void
test_malformed_qualified_names_are_errors(void **state)
{
	(void)state;
	expect_error(LB_FLAVOR_WINDOWS, "[rule:r]\nkinds = *\nusers = \\alice\n", 3,
	    "users: '\\alice': nothing before the backslash");
	expect_error(LB_FLAVOR_WINDOWS, "[rule:r]\ngroups = a, CORP\\\n", 2,
	    "groups: 'CORP\\': nothing after the backslash");
	expect_error(LB_FLAVOR_WINDOWS, "[rule:r]\ngroups = A\\B\\C\n", 2, "more than one backslash");
	expect_error(LB_FLAVOR_WINDOWS, "[rule:r]\ngroups = CORP \\dev\n", 2, "a space next to the backslash");
	expect_error(LB_FLAVOR_WINDOWS, "[rule:r]\ngroups = CORP\\ dev\n", 2, "a space next to the backslash");
	expect_error(LB_FLAVOR_WINDOWS, "[rule:r]\nusers = .\\alice\n", 2, "write the computer's name");
	expect_error(LB_FLAVOR_WINDOWS, "[rule:r]\ngroups = BUILTIN\\S-1-5-32-544\n", 2,
	    "a SID stands alone");
	expect_error(LB_FLAVOR_WINDOWS, "[key:k]\nuser = CORP\\\n", 2,
	    "user: 'CORP\\': nothing after the backslash");
	/* POSIX names are not taken apart (winbind's DOMAIN\user is a name). */
	assert_string_equal(load_posix("[rule:r]\nusers = \\alice, A\\B\\C, CORP\\\n"
	    "groups = CORP\\developers\nkinds = *\naction = deny\n"), "");
}

static void
test_bare_group_in_windows_policy_is_a_warning(void **state)
{
	struct lb_policy *p;

	(void)state;
	p = load_ok(LB_FLAVOR_WINDOWS,
	    "[rule:r]\nusers = alice\ngroups = developers, CORP\\testers, S-1-5-32-544, everyone\n"
	    "kinds = *\naction = deny\n"
	    "[rule:s]\ngroups = *\nkinds = *\naction = deny\n");
	assert_int_equal(p->n_warnings, 2);
	assert_string_equal(warnings(p),
	    "p.ini:3: warning: groups: bare group name 'developers' matches a group of that name in "
	    "every domain and on this computer; write DOMAIN\\developers or the group's SID (S-1-...)\n"
	    "p.ini:3: warning: groups: bare group name 'everyone' also matches a group of that name "
	    "in any domain or on this computer; write its SID, S-1-1-0\n");
	lb_policy_free(p);
	/* The same policy in the POSIX flavour: group names have no domain. */
	p = load_ok(LB_FLAVOR_POSIX, "[rule:r]\ngroups = developers\nkinds = *\naction = deny\n");
	assert_int_equal(p->n_warnings, 0);
	assert_int_equal(p->warnings.len, 0);
	lb_policy_free(p);
}

static void
test_warnings_are_bounded_and_counted(void **state)
{
	struct lb_buf text;
	struct lb_policy *p = NULL;
	const char *s;
	size_t i, lines = 0;

	(void)state;
	/* 2,000 bare groups: more warnings than LB_POLICY_WARN_BYTES holds. */
	lb_buf_init(&text, LB_POLICY_FILE_MAX);
	assert_int_equal(lb_buf_put_cstr(&text, "[rule:r]\nkinds = *\naction = deny\ngroups = g0"), LB_OK);
	for (i = 1; i < 2000; i++) {
		if (i % 100 == 0)
			assert_int_equal(lb_buf_printf(&text,
			    "\n[rule:r%zu]\nkinds = *\naction = deny\ngroups = g%zu", i, i), LB_OK);
		else
			assert_int_equal(lb_buf_printf(&text, ", g%zu", i), LB_OK);
	}
	assert_int_equal(lb_buf_put_u8(&text, '\n'), LB_OK);
	assert_int_equal(lb_policy_load_buffer("p.ini", (const char *)text.data, text.len,
	    LB_FLAVOR_WINDOWS, &p, NULL), LB_OK);
	assert_int_equal(p->n_warnings, 2000);
	assert_true(p->warnings.len <= LB_POLICY_WARN_BYTES);
	s = warnings(p);
	for (; *s != '\0'; s++)
		lines += *s == '\n';
	assert_true(lines > 100);
	assert_true(lines < 2000);
	lb_policy_free(p);
	lb_buf_free(&text);
}

/* Set KEY = VALUE on a freshly loaded TEXT; returns the code, the message
 * in MSG, and the policy (caller frees) in *OUT. */
static int
set_broker(const char *text, const char *key, const char *value, char *msg, size_t n,
    struct lb_policy **out)
{
	struct lb_buf err;
	const char *s;
	int r;

	lb_buf_init(&err, 4096);
	assert_int_equal(lb_policy_load_buffer("p.ini", text, strlen(text), LB_FLAVOR_WINDOWS, out, &err), LB_OK);
	r = lb_policy_set_broker(*out, "GPO\\Value", key, value, &err);
	msg[0] = '\0';
	if (r != LB_OK) {
		assert_int_equal(lb_buf_cstr(&err, &s), LB_OK);
		snprintf(msg, n, "%s", s);
	}
	lb_buf_free(&err);
	return r;
}

static void
test_broker_setting_from_elsewhere_replaces_the_files(void **state)
{
	struct lb_policy *p = NULL;
	char msg[512];

	(void)state;
	assert_int_equal(set_broker("[broker]\nmax_clients = 8\naudit_sync = batch\n", "max_clients", "4096",
	    msg, sizeof(msg), &p), LB_OK);
	assert_int_equal(p->broker.max_clients, 4096);
	assert_int_equal(lb_policy_set_broker(p, "x", "audit_sync", "always", NULL), LB_OK);
	assert_int_equal(p->broker.audit_sync, LB_AUDIT_SYNC_ALWAYS);
	assert_int_equal(lb_policy_set_broker(p, "x", "requests_per_sec", "1", NULL), LB_OK);
	assert_int_equal(lb_policy_set_broker(p, "x", "requests_burst", "1000000", NULL), LB_OK);
	assert_int_equal(p->broker.requests_per_sec, 1);
	assert_int_equal(p->broker.requests_burst, 1000000);
	lb_policy_free(p);
}

/* The loader's own ranges and messages, prefixed by the source's name;
 * a refused value leaves the file's setting in force. */
static void
test_broker_setting_from_elsewhere_is_checked_as_the_loader_checks(void **state)
{
	static const struct { const char *key, *value, *msg; } bad[] = {
		{ "max_clients", "0", "GPO\\Value: max_clients: expected a whole number from 1 to 4096" },
		{ "max_clients", "4097", "GPO\\Value: max_clients: expected a whole number from 1 to 4096" },
		{ "max_clients", "4294967295", "GPO\\Value: max_clients: expected a whole number from 1 to 4096" },
		{ "max_clients", " 5", "GPO\\Value: max_clients: expected a whole number from 1 to 4096" },
		{ "requests_per_sec", "100001", "GPO\\Value: requests_per_sec: expected a whole number from 1 to 100000" },
		{ "requests_burst", "0", "GPO\\Value: requests_burst: expected a whole number from 1 to 1000000" },
		{ "audit_sync", "Always", "GPO\\Value: audit_sync: expected batch or always, not 'Always'" },
		{ "audit_sync", "", "GPO\\Value: audit_sync: empty value" },
		{ "audit_log", "C:\\x\\audit.log", "GPO\\Value: audit_log: cannot be set here, only in the policy file's [broker]" },
		{ "endpoint", "\\\\.\\pipe\\x", "GPO\\Value: endpoint: cannot be set here" },
		{ "no_such_key", "1", "GPO\\Value: no_such_key: cannot be set here" },
	};
	struct lb_policy *p = NULL;
	char msg[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(set_broker("[broker]\nmax_clients = 8\naudit_sync = batch\n"
		    "requests_per_sec = 7\nrequests_burst = 9\n", bad[i].key, bad[i].value, msg, sizeof(msg), &p),
		    LB_E_CONFIG);
		if (strncmp(msg, bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("%s = '%s': expected '%s', got '%s'", bad[i].key, bad[i].value, bad[i].msg, msg);
		assert_int_equal(p->broker.max_clients, 8);
		assert_int_equal(p->broker.audit_sync, LB_AUDIT_SYNC_BATCH);
		assert_int_equal(p->broker.requests_per_sec, 7);
		assert_int_equal(p->broker.requests_burst, 9);
		assert_string_equal(p->broker.audit_log, "C:\\ProgramData\\LinkBroker\\audit.log");
		lb_policy_free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_posix_policy_loads),
		cmocka_unit_test(test_model_holds_what_was_written),
		cmocka_unit_test(test_example_policies_load),
		cmocka_unit_test(test_missing_file_is_reported),
		cmocka_unit_test(test_unknown_section_reports_its_line),
		cmocka_unit_test(test_unknown_key_reports_its_line),
		cmocka_unit_test(test_duplicate_key_names_both_lines),
		cmocka_unit_test(test_duplicate_sections_are_errors),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_bad_values_report_their_line),
		cmocka_unit_test(test_incomplete_sections_report_the_header_line),
		cmocka_unit_test(test_deny_rule_may_omit_paths),
		cmocka_unit_test(test_syntax_errors_report_their_line),
		cmocka_unit_test(test_hostile_bytes_are_errors_with_lines),
		cmocka_unit_test(test_crlf_and_bom_are_accepted),
		cmocka_unit_test(test_policy_file_size_limit),
		cmocka_unit_test(test_windows_policy_paths_are_canonical),
		cmocka_unit_test(test_windows_names_may_be_qualified_with_their_domain),
		cmocka_unit_test(test_malformed_qualified_names_are_errors),
		cmocka_unit_test(test_bare_group_in_windows_policy_is_a_warning),
		cmocka_unit_test(test_warnings_are_bounded_and_counted),
		cmocka_unit_test(test_broker_setting_from_elsewhere_replaces_the_files),
		cmocka_unit_test(test_broker_setting_from_elsewhere_is_checked_as_the_loader_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
