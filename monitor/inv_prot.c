/* monitor/inv_prot.c - PROT family, the op-specific checks: after
 * page_protect no mapping of the page keeps a right it lost, after protect no
 * mapping of the range does.  The incremental check finds the mappings of a
 * page through the reverse map and those of a range by descending the tables.
 */
#include "check_ctx.h"
#include "pte.h"

static void page_protect_leaf(struct check *c, const struct leaf *l)
{
	gpa_t pa = (c->d->arena_first_pfn + c->op->page) << PTS_PAGE_SHIFT;
	uint32_t prot = c->op->prot;
	if (!leaf_is_user(c, l) || pte_frame(l->pte, l->level) != pa)
		return;
	if (prot != 0 && (pte_prot(l->pte) & ~prot) == 0)
		return;
	struct violation *v = vio(c,
	                          prot ? "page_protect %s left a mapping with more rights"
	                               : "page_protect none left a mapping",
	                          prot_name(prot));
	vio_pte(v, snap_slot(c->cur, l->owner), l->va, l->level, l->pte, l->pte);
	vio_page(v, c, pa);
}

static void page_protect_list(struct check *c)
{
	gpa_t pa = (c->d->arena_first_pfn + c->op->page) << PTS_PAGE_SHIFT;
	const struct vmp *p = snap_page(c->cur, c->d, pa);
	if (c->op->prot == 0 && p != NULL && p->pv_list != 0)
		vio_page(vio(c, "page_protect none left the pv list non-empty"), c, pa);
}

/* the leaves whose frame is pa: every leaf (the function asks), or the user
 * leaves the reverse map the incremental check keeps names */
static void leaves_of_page(struct check *c, gpa_t pa, leaf_check_fn fn)
{
	uint64_t key, i;
	const struct ptp_set *w = &c->cur->walk;
	if (c->scope == NULL) {
		for (i = 0; i < w->nleaf; i++)
			fn(c, &w->leaf[i]);
		return;
	}
	for (bool more = hmap_get(&c->inc->rmap_head, pa, &key); more;
	     more = hmap_get(&c->inc->rmap_next, key, &key) && key)
		if (hmap_get(&w->leaf_by_va, key, &i))
			fn(c, &w->leaf[i]);
}

void inv_prot_page_protect(struct check *c)
{
	if (!op_is(c, PTS_OP_PAGE_PROTECT) || c->op->page >= c->d->arena_npages)
		return;
	leaves_of_page(c, (c->d->arena_first_pfn + c->op->page) << PTS_PAGE_SHIFT,
	               page_protect_leaf);
	page_protect_list(c);
}

static void protect_leaf(struct check *c, const struct leaf *l)
{
	uint64_t end = c->op->end ? c->op->end : c->op->va + PTS_PAGE_SIZE;
	if (l->va < c->op->va || l->va >= end || (pte_prot(l->pte) & ~c->op->prot) == 0)
		return;
	struct violation *v =
	    vio(c, "protect %s left %s", prot_name(c->op->prot), prot_name(pte_prot(l->pte)));
	vio_pte(v, c->op->pmap, l->va, l->level, l->pte, l->pte);
}

/* the leaves of table t and below that start in [va, end) */
static void range_leaves(struct check *c, const struct ptp *t, uint64_t va, uint64_t end,
                         leaf_check_fn fn)
{
	const struct ptp_set *w = &c->cur->walk;
	const uint64_t *e = ptp_entries(w, t);
	uint64_t span = level_span(t->level), k;
	for (unsigned i = 0; i < NPTEPG; i++) {
		uint64_t lo = canonical(t->va + i * span);
		if (!pte_valid(e[i]) || lo >= end || lo + (span - 1) < va ||
		    (t->level == 4 && i >= c->d->kernel_slot_first && i <= c->d->kernel_slot_last))
			continue;
		if (pte_is_leaf(e[i], t->level)) {
			if (lo >= va && hmap_get(&w->leaf_by_va, leaf_key(t->owner, lo), &k))
				fn(c, &w->leaf[k]);
			continue;
		}
		const struct ptp *child = ptp_by_pa(w, e[i] & PG_FRAME);
		if (child != NULL && child->parent == t->pa && child->parent_index == i)
			range_leaves(c, child, va, end, fn);
	}
}

/* every leaf of owner (the function asks for the range), or those in [va,
 * end) found by descending its tables */
static void leaves_in_range(struct check *c, int32_t owner, uint64_t va, uint64_t end,
                            leaf_check_fn fn)
{
	const struct ptp_set *w = &c->cur->walk;
	if (owner <= 0)
		return;
	if (c->scope == NULL) {
		for (size_t i = 0; i < w->nleaf; i++)
			if (w->leaf[i].owner == (uint32_t)owner)
				fn(c, &w->leaf[i]);
		return;
	}
	if ((size_t)owner < w->nroot && w->root[owner] != SIZE_MAX && end > va)
		range_leaves(c, &w->ptp[w->root[owner]], va, end, fn);
}

void inv_prot_protect_range(struct check *c)
{
	if (!op_is(c, PTS_OP_PROTECT))
		return;
	leaves_in_range(c, snap_pmap_by_slot(c->cur, c->op->pmap), c->op->va,
	                c->op->end ? c->op->end : c->op->va + PTS_PAGE_SIZE, protect_leaf);
}
