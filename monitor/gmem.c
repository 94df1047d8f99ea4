/* monitor/gmem.c - the one checked accessor for guest-physical memory, used by
 * the monitor and by the VMM for hypercall records.
 */
#include "gmem.h"

#include <string.h>

bool gmem_contains(const struct gmem *m, gpa_t gpa, uint64_t len)
{
	if (m == NULL || m->base == NULL)
		return false;
	if (gpa > m->size)
		return false;
	return len <= m->size - gpa;
}

int gmem_read_aligned(const struct gmem *m, gpa_t gpa, void *dst, size_t len, size_t align)
{
	if (m == NULL || m->base == NULL || (dst == NULL && len != 0))
		return GMEM_EINVAL;
	if (align == 0 || (align & (align - 1)) != 0)
		return GMEM_EINVAL;
	if ((gpa & (align - 1)) != 0)
		return GMEM_EALIGN;
	if (!gmem_contains(m, gpa, len))
		return GMEM_ERANGE;
	if (len != 0)
		memcpy(dst, m->base + gpa, len);
	return GMEM_OK;
}

int gmem_read(const struct gmem *m, gpa_t gpa, void *dst, size_t len)
{
	return gmem_read_aligned(m, gpa, dst, len, 1);
}

static uint64_t le_bytes(const uint8_t *b, unsigned width)
{
	uint64_t v = 0;
	for (unsigned i = width; i-- > 0;)
		v = (v << 8) | b[i];
	return v;
}

#define GMEM_READ_INT(name, type)                                          \
	int name(const struct gmem *m, gpa_t gpa, type *v)                 \
	{                                                                  \
		uint8_t b[sizeof(type)];                                   \
		int err = gmem_read_aligned(m, gpa, b, sizeof b, sizeof b); \
		if (err == GMEM_OK)                                        \
			*v = (type)le_bytes(b, sizeof b);                  \
		return err;                                                \
	}

GMEM_READ_INT(gmem_read_u8, uint8_t)
GMEM_READ_INT(gmem_read_u16, uint16_t)
GMEM_READ_INT(gmem_read_u32, uint32_t)
GMEM_READ_INT(gmem_read_u64, uint64_t)

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
