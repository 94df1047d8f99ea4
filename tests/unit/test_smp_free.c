/* tests/unit/test_smp_free.c - free-running groups (issue 20, docs/smp.md
 * "Free-running groups"): `par { } schedule free` and `--schedule free` run
 * a group's CPUs in parallel, QEMU with a thread per vCPU; bad forms are
 * exit 2 before any VM.  The real guest runs free groups clean on QEMU and
 * on KVM, and a free campaign finds nothing in it; a race found free is
 * pinned to the host's schedule, minimised, and its min.ops replays.
 */
#include <glob.h>

#include "testutil.h"

Suite *suite_smp_free(void);

#define CHILD_TIMEOUT 300

static struct tu_proc p;

static void setup(void)
{
	memset(&p, 0, sizeof(p));
}

static void teardown(void)
{
	tu_proc_free(&p);
}

#define PTS(...) TU_PTS(p, CHILD_TIMEOUT, __VA_ARGS__)

static void reset_proc(void)
{
	tu_proc_free(&p);
	memset(&p, 0, sizeof(p));
}

/* ---- usage ----------------------------------------------------------------- */

START_TEST(bad_schedule_option_exits_2)
{
	PTS("run", "--cpus", "2", "--schedule", "fast", (char *)tu_guest());
	ck_assert_msg(p.status == 2 && tu_count_lines(p.err) == 1 &&
	                  strstr(p.err, "--schedule fast: want host or free") != NULL,
	              "exit %d\n%s", p.status, p.err);
}
END_TEST

static const char *const bad_closes[][2] = {
    {"} schedule free 1", "bad schedule step 'free'"},
    {"} schedule 1 free", "bad schedule step 'free'"},
    {"} free", "unexpected 'free' after '}'"},
};

START_TEST(bad_free_block_exits_2)
{
	const char *ops = tu_path("bad.ops");
	FILE *f = fopen(ops, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "create a\npar {\n  touch a 0x1000 r\n  cpu1: touch a 0x1000 r\n%s\n",
	        bad_closes[_i][0]);
	fclose(f);
	PTS("run", "--backend", "qemu", "--cpus", "2", "--ops", (char *)ops, (char *)tu_guest());
	ck_assert_msg(p.status == 2 && strstr(p.err, "bad.ops:5: ") != NULL &&
	                  strstr(p.err, bad_closes[_i][1]) != NULL,
	              "'%s': exit %d\n%s", bad_closes[_i][0], p.status, p.err);
}
END_TEST

/* ---- the real guest ------------------------------------------------------ */

/* tests/smp/free_groups.ops: its results after each group hold in every
 * order; QEMU runs it with a thread per vCPU, and says so */
START_TEST(free_groups_run_clean_on_qemu)
{
	if (!tu_need_qemu_cpus("free_groups_run_clean_on_qemu"))
		return;
	for (int i = 0; i < 3; i++) {
		PTS("run", "--backend", "qemu", "--cpus", "2", "--ops", "tests/smp/free_groups.ops",
		    "--console", "/dev/null", (char *)tu_guest());
		ck_assert_msg(p.status == 0, "run %d: exit %d\n%s", i, p.status, p.err);
		ck_assert_msg(strstr(p.out, "qemu (tcg, a thread per vCPU)") != NULL, "stdout:\n%s",
		              p.out);
		reset_proc();
	}
	/* without a free group, QEMU's vCPUs share one thread, as before */
	PTS("run", "--backend", "qemu", "--cpus", "2", "--ops", "tests/smp/two_cpus.ops",
	    "--console", "/dev/null", (char *)tu_guest());
	ck_assert_msg(p.status == 0 && strstr(p.out, "qemu (tcg)") != NULL, "exit %d\n%s%s",
	              p.status, p.out, p.err);
}
END_TEST

START_TEST(free_groups_run_clean_on_kvm)
{
	if (!tu_have_kvm()) {
		tu_skip("free_groups_run_clean_on_kvm", "no /dev/kvm here");
		return;
	}
	PTS("run", "--backend", "kvm", "--cpus", "2", "--ops", "tests/smp/free_groups.ops",
	    "--console", "/dev/null", (char *)tu_guest());
	if (p.status == 2 && strstr(p.err, "this KVM lacks") != NULL) {
		tu_skip("free_groups_run_clean_on_kvm", p.err);
		return;
	}
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
}
END_TEST

