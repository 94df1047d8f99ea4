/* src/fuzz/campaign.c - the fuzz campaign.  The parent forks one process per job
 * (each its own VM), shows a live status line, refreshes stats.json about
 * once a second and prints the summary; each job generates ops, runs them
 * under the monitor, and turns every finding into a crash directory, which
 * it minimises when the finding is new.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "campaign.h"
#include "campaign_cov.h"
#include "campaign_outputs.h"
#include "clock.h"
#include "minimize.h"
#include "report.h"
#include "util.h"

uint64_t campaign_job_seed(uint64_t seed, unsigned job)
{
	struct rng r;

	if (job == 0)
		return seed;
	rng_seed(&r, seed ^ (0x9e3779b97f4a7c15ull * job));
	return rng_next(&r);
}

static uint64_t job_budget(const struct campaign_config *cfg, unsigned job)
{
	uint64_t each;

	if (cfg->max_ops == 0)
		return UINT64_MAX;
	each = cfg->max_ops / cfg->jobs;
	return each + (job < cfg->max_ops % cfg->jobs ? 1 : 0);
}

/* An output of the campaign could not be written: the first failure is kept
 * (the parent prints it, once), and every job stops. */
static void campaign_abort(struct campaign_shared *sh, const char *err)
{
	int expected = 0;

	if (__atomic_compare_exchange_n(&sh->save_failed, &expected, 1, false, __ATOMIC_SEQ_CST,
	                                __ATOMIC_SEQ_CST))
		snprintf(sh->save_error, sizeof(sh->save_error), "%s", err);
	sh->abort_run = 1;
}

/* min.ops's text: how it was made (PARTIAL when cut short), then the ops */
static char *min_text(const struct script *repro, const struct minimize_stats *st, size_t *len)
{
	char *buf = NULL;
	FILE *mem = open_memstream(&buf, len);

	if (mem == NULL)
		return NULL;
	if (st->cut_short)
		fprintf(mem,
		        "# PARTIAL: minimisation was cut short by the campaign's time limit after "
		        "%u runs (%.1f s),\n# at %zu of %zu ops; it reproduces, a smaller script "
		        "may exist (ptshadow minimize)\n",
		        st->candidates, st->elapsed_ns / 1e9, st->ops_after, st->ops_before);
	else
		fprintf(mem, "# minimised from %zu to %zu ops in %u runs (%.1f s)\n",
		        st->ops_before, st->ops_after, st->candidates, st->elapsed_ns / 1e9);
	script_write(mem, repro, repro->n_ops, false);
	fclose(mem);
	return buf;
}

/* Minimise a new finding into min.ops, within the campaign's time: cut
 * short, a smaller script that still reproduces is written and marked
 * partial.  0, or -1 when min.ops could not be written (campaign_abort). */
