/* guest/pmap_check.c - DIAGNOSTIC: a full consistency check of the pmap from
 * the inside (cmdline flag "check" runs it after every smoke op).  It
 * covers the memory-visible rules of the top comment of pmap.c; the host
 * monitor is the real judge, this is for testing without one.
 */
#include "pmap_impl.h"
#include "ops.h"
#include "tlb.h"

#define CHECK_MAX_ARENA  8192u
#define CHECK_REPORT_MAX 8

static uint32_t want_pmap_count[CHECK_MAX_ARENA];
static uint32_t want_writeable[CHECK_MAX_ARENA];
static unsigned nproblems;

#define problem(...)                                                                               \
	do {                                                                                       \
		if (nproblems++ < CHECK_REPORT_MAX)                                                \
			kprintf("check: " __VA_ARGS__);                                            \
	} while (0)

static bool pv_has(const struct vm_page *pg, const struct pmap *pm, uint64_t va,
                   const struct vm_page *ptp)
{
	unsigned n = 0;

	for (const struct pv_entry *pve = pg->md.pv_list; pve != NULL; pve = pve->pv_next)
		if (pve->pv_pmap == pm && pve->pv_va == va) {
			if (pve->pv_ptp != ptp)
				problem("pv (%u, %#lx) names the wrong PTP\n", pm->pm_slot, va);
			n++;
		}
	return n == 1;
}

struct tally {
	uint64_t leaves, wired, ptps;
};

static void check_leaf(struct pmap *pm, struct vm_page *ptp, uint64_t va, pt_entry_t pte,
                       struct tally *t)
{
	struct vm_page *pg;
	uint64_t n;

	t->leaves++;
	if (pte & PG_W)
		t->wired++;
	if ((pte & (PG_u | PG_PVLIST | PG_G | PG_PS)) != (PG_u | PG_PVLIST))
		problem("pmap %u va %#lx: bad leaf bits %#lx\n", pm->pm_slot, va, pte);
	if ((pte & PG_M) && !(pte & PG_U))
		problem("pmap %u va %#lx: D without A\n", pm->pm_slot, va);
	if ((pte & PG_FRAME) >> PAGE_SHIFT >= vm_page_count) {
		problem("pmap %u va %#lx: frame outside RAM\n", pm->pm_slot, va);
		return;
	}
	pg = PHYS_TO_VM_PAGE(pte & PG_FRAME);
	if (!vm_page_is_arena(pg)) {
		problem("pmap %u va %#lx: maps a non-arena page\n", pm->pm_slot, va);
		return;
	}
	n = arena_index(pg);
	if (n < CHECK_MAX_ARENA) {
		want_pmap_count[n]++;
		if (pte & PG_RW)
			want_writeable[n]++;
	}
	if (!pv_has(pg, pm, va, ptp))
		problem("pmap %u va %#lx: not exactly one pv entry on pg%lu\n", pm->pm_slot, va, n);
}

static void check_table(struct pmap *pm, struct vm_page *tbl, int level, uint64_t base,
                        struct tally *t)
{
	const pt_entry_t *pte = ptp_kva(tbl);
	unsigned valid = 0, lim = level == PTP_LEVELS ? KERNEL_SLOT_FIRST : NPTEPG;

	for (unsigned i = pte_next_valid(pte, 0, lim); i < lim;
	     i = pte_next_valid(pte, i + 1, lim)) {
		uint64_t va = base + ((uint64_t)i << (PAGE_SHIFT + 9 * (level - 1)));
		struct vm_page *ptp;

		if (!(pte[i] & PG_V))
			problem("pmap %u va %#lx level %d: invalid but non-zero entry %#lx\n",
			        pm->pm_slot, va, level, pte[i]);
		valid++;
		if (level == 1) {
			check_leaf(pm, tbl, va, pte[i], t);
			continue;
		}
		if ((pte[i] & (PG_V | PG_RW | PG_u | PG_NX | PG_PS)) != (PG_V | PG_RW | PG_u))
			problem("pmap %u va %#lx level %d: bad table entry %#lx\n", pm->pm_slot, va,
			        level, pte[i]);
		ptp = PHYS_TO_VM_PAGE(pte[i] & PG_FRAME);
		t->ptps++;
		if (ptp->usage != PTS_PG_PTP || ptp->ptp_pmap != pm ||
		    ptp->ptp_level != (uint32_t)(level - 1) || ptp->ptp_va != va)
			problem(
			    "pmap %u va %#lx: PTP bookkeeping wrong (usage %u level %u va %#lx)\n",
			    pm->pm_slot, va, ptp->usage, ptp->ptp_level, ptp->ptp_va);
		else if (pmap_find_ptp(pm, va, level - 1) != ptp)
			problem("pmap %u va %#lx level %d: PTP not on the hash\n", pm->pm_slot, va,
			        level - 1);
		check_table(pm, ptp, level - 1, va, t);
	}
	if (level < PTP_LEVELS) {
		if (tbl->wire_count != 1 + valid)
			problem("pmap %u PTP %#lx level %d: wire_count %u, %u valid entries\n",
			        pm->pm_slot, base, level, tbl->wire_count, valid);
		if (valid == 0)
			problem("pmap %u PTP %#lx level %d: empty but not freed\n", pm->pm_slot,
			        base, level);
	}
}

