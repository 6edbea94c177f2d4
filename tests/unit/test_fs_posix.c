/* Unit tests for the POSIX file-system operations and peer identity: links
 * made with the client's credentials (nobody/nogroup here), never replacing,
 * refused where the client has no rights, decided on resolved paths, and
 * root's credentials back after every call. Needs root; skips otherwise. */
#ifdef _WIN32
#include <stdio.h>

int
main(void)
{
	printf("test_fs_posix: POSIX only, skipped on Windows\n");
	return 0;
}
#else
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file-system and peer modules are compiled into this test directly:
 * the unit-test target links only lb_common and lb_config. */
#include "../../service/posix/lb_fs_posix.c"
#include "../../service/posix/lb_log_posix.c"
#include "../../service/posix/lb_peer_posix.c"

static const struct lb_fs_ops *fs = &lb_posix_fs_ops;
static int g_root;
static char g_dir[64];                 /* nobody's 0755 directory */
static struct lb_posix_peer *g_nobody;
static gid_t g_groups[256];
static int g_n_groups;

#define NEED_ROOT()                                                          \
	do {                                                                 \
		if (!g_root) {                                               \
			print_message("skipped: needs root (switches to nobody's credentials)\n"); \
			skip();                                              \
		}                                                            \
	} while (0)

static void
path_of(const char *s, struct lb_path *p)
{
	assert_int_equal(lb_path_canon(LB_FLAVOR_POSIX, s, strlen(s), p), LB_OK);
}

static const char *
in_dir(const char *name)
{
	static char buf[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", g_dir, name);
	return buf[k];
}

/* Field FIELD (0-based after the label) of the "Uid:" or "Gid:" line. */
static long
status_id(const char *label, int field)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	long v = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, label, strlen(label)) == 0) {
			char *p = line + strlen(label), *end;
			int i;

			for (i = 0; i <= field; i++) {
				v = strtol(p, &end, 10);
				p = end;
			}
			break;
		}
	}
	fclose(f);
	return v;
}

