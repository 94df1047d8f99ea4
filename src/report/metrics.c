/* src/report/metrics.c - OUT/metrics.prom from stats.json (metrics.h).
 *
 * The format is the Prometheus text format that node_exporter's textfile
 * collector parses: a counter is declared under its _total name (an
 * OpenMetrics-style "# TYPE ptshadow_ops counter" over ptshadow_ops_total
 * came out of node_exporter 1.5 as untyped), and the file ends with
 * OpenMetrics' "# EOF", which the text format reads as a comment.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "outdir.h"

#define METRICS_FUNCTIONS_MAX 4096 /* coverage functions exported */

struct metric {
	const char *key;  /* in stats.json (and in a per_job entry) */
	const char *name; /* ptshadow_... */
	const char *type;
	const char *help;
};

static const struct metric campaign_metrics[] = {
    {"ops", "ptshadow_ops_total", "counter", "Pmap ops the campaign ran, all jobs."},
    {"ops_per_s", "ptshadow_ops_per_second", "gauge", "Ops a second since the campaign started."},
    {"unique_findings", "ptshadow_unique_findings", "gauge",
     "Distinct findings (new crash directories) of the campaign."},
    {"findings_total", "ptshadow_findings_total", "counter", "Findings, recurrences included."},
    {"findings_not_saved", "ptshadow_findings_not_saved", "gauge",
     "Findings that could not be written (the campaign stops)."},
    {"sessions", "ptshadow_guest_boots_total", "counter", "Guests booted."},
    {"elapsed_s", "ptshadow_elapsed_seconds", "gauge", "Seconds since the campaign started."},
    {"check_us_mean", "ptshadow_check_microseconds_mean", "gauge",
     "The monitor's mean check time an op."},
};

static const struct metric job_metrics[] = {
    {"ops", "ptshadow_job_ops_total", "counter", "Ops a job ran."},
    {"ops_per_s", "ptshadow_job_ops_per_second", "gauge", "A job's ops a second."},
    {"findings", "ptshadow_job_findings_total", "counter",
     "A job's findings, recurrences included."},
    {"sessions", "ptshadow_job_guest_boots_total", "counter", "Guests a job booted."},
};

static const char *const job_states[] = {"running", "done", "failed"};

/* a label value from untrusted text: \ " and newline escaped, other bytes
 * that are not printable ASCII as '?', at most 128 bytes */
static void label_value(FILE *f, const char *s)
{
	for (size_t i = 0; s != NULL && s[i] != '\0' && i < 128; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' || c == '"')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else
			fputc(c >= 0x20 && c < 0x7f ? c : '?', f);
	}
}

static void family(FILE *f, const struct metric *m)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
}

/* "NAME{LABELS} VALUE" for a number member of o; false if it has none */
static bool sample(FILE *f, const char *name, const char *labels, const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		fprintf(f, "%s%s %lld\n", name, labels, (long long)json_integer_value(v));
	else if (json_is_real(v) && isfinite(json_real_value(v)))
		fprintf(f, "%s%s %.10g\n", name, labels, json_real_value(v));
	else
		return false;
	return true;
}

static void campaign(FILE *f, const json_t *st)
{
	for (size_t i = 0; i < sizeof(campaign_metrics) / sizeof(campaign_metrics[0]); i++) {
		const struct metric *m = &campaign_metrics[i];
		if (!json_is_number(json_object_get(st, m->key)))
			continue;
		family(f, m);
		sample(f, m->name, "", st, m->key);
	}
	fprintf(f,
	        "# HELP ptshadow_finished 1 once the campaign has ended.\n"
	        "# TYPE ptshadow_finished gauge\nptshadow_finished %d\n",
	        json_is_true(json_object_get(st, "finished")));
	fputs("# HELP ptshadow_campaign_info The campaign's seed, profile and backend.\n"
	      "# TYPE ptshadow_campaign_info gauge\nptshadow_campaign_info{seed=\"",
	      f);
	if (json_is_integer(json_object_get(st, "seed")))
		fprintf(f, "%lld", (long long)json_integer_value(json_object_get(st, "seed")));
	fputs("\",profile=\"", f);
	label_value(f, json_string_value(json_object_get(st, "profile")));
	fputs("\",backend=\"", f);
	label_value(f, json_string_value(json_object_get(st, "backend")));
	fputs("\"} 1\n", f);
}

