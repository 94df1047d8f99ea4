/* tests/unit/test_lifecycle.c - what the QEMU backend promises beyond the
 * shared suites: it leaves nothing behind (no QEMU process after ptshadow
 * ends, however it ends: a clean exit, SIGTERM, or kill -9 of ptshadow
 * itself, a fuzz campaign's jobs included; no file for guest RAM or
 * sockets), it does not take the guest's word for its CR3, a guest kept
 * waiting in the doorbell halts instead of spinning and is woken, and the
 * monitor checking an op while the guest runs the next finds what it finds
 * with the guest held.
 */
#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>

#include "clock.h"
#include "qemu_vm.h"
#include "runner.h"
#include "session_impl.h"
#include "vm_impl.h"
#include "testutil.h"

Suite *suite_lifecycle(void);

static bool need_qemu(const char *test)
{
	if (tu_have_qemu())
		return true;
	tu_skip(test, "qemu-system-x86_64 is not installed");
	return false;
}

/* parent pid of pid, or 0 */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *rp;
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL && (rp = strrchr(buf, ')')) != NULL)
		sscanf(rp + 2, "%*c %d", &ppid);
	fclose(f);
	return (pid_t)ppid;
}

static bool is_qemu(pid_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fgets(comm, sizeof(comm), f) == NULL)
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "qemu-system", 11) == 0;
}

/* QEMU processes below ancestor (up to three generations down) */
static unsigned qemu_below(pid_t ancestor, pid_t *out, unsigned max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL && n < max) {
		pid_t pid = (pid_t)atoi(e->d_name), p = pid;
		if (pid <= 0 || !is_qemu(pid))
			continue;
		for (int gen = 0; gen < 3 && p > 1; gen++) {
			p = parent_of(p);
			if (p == ancestor) {
				out[n++] = pid;
				break;
			}
		}
	}
	closedir(d);
	return n;
}

/* Start ptshadow in its own process group (its stderr into errpath, or
 * nowhere), wait until it has QEMU running. */
static pid_t start_with_qemu_err(char *const argv[], pid_t *qemu, unsigned *nqemu, unsigned want,
                                 const char *errpath)
{
	pid_t pid;
	double t0;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int err =
		    errpath != NULL ? open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644) : null;
		if (null < 0 || err < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	for (t0 = tu_now(); tu_now() < t0 + 20; usleep(20000)) {
		*nqemu = qemu_below(pid, qemu, 8);
		if (*nqemu >= want)
			break;
	}
	usleep(300000); /* let it get going */
	return pid;
}

static pid_t start_with_qemu(char *const argv[], pid_t *qemu, unsigned *nqemu, unsigned want)
{
	return start_with_qemu_err(argv, qemu, nqemu, want, NULL);
}

/* wait for pid (a hang guard of timeout_s, then it is killed): its exit status */
static int wait_bounded(pid_t pid, double timeout_s, double *secs)
{
	double t0 = tu_now();
	int st = 0;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (tu_now() > t0 + timeout_s) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			*secs = tu_now() - t0;
			return -1;
		}
		usleep(20000);
	}
	*secs = tu_now() - t0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* every pid in qemu[] is gone within timeout_s (reaped by someone, or a zombie of init) */
static void assert_gone(const pid_t *qemu, unsigned n, double timeout_s, const char *how)
{
	double t0 = tu_now();

	for (unsigned i = 0; i < n; i++) {
		while (kill(qemu[i], 0) == 0 && tu_now() < t0 + timeout_s) {
			char path[64], state = 0, buf[256];
			FILE *f;
			snprintf(path, sizeof(path), "/proc/%d/stat", (int)qemu[i]);
			f = fopen(path, "r");
			if (f != NULL && fgets(buf, sizeof(buf), f) != NULL && strrchr(buf, ')'))
				state = strrchr(buf, ')')[2];
			if (f != NULL)
				fclose(f);
			if (state == 'Z')
				break; /* dead, waiting for init to reap it */
			usleep(20000);
		}
		ck_assert_msg(kill(qemu[i], 0) != 0 || tu_now() < t0 + timeout_s,
		              "QEMU pid %d still runs %.0f s after %s", (int)qemu[i], timeout_s,
		              how);
	}
}