static void check_pmap(struct pmap *pm)
{
	const pt_entry_t *kpml4 = pmap_kernel()->pm_pml4;
	struct tally t = {0, 0, 0};
	unsigned hashed = 0;

	for (int i = KERNEL_SLOT_FIRST; i <= KERNEL_SLOT_LAST; i++)
		if (pm->pm_pml4[i] != kpml4[i])
			problem("pmap %u: kernel slot %d differs from the kernel pmap\n",
			        pm->pm_slot, i);
	check_table(pm, pm->pm_pml4_pg, PTP_LEVELS, 0, &t);
	for (unsigned b = 0; b < PMAP_PTP_HASH_SIZE; b++)
		for (struct vm_page *p = pm->pm_ptp_hash[b]; p != NULL; p = p->ptp_hnext)
			hashed++;
	if (pm->pm_resident_count != t.leaves + t.ptps)
		problem("pmap %u: resident_count %lu, %lu leaves + %lu PTPs\n", pm->pm_slot,
		        pm->pm_resident_count, t.leaves, t.ptps);
	if (pm->pm_wired_count != t.wired)
		problem("pmap %u: wired_count %lu, %lu wired leaves\n", pm->pm_slot,
		        pm->pm_wired_count, t.wired);
	if (pm->pm_ptp_count != t.ptps || hashed != t.ptps)
		problem("pmap %u: ptp_count %u, hash %u, %lu PTPs reached\n", pm->pm_slot,
		        pm->pm_ptp_count, hashed, t.ptps);
}

static bool pmap_alive(const struct pmap *pm)
{
	for (const struct pmap *p = pmap_list; p != NULL; p = p->pm_next)
		if (p == pm)
			return true;
	return false;
}

static uint64_t check_pages(void)
{
	uint64_t npv = 0, n = arena_npages < CHECK_MAX_ARENA ? arena_npages : CHECK_MAX_ARENA;

	for (uint64_t i = 0; i < n; i++) {
		const struct vm_page *pg = arena_page(i);
		uint32_t len = 0;

		for (const struct pv_entry *pve = pg->md.pv_list; pve != NULL; pve = pve->pv_next) {
			len++;
			if (!pmap_alive(pve->pv_pmap))
				problem("pg%lu: pv entry names a dead pmap\n", i);
		}
		npv += len;
		if (pg->md.pmap_count != want_pmap_count[i] || len != want_pmap_count[i])
			problem("pg%lu: pmap_count %u, pv list %u, %u managed PTEs\n", i,
			        pg->md.pmap_count, len, want_pmap_count[i]);
		if (pg->md.writeable_count != want_writeable[i])
			problem("pg%lu: writeable_count %u, %u writable PTEs\n", i,
			        pg->md.writeable_count, want_writeable[i]);
		if ((want_pmap_count[i] && !(pg->md.flags & PTS_PGF_MAPPED)) ||
		    (want_writeable[i] && !(pg->md.flags & PTS_PGF_WRITEABLE)))
			problem("pg%lu: flags %#x under-approximate\n", i, pg->md.flags);
	}
	return npv;
}

