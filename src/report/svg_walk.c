/* src/report/svg_walk.c - walk.svg: a finding's page-table walks, entry by
 * entry before and after the op, beside the pages, pv lists and counters of
 * its objects, drawn from report.json alone (never from the guest).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "svg.h"
#include "svg_doc.h"

#define WIDTH   1160.0
#define BOX_W   270.0
#define BOX_GAP 20.0
#define INDENT  "        "

static const char *const level_names[5] = {"?", "PT", "PD", "PDPT", "PML4"};
static const char *const grid[] = {"P", "RW", "US", "A", "D", "NX", "G", "PS"};
#define NGRID (sizeof(grid) / sizeof(grid[0]))

static const char *level_name(long long level)
{
	return level >= 1 && level <= 4 ? level_names[level] : level_names[0];
}

/* is name a blank-separated word of flags? */
static bool has_flag(const char *flags, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = flags; (p = strstr(p, name)) != NULL; p += n)
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static bool in_grid(const char *word, size_t n)
{
	for (size_t i = 0; i < NGRID; i++)
		if (strlen(grid[i]) == n && strncmp(grid[i], word, n) == 0)
			return true;
	return false;
}

/* P RW US A D NX G PS, each set (bold) or clear (grey), orange where other
 * (the entry's other state, or NULL) differs; then the other words (W,
 * PVLIST, PAT, PWT, PCD, RSVD) */
static void flag_line(struct svg_doc *d, double x, double y, const char *flags, const char *other)
{
	svg_line_open(d, x, y, NULL);
	svg_span(d, NULL, INDENT);
	for (size_t i = 0; i < NGRID; i++) {
		bool on = has_flag(flags, grid[i]);
		bool flip = other != NULL && on != has_flag(other, grid[i]);
		svg_span(d, flip ? (on ? "flip" : "gone") : on ? "on" : "off", "%s", grid[i]);
		svg_span(d, NULL, " ");
	}
	for (const char *p = flags; *p != '\0' && p - flags < 96;) {
		size_t n = strcspn(p, " ");
		char word[16];
		snprintf(word, sizeof(word), "%.*s", (int)(n < 15 ? n : 15), p);
		if (n > 0 && !in_grid(p, n) && !(n == 1 && *p == '-'))
			svg_span(d, other != NULL && !has_flag(other, word) ? "flip" : "on", "%s",
			         word);
		if (n > 0 && !in_grid(p, n) && !(n == 1 && *p == '-'))
			svg_span(d, NULL, " ");
		p += n;
		p += strspn(p, " ");
	}
	svg_line_close(d);
}

struct walk_ctx {
	const char *pmap, *va;
	bool before_known;
};

static bool step_changed(const json_t *st)
{
	return strcmp(svg_jstr(st, "before"), svg_jstr(st, "after")) != 0 ||
	       strcmp(svg_jstr(st, "table_before"), svg_jstr(st, "table_after")) != 0;
}

static void box_head(struct svg_doc *d, double x, double y, const json_t *st, bool wrong)
{
	const char *ta = svg_jstr(st, "table_after"), *tb = svg_jstr(st, "table_before");
	long long level = svg_jint(st, "level", 0);

	svg_line_open(d, x, y, "h2");
	svg_span(d, NULL, "%s[%lld]", level_name(level), svg_jint(st, "index", -1));
	svg_span(d, "dim", " table %s", ta[0] ? ta : "none");
	if (wrong)
		svg_span(d, "bad", "  WRONG");
	svg_line_close(d);
	if (strcmp(ta, tb) != 0)
		svg_text(d, x, y + SVG_LINE, "dim", INDENT "before: table %s", tb[0] ? tb : "none");
}

/* the entry in one state (before or after): value, flags, frame; where the
 * other state (NULL: unchanged) differs, the frame in orange, and in the
 * after line the flags the op set or cleared */
