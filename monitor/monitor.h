/* monitor/monitor.h - the API the VMM calls: create the monitor on a guest
 * memory view and a registered descriptor, then check after every op.
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ptshadow/abi.h>

#include "gmem.h"
#include "invariant.h"
#include "violation.h"

struct monitor;

struct monitor_config {
	const char *check_spec;     /* --check spec, e.g. "-TLB,-POOL-3"; NULL = all */
	unsigned max_per_invariant; /* violations kept per invariant per op (0 = 8) */
	size_t max_violations;      /* total kept (0 = 10000); later ones are counted only */
};

/* what the monitor counts as it goes (its stats; the tests read them) */
struct monitor_stats {
	uint64_t ops;         /* monitor_after_op calls */
	uint64_t incremental; /* ... checked incrementally (the rest were read afresh) */
	uint64_t last_ns;     /* check time of the last op */
	uint64_t max_ns;
	uint64_t total_ns;
	uint64_t ptps;        /* page-table pages in the last walk */
	uint64_t pte_changes; /* entries in the last delta */
	uint64_t violations;  /* ever found (including ones not kept) */
};

/*
 * Copy out and validate the descriptor at desc_gpa.  NULL with a one-line
 * message in err on a bad descriptor, a bad --check spec, or no memory.
 * mem must stay valid (same base) for the monitor's life; the monitor keeps
 * the pointer and reads mem->page_dirty at every monitor_after_op.
 *
 * With page_dirty NULL an op is checked in full: everything re-read, every
 * invariant evaluated on everything.  With page_dirty set, the check is
 * incremental: only pages page_dirty names are read again, and each
 * invariant is evaluated on the objects the op touched; the findings are the
 * same as in full mode provided page_dirty names every page the guest wrote
 * since the previous check.  A page it does not name is, by that contract,
 * not looked at: a write there is seen only by the next full check.
 */
struct monitor *monitor_create(const struct gmem *mem, gpa_t desc_gpa,
                               const struct monitor_config *cfg, char *err, size_t errlen);
void monitor_destroy(struct monitor *m);

/* First snapshot after registration: shadow, model seeded from the guest
 * state, invariants checked.  Returns the number of new violations, or -1. */
int monitor_begin(struct monitor *m, uint64_t cr3);

/* After the guest executed ops[0..k) (results filled in); cr3 = the vCPU's
 * CR3 now.  k > 1: a group run at once (k <= PTS_GROUP_MAX): the model tries
 * every order (monitor/model_group.c), the checks run once, at the group's
 * end; op_index is the group's last op's.  Returns the number of new
 * violations, or -1 when out of host memory. */
int monitor_after_ops(struct monitor *m, const struct pts_op *ops, size_t k, uint64_t op_index,
                      const char *op_text, uint64_t cr3);
/* one op */
static inline int monitor_after_op(struct monitor *m, const struct pts_op *op, uint64_t op_index,
                                   const char *op_text, uint64_t cr3)
{
	return monitor_after_ops(m, op, 1, op_index, op_text, cr3);
}

/* Is cr3 (its frame) the root of a pmap in the last snapshot: the kernel
 * pmap or one on the guest's pmap list?  The monitor's TLB checks take the
 * pmap with that root as the active one: a CR3 that names none would have
 * them check nothing. */
bool monitor_root_known(const struct monitor *m, uint64_t cr3);

/* The guest's CPUs now (struct pts_smp), read from mem, the VM's own RAM
 * (not the copy a monitor behind the guest checks): where each CPU was when
 * the guest died or hung in the middle of an op.  0 with *v (v->ok says
 * whether it was well formed), or -1 before the first snapshot. */
struct smp_view;
int monitor_cpus_now(const struct monitor *m, const struct gmem *mem, struct smp_view *v);

size_t monitor_nviolations(const struct monitor *m);
const struct violation *monitor_violation(const struct monitor *m, size_t i);
/* forget the kept violations (e.g. after the VMM wrote them out) */
void monitor_clear_violations(struct monitor *m);

/* Print a pmap's mappings like QEMU's `info tlb`; slot -1 = kernel pmap.
 * 0, or -1 if no such pmap in the last snapshot. */
int monitor_dump_pmap(const struct monitor *m, int32_t slot, FILE *out);
/*
 * The same pmap's page tables as JSON (docs/user-guide.md, dump --svg): its
 * counters and its tables, the root first and each table followed by the
 * tables below it, each with its non-zero entries; at most max_tables tables
 * and max_entries entries a table, the rest counted (tables_more, nonzero).
 * NULL if no such pmap in the last snapshot.
 */
json_t *monitor_pmap_json(const struct monitor *m, int32_t slot, size_t max_tables,
                          size_t max_entries);

#endif /* MONITOR_MONITOR_H */
