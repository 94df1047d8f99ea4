/* src/report/page_chart.c - the campaign page's line charts (inline SVG): ops/s
 * and unique findings over each campaign's time, one line a campaign on OUT. */
#include <math.h>
#include <string.h>

#include "html.h"
#include "page_impl.h"

#define CHART_W      520
#define CHART_H      240
#define CHART_LEFT   64 /* room for the y labels */
#define CHART_RIGHT  16
#define CHART_TOP    28
#define CHART_BOTTOM 36
#define CHART_POINTS 600 /* a line is thinned to at most this many points */
#define CHART_TICKS  5

static const char *const palette[] = {"#0969da", "#cf222e", "#1a7f37", "#8250df",
                                      "#bf8700", "#1b7c83", "#e16f24", "#6e7781"};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))

struct axis {
	double max;     /* the axis runs 0..max */
	double step;    /* between ticks */
	double unit;    /* labels are value / unit */
	char suffix[4]; /* after each label */
};

/* 1, 2 or 5 times a power of ten, at least range / ticks */
static double nice_step(double range, int ticks)
{
	double raw = range / ticks, mag = pow(10, floor(log10(raw))), norm = raw / mag;

	return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

static void axis_fit(struct axis *a, double max, bool time)
{
	a->unit = 1;
	a->suffix[0] = '\0';
	if (time) /* seconds, minutes or hours */
		a->unit = max > 7200 ? 3600 : max > 180 ? 60 : 1;
	else /* counts: k, M */
		a->unit = max >= 2e6 ? 1e6 : max >= 2e3 ? 1e3 : 1;
	strcpy(a->suffix, time ? (a->unit == 3600 ? "h"
	                          : a->unit == 60 ? "m"
	                                          : "s")
	                       : (a->unit == 1e6   ? "M"
	                          : a->unit == 1e3 ? "k"
	                                           : ""));
	max = max > 0 && isfinite(max) ? max / a->unit : 1;
	a->step = nice_step(max, CHART_TICKS);
	a->max = ceil(max / a->step - 1e-9) * a->step * a->unit;
	a->step *= a->unit;
}

static double px_x(const struct axis *a, double v)
{
	return CHART_LEFT + v / a->max * (CHART_W - CHART_LEFT - CHART_RIGHT);
}

static double px_y(const struct axis *a, double v)
{
	return CHART_H - CHART_BOTTOM - v / a->max * (CHART_H - CHART_TOP - CHART_BOTTOM);
}

static void grid(FILE *f, const struct axis *x, const struct axis *y)
{
	for (int i = 0; i * y->step <= y->max + 1e-9 * y->max; i++) {
		double py = px_y(y, i * y->step);
		fprintf(f,
		        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eaeef2\"/>"
		        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g%s</text>\n",
		        CHART_LEFT, py, CHART_W - CHART_RIGHT, py, CHART_LEFT - 6, py + 4,
		        i * y->step / y->unit, i > 0 ? y->suffix : "");
	}
	for (int i = 0; i * x->step <= x->max + 1e-9 * x->max; i++) {
		double px = px_x(x, i * x->step);
		fprintf(f,
		        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d0d7de\"/>"
		        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g%s</text>\n",
		        px, CHART_H - CHART_BOTTOM, px, CHART_H - CHART_BOTTOM + 4, px,
		        CHART_H - CHART_BOTTOM + 17, i * x->step / x->unit, x->suffix);
	}
	fprintf(f,
	        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#8c959f\"/>"
	        "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"muted\">time since the "
	        "campaign started</text>\n",
	        CHART_LEFT, CHART_H - CHART_BOTTOM, CHART_W - CHART_RIGHT, CHART_H - CHART_BOTTOM,
	        (CHART_LEFT + CHART_W - CHART_RIGHT) / 2, CHART_H - 4);
}

static double row_value(const struct plot_row *r, bool findings)
{
	return findings ? (double)r->unique_findings : r->ops_per_s;
}

/* one campaign's line; findings as steps (a count changes at a row) */
static void line(FILE *f, const struct plot_run *run, const struct axis *x, const struct axis *y,
                 bool findings, const char *colour, bool last)
{
	size_t stride = run->nrows / CHART_POINTS + 1;
	double prev = 0;

	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"", colour,
	        last ? "2" : "1.2");
	if (run->note[0] != '\0') /* its start is in the file: it starts from nothing */
		fprintf(f, "%.1f,%.1f ", px_x(x, 0), px_y(y, 0));
	for (size_t i = 0; i < run->nrows; i += stride) {
		/* the last row is always drawn, whatever the thinning skipped */
		const struct plot_row *r =
		    &run->rows[i + stride >= run->nrows ? run->nrows - 1 : i];
		double v = row_value(r, findings), t = r->time_s < x->max ? r->time_s : x->max;
		if (findings && (i > 0 || run->note[0] != '\0'))
			fprintf(f, "%.1f,%.1f ", px_x(x, t), px_y(y, prev));
		fprintf(f, "%.1f,%.1f ", px_x(x, t), px_y(y, v < y->max ? v : y->max));
		prev = v < y->max ? v : y->max;
	}
	fputs("\"/>\n", f);
}

