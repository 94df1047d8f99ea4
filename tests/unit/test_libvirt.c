/* tests/unit/test_libvirt.c - the libvirt backend, end to end: a scenario
 * passes with the monitor on; a mutant is found, minimised and replayed with
 * the same (op, invariant) as on the QEMU backend; a campaign of two jobs
 * reports each job and goes back to its snapshot by resets, not boots; guest exits, panics and
 * triple faults end as on QEMU; and no domain (nor a RAM file) outlives ptshadow, however it ends.
 *
 * libvirtd and virtlogd are started here when they are not running (and
 * stopped again at the end); where they cannot be, every test is counted as
 * not run with the reason.  PTSHADOW_REQUIRE_BACKENDS naming "libvirt" (CI)
 * turns that into a failure.
 *
 * The libvirtd started here does not see /dev/kvm: it runs in a mount
 * namespace of its own where /dev/kvm is a device node only root may open
 * (/dev/null's numbers).  A /dev/kvm that libvirt takes for unusable while
 * its probe of QEMU used it (no udev: mode 0600 root) or the other way round
 * (QEMU cannot use a kvm_pvm /dev/kvm) makes libvirtd throw its capability
 * cache away and probe QEMU again at every domain start, ~50 s each; hidden,
 * both say "no KVM" and a start takes ~2 s.  The domains are TCG anyway
 * (configs/libvirt/domain.xml: <domain type='qemu'>), so nothing is lost.
 * docs/user-guide.md, "libvirt", says what a user's own libvirtd needs.
 *
 * Also here: libvirt calls are bounded (a stopped libvirtd: exit 3 naming
 * the call within --timeout), SIGTERM ends a run or campaign within 2 s while
 * libvirt is busy, and nothing of ours survives a libvirtd killed mid-run.
 */
#include <dirent.h>
#include <jansson.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include "testutil.h"

Suite *suite_libvirt(void);

#define LV_URI "qemu:///system"

static pid_t lv_started[2]; /* the daemons this suite started (0: none) */
static bool lv_ok;
static char lv_why[256];

