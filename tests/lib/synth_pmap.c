/* tests/lib/synth_pmap.c - the synthetic image's pmap: the ops of
 * docs/semantics.md written straight, as the reference for the monitor's
 * tests (PTP refcount 1 + valid, resident = leaves + PTPs, A/D harvested,
 * invalidation of cached PTEs in the active pmap).
 */
#include <stdlib.h>
#include <string.h>

#include "bug.h"
#include "pte.h"
#include "synth_impl.h"

#define VMP(pa, off) (synth_vmp_pa(s, (pa) >> 12) + (off))

static gpa_t pm(const struct synth *s, uint32_t slot)
{
	return synth_pmap_pa(s, slot);
}

static bool live(const struct synth *s, uint32_t slot)
{
	return slot < PTS_MAX_PMAPS && synth_r64(s, pm(s, slot) + SYN_PM_PML4) != 0;
}

static void add64(struct synth *s, gpa_t pa, int64_t d)
{
	synth_w64(s, pa, synth_r64(s, pa) + (uint64_t)d);
}

static void add32(struct synth *s, gpa_t pa, int32_t d)
{
	synth_w32(s, pa, synth_r32(s, pa) + (uint32_t)d);
}

gpa_t synth_pte_pa(const struct synth *s, uint32_t slot, uint64_t va, unsigned level)
{
	gpa_t t = synth_r64(s, pm(s, slot) + SYN_PM_PML4);
	for (unsigned l = 4; l > level; l--) {
		uint64_t e = synth_r64(s, t + 8ull * level_index(va, l));
		if (!(e & PG_V))
			return 0;
		t = e & PG_FRAME;
	}
	return t + 8ull * level_index(va, level);
}

static bool is_active(const struct synth *s, uint32_t slot)
{
	return s->active == (int32_t)slot;
}

static void invalidate(struct synth *s, uint32_t slot, uint64_t old, uint64_t va)
{
	if (old & PG_U)
		syn_shootdown(s, (int32_t)slot, va);
}

/* ---- PTP hash */

static gpa_t hash_head(const struct synth *s, uint32_t slot, uint64_t va, unsigned level)
{
	return pm(s, slot) + SYN_PM_HASH + 8 * PTS_PTP_HASH(va, level, SYNTH_HASH_SIZE);
}

static void hash_insert(struct synth *s, uint32_t slot, gpa_t ptp, uint64_t va, unsigned level)
{
	gpa_t head = hash_head(s, slot, va, level);
	synth_w64(s, VMP(ptp, SYN_VMP_HNEXT), synth_r64(s, head));
	synth_w64(s, head, syn_vmp_kva(ptp >> 12));
}

static void hash_remove(struct synth *s, uint32_t slot, gpa_t ptp, uint64_t va, unsigned level)
{
	gpa_t link = hash_head(s, slot, va, level);
	uint64_t want = syn_vmp_kva(ptp >> 12);
	while (synth_r64(s, link) != 0 && synth_r64(s, link) != want)
		link = synth_r64(s, link) - s->desc.dmap_base + SYN_VMP_HNEXT;
	if (synth_r64(s, link) == want)
		synth_w64(s, link, synth_r64(s, VMP(ptp, SYN_VMP_HNEXT)));
}

/* ---- PTPs */

static bool counted_alloc_ok(struct synth *s, bool canfail)
{
	if (!canfail || s->fail_in == 0)
		return true;
	return --s->fail_in != 0;
}

static void link_ptp(struct synth *s, uint32_t slot, gpa_t ptp, uint64_t va, unsigned level)
{
	gpa_t entry = synth_pte_pa(s, slot, va, level + 1), parent = entry & ~0xfffull;
	uint64_t base = va & ~(level_span(level + 1) - 1);
	synth_w64(s, entry, ptp | PG_V | PG_RW | PG_u);
	if (level < 3)
		add32(s, VMP(parent, SYN_VMP_WIRE), 1);
	synth_w64(s, VMP(ptp, SYN_VMP_PTPPMAP), synth_kva(s, pm(s, slot)));
	synth_w64(s, VMP(ptp, SYN_VMP_PTPVA), base);
	synth_w32(s, VMP(ptp, SYN_VMP_PTPLEVEL), level);
	synth_w32(s, VMP(ptp, SYN_VMP_WIRE), 1);
	hash_insert(s, slot, ptp, base, level);
	add64(s, pm(s, slot) + SYN_PM_RESIDENT, 1);
	add32(s, pm(s, slot) + SYN_PM_PTPCOUNT, 1);
}