static void check_pool(const struct pool *pp, uint64_t npv)
{
	const struct pool_item_header *const *lists[3] = {(const void *)&pp->pr_emptypages,
	                                                  (const void *)&pp->pr_partpages,
	                                                  (const void *)&pp->pr_fullpages};
	uint32_t npages = 0, nidle = 0, nitems = 0, nout = 0;

	for (int l = 0; l < 3; l++)
		for (const struct pool_item_header *ph = *lists[l]; ph != NULL; ph = ph->ph_next) {
			uint32_t nfree = 0;

			for (const struct pool_item *pi = ph->ph_freelist; pi != NULL;
			     pi = pi->pi_next)
				if (++nfree > pp->pr_itemsperpage)
					break;
			if (nfree + ph->ph_nmissing != pp->pr_itemsperpage)
				problem("pool page %#lx: %u free + %u missing\n", ph->ph_page,
				        nfree, ph->ph_nmissing);
			if ((l == 0) != (ph->ph_nmissing == 0) ||
			    (l == 2) != (ph->ph_nmissing == pp->pr_itemsperpage))
				problem("pool page %#lx on the wrong list\n", ph->ph_page);
			npages++;
			nidle += l == 0;
			nitems += nfree;
			nout += ph->ph_nmissing;
		}
	if (npages != pp->pr_npages || nidle != pp->pr_nidle || nitems != pp->pr_nitems ||
	    nout != pp->pr_nout)
		problem("pool totals: pages %u/%u idle %u/%u items %u/%u out %u/%u\n",
		        pp->pr_npages, npages, pp->pr_nidle, nidle, pp->pr_nitems, nitems,
		        pp->pr_nout, nout);
	if (pp->pr_nidle > pp->pr_maxpages)
		problem("pool: %u idle pages above the high-water mark %u\n", pp->pr_nidle,
		        pp->pr_maxpages);
	if (nout != npv && arena_npages <= CHECK_MAX_ARENA)
		problem("pool: %u entries out, %lu on pv lists\n", nout, npv);
}

unsigned pmap_check(void)
{
	nproblems = 0;
	memset(want_pmap_count, 0, sizeof(want_pmap_count));
	memset(want_writeable, 0, sizeof(want_writeable));
	for (struct pmap *pm = pmap_list; pm != NULL; pm = pm->pm_next)
		check_pmap(pm);
	check_pool(&pmap_pv_pool, check_pages());
	return nproblems;
}

/* ---- canfail: an enomem enter leaves everything as it was */

static uint64_t state_hash(const struct pmap *pm)
{
	uint64_t h = vm_page_free_count * 31 + (uint64_t)pmap_pv_pool.pr_nitems;

	h = h * 31 + pmap_pv_pool.pr_nout;
	h = h * 31 + pmap_pv_pool.pr_npages;
	h = h * 31 + pm->pm_resident_count;
	h = h * 31 + pm->pm_wired_count;
	h = h * 31 + pm->pm_ptp_count;
	for (unsigned b = 0; b < PMAP_PTP_HASH_SIZE; b++)
		for (const struct vm_page *p = pm->pm_ptp_hash[b]; p != NULL; p = p->ptp_hnext)
			h = h * 31 + p->phys_addr + p->wire_count;
	for (unsigned i = 0; i < KERNEL_SLOT_FIRST; i++)
		h = h * 31 + pm->pm_pml4[i];
	return h;
}

uint64_t pmap_check_state(uint32_t slot)
{
	struct pmap *pm = pmap_lookup(slot);

	return pm != NULL ? state_hash(pm) : 0;
}

/*
 * ---- TLB obligations (docs/semantics.md): diff every leaf and PTP before
 * and after an op, and look for a covering record among those the op added
 * to the ledger.  Order inside the op is not checked (the monitor does not
 * see it either).
 */
#define SNAP_LEAVES  4096u
#define SNAP_PTPS    1024u
#define ORDER_KERNEL PTS_MAX_PMAPS /* the kernel pmap sorts after every slot */

struct leaf_snap {
	uint32_t order;
	const struct pmap *pm;
	uint64_t va;
	pt_entry_t pte;
};

struct ptp_snap {
	uint32_t order;
	const struct pmap *pm;
	uint64_t va;
	uint32_t level;
};

struct snapshot {
	struct leaf_snap leaf[SNAP_LEAVES];
	struct ptp_snap ptp[SNAP_PTPS];
	uint32_t nleaf, nptp;
	bool overflow;
};

static struct snapshot snap_before, snap_after;
static uint64_t snap_ledger_head;
static const struct pmap *snap_active;

static void snap_table(struct snapshot *s, uint32_t order, const struct pmap *pm,
                       const struct vm_page *tbl, int level, uint64_t base)
{
	const pt_entry_t *pte = ptp_kva(tbl);
	unsigned lim = level == PTP_LEVELS ? KERNEL_SLOT_FIRST : NPTEPG;

	for (unsigned i = pte_next_valid(pte, 0, lim); i < lim;
	     i = pte_next_valid(pte, i + 1, lim)) {
		uint64_t va = base + ((uint64_t)i << (PAGE_SHIFT + 9 * (level - 1)));

		if (level == 1) {
			if (s->nleaf == SNAP_LEAVES) {
				s->overflow = true;
				return;
			}
			s->leaf[s->nleaf++] = (struct leaf_snap){order, pm, va, pte[i]};
			continue;
		}
		if (s->nptp == SNAP_PTPS) {
			s->overflow = true;
			return;
		}
		s->ptp[s->nptp++] = (struct ptp_snap){order, pm, va, (uint32_t)(level - 1)};
		snap_table(s, order, pm, PHYS_TO_VM_PAGE(pte[i] & PG_FRAME), level - 1, va);
	}
}

