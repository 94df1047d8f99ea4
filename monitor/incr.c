/* monitor/incr.c - the incremental check's life: build its indexes from a
 * freshly read snapshot (and decide whether that snapshot can be updated in
 * place at all), then for each op plan every part of the update, and commit
 * only when no plan stepped aside.
 */
#include "array.h"
#include "incr.h"

#include <stdlib.h>
#include <string.h>

#include "incr_plan.h"
#include "monitor_impl.h"
#include "pte.h"

void incr_init(struct incr *x)
{
	memset(x, 0, sizeof *x);
	scope_init(&x->sc);
	hmap_init(&x->pool_by_hdr);
	hmap_init(&x->pool_by_page);
	hmap_init(&x->pool_by_gpa);
	hmap_init(&x->rmap_head);
	hmap_init(&x->rmap_next);
	hmap_init(&x->array_by_gpa);
	hmap_init(&x->pool_by_hdr_gpa);
}

static void free_plans(struct incr *x)
{
	if (x->pool != NULL) {
		free(x->pool->page);
		free(x->pool->items);
		free(x->pool->seen);
		free(x->pool->at);
		free(x->pool->written);
		hmap_free(&x->pool->hdrs);
		hmap_free(&x->pool->new_pages);
	}
	if (x->pv != NULL) {
		idset_free(&x->pv->lists);
		free(x->pv->ent);
		free(x->pv->first);
		hmap_free(&x->pv->kvas);
		hmap_free(&x->pv->keys);
	}
	if (x->pmaps != NULL) {
		free(x->pmaps->hash);
		free(x->pmaps->list_hash);
	}
	if (x->vmps != NULL) {
		free(x->vmps->index);
		free(x->vmps->raw);
		free(x->vmps->pages);
	}
	free(x->pmaps);
	free(x->vmps);
	free(x->pool);
	free(x->pv);
	walk_plan_free(x->walk);
}

void incr_free(struct incr *x)
{
	free_plans(x);
	scope_free(&x->sc);
	free(x->array_gpa);
	free(x->pool_gpa);
	free(x->pool_hint);
	free(x->list_head);
	free(x->pv_next);
	free(x->page_mapped);
	free(x->page_writable);
	free(x->page_mod);
	free(x->page_ref);
	free(x->kranges.r);
	hmap_free(&x->pool_by_hdr);
	hmap_free(&x->pool_by_page);
	hmap_free(&x->pool_by_gpa);
	hmap_free(&x->rmap_head);
	hmap_free(&x->rmap_next);
	hmap_free(&x->array_by_gpa);
	hmap_free(&x->pool_by_hdr_gpa);
	free(x->dirty);
	incr_init(x);
}

void incr_invalidate(struct incr *x)
{
	x->valid = false;
}

int32_t incr_old_slot(const struct incr *x, uint32_t owner)
{
	if (owner == 0 || owner >= x->old_npmap || !x->old_pmap[owner].live)
		return owner == 0 ? VIO_SLOT_KERNEL : VIO_SLOT_NONE;
	return (int32_t)x->old_pmap[owner].slot;
}

static int alloc_plans(struct incr *x)
{
	if (x->walk != NULL)
		return 0;
	x->walk = walk_plan_new();
	x->pmaps = calloc(1, sizeof *x->pmaps);
	x->vmps = calloc(1, sizeof *x->vmps);
	x->pool = calloc(1, sizeof *x->pool);
	x->pv = calloc(1, sizeof *x->pv);
	if (x->walk == NULL || x->pmaps == NULL || x->vmps == NULL || x->pool == NULL ||
	    x->pv == NULL)
		return -1;
	hmap_init(&x->pool->hdrs);
	hmap_init(&x->pool->new_pages);
	idset_init(&x->pv->lists);
	hmap_init(&x->pv->kvas);
	hmap_init(&x->pv->keys);
	return 0;
}

/* ---- indexes of a fresh snapshot */

static bool only_tlb_issues(const struct snapshot *s)
{
	for (size_t i = 0; i < s->nissue; i++)
		if (strcmp(s->issue[i].inv, "TLB-3") != 0)
			return false;
	return true;
}

