/* monitor/inv_pool.c - POOL family: the pv entry pool's pages, free lists and
 * totals, its KVA window, and allocated = reachable.
 */
#include "check_ctx.h"
#include "monitor_impl.h"
#include "pte.h"

static struct violation *pool_vio(struct check *c, const struct pool_page_snap *pg, const char *msg)
{
	struct violation *v = vio(c, "%s", msg);
	if (v != NULL) {
		struct vobj *o = violation_add(v, VOBJ_POOL_PAGE);
		o->kva = pg->hdr;
		snprintf(o->detail, sizeof o->detail, "page 0x%llx list %d nmissing %u free %u",
		         (unsigned long long)pg->page, (int)pg->list, pg->nmissing, pg->nfree);
		violation_finish(v);
	}
	return v;
}

static void page_count(struct check *c, const struct pool_page_snap *pg)
{
	uint32_t ipp = c->cur->pool.itemsperpage;
	if (pg->nfree + pg->nmissing != ipp)
		vio_counter(pool_vio(c, pg, "free items + nmissing != itemsperpage"),
		            "free + nmissing", ipp, pg->nfree + pg->nmissing);
}

void inv_pool_page_count(struct check *c)
{
	each_pool_page(c, page_count);
}

static void page_list(struct check *c, const struct pool_page_snap *pg)
{
	uint32_t ipp = c->cur->pool.itemsperpage;
	bool ok = pg->list == POOL_EMPTY  ? pg->nmissing == 0
	          : pg->list == POOL_FULL ? pg->nmissing == ipp
	                                  : pg->nmissing > 0 && pg->nmissing < ipp;
	if (!ok)
		pool_vio(c, pg, "pool page on the wrong list for its nmissing");
}

void inv_pool_lists(struct check *c)
{
	each_pool_page(c, page_list);
}

static void free_item(struct check *c, uint64_t item, const struct pool_page_snap *pg)
{
	uint64_t off = item - pg->page;
	if (item < pg->page + c->d->pool_item_offset || off >= PTS_PAGE_SIZE ||
	    (off - c->d->pool_item_offset) % c->d->pv_entry_size != 0)
		pool_vio(c, pg, "free item not at an item boundary of its page");
	if (hmap_get(&c->cur->pv_by_kva, item, NULL))
		pool_vio(c, pg, "item both free and on a pv list");
}

static void page_kva(struct check *c, const struct pool_page_snap *pg)
{
	const struct pts_descriptor *d = c->d;
	gpa_t pa;
	if (pg->page < d->pv_kva_base || pg->page - d->pv_kva_base >= d->pv_kva_size ||
	    pg->page % PTS_PAGE_SIZE) {
		pool_vio(c, pg, "pool page outside the pv KVA window or not page aligned");
		return;
	}
	if (kva_to_gpa(&c->m->kv, pg->page, &pa) != 0) {
		pool_vio(c, pg, "pool page not mapped by the kernel pmap");
		return;
	}
	const struct vmp *v = snap_page(c->cur, d, pa);
	if (v == NULL || v->usage != PTS_PG_POOL)
		vio_page(pool_vio(c, pg, "pool page maps a page whose usage is not POOL"), c, pa);
}

void inv_pool_kva(struct check *c)
{
	each_pool_page(c, page_kva);
}

/* free items sit at item slots of their page, below itemsperpage (else the update steps aside) */
static void page_items(struct check *c, const struct pool_page_snap *pg)
{
	const struct pool_snap *p = &c->cur->pool;
	const struct pts_descriptor *d = c->d;
	uint64_t idx = (uint64_t)(pg - p->page), v;
	uint32_t found = 0;
	for (uint64_t k = 0; k < p->itemsperpage && found < pg->nfree; k++) {
		uint64_t kva = pg->page + d->pool_item_offset + k * d->pv_entry_size;
		if (hmap_get(&p->free_item, kva, &v) && v == idx)
			free_item(c, kva, pg), found++;
	}
}

/* a new pv entry that is a free item of a page not read again (a page read
 * again reported its own items already) */
static void new_pv_free(struct check *c, uint64_t pv, const void *unused)
{
	const struct pool_snap *p = &c->cur->pool;
	uint64_t i, hdr;
	if (hmap_get(&p->free_item, c->cur->pv[pv].kva, &i) &&
	    !(hmap_get(&c->inc->pool_by_hdr, hdr = p->page[i].hdr, NULL) &&
	      idset_has(&c->scope->pool_pages, hdr)))
		pool_vio(c, &p->page[i], "item both free and on a pv list");
}

