/* src/report/html.h - text read from an output directory (stats.json, report.json,
 * plot_data.csv: untrusted) written into an HTML page as text, never as markup. */
#ifndef PTSHADOW_HTML_H
#define PTSHADOW_HTML_H

#include <stddef.h>
#include <stdio.h>

/*
 * s as HTML text, at most max bytes of it (then "..."): & < > " ' become
 * entities, so it is safe in an element and in a quoted attribute; every
 * byte that is not printable ASCII appears as \xNN (as in report.txt), a
 * newline or tab as a blank.  NULL prints nothing.
 */
void html_text(FILE *f, const char *s, size_t max);
/* A name that may stand in a relative link as it is: 1 to 255 bytes of
 * [A-Za-z0-9._-], not starting with a dot.  1 or 0. */
int html_safe_name(const char *s);

#endif /* PTSHADOW_HTML_H */
