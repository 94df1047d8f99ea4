/* src/report/page.c - the campaign page (page.h): its frame, the summary, the
 * jobs and coverage tables; the charts and the findings are page_chart.c
 * and page_findings.c. */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "html.h"
#include "outdir.h"
#include "page.h"
#include "page_impl.h"
#include "util.h"

#define PAGE_JOBS_MAX      256  /* per_job rows shown */
#define PAGE_FUNCTIONS_MAX 4096 /* coverage rows shown */

/* No script may run and nothing may be fetched, whatever text got through. */
static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";

static const char page_css[] =
    "<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;"
    "color:#1b1f24;background:#fff}\n"
    "h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.6em 0 .5em;"
    "border-bottom:1px solid #d0d7de;padding-bottom:.2em}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px}\n"
    "th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}\n"
    "th{background:#f6f8fa}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".sum{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:8px}\n"
    ".sum div{background:#f6f8fa;border-radius:6px;padding:6px 10px}\n"
    ".sum b{display:block;font-size:1.3em}\n"
    ".state-running{color:#0969da}.state-done{color:#1a7f37}.state-failed{color:#cf222e;"
    "font-weight:bold}\n"
    ".notes{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.5em 1em}\n"
    ".bar{display:inline-block;height:9px;background:#2da44e;vertical-align:middle}\n"
    ".barbg{display:inline-block;width:100px;height:9px;background:#eaeef2;"
    "vertical-align:middle}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:16px}.muted{color:#656d76}\n"
    "code{font-size:12px}a{color:#0969da}\n"
    "</style>\n";

void page_note(struct page_notes *notes, const char *fmt, ...)
{
	va_list ap;

	if (notes->n == PAGE_NOTES_MAX) {
		notes->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(notes->line[notes->n++], sizeof(notes->line[0]), fmt, ap);
	va_end(ap);
}

const char *page_json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

bool page_json_u64(const json_t *o, const char *key, uint64_t *v)
{
	json_t *m = json_object_get(o, key);

	if (!json_is_integer(m) || json_integer_value(m) < 0)
		return false;
	*v = (uint64_t)json_integer_value(m);
	return true;
}

bool page_json_num(const json_t *o, const char *key, double *v)
{
	json_t *m = json_object_get(o, key);

	if (!json_is_number(m))
		return false;
	*v = json_number_value(m);
	return true;
}

void page_count(FILE *f, uint64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);

	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			fputc(',', f);
		fputc(digits[i], f);
	}
}

void page_time(FILE *f, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[40];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, sizeof(buf), "?");
	fputs(buf, f);
}

/* one cell of the summary: a count, or "-" when stats.json does not say */
static void sum_count(FILE *f, const json_t *st, const char *key, const char *label)
{
	uint64_t v;

	fprintf(f, "<div>%s<b>", label);
	if (page_json_u64(st, key, &v))
		page_count(f, v);
	else
		fputs("-", f);
	fputs("</b></div>\n", f);
}

static void sum_text(FILE *f, const char *label, const char *text)
{
	fprintf(f, "<div>%s<b>", label);
	html_text(f, text != NULL ? text : "-", 64);
	fputs("</b></div>\n", f);
}

static void summary(FILE *f, const json_t *st)
{
	double ops_s = 0, elapsed = 0, check = 0;
	char buf[64];

	fputs("<div class=\"sum\" id=\"summary\">\n", f);
	sum_count(f, st, "ops", "ops");
	snprintf(buf, sizeof(buf), "%.0f", page_json_num(st, "ops_per_s", &ops_s) ? ops_s : 0);
	sum_text(f, "ops/s (mean)", st != NULL ? buf : NULL);
	snprintf(buf, sizeof(buf), "%.1f s",
	         page_json_num(st, "elapsed_s", &elapsed) ? elapsed : 0);
	sum_text(f, "elapsed", st != NULL ? buf : NULL);
	sum_count(f, st, "unique_findings", "unique findings");
	sum_count(f, st, "findings_total", "findings in all");
	sum_count(f, st, "findings_not_saved", "not saved");
	sum_count(f, st, "seed", "seed");
	sum_text(f, "profile", page_json_str(st, "profile"));
	sum_count(f, st, "jobs", "jobs");
	sum_text(f, "backend", page_json_str(st, "backend"));
	snprintf(buf, sizeof(buf), "%.1f us",
	         page_json_num(st, "check_us_mean", &check) ? check : 0);
	sum_text(f, "check per op", st != NULL ? buf : NULL);
	fputs("</div>\n", f);
	if (page_json_str(st, "error") != NULL && page_json_str(st, "error")[0] != '\0') {
		fputs("<p class=\"state-failed\">error: ", f);
		html_text(f, page_json_str(st, "error"), 512);
		fputs("</p>\n", f);
	}
}

