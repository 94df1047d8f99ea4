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
#include "model.h"
#include "shadow.h"
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
	/* incremental check: what the op touched and the kept counts (NULL in full) */
	const struct scope *scope;
	const struct incr *inc;
	const struct pte_delta *delta;
	const struct pts_op *op; /* NULL at registration */
	const struct model *model;
	const struct model_out *mout;     /* NULL at registration */
	const struct pts_tlb_record *tlb; /* ledger records new in this op */
	size_t ntlb;
	bool tlb_known; /* false when the ledger could not be read or wrapped */
	uint64_t cr3_before, cr3_after;
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
/* report the model's findings that belong to c->inv */
void check_model_findings(struct check *c);
/* report the snapshot's read issues that belong to c->inv */
void check_issues(struct check *c);

/* managed user PTEs (all, or writable) per vm_page, from the walk; NULL on ENOMEM */
const uint32_t *check_page_counts(struct check *c, bool writable);

/* the incremental check's iteration over what the op touched (check_scope.c):
 * each leaf or pv entry once */
enum {
	SCOPE_DELTA = 1,   /* leaves the delta names */
	SCOPE_PV_KEYS = 2, /* leaves at the (pmap, va) of pv entries that came or went */
	SCOPE_TABLES = 4,  /* every leaf of the tables a changed entry now leads to */
};
typedef void (*leaf_check_fn)(struct check *c, const struct leaf *l);
typedef void (*pv_check_fn)(struct check *c, const struct pv_snap *pv);
void scoped_leaves(struct check *c, unsigned what, leaf_check_fn fn);
/* new pv entries, and the entries at the (pmap, va) of the leaves `what` names */
void scoped_pv(struct check *c, unsigned what, pv_check_fn fn);
/* the delta makes or removes a 2 MiB / 1 GiB leaf in user space */
bool scope_has_large_user_leaf(const struct check *c);
/* changed entries the walk holds now (not of unlinked tables), valid ones */
typedef void (*entry_check_fn)(struct check *c, const struct pte_change *ch);
void scoped_new_entries(struct check *c, entry_check_fn fn);

/* helpers shared by the families */
static inline bool owner_is_user(const struct snapshot *s, uint32_t owner)
{
	return owner != 0 && owner < s->npmap && s->pmap[owner].live;
}

static inline bool leaf_is_user(const struct check *c, const struct leaf *l)
{
	return owner_is_user(c->cur, l->owner) && l->va < c->d->user_max;
}
bool op_is(const struct check *c, uint32_t kind);

/* invariant functions, one per table entry; *_scoped: the same checks on the
 * objects c->scope names (inv_scoped_*.c) */
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

void inv_pv_for_pte_scoped(struct check *c);
void inv_pte_for_pv_scoped(struct check *c);
void inv_pv_ptp_scoped(struct check *c);
void inv_managed_bit_scoped(struct check *c);
void inv_nothing_scoped(struct check *c);
void inv_pv_pmap_live_scoped(struct check *c);
void inv_resident_count_scoped(struct check *c);
void inv_wired_count_scoped(struct check *c);
void inv_ptp_count_scoped(struct check *c);
void inv_pmap_count_scoped(struct check *c);
void inv_writeable_count_scoped(struct check *c);
void inv_page_flags_scoped(struct check *c);
void inv_ptp_refcount_scoped(struct check *c);
void inv_ptp_empty_freed_scoped(struct check *c);
void inv_ptp_hash_scoped(struct check *c);
void inv_ptp_usage_scoped(struct check *c);
void inv_attr_reserved_scoped(struct check *c);
void inv_attr_encoding_scoped(struct check *c);
void inv_attr_invalid_zero_scoped(struct check *c);
void inv_as_user_bit_scoped(struct check *c);
void inv_as_kernel_slots_scoped(struct check *c);
void inv_as_dmap_scoped(struct check *c);
void inv_as_user_targets_scoped(struct check *c);
void inv_as_structures_scoped(struct check *c);
void inv_pool_page_count_scoped(struct check *c);
void inv_pool_lists_scoped(struct check *c);
void inv_pool_items_scoped(struct check *c);
void inv_pool_kva_scoped(struct check *c);
void inv_pool_no_leak_scoped(struct check *c);
void inv_model_mappings_scoped(struct check *c);
void inv_model_attrs_scoped(struct check *c);
void inv_prot_page_protect_scoped(struct check *c);
void inv_prot_protect_range_scoped(struct check *c);
void inv_pool_totals_scoped(struct check *c);
void inv_pool_high_water_scoped(struct check *c);

#endif /* MONITOR_CHECK_CTX_H */
