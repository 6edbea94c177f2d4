/* pipe_bench: hard links made through the running LinkBroker service (its
 * named pipe) against the baselines measured in the same run, on Windows or
 * under Wine (scripts/bench, part wine). Every process is CreateProcessW +
 * wait, its standard handles on NUL; timed with QueryPerformanceCounter:
 *
 *   pipe_bench RUNS N_SINGLE N_BULK LINKBROKER DIR
 *     single: N_SINGLE `linkbroker /H LINK TARGET` processes vs N_SINGLE
 *       `cmd /c mklink /H LINK TARGET` (what a user runs without the broker;
 *       mklink is built into cmd) vs N_SINGLE `pipe_bench hardlink LINK
 *       TARGET` (a process that only calls CreateHardLinkW: the floor)
 *     bulk: `linkbroker batch FILE` of N_BULK lines (one process) vs a loop
 *       of CreateHardLinkW in this process
 *     conc: the same N_BULK links as 8 `linkbroker batch` processes of
 *       N_BULK / 8 lines at once vs the one process (the service's rounds)
 *   pipe_bench hardlink LINK TARGET
 *     CreateHardLinkW(LINK, TARGET) and nothing else; exit 0 or 1
 *
 * DIR (absolute, X:\...) holds the targets DIR\tK, each taking at most
 * 1,000 links (NTFS allows 1,023 names per file), the batch file and
 * DIR\links\run, where every variant makes its links, emptied before and
 * after each run (outside the timing). The policy must allow hard links
 * under DIR\links pointing into DIR for the user running this. Symbolic
 * links and junctions are not measured: Wine cannot make them. The
 * variants take turns in a rotating order. Prints Markdown tables of
 * medians over RUNS. Not a test: failures are counted, never fatal; a
 * directory it cannot prepare is (exit 2). */
#include <windows.h>
#include <fcntl.h>
#include <io.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#define MAX_RUNS 100
#define MAX_LINKS 1000000
#define LINKS_PER_TARGET 1000
#define PATH_CAP 1024
#define CMD_CAP 4096
#define PROC_TIMEOUT_MS 120000

struct variant {
	const char *name;
	double per[MAX_RUNS];       /* median per-process time of each run, ns */
	double total[MAX_RUNS];     /* whole run, ns */
	unsigned long fails;
};

static LARGE_INTEGER freq;
static wchar_t dir[PATH_CAP];          /* DIR */
static wchar_t run_dir[PATH_CAP];      /* DIR\links\run */
static wchar_t self_exe[PATH_CAP];     /* this program, for the helper */
static wchar_t cmd_exe[PATH_CAP];      /* %SystemRoot%\system32\cmd.exe */
static const wchar_t *lb_exe;
static BY_HANDLE_FILE_INFORMATION *target_info;
static size_t n_targets;
static HANDLE nul;

static void
die(const char *what, DWORD err)
{
	fprintf(stderr, "pipe_bench: %s (error %lu)\n", what, (unsigned long)err);
	exit(2);
}

static double
now_ns(void)
{
	LARGE_INTEGER t;

	QueryPerformanceCounter(&t);
	return (double)t.QuadPart * 1e9 / (double)freq.QuadPart;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of N values, sorting them in place. */
static double
median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* swprintf into BUF of CAP units; a path that does not fit is fatal. */
static void
wfmt(wchar_t *buf, size_t cap, const wchar_t *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vswprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= cap)
		die("path or command line too long", ERROR_FILENAME_EXCED_RANGE);
}

static void
link_path(wchar_t *buf, size_t cap, size_t i)
{
	wfmt(buf, cap, L"%ls\\l%zu", run_dir, i);
}

static void
target_path(wchar_t *buf, size_t cap, size_t i)
{
	wfmt(buf, cap, L"%ls\\t%zu", dir, i / LINKS_PER_TARGET);
}