/* run a command quietly; its exit status (-1: could not run it) */
static int quiet_run(char *const argv[], char *out, size_t outlen)
{
	int fds[2], st;
	pid_t pid;
	size_t used = 0;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(fds[1], 1);
		dup2(null, 2);
		close(fds[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char buf[512];
		ssize_t n = read(fds[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; out != NULL && i < n && used + 1 < outlen; i++)
			out[used++] = buf[i];
	}
	if (out != NULL && outlen > 0)
		out[used] = '\0';
	close(fds[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool libvirt_answers(void)
{
	char *argv[] = {"/usr/bin/virsh", "-q", "-c", LV_URI, "version", NULL};

	return quiet_run(argv, NULL, 0) == 0;
}

/* the pid of a live process named comm (0: none; zombies are not live) */
static pid_t daemon_pid(const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	char want[64];

	snprintf(want, sizeof(want), "(%s) ", comm);
	while (d != NULL && found == 0 && (e = readdir(d)) != NULL) {
		char path[64], stat[256] = "", *p;
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(stat, sizeof(stat), f) == NULL)
			stat[0] = '\0';
		fclose(f);
		p = strstr(stat, want);
		if (p != NULL && p[strlen(want)] != 'Z')
			found = (pid_t)atoi(e->d_name);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static bool daemon_running(const char *comm)
{
	return daemon_pid(comm) != 0;
}

static char lv_nokvm[80]; /* the node libvirtd sees as /dev/kvm ("": none) */

/* A device node only root may open, to stand for /dev/kvm in libvirtd's
 * mount namespace (see the top of this file); "" when /dev/kvm is absent or
 * no node can be made here (then libvirtd sees the real one). */
static void nokvm_prepare(void)
{
	char dir[] = "/tmp/ptshadow-nokvm-XXXXXX";

	lv_nokvm[0] = '\0';
	if (access("/dev/kvm", F_OK) != 0 || mkdtemp(dir) == NULL)
		return;
	snprintf(lv_nokvm, sizeof(lv_nokvm), "%s/kvm", dir);
	if (mknod(lv_nokvm, S_IFCHR | 0600, makedev(1, 3)) != 0) {
		fprintf(stderr, "libvirt suite: cannot hide /dev/kvm from libvirtd (mknod: %s)\n",
		        strerror(errno));
		rmdir(dir);
		lv_nokvm[0] = '\0';
	}
}

static void nokvm_remove(void)
{
	if (lv_nokvm[0] == '\0')
		return;
	unlink(lv_nokvm);
	*strrchr(lv_nokvm, '/') = '\0';
	rmdir(lv_nokvm);
	lv_nokvm[0] = '\0';
}

/* start path in the foreground as our child, in its own session (libvirtd:
 * in its own mount namespace with lv_nokvm over /dev/kvm, where it can be) */
static pid_t daemon_start(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setsid();
		if (strstr(path, "libvirtd") != NULL && lv_nokvm[0] != '\0' &&
		    unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
			mount(lv_nokvm, "/dev/kvm", NULL, MS_BIND, NULL);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	return pid > 0 ? pid : 0;
}

/* libvirtd answers at LV_URI within 10 s */
static bool libvirt_comes_up(void)
{
	for (int tries = 0; tries < 200; tries++) {
		if (libvirt_answers())
			return true;
		usleep(50000);
	}
	return false;
}

static void lv_setup(void)
{
	static const char *const daemons[2] = {"/usr/sbin/virtlogd", "/usr/sbin/libvirtd"};

	lv_ok = false;
	if (access("/usr/bin/virsh", X_OK) != 0 || access(daemons[1], X_OK) != 0) {
		snprintf(lv_why, sizeof(lv_why),
		         "libvirt is not installed (libvirt-daemon-system, "
		         "libvirt-clients)");
		return;
	}
	if (!tu_have_qemu()) {
		snprintf(lv_why, sizeof(lv_why), "qemu-system-x86_64 is not installed");
		return;
	}
	if (libvirt_answers()) {
		lv_ok = true;
		return;
	}
	if (geteuid() != 0) {
		snprintf(lv_why, sizeof(lv_why),
		         "libvirtd is not running, and only root starts it");
		return;
	}
	nokvm_prepare();
	for (int i = 0; i < 2; i++)
		if (!daemon_running(i == 0 ? "virtlogd" : "libvirtd"))
			lv_started[i] = daemon_start(daemons[i]);
	lv_ok = libvirt_comes_up();
	if (!lv_ok)
		snprintf(lv_why, sizeof(lv_why), "libvirtd did not answer at %s within 10 s",
		         LV_URI);
}

static void lv_teardown(void)
{
	/* the libvirtd a test started again in its own process is ours too */
	pid_t again = lv_started[1] > 0 ? daemon_pid("libvirtd") : 0;

	if (again != 0 && again != lv_started[1]) {
		kill(again, SIGTERM);
		for (int t = 0; t < 200 && kill(again, 0) == 0; t++)
			usleep(50000);
		kill(again, SIGKILL);
		for (int t = 0; t < 100 && kill(again, 0) == 0; t++)
			usleep(50000);
	}
	for (int i = 1; i >= 0; i--) /* libvirtd before the virtlogd it logs through */
		if (lv_started[i] > 0) {
			kill(lv_started[i], SIGTERM);
			for (int t = 0; t < 200 && waitpid(lv_started[i], NULL, WNOHANG) == 0; t++)
				usleep(50000);
			kill(lv_started[i], SIGKILL);
			waitpid(lv_started[i], NULL, 0);
			lv_started[i] = 0;
		}
	nokvm_remove();
}

static bool need_libvirt(const char *test)
{
	const char *req = getenv("PTSHADOW_REQUIRE_BACKENDS");

	if (lv_ok)
		return true;
	ck_assert_msg(req == NULL || strstr(req, "libvirt") == NULL,
	              "%s: should have run (PTSHADOW_REQUIRE_BACKENDS=%s), but %s", test, req,
	              lv_why);
	tu_skip(test, lv_why);
	return false;
}

/* Domains named ptshadow-PID-N whose ptshadow has ended: left behind. */
static unsigned leftover_domains(char *names, size_t len)
{
	char out[8192], *save = NULL;
	char *argv[] = {"/usr/bin/virsh", "-q", "-c", LV_URI, "list", "--all", "--name", NULL};
	unsigned n = 0;

	names[0] = '\0';
	if (quiet_run(argv, out, sizeof(out)) != 0)
		return 0;
	for (char *l = strtok_r(out, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		int pid;
		if (sscanf(l, "ptshadow-%d-", &pid) != 1)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		n++;
		snprintf(names + strlen(names), len - strlen(names), " %s", l);
	}
	return n;
}

/* None left within secs (libvirt destroys an auto-destroy domain when it
 * sees our connection close, which may take a moment after a kill -9). */
static void assert_no_domain_left(unsigned secs, const char *after)
{
	char names[1024];
	DIR *ram;
	struct dirent *e;

	for (unsigned i = 0; i < secs * 10 && leftover_domains(names, sizeof(names)) > 0; i++)
		usleep(100000);
	ck_assert_msg(leftover_domains(names, sizeof(names)) == 0, "after %s, domains left:%s",
	              after, names);
	ram = opendir("/var/lib/libvirt/qemu/ram");
	while (ram != NULL && (e = readdir(ram)) != NULL)
		ck_assert_msg(strstr(e->d_name, "ptshadow-") == NULL,
		              "after %s, a RAM file is left: /var/lib/libvirt/qemu/ram/%s", after,
		              e->d_name);
	if (ram != NULL)
		closedir(ram);
}

START_TEST(scenario_passes_with_monitor)
{
	struct tu_proc p;

	if (!need_libvirt("scenario_passes_with_monitor"))
		return;
	char *argv[] = {(char *)tu_bin(),   "run",   "--backend",
	                "libvirt",          "--ops", "tests/scenarios/attrs.ops",
	                (char *)tu_guest(), NULL};
	tu_run(&p, 120, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	ck_assert_msg(strstr(p.out, "backend: libvirt") != NULL, "no backend line:\n%s", p.out);
	tu_proc_free(&p);
	assert_no_domain_left(0, "a clean run");
}
END_TEST

/* the "invariant" and "op_index" a report.json holds, as "ID@N" */
static void finding_of(const char *dir, char *out, size_t len)
{
	char path[700];
	char *text;
	json_t *j;

	snprintf(path, sizeof(path), "%s/report.json", dir);
	text = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	snprintf(out, len, "%s@%lld", json_string_value(json_object_get(j, "invariant")),
	         (long long)json_integer_value(json_object_get(j, "op_index")));
	json_decref(j);
	free(text);
}

/* the one crash directory under out/crashes */
static void crash_dir(const char *out, char *dir, size_t len)
{
	char crashes[600];
	DIR *d;
	struct dirent *e;
	unsigned n = 0;

	snprintf(crashes, sizeof(crashes), "%s/crashes", out);
	d = opendir(crashes);
	ck_assert_msg(d != NULL, "no %s", crashes);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			snprintf(dir, len, "%s/%s", crashes, e->d_name);
			n++;
		}
	closedir(d);
	ck_assert_uint_eq(n, 1);
}

/* The mutant on libvirt (no dirty log), on libvirt with the plugin asked for,
 * and on QEMU: the same (invariant, op) and the same minimal reproducer. */
START_TEST(mutant_found_minimised_replayed_as_on_qemu)
{
	const char *mutant = "build/mutants/protect-grants-write.elf";
	static const struct {
		const char *name, *backend, *dirty_log;
	} runs[3] = {{"libvirt", "libvirt", "auto"},
	             {"libvirt-plugin", "libvirt", "plugin"},
	             {"qemu", "qemu", "auto"}};
	char dir[3][800], finding[3][128], *min[3];
	struct tu_proc p;

	if (!need_libvirt("mutant_found_minimised_replayed_as_on_qemu"))
		return;
	for (int b = 0; b < 3; b++) {
		char out[600], path[900];
		snprintf(out, sizeof(out), "%s", tu_path(runs[b].name));
		char *argv[] = {(char *)tu_bin(),
		                "fuzz",
		                "--backend",
		                (char *)runs[b].backend,
		                "--dirty-log",
		                (char *)runs[b].dirty_log,
		                "--seed",
		                "1",
		                "--jobs",
		                "1",
		                "--ops",
		                "2000",
		                "--quiet",
		                "--out",
		                out,
		                (char *)mutant,
		                NULL};
		tu_run(&p, 300, argv);
		ck_assert_msg(p.status == 1, "%s: fuzz exit %d, want 1 (a finding)\n%s",
		              runs[b].name, p.status, p.err);
		tu_proc_free(&p);
		crash_dir(out, dir[b], sizeof(dir[b]));
		finding_of(dir[b], finding[b], sizeof(finding[b]));
		snprintf(path, sizeof(path), "%s/min.ops", dir[b]);
		min[b] = tu_read_file(path, NULL);
		ck_assert_msg(min[b] != NULL, "%s: not minimised (no %s)", runs[b].name, path);
	}
	for (int b = 0; b < 2; b++) {
		ck_assert_msg(strcmp(finding[b], finding[2]) == 0, "%s found %s, qemu %s",
		              runs[b].name, finding[b], finding[2]);
		/* the same minimal reproducer, bar its "# minimised ... in N s" line */
		ck_assert_str_eq(strchr(min[b], '\n'), strchr(min[2], '\n'));
	}
	for (int b = 0; b < 3; b++)
		free(min[b]);
	/* the report says libvirt, and its replay runs there and reproduces it */
	char *argv[] = {(char *)tu_bin(), "replay", dir[0], NULL};
	tu_run(&p, 120, argv);
	ck_assert_msg(p.status == 1 && strstr(p.out, "reproduced") != NULL &&
	                  strstr(p.out, "backend: libvirt") != NULL,
	              "replay: exit %d\n%s\n%s", p.status, p.out, p.err);
	tu_proc_free(&p);
	/* the plugin's report replays with the plugin: the recorded dirty log */
	char *argv2[] = {(char *)tu_bin(), "replay", dir[1], NULL};
	tu_run(&p, 120, argv2);
	ck_assert_msg(p.status == 1 && strstr(p.out, "backend: libvirt (tcg), dirty log plugin"),
	              "replay with the plugin: exit %d\n%s\n%s", p.status, p.out, p.err);
	tu_proc_free(&p);
	assert_no_domain_left(0, "a campaign with a finding and a replay");
}
END_TEST

START_TEST(campaign_reports_each_job)
{
	char path[700], *text;
	struct tu_proc p;
	json_t *j, *per;
	json_int_t sum = 0;

	if (!need_libvirt("campaign_reports_each_job"))
		return;
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--backend",
	                "libvirt",
	                "--seed",
	                "2",
	                "--jobs",
	                "2",
	                "--ops",
	                "600",
	                "--sequence-length",
	                "100",
	                "--out",
	                (char *)tu_path("camp"),
	                (char *)tu_guest(),
	                NULL};
	tu_run(&p, 300, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	ck_assert_msg(strstr(p.err, "per job ") != NULL, "no per-job status:\n%s", p.err);
	tu_proc_free(&p);
	snprintf(path, sizeof(path), "%s/stats.json", tu_path("camp"));
	text = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "backend")), "libvirt");
	per = json_object_get(j, "per_job");
	ck_assert_uint_eq(json_array_size(per), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *job = json_array_get(per, i);
		ck_assert_str_eq(json_string_value(json_object_get(job, "state")), "done");
		ck_assert_int_gt(json_integer_value(json_object_get(job, "ops")), 0);
		/* every 100 ops back to the snapshot, by a reset, not a boot */
		ck_assert_int_eq(json_integer_value(json_object_get(job, "sessions")), 1);
		ck_assert_int_ge(json_integer_value(json_object_get(job, "resets")), 2);
		sum += json_integer_value(json_object_get(job, "ops"));
	}
	ck_assert_int_eq(sum, json_integer_value(json_object_get(j, "ops")));
	ck_assert_int_eq(sum, 600);
	json_decref(j);
	free(text);
	assert_no_domain_left(0, "a two-job campaign");
}
END_TEST

/* The guest's ways of ending map to the same exit and message as on QEMU. */
START_TEST(guest_endings_as_on_qemu)
{
	static const struct {
		const char *selftest, *says;
	} end[] = {
	    {"triple", "triple fault"},
	    {"panic", "deliberate panic"},
	    {"exit3", "exited with status 3"},
	};

	if (!need_libvirt("guest_endings_as_on_qemu"))
		return;
	for (size_t i = 0; i < sizeof(end) / sizeof(end[0]); i++) {
		char cmd[64];
		struct tu_proc p;
		snprintf(cmd, sizeof(cmd), "selftest=%s", end[i].selftest);
		char *argv[] = {(char *)tu_bin(), "run", "--backend",        "libvirt",
		                "--cmdline",      cmd,   (char *)tu_guest(), NULL};
		tu_run(&p, 120, argv);
		ck_assert_msg(p.status == 1 && strstr(p.err, end[i].says) != NULL,
		              "%s: exit %d\n%s", cmd, p.status, p.err);
		tu_proc_free(&p);
	}
	assert_no_domain_left(0, "guest exits, panics and triple faults");
}
END_TEST

/* A two-job libvirt campaign for two minutes into out, as an argv. */
#define CAMPAIGN_ARGV(out)                                                                         \
	{                                                                                          \
		(char *)tu_bin(), "fuzz", "--backend", "libvirt", "--jobs", "2", "--time", "120",  \
		    "--quiet", "--out", (char *)(out), (char *)tu_guest(), NULL                    \
	}

/* a two-job libvirt campaign sent sig after 8 s */
static void campaign_signalled(struct tu_proc *p, int sig, const char *out)
{
	char *argv[] = CAMPAIGN_ARGV(out);

	tu_run_signal(p, 60, 8.0, sig, argv);
}

START_TEST(sigterm_and_kill9_leave_no_domain)
{
	struct tu_proc p;

	if (!need_libvirt("sigterm_and_kill9_leave_no_domain"))
		return;
	campaign_signalled(&p, SIGTERM, tu_path("term"));
	ck_assert_msg(!p.timed_out && strstr(p.err, "interrupted") != NULL,
	              "SIGTERM: exit %d, timed out %d\n%s", p.status, p.timed_out, p.err);
	tu_proc_free(&p);
	/* a job whose domain was still starting gave up at once; libvirt ends
	 * that domain (AUTODESTROY) as soon as its start is done */
	assert_no_domain_left(15, "SIGTERM");
	campaign_signalled(&p, SIGKILL, tu_path("kill"));
	ck_assert_int_eq(p.status, 128 + SIGKILL);
	tu_proc_free(&p);
	assert_no_domain_left(15, "kill -9");
}
END_TEST

/* The hang guard for a slow libvirtd: one domain start (with the run that
 * follows it) within 30 s.  A libvirtd that probes QEMU again at every start
 * (see the top of this file) takes ~50 s, and ptshadow itself gives up on
 * virDomainCreateXML at --timeout. */
START_TEST(domain_start_within_30s)
{
	struct tu_proc p;

	if (!need_libvirt("domain_start_within_30s"))
		return;
	char *argv[] = {(char *)tu_bin(), "run", "--backend",        "libvirt",
	                "--timeout",      "30",  (char *)tu_guest(), NULL};
	tu_run(&p, 90, argv);
	ck_assert_msg(p.status == 0 && p.secs < 30,
	              "a libvirt run took %.1f s, exit %d (libvirtd probing QEMU again at every "
	              "start? docs/user-guide.md, libvirt)\n%s",
	              p.secs, p.status, p.err);
	tu_proc_free(&p);
}
END_TEST

/* libvirtd, when this suite started it (another's daemon is not ours to stop) */
static pid_t our_libvirtd(const char *test)
{
	if (!need_libvirt(test))
		return 0;
	if (lv_started[1] <= 0) {
		tu_skip(test, "libvirtd was running before the suite: not ours to stop");
		return 0;
	}
	/* by name: a test (in a process of its own) may have started it again */
	return daemon_pid("libvirtd");
}

/* A child that sends sig to pid after secs (the saboteur of a test). */
static pid_t signal_later(pid_t pid, double secs, int sig)
{
	pid_t s = fork();

	ck_assert_int_ge(s, 0);
	if (s == 0) {
		usleep((useconds_t)(secs * 1e6));
		kill(pid, sig);
		_exit(0);
	}
	return s;
}

/* A stopped libvirtd: exit 3 within --timeout, one line naming the
 * connection, the call and the seconds; no domain once libvirtd goes on. */
START_TEST(stalled_libvirtd_exits_3_naming_the_call)
{
	pid_t lv = our_libvirtd("stalled_libvirtd_exits_3_naming_the_call"), stopper;
	struct tu_proc p;

	if (lv == 0)
		return;
	char *argv[] = {(char *)tu_bin(), "run", "--backend",        "libvirt",
	                "--timeout",      "5",   (char *)tu_guest(), NULL};
	stopper = signal_later(lv, 0.3, SIGSTOP); /* while the domain starts */
	tu_run(&p, 60, argv);
	waitpid(stopper, NULL, 0);
	kill(lv, SIGCONT);
	ck_assert_msg(p.status == 3 && tu_count_lines(p.err) == 1 &&
	                  strstr(p.err, "libvirt at " LV_URI ": vir") != NULL &&
	                  strstr(p.err, "no answer within 5 s") != NULL,
	              "exit %d after %.1f s\n%s", p.status, p.secs, p.err);
	ck_assert_msg(p.secs < 5 + 0.3 + 5, "exit after %.1f s (--timeout 5)", p.secs);
	tu_proc_free(&p);
	assert_no_domain_left(30, "a stalled libvirtd");
}
END_TEST

/* SIGTERM while libvirtd is stopped: a run and a two-job campaign end within
 * 2 s, the campaign with its stats.json; no domain once libvirtd goes on. */
START_TEST(sigterm_while_libvirt_stalls)
{
	pid_t lv = our_libvirtd("sigterm_while_libvirt_stalls");
	const char *out = tu_path("stalled");
	char stats[700];

	if (lv == 0)
		return;
	char *run[] = {(char *)tu_bin(), "run", "--backend",        "libvirt",
	               "--timeout",      "60",  (char *)tu_guest(), NULL};
	char *fuzz[] = CAMPAIGN_ARGV(out);
	char *const *argvs[2] = {run, fuzz};
	for (int i = 0; i < 2; i++) {
		struct tu_proc p;
		pid_t stopper = signal_later(lv, 0.3, SIGSTOP);
		tu_run_signal(&p, 60, 1.5, SIGTERM, argvs[i]);
		waitpid(stopper, NULL, 0);
		kill(lv, SIGCONT);
		ck_assert_msg(!p.timed_out && p.secs < 1.5 + 2.0,
		              "%s: SIGTERM at 1.5 s, exit %d at %.2f s\n%s", argvs[i][1], p.status,
		              p.secs, p.err);
		ck_assert_msg(strstr(p.err, "interrupted") != NULL, "%s: exit %d\n%s", argvs[i][1],
		              p.status, p.err);
		tu_proc_free(&p);
	}
	snprintf(stats, sizeof(stats), "%s/stats.json", out);
	ck_assert_msg(access(stats, R_OK) == 0, "no %s after SIGTERM", stats);
	assert_no_domain_left(30, "SIGTERM while libvirtd was stopped");
}
END_TEST

/* entries of dir but . and .. (0: no dir) */
static unsigned entries_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d != NULL)
		closedir(d);
	return n;
}

/* Start argv with stdout and stderr into files under the test directory. */
static pid_t spawn_logged(char *const argv[], const char *err_path)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || e < 0 || dup2(in, 0) < 0 || dup2(in, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* libvirtd killed mid-campaign and started again: no job dies of SIGPIPE,
 * no finding is blamed on the guest, and no domain or QEMU of ours is left. */
START_TEST(libvirtd_killed_mid_campaign_leaves_nothing)
{
	pid_t lv = our_libvirtd("libvirtd_killed_mid_campaign_leaves_nothing"), pid;
	const char *out = tu_path("lvkill");
	char err_path[700], crashes[700];
	char *err;
	int st = 0;
	double t0;

	if (lv == 0)
		return;
	char *argv[] = CAMPAIGN_ARGV(out);
	snprintf(err_path, sizeof(err_path), "%s/lvkill.err", tu_dir);
	pid = spawn_logged(argv, err_path);
	sleep(5); /* both domains run */
	kill(lv, SIGKILL);
	for (int t = 0; t < 100 && kill(lv, 0) == 0; t++) /* the suite's child: reaped there */
		usleep(50000);
	ck_assert_msg(daemon_start("/usr/sbin/libvirtd") > 0 && libvirt_comes_up(),
	              "libvirtd did not come back");
	sleep(2);
	kill(pid, SIGTERM);
	for (t0 = tu_now(); waitpid(pid, &st, WNOHANG) == 0 && tu_now() < t0 + 30;)
		usleep(20000);
	if (tu_now() >= t0 + 30) {
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
		ck_abort_msg("the campaign did not end within 30 s of SIGTERM");
	}
	err = tu_read_file(err_path, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "signal 13") == NULL, "a job died of SIGPIPE:\n%s", err);
	snprintf(crashes, sizeof(crashes), "%s/crashes", out);
	ck_assert_msg(entries_in(crashes) == 0,
	              "libvirtd's restart was saved as a finding in %s:\n%s", crashes, err);
	free(err);
	assert_no_domain_left(30, "libvirtd killed and started again");
}
END_TEST

/* the QEMU of ptshadow owner's first domain (0: none) */
static pid_t domain_qemu(pid_t owner)
{
	char want[64];
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	snprintf(want, sizeof(want), "guest=ptshadow-%d-0,", (int)owner);
	while (d != NULL && found == 0 && (e = readdir(d)) != NULL) {
		char path[64], buf[4096];
		size_t n;
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i < n; i++)
			buf[i] = buf[i] == '\0' ? ' ' : buf[i];
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			found = (pid_t)atoi(e->d_name);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

/* The domain's QEMU ended from outside (SIGTERM by someone else than
 * libvirt): the host's failure, exit 3, no crash directory (a triple fault,
 * which libvirt ends with its own SIGTERM, stays the guest's: see
 * guest_endings_as_on_qemu). */
START_TEST(qemu_killed_from_outside_is_not_the_guest)
{
	const char *ops = tu_path("long.ops"), *out = tu_path("outside");
	char err_path[700], crashes[700], *err;
	FILE *f;
	pid_t pid, q = 0;
	int st;

	if (!need_libvirt("qemu_killed_from_outside_is_not_the_guest"))
		return;
	f = fopen(ops, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "create a\n");
	for (int i = 0; i < 40000; i++)
		fprintf(f, "enter a %#x pg%d rw\nremove a %#x\n", 0x400000 + i % 16 * 0x1000,
		        i % 64, 0x400000 + i % 16 * 0x1000);
	fclose(f);
	char *argv[] = {(char *)tu_bin(), "run",   "--backend", "libvirt",          "--ops",
	                (char *)ops,      "--out", (char *)out, (char *)tu_guest(), NULL};
	snprintf(err_path, sizeof(err_path), "%s/outside.err", tu_dir);
	pid = spawn_logged(argv, err_path);
	for (double t0 = tu_now(); q == 0 && tu_now() < t0 + 60; usleep(100000))
		q = domain_qemu(pid);
	ck_assert_msg(q != 0, "no QEMU for ptshadow %d", (int)pid);
	sleep(2); /* ops are running */
	kill(q, SIGTERM);
	waitpid(pid, &st, 0);
	err = tu_read_file(err_path, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3 &&
	                  strstr(err, "ended from outside") != NULL,
	              "status %#x\n%s", st, err);
	snprintf(crashes, sizeof(crashes), "%s/crashes", out);
	ck_assert_msg(entries_in(crashes) == 0, "a crash directory in %s:\n%s", out, err);
	free(err);
	assert_no_domain_left(15, "QEMU killed from outside");
}
END_TEST

/* A template that names a placeholder ptshadow does not fill: one line
 * naming the file and line, exit 2, before any domain is started. */
START_TEST(bad_template_refused_before_start)
{
	const char *tmpl = tu_path("bad.xml");
	static const char text[] = "<domain type='qemu'>\n  <name>@NAME@</name>\n  <x>@NOPE@</x>\n";
	struct tu_proc p;

	tu_write_file(tmpl, text, sizeof(text) - 1);
	char *argv[] = {(char *)tu_bin(), "run",        "--backend",        "libvirt",
	                "--domain-xml",   (char *)tmpl, (char *)tu_guest(), NULL};
	tu_run(&p, 30, argv);
	ck_assert_msg(p.status == 2 && tu_count_lines(p.err) == 1 && strstr(p.err, ":3:") != NULL &&
	                  strstr(p.err, "@NOPE@") != NULL,
	              "exit %d\n%s", p.status, p.err);
	tu_proc_free(&p);
	char *argv2[] = {(char *)tu_bin(), "run",  "--backend",        "qemu",
	                 "--connect",      LV_URI, (char *)tu_guest(), NULL};
	tu_run(&p, 30, argv2);
	ck_assert_msg(p.status == 2 && tu_count_lines(p.err) == 1, "exit %d\n%s", p.status, p.err);
	tu_proc_free(&p);
}
END_TEST

Suite *suite_libvirt(void)
{
	Suite *s = suite_create("libvirt");
	TCase *tc = tcase_create("libvirt");

	tcase_add_unchecked_fixture(tc, lv_setup, lv_teardown);
	tu_tmpdir_fixture(tc);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, bad_template_refused_before_start);
	tcase_add_test(tc, domain_start_within_30s);
	tcase_add_test(tc, scenario_passes_with_monitor);
	tcase_add_test(tc, guest_endings_as_on_qemu);
	tcase_add_test(tc, mutant_found_minimised_replayed_as_on_qemu);
	tcase_add_test(tc, campaign_reports_each_job);
	tcase_add_test(tc, sigterm_and_kill9_leave_no_domain);
	tcase_add_test(tc, stalled_libvirtd_exits_3_naming_the_call);
	tcase_add_test(tc, sigterm_while_libvirt_stalls);
	tcase_add_test(tc, qemu_killed_from_outside_is_not_the_guest);
	tcase_add_test(tc, libvirtd_killed_mid_campaign_leaves_nothing);
	suite_add_tcase(s, tc);
	return s;
}
