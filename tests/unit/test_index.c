/* The index of the links the broker made (service/lb_index): made, found,
 * replaced and removed per (user, link); listed in seq order after a
 * cursor and under a prefix; the Windows flavour's case folding; the
 * per-user bound and the compaction of removed entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lb_index.h"
#include "lb_sig.h"

#define ALICE "1000"
#define BOB "1001"
#define T0 1764100000ull

static int
setup(void **state)
{
	struct lb_index *ix;

	assert_int_equal(lb_crypto_init(), LB_OK);   /* lb_index_new draws its hash key */
	assert_int_equal(lb_index_new(LB_FLAVOR_POSIX, &ix), LB_OK);
	*state = ix;
	return 0;
}

static int
setup_windows(void **state)
{
	struct lb_index *ix;

	assert_int_equal(lb_crypto_init(), LB_OK);
	assert_int_equal(lb_index_new(LB_FLAVOR_WINDOWS, &ix), LB_OK);
	*state = ix;
	return 0;
}

static int
teardown(void **state)
{
	lb_index_free(*state);
	return 0;
}

/* A symbolic link LINK -> "/t" of SID, made in record SEQ: LB_OK asserted. */
static void
made(struct lb_index *ix, const char *sid, uint64_t seq, const char *link)
{
	assert_int_equal(lb_index_made(ix, sid, seq, T0 + seq, LB_KIND_SYMLINK, link, "/t", "/t",
	    "2049:1"), LB_OK);
}

/* The seq of SID's next link after AFTER under PREFIX (NULL: anywhere), 0 if none. */
static uint64_t
next_seq(const struct lb_index *ix, const char *sid, uint64_t after, const char *prefix)
{
	const struct lb_index_entry *e;
	struct lb_path p = { 0 };

	if (prefix != NULL)
		assert_int_equal(lb_path_canon(LB_FLAVOR_POSIX, prefix, strlen(prefix), &p), LB_OK);
	e = lb_index_next(ix, sid, after, prefix != NULL ? &p : NULL);
	lb_path_free(&p);
	return e != NULL ? e->seq : 0;
}

static void
test_made_link_is_found_with_what_was_made_and_removed_is_gone(void **state)
{
	struct lb_index *ix = *state;
	const struct lb_index_entry *e;

	assert_null(lb_index_find(ix, ALICE, "/home/a/l"));
	assert_int_equal(lb_index_made(ix, ALICE, 7, T0, LB_KIND_JUNCTION, "/home/a/l", "../t",
	    "/home/t", "2049:12"), LB_OK);
	assert_int_equal(lb_index_count(ix), 1);
	e = lb_index_find(ix, ALICE, "/home/a/l");
	assert_non_null(e);
	assert_int_equal(e->seq, 7);
	assert_int_equal(e->time, T0);
	assert_int_equal(e->kind, LB_KIND_JUNCTION);
	assert_string_equal(e->link.s, "/home/a/l");
	assert_string_equal(e->target, "../t");
	assert_string_equal(e->target_resolved, "/home/t");
	assert_string_equal(e->file, "2049:12");
	assert_null(lb_index_find(ix, ALICE, "/home/a/L"));   /* POSIX: bytes */
	assert_null(lb_index_find(ix, ALICE, "/home/a"));
	/* removing what is not there changes nothing */
	lb_index_removed(ix, ALICE, "/home/a/other");
	lb_index_removed(ix, BOB, "/home/a/l");
	lb_index_removed(ix, "nobody", "/home/a/l");
	assert_int_equal(lb_index_count(ix), 1);
	lb_index_removed(ix, ALICE, "/home/a/l");
	assert_null(lb_index_find(ix, ALICE, "/home/a/l"));
	assert_int_equal(lb_index_count(ix), 0);
	assert_int_equal(next_seq(ix, ALICE, 0, NULL), 0);
	assert_int_equal(lb_index_forgotten(ix), 0);
}

