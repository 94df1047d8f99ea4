/* monitor/snap.c - read the guest pmap state through the descriptor.  Every
 * structure is copied out before it is looked at; every list is bounded and
 * cycle-checked; what cannot be read becomes an issue for the invariant that
 * owns it, never a crash.
 */
#include "array.h"
#include "snap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pte.h"
#include "violation.h"

void snap_init(struct snapshot *s)
{
	memset(s, 0, sizeof *s);
	hmap_init(&s->pv_by_va);
	hmap_init(&s->pv_by_kva);
	hmap_init(&s->pool.free_item);
	ptp_set_init(&s->walk);
}

void snap_free(struct snapshot *s)
{
	free(s->hash);
	free(s->hash_tmp);
	free(s->vmp);
	free(s->vmp_raw);
	free(s->pv);
	free(s->pool.page);
	free(s->issue);
	hmap_free(&s->pv_by_va);
	hmap_free(&s->pv_by_kva);
	hmap_free(&s->pool.free_item);
	ptp_set_free(&s->walk);
	snap_init(s);
}

struct snap_issue *snap_issue(struct snapshot *s, const char *inv, const char *fmt, ...)
{
	if (ARRAY_GROW(s->issue, s->issue_cap, s->nissue, 16) != 0)
		return NULL;
	struct snap_issue *i = &s->issue[s->nissue++];
	memset(i, 0, sizeof *i);
	i->inv = inv;
	i->slot = VIO_SLOT_NONE;
	i->page = -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(i->msg, sizeof i->msg, fmt, ap);
	va_end(ap);
	return i;
}

int64_t snap_page_index(const struct pts_descriptor *d, gpa_t pa)
{
	return desc_pfn_index(d, pa >> PTS_PAGE_SHIFT);
}

const struct vmp *snap_page(const struct snapshot *s, const struct pts_descriptor *d, gpa_t pa)
{
	int64_t i = snap_page_index(d, pa);
	return i < 0 || (uint64_t)i >= s->nvmp ? NULL : &s->vmp[i];
}

int64_t arena_index_of(const struct pts_descriptor *d, gpa_t pa)
{
	uint64_t pfn = pa >> PTS_PAGE_SHIFT;
	if (pfn < d->arena_first_pfn || pfn - d->arena_first_pfn >= d->arena_npages)
		return -1;
	return (int64_t)(pfn - d->arena_first_pfn);
}

/* ---- vm_page array */

void snap_parse_vm_page(const struct pts_descriptor *d, const uint8_t *b, struct vmp *v)
{
	v->phys_addr = le_field(b, d->off_vmp_phys_addr, 8);
	v->usage = (uint32_t)le_field(b, d->off_vmp_usage, 4);
	v->pv_list = le_field(b, d->off_vmp_pv_list, 8);
	v->attrs = (uint32_t)le_field(b, d->off_vmp_attrs, 4);
	v->flags = (uint32_t)le_field(b, d->off_vmp_flags, 4);
	v->pmap_count = (uint32_t)le_field(b, d->off_vmp_pmap_count, 4);
	v->writeable_count = (uint32_t)le_field(b, d->off_vmp_writeable_count, 4);
	v->wire_count = (uint32_t)le_field(b, d->off_vmp_wire_count, 4);
	v->ptp_pmap = le_field(b, d->off_vmp_ptp_pmap, 8);
	v->ptp_va = le_field(b, d->off_vmp_ptp_va, 8);
	v->ptp_level = (uint32_t)le_field(b, d->off_vmp_ptp_level, 4);
	v->ptp_hnext = le_field(b, d->off_vmp_ptp_hnext, 8);
}