static void chart(FILE *f, const struct plot_data *pd, const char *id, const char *title,
                  bool findings)
{
	struct axis x, y;
	double tmax = 0, vmax = 0;
	size_t rows = 0;

	for (size_t r = 0; r < pd->nruns; r++)
		for (size_t i = 0; i < pd->run[r].nrows; i++) {
			const struct plot_row *row = &pd->run[r].rows[i];
			tmax = row->time_s > tmax ? row->time_s : tmax;
			vmax = row_value(row, findings) > vmax ? row_value(row, findings) : vmax;
			rows++;
		}
	axis_fit(&x, tmax, true);
	axis_fit(&y, findings && vmax < 5 ? 5 : vmax, false);
	fprintf(f,
	        "<svg id=\"%s\" role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\" "
	        "font-family=\"system-ui,sans-serif\" fill=\"#57606a\">\n<title>%s</title>\n"
	        "<text x=\"%d\" y=\"16\" font-size=\"13\" font-weight=\"bold\" "
	        "fill=\"#1b1f24\">%s</text>\n",
	        id, CHART_W, CHART_H, CHART_W, CHART_H, title, CHART_LEFT, title);
	grid(f, &x, &y);
	for (size_t r = 0; r < pd->nruns; r++)
		if (pd->run[r].nrows > 0)
			line(f, &pd->run[r], &x, &y, findings, palette[r % NPALETTE],
			     r + 1 == pd->nruns);
	if (rows == 0)
		fprintf(f,
		        "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no rows in %s yet</text>\n",
		        (CHART_LEFT + CHART_W - CHART_RIGHT) / 2, CHART_H / 2, PLOT_FILE);
	fputs("</svg>\n", f);
}

/* "1765103000 2026-12-07T10:23:20Z seed=7 ..." shown without the Unix time */
static void legend(FILE *f, const struct plot_data *pd)
{
	if (pd->nruns == 0)
		return;
	fputs("<ul class=\"muted\" id=\"runs\" style=\"list-style:none;padding:0\">\n", f);
	for (size_t r = 0; r < pd->nruns; r++) {
		const char *note = pd->run[r].note, *sp = strchr(note, ' ');
		fprintf(
		    f,
		    "<li><span style=\"display:inline-block;width:18px;height:3px;background:%s;"
		    "vertical-align:middle\"></span> campaign %zu%s: ",
		    palette[r % NPALETTE], pd->runs_dropped + r + 1,
		    r + 1 == pd->nruns ? " (the last)" : "");
		html_text(f,
		          note[0] == '\0' ? "(its start is not in the file)"
		          : sp != NULL && strspn(note, "0123456789") == (size_t)(sp - note) ? sp + 1
		                                                                            : note,
		          150);
		fprintf(f, " &middot; %zu rows</li>\n", pd->run[r].nrows);
	}
	fputs("</ul>\n", f);
}

void page_charts(FILE *f, const struct plot_data *pd)
{
	fputs("<div class=\"charts\">\n", f);
	chart(f, pd, "chart-ops", "ops/s", false);
	chart(f, pd, "chart-findings", "unique findings", true);
	fputs("</div>\n", f);
	legend(f, pd);
}