static void kill_and_check(const char *test, int sig, const char *how, bool fuzz)
{
	char out[600], jobs[] = "1";
	pid_t qemu[8], pid;
	unsigned n = 0;
	int st;

	if (!need_qemu(test))
		return;
	snprintf(out, sizeof(out), "%s/%s", tu_dir, test);
	char *fuzz_argv[] = {(char *)tu_bin(),
	                     "fuzz",
	                     "--backend",
	                     "qemu",
	                     "--seed",
	                     "1",
	                     "--ops",
	                     "100000000",
	                     "--jobs",
	                     jobs,
	                     "--quiet",
	                     "--out",
	                     out,
	                     (char *)tu_guest(),
	                     NULL};
	/* a guest that hangs: ptshadow waits out a long watchdog */
	char *run_argv[] = {(char *)tu_bin(),   "run", "--backend", "qemu",
	                    "--timeout",        "600", "--cmdline", "selftest=hang",
	                    (char *)tu_guest(), NULL};
	pid = start_with_qemu(fuzz ? fuzz_argv : run_argv, qemu, &n, 1);
	ck_assert_msg(n >= 1, "%s: no QEMU process appeared under ptshadow (pid %d)", test,
	              (int)pid);
	kill(pid, sig);
	waitpid(pid, &st, 0);
	assert_gone(qemu, n, 10, how);
}

START_TEST(run_sigterm_leaves_no_qemu)
{
	kill_and_check("run_sigterm_leaves_no_qemu", SIGTERM, "SIGTERM of ptshadow run", false);
}
END_TEST

START_TEST(run_kill9_leaves_no_qemu)
{
	kill_and_check("run_kill9_leaves_no_qemu", SIGKILL, "kill -9 of ptshadow run", false);
}
END_TEST

START_TEST(fuzz_kill9_leaves_no_qemu)
{
	kill_and_check("fuzz_kill9_leaves_no_qemu", SIGKILL, "kill -9 of ptshadow fuzz", true);
}
END_TEST

/* RAM and sockets are a memfd and socketpairs: while QEMU runs, its RAM is
 * /proc/PID/fd/3 -> "/memfd:ptshadow-guest-ram (deleted)", not a file. */
/* A campaign job that dies (here: kill -9 of the job, not of ptshadow) is
 * reported as failed with how it died; the campaign does not wait for it. */
START_TEST(killed_job_is_reported)
{
	char errpath[600], *err;
	pid_t qemu[8], pid, job;
	unsigned n = 0;
	int st;

	if (!need_qemu("killed_job_is_reported"))
		return;
	snprintf(errpath, sizeof(errpath), "%s", tu_path("fuzz.err"));
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--backend",
	                "qemu",
	                "--jobs",
	                "2",
	                "--time",
	                "60",
	                "--quiet",
	                "--out",
	                (char *)tu_path("out"),
	                (char *)tu_guest(),
	                NULL};
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR), e = open(errpath, O_WRONLY | O_CREAT, 0644);
		if (null < 0 || e < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	for (double t0 = tu_now(); tu_now() < t0 + 20 && n < 2; usleep(20000))
		n = qemu_below(pid, qemu, 8);
	ck_assert_uint_ge(n, 2);
	job = parent_of(qemu[0]);
	ck_assert_msg(job > 0 && job != pid, "QEMU %d's parent %d is not a job of %d", (int)qemu[0],
	              (int)job, (int)pid);
	kill(job, SIGKILL);
	usleep(500000);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	err = tu_read_file(errpath, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "exit status %d\n%s", st, err);
	ck_assert_msg(strstr(err, "failed: the job died of signal 9") != NULL, "stderr:\n%s", err);
	free(err);
	assert_gone(qemu, n, 10, "kill -9 of a job");
}
END_TEST

START_TEST(guest_ram_is_no_file)
{
	char link[128], target[512];
	pid_t qemu[8], pid;
	unsigned n = 0;
	ssize_t len;
	int st;

	if (!need_qemu("guest_ram_is_no_file"))
		return;
	char *argv[] = {(char *)tu_bin(),   "run", "--backend", "qemu",
	                "--timeout",        "600", "--cmdline", "selftest=hang",
	                (char *)tu_guest(), NULL};
	pid = start_with_qemu(argv, qemu, &n, 1);
	ck_assert_uint_ge(n, 1);
	snprintf(link, sizeof(link), "/proc/%d/fd/3", (int)qemu[0]);
	len = readlink(link, target, sizeof(target) - 1);
	ck_assert_int_gt(len, 0);
	target[len] = '\0';
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	ck_assert_msg(strncmp(target, "/memfd:ptshadow-guest-ram", 25) == 0,
	              "QEMU's guest RAM is %s, not our memfd", target);
	assert_gone(qemu, n, 10, "SIGTERM");
}
END_TEST

