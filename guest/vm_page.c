/* guest/vm_page.c - the physical page layer: a vm_page for every page frame
 * below the top of RAM, a bump allocator for boot, then a free list.
 *
 * Boot order (pmap_bootstrap drives it):
 *   vm_page_bootstrap()  the vm_page array and the arena, stolen from the
 *                        first RAM above max(kernel_pa_end, boot_alloc_end)
 *   vm_page_steal()      boot page-table pages and the like, same bump pointer
 *   vm_page_startup()    every page still PTS_PG_FREE becomes allocatable
 *
 * Everything below boot_alloc_end and the kernel image is PTS_PG_KERNEL;
 * frames that are not RAM (holes, reserved ranges) are PTS_PG_RESERVED.
 * PTS_PG_FREE is 0, so a zeroed array already says "free" and only the
 * exceptions are written: every instruction counts under nested
 * virtualisation, and a loop over all frames costs a large part of a second.
 *
 * Free pages come from a LIFO list of pages freed so far, then from a cursor
 * that walks the array upwards over pages never allocated.  A page freed
 * right after it was allocated leaves the allocator as it was, apart from
 * where the page sits (list or cursor): what the canfail path of pmap_enter
 * needs.
 */
#include "vm_page.h"
#include "lock.h"

struct vm_page *vm_page_array;
uint64_t vm_page_count;
uint64_t vm_page_free_count;
uint64_t vm_dmap_size;
uint64_t arena_first_pfn;
uint64_t arena_npages;

static struct vm_page *vm_page_freelist; /* freed pages, LIFO */
static uint64_t vm_page_cursor;          /* pages below were handed out or are listed */
static uint64_t steal_next;              /* bump pointer (physical) */
static bool vm_page_started;

_Static_assert(PTS_PG_FREE == 0, "a zeroed vm_page is a free page");

/* the boot page tables reach the first 4 GiB through the direct map */
#define BOOT_DMAP_LIMIT (4ull << 30)

static bool ram_entry(const struct boot_memmap_entry *e)
{
	return e->type == PTS_HVM_MEMMAP_RAM && e->size != 0;
}

/*
 * Take npages contiguous pages from the lowest RAM at or above steal_next.
 * Pages skipped over at the end of a RAM range stay PTS_PG_FREE.
 */
static uint64_t bump(uint64_t npages)
{
	uint64_t len = npages << PAGE_SHIFT, best = ~0ull;

	for (uint32_t i = 0; i < bootinfo.nmemmap; i++) {
		const struct boot_memmap_entry *e = &bootinfo.memmap[i];
		uint64_t start, end;

		if (!ram_entry(e))
			continue;
		start = round_page(e->addr);
		if (start < steal_next)
			start = steal_next;
		end = trunc_page(e->addr + e->size);
		if (end > BOOT_DMAP_LIMIT)
			end = BOOT_DMAP_LIMIT;
		if (start < end && end - start >= len && start < best)
			best = start;
	}
	if (best == ~0ull)
		panic("boot allocator: no %lu contiguous pages of RAM above %#lx", npages,
		      steal_next);
	steal_next = best + len;
	return best;
}

/* give the free pages of [pa, end) a usage; pages already taken keep theirs */
static void mark(uint64_t pa, uint64_t end, uint32_t usage)
{
	if (end > vm_page_count << PAGE_SHIFT)
		end = vm_page_count << PAGE_SHIFT;
	for (pa = trunc_page(pa); pa < end; pa += PAGE_SIZE) {
		struct vm_page *pg = &vm_page_array[pa >> PAGE_SHIFT];
		if (pg->usage == PTS_PG_FREE) {
			pg->usage = usage;
			vm_page_free_count--;
		}
	}
}

/* the end of the RAM range holding pa, or 0 */
static uint64_t ram_end_at(uint64_t pa)
{
	for (uint32_t i = 0; i < bootinfo.nmemmap; i++) {
		const struct boot_memmap_entry *e = &bootinfo.memmap[i];
		if (ram_entry(e) && round_page(e->addr) <= pa && pa < trunc_page(e->addr + e->size))
			return trunc_page(e->addr + e->size);
	}
	return 0;
}

/* the first page-aligned RAM start above pa, or limit */
static uint64_t ram_start_after(uint64_t pa, uint64_t limit)
{
	uint64_t best = limit;

	for (uint32_t i = 0; i < bootinfo.nmemmap; i++) {
		const struct boot_memmap_entry *e = &bootinfo.memmap[i];
		uint64_t start = round_page(e->addr);
		if (ram_entry(e) && start > pa && start < best &&
		    start < trunc_page(e->addr + e->size))
			best = start;
	}
	return best;
}

/* every frame below the top of RAM that no RAM range covers is reserved */
static void mark_holes(uint64_t max_pa)
{
	uint64_t pa = 0;

	while (pa < max_pa) {
		uint64_t end = ram_end_at(pa), next;

		if (end != 0) {
			pa = end;
			continue;
		}
		next = ram_start_after(pa, max_pa);
		mark(pa, next, PTS_PG_RESERVED);
		pa = next;
	}
}

