/* guest/pmap.c - the amd64 pmap of the ptshadow guest: user pmaps, managed
 * mappings and their pv entries, and the page-level operations.
 *
 * Companions: pmap_ptp.c (PTP hash, allocation, release, TLB shootdown
 * batch), pmap_kernel.c (bootstrap, kernel pmap, kenter/kremove), pool.c (pv
 * entry allocator), tlb.c (the only code that invalidates).  The contract is
 * docs/semantics.md; the host monitor checks exactly that.
 *
 * DATA STRUCTURES
 *
 * - Page tables are 4-level amd64 tables, written through the direct map.
 *   Every pmap's PML4 holds copies of the kernel's slots 256..511, made at
 *   pmap_create; the kernel's PDPTs for the slots it uses (direct map, kenter
 *   window, pv KVA window, kernel image) exist from pmap_bootstrap on and are
 *   never freed, so those copies never go stale.  Slots 0..255 are user space.
 *
 * - A page-table page (PTP) is a vm_page with usage PTS_PG_PTP.  ptp_pmap,
 *   ptp_va (first VA it maps) and ptp_level (1 PT, 2 PD, 3 PDPT, 4 PML4)
 *   say what it is.  A point lookup (enter, extract, unwire, the parent of a
 *   PTP being released) finds a PTP through the pmap's hash pm_ptp_hash[],
 *   keyed by (level, ptp_va) and chained through ptp_hnext, without walking
 *   down from the PML4 (NetBSD's pm_obj/ptphint idea).  Range operations
 *   (remove, protect, collect) do walk down, skipping runs of empty entries
 *   with one string instruction, so they cost what is mapped in the range.
 *
 * - In user tables an invalid entry is always 0: removals store 0 and the MMU
 *   never writes a non-present entry.  pte_next_valid() relies on it.
 *
 * - struct pv_entry {pv_next, pv_pmap, pv_va, pv_ptp} records one managed
 *   mapping; it sits on md.pv_list of the page mapped and pv_ptp is the PT
 *   holding the PTE.  Entries come from pmap_pv_pool (pool.c), whose pages
 *   live in the fixed pv KVA window.
 *
 * RULES
 *
 * PTP reference count (NetBSD/OpenBSD): a PTP's wire_count is 1 + the number
 *   of valid entries in it.  When it drops to 1 the PTP is empty: it is
 *   unlinked from its parent (whose count drops in turn), its span is queued
 *   for invalidation if the pmap is active, and the page goes on a dead list
 *   that pmap_update() frees after running the invalidations, each free
 *   recorded in the TLB ledger after them (the monitor's SMP-5).  The PML4 is
 *   not counted.  Kernel PTPs are counted the same way but never freed.
 *
 * resident_count = valid user leaf PTEs + PTPs below the PML4 (OpenBSD;
 *   PTS_RESIDENT_LEAVES_PLUS_PTPS); pm_ptp_count = PTPs below the PML4.
 * wired_count = valid user leaf PTEs with PG_W.
 *
 * pv entries: every valid user leaf is managed (only arena pages are entered)
 *   and carries PG_PVLIST; it has exactly one pv entry (pmap, va) on its
 *   page's list, and no pv entry exists without its PTE.  md.pmap_count
 *   counts the page's managed PTEs, md.writeable_count those with PG_RW.
 *   PGF_MAPPED / PGF_WRITEABLE are set whenever the matching count is
 *   raised above zero, and cleared only lazily (page_protect, clear_modify)
 *   once the count is zero: they over-approximate (DragonFly 2019).
 *   An enter that replaces the page under a VA moves the pv entry from the
 *   old page's list to the new one's: no allocation, so it cannot fail.
 *
 * Attributes: whenever a managed PTE is removed or its frame replaced, its
 *   A and D bits are OR-ed into md.attrs (REFERENCED, MODIFIED) of the page
 *   it mapped.  is_modified/is_referenced look at md.attrs and every PTE on
 *   the pv list.  A re-enter of the same page keeps the PTE's A and D as
 *   they are when it is rewritten (not as first read).
 *
 * Invalidation: a PTE whose A bit is clear cannot be in the TLB.  Every
 *   downgrade (valid->invalid, RW->RO, frame change, X->NX, A or D cleared)
 *   of a PTE that had A set in the active pmap is queued with
 *   pmap_tlb_shootdown(); every PTP unlinked from the active pmap with
 *   pmap_tlb_shootdown_ptp().  Each operation ends with pmap_update(), which
 *   invalidates (one page, a range, or a full flush above a threshold) and
 *   only then frees dead PTPs.  Kernel mappings are global and are
 *   invalidated on every change (pmap_kenter_pa, pmap_kremove).
 *
 * Allocation: pmap_enter allocates every PTP and the pv entry it needs
 *   before it changes anything; with PMAP_CANFAIL each allocation counts
 *   toward an armed "fail alloc N", and on failure the pages allocated for
 *   the call go back to the (LIFO) free list in reverse order, so the pmap,
 *   the pages and the pool are exactly as before.  The PTPs come first and
 *   the pv entry last, so a failure never reaches the pool.
 *
 * SMP (docs/smp.md).  Interrupts are off in the kernel; locks are spin locks
 *   that know their owner, and every spin serves the shootdowns addressed to
 *   its CPU (smp_poll), so waiting for a lock never deadlocks with a CPU
 *   that holds it and waits for our ack.
 *
 *   pm_lock (per pmap): the pmap's tables, PTP hash and PTP wire counts,
 *     pm_ptp_count, resident_count and wired_count (changed by atomic adds
 *     all the same: the host and other CPUs read them unlocked).  Every PTE of
 *     a pmap changes with its lock held; the MMU's A/D updates aside.
 *   pv_locks[pfn % PV_LOCKS] (hashed): the pv lists of the bucket's pages and
 *     the bucket's gen (bumped on each list change); the raising of
 *     md.pmap_count / writeable_count with their flags, the flags' lazy
 *     clearing, the harvest into md.attrs.  md counters are atomic: one
 *     may be lowered under the pmap lock alone (protect), which only delays
 *     a lazy clear (DragonFly 2019).
 *   pool, vm_page free list, pmap_list, smp_ipi_lock: their own locks;
 *     the TLB ledger and the console: leaf locks.
 *
 *   Lock order: pmap -> pv (two pv locks in bucket order) -> pool -> kernel
 *   pmap -> vm_page -> smp_ipi_lock -> leaves.  Every lock is free again
 *   when an op returns: the descriptor names each lock's word (ABI 5) and
 *   the host checks them at every stop (LOCK-1).  Page-level ops hold a pv
 *   lock and need each entry's pmap lock against the order: pv_lock_pmap
 *   tries it, else drops the pv lock, waits, retakes it, and starts the walk
 *   over if the bucket's gen moved (FreeBSD).
 *
 *   pm_active: the CPUs with the pmap's root in CR3; pmap_activate sets the
 *   bit before the CR3 load and clears the old pmap's after; the kernel
 *   pmap's holds every CPU up.  No PCID: a CPU outside pm_active caches
 *   nothing of the pmap.
 *
 *   Shootdowns: a downgrade of a PTE with A set, or a PTP unlink, is owed
 *   to every CPU in pm_active read after the change (a kernel PTE: every CPU
 *   up); on SMP the set read goes into the ledger at once (PTS_TLB_SHOOT,
 *   the monitor's SMP-6 holds it against the CPUs' roots).  pmap_update sends the batch to the
 * others (IPI with a range and a generation), invalidates here, waits for every ack, and only then
 * frees dead PTPs.  Page-level ops run pmap_update before they drop each pmap's lock on SMP, so no
 * CPU builds on a PTE another still caches.
 *
 *   PTE teardown is an atomic swap whose result gives the A/D to harvest,
 *   made with the page's pv lock held (FreeBSD's pmap_remove_pte, with
 *   lockp): the swap and the harvest into md.attrs are one step for the
 *   page-level ops, which hold that lock (remove, page_protect(none), an
 *   enter replacing the page; PTP unlinks harvest nothing).  A PTE read
 *   before a preemption point gives only its frame, which the pmap lock
 *   keeps: the MMU may set A or D meanwhile.  Rewrites that keep the frame
 *   are compare-and-swap loops against the PTE as it is (protect, an enter
 *   of the same page, whose A/D are those the CAS replaced) or fetch-and
 *   (unwire, clear_modify, clear_reference).  A plain store writes only a
 *   new PTE over a zero one.  clear_modify/clear_reference clear md.attrs
 *   again each time their walk starts over: with the pv lock dropped in
 *   pv_lock_pmap, a remove may have harvested the bit meanwhile.
 *
 *   Preemption points (PMAP_PREEMPT, guest/preempt.h) mark where another
 *   CPU may change what this one is about to use; every lock acquisition is
 *   one too.  In a group of ops run at once (guest/sched.c) the CPUs run one
 *   at a time and change hands only there, so a rule above that a race would
 *   break must hold across each point: nothing read before a point is
 *   trusted after it unless a lock held across it protects it.
 */