/* free PTPs above va that became empty, lowest level first */
static void release_ptps(struct synth *s, uint32_t slot, uint64_t va)
{
	for (unsigned level = 1; level <= 3; level++) {
		gpa_t entry = synth_pte_pa(s, slot, va, level + 1);
		gpa_t ptp = synth_r64(s, entry) & PG_FRAME;
		if (!(synth_r64(s, entry) & PG_V) || synth_r32(s, VMP(ptp, SYN_VMP_WIRE)) != 1)
			return;
		synth_w64(s, entry, 0);
		if (level < 3)
			add32(s, VMP(entry & ~0xfffull, SYN_VMP_WIRE), -1);
		hash_remove(s, slot, ptp, va & ~(level_span(level + 1) - 1), level);
		add64(s, pm(s, slot) + SYN_PM_RESIDENT, -1);
		add32(s, pm(s, slot) + SYN_PM_PTPCOUNT, -1);
		syn_shootdown(s, (int32_t)slot, va);
		syn_tlb(s, PTS_TLB_FREE_PTP, ptp, ptp + 4096); /* after it, as the guest's */
		syn_page_free(s, ptp);
	}
}

/* ---- pv entries */

static void pv_insert(struct synth *s, uint64_t item, uint32_t slot, uint64_t va, gpa_t page)
{
	gpa_t e = synth_kva_pa(s, item);
	gpa_t pt = synth_pte_pa(s, slot, va, 1) & ~0xfffull;
	synth_w64(s, e + SYN_PVE_PMAP, synth_kva(s, pm(s, slot)));
	synth_w64(s, e + SYN_PVE_VA, va);
	synth_w64(s, e + SYN_PVE_PTP, syn_vmp_kva(pt >> 12));
	synth_w64(s, e + SYN_PVE_NEXT, synth_r64(s, VMP(page, SYN_VMP_PVLIST)));
	synth_w64(s, VMP(page, SYN_VMP_PVLIST), item);
}

static uint64_t pv_unlink(struct synth *s, uint32_t slot, uint64_t va, gpa_t page)
{
	gpa_t link = VMP(page, SYN_VMP_PVLIST);
	uint64_t pmkva = synth_kva(s, pm(s, slot));
	for (uint64_t item; (item = synth_r64(s, link)) != 0;
	     link = synth_kva_pa(s, item) + SYN_PVE_NEXT) {
		gpa_t e = synth_kva_pa(s, item);
		if (synth_r64(s, e + SYN_PVE_PMAP) == pmkva && synth_r64(s, e + SYN_PVE_VA) == va) {
			synth_w64(s, link, synth_r64(s, e + SYN_PVE_NEXT));
			return item;
		}
	}
	return 0;
}

/* take the mapping at pte_pa down: harvest, pv, counters; PTPs stay */
static void unmap_pte(struct synth *s, uint32_t slot, uint64_t va, gpa_t pte_pa)
{
	uint64_t old = synth_r64(s, pte_pa);
	gpa_t page = old & PG_FRAME;
	synth_w64(s, pte_pa, 0);
	synth_w32(s, VMP(page, SYN_VMP_ATTRS),
	          synth_r32(s, VMP(page, SYN_VMP_ATTRS)) | ((old & PG_M) ? PTS_ATTR_MODIFIED : 0) |
	              ((old & PG_U) ? PTS_ATTR_REFERENCED : 0));
	uint64_t item = pv_unlink(s, slot, va, page);
	if (item)
		syn_pool_put(s, item);
	add32(s, VMP(page, SYN_VMP_PMAPCOUNT), -1);
	if (old & PG_RW)
		add32(s, VMP(page, SYN_VMP_WCOUNT), -1);
	add64(s, pm(s, slot) + SYN_PM_RESIDENT, -1);
	if (old & PTS_PTE_WIRED)
		add64(s, pm(s, slot) + SYN_PM_WIRED, -1);
	add32(s, VMP(pte_pa & ~0xfffull, SYN_VMP_WIRE), -1);
	invalidate(s, slot, old, va);
}

