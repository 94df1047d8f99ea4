/* src/report/plot.h - OUT/plot_data.csv, the campaign's progress over time
 * (after AFL++'s plot_data): appended to by every campaign on OUT, read back
 * by the page.  The format lives here only.
 *
 *     # run 1765103000 2026-12-07T10:23:20Z seed=7 profile=default jobs=2 backend=qemu
 *     # relative_time_s,ops,ops_per_s,unique_findings,findings_total,jobs_running,edges_hit
 *     5.00,71234,14246.8,0,0,2,
 *
 * A campaign starts with the two comment lines, then one row every few
 * seconds and one at its end; edges_hit is empty without coverage.
 */
#ifndef PTSHADOW_PLOT_H
#define PTSHADOW_PLOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLOT_FILE "plot_data.csv"
#define PLOT_COLUMNS                                                                               \
	"relative_time_s,ops,ops_per_s,unique_findings,findings_total,jobs_running,edges_hit"
/* the page reads at most the last this many bytes (a row every 5 s is under 1 MB a day) */
#define PLOT_READ_MAX (4u << 20)
/* and keeps the last this many runs */
#define PLOT_RUNS_MAX 16

struct plot_row {
	double time_s; /* since the campaign started */
	uint64_t ops;
	double ops_per_s; /* over the time since the row before (the first: since the start;
	                     a row less than a second after the one before: since the one
	                     before that, so that a campaign's last row is no spike) */
	uint64_t unique_findings, findings_total;
	unsigned jobs_running;
	int64_t edges_hit; /* -1: no coverage */
};

/* ---- writing (the campaign) ---- */

struct plot_log {
	bool open;
	char path[4096];
	struct plot_row last;   /* the row written last (zero: none yet) */
	struct plot_row before; /* and the one before it */
};

/*
 * Start a run in OUT/plot_data.csv (made if missing): its two comment lines
 * (run_note: "seed=7 profile=default ...", one line).  Every line goes out
 * in one write(2) of the whole line (O_APPEND), so a kill -9 leaves whole
 * rows; a write that falls short (a full disk) is cut back off.  The file
 * is open only while a line is written: a file held open for writing would
 * keep OUT's file system from being remounted read-only, which a campaign
 * must survive.  0, or -1 with err naming the file.
 */
int plot_log_open(struct plot_log *log, const char *out, const char *run_note, char *err,
                  size_t errlen);
/* A row from a stats.json object: elapsed_s, ops, unique_findings,
 * findings_total, the per_job entries whose state is running, and
 * coverage.edges_hit (-1 without). */
void plot_row_from_stats(const json_t *stats, struct plot_row *row);
/* Append a row (its ops_per_s is computed here), unless it says nothing the
 * last row did not, less than a second later; 0 or -1 with err. */
int plot_log_append(struct plot_log *log, struct plot_row *row, char *err, size_t errlen);

/* ---- reading (the page) ---- */

struct plot_run {
	char note[160]; /* the "# run" line after "# run " (untrusted text), or "" */
	struct plot_row *rows;
	size_t nrows, cap;
};

struct plot_data {
	struct plot_run run[PLOT_RUNS_MAX];
	size_t nruns;
	size_t runs_dropped; /* older runs beyond PLOT_RUNS_MAX */
	size_t bad_lines;    /* lines that are neither a comment nor a row */
	bool cut;            /* the file was longer than PLOT_READ_MAX: its start was not read */
};

/* Read OUT/plot_data.csv: 0, or -1 with err (missing, unreadable, not a file). */
int plot_data_load(const char *out, struct plot_data *pd, char *err, size_t errlen);
void plot_data_free(struct plot_data *pd);

#endif /* PTSHADOW_PLOT_H */
