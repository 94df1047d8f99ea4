/* src/qemu/qemu_dirty.c - the QEMU backend's dirty log: the pages the
 * ptsdirty plugin saw the guest store to, plus the page-table pages TCG's
 * page walker may have written (Accessed/Dirty bits) on the walks of the
 * virtual pages the guest touched, which no plugin sees.
 */
#include <string.h>

#include "qemu_vm.h"
#include "tcg_dirty.h"

static void add_ram_page(void *ctx, uint64_t pfn)
{
	struct vm *vm = ctx;
	struct qemu_vm *q = QEMU(vm);
	uint64_t off = pfn * PTS_PAGE_SIZE;

	if (off >= q->ram_bytes)
		return;
	if (off >= q->lowmem) /* RAM offset -> guest-physical above the hole */
		pfn += (QEMU_HIGHMEM_BASE - q->lowmem) / PTS_PAGE_SIZE;
	if (pfn_set_add(&vm->dirty_fresh, pfn) != 0)
		vm->dirty_fresh.all = true;
}

int qemu_dirty_start(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);
	struct pts_doorbell *db = qemu_doorbell(vm);

	if (q->dirty == NULL)
		return 0;
	tcg_dirty_enable(q->dirty, true);
	tcg_dirty_enable_vpages(q->dirty, true);
	q->vcpu_prev_cr3[0] = q->cr3;
	if (q->vcpus > 1 && db != NULL)
		(void)qemu_vcpu_cr3s(vm, __atomic_load_n(&db->park_cr3, __ATOMIC_RELAXED),
		                     q->vcpu_prev_cr3 + 1, q->vcpus - 1);
	vm->dirty_logging = true;
	return 0;
}

/*
 * TCG's page walker sets Accessed and Dirty bits with stores of its own,
 * which no plugin sees (docs/performance.md).  So the plugin also logs the
 * virtual pages the guest touched, and every page-table page on the walk of
 * each one counts as written: walked from the CR3s the guest may have used
 * during the op (its CR3 at this call and at the last one, and the kernel
 * pmap's root, whose kernel half every pmap shares).  More pages than the
 * walker wrote, never fewer.
 */
#define PTE_P     0x1ull
#define PTE_PS    0x80ull
#define PTE_FRAME 0x000ffffffffff000ull

static void add_gpa_page(struct vm *vm, uint64_t gpa)
{
	uint64_t pfn = gpa / PTS_PAGE_SIZE;

	if (pfn / 64 < vm->dirty_words && pfn_set_add(&vm->dirty_fresh, pfn) != 0)
		vm->dirty_fresh.all = true;
}

/*
 * Which walked tables did the walker change?  A table the guest stored to is
 * in the log already.  The walker writes only the entries its walks go
 * through, and every page the guest touched since the last harvest is in the
 * virtual-page log, so for the others it is enough to compare each walked
 * entry with a copy of its table as it was at the last harvest
 * (QEMU_WALK_CACHE pages at most): a table with an entry that differs, or
 * with no copy, goes into the log and its copy is taken anew.  Copies of
 * tables the guest stored to are dropped at every harvest, so a copy is
 * never older than the last store to its table.  Most walks are the
 * kernel's, through tables that settle after their first use, so the log
 * does not name the same kernel tables after every op.
 */
static struct walk_page *walk_page_find(struct qemu_vm *q, uint64_t pfn, bool insert)
{
	uint64_t h = (pfn + 1) * 0x9e3779b97f4a7c15ull;

	for (unsigned probe = 0; probe < 16; probe++) {
		struct walk_page *w = &q->walk_cache[((h >> 54) + probe) & (QEMU_WALK_CACHE - 1)];
		if (w->pfn == pfn + 1)
			return w;
		if (w->pfn == 0 && insert) {
			w->pfn = pfn + 1;
			w->valid = false;
			return w;
		}
	}
	return NULL;
}

/* the guest stored to these tables: their copies are stale */
static void walk_cache_forget_logged(struct qemu_vm *q, const struct pfn_set *fresh)
{
	for (uint64_t i = 0; i < fresh->n; i++) {
		struct walk_page *w = walk_page_find(q, fresh->pfns[i], false);
		if (w != NULL)
			w->valid = false;
	}
}

/* the walk went through entry idx of table: log the table if that entry changed */
static void walk_entry(struct vm *vm, uint64_t table, unsigned idx)
{
	struct qemu_vm *q = QEMU(vm);
	uint64_t pfn = table / PTS_PAGE_SIZE;
	const uint64_t *page = gmem_ptr(&vm->mem, table, PTS_PAGE_SIZE, PTS_PAGE_SIZE);
	struct walk_page *w;

	if (page == NULL)
		return;
	w = walk_page_find(q, pfn, true);
	if (w == NULL) { /* no room to remember it: always log it */
		add_gpa_page(vm, table);
		return;
	}
	if (w->gen != q->walk_gen) { /* first look in this harvest */
		bool logged = pfn / 64 < vm->dirty_words &&
		              ((vm->dirty_fresh.bits[pfn / 64] >> (pfn % 64)) & 1);
		w->gen = q->walk_gen;
		w->in_log = logged || !w->valid;
		if (w->in_log) { /* stored to, or never seen: in the log, copy anew */
			if (!logged)
				add_gpa_page(vm, table);
			memcpy(w->copy, page, PTS_PAGE_SIZE);
			w->valid = true;
			return;
		}
	}
	if (w->in_log ||
	    __atomic_load_n(&page[idx], __ATOMIC_RELAXED) == ((const uint64_t *)w->copy)[idx])
		return;
	add_gpa_page(vm, table);
	memcpy(w->copy, page, PTS_PAGE_SIZE);
	w->in_log = true;
}

