/* monitor/desc.c - descriptor validation and the kernel-VA view.  The
 * descriptor is guest input like any other: every offset, width, address and
 * range is checked before the monitor relies on it.
 */
#include "desc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "errf.h"
#include "pte.h"

int desc_load(const struct gmem *mem, gpa_t desc_gpa, struct pts_descriptor *d, char *err,
              size_t errlen)
{
	int rc = gmem_read_aligned(mem, desc_gpa, d, sizeof *d, 8);
	if (rc != 0)
		return errf(err, errlen, "descriptor", 0, "cannot read %zu bytes at gpa 0x%llx: %s",
		            sizeof *d, (unsigned long long)desc_gpa, gmem_strerror(rc));
	return desc_validate(d, mem, err, errlen);
}

/* ---- field offsets: every off_* + width inside the structure it names */

enum desc_struct { S_VMP, S_PVE, S_POOL, S_PH, S_ITEM, S_PMAP };

#define OFF(field, width, s)                                                                       \
	{                                                                                          \
#field, offsetof(struct pts_descriptor, field), width, s                           \
	}
static const struct desc_off {
	const char *name;
	size_t where;
	unsigned width;
	enum desc_struct in;
} desc_offs[] = {
    OFF(off_vmp_phys_addr, 8, S_VMP),
    OFF(off_vmp_usage, 4, S_VMP),
    OFF(off_vmp_pv_list, 8, S_VMP),
    OFF(off_vmp_attrs, 4, S_VMP),
    OFF(off_vmp_flags, 4, S_VMP),
    OFF(off_vmp_pmap_count, 4, S_VMP),
    OFF(off_vmp_writeable_count, 4, S_VMP),
    OFF(off_vmp_wire_count, 4, S_VMP),
    OFF(off_vmp_ptp_pmap, 8, S_VMP),
    OFF(off_vmp_ptp_va, 8, S_VMP),
    OFF(off_vmp_ptp_level, 4, S_VMP),
    OFF(off_vmp_ptp_hnext, 8, S_VMP),
    OFF(off_pve_pmap, 8, S_PVE),
    OFF(off_pve_va, 8, S_PVE),
    OFF(off_pve_next, 8, S_PVE),
    OFF(off_pve_ptp, 8, S_PVE),
    OFF(off_pr_partpages, 8, S_POOL),
    OFF(off_pr_fullpages, 8, S_POOL),
    OFF(off_pr_emptypages, 8, S_POOL),
    OFF(off_pr_itemsperpage, 4, S_POOL),
    OFF(off_pr_nitems, 4, S_POOL),
    OFF(off_pr_nout, 4, S_POOL),
    OFF(off_pr_npages, 4, S_POOL),
    OFF(off_pr_nidle, 4, S_POOL),
    OFF(off_pr_minitems, 4, S_POOL),
    OFF(off_pr_maxpages, 4, S_POOL),
    OFF(off_ph_next, 8, S_PH),
    OFF(off_ph_freelist, 8, S_PH),
    OFF(off_ph_nmissing, 4, S_PH),
    OFF(off_ph_page, 8, S_PH),
    OFF(off_item_next, 8, S_ITEM),
    OFF(off_pm_next, 8, S_PMAP),
    OFF(off_pm_pml4_pa, 8, S_PMAP),
    OFF(off_pm_resident_count, 8, S_PMAP),
    OFF(off_pm_wired_count, 8, S_PMAP),
    OFF(off_pm_slot, 4, S_PMAP),
    OFF(off_pm_ptp_hash, 8, S_PMAP),
    OFF(off_pm_ptp_count, 4, S_PMAP),
    OFF(off_pm_active, 4, S_PMAP),
    OFF(off_pm_lock, 4, S_PMAP),
};

static uint32_t field32(const struct pts_descriptor *d, size_t where)
{
	uint32_t v;
	memcpy(&v, (const uint8_t *)d + where, sizeof v);
	return v;
}

