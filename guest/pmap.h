/* guest/pmap.h - the machine-dependent VM layer of the guest: struct pmap,
 * pv entries, and the pmap operations the op executor calls.
 * The rules the code keeps are stated at the top of guest/pmap.c.
 */
#ifndef GUEST_PMAP_H
#define GUEST_PMAP_H

#include "kernel.h"
#include "lock.h"
#include "vm_page.h"
#include "pool.h"

typedef uint64_t pt_entry_t;

/* One mapping of a managed page: (pmap, va), on the page's md.pv_list. */
struct pv_entry {
	struct pv_entry *pv_next; /* next on the page's list */
	struct pmap *pv_pmap;
	uint64_t pv_va;
	struct vm_page *pv_ptp; /* the PT (level 1 PTP) holding the PTE */
};

#define PMAP_PTP_HASH_SIZE 64u /* buckets, power of two */

struct pmap {
	struct pmap *pm_next; /* pmap_list */
	pt_entry_t *pm_pml4;  /* KVA (direct map) */
	uint64_t pm_pml4_pa;
	uint64_t pm_resident_count; /* valid user leaves + PTPs below the PML4 */
	uint64_t pm_wired_count;    /* valid user leaves with PG_W */
	uint32_t pm_slot;           /* host-assigned slot, PMAP_KERNEL_SLOT for the kernel */
	uint32_t pm_ptp_count;      /* PTPs below the PML4 */
	struct vm_page *pm_pml4_pg;
	uint32_t pm_flags;
	volatile uint32_t pm_active; /* CPUs with this root in CR3 (kernel pmap: all CPUs up) */
	struct spinlock pm_lock;     /* the pmap's tables, hash and counters (pmap.c, RULES) */
	/* PTPs by (level, ptp_va), chained through vm_page.ptp_hnext */
	struct vm_page *pm_ptp_hash[PMAP_PTP_HASH_SIZE];
};

#define PMAP_KERNEL_SLOT 0xffffffffu
#define PMF_INUSE        0x1u

/* pmap_enter flags */
#define PMAP_WIRED   0x1u
#define PMAP_CANFAIL 0x2u

/* errors */
#define PMAP_OK     0
#define PMAP_ENOMEM 12

extern struct pmap kernel_pmap_store;
#define pmap_kernel() (&kernel_pmap_store)
extern struct pmap *pmap_list; /* every live user pmap */
extern struct spinlock pmap_list_lock;
/* the pv-list locks' words: the first one's KVA, how many, bytes apart */
void pmap_pv_locks_describe(uint64_t *kva, uint32_t *count, uint32_t *stride);
struct pmap *pmap_curpmap(void); /* the pmap whose PML4 is in this CPU's CR3 */
extern struct pool pmap_pv_pool;

/* boot */
void pmap_bootstrap(void);

/* user pmaps */
struct pmap *pmap_lookup(uint32_t slot); /* NULL unless alive */
struct pmap *pmap_create(uint32_t slot); /* NULL: out of memory */
void pmap_destroy(struct pmap *pm);
void pmap_activate(struct pmap *pm);
int pmap_enter(struct pmap *pm, uint64_t va, struct vm_page *pg, uint32_t prot, uint32_t flags);
void pmap_remove(struct pmap *pm, uint64_t sva, uint64_t eva);
void pmap_protect(struct pmap *pm, uint64_t sva, uint64_t eva, uint32_t prot);
void pmap_unwire(struct pmap *pm, uint64_t va);
struct vm_page *pmap_extract(struct pmap *pm, uint64_t va);
void pmap_collect(struct pmap *pm);

/* pages */
void pmap_page_protect(struct vm_page *pg, uint32_t prot);
bool pmap_clear_modify(struct vm_page *pg);
bool pmap_clear_reference(struct vm_page *pg);
bool pmap_is_modified(struct vm_page *pg);
bool pmap_is_referenced(struct vm_page *pg);
void pmap_zero_page(struct vm_page *pg);
void pmap_copy_page(struct vm_page *src, struct vm_page *dst);

/* unmanaged kernel mappings (kenter window, pool pages) */
void pmap_kenter_pa(uint64_t va, uint64_t pa, uint32_t prot);
void pmap_kremove(uint64_t va, uint64_t len);

/* fault injection: the n-th counted allocation from now fails (0 disarms) */
void pmap_fail_alloc(uint64_t n);
/* count one allocation of a call with these flags; true: it is the one that
 * fails (only PMAP_CANFAIL calls count; the pv pool counts its page too) */
bool pmap_alloc_fails(uint32_t flags);

/* DIAGNOSTIC (guest/pmap_check.c): check every rule memory can show; returns
 * the number of problems found, after printing the first few */
unsigned pmap_check(void);
/* a digest of what an enter on the pmap in this slot may change */
uint64_t pmap_check_state(uint32_t slot);
/* around one op: every cached downgrade and PTP unlink has a ledger record */
void pmap_check_tlb_begin(void);
unsigned pmap_check_tlb_end(void);

#endif /* GUEST_PMAP_H */
