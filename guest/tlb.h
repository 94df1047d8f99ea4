/* guest/tlb.h - the guest's single TLB invalidation primitive.  Every invlpg,
 * CR3 load and global flush goes through here and leaves a ledger record the
 * host monitor reads (struct pts_tlb_ledger, include/ptshadow/abi.h).
 */
#ifndef GUEST_TLB_H
#define GUEST_TLB_H

#include "kernel.h"

/* A range longer than this many pages becomes a full flush. */
#define TLB_RANGE_MAX_PAGES 32u

extern struct pts_tlb_ledger tlb_ledger;
extern struct spinlock tlb_ledger_lock; /* a leaf lock */

void tlb_init(void);
void tlb_invalidate_page(uint64_t va);
/* [sva, eva); global: the range holds global (kernel) entries */
void tlb_invalidate_range(uint64_t sva, uint64_t eva, bool global);
void tlb_invalidate_all(void);        /* CR3 reload: non-global entries */
void tlb_invalidate_all_global(void); /* CR4.PGE toggle: everything */
void tlb_switch(uint64_t pml4_pa);    /* load another root */
/* no invalidation: records that the PTP at pa is being freed */
void tlb_ledger_ptp_free(uint64_t pa);
/* no invalidation (SMP only): a shootdown for the pmap whose root is root
 * (PTS_TLB_SHOOT_KERNEL: the kernel's) goes to the CPU set cpus */
void tlb_ledger_shoot(uint64_t root, uint32_t cpus);
/* no invalidation (SMP only): this CPU drops the lock of the pmap whose root
 * is root (guest/pmap.c pmap_unlock) */
void tlb_ledger_unlock(uint64_t root);

#endif /* GUEST_TLB_H */