static uint64_t struct_size(const struct pts_descriptor *d, enum desc_struct s, const char **name)
{
	static const char *const names[] = {"vm_page_size",     "pv_entry_size", "pool_size",
	                                    "pool_header_size", "pv_entry_size", "pmap_size"};
	*name = names[s];
	switch (s) {
	case S_VMP:
		return d->vm_page_size;
	case S_PVE:
	case S_ITEM:
		return d->pv_entry_size;
	case S_POOL:
		return d->pool_size ? d->pool_size : PTS_PAGE_SIZE;
	case S_PH:
		return d->pool_header_size ? d->pool_header_size : PTS_PAGE_SIZE;
	case S_PMAP:
		return d->pmap_size;
	}
	return 0;
}

static int check_offsets(const struct pts_descriptor *d, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof desc_offs / sizeof desc_offs[0]; i++) {
		const struct desc_off *o = &desc_offs[i];
		const char *sname;
		uint64_t size = struct_size(d, o->in, &sname);
		uint64_t off = field32(d, o->where);
		if (off + o->width > size)
			return errf(err, errlen, "descriptor", 0, "%s %llu + %u exceeds %s %llu",
			            o->name, (unsigned long long)off, o->width, sname,
			            (unsigned long long)size);
		if (off % o->width != 0)
			return errf(err, errlen, "descriptor", 0, "%s %llu not aligned to %u",
			            o->name, (unsigned long long)off, o->width);
	}
	uint64_t hash_end = (uint64_t)d->off_pm_ptp_hash + 8ull * d->ptp_hash_size;
	if (d->ptp_hash_size == 0 || d->ptp_hash_size > 4096 || hash_end > d->pmap_size)
		return errf(err, errlen, "descriptor", 0,
		            "ptp_hash_size %u (hash at %u) does not fit pmap_size %u",
		            d->ptp_hash_size, d->off_pm_ptp_hash, d->pmap_size);
	return 0;
}

/* ---- sizes and layout */

static int check_sizes(const struct pts_descriptor *d, char *err, size_t errlen)
{
	if (d->vm_page_size < 8 || d->vm_page_size > DESC_VM_PAGE_SIZE_MAX)
		return errf(err, errlen, "descriptor", 0, "vm_page_size %u out of range [8, %u]",
		            d->vm_page_size, DESC_VM_PAGE_SIZE_MAX);
	if (d->pv_entry_size < DESC_PV_ENTRY_SIZE_MIN || d->pv_entry_size > PTS_PAGE_SIZE / 2)
		return errf(err, errlen, "descriptor", 0,
		            "pv_entry_size %u out of range [%u, 2048]", d->pv_entry_size,
		            DESC_PV_ENTRY_SIZE_MIN);
	if (d->pmap_size < 8 || d->pmap_size > PTS_PAGE_SIZE)
		return errf(err, errlen, "descriptor", 0, "pmap_size %u out of range [8, 4096]",
		            d->pmap_size);
	if (d->pool_size > PTS_PAGE_SIZE || d->pool_header_size > PTS_PAGE_SIZE)
		return errf(err, errlen, "descriptor", 0,
		            "pool_size %u / pool_header_size %u larger than a page", d->pool_size,
		            d->pool_header_size);
	if (d->pool_item_offset >= PTS_PAGE_SIZE ||
	    d->pool_item_offset + d->pv_entry_size > PTS_PAGE_SIZE)
		return errf(err, errlen, "descriptor", 0,
		            "pool_item_offset %u leaves no room for a pv entry",
		            d->pool_item_offset);
	return 0;
}

static bool single_avl_bit(uint64_t bit)
{
	const uint64_t avl = 0xe00ull | PG_HIGH_AVL;
	return bit != 0 && (bit & (bit - 1)) == 0 && (bit & avl) == bit;
}

