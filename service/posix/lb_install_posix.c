/* lb_install_posix: `linkbrokerd install | uninstall`: the systemd unit,
 * /etc/linkbroker, a starting policy and the logrotate file; systemctl
 * through fork/execvp. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Generated from packaging/ (service/CMakeLists.txt): the very files the
 * Debian package installs. */
#include "lb_deny_all_policy.h"
#include "lb_logrotate_conf.h"
#include "lb_unit_text.h"
#include "lb_plat.h"
#include "lb_posix.h"

#define LB_UNIT_NAME "linkbroker.service"
#define LB_UNIT_PATH "/etc/systemd/system/" LB_UNIT_NAME
#define LB_ETC_DIR "/etc/linkbroker"
#define LB_POLICY_PATH LB_ETC_DIR "/policy.ini"
#define LB_LOGROTATE_DIR "/etc/logrotate.d"
#define LB_LOGROTATE_PATH LB_LOGROTATE_DIR "/linkbroker"
/* The program the unit's ExecStart and the logrotate file's postrotate name
 * (where the package installs it); `install` puts its own path there. */
#define LB_PACKAGE_EXE "/usr/sbin/linkbrokerd"

/* systemd would split or expand anything else in ExecStart=. */
static int
lb_unit_safe_path(const char *s)
{
	if (s[0] != '/')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("/._+-", *s) != NULL))
			return 0;
	return 1;
}

static int
lb_systemd_running(char *pid1, size_t n)
{
	struct stat st;
	FILE *f;

	if (stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode))
		return 1;
	snprintf(pid1, n, "unknown");
	if ((f = fopen("/proc/1/comm", "re")) != NULL) {
		if (fgets(pid1, (int)n, f) != NULL)
			pid1[strcspn(pid1, "\n")] = '\0';
		fclose(f);
	}
	return 0;
}

/* Run systemctl ARGS...; 0 if it exited 0. */
static int
lb_systemctl(const char *a1, const char *a2, const char *a3)
{
	char *argv[5];
	pid_t pid;
	int status;

	argv[0] = (char *)"systemctl";
	argv[1] = (char *)a1;
	argv[2] = (char *)a2;
	argv[3] = (char *)a3;
	argv[4] = NULL;
	printf("running: systemctl %s%s%s%s%s\n", a1, a2 ? " " : "", a2 ? a2 : "",
	    a3 ? " " : "", a3 ? a3 : "");
	fflush(stdout);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "linkbrokerd: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "linkbrokerd: cannot run systemctl: %s\n", strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "linkbrokerd: systemctl %s failed\n", a1);
		return -1;
	}
	return 0;
}

/* Write TEXT (LEN bytes, one of the files from packaging/) to PATH with
 * EXE in place of the one LB_PACKAGE_EXE it names. */
static int
lb_write_with_exe(const char *path, const unsigned char *text, size_t len,
    const char *exe, char *err, size_t errlen)
{
	const char *t = (const char *)text, *at, *end = t + len;
	size_t n = strlen(LB_PACKAGE_EXE);
	struct lb_buf b;
	int r;

	/* memmem, not strstr: the arrays are not NUL-ended. Exactly one, or the
	 * file changed in a way this code does not know. */
	at = memmem(t, len, LB_PACKAGE_EXE, n);
	if (at == NULL || memmem(at + n, (size_t)(end - at) - n, LB_PACKAGE_EXE, n) != NULL) {
		snprintf(err, errlen, "%s: the text from packaging/ does not name %s once", path,
		    LB_PACKAGE_EXE);
		return LB_E_INVAL;
	}
	lb_buf_init(&b, 64 * 1024);
	if ((r = lb_buf_put(&b, t, (size_t)(at - t))) != LB_OK ||
	    (r = lb_buf_put_cstr(&b, exe)) != LB_OK ||
	    (r = lb_buf_put(&b, at + n, (size_t)(end - at) - n)) != LB_OK)
		snprintf(err, errlen, "%s: %s", path, lb_strerror(r));
	else
		r = lb_posix_write_file(path, b.data, b.len, 0644, err, errlen);
	lb_buf_free(&b);
	return r;
}

/* The logrotate file where logrotate is installed (its directory is
 * there): 0 written, 1 no logrotate, -1 an error (in ERR). */
static int
lb_write_logrotate(const char *exe, char *err, size_t errlen)
{
	struct stat st;

	if (stat(LB_LOGROTATE_DIR, &st) != 0 || !S_ISDIR(st.st_mode))
		return 1;
	return lb_write_with_exe(LB_LOGROTATE_PATH, lb_logrotate_conf, sizeof(lb_logrotate_conf),
	    exe, err, errlen) == LB_OK ? 0 : -1;
}

/* Copy FILE to the policy path after it loads cleanly. */
static int
lb_install_policy(const char *file, char *err, size_t errlen)
{
	struct lb_policy *p = NULL;
	struct lb_buf perr;
	char *data = NULL;
	const char *msg;
	size_t len;
	int r;

	lb_buf_init(&perr, 64 * 1024);
	if ((r = lb_plat_read_file(file, LB_POLICY_FILE_MAX, &data, &len, err, errlen)) != LB_OK)
		goto out;
	if ((r = lb_policy_load_buffer(file, data, len, LB_FLAVOR_POSIX, &p, &perr)) != LB_OK) {
		if (lb_buf_cstr(&perr, &msg) != LB_OK)
			msg = lb_strerror(r);
		snprintf(err, errlen, "%s", msg);
		goto out;
	}
	r = lb_posix_write_file(LB_POLICY_PATH, data, len, 0644, err, errlen);
out:
	lb_policy_free(p);
	lb_buf_free(&perr);
	free(data);
	return r;
}

