/* monitor/walk.h - the page-table walker: every pmap's 4-level tree from its
 * root, through the checked accessor, into a set of PTP copies and leaves.
 */
#ifndef MONITOR_WALK_H
#define MONITOR_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gmem.h"
#include "hmap.h"

/* a page-table page reached by the walk, with its entries copied */
struct ptp {
	gpa_t pa;
	uint32_t level; /* 1 PT, 2 PD, 3 PDPT, 4 PML4 */
	uint32_t owner; /* index of the pmap in the snapshot */
	uint64_t va;    /* first VA it maps (canonical) */
	gpa_t parent;   /* PA of the parent table; 0 for a root */
	uint32_t parent_index;
	uint32_t nvalid; /* valid entries */
	size_t pte_off;  /* its 512 entries at set->ptes[pte_off] */
};

/* a valid leaf entry: 4 KiB PTE or PS entry */
struct leaf {
	uint32_t owner;
	uint32_t level;
	uint64_t va; /* canonical */
	uint64_t pte;
	gpa_t ptp; /* the table holding it */
	uint32_t index;
};

enum walk_issue_kind {
	WALK_OUTSIDE_RAM, /* a table entry points outside guest RAM */
	WALK_SHARED,      /* a table reached from two pmaps */
	WALK_TWO_PARENTS, /* a table reached twice within one pmap (or a cycle) */
	WALK_LIMIT,       /* visit limit hit */
	WALK_UNREADABLE,  /* the root cannot be read */
};

struct walk_issue {
	enum walk_issue_kind kind;
	uint32_t owner, other_owner;
	uint32_t level; /* level of the table holding the entry */
	uint64_t va;    /* VA the entry maps */
	gpa_t pa;       /* the target table */
	uint64_t pte;
};

/* one root to walk; user pmaps skip the shared kernel slots */
struct walk_root {
	gpa_t pa;
	bool kernel;
	bool skip; /* no pmap at this owner id */
};

struct ptp_set {
	struct ptp *ptp;
	size_t nptp, ptp_cap;
	uint64_t *ptes;
	size_t ptes_cap; /* in entries */
	struct leaf *leaf;
	size_t nleaf, leaf_cap;
	struct walk_issue *issue;
	size_t nissue, issue_cap;
	struct hmap by_pa;      /* table PA -> ptp index */
	struct hmap by_key;     /* (owner, level, va) key -> ptp index */
	struct hmap leaf_by_va; /* (owner, va) key -> leaf index */
	size_t *root;           /* ptp index of each owner's root, or SIZE_MAX */
	size_t nroot, root_cap;
};

struct walk_params {
	const struct gmem *mem;
	uint32_t kernel_slot_first, kernel_slot_last;
	size_t max_ptps;              /* visit limit */
	const struct ptp_set *shadow; /* reuse clean pages from here (may be NULL) */
	const uint64_t *dirty_pfn;    /* walk_plan: the written pages, when listed */
	size_t ndirty;
	bool dirty_listed; /* else every table is asked about (mem->page_dirty) */
};

void ptp_set_init(struct ptp_set *s);
void ptp_set_free(struct ptp_set *s);
/* walk every root (owner = index in roots); 0, or -1 when out of memory */
int walk_all(struct ptp_set *s, const struct walk_params *p, const struct walk_root *roots,
             size_t nroots);

static inline const uint64_t *ptp_entries(const struct ptp_set *s, const struct ptp *p)
{
	return s->ptes + p->pte_off;
}

/* lookups; NULL if absent */
const struct ptp *ptp_by_pa(const struct ptp_set *s, gpa_t pa);
const struct ptp *ptp_by_key(const struct ptp_set *s, uint32_t owner, uint32_t level, uint64_t va);
const struct leaf *leaf_at(const struct ptp_set *s, uint32_t owner, uint64_t va);
uint64_t ptp_key(uint32_t owner, uint32_t level, uint64_t va);
uint64_t leaf_key(uint32_t owner, uint64_t va);

/*
 * The incremental walk: bring s (the previous walk of the same roots, with no
 * walk issues) up to date by re-reading only the tables p->mem says are
 * dirty.  walk_plan reads and checks without changing s; it sets *fallback
 * when it meets what only a fresh walk decides (a table outside RAM, reached
 * twice, the visit limit, an unreadable table), and adds to kernel_ranges
 * the VA ranges the kernel pmap's changed entries span.  walk_commit then
 * updates s and appends to out the entries that changed, exactly as
 * shadow_diff would between s and a fresh walk.  Both return 0, or -1 when
 * out of memory (s is unusable after a failed commit).
 */
#define WALK_MAX_ROOTS 160
struct pte_delta;
struct walk_plan;
struct va_range {
	uint64_t va, last; /* inclusive: a range may end at the top of the address space */
};
struct va_ranges {
	struct va_range *r;
	size_t n, cap;
};
struct walk_plan *walk_plan_new(void);
void walk_plan_free(struct walk_plan *u);
int walk_plan(struct walk_plan *u, struct ptp_set *s, const struct walk_params *p,
              const struct walk_root *roots, size_t nroots, struct va_ranges *kernel_ranges,
              bool *fallback);
int walk_commit(struct walk_plan *u, struct pte_delta *out);

/* does [va, va + len) meet one of the ranges? (len > 0) */
static inline bool va_ranges_meet(const struct va_ranges *r, uint64_t va, uint64_t len)
{
	for (size_t i = 0; i < r->n; i++)
		if (va <= r->r[i].last && r->r[i].va <= va + (len - 1))
			return true;
	return false;
}

/*
 * Print owner's mappings one range per line, like QEMU's `info tlb`:
 * contiguous VA -> PA runs with equal flags are one line.
 */
void walk_dump(const struct ptp_set *s, uint32_t owner, uint64_t wired_bit, uint64_t managed_bit,
               FILE *out);

#endif /* MONITOR_WALK_H */
