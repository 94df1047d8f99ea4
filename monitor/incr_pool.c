/* monitor/incr_pool.c - the incremental update of the pv entry pool: the
 * pool structure is re-read every op (a few words), a pool page's header and
 * free list only when the guest wrote the page (or the kernel remapped it).
 * Pages keep their index in cur->pool.page while they stay in the pool.
 */
#include <stdlib.h>
#include <string.h>

#include "desc.h"
#include "incr_plan.h"

bool pool_item_slot(const struct pts_descriptor *d, uint32_t ipp, uint64_t page, uint64_t kva)
{
	(void)ipp;
	if (kva < page + d->pool_item_offset || kva - page >= PTS_PAGE_SIZE)
		return false;
	return (kva - page - d->pool_item_offset) % d->pv_entry_size == 0;
}

/* the item slots of a page: page + item_offset + k * size, while inside the page */
#define FOR_EACH_SLOT(d, page, kva)                                                     \
	for (uint64_t kva = (page) + (d)->pool_item_offset; kva - (page) < PTS_PAGE_SIZE; \
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
		if (pp->nitems > pl->head.itemsperpage || !pool_item_slot(d, 0, pp->pg.page, item))
			return 1;
		uint64_t k = (item - pp->pg.page) / 8;
		if (bits[k / 64] >> (k % 64) & 1)
			return 1;
		bits[k / 64] |= 1ull << (k % 64);
		if (walk_grow((void **)&pl->items, &pl->items_cap, pl->nitems + 1, sizeof *pl->items) != 0)
			return -1;
		pl->items[pl->nitems++] = item;
		pp->nitems++;
		if (kva_read_u64(kv, item + d->off_item_next, &item) != 0)
			return 1;
	}
	pp->pg.nfree = (uint32_t)pp->nitems;
	return 0;
}

static int plan_reread(struct pool_plan *pl, const struct snapshot *s, struct kview *kv, struct incr *x,
		       struct pool_plan_page *pp)
{
	uint64_t idx, hdr = pp->pg.hdr;
	enum pool_list l = pp->pg.list;
	if (snap_read_pool_header(kv, hdr, l, &pp->pg) != 0 || pp->pg.page % PTS_PAGE_SIZE != 0 ||
	    translate(kv, &pp->pg, &pp->gpa) != 0)
		return 1;
	if (pp->idx != SIZE_MAX && pp->pg.page != s->pool.page[pp->idx].page)
		return 1;
	if (pp->idx == SIZE_MAX) {
		if (hmap_get(&x->pool_by_page, pp->pg.page, &idx) || hmap_get(&pl->new_pages, pp->pg.page, NULL))
			return 1; /* two headers for one page */
		if (hmap_put(&pl->new_pages, pp->pg.page, 1) != 0)
			return -1;
	}
	return plan_free_list(pl, kv, pp);
}

static int plan_page(struct pool_plan *pl, const struct snapshot *s, struct kview *kv, struct incr *x,
		     uint64_t hdr, enum pool_list l, uint64_t *next)
{
	struct pool_plan_page pp = {SIZE_MAX, {.hdr = hdr, .list = l}, {0, 0}, true, 0, 0};
	uint64_t idx;
	if (hmap_get(&x->pool_by_hdr, hdr, &idx)) {
		pp.idx = idx;
		pp.pg = s->pool.page[idx];
		pp.pg.list = l;
		pp.gpa = x->pool_gpa[idx];
		bool moved = va_ranges_meet(&x->kranges, hdr, 1) || va_ranges_meet(&x->kranges, pp.pg.page, 1);
		if (moved && translate(kv, &pp.pg, &pp.gpa) != 0)
			return 1;
		pp.reread = moved || gmem_page_dirty(kv->mem, pp.gpa.hdr) || gmem_page_dirty(kv->mem, pp.gpa.page);
		pl->seen[idx] = pp.reread ? 2 : 1;
	}
	int rc = pp.reread ? plan_reread(pl, s, kv, x, &pp) : 0;
	if (rc != 0)
		return rc;
	if (walk_grow((void **)&pl->page, &pl->page_cap, pl->npage + 1, sizeof *pl->page) != 0)
		return -1;
	pl->page[pl->npage++] = pp;
	*next = pp.pg.next;
	return 0;
}

