/* src/report/svg_doc.h - the SVG document the pictures are drawn into: text
 * XML-escaped on the way in, a cursor that moves down the page, and the
 * header written last, when the height is known.  Internal to src/report/.
 */
#ifndef PTSHADOW_SVG_DOC_H
#define PTSHADOW_SVG_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SVG_LINE       15.0 /* a line of 12 px monospace text */
#define SVG_CHAR       7.3  /* the width of one of its characters */
#define SVG_MARGIN     16.0
#define SVG_PARA_LINES 8 /* svg_para's lines at most */

struct svg_doc {
	FILE *body;
	char *buf;
	size_t len;
	double width;
	double y; /* the top of the next free line */
};

/* a new document width px wide; 0, or -1 when out of memory */
int svg_open(struct svg_doc *d, double width);
/*
 * The whole document into out: the XML declaration, <svg> with its size,
 * class cls and the attributes of the NULL-terminated (name, value) list,
 * the style sheet, the title, the body.  Frees d.  0, or -1 when out fails.
 */
int svg_close(struct svg_doc *d, FILE *out, const char *cls, const char *title, ...);

/* s as XML character data or attribute value: & < > " ' as entities, bytes
 * that are not printable ASCII or valid UTF-8 (control bytes: XML has no
 * place for them) as the text \xNN */
void svg_escape(FILE *f, const char *s);

/* <g class="cls" name="value" ...>: a NULL-terminated (name, value) list */
void svg_group(struct svg_doc *d, const char *cls, ...);
void svg_group_end(struct svg_doc *d);
void svg_rect(struct svg_doc *d, double x, double y, double w, double h, const char *cls);
void svg_arrow(struct svg_doc *d, double x1, double y1, double x2, double y2);
/* one line of text, its baseline a line below y; printf-style, escaped */
void svg_text(struct svg_doc *d, double x, double y, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* text at the cursor, wrapped at the page's width (SVG_PARA_LINES at most),
 * the cursor moved below it */
void svg_para(struct svg_doc *d, double x, const char *cls, const char *text);
/* a line made of spans: open, spans (escaped), close */
void svg_line_open(struct svg_doc *d, double x, double y, const char *cls);
void svg_span(struct svg_doc *d, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void svg_line_close(struct svg_doc *d);

/* a finding's objects (svg_objects.c), at the cursor */
void svg_objects(struct svg_doc *d, const json_t *report);

/* members of report.json-like objects: "" / def when absent or of another type */
const char *svg_jstr(const json_t *o, const char *key);
long long svg_jint(const json_t *o, const char *key, long long def);
/* "kernel", a slot number, or "-" */
const char *svg_jpmap(const json_t *o, char *buf, size_t len);

#endif /* PTSHADOW_SVG_DOC_H */
