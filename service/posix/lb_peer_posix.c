/* lb_peer_posix: who is on the other end of the socket: the uid the kernel
 * reports (SO_PEERCRED), then that account's name, home and groups. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_posix.h"
#include "lb_str.h"

#define LB_NSS_BUF_MAX (1024 * 1024)   /* getpwuid_r / getgrgid_r buffer cap */
#define LB_GROUPS_MAX 65536            /* NGROUPS_MAX on Linux */

/* The id the kernel reports for ids that do not map into our namespace
 * (read once: it is set at boot). */
static long
lb_overflow_id_read(const char *file)
{
	char buf[32];
	FILE *f;
	long v = 65534;

	if ((f = fopen(file, "re")) == NULL)
		return v;
	if (fgets(buf, sizeof(buf), f) != NULL) {
		char *end;
		long x;

		errno = 0;
		x = strtol(buf, &end, 10);
		if (errno == 0 && end != buf)
			v = x;
	}
	fclose(f);
	return v;
}

static long
lb_overflow_id(int gid)
{
	static long uid_v = -1, gid_v = -1;

	if (uid_v < 0) {
		uid_v = lb_overflow_id_read("/proc/sys/kernel/overflowuid");
		gid_v = lb_overflow_id_read("/proc/sys/kernel/overflowgid");
	}
	return gid ? gid_v : uid_v;
}

int
lb_posix_peer_uid(int fd, uid_t *uid, char *err, size_t errlen)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 || len != sizeof(uc)) {
		snprintf(err, errlen, "SO_PEERCRED: %s", strerror(errno));
		return LB_E_IO;
	}
	/* A client in a user namespace that does not map its ids into ours
	 * shows up as the overflow id: that is nobody's identity, refuse it. */
	if ((long)uc.uid == lb_overflow_id(0) || (long)uc.gid == lb_overflow_id(1)) {
		snprintf(err, errlen, "pid %ld: uid %lu / gid %lu is the kernel's overflow id (nobody, or an unmapped user namespace)",
		    (long)uc.pid, (unsigned long)uc.uid, (unsigned long)uc.gid);
		return LB_E_PERM;
	}
	*uid = uc.uid;
	return LB_OK;
}

/* getpwuid_r with a growing buffer; LB_E_PERM if there is no entry. */
static int
lb_getpw(uid_t uid, struct passwd *pw, char **buf, char *err, size_t errlen)
{
	struct passwd *res = NULL;
	size_t size = 1024;
	int e;

	for (;;) {
		char *nb;

		if ((nb = realloc(*buf, size)) == NULL)
			return LB_E_NOMEM;
		*buf = nb;
		e = getpwuid_r(uid, pw, *buf, size, &res);
		if (e != ERANGE || size >= LB_NSS_BUF_MAX)
			break;
		size *= 2;
	}
	if (e != 0) {
		snprintf(err, errlen, "uid %lu: account lookup failed: %s", (unsigned long)uid, strerror(e));
		return LB_E_IO;
	}
	if (res == NULL) {
		snprintf(err, errlen, "uid %lu has no account (passwd entry); refused", (unsigned long)uid);
		return LB_E_PERM;
	}
	return LB_OK;
}

/* Name of group GID, or NULL (no entry is not an error: the gid still counts). */
static int
lb_group_name(gid_t gid, char **out)
{
	struct group gr, *res = NULL;
	char *buf = NULL;
	size_t size = 1024;
	int e, r = LB_OK;

	*out = NULL;
	for (;;) {
		char *nb;

		if ((nb = realloc(buf, size)) == NULL) {
			r = LB_E_NOMEM;
			goto out;
		}
		buf = nb;
		e = getgrgid_r(gid, &gr, buf, size, &res);
		if (e != ERANGE || size >= LB_NSS_BUF_MAX)
			break;
		size *= 2;
	}
	if (e == 0 && res != NULL && (*out = lb_strdup(gr.gr_name)) == NULL)
		r = LB_E_NOMEM;
out:
	free(buf);
	return r;
}