static void remove_one(struct synth *s, uint32_t slot, uint64_t va)
{
	gpa_t p = synth_pte_pa(s, slot, va, 1);
	if (p == 0 || !(synth_r64(s, p) & PG_V))
		return;
	unmap_pte(s, slot, va, p);
	release_ptps(s, slot, va);
}

/* every mapped user va of slot in [va, end), in order; caller frees */
static size_t mapped_vas(const struct synth *s, uint32_t slot, uint64_t va, uint64_t end,
                         uint64_t **out)
{
	size_t n = 0, cap = 64;
	uint64_t *v = malloc(cap * sizeof *v);
	while (v != NULL && va < end) {
		unsigned level = 4;
		gpa_t p = 0;
		while (level >= 1 && (p = synth_pte_pa(s, slot, va, level)) != 0 &&
		       (synth_r64(s, p) & PG_V) && level > 1)
			level--;
		if (level == 1 && p != 0 && (synth_r64(s, p) & PG_V)) {
			if (n == cap) {
				uint64_t *w = realloc(v, (cap *= 2) * sizeof *v);
				if (w == NULL)
					break;
				v = w;
			}
			v[n++] = va;
			va += 4096;
		} else {
			va = (va & ~(level_span(level) - 1)) + level_span(level);
		}
	}
	*out = v;
	return v ? n : 0;
}

static void remove_range(struct synth *s, uint32_t slot, uint64_t va, uint64_t end)
{
	uint64_t *vas;
	size_t n = mapped_vas(s, slot, va, end, &vas);
	for (size_t i = 0; i < n; i++)
		remove_one(s, slot, vas[i]);
	free(vas);
}

/* the leaf PTE semantics.md prescribes for a mapping of rights prot (without
 * A/D): a user one (US) or a kenter one (global) */
static uint64_t leaf_bits(uint64_t kind, uint32_t prot)
{
	uint64_t pte = PG_V | kind;
	if (prot & PTS_PROT_WRITE)
		pte |= PG_RW;
	if (!(prot & PTS_PROT_EXEC))
		pte |= PG_NX;
	return pte;
}

static uint64_t user_bits(uint32_t prot, bool wired)
{
	return leaf_bits(PG_u, prot) | PTS_PTE_MANAGED | (wired ? PTS_PTE_WIRED : 0);
}

/* rewrite a PTE in place with new rights, keeping A/D and the frame */
static void change_pte(struct synth *s, uint32_t slot, uint64_t va, gpa_t p, uint64_t new)
{
	uint64_t old = synth_r64(s, p);
	gpa_t page = old & PG_FRAME;
	if (new == old)
		return;
	synth_w64(s, p, new);
	if ((old & PG_RW) && !(new &PG_RW))
		add32(s, VMP(page, SYN_VMP_WCOUNT), -1);
	if (!(old & PG_RW) && (new &PG_RW)) {
		add32(s, VMP(page, SYN_VMP_WCOUNT), 1);
		synth_w32(s, VMP(page, SYN_VMP_FLAGS),
		          synth_r32(s, VMP(page, SYN_VMP_FLAGS)) | PTS_PGF_WRITEABLE);
	}
	if ((old & PTS_PTE_WIRED) != (new &PTS_PTE_WIRED))
		add64(s, pm(s, slot) + SYN_PM_WIRED, (new &PTS_PTE_WIRED) ? 1 : -1);
	bool down = ((old & PG_RW) && !(new &PG_RW)) || (!(old & PG_NX) && (new &PG_NX)) ||
	            ((old & PG_U) && !(new &PG_U)) || ((old & PG_M) && !(new &PG_M));
	if (down)
		invalidate(s, slot, old, va);
}

