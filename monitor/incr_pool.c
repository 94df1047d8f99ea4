/* monitor/incr_pool.c - the incremental update of the pv entry pool: the
 * pool structure is re-read every op (a few words), a pool page's header and
 * free list only when the guest wrote the page (or the kernel remapped it).
 * Pages keep their index in cur->pool.page while they stay in the pool.
 */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "desc.h"
#include "incr_plan.h"

/*
 * The item slots of a page: page + item_offset + k * size for k below
 * itemsperpage.  Full mode accepts any aligned slot in the page; the
 * incremental update steps aside for an item elsewhere (see incr_plan.h), so
 * it can look for items at these slots only.
 */
bool pool_item_slot(const struct pts_descriptor *d, uint32_t ipp, uint64_t page, uint64_t kva)
{
	if (kva < page + d->pool_item_offset || kva - page >= PTS_PAGE_SIZE)
		return false;
	uint64_t off = kva - page - d->pool_item_offset;
	return off % d->pv_entry_size == 0 && off / d->pv_entry_size < ipp;
}

#define FOR_EACH_SLOT(d, ipp, page, kva)                                                           \
	for (uint64_t kva = (page) + (d)->pool_item_offset;                                        \
	     kva < (page) + (d)->pool_item_offset + (uint64_t)(ipp) * (d)->pv_entry_size;          \
	     kva += (d)->pv_entry_size)

static int translate(struct kview *kv, const struct pool_page_snap *pg, struct pool_gpa *g)
{
	if (kva_to_gpa(kv, pg->hdr, &g->hdr) != 0 || kva_to_gpa(kv, pg->page, &g->page) != 0)
		return -1;
	g->hdr &= ~(uint64_t)(PTS_PAGE_SIZE - 1);
	g->page &= ~(uint64_t)(PTS_PAGE_SIZE - 1);
	return 0;
}

/* ---- plan */

/* the free list of a page read again: 0, 1 when only a fresh read can judge it */
static int plan_free_list(struct pool_plan *pl, struct kview *kv, struct pool_plan_page *pp)
{
	const struct pts_descriptor *d = kv->d;
	uint64_t bits[PTS_PAGE_SIZE / 8 / 64] = {0}; /* one bit per 8-byte slot of the page */
	uint64_t item = pp->pg.freelist;
	pp->items = pl->nitems;
	pp->nitems = 0;
	while (item != 0) {
		if (pp->nitems > pl->head.itemsperpage ||
		    !pool_item_slot(d, pl->head.itemsperpage, pp->pg.page, item))
			return 1;
		uint64_t k = (item - pp->pg.page) / 8;
		if (bits[k / 64] >> (k % 64) & 1)
			return 1;
		bits[k / 64] |= 1ull << (k % 64);
		if (array_reserve(&pl->items, &pl->items_cap, pl->nitems + 1, sizeof *pl->items,
		                  64) != 0)
			return -1;
		pl->items[pl->nitems++] = item;
		pp->nitems++;
		if (kva_read_u64(kv, item + d->off_item_next, &item) != 0)
			return 1;
	}
	pp->pg.nfree = (uint32_t)pp->nitems;
	return 0;
}

static int plan_reread(struct pool_plan *pl, const struct snapshot *s, struct kview *kv,
                       struct incr *x, struct pool_plan_page *pp)
{
	uint64_t idx, hdr = pp->pg.hdr;
	enum pool_list l = pp->pg.list;
	if (snap_read_pool_header(kv, hdr, l, &pp->pg) != 0 || pp->pg.page % PTS_PAGE_SIZE != 0 ||
	    translate(kv, &pp->pg, &pp->gpa) != 0)
		return 1;
	if (pp->idx != SIZE_MAX && pp->pg.page != s->pool.page[pp->idx].page)
		return 1;
	if (pp->idx == SIZE_MAX) {
		if (hmap_get(&x->pool_by_page, pp->pg.page, &idx) ||
		    hmap_get(&pl->new_pages, pp->pg.page, NULL))
			return 1; /* two headers for one page */
		if (hmap_put(&pl->new_pages, pp->pg.page, 1) != 0)
			return -1;
	}
	return plan_free_list(pl, kv, pp);
}

