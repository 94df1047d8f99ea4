/* monitor/gmem.h - checked view of guest-physical memory.  Every byte the host
 * reads from the guest goes through gmem_read(): range, overflow, alignment.
 */
#ifndef MONITOR_GMEM_H
#define MONITOR_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <endian.h>
#include <string.h>

/* A guest-physical address: a number, never a host pointer. */
typedef uint64_t gpa_t;

/*
 * Guest RAM as one contiguous host mapping of [0, size).  page_dirty, when
 * set, tells whether the page at gpa may have changed since the last time the
 * provider's dirty log was harvested; NULL means "always assume dirty".
 * dirty_pfns, optional beside page_dirty, is the same log as a list of page
 * frame numbers (ndirty_pfns of them, each once): a reader can then visit the
 * written pages instead of asking about each page it holds.
 */
struct gmem {
	const uint8_t *base;
	uint64_t size;
	bool (*page_dirty)(void *ctx, gpa_t gpa);
	void *dirty_ctx;
	const uint64_t *dirty_pfns;
	uint64_t ndirty_pfns;
};

enum gmem_error {
	GMEM_OK = 0,
	GMEM_ERANGE = -1,  /* [gpa, gpa + len) not inside guest RAM */
	GMEM_EALIGN = -2,  /* gpa not aligned to the requested alignment */
	GMEM_EINVAL = -3,  /* bad arguments (NULL memory, alignment not a power of two) */
};

/* 0, or a negative enum gmem_error; dst is untouched on error. */
int gmem_read(const struct gmem *m, gpa_t gpa, void *dst, size_t len);
/* The same with an alignment requirement (a power of two, 1 = none). */
int gmem_read_aligned(const struct gmem *m, gpa_t gpa, void *dst, size_t len, size_t align);
/* Little-endian integers, naturally aligned. */
int gmem_read_u8(const struct gmem *m, gpa_t gpa, uint8_t *v);
int gmem_read_u16(const struct gmem *m, gpa_t gpa, uint16_t *v);
int gmem_read_u32(const struct gmem *m, gpa_t gpa, uint32_t *v);
int gmem_read_u64(const struct gmem *m, gpa_t gpa, uint64_t *v);
/* true if [gpa, gpa + len) lies inside guest RAM (no overflow). */
bool gmem_contains(const struct gmem *m, gpa_t gpa, uint64_t len);
/* true if the page holding gpa may have changed (see page_dirty); inline:
 * the incremental check asks for every page it shadows at every op */
static inline bool gmem_page_dirty(const struct gmem *m, gpa_t gpa)
{
	if (m == NULL || m->page_dirty == NULL)
		return true;
	return m->page_dirty(m->dirty_ctx, gpa);
}
const char *gmem_strerror(int err);

/* Little-endian field of width 1, 2, 4 or 8 from a host copy of a structure. */
static inline uint64_t le_field(const uint8_t *buf, uint32_t off, unsigned width)
{
	uint64_t v = 0;
	uint32_t w;
	if (width == 8) {
		memcpy(&v, buf + off, 8);
		return le64toh(v);
	}
	if (width == 4) {
		memcpy(&w, buf + off, 4);
		return le32toh(w);
	}
	for (unsigned i = width; i-- > 0;)
		v = (v << 8) | buf[off + i];
	return v;
}

#endif /* MONITOR_GMEM_H */