static uint32_t do_enter(struct synth *s, const struct pts_op *op)
{
	bool canfail = op->flags & PTS_OPF_CANFAIL, wired = op->flags & PTS_OPF_WIRED;
	gpa_t page = synth_arena_pa(op->page), ptps[4] = {0};
	unsigned first_missing = 0; /* highest level whose table is missing */
	for (unsigned level = 3; level >= 1; level--) {
		gpa_t e = synth_pte_pa(s, op->pmap, op->va, level + 1);
		if (e == 0 || !(synth_r64(s, e) & PG_V)) {
			first_missing = level;
			break;
		}
	}
	for (unsigned level = first_missing; level >= 1; level--) {
		if (!counted_alloc_ok(s, canfail) ||
		    (ptps[level] = syn_page_alloc(s, PTS_PG_PTP)) == 0)
			goto fail;
	}
	gpa_t p = first_missing ? 0 : synth_pte_pa(s, op->pmap, op->va, 1);
	uint64_t old = p ? synth_r64(s, p) : 0, item = 0;
	if (!(old & PG_V) || (old & PG_FRAME) != page) {
		if (!counted_alloc_ok(s, canfail) || (item = syn_pool_get(s)) == 0)
			goto fail;
	}
	for (unsigned level = first_missing; level >= 1; level--)
		link_ptp(s, op->pmap, ptps[level], op->va, level);
	p = synth_pte_pa(s, op->pmap, op->va, 1);
	if ((old & PG_V) && (old & PG_FRAME) == page) {
		change_pte(s, op->pmap, op->va, p,
		           (old & (PG_U | PG_M)) | page | user_bits(op->prot, wired));
		return PTS_RES_OK;
	}
	if (old & PG_V)
		unmap_pte(s, op->pmap, op->va, p);
	uint64_t pte = page | user_bits(op->prot, wired);
	synth_w64(s, p, pte);
	pv_insert(s, item, op->pmap, op->va, page);
	add32(s, VMP(page, SYN_VMP_PMAPCOUNT), 1);
	if (pte & PG_RW)
		add32(s, VMP(page, SYN_VMP_WCOUNT), 1);
	synth_w32(s, VMP(page, SYN_VMP_FLAGS),
	          synth_r32(s, VMP(page, SYN_VMP_FLAGS)) | PTS_PGF_MAPPED |
	              ((pte & PG_RW) ? PTS_PGF_WRITEABLE : 0));
	add64(s, pm(s, op->pmap) + SYN_PM_RESIDENT, 1);
	if (wired)
		add64(s, pm(s, op->pmap) + SYN_PM_WIRED, 1);
	add32(s, VMP(p & ~0xfffull, SYN_VMP_WIRE), 1);
	return PTS_RES_OK;
fail:
	for (unsigned level = 1; level <= 3; level++)
		if (ptps[level])
			syn_page_free(s, ptps[level]);
	if (item)
		syn_pool_put(s, item);
	return PTS_RES_ENOMEM;
}

static void do_protect(struct synth *s, uint32_t slot, uint64_t va, uint64_t end, uint32_t prot)
{
	uint64_t *vas;
	size_t n = mapped_vas(s, slot, va, end, &vas);
	for (size_t i = 0; i < n; i++) {
		gpa_t p = synth_pte_pa(s, slot, vas[i], 1);
		uint64_t old = synth_r64(s, p), new = old;
		if (!(prot & PTS_PROT_WRITE))
			new &= ~PG_RW;
		if (!(prot & PTS_PROT_EXEC))
			new |= PG_NX;
		change_pte(s, slot, vas[i], p, new);
	}
	free(vas);
}

