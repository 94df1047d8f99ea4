/* tests/unit/test_monitor_inv.c - for every invariant in the table, a
 * synthetic image that holds it (no violation at all) and the same image
 * broken so that this invariant, by id, is reported.
 */
#include "monitor_tc.h"

#include "desc.h"

Suite *suite_monitor_inv(void);

typedef void (*case_fn)(struct tc *t, bool inject);

#define PM(slot) synth_pmap_pa(t->s, (slot))
#define QUERY()  tc_run(t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0)

static gpa_t first_pv(struct tc *t, uint64_t page)
{
	return synth_kva_pa(t->s, synth_r64(t->s, tc_vmp(t, page, SYN_VMP_PVLIST)));
}

static gpa_t pool_hdr(struct tc *t)
{
	uint64_t h = synth_r64(t->s, t->s->pool_pa + SYN_PR_PART);
	if (h == 0)
		h = synth_r64(t->s, t->s->pool_pa + SYN_PR_EMPTY);
	return synth_kva_pa(t->s, h);
}

static gpa_t pt_vmp(struct tc *t, uint32_t slot, uint64_t va, uint32_t off)
{
	return synth_vmp_pa(t->s, tc_pte(t, slot, va) >> 12) + off;
}

/* ---- PV */
static void pv_1(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		synth_w64(t->s, tc_vmp(t, 5, SYN_VMP_PVLIST), 0);
}
static void pv_2(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add64(t, first_pv(t, 5) + SYN_PVE_VA, 0x10000000);
}
static void pv_3(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		synth_w64(t->s, first_pv(t, 5) + SYN_PVE_PTP, 0);
}
static void pv_4(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_or64(t, tc_pte(t, 1, 0x402000), 0, PTS_PTE_MANAGED);
}
static void pv_5(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		synth_w64(t->s, first_pv(t, 5) + SYN_PVE_NEXT,
		          synth_r64(t->s, tc_vmp(t, 5, SYN_VMP_PVLIST)));
}
static void pv_6(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add64(t, first_pv(t, 5) + SYN_PVE_PMAP, 8);
}

/* ---- CNT */
static void cnt_1(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add64(t, PM(1) + SYN_PM_RESIDENT, 1);
}
static void cnt_2(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add64(t, PM(1) + SYN_PM_WIRED, -1);
}
static void cnt_3(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add32(t, PM(2) + SYN_PM_PTPCOUNT, 1);
}
static void cnt_4(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add32(t, tc_vmp(t, 3, SYN_VMP_PMAPCOUNT), 1);
}
static void cnt_5(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add32(t, tc_vmp(t, 3, SYN_VMP_WCOUNT), -1);
}
static void cnt_6(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		synth_w32(t->s, tc_vmp(t, 4, SYN_VMP_FLAGS), 0);
}

/* ---- PTP */
static void ptp_1(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add32(t, pt_vmp(t, 1, 0x400000, SYN_VMP_WIRE), 1);
}
static void ptp_2(struct tc *t, bool inj)
{
	gpa_t pde = synth_pte_pa(t->s, 1, 0x400000, 2);
	QUERY();
	if (inj) /* a second PDE for the same PT */
		synth_w64(t->s, pde + 8, synth_r64(t->s, pde));
}
static void ptp_3(struct tc *t, bool inj)
{
	gpa_t pml4e1 = synth_pte_pa(t->s, 1, 0x400000, 4),
	      pml4e2 = synth_pte_pa(t->s, 2, 0x400000, 4);
	QUERY();
	if (inj)
		synth_w64(t->s, pml4e2, synth_r64(t->s, pml4e1));
}
static void ptp_4(struct tc *t, bool inj)
{
	gpa_t pml4e = synth_pte_pa(t->s, 2, 0x7f0000001000ull, 4);
	uint64_t old = synth_r64(t->s, pml4e);
	tc_run(t, PTS_OP_REMOVE, 2, 0x7f0000001000ull, 0, 0, 0, 0);
	if (inj) /* the emptied PDPT left linked */
		synth_w64(t->s, pml4e, old);
}
static void ptp_5(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add64(t, pt_vmp(t, 1, 0x400000, SYN_VMP_PTPVA), 1 << 21);
}
static void ptp_6(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		synth_w32(t->s, pt_vmp(t, 2, 0x400000, SYN_VMP_USAGE), PTS_PG_KERNEL);
}

