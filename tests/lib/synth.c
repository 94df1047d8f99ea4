/* tests/lib/synth.c - the synthetic image: layout, boot (kernel pmap, direct
 * map, windows), page allocator, pv pool and TLB ledger.  The ops are in
 * synth_pmap.c.  Test-bed code: it trusts itself and checks little.
 */
#include "synth.h"

#include <stdlib.h>
#include <string.h>

#include "pte.h"
#include "synth_impl.h"

#define KERN_PA        0x100000ull
#define KERN_SIZE      0x40000ull
#define VMP_PA         0x148000ull
#define FIRST_FREE_PFN 0x160u
#define KERNBASE       0xffffffff80000000ull
#define DMAP_BASE      0xffff800000000000ull
#define KENTER_BASE    0xffffc00000000000ull
#define PV_KVA_BASE    0xffffc08000000000ull
#define WINDOW_SIZE    (2ull << 20)

uint64_t synth_r64(const struct synth *s, gpa_t pa)
{
	uint64_t v;
	memcpy(&v, s->mem + pa, 8);
	return v;
}

void synth_w64(struct synth *s, gpa_t pa, uint64_t v)
{
	memcpy(s->mem + pa, &v, 8);
}

uint32_t synth_r32(const struct synth *s, gpa_t pa)
{
	uint32_t v;
	memcpy(&v, s->mem + pa, 4);
	return v;
}

void synth_w32(struct synth *s, gpa_t pa, uint32_t v)
{
	memcpy(s->mem + pa, &v, 4);
}

uint64_t synth_kva(const struct synth *s, gpa_t pa)
{
	return pa + KERNBASE;
}

gpa_t synth_vmp_pa(const struct synth *s, uint64_t pfn)
{
	return VMP_PA + pfn * SYN_VMP_SIZE;
}

uint64_t syn_vmp_kva(uint64_t pfn)
{
	return DMAP_BASE + VMP_PA + pfn * SYN_VMP_SIZE;
}

gpa_t synth_arena_pa(uint64_t page)
{
	return (SYNTH_ARENA_FIRST_PFN + page) << 12;
}

gpa_t synth_pmap_pa(const struct synth *s, uint32_t slot)
{
	return s->pmaps_pa + (uint64_t)slot * SYN_PM_SIZE;
}

/* ---- pages */

gpa_t syn_page_alloc(struct synth *s, uint32_t usage)
{
	for (uint64_t pfn = FIRST_FREE_PFN; pfn < SYNTH_RAM >> 12; pfn++) {
		if (s->used[pfn])
			continue;
		s->used[pfn] = 1;
		memset(s->mem + (pfn << 12), 0, 4096);
		synth_w32(s, synth_vmp_pa(s, pfn) + SYN_VMP_USAGE, usage);
		return pfn << 12;
	}
	return 0;
}

void syn_page_free(struct synth *s, gpa_t pa)
{
	gpa_t v = synth_vmp_pa(s, pa >> 12);
	s->used[pa >> 12] = 0;
	memset(s->mem + v + SYN_VMP_USAGE, 0, SYN_VMP_SIZE - SYN_VMP_USAGE);
}

/* ---- TLB ledger */

void syn_tlb(struct synth *s, uint32_t kind, uint64_t va, uint64_t end)
{
	uint64_t head = synth_r64(s, s->ledger_pa + 8);
	gpa_t r = s->ledger_pa + offsetof(struct pts_tlb_ledger, rec) +
	          (head % PTS_TLB_RECORDS) * sizeof(struct pts_tlb_record);
	synth_w64(s, r + 0, head);
	synth_w32(s, r + 8, kind);
	synth_w32(s, r + 12, s->cpu);
	synth_w64(s, r + 16, s->cr3);
	synth_w64(s, r + 24, va);
	synth_w64(s, r + 32, end);
	synth_w64(s, s->ledger_pa + 8, head + 1);
}

/* ---- kernel page tables */

/* the table below entry va at level in the tree rooted at root; allocates
 * (as a kernel PTP) when alloc is set */
