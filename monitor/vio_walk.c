/* monitor/vio_walk.c - the page-table walks a violation carries: for each VA
 * its objects name, the entries from the root down, before and after the op.
 *
 * After the op comes from the walk the check ran on; before comes from the
 * op's PTE delta (an entry the delta does not name was as it is now, or 0 in
 * a table that did not exist).  The delta is the same in both check modes,
 * so a violation's walks are too.  Nothing here reads guest memory.
 */
#include <string.h>

#include "check_ctx.h"
#include "pte.h"

/* the entry of slot's pmap at level that maps va, in the delta; NULL if it did not change */
static const struct pte_change *changed(const struct pte_delta *d, int32_t slot, uint32_t level,
                                        uint64_t va)
{
	uint64_t at = canonical(va & ~(level_span(level) - 1));
	for (size_t i = 0; i < d->n; i++) {
		const struct pte_change *ch = &d->chg[i];
		if (ch->slot == slot && ch->level == level && ch->va == at)
			return ch;
	}
	return NULL;
}

/* the table an entry at level leads to, or 0 */
static uint64_t next_table(uint64_t e, uint32_t level)
{
	return level > 1 && pte_valid(e) && !pte_is_leaf(e, level) ? pte_frame(e, level) : 0;
}

static void walk_fill(struct vwalk *w, const struct check *c, int32_t owner)
{
	const struct ptp_set *s = &c->cur->walk;
	size_t r = (size_t)owner < s->nroot ? s->root[owner] : SIZE_MAX;
	const struct ptp *t = r < s->nptp ? &s->ptp[r] : NULL;
	int32_t slot = w->slot; /* the kernel's tables below a user pmap's kernel slots */
	/* ids stay with their pmap: the root before is the same pmap's, if it was there */
	uint64_t before_table = c->prev_pmap == NULL ? (t != NULL ? t->pa : 0)
	                        : (size_t)owner < c->prev_npmap && c->prev_pmap[owner].live
	                            ? c->prev_pmap[owner].root
	                            : 0;
	for (uint32_t level = 4; level >= 1; level--) {
		struct vwalk_step *st = &w->step[w->nstep++];
		const struct pte_change *ch = changed(c->delta, slot, level, w->va);
		st->level = (uint8_t)level;
		st->index = (uint16_t)level_index(w->va, level);
		st->table_after = t != NULL ? t->pa : 0;
		st->after = t != NULL ? ptp_entries(s, t)[st->index] : 0;
		st->table_before = before_table;
		st->before = ch != NULL ? ch->old : t != NULL ? st->after : 0;
		if (st->table_before == 0 && ch == NULL)
			st->before = 0;
		uint64_t next_after = next_table(st->after, level);
		before_table = next_table(st->before, level);
		t = next_after != 0 ? ptp_by_pa(s, next_after) : NULL;
		if (t != NULL)
			slot = snap_slot(c->cur, t->owner);
		if (t == NULL && before_table == 0)
			break;
	}
}

/* the walk of (slot, va) in v, a new one, or NULL when there is no room */
static struct vwalk *walk_of(struct violation *v, const struct check *c, int32_t slot, uint64_t va)
{
	va &= ~(uint64_t)(PTS_PAGE_SIZE - 1);
	for (unsigned i = 0; i < v->nwalk; i++)
		if (v->walk[i].slot == slot && v->walk[i].va == va)
			return &v->walk[i];
	if (slot == VIO_SLOT_NONE || !is_canonical(va))
		return NULL;
	int32_t owner = slot == VIO_SLOT_KERNEL ? 0 : snap_pmap_by_slot(c->cur, (uint32_t)slot);
	if (owner < 0)
		return NULL;
	if (v->nwalk == VIO_MAX_WALKS) {
		v->walks_more++;
		return NULL;
	}
	struct vwalk *w = &v->walk[v->nwalk++];
	memset(w, 0, sizeof *w);
	w->slot = slot;
	w->va = va;
	w->have_before = c->op != NULL;
	walk_fill(w, c, owner);
	return w;
}

