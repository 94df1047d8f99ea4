/* tests/unit/test_smp.c - --cpus N (issue 20): a bad count is exit 2 before
 * any VM; on QEMU the guest starts its APs and says so, the dirty-log plugin
 * logs both CPUs, every scenario runs clean with ops on CPU 0 of two, a
 * shootdown reaches the CPU that cached the translation (selftest=smp), and
 * an AP's panic arrives through its own doorbell.  On ptshadow's own KVM
 * loop (the kvm pass): the in-kernel LAPICs start the APs, ops run on both
 * CPUs, an AP's panic names it, a campaign resets every vCPU.  On both, an
 * AP that triple-faults or hangs inside its op is a finding that names it.
 */
#include <glob.h>
#include <jansson.h>

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

/* KVM's dirty ring with several vCPUs is refused before any VM (an AP's
 * overflowed ring stays "full" on kvm_pvm); auto logs with clear there */
START_TEST(kvm_ring_on_two_cpus_exits_2)
{
	if (!tu_have_kvm()) {
		tu_skip("kvm_ring_on_two_cpus_exits_2", "no /dev/kvm");
		return;
	}
	PTS("run", "--backend", "kvm", "--cpus", "2", "--dirty-log", "ring", (char *)tu_guest());
	assert_usage("--dirty-log ring with --cpus 2 on kvm");
	tu_proc_free(&p);
	memset(&p, 0, sizeof(p));
	/* --dirty-log ring alone picks kvm: refused the same (not where the
	 * pass's PTSHADOW_BACKEND names another default backend) */
	unsetenv("PTSHADOW_BACKEND");
	PTS("run", "--cpus", "2", "--dirty-log", "ring", (char *)tu_guest());
	assert_usage("--dirty-log ring with --cpus 2 on kvm");
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

static void run_on(const char *backend, const char *cpus, const char *ops, const char *cmdline)
{
	char console[600];

	snprintf(console, sizeof(console), "%s/console", tu_dir);
	PTS("run", "--backend", (char *)backend, "--cpus", (char *)cpus, "--ops", (char *)ops,
	    "--console", console, "--cmdline", (char *)cmdline, (char *)tu_guest());
	free(p.out);
	p.out = tu_read_file(console, NULL); /* the guest's console, for the checks */
	ck_assert_ptr_nonnull(p.out);
}

static void run_cpus(const char *cpus, const char *ops, const char *cmdline)
{
	run_on("qemu", cpus, ops, cmdline);
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

/* ---- an AP that dies or hangs inside its op ----------------------------------- */

/* script, selftest, finding, what the message says (the guest's record) */
static const char *const op_ends[][4] = {
    /* QEMU reports the triple fault for the machine (and keeps it, paused,
     * for its registers); KVM names the vCPU */
    {"tests/smp/ends/cpu1_op.ops", "selftest=ap_triple", "GUEST-CRASH",
     "by the guest's own record, cpu1 was running op 1 (rip 0x"},
    /* cpu1 hangs holding the group's token: cpu0 waits without a bound of
     * its own (in a single op, CPU 0's smp_collect panics after ~1e10 TSC
     * cycles, which may come before the watchdog) */
    {"tests/smp/ends/group_cpu1_first.ops", "selftest=ap_hang", "GUEST-HANG",
     "by the guest's own record, cpu0 had not begun op 2 (rip 0x"},
};

/* report.json's "inflight" names cpu1 as running op want_op */
static void assert_inflight(const char *report, unsigned want_op)
{
	json_error_t je;
	json_t *j = json_load_file(report, 0, &je), *in;
	size_t i;
	bool found = false;

	ck_assert_msg(j != NULL, "%s: %s", report, je.text);
	json_array_foreach(json_object_get(j, "inflight"), i, in)
	{
		found =
		    found ||
		    (json_integer_value(json_object_get(in, "cpu")) == 1 &&
		     json_integer_value(json_object_get(in, "op_index")) == (json_int_t)want_op &&
		     strcmp(json_string_value(json_object_get(in, "state")), "running") == 0);
	}
	ck_assert_msg(found, "%s: no inflight entry of cpu1 running op %u", report, want_op);
	json_decref(j);
}

static bool kvm_cpus_ran(const char *test, int status);

/* run op_ends[i] on backend: exit 1, one crash directory whose report.txt
 * and report.json name cpu1 (false: the backend cannot run several CPUs) */
static bool op_end_named(const char *backend, int i)
{
	char out[600], report[700], *txt;
	unsigned want_op = i == 0 ? 1 : 3;

	snprintf(out, sizeof(out), "%s/ends-%s-%d", tu_dir, backend, i);
	PTS("run", "--backend", (char *)backend, "--cpus", "2", "--timeout", "5", "--ops",
	    (char *)op_ends[i][0], "--cmdline", (char *)op_ends[i][1], "--out", out,
	    (char *)tu_guest());
	if (strcmp(backend, "kvm") == 0 && !kvm_cpus_ran("kvm_op_end_names_the_cpu", p.status))
		return false;
	ASSERT_EXIT(1);
	ck_assert_msg(strstr(p.err, op_ends[i][3]) != NULL, "%s: stderr:\n%s", op_ends[i][1],
	              p.err);
	ck_assert_msg(tu_crash_dirs(out, report, sizeof(report)) == 1, "one crash directory:\n%s",
	              p.err);
	assert_inflight(report, want_op);
	strcpy(strrchr(report, '/'), "/report.txt");
	txt = tu_read_file(report, NULL);
	ck_assert_msg(txt != NULL && strstr(txt, op_ends[i][2]) && strstr(txt, op_ends[i][3]) &&
	                  strstr(txt, "cpu1 was running op"),
	              "report.txt:\n%s", txt ? txt : "(none)");
	free(txt);
	return true;
}

START_TEST(op_end_names_the_cpu)
{
	if (!tu_need_qemu_cpus("op_end_names_the_cpu"))
		return;
	(void)op_end_named("qemu", _i);
}
END_TEST

/* ---- ptshadow's own KVM loop on several vCPUs --------------------------------- */

/* The KVM tests run in the kvm pass (and the auto one), on a KVM that can
 * start APs: where it cannot, ptshadow says which capability it lacks in
 * one line (exit 2), and the test is not run with that reason. */
static bool kvm_cpus_ran(const char *test, int status)
{
	if (status == 2 && strstr(p.err, "this KVM lacks") != NULL) {
		tu_skip(test, p.err);
		return false;
	}
	return true;
}

static bool need_kvm_cpus(const char *test)
{
	char name[128];

	if (strcmp(tu_backend(), "qemu") == 0 || strcmp(tu_backend(), "libvirt") == 0) {
		snprintf(name, sizeof(name), "%s [%s]", test, tu_backend());
		tu_skip(name, "the kvm backend's CPUs are tested in the kvm pass");
		return false;
	}
	if (!tu_have_kvm()) {
		tu_skip(test, "no /dev/kvm here");
		return false;
	}
	return true;
}

static void run_kvm(const char *cpus, const char *ops, const char *cmdline)
{
	run_on("kvm", cpus, ops, cmdline);
}

/* The in-kernel LAPICs start the APs (the guest's INIT, SIPI), ops run on
 * both CPUs clean, and a shootdown reaches the CPU that cached the entry. */
START_TEST(kvm_runs_ops_on_two_cpus)
{
	if (!need_kvm_cpus("kvm_runs_ops_on_two_cpus"))
		return;
	run_kvm("2", "tests/smp/two_cpus.ops", "selftest=smp");
	if (!kvm_cpus_ran("kvm_runs_ops_on_two_cpus", p.status))
		return;
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	ck_assert_msg(strstr(p.out, "smp: 2 CPUs up:") != NULL, "console:\n%s", p.out);
	ck_assert_msg(strstr(p.out, "its stale translation is gone") != NULL, "console:\n%s",
	              p.out);
	tu_proc_free(&p);
	memset(&p, 0, sizeof(p));
	run_kvm("4", "tests/scenarios/basic.ops", "");
	ck_assert_msg(p.status == 0, "4 CPUs: exit %d\n%s", p.status, p.err);
	ck_assert_msg(strstr(p.out, "smp: 4 CPUs up:") != NULL, "console:\n%s", p.out);
}
END_TEST

/* An AP's panic record (through its own exit on its own thread), or its
 * triple fault, ends the run, and the finding names the CPU. */
static const char *const ap_ends[][3] = {
    {"selftest=smppanic", "guest panic at guest/smp.c:", "cpu1: deliberate panic"},
    {"selftest=smptriple", ": cpu1: guest ", "triple fault"}, /* or KVM's "crashed" */
};

START_TEST(kvm_ap_end_names_the_cpu)
{
	if (!need_kvm_cpus("kvm_ap_end_names_the_cpu"))
		return;
	run_kvm("2", "tests/scenarios/basic.ops", ap_ends[_i][0]);
	if (!kvm_cpus_ran("kvm_ap_end_names_the_cpu", p.status))
		return;
	ASSERT_EXIT(1);
	ck_assert_msg(strstr(p.err, ap_ends[_i][1]) != NULL &&
	                  (strstr(p.err, ap_ends[_i][2]) || strstr(p.err, "crashed")),
	              "%s: stderr:\n%s", ap_ends[_i][0], p.err);
}
END_TEST

/* An AP's triple fault or hang inside its op, on KVM: the same finding,
 * and the triple fault's message names the vCPU as KVM reports it */
START_TEST(kvm_op_end_names_the_cpu)
{
	if (!need_kvm_cpus("kvm_op_end_names_the_cpu") || !op_end_named("kvm", _i))
		return;
	if (_i == 0)
		ck_assert_msg(strstr(p.err, ": cpu1: guest ") != NULL, "stderr:\n%s", p.err);
}
END_TEST

/* A campaign on two vCPUs resets the guest (every vCPU's state put back with
 * RAM) and finds nothing in the correct guest. */
START_TEST(kvm_fuzz_resets_two_cpus)
{
	char *stats;

	if (!need_kvm_cpus("kvm_fuzz_resets_two_cpus"))
		return;
	PTS("fuzz", "--backend", "kvm", "--cpus", "2", "--seed", "1", "--ops", "1500", "--jobs",
	    "1", "--quiet", "--out", (char *)tu_path("fuzz"), (char *)tu_guest());
	if (!kvm_cpus_ran("kvm_fuzz_resets_two_cpus", p.status))
		return;
	ASSERT_EXIT(0);
	stats = tu_read_file(tu_path("fuzz/stats.json"), NULL);
	ck_assert_ptr_nonnull(stats);
	ck_assert_msg(strstr(stats, "\"unique_findings\": 0") != NULL &&
	                  strstr(stats, "\"cpus\": 2") != NULL &&
	                  strstr(stats, "\"resets\": 0,") == NULL,
	              "stats.json:\n%s", stats);
	free(stats);
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
	tcase_add_test(usage, kvm_ring_on_two_cpus_exits_2);
	suite_add_tcase(s, usage);

	tcase_add_checked_fixture(boot, setup, teardown);
	tu_tmpdir_fixture(boot);
	tcase_set_timeout(boot, CHILD_TIMEOUT + 10);
	tcase_add_loop_test(boot, every_ap_comes_up, 0, (int)(sizeof(counts) / sizeof(counts[0])));
	tcase_add_loop_test(boot, scenario_runs_clean_on_two_cpus, 0, (int)scenarios.gl_pathc);
	tcase_add_test(boot, plugin_logs_two_cpus);
	tcase_add_test(boot, shootdown_reaches_the_other_cpu);
	tcase_add_test(boot, ap_panic_is_reported);
	tcase_add_loop_test(boot, op_end_names_the_cpu, 0,
	                    (int)(sizeof(op_ends) / sizeof(op_ends[0])));
	suite_add_tcase(s, boot);

	TCase *kvm = tcase_create("kvm");
	tcase_add_checked_fixture(kvm, setup, teardown);
	tu_tmpdir_fixture(kvm);
	tcase_set_timeout(kvm, CHILD_TIMEOUT + 10);
	tcase_add_test(kvm, kvm_runs_ops_on_two_cpus);
	tcase_add_loop_test(kvm, kvm_ap_end_names_the_cpu, 0,
	                    (int)(sizeof(ap_ends) / sizeof(ap_ends[0])));
	tcase_add_test(kvm, kvm_fuzz_resets_two_cpus);
	tcase_add_loop_test(kvm, kvm_op_end_names_the_cpu, 0,
	                    (int)(sizeof(op_ends) / sizeof(op_ends[0])));
	suite_add_tcase(s, kvm);
	return s;
}