static void plan_reset(struct pool_plan *pl)
{
	pl->npage = pl->nitems = 0;
	pl->removed_any = false;
	hmap_clear(&pl->hdrs);
	hmap_clear(&pl->new_pages);
}

/*
 * Read again the pages the guest wrote (or the kernel remapped).  While the
 * heads and every written page's link stay as they were, so do the lists:
 * *relinked says they did not.
 */
static int plan_written(struct pool_plan *pl, const struct snapshot *s, struct kview *kv, struct incr *x,
			bool *relinked)
{
	const struct pool_snap *old = &s->pool;
	*relinked = memcmp(pl->head.head, old->head, sizeof old->head) != 0;
	for (size_t i = 0; i < old->npage && !*relinked; i++) {
		const struct pool_page_snap *pg = &old->page[i];
		struct pool_plan_page pp = {i, *pg, x->pool_gpa[i], true, 0, 0};
		bool moved = x->kranges.n > 0 &&
			     (va_ranges_meet(&x->kranges, pg->hdr, 1) || va_ranges_meet(&x->kranges, pg->page, 1));
		bool dirty = moved || gmem_page_dirty(kv->mem, pp.gpa.hdr) ||
			     (pp.gpa.page != pp.gpa.hdr && gmem_page_dirty(kv->mem, pp.gpa.page));
		pl->seen[i] = dirty ? 2 : 1;
		if (!dirty)
			continue;
		int rc = plan_reread(pl, s, kv, x, &pp);
		if (rc != 0)
			return rc;
		if (walk_grow((void **)&pl->page, &pl->page_cap, pl->npage + 1, sizeof *pl->page) != 0)
			return -1;
		pl->page[pl->npage++] = pp;
		*relinked = pp.pg.next != pg->next;
	}
	return 0;
}

int pool_plan(struct pool_plan *pl, const struct snapshot *s, struct kview *kv, struct incr *x, bool *fallback)
{
	const struct pool_snap *old = &s->pool;
	size_t max_pages = kv->d->pv_kva_size / PTS_PAGE_SIZE + 1;
	bool relinked;
	plan_reset(pl);
	*fallback = true;
	if (!old->ok || snap_read_pool_struct(kv, &pl->head) != 0 || pl->head.itemsperpage != old->itemsperpage)
		return 0;
	if (walk_grow((void **)&pl->seen, &pl->seen_cap, old->npage + 1, 1) != 0)
		return -1;
	int rc = plan_written(pl, s, kv, x, &relinked);
	if (rc != 0 || !relinked) {
		*fallback = rc > 0;
		return rc < 0 ? -1 : 0;
	}
	plan_reset(pl); /* the lists changed: walk them */
	memset(pl->seen, 0, old->npage);
	for (int l = POOL_PART; l <= POOL_EMPTY; l++) {
		for (uint64_t hdr = pl->head.head[l]; hdr != 0;) {
			if (hmap_get(&pl->hdrs, hdr, NULL) || pl->npage >= max_pages)
				return 0;
			if (hmap_put(&pl->hdrs, hdr, 1) != 0)
				return -1;
			rc = plan_page(pl, s, kv, x, hdr, l, &hdr);
			if (rc != 0)
				return rc < 0 ? -1 : 0;
		}
	}
	for (size_t i = 0; i < old->npage; i++)
		pl->removed_any |= pl->seen[i] == 0;
	*fallback = false;
	return 0;
}

bool pool_plan_page_gone(const struct pool_plan *pl, size_t i)
{
	return pl->seen[i] == 0;
}

bool pool_plan_page_reread(const struct pool_plan *pl, size_t i)
{
	return pl->seen[i] != 1;
}