/* ---- ATTR */
static void attr_1(struct tc *t, bool inj)
{
	tc_run(t, PTS_OP_REMOVE, 1, 0x400000, 0, 0, 0, 0);
	if (inj)
		synth_w32(t->s, tc_vmp(t, 3, SYN_VMP_ATTRS), 0);
}
static void attr_2(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_or64(t, tc_pte(t, 1, 0x402000), PG_M, PG_U);
}
static void attr_3(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_or64(t, tc_pte(t, 2, 0x400000), 1ull << 55, 0);
}
static void attr_4(struct tc *t, bool inj)
{
	tc_run(t, PTS_OP_ENTER, 1, 0x403000, 0, 8, 3, 0);
	if (inj)
		tc_or64(t, tc_pte(t, 1, 0x403000), PG_U, 0);
}
static void attr_5(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_or64(t, tc_pte(t, 2, 0x400000), PG_G, 0);
}
static void attr_6(struct tc *t, bool inj)
{
	QUERY();
	if (inj) /* a stale entry beside pmap 1's mappings: frame and flags without P */
		synth_w64(t->s, tc_pte(t, 1, 0x405000),
		          synth_arena_pa(9) | PG_RW | PG_u | PTS_PTE_MANAGED);
}

/* ---- PROT */
static void prot_1(struct tc *t, bool inj)
{
	tc_run(t, PTS_OP_CLEAR_REFERENCE, 0, 0, 0, 4, 0, 0);
	if (inj)
		tc_or64(t, tc_pte(t, 1, 0x401000), PG_RW, 0);
}
static void prot_2(struct tc *t, bool inj)
{
	tc_run(t, PTS_OP_PAGE_PROTECT, 0, 0, 0, 3, PTS_PROT_READ, 0);
	if (inj)
		tc_or64(t, tc_pte(t, 2, 0x400000), 0, PG_NX);
}
static void prot_3(struct tc *t, bool inj)
{
	tc_run(t, PTS_OP_PROTECT, 1, 0x400000, 0x403000, 0, PTS_PROT_READ, 0);
	if (inj)
		tc_or64(t, tc_pte(t, 1, 0x402000), 0, PG_NX);
}

/* ---- AS */
static void as_1(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_or64(t, t->s->kenter_pt + 8 * 2, PG_u, 0);
}
static void as_2(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		synth_w64(t->s, synth_r64(t->s, PM(1) + SYN_PM_PML4) + 8 * 300, 0x170000 | PG_V);
}
static void as_3(struct tc *t, bool inj)
{
	gpa_t root = synth_r64(t->s, PM(SYNTH_KERNEL_SLOT) + SYN_PM_PML4);
	gpa_t pdpt = synth_r64(t->s, root + 8 * 256) & PG_FRAME,
	      pd = synth_r64(t->s, pdpt) & PG_FRAME;
	QUERY();
	if (inj)
		tc_or64(t, pd + 8, 0, PG_NX);
}
static void as_4(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		synth_w64(t->s, tc_pte(t, 2, 0x400000),
		          (synth_r64(t->s, tc_pte(t, 2, 0x400000)) & ~PG_FRAME) | 0x101000);
}
static void as_5(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add64(t, tc_vmp(t, 20, SYN_VMP_PHYS), 4096);
}

/* ---- TLB */
static void rollback_ledger(struct tc *t, uint64_t head)
{
	synth_w64(t->s, t->s->ledger_pa + 8, head);
}
static void tlb_1(struct tc *t, bool inj)
{
	uint64_t head = synth_r64(t->s, t->s->ledger_pa + 8);
	tc_run(t, PTS_OP_PROTECT, 1, 0x400000, 0, 0, PTS_PROT_READ, 0);
	if (inj)
		rollback_ledger(t, head);
}
static void tlb_2(struct tc *t, bool inj)
{
	tc_ok(t, PTS_OP_ACTIVATE, 2, 0, 0, 0, 0, 0);
	uint64_t head = synth_r64(t->s, t->s->ledger_pa + 8);
	tc_run(t, PTS_OP_REMOVE, 2, 0x7f0000001000ull, 0, 0, 0,
	       0); /* never touched: only the PTPs need it */
	if (inj)
		rollback_ledger(t, head);
}
static void tlb_3(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add64(t, t->s->ledger_pa + 8, PTS_TLB_RECORDS + 5);
}
static void tlb_4(struct tc *t, bool inj)
{
	tc_run(t, PTS_OP_TOUCH, 1, 0x401000, 0, 0, 0, PTS_OPF_WRITE);
	if (inj)
		t->op.result = PTS_RES_OK;
}

