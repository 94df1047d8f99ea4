/* src/report/svg_objects.c - the objects of a finding under its walks: each
 * page with its md counters and pv list, each pmap with its counters, the
 * counters the invariant recounted (expected against found), the rest one
 * line each.  Counters and pv entries carry data- attributes for tests.
 */
#include <string.h>

#include "svg.h"
#include "svg_doc.h"

#define PANEL_X SVG_MARGIN
#define TEXT_X  (SVG_MARGIN + 10)

/* the counter objects of a finding, each drawn once: beside its page or pmap, else alone */
struct counters {
	const json_t *obj[SVG_MAX_OBJECTS];
	bool shown[SVG_MAX_OBJECTS];
	size_t n;
};

static const json_t *counter_named(struct counters *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!c->shown[i] && strcmp(svg_jstr(c->obj[i], "name"), name) == 0) {
			c->shown[i] = true;
			return c->obj[i];
		}
	return NULL;
}

/* one counter: found, and expected when a counter object recounted it */
static void counter_row(struct svg_doc *d, const char *name, long long found, const json_t *recount)
{
	char f[24], e[24];

	snprintf(f, sizeof(f), "%lld", recount ? svg_jint(recount, "found", found) : found);
	snprintf(e, sizeof(e), "%lld", svg_jint(recount, "expected", 0));
	if (recount != NULL)
		svg_group(d, "counter wrong", "data-name", name, "data-found", f, "data-expected",
		          e, NULL);
	else
		svg_group(d, "counter", "data-name", name, "data-found", f, NULL);
	if (recount != NULL)
		svg_rect(d, TEXT_X - 4, d->y, 520, SVG_LINE, "hit");
	svg_line_open(d, TEXT_X, d->y, NULL);
	svg_span(d, NULL, "%-18s found %-8s", name, f);
	if (recount != NULL)
		svg_span(d, "bad", "expected %s", e);
	svg_line_close(d);
	svg_group_end(d);
	d->y += SVG_LINE;
}

/* is (pmap, va) the start of one of the finding's walks? */
static bool on_walk(const json_t *report, const char *pmap, const char *va)
{
	const json_t *walks = json_object_get(report, "walks");
	char buf[32];

	for (size_t i = 0; i < json_array_size(walks); i++) {
		const json_t *w = json_array_get(walks, i);
		if (strcmp(svg_jpmap(w, buf, sizeof(buf)), pmap) == 0 &&
		    strcmp(svg_jstr(w, "va"), va) == 0)
			return true;
	}
	return false;
}

static void pv_rows(struct svg_doc *d, const json_t *report, const json_t *page)
{
	const json_t *pv = json_object_get(page, "pv_list");
	size_t n = json_array_size(pv);
	long long more =
	    svg_jint(page, "pv_more", 0) + (n > SVG_MAX_PV ? (long long)(n - SVG_MAX_PV) : 0);
	char pmap[32];

	svg_text(d, TEXT_X, d->y, NULL, "pv list: %s", n ? "" : "empty");
	d->y += SVG_LINE;
	for (size_t i = 0; i < n && i < SVG_MAX_PV; i++) {
		const json_t *e = json_array_get(pv, i);
		bool hit = on_walk(report, svg_jpmap(e, pmap, sizeof(pmap)), svg_jstr(e, "va"));
		svg_group(d, hit ? "pv on-walk" : "pv", "data-pmap", pmap, "data-va",
		          svg_jstr(e, "va"), NULL);
		svg_text(d, TEXT_X + 20, d->y, NULL, "(pmap %s, va %s)%s", pmap, svg_jstr(e, "va"),
		         hit ? "   <- a walk above" : "");
		svg_group_end(d);
		d->y += SVG_LINE;
	}
	if (more > 0) {
		svg_text(d, TEXT_X + 20, d->y, "dim", "… %lld more", more);
		d->y += SVG_LINE;
	}
}

static size_t page_lines(const json_t *page)
{
	const json_t *pv = json_object_get(page, "pv_list");
	size_t n = json_array_size(pv);

	if (json_object_get(page, "md") == NULL)
		return 2;
	return 4 + (n < SVG_MAX_PV ? n : SVG_MAX_PV) +
	       (svg_jint(page, "pv_more", 0) > 0 || n > SVG_MAX_PV);
}

static void draw_page(struct svg_doc *d, const json_t *report, const json_t *page,
                      struct counters *c)
{
	const json_t *md = json_object_get(page, "md");
	long long pg = svg_jint(page, "page", -1);
	char pgname[32] = "";

