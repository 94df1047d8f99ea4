/* src/vm/ram.c - guest RAM's life, written once for every backend: a private
 * anonymous mapping (KVM backs its memslot with it), or a memfd mapped with
 * the hole QEMU leaves below 4 GiB (QEMU, libvirt); unmapped by vm_destroy.
 */
#include <errno.h>
#include <sys/mman.h>

#include "vm_impl.h"

int vm_ram_anon(struct vm *vm, uint64_t size)
{
	uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		return -1;
	madvise(base, size, MADV_MERGEABLE);
	vm->mem.base = base;
	vm->mem.size = size;
	return 0;
}

int vm_ram_map_fd(struct vm *vm, int fd, uint64_t low, uint64_t high, uint64_t high_base)
{
	uint64_t span = high != 0 ? high_base + high : low;
	uint8_t *base;
	int saved;

	base = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -1;
	if (mmap(base, low, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
	    (high != 0 && mmap(base + high_base, high, PROT_READ | PROT_WRITE,
	                       MAP_SHARED | MAP_FIXED, fd, (off_t)low) == MAP_FAILED)) {
		saved = errno;
		munmap(base, span);
		errno = saved;
		return -1;
	}
	vm->mem.base = base;
	vm->mem.size = span;
	vm->mem.hole_start = high != 0 ? low : span;
	vm->mem.hole_end = high != 0 ? high_base : span;
	return 0;
}

void vm_ram_unmap(struct vm *vm)
{
	if (vm->mem.base != NULL)
		munmap(vm->mem.base, vm->mem.size);
	vm->mem.base = NULL;
}