static int write_min(const struct campaign_config *cfg, struct campaign_shared *sh, const char *sig,
                     uint64_t signature, struct script *repro, struct campaign_finding *cf,
                     unsigned job, uint64_t deadline_ns)
{
	struct minimize_limits lim = {.deadline_ns = deadline_ns, .stop = &sh->abort_run};
	struct minimize_stats st;
	char err[512], path[PATH_MAX];
	char *buf;
	size_t len = 0;
	int rc;

	rc = minimize_script(&cfg->sess, repro, signature, NULL, &lim, &st, err, sizeof(err));
	cf->min_ms = st.elapsed_ns / 1000000;
	if (rc != 0 || (st.cut_short && st.ops_after >= st.ops_before)) {
		cf->min_state = st.cut_short ? CAMPAIGN_MIN_CUT : CAMPAIGN_MIN_FAILED;
		if (!st.cut_short)
			fprintf(stderr, "ptshadow fuzz: job %u: minimize %s: %s\n", job, sig, err);
		return 0;
	}
	buf = min_text(repro, &st, &len);
	if (buf == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/crashes/%s/min.ops", cfg->out, sig);
	rc = write_file_atomic(path, buf, len, err, sizeof(err));
	free(buf);
	if (rc != 0) {
		campaign_abort(sh, err);
		return -1;
	}
	cf->min_ops = st.ops_after;
	cf->min_state = st.cut_short ? CAMPAIGN_MIN_PARTIAL : CAMPAIGN_MIN_DONE;
	return 0;
}

/* A finding first seen: its row in the shared table, and min.ops.  0, or
 * -1 when min.ops could not be written. */
static int job_new_finding(const struct campaign_config *cfg, struct campaign_shared *sh,
                           unsigned job, const struct finding *f, const struct script *sc,
                           uint64_t deadline_ns)
{
	uint32_t i = __atomic_fetch_add(&sh->nfindings, 1, __ATOMIC_SEQ_CST);
	struct campaign_finding *cf;
	struct script *repro;
	int rc;

	if (i >= CAMPAIGN_MAX_FINDINGS)
		return 0;
	cf = &sh->finding[i];
	finding_sig_hex(f, cf->sig);
	snprintf(cf->title, sizeof(cf->title), "%s", f->title);
	cf->job = job;
	cf->ops_at_detection = sh->job[job].ops;
	cf->repro_ops = f->op_index < sc->n_ops ? f->op_index + 1 : 0;
	if (!cfg->minimize || f->op_index >= sc->n_ops) /* (a boot finding has no op) */
		return 0;
	repro = script_new(sc->file);
	if (repro == NULL)
		return 0;
	for (size_t k = 0; k <= f->op_index && k < sc->n_ops; k++)
		script_append(repro, &sc->ops[k]);
	/* in a guest of its own */
	rc = write_min(cfg, sh, cf->sig, f->signature, repro, cf, job, deadline_ns);
	script_free(repro);
	return rc;
}

/* Record a finding: crash directory, shared table, minimisation if new.
 * 0, or -1 when it could not be saved (the campaign stops). */
static int job_finding(const struct campaign_config *cfg, struct campaign_shared *sh, unsigned job,
                       const struct outcome *o, struct script *sc, uint64_t deadline_ns)
{
	char err[512], sig[17];
	bool is_new = false;
	struct finding f;
	int rc = 0;

	finding_from_outcome(&f, o);
	finding_sig_hex(&f, sig);
	sh->job[job].findings++;
	if (report_write(cfg->out, &f, sc, o->console, o->console_len, &cfg->sess, &is_new, err,
	                 sizeof(err)) != 0) {
		__atomic_add_fetch(&sh->unsaved, 1, __ATOMIC_SEQ_CST);
		campaign_abort(sh, err);
		rc = -1;
	} else {
		if (!cfg->keep_going)
			sh->stop = 1;
		if (is_new)
			rc = job_new_finding(cfg, sh, job, &f, sc, deadline_ns);
	}
	finding_free(&f);
	return rc;
}

/* A fresh guest for the job, or NULL: a guest that dies booting is a
 * finding (every boot would die so: the job ends), anything else that stops
 * it fails the job. */
static struct session *job_boot(const struct campaign_config *cfg, struct campaign_shared *sh,
                                unsigned job, struct script *sc, uint64_t deadline_ns)
{
	struct job_stats *js = &sh->job[job];
	int rc;
	struct session *s = session_open(&cfg->sess, &rc);

	if (rc == 0) {
		js->sessions++;
		return s;
	}
	if (rc == EXIT_FINDING) {
		struct outcome o = session_last(s);
		job_finding(cfg, sh, job, &o, sc, deadline_ns);
	} else {
		snprintf(js->error, sizeof(js->error), "%s", session_error(s));
		js->failed = 1;
	}
	session_close(s);
	return NULL;
}

/* A new sequence on the same guest: reset it, forget the generator's pmaps. */
static bool job_restart(struct session *s, struct fuzz_gen *gen, struct script **sc,
                        const char *label, struct job_stats *js, struct job_cov *jc)
{
	if (session_reset(s) != 0) {
		if (session_backend_failed(s)) { /* the job ends, as at any host failure */
			snprintf(js->error, sizeof(js->error), "%s", session_error(s));
			js->failed = 1;
		}
		return false;
	}
	fuzz_gen_reset_state(gen);
	job_cov_begin(jc);
	script_free(*sc);
	*sc = script_new(label);
	return *sc != NULL;
}

/* One job's state, for its sink. */
struct job {
	const struct campaign_config *cfg;
	struct campaign_shared *sh;
	unsigned index;
	struct job_stats *js;
	uint64_t budget, deadline_ns;
	struct fuzz_gen gen;
	struct session *s; /* NULL: no guest yet, or it had to go */
	struct script *sc;
	struct job_cov jc; /* coverage, when the campaign keeps it */
	char label[64];
};

static bool job_may_go_on(const struct job *j)
{
	const struct campaign_shared *sh = j->sh;

	if (j->js->failed || j->js->ops >= j->budget || vm_interrupted ||
	    (sh->stop && !j->cfg->keep_going) || sh->abort_run)
		return false;
	/* every op: an op may take seconds (a guest flooding its console) */
	return j->deadline_ns == 0 || now_ns() < j->deadline_ns;
}

/* the job's sink: every op counted; a new op while the job may go on and
 * the sequence is not full */
static void job_op(void *ctx, const struct op_step *step)
{
	struct job *j = ctx;

	j->js->ops++;
	j->js->check_ns += step->check_ns;
}

/* A group from the generator, appended whole (session_run takes the ops
 * that are in the script when it comes to the first): 0, -1, or 1 (none) */
static int feed_group(struct job *j, struct script *sc)
{
	struct script_op ops[PTS_GROUP_MAX];
	size_t n = fuzz_gen_group(&j->gen, ops), members = 0;
	uint32_t number = (uint32_t)sc->n_ops + 1; /* unique in the script */

	for (size_t i = 0; i < n; i++)
		members += ops[i].group != 0;
	for (size_t i = 0; i < n; i++) {
		ops[i].group = members > 1 && ops[i].group ? number : 0;
		if (script_append(sc, &ops[i]) < 0)
			return -1;
	}
	return n > 0 ? 0 : 1;
}

static int job_feed(void *ctx, struct script *sc)
{
	struct job *j = ctx;
	struct script_op sop;
	int rc;

	if (sc->n_ops > 0 && j->cfg->seq_len != 0 && sc->n_ops >= j->cfg->seq_len)
		return -1;
	if (sc->n_ops > 0 && !job_may_go_on(j))
		return -1;
	if ((rc = feed_group(j, sc)) <= 0)
		return rc;
	job_cov_next(&j->jc, &j->gen, &sop);
	return script_append(sc, &sop);
}

/* The guest goes back to its snapshot for a new sequence, or goes. */
static void job_next_sequence(struct job *j, bool can_reset)
{
	bool live = can_reset && job_restart(j->s, &j->gen, &j->sc, j->label, j->js, &j->jc);

	j->js->resets += live;
	if (!live) {
		session_close(j->s);
		j->s = NULL;
	}
}

/* A fresh guest and script for the job (a new sequence): false when there
 * is none (a boot that died is a finding, job_boot) */
static bool job_fresh_guest(struct job *j)
{
	script_free(j->sc);
	j->sc = script_new(j->label);
	if (j->sc == NULL)
		return false;
	j->s = job_boot(j->cfg, j->sh, j->index, j->sc, j->deadline_ns);
	if (j->s == NULL)
		return false;
	fuzz_gen_reset_state(&j->gen);
	job_cov_begin(&j->jc);
	return true;
}

/* One sequence on the job's guest (booted first if need be): false when the
 * job ends. */
static bool job_sequence(struct job *j)
{
	const struct run_policy policy = {0};
	const struct run_sink sink = {.ctx = j, .op = job_op, .feed = job_feed};
	struct outcome o;
	int saved;

	if (j->s == NULL && !job_fresh_guest(j))
		return false;
	o = session_run(j->s, j->sc, j->sc->n_ops, &policy, &sink);
	if (o.kind == OUTCOME_ERROR) {
		snprintf(j->js->error, sizeof(j->js->error), "%s", o.death.error);
		j->js->failed = 1;
	}
	if (o.kind == OUTCOME_ERROR || o.kind == OUTCOME_INTERRUPTED)
		return false;
	if (o.kind == OUTCOME_CLEAN) {
		if (j->cfg->seq_len != 0 && j->sc->n_ops >= j->cfg->seq_len) {
			job_cov_end(&j->jc, j->sh, j->s, j->sc, true);
			job_next_sequence(j, true);
		}
		return true;
	}
	saved = job_finding(j->cfg, j->sh, j->index, &o, j->sc, j->deadline_ns);
	job_cov_end(&j->jc, j->sh, j->s, j->sc, false);
	if (saved != 0)
		return false; /* nothing more can be saved: stop (campaign_abort) */
	/* a guest that is still serving the ring goes back to its snapshot */
	job_next_sequence(j, o.kind == OUTCOME_VIOLATION && o.death.event == VM_EV_OP_DONE);
	return true;
}

int campaign_job(const struct campaign_config *cfg, struct campaign_shared *sh, unsigned job,
                 uint64_t deadline_ns)
{
	struct job j = {
	    .cfg = cfg,
	    .sh = sh,
	    .index = job,
	    .js = &sh->job[job],
	    .budget = job_budget(cfg, job),
	    .deadline_ns = deadline_ns,
	};

	snprintf(j.label, sizeof(j.label), "<fuzz seed %llu job %u>", (unsigned long long)cfg->seed,
	         job);
	fuzz_gen_init(&j.gen, &cfg->profile, campaign_job_seed(cfg->seed, job),
	              cfg->sess.arena_pages);
	fuzz_gen_set_cpus(&j.gen, cfg->sess.cpus);
	if (job_cov_init(&j.jc, cfg, job) != 0) {
		snprintf(j.js->error, sizeof(j.js->error), "coverage: out of memory");
		j.js->failed = 1;
	}
	while (job_may_go_on(&j) && job_sequence(&j))
		;
	if (j.s != NULL)
		job_cov_end(&j.jc, sh, j.s, j.sc, true);
	session_close(j.s);
	job_cov_free(&j.jc);
	script_free(j.sc);
	j.js->done = 1;
	return j.js->failed ? EXIT_INTERNAL : 0;
}

/* ---- the parent ----------------------------------------------------------- */

struct totals {
	uint64_t ops, findings, sessions, resets, check_ns;
	unsigned done, failed;
};

static void sum_jobs(const struct campaign_config *cfg, const struct campaign_shared *sh,
                     struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned j = 0; j < cfg->jobs; j++) {
		t->ops += sh->job[j].ops;
		t->findings += sh->job[j].findings;
		t->sessions += sh->job[j].sessions;
		t->resets += sh->job[j].resets;
		t->check_ns += sh->job[j].check_ns;
		t->done += sh->job[j].done != 0;
		t->failed += sh->job[j].failed != 0;
	}
}