static void plan_reset(struct pool_plan *pl)
{
	pl->npage = pl->nitems = pl->nwritten = 0;
	pl->removed_any = pl->all_held = false;
	hmap_clear(&pl->hdrs);
	hmap_clear(&pl->new_pages);
}

static int push(struct pool_plan *pl, const struct pool_plan_page *pp)
{
	if (array_reserve(&pl->page, &pl->page_cap, pl->npage + 1, sizeof *pl->page, 64) != 0)
		return -1;
	pl->page[pl->npage++] = *pp;
	return 0;
}

/* existing page i was written (or remapped): read it again */
static int reread_written(struct pool_plan *pl, const struct snapshot *s, struct kview *kv,
                          struct incr *x, size_t i, bool *relinked)
{
	const struct pool_page_snap *pg = &s->pool.page[i];
	struct pool_plan_page pp = {i, *pg, x->pool_gpa[i], true, 0, 0};
	size_t items = pl->nitems;
	pl->seen[i] = POOL_DIRTY;
	if (array_reserve(&pl->written, &pl->written_cap, pl->nwritten + 1, sizeof *pl->written,
	                  64) != 0)
		return -1;
	pl->written[pl->nwritten++] = i;
	int rc = plan_reread(pl, s, kv, x, &pp);
	if (rc < 0)
		return -1;
	if (rc > 0) { /* not a pool page any more: fine if the lists left it */
		pl->seen[i] |= POOL_BAD;
		pl->nitems = items;
		*relinked = true;
		return 0;
	}
	pl->at[i] = (uint32_t)pl->npage;
	*relinked |= pp.pg.next != pg->next;
	return push(pl, &pp);
}

static bool written(const struct incr *x, struct kview *kv, const struct pool_page_snap *pg,
                    const struct pool_gpa *g)
{
	bool moved = x->kranges.n > 0 && (va_ranges_meet(&x->kranges, pg->hdr, 1) ||
	                                  va_ranges_meet(&x->kranges, pg->page, 1));
	return moved || gmem_page_dirty(kv->mem, g->hdr) ||
	       (g->page != g->hdr && gmem_page_dirty(kv->mem, g->page));
}

/*
 * Read again the pages the guest wrote (or the kernel remapped): from the
 * list of written pages when there is one, else asking for each page.  While
 * the heads and every written page's link stay as they were, so do the
 * lists: *relinked says they did not.
 */
static int plan_written(struct pool_plan *pl, const struct snapshot *s, struct kview *kv,
                        struct incr *x, bool *relinked)
{
	const struct pool_snap *old = &s->pool;
	uint64_t i;
	*relinked = memcmp(pl->head.head, old->head, sizeof old->head) != 0;
	memset(pl->seen, 0, old->npage);
	for (size_t k = 0; x->listed && x->kranges.n == 0 && k < x->ndirty; k++) {
		gpa_t pa = x->dirty[k] << PTS_PAGE_SHIFT;
		if (hmap_get(&x->pool_by_hdr_gpa, pa, &i) && pl->seen[i] == 0 &&
		    reread_written(pl, s, kv, x, i, relinked))
			return -1;
		if (hmap_get(&x->pool_by_gpa, pa, &i) && pl->seen[i] == 0 &&
		    reread_written(pl, s, kv, x, i, relinked))
			return -1;
	}
	for (i = 0; !(x->listed && x->kranges.n == 0) && i < old->npage; i++)
		if (written(x, kv, &old->page[i], &x->pool_gpa[i]) &&
		    reread_written(pl, s, kv, x, i, relinked) != 0)
			return -1;
	return 0;
}

