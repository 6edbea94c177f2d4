/* proc_link: links made by whole processes, as a user would, against the
 * baselines measured in the same run (run as root; children run as USER in
 * HOME; every process fork+exec+wait, timed with CLOCK_MONOTONIC):
 *
 *   proc_link single USER HOME RUNS N TARGET_RATIO LINKBROKER SUDO
 *     `linkbroker links/lb/lI TARGET` vs `ln -s` vs `sudo -n ln -s`, N each
 *   proc_link bulk USER HOME RUNS N TARGET_RATIO LINKBROKER
 *     `linkbroker batch FILE` of N lines vs a C loop of symlink() (one
 *     process, as USER) vs N `ln -s` processes
 *
 * TARGET is HOME/target. Each run of each variant makes its links in a
 * new directory HOME/links/pPID.rRUN.VARIANT; all of them are made before the
 * first timing and nothing is deleted until scripts/bench removes the whole
 * folder at exit. Measured here: right after links are deleted, ext4 makes
 * new inodes in that block group 5-20 times slower for some 30 s (it skips
 * recently deleted inodes, reading their inode table blocks), so emptying
 * a directory between runs would time the file system's recovery, not the
 * variants. The variants take turns in a rotating order. Prints a Markdown table of medians over RUNS.
 * Not a test: it only reports; failures are counted, never fatal. */
#include "bench_util.h"

#define MAX_RUNS 100
#define LN "/bin/ln"

struct variant {
	const char *name;
	double per[MAX_RUNS];       /* median per-process time of each run, ns */
	double total[MAX_RUNS];     /* whole run, ns */
	unsigned long fails;
};

static struct bench_user user;
static const char *home;
static char target[4096];

static void
path_of(char *buf, size_t len, const char *sub, size_t i)
{
	snprintf(buf, len, "links/%s/l%zu", sub, i);
}

/* Every link of SUB that is missing or does not point at TARGET. */
static unsigned long
count_missing(const char *sub, size_t n)
{
	char p[4200], got[4200];
	unsigned long miss = 0;
	ssize_t k;
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/", home);
		path_of(p + strlen(p), sizeof(p) - strlen(p), sub, i);
		k = readlink(p, got, sizeof(got) - 1);
		if (k < 0 || (size_t)k != strlen(target) || memcmp(got, target, (size_t)k) != 0)
			miss++;
	}
	return miss;
}

/* SUB := the directory of run RUN of variant K (under HOME/links). */
static void
run_sub(char *sub, size_t len, int run, int k)
{
	snprintf(sub, len, "p%ld.r%d.%d", (long)getpid(), run, k);
}

/* Every run's directory, before any timing. */
static void
make_run_dirs(int runs, int variants)
{
	char sub[64], d[4200];
	int r, k;

	for (r = 0; r < runs; r++)
		for (k = 0; k < variants; k++) {
			run_sub(sub, sizeof(sub), r, k);
			snprintf(d, sizeof(d), "%s/links/%s", home, sub);
			if (bench_mkdir(d, &user) != 0 || bench_empty_dir(d) != 0) {
				fprintf(stderr, "proc_link: %s: not a new, empty directory\n", d);
				exit(2);
			}
		}
}

/* N processes of ARGV, ARGV[LINKARG] replaced by links/SUB/lI. */
static void
run_procs(struct variant *v, int run, char **argv, int linkarg, const char *sub, size_t n)
{
	double *each = calloc(n, sizeof(double)), t0, t1, start;
	char link[256];
	unsigned long fails = 0;
	size_t i;

	if (each == NULL)
		exit(2);
	start = bench_now_ns();
	for (i = 0; i < n; i++) {
		path_of(link, sizeof(link), sub, i);
		argv[linkarg] = link;
		t0 = bench_now_ns();
		if (bench_spawn(&user, home, argv) != 0)
			fails++;
		t1 = bench_now_ns();
		each[i] = t1 - t0;
	}
	v->total[run] = bench_now_ns() - start;
	v->per[run] = bench_median(each, n);
	fails += count_missing(sub, n);
	v->fails += fails;
	free(each);
}

static void
print_verdict(const char *what, double got, double want, int le)
{
	int met = le ? got <= want : got >= want;

	if (met)
		printf("- %s: **met** (%.2f×; target %s %.2f×)\n", what, got, le ? "≤" : "≥", want);
	else
		printf("- %s: **missed** by %.0f%% (%.2f×; target %s %.2f×)\n", what,
		    le ? (got / want - 1) * 100 : (1 - got / want) * 100, got, le ? "≤" : "≥", want);
}

