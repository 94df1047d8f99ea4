/* guest/pmap_ptp.c - page-table pages of user pmaps: the per-pmap PTP hash,
 * allocation on demand (with fault injection), linking, release when empty,
 * and the TLB shootdown batch that must run before an unlinked PTP is freed.
 */
#include "pmap_impl.h"
#include "preempt.h"
#include "smp.h"
#include "tlb.h"

/* ---- fault injection (docs/semantics.md, "fail alloc N") */

uint64_t pmap_fail_countdown; /* 0: disarmed */

void pmap_fail_alloc(uint64_t n)
{
	pmap_fail_countdown = n;
}

/* Count one allocation of a can-fail call; true if it is the one that fails. */
bool pmap_alloc_fails(uint32_t flags)
{
	if (!(flags & PMAP_CANFAIL) || pmap_fail_countdown == 0)
		return false;
	return --pmap_fail_countdown == 0;
}

/* ---- the PTP hash: (level, ptp_va) -> vm_page, chained through ptp_hnext */

static unsigned ptp_hash(uint64_t ptp_va, int level)
{
	uint64_t key = (ptp_va >> (PAGE_SHIFT + 9 * level)) * 3 + (uint64_t)level;

	return (unsigned)(key ^ (key >> 6) ^ (key >> 12)) & (PMAP_PTP_HASH_SIZE - 1);
}

struct vm_page *pmap_find_ptp(struct pmap *pm, uint64_t va, int level)
{
	uint64_t pva = ptp_va_of(va, level);
	struct vm_page *ptp;

	KASSERT(level >= 1 && level < PTP_LEVELS);
	for (ptp = pm->pm_ptp_hash[ptp_hash(pva, level)]; ptp != NULL; ptp = ptp->ptp_hnext) {
		if (ptp->ptp_va == pva && ptp->ptp_level == (uint32_t)level) {
			KASSERT(ptp->ptp_pmap == pm && ptp->usage == PTS_PG_PTP);
			return ptp;
		}
	}
	return NULL;
}

void pmap_ptp_hash_insert(struct pmap *pm, struct vm_page *ptp)
{
	struct vm_page **head = &pm->pm_ptp_hash[ptp_hash(ptp->ptp_va, (int)ptp->ptp_level)];

	ptp->ptp_hnext = *head;
	*head = ptp;
}

static void pmap_ptp_hash_remove(struct pmap *pm, struct vm_page *ptp)
{
	struct vm_page **pp = &pm->pm_ptp_hash[ptp_hash(ptp->ptp_va, (int)ptp->ptp_level)];

	while (*pp != ptp) {
		KASSERT(*pp != NULL);
		pp = &(*pp)->ptp_hnext;
	}
	*pp = ptp->ptp_hnext;
	ptp->ptp_hnext = NULL;
}

/* KVA of the level-`level` table covering va, or NULL if there is none */
pt_entry_t *pmap_table(struct pmap *pm, uint64_t va, int level)
{
	struct vm_page *ptp;

	if (level == PTP_LEVELS)
		return pm->pm_pml4;
	ptp = pmap_find_ptp(pm, va, level);
	return ptp != NULL ? ptp_kva(ptp) : NULL;
}

/* the leaf PTE slot for va (valid or not), or NULL if there is no PT */
pt_entry_t *pmap_find_pte(struct pmap *pm, uint64_t va, struct vm_page **ptpp)
{
	struct vm_page *ptp = pmap_find_ptp(pm, va, 1);

	if (ptpp != NULL)
		*ptpp = ptp;
	return ptp != NULL ? &ptp_kva(ptp)[pl_i(va, 1)] : NULL;
}

/* ---- allocation, linking and release */

/* A zeroed page for a PTP, not yet linked anywhere; NULL on (injected) failure. */
struct vm_page *pmap_ptp_alloc(uint32_t flags)
{
	struct vm_page *pg;

