/* guest/pmap_impl.h - what pmap.c, pmap_ptp.c and pmap_kernel.c share and
 * nothing else uses: index arithmetic, PTE access, PTP lookup, the TLB
 * shootdown batch and allocation accounting.
 */
#ifndef GUEST_PMAP_IMPL_H
#define GUEST_PMAP_IMPL_H

#include "cpu.h"
#include "pmap.h"

#define PTP_LEVELS 4
#define NPTEPG     512u

/* index of va's entry in a table of the given level (1 = PT ... 4 = PML4) */
static inline unsigned pl_i(uint64_t va, int level)
{
	return (unsigned)(va >> (PAGE_SHIFT + 9 * (level - 1))) & (NPTEPG - 1);
}

/* bytes mapped by a whole PTP of the given level: 2 MiB, 1 GiB, 512 GiB */
static inline uint64_t ptp_span(int level)
{
	return 1ull << (PAGE_SHIFT + 9 * level);
}

static inline uint64_t ptp_va_of(uint64_t va, int level)
{
	return va & ~(ptp_span(level) - 1);
}

/* the first address of the next PTP span above va, saturating at limit */
static inline uint64_t ptp_next(uint64_t va, int level, uint64_t limit)
{
	uint64_t next = ptp_va_of(va, level) + ptp_span(level);

	return (next > limit || next < va) ? limit : next;
}

static inline pt_entry_t *ptp_kva(const struct vm_page *ptp)
{
	return (pt_entry_t *)VM_PAGE_TO_KVA(ptp);
}

/*
 * Index of the first valid entry of table[from..to), or to.  In user tables
 * an invalid entry is always 0 (every removal stores 0, the MMU never writes
 * a non-present entry), so this is one `repe scasq`.
 */
static inline unsigned pte_next_valid(const pt_entry_t *table, unsigned from, unsigned to)
{
	return from + (unsigned)qwords_first_nonzero(table + from, to - from);
}

/*
 * PTE updates.  Each is one store to the live page table (a trapped write
 * under nested shadow paging, so callers skip stores that change nothing).
 * The atomic forms return the old PTE including any A/D bits the MMU set.
 */
static inline void pmap_pte_set(pt_entry_t *ptep, pt_entry_t npte)
{
	__atomic_store_n(ptep, npte, __ATOMIC_SEQ_CST);
}

static inline pt_entry_t pmap_pte_swap(pt_entry_t *ptep, pt_entry_t npte)
{
	return __atomic_exchange_n(ptep, npte, __ATOMIC_SEQ_CST);
}

static inline pt_entry_t pmap_pte_clearbits(pt_entry_t *ptep, pt_entry_t bits)
{
	return __atomic_fetch_and(ptep, ~bits, __ATOMIC_SEQ_CST);
}

/* replace opte by npte unless the MMU changed it meanwhile; returns the PTE found */
static inline pt_entry_t pmap_pte_cas(pt_entry_t *ptep, pt_entry_t opte, pt_entry_t npte)
{
	__atomic_compare_exchange_n(ptep, &opte, npte, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return opte;
}

/* user leaf bits for a prot (docs/semantics.md, "PTE encoding") */
static inline pt_entry_t pmap_prot_bits(uint32_t prot)
{
	pt_entry_t bits = 0;

	if (prot & PTS_PROT_WRITE)
		bits |= PG_RW;
	if (!(prot & PTS_PROT_EXEC))
		bits |= PG_NX;
	return bits;
}

/* pmap counters: changed with the pmap's lock held, atomically all the same
 * (a diagnostic reader on another CPU, and the host, read them unlocked) */
static inline void pm_count_add(volatile uint64_t *count, int64_t delta)
{
	uint64_t was = __atomic_fetch_add(count, (uint64_t)delta, __ATOMIC_SEQ_CST);

	KASSERT(delta > 0 || was >= (uint64_t)-delta);
}

/* ---- pmap_ptp.c */
extern uint64_t pmap_fail_countdown;
struct vm_page *pmap_find_ptp(struct pmap *pm, uint64_t va, int level);
pt_entry_t *pmap_table(struct pmap *pm, uint64_t va, int level);
pt_entry_t *pmap_find_pte(struct pmap *pm, uint64_t va, struct vm_page **ptpp);
void pmap_ptp_hash_insert(struct pmap *pm, struct vm_page *ptp);
struct vm_page *pmap_ptp_alloc(uint32_t flags);
struct vm_page *pmap_ptp_install(struct pmap *pm, uint64_t va, struct vm_page *newptp[]);
void pmap_ptp_release(struct pmap *pm, struct vm_page *ptp);
void pmap_tlb_shootdown(struct pmap *pm, uint64_t va, pt_entry_t opte);
void pmap_tlb_shootdown_ptp(struct pmap *pm, uint64_t va);
void pmap_update(void);
/* invalidate [sva, eva) (npages queued) on the CPUs in cpus, this one included if
 * it is in the set; global: kernel entries */
void pmap_invalidate_cpus(uint32_t cpus, uint64_t sva, uint64_t eva, uint32_t npages, bool global);

/* ---- pmap_kernel.c */
void pmap_kernel_init(void);

#endif /* GUEST_PMAP_IMPL_H */
