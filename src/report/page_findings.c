/* src/report/page_findings.c - the campaign page's findings: one row a crash
 * directory (OUT/crashes/<16 hex digits>/), oldest first, each file read
 * only so far and every field checked. */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "html.h"
#include "outdir.h"
#include "page_impl.h"

#define FINDINGS_MAX       1000       /* rows shown */
#define FINDINGS_SCAN_MAX  100000     /* directory entries looked at */
#define FINDING_REPORT_MAX (1u << 20) /* report.json, min.ops: a few KiB when well made */

struct finding_row {
	char sig[17];
	int64_t first_seen; /* report.json's mtime: it is written once, with the directory */
};

static bool is_signature(const char *name)
{
	return strlen(name) == 16 && strspn(name, "0123456789abcdef") == 16;
}

static int by_first_seen(const void *a, const void *b)
{
	const struct finding_row *x = a, *y = b;

	if (x->first_seen != y->first_seen)
		return x->first_seen < y->first_seen ? -1 : 1;
	return strcmp(x->sig, y->sig);
}

/* the crash directories, oldest first; *more: how many were left out */
static struct finding_row *list_findings(const char *out, size_t *n, size_t *more,
                                         struct page_notes *notes)
{
	char path[PATH_MAX];
	struct finding_row *rows = NULL;
	size_t cap = 0, seen = 0;
	struct dirent *e;
	struct stat st;
	DIR *d;

	*n = *more = 0;
	snprintf(path, sizeof(path), "%s/crashes", out);
	d = opendir(path);
	if (d == NULL)
		return NULL; /* no finding yet */
	while ((e = readdir(d)) != NULL && seen++ < FINDINGS_SCAN_MAX) {
		if (!is_signature(e->d_name))
			continue; /* ., .., .tmp.* being written, or not ours */
		if (*n == cap) {
			struct finding_row *r =
			    realloc(rows, (cap = cap ? cap * 2 : 64) * sizeof(*r));
			if (r == NULL)
				break;
			rows = r;
		}
		snprintf(rows[*n].sig, sizeof(rows[*n].sig), "%s", e->d_name);
		snprintf(path, sizeof(path), "%s/crashes/%s/report.json", out, e->d_name);
		rows[(*n)++].first_seen = stat(path, &st) == 0 ? (int64_t)st.st_mtime : 0;
	}
	if (e != NULL)
		page_note(notes, "crashes/: more than %d entries; the rest were not looked at",
		          FINDINGS_SCAN_MAX);
	closedir(d);
	if (rows != NULL)
		qsort(rows, *n, sizeof(*rows), by_first_seen);
	if (*n > FINDINGS_MAX) {
		*more = *n - FINDINGS_MAX;
		*n = FINDINGS_MAX;
	}
	return rows;
}

/* count: how often the finding recurred (a number alone on its line) */
static void cell_count(FILE *f, const char *dir)
{
	char path[PATH_MAX], err[300], *end, *text;
	unsigned long long v = 0;

	snprintf(path, sizeof(path), "%s/count", dir);
	text = outdir_read(path, 32, false, NULL, NULL, err, sizeof(err));
	if (text != NULL && text[0] >= '0' && text[0] <= '9')
		v = strtoull(text, &end, 10);
	if (text != NULL && text[0] >= '0' && text[0] <= '9' && (*end == '\n' || *end == '\0'))
		page_count(f, v);
	else
		fputs("?", f);
	free(text);
}

