/* lib/gmem.c - the one checked accessor for guest-physical memory, used by
 * the monitor for everything it reads and by the VMM for boot data,
 * hypercall records, the descriptor and the command ring.
 */
#include "gmem.h"

#include <string.h>

int gmem_check(const struct gmem *m, gpa_t gpa, uint64_t len, uint64_t align)
{
	uint64_t end;
	if (m == NULL || m->base == NULL || align == 0 || (align & (align - 1)) != 0)
		return GMEM_EINVAL;
	if ((gpa & (align - 1)) != 0)
		return GMEM_EALIGN;
	if (__builtin_add_overflow(gpa, len, &end) || end > m->size)
		return GMEM_ERANGE;
	if (gpa < m->hole_end && end > m->hole_start)
		return GMEM_ERANGE;
	return GMEM_OK;
}

void *gmem_ptr(const struct gmem *m, gpa_t gpa, uint64_t len, uint64_t align)
{
	return gmem_check(m, gpa, len, align) == GMEM_OK ? m->base + gpa : NULL;
}

bool gmem_contains(const struct gmem *m, gpa_t gpa, uint64_t len)
{
	return gmem_check(m, gpa, len, 1) == GMEM_OK;
}

int gmem_read_aligned(const struct gmem *m, gpa_t gpa, void *dst, size_t len, size_t align)
{
	int err;
	if (dst == NULL && len != 0)
		return GMEM_EINVAL;
	err = gmem_check(m, gpa, len, align);
	if (err == GMEM_OK && len != 0)
		memcpy(dst, m->base + gpa, len);
	return err;
}

int gmem_read(const struct gmem *m, gpa_t gpa, void *dst, size_t len)
{
	return gmem_read_aligned(m, gpa, dst, len, 1);
}

int gmem_read_u64(const struct gmem *m, gpa_t gpa, uint64_t *v)
{
	uint8_t b[8];
	int err = gmem_read_aligned(m, gpa, b, sizeof b, sizeof b);
	if (err == GMEM_OK)
		*v = le_field(b, 0, 8);
	return err;
}

const char *gmem_strerror(int err)
{
	switch (err) {
	case GMEM_OK:
		return "ok";
	case GMEM_ERANGE:
		return "outside guest RAM";
	case GMEM_EALIGN:
		return "misaligned";
	case GMEM_EINVAL:
		return "invalid argument";
	}
	return "unknown error";
}