#include "pmap_impl.h"
#include "preempt.h"
#include "smp.h"
#include "tlb.h"

/* pmaps live in a static array: a pmap's lock stays valid memory after
 * destroy, which pv_lock_pmap relies on */
static struct pmap pmap_store[PTS_MAX_PMAPS];
struct pmap *pmap_list;
struct spinlock pmap_list_lock; /* pmap_list; taken with no other lock held */

/* ---- pv-list locks, hashed by page; gen counts changes to the lists of a bucket */

#define PV_LOCKS 64u

static struct pv_lock {
	struct spinlock lock;
	uint64_t gen;
} pv_locks[PV_LOCKS];

/* where the host finds the pv-list locks' words (the descriptor, ABI 5) */
void pmap_pv_locks_describe(uint64_t *kva, uint32_t *count, uint32_t *stride)
{
	*kva = (uint64_t)&pv_locks[0].lock.owner;
	*count = PV_LOCKS;
	*stride = sizeof(pv_locks[0]);
}

static struct pv_lock *pv_lock_of(const struct vm_page *pg)
{
	return &pv_locks[(pg->phys_addr >> PAGE_SHIFT) % PV_LOCKS];
}

static void pv_lock(const struct vm_page *pg)
{
	spin_lock(&pv_lock_of(pg)->lock);
}

static void pv_unlock(const struct vm_page *pg)
{
	spin_unlock(&pv_lock_of(pg)->lock);
}

static bool pv_locked(const struct vm_page *pg)
{
	return spin_owned(&pv_lock_of(pg)->lock);
}

/* two pages' lists (enter replacing a page): in bucket order, once if shared */
static void pv_lock2(const struct vm_page *a, const struct vm_page *b)
{
	struct pv_lock *la = pv_lock_of(a), *lb = pv_lock_of(b);

	if (la == lb) {
		spin_lock(&la->lock);
	} else {
		spin_lock(&(la < lb ? la : lb)->lock);
		spin_lock(&(la < lb ? lb : la)->lock);
	}
}

static void pv_unlock2(const struct vm_page *a, const struct vm_page *b)
{
	struct pv_lock *la = pv_lock_of(a), *lb = pv_lock_of(b);

	spin_unlock(&la->lock);
	if (la != lb)
		spin_unlock(&lb->lock);
}

/* drop a user pmap's lock; on SMP the ledger says so first, so the monitor
 * sees that the shootdowns owed for it were done before (SMP-7) */
static void pmap_unlock(struct pmap *pm)
{
	if (smp_ncpus() > 1)
		tlb_ledger_unlock(pm->pm_pml4_pa);
	spin_unlock(&pm->pm_lock);
}

/*
 * pg's pv lock is held: take pm's lock too, against the lock order (pmap
 * before pv), FreeBSD's way: try it; if that fails, drop the pv lock, wait
 * for pm's, take the pv lock again.  false: the lists of pg's bucket changed
 * while it was dropped, pm's lock is not held, and the caller walks pg's
 * list again from its head.
 */
static bool pv_lock_pmap(const struct vm_page *pg, struct pmap *pm)
{
	uint64_t gen;

	KASSERT(pv_locked(pg));
	if (spin_trylock(&pm->pm_lock))
		return true;
	gen = pv_lock_of(pg)->gen;
	pv_unlock(pg);
	PMAP_PREEMPT(PV_BACKOFF);
	spin_lock(&pm->pm_lock);
	pv_lock(pg);
#ifdef MUTANT_PV_RETRY_NO_GEN_CHECK
	/* "the entry we were at is still ours": the list the caller walks was
	 * edited while its lock was dropped, and the caller edits it again from
	 * what it read before */
	(void)gen;
	return true;
#endif
	if (pv_lock_of(pg)->gen == gen)
		return true;
	pmap_unlock(pm);
	return false;
}

