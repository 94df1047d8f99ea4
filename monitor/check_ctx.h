/* monitor/check_ctx.h - what an invariant function sees: the snapshot after the
 * op and before it, the PTE delta, the op and the model, the new TLB ledger
 * records; and how it reports a violation.  Internal to monitor/.
 */
#ifndef MONITOR_CHECK_CTX_H
#define MONITOR_CHECK_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ptshadow/abi.h>

#include "incr.h"
#include "invariant.h"
#include "locks.h"
#include "model.h"
#include "pte.h"
#include "shadow.h"
#include "smp.h"
#include "snap.h"
#include "violation.h"

struct monitor;

struct check {
	struct monitor *m;
	const struct pts_descriptor *d;
	const struct snapshot *cur;
	const struct snapshot *prev; /* NULL at registration and in an incremental check */
	/* the pmaps and pool before the op (both modes), NULL at registration */
	const struct pmap_snap *prev_pmap;
	size_t prev_npmap;
	uint32_t prev_nout;
	bool prev_pool_ok;
	/*
	 * What the invariant being checked looks at: NULL = everything (a full
	 * check, or an invariant that found something at the last op), else the
	 * objects the op touched.  inc: the incremental check's kept counts and
	 * the op's scope, whatever the invariant looks at (NULL in a full check).
	 */
	const struct scope *scope;
	const struct incr *inc;
	const struct pte_delta *delta;
	const struct pts_op *op;    /* NULL at registration; a group's: the last in its order */
	const struct pts_op *group; /* a group run at once: its ops (ngroup > 1), else op */
	size_t ngroup;
	const struct model *model;
	const struct model_out *mout;     /* NULL at registration */
	const struct pts_tlb_record *tlb; /* ledger records new in this op */
	size_t ntlb;
	bool tlb_known; /* false when the ledger could not be read or wrapped */
	uint64_t cr3_before, cr3_after;
	/* the CPUs after the op and before it (the same at registration), and
	 * each CPU's root by the ledger before and after the op's records */
	const struct smp_view *smp, *smp_prev;
	const uint64_t *root_before, *root_after;
	const struct lock_view *locks;         /* the global and pv-list lock words after the op */
	const struct invariant *inv;           /* the one being checked */
	uint32_t *page_mapped, *page_writable; /* check_page_counts(), lazily */
};