static void
test_file_unknown_is_kept_as_empty(void **state)
{
	struct lb_index *ix = *state;
	const struct lb_index_entry *e;

	assert_int_equal(lb_index_made(ix, ALICE, 1, T0, LB_KIND_SYMLINK, "/home/a/l", NULL, NULL,
	    NULL), LB_OK);
	assert_non_null(e = lb_index_find(ix, ALICE, "/home/a/l"));
	assert_string_equal(e->file, "");
	assert_string_equal(e->target, "");
	assert_string_equal(e->target_resolved, "");
}

static void
test_made_again_at_the_same_link_replaces_it(void **state)
{
	struct lb_index *ix = *state;
	const struct lb_index_entry *e;

	made(ix, ALICE, 1, "/home/a/l");
	made(ix, ALICE, 2, "/home/a/m");
	assert_int_equal(lb_index_made(ix, ALICE, 3, T0, LB_KIND_HARDLINK, "/home/a/l", "/x", "/x",
	    "2049:3"), LB_OK);
	assert_int_equal(lb_index_count(ix), 2);
	assert_non_null(e = lb_index_find(ix, ALICE, "/home/a/l"));
	assert_int_equal(e->seq, 3);
	assert_int_equal(e->kind, LB_KIND_HARDLINK);
	assert_string_equal(e->file, "2049:3");
	/* the old entry is not listed any more: m (2), then the new l (3) */
	assert_int_equal(next_seq(ix, ALICE, 0, NULL), 2);
	assert_int_equal(next_seq(ix, ALICE, 2, NULL), 3);
	assert_int_equal(next_seq(ix, ALICE, 3, NULL), 0);
	assert_int_equal(lb_index_forgotten(ix), 0);   /* replaced, not forgotten */
}

static void
test_users_at_the_same_link_are_separate(void **state)
{
	struct lb_index *ix = *state;
	const struct lb_index_entry *e;

	made(ix, ALICE, 1, "/srv/shared/l");
	made(ix, BOB, 2, "/srv/shared/l");
	assert_int_equal(lb_index_count(ix), 2);
	assert_non_null(e = lb_index_find(ix, ALICE, "/srv/shared/l"));
	assert_int_equal(e->seq, 1);
	assert_non_null(e = lb_index_find(ix, BOB, "/srv/shared/l"));
	assert_int_equal(e->seq, 2);
	assert_int_equal(next_seq(ix, ALICE, 0, NULL), 1);
	assert_int_equal(next_seq(ix, ALICE, 1, NULL), 0);   /* not bob's */
	assert_int_equal(next_seq(ix, BOB, 0, NULL), 2);
	lb_index_removed(ix, BOB, "/srv/shared/l");
	assert_null(lb_index_find(ix, BOB, "/srv/shared/l"));
	assert_non_null(lb_index_find(ix, ALICE, "/srv/shared/l"));
	assert_int_equal(next_seq(ix, "1002", 0, NULL), 0);   /* a user it never saw */
}

static void
test_next_goes_in_seq_order_after_the_cursor_under_whole_components(void **state)
{
	struct lb_index *ix = *state;

	made(ix, ALICE, 10, "/home/a/x");
	made(ix, ALICE, 20, "/home/a2/y");
	made(ix, BOB, 25, "/home/a/b");
	made(ix, ALICE, 30, "/home/a/sub/z");
	made(ix, ALICE, 40, "/home/b/w");
	assert_int_equal(next_seq(ix, ALICE, 0, NULL), 10);
	assert_int_equal(next_seq(ix, ALICE, 10, NULL), 20);
	assert_int_equal(next_seq(ix, ALICE, 20, NULL), 30);
	assert_int_equal(next_seq(ix, ALICE, 30, NULL), 40);
	assert_int_equal(next_seq(ix, ALICE, 40, NULL), 0);
	/* a cursor between seqs, before the first, past the last */
	assert_int_equal(next_seq(ix, ALICE, 15, NULL), 20);
	assert_int_equal(next_seq(ix, ALICE, 9, NULL), 10);
	assert_int_equal(next_seq(ix, ALICE, UINT64_MAX, NULL), 0);
	/* /home/a2 is not under /home/a */
	assert_int_equal(next_seq(ix, ALICE, 0, "/home/a"), 10);
	assert_int_equal(next_seq(ix, ALICE, 10, "/home/a"), 30);
	assert_int_equal(next_seq(ix, ALICE, 30, "/home/a"), 0);
	assert_int_equal(next_seq(ix, ALICE, 0, "/home/a2"), 20);
	assert_int_equal(next_seq(ix, ALICE, 20, "/home/a2"), 0);
	/* the link itself is "under" itself; the root holds everything */
	assert_int_equal(next_seq(ix, ALICE, 0, "/home/b/w"), 40);
	assert_int_equal(next_seq(ix, ALICE, 0, "/home/b/w2"), 0);
	assert_int_equal(next_seq(ix, ALICE, 0, "/"), 10);
	assert_int_equal(next_seq(ix, BOB, 0, "/home/a"), 25);
	assert_int_equal(next_seq(ix, BOB, 25, "/home/a"), 0);
}

