/* src/report/svg_doc.c - the SVG document under the pictures: every text and
 * attribute value escaped as XML, a style sheet, the size written last.
 */
#include "svg_doc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char style[] =
    "text{font-family:'DejaVu Sans Mono',monospace;font-size:12px;fill:#222}"
    ".h1{font-size:18px;font-weight:bold}.h2{font-size:13px;font-weight:bold}"
    ".dim{fill:#888}.on{fill:#111;font-weight:bold}.off{fill:#c4c4c4}"
    ".flip{fill:#c25e00;font-weight:bold;text-decoration:underline}"
    ".gone{fill:#c25e00;text-decoration:line-through}"
    ".bad{fill:#c00;font-weight:bold}"
    ".box{fill:#f6f7f9;stroke:#9aa}.box-bad{fill:#fde8e8;stroke:#d00;stroke-width:2.5}"
    ".box-none{fill:#fff;stroke:#ccc;stroke-dasharray:4 3}"
    ".panel{fill:#fbfbf5;stroke:#bbb}.hit{fill:#fff0b3}.fold{fill:#888;font-style:italic}"
    ".arrow{stroke:#667;stroke-width:1.5;marker-end:url(#arrowhead)}";

int svg_open(struct svg_doc *d, double width)
{
	memset(d, 0, sizeof(*d));
	d->width = width;
	d->y = SVG_MARGIN;
	d->body = open_memstream(&d->buf, &d->len);
	return d->body != NULL ? 0 : -1;
}

/* the length of the UTF-8 sequence at s that XML takes (not a control
 * character, a surrogate, U+FFFE or U+FFFF, nor overlong), or 0 */
static size_t utf8_ok(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < 0xa0 || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

void svg_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n;
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if (*p >= 0x20 && *p < 0x7f) {
				fputc(*p, f);
			} else if ((n = utf8_ok(p)) != 0) {
				fwrite(p, 1, n, f);
				p += n;
				continue;
			} else {
				fprintf(f, "\\x%02x", *p);
			}
		}
		p++;
	}
}

/* name="value" for each pair of a NULL-terminated list */
static void attrs(FILE *f, va_list ap)
{
	const char *name, *value;

	while ((name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		fprintf(f, " %s=\"", name);
		svg_escape(f, value != NULL ? value : "");
		fputc('"', f);
	}
}

int svg_close(struct svg_doc *d, FILE *out, const char *cls, const char *title, ...)
{
	double h = d->y + SVG_MARGIN;
	va_list ap;
	int bad = fclose(d->body) != 0;

	fprintf(out,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	        "viewBox=\"0 0 %.0f %.0f\" class=\"",
	        d->width, h, d->width, h);
	svg_escape(out, cls);
	fputc('"', out);
	va_start(ap, title);
	attrs(out, ap);
	va_end(ap);
	fputs(">\n<title>", out);
	svg_escape(out, title);
	fprintf(out, "</title>\n<style>%s</style>\n", style);
	fputs("<defs><marker id=\"arrowhead\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" "
	      "refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#667\"/></marker>"
	      "</defs>\n",
	      out);
	fprintf(out, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", d->width, h);
	if (!bad && d->buf != NULL)
		fwrite(d->buf, 1, d->len, out);
	fputs("</svg>\n", out);
	free(d->buf);
	d->buf = NULL;
	return bad || ferror(out) ? -1 : 0;
}

void svg_group(struct svg_doc *d, const char *cls, ...)
{
	va_list ap;

	fputs("<g class=\"", d->body);
	svg_escape(d->body, cls);
	fputc('"', d->body);
	va_start(ap, cls);
	attrs(d->body, ap);
	va_end(ap);
	fputs(">\n", d->body);
}

void svg_group_end(struct svg_doc *d)
{
	fputs("</g>\n", d->body);
}

void svg_rect(struct svg_doc *d, double x, double y, double w, double h, const char *cls)
{
	fprintf(d->body,
	        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\" "
	        "class=\"%s\"/>\n",
	        x, y, w, h, cls);
}

void svg_arrow(struct svg_doc *d, double x1, double y1, double x2, double y2)
{
	fprintf(d->body,
	        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"arrow\"/>\n", x1, y1,
	        x2, y2);
}

void svg_line_open(struct svg_doc *d, double x, double y, const char *cls)
{
	fprintf(d->body, "<text x=\"%.1f\" y=\"%.1f\"", x, y + SVG_LINE - 3);
	if (cls != NULL && cls[0] != '\0')
		fprintf(d->body, " class=\"%s\"", cls);
	fputs(" xml:space=\"preserve\">", d->body);
}

static void vspan(struct svg_doc *d, const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return;
	svg_escape(d->body, s);
	free(s);
}

void svg_span(struct svg_doc *d, const char *cls, const char *fmt, ...)
{
	va_list ap;

	if (cls != NULL)
		fprintf(d->body, "<tspan class=\"%s\">", cls);
	va_start(ap, fmt);
	vspan(d, fmt, ap);
	va_end(ap);
	if (cls != NULL)
		fputs("</tspan>", d->body);
}

void svg_line_close(struct svg_doc *d)
{
	fputs("</text>\n", d->body);
}

void svg_text(struct svg_doc *d, double x, double y, const char *cls, const char *fmt, ...)
{
	va_list ap;

	svg_line_open(d, x, y, cls);
	va_start(ap, fmt);
	vspan(d, fmt, ap);
	va_end(ap);
	svg_line_close(d);
}

void svg_para(struct svg_doc *d, double x, const char *cls, const char *text)
{
	size_t width = (size_t)((d->width - x - SVG_MARGIN) / SVG_CHAR), len = strlen(text);
	const char *p = text;

	unsigned lines = 0;

	if (width < 20)
		width = 20;
	while (len > 0) {
		if (lines++ == SVG_PARA_LINES) { /* a picture is bounded whatever the text */
			svg_text(d, x, d->y, "dim", "… %zu more bytes", len);
			d->y += SVG_LINE;
			break;
		}
		size_t n = len;
		if (n > width) { /* break at the last blank that fits, else where it must */
			n = width;
			while (n > width / 2 && p[n] != ' ')
				n--;
			if (p[n] != ' ')
				n = width;
			while (n < len && (((unsigned char)p[n]) & 0xc0) == 0x80)
				n++; /* never inside a UTF-8 sequence */
		}
		svg_text(d, x, d->y, cls, "%.*s", (int)n, p);
		d->y += SVG_LINE;
		p += n;
		len -= n;
		while (len > 0 && *p == ' ')
			p++, len--;
	}
}

const char *svg_jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

long long svg_jint(const json_t *o, const char *key, long long def)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

const char *svg_jpmap(const json_t *o, char *buf, size_t len)
{
	const json_t *p = json_object_get(o, "pmap");

	if (json_is_string(p))
		snprintf(buf, len, "%s", json_string_value(p));
	else if (json_is_integer(p))
		snprintf(buf, len, "%lld", (long long)json_integer_value(p));
	else
		snprintf(buf, len, "-");
	return buf;
}
