/* src/vm/snapshot.c - capture a booted VM and put it back by copying only the
 * pages written since: the backend's dirty log for the guest's own writes,
 * plus the pages the host itself wrote (the command ring), which no log sees.
 * The backend stops the guest and saves or restores its CPU state.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vm_impl.h"

int vm_snapshot_take(struct vm *vm, struct vm_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	if (!(vm->caps & VM_CAP_SNAPSHOT)) {
		snprintf(vm->error, sizeof(vm->error), "the %s backend cannot snapshot",
		         vm->backend->name);
		return -1;
	}
	if (vm->backend->snap_stop(vm, false) < 0 || vm->backend->snap_save(vm) < 0)
		return -1;
	/* A backend that can copy RAM itself (QEMU: only the file's data) gets a
	 * fresh zero buffer; for a memcpy the buffer is populated in one call: a
	 * page fault costs ~150 us on these machines (their kernel is itself a
	 * guest), and faulting 32,768 pages in one memcpy touch at a time took
	 * 5 s at 128 MiB. */
	snap->mem = mmap(NULL, vm->mem.size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
	                     (vm->backend->ram_copy != NULL ? 0 : MAP_POPULATE),
	                 -1, 0);
	if (snap->mem == MAP_FAILED) {
		snap->mem = NULL;
		snprintf(vm->error, sizeof(vm->error), "snapshot memory: %s", strerror(errno));
		return -1;
	}
	/* clear the log first: from here on dirty_since lists what differs */
	if (vm_dirty_sync(vm) < 0)
		return -1;
	vm_dirty_since_clear(vm);
	if (vm_ram_copy(vm, snap->mem) != 0)
		return -1;
	snap->console_len = vm_console_tail(vm, snap->console, sizeof(snap->console));
	snap->valid = true;
	return 0;
}

int vm_ram_copy(struct vm *vm, uint8_t *dst)
{
	if (vm->backend->ram_copy != NULL && vm->backend->ram_copy(vm, dst) == 0)
		return 0;
	if (vm->mem.hole_end <= vm->mem.hole_start) {
		memcpy(dst, vm->mem.base, vm->mem.size);
	} else {
		memcpy(dst, vm->mem.base, vm->mem.hole_start);
		memcpy(dst + vm->mem.hole_end, vm->mem.base + vm->mem.hole_end,
		       vm->mem.size - vm->mem.hole_end);
	}
	return 0;
}

static void copy_back(struct vm *vm, struct vm_snapshot *snap, uint64_t pfn, uint8_t *also)
{
	uint64_t off = pfn * PTS_PAGE_SIZE;

	if (!gmem_contains(&vm->mem, off, PTS_PAGE_SIZE)) /* outside RAM, or the hole */
		return;
	memcpy(vm->mem.base + off, snap->mem + off, PTS_PAGE_SIZE);
	if (also != NULL)
		memcpy(also + off, snap->mem + off, PTS_PAGE_SIZE);
	snap->pages_restored++;
}

/* Every page written since the snapshot (all, when the log lost track) and
 * the host's own range, back as the snapshot has them. */
static void copy_back_written(struct vm *vm, struct vm_snapshot *snap, uint64_t host_gpa,
                              uint64_t host_len, uint8_t *also)
{
	uint64_t pages = vm->mem.size / PTS_PAGE_SIZE;

	snap->pages_restored = 0;
	if (vm->dirty_since.all) /* the log lost track: put everything back */
		for (uint64_t pfn = 0; pfn < pages; pfn++)
			copy_back(vm, snap, pfn, also);
	else
		for (uint64_t i = 0; i < vm->dirty_since.n; i++)
			copy_back(vm, snap, vm->dirty_since.pfns[i], also);
	vm_dirty_since_clear(vm);
	/* the host's own writes (ring slots) are not in the guest's log */
	if (host_len != 0 && host_gpa < vm->mem.size) {
		uint64_t end =
		    host_gpa + host_len > vm->mem.size ? vm->mem.size : host_gpa + host_len;
		for (uint64_t pfn = host_gpa / PTS_PAGE_SIZE; pfn * PTS_PAGE_SIZE < end; pfn++)
			copy_back(vm, snap, pfn, also);
	}
}

int vm_snapshot_restore(struct vm *vm, struct vm_snapshot *snap, uint64_t host_gpa,
                        uint64_t host_len, uint8_t *also)
{
	vm->event = VM_EV_NONE;
	if (!snap->valid) {
		snprintf(vm->error, sizeof(vm->error), "no snapshot to restore");
		return -1;
	}
	if (vm->backend->snap_stop(vm, true) < 0 || vm_dirty_sync(vm) < 0)
		return -1;
	copy_back_written(vm, snap, host_gpa, host_len, also);
	if (vm->backend->snap_load(vm) < 0)
		return -1;
	memcpy(vm->cons.tail, snap->console, snap->console_len);
	vm->cons.tail_len = snap->console_len;
	vm->cons.len = 0;
	snap->restores++;
	return 0;
}

void vm_snapshot_free(struct vm *vm, struct vm_snapshot *snap)
{
	if (snap->mem != NULL)
		munmap(snap->mem, vm->mem.size);
	memset(snap, 0, sizeof(*snap));
}
