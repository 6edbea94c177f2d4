/* bench_util.h: timing, medians and "run as this user" for the POSIX
 * benchmarks (scripts/bench). Header-only: each benchmark is one program. */
#ifndef LB_BENCH_UTIL_H
#define LB_BENCH_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A whole number from LO to HI, or -1 (the argument is bad). */
static inline long
bench_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

static inline double
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The Q-quantile (0..1) of N values, sorting them in place. */
static inline double
bench_quantile(double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static inline double
bench_median(double *v, size_t n)
{
	return bench_quantile(v, n, 0.5);
}

/* The user the children run as (the benchmark itself runs as root). */
struct bench_user {
	char name[64];
	uid_t uid;
	gid_t gid;
};

static inline int
bench_user_lookup(const char *name, struct bench_user *u)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL || strlen(name) >= sizeof(u->name))
		return -1;
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

/* In a child: become U for good, or exit 126. */
static inline void
bench_become(const struct bench_user *u)
{
	if (u == NULL || geteuid() != 0)
		return;
	if (initgroups(u->name, u->gid) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0)
		_exit(126);
}

/* fork, become U, chdir DIR, stdout/stderr to /dev/null, exec ARGV; wait.
 * Returns the exit status (0..255, 128+signal) or -1 if it could not start. */
static inline int
bench_spawn(const struct bench_user *u, const char *dir, char *const argv[])
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		bench_become(u);
		if (dir != NULL && chdir(dir) != 0)
			_exit(126);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* Make DIR (owned by U); remove every entry of a flat DIR. */
static inline int
bench_mkdir(const char *dir, const struct bench_user *u)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	if (u != NULL && geteuid() == 0 && chown(dir, u->uid, u->gid) != 0)
		return -1;
	return 0;
}

static inline size_t
bench_empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

#endif