static void
test_windows_links_are_found_whatever_the_case(void **state)
{
	struct lb_index *ix = *state;
	const struct lb_index_entry *e;
	struct lb_path p = { 0 };

	assert_int_equal(lb_index_made(ix, "S-1-5-21-1-2-3-1105", 1, T0, LB_KIND_SYMLINK,
	    "C:\\Src\\L", "x", "C:\\Src\\x", "1234:5"), LB_OK);
	assert_non_null(e = lb_index_find(ix, "S-1-5-21-1-2-3-1105", "c:\\src\\l"));
	assert_string_equal(e->link.s, "C:\\Src\\L");   /* kept as made */
	assert_non_null(lb_index_find(ix, "S-1-5-21-1-2-3-1105", "C:\\SRC\\L"));
	assert_null(lb_index_find(ix, "S-1-5-21-1-2-3-1105", "C:\\Src\\L2"));
	/* not only ASCII: Windows folds every letter with a case pair */
	assert_int_equal(lb_index_made(ix, "S-1-5-21-1-2-3-1105", 2, T0, LB_KIND_SYMLINK,
	    "C:\\Users\\Jos\xc3\xa9\\\xc5\x81", "x", "C:\\x", "1234:7"), LB_OK);
	assert_non_null(lb_index_find(ix, "S-1-5-21-1-2-3-1105", "C:\\USERS\\JOS\xc3\x89\\\xc5\x82"));
	lb_index_removed(ix, "S-1-5-21-1-2-3-1105", "C:\\users\\jos\xc3\x89\\\xc5\x82");
	assert_null(lb_index_find(ix, "S-1-5-21-1-2-3-1105", "C:\\Users\\Jos\xc3\xa9\\\xc5\x81"));
	/* a prefix in another case holds it */
	assert_int_equal(lb_path_canon(LB_FLAVOR_WINDOWS, "c:\\SRC", 6, &p), LB_OK);
	assert_non_null(e = lb_index_next(ix, "S-1-5-21-1-2-3-1105", 0, &p));
	assert_int_equal(e->seq, 1);
	lb_path_free(&p);
	/* made again in another case: the same link, replaced */
	assert_int_equal(lb_index_made(ix, "S-1-5-21-1-2-3-1105", 3, T0, LB_KIND_SYMLINK,
	    "C:\\SRC\\l", "y", "C:\\SRC\\y", "1234:6"), LB_OK);
	assert_int_equal(lb_index_count(ix), 1);
	assert_non_null(e = lb_index_find(ix, "S-1-5-21-1-2-3-1105", "C:\\Src\\L"));
	assert_int_equal(e->seq, 3);
	/* removed in yet another case */
	lb_index_removed(ix, "S-1-5-21-1-2-3-1105", "c:\\sRc\\L");
	assert_int_equal(lb_index_count(ix), 0);
	/* not canonical for Windows: a lower-case drive, forward slashes */
	assert_int_equal(lb_index_made(ix, "S-1-5-21-1-2-3-1105", 4, T0, LB_KIND_SYMLINK,
	    "c:\\Src\\L", "x", "x", ""), LB_E_INVAL);
	assert_int_equal(lb_index_made(ix, "S-1-5-21-1-2-3-1105", 4, T0, LB_KIND_SYMLINK,
	    "C:/Src/L", "x", "x", ""), LB_E_INVAL);
	assert_int_equal(lb_index_count(ix), 0);
}