/* The CR3 the monitor uses comes from the guest under QEMU; ptshadow checks
 * it against QEMU's own every 4096 calls: a guest that lies is caught. */
START_TEST(lying_cr3_is_caught)
{
	struct tu_proc p;

	if (!need_qemu("lying_cr3_is_caught"))
		return;
	char *argv[] = {(char *)tu_bin(),   "run",
	                "--backend",        "qemu",
	                "--cmdline",        "selftest=liecr3 hcbench=5000",
	                (char *)tu_guest(), NULL};
	tu_run(&p, 60, argv);
	ck_assert_msg(p.status == 1, "exit %d, want 1\n%s", p.status, p.err);
	ck_assert_msg(strstr(p.err, "the guest reported CR3") != NULL, "no CR3 complaint:\n%s",
	              p.err);
	tu_proc_free(&p);
	/* the honest guest makes as many calls without a complaint */
	char *argv2[] = {(char *)tu_bin(), "run",          "--backend",        "qemu",
	                 "--cmdline",      "hcbench=5000", (char *)tu_guest(), NULL};
	tu_run(&p, 60, argv2);
	ck_assert_msg(p.status == 0, "honest guest: exit %d\n%s", p.status, p.err);
	tu_proc_free(&p);
}
END_TEST

/* A QEMU that refuses the dirty-log plugin: one line says so, and the run
 * goes on with full checks and the same verdicts. */
START_TEST(refused_plugin_checks_in_full)
{
	const char *bad = tu_path("not-a-plugin.so");
	struct tu_proc p;

	if (!need_qemu("refused_plugin_checks_in_full"))
		return;
	tu_write_file(bad, "not a shared object", 19);
	setenv("PTSHADOW_PLUGIN", bad, 1);
	char *argv[] = {(char *)tu_bin(),   "run",         "--backend", "qemu",
	                "--check",          "incremental", "--ops",     "tests/scenarios/basic.ops",
	                (char *)tu_guest(), NULL};
	tu_run(&p, 60, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	ck_assert_msg(tu_count_lines(p.err) == 1 && strstr(p.err, "refused") != NULL &&
	                  strstr(p.err, bad) != NULL,
	              "want one line naming the refused plugin, got:\n%s", p.err);
	ck_assert_msg(strstr(p.out, "dirty log none") != NULL, "backend line:\n%s", p.out);
	tu_proc_free(&p);
	/* asked for the plugin by name: a refusal is an error */
	char *argv2[] = {(char *)tu_bin(), "run",    "--backend",        "qemu",
	                 "--dirty-log",    "plugin", (char *)tu_guest(), NULL};
	tu_run(&p, 60, argv2);
	ck_assert_msg(p.status == 3 && strstr(p.err, "refused") != NULL, "exit %d\n%s", p.status,
	              p.err);
	tu_proc_free(&p);
}
END_TEST

/* ---- the host's faults are the host's: exit 3, no crash directory ----------- */

/* fuzz --backend qemu ... into out, its stderr into errpath: running, and its QEMU */
static pid_t fuzz_with_qemu(const char *out, const char *timeout, const char *errpath, pid_t *qemu)
{
	unsigned n = 0;
	pid_t pid;
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--backend",
	                "qemu",
	                "--seed",
	                "1",
	                "--ops",
	                "100000000",
	                "--jobs",
	                "1",
	                "--quiet",
	                "--no-minimize",
	                "--timeout",
	                (char *)timeout,
	                "--out",
	                (char *)out,
	                (char *)tu_guest(),
	                NULL};

	pid = start_with_qemu_err(argv, qemu, &n, 1, errpath);
	ck_assert_msg(n >= 1, "no QEMU under ptshadow (pid %d)", (int)pid);
	return pid;
}

/* QEMU stopped for good (SIGSTOP) in the middle of a campaign: ptshadow ends
 * it as QEMU's failure, exit 3, no crash directory (it was a GUEST-HANG) */