/* the whole array is copied; only entries whose bytes changed are parsed */
static int read_vm_pages(struct snapshot *s, struct kview *kv, const struct snapshot *prev)
{
	const struct pts_descriptor *d = kv->d;
	size_t size = d->vm_page_size, bytes = d->vm_page_count * size;
	if (s->vmp_raw == NULL && (s->vmp_raw = malloc(bytes)) == NULL)
		return -1;
	if (s->vmp == NULL && (s->vmp = calloc(d->vm_page_count, sizeof *s->vmp)) == NULL)
		return -1;
	s->nvmp = 0;
	if (kva_read(kv, d->vm_page_array, s->vmp_raw, bytes) != 0) {
		snap_issue(s, "AS-5", "vm_page array at kva 0x%llx unreadable",
		           (unsigned long long)d->vm_page_array);
		return 0;
	}
	bool reuse = prev != NULL && prev->nvmp == d->vm_page_count && prev->vmp_raw != NULL;
	for (uint64_t i = 0; i < d->vm_page_count; i++) {
		const uint8_t *b = s->vmp_raw + i * size;
		if (reuse && memcmp(b, prev->vmp_raw + i * size, size) == 0)
			s->vmp[i] = prev->vmp[i];
		else
			snap_parse_vm_page(d, b, &s->vmp[i]);
	}
	s->nvmp = d->vm_page_count;
	return 0;
}

/* ---- pv lists */

void snap_parse_pv_entry(const struct pts_descriptor *d, const uint8_t *b, uint64_t kva,
                         uint64_t page, struct pv_snap *pv)
{
	*pv = (struct pv_snap){.kva = kva,
	                       .pmap = le_field(b, d->off_pve_pmap, 8),
	                       .va = le_field(b, d->off_pve_va, 8),
	                       .ptp = le_field(b, d->off_pve_ptp, 8),
	                       .next = le_field(b, d->off_pve_next, 8),
	                       .page = page,
	                       .owner = -1};
}

int snap_push_pv(struct snapshot *s, const struct pv_snap *pv)
{
	if (ARRAY_GROW(s->pv, s->pv_cap, s->npv, 256) != 0)
		return -1;
	s->pv[s->npv++] = *pv;
	return 0;
}

uint64_t snap_pv_key(int32_t owner, uint64_t va)
{
	return (va & ~(uint64_t)0xfff) | (uint32_t)(owner & 0xfff);
}

static int read_pv_list(struct snapshot *s, struct kview *kv, uint64_t page, size_t max_pv)
{
	const struct pts_descriptor *d = kv->d;
	uint8_t buf[PTS_PAGE_SIZE];
	uint64_t kva = s->vmp[page].pv_list;
	while (kva != 0) {
		struct snap_issue *is;
		if (hmap_get(&s->pv_by_kva, kva, NULL)) {
			is = snap_issue(s, "PV-5",
			                "pv entry 0x%llx reached twice (cycle or two lists)",
			                (unsigned long long)kva);
			if (is)
				is->kva = kva, is->page = (int64_t)page;
			return 0;
		}
		if (s->npv >= max_pv) {
			snap_issue(s, "PV-5", "more than %zu pv entries: list walk stopped",
			           max_pv);
			return 0;
		}
		if (kva_read(kv, kva, buf, d->pv_entry_size) != 0) {
			is = snap_issue(s, "PV-5", "pv entry at kva 0x%llx unreadable",
			                (unsigned long long)kva);
			if (is)
				is->kva = kva, is->page = (int64_t)page;
			return 0;
		}
		struct pv_snap pv;
		snap_parse_pv_entry(d, buf, kva, page, &pv);
		pv.owner = snap_pmap_by_kva(s, pv.pmap);
		if (hmap_put(&s->pv_by_kva, kva, s->npv) != 0 || snap_push_pv(s, &pv) != 0)
			return -1;
		if (pv.owner >= 0 && !hmap_get(&s->pv_by_va, snap_pv_key(pv.owner, pv.va), NULL) &&
		    hmap_put(&s->pv_by_va, snap_pv_key(pv.owner, pv.va), s->npv) !=
		        0) /* index + 1 */
			return -1;
		kva = pv.next;
	}
	return 0;
}

static int read_pv_lists(struct snapshot *s, struct kview *kv, size_t max_pv)
{
	s->npv = 0;
	hmap_clear(&s->pv_by_va);
	hmap_clear(&s->pv_by_kva);
	for (uint64_t i = 0; i < s->nvmp; i++)
		if (s->vmp[i].pv_list != 0 && read_pv_list(s, kv, i, max_pv) != 0)
			return -1;
	return 0;
}

size_t snap_pv_at(const struct snapshot *s, uint32_t owner, uint64_t va)
{
	uint64_t i;
	return hmap_get(&s->pv_by_va, snap_pv_key((int32_t)owner, va), &i) ? (size_t)i : 0;
}

/* ---- the pv pool */

