/* monitor/incr_count.c - what full mode recounts from the whole walk at every
 * op (leaves, wired leaves and PTPs per pmap; managed, writable, modified and
 * referenced mappings per page), kept up to date from the PTE delta instead;
 * and the scope of an op, derived from the delta and the changed vm_pages.
 */
#include "incr.h"

#include "desc.h"
#include "model.h"
#include "pte.h"
#include "shadow.h"

/* the walk follows this entry (the shared kernel slots of a user PML4 it does not) */
static bool walked(const struct pts_descriptor *d, const struct pte_change *c)
{
	return !(c->level == 4 && c->owner != 0 && c->index >= d->kernel_slot_first &&
	         c->index <= d->kernel_slot_last);
}

static bool user_owner(const struct snapshot *s, uint32_t owner)
{
	return owner != 0 && owner < s->npmap && s->pmap[owner].live;
}

/* an old value belongs to the pmap as it was before the op (it may be gone) */
static bool old_user_owner(const struct incr *x, uint32_t owner)
{
	return owner != 0 && owner < x->old_npmap && x->old_pmap[owner].live;
}

/* ---- the reverse map: frame -> the user leaves that map it, as chains of keys */

static int rmap_add(struct incr *x, gpa_t frame, uint64_t key)
{
	uint64_t head = 0;
	hmap_get(&x->rmap_head, frame, &head);
	return hmap_put(&x->rmap_next, key, head) != 0 || hmap_put(&x->rmap_head, frame, key) != 0
	           ? -1
	           : 0;
}

static int rmap_del(struct incr *x, gpa_t frame, uint64_t key)
{
	uint64_t cur, next = 0, n;
	hmap_get(&x->rmap_next, key, &next);
	hmap_del(&x->rmap_next, key);
	if (!hmap_get(&x->rmap_head, frame, &cur))
		return 0;
	if (cur == key)
		return next ? hmap_put(&x->rmap_head, frame, next)
		            : (hmap_del(&x->rmap_head, frame), 0);
	for (; cur != 0 && hmap_get(&x->rmap_next, cur, &n); cur = n)
		if (n == key)
			return hmap_put(&x->rmap_next, cur, next);
	return 0;
}

/* ---- counts */

static int count_leaf(struct incr *x, const struct snapshot *s, const struct pts_descriptor *d,
                      bool user, uint32_t owner, uint32_t level, uint64_t va, uint64_t pte,
                      int sign)
{
	if (!user || va >= d->user_max)
		return 0;
	gpa_t frame = pte_frame(pte, level);
	if ((sign > 0 ? rmap_add(x, frame, leaf_key(owner, va))
	              : rmap_del(x, frame, leaf_key(owner, va))) != 0)
		return -1;
	x->owner_leaves[owner] += (uint64_t)(int64_t)sign;
	if (pte & d->pte_wired_bit)
		x->owner_wired[owner] += (uint64_t)(int64_t)sign;
	int64_t pi = snap_page_index(d, frame);
	if (!(pte & d->pte_managed_bit) || pi < 0 || (uint64_t)pi >= s->nvmp)
		return 0;
	x->page_mapped[pi] += (uint32_t)sign;
	if (pte & PG_RW)
		x->page_writable[pi] += (uint32_t)sign;
	if (pte & PG_M)
		x->page_mod[pi] += (uint32_t)sign;
	if (pte & PG_U)
		x->page_ref[pi] += (uint32_t)sign;
	return 0;
}

static int count_entry(struct incr *x, const struct snapshot *s, const struct pts_descriptor *d,
                       const struct pte_change *c, uint64_t pte, int sign)
{
	bool user = sign < 0 ? old_user_owner(x, c->owner) : user_owner(s, c->owner);
	if (!pte_valid(pte))
		return 0;
	if (pte_is_leaf(pte, c->level))
		return count_leaf(x, s, d, user, c->owner, c->level, c->va, pte, sign);
	if (c->level >= 2 && user)
		x->owner_ptps[c->owner] += (uint64_t)(int64_t)sign;
	return 0;
}

int incr_count_all(struct incr *x, const struct snapshot *s, const struct pts_descriptor *d)
{
	const struct ptp_set *w = &s->walk;
	for (size_t i = 0; i < w->nleaf; i++)
		if (count_leaf(x, s, d, user_owner(s, w->leaf[i].owner), w->leaf[i].owner,
		               w->leaf[i].level, w->leaf[i].va, w->leaf[i].pte, 1) != 0)
			return -1;
	for (size_t i = 0; i < w->nptp; i++)
		if (user_owner(s, w->ptp[i].owner) && w->ptp[i].level < 4)
			x->owner_ptps[w->ptp[i].owner]++;
	return 0;
}

/* ---- scope */

static int add_page(struct scope *sc, const struct pts_descriptor *d, const struct snapshot *s,
                    gpa_t pa)
{
	int64_t pi = snap_page_index(d, pa);
	return pi < 0 || (uint64_t)pi >= s->nvmp ? 0 : idset_add(&sc->pages, (uint64_t)pi);
}

/* model keys of a user leaf that came or went; a large one covers many */
static int model_keys(struct scope *sc, const struct snapshot *s, const struct incr *x,
                      const struct model *mo, const struct pte_change *c)
{
	uint32_t slot =
	    user_owner(s, c->owner) ? s->pmap[c->owner].slot : x->old_pmap[c->owner].slot;
	uint64_t end = c->va + level_span(c->level);
	if (idset_add(&sc->model_keys, scope_key(slot, c->va)) != 0)
		return -1;
	size_t n;
	const struct model_map *maps = model_maps(mo, slot, &n);
	for (size_t i = model_first(mo, slot, c->va); c->level > 1 && i < n && maps[i].va < end;
	     i++)
		if (idset_add(&sc->model_keys, scope_key(slot, maps[i].va)) != 0)
			return -1;
	return 0;
}

