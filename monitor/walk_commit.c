/* monitor/walk_commit.c - apply an incremental walk plan (walk_update.c):
 * leaves out and in, detached and attached tables paired as shadow_diff
 * pairs them, tables rewritten, removed (swapped out) and appended, roots.
 */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "shadow.h"
#include "walk_plan.h"

static int push_change(struct pte_delta *d, const struct ptp *t, unsigned i, uint32_t flags,
                       uint64_t o, uint64_t n)
{
	if (array_reserve(&d->chg, &d->cap, d->n + 1, sizeof *d->chg, 64) != 0)
		return -1;
	d->chg[d->n++] = (struct pte_change){
	    t->owner, 0, t->level, walk_entry_va(t->va, t->level, i), t->pa, i, flags, o, n};
	return 0;
}

static int leaf_erase(struct ptp_set *s, uint32_t owner, uint64_t va)
{
	uint64_t i, key = leaf_key(owner, va);
	if (!hmap_get(&s->leaf_by_va, key, &i))
		return 0;
	hmap_del(&s->leaf_by_va, key);
	if (i != s->nleaf - 1) {
		s->leaf[i] = s->leaf[s->nleaf - 1];
		if (hmap_put(&s->leaf_by_va, leaf_key(s->leaf[i].owner, s->leaf[i].va), i) != 0)
			return -1;
	}
	s->nleaf--;
	return 0;
}

static int leaf_insert(struct ptp_set *s, const struct ptp *t, unsigned i, uint64_t pte)
{
	uint64_t va = walk_entry_va(t->va, t->level, i);
	if (array_reserve(&s->leaf, &s->leaf_cap, s->nleaf + 1, sizeof *s->leaf, 64) != 0 ||
	    hmap_put(&s->leaf_by_va, leaf_key(t->owner, va), s->nleaf) != 0)
		return -1;
	s->leaf[s->nleaf++] = (struct leaf){t->owner, t->level, va, pte, t->pa, i};
	return 0;
}

/* entries of table a (old, or NULL) against b (new, or NULL), as shadow_diff does */
static int diff_entries(struct pte_delta *d, const struct ptp *t, const uint64_t *a,
                        const uint64_t *b)
{
	uint32_t flags = a == NULL ? PTE_CHG_ATTACHED : b == NULL ? PTE_CHG_DETACHED : 0;
	for (unsigned i = 0; i < NPTEPG; i++) {
		uint64_t o = a ? a[i] : 0, n = b ? b[i] : 0;
		if (o != n && push_change(d, t, i, flags, o, n) != 0)
			return -1;
	}
	return 0;
}

static int commit_leaves_out(struct walk_plan *u, struct pte_delta *out)
{
	struct ptp_set *s = u->s;
	for (size_t k = 0; k < u->ndirty; k++) {
		const struct wu_dirty *d = &u->dirty[k];
		const struct ptp t = s->ptp[d->ti];
		const uint64_t *o = ptp_entries(s, &t), *n = u->buf + d->ent;
		if (walk_gone(u, d->ti))
			continue;
		/* the changed entries in ascending order: the delta diff_entries gives */
		for (size_t c = 0; c < d->nchg; c++) {
			unsigned i = walk_chg(u, d, c);
			if (push_change(out, &t, i, 0, o[i], n[i]) != 0)
				return -1;
		}
		for (size_t c = 0; c < d->nchg; c++) {
			unsigned i = walk_chg(u, d, c);
			if (walk_is_leaf(o[i], t.level) &&
			    leaf_erase(s, t.owner, walk_entry_va(t.va, t.level, i)))
				return -1;
		}
	}
	for (size_t k = 0; k < u->ngone; k++) {
		const struct ptp t = s->ptp[u->gone[k]];
		for (unsigned i = 0; i < NPTEPG; i++)
			if (walk_is_leaf(ptp_entries(s, &t)[i], t.level) &&
			    leaf_erase(s, t.owner, walk_entry_va(t.va, t.level, i)))
				return -1;
	}
	return 0;
}

/* detached and attached tables, paired by (owner, level, va) as shadow_diff pairs them */
static int commit_pairs(struct walk_plan *u, struct pte_delta *out)
{
	struct hmap by_key, paired;
	int rc = 0;
	hmap_init(&by_key);
	hmap_init(&paired);
	for (size_t a = 0; a < u->nadd && rc == 0; a++)
		rc = hmap_put(&by_key,
		              ptp_key(u->add[a].t.owner, u->add[a].t.level, u->add[a].t.va), a);
	for (size_t k = 0; k < u->ngone && rc == 0; k++) {
		const struct ptp *g = &u->s->ptp[u->gone[k]];
		uint64_t a;
		if (hmap_get(&by_key, ptp_key(g->owner, g->level, g->va), &a)) {
			rc = hmap_put(&paired, a, 1) ||
			     diff_entries(out, &u->add[a].t, ptp_entries(u->s, g),
			                  u->buf + u->add[a].ent);
		} else {
			rc = diff_entries(out, g, ptp_entries(u->s, g), NULL);
		}
	}
	for (size_t a = 0; a < u->nadd && rc == 0; a++)
		if (!hmap_get(&paired, a, NULL))
			rc = diff_entries(out, &u->add[a].t, NULL, u->buf + u->add[a].ent);
	hmap_free(&by_key);
	hmap_free(&paired);
	return rc;
}