static void pool_issue(struct snapshot *s, const char *inv, uint64_t kva, const char *what)
{
	struct snap_issue *is = snap_issue(s, inv, "%s 0x%llx", what, (unsigned long long)kva);
	if (is)
		is->kva = kva;
}

static int read_free_items(struct snapshot *s, struct kview *kv, struct pool_page_snap *pg,
                           size_t pi)
{
	const struct pts_descriptor *d = kv->d;
	uint64_t item = pg->freelist;
	pg->nfree = 0;
	while (item != 0) {
		if (pg->nfree > s->pool.itemsperpage) {
			pool_issue(s, "POOL-1", pg->hdr,
			           "free list longer than itemsperpage on pool page");
			return 0;
		}
		if (hmap_get(&s->pool.free_item, item, NULL)) {
			pool_issue(s, "POOL-3", item, "free item on a free list twice");
			return 0;
		}
		if (hmap_put(&s->pool.free_item, item, pi) != 0)
			return -1;
		pg->nfree++;
		if (kva_read_u64(kv, item + d->off_item_next, &item) != 0) {
			pool_issue(s, "POOL-3", item, "free item unreadable");
			return 0;
		}
	}
	return 0;
}

int snap_read_pool_header(struct kview *kv, uint64_t hdr, enum pool_list list,
                          struct pool_page_snap *pg)
{
	const struct pts_descriptor *d = kv->d;
	uint8_t buf[PTS_PAGE_SIZE];
	size_t hsize = d->pool_header_size ? d->pool_header_size
	               : (size_t)d->off_ph_page + 8 > (size_t)d->off_ph_nmissing + 4
	                   ? d->off_ph_page + 8u
	                   : d->off_ph_nmissing + 4u;
	if (hsize < (size_t)d->off_ph_next + 8)
		hsize = d->off_ph_next + 8u;
	if (hsize < (size_t)d->off_ph_freelist + 8)
		hsize = d->off_ph_freelist + 8u;
	if (kva_read(kv, hdr, buf, hsize) != 0)
		return -1;
	*pg = (struct pool_page_snap){hdr,
	                              le_field(buf, d->off_ph_page, 8),
	                              le_field(buf, d->off_ph_freelist, 8),
	                              le_field(buf, d->off_ph_next, 8),
	                              (uint32_t)le_field(buf, d->off_ph_nmissing, 4),
	                              0,
	                              list};
	return 0;
}

static int read_pool_page(struct snapshot *s, struct kview *kv, uint64_t hdr, enum pool_list list)
{
	struct pool_snap *p = &s->pool;
	struct pool_page_snap pg;
	if (snap_read_pool_header(kv, hdr, list, &pg) != 0) {
		pool_issue(s, "POOL-4", hdr, "pool page header unreadable at kva");
		return 1;
	}
	if (ARRAY_GROW(p->page, p->page_cap, p->npage, 64) != 0)
		return -1;
	p->page[p->npage] = pg;
	p->npage++;
	return read_free_items(s, kv, &p->page[p->npage - 1], p->npage - 1);
}

int snap_read_pool_struct(struct kview *kv, struct pool_snap *p)
{
	const struct pts_descriptor *d = kv->d;
	uint8_t buf[PTS_PAGE_SIZE];
	size_t psize = d->pool_size ? d->pool_size : d->off_pr_maxpages + 4u;
	for (const uint32_t *o = &d->off_pr_partpages; o <= &d->off_pr_maxpages; o++)
		if (psize < *o + 8u)
			psize = *o + 8u;
	if (psize > sizeof buf || kva_read(kv, d->pv_pool, buf, psize) != 0)
		return -1;
	p->head[POOL_PART] = le_field(buf, d->off_pr_partpages, 8);
	p->head[POOL_FULL] = le_field(buf, d->off_pr_fullpages, 8);
	p->head[POOL_EMPTY] = le_field(buf, d->off_pr_emptypages, 8);
	p->itemsperpage = (uint32_t)le_field(buf, d->off_pr_itemsperpage, 4);
	p->nitems = (uint32_t)le_field(buf, d->off_pr_nitems, 4);
	p->nout = (uint32_t)le_field(buf, d->off_pr_nout, 4);
	p->npages = (uint32_t)le_field(buf, d->off_pr_npages, 4);
	p->nidle = (uint32_t)le_field(buf, d->off_pr_nidle, 4);
	p->minitems = (uint32_t)le_field(buf, d->off_pr_minitems, 4);
	p->maxpages = (uint32_t)le_field(buf, d->off_pr_maxpages, 4);
	uint64_t room = (PTS_PAGE_SIZE - d->pool_item_offset) / d->pv_entry_size;
	return p->itemsperpage == 0 || p->itemsperpage > room ? -2 : 0;
}