/* Root again, in every sense the kernel checks. */
static void
assert_root_creds(void)
{
	gid_t now[256];
	int n, fd;

	assert_int_equal(getuid(), 0);
	assert_int_equal(geteuid(), 0);
	assert_int_equal(status_id("Uid:", 3), 0);   /* real effective saved fs */
	assert_int_equal(status_id("Gid:", 3), 0);
	n = getgroups(256, now);
	assert_int_equal(n, g_n_groups);
	assert_memory_equal(now, g_groups, (size_t)n * sizeof(gid_t));
	/* Root's own 0600 file in a 0700 directory... */
	fd = open(in_dir("rootonly/secret"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	/* ...and nobody's 0600 file in nobody's 0700 directory: only with
	 * the file-system capabilities back. */
	fd = open(in_dir("private/mine"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
}

static void
make_file(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
	assert_int_equal(chown(path, uid, gid), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	assert_int_equal(mkdir(path, mode), 0);
	assert_int_equal(chown(path, uid, gid), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static int
setup(void **state)
{
	char err[256];
	struct passwd *pw;
	uid_t u;
	gid_t g;

	(void)state;
	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam("nobody")) == NULL) {
		print_message("skipped: no 'nobody' account\n");
		return 0;
	}
	u = pw->pw_uid;
	g = pw->pw_gid;
	if (lb_posix_peer_from_uid(u, &g_nobody, err, sizeof(err)) != LB_OK) {
		print_message("setup: %s\n", err);
		return -1;
	}
	snprintf(g_dir, sizeof(g_dir), "/tmp/lbfs.XXXXXX");
	if (mkdtemp(g_dir) == NULL || chown(g_dir, u, g) != 0 || chmod(g_dir, 0755) != 0)
		return -1;
	if ((g_n_groups = getgroups(256, g_groups)) < 0)
		return -1;
	g_root = 1;
	make_dir(in_dir("rootonly"), 0700, 0, 0);
	make_file(in_dir("rootonly/secret"), 0600, 0, 0);
	make_dir(in_dir("private"), 0700, u, g);
	make_file(in_dir("private/mine"), 0600, u, g);
	make_file(in_dir("rootfile"), 0644, 0, 0);
	make_file(in_dir("own"), 0644, u, g);
	make_dir(in_dir("links"), 0755, u, g);
	assert_int_equal(symlink("/etc", in_dir("etclink")), 0);
	assert_int_equal(lchown(in_dir("etclink"), u, g), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (g_dir[0] != '\0' && strncmp(g_dir, "/tmp/lbfs.", 10) == 0)
		nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	lb_posix_peer_free(g_nobody);
	return 0;
}

/* open_parent of LINK as nobody; returns the status, fills *dir and RESOLVED. */
static int
open_parent(const char *link, void **dir, struct lb_path *resolved)
{
	struct lb_path lp;
	int r;

	path_of(link, &lp);
	r = fs->open_parent(&g_nobody->peer, &lp, dir, resolved);
	lb_path_free(&lp);
	assert_root_creds();
	return r;
}

static void
test_symlink_created_as_client_and_owned_by_client(void **state)
{
	struct lb_path res = { 0 };
	struct stat st;
	void *dir = NULL;
	char buf[256];
	ssize_t n;

	(void)state;
	NEED_ROOT();
	assert_int_equal(open_parent(in_dir("links/l1"), &dir, &res), LB_OK);
	assert_string_equal(res.s, in_dir("links"));
	assert_int_equal(fs->create(&g_nobody->peer, dir, "l1", LB_KIND_SYMLINK, "../own", NULL), LB_OK);
	assert_root_creds();
	n = readlink(in_dir("links/l1"), buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "../own");
	assert_int_equal(lstat(in_dir("links/l1"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_uid, g_nobody->cred.uid);
	assert_int_equal(st.st_gid, g_nobody->cred.gid);
	/* its identity: the link's own device and inode, not its target's */
	{
		char id[LB_FILE_ID_MAX], want[LB_FILE_ID_MAX];

		assert_int_equal(fs->identify(&g_nobody->peer, dir, "l1", id), LB_OK);
		snprintf(want, sizeof(want), "%llu:%llu", (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
		assert_string_equal(id, want);
		assert_true(lb_file_id_ok(id, strlen(id)));
		assert_int_equal(fs->identify(&g_nobody->peer, dir, "nothing-here", id), LB_E_NOENT);
		assert_int_equal(fs->identify(&g_nobody->peer, dir, "../l1", id), LB_E_INVAL);
	}
	fs->close(dir);
	lb_path_free(&res);
}

static void
test_create_never_replaces_existing(void **state)
{
	struct lb_path res = { 0 };
	void *dir = NULL;
	char buf[256];
	ssize_t n;

	(void)state;
	NEED_ROOT();
	assert_int_equal(open_parent(in_dir("links/twice"), &dir, &res), LB_OK);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "twice", LB_KIND_SYMLINK, "first", NULL), LB_OK);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "twice", LB_KIND_DIRSYMLINK, "second", NULL),
	    LB_E_EXISTS);
	assert_root_creds();
	assert_int_equal(fs->create(&g_nobody->peer, dir, "twice", LB_KIND_JUNCTION, "/tmp", NULL),
	    LB_E_EXISTS);
	assert_root_creds();
	n = readlink(in_dir("links/twice"), buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "first");
	fs->close(dir);
	lb_path_free(&res);
}

static void
test_parent_not_searchable_is_perm_and_nothing_created(void **state)
{
	struct lb_path res = { 0 };
	struct stat st;
	void *dir = NULL;

	(void)state;
	NEED_ROOT();
	assert_int_equal(mkdir(in_dir("rootonly/sub"), 0777), 0);
	assert_int_equal(open_parent(in_dir("rootonly/sub/l"), &dir, &res), LB_E_PERM);
	assert_null(dir);
	assert_null(res.s);
	assert_int_not_equal(lstat(in_dir("rootonly/sub/l"), &st), 0);
}

static void
test_parent_not_writable_is_perm_and_nothing_created(void **state)
{
	struct lb_path res = { 0 };
	struct stat st;
	void *dir = NULL;

	(void)state;
	NEED_ROOT();
	/* Reaching the 0700 root directory needs search on its parent only;
	 * creating in it needs write and search on it, which nobody lacks. */
	assert_int_equal(open_parent(in_dir("rootonly/l"), &dir, &res), LB_OK);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "l", LB_KIND_SYMLINK, "/tmp", NULL), LB_E_PERM);
	assert_root_creds();
	assert_int_not_equal(lstat(in_dir("rootonly/l"), &st), 0);
	fs->close(dir);
	lb_path_free(&res);
	/* A root 0755 file system tree is not nobody's either. */
	assert_int_equal(open_parent("/var/nothing-here", &dir, &res), LB_OK);
	assert_string_equal(res.s, "/var");
	assert_int_equal(fs->create(&g_nobody->peer, dir, "nothing-here", LB_KIND_SYMLINK, "/tmp", NULL),
	    LB_E_PERM);
	assert_root_creds();
	assert_int_not_equal(lstat("/var/nothing-here", &st), 0);
	fs->close(dir);
	lb_path_free(&res);
}

static void
test_parent_symlink_to_etc_resolves_to_etc(void **state)
{
	struct lb_path res = { 0 };
	void *dir = NULL;

	(void)state;
	NEED_ROOT();
	/* The string says nobody's directory; the handle is /etc, and the
	 * broker decides on the handle (the /etc floor denies). */
	assert_int_equal(open_parent(in_dir("etclink/evil"), &dir, &res), LB_OK);
	assert_string_equal(res.s, "/etc");
	fs->close(dir);
	lb_path_free(&res);
}

/* resolve_target_at of TARGET (as written) from the folder of LINK, as nobody. */
static int
resolve_from(const char *link, const char *target, struct lb_path *res)
{
	struct lb_path parent = { 0 };
	void *dir = NULL;
	int r;

	assert_int_equal(open_parent(link, &dir, &parent), LB_OK);
	r = fs->resolve_target_at(&g_nobody->peer, dir, target, res);
	assert_root_creds();
	fs->close(dir);
	lb_path_free(&parent);
	return r;
}

static void
test_symlink_target_walked_as_the_kernel_follows_it(void **state)
{
	struct lb_path res = { 0 };
	char want[256];
	uid_t u;

	(void)state;
	NEED_ROOT();
	u = g_nobody->cred.uid;
	/* a planted link, absolute and relative: where it leads */
	assert_int_equal(resolve_from(in_dir("links/l"), in_dir("etclink/passwd"), &res), LB_OK);
	assert_string_equal(res.s, "/etc/passwd");
	lb_path_free(&res);
	assert_int_equal(resolve_from(in_dir("links/l"), "../etclink/passwd", &res), LB_OK);
	assert_string_equal(res.s, "/etc/passwd");
	lb_path_free(&res);
	/* ".." after a link climbs from where it led (/etc/..), not lexically */
	assert_int_equal(resolve_from(in_dir("links/l"), "../etclink/../own", &res), LB_OK);
	assert_string_equal(res.s, "/own");   /* not our "own" beside etclink */
	lb_path_free(&res);
	assert_int_equal(resolve_from(in_dir("links/l"), "../etclink/../tmp", &res), LB_OK);
	assert_string_equal(res.s, "/tmp");
	lb_path_free(&res);
	/* what does not exist yet: appended as written, without ".." */
	assert_int_equal(resolve_from(in_dir("links/l"), "../not-yet/x", &res), LB_OK);
	snprintf(want, sizeof(want), "%s/not-yet/x", g_dir);
	assert_string_equal(res.s, want);
	lb_path_free(&res);
	assert_int_equal(resolve_from(in_dir("links/l"), "../not-yet/../../etc", &res), LB_E_PATH_DOTDOT_MISSING);
	/* a dangling link: its text, walked as far as it exists */
	assert_int_equal(symlink("/etc/lbfs-not-there/x", in_dir("dangling")), 0);
	assert_int_equal(lchown(in_dir("dangling"), u, g_nobody->cred.gid), 0);
	assert_int_equal(resolve_from(in_dir("links/l"), "../dangling", &res), LB_OK);
	assert_string_equal(res.s, "/etc/lbfs-not-there/x");
	lb_path_free(&res);
	/* a loop */
	assert_int_equal(symlink("loop", in_dir("loop")), 0);
	assert_int_equal(resolve_from(in_dir("links/l"), "../loop", &res), LB_E_PERM);
	/* /proc: plain links followed by the kernel, magic ones never */
	assert_int_equal(resolve_from(in_dir("links/l"), "/proc/self/cwd", &res), LB_E_PERM);
}

static void
test_sticky_dir_other_users_symlink_not_followed(void **state)
{
	struct lb_path res = { 0 };
	void *dir = NULL;

	(void)state;
	NEED_ROOT();
	make_dir(in_dir("sticky"), 01777, 0, 0);
	/* root's (the directory owner's) link and nobody's own: followed */
	assert_int_equal(symlink(in_dir("links"), in_dir("sticky/byroot")), 0);
	assert_int_equal(open_parent(in_dir("sticky/byroot/x"), &dir, &res), LB_OK);
	fs->close(dir);
	lb_path_free(&res);
	assert_int_equal(symlink(in_dir("links"), in_dir("sticky/mine")), 0);
	assert_int_equal(lchown(in_dir("sticky/mine"), g_nobody->cred.uid, g_nobody->cred.gid), 0);
	assert_int_equal(open_parent(in_dir("sticky/mine/x"), &dir, &res), LB_OK);
	fs->close(dir);
	lb_path_free(&res);
	/* another user's: not followed, as a folder or as a target */
	assert_int_equal(symlink(in_dir("links"), in_dir("sticky/other")), 0);
	assert_int_equal(lchown(in_dir("sticky/other"), 12345, 12345), 0);
	assert_int_equal(open_parent(in_dir("sticky/other/x"), &dir, &res), LB_E_PERM);
	assert_null(dir);
	assert_int_equal(resolve_from(in_dir("links/l"), in_dir("sticky/other"), &res), LB_E_PERM);
}

static void
test_proc_magic_link_parent_refused(void **state)
{
	struct lb_path res = { 0 };
	void *dir = NULL;

	(void)state;
	NEED_ROOT();
	/* /proc/self/cwd would skip the search checks on the way (and is
	 * the broker's own cwd): not followed. */
	assert_int_equal(open_parent("/proc/self/cwd/x", &dir, &res), LB_E_PERM);
	assert_null(dir);
	assert_int_equal(open_parent("/proc/1/root/tmp/x", &dir, &res), LB_E_PERM);
	assert_null(dir);
}

static void
test_missing_or_file_parent(void **state)
{
	struct lb_path res = { 0 };
	void *dir = NULL;

	(void)state;
	NEED_ROOT();
	assert_int_equal(open_parent(in_dir("no/such/l"), &dir, &res), LB_E_NOENT);
	assert_int_equal(open_parent(in_dir("own/l"), &dir, &res), LB_E_NOT_DIR);
	assert_null(dir);
}

/* open_target of TARGET as nobody. */
static int
open_target(const char *target, void **file, struct lb_path *resolved)
{
	struct lb_path tp;
	int r;

	path_of(target, &tp);
	r = fs->open_target(&g_nobody->peer, &tp, file, resolved);
	lb_path_free(&tp);
	assert_root_creds();
	return r;
}

static void
test_hardlink_to_root_file_refused(void **state)
{
	struct lb_path res = { 0 };
	void *file = NULL;

	(void)state;
	NEED_ROOT();
	assert_int_equal(open_target(in_dir("rootfile"), &file, &res), LB_E_PERM);
	assert_null(file);
	assert_int_equal(open_target(in_dir("rootonly/secret"), &file, &res), LB_E_PERM);
	assert_null(file);
}

static void
test_hardlink_to_own_file_shares_inode(void **state)
{
	struct lb_path dres = { 0 }, tres = { 0 };
	struct stat a, b;
	void *dir = NULL, *file = NULL;

	(void)state;
	NEED_ROOT();
	assert_int_equal(open_target(in_dir("own"), &file, &tres), LB_OK);
	assert_string_equal(tres.s, in_dir("own"));
	assert_int_equal(open_parent(in_dir("links/hard"), &dir, &dres), LB_OK);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "hard", LB_KIND_HARDLINK, NULL, file), LB_OK);
	assert_root_creds();
	assert_int_equal(stat(in_dir("own"), &a), 0);
	assert_int_equal(lstat(in_dir("links/hard"), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_dev, b.st_dev);
	assert_int_equal(b.st_nlink, 2);
	{
		char id[LB_FILE_ID_MAX], want[LB_FILE_ID_MAX];

		/* a hard link's identity is the file's: the inode both names share */
		snprintf(want, sizeof(want), "%llu:%llu", (unsigned long long)a.st_dev,
		    (unsigned long long)a.st_ino);
		assert_int_equal(fs->identify(&g_nobody->peer, dir, "hard", id), LB_OK);
		assert_string_equal(id, want);
	}
	/* Never replaces, hard links included. */
	assert_int_equal(fs->create(&g_nobody->peer, dir, "hard", LB_KIND_HARDLINK, NULL, file), LB_E_EXISTS);
	assert_root_creds();
	fs->close(file);
	fs->close(dir);
	lb_path_free(&tres);
	lb_path_free(&dres);
}

static void
test_hardlink_target_must_be_regular_file(void **state)
{
	struct lb_path res = { 0 };
	void *file = NULL;

	(void)state;
	NEED_ROOT();
	assert_int_equal(open_target(in_dir("links"), &file, &res), LB_E_INVAL);
	assert_null(file);
	/* A FIFO is refused without being opened (no writer blocks). */
	assert_int_equal(mkfifo(in_dir("fifo"), 0666), 0);
	assert_int_equal(chown(in_dir("fifo"), g_nobody->cred.uid, g_nobody->cred.gid), 0);
	assert_int_equal(open_target(in_dir("fifo"), &file, &res), LB_E_INVAL);
	assert_null(file);
	assert_int_equal(open_target("/dev/null", &file, &res), LB_E_INVAL);
	assert_int_equal(open_target(in_dir("missing"), &file, &res), LB_E_NOENT);
}

static void
test_bad_names_and_targets_refused(void **state)
{
	struct lb_path res = { 0 };
	void *dir = NULL;

	(void)state;
	NEED_ROOT();
	assert_int_equal(open_parent(in_dir("links/x"), &dir, &res), LB_OK);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "a/b", LB_KIND_SYMLINK, "t", NULL), LB_E_INVAL);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "..", LB_KIND_SYMLINK, "t", NULL), LB_E_INVAL);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "", LB_KIND_SYMLINK, "t", NULL), LB_E_INVAL);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "x", LB_KIND_JUNCTION, "relative", NULL), LB_E_INVAL);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "x", LB_KIND_HARDLINK, NULL, NULL), LB_E_INVAL);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "x", LB_KIND_NONE, "t", NULL), LB_E_INVAL);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "x", LB_KIND_JUNCTION, "/srv", NULL), LB_OK);
	assert_root_creds();
	fs->close(dir);
	lb_path_free(&res);
}

