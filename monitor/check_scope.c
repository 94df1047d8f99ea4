/* monitor/check_scope.c - the objects an invariant looks at: every one in a
 * full check; in an incremental one those the op touched (leaves and pv
 * entries by the delta, the pv keys that came or went, the tables, pages,
 * pmaps and pool pages the scope names), each visited once.
 */
#include "check_ctx.h"
#include "pte.h"

static const struct leaf *leaf_exact(const struct ptp_set *w, uint32_t owner, uint64_t va)
{
	uint64_t i;
	return hmap_get(&w->leaf_by_va, leaf_key(owner, va), &i) ? &w->leaf[i] : NULL;
}

static bool is_leaf(uint64_t pte, uint32_t level)
{
	return pte_valid(pte) && pte_is_leaf(pte, level);
}

/* the (owner, va) of every leaf `what` names, each once: fn(ctx, owner, va) */
static void keys(struct check *c, unsigned what,
                 void (*fn)(struct check *, struct idset *, uint32_t, uint64_t, void *), void *arg)
{
	struct idset seen;
	const struct scope *sc = c->scope;
	idset_init(&seen);
	for (size_t i = 0; (what & SCOPE_DELTA) && i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (is_leaf(ch->old, ch->level) || is_leaf(ch->new, ch->level))
			fn(c, &seen, ch->owner, ch->va, arg);
	}
	for (size_t i = 0; (what & SCOPE_PV_KEYS) && i < sc->pv_keys.n; i++)
		fn(c, &seen, (uint32_t)(sc->pv_keys.v[i] & 0xfff),
		   sc->pv_keys.v[i] & ~(uint64_t)0xfff, arg);
	for (size_t i = 0; (what & SCOPE_TABLES) && i < sc->new_tables.n; i++) {
		const struct ptp *t = ptp_by_pa(&c->cur->walk, sc->new_tables.v[i]);
		const uint64_t *e = t ? ptp_entries(&c->cur->walk, t) : NULL;
		for (unsigned j = 0; t != NULL && j < NPTEPG; j++)
			if (is_leaf(e[j], t->level))
				fn(c, &seen, t->owner, canonical(t->va + j * level_span(t->level)),
				   arg);
	}
	idset_free(&seen);
}

struct leaf_visit {
	leaf_check_fn fn;
};

static void visit_leaf(struct check *c, struct idset *seen, uint32_t owner, uint64_t va, void *arg)
{
	uint64_t key = leaf_key(owner, va);
	const struct leaf *l;
	if (idset_has(seen, key) || idset_add(seen, key) != 0 ||
	    (l = leaf_exact(&c->cur->walk, owner, va)) == NULL)
		return;
	((const struct leaf_visit *)arg)->fn(c, l);
}

void scoped_leaves(struct check *c, unsigned what, leaf_check_fn fn)
{
	struct leaf_visit v = {fn};
	keys(c, what, visit_leaf, &v);
}

struct pv_visit {
	pv_check_fn fn;
	struct idset done; /* pv indexes */
};

static void visit_pv_index(struct check *c, struct pv_visit *v, size_t i)
{
	if (!idset_has(&v->done, i) && idset_add(&v->done, i) == 0)
		v->fn(c, &c->cur->pv[i]);
}

static void visit_pv(struct check *c, struct idset *seen, uint32_t owner, uint64_t va, void *arg)
{
	size_t i = snap_pv_at(c->cur, owner, va);
	if (i != 0)
		visit_pv_index(c, arg, i - 1);
}

static bool has_large_user_leaf(const struct check *c)
{
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (ch->level > 1 && owner_is_user(c->cur, ch->owner) && ch->va < c->d->user_max &&
		    (is_leaf(ch->old, ch->level) || is_leaf(ch->new, ch->level)))
			return true;
	}
	return false;
}

void scoped_pv(struct check *c, unsigned what, pv_check_fn fn)
{
	if ((what & SCOPE_ALL_IF_LARGE) && has_large_user_leaf(c)) {
		for (size_t i = 0; i < c->cur->npv; i++)
			fn(c, &c->cur->pv[i]);
		return;
	}
	struct pv_visit v = {.fn = fn};
	idset_init(&v.done);
	for (size_t k = 0; k < c->scope->pv_new.n; k++)
		visit_pv_index(c, &v, c->scope->pv_new.v[k]);
	keys(c, what, visit_pv, &v);
	idset_free(&v.done);
}

void scoped_tables(struct check *c, ptp_check_fn fn)
{
	const struct ptp_set *w = &c->cur->walk;
	for (size_t k = 0; k < c->scope->tables.n; k++) {
		const struct ptp *t = ptp_by_pa(w, c->scope->tables.v[k]);
		if (t != NULL)
			fn(c, t);
	}
}

void scoped_entries(struct check *c, unsigned which, entry_check_fn fn)
{
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		if (!(ch->flags & PTE_CHG_DETACHED) && ch->new != 0 &&
		    entries_of(c, which, ch->owner, ch->level))
			fn(c, ch->owner, ch->level, ch->va, ch->new);
	}
}

void scoped_pool_pages(struct check *c, pool_page_check_fn fn)
{
	const struct pool_snap *p = &c->cur->pool;
	for (size_t k = 0; k < c->scope->pool_pages.n; k++) {
		uint64_t i;
		if (hmap_get(&c->inc->pool_by_hdr, c->scope->pool_pages.v[k], &i))
			fn(c, &p->page[i]);
	}
}