START_TEST(stopped_qemu_is_host_failure)
{
	const char *out = tu_path("stopped"), *errpath = tu_path("stopped.err");
	pid_t qemu, pid;
	double secs;
	char *err;
	int rc;

	if (!need_qemu("stopped_qemu_is_host_failure"))
		return;
	pid = fuzz_with_qemu(out, "2", errpath, &qemu);
	sleep(1);
	kill(qemu, SIGSTOP);
	rc = wait_bounded(pid, 60, &secs);
	kill(qemu, SIGCONT);
	err = tu_read_file(errpath, NULL);
	ck_assert_msg(rc == 3, "exit %d after %.1f s, want 3\n%s", rc, secs, err);
	ck_assert_msg(strstr(err, "QMP") != NULL && strstr(err, "stopped") != NULL,
	              "no word of QMP or of the stopped QEMU:\n%s", err);
	ck_assert_msg(tu_crash_dirs(out, NULL, 0) == 0, "a crash directory for QEMU's fault");
	free(err);
}
END_TEST

/* QEMU stopped for 6 s, less than --timeout: the guest is not blamed, the
 * campaign goes on and finds nothing (a late "info registers" reply was taken
 * for a later one's: a false CR3 finding) */
START_TEST(stalled_qemu_is_forgiven)
{
	const char *out = tu_path("stalled"), *errpath = tu_path("stalled.err");
	unsigned n = 0;
	pid_t qemu, pid;
	double secs;
	char *err;
	int rc;

	if (!need_qemu("stalled_qemu_is_forgiven"))
		return;
	char *argv[] = {
	    (char *)tu_bin(), "fuzz", "--backend", "qemu",      "--seed",           "1",
	    "--time",         "16",   "--jobs",    "1",         "--quiet",          "--no-minimize",
	    "--timeout",      "20",   "--out",     (char *)out, (char *)tu_guest(), NULL};
	pid = start_with_qemu_err(argv, &qemu, &n, 1, errpath);
	ck_assert_uint_ge(n, 1);
	sleep(2);
	kill(qemu, SIGSTOP);
	sleep(6);
	kill(qemu, SIGCONT);
	rc = wait_bounded(pid, 90, &secs);
	err = tu_read_file(errpath, NULL);
	ck_assert_msg(rc == 0 && tu_crash_dirs(out, NULL, 0) == 0,
	              "exit %d, %u crash directories after a 6 s stall\n%s", rc,
	              tu_crash_dirs(out, NULL, 0), err);
	free(err);
}
END_TEST

/* QEMU ended from outside (SIGTERM: it exits 0 as after a triple fault):
 * QEMU's SHUTDOWN event says it was not the guest (it was "triple fault") */
START_TEST(qemu_terminated_is_host_failure)
{
	const char *out = tu_path("terminated"), *errpath = tu_path("terminated.err");
	pid_t qemu, pid;
	double secs;
	char *err;
	int rc;

	if (!need_qemu("qemu_terminated_is_host_failure"))
		return;
	pid = fuzz_with_qemu(out, "30", errpath, &qemu);
	sleep(1);
	kill(qemu, SIGTERM);
	rc = wait_bounded(pid, 60, &secs);
	err = tu_read_file(errpath, NULL);
	ck_assert_msg(rc == 3, "exit %d, want 3\n%s", rc, err);
	ck_assert_msg(strstr(err, "QEMU was shut down from outside") != NULL, "stderr:\n%s", err);
	ck_assert_msg(tu_crash_dirs(out, NULL, 0) == 0, "a crash directory for QEMU's fault");
	free(err);
}
END_TEST

/* A QEMU that speaks bad QMP (a fake: a script given as --qemu, fd 7 its
 * QMP socket), or exits at once: exit 3 naming QEMU and QMP, no crash dir */