/* a new violation of c->inv, or NULL when its per-op cap is reached */
struct violation *vio(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vio_pte(struct violation *v, int32_t slot, uint64_t va, uint32_t level, uint64_t old,
             uint64_t new);
void vio_page(struct violation *v, const struct check *c, gpa_t pa);
void vio_pmap(struct violation *v, const struct check *c, const struct snapshot *s, uint32_t owner);
void vio_counter(struct violation *v, const char *name, int64_t expected, int64_t found);
void vio_ptp(struct violation *v, const struct check *c, const struct ptp *t);
void vio_pv(struct violation *v, const struct check *c, const struct pv_snap *pv);
/* the page-table walks to the VAs v's objects name, before and after the op
 * (vio_walk.c); run on each new violation once every invariant has run */
void vio_walks(struct violation *v, const struct check *c);
/* report the model's findings that belong to c->inv */
void check_model_findings(struct check *c);
/* report the snapshot's read issues that belong to c->inv */
void check_issues(struct check *c);

/* TLB family (inv_tlb.c), for SMP (inv_smp.c) too: a ledger record of the op,
 * by cpu (or by any: TLB_ANY_CPU), that invalidates [va, va + span); whether
 * a PTE change takes a right or a translation away */
#define TLB_ANY_CPU UINT32_MAX
bool tlb_covered(const struct check *c, uint32_t cpu, uint64_t va, uint64_t span, bool global);
bool tlb_record_covers(const struct pts_tlb_record *r, uint64_t va, uint64_t span, bool global);
bool tlb_downgrade(const struct pte_change *ch);
/* an invalidation or CR3 load (not FREE_PTP, not SHOOT, not an unknown kind) */
bool tlb_record_invalidates(const struct pts_tlb_record *r);

/* managed user PTEs (all, or writable) per vm_page, from the walk; NULL on ENOMEM */
const uint32_t *check_page_counts(struct check *c, bool writable);

/* helpers shared by the families */
static inline bool owner_is_user(const struct snapshot *s, uint32_t owner)
{
	return owner != 0 && owner < s->npmap && s->pmap[owner].live;
}

static inline bool leaf_is_user(const struct check *c, const struct leaf *l)
{
	return owner_is_user(c->cur, l->owner) && l->va < c->d->user_max;
}

/*
 * The objects an invariant looks at (check_scope.c): every one when c->scope
 * is NULL, else those the op touched, each once.  An invariant is one
 * function over these, the same in both checks; what the scope names
 * needlessly costs time, never a finding.
 */
enum {
	SCOPE_DELTA = 1,   /* leaves the delta names */
	SCOPE_PV_KEYS = 2, /* leaves at the (pmap, va) of pv entries that came or went */
	SCOPE_TABLES = 4,  /* every leaf of the tables a changed entry now leads to */
	/* each_pv: every entry when the delta makes or removes a 2 MiB / 1 GiB
	 * user leaf (it covers pv entries at other VAs) */
	SCOPE_ALL_IF_LARGE = 8,
};
typedef void (*leaf_check_fn)(struct check *c, const struct leaf *l);
typedef void (*pv_check_fn)(struct check *c, const struct pv_snap *pv);
typedef void (*ptp_check_fn)(struct check *c, const struct ptp *t);
typedef void (*entry_check_fn)(struct check *c, uint32_t owner, uint32_t level, uint64_t va,
                               uint64_t e);
typedef void (*pool_page_check_fn)(struct check *c, const struct pool_page_snap *pg);
/* the incremental check's halves of the each_* below (check_scope.c) */
void scoped_leaves(struct check *c, unsigned what, leaf_check_fn fn);
void scoped_pv(struct check *c, unsigned what, pv_check_fn fn);
void scoped_tables(struct check *c, ptp_check_fn fn);
void scoped_entries(struct check *c, unsigned which, entry_check_fn fn);
void scoped_pool_pages(struct check *c, pool_page_check_fn fn);

/* Inline, so that each invariant's loop over everything is compiled with
 * its own check in it: a full check costs what a loop of its own did. */

/* the walk's leaves, or those `what` names */
static inline void each_leaf(struct check *c, unsigned what, leaf_check_fn fn)
{
	if (c->scope != NULL) {
		scoped_leaves(c, what, fn);
		return;
	}
	for (size_t i = 0; i < c->cur->walk.nleaf; i++)
		fn(c, &c->cur->walk.leaf[i]);
}

/* pv entries, or the new ones and those at the leaves `what` names */
static inline void each_pv(struct check *c, unsigned what, pv_check_fn fn)
{
	if (c->scope != NULL) {
		scoped_pv(c, what, fn);
		return;
	}
	for (size_t i = 0; i < c->cur->npv; i++)
		fn(c, &c->cur->pv[i]);
}

/* the walk's tables, or those the op touched that it still holds */
static inline void each_table(struct check *c, ptp_check_fn fn)
{
	if (c->scope != NULL) {
		scoped_tables(c, fn);
		return;
	}
	for (size_t i = 0; i < c->cur->walk.nptp; i++)
		fn(c, &c->cur->walk.ptp[i]);
}

/* each_entry: only the entries of user pmaps' tables, only those above level 1 */
enum { ENTRIES_USER = 1, ENTRIES_UPPER = 2 };

static inline bool entries_of(const struct check *c, unsigned which, uint32_t owner, uint32_t level)
{
	return (!(which & ENTRIES_USER) || owner_is_user(c->cur, owner)) &&
	       (!(which & ENTRIES_UPPER) || level > 1);
}

/* the non-zero entries of the walk's tables `which` names, or the entries of
 * them the op changed that the walk holds now (not those of unlinked
 * tables), with their new values */
static inline void each_entry(struct check *c, unsigned which, entry_check_fn fn)
{
	const struct ptp_set *w = &c->cur->walk;
	if (c->scope != NULL) {
		scoped_entries(c, which, fn);
		return;
	}
	for (size_t i = 0; i < w->nptp; i++) {
		const struct ptp *t = &w->ptp[i];
		const uint64_t *e = ptp_entries(w, t);
		if (!entries_of(c, which, t->owner, t->level))
			continue;
		for (unsigned j = 0; j < NPTEPG; j++)
			if (e[j] != 0)
				fn(c, t->owner, t->level,
				   canonical(t->va + j * level_span(t->level)), e[j]);
	}
}

/* the pool's pages (when it was read), or those read again, new or moved between lists */
static inline void each_pool_page(struct check *c, pool_page_check_fn fn)
{
	const struct pool_snap *p = &c->cur->pool;
	if (c->scope != NULL) {
		scoped_pool_pages(c, fn);
		return;
	}
	for (size_t i = 0; p->ok && i < p->npage; i++)
		fn(c, &p->page[i]);
}

/*
 * Indexes (of vm_pages, pmaps, pv entries, kenter window pages): every one
 * below a bound, or the members of one of the scope's sets.  arg is fn's.
 */
typedef void (*index_check_fn)(struct check *c, uint64_t i, const void *arg);

static inline void each_index(struct check *c, const uint64_t *set, size_t nset, size_t stride,
                              uint64_t first, uint64_t n, index_check_fn fn, const void *arg)
{
	if (c->scope == NULL) {
		for (uint64_t i = first; i < n; i++)
			fn(c, i, arg);
		return;
	}
	for (size_t k = 0; k < nset; k++)
		fn(c, set[k * stride], arg);
}

/* vm_pages, or those the op mapped, unmapped or changed */
static inline void each_page(struct check *c, index_check_fn fn, const void *arg)
{
	const struct idset *set = c->scope ? &c->scope->pages : NULL;
	each_index(c, set ? set->v : NULL, set ? set->n : 0, 1, 0, c->cur->nvmp, fn, arg);
}

/* vm_pages, or those whose fields changed */
static inline void each_page_changed(struct check *c, index_check_fn fn, const void *arg)
{
	_Static_assert(offsetof(struct vmp_change, index) == 0 &&
	                   sizeof(struct vmp_change) % sizeof(uint64_t) == 0,
	               "a vm_page change's index is every stride-th word");
	const struct scope *sc = c->scope;
	each_index(c, sc ? (const uint64_t *)sc->vmp : NULL, sc ? sc->nvmp : 0,
	           sizeof(struct vmp_change) / sizeof(uint64_t), 0, c->cur->nvmp, fn, arg);
}

/* pmap ids from 1 (fn asks owner_is_user), or those the op touched, 0 too */
static inline void each_owner(struct check *c, index_check_fn fn, const void *arg)
{
	const struct idset *set = c->scope ? &c->scope->owners : NULL;
	each_index(c, set ? set->v : NULL, set ? set->n : 0, 1, 1, c->cur->npmap, fn, arg);
}

/* pv entries (indexes in cur->pv), or those read this op */
static inline void each_new_pv(struct check *c, index_check_fn fn, const void *arg)
{
	const struct idset *set = c->scope ? &c->scope->pv_new : NULL;
	each_index(c, set ? set->v : NULL, set ? set->n : 0, 1, 0, c->cur->npv, fn, arg);
}

/* kenter window pages, or those the model or the walk changed (fn asks
 * i < model->nkenter) */
static inline void each_kenter_page(struct check *c, index_check_fn fn, const void *arg)
{
	const struct idset *set = c->scope ? &c->scope->kenter : NULL;
	each_index(c, set ? set->v : NULL, set ? set->n : 0, 1, 0, c->model->nkenter, fn, arg);
}

bool op_is(const struct check *c, uint32_t kind);
/* the op, or an op of its group, is of this kind */
bool group_has(const struct check *c, uint32_t kind);

/* invariant functions, one per table entry (inv_*.c): each looks at what
 * c->scope names, everything when it is NULL */
void inv_pv_for_pte(struct check *c);
void inv_pte_for_pv(struct check *c);
void inv_pv_ptp(struct check *c);
void inv_managed_bit(struct check *c);
void inv_pv_lists(struct check *c);
void inv_pv_pmap_live(struct check *c);
void inv_resident_count(struct check *c);
void inv_wired_count(struct check *c);
void inv_ptp_count(struct check *c);
void inv_pmap_count(struct check *c);
void inv_writeable_count(struct check *c);
void inv_page_flags(struct check *c);
void inv_ptp_refcount(struct check *c);
void inv_ptp_one_parent(struct check *c);
void inv_ptp_not_shared(struct check *c);
void inv_ptp_empty_freed(struct check *c);
void inv_ptp_hash(struct check *c);
void inv_ptp_usage(struct check *c);
void inv_attr_harvest(struct check *c);
void inv_attr_d_needs_a(struct check *c);
void inv_attr_reserved(struct check *c);
void inv_attr_new_pte(struct check *c);
void inv_attr_encoding(struct check *c);
void inv_attr_invalid_zero(struct check *c);
void inv_prot_never_grants(struct check *c);
void inv_prot_page_protect(struct check *c);
void inv_prot_protect_range(struct check *c);
void inv_as_user_bit(struct check *c);
void inv_as_kernel_slots(struct check *c);
void inv_as_dmap(struct check *c);
void inv_as_user_targets(struct check *c);
void inv_as_structures(struct check *c);
void inv_tlb_downgrade(struct check *c);
void inv_tlb_ptp_unlink(struct check *c);
void inv_tlb_ledger(struct check *c);
void inv_tlb_touch(struct check *c);
void inv_smp_pm_active(struct check *c);
void inv_smp_at_rest(struct check *c);
void inv_smp_cpu_invalidated(struct check *c);
void inv_smp_ledger_cpus(struct check *c);
void inv_smp_ptp_free(struct check *c);
void inv_locks_free(struct check *c);
void inv_smp_shoot_reaches(struct check *c);
void inv_smp_unlock_after_invalidate(struct check *c);
void inv_pool_page_count(struct check *c);
void inv_pool_lists(struct check *c);
void inv_pool_items(struct check *c);
void inv_pool_kva(struct check *c);
void inv_pool_totals(struct check *c);
void inv_pool_high_water(struct check *c);
void inv_pool_no_leak(struct check *c);
void inv_model_mappings(struct check *c);
void inv_model_results(struct check *c);
void inv_model_attrs(struct check *c);
void inv_model_contents(struct check *c);
void inv_model_enomem(struct check *c);

#endif /* MONITOR_CHECK_CTX_H */
