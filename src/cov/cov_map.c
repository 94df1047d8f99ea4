/* src/cov/cov_map.c - the guest's coverage map read out of guest RAM: the
 * descriptor's cov_pa names a struct pts_cov, which must agree with the
 * image (version, edge count, guards address) before its map is read.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cov.h"

static const char *const mode_names[] = {
    [COV_OFF] = "off",
    [COV_REPORT] = "report",
    [COV_GUIDE] = "guide",
};

const char *cov_mode_name(enum cov_mode m)
{
	return (unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "?";
}

int cov_mode_parse(const char *s, enum cov_mode *m)
{
	for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*m = (enum cov_mode)i;
			return 0;
		}
	return -1;
}

/* The guest's header, checked against the image; 0, 1 (none stated) or -1. */
static int read_header(const struct gmem *mem, uint64_t desc_gpa, const struct cov_image *img,
                       struct pts_cov *h, char *err, size_t errlen)
{
	uint64_t cov_pa;

	if (gmem_read_u64(mem, desc_gpa + offsetof(struct pts_descriptor, cov_pa), &cov_pa) !=
	    GMEM_OK) {
		snprintf(err, errlen, "coverage: descriptor at %#llx is outside guest RAM",
		         (unsigned long long)desc_gpa);
		return -1;
	}
	if (cov_pa == 0)
		return 1;
	if (gmem_read_aligned(mem, cov_pa, h, sizeof(*h), 8) != GMEM_OK) {
		snprintf(err, errlen, "coverage: header at %#llx is outside guest RAM or unaligned",
		         (unsigned long long)cov_pa);
		return -1;
	}
	if (h->magic != PTS_COV_MAGIC || h->version != PTS_COV_VERSION) {
		snprintf(err, errlen, "coverage: header magic %#x version %u (want %#x, %u)",
		         h->magic, h->version, PTS_COV_MAGIC, PTS_COV_VERSION);
		return -1;
	}
	if (h->nedges != img->nedges || h->guards_kva != img->guards_kva) {
		snprintf(
		    err, errlen,
		    "coverage: the guest states %u edges with guards at %#llx, its image %u at "
		    "%#llx",
		    h->nedges, (unsigned long long)h->guards_kva, img->nedges,
		    (unsigned long long)img->guards_kva);
		return -1;
	}
	return 0;
}

int cov_harvest(const struct gmem *mem, uint64_t desc_gpa, const struct cov_image *img,
                uint8_t *map, char *err, size_t errlen)
{
	struct pts_cov h;
	uint8_t buf[4096];
	int rc;

	if (img->nedges == 0)
		return 1;
	rc = read_header(mem, desc_gpa, img, &h, err, errlen);
	if (rc != 0)
		return rc;
	if (!gmem_contains(mem, h.map_pa, h.nedges)) {
		snprintf(err, errlen, "coverage: map [%#llx, +%u) is outside guest RAM",
		         (unsigned long long)h.map_pa, h.nedges);
		return -1;
	}
	for (uint32_t done = 0; done < h.nedges;) {
		uint32_t n = h.nedges - done < sizeof(buf) ? h.nedges - done : sizeof(buf);
		if (gmem_read(mem, h.map_pa + done, buf, n) != GMEM_OK) {
			snprintf(err, errlen, "coverage: map at %#llx is outside guest RAM",
			         (unsigned long long)(h.map_pa + done));
			return -1;
		}
		for (uint32_t i = 0; i < n; i++)
			map[done + i] = buf[i] != 0;
		done += n;
	}
	return 0;
}

uint32_t cov_merge(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	uint32_t fresh = 0;

	for (uint32_t i = 0; i < n; i++)
		if (src[i] && !dst[i]) {
			dst[i] = 1;
			fresh++;
		}
	return fresh;
}

uint32_t cov_count(const uint8_t *map, uint32_t n)
{
	uint32_t c = 0;

	for (uint32_t i = 0; i < n; i++)
		c += map[i] != 0;
	return c;
}
