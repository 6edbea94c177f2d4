/* lb_rotate_posix: `linkbrokerd rotate [--reopen] [--config FILE]`: tell the
 * running broker to rotate its audit log (docs/audit.md, "Rotation"). The
 * broker is found through its socket: SO_PEERCRED on a connection gives the
 * pid of the root process listening there, no pid file to go stale. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lb_posix.h"

#define LB_DEFAULT_CONFIG "/etc/linkbroker/policy.ini"
#define LB_ROTATE_WAIT_MS 5000
#define LB_ROTATE_POLL_MS 20

static int
lb_rotate_usage(const char *what)
{
	fprintf(stderr, "linkbrokerd rotate: %s\n", what);
	fprintf(stderr, "usage: linkbrokerd rotate [--reopen] [--config FILE]\n"
	    "  rotate the running broker's audit log: it ends the file with a \"rotate\"\n"
	    "  record and goes on in a new one whose first record chains to it. Without\n"
	    "  --reopen the broker renames the log to LOG.1 itself (never over one);\n"
	    "  --reopen is for logrotate's postrotate, after it renamed the log.\n");
	return LB_EXIT_BAD_INPUT;
}

/* The pid of the root process listening on the Unix socket PATH. */
static int
lb_broker_pid(const char *path, pid_t *pid)
{
	struct sockaddr_un sa;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd, r = LB_E_IO;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return LB_E_PATH_LONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return LB_E_IO;
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "linkbrokerd rotate: no broker answers on %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof(cr)) {
		fprintf(stderr, "linkbrokerd rotate: %s: SO_PEERCRED: %s\n", path, strerror(errno));
		goto out;
	}
	if (cr.uid != 0 || cr.pid <= 0) {
		fprintf(stderr, "linkbrokerd rotate: the process on %s does not run as root: not the broker\n",
		    path);
		r = LB_E_PERM;
		goto out;
	}
	*pid = cr.pid;
	r = LB_OK;
out:
	close(fd);
	return r;
}

static void
lb_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
lb_cmd_rotate(int argc, char **argv)
{
	const char *config = LB_DEFAULT_CONFIG, *log;
	struct lb_policy *p = NULL;
	struct lb_buf err;
	struct stat before, st;
	const char *msg;
	char *old = NULL;
	size_t n;
	pid_t pid;
	long waited;
	int i, reopen = 0, had, rc = LB_EXIT_FAILED;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--reopen") == 0)
			reopen = 1;
		else
			return lb_rotate_usage("unknown option");
	}
	if (geteuid() != 0) {
		fprintf(stderr, "linkbrokerd rotate: must run as root (it signals the broker)\n");
		return LB_EXIT_FAILED;
	}
	lb_buf_init(&err, 64 * 1024);
	if (lb_posix_load_policy(config, &p, &err) != LB_OK) {
		if (lb_buf_cstr(&err, &msg) != LB_OK || msg[0] == '\0')
			msg = "cannot load the policy";
		fprintf(stderr, "linkbrokerd rotate: %s\n", msg);
		rc = LB_EXIT_BAD_INPUT;
		goto out;
	}
	log = p->broker.audit_log;
	n = strlen(log) + 3;
	if ((old = malloc(n)) == NULL)
		goto out;
	snprintf(old, n, "%s.1", log);
	had = stat(log, &before) == 0;
	if (!reopen && had && lstat(old, &st) == 0) {
		fprintf(stderr, "linkbrokerd rotate: %s exists; the broker never renames over it (move it "
		    "away, or let logrotate number the files and run 'linkbrokerd rotate --reopen')\n", old);
		goto out;
	}
	if (lb_broker_pid(p->broker.endpoint, &pid) != LB_OK) {
		rc = LB_EXIT_UNREACHABLE;
		goto out;
	}
	if (kill(pid, reopen ? SIGUSR2 : SIGUSR1) != 0) {
		fprintf(stderr, "linkbrokerd rotate: cannot signal the broker (pid %ld): %s\n", (long)pid,
		    strerror(errno));
		goto out;
	}
	/* Done when the file at LOG is a new one holding its first record. */
	for (waited = 0; waited < LB_ROTATE_WAIT_MS; waited += LB_ROTATE_POLL_MS) {
		if (stat(log, &st) == 0 && st.st_size > 0 &&
		    (reopen || !had || st.st_ino != before.st_ino || st.st_dev != before.st_dev)) {
			printf("audit log rotated: %s continues the chain%s%s\n", log,
			    reopen ? "" : "; the previous file is ", reopen ? "" : old);
			rc = LB_EXIT_OK;
			goto out;
		}
		lb_sleep_ms(LB_ROTATE_POLL_MS);
	}
	fprintf(stderr, "linkbrokerd rotate: the broker (pid %ld) did not start a new %s within %d s; "
	    "see its log (syslog)\n", (long)pid, log, LB_ROTATE_WAIT_MS / 1000);
out:
	free(old);
	lb_policy_free(p);
	lb_buf_free(&err);
	return rc;
}