	if (pmap_alloc_fails(flags))
		return NULL;
	pg = vm_page_alloc(PTS_PG_PTP);
	if (pg != NULL)
		vm_page_zero(pg);
	return pg;
}

/*
 * Link the PTPs allocated for va (newptp[level], levels 3..1, NULL where the
 * PTP exists) top-down.  Each new PTP starts with wire_count 1; the parent
 * gains one reference for the new entry.  Returns the PT for va.
 */
struct vm_page *pmap_ptp_install(struct pmap *pm, uint64_t va, struct vm_page *newptp[])
{
	KASSERT(spin_owned(&pm->pm_lock));
	for (int level = PTP_LEVELS - 1; level >= 1; level--) {
		struct vm_page *ptp = newptp[level];
		pt_entry_t *parent;
		unsigned idx;

		if (ptp == NULL)
			continue;
		parent = pmap_table(pm, va, level + 1);
		KASSERT(parent != NULL);
		idx = pl_i(va, level + 1);
		KASSERT(!(parent[idx] & PG_V));
		ptp->ptp_pmap = pm;
		ptp->ptp_va = ptp_va_of(va, level);
		ptp->ptp_level = (uint32_t)level;
		ptp->wire_count = 1;
		pmap_ptp_hash_insert(pm, ptp);
		pm->pm_ptp_count++;
		pm_count_add(&pm->pm_resident_count, 1);
		pmap_pte_set(&parent[idx], VM_PAGE_TO_PHYS(ptp) | PG_V | PG_RW | PG_u);
		if (level + 1 < PTP_LEVELS)
			pmap_find_ptp(pm, va, level + 1)->wire_count++;
	}
	return pmap_find_ptp(pm, va, 1);
}

/*
 * ptp holds no valid entry any more (wire_count == 1): unlink it from its
 * parent, drop the parent's reference, and so on upwards while parents empty
 * out.  The pages are freed by pmap_update, after the shootdown that covers
 * their span.
 */
void pmap_ptp_release(struct pmap *pm, struct vm_page *ptp)
{
	struct pcpu *pc = curcpu();

	KASSERT(spin_owned(&pm->pm_lock));
	while (ptp != NULL && ptp->wire_count == 1) {
		int level = (int)ptp->ptp_level;
		uint64_t va = ptp->ptp_va;
		pt_entry_t *parent = pmap_table(pm, va, level + 1);
		pt_entry_t opde;

		KASSERT(level >= 1 && level < PTP_LEVELS && ptp->ptp_pmap == pm);
		opde = pmap_pte_swap(&parent[pl_i(va, level + 1)], 0);
		KASSERT((opde & PG_FRAME) == VM_PAGE_TO_PHYS(ptp));
		pmap_ptp_hash_remove(pm, ptp);
		pm->pm_ptp_count--;
		pm_count_add(&pm->pm_resident_count, -1);
#ifndef MUTANT_PTP_UNLINK_NO_INVALIDATE
		pmap_tlb_shootdown_ptp(pm, va);
#endif
		ptp->pageq = pc->pc_ptp_deadlist;
		pc->pc_ptp_deadlist = ptp;
		if (level + 1 == PTP_LEVELS)
			break;
		ptp = pmap_find_ptp(pm, va, level + 1);
		KASSERT(ptp != NULL && ptp->wire_count > 1);
		ptp->wire_count--;
	}
}

/* ---- TLB shootdown batch: per CPU, for the op it runs (struct pcpu) */

/* pm's PTE at va changed; the CPUs that may cache it are pm_active, read
 * after the change (the PTE update is a locked instruction) */
