/* tests/unit/test_optable.c - an op kind lives in PTS_OP_TABLE
 * (include/ptshadow/optable.h) and in the few places that give it meaning;
 * for every row of the table, each of them has it:
 *
 *   the guest's handler (guest/ops.c)     op_handlers: a row without one does not compile
 *   the model's rule (monitor/model.c)    its validity and effect: the ops below run
 *   the semantics (docs/semantics.md)     an entry under "## Operations"
 *   the default campaign (configs/fuzz/default.ini)  a weight: "every op kind"
 *   the synthetic guest (tests/lib/synth_pmap.c), which the monitor's suites run
 *
 * and what the table's argument codes drive takes it without a word: the
 * generator makes it (src/fuzz/fuzz_gen.c), the parser and printer read and
 * write it (src/ops/), and the incremental check's scope covers what it
 * changes (the model tells the scope, monitor/scope.c), so the full and the
 * incremental check agree on it.  A place that lacks a kind aborts naming
 * itself (monitor/bug.h), which fails these tests.
 */
#include "fuzz.h"
#include "monitor_tc.h"
#include "testutil.h"

Suite *suite_optable(void);

/* the default profile's knobs, with kind (and create, enter: pmaps to act on) drawn */
static void profile_for(struct fuzz_profile *p, uint32_t kind)
{
	fuzz_profile_default(p);
	memset(p->weight, 0, sizeof p->weight);
	p->weight[PTS_OP_CREATE] = 1;
	p->weight[PTS_OP_ENTER] = 3;
	p->weight[kind] += 6;
}

START_TEST(test_every_kind_is_generated_and_parses)
{
	for (uint32_t k = PTS_OP_NONE + 1; k < PTS_OP_COUNT; k++) {
		struct fuzz_profile p;
		struct fuzz_gen g;
		unsigned n = 0;
		profile_for(&p, k);
		fuzz_gen_init(&g, &p, k, SYNTH_ARENA_PAGES);
		for (int i = 0; i < 2000; i++) {
			struct script_op o, back;
			char text[OPS_TEXT_MAX], msg[256];
			fuzz_gen_next(&g, &o);
			n += o.op.kind == k;
			script_op_format(&o, text, sizeof text);
			ck_assert_msg(script_op_parse(text, NULL, &back, msg, sizeof msg) == 1 &&
			                  back.op.kind == o.op.kind,
			              "%s: '%s' does not parse back: %s", pts_op_name(k), text,
			              msg);
		}
		ck_assert_msg(n > 0, "the generator never made %s in 2000 ops", pts_op_name(k));
	}
}
END_TEST

/* a profile leaves out the kinds it does not name: the default one names every kind */
START_TEST(test_every_kind_is_in_the_default_campaign)
{
	struct fuzz_profile p;
	char err[512];
	ck_assert_msg(fuzz_profile_load("default", &p, err, sizeof err) == 0, "%s", err);
	for (uint32_t k = PTS_OP_NONE + 1; k < PTS_OP_COUNT; k++)
		ck_assert_msg(p.weight[k] > 0, "configs/fuzz/default.ini: no weight for %s",
		              pts_op_name(k));
}
END_TEST

/* the lines of docs/semantics.md's "## Operations" section */
static char *operations_section(void)
{
	char *doc = tu_read_file("docs/semantics.md", NULL);
	char *from = strstr(doc, "\n## Operations\n"), *to;
	ck_assert_msg(from != NULL, "docs/semantics.md has no \"## Operations\" section");
	to = strstr(from + 1, "\n## ");
	if (to != NULL)
		to[1] = '\0';
	memmove(doc, from, strlen(from) + 1);
	return doc;
}

START_TEST(test_every_kind_has_semantics)
{
	char *ops = operations_section();
	for (uint32_t k = PTS_OP_NONE + 1; k < PTS_OP_COUNT; k++) {
		char head[64];
		const char *at;
		size_t n = (size_t)snprintf(head, sizeof head, "\n`%s", pts_op_name(k));
		for (at = strstr(ops, head); at != NULL; at = strstr(at + 1, head))
			if (at[n] == ' ' || at[n] == '`')
				break;
		ck_assert_msg(at != NULL,
		              "docs/semantics.md, ## Operations: no line starts with `%s (its "
		              "semantics)",
		              pts_op_name(k));
	}
	free(ops);
}
END_TEST

/* ---- on the synthetic guest, in both checks */

struct pair {
	struct tc full, incr;
	uint8_t *saved;
};

