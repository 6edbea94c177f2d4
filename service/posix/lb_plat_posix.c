/* lb_plat_posix: the POSIX platform layer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lb_plat.h"
#include "lb_posix.h"

void
lb_plat_sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

enum lb_flavor
lb_plat_flavor(void)
{
	return LB_FLAVOR_POSIX;
}

int
lb_plat_init(int argc, char **argv, int *argc_out, char ***argv_out)
{
	*argc_out = argc;
	*argv_out = argv;
	return LB_OK;
}

int
lb_plat_read_file(const char *path, size_t max, char **data, size_t *len,
    char *errbuf, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, r = LB_E_IO;

	*data = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(errbuf, errlen, "%s", strerror(errno));
		return LB_E_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "not a regular file");
		goto out;
	}
	if ((buf = malloc(max + 2)) == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	/* Read up to max + 1 bytes: one more than allowed means too big. */
	while (got < max + 1) {
		n = read(fd, buf + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(errbuf, errlen, "%s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		snprintf(errbuf, errlen, "larger than %zu bytes", max);
		r = LB_E_TOOBIG;
		goto out;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	buf = NULL;
	r = LB_OK;
out:
	free(buf);
	close(fd);
	return r;
}

static const struct lb_command lb_posix_commands[] = {
	{ "run", lb_cmd_run, "run [--config FILE] [--foreground]",
	  "Run the broker on the policy FILE (default /etc/linkbroker/policy.ini) until\n"
	  "SIGTERM or SIGINT; SIGHUP rereads the policy. --foreground: every log line on\n"
	  "stderr too (systemd runs it without). Exit 0 stopped, 2 a bad policy or key,\n"
	  "4 it could not start (not root, the socket, the audit log), 70 restoring\n"
	  "root's file-system credentials failed.\n" },
	{ "install", lb_cmd_install, "install [--policy FILE]",
	  "Install from a source build: the systemd unit (this program's path), the\n"
	  "logrotate file, /etc/linkbroker and a policy (FILE, or one that allows\n"
	  "nothing), then enable and start the unit if systemd runs. Not needed after\n"
	  "the Debian package. Exit 0, 2 a bad policy, 4 a step failed.\n" },
	{ "uninstall", lb_cmd_uninstall, "uninstall",
	  "Stop and disable the unit `install` wrote and remove it; the policy, the\n"
	  "service key and the audit log stay.\n" },
	{ "rotate", lb_cmd_rotate, "rotate [--reopen] [--config FILE]",
	  "Rotate the running broker's audit log: it ends the file with a rotate record\n"
	  "and goes on in a new one chained to it. Without --reopen the broker renames\n"
	  "the log to LOG.1 itself (never over one); --reopen: logrotate renamed it.\n"
	  "Exit 0, 3 no broker answers on the socket, 4 it did not rotate.\n" },
};

const struct lb_command *
lb_plat_commands(size_t *n)
{
	*n = sizeof(lb_posix_commands) / sizeof(lb_posix_commands[0]);
	return lb_posix_commands;
}
