/* src/report/page_impl.h - the parts of the campaign page (page.c, page_chart.c,
 * page_findings.c): each writes one section and notes what it found missing. */
#ifndef PTSHADOW_PAGE_IMPL_H
#define PTSHADOW_PAGE_IMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plot.h"

#define PAGE_NOTES_MAX 32

/* What the page could not read, said at its top (one line each). */
struct page_notes {
	char line[PAGE_NOTES_MAX][256];
	unsigned n, dropped;
};

void page_note(struct page_notes *notes, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* the charts of ops/s and unique findings over time (plot_data.csv) */
void page_charts(FILE *f, const struct plot_data *pd);
/* the findings table (OUT/crashes/<sig>/) */
void page_findings(FILE *f, const char *out, struct page_notes *notes);

/* a member of a JSON object, if it has the type asked for */
const char *page_json_str(const json_t *o, const char *key);
bool page_json_u64(const json_t *o, const char *key, uint64_t *v);
bool page_json_num(const json_t *o, const char *key, double *v);
/* a count with thousands separators, "12,345" */
void page_count(FILE *f, uint64_t v);
/* a Unix time as "2026-12-07 10:23:20 UTC" */
void page_time(FILE *f, int64_t t);

#endif /* PTSHADOW_PAGE_IMPL_H */
