/* tests/lib/synth_pool.c - the synthetic image's pv entry pool, NetBSD pool(9)
 * style: on-page headers, partial/full/empty page lists, pages in the fixed
 * pv KVA window (FreeBSD 2006), idle pages released above maxpages.
 */
#include "pte.h"
#include "synth_impl.h"

#define PR(off) (s->pool_pa + (off))

gpa_t synth_kva_pa(const struct synth *s, uint64_t kva)
{
	const struct pts_descriptor *d = &s->desc;
	if (kva >= d->pv_kva_base && kva - d->pv_kva_base < d->pv_kva_size) {
		uint64_t pte = synth_r64(s, s->pv_pt + 8 * ((kva - d->pv_kva_base) >> 12));
		return (pte & PG_V) ? (pte & PG_FRAME) + (kva & 0xfff) : 0;
	}
	if (kva >= d->dmap_base && kva - d->dmap_base < d->dmap_size)
		return kva - d->dmap_base;
	return kva - d->kernbase;
}

static uint64_t kr64(const struct synth *s, uint64_t kva)
{
	return synth_r64(s, synth_kva_pa(s, kva));
}

static void kw64(struct synth *s, uint64_t kva, uint64_t v)
{
	synth_w64(s, synth_kva_pa(s, kva), v);
}

static void list_push(struct synth *s, uint32_t head, uint64_t hdr)
{
	kw64(s, hdr + SYN_PH_NEXT, synth_r64(s, PR(head)));
	synth_w64(s, PR(head), hdr);
}

static void list_remove(struct synth *s, uint32_t head, uint64_t hdr)
{
	uint64_t prev = 0, cur = synth_r64(s, PR(head));
	while (cur != 0 && cur != hdr) {
		prev = cur;
		cur = kr64(s, cur + SYN_PH_NEXT);
	}
	if (cur == 0)
		return;
	if (prev == 0)
		synth_w64(s, PR(head), kr64(s, cur + SYN_PH_NEXT));
	else
		kw64(s, prev + SYN_PH_NEXT, kr64(s, cur + SYN_PH_NEXT));
}

static void add32(struct synth *s, uint32_t off, int32_t delta)
{
	synth_w32(s, PR(off), synth_r32(s, PR(off)) + (uint32_t)delta);
}

static uint64_t new_pool_page(struct synth *s)
{
	uint32_t ipp = synth_r32(s, PR(SYN_PR_IPP));
	unsigned k = 0;
	while (k < 512 && s->pv_kva_used[k])
		k++;
	gpa_t pa = k < 512 ? syn_page_alloc(s, PTS_PG_POOL) : 0;
	if (pa == 0)
		return 0;
	s->pv_kva_used[k] = 1;
	uint64_t kva = s->desc.pv_kva_base + ((uint64_t)k << 12);
	synth_w64(s, s->pv_pt + 8ull * k, pa | PG_V | PG_RW | PG_G | PG_NX);
	kw64(s, kva + SYN_PH_PAGE, kva);
	for (uint32_t i = 0; i < ipp; i++) {
		uint64_t item = kva + SYN_ITEM_OFFSET + i * SYN_PVE_SIZE;
		kw64(s, item, i + 1 < ipp ? item + SYN_PVE_SIZE : 0);
	}
	kw64(s, kva + SYN_PH_FREELIST, kva + SYN_ITEM_OFFSET);
	list_push(s, SYN_PR_PART, kva);
	add32(s, SYN_PR_NPAGES, 1);
	add32(s, SYN_PR_NITEMS, (int32_t)ipp);
	return kva;
}

uint64_t syn_pool_get(struct synth *s)
{
	uint64_t hdr = synth_r64(s, PR(SYN_PR_PART));
	if (hdr == 0 && (hdr = synth_r64(s, PR(SYN_PR_EMPTY))) != 0) {
		list_remove(s, SYN_PR_EMPTY, hdr);
		list_push(s, SYN_PR_PART, hdr);
		add32(s, SYN_PR_NIDLE, -1);
	}
	if (hdr == 0 && (hdr = new_pool_page(s)) == 0)
		return 0;
	uint64_t item = kr64(s, hdr + SYN_PH_FREELIST);
	kw64(s, hdr + SYN_PH_FREELIST, kr64(s, item));
	synth_w32(s, synth_kva_pa(s, hdr + SYN_PH_NMISSING),
	          synth_r32(s, synth_kva_pa(s, hdr + SYN_PH_NMISSING)) + 1);
	add32(s, SYN_PR_NITEMS, -1);
	add32(s, SYN_PR_NOUT, 1);
	if (kr64(s, hdr + SYN_PH_FREELIST) == 0) {
		list_remove(s, SYN_PR_PART, hdr);
		list_push(s, SYN_PR_FULL, hdr);
	}
	for (unsigned i = 0; i < SYN_PVE_SIZE; i += 8)
		kw64(s, item + i, 0);
	return item;
}

static void release_page(struct synth *s, uint64_t hdr)
{
	uint32_t ipp = synth_r32(s, PR(SYN_PR_IPP));
	unsigned k = (unsigned)((hdr - s->desc.pv_kva_base) >> 12);
	gpa_t pa = synth_kva_pa(s, hdr) & PG_FRAME;
	list_remove(s, SYN_PR_EMPTY, hdr);
	synth_w64(s, s->pv_pt + 8ull * k, 0);
	syn_shootdown(s, -1, hdr);
	syn_page_free(s, pa);
	s->pv_kva_used[k] = 0;
	add32(s, SYN_PR_NPAGES, -1);
	add32(s, SYN_PR_NIDLE, -1);
	add32(s, SYN_PR_NITEMS, -(int32_t)ipp);
}

void syn_pool_put(struct synth *s, uint64_t item)
{
	uint64_t hdr = item & ~0xfffull;
	gpa_t nm = synth_kva_pa(s, hdr + SYN_PH_NMISSING);
	uint32_t ipp = synth_r32(s, PR(SYN_PR_IPP)), n = synth_r32(s, nm);
	kw64(s, item, kr64(s, hdr + SYN_PH_FREELIST));
	kw64(s, hdr + SYN_PH_FREELIST, item);
	synth_w32(s, nm, n - 1);
	add32(s, SYN_PR_NITEMS, 1);
	add32(s, SYN_PR_NOUT, -1);
	if (n == ipp) {
		list_remove(s, SYN_PR_FULL, hdr);
		list_push(s, SYN_PR_PART, hdr);
	}
	if (n - 1 == 0) {
		list_remove(s, SYN_PR_PART, hdr);
		list_push(s, SYN_PR_EMPTY, hdr);
		add32(s, SYN_PR_NIDLE, 1);
		if (synth_r32(s, PR(SYN_PR_NIDLE)) > synth_r32(s, PR(SYN_PR_MAXPAGES)))
			release_page(s, hdr);
	}
}
