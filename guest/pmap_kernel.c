/* guest/pmap_kernel.c - the kernel pmap: pmap_bootstrap builds its page
 * tables (direct map, kernel image, preallocated window PTPs) and switches to
 * them; pmap_kenter_pa/pmap_kremove manage unmanaged global 4K mappings.
 */
#include "pmap_impl.h"
#include "smp.h"
#include "tlb.h"

struct pmap kernel_pmap_store;
struct pool pmap_pv_pool;

/* pv pool marks: prime one page's worth, keep at most two idle pages */
#define PV_POOL_LOWAT 64u
#define PV_POOL_HIWAT 2u

/*
 * Boot only: the level-`level` table covering va, allocating any missing
 * table on the way down from the PML4.  Kernel intermediate entries are
 * PG_V | PG_RW, supervisor; kernel PTPs get the same bookkeeping as user
 * ones (hash, wire_count = 1 + valid entries) though they are never freed.
 */
static pt_entry_t *kboot_table(uint64_t va, int level)
{
	struct pmap *kpm = pmap_kernel();
	pt_entry_t *table = kpm->pm_pml4;

	for (int l = PTP_LEVELS; l > level; l--) {
		pt_entry_t *pde = &table[pl_i(va, l)];

		if (!(*pde & PG_V)) {
			uint64_t pa = vm_page_steal(PTS_PG_PTP);
			struct vm_page *ptp = PHYS_TO_VM_PAGE(pa);

			ptp->ptp_pmap = kpm;
			ptp->ptp_va = ptp_va_of(va, l - 1);
			ptp->ptp_level = (uint32_t)(l - 1);
			ptp->wire_count = 1;
			pmap_ptp_hash_insert(kpm, ptp);
			kpm->pm_ptp_count++;
			kpm->pm_resident_count++;
			*pde = pa | PG_V | PG_RW;
			if (l < PTP_LEVELS)
				PHYS_TO_VM_PAGE(DMAP_TO_PHYS(table))->wire_count++;
		}
		table = (pt_entry_t *)PHYS_TO_DMAP(*pde & PG_FRAME);
	}
	return table;
}

/*
 * Boot only: map [pa, end) at va with leaves of the given level (1: 4 KiB,
 * 2: 2 MiB), looking the table up once per table rather than once per leaf.
 */
static void kboot_map(uint64_t va, uint64_t pa, uint64_t end, int level, pt_entry_t bits)
{
	uint64_t size = ptp_span(level - 1);
	pt_entry_t *table = NULL;
	struct vm_page *ptp = NULL;

	for (; pa < end; pa += size, va += size) {
		unsigned i = pl_i(va, level);

		if (table == NULL || i == 0) {
			table = kboot_table(va, level);
			ptp = PHYS_TO_VM_PAGE(DMAP_TO_PHYS(table));
		}
		KASSERT(!(table[i] & PG_V));
		table[i] = pa | bits;
		ptp->wire_count++;
		pmap_kernel()->pm_resident_count++;
	}
}

/*
 * Build the kernel pmap and switch to it.  Until the lcr3 the boot tables of
 * guest/entry.S are live: they map the first 4 GiB at DMAP_BASE, which is
 * where the bump allocator's pages are written.  The new PML4 has no user
 * half: the identity map of the boot tables is gone after the switch.
 */
extern char _text_start[], _rodata_start[], _data_start[];