static const struct {
	const char *name, *script, *says;
} fakes[] = {
    {"garbage", "printf 'this is not JSON\\r\\n' >&7\nexec sleep 60\n", "not a JSON object"},
    {"long", "head -c 70000 /dev/zero | tr '\\0' x >&7\nexec sleep 60\n", "longer than"},
    {"silent", "exec sleep 60\n", "no reply from QEMU"},
    /* greets, and answers every command with an empty return */
    {"notext",
     "printf '{\"QMP\": {\"version\": {}, \"capabilities\": []}}\\r\\n' >&7\n"
     "while IFS= read -r line <&7; do\n"
     "  id=$(printf '%s' \"$line\" | sed -n 's/.*\"id\": *\\([0-9][0-9]*\\).*/\\1/p')\n"
     "  printf '{\"return\": {}, \"id\": %s}\\r\\n' \"$id\" >&7\n"
     "done\n",
     "gave no text"},
    {"true", "exit 0\n", "exited (status 0) before it started the guest"},
};

START_TEST(bad_qmp_is_host_failure)
{
	char fake[600], out[600], script[1024];
	struct tu_proc p;

	if (!need_qemu("bad_qmp_is_host_failure"))
		return;
	snprintf(fake, sizeof(fake), "%s/fake-%s.sh", tu_dir, fakes[_i].name);
	snprintf(out, sizeof(out), "%s/out-%s", tu_dir, fakes[_i].name);
	snprintf(script, sizeof(script), "#!/bin/sh\n%s", fakes[_i].script);
	tu_write_file(fake, script, strlen(script));
	ck_assert_int_eq(chmod(fake, 0755), 0);
	char *argv[] = {(char *)tu_bin(),
	                "run",
	                "--backend",
	                "qemu",
	                "--qemu",
	                fake,
	                "--dirty-log",
	                "none",
	                "--timeout",
	                "2",
	                "--ops",
	                "tests/scenarios/basic.ops",
	                "--out",
	                out,
	                (char *)tu_guest(),
	                NULL};
	tu_run(&p, 60, argv);
	ck_assert_msg(p.status == 3, "%s: exit %d, want 3\n%s", fakes[_i].name, p.status, p.err);
	ck_assert_msg(strstr(p.err, fakes[_i].says) != NULL && strstr(p.err, "QEMU") != NULL,
	              "%s: want QEMU and '%s' in:\n%s", fakes[_i].name, fakes[_i].says, p.err);
	ck_assert_msg(strcmp(fakes[_i].name, "true") == 0 || strstr(p.err, "QMP") != NULL,
	              "%s: QMP is not named:\n%s", fakes[_i].name, p.err);
	ck_assert_msg(strstr(p.err, "refused") == NULL, "%s: QEMU did not refuse the plugin:\n%s",
	              fakes[_i].name, p.err);
	ck_assert_msg(tu_crash_dirs(out, NULL, 0) == 0, "%s: a crash directory", fakes[_i].name);
	tu_proc_free(&p);
}
END_TEST

/* ---- a guest that hides its CR3 ----------------------------------------------- */

/* Once registered, the guest reports CR3 0, or one outside its RAM, at its
 * calls: a GUEST-ERROR (the monitor took no pmap as active, exit 0) */
START_TEST(hidden_cr3_is_guest_error)
{
	static const char *const mode[] = {"selftest=cr3zero", "selftest=cr3out"};
	static const char *const says[] = {"is not the root of any pmap", "outside its RAM"};
	char out[600], report[700], *json;
	struct tu_proc p;

	if (!need_qemu("hidden_cr3_is_guest_error"))
		return;
	snprintf(out, sizeof(out), "%s/cr3-%d", tu_dir, _i);
	char *argv[] = {(char *)tu_bin(),
	                "run",
	                "--backend",
	                "qemu",
	                "--ops",
	                "tests/scenarios/basic.ops",
	                "--out",
	                out,
	                "--cmdline",
	                (char *)mode[_i],
	                (char *)tu_guest(),
	                NULL};
	tu_run(&p, 60, argv);
	ck_assert_msg(p.status == 1, "%s: exit %d, want 1\n%s", mode[_i], p.status, p.err);
	ck_assert_msg(strstr(p.err, says[_i]) != NULL, "%s: stderr:\n%s", mode[_i], p.err);
	ck_assert_uint_eq(tu_crash_dirs(out, report, sizeof(report)), 1);
	json = tu_read_file(report, NULL);
	ck_assert_msg(strstr(json, "\"GUEST-ERROR\"") != NULL, "%s", json);
	free(json);
	tu_proc_free(&p);
}
END_TEST