static void box_state(struct svg_doc *d, double x, double y, const json_t *st, const char *what,
                      const char *other)
{
	char key[24], okey[24];
	const char *pa;
	bool flip;

	svg_text(d, x, y, NULL, "%-8s%s", what, svg_jstr(st, what));
	snprintf(key, sizeof(key), "%s_flags", what);
	snprintf(okey, sizeof(okey), "%s_flags", other ? other : what);
	/* the after line shows what the op set and cleared; the before line as it was */
	flag_line(d, x, y + SVG_LINE, svg_jstr(st, key),
	          other && strcmp(what, "after") == 0 ? svg_jstr(st, okey) : NULL);
	snprintf(key, sizeof(key), "%s_pa", what);
	snprintf(okey, sizeof(okey), "%s_pa", other ? other : what);
	pa = svg_jstr(st, key);
	flip = strcmp(pa, svg_jstr(st, okey)) != 0;
	svg_line_open(d, x, y + 2 * SVG_LINE, "dim");
	svg_span(d, NULL, INDENT "pa ");
	svg_span(d, flip ? "flip" : NULL, "%s", pa);
	svg_line_close(d);
}

static void entry_box(struct svg_doc *d, double x, double y, const json_t *st,
                      const struct walk_ctx *w)
{
	bool wrong = json_is_true(json_object_get(st, "wrong")), changed = step_changed(st);
	const char *ta = svg_jstr(st, "table_after"), *tb = svg_jstr(st, "table_before");
	char level[24], index[24];
	double tx = x + 8, ty = y + 4 + (strcmp(ta, tb) != 0 ? SVG_LINE : 0);

	snprintf(level, sizeof(level), "%lld", svg_jint(st, "level", 0));
	snprintf(index, sizeof(index), "%lld", svg_jint(st, "index", -1));
	svg_group(d,
	          wrong     ? (changed ? "entry wrong changed" : "entry wrong")
	          : changed ? "entry changed"
	                    : "entry",
	          "data-pmap", w->pmap, "data-va", w->va, "data-level", level, "data-index", index,
	          "data-table", ta[0] ? ta : tb, "data-before", svg_jstr(st, "before"),
	          "data-after", svg_jstr(st, "after"), NULL);
	svg_rect(d, x, y, BOX_W, 8 * SVG_LINE + 8,
	         wrong              ? "box-bad"
	         : !ta[0] && !tb[0] ? "box-none"
	                            : "box");
	box_head(d, tx, y + 4, st, wrong);
	ty += SVG_LINE;
	if (ta[0])
		box_state(d, tx, ty, st, "after", changed ? "before" : NULL);
	else
		svg_text(d, tx, ty, "dim", "after   no table at this level");
	ty += 3 * SVG_LINE;
	if (!w->before_known)
		svg_text(d, tx, ty, "dim", "before  (no earlier state: registration)");
	else if (!changed)
		svg_text(d, tx, ty, "dim", "before  unchanged by the op");
	else if (tb[0])
		box_state(d, tx, ty, st, "before", "after");
	else
		svg_text(d, tx, ty, "dim", "before  no table at this level");
	svg_group_end(d);
}

static void draw_walk(struct svg_doc *d, const json_t *walk, unsigned n)
{
	const json_t *path = json_object_get(walk, "path");
	char pmap[32];
	struct walk_ctx w = {svg_jpmap(walk, pmap, sizeof(pmap)), svg_jstr(walk, "va"),
	                     !json_is_false(json_object_get(walk, "before_known"))};
	size_t steps = json_array_size(path);
	const char *why = svg_jstr(walk, "why");
	double x = SVG_MARGIN;

	svg_group(d, "walk", "data-pmap", w.pmap, "data-va", w.va, NULL);
	svg_line_open(d, SVG_MARGIN, d->y, "h2");
	svg_span(d, NULL, "walk %u: pmap %s, va %s (PML4 -> PDPT -> PD -> PT)", n, w.pmap, w.va);
	if (strcmp(why, "mapping") == 0)
		svg_span(d, "dim", "  a mapping of the page below (no object names a VA)");
	else if (strcmp(why, "changed") == 0)
		svg_span(d, "dim",
		         "  a leaf the op changed in the pmap below (no object names a VA)");
	svg_line_close(d);
	d->y += SVG_LINE + 4;
	for (size_t i = 0; i < steps && i < 4; i++) {
		if (i > 0)
			svg_arrow(d, x - BOX_GAP + 2, d->y + 2.5 * SVG_LINE, x - 2,
			          d->y + 2.5 * SVG_LINE);
		entry_box(d, x, d->y, json_array_get(path, i), &w);
		x += BOX_W + BOX_GAP;
	}
	if (steps == 0)
		svg_text(d, SVG_MARGIN, d->y, "dim", "(no table on the way)");
	d->y += (steps ? 8 * SVG_LINE + 8 : SVG_LINE) + 12;
	svg_group_end(d);
}

