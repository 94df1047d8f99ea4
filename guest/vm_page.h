/* guest/vm_page.h - physical pages: struct vm_page with its machine-dependent
 * part (pv list, saved attributes, DragonFly-style counters, PTP bookkeeping),
 * the boot-time bump allocator, the free list and the managed arena.
 */
#ifndef GUEST_VM_PAGE_H
#define GUEST_VM_PAGE_H

#include "kernel.h"

struct pv_entry;
struct pmap;

/*
 * Machine-dependent part of a vm_page (NetBSD's vm_page_md, with the
 * counters and flags of DragonFly's 2019 rework).  Only arena pages ever
 * have pv entries; the counters are those of managed PTEs only.
 */
struct vm_page_md {
	struct pv_entry *pv_list;  /* every (pmap, va) mapping this page */
	uint32_t attrs;            /* PTS_ATTR_MODIFIED | PTS_ATTR_REFERENCED */
	uint32_t flags;            /* PTS_PGF_MAPPED | PTS_PGF_WRITEABLE */
	uint32_t pmap_count;       /* managed PTEs mapping the page */
	uint32_t writeable_count;  /* ... of which have PG_RW */
};

struct vm_page {
	uint64_t phys_addr;
	uint32_t usage;            /* enum pts_page_usage */
	uint32_t wire_count;       /* PTP: 1 + valid entries */
	struct vm_page_md md;
	/* page-table page bookkeeping (usage == PTS_PG_PTP) */
	struct pmap *ptp_pmap;     /* owning pmap */
	uint64_t ptp_va;           /* first VA the PTP maps */
	uint32_t ptp_level;        /* 1 PT, 2 PD, 3 PDPT, 4 PML4 */
	uint32_t pad;
	struct vm_page *ptp_hnext; /* pmap's PTP hash chain */
	struct vm_page *pageq;     /* free list / deferred-free list link */
};

extern struct vm_page *vm_page_array;
extern uint64_t vm_page_count;      /* entries: pfn 0 .. vm_page_count - 1 */
extern uint64_t vm_page_free_count; /* pages on the free list */
extern uint64_t vm_dmap_size;       /* bytes the direct map must cover */
extern uint64_t arena_first_pfn;
extern uint64_t arena_npages;

static inline struct vm_page *PHYS_TO_VM_PAGE(uint64_t pa)
{
	uint64_t pfn = pa >> PAGE_SHIFT;

	KASSERT(pfn < vm_page_count);
	return &vm_page_array[pfn];
}

static inline uint64_t VM_PAGE_TO_PHYS(const struct vm_page *pg)
{
	return pg->phys_addr;
}

static inline void *VM_PAGE_TO_KVA(const struct vm_page *pg)
{
	return (void *)PHYS_TO_DMAP(pg->phys_addr);
}

static inline bool vm_page_is_arena(const struct vm_page *pg)
{
	return pg->usage == PTS_PG_ARENA;
}

/* arena page pg<n>; n must be < arena_npages */
static inline struct vm_page *arena_page(uint64_t n)
{
	KASSERT(n < arena_npages);
	return &vm_page_array[arena_first_pfn + n];
}

static inline uint64_t arena_index(const struct vm_page *pg)
{
	return (pg->phys_addr >> PAGE_SHIFT) - arena_first_pfn;
}

/* boot: the vm_page array and the arena, from the bump allocator */
void vm_page_bootstrap(void);
/* boot: one zeroed page from the bump allocator (before vm_page_startup) */
uint64_t vm_page_steal(uint32_t usage);
/* boot: every page not taken so far goes on the free list */
void vm_page_startup(void);

/* after startup: a page of the given usage, or NULL when memory is out */
struct vm_page *vm_page_alloc(uint32_t usage);
void vm_page_free(struct vm_page *pg);
/* zero a page through the direct map, reading first to skip clean pages */
void vm_page_zero(struct vm_page *pg);

#endif /* GUEST_VM_PAGE_H */
