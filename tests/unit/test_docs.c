/* tests/unit/test_docs.c - the generated documentation is up to date:
 * docs/invariants.md is exactly what `ptshadow invariants --markdown` prints.
 */
#include "testutil.h"

Suite *suite_docs(void);

START_TEST(test_invariants_md_is_generated)
{
	struct tu_proc p;
	char *argv[] = { (char *)tu_bin(), "invariants", "--markdown", NULL };
	size_t len;
	char *doc = tu_read_file("docs/invariants.md", &len);
	tu_run(&p, 60, argv);
	ck_assert_int_eq(p.status, 0);
	ck_assert_msg(strcmp(doc, p.out) == 0,
		      "docs/invariants.md differs from `ptshadow invariants --markdown`: run `make docs`");
	free(doc);
	tu_proc_free(&p);
}
END_TEST

Suite *suite_docs(void)
{
	Suite *s = suite_create("docs");
	TCase *tc = tcase_create("docs");
	tu_tmpdir_fixture(tc);
	tcase_add_test(tc, test_invariants_md_is_generated);
	suite_add_tcase(s, tc);
	return s;
}