/* (slot, va) of every pv entry of page; returns the count (<= max) */
static size_t page_mappings(const struct synth *s, gpa_t page, uint32_t *slots, uint64_t *vas,
                            size_t max)
{
	size_t n = 0;
	for (uint64_t item = synth_r64(s, VMP(page, SYN_VMP_PVLIST)); item != 0 && n < max;
	     item = synth_r64(s, synth_kva_pa(s, item) + SYN_PVE_NEXT)) {
		gpa_t e = synth_kva_pa(s, item);
		slots[n] = (uint32_t)synth_r32(s, synth_r64(s, e + SYN_PVE_PMAP) -
		                                      s->desc.kernbase + SYN_PM_SLOT);
		vas[n++] = synth_r64(s, e + SYN_PVE_VA);
	}
	return n;
}

#define MAXMAP 1024

static void do_page_bits(struct synth *s, gpa_t page, uint64_t clear, uint64_t set, bool remove)
{
	uint32_t slots[MAXMAP];
	uint64_t vas[MAXMAP];
	size_t n = page_mappings(s, page, slots, vas, MAXMAP);
	for (size_t i = 0; i < n; i++) {
		gpa_t p = synth_pte_pa(s, slots[i], vas[i], 1);
		if (remove)
			remove_one(s, slots[i], vas[i]);
		else
			change_pte(s, slots[i], vas[i], p, (synth_r64(s, p) & ~clear) | set);
	}
}

static bool page_has_bit(const struct synth *s, gpa_t page, uint64_t bit)
{
	uint32_t slots[MAXMAP];
	uint64_t vas[MAXMAP];
	size_t n = page_mappings(s, page, slots, vas, MAXMAP);
	for (size_t i = 0; i < n; i++)
		if (synth_r64(s, synth_pte_pa(s, slots[i], vas[i], 1)) & bit)
			return true;
	return false;
}

static void clear_flags(struct synth *s, gpa_t page)
{
	uint32_t f = synth_r32(s, VMP(page, SYN_VMP_FLAGS));
	if (synth_r32(s, VMP(page, SYN_VMP_PMAPCOUNT)) == 0)
		f &= ~PTS_PGF_MAPPED;
	if (synth_r32(s, VMP(page, SYN_VMP_WCOUNT)) == 0)
		f &= ~PTS_PGF_WRITEABLE;
	synth_w32(s, VMP(page, SYN_VMP_FLAGS), f);
}

static void activate(struct synth *s, int32_t slot)
{
	uint32_t idx = slot < 0 ? SYNTH_KERNEL_SLOT : (uint32_t)slot;
	gpa_t root = synth_r64(s, pm(s, idx) + SYN_PM_PML4);
	int32_t old = s->active;
	if (s->cr3 != root) {
		s->cr3 = root;
		syn_tlb(s, PTS_TLB_SWITCH, root, 0);
	}
	s->active = slot;
	if (s->cpu == 0)
		synth_w64(s, s->curpmap_pa, synth_kva(s, pm(s, idx)));
	syn_cpu_activated(s, old, slot);
}

static uint32_t do_touch(struct synth *s, const struct pts_op *op)
{
	activate(s, (int32_t)op->pmap);
	gpa_t p = synth_pte_pa(s, op->pmap, op->va, 1);
	uint64_t pte = p ? synth_r64(s, p) : 0;
	bool write = op->flags & PTS_OPF_WRITE;
	if (!(pte & PG_V) || (write && !(pte & PG_RW)))
		return PTS_RES_FAULT;
	synth_w64(s, p, pte | PG_U | (write ? PG_M : 0));
	if (write)
		s->mem[pte & PG_FRAME] = (uint8_t)op->seq;
	return PTS_RES_OK;
}

static void do_create(struct synth *s, uint32_t slot)
{
	gpa_t root = syn_page_alloc(s, PTS_PG_PTP), p = pm(s, slot);
	gpa_t kroot = synth_r64(s, pm(s, SYNTH_KERNEL_SLOT) + SYN_PM_PML4);
	memcpy(s->mem + root + 8 * 256, s->mem + kroot + 8 * 256, 8 * 256);
	memset(s->mem + p, 0, SYN_PM_SIZE);
	synth_w64(s, p + SYN_PM_PML4, root);
	synth_w32(s, p + SYN_PM_SLOT, slot);
	synth_w64(s, p + SYN_PM_NEXT, synth_r64(s, s->pmap_list_pa));
	synth_w64(s, s->pmap_list_pa, synth_kva(s, p));
	synth_w64(s, VMP(root, SYN_VMP_PTPPMAP), synth_kva(s, p));
	synth_w32(s, VMP(root, SYN_VMP_PTPLEVEL), 4);
}