bool pool_plan_is_item(const struct pool_plan *pl, const struct snapshot *s, const struct pts_descriptor *d,
		       const struct incr *x, uint64_t kva)
{
	uint64_t page = kva & ~(uint64_t)(PTS_PAGE_SIZE - 1), idx;
	bool held = (hmap_get(&x->pool_by_page, page, &idx) && pl->seen[idx] != 0) ||
		    hmap_get(&pl->new_pages, page, NULL);
	return held && pool_item_slot(d, s->pool.itemsperpage, page, kva);
}

/* ---- commit */

static int set_items(struct pool_snap *p, const struct pts_descriptor *d, uint64_t page, uint64_t from,
		     uint64_t to)
{
	FOR_EACH_SLOT(d, page, kva)
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

static int add_items(struct pool_snap *p, const struct pool_plan *pl, const struct pool_plan_page *pp, size_t idx)
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

static int index_page(struct incr *x, const struct pool_page_snap *pg, const struct pool_gpa *g, size_t idx)
{
	if (walk_grow((void **)&x->pool_gpa, &x->pool_gpa_cap, idx + 1, sizeof *x->pool_gpa) != 0 ||
	    hmap_put(&x->pool_by_hdr, pg->hdr, idx) != 0 || hmap_put(&x->pool_by_page, pg->page, idx) != 0 ||
	    hmap_put(&x->pool_by_gpa, g->page, idx) != 0)
		return -1;
	x->pool_gpa[idx] = *g;
	return 0;
}

static int remove_page(struct pool_snap *p, const struct pts_descriptor *d, struct incr *x, size_t idx)
{
	size_t last = p->npage - 1;
	const struct pool_page_snap *pg = &p->page[idx];
	sum_page(x, pg, -1);
	if (set_items(p, d, pg->page, idx, SIZE_MAX) != 0)
		return -1;
	hmap_del(&x->pool_by_hdr, pg->hdr);
	hmap_del(&x->pool_by_page, pg->page);
	hmap_del(&x->pool_by_gpa, x->pool_gpa[idx].page);
	if (idx != last) {
		p->page[idx] = p->page[last];
		if (set_items(p, d, p->page[idx].page, last, idx) != 0 ||
		    index_page(x, &p->page[idx], &x->pool_gpa[last], idx) != 0)
			return -1;
	}
	p->npage--;
	return 0;
}

static int commit_existing(struct pool_snap *p, struct pool_plan *pl, const struct pts_descriptor *d,
			   struct incr *x)
{
	for (size_t k = 0; k < pl->npage; k++) {
		const struct pool_plan_page *pp = &pl->page[k];
		if (pp->idx == SIZE_MAX)
			continue;
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
		if (set_items(p, d, pp->pg.page, pp->idx, SIZE_MAX) != 0 || add_items(p, pl, pp, pp->idx) != 0)
			return -1;
		hmap_del(&x->pool_by_gpa, x->pool_gpa[pp->idx].page);
		if (hmap_put(&x->pool_by_gpa, pp->gpa.page, pp->idx) != 0)
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
		if (walk_grow((void **)&p->page, &p->page_cap, idx + 1, sizeof *p->page) != 0 ||
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

int pool_commit(struct snapshot *s, struct pool_plan *pl, const struct pts_descriptor *d, struct incr *x)
{
	struct pool_snap *p = &s->pool;
	size_t old_npage = p->npage;
	if (memcmp(p->head, pl->head.head, sizeof p->head) != 0 || p->nitems != pl->head.nitems ||
	    p->nout != pl->head.nout || p->npages != pl->head.npages || p->nidle != pl->head.nidle ||
	    p->minitems != pl->head.minitems || p->maxpages != pl->head.maxpages || pl->removed_any)
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
	for (size_t i = old_npage; i-- > 0;) /* later indexes first: swaps stay valid */
		if (pl->seen[i] == 0 && remove_page(p, d, x, i) != 0)
			return -1;
	return commit_new(p, pl, x);
}
