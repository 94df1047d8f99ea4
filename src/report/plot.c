/* src/report/plot.c - OUT/plot_data.csv: appended a whole line a write, read
 * back with every line checked (plot.h has the format). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "outdir.h"
#include "plot.h"

/* One whole line (or the two header lines) in one write; a short write is
 * cut back off, so the file holds whole lines only.  A file that ends in
 * the middle of a line (a crash, a torn write) gets its newline first. */
static int write_whole(struct plot_log *log, const char *text, size_t len, char *err, size_t errlen)
{
	struct stat st;
	off_t before = -1;
	ssize_t n = -1;
	char last;
	/* read too: the file's last byte */
	int fd = open(log->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		goto fail;
	if (fstat(fd, &st) == 0)
		before = st.st_size;
	if (before > 0 && pread(fd, &last, 1, before - 1) == 1 && last != '\n' &&
	    write(fd, "\n", 1) == 1)
		before++;
	do
		n = write(fd, text, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		if (close(fd) == 0)
			return 0;
		n = -1;
		fd = -1;
	} else if (n >= 0 && before >= 0 && ftruncate(fd, before) != 0) {
		n = -1; /* errno says why the cut failed too */
	}
fail:
	snprintf(err, errlen, "%s: %s", log->path,
	         n < 0 ? strerror(errno) : "No space left on device");
	if (fd >= 0)
		close(fd);
	return -1;
}

int plot_log_open(struct plot_log *log, const char *out, const char *run_note, char *err,
                  size_t errlen)
{
	char head[1024], when[32];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	memset(&log->last, 0, sizeof(log->last));
	memset(&log->before, 0, sizeof(log->before));
	log->open = false;
	snprintf(log->path, sizeof(log->path), "%s/%s", out, PLOT_FILE);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(head, sizeof(head), "# run %lld %s %.600s\n# %s\n", (long long)now, when,
	             run_note, PLOT_COLUMNS);
	if (write_whole(log, head, (size_t)n, err, errlen) != 0)
		return -1;
	log->open = true;
	return 0;
}

int plot_log_append(struct plot_log *log, struct plot_row *row, char *err, size_t errlen)
{
	char line[256], edges[24] = "";
	const struct plot_row *last = &log->last, *base;
	double dt = row->time_s - last->time_s;
	int n;

	if (!log->open)
		return 0;
	if (dt < 1.0 && row->ops == last->ops && row->unique_findings == last->unique_findings &&
	    row->findings_total == last->findings_total &&
	    row->jobs_running == last->jobs_running && row->edges_hit == last->edges_hit)
		return 0;
	/* a rate over a fraction of a second is noise: the last row of a campaign
	 * comes right after a periodic one, when the jobs have stopped */
	base = dt < 1.0 && last->time_s > 0 ? &log->before : last;
	dt = row->time_s - base->time_s;
	row->ops_per_s =
	    dt > 0 && row->ops >= base->ops ? (double)(row->ops - base->ops) / dt : 0.0;
	if (row->edges_hit >= 0)
		snprintf(edges, sizeof(edges), "%lld", (long long)row->edges_hit);
	n = snprintf(line, sizeof(line), "%.2f,%llu,%.1f,%llu,%llu,%u,%s\n", row->time_s,
	             (unsigned long long)row->ops, row->ops_per_s,
	             (unsigned long long)row->unique_findings,
	             (unsigned long long)row->findings_total, row->jobs_running, edges);
	if (write_whole(log, line, (size_t)n, err, errlen) != 0)
		return -1;
	log->before = log->last;
	log->last = *row;
	return 0;
}

static uint64_t stats_u64(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

void plot_row_from_stats(const json_t *stats, struct plot_row *row)
{
	const json_t *per_job = json_object_get(stats, "per_job");
	const json_t *edges = json_object_get(json_object_get(stats, "coverage"), "edges_hit");

	memset(row, 0, sizeof(*row));
	row->time_s = json_number_value(json_object_get(stats, "elapsed_s"));
	if (!(row->time_s >= 0 && row->time_s < 1e12))
		row->time_s = 0;
	row->ops = stats_u64(stats, "ops");
	row->unique_findings = stats_u64(stats, "unique_findings");
	row->findings_total = stats_u64(stats, "findings_total");
	for (size_t i = 0; i < json_array_size(per_job); i++) {
		const char *state =
		    json_string_value(json_object_get(json_array_get(per_job, i), "state"));
		row->jobs_running += state != NULL && strcmp(state, "running") == 0;
	}
	row->edges_hit = json_is_integer(edges) && json_integer_value(edges) >= 0
	                     ? (int64_t)json_integer_value(edges)
	                     : -1;
}

/* ---- reading -------------------------------------------------------------- */

/* a whole field of decimal digits */
static bool field_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool field_double(const char *s, double *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	*v = strtod(s, &end);
	return *end == '\0' && isfinite(*v);
}

/* line: one row, modified in place */
static bool parse_row(char *line, struct plot_row *r)
{
	char *f[8], *p = line;
	size_t n;
	uint64_t jobs, edges;

	for (n = 0; n < 8 && p != NULL; n++) {
		f[n] = p;
		p = strchr(p, ',');
		if (p != NULL)
			*p++ = '\0';
	}
	if (n != 7 || p != NULL)
		return false;
	if (!field_double(f[0], &r->time_s) || !field_u64(f[1], &r->ops) ||
	    !field_double(f[2], &r->ops_per_s) || !field_u64(f[3], &r->unique_findings) ||
	    !field_u64(f[4], &r->findings_total) || !field_u64(f[5], &jobs) || jobs > 1000000)
		return false;
	r->jobs_running = (unsigned)jobs;
	r->edges_hit = -1;
	if (f[6][0] == '\0')
		return true;
	if (!field_u64(f[6], &edges) || edges > INT64_MAX)
		return false;
	r->edges_hit = (int64_t)edges;
	return true;
}

static struct plot_run *new_run(struct plot_data *pd, const char *note)
{
	struct plot_run *r;

	if (pd->nruns == PLOT_RUNS_MAX) { /* keep the newest */
		free(pd->run[0].rows);
		memmove(&pd->run[0], &pd->run[1], sizeof(pd->run[0]) * (PLOT_RUNS_MAX - 1));
		pd->nruns--;
		pd->runs_dropped++;
	}
	r = &pd->run[pd->nruns++];
	memset(r, 0, sizeof(*r));
	snprintf(r->note, sizeof(r->note), "%s", note);
	return r;
}

static bool add_row(struct plot_run *r, const struct plot_row *row)
{
	if (r->nrows == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct plot_row *rows = realloc(r->rows, cap * sizeof(*rows));
		if (rows == NULL)
			return false;
		r->rows = rows;
		r->cap = cap;
	}
	r->rows[r->nrows++] = *row;
	return true;
}

static void parse_line(struct plot_data *pd, char *line)
{
	struct plot_row row;

	if (strncmp(line, "# run ", 6) == 0) {
		new_run(pd, line + 6);
		return;
	}
	if (line[0] == '#' || line[0] == '\0')
		return;
	if (!parse_row(line, &row)) {
		pd->bad_lines++;
		return;
	}
	/* rows before any run line: the start of the file was not read */
	if (pd->nruns == 0)
		new_run(pd, "");
	if (!add_row(&pd->run[pd->nruns - 1], &row))
		pd->bad_lines++;
}

int plot_data_load(const char *out, struct plot_data *pd, char *err, size_t errlen)
{
	char path[4096], *text, *line, *next;

	memset(pd, 0, sizeof(*pd));
	snprintf(path, sizeof(path), "%s/%s", out, PLOT_FILE);
	text = outdir_read(path, PLOT_READ_MAX, true, NULL, &pd->cut, err, errlen);
	if (text == NULL)
		return -1;
	line = text;
	if (pd->cut) { /* the first line read is likely a part of one */
		next = strchr(line, '\n');
		line = next != NULL ? next + 1 : line + strlen(line);
	}
	for (; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next == NULL) /* a last line without its newline: being written, or torn */
			break;
		*next++ = '\0';
		if (next - line > 1 && next[-2] == '\r')
			next[-2] = '\0';
		parse_line(pd, line);
	}
	free(text);
	return 0;
}

void plot_data_free(struct plot_data *pd)
{
	for (size_t i = 0; i < pd->nruns; i++)
		free(pd->run[i].rows);
	memset(pd, 0, sizeof(*pd));
}