static int read_pool(struct snapshot *s, struct kview *kv)
{
	const struct pts_descriptor *d = kv->d;
	struct pool_snap *p = &s->pool;
	p->ok = false;
	p->npage = 0;
	hmap_clear(&p->free_item);
	int rc = snap_read_pool_struct(kv, p);
	if (rc == -1) {
		pool_issue(s, "POOL-5", d->pv_pool, "pool structure unreadable at kva");
		return 0;
	}
	if (rc == -2) {
		snap_issue(
		    s, "POOL-5", "itemsperpage %u: a page holds 1..%llu entries", p->itemsperpage,
		    (unsigned long long)((PTS_PAGE_SIZE - d->pool_item_offset) / d->pv_entry_size));
		return 0;
	}
	size_t max_pages = (size_t)desc_max_pool_pages(d, kv->mem);
	struct hmap seen;
	hmap_init(&seen);
	for (int l = POOL_PART; l <= POOL_EMPTY; l++) {
		for (uint64_t hdr = p->head[l]; hdr != 0; hdr = p->page[p->npage - 1].next) {
			if (hmap_get(&seen, hdr, NULL) || p->npage >= max_pages) {
				pool_issue(s, "POOL-2", hdr,
				           "pool page lists revisit or overflow at header");
				break;
			}
			rc = hmap_put(&seen, hdr, 1) != 0 ? -1 : read_pool_page(s, kv, hdr, l);
			if (rc < 0) {
				hmap_free(&seen);
				return -1;
			}
			if (rc > 0)
				break;
		}
	}
	hmap_free(&seen);
	p->ok = true;
	return 0;
}

/* ---- TLB ledger head */

void snap_read_tlb_head(struct snapshot *s, struct kview *kv)
{
	uint8_t buf[16];
	s->tlb_ok = false;
	if (kva_read(kv, kv->d->tlb_ledger, buf, sizeof buf) != 0) {
		snap_issue(s, "TLB-3", "TLB ledger header at kva 0x%llx unreadable",
		           (unsigned long long)kv->d->tlb_ledger);
		return;
	}
	if (le_field(buf, 0, 4) != PTS_TLB_MAGIC || le_field(buf, 4, 4) != PTS_TLB_RECORDS) {
		snap_issue(s, "TLB-3",
		           "TLB ledger magic 0x%08llx / nrecords %llu (want 0x%08x / %u)",
		           (unsigned long long)le_field(buf, 0, 4),
		           (unsigned long long)le_field(buf, 4, 4), PTS_TLB_MAGIC, PTS_TLB_RECORDS);
		return;
	}
	s->tlb_head = le_field(buf, 8, 8);
	s->tlb_ok = true;
}

/* ---- page tables */

static int walk_pmaps(struct snapshot *s, const struct snap_params *p)
{
	const struct pts_descriptor *d = p->kv->d;
	struct walk_root roots[SNAP_MAX_PMAPS];
	for (size_t i = 0; i < s->npmap; i++)
		roots[i] = (struct walk_root){s->pmap[i].root, s->pmap[i].kernel, !s->pmap[i].live};
	struct walk_params wp = {.mem = p->kv->mem,
	                         .kernel_slot_first = d->kernel_slot_first,
	                         .kernel_slot_last = d->kernel_slot_last,
	                         .max_ptps = p->max_ptps,
	                         .shadow = p->prev ? &p->prev->walk : NULL};
	return walk_all(&s->walk, &wp, roots, s->npmap);
}

int snap_read(struct snapshot *s, const struct snap_params *p)
{
	s->nissue = 0;
	if (snap_read_pmaps(s, p->kv, p->prev) != 0 || read_vm_pages(s, p->kv, p->prev) != 0 ||
	    walk_pmaps(s, p) != 0 || read_pv_lists(s, p->kv, p->max_pv) != 0 ||
	    read_pool(s, p->kv) != 0)
		return -1;
	snap_read_tlb_head(s, p->kv);
	return 0;
}
