/* guest/pmap_ptp.c - page-table pages of user pmaps: the per-pmap PTP hash,
 * allocation on demand (with fault injection), linking, release when empty,
 * and the TLB shootdown batch that must run before an unlinked PTP is freed.
 */
#include "pmap_impl.h"
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
		pm->pm_resident_count++;
		pmap_pte_set(&parent[idx], VM_PAGE_TO_PHYS(ptp) | PG_V | PG_RW | PG_u);
		if (level + 1 < PTP_LEVELS)
			pmap_find_ptp(pm, va, level + 1)->wire_count++;
	}
	return pmap_find_ptp(pm, va, 1);
}

static struct vm_page *ptp_deadlist; /* unlinked, freed by pmap_update */

/*
 * ptp holds no valid entry any more (wire_count == 1): unlink it from its
 * parent, drop the parent's reference, and so on upwards while parents empty
 * out.  The pages are freed by pmap_update, after the shootdown that covers
 * their span.
 */
void pmap_ptp_release(struct pmap *pm, struct vm_page *ptp)
{
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
		pm->pm_resident_count--;
#ifndef MUTANT_PTP_UNLINK_NO_INVALIDATE
		pmap_tlb_shootdown_ptp(pm, va);
#endif
		ptp->pageq = ptp_deadlist;
		ptp_deadlist = ptp;
		if (level + 1 == PTP_LEVELS)
			break;
		ptp = pmap_find_ptp(pm, va, level + 1);
		KASSERT(ptp != NULL && ptp->wire_count > 1);
		ptp->wire_count--;
	}
}

/* ---- TLB shootdown batch (one CPU: the "shootdown" is local invalidation) */

static struct {
	uint64_t sva, eva; /* smallest range covering every queued va */
	uint32_t npages;   /* vas queued */
} shootdown;

static void shootdown_add(uint64_t va)
{
	if (shootdown.npages == 0) {
		shootdown.sva = va;
		shootdown.eva = va + PAGE_SIZE;
	} else {
		if (va < shootdown.sva)
			shootdown.sva = va;
		if (va + PAGE_SIZE > shootdown.eva)
			shootdown.eva = va + PAGE_SIZE;
	}
	shootdown.npages++;
}

/* A user PTE changed from opte: queue an invalidation if it may be cached. */
void pmap_tlb_shootdown(struct pmap *pm, uint64_t va, pt_entry_t opte)
{
	KASSERT(pm != pmap_kernel());
	if (pmap_is_active(pm) && (opte & PG_U))
		shootdown_add(va);
}

/* A PTP spanning va was unlinked: the paging-structure caches must forget it. */
void pmap_tlb_shootdown_ptp(struct pmap *pm, uint64_t va)
{
	if (pmap_is_active(pm))
		shootdown_add(va);
}

/* End of a pmap operation: run the queued invalidations, then free dead PTPs. */
void pmap_update(void)
{
	if (shootdown.npages == 1)
		tlb_invalidate_page(shootdown.sva);
	else if (shootdown.npages > 1)
		tlb_invalidate_range(shootdown.sva, shootdown.eva, false);
	shootdown.npages = 0;

	while (ptp_deadlist != NULL) {
		struct vm_page *ptp = ptp_deadlist;

		ptp_deadlist = ptp->pageq;
		ptp->pageq = NULL;
		KASSERT(page_is_zero(ptp_kva(ptp)));
		vm_page_free(ptp);
	}
}
