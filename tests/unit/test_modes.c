/* tests/unit/test_modes.c - the two check modes agree on the real guest:
 * every scenario runs clean with --check full and --check incremental, and
 * every mutant of configs/mutants.list gives the same findings, as a set of
 * (op, invariant) pairs, in both modes (--keep-going, so a finding that
 * persists is reported at every op it holds), on its own script and on
 * tests/modes/mix.ops (400 ops of every kind, arena of 64 pages; on KVM for
 * every fourth mutant).
 */
#include <glob.h>

#include "testutil.h"

Suite *suite_modes(void);

static glob_t scenarios;
static char mutants[64][64];
static unsigned nmutants;

static void load_lists(void)
{
	char line[512];
	FILE *f;

	if (scenarios.gl_pathc == 0)
		glob("tests/scenarios/*.ops", 0, NULL, &scenarios);
	if (nmutants > 0 || (f = fopen("configs/mutants.list", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && nmutants < 64)
		if (line[0] != '#' && sscanf(line, "%63s", mutants[nmutants]) == 1)
			nmutants++;
	fclose(f);
}

static const char *const modes[2] = {"full", "incremental"};

static void run_mode(struct tu_proc *p, const char *elf, const char *ops, int mode)
{
	char out[600];
	snprintf(out, sizeof(out), "%s/out-%s", tu_dir, modes[mode]);
	char *argv[] = {
	    (char *)tu_bin(), "run", "--keep-going", "--check",   (char *)modes[mode], "--out", out,
	    "--arena",        "64",  "--ops",        (char *)ops, (char *)elf,         NULL};
	tu_run(p, 300, argv);
	ck_assert_msg(!p->timed_out, "%s %s: timed out", elf, modes[mode]);
}

START_TEST(scenario_clean_in_both_modes)
{
	const char *path = scenarios.gl_pathv[_i];
	if (!tu_need_backend("scenario_clean_in_both_modes"))
		return;
	for (int mode = 0; mode < 2; mode++) {
		struct tu_proc p;
		run_mode(&p, tu_guest(), path, mode);
		ck_assert_msg(p.status == 0, "%s --check %s: exit %d\n%s", path, modes[mode],
		              p.status, p.err);
		tu_proc_free(&p);
	}
}
END_TEST

static void compare_modes(const char *name, const char *ops, bool must_find)
{
	char elf[256], *got[2];
	int status[2];
	snprintf(elf, sizeof(elf), "build/mutants/%s.elf", name);
	ck_assert_msg(access(elf, R_OK) == 0, "%s missing: run make mutants", elf);
	for (int mode = 0; mode < 2; mode++) {
		struct tu_proc p;
		run_mode(&p, elf, ops, mode);
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

Suite *suite_modes(void)
{
	Suite *s = suite_create("modes");
	TCase *tc = tcase_create("scenarios");
	TCase *tm = tcase_create("mutants");

	load_lists();
	tu_tmpdir_fixture(tc);
	tcase_set_timeout(tc, 900);
	tcase_add_loop_test(tc, scenario_clean_in_both_modes, 0, (int)scenarios.gl_pathc);
	suite_add_tcase(s, tc);
	tu_tmpdir_fixture(tm);
	tcase_set_timeout(tm, 900);
	tcase_add_loop_test(tm, mutant_same_in_both_modes, 0, (int)nmutants);
	suite_add_tcase(s, tm);
	return s;
}
