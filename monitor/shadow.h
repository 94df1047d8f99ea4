/* monitor/shadow.h - the host copy of every page-table page and the PTE delta
 * of an op: the exact list of entries that changed (old -> new), computed by
 * diffing the new walk against the shadow.
 */
#ifndef MONITOR_SHADOW_H
#define MONITOR_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "walk.h"

#define PTE_CHG_DETACHED 0x1u /* the table holding it was unlinked, the entry left as it was */
#define PTE_CHG_ATTACHED 0x2u /* the table holding it is new */

struct pte_change {
	uint32_t owner; /* pmap index: into the old snapshot if DETACHED, else the new */
	int32_t slot;   /* pmap slot (VIO_SLOT_KERNEL for the kernel pmap), set by the caller */
	uint32_t level;
	uint64_t va;
	gpa_t ptp;
	uint32_t index;
	uint32_t flags; /* PTE_CHG_* */
	uint64_t old, new;
};

struct pte_delta {
	struct pte_change *chg;
	size_t n, cap;
};

void pte_delta_init(struct pte_delta *d);
void pte_delta_free(struct pte_delta *d);

/*
 * Compute the entries that differ between the shadow (old) and the new walk.
 * Tables are matched by (owner identity, level, va); owner_map[i] is the new
 * index of old owner i, or UINT32_MAX if that pmap is gone.  0, or -1 when
 * out of memory.
 */
int shadow_diff(const struct ptp_set *old, const struct ptp_set *cur, const uint32_t *owner_map,
                struct pte_delta *out);

#endif /* MONITOR_SHADOW_H */