void pmap_bootstrap(void)
{
	struct pmap *kpm = pmap_kernel();
	uint64_t text_pa = KVTOPHYS(_text_start), rodata_pa = KVTOPHYS(_rodata_start);
	uint64_t data_pa = KVTOPHYS(_data_start);
	uint64_t pa;

	vm_page_bootstrap();

	pa = vm_page_steal(PTS_PG_PTP);
	kpm->pm_pml4 = (pt_entry_t *)PHYS_TO_DMAP(pa);
	kpm->pm_pml4_pa = pa;
	kpm->pm_pml4_pg = PHYS_TO_VM_PAGE(pa);
	kpm->pm_pml4_pg->ptp_pmap = kpm;
	kpm->pm_pml4_pg->ptp_level = PTP_LEVELS;
	kpm->pm_pml4_pg->wire_count = 1;
	kpm->pm_slot = PMAP_KERNEL_SLOT;
	kpm->pm_flags = PMF_INUSE;

	/* direct map: all RAM, 2 MiB pages, supervisor, no execute */
	kboot_map(DMAP_BASE, 0, vm_dmap_size, 2, PG_V | PG_RW | PG_PS | PG_G | PG_NX);
	/* kernel image, 4K pages, global, W^X by section (linker.ld aligns each
	 * to a page): the 32-bit entry and boot data (never run again) RW, text
	 * RX, rodata R, data and bss RW */
	kboot_map(KERNBASE + bootinfo.kernel_pa_start, bootinfo.kernel_pa_start, text_pa, 1,
	          PG_V | PG_RW | PG_G | PG_NX);
	kboot_map(KERNBASE + text_pa, text_pa, rodata_pa, 1, PG_V | PG_G);
	kboot_map(KERNBASE + rodata_pa, rodata_pa, data_pa, 1, PG_V | PG_G | PG_NX);
	kboot_map(KERNBASE + data_pa, data_pa, bootinfo.kernel_pa_end, 1,
	          PG_V | PG_RW | PG_G | PG_NX);
	/* the windows' PTs exist from now on, so mapping there never allocates */
	for (uint64_t va = KENTER_BASE; va < KENTER_BASE + KENTER_SIZE; va += NBPD)
		(void)kboot_table(va, 1);
	for (uint64_t va = PV_KVA_BASE; va < PV_KVA_BASE + PV_KVA_SIZE; va += NBPD)
		(void)kboot_table(va, 1);
	/* SMP: the local APIC's registers, uncached (PCD | PWT), for IPIs */
	if (smp_cpus_wanted() > 1) {
		kboot_map(LAPIC_KVA, smp_lapic_pa(), smp_lapic_pa() + PAGE_SIZE, 1,
		          PG_V | PG_RW | PG_G | PG_NX | PG_N | PG_WT);
		smp_steal_stacks();
	}
	/* no user half: the boot tables' identity map is gone after the switch */
	KASSERT(qwords_first_nonzero(kpm->pm_pml4, KERNEL_SLOT_FIRST) == KERNEL_SLOT_FIRST);

	pmap_activate(kpm);
	/* the boot tables' translations may linger as global entries */
	tlb_invalidate_all_global();

	vm_page_startup();
	pool_init(&pmap_pv_pool, "pvpl", sizeof(struct pv_entry), PV_KVA_BASE, PV_KVA_SIZE);
	/* pv_per_page=N (cmdline): small pool pages, so pool churn is cheap to reach */
	uint64_t ipp = cmdline_u64("pv_per_page", 0);
	if (ipp != 0)
		pool_set_itemsperpage(&pmap_pv_pool, ipp < 4096 ? (uint32_t)ipp : 4096);
	pool_sethiwat(&pmap_pv_pool, PV_POOL_HIWAT);
	pool_setlowat(&pmap_pv_pool, pmap_pv_pool.pr_itemsperpage < PV_POOL_LOWAT
	                                 ? pmap_pv_pool.pr_itemsperpage
	                                 : PV_POOL_LOWAT);
	/* pv_lowat=N (cmdline): a lower mark after the priming above (which maps
	 * the pv window, and sets its kernel PML4 entry's A bit, before any pmap
	 * copies it).  0 keeps no spare item: pool_get adds a page on demand, and
	 * a `fail alloc` can make that fail. */
	uint64_t lowat = cmdline_u64("pv_lowat", PV_POOL_LOWAT);
	if (lowat < pmap_pv_pool.pr_minitems)
		pool_setlowat(&pmap_pv_pool, (uint32_t)lowat);
	kprintf("pmap: %lu pages (%lu free), direct map %lu MiB, arena pg0-pg%lu at %#lx, "
	        "%u kernel PTPs\n",
	        vm_page_count, vm_page_free_count, vm_dmap_size >> 20, arena_npages - 1,
	        arena_first_pfn << PAGE_SHIFT, kpm->pm_ptp_count);
}

