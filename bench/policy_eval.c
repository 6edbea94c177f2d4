/* policy_eval: nanoseconds per policy decision for policies of 10, 1,000 and
 * 10,000 rules, median of several runs, with the cost of canonicalising the
 * two paths alone (the floor of any decision) measured in the same run as
 * the baseline. Not a test: it asserts nothing about time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lb_policy.h"

#define RUNS 7

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A policy shaped like a real site's: per-user rules (each naming one user
 * and one of 1,000 groups, with templates and fixed paths), a tenth of them
 * deny rules, plus two rules for everyone. EVERYONE makes every rule name
 * "users = *" instead: the worst case, where no index can help. */
static struct lb_policy *
make_policy(size_t nrules, int everyone)
{
	struct lb_policy *p = NULL;
	struct lb_buf b, err;
	const char *text;
	size_t i;

	lb_buf_init(&b, LB_POLICY_FILE_MAX);
	lb_buf_init(&err, 4096);
	if (lb_buf_printf(&b, "[rule:all-deny]\nusers = *\nkinds = *\nlink_under = %%HOME%%/.ssh\naction = deny\n"
	    "[rule:all-tmp]\ngroups = *\nkinds = symlink\nlink_under = /tmp/links\ntarget_under = /tmp\naction = allow\n") != LB_OK)
		goto fail;
	for (i = 2; i < nrules; i++) {
		char who[64];

		if (everyone)
			snprintf(who, sizeof(who), "users = *");
		else
			snprintf(who, sizeof(who), "users = u%zu\ngroups = g%zu", i, i % 1000);
		if (lb_buf_printf(&b, "[rule:r%zu]\n%s\nkinds = %s\n"
		    "link_under = %s/src, /srv/p%zu\ntarget_under = %%HOME%%, /opt/t%zu\naction = %s\n",
		    i, who, i % 3 ? "symlink, dirsymlink" : "*",
		    i % 2 ? "%HOME%" : "/srv/home/%USER%", i, i, i % 10 ? "allow" : "deny") != LB_OK)
			goto fail;
	}
	if (lb_buf_cstr(&b, &text) != LB_OK ||
	    lb_policy_load_buffer("bench.ini", text, b.len, LB_FLAVOR_POSIX, &p, &err) != LB_OK)
		goto fail;
	lb_buf_free(&b);
	lb_buf_free(&err);
	return p;
fail:
	fprintf(stderr, "policy_eval: cannot build a %zu-rule policy\n", nrules);
	exit(1);
}

static volatile unsigned sink;

static double
time_decisions(const struct lb_policy *p, const struct lb_principal *who, size_t iters,
    int baseline_only)
{
	static const char link[] = "/home/u4321/src/project/lib";
	static const char target[] = "../vendor/lib";
	struct lb_decision d;
	struct lb_path l, t;
	const char *which;
	double t0 = now_ns();
	size_t i;

	for (i = 0; i < iters; i++) {
		if (baseline_only) {
			if (lb_path_canon(LB_FLAVOR_POSIX, link, sizeof(link) - 1, &l) != LB_OK ||
			    lb_path_canon(LB_FLAVOR_POSIX, target, sizeof(target) - 1, &t) != LB_OK)
				exit(1);
			sink += (unsigned)l.len;
		} else {
			if (lb_policy_decide_strings(p, who, LB_KIND_SYMLINK, link, sizeof(link) - 1,
			    target, sizeof(target) - 1, &d, &l, &t, &which) != LB_OK)
				exit(1);
			sink += d.verdict;
		}
		lb_path_free(&l);
		lb_path_free(&t);
	}
	return (now_ns() - t0) / (double)iters;
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 10, 1000, 10000 };
	static const struct lb_group groups[] = {
		{ "g21", NULL, 0 }, { "g42", NULL, 0 }, { "staff", NULL, 0 },
	};
	const struct lb_principal who = { "u4321", "4321", "/home/u4321", groups, 3, NULL };
	size_t iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000, s, r;
	double runs[RUNS], base[RUNS], med, bmed;

	if (iters == 0)
		iters = 20000;
	for (r = 0; r < RUNS; r++)
		base[r] = time_decisions(NULL, &who, iters, 1);
	qsort(base, RUNS, sizeof(base[0]), cmp_double);
	bmed = base[RUNS / 2];
	printf("policy_eval: %zu decisions per run, median of %d runs\n", iters, RUNS);
	printf("baseline (canonicalise link and target only): %.0f ns\n", bmed);
	printf("%8s %14s %14s %10s\n", "rules", "ns/decision", "us/decision", "x baseline");
	for (s = 0; s <= sizeof(sizes) / sizeof(sizes[0]); s++) {
		int worst = s == sizeof(sizes) / sizeof(sizes[0]);
		struct lb_policy *p = make_policy(worst ? 10000 : sizes[s], worst);

		for (r = 0; r < RUNS; r++)
			runs[r] = time_decisions(p, &who, worst ? iters / 50 + 1 : iters, 0);
		qsort(runs, RUNS, sizeof(runs[0]), cmp_double);
		med = runs[RUNS / 2];
		printf("%8zu %14.0f %14.2f %10.2f%s\n", worst ? (size_t)10000 : sizes[s], med,
		    med / 1000.0, med / bmed, worst ? "   (worst case: every rule names users = *)" : "");
		lb_policy_free(p);
	}
	return 0;
}