/*
 * Before a page-level op drops the lock of a pmap whose PTEs it changed:
 * on SMP the shootdown runs now, so that no CPU can take the pmap's lock and
 * build on a PTE another CPU's TLB still holds the old value of.  On one CPU
 * nobody else can take the lock: the op's final pmap_update runs the batch,
 * one record for the whole op.
 */
static void pmap_update_unlocking(void)
{
#ifdef MUTANT_UPDATE_AFTER_UNLOCK
	/* "the op's final pmap_update sends it anyway": after the lock is gone */
	return;
#endif
	if (smp_ncpus() > 1)
		pmap_update();
}

/* ---- pv lists and page counters (with the page's pv lock) */

static void pmap_enter_pv(struct vm_page *pg, struct pv_entry *pve, struct pmap *pm, uint64_t va,
                          struct vm_page *ptp)
{
	KASSERT(pv_locked(pg) && spin_owned(&pm->pm_lock));
	pv_lock_of(pg)->gen++;
	pve->pv_pmap = pm;
	pve->pv_va = va;
	pve->pv_ptp = ptp;
	pve->pv_next = pg->md.pv_list;
	pg->md.pv_list = pve;
}

static struct pv_entry *pmap_remove_pv(struct vm_page *pg, struct pmap *pm, uint64_t va)
{
	struct pv_entry **prevp = &pg->md.pv_list, *pve;

	KASSERT(pv_locked(pg));
	pv_lock_of(pg)->gen++;
	for (pve = *prevp; pve != NULL; prevp = &pve->pv_next, pve = *prevp) {
		if (pve->pv_pmap == pm && pve->pv_va == va) {
			*prevp = pve->pv_next;
			pve->pv_next = NULL;
			return pve;
		}
	}
	return NULL;
}

static struct pv_entry *pmap_alloc_pv(uint32_t flags)
{
	if (pmap_alloc_fails(flags))
		return NULL;
	return pool_get(&pmap_pv_pool, (flags & PMAP_CANFAIL) ? PR_CANFAIL : 0);
}

/*
 * md counters and flags are atomic (DragonFly 2019): a count is raised and
 * its flag set with the page's pv lock held; a flag is cleared only with the
 * pv lock held, after reading its count as zero; a count may be lowered
 * under the pmap lock alone (protect), which can only delay a lazy clear.
 */
static void md_flag_set(struct vm_page *pg, uint32_t flag)
{
	if (!(__atomic_load_n(&pg->md.flags, __ATOMIC_RELAXED) & flag))
		__atomic_fetch_or(&pg->md.flags, flag, __ATOMIC_SEQ_CST);
}

static void md_writeable_inc(struct vm_page *pg)
{
	KASSERT(pv_locked(pg));
	__atomic_fetch_add(&pg->md.writeable_count, 1, __ATOMIC_SEQ_CST);
	md_flag_set(pg, PTS_PGF_WRITEABLE);
}

static void md_writeable_dec(struct vm_page *pg)
{
	uint32_t was = __atomic_fetch_sub(&pg->md.writeable_count, 1, __ATOMIC_SEQ_CST);

	KASSERT(was > 0);
}

/* the pv lock held and no writable mapping left: the lazy clear */
static void md_writeable_clear_if_none(struct vm_page *pg)
{
	KASSERT(pv_locked(pg));
	if (__atomic_load_n(&pg->md.writeable_count, __ATOMIC_SEQ_CST) == 0)
		__atomic_fetch_and(&pg->md.flags, ~PTS_PGF_WRITEABLE, __ATOMIC_SEQ_CST);
}

/* a managed PTE npte now maps pg */
static void pmap_page_mapped(struct vm_page *pg, pt_entry_t npte)
{
	KASSERT(pv_locked(pg));
	__atomic_fetch_add(&pg->md.pmap_count, 1, __ATOMIC_SEQ_CST);
	md_flag_set(pg, PTS_PGF_MAPPED);
	if (npte & PG_RW)
		md_writeable_inc(pg);
}

static void pmap_sync_attrs(struct vm_page *pg, pt_entry_t opte)
{
	uint32_t attrs = 0;

	KASSERT(pv_locked(pg));
	if (opte & PG_U)
		attrs |= PTS_ATTR_REFERENCED;
	if (opte & PG_M)
		attrs |= PTS_ATTR_MODIFIED;
	if (attrs != 0)
		__atomic_fetch_or(&pg->md.attrs, attrs, __ATOMIC_SEQ_CST);
}

/* the managed PTE opte no longer maps pg (its pv entry is the caller's business) */
static void pmap_page_unmapped(struct vm_page *pg, pt_entry_t opte)
{
	uint32_t was = __atomic_fetch_sub(&pg->md.pmap_count, 1, __ATOMIC_SEQ_CST);

	KASSERT(pv_locked(pg) && was > 0);
	if (opte & PG_RW)
		md_writeable_dec(pg);
}

static struct vm_page *pte_page(pt_entry_t pte)
{
	struct vm_page *pg = PHYS_TO_VM_PAGE(pte & PG_FRAME);

	KASSERT(vm_page_is_arena(pg));
	return pg;
}

/* the PTE behind a pv entry */
static pt_entry_t *pv_pte(const struct pv_entry *pve)
{
	const struct vm_page *ptp = pve->pv_ptp;

	KASSERT(ptp->usage == PTS_PG_PTP && ptp->ptp_level == 1 && ptp->ptp_pmap == pve->pv_pmap);
	KASSERT(ptp->ptp_va == ptp_va_of(pve->pv_va, 1));
	return &ptp_kva(ptp)[pl_i(pve->pv_va, 1)];
}

/* ---- pmap lifetime */

struct pmap *pmap_lookup(uint32_t slot)
{
	if (slot >= PTS_MAX_PMAPS || !(pmap_store[slot].pm_flags & PMF_INUSE))
		return NULL;
	return &pmap_store[slot];
}

struct pmap *pmap_create(uint32_t slot)
{
	struct pmap *pm = &pmap_store[slot];
	const pt_entry_t *kpml4 = pmap_kernel()->pm_pml4;
	struct vm_page *pg;
	pt_entry_t *pml4;

