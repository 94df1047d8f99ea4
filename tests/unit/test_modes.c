/* tests/unit/test_modes.c - the two check modes agree on the real guest:
 * every scenario runs clean with --check full and --check incremental, and
 * every mutant of configs/mutants.list gives the same findings, as a set of
 * (op, invariant) pairs, in both modes (--keep-going, so a finding that
 * persists is reported at every op it holds), on its own script and on
 * tests/modes/mix.ops (400 ops of every kind, arena of 64 pages; on KVM for
 * every fourth mutant).  On two
 * CPUs (QEMU, the dirty-log plugin logging each vCPU) the same: every
 * scenario, tests/smp/two_cpus.ops, tests/modes/mix-smp.ops and
 * tests/modes/groups-smp.ops (par blocks, each checked at its end) clean in
 * both modes, and every mutant of configs/mutants-smp.list (with pct=1, as
 * test_smp_mutants runs them; the race mutants' own scripts are groups) the
 * same findings in both, on its script, mix-smp.ops and groups-smp.ops.
 */
#include <glob.h>

#include "testutil.h"

Suite *suite_modes(void);

static glob_t scenarios, smp_scenarios;
static char mutants[64][64], smp_mutants[64][64];
static unsigned nmutants, nsmp_mutants;

static unsigned load_list(const char *path, char (*names)[64])
{
	char line[512];
	unsigned n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL && n < 64)
		if (line[0] != '#' && sscanf(line, "%63s", names[n]) == 1)
			n++;
	fclose(f);
	return n;
}

static void load_lists(void)
{
	if (scenarios.gl_pathc == 0) {
		glob("tests/scenarios/*.ops", 0, NULL, &scenarios);
		glob("tests/scenarios/*.ops", 0, NULL, &smp_scenarios);
		glob("tests/smp/*.ops", GLOB_APPEND, NULL, &smp_scenarios);
		glob("tests/modes/mix-smp.ops", GLOB_APPEND, NULL, &smp_scenarios);
		glob("tests/modes/groups-smp.ops", GLOB_APPEND, NULL, &smp_scenarios);
	}
	if (nmutants == 0)
		nmutants = load_list("configs/mutants.list", mutants);
	if (nsmp_mutants == 0)
		nsmp_mutants = load_list("configs/mutants-smp.list", smp_mutants);
}

static const char *const modes[2] = {"full", "incremental"};

/* ptshadow run in a check mode; on two CPUs (with pct=1) when two_cpus */
static void run_mode_on(struct tu_proc *p, const char *elf, const char *ops, int mode,
                        bool two_cpus)
{
	char out[600];
	snprintf(out, sizeof(out), "%s/out-%s", tu_dir, modes[mode]);
	char *argv[] = {(char *)tu_bin(),
	                "run",
	                "--keep-going",
	                "--check",
	                (char *)modes[mode],
	                "--out",
	                out,
	                "--arena",
	                "64",
	                "--ops",
	                (char *)ops,
	                (char *)elf,
	                two_cpus ? "--cpus" : NULL,
	                "2",
	                "--cmdline",
	                "pct=1",
	                NULL};
	tu_run(p, 300, argv);
	ck_assert_msg(!p->timed_out, "%s %s: timed out", elf, modes[mode]);
}

static void clean_in_both_modes(const char *path, bool two_cpus)
{
	for (int mode = 0; mode < 2; mode++) {
		struct tu_proc p;
		run_mode_on(&p, tu_guest(), path, mode, two_cpus);
		ck_assert_msg(p.status == 0, "%s%s --check %s: exit %d\n%s", path,
		              two_cpus ? " --cpus 2" : "", modes[mode], p.status, p.err);
		tu_proc_free(&p);
	}
}

START_TEST(scenario_clean_in_both_modes)
{
	if (tu_need_backend("scenario_clean_in_both_modes"))
		clean_in_both_modes(scenarios.gl_pathv[_i], false);
}
END_TEST

