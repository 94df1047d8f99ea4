/* src/dirty.c - KVM dirty-page logging for guest RAM: which pages the guest
 * wrote since the last look.  The monitor uses it to re-read only changed
 * page-table and pmap pages; the snapshot uses the union since capture to
 * copy back only what changed.  KVM_GET_DIRTY_LOG clears the log, so this
 * file is its only caller.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"

int vm_dirty_init(struct vm *vm)
{
	uint64_t pages = vm->mem.size / PTS_PAGE_SIZE;

	vm->dirty_words = (pages + 63) / 64;
	vm->dirty_last = calloc(vm->dirty_words, sizeof(uint64_t));
	vm->dirty_since = calloc(vm->dirty_words, sizeof(uint64_t));
	if (vm->dirty_last == NULL || vm->dirty_since == NULL) {
		snprintf(vm->error, sizeof(vm->error), "dirty log: out of memory");
		return -1;
	}
	return 0;
}

int vm_dirty_sync(struct vm *vm)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = vm->dirty_last };

	if (vm->dirty_last == NULL && vm_dirty_init(vm) != 0)
		return -1;
	log.dirty_bitmap = vm->dirty_last;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		snprintf(vm->error, sizeof(vm->error), "KVM_GET_DIRTY_LOG: %s", strerror(errno));
		return -1;
	}
	for (uint64_t w = 0; w < vm->dirty_words; w++)
		vm->dirty_since[w] |= vm->dirty_last[w];
	vm->dirty_syncs++;
	return 0;
}

bool vm_page_dirty(void *ctx, uint64_t gpa)
{
	const struct vm *vm = ctx;
	uint64_t pfn = gpa / PTS_PAGE_SIZE;

	if (vm->dirty_last == NULL || pfn / 64 >= vm->dirty_words)
		return true; /* unknown: assume written */
	return (vm->dirty_last[pfn / 64] >> (pfn % 64)) & 1;
}

void vm_dirty_free(struct vm *vm)
{
	free(vm->dirty_last);
	free(vm->dirty_since);
	vm->dirty_last = vm->dirty_since = NULL;
	vm->dirty_words = 0;
}