static int check_rules(const struct pts_descriptor *d, char *err, size_t errlen)
{
	if (!single_avl_bit(d->pte_wired_bit) || !single_avl_bit(d->pte_managed_bit) ||
	    d->pte_wired_bit == d->pte_managed_bit)
		return errf(err, errlen, "descriptor", 0,
		            "pte_wired_bit 0x%llx / pte_managed_bit 0x%llx must be distinct single "
		            "software bits (9-11, 52-62)",
		            (unsigned long long)d->pte_wired_bit,
		            (unsigned long long)d->pte_managed_bit);
	if (d->ptp_refcount_rule != PTS_PTP_REF_ONE_PLUS_VALID)
		return errf(err, errlen, "descriptor", 0, "unknown ptp_refcount_rule %u",
		            d->ptp_refcount_rule);
	if (d->resident_rule != PTS_RESIDENT_LEAVES &&
	    d->resident_rule != PTS_RESIDENT_LEAVES_PLUS_PTPS)
		return errf(err, errlen, "descriptor", 0, "unknown resident_rule %u",
		            d->resident_rule);
	if (d->ptp_hash_rule != PTS_PTP_HASH_ANY && d->ptp_hash_rule != PTS_PTP_HASH_VA_LEVEL)
		return errf(err, errlen, "descriptor", 0, "unknown ptp_hash_rule %u",
		            d->ptp_hash_rule);
	return 0;
}

/* a kernel VA: canonical and at or above user_max */
static int check_kva(const struct pts_descriptor *d, const char *name, uint64_t kva, char *err,
                     size_t errlen)
{
	if (!is_canonical(kva) || kva < d->user_max)
		return errf(err, errlen, "descriptor", 0,
		            "%s 0x%llx is not a canonical kernel address", name,
		            (unsigned long long)kva);
	return 0;
}

/* a window [base, base + size): page aligned, no wrap, canonical end */
static int check_window(const struct pts_descriptor *d, const char *name, uint64_t base,
                        uint64_t size, char *err, size_t errlen)
{
	if (check_kva(d, name, base, err, errlen) != 0)
		return -1;
	if (size == 0 || (base | size) % PTS_PAGE_SIZE != 0 || base + size - 1 < base ||
	    !is_canonical(base + size - 1))
		return errf(err, errlen, "descriptor", 0,
		            "%s [0x%llx, +0x%llx) is not a page-aligned canonical range", name,
		            (unsigned long long)base, (unsigned long long)size);
	return 0;
}

/* by last bytes: a window may end at the top of the address space (alen, blen > 0) */
static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a <= b + (blen - 1) && b <= a + (alen - 1);
}

static int check_layout(const struct pts_descriptor *d, const struct gmem *mem, char *err,
                        size_t errlen)
{
	if (d->user_max == 0 || d->user_max > PTS_USER_MAX || d->user_max % PTS_PAGE_SIZE)
		return errf(err, errlen, "descriptor", 0, "user_max 0x%llx out of range",
		            (unsigned long long)d->user_max);
	if (d->kernel_slot_first < level_index(d->user_max - 1, 4) + 1 ||
	    d->kernel_slot_first > d->kernel_slot_last || d->kernel_slot_last > 511)
		return errf(err, errlen, "descriptor", 0, "kernel slots %u..%u out of range",
		            d->kernel_slot_first, d->kernel_slot_last);
	if (check_window(d, "dmap", d->dmap_base, d->dmap_size, err, errlen) ||
	    check_window(d, "kenter window", d->kenter_base, d->kenter_size, err, errlen) ||
	    check_window(d, "pv KVA window", d->pv_kva_base, d->pv_kva_size, err, errlen))
		return -1;
	if (d->kenter_size >
	    DESC_KENTER_SIZE_MAX) /* the model keeps, and checks, every page of it */
		return errf(err, errlen, "descriptor", 0,
		            "kenter_size 0x%llx larger than the ABI's kenter window (%u pages)",
		            (unsigned long long)d->kenter_size, PTS_KENTER_PAGES);
	if (d->kern_size == 0 || d->kern_pa % PTS_PAGE_SIZE ||
	    !gmem_contains(mem, d->kern_pa, d->kern_size))
		return errf(err, errlen, "descriptor", 0,
		            "kernel image [0x%llx, +0x%llx) not inside guest RAM",
		            (unsigned long long)d->kern_pa, (unsigned long long)d->kern_size);
	if (check_window(d, "kernel image", d->kernbase + d->kern_pa,
	                 (d->kern_size + PTS_PAGE_SIZE - 1) & ~(uint64_t)(PTS_PAGE_SIZE - 1), err,
	                 errlen))
		return -1;
	if (d->dmap_size > mem->size)
		return errf(err, errlen, "descriptor", 0,
		            "dmap_size 0x%llx larger than guest RAM 0x%llx",
		            (unsigned long long)d->dmap_size, (unsigned long long)mem->size);
	if (overlap(d->dmap_base, d->dmap_size, d->kenter_base, d->kenter_size) ||
	    overlap(d->dmap_base, d->dmap_size, d->pv_kva_base, d->pv_kva_size) ||
	    overlap(d->kenter_base, d->kenter_size, d->pv_kva_base, d->pv_kva_size))
		return errf(err, errlen, "descriptor", 0,
		            "dmap, kenter and pv KVA windows overlap");
	return 0;
}