static gpa_t kernel_table(struct synth *s, gpa_t root, uint64_t va, unsigned level)
{
	gpa_t t = root;
	for (unsigned l = 4; l > level; l--) {
		gpa_t e = t + 8ull * level_index(va, l);
		uint64_t pte = synth_r64(s, e);
		if (!(pte & PG_V)) {
			gpa_t n = syn_page_alloc(s, PTS_PG_PTP);
			synth_w64(s, synth_vmp_pa(s, n >> 12) + SYN_VMP_PTPPMAP,
			          synth_kva(s, synth_pmap_pa(s, SYNTH_KERNEL_SLOT)));
			synth_w32(s, synth_vmp_pa(s, n >> 12) + SYN_VMP_PTPLEVEL, l - 1);
			synth_w64(s, synth_vmp_pa(s, n >> 12) + SYN_VMP_PTPVA,
			          canonical(va & ~(level_span(l) - 1)));
			pte = n | PG_V | PG_RW;
			synth_w64(s, e, pte);
		}
		t = pte & PG_FRAME;
	}
	return t;
}

static void boot_kernel_pmap(struct synth *s)
{
	gpa_t root = syn_page_alloc(s, PTS_PG_PTP);
	gpa_t kp = synth_pmap_pa(s, SYNTH_KERNEL_SLOT);
	synth_w64(s, kp + SYN_PM_PML4, root);
	synth_w32(s, synth_vmp_pa(s, root >> 12) + SYN_VMP_PTPLEVEL, 4);
	synth_w64(s, synth_vmp_pa(s, root >> 12) + SYN_VMP_PTPPMAP, synth_kva(s, kp));
	/* direct map: 2 MiB leaves */
	gpa_t pd = kernel_table(s, root, DMAP_BASE, 2);
	for (uint64_t pa = 0; pa < SYNTH_RAM; pa += 2ull << 20)
		synth_w64(s, pd + 8 * level_index(DMAP_BASE + pa, 2),
		          pa | PG_V | PG_RW | PG_PS | PG_G | PG_NX);
	/* kernel image: 4 KiB leaves */
	for (uint64_t pa = KERN_PA; pa < KERN_PA + KERN_SIZE; pa += 4096) {
		gpa_t pt = kernel_table(s, root, KERNBASE + pa, 1);
		synth_w64(s, pt + 8 * level_index(KERNBASE + pa, 1), pa | PG_V | PG_RW | PG_G);
	}
	s->kenter_pt = kernel_table(s, root, KENTER_BASE, 1);
	s->pv_pt = kernel_table(s, root, PV_KVA_BASE, 1);
	s->cr3 = root;
}

/* the lock words, between struct pts_smp and the ledger */
#define PV_LOCKS_PA (KERN_PA + 0x7400)
#define LOCKS_PA    (KERN_PA + 0x7600)

gpa_t synth_pv_lock_pa(uint32_t i)
{
	return PV_LOCKS_PA + (uint64_t)i * SYN_PV_LOCK_STRIDE;
}

gpa_t synth_lock_pa(enum pts_lock which)
{
	return LOCKS_PA + 8ull * which;
}

static void boot_locks(struct synth *s, struct pts_descriptor *d)
{
	d->lock_word_size = 4;
	d->lock_free = 0;
	d->lock_owner_base = 1;
	d->off_pm_lock = SYN_PM_LOCK;
	d->pv_locks = synth_kva(s, PV_LOCKS_PA);
	d->pv_lock_count = SYN_PV_LOCKS;
	d->pv_lock_stride = SYN_PV_LOCK_STRIDE;
	for (unsigned i = 0; i < PTS_LOCK_KINDS; i++)
		d->locks[i] = synth_kva(s, synth_lock_pa((enum pts_lock)i));
}