/* the vCPU's HLT flag, from QEMU's own registers: 1 halted, 0 running, -1 unknown */
static int vcpu_halted(struct vm *vm)
{
	char err[256], *regs = qmp_hmp(QEMU(vm), "info registers", err, sizeof(err));
	uint64_t hlt;
	int rc;

	ck_assert_msg(regs != NULL, "info registers: %s", err);
	rc = qmp_reg(regs, "HLT", &hlt) == 0 ? (int)hlt : -1;
	free(regs);
	return rc;
}

/* Hold the guest in its doorbell call until it says it sleeps and QEMU says
 * its vCPU is halted (each at most 10 s: a hang guard, not a time bound). */
static void hold_until_halted(struct session *s, const char *when)
{
	struct pts_doorbell *db = qemu_doorbell(s->vm);
	uint64_t deadline = now_ns() + 10000000000ull;
	struct timespec ms = {0, 1000000};

	ck_assert_ptr_nonnull(db);
	while (__atomic_load_n(&db->sleeping, __ATOMIC_ACQUIRE) != QEMU(s->vm)->waiting_seq) {
		ck_assert_msg(now_ns() < deadline, "%s: the guest kept spinning for 10 s", when);
		nanosleep(&ms, NULL);
	}
	while (vcpu_halted(s->vm) != 1) {
		ck_assert_msg(now_ns() < deadline, "%s: the guest says it sleeps, QEMU says HLT=0",
		              when);
		nanosleep(&ms, NULL);
	}
}

static void op(struct session *s, enum pts_op_kind kind, uint64_t va, uint32_t want)
{
	struct script_op sop;

	memset(&sop, 0, sizeof(sop));
	sop.op.kind = kind;
	sop.op.va = va;
	sop.op.prot = PTS_PROT_READ | PTS_PROT_WRITE;
	ck_assert_int_eq(session_op(s, &sop), SESSION_OK);
	ck_assert_uint_eq(sop.op.result, want);
}

/* The guest waits in the doorbell while ptshadow works: past its short spin
 * it halts (its vCPU costs nothing), and the answer wakes it, whether it
 * continues or parks for a reset. */
START_TEST(waiting_guest_halts_and_wakes)
{
	struct session_config cfg;
	struct session *s = calloc(1, sizeof(*s));

	if (!need_qemu("waiting_guest_halts_and_wakes"))
		return;
	ck_assert_ptr_nonnull(s);
	memset(&cfg, 0, sizeof(cfg));
	cfg.guest = tu_guest();
	cfg.backend = VM_BACKEND_QEMU;
	cfg.mem_mib = 32;
	cfg.arena_pages = 64;
	cfg.timeout_s = 20; /* a guest nobody wakes ends the test here */
	cfg.ring = cfg.stop_each = cfg.snapshot = cfg.monitor = true;
	ck_assert_msg(session_boot(s, &cfg) == 0, "%s", s->err);
	hold_until_halted(s, "at the registration");
	op(s, PTS_OP_CREATE, 0, PTS_RES_OK);
	hold_until_halted(s, "after create");
	op(s, PTS_OP_ENTER, 0x1000, PTS_RES_OK);
	op(s, PTS_OP_EXTRACT, 0x1000, PTS_RES_PAGE);
	ck_assert_uint_eq(session_nviolations(s), 0);
	hold_until_halted(s, "before a reset");
	ck_assert_msg(session_reset(s) == 0, "%s", s->err);
	op(s, PTS_OP_CREATE, 0, PTS_RES_OK);
	ck_assert_uint_gt(s->vm->guest_wakes, 0);
	session_destroy(s);
	free(s);
}
END_TEST

/* --qemu-accel kvm on whatever /dev/kvm this machine has: QEMU starts and
 * the scenario passes (with kvm_pvm's KVM it used to abort at start on
 * IA32_ARCH_CAPABILITIES). */
