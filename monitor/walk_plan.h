/* monitor/walk_plan.h - the incremental walk's plan, shared by its two
 * halves: walk_update.c reads and checks, walk_commit.c applies.  Internal.
 */
#ifndef MONITOR_WALK_PLAN_H
#define MONITOR_WALK_PLAN_H

#include "hmap.h"
#include "pte.h"
#include "walk.h"

#define NO_CHILD UINT64_MAX

struct wu_dirty {
	size_t ti;  /* the table in the set */
	size_t ent; /* its new entries at buf[ent] */
	size_t chg; /* the indexes of the entries that changed: chg[chg .. chg + nchg) */
	size_t nchg;
};

struct wu_add {
	struct ptp t; /* pte_off unused until commit */
	size_t ent;
};

struct walk_plan {
	struct ptp_set *s;
	const struct walk_params *p;
	struct walk_params params;
	struct walk_root roots[WALK_MAX_ROOTS];
	size_t nroots;
	struct wu_dirty *dirty;
	size_t ndirty, dirty_cap;
	struct wu_add *add;
	size_t nadd, add_cap;
	uint64_t *buf; /* entries, NPTEPG per table */
	size_t nbuf, buf_cap;
	uint16_t *chg; /* changed entries of the written tables, ascending per table */
	size_t nchg, chg_cap;
	size_t *gone; /* indexes of detached tables */
	size_t ngone, gone_cap;
	struct hmap is_gone; /* table index -> 1 */
	struct hmap adding;  /* table PA -> add index */
	bool anomaly, enomem;
};

static inline bool walk_is_leaf(uint64_t pte, uint32_t level)
{
	return pte_valid(pte) && pte_is_leaf(pte, level);
}

static inline uint64_t walk_entry_va(uint64_t table_va, uint32_t level, unsigned i)
{
	return canonical(table_va + (uint64_t)i * level_span(level));
}

/* the index of the k-th changed entry of written table d */
static inline unsigned walk_chg(const struct walk_plan *u, const struct wu_dirty *d, size_t k)
{
	return u->chg[d->chg + k];
}

/* table ti leaves the walk in this plan */
static inline bool walk_gone(const struct walk_plan *u, size_t ti)
{
	return hmap_get(&u->is_gone, ti, NULL);
}

#endif /* MONITOR_WALK_PLAN_H */