static int check_arrays(const struct pts_descriptor *d, const struct gmem *mem, char *err,
                        size_t errlen)
{
	uint64_t ram_pages = mem->size / PTS_PAGE_SIZE;
	if (d->vm_page_count == 0 || d->vm_page_first_pfn > ram_pages ||
	    d->vm_page_count > ram_pages - d->vm_page_first_pfn)
		return errf(err, errlen, "descriptor", 0,
		            "vm_page array pfn %llu + %llu outside guest RAM (%llu pages)",
		            (unsigned long long)d->vm_page_first_pfn,
		            (unsigned long long)d->vm_page_count, (unsigned long long)ram_pages);
	if (check_window(d, "vm_page_array", d->vm_page_array & ~(uint64_t)(PTS_PAGE_SIZE - 1),
	                 (d->vm_page_count * d->vm_page_size + PTS_PAGE_SIZE * 2 - 1) &
	                     ~(uint64_t)(PTS_PAGE_SIZE - 1),
	                 err, errlen))
		return -1;
	if (d->arena_npages == 0 || d->arena_first_pfn < d->vm_page_first_pfn ||
	    d->arena_npages > d->vm_page_count ||
	    d->arena_first_pfn - d->vm_page_first_pfn > d->vm_page_count - d->arena_npages)
		return errf(err, errlen, "descriptor", 0,
		            "arena pfn %llu + %llu not inside the vm_page array",
		            (unsigned long long)d->arena_first_pfn,
		            (unsigned long long)d->arena_npages);
	return 0;
}

static int check_pointers(const struct pts_descriptor *d, const struct gmem *mem, char *err,
                          size_t errlen)
{
	const struct {
		const char *name;
		uint64_t kva;
	} k[] = {{"kernel_pmap", d->kernel_pmap}, {"pmap_list", d->pmap_list},
	         {"curpmap", d->curpmap},         {"pv_pool", d->pv_pool},
	         {"tlb_ledger", d->tlb_ledger},   {"kernbase", d->kernbase}};
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
		if (check_kva(d, k[i].name, k[i].kva, err, errlen) != 0)
			return -1;
	if (d->ring_pa % 8 || !gmem_contains(mem, d->ring_pa, sizeof(struct pts_ring)))
		return errf(err, errlen, "descriptor", 0,
		            "ring_pa 0x%llx not an aligned ring inside guest RAM",
		            (unsigned long long)d->ring_pa);
	return 0;
}

/* ---- lock words (ABI 5): every word inside guest RAM through the direct
 * map or the kernel image, so that reading them never walks a table */

static bool kva_in(uint64_t kva, uint64_t len, uint64_t base, uint64_t size)
{
	return kva >= base && kva - base <= size && len <= size - (kva - base);
}

static bool words_in_ram(const struct pts_descriptor *d, uint64_t kva, uint64_t len)
{
	return kva % 4 == 0 && (kva_in(kva, len, d->dmap_base, d->dmap_size) ||
	                        kva_in(kva, len, d->kernbase + d->kern_pa, d->kern_size));
}