static void shootdown_add(struct pmap *pm, uint64_t va)
{
	struct pcpu *pc = curcpu();
	uint32_t cpus = __atomic_load_n(&pm->pm_active, __ATOMIC_SEQ_CST);

	/* whom the shootdown goes to, in the ledger before any preemption point
	 * (SMP-6: every CPU with pm's root loaded by now is in cpus) */
	if (smp_ncpus() > 1)
		tlb_ledger_shoot(pm == pmap_kernel() ? PTS_TLB_SHOOT_KERNEL : pm->pm_pml4_pa, cpus);
	if (cpus == 0)
		return;
	if (pc->pc_sd_npages == 0) {
		pc->pc_sd_sva = va;
		pc->pc_sd_eva = va + PAGE_SIZE;
	} else {
		if (va < pc->pc_sd_sva)
			pc->pc_sd_sva = va;
		if (va + PAGE_SIZE > pc->pc_sd_eva)
			pc->pc_sd_eva = va + PAGE_SIZE;
	}
	pc->pc_sd_cpus |= cpus;
	pc->pc_sd_npages++;
}

/* A user PTE changed from opte: queue an invalidation if it may be cached
 * (A set) on some CPU that has pm loaded. */
void pmap_tlb_shootdown(struct pmap *pm, uint64_t va, pt_entry_t opte)
{
	KASSERT(pm != pmap_kernel() && spin_owned(&pm->pm_lock));
	if (opte & PG_U)
		shootdown_add(pm, va);
}

/* A PTP spanning va was unlinked: the paging-structure caches must forget it. */
void pmap_tlb_shootdown_ptp(struct pmap *pm, uint64_t va)
{
	KASSERT(spin_owned(&pm->pm_lock));
	shootdown_add(pm, va);
}

void pmap_invalidate_cpus(uint32_t cpus, uint64_t sva, uint64_t eva, uint32_t npages, bool global)
{
	uint32_t self = curcpu()->pc_mask, others = cpus & ~self;
	uint64_t gen = 0;

#ifdef MUTANT_SHOOTDOWN_LOCAL_ONLY
	/* "the other CPUs will reload CR3 soon enough" */
	others = 0;
#endif
	if (others != 0) {
		gen = smp_shootdown_send(others, sva, eva, global ? PTS_SD_GLOBAL : 0);
		PMAP_PREEMPT(SD_SENT);
	}
#ifdef MUTANT_SHOOTDOWN_SKIPS_SENDER
	/* "the sender flushes when it takes its own IPI": it never does */
	if (others != 0)
		cpus &= ~self;
#endif
	if (cpus & self) {
		if (npages == 1)
			tlb_invalidate_page(sva);
		else
			tlb_invalidate_range(sva, eva, global);
	}
	if (others != 0) {
		PMAP_PREEMPT(SD_WAIT);
		smp_shootdown_wait(others, gen);
	}
}

static void pmap_free_dead_ptps(struct pcpu *pc)
{
	while (pc->pc_ptp_deadlist != NULL) {
		struct vm_page *ptp = pc->pc_ptp_deadlist;

		pc->pc_ptp_deadlist = ptp->pageq;
		ptp->pageq = NULL;
		KASSERT(page_is_zero(ptp_kva(ptp)));
		/* the record first: a page is in the ledger before it can be reused */
		tlb_ledger_ptp_free(VM_PAGE_TO_PHYS(ptp));
		vm_page_free(ptp);
	}
}

/* End of a pmap operation (or, on SMP, of the part of one under a pmap's
 * lock): run the queued invalidations on every CPU that owes one, wait for
 * their acks, and only then free the dead PTPs. */
void pmap_update(void)
{
	struct pcpu *pc = curcpu();

#ifdef MUTANT_PTP_FREED_BEFORE_SHOOTDOWN
	/* "they are unlinked: no new walk can reach them" (a remote CPU's
	 * paging-structure cache still can, until the shootdown) */
	pmap_free_dead_ptps(pc);
#endif
	if (pc->pc_sd_npages > 0)
		pmap_invalidate_cpus(pc->pc_sd_cpus, pc->pc_sd_sva, pc->pc_sd_eva, pc->pc_sd_npages,
		                     false);
	pc->pc_sd_npages = 0;
	pc->pc_sd_cpus = 0;
	pmap_free_dead_ptps(pc);
}
