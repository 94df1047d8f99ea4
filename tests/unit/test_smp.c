/* tests/unit/test_smp.c - --cpus N (issue 20, phase 1): a bad count is exit 2
 * before any VM, the kvm backend says "not yet"; on QEMU the guest starts
 * its APs and says so, the dirty-log plugin logs both CPUs, every scenario
 * runs clean with ops on CPU 0 of two,
 * a shootdown reaches the CPU that cached the translation (selftest=smp),
 * and an AP's panic arrives through its own doorbell.
 */
#include <glob.h>

#include "testutil.h"

Suite *suite_smp(void);

#define CHILD_TIMEOUT 120

static struct tu_proc p;

static void setup(void)
{
	memset(&p, 0, sizeof(p));
}

static void teardown(void)
{
	tu_proc_free(&p);
}

/* ptshadow ARGS... */
#define PTS(...) TU_PTS(p, CHILD_TIMEOUT, __VA_ARGS__)

#define ASSERT_EXIT(code) TU_ASSERT_EXIT(p, code)

/* one line on stderr naming needle, nothing on stdout, exit 2 */
static void assert_usage(const char *needle)
{
	ASSERT_EXIT(2);
	ck_assert_msg(p.out[0] == '\0', "stdout:\n%s", p.out);
	ck_assert_msg(tu_count_lines(p.err) == 1, "want one line on stderr:\n%s", p.err);
	ck_assert_msg(strstr(p.err, needle) != NULL, "stderr lacks '%s': %s", needle, p.err);
}

/* ---- usage ----------------------------------------------------------------- */

static const char *const bad_counts[] = {"0", "9", "x", "-1", "", "2x", "18446744073709551617"};

START_TEST(bad_cpu_count_exits_2)
{
	PTS("run", "--cpus", (char *)bad_counts[_i], (char *)tu_guest());
	assert_usage("--cpus");
}
END_TEST

START_TEST(kvm_backend_says_not_yet)
{
	PTS("run", "--backend", "kvm", "--cpus", "2", (char *)tu_guest());
	assert_usage("not yet");
}
END_TEST

/* The plugin logs every vCPU: asked for or by default, a run on two CPUs
 * keeps the dirty log (and checks incrementally from it) and runs clean. */
START_TEST(plugin_logs_two_cpus)
{
	static const char *const how[] = {"plugin", "auto"};

	if (!tu_need_backend("plugin_logs_two_cpus"))
		return;
	for (unsigned i = 0; i < 2; i++) {
		PTS("run", "--backend", "qemu", "--dirty-log", (char *)how[i], "--cpus", "2",
		    "--check", "incremental", "--stats", "--ops", "tests/smp/two_cpus.ops",
		    (char *)tu_guest());
		ASSERT_EXIT(0);
		ck_assert_msg(strstr(p.out, "dirty log plugin") != NULL &&
		                  strstr(p.out, "dirty log: plugin") != NULL,
		              "--dirty-log %s: stdout:\n%s", how[i], p.out);
		tu_proc_free(&p);
		memset(&p, 0, sizeof(p));
	}
}
END_TEST

/* ---- boots ------------------------------------------------------------------- */

static void run_cpus(const char *cpus, const char *ops, const char *cmdline)
{
	char console[600];

	snprintf(console, sizeof(console), "%s/console", tu_dir);
	PTS("run", "--backend", "qemu", "--cpus", (char *)cpus, "--ops", (char *)ops, "--console",
	    console, "--cmdline", (char *)cmdline, (char *)tu_guest());
	free(p.out);
	p.out = tu_read_file(console, NULL); /* the guest's console, for the checks */
	ck_assert_ptr_nonnull(p.out);
}

static const char *const counts[] = {"2", "4"};

START_TEST(every_ap_comes_up)
{
	char want[64];
	unsigned n = (unsigned)atoi(counts[_i]);

	if (!tu_need_qemu_cpus("every_ap_comes_up"))
		return;
	run_cpus(counts[_i], "tests/scenarios/basic.ops", "");
	ASSERT_EXIT(0);
	snprintf(want, sizeof(want), "smp: %u CPUs up:", n);
	ck_assert_msg(strstr(p.out, want) != NULL, "no '%s' on the console:\n%s", want, p.out);
	for (unsigned c = 0; c < n; c++) {
		snprintf(want, sizeof(want), " cpu%u (lapic ", c);
		ck_assert_msg(strstr(p.out, want) != NULL, "cpu%u not up:\n%s", c, p.out);
	}
}
END_TEST

static glob_t scenarios;

START_TEST(scenario_runs_clean_on_two_cpus)
{
	const char *path = scenarios.gl_pathv[_i];

	if (!tu_need_qemu_cpus("scenario_runs_clean_on_two_cpus"))
		return;
	run_cpus("2", path, "");
	ck_assert_msg(p.status == 0, "%s on 2 CPUs: exit %d\n%s", path, p.status, p.err);
}
END_TEST

START_TEST(shootdown_reaches_the_other_cpu)
{
	if (!tu_need_qemu_cpus("shootdown_reaches_the_other_cpu"))
		return;
	run_cpus("2", "tests/scenarios/basic.ops", "selftest=smp");
	ASSERT_EXIT(0);
	ck_assert_msg(strstr(p.out, "selftest smp: cpu1 acknowledged shootdown generation") &&
	                  strstr(p.out, "its stale translation is gone"),
	              "no selftest line:\n%s", p.out);
}
END_TEST

START_TEST(ap_panic_is_reported)
{
	if (!tu_need_qemu_cpus("ap_panic_is_reported"))
		return;
	run_cpus("2", "tests/scenarios/basic.ops", "selftest=smppanic");
	ASSERT_EXIT(1);
	ck_assert_msg(strstr(p.err, "guest panic") && strstr(p.err, "cpu1: deliberate panic"),
	              "stderr:\n%s", p.err);
}
END_TEST

Suite *suite_smp(void)
{
	Suite *s = suite_create("smp");
	TCase *usage = tcase_create("usage"), *boot = tcase_create("boot");

	glob("tests/scenarios/*.ops", 0, NULL, &scenarios);
	tcase_add_checked_fixture(usage, setup, teardown);
	tu_tmpdir_fixture(usage);
	tcase_set_timeout(usage, CHILD_TIMEOUT + 10);
	tcase_add_loop_test(usage, bad_cpu_count_exits_2, 0,
	                    (int)(sizeof(bad_counts) / sizeof(bad_counts[0])));
	tcase_add_test(usage, kvm_backend_says_not_yet);
	suite_add_tcase(s, usage);

	tcase_add_checked_fixture(boot, setup, teardown);
	tu_tmpdir_fixture(boot);
	tcase_set_timeout(boot, CHILD_TIMEOUT + 10);
	tcase_add_loop_test(boot, every_ap_comes_up, 0, (int)(sizeof(counts) / sizeof(counts[0])));
	tcase_add_loop_test(boot, scenario_runs_clean_on_two_cpus, 0, (int)scenarios.gl_pathc);
	tcase_add_test(boot, plugin_logs_two_cpus);
	tcase_add_test(boot, shootdown_reaches_the_other_cpu);
	tcase_add_test(boot, ap_panic_is_reported);
	suite_add_tcase(s, boot);
	return s;
}
