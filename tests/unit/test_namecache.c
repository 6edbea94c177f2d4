/* The SID -> name cache the Windows service puts in front of
 * LookupAccountSidW: hits, misses, the TTL, the cap, and failures that are
 * never kept. A fake lookup and a fake clock; runs natively and under Wine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lb_namecache.h"
#include "lb_str.h"

#define DEV_SID "S-1-5-21-1-2-3-1105"
#define OTHER_DEV_SID "S-1-5-21-7-8-9-1105"

/* The fake directory: what each SID is called right now. */
struct fake {
	int64_t now;
	unsigned calls;
	const char *last_sid;
	int fail;                  /* the next lookups fail with this code */
	const char *rename_to;     /* DEV_SID is renamed to this */
};

static int64_t
fake_clock(void *arg)
{
	return ((struct fake *)arg)->now;
}

static int
fake_lookup(void *arg, const char *sid, char **domain, char **name)
{
	struct fake *f = arg;
	const char *d = NULL, *n = NULL;

	f->calls++;
	f->last_sid = sid;
	if (f->fail != 0)
		return f->fail;
	if (strcmp(sid, DEV_SID) == 0) {
		d = "CORP";
		n = f->rename_to != NULL ? f->rename_to : "developers";
	} else if (strcmp(sid, OTHER_DEV_SID) == 0) {
		d = "OTHER";
		n = "developers";
	} else if (strcmp(sid, "S-1-1-0") == 0) {
		d = "";
		n = "Everyone";
	} else if (strncmp(sid, "S-1-5-21-4-4-4-", 15) == 0) {
		d = "WS01";
		n = sid + 15;          /* numbered local accounts, for the cap */
	} else {
		return LB_OK;          /* no such account */
	}
	*domain = lb_strdup(d);
	*name = lb_strdup(n);
	return *domain != NULL && *name != NULL ? LB_OK : LB_E_NOMEM;
}

static struct lb_namecache *
cache(struct fake *f, size_t cap, int64_t ttl)
{
	struct lb_namecache *c = NULL;

	memset(f, 0, sizeof(*f));
	f->now = 1000000;
	assert_int_equal(lb_namecache_new(cap, ttl, fake_lookup, fake_clock, f, &c), LB_OK);
	assert_non_null(c);
	return c;
}

/* Get SID and check the answer is DOMAIN\NAME (or no name for NULL). */
static void
expect_name(struct lb_namecache *c, struct fake *f, const char *sid,
    const char *domain, const char *name)
{
	char *d = (char *)1, *n = (char *)1;

	assert_int_equal(lb_namecache_get(c, sid, f, &d, &n), LB_OK);
	if (name == NULL) {
		assert_null(d);
		assert_null(n);
		return;
	}
	assert_non_null(d);
	assert_non_null(n);
	assert_string_equal(d, domain);
	assert_string_equal(n, name);
	free(d);
	free(n);
}

static void
test_second_get_within_ttl_is_a_hit_without_lookup(void **state)
{
	struct fake f;
	struct lb_namecache *c = cache(&f, 16, 2000);
	struct lb_namecache_stats st;

	(void)state;
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.last_sid, DEV_SID);
	f.now += 1999;
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	assert_int_equal(f.calls, 1);
	/* Another SID with the same bare name is its own entry. */
	expect_name(c, &f, OTHER_DEV_SID, "OTHER", "developers");
	expect_name(c, &f, "S-1-1-0", "", "Everyone");
	assert_int_equal(f.calls, 3);
	assert_int_equal(lb_namecache_size(c), 3);
	lb_namecache_get_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 3);
	lb_namecache_free(c);
}