static void job_row(FILE *f, const json_t *job, size_t i)
{
	const char *state = page_json_str(job, "state");
	double ops_s = 0, check = 0;
	uint64_t v;

	if (state == NULL || (strcmp(state, "running") != 0 && strcmp(state, "done") != 0 &&
	                      strcmp(state, "failed") != 0))
		state = "?";
	fprintf(f, "<tr><td class=\"n\">%zu</td><td class=\"state-%s\">%s</td><td class=\"n\">",
	        page_json_u64(job, "job", &v) ? (size_t)v : i, strcmp(state, "?") ? state : "",
	        state);
	page_count(f, page_json_u64(job, "ops", &v) ? v : 0);
	page_json_num(job, "ops_per_s", &ops_s);
	page_json_num(job, "check_us_mean", &check);
	fprintf(f, "</td><td class=\"n\">%.0f</td><td class=\"n\">", ops_s);
	page_count(f, page_json_u64(job, "findings", &v) ? v : 0);
	fputs("</td><td class=\"n\">", f);
	page_count(f, page_json_u64(job, "sessions", &v) ? v : 0);
	fputs("</td><td class=\"n\">", f);
	page_count(f, page_json_u64(job, "resets", &v) ? v : 0);
	fprintf(f, "</td><td class=\"n\">%.1f</td><td>", check);
	html_text(f, page_json_str(job, "error"), 300);
	fputs("</td></tr>\n", f);
}

static void jobs(FILE *f, const json_t *st, struct page_notes *notes)
{
	json_t *per_job = json_object_get(st, "per_job");
	size_t n = json_array_size(per_job);

	fputs(
	    "<h2>Jobs</h2>\n<table id=\"jobs\">\n<thead><tr><th class=\"n\">job</th><th>state</th>"
	    "<th class=\"n\">ops</th><th class=\"n\">ops/s</th><th class=\"n\">findings</th>"
	    "<th class=\"n\">boots</th><th class=\"n\">resets</th><th class=\"n\">check us/op</th>"
	    "<th>error</th></tr></thead>\n<tbody>\n",
	    f);
	for (size_t i = 0; i < n && i < PAGE_JOBS_MAX; i++)
		if (json_is_object(json_array_get(per_job, i)))
			job_row(f, json_array_get(per_job, i), i);
	if (n == 0)
		fputs("<tr><td colspan=\"9\" class=\"muted\">no jobs recorded</td></tr>\n", f);
	fputs("</tbody></table>\n", f);
	if (st != NULL && !json_is_array(per_job))
		page_note(notes, "stats.json: no per_job array");
	if (n > PAGE_JOBS_MAX)
		page_note(notes, "stats.json: %zu jobs, the first %d shown", n, PAGE_JOBS_MAX);
}

/* "guest/pmap.c" -> a link to coverage/pmap.c.txt, when that file is there */
static void function_file(FILE *f, const char *out, const char *file, uint64_t line)
{
	const char *base = file != NULL ? strrchr(file, '/') : NULL;
	char rel[300];
	bool link;

	base = base != NULL ? base + 1 : file;
	link = base != NULL && html_safe_name(base) &&
	       snprintf(rel, sizeof(rel), "coverage/%s.txt", base) < (int)sizeof(rel) &&
	       outdir_has_file(out, rel);
	if (link)
		fprintf(f, "<a href=\"%s\">", rel);
	html_text(f, file != NULL ? file : "?", 200);
	if (line > 0)
		fprintf(f, ":%llu", (unsigned long long)line);
	if (link)
		fputs("</a>", f);
}

static void coverage_row(FILE *f, const char *out, const json_t *fn)
{
	uint64_t edges = 0, hit = 0, line = 0;
	double pct;

	page_json_u64(fn, "edges", &edges);
	page_json_u64(fn, "hit", &hit);
	page_json_u64(fn, "line", &line);
	pct = edges > 0 && hit <= edges ? 100.0 * (double)hit / (double)edges : 0;
	fputs("<tr><td><code>", f);
	html_text(f, page_json_str(fn, "name") != NULL ? page_json_str(fn, "name") : "?", 120);
	fputs("</code></td><td>", f);
	function_file(f, out, page_json_str(fn, "file"), line);
	fputs("</td><td class=\"n\">", f);
	page_count(f, hit);
	fputs("</td><td class=\"n\">", f);
	page_count(f, edges);
	fprintf(f,
	        "</td><td class=\"n\">%.0f%%</td><td><span class=\"barbg\"><span class=\"bar\" "
	        "style=\"width:%.0fpx\"></span></span></td></tr>\n",
	        pct, pct);
}

