/* lb_run_posix: linkbroker run on POSIX: put liblinkbroker-shim.so in
 * front of LD_PRELOAD and exec the command, which then is the process
 * (its exit status is run's; its children inherit the preload). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_buf.h"
#include "lb_err.h"
#include "lb_run.h"

#define LB_SHIM_NAME "liblinkbroker-shim.so"
#ifndef LB_SHIM_REL_DIR
#define LB_SHIM_REL_DIR "../lib/linkbroker"
#endif

/* OUT := DIR/SUB/liblinkbroker-shim.so (SUB NULL: DIR/...) if it is
 * readable, else LB_E_NOENT (OUT empty). */
static int
lb_shim_at(struct lb_buf *out, const char *dir, const char *sub)
{
	const char *p;

	lb_buf_reset(out);
	if (lb_buf_printf(out, "%s/%s%s%s", dir, sub != NULL ? sub : "", sub != NULL ? "/" : "",
	    LB_SHIM_NAME) != LB_OK || lb_buf_cstr(out, &p) != LB_OK || access(p, R_OK) != 0) {
		lb_buf_reset(out);
		return LB_E_NOENT;
	}
	return LB_OK;
}

/* OUT := the shim to preload: $LINKBROKER_SHIM, else next to this
 * program (the build tree), else LB_SHIM_REL_DIR from it (installed).
 * LB_E_NOENT if none is readable. */
static int
lb_shim_path(struct lb_buf *out)
{
	char exe[PATH_MAX], *slash;
	const char *env = getenv("LINKBROKER_SHIM");
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		lb_buf_reset(out);
		if (lb_buf_put_cstr(out, env) != LB_OK)
			return LB_E_TOOBIG;
		return access(env, R_OK) == 0 ? LB_OK : LB_E_NOENT;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return LB_E_NOENT;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return LB_E_NOENT;
	*slash = '\0';
	if (lb_shim_at(out, exe, NULL) == LB_OK)
		return LB_OK;
	return lb_shim_at(out, exe, LB_SHIM_REL_DIR);
}

/* LD_PRELOAD := SHIM, then what was there (unless SHIM already is). */
static int
lb_preload(const char *shim)
{
	const char *old = getenv("LD_PRELOAD");
	struct lb_buf v;
	const char *s;
	int r = -1;

	if (old != NULL && strstr(old, shim) != NULL)
		return 0;
	lb_buf_init(&v, 2 * PATH_MAX + (old != NULL ? strlen(old) : 0));
	if (lb_buf_put_cstr(&v, shim) == LB_OK &&
	    (old == NULL || old[0] == '\0' || lb_buf_printf(&v, ":%s", old) == LB_OK) &&
	    lb_buf_cstr(&v, &s) == LB_OK)
		r = setenv("LD_PRELOAD", s, 1);
	lb_buf_free(&v);
	return r;
}

int
lb_run(int argc, char **argv, const char *endpoint, const char *service_key)
{
	struct lb_buf shim;
	const char *path;
	int err;

	(void)argc;
	lb_buf_init(&shim, 2 * PATH_MAX);
	if (lb_shim_path(&shim) != LB_OK || lb_buf_cstr(&shim, &path) != LB_OK) {
		fprintf(stderr, "linkbroker: run: cannot find %s (next to linkbroker, or in %s from it); "
		    "set LINKBROKER_SHIM to its path\n", LB_SHIM_NAME, LB_SHIM_REL_DIR);
		lb_buf_free(&shim);
		return LB_RUN_EXIT_FAILED;
	}
	if (lb_preload(path) != 0 ||
	    (endpoint != NULL && setenv("LINKBROKER_ENDPOINT", endpoint, 1) != 0) ||
	    (service_key != NULL && setenv("LINKBROKER_SERVICE_KEY", service_key, 1) != 0)) {
		fprintf(stderr, "linkbroker: run: cannot set the environment: %s\n", strerror(errno));
		lb_buf_free(&shim);
		return LB_RUN_EXIT_FAILED;
	}
	lb_buf_free(&shim);
	fflush(NULL);
	execvp(argv[0], argv);
	err = errno;
	fprintf(stderr, "linkbroker: run: %s: %s\n", argv[0], strerror(err));
	return err == ENOENT || err == ENOTDIR ? LB_RUN_EXIT_NOTFOUND : LB_RUN_EXIT_NOEXEC;
}