	KASSERT(slot < PTS_MAX_PMAPS && !(pm->pm_flags & PMF_INUSE));
	pg = vm_page_alloc(PTS_PG_PTP);
	if (pg == NULL)
		return NULL;
	_Static_assert(sizeof(*pm) % 8 == 0, "struct pmap is whole qwords");
	qwords_zero(pm, sizeof(*pm) / 8);
	pg->ptp_pmap = pm;
	pg->ptp_level = PTP_LEVELS;
	pg->ptp_va = 0;
	pg->wire_count = 1;
	pml4 = ptp_kva(pg);
	/* a recycled page may hold anything: store only entries that differ */
	if (qwords_first_nonzero(pml4, KERNEL_SLOT_FIRST) != KERNEL_SLOT_FIRST)
		qwords_zero(pml4, KERNEL_SLOT_FIRST);
	for (size_t i = KERNEL_SLOT_FIRST;
	     (i += qwords_first_diff(&pml4[i], &kpml4[i], NPTEPG - i)) < NPTEPG; i++)
		pml4[i] = kpml4[i];
#ifdef MUTANT_KERNEL_SLOT_NOT_COPIED
	/* the slot list the copy was written from predates the kenter window */
	if (pml4[SLOT_KENTER] != 0)
		pml4[SLOT_KENTER] = 0;
#endif
	pm->pm_pml4 = pml4;
	pm->pm_pml4_pa = VM_PAGE_TO_PHYS(pg);
	pm->pm_pml4_pg = pg;
	pm->pm_slot = slot;
	pm->pm_flags = PMF_INUSE;
	spin_lock(&pmap_list_lock);
	pm->pm_next = pmap_list;
	pmap_list = pm;
	spin_unlock(&pmap_list_lock);
	return pm;
}

void pmap_destroy(struct pmap *pm)
{
	struct pmap **pp;

	KASSERT(pm != pmap_kernel() && (pm->pm_flags & PMF_INUSE));
	if (pmap_curpmap() == pm)
		pmap_activate(pmap_kernel());
	/* no CPU may use a pmap being destroyed (FreeBSD: pm_active empty) */
	KASSERT(pm->pm_active == 0);
	pmap_collect(pm);
	KASSERT(pm->pm_resident_count == 0 && pm->pm_wired_count == 0);
	KASSERT(pm->pm_ptp_count == 0);
	for (unsigned i = 0; i < PMAP_PTP_HASH_SIZE; i++)
		KASSERT(pm->pm_ptp_hash[i] == NULL);
	spin_lock(&pmap_list_lock);
	for (pp = &pmap_list; *pp != pm; pp = &(*pp)->pm_next)
		KASSERT(*pp != NULL);
	*pp = pm->pm_next;
	spin_unlock(&pmap_list_lock);
	pm->pm_next = NULL;
	pm->pm_flags = 0;
	vm_page_free(pm->pm_pml4_pg);
	pm->pm_pml4_pg = NULL;
	pm->pm_pml4 = NULL;
	pm->pm_pml4_pa = 0;
}

struct pmap *pmap_curpmap(void)
{
	return (struct pmap *)curcpu()->pc_pub->curpmap;
}

/*
 * Load pm's root on this CPU.  pm_active gains this CPU before the CR3
 * load and the old pmap loses it after (FreeBSD's order): a CPU that changes
 * a PTE and then reads pm_active either sees this CPU in it, or this CPU's
 * walks already see the new PTE.  The CR3 load flushes every non-global
 * entry (no PCID), so there is no lazy TLB: a CPU not in pm_active holds
 * nothing of pm.  The kernel pmap stays active on every CPU: its entries are
 * global and in every root.
 */
void pmap_activate(struct pmap *pm)
{
	struct pcpu *pc = curcpu();
	struct pmap *old = pmap_curpmap();

#ifdef MUTANT_ACTIVE_SET_AFTER_LOAD
	/* "nothing is cached until this CPU touches it": CR3 first, pm_active
	 * after; a shootdown for pm sent in between skips this CPU, whose walks
	 * (speculative ones too) may already cache pm's entries */
	tlb_switch(pm->pm_pml4_pa);
	pc->pc_pub->curpmap = (uint64_t)pm;
	PMAP_PREEMPT(ACTIVE_LOADED);
	__atomic_fetch_or(&pm->pm_active, pc->pc_mask, __ATOMIC_SEQ_CST);
	PMAP_PREEMPT(ACTIVE_SET);
	if (old != NULL && old != pm && old != pmap_kernel())
		__atomic_fetch_and(&old->pm_active, ~pc->pc_mask, __ATOMIC_SEQ_CST);
	return;
#endif
#ifndef MUTANT_ACTIVE_NEW_NOT_SET /* else: "the CR3 load is what counts" */
	__atomic_fetch_or(&pm->pm_active, pc->pc_mask, __ATOMIC_SEQ_CST);
#endif
#ifdef MUTANT_ACTIVE_CLEARED_BEFORE_LOAD
	/* "the CPU is leaving old anyway": it leaves old's pm_active before the
	 * CR3 load; a shootdown for old sent in between skips this CPU, which
	 * still runs on old's root */
	if (old != NULL && old != pm && old != pmap_kernel())
		__atomic_fetch_and(&old->pm_active, ~pc->pc_mask, __ATOMIC_SEQ_CST);
	PMAP_PREEMPT(ACTIVE_SET);
	tlb_switch(pm->pm_pml4_pa);
	pc->pc_pub->curpmap = (uint64_t)pm;
	PMAP_PREEMPT(ACTIVE_LOADED);
	return;
#endif
	PMAP_PREEMPT(ACTIVE_SET);
#ifdef MUTANT_LAZY_SWITCH_DROPS_ACTIVE
	/* lazy TLB (Linux's lazy mm, without its shootdown rule): the kernel
	 * half is in every root, so a switch to the kernel pmap keeps the old
	 * root loaded, yet leaves the old pmap's pm_active */
	if (pm != pmap_kernel() || old == NULL)
		tlb_switch(pm->pm_pml4_pa);
#else
	tlb_switch(pm->pm_pml4_pa);
#endif
	pc->pc_pub->curpmap = (uint64_t)pm;
	PMAP_PREEMPT(ACTIVE_LOADED);
#ifdef MUTANT_ACTIVE_OLD_NOT_CLEARED /* the old pmap keeps this CPU for ever */
	(void)old;
#else
	if (old != NULL && old != pm && old != pmap_kernel())
		__atomic_fetch_and(&old->pm_active, ~pc->pc_mask, __ATOMIC_SEQ_CST);
#endif
}

/* ---- enter */

/*
 * Rewrite a mapping of the same page: new prot and wiring, A and D kept.
 * opte was read before preemption points (the allocations, the pv lock):
 * another CPU's MMU may have set A or D since, so the new PTE goes in by
 * compare-and-swap against the PTE as it is, and its A/D are those of the
 * value the swap replaced (FreeBSD's pmap_enter: atomic_cmpset on the
 * same-page path).
 */
