/* src/cli/bench_cov.c - `ptshadow bench --coverage NOCOV.elf` (a part of make
 * bench): what coverage costs in checked ops/s (the guest built with and
 * without it, the map read or not; wall clock and CPU time, rounds of the
 * settings interleaved, medians), and how soon guided fuzzing finds each
 * in-tree mutant against random fuzzing, with the same seeds and op budget.
 */
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "campaign.h"
#include "clock.h"
#include "cli.h"
#include "util.h"

#define COST_OPS      10000 /* ops a cost campaign: ~1-2 s on QEMU TCG here */
#define COST_ROUNDS   7     /* rounds of every setting, interleaved; medians count */
#define DETECT_OPS    20000 /* op budget a mutant, a seed, a mode */
#define DETECT_SEEDS  3
#define DETECT_SEQLEN 200 /* both modes: the guide learns once a sequence */
#define DETECT_SECS   300 /* the whole comparison stops after this */

struct bench_run {
	const char *guest;
	enum cov_mode mode;
	uint64_t seed, max_ops, seq_len;
	double secs;  /* out: wall time */
	uint64_t ops; /* out: ops run (with one job: the op that found, if any) */
	bool found;   /* out: a finding */
	char dir[64]; /* the campaign's --out, removed after */
};

static void remove_dir(const char *dir)
{
	char cmd[PATH_MAX];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "ptshadow bench: could not remove %s\n", dir);
}

/* ops and findings from the campaign's stats.json */
static int read_outcome(struct bench_run *r)
{
	char path[PATH_MAX];
	json_t *j;

	snprintf(path, sizeof(path), "%s/stats.json", r->dir);
	j = json_load_file(path, 0, NULL);
	if (j == NULL)
		return -1;
	r->ops = (uint64_t)json_integer_value(json_object_get(j, "ops"));
	r->found = json_integer_value(json_object_get(j, "unique_findings")) > 0;
	json_decref(j);
	return 0;
}

/* One campaign of one job, its summary silenced; 0 or -1. */
static int bench_campaign(const struct session_config *sess, struct bench_run *r)
{
	struct campaign_config c = {.sess = *sess, .out = r->dir, .jobs = 1, .quiet = true};
	struct cov_image img;
	char err[1024];
	int rc;
	uint64_t t0;

	snprintf(r->dir, sizeof(r->dir), "/tmp/ptshadow-bench-cov-XXXXXX");
	if (mkdtemp(r->dir) == NULL || fuzz_profile_load("default", &c.profile, err, sizeof(err)))
		return -1;
	c.sess.guest = r->guest;
	c.sess.ring = c.sess.stop_each = c.sess.monitor = c.sess.snapshot = true;
	c.sess.incremental = true; /* as fuzz checks by default */
	c.sess.full_every = 1000;
	c.sess.console = NULL;
	c.seed = r->seed;
	c.max_ops = r->max_ops;
	c.seq_len = r->seq_len;
	c.coverage = r->mode;
	if (cov_image_load(r->guest, &img, err, sizeof(err)) != 0) {
		fprintf(stderr, "ptshadow bench: %s\n", err);
		remove_dir(r->dir);
		return -1;
	}
	c.cov = r->mode != COV_OFF && img.nedges > 0 ? &img : NULL;
	t0 = now_ns();
	rc = campaign_run_quiet(&c);
	r->secs = (now_ns() - t0) / 1e9;
	rc = (rc == EXIT_CLEAN || rc == EXIT_FINDING) && !vm_interrupted ? read_outcome(r) : -1;
	cov_image_free(&img);
	remove_dir(r->dir);
	return rc;
}

/* CPU seconds (user + system) of this process and of the children it has
 * waited for: a campaign's job and the job's QEMU are such children once
 * the campaign returns */
static double cpu_secs(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
	                kids.ru_stime.tv_sec) +
	       (self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
	        kids.ru_stime.tv_usec) /
	           1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* the median of n values (sorted in place) */