START_TEST(qemu_accel_kvm_runs)
{
	struct tu_proc p;

	if (!need_qemu("qemu_accel_kvm_runs"))
		return;
	if (!tu_have_kvm()) {
		tu_skip("qemu_accel_kvm_runs", "no /dev/kvm");
		return;
	}
	char *argv[] = {(char *)tu_bin(),
	                "run",
	                "--backend",
	                "qemu",
	                "--qemu-accel",
	                "kvm",
	                "--mem",
	                "32",
	                "--ops",
	                "tests/scenarios/basic.ops",
	                (char *)tu_guest(),
	                NULL};
	tu_run(&p, 110, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	tu_proc_free(&p);
}
END_TEST

/* the one CPU pid may run on, or -1 (none, or more than one) */
static int only_cpu(pid_t pid)
{
	cpu_set_t set;

	if (sched_getaffinity(pid, sizeof(set), &set) != 0 || CPU_COUNT(&set) != 1)
		return -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return -1;
}

/* fuzz --jobs 2 on the QEMU backend: each job's QEMU on one CPU, not the
 * other's, and below ptshadow's priority (docs/performance.md) */
START_TEST(fuzz_jobs_each_on_a_cpu)
{
	char out[600];
	pid_t qemu[8], pid;
	unsigned n = 0;
	cpu_set_t all;
	int st, cpu[2];

	if (!need_qemu("fuzz_jobs_each_on_a_cpu"))
		return;
	if (sched_getaffinity(0, sizeof(all), &all) != 0 || CPU_COUNT(&all) < 2) {
		tu_skip("fuzz_jobs_each_on_a_cpu", "one CPU: nothing to spread the jobs over");
		return;
	}
	snprintf(out, sizeof(out), "%s/out", tu_dir);
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--backend",
	                "qemu",
	                "--seed",
	                "1",
	                "--ops",
	                "100000000",
	                "--jobs",
	                "2",
	                "--quiet",
	                "--out",
	                out,
	                (char *)tu_guest(),
	                NULL};
	pid = start_with_qemu(argv, qemu, &n, 2);
	ck_assert_uint_eq(n, 2);
	cpu[0] = only_cpu(qemu[0]);
	cpu[1] = only_cpu(qemu[1]);
	int nice0 = getpriority(PRIO_PROCESS, (id_t)qemu[0]), self = getpriority(PRIO_PROCESS, 0);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	assert_gone(qemu, n, 10, "SIGTERM");
	ck_assert_msg(cpu[0] >= 0 && cpu[1] >= 0 && cpu[0] != cpu[1],
	              "QEMUs on CPUs %d and %d (-1: more than one)", cpu[0], cpu[1]);
	ck_assert_msg(nice0 > self, "QEMU's niceness %d, ours %d", nice0, self);
}
END_TEST

/* `run --check incremental --keep-going --stats` of a mutant on mix.ops, on
 * one CPU (the guest held during every check) or on all of ours (checked
 * behind the guest); its findings (tu_run_findings), and the ops checked
 * behind the guest */
static char *run_mutant(const char *elf, bool one_cpu, unsigned long *behind)
{
	cpu_set_t all, one;
	struct tu_proc p;
	char *got;
	const char *at;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&one);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &all)) {
			CPU_SET(cpu, &one);
			break;
		}
	if (one_cpu)
		ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	char *argv[] = {(char *)tu_bin(), "run",
	                "--backend",      "qemu",
	                "--check",        "incremental",
	                "--keep-going",   "--stats",
	                "--arena",        "64",
	                "--out",          (char *)tu_path("out"),
	                "--ops",          "tests/modes/mix.ops",
	                (char *)elf,      NULL};
	tu_run(&p, 300, argv);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(all), &all), 0);
	ck_assert_msg(p.status == 1, "%s: exit %d, want 1 (findings)\n%s", elf, p.status, p.err);
	at = strstr(p.out, "checked behind the guest: ");
	ck_assert_msg(at != NULL && sscanf(at, "checked behind the guest: %lu", behind) == 1,
	              "no overlap line in --stats:\n%s", p.out);
	got = tu_run_findings(p.err);
	tu_proc_free(&p);
	return got;
}

/* Checking an op while the guest runs the next gives the findings a check
 * with the guest held gives, op for op, findings that persist for hundreds
 * of ops included (each finding holds the guest up to its next call). */
