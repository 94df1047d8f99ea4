/* src/kvm/dirty.c - KVM dirty-page logging for guest RAM: which pages the guest
 * wrote since the last look.  The monitor uses it to re-read only changed
 * page-table and pmap pages; the snapshot uses the union since capture to
 * copy back only what changed.  This file is the only one that talks to KVM
 * about dirty pages.
 *
 * Three ways to ask KVM (docs/performance.md measures them):
 *   ring   KVM_CAP_DIRTY_LOG_RING: KVM appends each page a vCPU dirties to
 *          that vCPU's ring shared with us; a harvest reads the new entries
 *          of every vCPU's ring and KVM_RESET_DIRTY_RINGS write-protects those
 *          pages again.  Cost follows the pages written, not the size of RAM.
 *   clear  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: KVM_GET_DIRTY_LOG copies the
 *          slot's bitmap without protecting anything, KVM_CLEAR_DIRTY_LOG
 *          re-protects the span that held dirty bits.
 *   get    plain KVM_GET_DIRTY_LOG, which copies and re-protects the whole
 *          slot's bitmap.
 * Whatever the backend, a harvest lands in `fresh` (a bitmap plus a list of
 * its set pfns), a sync publishes it as `last` and adds it to `since`: every
 * consumer sees a bitmap for lookups and a list for iteration, and nothing
 * after the harvest costs more than the pages written.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"
#include "kvm_vm.h"

#define RING_BYTES_DEFAULT (1u << 20) /* 65,536 entries of 16 bytes */

/* ---- setup: before the memslot (manual protect) and the vCPU (ring) */

static int dirty_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

static int enable_cap(struct vm *vm, uint32_t cap, uint64_t arg)
{
	struct kvm_enable_cap ec = {.cap = cap, .args = {arg}};

	return ioctl(KVM(vm)->vm_fd, KVM_ENABLE_CAP, &ec);
}

static int try_ring(struct vm *vm, uint32_t ring_bytes)
{
	static const uint32_t caps[] = {KVM_CAP_DIRTY_LOG_RING_ACQ_REL, KVM_CAP_DIRTY_LOG_RING};

	for (unsigned i = 0; i < 2; i++) {
		int max = ioctl(KVM(vm)->vm_fd, KVM_CHECK_EXTENSION, caps[i]);
		uint32_t bytes = ring_bytes ? ring_bytes : RING_BYTES_DEFAULT;
		if (max <= 0)
			continue;
		while (bytes > (uint32_t)max)
			bytes /= 2;
		if (bytes < (uint32_t)getpagesize())
			continue;
		if (enable_cap(vm, caps[i], bytes) == 0) {
			KVM(vm)->ring_bytes = bytes;
			KVM(vm)->ring_entries = bytes / sizeof(struct kvm_dirty_gfn);
			return 0;
		}
	}
	return -1;
}

/* No ring: the bitmap, with manual protect (clear) where KVM has it. */
static int bitmap_setup(struct vm *vm, enum vm_dirty_mode want, uint64_t words, char *err,
                        size_t errlen)
{
	if ((want == VM_DIRTY_AUTO || want == VM_DIRTY_CLEAR) &&
	    ioctl(KVM(vm)->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) > 0 &&
	    enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
	               KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) == 0)
		vm->dirty_mode = VM_DIRTY_CLEAR;
	else if (want == VM_DIRTY_CLEAR) {
		snprintf(err, errlen,
		         "--dirty-log clear: this KVM has no manual dirty-log protect");
		return -1;
	} else
		vm->dirty_mode = VM_DIRTY_GET;
	KVM(vm)->dirty_scratch = calloc(words, sizeof(uint64_t));
	if (KVM(vm)->dirty_scratch == NULL) {
		snprintf(err, errlen, "dirty log: out of memory");
		return -1;
	}
	return 0;
}