static int check_locks(const struct pts_descriptor *d, char *err, size_t errlen)
{
	if (d->lock_word_size != 4)
		return errf(err, errlen, "descriptor", 0,
		            "lock_word_size %u: this monitor reads 4-byte lock words",
		            d->lock_word_size);
	if (d->lock_owner_base > UINT32_MAX - PTS_MAX_CPUS ||
	    (d->lock_free >= d->lock_owner_base &&
	     d->lock_free - d->lock_owner_base < PTS_MAX_CPUS))
		return errf(err, errlen, "descriptor", 0,
		            "lock_free 0x%x is an owner's word (lock_owner_base 0x%x + a cpuid)",
		            d->lock_free, d->lock_owner_base);
	if (d->pv_lock_count > DESC_PV_LOCKS_MAX || d->pv_lock_stride < 4 ||
	    d->pv_lock_stride > DESC_PV_LOCK_STRIDE_MAX || d->pv_lock_stride % 4 != 0)
		return errf(err, errlen, "descriptor", 0,
		            "pv_lock_count %u / pv_lock_stride %u out of range (at most %u locks, "
		            "stride a multiple of 4 up to %u)",
		            d->pv_lock_count, d->pv_lock_stride, DESC_PV_LOCKS_MAX,
		            DESC_PV_LOCK_STRIDE_MAX);
	uint64_t span = d->pv_lock_count ? (d->pv_lock_count - 1ull) * d->pv_lock_stride + 4 : 0;
	if (span != 0 && !words_in_ram(d, d->pv_locks, span))
		return errf(err, errlen, "descriptor", 0,
		            "pv_locks [0x%llx, +0x%llx) not aligned words of guest RAM (direct map "
		            "or kernel image)",
		            (unsigned long long)d->pv_locks, (unsigned long long)span);
	for (unsigned i = 0; i < PTS_LOCKS; i++)
		if (d->locks[i] != 0 && !words_in_ram(d, d->locks[i], 4))
			return errf(err, errlen, "descriptor", 0,
			            "locks[%u] 0x%llx not an aligned word of guest RAM (direct map "
			            "or kernel image)",
			            i, (unsigned long long)d->locks[i]);
	return 0;
}

int desc_validate(const struct pts_descriptor *d, const struct gmem *mem, char *err, size_t errlen)
{
	if (d->magic != PTS_DESC_MAGIC)
		return errf(err, errlen, "descriptor", 0, "bad magic 0x%08x (want 0x%08x)",
		            d->magic, PTS_DESC_MAGIC);
	if (d->abi_version != PTS_ABI_VERSION)
		return errf(err, errlen, "descriptor", 0, "ABI version %u, this monitor speaks %u",
		            d->abi_version, PTS_ABI_VERSION);
	if (d->size != sizeof *d)
		return errf(err, errlen, "descriptor", 0, "size %u, want %zu", d->size, sizeof *d);
	if (d->page_size != PTS_PAGE_SIZE)
		return errf(err, errlen, "descriptor", 0, "page size %u, want %u", d->page_size,
		            PTS_PAGE_SIZE);
	if (check_sizes(d, err, errlen) || check_offsets(d, err, errlen) ||
	    check_rules(d, err, errlen) || check_layout(d, mem, err, errlen) ||
	    check_arrays(d, mem, err, errlen) || check_pointers(d, mem, err, errlen) ||
	    check_locks(d, err, errlen))
		return -1;
	return 0;
}

/* ---- limits on guest lists */

uint64_t desc_max_pool_pages(const struct pts_descriptor *d, const struct gmem *mem)
{
	uint64_t window = d->pv_kva_size / PTS_PAGE_SIZE, ram = mem->size / PTS_PAGE_SIZE;
	return (window < ram ? window : ram) + 1;
}

uint64_t desc_max_pv(const struct pts_descriptor *d, const struct gmem *mem)
{
	uint64_t per_page = (PTS_PAGE_SIZE - d->pool_item_offset) / d->pv_entry_size;
	return (desc_max_pool_pages(d, mem) - 1) * per_page + 1;
}

/* ---- vm_page array */