static void coverage(FILE *f, const char *out, const json_t *st, struct page_notes *notes)
{
	json_t *cov = json_object_get(st, "coverage");
	const char *mode = page_json_str(cov, "mode");
	json_t *fns = json_object_get(cov, "functions");
	uint64_t total = 0, hit = 0;
	size_t n = json_array_size(fns);

	fputs("<h2>Coverage</h2>\n", f);
	if (cov != NULL && (!json_is_object(cov) || mode == NULL))
		page_note(notes, "stats.json: coverage is not an object with a mode");
	if (mode == NULL || strcmp(mode, "off") == 0 || !json_is_object(cov)) {
		fputs("<table id=\"coverage\"><tbody><tr><td id=\"coverage-off\">coverage: off</td>"
		      "</tr></tbody></table>\n",
		      f);
		return;
	}
	page_json_u64(cov, "edges_total", &total);
	page_json_u64(cov, "edges_hit", &hit);
	fputs("<p>mode <b>", f);
	html_text(f, mode, 32);
	fputs("</b>: ", f);
	page_count(f, hit);
	fputs(" of ", f);
	page_count(f, total);
	fprintf(f, " edges hit (%.1f%%)</p>\n",
	        total > 0 && hit <= total ? 100.0 * (double)hit / (double)total : 0.0);
	fputs("<table id=\"coverage\">\n<thead><tr><th>function</th><th>source</th>"
	      "<th class=\"n\">hit</th><th class=\"n\">edges</th><th class=\"n\">%</th><th></th>"
	      "</tr></thead>\n<tbody>\n",
	      f);
	for (size_t i = 0; i < n && i < PAGE_FUNCTIONS_MAX; i++)
		if (json_is_object(json_array_get(fns, i)))
			coverage_row(f, out, json_array_get(fns, i));
	fputs("</tbody></table>\n", f);
	if (n > PAGE_FUNCTIONS_MAX)
		page_note(notes, "stats.json: %zu functions in coverage, the first %d shown", n,
		          PAGE_FUNCTIONS_MAX);
}

static void notes_section(FILE *f, const struct page_notes *notes)
{
	if (notes->n == 0)
		return;
	fputs("<div class=\"notes\" id=\"problems\"><b>Missing or unreadable in this output "
	      "directory</b>\n<ul>\n",
	      f);
	for (unsigned i = 0; i < notes->n; i++) {
		fputs("<li>", f);
		html_text(f, notes->line[i], sizeof(notes->line[i]));
		fputs("</li>\n", f);
	}
	if (notes->dropped > 0)
		fprintf(f, "<li>and %u more</li>\n", notes->dropped);
	fputs("</ul></div>\n", f);
}

/* the header: which directory, running or finished, when */
static void heading(FILE *f, const char *out, const json_t *st)
{
	char path[PATH_MAX];
	struct stat sb;
	json_t *fin = json_object_get(st, "finished");

	fputs("<title>ptshadow campaign: ", f);
	html_text(f, out, 200);
	fputs("</title>\n", f);
	fputs(page_css, f);
	fputs("</head>\n<body>\n<h1>ptshadow campaign</h1>\n<p class=\"muted\">", f);
	html_text(f, out, 400);
	fputs(" &middot; ", f);
	if (st == NULL)
		fputs("no statistics", f);
	else
		fputs(json_is_true(fin) ? "finished" : "running (or stopped without a last word)",
		      f);
	snprintf(path, sizeof(path), "%s/stats.json", out);
	if (st != NULL && stat(path, &sb) == 0) {
		fputs(" &middot; stats of ", f);
		page_time(f, sb.st_mtime);
	}
	fputs(" &middot; page made ", f);
	page_time(f, time(NULL));
	fputs("</p>\n", f);
}

void page_render(FILE *f, const char *out)
{
	struct page_notes *notes = calloc(1, sizeof(*notes));
	struct plot_data pd;
	char err[512];
	json_t *st;
	char *body = NULL;
	size_t body_len = 0;
	FILE *b;

	if (notes == NULL)
		return;
	st = outdir_stats(out, err, sizeof(err));
	if (st == NULL)
		page_note(notes, "%s", err);
	if (plot_data_load(out, &pd, err, sizeof(err)) != 0)
		page_note(notes, "%s", err);
	if (pd.bad_lines > 0)
		page_note(notes, "%s: %zu lines that are neither a comment nor a row were skipped",
		          PLOT_FILE, pd.bad_lines);
	if (pd.cut || pd.runs_dropped > 0)
		page_note(notes, "%s: only its last %u MiB and %d campaigns are shown", PLOT_FILE,
		          PLOT_READ_MAX >> 20, PLOT_RUNS_MAX);
	/* the sections go to a buffer first: the notes they make are shown above them */
	b = open_memstream(&body, &body_len);
	if (b != NULL) {
		summary(b, st);
		fputs("<h2>Progress</h2>\n", b);
		page_charts(b, &pd);
		page_findings(b, out, notes);
		jobs(b, st, notes);
		coverage(b, out, st, notes);
		fclose(b);
	}
	fputs(page_head, f);
	heading(f, out, st);
	notes_section(f, notes);
	if (body != NULL)
		fwrite(body, 1, body_len, f);
	fputs("<p class=\"muted\">Made by <code>ptshadow report</code> from this directory; "
	      "run it again to bring the page up to date.</p>\n</body>\n</html>\n",
	      f);
	free(body);
	plot_data_free(&pd);
	json_decref(st);
	free(notes);
}

static void render_page(FILE *f, const void *arg)
{
	page_render(f, arg);
}

int page_write(const char *out, char *err, size_t errlen)
{
	return outdir_write(out, PAGE_FILE, render_page, out, err, errlen);
}