static int build_array(struct incr *x, struct kview *kv, bool *ok)
{
	const struct pts_descriptor *d = kv->d;
	uint64_t start = d->vm_page_array & ~(uint64_t)(PTS_PAGE_SIZE - 1);
	uint64_t end = d->vm_page_array + d->vm_page_count * d->vm_page_size;
	size_t n = (size_t)((end - start + PTS_PAGE_SIZE - 1) / PTS_PAGE_SIZE);
	gpa_t *a = realloc(x->array_gpa, (n ? n : 1) * sizeof *a);
	if (a == NULL)
		return -1;
	x->array_gpa = a;
	x->narray = n;
	x->array_aliased = false;
	hmap_clear(&x->array_by_gpa);
	for (size_t p = 0; p < n && *ok; p++) {
		uint64_t kva = start + p * PTS_PAGE_SIZE;
		*ok = kva_to_gpa(kv, kva > d->vm_page_array ? kva : d->vm_page_array, &a[p]) == 0;
		a[p] &= ~(uint64_t)(PTS_PAGE_SIZE - 1);
		x->array_aliased |= hmap_get(&x->array_by_gpa, a[p], NULL);
		if (*ok && hmap_put(&x->array_by_gpa, a[p], p) != 0)
			return -1;
	}
	return 0;
}

/* pool pages by header, page and PA; free items at item slots of their own page */
static int build_pool(struct incr *x, const struct snapshot *s, struct kview *kv, bool *ok)
{
	const struct pool_snap *p = &s->pool;
	hmap_clear(&x->pool_by_hdr);
	hmap_clear(&x->pool_by_page);
	hmap_clear(&x->pool_by_gpa);
	hmap_clear(&x->pool_by_hdr_gpa);
	if (array_reserve(&x->pool_gpa, &x->pool_gpa_cap, p->npage + 1, sizeof *x->pool_gpa, 64) !=
	        0 ||
	    array_reserve(&x->pool_hint, &x->pool_hint_cap, p->npage + 1, sizeof *x->pool_hint,
	                  64) != 0)
		return -1;
	memset(x->pool_hint, 0xff, p->npage * sizeof *x->pool_hint);
	for (size_t i = 0; i < p->npage && *ok; i++) {
		const struct pool_page_snap *pg = &p->page[i];
		struct pool_gpa *g = &x->pool_gpa[i];
		*ok = pg->page % PTS_PAGE_SIZE == 0 &&
		      !hmap_get(&x->pool_by_page, pg->page, NULL) &&
		      kva_to_gpa(kv, pg->hdr, &g->hdr) == 0 &&
		      kva_to_gpa(kv, pg->page, &g->page) == 0;
		g->hdr &= ~(uint64_t)(PTS_PAGE_SIZE - 1);
		*ok = *ok && !hmap_get(&x->pool_by_hdr_gpa, g->hdr, NULL); /* one header per page */
		if (*ok && (hmap_put(&x->pool_by_hdr, pg->hdr, i) != 0 ||
		            hmap_put(&x->pool_by_page, pg->page, i) != 0 ||
		            hmap_put(&x->pool_by_gpa, g->page, i) != 0 ||
		            hmap_put(&x->pool_by_hdr_gpa, g->hdr, i) != 0))
			return -1;
	}
	x->pool_nfree = x->pool_nmissing = x->pool_nidle = 0;
	for (size_t i = 0; i < p->npage; i++) {
		x->pool_nfree += p->page[i].nfree;
		x->pool_nmissing += p->page[i].nmissing;
		x->pool_nidle += p->page[i].list == POOL_EMPTY;
	}
	for (size_t i = 0; i < p->free_item.cap && *ok; i++)
		if (p->free_item.used[i])
			*ok = pool_item_slot(kv->d, p->itemsperpage,
			                     p->page[p->free_item.vals[i]].page,
			                     p->free_item.keys[i]);
	return 0;
}

