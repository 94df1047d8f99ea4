/* src/session/mirror.c - the copy of guest RAM the monitor reads when the
 * guest runs the next op while the last one is checked (docs/performance.md,
 * "Checking behind the guest"): guest RAM as it was when the op ended.
 *
 * It is kept as guest RAM's twin by the same log the incremental check
 * trusts: after every op the pages the log names are copied in, before the
 * guest goes on.  A page the log does not name holds what it held at the
 * last op, in RAM as in the copy.  Where the log lost track, and at a full
 * check (which must see what the log missed), all of RAM is copied again.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "session_impl.h"

int mirror_open(struct session *s)
{
	if (s->mirror != NULL)
		return 0;
	s->mirror = mmap(NULL, vm_mem(s->vm)->size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->mirror == MAP_FAILED) {
		s->mirror = NULL;
		snprintf(s->err, sizeof(s->err), "copy of guest RAM: %s", strerror(errno));
		return -1;
	}
	return mirror_copy_all(s);
}

void mirror_close(struct session *s)
{
	if (s->mirror != NULL)
		munmap(s->mirror, vm_mem(s->vm)->size);
	s->mirror = NULL;
}

int mirror_copy_all(struct session *s)
{
	if (vm_ram_copy(s->vm, s->mirror) != 0) {
		snprintf(s->err, sizeof(s->err), "copy of guest RAM: %s", vm_error(s->vm));
		return -1;
	}
	return 0;
}

/* the pages the last vm_dirty_sync published (all of RAM if it lost track) */
int mirror_copy_written(struct session *s)
{
	const struct pfn_set *w = vm_dirty_last(s->vm);
	const struct gmem *mem = vm_mem(s->vm);

	if (w->all)
		return mirror_copy_all(s);
	for (uint64_t i = 0; i < w->n; i++) {
		uint64_t off = w->pfns[i] * PTS_PAGE_SIZE;
		if (gmem_contains(mem, off, PTS_PAGE_SIZE))
			memcpy(s->mirror + off, mem->base + off, PTS_PAGE_SIZE);
	}
	return 0;
}