int
lb_cmd_install(int argc, char **argv)
{
	const char *policy = NULL;
	char exe[4096], err[1024], pid1[64];
	struct stat st;
	ssize_t n;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
			policy = argv[++i];
		} else {
			fprintf(stderr, "usage: linkbrokerd install [--policy FILE]\n");
			return LB_EXIT_BAD_INPUT;
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, "linkbrokerd install: must run as root\n");
		return LB_EXIT_FAILED;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0) {
		fprintf(stderr, "linkbrokerd install: /proc/self/exe: %s\n", strerror(errno));
		return LB_EXIT_FAILED;
	}
	exe[n] = '\0';
	if (!lb_unit_safe_path(exe)) {
		fprintf(stderr, "linkbrokerd install: install the binary under a path of letters, digits "
		    "and / . _ + - first (it is %s)\n", exe);
		return LB_EXIT_FAILED;
	}
	umask(022);
	if (lb_posix_ensure_dir(LB_ETC_DIR, 0755, err, sizeof(err)) != LB_OK) {
		fprintf(stderr, "linkbrokerd install: %s\n", err);
		return LB_EXIT_FAILED;
	}
	if (lstat(LB_POLICY_PATH, &st) == 0) {
		printf("keeping the existing policy %s%s\n", LB_POLICY_PATH,
		    policy != NULL ? " (--policy not copied)" : "");
	} else if (policy != NULL) {
		if (lb_install_policy(policy, err, sizeof(err)) != LB_OK) {
			fprintf(stderr, "linkbrokerd install: %s\n", err);
			return LB_EXIT_FAILED;
		}
		printf("policy %s copied to %s\n", policy, LB_POLICY_PATH);
	} else {
		if (lb_posix_write_file(LB_POLICY_PATH, lb_deny_all_policy,
		    sizeof(lb_deny_all_policy), 0644, err, sizeof(err)) != LB_OK) {
			fprintf(stderr, "linkbrokerd install: %s\n", err);
			return LB_EXIT_FAILED;
		}
		printf("wrote a deny-all policy to %s: add rules to allow links\n", LB_POLICY_PATH);
	}
	if (lb_write_with_exe(LB_UNIT_PATH, lb_unit_text, sizeof(lb_unit_text), exe,
	    err, sizeof(err)) != LB_OK) {
		fprintf(stderr, "linkbrokerd install: %s\n", err);
		return LB_EXIT_FAILED;
	}
	printf("unit written: %s (ExecStart=%s run --config %s)\n", LB_UNIT_PATH, exe, LB_POLICY_PATH);
	switch (lb_write_logrotate(exe, err, sizeof(err))) {
	case 0:
		printf("logrotate file written: %s (create mode; postrotate: %s rotate --reopen)\n",
		    LB_LOGROTATE_PATH, exe);
		break;
	case 1:
		printf("logrotate is not installed (no %s): the audit log is not rotated\n",
		    LB_LOGROTATE_DIR);
		break;
	default:
		fprintf(stderr, "linkbrokerd install: %s\n", err);
		return LB_EXIT_FAILED;
	}
	if (!lb_systemd_running(pid1, sizeof(pid1))) {
		printf("systemd is not running (PID 1 is %s): unit written, not enabled\n", pid1);
		return LB_EXIT_OK;
	}
	if (lb_systemctl("daemon-reload", NULL, NULL) != 0 ||
	    lb_systemctl("enable", "--now", LB_UNIT_NAME) != 0)
		return LB_EXIT_FAILED;
	printf("linkbroker enabled and started\n");
	return LB_EXIT_OK;
}

int
lb_cmd_uninstall(int argc, char **argv)
{
	char pid1[64];
	int systemd, rc = LB_EXIT_OK;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: linkbrokerd uninstall\n");
		return LB_EXIT_BAD_INPUT;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "linkbrokerd uninstall: must run as root\n");
		return LB_EXIT_FAILED;
	}
	systemd = lb_systemd_running(pid1, sizeof(pid1));
	if (systemd && lb_systemctl("disable", "--now", LB_UNIT_NAME) != 0)
		rc = LB_EXIT_FAILED;   /* still remove the unit */
	if (unlink(LB_UNIT_PATH) == 0) {
		printf("removed %s\n", LB_UNIT_PATH);
	} else if (errno == ENOENT) {
		printf("%s was not installed\n", LB_UNIT_PATH);
	} else {
		fprintf(stderr, "linkbrokerd uninstall: %s: %s\n", LB_UNIT_PATH, strerror(errno));
		return LB_EXIT_FAILED;
	}
	if (unlink(LB_LOGROTATE_PATH) == 0) {
		printf("removed %s\n", LB_LOGROTATE_PATH);
	} else if (errno != ENOENT) {
		fprintf(stderr, "linkbrokerd uninstall: %s: %s\n", LB_LOGROTATE_PATH, strerror(errno));
		rc = LB_EXIT_FAILED;
	}
	if (systemd && lb_systemctl("daemon-reload", NULL, NULL) != 0)
		rc = LB_EXIT_FAILED;
	if (!systemd)
		printf("systemd is not running (PID 1 is %s): nothing to stop\n", pid1);
	printf("kept: %s (policy, service key) and the audit log\n", LB_ETC_DIR);
	return rc;
}