static void compare_modes_on(const char *name, const char *ops, bool must_find, bool two_cpus)
{
	char elf[256], *got[2];
	int status[2];
	snprintf(elf, sizeof(elf), "build/mutants/%s.elf", name);
	ck_assert_msg(access(elf, R_OK) == 0, "%s missing: run make mutants", elf);
	for (int mode = 0; mode < 2; mode++) {
		struct tu_proc p;
		run_mode_on(&p, elf, ops, mode, two_cpus);
		status[mode] = p.status;
		got[mode] = tu_run_findings(p.err);
		tu_proc_free(&p);
	}
	ck_assert_msg(!must_find || (status[0] == 1 && got[0][0] != '\0'),
	              "%s: no finding in full mode", name);
	ck_assert_int_eq(status[0], status[1]);
	ck_assert_msg(strcmp(got[0], got[1]) == 0,
	              "%s %s: findings differ\n-- full:\n%s-- incremental:\n%s", name, ops, got[0],
	              got[1]);
	free(got[0]);
	free(got[1]);
}

static void compare_modes(const char *name, const char *ops, bool must_find)
{
	compare_modes_on(name, ops, must_find, false);
}

/* On KVM every fourth mutant runs mix.ops too (0, 4, 8, ...): every mutant's
 * own script compares the dirty ring with the full check, and the long mix
 * (10 s a mode a mutant where /dev/kvm is kvm_pvm) is run in full on QEMU. */
#define KVM_MIX_EVERY 4

START_TEST(mutant_same_in_both_modes)
{
	char ops[256];
	if (!tu_need_backend("mutant_same_in_both_modes"))
		return;
	snprintf(ops, sizeof(ops), "tests/mutants/%s.ops", mutants[_i]);
	compare_modes(mutants[_i], ops, true);
	if (strcmp(tu_backend(), "kvm") != 0 || _i % KVM_MIX_EVERY == 0)
		compare_modes(mutants[_i], "tests/modes/mix.ops", false);
}
END_TEST

START_TEST(scenario_clean_in_both_modes_on_two_cpus)
{
	if (tu_need_qemu_cpus("scenario_clean_in_both_modes_on_two_cpus"))
		clean_in_both_modes(smp_scenarios.gl_pathv[_i], true);
}
END_TEST

START_TEST(smp_mutant_same_in_both_modes)
{
	char ops[256];
	if (!tu_need_qemu_cpus("smp_mutant_same_in_both_modes"))
		return;
	snprintf(ops, sizeof(ops), "tests/mutants/%s.ops", smp_mutants[_i]);
	compare_modes_on(smp_mutants[_i], ops, true, true);
	compare_modes_on(smp_mutants[_i], "tests/modes/mix-smp.ops", false, true);
	compare_modes_on(smp_mutants[_i], "tests/modes/groups-smp.ops", false, true);
}
END_TEST

Suite *suite_modes(void)
{
	Suite *s = suite_create("modes");
	TCase *tc = tcase_create("scenarios");
	TCase *tm = tcase_create("mutants");
	TCase *smp = tcase_create("two_cpus");

	load_lists();
	tu_tmpdir_fixture(tc);
	tcase_set_timeout(tc, 900);
	tcase_add_loop_test(tc, scenario_clean_in_both_modes, 0, (int)scenarios.gl_pathc);
	suite_add_tcase(s, tc);
	tu_tmpdir_fixture(tm);
	tcase_set_timeout(tm, 900);
	tcase_add_loop_test(tm, mutant_same_in_both_modes, 0, (int)nmutants);
	suite_add_tcase(s, tm);
	tu_tmpdir_fixture(smp);
	tcase_set_timeout(smp, 900);
	tcase_add_loop_test(smp, scenario_clean_in_both_modes_on_two_cpus, 0,
	                    (int)smp_scenarios.gl_pathc);
	tcase_add_loop_test(smp, smp_mutant_same_in_both_modes, 0, (int)nsmp_mutants);
	suite_add_tcase(s, smp);
	return s;
}
