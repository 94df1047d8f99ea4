/* src/report/page.h - OUT/index.html, a campaign's page: progress over time
 * (plot_data.csv), the jobs (stats.json), coverage per function, one row a
 * finding (crashes/).  One self-contained file: inline CSS and SVG, no
 * script, nothing fetched.  It is made from OUT alone, so it can be made
 * again at any time (`ptshadow report OUT`). */
#ifndef PTSHADOW_PAGE_H
#define PTSHADOW_PAGE_H

#include <stddef.h>
#include <stdio.h>

#define PAGE_FILE "index.html"

/* The page of out into f.  Everything read from out is untrusted: what is
 * missing or malformed is said on the page, never an error. */
void page_render(FILE *f, const char *out);
/* out/index.html, written beside and renamed: 0, or -1 with err naming the
 * file that could not be written. */
int page_write(const char *out, char *err, size_t errlen);

#endif /* PTSHADOW_PAGE_H */