static unsigned unique_findings(const struct campaign_shared *sh)
{
	return sh->nfindings < CAMPAIGN_MAX_FINDINGS ? sh->nfindings : CAMPAIGN_MAX_FINDINGS;
}

/* one job's figures, for stats.json's "per_job" */
static json_t *job_json(const struct job_stats *js, unsigned j, double elapsed)
{
	char error[sizeof(js->error) * 4]; /* it may quote a file name: valid UTF-8 */

	return json_pack(
	    "{s:i, s:s, s:I, s:f, s:I, s:I, s:I, s:f, s:s}", "job", (int)j, "state",
	    js->failed ? "failed"
	    : js->done ? "done"
	               : "running",
	    "ops", (json_int_t)js->ops, "ops_per_s", elapsed > 0 ? js->ops / elapsed : 0.0,
	    "findings", (json_int_t)js->findings, "sessions", (json_int_t)js->sessions, "resets",
	    (json_int_t)js->resets, "check_us_mean", js->ops ? js->check_ns / 1e3 / js->ops : 0.0,
	    "error", text_safe(error, sizeof(error), js->error));
}

/* stats.json's "coverage" (absent when coverage is off) */
static void stats_add_coverage(const struct campaign_config *cfg, const struct campaign_shared *sh,
                               json_t *j)
{
	json_t *cov = campaign_cov_json(cfg, sh);

	if (j != NULL && cov != NULL)
		json_object_set_new(j, "coverage", cov);
	else
		json_decref(cov);
}

