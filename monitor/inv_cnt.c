/* monitor/inv_cnt.c - CNT family: per-pmap resident/wired/PTP counts and
 * per-page pmap_count/writeable_count and MAPPED/WRITEABLE flags, recounted
 * from the walk.
 */
#include <stdlib.h>

#include "check_ctx.h"
#include "pte.h"

struct pmap_counts {
	uint64_t leaves, wired, ptps;
};

static void count_pmap(const struct check *c, uint32_t owner, struct pmap_counts *n)
{
	const struct ptp_set *w = &c->cur->walk;
	*n = (struct pmap_counts){0, 0, 0};
	for (size_t i = 0; i < w->nleaf; i++) {
		const struct leaf *l = &w->leaf[i];
		if (l->owner != owner || l->va >= c->d->user_max)
			continue;
		n->leaves++;
		n->wired += (l->pte & c->d->pte_wired_bit) != 0;
	}
	for (size_t i = 0; i < w->nptp; i++)
		n->ptps += w->ptp[i].owner == owner && w->ptp[i].level < 4;
}

/* which: 0 resident, 1 wired, 2 ptps */
static void pmap_counter(struct check *c, const char *name, int which, uint32_t o,
                         const struct pmap_counts *n)
{
	const struct snapshot *s = c->cur;
	uint64_t want, found;
	if (which == 0) {
		want = n->leaves +
		       (c->d->resident_rule == PTS_RESIDENT_LEAVES_PLUS_PTPS ? n->ptps : 0);
		found = s->pmap[o].resident;
	} else if (which == 1) {
		want = n->wired, found = s->pmap[o].wired;
	} else {
		want = n->ptps, found = s->pmap[o].ptp_count;
	}
	if (want == found)
		return;
	struct violation *v = vio(c, "pmap %u: %s %lld, the walk counts %lld", s->pmap[o].slot,
	                          name, (long long)found, (long long)want);
	vio_pmap(v, c, s, o);
	vio_counter(v, name, (int64_t)want, (int64_t)found);
}

static void check_pmap_counter(struct check *c, const char *name, int which)
{
	for (uint32_t o = 1; o < c->cur->npmap; o++) {
		struct pmap_counts n;
		if (!owner_is_user(c->cur, o))
			continue;
		count_pmap(c, o, &n);
		pmap_counter(c, name, which, o, &n);
	}
}

/* the pmaps the op touched, with the counts kept from the deltas */
static void scoped_pmap_counter(struct check *c, const char *name, int which)
{
	const struct incr *x = c->inc;
	for (size_t k = 0; k < c->scope->owners.n; k++) {
		uint32_t o = (uint32_t)c->scope->owners.v[k];
		struct pmap_counts n = {x->owner_leaves[o], x->owner_wired[o], x->owner_ptps[o]};
		if (owner_is_user(c->cur, o))
			pmap_counter(c, name, which, o, &n);
	}
}

void inv_resident_count(struct check *c)
{
	check_pmap_counter(c, "resident_count", 0);
}

void inv_wired_count(struct check *c)
{
	check_pmap_counter(c, "wired_count", 1);
}

void inv_ptp_count(struct check *c)
{
	check_pmap_counter(c, "pm_ptp_count", 2);
}

static uint32_t *count_pages(const struct check *c, bool writable)
{
	const struct snapshot *s = c->cur;
	uint32_t *n = calloc(s->nvmp ? s->nvmp : 1, sizeof *n);
	if (n == NULL)
		return NULL;
	for (size_t i = 0; i < s->walk.nleaf; i++) {
		const struct leaf *l = &s->walk.leaf[i];
		int64_t pi = snap_page_index(c->d, pte_frame(l->pte, l->level));
		if (!leaf_is_user(c, l) || !(l->pte & c->d->pte_managed_bit) || pi < 0 ||
		    (uint64_t)pi >= s->nvmp)
			continue;
		if (!writable || (l->pte & PG_RW))
			n[pi]++;
	}
	return n;
}

const uint32_t *check_page_counts(struct check *c, bool writable)
{
	uint32_t **slot = writable ? &c->page_writable : &c->page_mapped;
	if (*slot == NULL)
		*slot = count_pages(c, writable);
	return *slot;
}

static void page_counter(struct check *c, bool writable, uint64_t i, uint32_t n)
{
	const char *name = writable ? "writeable_count" : "pmap_count";
	uint32_t found = writable ? c->cur->vmp[i].writeable_count : c->cur->vmp[i].pmap_count;
	if (found == n)
		return;
	struct violation *v = vio(c, "page %s %u, the walk counts %u", name, found, n);
	vio_page(v, c, (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT);
	vio_counter(v, name, n, found);
}

static void check_page_counter(struct check *c, bool writable)
{
	const uint32_t *n = check_page_counts(c, writable);
	const struct vmp *v = c->cur->vmp;
	for (uint64_t i = 0; n != NULL && i < c->cur->nvmp; i++)
		if ((writable ? v[i].writeable_count : v[i].pmap_count) != n[i])
			page_counter(c, writable, i, n[i]);
}

static void scoped_page_counter(struct check *c, bool writable)
{
	const uint32_t *n = writable ? c->inc->page_writable : c->inc->page_mapped;
	for (size_t k = 0; k < c->scope->pages.n; k++)
		page_counter(c, writable, c->scope->pages.v[k], n[c->scope->pages.v[k]]);
}

void inv_pmap_count(struct check *c)
{
	check_page_counter(c, false);
}

void inv_writeable_count(struct check *c)
{
	check_page_counter(c, true);
}

static void page_flags(struct check *c, uint64_t i, uint32_t mapped, uint32_t writable)
{
	uint32_t f = c->cur->vmp[i].flags;
	const char *miss = mapped && !(f & PTS_PGF_MAPPED)        ? "MAPPED"
	                   : writable && !(f & PTS_PGF_WRITEABLE) ? "WRITEABLE"
	                                                          : NULL;
	if (miss == NULL)
		return;
	struct violation *v = vio(c, "page has %u managed mappings (%u writable) but %s is clear",
	                          mapped, writable, miss);
	vio_page(v, c, (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT);
}

void inv_page_flags(struct check *c)
{
	const uint32_t *mapped = check_page_counts(c, false),
	               *writable = check_page_counts(c, true);
	for (uint64_t i = 0; mapped != NULL && writable != NULL && i < c->cur->nvmp; i++)
		if (mapped[i] || writable[i])
			page_flags(c, i, mapped[i], writable[i]);
}

/* ---- the incremental check */

void inv_resident_count_scoped(struct check *c)
{
	scoped_pmap_counter(c, "resident_count", 0);
}

void inv_wired_count_scoped(struct check *c)
{
	scoped_pmap_counter(c, "wired_count", 1);
}

void inv_ptp_count_scoped(struct check *c)
{
	scoped_pmap_counter(c, "pm_ptp_count", 2);
}

void inv_pmap_count_scoped(struct check *c)
{
	scoped_page_counter(c, false);
}

void inv_writeable_count_scoped(struct check *c)
{
	scoped_page_counter(c, true);
}

void inv_page_flags_scoped(struct check *c)
{
	for (size_t k = 0; k < c->scope->pages.n; k++) {
		uint64_t i = c->scope->pages.v[k];
		page_flags(c, i, c->inc->page_mapped[i], c->inc->page_writable[i]);
	}
}