int64_t desc_pfn_index(const struct pts_descriptor *d, uint64_t pfn)
{
	if (pfn < d->vm_page_first_pfn || pfn - d->vm_page_first_pfn >= d->vm_page_count)
		return -1;
	return (int64_t)(pfn - d->vm_page_first_pfn);
}

uint64_t desc_vm_page_kva(const struct pts_descriptor *d, uint64_t i)
{
	return d->vm_page_array + i * d->vm_page_size;
}

int64_t desc_vm_page_index(const struct pts_descriptor *d, uint64_t kva)
{
	if (kva < d->vm_page_array)
		return -1;
	uint64_t off = kva - d->vm_page_array;
	if (off % d->vm_page_size != 0 || off / d->vm_page_size >= d->vm_page_count)
		return -1;
	return (int64_t)(off / d->vm_page_size);
}

/* ---- kernel VA view */

void kview_init(struct kview *kv, const struct pts_descriptor *d, const struct gmem *mem)
{
	kv->d = d;
	kv->mem = mem;
	kv->kernel_root = 0;
	hmap_init(&kv->cache);
}

void kview_free(struct kview *kv)
{
	hmap_free(&kv->cache);
}

void kview_flush(struct kview *kv)
{
	hmap_clear(&kv->cache);
}

static int walk_kernel(struct kview *kv, uint64_t kva, gpa_t *gpa)
{
	gpa_t table = kv->kernel_root;
	if (table == 0)
		return GMEM_ERANGE;
	for (unsigned level = 4; level >= 1; level--) {
		uint64_t pte;
		int rc = gmem_read_u64(kv->mem, table + 8ull * level_index(kva, level), &pte);
		if (rc != 0)
			return rc;
		if (!pte_valid(pte))
			return GMEM_ERANGE;
		if (pte_is_leaf(pte, level)) {
			*gpa = pte_frame(pte, level) + (kva & (level_span(level) - 1));
			return GMEM_OK;
		}
		table = pte & PG_FRAME;
	}
	return GMEM_ERANGE;
}

int kva_to_gpa(struct kview *kv, uint64_t kva, gpa_t *gpa)
{
	const struct pts_descriptor *d = kv->d;
	uint64_t image = d->kernbase + d->kern_pa;
	if (kva >= d->dmap_base && kva - d->dmap_base < d->dmap_size) {
		*gpa = kva - d->dmap_base;
		return GMEM_OK;
	}
	if (kva >= image && kva - image < d->kern_size) {
		*gpa = kva - d->kernbase;
		return GMEM_OK;
	}
	if (kva < d->user_max || !is_canonical(kva))
		return GMEM_ERANGE;
	uint64_t page = kva & ~(uint64_t)(PTS_PAGE_SIZE - 1), hit;
	if (hmap_get(&kv->cache, page, &hit)) {
		*gpa = hit + (kva - page);
		return GMEM_OK;
	}
	gpa_t pa;
	int rc = walk_kernel(kv, page, &pa);
	if (rc != 0)
		return rc;
	hmap_put(&kv->cache, page, pa);
	*gpa = pa + (kva - page);
	return GMEM_OK;
}

int kva_read(struct kview *kv, uint64_t kva, void *dst, size_t len)
{
	uint8_t *out = dst;
	while (len > 0) {
		size_t chunk = PTS_PAGE_SIZE - (kva & (PTS_PAGE_SIZE - 1));
		if (chunk > len)
			chunk = len;
		gpa_t gpa;
		int rc = kva_to_gpa(kv, kva, &gpa);
		if (rc == 0)
			rc = gmem_read(kv->mem, gpa, out, chunk);
		if (rc != 0)
			return rc;
		kva += chunk;
		out += chunk;
		len -= chunk;
	}
	return 0;
}

int kva_read_u64(struct kview *kv, uint64_t kva, uint64_t *v)
{
	uint8_t b[8];
	if (kva % 8 != 0)
		return GMEM_EALIGN;
	int rc = kva_read(kv, kva, b, sizeof b);
	if (rc == 0)
		*v = le_field(b, 0, 8);
	return rc;
}
