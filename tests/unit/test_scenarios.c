/* tests/unit/test_scenarios.c - the real guest against every scenario in
 * tests/scenarios/ (each must run clean, monitor on, expectations met), and
 * every mutant of configs/mutants.list against its scenario in tests/mutants/
 * (each must be reported, with the invariant family the list names, and each
 * of its crash directories must hold a walk.svg that names its invariant).
 */
#include <glob.h>
#include <jansson.h>

#include "svgcheck.h"
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

/* Every crash directory under out has a well-formed walk.svg that names the
 * invariant of its report.json (id and name, in text a viewer shows); the
 * number of them. */
static unsigned pictures_name_their_invariant(const char *out)
{
	char pattern[700], path[800], want[160], err[256];
	unsigned n = 0;
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/crashes/*/report.json", out);
	ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++, n++) {
		json_t *j = json_load_file(g.gl_pathv[i], 0, NULL);
		ck_assert_msg(j != NULL, "%s does not parse", g.gl_pathv[i]);
		const char *id = json_string_value(json_object_get(j, "invariant"));
		const char *name = json_string_value(json_object_get(j, "name"));
		ck_assert(id != NULL && name != NULL);
		snprintf(path, sizeof(path), "%.*s/walk.svg",
		         (int)(strlen(g.gl_pathv[i]) - strlen("/report.json")), g.gl_pathv[i]);
		struct svg_check *c = svg_check_load(path, err, sizeof(err));
		ck_assert_msg(c != NULL && svg_check_is_svg(c), "%s: %s", path, err);
		snprintf(want, sizeof(want), "%s %s", id, name);
		ck_assert_msg(svg_check_has_text(c, want), "%s does not name '%s'", path, want);
		ck_assert_str_eq(svg_check_attr(c, "/s:svg", "data-invariant"), id);
		svg_check_free(c);
		json_decref(j);
	}
	globfree(&g);
	return n;
}

START_TEST(mutant_is_reported)
{
	const struct mutant *m = &mutants[_i];
	char elf[256], ops[256], out[600], needle[32];
	struct tu_proc p;

	if (!tu_need_backend("mutant_is_reported"))
		return;
	snprintf(elf, sizeof(elf), "build/mutants/%s.elf", m->name);
	snprintf(ops, sizeof(ops), "tests/mutants/%s.ops", m->name);
	snprintf(out, sizeof(out), "%s/out-%s", tu_dir, m->name);
	ck_assert_msg(access(elf, R_OK) == 0, "%s missing: run make mutants", elf);
	char *argv[] = {(char *)tu_bin(), "run", "--ops", ops, "--out", out,
	                "--keep-going",   elf,   NULL};
	tu_run(&p, 300, argv);
	ck_assert_msg(p.status == 1, "%s: exit %d, want 1 (a finding)\n%s", m->name, p.status,
	              p.err);
	snprintf(needle, sizeof(needle), ": %s-", m->family);
	ck_assert_msg(strstr(p.err, needle) != NULL, "%s: no %s finding reported\n%s", m->name,
	              m->family, p.err);
	ck_assert_uint_gt(pictures_name_their_invariant(out), 0);
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