START_TEST(free_campaign_finds_nothing)
{
	char *stats;

	if (!tu_need_qemu_cpus("free_campaign_finds_nothing"))
		return;
	PTS("fuzz", "--backend", "qemu", "--cpus", "2", "--schedule", "free", "--seed", "1",
	    "--ops", "1500", "--jobs", "1", "--quiet", "--out", (char *)tu_path("out"),
	    (char *)tu_guest());
	ck_assert_msg(p.status == 0, "exit %d\n%.2000s%.2000s", p.status, p.out, p.err);
	stats = tu_read_file(tu_path("out/stats.json"), NULL);
	ck_assert_ptr_nonnull(stats);
	ck_assert_msg(strstr(stats, "\"schedule\": \"free\"") != NULL &&
	                  strstr(stats, "\"unique_findings\": 0") != NULL &&
	                  strstr(stats, "\"cpus\": 2") != NULL,
	              "stats.json:\n%s", stats);
	free(stats);
}
END_TEST

/* ---- a race found free ----------------------------------------------------- */

static char *crash_file(const char *out, const char *name)
{
	char pattern[700], path[800];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/crashes/*/report.json", out);
	ck_assert_msg(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1,
	              "want one crash dir in %s", out);
	snprintf(path, sizeof(path), "%.*s/%s", (int)(strrchr(g.gl_pathv[0], '/') - g.gl_pathv[0]),
	         g.gl_pathv[0], name);
	globfree(&g);
	return tu_read_file(path, NULL);
}

/* count-not-atomic (a resident_count read outside the pmap lock): a free
 * campaign finds it (at op 145 to 3,763 over seeds 1-4 and reruns here),
 * repro.ops keeps the group free, min.ops has it pinned to steps the host
 * schedules, and replay of min.ops gives CNT-1 again */
START_TEST(race_found_free_is_pinned_and_replays)
{
	const char *out = tu_path("cna");
	char *repro, *min, *at;

	if (!tu_need_qemu_cpus("race_found_free_is_pinned_and_replays"))
		return;
	ck_assert_msg(access("build/mutants/count-not-atomic.elf", R_OK) == 0,
	              "build/mutants/count-not-atomic.elf missing: run make mutants");
	PTS("fuzz", "--backend", "qemu", "--cpus", "2", "--schedule", "free", "--seed", "1",
	    "--ops", "40000", "--jobs", "1", "--quiet", "--out", (char *)out,
	    "build/mutants/count-not-atomic.elf");
	ck_assert_msg(p.status == 1, "fuzz exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	repro = crash_file(out, "repro.ops");
	min = crash_file(out, "min.ops");
	ck_assert_msg(repro != NULL && strstr(repro, "} schedule free") != NULL, "repro.ops:\n%s",
	              repro ? repro : "(none)");
	ck_assert_msg(min != NULL && strstr(min, "} schedule free") == NULL &&
	                  (at = strstr(min, "} schedule ")) != NULL && at[11] >= '0' &&
	                  at[11] <= '9',
	              "min.ops has no pinned schedule:\n%s", min ? min : "(none)");
	free(repro);
	free(min);
	reset_proc();
	{
		char pattern[700];
		glob_t g;
		snprintf(pattern, sizeof(pattern), "%s/crashes/*/min.ops", out);
		ck_assert(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1);
		PTS("replay", "--tries", "1", g.gl_pathv[0]);
		globfree(&g);
	}
	ck_assert_msg(p.status == 1 && strstr(p.out, "reproduced CNT-1") != NULL,
	              "replay of min.ops: exit %d\n%s%s", p.status, p.out, p.err);
}
END_TEST

Suite *suite_smp_free(void)
{
	Suite *s = suite_create("smp_free");
	TCase *usage = tcase_create("usage"), *run = tcase_create("run");

	tcase_add_checked_fixture(usage, setup, teardown);
	tu_tmpdir_fixture(usage);
	tcase_set_timeout(usage, CHILD_TIMEOUT + 10);
	tcase_add_test(usage, bad_schedule_option_exits_2);
	tcase_add_loop_test(usage, bad_free_block_exits_2, 0,
	                    (int)(sizeof(bad_closes) / sizeof(bad_closes[0])));
	suite_add_tcase(s, usage);

	tcase_add_checked_fixture(run, setup, teardown);
	tu_tmpdir_fixture(run);
	tcase_set_timeout(run, 2 * CHILD_TIMEOUT + 10);
	tcase_add_test(run, free_groups_run_clean_on_qemu);
	tcase_add_test(run, free_groups_run_clean_on_kvm);
	tcase_add_test(run, free_campaign_finds_nothing);
	tcase_add_test(run, race_found_free_is_pinned_and_replays);
	suite_add_tcase(s, run);
	return s;
}