/* stats.json, whole (written beside and renamed); 0, or -1 with err */
static int write_stats(const struct campaign_config *cfg, const struct campaign_shared *sh,
                       const struct totals *t, double elapsed, bool final, char *err, size_t errlen)
{
	char path[PATH_MAX], error[sizeof(sh->save_error) * 4];
	json_t *per_job = json_array();
	json_t *j;
	char *text;
	int rc = 0;

	for (unsigned k = 0; per_job != NULL && k < cfg->jobs; k++)
		json_array_append_new(per_job, job_json(&sh->job[k], k, elapsed));
	j = json_pack("{s:I, s:f, s:i, s:f, s:I, s:s, s:i, s:i, s:s, s:I, s:I, s:I, s:f, s:b, s:s, "
	              "s:s, s:o}",
	              "ops", (json_int_t)t->ops, "ops_per_s", elapsed > 0 ? t->ops / elapsed : 0.0,
	              "unique_findings", (int)unique_findings(sh), "elapsed_s", elapsed, "seed",
	              (json_int_t)cfg->seed, "profile", cfg->profile.name, "jobs", (int)cfg->jobs,
	              "cpus", (int)(cfg->sess.cpus ? cfg->sess.cpus : 1), "schedule",
	              cfg->sess.sched_free ? "free" : "host", "findings_total",
	              (json_int_t)t->findings, "findings_not_saved", (json_int_t)sh->unsaved,
	              "sessions", (json_int_t)t->sessions, "check_us_mean",
	              t->ops ? t->check_ns / 1e3 / t->ops : 0.0, "finished", final, "backend",
	              vm_backend_name(cfg->sess.backend), "error",
	              text_safe(error, sizeof(error), sh->save_failed ? sh->save_error : ""),
	              "per_job", per_job);
	stats_add_coverage(cfg, sh, j);
	text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	snprintf(path, sizeof(path), "%s/stats.json", cfg->out);
	if (text == NULL) {
		snprintf(err, errlen, "%s: the statistics cannot be encoded as JSON", path);
		rc = -1;
	} else {
		rc = write_file_atomic(path, text, strlen(text), err, errlen);
	}
	free(text);
	json_decref(j);
	return rc;
}