void vm_page_bootstrap(void)
{
	uint64_t max_pa = 0, array_pa, array_bytes, n;

	for (uint32_t i = 0; i < bootinfo.nmemmap; i++) {
		const struct boot_memmap_entry *e = &bootinfo.memmap[i];
		if (ram_entry(e) && e->addr + e->size > max_pa)
			max_pa = e->addr + e->size;
	}
	if (max_pa > DMAP_MAX_BYTES)
		max_pa = DMAP_MAX_BYTES;
	max_pa = trunc_page(max_pa);
	KASSERT(max_pa > bootinfo.kernel_pa_end);
	vm_page_count = max_pa >> PAGE_SHIFT;
	vm_dmap_size = (max_pa + NBPD - 1) & ~(NBPD - 1);

	steal_next = bootinfo.kernel_pa_end;
	if (round_page(bootinfo.boot_alloc_end) > steal_next)
		steal_next = round_page(bootinfo.boot_alloc_end);

	_Static_assert(sizeof(struct vm_page) % 8 == 0, "vm_page is whole qwords");
	array_bytes = vm_page_count * sizeof(struct vm_page);
	array_pa = bump(round_page(array_bytes) >> PAGE_SHIFT);
	vm_page_array = (struct vm_page *)PHYS_TO_DMAP(array_pa);
	qwords_zero(vm_page_array, array_bytes / 8);
	for (uint64_t pfn = 0; pfn < vm_page_count; pfn++)
		vm_page_array[pfn].phys_addr = pfn << PAGE_SHIFT;
	vm_page_free_count = vm_page_count;

	mark_holes(max_pa);
	/* in use before we ran: low boot data, the image, the array itself */
	mark(0, bootinfo.boot_alloc_end, PTS_PG_KERNEL);
	mark(bootinfo.kernel_pa_start, bootinfo.kernel_pa_end, PTS_PG_KERNEL);
	mark(array_pa, array_pa + round_page(array_bytes), PTS_PG_KERNEL);

	/* the managed arena: pg<N> = arena_first_pfn + N, contiguous */
	n = cmdline_u64("arena", PTS_DEFAULT_ARENA_PAGES);
	if (n == 0)
		n = PTS_DEFAULT_ARENA_PAGES;
	arena_npages = n;
	arena_first_pfn = bump(n) >> PAGE_SHIFT;
	mark(arena_first_pfn << PAGE_SHIFT, (arena_first_pfn + n) << PAGE_SHIFT, PTS_PG_ARENA);
}

uint64_t vm_page_steal(uint32_t usage)
{
	uint64_t pa;

	KASSERT(!vm_page_started);
	pa = bump(1);
	KASSERT(vm_page_array[pa >> PAGE_SHIFT].usage == PTS_PG_FREE);
	mark(pa, pa + PAGE_SIZE, usage);
	qwords_zero((void *)PHYS_TO_DMAP(pa), PAGE_SIZE / 8);
	return pa;
}

void vm_page_startup(void)
{
	vm_page_cursor = 0;
	vm_page_started = true;
}

/* the free list and counts; lock order: last but the leaves */
struct spinlock vm_page_lock;

static struct vm_page *vm_page_alloc_locked(uint32_t usage)
{
	struct vm_page *pg = vm_page_freelist;

	KASSERT(vm_page_started);
	KASSERT(usage != PTS_PG_FREE);
	if (pg != NULL) {
		vm_page_freelist = pg->pageq;
	} else {
		while (vm_page_cursor < vm_page_count &&
		       vm_page_array[vm_page_cursor].usage != PTS_PG_FREE)
			vm_page_cursor++;
		if (vm_page_cursor == vm_page_count)
			return NULL;
		pg = &vm_page_array[vm_page_cursor++];
	}
	KASSERT(pg->usage == PTS_PG_FREE);
	KASSERT(pg->md.pv_list == NULL && pg->wire_count == 0);
	vm_page_free_count--;
	pg->pageq = NULL;
	pg->usage = usage;
	return pg;
}

struct vm_page *vm_page_alloc(uint32_t usage)
{
	struct vm_page *pg;

	spin_lock(&vm_page_lock);
	pg = vm_page_alloc_locked(usage);
	spin_unlock(&vm_page_lock);
	return pg;
}

void vm_page_free(struct vm_page *pg)
{
	spin_lock(&vm_page_lock);
	KASSERT(pg->usage == PTS_PG_PTP || pg->usage == PTS_PG_POOL);
	KASSERT(pg->md.pv_list == NULL && pg->md.pmap_count == 0);
	pg->usage = PTS_PG_FREE;
	pg->wire_count = 0;
	pg->ptp_pmap = NULL;
	pg->ptp_va = 0;
	pg->ptp_level = 0;
	pg->ptp_hnext = NULL;
	pg->pageq = vm_page_freelist;
	vm_page_freelist = pg;
	vm_page_free_count++;
	spin_unlock(&vm_page_lock);
}

void vm_page_zero(struct vm_page *pg)
{
	void *p = VM_PAGE_TO_KVA(pg);

	/* reading is cheap; writing a page the hypervisor still shadows is not */
	if (!page_is_zero(p))
		qwords_zero(p, PAGE_SIZE / 8);
}

void vm_page_copy(struct vm_page *src, struct vm_page *dst)
{
	qwords_copy(VM_PAGE_TO_KVA(dst), VM_PAGE_TO_KVA(src), PAGE_SIZE / 8);
}
