/* tests/unit/test_page.c - a campaign's page and progress files: plot_data.csv
 * is appended whole lines only and read back line by line, metrics.prom is
 * the text format node_exporter reads, index.html shows hostile output
 * directories as text, `ptshadow report` refuses what is not an output
 * directory; and in headless Chromium, the page of a real campaign (clean,
 * and on a mutant with findings) loads with no console message, holds its
 * tables and draws.  The campaigns take the backend run_tests gives
 * (PTSHADOW_BACKEND, else auto): the page does not depend on it, so the
 * suite runs once, not once per backend.
 */
#include <jansson.h>
#include <sys/resource.h>

#include "browser.h"
#include "html.h"
#include "metrics.h"
#include "page.h"
#include "plot.h"
#include "testutil.h"

#define BROWSE_TIMEOUT_S 120 /* a hang guard: a load takes about a second here */
#define SHOT_W           1280
#define SHOT_H           1600

static const char mutant[] = "build/mutants/remove-forgets-modified.elf";

static char *render(const char *out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	page_render(f, out);
	fclose(f);
	return text;
}

static void write_text(const char *path, const char *text)
{
	tu_write_file(path, text, strlen(text));
}

static void make_dir(const char *path)
{
	ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "%s: %s", path, strerror(errno));
}

/* a directory of its own for a test (the tests of a case share tu_dir) */
static const char *subdir(const char *name)
{
	const char *p = tu_path(name);

	make_dir(p);
	return p;
}

static unsigned occurrences(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

/* ---- escaping ------------------------------------------------------------- */

START_TEST(html_text_is_never_markup)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	html_text(f, "<script>a&b</script> \"q\" 'a' \x1b[2J\xff\n", 100);
	html_text(f, "0123456789", 4);
	html_text(f, NULL, 10);
	fclose(f);
	ck_assert_str_eq(text, "&lt;script&gt;a&amp;b&lt;/script&gt; &quot;q&quot; &#39;a&#39; "
	                       "\\x1b[2J\\xff 0123...");
	free(text);
	ck_assert(html_safe_name("pmap.c"));
	ck_assert(html_safe_name("pmap_ptp-2.c"));
	ck_assert(!html_safe_name(".hidden"));
	ck_assert(!html_safe_name("a/b"));
	ck_assert(!html_safe_name("x\" onclick=\"y"));
	ck_assert(!html_safe_name(""));
}
END_TEST

/* ---- plot_data.csv -------------------------------------------------------- */

static struct plot_row row_at(double t, uint64_t ops, uint64_t unique, int64_t edges)
{
	struct plot_row r = {.time_s = t,
	                     .ops = ops,
	                     .unique_findings = unique,
	                     .findings_total = unique * 2,
	                     .jobs_running = 2,
	                     .edges_hit = edges};
	return r;
}

/* Two campaigns on one OUT: each starts with its run line and the column
 * line; rows come back as written, ops/s over the time since the last row. */