/* op on both images (the guest does it), or on neither, the guest reporting
 * the result it would have given (a pmap that forgot to do it) */
static void run_both(struct pair *p, const struct pts_op *op, bool ignored)
{
	struct tc *both[2] = {&p->full, &p->incr};
	for (int i = 0; i < 2; i++) {
		struct synth *s = both[i]->s, before = *s;
		both[i]->op = *op;
		if (ignored)
			memcpy(p->saved, s->mem, SYNTH_RAM);
		synth_op(s, &both[i]->op);
		if (ignored) { /* back as it was, but for the dirty log's memory */
			uint8_t *logged = s->logged;
			*s = before;
			s->logged = logged;
			memcpy(s->mem, p->saved, SYNTH_RAM);
		}
	}
}

/* the invariants a check reported, as a bit set over the table */
static uint64_t reported_set(const struct tc *t)
{
	uint64_t bits = 0;
	for (size_t i = 0; i < monitor_nviolations(t->m); i++)
		bits |= 1ull << invariant_index(monitor_violation(t->m, i)->inv);
	return bits;
}

/*
 * ops of kind k mixed into a generated stream: the synthetic guest runs them
 * (or, when forget is set, leaves every other one of kind k undone), both
 * monitors check each op and must agree; a clean run has nothing to report.
 */
static void stream(uint32_t k, bool forget, uint64_t *findings)
{
	struct fuzz_profile prof;
	struct fuzz_gen g;
	struct pair p;
	unsigned n = 0;
	profile_for(&prof, k);
	fuzz_gen_init(&g, &prof, 1000 + k, SYNTH_ARENA_PAGES);
	tc_start_empty_mode(&p.full, NULL, TC_FULL);
	tc_start_empty_mode(&p.incr, NULL, k % 2 ? TC_INCREMENTAL : TC_LISTED);
	p.saved = malloc(SYNTH_RAM);
	ck_assert_ptr_nonnull(p.saved);
	for (int i = 0; i < 300; i++) {
		struct script_op o;
		fuzz_gen_next(&g, &o);
		run_both(&p, &o.op, forget && o.op.kind == k && n++ % 2 == 0);
		tc_check(&p.full);
		tc_check(&p.incr);
		uint64_t f = reported_set(&p.full), c = reported_set(&p.incr);
		if (f != c || (!forget && f != 0)) {
			fprintf(stderr, "%s, op %d (%s): full and incremental checks\n",
			        pts_op_name(k), i, pts_op_name(o.op.kind));
			tc_dump(&p.full);
			fprintf(stderr, "-- incremental\n");
			tc_dump(&p.incr);
		}
		ck_assert_msg(f == c, "%s: the checks disagree at op %d", pts_op_name(k), i);
		ck_assert_msg(forget || f == 0, "%s: a finding on a sound guest at op %d",
		              pts_op_name(k), i);
		*findings |= f;
	}
	ck_assert_uint_gt(tc_monitor_stats(p.incr.m)->incremental, 150);
	free(p.saved);
	tc_end(&p.full);
	tc_end(&p.incr);
}

/* the model has a rule for every kind, the synthetic guest a handler, and a
 * sound guest running them raises nothing in either check */
START_TEST(test_every_kind_runs_clean_in_both_checks)
{
	uint64_t findings = 0;
	for (uint32_t k = PTS_OP_NONE + 1; k < PTS_OP_COUNT; k++)
		stream(k, false, &findings);
}
END_TEST

/* what an op changes in the model is in the incremental check's scope: a
 * guest that leaves ops of any kind undone is caught in both checks alike */
START_TEST(test_every_kind_is_in_the_scope)
{
	uint64_t findings = 0;
	for (uint32_t k = PTS_OP_NONE + 1; k < PTS_OP_COUNT; k++)
		stream(k, true, &findings);
	ck_assert(findings & (1ull << invariant_index(invariant_find("MODEL-1"))));
	ck_assert(findings & (1ull << invariant_index(invariant_find("MODEL-3"))));
}
END_TEST

Suite *suite_optable(void)
{
	Suite *s = suite_create("optable");
	TCase *tc = tcase_create("op kinds");
	tu_tmpdir_fixture(tc);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_every_kind_is_generated_and_parses);
	tcase_add_test(tc, test_every_kind_is_in_the_default_campaign);
	tcase_add_test(tc, test_every_kind_has_semantics);
	tcase_add_test(tc, test_every_kind_runs_clean_in_both_checks);
	tcase_add_test(tc, test_every_kind_is_in_the_scope);
	suite_add_tcase(s, tc);
	return s;
}
