/* monitor/walk_update.c - bring a walk up to date from the tables the guest
 * wrote: re-read the dirty ones, detach the subtrees their changed entries
 * left, read the subtrees they now reach.
 *
 * Two phases.  The plan (here) reads and checks without touching the set;
 * anything only a fresh walk decides (a table outside RAM or reached twice,
 * the visit limit, an unreadable table) makes it give up with the set intact,
 * and the caller walks afresh.  The commit (walk_commit.c) then cannot fail
 * but for host memory, and emits the PTE delta exactly as shadow_diff would
 * against a fresh walk.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "walk_plan.h"

/* the table an entry leads the walk to, or NO_CHILD */
static uint64_t child_of(const struct walk_plan *u, uint32_t owner, uint32_t level, unsigned i,
                         uint64_t pte)
{
	if (!pte_valid(pte) || pte_is_leaf(pte, level))
		return NO_CHILD;
	bool kernel = owner < u->nroots && u->roots[owner].kernel;
	if (level == 4 && !kernel && i >= u->p->kernel_slot_first && i <= u->p->kernel_slot_last)
		return NO_CHILD; /* shared kernel slot: walked under the kernel pmap */
	return pte & PG_FRAME;
}

/* room for one more table's entries; its offset in buf, or SIZE_MAX */
static size_t buf_take(struct walk_plan *u)
{
	if (array_reserve(&u->buf, &u->buf_cap, u->nbuf + NPTEPG, sizeof *u->buf, 64) != 0) {
		u->enomem = true;
		return SIZE_MAX;
	}
	u->nbuf += NPTEPG;
	return u->nbuf - NPTEPG;
}

static int read_entries(struct walk_plan *u, gpa_t pa, size_t off)
{
	uint64_t *e = u->buf + off;
	if (gmem_read_aligned(u->p->mem, pa, e, NPTEPG * sizeof *e, 4096) != 0)
		return -1;
	for (unsigned i = 0; i < NPTEPG; i++)
		e[i] = le64toh(e[i]);
	return 0;
}

/* ---- plan */

/* table ti was written: read it, and keep it, with the list of the entries
 * that changed (usually one or two: every later pass looks at those only),
 * if an entry changed */
static void read_dirty(struct walk_plan *u, size_t ti)
{
	struct ptp_set *s = u->s;
	const uint64_t *old = ptp_entries(s, &s->ptp[ti]);
	size_t off = buf_take(u), first = u->nchg;
	if (off == SIZE_MAX)
		return;
	if (read_entries(u, s->ptp[ti].pa, off) != 0) {
		u->anomaly = true;
		return;
	}
	if (memcmp(u->buf + off, old, NPTEPG * sizeof *u->buf) == 0) {
		u->nbuf -= NPTEPG;
		return;
	}
	if (array_reserve(&u->dirty, &u->dirty_cap, u->ndirty + 1, sizeof *u->dirty, 64) != 0 ||
	    array_reserve(&u->chg, &u->chg_cap, u->nchg + NPTEPG, sizeof *u->chg, 64) != 0) {
		u->enomem = true;
		return;
	}
	for (unsigned i = 0; i < NPTEPG; i++)
		if (u->buf[off + i] != old[i])
			u->chg[u->nchg++] = (uint16_t)i;
	u->dirty[u->ndirty++] = (struct wu_dirty){ti, off, first, u->nchg - first};
}

/* the tables the guest wrote: from the list of written pages, or asking for each table */
static void collect_dirty(struct walk_plan *u)
{
	struct ptp_set *s = u->s;
	uint64_t ti;
	for (size_t k = 0; u->p->dirty_listed && k < u->p->ndirty && !u->anomaly && !u->enomem; k++)
		if (hmap_get(&s->by_pa, u->p->dirty_pfn[k] << 12, &ti))
			read_dirty(u, ti);
	for (ti = 0; !u->p->dirty_listed && ti < s->nptp && !u->anomaly && !u->enomem; ti++)
		if (gmem_page_dirty(u->p->mem, s->ptp[ti].pa))
			read_dirty(u, ti);
}

static void detach(struct walk_plan *u, gpa_t pa, gpa_t parent, uint32_t index)
{
	uint64_t ti;
	if (!hmap_get(&u->s->by_pa, pa, &ti) || u->s->ptp[ti].parent != parent ||
	    u->s->ptp[ti].parent_index != index) {
		u->anomaly = true; /* the old walk did not follow this entry: no clean state */
		return;
	}
	if (walk_gone(u, ti))
		return;
	if (hmap_put(&u->is_gone, ti, 1) != 0 ||
	    array_reserve(&u->gone, &u->gone_cap, u->ngone + 1, sizeof *u->gone, 64) != 0) {
		u->enomem = true;
		return;
	}
	u->gone[u->ngone++] = ti;
	const struct ptp t = u->s->ptp[ti];
	const uint64_t *e = ptp_entries(u->s, &t);
	for (unsigned i = 0; i < NPTEPG && !u->anomaly && !u->enomem; i++) {
		uint64_t c = child_of(u, t.owner, t.level, i, e[i]);
		if (c != NO_CHILD)
			detach(u, c, t.pa, i);
	}
}