int kvm_dirty_setup(struct vm *vm, uint64_t mem_size, enum vm_dirty_mode want, uint32_t ring_bytes,
                    char *err, size_t errlen)
{
	uint64_t words = (mem_size / PTS_PAGE_SIZE + 63) / 64;

	if (vm_dirty_alloc(vm, mem_size, err, errlen) != 0)
		return -1;
	if (want != VM_DIRTY_AUTO && want != VM_DIRTY_RING && want != VM_DIRTY_CLEAR &&
	    want != VM_DIRTY_GET) {
		snprintf(err, errlen,
		         "--dirty-log %s: the KVM backend logs with ring, clear or get",
		         vm_dirty_mode_name(want));
		return -1;
	}
	if (ring_bytes != 0 && (ring_bytes & (ring_bytes - 1)) != 0) {
		snprintf(err, errlen, "dirty ring size %u is not a power of two", ring_bytes);
		return -1;
	}
	/* several vCPUs: the bitmap (an AP's ring, overflowed, stays "full" on
	 * kvm_pvm; the command line refuses --dirty-log ring there) */
	if (KVM(vm)->ncpus > 1 && want == VM_DIRTY_AUTO)
		want = VM_DIRTY_CLEAR;
	if (KVM(vm)->ncpus > 1 && want == VM_DIRTY_RING) {
		snprintf(err, errlen, "--dirty-log ring: not with more than one vCPU on KVM");
		return -1;
	}
	if ((want == VM_DIRTY_AUTO || want == VM_DIRTY_RING) && try_ring(vm, ring_bytes) == 0) {
		vm->dirty_mode = VM_DIRTY_RING;
		return 0;
	}
	if (want == VM_DIRTY_RING) {
		snprintf(err, errlen, "--dirty-log ring: this KVM has no dirty ring");
		return -1;
	}
	return bitmap_setup(vm, want, words, err, errlen);
}

