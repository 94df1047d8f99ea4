/* src/report/svg_pmap.c - a whole pmap as SVG (`ptshadow dump --svg`): each
 * table from the root down, indented by level, its non-empty entries one a
 * line and each run of empty entries folded into one ("entries 5–510 empty").
 */
#include <string.h>

#include "svg.h"
#include "svg_doc.h"

#define WIDTH  1160.0
#define INDENT 28.0

static const char *const level_names[5] = {"?", "PT", "PD", "PDPT", "PML4"};

/* the line for entries first..last, all zero */
static void fold_row(struct svg_doc *d, double x, long long first, long long last, bool draw)
{
	char a[24], b[24];

	if (!draw)
		return;
	snprintf(a, sizeof(a), "%lld", first);
	snprintf(b, sizeof(b), "%lld", last);
	svg_group(d, "fold", "data-first", a, "data-last", b, NULL);
	if (first == last)
		svg_text(d, x, d->y, "fold", "entry %lld empty", first);
	else
		svg_text(d, x, d->y, "fold", "entries %lld–%lld empty", first, last);
	svg_group_end(d);
}

static void entry_row(struct svg_doc *d, double x, const json_t *e, long long level, bool draw)
{
	const char *table = svg_jstr(e, "table");
	char lv[8], idx[24];

	if (!draw)
		return;
	snprintf(lv, sizeof(lv), "%lld", level);
	snprintf(idx, sizeof(idx), "%lld", svg_jint(e, "index", -1));
	svg_group(d, "entry", "data-level", lv, "data-index", idx, "data-va", svg_jstr(e, "va"),
	          "data-pte", svg_jstr(e, "pte"), NULL);
	svg_line_open(d, x, d->y, NULL);
	svg_span(d, "h2", "[%3lld]", svg_jint(e, "index", -1));
	svg_span(d, NULL, " %-18s", svg_jstr(e, "pte"));
	svg_span(d, "dim", " pa %-12s", svg_jstr(e, "pa"));
	svg_span(d, "on", " %-28s", svg_jstr(e, "flags"));
	if (table[0] != '\0' && level > 1 && level <= 4)
		svg_span(d, "dim", " -> %s%s%s", strcmp(table, "below") == 0 ? "" : table,
		         strcmp(table, "below") == 0 ? "" : " ", level_names[level - 1]);
	else
		svg_span(d, "dim", " va %s", svg_jstr(e, "va"));
	svg_line_close(d);
	svg_group_end(d);
}

/* the rows of a table: entries and folds; drawn at d->y on, or only counted */
static unsigned table_rows(struct svg_doc *d, double x, const json_t *t, bool draw)
{
	const json_t *entries = json_object_get(t, "entries");
	long long level = svg_jint(t, "level", 0), next = 0;
	long long more = svg_jint(t, "nonzero", 0) - (long long)json_array_size(entries);
	unsigned rows = 0;

	for (size_t i = 0; i < json_array_size(entries) && i < SVG_MAX_ROWS; i++) {
		const json_t *e = json_array_get(entries, i);
		long long idx = svg_jint(e, "index", next);
		if (idx > next) {
			fold_row(d, x, next, idx - 1, draw);
			d->y += draw ? SVG_LINE : 0;
			rows++;
		}
		entry_row(d, x, e, level, draw);
		d->y += draw ? SVG_LINE : 0;
		rows++;
		next = idx + 1;
	}
	if (json_array_size(entries) > SVG_MAX_ROWS)
		more += (long long)(json_array_size(entries) - SVG_MAX_ROWS);
	if (more > 0 && draw)
		svg_text(d, x, d->y, "dim", "… %lld more non-empty entries", more);
	else if (next < 512)
		fold_row(d, x, next, 511, draw);
	d->y += draw && (more > 0 || next < 512) ? SVG_LINE : 0;
	return rows + (more > 0 || next < 512);
}

static void draw_table(struct svg_doc *d, const json_t *t)
{
	long long level = svg_jint(t, "level", 0);
	double x = SVG_MARGIN + (4 - (level >= 1 && level <= 4 ? level : 4)) * INDENT;
	unsigned rows = table_rows(d, x + 10, t, false);
	char lv[8];

	snprintf(lv, sizeof(lv), "%lld", level);
	svg_group(d, "table", "data-level", lv, "data-pa", svg_jstr(t, "pa"), "data-va",
	          svg_jstr(t, "va"), NULL);
	svg_rect(d, x, d->y, d->width - SVG_MARGIN - x, (rows + 1) * SVG_LINE + 8, "box");
	d->y += 4;
	svg_line_open(d, x + 10, d->y, "h2");
	svg_span(d, NULL, "%s table %s", level >= 1 && level <= 4 ? level_names[level] : "?",
	         svg_jstr(t, "pa"));
	svg_span(d, "dim", "   from va %s, %lld non-empty entries", svg_jstr(t, "va"),
	         svg_jint(t, "nonzero", 0));
	svg_line_close(d);
	d->y += SVG_LINE;
	table_rows(d, x + 10, t, true);
	d->y += 4 + 6;
	svg_group_end(d);
}

int svg_pmap(const json_t *pmap, FILE *out)
{
	const json_t *tables = json_object_get(pmap, "tables");
	long long more = svg_jint(pmap, "tables_more", 0);
	const char *name = svg_jstr(pmap, "name");
	struct svg_doc d;
	char slot[32], title[128];

	if (svg_open(&d, WIDTH) != 0)
		return -1;
	svg_jpmap(pmap, slot, sizeof(slot));
	snprintf(title, sizeof(title), "pmap %s", name[0] ? name : slot);
	svg_text(&d, SVG_MARGIN, d.y, "h1", "%s", title);
	d.y += SVG_LINE + 8;
	svg_text(&d, SVG_MARGIN, d.y, NULL,
	         "slot %s, root %s: resident %lld, wired %lld, %lld page-table pages", slot,
	         svg_jstr(pmap, "root"), svg_jint(pmap, "resident", 0), svg_jint(pmap, "wired", 0),
	         svg_jint(pmap, "ptp_count", 0));
	d.y += SVG_LINE + 8;
	for (size_t i = 0; i < json_array_size(tables) && i < SVG_MAX_TABLES; i++)
		draw_table(&d, json_array_get(tables, i));
	if (json_array_size(tables) > SVG_MAX_TABLES)
		more += (long long)(json_array_size(tables) - SVG_MAX_TABLES);
	if (more > 0) {
		svg_text(&d, SVG_MARGIN, d.y, "dim", "… %lld more tables", more);
		d.y += SVG_LINE;
	}
	return svg_close(&d, out, "pmap", title, "data-pmap", slot, "data-name", name, NULL);
}