static void
test_seq_must_grow(void **state)
{
	struct lb_index *ix = *state;

	made(ix, ALICE, 5, "/home/a/l");
	assert_int_equal(lb_index_made(ix, BOB, 5, T0, LB_KIND_SYMLINK, "/home/b/l", "/t", "/t", ""),
	    LB_E_INVAL);
	assert_int_equal(lb_index_made(ix, ALICE, 4, T0, LB_KIND_SYMLINK, "/home/a/m", "/t", "/t", ""),
	    LB_E_INVAL);
	/* also past a link removed since */
	lb_index_removed(ix, ALICE, "/home/a/l");
	assert_int_equal(lb_index_made(ix, ALICE, 5, T0, LB_KIND_SYMLINK, "/home/a/m", "/t", "/t", ""),
	    LB_E_INVAL);
	assert_int_equal(lb_index_count(ix), 0);
	assert_null(lb_index_find(ix, BOB, "/home/b/l"));
	made(ix, ALICE, 6, "/home/a/m");
	assert_int_equal(lb_index_count(ix), 1);
}

static void
test_non_canonical_relative_or_kindless_links_are_refused(void **state)
{
	struct lb_index *ix = *state;
	static const char *const bad[] = {
		"home/a/l", "./l", "/home/a/../a/l", "/home/a/l/", "/home//a/l", "/home/./a/l", "",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lb_index_made(ix, ALICE, 1 + i, T0, LB_KIND_SYMLINK, bad[i], "/t", "/t",
		    ""), LB_E_INVAL);
	assert_int_equal(lb_index_made(ix, ALICE, 100, T0, LB_KIND_NONE, "/home/a/l", "/t", "/t", ""),
	    LB_E_INVAL);
	assert_int_equal(lb_index_made(ix, ALICE, 101, T0, (enum lb_kind)(LB_KIND_MAX + 1), "/home/a/l",
	    "/t", "/t", ""), LB_E_INVAL);
	assert_int_equal(lb_index_made(ix, NULL, 102, T0, LB_KIND_SYMLINK, "/home/a/l", "/t", "/t", ""),
	    LB_E_INVAL);
	assert_int_equal(lb_index_made(ix, ALICE, 103, T0, LB_KIND_SYMLINK, NULL, "/t", "/t", ""),
	    LB_E_INVAL);
	assert_int_equal(lb_index_count(ix), 0);
	assert_int_equal(next_seq(ix, ALICE, 0, NULL), 0);
}

static void
test_a_user_past_its_bound_forgets_its_oldest_only(void **state)
{
	struct lb_index *ix = *state;
	const size_t n = LB_INDEX_USER_MAX + 10;
	char link[64];
	uint64_t seq = 1;
	clock_t t0;
	double secs;
	size_t i;

	/* bob's links, before and among alice's */
	made(ix, BOB, seq++, "/home/b/first");
	t0 = clock();
	for (i = 0; i < n; i++) {
		snprintf(link, sizeof(link), "/home/a/l%zu", i);
		made(ix, ALICE, seq++, link);
		if (i == 1000)
			made(ix, BOB, seq++, "/home/b/among");
	}
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	print_message("%llu links made in %.3f s of CPU\n", (unsigned long long)n, secs);
	assert_true(secs < 5.0);   /* ~0.1 s natively: only a pathological slowdown fails it */
	assert_int_equal(lb_index_count(ix), LB_INDEX_USER_MAX + 2);
	assert_int_equal(lb_index_forgotten(ix), 10);
	for (i = 0; i < 10; i++) {
		snprintf(link, sizeof(link), "/home/a/l%zu", i);
		assert_null(lb_index_find(ix, ALICE, link));
	}
	for (i = 10; i < n; i++) {
		snprintf(link, sizeof(link), "/home/a/l%zu", i);
		assert_non_null(lb_index_find(ix, ALICE, link));
	}
	/* alice's first listed is her 11th; bob keeps both */
	assert_int_equal(next_seq(ix, ALICE, 0, NULL), 2 + 10);
	assert_non_null(lb_index_find(ix, BOB, "/home/b/first"));
	assert_non_null(lb_index_find(ix, BOB, "/home/b/among"));
	assert_int_equal(next_seq(ix, BOB, 0, NULL), 1);
	assert_int_equal(next_seq(ix, BOB, 1, NULL), 1003);
	assert_int_equal(next_seq(ix, BOB, 1003, NULL), 0);
	/* at the bound, making one of its links again replaces it: nothing forgotten */
	made(ix, ALICE, seq++, "/home/a/l10");
	assert_int_equal(lb_index_count(ix), LB_INDEX_USER_MAX + 2);
	assert_int_equal(lb_index_forgotten(ix), 10);
	assert_non_null(lb_index_find(ix, ALICE, "/home/a/l11"));
	assert_int_equal(next_seq(ix, ALICE, 0, NULL), 2 + 11);
}

