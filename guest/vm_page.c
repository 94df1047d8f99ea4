/* guest/vm_page.c - the physical page layer: a vm_page for every page frame
 * below the top of RAM, a bump allocator for boot, then a LIFO free list.
 *
 * Boot order (pmap_bootstrap drives it):
 *   vm_page_bootstrap()  the vm_page array and the arena, stolen from the
 *                        first RAM above max(kernel_pa_end, boot_alloc_end)
 *   vm_page_steal()      boot page-table pages and the like, same bump pointer
 *   vm_page_startup()    every RAM page still PTS_PG_FREE goes on the free list
 *
 * Everything below boot_alloc_end and the kernel image is PTS_PG_KERNEL;
 * frames that are not RAM (holes, reserved ranges) are PTS_PG_RESERVED.
 * The free list is LIFO, so a page freed right after it was allocated puts
 * the list back exactly as it was (the canfail path of pmap_enter relies on
 * that to leave no trace).
 */
#include "vm_page.h"

struct vm_page *vm_page_array;
uint64_t vm_page_count;
uint64_t vm_page_free_count;
uint64_t vm_dmap_size;
uint64_t arena_first_pfn;
uint64_t arena_npages;

static struct vm_page *vm_page_freelist;
static uint64_t steal_next; /* bump pointer (physical) */
static bool vm_page_started;

/* the boot page tables reach the first 4 GiB through the direct map */
#define BOOT_DMAP_LIMIT (4ull << 30)

static bool ram_entry(const struct boot_memmap_entry *e)
{
	return e->type == PTS_HVM_MEMMAP_RAM && e->size != 0;
}

/*
 * Take npages contiguous pages from the lowest RAM at or above steal_next.
 * Pages skipped over at the end of a RAM range stay PTS_PG_FREE and reach
 * the free list later.
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

static void mark(uint64_t pa, uint64_t end, uint32_t usage)
{
	for (; pa < end && (pa >> PAGE_SHIFT) < vm_page_count; pa += PAGE_SIZE)
		vm_page_array[pa >> PAGE_SHIFT].usage = usage;
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

	array_bytes = vm_page_count * sizeof(struct vm_page);
	array_pa = bump(round_page(array_bytes) >> PAGE_SHIFT);
	vm_page_array = (struct vm_page *)PHYS_TO_DMAP(array_pa);
	memset(vm_page_array, 0, array_bytes);
	for (uint64_t pfn = 0; pfn < vm_page_count; pfn++) {
		vm_page_array[pfn].phys_addr = pfn << PAGE_SHIFT;
		vm_page_array[pfn].usage = PTS_PG_RESERVED;
	}
	for (uint32_t i = 0; i < bootinfo.nmemmap; i++) {
		const struct boot_memmap_entry *e = &bootinfo.memmap[i];
		if (ram_entry(e))
			mark(round_page(e->addr), trunc_page(e->addr + e->size), PTS_PG_FREE);
	}
	/* in use before we ran: low boot data, the image, the array itself */
	for (uint64_t pa = 0; pa < bootinfo.boot_alloc_end && (pa >> PAGE_SHIFT) < vm_page_count;
	     pa += PAGE_SIZE)
		if (vm_page_array[pa >> PAGE_SHIFT].usage == PTS_PG_FREE)
			vm_page_array[pa >> PAGE_SHIFT].usage = PTS_PG_KERNEL;
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
	vm_page_array[pa >> PAGE_SHIFT].usage = usage;
	memset((void *)PHYS_TO_DMAP(pa), 0, PAGE_SIZE);
	return pa;
}

void vm_page_startup(void)
{
	/* pushed from the top down, so the lowest pages come out first */
	for (uint64_t pfn = vm_page_count; pfn-- > 0;) {
		struct vm_page *pg = &vm_page_array[pfn];
		if (pg->usage != PTS_PG_FREE)
			continue;
		pg->pageq = vm_page_freelist;
		vm_page_freelist = pg;
		vm_page_free_count++;
	}
	vm_page_started = true;
}

struct vm_page *vm_page_alloc(uint32_t usage)
{
	struct vm_page *pg = vm_page_freelist;

	KASSERT(vm_page_started);
	KASSERT(usage != PTS_PG_FREE);
	if (pg == NULL)
		return NULL;
	KASSERT(pg->usage == PTS_PG_FREE);
	KASSERT(pg->md.pv_list == NULL && pg->wire_count == 0);
	vm_page_freelist = pg->pageq;
	vm_page_free_count--;
	pg->pageq = NULL;
	pg->usage = usage;
	return pg;
}

void vm_page_free(struct vm_page *pg)
{
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
}

void vm_page_zero(struct vm_page *pg)
{
	const uint64_t *p = VM_PAGE_TO_KVA(pg);

	/* Reads are cheap; writes to a page the hypervisor still shadows are not. */
	for (unsigned i = 0; i < PAGE_SIZE / sizeof(uint64_t); i++)
		if (p[i] != 0) {
			memset(VM_PAGE_TO_KVA(pg), 0, PAGE_SIZE);
			return;
		}
}