static long
num(const wchar_t *s, long lo, long hi)
{
	wchar_t *end;
	long v;

	errno = 0;
	v = wcstol(s, &end, 10);
	if (errno != 0 || end == s || *end != L'\0' || v < lo || v > hi)
		return -1;
	return v;
}

/* X:\name[\name]...: absolute, no trailing backslash, nothing that would
 * need quoting in a command line or a batch line beyond blanks. */
static int
dir_ok(const wchar_t *d)
{
	size_t i, n = wcslen(d);

	if (n < 4 || n >= PATH_CAP - 64 || !iswalpha(d[0]) || d[1] != L':' || d[2] != L'\\' ||
	    d[n - 1] == L'\\')
		return 0;
	for (i = 3; i < n; i++)
		if (wcschr(L"\"*?<>|/", d[i]) != NULL || (d[i] == L'\\' && d[i - 1] == L'\\'))
			return 0;
	return 1;
}

/* ---- files ---- */

static int
file_info(const wchar_t *path, BY_HANDLE_FILE_INFORMATION *bi)
{
	HANDLE h;
	int ok;

	h = CreateFileW(path, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return -1;
	ok = GetFileInformationByHandle(h, bi);
	CloseHandle(h);
	return ok ? 0 : -1;
}

static void
make_dir(const wchar_t *d)
{
	if (!CreateDirectoryW(d, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
		die("cannot create a directory", GetLastError());
}

/* Remove every file of the flat run directory; any left is fatal (the next
 * run would fail for it, not for the variant). */
static void
empty_run_dir(void)
{
	WIN32_FIND_DATAW fd;
	wchar_t pat[PATH_CAP], p[PATH_CAP];
	HANDLE f;
	DWORD err;

	make_dir(run_dir);
	wfmt(pat, PATH_CAP, L"%ls\\*", run_dir);
	f = FindFirstFileW(pat, &fd);
	if (f == INVALID_HANDLE_VALUE) {
		if ((err = GetLastError()) == ERROR_FILE_NOT_FOUND)
			return;
		die("cannot list the run directory", err);
	}
	do {
		if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
			continue;
		wfmt(p, PATH_CAP, L"%ls\\%ls", run_dir, fd.cFileName);
		if (!DeleteFileW(p))
			die("cannot empty the run directory", GetLastError());
	} while (FindNextFileW(f, &fd));
	err = GetLastError();
	FindClose(f);
	if (err != ERROR_NO_MORE_FILES)
		die("cannot list the run directory", err);
}

/* The targets DIR\t0.. for N links, made once; their identities kept. */
static void
make_targets(size_t n)
{
	wchar_t p[PATH_CAP];
	HANDLE h;
	DWORD put;
	size_t k;

	n_targets = (n + LINKS_PER_TARGET - 1) / LINKS_PER_TARGET;
	if ((target_info = calloc(n_targets, sizeof(*target_info))) == NULL)
		die("out of memory", ERROR_NOT_ENOUGH_MEMORY);
	for (k = 0; k < n_targets; k++) {
		target_path(p, PATH_CAP, k * LINKS_PER_TARGET);
		h = CreateFileW(p, GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_ALWAYS,
		    FILE_ATTRIBUTE_NORMAL, NULL);
		if (h == INVALID_HANDLE_VALUE)
			die("cannot create a target file", GetLastError());
		if (!WriteFile(h, "target\r\n", 8, &put, NULL) || put != 8)
			die("cannot write a target file", GetLastError());
		CloseHandle(h);
		if (file_info(p, &target_info[k]) != 0)
			die("cannot read a target file back", GetLastError());
	}
}

/* Every link 0..N-1 that is missing or is not a name of its target. */
static unsigned long
count_missing(size_t n)
{
	BY_HANDLE_FILE_INFORMATION bi;
	const BY_HANDLE_FILE_INFORMATION *t;
	wchar_t p[PATH_CAP];
	unsigned long miss = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		link_path(p, PATH_CAP, i);
		t = &target_info[i / LINKS_PER_TARGET];
		if (file_info(p, &bi) != 0 || bi.dwVolumeSerialNumber != t->dwVolumeSerialNumber ||
		    bi.nFileIndexHigh != t->nFileIndexHigh || bi.nFileIndexLow != t->nFileIndexLow)
			miss++;
	}
	return miss;
}

/* ---- processes ---- */

/* APP with the command line CMD (APP's name first), in DIR, its standard
 * handles on NUL, sharing this program's console as from a prompt
 * (CREATE_NO_WINDOW would give each its own: under Wine a conhost.exe per
 * process, twice the time); waited for. Its exit code, or -1 if it could
 * not start or did not end in time (then it is killed). */
static long
spawn(const wchar_t *app, wchar_t *cmd)
{
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	DWORD code, w;

	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = si.hStdOutput = si.hStdError = nul;
	if (!CreateProcessW(app, cmd, NULL, NULL, TRUE, 0, NULL, dir, &si, &pi))
		return -1;
	CloseHandle(pi.hThread);
	w = WaitForSingleObject(pi.hProcess, PROC_TIMEOUT_MS);
	if (w != WAIT_OBJECT_0) {
		TerminateProcess(pi.hProcess, 255);
		WaitForSingleObject(pi.hProcess, INFINITE);
		CloseHandle(pi.hProcess);
		return -1;
	}
	if (!GetExitCodeProcess(pi.hProcess, &code))
		code = 255;
	CloseHandle(pi.hProcess);
	return (long)code;
}

enum { V_LB, V_MKLINK, V_HELPER, V_LOOP };

/* The command line of variant V for link I. */
static const wchar_t *
command(int v, size_t i, wchar_t *cmd, size_t cap)
{
	wchar_t l[PATH_CAP], t[PATH_CAP];

	link_path(l, PATH_CAP, i);
	target_path(t, PATH_CAP, i);
	switch (v) {
	case V_LB:
		wfmt(cmd, cap, L"\"%ls\" /H \"%ls\" \"%ls\"", lb_exe, l, t);
		return lb_exe;
	case V_MKLINK:
		/* No quotes right after /c (cmd would strip them); mklink
		 * takes its quoted operands as usual. */
		wfmt(cmd, cap, L"cmd.exe /c mklink /H \"%ls\" \"%ls\"", l, t);
		return cmd_exe;
	default:
		wfmt(cmd, cap, L"\"%ls\" hardlink \"%ls\" \"%ls\"", self_exe, l, t);
		return self_exe;
	}
}

/* N processes of variant V, one link each. */
static void
run_procs(struct variant *var, int v, int run, size_t n)
{
	double *each = calloc(n, sizeof(double)), t0, start;
	wchar_t cmd[CMD_CAP];
	const wchar_t *app;
	unsigned long fails = 0;
	size_t i;

	if (each == NULL)
		die("out of memory", ERROR_NOT_ENOUGH_MEMORY);
	empty_run_dir();
	start = now_ns();
	for (i = 0; i < n; i++) {
		app = command(v, i, cmd, CMD_CAP);
		t0 = now_ns();
		if (spawn(app, cmd) != 0)
			fails++;
		each[i] = now_ns() - t0;
	}
	var->total[run] = now_ns() - start;
	var->per[run] = median(each, n);
	var->fails += fails + count_missing(n);
	empty_run_dir();
	free(each);
}

/* ---- the two tables ---- */

static void
single(int runs, size_t n)
{
	struct variant v[3] = { { .name = "`linkbroker /H LINK TARGET`" },
	    { .name = "`cmd /c mklink /H LINK TARGET`" },
	    { .name = "`pipe_bench hardlink LINK TARGET` (CreateHardLinkW only)" } };
	static const int kinds[3] = { V_LB, V_MKLINK, V_HELPER };
	double per[3], tot[3];
	int r, k, j;

	for (r = 0; r < runs; r++) {
		for (k = 0; k < 3; k++) {
			j = (r + k) % 3;
			run_procs(&v[j], kinds[j], r, n);
		}
	}
	for (k = 0; k < 3; k++) {
		per[k] = median(v[k].per, (size_t)runs);
		tot[k] = median(v[k].total, (size_t)runs);
	}
	printf("Single hard link as a whole process, %zu links per variant, median of %d runs:\n\n",
	    n, runs);
	printf("| variant | per link (median, ms) | %zu links (median, ms) | × `mklink /H` | failures |\n",
	    n);
	printf("|---|---:|---:|---:|---:|\n");
	for (k = 0; k < 3; k++)
		printf("| %s | %.3f | %.1f | %.2f× | %lu |\n", v[k].name, per[k] / 1e6, tot[k] / 1e6,
		    per[k] / per[1], v[k].fails);
	printf("\n");
}

/* A batch file of the links FROM..TO-1. */
static void
write_batch_range(const wchar_t *file, size_t from, size_t to)
{
	wchar_t l[PATH_CAP], t[PATH_CAP], line[CMD_CAP];
	char u8[CMD_CAP * 3];
	HANDLE h;
	DWORD put;
	int len;
	size_t i;

	h = CreateFileW(file, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE)
		die("cannot create the batch file", GetLastError());
	for (i = from; i < to; i++) {
		link_path(l, PATH_CAP, i);
		target_path(t, PATH_CAP, i);
		wfmt(line, CMD_CAP, L"/H \"%ls\" \"%ls\"\r\n", l, t);
		len = WideCharToMultiByte(CP_UTF8, 0, line, -1, u8, (int)sizeof(u8), NULL, NULL);
		if (len <= 1)
			die("cannot encode a batch line", GetLastError());
		if (!WriteFile(h, u8, (DWORD)(len - 1), &put, NULL) || put != (DWORD)(len - 1))
			die("cannot write the batch file", GetLastError());
	}
	CloseHandle(h);
}

static void
write_batch(const wchar_t *file, size_t n)
{
	write_batch_range(file, 0, n);
}

/* APP CMD started (as spawn), not waited for: its process handle. */
static HANDLE
spawn_start(const wchar_t *app, wchar_t *cmd)
{
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;

	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = si.hStdOutput = si.hStdError = nul;
	if (!CreateProcessW(app, cmd, NULL, NULL, TRUE, 0, NULL, dir, &si, &pi))
		return NULL;
	CloseHandle(pi.hThread);
	return pi.hProcess;
}

#define CONC_CLIENTS 8

/* N hard links through the service: one `linkbroker batch` of N lines,
 * against CONC_CLIENTS of N / CONC_CLIENTS lines each, all at once (one
 * connection each: the service's rounds serve them together). */
static void
conc(int runs, size_t n)
{
	struct variant v[2] = { { .name = "1 client: `linkbroker batch` of all the lines" },
	    { .name = "8 clients at once: `linkbroker batch` of 1/8 each" } };
	wchar_t files[CONC_CLIENTS][PATH_CAP], all[PATH_CAP], cmd[CMD_CAP];
	HANDLE procs[CONC_CLIENTS];
	double tot[2], t0;
	DWORD code;
	size_t k, per = n / CONC_CLIENTS;
	int r, j, m;

	if (per == 0)
		return;
	n = per * CONC_CLIENTS;
	wfmt(all, PATH_CAP, L"%ls\\conc-all.txt", dir);
	write_batch(all, n);
	for (k = 0; k < CONC_CLIENTS; k++) {
		wfmt(files[k], PATH_CAP, L"%ls\\conc-%zu.txt", dir, k);
		write_batch_range(files[k], k * per, (k + 1) * per);
	}
	for (r = 0; r < runs; r++) {
		for (m = 0; m < 2; m++) {
			j = (r + m) % 2;
			empty_run_dir();
			t0 = now_ns();
			if (j == 0) {
				wfmt(cmd, CMD_CAP, L"\"%ls\" batch \"%ls\"", lb_exe, all);
				if (spawn(lb_exe, cmd) != 0)
					v[0].fails++;
			} else {
				for (k = 0; k < CONC_CLIENTS; k++) {
					wfmt(cmd, CMD_CAP, L"\"%ls\" batch \"%ls\"", lb_exe, files[k]);
					procs[k] = spawn_start(lb_exe, cmd);
				}
				for (k = 0; k < CONC_CLIENTS; k++) {
					if (procs[k] == NULL) {
						v[1].fails++;
						continue;
					}
					if (WaitForSingleObject(procs[k], PROC_TIMEOUT_MS) != WAIT_OBJECT_0) {
						TerminateProcess(procs[k], 255);
						WaitForSingleObject(procs[k], INFINITE);
					}
					if (!GetExitCodeProcess(procs[k], &code) || code != 0)
						v[1].fails++;
					CloseHandle(procs[k]);
				}
			}
			v[j].total[r] = now_ns() - t0;
			v[j].fails += count_missing(n);
			empty_run_dir();
		}
	}
	for (m = 0; m < 2; m++)
		tot[m] = median(v[m].total, (size_t)runs);
	printf("Concurrent clients: %zu hard links through the service, median of %d runs:\n\n",
	    n, runs);
	printf("| variant | %zu links (median, ms) | per link (µs) | × one client | failures |\n", n);
	printf("|---|---:|---:|---:|---:|\n");
	for (m = 0; m < 2; m++)
		printf("| %s | %.1f | %.1f | %.2f× | %lu |\n", v[m].name, tot[m] / 1e6,
		    tot[m] / 1e3 / (double)n, tot[m] / tot[0], v[m].fails);
	printf("\n");
}

static void
bulk(int runs, size_t n)
{
	struct variant v[2] = { { .name = "`linkbroker batch FILE`" },
	    { .name = "loop of `CreateHardLinkW` (this process)" } };
	wchar_t file[PATH_CAP], cmd[CMD_CAP], l[PATH_CAP], t[PATH_CAP];
	double tot[2], t0;
	size_t i;
	int r, k, j;

	wfmt(file, PATH_CAP, L"%ls\\batch.txt", dir);
	write_batch(file, n);
	for (r = 0; r < runs; r++) {
		for (k = 0; k < 2; k++) {
			j = (r + k) % 2;
			empty_run_dir();
			if (j == 0) {
				wfmt(cmd, CMD_CAP, L"\"%ls\" batch \"%ls\"", lb_exe, file);
				t0 = now_ns();
				if (spawn(lb_exe, cmd) != 0)
					v[0].fails++;
				v[0].total[r] = now_ns() - t0;
			} else {
				t0 = now_ns();
				for (i = 0; i < n; i++) {
					link_path(l, PATH_CAP, i);
					target_path(t, PATH_CAP, i);
					if (!CreateHardLinkW(l, t, NULL))
						v[1].fails++;
				}
				v[1].total[r] = now_ns() - t0;
			}
			v[j].fails += count_missing(n);
			empty_run_dir();
		}
	}
	for (k = 0; k < 2; k++)
		tot[k] = median(v[k].total, (size_t)runs);
	printf("Bulk: %zu hard links, median of %d runs:\n\n", n, runs);
	printf("| variant | %zu links (median, ms) | per link (µs) | × `CreateHardLinkW` loop | failures |\n",
	    n);
	printf("|---|---:|---:|---:|---:|\n");
	for (k = 0; k < 2; k++)
		printf("| %s | %.1f | %.1f | %.2f× | %lu |\n", v[k].name, tot[k] / 1e6,
		    tot[k] / 1e3 / (double)n, tot[k] / tot[1], v[k].fails);
	printf("\n");
}

/* Wine's version, or NULL on Windows. */
static const char *
wine_version(void)
{
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	FARPROC p;
	const char *(*get)(void);

	if (ntdll == NULL || (p = GetProcAddress(ntdll, "wine_get_version")) == NULL)
		return NULL;
	get = (const char *(*)(void))(void (*)(void))p;
	return get();
}

static int
usage(void)
{
	fprintf(stderr, "usage: pipe_bench RUNS N_SINGLE N_BULK LINKBROKER DIR\n"
	    "       pipe_bench hardlink LINK TARGET\n");
	return 2;
}

static int
bench(int argc, wchar_t **argv)
{
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
	wchar_t p[PATH_CAP];
	const char *wine;
	long runs, n1, n2;
	DWORD k;

	if (argc != 6)
		return usage();
	runs = num(argv[1], 1, MAX_RUNS);
	n1 = num(argv[2], 1, MAX_LINKS);
	n2 = num(argv[3], 1, MAX_LINKS);
	if (runs < 1 || n1 < 1 || n2 < 1 || !dir_ok(argv[5])) {
		fprintf(stderr, "pipe_bench: RUNS 1..%d, N 1..%d, DIR X:\\... without quotes or a "
		    "trailing backslash\n", MAX_RUNS, MAX_LINKS);
		return usage();
	}
	lb_exe = argv[4];
	wfmt(dir, PATH_CAP, L"%ls", argv[5]);
	k = GetModuleFileNameW(NULL, self_exe, PATH_CAP);
	if (k == 0 || k >= PATH_CAP)
		die("cannot find this program's path", GetLastError());
	k = GetSystemDirectoryW(p, PATH_CAP);
	if (k == 0 || k >= PATH_CAP)
		die("cannot find the system directory", GetLastError());
	wfmt(cmd_exe, PATH_CAP, L"%ls\\cmd.exe", p);
	if (GetFileAttributesW(lb_exe) == INVALID_FILE_ATTRIBUTES)
		die("no LINKBROKER program there", GetLastError());
	nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
	    &sa, OPEN_EXISTING, 0, NULL);
	if (nul == INVALID_HANDLE_VALUE)
		die("cannot open NUL", GetLastError());
	QueryPerformanceFrequency(&freq);

	make_dir(dir);
	wfmt(p, PATH_CAP, L"%ls\\links", dir);
	make_dir(p);
	wfmt(run_dir, PATH_CAP, L"%ls\\links\\run", dir);
	make_targets((size_t)(n1 > n2 ? n1 : n2));
	empty_run_dir();

	single((int)runs, (size_t)n1);
	bulk((int)runs, (size_t)n2);
	conc((int)runs, (size_t)n2);
	if ((wine = wine_version()) != NULL)
		printf("Figures under Wine %s are indicative only: the service, the client and the "
		    "baselines are Windows programs whose pipe messages, process starts and file "
		    "operations go through wineserver round trips onto Linux (ext4 here), not "
		    "through Windows and NTFS; the ratios say more than the times, and neither is a "
		    "Windows figure.\n", wine);
	else
		printf("Measured on Windows (not under Wine).\n");
	CloseHandle(nul);
	free(target_info);
	return 0;
}

/* wmain (MinGW: -municode): the helper loads nothing to split its
 * command line. */
int wmain(int, wchar_t **);

int
wmain(int argc, wchar_t **argv)
{
	if (argc >= 2 && wcscmp(argv[1], L"hardlink") == 0)
		return argc == 4 && CreateHardLinkW(argv[2], argv[3], NULL) ? 0 : 1;
	if (_setmode(_fileno(stdout), _O_BINARY) == -1)
		die("cannot set stdout to binary", ERROR_INVALID_HANDLE);
	return bench(argc, argv);
}