#define STATUS_JOBS 8 /* jobs shown one by one in the status line */

static void status_line(const struct campaign_config *cfg, const struct campaign_shared *sh,
                        const struct totals *t, double elapsed, bool tty)
{
	unsigned n = unique_findings(sh);
	const char *last = n > 0 ? sh->finding[n - 1].title : "-";
	int sec = (int)elapsed;
	char per[16 * STATUS_JOBS + 32] = "";
	size_t used = 0;

	if (cfg->quiet)
		return;
	/* with several jobs, each one's ops/s: a stuck or slow job shows */
	for (unsigned j = 0; cfg->jobs > 1 && j < cfg->jobs && j < STATUS_JOBS; j++)
		used += (size_t)snprintf(
		    per + used, sizeof(per) - used, "%s%.0f%s", j == 0 ? "  per job " : "/",
		    elapsed > 0 ? sh->job[j].ops / elapsed : 0.0, sh->job[j].failed ? "!" : "");
	if (cfg->jobs > STATUS_JOBS)
		snprintf(per + used, sizeof(per) - used, "/...");
	fprintf(
	    stderr, "%s[%02d:%02d:%02d] ops %llu  ops/s %.0f%s  unique findings %u  last: %.60s%s",
	    tty ? "\r\033[K" : "", sec / 3600, sec / 60 % 60, sec % 60, (unsigned long long)t->ops,
	    elapsed > 0 ? t->ops / elapsed : 0.0, per, n, last, tty ? "" : "\n");
	fflush(stderr);
}

/* the summary's table of unique findings, and what minimisation made of them */
static void summary_findings(const struct campaign_config *cfg, const struct campaign_shared *sh,
                             unsigned n)
{
	unsigned cut[CAMPAIGN_MIN_FAILED + 1] = {0};

	printf("\n  %-16s  %-9s  %-6s  %-12s  %s\n", "signature", "found at", "repro", "min",
	       "title");
	for (unsigned i = 0; i < n; i++) {
		const struct campaign_finding *f = &sh->finding[i];
		char min[24] = "-";
		if (f->min_state == CAMPAIGN_MIN_DONE || f->min_state == CAMPAIGN_MIN_PARTIAL)
			snprintf(min, sizeof(min), "%llu%s", (unsigned long long)f->min_ops,
			         f->min_state == CAMPAIGN_MIN_PARTIAL ? " partial" : "");
		else if (f->min_state == CAMPAIGN_MIN_CUT)
			snprintf(min, sizeof(min), "- (no time)");
		cut[f->min_state]++;
		printf("  %-16s  %-9llu  %-6llu  %-12s  %s\n", f->sig,
		       (unsigned long long)f->ops_at_detection, (unsigned long long)f->repro_ops,
		       min, f->title);
	}
	if (cut[CAMPAIGN_MIN_PARTIAL] + cut[CAMPAIGN_MIN_CUT] > 0)
		printf("\n  minimisation cut short by --time: %u with a partial min.ops "
		       "(marked "
		       "so), %u without one; repro.ops is whole in every crash directory\n",
		       cut[CAMPAIGN_MIN_PARTIAL], cut[CAMPAIGN_MIN_CUT]);
	printf("\n  reports in %s/crashes/<signature>/report.txt\n", cfg->out);
}