static void
test_remove_as_client(void **state)
{
	struct lb_path res = { 0 };
	struct stat st;
	void *dir = NULL;

	(void)state;
	NEED_ROOT();
	assert_int_equal(open_parent(in_dir("links/gone"), &dir, &res), LB_OK);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "gone", LB_KIND_SYMLINK, "t", NULL), LB_OK);
	assert_int_equal(fs->remove(&g_nobody->peer, dir, "gone"), LB_OK);
	assert_root_creds();
	assert_int_not_equal(lstat(in_dir("links/gone"), &st), 0);
	assert_int_equal(fs->remove(&g_nobody->peer, dir, "gone"), LB_E_NOENT);
	assert_root_creds();
	fs->close(dir);
	lb_path_free(&res);
	/* Removing is as the client too: root's file stays. */
	assert_int_equal(open_parent(in_dir("rootonly/secret"), &dir, &res), LB_OK);
	assert_int_equal(fs->remove(&g_nobody->peer, dir, "secret"), LB_E_PERM);
	assert_root_creds();
	fs->close(dir);
	lb_path_free(&res);
}

/* The identity fstatat gives NAME in the links folder. */
static void
id_of(const char *name, char id[LB_FILE_ID_MAX])
{
	struct stat st;

	assert_int_equal(lstat(in_dir(name), &st), 0);
	snprintf(id, LB_FILE_ID_MAX, "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
}

/* rm's removal: only the link made (its type and identity), never a hard
 * link's last name, as the client, the link and not what it points at. */
static void
test_unlink_made_removes_only_that_link(void **state)
{
	struct lb_path res = { 0 }, tres = { 0 };
	char id[LB_FILE_ID_MAX], other[LB_FILE_ID_MAX];
	struct stat st;
	void *dir = NULL, *file = NULL;

	(void)state;
	NEED_ROOT();
	assert_int_equal(open_parent(in_dir("links/um"), &dir, &res), LB_OK);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "um", LB_KIND_SYMLINK, "../own", NULL), LB_OK);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "um2", LB_KIND_SYMLINK, "../own", NULL), LB_OK);
	id_of("links/um", id);
	id_of("links/um2", other);
	/* another file's identity, or another kind: changed, nothing removed */
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "um", LB_KIND_SYMLINK, other), LB_E_CHANGED);
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "um", LB_KIND_HARDLINK, id), LB_E_CHANGED);
	assert_int_equal(lstat(in_dir("links/um"), &st), 0);
	/* bad input */
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "../own", LB_KIND_SYMLINK, id), LB_E_INVAL);
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "um", LB_KIND_SYMLINK, "12"), LB_E_INVAL);
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "um", LB_KIND_SYMLINK, NULL), LB_E_INVAL);
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "um", LB_KIND_NONE, id), LB_E_INVAL);
	/* the right one: the link goes, its target stays */
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "um", LB_KIND_DIRSYMLINK, id), LB_OK);
	assert_root_creds();
	assert_int_not_equal(lstat(in_dir("links/um"), &st), 0);
	assert_int_equal(stat(in_dir("own"), &st), 0);
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "um", LB_KIND_SYMLINK, id), LB_E_NOENT);
	/* a junction is a symbolic link here, removed as one */
	assert_int_equal(fs->create(&g_nobody->peer, dir, "umj", LB_KIND_JUNCTION, in_dir("private"), NULL),
	    LB_OK);
	id_of("links/umj", id);
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "umj", LB_KIND_JUNCTION, id), LB_OK);
	assert_int_not_equal(lstat(in_dir("links/umj"), &st), 0);
	assert_int_equal(lstat(in_dir("private/mine"), &st), 0);
	/* a hard link: removed while the file has another name, not after */
	make_file(in_dir("umfile"), 0644, g_nobody->cred.uid, g_nobody->cred.gid);
	assert_int_equal(open_target(in_dir("umfile"), &file, &tres), LB_OK);
	assert_int_equal(fs->create(&g_nobody->peer, dir, "umh", LB_KIND_HARDLINK, NULL, file), LB_OK);
	id_of("links/umh", id);
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "umh", LB_KIND_SYMLINK, id), LB_E_CHANGED);
	assert_int_equal(unlink(in_dir("umfile")), 0);
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "umh", LB_KIND_HARDLINK, id), LB_E_LAST_NAME);
	assert_int_equal(lstat(in_dir("links/umh"), &st), 0);
	assert_int_equal(link(in_dir("links/umh"), in_dir("umfile")), 0);   /* another name again */
	assert_int_equal(fs->unlink_made(&g_nobody->peer, dir, "umh", LB_KIND_HARDLINK, id), LB_OK);
	assert_int_not_equal(lstat(in_dir("links/umh"), &st), 0);
	assert_int_equal(stat(in_dir("umfile"), &st), 0);
	assert_int_equal(st.st_nlink, 1);
	assert_root_creds();
	fs->close(file);
	fs->close(dir);
	lb_path_free(&res);
	lb_path_free(&tres);
	/* as the client: root's file in root's folder stays, whatever its identity */
	assert_int_equal(open_parent(in_dir("rootonly/secret"), &dir, &res), LB_OK);
	id_of("rootonly/secret", id);
	assert_int_not_equal(fs->unlink_made(&g_nobody->peer, dir, "secret", LB_KIND_HARDLINK, id), LB_OK);
	assert_int_equal(lstat(in_dir("rootonly/secret"), &st), 0);
	assert_root_creds();
	fs->close(dir);
	lb_path_free(&res);
}