/* walk va from root; the page table (level 1) the walk reached, or 0 */
static uint64_t add_walk(struct vm *vm, uint64_t root, uint64_t va)
{
	uint64_t table = root & PTE_FRAME;

	for (int level = 4; level >= 1; level--) {
		unsigned idx = (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
		const uint64_t *e = gmem_ptr(&vm->mem, table + idx * 8, 8, 8);
		uint64_t pte;
		if (e == NULL)
			return 0;
		walk_entry(vm, table, idx);
		pte = __atomic_load_n(e, __ATOMIC_RELAXED);
		if (level == 1)
			return table;
		if (!(pte & PTE_P) || ((pte & PTE_PS) && level <= 3))
			return 0;
		table = pte & PTE_FRAME;
	}
	return 0;
}

#define WALK_MEMO  64u
#define WALK_ROOTS (3u * QEMU_VCPUS_MAX)

struct walk_ctx {
	struct vm *vm;
	uint64_t roots[WALK_ROOTS]; /* every vCPU's, once each */
	unsigned nroots;
	/* each vCPU's: indexes into roots */
	uint8_t vcpu_root[QEMU_VCPUS_MAX][3];
	uint8_t vcpu_nroots[QEMU_VCPUS_MAX];
	/* (2 MiB region, root) pairs walked in this harvest, and the page table
	 * their walk reached: every page of a region goes through the same
	 * entries above it, so a second page needs its own entry there only */
	struct {
		uint64_t key, pt;
	} memo[WALK_MEMO];
};

/* vCPU `vcpu` touched va: redo its walks, through its own roots */
static void add_vpage(void *ctx, unsigned vcpu, uint64_t va, bool is_store)
{
	struct walk_ctx *w = ctx;

	if (vcpu >= QEMU_VCPUS_MAX)
		return;
	for (unsigned r = 0; r < w->vcpu_nroots[vcpu]; r++) {
		unsigned i = w->vcpu_root[vcpu][r];
		uint64_t key = ((va >> 21) << 5 | i) + 1;
		unsigned slot = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 58);
		if (w->memo[slot].key == key) {
			if (w->memo[slot].pt != 0)
				walk_entry(w->vm, w->memo[slot].pt, (unsigned)(va >> 12) & 511);
			continue;
		}
		w->memo[slot].key = key;
		w->memo[slot].pt = add_walk(w->vm, w->roots[i], va);
	}
}

/* cr3 is one of the roots vCPU vcpu may have walked through in this op */
static void add_root(struct walk_ctx *w, unsigned vcpu, uint64_t cr3)
{
	unsigned i;

	cr3 &= PTE_FRAME;
	if (cr3 == 0 || vcpu >= QEMU_VCPUS_MAX || w->vcpu_nroots[vcpu] == 3)
		return;
	for (i = 0; i < w->nroots && w->roots[i] != cr3; i++)
		;
	if (i == w->nroots)
		w->roots[w->nroots++] = cr3;
	for (unsigned r = 0; r < w->vcpu_nroots[vcpu]; r++)
		if (w->vcpu_root[vcpu][r] == i)
			return;
	w->vcpu_root[vcpu][w->vcpu_nroots[vcpu]++] = (uint8_t)i;
}

/*
 * Each vCPU's roots: the CR3 it had at the last harvest and the one it has
 * now, and the kernel pmap's (every op goes through at most one switch a
 * CPU: docs/smp.md).  vCPU 0 is the BSP, guest CPU 0, whose CR3 the doorbell
 * gives; the others' are in struct pts_smp (qemu_vcpu_cr3s).  false: their
 * roots could not be read, so the walks cannot be redone.
 */
static bool add_roots(struct vm *vm, struct walk_ctx *w, uint64_t kernel_root)
{
	struct qemu_vm *q = QEMU(vm);
	unsigned n = q->vcpus > 1 ? q->vcpus : 1;
	bool ok = true;

	q->vcpu_cr3[0] = q->cr3;
	if (n > 1)
		ok = qemu_vcpu_cr3s(vm, kernel_root, q->vcpu_cr3 + 1, n - 1) == 0;
	for (unsigned v = 0; v < n && v < QEMU_VCPUS_MAX; v++) {
		add_root(w, v, q->vcpu_cr3[v]);
		add_root(w, v, q->vcpu_prev_cr3[v]);
		add_root(w, v, kernel_root);
		q->vcpu_prev_cr3[v] = q->vcpu_cr3[v];
	}
	return ok;
}

int qemu_dirty_harvest(struct vm *vm, bool ring_full)
{
	struct qemu_vm *q = QEMU(vm);
	struct pts_doorbell *db = qemu_doorbell(vm);
	struct walk_ctx w = {.vm = vm};
	bool lost = false, vlost = false;
	int n;

	if (q->dirty == NULL) {
		vm->dirty_fresh.all = true;
		return 0;
	}
	n = tcg_dirty_harvest(q->dirty, add_ram_page, vm, &lost);
	if (n > 0)
		vm->ring_entries_read += (uint64_t)n;
	walk_cache_forget_logged(q, &vm->dirty_fresh);
	q->walk_gen++;
	if (!add_roots(vm, &w, db != NULL ? __atomic_load_n(&db->park_cr3, __ATOMIC_RELAXED) : 0))
		lost = true;
	if (tcg_dirty_harvest_vpages(q->dirty, add_vpage, &w, &vlost) < 0 || vlost)
		lost = true;
	if (lost) {
		vm->dirty_fresh.all = true;
		vm->ring_overflows++;
	}
	return 0;
}

void qemu_walk_cache_forget(struct qemu_vm *q)
{
	for (unsigned i = 0; i < QEMU_WALK_CACHE; i++)
		q->walk_cache[i].valid = false;
}
