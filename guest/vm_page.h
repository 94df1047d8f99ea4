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
	struct pv_entry *pv_list; /* every (pmap, va) mapping this page */
	uint32_t attrs;           /* PTS_ATTR_MODIFIED | PTS_ATTR_REFERENCED */
	uint32_t flags;           /* PTS_PGF_MAPPED | PTS_PGF_WRITEABLE */
	uint32_t pmap_count;      /* managed PTEs mapping the page */
	uint32_t writeable_count; /* ... of which have PG_RW */
};

struct vm_page {
	uint64_t phys_addr;
	uint32_t usage;      /* enum pts_page_usage */
	uint32_t wire_count; /* PTP: 1 + valid entries */
	struct vm_page_md md;
	/* page-table page bookkeeping (usage == PTS_PG_PTP) */
	struct pmap *ptp_pmap; /* owning pmap */
	uint64_t ptp_va;       /* first VA the PTP maps */
	uint32_t ptp_level;    /* 1 PT, 2 PD, 3 PDPT, 4 PML4 */
	uint32_t pad;
	struct vm_page *ptp_hnext; /* pmap's PTP hash chain */
	struct vm_page *pageq;     /* free list / deferred-free list link */
};

extern struct vm_page *vm_page_array;
extern uint64_t vm_page_count;       /* entries: pfn 0 .. vm_page_count - 1 */
extern uint64_t vm_page_free_count;  /* pages on the free list */
extern struct spinlock vm_page_lock; /* the free list and its count */
extern uint64_t vm_dmap_size;        /* bytes the direct map must cover */
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

/*
 * Whole-page and table helpers built on the qword string instructions: under
 * nested virtualisation every guest instruction is expensive (thousands of
 * cycles) and one `rep` instruction replaces a loop of hundreds.
 */
static inline void qwords_zero(void *p, size_t n)
{
	__asm__ volatile("rep stosq" : "+D"(p), "+c"(n) : "a"(0ull) : "memory");
}

static inline void qwords_copy(void *d, const void *s, size_t n)
{
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* index of the first non-zero qword of p[0..n), or n */
static inline size_t qwords_first_nonzero(const uint64_t *p, size_t n)
{
	const uint64_t *q = p;
	size_t left = n;
	bool found;

	if (n == 0)
		return 0;
	__asm__ volatile("repe scasq"
	                 : "+D"(q), "+c"(left), "=@ccnz"(found)
	                 : "a"(0ull)
	                 : "memory");
	return found ? (size_t)(q - p) - 1 : n;
}

/* index of the first i with a[i] != b[i] in [0, n), or n */
static inline size_t qwords_first_diff(const uint64_t *a, const uint64_t *b, size_t n)
{
	const uint64_t *p = a, *q = b;
	size_t left = n;
	bool found;

	if (n == 0)
		return 0;
	__asm__ volatile("repe cmpsq" : "+S"(p), "+D"(q), "+c"(left), "=@ccnz"(found) : : "memory");
	return found ? (size_t)(p - a) - 1 : n;
}

static inline bool page_is_zero(const void *p)
{
	return qwords_first_nonzero(p, PAGE_SIZE / 8) == PAGE_SIZE / 8;
}

/* boot: the vm_page array and the arena, from the bump allocator */
void vm_page_bootstrap(void);
/* boot: one zeroed page from the bump allocator (before vm_page_startup) */
uint64_t vm_page_steal(uint32_t usage);
/* boot: from now on every page still PTS_PG_FREE can be allocated */
void vm_page_startup(void);

/* after startup: a page of the given usage, or NULL when memory is out */
struct vm_page *vm_page_alloc(uint32_t usage);
void vm_page_free(struct vm_page *pg);
/* zero a page through the direct map, reading first to skip clean pages */
void vm_page_zero(struct vm_page *pg);
void vm_page_copy(struct vm_page *src, struct vm_page *dst);

#endif /* GUEST_VM_PAGE_H */
