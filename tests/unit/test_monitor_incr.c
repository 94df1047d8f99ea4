/* tests/unit/test_monitor_incr.c - the incremental check on synthetic images
 * with a dirty log: it reads only what the log names, sees stray writes into
 * another pmap's tables and into a free page that is linked later, steps
 * aside when the pmap list changes, and reports what full mode reports over
 * random op sequences with random corruptions.
 */
#include <stdlib.h>

#include "monitor_tc.h"

Suite *suite_monitor_incr(void);

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t incremental_ops(const struct tc *t)
{
	return tc_monitor_stats(t->m)->incremental;
}

/* every op of a sound pmap is checked incrementally, creates and destroys too */
START_TEST(test_incremental_is_used)
{
	struct tc t;
	tc_start_mode(&t, TC_INCREMENTAL); /* 2 creates, 8 other ops */
	ck_assert_uint_eq(tc_monitor_stats(t.m)->ops, 10);
	ck_assert_uint_eq(incremental_ops(&t), 10);
	tc_ok(&t, PTS_OP_REMOVE, 1, 0x400000, 0x403000, 0, 0, 0);
	tc_ok(&t, PTS_OP_DESTROY, 2, 0, 0, 0, 0, 0);
	tc_ok(&t, PTS_OP_CREATE, 3, 0, 0, 0, 0, 0);
	tc_ok(&t, PTS_OP_ENTER, 3, 0x400000, 0, 3, 3, 0);
	ck_assert_uint_eq(incremental_ops(&t), 14);
	tc_end(&t);
	tc_start_mode(&t, TC_FULL);
	ck_assert_uint_eq(incremental_ops(&t), 0);
	tc_end(&t);
}
END_TEST

/* what only a fresh walk decides (here a table two pmaps share) is read in full */
START_TEST(test_steps_aside_on_shared_table)
{
	struct tc t;
	tc_start_mode(&t, TC_LISTED);
	gpa_t pt1 = tc_pte(&t, 1, 0x400000) & ~0xfffull;
	tc_run(&t, PTS_OP_EXTRACT, 2, 0x400000, 0, 0, 0, 0);
	synth_w64(t.s, synth_pte_pa(t.s, 2, 0x400000, 2), pt1 | PG_V | PG_RW | PG_u);
	ck_assert_int_gt(tc_check(&t), 0);
	ck_assert(tc_reported(&t, "PTP-3"));
	ck_assert_uint_eq(incremental_ops(&t), 10); /* this op was not */
	tc_end(&t);
}
END_TEST

/* a buggy pmap writes into another pmap's page table during an op on pmap 1:
 * that page is in the dirty log, so it is read again and the write is seen */
START_TEST(test_stray_write_other_pmap)
{
	struct tc t;
	tc_start_mode(&t, TC_LISTED);
	gpa_t pte = tc_pte(&t, 2, 0x400000); /* pmap 2 maps pg3 read-only */
	tc_run(&t, PTS_OP_PROTECT, 1, 0x400000, 0x401000, 0, PTS_PROT_READ, 0);
	tc_or64(&t, pte, PG_RW, 0);
	ck_assert_int_gt(tc_check(&t), 0);
	ck_assert(tc_reported(&t, "PROT-1")); /* a right granted by protect */
	ck_assert(tc_reported(&t, "MODEL-1"));
	ck_assert(tc_reported(&t, "CNT-5")); /* pg3's writeable_count */
	tc_end(&t);
}
END_TEST