/* mark the entry at level (0: the deepest) wrong */
static void mark(struct vwalk *w, uint32_t level)
{
	if (w == NULL || w->nstep == 0)
		return;
	for (uint32_t i = 0; i < w->nstep; i++)
		if (w->step[i].level == level)
			w->step[i].wrong = true;
	if (level == 0)
		w->step[w->nstep - 1].wrong = true;
}

/*
 * When no object names a VA: the walks to a page's user mappings, or to the
 * leaves of a pmap the op changed, the first VIO_MAX_WALKS of them by (pmap,
 * va), whatever order the walk or the delta holds them in (it differs
 * between the check modes).
 */
struct candidates {
	struct {
		int32_t slot;
		uint64_t va;
	} c[VIO_MAX_WALKS];
	unsigned n, more;
	enum vwalk_why why;
};

static bool earlier(int32_t slot, uint64_t va, int32_t slot2, uint64_t va2)
{
	return slot < slot2 || (slot == slot2 && va < va2);
}

static void candidate(struct candidates *k, int32_t slot, uint64_t va)
{
	unsigned i;
	for (i = 0; i < k->n; i++)
		if (k->c[i].slot == slot && k->c[i].va == va)
			return;
	if (k->n == VIO_MAX_WALKS) {
		k->more++;
		if (!earlier(slot, va, k->c[k->n - 1].slot, k->c[k->n - 1].va))
			return;
		k->n--;
	}
	for (i = k->n; i > 0 && earlier(slot, va, k->c[i - 1].slot, k->c[i - 1].va); i--)
		k->c[i] = k->c[i - 1];
	k->c[i].slot = slot;
	k->c[i].va = va;
	k->n++;
}

static void page_candidates(struct candidates *k, const struct check *c, uint64_t pa)
{
	const struct ptp_set *s = &c->cur->walk;
	for (size_t i = 0; i < s->nleaf; i++) {
		const struct leaf *l = &s->leaf[i];
		if (leaf_is_user(c, l) && pte_frame(l->pte, l->level) == pa)
			candidate(k, snap_slot(c->cur, l->owner), l->va);
	}
}

static void pmap_candidates(struct candidates *k, const struct check *c, int32_t slot)
{
	for (size_t i = 0; i < c->delta->n; i++) {
		const struct pte_change *ch = &c->delta->chg[i];
		bool leaf = (pte_valid(ch->old) && pte_is_leaf(ch->old, ch->level)) ||
		            (pte_valid(ch->new) && pte_is_leaf(ch->new, ch->level));
		if (ch->slot == slot && leaf && !(ch->flags & PTE_CHG_DETACHED))
			candidate(k, slot, ch->va);
	}
}

void vio_walks(struct violation *v, const struct check *c)
{
	for (unsigned i = 0; i < v->nobj; i++) {
		const struct vobj *o = &v->obj[i];
		if (o->kind == VOBJ_PTE)
			mark(walk_of(v, c, o->slot, o->va), o->level);
		else if (o->kind == VOBJ_PTP && o->level < 4)
			mark(walk_of(v, c, o->slot, o->va), o->level + 1);
		else if (o->kind == VOBJ_PV)
			mark(walk_of(v, c, o->slot, o->va), 0);
	}
	if (v->nwalk != 0 || v->walks_more != 0)
		return;
	struct candidates k = {.n = 0};
	for (unsigned i = 0; i < v->nobj; i++)
		if (v->obj[i].kind == VOBJ_PAGE && v->obj[i].page >= 0)
			page_candidates(&k, c, v->obj[i].pa);
	k.why = VWALK_MAPPING;
	for (unsigned i = 0; k.n == 0 && i < v->nobj; i++)
		if (v->obj[i].kind == VOBJ_PMAP) {
			pmap_candidates(&k, c, v->obj[i].slot);
			k.why = VWALK_CHANGED;
		}
	for (unsigned i = 0; i < k.n; i++) {
		struct vwalk *w = walk_of(v, c, k.c[i].slot, k.c[i].va);
		if (w != NULL)
			w->why = k.why;
	}
	v->walks_more += k.more;
}
