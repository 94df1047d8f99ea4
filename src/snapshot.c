/* src/snapshot.c - capture a booted VM (guest RAM, vCPU registers, special
 * registers, FPU state) and put it back by copying only the pages dirtied
 * since: KVM's dirty log for the guest's own writes, plus the pages the host
 * itself wrote (the command ring), which KVM cannot see.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm.h"

static int snap_fail(struct vm *vm, const char *what)
{
	snprintf(vm->error, sizeof(vm->error), "%s: %s", what, strerror(errno));
	return -1;
}

/* Let KVM finish the port I/O the guest is stopped in, without running it. */
static int complete_pending_io(struct vm *vm)
{
	vm->run->immediate_exit = 1;
	if (ioctl(vm->vcpu_fd, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN)) {
		vm->run->immediate_exit = 0;
		snprintf(vm->error, sizeof(vm->error), "KVM_RUN (complete I/O) did not stop");
		return -1;
	}
	vm->run->immediate_exit = 0;
	return 0;
}

static int dirty_log_fetch(struct vm *vm, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };

	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return snap_fail(vm, "KVM_GET_DIRTY_LOG");
	return 0;
}

int vm_snapshot_take(struct vm *vm, struct vm_snapshot *snap)
{
	uint64_t pages = vm->mem.size / PTS_PAGE_SIZE;

	memset(snap, 0, sizeof(*snap));
	if (complete_pending_io(vm) < 0)
		return -1;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &snap->regs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_SREGS, &snap->sregs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_FPU, &snap->fpu) < 0)
		return snap_fail(vm, "saving vCPU state");
	snap->bitmap_words = (pages + 63) / 64;
	snap->bitmap = calloc(snap->bitmap_words, sizeof(uint64_t));
	snap->mem = mmap(NULL, vm->mem.size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (snap->bitmap == NULL || snap->mem == MAP_FAILED) {
		snap->mem = NULL;
		vm_snapshot_free(vm, snap);
		return snap_fail(vm, "snapshot memory");
	}
	/* clear the log first: from here on it lists what differs from the copy */
	if (dirty_log_fetch(vm, snap->bitmap) < 0)
		return -1;
	memcpy(snap->mem, vm->mem.base, vm->mem.size);
	snap->valid = true;
	return 0;
}

static void copy_back(struct vm *vm, struct vm_snapshot *snap, uint64_t pfn)
{
	uint64_t off = pfn * PTS_PAGE_SIZE;

	memcpy(vm->mem.base + off, snap->mem + off, PTS_PAGE_SIZE);
	snap->pages_restored++;
}

int vm_snapshot_restore(struct vm *vm, struct vm_snapshot *snap, uint64_t host_gpa,
			uint64_t host_len)
{
	uint64_t pages = vm->mem.size / PTS_PAGE_SIZE;

	if (!snap->valid) {
		snprintf(vm->error, sizeof(vm->error), "no snapshot to restore");
		return -1;
	}
	if (complete_pending_io(vm) < 0 || dirty_log_fetch(vm, snap->bitmap) < 0)
		return -1;
	snap->pages_restored = 0;
	for (uint64_t w = 0; w < snap->bitmap_words; w++) {
		uint64_t bits = snap->bitmap[w];
		while (bits != 0) {
			uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			if (pfn < pages)
				copy_back(vm, snap, pfn);
		}
	}
	/* the host's own writes (ring slots) are not in KVM's log */
	if (host_len != 0 && host_gpa < vm->mem.size) {
		uint64_t end = host_gpa + host_len > vm->mem.size ? vm->mem.size : host_gpa + host_len;
		for (uint64_t pfn = host_gpa / PTS_PAGE_SIZE; pfn * PTS_PAGE_SIZE < end; pfn++)
			copy_back(vm, snap, pfn);
	}
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &snap->sregs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_SET_REGS, &snap->regs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_SET_FPU, &snap->fpu) < 0)
		return snap_fail(vm, "restoring vCPU state");
	snap->restores++;
	return 0;
}

void vm_snapshot_free(struct vm *vm, struct vm_snapshot *snap)
{
	if (snap->mem != NULL)
		munmap(snap->mem, vm->mem.size);
	free(snap->bitmap);
	memset(snap, 0, sizeof(*snap));
}