/* the same with that page the only one the log names: an op that writes nothing else */
START_TEST(test_stray_write_only_dirty_page)
{
	struct tc t;
	tc_start_mode(&t, TC_LISTED);
	gpa_t pte = tc_pte(&t, 2, 0x7f0000001000ull); /* pg6 rw in pmap 2 */
	tc_run(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
	tc_or64(&t, pte, 0, PG_RW); /* a right taken away behind the pmap's back */
	ck_assert_int_eq(synth_publish_dirty(t.s), 0);
	ck_assert_uint_eq(t.s->ndirty_pfns, 1);
	ck_assert_int_gt(tc_check(&t), 0);
	ck_assert(tc_reported(&t, "MODEL-1"));
	ck_assert(tc_reported(&t, "CNT-5"));
	ck_assert_uint_eq(incremental_ops(&t), 11);
	tc_end(&t);
}
END_TEST

/*
 * The contract: a page the dirty log does not name is not read again.  A
 * write KVM failed to log goes unseen by the incremental check; the next full
 * check (page_dirty NULL, as `--full-every` makes it) sees it.
 */
START_TEST(test_unlogged_write_unseen)
{
	struct tc t;
	tc_start_mode(&t, TC_INCREMENTAL);
	synth_w64_unlogged(t.s, tc_pte(&t, 2, 0x400000),
	                   synth_r64(t.s, tc_pte(&t, 2, 0x400000)) | PG_RW);
	tc_ok(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
	t.s->gmem.page_dirty = NULL;
	tc_run(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
	ck_assert_int_gt(tc_check(&t), 0);
	ck_assert(tc_reported(&t, "MODEL-1"));
	tc_end(&t);
}
END_TEST

/* a free page written while free (even behind the log) is read when it is linked */
START_TEST(test_free_page_linked_later)
{
	struct tc f, i;
	struct tc *both[2] = {&f, &i};
	tc_start_mode(&f, TC_FULL);
	tc_start_mode(&i, TC_LISTED);
	gpa_t page = 0;
	for (uint64_t pfn = SYNTH_RAM / 4096 - 1; page == 0; pfn--)
		if (!i.s->used[pfn])
			page = pfn << 12;
	for (int k = 0; k < 2; k++) { /* a stale mapping of pg9 in a free page */
		synth_w64_unlogged(both[k]->s, page + 8 * 5,
		                   synth_arena_pa(9) | PG_V | PG_RW | PG_u | PTS_PTE_MANAGED);
		tc_ok(both[k], PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
		gpa_t pde = synth_pte_pa(both[k]->s, 1, 0x600000,
		                         2); /* then linked as pmap 1's PT at 6 MiB */
		tc_run(both[k], PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
		synth_w64(both[k]->s, pde, page | PG_V | PG_RW | PG_u);
		tc_check(both[k]);
	}
	ck_assert(tc_reported(&i, "MODEL-1")); /* the mapping at 0x605000 */
	ck_assert(tc_reported(&i, "PTP-6"));   /* a free page used as a table */
	for (size_t k = 0; k < invariant_count(); k++)
		ck_assert_int_eq(tc_reported(&f, invariant_at(k)->id),
		                 tc_reported(&i, invariant_at(k)->id));
	tc_end(&f);
	tc_end(&i);
}
END_TEST

/* the invariants a check reported, as a bit set over the table */
static uint64_t reported_set(const struct tc *t)
{
	uint64_t bits = 0;
	for (size_t i = 0; i < monitor_nviolations(t->m); i++)
		bits |= 1ull << invariant_index(monitor_violation(t->m, i)->inv);
	return bits;
}

/*
 * A pmap that comes with a root table no entry leads to, all zero and on a
 * kernel page (found by fuzz_monitor): the incremental check looks at that
 * root as a full check does (PTP-6: a page table of usage KERNEL).
 */
START_TEST(test_new_pmap_empty_root)
{
	struct tc f, i;
	struct tc *both[2] = {&f, &i};
	tc_start_mode(&f, TC_FULL);
	tc_start_mode(&i, TC_LISTED);
	for (int k = 0; k < 2; k++) {
		struct synth *s = both[k]->s;
		gpa_t rec = 0x1a0000; /* a free page: the record reads as zeros, root 0 */
		synth_w64(s, rec + SYN_PM_NEXT, synth_r64(s, s->pmap_list_pa));
		synth_w64(s, s->pmap_list_pa, s->desc.dmap_base + rec);
		tc_run(both[k], PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
		tc_check(both[k]);
	}
	ck_assert(tc_reported(&f, "PTP-6"));
	if (reported_set(&f) != reported_set(&i)) {
		fprintf(stderr, "-- full:\n");
		tc_dump(&f);
		fprintf(stderr, "-- incremental:\n");
		tc_dump(&i);
	}
	ck_assert_msg(reported_set(&f) == reported_set(&i),
	              "a pmap whose root is the all-zero page 0: modes differ");
	tc_end(&f);
	tc_end(&i);
}
END_TEST

/* ---- random ops and corruptions, the same on two images, one checked in full */

static void random_op(struct tc *t, uint64_t r[8])
{
	static const uint32_t kinds[] = {
	    PTS_OP_ENTER,        PTS_OP_ENTER,           PTS_OP_ENTER,       PTS_OP_REMOVE,
	    PTS_OP_PROTECT,      PTS_OP_UNWIRE,          PTS_OP_EXTRACT,     PTS_OP_PAGE_PROTECT,
	    PTS_OP_CLEAR_MODIFY, PTS_OP_CLEAR_REFERENCE, PTS_OP_IS_MODIFIED, PTS_OP_TOUCH,
	    PTS_OP_KENTER,       PTS_OP_KREMOVE,         PTS_OP_COLLECT,     PTS_OP_ACTIVATE,
	    PTS_OP_CREATE,       PTS_OP_DESTROY};
	uint32_t kind = kinds[r[0] % (sizeof kinds / sizeof kinds[0])];
	uint64_t va = 0x400000 + (r[1] % 24) * 0x1000 + (r[2] % 3) * 0x200000;
	static const uint32_t prots[] = {1, 3, 5, 7}, page_prots[] = {0, 1, 5};
	uint32_t prot = kind == PTS_OP_PAGE_PROTECT ? page_prots[r[3] % 3] : prots[r[3] % 4];
	uint64_t end =
	    kind == PTS_OP_REMOVE || kind == PTS_OP_PROTECT ? va + (r[4] % 4 + 1) * 0x1000 : 0;
	if (kind == PTS_OP_KENTER || kind == PTS_OP_KREMOVE)
		va = (r[1] % 8) * 0x1000, end = 0;
	uint32_t flags =
	    kind == PTS_OP_TOUCH ? (r[5] & 1) * PTS_OPF_WRITE : (r[5] % 5 == 0) * PTS_OPF_WIRED;
	tc_run(t, kind, 1 + (uint32_t)(r[6] % 3), va, end, 10 + r[7] % 12, prot, flags);
}

/* counters and PTE bits the pmap keeps, bumped or flipped as a buggy pmap would */
static void corrupt(struct tc *t, uint64_t r[8])
{
	gpa_t pte = tc_pte(t, 1 + (uint32_t)(r[1] % 2), 0x400000 + (r[2] % 24) * 0x1000);
	static const uint64_t bits[] = {PG_RW, PG_U, PG_M, PG_NX, PTS_PTE_WIRED, PG_u};
	switch (r[0] % 6) {
	case 0:
		if (pte != 0 && (synth_r64(t->s, pte) & PG_V))
			synth_w64(t->s, pte, synth_r64(t->s, pte) ^ bits[r[3] % 6]);
		break;
	case 1:
		tc_add64(t,
		         synth_pmap_pa(t->s, 1 + (uint32_t)(r[1] % 2)) +
		             (r[3] & 1 ? SYN_PM_RESIDENT : SYN_PM_WIRED),
		         1);
		break;
	case 2:
		tc_add32(
		    t, tc_vmp(t, 10 + r[4] % 12, r[3] & 1 ? SYN_VMP_PMAPCOUNT : SYN_VMP_WCOUNT), 1);
		break;
	case 3:
		synth_w32(t->s, tc_vmp(t, 10 + r[4] % 12, SYN_VMP_ATTRS), (uint32_t)(r[3] % 4));
		break;
	case 4:
		synth_w32(t->s, tc_vmp(t, 10 + r[4] % 12, SYN_VMP_FLAGS), (uint32_t)(r[3] % 4));
		break;
	case 5:
		tc_add32(t, t->s->pool_pa + (r[3] & 1 ? SYN_PR_NITEMS : SYN_PR_NOUT), 1);
		break;
	}
}

START_TEST(test_random_sequences_agree)
{
	struct tc f, i;
	tc_start_mode(&f, TC_FULL);
	tc_start_mode(&i, _i % 2 ? TC_INCREMENTAL : TC_LISTED);
	rng_state = 0x9e3779b97f4a7c15ull * (uint64_t)(_i + 1);
	for (int n = 0; n < 400; n++) {
		uint64_t r[8], c[8];
		for (int k = 0; k < 8; k++)
			r[k] = rnd(), c[k] = rnd();
		random_op(&f, r);
		random_op(&i, r);
		if (c[7] % 16 == 0) {
			corrupt(&f, c);
			corrupt(&i, c);
		}
		tc_check(&f);
		tc_check(&i);
		for (size_t k = 0; k < invariant_count(); k++) {
			const char *id = invariant_at(k)->id;
			if (tc_reported(&f, id) != tc_reported(&i, id)) {
				fprintf(stderr, "seed %d op %d: %s full %d incremental %d\n", _i, n,
				        id, tc_reported(&f, id), tc_reported(&i, id));
				tc_dump(&f);
				tc_dump(&i);
			}
			ck_assert_int_eq(tc_reported(&f, id), tc_reported(&i, id));
		}
	}
	ck_assert_uint_gt(incremental_ops(&i), 200);
	ck_assert_uint_gt(tc_monitor_stats(i.m)->violations, 20); /* the corruptions were seen */
	tc_end(&f);
	tc_end(&i);
}
END_TEST

Suite *suite_monitor_incr(void)
{
	Suite *s = suite_create("monitor_incr");
	TCase *tc = tcase_create("incremental");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_incremental_is_used);
	tcase_add_test(tc, test_steps_aside_on_shared_table);
	tcase_add_test(tc, test_stray_write_other_pmap);
	tcase_add_test(tc, test_stray_write_only_dirty_page);
	tcase_add_test(tc, test_unlogged_write_unseen);
	tcase_add_test(tc, test_free_page_linked_later);
	tcase_add_test(tc, test_new_pmap_empty_root);
	tcase_add_loop_test(tc, test_random_sequences_agree, 0, 6);
	suite_add_tcase(s, tc);
	return s;
}