/* pv lists as chains; every entry a pool item; no (pmap, va) twice */
static int build_pv(struct incr *x, const struct snapshot *s, const struct pts_descriptor *d,
                    bool *ok)
{
	uint32_t *tail = calloc(s->nvmp ? s->nvmp : 1, sizeof *tail);
	uint32_t *head = realloc(x->list_head, (s->nvmp ? s->nvmp : 1) * sizeof *head);
	size_t keyed = 0;
	if (head != NULL)
		x->list_head = head;
	if (tail == NULL || head == NULL ||
	    array_reserve(&x->pv_next, &x->pv_next_cap, s->npv + 1, 4, 64) != 0) {
		free(tail);
		return -1;
	}
	memset(head, 0, s->nvmp * sizeof *head);
	for (size_t i = 0; i < s->npv; i++) {
		const struct pv_snap *pv = &s->pv[i];
		uint64_t idx, page = pv->kva & ~(uint64_t)(PTS_PAGE_SIZE - 1);
		x->pv_next[i] = 0;
		if (tail[pv->page] != 0)
			x->pv_next[tail[pv->page] - 1] = (uint32_t)(i + 1);
		else
			head[pv->page] = (uint32_t)(i + 1);
		tail[pv->page] = (uint32_t)(i + 1);
		keyed += pv->owner >= 0;
		*ok &= hmap_get(&x->pool_by_page, page, &idx) &&
		       pool_item_slot(d, s->pool.itemsperpage, page, pv->kva);
	}
	*ok &= keyed == s->pv_by_va.len;
	free(tail);
	return 0;
}

static int alloc_counts(struct incr *x, size_t n)
{
	uint32_t **a[] = {&x->page_mapped, &x->page_writable, &x->page_mod, &x->page_ref};
	for (size_t i = 0; i < 4; i++) {
		uint32_t *p = realloc(*a[i], (n ? n : 1) * sizeof *p);
		if (p == NULL)
			return -1;
		memset(p, 0, n * sizeof *p);
		*a[i] = p;
	}
	hmap_clear(&x->rmap_head);
	hmap_clear(&x->rmap_next);
	memset(x->owner_leaves, 0, sizeof x->owner_leaves);
	memset(x->owner_wired, 0, sizeof x->owner_wired);
	memset(x->owner_ptps, 0, sizeof x->owner_ptps);
	return 0;
}

static int build(struct monitor *m)
{
	struct incr *x = &m->inc;
	const struct snapshot *s = &m->snap[m->cur];
	bool ok = only_tlb_issues(s) && s->walk.nissue == 0 && s->pool.ok &&
	          s->nvmp == m->desc.vm_page_count;
	x->valid = true;
	x->usable = false;
	if (!ok)
		return 0;
	if (alloc_plans(x) != 0 || build_array(x, &m->kv, &ok) != 0 ||
	    (ok && build_pool(x, s, &m->kv, &ok) != 0) ||
	    (ok && build_pv(x, s, &m->desc, &ok) != 0) || (ok && alloc_counts(x, s->nvmp) != 0))
		return -1;
	if (ok && incr_count_all(x, s, &m->desc) != 0)
		return -1;
	x->usable = ok;
	return 0;
}

/* ---- one op */

/* the pages the guest wrote, when the provider lists them (gmem.dirty_pfns) */
static int list_dirty(struct incr *x, const struct gmem *mem)
{
	uint64_t pages = mem->size / PTS_PAGE_SIZE;
	x->ndirty = 0;
	x->listed = mem->dirty_pfns != NULL && mem->page_dirty != NULL;
	if (!x->listed)
		return 0;
	if (array_reserve(&x->dirty, &x->dirty_cap, mem->ndirty_pfns, sizeof *x->dirty, 64) != 0)
		return -1;
	for (uint64_t k = 0; k < mem->ndirty_pfns; k++)
		if (mem->dirty_pfns[k] < pages)
			x->dirty[x->ndirty++] = mem->dirty_pfns[k];
	return 0;
}