	if (pg >= 0)
		snprintf(pgname, sizeof(pgname), "pg%lld ", pg);
	svg_group(d, "page", "data-pa", svg_jstr(page, "pa"), NULL);
	svg_rect(d, PANEL_X, d->y, d->width - 2 * SVG_MARGIN, page_lines(page) * SVG_LINE + 8,
	         "panel");
	d->y += 4;
	svg_line_open(d, TEXT_X, d->y, "h2");
	svg_span(d, NULL, "page %spa %s", pgname, svg_jstr(page, "pa"));
	if (md != NULL)
		svg_span(d, "dim", "   usage %lld, attrs 0x%llx, flags 0x%llx",
		         svg_jint(md, "usage", 0), svg_jint(md, "attrs", 0),
		         svg_jint(md, "flags", 0));
	svg_line_close(d);
	d->y += SVG_LINE;
	if (md == NULL) {
		svg_text(d, TEXT_X, d->y, "dim", "%s", svg_jstr(page, "detail"));
		d->y += SVG_LINE + 8;
		svg_group_end(d);
		return;
	}
	counter_row(d, "pmap_count", svg_jint(md, "pmap_count", 0), counter_named(c, "pmap_count"));
	counter_row(d, "writeable_count", svg_jint(md, "writeable_count", 0),
	            counter_named(c, "writeable_count"));
	pv_rows(d, report, page);
	d->y += 8;
	svg_group_end(d);
}

static void draw_pmap(struct svg_doc *d, const json_t *pm, struct counters *c)
{
	static const char *const fields[3][2] = {
	    {"resident", "resident_count"}, {"wired", "wired_count"}, {"ptp_count", "ptp_count"}};
	char slot[32];

	svg_group(d, "pmap", "data-pmap", svg_jpmap(pm, slot, sizeof(slot)), NULL);
	svg_rect(d, PANEL_X, d->y, d->width - 2 * SVG_MARGIN, 4 * SVG_LINE + 8, "panel");
	d->y += 4;
	svg_line_open(d, TEXT_X, d->y, "h2");
	svg_span(d, NULL, "pmap %s", slot);
	svg_span(d, "dim", "   root %s, kva %s", svg_jstr(pm, "root"), svg_jstr(pm, "kva"));
	svg_line_close(d);
	d->y += SVG_LINE;
	for (size_t i = 0; i < 3; i++)
		counter_row(d, fields[i][1], svg_jint(pm, fields[i][0], 0),
		            counter_named(c, fields[i][1]));
	d->y += 8;
	svg_group_end(d);
}

/* a pte, pv, ptp, pool page, TLB or op object: its fields on one line, its detail on another */
static void draw_other(struct svg_doc *d, const json_t *o)
{
	const char *keys[] = {"va", "level", "pa", "kva", "pte_old", "pte_new"};
	char pmap[32];

	svg_group(d, "object", "data-kind", svg_jstr(o, "kind"), NULL);
	svg_line_open(d, TEXT_X, d->y, NULL);
	svg_span(d, "h2", "%s", svg_jstr(o, "kind"));
	if (json_object_get(o, "pmap") != NULL)
		svg_span(d, NULL, "  pmap %s", svg_jpmap(o, pmap, sizeof(pmap)));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(o, keys[i]);
		if (json_is_string(v))
			svg_span(d, NULL, "  %s %s", keys[i], json_string_value(v));
		else if (json_is_integer(v))
			svg_span(d, NULL, "  %s %lld", keys[i], (long long)json_integer_value(v));
	}
	svg_line_close(d);
	d->y += SVG_LINE;
	if (svg_jstr(o, "detail")[0] != '\0') {
		svg_text(d, TEXT_X + 20, d->y, "dim", "%.140s", svg_jstr(o, "detail"));
		d->y += SVG_LINE;
	}
	svg_group_end(d);
}

void svg_objects(struct svg_doc *d, const json_t *report)
{
	const json_t *objs = json_object_get(report, "objects");
	size_t n = json_array_size(objs), shown = n < SVG_MAX_OBJECTS ? n : SVG_MAX_OBJECTS;
	struct counters c = {.n = 0};

	if (n == 0)
		return;
	svg_text(d, SVG_MARGIN, d->y, "h2", "objects (report.json)");
	d->y += SVG_LINE + 4;
	for (size_t i = 0; i < shown; i++)
		if (strcmp(svg_jstr(json_array_get(objs, i), "kind"), "counter") == 0)
			c.obj[c.n++] = json_array_get(objs, i);
	for (size_t i = 0; i < shown; i++) {
		const json_t *o = json_array_get(objs, i);
		if (strcmp(svg_jstr(o, "kind"), "page") == 0)
			draw_page(d, report, o, &c);
		else if (strcmp(svg_jstr(o, "kind"), "pmap") == 0)
			draw_pmap(d, o, &c);
	}
	for (size_t i = 0; i < c.n; i++)
		if (!c.shown[i])
			counter_row(d, svg_jstr(c.obj[i], "name"), svg_jint(c.obj[i], "found", 0),
			            c.obj[i]);
	for (size_t i = 0; i < shown; i++) {
		const json_t *o = json_array_get(objs, i);
		const char *kind = svg_jstr(o, "kind");
		if (strcmp(kind, "page") != 0 && strcmp(kind, "pmap") != 0 &&
		    strcmp(kind, "counter") != 0)
			draw_other(d, o);
	}
	if (n > shown) {
		svg_text(d, SVG_MARGIN, d->y, "dim", "… %zu more objects (report.json)", n - shown);
		d->y += SVG_LINE;
	}
}