int
lb_posix_peer_from_uid(uid_t uid, struct lb_posix_peer **out, char *err, size_t errlen)
{
	struct lb_posix_peer *p = NULL;
	struct passwd pw;
	char *pwbuf = NULL;
	gid_t *gids = NULL;
	int ng = 32, r;
	size_t i;

	*out = NULL;
	if ((r = lb_getpw(uid, &pw, &pwbuf, err, errlen)) != LB_OK)
		goto out;
	r = LB_E_NOMEM;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto out;
	if ((p->user = lb_strdup(pw.pw_name)) == NULL ||
	    (p->home = lb_strdup(pw.pw_dir != NULL ? pw.pw_dir : "")) == NULL)
		goto out;
	/* getgrouplist says how many it needs when the array is too small. */
	for (;;) {
		gid_t *ngids;
		int want = ng;

		if ((ngids = realloc(gids, (size_t)want * sizeof(*gids))) == NULL)
			goto out;
		gids = ngids;
		if (getgrouplist(pw.pw_name, pw.pw_gid, gids, &ng) >= 0)
			break;
		if (ng <= want)
			ng = want * 2;
		if (ng > LB_GROUPS_MAX) {
			snprintf(err, errlen, "user %s: more than %d groups", pw.pw_name, LB_GROUPS_MAX);
			r = LB_E_RANGE;
			goto out;
		}
	}
	p->cred.uid = uid;
	p->cred.gid = pw.pw_gid;
	p->cred.gids = gids;
	p->cred.n_gids = (size_t)ng;
	gids = NULL;

	if ((p->groups = calloc(p->cred.n_gids ? p->cred.n_gids : 1, sizeof(*p->groups))) == NULL ||
	    (p->group_names = calloc(p->cred.n_gids ? p->cred.n_gids : 1, sizeof(*p->group_names))) == NULL)
		goto out;
	p->n_groups = p->cred.n_gids;
	for (i = 0; i < p->n_groups; i++) {
		if ((r = lb_group_name(p->cred.gids[i], &p->group_names[i])) != LB_OK)
			goto out;
		/* POSIX groups have no SID; policies name them. */
		p->groups[i].name = p->group_names[i];
		p->groups[i].sid = NULL;
		p->groups[i].deny_only = 0;
	}
	snprintf(p->sid, sizeof(p->sid), "%lu", (unsigned long)uid);
	snprintf(p->peer.id, sizeof(p->peer.id), "uid:%lu", (unsigned long)uid);
	p->peer.who.user = p->user;
	p->peer.who.sid = p->sid;
	p->peer.who.home = p->home[0] != '\0' ? p->home : NULL;
	p->peer.who.groups = p->groups;
	p->peer.who.n_groups = p->n_groups;
	p->peer.plat = &p->cred;
	p->refs = 1;
	*out = p;
	p = NULL;
	r = LB_OK;
out:
	if (r == LB_E_NOMEM)
		snprintf(err, errlen, "out of memory");
	lb_posix_peer_free(p);
	free(gids);
	free(pwbuf);
	return r;
}

void
lb_posix_peer_free(struct lb_posix_peer *p)
{
	size_t i;

	if (p == NULL || --p->refs > 0)
		return;
	if (p->group_names != NULL)
		for (i = 0; i < p->n_groups; i++)
			free(p->group_names[i]);
	free(p->group_names);
	free(p->groups);
	free(p->cred.gids);
	free(p->user);
	free(p->home);
	free(p);
}

/* ---- the cache of account lookups ---- */

void
lb_posix_peer_cache_clear(struct lb_posix_peer_cache *pc)
{
	size_t i;

	for (i = 0; i < LB_PEER_CACHE_SLOTS; i++) {
		lb_posix_peer_free(pc->peer[i]);
		pc->peer[i] = NULL;
	}
}

/* Drop everything if /etc/passwd or /etc/group changed (or cannot be seen). */
static void
lb_peer_cache_check_files(struct lb_posix_peer_cache *pc)
{
	static const char *const files[2] = { "/etc/passwd", "/etc/group" };
	uint64_t fp[6];
	struct stat st;
	size_t i;

	for (i = 0; i < 2; i++) {
		memset(fp, 0, sizeof(fp));
		if (stat(pc->watch[i] != NULL ? pc->watch[i] : files[i], &st) == 0) {
			fp[0] = (uint64_t)st.st_dev;
			fp[1] = (uint64_t)st.st_ino;
			fp[2] = (uint64_t)st.st_size;
			fp[3] = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
			fp[4] = (uint64_t)st.st_ctim.tv_sec * 1000000000u + (uint64_t)st.st_ctim.tv_nsec;
			fp[5] = 1;
		}
		if (fp[5] == 0 || memcmp(fp, pc->files[i], sizeof(fp)) != 0) {
			lb_posix_peer_cache_clear(pc);
			memcpy(pc->files[i], fp, sizeof(fp));
		}
	}
}

int
lb_posix_peer_lookup(struct lb_posix_peer_cache *pc, uid_t uid, int64_t now_ms,
    struct lb_posix_peer **out, char *err, size_t errlen)
{
	size_t i, victim = 0;
	int r;

	lb_peer_cache_check_files(pc);
	for (i = 0; i < LB_PEER_CACHE_SLOTS; i++) {
		struct lb_posix_peer *p = pc->peer[i];

		if (p != NULL && now_ms - pc->born[i] >= LB_PEER_CACHE_MS) {
			lb_posix_peer_free(p);
			pc->peer[i] = p = NULL;
		}
		if (p != NULL && p->cred.uid == uid) {
			p->refs++;
			*out = p;
			return LB_OK;
		}
		/* an empty slot, or else the oldest entry, makes room */
		if (pc->peer[victim] != NULL && (p == NULL || pc->born[i] < pc->born[victim]))
			victim = i;
	}
	if ((r = lb_posix_peer_from_uid(uid, out, err, errlen)) != LB_OK)
		return r;
	lb_posix_peer_free(pc->peer[victim]);
	pc->peer[victim] = *out;
	pc->born[victim] = now_ms;
	(*out)->refs++;
	return LB_OK;
}