/* the table at pa joins the walk below entry index of parent; read it and its subtree */
static void attach(struct walk_plan *u, const struct ptp *proto)
{
	uint64_t ti;
	if (!gmem_contains(u->p->mem, proto->pa, 4096) || hmap_get(&u->adding, proto->pa, NULL) ||
	    (hmap_get(&u->s->by_pa, proto->pa, &ti) && !walk_gone(u, ti)) ||
	    u->s->nptp - u->ngone + u->nadd >= u->p->max_ptps) {
		u->anomaly = true;
		return;
	}
	size_t off = buf_take(u);
	if (off == SIZE_MAX)
		return;
	if (read_entries(u, proto->pa, off) != 0) {
		u->anomaly = true;
		return;
	}
	if (array_reserve(&u->add, &u->add_cap, u->nadd + 1, sizeof *u->add, 64) != 0 ||
	    hmap_put(&u->adding, proto->pa, u->nadd) != 0) {
		u->enomem = true;
		return;
	}
	u->add[u->nadd++] = (struct wu_add){*proto, off};
	for (unsigned i = 0; i < NPTEPG && !u->anomaly && !u->enomem; i++) {
		uint64_t e = u->buf[off + i]; /* buf moves as the subtree is read */
		uint64_t c = child_of(u, proto->owner, proto->level, i, e);
		if (c == NO_CHILD)
			continue;
		struct ptp child = {c,
		                    proto->level - 1,
		                    proto->owner,
		                    walk_entry_va(proto->va, proto->level, i),
		                    proto->pa,
		                    i,
		                    0,
		                    0};
		attach(u, &child);
	}
}

/* for each changed entry of a surviving dirty table: fn(old child, new child) */
static void plan_links(struct walk_plan *u, bool detaching)
{
	for (size_t k = 0; k < u->ndirty && !u->anomaly && !u->enomem; k++) {
		const struct wu_dirty d = u->dirty[k];
		const struct ptp t = u->s->ptp[d.ti];
		if (!detaching && walk_gone(u, d.ti))
			continue;
		const uint64_t *old = ptp_entries(u->s, &t);
		for (size_t c = 0; c < d.nchg && !u->anomaly && !u->enomem; c++) {
			unsigned i = walk_chg(u, &d, c);
			uint64_t o = old[i], n = u->buf[d.ent + i];
			uint64_t oc = child_of(u, t.owner, t.level, i, o),
			         nc = child_of(u, t.owner, t.level, i, n);
			if (oc == nc)
				continue;
			if (detaching && oc != NO_CHILD)
				detach(u, oc, t.pa, i);
			if (!detaching && nc != NO_CHILD) {
				struct ptp child = {
				    nc,   t.level - 1, t.owner, walk_entry_va(t.va, t.level, i),
				    t.pa, i,           0,       0};
				attach(u, &child);
			}
		}
	}
}

/* pmaps that went leave with their tables; pmaps that came bring theirs */
static void plan_roots(struct walk_plan *u, bool detaching)
{
	struct ptp_set *s = u->s;
	size_t n = u->nroots > s->nroot ? u->nroots : s->nroot;
	for (size_t o = 0; o < n && !u->anomaly && !u->enomem; o++) {
		uint64_t old =
		    o < s->nroot && s->root[o] != SIZE_MAX ? s->ptp[s->root[o]].pa : NO_CHILD;
		uint64_t new = o < u->nroots && !u->roots[o].skip ? u->roots[o].pa : NO_CHILD;
		if (old == new)
			continue;
		if (detaching && old != NO_CHILD)
			detach(u, old, 0, 0);
		if (!detaching && new != NO_CHILD) {
			struct ptp root = {new, 4, (uint32_t)o, 0, 0, 0, 0, 0};
			attach(u, &root);
		}
	}
}
static int note_kernel_ranges(struct walk_plan *u, struct va_ranges *kr)
{
	for (size_t k = 0; k < u->ndirty; k++) {
		const struct wu_dirty *d = &u->dirty[k];
		const struct ptp t = u->s->ptp[d->ti];
		for (size_t c = 0; c < d->nchg && t.owner == 0; c++) {
			unsigned i = walk_chg(u, d, c);
			if (array_reserve(&kr->r, &kr->cap, kr->n + 1, sizeof *kr->r, 64) != 0)
				return -1;
			uint64_t va = walk_entry_va(t.va, t.level, i);
			kr->r[kr->n++] = (struct va_range){va, va + (level_span(t.level) - 1)};
		}
	}
	return 0;
}

struct walk_plan *walk_plan_new(void)
{
	struct walk_plan *u = calloc(1, sizeof *u);
	if (u != NULL) {
		hmap_init(&u->is_gone);
		hmap_init(&u->adding);
	}
	return u;
}

void walk_plan_free(struct walk_plan *u)
{
	if (u == NULL)
		return;
	free(u->dirty);
	free(u->add);
	free(u->buf);
	free(u->chg);
	free(u->gone);
	hmap_free(&u->is_gone);
	hmap_free(&u->adding);
	free(u);
}

static void plan_reset(struct walk_plan *u)
{
	u->ndirty = u->nadd = u->nbuf = u->ngone = u->nchg = 0;
	u->anomaly = u->enomem = false;
	if (u->is_gone.len > 0)
		hmap_free(&u->is_gone);
	if (u->adding.len > 0)
		hmap_free(&u->adding);
}

int walk_plan(struct walk_plan *u, struct ptp_set *s, const struct walk_params *p,
              const struct walk_root *roots, size_t nroots, struct va_ranges *kernel_ranges,
              bool *fallback)
{
	plan_reset(u);
	u->s = s;
	u->params = *p;
	u->p = &u->params;
	*fallback = s->nissue != 0 || nroots > WALK_MAX_ROOTS;
	if (*fallback)
		return 0;
	memcpy(u->roots, roots, nroots * sizeof *roots);
	u->nroots = nroots;
	collect_dirty(u);
	plan_roots(u, true);
	plan_links(u, true);
	plan_roots(u, false);
	plan_links(u, false);
	*fallback = u->anomaly;
	if (u->enomem)
		return -1;
	return *fallback ? 0 : note_kernel_ranges(u, kernel_ranges);
}