static void summary(const struct campaign_config *cfg, const struct campaign_shared *sh,
                    const struct totals *t, double elapsed)
{
	unsigned n = unique_findings(sh);

	printf("\nptshadow fuzz summary\n");
	printf("  guest      %s\n", cfg->sess.guest);
	printf("  backend    %s%s\n", vm_backend_name(cfg->sess.backend),
	       vm_backend_accel_note(cfg->sess.backend, cfg->sess.qemu_kvm));
	printf("  profile    %s  seed %llu  jobs %u\n", cfg->profile.name,
	       (unsigned long long)cfg->seed, cfg->jobs);
	printf("  ops        %llu in %.1f s (%.0f ops/s), %llu guest boots, %llu resets\n",
	       (unsigned long long)t->ops, elapsed, elapsed > 0 ? t->ops / elapsed : 0.0,
	       (unsigned long long)t->sessions, (unsigned long long)t->resets);
	printf("  monitor    %.1f us per op (mean)\n", t->ops ? t->check_ns / 1e3 / t->ops : 0.0);
	campaign_cov_summary(cfg, sh);
	printf("  findings   %u unique, %llu in all", n, (unsigned long long)t->findings);
	if (sh->unsaved > 0)
		printf(", %llu NOT SAVED (the campaign stopped)", (unsigned long long)sh->unsaved);
	printf("\n");
	if (n > 0)
		summary_findings(cfg, sh, n);
}

/* A job that ended without saying so (killed, or crashed) failed: say how. */
static void job_reaped(const struct campaign_config *cfg, struct campaign_shared *sh,
                       const pid_t *pids, pid_t pid, int status)
{
	for (unsigned j = 0; j < cfg->jobs; j++) {
		struct job_stats *js = &sh->job[j];
		if (pids[j] != pid || js->done)
			continue;
		js->failed = 1;
		js->done = 1;
		if (WIFSIGNALED(status))
			snprintf(js->error, sizeof(js->error), "the job died of signal %d (%s)",
			         WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(js->error, sizeof(js->error), "the job exited with status %d",
			         WEXITSTATUS(status));
	}
}

/* Refresh stats.json (about once a second, and at the end), then what is
 * made from it (plot_data.csv, metrics.prom, index.html: campaign_outputs.h);
 * the first failure stops the campaign, and it is not tried again. */
static void refresh_stats(const struct campaign_config *cfg, struct campaign_shared *sh,
                          const struct totals *t, double elapsed, bool final,
                          struct campaign_outputs *outs, bool *failed)
{
	char err[512];

	if (*failed)
		return;
	if (write_stats(cfg, sh, t, elapsed, final, err, sizeof(err)) != 0 ||
	    campaign_cov_save(cfg, sh, err, sizeof(err)) != 0 ||
	    campaign_outputs_tick(outs, cfg, final, err, sizeof(err)) != 0) {
		*failed = true;
		campaign_abort(sh, err);
	}
}

/*
 * A job and the QEMU it starts (which inherits this) on one CPU, the jobs
 * spread over the CPUs we may use (docs/performance.md, "A guest that
 * waits").  Within a job the guest and ptshadow take turns, one works while
 * the other waits: on one CPU a turn is a context switch, across two it is a
 * wake-up of the other CPU, which cost more than the work itself on the
 * machines measured, and two jobs no longer compete for both CPUs.  Only
 * the QEMU backend starts a process of its own to share the CPU with: a KVM
 * vCPU is the job's own thread, libvirt's QEMU is libvirt's to place, and
 * a pinned job cannot move away from other work on its CPU.  Free-running
 * groups (--schedule free) are not pinned: their vCPUs are to run at once,
 * and one that spins for another on the same CPU spins its whole slice.
 */
static void pin_job(unsigned job)
{
	cpu_set_t allowed, one;
	unsigned n = 0;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) == 0)
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || n++ != job % (unsigned)CPU_COUNT(&allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		(void)sched_setaffinity(0, sizeof(one), &one);
		return;
	}
}