static void pmap_enter_same(struct pmap *pm, uint64_t va, pt_entry_t *ptep, pt_entry_t opte,
                            pt_entry_t npte, struct vm_page *pg)
{
	pt_entry_t base = npte;

	for (;;) {
		npte = base;
#ifndef MUTANT_ENTER_SAME_PAGE_DROPS_AD
		npte |= opte & (PG_U | PG_M);
#endif /* else: the PTE is rebuilt from scratch and A/D are simply lost */
		if (opte == npte)
			break;
		pt_entry_t found = pmap_pte_cas(ptep, opte, npte);
		if (found == opte)
			break;
		opte = found; /* the MMU set A or D meanwhile: only those can change */
	}
	if ((opte & PG_W) && !(npte & PG_W))
		pm_count_add(&pm->pm_wired_count, -1);
	else if (!(opte & PG_W) && (npte & PG_W))
		pm_count_add(&pm->pm_wired_count, 1);
	if ((opte & PG_RW) && !(npte & PG_RW))
		md_writeable_dec(pg);
	else if (!(opte & PG_RW) && (npte & PG_RW))
		md_writeable_inc(pg);
	if (((opte & PG_RW) && !(npte & PG_RW)) || (!(opte & PG_NX) && (npte & PG_NX)))
		pmap_tlb_shootdown(pm, va, opte);
}

/*
 * Replace the mapping of opg at va by one of pg, moving the pv entry over:
 * the old mapping goes as by remove (A/D harvested, counters down), the frame
 * change is invalidated if the old PTE may be cached.
 */
static void pmap_enter_replace(struct pmap *pm, uint64_t va, struct vm_page *ptp, pt_entry_t *ptep,
                               pt_entry_t npte, struct vm_page *pg, struct pv_entry *newpve)
{
	pt_entry_t opte = pmap_pte_swap(ptep, npte);
	struct vm_page *opg = pte_page(opte);
	struct pv_entry *pve;

	KASSERT((opte & PG_V) && (opte & PG_PVLIST) && opg != pg);
#ifndef MUTANT_ENTER_DROPS_OLD_AD
	pmap_sync_attrs(opg, opte);
#endif
#ifdef MUTANT_REPLACE_KEEPS_PMAP_COUNT
	if (opte & PG_RW)
		md_writeable_dec(opg);
#else
	pmap_page_unmapped(opg, opte);
#endif
#ifdef MUTANT_ENTER_LEAVES_OLD_PV
	/* the old entry is left where it is; a fresh one goes on pg's list */
	pve = newpve;
#else
	KASSERT(newpve == NULL);
	pve = pmap_remove_pv(opg, pm, va);
	KASSERT(pve != NULL && pve->pv_ptp == ptp);
#endif
	pmap_enter_pv(pg, pve, pm, va, ptp);
	pmap_page_mapped(pg, npte);
	if ((opte & PG_W) && !(npte & PG_W))
		pm_count_add(&pm->pm_wired_count, -1);
	else if (!(opte & PG_W) && (npte & PG_W))
		pm_count_add(&pm->pm_wired_count, 1);
	pmap_tlb_shootdown(pm, va, opte);
}

int pmap_enter(struct pmap *pm, uint64_t va, struct vm_page *pg, uint32_t prot, uint32_t flags)
{
	struct vm_page *newptp[PTP_LEVELS] = {NULL};
	struct vm_page *ptp;
	struct pv_entry *pve = NULL;
	pt_entry_t *ptep, opte, npte;
	bool need_pv;

	KASSERT(pm != pmap_kernel() && va < PTS_USER_MAX && (va & PAGE_MASK) == 0);
	KASSERT(vm_page_is_arena(pg));
	npte = VM_PAGE_TO_PHYS(pg) | PG_V | PG_u | PG_PVLIST | pmap_prot_bits(prot);
	if (flags & PMAP_WIRED)
		npte |= PG_W;
#ifdef MUTANT_COUNT_NOT_ATOMIC
	/* "a statistic: read it before the lock, write it back under it": a
	 * remove of the same pmap that runs between the two is lost */
	uint64_t resident = pm->pm_resident_count;
#endif
	spin_lock(&pm->pm_lock);

	/* 1. allocate: the missing PTPs top-down, then the pv entry */
	ptep = pmap_find_pte(pm, va, &ptp);
	if (ptp == NULL) {
		int top = pmap_find_ptp(pm, va, 2) != NULL   ? 1
		          : pmap_find_ptp(pm, va, 3) != NULL ? 2
		                                             : 3;
		for (int level = top; level >= 1; level--) {
			newptp[level] = pmap_ptp_alloc(flags);
			if (newptp[level] == NULL)
				goto fail;
		}
#ifdef MUTANT_CANFAIL_LEAVES_PTP
		/* link the PTPs right away, as pmap_get_ptp did; the pv entry may still fail */
		ptp = pmap_ptp_install(pm, va, newptp);
		ptep = &ptp_kva(ptp)[pl_i(va, 1)];
		memset(newptp, 0, sizeof(newptp));
#endif
	}
	opte = ptep != NULL ? *ptep : 0;
	need_pv = !(opte & PG_V);
#ifdef MUTANT_ENTER_LEAVES_OLD_PV
	need_pv = need_pv || (opte & PG_FRAME) != VM_PAGE_TO_PHYS(pg);
#endif
	if (need_pv) {
		pve = pmap_alloc_pv(flags);
		if (pve == NULL)
			goto fail;
	}

	/* 2. commit: nothing below can fail */
	if (ptp == NULL) {
		ptp = pmap_ptp_install(pm, va, newptp);
		ptep = &ptp_kva(ptp)[pl_i(va, 1)];
	}
	if (!(opte & PG_V)) {
		pv_lock(pg);
		pmap_pte_set(ptep, npte);
#ifdef MUTANT_PTP_REF_MISSED
		/* counted when the PT was new; the "already there" path forgot it */
		if (newptp[1] != NULL)
			ptp->wire_count++;
#else
		ptp->wire_count++;
#endif
#ifdef MUTANT_COUNT_NOT_ATOMIC
		/* the value read before the lock, the PTPs installed since, the mapping */
		pm->pm_resident_count =
		    resident + (newptp[1] != NULL) + (newptp[2] != NULL) + (newptp[3] != NULL) + 1;
#else
		pm_count_add(&pm->pm_resident_count, 1);
#endif
		if (npte & PG_W)
			pm_count_add(&pm->pm_wired_count, 1);
		pmap_enter_pv(pg, pve, pm, va, ptp);
		pmap_page_mapped(pg, npte);
		pv_unlock(pg);
	} else if ((opte & PG_FRAME) == VM_PAGE_TO_PHYS(pg)) {
		pv_lock(pg);
		pmap_enter_same(pm, va, ptep, opte, npte, pg);
		pv_unlock(pg);
	} else {
		/* the frame cannot change under the pmap lock, only A and D */
		struct vm_page *opg = pte_page(opte);

		pv_lock2(opg, pg);
		pmap_enter_replace(pm, va, ptp, ptep, npte, pg, pve);
		pv_unlock2(opg, pg);
	}
	PMAP_PREEMPT(PV_UNLOCKED);
	pmap_update();
	pmap_unlock(pm);
	return PMAP_OK;

fail:
	/* reverse order of allocation: the LIFO free list comes back as it was */
	for (int level = 1; level < PTP_LEVELS; level++)
		if (newptp[level] != NULL)
			vm_page_free(newptp[level]);
#ifdef MUTANT_ENTER_ENOMEM_KEEPS_LOCK
	/* the error path written as an early return: the pages go back, the
	 * pmap lock stays held; the caller's next lock of the pmap spins
	 * forever, or on this CPU trips spin_lock's recursion KASSERT */
	if (flags & PMAP_CANFAIL)
		return PMAP_ENOMEM;
#endif
	pmap_unlock(pm);
	if (!(flags & PMAP_CANFAIL))
		panic("pmap_enter: no memory for a page-table page or pv entry (va %#lx)", va);
	return PMAP_ENOMEM;
}