static void
test_peer_identity_from_account(void **state)
{
	size_t i;
	int found = 0;
	char want[32];

	(void)state;
	NEED_ROOT();
	assert_string_equal(g_nobody->peer.who.user, "nobody");
	snprintf(want, sizeof(want), "%lu", (unsigned long)g_nobody->cred.uid);
	assert_string_equal(g_nobody->peer.who.sid, want);
	snprintf(want, sizeof(want), "uid:%lu", (unsigned long)g_nobody->cred.uid);
	assert_string_equal(g_nobody->peer.id, want);
	assert_ptr_equal(g_nobody->peer.plat, &g_nobody->cred);
	for (i = 0; i < g_nobody->peer.who.n_groups; i++) {
		const struct lb_group *gr = &g_nobody->peer.who.groups[i];
		struct group *g = getgrgid(g_nobody->cred.gids[i]);

		assert_null(gr->sid);
		assert_int_equal(gr->deny_only, 0);
		if (g != NULL)
			assert_string_equal(gr->name, g->gr_name);
		if (g_nobody->cred.gids[i] == g_nobody->cred.gid)
			found = 1;
	}
	assert_true(found);   /* the primary group is one of them */
}

static void
test_peer_without_account_refused(void **state)
{
	struct lb_posix_peer *p = (void *)1;
	char err[256];
	uid_t u = 3999999001u;

	(void)state;
	if (getpwuid(u) != NULL)
		skip();
	assert_int_equal(lb_posix_peer_from_uid(u, &p, err, sizeof(err)), LB_E_PERM);
	assert_null(p);
	assert_non_null(strstr(err, "no account"));
}