static void jobs(FILE *f, const json_t *st)
{
	json_t *per_job = json_object_get(st, "per_job");
	char labels[64];
	size_t n = json_array_size(per_job);

	if (n == 0)
		return;
	for (size_t k = 0; k < sizeof(job_metrics) / sizeof(job_metrics[0]); k++) {
		family(f, &job_metrics[k]);
		for (size_t i = 0; i < n; i++) {
			snprintf(labels, sizeof(labels), "{fuzz_job=\"%zu\"}", i);
			sample(f, job_metrics[k].name, labels, json_array_get(per_job, i),
			       job_metrics[k].key);
		}
	}
	fputs("# HELP ptshadow_job_state 1 for the state a job is in (running, done, failed).\n"
	      "# TYPE ptshadow_job_state gauge\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		const char *state =
		    json_string_value(json_object_get(json_array_get(per_job, i), "state"));
		for (size_t s = 0; s < sizeof(job_states) / sizeof(job_states[0]); s++)
			fprintf(f, "ptshadow_job_state{fuzz_job=\"%zu\",state=\"%s\"} %d\n", i,
			        job_states[s], state != NULL && strcmp(state, job_states[s]) == 0);
	}
}

static void function_sample(FILE *f, const char *name, const json_t *fn, const char *key)
{
	json_t *v = json_object_get(fn, key);

	if (!json_is_integer(v))
		return;
	fprintf(f, "%s{function=\"", name);
	label_value(f, json_string_value(json_object_get(fn, "name")));
	fputs("\",file=\"", f);
	label_value(f, json_string_value(json_object_get(fn, "file")));
	fprintf(f, "\"} %lld\n", (long long)json_integer_value(v));
}

static void coverage(FILE *f, const json_t *st)
{
	json_t *cov = json_object_get(st, "coverage"), *fns = json_object_get(cov, "functions");
	const char *mode = json_string_value(json_object_get(cov, "mode"));

	fputs("# HELP ptshadow_coverage_info The guest coverage mode (off when not measured).\n"
	      "# TYPE ptshadow_coverage_info gauge\nptshadow_coverage_info{mode=\"",
	      f);
	label_value(f, mode != NULL ? mode : "off");
	fputs("\"} 1\n", f);
	if (mode == NULL || strcmp(mode, "off") == 0)
		return;
	fputs("# HELP ptshadow_coverage_edges Edges of the guest's instrumented code.\n"
	      "# TYPE ptshadow_coverage_edges gauge\n",
	      f);
	sample(f, "ptshadow_coverage_edges", "", cov, "edges_total");
	fputs("# HELP ptshadow_coverage_edges_hit Edges the campaign has hit.\n"
	      "# TYPE ptshadow_coverage_edges_hit gauge\n",
	      f);
	sample(f, "ptshadow_coverage_edges_hit", "", cov, "edges_hit");
	if (json_array_size(fns) == 0)
		return;
	fputs("# HELP ptshadow_coverage_function_edges A guest function's edges.\n"
	      "# TYPE ptshadow_coverage_function_edges gauge\n",
	      f);
	for (size_t i = 0; i < json_array_size(fns) && i < METRICS_FUNCTIONS_MAX; i++)
		function_sample(f, "ptshadow_coverage_function_edges", json_array_get(fns, i),
		                "edges");
	fputs("# HELP ptshadow_coverage_function_edges_hit A guest function's edges hit.\n"
	      "# TYPE ptshadow_coverage_function_edges_hit gauge\n",
	      f);
	for (size_t i = 0; i < json_array_size(fns) && i < METRICS_FUNCTIONS_MAX; i++)
		function_sample(f, "ptshadow_coverage_function_edges_hit", json_array_get(fns, i),
		                "hit");
}

void metrics_render(FILE *f, const json_t *stats)
{
	campaign(f, stats);
	jobs(f, stats);
	coverage(f, stats);
	fputs("# EOF\n", f);
}

static void render_metrics(FILE *f, const void *arg)
{
	metrics_render(f, arg);
}

int metrics_write(const char *out, const json_t *stats, char *err, size_t errlen)
{
	return outdir_write(out, METRICS_FILE, render_metrics, stats, err, errlen);
}
