/* monitor/incr_plan.h - the incremental update's plans: what the guest's
 * written pages say the pmaps, vm_pages, pool and pv lists are now, read and
 * checked without touching the snapshot; committed only when every plan
 * succeeded.  Internal to monitor/incr*.c.
 */
#ifndef MONITOR_INCR_PLAN_H
#define MONITOR_INCR_PLAN_H

#include "incr.h"

struct kview;

/* every plan: 0 with *fallback set when a fresh read must decide, or -1 ENOMEM */

struct pmap_plan {
	struct pmap_snap list[SNAP_MAX_PMAPS]; /* the pmap list as read, in list order */
	size_t nlist;
	uint64_t *list_hash;
	struct pmap_snap pmap[SNAP_MAX_PMAPS]; /* by id, as a full read would place them */
	size_t npmap;
	uint64_t *hash; /* SNAP_MAX_PMAPS * ptp_hash_size, by id */
	uint64_t curpmap;
	bool changed[SNAP_MAX_PMAPS]; /* fields changed, or the pmap came or went */
	bool relisted;                /* a pmap came or went */
};
int pmap_plan(struct pmap_plan *pp, const struct snapshot *s, struct kview *kv, bool *fallback);
size_t pmap_plan_roots(const struct pmap_plan *pp, const struct snapshot *s,
                       struct walk_root *roots);
int pmap_commit(struct snapshot *s, const struct pmap_plan *pp, const struct pts_descriptor *d,
                struct scope *sc);

struct vmp_plan {
	uint64_t *index;
	uint8_t *raw; /* vm_page_size bytes per index */
	size_t n, cap, raw_cap;
	size_t *pages; /* array pages on written pages, when the log lists them */
	size_t npages, pages_cap;
};
int vmp_plan(struct vmp_plan *vp, const struct snapshot *s, struct kview *kv, struct incr *x,
             bool *fallback);
int vmp_commit(struct snapshot *s, const struct vmp_plan *vp, const struct pts_descriptor *d,
               struct scope *sc);

struct pool_plan_page {
	size_t idx; /* in cur->pool.page, or SIZE_MAX for a new page */
	struct pool_page_snap pg;
	struct pool_gpa gpa;
	bool reread;
	size_t items, nitems; /* its free items at items[items ..] when reread */
};
enum { POOL_HELD = 1, POOL_DIRTY = 2, POOL_BAD = 4 };
struct pool_plan {
	struct pool_snap head; /* the structure's fields (no pages) */
	struct pool_plan_page *page;
	size_t npage, page_cap;
	uint64_t *items;
	size_t nitems, items_cap;
	uint8_t *seen; /* per existing pool page: POOL_* */
	size_t seen_cap;
	uint32_t *at; /* per existing written page: its entry in page[] */
	size_t at_cap;
	size_t *written; /* the existing pages read again (or that no longer read as pool pages) */
	size_t nwritten, written_cap;
	bool all_held;         /* the lists did not change: every existing page stays */
	struct hmap hdrs;      /* headers met this op */
	struct hmap new_pages; /* item page KVA of new pages -> 1 */
	bool removed_any;
};
int pool_plan(struct pool_plan *pl, const struct snapshot *s, struct kview *kv, struct incr *x,
              bool *fallback);
int pool_commit(struct snapshot *s, struct pool_plan *pl, const struct pts_descriptor *d,
                struct incr *x);
/* is kva a pool item slot of a page the pool holds after the op? */
bool pool_plan_is_item(const struct pool_plan *pl, const struct snapshot *s,
                       const struct pts_descriptor *d, const struct incr *x, uint64_t kva);
/* the pool page at index i of cur->pool.page goes this op */
bool pool_plan_page_gone(const struct pool_plan *pl, size_t i);

struct pv_plan {
	struct idset lists;  /* vm_page indexes whose list is read again */
	struct pv_snap *ent; /* their new entries, list by list */
	size_t n, cap;
	size_t *first; /* per list: its entries at ent[first[k] .. first[k + 1]) */
	size_t first_cap;
	struct hmap kvas, keys; /* new entries' KVAs and (owner, va) keys */
};
int pv_plan(struct pv_plan *pv, const struct snapshot *s, struct kview *kv, struct incr *x,
            const struct vmp_plan *vp, const struct pool_plan *pl, const struct pmap_plan *pp,
            size_t max_pv, bool *fallback);
int pv_commit(struct snapshot *s, const struct pv_plan *pv, struct incr *x);

/* is kva a pool item slot (page + item_offset + k * size, k < ipp) of item page `page`?  The
 * incremental update steps aside for a pv entry or free item anywhere else */
bool pool_item_slot(const struct pts_descriptor *d, uint32_t ipp, uint64_t page, uint64_t kva);

#endif /* MONITOR_INCR_PLAN_H */
