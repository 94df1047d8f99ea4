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
 */
#include <dirent.h>
#include <jansson.h>

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

static bool daemon_running(const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	while (d != NULL && !found && (e = readdir(d)) != NULL) {
		char path[64], name[64] = "";
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(name, sizeof(name), f) != NULL)
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
		found = strcmp(name, comm) == 0;
	}
	if (d != NULL)
		closedir(d);
	return found;
}

/* start path in the foreground as our child, in its own session */
static pid_t daemon_start(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setsid();
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	return pid > 0 ? pid : 0;
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
	for (int i = 0; i < 2; i++)
		if (!daemon_running(i == 0 ? "virtlogd" : "libvirtd"))
			lv_started[i] = daemon_start(daemons[i]);
	for (int tries = 0; tries < 200 && !lv_ok; tries++) {
		lv_ok = libvirt_answers();
		if (!lv_ok)
			usleep(50000);
	}
	if (!lv_ok)
		snprintf(lv_why, sizeof(lv_why), "libvirtd did not answer at %s within 10 s",
		         LV_URI);
}

static void lv_teardown(void)
{
	for (int i = 1; i >= 0; i--) /* libvirtd before the virtlogd it logs through */
		if (lv_started[i] > 0) {
			kill(lv_started[i], SIGTERM);
			for (int t = 0; t < 200 && waitpid(lv_started[i], NULL, WNOHANG) == 0; t++)
				usleep(50000);
			kill(lv_started[i], SIGKILL);
			waitpid(lv_started[i], NULL, 0);
			lv_started[i] = 0;
		}
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

/* a two-job libvirt campaign sent sig after 8 s */
static void campaign_signalled(struct tu_proc *p, int sig, const char *out)
{
	char *argv[] = {(char *)tu_bin(),
	                "fuzz",
	                "--backend",
	                "libvirt",
	                "--jobs",
	                "2",
	                "--time",
	                "120",
	                "--quiet",
	                "--out",
	                (char *)out,
	                (char *)tu_guest(),
	                NULL};

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
	assert_no_domain_left(0, "SIGTERM");
	campaign_signalled(&p, SIGKILL, tu_path("kill"));
	ck_assert_int_eq(p.status, 128 + SIGKILL);
	tu_proc_free(&p);
	assert_no_domain_left(15, "kill -9");
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
	tcase_add_test(tc, scenario_passes_with_monitor);
	tcase_add_test(tc, guest_endings_as_on_qemu);
	tcase_add_test(tc, mutant_found_minimised_replayed_as_on_qemu);
	tcase_add_test(tc, campaign_reports_each_job);
	tcase_add_test(tc, sigterm_and_kill9_leave_no_domain);
	suite_add_tcase(s, tc);
	return s;
}