static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double load_average(void)
{
	double la[1] = {-1};

	return getloadavg(la, 1) == 1 ? la[0] : -1;
}

#define COST_SETTINGS 3

/* checked ops per wall second and per CPU second of each setting, a round */
struct cost_rounds {
	double wall[COST_ROUNDS][COST_SETTINGS], cpu[COST_ROUNDS][COST_SETTINGS];
};

static const char *const cost_names[COST_SETTINGS] = {
    "no coverage in the guest", "coverage, --coverage off", "coverage, --coverage report"};

/* COST_ROUNDS rounds of the three settings one after the other (ABCABC...),
 * so that a change of load hits the settings of a round alike */
static int cost_measure(const struct session_config *sess, const char *guest, const char *nocov,
                        struct cost_rounds *cr)
{
	for (unsigned round = 0; round < COST_ROUNDS; round++)
		for (unsigned k = 0; k < COST_SETTINGS; k++) {
			struct bench_run r = {.guest = k == 0 ? nocov : guest,
			                      .mode = k == 2 ? COV_REPORT : COV_OFF,
			                      .seed = 1,
			                      .max_ops = COST_OPS,
			                      .seq_len = 1000};
			double cpu0 = cpu_secs();
			if (bench_campaign(sess, &r) != 0 || r.found || r.ops != COST_OPS) {
				fprintf(stderr,
				        "ptshadow bench: coverage cost: %s: the campaign failed\n",
				        cost_names[k]);
				return -1;
			}
			cr->wall[round][k] = r.ops / r.secs;
			cr->cpu[round][k] = r.ops / (cpu_secs() - cpu0);
		}
	return 0;
}

/* the median over the rounds of each round's a/b, with its range */
static double median_ratio(const double (*v)[COST_SETTINGS], unsigned a, unsigned b, double *lo,
                           double *hi)
{
	double r[COST_ROUNDS];

	for (unsigned i = 0; i < COST_ROUNDS; i++)
		r[i] = v[i][a] / v[i][b];
	double m = median(r, COST_ROUNDS);
	*lo = r[0];
	*hi = r[COST_ROUNDS - 1];
	return m;
}

/* one line: setting a against setting b, by the wall clock and by CPU time */
static json_t *say_cost(const struct cost_rounds *cr, unsigned a, unsigned b, const char *what)
{
	double wlo, whi, clo, chi;
	double w = median_ratio(cr->wall, a, b, &wlo, &whi);
	double c = median_ratio(cr->cpu, a, b, &clo, &chi);

	printf("  %-44s wall %.2fx (%.2f-%.2f)  CPU %.2fx (%.2f-%.2f)\n", what, w, wlo, whi, c, clo,
	       chi);
	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "wall_median", w, "wall_min", wlo,
	                 "wall_max", whi, "cpu_median", c, "cpu_min", clo, "cpu_max", chi);
}

/* every round's figures: [{"wall": [3 settings], "cpu": [...]}, ...] */
static json_t *cost_rounds_json(const struct cost_rounds *cr)
{
	json_t *rounds = json_array();

	for (unsigned i = 0; i < COST_ROUNDS; i++)
		json_array_append_new(
		    rounds, json_pack("{s:[f,f,f], s:[f,f,f]}", "wall_ops_per_s", cr->wall[i][0],
		                      cr->wall[i][1], cr->wall[i][2], "ops_per_cpu_s",
		                      cr->cpu[i][0], cr->cpu[i][1], cr->cpu[i][2]));
	return rounds;
}

/* checked ops/s of the guest without coverage, with it (map not read), with
 * it and the map read (the default), interleaved; medians of the rounds */