/* ---- SMP (these cases run on two CPUs: smp_case) */
static gpa_t pm_active(struct tc *t, uint32_t slot)
{
	return synth_pmap_pa(t->s, slot) + SYN_PM_ACTIVE;
}
static void on_cpu1(struct tc *t, uint32_t kind, uint32_t pmap)
{
	t->s->op_cpu = 1;
	tc_ok(t, kind, pmap, 0x400000, 0, 0, 0, 0);
	t->s->op_cpu = 0;
}
static void smp_1(struct tc *t, bool inj)
{
	on_cpu1(t, PTS_OP_ACTIVATE, 2);
	QUERY();
	if (inj) /* cpu1 left out of pmap 2's pm_active */
		tc_add32(t, pm_active(t, 2), -2);
}
static void smp_2(struct tc *t, bool inj)
{
	QUERY();
	if (inj) /* a shootdown left in flight */
		tc_add64(t, synth_cpu_pa(t->s, 1) + offsetof(struct pts_cpu, tlb_gen_sent), 1);
}
static gpa_t ledger_rec(struct tc *t, uint64_t seq)
{
	return t->s->ledger_pa + offsetof(struct pts_tlb_ledger, rec) +
	       (seq % PTS_TLB_RECORDS) * sizeof(struct pts_tlb_record);
}
/* the first record of kind (0: any) by cpu from seq on, before the head */
static uint64_t ledger_find(struct tc *t, uint64_t seq, uint32_t kind, uint32_t cpu)
{
	uint64_t end = synth_r64(t->s, t->s->ledger_pa + 8);
	for (; seq < end; seq++)
		if ((kind == 0 || synth_r32(t->s, ledger_rec(t, seq) + 8) == kind) &&
		    synth_r32(t->s, ledger_rec(t, seq) + 12) == cpu)
			return seq;
	ck_abort_msg("no ledger record of kind %u by cpu%u", kind, cpu);
	return 0;
}
/* records a and b trade places (each keeps its seq) */
static void ledger_swap(struct tc *t, uint64_t a, uint64_t b)
{
	for (gpa_t off = 8; off < sizeof(struct pts_tlb_record); off += 8) {
		uint64_t x = synth_r64(t->s, ledger_rec(t, a) + off);
		synth_w64(t->s, ledger_rec(t, a) + off, synth_r64(t->s, ledger_rec(t, b) + off));
		synth_w64(t->s, ledger_rec(t, b) + off, x);
	}
}
static void smp_3(struct tc *t, bool inj)
{
	on_cpu1(t, PTS_OP_TOUCH, 1); /* cpu1 caches pmap 1's 0x400000 */
	uint64_t head = synth_r64(t->s, t->s->ledger_pa + 8);
	tc_run(t, PTS_OP_REMOVE, 1, 0x400000, 0, 0, 0, 0);
	if (inj) /* cpu1's record made cpu0's */
		synth_w32(t->s, ledger_rec(t, ledger_find(t, head, 0, 1)) + 12, 0);
}
static void smp_4(struct tc *t, bool inj)
{
	QUERY();
	if (inj) /* cpu1 served a shootdown it left no record of */
		tc_add64(t, synth_cpu_pa(t->s, 1) + offsetof(struct pts_cpu, ipis), 1);
}
static void smp_5(struct tc *t, bool inj)
{
	on_cpu1(t, PTS_OP_ACTIVATE, 2);
	uint64_t head = synth_r64(t->s, t->s->ledger_pa + 8);
	tc_run(t, PTS_OP_REMOVE, 2, 0x7f0000001000ull, 0, 0, 0, 0); /* frees pmap 2's PTPs */
	uint64_t end = synth_r64(t->s, t->s->ledger_pa + 8), seq = head + 1;
	while (seq < end && synth_r32(t->s, ledger_rec(t, seq) + 8) != PTS_TLB_FREE_PTP)
		seq++;
	ck_assert_uint_lt(seq, end);
	if (inj) /* the first free made before cpu1's invalidation, not after */
		ledger_swap(t, seq - 1, seq);
}
static void smp_6(struct tc *t, bool inj)
{
	on_cpu1(t, PTS_OP_TOUCH, 1); /* cpu1 runs on pmap 1 */
	uint64_t head = synth_r64(t->s, t->s->ledger_pa + 8);
	tc_run(t, PTS_OP_REMOVE, 1, 0x400000, 0, 0, 0, 0);
	if (inj) /* cpu0's shootdown read pmap 1's pm_active without cpu1 */
		synth_w64(t->s, ledger_rec(t, ledger_find(t, head, PTS_TLB_SHOOT, 0)) + 32, 0x1);
}
static void smp_7(struct tc *t, bool inj)
{
	on_cpu1(t, PTS_OP_TOUCH, 1); /* cpu1 caches pmap 1's 0x400000 */
	uint64_t head = synth_r64(t->s, t->s->ledger_pa + 8);
	tc_run(t, PTS_OP_REMOVE, 1, 0x400000, 0, 0, 0, 0);
	if (inj) /* cpu0 dropped pmap 1's lock before cpu1 invalidated */
		ledger_swap(t, ledger_find(t, head, 0, 1), ledger_find(t, head, PTS_TLB_UNLOCK, 0));
}

