/* src/cov/cov.h - the guest pmap's edge coverage on the host: the guest image's
 * edges (its PC table, named by function and source line through libdw), the
 * map read from guest RAM, and what a campaign keeps of it (OUT/coverage.bin).
 *
 * Edge i is the i-th entry of the image's __sancov_pcs section and byte i of
 * the guest's map (struct pts_cov, include/ptshadow/abi.h).  A map on the
 * host is an array of nedges bytes, 0 or 1.  What the guest writes is read
 * through the checked accessor only and validated against the image; a bad
 * coverage header is an error for the caller to count, never a crash.
 */
#ifndef PTSHADOW_COV_H
#define PTSHADOW_COV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ptshadow/abi.h>

#include "gmem.h"

enum cov_mode {
	COV_OFF = 0,
	COV_REPORT, /* read the map, report reached edges (the default) */
	COV_GUIDE,  /* also keep a corpus of sequences that reached new edges, mutate them */
};
const char *cov_mode_name(enum cov_mode m);
int cov_mode_parse(const char *s, enum cov_mode *m); /* 0 or -1 */

struct cov_edge {
	uint64_t pc;
	uint32_t func; /* index into cov_image.func */
	uint32_t file; /* index into cov_image.file: the source of the line */
	uint32_t line; /* 0: no line known */
};

struct cov_func {
	char *name;
	uint32_t file; /* where it is defined */
	uint32_t line;
	uint32_t nedges;
};

struct cov_file {
	char *name; /* as written in the build, e.g. guest/pmap.c */
	char *path; /* where to read it: the compilation directory joined */
};

struct cov_image {
	char path[4096]; /* the guest image, absolute */
	uint64_t hash;   /* FNV-1a 64 of its bytes */
	uint64_t guards_kva;
	uint32_t nedges; /* 0: built without coverage */
	struct cov_edge *edge;
	struct cov_func *func;
	uint32_t nfuncs;
	struct cov_file *file;
	uint32_t nfiles;
};

/* Read the image's PC table and name every edge (libelf, libdw).  An image
 * without coverage sections loads with nedges 0.  0, or -1 with "PATH:
 * message" in err (not an ELF, a PC table that does not match its guards,
 * more than PTS_COV_MAX_EDGES edges). */
int cov_image_load(const char *path, struct cov_image *img, char *err, size_t errlen);
void cov_image_free(struct cov_image *img);

/* The guest's map as it is now, into map (img->nedges bytes, each set to 0
 * or 1): the descriptor at desc_gpa names it.  0; 1 when the guest states
 * no coverage (cov_pa 0); -1 with err when what it states is wrong (bad
 * header, version, edge count or guards address; a map outside RAM). */
int cov_harvest(const struct gmem *mem, uint64_t desc_gpa, const struct cov_image *img,
                uint8_t *map, char *err, size_t errlen);
/* dst |= src over n bytes; the number of edges new to dst */
uint32_t cov_merge(uint8_t *dst, const uint8_t *src, uint32_t n);
uint32_t cov_count(const uint8_t *map, uint32_t n);

/* ---- OUT/coverage.bin: the campaign's map and the image it belongs to ---- */

#define COV_SAVE_NAME "coverage.bin"

struct cov_saved {
	char guest[4096]; /* the image's path when the campaign ran */
	uint64_t hash;
	uint64_t guards_kva;
	uint32_t nedges;
	uint8_t *map; /* nedges bytes (free it) */
};

/* Write out/coverage.bin whole (beside, then renamed); 0 or -1 with err. */
int cov_save(const char *out, const struct cov_image *img, const uint8_t *map, char *err,
             size_t errlen);
/* Read it back, every field checked; 0 or -1 with "FILE: message". */
int cov_load_saved(const char *out, struct cov_saved *s, char *err, size_t errlen);

/* ---- reports ---- */

/* stats.json's "coverage" object (jansson json_t *), per function. */
void *cov_stats_json(enum cov_mode mode, const struct cov_image *img, const uint8_t *map);
/* The per-function table, sorted by file and line, with totals. */
void cov_print_table(FILE *f, const struct cov_image *img, const uint8_t *map);
/* dir/<basename>.txt for every source file with edges: each line of the
 * source with a mark for each edge on it (+ reached, - not).  0 or -1 with
 * err; a source that cannot be read is listed from the edges alone. */
int cov_write_listings(const char *dir, const struct cov_image *img, const uint8_t *map, char *err,
                       size_t errlen);

#endif /* PTSHADOW_COV_H */