/* Wait at most 250 ms for a job to end: SIGCHLD (blocked, so it stays
 * pending) ends the wait at once, so the elapsed time a campaign reports is
 * when its last job ended, not the next tick after. */
static void wait_for_jobs(const sigset_t *chld)
{
	struct timespec tick = {0, 250000000};

	(void)sigtimedwait(chld, NULL, &tick);
}

/* The jobs that ended, counted off *running: -1 when one failed. */
static int reap_jobs(const struct campaign_config *cfg, struct campaign_shared *sh,
                     const pid_t *pids, int *running)
{
	int status, rc = 0;
	pid_t p;

	while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
		(*running)--;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = -1;
		job_reaped(cfg, sh, pids, p, status);
	}
	return rc;
}

/* Fork the jobs: how many run, or -1 (then none is left running). */
static int start_jobs(const struct campaign_config *cfg, struct campaign_shared *sh, pid_t *pids,
                      uint64_t deadline, const sigset_t *saved)
{
	fflush(NULL);
	for (unsigned j = 0; j < cfg->jobs; j++) {
		pids[j] = fork();
		if (pids[j] < 0) {
			perror("ptshadow fuzz: fork");
			for (unsigned k = 0; k < j; k++)
				kill(pids[k], SIGTERM);
			while (j-- > 0)
				waitpid(pids[j], NULL, 0);
			return -1;
		}
		if (pids[j] == 0) {
			sigprocmask(SIG_SETMASK, saved, NULL);
			/* a job (and so its QEMU) never outlives the campaign, kill -9 included */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() == 1)
				_exit(EXIT_INTERNAL);
			if (vm_backend_resolve(cfg->sess.backend) == VM_BACKEND_QEMU &&
			    !cfg->sess.sched_free) /* free groups want their vCPUs apart */
				pin_job(j);
			_exit(campaign_job(cfg, sh, j, deadline));
		}
	}
	return (int)cfg->jobs;
}

/* After the last job: what failed, the one line for what could not be
 * saved, the summary; the exit status. */
static int campaign_end(const struct campaign_config *cfg, struct campaign_shared *sh,
                        const struct totals *t, double elapsed, int rc)
{
	for (unsigned j = 0; j < cfg->jobs; j++)
		if (sh->job[j].failed)
			fprintf(stderr, "ptshadow fuzz: job %u failed: %s\n", j, sh->job[j].error);
	/* one line for what could not be saved, whatever the jobs met after it */
	if (sh->save_failed) {
		fprintf(stderr, "ptshadow fuzz: cannot save: %s; the campaign stopped\n",
		        sh->save_error);
		rc = EXIT_INTERNAL;
	}
	summary(cfg, sh, t, elapsed);
	if (rc == EXIT_CLEAN && unique_findings(sh) > 0)
		rc = EXIT_FINDING;
	if (vm_interrupted)
		fprintf(stderr,
		        "ptshadow fuzz: interrupted; stats and reports are complete in %s\n",
		        cfg->out);
	return rc;
}

/* The parent's view of the running campaign: its clock, when it last said
 * how it goes, the outputs it refreshes. */
struct watch {
	uint64_t t0, last_line, last_stats;
	bool tty, stats_failed;
	struct campaign_outputs outs;
	struct totals t;
};

/* The status line and the outputs, each when it is due. */
static void watch_tick(const struct campaign_config *cfg, struct campaign_shared *sh,
                       struct watch *w)
{
	double elapsed;

	sum_jobs(cfg, sh, &w->t);
	elapsed = (now_ns() - w->t0) / 1e9;
	if (now_ns() - w->last_line >= (w->tty ? 250000000ull : 10000000000ull)) {
		status_line(cfg, sh, &w->t, elapsed, w->tty);
		w->last_line = now_ns();
	}
	if (now_ns() - w->last_stats >= 1000000000ull) {
		refresh_stats(cfg, sh, &w->t, elapsed, false, &w->outs, &w->stats_failed);
		w->last_stats = now_ns();
	}
}