/* ---- LOCK */
static void lock_1(struct tc *t, bool inj)
{
	QUERY();
	if (inj) /* the op returned with pmap 1's lock held by cpu0 */
		synth_w32(t->s, PM(1) + SYN_PM_LOCK, 1);
}

/* ---- POOL */
static void pool_1(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add32(t, pool_hdr(t) + SYN_PH_NMISSING, 1);
}
static void pool_2(struct tc *t, bool inj)
{
	QUERY();
	if (inj) { /* a partial page moved to the full list */
		uint64_t h = synth_r64(t->s, t->s->pool_pa + SYN_PR_PART);
		synth_w64(t->s, t->s->pool_pa + SYN_PR_FULL, h);
		synth_w64(t->s, t->s->pool_pa + SYN_PR_PART, 0);
	}
}
static void pool_3(struct tc *t, bool inj)
{
	QUERY();
	if (inj) { /* a used item pushed onto the free list */
		gpa_t h = pool_hdr(t);
		uint64_t used = synth_r64(t->s, tc_vmp(t, 5, SYN_VMP_PVLIST));
		synth_w64(t->s, h + SYN_PH_FREELIST, used);
	}
}
static void pool_4(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add64(t, pool_hdr(t) + SYN_PH_PAGE, 0x100000);
}
static void pool_5(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add32(t, t->s->pool_pa + SYN_PR_NITEMS, 1);
}
static void pool_6(struct tc *t, bool inj)
{
	tc_ok(t, PTS_OP_COLLECT, 1, 0, 0, 0, 0, 0);
	tc_run(t, PTS_OP_COLLECT, 2, 0, 0, 0, 0, 0); /* the pool page goes idle */
	if (inj)
		synth_w32(t->s, t->s->pool_pa + SYN_PR_MAXPAGES, 0);
}
static void pool_7(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		tc_add32(t, t->s->pool_pa + SYN_PR_NOUT, 1);
}

/* ---- MODEL */
static void model_1(struct tc *t, bool inj)
{
	QUERY();
	if (inj) /* pg5 -> pg9 behind the pmap's back */
		tc_add64(t, tc_pte(t, 1, 0x402000), 4 << 12);
}
static void model_2(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		t->op.value = 42;
}
static void model_3(struct tc *t, bool inj)
{
	QUERY();
	if (inj)
		synth_w32(t->s, tc_vmp(t, 100, SYN_VMP_ATTRS), PTS_ATTR_MODIFIED);
}
static void model_4(struct tc *t, bool inj)
{
	tc_run(t, PTS_OP_ZERO, 0, 0, 0, 3, 0, 0);
	if (inj)
		t->s->mem[synth_arena_pa(3) + 17] = 1;
}
static void model_5(struct tc *t, bool inj)
{
	tc_run(t, PTS_OP_ENTER, 1, 0x404000, 0, 9, 3, PTS_OPF_CANFAIL);
	if (inj)
		t->op.result = PTS_RES_ENOMEM;
}