/* index of the existing page with header hdr (following page i's link), or SIZE_MAX */
static size_t find_page(const struct pool_snap *old, struct incr *x, size_t i, uint64_t hdr)
{
	uint64_t idx;
	if (i != SIZE_MAX && x->pool_hint[i] < old->npage && old->page[x->pool_hint[i]].hdr == hdr)
		return x->pool_hint[i];
	if (!hmap_get(&x->pool_by_hdr, hdr, &idx))
		return SIZE_MAX;
	if (i != SIZE_MAX)
		x->pool_hint[i] = (uint32_t)idx; /* a cache of the old array: right or checked */
	return (size_t)idx;
}

/* one page on list l of the new lists: 0 and its link in *hdr, 1 to step aside */
static int walk_page(struct pool_plan *pl, const struct snapshot *s, struct kview *kv,
                     struct incr *x, int l, size_t *prev, uint64_t *hdr)
{
	const struct pool_snap *old = &s->pool;
	size_t idx = find_page(old, x, *prev, *hdr);
	*prev = idx;
	if (idx == SIZE_MAX) {
		struct pool_plan_page pp = {SIZE_MAX, {.hdr = *hdr, .list = l}, {0, 0}, true, 0, 0};
		if (hmap_get(&pl->hdrs, *hdr, NULL))
			return 1;
		int rc = hmap_put(&pl->hdrs, *hdr, 1) != 0 ? -1 : plan_reread(pl, s, kv, x, &pp);
		if (rc != 0 || push(pl, &pp) != 0)
			return rc > 0 ? 1 : -1;
		*hdr = pp.pg.next;
		return 0;
	}
	if (pl->seen[idx] & (POOL_HELD | POOL_BAD))
		return 1; /* reached twice, or no longer a pool page */
	pl->seen[idx] |= POOL_HELD;
	if (pl->seen[idx] & POOL_DIRTY) {
		pl->page[pl->at[idx]].pg.list = l;
		*hdr = pl->page[pl->at[idx]].pg.next;
		return 0;
	}
	if (old->page[idx].list != (enum pool_list)l) {
		struct pool_plan_page pp = {idx, old->page[idx], x->pool_gpa[idx], false, 0, 0};
		pp.pg.list = l;
		if (push(pl, &pp) != 0)
			return -1;
	}
	*hdr = old->page[idx].next;
	return 0;
}

static int walk_lists(struct pool_plan *pl, const struct snapshot *s, struct kview *kv,
                      struct incr *x)
{
	size_t max_pages = (size_t)desc_max_pool_pages(kv->d, kv->mem), held = 0;
	for (int l = POOL_PART; l <= POOL_EMPTY; l++) {
		size_t prev = SIZE_MAX;
		for (uint64_t hdr = pl->head.head[l]; hdr != 0; held++) {
			int rc = held >= max_pages ? 1 : walk_page(pl, s, kv, x, l, &prev, &hdr);
			if (rc != 0)
				return rc;
		}
	}
	for (size_t i = 0; i < s->pool.npage; i++)
		pl->removed_any |= !(pl->seen[i] & POOL_HELD);
	return 0;
}

int pool_plan(struct pool_plan *pl, const struct snapshot *s, struct kview *kv, struct incr *x,
              bool *fallback)
{
	const struct pool_snap *old = &s->pool;
	bool relinked;
	plan_reset(pl);
	*fallback = true;
	if (!old->ok || snap_read_pool_struct(kv, &pl->head) != 0 ||
	    pl->head.itemsperpage != old->itemsperpage)
		return 0;
	if (array_reserve(&pl->seen, &pl->seen_cap, old->npage + 1, 1, 64) != 0 ||
	    array_reserve(&pl->at, &pl->at_cap, old->npage + 1, sizeof *pl->at, 64) != 0)
		return -1;
	int rc = plan_written(pl, s, kv, x, &relinked);
	if (rc == 0 && relinked)
		rc = walk_lists(pl, s, kv, x);
	pl->all_held = rc == 0 && !relinked;
	*fallback = rc > 0;
	return rc < 0 ? -1 : 0;
}