/* Until the last job has ended: reap, forward a signal, say how it goes.
 * EXIT_INTERNAL when a job failed. */
static int watch_jobs(const struct campaign_config *cfg, struct campaign_shared *sh,
                      const pid_t *pids, int running, const sigset_t *chld, struct watch *w)
{
	int rc = EXIT_CLEAN;

	while (running > 0) {
		wait_for_jobs(chld);
		if (reap_jobs(cfg, sh, pids, &running) != 0)
			rc = EXIT_INTERNAL;
		if (vm_interrupted) /* forward SIGTERM/SIGINT that reached only us */
			for (unsigned j = 0; j < cfg->jobs; j++)
				kill(pids[j], SIGTERM);
		watch_tick(cfg, sh, w);
	}
	return rc;
}

/* The memory the jobs share (their figures, the findings, coverage's map):
 * NULL after a line on stderr. */
static struct campaign_shared *shared_open(const struct campaign_config *cfg)
{
	struct campaign_shared *sh =
	    mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (sh == MAP_FAILED) {
		perror("ptshadow fuzz: mmap");
		return NULL;
	}
	if (campaign_cov_setup(cfg, sh) != 0) {
		munmap(sh, sizeof(*sh));
		return NULL;
	}
	return sh;
}

static void shared_close(const struct campaign_config *cfg, struct campaign_shared *sh)
{
	campaign_cov_teardown(cfg, sh);
	munmap(sh, sizeof(*sh));
}

int campaign_run(const struct campaign_config *cfg)
{
	struct watch w = {.t0 = now_ns(), .tty = isatty(STDERR_FILENO)};
	struct campaign_shared *sh = shared_open(cfg);
	pid_t pids[CAMPAIGN_MAX_JOBS];
	uint64_t deadline = 0;
	int running, rc;
	sigset_t chld, saved;

	if (sh == NULL)
		return EXIT_INTERNAL;
	report_clean_stale(cfg->out); /* a killed run's half-written crash directories */
	campaign_outputs_start(&w.outs, cfg);
	if (cfg->max_seconds != 0)
		deadline = w.t0 + cfg->max_seconds * 1000000000ull;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &saved);
	running = start_jobs(cfg, sh, pids, deadline, &saved);
	if (running < 0) {
		sigprocmask(SIG_SETMASK, &saved, NULL);
		shared_close(cfg, sh);
		return EXIT_INTERNAL;
	}
	rc = watch_jobs(cfg, sh, pids, running, &chld, &w);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	sum_jobs(cfg, sh, &w.t);
	double elapsed = (now_ns() - w.t0) / 1e9;
	refresh_stats(cfg, sh, &w.t, elapsed, true, &w.outs, &w.stats_failed);
	status_line(cfg, sh, &w.t, elapsed, w.tty);
	if (!cfg->quiet)
		fputc('\n', stderr);
	rc = campaign_end(cfg, sh, &w.t, elapsed, rc);
	shared_close(cfg, sh);
	return rc;
}

/* campaign_run with its summary (on stdout) thrown away; EXIT_INTERNAL when
 * stdout cannot be put aside */
int campaign_run_quiet(const struct campaign_config *c)
{
	int saved, quiet, rc;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved < 0 || quiet < 0 || dup2(quiet, STDOUT_FILENO) < 0)
		return EXIT_INTERNAL;
	close(quiet);
	rc = campaign_run(c);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return rc;
}

int campaign_lock_out(const char *out)
{
	char path[PATH_MAX], holder[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/.lock", out);
	/* read-only: a file open for writing would keep out's filesystem from
	 * being remounted read-only, which the campaign must survive */
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "ptshadow fuzz: --out %s: cannot lock it: %s: %s\n", out, path,
		        strerror(errno));
		return EXIT_USAGE;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		fprintf(stderr,
		        "ptshadow fuzz: --out %s: another campaign (pid %s) is writing there; give "
		        "this one its own --out\n",
		        out, holder[0] != '\0' ? holder : "unknown");
		close(fd);
		return EXIT_USAGE;
	}
	/* who holds it, for the message above; the lock itself is what counts */
	int wfd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (wfd >= 0) {
		dprintf(wfd, "%d\n", (int)getpid());
		close(wfd);
	}
	return 0; /* fd stays open: the lock lasts as long as the campaign */
}
