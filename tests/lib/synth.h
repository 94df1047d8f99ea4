/* tests/lib/synth.h - a synthetic guest-memory image for testing and fuzzing
 * the monitor without a VM: a small host-side pmap that lays out vm_pages,
 * pv pool pages, pmaps, page tables and the TLB ledger exactly as a guest
 * exporting the descriptor would, and executes ops per docs/semantics.md.
 */
#ifndef TESTS_LIB_SYNTH_H
#define TESTS_LIB_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include <ptshadow/abi.h>

#include "gmem.h"

#define SYNTH_RAM             (4ull << 20)
#define SYNTH_ARENA_FIRST_PFN 512u
#define SYNTH_ARENA_PAGES     256u
#define SYNTH_HASH_SIZE       16u
#define SYNTH_KERNEL_SLOT     PTS_MAX_PMAPS /* index of the kernel pmap's struct */

/* synthetic struct layouts (deliberately unlike the guest's) */
#define SYN_VMP_SIZE      80u
#define SYN_VMP_PHYS      0u
#define SYN_VMP_USAGE     8u
#define SYN_VMP_WIRE      12u
#define SYN_VMP_PVLIST    16u
#define SYN_VMP_ATTRS     24u
#define SYN_VMP_FLAGS     28u
#define SYN_VMP_PMAPCOUNT 32u
#define SYN_VMP_WCOUNT    36u
#define SYN_VMP_PTPPMAP   40u
#define SYN_VMP_PTPVA     48u
#define SYN_VMP_PTPLEVEL  56u
#define SYN_VMP_HNEXT     64u

#define SYN_PVE_SIZE 32u
#define SYN_PVE_NEXT 0u
#define SYN_PVE_PMAP 8u
#define SYN_PVE_VA   16u
#define SYN_PVE_PTP  24u

#define SYN_PM_SIZE     176u
#define SYN_PM_NEXT     0u
#define SYN_PM_PML4     8u
#define SYN_PM_RESIDENT 16u
#define SYN_PM_WIRED    24u
#define SYN_PM_SLOT     32u
#define SYN_PM_PTPCOUNT 36u
#define SYN_PM_HASH     40u
#define SYN_PM_ACTIVE   168u /* after the 16 hash buckets */
#define SYN_PM_LOCK     172u /* pm_lock's word (ABI 5) */

/* lock words (ABI 5): free 0, held 1 + cpuid, as the guest's */
#define SYN_PV_LOCKS       16u
#define SYN_PV_LOCK_STRIDE 16u

#define SYN_PR_PART     0u
#define SYN_PR_FULL     8u
#define SYN_PR_EMPTY    16u
#define SYN_PR_IPP      24u
#define SYN_PR_NITEMS   28u
#define SYN_PR_NOUT     32u
#define SYN_PR_NPAGES   36u
#define SYN_PR_NIDLE    40u
#define SYN_PR_MINITEMS 44u
#define SYN_PR_MAXPAGES 48u
#define SYN_PR_SIZE     56u

#define SYN_PH_NEXT     0u
#define SYN_PH_FREELIST 8u
#define SYN_PH_PAGE     16u
#define SYN_PH_NMISSING 24u
#define SYN_PH_SIZE     32u
#define SYN_ITEM_OFFSET 64u

struct synth {
	uint8_t *mem;
	uint8_t *logged; /* dirty tracking on: guest RAM as the last synth_dirty_reset left it */
	uint64_t dirty_pfns[SYNTH_RAM >> 12];
	uint64_t ndirty_pfns;
	struct gmem gmem;
	struct pts_descriptor desc;
	gpa_t desc_pa, pool_pa, pmap_list_pa, curpmap_pa, pmaps_pa, ledger_pa, ring_pa;
	gpa_t kenter_pt, pv_pt; /* kernel PTs of the kenter and pv windows */
	uint8_t used[SYNTH_RAM >> 12];
	uint8_t pv_kva_used[512];
	uint64_t cr3;   /* the running CPU's */
	int32_t active; /* the running CPU's: slot, -1 = kernel pmap */
	/* CPUs (synth_smp.c): more than one exports struct pts_smp at smp_pa */
	uint32_t ncpus, cpu;            /* CPUs up, the one running */
	uint32_t op_cpu;                /* the CPU synth_do's records name (0) */
	gpa_t smp_pa;                   /* 0 with one CPU */
	uint64_t cpu_cr3[PTS_MAX_CPUS]; /* the others' cr3 and active */
	int32_t cpu_active[PTS_MAX_CPUS];
	uint64_t fail_in; /* counted allocations until one fails, 0 = off */
	uint64_t seq;
};

/* a consistent image: kernel pmap, direct map, empty pool, no user pmap */
struct synth *synth_new(void);
/* ... with ncpus CPUs (1 to PTS_MAX_CPUS): every CPU on the kernel pmap;
 * ops run on the CPU their record names; an invalidation of an entry a CPU
 * may cache is a shootdown that leaves that CPU's own ledger record */
struct synth *synth_new_cpus(uint32_t ncpus);
void synth_free(struct synth *s);

/*
 * A dirty log for the incremental check, as KVM's would be: with tracking on,
 * gmem.page_dirty says a page is dirty when its bytes differ from what they
 * were at the last synth_dirty_reset (the VMM harvests the log after every
 * op).  synth_w64_unlogged writes behind the log's back, like a write KVM
 * failed to log: by contract the incremental check does not see it.
 */
int synth_track_dirty(struct synth *s);
void synth_dirty_reset(struct synth *s);
/* also as a list (gmem.dirty_pfns), as of now: call before each check */
int synth_publish_dirty(struct synth *s);
void synth_w64_unlogged(struct synth *s, gpa_t pa, uint64_t v);

/* execute op as the guest would: fills op->result (and value) */
void synth_op(struct synth *s, struct pts_op *op);
/* shorthand: build the record, run it, return the result */
uint32_t synth_do(struct synth *s, struct pts_op *op, uint32_t kind, uint32_t pmap, uint64_t va,
                  uint64_t end, uint64_t page, uint32_t prot, uint32_t flags);

/* addresses of objects, for tests that corrupt them */
gpa_t synth_cpu_pa(const struct synth *s, uint32_t cpu);   /* its struct pts_cpu */
gpa_t synth_pv_lock_pa(uint32_t i);                        /* pv-list lock i's word */
gpa_t synth_lock_pa(enum pts_lock which);                  /* a global lock's word */
gpa_t synth_pmap_pa(const struct synth *s, uint32_t slot); /* SYNTH_KERNEL_SLOT = kernel */
uint64_t synth_kva(const struct synth *s, gpa_t pa);       /* kernel-image KVA of pa */
gpa_t synth_vmp_pa(const struct synth *s, uint64_t pfn);
gpa_t synth_arena_pa(uint64_t page);
/* PA of the PTE mapping va in slot's pmap at level (1 = PT), 0 if no table */
gpa_t synth_pte_pa(const struct synth *s, uint32_t slot, uint64_t va, unsigned level);

/* pv window, direct map and kernel image KVAs to PA (0 if unmapped) */
gpa_t synth_kva_pa(const struct synth *s, uint64_t kva);

uint64_t synth_r64(const struct synth *s, gpa_t pa);
void synth_w64(struct synth *s, gpa_t pa, uint64_t v);
uint32_t synth_r32(const struct synth *s, gpa_t pa);
void synth_w32(struct synth *s, gpa_t pa, uint32_t v);

#endif /* TESTS_LIB_SYNTH_H */