/* ---- remove */

/*
 * The page's pv lock is taken before the swap (FreeBSD's pmap_remove_pte
 * runs with the pv list lock held): the swap and the harvest of its A/D
 * into md.attrs are one step for the page-level ops, which all hold that
 * lock.  Only the frame of the PTE read before the lock is used: it cannot
 * change under the pmap lock, only A and D can.
 */
static void pmap_remove_pte(struct pmap *pm, struct vm_page *ptp, pt_entry_t *ptep, uint64_t va,
                            bool teardown)
{
	pt_entry_t opte = *ptep;
	struct vm_page *pg;
	struct pv_entry *pve;

	KASSERT((opte & PG_V) && (opte & PG_PVLIST));
	KASSERT(spin_owned(&pm->pm_lock));
	KASSERT(pm->pm_resident_count > 0 && ptp->wire_count > 1);
	pg = pte_page(opte);
	pv_lock(pg);
#ifdef MUTANT_REMOVE_LEAVES_STALE_PTE
	/* "clearing PG_V is enough": the frame and flags stay in the entry */
	opte = pmap_pte_swap(ptep, *ptep & ~PG_V);
#elif defined(MUTANT_PTE_CLEAR_NOT_SWAP)
	/* "the pmap lock is held, nobody else changes the PTE": the value read
	 * to find the page is the one harvested, the PTE cleared with a plain
	 * store just before the harvest; a D (or A) bit another CPU's MMU sets
	 * in between (the pv lock's point, PTE_SWAPPED) is lost */
#else
	opte = pmap_pte_swap(ptep, 0);
#endif
	KASSERT((opte & PG_FRAME) == VM_PAGE_TO_PHYS(pg));
	pm_count_add(&pm->pm_resident_count, -1);
	if (opte & PG_W)
		pm_count_add(&pm->pm_wired_count, -1);
	ptp->wire_count--;
#ifdef MUTANT_REMOVE_NO_INVALIDATE
	if (teardown)
#endif
		pmap_tlb_shootdown(pm, va, opte);
	PMAP_PREEMPT(PTE_SWAPPED);
#ifdef MUTANT_PTE_CLEAR_NOT_SWAP
	*ptep = 0;
#endif
#ifdef MUTANT_REMOVE_FORGETS_MODIFIED
	if (opte & PG_U)
		__atomic_fetch_or(&pg->md.attrs, PTS_ATTR_REFERENCED, __ATOMIC_SEQ_CST);
#else
	pmap_sync_attrs(pg, opte);
#endif
	pmap_page_unmapped(pg, opte);
#ifdef MUTANT_COLLECT_LEAVES_PV
	/* "the pmap is going away anyway": its pv entries are not worth unlinking */
	if (teardown) {
		pv_unlock(pg);
		return;
	}
#endif
	pve = pmap_remove_pv(pg, pm, va);
	pv_unlock(pg);
	KASSERT(pve != NULL && pve->pv_ptp == ptp);
	pool_put(&pmap_pv_pool, pve);
}

/*
 * Call fn for every PT of pm that maps part of [sva, eva) (clipped to what
 * table covers), with the part it maps.  Empty entries are skipped a run at a
 * time at every level, so a range costs what is mapped in it, not its size.
 * fn may release the PT and with it emptied parents: released tables stay
 * readable (and zero) until pmap_update, so the walk goes on over them.
 */
typedef void (*pmap_pt_fn)(struct pmap *pm, struct vm_page *ptp, uint64_t sva, uint64_t eva,
                           void *arg);

static void pmap_walk_pts(struct pmap *pm, const pt_entry_t *table, int level, uint64_t base,
                          uint64_t sva, uint64_t eva, pmap_pt_fn fn, void *arg)
{
	uint64_t espan = ptp_span(level - 1); /* bytes one entry maps */
	unsigned last = pl_i(eva - 1, level) + 1;

	for (unsigned i = pte_next_valid(table, pl_i(sva, level), last); i < last;
	     i = pte_next_valid(table, i + 1, last)) {
		uint64_t va = base + (uint64_t)i * espan;
		uint64_t lo = va > sva ? va : sva, hi = va + espan < eva ? va + espan : eva;
		struct vm_page *ptp = PHYS_TO_VM_PAGE(table[i] & PG_FRAME);

		KASSERT(ptp->ptp_pmap == pm && ptp->ptp_level == (uint32_t)(level - 1) &&
		        ptp->ptp_va == va);
		if (level == 2)
			fn(pm, ptp, lo, hi, arg);
		else
			pmap_walk_pts(pm, ptp_kva(ptp), level - 1, va, lo, hi, fn, arg);
	}
}