static int plan_walk(struct monitor *m, const struct walk_root *roots, size_t nroots,
                     bool *fallback)
{
	struct incr *x = &m->inc;
	struct walk_params wp = {.mem = m->mem,
	                         .kernel_slot_first = m->desc.kernel_slot_first,
	                         .kernel_slot_last = m->desc.kernel_slot_last,
	                         .max_ptps = m->max_ptps,
	                         .dirty_pfn = x->dirty,
	                         .ndirty = x->ndirty,
	                         .dirty_listed = x->listed};
	x->kranges.n = 0;
	return walk_plan(x->walk, &m->snap[m->cur].walk, &wp, roots, nroots, &x->kranges, fallback);
}

/* the tables first (they say whether the kernel remapped anything), then the pmaps */
static int plan_tables_pmaps(struct monitor *m, bool *fallback)
{
	struct incr *x = &m->inc;
	struct snapshot *s = &m->snap[m->cur];
	struct walk_root roots[SNAP_MAX_PMAPS];
	for (size_t i = 0; i < s->npmap; i++)
		roots[i] = (struct walk_root){s->pmap[i].root, s->pmap[i].kernel, !s->pmap[i].live};
	if (plan_walk(m, roots, s->npmap, fallback) != 0 || *fallback)
		return *fallback ? 0 : -1;
	if (x->kranges.n > 0)
		kview_flush(&m->kv); /* the kernel page table changed: translate again */
	int rc = pmap_plan(x->pmaps, s, &m->kv, fallback);
	if (rc != 0 || *fallback || !x->pmaps->relisted)
		return rc;
	size_t n = pmap_plan_roots(x->pmaps, s, roots); /* a pmap came or went: its tables too */
	return plan_walk(m, roots, n, fallback);
}

static int plan_all(struct monitor *m, bool *fallback)
{
	struct incr *x = &m->inc;
	struct snapshot *s = &m->snap[m->cur];
	if (plan_tables_pmaps(m, fallback) != 0 || *fallback)
		return *fallback ? 0 : -1;
	if (vmp_plan(x->vmps, s, &m->kv, x, fallback) != 0 || *fallback)
		return *fallback ? 0 : -1;
	if (pool_plan(x->pool, s, &m->kv, x, fallback) != 0 || *fallback)
		return *fallback ? 0 : -1;
	return pv_plan(x->pv, s, &m->kv, x, x->vmps, x->pool, x->pmaps, m->max_pv, fallback);
}

static int commit_all(struct monitor *m)
{
	struct incr *x = &m->inc;
	struct snapshot *s = &m->snap[m->cur];
	memcpy(x->old_pmap, s->pmap, sizeof s->pmap);
	x->old_npmap = s->npmap;
	x->old_nout = s->pool.nout;
	x->old_pool_ok = s->pool.ok;
	m->delta.n = 0;
	if (walk_commit(x->walk, &m->delta) != 0)
		return -1;
	if (pmap_commit(s, x->pmaps, &m->desc, &x->sc) != 0 ||
	    vmp_commit(s, x->vmps, &m->desc, &x->sc) != 0 ||
	    pool_commit(s, x->pool, &m->desc, x) != 0 || pv_commit(s, x->pv, x) != 0)
		return -1;
	for (size_t i = 0; i < m->delta.n; i++) {
		struct pte_change *c = &m->delta.chg[i];
		c->slot = c->flags & PTE_CHG_DETACHED ? incr_old_slot(x, c->owner)
		                                      : snap_slot(s, c->owner);
	}
	s->nissue = 0;
	snap_read_tlb_head(s, &m->kv);
	return incr_count_delta(x, s, &m->desc, &m->delta, &m->model);
}

int incr_update(struct monitor *m)
{
	struct incr *x = &m->inc;
	bool fallback;
	if (!x->valid && build(m) != 0)
		return -1;
	if (!x->usable)
		return 1;
	if (list_dirty(x, m->mem) != 0 || plan_all(m, &fallback) != 0)
		return -1;
	if (fallback)
		return 1;
	if (commit_all(m) != 0) {
		x->valid = false;
		return -1;
	}
	return 0;
}