/* min.ops: its ops (lines that are neither blank nor a comment) */
static void cell_min(FILE *f, const char *dir)
{
	char path[PATH_MAX], err[300], *text;
	unsigned long long ops = 0;
	bool cut;

	snprintf(path, sizeof(path), "%s/min.ops", dir);
	text = outdir_read(path, FINDING_REPORT_MAX, false, NULL, &cut, err, sizeof(err));
	if (text == NULL) {
		fputs("-", f);
		return;
	}
	for (char *l = text; *l != '\0';) {
		l += strspn(l, " \t");
		ops += *l != '#' && *l != '\n' && *l != '\0';
		l = strchr(l, '\n');
		if (l == NULL)
			break;
		l++;
	}
	if (cut)
		fputs("&gt; ", f);
	page_count(f, ops);
	if (strncmp(text, "# PARTIAL", 9) == 0)
		fputs(" <span class=\"muted\">partial</span>", f);
	free(text);
}

/* the invariant and title from report.json, or what is wrong with it */
static void cells_report(FILE *f, const char *dir, const char *sig, struct page_notes *notes)
{
	char path[PATH_MAX], err[300], *text;
	json_error_t je;
	json_t *j = NULL;
	size_t len;
	bool cut;

	snprintf(path, sizeof(path), "%s/report.json", dir);
	text = outdir_read(path, FINDING_REPORT_MAX, false, &len, &cut, err, sizeof(err));
	bool have = text != NULL;

	if (have && !cut)
		j = json_loadb(text, len, 0, &je);
	free(text);
	if (j == NULL || !json_is_object(j)) {
		if (!have)
			page_note(notes, "%s", err);
		else
			page_note(notes, "crashes/%s/report.json: %s", sig,
			          cut         ? "larger than 1 MiB"
			          : j == NULL ? je.text
			                      : "not a JSON object");
		fputs("<td>?</td><td class=\"muted\">report.json unreadable</td>", f);
		json_decref(j);
		return;
	}
	fputs("<td><code>", f);
	html_text(f, page_json_str(j, "invariant") != NULL ? page_json_str(j, "invariant") : "?",
	          32);
	fputs("</code></td><td>", f);
	html_text(f, page_json_str(j, "title") != NULL ? page_json_str(j, "title") : "?", 240);
	fputs("</td>", f);
	json_decref(j);
}

/* links to what the directory holds; sig is 16 hex digits, safe in a URL */
static void cell_files(FILE *f, const char *out, const char *sig)
{
	static const char *const files[] = {"report.txt", "report.json", "repro.ops", "min.ops",
	                                    "walk.svg"};
	char rel[64];
	const char *sep = "";

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), "crashes/%s/%s", sig, files[i]);
		if (!outdir_has_file(out, rel))
			continue;
		fprintf(f, "%s<a href=\"%s\">%s</a>", sep, rel, files[i]);
		sep = " ";
	}
}

void page_findings(FILE *f, const char *out, struct page_notes *notes)
{
	size_t n, more;
	struct finding_row *rows = list_findings(out, &n, &more, notes);
	char dir[PATH_MAX];

	fputs("<h2>Findings</h2>\n<table id=\"findings\">\n<thead><tr><th>invariant</th>"
	      "<th>title</th><th>first seen</th><th class=\"n\">count</th>"
	      "<th class=\"n\">min.ops</th><th>files</th></tr></thead>\n<tbody>\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), "%s/crashes/%s", out, rows[i].sig);
		fprintf(f, "<tr id=\"f-%s\">", rows[i].sig);
		cells_report(f, dir, rows[i].sig, notes);
		fputs("<td>", f);
		if (rows[i].first_seen > 0)
			page_time(f, rows[i].first_seen);
		fputs("</td><td class=\"n\">", f);
		cell_count(f, dir);
		fputs("</td><td class=\"n\">", f);
		cell_min(f, dir);
		fputs("</td><td>", f);
		cell_files(f, out, rows[i].sig);
		fputs("</td></tr>\n", f);
	}
	if (n == 0)
		fputs("<tr><td colspan=\"6\" class=\"muted\">no findings</td></tr>\n", f);
	fputs("</tbody></table>\n", f);
	if (more > 0)
		fprintf(f, "<p class=\"muted\">and %zu more crash directories, not shown</p>\n",
		        more);
	free(rows);
}
