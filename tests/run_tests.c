/* tests/run_tests.c - runs every Check suite (tests/unit/test_*.c, listed in
 * build/tests/suites.h by the Makefile) and ends with a summary that counts
 * the tests run, failed and not run (with the reasons).  A test that cannot
 * run here calls tu_skip(), which logs it to PTSHADOW_NOTRUN_LOG; Check
 * would count it as passed, this summary does not.
 * The end-to-end suites (they boot the guest) run once per backend, kvm
 * and qemu, with PTSHADOW_BACKEND set for the pass; a backend this machine
 * lacks makes its pass's tests "not run".  PTSHADOW_BACKEND set by the
 * caller runs them on that backend only.
 * `run_tests NAME...` runs only the named suites.
 * The kvm pass runs in a child process beside the others (its output is
 * held in a file and printed after theirs): where /dev/kvm is a software
 * hypervisor it is the longest pass, and it leaves a core idle otherwise.
 * PTSHADOW_TEST_SERIAL=1 runs the passes one after the other.
 * A pass's PTSHADOW_BACKEND is set before its suites are made, so a suite
 * can pick its tests by backend (smp_mutants: the kvm pass runs only the
 * mutants' find, minimise and replay).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUITE(name) Suite *suite_##name(void);
#include "suites.h"
#undef SUITE

struct suite_entry {
	const char *name;
	Suite *(*make)(void);
};

static const struct suite_entry suites[] = {
#define SUITE(name) {#name, suite_##name},
#include "suites.h"
#undef SUITE
};

/* suites that boot the guest: one pass per backend */
static const char *const per_backend[] = {"boot",      "cli",      "console",    "cov",
                                          "dirty",     "dump",     "fuzz",       "modes",
                                          "scenarios", "snapshot", "smp_mutants"};

static int is_per_backend(const char *name)
{
	for (size_t i = 0; i < sizeof(per_backend) / sizeof(per_backend[0]); i++)
		if (strcmp(per_backend[i], name) == 0)
			return 1;
	return 0;
}

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

/* One line per test not run, then the reasons with their counts. */
static unsigned report_not_run(FILE *log)
{
	char line[512], reasons[32][256];
	unsigned counts[32] = {0}, nreasons = 0, total = 0;

	while (log != NULL && fgets(line, sizeof(line), log) != NULL) {
		char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
		unsigned i;
		if (nl != NULL)
			*nl = '\0';
		if (tab == NULL)
			continue;
		*tab++ = '\0';
		printf("NOT RUN %s: %s\n", line, tab);
		total++;
		for (i = 0; i < nreasons && strcmp(reasons[i], tab) != 0; i++)
			;
		if (i == nreasons && nreasons < 32)
			snprintf(reasons[nreasons++], sizeof(reasons[0]), "%s", tab);
		if (i < nreasons)
			counts[i]++;
	}
	for (unsigned i = 0; i < nreasons; i++)
		printf("  not run, %u: %s\n", counts[i], reasons[i]);
	return total;
}

/* stat_tail: /proc/PID/stat after "comm) "; is the parent a live ptshadow
 * or run_tests (another run on this machine, which owns its QEMU)? */
static int parent_is_ptshadow(const char *stat_tail)
{
	char path[64], comm[32] = "";
	int ppid = 0;
	FILE *f;

	if (sscanf(stat_tail, "%*c %d", &ppid) != 1 || ppid <= 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", ppid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(comm, sizeof(comm), f) == NULL)
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "ptshadow", 8) == 0 || strncmp(comm, "run_tests", 9) == 0;
}

/* A libvirt domain's QEMU (-name guest=ptshadow-PID-N,...) whose ptshadow
 * PID still runs: not left over (another run's, or one being torn down). */
static int domain_owner_alive(const char *cmdline)
{
	const char *g = strstr(cmdline, "guest=ptshadow-");
	int pid;

	if (g == NULL || sscanf(g, "guest=ptshadow-%d-", &pid) != 1 || pid <= 0)
		return 0;
	return kill(pid, 0) == 0 || errno != ESRCH;
}