static void pmap_remove_pt(struct pmap *pm, struct vm_page *ptp, uint64_t sva, uint64_t eva,
                           void *arg)
{
	bool teardown = *(const bool *)arg;
	pt_entry_t *pte = ptp_kva(ptp);
	unsigned last = pl_i(eva - 1, 1) + 1;

	for (unsigned i = pte_next_valid(pte, pl_i(sva, 1), last); i < last && ptp->wire_count > 1;
	     i = pte_next_valid(pte, i + 1, last))
		pmap_remove_pte(pm, ptp, &pte[i], ptp->ptp_va + ((uint64_t)i << PAGE_SHIFT),
		                teardown);
#ifdef MUTANT_EMPTY_PTP_NOT_FREED
	if (!teardown)
		return;
#endif
	if (ptp->wire_count == 1)
		pmap_ptp_release(pm, ptp);
}

static void pmap_remove_range(struct pmap *pm, uint64_t sva, uint64_t eva, bool teardown)
{
	KASSERT(pm != pmap_kernel() && sva < eva && eva <= PTS_USER_MAX);
	spin_lock(&pm->pm_lock);
	pmap_walk_pts(pm, pm->pm_pml4, PTP_LEVELS, 0, sva, eva, pmap_remove_pt, &teardown);
	pmap_update();
	pmap_unlock(pm);
}

void pmap_remove(struct pmap *pm, uint64_t sva, uint64_t eva)
{
	pmap_remove_range(pm, sva, eva, false);
}

/* remove every user mapping and free every PTP; the pmap stays alive */
void pmap_collect(struct pmap *pm)
{
	pmap_remove_range(pm, 0, PTS_USER_MAX, true);
	KASSERT(pm->pm_ptp_count == 0);
}

/* ---- protect, unwire, extract */

/* opte ∩ prot for one managed PTE: never grants; returns true if it changed */
static bool pmap_protect_pte(struct pmap *pm, uint64_t va, pt_entry_t *ptep, uint32_t prot)
{
	pt_entry_t opte = *ptep, npte;

	KASSERT(spin_owned(&pm->pm_lock));
	for (;;) {
#ifdef MUTANT_PROTECT_GRANTS_WRITE
		npte = (opte & ~(PG_RW | PG_NX)) | pmap_prot_bits(prot);
#else
		npte = opte;
		if (!(prot & PTS_PROT_WRITE))
			npte &= ~PG_RW;
		if (!(prot & PTS_PROT_EXEC))
			npte |= PG_NX;
#endif
		if (npte == opte)
			return false;
		pt_entry_t found = pmap_pte_cas(ptep, opte, npte);
		if (found == opte)
			break;
		opte = found; /* the MMU set A or D meanwhile */
	}
	if ((opte & PG_RW) && !(npte & PG_RW)) {
		struct vm_page *pg = pte_page(opte);
#ifndef MUTANT_PROTECT_FORGETS_WRITEABLE_COUNT
		md_writeable_dec(pg);
#else
		(void)pg;
#endif
#ifdef MUTANT_PROTECT_NO_INVALIDATE
		/* RW->RO "only tightens", so it was thought safe to skip */
		if (!(opte & PG_NX) && (npte & PG_NX))
			pmap_tlb_shootdown(pm, va, opte);
		return true;
#endif
	}
#ifdef MUTANT_PROTECT_GRANTS_WRITE
	if (!(opte & PG_RW) && (npte & PG_RW)) {
		__atomic_fetch_add(&pte_page(opte)->md.writeable_count, 1, __ATOMIC_SEQ_CST);
		md_flag_set(pte_page(opte), PTS_PGF_WRITEABLE);
	}
#endif
	pmap_tlb_shootdown(pm, va, opte);
	return true;
}

static void pmap_protect_pt(struct pmap *pm, struct vm_page *ptp, uint64_t sva, uint64_t eva,
                            void *arg)
{
	uint32_t prot = *(const uint32_t *)arg;
	pt_entry_t *pte = ptp_kva(ptp);
	unsigned last = pl_i(eva - 1, 1) + 1;

	for (unsigned i = pte_next_valid(pte, pl_i(sva, 1), last); i < last;
	     i = pte_next_valid(pte, i + 1, last))
		(void)pmap_protect_pte(pm, ptp->ptp_va + ((uint64_t)i << PAGE_SHIFT), &pte[i],
		                       prot);
}

void pmap_protect(struct pmap *pm, uint64_t sva, uint64_t eva, uint32_t prot)
{
	KASSERT(pm != pmap_kernel() && sva < eva && eva <= PTS_USER_MAX);
	KASSERT(prot & PTS_PROT_READ);
	spin_lock(&pm->pm_lock);
	pmap_walk_pts(pm, pm->pm_pml4, PTP_LEVELS, 0, sva, eva, pmap_protect_pt, &prot);
#ifdef MUTANT_PROTECT_LOCAL_ONLY
	/* "a CPU that still writes through a stale RW entry only sets D on a
	 * page that stays mapped": only this CPU invalidates */
	curcpu()->pc_sd_cpus &= curcpu()->pc_mask;
#endif
	pmap_update();
	pmap_unlock(pm);
}

void pmap_unwire(struct pmap *pm, uint64_t va)
{
	pt_entry_t *ptep;

	spin_lock(&pm->pm_lock);
	ptep = pmap_find_pte(pm, va, NULL);
	if (ptep != NULL && (*ptep & (PG_V | PG_W)) == (PG_V | PG_W)) {
		(void)pmap_pte_clearbits(ptep, PG_W);
#ifndef MUTANT_UNWIRE_KEEPS_WIRED_COUNT
		pm_count_add(&pm->pm_wired_count, -1);
#endif
	}
	pmap_unlock(pm);
}

struct vm_page *pmap_extract(struct pmap *pm, uint64_t va)
{
	struct vm_page *pg = NULL;
	pt_entry_t *ptep;

	spin_lock(&pm->pm_lock);
	ptep = pmap_find_pte(pm, va, NULL);
	if (ptep != NULL && (*ptep & PG_V))
		pg = pte_page(*ptep);
	pmap_unlock(pm);
	return pg;
}

/* ---- page-level operations: walk the pv list
 *
 * Each takes the page's pv lock, then for every entry the lock of the entry's
 * pmap (pv_lock_pmap: against the lock order, so it may have to start over),
 * and changes the PTE with both held.  On SMP the shootdown a PTE change owes
 * runs before that pmap's lock is dropped (pmap_update_unlocking).
 */

/*
 * Remove every mapping of pg.  Like NetBSD's pmap_page_remove, this walks the
 * pv list and zaps each PTE itself rather than going through pmap_remove.
 */