static void
test_name_is_looked_up_again_once_ttl_passed(void **state)
{
	struct fake f;
	struct lb_namecache *c = cache(&f, 16, 2000);
	struct lb_namecache_stats st;

	(void)state;
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	/* Renamed in the directory: the old name stays for less than the TTL... */
	f.rename_to = "old-developers";
	f.now += 1999;
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	assert_int_equal(f.calls, 1);
	/* ...and not a millisecond longer. */
	f.now += 1;
	expect_name(c, &f, DEV_SID, "CORP", "old-developers");
	assert_int_equal(f.calls, 2);
	lb_namecache_get_stats(c, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(lb_namecache_size(c), 1);
	lb_namecache_free(c);
}

static void
test_clock_going_back_does_not_keep_a_name(void **state)
{
	struct fake f;
	struct lb_namecache *c = cache(&f, 16, 2000);

	(void)state;
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	f.now -= 1;
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	assert_int_equal(f.calls, 2);
	lb_namecache_free(c);
}

static void
test_full_cache_evicts_the_oldest_name(void **state)
{
	struct fake f;
	struct lb_namecache *c = cache(&f, 3, 2000);
	struct lb_namecache_stats st;

	(void)state;
	expect_name(c, &f, "S-1-5-21-4-4-4-1001", "WS01", "1001");
	f.now++;
	expect_name(c, &f, "S-1-5-21-4-4-4-1002", "WS01", "1002");
	f.now++;
	expect_name(c, &f, "S-1-5-21-4-4-4-1003", "WS01", "1003");
	assert_int_equal(lb_namecache_size(c), 3);
	/* A fourth name pushes out the first, never grows the cache. */
	expect_name(c, &f, "S-1-5-21-4-4-4-1004", "WS01", "1004");
	assert_int_equal(lb_namecache_size(c), 3);
	assert_int_equal(f.calls, 4);
	expect_name(c, &f, "S-1-5-21-4-4-4-1002", "WS01", "1002");
	expect_name(c, &f, "S-1-5-21-4-4-4-1003", "WS01", "1003");
	expect_name(c, &f, "S-1-5-21-4-4-4-1004", "WS01", "1004");
	assert_int_equal(f.calls, 4);
	expect_name(c, &f, "S-1-5-21-4-4-4-1001", "WS01", "1001");
	assert_int_equal(f.calls, 5);
	lb_namecache_get_stats(c, &st);
	assert_int_equal(st.evicted, 2);
	assert_int_equal(lb_namecache_size(c), 3);
	lb_namecache_free(c);
}

static void
test_many_names_through_a_small_cache_stay_right(void **state)
{
	struct fake f;
	struct lb_namecache *c = cache(&f, 7, 50);
	char sid[64], want[16];
	unsigned i;

	(void)state;
	/* Eviction, expiry and reuse of slots in every order: each answer is
	 * still the name of the SID asked for. */
	for (i = 0; i < 5000; i++) {
		unsigned k = (i * 7919u) % 23u;

		snprintf(sid, sizeof(sid), "S-1-5-21-4-4-4-%u", 1000 + k);
		snprintf(want, sizeof(want), "%u", 1000 + k);
		expect_name(c, &f, sid, "WS01", want);
		assert_true(lb_namecache_size(c) <= 7);
		f.now += (int64_t)(i % 5);
	}
	lb_namecache_clear(c);
	assert_int_equal(lb_namecache_size(c), 0);
	lb_namecache_free(c);
}

static void
test_failed_lookup_is_not_cached(void **state)
{
	struct fake f;
	struct lb_namecache *c = cache(&f, 16, 2000);
	struct lb_namecache_stats st;
	char *d = (char *)1, *n = (char *)1;

	(void)state;
	f.fail = LB_E_IO;
	assert_int_equal(lb_namecache_get(c, DEV_SID, &f, &d, &n), LB_E_IO);
	assert_null(d);
	assert_null(n);
	assert_int_equal(lb_namecache_size(c), 0);
	/* The next connection asks again, and then keeps the name. */
	f.fail = 0;
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	assert_int_equal(f.calls, 2);
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	assert_int_equal(f.calls, 2);
	lb_namecache_get_stats(c, &st);
	assert_int_equal(st.failed, 1);
	lb_namecache_free(c);
}

static void
test_unmapped_sid_is_asked_again(void **state)
{
	struct fake f;
	struct lb_namecache *c = cache(&f, 16, 2000);
	struct lb_namecache_stats st;

	(void)state;
	expect_name(c, &f, "S-1-5-21-9-9-9-500", NULL, NULL);
	expect_name(c, &f, "S-1-5-21-9-9-9-500", NULL, NULL);
	assert_int_equal(f.calls, 2);
	assert_int_equal(lb_namecache_size(c), 0);
	lb_namecache_get_stats(c, &st);
	assert_int_equal(st.unmapped, 2);
	lb_namecache_free(c);
}

static void
test_zero_ttl_keeps_nothing(void **state)
{
	struct fake f;
	struct lb_namecache *c = cache(&f, 16, 0);

	(void)state;
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	expect_name(c, &f, DEV_SID, "CORP", "developers");
	assert_int_equal(f.calls, 2);
	assert_int_equal(lb_namecache_size(c), 0);
	lb_namecache_free(c);
}

static void
test_bad_arguments_are_refused(void **state)
{
	struct fake f;
	struct lb_namecache *c = NULL;
	char *d = (char *)1, *n = (char *)1, big[300];

	(void)state;
	assert_int_equal(lb_namecache_new(0, 2000, fake_lookup, fake_clock, &f, &c), LB_E_INVAL);
	assert_null(c);
	assert_int_equal(lb_namecache_new(4, -1, fake_lookup, fake_clock, &f, &c), LB_E_INVAL);
	assert_int_equal(lb_namecache_new(4, 2000, NULL, fake_clock, &f, &c), LB_E_INVAL);
	assert_int_equal(lb_namecache_new(4, 2000, fake_lookup, NULL, &f, &c), LB_E_INVAL);
	c = cache(&f, 4, 2000);
	assert_int_equal(lb_namecache_get(c, NULL, &f, &d, &n), LB_E_INVAL);
	assert_null(d);
	assert_null(n);
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(lb_namecache_get(c, big, &f, &d, &n), LB_E_INVAL);
	assert_int_equal(f.calls, 0);
	lb_namecache_free(c);
	lb_namecache_free(NULL);
	lb_namecache_clear(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_get_within_ttl_is_a_hit_without_lookup),
		cmocka_unit_test(test_name_is_looked_up_again_once_ttl_passed),
		cmocka_unit_test(test_clock_going_back_does_not_keep_a_name),
		cmocka_unit_test(test_full_cache_evicts_the_oldest_name),
		cmocka_unit_test(test_many_names_through_a_small_cache_stay_right),
		cmocka_unit_test(test_failed_lookup_is_not_cached),
		cmocka_unit_test(test_unmapped_sid_is_asked_again),
		cmocka_unit_test(test_zero_ttl_keeps_nothing),
		cmocka_unit_test(test_bad_arguments_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