static void snap_take(struct snapshot *s)
{
	s->nleaf = s->nptp = 0;
	s->overflow = false;
	for (uint32_t slot = 0; slot < PTS_MAX_PMAPS; slot++) {
		const struct pmap *pm = pmap_lookup(slot);
		if (pm != NULL)
			snap_table(s, slot, pm, pm->pm_pml4_pg, PTP_LEVELS, 0);
	}
	for (uint64_t va = KENTER_BASE; va < KENTER_BASE + KENTER_SIZE; va += NBPD)
		snap_table(s, ORDER_KERNEL, pmap_kernel(), pmap_find_ptp(pmap_kernel(), va, 1), 1,
		           va);
}

static int key_cmp(uint32_t o1, uint64_t va1, uint32_t o2, uint64_t va2)
{
	if (o1 != o2)
		return o1 < o2 ? -1 : 1;
	return va1 < va2 ? -1 : va1 > va2 ? 1 : 0;
}

/* does a record of this op cover [sva, eva)?  global: entries survive ALL */
static bool ledger_covers(uint64_t sva, uint64_t eva, bool global)
{
	for (uint64_t i = snap_ledger_head; i < tlb_ledger.head; i++) {
		const struct pts_tlb_record *r = &tlb_ledger.rec[i % PTS_TLB_RECORDS];

		switch (r->kind) {
		case PTS_TLB_PAGE:
		case PTS_TLB_RANGE:
			if (r->va < eva && sva < r->end)
				return true;
			break;
		case PTS_TLB_ALL:
			if (!global)
				return true;
			break;
		case PTS_TLB_ALL_GLOBAL:
		case PTS_TLB_SWITCH:
			return true;
		default: /* PTS_TLB_FREE_PTP, PTS_TLB_SHOOT: no invalidation */
			break;
		}
	}
	return false;
}

static bool downgrade(pt_entry_t o, pt_entry_t n)
{
	if (!(n & PG_V) || (o & PG_FRAME) != (n & PG_FRAME))
		return true;
	if (((o & PG_RW) && !(n & PG_RW)) || (!(o & PG_NX) && (n & PG_NX)))
		return true;
	return ((o & PG_U) && !(n & PG_U)) || ((o & PG_M) && !(n & PG_M));
}

void pmap_check_tlb_begin(void)
{
	snap_take(&snap_before);
	snap_ledger_head = tlb_ledger.head;
	snap_active = pmap_curpmap();
}

static bool was_active(const struct pmap *pm)
{
	return pm == snap_active || pm == pmap_curpmap();
}

unsigned pmap_check_tlb_end(void)
{
	const struct snapshot *b = &snap_before, *a = &snap_after;
	uint32_t i = 0, j = 0;

	nproblems = 0;
	snap_take(&snap_after);
	if (b->overflow || a->overflow || tlb_ledger.head - snap_ledger_head > PTS_TLB_RECORDS)
		return 0; /* too big to judge here */
	for (; i < b->nleaf; i++) {
		const struct leaf_snap *o = &b->leaf[i];
		pt_entry_t npte = 0;
		bool global = o->order == ORDER_KERNEL;

		while (j < a->nleaf &&
		       key_cmp(a->leaf[j].order, a->leaf[j].va, o->order, o->va) < 0)
			j++;
		if (j < a->nleaf && key_cmp(a->leaf[j].order, a->leaf[j].va, o->order, o->va) == 0)
			npte = a->leaf[j].pte;
		if (!downgrade(o->pte, npte))
			continue;
		if (!global && !((o->pte & PG_U) && was_active(o->pm)))
			continue;
		if (!ledger_covers(o->va, o->va + PAGE_SIZE, global))
			problem("TLB: %s %#lx: pte %#lx -> %#lx without an invalidation\n",
			        global ? "kernel" : "pmap", o->va, o->pte, npte);
	}
	for (i = 0, j = 0; i < b->nptp; i++) {
		const struct ptp_snap *o = &b->ptp[i];
		bool gone = true;

		if (!was_active(o->pm))
			continue;
		for (j = 0; j < a->nptp && gone; j++)
			gone = !(a->ptp[j].pm == o->pm && a->ptp[j].va == o->va &&
			         a->ptp[j].level == o->level);
		if (gone && !ledger_covers(o->va, o->va + ptp_span((int)o->level), false))
			problem("TLB: PTP level %u at %#lx unlinked without an invalidation\n",
			        o->level, o->va);
	}
	return nproblems;
}