static void pmap_page_remove(struct vm_page *pg)
{
	struct pv_entry *pve;

	pv_lock(pg);
	while ((pve = pg->md.pv_list) != NULL) {
		struct pmap *pm = pve->pv_pmap;
		struct vm_page *ptp = pve->pv_ptp;
		pt_entry_t opte;

		if (!pv_lock_pmap(pg, pm))
			continue;
		opte = pmap_pte_swap(pv_pte(pve), 0);
		KASSERT((opte & PG_V) && (opte & PG_FRAME) == VM_PAGE_TO_PHYS(pg));
		pmap_tlb_shootdown(pm, pve->pv_va, opte);
		pmap_sync_attrs(pg, opte);
		pmap_page_unmapped(pg, opte);
#ifndef MUTANT_PAGE_REMOVE_RESIDENT_LEAK
		pm_count_add(&pm->pm_resident_count, -1);
#endif
		if (opte & PG_W)
			pm_count_add(&pm->pm_wired_count, -1);
		KASSERT(ptp->wire_count > 1);
		ptp->wire_count--;
		pv_lock_of(pg)->gen++;
		pg->md.pv_list = pve->pv_next;
		pool_put(&pmap_pv_pool, pve);
		if (ptp->wire_count == 1)
			pmap_ptp_release(pm, ptp);
		pmap_update_unlocking();
		pmap_unlock(pm);
	}
	__atomic_fetch_and(&pg->md.flags, ~(PTS_PGF_MAPPED | PTS_PGF_WRITEABLE), __ATOMIC_SEQ_CST);
	pv_unlock(pg);
}

/* every managed PTE of pg to old ∩ prot (r or rx) */
static void pmap_page_protect_ptes(struct vm_page *pg, uint32_t prot)
{
	struct pv_entry *pve;

	pv_lock(pg);
restart:
#ifdef MUTANT_PAGE_PROTECT_SKIPS_ONE
	for (pve = pg->md.pv_list; pve != NULL && pve->pv_next != NULL; pve = pve->pv_next) {
#else
	for (pve = pg->md.pv_list; pve != NULL; pve = pve->pv_next) {
#endif
		if (!pv_lock_pmap(pg, pve->pv_pmap))
			goto restart;
		(void)pmap_protect_pte(pve->pv_pmap, pve->pv_va, pv_pte(pve), prot);
		pmap_update_unlocking();
		pmap_unlock(pve->pv_pmap);
	}
	md_writeable_clear_if_none(pg);
	pv_unlock(pg);
}

void pmap_page_protect(struct vm_page *pg, uint32_t prot)
{
	KASSERT(vm_page_is_arena(pg));
	if (!(prot & PTS_PROT_READ))
		pmap_page_remove(pg);
	else if (!(prot & PTS_PROT_WRITE) || !(prot & PTS_PROT_EXEC))
		pmap_page_protect_ptes(pg, prot);
	pmap_update();
}

/*
 * Clear `attr` in pg's md.attrs and `bit` (PG_M or PG_U) in every managed PTE
 * of pg; true if one had it.  Called and returns with pg's pv lock held.  The
 * attrs are cleared again whenever the walk starts over: while pv_lock_pmap
 * had the pv lock dropped, a remove or enter may have harvested the bit of a
 * PTE the walk had not reached into md.attrs.
 */
static bool pmap_clear_bit(struct vm_page *pg, uint32_t attr, pt_entry_t bit)
{
	struct pv_entry *pve;
	bool found = false;

restart:
	found |= (__atomic_fetch_and(&pg->md.attrs, ~attr, __ATOMIC_SEQ_CST) & attr) != 0;
	for (pve = pg->md.pv_list; pve != NULL; pve = pve->pv_next) {
		struct pmap *pm = pve->pv_pmap;
		pt_entry_t *ptep, opte;

		if (!pv_lock_pmap(pg, pm))
			goto restart;
		ptep = pv_pte(pve);
		if (*ptep & bit) {
			opte = pmap_pte_clearbits(ptep, bit);
			found = true;
			pmap_tlb_shootdown(pm, pve->pv_va, opte);
			pmap_update_unlocking();
		}
		pmap_unlock(pm);
	}
	pmap_update();
	return found;
}

bool pmap_clear_modify(struct vm_page *pg)
{
	bool was;

	pv_lock(pg);
#ifdef MUTANT_CLEAR_MODIFY_ATTR_ONLY
	was = (__atomic_fetch_and(&pg->md.attrs, ~PTS_ATTR_MODIFIED, __ATOMIC_SEQ_CST) &
	       PTS_ATTR_MODIFIED) != 0;
#else
	was = pmap_clear_bit(pg, PTS_ATTR_MODIFIED, PG_M);
#endif
	md_writeable_clear_if_none(pg);
	pv_unlock(pg);
	return was;
}

bool pmap_clear_reference(struct vm_page *pg)
{
	bool was;

	pv_lock(pg);
	was = pmap_clear_bit(pg, PTS_ATTR_REFERENCED, PG_U);
	pv_unlock(pg);
	return was;
}

/* md.attrs, then the PTEs, each read with its pmap's lock held as every
 * page-level op does; a remover swaps a PTE out and harvests its A/D into
 * md.attrs under the pv lock held here, so no bit is in neither place */
static bool pmap_test_bit(struct vm_page *pg, uint32_t attr, pt_entry_t bit)
{
	struct pv_entry *pve;
	bool found = false;

	pv_lock(pg);
restart:
	found = (__atomic_load_n(&pg->md.attrs, __ATOMIC_SEQ_CST) & attr) != 0;
	for (pve = pg->md.pv_list; pve != NULL && !found; pve = pve->pv_next) {
		if (!pv_lock_pmap(pg, pve->pv_pmap))
			goto restart;
		found = (*pv_pte(pve) & bit) != 0;
		pmap_unlock(pve->pv_pmap);
	}
	pv_unlock(pg);
	return found;
}

bool pmap_is_modified(struct vm_page *pg)
{
	return pmap_test_bit(pg, PTS_ATTR_MODIFIED, PG_M);
}

bool pmap_is_referenced(struct vm_page *pg)
{
	return pmap_test_bit(pg, PTS_ATTR_REFERENCED, PG_U);
}

void pmap_zero_page(struct vm_page *pg)
{
	qwords_zero(VM_PAGE_TO_KVA(pg), PAGE_SIZE / 8);
}

void pmap_copy_page(struct vm_page *src, struct vm_page *dst)
{
	vm_page_copy(src, dst);
}
