/* guest/pool.c - pool(9) after NetBSD: fixed-size items carved from pages
 * with on-page headers, per-page free lists, three page lists, low- and
 * high-water marks.  Pages are mapped into a fixed KVA reservation whose
 * kernel PTPs exist from bootstrap on (FreeBSD's 2006 answer to allocating
 * address space from inside the pmap); a bitmap tracks the slots.
 *
 * Rules kept here (the monitor checks them):
 *   - for every page: ph_nmissing + (items on ph_freelist) == pr_itemsperpage
 *   - the page is on pr_emptypages iff ph_nmissing == 0, on pr_fullpages iff
 *     ph_nmissing == pr_itemsperpage, else on pr_partpages
 *   - pr_nitems == sum of free items, pr_nout == sum of ph_nmissing,
 *     pr_npages == pages on the lists, pr_nidle == pages on pr_emptypages
 *   - pr_nidle <= pr_maxpages after every pool_put (empty pages above the
 *     high-water mark are unmapped, invalidated and freed)
 *   - pr_nitems >= pr_minitems after every pool_get that could add a page
 *     (pool_catchup); pr_minitems <= pr_maxpages * pr_itemsperpage, so
 *     returning an idle page never takes the pool below its low-water mark.
 */
#include "pool.h"
#include "pmap.h"

static void ph_insert(struct pool_item_header **head, struct pool_item_header *ph)
{
	ph->ph_next = *head;
	if (*head != NULL)
		(*head)->ph_prevp = &ph->ph_next;
	*head = ph;
	ph->ph_prevp = head;
}

static void ph_remove(struct pool_item_header *ph)
{
	if (ph->ph_next != NULL)
		ph->ph_next->ph_prevp = ph->ph_prevp;
	*ph->ph_prevp = ph->ph_next;
	ph->ph_next = NULL;
	ph->ph_prevp = NULL;
}

static struct pool_item_header **ph_list_for(struct pool *pp, const struct pool_item_header *ph)
{
	if (ph->ph_nmissing == 0)
		return &pp->pr_emptypages;
	if (ph->ph_nmissing == pp->pr_itemsperpage)
		return &pp->pr_fullpages;
	return &pp->pr_partpages;
}

/*
 * Fewer items per page than fit (NetBSD's pool page size knob, used here as
 * a test setting): pages fill, empty and return after a handful of entries,
 * so the page-list code runs often.  Only before the first page is added.
 */
void pool_set_itemsperpage(struct pool *pp, uint32_t n)
{
	KASSERT(pp->pr_npages == 0 && n >= 1);
	if (n < pp->pr_itemsperpage)
		pp->pr_itemsperpage = n;
}

void pool_init(struct pool *pp, const char *wchan, uint32_t size, uint64_t kva_base,
               uint64_t kva_size)
{
	KASSERT(size >= sizeof(struct pool_item) && (size & 7) == 0);
	KASSERT(sizeof(struct pool_item_header) <= POOL_ITEM_OFFSET);
	KASSERT((kva_size >> PAGE_SHIFT) <= POOL_KVA_MAX_PAGES);
	memset(pp, 0, sizeof(*pp));
	pp->pr_wchan = wchan;
	pp->pr_size = size;
	pp->pr_itemsperpage = (PAGE_SIZE - POOL_ITEM_OFFSET) / size;
	pp->pr_maxpages = 1;
	pp->pr_kva_base = kva_base;
	pp->pr_kva_pages = (uint32_t)(kva_size >> PAGE_SHIFT);
}

static int kva_slot_alloc(struct pool *pp, uint32_t *slotp)
{
	for (uint32_t s = pp->pr_kva_hint; s < pp->pr_kva_pages; s++) {
		uint64_t bit = 1ull << (s % 64);
		if (pp->pr_kva_bitmap[s / 64] & bit)
			continue;
		pp->pr_kva_bitmap[s / 64] |= bit;
		pp->pr_kva_hint = s + 1;
		*slotp = s;
		return 0;
	}
	return -1;
}

static void kva_slot_free(struct pool *pp, uint32_t s)
{
	KASSERT(pp->pr_kva_bitmap[s / 64] & (1ull << (s % 64)));
	pp->pr_kva_bitmap[s / 64] &= ~(1ull << (s % 64));
	if (s < pp->pr_kva_hint)
		pp->pr_kva_hint = s;
}

/* Add one page of free items; it goes on the empty list.  -1: no memory/KVA. */
static int pool_page_add(struct pool *pp)
{
	struct pool_item_header *ph;
	struct vm_page *pg;
	uint32_t slot;
	uint64_t va;

	if (kva_slot_alloc(pp, &slot) != 0)
		return -1;
	pg = vm_page_alloc(PTS_PG_POOL);
	if (pg == NULL) {
		kva_slot_free(pp, slot);
		return -1;
	}
	va = pp->pr_kva_base + ((uint64_t)slot << PAGE_SHIFT);
	pmap_kenter_pa(va, VM_PAGE_TO_PHYS(pg), PTS_PROT_READ | PTS_PROT_WRITE);

	ph = (struct pool_item_header *)va;
	memset(ph, 0, POOL_ITEM_OFFSET);
	ph->ph_page = va;
	ph->ph_slot = slot;
	ph->ph_pg = pg;
	/* free list in address order: the first item handed out is the lowest */
	for (uint32_t i = pp->pr_itemsperpage; i-- > 0;) {
		struct pool_item *pi =
		    (struct pool_item *)(va + POOL_ITEM_OFFSET + (uint64_t)i * pp->pr_size);
		pi->pi_next = ph->ph_freelist;
		ph->ph_freelist = pi;
	}
	ph_insert(&pp->pr_emptypages, ph);
	pp->pr_npages++;
	pp->pr_nidle++;
	pp->pr_nitems += pp->pr_itemsperpage;
	pp->pr_npagealloc++;
	return 0;
}

