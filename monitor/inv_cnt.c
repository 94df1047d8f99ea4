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

struct pmap_counter {
	const char *name;
	int which;
};

/* the walk's counts in a full check, the ones kept from the deltas in a scoped one */
static void owner_counter(struct check *c, uint64_t owner, const void *counter)
{
	const struct pmap_counter *pc = counter;
	const struct incr *x = c->inc;
	uint32_t o = (uint32_t)owner;
	struct pmap_counts n;
	if (!owner_is_user(c->cur, o))
		return;
	if (c->scope != NULL)
		n = (struct pmap_counts){x->owner_leaves[o], x->owner_wired[o], x->owner_ptps[o]};
	else
		count_pmap(c, o, &n);
	pmap_counter(c, pc->name, pc->which, o, &n);
}

static void check_pmap_counter(struct check *c, const char *name, int which)
{
	struct pmap_counter pc = {name, which};
	each_owner(c, owner_counter, &pc);
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

/* managed mappings per vm_page: recounted from the walk, or kept from the deltas;
 * NULL when out of memory */
static const uint32_t *page_counts(struct check *c, bool writable)
{
	if (c->scope != NULL)
		return writable ? c->inc->page_writable : c->inc->page_mapped;
	return check_page_counts(c, writable);
}

static void page_counter(struct check *c, bool writable, uint64_t i, uint32_t n, uint32_t found)
{
	const char *name = writable ? "writeable_count" : "pmap_count";
	struct violation *v = vio(c, "page %s %u, the walk counts %u", name, found, n);
	vio_page(v, c, (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT);
	vio_counter(v, name, n, found);
}

/* counts: page_counts() */
static inline void pmap_count(struct check *c, uint64_t i, const void *counts)
{
	const uint32_t *n = counts;
	if (c->cur->vmp[i].pmap_count != n[i])
		page_counter(c, false, i, n[i], c->cur->vmp[i].pmap_count);
}

static inline void writeable_count(struct check *c, uint64_t i, const void *counts)
{
	const uint32_t *n = counts;
	if (c->cur->vmp[i].writeable_count != n[i])
		page_counter(c, true, i, n[i], c->cur->vmp[i].writeable_count);
}

void inv_pmap_count(struct check *c)
{
	const uint32_t *n = page_counts(c, false);
	if (n != NULL)
		each_page(c, pmap_count, n);
}

void inv_writeable_count(struct check *c)
{
	const uint32_t *n = page_counts(c, true);
	if (n != NULL)
		each_page(c, writeable_count, n);
}

struct mapped_counts {
	const uint32_t *all, *writable;
};

static void flags_vio(struct check *c, uint64_t i, uint32_t mapped, uint32_t writable,
                      const char *miss)
{
	struct violation *v = vio(c, "page has %u managed mappings (%u writable) but %s is clear",
	                          mapped, writable, miss);
	vio_page(v, c, (c->d->vm_page_first_pfn + i) << PTS_PAGE_SHIFT);
}

static inline void page_flags(struct check *c, uint64_t i, const void *counts)
{
	const struct mapped_counts *n = counts;
	uint32_t mapped = n->all[i], writable = n->writable[i], f;
	if (mapped == 0 && writable == 0) /* first: a full check asks every vm_page */
		return;
	f = c->cur->vmp[i].flags;
	if (mapped && !(f & PTS_PGF_MAPPED))
		flags_vio(c, i, mapped, writable, "MAPPED");
	else if (writable && !(f & PTS_PGF_WRITEABLE))
		flags_vio(c, i, mapped, writable, "WRITEABLE");
}

void inv_page_flags(struct check *c)
{
	struct mapped_counts n = {page_counts(c, false), page_counts(c, true)};
	if (n.all != NULL && n.writable != NULL)
		each_page(c, page_flags, &n);
}