/* The account cache: hits within its time, a fresh lookup after it or
 * once a watched file changed, failed lookups not kept, references. */
static void
test_peer_cache(void **state)
{
	struct lb_posix_peer_cache pc;
	struct lb_posix_peer *a, *b, *c, *d, *e;
	char err[256], files[2][64];
	struct timespec later[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
	uid_t none = 3999999001u;
	int fd, i;

	(void)state;
	memset(&pc, 0, sizeof(pc));
	for (i = 0; i < 2; i++) {
		snprintf(files[i], sizeof(files[i]), "/tmp/lbpc%d.XXXXXX", i);
		assert_true((fd = mkstemp(files[i])) >= 0);
		close(fd);
		pc.watch[i] = files[i];
	}
	assert_int_equal(lb_posix_peer_lookup(&pc, 0, 1000, &a, err, sizeof(err)), LB_OK);
	assert_string_equal(a->user, "root");
	assert_int_equal(lb_posix_peer_lookup(&pc, 0, 2999, &b, err, sizeof(err)), LB_OK);
	assert_ptr_equal(a, b);                      /* within LB_PEER_CACHE_MS */
	assert_int_equal(a->refs, 3);                /* two connections and the cache */
	assert_int_equal(lb_posix_peer_lookup(&pc, 0, 1000 + LB_PEER_CACHE_MS, &c, err, sizeof(err)), LB_OK);
	assert_ptr_not_equal(c, a);                  /* too old: looked up again */
	assert_int_equal(a->refs, 2);                /* the cache let go of it */
	/* A changed account file empties the cache (ctime moves on utimensat;
	 * a second one also changes size, in case the clock is coarse). */
	assert_int_equal(utimensat(AT_FDCWD, files[1], later, 0), 0);
	assert_true((fd = open(files[1], O_WRONLY | O_APPEND)) >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(lb_posix_peer_lookup(&pc, 0, 1000 + LB_PEER_CACHE_MS, &d, err, sizeof(err)), LB_OK);
	assert_ptr_not_equal(d, c);
	/* No account: refused every time, nothing kept. */
	if (getpwuid(none) == NULL) {
		e = (void *)1;
		assert_int_equal(lb_posix_peer_lookup(&pc, none, 3000, &e, err, sizeof(err)), LB_E_PERM);
		for (i = 0; i < LB_PEER_CACHE_SLOTS; i++)
			assert_true(pc.peer[i] == NULL || pc.peer[i]->cred.uid != none);
	}
	/* A watched file gone: nothing is trusted from the cache. */
	assert_int_equal(unlink(files[0]), 0);
	assert_int_equal(lb_posix_peer_lookup(&pc, 0, 3000, &e, err, sizeof(err)), LB_OK);
	assert_ptr_not_equal(e, d);
	lb_posix_peer_cache_clear(&pc);
	assert_int_equal(e->refs, 1);
	lb_posix_peer_free(a);
	lb_posix_peer_free(b);
	lb_posix_peer_free(c);
	lb_posix_peer_free(d);
	lb_posix_peer_free(e);
	unlink(files[1]);
}

static void
test_peer_uid_from_socket(void **state)
{
	int sv[2];
	uid_t u = 12345;
	char err[256];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if ((long)geteuid() == lb_overflow_id(0) || (long)getegid() == lb_overflow_id(1)) {
		/* run as nobody: the overflow id is nobody's identity, refused */
		assert_int_equal(lb_posix_peer_uid(sv[0], &u, err, sizeof(err)), LB_E_PERM);
		assert_int_equal(u, 12345);
	} else {
		assert_int_equal(lb_posix_peer_uid(sv[0], &u, err, sizeof(err)), LB_OK);
		assert_int_equal(u, geteuid());
	}
	close(sv[0]);
	close(sv[1]);
}

static void
test_errno_mapping(void **state)
{
	(void)state;
	assert_int_equal(lb_posix_errno(EACCES), LB_E_PERM);
	assert_int_equal(lb_posix_errno(EPERM), LB_E_PERM);
	assert_int_equal(lb_posix_errno(ELOOP), LB_E_PERM);
	assert_int_equal(lb_posix_errno(ENOENT), LB_E_NOENT);
	assert_int_equal(lb_posix_errno(ENOTDIR), LB_E_NOT_DIR);
	assert_int_equal(lb_posix_errno(EEXIST), LB_E_EXISTS);
	assert_int_equal(lb_posix_errno(EXDEV), LB_E_UNSUPPORTED);
	assert_int_equal(lb_posix_errno(EOPNOTSUPP), LB_E_UNSUPPORTED);
	assert_int_equal(lb_posix_errno(EIO), LB_E_IO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symlink_created_as_client_and_owned_by_client),
		cmocka_unit_test(test_peer_cache),
		cmocka_unit_test(test_create_never_replaces_existing),
		cmocka_unit_test(test_parent_not_searchable_is_perm_and_nothing_created),
		cmocka_unit_test(test_parent_not_writable_is_perm_and_nothing_created),
		cmocka_unit_test(test_parent_symlink_to_etc_resolves_to_etc),
		cmocka_unit_test(test_proc_magic_link_parent_refused),
		cmocka_unit_test(test_symlink_target_walked_as_the_kernel_follows_it),
		cmocka_unit_test(test_sticky_dir_other_users_symlink_not_followed),
		cmocka_unit_test(test_missing_or_file_parent),
		cmocka_unit_test(test_hardlink_to_root_file_refused),
		cmocka_unit_test(test_hardlink_to_own_file_shares_inode),
		cmocka_unit_test(test_hardlink_target_must_be_regular_file),
		cmocka_unit_test(test_bad_names_and_targets_refused),
		cmocka_unit_test(test_remove_as_client),
		cmocka_unit_test(test_unlink_made_removes_only_that_link),
		cmocka_unit_test(test_peer_identity_from_account),
		cmocka_unit_test(test_peer_without_account_refused),
		cmocka_unit_test(test_peer_uid_from_socket),
		cmocka_unit_test(test_errno_mapping),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
#endif