/* Give an idle page back: unmap (with invalidation), free its KVA slot and frame. */
static void pool_page_release(struct pool *pp, struct pool_item_header *ph)
{
	struct vm_page *pg = ph->ph_pg;
	uint64_t va = ph->ph_page;
	uint32_t slot = ph->ph_slot;

	KASSERT(ph->ph_nmissing == 0);
	ph_remove(ph);
	pp->pr_npages--;
	pp->pr_nidle--;
	pp->pr_nitems -= pp->pr_itemsperpage;
	pp->pr_npagefree++;
	pmap_kremove(va, PAGE_SIZE);
	kva_slot_free(pp, slot);
	vm_page_free(pg);
}

static bool pool_over_hiwat(const struct pool *pp)
{
#ifdef MUTANT_POOL_HIWAT_IGNORED
	/* never give a page back: no holes in the KVA reservation (FreeBSD 2006) */
	(void)pp;
	return false;
#else
	return pp->pr_nidle > pp->pr_maxpages;
#endif
}

/* NetBSD's pool_catchup: bring the free count back up to the low-water mark. */
static void pool_catchup(struct pool *pp)
{
	while (pp->pr_nitems < pp->pr_minitems)
		if (pool_page_add(pp) != 0)
			break;
}

void pool_setlowat(struct pool *pp, uint32_t nitems)
{
	KASSERT(nitems <= pp->pr_maxpages * pp->pr_itemsperpage);
	pp->pr_minitems = nitems;
	pool_catchup(pp);
}

void pool_sethiwat(struct pool *pp, uint32_t npages)
{
	KASSERT(npages >= 1 && pp->pr_minitems <= npages * pp->pr_itemsperpage);
	pp->pr_maxpages = npages;
}

static void *pool_get_locked(struct pool *pp, uint32_t flags)
{
	struct pool_item_header *ph = pp->pr_partpages;
	struct pool_item *pi;

	if (ph == NULL)
		ph = pp->pr_emptypages;
	if (ph == NULL) {
		/* reached when the low-water mark is 0 (pv_lowat=0), or after a
		 * catchup found no memory */
		if (((flags & PR_CANFAIL) && pmap_alloc_fails(PMAP_CANFAIL)) ||
		    pool_page_add(pp) != 0)
			return NULL;
		ph = pp->pr_emptypages;
	}
	pi = ph->ph_freelist;
	KASSERT(pi != NULL && ph->ph_nmissing < pp->pr_itemsperpage);
	ph->ph_freelist = pi->pi_next;
	pi->pi_next = NULL;
	if (ph->ph_nmissing++ == 0)
		pp->pr_nidle--;
	ph_remove(ph);
	ph_insert(ph_list_for(pp, ph), ph);
	KASSERT(pp->pr_nitems > 0);
	pp->pr_nitems--;
	pp->pr_nout++;
	pp->pr_nget++;
	pool_catchup(pp);
	return pi;
}

void *pool_get(struct pool *pp, uint32_t flags)
{
	void *item;

	spin_lock(&pp->pr_lock);
	item = pool_get_locked(pp, flags);
	spin_unlock(&pp->pr_lock);
	return item;
}

static void pool_put_locked(struct pool *pp, void *item)
{
	uint64_t va = (uint64_t)item;
	struct pool_item_header *ph = (struct pool_item_header *)trunc_page(va);
	struct pool_item *pi = item;

	KASSERT(va >= pp->pr_kva_base &&
	        va < pp->pr_kva_base + ((uint64_t)pp->pr_kva_pages << PAGE_SHIFT));
	KASSERT(ph->ph_page == (uint64_t)ph && ph->ph_nmissing > 0);
	KASSERT((va & PAGE_MASK) >= POOL_ITEM_OFFSET &&
	        ((va & PAGE_MASK) - POOL_ITEM_OFFSET) % pp->pr_size == 0);
	KASSERT(pp->pr_nout > 0);

	pi->pi_next = ph->ph_freelist;
	ph->ph_freelist = pi;
#ifdef MUTANT_POOL_NITEMS_DRIFT
	/* a page coming off the full list is "re-counted" later; it never is */
	if (ph->ph_nmissing != pp->pr_itemsperpage)
		pp->pr_nitems++;
#else
	pp->pr_nitems++;
#endif
	ph->ph_nmissing--;
	pp->pr_nout--;
	pp->pr_nput++;
	ph_remove(ph);
	ph_insert(ph_list_for(pp, ph), ph);
	if (ph->ph_nmissing == 0) {
		pp->pr_nidle++;
		if (pool_over_hiwat(pp))
			pool_page_release(pp, ph);
	}
}

void pool_put(struct pool *pp, void *item)
{
	spin_lock(&pp->pr_lock);
	pool_put_locked(pp, item);
	spin_unlock(&pp->pr_lock);
}
