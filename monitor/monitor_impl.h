/* monitor/monitor_impl.h - the inside of struct monitor, shared by
 * monitor.c (its life) and check_ctx.c (reporting).  Internal to monitor/.
 */
#ifndef MONITOR_MONITOR_IMPL_H
#define MONITOR_MONITOR_IMPL_H

#include "check_ctx.h"
#include "desc.h"
#include "incr.h"
#include "locks.h"
#include "monitor.h"
#include "smp.h"

struct monitor {
	const struct gmem *mem; /* the caller's: its page_dirty hook is read at every op */
	struct pts_descriptor desc;
	struct monitor_config cfg;
	struct inv_set on;
	struct kview kv;
	struct snapshot snap[2];
	int cur; /* index of the newest snapshot */
	bool begun;
	struct pte_delta delta;
	struct model model;
	struct model_tries tries; /* a group's orders, between model and read (model_group.c) */
	size_t max_ptps, max_pv;  /* walk and pv list bounds */
	/* the incremental check (incr.c) */
	struct incr inc;
	bool reported[INV_MAX]; /* the invariant found something at the last op: check it in full */
	/* TLB ledger */
	uint64_t tlb_seen, tlb_first;
	struct pts_tlb_record *tlb;
	size_t ntlb, tlb_cap;
	bool tlb_known, tlb_wrapped, tlb_went_back;
	uint64_t cr3;
	/* the CPUs (smp.c): struct pts_smp after the op and before it, and each
	 * CPU's root by the ledger, before the op's records and after them */
	struct smp_view smp, smp_prev;
	uint64_t root_before[PTS_MAX_CPUS], root_after[PTS_MAX_CPUS];
	struct lock_view locks; /* the lock words at the last stop (locks.c) */
	/* the op being checked */
	uint64_t op_index;
	uint32_t op_kind;
	char op_text[128];
	unsigned per_inv[INV_MAX];
	/* results */
	struct violation *vio;
	size_t nvio, vio_cap;
	int new_vio;
	struct monitor_stats stats;
};

#endif /* MONITOR_MONITOR_IMPL_H */
