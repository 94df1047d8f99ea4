/* tests/unit/test_snapshot.c - a guest put back to its post-boot snapshot
 * behaves exactly like a freshly booted one: the same script gives the same
 * results and the same findings, whatever ran before the reset.
 */
#include "runner.h"
#include "testutil.h"

static struct script *parse(const char *text)
{
	struct script *sc = NULL;
	char err[512];

	ck_assert_msg(
	    script_parse_string("<test>", text, strlen(text), NULL, &sc, err, sizeof(err)) == 0,
	    "%s", err);
	return sc;
}

static const char scenario[] = "create a\n"
                               "create b\n"
                               "enter a 0x400000 pg1 rw\n"
                               "enter b 0x7fffffffe000 pg1 r wired\n"
                               "touch a 0x400000 w\n"
                               "is_modified pg1\n"
                               "extract b 0x7fffffffe000\n"
                               "page_protect pg1 r\n"
                               "touch a 0x400000 w\n"
                               "remove a 0x400000\n"
                               "is_referenced pg1\n"
                               "kenter k+0x2000 pg3 rw\n"
                               "fail alloc 1\n"
                               "enter a 0x40000000 pg2 rw canfail\n"
                               "collect b\n";

/* something else first: different pmaps, pool growth, a dirty kenter window */
static const char noise[] = "create x\n"
                            "create y\n"
                            "enter x 0x400000 pg9 rwx\n"
                            "enter x 0x401000 pg9 rw\n"
                            "enter y 0x10000000 pg10 rw\n"
                            "touch x 0x401000 w\n"
                            "kenter k+0x2000 pg5 r\n"
                            "zero pg1\n"
                            "activate y\n";

static void config(struct session_config *cfg, const char *guest)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->guest = guest;
	cfg->mem_mib = 64;
	cfg->timeout_s = 60;
	cfg->arena_pages = 64;
	cfg->pv_per_page = 8;
	cfg->monitor = true;
}

START_TEST(reset_equals_fresh_boot)
{
	struct session_config cfg;
	struct runner fresh, reused;
	struct script *a = parse(scenario), *b = parse(scenario), *n = parse(noise);
	struct finding f;
	char err[512];

	if (!tu_need_backend("reset_equals_fresh_boot"))
		return;
	config(&cfg, tu_guest());
	runner_init(&fresh, &cfg);
	ck_assert_int_eq(runner_run(&fresh, a, false, &f, NULL, NULL, err, sizeof(err)), RUN_CLEAN);
	runner_close(&fresh);

	runner_init(&reused, &cfg);
	ck_assert_int_eq(runner_run(&reused, n, false, &f, NULL, NULL, err, sizeof(err)),
	                 RUN_CLEAN);
	ck_assert_int_eq(runner_run(&reused, b, false, &f, NULL, NULL, err, sizeof(err)),
	                 RUN_CLEAN);
	ck_assert_uint_eq(reused.boots, 1);
	ck_assert_uint_eq(reused.resets, 1);
	for (size_t i = 0; i < a->n_ops; i++) {
		char ta[32], tb[32];
		result_format(a->ops[i].op.result, a->ops[i].op.value, ta, sizeof(ta));
		result_format(b->ops[i].op.result, b->ops[i].op.value, tb, sizeof(tb));
		ck_assert_msg(strcmp(ta, tb) == 0, "op %zu: fresh boot %s, after reset %s", i, ta,
		              tb);
	}
	runner_close(&reused);
	script_free(a);
	script_free(b);
	script_free(n);
}
END_TEST

/* A mutant's finding is the same (signature, op) fresh and after a reset. */
START_TEST(reset_keeps_findings)
{
	static const char *mutant = "build/mutants/remove-forgets-modified.elf";
	struct session_config cfg;
	struct runner r;
	struct script *a = parse(scenario), *b = parse(scenario), *n = parse(noise);
	struct finding f1, f2;
	char err[512];

	if (!tu_need_backend("reset_keeps_findings"))
		return;
	ck_assert_msg(access(mutant, R_OK) == 0, "%s missing: make mutants", mutant);
	config(&cfg, mutant);
	ck_assert_int_eq(run_script(&cfg, a, false, &f1, NULL, NULL, err, sizeof(err)),
	                 RUN_FINDING);
	runner_init(&r, &cfg);
	enum run_outcome o = runner_run(&r, n, false, &f2, NULL, NULL, err, sizeof(err));
	if (o == RUN_FINDING)
		finding_free(&f2);
	ck_assert_int_eq(runner_run(&r, b, false, &f2, NULL, NULL, err, sizeof(err)), RUN_FINDING);
	ck_assert_uint_eq(r.boots, 1);
	ck_assert_uint_eq(f1.signature, f2.signature);
	ck_assert_uint_eq(f1.op_index, f2.op_index);
	finding_free(&f1);
	finding_free(&f2);
	runner_close(&r);
	script_free(a);
	script_free(b);
	script_free(n);
}
END_TEST

Suite *suite_snapshot(void);

Suite *suite_snapshot(void)
{
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("reset");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, reset_equals_fresh_boot);
	tcase_add_test(tc, reset_keeps_findings);
	suite_add_tcase(s, tc);
	return s;
}