static int kernel_change(struct scope *sc, const struct pts_descriptor *d,
                         const struct pte_change *c)
{
	uint64_t last = c->va + (level_span(c->level) - 1),
	         klast = d->kenter_base + (d->kenter_size - 1);
	if (c->level == 4)
		sc->kernel_root_changed = true;
	if (c->va <= d->dmap_base + (d->dmap_size - 1) && d->dmap_base <= last &&
	    !pte_hw_update(c->old, c->new))
		sc->dmap_changed = true; /* the MMU setting A or D changes nothing AS-3 looks at */
	if (c->va > klast || d->kenter_base > last)
		return 0;
	uint64_t lo = c->va > d->kenter_base ? c->va : d->kenter_base,
	         hi = last < klast ? last : klast;
	for (uint64_t k = (lo - d->kenter_base) / PTS_PAGE_SIZE;
	     k <= (hi - d->kenter_base) / PTS_PAGE_SIZE; k++)
		if (idset_add(&sc->kenter, k) != 0)
			return -1;
	return 0;
}

static int scope_value(struct scope *sc, const struct snapshot *s, const struct pts_descriptor *d,
                       const struct pte_change *c, bool is_new)
{
	uint64_t pte = is_new ? c->new : c->old;
	if (!pte_valid(pte))
		return 0;
	if (pte_is_leaf(pte, c->level))
		return add_page(sc, d, s, pte_frame(pte, c->level));
	if (!walked(d, c))
		return 0;
	bool moved = !pte_valid(c->old) || pte_is_leaf(c->old, c->level) ||
	             (c->old & PG_FRAME) != (pte & PG_FRAME);
	if (is_new && moved && idset_add(&sc->new_tables, pte & PG_FRAME) != 0)
		return -1; /* a table the entry did not lead to before: its leaves are new here */
	return idset_add(&sc->tables, pte & PG_FRAME) != 0 ? -1
	                                                   : add_page(sc, d, s, pte & PG_FRAME);
}

static int scope_change(struct incr *x, const struct snapshot *s, const struct pts_descriptor *d,
                        const struct model *mo, const struct pte_change *c)
{
	bool leaf = (pte_valid(c->old) && pte_is_leaf(c->old, c->level)) ||
	            (pte_valid(c->new) && pte_is_leaf(c->new, c->level));
	struct scope *sc = &x->sc;
	/* the table's own page too: a root that left with its pmap is reached by
	 * no parent entry, and its vm_page may still say PTP (PTP-6) */
	if (idset_add(&sc->owners, c->owner) != 0 || idset_add(&sc->tables, c->ptp) != 0 ||
	    add_page(sc, d, s, c->ptp) != 0 || scope_value(sc, s, d, c, false) != 0 ||
	    scope_value(sc, s, d, c, true) != 0)
		return -1;
	if (leaf && (user_owner(s, c->owner) || old_user_owner(x, c->owner)) &&
	    c->va < d->user_max && model_keys(sc, s, x, mo, c) != 0)
		return -1;
	return c->owner == 0 ? kernel_change(sc, d, c) : 0;
}

/* a changed vm_page: itself (a usage of PTP that no walk reaches), the table
 * or pool page it is, and the pmap owning that table */
static int scope_vmp(struct incr *x, const struct snapshot *s, const struct pts_descriptor *d,
                     uint64_t i)
{
	gpa_t pa = (d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT;
	const struct ptp *t = ptp_by_pa(&s->walk, pa);
	uint64_t pool;
	if ((i < s->nvmp && idset_add(&x->sc.pages, i) != 0) || idset_add(&x->sc.tables, pa) != 0 ||
	    (t != NULL && idset_add(&x->sc.owners, t->owner) != 0))
		return -1;
	if (hmap_get(&x->pool_by_gpa, pa, &pool) &&
	    idset_add(&x->sc.pool_pages, s->pool.page[pool].hdr) != 0)
		return -1;
	return 0;
}

int incr_count_delta(struct incr *x, const struct snapshot *s, const struct pts_descriptor *d,
                     const struct pte_delta *delta, const struct model *mo)
{
	for (size_t i = 0; i < delta->n; i++) {
		const struct pte_change *c = &delta->chg[i];
		if (walked(d, c) && (count_entry(x, s, d, c, c->old, -1) != 0 ||
		                     count_entry(x, s, d, c, c->new, 1) != 0))
			return -1;
		if (scope_change(x, s, d, mo, c) != 0)
			return -1;
	}
	for (size_t k = 0; k < x->sc.nvmp; k++)
		if (scope_vmp(x, s, d, x->sc.vmp[k].index) != 0)
			return -1;
	for (size_t k = 0; k < x->sc.pv_new.n; k++)
		if (idset_add(&x->sc.pages, s->pv[x->sc.pv_new.v[k]].page) != 0)
			return -1;
	for (size_t i = 0; x->kranges.n > 0 && i < s->pool.npage; i++)
		if (va_ranges_meet(&x->kranges, s->pool.page[i].page, PTS_PAGE_SIZE) &&
		    idset_add(&x->sc.pool_pages, s->pool.page[i].hdr) != 0)
			return -1;
	return 0;
}