/* every free item; scoped, the free items of the pool pages the op touched,
 * and the new pv entries that are free items of other pages */
void inv_pool_items(struct check *c)
{
	const struct pool_snap *p = &c->cur->pool;
	if (c->scope == NULL) {
		for (size_t i = 0; p->ok && i < p->free_item.cap; i++)
			if (p->free_item.used[i])
				free_item(c, p->free_item.keys[i], &p->page[p->free_item.vals[i]]);
		return;
	}
	each_pool_page(c, page_items);
	each_new_pv(c, new_pv_free, NULL);
}

static void pool_totals(struct check *c, uint64_t nfree, uint64_t nmissing, uint64_t nidle)
{
	const struct pool_snap *p = &c->cur->pool;
	const struct {
		const char *name;
		uint64_t want, found;
	} t[] = {{"pr_nitems", nfree, p->nitems},
	         {"pr_nout", nmissing, p->nout},
	         {"pr_npages", p->npage, p->npages},
	         {"pr_nidle", nidle, p->nidle}};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].want != t[i].found)
			vio_counter(vio(c, "pool %s %llu, its pages sum to %llu", t[i].name,
			                (unsigned long long)t[i].found,
			                (unsigned long long)t[i].want),
			            t[i].name, (int64_t)t[i].want, (int64_t)t[i].found);
}

/* free items, items out and idle pages summed over the pool's pages: counted
 * in a full check, kept as pool pages change in a scoped one */
static void pool_sums(const struct check *c, uint64_t *nfree, uint64_t *nmissing, uint64_t *nidle)
{
	const struct pool_snap *p = &c->cur->pool;
	if (c->scope != NULL) {
		*nfree = c->inc->pool_nfree, *nmissing = c->inc->pool_nmissing;
		*nidle = c->inc->pool_nidle;
		return;
	}
	*nfree = *nmissing = *nidle = 0;
	for (size_t i = 0; i < p->npage; i++) {
		*nfree += p->page[i].nfree;
		*nmissing += p->page[i].nmissing;
		*nidle += p->page[i].list == POOL_EMPTY;
	}
}

void inv_pool_totals(struct check *c)
{
	uint64_t nfree, nmissing, nidle;
	if (!c->cur->pool.ok)
		return;
	pool_sums(c, &nfree, &nmissing, &nidle);
	pool_totals(c, nfree, nmissing, nidle);
}

void inv_pool_high_water(struct check *c)
{
	const struct pool_snap *p = &c->cur->pool;
	uint64_t nfree, nmissing, idle;
	if (!p->ok)
		return;
	pool_sums(c, &nfree, &nmissing, &idle);
	if (idle > p->maxpages)
		vio_counter(vio(c, "%llu idle pool pages held, high-water mark %u",
		                (unsigned long long)idle, p->maxpages),
		            "idle pages", p->maxpages, (int64_t)idle);
}

void inv_pool_no_leak(struct check *c)
{
	const struct snapshot *s = c->cur;
	const struct pool_snap *p = &s->pool;
	if (!p->ok)
		return;
	if (p->nout != s->npv)
		vio_counter(vio(c, "pool nout %u, pv entries reachable from vm_page lists %zu",
		                p->nout, s->npv),
		            "pr_nout", (int64_t)s->npv, p->nout);
	if (c->scope != NULL)
		return; /* every pv entry is an item of a pool page, or the update steps aside */
	struct hmap pages;
	hmap_init(&pages);
	for (size_t i = 0; i < p->npage; i++)
		hmap_put(&pages, p->page[i].page, i);
	for (size_t i = 0; i < s->npv; i++) {
		uint64_t page = s->pv[i].kva & ~(uint64_t)(PTS_PAGE_SIZE - 1),
		         off = s->pv[i].kva - page;
		if (hmap_get(&pages, page, NULL) && off >= c->d->pool_item_offset &&
		    (off - c->d->pool_item_offset) % c->d->pv_entry_size == 0)
			continue;
		vio_pv(vio(c, "pv entry is not an item of a pool page"), c, &s->pv[i]);
	}
	hmap_free(&pages);
}