static void
test_removing_many_then_adding_many_keeps_find_and_next(void **state)
{
	struct lb_index *ix = *state;
	char link[64];
	uint64_t seq = 1, s;
	size_t i, listed;

	for (i = 0; i < 5000; i++) {
		snprintf(link, sizeof(link), "/home/a/old%zu", i);
		made(ix, ALICE, seq++, link);
	}
	/* all but every 100th removed: dead entries outnumber live ones */
	for (i = 0; i < 5000; i++) {
		if (i % 100 == 0)
			continue;
		snprintf(link, sizeof(link), "/home/a/old%zu", i);
		lb_index_removed(ix, ALICE, link);
	}
	assert_int_equal(lb_index_count(ix), 50);
	for (i = 0; i < 5000; i++) {
		snprintf(link, sizeof(link), "/home/a/new%zu", i);
		made(ix, ALICE, seq++, link);
		if (i % 2 == 0)
			lb_index_removed(ix, ALICE, link);
	}
	assert_int_equal(lb_index_count(ix), 50 + 2500);
	assert_int_equal(lb_index_forgotten(ix), 0);
	for (i = 0; i < 5000; i++) {
		const struct lb_index_entry *e;

		snprintf(link, sizeof(link), "/home/a/old%zu", i);
		e = lb_index_find(ix, ALICE, link);
		if (i % 100 == 0) {
			assert_non_null(e);
			assert_int_equal(e->seq, i + 1);
			assert_string_equal(e->link.s, link);
		} else {
			assert_null(e);
		}
		snprintf(link, sizeof(link), "/home/a/new%zu", i);
		e = lb_index_find(ix, ALICE, link);
		if (i % 2 == 1) {
			assert_non_null(e);
			assert_int_equal(e->seq, 5000 + i + 1);
			assert_string_equal(e->link.s, link);
		} else {
			assert_null(e);
		}
	}
	/* in seq order, each live link once */
	for (s = 0, listed = 0; (s = next_seq(ix, ALICE, s, NULL)) != 0; listed++) {
		if (s <= 5000)
			assert_int_equal((s - 1) % 100, 0);
		else
			assert_int_equal((s - 5001) % 2, 1);
	}
	assert_int_equal(listed, 2550);
	/* under a prefix that no link has, nothing; the old ones re-made */
	assert_int_equal(next_seq(ix, ALICE, 0, "/home/a/old1"), 0);
	snprintf(link, sizeof(link), "/home/a/old1");
	made(ix, ALICE, seq++, link);
	assert_int_equal(next_seq(ix, ALICE, 0, "/home/a/old1"), seq - 1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_made_link_is_found_with_what_was_made_and_removed_is_gone),
		T(test_file_unknown_is_kept_as_empty),
		T(test_made_again_at_the_same_link_replaces_it),
		T(test_users_at_the_same_link_are_separate),
		T(test_next_goes_in_seq_order_after_the_cursor_under_whole_components),
		cmocka_unit_test_setup_teardown(test_windows_links_are_found_whatever_the_case,
		    setup_windows, teardown),
		T(test_seq_must_grow),
		T(test_non_canonical_relative_or_kindless_links_are_refused),
		T(test_a_user_past_its_bound_forgets_its_oldest_only),
		T(test_removing_many_then_adding_many_keeps_find_and_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