static int bench_cost(const struct session_config *sess, const char *guest, const char *nocov,
                      json_t *out)
{
	struct cost_rounds cr;
	double load0 = load_average(), wall0[COST_ROUNDS];

	if (cost_measure(sess, guest, nocov, &cr) != 0)
		return -1;
	for (unsigned i = 0; i < COST_ROUNDS; i++)
		wall0[i] = cr.wall[i][0];
	printf("coverage cost: %u ops a campaign (seed 1, the same ops in each, 1 job, boots "
	       "included), %u rounds of the three settings interleaved; load average %.2f before, "
	       "%.2f after\n",
	       COST_OPS, COST_ROUNDS, load0, load_average());
	printf("  the guest without coverage (make COVERAGE=0) has its pmap compiled by gcc, the "
	       "one with coverage by clang: their ratio is the compiler's too\n");
	printf("  a setting's checked ops per wall-clock second (wall) and per CPU second, user + "
	       "system of ptshadow, its job and the job's QEMU (CPU), over another's in the same "
	       "round: median of the rounds (lowest-highest)\n");
	json_t *cost = json_pack("{s:i, s:f}", "ops", COST_OPS, "nocov_ops_per_s_median",
	                         median(wall0, COST_ROUNDS));
	json_object_set_new(cost, "guest_cov_off",
	                    say_cost(&cr, 1, 0, "coverage compiled in, off / no coverage"));
	json_object_set_new(cost, "guest_cov_report",
	                    say_cost(&cr, 2, 0, "coverage compiled in, report / no coverage"));
	json_object_set_new(cost, "report_over_off",
	                    say_cost(&cr, 2, 1, "report / off (the host's part)"));
	json_object_set_new(cost, "rounds", cost_rounds_json(&cr));
	json_object_set_new(out, "cost", cost);
	return 0;
}

/* the mutants of configs/mutants.list, in its order (names in buf) */
static unsigned mutant_names(char names[][64], unsigned max)
{
	FILE *f = fopen("configs/mutants.list", "r");
	char line[512];
	unsigned n = 0;

	while (f != NULL && n < max && fgets(line, sizeof(line), f) != NULL)
		if (line[0] != '#' && sscanf(line, "%63s", names[n]) == 1)
			n++;
	if (f != NULL)
		fclose(f);
	return n;
}

struct detect_totals {
	unsigned found[2], runs, guide_sooner, random_sooner, same;
	double ops_sum[2]; /* over the pairs both modes found */
	unsigned both;
};

/* one mutant, every seed, both modes: a line of the table */
/* one seed's two runs (random, guide) into the totals */
static void count_detection(struct detect_totals *t, const struct bench_run r[2])
{
	uint64_t a = r[0].found ? r[0].ops : UINT64_MAX, b = r[1].found ? r[1].ops : UINT64_MAX;

	t->runs++;
	if (r[0].found && r[1].found) {
		t->both++;
		t->ops_sum[0] += r[0].ops;
		t->ops_sum[1] += r[1].ops;
	}
	t->guide_sooner += b < a;
	t->random_sooner += a < b;
	t->same += a == b;
}

static int detect_mutant(const struct session_config *sess, const char *elf, const char *name,
                         struct detect_totals *t, json_t *rows)
{
	json_t *row = json_pack("{s:s, s:[], s:[]}", "mutant", name, "random", "guide");

	printf("  %-32s", name);
	for (uint64_t seed = 1; seed <= DETECT_SEEDS; seed++) {
		struct bench_run r[2];
		for (unsigned m = 0; m < 2; m++) {
			r[m] = (struct bench_run){.guest = elf,
			                          .mode = m ? COV_GUIDE : COV_REPORT,
			                          .seed = seed,
			                          .max_ops = DETECT_OPS,
			                          .seq_len = DETECT_SEQLEN};
			if (bench_campaign(sess, &r[m]) != 0) {
				json_decref(row);
				return -1;
			}
			t->found[m] += r[m].found;
			json_array_append_new(json_object_get(row, m ? "guide" : "random"),
			                      r[m].found ? json_integer((json_int_t)r[m].ops)
			                                 : json_null());
		}
		count_detection(t, r);
		char cell[2][24];
		for (unsigned m = 0; m < 2; m++)
			snprintf(cell[m], sizeof(cell[m]), r[m].found ? "%llu" : "-",
			         (unsigned long long)r[m].ops);
		printf("  %6s/%-6s", cell[0], cell[1]);
	}
	printf("\n");
	json_array_append_new(rows, row);
	return 0;
}