/* ---- unmanaged kernel mappings: global, no pv entry, not counted in md */

static pt_entry_t *kernel_pte(uint64_t va, struct vm_page **ptpp)
{
	pt_entry_t *ptep;

	KASSERT(va >= DMAP_BASE && (va & PAGE_MASK) == 0);
	ptep = pmap_find_pte(pmap_kernel(), va, ptpp);
	KASSERT(ptep != NULL); /* only the preallocated windows come here */
	return ptep;
}

/* a kernel (global) entry changed: the shootdown goes to cpus (every CPU up
 * but in the mutants), and the ledger says so first (SMP-6) */
static void kernel_invalidate(uint32_t cpus, uint64_t sva, uint64_t eva, uint32_t npages)
{
	if (smp_ncpus() > 1)
		tlb_ledger_shoot(PTS_TLB_SHOOT_KERNEL, cpus);
	pmap_invalidate_cpus(cpus, sva, eva, npages, true);
}

void pmap_kenter_pa(uint64_t va, uint64_t pa, uint32_t prot)
{
	struct vm_page *ptp;
	pt_entry_t *ptep = kernel_pte(va, &ptp);
	pt_entry_t npte = pa | PG_V | PG_G, opte;

	if (prot & PTS_PROT_WRITE)
		npte |= PG_RW;
	if (!(prot & PTS_PROT_EXEC))
		npte |= PG_NX;
	spin_lock(&pmap_kernel()->pm_lock);
	if ((*ptep & ~(PG_U | PG_M)) == npte) {
		spin_unlock(&pmap_kernel()->pm_lock);
		return; /* the same mapping: no store, nothing to invalidate */
	}
	opte = pmap_pte_swap(ptep, npte);
	if (opte & PG_V) {
		/* global entries are always assumed cached, on every CPU */
		kernel_invalidate(smp_cpus_up(), va, va + PAGE_SIZE, 1);
	} else {
		ptp->wire_count++;
		pm_count_add(&pmap_kernel()->pm_resident_count, 1);
	}
	spin_unlock(&pmap_kernel()->pm_lock);
}

void pmap_kremove(uint64_t va, uint64_t len)
{
	uint64_t sva = 0, eva = 0;
	uint32_t n = 0;

	KASSERT((len & PAGE_MASK) == 0);
	spin_lock(&pmap_kernel()->pm_lock);
	for (uint64_t end = va + len; va < end; va += PAGE_SIZE) {
		struct vm_page *ptp;
		pt_entry_t *ptep = kernel_pte(va, &ptp);

		if (!(*ptep & PG_V))
			continue;
		(void)pmap_pte_swap(ptep, 0);
		KASSERT(ptp->wire_count > 1);
		ptp->wire_count--;
		pm_count_add(&pmap_kernel()->pm_resident_count, -1);
		if (n++ == 0)
			sva = va;
		eva = va + PAGE_SIZE;
	}
#ifdef MUTANT_KREMOVE_INVALIDATES_FIRST_ONLY
	(void)eva;
	if (n > 0)
		kernel_invalidate(smp_cpus_up(), sva, sva + PAGE_SIZE, 1);
#elif defined(MUTANT_KREMOVE_LOCAL_ONLY)
	/* "kernel mappings are the caller's to use": only this CPU invalidates */
	if (n > 0)
		kernel_invalidate(curcpu()->pc_mask, sva, eva, n);
#else
	if (n > 0)
		kernel_invalidate(smp_cpus_up(), sva, eva, n);
#endif
	spin_unlock(&pmap_kernel()->pm_lock);
}