START_TEST(checked_behind_the_guest_same_findings)
{
	static const char *const elfs[] = {"build/mutants/ptp-ref-missed.elf",
	                                   "build/mutants/pool-nitems-drift.elf"};
	cpu_set_t all;

	if (!need_qemu("checked_behind_the_guest_same_findings"))
		return;
	if (sched_getaffinity(0, sizeof(all), &all) != 0 || CPU_COUNT(&all) < 2) {
		tu_skip("checked_behind_the_guest_same_findings", "one CPU: never checks behind");
		return;
	}
	for (size_t i = 0; i < sizeof(elfs) / sizeof(elfs[0]); i++) {
		unsigned long behind_held, behind;
		char *held, *beside;
		ck_assert_msg(access(elfs[i], R_OK) == 0, "%s missing: make mutants", elfs[i]);
		held = run_mutant(elfs[i], true, &behind_held);
		beside = run_mutant(elfs[i], false, &behind);
		ck_assert_uint_eq(behind_held, 0);
		ck_assert_uint_gt(behind, 50); /* ops with a finding hold the guest */
		ck_assert_msg(held[0] != '\0', "%s: no finding", elfs[i]);
		ck_assert_msg(strcmp(held, beside) == 0,
		              "%s: findings differ\n-- guest held:\n%s-- checked behind:\n%s",
		              elfs[i], held, beside);
		free(held);
		free(beside);
	}
}
END_TEST

/* A finding while the guest already runs the next op, then a reset (as
 * replay and the minimiser do): the next run finds the same at the same op. */
START_TEST(reset_after_a_finding_behind_the_guest)
{
	struct session_config cfg;
	struct script *sc = NULL;
	struct runner r;
	struct finding f[2];
	char err[512], *text;
	size_t len;

	if (!need_qemu("reset_after_a_finding_behind_the_guest"))
		return;
	text = tu_read_file("tests/modes/mix.ops", &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(script_parse_string("mix.ops", text, len, NULL, &sc, err, sizeof(err)) == 0,
	              "%s", err);
	free(text);
	memset(&cfg, 0, sizeof(cfg));
	cfg.guest = "build/mutants/ptp-ref-missed.elf";
	cfg.backend = VM_BACKEND_QEMU;
	cfg.mem_mib = 64;
	cfg.arena_pages = 64;
	cfg.pv_per_page = 8;
	cfg.timeout_s = 60;
	cfg.monitor = cfg.incremental = true;
	runner_init(&r, &cfg);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(runner_run(&r, sc, false, &f[k], NULL, NULL, err, sizeof(err)),
		                 RUN_FINDING);
		ck_assert_msg(r.s != NULL, "run %d: the guest was not kept for a reset: %s", k,
		              err);
	}
	ck_assert_uint_eq(r.boots, 1);
	ck_assert_uint_eq(r.resets, 1);
	ck_assert_uint_eq(f[0].op_index, f[1].op_index);
	ck_assert_str_eq(f[0].id, f[1].id);
	finding_free(&f[0]);
	finding_free(&f[1]);
	runner_close(&r);
	script_free(sc);
}
END_TEST

Suite *suite_lifecycle(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("qemu");

	tu_tmpdir_fixture(tc);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, run_sigterm_leaves_no_qemu);
	tcase_add_test(tc, run_kill9_leaves_no_qemu);
	tcase_add_test(tc, fuzz_kill9_leaves_no_qemu);
	tcase_add_test(tc, killed_job_is_reported);
	tcase_add_test(tc, guest_ram_is_no_file);
	tcase_add_test(tc, lying_cr3_is_caught);
	tcase_add_test(tc, refused_plugin_checks_in_full);
	tcase_add_test(tc, waiting_guest_halts_and_wakes);
	tcase_add_test(tc, qemu_accel_kvm_runs);
	tcase_add_test(tc, checked_behind_the_guest_same_findings);
	tcase_add_test(tc, fuzz_jobs_each_on_a_cpu);
	tcase_add_test(tc, reset_after_a_finding_behind_the_guest);
	suite_add_tcase(s, tc);

	TCase *blame = tcase_create("blame");
	tu_tmpdir_fixture(blame);
	tcase_set_timeout(blame, 150);
	tcase_add_test(blame, stopped_qemu_is_host_failure);
	tcase_add_test(blame, stalled_qemu_is_forgiven);
	tcase_add_test(blame, qemu_terminated_is_host_failure);
	tcase_add_loop_test(blame, bad_qmp_is_host_failure, 0,
	                    (int)(sizeof(fakes) / sizeof(fakes[0])));
	tcase_add_loop_test(blame, hidden_cr3_is_guest_error, 0, 2);
	suite_add_tcase(s, blame);
	return s;
}