static int
single(int runs, size_t n, double ratio, const char *lb, const char *sudo)
{
	struct variant v[3] = { { .name = "`linkbroker LINK TARGET`" }, { .name = "`ln -s TARGET LINK`" },
	    { .name = "`sudo -n ln -s TARGET LINK`" } };
	char *a_lb[] = { (char *)lb, NULL, target, NULL };
	char *a_ln[] = { LN, "-s", target, NULL, NULL };
	char *a_sudo[] = { (char *)sudo, "-n", LN, "-s", target, NULL, NULL };
	double per[3], tot[3];
	char sub[64];
	int r, k, j;

	make_run_dirs(runs, 3);
	for (r = 0; r < runs; r++) {
		for (k = 0; k < 3; k++) {
			j = (r + k) % 3;
			run_sub(sub, sizeof(sub), r, j);
			if (j == 0)
				run_procs(&v[0], r, a_lb, 1, sub, n);
			else if (j == 1)
				run_procs(&v[1], r, a_ln, 3, sub, n);
			else
				run_procs(&v[2], r, a_sudo, 5, sub, n);
		}
	}
	for (k = 0; k < 3; k++) {
		per[k] = bench_median(v[k].per, (size_t)runs);
		tot[k] = bench_median(v[k].total, (size_t)runs);
	}
	printf("Single link as a whole process, %zu links per variant, median of %d runs:\n\n", n, runs);
	printf("| variant | per link (median, ms) | %zu links (median, ms) | × `ln -s` | failures |\n", n);
	printf("|---|---:|---:|---:|---:|\n");
	for (k = 0; k < 3; k++)
		printf("| %s | %.3f | %.1f | %.2f× | %lu |\n", v[k].name, per[k] / 1e6, tot[k] / 1e6,
		    per[k] / per[1], v[k].fails);
	printf("\n");
	print_verdict("linkbroker vs `ln -s` (per link)", per[0] / per[1], ratio, 1);
	print_verdict("linkbroker's speed-up over `sudo ln -s` (per link)", per[2] / per[0], 4.0, 0);
	return 0;
}

static int
bulk(int runs, size_t n, double ratio, const char *lb)
{
	struct variant v[3] = { { .name = "`linkbroker batch FILE`" }, { .name = "C loop of `symlink()`" },
	    { .name = "`ln -s` processes" } };
	char file[4200], link[256], sub[64];
	char *a_lb[] = { (char *)lb, "batch", file, NULL };
	char *a_ln[] = { LN, "-s", target, NULL, NULL };
	double tot[3], t0;
	FILE *f;
	size_t i;
	int r, k, j, st;
	pid_t pid;

	snprintf(file, sizeof(file), "%s/batch.txt", home);
	make_run_dirs(runs, 3);
	for (r = 0; r < runs; r++) {
		for (k = 0; k < 3; k++) {
			j = (r + k) % 3;
			run_sub(sub, sizeof(sub), r, j);
			if (j == 0) {
				if ((f = fopen(file, "w")) == NULL)
					return 2;
				for (i = 0; i < n; i++) {
					path_of(link, sizeof(link), sub, i);
					fprintf(f, "%s %s\n", link, target);
				}
				if (fclose(f) != 0)
					return 2;
				t0 = bench_now_ns();
				if (bench_spawn(&user, home, a_lb) != 0)
					v[0].fails++;
				v[0].total[r] = bench_now_ns() - t0;
				v[0].fails += count_missing(sub, n);
			} else if (j == 1) {
				t0 = bench_now_ns();
				if ((pid = fork()) == 0) {
					unsigned long bad = 0;

					bench_become(&user);
					if (chdir(home) != 0)
						_exit(126);
					for (i = 0; i < n; i++) {
						path_of(link, sizeof(link), sub, i);
						if (symlink(target, link) != 0)
							bad++;
					}
					_exit(bad != 0);
				}
				if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
					v[1].fails++;
				v[1].total[r] = bench_now_ns() - t0;
				v[1].fails += count_missing(sub, n);
			} else {
				run_procs(&v[2], r, a_ln, 3, sub, n);
			}
		}
	}
	for (k = 0; k < 3; k++)
		tot[k] = bench_median(v[k].total, (size_t)runs);
	printf("Bulk: %zu links, median of %d runs:\n\n", n, runs);
	printf("| variant | %zu links (median, ms) | per link (µs) | × symlink() loop | failures |\n", n);
	printf("|---|---:|---:|---:|---:|\n");
	for (k = 0; k < 3; k++)
		printf("| %s | %.1f | %.1f | %.2f× | %lu |\n", v[k].name, tot[k] / 1e6, tot[k] / 1e3 / (double)n,
		    tot[k] / tot[1], v[k].fails);
	printf("\n");
	print_verdict("`linkbroker batch` vs the `symlink()` loop", tot[0] / tot[1], ratio, 1);
	return 0;
}

int
main(int argc, char **argv)
{
	int runs;
	size_t n;
	double ratio;
	char d[4200];

	if (argc < 8 || (strcmp(argv[1], "single") == 0 && argc != 9) ||
	    (strcmp(argv[1], "bulk") == 0 && argc != 8)) {
		fprintf(stderr, "usage: proc_link single USER HOME RUNS N RATIO LINKBROKER SUDO\n"
		    "       proc_link bulk USER HOME RUNS N RATIO LINKBROKER\n");
		return 2;
	}
	if (bench_user_lookup(argv[2], &user) != 0) {
		fprintf(stderr, "proc_link: no user %s\n", argv[2]);
		return 2;
	}
	home = argv[3];
	runs = (int)bench_num(argv[4], 1, MAX_RUNS);
	n = (size_t)strtoul(argv[5], NULL, 10);
	ratio = strtod(argv[6], NULL);
	if (runs < 1 || runs > MAX_RUNS || n < 1 || ratio <= 0)
		return 2;
	snprintf(target, sizeof(target), "%s/target", home);
	snprintf(d, sizeof(d), "%s/links", home);
	bench_mkdir(d, &user);
	if (strcmp(argv[1], "single") == 0)
		return single(runs, n, ratio, argv[7], argv[8]);
	return bulk(runs, n, ratio, argv[7]);
}