static void draw_walks(struct svg_doc *d, const json_t *report)
{
	const json_t *walks = json_object_get(report, "walks");
	size_t n = json_array_size(walks);
	long long more = svg_jint(report, "walks_more", 0);

	for (size_t i = 0; i < n && i < SVG_MAX_WALKS; i++)
		draw_walk(d, json_array_get(walks, i), (unsigned)i + 1);
	if (n > SVG_MAX_WALKS)
		more += (long long)(n - SVG_MAX_WALKS);
	if (more > 0) {
		svg_text(d, SVG_MARGIN, d->y, "dim", "… %lld more walks (report.json)", more);
		d->y += SVG_LINE;
	}
	if (n > 0) {
		svg_line_open(d, SVG_MARGIN, d->y, "dim");
		svg_span(d, NULL, "flags: ");
		svg_span(d, "on", "set");
		svg_span(d, NULL, ", ");
		svg_span(d, "off", "clear");
		svg_span(d, NULL, ", ");
		svg_span(d, "flip", "set by the op");
		svg_span(d, NULL, ", ");
		svg_span(d, "gone", "cleared by the op");
		svg_span(d, NULL, "; red: the entry the invariant names");
		svg_line_close(d);
		d->y += SVG_LINE + 8;
		return;
	}
	svg_group(d, "nowalk", NULL);
	svg_text(d, SVG_MARGIN, d->y, "h2", "no walk for this finding: %s",
	         json_array_size(json_object_get(report, "objects")) == 0
	             ? "it names no page-table object (the guest's death, or a result)"
	             : "its objects name no VA of a live pmap");
	svg_group_end(d);
	d->y += SVG_LINE + 8;
}

static void draw_head(struct svg_doc *d, const json_t *report)
{
	const char *id = svg_jstr(report, "invariant"), *name = svg_jstr(report, "name");

	svg_group(d, "invariant", "data-id", id, "data-name", name, NULL);
	svg_text(d, SVG_MARGIN, d->y, "h1", "%s %s", id, name);
	svg_group_end(d);
	d->y += SVG_LINE + 8;
	svg_text(d, SVG_MARGIN, d->y, NULL, "op #%lld: %s", svg_jint(report, "op_index", -1),
	         svg_jstr(report, "op"));
	d->y += SVG_LINE;
	svg_para(d, SVG_MARGIN, NULL, svg_jstr(report, "message"));
	svg_text(d, SVG_MARGIN, d->y, "dim", "signature %s   %s", svg_jstr(report, "signature"),
	         svg_jstr(report, "title"));
	d->y += SVG_LINE + 12;
}

int svg_finding(const json_t *report, FILE *out)
{
	struct svg_doc d;
	char title[256], op_index[24];

	if (svg_open(&d, WIDTH) != 0)
		return -1;
	draw_head(&d, report);
	draw_walks(&d, report);
	svg_objects(&d, report);
	snprintf(title, sizeof(title), "%s %s", svg_jstr(report, "invariant"),
	         svg_jstr(report, "name"));
	snprintf(op_index, sizeof(op_index), "%lld", svg_jint(report, "op_index", -1));
	return svg_close(&d, out, "finding", title, "data-invariant", svg_jstr(report, "invariant"),
	                 "data-name", svg_jstr(report, "name"), "data-signature",
	                 svg_jstr(report, "signature"), "data-op-index", op_index, NULL);
}