START_TEST(plot_two_runs_append_and_read_back)
{
	char dir[600], file[700];
	struct plot_log log;
	struct plot_data pd;
	struct plot_row r;
	char err[512];
	char *text;

	snprintf(dir, sizeof(dir), "%s", subdir("two"));
	snprintf(file, sizeof(file), "%s/%s", dir, PLOT_FILE);

	ck_assert_int_eq(plot_log_open(&log, dir, "seed=1 profile=default", err, sizeof(err)), 0);
	r = row_at(1.0, 1000, 0, -1);
	ck_assert_int_eq(plot_log_append(&log, &r, err, sizeof(err)), 0);
	r = row_at(3.0, 5000, 1, -1);
	ck_assert_int_eq(plot_log_append(&log, &r, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(r.ops_per_s, 2000.0, 1e-9);
	r = row_at(3.2, 5000, 1, -1); /* nothing new within a second: no row */
	ck_assert_int_eq(plot_log_append(&log, &r, err, sizeof(err)), 0);
	r = row_at(3.5, 5100, 1, -1); /* within a second: the rate since the row before that */
	r.jobs_running = 0;
	ck_assert_int_eq(plot_log_append(&log, &r, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(r.ops_per_s, 4100.0 / 2.5, 1e-9);
	ck_assert_int_eq(plot_log_open(&log, dir, "seed=2", err, sizeof(err)), 0);
	r = row_at(2.0, 300, 0, 77);
	ck_assert_int_eq(plot_log_append(&log, &r, err, sizeof(err)), 0);

	text = tu_read_file(file, NULL);
	ck_assert_uint_eq(occurrences(text, "\n# run "),
	                  1); /* the second; the first opens the file */
	ck_assert_int_eq(strncmp(text, "# run ", 6), 0);
	ck_assert_uint_eq(occurrences(text, "# " PLOT_COLUMNS "\n"), 2);
	ck_assert_ptr_nonnull(strstr(
	    text,
	    "\n1.00,1000,1000.0,0,0,2,\n3.00,5000,2000.0,1,2,2,\n3.50,5100,1640.0,1,2,0,\n# run "));
	ck_assert_ptr_nonnull(strstr(text, "\n2.00,300,150.0,0,0,2,77\n"));
	free(text);

	ck_assert_int_eq(plot_data_load(dir, &pd, err, sizeof(err)), 0);
	ck_assert_uint_eq(pd.nruns, 2);
	ck_assert_uint_eq(pd.bad_lines, 0);
	ck_assert_uint_eq(pd.run[0].nrows, 3);
	ck_assert_uint_eq(pd.run[1].nrows, 1);
	ck_assert_ptr_nonnull(strstr(pd.run[0].note, "seed=1 profile=default"));
	ck_assert_uint_eq(pd.run[0].rows[1].ops, 5000);
	ck_assert_int_eq(pd.run[0].rows[1].edges_hit, -1);
	ck_assert_int_eq(pd.run[1].rows[0].edges_hit, 77);
	plot_data_free(&pd);
}
END_TEST

/* What a crash, a hand edit or a hostile writer may leave is skipped line by
 * line; a torn last line (no newline) is not a row, and the next campaign
 * starts on a line of its own. */
START_TEST(plot_bad_lines_are_skipped)
{
	char dir[600], file[700];
	static const char text[] = "3.0,10,1.0,0,0,1,\n" /* before any run line */
	                           "# run 1 2026-01-01T00:00:00Z <b>x</b>\n"
	                           "# some comment\n"
	                           "1.0,100,100.0,0,0,1,\n"
	                           "1.0,100,100.0,0,0,1\n"            /* 6 fields */
	                           "1.0,100,100.0,0,0,1,5,6\n"        /* 8 fields */
	                           "nan,100,100.0,0,0,1,\n"           /* not finite */
	                           "1.0,-4,100.0,0,0,1,\n"            /* negative */
	                           "1.0,100,100.0,0,0,99999999999,\n" /* jobs */
	                           "1.0,100,1e999,0,0,1,\n"           /* overflow */
	                           "2.0,200,100.0,0,0,1,x\n"          /* edges */
	                           "\n"
	                           "2.5,250,100.0,0,0,1,\r\n" /* CRLF is fine */
	                           "4.0,400,100.0,0,0,1,";    /* torn */
	struct plot_data pd;
	struct plot_log log;
	char err[512];

	snprintf(dir, sizeof(dir), "%s", subdir("bad"));
	snprintf(file, sizeof(file), "%s/%s", dir, PLOT_FILE);

	write_text(file, text);
	ck_assert_int_eq(plot_data_load(dir, &pd, err, sizeof(err)), 0);
	ck_assert_uint_eq(pd.nruns, 2);
	ck_assert_uint_eq(pd.run[0].nrows, 1);
	ck_assert_str_eq(pd.run[0].note, "");
	ck_assert_uint_eq(pd.run[1].nrows, 2);
	ck_assert_uint_eq(pd.run[1].rows[1].ops, 250);
	ck_assert_uint_eq(pd.bad_lines, 7);
	plot_data_free(&pd);

	ck_assert_int_eq(plot_log_open(&log, dir, "seed=3", err, sizeof(err)), 0);
	char *back = tu_read_file(file, NULL);
	ck_assert_ptr_nonnull(strstr(back, "\n4.0,400,100.0,0,0,1,\n# run "));
	free(back);

	ck_assert_int_eq(plot_data_load("/nonexistent-dir", &pd, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/" PLOT_FILE ": No such file"));
	snprintf(dir, sizeof(dir), "%s", subdir("fifo"));
	snprintf(file, sizeof(file), "%s/%s", dir, PLOT_FILE);
	ck_assert_int_eq(mkfifo(file, 0644), 0);
	ck_assert_int_eq(plot_data_load(dir, &pd, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

/* A write that does not fit (here: the file size limit, as a full disk would)
 * fails with the file's name, and the part of the line that went out is cut
 * back off: the file holds whole lines only. */
START_TEST(plot_short_write_is_cut_back)
{
	char dir[600], file[700];
	struct rlimit lim;
	struct plot_log log;
	struct plot_row r = row_at(1.0, 123456789, 3, 1234567);
	struct stat st;
	char err[512];
	off_t head;

	snprintf(dir, sizeof(dir), "%s", subdir("short"));
	snprintf(file, sizeof(file), "%s/%s", dir, PLOT_FILE);

	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(plot_log_open(&log, dir, "seed=1", err, sizeof(err)), 0);
	ck_assert_int_eq(stat(file, &st), 0);
	head = st.st_size;
	lim.rlim_cur = lim.rlim_max = (rlim_t)head + 10; /* the row is longer than 10 bytes */
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ck_assert_int_eq(plot_log_append(&log, &r, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, PLOT_FILE) != NULL, "%s", err);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_size, head);
}
END_TEST

/* ---- a hostile output directory ------------------------------------------ */

static const char hostile_stats[] =
    "{\"ops\": 1234567, \"ops_per_s\": 20000.5, \"unique_findings\": 2, \"elapsed_s\": 61.7,"
    " \"seed\": 7, \"profile\": \"<img src=x onerror=alert(1)>\", \"jobs\": 2,"
    " \"findings_total\": 9, \"findings_not_saved\": 0, \"finished\": true,"
    " \"backend\": \"qemu\", \"error\": \"\","
    " \"per_job\": [{\"job\": 0, \"state\": \"running\", \"ops\": 600000, \"ops_per_s\": 1e4,"
    "   \"findings\": 5, \"sessions\": 3, \"resets\": 600, \"check_us_mean\": 12.5,"
    "   \"error\": \"</td><script>alert(2)</script>\"},"
    "  {\"job\": 1, \"state\": \"<b>odd</b>\", \"ops\": \"many\"}, 42],"
    " \"coverage\": {\"mode\": \"guide\", \"edges_total\": 400, \"edges_hit\": 123,"
    "  \"functions\": [{\"name\": \"pmap_enter\", \"file\": \"guest/pmap.c\", \"line\": 321,"
    "    \"edges\": 60, \"hit\": 45},"
    "   {\"name\": \"pool_get<script>\", \"file\": \"guest/../x\\\" onmouseover=\\\"y.c\","
    "    \"line\": 9, \"edges\": 10, \"hit\": 99},"
    "   {\"name\": \"pmap_remove\", \"file\": \"guest/pmap.c\", \"line\": 500,"
    "    \"edges\": 80, \"hit\": 0}]}}\n";

/* OUT with every kind of trouble: text that would be markup, a report.json
 * that is not JSON, a count that is not a number, a crash directory that is
 * not one, a walk.svg, an annotated source. */
static void make_hostile_out(const char *out)
{
	char dir[700], path[800];
	static const char *const sigs[] = {"00000000000000a1", "00000000000000b2",
	                                   "00000000000000c3"};

	make_dir(out);
	snprintf(path, sizeof(path), "%s/stats.json", out);
	write_text(path, hostile_stats);
	snprintf(path, sizeof(path), "%s/%s", out, PLOT_FILE);
	write_text(path, "# run 1765103000 2026-12-07T10:23:20Z seed=7 <script>alert(3)</script>\n"
	                 "# " PLOT_COLUMNS "\n1.0,20000,20000.0,0,0,2,\n2.0,41000,21000.0,1,1,2,\n"
	                 "garbage\n61.7,1234567,19000.0,2,9,0,\n");
	snprintf(path, sizeof(path), "%s/coverage", out);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/coverage/pmap.c.txt", out);
	write_text(path, "annotated\n");
	snprintf(dir, sizeof(dir), "%s/crashes", out);
	make_dir(dir);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(dir, sizeof(dir), "%s/crashes/%s", out, sigs[i]);
		make_dir(dir);
	}
	snprintf(path, sizeof(path), "%s/crashes/%s/report.json", out, sigs[0]);
	write_text(path, "{\"invariant\": \"PV-1\", \"title\": \"PV-1 <script>alert(4)</script> "
	                 "\\u001b[31m red\"}");
	snprintf(path, sizeof(path), "%s/crashes/%s/count", out, sigs[0]);
	write_text(path, "17\n");
	snprintf(path, sizeof(path), "%s/crashes/%s/min.ops", out, sigs[0]);
	write_text(path,
	           "# PARTIAL: minimisation was cut short\ncreate a\n\n  # c\nenter a 0x1000 pg1 "
	           "rw\ndestroy a");
	snprintf(path, sizeof(path), "%s/crashes/%s/walk.svg", out, sigs[0]);
	write_text(path, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
	snprintf(path, sizeof(path), "%s/crashes/%s/report.txt", out, sigs[0]);
	write_text(path, "report\n");
	snprintf(path, sizeof(path), "%s/crashes/%s/report.json", out, sigs[1]);
	write_text(path, "{\"invariant\": ");
	snprintf(path, sizeof(path), "%s/crashes/%s/count", out, sigs[1]);
	write_text(path, "lots\n");
	snprintf(path, sizeof(path), "%s/crashes/not-a-signature", out);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/crashes/.tmp.00000000000000d4.123", out);
	make_dir(path);
}

START_TEST(page_of_hostile_out_is_text)
{
	char out[600];
	char *page;

	snprintf(out, sizeof(out), "%s/hostile", tu_dir);
	make_hostile_out(out);
	page = render(out);
	/* no element came from OUT: the page's own are the only ones */
	ck_assert_uint_eq(occurrences(page, "<script"), 0);
	ck_assert_uint_eq(occurrences(page, "<img"), 0);
	ck_assert_ptr_null(strstr(page, "odd</b>")); /* a state that is none is "?" */
	ck_assert_ptr_nonnull(strstr(page, "&lt;img src=x onerror=alert(1)&gt;"));
	ck_assert_ptr_nonnull(strstr(page, "&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(
	    strstr(page, "PV-1 &lt;script&gt;alert(4)&lt;/script&gt; \\x1b[31m red"));
	ck_assert_ptr_nonnull(strstr(page, "seed=7 &lt;script&gt;alert(3)&lt;/script&gt;"));
	/* the tables, whatever else */
	ck_assert_ptr_nonnull(strstr(page, "<table id=\"findings\">"));
	ck_assert_ptr_nonnull(strstr(page, "<table id=\"coverage\">"));
	ck_assert_ptr_nonnull(strstr(page, "<table id=\"jobs\">"));
	ck_assert_ptr_nonnull(strstr(page, "id=\"chart-ops\""));
	ck_assert_ptr_nonnull(strstr(page, "id=\"chart-findings\""));
	/* three signature directories, one row each; the others are not findings */
	ck_assert_uint_eq(occurrences(page, "<tr id=\"f-"), 3);
	ck_assert_ptr_null(strstr(page, "not-a-signature"));
	ck_assert_ptr_null(strstr(page, "00000000000000d4"));
	/* links only to files that are there, walk.svg included */
	ck_assert_ptr_nonnull(strstr(page, "<a href=\"crashes/00000000000000a1/walk.svg\">"));
	ck_assert_ptr_nonnull(strstr(page, "<a href=\"crashes/00000000000000a1/report.txt\">"));
	ck_assert_ptr_null(strstr(page, "crashes/00000000000000b2/report.txt"));
	ck_assert_ptr_nonnull(strstr(page, ">17<")); /* count */
	ck_assert_ptr_nonnull(
	    strstr(page, ">3 <span class=\"muted\">partial")); /* min.ops: 3 ops */
	/* coverage: a link to the annotated source; none for a name that is not one */
	ck_assert_uint_eq(occurrences(page, "<a href=\"coverage/pmap.c.txt\">"), 2);
	ck_assert_ptr_nonnull(strstr(page, "pool_get&lt;script&gt;"));
	ck_assert_ptr_null(strstr(page, "onmouseover=\""));
	ck_assert_ptr_nonnull(strstr(page, "123 of 400 edges hit"));
	/* what could not be read is said */
	ck_assert_ptr_nonnull(strstr(page, "id=\"problems\""));
	ck_assert_ptr_nonnull(strstr(page, "crashes/00000000000000b2/report.json:"));
	ck_assert_ptr_nonnull(strstr(page, "crashes/00000000000000c3/report.json: No such file"));
	ck_assert_ptr_nonnull(strstr(page, "1 lines that are neither a comment nor a row"));
	free(page);
}
END_TEST

/* Nothing but an empty crashes/: every section is there and says so. */
START_TEST(page_of_empty_out)
{
	char out[600], path[700];
	char *page;

	snprintf(out, sizeof(out), "%s/empty", tu_dir);
	make_dir(out);
	snprintf(path, sizeof(path), "%s/crashes", out);
	make_dir(path);
	page = render(out);
	ck_assert_ptr_nonnull(strstr(page, "stats.json: No such file or directory"));
	ck_assert_ptr_nonnull(strstr(page, PLOT_FILE ": No such file or directory"));
	ck_assert_ptr_nonnull(strstr(page, "no findings"));
	ck_assert_ptr_nonnull(strstr(page, "<td id=\"coverage-off\">coverage: off</td>"));
	ck_assert_ptr_nonnull(strstr(page, "no rows in " PLOT_FILE " yet"));
	ck_assert_ptr_nonnull(strstr(page, "</html>\n"));
	free(page);
	/* stats.json that is JSON but not an object, or not JSON at all */
	snprintf(path, sizeof(path), "%s/stats.json", out);
	write_text(path, "[1, 2]");
	page = render(out);
	ck_assert_ptr_nonnull(strstr(page, "stats.json: not a JSON object"));
	free(page);
	write_text(path, "{\"ops\": 1, \"ops\": 2}");
	page = render(out);
	ck_assert_ptr_nonnull(strstr(page, "duplicate object key"));
	free(page);
}
END_TEST

/* ---- metrics.prom --------------------------------------------------------- */

/* Every sample line: a name declared by a TYPE line before it, optional
 * labels with quoted values, a number; the file ends with "# EOF". */
static void check_metrics_text(const char *text)
{
	char typed[64][80];
	unsigned ntyped = 0;

	for (const char *l = text; *l != '\0';) {
		const char *nl = strchr(l, '\n');
		char line[1024], name[80];
		double v;
		ck_assert_ptr_nonnull(nl);
		snprintf(line, sizeof(line), "%.*s", (int)(nl - l), l);
		l = nl + 1;
		if (sscanf(line, "# TYPE %79s", name) == 1) {
			ck_assert_uint_lt(ntyped, 64);
			snprintf(typed[ntyped++], sizeof(typed[0]), "%s", name);
			ck_assert_msg(strstr(line, " counter") == NULL ||
			                  strcmp(name + strlen(name) - 6, "_total") == 0,
			              "a counter not named _total: %s", line);
			continue;
		}
		if (line[0] == '#') {
			ck_assert_msg(strncmp(line, "# HELP ", 7) == 0 ||
			                  strcmp(line, "# EOF") == 0,
			              "%s", line);
			ck_assert_msg(strcmp(line, "# EOF") != 0 || *l == '\0', "text after # EOF");
			continue;
		}
		size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz_0123456789");
		snprintf(name, sizeof(name), "%.*s", (int)n, line);
		bool known = false;
		for (unsigned i = 0; i < ntyped; i++)
			known |= strcmp(typed[i], name) == 0;
		ck_assert_msg(known, "sample of an undeclared family: %s", line);
		const char *rest = line + n;
		if (*rest == '{') {
			const char *end = strstr(rest, "} ");
			ck_assert_msg(end != NULL, "%s", line);
			for (const char *p = rest + 1; p < end; p++) /* no raw quote in a value */
				if (*p == '\\')
					p++;
			rest = end + 1;
		}
		ck_assert_msg(sscanf(rest, " %lf", &v) == 1, "no value: %s", line);
	}
	ck_assert_msg(strlen(text) >= 6 && strcmp(text + strlen(text) - 6, "# EOF\n") == 0,
	              "no # EOF at the end");
}

START_TEST(metrics_of_stats)
{
	json_error_t je;
	json_t *st = json_loads(hostile_stats, 0, &je);
	char err[512];
	char *text;

	ck_assert_msg(st != NULL, "%s", je.text);
	ck_assert_int_eq(metrics_write(tu_dir, st, err, sizeof(err)), 0);
	text = tu_read_file(tu_path(METRICS_FILE), NULL);
	check_metrics_text(text);
	ck_assert_ptr_nonnull(strstr(text, "\nptshadow_ops_total 1234567\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nptshadow_unique_findings 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nptshadow_finished 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nptshadow_job_ops_total{fuzz_job=\"0\"} 600000\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "\nptshadow_job_state{fuzz_job=\"0\",state=\"running\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "\nptshadow_job_state{fuzz_job=\"1\",state=\"running\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nptshadow_coverage_edges_hit 123\n"));
	ck_assert_ptr_nonnull(strstr(
	    text, "\nptshadow_coverage_function_edges_hit{function=\"pmap_enter\",file=\"guest/"
	          "pmap.c\"} 45\n"));
	ck_assert_ptr_nonnull(strstr(text, "file=\"guest/../x\\\" onmouseover=\\\"y.c\"} 99\n"));
	ck_assert_ptr_nonnull(strstr(text, "profile=\"<img src=x onerror=alert(1)>\""));
	free(text);
	json_decref(st);

	/* no coverage: mode off, and no edges */
	st = json_pack("{s:i}", "ops", 5);
	ck_assert_int_eq(metrics_write(tu_dir, st, err, sizeof(err)), 0);
	text = tu_read_file(tu_path(METRICS_FILE), NULL);
	check_metrics_text(text);
	ck_assert_ptr_nonnull(strstr(text, "ptshadow_coverage_info{mode=\"off\"} 1\n"));
	ck_assert_ptr_null(strstr(text, "ptshadow_coverage_edges"));
	free(text);
	json_decref(st);
}
END_TEST

/* ---- ptshadow report ------------------------------------------------------ */

START_TEST(report_refuses_what_is_not_an_out)
{
	static const char *const bad[] = {"nonexistent", "a-file", "not-out"};
	static const char *const want[] = {"No such file or directory", "not a directory",
	                                   "not a campaign's output directory"};
	struct tu_proc p;

	write_text(tu_path("a-file"), "x\n");
	make_dir(tu_path("not-out"));
	for (unsigned i = 0; i < 3; i++) {
		char *argv[] = {(char *)tu_bin(), "report", (char *)tu_path(bad[i]), NULL};
		tu_run(&p, 60, argv);
		ck_assert_msg(p.status == 2, "%s: exit %d\n%s", bad[i], p.status, p.err);
		ck_assert_uint_eq(tu_count_lines(p.err), 1);
		ck_assert_msg(strstr(p.err, tu_path(bad[i])) != NULL &&
		                  strstr(p.err, want[i]) != NULL,
		              "%s", p.err);
		tu_proc_free(&p);
	}
	char *none[] = {(char *)tu_bin(), "report", NULL};
	tu_run(&p, 60, none);
	ck_assert_int_eq(p.status, 2);
	tu_proc_free(&p);
	char *help[] = {(char *)tu_bin(), "report", "--help", NULL};
	tu_run(&p, 60, help);
	ck_assert_int_eq(p.status, 0);
	ck_assert_ptr_nonnull(strstr(p.out, "usage: ptshadow report OUT"));
	tu_proc_free(&p);
	/* a page that cannot be written: exit 3, naming it */
	make_dir(tu_path("ro"));
	make_dir(tu_path("ro/crashes"));
	make_dir(tu_path("ro/" PAGE_FILE)); /* a directory where the page belongs */
	char *ro[] = {(char *)tu_bin(), "report", (char *)tu_path("ro"), NULL};
	tu_run(&p, 60, ro);
	ck_assert_msg(p.status == 3 && strstr(p.err, PAGE_FILE) != NULL, "exit %d\n%s", p.status,
	              p.err);
	tu_proc_free(&p);
}
END_TEST

/* ---- in Chromium ----------------------------------------------------------- */

/* The page as Chromium shows it: no console message (a script, or a load
 * the page's policy refused, would make one), the tables in the DOM, a
 * screenshot of the window's size.  The caller frees b. */
static void browse_page(const char *out, const char *png, struct tu_browse *b)
{
	char html[700], console[600];

	snprintf(html, sizeof(html), "%s/%s", out, PAGE_FILE);
	tu_browse(html, png, SHOT_W, SHOT_H, BROWSE_TIMEOUT_S, b);
	ck_assert_msg(!b->timed_out && b->status == 0, "chromium: %s, exit %d\n%.3000s",
	              b->timed_out ? "hung" : "failed", b->status, b->log);
	ck_assert_msg(tu_console_line(b->log, console, sizeof(console)) == NULL,
	              "the page spoke on the console: %s", console);
	ck_assert_ptr_nonnull(strstr(b->dom, "<table id=\"findings\">"));
	ck_assert_ptr_nonnull(strstr(b->dom, "<table id=\"coverage\">"));
	ck_assert_ptr_nonnull(strstr(b->dom, "<table id=\"jobs\">"));
	ck_assert_ptr_nonnull(strstr(b->dom, "id=\"chart-ops\""));
	ck_assert_ptr_null(strstr(b->dom, "<script"));
	ck_assert_msg(b->png_w == SHOT_W && b->png_h == SHOT_H, "screenshot %ux%u, want %ux%u",
	              b->png_w, b->png_h, SHOT_W, SHOT_H);
}

/* The last data row of plot_data.csv */
static void last_row(const char *out, struct plot_data *pd, struct plot_row *r)
{
	char err[512];

	ck_assert_msg(plot_data_load(out, pd, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_ge(pd->nruns, 1);
	ck_assert_uint_ge(pd->run[pd->nruns - 1].nrows, 1);
	*r = pd->run[pd->nruns - 1].rows[pd->run[pd->nruns - 1].nrows - 1];
}

/* A 100,000-op campaign on the real guest writes plot_data.csv (rows up to
 * its last op), metrics.prom and index.html; a second campaign on the same
 * OUT appends a run of its own, and its page draws both. */
START_TEST(campaign_writes_plot_metrics_page)
{
	char out[600], path[700];
	struct plot_data pd;
	struct plot_row r;
	struct tu_proc p;
	char *text;

	if (!tu_need_backend("campaign_writes_plot_metrics_page"))
		return;
	snprintf(out, sizeof(out), "%s/clean", tu_dir);
	char *argv[] = {(char *)tu_bin(), "fuzz",   "--seed",           "2",
	                "--ops",          "100000", "--quiet",          "--metrics",
	                "--out",          out,      (char *)tu_guest(), NULL};
	tu_run(&p, 900, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	tu_proc_free(&p);
	last_row(out, &pd, &r);
	ck_assert_uint_eq(pd.nruns, 1);
	ck_assert_uint_eq(pd.bad_lines, 0);
	ck_assert_uint_eq(r.ops, 100000);
	ck_assert_uint_eq(r.unique_findings, 0);
	ck_assert_uint_eq(r.jobs_running, 0);
	ck_assert_int_gt(r.edges_hit, 0); /* coverage is on by default (--coverage report) */
	ck_assert_ptr_nonnull(strstr(pd.run[0].note, "seed=2 profile=default"));
	plot_data_free(&pd);
	snprintf(path, sizeof(path), "%s/%s", out, METRICS_FILE);
	text = tu_read_file(path, NULL);
	check_metrics_text(text);
	ck_assert_ptr_nonnull(strstr(text, "\nptshadow_ops_total 100000\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nptshadow_finished 1\n"));
	free(text);

	argv[3] = "3";
	argv[5] = "2000";
	tu_run(&p, 900, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	tu_proc_free(&p);
	last_row(out, &pd, &r);
	ck_assert_uint_eq(pd.nruns, 2);
	ck_assert_uint_eq(r.ops, 2000);
	plot_data_free(&pd);
	snprintf(path, sizeof(path), "%s/%s", out, PAGE_FILE);
	text = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "campaign 2 (the last)"));
	ck_assert_uint_eq(occurrences(text, "<polyline"), 4); /* 2 campaigns, 2 charts */
	ck_assert_ptr_nonnull(strstr(text, "<table id=\"findings\">"));
	ck_assert_ptr_null(strstr(text, "id=\"problems\"")); /* nothing missing */
	free(text);
}
END_TEST

/* A campaign killed with kill -9 leaves plot_data.csv whole lines only, and
 * its page can be made from what it left. */
START_TEST(kill_9_leaves_whole_rows)
{
	char out[600], path[700];
	struct plot_data pd;
	struct tu_proc p;
	char err[512];
	char *text;

	if (!tu_need_backend("kill_9_leaves_whole_rows"))
		return;
	snprintf(out, sizeof(out), "%s/killed", tu_dir);
	char *argv[] = {
	    (char *)tu_bin(), "fuzz", "--seed",           "4", "--ops", "100000000", "--quiet",
	    "--out",          out,    (char *)tu_guest(), NULL};
	tu_run_signal(&p, 900, 4.0, SIGKILL, argv);
	ck_assert_msg(p.status == 128 + SIGKILL, "exit %d\n%.1500s", p.status, p.err);
	tu_proc_free(&p);
	snprintf(path, sizeof(path), "%s/%s", out, PLOT_FILE);
	text = tu_read_file(path, NULL);
	ck_assert_msg(text[0] != '\0' && text[strlen(text) - 1] == '\n', "a torn line:\n%s", text);
	free(text);
	ck_assert_msg(plot_data_load(out, &pd, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(pd.nruns, 1);
	ck_assert_uint_eq(pd.bad_lines, 0);
	ck_assert_uint_ge(pd.run[0].nrows, 2); /* a row a second */
	plot_data_free(&pd);
	char *report[] = {(char *)tu_bin(), "report", out, NULL};
	tu_run(&p, 60, report);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	tu_proc_free(&p);
	snprintf(path, sizeof(path), "%s/%s", out, PAGE_FILE);
	text = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "running (or stopped without a last word)"));
	free(text);
}
END_TEST

/* A clean campaign's page in Chromium. */
START_TEST(campaign_page_in_chromium)
{
	char out[600], path[700];
	struct tu_browse b;
	struct tu_proc p;

	if (!tu_need_backend("campaign_page_in_chromium") ||
	    !tu_need_chromium("campaign_page_in_chromium"))
		return;
	snprintf(out, sizeof(out), "%s/clean-browse", tu_dir);
	char *argv[] = {
	    (char *)tu_bin(), "fuzz", "--seed",           "2", "--ops", "5000", "--quiet",
	    "--out",          out,    (char *)tu_guest(), NULL};
	tu_run(&p, 900, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	tu_proc_free(&p);
	snprintf(path, sizeof(path), "%s/page.png", tu_dir);
	browse_page(out, path, &b);
	/* the campaign's own coverage (report, the default), a row a function */
	ck_assert_ptr_null(strstr(b.dom, "coverage: off"));
	ck_assert_ptr_nonnull(strstr(b.dom, "pmap_enter"));
	ck_assert_ptr_nonnull(strstr(b.dom, "no findings"));
	ck_assert_ptr_nonnull(strstr(b.dom, "campaign 1 (the last)"));
	ck_assert_uint_eq(occurrences(b.dom, "<polyline"), 2);
	tu_browse_free(&b);
}
END_TEST

/* Coverage as stats.json will have it, added to a campaign's own. */
static void add_coverage(const char *out)
{
	char path[700];
	json_error_t je;
	json_t *st, *cov;

	snprintf(path, sizeof(path), "%s/stats.json", out);
	st = json_load_file(path, 0, &je);
	ck_assert_msg(st != NULL, "%s: %s", path, je.text);
	cov = json_pack("{s:s, s:i, s:i, s:[{s:s, s:s, s:i, s:i, s:i}, {s:s, s:s, s:i, s:i, s:i}]}",
	                "mode", "report", "edges_total", 140, "edges_hit", 45, "functions", "name",
	                "pmap_enter", "file", "guest/pmap.c", "line", 321, "edges", 60, "hit", 45,
	                "name", "pool_get", "file", "guest/pool.c", "line", 88, "edges", 80, "hit",
	                0);
	ck_assert_ptr_nonnull(cov);
	json_object_set_new(st, "coverage", cov);
	ck_assert_int_eq(json_dump_file(st, path, JSON_INDENT(2)), 0);
	json_decref(st);
	snprintf(path, sizeof(path), "%s/coverage", out);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/coverage/pmap.c.txt", out);
	write_text(path, "annotated source\n");
}

/* A campaign on a mutant: one row a crash directory, with its links; and
 * coverage, as it will be in stats.json, in its table after `ptshadow
 * report` made the page again. */
START_TEST(findings_page_in_chromium)
{
	char out[600], path[700], sig[17] = "", link[200];
	struct tu_browse b;
	struct plot_row r;
	struct plot_data pd;
	struct tu_proc p;
	unsigned ncrash;
	DIR *d;
	struct dirent *e;

	if (!tu_need_backend("findings_page_in_chromium") ||
	    !tu_need_chromium("findings_page_in_chromium"))
		return;
	ck_assert_msg(access(mutant, R_OK) == 0, "%s missing: make mutants", mutant);
	snprintf(out, sizeof(out), "%s/mutant", tu_dir);
	char *argv[] = {(char *)tu_bin(), "fuzz", "--seed",       "1",       "--ops", "20000",
	                "--jobs",         "1",    "--keep-going", "--quiet", "--out", out,
	                (char *)mutant,   NULL};
	tu_run(&p, 900, argv);
	ck_assert_msg(p.status == 1, "exit %d\n%.1500s%.1500s", p.status, p.out, p.err);
	tu_proc_free(&p);
	ncrash = tu_crash_dirs(out, NULL, 0);
	ck_assert_uint_ge(ncrash, 1);
	last_row(out, &pd, &r);
	ck_assert_uint_eq(r.unique_findings, ncrash);
	ck_assert_uint_ge(r.findings_total, ncrash);
	plot_data_free(&pd);

	snprintf(path, sizeof(path), "%s/crashes", out);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			snprintf(sig, sizeof(sig), "%s", e->d_name);
	closedir(d);
	snprintf(path, sizeof(path), "%s/crashes/%s/walk.svg", out, sig);
	write_text(path, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n");
	add_coverage(out);
	char *report[] = {(char *)tu_bin(), "report", out, NULL};
	tu_run(&p, 60, report);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	tu_proc_free(&p);

	snprintf(path, sizeof(path), "%s/findings.png", tu_dir);
	browse_page(out, path, &b);
	ck_assert_uint_eq(occurrences(b.dom, "<tr id=\"f-"), ncrash);
	ck_assert_uint_eq(occurrences(b.dom, "\">report.txt</a>"), ncrash);
	ck_assert_uint_eq(occurrences(b.dom, "\">report.json</a>"), ncrash);
	ck_assert_uint_eq(occurrences(b.dom, "\">min.ops</a>"), ncrash);
	snprintf(link, sizeof(link), "<a href=\"crashes/%s/walk.svg\">", sig);
	ck_assert_ptr_nonnull(strstr(b.dom, link));
	ck_assert_ptr_nonnull(strstr(b.dom, "ATTR-1"));
	ck_assert_ptr_nonnull(
	    strstr(b.dom, "<a href=\"coverage/pmap.c.txt\">guest/pmap.c:321</a>"));
	ck_assert_ptr_nonnull(strstr(b.dom, "guest/pool.c:88")); /* no annotated file: no link */
	ck_assert_ptr_null(strstr(b.dom, "coverage/pool.c.txt"));
	ck_assert_ptr_null(strstr(b.dom, "coverage: off"));
	tu_browse_free(&b);
}
END_TEST

/* The hostile directory in Chromium: the page's policy would report any
 * script or load that got through; none does. */
START_TEST(hostile_page_in_chromium)
{
	char out[600], path[700];
	struct tu_browse b;
	struct tu_proc p;

	if (!tu_need_chromium("hostile_page_in_chromium"))
		return;
	snprintf(out, sizeof(out), "%s/hostile", tu_dir);
	make_hostile_out(out);
	char *report[] = {(char *)tu_bin(), "report", out, NULL};
	tu_run(&p, 60, report);
	ck_assert_msg(p.status == 0, "exit %d\n%s", p.status, p.err);
	tu_proc_free(&p);
	snprintf(path, sizeof(path), "%s/hostile.png", tu_dir);
	browse_page(out, path, &b);
	ck_assert_ptr_null(strstr(b.dom, "<img"));
	ck_assert_ptr_nonnull(strstr(b.dom, "&lt;script&gt;alert(4)&lt;/script&gt;"));
	ck_assert_uint_eq(occurrences(b.dom, "<tr id=\"f-"), 3);
	tu_browse_free(&b);
}
END_TEST

Suite *suite_page(void);

Suite *suite_page(void)
{
	Suite *s = suite_create("page");
	TCase *files = tcase_create("files");
	TCase *browser = tcase_create("chromium");

	tu_tmpdir_fixture(files);
	tcase_set_timeout(files, 120);
	tcase_add_test(files, html_text_is_never_markup);
	tcase_add_test(files, plot_two_runs_append_and_read_back);
	tcase_add_test(files, plot_bad_lines_are_skipped);
	tcase_add_test(files, plot_short_write_is_cut_back);
	tcase_add_test(files, page_of_hostile_out_is_text);
	tcase_add_test(files, page_of_empty_out);
	tcase_add_test(files, metrics_of_stats);
	tcase_add_test(files, report_refuses_what_is_not_an_out);
	suite_add_tcase(s, files);
	TCase *campaign = tcase_create("campaign");
	tu_tmpdir_fixture(campaign);
	tcase_set_timeout(campaign, 1800);
	tcase_add_test(campaign, campaign_writes_plot_metrics_page);
	tcase_add_test(campaign, kill_9_leaves_whole_rows);
	suite_add_tcase(s, campaign);
	tu_tmpdir_fixture(browser);
	tcase_set_timeout(browser, 1800);
	tcase_add_test(browser, hostile_page_in_chromium);
	tcase_add_test(browser, campaign_page_in_chromium);
	tcase_add_test(browser, findings_page_in_chromium);
	suite_add_tcase(s, browser);
	return s;
}
