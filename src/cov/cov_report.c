/* src/cov/cov_report.c - what a map says about the image's functions:
 * stats.json's "coverage" object, the per-function table of `ptshadow
 * coverage`, and annotated source listings (a mark an edge on each line).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cov.h"

/* reached edges of each function (nfuncs entries; free it), NULL if no memory */
static uint32_t *func_hits(const struct cov_image *img, const uint8_t *map)
{
	uint32_t *hit = calloc(img->nfuncs + 1, sizeof(*hit));

	for (uint32_t i = 0; hit != NULL && i < img->nedges; i++)
		hit[img->edge[i].func] += map[i] != 0;
	return hit;
}

void *cov_stats_json(enum cov_mode mode, const struct cov_image *img, const uint8_t *map)
{
	uint32_t *hit = func_hits(img, map);
	json_t *funcs = json_array();

	for (uint32_t i = 0; hit != NULL && funcs != NULL && i < img->nfuncs; i++) {
		const struct cov_func *f = &img->func[i];
		json_array_append_new(funcs, json_pack("{s:s, s:s, s:i, s:i, s:i}", "name", f->name,
		                                       "file", img->file[f->file].name, "line",
		                                       (int)f->line, "edges", (int)f->nedges, "hit",
		                                       (int)hit[i]));
	}
	free(hit);
	return json_pack("{s:s, s:i, s:i, s:o}", "mode", cov_mode_name(mode), "edges_total",
	                 (int)img->nedges, "edges_hit", (int)cov_count(map, img->nedges),
	                 "functions", funcs);
}

static double pct(uint32_t hit, uint32_t n)
{
	return n ? 100.0 * hit / n : 0.0;
}

void cov_print_table(FILE *f, const struct cov_image *img, const uint8_t *map)
{
	uint32_t *hit = func_hits(img, map), file_edges = 0, file_hit = 0, total_hit = 0;

	if (hit == NULL)
		return;
	fprintf(f, "%-32s %-28s %6s %6s %6s\n", "function", "defined at", "edges", "hit", "%");
	for (uint32_t i = 0; i < img->nfuncs; i++) {
		const struct cov_func *fn = &img->func[i];
		char at[PATH_MAX + 16];
		snprintf(at, sizeof(at), "%s:%u", img->file[fn->file].name, fn->line);
		fprintf(f, "%-32s %-28s %6u %6u %5.1f%s\n", fn->name, at, fn->nedges, hit[i],
		        pct(hit[i], fn->nedges), hit[i] == 0 ? "  never reached" : "");
		file_edges += fn->nedges;
		file_hit += hit[i];
		total_hit += hit[i];
		if (i + 1 == img->nfuncs || img->func[i + 1].file != fn->file) {
			fprintf(f, "%-32s %-28s %6u %6u %5.1f\n\n", "  (file)",
			        img->file[fn->file].name, file_edges, file_hit,
			        pct(file_hit, file_edges));
			file_edges = file_hit = 0;
		}
	}
	fprintf(f, "%-32s %-28s %6u %6u %5.1f\n", "total", "", img->nedges, total_hit,
	        pct(total_hit, img->nedges));
	free(hit);
}

/* ---- listings ------------------------------------------------------------ */

static const struct cov_image *list_img;
static int edge_line_cmp(const void *a, const void *b)
{
	const struct cov_edge *x = &list_img->edge[*(const uint32_t *)a];
	const struct cov_edge *y = &list_img->edge[*(const uint32_t *)b];

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->pc < y->pc ? -1 : x->pc > y->pc;
}

/* the marks of the edges at *k.. on line ln; advances *k past them */
static void line_marks(const struct cov_image *img, const uint8_t *map, const uint32_t *ed,
                       uint32_t n, uint32_t *k, uint32_t ln, char *marks, size_t len)
{
	size_t used = 0;
	uint32_t extra = 0;

	marks[0] = '\0';
	for (; *k < n && img->edge[ed[*k]].line == ln; (*k)++) {
		if (used + 1 < len && used < 8) {
			marks[used++] = map[ed[*k]] ? '+' : '-';
			marks[used] = '\0';
		} else {
			extra++;
		}
	}
	if (extra > 0)
		snprintf(marks + used, len - used, "+%u", extra);
}