static const struct {
	const char *id;
	case_fn fn;
} cases[] = {
    {"PV-1", pv_1},       {"PV-2", pv_2},       {"PV-3", pv_3},       {"PV-4", pv_4},
    {"PV-5", pv_5},       {"PV-6", pv_6},       {"CNT-1", cnt_1},     {"CNT-2", cnt_2},
    {"CNT-3", cnt_3},     {"CNT-4", cnt_4},     {"CNT-5", cnt_5},     {"CNT-6", cnt_6},
    {"PTP-1", ptp_1},     {"PTP-2", ptp_2},     {"PTP-3", ptp_3},     {"PTP-4", ptp_4},
    {"PTP-5", ptp_5},     {"PTP-6", ptp_6},     {"ATTR-1", attr_1},   {"ATTR-2", attr_2},
    {"ATTR-3", attr_3},   {"ATTR-4", attr_4},   {"ATTR-5", attr_5},   {"ATTR-6", attr_6},
    {"PROT-1", prot_1},   {"PROT-2", prot_2},   {"PROT-3", prot_3},   {"AS-1", as_1},
    {"AS-2", as_2},       {"AS-3", as_3},       {"AS-4", as_4},       {"AS-5", as_5},
    {"TLB-1", tlb_1},     {"TLB-2", tlb_2},     {"TLB-3", tlb_3},     {"TLB-4", tlb_4},
    {"SMP-1", smp_1},     {"SMP-2", smp_2},     {"SMP-3", smp_3},     {"SMP-4", smp_4},
    {"SMP-5", smp_5},     {"SMP-6", smp_6},     {"SMP-7", smp_7},     {"LOCK-1", lock_1},
    {"POOL-1", pool_1},   {"POOL-2", pool_2},   {"POOL-3", pool_3},   {"POOL-4", pool_4},
    {"POOL-5", pool_5},   {"POOL-6", pool_6},   {"POOL-7", pool_7},   {"MODEL-1", model_1},
    {"MODEL-2", model_2}, {"MODEL-3", model_3}, {"MODEL-4", model_4}, {"MODEL-5", model_5},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* the SMP family's cases run on two CPUs, the others on one */
static uint32_t case_cpus(int i)
{
	return strncmp(cases[i].id, "SMP-", 4) == 0 ? 2 : 1;
}

START_TEST(test_holds)
{
	struct tc t;
	tc_start_cpus_mode(&t, TC_FULL, case_cpus(_i));
	cases[_i].fn(&t, false);
	int n = tc_check(&t);
	if (n != 0) {
		fprintf(stderr, "%s: the unbroken image reports:\n", cases[_i].id);
		tc_dump(&t);
	}
	ck_assert_int_eq(n, 0);
	tc_end(&t);
}
END_TEST

START_TEST(test_breaks)
{
	struct tc t;
	tc_start_cpus_mode(&t, TC_FULL, case_cpus(_i));
	cases[_i].fn(&t, true);
	int n = tc_check(&t);
	if (!tc_reported(&t, cases[_i].id)) {
		fprintf(stderr, "%s not reported; %d others:\n", cases[_i].id, n);
		tc_dump(&t);
	}
	ck_assert(tc_reported(&t, cases[_i].id));
	tc_end(&t);
}
END_TEST

/* the break is seen by that invariant alone: switching it off silences it */
START_TEST(test_switch_off)
{
	struct tc t;
	char spec[32];
	snprintf(spec, sizeof spec, "-%s", cases[_i].id);
	tc_start_spec_cpus(&t, spec, TC_FULL, case_cpus(_i));
	cases[_i].fn(&t, true);
	tc_check(&t);
	ck_assert(!tc_reported(&t, cases[_i].id));
	tc_end(&t);
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

static void agree(struct tc *f, struct tc *i, const char *id, const char *what, int run)
{
	uint64_t a = reported_set(f), b = reported_set(i);
	if (a != b) {
		fprintf(stderr, "%s (%s, run %d): full and incremental differ\n-- full:\n", id,
		        what, run);
		tc_dump(f);
		fprintf(stderr, "-- incremental:\n");
		tc_dump(i);
	}
	ck_assert_uint_eq(a, b);
}

/*
 * Each case checked in full and incrementally (the monitor sees the image's
 * dirty log, page by page or also as a bitmap) reports the same invariants,
 * at the op that breaks it and at the next op, when a finding that persists
 * must be reported again.
 */
START_TEST(test_modes_agree)
{
	for (int run = 0; run < 4; run++) {
		int inject = run & 1;
		enum tc_mode mode = run < 2 ? TC_INCREMENTAL : TC_LISTED;
		struct tc f, i;
		tc_start_cpus_mode(&f, TC_FULL, case_cpus(_i));
		tc_start_cpus_mode(&i, mode, case_cpus(_i));
		cases[_i].fn(&f, inject);
		cases[_i].fn(&i, inject);
		tc_check(&f);
		tc_check(&i);
		agree(&f, &i, cases[_i].id, "the op", run);
		ck_assert(!inject || tc_reported(&i, cases[_i].id));
		tc_run(&f, PTS_OP_EXTRACT, 2, 0x400000, 0, 0, 0, 0);
		tc_run(&i, PTS_OP_EXTRACT, 2, 0x400000, 0, 0, 0, 0);
		tc_check(&f);
		tc_check(&i);
		agree(&f, &i, cases[_i].id, "the next op", run);
		tc_end(&f);
		tc_end(&i);
	}
}
END_TEST

/*
 * ATTR-1 in a group (two CPUs): remove p1 0x400000 (pg3, written: A and D),
 * then on CPU 1 a page-level op; the synthetic pmap runs them in that order.
 * A clear_reference (clear_modify) of pg3 in the group leaves the harvest of
 * A (D) of pg3 to MODEL-3 and nothing else: a D (A) not harvested, a clear of
 * another page or a group without a clear is still reported.
 */
static const struct {
	const char *what;
	uint32_t kind; /* CPU 1's op */
	uint64_t page; /* its page */
	bool inject;   /* pg3's attrs zeroed: no harvest at all */
	bool attr_1;   /* ATTR-1 reported */
} group_cases[] = {
    {"clear_reference of the page", PTS_OP_CLEAR_REFERENCE, 3, false, false},
    {"clear_reference, D not harvested", PTS_OP_CLEAR_REFERENCE, 3, true, true},
    {"clear_modify of the page", PTS_OP_CLEAR_MODIFY, 3, false, false},
    {"clear_modify, A not harvested", PTS_OP_CLEAR_MODIFY, 3, true, true},
    {"clear_reference of another page", PTS_OP_CLEAR_REFERENCE, 5, true, true},
    {"no clear in the group", PTS_OP_IS_REFERENCED, 3, true, true},
};
#define NGROUP_CASES ((int)(sizeof group_cases / sizeof group_cases[0]))

START_TEST(test_attr_1_group)
{
	for (int mode = 0; mode < 2; mode++) {
		struct tc t;
		struct pts_op ops[2];
		tc_start_cpus_mode(&t, mode ? TC_INCREMENTAL : TC_FULL, 2);
		synth_do(t.s, &ops[0], PTS_OP_REMOVE, 1, 0x400000, 0, 0, 0, 0);
		t.s->op_cpu = 1;
		synth_do(t.s, &ops[1], group_cases[_i].kind, 0, 0, 0, group_cases[_i].page, 0,
		         PTS_OPF_PAR);
		t.s->op_cpu = 0;
		if (group_cases[_i].inject)
			synth_w32(t.s, tc_vmp(&t, 3, SYN_VMP_ATTRS), 0);
		int n = monitor_after_ops(t.m, ops, 2, t.idx += 2, NULL, t.s->cr3);
		synth_dirty_reset(t.s);
		if (tc_reported(&t, "ATTR-1") != group_cases[_i].attr_1 ||
		    (!group_cases[_i].inject && n != 0)) {
			fprintf(stderr, "%s (%s): %d violations:\n", group_cases[_i].what,
			        mode ? "incremental" : "full", n);
			tc_dump(&t);
		}
		ck_assert(tc_reported(&t, "ATTR-1") == group_cases[_i].attr_1);
		if (!group_cases[_i].inject)
			ck_assert_int_eq(n, 0);
		tc_end(&t);
	}
}
END_TEST

/* the message of the last check's violations of id, joined, for assertions */
static void messages(const struct tc *t, const char *id, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < monitor_nviolations(t->m) && n < len; i++) {
		const struct violation *v = monitor_violation(t->m, i);
		if (strcmp(v->inv->id, id) == 0)
			n += (size_t)snprintf(buf + n, len - n, "%s\n", v->message);
	}
}

/*
 * LOCK-1 names each held lock, its word and its holder, in both check
 * modes, and again at the next op while it stays held: a pv-list lock held
 * by cpu1, the shootdown lock with a word that names no CPU, the kernel
 * pmap's lock.  Released, nothing is left.
 */
START_TEST(test_lock_1_names_the_lock)
{
	static const char *const want[] = {
	    "pv lock 5 of 16 held by cpu1 at a stop (word 0x2 at kva 0x",
	    "the shootdown lock held by no known CPU at a stop (word 0x77 at kva 0x",
	    "the kernel pmap's pm_lock held by cpu0 at a stop (word 0x1 at kva 0x"};
	char buf[2048];

	for (int mode = 0; mode < 2; mode++) {
		struct tc tt, *t = &tt;
		tc_start_cpus_mode(t, mode ? TC_INCREMENTAL : TC_FULL, 2);
		QUERY();
		synth_w32(t->s, synth_pv_lock_pa(5), 2);
		synth_w32(t->s, synth_lock_pa(PTS_LOCK_SHOOTDOWN), 0x77);
		synth_w32(t->s, PM(SYNTH_KERNEL_SLOT) + SYN_PM_LOCK, 1);
		for (int op = 0; op < 2; op++) {
			ck_assert_int_eq(tc_check(t), 3);
			messages(t, "LOCK-1", buf, sizeof buf);
			for (size_t w = 0; w < sizeof want / sizeof want[0]; w++)
				ck_assert_msg(strstr(buf, want[w]) != NULL,
				              "%s mode, op %d: no '%s' in\n%s",
				              mode ? "incremental" : "full", op, want[w], buf);
			QUERY();
		}
		synth_w32(t->s, synth_pv_lock_pa(5), 0);
		synth_w32(t->s, synth_lock_pa(PTS_LOCK_SHOOTDOWN), 0);
		synth_w32(t->s, PM(SYNTH_KERNEL_SLOT) + SYN_PM_LOCK, 0);
		QUERY();
		ck_assert_int_eq(tc_check(t), 0);
		tc_end(t);
	}
}
END_TEST

/* a lock array the monitor would read out of RAM, or 2^32 - 1 words of, is a
 * descriptor error before any check: one line, no read, no long loop */
START_TEST(test_lock_hostile_descriptor)
{
	static const struct {
		uint64_t kva_off; /* pv_locks = dmap_base + this */
		uint32_t count, stride;
		const char *want;
	} bad[] = {
	    {SYNTH_RAM - 4, 2, 4, "pv_locks"},
	    {1ull << 40, 1, 4, "pv_locks"},
	    {0, UINT32_MAX, 4, "pv_lock_count"},
	    {0, DESC_PV_LOCKS_MAX + 1, 4, "pv_lock_count"},
	    {0, 2, UINT32_MAX - 3, "pv_lock_stride"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct synth *s = synth_new();
		struct pts_descriptor d = s->desc;
		char err[256] = "";
		d.pv_locks = d.dmap_base + bad[i].kva_off;
		d.pv_lock_count = bad[i].count;
		d.pv_lock_stride = bad[i].stride;
		memcpy(s->mem + s->desc_pa, &d, sizeof d);
		double t0 = tc_now_ms();
		struct monitor *m = monitor_create(&s->gmem, s->desc_pa, NULL, err, sizeof err);
		ck_assert_msg(m == NULL, "case %zu accepted", i);
		ck_assert_msg(strstr(err, bad[i].want) != NULL && strchr(err, '\n') == NULL,
		              "case %zu: '%s' lacks '%s'", i, err, bad[i].want);
		ck_assert_msg(tc_now_ms() - t0 < 100.0 * tc_budget_scale(), "case %zu: %.1f ms", i,
		              tc_now_ms() - t0);
		synth_free(s);
	}
}
END_TEST

/*
 * SHOOT records (ABI 5) on two CPUs: a kremove's shootdown to cpu0 alone is
 * SMP-6 (the kernel's entries are every CPU's); a SHOOT of an unknown shape
 * is TLB-3; and a CPU that switched away (a SWITCH earlier in the op's
 * records) is not owed a shootdown of the root it left.
 */
enum shoot_break { SHOOT_KERNEL_ONE, SHOOT_KIND, SHOOT_ROOT, SHOOT_CPUS, SHOOT_LEFT };
static const struct {
	const char *what, *id; /* id: the invariant reported, NULL: none */
	enum shoot_break how;
} shoot_cases[] = {
    {"kremove's shootdown to cpu0 alone", "SMP-6", SHOOT_KERNEL_ONE},
    {"a record of kind 8", "TLB-3", SHOOT_KIND},
    {"a root that is not a page", "TLB-3", SHOOT_ROOT},
    {"a CPU set past cpu7", "TLB-3", SHOOT_CPUS},
    {"cpu1 left the pmap before the shootdown read pm_active", NULL, SHOOT_LEFT},
};
#define NSHOOT_CASES ((int)(sizeof shoot_cases / sizeof shoot_cases[0]))

/* run the case's op (or group: ops), unchecked; the ledger's head before it */
static uint64_t shoot_ops(struct tc *t, enum shoot_break how, struct pts_op *ops)
{
	uint64_t head = synth_r64(t->s, t->s->ledger_pa + 8);

	if (how != SHOOT_LEFT) {
		tc_run(t, PTS_OP_KREMOVE, 0, 0x2000, 0, 0, 0, 0);
		return head;
	}
	on_cpu1(t, PTS_OP_TOUCH, 1); /* cpu1 on pmap 1 */
	head = synth_r64(t->s, t->s->ledger_pa + 8);
	t->s->op_cpu = 1;
	synth_do(t->s, &ops[0], PTS_OP_ACTIVATE, 2, 0, 0, 0, 0, 0);
	t->s->op_cpu = 0;
	synth_do(t->s, &ops[1], PTS_OP_REMOVE, 1, 0x400000, 0, 0, 0, PTS_OPF_PAR);
	return head;
}

static int shoot_check(struct tc *t, enum shoot_break how, const struct pts_op *ops)
{
	if (how != SHOOT_LEFT)
		return tc_check(t);
	int n = monitor_after_ops(t->m, ops, 2, t->idx += 2, NULL, t->s->cr3);
	synth_dirty_reset(t->s);
	return n;
}

START_TEST(test_shoot_records)
{
	struct tc t;
	struct pts_op ops[2];
	enum shoot_break how = shoot_cases[_i].how;
	tc_start_cpus_mode(&t, TC_FULL, 2);
	uint64_t head = shoot_ops(&t, how, ops);
	gpa_t r = ledger_rec(&t, ledger_find(&t, head, PTS_TLB_SHOOT, 0));
	ck_assert_uint_eq(synth_r64(t.s, r + 24),
	                  how == SHOOT_LEFT ? synth_r64(t.s, synth_pmap_pa(t.s, 1) + SYN_PM_PML4)
	                                    : PTS_TLB_SHOOT_KERNEL);
	if (how == SHOOT_KERNEL_ONE)
		synth_w64(t.s, r + 32, 0x1);
	else if (how == SHOOT_KIND)
		synth_w32(t.s, r + 8, PTS_TLB_SHOOT + 1);
	else if (how == SHOOT_ROOT)
		synth_w64(t.s, r + 24, synth_r64(t.s, synth_pmap_pa(t.s, 1) + SYN_PM_PML4) | 0x10);
	else if (how == SHOOT_CPUS)
		synth_w64(t.s, r + 32, 0x103);
	else /* the record says what the guest's would: pmap 1's pm_active without cpu1 */
		ck_assert_uint_eq(synth_r64(t.s, r + 32) & 2, 0);
	int n = shoot_check(&t, how, ops);
	bool ok = shoot_cases[_i].id ? tc_reported(&t, shoot_cases[_i].id) : n == 0;
	if (!ok) {
		fprintf(stderr, "%s: %d violations:\n", shoot_cases[_i].what, n);
		tc_dump(&t);
	}
	ck_assert(ok);
	tc_end(&t);
}
END_TEST

START_TEST(test_every_invariant_has_a_case)
{
	ck_assert_uint_ge(invariant_count(), 25);
	for (size_t i = 0; i < invariant_count(); i++) {
		bool found = false;
		for (int c = 0; c < NCASES; c++)
			found |= strcmp(cases[c].id, invariant_at(i)->id) == 0;
		if (!found)
			fprintf(stderr, "no test case for %s\n", invariant_at(i)->id);
		ck_assert(found);
	}
}
END_TEST

Suite *suite_monitor_inv(void)
{
	Suite *s = suite_create("monitor_inv");
	TCase *tc = tcase_create("invariants");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_every_invariant_has_a_case);
	tcase_add_loop_test(tc, test_holds, 0, NCASES);
	tcase_add_loop_test(tc, test_breaks, 0, NCASES);
	tcase_add_loop_test(tc, test_switch_off, 0, NCASES);
	tcase_add_loop_test(tc, test_modes_agree, 0, NCASES);
	tcase_add_loop_test(tc, test_attr_1_group, 0, NGROUP_CASES);
	tcase_add_test(tc, test_lock_1_names_the_lock);
	tcase_add_test(tc, test_lock_hostile_descriptor);
	tcase_add_loop_test(tc, test_shoot_records, 0, NSHOOT_CASES);
	suite_add_tcase(s, tc);
	return s;
}