static void boot_descriptor(struct synth *s)
{
	struct pts_descriptor *d = &s->desc;
	*d = (struct pts_descriptor){.magic = PTS_DESC_MAGIC,
	                             .abi_version = PTS_ABI_VERSION,
	                             .size = sizeof *d,
	                             .page_size = 4096,
	                             .user_max = PTS_USER_MAX,
	                             .dmap_base = DMAP_BASE,
	                             .dmap_size = SYNTH_RAM,
	                             .kernbase = KERNBASE,
	                             .kern_pa = KERN_PA,
	                             .kern_size = KERN_SIZE,
	                             .kenter_base = KENTER_BASE,
	                             .kenter_size = WINDOW_SIZE,
	                             .pv_kva_base = PV_KVA_BASE,
	                             .pv_kva_size = WINDOW_SIZE,
	                             .kernel_slot_first = 256,
	                             .kernel_slot_last = 511,
	                             .pte_wired_bit = PTS_PTE_WIRED,
	                             .pte_managed_bit = PTS_PTE_MANAGED,
	                             .ptp_refcount_rule = PTS_PTP_REF_ONE_PLUS_VALID,
	                             .resident_rule = PTS_RESIDENT_LEAVES_PLUS_PTPS,
	                             .vm_page_array = DMAP_BASE + VMP_PA,
	                             .vm_page_count = SYNTH_RAM >> 12,
	                             .vm_page_first_pfn = 0,
	                             .vm_page_size = SYN_VMP_SIZE,
	                             .off_vmp_phys_addr = SYN_VMP_PHYS,
	                             .off_vmp_usage = SYN_VMP_USAGE,
	                             .off_vmp_pv_list = SYN_VMP_PVLIST,
	                             .off_vmp_attrs = SYN_VMP_ATTRS,
	                             .off_vmp_flags = SYN_VMP_FLAGS,
	                             .off_vmp_pmap_count = SYN_VMP_PMAPCOUNT,
	                             .off_vmp_writeable_count = SYN_VMP_WCOUNT,
	                             .off_vmp_wire_count = SYN_VMP_WIRE,
	                             .off_vmp_ptp_pmap = SYN_VMP_PTPPMAP,
	                             .off_vmp_ptp_va = SYN_VMP_PTPVA,
	                             .off_vmp_ptp_level = SYN_VMP_PTPLEVEL,
	                             .off_vmp_ptp_hnext = SYN_VMP_HNEXT,
	                             .arena_first_pfn = SYNTH_ARENA_FIRST_PFN,
	                             .arena_npages = SYNTH_ARENA_PAGES,
	                             .pv_entry_size = SYN_PVE_SIZE,
	                             .off_pve_pmap = SYN_PVE_PMAP,
	                             .off_pve_va = SYN_PVE_VA,
	                             .off_pve_next = SYN_PVE_NEXT,
	                             .off_pve_ptp = SYN_PVE_PTP,
	                             .pv_pool = synth_kva(s, s->pool_pa),
	                             .off_pr_partpages = SYN_PR_PART,
	                             .off_pr_fullpages = SYN_PR_FULL,
	                             .off_pr_emptypages = SYN_PR_EMPTY,
	                             .off_pr_itemsperpage = SYN_PR_IPP,
	                             .off_pr_nitems = SYN_PR_NITEMS,
	                             .off_pr_nout = SYN_PR_NOUT,
	                             .off_pr_npages = SYN_PR_NPAGES,
	                             .off_pr_nidle = SYN_PR_NIDLE,
	                             .off_pr_minitems = SYN_PR_MINITEMS,
	                             .off_pr_maxpages = SYN_PR_MAXPAGES,
	                             .off_ph_next = SYN_PH_NEXT,
	                             .off_ph_freelist = SYN_PH_FREELIST,
	                             .off_ph_nmissing = SYN_PH_NMISSING,
	                             .off_ph_page = SYN_PH_PAGE,
	                             .pool_item_offset = SYN_ITEM_OFFSET,
	                             .off_item_next = 0,
	                             .kernel_pmap =
	                                 synth_kva(s, synth_pmap_pa(s, SYNTH_KERNEL_SLOT)),
	                             .pmap_list = synth_kva(s, s->pmap_list_pa),
	                             .curpmap = synth_kva(s, s->curpmap_pa),
	                             .pmap_size = SYN_PM_SIZE,
	                             .off_pm_next = SYN_PM_NEXT,
	                             .off_pm_pml4_pa = SYN_PM_PML4,
	                             .off_pm_resident_count = SYN_PM_RESIDENT,
	                             .off_pm_wired_count = SYN_PM_WIRED,
	                             .off_pm_slot = SYN_PM_SLOT,
	                             .off_pm_ptp_hash = SYN_PM_HASH,
	                             .ptp_hash_size = SYNTH_HASH_SIZE,
	                             .off_pm_ptp_count = SYN_PM_PTPCOUNT,
	                             .off_pm_active = SYN_PM_ACTIVE,
	                             .smp = s->smp_pa ? synth_kva(s, s->smp_pa) : 0,
	                             .tlb_ledger = synth_kva(s, s->ledger_pa),
	                             .ring_pa = s->ring_pa,
	                             .ptp_hash_rule = PTS_PTP_HASH_VA_LEVEL,
	                             .pool_size = SYN_PR_SIZE,
	                             .pool_header_size = SYN_PH_SIZE};
	boot_locks(s, d);
	memcpy(s->mem + s->desc_pa, d, sizeof *d);
}