static int commit_leaves_in(struct walk_plan *u)
{
	struct ptp_set *s = u->s;
	for (size_t k = 0; k < u->ndirty; k++) {
		const struct wu_dirty *d = &u->dirty[k];
		const struct ptp t = s->ptp[d->ti];
		const uint64_t *n = u->buf + d->ent;
		if (walk_gone(u, d->ti))
			continue;
		for (size_t c = 0; c < d->nchg; c++) {
			unsigned i = walk_chg(u, d, c);
			if (walk_is_leaf(n[i], t.level) && leaf_insert(s, &t, i, n[i]) != 0)
				return -1;
		}
	}
	for (size_t a = 0; a < u->nadd; a++)
		for (unsigned i = 0; i < NPTEPG; i++)
			if (walk_is_leaf(u->buf[u->add[a].ent + i], u->add[a].t.level) &&
			    leaf_insert(s, &u->add[a].t, i, u->buf[u->add[a].ent + i]) != 0)
				return -1;
	return 0;
}

static uint32_t count_valid(const uint64_t *e)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < NPTEPG; i++)
		n += pte_valid(e[i]);
	return n;
}

static int ptp_erase(struct ptp_set *s, size_t ti)
{
	size_t last = s->nptp - 1;
	struct ptp t = s->ptp[ti];
	hmap_del(&s->by_pa, t.pa);
	hmap_del(&s->by_key, ptp_key(t.owner, t.level, t.va));
	if (t.owner < s->nroot && s->root[t.owner] == ti)
		s->root[t.owner] = SIZE_MAX;
	if (ti != last) {
		struct ptp *m = &s->ptp[ti];
		*m = s->ptp[last];
		memcpy(s->ptes + ti * NPTEPG, s->ptes + m->pte_off, NPTEPG * sizeof *s->ptes);
		m->pte_off = ti * NPTEPG;
		if (hmap_put(&s->by_pa, m->pa, ti) != 0 ||
		    hmap_put(&s->by_key, ptp_key(m->owner, m->level, m->va), ti))
			return -1;
		if (m->owner < s->nroot && s->root[m->owner] == last)
			s->root[m->owner] = ti;
	}
	s->nptp--;
	return 0;
}

static int ptp_append(struct ptp_set *s, const struct ptp *t, const uint64_t *e)
{
	size_t ti = s->nptp;
	if (array_reserve(&s->ptp, &s->ptp_cap, ti + 1, sizeof *s->ptp, 64) != 0 ||
	    array_reserve(&s->ptes, &s->ptes_cap, (ti + 1) * NPTEPG, sizeof *s->ptes, 64) != 0 ||
	    hmap_put(&s->by_pa, t->pa, ti) != 0 ||
	    hmap_put(&s->by_key, ptp_key(t->owner, t->level, t->va), ti))
		return -1;
	s->ptp[ti] = *t;
	s->ptp[ti].pte_off = ti * NPTEPG;
	s->ptp[ti].nvalid = count_valid(e);
	memcpy(s->ptes + ti * NPTEPG, e, NPTEPG * sizeof *e);
	s->nptp++;
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

static int commit_tables(struct walk_plan *u)
{
	struct ptp_set *s = u->s;
	for (size_t k = 0; k < u->ndirty; k++) {
		const struct wu_dirty *d = &u->dirty[k];
		struct ptp *t = &s->ptp[d->ti];
		if (walk_gone(u, d->ti))
			continue;
		for (size_t c = 0; c < d->nchg; c++) {
			unsigned i = walk_chg(u, d, c);
			uint64_t *e = &s->ptes[t->pte_off + i];
			t->nvalid +=
			    (uint32_t)pte_valid(u->buf[d->ent + i]) - (uint32_t)pte_valid(*e);
			*e = u->buf[d->ent + i];
		}
	}
	if (u->ngone > 1) /* gone is NULL until a table goes; qsort's base must not be */
		qsort(u->gone, u->ngone, sizeof *u->gone,
		      cmp_desc); /* later indexes first: swaps stay valid */
	for (size_t k = 0; k < u->ngone; k++)
		if (ptp_erase(s, u->gone[k]) != 0)
			return -1;
	for (size_t a = 0; a < u->nadd; a++)
		if (ptp_append(s, &u->add[a].t, u->buf + u->add[a].ent) != 0)
			return -1;
	return 0;
}

/* every owner id has its root's index, or SIZE_MAX */
static int commit_roots(struct walk_plan *u)
{
	struct ptp_set *s = u->s;
	if (array_reserve(&s->root, &s->root_cap, u->nroots + 1, sizeof *s->root, 64) != 0)
		return -1;
	for (size_t o = s->nroot; o < u->nroots; o++)
		s->root[o] = SIZE_MAX;
	s->nroot = u->nroots;
	for (size_t o = 0; o < s->nroot; o++) {
		uint64_t ti;
		if (u->roots[o].skip || !hmap_get(&s->by_pa, u->roots[o].pa, &ti) ||
		    s->ptp[ti].parent != 0)
			s->root[o] = SIZE_MAX;
		else
			s->root[o] = ti;
	}
	return 0;
}

int walk_commit(struct walk_plan *u, struct pte_delta *out)
{
	if (commit_leaves_out(u, out) != 0 || commit_pairs(u, out) != 0 ||
	    commit_leaves_in(u) != 0 || commit_tables(u) != 0 || commit_roots(u) != 0)
		return -1;
	return 0;
}
