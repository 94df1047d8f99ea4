/* monitor/incr_pv.c - the incremental update of the pv lists.  A list is
 * read again when its head (in the vm_page) changed or one of its entries
 * sits on a pool page the guest wrote; every other list is as it was.  The
 * lists are kept as chains over cur->pv (incr.list_head, incr.pv_next).
 */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "desc.h"
#include "incr_plan.h"

/* the pv list head vm_page i has after the op */
static uint64_t new_head(const struct vmp_plan *vp, const struct snapshot *s,
                         const struct pts_descriptor *d, uint64_t i)
{
	size_t lo = 0, hi = vp->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (vp->index[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < vp->n && vp->index[lo] == i)
		return le_field(vp->raw + lo * d->vm_page_size, d->off_vmp_pv_list, 8);
	return s->vmp[i].pv_list;
}

/* the entries held on a pool page the guest wrote: a list is read again when one of them changed */
static int written_entries(struct pv_plan *pv, const struct snapshot *s, struct kview *kv,
                           uint64_t page, bool gone)
{
	const struct pts_descriptor *d = kv->d;
	uint8_t buf[PTS_PAGE_SIZE];
	uint64_t e, len = d->pool_item_offset + (uint64_t)s->pool.itemsperpage * d->pv_entry_size;
	bool readable = !gone && len <= PTS_PAGE_SIZE && kva_read(kv, page, buf, len) == 0;
	for (uint64_t kva = page + d->pool_item_offset; kva - page < len; kva += d->pv_entry_size) {
		if (!hmap_get(&s->pv_by_kva, kva, &e))
			continue;
		const struct pv_snap *o = &s->pv[e];
		struct pv_snap n;
		if (readable)
			snap_parse_pv_entry(d, buf + (kva - page), kva, o->page, &n);
		bool same = readable && n.pmap == o->pmap && n.va == o->va && n.ptp == o->ptp &&
		            n.next == o->next;
		if (!same && idset_add(&pv->lists, o->page) != 0)
			return -1;
	}
	return 0;
}

/* the owner (pmap id) of a pv entry naming pmap kva, as the op leaves the pmaps */
static int32_t owner_of(const struct pmap_plan *pp, uint64_t kva)
{
	for (size_t i = 0; i < pp->npmap; i++)
		if (pp->pmap[i].live && pp->pmap[i].kva == kva)
			return (int32_t)i;
	return -1;
}

/* a pmap came or went: entries naming it change owner, their lists are read again */
static int relisted_entries(struct pv_plan *pv, const struct snapshot *s,
                            const struct pmap_plan *pp)
{
	uint64_t kvas[SNAP_MAX_PMAPS];
	size_t n = 0;
	for (size_t i = 0; i < (pp->npmap > s->npmap ? pp->npmap : s->npmap); i++)
		if (pp->changed[i] && pp->pmap[i].live != s->pmap[i].live)
			kvas[n++] = pp->pmap[i].live ? pp->pmap[i].kva : s->pmap[i].kva;
	for (size_t e = 0; e < s->npv; e++)
		for (size_t k = 0; k < n; k++)
			if (s->pv[e].pmap == kvas[k] && idset_add(&pv->lists, s->pv[e].page) != 0)
				return -1;
	return 0;
}

static int affected_lists(struct pv_plan *pv, const struct snapshot *s, struct kview *kv,
                          const struct vmp_plan *vp, const struct pool_plan *pl,
                          const struct pmap_plan *pp)
{
	if (pp->relisted && relisted_entries(pv, s, pp) != 0)
		return -1;
	for (size_t k = 0; k < vp->n; k++) {
		uint64_t i = vp->index[k];
		if (new_head(vp, s, kv->d, i) != s->vmp[i].pv_list && idset_add(&pv->lists, i) != 0)
			return -1;
	}
	for (size_t k = 0; k < pl->nwritten; k++) {
		size_t i = pl->written[k];
		if (written_entries(pv, s, kv, s->pool.page[i].page, pool_plan_page_gone(pl, i)) !=
		    0)
			return -1;
	}
	for (size_t i = 0; pl->removed_any && i < s->pool.npage;
	     i++) /* gone without being written */
		if (pool_plan_page_gone(pl, i) && !(pl->seen[i] & POOL_DIRTY) &&
		    written_entries(pv, s, kv, s->pool.page[i].page, true) != 0)
			return -1;
	return 0;
}

/* one entry of list `page` at kva: 0 planned, 1 only a fresh read can judge it */
static int plan_entry(struct pv_plan *pv, const struct snapshot *s, struct kview *kv,
                      struct incr *x, const struct pool_plan *pl, const struct pmap_plan *pp,
                      uint64_t page, uint64_t kva, uint64_t *next)
{
	const struct pts_descriptor *d = kv->d;
	uint8_t buf[PTS_PAGE_SIZE];
	uint64_t e;
	if (hmap_get(&pv->kvas, kva, NULL) ||
	    (hmap_get(&s->pv_by_kva, kva, &e) && !idset_has(&pv->lists, s->pv[e].page)) ||
	    kva_read(kv, kva, buf, d->pv_entry_size) != 0 || !pool_plan_is_item(pl, s, d, x, kva))
		return 1; /* a cycle, an entry on two lists, unreadable, or outside the pool */
	struct pv_snap n;
	snap_parse_pv_entry(d, buf, kva, page, &n);
	n.owner = owner_of(pp, n.pmap);
	if (n.owner >= 0) {
		uint64_t key = snap_pv_key(n.owner, n.va);
		if (hmap_get(&pv->keys, key, NULL) ||
		    (hmap_get(&s->pv_by_va, key, &e) && !idset_has(&pv->lists, s->pv[e - 1].page)))
			return 1; /* (pmap, va) twice: which one counts is the fresh read's call */
		if (hmap_put(&pv->keys, key, 1) != 0)
			return -1;
	}
	if (hmap_put(&pv->kvas, kva, 1) != 0 ||
	    array_reserve(&pv->ent, &pv->cap, pv->n + 1, sizeof n, 64) != 0)
		return -1;
	pv->ent[pv->n++] = n;
	*next = n.next;
	return 0;
}

int pv_plan(struct pv_plan *pv, const struct snapshot *s, struct kview *kv, struct incr *x,
            const struct vmp_plan *vp, const struct pool_plan *pl, const struct pmap_plan *pp,
            size_t max_pv, bool *fallback)
{
	const struct pts_descriptor *d = kv->d;
	idset_clear(&pv->lists);
	hmap_clear(&pv->kvas);
	hmap_clear(&pv->keys);
	pv->n = 0;
	*fallback = true;
	if (affected_lists(pv, s, kv, vp, pl, pp) != 0 ||
	    array_reserve(&pv->first, &pv->first_cap, pv->lists.n + 1, sizeof *pv->first, 64) != 0)
		return -1;
	for (size_t k = 0; k < pv->lists.n; k++) {
		uint64_t page = pv->lists.v[k];
		pv->first[k] = pv->n;
		for (uint64_t kva = new_head(vp, s, d, page); kva != 0;) {
			if (s->npv + pv->n >= max_pv)
				return 0;
			int rc = plan_entry(pv, s, kv, x, pl, pp, page, kva, &kva);
			if (rc != 0)
				return rc < 0 ? -1 : 0;
		}
	}
	pv->first[pv->lists.n] = pv->n;
	*fallback = false;
	return 0;
}

/* ---- commit */

static int grow_next(struct incr *x, size_t n)
{
	return array_reserve(&x->pv_next, &x->pv_next_cap, n, sizeof *x->pv_next, 64);
}

/* the entry last moves to index e; its list's link to it follows */
static int move_entry(struct snapshot *s, struct incr *x, size_t last, size_t e)
{
	const struct pv_snap *l = &s->pv[last];
	uint64_t v, key = snap_pv_key(l->owner, l->va);
	s->pv[e] = *l;
	x->pv_next[e] = x->pv_next[last];
	if (hmap_put(&s->pv_by_kva, l->kva, e) != 0)
		return -1;
	if (l->owner >= 0 && hmap_get(&s->pv_by_va, key, &v) && v == last + 1 &&
	    hmap_put(&s->pv_by_va, key, e + 1) != 0)
		return -1;
	uint32_t *link = &x->list_head[l->page];
	while (*link != last + 1)
		link = &x->pv_next[*link - 1];
	*link = (uint32_t)(e + 1);
	return 0;
}

/* remove the first entry of list page */
static int remove_head(struct snapshot *s, struct incr *x, uint64_t page)
{
	size_t e = x->list_head[page] - 1, last = s->npv - 1;
	const struct pv_snap old = s->pv[e];
	uint64_t v, key = snap_pv_key(old.owner, old.va);
	if (old.owner >= 0 &&
	    idset_add(&x->sc.pv_keys, scope_key((uint32_t)old.owner, old.va)) != 0)
		return -1;
	hmap_del(&s->pv_by_kva, old.kva);
	if (old.owner >= 0 && hmap_get(&s->pv_by_va, key, &v) && v == e + 1)
		hmap_del(&s->pv_by_va, key);
	x->list_head[page] = x->pv_next[e];
	if (e != last && move_entry(s, x, last, e) != 0)
		return -1;
	s->npv--;
	return 0;
}

static int insert(struct snapshot *s, struct incr *x, const struct pv_snap *n, uint32_t *tail)
{
	size_t i = s->npv;
	if (snap_push_pv(s, n) != 0 || grow_next(x, s->npv) != 0 ||
	    hmap_put(&s->pv_by_kva, n->kva, i) != 0 ||
	    (n->owner >= 0 && hmap_put(&s->pv_by_va, snap_pv_key(n->owner, n->va), i + 1) != 0) ||
	    idset_add(&x->sc.pv_new, i) != 0 ||
	    (n->owner >= 0 && idset_add(&x->sc.pv_keys, scope_key((uint32_t)n->owner, n->va)) != 0))
		return -1;
	x->pv_next[i] = 0;
	if (*tail != 0)
		x->pv_next[*tail - 1] = (uint32_t)(i + 1);
	else
		x->list_head[n->page] = (uint32_t)(i + 1);
	*tail = (uint32_t)(i + 1);
	return 0;
}

int pv_commit(struct snapshot *s, const struct pv_plan *pv, struct incr *x)
{
	for (size_t k = 0; k < pv->lists.n; k++) {
		uint64_t page = pv->lists.v[k];
		if (idset_add(&x->sc.lists, page) != 0 || idset_add(&x->sc.pages, page) != 0)
			return -1;
		while (x->list_head[page] != 0)
			if (remove_head(s, x, page) != 0)
				return -1;
	}
	for (size_t k = 0; k < pv->lists.n; k++) {
		uint32_t tail = 0;
		for (size_t j = pv->first[k]; j < pv->first[k + 1]; j++)
			if (insert(s, x, &pv->ent[j], &tail) != 0)
				return -1;
	}
	return 0;
}