static void do_destroy(struct synth *s, uint32_t slot)
{
	gpa_t p = pm(s, slot), link = s->pmap_list_pa;
	uint32_t self = s->cpu;
	for (uint32_t c = 0; c < s->ncpus; c++) { /* every CPU leaves it first */
		syn_cpu_switch(s, c);
		if (is_active(s, slot))
			activate(s, -1);
	}
	syn_cpu_switch(s, self);
	remove_range(s, slot, 0, s->desc.user_max);
	while (synth_r64(s, link) != 0 && synth_r64(s, link) != synth_kva(s, p))
		link = synth_r64(s, link) - s->desc.kernbase + SYN_PM_NEXT;
	synth_w64(s, link, synth_r64(s, p + SYN_PM_NEXT));
	syn_page_free(s, synth_r64(s, p + SYN_PM_PML4));
	memset(s->mem + p, 0, SYN_PM_SIZE);
}

static void do_kenter(struct synth *s, const struct pts_op *op, bool enter)
{
	uint64_t end = enter ? op->va + 4096 : op->end ? op->end : op->va + 4096;
	for (uint64_t off = op->va; off < end; off += 4096) {
		gpa_t p = s->kenter_pt + 8 * (off >> 12);
		uint64_t old = synth_r64(s, p);
		synth_w64(s, p, enter ? synth_arena_pa(op->page) | leaf_bits(PG_G, op->prot) : 0);
		if (old & PG_V)
			syn_shootdown(s, -1, s->desc.kenter_base + off);
	}
}

static uint32_t extract(struct synth *s, struct pts_op *op)
{
	gpa_t p = synth_pte_pa(s, op->pmap, op->va, 1);
	uint64_t pte = p ? synth_r64(s, p) : 0;
	if (!(pte & PG_V))
		return PTS_RES_NONE;
	op->value = ((pte & PG_FRAME) >> 12) - SYNTH_ARENA_FIRST_PFN;
	return PTS_RES_PAGE;
}

static uint32_t page_query(struct synth *s, gpa_t page, uint32_t attr, uint64_t bit)
{
	return (synth_r32(s, VMP(page, SYN_VMP_ATTRS)) & attr) || page_has_bit(s, page, bit)
	           ? PTS_RES_TRUE
	           : PTS_RES_FALSE;
}

/* an op as the guest runs it (guest/ops.c); the pmap it names must be alive
 * (P) or free (C), as its argument codes say; the other arguments are the
 * tests' to get right */