/* QEMU processes of ours left behind (a live qemu-system-* whose command
 * line holds the doorbell ptshadow gives it, and whose parent is no longer
 * a ptshadow, or, for a libvirt domain, whose ptshadow has ended): the
 * suite must leave none. */
static unsigned leftover_qemus(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	unsigned n = 0;

	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[300], buf[8192], stat[512], *rp;
		size_t len;
		FILE *f;
		if (atoi(e->d_name) <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i < len; i++)
			buf[i] = buf[i] == '\0' ? ' ' : buf[i];
		buf[len] = '\0';
		if (strstr(buf, "qemu-system") == NULL || strstr(buf, "doorbell=com2") == NULL ||
		    domain_owner_alive(buf))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(stat, sizeof(stat), f) != NULL && (rp = strrchr(stat, ')')) != NULL &&
		    rp[1] == ' ' && rp[2] != 'Z' && !parent_is_ptshadow(rp + 2)) {
			printf("LEFT OVER: QEMU pid %s: %.200s\n", e->d_name, buf);
			n++;
		}
		fclose(f);
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/* PTSHADOW_TEST_XML=DIR: each pass writes Check's XML log, which times every
 * test, to DIR/common.xml or DIR/BACKEND.xml (`make test-times` reads them). */
static void set_xml_log(SRunner *sr, const char *backend)
{
	static char path[4096];
	const char *dir = getenv("PTSHADOW_TEST_XML");

	if (dir == NULL || *dir == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%s.xml", dir, backend != NULL ? backend : "common");
	srunner_set_xml(sr, path);
}

/* One Check run of the wanted suites (per_backend: those, else the others). */
static int run_pass(int argc, char **argv, int per_backend_pass, const char *backend, int *total,
                    int *matched)
{
	SRunner *sr = NULL;
	int failed;

	if (backend != NULL)
		setenv("PTSHADOW_BACKEND", backend, 1); /* before the suites: tu_backend() */
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (!wanted(suites[i].name, argc, argv) ||
		    is_per_backend(suites[i].name) != per_backend_pass)
			continue;
		(*matched)++;
		if (sr == NULL)
			sr = srunner_create(suites[i].make());
		else
			srunner_add_suite(sr, suites[i].make());
	}
	if (sr == NULL)
		return 0;
	if (backend != NULL) {
		printf("---- end-to-end suites on the %s backend\n", backend);
		fflush(stdout);
	}
	set_xml_log(sr, backend);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	*total += srunner_ntests_run(sr);
	srunner_free(sr);
	return failed;
}

/* A pass run in a child beside this process: its output goes to a file, its
 * counts come back through a pipe. */
struct beside {
	pid_t pid;
	int counts; /* read end */
	char out[40];
};

struct pass_counts {
	int failed, total, matched;
};

