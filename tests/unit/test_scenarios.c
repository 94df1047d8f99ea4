/* tests/unit/test_scenarios.c - the real guest against every scenario in
 * tests/scenarios/ (each must run clean, monitor on, expectations met), and
 * every mutant of configs/mutants.list against its scenario in tests/mutants/
 * (each must be reported, with the invariant family the list names).
 */
#include <glob.h>

#include "testutil.h"

static glob_t scenarios;

struct mutant {
	char name[64];
	char family[16]; /* "ATTR" of "ATTR-1" */
};
static struct mutant mutants[64];
static unsigned nmutants;

static void load_lists(void)
{
	char line[512];
	FILE *f;

	if (scenarios.gl_pathc == 0)
		glob("tests/scenarios/*.ops", 0, NULL, &scenarios);
	if (nmutants > 0 || (f = fopen("configs/mutants.list", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && nmutants < 64) {
		char name[64], inv[32];
		if (line[0] == '#' || sscanf(line, "%63s %31s", name, inv) != 2)
			continue;
		snprintf(mutants[nmutants].name, sizeof(mutants[0].name), "%s", name);
		snprintf(mutants[nmutants].family, sizeof(mutants[0].family), "%.*s",
		         (int)strcspn(inv, "-"), inv);
		nmutants++;
	}
	fclose(f);
}

START_TEST(scenario_runs_clean)
{
	struct tu_proc p;
	char out[600];
	const char *path = scenarios.gl_pathv[_i];

	if (!tu_need_backend("scenario_runs_clean"))
		return;
	snprintf(out, sizeof(out), "%s/out", tu_dir);
	char *argv[] = {(char *)tu_bin(),   "run", "--ops", (char *)path, "--out", out,
	                (char *)tu_guest(), NULL};
	tu_run(&p, 300, argv);
	ck_assert_msg(p.status == 0, "%s: exit %d (%.1f s)\n%s", path, p.status, p.secs, p.err);
	tu_proc_free(&p);
}
END_TEST

START_TEST(mutant_is_reported)
{
	const struct mutant *m = &mutants[_i];
	char elf[256], ops[256], out[600], needle[32];
	struct tu_proc p;

	if (!tu_need_backend("mutant_is_reported"))
		return;
	snprintf(elf, sizeof(elf), "build/mutants/%s.elf", m->name);
	snprintf(ops, sizeof(ops), "tests/mutants/%s.ops", m->name);
	snprintf(out, sizeof(out), "%s/out", tu_dir);
	ck_assert_msg(access(elf, R_OK) == 0, "%s missing: run make mutants", elf);
	char *argv[] = {(char *)tu_bin(), "run", "--ops", ops, "--out", out,
	                "--keep-going",   elf,   NULL};
	tu_run(&p, 300, argv);
	ck_assert_msg(p.status == 1, "%s: exit %d, want 1 (a finding)\n%s", m->name, p.status,
	              p.err);
	snprintf(needle, sizeof(needle), ": %s-", m->family);
	ck_assert_msg(strstr(p.err, needle) != NULL, "%s: no %s finding reported\n%s", m->name,
	              m->family, p.err);
	tu_proc_free(&p);
}
END_TEST

Suite *suite_scenarios(void);

Suite *suite_scenarios(void)
{
	Suite *s = suite_create("scenarios");
	TCase *tc = tcase_create("scenarios");
	TCase *tm = tcase_create("mutants");

	load_lists();
	tu_tmpdir_fixture(tc);
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, scenario_runs_clean, 0, (int)scenarios.gl_pathc);
	suite_add_tcase(s, tc);
	tu_tmpdir_fixture(tm);
	tcase_set_timeout(tm, 600);
	tcase_add_loop_test(tm, mutant_is_reported, 0, (int)nmutants);
	suite_add_tcase(s, tm);
	return s;
}
