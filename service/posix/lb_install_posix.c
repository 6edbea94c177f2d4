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

#include "lb_logrotate_conf.h"
#include "lb_plat.h"
#include "lb_posix.h"

#define LB_UNIT_NAME "linkbroker.service"
#define LB_UNIT_PATH "/etc/systemd/system/" LB_UNIT_NAME
#define LB_ETC_DIR "/etc/linkbroker"
#define LB_POLICY_PATH LB_ETC_DIR "/policy.ini"
#define LB_LOGROTATE_DIR "/etc/logrotate.d"
#define LB_LOGROTATE_PATH LB_LOGROTATE_DIR "/linkbroker"
/* The program packaging/logrotate.d/linkbroker names in its postrotate. */
#define LB_LOGROTATE_EXE "/usr/sbin/linkbrokerd"

/* Written when there is no policy yet and none was given: valid, and it
 * allows nothing until an administrator adds rules. */
static const char lb_deny_all_policy[] =
    "; LinkBroker policy, written by 'linkbrokerd install'. It allows nothing:\n"
    "; every request is denied until you add [key:NAME] and [rule:NAME] sections\n"
    "; (see config/examples/posix.ini and docs/linux-daemon.md). Check it with\n"
    ";   linkbrokerd check-config --flavor posix " LB_POLICY_PATH "\n"
    "; The broker reloads it on change or 'systemctl reload linkbroker'.\n"
    "\n"
    "[broker]\n"
    "endpoint = /run/linkbroker/broker.sock\n"
    "audit_log = /var/log/linkbroker/audit.log\n"
    "audit_sync = batch\n"
    "service_key = /etc/linkbroker/service.key\n"
    "service_public_key = /etc/linkbroker/service.pub\n"
    "max_clients = 64\n"
    "io_timeout_ms = 2000\n"
    "max_clock_skew_s = 60\n";

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

static int
lb_write_unit(const char *exe, char *err, size_t errlen)
{
	struct lb_buf b;
	int r;

	lb_buf_init(&b, 16 * 1024);
	r = lb_buf_printf(&b,
	    "# Written by 'linkbrokerd install'; 'linkbrokerd uninstall' removes it.\n"
	    "[Unit]\n"
	    "Description=LinkBroker: creates links for users where the policy allows\n"
	    "After=local-fs.target nss-user-lookup.target\n"
	    "\n"
	    "[Service]\n"
	    "Type=simple\n"
	    "ExecStart=%s run --config " LB_POLICY_PATH "\n"
	    "ExecReload=/bin/kill -HUP $MAINPID\n"
	    "Restart=on-failure\n"
	    "RestartSec=1s\n"
	    "RuntimeDirectory=linkbroker\n"
	    "RuntimeDirectoryMode=0755\n"
	    "UMask=0077\n"
	    "# Links are made in users' homes and shared trees: those stay visible\n"
	    "# and writable (ProtectHome=no, PrivateTmp=no, no ProtectSystem=strict).\n"
	    "ProtectHome=no\n"
	    "PrivateTmp=no\n"
	    "# /usr, /boot, /efi and /etc read-only (links there fail with EROFS) but\n"
	    "# the broker's own directory, where it makes its key on first start.\n"
	    "ProtectSystem=full\n"
	    "ReadWritePaths=" LB_ETC_DIR "\n"
	    "NoNewPrivileges=yes\n"
	    "# setfsuid/setfsgid/setgroups to act as the client; DAC, owner and chown\n"
	    "# for its own root files. Nothing else (no CAP_SYS_PTRACE, CAP_SYS_ADMIN).\n"
	    "CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_DAC_OVERRIDE CAP_FOWNER CAP_CHOWN\n"
	    "# syslog and NSS (sssd, nslcd, systemd-userdb) are Unix sockets; add\n"
	    "# AF_INET AF_INET6 if an NSS module talks to a directory server itself.\n"
	    "RestrictAddressFamilies=AF_UNIX\n"
	    "ProtectKernelTunables=yes\n"
	    "ProtectKernelModules=yes\n"
	    "ProtectKernelLogs=yes\n"
	    "ProtectControlGroups=yes\n"
	    "ProtectClock=yes\n"
	    "ProtectHostname=yes\n"
	    "RestrictNamespaces=yes\n"
	    "RestrictRealtime=yes\n"
	    "RestrictSUIDSGID=yes\n"
	    "LockPersonality=yes\n"
	    "MemoryDenyWriteExecute=yes\n"
	    "SystemCallArchitectures=native\n"
	    "LimitNOFILE=8192\n"
	    "\n"
	    "[Install]\n"
	    "WantedBy=multi-user.target\n", exe);
	if (r == LB_OK)
		r = lb_posix_write_file(LB_UNIT_PATH, b.data, b.len, 0644, err, errlen);
	else
		snprintf(err, errlen, "unit text: %s", lb_strerror(r));
	lb_buf_free(&b);
	return r;
}

/* packaging/logrotate.d/linkbroker with EXE in its postrotate, where
 * logrotate is installed (its directory is there): 0 written, 1 no
 * logrotate, -1 an error (in ERR). */
static int
lb_write_logrotate(const char *exe, char *err, size_t errlen)
{
	const char *text = (const char *)lb_logrotate_conf, *at;
	size_t len = sizeof(lb_logrotate_conf);
	struct lb_buf b;
	struct stat st;
	int r;

	if (stat(LB_LOGROTATE_DIR, &st) != 0 || !S_ISDIR(st.st_mode))
		return 1;
	lb_buf_init(&b, 64 * 1024);
	/* The file is ours and names the program once; that it is not NUL-ended
	 * is why memmem and not strstr. */
	at = memmem(text, len, LB_LOGROTATE_EXE, strlen(LB_LOGROTATE_EXE));
	if (at == NULL) {
		snprintf(err, errlen, "the logrotate file does not name %s", LB_LOGROTATE_EXE);
		r = LB_E_INVAL;
	} else if ((r = lb_buf_put(&b, text, (size_t)(at - text))) != LB_OK ||
	    (r = lb_buf_put_cstr(&b, exe)) != LB_OK ||
	    (r = lb_buf_put(&b, at + strlen(LB_LOGROTATE_EXE),
	        len - (size_t)(at - text) - strlen(LB_LOGROTATE_EXE))) != LB_OK) {
		snprintf(err, errlen, "logrotate file: %s", lb_strerror(r));
	} else {
		r = lb_posix_write_file(LB_LOGROTATE_PATH, b.data, b.len, 0644, err, errlen);
	}
	lb_buf_free(&b);
	return r == LB_OK ? 0 : -1;
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
		    sizeof(lb_deny_all_policy) - 1, 0644, err, sizeof(err)) != LB_OK) {
			fprintf(stderr, "linkbrokerd install: %s\n", err);
			return LB_EXIT_FAILED;
		}
		printf("wrote a deny-all policy to %s: add rules to allow links\n", LB_POLICY_PATH);
	}
	if (lb_write_unit(exe, err, sizeof(err)) != LB_OK) {
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
