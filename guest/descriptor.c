/* guest/descriptor.c - the introspection descriptor: where the pmap's
 * structures are and how they are laid out, registered with the host so the
 * monitor reads the pmap through it alone (include/ptshadow/abi.h).
 */
#include "ops.h"
#include "pmap.h"
#include "smp.h"
#include "tlb.h"

static struct pts_descriptor pts_descriptor __aligned(64);

#define OFF(type, field) ((uint32_t)offsetof(struct type, field))

/* every lock a pmap op takes (ABI 5): at a stop the host finds each free */
static void descriptor_fill_locks(struct pts_descriptor *d)
{
	_Static_assert(sizeof(((struct spinlock *)0)->owner) == 4, "a lock word is a u32");
	d->lock_word_size = sizeof(uint32_t);
	d->lock_free = LOCK_FREE;
	d->lock_owner_base = 1; /* owner = 1 + cpuid (guest/lock.h) */
	d->off_pm_lock = OFF(pmap, pm_lock.owner);
	pmap_pv_locks_describe(&d->pv_locks, &d->pv_lock_count, &d->pv_lock_stride);
	d->locks[PTS_LOCK_SHOOTDOWN] = (uint64_t)&smp_ipi_lock.owner;
	d->locks[PTS_LOCK_POOL] = (uint64_t)&pmap_pv_pool.pr_lock.owner;
	d->locks[PTS_LOCK_VM_PAGE] = (uint64_t)&vm_page_lock.owner;
	d->locks[PTS_LOCK_PMAP_LIST] = (uint64_t)&pmap_list_lock.owner;
	d->locks[PTS_LOCK_LEDGER] = (uint64_t)&tlb_ledger_lock.owner;
}

static void descriptor_fill(struct pts_descriptor *d)
{
	memset(d, 0, sizeof(*d));
	d->magic = PTS_DESC_MAGIC;
	d->abi_version = PTS_ABI_VERSION;
	d->size = sizeof(*d);
	d->page_size = PAGE_SIZE;

	d->user_max = PTS_USER_MAX;
	d->dmap_base = DMAP_BASE;
	d->dmap_size = vm_dmap_size;
	d->kernbase = KERNBASE;
	d->kern_pa = bootinfo.kernel_pa_start;
	d->kern_size = bootinfo.kernel_pa_end - bootinfo.kernel_pa_start;
	d->kenter_base = KENTER_BASE;
	d->kenter_size = KENTER_SIZE;
	d->pv_kva_base = PV_KVA_BASE;
	d->pv_kva_size = PV_KVA_SIZE;
	d->kernel_slot_first = KERNEL_SLOT_FIRST;
	d->kernel_slot_last = KERNEL_SLOT_LAST;
	d->pte_wired_bit = PTS_PTE_WIRED;
	d->pte_managed_bit = PTS_PTE_MANAGED;
	d->ptp_refcount_rule = PTS_PTP_REF_ONE_PLUS_VALID;
	d->resident_rule = PTS_RESIDENT_LEAVES_PLUS_PTPS;

	d->vm_page_array = (uint64_t)vm_page_array;
	d->vm_page_count = vm_page_count;
	d->vm_page_first_pfn = 0;
	d->vm_page_size = sizeof(struct vm_page);
	d->off_vmp_phys_addr = OFF(vm_page, phys_addr);
	d->off_vmp_usage = OFF(vm_page, usage);
	d->off_vmp_pv_list = OFF(vm_page, md.pv_list);
	d->off_vmp_attrs = OFF(vm_page, md.attrs);
	d->off_vmp_flags = OFF(vm_page, md.flags);
	d->off_vmp_pmap_count = OFF(vm_page, md.pmap_count);
	d->off_vmp_writeable_count = OFF(vm_page, md.writeable_count);
	d->off_vmp_wire_count = OFF(vm_page, wire_count);
	d->off_vmp_ptp_pmap = OFF(vm_page, ptp_pmap);
	d->off_vmp_ptp_va = OFF(vm_page, ptp_va);
	d->off_vmp_ptp_level = OFF(vm_page, ptp_level);
	d->off_vmp_ptp_hnext = OFF(vm_page, ptp_hnext);

	d->arena_first_pfn = arena_first_pfn;
	d->arena_npages = arena_npages;

	d->pv_entry_size = sizeof(struct pv_entry);
	d->off_pve_pmap = OFF(pv_entry, pv_pmap);
	d->off_pve_va = OFF(pv_entry, pv_va);
	d->off_pve_next = OFF(pv_entry, pv_next);
	d->off_pve_ptp = OFF(pv_entry, pv_ptp);

	d->pv_pool = (uint64_t)&pmap_pv_pool;
	d->off_pr_partpages = OFF(pool, pr_partpages);
	d->off_pr_fullpages = OFF(pool, pr_fullpages);
	d->off_pr_emptypages = OFF(pool, pr_emptypages);
	d->off_pr_itemsperpage = OFF(pool, pr_itemsperpage);
	d->off_pr_nitems = OFF(pool, pr_nitems);
	d->off_pr_nout = OFF(pool, pr_nout);
	d->off_pr_npages = OFF(pool, pr_npages);
	d->off_pr_nidle = OFF(pool, pr_nidle);
	d->off_pr_minitems = OFF(pool, pr_minitems);
	d->off_pr_maxpages = OFF(pool, pr_maxpages);
	d->off_ph_next = OFF(pool_item_header, ph_next);
	d->off_ph_freelist = OFF(pool_item_header, ph_freelist);
	d->off_ph_nmissing = OFF(pool_item_header, ph_nmissing);
	d->off_ph_page = OFF(pool_item_header, ph_page);
	d->pool_item_offset = POOL_ITEM_OFFSET;
	d->off_item_next = OFF(pool_item, pi_next);

	d->kernel_pmap = (uint64_t)pmap_kernel();
	d->pmap_list = (uint64_t)&pmap_list;
	d->curpmap = (uint64_t)&smp_info.cpu[0].curpmap; /* CPU 0's: the ring's ops run there */
	d->pmap_size = sizeof(struct pmap);
	d->off_pm_next = OFF(pmap, pm_next);
	d->off_pm_pml4_pa = OFF(pmap, pm_pml4_pa);
	d->off_pm_resident_count = OFF(pmap, pm_resident_count);
	d->off_pm_wired_count = OFF(pmap, pm_wired_count);
	d->off_pm_slot = OFF(pmap, pm_slot);
	d->off_pm_ptp_hash = OFF(pmap, pm_ptp_hash);
	d->ptp_hash_size = PMAP_PTP_HASH_SIZE;
	d->off_pm_ptp_count = OFF(pmap, pm_ptp_count);
	d->off_pm_active = OFF(pmap, pm_active);
	d->smp = (uint64_t)&smp_info;

	descriptor_fill_locks(d);
	d->tlb_ledger = (uint64_t)&tlb_ledger;
	d->ring_pa = KVTOPHYS(&ops_ring);
	d->cov_pa = cov_register();
}

void descriptor_register(void)
{
	ops_ring.magic = PTS_RING_MAGIC;
	ops_ring.nslots = PTS_RING_SLOTS;
	descriptor_fill(&pts_descriptor);
	if (bootinfo.under_ptshadow)
		hc_register(&pts_descriptor);
}
