/* lib/gmem.h - guest-physical memory as the host maps it, and the one
 * checked accessor (range, hole, overflow, alignment) that the monitor and
 * the VMM both go through: no guest-physical address is used unchecked.
 */
#ifndef PTSHADOW_LIB_GMEM_H
#define PTSHADOW_LIB_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <endian.h>
#include <string.h>

/* A guest-physical address: a number, never a host pointer. */
typedef uint64_t gpa_t;

/*
 * Guest RAM: guest-physical [0, size) mapped at base, less [hole_start,
 * hole_end) where a backend has no RAM (QEMU's PCI hole below 4 GiB;
 * hole_start == hole_end when there is none).  Nothing is mapped in the
 * hole: every access below refuses it.  The VMM (src/vm/) maps base and
 * writes boot data and the command ring through gmem_ptr(); the monitor
 * only reads, through gmem_read*().
 *
 * For the monitor's incremental check: page_dirty, when set, tells whether
 * the page at gpa may have changed since the last time the provider's dirty
 * log was harvested; NULL means "always assume dirty".  dirty_pfns, optional
 * beside page_dirty, is the same log as a list of page frame numbers
 * (ndirty_pfns of them, each once): a reader can then visit the written
 * pages instead of asking about each page it holds.
 */
struct gmem {
	uint8_t *base;
	uint64_t size;
	uint64_t hole_start, hole_end;
	bool (*page_dirty)(void *ctx, gpa_t gpa);
	void *dirty_ctx;
	const uint64_t *dirty_pfns;
	uint64_t ndirty_pfns;
};

enum gmem_error {
	GMEM_OK = 0,
	GMEM_ERANGE = -1, /* [gpa, gpa + len) not inside guest RAM (or in the hole) */
	GMEM_EALIGN = -2, /* gpa not aligned to the requested alignment */
	GMEM_EINVAL = -3, /* bad arguments (NULL memory, alignment not a power of two) */
};

/* The check every access makes: 0 when [gpa, gpa + len) lies in guest RAM,
 * clear of the hole, without overflow, and gpa is aligned to align (a power
 * of two, 1 = none); else a negative enum gmem_error. */
int gmem_check(const struct gmem *m, gpa_t gpa, uint64_t len, uint64_t align);
/* A host pointer to [gpa, gpa + len) when gmem_check passes, else NULL: for
 * the VMM, which writes boot data and shares the command ring in place. */
void *gmem_ptr(const struct gmem *m, gpa_t gpa, uint64_t len, uint64_t align);
/* Copy [gpa, gpa + len) out: 0, or a negative enum gmem_error; dst is
 * untouched on error. */
int gmem_read(const struct gmem *m, gpa_t gpa, void *dst, size_t len);
/* The same with an alignment requirement (a power of two, 1 = none). */
int gmem_read_aligned(const struct gmem *m, gpa_t gpa, void *dst, size_t len, size_t align);
/* A little-endian u64, naturally aligned. */
int gmem_read_u64(const struct gmem *m, gpa_t gpa, uint64_t *v);
/* true if [gpa, gpa + len) lies inside guest RAM (no overflow, not the hole). */
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

#endif /* PTSHADOW_LIB_GMEM_H */
