/* src/kvm/snapshot.c - capture a booted VM (guest RAM, vCPU registers, special
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

#include "vm.h"

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


int vm_snapshot_take(struct vm *vm, struct vm_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	if (complete_pending_io(vm) < 0)
		return -1;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &snap->regs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_SREGS, &snap->sregs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_FPU, &snap->fpu) < 0)
		return snap_fail(vm, "saving vCPU state");
	snap->mem = mmap(NULL, vm->mem.size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (snap->mem == MAP_FAILED) {
		snap->mem = NULL;
		return snap_fail(vm, "snapshot memory");
	}
	/* clear the log first: from here on dirty_since lists what differs */
	if (vm_dirty_sync(vm) < 0)
		return -1;
	vm_dirty_since_clear(vm);
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
	if (complete_pending_io(vm) < 0 || vm_dirty_sync(vm) < 0)
		return -1;
	snap->pages_restored = 0;
	if (vm->dirty_since.all) /* the log lost track: put everything back */
		for (uint64_t pfn = 0; pfn < pages; pfn++)
			copy_back(vm, snap, pfn);
	else
		for (uint64_t i = 0; i < vm->dirty_since.n; i++)
			if (vm->dirty_since.pfns[i] < pages)
				copy_back(vm, snap, vm->dirty_since.pfns[i]);
	vm_dirty_since_clear(vm);
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
	memset(snap, 0, sizeof(*snap));
}
