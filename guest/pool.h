/* guest/pool.h - a pool(9)-style fixed-size item allocator (NetBSD), used for
 * pv entries.  Its pages live in a fixed KVA reservation (FreeBSD 2006).
 */
#ifndef GUEST_POOL_H
#define GUEST_POOL_H

#include "kernel.h"

struct vm_page;

/* a free item: the link overlays the first word of the item */
struct pool_item {
	struct pool_item *pi_next;
};

/*
 * Page header, at the start of every pool page ("on-page header").  A page is
 * on exactly one of the pool's three lists: empty (ph_nmissing == 0), full
 * (ph_nmissing == pr_itemsperpage) or partial (in between).
 */
struct pool_item_header {
	struct pool_item_header *ph_next;   /* next on the same list */
	struct pool_item_header **ph_prevp; /* the pointer that points at us */
	struct pool_item *ph_freelist;      /* free items on this page */
	uint64_t ph_page;                   /* KVA of the page (== this header) */
	uint32_t ph_nmissing;               /* items in use on this page */
	uint32_t ph_slot;                   /* page index in the KVA reservation */
	struct vm_page *ph_pg;              /* the physical page behind it */
};

#include "lock.h"

#define POOL_ITEM_OFFSET   64u /* first item's offset in its page */
#define POOL_KVA_MAX_PAGES (PV_KVA_SIZE >> PAGE_SHIFT)

struct pool {
	struct pool_item_header *pr_partpages;  /* some items free */
	struct pool_item_header *pr_fullpages;  /* no item free */
	struct pool_item_header *pr_emptypages; /* every item free ("idle") */
	uint32_t pr_itemsperpage;
	uint32_t pr_nitems;   /* free items, all pages */
	uint32_t pr_nout;     /* items handed out */
	uint32_t pr_npages;   /* pages held */
	uint32_t pr_nidle;    /* pages on pr_emptypages */
	uint32_t pr_minitems; /* low-water mark: keep at least this many free */
	uint32_t pr_maxpages; /* high-water mark: at most this many idle pages */
	uint32_t pr_size;     /* item size */
	const char *pr_wchan;
	uint64_t pr_nget, pr_nput, pr_npagealloc, pr_npagefree;
	/* the fixed KVA reservation and its slot bitmap */
	uint64_t pr_kva_base;
	uint32_t pr_kva_pages;
	uint32_t pr_kva_hint; /* lowest slot that may be free */
	uint64_t pr_kva_bitmap[POOL_KVA_MAX_PAGES / 64];
	struct spinlock pr_lock; /* all of the above; lock order: after the pv locks */
};

void pool_set_itemsperpage(struct pool *pp, uint32_t n);
void pool_init(struct pool *pp, const char *wchan, uint32_t size, uint64_t kva_base,
               uint64_t kva_size);
void pool_setlowat(struct pool *pp, uint32_t nitems); /* primes the pool */
void pool_sethiwat(struct pool *pp, uint32_t npages);
/* pool_get flags: the page it must add (no page has a free item) is a
 * counted allocation of the caller's can-fail call (`fail alloc N`) */
#define PR_CANFAIL 0x1u
void *pool_get(struct pool *pp, uint32_t flags); /* NULL when no page can be added */
void pool_put(struct pool *pp, void *item);

#endif /* GUEST_POOL_H */
