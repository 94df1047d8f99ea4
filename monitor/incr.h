/* monitor/incr.h - the incremental check: update the newest snapshot in place
 * from the pages the guest wrote during the op (KVM's dirty log, through
 * gmem.page_dirty), keep the counts the invariants recount in full mode, and
 * say which objects the op touched.  Internal to monitor/.
 *
 * What it trusts: a page the dirty log does not name holds what it held at
 * the previous check.  Anything a fresh read would judge differently from an
 * update (walk or read issues, a pv entry outside the pool, a pmap created,
 * destroyed or moved) makes it step aside: the op is then checked in full.
 */
#ifndef MONITOR_INCR_H
#define MONITOR_INCR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scope.h"
#include "snap.h"
#include "walk.h"

struct monitor;
struct pmap_plan;
struct vmp_plan;
struct pool_plan;
struct pv_plan;

/* a pool page's place in guest memory, for dirty checks */
struct pool_gpa {
	gpa_t hdr, page; /* guest-physical pages of its header and its items */
};

struct incr {
	bool valid;  /* the fields below describe m->snap[m->cur] */
	bool usable; /* and that snapshot can be updated in place */
	/* where things are in guest-physical memory */
	gpa_t *array_gpa; /* page i of the vm_page array (from its page-aligned start) */
	size_t narray;
	struct hmap array_by_gpa; /* guest-physical page -> its page of the array */
	bool array_aliased;       /* two pages of the array on one physical page */
	gpa_t pmap_gpa[SNAP_MAX_PMAPS][2];
	gpa_t pool_struct_gpa[2];
	struct pool_gpa *pool_gpa; /* parallel to cur->pool.page */
	size_t pool_gpa_cap;
	uint32_t *pool_hint; /* parallel: a guess of the index of the page's list successor */
	size_t pool_hint_cap;
	struct hmap pool_by_hdr;     /* header KVA -> pool page index */
	struct hmap pool_by_page;    /* item page KVA -> pool page index */
	struct hmap pool_by_gpa;     /* item page PA -> pool page index */
	struct hmap pool_by_hdr_gpa; /* header page PA -> pool page index */
	/* pv lists as chains over cur->pv */
	uint32_t *list_head; /* per vm_page: first entry index + 1 */
	uint32_t *pv_next;   /* per entry: next entry index + 1 on its list */
	size_t pv_next_cap;
	/* what full mode recounts from the walk */
	uint32_t *page_mapped, *page_writable, *page_mod, *page_ref; /* per vm_page */
	uint64_t owner_leaves[SNAP_MAX_PMAPS], owner_wired[SNAP_MAX_PMAPS],
	    owner_ptps[SNAP_MAX_PMAPS];
	struct hmap rmap_head; /* frame PA -> (owner, va) key of a user leaf mapping it */
	struct hmap rmap_next; /* key -> the next key on the same frame, 0 at the end */
	uint64_t pool_nfree, pool_nmissing, pool_nidle; /* sums over cur->pool.page */
	/* this op */
	uint64_t *dirty; /* the pages written, when the provider lists them (gmem.dirty_pfns) */
	size_t ndirty, dirty_cap;
	bool listed;
	struct scope sc;
	struct va_ranges kranges;                  /* kernel VA ranges whose mapping changed */
	struct pmap_snap old_pmap[SNAP_MAX_PMAPS]; /* the pmaps before the op, by id */
	size_t old_npmap;
	uint32_t old_nout;
	bool old_pool_ok;
	struct walk_plan *walk;
	struct pmap_plan *pmaps; /* plans, see incr_plan.h */
	struct vmp_plan *vmps;
	struct pool_plan *pool;
	struct pv_plan *pv;
};

void incr_init(struct incr *x);
void incr_free(struct incr *x);
/* the newest snapshot was replaced by a fresh read */
void incr_invalidate(struct incr *x);
/* the slot pmap id owner had before the op (as snap_slot) */
int32_t incr_old_slot(const struct incr *x, uint32_t owner);

/* incr_count.c: the counts from a whole snapshot, and from one op's delta
 * (which also fills the scope: tables, pages, owners, model keys, kernel) */
struct pte_delta;
struct model;
struct pts_descriptor;
int incr_count_all(struct incr *x, const struct snapshot *s, const struct pts_descriptor *d);
int incr_count_delta(struct incr *x, const struct snapshot *s, const struct pts_descriptor *d,
                     const struct pte_delta *delta, const struct model *mo);

/*
 * Update m->snap[m->cur] in place and fill m->delta and x->sc.  0 done;
 * 1 stepped aside (nothing changed: check in full); -1 out of memory.
 */
int incr_update(struct monitor *m);

#endif /* MONITOR_INCR_H */
