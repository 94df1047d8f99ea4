/* src/cov/cov_save.c - OUT/coverage.bin: a campaign's merged map with the
 * guest image it belongs to (path, FNV-1a hash, guards address), so that
 * `ptshadow coverage OUT/` can name the edges later.  Little-endian:
 *
 *   "PTSCOV\r\n"  u32 version (1)  u32 nedges  u64 hash  u64 guards_kva
 *   u32 path_len  path bytes (no NUL)  nedges bytes (0 or 1)
 *
 * Read back as any input: sizes checked against the file before use.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cov.h"
#include "util.h"

#define SAVE_MAGIC   "PTSCOV\r\n"
#define SAVE_VERSION 1u
#define SAVE_HEADER  (8 + 4 + 4 + 8 + 8 + 4)

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

int cov_save(const char *out, const struct cov_image *img, const uint8_t *map, char *err,
             size_t errlen)
{
	size_t plen = strlen(img->path), len = SAVE_HEADER + plen + img->nedges;
	char path[PATH_MAX];
	uint8_t *buf = malloc(len);
	int rc;

	snprintf(path, sizeof(path), "%s/%s", out, COV_SAVE_NAME);
	if (buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	memcpy(buf, SAVE_MAGIC, 8);
	put32(buf + 8, SAVE_VERSION);
	put32(buf + 12, img->nedges);
	put64(buf + 16, img->hash);
	put64(buf + 24, img->guards_kva);
	put32(buf + 32, (uint32_t)plen);
	memcpy(buf + SAVE_HEADER, img->path, plen);
	for (uint32_t i = 0; i < img->nedges; i++)
		buf[SAVE_HEADER + plen + i] = map[i] != 0;
	rc = write_file_atomic(path, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* The file, at most max bytes (free it); NULL with err */
static uint8_t *slurp(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	*len = buf != NULL ? fread(buf, 1, max + 1, f) : 0;
	if (buf == NULL || ferror(f) || *len > max) {
		snprintf(err, errlen, "%s: %s", path,
		         buf == NULL ? "out of memory"
		         : ferror(f) ? "cannot read it"
		                     : "too large for a coverage file");
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int bad(const char *path, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: not a ptshadow coverage file (%s)", path, what);
	return -1;
}

int cov_load_saved(const char *out, struct cov_saved *s, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t len, plen;
	uint8_t *buf;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/%s", out, COV_SAVE_NAME);
	buf = slurp(path, SAVE_HEADER + sizeof(s->guest) + PTS_COV_MAX_EDGES, &len, err, errlen);
	if (buf == NULL)
		return -1;
	if (len < SAVE_HEADER || memcmp(buf, SAVE_MAGIC, 8) != 0) {
		free(buf);
		return bad(path, "no header", err, errlen);
	}
	s->nedges = get32(buf + 12);
	s->hash = get64(buf + 16);
	s->guards_kva = get64(buf + 24);
	plen = get32(buf + 32);
	if (get32(buf + 8) != SAVE_VERSION || s->nedges == 0 || s->nedges > PTS_COV_MAX_EDGES ||
	    plen == 0 || plen >= sizeof(s->guest) || len != SAVE_HEADER + plen + s->nedges ||
	    memchr(buf + SAVE_HEADER, '\0', plen) != NULL) {
		free(buf);
		return bad(path, "its sizes do not add up", err, errlen);
	}
	memcpy(s->guest, buf + SAVE_HEADER, plen);
	s->map = malloc(s->nedges);
	if (s->map == NULL) {
		free(buf);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	for (uint32_t i = 0; i < s->nedges; i++)
		s->map[i] = buf[SAVE_HEADER + plen + i] != 0;
	free(buf);
	return 0;
}