/* guided against random on every mutant beside guest (mutants/NAME.elf) */
/* the totals of time to detection, said and into out's "detection" (rows: each mutant's) */
static void say_detection(const struct detect_totals *t, json_t *rows, json_t *out)
{
	printf("  found: random %u, guide %u of %u runs; sooner: guide %u, random %u, same %u\n",
	       t->found[0], t->found[1], t->runs, t->guide_sooner, t->random_sooner, t->same);
	if (t->both > 0)
		printf(
		    "  where both found it (%u runs): guide took %.2fx the ops of random in all\n",
		    t->both, t->ops_sum[1] / t->ops_sum[0]);
	json_object_set_new(
	    out, "detection",
	    json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:o}", "budget", DETECT_OPS,
	              "seq_len", DETECT_SEQLEN, "runs", (int)t->runs, "random_found",
	              (int)t->found[0], "guide_found", (int)t->found[1], "guide_sooner",
	              (int)t->guide_sooner, "random_sooner", (int)t->random_sooner, "both",
	              (int)t->both, "guide_over_random_ops",
	              t->both ? t->ops_sum[1] / t->ops_sum[0] : 0.0, "mutants", rows));
}

static int bench_detect(const struct session_config *sess, const char *guest, json_t *out)
{
	char names[64][64], dir[PATH_MAX], elf[PATH_MAX + 96], copy[PATH_MAX];
	unsigned n = mutant_names(names, 64), done = 0;
	struct detect_totals t;
	json_t *rows = json_array();
	uint64_t t0 = now_ns();

	memset(&t, 0, sizeof(t));
	snprintf(copy, sizeof(copy), "%s", guest);
	snprintf(dir, sizeof(dir), "%s", dirname(copy));
	printf("\ntime to detection, ops (random/guide; - = not in %u ops), seeds 1..%u, "
	       "sequences of %u ops:\n",
	       DETECT_OPS, DETECT_SEEDS, DETECT_SEQLEN);
	for (unsigned i = 0; i < n && !vm_interrupted; i++) {
		if ((now_ns() - t0) / 1000000000ull >= DETECT_SECS) {
			printf("  (stopped after %u s: %u of %u mutants)\n", DETECT_SECS, done, n);
			break;
		}
		snprintf(elf, sizeof(elf), "%s/mutants/%s.elf", dir, names[i]);
		if (access(elf, R_OK) != 0) {
			printf("  %-32s  (no %s: make mutants)\n", names[i], elf);
			continue;
		}
		if (detect_mutant(sess, elf, names[i], &t, rows) != 0) {
			json_decref(rows);
			return -1;
		}
		done++;
	}
	say_detection(&t, rows, out);
	return 0;
}

int bench_coverage(const struct session_config *sess, const char *nocov, const char *json_path)
{
	json_t *root = json_object();
	char err[512], *text;
	int rc;

	printf("ptshadow bench --coverage: guest %s, without coverage %s, backend %s\n",
	       sess->guest, nocov, vm_backend_name(sess->backend));
	rc = bench_cost(sess, sess->guest, nocov, root);
	if (rc == 0)
		rc = bench_detect(sess, sess->guest, root);
	text = rc == 0 ? json_dumps(root, JSON_INDENT(2)) : NULL;
	if (rc == 0 &&
	    (text == NULL || write_file_atomic(json_path, text, strlen(text), err, sizeof(err)))) {
		fprintf(stderr, "ptshadow bench: %s\n", text ? err : "out of memory");
		rc = -1;
	} else if (rc == 0) {
		printf("  results in %s\n", json_path);
	}
	free(text);
	json_decref(root);
	return rc == 0 ? 0 : EXIT_INTERNAL;
}