bool pool_plan_page_gone(const struct pool_plan *pl, size_t i)
{
	return !pl->all_held && !(pl->seen[i] & POOL_HELD);
}

bool pool_plan_is_item(const struct pool_plan *pl, const struct snapshot *s,
                       const struct pts_descriptor *d, const struct incr *x, uint64_t kva)
{
	uint64_t page = kva & ~(uint64_t)(PTS_PAGE_SIZE - 1), idx;
	bool held = (hmap_get(&x->pool_by_page, page, &idx) && !pool_plan_page_gone(pl, idx)) ||
	            hmap_get(&pl->new_pages, page, NULL);
	return held && pool_item_slot(d, s->pool.itemsperpage, page, kva);
}

/* ---- commit */

static int set_items(struct pool_snap *p, const struct pts_descriptor *d, uint64_t page,
                     uint64_t from, uint64_t to)
{
	FOR_EACH_SLOT(d, p->itemsperpage, page, kva)
	{
		uint64_t v;
		if (!hmap_get(&p->free_item, kva, &v) || v != from)
			continue;
		if (to == SIZE_MAX)
			hmap_del(&p->free_item, kva);
		else if (hmap_put(&p->free_item, kva, to) != 0)
			return -1;
	}
	return 0;
}

static int add_items(struct pool_snap *p, const struct pool_plan *pl,
                     const struct pool_plan_page *pp, size_t idx)
{
	for (size_t k = 0; k < pp->nitems; k++)
		if (hmap_put(&p->free_item, pl->items[pp->items + k], idx) != 0)
			return -1;
	return 0;
}

/* the sums POOL-5 and POOL-6 compare, as pages come, go and change */
static void sum_page(struct incr *x, const struct pool_page_snap *pg, int sign)
{
	x->pool_nfree += (uint64_t)((int64_t)sign * pg->nfree);
	x->pool_nmissing += (uint64_t)((int64_t)sign * pg->nmissing);
	x->pool_nidle += (uint64_t)(int64_t)(sign * (pg->list == POOL_EMPTY));
}

static int index_page(struct incr *x, const struct pool_page_snap *pg, const struct pool_gpa *g,
                      size_t idx)
{
	if (array_reserve(&x->pool_gpa, &x->pool_gpa_cap, idx + 1, sizeof *x->pool_gpa, 64) != 0 ||
	    array_reserve(&x->pool_hint, &x->pool_hint_cap, idx + 1, sizeof *x->pool_hint, 64) !=
	        0 ||
	    hmap_put(&x->pool_by_hdr, pg->hdr, idx) != 0 ||
	    hmap_put(&x->pool_by_page, pg->page, idx) != 0 ||
	    hmap_put(&x->pool_by_gpa, g->page, idx) != 0 ||
	    hmap_put(&x->pool_by_hdr_gpa, g->hdr, idx) != 0)
		return -1;
	x->pool_gpa[idx] = *g;
	x->pool_hint[idx] = UINT32_MAX;
	return 0;
}

static int remove_page(struct pool_snap *p, const struct pts_descriptor *d, struct incr *x,
                       size_t idx)
{
	size_t last = p->npage - 1;
	const struct pool_page_snap *pg = &p->page[idx];
	sum_page(x, pg, -1);
	if (set_items(p, d, pg->page, idx, SIZE_MAX) != 0)
		return -1;
	hmap_del(&x->pool_by_hdr, pg->hdr);
	hmap_del(&x->pool_by_page, pg->page);
	hmap_del(&x->pool_by_gpa, x->pool_gpa[idx].page);
	hmap_del(&x->pool_by_hdr_gpa, x->pool_gpa[idx].hdr);
	if (idx != last) {
		p->page[idx] = p->page[last];
		if (set_items(p, d, p->page[idx].page, last, idx) != 0 ||
		    index_page(x, &p->page[idx], &x->pool_gpa[last], idx) != 0)
			return -1;
	}
	p->npage--;
	return 0;
}