int kvm_dirty_map_vcpu(struct vm *vm, unsigned cpu, int fd, char *err, size_t errlen)
{
	void *p;

	if (vm->dirty_mode != VM_DIRTY_RING || cpu >= PTS_MAX_CPUS)
		return 0;
	p = mmap(NULL, KVM(vm)->ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	         (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
	if (p == MAP_FAILED)
		return dirty_fail(err, errlen, "mmap dirty ring");
	KVM(vm)->rings[cpu].gfns = p;
	return 0;
}

static int harvest_fail(struct vm *vm, const char *what)
{
	snprintf(vm->error, sizeof(vm->error), "%s: %s", what, strerror(errno));
	return -1;
}

/* Log from now on.  Not during boot: the boot's long `rep stos` would only
 * fill the ring, and nothing reads the log before the guest registers. */
int kvm_dirty_start(struct vm *vm)
{
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .flags = KVM_MEM_LOG_DIRTY_PAGES,
	    .guest_phys_addr = 0,
	    .memory_size = vm->mem.size,
	    .userspace_addr = (uint64_t)vm->mem.base,
	};

	if (vm->dirty_logging)
		return 0;
	if (ioctl(KVM(vm)->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return harvest_fail(vm, "KVM_SET_USER_MEMORY_REGION (dirty logging)");
	vm->dirty_logging = true;
	return 0;
}

/* ---- harvest: what KVM knows, into dirty_fresh */

/*
 * The dirty ring.  KVM pushes one entry per logged write (slot, page) at its
 * index D, and once the ring passes its soft limit it is meant to stop the
 * vCPU with KVM_EXIT_DIRTY_RING_FULL.  We read entries from our index `fetch`,
 * mark them F_RESET, and KVM_RESET_DIRTY_RINGS walks the marked slots from its
 * own index R (== fetch) and hands them back.
 *
 * This KVM logs every store of the guest kernel it emulates and does not stop
 * the vCPU in time (one `rep stosq` pushes 512 entries at once, an op batch
 * thousands), so the ring overflows: KVM writes over entries we have not read
 * (every slot is dirty when we look: the log lost pages and says so with
 * `all`), and afterwards D is no longer where we expect it.  Pushes since our
 * last reset always form one circular run of dirty slots ending at D, so after
 * an overflow (`ring_suspect`) a harvest scans the whole ring, reads the run,
 * hands back every slot from fetch to the run's end (the clean ones before it
 * too: KVM counts them) and clears the flags of run slots it did not hand back
 * (KVM counts them free).  D - R may still be whole rings too many, which
 * shows as a "full" exit with little in the ring: then one more ring of clean
 * slots is handed back.
 */
static struct kvm_dirty_gfn *slot_at(const struct vm *vm, const struct kvm_ring *r, uint32_t i)
{
	return &r->gfns[i % KVM(vm)->ring_entries];
}

static bool slot_dirty(const struct vm *vm, const struct kvm_ring *r, uint32_t i)
{
	return __atomic_load_n(&slot_at(vm, r, i)->flags, __ATOMIC_ACQUIRE) & KVM_DIRTY_GFN_F_DIRTY;
}

static void slot_set(struct vm *vm, struct kvm_ring *r, uint32_t i, uint32_t flags)
{
	__atomic_store_n(&slot_at(vm, r, i)->flags, flags, __ATOMIC_RELEASE);
}

static int slot_take(struct vm *vm, const struct kvm_ring *r, uint32_t i)
{
	const struct kvm_dirty_gfn *e = slot_at(vm, r, i);
	uint64_t pages = vm->mem.size / PTS_PAGE_SIZE;

	/* slot 0 is all of RAM: anything else is a KVM fault, not the guest's */
	if (e->slot != 0 || e->offset >= pages) {
		snprintf(vm->error, sizeof(vm->error),
		         "dirty ring names slot %u page %llu (RAM has %llu pages)", e->slot,
		         (unsigned long long)e->offset, (unsigned long long)pages);
		return -1;
	}
	if (pfn_set_add(&vm->dirty_fresh, e->offset) != 0) {
		snprintf(vm->error, sizeof(vm->error), "dirty log: out of memory");
		return -1;
	}
	vm->ring_entries_read++;
	return 0;
}

static int ring_reset(struct vm *vm, struct kvm_ring *r, uint32_t d)
{
	for (uint32_t i = 0; i < d; i++)
		slot_set(vm, r, r->fetch + i, KVM_DIRTY_GFN_F_RESET);
	r->fetch += d;
	if (d != 0 && ioctl(KVM(vm)->vm_fd, KVM_RESET_DIRTY_RINGS, 0) < 0)
		return harvest_fail(vm, "KVM_RESET_DIRTY_RINGS");
	return 0;
}

/* in step: the new entries start at fetch; how many slots to hand back */
static int ring_read_in_step(struct vm *vm, struct kvm_ring *r, uint32_t *d)
{
	uint32_t n = KVM(vm)->ring_entries, got;

	for (got = 0; got < n && slot_dirty(vm, r, r->fetch + got); got++)
		if (slot_take(vm, r, r->fetch + got) != 0)
			return -1;
	*d = got;
	return 0;
}

/* after an overflow: find the run of new entries wherever it is */
static int ring_read_anywhere(struct vm *vm, struct kvm_ring *r, uint32_t *d)
{
	uint32_t n = KVM(vm)->ring_entries, ndirty = 0, end = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (!slot_dirty(vm, r, r->fetch + i))
			continue;
		if (slot_take(vm, r, r->fetch + i) != 0)
			return -1;
		ndirty++;
		if (!slot_dirty(vm, r, r->fetch + i + 1))
			end = i + 1; /* the run's end: where KVM pushes next */
	}
	if (ndirty == 0 || ndirty == n) {
		*d = ndirty;
		return 0;
	}
	/* run slots past its end wrapped over fetch: KVM counts them free */
	for (uint32_t i = end; i < n; i++)
		if (slot_dirty(vm, r, r->fetch + i))
			slot_set(vm, r, r->fetch + i, 0);
	r->suspect = false;
	*d = end;
	return 0;
}

#define IDLE_FULLS_MAX 1024u

/* one vCPU's ring; ring_full: its vCPU exited with "full" */
static int harvest_one_ring(struct vm *vm, struct kvm_ring *r, bool ring_full)
{
	uint32_t n = KVM(vm)->ring_entries, d;

	if ((r->suspect ? ring_read_anywhere(vm, r, &d) : ring_read_in_step(vm, r, &d)) != 0)
		return -1;
	if (d == n) { /* every slot dirty: entries were overwritten */
		vm->dirty_fresh.all = true;
		r->suspect = true;
		vm->ring_overflows++;
	}
	if (ring_reset(vm, r, d) != 0)
		return -1;
	if (!ring_full || d >= n / 2) {
		r->idle_fulls = 0;
		return 0;
	}
	/* "full" with less than half a ring to read: KVM counts a ring too many,
	 * or (several vCPUs) the other thread harvested this ring between the
	 * exit and now, which a loaded machine does many times in a row (64 was
	 * too few: a two-vCPU test hit it at load 6).  A KVM that never stops
	 * saying "full" is still an error, after IDLE_FULLS_MAX exits of a few
	 * microseconds each. */
	if (++r->idle_fulls > IDLE_FULLS_MAX) {
		snprintf(vm->error, sizeof(vm->error),
		         "dirty ring: KVM still reports it full after %u empty rings were handed "
		         "back (try --dirty-log clear)",
		         r->idle_fulls - 1);
		return -1;
	}
	return ring_reset(vm, r, n); /* clean slots: nothing unread is lost */
}

/* every vCPU's ring (one a vCPU); full: the vCPU whose exit said "full", or -1 */
static int harvest_ring(struct vm *vm, int full)
{
	struct kvm_vm *k = KVM(vm);
	int rc = 0;

	for (unsigned i = 0; i < k->ncpus && rc == 0; i++)
		rc = harvest_one_ring(vm, &k->rings[i], full == (int)i);
	return rc;
}

/* Manual protect: the words lo..hi of the bitmap just read, cleared in KVM
 * (write-protected again).  0, or -1 with vm->error. */
static int clear_bitmap(struct vm *vm, uint64_t lo, uint64_t hi, uint64_t pages)
{
	/* first_page a multiple of 64; num_pages too unless it reaches the end */
	uint64_t first = lo * 64, end = (hi + 1) * 64 > pages ? pages : (hi + 1) * 64;
	struct kvm_clear_dirty_log clr = {
	    .slot = 0,
	    .num_pages = (uint32_t)(end - first),
	    .first_page = first,
	    .dirty_bitmap = KVM(vm)->dirty_scratch + lo,
	};

	if (ioctl(KVM(vm)->vm_fd, KVM_CLEAR_DIRTY_LOG, &clr) < 0)
		return harvest_fail(vm, "KVM_CLEAR_DIRTY_LOG");
	return 0;
}

static int harvest_bitmap(struct vm *vm)
{
	struct kvm_dirty_log log = {.slot = 0, .dirty_bitmap = KVM(vm)->dirty_scratch};
	uint64_t pages = vm->mem.size / PTS_PAGE_SIZE, lo = UINT64_MAX, hi = 0;
	const uint64_t *bits = KVM(vm)->dirty_scratch;

	if (ioctl(KVM(vm)->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return harvest_fail(vm, "KVM_GET_DIRTY_LOG");
	for (uint64_t w = 0; w < vm->dirty_words; w++) {
		uint64_t b = bits[w];
		if (b == 0)
			continue;
		if (lo == UINT64_MAX)
			lo = w;
		hi = w;
		for (; b != 0; b &= b - 1) {
			uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(b);
			if (pfn < pages && pfn_set_add(&vm->dirty_fresh, pfn) != 0) {
				snprintf(vm->error, sizeof(vm->error), "dirty log: out of memory");
				return -1;
			}
		}
	}
	if (vm->dirty_mode == VM_DIRTY_CLEAR && lo != UINT64_MAX)
		return clear_bitmap(vm, lo, hi, pages);
	return 0;
}

int kvm_dirty_harvest_locked(struct vm *vm, int full)
{
	return vm->dirty_mode == VM_DIRTY_RING ? harvest_ring(vm, full) : harvest_bitmap(vm);
}

/* from the BSP's thread: its "full" exit, or a sync; with several vCPUs the
 * APs' "full" exits harvest too (smp.c), so one at a time */
int kvm_dirty_harvest(struct vm *vm, bool ring_full)
{
	int rc;

	if (KVM(vm)->ncpus == 1)
		return kvm_dirty_harvest_locked(vm, ring_full ? 0 : -1);
	pthread_mutex_lock(&KVM(vm)->lock);
	rc = kvm_dirty_harvest_locked(vm, ring_full ? 0 : -1);
	pthread_mutex_unlock(&KVM(vm)->lock);
	return rc;
}

void kvm_dirty_free(struct vm *vm)
{
	for (unsigned i = 0; i < PTS_MAX_CPUS; i++) {
		if (KVM(vm)->rings[i].gfns != NULL)
			munmap(KVM(vm)->rings[i].gfns, KVM(vm)->ring_bytes);
		KVM(vm)->rings[i].gfns = NULL;
	}
	free(KVM(vm)->dirty_scratch);
	KVM(vm)->dirty_scratch = NULL;
}