static uint32_t run(struct synth *s, struct pts_op *op)
{
	gpa_t page = synth_arena_pa(op->page);
	uint64_t end = op->end ? op->end : op->va + 4096;
	const char *args = pts_op_args(op->kind);
	if (args == NULL || (strchr(args, 'P') && !live(s, op->pmap)) ||
	    (strchr(args, 'C') && (op->pmap >= PTS_MAX_PMAPS || live(s, op->pmap))))
		return PTS_RES_EINVAL;
	switch (op->kind) {
	case PTS_OP_CREATE:
		do_create(s, op->pmap);
		break;
	case PTS_OP_DESTROY:
		do_destroy(s, op->pmap);
		break;
	case PTS_OP_ACTIVATE:
		activate(s, (int32_t)op->pmap);
		break;
	case PTS_OP_ENTER:
		return do_enter(s, op);
	case PTS_OP_REMOVE:
		remove_range(s, op->pmap, op->va, end);
		break;
	case PTS_OP_PROTECT:
		do_protect(s, op->pmap, op->va, end, op->prot);
		break;
	case PTS_OP_UNWIRE: {
		gpa_t p = synth_pte_pa(s, op->pmap, op->va, 1);
		if (p && (synth_r64(s, p) & PG_V))
			change_pte(s, op->pmap, op->va, p, synth_r64(s, p) & ~PTS_PTE_WIRED);
		break;
	}
	case PTS_OP_EXTRACT:
		return extract(s, op);
	case PTS_OP_PAGE_PROTECT:
		do_page_bits(s, page, (op->prot & PTS_PROT_WRITE) ? 0 : PG_RW,
		             (op->prot & PTS_PROT_EXEC) ? 0 : PG_NX, op->prot == 0);
		clear_flags(s, page);
		break;
	case PTS_OP_CLEAR_MODIFY:
		synth_w32(s, VMP(page, SYN_VMP_ATTRS),
		          synth_r32(s, VMP(page, SYN_VMP_ATTRS)) & ~PTS_ATTR_MODIFIED);
		do_page_bits(s, page, PG_M, 0, false);
		clear_flags(s, page);
		break;
	case PTS_OP_CLEAR_REFERENCE:
		synth_w32(s, VMP(page, SYN_VMP_ATTRS),
		          synth_r32(s, VMP(page, SYN_VMP_ATTRS)) & ~PTS_ATTR_REFERENCED);
		do_page_bits(s, page, PG_U, 0, false);
		break;
	case PTS_OP_IS_MODIFIED:
		return page_query(s, page, PTS_ATTR_MODIFIED, PG_M);
	case PTS_OP_IS_REFERENCED:
		return page_query(s, page, PTS_ATTR_REFERENCED, PG_U);
	case PTS_OP_TOUCH:
		return do_touch(s, op);
	case PTS_OP_KENTER:
		do_kenter(s, op, true);
		break;
	case PTS_OP_KREMOVE:
		do_kenter(s, op, false);
		break;
	case PTS_OP_ZERO:
		memset(s->mem + page, 0, 4096);
		break;
	case PTS_OP_COPY:
		memcpy(s->mem + synth_arena_pa(op->page2), s->mem + page, 4096);
		break;
	case PTS_OP_COLLECT:
		remove_range(s, op->pmap, 0, s->desc.user_max);
		break;
	case PTS_OP_FAIL_ALLOC:
		s->fail_in = op->value;
		break;
	default:
		PTS_BUG("op kind %s has no handler in the synthetic guest (tests/lib/synth_pmap.c)",
		        pts_op_name(op->kind));
	}
	return PTS_RES_OK;
}

/* ABI 5, several CPUs: an op that held a user pmap's lock drops it last,
 * after its shootdowns and frees, as the guest's pmap_unlock records it */
static void unlock_record(struct synth *s, const struct pts_op *op)
{
	uint64_t root;

	if (s->smp_pa == 0 || s->ncpus < 2 || op->result != PTS_RES_OK)
		return;
	if (op->kind != PTS_OP_ENTER && op->kind != PTS_OP_REMOVE && op->kind != PTS_OP_PROTECT &&
	    op->kind != PTS_OP_UNWIRE && op->kind != PTS_OP_COLLECT)
		return;
	root = synth_r64(s, synth_pmap_pa(s, op->pmap) + SYN_PM_PML4);
	if (root != 0)
		syn_tlb(s, PTS_TLB_UNLOCK, root, 0);
}

void synth_op(struct synth *s, struct pts_op *op)
{
	op->seq = ++s->seq;
	if (op->cpu >= s->ncpus) { /* a CPU that is not up: refused, as the guest does */
		op->result = PTS_RES_EINVAL;
		return;
	}
	syn_cpu_switch(s, op->cpu);
	op->result = run(s, op);
	unlock_record(s, op);
}

uint32_t synth_do(struct synth *s, struct pts_op *op, uint32_t kind, uint32_t pmap, uint64_t va,
                  uint64_t end, uint64_t page, uint32_t prot, uint32_t flags)
{
	*op = (struct pts_op){.kind = kind,
	                      .pmap = pmap,
	                      .va = va,
	                      .end = end,
	                      .page = page,
	                      .prot = prot,
	                      .flags = flags,
	                      .cpu = s->op_cpu};
	if (kind == PTS_OP_FAIL_ALLOC)
		op->value = page;
	synth_op(s, op);
	return op->result;
}
