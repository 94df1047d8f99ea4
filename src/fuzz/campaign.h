/* src/fuzz/campaign.h - a fuzz campaign: J jobs (processes, one VM each) that
 * generate ops, run them under the monitor, and write one crash directory
 * per distinct finding into a shared output directory.
 */
#ifndef PTSHADOW_CAMPAIGN_H
#define PTSHADOW_CAMPAIGN_H

#include "cov.h"
#include "fuzz.h"
#include "session.h"

#define CAMPAIGN_MAX_JOBS     64
#define CAMPAIGN_MAX_FINDINGS 256

struct campaign_config {
	struct session_config sess;
	struct fuzz_profile profile;
	const char *out;
	uint64_t seed;
	uint64_t max_ops; /* 0 = no limit (then max_seconds) */
	uint64_t max_seconds;
	unsigned jobs;
	bool keep_going; /* continue after the first finding */
	bool minimize;
	uint64_t seq_len; /* restart the guest after this many ops (0 = only on findings) */
	bool quiet;
	enum cov_mode coverage;      /* --coverage (campaign_cov.h) */
	const struct cov_image *cov; /* the guest's edges (NULL: coverage off) */
	bool metrics;                /* OUT/metrics.prom every few seconds (campaign_outputs.h) */
};

/* What became of a new finding's minimisation (min.ops). */
enum campaign_min {
	CAMPAIGN_MIN_NONE = 0, /* not asked for (--no-minimize) */
	CAMPAIGN_MIN_DONE,     /* min.ops is the smallest script found */
	CAMPAIGN_MIN_PARTIAL,  /* cut short by the time limit: min.ops smaller, marked partial */
	CAMPAIGN_MIN_CUT,      /* cut short before anything smaller: no min.ops */
	CAMPAIGN_MIN_FAILED,   /* minimisation failed (said on stderr): no min.ops */
};

struct campaign_finding {
	char sig[17];
	char title[160];
	unsigned job;
	uint64_t ops_at_detection; /* ops the finding job had run */
	uint64_t repro_ops, min_ops;
	uint64_t min_ms;
	int min_state; /* enum campaign_min */
};

struct job_stats {
	uint64_t ops;
	uint64_t findings; /* including repeats */
	uint64_t sessions; /* guest boots */
	uint64_t resets;   /* back to the post-boot snapshot without a boot */
	uint64_t check_ns;
	int done;
	int failed;
	char error[256];
};

struct campaign_shared {
	struct job_stats job[CAMPAIGN_MAX_JOBS];
	uint32_t nfindings;
	struct campaign_finding finding[CAMPAIGN_MAX_FINDINGS];
	volatile int stop; /* a job found something and keep_going is off */
	/* an output could not be written (a finding, min.ops, stats.json): every
	 * job stops, for a campaign that cannot save what it finds runs blind */
	volatile int abort_run;
	int save_failed;      /* set once: save_error is the first failure */
	char save_error[512]; /* one line, naming the file */
	uint64_t unsaved;     /* findings that could not be saved */
	uint8_t *cov_map;     /* the jobs' coverage, shared (campaign_cov.c), or NULL */
};

/* Runs the campaign to the end; returns the exit status (0 clean, 1 findings,
 * 3 a job failed or an output could not be written). */
int campaign_run(const struct campaign_config *cfg);
/* One job (in its own process); exposed for tests.  deadline_ns (0: none)
 * bounds its ops and its minimisations. */
int campaign_job(const struct campaign_config *cfg, struct campaign_shared *sh, unsigned job,
                 uint64_t deadline_ns);
/*
 * One campaign an output directory: take an exclusive lock on out/.lock
 * (held until the process ends; the fd is not inherited by exec).  0, or
 * EXIT_USAGE after one line naming out and the campaign that holds it.
 */
int campaign_lock_out(const char *out);
uint64_t campaign_job_seed(uint64_t seed, unsigned job);

#endif /* PTSHADOW_CAMPAIGN_H */