static void write_listing(FILE *out, const struct cov_image *img, const uint8_t *map, uint32_t file,
                          const uint32_t *ed, uint32_t n)
{
	FILE *src = fopen(img->file[file].path, "r");
	char marks[32], *text = NULL;
	size_t cap = 0;
	uint32_t k = 0, hit = 0, ln = 0;

	for (uint32_t i = 0; i < n; i++)
		hit += map[ed[i]] != 0;
	fprintf(out,
	        "# %s: %u of %u edges reached (%.1f%%); each mark is an edge: + reached, - not\n",
	        img->file[file].name, hit, n, pct(hit, n));
	while (k < n && img->edge[ed[k]].line == 0)
		k++; /* edges without a line are in the table only */
	if (src == NULL)
		fprintf(out, "# source not found at %s: lines with edges only\n",
		        img->file[file].path);
	while (src != NULL && getline(&text, &cap, src) >= 0) {
		ln++;
		line_marks(img, map, ed, n, &k, ln, marks, sizeof(marks));
		fprintf(out, "%6u %-10s| %s", ln, marks, text);
		if (text[0] == '\0' || text[strlen(text) - 1] != '\n')
			fputc('\n', out);
	}
	while (k < n) { /* beyond the source's end, or no source */
		ln = img->edge[ed[k]].line;
		line_marks(img, map, ed, n, &k, ln, marks, sizeof(marks));
		fprintf(out, "%6u %-10s|\n", ln, marks);
	}
	free(text);
	if (src != NULL)
		fclose(src);
}

/* the listing's file name: the source's basename, or its whole name with
 * '/' as '_' when another file with edges has the same basename */
static void listing_name(const struct cov_image *img, uint32_t file, const uint32_t *nedges,
                         char *buf, size_t len)
{
	const char *name = img->file[file].name, *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	for (uint32_t j = 0; j < img->nfiles; j++) {
		const char *o = img->file[j].name, *ob = strrchr(o, '/');
		if (j != file && nedges[j] > 0 && strcmp(ob ? ob + 1 : o, base) == 0) {
			snprintf(buf, len, "%s.txt", name);
			for (char *p = buf; *p; p++)
				if (*p == '/')
					*p = '_';
			return;
		}
	}
	snprintf(buf, len, "%s.txt", base);
}

int cov_write_listings(const char *dir, const struct cov_image *img, const uint8_t *map, char *err,
                       size_t errlen)
{
	uint32_t *order = calloc(img->nedges + 1, sizeof(*order));
	uint32_t *nedges = calloc(img->nfiles + 1, sizeof(*nedges)), at = 0;
	int rc = 0;

	if (order == NULL || nedges == NULL) {
		snprintf(err, errlen, "%s: out of memory", dir);
		rc = -1;
	}
	for (uint32_t i = 0; rc == 0 && i < img->nedges; i++)
		nedges[img->edge[i].file]++;
	for (uint32_t f = 0; rc == 0 && f < img->nfiles; f++) {
		char name[PATH_MAX], path[PATH_MAX * 2];
		uint32_t n = 0;
		FILE *out;
		if (nedges[f] == 0)
			continue;
		for (uint32_t i = 0; i < img->nedges; i++)
			if (img->edge[i].file == f)
				order[at + n++] = i;
		list_img = img;
		qsort(order + at, n, sizeof(*order), edge_line_cmp);
		listing_name(img, f, nedges, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		out = fopen(path, "w");
		if (out == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		write_listing(out, img, map, f, order + at, n);
		if (fclose(out) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
		}
		at += n;
	}
	free(order);
	free(nedges);
	return rc;
}