static int commit_existing(struct pool_snap *p, struct pool_plan *pl,
                           const struct pts_descriptor *d, struct incr *x)
{
	for (size_t k = 0; k < pl->npage; k++) {
		const struct pool_plan_page *pp = &pl->page[k];
		if (pp->idx == SIZE_MAX || pool_plan_page_gone(pl, pp->idx))
			continue; /* new, or leaving the pool */
		if (pp->reread || p->page[pp->idx].list != pp->pg.list) {
			x->sc.pool_changed = true;
			if (idset_add(&x->sc.pool_pages, pp->pg.hdr) != 0)
				return -1;
		}
		sum_page(x, &p->page[pp->idx], -1);
		sum_page(x, &pp->pg, 1);
		if (!pp->reread) {
			p->page[pp->idx].list = pp->pg.list;
			continue;
		}
		if (set_items(p, d, pp->pg.page, pp->idx, SIZE_MAX) != 0 ||
		    add_items(p, pl, pp, pp->idx) != 0)
			return -1;
		hmap_del(&x->pool_by_gpa, x->pool_gpa[pp->idx].page);
		hmap_del(&x->pool_by_hdr_gpa, x->pool_gpa[pp->idx].hdr);
		if (hmap_put(&x->pool_by_gpa, pp->gpa.page, pp->idx) != 0 ||
		    hmap_put(&x->pool_by_hdr_gpa, pp->gpa.hdr, pp->idx) != 0)
			return -1;
		p->page[pp->idx] = pp->pg;
		x->pool_gpa[pp->idx] = pp->gpa;
	}
	return 0;
}

static int commit_new(struct pool_snap *p, struct pool_plan *pl, struct incr *x)
{
	for (size_t k = 0; k < pl->npage; k++) {
		const struct pool_plan_page *pp = &pl->page[k];
		size_t idx = p->npage;
		if (pp->idx != SIZE_MAX)
			continue;
		if (array_reserve(&p->page, &p->page_cap, idx + 1, sizeof *p->page, 64) != 0 ||
		    index_page(x, &pp->pg, &pp->gpa, idx) != 0 || add_items(p, pl, pp, idx) != 0 ||
		    idset_add(&x->sc.pool_pages, pp->pg.hdr) != 0)
			return -1;
		p->page[idx] = pp->pg;
		p->npage++;
		sum_page(x, &pp->pg, 1);
		x->sc.pool_changed = true;
	}
	return 0;
}

int pool_commit(struct snapshot *s, struct pool_plan *pl, const struct pts_descriptor *d,
                struct incr *x)
{
	struct pool_snap *p = &s->pool;
	size_t old_npage = p->npage;
	if (memcmp(p->head, pl->head.head, sizeof p->head) != 0 || p->nitems != pl->head.nitems ||
	    p->nout != pl->head.nout || p->npages != pl->head.npages ||
	    p->nidle != pl->head.nidle || p->minitems != pl->head.minitems ||
	    p->maxpages != pl->head.maxpages || pl->removed_any)
		x->sc.pool_changed = true;
	memcpy(p->head, pl->head.head, sizeof p->head);
	p->nitems = pl->head.nitems;
	p->nout = pl->head.nout;
	p->npages = pl->head.npages;
	p->nidle = pl->head.nidle;
	p->minitems = pl->head.minitems;
	p->maxpages = pl->head.maxpages;
	if (commit_existing(p, pl, d, x) != 0)
		return -1;
	for (size_t i = old_npage;
	     pl->removed_any && i-- > 0;) /* later indexes first: swaps stay valid */
		if (!(pl->seen[i] & POOL_HELD) && remove_page(p, d, x, i) != 0)
			return -1;
	return commit_new(p, pl, x);
}