static int start_beside(struct beside *b, int argc, char **argv, const char *backend)
{
	int fds[2], outfd;

	snprintf(b->out, sizeof(b->out), "/tmp/ptshadow-pass-XXXXXX");
	if ((outfd = mkstemp(b->out)) < 0 || pipe(fds) != 0) {
		perror("run_tests: a pass beside");
		return -1;
	}
	fflush(NULL);
	if ((b->pid = fork()) == 0) {
		struct pass_counts c = {0, 0, 0};
		close(fds[0]);
		dup2(outfd, STDOUT_FILENO);
		dup2(outfd, STDERR_FILENO);
		c.failed = run_pass(argc, argv, 1, backend, &c.total, &c.matched);
		fflush(NULL);
		_exit(write(fds[1], &c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : 1);
	}
	close(outfd);
	close(fds[1]);
	b->counts = fds[0];
	return b->pid < 0 ? -1 : 0;
}

/* Waits for the pass beside, prints its output, adds its counts (a pass that
 * died without them is a failure). */
static int finish_beside(struct beside *b, int *total, int *matched)
{
	struct pass_counts c;
	char buf[65536];
	ssize_t n = read(b->counts, &c, sizeof(c));
	int fd, st = 0;

	waitpid(b->pid, &st, 0);
	close(b->counts);
	if ((fd = open(b->out, O_RDONLY)) >= 0) {
		fflush(stdout);
		for (ssize_t r; (r = read(fd, buf, sizeof(buf))) > 0;)
			if (write(STDOUT_FILENO, buf, (size_t)r) != r)
				break;
		close(fd);
	}
	unlink(b->out);
	if (n != (ssize_t)sizeof(c)) {
		printf("FAIL: the pass beside ended without its counts (status 0x%x)\n", st);
		return 1;
	}
	*total += c.total;
	*matched += c.matched;
	return c.failed;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	/* `--backend auto` measures the backends once and caches the figures:
	 * the tests keep theirs apart from the user's (~/.cache/ptshadow) */
	char cache[] = "/tmp/ptshadow-cache-XXXXXX";
	static const char *const backends[] = {"kvm", "qemu"};
	const char *only = getenv("PTSHADOW_BACKEND");
	int failed = 0, total = 0, matched = 0;
	char logpath[] = "/tmp/ptshadow-notrun-XXXXXX";
	int logfd = mkstemp(logpath);
	unsigned not_run;
	FILE *log;

	if (logfd < 0) {
		perror("run_tests: mkstemp");
		return 2;
	}
	setenv("PTSHADOW_NOTRUN_LOG", logpath, 1);
	if (mkdtemp(cache) == NULL) {
		perror("run_tests: mkdtemp");
		return 2;
	}
	setenv("XDG_CACHE_HOME", cache, 1);
	/* a test case that sets no timeout of its own gets 30 s, not Check's 4:
	 * a hang guard (a trivial check under ASan timed out at 4 s while the
	 * machine's load was 6); the caller's CK_DEFAULT_TIMEOUT wins */
	setenv("CK_DEFAULT_TIMEOUT", "30", 0);
	/* suites that boot QEMU in this process find the plugin beside ptshadow */
	if (getenv("PTSHADOW_PLUGIN") == NULL) {
		char plugin[4096];
		const char *slash = strrchr(argv[0], '/');
		snprintf(plugin, sizeof(plugin), "%.*s%s../ptsdirty.so",
		         slash != NULL ? (int)(slash - argv[0]) : 0, argv[0],
		         slash != NULL ? "/" : "");
		setenv("PTSHADOW_PLUGIN", plugin, 1);
	}
	if (only != NULL && *only != '\0') {
		char b[16];
		snprintf(b, sizeof(b), "%s", only);
		failed += run_pass(argc, argv, 0, NULL, &total, &matched);
		failed += run_pass(argc, argv, 1, b, &total, &matched);
	} else if (getenv("PTSHADOW_TEST_SERIAL") == NULL) {
		struct beside kvm;
		int m = 0, mk = 0;
		if (start_beside(&kvm, argc, argv, "kvm") != 0)
			return 2;
		failed += run_pass(argc, argv, 0, NULL, &total, &matched);
		failed += run_pass(argc, argv, 1, "qemu", &total, &m);
		printf("---- the kvm pass, run beside the others:\n");
		failed += finish_beside(&kvm, &total, &mk);
		matched += m > mk ? m : mk;
	} else {
		int m = 0;
		failed += run_pass(argc, argv, 0, NULL, &total, &matched);
		for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
			m = 0;
			failed += run_pass(argc, argv, 1, backends[i], &total, &m);
		}
		matched += m;
	}
	if (matched == 0) {
		fprintf(stderr, "run_tests: no suite named");
		for (int i = 1; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n");
		unlink(logpath);
		nftw(cache, remove_one, 8, FTW_DEPTH | FTW_PHYS);
		return 2;
	}
	if (leftover_qemus() > 0) {
		printf("FAIL: QEMU processes outlived the tests\n");
		failed++;
	}
	log = fdopen(logfd, "r");
	not_run = report_not_run(log);
	if (log != NULL)
		fclose(log);
	unlink(logpath);
	nftw(cache, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	printf("ptshadow tests: %d run, %d failed, %u not run\n", total - (int)not_run, failed,
	       not_run);
	return failed == 0 ? 0 : 1;
}