struct synth *synth_new(void)
{
	return synth_new_cpus(1);
}

struct synth *synth_new_cpus(uint32_t ncpus)
{
	struct synth *s = calloc(1, sizeof *s);
	if (s == NULL || (s->mem = calloc(1, SYNTH_RAM)) == NULL) {
		free(s);
		return NULL;
	}
	s->gmem = (struct gmem){.base = s->mem, .size = SYNTH_RAM};
	s->desc_pa = KERN_PA;
	s->pool_pa = KERN_PA + 0x800;
	s->pmap_list_pa = KERN_PA + 0x900;
	s->curpmap_pa = KERN_PA + 0x908;
	s->pmaps_pa = KERN_PA + 0x1000;
	s->ledger_pa = KERN_PA + 0x8000;
	s->ring_pa = 0x140000;
	s->active = -1;
	for (uint64_t pfn = 0; pfn < SYNTH_RAM >> 12; pfn++) {
		synth_w64(s, synth_vmp_pa(s, pfn) + SYN_VMP_PHYS, pfn << 12);
		uint32_t usage =
		    pfn >= SYNTH_ARENA_FIRST_PFN && pfn < SYNTH_ARENA_FIRST_PFN + SYNTH_ARENA_PAGES
		        ? PTS_PG_ARENA
		    : pfn < FIRST_FREE_PFN ? PTS_PG_KERNEL
		                           : PTS_PG_FREE;
		synth_w32(s, synth_vmp_pa(s, pfn) + SYN_VMP_USAGE, usage);
		s->used[pfn] = usage != PTS_PG_FREE;
	}
	synth_w32(s, s->ledger_pa, PTS_TLB_MAGIC);
	synth_w32(s, s->ledger_pa + 4, PTS_TLB_RECORDS);
	synth_w32(s, s->ring_pa, PTS_RING_MAGIC);
	synth_w32(s, s->ring_pa + 4, PTS_RING_SLOTS);
	synth_w32(s, s->pool_pa + SYN_PR_IPP, (4096 - SYN_ITEM_OFFSET) / SYN_PVE_SIZE);
	synth_w32(s, s->pool_pa + SYN_PR_MAXPAGES, 2);
	synth_w64(s, synth_pmap_pa(s, SYNTH_KERNEL_SLOT) + SYN_PM_SLOT, SYNTH_KERNEL_SLOT);
	boot_kernel_pmap(s);
	synth_w64(s, s->curpmap_pa, synth_kva(s, synth_pmap_pa(s, SYNTH_KERNEL_SLOT)));
	syn_smp_boot(s, ncpus, ncpus > 1 ? KERN_PA + 0x7000 : 0); /* below the ledger */
	boot_descriptor(s);
	return s;
}

static bool logged_dirty(void *ctx, gpa_t gpa)
{
	const struct synth *s = ctx;
	gpa &= ~(uint64_t)4095;
	return gpa >= SYNTH_RAM || memcmp(s->mem + gpa, s->logged + gpa, 4096) != 0;
}

int synth_track_dirty(struct synth *s)
{
	if (s->logged == NULL && (s->logged = malloc(SYNTH_RAM)) == NULL)
		return -1;
	memcpy(s->logged, s->mem, SYNTH_RAM);
	s->gmem.page_dirty = logged_dirty;
	s->gmem.dirty_ctx = s;
	return 0;
}

int synth_publish_dirty(struct synth *s)
{
	if (s->logged == NULL)
		return -1;
	s->ndirty_pfns = 0;
	for (uint64_t pfn = 0; pfn < SYNTH_RAM >> 12; pfn++)
		if (logged_dirty(s, pfn << 12))
			s->dirty_pfns[s->ndirty_pfns++] = pfn;
	s->gmem.dirty_pfns = s->dirty_pfns;
	s->gmem.ndirty_pfns = s->ndirty_pfns;
	return 0;
}

void synth_dirty_reset(struct synth *s)
{
	if (s->logged != NULL)
		memcpy(s->logged, s->mem, SYNTH_RAM);
}

void synth_w64_unlogged(struct synth *s, gpa_t pa, uint64_t v)
{
	synth_w64(s, pa, v);
	if (s->logged != NULL)
		memcpy(s->logged + pa, &v, 8);
}

void synth_free(struct synth *s)
{
	if (s == NULL)
		return;
	free(s->logged);
	free(s->mem);
	free(s);
}
